/* virtio-serial multiport (hw/virtio_console.c) driven like Linux's
 * virtio_console driver: DEVICE_READY, the device's DEVICE_ADD per port,
 * PORT_READY answered by CONSOLE_PORT / PORT_NAME / PORT_OPEN, data both
 * ways on a named port once the guest opened it; and hostile control
 * messages (short, unknown ids and events) change nothing. */
#include "test.h"
#include "test_virtio_driver.h"
#include "hw/virtio_console.h"
#include <stdlib.h>

#define VC_F_MULTIPORT (1ULL << 1)
#define CTRL_RX 2
#define CTRL_TX 3
#define CBUF (BUF_BASE + 0x10000)       /* control rx buffers, 64 bytes each */
#define TXBUF (BUF_BASE + 0x20000)

struct sink {
    struct chardev chr;
    uint8_t got[256];
    size_t n;
};

static void sink_write(struct chardev *c, const uint8_t *b, size_t n)
{
    struct sink *s = (struct sink *)c;
    for (size_t i = 0; i < n && s->n < sizeof(s->got); i++)
        s->got[s->n++] = b[i];
}

static unsigned cbuf_next;

static void post_ctrl_rx(struct vdrv *d, int n)
{
    for (int i = 0; i < n; i++) {
        struct seg s = {CBUF + 64 * (cbuf_next++ % 64), 64, true};
        vdrv_add(d, CTRL_RX, &s, 1);
    }
    vdrv_kick(d, CTRL_RX);
}

static void send_ctrl(struct vdrv *d, uint32_t id, uint16_t ev, uint16_t val, uint32_t len)
{
    static unsigned k;
    uint32_t gpa = TXBUF + 16 * (k++ % 64);
    le_st32(d->ram + gpa, id);
    le_st16(d->ram + gpa + 4, ev);
    le_st16(d->ram + gpa + 6, val);
    struct seg s = {gpa, len, false};
    vdrv_add(d, CTRL_TX, &s, 1);
    vdrv_kick(d, CTRL_TX);
}

/* The next control message from the device: event, id, value, extra text. */
static bool recv_ctrl(struct vdrv *d, uint32_t *id, uint16_t *ev, uint16_t *val, char *extra)
{
    uint32_t head, len;
    if (!vdrv_get_used(d, CTRL_RX, &head, &len) || len < 8)
        return false;
    /* buffers were posted in order, one descriptor each */
    static unsigned seen;
    const uint8_t *b = d->ram + CBUF + 64 * (seen++ % 64);
    *id = le_ld32(b);
    *ev = le_ld16(b + 4);
    *val = le_ld16(b + 6);
    memcpy(extra, b + 8, len - 8);
    extra[len - 8] = 0;
    return true;
}

TEST(virtio_console_multiport_handshake_and_data)
{
    struct vdrv d;
    vdrv_ram_init(&d);
    cbuf_next = 0;
    struct sink con = {.chr = {.write = sink_write, .in_fd = -1, .label = "con"}};
    struct sink port = {.chr = {.write = sink_write, .in_fd = -1, .label = "port"}};
    struct virtio_console_port_cfg cfg[3] = {
        {.chr = &con.chr, .console = true}, {0}, {.chr = &port.chr, .name = "org.test.p"}};
    struct virtio_console *c = virtio_console_create_ports(cfg, 3, &d.mem);
    CHECK(c && vdrv_attach(&d, virtio_console_dev(c), false));
    if (!c)
        return;
    CHECK(vdrv_modern_init(&d, VC_F_MULTIPORT | (1ULL << VIRTIO_F_VERSION_1)));
    CHECK(virtio_has_feature(virtio_console_dev(c), 1));
    CHECK_EQ(devcfg_rd(&d, 4, 4), 3);                       /* max_nr_ports */
    CHECK_EQ(cc_rd(&d, VIRTIO_PCI_COMMON_NUMQ, 2), 8);      /* (3 + 1) * 2 */
    post_ctrl_rx(&d, 16);
    send_ctrl(&d, 0, 0, 1, 8);                              /* DEVICE_READY */
    uint32_t id;
    uint16_t ev, val;
    char extra[64];
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 1 && id == 0);     /* DEVICE_ADD 0 */
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 1 && id == 2);     /* DEVICE_ADD 2 */
    CHECK(!recv_ctrl(&d, &id, &ev, &val, extra));                           /* not the hole */
    /* hostile: a short message, a hole, an id past the ports, an unknown event */
    send_ctrl(&d, 2, 3, 1, 5);
    send_ctrl(&d, 1, 3, 1, 8);
    send_ctrl(&d, 99, 3, 1, 8);
    send_ctrl(&d, 0xffffffffu, 6, 1, 8);
    send_ctrl(&d, 2, 0x7777, 1, 8);
    CHECK(!recv_ctrl(&d, &id, &ev, &val, extra));
    send_ctrl(&d, 2, 3, 1, 8);                              /* PORT_READY 2 */
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 7 && id == 2 &&
          !strcmp(extra, "org.test.p"));                    /* PORT_NAME */
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 6 && id == 2 && val == 1); /* PORT_OPEN */
    send_ctrl(&d, 0, 3, 1, 8);                              /* PORT_READY 0 */
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 4 && id == 0);     /* CONSOLE_PORT */
    CHECK(recv_ctrl(&d, &id, &ev, &val, extra) && ev == 6 && id == 0);
    /* guest -> host on port 2 (transmitq 2*2+3) */
    memcpy(d.ram + TXBUF + 0x2000, "hello", 5);
    struct seg s = {TXBUF + 0x2000, 5, false};
    vdrv_add(&d, 7, &s, 1);
    vdrv_kick(&d, 7);
    CHECK(port.n == 5 && !memcmp(port.got, "hello", 5));
    CHECK_EQ(con.n, 0);
    /* host -> guest: held until the guest opens the port */
    struct seg r = {TXBUF + 0x3000, 64, true};
    vdrv_add(&d, 6, &r, 1);
    vdrv_kick(&d, 6);
    CHECK_EQ(chardev_feed(&port.chr, (const uint8_t *)"abc", 3), 0);
    send_ctrl(&d, 2, 6, 1, 8);                              /* PORT_OPEN 1 from the guest */
    CHECK_EQ(chardev_feed(&port.chr, (const uint8_t *)"abc", 3), 3);
    uint32_t head, len;
    CHECK(vdrv_get_used(&d, 6, &head, &len) && len == 3 && !memcmp(d.ram + TXBUF + 0x3000, "abc", 3));
    vdrv_free(&d);
    virtio_console_free(c);
}

TEST(virtio_console_single_port_is_plain)
{
    struct vdrv d;
    vdrv_ram_init(&d);
    struct sink con = {.chr = {.write = sink_write, .in_fd = -1, .label = "con"}};
    struct virtio_console *c = virtio_console_create(&con.chr, &d.mem);
    CHECK(c && vdrv_attach(&d, virtio_console_dev(c), false));
    if (!c)
        return;
    CHECK(vdrv_modern_init(&d, VC_F_MULTIPORT | (1ULL << VIRTIO_F_VERSION_1)));
    CHECK(!virtio_has_feature(virtio_console_dev(c), 1));   /* not offered */
    CHECK_EQ(cc_rd(&d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    memcpy(d.ram + TXBUF, "hvc", 3);
    struct seg s = {TXBUF, 3, false};
    vdrv_add(&d, 1, &s, 1);
    vdrv_kick(&d, 1);
    CHECK(con.n == 3 && !memcmp(con.got, "hvc", 3));
    vdrv_free(&d);
    virtio_console_free(c);
}
