/* libFuzzer: virtio-console's queues (hw/virtio_console.c): the guest's
 * transmit walk over hostile rings and host input into its receive queues,
 * for the plain one-port device and (first input byte odd) the multiport
 * one with a console port, a hole and a named port: its control queue
 * messages (DEVICE_READY, PORT_READY, PORT_OPEN, unknown events and ids,
 * short buffers) come from the rings too. */
#include "hw/chardev.h"
#include "hw/virtio_console.h"
#include "tests/fuzz/fuzz_virtio.h"

static void out(struct chardev *c, const uint8_t *b, size_t n) { (void)c; (void)b; (void)n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct chardev chr = { .write = out, .in_fd = -1, .label = "fuzz" };
    struct chardev chr2 = { .write = out, .in_fd = -1, .label = "fuzz2" };
    bool multi = fz_u8(&in) & 1;
    struct virtio_console_port_cfg ports[3] = {
        {.chr = &chr, .console = true}, {0}, {.chr = &chr2, .name = "org.fuzz.port"}};
    struct virtio_console *c = multi ? virtio_console_create_ports(ports, 3, &fz_mem)
                                     : virtio_console_create(&chr, &fz_mem);
    if (!c)
        return 0;
    struct virtio_dev *vd = virtio_console_dev(c);
    fz_setup(vd, &in);
    fz_kick_all(vd);
    static const uint8_t msg[300] = "input from the host";
    chardev_feed(&chr, msg, sizeof(msg));
    chardev_feed(&chr2, msg, sizeof(msg));
    fz_kick_all(vd);
    chardev_feed(&chr, msg, 7);
    chardev_feed(&chr2, msg, 9);
    virtio_console_free(c);
    return 0;
}
