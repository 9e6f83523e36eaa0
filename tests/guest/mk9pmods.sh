#!/bin/sh
# The default guest's kernel modules for virtio-9p, as a cpio archive to
# append to the default initramfs (the kernel unpacks concatenated archives
# over each other):
#   OUTDIR/9pmods.cpio.gz   /lib/9p/*.ko and /lib/9p/load (insmod in order): virtio-pci,
#                           9p over virtio, and virtio_console (hvc0)
#   OUTDIR/STAMP            the kernel package it came from
# Usage: sh tests/guest/mk9pmods.sh GUESTDIR OUTDIR   (GUESTDIR from mkguest.sh)
set -eu
die() { echo "mk9pmods: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 GUESTDIR OUTDIR"
G=$1; OUT=$2
KPKG=$(awk '$1 == "kernel" {print $2; exit}' "$G/STAMP" 2>/dev/null)
[ -n "$KPKG" ] || die "no kernel package named in $G/STAMP (run make guest)"
if [ -f "$OUT/STAMP" ] && [ ! "$0" -nt "$OUT/STAMP" ] && [ "$(cat "$OUT/STAMP")" = "$KPKG" ] && [ -s "$OUT/9pmods.cpio.gz" ]; then
    exit 0
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mk9pmods.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
chmod 755 "$TMP"
(cd "$TMP" && apt-get download -q "$KPKG" >/dev/null 2>"$TMP/apt.err") || {
    cat "$TMP/apt.err" >&2; die "apt-get download $KPKG failed"; }
dpkg-deb -x "$TMP"/*.deb "$TMP/root"
K=$(ls -d "$TMP"/root/lib/modules/*/kernel | head -n 1)
[ -d "$K" ] || die "$KPKG has no modules"
S=$TMP/cpio
mkdir -p "$S/lib/9p"
# Dependency order (each module's depends= in its .modinfo).
ORDER="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/netfs/netfs
fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p drivers/char/virtio_console"
: > "$S/lib/9p/load"
for m in $ORDER; do
    b=$(basename "$m")
    if [ -f "$K/$m.ko" ]; then
        cp "$K/$m.ko" "$S/lib/9p/$b.ko"
    elif [ -f "$K/$m.ko.xz" ]; then
        xz -dc "$K/$m.ko.xz" > "$S/lib/9p/$b.ko"
    else
        continue        # built into this kernel
    fi
    echo "insmod /lib/9p/$b.ko 2>/dev/null" >> "$S/lib/9p/load"
done
chmod 755 "$S/lib/9p/load"
mkdir -p "$OUT"
(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$OUT/9pmods.new"
mv "$OUT/9pmods.new" "$OUT/9pmods.cpio.gz"
echo "$KPKG" > "$OUT/STAMP"
