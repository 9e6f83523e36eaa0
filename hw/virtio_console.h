/* virtio-console (virtio 1.2 §5.3): a single port (no MULTIPORT), hvc0 in
 * Linux, backed by a struct chardev. receiveq0 = 0, transmitq0 = 1. */
#ifndef HW_VIRTIO_CONSOLE_H
#define HW_VIRTIO_CONSOLE_H

#include "hw/virtio.h"
#include "hw/chardev.h"

struct virtio_console;

/* Installs itself as chr's frontend. */
struct virtio_console *virtio_console_create(struct chardev *chr, const struct guest_mem *mem);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
void virtio_console_free(struct virtio_console *c);

#endif
