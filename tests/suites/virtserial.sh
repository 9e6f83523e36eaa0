#!/bin/sh
# virtio-serial with several ports, as QEMU spells it: -device
# virtio-serial-pci, a virtconsole (port 0, /dev/hvc0) on a file chardev and
# a named virtserialport (port 1) on a TCP client chardev to a local server.
# The busybox guest (plus the virtio_console module) finds the port by its
# name in /sys/class/virtio-ports, reads the server's bytes from /dev/vportXp1
# and writes a line the server receives; hvc0 still works beside it.
cd "$(dirname "$0")/../.." || exit 1
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
T=$PWD/tremu
pass=0; fail=0
tmp=$(mktemp -d); spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }
skipall() { echo "skip virtserial guest test: $1"; echo "virtserial: $pass passed, $fail failed, 1 skipped"; exit 0; }

# Command-line errors need no guest.
timeout 10 $T -display none -chardev null,id=a -device virtserialport,chardev=a,name=x \
    -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "virtio-serial-bus" "$tmp/e" && ok needs_virtio_serial_pci || notok needs_virtio_serial_pci "$(cat "$tmp/e")"
timeout 10 $T -display none -chardev null,id=a -device virtio-serial-pci \
    -device virtserialport,chardev=a,nr=0 -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "reserved for virtconsole" "$tmp/e" && ok port0_reserved || notok port0_reserved "$(cat "$tmp/e")"

command -v python3 >/dev/null || skipall "needs python3 (the TCP server)"
[ -s "$G/vmlinuz" ] && [ -s "$G/STAMP" ] || skipall "no guest in $G (make guest)"
sh tests/guest/mk9pmods.sh "$G" "$C/issue12-9p" >"$tmp/mk" 2>&1 || skipall "cannot get the virtio modules: $(tail -n 2 "$tmp/mk")"
cat "$G/initramfs.cpio.gz" "$C/issue12-9p/9pmods.cpio.gz" > "$tmp/initrd"
python3 tests/lib/sensor_server.py "$tmp/port" "$tmp/server.out" >/dev/null 2>&1 </dev/null & spid=$!
i=0; while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
SPORT=$(cat "$tmp/port")
CMD='/lib/9p/load
n=0; while [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
sleep 1
for d in /sys/class/virtio-ports/*; do echo "PORT=$(basename $d):$(cat $d/name 2>/dev/null)"; done
dev=
for d in /sys/class/virtio-ports/*; do [ "$(cat $d/name 2>/dev/null)" = org.tremu.sensor ] && dev=/dev/$(basename $d); done
[ -c "$dev" ] || echo NO-PORT-DEVICE
echo "VPORT=$(head -n 2 $dev | tail -n 1)"
echo GUEST-VPORT > $dev
sleep 1
echo HVC-MULTIPORT-OK > /dev/hvc0'
timeout 300 $T -m 256 -nographic -no-reboot -monitor /dev/null \
    -device virtio-serial-pci,id=vs0 \
    -chardev file,id=con0,path="$tmp/hvc.out" -device virtconsole,chardev=con0 \
    -chardev socket,id=s0,host=127.0.0.1,port=$SPORT \
    -device virtserialport,chardev=s0,name=org.tremu.sensor \
    -kernel "$G/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >"$tmp/con" 2>"$tmp/err" </dev/null; rc=$?
con() { grep -q -- "$1" "$tmp/con"; }
con '^PORT=vport[0-9]*p1:org.tremu.sensor' && ok port_named || notok port_named "$(grep -E 'PORT' "$tmp/con")"
con '^VPORT=SENSOR42' && ok guest_reads_port || notok guest_reads_port "$(grep -E 'VPORT|NO-PORT' "$tmp/con") $(tail -c 300 "$tmp/con")"
grep -q GUEST-VPORT "$tmp/server.out" 2>/dev/null && ok host_reads_port || notok host_reads_port "$(head -c 200 "$tmp/server.out" 2>&1)"
grep -q HVC-MULTIPORT-OK "$tmp/hvc.out" 2>/dev/null && ok console_port_beside || notok console_port_beside "$(head -c 200 "$tmp/hvc.out" 2>&1)"
[ $rc -eq 0 ] && con 'TREMU-CMD-EXIT=0' && ok poweroff || notok poweroff "exit $rc: $(tail -c 300 "$tmp/err")"
echo "virtserial: $pass passed, $fail failed"
[ $fail -eq 0 ]
