#!/bin/sh
# Appends kernel modules to the default guest's initramfs: a second cpio
# archive holding them (and DIR/ORDER, their load order) under DIR, taken
# from the same Debian kernel package as the guest's kernel.
#   tests/display/mkmods.sh GUESTDIR OUTFILE DIR MODULE...
#     MODULE: a path under lib/modules/*/kernel/drivers without .ko
#     (e.g. virtio/virtio_input), in load order.
# Rebuilds only when the guest's kernel package changed. Exits non-zero
# with a message when the guest, apt or a module is missing.
set -e
G=$1; OUTFILE=$2; DIR=$3; shift 3
die() { echo "$(basename "$OUTFILE"): $*" >&2; exit 1; }
[ -s "$G/initramfs.cpio.gz" ] && [ -s "$G/STAMP" ] || die "no default guest in $G (make guest)"
KPKG=$(awk '$1 == "kernel" { print $2; exit }' "$G/STAMP")
[ -n "$KPKG" ] || die "cannot tell the guest's kernel package from $G/STAMP"
[ -s "$OUTFILE" ] && [ "$(cat "$OUTFILE.kpkg" 2>/dev/null)" = "$KPKG" ] && exit 0
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb"
mkdir -p "$(dirname "$OUTFILE")"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -q "$KPKG" >/dev/null 2>"$TMP/apt.err") || die "apt-get download $KPKG failed: $(cat "$TMP/apt.err")"
dpkg-deb -x "$TMP"/"$KPKG"_*.deb "$TMP/root"
K=$(echo "$TMP"/root/lib/modules/*/kernel/drivers)
mkdir -p "$TMP/extra$DIR"
for f in "$@"; do
    [ -f "$K/$f.ko" ] || die "$f.ko not in $KPKG"
    cp "$K/$f.ko" "$TMP/extra$DIR/"
    echo "${f##*/}.ko" >> "$TMP/extra$DIR/ORDER"
done
(cd "$TMP/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$TMP/extra.cpio.gz"
cat "$G/initramfs.cpio.gz" "$TMP/extra.cpio.gz" > "$OUTFILE"
echo "$KPKG" > "$OUTFILE.kpkg"
