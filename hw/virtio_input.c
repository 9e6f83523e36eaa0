/* virtio-input tablet (virtio 1.2 §5.8; see hw/virtio_input.h).
 *
 * Queue 0 (eventq) holds empty 8-byte buffers the driver gives us; each
 * input event (le16 type, le16 code, le32 value) fills one. Queue 1
 * (statusq) carries LED and similar updates from the driver: a tablet has
 * none to show, so they are consumed and ignored. Events the driver has no
 * buffer for yet wait in a ring of EVQ entries; when it is full the oldest
 * report is lost rather than the newest (a pointer's position only matters
 * last). The config space answers the select/subsel the driver wrote
 * (§5.8.5.1): name, device IDs, the event types and codes, and the axes. */
#include "hw/virtio_input.h"
#include "hw/pci.h"
#include <stdlib.h>
#include <string.h>

#define EVQ 256

struct input_event_le { uint16_t type, code; uint32_t value; };

struct virtio_input {
    struct virtio_dev vd;
    uint8_t cfg[VIRTIO_INPUT_CFG_SIZE];
    struct input_event_le q[EVQ];
    unsigned head, count;
    int last_x, last_y;
    unsigned last_buttons;
    struct virtq_elem elem;
};

static void set_bit(uint8_t *bm, unsigned bit, uint8_t *size)
{
    bm[bit / 8] |= (uint8_t)(1u << (bit % 8));
    if (bit / 8 + 1u > *size)
        *size = (uint8_t)(bit / 8 + 1);
}

/* Fills size and the union for the current select/subsel (§5.8.5.1:
 * size 0 means "nothing for this selection"). */
static void config_select(struct virtio_input *in)
{
    uint8_t sel = in->cfg[0], sub = in->cfg[1], size = 0;
    uint8_t *u = &in->cfg[8];
    memset(u, 0, 128);
    switch (sel) {
    case VIRTIO_INPUT_CFG_ID_NAME: {
        static const char name[] = "QEMU Virtio Tablet";
        if (sub == 0) {
            memcpy(u, name, sizeof(name) - 1);
            size = sizeof(name) - 1;
        }
        break;
    }
    case VIRTIO_INPUT_CFG_ID_SERIAL:
        break;                          /* no serial: size 0 */
    case VIRTIO_INPUT_CFG_ID_DEVIDS:
        if (sub == 0) {
            le_st16(u, 0x06);           /* BUS_VIRTUAL */
            le_st16(u + 2, 0x0627);     /* QEMU's vendor ID, as its tablet */
            le_st16(u + 4, 0x0003);
            le_st16(u + 6, 0x0001);
            size = 8;
        }
        break;
    case VIRTIO_INPUT_CFG_PROP_BITS:
        break;
    case VIRTIO_INPUT_CFG_EV_BITS:
        if (sub == EV_KEY) {
            set_bit(u, BTN_LEFT, &size);
            set_bit(u, BTN_RIGHT, &size);
            set_bit(u, BTN_MIDDLE, &size);
        } else if (sub == EV_REL) {
            set_bit(u, REL_WHEEL, &size);
        } else if (sub == EV_ABS) {
            set_bit(u, ABS_X, &size);
            set_bit(u, ABS_Y, &size);
        }
        break;
    case VIRTIO_INPUT_CFG_ABS_INFO:
        if (sub == ABS_X || sub == ABS_Y) {
            le_st32(u, 0);                      /* min */
            le_st32(u + 4, VIRTIO_TABLET_MAX);  /* max */
            size = 20;                          /* min max fuzz flat res */
        }
        break;
    default:
        break;
    }
    in->cfg[2] = size;
}

static void input_config_write(struct virtio_dev *vd, uint32_t off, uint64_t val, unsigned size)
{
    struct virtio_input *in = vd->opaque;
    /* Only select and subsel are the driver's to write (§5.8.5). */
    for (unsigned i = 0; i < size; i++)
        if (off + i < 2)
            in->cfg[off + i] = (uint8_t)(val >> (8 * i));
    if (off < 2)
        config_select(in);
}

/* Hands queued events to the driver while it has buffers. */
static void flush_events(struct virtio_input *in)
{
    struct virtio_dev *vd = &in->vd;
    struct virtq *vq = &vd->vq[0];
    if (!virtq_ready(vd, vq))
        return;
    bool pushed = false;
    while (in->count) {
        int r = virtq_pop(vd, vq, &in->elem);
        if (r <= 0)
            break;
        struct input_event_le *e = &in->q[in->head];
        uint8_t b[8];
        le_st16(b, e->type);
        le_st16(b + 2, e->code);
        le_st32(b + 4, e->value);
        /* A buffer shorter than an event is the driver's bug: it gets
         * what fits and the event is gone either way. */
        size_t n = virtq_elem_write(vd, &in->elem, 0, b, sizeof(b));
        virtq_push(vd, vq, &in->elem, (uint32_t)n);
        pushed = true;
        in->head = (in->head + 1) % EVQ;
        in->count--;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static void queue_event(struct virtio_input *in, uint16_t type, uint16_t code, uint32_t value)
{
    if (in->count == EVQ) {             /* full: the oldest goes */
        in->head = (in->head + 1) % EVQ;
        in->count--;
    }
    in->q[(in->head + in->count) % EVQ] = (struct input_event_le){type, code, value};
    in->count++;
}

void virtio_tablet_event(struct virtio_input *in, int x, int y, unsigned buttons, int wheel)
{
    x = x < 0 ? 0 : x > VIRTIO_TABLET_MAX ? VIRTIO_TABLET_MAX : x;
    y = y < 0 ? 0 : y > VIRTIO_TABLET_MAX ? VIRTIO_TABLET_MAX : y;
    /* Nothing reaches a driver that has not set DRIVER_OK. */
    if (!(in->vd.status & VIRTIO_STATUS_DRIVER_OK))
        return;
    bool any = false;
    if (x != in->last_x) {
        queue_event(in, EV_ABS, ABS_X, (uint32_t)x);
        in->last_x = x;
        any = true;
    }
    if (y != in->last_y) {
        queue_event(in, EV_ABS, ABS_Y, (uint32_t)y);
        in->last_y = y;
        any = true;
    }
    static const uint16_t btn[3] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE};
    for (int i = 0; i < 3; i++) {
        if (((buttons ^ in->last_buttons) >> i) & 1) {
            queue_event(in, EV_KEY, btn[i], (buttons >> i) & 1);
            any = true;
        }
    }
    in->last_buttons = buttons & 7;
    if (wheel) {
        queue_event(in, EV_REL, REL_WHEEL, (uint32_t)wheel);
        any = true;
    }
    if (any)
        queue_event(in, EV_SYN, SYN_REPORT, 0);
    flush_events(in);
}

bool virtio_tablet_active(const struct virtio_input *in)
{
    return in && (in->vd.status & VIRTIO_STATUS_DRIVER_OK) && !in->vd.broken;
}

static void event_handle(struct virtio_dev *vd, struct virtq *vq)
{
    (void)vq;
    flush_events(vd->opaque);           /* new buffers: deliver what waits */
}

static void status_handle(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_input *in = vd->opaque;
    bool pushed = false;
    while (virtq_pop(vd, vq, &in->elem) > 0) {
        virtq_push(vd, vq, &in->elem, 0);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static void input_reset(struct virtio_dev *vd)
{
    struct virtio_input *in = vd->opaque;
    in->head = in->count = 0;
    in->last_x = in->last_y = -1;
    in->last_buttons = 0;
    memset(in->cfg, 0, sizeof(in->cfg));
}

static const struct virtio_dev_ops input_ops = {
    .reset = input_reset,
    .config_write = input_config_write,
};

struct virtio_input *virtio_tablet_create(const struct guest_mem *mem)
{
    struct virtio_input *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->last_x = in->last_y = -1;
    virtio_init(&in->vd, "virtio-tablet", VIRTIO_ID_INPUT, 1ULL << VIRTIO_F_RING_EVENT_IDX,
                in->cfg, sizeof(in->cfg), mem, &input_ops, in);
    if (virtio_add_queue(&in->vd, 64, event_handle) < 0 ||
        virtio_add_queue(&in->vd, 64, status_handle) < 0) {
        free(in);
        return NULL;
    }
    return in;
}

struct virtio_dev *virtio_input_dev(struct virtio_input *in)
{
    return &in->vd;
}

void virtio_input_free(struct virtio_input *in)
{
    free(in);
}
