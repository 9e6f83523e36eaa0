#!/bin/sh
# The IDE drivers of the default guest's kernel (make guest), as an initramfs
# overlay: Debian builds ata_piix, libata, sd_mod, sr_mod and their
# dependencies as modules, and the busybox guest has none. The package is the
# one the guest's kernel came from (its STAMP names it), fetched with
# apt-get download; only the modules are kept.
#
#   sh tests/firmware/mkidemods.sh OUTDIR GUESTDIR
#
# OUTDIR/ide-mods.cpio.gz holds /opt/mods/NAME.ko and /opt/mods/ORDER (the
# insmod order); rebuilt when the guest's STAMP changes.
set -e
OUT=$1 GUEST=$2
[ -n "$OUT" ] && [ -f "$GUEST/STAMP" ] || { echo "usage: mkidemods.sh OUTDIR GUESTDIR" >&2; exit 2; }
line=$(grep '^kernel ' "$GUEST/STAMP" | head -n 1)
pkg=$(echo "$line" | cut -d' ' -f2) ver=$(echo "$line" | cut -d' ' -f3)
[ -n "$pkg" ] && [ -n "$ver" ] || { echo "mkidemods: no kernel package in $GUEST/STAMP" >&2; exit 3; }
if [ -f "$OUT/STAMP" ] && [ "$(cat "$OUT/STAMP")" = "$line" ] && [ -s "$OUT/ide-mods.cpio.gz" ]; then
    exit 0
fi
for t in apt-get dpkg-deb cpio gzip strings; do
    command -v $t >/dev/null || { echo "mkidemods: $t missing" >&2; exit 3; }
done
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-idemods.XXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"          # apt's sandbox user writes the download there
(cd "$W" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$W/apt.err") || {
    cat "$W/apt.err" >&2; exit 1; }
dpkg-deb -x "$W"/*.deb "$W/root"
K=$(ls -d "$W"/root/lib/modules/*/kernel | head -n 1)
mkdir -p "$W/ov/opt/mods"
# Dependency order from each module's modinfo "depends=" (no modinfo needed).
seen=" "
visit() {
    case "$seen" in *" $1 "*) return ;; esac
    seen="$seen$1 "
    f=$(find "$K" -name "$1.ko" | head -n 1)
    [ -n "$f" ] || { echo "mkidemods: module $1 not in $pkg" >&2; exit 1; }
    for d in $(strings "$f" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do visit "$d"; done
    # (sh has no locals: the recursion changed $f, so look it up again)
    cp "$(find "$K" -name "$1.ko" | head -n 1)" "$W/ov/opt/mods/$1.ko"
    echo "$1" >> "$W/ov/opt/mods/ORDER"
}
for m in ata_piix sd_mod sr_mod; do visit $m; done
(cd "$W/ov" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$OUT/ide-mods.cpio.gz"
echo "$line" > "$OUT/STAMP"
