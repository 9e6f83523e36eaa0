#!/bin/sh
# The command line: every bad option, value or file is an error that names it,
# and nothing starts half-configured.
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# A small file that is neither firmware nor a kernel (not /etc/hostname:
# containers may lack it or leave it empty).
F=$tmp/small.txt
printf 'not a firmware image, not a kernel\n' > "$F"

# expect_err NAME PATTERN ARGS...: exit non-zero and stderr matches PATTERN
expect_err() {
    name=$1; pat=$2; shift 2
    timeout 30 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$pat" "$tmp/err"; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1)); echo "not ok $name (exit $rc, stderr: $(head -c 300 "$tmp/err"))"
    fi
}
# expect_ok NAME PATTERN ARGS...: exit 0 and stdout matches PATTERN
expect_ok() {
    name=$1; pat=$2; shift 2
    timeout 30 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
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
expect_err missing_initrd   "/nonexistent/initrd"    -kernel "$F" -initrd /nonexistent/initrd
# No -kernel and no -bios: SeaBIOS runs (as in QEMU), finds no disk, and with
# reboot-timeout=0 resets at once, which -no-reboot turns into exit 0.
if [ -r /usr/share/seabios/bios-256k.bin ]; then
    expect_ok no_kernel_seabios 'No bootable device' -accel tcg -boot reboot-timeout=0 -no-reboot
    expect_ok boot_menu_key     'Press ESC for boot menu' -accel tcg -boot menu=on,reboot-timeout=0 -no-reboot
else
    skip=$((skip + 2)); echo "skip no_kernel_seabios, boot_menu_key (needs the seabios package)"
fi
expect_err bad_boot_order   "invalid boot device 'x'" -boot order=cx -bios "$F"
expect_err bad_boot_key     "invalid parameter 'frob'" -boot frob=1 -bios "$F"
expect_err bad_boot_menu    "expects on or off"      -boot menu=maybe -bios "$F"
expect_err bad_reboot_to    "reboot-timeout"         -boot reboot-timeout=x -bios "$F"
expect_err bad_debugcon     "use file:PATH"          -debugcon tcp:1 -bios "$F"
expect_err ide_index_range  "out of range for IDE"   -drive file="$F",if=ide,index=4,format=raw -bios "$F"
expect_err ide_index_twice  "already used"           -hda "$F" -drive file="$F",index=0,format=raw -bios "$F"
for i in 1 2 3 4 5; do printf x > "$tmp/d$i"; done
expect_err ide_five_drives  "all four IDE places"    -hda "$tmp/d1" -hdb "$tmp/d2" -hdc "$tmp/d3" -hdd "$tmp/d4" -drive file="$tmp/d5",format=raw -bios "$F"
expect_err cdrom_missing    "/nonexistent/cd.iso"    -cdrom /nonexistent/cd.iso -bios "$F"
expect_err stats_bad_interval "1 to 3600"            -d stats,interval=0 -bios "$F"
expect_err stats_bad_format "text, json or csv"      -d stats,format=xml -bios "$F"
expect_err stats_bad_option "unknown option 'colour'" -d stats,colour=red -bios "$F"
expect_err bad_mem          "invalid RAM size '12x'" -m 12x -bios "$F"
expect_err bad_mem_zero     "invalid RAM size"       -m 0 -bios "$F"
expect_err tiny_mem         'too small'              -m 1 -bios "$F"
expect_err smp_too_many     'at most 288 CPUs'       -smp 1000 -bios "$F"
expect_err smp_bad          "invalid value"          -smp x -bios "$F"
expect_err bad_accel        "invalid accelerator 'hax'" -accel hax -bios "$F"
expect_err bad_accel_opt    "unknown option 'frob'"  -accel kvm,frob=1 -bios "$F"
expect_err bad_irqchip      "bad value 'maybe'"      -accel kvm,kernel-irqchip=maybe -bios "$F"
expect_err bad_machine      "only the 'pc' machine"  -M q35 -bios "$F"
expect_err bad_machine_prop "unsupported property"   -M pc,frob=1 -bios "$F"
expect_err bad_serial       "'tcp:1': expected HOST:PORT" -serial tcp:1 -bios "$F"
expect_err bad_serial_file  "/nonexistent/dir/log"   -serial file:/nonexistent/dir/log -bios "$F"
expect_err bad_device       "unsupported device 'sb16'" -device sb16 -bios "$F"
expect_err bad_debugexit    "bad iobase"             -device isa-debug-exit,iobase=0x12345 -bios "$F"
expect_err bad_debugexit_p  "unknown property"       -device isa-debug-exit,speed=9 -bios "$F"
expect_err bad_monitor      "'frob' is not a valid char driver" -monitor frob -bios "$F"
expect_err bad_display      "use none, sdl"          -display gtk -bios "$F"
expect_err bad_debug_item   "unknown log item 'frob'" -d frob -bios "$F"
expect_err initrd_no_kernel '-initrd needs -kernel'  -bios "$F" -initrd "$F"
expect_err bad_log_file     "/nonexistent/dir/x.log" -D /nonexistent/dir/x.log -bios "$F"

# expect_run NAME STATUS PATTERN ARGS...: runs a guest; exit STATUS and stderr matches PATTERN
expect_run() {
    name=$1; want=$2; pat=$3; shift 3
    timeout 60 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    if [ $rc -eq "$want" ] && grep -q -- "$pat" "$tmp/err"; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1)); echo "not ok $name (exit $rc, want $want; stderr: $(head -c 400 "$tmp/err"))"
    fi
}
ROM=tests/guests/build/debugexit.bin
DX="-display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios $ROM"
# The debugexit guest leaves with 0x2a: status (0x2a << 1) | 1 = 85.
if [ ! -f $ROM ]; then
    fail=$((fail + 1)); echo "not ok guest_runs ($ROM not built: make test-guests)"
else
    # Where KVM cannot run a kernel (no /dev/kvm, or this host's PVM-style KVM),
    # auto and an explicit kvm request both run on tcg and say why.
    timeout 60 $T $DX >/dev/null 2>"$tmp/auto" </dev/null
    if grep -q "^tremu: accel kvm" "$tmp/auto"; then
        skip=$((skip + 4)); echo "skip accel fallback tests: KVM works on this host, auto picked it"
    else
        expect_run accel_auto_says_why 85 "accel tcg (kvm unusable: " $DX
        expect_run enable_kvm_warns     85 "warning: kvm requested but unusable (.*); continuing with tcg" -enable-kvm $DX
        expect_run accel_kvm_warns      85 "continuing with tcg" -accel kvm $DX
        expect_run machine_accel_kvm    85 "continuing with tcg" -M pc,accel=kvm $DX
    fi
    expect_run accel_tcg            85 "accel tcg" -accel tcg $DX
    # Course launchers pass -smp 2: it runs (one vCPU) and says so.
    expect_run smp_two_warns        85 "SMP is not implemented yet; running 1 vCPU" -accel tcg -smp 2 $DX
    expect_run accel_list_tcg       85 "accel tcg" -accel kvm:tcg $DX
    # -pidfile is written while running and removed at exit; -D takes the log;
    # -d stats prints the counters by cause.
    expect_run pidfile_and_log 85 "" -accel tcg -pidfile "$tmp/pid" -D "$tmp/log" -d stats $DX
    if [ ! -e "$tmp/pid" ] && grep -q "tremu exits and traps by cause" "$tmp/log" && grep -q "isa-debug-exit" "$tmp/log"; then
        pass=$((pass + 1)); echo "ok pidfile_removed_stats_in_log"
    else
        fail=$((fail + 1)); echo "not ok pidfile_removed_stats_in_log ($(ls "$tmp"); $(head -c 200 "$tmp/log"))"
    fi
    # The counters count by cause: picpit takes 50+ timer interrupts through
    # our PIC and waits for them with HLT.
    P=tests/guests/build/picpit.bin
    timeout 60 $T -accel tcg -display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -bios $P -d stats -D "$tmp/stats" >/dev/null 2>&1 </dev/null
    inj=$(awk '$1 == "irq.inject" {print $2}' "$tmp/stats")
    hlt=$(awk '$1 == "hlt" {print $2}' "$tmp/stats")
    if [ "${inj:-0}" -ge 50 ] && [ "${inj:-0}" -lt 1000 ] && [ "${hlt:-0}" -ge 1 ]; then
        pass=$((pass + 1)); echo "ok stats_count_interrupts_and_hlt"
    else
        fail=$((fail + 1)); echo "not ok stats_count_interrupts_and_hlt (injected=$inj hlt=$hlt)"
    fi
    # The same counters as CSV in a file (docs/stats.md); an unwritable file is reported.
    timeout 60 $T -accel tcg -display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -bios $P -d stats,format=csv,file="$tmp/stats.csv" >/dev/null 2>&1 </dev/null
    if [ "$(head -n 1 "$tmp/stats.csv")" = "engine,seconds,cause,count" ] &&
       grep -qE '^tcg,[0-9]+\.[0-9]+,irq\.inject,[1-9][0-9]*$' "$tmp/stats.csv"; then
        pass=$((pass + 1)); echo "ok stats_csv_file"
    else
        fail=$((fail + 1)); echo "not ok stats_csv_file ($(head -c 200 "$tmp/stats.csv" 2>&1))"
    fi
    expect_err stats_file_unwritable "stats,file=/nonexistent/dir/s.json: No such file" \
        -accel tcg -display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios $P \
        -d stats,format=json,file=/nonexistent/dir/s.json
    # Options course scripts add: accepted, or accepted with one warning line.
    expect_run compat_options 85 "usb-tablet: tremu has no USB; the guest gets a virtio tablet" \
        -accel tcg -name lab -usb -device usb-tablet -rtc base=utc -cpu host \
        -global kvm-pit.lost_tick_policy=discard -machine type=pc,accel=tcg -boot c -k en-us \
        -vga std -monitor none $DX
    expect_run compat_cpu_flags 85 "CPU feature flags are fixed" -accel tcg -cpu max,+vmx $DX
    expect_err compat_bad_cpu "unsupported CPU model" -cpu pentium $DX
    expect_err compat_gdb "no gdb stub" -s $DX
    # -S: stopped before the first instruction; QMP 'cont' runs it to the exit.
    if command -v python3 >/dev/null; then
        $T -S -accel tcg -qmp unix:$tmp/qmp,server=on,wait=off $DX >/dev/null 2>&1 </dev/null &
        spid=$!
        timeout 30 python3 tests/lib/mon_client.py qmp $tmp/qmp '{"execute":"qmp_capabilities"}' \
            '{"execute":"query-status"}' '{"execute":"cont"}' > "$tmp/s" 2>&1
        wait $spid; src=$?
        if [ $src -eq 85 ] && grep -q '"status": "paused"' "$tmp/s"; then
            pass=$((pass + 1)); echo "ok start_paused_then_cont"
        else
            fail=$((fail + 1)); echo "not ok start_paused_then_cont (exit $src: $(head -c 300 "$tmp/s"))"
        fi
    fi
    expect_err bios_bad_size        "multiple of 64 KiB" -bios "$F"
    expect_err kernel_not_an_image  "$F" -kernel "$F"
fi

# make install PREFIX=: the layout course scripts expect of a QEMU build dir.
if command -v make >/dev/null && make -s install PREFIX="$tmp/inst" >/dev/null 2>&1 &&
   [ -x "$tmp/inst/bin/tremu" ] && [ -x "$tmp/inst/bin/tremu-img" ] &&
   "$tmp/inst/bin/qemu-system-x86_64" -version | grep -q tremu &&
   "$tmp/inst/bin/qemu-img" create -f qcow2 "$tmp/i.qcow2" 1M >/dev/null 2>&1 &&
   "$tmp/inst/bin/qemu-img" info "$tmp/i.qcow2" | grep -q qcow2; then
    pass=$((pass + 1)); echo "ok make_install_layout"
else
    fail=$((fail + 1)); echo "not ok make_install_layout ($(ls -la "$tmp/inst/bin" 2>&1))"
fi

if [ $skip -gt 0 ]; then echo "cli: $pass passed, $fail failed, $skip skipped"; else echo "cli: $pass passed, $fail failed"; fi
[ $fail -eq 0 ]
