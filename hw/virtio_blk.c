/* virtio-blk (virtio 1.2 §5.2). A request is {le32 type, le32 reserved,
 * le64 sector} in device-readable memory, then data, then one status byte
 * at the very end of the device-writable part (§5.2.6).
 *
 * Requests run on the disk's own I/O thread (virtio_blk_start_iothread,
 * the board's default; docs/ARCHITECTURE.md, Threads), woken through an
 * eventfd by the queue notify; without one, where the guest notifies
 * (vCPU thread, device lock held, synchronous host I/O). */
#include "hw/virtio_blk.h"
#include "hw/pci.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SECTOR 512u
#define BOUNCE_SIZE (128u * 1024)
#define CONFIG_LEN 60

struct virtio_blk {
    struct virtio_dev vd;
    struct virtio_blk_backend be;
    char serial[VIRTIO_BLK_SERIAL_LEN];
    uint8_t config[CONFIG_LEN];
    uint8_t *bounce;
    struct virtq_elem elem;
    /* Optional I/O thread (virtio_blk_start_iothread). */
    bool iothread_on;
    pthread_t io_thread;
    int io_efd;                 /* the queue notify: written by the vCPU, read by the thread */
    atomic_bool io_stop;
    void (*dev_lock)(void *), (*dev_unlock)(void *);
    void *lock_opaque;
    unsigned reset_gen;         /* bumped by device reset (device lock held) */
};

static bool range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
    uint64_t sectors = b->be.size / SECTOR;
    if (len % SECTOR || sector > sectors)
        return false;
    return len / SECTOR <= sectors - sector;
}

/* Data moves through a bounce buffer so segment boundaries in guest memory
 * never have to be sector-aligned for the backend. */
static uint8_t do_read(struct virtio_blk *b, const struct virtq_elem *e, uint64_t sector,
                       uint64_t len)
{
    if (!range_ok(b, sector, len))
        return VIRTIO_BLK_S_IOERR;
    uint64_t off = sector * SECTOR;
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done > BOUNCE_SIZE ? BOUNCE_SIZE : (size_t)(len - done);
        if (b->be.read(b->be.opaque, off + done, b->bounce, n) < 0)
            return VIRTIO_BLK_S_IOERR;
        virtq_elem_write(&b->vd, e, done, b->bounce, n);
        done += n;
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_write(struct virtio_blk *b, const struct virtq_elem *e, uint64_t sector,
                        uint64_t len)
{
    if (b->be.readonly || !b->be.write)
        return VIRTIO_BLK_S_IOERR;
    if (!range_ok(b, sector, len))
        return VIRTIO_BLK_S_IOERR;
    uint64_t off = sector * SECTOR;
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done > BOUNCE_SIZE ? BOUNCE_SIZE : (size_t)(len - done);
        virtq_elem_read(e, 16 + done, b->bounce, n);
        if (b->be.write(b->be.opaque, off + done, b->bounce, n) < 0)
            return VIRTIO_BLK_S_IOERR;
        done += n;
    }
    return VIRTIO_BLK_S_OK;
}

/* DISCARD / WRITE_ZEROES payload: segments of {le64 sector, le32
 * num_sectors, le32 flags} (§5.2.6). We advertise max_*_seg = 1. */
static uint8_t do_discard_wz(struct virtio_blk *b, const struct virtq_elem *e, uint32_t type,
                             uint64_t data_len)
{
    bool wz = type == VIRTIO_BLK_T_WRITE_ZEROES;
    if ((wz && !b->be.write_zeroes) || (!wz && !b->be.discard))
        return VIRTIO_BLK_S_UNSUPP;
    if (data_len != 16)
        return VIRTIO_BLK_S_UNSUPP;
    if (b->be.readonly)
        return VIRTIO_BLK_S_IOERR;
    uint8_t seg[16];
    virtq_elem_read(e, 16, seg, 16);
    uint64_t sector = le_ld64(seg);
    uint32_t num = le_ld32(seg + 8), flags = le_ld32(seg + 12);
    /* Only the unmap bit exists, and only for WRITE_ZEROES. */
    if (flags & ~(wz ? 1u : 0u))
        return VIRTIO_BLK_S_UNSUPP;
    if (num > VIRTIO_BLK_MAX_DISCARD_SECTORS || !range_ok(b, sector, (uint64_t)num * SECTOR))
        return VIRTIO_BLK_S_IOERR;
    int r = wz ? b->be.write_zeroes(b->be.opaque, sector * SECTOR, (uint64_t)num * SECTOR)
               : b->be.discard(b->be.opaque, sector * SECTOR, (uint64_t)num * SECTOR);
    /* UNSUPP makes Linux fall back to writing zeroes itself. */
    if (r == -ENOTSUP || r == -EOPNOTSUPP)
        return VIRTIO_BLK_S_UNSUPP;
    return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* A request needs its 16-byte header and a status byte; anything else is
 * the driver's bug (§5.2.6.1). Called with the device lock held. */
static bool request_well_formed(struct virtio_blk *b, const struct virtq_elem *e)
{
    if (e->out_len < 16 || e->in_len < 1) {
        virtio_mark_broken(&b->vd, "virtio-blk request without header or status");
        return false;
    }
    return true;
}

/* Runs a well-formed request; returns the used length (bytes written to
 * the guest). Touches only the backend and the element's guest memory, so
 * the I/O thread runs it without the device lock. */
static int64_t handle_request(struct virtio_blk *b, const struct virtq_elem *e)
{
    uint8_t hdr[16];
    virtq_elem_read(e, 0, hdr, 16);
    uint32_t type = le_ld32(hdr);
    uint64_t sector = le_ld64(hdr + 8);
    uint64_t in_data = e->in_len - 1;           /* status byte excluded */
    uint64_t out_data = e->out_len - 16;
    uint8_t status;
    uint64_t written = 0;
    switch (type) {
    case VIRTIO_BLK_T_IN:
        status = do_read(b, e, sector, in_data);
        if (status == VIRTIO_BLK_S_OK)
            written = in_data;
        break;
    case VIRTIO_BLK_T_OUT:
        status = do_write(b, e, sector, out_data);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = (!b->be.flush || b->be.flush(b->be.opaque) == 0) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        /* 20 bytes, NUL-padded, not necessarily NUL-terminated. */
        size_t n = in_data < VIRTIO_BLK_SERIAL_LEN ? (size_t)in_data : VIRTIO_BLK_SERIAL_LEN;
        virtq_elem_write(&b->vd, e, 0, b->serial, n);
        written = n;
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = do_discard_wz(b, e, type, out_data);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    virtq_elem_write(&b->vd, e, e->in_len - 1, &status, 1);
    return (int64_t)written + 1;
}

/* Ranges the CPU side hears about per completion: a batch on the vCPU
 * thread is drained at its next block boundary, where the engine's queue of
 * pending invalidations holds 32; the I/O thread reports per request while
 * the vCPU runs, so it leaves room for a few requests between two drains. */
#define DMA_RANGES_BATCH 24
#define DMA_RANGES_REQUEST 8

static void blk_handle_queue(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_blk *b = vd->opaque;
    bool pushed = false;
    if (b->iothread_on) {
        /* The kick only wakes the I/O thread (an eventfd write, as QEMU's
         * ioeventfd): the vCPU never waits for the disk. */
        uint64_t one = 1;
        ssize_t r = write(b->io_efd, &one, sizeof(one));
        (void)r;        /* EAGAIN: the counter is already non-zero, the thread will look */
        return;
    }
    for (;;) {
        int r = virtq_pop(vd, vq, &b->elem);
        if (r <= 0)
            break;
        if (!request_well_formed(b, &b->elem))
            break;
        int64_t len = handle_request(b, &b->elem);
        virtq_push(vd, vq, &b->elem, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
        pushed = true;
    }
    /* The vCPU is inside its notify write: what it runs next must not be
     * code the requests overwrote. */
    virtio_dma_flush(vd, DMA_RANGES_BATCH);
    if (pushed)
        virtq_notify(vd, vq);
}

/* The I/O thread: pops and completes with the device lock held (the lock
 * every register access and interrupt line takes, so the completion
 * interrupt is raised as from the vCPU), does the disk I/O and the copies
 * into guest memory without it. Guest RAM is one mapping that lives as long
 * as the machine, and every segment was checked by virtq_pop
 * (machine_dma_ptr), so touching it unlocked is as safe as the vCPU's own
 * stores. A device reset while a request runs makes its completion stale:
 * it is dropped, not pushed onto the new queue. DMA writes are reported
 * (virtio_dma_flush) before the used entry that publishes them. */
static void *blk_iothread(void *opaque)
{
    struct virtio_blk *b = opaque;
    struct virtio_dev *vd = &b->vd;
    struct virtq *vq = &vd->vq[0];
    for (;;) {
        uint64_t cnt;
        ssize_t rd = read(b->io_efd, &cnt, sizeof(cnt));
        if (rd < 0 && errno != EINTR && errno != EAGAIN)
            return NULL;
        if (atomic_load(&b->io_stop))
            return NULL;
        b->dev_lock(b->lock_opaque);
        while (virtq_pop(vd, vq, &b->elem) > 0) {
            if (!request_well_formed(b, &b->elem))
                break;
            unsigned gen = b->reset_gen;
            b->dev_unlock(b->lock_opaque);
            int64_t len = handle_request(b, &b->elem);
            b->dev_lock(b->lock_opaque);
            /* The data is reported before the used entry that publishes it
             * (also for a stale request: the copy happened). */
            virtio_dma_flush(vd, DMA_RANGES_REQUEST);
            if (gen != b->reset_gen)
                break;
            virtq_push(vd, vq, &b->elem, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
            virtio_dma_flush(vd, 1);
            virtq_notify(vd, vq);
        }
        b->dev_unlock(b->lock_opaque);
    }
}

int virtio_blk_start_iothread(struct virtio_blk *b, void (*lock)(void *), void (*unlock)(void *),
                              void *opaque)
{
    if (b->iothread_on || !lock || !unlock)
        return -1;
    b->dev_lock = lock;
    b->dev_unlock = unlock;
    b->lock_opaque = opaque;
    b->io_efd = eventfd(0, EFD_CLOEXEC);
    if (b->io_efd < 0)
        return -1;
    atomic_store(&b->io_stop, false);
    if (pthread_create(&b->io_thread, NULL, blk_iothread, b) != 0) {
        close(b->io_efd);
        return -1;
    }
    b->iothread_on = true;
    return 0;
}

static void blk_reset(struct virtio_dev *vd)
{
    struct virtio_blk *b = vd->opaque;
    b->reset_gen++;
}

static const struct virtio_dev_ops blk_ops = {.reset = blk_reset};

struct virtio_blk *virtio_blk_create(const struct virtio_blk_backend *be, const char *serial,
                                     const struct guest_mem *mem)
{
    if (!be || !be->read)
        return NULL;
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->bounce = malloc(BOUNCE_SIZE);
    if (!b->bounce) {
        free(b);
        return NULL;
    }
    b->be = *be;
    if (serial) {
        size_t n = strnlen(serial, sizeof(b->serial));
        memcpy(b->serial, serial, n);
    }
    uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                 (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
                 (1ULL << VIRTIO_F_RING_EVENT_IDX);
    if (be->readonly)
        f |= 1ULL << VIRTIO_BLK_F_RO;
    if (be->discard && !be->readonly)
        f |= 1ULL << VIRTIO_BLK_F_DISCARD;
    if (be->write_zeroes && !be->readonly)
        f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    uint8_t *c = b->config;
    le_st64(c + 0, be->size / SECTOR);                  /* capacity */
    le_st32(c + 12, VIRTIO_BLK_QUEUE_SIZE - 2);         /* seg_max: as QEMU, leaves room for header+status */
    le_st32(c + 20, SECTOR);                            /* blk_size */
    le_st16(c + 34, 1);                                 /* num_queues */
    le_st32(c + 36, VIRTIO_BLK_MAX_DISCARD_SECTORS);    /* max_discard_sectors */
    le_st32(c + 40, 1);                                 /* max_discard_seg */
    le_st32(c + 44, 1);                                 /* discard_sector_alignment */
    le_st32(c + 48, VIRTIO_BLK_MAX_DISCARD_SECTORS);    /* max_write_zeroes_sectors */
    le_st32(c + 52, 1);                                 /* max_write_zeroes_seg */
    c[56] = be->discard ? 1 : 0;                        /* write_zeroes_may_unmap */
    virtio_init(&b->vd, "virtio-blk", VIRTIO_ID_BLOCK, f, c, CONFIG_LEN, mem, &blk_ops, b);
    virtio_add_queue(&b->vd, VIRTIO_BLK_QUEUE_SIZE, blk_handle_queue);
    if (virtio_dma_defer(&b->vd) < 0) {
        free(b->bounce);
        free(b);
        return NULL;
    }
    return b;
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
    return &b->vd;
}

void virtio_blk_stop_iothread(struct virtio_blk *b)
{
    if (!b || !b->iothread_on)
        return;
    /* The request in progress (if any) completes: its write reaches the
     * image before the machine closes it. */
    atomic_store(&b->io_stop, true);
    uint64_t one = 1;
    ssize_t r = write(b->io_efd, &one, sizeof(one));
    (void)r;
    pthread_join(b->io_thread, NULL);
    close(b->io_efd);
    b->iothread_on = false;
}

void virtio_blk_free(struct virtio_blk *b)
{
    if (!b)
        return;
    virtio_blk_stop_iothread(b);
    virtio_dma_free(&b->vd);
    free(b->bounce);
    free(b);
}
