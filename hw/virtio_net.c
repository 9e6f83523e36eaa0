/* virtio-net (virtio 1.2 §5.1): receiveq 0, transmitq 1. */
#include "hw/virtio_net.h"
#include "hw/pci.h"
#include "net/net.h"
#include <stdlib.h>
#include <string.h>

#define CONFIG_LEN 10           /* mac[6], le16 status, le16 max_virtqueue_pairs */
#define MAX_FRAME 65535         /* no GSO offered: anything bigger is bogus */

struct virtio_net {
    struct virtio_dev vd;
    struct net_backend *nb;
    uint8_t config[CONFIG_LEN];
    uint8_t frame[MAX_FRAME];
    /* Separate elements: a backend may deliver a frame (receive) from
     * inside net_send, while a TX element is still being processed. */
    struct virtq_elem rx_elem, tx_elem;
    struct virtio_net_stats stats;
    bool in_tx;                 /* handle_tx runs: frames received meanwhile are reported with its batch */
};

/* DMA reports (see struct virtio_dma_log): a received frame is one buffer,
 * reported before the used entry that hands it over; frames the backend
 * delivers while a TX batch runs on the notifying vCPU (the ACKs of what it
 * sends) are reported with that batch, before the vCPU runs guest code
 * again. Either way the engine's queue of pending invalidations (32 between
 * two block boundaries) does not overflow into dropping all its code. */
#define DMA_RANGES_FRAME 2
#define DMA_RANGES_BATCH 24

void virtio_net_default_mac(uint8_t mac[6], int index)
{
    static const uint8_t base[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    memcpy(mac, base, 6);
    mac[5] = (uint8_t)(mac[5] + index);
}

/* §5.1.6: the header is 12 bytes (num_buffers included) with VERSION_1 or
 * MRG_RXBUF, 10 for a legacy driver without MRG_RXBUF. */
static unsigned hdr_len(const struct virtio_net *n)
{
    return virtio_has_feature(&n->vd, VIRTIO_F_VERSION_1) ? 12 : 10;
}

/* Frames reach the guest only with the driver up and the link up (a
 * link-down NIC hears nothing, as with a pulled cable). */
static bool rx_ready(struct virtio_net *n)
{
    struct virtio_dev *vd = &n->vd;
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) && (le_ld16(n->config + 6) & VIRTIO_NET_S_LINK_UP) &&
           virtq_ready(vd, &vd->vq[VIRTIO_NET_RXQ]);
}

static bool net_can_receive(void *opaque)
{
    struct virtio_net *n = opaque;
    return rx_ready(n) && virtq_has_avail(&n->vd, &n->vd.vq[VIRTIO_NET_RXQ]);
}

static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *n = opaque;
    struct virtio_dev *vd = &n->vd;
    struct virtq *vq = &vd->vq[VIRTIO_NET_RXQ];
    if (!rx_ready(n) || len > MAX_FRAME || virtq_pop(vd, vq, &n->rx_elem) <= 0) {
        n->stats.rx_dropped++;
        return;
    }
    unsigned hl = hdr_len(n);
    if (n->rx_elem.in_len < hl + len) {
        /* Without MRG_RXBUF one buffer holds one frame; a buffer too small
         * stays with the driver and the frame is lost, as on a wire. */
        virtq_unpop(vq);
        n->stats.rx_dropped++;
        return;
    }
    uint8_t hdr[12] = {0};
    /* §5.1.6.4: with GUEST_CSUM, DATA_VALID says the checksums were
     * checked; slirp's frames are built with correct ones, so the guest
     * need not verify every byte it receives on the emulated CPU. */
    if (virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM))
        hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    if (hl == 12)
        le_st16(hdr + 10, 1);           /* num_buffers */
    virtq_elem_write(vd, &n->rx_elem, 0, hdr, hl);
    virtq_elem_write(vd, &n->rx_elem, hl, frame, len);
    if (!n->in_tx)
        virtio_dma_flush(vd, DMA_RANGES_FRAME);
    virtq_push(vd, vq, &n->rx_elem, (uint32_t)(hl + len));
    if (!n->in_tx)
        virtio_dma_flush(vd, 1);
    virtq_notify(vd, vq);
    n->stats.rx_frames++;
}

/* VIRTIO_NET_F_CSUM (§5.1.6.2): the driver left the checksum of the data
 * from csum_start to the end (its pseudo-header sum already in place) to
 * us; it goes at csum_start + csum_offset. What slirp's TCP/IP then
 * verifies is what a NIC with checksum offload would have sent, and the
 * guest no longer checksums every byte it sends on the emulated CPU.
 * Returns false (frame left alone) when the offsets do not fit the frame. */
static bool fill_csum(uint8_t *f, size_t len, uint16_t start, uint16_t off)
{
    if (start >= len || (size_t)start + off + 2 > len)
        return false;
    uint64_t sum = 0;
    size_t i = start;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)f[i] << 8 | f[i + 1];
    if (i < len)
        sum += (uint32_t)f[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    f[start + off] = (uint8_t)(c >> 8);
    f[start + off + 1] = (uint8_t)c;
    return true;
}

static void handle_rx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_net *n = vd->opaque;
    /* New RX buffers: a backend holding frames may deliver them now. */
    if (n->nb && net_can_receive(n))
        net_client_ready(n->nb);
}

static void handle_tx(struct virtio_dev *vd, struct virtq *vq)
{
    struct virtio_net *n = vd->opaque;
    unsigned hl = hdr_len(n);
    bool pushed = false;
    n->in_tx = true;
    for (;;) {
        if (virtq_pop(vd, vq, &n->tx_elem) <= 0)
            break;
        if (n->tx_elem.out_len < hl) {
            virtio_mark_broken(vd, "virtio-net TX buffer shorter than its header");
            break;
        }
        uint64_t flen = n->tx_elem.out_len - hl;
        if (flen >= 14 && flen <= MAX_FRAME) {
            uint8_t hdr[12];
            virtq_elem_read(&n->tx_elem, 0, hdr, hl);
            virtq_elem_read(&n->tx_elem, hl, n->frame, (size_t)flen);
            /* GSO was not offered, so a segmentation request is the
             * driver's bug; the frame goes out as it is. */
            if ((hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
                !fill_csum(n->frame, (size_t)flen, le_ld16(hdr + 6), le_ld16(hdr + 8)))
                n->stats.tx_bad_csum++;
            if (n->nb)
                net_send(n->nb, n->frame, (size_t)flen);
            n->stats.tx_frames++;
        }
        virtq_push(vd, vq, &n->tx_elem, 0);
        pushed = true;
    }
    n->in_tx = false;
    virtio_dma_flush(vd, DMA_RANGES_BATCH);
    if (pushed)
        virtq_notify(vd, vq);
}

static void net_config_write(struct virtio_dev *vd, uint32_t off, uint64_t val, unsigned size)
{
    struct virtio_net *n = vd->opaque;
    /* Legacy drivers without CTRL_MAC_ADDR set the MAC through config
     * (§5.1.4.3 legacy); for VERSION_1 the config is read-only. */
    if (virtio_has_feature(vd, VIRTIO_F_VERSION_1))
        return;
    for (unsigned i = 0; i < size; i++)
        if (off + i < 6)
            n->config[off + i] = (uint8_t)(val >> (8 * i));
}

static void net_status_changed(struct virtio_dev *vd, uint8_t old)
{
    struct virtio_net *n = vd->opaque;
    if (!(old & VIRTIO_STATUS_DRIVER_OK) && (vd->status & VIRTIO_STATUS_DRIVER_OK) && n->nb &&
        net_can_receive(n))
        net_client_ready(n->nb);
}

static const struct virtio_dev_ops net_ops = {
    .config_write = net_config_write,
    .status_changed = net_status_changed,
};

struct virtio_net *virtio_net_create(struct net_backend *nb, const uint8_t mac[6],
                                     const struct guest_mem *mem)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->nb = nb;
    uint8_t def[6];
    if (!mac) {
        virtio_net_default_mac(def, 0);
        mac = def;
    }
    memcpy(n->config, mac, 6);
    le_st16(n->config + 6, VIRTIO_NET_S_LINK_UP);
    le_st16(n->config + 8, 1);
    uint64_t f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
                 (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
                 (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | (1ULL << VIRTIO_F_RING_EVENT_IDX);
    virtio_init(&n->vd, "virtio-net", VIRTIO_ID_NET, f, n->config, CONFIG_LEN, mem, &net_ops, n);
    virtio_add_queue(&n->vd, VIRTIO_NET_QUEUE_SIZE, handle_rx);
    virtio_add_queue(&n->vd, VIRTIO_NET_QUEUE_SIZE, handle_tx);
    if (virtio_dma_defer(&n->vd) < 0) {
        free(n);
        return NULL;
    }
    if (nb) {
        struct net_client c = {.can_receive = net_can_receive, .receive = net_receive, .opaque = n};
        net_set_client(nb, &c);
    }
    return n;
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
    return &n->vd;
}

void virtio_net_set_link(struct virtio_net *n, bool up)
{
    le_st16(n->config + 6, up ? VIRTIO_NET_S_LINK_UP : 0);
    virtio_config_changed(&n->vd);
    if (up && n->nb && net_can_receive(n))
        net_client_ready(n->nb);
}

const struct virtio_net_stats *virtio_net_get_stats(const struct virtio_net *n)
{
    return &n->stats;
}

void virtio_net_free(struct virtio_net *n)
{
    if (!n)
        return;
    if (n->nb) {
        struct net_client none = {0};
        net_set_client(n->nb, &none);
    }
    virtio_dma_free(&n->vd);
    free(n);
}
