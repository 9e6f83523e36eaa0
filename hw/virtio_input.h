/* virtio-input (virtio 1.2 §5.8) as QEMU's virtio-tablet-pci: an absolute
 * pointing device (ABS_X/ABS_Y 0..0x7fff, left/right/middle buttons, a
 * wheel), so a VNC viewer's or SDL window's pointer lands where it is on
 * the guest's screen without the relative-mouse drift of PS/2. */
#ifndef HW_VIRTIO_INPUT_H
#define HW_VIRTIO_INPUT_H

#include <stdint.h>
#include "hw/virtio.h"

#define VIRTIO_ID_INPUT 18
#define VIRTIO_TABLET_MAX 0x7fff     /* axis range, as QEMU's tablet */

/* Config space (§5.8.5): the driver writes select/subsel, reads size and u. */
#define VIRTIO_INPUT_CFG_UNSET     0x00
#define VIRTIO_INPUT_CFG_ID_NAME   0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS   0x11
#define VIRTIO_INPUT_CFG_ABS_INFO  0x12
#define VIRTIO_INPUT_CFG_SIZE      136  /* select, subsel, size, 5 reserved, 128 */

/* Linux input event codes (include/uapi/linux/input-event-codes.h). */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define SYN_REPORT 0
#define REL_WHEEL 0x08
#define ABS_X 0x00
#define ABS_Y 0x01
#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define BTN_MIDDLE 0x112

struct virtio_input;

struct virtio_input *virtio_tablet_create(const struct guest_mem *mem);
struct virtio_dev *virtio_input_dev(struct virtio_input *in);
void virtio_input_free(struct virtio_input *in);
/* The host pointer at (x, y) in 0..VIRTIO_TABLET_MAX (clamped), buttons
 * (bit 0 left, 1 right, 2 middle) and wheel steps (positive: away from the
 * user). Sends the changes and a SYN_REPORT; events wait in a small queue
 * while the driver has no buffers, the oldest dropped when it is full.
 * Device lock held. */
void virtio_tablet_event(struct virtio_input *in, int x, int y, unsigned buttons, int wheel);
/* Whether a driver runs it (DRIVER_OK): until then pointer input goes to
 * the PS/2 mouse. */
bool virtio_tablet_active(const struct virtio_input *in);

#endif
