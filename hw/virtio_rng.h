/* virtio-rng / entropy device (virtio 1.2 §5.4): one request queue whose
 * device-writable buffers are filled from the host's getrandom(). */
#ifndef HW_VIRTIO_RNG_H
#define HW_VIRTIO_RNG_H

#include <stddef.h>
#include <sys/types.h>
#include "hw/virtio.h"

struct virtio_rng;

/* fill: the entropy source (NULL: getrandom). Returns bytes or -1. */
typedef ssize_t (*virtio_rng_fill_fn)(void *buf, size_t len);
struct virtio_rng *virtio_rng_create(const struct guest_mem *mem, virtio_rng_fill_fn fill);
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
void virtio_rng_free(struct virtio_rng *r);

#endif
