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
GRUBLIB=/usr/lib/grub/i386-pc
for t in grub-mkimage mkfs.ext4 base64 cksum; do
    command -v $t >/dev/null || { echo "mkgrubdisk: $t missing (apt-get install grub-common e2fsprogs)" >&2; exit 3; }
done
[ -f $GRUBLIB/boot.img ] || { echo "mkgrubdisk: $GRUBLIB/boot.img missing (apt-get install grub-pc-bin)" >&2; exit 3; }

CMD1=$(printf 'echo GRUB-ENTRY-ONE' | base64 -w0)
CMD2=$(printf 'echo GRUB-ENTRY-TWO; sync; reboot -f' | base64 -w0)
MODULES="biosdisk part_msdos ext2 normal linux iorw"
stamp=$( { cksum "$KERNEL" "$INITRD" $GRUBLIB/boot.img $GRUBLIB/kernel.img "$0" | cut -d' ' -f1,2; echo "$MODULES"; } | cksum)
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
    outb 0x402 1
    linux /boot/vmlinuz console=ttyS0 tremu.cmd64=$CMD1
    initrd /boot/initrd.img
    outb 0x402 2
}
menuentry 'tremu two' {
    outb 0x402 1
    linux /boot/vmlinuz console=ttyS0 tremu.cmd64=$CMD2
    initrd /boot/initrd.img
    outb 0x402 2
}
CFG

# core.img: GRUB's kernel with the modules to read this disk, its prefix
# pointing at the partition (grub-install --target=i386-pc does the same).
grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o "$W/core.img" $MODULES
core_sectors=$(( ($(stat -c %s "$W/core.img") + 511) / 512 ))
[ "$core_sectors" -le 2047 ] || { echo "mkgrubdisk: core.img too big ($core_sectors sectors)" >&2; exit 1; }

PSTART=2048
SIZE_MB=48
PSECTORS=$(( SIZE_MB * 2048 - PSTART ))
rm -f "$W/disk.img"
truncate -s ${SIZE_MB}M "$W/disk.img"
mkfs.ext4 -q -F -L tremu-boot -d "$W/root" -E offset=$((PSTART * 512)) "$W/disk.img" $((PSECTORS / 2))k

# le32 N: four bytes, little-endian, as printf escapes.
le32() { printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
# MBR: boot.img's code (446 bytes; the partition table and signature are ours).
dd if=$GRUBLIB/boot.img of="$W/disk.img" bs=446 count=1 conv=notrunc status=none
# boot.img's kernel_sector (offset 0x5c, le64): where core.img starts. grub-install
# writes it; 1 is the gap's first sector.
printf "$(le32 1)$(le32 0)" | dd of="$W/disk.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
# Partition 1: active, type 0x83, LBA start and size; CHS fields set to the
# "use LBA" values (0xfe 0xff 0xff) as modern partitioners do.
printf "\\200\\376\\377\\377\\203\\376\\377\\377$(le32 $PSTART)$(le32 $PSECTORS)" |
    dd of="$W/disk.img" bs=1 seek=446 conv=notrunc status=none
printf '\125\252' | dd of="$W/disk.img" bs=1 seek=510 conv=notrunc status=none
# core.img from sector 1. Its first sector (diskboot.img) carries the
# blocklist of the rest; grub-mkimage filled in the length, the default
# start (sector 2) is where the rest lands.
dd if="$W/core.img" of="$W/disk.img" bs=512 seek=1 conv=notrunc status=none

mv "$W/disk.img" "$OUT/disk.img"
echo "$stamp" > "$OUT/STAMP"
