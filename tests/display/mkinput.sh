#!/bin/sh
# The initramfs the display suite boots to test the virtio tablet: the
# default guest's plus the virtio core and PCI transport, virtio_input and
# evdev (modules in Debian's kernel) under /opt/input (see mkmods.sh).
#   tests/display/mkinput.sh GUESTDIR OUTDIR    → OUTDIR/initramfs-input.cpio.gz
exec sh "$(dirname "$0")/mkmods.sh" "$1" "$2/initramfs-input.cpio.gz" /opt/input \
    virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev \
    virtio/virtio_pci virtio/virtio_input input/evdev
