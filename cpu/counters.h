/* Where a hardware VMM would have taken an exit: the software CPU counts
 * the same events a VT-x/AMD-V hypervisor intercepts (port I/O and MMIO are
 * counted by the board, for both engines), so `-d stats` can put the two
 * engines side by side (hw/stats.c names them; docs/stats.md).
 *
 * The counters live in struct cpu, one set per vCPU, written only by the
 * vCPU's own thread with plain increments (no atomics, no locks: these sit
 * in instruction handlers the JIT calls too). Readers on other threads
 * (the periodic line, the monitor) take relaxed snapshots; a torn value is
 * impossible for an aligned 64-bit load on the hosts tremu supports, and a
 * count one event behind is fine for statistics.
 *
 * Each handler counts after its privilege checks and before the operation
 * can fault: that is where VMX takes the exit (SDM vol. 3C, 26.1.1: a #GP
 * for CPL > 0 has priority over the VM exit; an unknown MSR exits and the
 * VMM injects the #GP). */
#ifndef CPU_COUNTERS_H
#define CPU_COUNTERS_H

#include <stdint.h>

enum cpu_count {
    CPU_COUNT_CPUID,
    CPU_COUNT_HLT,
    CPU_COUNT_INVLPG,
    CPU_COUNT_INT_SOFT,         /* INT n delivered with n >= 32 */
    CPU_COUNT_IRQ_WINDOW,       /* IF went 0 -> 1 while INTR was pending */
    CPU_COUNT_TLB_MISS,         /* soft-TLB fills (page walks for an access) */
    CPU_COUNT_TLB_FLUSH,        /* whole soft-TLB flushes (CR3, CR0/CR4 paging bits, A20) */
    CPU_COUNT_TLB_FLUSH_PAGE,   /* one-page flushes (INVLPG) */
    CPU_COUNT_CODE_INVAL,       /* code pages whose blocks a write dropped */
    CPU_COUNT_MAX
};

/* MSRs counted by number: open addressing over a small table; MSRs beyond
 * it go to the "other" slot (a guest can name 2^32 MSRs, the table never grows). */
#define CPU_MSR_SLOTS 64

struct cpu_counters {
    uint64_t n[CPU_COUNT_MAX];
    uint64_t exception[32];             /* vectors 0-31 delivered (after #DF escalation) */
    uint64_t cr_read[16], cr_write[16];
    uint32_t msr_num[CPU_MSR_SLOTS];
    uint8_t msr_used[CPU_MSR_SLOTS];
    uint64_t msr_read[CPU_MSR_SLOTS], msr_write[CPU_MSR_SLOTS];
    uint64_t msr_other_read, msr_other_write;
};

#define COUNT_EXIT(c, what) ((c)->counters.n[CPU_COUNT_##what]++)
#define COUNT_CR(c, dir, n) ((c)->counters.cr_##dir[(n) & 15]++)
/* IF is being set: had the VMM asked for an interrupt window (INTR pending
 * while IF=0), this is where it would exit. */
#define COUNT_IRQ_WINDOW(c) \
    ((c)->counters.n[CPU_COUNT_IRQ_WINDOW] += \
     atomic_load_explicit(&(c)->intr_line, memory_order_relaxed) != 0)

/* RDMSR/WRMSR (cpu/counters.c): slot lookup, then an increment. */
void cpu_count_msr(struct cpu_counters *k, uint32_t msr, int write);
/* dst += src (several vCPUs into one table). */
void cpu_counters_merge(struct cpu_counters *dst, const struct cpu_counters *src);
/* An event delivered through exception_taken: vectors 0-31 by vector,
 * higher ones (only INT n reaches here with those) as INT_SOFT. */
static inline void cpu_count_exception(struct cpu_counters *k, int vec)
{
    if (vec >= 0 && vec < 32)
        k->exception[vec]++;
    else
        k->n[CPU_COUNT_INT_SOFT]++;
}

#endif
