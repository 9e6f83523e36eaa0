#!/bin/bash
# Builds the course's "lab machine" disk image from Debian packages, the way the
# course hands it out: a read-only raw ext4 base, a private qcow2 overlay over
# it (deleting the overlay resets the machine), and the kernel and initrd for
# direct boot:
#
#   tremu -m 1G -kernel OUT/vmlinuz -initrd OUT/initrd.img \
#         -append "root=/dev/vda console=ttyS0" -drive file=OUT/private.qcow2,if=virtio \
#         -netdev user,id=n0,hostfwd=tcp::22223-:22 -device virtio-net-pci,netdev=n0 -nographic
#   ssh -i OUT/id_ed25519 -p 22223 root@localhost
#
# Usage: tests/lab/mkrootfs.sh [--check|--check-acpi] OUTDIR
#   (root; no loop mounts; needs the Debian mirror)
# The result is cached: OUTDIR/STAMP says it is complete; it is rebuilt when
# STAMP or any product is missing, or when IMAGE_VERSION below changes (bump
# it whenever the image's content changes).
#   --check       then boot it under Debian's QEMU (TCG) on a throwaway
#                 overlay: time to `login:` and to the first ssh, and
#                 `systemctl poweroff` must end QEMU (ACPI S5).
#   --check-acpi  the same with tremu's ACPI tables instead of QEMU's
#                 (tests/unit/run-unit acpi_dump builds them for 0x30000000,
#                 QEMU's loader puts them there, the kernel gets
#                 acpi_rsdp=0x30000000): the kernel must take them, reboot
#                 through their reset register and power off through \_S5.
#
# Image: Debian 12 (bookworm), systemd, openssh-server, sudo, iproute2, sshfs,
# systemd-networkd with DHCP on the first Ethernet NIC (ens3 under QEMU pc with
# the NIC at 00:03.0, eth0 elsewhere: matched by name pattern), hostname utopia,
# users root/root and user/user (user in sudo). This is a lab VM reachable only
# through the host's forwarded port: sshd permits root password login
# (PermitRootLogin yes) as the course expects, and OUTDIR/id_ed25519 is a test
# key authorised for root so automated tests need no password.
set -euo pipefail

CHECK=""
case "${1:-}" in
--check|--check-acpi) CHECK=$1; shift ;;
esac
OUT=${1:?usage: $0 [--check|--check-acpi] OUTDIR}
SUITE=bookworm
SIZE=2G
IMAGE_VERSION=2
SELF=$(readlink -f "$0")
TOP=$(dirname "$SELF")/../..

# boot_check MODE: boots OUT's image on a throwaway overlay under QEMU TCG.
boot_check() {
    # set -e stays on: every command that may fail here is tested or `|| true`.
    local mode=$1 T port qpid start login="" sshok="" rc=0 n=0
    T=$(mktemp -d)
    port=$((20000 + $$ % 20000))
    qemu-img create -q -f qcow2 -b "$OUT/base.raw" -F raw "$T/ov.qcow2"
    local append="root=/dev/vda console=ttyS0" extra=()
    if [ "$mode" = --check-acpi ]; then
        [ -x "$TOP/tests/unit/run-unit" ] || { echo "check: build tests/unit/run-unit first" >&2; rm -rf "$T"; return 1; }
        TREMU_ACPI_DUMP_DIR="$T" TREMU_ACPI_DUMP_BASE=0x30000000 "$TOP/tests/unit/run-unit" acpi_dump >/dev/null ||
            { echo "check: acpi_dump failed" >&2; rm -rf "$T"; return 1; }
        # Reserved in the e820 map so Linux leaves the tables alone; nokaslr
        # so the decompressed kernel cannot land on them; pci=nomsi so the
        # virtio devices interrupt through INTx, routed by our _PRT alone.
        append+=' acpi_rsdp=0x30000000 memmap=64K$0x30000000 nokaslr pci=nomsi'
        extra=(-device loader,file="$T/area.bin",addr=0x30000000,force-raw=on)
    fi
    local ssh=(ssh -q -i "$OUT/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
               -o ConnectTimeout=3 -p "$port" root@127.0.0.1)
    start=$(date +%s.%N)
    qemu-system-x86_64 -accel tcg -m 1G -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" -append "$append" \
        "${extra[@]}" -drive file="$T/ov.qcow2",if=virtio \
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22 -device virtio-net-pci,netdev=n0 \
        -nographic -monitor none -serial file:"$T/console.log" </dev/null &
    qpid=$!
    # shellcheck disable=SC2064
    trap "kill $qpid 2>/dev/null; rm -rf '$T'" EXIT
    since() { echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'; }
    for _ in $(seq 1 600); do
        sleep 0.5
        if [ -z "$login" ] && grep -qa "login:" "$T/console.log" 2>/dev/null; then
            login=$(since); echo "check: login: after $login s"
        fi
        if [ -z "$sshok" ] && timeout 8 "${ssh[@]}" uname -a >"$T/ssh.out" 2>/dev/null; then
            sshok=$(since); echo "check: first ssh after $sshok s: $(cat "$T/ssh.out")"
        fi
        [ -n "$login" ] && [ -n "$sshok" ] && break
        kill -0 $qpid 2>/dev/null || break
    done
    [ -n "$login" ] && [ -n "$sshok" ] || { echo "check: FAILED: no login:/ssh"; rc=1; }
    if [ $rc = 0 ]; then
        # What the course uses in the guest.
        if "${ssh[@]}" 'command -v sshfs sudo ip >/dev/null && id user | grep -q "(sudo)" && [ "$(hostname)" = utopia ]' 2>/dev/null; then
            echo "check: guest has sshfs, sudo, ip; user in sudo; hostname utopia"
        else
            echo "check: FAILED: guest lacks sshfs/sudo/ip, user not in sudo or hostname not utopia"; rc=1
        fi
    fi
    if [ $rc = 0 ] && [ "$mode" = --check-acpi ]; then
        "${ssh[@]}" dmesg >"$T/dmesg" 2>&1 || true
        "${ssh[@]}" cat /proc/interrupts >"$T/interrupts" 2>&1 || true
        # The disk (00:04.0) and the NIC (00:03.0) on PIC IRQs from the _PRT:
        # had it named the wrong PIRQ, root on /dev/vda would not have come up.
        if grep -qE '^ *1[01]:.*XT-PIC.*virtio' "$T/interrupts"; then
            echo "check: virtio INTx on $(grep -E 'virtio' "$T/interrupts" | awk '{printf "IRQ %s ", $1}')"
        else
            echo "check: FAILED: virtio not on PIC IRQ 10/11: $(grep virtio "$T/interrupts" | tr -s ' ' | head -c 200)"; rc=1
        fi
        for pat in 'ACPI: RSDP 0x0000000030000000 000024 (v02 TREMU )' 'ACPI: DSDT 0x' \
                   'ACPI: PM: (supports S0 S5)' 'ACPI: Using PIC for interrupt routing' \
                   'PCI: Using ACPI for IRQ routing' 'i8042: PNP: PS/2 Controller' \
                   'clocksource: acpi_pm: mask: 0xffffff'; do
            if grep -qF -- "$pat" "$T/dmesg"; then echo "check: dmesg has '$pat'"
            else echo "check: FAILED: dmesg lacks '$pat'"; rc=1; fi
        done
        # Reboot through the FADT's reset register, then wait for the second boot.
        "${ssh[@]}" systemctl reboot 2>/dev/null || true
        for _ in $(seq 1 300); do
            sleep 1
            n=$(grep -ac "Linux version" "$T/console.log" || true)
            [ "$n" -ge 2 ] && break
            kill -0 $qpid 2>/dev/null || break
        done
        if [ "${n:-0}" -ge 2 ]; then echo "check: rebooted after $(since) s"
        else echo "check: FAILED: no reboot"; rc=1; fi
        for _ in $(seq 1 300); do
            sleep 1
            timeout 8 "${ssh[@]}" true 2>/dev/null && break
            kill -0 $qpid 2>/dev/null || break
        done
    fi
    timeout 10 "${ssh[@]}" systemctl poweroff 2>/dev/null || true
    for _ in $(seq 1 240); do kill -0 $qpid 2>/dev/null || break; sleep 0.5; done
    if kill -0 $qpid 2>/dev/null; then
        echo "check: FAILED: QEMU still running after poweroff"; kill $qpid 2>/dev/null || true; rc=1
    else
        echo "check: poweroff ended QEMU after $(since) s"
    fi
    rm -rf "$T"
    trap - EXIT
    return $rc
}

[ "$(id -u)" = 0 ] || { echo "mkrootfs: must run as root (debootstrap, file ownership)" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")

products="base.raw private.qcow2 vmlinuz initrd.img id_ed25519 id_ed25519.pub"
want_stamp="mkrootfs image v$IMAGE_VERSION"
if [ -f "$OUT/STAMP" ] && [ "$(head -n1 "$OUT/STAMP")" = "$want_stamp" ]; then
    ok=1
    for f in $products; do [ -s "$OUT/$f" ] || ok=0; done
    if [ $ok = 1 ]; then
        echo "mkrootfs: $OUT is up to date"
        if [ -n "$CHECK" ]; then boot_check "$CHECK"; exit; fi
        exit 0
    fi
fi
rm -f "$OUT/STAMP"

# The mirror apt already uses (deb822 .sources first, then one-line lists).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '/^URIs:/ {u=$2} /^Suites:/ && u ~ /debian\/?$/ && $0 ~ /bookworm( |$)/ {print u; exit}' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $0 ~ / bookworm / && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}
echo "mkrootfs: mirror $mirror"

command -v debootstrap >/dev/null || apt-get install -y debootstrap
command -v qemu-img >/dev/null || apt-get install -y qemu-utils

ROOT="$OUT/rootfs.tmp"
cleanup() {
    mountpoint -q "$ROOT/proc" 2>/dev/null && umount "$ROOT/proc" || true
    mountpoint -q "$ROOT/sys" 2>/dev/null && umount "$ROOT/sys" || true
}
trap cleanup EXIT
cleanup
rm -rf "$ROOT"
mkdir -p "$ROOT"

t0=$(date +%s)
# minbase lacks e2fsprogs (no fsck in the initramfs otherwise) and the init
# system: name what the lab needs explicitly.
include=systemd,systemd-sysv,udev,dbus,openssh-server,sudo,iproute2,iputils-ping,
include+=e2fsprogs,initramfs-tools,kmod,procps,netbase,less,ca-certificates,libpam-systemd,
# sshfs: the course mounts the host home from 10.0.2.2 in the guest.
include+=sshfs,fuse3,openssh-client
debootstrap --variant=minbase --include="$include" "$SUITE" "$ROOT" "$mirror"

mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
inchroot() { LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"; }

# Same sources as the host (main; updates and security from the same snapshot mirror).
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
EOF

# Services must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# The initramfs must find the root disk and the NIC on virtio-pci whatever
# host it was built on: MODULES=most plus the virtio/ext4 drivers by name.
mkdir -p "$ROOT/etc/initramfs-tools"
sed -i 's/^MODULES=.*/MODULES=most/' "$ROOT/etc/initramfs-tools/initramfs.conf" 2>/dev/null || true
cat >> "$ROOT/etc/initramfs-tools/modules" <<EOF
virtio_pci
virtio_blk
virtio_net
ext4
EOF

# Without recommends the kernel does not pull firmware and apparmor.
inchroot apt-get update
inchroot apt-get install -y --no-install-recommends linux-image-amd64

echo utopia > "$ROOT/etc/hostname"
cat > "$ROOT/etc/hosts" <<EOF
127.0.0.1 localhost
127.0.1.1 utopia
::1 localhost ip6-localhost ip6-loopback
EOF
echo "/dev/vda / ext4 errors=remount-ro 0 1" > "$ROOT/etc/fstab"

# DHCP on the first Ethernet NIC whatever its name (ens3 on QEMU pc, eth0 ...).
mkdir -p "$ROOT/etc/systemd/network"
cat > "$ROOT/etc/systemd/network/20-lab.network" <<EOF
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
inchroot systemctl enable systemd-networkd.service
# Booting must not wait for the network to be "online".
inchroot systemctl mask systemd-networkd-wait-online.service
echo "nameserver 10.0.2.3" > "$ROOT/etc/resolv.conf"

# Users: root/root, user/user in sudo.
inchroot useradd -m -s /bin/bash -G sudo user
printf 'root:root\nuser:user\n' | inchroot chpasswd

# sshd: password login for root (lab VM), and the test key.
mkdir -p "$ROOT/etc/ssh/sshd_config.d"
cat > "$ROOT/etc/ssh/sshd_config.d/lab.conf" <<EOF
# Lab VM: only reachable through the host's forwarded port.
PermitRootLogin yes
PasswordAuthentication yes
UseDNS no
EOF
rm -f "$OUT/id_ed25519" "$OUT/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N "" -C "tremu-lab-test" -f "$OUT/id_ed25519"
install -d -m 700 "$ROOT/root/.ssh"
install -m 600 "$OUT/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"

# A fresh machine-id on first boot; no leftovers in the image.
: > "$ROOT/etc/machine-id"
rm -f "$ROOT/usr/sbin/policy-rc.d"
inchroot apt-get clean
rm -rf "$ROOT/var/lib/apt/lists/"*

kver=$(ls "$ROOT/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)
[ -n "$kver" ] || { echo "mkrootfs: no kernel installed" >&2; exit 1; }
cp "$ROOT/boot/vmlinuz-$kver" "$OUT/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$OUT/initrd.img"
chmod 644 "$OUT/vmlinuz" "$OUT/initrd.img"

cleanup
# The base image without loop mounts: mkfs.ext4 copies the tree (ownership kept).
rm -f "$OUT/base.raw" "$OUT/private.qcow2"
mkfs.ext4 -q -F -L lab-root -d "$ROOT" "$OUT/base.raw" "$SIZE"
qemu-img create -q -f qcow2 -b base.raw -F raw "$OUT/private.qcow2"
rm -rf "$ROOT"

{
    echo "$want_stamp"
    echo "kernel $kver"
    echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - t0 )) s from $mirror"
} > "$OUT/STAMP"
echo "mkrootfs: done: $OUT (kernel $kver)"
trap - EXIT
if [ -n "$CHECK" ]; then boot_check "$CHECK"; exit; fi
