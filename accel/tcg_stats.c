/* Software CPU counters -> common names (accel/tcg_stats.h, docs/stats.md). */
#include "accel/tcg_stats.h"
#include <inttypes.h>

void tcg_counters_snapshot(const struct cpu_counters *k, struct stats_snapshot *s)
{
    stats_set(s, SC_CPUID, k->n[CPU_COUNT_CPUID]);
    stats_set(s, SC_HLT, k->n[CPU_COUNT_HLT]);
    stats_set(s, SC_INVLPG, k->n[CPU_COUNT_INVLPG]);
    stats_set(s, SC_INT_SOFT, k->n[CPU_COUNT_INT_SOFT]);
    stats_set(s, SC_INTERRUPT_WINDOW, k->n[CPU_COUNT_IRQ_WINDOW]);
    stats_set(s, SC_TLB_MISS, k->n[CPU_COUNT_TLB_MISS]);
    stats_set(s, SC_TLB_FLUSH, k->n[CPU_COUNT_TLB_FLUSH]);
    stats_set(s, SC_TLB_FLUSH_PAGE, k->n[CPU_COUNT_TLB_FLUSH_PAGE]);
    stats_set(s, SC_CODE_INVALIDATE, k->n[CPU_COUNT_CODE_INVAL]);
    /* Under a shadow-paging VMM every guest #PF is an exit. */
    stats_set(s, SC_PAGE_FAULT, k->exception[14]);

    stats_set(s, SC_EXCEPTION, 0);
    for (int v = 0; v < 32; v++) {
        stats_addc(s, SC_EXCEPTION, k->exception[v]);
        const char *n = stats_exception_name(v);
        if (n)
            stats_row(s, k->exception[v], "exception(%s)", n);
        else
            stats_row(s, k->exception[v], "exception(%d)", v);
    }
    stats_set(s, SC_CR_READ, 0);
    stats_set(s, SC_CR_WRITE, 0);
    for (int r = 0; r < 16; r++) {
        stats_addc(s, SC_CR_READ, k->cr_read[r]);
        stats_addc(s, SC_CR_WRITE, k->cr_write[r]);
        stats_row(s, k->cr_read[r], "cr.read(%d)", r);
        stats_row(s, k->cr_write[r], "cr.write(%d)", r);
    }
    /* MSRs in numeric order, so two runs list them alike. */
    stats_set(s, SC_MSR_READ, k->msr_other_read);
    stats_set(s, SC_MSR_WRITE, k->msr_other_write);
    int64_t last = -1;
    for (;;) {
        int best = -1;
        for (int j = 0; j < CPU_MSR_SLOTS; j++)
            if (k->msr_used[j] && (int64_t)k->msr_num[j] > last &&
                (best < 0 || k->msr_num[j] < k->msr_num[best]))
                best = j;
        if (best < 0)
            break;
        last = k->msr_num[best];
        stats_addc(s, SC_MSR_READ, k->msr_read[best]);
        stats_addc(s, SC_MSR_WRITE, k->msr_write[best]);
        stats_row(s, k->msr_read[best], "msr.read(0x%" PRIx32 ")", k->msr_num[best]);
        stats_row(s, k->msr_write[best], "msr.write(0x%" PRIx32 ")", k->msr_num[best]);
    }
    stats_row(s, k->msr_other_read, "msr.read(other)");
    stats_row(s, k->msr_other_write, "msr.write(other)");
}

void tcg_jit_stats_add(struct cpu_jit_stats *sum, const struct cpu_jit_stats *s)
{
    sum->blocks += s->blocks;
    sum->bytes += s->bytes;
    sum->ns += s->ns;
    sum->flushes += s->flushes;
    sum->links += s->links;
    sum->verified += s->verified;
    sum->unverifiable += s->unverifiable;
    sum->cache_size += s->cache_size;
    sum->cache_used += s->cache_used;
}

void tcg_jit_snapshot(const struct cpu_jit_stats *js, uint64_t decoded, struct stats_snapshot *s)
{
    stats_row(s, decoded, "tcg.blocks_decoded");
    stats_row(s, js->blocks, "tcg.jit.blocks");
    stats_row(s, js->bytes, "tcg.jit.bytes");
    stats_row(s, js->ns, "tcg.jit.ns");
    stats_row(s, js->flushes, "tcg.jit.cache_flushes");
    stats_row(s, js->links, "tcg.jit.links");
    stats_row(s, js->cache_used, "tcg.jit.cache_used");
    stats_row(s, js->cache_size, "tcg.jit.cache_size");
    stats_row(s, js->verified, "tcg.jit.verified");
    stats_row(s, js->unverifiable, "tcg.jit.unverifiable");
}
