/* virtio-rng (virtio 1.2 §5.4). */
#include "hw/virtio_rng.h"
#include <stdlib.h>
#include <sys/random.h>

/* Per request: a guest asking for megabytes gets what fits here, which the
 * spec allows (the used length says how much was written). */
#define CHUNK 4096

struct virtio_rng {
    struct virtio_dev vd;
    virtio_rng_fill_fn fill;
    uint8_t buf[CHUNK];
    struct virtq_elem elem;
};

static ssize_t host_random(void *buf, size_t len)
{
    return getrandom(buf, len, GRND_NONBLOCK);
}

static void rng_handle(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_rng *r = vd->opaque;
    bool pushed = false;
    while (virtq_pop(vd, vq, &r->elem) > 0) {
        size_t want = r->elem.in_len < CHUNK ? (size_t)r->elem.in_len : CHUNK;
        ssize_t got = want ? r->fill(r->buf, want) : 0;
        if (got < 0)
            got = 0;            /* no entropy now (early host boot): empty answer */
        virtq_elem_write(vd, &r->elem, 0, r->buf, (size_t)got);
        virtq_push(vd, vq, &r->elem, (uint32_t)got);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static const struct virtio_dev_ops rng_ops = {0};

struct virtio_rng *virtio_rng_create(const struct guest_mem *mem, virtio_rng_fill_fn fill)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fill = fill ? fill : host_random;
    virtio_init(&r->vd, "virtio-rng", VIRTIO_ID_RNG,
                (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | (1ULL << VIRTIO_F_RING_EVENT_IDX),
                NULL, 0, mem, &rng_ops, r);
    virtio_add_queue(&r->vd, 64, rng_handle);
    return r;
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r)
{
    return &r->vd;
}

void virtio_rng_free(struct virtio_rng *r)
{
    free(r);
}
