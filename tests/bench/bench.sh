#!/bin/bash
# make bench: tremu against Debian's QEMU (-accel tcg) in the same run, on the
# default guest. Figures are wall-clock medians of N runs and, since this
# machine is shared and noisy, reported as ratios tremu/QEMU.
#   BENCH_RUNS=3 (default)   BENCH_SKIP_QEMU=1 to time tremu alone
#   BENCH_SKIP_LAB=1, BENCH_SKIP_FW=1 leave out the lab machine / the GRUB disk
cd "$(dirname "$0")/../.." || exit 1
G=${CACHE:-$HOME/.cache/tremu}/guest
RUNS=${BENCH_RUNS:-3}
QEMU=$(command -v qemu-system-x86_64)
[ -n "$BENCH_SKIP_QEMU" ] && QEMU=
[ -f "$G/vmlinuz" ] || { echo "bench: no default guest in $G (make guest)"; exit 1; }

# run_one ENGINE KERNEL CMD -> prints "boot_seconds total_seconds" (boot = the
# guest's TREMU-BOOT-OK marker line reached the host)
run_one() {
    local engine=$1 kernel=$2 cmd=$3 bin
    local args=(-m 512 -kernel "$kernel" -initrd "$G/initramfs.cpio.gz"
                -append "console=ttyS0 quiet tremu.cmd=$cmd" -display none -nodefaults
                -serial stdio -monitor none -no-reboot)
    if [ "$engine" = qemu ]; then bin=("$QEMU" -accel tcg -M pc); else bin=(./tremu -accel tcg); fi
    local t0 t1 boot=
    t0=$(date +%s.%N)
    while IFS= read -r line; do
        case "$line" in
        *TREMU-BOOT-OK*) boot=$(date +%s.%N) ;;
        *TREMU-CMD-EXIT=*) echo "$line" >&2 ;;
        esac
    done < <(timeout 600 "${bin[@]}" "${args[@]}" </dev/null 2>/dev/null)
    t1=$(date +%s.%N)
    [ -n "$boot" ] || { echo "fail fail"; return; }
    echo "$(echo "$boot - $t0" | bc -l) $(echo "$t1 - $t0" | bc -l) $(echo "$t1 - $boot" | bc -l)"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }

# bench NAME KERNEL CMD FIELD(1=boot, 2=total, 3=after boot: the workload)
bench() {
    local name=$1 kernel=$2 cmd=$3 field=$4 e r
    declare -A med
    for e in qemu tremu; do
        [ $e = qemu ] && [ -z "$QEMU" ] && continue
        if [ $e = tremu ] && ! ./tremu -accel tcg -version >/dev/null 2>&1; then continue; fi
        med[$e]=$(for r in $(seq "$RUNS"); do run_one $e "$kernel" "$cmd" 2>/dev/null | cut -d' ' -f"$field"; done | grep -v fail | median)
    done
    printf '%-30s qemu %7.2f s   tremu %7.2f s' "$name" "${med[qemu]:-nan}" "${med[tremu]:-nan}"
    if [ -n "${med[qemu]}" ] && [ -n "${med[tremu]}" ] && [ "${med[qemu]}" != nan ] && [ "${med[tremu]}" != nan ]; then
        printf '   tremu/qemu %.2f' "$(echo "${med[tremu]} / ${med[qemu]}" | bc -l)"
    fi
    echo
}

command -v bc >/dev/null || { echo "bench: needs bc (apt-get install bc)"; exit 1; }
echo "tremu benchmarks ($RUNS runs each, medians; ratios are what to compare)"
bench "boot to shell (bzImage)" "$G/vmlinuz" "true" 1
bench "boot to shell (PVH vmlinux)" "$G/vmlinux" "true" 1
W='dd if=/dev/urandom of=/tmp/f bs=1M count=32 2>/dev/null; gzip -c /tmp/f > /tmp/f.gz; gunzip -c /tmp/f.gz | md5sum; md5sum /tmp/f'
bench "gzip+gunzip+md5sum 32 MiB" "$G/vmlinux" "$W" 3

# Issue 4: the course's lab machine (login:, first ssh, virtio disk throughput).
# BENCH_SKIP_LAB=1 to leave it out (each boot takes minutes under tcg).
# Guest instructions per second on the software CPU during the CPU-bound
# workload (the interpreter's own figure; QEMU has no comparable counter).
if ./tremu -accel tcg -version >/dev/null 2>&1; then
    st=$(mktemp)
    timeout 600 ./tremu -accel tcg -m 512 -kernel "$G/vmlinux" -initrd "$G/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet tremu.cmd=$W" -display none -nodefaults -serial none \
        -monitor none -no-reboot -d stats -D "$st" </dev/null >/dev/null 2>&1
    awk '/instructions retired/ {n=$3} /instructions per second/ {r=$4}
         END {if (n) printf "%-30s %.2f G instructions, %.0f M/s (wall clock, boot included)\n", "software CPU on the workload", n/1e9, r}' "$st"
    rm -f "$st"
fi

if [ -z "${BENCH_SKIP_LAB:-}" ]; then
    LAB=${CACHE:-$HOME/.cache/tremu}/lab
    if [ -f "$LAB/STAMP" ]; then bash tests/lab/bench.sh "$LAB"
    else echo "lab machine: no image in $LAB (tests/lab/mkrootfs.sh $LAB), skipped"; fi
fi

# Issue 11: the GRUB disk through SeaBIOS (virtio and IDE) against the direct
# -kernel boot of the same kernel and initrd. BENCH_SKIP_FW=1 to leave it out.
if [ -z "${BENCH_SKIP_FW:-}" ]; then
    if command -v grub-mkimage >/dev/null && [ -r /usr/share/seabios/bios-256k.bin ]; then
        bash tests/bench/firmware.sh
    else
        echo "firmware boot: needs grub-pc-bin and seabios (make deps), skipped"
    fi
fi
