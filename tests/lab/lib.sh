# Sourced (bash) by the lab machine's tests: tests/lab/run.sh (make check-lab)
# and tests/lab/launcher.sh (the course launcher, run by check-lab). The
# caller sets TAG (the prefix of its lines), T (its temporary directory),
# LAB (the lab image's directory) and BOOT_TIMEOUT; each helper says what it
# sets. Time limits only catch hangs: a loaded host runs the software CPU
# several times slower, and every wait ends as soon as what it waits for happens.

pass=0; fail=0; skip=0; PIDS=()
ok()   { echo "$TAG: ok   $*"; pass=$((pass + 1)); }
bad()  { echo "$TAG: FAIL $*"; fail=$((fail + 1)); }
skp()  { echo "$TAG: skip $*"; skip=$((skip + 1)); }
finish() {
    if [ $skip -gt 0 ]; then echo "$TAG: $pass passed, $fail failed, $skip skipped"
    else echo "$TAG: $pass passed, $fail failed"; fi
    [ $fail -eq 0 ]; exit $?
}
lab_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "${LAB_KEEP:-}" ]; then echo "$TAG: kept $T"; else rm -rf "$T"; fi
}

# lab_disk: the lab image (tests/lab/mkrootfs.sh, built when missing) and its
# whole GRUB disk (tests/lab/mkdisk.sh, in $LABDISK, rebuilt when its inputs
# change). Sets DISK, KVER, ROOT_UUID; the test key goes to $T/key.
lab_disk() {
    local f
    for t in ssh python3 sha256sum; do
        command -v $t >/dev/null || { bad "needs $t on the host (make deps)"; finish; }
    done
    if [ ! -f "$LAB/STAMP" ]; then
        echo "$TAG: building the lab image in $LAB (a few minutes)"
        if ! tests/lab/mkrootfs.sh "$LAB" >"$T/mkrootfs.log" 2>&1; then
            tail -n 20 "$T/mkrootfs.log"; bad "mkrootfs.sh $LAB failed"; finish
        fi
    fi
    for f in base.raw vmlinuz initrd.img id_ed25519; do
        [ -s "$LAB/$f" ] || { bad "$LAB/$f missing"; finish; }
    done
    LABDISK=${LABDISK:-$(dirname "$LAB")/labdisk}
    if ! tests/lab/mkdisk.sh "$LAB" "$LABDISK" >"$T/mkdisk.log" 2>&1; then
        tail -n 20 "$T/mkdisk.log"; bad "tests/lab/mkdisk.sh $LAB $LABDISK failed"; finish
    fi
    DISK=$LABDISK/disk.raw
    KVER=$(sed -n 1p "$LABDISK/INFO"); ROOT_UUID=$(sed -n 2p "$LABDISK/INFO")
    # The key must not be group/world-readable or ssh ignores it.
    install -m 600 "$LAB/id_ed25519" "$T/key"
}

# free_port: a TCP port nobody listens on now (parallel runs do not clash).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# port_or_free PORT: PORT when nothing listens on it now, else a free one.
port_or_free() {
    if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null
    then echo "$1"; else free_port; fi
}

# use_port PORT: ssh (gssh) goes to root@127.0.0.1:PORT with the test key.
use_port() {
    SSH=(ssh -q -i "$T/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
         -o ConnectTimeout=20 -o BatchMode=yes -o LogLevel=ERROR -p "$1" root@127.0.0.1)
}
# gssh1 CMD: one ssh attempt (for commands that take the guest down).
gssh1() { timeout "${SSH_TIMEOUT:-300}" "${SSH[@]}" "$@" </dev/null; }
# gssh CMD: ssh, tried again when ssh itself fails (status 255: a guest
# starved of CPU on a loaded host can miss the connection timeout); the
# commands given are safe to run twice.
gssh() {
    local i rc
    for i in 1 2 3; do
        gssh1 "$@"; rc=$?
        [ $rc -ne 255 ] && return $rc
        sleep 2
    done
    return $rc
}

# start NAME CMD...: runs CMD in the background, its stdout (the serial
# console with -nographic or -serial stdio) to $T/NAME.log, stderr to
# $T/NAME.out; stdin from $T/NAME.in (a fifo kept open on fd 3, for keys).
# Sets QPID, CUR and BOOT_START.
start() {
    local name=$1; shift
    CUR=$name
    : >"$T/$name.log"
    rm -f "$T/$name.in"; mkfifo "$T/$name.in"; exec 3<>"$T/$name.in"
    BOOT_START=$(date +%s.%N)
    "$@" <"$T/$name.in" >"$T/$name.log" 2>"$T/$name.out" &
    QPID=$!
    PIDS+=("$QPID")
}
since() { echo "$(date +%s.%N) $BOOT_START" | awk '{printf "%.1f", $1 - $2}'; }
# console_count TEXT: occurrences of TEXT on the current console log, with
# the escapes SeaBIOS's serial console draws GRUB's menu with taken out.
console_count() {
    tr -d '\r' <"$T/$CUR.log" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -a -o -F -- "$1" | wc -l
}

# wait_up [N]: waits for the Nth `login:` on the console (default 1), then
# for ssh to answer. Sets LOGIN_S and SSH_S (seconds from the start) or returns 1.
wait_up() {
    local n=${1:-1} end=$((SECONDS + BOOT_TIMEOUT))
    LOGIN_S=; SSH_S=
    while [ $SECONDS -lt $end ]; do
        if [ -z "$LOGIN_S" ] && [ "$(console_count "login:")" -ge "$n" ]; then LOGIN_S=$(since); fi
        if [ -n "$LOGIN_S" ] && SSH_TIMEOUT=60 gssh1 true 2>/dev/null; then SSH_S=$(since); return 0; fi
        kill -0 "$QPID" 2>/dev/null || { echo "$TAG: the emulator exited early:"; tail -n 5 "$T/$CUR.out"; return 1; }
        sleep 1
    done
    return 1
}

# vm_exit CMD...: runs CMD in the guest over ssh (poweroff, reboot), waits
# for the emulator to exit; returns its exit status (124: still running
# after 600 s, then killed).
vm_exit() {
    local rc
    SSH_TIMEOUT=60 gssh1 "$@" 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
    if kill -0 "$QPID" 2>/dev/null; then
        echo "$TAG: still running 600 s after '$*'; console tail:"
        tail -n 5 "$T/$CUR.log" 2>/dev/null
        kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null
        exec 3>&-
        return 124
    fi
    wait "$QPID"; rc=$?
    exec 3>&-
    return $rc
}
