#!/bin/sh
# Differential test of tremu-img check/convert against qemu-img over a corpus
# of damaged qcow2 images: a seeded mutator (tests/fuzz/qcow2_mutate.py)
# corrupts header fields, L1/L2 entries, the refcount table and refcount
# blocks of three small images QEMU made (v3 4k clusters, v2 over a raw
# backing file, compressed). For every image:
#   - tremu-img check ends with qemu-img check's exit code (0 clean,
#     2 corruption, 3 leaks, 1 cannot check);
#   - when both convert it, both read the same bytes;
#   - after tremu-img check -r leaks (image with leaks only) qemu-img check
#     finds it clean; after -r all, tremu-img's exit code is what qemu-img
#     check says of the repaired image (a repair never claims more than it did).
# QCOW2DIFF_SEEDS=N images (default 200; CI), a failure names its seed.
# Ends with `qcow2diff: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
T=$PWD/tools/tremu-img
M=$PWD/tests/fuzz/qcow2_mutate.py
N=${QCOW2DIFF_SEEDS:-200}
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    echo "skip qcow2diff (qemu-img/qemu-io not installed)"
    echo "qcow2diff: 0 passed, 0 failed, 1 skipped"; exit 0
fi
if ! command -v python3 >/dev/null; then
    echo "skip qcow2diff (no python3 for the mutator)"
    echo "qcow2diff: 0 passed, 0 failed, 1 skipped"; exit 0
fi
[ -x "$T" ] || { echo "qcow2diff: 0 passed, 1 failed (tools/tremu-img not built)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# deterministic sources (the data is a pattern, so every run is the same)
yes tremu | head -c 4M > base.raw
qemu-img create -q -f qcow2 -o cluster_size=4096 a.qcow2 16M
qemu-io -c "write -P 1 0 100k" -c "write -P 2 3M 64k" -c "write -z 5M 16k" \
    -c "write -P 3 15M 8k" a.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=4096,compat=0.10 -b base.raw -F raw b.qcow2 8M
qemu-io -c "write -P 4 8k 40k" -c "write -P 5 2M 4k" b.qcow2 >/dev/null
qemu-img convert -c -O qcow2 -o cluster_size=4096 a.qcow2 c.qcow2

check_bad=0; conv_bad=0; leak_bad=0; all_bad=0
nclean=0; ncorrupt=0; nleak=0; nfail=0; nboth=0
s=1
while [ $s -le $N ]; do
    case $((s % 3)) in 0) src=a;; 1) src=b;; *) src=c;; esac
    python3 "$M" $src.qcow2 m.qcow2 $s || { check_bad=$((check_bad + 1)); s=$((s + 1)); continue; }
    timeout 30 qemu-img check m.qcow2 >q.out 2>&1; q=$?
    timeout 30 "$T" check m.qcow2 >t.out 2>&1; t=$?
    case $q in 0) nclean=$((nclean + 1));; 2) ncorrupt=$((ncorrupt + 1));;
               3) nleak=$((nleak + 1));; *) nfail=$((nfail + 1));; esac
    if [ $q != $t ]; then
        check_bad=$((check_bad + 1)); echo "seed $s ($src): qemu-img check $q, tremu-img check $t"
        head -n 3 t.out | sed 's/^/    tremu: /'
    fi
    rm -f q.raw t.raw
    timeout 30 qemu-img convert -O raw m.qcow2 q.raw >/dev/null 2>&1; qc=$?
    timeout 30 "$T" convert -O raw m.qcow2 t.raw >/dev/null 2>&1; tc=$?
    if [ $qc = 0 ] && [ $tc = 0 ]; then
        nboth=$((nboth + 1))
        cmp -s q.raw t.raw || { conv_bad=$((conv_bad + 1)); echo "seed $s ($src): convert reads other data than qemu-img"; }
    fi
    if [ $t = 3 ]; then
        cp m.qcow2 r.qcow2
        "$T" check -r leaks r.qcow2 >/dev/null 2>&1; r=$?
        qemu-img check r.qcow2 >/dev/null 2>&1; rq=$?
        [ "$r$rq" = 00 ] || { leak_bad=$((leak_bad + 1)); echo "seed $s ($src): check -r leaks ended $r, then qemu-img check $rq"; }
    fi
    if [ $t = 2 ]; then
        cp m.qcow2 r.qcow2
        "$T" check -r all r.qcow2 >/dev/null 2>&1; r=$?
        qemu-img check r.qcow2 >/dev/null 2>&1; rq=$?
        [ $r = $rq ] || { all_bad=$((all_bad + 1)); echo "seed $s ($src): check -r all ended $r, qemu-img check then says $rq"; }
    fi
    s=$((s + 1))
done
echo "corpus: $N images; qemu-img check: $nclean clean, $ncorrupt corrupt, $nleak leaks only, $nfail not checkable; $nboth converted by both"
pass=0; fail=0
res() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok $1"; else fail=$((fail + 1)); echo "not ok $1 ($2 images)"; fi; }
res check_exit_codes_match_qemu_img $check_bad
res convert_reads_what_qemu_img_reads $conv_bad
res repair_leaks_leaves_image_clean $leak_bad
res repair_all_reports_what_qemu_img_sees $all_bad
echo "qcow2diff: $pass passed, $fail failed"
[ $fail -eq 0 ]
