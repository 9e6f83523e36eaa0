#!/bin/sh
# Debian's kernel and busybox userspace on the software CPU (make check-linux):
# part of make check, so every CI run boots Linux under tcg.
cd "$(dirname "$0")/../.." || exit 1
exec bash tests/linux/run.sh
