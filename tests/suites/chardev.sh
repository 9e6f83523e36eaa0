#!/bin/sh
# Character devices from the command line: the course's sensor line
# (-chardev socket + -device isa-serial: the guest reads /dev/ttyS1 from a
# local TCP server and answers), the server going away (no crash) and coming
# back (reconnect=1), a server missing at start (QEMU's message), -serial pty.
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
G=${CACHE:-$HOME/.cache/tremu}/guest
pass=0; fail=0; skip=0
tmp=$(mktemp -d); spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }

# server PORTFILE OUTFILE [PORT]: starts the sensor server (pid in $spid),
# waits for its port (in $port)
server() {
    rm -f "$1"
    python3 tests/lib/sensor_server.py "$@" >/dev/null 2>&1 </dev/null & spid=$!
    i=0; while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    port=$(cat "$1")
}

if ! command -v python3 >/dev/null; then
    skip=$((skip + 5)); echo "skip chardev tests: they need python3 for the sensor server"
    echo "chardev: $pass passed, $fail failed, $skip skipped"; exit 0
fi

# A server that is not there fails at start, with QEMU 7.2's words.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 20 $T -display none -nodefaults -chardev socket,id=sensors0,host=127.0.0.1,port=$port,ipv4=on \
    -device isa-serial,chardev=sensors0,id=serial1,index=1 -kernel /etc/hostname \
    >"$tmp/o" 2>"$tmp/e" </dev/null; rc=$?
if [ $rc -ne 0 ] && grep -q "^tremu: -chardev socket,id=sensors0,host=127.0.0.1,port=$port,ipv4=on: Failed to connect to '127.0.0.1:$port': Connection refused" "$tmp/e"; then
    ok server_absent_fails_at_start
else
    notok server_absent_fails_at_start "exit $rc: $(head -c 300 "$tmp/e")"
fi

# -serial pty says where the pty is, as QEMU does (on stdout).
if [ -e /dev/ptmx ]; then
    timeout 5 $T -display none -nodefaults -serial pty -kernel /nonexistent >"$tmp/o" 2>"$tmp/e" </dev/null
    # the kernel check comes first: nothing opened
    ! grep -q redirected "$tmp/o" && ok pty_not_opened_on_error || notok pty_not_opened_on_error "$(cat "$tmp/o")"
else
    skip=$((skip + 1)); echo "skip pty_not_opened_on_error: no /dev/ptmx"
fi

if [ ! -s "$G/vmlinuz" ] || [ ! -s "$G/initramfs.cpio.gz" ]; then
    skip=$((skip + 3)); echo "skip guest chardev tests: no guest in $G (make guest)"
    echo "chardev: $pass passed, $fail failed, $skip skipped"; exit 0
fi

# The course's options (-nographic -monitor /dev/null, socket client without
# reconnect, isa-serial index=1): bytes both ways; then the server dies while
# the guest still writes: no crash, the guest powers off, status 0.
server "$tmp/port" "$tmp/out"
CMD='stty -F /dev/ttyS1 raw -echo; head -n 2 /dev/ttyS1 | tail -n 1; echo GUEST-SAYS-HI > /dev/ttyS1; sleep 4; for i in 1 2 3 4 5; do echo GUEST-TALKS-TO-NOBODY > /dev/ttyS1; done; echo DONE'
( i=0; while ! grep -q GUEST-SAYS-HI "$tmp/out" 2>/dev/null && [ $i -lt 900 ]; do sleep 0.2; i=$((i + 1)); done
  kill $spid ) >/dev/null 2>&1 &
timeout 300 $T -m 256 -nographic -no-reboot -monitor /dev/null \
    -chardev socket,id=sensors0,host=127.0.0.1,port=$port,ipv4=on \
    -device isa-serial,chardev=sensors0,id=serial1,index=1 \
    -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >"$tmp/con" 2>"$tmp/err" </dev/null; rc=$?
wait
if grep -q '^SENSOR42' "$tmp/con"; then ok guest_reads_ttyS1_from_server
else notok guest_reads_ttyS1_from_server "$(tail -c 300 "$tmp/con")"; fi
if grep -q GUEST-SAYS-HI "$tmp/out" 2>/dev/null; then ok server_reads_guest_ttyS1
else notok server_reads_guest_ttyS1 "server got: $(head -c 200 "$tmp/out" 2>/dev/null)"; fi
if [ $rc -eq 0 ] && grep -q '^DONE' "$tmp/con" && grep -q 'TREMU-CMD-EXIT=0' "$tmp/con"; then
    ok server_gone_no_crash
else
    notok server_gone_no_crash "exit $rc: $(tail -c 300 "$tmp/con") $(tail -c 300 "$tmp/err")"
fi
spid=

# reconnect=1: the server goes away and comes back on the same port; the
# guest's second answer reaches the new server.
rm -f "$tmp/out" "$tmp/out2"
server "$tmp/port" "$tmp/out"
# (while disconnected the guest's output is dropped, as QEMU's: it repeats)
CMD='stty -F /dev/ttyS1 raw -echo; head -n 2 /dev/ttyS1 | tail -n 1; echo GUEST-SAYS-HI > /dev/ttyS1; sleep 3; for i in $(seq 1 60); do echo GUEST-AGAIN > /dev/ttyS1; timeout 1 grep -q -m 1 ACK /dev/ttyS1 && break; done'
( i=0; while ! grep -q GUEST-SAYS-HI "$tmp/out" 2>/dev/null && [ $i -lt 900 ]; do sleep 0.2; i=$((i + 1)); done
  kill $spid; sleep 0.5
  exec python3 tests/lib/sensor_server.py "$tmp/port2" "$tmp/out2" "$port" >/dev/null 2>&1 ) & bg=$!
timeout 300 $T -m 256 -nographic -no-reboot -monitor /dev/null \
    -chardev socket,id=sensors0,host=127.0.0.1,port=$port,reconnect=1 \
    -device isa-serial,chardev=sensors0,index=1 \
    -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >"$tmp/con" 2>"$tmp/err" </dev/null; rc=$?
kill $bg 2>/dev/null; wait 2>/dev/null
spid=
if [ $rc -eq 0 ] && grep -q GUEST-AGAIN "$tmp/out2" 2>/dev/null; then
    ok server_comes_back_reconnect
else
    notok server_comes_back_reconnect "exit $rc, new server got: $(head -c 200 "$tmp/out2" 2>/dev/null); $(tail -c 300 "$tmp/con")"
fi

if [ $skip -gt 0 ]; then echo "chardev: $pass passed, $fail failed, $skip skipped"; else echo "chardev: $pass passed, $fail failed"; fi
[ $fail -eq 0 ]
