#!/bin/bash
# Firmware boot of the GRUB disk (tests/firmware/mkgrubdisk.sh) against the
# direct -kernel boot of the same kernel and initrd, tremu and Debian's QEMU
# (-accel tcg) in the same run. For each: seconds to the GRUB menu, GRUB's
# loading of kernel + initrd through BIOS disk calls (from the byte GRUB writes
# to port 0x402 before `linux` to the one after `initrd`), and to the guest's
# userspace (GRUB-ENTRY-ONE / TREMU-BOOT-OK); host CPU seconds of the whole run.
# QEMU gets etc/sercon-port too (-fw_cfg), so both show GRUB on the serial line.
#   BENCH_RUNS=3, BENCH_SKIP_QEMU=1, CACHE as in the Makefile; prints medians.
cd "$(dirname "$0")/../.." || exit 1
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
RUNS=${BENCH_RUNS:-3}
QEMU=$(command -v qemu-system-x86_64)
[ -n "$BENCH_SKIP_QEMU" ] && QEMU=
sh tests/firmware/mkgrubdisk.sh "$C/grubdisk" "$G/vmlinuz" "$G/initramfs.cpio.gz" || exit 1
DISK=$C/grubdisk/disk.img
W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-fwbench.XXXXXX")
VM=
trap '[ -n "$VM" ] && kill $VM 2>/dev/null; rm -rf "$W"' EXIT
printf '\370\003' > "$W/sercon"
CMD1=$(printf 'echo GRUB-ENTRY-ONE' | base64 -w0)

now() { date +%s.%N; }
sub() { [ -n "$1" ] && [ -n "$2" ] && echo "$1 - $2" | bc -l || echo nan; }

# one KIND ENGINE: prints "menu load shell cpu"
one() {
    local kind=$1 eng=$2 bin args t0 tm= tl= ti= ts= pid
    if [ "$eng" = qemu ]; then
        bin=("$QEMU" -accel tcg -M pc -fw_cfg name=etc/sercon-port,file="$W/sercon"
             -chardev file,id=dbgc,path="$W/dbg" -device isa-debugcon,iobase=0x402,chardev=dbgc)
    else
        bin=(./tremu -accel tcg -debugcon file:"$W/dbg")
    fi
    args=(-m 256 -display none -nodefaults -serial stdio -monitor none -no-reboot)
    case $kind in
    direct) args+=(-kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz"
                   -append "console=ttyS0 tremu.cmd64=$CMD1") ;;
    virtio) args+=(-drive file="$DISK",if=virtio,format=raw,snapshot=on) ;;
    ide)    args+=(-drive file="$DISK",if=ide,format=raw,snapshot=on) ;;
    esac
    rm -f "$W/in" "$W/dbg"; : > "$W/out"
    mkfifo "$W/in"; exec 3<>"$W/in"
    t0=$(now)
    /usr/bin/time -f "%U %S" -o "$W/time" "${bin[@]}" "${args[@]}" < "$W/in" > "$W/out" 2>/dev/null &
    pid=$!
    VM=$pid
    local alive=1
    while [ $alive = 1 ]; do
        kill -0 $pid 2>/dev/null || alive=0
        if [ -z "$tm" ] && [ $kind != direct ] && grep -aq "Use the" "$W/out"; then tm=$(now); printf '\r' >&3; fi
        [ -z "$tl" ] && [ -s "$W/dbg" ] && grep -aq $'\001' "$W/dbg" && tl=$(now)
        [ -z "$ti" ] && [ -s "$W/dbg" ] && grep -aq $'\002' "$W/dbg" && ti=$(now)
        [ -z "$ts" ] && grep -aq "GRUB-ENTRY-ONE" "$W/out" && ts=$(now)
        [ $(echo "$(now) - $t0 > 600" | bc) = 1 ] && kill $pid
        sleep 0.05
    done
    wait $pid; exec 3>&-
    local cpu
    cpu=$(awk '{print $1 + $2}' "$W/time" 2>/dev/null)
    echo "$(sub "$tm" $t0) $(sub "$ti" "$tl") $(sub "$ts" $t0) ${cpu:-nan}"
}

median() { grep -v nan | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }

echo "firmware boot of a GRUB disk ($RUNS runs each, medians; wall seconds, shared machine)"
printf '%-16s %8s %10s %8s %8s\n' "" menu "grub-load" shell cpu
for kind in direct virtio ide; do
    for eng in qemu tremu; do
        [ $eng = qemu ] && [ -z "$QEMU" ] && continue
        for r in $(seq "$RUNS"); do one $kind $eng; done > "$W/res"
        printf '%-16s' "$eng $kind"
        for f in 1 2 3 4; do printf ' %8.2f' "$(cut -d' ' -f$f "$W/res" | median)"; done
        echo
    done
done
