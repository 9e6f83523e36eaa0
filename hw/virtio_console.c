/* virtio-console (virtio 1.2 §5.3), single port. */
#include "hw/virtio_console.h"
#include "hw/pci.h"
#include <stdlib.h>
#include <string.h>

#define CONFIG_LEN 12           /* cols, rows, max_nr_ports, emerg_wr */
#define CHUNK 4096

struct virtio_console {
    struct virtio_dev vd;
    struct chardev *chr;
    uint8_t config[CONFIG_LEN];
    uint8_t buf[CHUNK];
    struct virtq_elem rx_elem, tx_elem;     /* a write may re-enter receive */
};

static bool rx_ready(struct virtio_console *c)
{
    struct virtio_dev *vd = &c->vd;
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) && virtq_ready(vd, &vd->vq[0]);
}

/* How much the guest takes now: the room in its next receive buffer
 * (peeked: popped and given back). */
static int con_can_receive(void *opaque)
{
    struct virtio_console *c = opaque;
    struct virtq *vq = &c->vd.vq[0];
    if (!rx_ready(c) || virtq_pop(&c->vd, vq, &c->rx_elem) <= 0)
        return 0;
    virtq_unpop(vq);
    return c->rx_elem.in_len > CHUNK ? CHUNK : (int)c->rx_elem.in_len;
}

static void con_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *c = opaque;
    struct virtio_dev *vd = &c->vd;
    struct virtq *vq = &vd->vq[0];
    bool pushed = false;
    while (len && rx_ready(c) && virtq_pop(vd, vq, &c->rx_elem) > 0) {
        size_t n = c->rx_elem.in_len < len ? (size_t)c->rx_elem.in_len : len;
        virtq_elem_write(vd, &c->rx_elem, 0, buf, n);
        virtq_push(vd, vq, &c->rx_elem, (uint32_t)n);
        pushed = true;
        buf += n;
        len -= n;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static void handle_rx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_console *c = vd->opaque;
    chardev_accept_input(c->chr);       /* room again: resume host input */
}

static void handle_tx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_console *c = vd->opaque;
    bool pushed = false;
    while (virtq_pop(vd, vq, &c->tx_elem) > 0) {
        for (unsigned i = 0; i < c->tx_elem.n_out; i++)
            chardev_write(c->chr, c->tx_elem.iov[i].base, c->tx_elem.iov[i].len);
        virtq_push(vd, vq, &c->tx_elem, 0);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static const struct virtio_dev_ops con_ops = {0};

struct virtio_console *virtio_console_create(struct chardev *chr, const struct guest_mem *mem)
{
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->chr = chr;
    le_st32(c->config + 4, 1);          /* max_nr_ports (only read with MULTIPORT) */
    virtio_init(&c->vd, "virtio-console", VIRTIO_ID_CONSOLE,
                (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | (1ULL << VIRTIO_F_RING_EVENT_IDX),
                c->config, CONFIG_LEN, mem, &con_ops, c);
    virtio_add_queue(&c->vd, 128, handle_rx);
    virtio_add_queue(&c->vd, 128, handle_tx);
    chardev_set_frontend(chr, con_can_receive, con_receive, c);
    return c;
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
    return &c->vd;
}

void virtio_console_free(struct virtio_console *c)
{
    if (!c)
        return;
    chardev_set_frontend(c->chr, NULL, NULL, NULL);
    free(c);
}
