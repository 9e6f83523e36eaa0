#!/bin/sh
# The initramfs the display suite boots to test Linux's bochs-drm: the
# default guest's plus bochs.ko and the DRM modules it needs, in load order
# (each after what modinfo's depends= names), under /opt/drm (see mkmods.sh).
#   tests/display/mkdrm.sh GUESTDIR OUTDIR    → OUTDIR/initramfs-drm.cpio.gz
exec sh "$(dirname "$0")/mkmods.sh" "$1" "$2/initramfs-drm.cpio.gz" /opt/drm \
    gpu/drm/drm gpu/drm/drm_kms_helper gpu/drm/ttm/ttm gpu/drm/drm_ttm_helper \
    gpu/drm/drm_vram_helper gpu/drm/tiny/bochs
