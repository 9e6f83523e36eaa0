/* 8254 PIT and port 0x61, driven through the port map on a manual clock.
 * Times are in PIT ticks: tick k starts at ns ceil(k * 1e9 / 1193182). */
#include "test.h"
#include "hw/i8254.h"
#include <stdbool.h>
#include <time.h>

struct prig {
    struct iomap pio;
    struct clock clk;
    struct irq irq0;
    int level, rises, falls;
    uint64_t last_rise_ns;
    struct pit *pit;
};

static void irq0_probe(void *opaque, int n, int level)
{
    struct prig *r = opaque;
    (void)n;
    if (level && !r->level) {
        r->rises++;
        r->last_rise_ns = clock_ns(&r->clk);
    }
    if (!level && r->level)
        r->falls++;
    r->level = level;
}

static uint64_t tns(uint64_t k)
{
    return (uint64_t)(((unsigned __int128)k * NS_PER_SEC + PIT_FREQ - 1) / PIT_FREQ);
}

static void prig_init(struct prig *r)
{
    iomap_init(&r->pio, "pio", NULL);
    clock_init(&r->clk, true);
    r->level = 0;
    r->rises = r->falls = 0;
    r->last_rise_ns = 0;
    irq_init(&r->irq0, irq0_probe, r, 0);
    r->pit = pit_create(&r->pio, &r->clk, &r->irq0);
}

static void prig_done(struct prig *r)
{
    pit_free(r->pit);
    CHECK_EQ(clock_next_deadline(&r->clk), CLOCK_NEVER);
    iomap_destroy(&r->pio);
}

/* Move the clock to the start of tick k, firing timers on the way. */
static void go(struct prig *r, uint64_t k)
{
    uint64_t now = clock_ns(&r->clk), target = tns(k);
    if (target < now) {
        test_failf(__FILE__, __LINE__, "go(%llu) backwards", (unsigned long long)k);
        return;
    }
    clock_advance(&r->clk, target - now);
}

static void outb(struct prig *r, uint16_t port, uint8_t v) { iomap_write(&r->pio, port, v, 1); }
static uint8_t inb(struct prig *r, uint16_t port) { return (uint8_t)iomap_read(&r->pio, port, 1); }

static unsigned rd16(struct prig *r, int ch)
{
    unsigned lo = inb(r, 0x40 + ch);
    return lo | (unsigned)inb(r, 0x40 + ch) << 8;
}

static void wr16(struct prig *r, int ch, unsigned v)
{
    outb(r, 0x40 + ch, v & 0xff);
    outb(r, 0x40 + ch, (v >> 8) & 0xff);
}

static unsigned latched16(struct prig *r, int ch)
{
    outb(r, 0x43, (uint8_t)(ch << 6));
    return rd16(r, ch);
}

static uint8_t status(struct prig *r, int ch)
{
    outb(r, 0x43, (uint8_t)(0xe0 | (2 << ch)));   /* read-back: status only */
    return inb(r, 0x40 + ch);
}

static bool out2(struct prig *r) { return (inb(r, 0x61) >> 5) & 1; }

TEST(pit_create_and_free_ports)
{
    struct prig r;
    prig_init(&r);
    CHECK(r.pit != NULL);
    CHECK(iomap_find(&r.pio, 0x40) && iomap_find(&r.pio, 0x43));
    CHECK(iomap_find(&r.pio, 0x61) != NULL);
    CHECK(iomap_find(&r.pio, 0x44) == NULL);
    CHECK(pit_create(&r.pio, &r.clk, NULL) == NULL);   /* ports taken */
    CHECK(clock_next_deadline(&r.clk) != CLOCK_NEVER);  /* ch0 runs from reset */
    prig_done(&r);
    CHECK_EQ(r.pio.count, 0);
}

TEST(pit_reset_state_mode3_full_count)
{
    struct prig r;
    prig_init(&r);
    /* OUT high, RW=3, mode 3, binary, count loaded (null count 0). */
    CHECK_EQ(status(&r, 0), 0xb6);
    CHECK_EQ(status(&r, 1), 0xb6);
    CHECK_EQ(r.level, 1);                              /* irq0 follows OUT0 */
    int rises = r.rises;
    CHECK_EQ(inb(&r, 0x61) & 0x01, 0);                 /* gate 2 low */
    go(&r, 10);
    CHECK_EQ(latched16(&r, 0), 0x10000 - 20);          /* mode 3 counts by 2 */
    CHECK_EQ(latched16(&r, 2), 0);                     /* gated off: held */
    CHECK_EQ(r.rises, rises);
    /* 18.2 Hz: OUT0 rises once per 65536 ticks. */
    go(&r, PIT_FREQ);
    CHECK_EQ(r.rises - rises, PIT_FREQ / 65536);
    CHECK_EQ(r.last_rise_ns, tns(18 * 65536));
    prig_done(&r);
}

TEST(pit_mode0_waveform_and_irq)
{
    struct prig r;
    prig_init(&r);
    go(&r, 1000);
    outb(&r, 0x43, 0x30);                              /* ch0 lohi mode 0 */
    CHECK_EQ(status(&r, 0), 0x70);                     /* OUT low, null count */
    CHECK_EQ(r.level, 0);
    wr16(&r, 0, 100);
    CHECK_EQ(status(&r, 0), 0x30);                     /* loaded */
    CHECK_EQ(rd16(&r, 0), 100);
    go(&r, 1050);
    CHECK_EQ(rd16(&r, 0), 50);
    go(&r, 1099);
    CHECK_EQ(rd16(&r, 0), 1);
    CHECK_EQ(r.level, 0);
    CHECK_EQ(pit_get_out(r.pit, 0), 0);
    int rises = r.rises;
    go(&r, 1100);
    CHECK_EQ(rd16(&r, 0), 0);
    CHECK_EQ(r.rises, rises + 1);
    CHECK_EQ(r.last_rise_ns, tns(1100));               /* to the tick */
    CHECK_EQ(pit_get_out(r.pit, 0), 1);
    go(&r, 1101);
    CHECK_EQ(rd16(&r, 0), 0xffff);                     /* keeps counting, wraps */
    go(&r, 100000);
    CHECK_EQ(r.rises, rises + 1);                      /* one-shot */
    CHECK_EQ(r.level, 1);
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    prig_done(&r);
}

TEST(pit_mode0_first_byte_stops_and_rewrite_restarts)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x30);
    wr16(&r, 0, 10);
    go(&r, 10);
    CHECK_EQ(r.level, 1);
    /* Writing the LSB stops counting and drops OUT at once. */
    outb(&r, 0x40, 20);
    CHECK_EQ(r.level, 0);
    go(&r, 15);
    CHECK_EQ(latched16(&r, 0), 0);                     /* frozen */
    outb(&r, 0x40, 0);                                 /* MSB: load 20 */
    go(&r, 34);
    CHECK_EQ(r.level, 0);
    go(&r, 35);
    CHECK_EQ(r.level, 1);
    /* Reprogramming mid-count restarts from the new count. */
    wr16(&r, 0, 100);
    go(&r, 85);
    CHECK_EQ(latched16(&r, 0), 50);
    wr16(&r, 0, 30);
    go(&r, 114);
    CHECK_EQ(r.level, 0);
    go(&r, 115);
    CHECK_EQ(r.level, 1);
    prig_done(&r);
}

TEST(pit_mode0_ch2_gate_via_port61_and_out2)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x61, 0x00);
    outb(&r, 0x43, 0xb0);                              /* ch2 lohi mode 0 */
    wr16(&r, 2, 1000);
    go(&r, 500);
    CHECK_EQ(latched16(&r, 2), 1000);                  /* gate low: no count */
    CHECK(!out2(&r));
    outb(&r, 0x61, 0x01);
    CHECK_EQ(inb(&r, 0x61) & 1, 1);
    go(&r, 900);
    CHECK_EQ(latched16(&r, 2), 600);
    outb(&r, 0x61, 0x00);                              /* suspend */
    go(&r, 5000);
    CHECK_EQ(latched16(&r, 2), 600);
    CHECK(!out2(&r));
    outb(&r, 0x61, 0x01);
    go(&r, 5599);
    CHECK(!out2(&r));
    CHECK_EQ(latched16(&r, 2), 1);
    go(&r, 5600);
    CHECK(out2(&r));
    CHECK_EQ(pit_get_out(r.pit, 2), 1);
    prig_done(&r);
}

/* Linux pit_calibrate_tsc(): ch2 mode 0, gate on, speaker off, poll OUT2. */
TEST(pit_linux_calibrate_tsc_sequence)
{
    struct prig r;
    prig_init(&r);
    clock_advance(&r.clk, 123456789);                  /* mid-tick start */
    uint64_t t0 = clock_ns(&r.clk);
    outb(&r, 0x61, (inb(&r, 0x61) & ~0x02) | 0x01);
    outb(&r, 0x43, 0xb0);
    const unsigned latch = PIT_FREQ / (1000 / 50);     /* 50 ms: 59659 */
    outb(&r, 0x42, latch & 0xff);
    outb(&r, 0x42, latch >> 8);
    uint64_t tick0 = t0 * PIT_FREQ / NS_PER_SEC;
    /* Poll like the kernel in 1 us steps; OUT2 must rise exactly when
     * `latch` PIT clocks have elapsed. */
    uint64_t polls = 0;
    while (!(inb(&r, 0x61) & 0x20) && polls < 100000) {
        clock_advance(&r.clk, 1000);
        polls++;
    }
    uint64_t t1 = clock_ns(&r.clk);
    CHECK(t1 >= tns(tick0 + latch));
    CHECK(t1 < tns(tick0 + latch) + 1000);
    CHECK(t1 - t0 >= 50000000 - 1000 && t1 - t0 <= 50000000 + 1000);
    prig_done(&r);
}

/* Linux quick_pit_calibrate(): count 0xffff, read LSB then MSB of ch2 and
 * watch the MSB fall once per 256 PIT clocks. */
TEST(pit_linux_quick_calibrate_msb_rate)
{
    struct prig r;
    prig_init(&r);
    go(&r, 77);
    outb(&r, 0x61, (inb(&r, 0x61) & ~0x02) | 0x01);
    outb(&r, 0x43, 0xb0);
    outb(&r, 0x42, 0xff);
    outb(&r, 0x42, 0xff);
    for (unsigned i = 0; i < 200; i++) {
        go(&r, 77 + 256 * i + 255);
        inb(&r, 0x42);
        CHECK_EQ(inb(&r, 0x42), 0xff - i);
        go(&r, 77 + 256 * (i + 1));
        inb(&r, 0x42);
        CHECK_EQ(inb(&r, 0x42), 0xfe - i);
    }
    prig_done(&r);
}

TEST(pit_mode1_gate_triggered_one_shot)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0xb2);                              /* ch2 lohi mode 1 */
    CHECK_EQ(status(&r, 2) & 0xc0, 0xc0);              /* OUT high, null */
    wr16(&r, 2, 10);
    go(&r, 5);
    CHECK(out2(&r));
    CHECK_EQ(status(&r, 2) & 0x40, 0x40);              /* waits for trigger */
    outb(&r, 0x61, 0x01);                              /* trigger at 5 */
    CHECK(!out2(&r));
    CHECK_EQ(status(&r, 2) & 0x40, 0);
    go(&r, 14);
    CHECK(!out2(&r));
    CHECK_EQ(latched16(&r, 2), 1);
    go(&r, 15);
    CHECK(out2(&r));
    outb(&r, 0x61, 0x00);                              /* gate low: no effect */
    go(&r, 20);
    outb(&r, 0x61, 0x01);                              /* retrigger */
    go(&r, 25);
    outb(&r, 0x61, 0x00);
    outb(&r, 0x61, 0x01);                              /* retrigger mid-pulse */
    go(&r, 34);
    CHECK(!out2(&r));
    go(&r, 35);
    CHECK(out2(&r));
    prig_done(&r);
}

TEST(pit_mode2_rate_generator_waveform)
{
    struct prig r;
    prig_init(&r);
    go(&r, 100);
    int rises = r.rises;
    outb(&r, 0x43, 0x34);                              /* ch0 lohi mode 2 */
    wr16(&r, 0, 10);
    CHECK_EQ(rd16(&r, 0), 10);
    go(&r, 108);
    CHECK_EQ(rd16(&r, 0), 2);
    CHECK_EQ(r.level, 1);
    go(&r, 109);
    CHECK_EQ(rd16(&r, 0), 1);
    CHECK_EQ(r.level, 0);                              /* low while CE == 1 */
    go(&r, 110);
    CHECK_EQ(rd16(&r, 0), 10);                         /* reloaded */
    CHECK_EQ(r.level, 1);
    CHECK_EQ(r.last_rise_ns, tns(110));
    go(&r, 140);
    CHECK_EQ(r.rises - rises, 4);                      /* at 110,120,130,140 */
    CHECK_EQ(r.last_rise_ns, tns(140));
    prig_done(&r);
}

TEST(pit_mode2_irq0_rate_over_one_second)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x34);
    wr16(&r, 0, 1193);                                 /* Linux LATCH for HZ=1000 */
    int rises = r.rises;
    clock_advance(&r.clk, NS_PER_SEC);
    CHECK_EQ(r.rises - rises, PIT_FREQ / 1193);        /* 1000 */
    /* Count 0 is 65536. */
    wr16(&r, 0, 0);
    uint64_t t = clock_ns(&r.clk) * PIT_FREQ / NS_PER_SEC;
    go(&r, t + 2 * 65536 + 1);       /* old period ends first, then 65536 */
    rises = r.rises;
    go(&r, t + 12 * 65536);
    CHECK(r.rises - rises >= 9 && r.rises - rises <= 10);
    prig_done(&r);
}

TEST(pit_mode3_square_wave_even_and_odd)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x36);                              /* ch0 lohi mode 3 */
    wr16(&r, 0, 10);
    static const unsigned ce_even[] = {10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10};
    static const int out_even[] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
    for (int k = 0; k < 11; k++) {
        go(&r, (uint64_t)k);
        CHECK_EQ(latched16(&r, 0), ce_even[k]);
        CHECK_EQ(r.level, out_even[k]);
    }
    go(&r, 100);
    outb(&r, 0x43, 0x36);
    wr16(&r, 0, 7);
    /* Odd: high (N+1)/2 = 4 clocks, low (N-1)/2 = 3; CE from N-1 by 2. */
    static const unsigned ce_odd[] = {6, 4, 2, 0, 6, 4, 2, 6};
    static const int out_odd[] = {1, 1, 1, 1, 0, 0, 0, 1};
    for (int k = 0; k < 8; k++) {
        go(&r, 100 + (uint64_t)k);
        CHECK_EQ(latched16(&r, 0), ce_odd[k]);
        CHECK_EQ(pit_get_out(r.pit, 0), out_odd[k]);
        CHECK_EQ(r.level, out_odd[k]);
    }
    prig_done(&r);
}

TEST(pit_mode4_software_strobe)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x38);                              /* ch0 lohi mode 4 */
    CHECK_EQ(r.level, 1);                              /* OUT high */
    int rises = r.rises, falls = r.falls;
    wr16(&r, 0, 5);
    go(&r, 4);
    CHECK_EQ(r.level, 1);
    go(&r, 5);
    CHECK_EQ(r.level, 0);                              /* one clock low */
    CHECK_EQ(latched16(&r, 0), 0);
    go(&r, 6);
    CHECK_EQ(r.level, 1);
    go(&r, 1000);
    CHECK_EQ(r.rises - rises, 1);
    CHECK_EQ(r.falls - falls, 1);
    prig_done(&r);
}

TEST(pit_mode5_hardware_strobe_on_gate)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0xba);                              /* ch2 lohi mode 5 */
    wr16(&r, 2, 4);
    go(&r, 20);
    CHECK(out2(&r));                                   /* not triggered */
    outb(&r, 0x61, 0x01);
    go(&r, 23);
    CHECK(out2(&r));
    go(&r, 24);
    CHECK(!out2(&r));
    go(&r, 25);
    CHECK(out2(&r));
    outb(&r, 0x61, 0x00);
    go(&r, 30);
    outb(&r, 0x61, 0x01);                              /* retrigger */
    go(&r, 34);
    CHECK(!out2(&r));
    prig_done(&r);
}

TEST(pit_modes_6_and_7_alias_2_and_3)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x3c);                              /* mode 6 */
    wr16(&r, 0, 10);
    CHECK_EQ(status(&r, 0), 0xbc);                     /* OUT high, shows 110 */
    go(&r, 9);
    CHECK_EQ(r.level, 0);                              /* behaves as mode 2 */
    go(&r, 10);
    CHECK_EQ(r.level, 1);
    outb(&r, 0x43, 0x3e);                              /* mode 7 */
    wr16(&r, 0, 10);
    CHECK_EQ(status(&r, 0), 0xbe);
    go(&r, 15);
    CHECK_EQ(r.level, 0);                              /* square wave */
    prig_done(&r);
}

TEST(pit_counter_latch_holds_until_read)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x34);
    wr16(&r, 0, 0x1234);
    go(&r, 0x34);
    outb(&r, 0x43, 0x00);                              /* latch: 0x1200 */
    go(&r, 0x100);
    outb(&r, 0x43, 0x00);                              /* ignored until read */
    CHECK_EQ(inb(&r, 0x40), 0x00);
    go(&r, 0x200);
    CHECK_EQ(inb(&r, 0x40), 0x12);
    CHECK_EQ(rd16(&r, 0), 0x1234 - 0x200);             /* live again */
    /* LSB-only access latches and reads one byte. */
    outb(&r, 0x43, 0x14);                              /* ch0 LSB mode 2 */
    outb(&r, 0x40, 0x80);                              /* count 0x0080 */
    go(&r, 0x210);
    outb(&r, 0x43, 0x00);
    go(&r, 0x220);
    CHECK_EQ(inb(&r, 0x40), 0x70);
    CHECK_EQ(inb(&r, 0x40), 0x60);                     /* live */
    /* MSB-only: a write sets the high byte, count 0x0300. */
    outb(&r, 0x43, 0x20 | 0x04);
    outb(&r, 0x40, 0x03);
    go(&r, 0x220 + 0x100);
    CHECK_EQ(inb(&r, 0x40), 0x02);
    prig_done(&r);
}

TEST(pit_readback_status_and_count_multiple_channels)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x30);                              /* ch0 mode 0 */
    wr16(&r, 0, 50);
    outb(&r, 0x43, 0xb5);                              /* ch2 lohi mode 2 BCD */
    CHECK_EQ(status(&r, 2), 0xf5);                     /* OUT high, null count */
    wr16(&r, 2, 0x0100);
    outb(&r, 0x61, 0x01);
    go(&r, 60);
    /* Latch status and count of ch0 and ch2 in one command. */
    outb(&r, 0x43, 0xc0 | 0x08 | 0x02);
    go(&r, 70);
    CHECK_EQ(inb(&r, 0x40), 0xb0);                     /* status first: OUT high */
    CHECK_EQ(rd16(&r, 0), 0xfff6);                     /* 50-60 at latch time */
    CHECK_EQ(inb(&r, 0x42), 0xb5);                     /* no null: loaded */
    CHECK_EQ(rd16(&r, 2), 0x0040);                     /* 100-60 in BCD */
    /* Count-only read-back leaves status unlatched; status-only vice versa. */
    outb(&r, 0x43, 0xd2);
    CHECK_EQ(rd16(&r, 0), 0xffec);
    outb(&r, 0x43, 0xe2);
    CHECK_EQ(inb(&r, 0x40), 0xb0);
    CHECK_EQ(rd16(&r, 0), 0xffec);                     /* live */
    /* A second status latch before reading is ignored. */
    outb(&r, 0x43, 0xe2);
    outb(&r, 0x43, 0x30);                              /* control word drops it */
    CHECK_EQ(status(&r, 0), 0x70);
    prig_done(&r);
}

TEST(pit_lohi_flip_flop_reads_and_writes)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x30);
    outb(&r, 0x40, 0x34);
    CHECK_EQ(r.level, 0);
    outb(&r, 0x40, 0x12);                              /* count 0x1234 */
    CHECK_EQ(inb(&r, 0x40), 0x34);
    CHECK_EQ(inb(&r, 0x40), 0x12);
    CHECK_EQ(inb(&r, 0x40), 0x34);                     /* toggles on */
    inb(&r, 0x40);
    /* A control word resets the flip-flop to the LSB. */
    inb(&r, 0x40);                                     /* now expecting MSB */
    outb(&r, 0x43, 0x30);
    wr16(&r, 0, 0x5678);
    CHECK_EQ(rd16(&r, 0), 0x5678);
    /* Channels have separate flip-flops. */
    outb(&r, 0x43, 0x70);                              /* ch1 lohi mode 0 */
    outb(&r, 0x41, 0xcd);
    outb(&r, 0x40, 0x00);                              /* ch0: LSB */
    outb(&r, 0x41, 0xab);
    outb(&r, 0x40, 0x01);                              /* ch0: MSB -> 0x100 */
    CHECK_EQ(rd16(&r, 1), 0xabcd);
    CHECK_EQ(rd16(&r, 0), 0x0100);
    prig_done(&r);
}

TEST(pit_bcd_counting)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x31);                              /* ch0 lohi mode 0 BCD */
    wr16(&r, 0, 0x1234);
    go(&r, 235);
    CHECK_EQ(rd16(&r, 0), 0x0999);
    go(&r, 1234);
    CHECK_EQ(rd16(&r, 0), 0x0000);
    CHECK_EQ(r.level, 1);
    go(&r, 1235);
    CHECK_EQ(rd16(&r, 0), 0x9999);                     /* wraps in decimal */
    /* Count 0 is 10000 in BCD. */
    outb(&r, 0x43, 0x35);                              /* mode 2 BCD */
    wr16(&r, 0, 0);
    go(&r, 1236);
    CHECK_EQ(rd16(&r, 0), 0x9999);
    int rises = r.rises;
    go(&r, 1235 + 10000);
    CHECK_EQ(r.rises - rises, 1);
    CHECK_EQ(r.last_rise_ns, tns(1235 + 10000));
    /* Invalid BCD digits are folded, never trusted. */
    wr16(&r, 0, 0xffff);
    go(&r, 20000);
    CHECK(rd16(&r, 0) <= 0x9999);
    prig_done(&r);
}

TEST(pit_mode2_reprogram_takes_effect_at_period_end)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x34);
    wr16(&r, 0, 100);
    go(&r, 250);
    int rises = r.rises;                               /* 100, 200 */
    wr16(&r, 0, 40);
    CHECK_EQ(status(&r, 0) & 0x40, 0x40);              /* null until loaded */
    CHECK_EQ(rd16(&r, 0), 50);                         /* old count running */
    go(&r, 299);
    CHECK_EQ(r.rises, rises);
    go(&r, 300);
    CHECK_EQ(r.rises, rises + 1);
    CHECK_EQ(rd16(&r, 0), 40);
    CHECK_EQ(status(&r, 0) & 0x40, 0);
    go(&r, 339);
    CHECK_EQ(r.rises, rises + 1);
    go(&r, 340);
    CHECK_EQ(r.rises, rises + 2);
    go(&r, 380);
    CHECK_EQ(r.rises, rises + 3);
    CHECK_EQ(r.last_rise_ns, tns(380));
    prig_done(&r);
}

TEST(pit_mode3_reprogram_takes_effect_at_half_period)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x36);
    wr16(&r, 0, 100);
    go(&r, 20);                                        /* high half: 0..49 */
    wr16(&r, 0, 20);
    go(&r, 49);
    CHECK_EQ(r.level, 1);
    CHECK_EQ(latched16(&r, 0), 2);
    go(&r, 50);                                        /* new count, low half */
    CHECK_EQ(r.level, 0);
    CHECK_EQ(latched16(&r, 0), 20);
    go(&r, 59);
    CHECK_EQ(r.level, 0);
    go(&r, 60);                                        /* 10 low, then high */
    CHECK_EQ(r.level, 1);
    go(&r, 70);
    CHECK_EQ(r.level, 0);
    go(&r, 80);
    CHECK_EQ(r.level, 1);
    prig_done(&r);
}

TEST(pit_mode2_gate_low_stops_and_rising_reloads)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x61, 0x01);
    outb(&r, 0x43, 0xb4);                              /* ch2 lohi mode 2 */
    wr16(&r, 2, 10);
    go(&r, 9);
    CHECK(!out2(&r));
    outb(&r, 0x61, 0x00);                              /* gate low: OUT high */
    CHECK(out2(&r));
    go(&r, 13);
    CHECK_EQ(latched16(&r, 2), 1);                     /* stopped */
    outb(&r, 0x61, 0x01);                              /* rising: reload */
    CHECK_EQ(latched16(&r, 2), 10);
    go(&r, 21);
    CHECK(out2(&r));
    go(&r, 22);
    CHECK(!out2(&r));
    /* A count written while gated off is what the rising edge loads. */
    outb(&r, 0x61, 0x00);
    wr16(&r, 2, 5);
    go(&r, 30);
    outb(&r, 0x61, 0x01);
    go(&r, 34);
    CHECK(!out2(&r));
    CHECK_EQ(status(&r, 2) & 0x40, 0);
    prig_done(&r);
}

TEST(pit_mode3_gate_low_forces_out_high)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x61, 0x01);
    outb(&r, 0x43, 0xb6);
    wr16(&r, 2, 8);
    go(&r, 5);
    CHECK(!out2(&r));                                  /* low half */
    outb(&r, 0x61, 0x00);
    CHECK(out2(&r));
    go(&r, 100);
    CHECK(out2(&r));
    outb(&r, 0x61, 0x01);
    go(&r, 103);
    CHECK(out2(&r));
    go(&r, 104);
    CHECK(!out2(&r));
    prig_done(&r);
}

TEST(pit_port61_bits)
{
    struct prig r;
    prig_init(&r);
    CHECK_EQ(inb(&r, 0x61) & 0x10, 0);
    go(&r, 18);
    CHECK_EQ(inb(&r, 0x61) & 0x10, 0x10);              /* refresh toggles ... */
    go(&r, 35);
    CHECK_EQ(inb(&r, 0x61) & 0x10, 0x10);
    go(&r, 36);
    CHECK_EQ(inb(&r, 0x61) & 0x10, 0x00);              /* ... every 15.085 us */
    outb(&r, 0x61, 0xff);
    uint8_t v = inb(&r, 0x61);
    CHECK_EQ(v & 0x0f, 0x0f);                          /* gate, speaker, 2, 3 */
    CHECK_EQ(v & 0xc0, 0x00);                          /* no NMI sources */
    outb(&r, 0x61, 0x00);
    CHECK_EQ(inb(&r, 0x61) & 0x0f, 0x00);
    /* Reset: OUT2 high (mode 3), gate off. */
    pit_reset(r.pit);
    CHECK_EQ(inb(&r, 0x61) & 0x21, 0x20);
    prig_done(&r);
}

TEST(pit_irq_disable_for_hpet_legacy)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x34);
    wr16(&r, 0, 100);
    go(&r, 1000);
    int rises = r.rises;
    pit_set_irq_enabled(r.pit, false);
    CHECK_EQ(r.level, 0);
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    go(&r, 2000);
    CHECK_EQ(r.rises, rises);
    CHECK_EQ(latched16(&r, 0), 100);                   /* counter still runs */
    pit_set_irq_enabled(r.pit, true);
    go(&r, 2100);
    CHECK(r.rises > rises);
    prig_done(&r);
}

TEST(pit_late_timer_catches_up_without_storm)
{
    struct prig r;
    prig_init(&r);
    outb(&r, 0x43, 0x34);
    wr16(&r, 0, 2);                                    /* ~600 kHz */
    /* The host stalls for a second: timers run once, late. */
    clock_set(&r.clk, NS_PER_SEC);
    int fired = clock_run_timers(&r.clk);
    CHECK(fired >= 1 && fired < 10);
    CHECK(r.rises >= 1);
    CHECK(clock_next_deadline(&r.clk) > NS_PER_SEC);
    CHECK(clock_next_deadline(&r.clk) <= NS_PER_SEC + tns(2));
    prig_done(&r);
}

TEST(pit_hostile_accesses_are_harmless)
{
    struct prig r;
    prig_init(&r);
    CHECK_EQ(inb(&r, 0x43), 0xff);                     /* write-only */
    for (int v = 0; v < 256; v++) {
        outb(&r, 0x43, (uint8_t)v);
        for (int ch = 0; ch < 3; ch++) {
            outb(&r, 0x40 + ch, (uint8_t)(v * 7));
            outb(&r, 0x40 + ch, (uint8_t)(v * 13));
            inb(&r, 0x40 + ch);
        }
        outb(&r, 0x61, (uint8_t)v);
        clock_advance(&r.clk, 997);
    }
    iomap_write(&r.pio, 0x40, 0xdeadbeefcafef00dULL, 8);
    CHECK_EQ(iomap_read(&r.pio, 0x61, 2) >> 8, 0xff);
    iomap_read(&r.pio, 0x42, 4);
    pit_set_gate(r.pit, 7, 1);
    pit_set_gate(r.pit, -1, 1);
    CHECK_EQ(pit_get_out(r.pit, 3), 0);
    clock_advance(&r.clk, NS_PER_SEC / 10);
    prig_done(&r);
}

/* The PIT's irq0 wired to the PIC's IRQ0 the way the board does it; the
 * "CPU" acknowledges whenever INTR is up. */
#include "hw/i8259.h"

struct cpu_probe {
    int intr;
};

static void cpu_intr(void *opaque, int n, int level)
{
    (void)n;
    ((struct cpu_probe *)opaque)->intr = level;
}

TEST(pit_irq0_through_pic_periodic_and_linux_oneshot)
{
    struct iomap pio;
    struct clock clk;
    struct irq intr, line0;
    struct cpu_probe cpu = {0};
    iomap_init(&pio, "pio", NULL);
    clock_init(&clk, true);
    irq_init(&intr, cpu_intr, &cpu, 0);
    struct pic *pic = pic_create(&pio, &intr);
    irq_init(&line0, pic_irq_handler, pic, 0);
    struct pit *pit = pit_create(&pio, &clk, &line0);
    CHECK(pic && pit);
    /* Linux init_8259A(): vectors 0x30/0x38, then unmask IRQ0 only. */
    static const uint8_t seq[][2] = {
        {0x21, 0xff}, {0xa1, 0xff}, {0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04},
        {0x21, 0x01}, {0xa0, 0x11}, {0xa1, 0x38}, {0xa1, 0x02}, {0xa1, 0x01},
        {0x21, 0xfe}, {0xa1, 0xff},
    };
    for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        iomap_write(&pio, seq[i][0], seq[i][1], 1);
    CHECK(!cpu.intr);
    /* Periodic HZ=250: 0x34, LATCH = (1193182 + 125) / 250 = 4773. */
    iomap_write(&pio, 0x43, 0x34, 1);
    iomap_write(&pio, 0x40, 4773 & 0xff, 1);
    iomap_write(&pio, 0x40, 4773 >> 8, 1);
    int acks = 0;
    for (int step = 0; step < 100000; step++) {   /* 100 ms in 1 us steps */
        clock_advance(&clk, 1000);
        if (cpu.intr) {
            CHECK_EQ(pic_intr_ack(pic), 0x30);
            iomap_write(&pio, 0x20, 0x20, 1);
            acks++;
        }
    }
    CHECK_EQ(acks, 24);                            /* edges at 4773k <= 119318 */
    /* Linux oneshot clockevent: mode 4, then per event LSB, MSB of delta. */
    iomap_write(&pio, 0x43, 0x38, 1);
    acks = 0;
    for (int ev = 0; ev < 3; ev++) {
        unsigned delta = 1193 * (ev + 1);          /* 1, 2, 3 ms */
        uint64_t t0 = clock_ns(&clk);
        iomap_write(&pio, 0x40, delta & 0xff, 1);
        iomap_write(&pio, 0x40, delta >> 8, 1);
        uint64_t waited = 0;
        while (!cpu.intr && waited < 10000000) {
            clock_advance(&clk, 1000);
            waited += 1000;
        }
        uint64_t expect = (uint64_t)(delta + 1) * NS_PER_SEC / PIT_FREQ;
        CHECK(clock_ns(&clk) - t0 >= expect - 1000);
        CHECK(clock_ns(&clk) - t0 <= expect + 2000);
        CHECK_EQ(pic_intr_ack(pic), 0x30);
        iomap_write(&pio, 0x20, 0x20, 1);
        acks++;
    }
    CHECK_EQ(acks, 3);
    clock_advance(&clk, NS_PER_SEC / 10);
    CHECK(!cpu.intr);                              /* one-shot: no more */
    pit_free(pit);
    pic_free(pic);
    CHECK_EQ(pio.count, 0);
    iomap_destroy(&pio);
}

/* On the host clock, the counter must fall at 1.193182 MHz of clock_ns. */
TEST(pit_counter_rate_on_host_clock)
{
    struct iomap pio;
    struct clock clk;
    iomap_init(&pio, "pio", NULL);
    clock_init(&clk, false);
    struct pit *pit = pit_create(&pio, &clk, NULL);
    iomap_write(&pio, 0x61, 0x01, 1);
    iomap_write(&pio, 0x43, 0xb0, 1);
    iomap_write(&pio, 0x42, 0xff, 1);
    uint64_t a0 = clock_ns(&clk);
    iomap_write(&pio, 0x42, 0xff, 1);
    uint64_t a1 = clock_ns(&clk);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b0 = clock_ns(&clk);
    iomap_write(&pio, 0x43, 0x80, 1);               /* latch ch2 */
    uint64_t b1 = clock_ns(&clk);
    unsigned lo = (unsigned)iomap_read(&pio, 0x42, 1);
    unsigned count = lo | (unsigned)iomap_read(&pio, 0x42, 1) << 8;
    uint64_t elapsed = 0xffff - count;
    /* Elapsed ticks lie between what fits in [a1, b0] and in [a0, b1], give
     * or take the tick being split by a load or latch. */
    uint64_t lo_ticks = (b0 - a1) * PIT_FREQ / NS_PER_SEC;
    uint64_t hi_ticks = (b1 - a0) * PIT_FREQ / NS_PER_SEC + 1;
    if (lo_ticks > 0)
        lo_ticks--;
    CHECK(elapsed >= lo_ticks && elapsed <= hi_ticks);
    pit_free(pit);
    iomap_destroy(&pio);
}
