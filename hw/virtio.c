/* virtio core: status, features, split virtqueues (virtio 1.2 §2.7).
 * Ring layout (§2.7.2): descriptor table of 16-byte entries; available ring
 * {le16 flags, le16 idx, le16 ring[num], le16 used_event}; used ring
 * {le16 flags, le16 idx, {le32 id, le32 len} ring[num], le16 avail_event}. */
#include "hw/virtio.h"
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ring indexes are written by other vCPUs while we read them: single
 * aligned loads/stores, with fences where §2.7.7/§2.7.13 order them. */
static uint16_t ring_ld16(const uint8_t *p)
{
    uint16_t v;
    if (((uintptr_t)p & 1) == 0)
        v = __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
    else
        memcpy(&v, p, 2);
    return le16toh(v);
}

static void ring_st16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    if (((uintptr_t)p & 1) == 0)
        __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
    else
        memcpy(p, &v, 2);
}

static void ring_st32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void dma_written(struct virtio_dev *vd, uint64_t gpa, uint64_t len)
{
    if (!vd->mem.written || len == 0)
        return;
    if (!vd->dma_defer) {
        vd->mem.written(vd->mem.opaque, gpa, len);
        return;
    }
    dma_log_add(vd->dma_log, gpa, len);
}

int virtio_dma_defer(struct virtio_dev *vd)
{
    if (!vd->dma_log) {
        vd->dma_log = calloc(1, sizeof(*vd->dma_log));
        if (!vd->dma_log)
            return -1;
    }
    vd->dma_defer = true;
    return 0;
}

void virtio_dma_flush(struct virtio_dev *vd, unsigned max_ranges)
{
    if (vd->dma_defer && vd->dma_log && vd->mem.written)
        dma_log_flush(vd->dma_log, max_ranges, vd->mem.written, vd->mem.opaque);
}

void virtio_dma_free(struct virtio_dev *vd)
{
    free(vd->dma_log);
    vd->dma_log = NULL;
    vd->dma_defer = false;
}

static uint8_t *gmem(struct virtio_dev *vd, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa)
        return NULL;
    return vd->mem.ptr(vd->mem.opaque, gpa, len);
}

void virtio_init(struct virtio_dev *vd, const char *name, uint16_t device_id, uint64_t features,
                 uint8_t *config, uint32_t config_len, const struct guest_mem *mem,
                 const struct virtio_dev_ops *ops, void *opaque)
{
    memset(vd, 0, sizeof(*vd));
    vd->name = name;
    vd->device_id = device_id;
    vd->host_features = features | (1ULL << VIRTIO_F_VERSION_1);
    vd->config = config;
    vd->config_len = config_len;
    vd->mem = *mem;
    vd->ops = ops;
    vd->opaque = opaque;
}

int virtio_add_queue(struct virtio_dev *vd, uint16_t num_max,
                     void (*handle)(struct virtio_dev *, struct virtq *))
{
    if (vd->nqueues >= VIRTIO_MAX_QUEUES || num_max == 0 || num_max > VIRTQ_MAX_SIZE ||
        (num_max & (num_max - 1)))
        return -1;
    struct virtq *vq = &vd->vq[vd->nqueues];
    memset(vq, 0, sizeof(*vq));
    vq->num_max = num_max;
    vq->num = num_max;
    vq->vector = 0xffff;
    vq->handle = handle;
    return vd->nqueues++;
}

static void virtio_raise(struct virtio_dev *vd, uint8_t bits)
{
    vd->isr |= bits;
    if (vd->update_irq)
        vd->update_irq(vd);
}

void virtio_reset(struct virtio_dev *vd)
{
    vd->status = 0;
    vd->isr = 0;
    vd->guest_features = 0;
    vd->device_features_sel = vd->driver_features_sel = 0;
    vd->broken = false;
    vd->queue_sel = 0;
    for (int i = 0; i < vd->nqueues; i++) {
        struct virtq *vq = &vd->vq[i];
        vq->num = vq->num_max;
        vq->ready = false;
        vq->desc = vq->avail = vq->used = 0;
        vq->last_avail = vq->used_idx = 0;
        vq->signalled_used = 0;
        vq->signalled_used_valid = false;
        vq->vector = 0xffff;
    }
    if (vd->ops && vd->ops->reset)
        vd->ops->reset(vd);
    if (vd->update_irq)
        vd->update_irq(vd);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
    if (status == 0) {
        virtio_reset(vd);
        return;
    }
    uint8_t old = vd->status;
    /* §2.2.2: FEATURES_OK only sticks when the device accepts the subset
     * the driver wrote; the driver re-reads status to find out. */
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        (vd->guest_features & ~vd->host_features))
        status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    /* NEEDS_RESET is the device's to set; only a reset clears it. */
    status &= (uint8_t)~VIRTIO_STATUS_NEEDS_RESET;
    status |= old & VIRTIO_STATUS_NEEDS_RESET;
    vd->status = status;
    if (vd->ops && vd->ops->status_changed && old != status)
        vd->ops->status_changed(vd, old);
}

void virtio_write_driver_features(struct virtio_dev *vd, unsigned sel, uint32_t val)
{
    if (vd->status & VIRTIO_STATUS_FEATURES_OK || sel > 1)
        return;
    uint64_t mask = 0xffffffffULL << (32 * sel);
    uint64_t v = (uint64_t)val << (32 * sel);
    /* Bits the device did not offer cannot be accepted. */
    vd->guest_features = (vd->guest_features & ~mask) | (v & vd->host_features);
}

uint8_t virtio_isr_read(struct virtio_dev *vd)
{
    uint8_t v = vd->isr;
    vd->isr = 0;
    if (vd->update_irq)
        vd->update_irq(vd);
    return v;
}

void virtio_mark_broken(struct virtio_dev *vd, const char *why)
{
    if (!vd->broken && vd->broken_reports < 8) {
        vd->broken_reports++;
        fprintf(stderr, "tremu: %s: guest driver error, device needs reset: %s%s\n", vd->name, why,
                vd->broken_reports == 8 ? " (further errors not reported)" : "");
    }
    vd->broken = true;
    vd->status |= VIRTIO_STATUS_NEEDS_RESET;
    /* §2.1.2: a device that sets NEEDS_RESET after DRIVER_OK sends a
     * configuration change notification. */
    if (vd->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_raise(vd, VIRTIO_ISR_CONFIG);
}

void virtio_config_changed(struct virtio_dev *vd)
{
    vd->config_generation++;
    if (vd->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_raise(vd, VIRTIO_ISR_CONFIG);
}

bool virtq_ready(const struct virtio_dev *vd, const struct virtq *vq)
{
    return !vd->broken && vq->ready && vq->num != 0;
}

void virtio_queue_notify(struct virtio_dev *vd, unsigned q)
{
    if (q >= (unsigned)vd->nqueues)
        return;
    struct virtq *vq = &vd->vq[q];
    if (!virtq_ready(vd, vq) || !vq->handle)
        return;
    vq->handle(vd, vq);
}

/* ---- split ring ---- */

static uint8_t *avail_ring(struct virtio_dev *vd, struct virtq *vq)
{
    return gmem(vd, vq->avail, 6 + 2ULL * vq->num);
}

static uint8_t *used_ring(struct virtio_dev *vd, struct virtq *vq)
{
    return gmem(vd, vq->used, 6 + 8ULL * vq->num);
}

/* §2.7.10: with EVENT_IDX, avail_event tells the driver which avail index
 * should make it notify us; we always want the next one. */
static void set_avail_event(struct virtio_dev *vd, struct virtq *vq, uint8_t *used)
{
    if (virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX))
        ring_st16(used + 4 + 8 * (size_t)vq->num, vq->last_avail);
}

bool virtq_has_avail(struct virtio_dev *vd, struct virtq *vq)
{
    if (!virtq_ready(vd, vq))
        return false;
    uint8_t *avail = avail_ring(vd, vq);
    return avail && ring_ld16(avail + 2) != vq->last_avail;
}

static int broken(struct virtio_dev *vd, const char *why)
{
    virtio_mark_broken(vd, why);
    return -1;
}

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static void read_desc(const uint8_t *table, unsigned i, struct vdesc *d)
{
    const uint8_t *p = table + 16 * (size_t)i;
    uint64_t a; uint32_t l; uint16_t f, n;
    memcpy(&a, p, 8);
    memcpy(&l, p + 8, 4);
    memcpy(&f, p + 12, 2);
    memcpy(&n, p + 14, 2);
    d->addr = le64toh(a);
    d->len = le32toh(l);
    d->flags = le16toh(f);
    d->next = le16toh(n);
}

int virtq_pop(struct virtio_dev *vd, struct virtq *vq, struct virtq_elem *e)
{
    if (vd->broken)
        return -1;
    if (!virtq_ready(vd, vq))
        return 0;
    uint8_t *avail = avail_ring(vd, vq);
    uint8_t *used = used_ring(vd, vq);
    uint8_t *table = gmem(vd, vq->desc, 16ULL * vq->num);
    if (!avail || !used || !table)
        return broken(vd, "virtqueue rings outside guest RAM");
    uint16_t avail_idx = ring_ld16(avail + 2);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0) {
        /* Ask for a notification, then look again: the driver may have
         * added a buffer before it saw avail_event (§2.7.10 race). */
        set_avail_event(vd, vq, used);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        avail_idx = ring_ld16(avail + 2);
        pending = (uint16_t)(avail_idx - vq->last_avail);
        if (pending == 0)
            return 0;
    }
    if (pending > vq->num)
        return broken(vd, "avail index moved by more than the queue size");
    /* Read the ring entry only after seeing the index (§2.7.13.3). */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint16_t head = ring_ld16(avail + 4 + 2 * (size_t)(vq->last_avail % vq->num));
    if (head >= vq->num)
        return broken(vd, "avail ring entry is not a descriptor index");

    e->head = head;
    e->n_out = e->n_in = 0;
    e->out_len = e->in_len = 0;
    const uint8_t *t = table;
    unsigned max = vq->num, count = 0, i = head, nseg = 0;
    bool indirect = false;
    for (;;) {
        struct vdesc d;
        /* A chain longer than its table must revisit a descriptor: a loop. */
        if (count++ >= max)
            return broken(vd, "descriptor chain longer than its table (loop)");
        read_desc(t, i, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC))
                return broken(vd, "indirect descriptor without RING_INDIRECT_DESC");
            if (indirect)
                return broken(vd, "indirect descriptor inside an indirect table");
            if (d.flags & VIRTQ_DESC_F_NEXT)        /* §2.7.5.3.1 */
                return broken(vd, "indirect descriptor with NEXT");
            if (count != 1)
                return broken(vd, "indirect descriptor not at the head of the chain");
            if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE)
                return broken(vd, "indirect table has a bad length");
            t = gmem(vd, d.addr, d.len);
            if (!t)
                return broken(vd, "indirect table outside guest RAM");
            indirect = true;
            max = d.len / 16;
            count = 0;
            i = 0;
            continue;
        }
        if (d.len == 0)
            return broken(vd, "zero-length buffer");
        uint8_t *p = gmem(vd, d.addr, d.len);
        if (!p)
            return broken(vd, "buffer outside guest RAM");
        if (nseg >= VIRTQ_MAX_SIZE)
            return broken(vd, "descriptor chain too long");
        if (d.flags & VIRTQ_DESC_F_WRITE) {
            e->n_in++;
            e->in_len += d.len;
        } else {
            /* §2.7.4.2: device-readable buffers come before writable ones. */
            if (e->n_in)
                return broken(vd, "readable buffer after a writable one");
            e->n_out++;
            e->out_len += d.len;
        }
        e->iov[nseg].base = p;
        e->iov[nseg].gpa = d.addr;
        e->iov[nseg].len = d.len;
        nseg++;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        i = d.next;
        if (i >= max)
            return broken(vd, "next descriptor index out of the table");
    }
    vq->last_avail++;
    set_avail_event(vd, vq, used);
    return 1;
}

void virtq_unpop(struct virtq *vq)
{
    vq->last_avail--;
}

void virtq_push(struct virtio_dev *vd, struct virtq *vq, const struct virtq_elem *e, uint32_t len)
{
    if (vd->broken || !vq->ready)
        return;
    uint8_t *used = used_ring(vd, vq);
    if (!used) {
        virtio_mark_broken(vd, "used ring outside guest RAM");
        return;
    }
    uint8_t *ent = used + 4 + 8 * (size_t)(vq->used_idx % vq->num);
    ring_st32(ent, e->head);
    ring_st32(ent + 4, len);
    /* The entry must be visible before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used_idx++;
    ring_st16(used + 2, vq->used_idx);
    dma_written(vd, vq->used, 6 + 8ULL * vq->num);
}

/* §2.7.10: interrupt only when used_idx crossed the driver's used_event. */
static bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void virtq_notify(struct virtio_dev *vd, struct virtq *vq)
{
    if (vd->broken || !vq->ready)
        return;
    uint8_t *avail = avail_ring(vd, vq);
    if (!avail) {
        virtio_mark_broken(vd, "avail ring outside guest RAM");
        return;
    }
    /* Our used-idx store must be visible before we read the driver's
     * suppression state (§2.7.13.3, the device side of the barrier). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool need;
    if (virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX)) {
        uint16_t event = ring_ld16(avail + 4 + 2 * (size_t)vq->num);
        uint16_t old = vq->signalled_used;
        bool valid = vq->signalled_used_valid;
        vq->signalled_used = vq->used_idx;
        vq->signalled_used_valid = true;
        need = !valid || vring_need_event(event, vq->used_idx, old);
    } else {
        need = !(ring_ld16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (need)
        virtio_raise(vd, VIRTIO_ISR_QUEUE);
}

size_t virtq_elem_read(const struct virtq_elem *e, uint64_t skip, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < e->n_out && done < len; i++) {
        uint64_t l = e->iov[i].len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = (size_t)(l - skip);
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)buf + done, e->iov[i].base + skip, n);
        done += n;
        skip = 0;
    }
    return done;
}

size_t virtq_elem_write(struct virtio_dev *vd, const struct virtq_elem *e, uint64_t skip,
                        const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = e->n_out; i < e->n_out + e->n_in && done < len; i++) {
        uint64_t l = e->iov[i].len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = (size_t)(l - skip);
        if (n > len - done)
            n = len - done;
        memcpy(e->iov[i].base + skip, (const uint8_t *)buf + done, n);
        dma_written(vd, e->iov[i].gpa + skip, n);
        done += n;
        skip = 0;
    }
    return done;
}
