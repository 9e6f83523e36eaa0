#!/bin/sh
# Builds the initramfs the display suite boots to test Linux's bochs-drm:
# the default guest's initramfs (tests/guest/mkguest.sh) with a second cpio
# archive appended holding bochs.ko and the DRM modules it needs, taken from
# the same Debian kernel package the guest's kernel comes from.
#   tests/display/mkdrm.sh GUESTDIR OUTDIR    → OUTDIR/initramfs-drm.cpio.gz
# Exits non-zero with a message when the guest or apt is missing.
set -e
G=$1; OUT=$2
die() { echo "mkdrm: $*" >&2; exit 1; }
[ -s "$G/initramfs.cpio.gz" ] && [ -s "$G/STAMP" ] || die "no default guest in $G (make guest)"
KPKG=$(awk '$1 == "kernel" { print $2; exit }' "$G/STAMP")
[ -n "$KPKG" ] || die "cannot tell the guest's kernel package from $G/STAMP"
[ -s "$OUT/initramfs-drm.cpio.gz" ] && [ "$(cat "$OUT/KPKG" 2>/dev/null)" = "$KPKG" ] && exit 0
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -q "$KPKG" >/dev/null 2>"$TMP/apt.err") || die "apt-get download $KPKG failed: $(cat "$TMP/apt.err")"
dpkg-deb -x "$TMP"/"$KPKG"_*.deb "$TMP/root"
M=$(echo "$TMP"/root/lib/modules/*/kernel/drivers/gpu/drm)
mkdir -p "$TMP/extra/opt/drm"
# Load order: each after what it depends on (modinfo depends= fields).
for f in drm drm_kms_helper ttm/ttm drm_ttm_helper drm_vram_helper tiny/bochs; do
    [ -f "$M/$f.ko" ] || die "$f.ko not in $KPKG"
    cp "$M/$f.ko" "$TMP/extra/opt/drm/"
done
(cd "$TMP/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$TMP/extra.cpio.gz"
cat "$G/initramfs.cpio.gz" "$TMP/extra.cpio.gz" > "$OUT/initramfs-drm.cpio.gz"
echo "$KPKG" > "$OUT/KPKG"
