/* Exits and traps by cause (hw/stats.h, docs/stats.md): the board's
 * counters, the common names, and the text/JSON/CSV/periodic formats. */
#include "hw/stats.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void stats_init(struct stats *s)
{
    memset(s, 0, sizeof(*s));
    s->start_ns = stats_now_ns();
}

int stats_dev_id(struct stats *s, const char *space, const char *name)
{
    bool pio = space && space[0] == 'p';
    name = name ? name : "?";
    for (int i = 0; i < s->ndevs; i++)
        if (s->dev_is_pio[i] == pio && strcmp(s->dev_name[i], name) == 0)
            return i;
    if (s->ndevs >= STATS_MAX_DEVS)
        return -1;
    int id = s->ndevs;
    s->dev_name[id] = name;
    s->dev_is_pio[id] = pio;
    /* PCI BARs register ranges while the guest runs: a reader on another
     * thread (the periodic line, the monitor) sees the entry before the count. */
    __atomic_store_n(&s->ndevs, id + 1, __ATOMIC_RELEASE);
    return id;
}

int stats_reason_id(struct stats *s, const char *name)
{
    for (int i = 0; i < s->nreasons; i++)
        if (strcmp(s->reason_name[i], name) == 0)
            return i;
    if (s->nreasons >= STATS_MAX_REASONS)
        return -1;
    s->reason_name[s->nreasons] = name;
    return s->nreasons++;
}

/* ---- the table ---- */

static const struct { const char *name, *help; } causes[SC_MAX] = {
    [SC_EXITS] = {"exits", "exits to the hypervisor (tcg: where VT-x would exit, the sum below)"},
    [SC_IO] = {"io", "port I/O accesses reaching the board"},
    [SC_IO_IN] = {"io.in", "IN/INS accesses"},
    [SC_IO_OUT] = {"io.out", "OUT/OUTS accesses"},
    [SC_MMIO] = {"mmio", "MMIO accesses reaching the board"},
    [SC_MMIO_READ] = {"mmio.read", "MMIO reads"},
    [SC_MMIO_WRITE] = {"mmio.write", "MMIO writes"},
    [SC_CPUID] = {"cpuid", "CPUID executed"},
    [SC_MSR_READ] = {"msr.read", "RDMSR at CPL 0"},
    [SC_MSR_WRITE] = {"msr.write", "WRMSR at CPL 0"},
    [SC_CR_READ] = {"cr.read", "MOV from a control register"},
    [SC_CR_WRITE] = {"cr.write", "MOV to CR, LMSW, CLTS"},
    [SC_INVLPG] = {"invlpg", "INVLPG at CPL 0"},
    [SC_HLT] = {"hlt", "HLT at CPL 0"},
    [SC_EXCEPTION] = {"exception", "exceptions (vectors 0-31) delivered to the guest"},
    [SC_PAGE_FAULT] = {"page_fault", "page faults (tcg: guest #PF; kvm: faults KVM handled)"},
    [SC_INT_SOFT] = {"int.soft", "INT n with n >= 32 (system calls through INT)"},
    [SC_IRQ_INJECT] = {"irq.inject", "external interrupts injected"},
    [SC_NMI_INJECT] = {"nmi.inject", "NMIs injected"},
    [SC_INTERRUPT_WINDOW] = {"interrupt_window", "IF opened while an interrupt waited"},
    [SC_SHUTDOWN] = {"shutdown", "triple faults"},
    [SC_RESET] = {"reset", "machine resets"},
    [SC_INSN_RETIRED] = {"insn.retired", "guest instructions retired"},
    [SC_TLB_MISS] = {"tlb.miss", "software TLB misses (page walks)"},
    [SC_TLB_FLUSH] = {"tlb.flush", "whole TLB flushes"},
    [SC_TLB_FLUSH_PAGE] = {"tlb.flush_page", "one-page TLB flushes"},
    [SC_CODE_INVALIDATE] = {"code.invalidate", "code pages dropped after writes (tcg)"},
};

const char *stats_cause_name(enum stat_cause c)
{
    return (unsigned)c < SC_MAX ? causes[c].name : "?";
}

const char *stats_cause_help(enum stat_cause c)
{
    return (unsigned)c < SC_MAX ? causes[c].help : "?";
}

const char *stats_exception_name(int vec)
{
    static const char *const n[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", NULL, "#TS", "#NP",
        "#SS", "#GP", "#PF", NULL, "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    };
    return vec >= 0 && vec < 32 ? n[vec] : NULL;
}

/* ---- snapshots ---- */

void stats_snapshot_init(struct stats_snapshot *s, const char *engine, double seconds)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->engine, sizeof(s->engine), "%s", engine ? engine : "?");
    s->seconds = seconds;
}

void stats_snapshot_free(struct stats_snapshot *s)
{
    free(s->rows);
    s->rows = NULL;
    s->n = s->cap = 0;
}

void stats_set(struct stats_snapshot *s, enum stat_cause c, uint64_t v)
{
    if ((unsigned)c < SC_MAX) {
        s->main[c] = v;
        s->avail[c] = true;
    }
}

void stats_addc(struct stats_snapshot *s, enum stat_cause c, uint64_t v)
{
    if ((unsigned)c < SC_MAX) {
        s->main[c] += v;
        s->avail[c] = true;
    }
}

void stats_row(struct stats_snapshot *s, uint64_t count, const char *fmt, ...)
{
    if (!count)
        return;
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 64;
        struct stat_row *r = realloc(s->rows, (size_t)ncap * sizeof(*r));
        if (!r)
            return;     /* a row lost to OOM is only statistics */
        s->rows = r;
        s->cap = ncap;
    }
    struct stat_row *r = &s->rows[s->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof(r->name), fmt, ap);
    va_end(ap);
    r->count = count;
}

static uint64_t ld(const _Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

void stats_collect_board(const struct stats *st, struct stats_snapshot *s)
{
    stats_set(s, SC_IO_IN, ld(&st->event[STAT_PIO_IN]));
    stats_set(s, SC_IO_OUT, ld(&st->event[STAT_PIO_OUT]));
    stats_set(s, SC_MMIO_READ, ld(&st->event[STAT_MMIO_READ]));
    stats_set(s, SC_MMIO_WRITE, ld(&st->event[STAT_MMIO_WRITE]));
    /* The board sees injections through its own PIC only; an engine with
     * an in-kernel irqchip replaces these with the kernel's figures. */
    stats_set(s, SC_IRQ_INJECT, ld(&st->event[STAT_IRQ_INJECTED]));
    stats_set(s, SC_NMI_INJECT, ld(&st->event[STAT_NMI_INJECTED]));
    stats_set(s, SC_SHUTDOWN, ld(&st->event[STAT_SHUTDOWN]));
    stats_set(s, SC_RESET, ld(&st->event[STAT_RESET]));
    stats_row(s, ld(&st->event[STAT_UNCLAIMED_PIO]), "io.unclaimed");
    stats_row(s, ld(&st->event[STAT_UNCLAIMED_MMIO]), "mmio.unclaimed");
    for (int p = 0; p < 65536; p++)
        stats_row(s, ld(&st->pio_port[p]), "io.port(0x%04x)", p);
    int ndevs = __atomic_load_n(&st->ndevs, __ATOMIC_ACQUIRE);
    for (int i = 0; i < ndevs && i < STATS_MAX_DEVS; i++)
        stats_row(s, ld(&st->dev_access[i]), "%s(%s)", st->dev_is_pio[i] ? "io.dev" : "mmio.dev",
                  st->dev_name[i]);
    for (int i = 0; i < st->nreasons && i < STATS_MAX_REASONS; i++)
        stats_row(s, ld(&st->reason[i]), "exit(%s)", st->reason_name[i]);
}

void stats_finish(struct stats_snapshot *s)
{
    if (s->avail[SC_IO_IN] || s->avail[SC_IO_OUT])
        stats_set(s, SC_IO, s->main[SC_IO_IN] + s->main[SC_IO_OUT]);
    if (s->avail[SC_MMIO_READ] || s->avail[SC_MMIO_WRITE])
        stats_set(s, SC_MMIO, s->main[SC_MMIO_READ] + s->main[SC_MMIO_WRITE]);
    if (!s->avail[SC_EXITS]) {
        /* What a VT-x hypervisor with shadow paging intercepts: I/O, MMIO
         * (EPT misconfig / emulated), CPUID, MSRs, CR accesses, INVLPG,
         * HLT, guest page faults, interrupt windows. */
        static const enum stat_cause vmexit[] = {
            SC_IO, SC_MMIO, SC_CPUID, SC_MSR_READ, SC_MSR_WRITE, SC_CR_READ, SC_CR_WRITE,
            SC_INVLPG, SC_HLT, SC_PAGE_FAULT, SC_INTERRUPT_WINDOW,
        };
        uint64_t sum = 0;
        for (size_t i = 0; i < sizeof(vmexit) / sizeof(vmexit[0]); i++) {
            if (!s->avail[vmexit[i]])
                return;     /* cannot tell: leave n/a */
            sum += s->main[vmexit[i]];
        }
        stats_set(s, SC_EXITS, sum);
    }
}

bool stats_lookup(const struct stats_snapshot *s, const char *name, uint64_t *v)
{
    for (int c = 0; c < SC_MAX; c++)
        if (!strcmp(causes[c].name, name)) {
            if (!s->avail[c])
                return false;
            *v = s->main[c];
            return true;
        }
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].name, name)) {
            *v = s->rows[i].count;
            return true;
        }
    return false;
}

/* ---- output ---- */

#define NAME_W 34

static void write_text(const struct stats_snapshot *s, FILE *out)
{
    fprintf(out, "== tremu exits and traps by cause: engine %s, %.2f s ==\n", s->engine, s->seconds);
    fprintf(out, "%-*s %14s %14s\n", NAME_W, "cause", "count", "per second");
    for (int c = 0; c < SC_MAX; c++) {
        if (!s->avail[c]) {
            fprintf(out, "%-*s %14s %14s\n", NAME_W, causes[c].name, "n/a", "n/a");
            continue;
        }
        fprintf(out, "%-*s %14" PRIu64 " %14.1f\n", NAME_W, causes[c].name, s->main[c],
                s->seconds > 0 ? (double)s->main[c] / s->seconds : 0.0);
    }
    fprintf(out, "-- by port, device, MSR, register, vector, engine --\n");
    for (int i = 0; i < s->n; i++)
        fprintf(out, "%-*s %14" PRIu64 " %14.1f\n", NAME_W, s->rows[i].name, s->rows[i].count,
                s->seconds > 0 ? (double)s->rows[i].count / s->seconds : 0.0);
}

static void json_str(FILE *out, const char *str)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void write_json(const struct stats_snapshot *s, FILE *out)
{
    fprintf(out, "{\"engine\":");
    json_str(out, s->engine);
    fprintf(out, ",\"seconds\":%.3f,\"counters\":{", s->seconds);
    bool first = true;
    for (int c = 0; c < SC_MAX; c++) {
        if (!s->avail[c])
            continue;
        fprintf(out, "%s\n  ", first ? "" : ",");
        json_str(out, causes[c].name);
        fprintf(out, ":%" PRIu64, s->main[c]);
        first = false;
    }
    for (int i = 0; i < s->n; i++) {
        fprintf(out, "%s\n  ", first ? "" : ",");
        json_str(out, s->rows[i].name);
        fprintf(out, ":%" PRIu64, s->rows[i].count);
        first = false;
    }
    fprintf(out, "\n},\"unavailable\":[");
    first = true;
    for (int c = 0; c < SC_MAX; c++) {
        if (s->avail[c])
            continue;
        fprintf(out, "%s", first ? "" : ",");
        json_str(out, causes[c].name);
        first = false;
    }
    fprintf(out, "]}\n");
}

/* RFC 4180: quote fields with a comma, quote or line break. */
static void csv_field(FILE *out, const char *str)
{
    if (!strpbrk(str, ",\"\r\n")) {
        fputs(str, out);
        return;
    }
    fputc('"', out);
    for (const char *p = str; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void csv_row(const struct stats_snapshot *s, FILE *out, const char *name, uint64_t v)
{
    csv_field(out, s->engine);
    fprintf(out, ",%.3f,", s->seconds);
    csv_field(out, name);
    fprintf(out, ",%" PRIu64 "\n", v);
}

void stats_write_csv(const struct stats_snapshot *s, FILE *out, bool header)
{
    if (header)
        fprintf(out, "engine,seconds,cause,count\n");
    for (int c = 0; c < SC_MAX; c++)
        if (s->avail[c])
            csv_row(s, out, causes[c].name, s->main[c]);
    for (int i = 0; i < s->n; i++)
        csv_row(s, out, s->rows[i].name, s->rows[i].count);
}

void stats_write(const struct stats_snapshot *s, enum stats_format f, FILE *out)
{
    switch (f) {
    case STATS_JSON: write_json(s, out); break;
    case STATS_CSV: stats_write_csv(s, out, true); break;
    default: write_text(s, out); break;
    }
    fflush(out);
}

/* The columns of the periodic line. */
static const enum stat_cause interval_cols[] = {
    SC_EXITS, SC_IO, SC_MMIO, SC_CPUID, SC_MSR_READ, SC_MSR_WRITE, SC_CR_WRITE, SC_INVLPG,
    SC_HLT, SC_EXCEPTION, SC_PAGE_FAULT, SC_IRQ_INJECT, SC_INTERRUPT_WINDOW, SC_INSN_RETIRED,
};
#define NCOLS (sizeof(interval_cols) / sizeof(interval_cols[0]))

static int col_width(size_t i)
{
    int w = (int)strlen(causes[interval_cols[i]].name);
    return w < 9 ? 9 : w;
}

/* Lines are built whole and written with one call: other threads log to
 * the same stream (-d int, guest errors) and must not land mid-line. */
struct line { char b[512]; size_t n; };

static void addf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct line *l, const char *fmt, ...)
{
    if (l->n >= sizeof(l->b))
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(l->b + l->n, sizeof(l->b) - l->n, fmt, ap);
    va_end(ap);
    if (r > 0)
        l->n += (size_t)r;
}

static void put_line(struct line *l, FILE *out)
{
    if (l->n >= sizeof(l->b))
        l->n = sizeof(l->b) - 1;
    fputs(l->b, out);
    fflush(out);
}

void stats_interval_header(FILE *out)
{
    struct line l = {.n = 0};
    addf(&l, "stats: %8s %6s", "time", "engine");
    for (size_t i = 0; i < NCOLS; i++)
        addf(&l, " %*s", col_width(i), causes[interval_cols[i]].name);
    addf(&l, "  (per second)\n");
    put_line(&l, out);
}

void stats_interval_line(const struct stats_snapshot *prev, const struct stats_snapshot *cur,
                         FILE *out)
{
    struct line l = {.n = 0};
    double dt = cur->seconds - prev->seconds;
    addf(&l, "stats: %8.1f %6s", cur->seconds, cur->engine);
    for (size_t i = 0; i < NCOLS; i++) {
        enum stat_cause c = interval_cols[i];
        int w = col_width(i);
        if (!cur->avail[c] || dt <= 0) {
            addf(&l, " %*s", w, "n/a");
            continue;
        }
        uint64_t d = cur->main[c] - (prev->avail[c] ? prev->main[c] : 0);
        if (cur->main[c] < prev->main[c])
            d = cur->main[c];  /* counters restarted (should not happen) */
        addf(&l, " %*.0f", w, (double)d / dt);
    }
    addf(&l, "\n");
    put_line(&l, out);
}
