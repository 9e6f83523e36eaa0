#!/bin/bash
# make bench, disk and network I/O (issue 11): virtio-blk sequential and random
# read and write, and TCP through a host forward, tremu against Debian's QEMU
# (-accel tcg -M pc) in the same run. The default busybox guest (make guest)
# gets the virtio modules of its kernel and tests/bench/iobench.c (static) in
# an initramfs overlay; each boot runs every workload once:
#   seqread/seqwrite   1 MiB O_DIRECT reads/writes of the raw disk (dd bs=1M iflag/oflag=direct)
#   randread/randwrite 4 KiB O_DIRECT at random offsets (a small fio-like loop)
#   tcp                the guest sends zeros from a listening socket; the host
#                      reads them through hostfwd (MB/s measured on the host)
# Engines alternate run by run; each figure is the median of BENCH_RUNS (3)
# boots, in MiB/s (higher is better); x/q = tremu / QEMU (>= 1: tremu as fast).
#   BENCH_IO_MB=256  disk size and sequential MiB     BENCH_IO_OPS=4000 random I/Os
#   BENCH_IO_NET_MB=64  MiB through TCP
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C
CACHE=${CACHE:-$HOME/.cache/tremu}
G=$CACHE/guest
C=$CACHE/iobench
RUNS=${BENCH_RUNS:-3}
MB=${BENCH_IO_MB:-256}
OPS=${BENCH_IO_OPS:-4000}
NMB=${BENCH_IO_NET_MB:-64}
TIMEOUT=${BENCH_TIMEOUT:-900}
QEMU=$(command -v qemu-system-x86_64)
[ -n "${BENCH_SKIP_QEMU:-}" ] && QEMU=
skip() { echo "disk and network I/O: $*, skipped"; exit 0; }
[ -s "$G/vmlinuz" ] && [ -s "$G/initramfs.cpio.gz" ] || skip "no default guest in $G (make guest)"
[ -x ./tremu ] || skip "no ./tremu"
command -v python3 >/dev/null || skip "needs python3 (the host end of the TCP test)"
command -v gcc >/dev/null || skip "needs gcc (the guest's benchmark program)"

# ---- the guest's virtio modules (the kernel's own package) and iobench ----
ver=$(strings "$G/vmlinuz" 2>/dev/null | sed -n 's/^\([0-9][0-9.]*-[0-9]*-amd64\) .*/\1/p' | head -n 1)
[ -n "$ver" ] || skip "cannot tell the guest kernel's version"
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover net_failover virtio_net"
if [ ! -f "$C/$ver/virtio_net.ko" ]; then
    mkdir -p "$C/deb" "$C/$ver"
    # tests/suites/crash.sh may have fetched the same package already.
    ls "$CACHE"/crash/deb/linux-image-"$ver"_*.deb >/dev/null 2>&1 &&
        cp "$CACHE"/crash/deb/linux-image-"$ver"_*.deb "$C/deb/" 2>/dev/null
    if ! ls "$C"/deb/linux-image-"$ver"_*.deb >/dev/null 2>&1; then
        (cd "$C/deb" && apt-get download "linux-image-$ver" >/dev/null 2>&1) ||
            skip "cannot download linux-image-$ver (apt-get download)"
    fi
    rm -rf "$C/x"; mkdir -p "$C/x"
    dpkg-deb -x "$C"/deb/linux-image-"$ver"_*.deb "$C/x" || skip "cannot unpack linux-image-$ver"
    for m in $MODS; do
        f=$(find "$C/x/lib/modules/$ver" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || skip "no $m module in linux-image-$ver"
        case "$f" in
        *.xz) xz -dc "$f" > "$C/$ver/$m.ko" ;;
        *.zst) zstd -qdc "$f" > "$C/$ver/$m.ko" ;;
        *) cp "$f" "$C/$ver/$m.ko" ;;
        esac
    done
    rm -rf "$C/x"
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-iobench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$T/ov/opt/io"
gcc -static -O2 -o "$T/ov/opt/io/iobench" tests/bench/iobench.c 2>"$T/gcc.err" ||
    skip "cannot build tests/bench/iobench.c statically: $(head -n 2 "$T/gcc.err")"
for m in $MODS; do cp "$C/$ver/$m.ko" "$T/ov/opt/io/"; done
echo "$MODS" > "$T/ov/opt/io/ORDER"
(cd "$T/ov" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip > "$T/ov.cpio.gz"
cat "$G/initramfs.cpio.gz" "$T/ov.cpio.gz" > "$T/initrd.gz"
cp ./tremu "$T/tremu"
head -c "${MB}M" /dev/urandom > "$T/base.raw"

GUEST="for m in \$(cat /opt/io/ORDER); do insmod /opt/io/\$m.ko || echo INSMOD-FAIL \$m; done
n=0; while [ ! -b /dev/vda ] && [ \$n -lt 100 ]; do sleep 0.1; n=\$((n + 1)); done
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
B=/opt/io/iobench
\$B seqread /dev/vda $MB && \$B seqwrite /dev/vda $MB && \$B randread /dev/vda $MB $OPS &&
\$B randwrite /dev/vda $MB $OPS && \$B serve 5000 $NMB"
CMD64=$(printf '%s' "$GUEST" | base64 -w0)

# The host end: connect (retrying until the guest listens), read to EOF,
# MiB/s from the first byte to the last.
cat > "$T/host.py" <<'EOF'
import socket, sys, time
port, want = int(sys.argv[1]), int(sys.argv[2]) << 20
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
    except OSError:
        time.sleep(0.2)
        continue
    got, t0 = 0, None
    while True:
        try:
            b = s.recv(1 << 20)
        except OSError:
            break
        if not b:
            break
        if t0 is None:
            t0 = time.time()
        got += len(b)
    s.close()
    if got >= want:
        print("IOB tcp %.1f" % (got / 1048576 / max(time.time() - t0, 1e-9)))
        sys.exit(0)
    time.sleep(0.2)
print("IOB tcp fail")
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_one ENGINE -> lines "name MiB/s" in $T/res
run_one() {
    local bin port
    case $1 in
    qemu) bin=("$QEMU" -accel tcg -M pc) ;;
    tremu) bin=("$T/tremu" -accel tcg) ;;
    esac
    cp "$T/base.raw" "$T/disk.raw"
    port=$(free_port)
    python3 "$T/host.py" "$port" "$NMB" "$TIMEOUT" > "$T/host.out" &
    local hp=$!
    timeout --foreground "$TIMEOUT" "${bin[@]}" -m 512 -kernel "$G/vmlinuz" -initrd "$T/initrd.gz" \
        -append "console=ttyS0 quiet tremu.cmd64=$CMD64" -display none -nodefaults -serial stdio \
        -monitor none -no-reboot -drive file="$T/disk.raw",format=raw,if=virtio \
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:5000 -device virtio-net-pci,netdev=n0 \
        </dev/null 2>/dev/null | tr -d '\r' > "$T/out"
    kill $hp 2>/dev/null; wait $hp 2>/dev/null
    { grep '^IOB [a-z]* [0-9.]*$' "$T/out"; grep '^IOB tcp [0-9.]*$' "$T/host.out"; } |
        awk '$2 != "tcp-guest-send" {print $2, $3}' > "$T/res"
}

E=(); [ -n "$QEMU" ] && E+=(qemu); E+=(tremu)
for e in "${E[@]}"; do : > "$T/$e.all"; done
for r in $(seq "$RUNS"); do
    for e in "${E[@]}"; do
        [ -t 2 ] && printf '\r\033[Kdisk and network I/O: %s, run %s of %s' "$e" "$r" "$RUNS" >&2
        run_one "$e"
        cat "$T/res" >> "$T/$e.all"
    done
done
[ -t 2 ] && printf '\r\033[K' >&2
med() { awk -v k="$2" '$1 == k {print $2}' "$T/$1.all" | sort -n |
        awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "fail"}'; }
echo
echo "disk and network I/O (tests/bench/io.sh): MiB/s, median of $RUNS boot(s) per engine, higher is better"
echo "  disk: ${MB} MiB raw image, virtio-blk; random: $OPS x 4 KiB; tcp: $NMB MiB guest -> host through hostfwd"
if [ -n "$QEMU" ]; then printf '%-12s %10s %10s %8s\n' workload qemu tremu "tremu/q"
else printf '%-12s %10s\n' workload tremu; fi
for w in seqread seqwrite randread randwrite tcp; do
    t=$(med tremu $w)
    if [ -n "$QEMU" ]; then
        q=$(med qemu $w)
        x=$(awk -v a="$t" -v b="$q" 'BEGIN {if (a ~ /^[0-9]/ && b ~ /^[0-9]/ && b > 0) printf "%.2f", a / b; else print "-"}')
        printf '%-12s %10s %10s %8s\n' "$w" "$q" "$t" "$x"
    else
        printf '%-12s %10s\n' "$w" "$t"
    fi
done
