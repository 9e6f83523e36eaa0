#!/bin/sh
# The monitor over unix sockets: HMP (-monitor unix:...) info/stop/cont/x/xp,
# QMP (-qmp unix:...) capabilities, query-status, stop/cont with STOP/RESUME
# events, human-monitor-command, quit with SHUTDOWN; -monitor none/null.
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
G=${CACHE:-$HOME/.cache/tremu}/guest
pass=0; fail=0; skip=0
tmp=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }
check() { if grep -q -- "$2" "$3"; then ok "$1"; else notok "$1" "no '$2' in: $(head -c 600 "$3")"; fi; }

if ! command -v python3 >/dev/null || [ ! -s "$G/vmlinuz" ]; then
    echo "skip monitor tests: they need python3 and the guest (make guest)"
    echo "monitor: 0 passed, 0 failed, 1 skipped"; exit 0
fi

# A guest that runs until told otherwise: the default kernel, no console.
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$T -accel tcg -m 128 -display none -nodefaults -monitor unix:$tmp/m,server=on,wait=off \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -qmp unix:$tmp/q,server=on,wait=off -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
    >"$tmp/out" 2>&1 </dev/null &
pid=$!
timeout 60 python3 tests/lib/mon_client.py hmp $tmp/m "info status" "stop" "info status" \
    "info registers" "xp /4xb 0xffff0" "x /2xw 0" "info chardev" "info version" "bogus" \
    "cont" "info status" "help" "info exits" "info exits json" "info exits xml" \
    "hostfwd_add n0 tcp::$hport-:22" >"$tmp/hmp" 2>&1
# the forward listens now (on 127.0.0.1)
if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)' $hport 2>/dev/null; then
    ok hmp_hostfwd_add_listens
else
    notok hmp_hostfwd_add_listens "nothing on port $hport: $(tail -c 300 "$tmp/hmp")"
fi
timeout 60 python3 tests/lib/mon_client.py hmp $tmp/m "hostfwd_remove n0 tcp::$hport" \
    "hostfwd_remove n0 tcp::$hport" "hostfwd_add nope tcp::1-:22" >"$tmp/hmp2" 2>&1
check hmp_hostfwd_remove "host forwarding rule for tcp::$hport removed" "$tmp/hmp2"
check hmp_hostfwd_remove_again "host forwarding rule for tcp::$hport not found" "$tmp/hmp2"
check hmp_hostfwd_bad_netdev "unknown netdev 'nope'" "$tmp/hmp2"
check hmp_greeting   "QEMU 7.2.0 monitor" "$tmp/hmp"
check hmp_running    "VM status: running" "$tmp/hmp"
check hmp_paused     "VM status: paused" "$tmp/hmp"
check hmp_registers  "RIP=[0-9a-f]\{16\} RFL=" "$tmp/hmp"
check hmp_xp         "00000000000ffff0: 0x[0-9a-f][0-9a-f] 0x[0-9a-f][0-9a-f] 0x" "$tmp/hmp"
check hmp_chardev    "compat_monitor0: filename=unix:" "$tmp/hmp"
check hmp_unknown    "unknown command: 'bogus'" "$tmp/hmp"
check hmp_help       "system_powerdown" "$tmp/hmp"
# info exits: the -d stats table now, and as JSON (docs/stats.md)
check hmp_info_exits "insn.retired  *[1-9][0-9]* " "$tmp/hmp"
check hmp_info_exits_json '{"engine":"tcg","seconds":[0-9.]*,"counters":{' "$tmp/hmp"
check hmp_info_exits_bad "info exits: format is text, json or csv" "$tmp/hmp"
timeout 60 python3 tests/lib/mon_client.py qmp $tmp/q '{"execute":"query-status"}' \
    '{"execute":"qmp_capabilities"}' '{"execute":"query-status","id":1}' '{"execute":"stop"}' \
    '{"execute":"query-status"}' \
    '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}' \
    '{"execute":"cont"}' '{"execute":"nope"}' '{"execute":"quit"}' >"$tmp/qmp" 2>&1
check qmp_greeting     '"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}' "$tmp/qmp"
check qmp_needs_caps   "Expecting capabilities negotiation" "$tmp/qmp"
check qmp_status       '"status": "running", "singlestep": false, "running": true}, "id": 1' "$tmp/qmp"
check qmp_stop_event   '"event": "STOP"' "$tmp/qmp"
check qmp_paused       '"status": "paused"' "$tmp/qmp"
check qmp_hmp          '{"return": "VM status: paused\\n"}' "$tmp/qmp"
check qmp_resume_event '"event": "RESUME"' "$tmp/qmp"
check qmp_not_found    '"class": "CommandNotFound"' "$tmp/qmp"
check qmp_shutdown     '"event": "SHUTDOWN"' "$tmp/qmp"
wait $pid; rc=$?; pid=
[ $rc -eq 0 ] && ok quit_exits_0 || notok quit_exits_0 "exit $rc: $(tail -c 300 "$tmp/out")"

# -monitor stdio (no serial port on it): commands from a pipe.
(sleep 2; printf 'info status\nstop\ninfo status\nquit\n') | timeout 60 $T -accel tcg -m 128 \
    -display none -nodefaults -monitor stdio -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" \
    >"$tmp/stdio" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "VM status: paused" "$tmp/stdio"; then ok monitor_stdio
else notok monitor_stdio "exit $rc: $(head -c 300 "$tmp/stdio")"; fi

# -monitor none and /dev/null are accepted; a bad monitor spec is refused.
timeout 10 $T -monitor frob -display none -kernel /etc/hostname >"$tmp/o" 2>&1 </dev/null
check monitor_bad_spec "'frob' is not a valid char driver" "$tmp/o"

if [ $skip -gt 0 ]; then echo "monitor: $pass passed, $fail failed, $skip skipped"; else echo "monitor: $pass passed, $fail failed"; fi
[ $fail -eq 0 ]
