/* 8254 programmable interval timer (Intel 8254 datasheet, order 231164).
 *
 * Time base: the PIT's CLK is the clock's nanoseconds mapped onto the
 * 1.193182 MHz grid: tick(ns) = floor(ns * PIT_FREQ / 1e9). Nothing runs per
 * tick; each channel remembers when it started counting (`start`, a tick) and
 * how far it had counted then (`base_d`), so the counting element (CE) and OUT
 * are pure functions of the current tick. A load takes effect at the tick of
 * the write (the datasheet's "next CLK pulse" is folded into it, like QEMU).
 *
 * d = ticks counted since the count N was loaded. Per mode:
 *   0 interrupt on terminal count   CE = N-d (wraps), OUT = d >= N
 *   1 hw retriggerable one-shot     as 0, started by a GATE rising edge
 *   2 rate generator                CE = N - d%N, OUT low while CE == 1
 *   3 square wave                   CE counts down by 2; OUT high for
 *                                   ceil(N/2) ticks, low for floor(N/2)
 *   4 sw triggered strobe           CE = N-d (wraps), OUT low while d == N
 *   5 hw triggered strobe           as 4, started by a GATE rising edge
 * Modes 6 and 7 are 2 and 3 (the status byte still shows what was written).
 * In modes 2 and 3 a count written while counting takes effect at the end of
 * the current period (mode 2) or half-period (mode 3); GATE low stops counting
 * and forces OUT high, and its rising edge reloads the count. In modes 0 and 4
 * GATE low only suspends counting. */
#include "hw/i8254.h"
#include <stdlib.h>
#include <string.h>

#define RW_LSB   1
#define RW_MSB   2
#define RW_WORD0 3      /* LSB next, then MSB */
#define RW_WORD1 4      /* MSB next */

#define TICK_NEVER UINT64_MAX

struct pit_channel {
    uint8_t mode_raw;       /* M2-M0 as written, for the status byte */
    uint8_t mode;           /* effective mode 0..5 */
    bool bcd;
    uint8_t rw;             /* RW1/RW0 of the control word: 1, 2 or 3 */
    uint8_t read_state, write_state;
    uint8_t write_lsb;      /* first byte of a two-byte count */
    uint8_t latch_state;    /* 0: no count latched, else RW_LSB/RW_MSB/RW_WORD0 */
    uint16_t latched;
    bool status_latched;
    uint8_t status;
    bool gate;
    bool null_count;        /* a count was written but is not in the CE yet */

    uint32_t cr;            /* last count written (1..65536, BCD 1..10000) */
    bool cr_valid;
    uint32_t n;             /* count the CE is working with */
    bool active;            /* the CE holds a count and is running/paused */
    bool counting;          /* the CE advances with CLK */
    uint64_t start;         /* tick at which d == base_d (when counting) */
    uint64_t base_d;
    uint32_t hold_ce;       /* CE and OUT while !active */
    bool hold_out;

    bool pending;           /* modes 2/3: a new count waits for the cycle end */
    uint32_t pending_n;
    uint64_t pending_tick;
    uint64_t pending_d;     /* d to restart at (mode 3 may switch mid-period) */
};

struct pit {
    struct pit_channel ch[3];
    struct iomap *pio;
    struct clock *clk;
    struct irq *irq0;
    struct timer timer;     /* channel 0's next OUT transition */
    bool irq_enabled;
    int irq_level;          /* last level given to irq0 */
    uint64_t irq_tick;      /* irq0 reflects OUT0 up to this tick */
    bool speaker;           /* port 0x61 bit 1 */
    uint8_t port61_rw;      /* port 0x61 bits 2-3 */
};

static uint64_t pit_now(const struct pit *p)
{
    return muldiv64(clock_ns(p->clk), PIT_FREQ, NS_PER_SEC);
}

/* The first nanosecond at which tick(ns) >= t. */
static uint64_t tick_to_ns(uint64_t t)
{
    return (uint64_t)(((unsigned __int128)t * NS_PER_SEC + PIT_FREQ - 1) / PIT_FREQ);
}

static uint32_t modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 65536;
}

static uint16_t bin_to_bcd(uint32_t v)
{
    return (uint16_t)((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) |
                      ((v / 1000 % 10) << 12));
}

/* A written 16-bit count as the number of ticks it stands for. Count 0 is
 * the largest (2^16, or 10^4 in BCD). A BCD count with digits above 9 is the
 * guest's error; it is folded into range rather than trusted. */
static uint32_t decode_count(const struct pit_channel *c, uint16_t v)
{
    uint32_t n = v;
    if (c->bcd) {
        n = (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 +
            ((v >> 12) & 0xf) * 1000;
        n %= 10000;
    }
    return n ? n : modulus(c);
}

static uint64_t ch_d(const struct pit_channel *c, uint64_t t)
{
    if (!c->counting || t < c->start)
        return c->base_d;
    return c->base_d + (t - c->start);
}

static void ch_apply_pending(struct pit_channel *c, uint64_t t)
{
    if (c->pending && c->counting && t >= c->pending_tick) {
        c->n = c->pending_n;
        c->start = c->pending_tick;
        c->base_d = c->pending_d;
        c->pending = false;
        c->null_count = false;
    }
}

static void ch_set_counting(struct pit_channel *c, uint64_t t, bool on)
{
    if (on == c->counting)
        return;
    if (on) {
        c->start = t;
    } else {
        c->base_d = ch_d(c, t);
    }
    c->counting = on;
}

/* The CE (as a binary number of ticks, 0 meaning the top count) and OUT. */
static void ch_eval(struct pit_channel *c, uint64_t t, uint32_t *ce, bool *out)
{
    ch_apply_pending(c, t);
    if (!c->active) {
        *ce = c->hold_ce;
        *out = c->hold_out;
        return;
    }
    uint64_t d = ch_d(c, t);
    uint32_t n = c->n, m = modulus(c);
    uint32_t p, h;
    switch (c->mode) {
    case 0:
    case 1:
        *ce = (n + m - (uint32_t)(d % m)) % m;
        *out = d >= n;
        break;
    case 2:
        p = (uint32_t)(d % n);
        *ce = (n - p) % m;
        *out = n == 1 || p != n - 1 || !c->gate;
        break;
    case 3:
        p = (uint32_t)(d % n);
        h = (n + 1) / 2;
        if (p < h) {
            *ce = ((n & ~1u) - 2 * p) % m;
            *out = true;
        } else {
            *ce = ((n & ~1u) - 2 * (p - h)) % m;
            *out = !c->gate;
        }
        break;
    default:            /* 4, 5 */
        *ce = (n + m - (uint32_t)(d % m)) % m;
        *out = d != n;
        break;
    }
}

/* The first tick after t at which OUT may change, or TICK_NEVER. */
static uint64_t ch_next_transition(struct pit_channel *c, uint64_t t)
{
    ch_apply_pending(c, t);
    if (!c->active || !c->counting)
        return TICK_NEVER;
    uint64_t d = ch_d(c, t), dn = TICK_NEVER;
    uint32_t n = c->n, p, h;
    switch (c->mode) {
    case 0:
    case 1:
        if (d < n)
            dn = n;
        break;
    case 2:
        if (n > 1) {
            p = (uint32_t)(d % n);
            dn = p < n - 1 ? d + (n - 1 - p) : d + 1;
        }
        break;
    case 3:
        if (n > 1) {
            p = (uint32_t)(d % n);
            h = (n + 1) / 2;
            dn = p < h ? d + (h - p) : d + (n - p);
        }
        break;
    default:
        if (d < n)
            dn = n;
        else if (d == n)
            dn = n + 1;
        break;
    }
    uint64_t next = dn == TICK_NEVER ? TICK_NEVER : c->start + (dn - c->base_d);
    if (c->pending && c->pending_tick < next)
        next = c->pending_tick;
    return next;
}

static void ch_load(struct pit_channel *c, uint64_t t, uint32_t n)
{
    c->n = n;
    c->active = true;
    c->start = t;
    c->base_d = 0;
    c->counting = c->gate || c->mode == 1 || c->mode == 5;
    c->null_count = false;
    c->pending = false;
}

/* Stop the CE where it is, with OUT forced to `out`. */
static void ch_freeze(struct pit_channel *c, uint64_t t, bool out)
{
    uint32_t ce;
    bool o;
    ch_eval(c, t, &ce, &o);
    c->hold_ce = ce;
    c->hold_out = out;
    c->active = false;
    c->counting = false;
    c->pending = false;
}

static void ch_write_count(struct pit_channel *c, uint64_t t, uint16_t v)
{
    uint32_t n = decode_count(c, v);
    c->cr = n;
    c->cr_valid = true;
    c->null_count = true;
    switch (c->mode) {
    case 0:
    case 4:
        ch_load(c, t, n);
        break;
    case 1:
    case 5:
        break;              /* loaded by the next GATE trigger */
    default:                /* 2, 3 */
        if (!c->active) {
            ch_load(c, t, n);
        } else if (c->counting) {
            ch_apply_pending(c, t);
            uint64_t d = ch_d(c, t);
            uint32_t p = (uint32_t)(d % c->n);
            uint32_t h = (c->n + 1) / 2;
            uint64_t end;
            if (c->mode == 3 && p < h) {
                end = d - p + h;            /* end of the high half */
                c->pending_d = (n + 1) / 2; /* new count starts its low half */
            } else {
                end = d - p + c->n;
                c->pending_d = 0;
            }
            c->pending = true;
            c->pending_n = n;
            c->pending_tick = c->start + (end - c->base_d);
        }
        /* else: gated off; the GATE rising edge loads cr */
        break;
    }
}

static void ch_control(struct pit_channel *c, uint64_t t, uint8_t val)
{
    ch_freeze(c, t, false);
    c->mode_raw = (val >> 1) & 7;
    c->mode = c->mode_raw > 5 ? c->mode_raw - 4 : c->mode_raw;
    c->bcd = val & 1;
    c->rw = (val >> 4) & 3;
    c->read_state = c->write_state = c->rw;
    c->latch_state = 0;
    c->status_latched = false;
    c->null_count = true;
    c->cr_valid = false;
    /* OUT's initial state after a control word: low in mode 0, high in the
     * others (datasheet, "Mode Definitions"). */
    c->hold_out = c->mode != 0;
}

static void ch_set_gate(struct pit_channel *c, uint64_t t, bool g)
{
    bool rising = g && !c->gate;
    if (g == c->gate)
        return;
    if (!g && (c->mode == 2 || c->mode == 3))
        ch_apply_pending(c, t);
    if (c->active && !(c->mode == 1 || c->mode == 5))
        ch_set_counting(c, t, g);
    c->gate = g;
    if (!g) {
        c->pending = false;
        return;
    }
    if (rising && c->mode != 0 && c->mode != 4 && c->cr_valid)
        ch_load(c, t, c->cr);       /* trigger (1, 5) or reload (2, 3) */
}

static void ch_latch_count(struct pit_channel *c, uint64_t t)
{
    if (c->latch_state)
        return;             /* a second latch before the read is ignored */
    uint32_t ce;
    bool out;
    ch_eval(c, t, &ce, &out);
    c->latched = c->bcd ? bin_to_bcd(ce) : (uint16_t)ce;
    c->latch_state = c->rw ? c->rw : RW_LSB;
}

static void ch_latch_status(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched)
        return;
    uint32_t ce;
    bool out;
    ch_eval(c, t, &ce, &out);
    c->status = (uint8_t)((out << 7) | (c->null_count << 6) | (c->rw << 4) |
                          (c->mode_raw << 1) | c->bcd);
    c->status_latched = true;
}

static uint8_t ch_read(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint8_t ret;
    if (c->latch_state) {
        switch (c->latch_state) {
        case RW_MSB:
            ret = c->latched >> 8;
            c->latch_state = 0;
            break;
        case RW_WORD0:
            ret = c->latched & 0xff;
            c->latch_state = RW_MSB;
            break;
        default:
            ret = c->latched & 0xff;
            c->latch_state = 0;
            break;
        }
        return ret;
    }
    uint32_t ce;
    bool out;
    ch_eval(c, t, &ce, &out);
    uint16_t v = c->bcd ? bin_to_bcd(ce) : (uint16_t)ce;
    switch (c->read_state) {
    case RW_MSB:
        return v >> 8;
    case RW_WORD0:
        c->read_state = RW_WORD1;
        return v & 0xff;
    case RW_WORD1:
        c->read_state = RW_WORD0;
        return v >> 8;
    default:
        return v & 0xff;
    }
}

static void ch_write(struct pit_channel *c, uint64_t t, uint8_t v)
{
    switch (c->write_state) {
    case RW_MSB:
        ch_write_count(c, t, (uint16_t)(v << 8));
        break;
    case RW_WORD0:
        c->write_lsb = v;
        c->write_state = RW_WORD1;
        /* Mode 0: the first byte stops counting and OUT goes low at once
         * (datasheet, Mode 0). */
        if (c->mode == 0)
            ch_freeze(c, t, false);
        break;
    case RW_WORD1:
        c->write_state = RW_WORD0;
        ch_write_count(c, t, (uint16_t)(c->write_lsb | (v << 8)));
        break;
    default:
        ch_write_count(c, t, v);
        break;
    }
}

/* --- channel 0 -> irq0 ------------------------------------------------- */

static void irq0_set(struct pit *p, int level)
{
    if (level == p->irq_level)
        return;
    p->irq_level = level;
    irq_set(p->irq0, level);
}

/* Replay OUT0's transitions up to tick t onto irq0. When the host fell far
 * behind, the replay is cut short: the PIC latches one edge anyway. */
static void irq0_sync(struct pit *p, uint64_t t)
{
    struct pit_channel *c = &p->ch[0];
    if (!p->irq_enabled || t <= p->irq_tick) {
        if (t > p->irq_tick)
            p->irq_tick = t;
        return;
    }
    uint64_t cur = p->irq_tick;
    uint32_t ce;
    bool out;
    for (int i = 0; i < 64; i++) {
        uint64_t nt = ch_next_transition(c, cur);
        if (nt > t)
            break;
        cur = nt;
        ch_eval(c, cur, &ce, &out);
        irq0_set(p, out);
    }
    p->irq_tick = t;
}

/* After a change at tick t: give irq0 the level of OUT0 now and arm the
 * timer for the next transition. */
static void irq0_update(struct pit *p, uint64_t t)
{
    if (!p->irq_enabled) {
        timer_del(&p->timer);
        return;
    }
    struct pit_channel *c = &p->ch[0];
    uint32_t ce;
    bool out;
    ch_eval(c, t, &ce, &out);
    irq0_set(p, out);
    p->irq_tick = t;
    uint64_t nt = ch_next_transition(c, t);
    if (nt == TICK_NEVER)
        timer_del(&p->timer);
    else
        timer_mod(&p->timer, tick_to_ns(nt));
}

static void pit_timer_cb(void *opaque)
{
    struct pit *p = opaque;
    uint64_t t = pit_now(p);
    irq0_sync(p, t);
    irq0_update(p, t);
}

/* Every access first brings irq0 up to date with the old state, so a
 * reprogramming never loses or reorders an edge that was due. */
static uint64_t pit_begin(struct pit *p)
{
    uint64_t t = pit_now(p);
    irq0_sync(p, t);
    return t;
}

/* --- ports ------------------------------------------------------------- */

static uint8_t pit_port_read(struct pit *p, uint64_t t, unsigned port)
{
    if (port < 3)
        return ch_read(&p->ch[port], t);
    return 0xff;            /* the control word register is write-only */
}

static void pit_port_write(struct pit *p, uint64_t t, unsigned port, uint8_t v)
{
    if (port < 3) {
        ch_write(&p->ch[port], t, v);
        return;
    }
    unsigned sel = v >> 6;
    if (sel == 3) {
        /* Read-back: 11 COUNT# STATUS# CNT2 CNT1 CNT0 0. Status first so a
         * combined command reads status then count (datasheet, Read-Back). */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            if (!(v & 0x10))
                ch_latch_status(&p->ch[i], t);
            if (!(v & 0x20))
                ch_latch_count(&p->ch[i], t);
        }
        return;
    }
    if (((v >> 4) & 3) == 0)
        ch_latch_count(&p->ch[sel], t);
    else
        ch_control(&p->ch[sel], t, v);
}

/* 8-bit registers; a wider access goes to consecutive ports like an ISA
 * cycle split. */
static uint64_t pit_io_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = pit_begin(p), v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        uint64_t b = a < 4 ? pit_port_read(p, t, (unsigned)a) : 0xff;
        v |= b << (8 * i);
    }
    irq0_update(p, t);
    return v;
}

static void pit_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = pit_begin(p);
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        if (a < 4)
            pit_port_write(p, t, (unsigned)a, (uint8_t)(val >> (8 * i)));
    }
    irq0_update(p, t);
}

/* Port 0x61. The refresh-request bit toggles with each DRAM refresh, which
 * channel 1 paces at 18 PIT clocks (15.085 us) on PC/AT-compatibles. */
static uint64_t port61_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = pit_begin(p);
    uint32_t ce;
    bool out2;
    ch_eval(&p->ch[2], t, &ce, &out2);
    uint64_t b = (uint64_t)p->ch[2].gate | ((uint64_t)p->speaker << 1) | p->port61_rw |
                 (((t / 18) & 1) << 4) | ((uint64_t)out2 << 5);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (addr + i == 0 ? b : 0xff) << (8 * i);
    return v;
}

static void port61_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct pit *p = opaque;
    if (addr != 0)
        return;
    uint64_t t = pit_begin(p);
    p->speaker = (val >> 1) & 1;
    p->port61_rw = val & 0x0c;
    ch_set_gate(&p->ch[2], t, val & 1);
    irq0_update(p, t);
}

/* --- lifecycle ------------------------------------------------------------ */

struct pit *pit_create(struct iomap *pio, struct clock *clk, struct irq *irq0)
{
    if (!clk)
        return NULL;
    struct pit *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->pio = pio;
    p->clk = clk;
    p->irq0 = irq0;
    p->irq_enabled = true;
    timer_init(&p->timer, clk, pit_timer_cb, p);
    if (pio) {
        if (iomap_register(pio, PIT_BASE, 4, pit_io_read, pit_io_write, p, "pit") < 0) {
            free(p);
            return NULL;
        }
        if (iomap_register(pio, PIT_PORT61, 1, port61_read, port61_write, p, "port61") < 0) {
            iomap_unregister(pio, PIT_BASE);
            free(p);
            return NULL;
        }
    }
    pit_reset(p);
    return p;
}

void pit_reset(struct pit *p)
{
    uint64_t t = pit_now(p);
    for (int i = 0; i < 3; i++) {
        struct pit_channel *c = &p->ch[i];
        memset(c, 0, sizeof(*c));
        c->mode = c->mode_raw = 3;
        c->rw = c->read_state = c->write_state = RW_WORD0;
        c->gate = i != 2;
        c->cr = 65536;
        c->cr_valid = true;
        ch_load(c, t, 65536);
    }
    p->speaker = false;
    p->port61_rw = 0;
    /* OUT0 starts high in mode 3 and irq0 says so at once, so the line's
     * level is always known to the other side. A PIC reset (or the guest's
     * ICW1) after this forgets the edge; the next one comes a period later. */
    uint32_t ce;
    bool out;
    ch_eval(&p->ch[0], t, &ce, &out);
    p->irq_level = -1;
    irq0_set(p, out);
    p->irq_tick = t;
    if (p->irq_enabled) {
        uint64_t nt = ch_next_transition(&p->ch[0], t);
        if (nt != TICK_NEVER)
            timer_mod(&p->timer, tick_to_ns(nt));
    }
}

void pit_free(struct pit *p)
{
    if (!p)
        return;
    timer_del(&p->timer);
    if (p->pio) {
        iomap_unregister(p->pio, PIT_BASE);
        iomap_unregister(p->pio, PIT_PORT61);
    }
    free(p);
}

int pit_get_out(struct pit *p, int channel)
{
    if (channel < 0 || channel > 2)
        return 0;
    uint64_t t = pit_begin(p);
    uint32_t ce;
    bool out;
    ch_eval(&p->ch[channel], t, &ce, &out);
    return out;
}

void pit_set_gate(struct pit *p, int channel, int level)
{
    if (channel < 0 || channel > 2)
        return;
    uint64_t t = pit_begin(p);
    ch_set_gate(&p->ch[channel], t, level != 0);
    irq0_update(p, t);
}

void pit_set_irq_enabled(struct pit *p, bool enabled)
{
    if (enabled == p->irq_enabled)
        return;
    uint64_t t = pit_now(p);
    p->irq_enabled = enabled;
    if (!enabled) {
        irq0_set(p, 0);
        timer_del(&p->timer);
        return;
    }
    p->irq_tick = t;
    irq0_update(p, t);
}
