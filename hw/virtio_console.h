/* virtio-console / virtio-serial (virtio 1.2 §5.3). With one console port
 * it is the plain device (hvc0 in Linux; receiveq0 = 0, transmitq0 = 1).
 * With more ports, or a named one, it offers VIRTIO_CONSOLE_F_MULTIPORT:
 * port N's queues are 2N+2 and 2N+3 (port 0 keeps 0 and 1), the control
 * queues 2 and 3 carry DEVICE_READY / DEVICE_ADD / PORT_READY /
 * CONSOLE_PORT / PORT_NAME / PORT_OPEN (§5.3.6.2), and Linux names the
 * ports /dev/vportXpN (with /sys/class/virtio-ports/vportXpN/name). */
#ifndef HW_VIRTIO_CONSOLE_H
#define HW_VIRTIO_CONSOLE_H

#include "hw/virtio.h"
#include "hw/chardev.h"

/* Ports a device can have: (VIRTIO_MAX_QUEUES / 2) - 1 queue pairs besides control. */
#define VIRTIO_CONSOLE_MAX_PORTS (VIRTIO_MAX_QUEUES / 2 - 1)

struct virtio_console_port_cfg {
    struct chardev *chr;            /* NULL: no port with this id */
    bool console;                   /* virtconsole (hvc) rather than virtserialport */
    const char *name;               /* name= (NULL: none) */
};

struct virtio_console;

/* One console port on chr (installs itself as chr's frontend). */
struct virtio_console *virtio_console_create(struct chardev *chr, const struct guest_mem *mem);
/* ports[id] for id < nports (entries with chr NULL are holes). */
struct virtio_console *virtio_console_create_ports(const struct virtio_console_port_cfg *ports,
                                                  int nports, const struct guest_mem *mem);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
void virtio_console_free(struct virtio_console *c);

#endif
