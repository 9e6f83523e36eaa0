#!/bin/sh
# ACPI tables through Debian's iasl (acpica-tools): every table must
# disassemble without errors, the disassembly must say what we meant (PM
# blocks, SCI, reset register, \_S5, PCI0 and its _PRT, the ISA devices), and
# recompiling the disassembled DSDT (iasl -oa: no optimisations) must give
# back exactly our AML body. The tables come from the unit test acpi_dump
# (TREMU_ACPI_DUMP_DIR), so tremu's command line is not involved.
# Prints `acpi: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
pass=0; fail=0; skip=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1${2:+ ($2)}"; }
finish() {
    if [ $skip -gt 0 ]; then echo "acpi: $pass passed, $fail failed, $skip skipped"
    else echo "acpi: $pass passed, $fail failed"; fi
    [ $fail -eq 0 ]
    exit
}

if ! command -v iasl >/dev/null 2>&1; then
    echo "skip: iasl not installed (apt-get install acpica-tools)"
    skip=1; finish
fi
if [ ! -x tests/unit/run-unit ]; then
    bad run-unit "tests/unit/run-unit not built"; finish
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if TREMU_ACPI_DUMP_DIR="$tmp" tests/unit/run-unit acpi_dump >"$tmp/dump.log" 2>&1; then
    ok dump
else
    bad dump "$(tail -n 3 "$tmp/dump.log")"; finish
fi

# Each table disassembles cleanly.
for t in dsdt facp facs rsdt xsdt; do
    if [ ! -s "$tmp/$t.dat" ]; then bad "disassemble_$t" "no $t.dat"; continue; fi
    (cd "$tmp" && iasl -d "$t.dat") >"$tmp/$t.log" 2>&1; rc=$?
    if [ $rc -eq 0 ] && [ -s "$tmp/$t.dsl" ] && ! grep -qiE '(^| )(error|warning)' "$tmp/$t.log"; then
        ok "disassemble_$t"
    else
        bad "disassemble_$t" "rc $rc: $(grep -iE 'error|warning' "$tmp/$t.log" | head -n 2)"
    fi
done

# iasl 20200925 refuses any RSDP file, its own template included ("does not
# contain a valid ACPI table"), so the RSDP is checked here: signature,
# revision 2, both checksums.
rsdp_ok=$(od -An -tu1 -v "$tmp/rsdp.dat" | tr -s ' \n' '\n\n' | awk '
    NF { b[n++] = $1 }
    END {
        if (n != 36) { print "len " n; exit }
        s1 = 0; for (i = 0; i < 20; i++) s1 += b[i]
        s2 = 0; for (i = 0; i < 36; i++) s2 += b[i]
        sig = sprintf("%c%c%c%c%c%c%c%c", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
        if (sig != "RSD PTR ") print "signature"
        else if (b[15] != 2) print "revision " b[15]
        else if (s1 % 256 || s2 % 256) print "checksum"
        else print "ok"
    }')
[ "$rsdp_ok" = ok ] && ok rsdp || bad rsdp "$rsdp_ok"

# expect NAME FILE PATTERN: the disassembly (whitespace squeezed) contains it.
expect() {
    if tr -s ' \t\n' ' ' <"$tmp/$2" 2>/dev/null | grep -qF -- "$3"; then ok "$1"
    else bad "$1" "'$3' not in $2"; fi
}
expect fadt_revision      facp.dsl 'Revision : 03'
expect fadt_sci           facp.dsl 'SCI Interrupt : 0009'
expect fadt_smi_cmd       facp.dsl 'SMI Command Port : 00000000'
expect fadt_pm1a_evt      facp.dsl 'PM1A Event Block Address : 00000600'
expect fadt_pm1a_cnt      facp.dsl 'PM1A Control Block Address : 00000604'
expect fadt_pm_tmr        facp.dsl 'PM Timer Block Address : 00000608'
expect fadt_lengths       facp.dsl 'PM1 Event Block Length : 04 [059h 0089 1] PM1 Control Block Length : 02'
expect fadt_tmr_len       facp.dsl 'PM Timer Block Length : 04'
expect fadt_century       facp.dsl 'RTC Century Index : 32'
expect fadt_8042          facp.dsl '8042 Present on ports 60/64 (V2) : 1'
expect fadt_legacy        facp.dsl 'Legacy Devices Supported (V2) : 1'
expect fadt_reset_sup     facp.dsl 'Reset Register Supported (V2) : 1'
expect fadt_reset_reg     facp.dsl 'Space ID : 01 [SystemIO] [075h 0117 1] Bit Width : 08'
expect fadt_reset_port    facp.dsl 'Address : 0000000000000CF9 [080h 0128 1] Value to cause reset : 06'
expect fadt_x_pm1a_evt    facp.dsl 'Address : 0000000000000600'
expect fadt_not_reduced   facp.dsl 'Hardware Reduced (V5) : 0'
expect dsdt_s5            dsdt.dsl 'Name (\_S5, Package (0x04) // _S5_: S5 System State { Zero, Zero, Zero, Zero })'
expect dsdt_pci0          dsdt.dsl 'Device (PCI0) { Name (_HID, EisaId ("PNP0A03")'
expect dsdt_pci_io_low    dsdt.dsl '0x0000, // Range Minimum 0x0CF7, // Range Maximum'
expect dsdt_pci_io_high   dsdt.dsl '0x0D00, // Range Minimum 0xFFFF, // Range Maximum'
expect dsdt_pci_vga       dsdt.dsl '0x000A0000, // Range Minimum 0x000BFFFF, // Range Maximum'
expect dsdt_pci_hole      dsdt.dsl '0xFEBFFFFF, // Range Maximum'
expect dsdt_prt_128       dsdt.dsl 'Name (_PRT, Package (0x80)'
# PIRQ[(slot - 1 + pin) & 3] → 10, 10, 11, 11. 00:03.0 (the NIC under QEMU
# pc) INTA: PIRQC → IRQ 11; 00:05.0 INTA: PIRQA → 10; 00:05.0 INTB: PIRQB → 10.
expect dsdt_prt_slot3     dsdt.dsl 'Package (0x04) { 0x0003FFFF, Zero, Zero, 0x0B }'
expect dsdt_prt_slot4_b   dsdt.dsl 'Package (0x04) { 0x0004FFFF, One, Zero, 0x0A }'
expect dsdt_prt_slot5_a   dsdt.dsl 'Package (0x04) { 0x0005FFFF, Zero, Zero, 0x0A }'
expect dsdt_prt_slot5_c   dsdt.dsl 'Package (0x04) { 0x0005FFFF, 0x02, Zero, 0x0B }'
expect dsdt_prt_slot0_a   dsdt.dsl 'Package (0x04) { 0xFFFF, Zero, Zero, 0x0B }'
expect dsdt_kbd           dsdt.dsl 'EisaId ("PNP0303")'
expect dsdt_mouse         dsdt.dsl 'EisaId ("PNP0F13")'
expect dsdt_rtc           dsdt.dsl 'EisaId ("PNP0B00")'
expect dsdt_com1          dsdt.dsl 'EisaId ("PNP0501")'
expect dsdt_pit           dsdt.dsl 'EisaId ("PNP0100")'
expect dsdt_pic           dsdt.dsl 'EisaId ("PNP0000")'
expect xsdt_fadt          xsdt.dsl 'ACPI Table Address 0 : 00000000000E0'
expect facs_len           facs.dsl 'Length : 00000040'

# Round trip: recompile the disassembled DSDT and compare the AML body
# (the header's checksum and compiler ID differ by design).
mkdir "$tmp/rt"
cp "$tmp/dsdt.dsl" "$tmp/rt/"
if (cd "$tmp/rt" && iasl -oa dsdt.dsl) >"$tmp/rt.log" 2>&1 && [ -s "$tmp/rt/dsdt.aml" ]; then
    if grep -q ' 0 Errors, 0 Warnings' "$tmp/rt.log"; then ok dsdt_recompiles_clean
    else bad dsdt_recompiles_clean "$(grep -E 'Errors' "$tmp/rt.log")"; fi
    tail -c +37 "$tmp/rt/dsdt.aml" >"$tmp/rt/theirs"
    tail -c +37 "$tmp/dsdt.dat" >"$tmp/rt/ours"
    if cmp -s "$tmp/rt/ours" "$tmp/rt/theirs"; then
        ok dsdt_round_trip_identical
    else
        bad dsdt_round_trip_identical "AML differs from iasl's encoding"
    fi
else
    bad dsdt_recompiles_clean "$(tail -n 3 "$tmp/rt.log")"
fi

# End to end in tremu itself, once the board wires the PM device and the boot
# loader builds the tables (hw/pc.c calls acpi_pm_create): the default guest
# (make guest) runs `poweroff -f`; Linux must find our RSDP, route the SCI
# (through the IOAPIC, level-triggered as the MADT says),
# offer the PM timer as a clocksource and leave through S5 with status 0.
GUEST=${CACHE:-$HOME/.cache/tremu}/guest
if ! grep -q acpi_pm_create hw/pc.c 2>/dev/null; then
    echo "skip: tremu_poweroff_s5 (hw/pc.c does not create the ACPI PM device yet)"; skip=$((skip + 1))
elif [ ! -x ./tremu ] || [ ! -s "$GUEST/vmlinuz" ] || [ ! -s "$GUEST/initramfs.cpio.gz" ]; then
    echo "skip: tremu_poweroff_s5 (needs ./tremu and the default guest: make guest)"; skip=$((skip + 1))
else
    cmd='cat /proc/interrupts /sys/devices/system/clocksource/clocksource0/available_clocksource; dmesg | grep -E "ACPI: RSDP|Using IOAPIC|supports S0 S5"'
    timeout 300 ./tremu -accel tcg -m 256 -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
        -append "console=ttyS0 tremu.cmd64=$(printf '%s' "$cmd" | base64 -w0)" -nographic -no-reboot \
        </dev/null >"$tmp/boot.log" 2>&1; rc=$?
    missing=""
    # The SCI is IOAPIC pin 9, level-triggered (the MADT's override: fasteoi).
    for pat in 'ACPI: RSDP 0x00000000000E0000' 'ACPI: Using IOAPIC for interrupt routing' \
               'ACPI: PM: (supports S0 S5)' 'IO-APIC   9-fasteoi   acpi' 'acpi_pm' 'TREMU-CMD-EXIT=0' \
               'Preparing to enter system sleep state S5'; do
        grep -qaF -- "$pat" "$tmp/boot.log" || missing="$missing '$pat'"
    done
    if [ $rc -eq 0 ] && [ -z "$missing" ]; then ok tremu_poweroff_s5
    else bad tremu_poweroff_s5 "exit $rc, missing:$missing; $(tail -n 3 "$tmp/boot.log" | tr '\n' ' ')"; fi
fi
finish
