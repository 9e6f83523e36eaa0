#!/bin/bash
# The display's cost on a guest workload (tremu alone, -accel tcg, the
# default guest): boot, then compress and checksum text while printing
# progress on tty0 and ttyS0, under three set-ups:
#   no VGA        -display none (what -nographic also gives: no adapter)
#   VNC, unwatched  -vga std -vnc unix:SOCK, no viewer: the renderer never
#                   runs (info display's frame counter, tests/suites/display.sh)
#   VNC, watched    the same with tests/display/vncclient connected the
#                   whole time (rendering at up to 30 frames/s)
# The set-ups alternate run by run (BENCH_RUNS rounds, default 3) so a
# change in the machine's load hits them alike; the figure is the median
# host CPU time (user+sys) of the tremu process, and the ratio to the
# first set-up is what to compare on a shared machine.
cd "$(dirname "$0")/../.." || exit 1
G=${CACHE:-$HOME/.cache/tremu}/guest
RUNS=${BENCH_RUNS:-3}
SEQ=${BENCH_DISPLAY_SEQ:-1000000}
[ -f "$G/vmlinux" ] || { echo "bench display: no default guest in $G (make guest)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
W="for i in 1 2 3 4; do echo round \$i > /dev/tty0; seq 1 $SEQ | gzip -c | gunzip -c | md5sum | tee /dev/tty0; done"
CMD="tremu.cmd64=$(printf '%s' "$W" | base64 -w0)"

# run SETUP -> host CPU seconds of tremu, or "fail"
run() {
    local setup=$1 sock="$tmp/v.sock" c= args=()
    rm -f "$sock" "$tmp/time"
    case $setup in
    none) args=(-display none) ;;
    unwatched) args=(-vga std -vnc "unix:$sock") ;;
    watched)
        args=(-vga std -vnc "unix:$sock")
        ( for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
          exec tests/display/vncclient "$sock" wait NEVER-SHOWN 900 >/dev/null 2>&1 ) &
        c=$! ;;
    esac
    /usr/bin/time -o "$tmp/time" -f '%U %S' timeout 900 ./tremu -accel tcg -m 512 \
        -kernel "$G/vmlinux" -initrd "$G/initramfs.cpio.gz" \
        -append "console=tty0 console=ttyS0 quiet $CMD" -nodefaults -serial stdio \
        -monitor none -no-reboot "${args[@]}" </dev/null 2>/dev/null | grep -q "TREMU-CMD-EXIT=0"
    local ok=$?
    [ -n "$c" ] && { kill "$c" 2>/dev/null; wait "$c" 2>/dev/null; }
    if [ $ok -eq 0 ] && [ -s "$tmp/time" ]; then awk '{printf "%.2f\n", $1 + $2}' "$tmp/time"; else echo fail; fi
}
median() { grep -v fail | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "fail"; else print a[int((NR+1)/2)]}'; }

setups=(none unwatched)
if [ -x tests/display/vncclient ] && ./tremu -vnc :0 -h >/dev/null 2>&1; then
    setups+=(watched)
fi
declare -A R
for r in $(seq "$RUNS"); do
    for s in "${setups[@]}"; do
        R[$s]+="$(run "$s") "
    done
done
declare -A L=([none]="no VGA (-display none)" [unwatched]="-vga std -vnc, nobody looking" [watched]="-vga std -vnc, viewer connected")
echo "display cost on a workload (boot, 4 x gzip/gunzip/md5 of seq 1 $SEQ printed on tty0;"
echo "  host CPU s of tremu, median of $RUNS alternating runs; ratio to no VGA)"
base=$(tr ' ' '\n' <<<"${R[none]}" | grep . | median)
for s in "${setups[@]}"; do
    m=$(tr ' ' '\n' <<<"${R[$s]}" | grep . | median)
    printf '  %-34s %7s s   x%s   (runs: %s)\n' "${L[$s]}" "$m" \
        "$(awk -v a="$m" -v b="$base" 'BEGIN {if (a ~ /^[0-9]/ && b > 0) printf "%.3f", a / b; else print "-"}')" "${R[$s]% }"
done
[ ${#setups[@]} -lt 3 ] && echo "  -vga std -vnc, viewer connected      skipped (no VNC in this build)"
exit 0
