#!/bin/bash
# make check-lab: the course's lab machine, end to end under tremu's software
# CPU (issue 4, "Done when"). On a copy of the image's overlay, never the
# pristine one:
#   1. boot with the course's command line (-kernel/-initrd, root on
#      virtio-blk over a qcow2 overlay of a raw base, virtio-net with slirp
#      and a hostfwd for ssh), wait for `login:` on the serial console;
#   2. ssh in with the image's test key: uname, write a file, fetch a page from
#      a server on the host through 10.0.2.2, poweroff (tremu must exit 0);
#   3. boot again (the course launcher's form: -M pc -smp 2 -net nic -net
#      user,...): the file is there; poweroff;
#   4. base.raw is byte-identical; a fresh overlay boots without the file.
#
# Usage: tests/lab/run.sh [LABDIR]   (default ~/.cache/tremu/lab, built by
#   tests/lab/mkrootfs.sh when missing). LAB_BOOT_TIMEOUT=seconds (1200).
# Time limits only catch hangs: a loaded host runs the software CPU several
# times slower, and every wait ends as soon as what it waits for happens.
# Prints `lab: N passed, N failed[, N skipped]`; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
LAB=${1:-${CACHE:-$HOME/.cache/tremu}/lab}
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-1200}
pass=0; fail=0; skip=0
ok()   { echo "lab: ok   $*"; pass=$((pass + 1)); }
bad()  { echo "lab: FAIL $*"; fail=$((fail + 1)); }
skp()  { echo "lab: skip $*"; skip=$((skip + 1)); }
finish() {
    if [ $skip -gt 0 ]; then echo "lab: $pass passed, $fail failed, $skip skipped"
    else echo "lab: $pass passed, $fail failed"; fi
    [ $fail -eq 0 ]; exit $?
}

for t in tremu tools/tremu-img; do
    [ -x "$t" ] || { bad "$t not built (make tremu tools/tremu-img)"; finish; }
done
# Host tools the test drives the guest with (make deps installs them).
for t in ssh python3 sha256sum; do
    command -v $t >/dev/null || { bad "needs $t on the host (make deps)"; finish; }
done
if [ ! -f "$LAB/STAMP" ]; then
    echo "lab: building the lab image in $LAB (a few minutes)"
    if ! tests/lab/mkrootfs.sh "$LAB" >"${TMPDIR:-/tmp}/lab-mkrootfs.$$.log" 2>&1; then
        tail -n 20 "${TMPDIR:-/tmp}/lab-mkrootfs.$$.log"
        bad "mkrootfs.sh $LAB failed"; finish
    fi
fi
for f in base.raw vmlinuz initrd.img id_ed25519; do
    [ -s "$LAB/$f" ] || { bad "$LAB/$f missing"; finish; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-lab.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "${LAB_KEEP:-}" ]; then echo "lab: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
# The key must not be group/world-readable or ssh ignores it.
install -m 600 "$LAB/id_ed25519" "$T/key"

# free_port: a TCP port nobody listens on now (parallel runs do not clash).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
SSH=(ssh -q -i "$T/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o ConnectTimeout=5 -o BatchMode=yes -o LogLevel=ERROR -p "$PORT" root@127.0.0.1)
gssh() { timeout "${SSH_TIMEOUT:-300}" "${SSH[@]}" "$@" </dev/null; }

base_sum=$(sha256sum "$LAB/base.raw" | cut -d' ' -f1)
# The overlay we boot: a copy of the image's one (it must name base.raw by an
# absolute path once moved, so we make our own against the same base instead
# when the copy cannot find its backing file).
new_overlay() {
    rm -f "$T/ov.qcow2"
    tools/tremu-img create -f qcow2 -b "$LAB/base.raw" -F raw "$T/ov.qcow2" >/dev/null
}
if [ -f "$LAB/private.qcow2" ]; then
    cp "$LAB/private.qcow2" "$T/ov.qcow2"
    # The course's overlay names its base relatively ("base.raw"): link it next to the copy.
    ln -sf "$LAB/base.raw" "$T/base.raw"
else
    new_overlay
fi

# boot NAME ARGS...: starts tremu in the background, serial console to
# $T/NAME.log; sets QPID and BOOT_START.
boot() {
    local name=$1; shift
    CUR=$name
    : >"$T/$name.log"
    BOOT_START=$(date +%s.%N)
    ./tremu "$@" -display none -monitor none -serial file:"$T/$name.log" \
        </dev/null >"$T/$name.out" 2>&1 &
    QPID=$!
    PIDS+=("$QPID")
}
since() { echo "$(date +%s.%N) $BOOT_START" | awk '{printf "%.1f", $1 - $2}'; }

# wait_up NAME: waits for login: on the console, then for ssh to answer.
# Sets LOGIN_S and SSH_S (seconds from the start) or returns 1.
wait_up() {
    local name=$1 end=$((SECONDS + BOOT_TIMEOUT))
    LOGIN_S=; SSH_S=
    while [ $SECONDS -lt $end ]; do
        if [ -z "$LOGIN_S" ] && grep -qa "login:" "$T/$name.log"; then LOGIN_S=$(since); fi
        if [ -n "$LOGIN_S" ] && SSH_TIMEOUT=60 gssh true 2>/dev/null; then SSH_S=$(since); return 0; fi
        kill -0 "$QPID" 2>/dev/null || { echo "lab: tremu exited early:"; tail -n 5 "$T/$name.out"; return 1; }
        sleep 1
    done
    return 1
}

# poweroff_wait: asks the guest to power off, waits for tremu's exit status.
poweroff_wait() {
    local rc
    SSH_TIMEOUT=60 gssh poweroff 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
    if kill -0 "$QPID" 2>/dev/null; then
        echo "lab: tremu still running 600 s after poweroff; console tail:"
        tail -n 5 "$T/$CUR.log" 2>/dev/null
        kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null
        return 124
    fi
    wait "$QPID"; rc=$?
    return $rc
}

# ---- 1. first boot: the acceptance command line -------------------------
ACCEPT=(-accel tcg -m 1G -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img"
        -append "root=/dev/vda console=ttyS0" -drive file="$T/ov.qcow2",if=virtio
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22 -device virtio-net-pci,netdev=n0)
boot boot1 "${ACCEPT[@]}"
if wait_up boot1; then
    ok "boot 1: login: after $LOGIN_S s, first ssh after $SSH_S s"
    echo "lab-time login $LOGIN_S ssh $SSH_S"
else
    bad "boot 1: no login:/ssh within ${BOOT_TIMEOUT}s (console: $T/boot1.log)"
    tail -n 15 "$T/boot1.log"; LAB_KEEP=1; finish
fi

u=$(gssh uname -a 2>&1)
case "$u" in
Linux\ utopia\ *x86_64*) ok "ssh uname -a: $u" ;;
*) bad "ssh uname -a: '$u'" ;;
esac

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

if poweroff_wait; then ok "poweroff: tremu exited 0 after $(since) s"
else bad "poweroff: tremu did not exit 0 (status $?)"; fi

# ---- 2. second boot: the course launcher's form ----------------------------
# -enable-kvm falls back to tcg where KVM cannot run this guest; -smp 2 runs
# 1 vCPU with a warning.
PORT2=$(free_port)
SSH=(ssh -q -i "$T/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o ConnectTimeout=5 -o BatchMode=yes -o LogLevel=ERROR -p "$PORT2" root@127.0.0.1)
LAUNCH=(-M pc -m 1024 -smp 2 -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img"
        -append "root=/dev/vda console=ttyS0" -drive file="$T/ov.qcow2",if=virtio
        -net nic -net user,hostfwd=tcp:127.0.0.1:$PORT2-:22)
# LAB_NO_KVM=1 replaces -enable-kvm by -accel tcg (hosts whose KVM passes the
# probe but is not wanted for this run).
if [ -n "${LAB_NO_KVM:-}" ]; then LAUNCH=(-accel tcg "${LAUNCH[@]}"); else LAUNCH=(-enable-kvm "${LAUNCH[@]}"); fi
boot boot2 "${LAUNCH[@]}"
if wait_up boot2; then
    ok "boot 2 (${LAUNCH[0]} -M pc -m 1024 -smp 2 -net nic -net user): login: after $LOGIN_S s, ssh after $SSH_S s ($(grep -m1 -o 'accel [a-z]*\|continuing with [a-z]*' "$T/boot2.out"))"
    if grep -q "SMP is not implemented yet" "$T/boot2.out"; then ok "-smp 2 warns and runs 1 vCPU"
    else bad "-smp 2: no warning on stderr"; fi
    m=$(gssh cat /root/lab-mark 2>&1)
    if [ "$m" = "$MARK" ]; then ok "the file written before poweroff survived a second boot"
    else bad "after the second boot /root/lab-mark is '$m'"; fi
    if poweroff_wait; then ok "poweroff 2: tremu exited 0"; else bad "poweroff 2: tremu did not exit 0"; fi
else
    bad "boot 2: no login:/ssh within ${BOOT_TIMEOUT}s (console: $T/boot2.log)"
    tail -n 15 "$T/boot2.log"; kill "$QPID" 2>/dev/null; LAB_KEEP=1
fi

if [ "$(sha256sum "$LAB/base.raw" | cut -d' ' -f1)" = "$base_sum" ]; then
    ok "base.raw is byte-identical (sha256 $base_sum)"
else
    bad "base.raw changed"
fi

# ---- 3. a fresh overlay is a fresh machine ---------------------------------
if [ "${LAB_QUICK:-}" ]; then
    skp "fresh overlay boot (LAB_QUICK set)"
else
    new_overlay
    PORT=$(free_port)
    SSH=(ssh -q -i "$T/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
         -o ConnectTimeout=5 -o BatchMode=yes -o LogLevel=ERROR -p "$PORT" root@127.0.0.1)
    ACCEPT=(-accel tcg -m 1G -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img"
            -append "root=/dev/vda console=ttyS0" -drive file="$T/ov.qcow2",if=virtio
            -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22 -device virtio-net-pci,netdev=n0)
    boot boot3 "${ACCEPT[@]}"
    if wait_up boot3; then
        if gssh "test ! -e /root/lab-mark"; then ok "fresh overlay: /root/lab-mark is gone"
        else bad "fresh overlay still has /root/lab-mark"; fi
        if poweroff_wait; then ok "poweroff 3: tremu exited 0"; else bad "poweroff 3: tremu did not exit 0"; fi
    else
        bad "boot 3 (fresh overlay): no login:/ssh within ${BOOT_TIMEOUT}s"
        tail -n 15 "$T/boot3.log"; kill "$QPID" 2>/dev/null; LAB_KEEP=1
    fi
fi
finish
