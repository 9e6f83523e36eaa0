#!/bin/bash
# make check-lab: the course's lab machine, end to end under tremu's software
# CPU (issues 4, 11 and 12). The disk is the one the course ships: MBR, GRUB
# and the ext4 root in one raw image (tests/lab/mkdisk.sh, from the lab image
# of tests/lab/mkrootfs.sh), booted through a private qcow2 overlay:
#   1. the course launcher's form with no -kernel (-M pc -m 1024 -smp 2,
#      virtio disk, -net nic -net user with the ssh hostfwd, -nographic):
#      SeaBIOS -> GRUB -> Debian to `login:` on the serial console; ssh in on
#      127.0.0.1:22223 (a free port when 22223 is taken): uname, root on
#      /dev/vda1 booted by GRUB, write a file, fetch a page from a host server
#      through 10.0.2.2; then a one-shot next_entry in GRUB's environment
#      block and `reboot`: back through SeaBIOS into GRUB, which boots its
#      second entry and clears next_entry (a BIOS disk write); the file is
#      there; `systemctl poweroff` ends tremu with status 0;
#   2. the direct -kernel boot of the same disk (README's form, for
#      comparison of the time to login:) with -no-reboot: the file is there;
#      `reboot` ends tremu with status 0;
#   3. the disk is byte-identical;
#   4. tests/lab/launcher.sh: the course's exact launcher command line
#      through `make install`'s names on a fresh overlay (which must not have
#      the file), with the shared folder and the sensor serial port.
#
# Usage: tests/lab/run.sh [LABDIR]   (default ~/.cache/tremu/lab, built by
#   tests/lab/mkrootfs.sh when missing; the whole disk goes to LABDIR/../labdisk).
#   LAB_BOOT_TIMEOUT=seconds (1200), LAB_QUICK=1 (no step 4), LAB_NO_KVM=1
#   (-accel tcg instead of the launcher's -enable-kvm), LAB_KEEP=1 (keep logs).
# Prints `lab: N passed, N failed[, N skipped]`; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
TAG=lab
LAB=${1:-${CACHE:-$HOME/.cache/tremu}/lab}
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-1200}
# shellcheck source=lib.sh
. tests/lab/lib.sh

for t in tremu tools/tremu-img; do
    [ -x "$t" ] || { bad "$t not built (make tremu tools/tremu-img)"; finish; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-lab.XXXXXX")
trap lab_cleanup EXIT
lab_disk
base_sum=$(sha256sum "$DISK" | cut -d' ' -f1)
tools/tremu-img create -f qcow2 -b "$DISK" -F raw "$T/ov.qcow2" >/dev/null ||
    { bad "tremu-img create of the overlay failed"; finish; }
if [ -n "${LAB_NO_KVM:-}" ]; then KVM=(-accel tcg); else KVM=(-enable-kvm); fi

# ---- 1. SeaBIOS -> GRUB -> Debian, the launcher's form ----------------------
PORT=$(port_or_free 22223)
use_port "$PORT"
LAUNCH=("${KVM[@]}" -M pc -m 1024 -smp 2 -drive file="$T/ov.qcow2",if=virtio
        -net nic -net user,hostfwd=tcp:127.0.0.1:$PORT-:22 -nographic -monitor /dev/null)
start grub ./tremu "${LAUNCH[@]}"
if wait_up; then
    GRUB_LOGIN=$LOGIN_S
    ok "boot 1 (${LAUNCH[0]} -M pc -m 1024 -smp 2, no -kernel, hostfwd port $PORT): login: after $LOGIN_S s, ssh after $SSH_S s ($(grep -m1 -o 'accel [a-z]*\|continuing with [a-z]*' "$T/grub.out"))"
    echo "lab-time grub login $LOGIN_S ssh $SSH_S"
else
    bad "boot 1: no login:/ssh within ${BOOT_TIMEOUT}s (console: $T/grub.log)"
    tail -n 15 "$T/grub.log"; LAB_KEEP=1; finish
fi
if [ "$(console_count "SeaBIOS (version")" -ge 1 ] && [ "$(console_count "Use the")" -ge 1 ] &&
   [ "$(console_count "Booting \`Debian GNU/Linux'")" -ge 1 ]; then
    ok "the serial console shows SeaBIOS, GRUB's menu and GRUB booting its first entry"
else
    bad "SeaBIOS banner / GRUB menu / 'Booting Debian GNU/Linux' missing on the console"
fi

u=$(gssh uname -a 2>&1)
case "$u" in
Linux\ utopia\ *x86_64*) ok "ssh uname -a: $u" ;;
*) bad "ssh uname -a: '$u'" ;;
esac
c=$(gssh 'cat /proc/cmdline; findmnt -no SOURCE /' 2>&1)
if printf '%s' "$c" | grep -q "^BOOT_IMAGE=/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID" &&
   ! printf '%s' "$c" | grep -q tremu.entry && printf '%s' "$c" | grep -qx /dev/vda1; then
    ok "GRUB's first entry booted the kernel from /boot, root on /dev/vda1"
else
    bad "cmdline / root: '$(printf '%s' "$c" | tr '\n' ' ' | head -c 300)'"
fi
# Until SMP lands -smp 2 runs one vCPU with a warning; either way, say so.
n=$(gssh nproc 2>&1)
if [ "$n" = 2 ]; then ok "-smp 2: the guest has 2 CPUs"
elif [ "$n" = 1 ] && grep -q "SMP is not implemented yet" "$T/grub.out"; then ok "-smp 2 warns and runs 1 vCPU"
else bad "-smp 2: nproc '$n' and no warning"; fi

MARK="tremu-lab-$$-$RANDOM"
if w=$(gssh "echo $MARK > /root/lab-mark && sync" 2>&1) && [ "$(gssh cat /root/lab-mark)" = "$MARK" ]; then
    ok "wrote /root/lab-mark in the guest"
else
    bad "could not write /root/lab-mark in the guest (ssh: '$(printf '%s' "$w" | head -c 200)')"
fi

# Guest -> host TCP through slirp's 10.0.2.2 (the host's 127.0.0.1).
mkdir -p "$T/www" && echo "hello-from-host-$MARK" >"$T/www/hello.txt"
HPORT=$(free_port)
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
PIDS+=("$!")
sleep 1
# bash's /dev/tcp needs nothing installed in the guest besides bash.
got=$(gssh "exec 3<>/dev/tcp/10.0.2.2/$HPORT && printf 'GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && timeout 20 cat <&3" 2>&1)
if printf '%s' "$got" | grep -q "hello-from-host-$MARK"; then
    ok "guest fetched http://10.0.2.2:$HPORT/ from the host"
else
    bad "guest -> host TCP via 10.0.2.2: '$(printf '%s' "$got" | head -c 200)'"
fi

# Reboot into GRUB's second entry: next_entry in the environment block (as
# grub-reboot writes it; the guest has no GRUB tools), written in place so
# its blocks, which GRUB rewrites through int 13h, stay where they are.
SSH_TIMEOUT=60 gssh1 "{ printf '# GRUB Environment Block\nnext_entry=1\n'; head -c 986 /dev/zero | tr '\0' '#'; } |
      dd of=/boot/grub/grubenv conv=notrunc status=none && sync && reboot" >/dev/null 2>&1
if wait_up 2; then
    ok "reboot: SeaBIOS ($(console_count "SeaBIOS (version") banners) -> GRUB -> login: again after $LOGIN_S s from the first start"
    c=$(gssh 'cat /proc/cmdline; cat /root/lab-mark; grep -a "^next_entry" /boot/grub/grubenv' 2>&1)
    if printf '%s' "$c" | grep -q "^BOOT_IMAGE=.* tremu.entry=2"; then ok "GRUB booted its second entry (next_entry)"
    else bad "after reboot, cmdline is not the second entry's: '$(printf '%s' "$c" | head -n 1)'"; fi
    if printf '%s' "$c" | grep -qx "next_entry="; then ok "GRUB cleared next_entry in grubenv (save_env: a BIOS disk write)"
    else bad "grubenv after the reboot: '$(printf '%s' "$c" | tail -n 1)'"; fi
    if printf '%s' "$c" | grep -qx "$MARK"; then ok "the file written before the reboot is there"
    else bad "after the reboot /root/lab-mark is not '$MARK'"; fi
else
    bad "reboot: no second login:/ssh within ${BOOT_TIMEOUT}s (console: $T/grub.log)"
    tail -n 15 "$T/grub.log"; LAB_KEEP=1
fi
if vm_exit systemctl poweroff; then ok "systemctl poweroff: tremu exited 0 after $(since) s"
else bad "systemctl poweroff: tremu did not exit 0 (status $?)"; fi

# ---- 2. the same disk with -kernel, and -no-reboot ---------------------------
PORT=$(free_port)
use_port "$PORT"
ACCEPT=(-accel tcg -m 1G -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img"
        -append "root=UUID=$ROOT_UUID ro console=ttyS0" -drive file="$T/ov.qcow2",if=virtio
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22 -device virtio-net-pci,netdev=n0
        -display none -monitor none -serial stdio -no-reboot)
start direct ./tremu "${ACCEPT[@]}"
if wait_up; then
    ok "boot 2 (-kernel/-initrd/-append, same disk): login: after $LOGIN_S s (GRUB: ${GRUB_LOGIN:-?} s), ssh after $SSH_S s"
    echo "lab-time direct login $LOGIN_S ssh $SSH_S"
    m=$(gssh cat /root/lab-mark 2>&1)
    if [ "$m" = "$MARK" ]; then ok "the file written in boot 1 is there"
    else bad "in boot 2 /root/lab-mark is '$m'"; fi
    if vm_exit reboot; then ok "-no-reboot: the guest's reboot ends tremu with status 0"
    else bad "-no-reboot: reboot did not end tremu with status 0 (status $?)"; fi
else
    bad "boot 2: no login:/ssh within ${BOOT_TIMEOUT}s (console: $T/direct.log)"
    tail -n 15 "$T/direct.log"; kill "$QPID" 2>/dev/null; LAB_KEEP=1
fi

# ---- 3. the base image is never written -------------------------------------
if [ "$(sha256sum "$DISK" | cut -d' ' -f1)" = "$base_sum" ]; then
    ok "the base disk is byte-identical (sha256 $base_sum)"
else
    bad "the base disk $DISK changed"
fi

# ---- 4. the course launcher, unchanged, on a fresh overlay -------------------
if [ "${LAB_QUICK:-}" ]; then
    skp "the course launcher on a fresh overlay (LAB_QUICK set)"
else
    LAB_MARK_GONE=/root/lab-mark bash tests/lab/launcher.sh "$LAB" | tee "$T/launcher.res"
    line=$(grep -E '^launcher: [0-9]+ passed, [0-9]+ failed' "$T/launcher.res" | tail -n 1)
    if [ -z "$line" ]; then bad "tests/lab/launcher.sh: no result line"
    else
        pass=$((pass + $(echo "$line" | sed -E 's/^launcher: ([0-9]+) passed.*/\1/')))
        fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
        s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p'); skip=$((skip + ${s:-0}))
    fi
fi
finish
