#!/bin/bash
# Fresh-machine check: does a new user's `git clone` + `CI=true bash .ci/run`
# pass on a Debian 12 machine with nothing installed by hand and no /dev/kvm?
# (The CI machine: a KVM module may be loaded, the device node is absent.)
#
#   sudo tests/fresh/run.sh [--prepare] [--keep] [REV]
#
# 1. debootstraps a minimal Debian 12 (bookworm, variant minbase, plus git and
#    ca-certificates to clone) into ~/.cache/tremu/fresh-root, once: rebuilt
#    only when missing (delete the folder to refresh it). --prepare stops here.
# 2. in a private mount namespace (nothing leaks to the host's mounts), an
#    overlay over that root, so every run starts from the pristine system;
#    /proc and /sys from the host, a /dev of its own (tmpfs with null, zero,
#    full, random, urandom, tty, ptmx and devpts; no kvm), the host's DNS.
# 3. clones REV (default HEAD) of this repository into /root/tremu and runs
#    `CI=true bash .ci/run` there with an empty environment (HOME=/root, no
#    locale), as root, under nice: make deps, make check-lab, make check.
#
# Slow (make check-lab builds the lab image inside: 20-30 minutes on two
# cores) and needs root and the Debian mirror: not part of make check.
# The log is kept in ~/.cache/tremu/fresh-runs/<time>/log; --keep also keeps
# that run's overlay (the whole file system as the run left it).
set -euo pipefail

PREPARE=""; KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
    --prepare) PREPARE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
REV=${1:-HEAD}
SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${TREMU_CACHE:-$HOME/.cache/tremu}
ROOT=$CACHE/fresh-root
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" = 0 ] || { echo "fresh: needs root (debootstrap, mounts, chroot)" >&2; exit 2; }
for t in debootstrap unshare git; do
    command -v $t >/dev/null || { echo "fresh: needs $t (apt-get install debootstrap util-linux git)" >&2; exit 2; }
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    { echo "fresh: needs overlayfs" >&2; exit 2; }

# ---- 1. the cached pristine root ----
if [ ! -f "$ROOT/.tremu-fresh-root" ]; then
    echo "fresh: debootstrap bookworm (minbase) into $ROOT from $MIRROR"
    rm -rf "$ROOT.tmp"
    mkdir -p "$CACHE"
    nice -n 10 debootstrap --variant=minbase --include=git,ca-certificates bookworm "$ROOT.tmp" "$MIRROR"
    # What a fresh machine's apt knows: the release, its updates, security.
    cat > "$ROOT.tmp/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    chroot "$ROOT.tmp" apt-get clean
    date -u +%FT%TZ > "$ROOT.tmp/.tremu-fresh-root"
    rm -rf "$ROOT"
    mv "$ROOT.tmp" "$ROOT"
fi
echo "fresh: root $ROOT (built $(cat "$ROOT/.tremu-fresh-root"))"
[ -z "$PREPARE" ] || exit 0

# ---- 2. this run's file system ----
RUN=$CACHE/fresh-runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN/upper" "$RUN/work" "$RUN/merged"
LOG=$RUN/log
echo "fresh: run in $RUN (log: $LOG)"

# The clone a user would make, put where the chroot sees it.
git clone -q --no-local "$REPO" "$RUN/clone"
git -C "$RUN/clone" checkout -q "$(git -C "$REPO" rev-parse "$REV")"
echo "fresh: testing $(git -C "$RUN/clone" log --oneline -1)"

# Everything below runs in its own mount namespace: when it ends, every mount
# goes with it, whatever happened.
set +e
unshare --mount --propagation private /bin/bash -euo pipefail -s -- "$ROOT" "$RUN" <<'INNER' 2>&1 | tee "$LOG"
ROOT=$1; RUN=$2; M=$RUN/merged
mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$RUN/upper,workdir=$RUN/work" "$M"
mount -t proc proc "$M/proc"
mount --rbind /sys "$M/sys"
# /dev without kvm, as on the CI machine.
mount -t tmpfs -o mode=755,nosuid dev "$M/dev"
mknod -m 666 "$M/dev/null" c 1 3
mknod -m 666 "$M/dev/zero" c 1 5
mknod -m 666 "$M/dev/full" c 1 7
mknod -m 666 "$M/dev/random" c 1 8
mknod -m 666 "$M/dev/urandom" c 1 9
mknod -m 666 "$M/dev/tty" c 5 0
mkdir -p "$M/dev/pts" "$M/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
mount -t tmpfs -o mode=1777 shm "$M/dev/shm"
ln -s /proc/self/fd "$M/dev/fd"
ln -s /proc/self/fd/0 "$M/dev/stdin"
ln -s /proc/self/fd/1 "$M/dev/stdout"
ln -s /proc/self/fd/2 "$M/dev/stderr"
cp -L /etc/resolv.conf "$M/etc/resolv.conf"
mkdir -p "$M/root"
cp -a "$RUN/clone" "$M/root/tremu"
[ ! -e "$M/dev/kvm" ] || { echo "fresh: /dev/kvm leaked into the chroot" >&2; exit 1; }
echo "fresh: chroot ready: $(ls "$M/dev" | tr '\n' ' ')"
echo "fresh: host KVM modules: $(ls -d /sys/module/kvm* 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')"
start=$(date +%s)
rc=0
nice -n 10 chroot "$M" /usr/bin/env -i HOME=/root CI=true TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd /root/tremu && bash .ci/run' </dev/null || rc=$?
echo "fresh: .ci/run exited $rc after $(( $(date +%s) - start )) s"
exit $rc
INNER
rc=${PIPESTATUS[0]}
set -e

if [ -z "$KEEP" ]; then
    rm -rf "$RUN/upper" "$RUN/work" "$RUN/merged" "$RUN/clone"
fi
echo "fresh: $( [ "$rc" = 0 ] && echo PASSED || echo "FAILED (exit $rc)" ); log: $LOG"
exit "$rc"
