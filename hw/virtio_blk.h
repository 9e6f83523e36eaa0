/* virtio-blk (virtio 1.2 §5.2): one request queue; IN, OUT, FLUSH, GET_ID,
 * DISCARD and WRITE_ZEROES (when the backend can), read-only disks.
 * The disk is reached through a small ops table so the device does not
 * depend on block/ (pc_pci.c adapts a struct block_dev to it). */
#ifndef HW_VIRTIO_BLK_H
#define HW_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/virtio.h"

struct virtio_blk_backend {
    void *opaque;
    uint64_t size;          /* bytes; capacity is size / 512 sectors */
    bool readonly;
    /* Byte offsets/lengths, multiples of 512. 0 or -errno. */
    int (*read)(void *opaque, uint64_t off, void *buf, size_t len);
    int (*write)(void *opaque, uint64_t off, const void *buf, size_t len);
    int (*flush)(void *opaque);
    int (*discard)(void *opaque, uint64_t off, uint64_t len);        /* optional */
    int (*write_zeroes)(void *opaque, uint64_t off, uint64_t len);   /* optional */
};

/* Request types and statuses (§5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_DISCARD  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB per request */
#define VIRTIO_BLK_SERIAL_LEN 20

struct virtio_blk;

/* serial: up to 20 bytes reported by GET_ID (NULL: none). */
struct virtio_blk *virtio_blk_create(const struct virtio_blk_backend *be, const char *serial,
                                     const struct guest_mem *mem);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
/* Serves requests on an I/O thread of their own (the board's default)
 * instead of in the notifying vCPU: the notify only writes an eventfd.
 * lock/unlock take and release the device lock (the one held around every
 * register access). Returns 0 or -1. */
int virtio_blk_start_iothread(struct virtio_blk *b, void (*lock)(void *), void (*unlock)(void *),
                              void *opaque);
/* Joins the I/O thread (requests then run inline again); without the
 * device lock held. */
void virtio_blk_stop_iothread(struct virtio_blk *b);
/* Stops the I/O thread first; call without the device lock held. */
void virtio_blk_free(struct virtio_blk *b);

#endif
