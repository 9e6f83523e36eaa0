#!/bin/sh
# Networking from the command line: -netdev/-nic/-net errors name the problem
# and stop tremu before the guest runs; working forms start the guest.
# Skipped until ui/main.c knows -netdev (the parser is unit-tested meanwhile).
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
pass=0; fail=0; skip=0
tmp=$(mktemp -d)
holder=
cleanup() { [ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

if ! $T -h 2>/dev/null | grep -q -- '-netdev'; then
    echo "skip net: tremu does not take -netdev yet"
    echo "net: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

ROM=tests/guests/build/debugexit.bin
DX="-accel tcg -display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios $ROM"

# run NAME STATUS PATTERN ARGS...: exit STATUS ('!0': any failure that is not
# the guest's 85) and stderr matches PATTERN.
run() {
    name=$1; want=$2; pat=$3; shift 3
    timeout 60 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    ok=0
    if [ "$want" = '!0' ]; then
        [ $rc -ne 0 ] && [ $rc -ne 85 ] && [ $rc -ne 124 ] && ok=1
    else
        [ $rc -eq "$want" ] && ok=1
    fi
    if [ $ok -eq 1 ] && grep -q -- "$pat" "$tmp/err"; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1)); echo "not ok $name (exit $rc, want $want; stderr: $(head -c 400 "$tmp/err"))"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ ! -f $ROM ]; then
    echo "skip net: $ROM not built (make test-guests)"
    echo "net: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

run netdev_tap        '!0' "'tap' is not supported"  $DX -netdev tap,id=t0 -device virtio-net-pci,netdev=t0
run netdev_no_id      '!0' "missing id="             $DX -netdev user
run netdev_unknown    '!0' "netdev 'nope' not found" $DX -netdev user,id=n0 -device virtio-net-pci,netdev=nope
run netdev_dup_id     '!0' "duplicate id 'n0'"       $DX -netdev user,id=n0 -netdev user,id=n0
run netdev_bad_key    '!0' "unknown option 'frob'"   $DX -netdev user,id=n0,frob=1
run hostfwd_bad_port  '!0' "bad host port '70000'"   $DX -netdev user,id=n0,hostfwd=tcp::70000-:22 -device virtio-net-pci,netdev=n0
run nic_bad_mac       '!0' "multicast"               $DX -nic user,mac=01:02:03:04:05:06
run net_bad_model     '!0' "unknown NIC model 'frob'" $DX -net nic,model=frob -net user

# Working forms that need no host port start the guest (it exits 85
# through debug-exit).
run e1000_substituted 85 "using virtio-net-pci instead" $DX -net nic,model=e1000 -net user
run net_none          85 "" $DX -net none

if ! command -v python3 >/dev/null 2>&1; then
    # Free ports and a port holder come from python3 (make deps installs it).
    skip=$((skip + 4)); echo "skip hostfwd tests: they need python3 (apt-get install python3)"
    echo "net: $pass passed, $fail failed, $skip skipped"
    [ $fail -eq 0 ]; exit
fi

# A host port someone else holds: a clear error naming rule and port, and
# the guest never runs.
P=$(free_port)
rm -f "$tmp/held"
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $P)); s.listen(1); open('$tmp/held','w').close(); time.sleep(60)" &
holder=$!
# Wait until the port is really held (a loaded machine starts python slowly).
for i in $(seq 300); do [ -e "$tmp/held" ] && break; sleep 0.1; done
run hostfwd_port_in_use '!0' "could not set up host forwarding rule 'tcp::$P-:22': port $P is in use" \
    $DX -netdev user,id=n0,hostfwd=tcp::$P-:22 -device virtio-net-pci,netdev=n0
kill $holder 2>/dev/null; wait $holder 2>/dev/null; holder=

# Working forms with host forwards start the guest.
P=$(free_port)
run acceptance_form   85 "" $DX -netdev user,id=n0,hostfwd=tcp::$P-:22 -device virtio-net-pci,netdev=n0
run launcher_form     85 "" $DX -net nic -net user,hostfwd=tcp::$P-:22
run nic_form          85 "" $DX -nic user,hostfwd=tcp::$P-:22,hostfwd=udp::$P-:53

if [ $skip -gt 0 ]; then echo "net: $pass passed, $fail failed, $skip skipped"; else echo "net: $pass passed, $fail failed"; fi
[ $fail -eq 0 ]
