/* libFuzzer: virtio-rng's queue walk (hw/virtio_rng.c) over hostile rings. */
#include "hw/virtio_rng.h"
#include "tests/fuzz/fuzz_virtio.h"
#include <sys/types.h>

static ssize_t fill(void *buf, size_t len)
{
    memset(buf, 0xa5, len);
    return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct virtio_rng *r = virtio_rng_create(&fz_mem, fill);
    if (!r)
        return 0;
    struct virtio_dev *vd = virtio_rng_dev(r);
    fz_setup(vd, &in);
    fz_kick_all(vd);
    virtio_rng_free(r);
    return 0;
}
