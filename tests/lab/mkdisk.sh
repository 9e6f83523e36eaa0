#!/bin/bash
# The lab machine as the course ships it: one whole disk (cslab_rootfs.raw)
# that boots with no -kernel: an MBR with GRUB's boot.img, GRUB's core.img in
# the gap, and partition 1 holding the lab's ext4 root (tests/lab/mkrootfs.sh's
# base.raw) with the Debian kernel and initrd in /boot and a
# /boot/grub/grub.cfg. No loop devices, no root needed: the partition is a copy
# of base.raw, edited in place by debugfs through e2fsprogs' ?offset= option.
#
#   tests/lab/mkdisk.sh LABDIR OUTDIR     -> OUTDIR/disk.raw, OUTDIR/STAMP
#
# grub.cfg (timeout 3 s, serial console through SeaBIOS's sercon):
#   0 "Debian GNU/Linux"                    root=UUID=... ro console=ttyS0
#   1 "Debian GNU/Linux (second entry)"     the same plus tremu.entry=2
# and, as Debian's grub.cfg does for grub-reboot, a one-shot next_entry in
# /boot/grub/grubenv picks the entry of the next boot (GRUB clears it through
# a BIOS disk write), so a test can reboot into the second entry without
# racing the menu's timeout. /etc/fstab names the root by UUID, so the same
# disk boots as /dev/vda1 (virtio) or /dev/sda1 (IDE); systemd's start and
# device timeouts are 20 min (a loaded host, see below).
#
# OUTDIR is rebuilt when its STAMP does not match the inputs (the lab image's
# STAMP, kernel, initrd, GRUB's images, these scripts). LABDIR is only read.
set -euo pipefail
LAB=${1:?usage: mkdisk.sh LABDIR OUTDIR} OUT=${2:?usage: mkdisk.sh LABDIR OUTDIR}
HERE=$(dirname "$(readlink -f "$0")")
LIB=$HERE/../firmware/grubdisk.sh
# shellcheck source=../firmware/grubdisk.sh
. "$LIB"
grubdisk_need_tools
for f in STAMP base.raw vmlinuz initrd.img; do
    [ -s "$LAB/$f" ] || { echo "mkdisk: $LAB/$f missing (tests/lab/mkrootfs.sh $LAB)" >&2; exit 1; }
done

# Everything grub.cfg uses, as there is no module directory on the disk.
MODULES="biosdisk part_msdos ext2 normal linux iorw loadenv test echo"
stamp=$( { cksum "$LAB/STAMP" "$LAB/vmlinuz" "$LAB/initrd.img" $(grubdisk_inputs) "$0" "$LIB" |
           cut -d' ' -f1,2; echo "$MODULES"; } | cksum)
if [ -f "$OUT/STAMP" ] && [ "$(cat "$OUT/STAMP")" = "$stamp" ] && [ -s "$OUT/disk.raw" ]; then
    exit 0
fi
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-labdisk.XXXXXX")
trap 'rm -rf "$W"' EXIT

kver=$(sed -n 's/^kernel //p' "$LAB/STAMP")
[ -n "$kver" ] || { echo "mkdisk: no 'kernel' line in $LAB/STAMP" >&2; exit 1; }
uuid=$(dumpe2fs -h "$LAB/base.raw" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')
[ -n "$uuid" ] || { echo "mkdisk: no ext4 UUID in $LAB/base.raw" >&2; exit 1; }
# The kernel and initrd GRUB loads are the image's own (/boot), which the
# direct-boot tests take from LABDIR: they must be the same files.
for f in vmlinuz initrd.img; do
    debugfs -R "dump /boot/$f-$kver $W/$f" "$LAB/base.raw" 2>/dev/null
    cmp -s "$W/$f" "$LAB/$f" || { echo "mkdisk: /boot/$f-$kver in base.raw differs from $LAB/$f" >&2; exit 1; }
done
rm -f "$W/vmlinuz" "$W/initrd.img"

args="root=UUID=$uuid ro console=ttyS0"
cat > "$W/grub.cfg" <<CFG
# The lab disk's GRUB menu (tests/lab/mkdisk.sh).
set default=0
set timeout=3
load_env
if [ "\${next_entry}" ] ; then
    set default="\${next_entry}"
    set next_entry=
    save_env next_entry
fi
menuentry 'Debian GNU/Linux' {
    $GRUBDISK_MARK1
    echo 'Loading Linux $kver ...'
    linux /boot/vmlinuz-$kver $args
    echo 'Loading initial ramdisk ...'
    initrd /boot/initrd.img-$kver
    $GRUBDISK_MARK2
}
menuentry 'Debian GNU/Linux (second entry)' {
    $GRUBDISK_MARK1
    echo 'Loading Linux $kver (second entry) ...'
    linux /boot/vmlinuz-$kver $args tremu.entry=2
    echo 'Loading initial ramdisk ...'
    initrd /boot/initrd.img-$kver
    $GRUBDISK_MARK2
}
CFG
# GRUB's environment block: exactly 1024 bytes, '#'-padded (grub-editenv's format).
{ printf '# GRUB Environment Block\n'; head -c $((1024 - 25)) /dev/zero | tr '\0' '#'; } > "$W/grubenv"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" > "$W/fstab"
# systemd waits 90 s (of wall time) for a device such as /dev/ttyS0 before
# giving up on the units that need it (the serial getty: no `login:`). A
# software CPU on a loaded shared host can take longer to get there.
cat > "$W/timeouts.conf" <<CONF
# tests/lab/mkdisk.sh: a loaded host running the software CPU is slow.
[Manager]
DefaultTimeoutStartSec=20min
DefaultDeviceTimeoutSec=20min
CONF

grubdisk_core "$W/core.img" $MODULES

# The disk: 1 MiB for the MBR and core.img, then the partition (sparse copy).
psize=$(stat -c %s "$LAB/base.raw")
[ $((psize % 512)) -eq 0 ] || { echo "mkdisk: base.raw is not whole sectors" >&2; exit 1; }
psectors=$((psize / 512))
truncate -s $(( (GRUBDISK_PSTART + psectors) * 512 )) "$W/disk.raw"
dd if="$LAB/base.raw" of="$W/disk.raw" bs=1M seek=$((GRUBDISK_PSTART / 2048)) conv=sparse,notrunc status=none
part="$W/disk.raw?offset=$((GRUBDISK_PSTART * 512))"
debugfs -w -f - "$part" >"$W/debugfs.log" 2>&1 <<CMDS
mkdir /boot/grub
write $W/grub.cfg /boot/grub/grub.cfg
write $W/grubenv /boot/grub/grubenv
rm /etc/fstab
write $W/fstab /etc/fstab
mkdir /etc/systemd/system.conf.d
write $W/timeouts.conf /etc/systemd/system.conf.d/timeouts.conf
CMDS
for f in /boot/grub/grub.cfg /boot/grub/grubenv /etc/fstab /etc/systemd/system.conf.d/timeouts.conf; do
    debugfs -R "dump $f $W/check" "$part" 2>/dev/null
    cmp -s "$W/check" "$W/$(basename "$f")" || {
        echo "mkdisk: $f not written:" >&2; cat "$W/debugfs.log" >&2; exit 1; }
done
e2fsck -fn "$part" >"$W/fsck.log" 2>&1 || { echo "mkdisk: the edited file system does not check:" >&2; tail "$W/fsck.log" >&2; exit 1; }
grubdisk_mbr "$W/disk.raw" "$W/core.img" $psectors

mv "$W/disk.raw" "$OUT/disk.raw"
{ echo "$kver"; echo "$uuid"; } > "$OUT/INFO"
echo "$stamp" > "$OUT/STAMP"
echo "mkdisk: $OUT/disk.raw (kernel $kver, root UUID $uuid)"
