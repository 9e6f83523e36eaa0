#!/bin/bash
# What the benchmarks share (sourced by tests/bench/bench.sh and
# tools/tremu-report): one timed boot of the default guest under one engine,
# the median of a column, and the workloads' commands for the guest's /init.
# The caller sets T (a private temp dir), G (the guest's folder), TIMEOUT
# (seconds), QEMU (qemu-system-x86_64 or empty) and, for the tremu engines,
# a copy of ./tremu in $T/tremu.

# engine_cmd ENGINE: the emulator and its -accel for ENGINE in the array bin.
#   qemu, qemu-kvm   qemu-system-x86_64 -accel tcg / kvm, -M pc
#   tremu            ./tremu -accel tcg (the JIT)
#   tremu-interp     ./tremu -accel tcg,jit=off (the interpreter)
#   tremu-kvm        ./tremu -accel kvm (tremu falls back to tcg when KVM is
#                    unusable and says why on stderr: callers check that)
engine_cmd() {
    case $1 in
    qemu) bin=("$QEMU" -accel tcg -M pc) ;;
    qemu-kvm) bin=("$QEMU" -accel kvm -M pc) ;;
    tremu) bin=("$T/tremu" -accel tcg) ;;
    tremu-interp) bin=("$T/tremu" -accel tcg,jit=off) ;;
    tremu-kvm) bin=("$T/tremu" -accel kvm) ;;
    *) echo "engine_cmd: unknown engine '$1'" >&2; return 1 ;;
    esac
}

# run_one ENGINE KERNEL PARAM [STATSFILE]
#   -> "cpu_s wall_s rss_MiB boot_s after_boot_s" or "fail"; the guest's
#   output (between TREMU-BOOT-OK and TREMU-CMD-EXIT, kernel messages left
#   out) in $T/out.
run_one() {
    local engine=$1 kernel=$2 param=$3 stats=$4 line boot= status= t0 t1 tm
    local bin
    engine_cmd "$engine"
    [ -n "$stats" ] && bin+=(-d stats -D "$stats")
    : >"$T/out"
    rm -f "$T/time"
    t0=$EPOCHREALTIME
    # time(1) waits for timeout(1), which waits for the emulator: the CPU time
    # and max RSS are the emulator's (timeout's own are negligible).
    # --foreground keeps the emulator in our process group (Ctrl-C reaches it).
    while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in
        *TREMU-BOOT-OK*) boot=$EPOCHREALTIME ;;
        *TREMU-CMD-EXIT=*) status=${line##*TREMU-CMD-EXIT=} ;;
        *) [ -n "$boot" ] && [ -z "$status" ] && printf '%s\n' "$line" >>"$T/out" ;;
        esac
    done < <(/usr/bin/time -o "$T/time" -f '%U %S %e %M' \
                timeout --foreground "$TIMEOUT" "${bin[@]}" -m 512 -kernel "$kernel" \
                -initrd "$G/initramfs.cpio.gz" -append "console=ttyS0 quiet $param" \
                -display none -nodefaults -serial stdio -monitor none -no-reboot \
                </dev/null 2>/dev/null)
    t1=$EPOCHREALTIME
    wait $! 2>/dev/null     # time(1) writes its file after the pipe closes
    # printk lines ("[    1.234] ...") are not the command's output
    sed -i '/^\[ *[0-9]*\.[0-9]*\]/d' "$T/out"
    tm=$(tail -n 1 "$T/time" 2>/dev/null)
    if [ -z "$boot" ] || [ "$status" != 0 ] || [ "$(wc -w <<<"$tm")" != 4 ]; then
        echo fail; return
    fi
    awk -v t="$tm" -v t0="$t0" -v b="$boot" -v t1="$t1" 'BEGIN {
        split(t, a, " ")
        printf "%.2f %.2f %.0f %.2f %.2f\n", a[1] + a[2], a[3], a[4] / 1024, b - t0, t1 - b }'
}

median() { grep -v fail | sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "fail"}'; }

# A command for the guest's /init, base64 (quotes, '=' words and '$' would
# otherwise be seen by the kernel's command-line parser).
cmd64() { echo "tremu.cmd64=$(printf '%s' "$1" | base64 -w0)"; }

# The gzip workload: SEQ numbers of text through gzip, gunzip and md5sum.
workload_gzip() { echo "seq 1 $1 > /tmp/f; gzip -c /tmp/f > /tmp/f.gz; gunzip -c /tmp/f.gz | md5sum; md5sum /tmp/f"; }
