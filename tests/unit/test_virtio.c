/* virtio-pci transport and split virtqueues, driven through the PCI bus
 * with a virtio-blk device on a fake in-memory disk: the handshake, queue
 * setup, read/write/flush/get-id, indirect descriptors, event index, the
 * legacy interface, and hostile rings that must mark the device broken. */
#include "test_virtio_driver.h"
#include "hw/virtio_blk.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define DISK_SECTORS 64

struct fdisk {
    uint8_t data[DISK_SECTORS * 512];
    int flushes, fail;
    int discards, zeroes;
    int hold, entered;          /* I/O thread test: block reads while hold */
};

static int fd_read(void *o, uint64_t off, void *buf, size_t len)
{
    struct fdisk *k = o;
    __atomic_store_n(&k->entered, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&k->hold, __ATOMIC_SEQ_CST))
        usleep(1000);
    if (k->fail || off + len > sizeof(k->data))
        return -EIO;
    memcpy(buf, k->data + off, len);
    return 0;
}

static int fd_write(void *o, uint64_t off, const void *buf, size_t len)
{
    struct fdisk *k = o;
    if (k->fail || off + len > sizeof(k->data))
        return -EIO;
    memcpy(k->data + off, buf, len);
    return 0;
}

static int fd_flush(void *o)
{
    struct fdisk *k = o;
    k->flushes++;
    return k->fail ? -EIO : 0;
}

static int fd_wz(void *o, uint64_t off, uint64_t len)
{
    struct fdisk *k = o;
    if (off + len > sizeof(k->data))
        return -EINVAL;
    memset(k->data + off, 0, len);
    k->zeroes++;
    return 0;
}

static int fd_discard(void *o, uint64_t off, uint64_t len)
{
    struct fdisk *k = o;
    k->discards++;
    return fd_wz(o, off, len);
}

struct bfx {
    struct vdrv d;
    struct fdisk disk;
    struct virtio_blk *blk;
};

static const uint64_t ALL_FEATURES = ~0ULL;

static bool bfx_init(struct bfx *f, bool readonly, bool modern_only)
{
    vdrv_ram_init(&f->d);
    memset(&f->disk, 0, sizeof(f->disk));
    for (unsigned i = 0; i < sizeof(f->disk.data); i++)
        f->disk.data[i] = (uint8_t)(i * 7 + i / 512);
    struct virtio_blk_backend be = {
        .opaque = &f->disk, .size = sizeof(f->disk.data), .readonly = readonly,
        .read = fd_read, .write = fd_write, .flush = fd_flush,
        .discard = fd_discard, .write_zeroes = fd_wz,
    };
    f->blk = virtio_blk_create(&be, "tremu-disk-0123456789", &f->d.mem);
    if (!f->blk)
        return false;
    return vdrv_attach(&f->d, virtio_blk_dev(f->blk), modern_only);
}

static void bfx_free(struct bfx *f)
{
    vdrv_free(&f->d);
    virtio_blk_free(f->blk);
}

/* Builds header at hdr_gpa and status at st_gpa. */
static void blk_hdr(struct bfx *f, uint32_t gpa, uint32_t type, uint64_t sector)
{
    uint8_t *h = f->d.ram + gpa;
    le_st32(h, type);
    le_st32(h + 4, 0);
    le_st64(h + 8, sector);
}

#define HDR  (BUF_BASE)
#define DATA (BUF_BASE + 0x1000)
#define STAT (BUF_BASE + 0x100)

TEST(virtio_pci_identity_and_caps)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK_EQ(d->slot, 4);
    /* Transitional: 1af4:1001 revision 0, subsystem 1af4:0002. */
    CHECK_EQ(vdrv_cfg_rd(d, 0, 4), 0x10011af4u);
    CHECK_EQ(vdrv_cfg_rd(d, 0x08, 1), 0);
    CHECK_EQ(vdrv_cfg_rd(d, 0x2c, 4), 0x00021af4u);
    CHECK_EQ(vdrv_cfg_rd(d, 0x3d, 1), 1);
    CHECK_EQ(vdrv_cfg_rd(d, 0x3c, 1), 11);         /* slot 4 INTA → PIRQD → 11 */
    CHECK(d->iobase >= 0xc000);
    CHECK(d->bar4 >= 0x80000000 && d->bar4 < 0xfec00000);
    CHECK_EQ(vdrv_cfg_rd(d, 0x20, 4) & 0xf, 0x4);  /* 64-bit memory BAR */
    /* Walk the capability list: common, ISR, device, notify, in BAR 4. */
    int seen = 0;
    unsigned mult = 0, pcicfg = 0;
    for (unsigned p = vdrv_cfg_rd(d, 0x34, 1), n = 0; p && n < 16; p = vdrv_cfg_rd(d, p + 1, 1), n++) {
        CHECK_EQ(vdrv_cfg_rd(d, p, 1), 0x09);
        unsigned type = vdrv_cfg_rd(d, p + 3, 1);
        seen |= 1 << type;
        if (type == VIRTIO_PCI_CAP_PCI_CFG) {
            pcicfg = p;
            continue;
        }
        CHECK_EQ(vdrv_cfg_rd(d, p + 4, 1), 4);
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
            mult = vdrv_cfg_rd(d, p + 16, 4);
        if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
            CHECK_EQ(vdrv_cfg_rd(d, p + 8, 4), VIRTIO_PCI_DEVICE_OFF);
    }
    CHECK_EQ(seen, 0x3e);
    CHECK_EQ(mult, VIRTIO_PCI_NOTIFY_MULT);
    /* PCI_CFG window (§4.1.4.9): read the device config's capacity and
     * write the status register through config space. */
    CHECK(pcicfg != 0);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | ((pcicfg + 4) & 0xfc), 4);
    iomap_write(&d->pio, 0xcfc + ((pcicfg + 4) & 3), 4, 1);                    /* bar */
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 8), 4);
    iomap_write(&d->pio, 0xcfc, VIRTIO_PCI_DEVICE_OFF, 4);                     /* offset */
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 12), 4);
    iomap_write(&d->pio, 0xcfc, 4, 4);                                         /* length */
    CHECK_EQ(vdrv_cfg_rd(d, pcicfg + 16, 4), 64);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 8), 4);
    iomap_write(&d->pio, 0xcfc, VIRTIO_PCI_COMMON_STATUS, 4);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 12), 4);
    iomap_write(&d->pio, 0xcfc, 1, 4);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 16), 4);
    iomap_write(&d->pio, 0xcfc, 1, 4);
    CHECK_EQ(vdrv_status(d), VIRTIO_STATUS_ACKNOWLEDGE);
    /* A bad window (offset past the BAR, odd length) reads 0, never crashes. */
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 8), 4);
    iomap_write(&d->pio, 0xcfc, 0xfffffffe, 4);
    CHECK_EQ(vdrv_cfg_rd(d, pcicfg + 16, 4), 0);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 12), 4);
    iomap_write(&d->pio, 0xcfc, 3, 4);
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (pcicfg + 16), 4);
    iomap_write(&d->pio, 0xcfc, 0, 4);
    CHECK_EQ(vdrv_status(d), VIRTIO_STATUS_ACKNOWLEDGE);
    bfx_free(&f);

    /* Modern-only: 1af4:1042, revision 1, no I/O BAR. */
    CHECK(bfx_init(&f, false, true));
    CHECK_EQ(vdrv_cfg_rd(&f.d, 0, 4), 0x10421af4u);
    CHECK_EQ(vdrv_cfg_rd(&f.d, 0x08, 1), 1);
    CHECK_EQ(vdrv_cfg_rd(&f.d, 0x10, 4), 0);
    bfx_free(&f);
}

TEST(virtio_pci_handshake)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    CHECK_EQ(vdrv_status(d), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 1);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 3, 1);
    CHECK_EQ(vdrv_status(d), 3);
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_DF, 4) & 1, 1);   /* VERSION_1 */
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint32_t f0 = (uint32_t)cc_rd(d, VIRTIO_PCI_COMMON_DF, 4);
    CHECK(f0 & (1u << VIRTIO_F_RING_INDIRECT_DESC));
    CHECK(f0 & (1u << VIRTIO_F_RING_EVENT_IDX));
    CHECK(f0 & (1u << VIRTIO_BLK_F_FLUSH));
    CHECK(!(f0 & (1u << VIRTIO_BLK_F_RO)));
    /* Without VERSION_1 the modern interface refuses FEATURES_OK. */
    cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_GF, f0, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    CHECK_EQ(vdrv_status(d) & VIRTIO_STATUS_FEATURES_OK, 0);
    /* Unoffered bits are dropped; VERSION_1 accepted → FEATURES_OK sticks. */
    cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_GF, 0xffffffff, 4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_GF, 4), 1);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    CHECK_EQ(vdrv_status(d), 0x0b);
    /* Features frozen after FEATURES_OK. */
    cc_wr(d, VIRTIO_PCI_COMMON_GF, 0, 4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_GF, 4), 1);
    /* Queue setup. */
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 100, 2);           /* not a power of two */
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 512, 2);           /* above the maximum */
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 0x12345000, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 0x1, 4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x12345000);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4), 1);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 0x2000, 8);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x2000);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    /* Addresses are frozen while the queue is enabled. */
    cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 0x3000, 4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x2000);
    /* A queue that does not exist reads size 0. */
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 5, 2);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
    CHECK_EQ(vdrv_status(d), 0x0f);
    /* A machine reset (bus reset) resets the virtio device too, with the
     * BARs where firmware put them. */
    uint64_t bar4 = d->bar4;
    pci_bus_reset(d->bus);
    CHECK_EQ(vdrv_status(d), 0);
    CHECK_EQ(vdrv_cfg_rd(d, 0x20, 4) & ~0xfu, (uint32_t)bar4);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
    /* Reset forgets everything. */
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    CHECK_EQ(vdrv_status(d), 0);
    cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
    CHECK_EQ(cc_rd(d, VIRTIO_PCI_COMMON_GF, 4), 0);
    /* Device config: capacity in sectors, seg_max, blk_size. */
    CHECK_EQ(devcfg_rd(d, 0, 8), DISK_SECTORS);
    CHECK_EQ(devcfg_rd(d, 0, 4), DISK_SECTORS);
    CHECK_EQ(devcfg_rd(d, 12, 4), 254);
    CHECK_EQ(devcfg_rd(d, 20, 4), 512);
    bfx_free(&f);
}

static void do_req(struct bfx *f, uint32_t type, uint64_t sector, uint32_t datalen, bool data_in)
{
    blk_hdr(f, HDR, type, sector);
    f->d.ram[STAT] = 0xee;
    struct seg s[3] = {{HDR, 16, false}, {DATA, datalen, data_in}, {STAT, 1, true}};
    if (datalen)
        vdrv_add(&f->d, 0, s, 3);
    else {
        s[1] = s[2];
        vdrv_add(&f->d, 0, s, 2);
    }
    vdrv_kick(&f->d, 0);
}

TEST(virtio_blk_rw_flush_getid)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    uint32_t id = 0, len = 0;
    /* Read sectors 2-3. */
    do_req(&f, VIRTIO_BLK_T_IN, 2, 1024, true);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 1025);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, f.disk.data + 1024, 1024) == 0);
    /* INTx raised through the ISR; reading the ISR lowers it. */
    CHECK_EQ(vdrv_irq_line(d), 1);
    CHECK_EQ(vdrv_isr(d), 1);
    CHECK_EQ(vdrv_irq_line(d), 0);
    CHECK_EQ(vdrv_isr(d), 0);
    /* Write sector 5. */
    memset(d->ram + DATA, 0xab, 512);
    do_req(&f, VIRTIO_BLK_T_OUT, 5, 512, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(len, 1);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK_EQ(f.disk.data[5 * 512], 0xab);
    CHECK_EQ(f.disk.data[6 * 512 - 1], 0xab);
    CHECK(f.disk.data[6 * 512] != 0xab);
    /* Flush. */
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK_EQ(f.disk.flushes, 1);
    /* GET_ID: 20 bytes, no terminator. */
    memset(d->ram + DATA, 0, 64);
    do_req(&f, VIRTIO_BLK_T_GET_ID, 0, 20, true);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, "tremu-disk-012345678", 20) == 0);
    /* Past capacity, partial sector, unknown type, backend error. */
    do_req(&f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    do_req(&f, VIRTIO_BLK_T_IN, ~0ULL, 512, true);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    do_req(&f, VIRTIO_BLK_T_OUT, 0, 100, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    do_req(&f, 77, 0, 0, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_UNSUPP);
    f.disk.fail = 1;
    do_req(&f, VIRTIO_BLK_T_IN, 0, 512, true);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    f.disk.fail = 0;
    /* Write zeroes and discard, one segment. */
    uint8_t *seg = d->ram + DATA;
    le_st64(seg, 8);
    le_st32(seg + 8, 2);
    le_st32(seg + 12, 0);
    do_req(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK_EQ(f.disk.zeroes, 1);
    CHECK_EQ(f.disk.data[8 * 512 + 100], 0);
    le_st64(seg, DISK_SECTORS - 1);
    do_req(&f, VIRTIO_BLK_T_DISCARD, 0, 16, false);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    CHECK(!(vdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET));
    bfx_free(&f);
}

TEST(virtio_blk_readonly)
{
    struct bfx f;
    CHECK(bfx_init(&f, true, false));
    struct vdrv *d = &f.d;
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    CHECK(cc_rd(d, VIRTIO_PCI_COMMON_DF, 4) & (1u << VIRTIO_BLK_F_RO));
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    uint8_t before = f.disk.data[0];
    memset(d->ram + DATA, (uint8_t)~before, 512);
    do_req(&f, VIRTIO_BLK_T_OUT, 0, 512, false);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    CHECK_EQ(f.disk.data[0], before);
    bfx_free(&f);
}

TEST(virtio_indirect_and_scatter)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    /* Header, data split over three odd-sized segments, status shares the
     * last segment's page: through an indirect table. */
    blk_hdr(&f, HDR, VIRTIO_BLK_T_IN, 1);
    struct seg s[5] = {{HDR, 16, false}, {DATA, 100, true}, {DATA + 0x1000, 300, true},
                       {DATA + 0x2000, 112, true}, {STAT, 1, true}};
    vdrv_add_indirect(d, 0, s, 5, BUF_BASE + 0x8000);
    vdrv_kick(d, 0);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(len, 513);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, f.disk.data + 512, 100) == 0);
    CHECK(memcmp(d->ram + DATA + 0x1000, f.disk.data + 612, 300) == 0);
    CHECK(memcmp(d->ram + DATA + 0x2000, f.disk.data + 912, 112) == 0);
    /* Every DMA write was reported (a software CPU drops cached code). */
    CHECK(vdrv_reported(d, DATA, 100));
    CHECK(vdrv_reported(d, DATA + 0x1000, 300));
    CHECK(vdrv_reported(d, DATA + 0x2000, 112));
    CHECK(vdrv_reported(d, STAT, 1));
    CHECK(vdrv_reported(d, Q_USED(0), 4 + 8));
    /* Reports are whole pages (what a software CPU's code cache drops), and
     * never pages the device did not write: the page after the data and
     * the indirect table's. */
    CHECK(!vdrv_reported(d, DATA + 0x3000, 1));
    CHECK(!vdrv_reported(d, BUF_BASE + 0x8000, 1));
    bfx_free(&f);
}

TEST(virtio_event_idx_suppression)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    uint8_t *avail = d->ram + Q_AVAIL(0);
    uint8_t *used = d->ram + Q_USED(0);
    uint16_t *used_event_p = NULL;
    (void)used_event_p;
    /* used_event = 1: interrupt only once used idx passes 1 → 2. */
    le_st16(avail + 4 + 2 * 256, 1);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(d, 0), 1);
    /* First interrupt always fires (no previous signal to compare). */
    CHECK_EQ(vdrv_isr(d), 1);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(d, 0), 2);
    CHECK_EQ(vdrv_isr(d), 1);               /* crossed used_event = 1 */
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(d, 0), 3);
    CHECK_EQ(vdrv_isr(d), 0);               /* used_event still 1: suppressed */
    CHECK_EQ(vdrv_irq_line(d), 0);
    le_st16(avail + 4 + 2 * 256, 3);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_isr(d), 1);
    /* avail_event tells the driver the next index we want a kick for. */
    CHECK_EQ(le_ld16(used + 4 + 8 * 256), 4);
    bfx_free(&f);

    /* Without EVENT_IDX: the NO_INTERRUPT flag suppresses. */
    CHECK(bfx_init(&f, false, false));
    d = &f.d;
    CHECK(vdrv_modern_init(d, ~(1ULL << VIRTIO_F_RING_EVENT_IDX)));
    avail = d->ram + Q_AVAIL(0);
    le_st16(avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(d, 0), 1);
    CHECK_EQ(vdrv_isr(d), 0);
    le_st16(avail, 0);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_isr(d), 1);
    bfx_free(&f);
}

TEST(virtio_legacy_interface)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    d->legacy = true;
    uint16_t io = d->iobase;
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 0, 1);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 3, 1);
    uint32_t hf = (uint32_t)iomap_read(&d->pio, io + VIRTIO_LEGACY_HOST_FEATURES, 4);
    CHECK(hf & (1u << VIRTIO_BLK_F_FLUSH));
    iomap_write(&d->pio, io + VIRTIO_LEGACY_GUEST_FEATURES, hf, 4);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_SEL, 0, 2);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_QUEUE_NUM, 2), 256);
    /* Legacy layout: desc at PFN<<12, avail after, used page-aligned. */
    uint32_t base = 0x20000;
    memset(d->ram + base, 0, 0x3000);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_PFN, base >> 12, 4);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_QUEUE_PFN, 4), base >> 12);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 7, 1);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_CONFIG, 4), DISK_SECTORS);
    uint8_t *desc = d->ram + base, *avail = desc + 256 * 16, *used = d->ram + base + 0x2000;
    blk_hdr(&f, HDR, VIRTIO_BLK_T_IN, 3);
    put_desc(desc, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(desc, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    put_desc(desc, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    le_st16(avail + 4, 0);
    le_st16(avail + 2, 1);
    iomap_write(&d->pio, io + VIRTIO_LEGACY_QUEUE_NOTIFY, 0, 2);
    CHECK_EQ(le_ld16(used + 2), 1);
    CHECK_EQ(le_ld32(used + 8), 513);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, f.disk.data + 3 * 512, 512) == 0);
    CHECK_EQ(vdrv_irq_line(d), 1);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_ISR, 1), 1);
    CHECK_EQ(vdrv_irq_line(d), 0);
    /* Legacy reset through status 0. */
    iomap_write(&d->pio, io + VIRTIO_LEGACY_STATUS, 0, 1);
    CHECK_EQ(iomap_read(&d->pio, io + VIRTIO_LEGACY_QUEUE_PFN, 4), 0);
    bfx_free(&f);
}

/* ---- hostile rings: each ends with NEEDS_RESET, a config interrupt, and
 * nothing touched outside the fake RAM (guard pages would fault). ---- */

static void expect_broken(struct bfx *f)
{
    CHECK(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(vdrv_isr(&f->d) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
    /* Broken devices ignore further kicks until reset. */
    uint16_t u = vdrv_used_idx(&f->d, 0);
    do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(&f->d, 0), u);
    /* A reset brings it back. */
    CHECK(vdrv_modern_init(&f->d, ALL_FEATURES));
    CHECK_EQ(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET, 0);
    do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(&f->d, 0), 1);
}

enum hostile { H_LOOP, H_OUT_OF_RAM, H_WRAP, H_ZERO_LEN, H_IND_BADLEN, H_IND_NESTED, H_IND_OUT,
               H_AVAIL_JUMP, H_HEAD_RANGE, H_NEXT_RANGE, H_READ_AFTER_WRITE, H_NO_STATUS,
               H_IND_NEXT, H_RINGS_OUT, H_IND_HUGE, H_COUNT };

TEST(virtio_hostile_rings)
{
    for (int h = 0; h < H_COUNT; h++) {
        struct bfx f;
        CHECK(bfx_init(&f, false, false));
        struct vdrv *d = &f.d;
        CHECK(vdrv_modern_init(d, ALL_FEATURES));
        uint8_t *t = d->ram + Q_DESC(0);
        uint8_t *avail = d->ram + Q_AVAIL(0);
        blk_hdr(&f, HDR, VIRTIO_BLK_T_IN, 0);
        uint8_t *it = d->ram + BUF_BASE + 0x8000;
        switch (h) {
        case H_LOOP:            /* 0 → 1 → 0 → ... */
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 0);
            break;
        case H_OUT_OF_RAM:
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, FRAM_SIZE - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
            put_desc(t, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
            break;
        case H_WRAP:            /* address + length wraps around 2^64 */
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, ~0ULL - 100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
            put_desc(t, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
            break;
        case H_ZERO_LEN:
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, DATA, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
            put_desc(t, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
            break;
        case H_IND_BADLEN:      /* not a multiple of 16 */
            put_desc(t, 0, BUF_BASE + 0x8000, 40, VIRTQ_DESC_F_INDIRECT, 0);
            break;
        case H_IND_NESTED:
            put_desc(it, 0, BUF_BASE + 0x9000, 32, VIRTQ_DESC_F_INDIRECT, 0);
            put_desc(t, 0, BUF_BASE + 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
            break;
        case H_IND_OUT:         /* table runs off the end of RAM */
            put_desc(t, 0, FRAM_SIZE - 32, 64, VIRTQ_DESC_F_INDIRECT, 0);
            break;
        case H_AVAIL_JUMP:
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
            le_st16(avail + 2, 300);                /* queue size is 256 */
            vdrv_kick(d, 0);
            goto check;
        case H_HEAD_RANGE:
            le_st16(avail + 4, 256);
            le_st16(avail + 2, 1);
            vdrv_kick(d, 0);
            goto check;
        case H_NEXT_RANGE:
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 999);
            break;
        case H_READ_AFTER_WRITE:
            put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, STAT, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
            put_desc(t, 2, DATA, 16, 0, 0);
            break;
        case H_NO_STATUS:       /* only a header: no byte to write a status to */
            put_desc(t, 0, HDR, 16, 0, 0);
            break;
        case H_IND_NEXT:        /* INDIRECT and NEXT together */
            put_desc(it, 0, HDR, 16, 0, 0);
            put_desc(t, 0, BUF_BASE + 0x8000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
            put_desc(t, 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
            break;
        case H_RINGS_OUT:       /* rings programmed outside RAM */
            cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
            cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 3, 1);
            cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
            cc_wr(d, VIRTIO_PCI_COMMON_GF, 1, 4);
            cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
            cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
            cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 0xfffff000, 4);
            cc_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, Q_AVAIL(0), 4);
            cc_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, FRAM_SIZE - 8, 4);
            cc_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
            cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
            le_st16(avail + 2, 1);
            vdrv_kick(d, 0);
            goto check;
        case H_IND_HUGE:        /* a table longer than any chain may be */
            put_desc(t, 0, 0, 16 * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
            break;
        }
        vdrv_publish(d, 0, 0);
        vdrv_kick(d, 0);
    check:
        if (!(vdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET))
            test_failf(__FILE__, __LINE__, "hostile case %d not caught", h);
        CHECK_EQ(vdrv_used_idx(d, 0), 0);
        expect_broken(&f);
        bfx_free(&f);
    }
}

/* A chain exactly as long as the queue is fine; one longer is a loop. */
TEST(virtio_chain_length_limit)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    static struct seg s[256];
    blk_hdr(&f, HDR, VIRTIO_BLK_T_IN, 0);
    s[0] = (struct seg){HDR, 16, false};
    for (int i = 1; i < 255; i++)
        s[i] = (struct seg){DATA + 512u * (i - 1), 512, true};
    s[255] = (struct seg){STAT, 1, true};
    /* 254 * 512 bytes is past the 64-sector disk: IOERR, but a valid chain. */
    vdrv_add(d, 0, s, 256);
    vdrv_kick(d, 0);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_IOERR);
    CHECK_EQ(vdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET, 0);
    bfx_free(&f);
}

/* The adapter the board uses: virtio-blk over block/ on a raw image file. */
#include "hw/pc_pci.h"
#include <stdio.h>
#include <unistd.h>

TEST(virtio_blk_over_block_layer)
{
    char path[] = "/tmp/tremu-vblk-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint8_t img[64 * 512];
    for (unsigned i = 0; i < sizeof(img); i++)
        img[i] = (uint8_t)(i * 13 + 1);
    CHECK_EQ(write(fd, img, sizeof(img)), (long)sizeof(img));
    close(fd);
    struct block_opts o = {.format = BLOCK_FMT_RAW};
    char err[256];
    struct block_dev *bd = block_open(path, &o, err, sizeof(err));
    CHECK(bd != NULL);
    if (!bd) {
        unlink(path);
        return;
    }
    struct bfx f;
    vdrv_ram_init(&f.d);
    struct virtio_blk_backend be;
    pc_pci_disk_from_block(&be, bd, false);
    CHECK_EQ(be.size, sizeof(img));
    f.blk = virtio_blk_create(&be, "raw0", &f.d.mem);
    CHECK(vdrv_attach(&f.d, virtio_blk_dev(f.blk), false));
    CHECK(vdrv_modern_init(&f.d, ALL_FEATURES));
    uint32_t id = 0, len = 0;
    do_req(&f, VIRTIO_BLK_T_IN, 3, 1024, true);
    CHECK(vdrv_get_used(&f.d, 0, &id, &len));
    CHECK_EQ(f.d.ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(f.d.ram + DATA, img + 3 * 512, 1024) == 0);
    memset(f.d.ram + DATA, 0x77, 512);
    do_req(&f, VIRTIO_BLK_T_OUT, 10, 512, false);
    CHECK(vdrv_get_used(&f.d, 0, &id, &len));
    CHECK_EQ(f.d.ram[STAT], VIRTIO_BLK_S_OK);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK(vdrv_get_used(&f.d, 0, &id, &len));
    CHECK_EQ(f.d.ram[STAT], VIRTIO_BLK_S_OK);
    do_req(&f, VIRTIO_BLK_T_IN, 63, 1024, true);       /* past the end */
    CHECK(vdrv_get_used(&f.d, 0, &id, &len));
    CHECK_EQ(f.d.ram[STAT], VIRTIO_BLK_S_IOERR);
    bfx_free(&f);
    block_close(bd);
    FILE *fp = fopen(path, "rb");
    uint8_t back[512];
    CHECK(fp && fseek(fp, 10 * 512, SEEK_SET) == 0 && fread(back, 1, 512, fp) == 512);
    if (fp)
        fclose(fp);
    CHECK_EQ(back[0], 0x77);
    CHECK_EQ(back[511], 0x77);
    unlink(path);
}

/* A read scattered over many pages reaches the CPU side as a few merged
 * ranges: reported one segment at a time, a 1 MiB read (256 pages)
 * overflowed the software CPU's invalidation queue, which then dropped all
 * translated code on every request. */
TEST(virtio_blk_dma_reports_merged)
{
    struct bfx f;
    CHECK(bfx_init(&f, false, false));
    struct vdrv *d = &f.d;
    CHECK(vdrv_modern_init(d, ALL_FEATURES));
    enum { N = 60, AREA = 0x10000 };
    struct seg s[N + 2];
    /* One contiguous buffer in 512-byte segments: one range. */
    blk_hdr(&f, HDR, VIRTIO_BLK_T_IN, 0);
    s[0] = (struct seg){HDR, 16, false};
    for (int i = 0; i < N; i++)
        s[1 + i] = (struct seg){BUF_BASE + AREA + 512u * (unsigned)i, 512, true};
    s[N + 1] = (struct seg){STAT, 1, true};
    d->nw = 0;
    vdrv_add(d, 0, s, N + 2);
    vdrv_kick(d, 0);
    uint32_t id = 0, len = 0;
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(len, N * 512 + 1);
    CHECK(memcmp(d->ram + BUF_BASE + AREA, f.disk.data, N * 512) == 0);
    CHECK(vdrv_reported(d, BUF_BASE + AREA, N * 512));
    CHECK(vdrv_reported(d, STAT, 1));
    CHECK(vdrv_reported(d, Q_USED(0), 4 + 8));
    CHECK(d->nw <= 3);
    /* Every other page: 60 runs, still a bounded number of reports that
     * cover every byte written. */
    for (int i = 0; i < N; i++)
        s[1 + i] = (struct seg){BUF_BASE + AREA + 0x2000u * (unsigned)i, 512, true};
    d->nw = 0;
    vdrv_add(d, 0, s, N + 2);
    vdrv_kick(d, 0);
    CHECK(vdrv_get_used(d, 0, &id, &len));
    CHECK_EQ(len, N * 512 + 1);
    CHECK(d->nw >= 1 && d->nw <= 24);
    for (int i = 0; i < N; i++) {
        CHECK(vdrv_reported(d, BUF_BASE + AREA + 0x2000u * (unsigned)i, 512));
        CHECK(memcmp(d->ram + BUF_BASE + AREA + 0x2000u * (unsigned)i, f.disk.data + 512 * i, 512) == 0);
    }
    CHECK(vdrv_reported(d, Q_USED(0), 4 + 8));
    bfx_free(&f);
}

/* ---- the optional I/O thread ---- */

static pthread_mutex_t devlock = PTHREAD_MUTEX_INITIALIZER;
static void dl(void *o) { pthread_mutex_lock(o); }
static void du(void *o) { pthread_mutex_unlock(o); }

static uint16_t locked_used_idx(struct vdrv *d)
{
    pthread_mutex_lock(&devlock);
    uint16_t v = vdrv_used_idx(d, 0);
    pthread_mutex_unlock(&devlock);
    return v;
}

static bool wait_used(struct vdrv *d, uint16_t want)
{
    for (int i = 0; i < 20000; i++) {       /* 20 s: a loaded host is slow */
        if (locked_used_idx(d) == want)
            return true;
        usleep(1000);
    }
    return false;
}

/* With the device lock held: a 512-byte read of sector that the I/O thread
 * takes and then finds the disk stuck on (until disk.hold is cleared).
 * Returns with the lock released, once the thread is inside the disk. */
static bool read_on_held_disk(struct bfx *f, uint64_t sector)
{
    __atomic_store_n(&f->disk.entered, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&f->disk.hold, 1, __ATOMIC_SEQ_CST);
    do_req(f, VIRTIO_BLK_T_IN, sector, 512, true);
    pthread_mutex_unlock(&devlock);
    for (int i = 0; i < 20000 && !__atomic_load_n(&f->disk.entered, __ATOMIC_SEQ_CST); i++)
        usleep(1000);
    return __atomic_load_n(&f->disk.entered, __ATOMIC_SEQ_CST);
}

/* A disk on its I/O thread, driver set up; returns with the device lock held. */
static bool bfx_init_iothread(struct bfx *f)
{
    if (!bfx_init(f, false, false) || virtio_blk_start_iothread(f->blk, dl, du, &devlock) != 0)
        return false;
    pthread_mutex_lock(&devlock);
    return vdrv_modern_init(&f->d, ALL_FEATURES);
}

TEST(virtio_blk_iothread)
{
    struct bfx f;
    CHECK(bfx_init_iothread(&f));
    struct vdrv *d = &f.d;
    /* The disk is stuck: the kick still returns at once (no vCPU wait). */
    __atomic_store_n(&f.disk.hold, 1, __ATOMIC_SEQ_CST);
    do_req(&f, VIRTIO_BLK_T_IN, 2, 1024, true);
    CHECK_EQ(vdrv_used_idx(d, 0), 0);
    pthread_mutex_unlock(&devlock);
    __atomic_store_n(&f.disk.hold, 0, __ATOMIC_SEQ_CST);
    CHECK(wait_used(d, 1));
    pthread_mutex_lock(&devlock);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, f.disk.data + 1024, 1024) == 0);
    CHECK(vdrv_reported(d, DATA, 1024));
    CHECK_EQ(vdrv_isr(d), 1);
    /* Several requests in one kick. */
    memset(d->ram + DATA, 0x5c, 512);
    blk_hdr(&f, HDR, VIRTIO_BLK_T_OUT, 7);
    struct seg w[3] = {{HDR, 16, false}, {DATA, 512, false}, {STAT, 1, true}};
    vdrv_add(d, 0, w, 3);
    blk_hdr(&f, HDR + 0x20, VIRTIO_BLK_T_FLUSH, 0);
    struct seg fl[2] = {{HDR + 0x20, 16, false}, {STAT + 1, 1, true}};
    vdrv_add(d, 0, fl, 2);
    vdrv_kick(d, 0);
    pthread_mutex_unlock(&devlock);
    CHECK(wait_used(d, 3));
    CHECK_EQ(f.disk.data[7 * 512], 0x5c);
    CHECK_EQ(f.disk.flushes, 1);
    /* A reset while a request is on the disk: its completion is stale and
     * must not land in the new queue. */
    pthread_mutex_lock(&devlock);
    CHECK(read_on_held_disk(&f, 0));
    pthread_mutex_lock(&devlock);
    CHECK(vdrv_modern_init(d, ALL_FEATURES));      /* reset + fresh rings */
    pthread_mutex_unlock(&devlock);
    __atomic_store_n(&f.disk.hold, 0, __ATOMIC_SEQ_CST);
    usleep(50000);
    CHECK_EQ(locked_used_idx(d), 0);
    /* And the new queue works. */
    pthread_mutex_lock(&devlock);
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    pthread_mutex_unlock(&devlock);
    CHECK(wait_used(d, 1));
    bfx_free(&f);
}

static void *release_hold(void *o)
{
    usleep(50000);
    __atomic_store_n((int *)o, 0, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Machine exit while a request is on the disk: stopping the I/O thread
 * waits for it, and its completion is still pushed (nothing half done when
 * the image is closed next). */
TEST(virtio_blk_iothread_stop_drains)
{
    struct bfx f;
    CHECK(bfx_init_iothread(&f));
    struct vdrv *d = &f.d;
    CHECK(read_on_held_disk(&f, 4));
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, release_hold, &f.disk.hold), 0);
    virtio_blk_stop_iothread(f.blk);
    pthread_join(t, NULL);
    CHECK_EQ(vdrv_used_idx(d, 0), 1);
    CHECK_EQ(d->ram[STAT], VIRTIO_BLK_S_OK);
    CHECK(memcmp(d->ram + DATA, f.disk.data + 4 * 512, 512) == 0);
    CHECK(vdrv_reported(d, DATA, 512));
    /* Requests run inline again afterwards. */
    do_req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    CHECK_EQ(vdrv_used_idx(d, 0), 2);
    bfx_free(&f);
}
