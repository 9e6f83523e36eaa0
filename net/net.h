/* Network backends behind one interface (libslirp user networking, ...).
 * net/ knows nothing of virtio. Frames are Ethernet frames without FCS. */
#ifndef NET_NET_H
#define NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_backend;

struct net_client {
    /* The frontend (NIC) side, installed with net_set_client. Called on the
     * main loop with the device lock held. can_receive false: the backend
     * queues (or drops, as a real wire would, when its queue is full) and
     * retries after net_client_ready(). */
    bool (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
};

struct net_backend_ops {
    /* Guest → network. Called with the device lock held; must not block. */
    void (*send)(struct net_backend *nb, const uint8_t *frame, size_t len);
    void (*client_ready)(struct net_backend *nb);
    void (*close)(struct net_backend *nb);
};

struct net_backend {
    const struct net_backend_ops *ops;
    struct net_client client;
    const char *id;             /* -netdev id= */
};

static inline void net_set_client(struct net_backend *nb, const struct net_client *c)
{
    nb->client = *c;
}
static inline void net_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    nb->ops->send(nb, frame, len);
}
static inline void net_client_ready(struct net_backend *nb)
{
    if (nb->ops->client_ready)
        nb->ops->client_ready(nb);
}

#endif
