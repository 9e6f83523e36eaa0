#!/bin/bash
# make bench: tremu against Debian's QEMU (qemu-system-x86_64 -accel tcg -M pc)
# in the same run, on the default guest (~/.cache/tremu/guest, `make guest`).
#
# The machine is shared and noisy, so: the engines ALTERNATE run by run
# (qemu, tremu, tremu-interp, qemu, tremu, ...) so that a burst of load hits
# all of them alike; each figure is the median of BENCH_RUNS runs; and what to
# compare are the ratios to QEMU, of host CPU time (user+sys of the emulator
# process: what the emulator costs, less sensitive to load than wall time) and
# of wall time (what the user waits). Peak memory is the emulator's max RSS.
#
#   BENCH_RUNS=3                   runs per engine and workload (medians)
#   BENCH_ENGINES="qemu tremu tremu-interp"   a subset to time fewer engines
#       qemu          qemu-system-x86_64 -accel tcg -M pc
#       tremu         ./tremu -accel tcg           (the JIT, the default)
#       tremu-interp  ./tremu -accel tcg,jit=off   (the interpreter)
#   BENCH_SEQ=4000000              size of the gzip workload (seq 1 N: ~30 MiB)
#   BENCH_SKIP_QEMU=1              time tremu alone
#   BENCH_LAB=1                    also the lab machine (tests/lab/bench.sh:
#                                  many minutes; needs tests/lab/mkrootfs.sh)
#   BENCH_SKIP_LAB=1               never the lab machine (even with BENCH_LAB=1)
#   BENCH_TIMEOUT=900              seconds before a run is killed (and failed)
#   BENCH_SKIP_FW=1                leave out the GRUB disk through SeaBIOS
#   BENCH_SKIP_IO=1                leave out disk and network I/O (tests/bench/io.sh)
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C     # '.' decimals in $EPOCHREALTIME, printf and awk
G=${CACHE:-$HOME/.cache/tremu}/guest
RUNS=${BENCH_RUNS:-3}
SEQ=${BENCH_SEQ:-4000000}
TIMEOUT=${BENCH_TIMEOUT:-900}
ENGINES=${BENCH_ENGINES:-qemu tremu tremu-interp}
QEMU=$(command -v qemu-system-x86_64)
[ -n "${BENCH_SKIP_QEMU:-}" ] && QEMU=

die() { echo "bench: $*" >&2; exit 1; }
for f in vmlinux vmlinuz initramfs.cpio.gz; do
    [ -s "$G/$f" ] || die "no default guest in $G (missing $f): run make guest"
done
[ -x ./tremu ] || die "no ./tremu: run make"
[ -x /usr/bin/time ] || die "needs GNU time for CPU time and peak memory (apt-get install time)"
case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS=$RUNS: a number >= 1 please" ;; esac
case $SEQ in ''|*[!0-9]*|0) die "BENCH_SEQ=$SEQ: a number >= 1 please" ;; esac
E=()
for e in $ENGINES; do
    case $e in
    qemu) if [ -n "$QEMU" ]; then E+=(qemu)
          else echo "bench: qemu-system-x86_64 not found or BENCH_SKIP_QEMU set: tremu figures alone, no ratios"; fi ;;
    tremu|tremu-interp) E+=("$e") ;;
    *) die "BENCH_ENGINES: unknown engine '$e' (qemu, tremu, tremu-interp)" ;;
    esac
done
[ ${#E[@]} -gt 0 ] || die "no engine to time"
HAVE_QEMU=; [[ " ${E[*]} " == *" qemu "* ]] && HAVE_QEMU=1

T=$(mktemp -d "${TMPDIR:-/tmp}/tremu-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
# A private copy: a rebuild of ./tremu in the middle of the bench must not
# mix two binaries in one set of medians.
cp ./tremu "$T/tremu" || exit 1

# run_one, median, cmd64, workload_gzip
. tests/bench/lib.sh
ratio() { if [[ $1 == [0-9]* && $2 == [0-9]* ]]; then awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; else echo -; fi; }
progress() { [ -t 2 ] && printf '\r\033[K%s' "$*" >&2; }

# Column layout: one block per engine, "cpu wall rss" (+ "cpu/q wall/q" for
# tremu engines when QEMU is timed).
colhead() {
    local l1 l2 e w
    l1=$(printf '%-27s' ""); l2=$(printf '%-27s' "workload")
    for e in "${E[@]}"; do
        if [ $e != qemu ] && [ -n "$HAVE_QEMU" ]; then w=36; else w=21; fi
        l1+=$(printf "| %-${w}s" "$e")
        l2+=$(printf '| %6s %6s %6s ' cpu wall rss)
        [ $e != qemu ] && [ -n "$HAVE_QEMU" ] && l2+=$(printf '%7s %7s ' cpu/q wall/q)
    done
    echo "${l1%"${l1##*[! ]}"}"; echo "${l2%"${l2##*[! ]}"}"
}

declare -A M     # M[engine.field] medians of the last bench
# row LABEL FIELDS: FIELDS "all" = cpu wall rss, "after" = after-boot wall only
row() {
    local label=$1 what=$2 e c w r out wf=2
    [ $what = after ] && wf=5
    out=$(printf '%-27s' "$label")
    for e in "${E[@]}"; do
        if [ $what = after ]; then c=-; w=${M[$e.5]}; r=-; else c=${M[$e.1]}; w=${M[$e.2]}; r=${M[$e.3]}; fi
        out+=$(printf '| %6s %6s %6s ' "$c" "$w" "$r")
        if [ $e != qemu ] && [ -n "$HAVE_QEMU" ]; then
            if [ $what = after ]; then c=-; else c=$(ratio "${M[$e.1]}" "${M[qemu.1]}"); fi
            w=$(ratio "$w" "${M[qemu.$wf]}")
            out+=$(printf '%7s %7s ' "$c" "$w")
        fi
    done
    echo "${out%"${out##*[! ]}"}"
}

# bench LABEL KERNEL PARAM [STATS]: RUNS rounds of all engines in turn;
# medians in M. STATS: keep each tremu run's -d stats in $T/stats.ENGINE.N
# (the counters are always kept; -d stats only prints them at exit).
bench() {
    local label=$1 kernel=$2 param=$3 stats=$4 r e k res sf ref= bad=
    for e in "${E[@]}"; do : >"$T/$e.runs"; done
    for r in $(seq "$RUNS"); do
        for e in "${E[@]}"; do
            progress "$label: $e, run $r of $RUNS"
            sf=; [ -n "$stats" ] && [ $e != qemu ] && sf=$T/stats.$e.$r
            res=$(run_one $e "$kernel" "$param" "$sf")
            echo "$res" >>"$T/$e.runs"
            [ "$res" = fail ] && { bad+=" $e:run$r:failed"; continue; }
            # All engines must print the same thing (md5sums, sums...).
            if [ -z "$ref" ]; then ref=$(cat "$T/out"); refe=$e
            elif [ "$(cat "$T/out")" != "$ref" ]; then bad+=" $e:run$r:output-differs-from-$refe"; fi
        done
    done
    progress
    for e in "${E[@]}"; do
        for k in 1 2 3 4 5; do M[$e.$k]=$(cut -d' ' -f$k "$T/$e.runs" | median); done
    done
    row "$label" all
    [ -n "$bad" ] && echo "  ! $label:$bad"
    return 0
}


W3=$(workload_gzip "$SEQ")
W4="seq 1 400000 | sort -r | md5sum; seq 1 300000 | awk '{s+=\$1*\$1} END {print s}'"

echo "tremu benchmarks: median of $RUNS run(s) per engine; engines alternate run by run (${E[*]})"
[ -n "$HAVE_QEMU" ] && echo "  qemu         = $("$QEMU" --version | head -n1 | sed 's/ emulator version / /'), -accel tcg -M pc"
echo "  tremu        = ./tremu -accel tcg (JIT)     tremu-interp = ./tremu -accel tcg,jit=off"
echo "  cpu = user+sys s of the emulator process, wall = elapsed s, rss = peak resident MiB"
[ -n "$HAVE_QEMU" ] && echo "  cpu/q, wall/q = tremu's figure / QEMU's (below 1: tremu is faster)"
echo "  guest: $G, -m 512, serial console"
echo
colhead
bench "boot+poweroff, PVH vmlinux" "$G/vmlinux" "tremu.cmd=true"
bench "boot+poweroff, bzImage" "$G/vmlinuz" "tremu.cmd=true"
# bytes of `seq 1 N` (each number and its newline), for the label
MIB=$(awk -v n="$SEQ" 'BEGIN {for (lo = 1; lo <= n; lo *= 10) {hi = lo * 10 - 1; if (hi > n) hi = n; b += (hi - lo + 1) * (length(lo) + 1)}; printf "%.0f", b / 1048576}')
bench "gzip+gunzip+md5 ${MIB} MiB text" "$G/vmlinux" "$(cmd64 "$W3")" stats
row "  the same, after boot" after
bench "sort+awk, PVH vmlinux" "$G/vmlinux" "$(cmd64 "$W4")"

# The software CPU's own counters on the gzip workload (tremu -d stats,
# medians over the runs above). Instructions per second are over the whole
# run, boot included (QEMU has no comparable counter).
stat_median() {   # ENGINE COUNTER FIELD (2: count, 3: per second; docs/stats.md)
    local f
    for f in "$T"/stats."$1".*; do
        [ -s "$f" ] && awk -v p="$2" -v k="$3" '$1 == p {print $k; exit}' "$f"
    done | median
}
if ls "$T"/stats.* >/dev/null 2>&1; then
    echo
    echo "software CPU on the gzip workload (-d stats, medians; instructions/s over the whole run, boot included):"
    for e in "${E[@]}"; do
        [ $e = qemu ] && continue
        ips=$(stat_median $e insn.retired 3 | awk '{if ($1 ~ /^[0-9]/) printf "%.1f", $1 / 1e6; else print $1}')
        n=$(stat_median $e insn.retired 2)
        line=$(printf '  %-13s %8s M guest insns/s, %s G insns' "$e" "$ips" "$(awk -v n="$n" 'BEGIN {if (n ~ /^[0-9]/) printf "%.2f", n / 1e9; else print n}')")
        if [ $e = tremu ]; then
            line+=$(printf '; %s blocks translated, %s us/block, %s MiB host code, %s code cache flushes' \
                "$(stat_median $e tcg.jit.blocks 2)" \
                "$(awk -v ns="$(stat_median $e tcg.jit.ns 2)" -v b="$(stat_median $e tcg.jit.blocks 2)" 'BEGIN {if (b > 0) printf "%.2f", ns / 1e3 / b; else print "?"}')" \
                "$(awk -v n="$(stat_median $e tcg.jit.bytes 2)" 'BEGIN {if (n ~ /^[0-9]/) printf "%.1f", n / 1048576; else print n}')" \
                "$(stat_median $e tcg.jit.cache_flushes 2 | sed 's/^fail$/0/')")
        fi
        echo "$line"
    done
fi

# Issue 11: the GRUB disk through SeaBIOS (virtio and IDE) against the direct
# -kernel boot of the same kernel and initrd. BENCH_SKIP_FW=1 to leave it out.
if [ -z "${BENCH_SKIP_FW:-}" ]; then
    if command -v grub-mkimage >/dev/null && [ -r /usr/share/seabios/bios-256k.bin ]; then
        bash tests/bench/firmware.sh
    else
        echo "firmware boot: needs grub-pc-bin and seabios (make deps), skipped"
    fi
fi

# The display's cost on a guest workload (no VGA / VGA unwatched / VNC viewer, alternating).
bash tests/bench/display.sh

# Issue 11: virtio-blk and TCP throughput against QEMU. BENCH_SKIP_IO=1 to leave it out.
[ -z "${BENCH_SKIP_IO:-}" ] && bash tests/bench/io.sh

# Issue 4: the course's lab machine (login:, first ssh, virtio disk
# throughput). Each boot takes minutes under tcg: only with BENCH_LAB=1.
if [ -n "${BENCH_LAB:-}" ] && [ -z "${BENCH_SKIP_LAB:-}" ]; then
    echo
    LAB=${CACHE:-$HOME/.cache/tremu}/lab
    if [ -f "$LAB/STAMP" ]; then bash tests/lab/bench.sh "$LAB"
    else echo "lab machine: no image in $LAB (tests/lab/mkrootfs.sh $LAB), skipped"; fi
else
    echo
    echo "lab machine (tests/lab/bench.sh, many minutes): skipped, BENCH_LAB=1 to run it"
fi
