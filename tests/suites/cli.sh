#!/bin/sh
# The command line: every bad option, value or file is an error that names it,
# and nothing starts half-configured.
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# expect_err NAME PATTERN ARGS...: exit non-zero and stderr matches PATTERN
expect_err() {
    name=$1; pat=$2; shift 2
    timeout 10 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$pat" "$tmp/err"; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1)); echo "not ok $name (exit $rc, stderr: $(head -c 300 "$tmp/err"))"
    fi
}
# expect_ok NAME PATTERN ARGS...: exit 0 and stdout matches PATTERN
expect_ok() {
    name=$1; pat=$2; shift 2
    timeout 10 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    if [ $rc -eq 0 ] && grep -q -- "$pat" "$tmp/out"; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1)); echo "not ok $name (exit $rc, out: $(head -c 300 "$tmp/out") err: $(head -c 300 "$tmp/err"))"
    fi
}

expect_ok  version          'tremu version'          -version
expect_ok  help             'usage: tremu'           -h
expect_ok  help_long        'usage: tremu'           --help
expect_ok  debug_help       'stats'                  -d help
expect_err unknown_option   "'-frobnicate'"          -frobnicate
expect_err stray_argument   "'stray'"                stray
expect_err missing_arg      'needs an argument'      -kernel
expect_err missing_kernel   "/nonexistent/vmlinuz"   -kernel /nonexistent/vmlinuz
expect_err missing_bios     "/nonexistent/bios.bin"  -bios /nonexistent/bios.bin
expect_err missing_initrd   "/nonexistent/initrd"    -kernel /etc/hostname -initrd /nonexistent/initrd
expect_err nothing_to_boot  'nothing to boot'
expect_err bad_mem          "invalid RAM size '12x'" -m 12x -bios /etc/hostname
expect_err bad_mem_zero     "invalid RAM size"       -m 0 -bios /etc/hostname
expect_err tiny_mem         'too small'              -m 1 -bios /etc/hostname
expect_err smp_two          'only 1 CPU'             -smp 2 -bios /etc/hostname
expect_err smp_bad          "invalid value"          -smp x -bios /etc/hostname
expect_err bad_accel        "invalid accelerator 'hax'" -accel hax -bios /etc/hostname
expect_err bad_accel_opt    "unknown option 'frob'"  -accel kvm,frob=1 -bios /etc/hostname
expect_err bad_irqchip      "bad value 'maybe'"      -accel kvm,kernel-irqchip=maybe -bios /etc/hostname
expect_err bad_machine      "only the 'pc' machine"  -M q35 -bios /etc/hostname
expect_err bad_machine_prop "unsupported property"   -M pc,frob=1 -bios /etc/hostname
expect_err bad_serial       "unsupported serial backend 'tcp:1'" -serial tcp:1 -bios /etc/hostname
expect_err bad_serial_file  "/nonexistent/dir/log"   -serial file:/nonexistent/dir/log -bios /etc/hostname
expect_err bad_device       "unsupported device 'e1000'" -device e1000 -bios /etc/hostname
expect_err bad_debugexit    "bad iobase"             -device isa-debug-exit,iobase=0x12345 -bios /etc/hostname
expect_err bad_debugexit_p  "unknown property"       -device isa-debug-exit,speed=9 -bios /etc/hostname
expect_err bad_monitor      "monitor is not implemented" -monitor stdio -bios /etc/hostname
expect_err bad_display      "only 'none'"            -display sdl -bios /etc/hostname
expect_err bad_debug_item   "unknown log item 'frob'" -d frob -bios /etc/hostname
expect_err initrd_no_kernel '-initrd needs -kernel'  -bios /etc/hostname -initrd /etc/hostname
expect_err bad_log_file     "/nonexistent/dir/x.log" -D /nonexistent/dir/x.log -bios /etc/hostname

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
