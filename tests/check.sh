#!/bin/sh
# Runs every test suite and sums their closing lines into one:
#   N passed, N failed[, N skipped]
cd "$(dirname "$0")/.." || exit 1
total_p=0; total_f=0; total_s=0
run_suite() {
    name=$1; shift
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no result line (exit $rc): counted as 1 failure"
        total_f=$((total_f + 1)); return
    fi
    p=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/')
    f=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) failed.*/\2/')
    s=$(echo "$line" | sed -nE 's/^(.*[^0-9])?([0-9]+) skipped.*/\2/p')
    total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: exit status $rc with no failure counted: counted as 1 failure"
        total_f=$((total_f + 1))
    fi
}
run_suite unit tests/unit/run-unit
# The software CPU's unit tests again with the interpreter alone and with
# jit=verify (the default run above translates every block).
run_suite unit-jit-off env TREMU_TEST_JIT=off tests/unit/run-unit cpu
run_suite unit-jit-verify env TREMU_TEST_JIT=verify tests/unit/run-unit cpu
for s in tests/suites/*.sh; do
    [ -f "$s" ] || continue
    # a suite runs under the shell its first line names (bash for SECONDS, arrays)
    case $(head -n 1 "$s") in
    *bash*) run_suite "$(basename "$s" .sh)" bash "$s" ;;
    *) run_suite "$(basename "$s" .sh)" sh "$s" ;;
    esac
done
if [ "$total_s" -gt 0 ]; then
    echo "$total_p passed, $total_f failed, $total_s skipped"
else
    echo "$total_p passed, $total_f failed"
fi
[ "$total_f" -eq 0 ]
