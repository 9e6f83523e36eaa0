/* Firmware on the command line: -boot, -L, and which BIOS image runs when
 * no -kernel is given (SeaBIOS, as in QEMU; see roms/README.md). */
#ifndef UI_FIRMWARE_H
#define UI_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>

struct machine_config;

#define FIRMWARE_MAX_DIRS 8
#define FIRMWARE_BIOS_NAME "bios-256k.bin"

/* -boot [order=]LETTERS[,once=..][,menu=on|off][,reboot-timeout=MS][,splash-time=..]
 * into cfg (QEMU's grammar; once= is taken as order=). 0, or -1 with err. */
int firmware_parse_boot(struct machine_config *cfg, const char *arg, char *err, size_t errlen);

/* -L DIR: a directory searched first for ROM images (repeatable). 0 or -1. */
int firmware_add_dir(const char *dir, char *err, size_t errlen);

/* Path of the default BIOS (FIRMWARE_BIOS_NAME in the -L directories, then
 * in the build's firmware directory, TREMU_FIRMWARE_DIR). NULL with err
 * naming the places searched and the package to install. Returned string
 * is static (valid for the process). */
const char *firmware_default_bios(char *err, size_t errlen);

#endif
