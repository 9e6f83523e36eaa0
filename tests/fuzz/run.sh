#!/bin/sh
# make fuzz (FUZZ_SECONDS each, default 60) and make fuzz-short (5 s each):
# every libFuzzer harness build-san/fuzz_* runs over its committed seed corpus
# tests/fuzz/corpus/NAME (new inputs go to a scratch copy, so the repository
# keeps only the small seeds); then build-san/tremu, under ASan+UBSan, gets
# the command lines that once reached undefined behaviour. A crash leaves its
# input in build-san/crashes/ (add it to the corpus once fixed: it becomes a
# test). Executions per harness go to build-san/fuzz-stats.txt.
# Ends with `fuzz: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
secs=${1:-60}
S=build-san
pass=0; fail=0; skip=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1${2:+ ($2)}"; }
skp() { skip=$((skip + 1)); echo "skip $1 ($2)"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p $S/crashes
: > $S/fuzz-stats.txt
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for bin in $S/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin" | sed 's/^fuzz_//')
    mkdir -p "$tmp/$name"
    seeds=tests/fuzz/corpus/$name
    [ -d "$seeds" ] || seeds=
    dict=tests/fuzz/$name.dict
    [ -f "$dict" ] && dict="-dict=$dict" || dict=
    nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$S/crashes/$name-" $dict "$tmp/$name" $seeds >"$tmp/$name.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log" | tail -n 1)
    echo "$name: ${execs:-0} executions in ${secs}s" | tee -a $S/fuzz-stats.txt
    if [ $rc -eq 0 ] && [ -n "$execs" ]; then
        ok "fuzz_$name"
    else
        bad "fuzz_$name" "exit $rc; see $S/crashes/$name-*"
        grep -E 'ERROR|runtime error|SUMMARY' "$tmp/$name.log" | head -n 5
    fi
done

# The emulator under the sanitizers: failed loads and an oversized command
# line (hw/acpi.c once passed NULL to memcpy on every boot).
T=$S/tremu
if [ -x "$T" ]; then
    : > "$tmp/empty"; head -c 5000 /dev/zero | tr '\0' 'J' > "$tmp/junk"; mkdir -p "$tmp/dir"
    long=$(head -c 100000 /dev/zero | tr '\0' 'a')
    kernel=$HOME/.cache/tremu/guest/vmlinuz
    [ -f "$kernel" ] || kernel="$tmp/junk"
    # san NAME ARGS...: tremu fails cleanly (exit 1, a message, no sanitizer report)
    san() {
        n=$1; shift
        timeout 120 "$T" -accel tcg -display none -nodefaults -monitor none "$@" >"$tmp/san.log" 2>&1
        rc=$?
        if [ $rc -eq 1 ] && ! grep -qE 'runtime error|Sanitizer' "$tmp/san.log"; then
            ok "$n"
        else
            bad "$n" "exit $rc: $(grep -m1 -E 'runtime error|Sanitizer|tremu:' "$tmp/san.log")"
        fi
    }
    san san_kernel_empty -kernel "$tmp/empty"
    san san_kernel_junk -kernel "$tmp/junk"
    san san_kernel_directory -kernel "$tmp/dir"
    san san_kernel_missing -kernel "$tmp/nonexistent"
    san san_initrd_directory -kernel "$kernel" -initrd "$tmp/dir"
    san san_initrd_missing -kernel "$kernel" -initrd "$tmp/nonexistent"
    san san_append_100000_chars -kernel "$kernel" -append "$long"
    san san_drive_bad_option -drive "file=$tmp/junk,format=qcow2,if=virtio"
    san san_netdev_bad -netdev 'user,id=n0,hostfwd=tcp::99999-:22'
else
    skp sanitizer_runs "$T not built (make fuzz-build)"
fi

if [ $skip -gt 0 ]; then
    echo "fuzz: $pass passed, $fail failed, $skip skipped"
else
    echo "fuzz: $pass passed, $fail failed"
fi
[ $fail -eq 0 ]
