/* libFuzzer: virtio-console's queues (hw/virtio_console.c): the guest's
 * transmit walk over hostile rings, and host input into its receive queue. */
#include "hw/chardev.h"
#include "hw/virtio_console.h"
#include "tests/fuzz/fuzz_virtio.h"

static void out(struct chardev *c, const uint8_t *b, size_t n) { (void)c; (void)b; (void)n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct chardev chr = { .write = out, .in_fd = -1, .label = "fuzz" };
    struct virtio_console *c = virtio_console_create(&chr, &fz_mem);
    if (!c)
        return 0;
    struct virtio_dev *vd = virtio_console_dev(c);
    fz_setup(vd, &in);
    fz_kick_all(vd);
    static const uint8_t msg[300] = "input from the host";
    chardev_feed(&chr, msg, sizeof(msg));
    fz_kick_all(vd);
    chardev_feed(&chr, msg, 7);
    virtio_console_free(c);
    return 0;
}
