#!/bin/bash
# Issue 4's figures for the lab machine, tremu against Debian's QEMU
# (-accel tcg) in the same run, on throwaway overlays of the same image:
#   - seconds from start to `login:` on the serial console,
#   - seconds from start to the first successful ssh,
#   - sequential write and read throughput of the virtio disk inside the guest
#     (dd, 1 MiB blocks, O_DIRECT so the guest's page cache is not measured;
#     the write ends with fsync).
# Ratios: times tremu/QEMU (lower is better), throughputs tremu/QEMU (higher
# is better). Called by tests/bench/bench.sh (make bench); alone:
#   tests/lab/bench.sh [LABDIR]   BENCH_LAB_RUNS=1  BENCH_LAB_MB=128  BENCH_SKIP_QEMU=1
#   BENCH_LAB_ENGINES="qemu tremu" (either alone to time one side)
cd "$(dirname "$0")/../.." || exit 1
LAB=${1:-${CACHE:-$HOME/.cache/tremu}/lab}
RUNS=${BENCH_LAB_RUNS:-1}
MB=${BENCH_LAB_MB:-128}
QEMU=$(command -v qemu-system-x86_64)
[ -n "${BENCH_SKIP_QEMU:-}" ] && QEMU=
for f in base.raw vmlinuz initrd.img id_ed25519; do
    [ -s "$LAB/$f" ] || { echo "bench-lab: no lab image in $LAB (tests/lab/mkrootfs.sh $LAB)"; exit 1; }
done
[ -x ./tremu ] && [ -x tools/tremu-img ] || { echo "bench-lab: build tremu and tools/tremu-img first"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-labbench.XXXXXX")
QPID=
trap '[ -n "$QPID" ] && kill $QPID 2>/dev/null; rm -rf "$T"' EXIT
install -m 600 "$LAB/id_ed25519" "$T/key"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# dd_mbs: MB/s from dd's summary line ("N bytes (...) copied, S s, ...").
dd_mbs() { awk '/bytes.*copied/ {for (i = 1; i <= NF; i++) if ($i ~ /^copied/) s = $(i+1); if (s > 0) printf "%.1f", $1 / s / 1e6}'; }

# run_one ENGINE -> "login_s ssh_s write_MBps read_MBps" or "fail ..."
run_one() {
    local engine=$1 port start login="" sshok="" w r bin end
    port=$(free_port)
    tools/tremu-img create -f qcow2 -b "$LAB/base.raw" -F raw "$T/ov.qcow2" >/dev/null
    local ssh=(ssh -q -i "$T/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
               -o ConnectTimeout=5 -o BatchMode=yes -o LogLevel=ERROR -p "$port" root@127.0.0.1)
    if [ "$engine" = qemu ]; then bin=("$QEMU" -accel tcg -M pc); else bin=(./tremu -accel tcg); fi
    : >"$T/console.log"
    start=$(date +%s.%N)
    "${bin[@]}" -m 1G -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img" \
        -append "root=/dev/vda console=ttyS0" -drive file="$T/ov.qcow2",if=virtio \
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22 -device virtio-net-pci,netdev=n0 \
        -display none -monitor none -serial file:"$T/console.log" </dev/null >/dev/null 2>&1 &
    QPID=$!
    since() { echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'; }
    end=$((SECONDS + 900))
    while [ $SECONDS -lt $end ] && kill -0 $QPID 2>/dev/null; do
        [ -z "$login" ] && grep -qa "login:" "$T/console.log" && login=$(since)
        if [ -n "$login" ] && timeout 20 "${ssh[@]}" true </dev/null 2>/dev/null; then sshok=$(since); break; fi
        sleep 0.5
    done
    if [ -z "$sshok" ]; then kill $QPID 2>/dev/null; wait $QPID 2>/dev/null; QPID=; echo "fail fail fail fail"; return; fi
    w=$(timeout 600 "${ssh[@]}" "dd if=/dev/zero of=/root/dd.bin bs=1M count=$MB oflag=direct conv=fsync 2>&1" </dev/null | dd_mbs)
    r=$(timeout 600 "${ssh[@]}" "dd if=/root/dd.bin of=/dev/null bs=1M iflag=direct 2>&1" </dev/null | dd_mbs)
    timeout 20 "${ssh[@]}" poweroff </dev/null 2>/dev/null
    for _ in $(seq 1 120); do kill -0 $QPID 2>/dev/null || break; sleep 1; done
    kill $QPID 2>/dev/null; wait $QPID 2>/dev/null; QPID=
    echo "$login $sshok ${w:-fail} ${r:-fail}"
}

median() { grep -v fail | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print a[int((NR+1)/2)]}'; }

declare -A res
for e in ${BENCH_LAB_ENGINES:-qemu tremu}; do
    [ $e = qemu ] && [ -z "$QEMU" ] && continue
    for r in $(seq "$RUNS"); do run_one $e; done >"$T/$e.runs"
    for k in 1 2 3 4; do res[$e.$k]=$(cut -d' ' -f$k "$T/$e.runs" | median); done
done

# line NAME FIELD UNIT
line() {
    local q=${res[qemu.$2]:-nan} t=${res[tremu.$2]:-nan}
    printf '%-30s qemu %7s %-4s tremu %7s %-4s' "$1" "$q" "$3" "$t" "$3"
    if [ "$q" != nan ] && [ "$t" != nan ]; then printf '   tremu/qemu %.2f' "$(echo "$t / $q" | bc -l)"; fi
    echo
}
echo "lab machine (tests/lab, $RUNS run(s) each, ${MB} MiB dd with O_DIRECT)"
line "lab: start to login:" 1 s
line "lab: start to first ssh" 2 s
line "lab: virtio disk seq write" 3 MB/s
line "lab: virtio disk seq read" 4 MB/s
