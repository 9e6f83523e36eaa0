#!/bin/bash
# The display's cost on a boot (tremu alone, -accel tcg, the default guest):
# boot to the guest's TREMU-BOOT-OK with no VGA (what -nographic and
# -display none give), with -vga std and nobody looking (the adapter's
# window is MMIO, no rendering), and with a VNC viewer connected the whole
# time (rendering at up to 30 frames/s). Medians of BENCH_RUNS runs; the
# ratios to the first line are what to compare on a shared machine.
cd "$(dirname "$0")/../.." || exit 1
G=${CACHE:-$HOME/.cache/tremu}/guest
RUNS=${BENCH_RUNS:-3}
[ -f "$G/vmlinuz" ] || { echo "bench display: no default guest in $G (make guest)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# boot_time EXTRA_ARGS... → seconds to TREMU-BOOT-OK
boot_time() {
    local t0 boot= line
    t0=$(date +%s.%N)
    while IFS= read -r line; do
        case "$line" in *TREMU-BOOT-OK*) boot=$(date +%s.%N) ;; esac
    done < <(timeout 600 ./tremu -accel tcg -m 512 -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
                 -append "console=tty0 console=ttyS0 tremu.cmd=true" -nodefaults -serial stdio \
                 -no-reboot "$@" </dev/null 2>/dev/null)
    [ -n "$boot" ] && echo "$boot - $t0" | bc -l || echo fail
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }

# With a viewer: tests/display/vncclient stays connected (waiting for text
# that never comes) while the guest boots.
with_viewer() {
    local sock="$tmp/v.sock" c
    rm -f "$sock"
    ( for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
      exec tests/display/vncclient "$sock" wait NEVER-SHOWN 600 >/dev/null 2>&1 ) &
    c=$!
    boot_time -vga std -vnc "unix:$sock"
    kill $c 2>/dev/null; wait $c 2>/dev/null
}

base=
row() {
    local name=$1 m; shift
    m=$(for r in $(seq "$RUNS"); do "$@"; done | grep -v fail | median)
    [ -z "$base" ] && base=$m
    printf '%-34s %7.2f s   x%.2f\n' "$name" "$m" "$(echo "$m / $base" | bc -l)"
}
echo "display cost on a boot to userspace ($RUNS runs each, medians; console on tty0 and ttyS0)"
row "no VGA (-nographic, -display none)" boot_time -display none
row "-vga std, nobody looking" boot_time -display none -vga std
if [ -x tests/display/vncclient ] && ./tremu -vnc :0 -h >/dev/null 2>&1; then
    row "-vga std, VNC viewer connected" with_viewer
else
    echo "-vga std, VNC viewer connected     skipped (no VNC in this build)"
fi
