/* Local APIC (Intel SDM vol. 3A, chapter 11), xAPIC and x2APIC modes.
 *
 * State per CPU, so that each vCPU owns its LAPIC; what crosses CPUs is an
 * interrupt message, and every message (ICR, IOAPIC) goes through
 * deliver_mask(): with vCPUs on several threads it is where a message
 * reaches another thread (today: one vCPU, so INIT/SIPI and IPIs to absent
 * CPUs go nowhere).
 *
 * Time: the timer counts at 1 GHz divided by TDCR (the clock's nanoseconds,
 * as QEMU's APIC, and the rate Linux derives from CPUID leaf 15H's crystal),
 * so nothing runs per tick: the count is a function of (now - start). The
 * TSC-deadline mode compares with the guest TSC, also 1 GHz: the deadline
 * becomes a clock time when it is written (deadline - TSC now, from now).
 *
 * Interrupt state (SDM 11.8): IRR/ISR/TMR as 256-bit maps, PPR from TPR and
 * the highest in-service class; INTR is asserted while the highest IRR
 * class is above PPR's (and the APIC is software-enabled), or while the 8259
 * requests through an unmasked ExtINT LINT0 (virtual wire mode, 11.5.1), or
 * with the APIC globally disabled (the 8259 then reaches the CPU directly,
 * CPU 0 only, as on a uniprocessor PC). */
#include "hw/lapic.h"
#include <stdlib.h>
#include <string.h>

/* Register offsets (SDM 11.4.1 table 11-1). */
#define R_ID     0x020
#define R_VER    0x030
#define R_TPR    0x080
#define R_APR    0x090
#define R_PPR    0x0a0
#define R_EOI    0x0b0
#define R_RRD    0x0c0
#define R_LDR    0x0d0
#define R_DFR    0x0e0
#define R_SVR    0x0f0
#define R_ISR    0x100
#define R_TMR    0x180
#define R_IRR    0x200
#define R_ESR    0x280
#define R_ICR    0x300
#define R_ICR2   0x310
#define R_LVT    0x320      /* timer, thermal, perf, LINT0, LINT1, error */
#define R_TMICT  0x380
#define R_TMCCT  0x390
#define R_TDCR   0x3e0
#define R_SELF   0x3f0      /* x2APIC only */

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_N };
/* Writable bits of each LVT entry (vector, delivery mode, polarity,
 * trigger, mask, timer mode); delivery status and remote IRR read 0. */
static const uint32_t lvt_wmask[LVT_N] = {0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff};

#define LVT_MASKED   (1u << 16)
#define LVT_DM(v)    (((v) >> 8) & 7)
#define TIMER_MODE(v) (((v) >> 17) & 3)
#define TMODE_ONESHOT  0
#define TMODE_PERIODIC 1
#define TMODE_DEADLINE 2

#define SVR_ENABLE   (1u << 8)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)

/* Version 0x14 (integrated APIC) with 6 LVT entries, as QEMU's. */
#define APIC_VERSION (0x14u | ((LVT_N - 1u) << 16))

struct lapic {
    struct apic_bus *bus;
    int cpu;
    uint32_t id;
    uint64_t apicbase;
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending;
    uint32_t isr[8], irr[8], tmr[8];
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_N];
    uint32_t tmict, tdcr;
    unsigned tdiv_shift;         /* count rate = 1 GHz >> shift */
    uint64_t tstart;             /* clock ns at which the count was tmict */
    uint64_t tsc_deadline;       /* IA32_TSC_DEADLINE as written (0: disarmed) */
    struct timer timer;
    bool intr;                   /* last level given to cpu_intr */
};

struct apic_bus {
    struct apic_bus_hooks h;
    struct clock *clk;
    struct iomap *mmio;
    uint64_t mmio_base;          /* where the xAPIC page is registered (0: nowhere) */
    int pic_level;
    int n;
    struct lapic cpu[APIC_MAX_CPUS];
};

static bool hw_enabled(const struct lapic *l) { return l->apicbase & APICBASE_ENABLE; }
static bool x2apic(const struct lapic *l) { return l->apicbase & APICBASE_X2APIC; }
static bool sw_enabled(const struct lapic *l) { return hw_enabled(l) && (l->svr & SVR_ENABLE); }

static bool vec_test(const uint32_t *map, int v) { return map[v >> 5] & (1u << (v & 31)); }
static void vec_set(uint32_t *map, int v) { map[v >> 5] |= 1u << (v & 31); }
static void vec_clear(uint32_t *map, int v) { map[v >> 5] &= ~(1u << (v & 31)); }

static int vec_highest(const uint32_t *map)
{
    for (int i = 7; i >= 0; i--)
        if (map[i])
            return i * 32 + 31 - __builtin_clz(map[i]);
    return -1;
}

/* SDM 11.8.3.1: PPR = TPR when its class is at least the highest in-service
 * class, else that class. */
static uint32_t ppr(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    uint32_t isrc = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isrc ? l->tpr & 0xff : isrc;
}

/* The vector the CPU would take now, or -1. */
static int deliverable(const struct lapic *l)
{
    if (!sw_enabled(l))
        return -1;
    int v = vec_highest(l->irr);
    if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(l) & 0xf0))
        return -1;
    return v;
}

/* Whether the 8259's INT reaches this CPU (see the head comment). */
static bool pic_routed(const struct lapic *l)
{
    if (!hw_enabled(l))
        return l->cpu == 0;
    uint32_t lint0 = l->lvt[LVT_LINT0];
    return !(lint0 & LVT_MASKED) && LVT_DM(lint0) == APIC_DM_EXTINT;
}

static void update(struct lapic *l)
{
    bool level = deliverable(l) >= 0 || (l->bus->pic_level && pic_routed(l));
    if (level != l->intr) {
        l->intr = level;
        if (l->bus->h.cpu_intr)
            l->bus->h.cpu_intr(l->bus->h.opaque, l->cpu, level);
    }
}

static void set_error(struct lapic *l, uint32_t bits);

/* A message arriving at this LAPIC (SDM 11.6.1 delivery modes). Returns
 * true when a fixed vector was already in IRR (the two merge). */
static bool accept(struct lapic *l, enum apic_dm dm, uint8_t vector, bool level)
{
    struct apic_bus_hooks *h = &l->bus->h;
    bool merged = false;
    switch (dm) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (vector < 16) {
            set_error(l, ESR_RECV_ILLEGAL);
            return false;
        }
        merged = vec_test(l->irr, vector);
        vec_set(l->irr, vector);
        if (level)
            vec_set(l->tmr, vector);
        else
            vec_clear(l->tmr, vector);
        update(l);
        break;
    case APIC_DM_NMI:
        if (h->cpu_nmi)
            h->cpu_nmi(h->opaque, l->cpu);
        break;
    case APIC_DM_INIT:
        if (h->cpu_init)
            h->cpu_init(h->opaque, l->cpu);
        break;
    case APIC_DM_SIPI:
        if (h->cpu_sipi)
            h->cpu_sipi(h->opaque, l->cpu, vector);
        break;
    default:    /* SMI, ExtINT messages: not on this board */
        break;
    }
    return merged;
}

/* The one delivery function: every interrupt message ends here. True
 * when it merged into a pending request somewhere. */
static bool deliver_mask(struct apic_bus *b, uint32_t mask, enum apic_dm dm, uint8_t vector, bool level)
{
    if (dm == APIC_DM_LOWEST && mask) {
        /* Lowest priority (SDM 11.6.2.4): the target with the lowest TPR. */
        int best = -1;
        for (int i = 0; i < b->n; i++)
            if ((mask & (1u << i)) && (best < 0 || (b->cpu[i].tpr & 0xf0) < (b->cpu[best].tpr & 0xf0)))
                best = i;
        mask = 1u << best;
    }
    bool merged = false;
    for (int i = 0; i < b->n; i++)
        if (mask & (1u << i))
            merged |= accept(&b->cpu[i], dm, vector, level);
    return merged;
}

static void set_error(struct lapic *l, uint32_t bits)
{
    l->esr_pending |= bits;
    uint32_t lvt = l->lvt[LVT_ERROR];
    if (!(lvt & LVT_MASKED) && sw_enabled(l))
        accept(l, APIC_DM_FIXED, lvt & 0xff, false);
}

/* x2APIC logical id (SDM 11.12.10.2): cluster in 31:16, one bit of 15:0. */
static uint32_t x2apic_ldr(uint32_t id)
{
    return ((id >> 4) << 16) | (1u << (id & 0xf));
}

static bool logical_match(const struct lapic *l, uint32_t dest, bool x2)
{
    if (x2apic(l)) {
        if (!x2)
            dest &= 0xff;
        if (dest == 0xffffffff)
            return true;
        return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff);
    }
    dest &= 0xff;
    if (dest == 0xff)
        return true;
    uint32_t ldr = l->ldr >> 24;
    if ((l->dfr >> 28) == 0xf)              /* flat model */
        return (ldr & dest) != 0;
    return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);   /* cluster */
}

/* CPUs addressed by a destination (SDM 11.6.2): physical = APIC id (all
 * ones: broadcast), logical = LDR/DFR match. x2 says the message carries a
 * 32-bit (x2APIC) destination, else 8 bits. */
static uint32_t dest_mask(struct apic_bus *b, uint32_t dest, bool logical, bool x2)
{
    uint32_t mask = 0;
    for (int i = 0; i < b->n; i++) {
        struct lapic *l = &b->cpu[i];
        if (!hw_enabled(l))
            continue;
        bool hit;
        if (logical)
            hit = logical_match(l, dest, x2);
        else if (x2)
            hit = dest == 0xffffffff || dest == l->id;
        else
            hit = (dest & 0xff) == 0xff || (dest & 0xff) == l->id;
        if (hit)
            mask |= 1u << i;
    }
    return mask;
}

bool apic_bus_deliver(struct apic_bus *b, uint32_t dest, bool logical, enum apic_dm dm,
                      uint8_t vector, bool level)
{
    return deliver_mask(b, dest_mask(b, dest, logical, false), dm, vector, level);
}

/* ICR write (SDM 11.6.1): the message goes out at once, so delivery status
 * always reads idle. */
static void send_ipi(struct lapic *l)
{
    struct apic_bus *b = l->bus;
    uint32_t lo = l->icr_lo;
    enum apic_dm dm = (enum apic_dm)LVT_DM(lo);
    uint8_t vector = lo & 0xff;
    bool logical = lo & (1u << 11);
    bool level = lo & (1u << 15);
    uint32_t all = (b->n >= 32 ? ~0u : (1u << b->n) - 1);
    uint32_t mask;
    /* INIT level de-assert only synchronises arbitration ids (P6 legacy). */
    if (dm == APIC_DM_INIT && level && !(lo & (1u << 14)))
        return;
    switch ((lo >> 18) & 3) {
    case 1: mask = 1u << l->cpu; break;                    /* self */
    case 2: mask = all; break;                             /* all including self */
    case 3: mask = all & ~(1u << l->cpu); break;           /* all excluding self */
    default:
        mask = dest_mask(b, x2apic(l) ? l->icr_hi : l->icr_hi >> 24, logical, x2apic(l));
        break;
    }
    if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vector < 16) {
        set_error(l, ESR_SEND_ILLEGAL);
        return;
    }
    deliver_mask(b, mask, dm, vector, level);
}

static void eoi(struct lapic *l)
{
    int v = vec_highest(l->isr);
    if (v < 0)
        return;
    vec_clear(l->isr, v);
    /* Level-triggered: the IOAPIC learns the EOI (its remote IRR). */
    if (vec_test(l->tmr, v) && l->bus->h.eoi_broadcast)
        l->bus->h.eoi_broadcast(l->bus->h.opaque, v);
    update(l);
}

int lapic_intr_ack(struct lapic *l)
{
    int v = deliverable(l);
    if (v >= 0) {
        vec_clear(l->irr, v);
        vec_set(l->isr, v);
        if (l->bus->h.accepted)
            l->bus->h.accepted(l->bus->h.opaque, v);
        update(l);
        return v;
    }
    if (l->bus->pic_level && pic_routed(l) && l->bus->h.pic_ack) {
        v = l->bus->h.pic_ack(l->bus->h.opaque);
        update(l);
        return v;
    }
    return -1;
}

bool lapic_intr_pending(const struct lapic *l)
{
    return l->intr;
}

void apic_bus_set_pic_intr(struct apic_bus *b, int level)
{
    b->pic_level = level;
    for (int i = 0; i < b->n; i++)
        update(&b->cpu[i]);
}

/* ---- timer ---- */

static uint64_t now(const struct lapic *l) { return clock_ns(l->bus->clk); }

static uint32_t timer_mode(const struct lapic *l) { return TIMER_MODE(l->lvt[LVT_TIMER]); }

/* Counts elapsed since the load, at 1 GHz >> shift. */
static uint64_t timer_ticks(const struct lapic *l)
{
    uint64_t t = now(l);
    return t > l->tstart ? (t - l->tstart) >> l->tdiv_shift : 0;
}

static uint32_t timer_current(const struct lapic *l)
{
    if (!l->tmict || timer_mode(l) == TMODE_DEADLINE)
        return 0;
    uint64_t d = timer_ticks(l);
    if (timer_mode(l) == TMODE_PERIODIC)
        return l->tmict - (uint32_t)(d % l->tmict);
    return d >= l->tmict ? 0 : l->tmict - (uint32_t)d;
}

/* Arms the host timer for the next expiry after `after` (clock ns). */
static void timer_arm(struct lapic *l)
{
    switch (timer_mode(l)) {
    case TMODE_DEADLINE:
        /* armed by lapic_msr_write (its deadline is in clock ns already) */
        return;
    case TMODE_PERIODIC: {
        if (!l->tmict) {
            timer_del(&l->timer);
            return;
        }
        /* The next period end after now: periods the host slept through are
         * merged into one interrupt, as an APIC that could not be serviced
         * would (IRR holds one bit per vector). */
        uint64_t period = (uint64_t)l->tmict << l->tdiv_shift;
        uint64_t n = timer_ticks(l) / l->tmict + 1;
        timer_mod(&l->timer, l->tstart + n * period);
        return;
    }
    default:
        if (l->tmict && timer_ticks(l) < l->tmict)
            timer_mod(&l->timer, l->tstart + ((uint64_t)l->tmict << l->tdiv_shift));
        else
            timer_del(&l->timer);
        return;
    }
}

static void timer_fire(void *opaque)
{
    struct lapic *l = opaque;
    uint32_t lvt = l->lvt[LVT_TIMER];
    if (timer_mode(l) == TMODE_DEADLINE)
        l->tsc_deadline = 0;            /* SDM 11.5.4.1: cleared when it fires */
    if (!(lvt & LVT_MASKED) && sw_enabled(l))
        accept(l, APIC_DM_FIXED, lvt & 0xff, false);
    if (timer_mode(l) == TMODE_PERIODIC)
        timer_arm(l);
}

static void set_tdcr(struct lapic *l, uint32_t v)
{
    /* SDM 11.5.4 figure 11-10: bits 3,1:0; 1011 divides by 1. */
    uint32_t cur = timer_current(l);
    l->tdcr = v & 0xb;
    unsigned code = (l->tdcr & 3) | ((l->tdcr >> 1) & 4);
    l->tdiv_shift = (code + 1) & 7;
    /* Keep the current count where it is under the new rate. */
    if (l->tmict && cur) {
        uint64_t done = l->tmict - cur;
        l->tstart = now(l) - (done << l->tdiv_shift);
        timer_arm(l);
    }
}

static void set_lvt_timer(struct lapic *l, uint32_t v)
{
    uint32_t old = timer_mode(l);
    l->lvt[LVT_TIMER] = v;
    if (TIMER_MODE(v) != old) {
        /* Switching modes disarms (SDM 11.5.4.1). */
        timer_del(&l->timer);
        l->tsc_deadline = 0;
        l->tmict = 0;
    }
}

/* ---- registers ---- */

static void reset_lapic(struct lapic *l, bool power_on)
{
    timer_del(&l->timer);
    if (power_on)
        l->apicbase = APIC_DEFAULT_BASE | APICBASE_ENABLE | (l->cpu == 0 ? APICBASE_BSP : 0);
    l->tpr = l->ldr = l->esr = l->esr_pending = 0;
    l->dfr = 0xffffffff;
    l->svr = 0xff;
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->icr_lo = l->icr_hi = 0;
    for (int i = 0; i < LVT_N; i++)
        l->lvt[i] = LVT_MASKED;
    /* The BSP's LINT0 comes up as ExtINT (virtual wire), as in QEMU, so
     * that the 8259 reaches the CPU through an enabled APIC. */
    if (l->cpu == 0)
        l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
    l->tmict = 0;
    l->tdcr = 0;
    l->tdiv_shift = 1;
    l->tsc_deadline = 0;
    update(l);
}

static void set_svr(struct lapic *l, uint32_t v)
{
    l->svr = v & 0x1ff;     /* no focus checking, no EOI-broadcast suppression */
    if (!(l->svr & SVR_ENABLE))
        for (int i = 0; i < LVT_N; i++)
            l->lvt[i] |= LVT_MASKED;
    update(l);
}

uint32_t lapic_reg_read(struct lapic *l, uint32_t off)
{
    off &= 0xff0;
    switch (off) {
    case R_ID: return x2apic(l) ? l->id : l->id << 24;
    case R_VER: return APIC_VERSION;
    case R_TPR: return l->tpr;
    case R_APR: return 0;
    case R_PPR: return ppr(l);
    case R_LDR: return l->ldr;
    case R_DFR: return l->dfr;
    case R_SVR: return l->svr;
    case R_ESR: return l->esr;
    case R_ICR: return l->icr_lo & ~(1u << 12);
    case R_ICR2: return l->icr_hi;
    case R_TMICT: return timer_mode(l) == TMODE_DEADLINE ? 0 : l->tmict;
    case R_TMCCT: return timer_current(l);
    case R_TDCR: return l->tdcr;
    default:
        if (off >= R_ISR && off < R_ISR + 0x80) return l->isr[(off - R_ISR) >> 4];
        if (off >= R_TMR && off < R_TMR + 0x80) return l->tmr[(off - R_TMR) >> 4];
        if (off >= R_IRR && off < R_IRR + 0x80) return l->irr[(off - R_IRR) >> 4];
        if (off >= R_LVT && off < R_LVT + 0x10 * LVT_N) return l->lvt[(off - R_LVT) >> 4];
        return 0;
    }
}

void lapic_reg_write(struct lapic *l, uint32_t off, uint32_t val)
{
    off &= 0xff0;
    switch (off) {
    case R_ID:
        if (!x2apic(l))
            l->id = val >> 24;
        break;
    case R_TPR:
        l->tpr = val & 0xff;
        update(l);
        break;
    case R_EOI: eoi(l); break;
    case R_LDR:
        if (!x2apic(l))
            l->ldr = val & 0xff000000;
        break;
    case R_DFR:
        if (!x2apic(l))
            l->dfr = val | 0x0fffffff;
        break;
    case R_SVR: set_svr(l, val); break;
    case R_ESR:
        /* A write latches the errors seen since the last one (SDM 11.5.3). */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case R_ICR:
        l->icr_lo = val & ~(1u << 12);
        send_ipi(l);
        break;
    case R_ICR2: l->icr_hi = val & 0xff000000; break;
    case R_TMICT:
        if (timer_mode(l) == TMODE_DEADLINE)
            break;      /* ignored in TSC-deadline mode (SDM 11.5.4.1) */
        l->tmict = val;
        l->tstart = now(l);
        timer_arm(l);
        break;
    case R_TDCR: set_tdcr(l, val); break;
    case R_SELF:
        if (x2apic(l))
            deliver_mask(l->bus, 1u << l->cpu, APIC_DM_FIXED, val & 0xff, false);
        break;
    default:
        if (off >= R_LVT && off < R_LVT + 0x10 * LVT_N) {
            int i = (off - R_LVT) >> 4;
            uint32_t v = val & lvt_wmask[i];
            if (!(l->svr & SVR_ENABLE))
                v |= LVT_MASKED;    /* SDM 11.4.7.2: masked while software-disabled */
            if (i == LVT_TIMER)
                set_lvt_timer(l, v);
            else
                l->lvt[i] = v;
            update(l);
        }
        break;
    }
}

/* ---- xAPIC page ---- */

static struct lapic *current(struct apic_bus *b)
{
    int cpu = b->h.current_cpu ? b->h.current_cpu(b->h.opaque) : 0;
    return &b->cpu[cpu >= 0 && cpu < b->n ? cpu : 0];
}

/* Registers are 32 bits wide on 16-byte boundaries; other sizes and
 * offsets read as the containing register's bytes (QEMU allows the same). */
static uint64_t mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    struct lapic *l = current(opaque);
    if (!hw_enabled(l) || x2apic(l))
        return ~0ULL;
    uint32_t v = lapic_reg_read(l, (uint32_t)addr);
    unsigned shift = (addr & 3) * 8;
    v >>= shift;
    return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct lapic *l = current(opaque);
    (void)size;
    if (!hw_enabled(l) || x2apic(l) || (addr & 0xf))
        return;
    lapic_reg_write(l, (uint32_t)addr, (uint32_t)val);
}

/* The page sits at the BSP's base; a relocation moves it (with one vCPU the
 * only base there is; SMP guests keep every LAPIC at one address). */
static void map_page(struct apic_bus *b, uint64_t base)
{
    if (base == b->mmio_base || !b->mmio)
        return;
    if (b->mmio_base)
        iomap_unregister(b->mmio, b->mmio_base);
    b->mmio_base = 0;
    if (iomap_register(b->mmio, base, 0x1000, mmio_read, mmio_write, b, "lapic") == 0)
        b->mmio_base = base;
}

/* ---- MSRs ---- */

#define MSR_APICBASE    0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define DEADLINE_NEVER  (1ULL << 62)    /* ns: 146 years */

static bool set_apicbase(struct lapic *l, uint64_t v)
{
    /* Reserved bits (40-bit physical addresses here), BSP is read-only. */
    if (v & ~(0xfffffff000ULL | APICBASE_ENABLE | APICBASE_X2APIC | APICBASE_BSP))
        return false;
    v = (v & ~APICBASE_BSP) | (l->apicbase & APICBASE_BSP);
    uint64_t mode = v & (APICBASE_ENABLE | APICBASE_X2APIC);
    uint64_t old = l->apicbase & (APICBASE_ENABLE | APICBASE_X2APIC);
    /* SDM 11.12.5 figure 11-27: x2APIC needs EN; x2APIC -> xAPIC only
     * through disabled. */
    if (mode == APICBASE_X2APIC)
        return false;
    if (old == (APICBASE_ENABLE | APICBASE_X2APIC) && mode == APICBASE_ENABLE)
        return false;
    l->apicbase = v;
    if (mode != old) {
        if (!(mode & APICBASE_ENABLE))
            reset_lapic(l, false);      /* disabling loses the state, as INIT */
        else if (mode & APICBASE_X2APIC)
            l->ldr = x2apic_ldr(l->id);
    }
    if (l->cpu == 0)
        map_page(l->bus, v & 0xfffffff000ULL);
    update(l);
    return true;
}

bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t tsc, uint64_t *val)
{
    (void)tsc;
    if (msr == MSR_APICBASE) {
        *val = l->apicbase;
        return true;
    }
    if (msr == MSR_TSC_DEADLINE) {
        *val = timer_mode(l) == TMODE_DEADLINE ? l->tsc_deadline : 0;
        return true;
    }
    if (msr < 0x800 || msr > 0x8ff || !x2apic(l))
        return false;
    uint32_t off = (msr - 0x800) << 4;
    switch (off) {
    case R_ID: case R_VER: case R_TPR: case R_PPR: case R_LDR: case R_SVR: case R_ESR:
    case R_TMICT: case R_TMCCT: case R_TDCR:
        break;
    case R_ICR:
        *val = ((uint64_t)l->icr_hi << 32) | lapic_reg_read(l, R_ICR);
        return true;
    default:
        if ((off >= R_ISR && off < R_IRR + 0x80) || (off >= R_LVT && off < R_LVT + 0x10 * LVT_N))
            break;
        return false;       /* EOI, SELF IPI (write-only), DFR, ICR2, APR, RRD: #GP */
    }
    *val = lapic_reg_read(l, off);
    return true;
}

bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t tsc, uint64_t val)
{
    if (msr == MSR_APICBASE)
        return set_apicbase(l, val);
    if (msr == MSR_TSC_DEADLINE) {
        if (timer_mode(l) != TMODE_DEADLINE)
            return true;        /* ignored outside TSC-deadline mode */
        l->tsc_deadline = val;
        if (!val) {
            timer_del(&l->timer);
        } else {
            /* Years away (or garbage): never, rather than a wrapped sum. */
            uint64_t d = val > tsc ? val - tsc : 0;
            if (d >= DEADLINE_NEVER)
                timer_del(&l->timer);
            else
                timer_mod(&l->timer, now(l) + d);
        }
        return true;
    }
    if (msr < 0x800 || msr > 0x8ff || !x2apic(l))
        return false;
    uint32_t off = (msr - 0x800) << 4;
    /* SDM 11.12.1.2: reserved bits of the 32-bit registers #GP. */
    switch (off) {
    case R_TPR:
        if (val & ~0xffULL) return false;
        break;
    case R_EOI:
        if (val) return false;
        break;
    case R_SVR:
        if (val & ~0x11ffULL) return false;
        break;
    case R_ESR:
        if (val) return false;
        break;
    case R_ICR:
        l->icr_hi = (uint32_t)(val >> 32);
        lapic_reg_write(l, R_ICR, (uint32_t)val);
        return true;
    case R_TMICT: case R_TDCR:
        if (val >> 32) return false;
        break;
    case R_SELF:
        if (val & ~0xffULL) return false;
        break;
    default:
        if (off >= R_LVT && off < R_LVT + 0x10 * LVT_N && !(val >> 32))
            break;
        return false;       /* read-only (ID, VER, LDR, PPR, ISR/TMR/IRR, TMCCT) or absent */
    }
    lapic_reg_write(l, off, (uint32_t)val);
    return true;
}

uint8_t lapic_get_cr8(const struct lapic *l)
{
    return (uint8_t)((l->tpr >> 4) & 0xf);
}

void lapic_set_cr8(struct lapic *l, uint8_t v)
{
    l->tpr = (uint32_t)(v & 0xf) << 4;
    update(l);
}

/* ---- the bus ---- */

struct apic_bus *apic_bus_create(int ncpus, struct clock *clk, struct iomap *mmio,
                                 const struct apic_bus_hooks *hooks)
{
    if (ncpus < 1 || ncpus > APIC_MAX_CPUS)
        return NULL;
    struct apic_bus *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->h = *hooks;
    b->clk = clk;
    b->mmio = mmio;
    b->n = ncpus;
    for (int i = 0; i < ncpus; i++) {
        struct lapic *l = &b->cpu[i];
        l->bus = b;
        l->cpu = i;
        l->id = (uint32_t)i;
        timer_init(&l->timer, clk, timer_fire, l);
        reset_lapic(l, true);
    }
    map_page(b, APIC_DEFAULT_BASE);
    if (mmio && !b->mmio_base) {
        free(b);
        return NULL;
    }
    return b;
}

void apic_bus_reset(struct apic_bus *b)
{
    b->pic_level = 0;
    for (int i = 0; i < b->n; i++) {
        b->cpu[i].id = (uint32_t)i;
        reset_lapic(&b->cpu[i], true);
    }
    map_page(b, APIC_DEFAULT_BASE);
}

void apic_bus_free(struct apic_bus *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->n; i++)
        timer_del(&b->cpu[i].timer);
    if (b->mmio_base)
        iomap_unregister(b->mmio, b->mmio_base);
    free(b);
}

struct lapic *apic_bus_cpu(struct apic_bus *b, int cpu)
{
    return cpu >= 0 && cpu < b->n ? &b->cpu[cpu] : NULL;
}
