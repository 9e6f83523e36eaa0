/* -drive / -hda / -snapshot: the command-line description of a disk.
 * The parser only checks and records; the board opens the image
 * (block_open(cfg.file, &cfg.opts, ...)) and picks the device. */
#ifndef UI_DRIVE_H
#define UI_DRIVE_H

#include "block/block.h"
#include <stddef.h>

enum drive_if { DRIVE_IF_DEFAULT, DRIVE_IF_VIRTIO, DRIVE_IF_NONE, DRIVE_IF_IDE };
enum drive_media { DRIVE_MEDIA_DISK, DRIVE_MEDIA_CDROM };
enum drive_aio { DRIVE_AIO_THREADS, DRIVE_AIO_NATIVE, DRIVE_AIO_IO_URING };
enum drive_discard { DRIVE_DISCARD_IGNORE, DRIVE_DISCARD_UNMAP };

#define DRIVE_MAX_INDEX 31

struct drive_config {
    char file[4096];
    char id[64];                /* "" if not given */
    enum drive_if iface;        /* DEFAULT: no if= (QEMU's pc default is ide) */
    int index;                  /* -1 if not given */
    enum drive_media media;
    enum drive_aio aio;
    enum drive_discard discard;
    struct block_opts opts;     /* format, readonly, snapshot, cache */
};

/* Parses one -drive argument: key=value pairs separated by commas, a comma
 * inside a value written ",," as in QEMU. Unknown keys and bad values are
 * errors naming them. 0, or -1 with the message in err. */
int drive_parse(const char *arg, struct drive_config *out, char *err, size_t errlen);

/* -hda/-hdb/-hdc/-hdd FILE: index 0..3, default interface. */
int drive_from_hd(const char *file, int index, struct drive_config *out, char *err, size_t errlen);

/* -snapshot: every drive gets snapshot=on. */
void drive_apply_snapshot(struct drive_config *drives, size_t n);

/* The interface to build: if= when given, else IDE when the board has an
 * IDE controller, virtio otherwise (tremu has no IDE controller yet). */
enum drive_if drive_effective_if(const struct drive_config *d, bool have_ide);

#endif
