/* virtio-9p transport: hands each request to the 9P server (fs/p9.c) and
 * puts its reply back. Requests run where the guest notifies (vCPU thread,
 * device lock held), synchronously, as virtio-blk does. See virtio_9p.h. */
#include "hw/virtio_9p.h"
#include "hw/pci.h"
#include "fs/p9.h"
#include <stdlib.h>
#include <string.h>

struct virtio_9p {
    struct virtio_dev vd;
    struct p9_server *srv;
    uint8_t config[2 + VIRTIO_9P_TAG_MAX];
    uint8_t *req, *rep;         /* one message each, P9_MAX_MSIZE */
    struct virtq_elem elem;
};

static void p9_handle_queue(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_9p *p = vd->opaque;
    bool pushed = false;
    int r;
    while ((r = virtq_pop(vd, vq, &p->elem)) > 0) {
        /* A request longer than a message is cut: its size field then
         * disagrees with the length and the server answers Rlerror. */
        size_t in = p->elem.out_len < P9_MAX_MSIZE ? (size_t)p->elem.out_len : P9_MAX_MSIZE;
        size_t got = virtq_elem_read(&p->elem, 0, p->req, in);
        size_t cap = p->elem.in_len < P9_MAX_MSIZE ? (size_t)p->elem.in_len : P9_MAX_MSIZE;
        size_t n = 0;
        if (cap >= P9_HDR + 4)
            n = p9_handle(p->srv, p->req, got, p->rep, cap);
        if (n)
            virtq_elem_write(vd, &p->elem, 0, p->rep, n);
        virtq_push(vd, vq, &p->elem, (uint32_t)n);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vd, vq);
}

static void p9_reset(struct virtio_dev *vd)
{
    struct virtio_9p *p = vd->opaque;
    p9_server_reset(p->srv);    /* a rebooted guest starts with no fids */
}

static const struct virtio_dev_ops p9_ops = {.reset = p9_reset};

struct virtio_9p *virtio_9p_create(struct fs_export *e, const char *tag,
                                   const struct guest_mem *mem)
{
    size_t tl = strlen(tag);
    if (tl == 0 || tl >= VIRTIO_9P_TAG_MAX)
        return NULL;
    struct virtio_9p *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->srv = p9_server_new(e);
    p->req = malloc(P9_MAX_MSIZE);
    p->rep = malloc(P9_MAX_MSIZE);
    if (!p->srv || !p->req || !p->rep) {
        virtio_9p_free(p);
        return NULL;
    }
    le_st16(p->config, (uint16_t)tl);
    memcpy(p->config + 2, tag, tl);
    virtio_init(&p->vd, "virtio-9p", VIRTIO_ID_9P,
                (1ULL << VIRTIO_9P_MOUNT_TAG) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
                    (1ULL << VIRTIO_F_RING_EVENT_IDX),
                p->config, (uint32_t)(2 + tl), mem, &p9_ops, p);
    virtio_add_queue(&p->vd, 128, p9_handle_queue);
    return p;
}

struct virtio_dev *virtio_9p_dev(struct virtio_9p *p) { return &p->vd; }

void virtio_9p_free(struct virtio_9p *p)
{
    if (!p)
        return;
    p9_server_free(p->srv);
    free(p->req);
    free(p->rep);
    free(p);
}
