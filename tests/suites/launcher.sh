#!/bin/sh
# The course launcher's command line, unchanged except: -vnc is left out
# (the display's issue), -kernel/-initrd/-append boot the default busybox
# guest (plus the 9p modules) instead of the lab disk's GRUB, and ports
# come from bind(0) instead of 22223/49152. The installed layout is used:
# qemu-img creates the overlay, qemu-system-x86_64 runs it. In one boot the
# guest mounts `shared`, reads the host's file, writes one the host sees,
# reads the sensor server's bytes from /dev/ttyS1 and answers, then powers
# off and tremu exits 0.
# This is the quick form for make check; the line run as is, against the lab
# machine's disk through SeaBIOS and GRUB, logged in over ssh, is
# tests/lab/launcher.sh in make check-lab (a whole boot of the lab machine).
cd "$(dirname "$0")/../.." || exit 1
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
pass=0; fail=0
tmp=$(mktemp -d); spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }
skipall() { echo "skip launcher test: $1"; echo "launcher: 0 passed, 0 failed, 1 skipped"; exit 0; }

command -v python3 >/dev/null || skipall "needs python3 (the sensor server)"
[ -s "$G/vmlinuz" ] && [ -s "$G/STAMP" ] || skipall "no guest in $G (make guest)"
sh tests/guest/mk9pmods.sh "$G" "$C/issue12-9p" >"$tmp/mk" 2>&1 || skipall "cannot get the 9p modules: $(tail -n 2 "$tmp/mk")"
cat "$G/initramfs.cpio.gz" "$C/issue12-9p/9pmods.cpio.gz" > "$tmp/initrd"
make -s install PREFIX="$tmp/qemu" >"$tmp/mk" 2>&1 || skipall "make install failed: $(tail -n 2 "$tmp/mk")"
QEMU_BUILD_DIR=$tmp/qemu
QEMU=$QEMU_BUILD_DIR/bin/qemu-system-x86_64

cd "$tmp" || exit 1
mkdir shared
echo "from the host" > shared/hostnote
"$QEMU_BUILD_DIR/bin/qemu-img" create -f raw cslab_rootfs.raw 64M >/dev/null
"$QEMU_BUILD_DIR/bin/qemu-img" create -b cslab_rootfs.raw -f qcow2 -F raw private.qcow2 >/dev/null ||
    notok overlay_created "qemu-img create -b failed"
python3 "$OLDPWD/tests/lib/sensor_server.py" port server.out >/dev/null 2>&1 </dev/null & spid=$!
i=0; while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
SPORT=$(cat port)
FPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CMD='/lib/9p/load
mount -t 9p -o trans=virtio,version=9p2000.L shared /mnt || echo MOUNT-FAILED
echo "NOTE=$(cat /mnt/hostnote)"
echo "written in the guest" > /mnt/guestnote
stty -F /dev/ttyS1 raw -echo
echo "SENSOR=$(head -n 2 /dev/ttyS1 | tail -n 1)"
echo GUEST-ANSWERS > /dev/ttyS1
sleep 1
umount /mnt'
timeout 300 $QEMU -enable-kvm -M pc -m 1024 -smp 2 -drive file=private.qcow2,if=virtio \
    -net nic -net user,hostfwd=tcp:127.0.0.1:$FPORT-:22 \
    -nographic -monitor /dev/null \
    -chardev socket,id=sensors0,host=127.0.0.1,port=$SPORT,ipv4=on \
    -device isa-serial,chardev=sensors0,id=serial1,index=1 \
    -fsdev local,id=fsdev0,path=./shared,security_model=none \
    -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared \
    -no-reboot -kernel "$G/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >con 2>err </dev/null; rc=$?
grep -q '^NOTE=from the host' con && ok guest_reads_shared_file || notok guest_reads_shared_file "$(tail -c 400 con)"
[ "$(cat shared/guestnote 2>/dev/null)" = "written in the guest" ] && ok host_sees_guest_file || notok host_sees_guest_file "$(ls -la shared)"
grep -q '^SENSOR=SENSOR42' con && ok guest_reads_ttyS1 || notok guest_reads_ttyS1 "$(grep SENSOR con)"
grep -q GUEST-ANSWERS server.out 2>/dev/null && ok server_reads_guest || notok server_reads_guest "$(head -c 200 server.out 2>/dev/null)"
[ $rc -eq 0 ] && grep -q 'TREMU-CMD-EXIT=0' con && ok poweroff_ends_tremu || notok poweroff_ends_tremu "exit $rc: $(tail -c 300 err)"
echo "launcher: $pass passed, $fail failed"
[ $fail -eq 0 ]
