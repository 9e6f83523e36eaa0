/* HPET at the register level, on a manual clock, with probes on its lines
 * and its legacy-replacement hook. */
#include "test.h"
#include "hw/hpet.h"
#include <string.h>

struct hrig {
    struct clock clk;
    struct hpet *h;
    int level[24];
    int rises[24];
    int legacy;
};

static void h_irq(void *o, int line, int level)
{
    struct hrig *r = o;
    if (level && !r->level[line])
        r->rises[line]++;
    r->level[line] = level;
}
static void h_legacy(void *o, bool on) { ((struct hrig *)o)->legacy = on; }

static uint64_t hr(struct hrig *r, uint64_t off) { return hpet_read(r->h, off, 8); }
static void hw(struct hrig *r, uint64_t off, uint64_t v) { hpet_write(r->h, off, v, 8); }

static void hrig_init(struct hrig *r)
{
    memset(r, 0, sizeof(*r));
    clock_init(&r->clk, true);
    struct hpet_hooks hk = {.opaque = r, .set_irq = h_irq, .legacy = h_legacy};
    r->h = hpet_create(NULL, &r->clk, &hk);
}

TEST(hpet_counter_and_capabilities)
{
    struct hrig r;
    hrig_init(&r);
    CHECK_EQ(hr(&r, 0), 0x009896808086a201ULL);
    CHECK_EQ(hpet_read(r.h, 4, 4), 10000000);       /* period in fs */
    CHECK_EQ(hr(&r, 0x100), 0x0000000400000030ULL);
    /* Halted: the counter stands still and is writable. */
    clock_advance(&r.clk, 1000);
    CHECK_EQ(hr(&r, 0xf0), 0);
    hw(&r, 0xf0, 0xfffffff0ULL);
    hw(&r, 0x10, 1);
    clock_advance(&r.clk, 1000);                    /* 100 ticks of 10 ns */
    CHECK_EQ(hr(&r, 0xf0), 0xfffffff0ULL + 100);
    CHECK_EQ(hpet_read(r.h, 0xf4, 4), 1);           /* high half, 32-bit read */
    hw(&r, 0xf0, 5);                                /* ignored while running */
    CHECK_EQ(hr(&r, 0xf0), 0xfffffff0ULL + 100);
    hw(&r, 0x10, 0);
    clock_advance(&r.clk, 1000);
    CHECK_EQ(hr(&r, 0xf0), 0xfffffff0ULL + 100);
    hpet_free(r.h);
}

TEST(hpet_legacy_periodic_oneshot_level)
{
    struct hrig r;
    hrig_init(&r);
    /* Enabling a timer whose comparator is still the reset value (all
     * ones) arms nothing: it is 5800 years away. */
    hw(&r, 0x10, 1);
    hw(&r, 0x140, (1 << 2) | (2 << 9));
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    clock_advance(&r.clk, 1000000);
    CHECK_EQ(r.rises[2], 0);
    hw(&r, 0x140, 0);
    hw(&r, 0x10, 0);
    hw(&r, 0xf0, 0);
    /* Legacy replacement: timer 0 on line 0, periodic every 1000 ticks. */
    hw(&r, 0x10, 3);
    CHECK_EQ(r.legacy, 1);
    hw(&r, 0x100, (1 << 2) | (1 << 3) | (1 << 6));  /* enable, periodic, VAL_SET */
    hw(&r, 0x108, 1000);                            /* first match */
    hw(&r, 0x108, 1000);                            /* the period */
    for (int i = 0; i < 5; i++)
        clock_advance(&r.clk, 10000);
    CHECK_EQ(r.rises[0], 5);
    CHECK_EQ(hr(&r, 0x108), 6000);                  /* comparator moved on */
    /* The host slept through 3 periods: an edge for each (the IOAPIC keeps
     * those that merge), comparator ahead. */
    clock_set(&r.clk, clock_ns(&r.clk) + 35000);
    clock_run_timers(&r.clk);
    CHECK_EQ(r.rises[0], 8);
    CHECK(hr(&r, 0x108) > hr(&r, 0xf0));
    /* Timer 1 one-shot on line 8 (legacy). */
    uint64_t now = hr(&r, 0xf0);
    hw(&r, 0x120, 1 << 2);
    hw(&r, 0x128, now + 10);
    clock_advance(&r.clk, 100);
    CHECK_EQ(r.rises[8], 1);
    clock_advance(&r.clk, 1000000);
    CHECK_EQ(r.rises[8], 1);
    /* Legacy off: timer 2 level-triggered, routed to pin 2 (the only
     * route in its capability; route 5 is refused). */
    hw(&r, 0x10, 1);
    CHECK_EQ(r.legacy, 0);
    hw(&r, 0x100, 0);
    hw(&r, 0x140, (1 << 1) | (1 << 2) | (5 << 9));
    CHECK_EQ((hr(&r, 0x140) >> 9) & 0x1f, 2);       /* kept from above */
    hw(&r, 0x140, (1 << 1) | (1 << 2) | (2 << 9));
    CHECK_EQ((hr(&r, 0x140) >> 9) & 0x1f, 2);
    now = hr(&r, 0xf0);
    hw(&r, 0x148, now + 50);
    clock_advance(&r.clk, 500);
    CHECK_EQ(r.level[2], 1);
    CHECK_EQ(hr(&r, 0x20), 4);
    hw(&r, 0x20, 4);                                /* write 1 to clear */
    CHECK_EQ(r.level[2], 0);
    CHECK_EQ(hr(&r, 0x20), 0);
    /* 32-bit mode: the comparator reads 32 bits and matches on wrap. */
    hw(&r, 0x140, (1 << 2) | (1 << 8) | (2 << 9));
    hw(&r, 0x148, 0x1ffffffffULL);
    CHECK_EQ(hr(&r, 0x148), 0xffffffff);
    hpet_reset(r.h);
    CHECK_EQ(hr(&r, 0x10), 0);
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    hpet_free(r.h);
}
