/* A tiny virtio-pci driver for the unit tests: fake guest RAM surrounded by
 * PROT_NONE guard pages (any access outside it kills the test run), a PCI
 * bus on fake I/O maps, and helpers that build split virtqueues the way a
 * guest driver would. Shared by the tests/unit/test_virtio*.c files. */
#ifndef TESTS_UNIT_TEST_VIRTIO_DRIVER_H
#define TESTS_UNIT_TEST_VIRTIO_DRIVER_H

#include "test.h"
#include "hw/pci.h"
#include "hw/virtio.h"
#include "hw/virtio_pci.h"
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAM_SIZE (1u << 20)
#define GUARD (64u * 1024)

/* Queue q's rings live at fixed places; buffers from 0x40000 up. */
#define Q_DESC(q)  (0x1000u + (q) * 0x8000u)
#define Q_AVAIL(q) (Q_DESC(q) + 0x4000u)
#define Q_USED(q)  (Q_DESC(q) + 0x5000u)
#define BUF_BASE   0x40000u

struct vdrv {
    uint8_t *map, *ram;         /* map: guard + ram + guard */
    struct guest_mem mem;
    struct iomap pio, mmio;
    struct irq isa[16];
    int level[16];
    struct pci_bus *bus;
    struct virtio_pci *vp;
    struct virtio_dev *vd;
    int slot;
    uint64_t bar4;
    uint16_t iobase;
    uint16_t qnum[VIRTIO_MAX_QUEUES];
    uint16_t next_desc[VIRTIO_MAX_QUEUES];
    uint16_t avail_idx[VIRTIO_MAX_QUEUES];
    uint16_t used_seen[VIRTIO_MAX_QUEUES];
    bool legacy;
    /* DMA writes the device reported through guest_mem.written. */
    struct { uint64_t gpa, len; } wlog[64];
    int nw;
};

static uint8_t *fram_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
    struct vdrv *d = opaque;
    if (gpa >= FRAM_SIZE || len > FRAM_SIZE - gpa)
        return NULL;
    return d->ram + gpa;
}

static void fram_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct vdrv *d = opaque;
    if (d->nw < 64) {
        d->wlog[d->nw].gpa = gpa;
        d->wlog[d->nw].len = len;
    }
    d->nw++;
}

/* Whether every byte of [gpa, gpa+len) was reported written. */
static inline bool vdrv_reported(const struct vdrv *d, uint64_t gpa, uint64_t len)
{
    for (uint64_t a = gpa; a < gpa + len; a++) {
        bool hit = false;
        for (int i = 0; i < d->nw && i < 64 && !hit; i++)
            hit = a >= d->wlog[i].gpa && a - d->wlog[i].gpa < d->wlog[i].len;
        if (!hit)
            return false;
    }
    return true;
}

static void vdrv_probe(void *opaque, int n, int level)
{
    struct vdrv *d = opaque;
    d->level[n] = level;
}

static inline void vdrv_ram_init(struct vdrv *d)
{
    memset(d, 0, sizeof(*d));
    d->map = mmap(NULL, FRAM_SIZE + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    d->ram = d->map + GUARD;
    mprotect(d->ram, FRAM_SIZE, PROT_READ | PROT_WRITE);
    d->mem.ptr = fram_ptr;
    d->mem.opaque = d;
    d->mem.written = fram_written;
    iomap_init(&d->pio, "pio", NULL);
    iomap_init(&d->mmio, "mmio", NULL);
    for (int i = 0; i < 16; i++)
        irq_init(&d->isa[i], vdrv_probe, d, i);
    d->bus = pci_bus_create(&d->pio, &d->mmio, d->isa, 0x80000000, 0xfec00000);
}

static inline uint32_t vdrv_cfg_rd(struct vdrv *d, int reg, unsigned size)
{
    iomap_write(&d->pio, 0xcf8, 0x80000000u | (uint32_t)d->slot << 11 | (reg & 0xfc), 4);
    return (uint32_t)iomap_read(&d->pio, 0xcfc + (reg & 3), size);
}

/* Attach vd (already created with the fake RAM) as a PCI function. */
static inline bool vdrv_attach(struct vdrv *d, struct virtio_dev *vd, bool modern_only)
{
    d->vd = vd;
    d->vp = virtio_pci_create(d->bus, vd, -1, modern_only);
    if (!d->vp)
        return false;
    d->slot = d->vp->pci.devfn >> 3;
    d->bar4 = (vdrv_cfg_rd(d, 0x20, 4) & ~0xfu) | (uint64_t)vdrv_cfg_rd(d, 0x24, 4) << 32;
    d->iobase = (uint16_t)(vdrv_cfg_rd(d, 0x10, 4) & ~3u);
    return true;
}

static inline void vdrv_free(struct vdrv *d)
{
    virtio_pci_free(d->vp);
    pci_bus_free(d->bus);
    iomap_destroy(&d->pio);
    iomap_destroy(&d->mmio);
    munmap(d->map, FRAM_SIZE + 2 * GUARD);
}

static inline uint64_t cc_rd(struct vdrv *d, unsigned off, unsigned size)
{
    return iomap_read(&d->mmio, d->bar4 + VIRTIO_PCI_COMMON_OFF + off, size);
}
static inline void cc_wr(struct vdrv *d, unsigned off, uint64_t v, unsigned size)
{
    iomap_write(&d->mmio, d->bar4 + VIRTIO_PCI_COMMON_OFF + off, v, size);
}
static inline uint8_t vdrv_status(struct vdrv *d)
{
    return d->legacy ? (uint8_t)iomap_read(&d->pio, d->iobase + VIRTIO_LEGACY_STATUS, 1)
                     : (uint8_t)cc_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}
static inline uint8_t vdrv_isr(struct vdrv *d)
{
    return d->legacy ? (uint8_t)iomap_read(&d->pio, d->iobase + VIRTIO_LEGACY_ISR, 1)
                     : (uint8_t)iomap_read(&d->mmio, d->bar4 + VIRTIO_PCI_ISR_OFF, 1);
}
static inline uint64_t devcfg_rd(struct vdrv *d, unsigned off, unsigned size)
{
    return d->legacy ? iomap_read(&d->pio, d->iobase + VIRTIO_LEGACY_CONFIG + off, size)
                     : iomap_read(&d->mmio, d->bar4 + VIRTIO_PCI_DEVICE_OFF + off, size);
}

/* The modern handshake of §3.1.1; returns the status read back after
 * FEATURES_OK (0 if the device refused). want: features to accept. */
static inline bool vdrv_modern_init(struct vdrv *d, uint64_t want)
{
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint64_t f = cc_rd(d, VIRTIO_PCI_COMMON_DF, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    f |= cc_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
    f &= want;
    cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    cc_wr(d, VIRTIO_PCI_COMMON_GF, (uint32_t)(f >> 32), 4);
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    if (!(cc_rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
        return false;
    uint16_t nq = (uint16_t)cc_rd(d, VIRTIO_PCI_COMMON_NUMQ, 2);
    for (uint16_t q = 0; q < nq && q < VIRTIO_MAX_QUEUES; q++) {
        cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
        uint16_t num = (uint16_t)cc_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
        if (num > 256) {
            num = 256;
            cc_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, num, 2);
        }
        d->qnum[q] = num;
        memset(d->ram + Q_DESC(q), 0, 0x8000);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, Q_DESC(q), 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, Q_AVAIL(q), 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, Q_USED(q), 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
        cc_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
        d->next_desc[q] = d->avail_idx[q] = d->used_seen[q] = 0;
    }
    cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
    return true;
}

struct seg {
    uint32_t gpa, len;
    bool write;
};

static inline void put_desc(uint8_t *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                            uint16_t next)
{
    le_st64(t + 16 * i, addr);
    le_st32(t + 16 * i + 8, len);
    le_st16(t + 16 * i + 12, flags);
    le_st16(t + 16 * i + 14, next);
}

static inline void vdrv_publish(struct vdrv *d, unsigned q, uint16_t head)
{
    uint8_t *avail = d->ram + Q_AVAIL(q);
    le_st16(avail + 4 + 2 * (d->avail_idx[q] % d->qnum[q]), head);
    d->avail_idx[q]++;
    le_st16(avail + 2, d->avail_idx[q]);
}

/* A direct chain; returns its head. */
static inline uint16_t vdrv_add(struct vdrv *d, unsigned q, const struct seg *s, int n)
{
    uint8_t *t = d->ram + Q_DESC(q);
    uint16_t head = d->next_desc[q];
    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % d->qnum[q]);
        uint16_t nx = (uint16_t)((head + i + 1) % d->qnum[q]);
        put_desc(t, idx, s[i].gpa, s[i].len,
                 (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)), nx);
    }
    d->next_desc[q] = (uint16_t)((head + n) % d->qnum[q]);
    vdrv_publish(d, q, head);
    return head;
}

/* An indirect chain: table at table_gpa. */
static inline uint16_t vdrv_add_indirect(struct vdrv *d, unsigned q, const struct seg *s, int n,
                                         uint32_t table_gpa)
{
    uint8_t *it = d->ram + table_gpa;
    for (int i = 0; i < n; i++)
        put_desc(it, (unsigned)i, s[i].gpa, s[i].len,
                 (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                 (uint16_t)(i + 1));
    uint16_t head = d->next_desc[q];
    put_desc(d->ram + Q_DESC(q), head, table_gpa, 16u * (uint32_t)n, VIRTQ_DESC_F_INDIRECT, 0);
    d->next_desc[q] = (uint16_t)((head + 1) % d->qnum[q]);
    vdrv_publish(d, q, head);
    return head;
}

static inline void vdrv_kick(struct vdrv *d, unsigned q)
{
    if (d->legacy)
        iomap_write(&d->pio, d->iobase + VIRTIO_LEGACY_QUEUE_NOTIFY, q, 2);
    else
        iomap_write(&d->mmio, d->bar4 + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, q, 2);
}

static inline uint16_t vdrv_used_idx(struct vdrv *d, unsigned q)
{
    return le_ld16(d->ram + Q_USED(q) + 2);
}

/* The next used entry (id, len); false when none is new. */
static inline bool vdrv_get_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len)
{
    if (vdrv_used_idx(d, q) == d->used_seen[q])
        return false;
    uint8_t *e = d->ram + Q_USED(q) + 4 + 8 * (d->used_seen[q] % d->qnum[q]);
    *id = le_ld32(e);
    *len = le_ld32(e + 4);
    d->used_seen[q]++;
    return true;
}

static inline int vdrv_irq_line(struct vdrv *d)
{
    return d->level[pci_device_isa_irq(&d->vp->pci)];
}

#endif
