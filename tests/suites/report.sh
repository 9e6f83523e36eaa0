#!/bin/sh
# The cost report (`make report`, docs/teaching.md):
# - the generator (tools/tremu_report.py) on recorded results
#   (tests/report/raw, a real run): gnuplot forced off gives exactly
#   tests/report/expected.md; with gnuplot it gives the same tables plus
#   three well-formed SVG plots (skipped, saying so, without gnuplot); with
#   gnuplot missing from PATH it falls back to the tables and says why;
#   -d stats given as the JSON dump instead of text changes nothing;
# - the microbenchmark guest (tests/guests/microbench.S) under tcg, JIT and
#   interpreter: every operation's line is there with a figure, and the
#   whole iteration (total=) took a positive number of cycles. No timing
#   is asserted;
# - tools/tremu-report on the microbenchmark alone (REPORT_SKIP_BOOT=1).
# Ends with `report: N passed, N failed[, N skipped]`.
#   REPORT_UPDATE=1 sh tests/suites/report.sh   rewrite expected.md (check it by eye)
cd "$(dirname "$0")/../.." || exit 1
R=tests/report
GEN="python3 tools/tremu_report.py"
pass=0; fail=0; skip=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tremu-report-test.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
ok()     { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1: $2"; }
skipped(){ skip=$((skip + 1)); echo "skip - $1: $2"; }
finish() {
    if [ $skip -gt 0 ]; then echo "report: $pass passed, $fail failed, $skip skipped"
    else echo "report: $pass passed, $fail failed"; fi
    [ $fail -eq 0 ]; exit
}

if ! command -v python3 >/dev/null 2>&1; then
    skipped "report generator" "needs python3 (make deps)"
else
    # 1. tables only (gnuplot forced off), against the golden report
    if $GEN "$R/raw" "$TMP/off" --gnuplot=off >"$TMP/off.log" 2>&1; then
        [ -n "${REPORT_UPDATE:-}" ] && cp "$TMP/off/report.md" "$R/expected.md"
        if ! cmp -s "$TMP/off/report.md" "$R/expected.md"; then
            not_ok "generator, gnuplot off" "report.md differs from $R/expected.md"
            diff -u "$R/expected.md" "$TMP/off/report.md" | head -n 30 | sed 's/^/# /'
        elif ls "$TMP/off"/*.svg >/dev/null 2>&1; then
            not_ok "generator, gnuplot off" "SVG files made with gnuplot off"
        elif ! grep -q 'No plots: gnuplot is switched off' "$TMP/off/report.md"; then
            not_ok "generator, gnuplot off" "the report does not say why there are no plots"
        else
            ok "generator, gnuplot off: tables equal $R/expected.md"
        fi
    else
        not_ok "generator, gnuplot off" "$(tail -n 1 "$TMP/off.log")"
    fi
    # the same switch through the environment
    if TREMU_REPORT_GNUPLOT=off $GEN "$R/raw" "$TMP/env" >/dev/null 2>&1 &&
       cmp -s "$TMP/env/report.md" "$R/expected.md" && ! ls "$TMP/env"/*.svg >/dev/null 2>&1; then
        ok "generator, TREMU_REPORT_GNUPLOT=off"
    else
        not_ok "generator, TREMU_REPORT_GNUPLOT=off" "plots made or tables differ"
    fi

    # 2. gnuplot not on PATH: the automatic mode falls back to tables
    mkdir -p "$TMP/bin"
    ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$TMP/bin/python3"
    if PATH=$TMP/bin "$TMP/bin/python3" tools/tremu_report.py "$R/raw" "$TMP/nognu" >/dev/null 2>&1 &&
       grep -q 'No plots: gnuplot is not installed' "$TMP/nognu/report.md" &&
       ! ls "$TMP/nognu"/*.svg >/dev/null 2>&1 &&
       [ "$(grep -v '^_No plots' "$TMP/nognu/report.md")" = "$(grep -v '^_No plots' "$R/expected.md")" ]; then
        ok "generator, no gnuplot on PATH: tables, and says so"
    else
        not_ok "generator, no gnuplot on PATH" "no fallback to tables or no message"
    fi
    if PATH=$TMP/bin "$TMP/bin/python3" tools/tremu_report.py "$R/raw" "$TMP/x" --gnuplot=on >/dev/null 2>"$TMP/on.err"; then
        not_ok "generator, --gnuplot=on without gnuplot" "succeeded"
    elif grep -q 'gnuplot is not installed' "$TMP/on.err"; then
        ok "generator, --gnuplot=on without gnuplot: a clear error"
    else
        not_ok "generator, --gnuplot=on without gnuplot" "$(cat "$TMP/on.err")"
    fi

    # 3. with gnuplot: three SVG plots, referenced, the tables unchanged
    if ! command -v gnuplot >/dev/null 2>&1; then
        skipped "generator with gnuplot" "gnuplot is not installed (make deps installs gnuplot-nox)"
    elif $GEN "$R/raw" "$TMP/on" --gnuplot=on >"$TMP/on.log" 2>&1; then
        why=
        for p in micro times exits; do
            if [ ! -s "$TMP/on/$p.svg" ]; then why="$why no $p.svg;"
            elif ! python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(not r.tag.endswith("svg"))' "$TMP/on/$p.svg"; then
                why="$why $p.svg is not well-formed SVG;"
            fi
            grep -q "]($p.svg)" "$TMP/on/report.md" || why="$why report.md does not show $p.svg;"
        done
        # log scale on the ns and exit plots; the interpreter's and QEMU's bars are there
        grep -q 'set logscale y' "$TMP/on/micro.gp" || why="$why micro plot not log scale;"
        grep -q 'QEMU tcg' "$TMP/on/micro.gp" || why="$why no QEMU series;"
        # (blank lines aside: each plot and the no-plots note is a paragraph)
        [ "$(grep -v '^!\[\|^$' "$TMP/on/report.md")" = "$(grep -v '^_No plots\|^$' "$R/expected.md")" ] ||
            why="$why tables differ from the gnuplot-off report;"
        if [ -z "$why" ]; then ok "generator with gnuplot: micro, times, exits SVG"
        else not_ok "generator with gnuplot" "$why"; fi
    else
        not_ok "generator with gnuplot" "$(tail -n 1 "$TMP/on.log")"
    fi

    # 4. exit counters from the JSON dump read the same as from -d stats text
    cp -r "$R/raw" "$TMP/jraw"
    conv=0
    for d in "$TMP/jraw"/*/; do
        [ -f "$d/stats.txt" ] || continue
        python3 -c 'import json, sys; sys.path.insert(0, "tools"); import tremu_report as t
d = t.parse_stats_text(open(sys.argv[1]).read(), sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))' "$d/stats.txt" "$d/stats.json" "$(basename "$d")" && rm "$d/stats.txt" && conv=$((conv + 1))
    done
    if [ $conv -eq 0 ]; then
        not_ok "exit counters from JSON" "no stats.txt among the fixtures"
    elif $GEN "$TMP/jraw" "$TMP/json" --gnuplot=off >/dev/null 2>&1 &&
         cmp -s "$TMP/json/report.md" "$R/expected.md"; then
        ok "exit counters from the JSON dump ($conv engines) equal the text's"
    else
        not_ok "exit counters from JSON" "the report differs from the text-based one"
    fi
    # the engines this host could not run are named with the reason
    if grep -q '^- \*\*tremu kvm\*\* (unavailable): tremu.s probe: ' "$TMP/off/report.md"; then
        ok "unavailable engine listed with tremu's probe message"
    else
        not_ok "unavailable engine" "no line for tremu kvm with the probe's reason in the report"
    fi
fi

# 5. the microbenchmark guest under tcg
MB=tests/guests/build/microbench.elf
if ! make -s -C tests/guests build/microbench.elf >"$TMP/build.log" 2>&1; then
    not_ok "microbench guest builds" "$(tail -n 1 "$TMP/build.log")"
    finish
fi
OPS="syscall int80 out80 in_uart cr8 pte pagefault cpuid vmcall ctxsw"

# 6. the runner end to end on the microbenchmark alone (seconds): tremu's
# JIT is used, tremu kvm is used or unavailable with a reason, never silent
if command -v python3 >/dev/null 2>&1; then
    name="tools/tremu-report, microbenchmark only"
    REPORT_SKIP_BOOT=1 REPORT_ENGINES="tremu tremu-kvm" TREMU_REPORT_GNUPLOT=off \
        timeout -k 5 300 bash tools/tremu-report "$TMP/run" >"$TMP/run.log" 2>&1
    rc=$?
    why=
    [ $rc -eq 0 ] || why="exit status $rc;"
    grep -qx done "$TMP/run/raw/tremu/microbench.txt" 2>/dev/null || why="$why no done line from the guest;"
    grep -q '^| cpuid | CPUID leaf 0 | exit | [0-9b]' "$TMP/run/report.md" 2>/dev/null || why="$why no cpuid row;"
    grep -q '^| tremu JIT | `tremu -accel tcg` | used |' "$TMP/run/report.md" 2>/dev/null || why="$why tremu JIT not used;"
    if grep -q '^| tremu kvm | .* | \*\*unavailable\*\* | ' "$TMP/run/report.md" 2>/dev/null; then
        grep -q '^- \*\*tremu kvm\*\* (unavailable): .' "$TMP/run/report.md" || why="$why tremu kvm unavailable without a reason;"
    elif ! grep -q '^| tremu kvm | .* | used |' "$TMP/run/report.md" 2>/dev/null; then
        why="$why tremu kvm neither used nor unavailable;"
    fi
    if [ -z "$why" ]; then ok "$name"
    else not_ok "$name" "$why"; sed 's/^/# /' "$TMP/run.log" | tail -n 5; fi
fi
for jit in on off; do
    name="microbench guest, tcg jit=$jit"
    timeout -k 5 120 ./tremu -accel tcg,jit=$jit -M pc -m 128 -display none -nodefaults \
        -serial "file:$TMP/mb.$jit" -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$MB" </dev/null >/dev/null 2>"$TMP/mb.$jit.err"
    rc=$?
    tr -d '\r' <"$TMP/mb.$jit" >"$TMP/mb.$jit.txt"
    why=
    [ $rc -eq 33 ] || why="exit status $rc, want 33;"
    grep -qx done "$TMP/mb.$jit.txt" || why="$why no done line;"
    grep -Eq '^tsc_mhz_pit=[0-9]+$' "$TMP/mb.$jit.txt" || why="$why no tsc_mhz_pit line;"
    grep -Eq '^tsc_mhz_cpuid=1000$' "$TMP/mb.$jit.txt" || why="$why CPUID 16H is not 1000 MHz;"
    for op in $OPS; do
        line=$(grep "^op=$op " "$TMP/mb.$jit.txt")
        if [ "$op" = vmcall ]; then
            # no VT-x in the software CPU: VMCALL is #UD, the guest says so
            [ "$line" = "op=vmcall cycles=n/a reason=ud" ] || why="$why vmcall: '$line';"
        elif ! printf '%s\n' "$line" | grep -Eq "^op=$op cycles=-?[0-9]+\.[0-9] total=[0-9]+\.[0-9]$"; then
            why="$why $op: '$line';"
        elif ! printf '%s\n' "$line" | awk -F'total=' '{exit !($2 > 0)}'; then
            why="$why $op: total not positive;"
        fi
    done
    if [ -z "$why" ]; then ok "$name: 10 operations, each with a figure"
    else not_ok "$name" "$why"; sed 's/^/# /' "$TMP/mb.$jit.txt" "$TMP/mb.$jit.err" | head -n 20; fi
done
finish
