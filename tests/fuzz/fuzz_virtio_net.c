/* libFuzzer: virtio-net (hw/virtio_net.c): the transmit walk over hostile
 * rings, and frames from the network into hostile receive rings. */
#include "hw/virtio_net.h"
#include "net/net.h"
#include "tests/fuzz/fuzz_virtio.h"

static void nsend(struct net_backend *nb, const uint8_t *f, size_t n) { (void)nb; (void)f; (void)n; }
static const struct net_backend_ops ops = { .send = nsend };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct net_backend nb = { .ops = &ops, .id = "fuzz" };
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
    unsigned flen = fz_u16(&in) % 2000;
    struct virtio_net *n = virtio_net_create(&nb, mac, &fz_mem);
    if (!n)
        return 0;
    struct virtio_dev *vd = virtio_net_dev(n);
    fz_setup(vd, &in);
    fz_kick_all(vd);
    static uint8_t frame[2000];
    memset(frame, 0x5a, sizeof(frame));
    for (int i = 0; i < 3 && nb.client.receive; i++)
        if (!nb.client.can_receive || nb.client.can_receive(nb.client.opaque))
            nb.client.receive(nb.client.opaque, frame, flen ? flen : 60);
    fz_kick_all(vd);
    virtio_net_free(n);
    return 0;
}
