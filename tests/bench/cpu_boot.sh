#!/bin/sh
# Boot time of the default guest (Debian kernel + busybox initramfs, `make
# guest`) on the software CPU, until /init prints TREMU-BOOT-OK. Prints the
# wall time and the host CPU time of tremu (the CPU time is the figure to
# compare on a shared machine).
#   sh tests/bench/cpu_boot.sh [path/to/tremu]
cd "$(dirname "$0")/../.." || exit 1
TREMU=${1:-./tremu}
G=${CACHE:-$HOME/.cache/tremu}/guest
if [ ! -f "$G/vmlinuz" ] || [ ! -f "$G/initramfs.cpio.gz" ]; then
    echo "cpu_boot: no guest in $G (run: make guest)"
    exit 1
fi
out=$(mktemp)
"$TREMU" -accel tcg -m 256 -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
    -append "console=ttyS0" -display none -nodefaults -serial "file:$out" -monitor none \
    </dev/null >/dev/null 2>&1 &
pid=$!
start=$(date +%s.%N)
i=0
ok=0
while [ $i -lt 3000 ]; do
    if grep -q TREMU-BOOT-OK "$out" 2>/dev/null; then ok=1; break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
now=$(date +%s.%N)
ticks=$(awk '{print $14 + $15}' /proc/$pid/stat 2>/dev/null)
kill $pid 2>/dev/null
wait $pid 2>/dev/null
rm -f "$out"
if [ $ok -ne 1 ]; then
    echo "cpu_boot: the guest did not reach /init"
    exit 1
fi
echo "cpu_boot: /init after $(echo "$now - $start" | bc) s wall, $(echo "scale=2; ${ticks:-0} / $(getconf CLK_TCK)" | bc) s CPU"
