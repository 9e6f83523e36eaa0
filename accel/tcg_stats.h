/* The software CPU's counters (cpu/counters.h) under the common names of
 * hw/stats.h: what `-d stats` and `info exits` print for -accel tcg. */
#ifndef ACCEL_TCG_STATS_H
#define ACCEL_TCG_STATS_H

#include "cpu/cpu.h"
#include "hw/stats.h"

/* Main causes cpuid, msr.*, cr.*, invlpg, hlt, exception, page_fault,
 * int.soft, interrupt_window, tlb.*, code.invalidate, and the rows
 * msr.read(0x..), cr.write(N), exception(#PF)... */
void tcg_counters_snapshot(const struct cpu_counters *k, struct stats_snapshot *s);
void tcg_jit_stats_add(struct cpu_jit_stats *sum, const struct cpu_jit_stats *s);
/* tcg.blocks_decoded and the JIT's figures as tcg.jit.* rows. */
void tcg_jit_snapshot(const struct cpu_jit_stats *js, uint64_t decoded, struct stats_snapshot *s);

#endif
