/* virtio-input tablet (virtio 1.2 §5.8): PCI identity, the config space's
 * select/subsel answers, and events delivered into the driver's buffers
 * (queued while it has none, nothing before DRIVER_OK). */
#include "test_virtio_driver.h"
#include "hw/virtio_input.h"

static void cfg_sel(struct vdrv *d, uint8_t sel, uint8_t sub)
{
    iomap_write(&d->mmio, d->bar4 + VIRTIO_PCI_DEVICE_OFF, sel, 1);
    iomap_write(&d->mmio, d->bar4 + VIRTIO_PCI_DEVICE_OFF + 1, sub, 1);
}

static uint8_t cfg_size(struct vdrv *d) { return (uint8_t)devcfg_rd(d, 2, 1); }
static uint8_t cfg_u8(struct vdrv *d, unsigned i) { return (uint8_t)devcfg_rd(d, 8 + i, 1); }

static bool tablet_setup(struct vdrv *d, struct virtio_input **in)
{
    vdrv_ram_init(d);
    *in = virtio_tablet_create(&d->mem);
    return *in && vdrv_attach(d, virtio_input_dev(*in), false);
}

TEST(virtio_tablet_pci_identity)
{
    struct vdrv d;
    struct virtio_input *in;
    CHECK(tablet_setup(&d, &in));
    /* No transitional ID exists for input: modern only, 0x1040 + 18. */
    CHECK_EQ(vdrv_cfg_rd(&d, 0, 4), 0x10521af4u);
    CHECK_EQ(vdrv_cfg_rd(&d, 8, 1), 1);
    CHECK(vdrv_modern_init(&d, ~0ULL));
    CHECK_EQ(cc_rd(&d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    vdrv_free(&d);
    virtio_input_free(in);
}

TEST(virtio_tablet_config_space)
{
    struct vdrv d;
    struct virtio_input *in;
    CHECK(tablet_setup(&d, &in));
    cfg_sel(&d, VIRTIO_INPUT_CFG_ID_NAME, 0);
    CHECK_EQ(cfg_size(&d), 18);
    char name[19] = {0};
    for (int i = 0; i < 18; i++)
        name[i] = (char)cfg_u8(&d, (unsigned)i);
    CHECK(!strcmp(name, "QEMU Virtio Tablet"));
    cfg_sel(&d, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS);
    CHECK_EQ(cfg_size(&d), 1);
    CHECK_EQ(cfg_u8(&d, 0), 0x03);                      /* ABS_X, ABS_Y */
    cfg_sel(&d, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY);
    CHECK_EQ(cfg_size(&d), BTN_MIDDLE / 8 + 1);
    CHECK_EQ(cfg_u8(&d, BTN_LEFT / 8), 0x07);           /* left, right, middle */
    cfg_sel(&d, VIRTIO_INPUT_CFG_EV_BITS, EV_REL);
    CHECK_EQ(cfg_u8(&d, 1), 0x01);                      /* REL_WHEEL = 8 */
    cfg_sel(&d, VIRTIO_INPUT_CFG_EV_BITS, 0x11);        /* EV_LED: none */
    CHECK_EQ(cfg_size(&d), 0);
    cfg_sel(&d, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y);
    CHECK_EQ(cfg_size(&d), 20);
    CHECK_EQ(devcfg_rd(&d, 8, 4), 0);
    CHECK_EQ(devcfg_rd(&d, 12, 4), VIRTIO_TABLET_MAX);
    cfg_sel(&d, VIRTIO_INPUT_CFG_ABS_INFO, 0x2f);       /* an axis it lacks */
    CHECK_EQ(cfg_size(&d), 0);
    CHECK_EQ(devcfg_rd(&d, 12, 4), 0);
    cfg_sel(&d, VIRTIO_INPUT_CFG_ID_DEVIDS, 0);
    CHECK_EQ(cfg_size(&d), 8);
    CHECK_EQ(devcfg_rd(&d, 8, 2), 0x06);                /* BUS_VIRTUAL */
    cfg_sel(&d, 0x77, 0);                               /* unknown select */
    CHECK_EQ(cfg_size(&d), 0);
    /* size and the union are the device's: a driver writing them changes nothing. */
    cfg_sel(&d, VIRTIO_INPUT_CFG_ID_NAME, 0);
    iomap_write(&d.mmio, d.bar4 + VIRTIO_PCI_DEVICE_OFF + 2, 99, 1);
    iomap_write(&d.mmio, d.bar4 + VIRTIO_PCI_DEVICE_OFF + 8, 'X', 1);
    CHECK_EQ(cfg_size(&d), 18);
    CHECK_EQ(cfg_u8(&d, 0), 'Q');
    vdrv_free(&d);
    virtio_input_free(in);
}

/* n event buffers of 8 bytes on the event queue, from BUF_BASE + 8 * first. */
static void give_buffers(struct vdrv *d, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        struct seg s = {BUF_BASE + 8u * (uint32_t)i, 8, true};
        vdrv_add(d, 0, &s, 1);
    }
    vdrv_kick(d, 0);
}

/* The next used event: type, code, value from its buffer. */
static bool next_event(struct vdrv *d, uint16_t *type, uint16_t *code, uint32_t *value)
{
    uint32_t id, len;
    if (!vdrv_get_used(d, 0, &id, &len) || len != 8)
        return false;
    const uint8_t *b = d->ram + BUF_BASE + 8 * (id % 256);
    *type = le_ld16(b);
    *code = le_ld16(b + 2);
    *value = le_ld32(b + 4);
    return true;
}

#define EXPECT_EVENT(d, t, c, v) do {                                      \
        uint16_t t_, c_; uint32_t v_ = 0;                                  \
        CHECK(next_event(d, &t_, &c_, &v_));                               \
        CHECK_EQ(t_, t); CHECK_EQ(c_, c); CHECK_EQ(v_, v);                 \
    } while (0)

TEST(virtio_tablet_events)
{
    struct vdrv d;
    struct virtio_input *in;
    CHECK(tablet_setup(&d, &in));
    virtio_tablet_event(in, 10, 10, 0, 0);      /* no driver yet: dropped */
    CHECK(vdrv_modern_init(&d, ~0ULL));
    give_buffers(&d, 0, 6);
    CHECK_EQ(vdrv_used_idx(&d, 0), 0);
    virtio_tablet_event(in, 100, 40000, 1, 0);  /* y clamps to the axis */
    EXPECT_EVENT(&d, EV_ABS, ABS_X, 100);
    EXPECT_EVENT(&d, EV_ABS, ABS_Y, VIRTIO_TABLET_MAX);
    EXPECT_EVENT(&d, EV_KEY, BTN_LEFT, 1);
    EXPECT_EVENT(&d, EV_SYN, SYN_REPORT, 0);
    CHECK(vdrv_irq_line(&d));
    CHECK(vdrv_isr(&d) & VIRTIO_ISR_QUEUE);
    /* Only the changes: the button released, a wheel step. Two buffers
     * left for four events: the rest waits for the driver's next ones. */
    virtio_tablet_event(in, 100, VIRTIO_TABLET_MAX, 0, 1);
    EXPECT_EVENT(&d, EV_KEY, BTN_LEFT, 0);
    EXPECT_EVENT(&d, EV_REL, REL_WHEEL, 1);
    uint16_t t, c;
    uint32_t v;
    CHECK(!next_event(&d, &t, &c, &v));
    give_buffers(&d, 6, 4);
    EXPECT_EVENT(&d, EV_SYN, SYN_REPORT, 0);
    CHECK(!next_event(&d, &t, &c, &v));
    /* No change, no report. */
    virtio_tablet_event(in, 100, VIRTIO_TABLET_MAX, 0, 0);
    CHECK(!next_event(&d, &t, &c, &v));
    virtio_tablet_event(in, 5, VIRTIO_TABLET_MAX, 4, 0);
    EXPECT_EVENT(&d, EV_ABS, ABS_X, 5);
    EXPECT_EVENT(&d, EV_KEY, BTN_MIDDLE, 1);
    EXPECT_EVENT(&d, EV_SYN, SYN_REPORT, 0);
    vdrv_free(&d);
    virtio_input_free(in);
}

TEST(virtio_tablet_full_queue_drops_oldest_and_status_queue_is_drained)
{
    struct vdrv d;
    struct virtio_input *in;
    CHECK(tablet_setup(&d, &in));
    CHECK(vdrv_modern_init(&d, ~0ULL));
    /* 200 moves without buffers: 600 events for a 256-entry queue; the
     * driver then sees the newest ones, ending with the last position. */
    for (int i = 1; i <= 200; i++)
        virtio_tablet_event(in, i, i, 0, 0);
    uint16_t t = 0, c = 0;
    uint32_t v = 0, lastx = 0;
    int n = 0;
    for (int batch = 0; batch < 6; batch++) {   /* the ring holds 64 buffers */
        give_buffers(&d, 0, 64);
        while (next_event(&d, &t, &c, &v)) {
            if (t == EV_ABS && c == ABS_X)
                lastx = v;
            n++;
        }
    }
    CHECK_EQ(n, 256);
    CHECK_EQ(lastx, 200);
    CHECK_EQ(t, EV_SYN);
    /* LED updates from the driver come back used (nothing to light). */
    struct seg s = {BUF_BASE + 0x8000, 8, false};
    vdrv_add(&d, 1, &s, 1);
    vdrv_kick(&d, 1);
    uint32_t id, len;
    CHECK(vdrv_get_used(&d, 1, &id, &len));
    vdrv_free(&d);
    virtio_input_free(in);
}
