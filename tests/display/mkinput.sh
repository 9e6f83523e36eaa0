#!/bin/sh
# Builds the initramfs the display suite boots to test the virtio tablet:
# the default guest's initramfs with a second cpio archive holding
# the virtio core and PCI transport, virtio_input.ko and evdev.ko (modules in
# Debian's kernel; /opt/input/ORDER is their load order) taken from the same
# kernel package as the guest's kernel.
#   tests/display/mkinput.sh GUESTDIR OUTDIR    → OUTDIR/initramfs-input.cpio.gz
# Exits non-zero with a message when the guest or apt is missing.
set -e
G=$1; OUT=$2
die() { echo "mkinput: $*" >&2; exit 1; }
[ -s "$G/initramfs.cpio.gz" ] && [ -s "$G/STAMP" ] || die "no default guest in $G (make guest)"
KPKG=$(awk '$1 == "kernel" { print $2; exit }' "$G/STAMP")
[ -n "$KPKG" ] || die "cannot tell the guest's kernel package from $G/STAMP"
[ -s "$OUT/initramfs-input.cpio.gz" ] && [ "$(cat "$OUT/KPKG-input" 2>/dev/null)" = "$KPKG" ] && exit 0
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -q "$KPKG" >/dev/null 2>"$TMP/apt.err") || die "apt-get download $KPKG failed: $(cat "$TMP/apt.err")"
dpkg-deb -x "$TMP"/"$KPKG"_*.deb "$TMP/root"
K=$(echo "$TMP"/root/lib/modules/*/kernel/drivers)
mkdir -p "$TMP/extra/opt/input"
ORDER="virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev
virtio/virtio_pci virtio/virtio_input input/evdev"
for f in $ORDER; do
    [ -f "$K/$f.ko" ] || die "$f.ko not in $KPKG"
    cp "$K/$f.ko" "$TMP/extra/opt/input/"
    echo "${f##*/}.ko" >> "$TMP/extra/opt/input/ORDER"
done
(cd "$TMP/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$TMP/extra.cpio.gz"
cat "$G/initramfs.cpio.gz" "$TMP/extra.cpio.gz" > "$OUT/initramfs-input.cpio.gz"
echo "$KPKG" > "$OUT/KPKG-input"
