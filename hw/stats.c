#include "hw/stats.h"
#include <string.h>
#include <time.h>

static const char *event_names[STAT_EVENT_MAX] = {
    [STAT_PIO_IN] = "port I/O in",
    [STAT_PIO_OUT] = "port I/O out",
    [STAT_MMIO_READ] = "MMIO read",
    [STAT_MMIO_WRITE] = "MMIO write",
    [STAT_HLT] = "HLT",
    [STAT_IRQ_INJECTED] = "interrupts injected",
    [STAT_NMI_INJECTED] = "NMIs injected",
    [STAT_IRQ_WINDOW] = "interrupt windows",
    [STAT_UNCLAIMED_PIO] = "unclaimed port I/O",
    [STAT_UNCLAIMED_MMIO] = "unclaimed MMIO",
    [STAT_RESET] = "machine resets",
    [STAT_INSN_RETIRED] = "instructions retired",
};

const char *stats_event_name(enum stat_event e)
{
    return (e < STAT_EVENT_MAX && event_names[e]) ? event_names[e] : "?";
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void stats_init(struct stats *s)
{
    memset(s, 0, sizeof(*s));
    s->start_ns = now_ns();
}

static int find_or_add(const char **names, int *n, int max, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*n >= max)
        return -1;
    names[*n] = name;
    return (*n)++;
}

int stats_dev_id(struct stats *s, const char *name)
{
    return find_or_add(s->dev_name, &s->ndevs, STATS_MAX_DEVS, name ? name : "?");
}

int stats_reason_id(struct stats *s, const char *name)
{
    return find_or_add(s->reason_name, &s->nreasons, STATS_MAX_REASONS, name);
}

void stats_print(const struct stats *s, FILE *f)
{
    fprintf(f, "== tremu event counters ==\n");
    for (int e = 0; e < STAT_EVENT_MAX; e++)
        fprintf(f, "  %-24s %12llu\n", event_names[e], (unsigned long long)s->event[e]);
    uint64_t el = now_ns() - s->start_ns;
    if (s->event[STAT_INSN_RETIRED] && el)
        fprintf(f, "  %-24s %12.1f  (M/s over %.2f s since machine creation)\n",
                "instructions per second", (double)s->event[STAT_INSN_RETIRED] * 1e3 / (double)el,
                (double)el / 1e9);
    if (s->nreasons) {
        fprintf(f, "-- exits by reason --\n");
        for (int i = 0; i < s->nreasons; i++)
            if (s->reason[i])
                fprintf(f, "  %-24s %12llu\n", s->reason_name[i], (unsigned long long)s->reason[i]);
    }
    fprintf(f, "-- accesses by device --\n");
    for (int i = 0; i < s->ndevs; i++)
        if (s->dev_access[i])
            fprintf(f, "  %-24s %12llu\n", s->dev_name[i], (unsigned long long)s->dev_access[i]);
    fprintf(f, "-- port I/O by port --\n");
    for (int p = 0; p < 65536; p++)
        if (s->pio_port[p])
            fprintf(f, "  0x%04x                   %12llu\n", p, (unsigned long long)s->pio_port[p]);
}
