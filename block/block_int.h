/* Internals shared by the block drivers (block.c, raw, qcow2). Not for devices. */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include "block/block.h"
#include <stdio.h>
#include <sys/types.h>

struct block_driver {
    const char *name;
    int (*read)(struct block_dev *bd, uint64_t off, void *buf, size_t len);
    int (*write)(struct block_dev *bd, uint64_t off, const void *buf, size_t len);
    int (*flush)(struct block_dev *bd);
    int (*discard)(struct block_dev *bd, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct block_dev *bd, uint64_t off, uint64_t len);
    int (*get_status)(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum);
    void (*close)(struct block_dev *bd);
};

struct block_dev {
    const struct block_driver *drv;
    char *filename;
    int fd;
    uint64_t size;
    bool readonly;
    bool probed_raw;            /* format was guessed: block 0 writes are restricted */
    enum block_cache cache;
    unsigned flags;             /* BLOCK_OPEN_* */
    int depth;                  /* position in a backing chain (0 = top) */
    dev_t st_dev;               /* identity, for backing-loop detection */
    ino_t st_ino;
    const struct block_dev *child_of; /* the overlay that opened us as its backing */
    struct block_dev *backing;
    void *opaque;               /* driver state */
    /* Tests: when > 0, the crash_at-th image write and every later one fail
     * without reaching the file, as if the process had been killed there. */
    long crash_at;
};

/* Opens one layer (used for backing files too: depth and child_of chain). */
struct block_dev *block_open_layer(const char *path, enum block_format fmt, bool readonly,
                                   enum block_cache cache, unsigned flags, int depth,
                                   const struct block_dev *child_of, char *err, size_t errlen);

int qcow2_open(struct block_dev *bd, char *err, size_t errlen);
bool qcow2_probe(const uint8_t *buf, size_t len);

/* pread/pwrite loops: 0 or -errno; pread_full zero-fills what lies past EOF. */
int block_pread_full(int fd, void *buf, size_t len, uint64_t off);
int block_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

void block_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
