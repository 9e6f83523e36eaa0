/* Exits and traps by cause, one naming for both engines (docs/stats.md).
 *
 * Two halves:
 * - struct stats: the machine-wide counters the board keeps for every
 *   engine (port I/O by port, MMIO and port accesses by device, interrupts
 *   injected through the board's PIC, HLT and interrupt windows seen in user
 *   space, engine exit reasons), atomic because devices and vCPUs share them.
 * - struct stats_snapshot: every counter at one moment under its common name
 *   ("cpuid", "msr.read(0x1b)", "exception(#PF)"...), filled by the board and
 *   by the engine (accel_ops.collect_stats), then printed as aligned text,
 *   a periodic line of per-second deltas, JSON or CSV. The main causes come
 *   from one table (stats_cause_name) in one order for both engines, so two
 *   runs' outputs line up row by row; a cause the engine cannot observe
 *   prints "n/a", never 0. */
#ifndef HW_STATS_H
#define HW_STATS_H

#include <stdbool.h>
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
    STAT_SHUTDOWN,          /* triple faults (and KVM shutdown exits) */
    STAT_EVENT_MAX
};

struct stats {
    _Atomic uint64_t event[STAT_EVENT_MAX];
    _Atomic uint64_t pio_port[65536];          /* accesses by port number */
    int ndevs;
    const char *dev_name[STATS_MAX_DEVS];
    bool dev_is_pio[STATS_MAX_DEVS];
    _Atomic uint64_t dev_access[STATS_MAX_DEVS];
    /* Engine-specific exit reasons (e.g. KVM_EXIT_*): name + count. */
    int nreasons;
    const char *reason_name[STATS_MAX_REASONS];
    _Atomic uint64_t reason[STATS_MAX_REASONS];
    uint64_t start_ns;      /* CLOCK_MONOTONIC at stats_init: rates in the reports */
};

void stats_init(struct stats *s);
/* find or add; space "pio" or "mmio" (the iomap's) */
int stats_dev_id(struct stats *s, const char *space, const char *name);
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
uint64_t stats_now_ns(void);

/* ---- the common table of causes ---- */

enum stat_cause {
    SC_EXITS,               /* what a hardware VMM exits on, in total */
    SC_IO, SC_IO_IN, SC_IO_OUT,
    SC_MMIO, SC_MMIO_READ, SC_MMIO_WRITE,
    SC_CPUID, SC_MSR_READ, SC_MSR_WRITE, SC_CR_READ, SC_CR_WRITE,
    SC_INVLPG, SC_HLT, SC_EXCEPTION, SC_PAGE_FAULT, SC_INT_SOFT,
    SC_IRQ_INJECT, SC_NMI_INJECT, SC_INTERRUPT_WINDOW, SC_SHUTDOWN, SC_RESET,
    SC_INSN_RETIRED, SC_TLB_MISS, SC_TLB_FLUSH, SC_TLB_FLUSH_PAGE, SC_CODE_INVALIDATE,
    SC_MAX
};
/* Name ("cpuid") and one-line meaning of a main cause. */
const char *stats_cause_name(enum stat_cause c);
const char *stats_cause_help(enum stat_cause c);
/* Short exception mnemonic by vector ("#PF"), or NULL for 0-31 without one. */
const char *stats_exception_name(int vec);

#define STATS_NAME_MAX 48

struct stat_row {
    char name[STATS_NAME_MAX];
    uint64_t count;
};

struct stats_snapshot {
    char engine[8];                 /* "tcg", "kvm" */
    double seconds;                 /* since machine creation */
    uint64_t main[SC_MAX];
    bool avail[SC_MAX];             /* false: this engine cannot observe it */
    int n, cap;                     /* detail rows, in the order added */
    struct stat_row *rows;
};

void stats_snapshot_init(struct stats_snapshot *s, const char *engine, double seconds);
void stats_snapshot_free(struct stats_snapshot *s);
/* Main cause: sets (and marks observable) or adds to it. */
void stats_set(struct stats_snapshot *s, enum stat_cause c, uint64_t v);
void stats_addc(struct stats_snapshot *s, enum stat_cause c, uint64_t v);
/* Detail row "name" (printf-style; truncated to STATS_NAME_MAX - 1). Zero
 * counts are kept out. */
void stats_row(struct stats_snapshot *s, uint64_t count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The board's half: port I/O, MMIO, devices, injections, exit reasons. */
void stats_collect_board(const struct stats *st, struct stats_snapshot *s);
/* Derived totals once every part is in: io = in + out, mmio = read + write
 * and, when the engine gave no exit count, exits = the sum of the causes
 * VT-x intercepts (see docs/stats.md). */
void stats_finish(struct stats_snapshot *s);

/* Value of a counter by name (main or detail); false if absent/n/a. */
bool stats_lookup(const struct stats_snapshot *s, const char *name, uint64_t *v);

enum stats_format { STATS_TEXT, STATS_JSON, STATS_CSV };
void stats_write(const struct stats_snapshot *s, enum stats_format f, FILE *out);
/* CSV rows, with or without the header line (a time series appends
 * snapshots to one file; the seconds column tells them apart). */
void stats_write_csv(const struct stats_snapshot *s, FILE *out, bool header);
/* The periodic line: per-second deltas of the main causes between prev and
 * cur (header: the column names, printed once by the caller). */
void stats_interval_header(FILE *out);
void stats_interval_line(const struct stats_snapshot *prev, const struct stats_snapshot *cur,
                         FILE *out);

/* ---- -d stats options (hw/stats_report.c) ---- */

struct stats_config {
    unsigned interval;              /* seconds between periodic lines, 0: none */
    enum stats_format format;       /* of the report at exit */
    char file[256];                 /* report at exit goes here ("": the log) */
};
/* One "key=value" item of -d: interval=N, format=text|json|csv, file=PATH.
 * 0, or -1 with a message in err. */
int stats_config_item(struct stats_config *c, const char *item, char *err, size_t errlen);

#endif
