#!/bin/bash
# Firmware boot of a GRUB disk, as the course's lab disk is started: no -kernel,
# SeaBIOS (the default firmware) reads the MBR, GRUB shows its menu on the
# serial console (SeaBIOS's sercon, fw_cfg etc/sercon-port), the second entry
# is picked by keys sent to the serial line, the guest reboots (reboot -f)
# back through SeaBIOS into GRUB, the first entry is picked, and the guest
# powers off through ACPI, whose tables SeaBIOS installed from fw_cfg's
# table-loader: tremu then exits 0. On IDE the first entry is booted once.
#
# The disk (tests/firmware/mkgrubdisk.sh, no loop devices) is cached in
# $CACHE/grubdisk and used read-only (snapshot=on).
#
# Environment: FW_TIMEOUT=300 (seconds per step), FW_KEEP=1 (keep logs),
# FW_ONLY=cdrom,linuxide,virtio,ide (comma-separated runs), TREMU=path, CACHE as in the Makefile.
# Ends with `firmware: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
TIMEOUT=${FW_TIMEOUT:-300}
ONLY=${FW_ONLY:-cdrom,linuxide,virtio,ide}
TREMU_BIN=${TREMU:-./tremu}
pass=0 fail=0 skip=0
ok()    { pass=$((pass + 1)); echo "ok    $1"; }
notok() { fail=$((fail + 1)); echo "FAIL  $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/      /'; done; }
skipt() { skip=$((skip + 1)); echo "skip  $1 ($2)"; }
finish() {
    echo "firmware: $pass passed, $fail failed$([ $skip -gt 0 ] && echo ", $skip skipped")"
    [ "$fail" -eq 0 ]
    exit
}

[ -x "$TREMU_BIN" ] || { notok "tremu built" "$TREMU_BIN missing: run make tremu"; finish; }
if [ ! -r /usr/share/seabios/bios-256k.bin ]; then
    skipt "GRUB disk through SeaBIOS" "needs Debian's seabios package (make deps)"; finish
fi
if ! command -v grub-mkimage >/dev/null || [ ! -f /usr/lib/grub/i386-pc/boot.img ] ||
   ! command -v mkfs.ext4 >/dev/null; then
    skipt "GRUB disk through SeaBIOS" "needs grub-pc-bin, grub-common and e2fsprogs (make deps)"; finish
fi
for f in vmlinuz initramfs.cpio.gz; do
    [ -s "$G/$f" ] || { notok "guest present" "$G/$f missing: run make guest"; finish; }
done
if ! out=$(sh tests/firmware/mkgrubdisk.sh "$C/grubdisk" "$G/vmlinuz" "$G/initramfs.cpio.gz" 2>&1); then
    notok "GRUB disk built (tests/firmware/mkgrubdisk.sh)" "$out"; finish
fi
ok "GRUB disk built (MBR + boot.img + core.img + ext4 by mkfs.ext4 -d)"
DISK=$C/grubdisk/disk.img

W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-fw.XXXXXX")
if [ -n "$FW_KEEP" ]; then echo "firmware: logs in $W"; else trap 'rm -rf "$W"' EXIT; fi

# count FILE TEXT: occurrences of TEXT on the serial log, with the terminal
# escapes SeaBIOS's serial console draws GRUB's menu with taken out (they
# can fall between the letters of a word, depending on timing).
count() { tr -d '\r' < "$1" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -a -o -F -- "$2" | wc -l; }
# wait_for NAME TEXT N: until TEXT has appeared N times, the VM died, or TIMEOUT.
wait_for() {
    local t0=$SECONDS
    while [ "$(count "$W/$1.out" "$2")" -lt "$3" ]; do
        kill -0 "$VMPID" 2>/dev/null || return 1
        [ $((SECONDS - t0)) -ge "$TIMEOUT" ] && return 1
        sleep 0.3
    done
    return 0
}
# key NAME BYTES: typed on the serial line (printf escapes).
key() { printf "$2" >&3; }

# grub_run NAME full|once DRIVE-OPTIONS...: the whole scenario on one disk
# interface (full), or the first entry straight away (once: menu, Enter, poweroff).
grub_run() {
    local n=$1 mode=$2; shift 2
    local t0=$SECONDS
    mkfifo "$W/$n.in"
    exec 3<>"$W/$n.in"          # read-write: opening never blocks
    "$TREMU_BIN" -m 256 -display none -nodefaults -serial stdio -monitor none -accel tcg \
        "$@" < "$W/$n.in" > "$W/$n.out" 2> "$W/$n.err" &
    VMPID=$!
    local step="" rc
    if ! wait_for "$n" "SeaBIOS (version" 1; then step="SeaBIOS banner on the serial console"
    elif ! wait_for "$n" "Use the" 1; then step="GRUB menu (first boot)"
    else
        t_menu=$((SECONDS - t0))
        if [ "$mode" = once ]; then
            key "$n" '\r'
            if ! wait_for "$n" "GRUB-ENTRY-ONE" 1; then step="first entry's command ran (GRUB-ENTRY-ONE)"; fi
        else
            key "$n" '\016'        # Ctrl-N: next entry (GRUB's emacs-style key)
            sleep 0.5
            key "$n" '\r'
            if ! wait_for "$n" "GRUB-ENTRY-TWO" 1; then step="second entry's command ran (GRUB-ENTRY-TWO)"
            elif ! wait_for "$n" "Use the" 2; then step="GRUB menu again after reboot -f"
            else
                key "$n" '\r'
                if ! wait_for "$n" "GRUB-ENTRY-ONE" 1; then step="first entry's command ran (GRUB-ENTRY-ONE)"; fi
            fi
        fi
    fi
    # The first entry powers off: tremu exits by itself.
    local t1=$SECONDS
    while kill -0 "$VMPID" 2>/dev/null && [ $((SECONDS - t1)) -lt 60 ]; do sleep 0.3; done
    kill "$VMPID" 2>/dev/null
    wait "$VMPID"; rc=$?
    exec 3>&-
    echo "      ($n: exit $rc after $((SECONDS - t0)) s, GRUB menu after ${t_menu:-?} s)"
    if [ -n "$step" ]; then
        notok "$n: $step" "last console lines:" "$(tr -d '\r' < "$W/$n.out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 6)" \
            "emulator stderr (tail):" "$(tail -n 10 "$W/$n.err")"
        return
    fi
    if [ "$mode" = once ]; then ok "$n: SeaBIOS → GRUB menu → 1st entry (kernel and initrd through int 13h)"
    else ok "$n: SeaBIOS → GRUB menu → 2nd entry → reboot → GRUB → 1st entry"; fi
    if [ "$rc" -eq 0 ]; then
        ok "$n: ACPI poweroff from the firmware-installed tables ends tremu with status 0"
    else
        notok "$n: ACPI poweroff from the firmware-installed tables ends tremu with status 0" \
            "exit $rc" "$(tail -n 5 "$W/$n.err")"
    fi
    local bad
    bad=$(tr -d '\r' < "$W/$n.out" | grep -aE 'BUG:|Oops|Kernel panic|ACPI Error|ACPI BIOS Error' | head -n 5)
    if [ -z "$bad" ]; then ok "$n: boot logs clean (no BUG, Oops, panic, ACPI error)"
    else notok "$n: boot logs clean (no BUG, Oops, panic, ACPI error)" "$bad"; fi
}

# -cdrom -boot d: a minimal El Torito CD (no-emulation boot image) made here
# with printf and dd. SeaBIOS reads its Boot Record Volume Descriptor and boot
# catalog over ATAPI and runs the image, which prints CDBOOT-OK through
# int 10h (sercon: the serial line) and writes 0 to isa-debug-exit (status 1).
# -drive media=cdrom,index=2 is what -cdrom means; format=raw keeps it quiet.
make_cd() {
    local iso=$W/cd.iso
    [ -s "$iso" ] && return
    dd if=/dev/zero of="$iso" bs=2048 count=24 status=none
    put() { printf "$2" | dd of="$iso" bs=1 seek=$(($1)) conv=notrunc status=none; }
    # sector 17: Boot Record Volume Descriptor (El Torito 1.0 §2.0), catalog at 19
    put '17*2048' '\000CD001\001EL TORITO SPECIFICATION'
    put '17*2048+0x47' '\023\000\000\000'
    put '18*2048' '\377CD001\001'                  # set terminator
    # sector 19: validation entry (x86, checksum 0x55aa, key 55 aa), then the
    # default entry: bootable, no emulation, 1 virtual sector at LBA 20
    put '19*2048' '\001'
    put '19*2048+28' '\252\125\125\252'
    put '19*2048+32' '\210\000\000\000\000\000\001\000\024\000\000\000'
    # sector 20 (loaded at 0:7c00 or 7c0:0: position-independent): push cs; pop ds;
    # call/pop si; add si,msg; print with int 10h/0eh; sti and hlt 4 timer ticks
    # (sercon flushes its buffer from the timer interrupt); wait for the UART to
    # drain (LSR.TEMT); out 0xf4,0; hlt
    put '20*2048' '\016\037\350\000\000\136\203\306\047\254\204\300\164\006\264\016\315\020\353\365\271\004\000\373\364\342\374\272\375\003\354\250\100\164\373\272\364\000\260\000\356\364\353\376CDBOOT-OK\r\n\000'
}
cd_run() {
    local iso=$W/cd.iso t0=$SECONDS rc
    make_cd
    timeout -k 5 "$TIMEOUT" "$TREMU_BIN" -m 64 -display none -nodefaults -serial stdio -monitor none \
        -accel tcg -drive file="$iso",media=cdrom,index=2,format=raw -boot d -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        < /dev/null > "$W/cd.out" 2> "$W/cd.err"
    rc=$?
    echo "      (cdrom: exit $rc after $((SECONDS - t0)) s)"
    if [ "$rc" -eq 1 ] && grep -aq "CDBOOT-OK" "$W/cd.out"; then
        ok "cdrom: SeaBIOS boots an El Torito image from -cdrom (ATAPI) with -boot d"
    else
        notok "cdrom: SeaBIOS boots an El Torito image from -cdrom (ATAPI) with -boot d" "exit $rc" \
            "$(tr -d '\r' < "$W/cd.out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 5)" "$(tail -n 5 "$W/cd.err")"
    fi
}
case ",$ONLY," in *,cdrom,*) cd_run ;; esac

# Linux's own drivers on the same controller (direct boot, no firmware):
# ata_piix, sd and sr from the guest kernel's package (tests/firmware/
# mkidemods.sh, cached in $CACHE/idemods) find the disk (bus-master DMA
# through BAR4, multiword DMA 2 as on QEMU's PIIX3) and the CD-ROM (PIO),
# read them (checksums against the host's) and write a sector that the host
# then finds in the image.
linux_ide_run() {
    local n=linuxide t0=$SECONDS rc out
    if ! out=$(sh tests/firmware/mkidemods.sh "$C/idemods" "$G" 2>&1); then
        skipt "$n: Linux ata_piix/sd/sr on the IDE controller" "cannot get the kernel's modules: $(echo "$out" | tail -n 1)"
        return
    fi
    make_cd
    cp "$DISK" "$W/ide.img"
    cat "$G/initramfs.cpio.gz" "$C/idemods/ide-mods.cpio.gz" > "$W/ide-initrd.gz"
    local script='for m in $(cat /opt/mods/ORDER); do insmod /opt/mods/$m.ko || echo INSMOD-FAIL $m; done
i=0; while { [ ! -b /dev/sda ] || [ ! -b /dev/sr0 ]; } && [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done
dmesg | grep -E "ata[0-9].*(PIO|ATA|ATAPI)|BMDMA"
echo XFER $(cat /sys/class/ata_device/dev1.0/xfer_mode)
echo SDA $(dd if=/dev/sda bs=1M count=8 2>/dev/null | md5sum)
echo SR0 $(dd if=/dev/sr0 bs=2048 count=24 2>/dev/null | md5sum)
printf tremu-ide-write-ok | dd of=/dev/sda bs=512 seek=90000 conv=sync 2>/dev/null; sync
echo 3 > /proc/sys/vm/drop_caches
echo BACK $(dd if=/dev/sda bs=512 skip=90000 count=1 2>/dev/null | head -c 18)'
    timeout -k 5 "$TIMEOUT" "$TREMU_BIN" -m 256 -display none -nodefaults -serial stdio -monitor none \
        -accel tcg -no-reboot -kernel "$G/vmlinuz" -initrd "$W/ide-initrd.gz" \
        -append "console=ttyS0 quiet tremu.cmd64=$(printf '%s' "$script" | base64 -w0)" \
        -drive file="$W/ide.img",format=raw -drive file="$W/cd.iso",media=cdrom,index=2,format=raw \
        < /dev/null > "$W/$n.out" 2> "$W/$n.err"
    rc=$?
    echo "      ($n: exit $rc after $((SECONDS - t0)) s)"
    local sda sr0 back
    sda=$(dd if="$DISK" bs=1M count=8 2>/dev/null | md5sum | cut -d' ' -f1)
    sr0=$(md5sum < "$W/cd.iso" | cut -d' ' -f1)
    back=$(dd if="$W/ide.img" bs=512 skip=90000 count=1 2>/dev/null | head -c 18)
    local log; log=$(tr -d '\r' < "$W/$n.out")
    if echo "$log" | grep -q "ATA-[0-9]*: TREMU HARDDISK" && echo "$log" | grep -q "ATAPI: TREMU DVD-ROM" &&
       echo "$log" | grep -q "XFER XFER_MW_DMA_2" && ! echo "$log" | grep -q INSMOD-FAIL; then
        ok "$n: Linux ata_piix finds the disk (ATA, bus-master DMA) and the CD-ROM (ATAPI)"
    else
        notok "$n: Linux ata_piix finds the disk (ATA, bus-master DMA) and the CD-ROM (ATAPI)" \
            "exit $rc" "$(echo "$log" | grep -E 'ata|INSMOD|TREMU|XFER' | tail -n 8)"
    fi
    if echo "$log" | grep -q "SDA $sda" && echo "$log" | grep -q "SR0 $sr0"; then
        ok "$n: /dev/sda and /dev/sr0 read what the host reads from the images"
    else
        notok "$n: /dev/sda and /dev/sr0 read what the host reads from the images" \
            "host: sda $sda sr0 $sr0" "$(echo "$log" | grep -E '^(SDA|SR0)')"
    fi
    if [ "$back" = tremu-ide-write-ok ] && echo "$log" | grep -q "BACK tremu-ide-write-ok"; then
        ok "$n: a sector written by Linux reaches the image (and reads back)"
    else
        notok "$n: a sector written by Linux reaches the image (and reads back)" \
            "host sees '$back'" "$(echo "$log" | grep '^BACK')"
    fi
}
case ",$ONLY," in *,linuxide,*) linux_ide_run ;; esac
case ",$ONLY," in *,virtio,*)
    grub_run virtio full -drive file="$DISK",if=virtio,format=raw,snapshot=on ;;
esac
case ",$ONLY," in *,ide,*)
    grub_run ide once -drive file="$DISK",if=ide,format=raw,snapshot=on ;;
esac
finish
