# Sourced (POSIX sh) by the scripts that build BIOS-bootable GRUB disks the way
# the course's lab disk is made, without loop devices or root:
# tests/firmware/mkgrubdisk.sh (the busybox test disk) and tests/lab/mkdisk.sh
# (the lab machine's whole disk). Layout, as grub-install --target=i386-pc
# leaves it on an MBR disk: sector 0 is GRUB's boot.img with our partition
# table, GRUB's core.img fills the gap from sector 1, and one partition starts
# at sector GRUBDISK_PSTART (1 MiB).

GRUBLIB=/usr/lib/grub/i386-pc
GRUBDISK_PSTART=2048

# grubdisk_need_tools: exits 3 with the package to install when a tool is missing.
grubdisk_need_tools() {
    for t in grub-mkimage mkfs.ext4 debugfs base64 cksum; do
        command -v $t >/dev/null || {
            echo "grubdisk: $t missing (apt-get install grub-common e2fsprogs)" >&2; exit 3; }
    done
    [ -f $GRUBLIB/boot.img ] || {
        echo "grubdisk: $GRUBLIB/boot.img missing (apt-get install grub-pc-bin)" >&2; exit 3; }
}

# grubdisk_inputs: the GRUB files a disk depends on (for cache stamps).
grubdisk_inputs() { echo "$GRUBLIB/boot.img $GRUBLIB/kernel.img $GRUBLIB/diskboot.img"; }

# grubdisk_core OUT MODULES...: core.img, GRUB's kernel with the modules that
# read the disk, its prefix pointing at partition 1 (no module directory on
# the disk: everything grub.cfg uses must be in MODULES).
grubdisk_core() {
    _out=$1; shift
    grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o "$_out" "$@" || return 1
    _n=$(( ($(stat -c %s "$_out") + 511) / 512 ))
    [ "$_n" -lt $GRUBDISK_PSTART ] || {
        echo "grubdisk: core.img too big ($_n sectors)" >&2; return 1; }
}

# grubdisk_le32 N: four bytes, little-endian, as printf escapes.
grubdisk_le32() {
    printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $((($1 >> 8) & 255)) \
        $((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# grubdisk_mbr DISK CORE PSECTORS: writes the MBR and core.img into DISK
# (already GRUBDISK_PSTART + PSECTORS sectors long, the partition's content in
# place), partition 1 of PSECTORS sectors, type 0x83, active.
grubdisk_mbr() {
    _disk=$1 _core=$2 _ps=$3
    # boot.img's code (446 bytes; the partition table and signature are ours).
    dd if=$GRUBLIB/boot.img of="$_disk" bs=446 count=1 conv=notrunc status=none || return 1
    # boot.img's kernel_sector (offset 0x5c, le64): where core.img starts
    # (grub-install writes it; 1 is the gap's first sector).
    printf "$(grubdisk_le32 1)$(grubdisk_le32 0)" |
        dd of="$_disk" bs=1 seek=$((0x5c)) conv=notrunc status=none
    # Partition 1: active, type 0x83, LBA start and size; CHS fields set to the
    # "use LBA" values (0xfe 0xff 0xff) as modern partitioners do.
    printf "\\200\\376\\377\\377\\203\\376\\377\\377$(grubdisk_le32 $GRUBDISK_PSTART)$(grubdisk_le32 "$_ps")" |
        dd of="$_disk" bs=1 seek=446 conv=notrunc status=none
    printf '\125\252' | dd of="$_disk" bs=1 seek=510 conv=notrunc status=none
    # core.img from sector 1. Its first sector (diskboot.img) carries the
    # blocklist of the rest; grub-mkimage filled in the length, the default
    # start (sector 2) is where the rest lands.
    dd if="$_core" of="$_disk" bs=512 seek=1 conv=notrunc status=none
}

# grubdisk_outb_marks: grub.cfg lines around `linux`/`initrd` write 1 and 2 to
# port 0x402 (debugcon, ignored without one), so a benchmark can time GRUB's
# loading through BIOS disk calls (tests/bench/firmware.sh). Needs iorw.
GRUBDISK_MARK1='outb 0x402 1'
GRUBDISK_MARK2='outb 0x402 2'
