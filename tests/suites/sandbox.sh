#!/bin/sh
# -sandbox on (ui/sandbox.c) with a real guest: the busybox guest boots under
# the seccomp filter and does disk, network, 9p and serial-chardev I/O in one
# boot: writes and reads back a pattern on its virtio disk (a qcow2 overlay),
# mounts the 9p share (reads the host's file, writes one), sends a line over
# slirp to a host TCP server, and exchanges bytes with a socket chardev on
# /dev/ttyS1. /proc/PID/status shows the filter in force while it runs. The
# denied system calls themselves are tested in tests/unit/test_sandbox.c.
# Needs the guest (make guest) and the guest kernel's virtio modules (from its
# Debian package, cached in ~/.cache/tremu/sandbox).
cd "$(dirname "$0")/../.." || exit 1
R=$PWD
T=$R/tremu
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
pass=0; fail=0
tmp=$(mktemp -d); spid=; tpid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; [ -n "$tpid" ] && kill $tpid 2>/dev/null; rm -rf "$tmp"' EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }
skipall() { echo "skip sandbox guest tests: $1"; echo "sandbox: $pass passed, $fail failed, 1 skipped"; exit 0; }

# The option itself needs no guest.
timeout 10 $T -sandbox maybe -display none -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "on or off" "$tmp/e" && ok sandbox_bad_value || notok sandbox_bad_value "$(cat "$tmp/e")"
timeout 10 $T -sandbox on,spawn=sometimes -display none -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "spawn" "$tmp/e" && ok sandbox_bad_suboption || notok sandbox_bad_suboption "$(cat "$tmp/e")"

command -v python3 >/dev/null || skipall "needs python3 (the TCP peers)"
[ -s "$G/vmlinuz" ] && [ -s "$G/STAMP" ] || skipall "no guest in $G (make guest)"
sh tests/guest/mk9pmods.sh "$G" "$C/issue12-9p" >"$tmp/mk" 2>&1 || skipall "cannot get the 9p modules: $(tail -n 2 "$tmp/mk")"

# virtio_blk and virtio_net (with its failover helpers) of the guest's kernel.
ver=$(strings "$G/vmlinuz" 2>/dev/null | sed -n 's/^\([0-9][0-9.]*-[0-9]*-amd64\) .*/\1/p' | head -n 1)
[ -n "$ver" ] || skipall "cannot tell the guest kernel's version"
M=$C/sandbox/$ver
if [ ! -f "$M/virtio_net.ko" ]; then
    mkdir -p "$C/sandbox/deb"
    deb=$(ls "$C"/crash/deb/linux-image-"$ver"_*.deb "$C"/sandbox/deb/linux-image-"$ver"_*.deb 2>/dev/null | head -n 1)
    if [ -z "$deb" ]; then
        (cd "$C/sandbox/deb" && apt-get download "linux-image-$ver" >/dev/null 2>&1) ||
            skipall "cannot download linux-image-$ver (apt-get download)"
        deb=$(ls "$C"/sandbox/deb/linux-image-"$ver"_*.deb | head -n 1)
    fi
    mkdir -p "$tmp/x" "$M.tmp"
    dpkg-deb -x "$deb" "$tmp/x" || skipall "cannot unpack $deb"
    for m in virtio_blk failover net_failover virtio_net; do
        f=$(find "$tmp/x/lib/modules/$ver" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || skipall "no $m module in linux-image-$ver"
        case "$f" in
        *.xz) xz -dc "$f" > "$M.tmp/$m.ko" ;;
        *.zst) zstd -qdc "$f" > "$M.tmp/$m.ko" ;;
        *) cp "$f" "$M.tmp/$m.ko" ;;
        esac
    done
    rm -rf "$tmp/x" "$M"; mv "$M.tmp" "$M"
fi
mkdir -p "$tmp/extra/opt/sb"
cp "$M"/*.ko "$tmp/extra/opt/sb/"
(cd "$tmp/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$tmp/extra.cpio.gz"
cat "$G/initramfs.cpio.gz" "$C/issue12-9p/9pmods.cpio.gz" "$tmp/extra.cpio.gz" > "$tmp/initrd"

cd "$tmp" || exit 1
mkdir shared
echo "from the host" > shared/hostnote
$R/tools/tremu-img create -q -f raw base.raw 16M
$R/tools/tremu-img create -q -f qcow2 -b base.raw -F raw disk.qcow2
# Two peers: one for the guest's nc over slirp, one for the serial chardev.
python3 "$R/tests/lib/sensor_server.py" nport net.out >/dev/null 2>&1 </dev/null & spid=$!
python3 "$R/tests/lib/sensor_server.py" sport serial.out >/dev/null 2>&1 </dev/null & tpid=$!
i=0; while { [ ! -s nport ] || [ ! -s sport ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
NPORT=$(cat nport); SPORT=$(cat sport)
CMD="/lib/9p/load
for m in virtio_blk failover net_failover virtio_net; do insmod /opt/sb/\$m.ko || echo INSMOD-FAILED-\$m; done
n=0; while [ ! -b /dev/vda ] && [ \$n -lt 50 ]; do sleep 0.1; n=\$((n + 1)); done
yes sandbox-disk | head -c 65536 | dd of=/dev/vda bs=4096 seek=3 conv=fsync 2>/dev/null
echo \"DISK=\$(dd if=/dev/vda bs=4096 skip=3 count=16 2>/dev/null | grep -c '^sandbox-disk\$')\"
mount -t 9p -o trans=virtio,version=9p2000.L shared /mnt || echo MOUNT-FAILED
echo \"NOTE=\$(cat /mnt/hostnote)\"
echo from-the-guest > /mnt/guestnote
ip link set lo up; ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
echo GUEST-NET | timeout 5 nc 10.0.2.2 $NPORT > /tmp/net.in
grep -q SENSOR42 /tmp/net.in && echo NET-REPLY
stty -F /dev/ttyS1 raw -echo
echo \"SERIAL=\$(head -n 2 /dev/ttyS1 | tail -n 1)\"
echo GUEST-SERIAL > /dev/ttyS1
sleep 1
umount /mnt; sync"
$T -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \
    -m 256 -nographic -no-reboot -monitor /dev/null \
    -drive file=disk.qcow2,format=qcow2,if=virtio \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -fsdev local,id=fsdev0,path="$tmp/shared",security_model=none \
    -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared \
    -chardev socket,id=s1,host=127.0.0.1,port=$SPORT,ipv4=on \
    -device isa-serial,chardev=s1,id=serial1,index=1 \
    -kernel "$G/vmlinuz" -initrd initrd \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >con 2>err </dev/null &
qpid=$!
i=0; while ! grep -q TREMU-BOOT-OK con 2>/dev/null && kill -0 $qpid 2>/dev/null && [ $i -lt 3000 ]; do
    sleep 0.1; i=$((i + 1))
done
sc=$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/$qpid/status 2>/dev/null)
i=0; while kill -0 $qpid 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $qpid 2>/dev/null
wait $qpid; rc=$?
con() { grep -q -- "$1" con; }
[ "$sc" = 2 ] && ok filter_in_force || notok filter_in_force "Seccomp: '$sc' in /proc/$qpid/status"
con '^DISK=5041' && ok disk_io || notok disk_io "$(grep -E 'DISK=|INSMOD' con)"
con '^NOTE=from the host' && [ "$(cat shared/guestnote 2>/dev/null)" = from-the-guest ] &&
    ok p9_io || notok p9_io "$(grep -E 'NOTE|MOUNT' con) $(ls shared)"
con '^NET-REPLY' && grep -q GUEST-NET net.out 2>/dev/null && ok net_io || notok net_io "$(tail -c 300 con)"
con '^SERIAL=SENSOR42' && grep -q GUEST-SERIAL serial.out 2>/dev/null && ok serial_chardev_io ||
    notok serial_chardev_io "$(cat serial.out 2>&1)"
[ $rc -eq 0 ] && con 'TREMU-CMD-EXIT=0' && ok poweroff_exit_0 ||
    notok poweroff_exit_0 "exit $rc: $(tail -c 300 con) $(tail -c 300 err)"
echo "sandbox: $pass passed, $fail failed"
[ $fail -eq 0 ]
