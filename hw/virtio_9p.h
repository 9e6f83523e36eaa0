/* virtio-9p (virtio 1.2 §5.7 is the console; 9P is device ID 9, "9P
 * transport", specified by its Linux driver net/9p/trans_virtio.c and
 * QEMU's hw/9pfs/virtio-9p-device.c): one request queue; each element is a
 * 9P request in its device-readable part and room for the reply in its
 * device-writable part. Config space: le16 tag_len, then the mount tag
 * (VIRTIO_9P_MOUNT_TAG feature). The 9P server itself is fs/p9.c. */
#ifndef HW_VIRTIO_9P_H
#define HW_VIRTIO_9P_H

#include "hw/virtio.h"

#define VIRTIO_ID_9P 9
#define VIRTIO_9P_MOUNT_TAG 0
#define VIRTIO_9P_TAG_MAX 64

struct virtio_9p;
struct fs_export;

/* Serves export e under mount tag (1..VIRTIO_9P_TAG_MAX-1 bytes). */
struct virtio_9p *virtio_9p_create(struct fs_export *e, const char *tag,
                                   const struct guest_mem *mem);
struct virtio_dev *virtio_9p_dev(struct virtio_9p *p);
void virtio_9p_free(struct virtio_9p *p);

#endif
