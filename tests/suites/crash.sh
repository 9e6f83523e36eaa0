#!/bin/sh
# Crash consistency with a real guest: a qcow2 overlay (4k clusters) over a
# raw base is the guest's virtio disk; the busybox guest (make guest) loads
# the virtio modules and writes numbered 4 KiB patterns, each with
# dd conv=fsync, printing "SYNCED boot i block" once the write is durable.
# tremu is killed with SIGKILL after a random number of synced writes. After
# every kill: the overlay passes qemu-img check (leaks allowed), the base is
# byte-identical, and every write the guest reported synced reads back.
# CRASH_RUNS=N kills (default 5 here; make check-crash runs 20), CRASH_SEED.
# Needs ~/.cache/tremu/guest and the Debian linux-image package matching its
# kernel for the virtio modules (apt-get download, cached in
# ~/.cache/tremu/crash); skips with a message otherwise.
# Ends with `crash: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
R=$PWD
N=${CRASH_RUNS:-5}
SEED=${CRASH_SEED:-$$}
G=${CACHE:-$HOME/.cache/tremu}/guest
C=${CACHE:-$HOME/.cache/tremu}/crash
pass=0; fail=0
skip_all() { echo "skip crash_consistency ($1)"; echo "crash: 0 passed, 0 failed, 1 skipped"; exit 0; }
[ -x ./tremu ] || { echo "crash: 0 passed, 1 failed (./tremu not built)"; exit 1; }
[ -f "$G/vmlinuz" ] && [ -f "$G/initramfs.cpio.gz" ] || skip_all "no guest in $G: make guest"
command -v qemu-img >/dev/null || skip_all "qemu-img not installed"
command -v cpio >/dev/null || skip_all "cpio not installed"

# ---- the virtio modules of the guest's kernel ----
ver=$(strings "$G/vmlinuz" 2>/dev/null | sed -n 's/^\([0-9][0-9.]*-[0-9]*-amd64\) .*/\1/p' | head -n 1)
[ -n "$ver" ] || ver=$(file -b "$G/vmlinuz" | sed -n 's/.*version \([^ ]*\).*/\1/p')
[ -n "$ver" ] || skip_all "cannot tell the guest kernel's version"
mods=$C/$ver
if [ ! -f "$mods/virtio_blk.ko" ]; then
    mkdir -p "$C/deb"
    if ! ls "$C"/deb/linux-image-"$ver"_*.deb >/dev/null 2>&1; then
        (cd "$C/deb" && apt-get download "linux-image-$ver" >/dev/null 2>&1) ||
            skip_all "cannot download linux-image-$ver (apt-get download)"
    fi
    rm -rf "$C/x"; mkdir -p "$C/x" "$mods"
    dpkg-deb -x "$C"/deb/linux-image-"$ver"_*.deb "$C/x" || skip_all "cannot unpack linux-image-$ver"
    for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
        f=$(find "$C/x/lib/modules/$ver" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || continue
        case "$f" in
        *.xz) xz -dc "$f" > "$mods/$m.ko" ;;
        *.zst) zstd -qdc "$f" > "$mods/$m.ko" ;;
        *) cp "$f" "$mods/$m.ko" ;;
        esac
    done
    rm -rf "$C/x"
    [ -f "$mods/virtio_blk.ko" ] || skip_all "no virtio_blk module in linux-image-$ver"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/extra/opt/crash"
cp "$mods"/*.ko "$tmp/extra/opt/crash/"
cat > "$tmp/extra/opt/crash/run.sh" <<'GUEST'
# $1 = boot number. Block b of the first 8 MiB gets "crash-<boot>-<i>" patterns.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
    [ -f /opt/crash/$m.ko ] && { insmod /opt/crash/$m.ko || echo "INSMOD-FAILED $m"; }
done
n=0; while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
[ -b /dev/vda ] || { echo "NO-VDA"; cat /proc/partitions; ls /sys/bus/virtio/devices; exit 1; }
echo "CRASH-READY"
i=0
while [ $i -lt 2000 ]; do
    i=$((i + 1))
    b=$(( (i * 37 + $1 * 611) % 2048 ))
    yes "crash-$1-$i" | head -c 4096 | dd of=/dev/vda bs=4096 seek=$b count=1 conv=fsync 2>/dev/null || exit 1
    echo "SYNCED $1 $i $b"
done
GUEST
(cd "$tmp/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$tmp/extra.cpio.gz"
cat "$G/initramfs.cpio.gz" "$tmp/extra.cpio.gz" > "$tmp/initrd.gz"

cd "$tmp" || exit 1
head -c 16M /dev/urandom > base.raw
sha256sum base.raw > base.sum
"$R/tools/tremu-img" create -q -f qcow2 -o cluster_size=4096 -b base.raw -F raw ov.qcow2
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1${2:+ ($2)}"; }
clean=0; k=1
rnd=$SEED
while [ $k -le $N ]; do
    rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 ))
    want=$(( rnd % 40 + 3 ))        # kill after this many synced writes
    : > serial.log
    "$R/tremu" -m 256 -display none -nodefaults -monitor none -no-reboot \
        -serial file:serial.log -kernel "$G/vmlinuz" -initrd initrd.gz \
        -drive file=ov.qcow2,format=qcow2,if=virtio \
        -append "console=ttyS0 quiet tremu.cmd=sh /opt/crash/run.sh $k" >tremu.log 2>&1 &
    pid=$!
    t=0
    while kill -0 $pid 2>/dev/null && [ "$(grep -c "^SYNCED $k " serial.log)" -lt $want ] &&
          [ $t -lt 6000 ]; do
        sleep 0.1; t=$((t + 1))
    done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    synced=$(grep -c "^SYNCED $k " serial.log)
    why=
    if [ "$synced" -lt 1 ]; then
        why="guest never wrote: $(grep -m1 -E 'NO-VDA|TREMU-CMD-EXIT|panic' serial.log) $(tail -n 1 tremu.log)"
    else
        qemu-img check ov.qcow2 >check.log 2>&1; rc=$?
        [ $rc = 0 ] || [ $rc = 3 ] || why="qemu-img check exit $rc"
        sha256sum -c --quiet base.sum >/dev/null 2>&1 || why="$why; base changed"
        qemu-img convert -O raw ov.qcow2 disk.raw
        lost=0
        grep "^SYNCED $k " serial.log | tr -d '\r' > synced.txt
        while read -r _ boot i b; do
            yes "crash-$boot-$i" | head -c 4096 > want.blk
            dd if=disk.raw of=got.blk bs=4096 skip=$b count=1 2>/dev/null
            cmp -s want.blk got.blk || lost=$((lost + 1))
        done < synced.txt
        [ $lost = 0 ] || why="$why; $lost of $synced synced writes lost"
    fi
    if [ -z "$why" ]; then
        clean=$((clean + 1)); echo "kill $k: after $synced synced writes: clean"
    else
        echo "kill $k: after $synced synced writes: $why"; cp ov.qcow2 "$R/crash-fail-$k.qcow2" 2>/dev/null; tail -n 15 serial.log | sed "s/^/    guest: /"
    fi
    k=$((k + 1))
done
echo "crash consistency: $clean of $N kills clean (seed $SEED)"
if [ $clean = $N ]; then ok "kill9_${N}_guest_runs_consistent"; else bad "kill9_${N}_guest_runs_consistent" "$clean of $N"; fi
echo "crash: $pass passed, $fail failed"
[ $fail -eq 0 ]
