/* The software CPU's exit-cause counters (cpu/counters.h). */
#include "cpu/cpu_int.h"

static void msr_add(struct cpu_counters *k, uint32_t msr, uint64_t reads, uint64_t writes)
{
    /* Fibonacci hashing, then linear probing; guests touch a few dozen MSRs. */
    unsigned h = (unsigned)((msr * 2654435769u) >> 26) & (CPU_MSR_SLOTS - 1);
    for (unsigned probe = 0; probe < CPU_MSR_SLOTS; probe++) {
        unsigned s = (h + probe) & (CPU_MSR_SLOTS - 1);
        if (!k->msr_used[s]) {
            k->msr_num[s] = msr;
            k->msr_used[s] = 1;
        }
        if (k->msr_num[s] == msr) {
            k->msr_read[s] += reads;
            k->msr_write[s] += writes;
            return;
        }
    }
    k->msr_other_read += reads;
    k->msr_other_write += writes;
}

void cpu_count_msr(struct cpu_counters *k, uint32_t msr, int write)
{
    msr_add(k, msr, !write, !!write);
}

void cpu_counters_merge(struct cpu_counters *dst, const struct cpu_counters *src)
{
    for (int e = 0; e < CPU_COUNT_MAX; e++)
        dst->n[e] += src->n[e];
    for (int v = 0; v < 32; v++)
        dst->exception[v] += src->exception[v];
    for (int r = 0; r < 16; r++) {
        dst->cr_read[r] += src->cr_read[r];
        dst->cr_write[r] += src->cr_write[r];
    }
    for (int s = 0; s < CPU_MSR_SLOTS; s++)
        if (src->msr_used[s])
            msr_add(dst, src->msr_num[s], src->msr_read[s], src->msr_write[s]);
    dst->msr_other_read += src->msr_other_read;
    dst->msr_other_write += src->msr_other_write;
}

/* A snapshot for another thread: word by word, relaxed (see counters.h). */
void cpu_get_counters(const struct cpu *c, struct cpu_counters *out)
{
    const uint64_t *src = (const uint64_t *)&c->counters;
    uint64_t *dst = (uint64_t *)out;
    _Static_assert(sizeof(struct cpu_counters) % 8 == 0, "whole words");
    for (size_t w = 0; w < sizeof(*out) / 8; w++)
        dst[w] = __atomic_load_n(&src[w], __ATOMIC_RELAXED);
    /* Counted by exec.c already (jit=verify needs it too). */
    out->n[CPU_COUNT_CODE_INVAL] = __atomic_load_n(&c->code_pages_dropped, __ATOMIC_RELAXED);
}
