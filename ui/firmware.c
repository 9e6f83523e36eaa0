/* -boot, -L and the default firmware (see ui/firmware.h, roms/README.md). */
#include "ui/firmware.h"
#include "hw/machine.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TREMU_FIRMWARE_DIR
#define TREMU_FIRMWARE_DIR "/usr/share/seabios"
#endif

/* The command line is parsed once, on the main thread, before anything
 * runs: these are set up there and read-only afterwards. */
static const char *dirs[FIRMWARE_MAX_DIRS];
static int ndirs;

int firmware_add_dir(const char *dir, char *err, size_t errlen)
{
    if (!dir || !*dir) {
        snprintf(err, errlen, "-L needs a directory");
        return -1;
    }
    if (ndirs >= FIRMWARE_MAX_DIRS) {
        snprintf(err, errlen, "-L: at most %d directories", FIRMWARE_MAX_DIRS);
        return -1;
    }
    dirs[ndirs++] = dir;
    return 0;
}

const char *firmware_default_bios(char *err, size_t errlen)
{
    static char path[4096];
    const char *cand[FIRMWARE_MAX_DIRS + 1];
    int n = 0;
    for (int i = 0; i < ndirs; i++)
        cand[n++] = dirs[i];
    cand[n++] = TREMU_FIRMWARE_DIR;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", cand[i], FIRMWARE_BIOS_NAME);
        if (access(path, R_OK) == 0)
            return path;
    }
    snprintf(err, errlen, "no -kernel given and no firmware found: %s is not in %s%s "
             "(install Debian's 'seabios' package, or give -bios FILE or -kernel FILE)",
             FIRMWARE_BIOS_NAME, ndirs ? "the -L directories nor in " : "", TREMU_FIRMWARE_DIR);
    return NULL;
}

static int parse_on_off(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
        return 0;
    }
    snprintf(err, errlen, "-boot: %s= expects on or off, not '%s'", key, v);
    return -1;
}

static int check_order(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    if (n == 0 || n > 3) {
        snprintf(err, errlen, "-boot: order '%s': give 1 to 3 of a, b, c, d, n", v);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strchr("abcdn", v[i]) || strchr(v + i + 1, v[i])) {
            snprintf(err, errlen, "-boot: invalid boot device '%c' in '%s' (a, b: floppy; "
                     "c: disk; d: CD-ROM; n: network; each once)", v[i], v);
            return -1;
        }
    }
    return 0;
}

int firmware_parse_boot(struct machine_config *cfg, const char *arg, char *err, size_t errlen)
{
    static char order[4];
    char buf[256];
    if (!arg || !*arg || strlen(arg) >= sizeof(buf)) {
        snprintf(err, errlen, "-boot: empty or too long argument");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    char *save = NULL;
    bool first = true;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), first = false) {
        char *eq = strchr(t, '=');
        if (!eq) {
            /* QEMU's legacy form: -boot dc */
            if (!first) {
                snprintf(err, errlen, "-boot: '%s' needs a value (key=value)", t);
                return -1;
            }
            if (check_order(t, err, errlen) < 0)
                return -1;
            snprintf(order, sizeof(order), "%s", t);
            cfg->boot_order = order;
            continue;
        }
        *eq = 0;
        const char *k = t, *v = eq + 1;
        if (!strcmp(k, "order") || !strcmp(k, "once")) {
            if (check_order(v, err, errlen) < 0)
                return -1;
            snprintf(order, sizeof(order), "%s", v);
            cfg->boot_order = order;
        } else if (!strcmp(k, "menu")) {
            if (parse_on_off(k, v, &cfg->boot_menu, err, errlen) < 0)
                return -1;
        } else if (!strcmp(k, "reboot-timeout")) {
            char *e;
            errno = 0;
            long ms = strtol(v, &e, 10);
            if (!*v || *e || errno || ms < -1 || ms > 0xffff) {
                snprintf(err, errlen, "-boot: reboot-timeout '%s' out of range (-1 .. 65535 ms)", v);
                return -1;
            }
            cfg->boot_fail_wait_set = ms >= 0;
            cfg->boot_fail_wait_ms = (int)ms;
        } else if (!strcmp(k, "splash-time") || !strcmp(k, "strict") || !strcmp(k, "splash")) {
            /* accepted and ignored: no splash screen, no strict mode here */
        } else {
            snprintf(err, errlen, "-boot: invalid parameter '%s' (order, once, menu, "
                     "reboot-timeout)", k);
            return -1;
        }
    }
    return 0;
}
