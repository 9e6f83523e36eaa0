/* Shared by the virtio harnesses: 64 KiB of guest RAM the fuzzer fills, and
 * a driver that sets every queue of a device up from the input (size and
 * ring addresses chosen by the input, anywhere in RAM, overlaps included),
 * completes the handshake and kicks every queue, so the device's own
 * descriptor walk runs over hostile rings (virtio 1.2 §2.7). */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_H
#define TESTS_FUZZ_FUZZ_VIRTIO_H

#include "hw/virtio.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FZ_RAM (64u * 1024)
static uint8_t fz_ram[FZ_RAM];

static uint8_t *fz_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    if (gpa >= FZ_RAM || len > FZ_RAM - gpa)
        return NULL;
    return fz_ram + gpa;
}

static const struct guest_mem fz_mem = { .ptr = fz_ptr };

struct fz_in { const uint8_t *p; size_t n; };

static inline unsigned fz_u8(struct fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}
static inline unsigned fz_u16(struct fz_in *in) { return fz_u8(in) | fz_u8(in) << 8; }

/* Queues from the input, RAM from the rest of it; then DRIVER_OK. */
static inline void fz_setup(struct virtio_dev *vd, struct fz_in *in)
{
    vd->guest_features = vd->host_features & ((uint64_t)fz_u16(in) << 16 | 0xffff |
                                               1ULL << VIRTIO_F_VERSION_1);
    for (int q = 0; q < vd->nqueues; q++) {
        struct virtq *vq = &vd->vq[q];
        if (!vq->num_max)
            continue;
        unsigned num = 1u << (fz_u8(in) % 11);
        vq->num = num > vq->num_max ? vq->num_max : num;
        vq->desc = fz_u16(in) & ~15u;
        vq->avail = fz_u16(in) & ~1u;
        vq->used = fz_u16(in) & ~3u;
        vq->ready = true;
    }
    memset(fz_ram, 0, sizeof(fz_ram));
    for (size_t i = 0; in->n && i < FZ_RAM; i++)
        fz_ram[i] = (uint8_t)fz_u8(in);
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static inline void fz_kick_all(struct virtio_dev *vd)
{
    for (int round = 0; round < 2; round++)
        for (int q = 0; q < vd->nqueues; q++)
            if (vd->vq[q].num_max)
                virtio_queue_notify(vd, (unsigned)q);
}

#endif
