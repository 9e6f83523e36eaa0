/* virtio PCI transport, modern (§4.1.4) and legacy (§4.1.4.8) interfaces. */
#include "hw/virtio_pci.h"
#include <stdlib.h>
#include <string.h>

static void vp_update_irq(struct virtio_dev *vd)
{
    struct virtio_pci *vp = vd->transport;
    pci_set_irq(&vp->pci, vd->isr != 0);
}

static struct virtq *selected_queue(struct virtio_dev *vd)
{
    if (vd->queue_sel >= vd->nqueues)
        return NULL;
    return &vd->vq[vd->queue_sel];
}

/* ---- device-specific config, shared by both interfaces ---- */

static uint64_t device_cfg_read(struct virtio_dev *vd, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = off + i < vd->config_len ? vd->config[off + i] : 0;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void device_cfg_write(struct virtio_dev *vd, uint64_t off, uint64_t val, unsigned size)
{
    if (off + size > vd->config_len || !vd->ops || !vd->ops->config_write)
        return;
    vd->ops->config_write(vd, (uint32_t)off, val, size);
}

/* ---- modern: common configuration ---- */

static void common_image(struct virtio_dev *vd, uint8_t *c)
{
    struct virtq *vq = selected_queue(vd);
    memset(c, 0, VIRTIO_PCI_COMMON_SIZE);
    le_st32(c + VIRTIO_PCI_COMMON_DFSELECT, vd->device_features_sel);
    if (vd->device_features_sel < 2)
        le_st32(c + VIRTIO_PCI_COMMON_DF, (uint32_t)(vd->host_features >> (32 * vd->device_features_sel)));
    le_st32(c + VIRTIO_PCI_COMMON_GFSELECT, vd->driver_features_sel);
    if (vd->driver_features_sel < 2)
        le_st32(c + VIRTIO_PCI_COMMON_GF, (uint32_t)(vd->guest_features >> (32 * vd->driver_features_sel)));
    le_st16(c + VIRTIO_PCI_COMMON_MSIX, 0xffff);       /* no MSI-X: NO_VECTOR */
    le_st16(c + VIRTIO_PCI_COMMON_NUMQ, (uint16_t)vd->nqueues);
    c[VIRTIO_PCI_COMMON_STATUS] = vd->status;
    c[VIRTIO_PCI_COMMON_CFGGENERATION] = vd->config_generation;
    le_st16(c + VIRTIO_PCI_COMMON_Q_SELECT, vd->queue_sel);
    if (vq) {
        le_st16(c + VIRTIO_PCI_COMMON_Q_SIZE, vq->num);
        le_st16(c + VIRTIO_PCI_COMMON_Q_MSIX, 0xffff);
        le_st16(c + VIRTIO_PCI_COMMON_Q_ENABLE, vq->ready);
        le_st16(c + VIRTIO_PCI_COMMON_Q_NOFF, vd->queue_sel);
        le_st64(c + VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc);
        le_st64(c + VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail);
        le_st64(c + VIRTIO_PCI_COMMON_Q_USEDLO, vq->used);
    }
}

static uint64_t common_read(struct virtio_dev *vd, uint64_t off, unsigned size)
{
    uint8_t c[VIRTIO_PCI_COMMON_SIZE];
    if (off + size > VIRTIO_PCI_COMMON_SIZE)
        return 0;
    common_image(vd, c);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)c[off + i] << (8 * i);
    return v;
}

/* Writes one 32-bit half (or all 64 bits) of a queue address register,
 * only while the queue is disabled (§4.1.4.3.2). */
static void set_addr_part(struct virtq *vq, uint64_t *reg, uint64_t off_in_field, uint64_t val,
                          unsigned size)
{
    if (vq->ready)
        return;
    if (size == 8 && off_in_field == 0)
        *reg = val;
    else if (size == 4 && off_in_field == 0)
        *reg = (*reg & 0xffffffff00000000ULL) | (uint32_t)val;
    else if (size == 4 && off_in_field == 4)
        *reg = (*reg & 0xffffffffULL) | (val << 32);
}

static void common_write(struct virtio_dev *vd, uint64_t off, uint64_t val, unsigned size)
{
    struct virtq *vq = selected_queue(vd);
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        if (size == 4) vd->device_features_sel = (uint32_t)val;
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        if (size == 4) vd->driver_features_sel = (uint32_t)val;
        return;
    case VIRTIO_PCI_COMMON_GF:
        if (size == 4) virtio_write_driver_features(vd, vd->driver_features_sel, (uint32_t)val);
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        if (size == 1) {
            /* A modern driver must accept VERSION_1 (§6.1): without it the
             * FEATURES_OK handshake fails rather than a half-legacy device. */
            uint8_t st = (uint8_t)val;
            if ((st & VIRTIO_STATUS_FEATURES_OK) && !virtio_has_feature(vd, VIRTIO_F_VERSION_1))
                st &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
            virtio_set_status(vd, st);
        }
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        if (size == 2) vd->queue_sel = (uint16_t)val;
        return;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        /* Split rings index modulo 2^16, so sizes are powers of two. */
        if (size == 2 && vq && !vq->ready && val && val <= vq->num_max && !(val & (val - 1)))
            vq->num = (uint16_t)val;
        return;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        if (size == 2 && vq) vq->vector = (uint16_t)val;
        return;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        /* §4.1.4.3.2: the driver never writes 0; disabling is a reset. */
        if (size == 2 && vq && val == 1 && vq->num)
            vq->ready = true;
        return;
    case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_DESCHI:
        if (vq) set_addr_part(vq, &vq->desc, off - VIRTIO_PCI_COMMON_Q_DESCLO, val, size);
        return;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_AVAILHI:
        if (vq) set_addr_part(vq, &vq->avail, off - VIRTIO_PCI_COMMON_Q_AVAILLO, val, size);
        return;
    case VIRTIO_PCI_COMMON_Q_USEDLO: case VIRTIO_PCI_COMMON_Q_USEDHI:
        if (vq) set_addr_part(vq, &vq->used, off - VIRTIO_PCI_COMMON_Q_USEDLO, val, size);
        return;
    default:
        return;     /* read-only fields, MSI-X config vector, misaligned */
    }
}

static uint64_t bar4_read(void *opaque, uint64_t addr, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;
    if (addr < VIRTIO_PCI_ISR_OFF)
        return common_read(vd, addr, size);
    if (addr < VIRTIO_PCI_DEVICE_OFF)
        return addr == VIRTIO_PCI_ISR_OFF ? virtio_isr_read(vd) : 0;
    if (addr < VIRTIO_PCI_NOTIFY_OFF)
        return device_cfg_read(vd, addr - VIRTIO_PCI_DEVICE_OFF, size);
    return 0;
}

static void bar4_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;
    if (addr < VIRTIO_PCI_ISR_OFF)
        common_write(vd, addr, val, size);
    else if (addr < VIRTIO_PCI_DEVICE_OFF)
        return;                                 /* ISR is read-only */
    else if (addr < VIRTIO_PCI_NOTIFY_OFF)
        device_cfg_write(vd, addr - VIRTIO_PCI_DEVICE_OFF, val, size);
    else {
        /* queue_notify_off = queue index, so the address names the queue. */
        uint64_t o = addr - VIRTIO_PCI_NOTIFY_OFF;
        if (o % VIRTIO_PCI_NOTIFY_MULT == 0)
            virtio_queue_notify(vd, (unsigned)(o / VIRTIO_PCI_NOTIFY_MULT));
    }
}

/* ---- legacy I/O BAR ---- */

static uint64_t legacy_read(void *opaque, uint64_t addr, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;
    struct virtq *vq = selected_queue(vd);
    if (addr >= VIRTIO_LEGACY_CONFIG)
        return device_cfg_read(vd, addr - VIRTIO_LEGACY_CONFIG, size);
    switch (addr) {
    case VIRTIO_LEGACY_HOST_FEATURES:
        /* The legacy interface shows the low 32 bits only (no VERSION_1). */
        return (uint32_t)vd->host_features;
    case VIRTIO_LEGACY_GUEST_FEATURES:
        return (uint32_t)vd->guest_features;
    case VIRTIO_LEGACY_QUEUE_PFN:
        return vq && vq->ready ? (uint32_t)(vq->desc >> 12) : 0;
    case VIRTIO_LEGACY_QUEUE_NUM:
        return vq ? vq->num_max : 0;
    case VIRTIO_LEGACY_QUEUE_SEL:
        return vd->queue_sel;
    case VIRTIO_LEGACY_STATUS:
        return vd->status;
    case VIRTIO_LEGACY_ISR:
        return virtio_isr_read(vd);
    default:
        return 0;
    }
}

static void legacy_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;
    struct virtq *vq = selected_queue(vd);
    if (addr >= VIRTIO_LEGACY_CONFIG) {
        device_cfg_write(vd, addr - VIRTIO_LEGACY_CONFIG, val, size);
        return;
    }
    switch (addr) {
    case VIRTIO_LEGACY_GUEST_FEATURES:
        if (size == 4)
            virtio_write_driver_features(vd, 0, (uint32_t)val);
        return;
    case VIRTIO_LEGACY_QUEUE_PFN:
        if (size != 4 || !vq)
            return;
        if (val == 0) {         /* the legacy driver's way to drop a queue */
            vq->ready = false;
            vq->desc = vq->avail = vq->used = 0;
            vq->last_avail = vq->used_idx = 0;
            vq->signalled_used_valid = false;
            return;
        }
        /* §4.1.4.8 / 2.7.2 legacy layout: one contiguous area, 4096-aligned,
         * used ring on the next 4096 boundary after the avail ring. */
        vq->num = vq->num_max;
        vq->desc = (uint64_t)(uint32_t)val << 12;
        vq->avail = vq->desc + 16ULL * vq->num;
        vq->used = (vq->avail + 6 + 2ULL * vq->num + 4095) & ~4095ULL;
        vq->ready = true;
        return;
    case VIRTIO_LEGACY_QUEUE_SEL:
        if (size == 2)
            vd->queue_sel = (uint16_t)val;
        return;
    case VIRTIO_LEGACY_QUEUE_NOTIFY:
        if (size == 2)
            virtio_queue_notify(vd, (unsigned)val);
        return;
    case VIRTIO_LEGACY_STATUS:
        if (size == 1)
            virtio_set_status(vd, (uint8_t)val);
        return;
    default:
        return;
    }
}

/* ---- creation ---- */

/* ---- VIRTIO_PCI_CAP_PCI_CFG (§4.1.4.9): BAR access through config space,
 * for firmware that cannot map the BAR. cap.bar/offset/length select the
 * target; reading or writing pci_cfg_data performs the access. ---- */

static bool pci_cfg_target(struct virtio_pci *vp, uint8_t *bar, uint32_t *off, unsigned *len)
{
    const uint8_t *c = &vp->pci.config[vp->pci_cfg_cap];
    *bar = c[4];
    *off = le_ld32(c + 8);
    *len = le_ld32(c + 12);
    if (*len != 1 && *len != 2 && *len != 4)
        return false;
    if (*off % *len)
        return false;
    if (*bar == 4)
        return *off <= VIRTIO_PCI_BAR4_SIZE - *len;
    if (*bar == 0 && vp->legacy)
        return *off <= vp->pci.bar[0].size - *len;
    return false;
}

static void vp_config_read(struct pci_device *d, uint32_t off, unsigned size)
{
    struct virtio_pci *vp = d->opaque;
    uint32_t data = vp->pci_cfg_cap + 16u;
    if (!vp->pci_cfg_cap || off >= data + 4 || off + size <= data)
        return;
    uint8_t bar; uint32_t o; unsigned len;
    uint64_t v = 0;
    if (pci_cfg_target(vp, &bar, &o, &len))
        v = bar == 4 ? bar4_read(vp, o, len) : legacy_read(vp, o, len);
    le_st32(&d->config[data], (uint32_t)v);
}

static void vp_config_write(struct pci_device *d, uint32_t off, uint32_t val, unsigned size)
{
    struct virtio_pci *vp = d->opaque;
    uint32_t data = vp->pci_cfg_cap + 16u;
    if (!vp->pci_cfg_cap || off >= data + 4 || off + size <= data)
        return;
    uint8_t bar; uint32_t o; unsigned len;
    if (pci_cfg_target(vp, &bar, &o, &len)) {
        uint32_t v = le_ld32(&d->config[data]);
        if (len < 4)
            v &= (1u << (8 * len)) - 1;
        if (bar == 4)
            bar4_write(vp, o, v, len);
        else
            legacy_write(vp, o, v, len);
    }
}

static void vp_reset(struct pci_device *d)
{
    struct virtio_pci *vp = d->opaque;
    virtio_reset(vp->vd);
}

static uint8_t add_vcap(struct pci_device *d, uint8_t type, uint8_t len, uint8_t bar,
                        uint32_t offset, uint32_t length)
{
    uint8_t off = pci_device_add_cap(d, 0x09 /* vendor specific */, len);
    if (!off)
        return 0;
    d->config[off + 2] = len;
    d->config[off + 3] = type;
    d->config[off + 4] = bar;
    le_st32(&d->config[off + 8], offset);
    le_st32(&d->config[off + 12], length);
    return off;
}

static uint16_t transitional_id(uint16_t type)
{
    switch (type) {
    case VIRTIO_ID_NET:     return 0x1000;
    case VIRTIO_ID_BLOCK:   return 0x1001;
    case VIRTIO_ID_CONSOLE: return 0x1003;
    case VIRTIO_ID_RNG:     return 0x1005;
    case 9 /* 9P */:        return 0x1009;
    default:                return 0;
    }
}

static uint32_t class_of(uint16_t type)
{
    switch (type) {
    case VIRTIO_ID_NET:     return 0x020000;    /* Ethernet controller */
    case VIRTIO_ID_BLOCK:   return 0x010000;    /* SCSI storage controller, as QEMU */
    case VIRTIO_ID_CONSOLE: return 0x078000;    /* communication controller */
    case 9 /* 9P */:        return 0x018000;    /* mass storage, other */
    default:                return 0x00ff00;
    }
}

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

struct virtio_pci *virtio_pci_create(struct pci_bus *bus, struct virtio_dev *vd, int slot,
                                     bool modern_only)
{
    uint16_t tid = transitional_id(vd->device_id);
    bool legacy = !modern_only && tid != 0;
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return NULL;
    vp->vd = vd;
    vp->legacy = legacy;
    struct pci_device *d = &vp->pci;
    /* §4.1.2: transitional devices have revision 0 and the type in the
     * subsystem ID; modern-only ones 0x1040+type and revision >= 1. */
    pci_device_init(d, vd->name, VIRTIO_PCI_VENDOR,
                    legacy ? tid : (uint16_t)(0x1040 + vd->device_id), legacy ? 0 : 1,
                    class_of(vd->device_id), VIRTIO_PCI_VENDOR,
                    legacy ? vd->device_id : 0x1100 /* QEMU's for modern */, 1);
    d->opaque = vp;
    d->reset = vp_reset;
    if (legacy &&
        pci_device_set_bar(d, 0, PCI_BAR_IO, pow2_at_least(VIRTIO_LEGACY_CONFIG + vd->config_len),
                           legacy_read, legacy_write, vp) < 0)
        goto fail;
    if (pci_device_set_bar(d, 4, PCI_BAR_MEM64, VIRTIO_PCI_BAR4_SIZE, bar4_read, bar4_write, vp) < 0)
        goto fail;
    if (!add_vcap(d, VIRTIO_PCI_CAP_COMMON_CFG, 16, 4, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE) ||
        !add_vcap(d, VIRTIO_PCI_CAP_ISR_CFG, 16, 4, VIRTIO_PCI_ISR_OFF, 1))
        goto fail;
    if (vd->config_len &&
        !add_vcap(d, VIRTIO_PCI_CAP_DEVICE_CFG, 16, 4, VIRTIO_PCI_DEVICE_OFF, vd->config_len))
        goto fail;
    uint8_t n = add_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, 20, 4, VIRTIO_PCI_NOTIFY_OFF,
                         VIRTIO_PCI_NOTIFY_MULT * (uint32_t)(vd->nqueues ? vd->nqueues : 1));
    if (!n)
        goto fail;
    le_st32(&d->config[n + 16], VIRTIO_PCI_NOTIFY_MULT);
    uint8_t pc = add_vcap(d, VIRTIO_PCI_CAP_PCI_CFG, 20, 0, 0, 0);
    if (!pc)
        goto fail;
    /* bar, offset, length and the data window are the driver's to write. */
    d->wmask[pc + 4] = 0xff;
    memset(&d->wmask[pc + 8], 0xff, 12);
    vp->pci_cfg_cap = pc;
    d->config_read = vp_config_read;
    d->config_write = vp_config_write;
    vd->transport = vp;
    vd->update_irq = vp_update_irq;
    if (pci_device_register(bus, d, slot, 0) < 0)
        goto fail;
    return vp;
fail:
    vd->transport = NULL;
    vd->update_irq = NULL;
    free(vp);
    return NULL;
}

void virtio_pci_free(struct virtio_pci *vp)
{
    if (!vp)
        return;
    pci_device_unregister(&vp->pci);
    vp->vd->transport = NULL;
    vp->vd->update_irq = NULL;
    free(vp);
}
