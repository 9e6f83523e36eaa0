/* virtio-console (virtio 1.2 §5.3): one console port, or several ports with
 * VIRTIO_CONSOLE_F_MULTIPORT and its control queues (see the header). Each
 * port is a struct chardev; the driver's control messages are hostile input
 * like any descriptor: short messages, unknown events and port ids are
 * ignored. Messages to the driver wait in a small queue until it posts
 * buffers on the control receive queue. */
#include "hw/virtio_console.h"
#include "hw/pci.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_LEN 12           /* cols, rows, max_nr_ports, emerg_wr */
#define CHUNK 4096
#define F_MULTIPORT 1           /* VIRTIO_CONSOLE_F_MULTIPORT */

/* Control events (§5.3.6.2). */
enum {
    EV_DEVICE_READY = 0, EV_DEVICE_ADD = 1, EV_DEVICE_REMOVE = 2, EV_PORT_READY = 3,
    EV_CONSOLE_PORT = 4, EV_RESIZE = 5, EV_PORT_OPEN = 6, EV_PORT_NAME = 7,
};

#define CTRL_HDR 8              /* le32 id, le16 event, le16 value */
#define NAME_MAX_PORT 127
#define PENDING_MAX 64

struct vc_port {
    struct virtio_console *c;
    int id;
    struct chardev *chr;
    bool console;
    char name[NAME_MAX_PORT + 1];
    bool guest_open;                /* PORT_OPEN 1 from the driver (multiport) */
    struct virtq_elem rx_elem, tx_elem;     /* a write may re-enter receive */
};

struct ctrl_msg {
    uint32_t len;
    uint8_t b[CTRL_HDR + NAME_MAX_PORT];
};

struct virtio_console {
    struct virtio_dev vd;
    uint8_t config[CONFIG_LEN];
    int nports;                     /* port ids 0..nports-1 (some may be holes) */
    bool multiport;                 /* offered */
    struct vc_port port[VIRTIO_CONSOLE_MAX_PORTS];
    struct ctrl_msg pending[PENDING_MAX];
    unsigned npending;
    struct virtq_elem ctrl_elem;
};

static bool mp(struct virtio_console *c)
{
    return c->multiport && virtio_has_feature(&c->vd, F_MULTIPORT);
}

static int rxq(int id) { return id ? 2 * id + 2 : 0; }

/* The port a data queue belongs to; NULL for control queues and holes. */
static struct vc_port *queue_port(struct virtio_console *c, int q)
{
    int id = q < 2 ? 0 : q < 4 ? -1 : q / 2 - 1;
    if (id < 0 || id >= c->nports || !c->port[id].chr)
        return NULL;
    if (id && !mp(c))
        return NULL;
    return &c->port[id];
}

static bool rx_ready(struct vc_port *p)
{
    struct virtio_console *c = p->c;
    struct virtio_dev *vd = &c->vd;
    if (!(vd->status & VIRTIO_STATUS_DRIVER_OK) || !virtq_ready(vd, &vd->vq[rxq(p->id)]))
        return false;
    if (mp(c))
        return p->guest_open;           /* Linux drops data for ports nobody opened */
    return p->id == 0;
}

/* How much the guest takes now: the room in its next receive buffer
 * (peeked: popped and given back). */
static int con_can_receive(void *opaque)
{
    struct vc_port *p = opaque;
    struct virtq *vq = &p->c->vd.vq[rxq(p->id)];
    if (!rx_ready(p) || virtq_pop(&p->c->vd, vq, &p->rx_elem) <= 0)
        return 0;
    virtq_unpop(vq);
    return p->rx_elem.in_len > CHUNK ? CHUNK : (int)p->rx_elem.in_len;
}

static void con_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct vc_port *p = opaque;
    struct virtio_dev *vd = &p->c->vd;
    struct virtq *vq = &vd->vq[rxq(p->id)];
    bool pushed = false;
    while (len && rx_ready(p) && virtq_pop(vd, vq, &p->rx_elem) > 0) {
        size_t n = p->rx_elem.in_len < len ? (size_t)p->rx_elem.in_len : len;
        virtq_elem_write(vd, &p->rx_elem, 0, buf, n);
        virtq_push(vd, vq, &p->rx_elem, (uint32_t)n);
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
    struct vc_port *p = queue_port(c, (int)(vq - vd->vq));
    if (p)
        chardev_accept_input(p->chr);   /* room again: resume host input */
}

static void handle_tx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_console *c = vd->opaque;
    struct vc_port *p = queue_port(c, (int)(vq - vd->vq));
    struct virtq_elem *e = p ? &p->tx_elem : &c->ctrl_elem;
    bool pushed = false;
    while (virtq_pop(vd, vq, e) > 0) {
        for (unsigned i = 0; p && i < e->n_out; i++)
            chardev_write(p->chr, e->iov[i].base, e->iov[i].len);
        virtq_push(vd, vq, e, 0);       /* no port (a hole): consumed, dropped */
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

/* ---- control queues (multiport) ---- */

static void ctrl_flush(struct virtio_console *c)
{
    struct virtio_dev *vd = &c->vd;
    struct virtq *vq = &vd->vq[2];
    unsigned done = 0;
    bool pushed = false;
    while (done < c->npending && (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
           virtq_ready(vd, vq) && virtq_pop(vd, vq, &c->ctrl_elem) > 0) {
        struct ctrl_msg *m = &c->pending[done];
        if (c->ctrl_elem.in_len < m->len) {     /* too small for it: returned empty */
            virtq_push(vd, vq, &c->ctrl_elem, 0);
        } else {
            virtq_elem_write(vd, &c->ctrl_elem, 0, m->b, m->len);
            virtq_push(vd, vq, &c->ctrl_elem, m->len);
            done++;
        }
        pushed = true;
    }
    if (done) {
        memmove(c->pending, c->pending + done, (c->npending - done) * sizeof(c->pending[0]));
        c->npending -= done;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static void ctrl_send(struct virtio_console *c, uint32_t id, uint16_t event, uint16_t value,
                      const char *extra)
{
    if (c->npending >= PENDING_MAX)
        return;                         /* a driver not reading its queue loses news */
    struct ctrl_msg *m = &c->pending[c->npending++];
    le_st32(m->b, id);
    le_st16(m->b + 4, event);
    le_st16(m->b + 6, value);
    size_t n = extra ? strlen(extra) : 0;   /* PORT_NAME: the name follows, no NUL */
    memcpy(m->b + CTRL_HDR, extra ? extra : "", n);
    m->len = (uint32_t)(CTRL_HDR + n);
}

static void ctrl_message(struct virtio_console *c, const uint8_t *b)
{
    uint32_t id = le_ld32(b);
    uint16_t event = le_ld16(b + 4), value = le_ld16(b + 6);
    struct vc_port *p = id < (uint32_t)c->nports && c->port[id].chr ? &c->port[id] : NULL;
    switch (event) {
    case EV_DEVICE_READY:
        if (value != 1)
            break;
        for (int i = 0; i < c->nports; i++)
            if (c->port[i].chr)
                ctrl_send(c, (uint32_t)i, EV_DEVICE_ADD, 0, NULL);
        break;
    case EV_PORT_READY:
        if (!p || value != 1)
            break;
        if (p->console)
            ctrl_send(c, id, EV_CONSOLE_PORT, 1, NULL);
        if (p->name[0])
            ctrl_send(c, id, EV_PORT_NAME, 1, p->name);
        ctrl_send(c, id, EV_PORT_OPEN, 1, NULL);   /* the host side is there */
        break;
    case EV_PORT_OPEN:
        if (!p)
            break;
        p->guest_open = value != 0;
        if (p->guest_open)
            chardev_accept_input(p->chr);
        break;
    default:
        break;                          /* unknown or device-to-driver events */
    }
}

static void handle_ctrl_tx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_console *c = vd->opaque;
    bool pushed = false;
    while (virtq_pop(vd, vq, &c->ctrl_elem) > 0) {
        uint8_t b[CTRL_HDR];
        if (virtq_elem_read(&c->ctrl_elem, 0, b, sizeof(b)) == sizeof(b) && mp(c))
            ctrl_message(c, b);
        virtq_push(vd, vq, &c->ctrl_elem, 0);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
    ctrl_flush(c);
}

static void handle_ctrl_rx(struct virtio_dev *vd, struct virtq *vq)
{
    (void)vq;
    ctrl_flush(vd->opaque);
}

static void con_reset(struct virtio_dev *vd)
{
    struct virtio_console *c = vd->opaque;
    c->npending = 0;
    for (int i = 0; i < c->nports; i++)
        c->port[i].guest_open = false;
}

static const struct virtio_dev_ops con_ops = {.reset = con_reset};

struct virtio_console *virtio_console_create_ports(const struct virtio_console_port_cfg *ports,
                                                  int nports, const struct guest_mem *mem)
{
    if (nports < 1 || nports > VIRTIO_CONSOLE_MAX_PORTS)
        return NULL;
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nports = nports;
    /* QEMU's virtio-serial always offers MULTIPORT; a lone console port
     * without a name is the plain device here, which old drivers also take. */
    c->multiport = nports > 1 || !ports[0].chr || !ports[0].console || ports[0].name;
    for (int i = 0; i < nports; i++) {
        struct vc_port *p = &c->port[i];
        p->c = c;
        p->id = i;
        p->chr = ports[i].chr;
        p->console = ports[i].console;
        if (ports[i].name)
            snprintf(p->name, sizeof(p->name), "%s", ports[i].name);
    }
    le_st32(c->config + 4, (uint32_t)nports);   /* max_nr_ports (read with MULTIPORT) */
    uint64_t feat = (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | (1ULL << VIRTIO_F_RING_EVENT_IDX);
    if (c->multiport)
        feat |= 1ULL << F_MULTIPORT;
    virtio_init(&c->vd, "virtio-console", VIRTIO_ID_CONSOLE, feat, c->config, CONFIG_LEN, mem,
                &con_ops, c);
    virtio_add_queue(&c->vd, 128, handle_rx);
    virtio_add_queue(&c->vd, 128, handle_tx);
    if (c->multiport) {
        virtio_add_queue(&c->vd, 32, handle_ctrl_rx);
        virtio_add_queue(&c->vd, 32, handle_ctrl_tx);
        for (int i = 1; i < nports; i++) {
            virtio_add_queue(&c->vd, 128, handle_rx);
            virtio_add_queue(&c->vd, 128, handle_tx);
        }
    }
    for (int i = 0; i < nports; i++)
        chardev_set_frontend(c->port[i].chr, con_can_receive, con_receive, &c->port[i]);
    return c;
}

struct virtio_console *virtio_console_create(struct chardev *chr, const struct guest_mem *mem)
{
    struct virtio_console_port_cfg p = {.chr = chr, .console = true};
    return virtio_console_create_ports(&p, 1, mem);
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
    return &c->vd;
}

void virtio_console_free(struct virtio_console *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nports; i++)
        chardev_set_frontend(c->port[i].chr, NULL, NULL, NULL);
    free(c);
}
