#!/bin/sh
# The Popek–Goldberg mode and UMIP (docs/popek-goldberg.md).
#
# The teaching guest tests/guests/pgtable.S under tremu -accel tcg:
#   pg=log    the guest's own output is unchanged (pgtable.expect, QEMU's),
#             and the summary table at exit is the golden pgtable.pglog.expect
#             (translated and interpreted: the same counts);
#   pg=naive  the guest prints the de-privileged results (pgtable.naive.expect)
#             and tremu names where it first diverged (SGDT in ring 0);
#   -cpu max  UMIP offered: ring-3 SGDT/SIDT/SLDT/SMSW/STR fault
#             (pgtable-umip.expect, QEMU's; guests.sh checks it against QEMU).
# Then Debian's kernel and busybox (make guest), skipped when absent:
#   pg=log    boots to the shell, powers off with status 0, prints the table;
#   pg=log,pg-timeout=2  the run ends after 2 s with the table;
#   pg=naive  the run ends (pg-timeout) and the message names the divergence.
# Ends with `pg: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
G=tests/guests
B=$G/build
TREMU=${TREMU:-./tremu}
LG=${CACHE:-$HOME/.cache/tremu}/guest
pass=0; fail=0; skip=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tremu-pg.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

ok()     { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1: $2"; }
skipped(){ skip=$((skip + 1)); echo "skip - $1: $2"; }
finish() {
    if [ "$skip" -gt 0 ]; then echo "pg: $pass passed, $fail failed, $skip skipped"
    else echo "pg: $pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ]; exit
}

[ -x "$TREMU" ] || { not_ok "tremu built" "$TREMU missing (make tremu)"; finish; }
if ! make -s -C "$G" >"$TMP/build.log" 2>&1; then
    not_ok "building the guests" "$(tail -n 3 "$TMP/build.log")"; finish
fi

COMMON="-M pc -m 128 -display none -nodefaults -serial stdio -monitor none
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $B/pgtable.elf"

# run NAME ACCEL [ARGS...]: the teaching guest; output in $TMP/NAME.{out,err,log}, $rc.
run() {
    r_n=$1; r_a=$2; shift 2
    # shellcheck disable=SC2086
    timeout -k 5 60 "$TREMU" -accel "$r_a" -D "$TMP/$r_n.log" $COMMON "$@" </dev/null \
        >"$TMP/$r_n.raw" 2>"$TMP/$r_n.err"
    rc=$?
    tr -d '\r' <"$TMP/$r_n.raw" >"$TMP/$r_n.out"
}

# same TEST FILE GOLDEN
same() {
    if cmp -s "$2" "$3"; then ok "$1"
    else not_ok "$1" "differs from $3"; diff -u "$3" "$2" | sed -n '3,12p' | sed 's/^/#   /'; fi
}

for jit in on off; do
    run log-$jit tcg,pg=log,jit=$jit
    [ "$rc" -eq 33 ] && ok "pgtable pg=log jit=$jit: exit status 33" ||
        not_ok "pgtable pg=log jit=$jit: exit status 33" "got $rc: $(tail -n 2 "$TMP/log-$jit.err")"
    same "pgtable pg=log jit=$jit: guest output as natively (QEMU's)" "$TMP/log-$jit.out" $G/pgtable.expect
    sed -n '/^Popek-Goldberg summary/,/^total/p' "$TMP/log-$jit.log" >"$TMP/log-$jit.table"
    same "pgtable pg=log jit=$jit: the lecture table" "$TMP/log-$jit.table" $G/pgtable.pglog.expect
done
if grep -q 'SGDT .* CPL0 sgdt .*silently wrong: guest expects base=0x[0-9a-f]* limit=0x7f, de-privileged hardware gives the VMM' "$TMP/log-on.log" &&
   grep -q 'POPF .* CPL0 popfd .*keeps IF=0 IOPL=0' "$TMP/log-on.log"; then
    ok "pgtable pg=log: SGDT and POPF logged with where, expected and de-privileged values"
else
    not_ok "pgtable pg=log: SGDT and POPF logged with where, expected and de-privileged values" \
        "$(grep -E 'SGDT|POPF' "$TMP/log-on.log" | head -n 3)"
fi

run naive tcg,pg=naive
[ "$rc" -eq 33 ] && ok "pgtable pg=naive: exit status 33" || not_ok "pgtable pg=naive: exit status 33" "got $rc"
same "pgtable pg=naive: the guest sees de-privileged results" "$TMP/naive.out" $G/pgtable.naive.expect
if grep -q 'pg=naive: the guest first diverged at SGDT at 0008:' "$TMP/naive.err"; then
    ok "pgtable pg=naive: the first divergence is named"
else
    not_ok "pgtable pg=naive: the first divergence is named" "$(tail -n 2 "$TMP/naive.err")"
fi

run umip tcg -cpu max
same "pgtable -cpu max: UMIP faults in ring 3 (QEMU's output)" "$TMP/umip.out" $G/pgtable-umip.expect
run noumip tcg -cpu max,-umip
same "pgtable -cpu max,-umip: no UMIP" "$TMP/noumip.out" $G/pgtable.expect

# Bad values are refused with a message.
if "$TREMU" -accel tcg,pg=sometimes -display none -nodefaults </dev/null >/dev/null 2>"$TMP/bad.err"; then
    not_ok "pg=sometimes refused" "accepted"
elif grep -q "bad value 'sometimes' for 'pg'" "$TMP/bad.err"; then
    ok "pg=sometimes refused"
else
    not_ok "pg=sometimes refused" "$(cat "$TMP/bad.err")"
fi

# ---- Linux ----
if [ ! -s "$LG/vmlinux" ] || [ ! -s "$LG/initramfs.cpio.gz" ]; then
    skipped "linux pg=log" "needs the default guest in $LG (make guest)"
    skipped "linux pg=naive" "needs the default guest in $LG (make guest)"
    finish
fi
# A hang guard, not a speed limit (a boot takes about 15 s here).
timeout -k 5 600 nice -n 10 "$TREMU" -m 512 -accel tcg,pg=log -D "$TMP/linux.log" -kernel "$LG/vmlinux" \
    -initrd "$LG/initramfs.cpio.gz" -append "console=ttyS0 tremu.cmd=echo pg-shell-ok" \
    -nographic </dev/null >"$TMP/linux.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q TREMU-BOOT-OK "$TMP/linux.out" && grep -q '^pg-shell-ok' "$TMP/linux.out"; then
    ok "linux pg=log: boots to the shell and powers off"
else
    not_ok "linux pg=log: boots to the shell and powers off" "status $rc; $(tail -n 3 "$TMP/linux.out")"
fi
if grep -Eq '^PUSHF +sensitive +[1-9][0-9]* +[0-9]+ +0 +[1-9]' "$TMP/linux.log" &&
   grep -Eq '^CLI +privileged +[1-9][0-9]* +0 +[1-9]' "$TMP/linux.log" &&
   grep -q '^total' "$TMP/linux.log"; then
    ok "linux pg=log: the summary counts PUSHF silently wrong and CLI traps"
    sed -n '/^Popek-Goldberg summary/,/^first/p' "$TMP/linux.log" | sed 's/^/#   /'
else
    not_ok "linux pg=log: the summary counts PUSHF silently wrong and CLI traps" "$(tail -n 5 "$TMP/linux.log")"
fi
timeout -k 5 120 "$TREMU" -m 512 -accel tcg,pg=log,pg-timeout=2 -kernel "$LG/vmlinux" \
    -initrd "$LG/initramfs.cpio.gz" -append "console=ttyS0" -display none -serial null \
    -D "$TMP/to.log" </dev/null >"$TMP/to.out" 2>&1
if grep -q 'pg=log: run ended after 2 s (pg-timeout)' "$TMP/to.out" && grep -q '^total' "$TMP/to.log"; then
    ok "linux pg=log,pg-timeout=2: ends the run with the table"
else
    not_ok "linux pg=log,pg-timeout=2: ends the run with the table" "$(tail -n 2 "$TMP/to.out")"
fi
timeout -k 5 120 nice -n 10 "$TREMU" -m 512 -accel tcg,pg=naive,pg-timeout=20 -kernel "$LG/vmlinux" \
    -initrd "$LG/initramfs.cpio.gz" -append "console=ttyS0" -nographic -D "$TMP/naive-linux.log" \
    </dev/null >"$TMP/naive-linux.out" 2>&1
rc=$?
if [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && grep -q 'pg=naive: .*first diverged at [A-Z]' "$TMP/naive-linux.out"; then
    ok "linux pg=naive: the run ends, naming the first divergence"
    grep 'pg=naive:' "$TMP/naive-linux.out" | sed 's/^/#   /'
else
    not_ok "linux pg=naive: the run ends, naming the first divergence" "status $rc; $(tail -n 3 "$TMP/naive-linux.out")"
fi
finish
