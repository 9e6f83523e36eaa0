/* virtio-net with a fake net backend, virtio-rng with a fake entropy
 * source, virtio-console with a capturing chardev — all through the PCI
 * transport and queues built in fake guest RAM. */
#include "test_virtio_driver.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"
#include "hw/virtio_console.h"
#include "net/net.h"
#include <stdlib.h>

struct fnet {
    struct net_backend nb;
    uint8_t sent[4][2048];
    size_t sent_len[4];
    int nsent, ready_calls;
    bool echo;
};

static void fnet_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct fnet *f = (struct fnet *)nb;
    /* Like slirp: the answer may arrive before net_send returns. */
    if (f->echo && nb->client.can_receive(nb->client.opaque))
        nb->client.receive(nb->client.opaque, frame, len);
    if (f->nsent < 4 && len <= sizeof(f->sent[0])) {
        memcpy(f->sent[f->nsent], frame, len);
        f->sent_len[f->nsent] = len;
    }
    f->nsent++;
}

static void fnet_ready(struct net_backend *nb)
{
    ((struct fnet *)nb)->ready_calls++;
}

static const struct net_backend_ops fnet_ops = {.send = fnet_send, .client_ready = fnet_ready};

struct nfx {
    struct vdrv d;
    struct fnet be;
    struct virtio_net *net;
};

static bool nfx_init(struct nfx *f)
{
    vdrv_ram_init(&f->d);
    memset(&f->be, 0, sizeof(f->be));
    f->be.nb.ops = &fnet_ops;
    f->be.nb.id = "n0";
    uint8_t mac[6];
    virtio_net_default_mac(mac, 1);
    f->net = virtio_net_create(&f->be.nb, mac, &f->d.mem);
    /* The first NIC goes to 00:03.0 like QEMU's; here the helper takes the
     * next free slot, which is enough for the queues. */
    return f->net && vdrv_attach(&f->d, virtio_net_dev(f->net), false);
}

static void nfx_free(struct nfx *f)
{
    vdrv_free(&f->d);
    virtio_net_free(f->net);
}

static bool backend_can_receive(struct nfx *f)
{
    return f->be.nb.client.can_receive(f->be.nb.client.opaque);
}

static void backend_deliver(struct nfx *f, const uint8_t *frame, size_t len)
{
    f->be.nb.client.receive(f->be.nb.client.opaque, frame, len);
}

TEST(virtio_net_config_tx_rx)
{
    struct nfx f;
    CHECK(nfx_init(&f));
    struct vdrv *d = &f.d;
    CHECK_EQ(vdrv_cfg_rd(d, 0, 4), 0x10001af4u);
    CHECK_EQ(vdrv_cfg_rd(d, 0x0a, 2), 0x0200);
    /* MAC 52:54:00:12:34:57 and link up in config. */
    CHECK_EQ(devcfg_rd(d, 0, 4), 0x12005452u);
    CHECK_EQ(devcfg_rd(d, 4, 2), 0x5734);
    CHECK_EQ(devcfg_rd(d, 6, 2), VIRTIO_NET_S_LINK_UP);
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint32_t feat = (uint32_t)cc_rd(d, VIRTIO_PCI_COMMON_DF, 4);
    CHECK(feat & (1u << VIRTIO_NET_F_MAC));
    CHECK(feat & (1u << VIRTIO_NET_F_STATUS));
    CHECK(feat & (1u << VIRTIO_NET_F_CSUM));    /* checksum offload both ways */
    CHECK(feat & (1u << VIRTIO_NET_F_GUEST_CSUM));
    CHECK(!(feat & (1u << 11)));                /* but no TSO (HOST_TSO4) */
    CHECK(!(feat & (1u << 15)));                /* no MRG_RXBUF */
    /* Before DRIVER_OK nothing is received. */
    CHECK(!backend_can_receive(&f));
    CHECK(vdrv_modern_init(d, ~0ULL));
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    /* RX without buffers: can_receive false, a delivered frame is dropped. */
    CHECK(!backend_can_receive(&f));
    uint8_t frame[100];
    for (unsigned i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)i;
    backend_deliver(&f, frame, sizeof(frame));
    CHECK_EQ(virtio_net_get_stats(f.net)->rx_dropped, 1);
    /* The guest posts an RX buffer and kicks: the backend is told. */
    int before = f.be.ready_calls;
    struct seg rx = {BUF_BASE, 1526, true};
    vdrv_add(d, VIRTIO_NET_RXQ, &rx, 1);
    vdrv_kick(d, VIRTIO_NET_RXQ);
    CHECK(f.be.ready_calls > before);
    CHECK(backend_can_receive(&f));
    memset(d->ram + BUF_BASE, 0xee, 12);
    backend_deliver(&f, frame, sizeof(frame));
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(d, VIRTIO_NET_RXQ, &id, &len));
    CHECK_EQ(len, 12 + sizeof(frame));
    /* Header: DATA_VALID (GUEST_CSUM accepted), num_buffers = 1, rest 0. */
    CHECK_EQ(le_ld64(d->ram + BUF_BASE), VIRTIO_NET_HDR_F_DATA_VALID);
    CHECK_EQ(le_ld16(d->ram + BUF_BASE + 8), 0);
    CHECK_EQ(le_ld16(d->ram + BUF_BASE + 10), 1);
    CHECK(memcmp(d->ram + BUF_BASE + 12, frame, sizeof(frame)) == 0);
    CHECK_EQ(vdrv_isr(d), 1);
    CHECK(!backend_can_receive(&f));
    /* A buffer too small for the frame stays with the driver. */
    struct seg small = {BUF_BASE, 40, true};
    vdrv_add(d, VIRTIO_NET_RXQ, &small, 1);
    vdrv_kick(d, VIRTIO_NET_RXQ);
    backend_deliver(&f, frame, sizeof(frame));
    CHECK(!vdrv_get_used(d, VIRTIO_NET_RXQ, &id, &len));
    CHECK_EQ(virtio_net_get_stats(f.net)->rx_dropped, 2);
    CHECK(backend_can_receive(&f));
    backend_deliver(&f, frame, 20);
    CHECK(vdrv_get_used(d, VIRTIO_NET_RXQ, &id, &len));
    CHECK_EQ(len, 32);
    /* TX: header and frame in separate descriptors, then in one. */
    memset(d->ram + BUF_BASE + 0x1000, 0, 12);
    memcpy(d->ram + BUF_BASE + 0x2000, frame, 60);
    struct seg tx[2] = {{BUF_BASE + 0x1000, 12, false}, {BUF_BASE + 0x2000, 60, false}};
    vdrv_add(d, VIRTIO_NET_TXQ, tx, 2);
    memset(d->ram + BUF_BASE + 0x3000, 0, 12);
    memcpy(d->ram + BUF_BASE + 0x300c, frame + 1, 64);
    struct seg tx1 = {BUF_BASE + 0x3000, 76, false};
    vdrv_add(d, VIRTIO_NET_TXQ, &tx1, 1);
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK_EQ(f.be.nsent, 2);
    CHECK_EQ(f.be.sent_len[0], 60);
    CHECK(memcmp(f.be.sent[0], frame, 60) == 0);
    CHECK_EQ(f.be.sent_len[1], 64);
    CHECK(memcmp(f.be.sent[1], frame + 1, 64) == 0);
    CHECK(vdrv_get_used(d, VIRTIO_NET_TXQ, &id, &len));
    CHECK_EQ(len, 0);
    CHECK(vdrv_get_used(d, VIRTIO_NET_TXQ, &id, &len));
    /* A backend answering from inside net_send: the TX element and the RX
     * element both complete, each on its own ring. */
    f.be.echo = true;
    struct seg rx2 = {BUF_BASE + 0x5000, 1526, true};
    uint16_t rxhead = vdrv_add(d, VIRTIO_NET_RXQ, &rx2, 1);
    uint16_t txhead = vdrv_add(d, VIRTIO_NET_TXQ, tx, 2);
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK(vdrv_get_used(d, VIRTIO_NET_TXQ, &id, &len));
    CHECK_EQ(id, txhead);
    CHECK(vdrv_get_used(d, VIRTIO_NET_RXQ, &id, &len));
    CHECK_EQ(id, rxhead);
    CHECK_EQ(len, 12 + 60);
    CHECK(memcmp(d->ram + BUF_BASE + 0x5000 + 12, frame, 60) == 0);
    f.be.echo = false;
    /* TX shorter than the header: the driver is broken. */
    struct seg bad = {BUF_BASE + 0x1000, 8, false};
    vdrv_add(d, VIRTIO_NET_TXQ, &bad, 1);
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK(vdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(f.be.nsent, 3);
    /* Link down: config change interrupt. */
    CHECK(vdrv_modern_init(d, ~0ULL));
    (void)vdrv_isr(d);
    virtio_net_set_link(f.net, false);
    CHECK_EQ(devcfg_rd(d, 6, 2), 0);
    CHECK_EQ(vdrv_isr(d), VIRTIO_ISR_CONFIG);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
    struct seg rx3 = {BUF_BASE + 0x6000, 1526, true};
    vdrv_add(d, VIRTIO_NET_RXQ, &rx3, 1);
    vdrv_kick(d, VIRTIO_NET_RXQ);
    CHECK(!backend_can_receive(&f));            /* link down: deaf */
    before = f.be.ready_calls;
    virtio_net_set_link(f.net, true);
    CHECK(f.be.ready_calls > before);           /* link up: backend told */
    CHECK(backend_can_receive(&f));
    nfx_free(&f);
}

TEST(virtio_net_legacy_header)
{
    struct nfx f;
    CHECK(nfx_init(&f));
    struct vdrv *d = &f.d;
    d->legacy = true;
    uint16_t io = d->iobase;
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 3, 1);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_GUEST_FEATURES, 1u << VIRTIO_NET_F_MAC, 4);
    for (unsigned q = 0; q < 2; q++) {
        uint32_t base = 0x20000 + q * 0x4000;
        memset(d->ram + base, 0, 0x4000);
        iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_SEL, q, 2);
        iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_PFN, base >> 12, 4);
    }
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 7, 1);
    /* Legacy MAC write through config. */
    iomap_write(&d->pio, io + VIRTIO_LEGACY_CONFIG + 5, 0x99, 1);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_CONFIG + 5, 1), 0x99);
    /* RX: 10-byte header. */
    uint8_t *desc = d->ram + 0x20000, *avail = desc + 256 * 16, *used = d->ram + 0x22000;
    put_desc(desc, 0, BUF_BASE, 1526, VIRTQ_DESC_F_WRITE, 0);
    le_st16(avail + 4, 0);
    le_st16(avail + 2, 1);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_NOTIFY, 0, 2);
    uint8_t frame[64];
    memset(frame, 0x5a, sizeof(frame));
    CHECK(backend_can_receive(&f));
    backend_deliver(&f, frame, sizeof(frame));
    CHECK_EQ(le_ld16(used + 2), 1);
    CHECK_EQ(le_ld32(used + 8), 10 + 64);
    CHECK_EQ(d->ram[BUF_BASE + 10], 0x5a);
    nfx_free(&f);
}

static ssize_t fake_fill(void *buf, size_t len)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(0xa0 + i);
    return (ssize_t)len;
}

TEST(virtio_rng_fill)
{
    struct vdrv d;
    vdrv_ram_init(&d);
    struct virtio_rng *r = virtio_rng_create(&d.mem, fake_fill);
    CHECK(vdrv_attach(&d, virtio_rng_dev(r), false));
    CHECK_EQ(vdrv_cfg_rd(&d, 0, 4), 0x10051af4u);
    CHECK(vdrv_modern_init(&d, ~0ULL));
    memset(d.ram + BUF_BASE, 0, 64);
    struct seg s[2] = {{BUF_BASE, 16, true}, {BUF_BASE + 32, 16, true}};
    vdrv_add(&d, 0, s, 2);
    vdrv_kick(&d, 0);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(&d, 0, &id, &len));
    CHECK_EQ(len, 32);
    CHECK_EQ(d.ram[BUF_BASE], 0xa0);
    CHECK_EQ(d.ram[BUF_BASE + 15], 0xaf);
    CHECK_EQ(d.ram[BUF_BASE + 16], 0);
    CHECK_EQ(d.ram[BUF_BASE + 32], 0xb0);
    CHECK_EQ(vdrv_isr(&d), 1);
    vdrv_free(&d);
    virtio_rng_free(r);

    /* The real source: 64 bytes that are not all zero. */
    vdrv_ram_init(&d);
    r = virtio_rng_create(&d.mem, NULL);
    CHECK(vdrv_attach(&d, virtio_rng_dev(r), false));
    CHECK(vdrv_modern_init(&d, ~0ULL));
    memset(d.ram + BUF_BASE, 0, 64);
    struct seg one = {BUF_BASE, 64, true};
    vdrv_add(&d, 0, &one, 1);
    vdrv_kick(&d, 0);
    CHECK(vdrv_get_used(&d, 0, &id, &len));
    CHECK_EQ(len, 64);
    int nz = 0;
    for (int i = 0; i < 64; i++)
        nz += d.ram[BUF_BASE + i] != 0;
    CHECK(nz > 32);
    vdrv_free(&d);
    virtio_rng_free(r);
}

struct cap_chr {
    struct chardev chr;
    uint8_t out[256];
    size_t n;
};

static void cap_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct cap_chr *c = (struct cap_chr *)chr;
    for (size_t i = 0; i < len && c->n < sizeof(c->out); i++)
        c->out[c->n++] = buf[i];
}

TEST(virtio_console_io)
{
    struct vdrv d;
    vdrv_ram_init(&d);
    struct cap_chr cc;
    memset(&cc, 0, sizeof(cc));
    cc.chr.write = cap_write;
    cc.chr.in_fd = -1;
    struct virtio_console *c = virtio_console_create(&cc.chr, &d.mem);
    CHECK(vdrv_attach(&d, virtio_console_dev(c), false));
    CHECK_EQ(vdrv_cfg_rd(&d, 0, 4), 0x10031af4u);
    CHECK_EQ(chardev_feed(&cc.chr, (const uint8_t *)"x", 1), 0);   /* not ready */
    CHECK(vdrv_modern_init(&d, ~0ULL));
    memcpy(d.ram + BUF_BASE, "hello", 5);
    struct seg tx = {BUF_BASE, 5, false};
    vdrv_add(&d, 1, &tx, 1);
    vdrv_kick(&d, 1);
    CHECK_EQ(cc.n, 5);
    CHECK(memcmp(cc.out, "hello", 5) == 0);
    /* Input: limited to the posted buffer's room. */
    struct seg rx = {BUF_BASE + 0x100, 4, true};
    vdrv_add(&d, 0, &rx, 1);
    vdrv_kick(&d, 0);
    CHECK_EQ(chardev_feed(&cc.chr, (const uint8_t *)"abcdef", 6), 4);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(&d, 0, &id, &len));
    CHECK_EQ(len, 4);
    CHECK(memcmp(d.ram + BUF_BASE + 0x100, "abcd", 4) == 0);
    CHECK_EQ(chardev_feed(&cc.chr, (const uint8_t *)"ef", 2), 0);
    vdrv_free(&d);
    virtio_console_free(c);
}

/* virtio-net over the real user-mode network (net/slirp): an ARP request
 * for the gateway goes out through the TX queue, the answer comes back in
 * an RX buffer — the same path as the lab's ssh. */
#include "net/slirp.h"
#include "hw/clock.h"

TEST(virtio_net_over_slirp_arp)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config uc;
    net_user_config_default(&uc);
    char err[256] = "";
    struct net_backend *nb = net_slirp_new(&uc, "n0", &clk, NULL, NULL, NULL, err, sizeof(err));
    CHECK(nb != NULL);
    if (!nb)
        return;
    struct vdrv d;
    vdrv_ram_init(&d);
    uint8_t mac[6];
    virtio_net_default_mac(mac, 0);
    struct virtio_net *n = virtio_net_create(nb, mac, &d.mem);
    CHECK(vdrv_attach(&d, virtio_net_dev(n), false));
    CHECK(vdrv_modern_init(&d, ~0ULL));
    struct seg rx = {BUF_BASE, 1526, true};
    vdrv_add(&d, VIRTIO_NET_RXQ, &rx, 1);
    vdrv_kick(&d, VIRTIO_NET_RXQ);
    /* virtio_net_hdr (12 zero bytes) + ARP who-has 10.0.2.2 tell 10.0.2.15. */
    uint8_t *t = d.ram + BUF_BASE + 0x1000;
    memset(t, 0, 12 + 42);
    uint8_t *e = t + 12;
    memset(e, 0xff, 6);
    memcpy(e + 6, mac, 6);
    e[12] = 0x08; e[13] = 0x06;
    uint8_t *a = e + 14;
    a[1] = 1; a[2] = 0x08; a[4] = 6; a[5] = 4; a[7] = 1;
    memcpy(a + 8, mac, 6);
    a[14] = 10; a[15] = 0; a[16] = 2; a[17] = 15;
    a[24] = 10; a[25] = 0; a[26] = 2; a[27] = 2;
    struct seg tx = {BUF_BASE + 0x1000, 12 + 42, false};
    vdrv_add(&d, VIRTIO_NET_TXQ, &tx, 1);
    vdrv_kick(&d, VIRTIO_NET_TXQ);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(&d, VIRTIO_NET_TXQ, &id, &len));
    CHECK(vdrv_get_used(&d, VIRTIO_NET_RXQ, &id, &len));
    CHECK(len >= 12 + 42);
    const uint8_t *r = d.ram + BUF_BASE + 12;
    CHECK(memcmp(r, mac, 6) == 0);
    CHECK_EQ(r[12], 0x08);
    CHECK_EQ(r[13], 0x06);
    CHECK_EQ(r[14 + 7], 2);                         /* ARP reply */
    CHECK_EQ(r[14 + 14], 10);
    CHECK_EQ(r[14 + 17], 2);                        /* from 10.0.2.2 */
    vdrv_free(&d);
    virtio_net_free(n);
    nb->ops->close(nb);
}

/* Frames the backend answers with while a TX batch runs on the notifying
 * vCPU (slirp's ACKs) are reported to the CPU side with the batch, as a
 * bounded number of ranges that still cover every byte written: one report
 * per segment overflowed the software CPU's invalidation queue, which then
 * dropped all translated code (TCP through slirp ran ~7x slower). */
TEST(virtio_net_dma_reports_batched)
{
    struct nfx f;
    CHECK(nfx_init(&f));
    struct vdrv *d = &f.d;
    f.be.echo = true;
    CHECK(vdrv_modern_init(d, ~0ULL));
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        struct seg rx = {BUF_BASE + 0x2000u * (unsigned)i, 1526, true};
        vdrv_add(d, VIRTIO_NET_RXQ, &rx, 1);
    }
    vdrv_kick(d, VIRTIO_NET_RXQ);
    uint8_t *tx = d->ram + BUF_BASE + 0x60000;
    memset(tx, 0, 12);
    for (int i = 0; i < 64; i++)
        tx[12 + i] = (uint8_t)(i + 1);
    for (int i = 0; i < N; i++) {
        struct seg s = {BUF_BASE + 0x60000, 12 + 64, false};
        vdrv_add(d, VIRTIO_NET_TXQ, &s, 1);
    }
    d->nw = 0;
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK_EQ(f.be.nsent, N);
    CHECK_EQ(virtio_net_get_stats(f.net)->rx_frames, N);
    CHECK(d->nw >= 1 && d->nw <= 24);
    for (int i = 0; i < N; i++) {
        CHECK(vdrv_reported(d, BUF_BASE + 0x2000u * (unsigned)i, 12 + 64));
        CHECK(memcmp(d->ram + BUF_BASE + 0x2000u * (unsigned)i + 12, tx + 12, 64) == 0);
    }
    CHECK(vdrv_reported(d, Q_USED(VIRTIO_NET_RXQ), 4 + 8));
    CHECK(vdrv_reported(d, Q_USED(VIRTIO_NET_TXQ), 4 + 8));
    nfx_free(&f);
}

/* VIRTIO_NET_F_CSUM: the device completes the checksum the driver left
 * (pseudo-header sum seeded, §5.1.6.2); offsets outside the frame leave it
 * untouched and are counted. */
TEST(virtio_net_tx_checksum_offload)
{
    struct nfx f;
    CHECK(nfx_init(&f));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ~0ULL));
    uint8_t *h = d->ram + BUF_BASE;
    memset(h, 0, 12 + 64);
    uint8_t *fr = h + 12;
    for (int i = 0; i < 63; i++)        /* odd length: the last byte is padded */
        fr[i] = (uint8_t)(i * 37 + 1);
    fr[40] = 0x12; fr[41] = 0x34;       /* the seed where the sum goes */
    h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    le_st16(h + 6, 20);                 /* csum_start */
    le_st16(h + 8, 20);                 /* csum_offset: at 40 */
    struct seg s = {BUF_BASE, 12 + 63, false};
    vdrv_add(d, VIRTIO_NET_TXQ, &s, 1);
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK_EQ(f.be.nsent, 1);
    CHECK_EQ(f.be.sent_len[0], 63);
    /* A receiver's check: the pseudo-header sum (the seed) plus the data
     * [20, 63) with the stored checksum is 0xffff. */
    uint32_t sum = 0x1234;
    for (int i = 20; i < 63; i += 2)
        sum += (uint32_t)f.be.sent[0][i] << 8 | (i + 1 < 63 ? f.be.sent[0][i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    CHECK_EQ(sum, 0xffff);
    CHECK(memcmp(f.be.sent[0], fr, 40) == 0);
    CHECK_EQ(virtio_net_get_stats(f.net)->tx_bad_csum, 0);
    /* csum_offset past the end: sent as it is, counted. */
    le_st16(h + 8, 60);
    vdrv_add(d, VIRTIO_NET_TXQ, &s, 1);
    vdrv_kick(d, VIRTIO_NET_TXQ);
    CHECK_EQ(f.be.nsent, 2);
    CHECK(memcmp(f.be.sent[1], fr, 63) == 0);
    CHECK_EQ(virtio_net_get_stats(f.net)->tx_bad_csum, 1);
    nfx_free(&f);
}
