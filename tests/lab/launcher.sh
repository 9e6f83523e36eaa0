#!/bin/bash
# The course's launcher (issue 12), its command line unchanged, against the
# lab machine's whole disk booted through SeaBIOS and GRUB (no -kernel), with
# the names `make install PREFIX=DIR` creates (QEMU_BUILD_DIR=DIR):
#
#   qemu-img create -b cslab_rootfs.raw -f qcow2 -F raw private.qcow2
#   $QEMU -enable-kvm -M pc -m 1024 -smp 2 -drive file=private.qcow2,if=virtio \
#       -net nic -net user,hostfwd=tcp:127.0.0.1:22223-:22 \
#       -vnc 127.0.0.1:0 -nographic -monitor /dev/null \
#       -chardev socket,id=sensors0,host=SERVER,port=49152,ipv4=on \
#       -device isa-serial,chardev=sensors0,id=serial1,index=1 \
#       -fsdev local,id=fsdev0,path=./shared,security_model=none \
#       -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared
#
# SERVER is a local sensor server (tests/lib/sensor_server.py); the ports are
# 22223, 49152 and VNC display 0 when free, else free ones (the only change).
# Over ssh: the guest mounts `shared` (9p), reads the host's file and writes
# one the host sees, reads the server's bytes from /dev/ttyS1 and answers,
# and `systemctl poweroff` ends the emulator with status 0.
# Run by tests/lab/run.sh (make check-lab: it takes a whole boot of the lab
# machine); alone: tests/lab/launcher.sh [LABDIR]. LAB_MARK_GONE=PATH: also
# check that PATH does not exist in the guest (the overlay is fresh).
# LAB_NO_KVM=1 replaces -enable-kvm by -accel tcg.
# Prints `launcher: N passed, N failed[, N skipped]`.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
TAG=launcher
LAB=${1:-${CACHE:-$HOME/.cache/tremu}/lab}
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-1200}
# shellcheck source=lib.sh
. tests/lab/lib.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-launcher.XXXXXX")
trap lab_cleanup EXIT
lab_disk
make -s install PREFIX="$T/qemu" >"$T/install.log" 2>&1 ||
    { bad "make install PREFIX=... failed: $(tail -n 3 "$T/install.log")"; finish; }
QEMU_BUILD_DIR=$T/qemu
QEMU=$QEMU_BUILD_DIR/bin/qemu-system-x86_64

cd "$T" || exit 1
mkdir shared
echo "from the host $$" > shared/hostnote
ln -s "$DISK" cslab_rootfs.raw
if "$QEMU_BUILD_DIR/bin/qemu-img" create -b cslab_rootfs.raw -f qcow2 -F raw private.qcow2 >qemu-img.out 2>&1; then
    ok "qemu-img create -b cslab_rootfs.raw -f qcow2 -F raw private.qcow2"
else
    bad "qemu-img create: $(tail -n 2 qemu-img.out)"; finish
fi

python3 "$TOP/tests/lib/sensor_server.py" sport server.out "$(port_or_free 49152)" >sensor.log 2>&1 </dev/null &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s sport ] && break; sleep 0.1; done
SPORT=$(cat sport 2>/dev/null)
[ -n "$SPORT" ] || { bad "the sensor server did not start: $(tail -n 2 sensor.log)"; finish; }
PORT=$(port_or_free 22223)
use_port "$PORT"
VNC=0
while [ "$(port_or_free $((5900 + VNC)))" != $((5900 + VNC)) ] && [ $VNC -lt 99 ]; do VNC=$((VNC + 1)); done
if [ -n "${LAB_NO_KVM:-}" ]; then KVM=(-accel tcg); else KVM=(-enable-kvm); fi
CMD=("$QEMU" "${KVM[@]}" -M pc -m 1024 -smp 2 -drive file=private.qcow2,if=virtio
     -net nic -net user,hostfwd=tcp:127.0.0.1:$PORT-:22
     -vnc 127.0.0.1:$VNC -nographic -monitor /dev/null
     -chardev socket,id=sensors0,host=127.0.0.1,port=$SPORT,ipv4=on
     -device isa-serial,chardev=sensors0,id=serial1,index=1
     -fsdev local,id=fsdev0,path=./shared,security_model=none
     -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared)
echo "$TAG: ${CMD[*]#$T/}"
start launch "${CMD[@]}"
if wait_up; then
    ok "the launcher's line booted the lab disk through SeaBIOS and GRUB: login: after $LOGIN_S s, ssh on port $PORT after $SSH_S s"
else
    bad "no login:/ssh within ${BOOT_TIMEOUT}s (console: $T/launch.log)"
    tail -n 15 "$T/launch.log"; tail -n 5 "$T/launch.out"; LAB_KEEP=1; finish
fi
c=$(gssh 'cat /proc/cmdline' 2>&1)
case "$c" in
BOOT_IMAGE=/boot/vmlinuz-*) ok "the kernel came from GRUB ($c)" ;;
*) bad "/proc/cmdline: '$c'" ;;
esac
if [ -n "${LAB_MARK_GONE:-}" ]; then
    if gssh "test ! -e $LAB_MARK_GONE"; then ok "fresh overlay: $LAB_MARK_GONE is not there"
    else bad "the fresh overlay has $LAB_MARK_GONE"; fi
fi

out=$(gssh 'mount -t 9p -o trans=virtio,version=9p2000.L shared /mnt && cat /mnt/hostnote &&
            echo "written in the guest" > /mnt/guestnote && umount /mnt && echo UMOUNTED' 2>&1)
if printf '%s' "$out" | grep -qx "from the host $$"; then ok "the guest mounts 'shared' (9p) and reads the host's file"
else bad "9p mount/read: '$(printf '%s' "$out" | head -c 300)'"; fi
if [ "$(cat shared/guestnote 2>/dev/null)" = "written in the guest" ] && printf '%s' "$out" | grep -qx UMOUNTED; then
    ok "the host sees the file the guest wrote in 'shared'"
else bad "host side of 'shared': $(ls -la shared | tr '\n' ' ')"; fi

# The server sends SENSOR42 lines from the moment the emulator connected:
# whatever piled up before the guest opened the port may be cut, so wait
# for one whole line.
out=$(gssh 'stty -F /dev/ttyS1 raw -echo && timeout 60 grep -a -m1 -x SENSOR42 /dev/ttyS1 && echo GUEST-ANSWERS > /dev/ttyS1' 2>&1)
if [ "$out" = SENSOR42 ]; then ok "the guest reads the sensor server's bytes on /dev/ttyS1"
else bad "/dev/ttyS1: '$(printf '%s' "$out" | head -c 200)'"; fi
for _ in $(seq 1 30); do grep -q GUEST-ANSWERS server.out 2>/dev/null && break; sleep 1; done
if grep -q GUEST-ANSWERS server.out 2>/dev/null; then ok "the sensor server receives what the guest writes to /dev/ttyS1"
else bad "the server got '$(head -c 200 server.out 2>/dev/null)'"; fi

if vm_exit systemctl poweroff; then ok "systemctl poweroff ends the emulator with status 0"
else bad "systemctl poweroff: status $? ($(tail -n 3 "$T/launch.out" | tr '\n' ' '))"; fi
finish
