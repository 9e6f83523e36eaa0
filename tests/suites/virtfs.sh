#!/bin/sh
# virtio-9p from the guest's side: Debian's kernel mounts the course's
# shared folder (-fsdev local,... -device virtio-9p-pci,...,mount_tag=shared)
# with mount -t 9p -o trans=virtio,version=9p2000.L and reads, writes,
# creates, renames, deletes, chmods, symlinks, lists, statfs's, makes FIFOs in
# it; the host sees every change. A second boot (a small static helper,
# tests/guest/p9lockx.c, since busybox has no flock or xattr applets) checks
# that POSIX locks are host locks both ways and user xattrs reach the host.
# The 9p modules come from the guest
# kernel's package (tests/guest/mk9pmods.sh, cached).
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
C=${CACHE:-$HOME/.cache/tremu}
G=$C/guest
pass=0; fail=0
tmp=$(mktemp -d); lpid=
trap '[ -n "$lpid" ] && kill $lpid 2>/dev/null; rm -rf "$tmp"' EXIT
ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1 ($2)"; }
skipall() { echo "skip virtfs guest tests: $1"; echo "virtfs: $pass passed, $fail failed, 1 skipped"; exit 0; }

# Command-line errors need no guest.
timeout 10 $T -display none -fsdev local,id=f0,path=/nonexistent/dir,security_model=none \
    -device virtio-9p-pci,fsdev=f0,mount_tag=shared -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "/nonexistent/dir" "$tmp/e" && ok fsdev_missing_path || notok fsdev_missing_path "$(cat "$tmp/e")"
timeout 10 $T -display none -fsdev local,id=f0,path=/tmp -device virtio-9p-pci,fsdev=f0,mount_tag=s \
    -kernel /etc/hostname >/dev/null 2>"$tmp/e" </dev/null
grep -q "security_model" "$tmp/e" && ok fsdev_needs_security_model || notok fsdev_needs_security_model "$(cat "$tmp/e")"
timeout 10 $T -display none -device virtio-9p-pci,fsdev=nope,mount_tag=s -kernel /etc/hostname \
    >/dev/null 2>"$tmp/e" </dev/null
grep -q "fsdev with the given id does not exist" "$tmp/e" && ok device_unknown_fsdev || notok device_unknown_fsdev "$(cat "$tmp/e")"

[ -s "$G/vmlinuz" ] && [ -s "$G/STAMP" ] || skipall "no guest in $G (make guest)"
sh tests/guest/mk9pmods.sh "$G" "$C/issue12-9p" >"$tmp/mk" 2>&1 || skipall "cannot get the 9p modules: $(tail -n 2 "$tmp/mk")"
cat "$G/initramfs.cpio.gz" "$C/issue12-9p/9pmods.cpio.gz" > "$tmp/initrd"

mkdir "$tmp/shared"
echo "hello from host" > "$tmp/shared/hostfile"
mkdir "$tmp/shared/dir"
echo old > "$tmp/shared/dir/renameme"
echo "host secret" > "$tmp/secret"
CMD='/lib/9p/load
mount -t 9p -o trans=virtio,version=9p2000.L shared /mnt || exit 9
cat /mnt/hostfile
echo written-by-guest > /mnt/guestfile
mkdir /mnt/newdir && echo x > /mnt/newdir/f
mv /mnt/dir/renameme /mnt/renamed
chmod 640 /mnt/renamed
ln -s hostfile /mnt/link && echo "LINK=$(readlink /mnt/link):$(cat /mnt/link)"
rm /mnt/newdir/f && rmdir /mnt/newdir
echo "LS=$(ls /mnt | tr "\n" " ")"
df /mnt | tail -n 1 | awk "{print \"DF=\" \$2}"
mkfifo /mnt/fifo && echo FIFO-MADE
mknod /mnt/nulldev c 1 3 2>/dev/null || echo MKNOD-REFUSED
cat /mnt/../../secret 2>/dev/null; ls /mnt/.. >/dev/null
dd if=/dev/zero of=/mnt/big bs=65536 count=64 2>/dev/null; sync; echo "BIG=$(wc -c < /mnt/big)"
umount /mnt && echo UMOUNTED
echo HVC-OK > /dev/hvc0'
timeout 300 $T -m 256 -nographic -no-reboot -monitor /dev/null \
    -fsdev local,id=fsdev0,path="$tmp/shared",security_model=none \
    -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared \
    -device virtio-serial-pci -chardev file,id=con0,path="$tmp/hvc.out" \
    -device virtconsole,chardev=con0 \
    -kernel "$G/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD" | base64 -w0)" \
    >"$tmp/con" 2>"$tmp/err" </dev/null; rc=$?
con() { grep -q -- "$1" "$tmp/con"; }
con '^hello from host' && ok guest_reads_host_file || notok guest_reads_host_file "$(tail -c 400 "$tmp/con")"
[ "$(cat "$tmp/shared/guestfile" 2>/dev/null)" = written-by-guest ] && ok host_sees_guest_file || notok host_sees_guest_file "$(ls -la "$tmp/shared")"
[ -f "$tmp/shared/renamed" ] && [ ! -e "$tmp/shared/dir/renameme" ] && ok rename || notok rename "$(ls -la "$tmp/shared")"
[ "$(stat -c %a "$tmp/shared/renamed" 2>/dev/null)" = 640 ] && ok chmod || notok chmod "$(stat -c %a "$tmp/shared/renamed" 2>&1)"
[ "$(readlink "$tmp/shared/link")" = hostfile ] && con '^LINK=hostfile:hello from host' && ok symlink || notok symlink "$(grep LINK "$tmp/con")"
[ ! -e "$tmp/shared/newdir" ] && ok mkdir_rmdir || notok mkdir_rmdir "$(ls -la "$tmp/shared")"
con '^LS=.*guestfile.*hostfile' && ok readdir || notok readdir "$(grep LS= "$tmp/con")"
con '^DF=[1-9]' && ok statfs || notok statfs "$(grep DF= "$tmp/con")"
con '^FIFO-MADE' && [ -p "$tmp/shared/fifo" ] && ok mkfifo || notok mkfifo "$(tail -c 300 "$tmp/con")"
con '^MKNOD-REFUSED' && [ ! -e "$tmp/shared/nulldev" ] && ok mknod_device_refused || notok mknod_device_refused "$(ls -la "$tmp/shared")"
! con 'host secret' && ok no_escape_by_dotdot || notok no_escape_by_dotdot "secret read"
con '^BIG=4194304' && [ "$(stat -c %s "$tmp/shared/big")" = 4194304 ] && ok big_write || notok big_write "$(grep BIG "$tmp/con")"
grep -q HVC-OK "$tmp/hvc.out" 2>/dev/null && ok virtconsole_chardev || notok virtconsole_chardev "$(head -c 200 "$tmp/hvc.out" 2>&1)"
[ $rc -eq 0 ] && con '^UMOUNTED' && con 'TREMU-CMD-EXIT=0' && ok umount_poweroff || notok umount_poweroff "exit $rc: $(tail -c 300 "$tmp/con") $(tail -c 200 "$tmp/err")"

# ---- locks and xattrs (needs a static C library for the helper) ----
if ! cc -static -O2 -o "$tmp/p9lockx" tests/guest/p9lockx.c >"$tmp/cc" 2>&1; then
    echo "skip locks/xattrs in the guest: cannot link a static helper ($(tail -n 1 "$tmp/cc"))"
    echo "virtfs: $pass passed, $fail failed, 1 skipped"
    [ $fail -eq 0 ]; exit
fi
mkdir -p "$tmp/x/opt" && cp "$tmp/p9lockx" "$tmp/x/opt/"
(cd "$tmp/x" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$tmp/x.cpio.gz"
cat "$tmp/initrd" "$tmp/x.cpio.gz" > "$tmp/initrd2"
rm -rf "$tmp/shared2"; mkdir "$tmp/shared2"
echo data > "$tmp/shared2/hostfile"; : > "$tmp/shared2/hostlocked"
# the host holds a POSIX lock on hostlocked for the whole boot
python3 -c 'import fcntl,sys,time; f=open(sys.argv[1],"r+"); fcntl.lockf(f,fcntl.LOCK_EX); open(sys.argv[2],"w").close(); time.sleep(900)' \
    "$tmp/shared2/hostlocked" "$tmp/held" & lpid=$!
i=0; while [ ! -e "$tmp/held" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
CMD2='/lib/9p/load
mount -t 9p -o trans=virtio,version=9p2000.L shared /mnt || exit 9
/opt/p9lockx xset /mnt/hostfile user.course lab1
/opt/p9lockx xget /mnt/hostfile user.course
/opt/p9lockx xset /mnt/hostfile trusted.evil x
/opt/p9lockx try /mnt/hostlocked
/opt/p9lockx lock /mnt/guestlocked /mnt/release
umount /mnt'
$T -m 256 -nographic -no-reboot -monitor /dev/null \
    -fsdev local,id=fsdev0,path="$tmp/shared2",security_model=none \
    -device virtio-9p-pci,fsdev=fsdev0,mount_tag=shared \
    -kernel "$G/vmlinuz" -initrd "$tmp/initrd2" \
    -append "console=ttyS0 quiet panic=-1 tremu.cmd64=$(printf '%s' "$CMD2" | base64 -w0)" \
    >"$tmp/con2" 2>"$tmp/err2" </dev/null & qpid=$!
i=0; while ! grep -qs -E '^LOCK-(OK|BUSY)' "$tmp/con2" && kill -0 $qpid 2>/dev/null && [ $i -lt 3000 ]; do
    sleep 0.1; i=$((i + 1))
done
# while the guest holds its lock, a host process cannot take it
python3 -c 'import fcntl,sys
f=open(sys.argv[1],"r+")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print("HOST-GOT-IT")
except OSError: print("HOST-BLOCKED")' "$tmp/shared2/guestlocked" >"$tmp/hostlock" 2>&1
: > "$tmp/shared2/release"
i=0; while kill -0 $qpid 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $qpid 2>/dev/null; wait $qpid; rc2=$?
kill $lpid 2>/dev/null; wait $lpid 2>/dev/null
con2() { grep -q -- "$1" "$tmp/con2"; }
con2 '^XSET-OK' && con2 '^XGET=lab1' &&
    [ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1],"user.course").decode())' "$tmp/shared2/hostfile" 2>&1)" = lab1 ] &&
    ok guest_xattr_on_host || notok guest_xattr_on_host "$(grep -E '^X' "$tmp/con2")"
con2 '^XSET-ERR=95' && ok guest_trusted_xattr_refused || notok guest_trusted_xattr_refused "$(grep -E '^XSET' "$tmp/con2")"
con2 '^TRY-BUSY' && ok guest_sees_host_lock || notok guest_sees_host_lock "$(grep -E '^TRY|OPEN' "$tmp/con2")"
con2 '^LOCK-OK' && grep -q HOST-BLOCKED "$tmp/hostlock" && ok host_sees_guest_lock ||
    notok host_sees_guest_lock "$(grep -E '^LOCK' "$tmp/con2") $(cat "$tmp/hostlock")"
[ $rc2 -eq 0 ] && con2 '^UNLOCKED' && con2 'TREMU-CMD-EXIT=0' && ok lock_boot_poweroff ||
    notok lock_boot_poweroff "exit $rc2: $(tail -c 300 "$tmp/con2") $(tail -c 200 "$tmp/err2")"
echo "virtfs: $pass passed, $fail failed"
[ $fail -eq 0 ]
