#!/bin/sh
# Disk images against Debian's qemu-img: images QEMU makes read right through
# tremu's block layer, images tremu writes pass `qemu-img check` and read back
# identically in QEMU, kill -9 mid-write leaves no corruption, commit/rebase
# round trips, and a backing file is never written.
# Ends with `block: N passed, N failed[, N skipped]`.
cd "$(dirname "$0")/../.." || exit 1
T=$PWD/tools/tremu-img
TR=$PWD/tremu
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

ok()   { pass=$((pass + 1)); echo "ok $1"; }
bad()  { fail=$((fail + 1)); echo "not ok $1${2:+ ($2)}"; }
skp()  { skip=$((skip + 1)); echo "skip $1 ($2)"; }
# t NAME CMD...: passes when CMD succeeds
t() { n=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$n"; else bad "$n" "$(tail -n 3 "$tmp/log" | tr '\n' ' ')"; fi; }
# same_content NAME IMG: tremu and QEMU read the same bytes from IMG
same_content() {
    qemu-img convert -O raw "$2" "$tmp/q.raw" && "$T" convert -O raw "$2" "$tmp/t.raw" &&
        cmp -s "$tmp/q.raw" "$tmp/t.raw"
}
qcheck() { qemu-img check "$1" >"$tmp/qcheck.log" 2>&1; }   # rc 0 clean, 3 leaks, 2 corrupt

if [ ! -x "$T" ]; then
    echo "block: 0 passed, 1 failed (tools/tremu-img not built)"; exit 1
fi
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    skp qemu_interop "qemu-img/qemu-io not installed"
    echo "block: $pass passed, $fail failed, $skip skipped"; exit 0
fi

head -c 6M /dev/urandom > base.raw
sha256sum base.raw > base.sum

# --- images made by QEMU, read by tremu ---------------------------------------
qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw v2.qcow2 8M
qemu-io -c "write -P 0x55 100k 300k" -c "write -z 2M 1M" -c "write -P 9 7M 1M" v2.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=4096 -b v2.qcow2 -F qcow2 v3.qcow2
qemu-io -c "write -P 0x66 1M 64k" -c "write -z 3M 128k" -c "write -P 7 8000k 192k" \
    -c "discard 5M 64k" v3.qcow2 >/dev/null
t qemu_v2_over_raw_reads_same     same_content x v2.qcow2
t qemu_v3_chain_reads_same        same_content x v3.qcow2
qemu-img convert -c -O qcow2 v3.qcow2 comp.qcow2
t qemu_compressed_reads_same      same_content x comp.qcow2
qemu-img convert -O qcow2 -o cluster_size=2M v3.qcow2 big.qcow2
t qemu_2M_clusters_reads_same     same_content x big.qcow2
qemu-img convert -O qcow2 -o cluster_size=512 v3.qcow2 small.qcow2
t qemu_512_clusters_reads_same    same_content x small.qcow2
t tremu_check_clean_on_qemu_image "$T" check v3.qcow2

# --- images tremu writes, read and checked by QEMU -----------------------------
cp v3.qcow2 w3.qcow2; cp v2.qcow2 w2.qcow2; cp comp.qcow2 wc.qcow2
for img in w3.qcow2 w2.qcow2 wc.qcow2 small.qcow2; do
    "$T" write $img 12345 70000 0x77 && "$T" write $img 2097664 512 0x78 &&
        "$T" write $img 3145728 196608 -1 && "$T" write $img 0 4096 0x79 || bad "write_$img"
done
for img in w3.qcow2 w2.qcow2 wc.qcow2 small.qcow2; do
    t "qemu_check_after_tremu_writes_$img" qcheck $img
    t "qemu_reads_tremu_writes_$img"      same_content x $img
done
qemu-img convert -O raw w3.qcow2 expect.raw
printf 'w' | dd of=expect.raw bs=1 seek=0 conv=notrunc 2>/dev/null
"$T" write w3.qcow2 0 1 0x77
qemu-img convert -O raw w3.qcow2 got.raw
t byte_write_seen_by_qemu         cmp -s expect.raw got.raw
t base_unchanged_after_overlay_writes sha256sum -c --quiet base.sum

"$T" create -q -f qcow2 new.qcow2 64M
"$T" write new.qcow2 1000 300000 0x41
"$T" write new.qcow2 60000000 65536 0x42
t tremu_created_image_clean_for_qemu qcheck new.qcow2
t tremu_created_image_reads_same     same_content x new.qcow2
"$T" create -q -f qcow2 -o compat=0.10,cluster_size=512 old.qcow2 20M
i=0; while [ $i -lt 12 ]; do "$T" write old.qcow2 $((i * 1500000)) 300000 $((i + 1)); i=$((i + 1)); done
t v2_512_refcount_growth_clean_for_qemu qcheck old.qcow2
t v2_512_refcount_growth_reads_same     same_content x old.qcow2

# --- create / info -------------------------------------------------------------
"$T" create -q -f qcow2 -b base.raw -F raw sized.qcow2
t create_size_from_backing sh -c "qemu-img info --output=json sized.qcow2 | grep -q '\"virtual-size\": 6291456'"
t info_human sh -c "'$T' info sized.qcow2 | grep -q '^backing file: base.raw' && '$T' info sized.qcow2 | grep -q 'virtual size: 6 MiB (6291456 bytes)'"
tj() { if command -v python3 >/dev/null; then t "$@"; else skp "$1" "no python3"; fi; }
tj info_json sh -c "'$T' info --output=json sized.qcow2 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"format\"]==\"qcow2\" and d[\"virtual-size\"]==6291456 and d[\"backing-filename\"]==\"base.raw\" and d[\"cluster-size\"]==65536 and d[\"dirty-flag\"] is False'"
mkdir -p sub && "$T" create -q -f qcow2 -b ../sized.qcow2 -F qcow2 sub/deep.qcow2
t info_backing_chain_relative sh -c "'$T' info --backing-chain sub/deep.qcow2 | grep -q '^image: sub/../base.raw'"
t relative_backing_reads_same same_content x sub/deep.qcow2
t info_matches_qemu sh -c "qemu-img info sized.qcow2 | grep -q 'backing file format: raw'"
t create_raw sh -c "'$T' create -q -f raw r.img 3M && [ \$(stat -c %s r.img) = 3145728 ]"
"$T" create -f qcow2 bad.qcow2 12Q >/dev/null 2>err.txt; rc=$?
t create_bad_size_is_error sh -c "[ $rc -ne 0 ] && grep -q 'Invalid image size' err.txt"
"$T" info /nonexistent/x.qcow2 >/dev/null 2>err.txt; rc=$?
t info_missing_file_is_error sh -c "[ $rc -ne 0 ] && grep -q '/nonexistent/x.qcow2' err.txt"

# --- snapshot=on: a temporary overlay, the image never written ------------------
mkdir -p snaptmp
cp v3.qcow2 sn.qcow2; sha256sum sn.qcow2 base.raw > sn.sum
TMPDIR=$tmp/snaptmp "$T" write -s sn.qcow2 0 300000 0x21 && TMPDIR=$tmp/snaptmp "$T" write -s base.raw 0 4096 0x22
t snapshot_writes_readable_and_image_untouched sha256sum -c --quiet sn.sum
t snapshot_overlay_unlinked sh -c "[ -z \"\$(ls -A snaptmp)\" ]"

# --- convert -------------------------------------------------------------------
"$T" convert -O qcow2 got.raw conv.qcow2
t convert_raw_to_qcow2_identical qemu-img compare -q got.raw conv.qcow2
t convert_qcow2_clean          qcheck conv.qcow2
t compare_identical "$T" compare got.raw conv.qcow2
"$T" write conv.qcow2 777 1 0x5a
"$T" compare got.raw conv.qcow2 >out.txt; rc=$?
t compare_mismatch sh -c "[ $rc = 1 ] && grep -q 'Content mismatch at offset 777!' out.txt"
head -c 1M /dev/urandom > part.raw; truncate -s 200M part.raw
"$T" convert -O qcow2 part.raw sparse.qcow2
t convert_is_sparse sh -c "[ \$(du -k sparse.qcow2 | cut -f1) -lt 4096 ]"
"$T" convert -O raw sparse.qcow2 back.raw
t convert_round_trip cmp -s part.raw back.raw

# --- check: exit codes and repair like qemu-img ----------------------------------
"$T" create -q -f qcow2 leak.qcow2 1M
# refcount block is cluster 2 in a fresh image: give unused cluster 7 (inside
# the file, which QEMU requires to call it a leak) a refcount
truncate -s 1M leak.qcow2
printf '\000\001' | dd of=leak.qcow2 bs=1 seek=$((0x20000 + 14)) conv=notrunc 2>/dev/null
"$T" check leak.qcow2 >out.txt; rc=$?
qemu-img check leak.qcow2 >/dev/null 2>&1; qrc=$?
tj check_json sh -c "'$T' check --output=json leak.qcow2 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"leaks\"]==1 and d[\"format\"]==\"qcow2\"'"
t check_leak_exit_3 sh -c "[ $rc = 3 ] && [ $qrc = 3 ] && grep -q 'Leaked cluster 7 refcount=1 reference=0' out.txt"
"$T" check -r leaks leak.qcow2 >out.txt; rc=$?
t check_repair_leaks sh -c "[ $rc = 0 ] && grep -q 'Repairing cluster 7' out.txt && qemu-img check leak.qcow2 >/dev/null"
"$T" create -q -f qcow2 corrupt.qcow2 1M
"$T" write corrupt.qcow2 0 512 1
# the data cluster's refcount (cluster 5: after L1 and the new L2) drops to 0
printf '\000\000' | dd of=corrupt.qcow2 bs=1 seek=$((0x20000 + 10)) conv=notrunc 2>/dev/null
"$T" check corrupt.qcow2 >out.txt; rc=$?
qemu-img check corrupt.qcow2 >/dev/null 2>&1; qrc=$?
t check_corruption_exit_2 sh -c "[ $rc = 2 ] && [ $qrc = 2 ]"
"$T" check -r all corrupt.qcow2 >out.txt; rc=$?
t check_repair_all sh -c "[ $rc = 0 ] && qemu-img check corrupt.qcow2 >/dev/null"
"$T" check base.raw >/dev/null 2>&1; rc=$?
t check_raw_unsupported_63 [ $rc = 63 ]
# dirty bit (left by QEMU's lazy refcounts): refused read-write until repaired
"$T" create -q -f qcow2 dirty.qcow2 1M
printf '\001' | dd of=dirty.qcow2 bs=1 seek=79 conv=notrunc 2>/dev/null
"$T" write dirty.qcow2 0 512 1 2>err.txt; rc=$?
t dirty_refused_rw sh -c "[ $rc -ne 0 ] && grep -q 'check -r all' err.txt"
"$T" check -r all dirty.qcow2 >/dev/null
t dirty_cleared_by_repair sh -c "'$T' write dirty.qcow2 0 512 1 && ! qemu-img info --output=json dirty.qcow2 | grep -q 'dirty-flag.: true'"

# --- other refcount widths, internal snapshots, QEMU's lazy refcounts ------------
for rb in 1 8 64; do
    qemu-img create -q -f qcow2 -o refcount_bits=$rb rc$rb.qcow2 32M
    qemu-io -c "write -P 1 0 1M" rc$rb.qcow2 >/dev/null
    "$T" write rc$rb.qcow2 500000 3000000 7 && "$T" write rc$rb.qcow2 0 65536 -1
    t "refcount_bits_${rb}_clean_for_qemu" qcheck rc$rb.qcow2
    t "refcount_bits_${rb}_reads_same" same_content x rc$rb.qcow2
done
qemu-img create -q -f qcow2 snap.qcow2 8M
qemu-io -c "write -P 1 0 1M" snap.qcow2 >/dev/null
qemu-img snapshot -c s1 snap.qcow2
qemu-io -c "write -P 2 0 64k" snap.qcow2 >/dev/null
t internal_snapshots_check_clean "$T" check snap.qcow2
t internal_snapshots_read_same   same_content x snap.qcow2
"$T" write snap.qcow2 0 512 1 2>err.txt; rc=$?
t internal_snapshots_refused_rw sh -c "[ $rc -ne 0 ] && grep -q 'internal snapshots' err.txt"
qemu-img create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 32M
qemu-io -c "write -P 3 0 4M" -c "sigraise 9" lazy.qcow2 >/dev/null 2>&1
cp lazy.qcow2 lazy-q.qcow2
"$T" check lazy.qcow2 >/dev/null; rc=$?
qemu-img check lazy.qcow2 >/dev/null 2>&1; qrc=$?
t lazy_dirty_check_agrees_with_qemu sh -c "[ $rc = 2 ] && [ $qrc = 2 ]"
"$T" check -r all lazy.qcow2 >/dev/null; rc=$?
qemu-img check -r all lazy-q.qcow2 >/dev/null 2>&1
t lazy_dirty_repaired sh -c "[ $rc = 0 ] && qemu-img check lazy.qcow2 >/dev/null && ! qemu-img info --output=json lazy.qcow2 | grep -q 'dirty-flag.: true'"
qemu-img convert -O raw lazy-q.qcow2 lq.raw
t lazy_dirty_repaired_reads_same sh -c "'$T' convert -O raw lazy.qcow2 lt.raw && cmp -s lq.raw lt.raw"

# --- crash safety: kill -9 during writes --------------------------------------
"$T" create -q -f qcow2 -o cluster_size=4096 -b base.raw -F raw crash.qcow2 32M
crash_bad=0; i=0
while [ $i -lt 20 ]; do
    "$T" crash-writer crash.qcow2 $i >/dev/null 2>&1 &
    pid=$!
    sleep 0.$(( (i * 37) % 9 + 1 ))
    kill -9 $pid; wait $pid 2>/dev/null
    qemu-img check crash.qcow2 >crash.log 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        crash_bad=$((crash_bad + 1)); cp crash.qcow2 "crash-fail-$i.qcow2"; tail -n 5 crash.log
    fi
    "$T" check crash.qcow2 >/dev/null 2>&1; trc=$?
    [ $trc -ne $rc ] && { crash_bad=$((crash_bad + 1)); echo "tremu-img check $trc, qemu-img $rc"; }
    i=$((i + 1))
done
t kill9_20_times_no_corruption [ $crash_bad = 0 ]
t kill9_base_unchanged sha256sum -c --quiet base.sum
"$T" check -r leaks crash.qcow2 >/dev/null
t kill9_leaks_repaired qcheck crash.qcow2

# --- image locks, compatible with QEMU's -----------------------------------------
"$T" create -q -f qcow2 -b base.raw -F raw lk.qcow2
"$T" crash-writer lk.qcow2 1 >lk.out 2>&1 &
lpid=$!
n=0; while [ ! -s lk.out ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
"$T" write lk.qcow2 0 512 1 2>err.txt; rc=$?
t lock_second_writer_refused sh -c "[ $rc -ne 0 ] && grep -q 'Failed to get \"write\" lock' err.txt"
qemu-img info lk.qcow2 >/dev/null 2>err.txt; rc=$?
t lock_seen_by_qemu sh -c "[ $rc -ne 0 ] && grep -q 'lock' err.txt"
qemu-img info base.raw >/dev/null 2>err.txt; rc=$?
t lock_backing_shared_with_qemu_reader [ $rc = 0 ]
qemu-io -c "write 0 512" base.raw >/dev/null 2>err.txt; rc=$?
t lock_backing_not_writable_by_qemu sh -c "grep -q 'lock' err.txt"
t lock_info_U_works sh -c "'$T' info -U lk.qcow2 | grep -q 'file format: qcow2'"
kill -9 $lpid; wait $lpid 2>/dev/null
t lock_released_on_kill "$T" write lk.qcow2 0 512 1
if command -v qemu-system-x86_64 >/dev/null; then
    timeout 90 qemu-system-x86_64 -S -display none -monitor none -serial none \
        -drive file=lk.qcow2,if=virtio >/dev/null 2>&1 &
    qpid=$!
    ino=$(stat -c %i lk.qcow2)
    # QEMU takes its locks once started (slow on a loaded host: wait up to 60 s).
    n=0; while ! grep -q ":$ino 10[01] " /proc/locks && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
    "$T" write lk.qcow2 0 512 1 2>err.txt; rc=$?
    t lock_qemu_vm_keeps_tremu_out sh -c "[ $rc -ne 0 ] && grep -q 'lock' err.txt"
    kill $qpid; wait $qpid 2>/dev/null
else
    skp lock_qemu_vm_keeps_tremu_out "no qemu-system-x86_64"
fi

# --- never lose an image: refusals come before any change --------------------------
# refused NAME FILE CMD...: CMD fails with a message and FILE keeps its bytes
refused() {
    n=$1; f=$2; shift 2
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    "$@" >out.txt 2>err.txt; rc=$?
    if [ $rc -ne 0 ] && [ -s err.txt ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sum" ]; then
        ok "$n"
    else
        bad "$n" "rc=$rc $(tail -n 2 err.txt | tr '\n' ' ')"
    fi
}
head -c 2M /dev/urandom > own.raw
refused convert_same_file_refused own.raw "$T" convert -O raw own.raw own.raw
t convert_same_file_says_why grep -q 'same file as the source' err.txt
refused convert_same_file_qcow2_out_refused own.raw "$T" convert -O qcow2 own.raw own.raw
ln own.raw own-link.raw; ln -s own.raw own-sym.raw
refused convert_hard_link_refused own.raw "$T" convert -O raw own.raw own-link.raw
refused convert_symlink_U_refused own.raw "$T" convert -U -O raw own.raw own-sym.raw
"$T" create -q -f qcow2 -b own.raw -F raw own-ov.qcow2 && "$T" write own-ov.qcow2 0 4096 3
refused convert_into_own_backing_refused own.raw "$T" convert -O raw own-ov.qcow2 own.raw
t convert_into_backing_says_why grep -q 'backing file of the source' err.txt
refused convert_onto_overlay_refused own-ov.qcow2 "$T" convert -O qcow2 own-ov.qcow2 own-ov.qcow2
refused create_own_backing_refused own-ov.qcow2 "$T" create -q -f qcow2 -b own-ov.qcow2 -F qcow2 own-ov.qcow2
refused create_over_own_backing_refused own.raw "$T" create -q -f qcow2 -b own-ov.qcow2 -F qcow2 own.raw
refused rebase_onto_itself_refused own-ov.qcow2 "$T" rebase -u -b own-ov.qcow2 -F qcow2 own-ov.qcow2
cp own.raw own2.raw
"$T" convert -n -O raw own-ov.qcow2 own2.raw
timeout 60 qemu-img convert -O raw own-ov.qcow2 own-exp.raw
t convert_n_overwrites_existing cmp -s own2.raw own-exp.raw

# the two commands of the report, against an image a running emulator holds
# hold_and_try HOLDER: starts HOLDER on held.qcow2, waits for its write lock
held_ino() { stat -c %i held.qcow2; }
wait_lock() {
    n=0; while ! grep -q ":$(held_ino) 10[01] " /proc/locks && [ $n -lt 100 ]; do
        sleep 0.1; n=$((n + 1)); done
    grep -q ":$(held_ino) 10[01] " /proc/locks
}
in_use_tests() {
    who=$1
    refused "create_over_image_in_use_by_${who}_refused" held.qcow2 \
        "$T" create -q -f qcow2 held.qcow2 1G
    t "create_in_use_says_lock_$who" grep -q 'Failed to get "write" lock' err.txt
    refused "create_raw_over_image_in_use_by_${who}_refused" held.qcow2 \
        "$T" create -q -f raw held.qcow2 1M
    refused "convert_onto_image_in_use_by_${who}_refused" held.qcow2 \
        "$T" convert -O qcow2 own.raw held.qcow2
    refused "convert_onto_backing_in_use_by_${who}_refused" held-base.raw \
        "$T" convert -O raw own.raw held-base.raw
    refused "create_over_backing_in_use_by_${who}_refused" held-base.raw \
        "$T" create -q -f raw held-base.raw 1M
    refused "commit_of_image_in_use_by_${who}_refused" held-base.raw "$T" commit held.qcow2
}
head -c 1M /dev/urandom > held-base.raw
"$T" create -q -f qcow2 -b held-base.raw -F raw held.qcow2 && "$T" write held.qcow2 4096 8192 9
# a firmware that waits forever (sti; hlt; jmp): the machine idles with its disk open
head -c 65536 /dev/zero > idle.bin
printf '\373\364\353\374' | dd of=idle.bin bs=1 seek=$((0xfff0)) conv=notrunc 2>/dev/null
if [ -x "$TR" ]; then
    "$TR" -accel tcg -bios idle.bin -display none -nodefaults -drive file=held.qcow2,if=virtio \
        >tr.log 2>&1 &
    hpid=$!
    if wait_lock; then
        in_use_tests tremu
    else
        bad tremu_holds_image_lock "$(tail -n 2 tr.log | tr '\n' ' ')"
    fi
    kill $hpid; wait $hpid 2>/dev/null
else
    skp in_use_by_tremu "./tremu not built"
fi
if command -v qemu-system-x86_64 >/dev/null; then
    timeout 60 qemu-system-x86_64 -S -display none -monitor none -serial none -nodefaults \
        -drive file=held.qcow2,if=virtio >/dev/null 2>&1 &
    qpid=$!
    if wait_lock; then
        in_use_tests qemu
    else
        skp in_use_by_qemu "qemu-system-x86_64 did not start"
    fi
    kill $qpid; wait $qpid 2>/dev/null
else
    skp in_use_by_qemu "no qemu-system-x86_64"
fi
# and QEMU's tools keep off an image tremu-img is creating or holds
t create_after_holders_gone "$T" create -q -f qcow2 held2.qcow2 1M

# --- commit --------------------------------------------------------------------
cp base.raw cbase.raw
"$T" create -q -f qcow2 -b cbase.raw -F raw cov.qcow2
"$T" write cov.qcow2 4096 100000 0x31 && "$T" write cov.qcow2 1048576 65536 -1
qemu-img convert -O raw cov.qcow2 cexpect.raw
"$T" commit cov.qcow2 >out.txt
t commit_message grep -q 'Image committed.' out.txt
t commit_base_has_overlay_data cmp -s cbase.raw cexpect.raw
t commit_overlay_emptied sh -c "qemu-img map --output=json cov.qcow2 | grep -q '\"data\": true, \"offset\": 0' || [ \$(qemu-img check cov.qcow2 | grep -c 'No errors') = 1 ]"
t commit_overlay_still_reads same_content x cov.qcow2
cp base.raw cbase2.raw
qemu-img create -q -f qcow2 -b cbase2.raw -F raw cov2.qcow2
qemu-io -c "write -P 0x44 3M 70k" cov2.qcow2 >/dev/null
qemu-img convert -O raw cov2.qcow2 c2expect.raw
"$T" commit cov2.qcow2 >/dev/null
t commit_qemu_overlay cmp -s cbase2.raw c2expect.raw

# --- commit is crash-safe: killed at many points ------------------------------
# The base gets the data first, the overlay drops its clusters last, in place
# (L1 entries cleared, synced, then refcounts). Killed while copying (SIGKILL
# after N pieces) or while emptying (the overlay's N-th write stopped as a
# kill would), the overlay passes qemu-img check (leaks at most) and the
# chain reads what it read before; a commit run again then completes.
head -c 8M /dev/urandom > kc-base0.raw
cp kc-base0.raw kc-base.raw
"$T" create -q -f qcow2 -o cluster_size=4096 -b kc-base.raw -F raw kc0.qcow2
qemu-io -c "write -P 0x61 0 3M" -c "write -P 0x62 4M 3M" -c "write -z 7M 64k" kc0.qcow2 >/dev/null 2>&1 ||
    bad commit_kill_setup
qemu-img convert -O raw kc0.qcow2 kc-expect.raw
kc_bad=0; kc_n=0
for point in copy:0 copy:1 copy:3 copy:5 empty:1 empty:2 empty:5 empty:40 empty:300 empty:1000; do
    cp kc-base0.raw kc-base.raw; cp kc0.qcow2 kc.qcow2
    TREMU_IMG_CRASH=$point "$T" commit kc.qcow2 >/dev/null 2>&1
    kc_n=$((kc_n + 1))
    qemu-img check kc.qcow2 >kc.log 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        kc_bad=$((kc_bad + 1)); echo "commit killed at $point: qemu-img check $rc"; tail -n 3 kc.log
    fi
    qemu-img convert -O raw kc.qcow2 kc-got.raw
    cmp -s kc-expect.raw kc-got.raw || { kc_bad=$((kc_bad + 1)); echo "commit killed at $point: the chain reads other data"; }
    "$T" commit kc.qcow2 >/dev/null 2>&1 && cmp -s kc-base.raw kc-expect.raw &&
        { qcheck kc.qcow2; qrc=$?; [ $qrc = 0 ] || [ $qrc = 3 ]; } ||
        { kc_bad=$((kc_bad + 1)); echo "commit killed at $point: commit again did not complete"; }
done
t "commit_killed_at_${kc_n}_points_chain_intact" [ $kc_bad = 0 ]

# --- rebase --------------------------------------------------------------------
qemu-img convert -O raw v3.qcow2 before.raw
cp v2.qcow2 v2-moved.qcow2; cp v3.qcow2 rb.qcow2
"$T" rebase -u -b v2-moved.qcow2 -F qcow2 rb.qcow2
qemu-img convert -O raw rb.qcow2 after.raw
t rebase_unsafe_same_content cmp -s before.raw after.raw
t rebase_unsafe_header sh -c "qemu-img info rb.qcow2 | grep -q 'backing file: v2-moved.qcow2'"
t rebase_unsafe_clean qcheck rb.qcow2
# safe rebase onto a different backing keeps what the guest sees
head -c 6M /dev/urandom > other.raw
cp v3.qcow2 rs.qcow2
"$T" rebase -b other.raw -F raw rs.qcow2
qemu-img convert -O raw rs.qcow2 after2.raw
t rebase_safe_same_content cmp -s before.raw after2.raw
t rebase_safe_clean qcheck rs.qcow2
cp v3.qcow2 rn.qcow2
"$T" rebase -b "" rn.qcow2
qemu-img convert -O raw rn.qcow2 after3.raw
t rebase_remove_backing sh -c "cmp -s before.raw after3.raw && ! qemu-img info rn.qcow2 | grep -q 'backing file'"

# --- hostile images: refused with a message, never a crash ----------------------
"$T" create -q -f qcow2 h.qcow2 1M
cp h.qcow2 h1.qcow2; printf '\377\377\377\377' | dd of=h1.qcow2 bs=1 seek=36 conv=notrunc 2>/dev/null
"$T" info h1.qcow2 >/dev/null 2>err.txt; rc=$?
t hostile_l1_size sh -c "[ $rc = 1 ] && grep -q 'L1 table' err.txt"
cp h.qcow2 h2.qcow2; printf '\000\000\000\077' | dd of=h2.qcow2 bs=1 seek=20 conv=notrunc 2>/dev/null
"$T" info h2.qcow2 >/dev/null 2>err.txt; rc=$?
t hostile_cluster_bits sh -c "[ $rc = 1 ] && grep -q 'cluster size' err.txt"
head -c 100 h.qcow2 > h3.qcow2
"$T" info h3.qcow2 >/dev/null 2>err.txt; rc=$?
t hostile_truncated sh -c "[ $rc = 1 ] && grep -q 'truncated' err.txt"
# random garbage after a valid magic and version: any outcome but a crash
i=0; crashes=0
while [ $i -lt 30 ]; do
    { printf 'QFI\373\000\000\000\003'; head -c 4088 /dev/urandom; } > fz.qcow2
    head -c 65536 /dev/urandom >> fz.qcow2
    timeout 10 "$T" convert -f qcow2 -O raw fz.qcow2 fz.raw >/dev/null 2>&1; rc=$?
    [ $rc -gt 1 ] && crashes=$((crashes + 1))
    timeout 10 "$T" check fz.qcow2 >/dev/null 2>&1; rc=$?
    [ $rc -gt 3 ] && crashes=$((crashes + 1))
    i=$((i + 1))
done
t hostile_fuzz_no_crash [ $crashes = 0 ]

if [ $skip -gt 0 ]; then
    echo "block: $pass passed, $fail failed, $skip skipped"
else
    echo "block: $pass passed, $fail failed"
fi
[ $fail -eq 0 ]
