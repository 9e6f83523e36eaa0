#!/bin/sh
# Build tremu's default guest from Debian packages:
#   OUTDIR/vmlinuz            Debian's kernel (bzImage) from linux-image-amd64
#   OUTDIR/vmlinux            the same kernel as an uncompressed ELF (boots via its PVH note)
#   OUTDIR/initramfs.cpio.gz  busybox-static + tests/guest/init
#   OUTDIR/STAMP              what was built; present = done (delete it to rebuild)
# Usage: sh tests/guest/mkguest.sh OUTDIR     (run as root on Debian 12, or with the
# needed tools installed: apt-get, dpkg-deb, cpio, xz, gzip, od)
set -eu

die() { echo "mkguest: $*" >&2; exit 1; }
say() { echo "mkguest: $*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
INIT=$HERE/init
[ -f "$INIT" ] || die "missing $INIT"

if [ -f "$OUT/STAMP" ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/vmlinux" ] &&
   [ -s "$OUT/initramfs.cpio.gz" ] && [ ! "$INIT" -nt "$OUT/STAMP" ] &&
   [ ! "$HERE/mkguest.sh" -nt "$OUT/STAMP" ]; then
    exit 0
fi

# ---- tools ----
need=
command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian (or a derivative)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
command -v cpio >/dev/null || need="$need cpio"
command -v xz >/dev/null || need="$need xz-utils"
command -v zstd >/dev/null || need="$need zstd"
command -v gzip >/dev/null || need="$need gzip"
command -v od >/dev/null || need="$need coreutils"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || die "missing tools:$need (run: apt-get install$need)"
    say "installing$need"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null ||
        die "apt-get install$need failed"
fi

# ---- which kernel: the real package behind the linux-image-amd64 metapackage ----
kpkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
KPKG=$(kpkg)
if [ -z "$KPKG" ] || ! apt-cache show busybox-static >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "apt knows no linux-image-amd64/busybox-static: run apt-get update as root"
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    KPKG=$(kpkg)
fi
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 to a linux-image-*-amd64 package"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mkguest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# apt's download sandbox user (_apt) must be able to write there.
chmod 755 "$TMP"

say "downloading $KPKG busybox-static"
(cd "$TMP" && apt-get download -q "$KPKG" busybox-static >/dev/null 2>"$TMP/apt.err") || {
    cat "$TMP/apt.err" >&2; die "apt-get download failed"; }
mkdir "$TMP/root"
for deb in "$TMP"/*.deb; do
    dpkg-deb -x "$deb" "$TMP/root" || die "cannot extract $deb"
done

VMLINUZ=$(ls "$TMP"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$VMLINUZ" ] || die "$KPKG has no /boot/vmlinuz-*"
BUSYBOX=$TMP/root/bin/busybox
[ -x "$BUSYBOX" ] || die "busybox-static has no /bin/busybox"

# ---- vmlinux: the compressed payload of the bzImage, decompressed ----
# Linux boot protocol (Documentation/arch/x86/boot.rst): setup_sects at 0x1f1,
# "HdrS" at 0x202, payload_offset/payload_length at 0x248/0x24c (protocol 2.08+),
# the offset counting from the protected-mode code at (setup_sects + 1) * 512.
u8()  { od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' \n'; }
u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' \n'; }
magic=$(od -An -c -j 514 -N 4 "$VMLINUZ" | tr -d ' \n')
[ "$magic" = HdrS ] || die "$VMLINUZ is not a bzImage (no HdrS)"
sects=$(u8 "$VMLINUZ" 497); [ "$sects" = 0 ] && sects=4
poff=$(u32 "$VMLINUZ" 584)
plen=$(u32 "$VMLINUZ" 588)
start=$(( (sects + 1) * 512 + poff ))
fsize=$(wc -c < "$VMLINUZ")
[ "$plen" -gt 4 ] && [ $((start + plen)) -le "$fsize" ] || die "bad payload_offset/length in $VMLINUZ"
tail -c +$((start + 1)) "$VMLINUZ" | head -c "$plen" > "$TMP/payload"
# The compressor is whatever the kernel was configured with; Debian 12 uses xz.
# The stream may be followed by the 4-byte little-endian uncompressed size.
head -c $((plen - 4)) "$TMP/payload" > "$TMP/payload-4"
pm=$(od -An -tx1 -N 4 "$TMP/payload" | tr -d ' \n')
case "$pm" in
fd377a58) dec="xz -dc --single-stream" ;;
28b52ffd) dec="zstd -dcq" ;;
1f8b*)    dec="gzip -dc" ;;
5d00*)    dec="xz -dc --format=lzma" ;;
*) die "unknown kernel payload compression (magic $pm) in $VMLINUZ" ;;
esac
$dec < "$TMP/payload" > "$TMP/vmlinux" 2>/dev/null ||
    $dec < "$TMP/payload-4" > "$TMP/vmlinux" 2>/dev/null || true
[ "$(od -An -c -N 4 "$TMP/vmlinux" | tr -d ' \n')" = "177ELF" ] ||
    die "decompressing the payload of $VMLINUZ ($dec) did not give an ELF file"

# ---- initramfs ----
S=$TMP/initramfs
mkdir -p "$S/bin" "$S/sbin" "$S/usr/bin" "$S/usr/sbin" "$S/proc" "$S/sys" "$S/dev" \
         "$S/tmp" "$S/root" "$S/etc" "$S/mnt" "$S/run" "$S/var"
cp "$BUSYBOX" "$S/bin/busybox"
for a in $("$BUSYBOX" --list); do
    [ "$a" = busybox ] || ln -s busybox "$S/bin/$a"
done
cp "$INIT" "$S/init"
chmod 755 "$S/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$S/etc/passwd"
echo "root:x:0:" > "$S/etc/group"
# The kernel's built-in initramfs already has /dev/console; add it anyway when we
# can (root), for kernels without one.
mknod -m 600 "$S/dev/console" c 5 1 2>/dev/null || true
(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$TMP/initramfs.cpio.gz" ||
    die "cpio failed"

mkdir -p "$OUT"
cp "$VMLINUZ" "$OUT/vmlinuz.new" && mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
cp "$TMP/vmlinux" "$OUT/vmlinux.new" && mv "$OUT/vmlinux.new" "$OUT/vmlinux"
cp "$TMP/initramfs.cpio.gz" "$OUT/initramfs.new" && mv "$OUT/initramfs.new" "$OUT/initramfs.cpio.gz"
bbver=$(dpkg-deb -f "$TMP"/busybox-static_*.deb Version)
kver=$(dpkg-deb -f "$TMP/$KPKG"_*.deb Version 2>/dev/null || echo "?")
{
    echo "kernel $KPKG $kver ($dec)"
    echo "busybox-static $bbver"
    date -u +"built %Y-%m-%dT%H:%M:%SZ"
} > "$OUT/STAMP"
say "guest ready in $OUT: $(tr '\n' ';' < "$OUT/STAMP")"
