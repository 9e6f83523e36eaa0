/* virtio-net (virtio 1.2 §5.1) over a net/net.h backend: one RX and one TX
 * queue, MAC and link STATUS in config, checksum offload both ways (CSUM,
 * GUEST_CSUM) but no GSO, no mergeable RX buffers, no control queue. Each frame is preceded by
 * struct virtio_net_hdr: 12 bytes with VERSION_1, 10 for legacy drivers. */
#ifndef HW_VIRTIO_NET_H
#define HW_VIRTIO_NET_H

#include <stdint.h>
#include "hw/virtio.h"

struct net_backend;

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

struct virtio_net;

/* QEMU's default MAC, 52:54:00:12:34:56, plus index for further NICs. */
void virtio_net_default_mac(uint8_t mac[6], int index);
/* Installs itself as nb's client. nb may be NULL (no backend: TX dropped). */
struct virtio_net *virtio_net_create(struct net_backend *nb, const uint8_t mac[6],
                                     const struct guest_mem *mem);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);
void virtio_net_set_link(struct virtio_net *n, bool up);
void virtio_net_free(struct virtio_net *n);
/* Counters for tests and -d stats. */
struct virtio_net_stats {
    uint64_t tx_frames, rx_frames, rx_dropped;
    uint64_t tx_bad_csum;       /* NEEDS_CSUM with offsets outside the frame */
};
const struct virtio_net_stats *virtio_net_get_stats(const struct virtio_net *n);

#endif
