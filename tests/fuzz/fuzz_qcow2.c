/* libFuzzer: a hostile qcow2 file through block/ -- open (header,
 * extensions, L1 and refcount tables), reads over the whole virtual disk
 * (L2 walk, compressed clusters), qcow2_check, and read-write: a write, a
 * zero write, a discard, a flush (allocation, copy-on-write, refcount
 * updates). The image lives in a memfd; its backing file is not opened. */
#include "block/block.h"
#include "block/qcow2.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t hdr32(const uint8_t *d, size_t size, size_t off)
{
    if (size < off + 4)
        return 0;
    return (uint32_t)d[off] << 24 | (uint32_t)d[off + 1] << 16 | (uint32_t)d[off + 2] << 8 |
           d[off + 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Speed (executions per second): tables the header sizes beyond 1 MiB
     * (an L1 of 32 MiB is legal, and walking it under the sanitizers' edge
     * counters costs tens of milliseconds) and thousands of snapshots make
     * a few inputs cost as much as a thousand others, while what they
     * reach is the same code as a 1 MiB table: those limits are tested in
     * tests/unit/test_qcow2.c (qcow2_bad_headers_refused). Clusters over
     * 64 KiB likewise (every L2 table, cache entry and zero buffer is a
     * cluster: 2 MiB each, touched on every open). */
    if (hdr32(data, size, 36) > (1u << 17) || hdr32(data, size, 60) > 64 ||
        hdr32(data, size, 20) > 16 ||
        (uint64_t)hdr32(data, size, 56) << (hdr32(data, size, 20) & 31) > (1u << 20))
        return -1;
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("fuzz-qcow2", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char err[256];
    static uint8_t buf[1 << 16];
    unsigned base = BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_QUIET | BLOCK_OPEN_FORCE_SHARE;
    struct block_opts o = { .format = BLOCK_FMT_QCOW2, .readonly = true, .flags = base,
                            .cache = BLOCK_CACHE_UNSAFE };  /* no syncs: speed */
    struct block_dev *bd = block_open(path, &o, err, sizeof(err));
    if (bd) {
        uint64_t sz = block_size(bd);
        /* a sample of the disk: bounded work on huge virtual sizes */
        for (uint64_t off = 0, i = 0; off < sz && i < 16; off += sz / 16 + 512, i++) {
            size_t n = sz - off < sizeof(buf) ? (size_t)(sz - off) : sizeof(buf);
            block_read(bd, off, buf, n);
            uint64_t pnum;
            block_get_status(bd, off, n, &pnum);
        }
        struct qcow2_check_result r;
        qcow2_check(bd, 0, NULL, &r);
        block_close(bd);
    }
    o.readonly = false;
    o.flags = base | BLOCK_OPEN_CHECK;
    if ((bd = block_open(path, &o, err, sizeof(err)))) {
        struct qcow2_check_result r;
        qcow2_check(bd, QCOW2_REPAIR_LEAKS | QCOW2_REPAIR_ERRORS, NULL, &r);
        block_close(bd);
    }
    o.flags = base;
    if ((bd = block_open(path, &o, err, sizeof(err)))) {
        uint64_t sz = block_size(bd);
        memset(buf, 0x42, sizeof(buf));
        if (sz >= 8192) {
            block_write(bd, (sz / 3) & ~511ULL, buf, 4096);
            block_write_zeroes(bd, (sz / 2) & ~511ULL, 4096);
            block_discard(bd, 0, 4096);
            block_read(bd, (sz / 3) & ~511ULL, buf, 4096);
        }
        block_flush(bd);
        block_close(bd);
    }
    return 0;
}
