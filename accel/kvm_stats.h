/* KVM's per-vCPU statistics (KVM_GET_STATS_FD, Linux
 * Documentation/virt/kvm/api.rst, "The binary statistics") under the
 * common names of hw/stats.h. The parser is a pure function over the
 * file's bytes, so it is tested without /dev/kvm, hostile lengths included. */
#ifndef ACCEL_KVM_STATS_H
#define ACCEL_KVM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/stats.h"

#define KVM_STAT_NAME_MAX 48

struct kvm_stat {
    char name[KVM_STAT_NAME_MAX];
    uint64_t value;             /* the first (usually only) item */
};

/* Parses a stats file image buf[0..len): header, descriptors, data. Keeps
 * the scalar statistics (cumulative, instant, peak; histograms are left
 * out) with names shorter than KVM_STAT_NAME_MAX, at most max of them.
 * Returns how many, or -1 with the reason in err (a header, descriptor or
 * value that does not fit in len, a name without its NUL, ...). */
int kvm_stats_parse(const uint8_t *buf, size_t len, struct kvm_stat *out, int max,
                    char *err, size_t errlen);
/* Reads the whole stats file of fd (pread from 0, up to 1 MiB) into a
 * malloc'd buffer; NULL on error. */
uint8_t *kvm_stats_read_fd(int fd, size_t *len);
/* Adds parsed stats to a snapshot: kvm.stat(NAME) rows, and the main
 * causes KVM counts itself (exits, hlt, invlpg, irq.inject, ...). */
/* first: these are the first vCPU's (the mapped causes start from 0 rather
 * than from the board's user-space counts, which the kernel's include). */
void kvm_stats_snapshot(const struct kvm_stat *st, int n, struct stats_snapshot *s, bool first);

#endif
