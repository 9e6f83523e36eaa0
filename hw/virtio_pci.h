/* virtio over PCI (virtio 1.2 §4.1): a modern interface (vendor capabilities
 * for common/notify/ISR/device config, all in 64-bit memory BAR 4) and, for
 * transitional devices (QEMU pc's default), the legacy I/O BAR 0 with the
 * register layout of §4.1.4.8. No MSI-X: interrupts are INTx through the
 * ISR, so Linux's virtio_pci binds through either interface. */
#ifndef HW_VIRTIO_PCI_H
#define HW_VIRTIO_PCI_H

#include "hw/pci.h"
#include "hw/virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4

/* Layout of BAR 4 (as QEMU: one 4 KiB page per structure). */
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_ISR_OFF    0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_BAR4_SIZE  0x4000
#define VIRTIO_PCI_NOTIFY_MULT 4

/* Legacy register offsets in BAR 0 (§4.1.4.8). */
#define VIRTIO_LEGACY_HOST_FEATURES  0x00
#define VIRTIO_LEGACY_GUEST_FEATURES 0x04
#define VIRTIO_LEGACY_QUEUE_PFN      0x08
#define VIRTIO_LEGACY_QUEUE_NUM      0x0c
#define VIRTIO_LEGACY_QUEUE_SEL      0x0e
#define VIRTIO_LEGACY_QUEUE_NOTIFY   0x10
#define VIRTIO_LEGACY_STATUS         0x12
#define VIRTIO_LEGACY_ISR            0x13
#define VIRTIO_LEGACY_CONFIG         0x14    /* without MSI-X */

/* Common configuration structure offsets (§4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00
#define VIRTIO_PCI_COMMON_DF        0x04
#define VIRTIO_PCI_COMMON_GFSELECT  0x08
#define VIRTIO_PCI_COMMON_GF        0x0c
#define VIRTIO_PCI_COMMON_MSIX      0x10
#define VIRTIO_PCI_COMMON_NUMQ      0x12
#define VIRTIO_PCI_COMMON_STATUS    0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34
#define VIRTIO_PCI_COMMON_SIZE      0x38

/* virtio_pci_cap cfg_type values (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

struct virtio_pci {
    struct pci_device pci;
    struct virtio_dev *vd;
    bool legacy;            /* transitional: legacy I/O BAR 0 present */
    uint8_t pci_cfg_cap;    /* config offset of the PCI_CFG access window */
};

/* Wraps a virtio device (virtio_init + queues done) in a PCI function at
 * slot (-1: next free from 4) and registers it. modern_only: device ID
 * 0x1040+type, revision 1, no legacy BAR (QEMU's disable-legacy=on);
 * otherwise transitional: 0x1000-0x103f, revision 0, subsystem ID = type.
 * Returns NULL when the slot is taken or the window is full. */
struct virtio_pci *virtio_pci_create(struct pci_bus *bus, struct virtio_dev *vd, int slot,
                                     bool modern_only);
void virtio_pci_free(struct virtio_pci *vp);

#endif
