#!/bin/sh
# Builds a BIOS-bootable GRUB disk like the course's lab disk, without loop
# devices or root: an MBR with GRUB's boot.img, GRUB's core.img in the gap
# before the first partition (sectors 1..2047), and one ext4 partition from
# sector 2048 holding /boot/vmlinuz, /boot/initrd.img and /boot/grub/grub.cfg
# (made by mkfs.ext4 -d, written in place with -E offset=).
#
#   sh tests/firmware/mkgrubdisk.sh OUTDIR KERNEL INITRD
#
# The guest is tremu's default guest (make guest): its /init runs the command
# of tremu.cmd64= and powers off. grub.cfg has two entries:
#   0 "tremu one": prints GRUB-ENTRY-ONE and powers off (the default)
#   1 "tremu two": prints GRUB-ENTRY-TWO and reboots (reboot -f)
# The markers are base64 in the command line, so the kernel's own echo of its
# command line never contains them. Each entry writes byte 0x01 to port 0x402
# (debugcon) before loading the kernel and 0x02 after the initrd, so a
# benchmark can time GRUB's loading through BIOS disk calls (tests/bench). OUTDIR/disk.img is rebuilt only when an
# input changes (OUTDIR/STAMP). Needs grub-pc-bin, grub-common, e2fsprogs.
set -e
OUT=$1 KERNEL=$2 INITRD=$3
[ -n "$OUT" ] && [ -s "$KERNEL" ] && [ -s "$INITRD" ] || {
    echo "usage: mkgrubdisk.sh OUTDIR KERNEL INITRD" >&2; exit 2; }
LIB=$(dirname "$0")/grubdisk.sh
. "$LIB"
grubdisk_need_tools

CMD1=$(printf 'echo GRUB-ENTRY-ONE' | base64 -w0)
CMD2=$(printf 'echo GRUB-ENTRY-TWO; sync; reboot -f' | base64 -w0)
MODULES="biosdisk part_msdos ext2 normal linux iorw"
stamp=$( { cksum "$KERNEL" "$INITRD" $(grubdisk_inputs) "$0" "$LIB" | cut -d' ' -f1,2; echo "$MODULES"; } | cksum)
if [ -f "$OUT/STAMP" ] && [ "$(cat "$OUT/STAMP")" = "$stamp" ] && [ -s "$OUT/disk.img" ]; then
    exit 0
fi
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-grubdisk.XXXXXX")
trap 'rm -rf "$W"' EXIT

mkdir -p "$W/root/boot/grub"
cp "$KERNEL" "$W/root/boot/vmlinuz"
cp "$INITRD" "$W/root/boot/initrd.img"
cat > "$W/root/boot/grub/grub.cfg" <<CFG
set timeout=30
set default=0
menuentry 'tremu one' {
    $GRUBDISK_MARK1
    linux /boot/vmlinuz console=ttyS0 tremu.cmd64=$CMD1
    initrd /boot/initrd.img
    $GRUBDISK_MARK2
}
menuentry 'tremu two' {
    $GRUBDISK_MARK1
    linux /boot/vmlinuz console=ttyS0 tremu.cmd64=$CMD2
    initrd /boot/initrd.img
    $GRUBDISK_MARK2
}
CFG

grubdisk_core "$W/core.img" $MODULES

PSTART=$GRUBDISK_PSTART
SIZE_MB=48
PSECTORS=$(( SIZE_MB * 2048 - PSTART ))
rm -f "$W/disk.img"
truncate -s ${SIZE_MB}M "$W/disk.img"
mkfs.ext4 -q -F -L tremu-boot -d "$W/root" -E offset=$((PSTART * 512)) "$W/disk.img" $((PSECTORS / 2))k

grubdisk_mbr "$W/disk.img" "$W/core.img" $PSECTORS

mv "$W/disk.img" "$OUT/disk.img"
echo "$stamp" > "$OUT/STAMP"
