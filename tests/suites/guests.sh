#!/bin/sh
# Test guests (tests/guests/) under QEMU, the reference, and under tremu.
#
# Each guest prints on COM1 and ends through isa-debug-exit. One test per
# guest, configuration and emulator: pass when the exit status is the
# expected one and the serial output equals the golden file
# tests/guests/NAME.expect. Emulators: QEMU -accel tcg; tremu -accel kvm
# (real-mode ROMs only, with and without the in-kernel irqchip); tremu
# -accel tcg. The QEMU run checks the golden file itself, so
# that it cannot silently rot. Engines that are not built are skipped, with
# the message tremu gave.
#
#   sh tests/suites/guests.sh [FILTER]     FILTER: substring of the test name
#   GUESTS_UPDATE=1 sh tests/suites/guests.sh   rewrite the golden files from
#                                          QEMU (then check them by eye)
#   V=1 ...                                show the whole diff on failures
# Ends with `guests: N passed, N failed[, N skipped]`; exit status 1 when a
# test failed.
cd "$(dirname "$0")/../.." || exit 1
G=tests/guests
B=$G/build
QEMU=${QEMU:-qemu-system-x86_64}
TREMU=${TREMU:-./tremu}
# Generous: a guest runs in well under a second; this only catches hangs on
# a loaded host.
TIMEOUT=${TIMEOUT:-60}
# After this many time-outs of one engine, its remaining tests fail at once
# (reported, not run) so that a hanging engine cannot stretch the suite.
MAX_TIMEOUTS=${MAX_TIMEOUTS:-2}
to_kvm=0; to_tcg=0
FILTER=$1
pass=0; fail=0; skip=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tremu-guests.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

if ! make -s -C "$G" >"$TMP/build.log" 2>&1; then
    sed 's/^/# /' "$TMP/build.log"
    echo "not ok - building the guests (make -C $G)"
    echo "guests: 0 passed, 1 failed"
    exit 1
fi

have_qemu=no
command -v "$QEMU" >/dev/null 2>&1 && have_qemu=yes

ok()     { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1: $2"; }
skipped(){ skip=$((skip + 1)); echo "skip - $1: $2"; }

# run_emu OUT ERR CMD...: run with the time limit, stdin closed; sets $rc.
run_emu() {
    out=$1; err=$2; shift 2
    timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$out.raw" 2>"$err"
    rc=$?
    # The serial console may write CRLF line ends: compare text only.
    tr -d '\r' <"$out.raw" >"$out"
}

# judge NAME WANT_STATUS OUT ERR: compare $rc and OUT with the golden file.
judge() {
    # (sh has no locals: j_ names keep guest()'s variables intact)
    j_name=$1; j_want=$2; j_out=$3; j_err=$4
    j_golden=$G/${j_name%% *}.expect
    why=""
    if [ "$rc" -eq 124 ]; then
        why="timed out after ${TIMEOUT}s"
    elif [ "$rc" -ne "$j_want" ]; then
        why="exit status $rc, want $j_want"
    fi
    if [ ! -f "$j_golden" ]; then
        why="${why:+$why; }no golden file $j_golden (GUESTS_UPDATE=1 makes it from QEMU)"
    elif ! cmp -s "$j_out" "$j_golden"; then
        why="${why:+$why; }output differs from $j_golden"
    fi
    if [ -z "$why" ]; then
        ok "$j_name"
        return
    fi
    not_ok "$j_name" "$why"
    if [ -s "$j_err" ]; then
        tail -n 3 "$j_err" | sed 's/^/#   stderr: /'
    fi
    if [ -f "$j_golden" ]; then
        if [ -n "$V" ]; then
            diff -u "$j_golden" "$j_out" | sed 's/^/#   /'
        else
            diff -u "$j_golden" "$j_out" | sed -n '3,14p' | sed 's/^/#   /'
        fi
    fi
}

COMMON="-M pc -m 128 -display none -nodefaults -serial stdio -monitor none
        -device isa-debug-exit,iobase=0xf4,iosize=0x04"

# run_kvm TEST STATUS ACCEL ARGS...: one run under tremu's kvm engine.
run_kvm() {
    k_t=$1; k_want=$2; k_accel=$3; shift 3
    if [ ! -c /dev/kvm ]; then
        skipped "$k_t" "needs /dev/kvm (none here)"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        skipped "$k_t" "needs read-write access to /dev/kvm (join group kvm)"
    elif [ "$to_kvm" -ge "$MAX_TIMEOUTS" ]; then
        not_ok "$k_t" "not run: the kvm engine timed out $to_kvm times already"
    else
        # shellcheck disable=SC2086
        run_emu "$TMP/k.out" "$TMP/k.err" "$TREMU" -accel "$k_accel" $COMMON "$@"
        [ "$rc" -eq 124 ] && to_kvm=$((to_kvm + 1))
        if grep -q "KVM engine is not built" "$TMP/k.err"; then
            skipped "$k_t" "tremu says: the KVM engine is not built yet"
        else
            judge "$k_t" "$k_want" "$TMP/k.out" "$TMP/k.err"
        fi
    fi
}

# guest NAME STATUS KIND ARGS...: one configuration of one guest.
#   KIND rom: real mode, runs under tremu's kvm and tcg engines;
#   KIND mb: protected mode (multiboot), tcg only under tremu.
guest() {
    name=$1; want=$2; kind=$3; shift 3
    case "$name" in *"$FILTER"*) ;; *) return ;; esac
    golden=$G/$name.expect

    t="$name qemu"
    if [ "$have_qemu" = no ]; then
        skipped "$t" "$QEMU not installed"
    else
        # shellcheck disable=SC2086
        run_emu "$TMP/q.out" "$TMP/q.err" "$QEMU" -accel tcg $COMMON "$@"
        if [ -n "$GUESTS_UPDATE" ] && [ "$rc" -eq "$want" ]; then
            cp "$TMP/q.out" "$golden"
            echo "# wrote $golden"
        fi
        judge "$t" "$want" "$TMP/q.out" "$TMP/q.err"
    fi

    if [ ! -x "$TREMU" ]; then
        skipped "$name tremu" "$TREMU is not built (make tremu)"
        return
    fi
    if [ "$kind" = rom ]; then
        # With the in-kernel irqchip KVM models the PIC, PIT and speaker
        # port itself; kernel-irqchip=off runs tremu's own devices.
        run_kvm "$name tremu-kvm" "$want" kvm,fallback=off "$@"
        run_kvm "$name tremu-kvm-uirq" "$want" kvm,fallback=off,kernel-irqchip=off "$@"
    fi
    # The software CPU three ways: translated (the default), interpreted,
    # and jit=verify (each translated block also run in the interpreter and
    # compared: any difference stops the run with an error).
    for jit in on off verify; do
        t="$name tremu-tcg"
        [ "$jit" = on ] || t="$t-jit-$jit"
        if [ "$to_tcg" -ge "$MAX_TIMEOUTS" ]; then
            not_ok "$t" "not run: the tcg engine timed out $to_tcg times already"
            continue
        fi
        # shellcheck disable=SC2086
        run_emu "$TMP/t.out" "$TMP/t.err" "$TREMU" -accel tcg,jit=$jit $COMMON "$@"
        [ "$rc" -eq 124 ] && to_tcg=$((to_tcg + 1))
        if grep -q "software CPU is not built" "$TMP/t.err"; then
            skipped "$t" "tremu says: the software CPU is not built yet"
        else
            judge "$t" "$want" "$TMP/t.out" "$TMP/t.err"
        fi
    done
}

# Real-mode ROMs (-bios): success is debug-exit 0x10, status 33.
guest uart           33 rom -bios $B/uart.bin
guest picpit         33 rom -bios $B/picpit.bin
guest rtc            33 rom -bios $B/rtc.bin
guest cmos           33 rom -bios $B/cmos.bin
guest alu8           33 rom -bios $B/alu8.bin
guest rmode          33 rom -bios $B/rmode.bin
guest i8042          33 rom -bios $B/i8042.bin
guest reset          33 rom -bios $B/reset.bin
# Under -no-reboot the first reset ends the run with status 0.
guest reset-noreboot  0 rom -bios $B/reset.bin -no-reboot
# Exits with 0x2a: status 85.
guest debugexit      85 rom -bios $B/debugexit.bin

# Multiboot kernels (-kernel): flat 32-bit protected mode. QEMU puts the
# kernel's path in front of the command line, so the paths given here (from
# the repository root) are part of the golden output.
guest mbinfo         33 mb -kernel $B/mbinfo.elf -append "hello=world two" \
    -initrd "$B/mod1.txt arg1 arg2,$B/mod2.txt"
# The same as a flat binary with the a.out kludge (header flag 16).
guest mbaout         33 mb -kernel $B/mbaout.bin -append "hello=world two" \
    -initrd "$B/mod1.txt arg1 arg2,$B/mod2.txt"
guest mbirq          33 mb -kernel $B/mbirq.elf
# System behaviour of the software CPU (sys32.h): QEMU is the oracle.
guest pmode          33 mb -kernel $B/pmode.elf
guest exceptions     33 mb -kernel $B/exceptions.elf
guest paging         33 mb -kernel $B/paging.elf
guest tasks          33 mb -kernel $B/tasks.elf
guest long           33 mb -kernel $B/long.elf
# Generated instruction cases (checksums per instruction; see insns.S).
guest insns          33 mb -kernel $B/insns.elf
# The Popek–Goldberg teaching guest natively, and with UMIP offered
# (-cpu max); its pg=log table and pg=naive output are tests/suites/pg.sh's.
guest pgtable        33 mb -kernel $B/pgtable.elf
guest pgtable-umip   33 mb -kernel $B/pgtable.elf -cpu max
# The APIC-era devices (apic_common.h): local APIC, IOAPIC routing, HPET.
guest apic           33 mb -kernel $B/apic.elf
guest ioapic         33 mb -kernel $B/ioapic.elf
guest hpet           33 mb -kernel $B/hpet.elf

if [ "$skip" -gt 0 ]; then
    echo "guests: $pass passed, $fail failed, $skip skipped"
else
    echo "guests: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
