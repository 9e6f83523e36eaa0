#!/bin/bash
# Exits and traps by cause on a real boot (docs/stats.md): the default guest
# (Debian's kernel + busybox, `make guest`) boots under -accel tcg with
# -d stats,interval=1,format=json,file=..., idles a few seconds and powers
# off. The JSON must name the engine and carry nonzero counts for the causes
# every Linux boot has (CPUID, port I/O, MSR reads, CR writes, HLT,
# exceptions, page faults, interrupts injected), and the log must hold the
# periodic lines. The same boot under kvm, when this host can run it, must
# print the same rows in the same order (the teaching point: one table).
#
#   bash tests/suites/stats.sh        STATS_TIMEOUT=300 (seconds per boot)
# Ends with `stats: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
G=${CACHE:-$HOME/.cache/tremu}/guest
T=${TREMU:-./tremu}
TIMEOUT=${STATS_TIMEOUT:-300}
pass=0 fail=0 skip=0
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1${2:+ ($2)}"; }
skipt() { skip=$((skip + 1)); echo "skip $1 ($2)"; }
finish() {
    echo "stats: $pass passed, $fail failed$([ $skip -gt 0 ] && echo ", $skip skipped")"
    [ "$fail" -eq 0 ]
    exit
}
W=$(mktemp -d "${TMPDIR:-/tmp}/tremu-stats.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT

[ -x "$T" ] || { notok "tremu built" "$T missing: make tremu"; finish; }
if [ ! -s "$G/vmlinux" ] || [ ! -s "$G/initramfs.cpio.gz" ]; then
    skipt "busybox guest boots with -d stats" "needs the default guest in $G: make guest"
    finish
fi

# boot ENGINE NAME STATS-ITEMS: the guest sleeps 3 s (HLT), then powers off.
boot() {
    timeout -k 5 "$TIMEOUT" "$T" -accel "$1" -m 256 -display none -nodefaults -serial stdio \
        -monitor none -no-reboot -kernel "$G/vmlinux" -initrd "$G/initramfs.cpio.gz" \
        -D "$W/$2.log" -d "$3" -append "console=ttyS0 quiet tremu.cmd=sleep 3" \
        < /dev/null > "$W/$2.out" 2> "$W/$2.err"
    echo $? > "$W/$2.rc"
}

# JSON value of a counter ("" when absent); the schema is flat on purpose.
jget() { grep -oE "\"$(printf '%s' "$2" | sed 's/[.()]/\\&/g')\":[0-9]+" "$1" | head -n 1 | cut -d: -f2; }

boot tcg tcg "stats,interval=1,format=json,file=$W/tcg.json"
rc=$(cat "$W/tcg.rc")
if [ "$rc" = 0 ] && grep -q 'TREMU-CMD-EXIT=0' "$W/tcg.out"; then
    ok "tcg: the guest boots, sleeps and powers off with -d stats"
else
    notok "tcg: the guest boots, sleeps and powers off with -d stats" \
        "exit $rc; $(tail -n 3 "$W/tcg.err" "$W/tcg.out" | tr '\n' ' ')"
fi
if [ -s "$W/tcg.json" ] && head -n 1 "$W/tcg.json" | grep -qE '^\{"engine":"tcg","seconds":[0-9]+\.[0-9]+,"counters":\{$'; then
    ok "tcg: JSON report written with engine and seconds"
else
    notok "tcg: JSON report written with engine and seconds" "$(head -n 1 "$W/tcg.json" 2>&1)"
fi
if command -v python3 >/dev/null; then
    if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["engine"]=="tcg" and d["seconds"]>0 and all(isinstance(v,int) for v in d["counters"].values())' "$W/tcg.json" 2>"$W/py.err"; then
        ok "tcg: the JSON parses (python3 json) and every counter is an integer"
    else
        notok "tcg: the JSON parses (python3 json) and every counter is an integer" "$(tail -n 1 "$W/py.err")"
    fi
else
    skipt "tcg: JSON parses" "needs python3"
fi
for c in exits cpuid io io.port\(0x03f8\) msr.read cr.write hlt exception 'exception(#PF)' page_fault irq.inject insn.retired tlb.miss; do
    v=$(jget "$W/tcg.json" "$c")
    if [ -n "$v" ] && [ "$v" -gt 0 ]; then
        ok "tcg: $c counted ($v)"
    else
        notok "tcg: $c counted" "value '${v}'"
    fi
done
# exits is the sum of the causes VT-x intercepts: at least io + cpuid + hlt.
e=$(jget "$W/tcg.json" exits); i=$(jget "$W/tcg.json" io); c=$(jget "$W/tcg.json" cpuid); h=$(jget "$W/tcg.json" hlt)
if [ -n "$e" ] && [ -n "$i" ] && [ -n "$c" ] && [ -n "$h" ] && [ "$e" -ge $((i + c + h)) ]; then
    ok "tcg: exits >= io + cpuid + hlt"
else
    notok "tcg: exits >= io + cpuid + hlt" "exits=$e io=$i cpuid=$c hlt=$h"
fi
# The periodic line: a header, then one line a second with a number in
# every column we can see (the boot takes many seconds, the sleep 3).
n=$(grep -cE '^stats: +[0-9]+\.[0-9] +tcg( +[0-9]+){14}$' "$W/tcg.log")
if grep -q '^stats: *time *engine *exits' "$W/tcg.log" && [ "$n" -ge 3 ]; then
    ok "tcg: -d stats,interval=1 prints periodic lines ($n)"
else
    notok "tcg: -d stats,interval=1 prints periodic lines" "$n lines; $(grep -m 3 '^stats:' "$W/tcg.log" | tr '\n' '|')"
fi
# Some second of the boot+sleep had HLTs (the idle loop) and CPUIDs (boot).
if awk '/^stats: +[0-9]/ && $12 > 0 {h=1} /^stats: +[0-9]/ && $7 > 0 {c=1} END {exit !(h && c)}' "$W/tcg.log"; then
    ok "tcg: periodic lines show hlt/s and cpuid/s"
else
    notok "tcg: periodic lines show hlt/s and cpuid/s" "$(grep -m 4 '^stats:' "$W/tcg.log" | tr '\n' '|')"
fi

# CSV with interval=: a time series in one file, a snapshot a second
# (cumulative counts; the seconds column tells them apart), one header.
boot tcg csv "stats,interval=1,format=csv,file=$W/series.csv"
snaps=$(awk -F, 'NR > 1 && $3 == "insn.retired" {n++} END {print n + 0}' "$W/series.csv")
heads=$(grep -c '^engine,seconds,cause,count$' "$W/series.csv")
mono=$(awk -F, 'NR > 1 && $3 == "insn.retired" {if ($4 < last) bad = 1; last = $4} END {print bad ? "no" : "yes"}' "$W/series.csv")
if [ "$(cat "$W/csv.rc")" = 0 ] && [ "$snaps" -ge 3 ] && [ "$heads" = 1 ] && [ "$mono" = yes ]; then
    ok "tcg: format=csv with interval=1 writes a time series ($snaps snapshots)"
else
    notok "tcg: format=csv with interval=1 writes a time series" "exit $(cat "$W/csv.rc"), $snaps snapshots, $heads headers, increasing: $mono"
fi

# ---- kvm, when this host can run the guest ----
if [ ! -c /dev/kvm ]; then
    skipt "kvm: the same rows as tcg" "no /dev/kvm on this host"
    finish
fi
boot tcg tcgtext stats
boot kvm kvm stats
if ! grep -q 'accel kvm' "$W/kvm.err" || [ "$(cat "$W/kvm.rc")" != 0 ]; then
    skipt "kvm: the same rows as tcg" "KVM cannot run the guest here: $(head -n 2 "$W/kvm.err" | tr '\n' ' ')"
    finish
fi
rows() { awk '/^== tremu exits/ {on=1; next} on && /^--/ {exit} on && $1 != "cause" {print $1}' "$1"; }
if [ -n "$(rows "$W/kvm.log")" ] && [ "$(rows "$W/kvm.log")" = "$(rows "$W/tcgtext.log")" ]; then
    ok "kvm: the table has the same rows, in the same order, as under tcg"
else
    notok "kvm: the table has the same rows, in the same order, as under tcg" \
        "$(diff <(rows "$W/tcgtext.log") <(rows "$W/kvm.log") | head -n 5 | tr '\n' ' ')"
fi
v=$(awk '$1 == "io" {print $2}' "$W/kvm.log")
if [ -n "$v" ] && [ "$v" != n/a ] && [ "$v" -gt 0 ]; then
    ok "kvm: port I/O exits counted ($v)"
else
    notok "kvm: port I/O exits counted" "io '$v'"
fi
finish
