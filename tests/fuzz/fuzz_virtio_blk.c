/* libFuzzer: virtio-blk's request walk (hw/virtio_blk.c) over hostile rings,
 * on a 1 MiB in-memory disk. */
#include "hw/virtio_blk.h"
#include "tests/fuzz/fuzz_virtio.h"
#include <errno.h>

static uint8_t disk[1u << 20];

static int d_read(void *o, uint64_t off, void *buf, size_t len)
{
    (void)o;
    if (off > sizeof(disk) || len > sizeof(disk) - off)
        return -EINVAL;
    memcpy(buf, disk + off, len);
    return 0;
}
static int d_write(void *o, uint64_t off, const void *buf, size_t len)
{
    (void)o;
    if (off > sizeof(disk) || len > sizeof(disk) - off)
        return -EINVAL;
    memcpy(disk + off, buf, len);
    return 0;
}
static int d_flush(void *o) { (void)o; return 0; }
static int d_zero(void *o, uint64_t off, uint64_t len)
{
    (void)o;
    if (off > sizeof(disk) || len > sizeof(disk) - off)
        return -EINVAL;
    memset(disk + off, 0, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct virtio_blk_backend be = {
        .size = sizeof(disk), .readonly = fz_u8(&in) & 1, .read = d_read, .write = d_write,
        .flush = d_flush, .discard = d_zero, .write_zeroes = d_zero,
    };
    struct virtio_blk *b = virtio_blk_create(&be, "fuzz", &fz_mem);
    if (!b)
        return 0;
    struct virtio_dev *vd = virtio_blk_dev(b);
    fz_setup(vd, &in);
    fz_kick_all(vd);
    virtio_blk_free(b);
    return 0;
}
