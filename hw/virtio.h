/* virtio core, independent of the transport: device status and feature
 * negotiation, split virtqueues (virtio 1.2 §2.7) with indirect descriptors
 * and event-index notification suppression, and the ISR.
 *
 * Everything the guest puts in a queue is hostile: descriptor indexes,
 * chain lengths, addresses, lengths and ring indexes are checked; a bad
 * one marks the device broken (DEVICE_NEEDS_RESET, config interrupt) and
 * nothing outside guest RAM is ever touched. */
#ifndef HW_VIRTIO_H
#define HW_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/dma_log.h"

/* Guest RAM as devices see it: a host pointer to [gpa, gpa+len), or NULL
 * when that range is not entirely RAM (MMIO, hole, past the end, wraps). */
struct guest_mem {
    uint8_t *(*ptr)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
    /* Optional: the device wrote [gpa, gpa+len) behind the CPU's back (DMA).
     * A software CPU that caches decoded code per page must drop it, e.g. a
     * disk read that loads a module over old code. */
    void (*written)(void *opaque, uint64_t gpa, uint64_t len);
};

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* Reserved feature bits (§6). */
#define VIRTIO_F_NOTIFY_ON_EMPTY   24
#define VIRTIO_F_ANY_LAYOUT        27
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX    29
#define VIRTIO_F_VERSION_1         32

/* Device types (§5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

#define VIRTQ_MAX_SIZE  1024     /* largest queue we offer; chains are at most this long */
#define VIRTIO_MAX_QUEUES 16    /* virtio-serial: 2 control + 2 per port */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

struct virtio_dev;

struct virtq {
    uint16_t num_max;       /* offered; 0: queue does not exist */
    uint16_t num;           /* chosen by the driver */
    bool ready;
    uint64_t desc, avail, used;     /* guest-physical ring addresses */
    uint16_t last_avail;    /* next avail entry the device consumes */
    uint16_t used_idx;      /* device's copy of used->idx */
    uint16_t signalled_used;        /* used idx at the last interrupt (event idx) */
    bool signalled_used_valid;
    uint16_t vector;        /* MSI-X vector as written (no MSI-X: unused) */
    void (*handle)(struct virtio_dev *vd, struct virtq *vq);
};

/* One buffer taken from the avail ring: the device-readable segments
 * first (out), then the device-writable ones (in), as host pointers that
 * were checked to lie in guest RAM. */
struct virtq_iov {
    uint8_t *base;
    uint64_t gpa;
    uint32_t len;
};

struct virtq_elem {
    uint16_t head;
    unsigned n_out, n_in;
    uint64_t out_len, in_len;       /* total bytes */
    struct virtq_iov iov[VIRTQ_MAX_SIZE];   /* out then in */
};

struct virtio_dev_ops {
    void (*reset)(struct virtio_dev *vd);
    /* Device config space writes (offset inside the device config). */
    void (*config_write)(struct virtio_dev *vd, uint32_t off, uint64_t val, unsigned size);
    /* Status changed (e.g. DRIVER_OK: a NIC may now take frames). */
    void (*status_changed)(struct virtio_dev *vd, uint8_t old_status);
};

struct virtio_dev {
    uint16_t device_id;             /* VIRTIO_ID_* */
    const char *name;
    uint64_t host_features;
    uint64_t guest_features;
    uint32_t device_features_sel, driver_features_sel;
    uint8_t status;
    uint8_t isr;
    uint8_t config_generation;
    bool broken;
    unsigned broken_reports;        /* messages printed (a looping guest is not a log flood) */
    uint16_t queue_sel;
    int nqueues;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    uint8_t *config;                /* device-specific config, little-endian */
    uint32_t config_len;
    struct guest_mem mem;
    const struct virtio_dev_ops *ops;
    void *opaque;                   /* the device model */
    /* The transport: the ISR changed (raise/lower INTx). */
    void (*update_irq)(struct virtio_dev *vd);
    void *transport;
    /* Set by a device that batches its DMA reports (virtio_dma_defer): the
     * writes go to dma_log until virtio_dma_flush. */
    bool dma_defer;
    struct dma_log *dma_log;
};

void virtio_init(struct virtio_dev *vd, const char *name, uint16_t device_id, uint64_t features,
                 uint8_t *config, uint32_t config_len, const struct guest_mem *mem,
                 const struct virtio_dev_ops *ops, void *opaque);
/* Adds a queue with num_max entries (power of two, <= VIRTQ_MAX_SIZE). */
int virtio_add_queue(struct virtio_dev *vd, uint16_t num_max,
                     void (*handle)(struct virtio_dev *, struct virtq *));
/* Device reset (status 0 written, or bus reset): queues forgotten. */
void virtio_reset(struct virtio_dev *vd);
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
    return (vd->guest_features >> bit) & 1;
}
/* Driver wrote a feature word (sel: 0 low, 1 high). Ignored once
 * FEATURES_OK is set (§3.1.1: features are fixed from then on). */
void virtio_write_driver_features(struct virtio_dev *vd, unsigned sel, uint32_t val);
/* The guest notified queue q. */
void virtio_queue_notify(struct virtio_dev *vd, unsigned q);
/* ISR read: returns and clears it, lowering the interrupt (§4.1.4.5). */
uint8_t virtio_isr_read(struct virtio_dev *vd);

/* Queue processing for devices. pop: 1 an element, 0 the ring is empty,
 * -1 the device was marked broken. */
int virtq_pop(struct virtio_dev *vd, struct virtq *vq, struct virtq_elem *e);
/* Gives the last popped element back to the avail ring (the device could
 * not use it now, e.g. an RX buffer too small for the frame). */
void virtq_unpop(struct virtq *vq);
/* Returns the element to the driver with len bytes written. */
void virtq_push(struct virtio_dev *vd, struct virtq *vq, const struct virtq_elem *e, uint32_t len);
/* Interrupt for the used ring unless suppressed (flags or used_event). */
void virtq_notify(struct virtio_dev *vd, struct virtq *vq);
bool virtq_ready(const struct virtio_dev *vd, const struct virtq *vq);
/* Whether the avail ring has entries (for can_receive-style checks). */
bool virtq_has_avail(struct virtio_dev *vd, struct virtq *vq);
/* The device found the guest's driver at fault: NEEDS_RESET + config irq. */
void virtio_mark_broken(struct virtio_dev *vd, const char *why);
/* Config space changed by the device: generation bump + config interrupt. */
void virtio_config_changed(struct virtio_dev *vd);

/* DMA reports (guest_mem.written) of this device are collected from now on
 * (hw/dma_log.h) and handed over merged by virtio_dma_flush. 0, or -1 (no memory). */
int virtio_dma_defer(struct virtio_dev *vd);
/* Reports what was collected as at most max_ranges ranges (pages between
 * ranges may be merged in: reporting more than was written is safe). */
void virtio_dma_flush(struct virtio_dev *vd, unsigned max_ranges);
/* Releases what virtio_dma_defer took (the device's destroy calls it). */
void virtio_dma_free(struct virtio_dev *vd);

/* Scatter-gather copies over an element's segments: from the out
 * segments, skipping `skip` bytes; into the in segments. Return bytes copied. */
size_t virtq_elem_read(const struct virtq_elem *e, uint64_t skip, void *buf, size_t len);
size_t virtq_elem_write(struct virtio_dev *vd, const struct virtq_elem *e, uint64_t skip,
                        const void *buf, size_t len);

#endif
