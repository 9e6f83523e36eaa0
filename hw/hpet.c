/* HPET (IA-PC HPET 1.0a, §2.3 registers), the QEMU pc flavour: capabilities
 * 0x8086a201 (vendor 8086, legacy route capable, 64-bit counter, 3 timers,
 * revision 1), 10 ns period; every timer periodic-capable with a 64-bit
 * comparator, routable to IOAPIC pin 2 only (QEMU's i440fx intcap).
 *
 * Time: the main counter is a function of the clock, counter(now) =
 * (now - offset) / 10 ns while enabled, frozen while halted. Each enabled
 * comparator arms one clock timer at the ns its match falls on; nothing runs
 * per tick. A 32-bit timer (Tn_32MODE_CNF) matches the low 32 bits of the
 * counter, so its next match is at most 2^32 ticks away.
 *
 * Comparator writes follow QEMU where the spec is loose: in periodic mode a
 * write sets the period, and also the comparator only when Tn_VAL_SET_CNF
 * was set (which the write clears) — Linux's periodic setup writes
 * "now + delta" with VAL_SET, then delta. Periods the host slept through
 * move the comparator past the counter with one edge each (at most
 * HPET_CATCHUP_MAX): the IOAPIC re-sends the edges that merged (timer pins),
 * so a guest counting ticks loses none. A level-triggered timer asserts once. */
#include "hw/hpet.h"
#include <stdlib.h>

#define CAP_LOW   0x8086a201u
#define PERIOD_FS 10000000u     /* 10 ns */
#define NS_PER_TICK 10

#define CFG_ENABLE 1u
#define CFG_LEGACY 2u

#define TN_LEVEL    (1u << 1)
#define TN_ENABLE   (1u << 2)
#define TN_PERIODIC (1u << 3)
#define TN_PER_CAP  (1u << 4)
#define TN_SIZE_CAP (1u << 5)
#define TN_SETVAL   (1u << 6)
#define TN_32BIT    (1u << 8)
#define TN_ROUTE(c) (((c) >> 9) & 0x1f)
#define TN_WMASK    (TN_LEVEL | TN_ENABLE | TN_PERIODIC | TN_SETVAL | TN_32BIT | (0x1fu << 9))
#define ROUTE_CAP   0x4u        /* IOAPIC pin 2 */
#define HPET_CATCHUP_MAX 1000
#define MATCH_NEVER (1ULL << 58)    /* ticks: 91 years at 100 MHz */

struct hpet_timer {
    struct hpet *h;
    int n;
    uint64_t config;
    uint64_t cmp;
    uint64_t period;
    struct timer t;
    int level;                  /* line level we drive */
};

struct hpet {
    struct iomap *mmio;
    struct clock *clk;
    struct hpet_hooks hooks;
    uint64_t config;
    uint64_t isr;               /* GINTR_STA: level-triggered timers asserted */
    uint64_t counter;           /* value while halted / at `offset` */
    uint64_t offset_ns;         /* clock ns at which the counter was `counter` */
    struct hpet_timer tm[HPET_TIMERS];
};

static bool enabled(const struct hpet *h) { return h->config & CFG_ENABLE; }

static uint64_t counter_now(const struct hpet *h)
{
    if (!enabled(h))
        return h->counter;
    return h->counter + (clock_ns(h->clk) - h->offset_ns) / NS_PER_TICK;
}

static int line_of(const struct hpet_timer *t)
{
    if ((t->h->config & CFG_LEGACY) && t->n < 2)
        return t->n == 0 ? 0 : 8;
    return (int)TN_ROUTE(t->config);
}

static void set_line(struct hpet_timer *t, int level)
{
    struct hpet *h = t->h;
    if (h->hooks.set_irq)
        h->hooks.set_irq(h->hooks.opaque, line_of(t), level);
    t->level = level;
}

/* The comparator matched: the interrupt, per Tn_INT_TYPE_CNF. */
static void raise_irq(struct hpet_timer *t)
{
    if (!(t->config & TN_ENABLE) || !enabled(t->h))
        return;
    if (t->config & TN_LEVEL) {
        t->h->isr |= 1u << t->n;
        set_line(t, 1);
    } else {
        set_line(t, 1);
        set_line(t, 0);
    }
}

static void lower_irq(struct hpet_timer *t)
{
    t->h->isr &= ~(1ULL << t->n);
    if (t->level)
        set_line(t, 0);
}

/* Ticks from counter c to the next match of the comparator. */
static uint64_t ticks_to_match(const struct hpet_timer *t, uint64_t c)
{
    if (t->config & TN_32BIT) {
        uint32_t d = (uint32_t)t->cmp - (uint32_t)c;
        return d ? d : 1ULL << 32;
    }
    return t->cmp > c ? t->cmp - c : 0;
}

static void arm(struct hpet_timer *t)
{
    struct hpet *h = t->h;
    if (!enabled(h) || !(t->config & TN_ENABLE)) {
        timer_del(&t->t);
        return;
    }
    uint64_t c = counter_now(h);
    uint64_t d = ticks_to_match(t, c);
    if (!(t->config & TN_32BIT) && (t->cmp <= c || d >= MATCH_NEVER)) {
        /* A 64-bit comparator behind the counter never matches (until the
         * counter wraps, 5800 years away), nor one centuries ahead (the
         * reset value, all ones, among them). */
        timer_del(&t->t);
        return;
    }
    /* ns of tick c+d: counter ticks are 10 ns from offset. */
    uint64_t target = h->offset_ns + (c - h->counter + d) * NS_PER_TICK;
    timer_mod(&t->t, target);
}

static void hpet_timer_fire(void *opaque)
{
    struct hpet_timer *t = opaque;
    struct hpet *h = t->h;
    uint64_t c = counter_now(h);
    uint64_t periods = 1;
    if (t->config & TN_PERIODIC && t->period) {
        if (t->config & TN_32BIT) {
            /* Ticks past the comparator, modulo 2^32 as the match is. */
            uint32_t p32 = (uint32_t)t->period;
            uint32_t past = (uint32_t)c - (uint32_t)t->cmp;
            periods = p32 ? past / p32 + 1 : 1;
            t->cmp = (uint32_t)((uint32_t)t->cmp + (uint32_t)periods * p32);
        } else {
            periods = c >= t->cmp ? (c - t->cmp) / t->period + 1 : 1;
            t->cmp += periods * t->period;
        }
    }
    if (t->config & TN_LEVEL)
        periods = 1;
    for (uint64_t i = 0; i < periods && i < HPET_CATCHUP_MAX; i++)
        raise_irq(t);
    if (t->config & TN_PERIODIC && t->period)
        arm(t);
    else if (t->config & TN_32BIT)
        arm(t);         /* matches again after the low 32 bits wrap */
}

static void set_config(struct hpet *h, uint64_t v)
{
    uint64_t old = h->config;
    v &= CFG_ENABLE | CFG_LEGACY;
    if ((old ^ v) & CFG_ENABLE) {
        if (v & CFG_ENABLE) {
            h->offset_ns = clock_ns(h->clk);
        } else {
            h->counter = counter_now(h);
        }
    }
    /* Lines move when legacy routing changes: drop them on the old route. */
    if ((old ^ v) & CFG_LEGACY)
        for (int i = 0; i < 2; i++)
            lower_irq(&h->tm[i]);
    h->config = v;
    if ((old ^ v) & CFG_LEGACY && h->hooks.legacy)
        h->hooks.legacy(h->hooks.opaque, v & CFG_LEGACY);
    for (int i = 0; i < HPET_TIMERS; i++)
        arm(&h->tm[i]);
}

/* Writes of 4 bytes update half of a 64-bit register (offset bit 2). */
static uint64_t merge(uint64_t old, uint64_t off, uint64_t val, unsigned size)
{
    if (size == 8)
        return val;
    unsigned sh = (off & 4) * 8;
    uint64_t mask = (size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1) << sh;
    return (old & ~mask) | ((val << sh) & mask);
}

uint64_t hpet_read(void *opaque, uint64_t off, unsigned size)
{
    struct hpet *h = opaque;
    uint64_t v = 0;
    uint64_t reg = off & ~7ULL;
    if (reg == 0x000)
        v = CAP_LOW | ((uint64_t)PERIOD_FS << 32);
    else if (reg == 0x010)
        v = h->config;
    else if (reg == 0x020)
        v = h->isr;
    else if (reg == 0x0f0)
        v = counter_now(h);
    else if (reg >= 0x100 && reg < 0x100 + 0x20 * HPET_TIMERS) {
        struct hpet_timer *t = &h->tm[(reg - 0x100) >> 5];
        switch (reg & 0x18) {
        case 0x00: v = t->config; break;
        case 0x08: v = (t->config & TN_32BIT) ? (uint32_t)t->cmp : t->cmp; break;
        default: v = 0; break;      /* FSB route: no FSB delivery */
        }
    }
    v >>= (off & 4) * 8;
    return size == 8 ? v : v & (size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1);
}

void hpet_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct hpet *h = opaque;
    uint64_t reg = off & ~7ULL;
    if (reg == 0x010) {
        set_config(h, merge(h->config, off, val, size));
    } else if (reg == 0x020) {
        /* Write 1 to clear a level-triggered timer's status and line. */
        uint64_t clr = merge(0, off, val, size);
        for (int i = 0; i < HPET_TIMERS; i++)
            if ((clr & (1ULL << i)) && (h->isr & (1ULL << i)))
                lower_irq(&h->tm[i]);
    } else if (reg == 0x0f0) {
        /* The counter may be written only while halted (spec §2.3.7). */
        if (!enabled(h))
            h->counter = merge(h->counter, off, val, size);
    } else if (reg >= 0x100 && reg < 0x100 + 0x20 * HPET_TIMERS) {
        struct hpet_timer *t = &h->tm[(reg - 0x100) >> 5];
        switch (reg & 0x18) {
        case 0x00: {
            uint64_t old = t->config;
            uint64_t nv = merge(old, off, val, size);
            t->config = (old & ~(uint64_t)TN_WMASK) | (nv & TN_WMASK);
            /* Only routes in the capability are accepted. */
            if (!(ROUTE_CAP & (1u << TN_ROUTE(t->config))))
                t->config = (t->config & ~(0x1fULL << 9)) | (old & (0x1fULL << 9));
            if ((old ^ t->config) & (TN_LEVEL | TN_ENABLE | (0x1fULL << 9)))
                lower_irq(t);
            if (t->config & TN_32BIT) {
                t->cmp = (uint32_t)t->cmp;
                t->period = (uint32_t)t->period;
            }
            arm(t);
            break;
        }
        case 0x08: {
            uint64_t nv = merge(t->cmp, off, val, size);
            if (t->config & TN_32BIT)
                nv = (uint32_t)nv;
            if (!(t->config & TN_PERIODIC) || (t->config & TN_SETVAL))
                t->cmp = nv;
            t->period = merge(t->period, off, val, size);
            if (t->config & TN_32BIT)
                t->period = (uint32_t)t->period;
            t->config &= ~(uint64_t)TN_SETVAL;
            arm(t);
            break;
        }
        default:
            break;
        }
    }
}

void hpet_reset(struct hpet *h)
{
    bool was_legacy = h->config & CFG_LEGACY;
    h->config = 0;
    h->isr = 0;
    h->counter = 0;
    h->offset_ns = clock_ns(h->clk);
    for (int i = 0; i < HPET_TIMERS; i++) {
        struct hpet_timer *t = &h->tm[i];
        timer_del(&t->t);
        t->config = TN_PER_CAP | TN_SIZE_CAP | ((uint64_t)ROUTE_CAP << 32);
        t->cmp = ~0ULL;
        t->period = 0;
        t->level = 0;
    }
    if (was_legacy && h->hooks.legacy)
        h->hooks.legacy(h->hooks.opaque, false);
}

struct hpet *hpet_create(struct iomap *mmio, struct clock *clk, const struct hpet_hooks *hooks)
{
    struct hpet *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->mmio = mmio;
    h->clk = clk;
    h->hooks = *hooks;
    for (int i = 0; i < HPET_TIMERS; i++) {
        h->tm[i].h = h;
        h->tm[i].n = i;
        timer_init(&h->tm[i].t, clk, hpet_timer_fire, &h->tm[i]);
    }
    hpet_reset(h);
    if (mmio && iomap_register(mmio, HPET_BASE, 0x400, hpet_read, hpet_write, h, "hpet") < 0) {
        free(h);
        return NULL;
    }
    return h;
}

void hpet_free(struct hpet *h)
{
    if (!h)
        return;
    for (int i = 0; i < HPET_TIMERS; i++)
        timer_del(&h->tm[i].t);
    if (h->mmio)
        iomap_unregister(h->mmio, HPET_BASE);
    free(h);
}
