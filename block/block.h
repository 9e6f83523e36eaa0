/* Disk images behind one interface (raw, qcow2 with backing files).
 * block/ knows nothing of virtio; devices use it through these calls.
 * All calls are synchronous and must not be made concurrently on one
 * block_dev (a device serialises its requests, e.g. on its I/O thread). */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_dev;

enum block_format { BLOCK_FMT_PROBE, BLOCK_FMT_RAW, BLOCK_FMT_QCOW2 };
enum block_cache { BLOCK_CACHE_WRITEBACK, BLOCK_CACHE_NONE, BLOCK_CACHE_WRITETHROUGH,
                   BLOCK_CACHE_DIRECTSYNC, BLOCK_CACHE_UNSAFE };

struct block_opts {
    enum block_format format;   /* PROBE: like QEMU, with its warning for raw */
    bool readonly;
    bool snapshot;              /* writes go to a temporary overlay, discarded at close */
    enum block_cache cache;
    unsigned flags;             /* BLOCK_OPEN_*; 0 for devices */
};

/* Flags for tools (tremu-img), not for devices. */
#define BLOCK_OPEN_NO_BACKING 1u   /* do not open the backing chain (info, rebase -u) */
#define BLOCK_OPEN_CHECK      2u   /* allow dirty/corrupt qcow2 read-write (check -r) */
#define BLOCK_OPEN_QUIET      4u   /* no probing warning on stderr */
#define BLOCK_OPEN_FORCE_SHARE 8u  /* take no image locks (qemu-img -U) */

/* Opens path (and its backing chain, always read-only). NULL with a message
 * in err that says what is wrong with the image (never a crash on a hostile
 * file). Takes image locks compatible with QEMU's, so a second emulator
 * (tremu or QEMU) cannot open the image for writing meanwhile; they go at
 * block_close or process exit. A raw image whose format was probed refuses
 * writes that would make sector 0 look like a qcow2 header (-EPERM). */
struct block_dev *block_open(const char *path, const struct block_opts *opts,
                             char *err, size_t errlen);
void block_close(struct block_dev *bd);
uint64_t block_size(const struct block_dev *bd);          /* bytes */
bool block_is_readonly(const struct block_dev *bd);
const char *block_format_name(const struct block_dev *bd);

/* Byte offsets and lengths (multiples of 512 for devices). 0 or -errno;
 * a range past the end is -EINVAL. */
int block_read(struct block_dev *bd, uint64_t offset, void *buf, size_t len);
int block_write(struct block_dev *bd, uint64_t offset, const void *buf, size_t len);
int block_flush(struct block_dev *bd);
int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len);
int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len);


/* --- Extensions for tools --- */
const char *block_filename(const struct block_dev *bd);
struct block_dev *block_backing(const struct block_dev *bd);   /* NULL if none */
/* What this layer alone holds at offset: BLOCK_STATUS_* bits (0: not
 * allocated here, reads fall through to the backing file or read zeroes),
 * *pnum = bytes from offset with that same status (> 0). -errno on error. */
#define BLOCK_STATUS_DATA 1
#define BLOCK_STATUS_ZERO 2
int block_get_status(struct block_dev *bd, uint64_t offset, uint64_t len, uint64_t *pnum);
/* Host bytes the image file occupies (st_blocks * 512). */
uint64_t block_disk_usage(const struct block_dev *bd);
/* The layer of bd's chain (bd itself or a backing file) that is the same
 * file as path (same device and inode, so through links too), or NULL. */
const struct block_dev *block_chain_find_file(const struct block_dev *bd, const char *path);
/* Opens path for (re)creating an image: created if missing, never truncated
 * here, and locked as QEMU locks a file it creates (write and resize held,
 * resize refused to others), so an image any other process -- tremu or
 * QEMU, a VM or a tool, reading or writing -- has open is refused before
 * a byte of it changes. The fd (locks go with it) or -errno with err. */
int block_create_file(const char *path, char *err, size_t errlen);
/* Tests: the n-th metadata/data write to the qcow2 file of bd and all later
 * ones fail before reaching the file, as if the process were killed there. */
void block_test_crash_at(struct block_dev *bd, long n);

#endif
