/* Event counters kept by every engine's run loop, by cause. Printed by
 * `-d stats`; later the teaching views read them. */
#ifndef HW_STATS_H
#define HW_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>

#define STATS_MAX_DEVS 64
#define STATS_MAX_REASONS 64

enum stat_event {
    STAT_PIO_IN, STAT_PIO_OUT, STAT_MMIO_READ, STAT_MMIO_WRITE,
    STAT_HLT, STAT_IRQ_INJECTED, STAT_NMI_INJECTED, STAT_IRQ_WINDOW,
    STAT_UNCLAIMED_PIO, STAT_UNCLAIMED_MMIO, STAT_RESET,
    STAT_INSN_RETIRED,      /* guest instructions (tcg: cpu_icount deltas) */
    STAT_EVENT_MAX
};

struct stats {
    _Atomic uint64_t event[STAT_EVENT_MAX];
    _Atomic uint64_t pio_port[65536];          /* accesses by port number */
    int ndevs;
    const char *dev_name[STATS_MAX_DEVS];
    _Atomic uint64_t dev_access[STATS_MAX_DEVS];
    /* Engine-specific exit reasons (e.g. KVM_EXIT_*): name + count. */
    int nreasons;
    const char *reason_name[STATS_MAX_REASONS];
    _Atomic uint64_t reason[STATS_MAX_REASONS];
    uint64_t start_ns;      /* CLOCK_MONOTONIC at stats_init: rates in stats_print */
};

void stats_init(struct stats *s);
int stats_dev_id(struct stats *s, const char *name);      /* find or add */
int stats_reason_id(struct stats *s, const char *name);   /* find or add */
static inline void stats_count(struct stats *s, enum stat_event e)
{
    if (s) atomic_fetch_add_explicit(&s->event[e], 1, memory_order_relaxed);
}
static inline void stats_add(struct stats *s, enum stat_event e, uint64_t n)
{
    if (s) atomic_fetch_add_explicit(&s->event[e], n, memory_order_relaxed);
}
static inline void stats_count_reason(struct stats *s, int id)
{
    if (s && id >= 0 && id < STATS_MAX_REASONS)
        atomic_fetch_add_explicit(&s->reason[id], 1, memory_order_relaxed);
}
void stats_print(const struct stats *s, FILE *f);
const char *stats_event_name(enum stat_event e);

#endif
