/* MC146818 RTC/CMOS: register-level tests on a manual clock. */
#include "test.h"
#include "hw/mc146818.h"
#include <string.h>

struct fix {
    struct iomap pio;
    struct clock clk;
    struct irq irq;
    struct rtc *rtc;
    int raises;     /* 0->1 transitions */
    int level;
};

static void irq_cb(void *o, int n, int level)
{
    struct fix *f = o;
    if (level && !f->level)
        f->raises++;
    f->level = level;
}

static void fix_init(struct fix *f, uint64_t below, uint64_t above, int ncpus)
{
    memset(f, 0, sizeof(*f));
    iomap_init(&f->pio, "pio", NULL);
    clock_init(&f->clk, true);
    irq_init(&f->irq, irq_cb, f, 8);
    f->rtc = rtc_create(&f->pio, &f->clk, &f->irq, below, above, ncpus);
}

static void fix_fini(struct fix *f)
{
    rtc_free(f->rtc);
    CHECK_EQ(clock_next_deadline(&f->clk), CLOCK_NEVER);   /* timers gone */
    iomap_destroy(&f->pio);
}

static uint8_t rd(struct fix *f, uint8_t idx)
{
    iomap_write(&f->pio, 0x70, idx, 1);
    return (uint8_t)iomap_read(&f->pio, 0x71, 1);
}

static void wr(struct fix *f, uint8_t idx, uint8_t v)
{
    iomap_write(&f->pio, 0x70, idx, 1);
    iomap_write(&f->pio, 0x71, v, 1);
}

#define MS (1000000ULL)

TEST(rtc_reset_values_and_bcd_time)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    CHECK(f.rtc != NULL);
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    CHECK_EQ(rd(&f, RTC_REG_B), 0x02);
    CHECK_EQ(rd(&f, RTC_REG_C), 0x00);
    CHECK_EQ(rd(&f, RTC_REG_D), 0x80);
    rtc_set_time_epoch(f.rtc, 1709214356);          /* Thu 2024-02-29 13:45:56 */
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x56);
    CHECK_EQ(rd(&f, RTC_MINUTES), 0x45);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x13);
    CHECK_EQ(rd(&f, RTC_DAY_OF_WEEK), 5);
    CHECK_EQ(rd(&f, RTC_DAY_OF_MONTH), 0x29);
    CHECK_EQ(rd(&f, RTC_MONTH), 0x02);
    CHECK_EQ(rd(&f, RTC_YEAR), 0x24);
    CHECK_EQ(rd(&f, RTC_CENTURY), 0x20);
    CHECK_EQ(rd(&f, RTC_IBM_PS2_CENTURY), 0x20);
    clock_advance(&f.clk, 2 * NS_PER_SEC + 500 * MS);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x58);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1709214358);
    /* Binary mode: the same time, other encoding. */
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DM);
    CHECK_EQ(rd(&f, RTC_SECONDS), 58);
    CHECK_EQ(rd(&f, RTC_MINUTES), 45);
    CHECK_EQ(rd(&f, RTC_HOURS), 13);
    CHECK_EQ(rd(&f, RTC_DAY_OF_MONTH), 29);
    CHECK_EQ(rd(&f, RTC_YEAR), 24);
    CHECK_EQ(rd(&f, RTC_CENTURY), 20);
    fix_fini(&f);
}

TEST(rtc_12h_mode)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    wr(&f, RTC_REG_B, 0x00);                         /* 12 h, BCD */
    rtc_set_time_epoch(f.rtc, 1709214356);          /* 13:45:56 */
    CHECK_EQ(rd(&f, RTC_HOURS), 0x81);               /* 1 PM */
    rtc_set_time_epoch(f.rtc, 1704069000);          /* 00:30 */
    CHECK_EQ(rd(&f, RTC_HOURS), 0x12);               /* 12 AM */
    rtc_set_time_epoch(f.rtc, 1704069000 + 12 * 3600);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x92);               /* 12 PM */
    rtc_set_time_epoch(f.rtc, 1704069000 + 11 * 3600);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x11);               /* 11 AM */
    wr(&f, RTC_REG_B, RTC_B_DM);                     /* 12 h, binary */
    rtc_set_time_epoch(f.rtc, 1704069000 + 23 * 3600);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x8b);               /* 11 PM */
    /* Writing a 12 h hour sets the time: 0x87 = 7 PM. */
    wr(&f, RTC_HOURS, 0x87);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1704067200 + 19 * 3600 + 30 * 60);
    wr(&f, RTC_HOURS, 12);                           /* 12 AM = 0 h */
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1704067200 + 30 * 60);
    fix_fini(&f);
}

TEST(rtc_date_rollover)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1709164799);          /* 2024-02-28 23:59:59 */
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_DAY_OF_MONTH), 0x29);        /* leap day */
    CHECK_EQ(rd(&f, RTC_MONTH), 0x02);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x00);
    rtc_set_time_epoch(f.rtc, 1704067199);          /* 2023-12-31 23:59:59 */
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_YEAR), 0x24);
    CHECK_EQ(rd(&f, RTC_MONTH), 0x01);
    CHECK_EQ(rd(&f, RTC_DAY_OF_MONTH), 0x01);
    CHECK_EQ(rd(&f, RTC_DAY_OF_WEEK), 2);            /* Monday */
    rtc_set_time_epoch(f.rtc, 4102444799);          /* 2099-12-31 23:59:59 */
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_YEAR), 0x00);
    CHECK_EQ(rd(&f, RTC_CENTURY), 0x21);
    fix_fini(&f);
}

TEST(rtc_set_bit_freezes_and_time_write)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1709214356);
    wr(&f, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE);
    CHECK_EQ(rd(&f, RTC_REG_B), RTC_B_SET | RTC_B_24H);   /* SET clears UIE */
    clock_advance(&f.clk, 5 * NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x56);                  /* frozen */
    CHECK_EQ(rd(&f, RTC_REG_C) & RTC_C_UF, 0);            /* no update cycles */
    CHECK_EQ(rd(&f, RTC_REG_A) & RTC_A_UIP, 0);
    wr(&f, RTC_SECONDS, 0x00);
    wr(&f, RTC_MINUTES, 0x00);
    wr(&f, RTC_HOURS, 0x10);
    wr(&f, RTC_DAY_OF_MONTH, 0x15);
    wr(&f, RTC_MONTH, 0x06);
    wr(&f, RTC_YEAR, 0x25);
    clock_advance(&f.clk, 2 * NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_HOURS), 0x10);                    /* still what we wrote */
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x00);
    wr(&f, RTC_REG_B, RTC_B_24H);                         /* run */
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1749981600);      /* 2025-06-15 10:00:00 */
    clock_advance(&f.clk, 3 * NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x03);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1749981603);
    /* While running, a single register write sets the time too. */
    wr(&f, RTC_MINUTES, 0x30);
    CHECK_EQ(rd(&f, RTC_MINUTES), 0x30);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x03);
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 1749981600 + 30 * 60 + 4);
    fix_fini(&f);
}

TEST(rtc_divider_reset_holds_time)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1709214356);
    wr(&f, RTC_REG_A, 0x70);                         /* dividers in reset */
    clock_advance(&f.clk, 10 * NS_PER_SEC);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x56);
    wr(&f, RTC_REG_A, 0x26);                         /* first update 0.5 s later */
    clock_advance(&f.clk, 499 * MS);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x56);
    clock_advance(&f.clk, 1 * MS);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x57);
    fix_fini(&f);
}

TEST(rtc_uip_window)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1709214356);          /* at clock 0, start of a second */
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    clock_advance(&f.clk, NS_PER_SEC - RTC_UIP_HOLD_NS - 1);
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    clock_advance(&f.clk, 1);
    CHECK_EQ(rd(&f, RTC_REG_A), 0xa6);               /* 244 us before the update */
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x56);
    clock_advance(&f.clk, RTC_UIP_HOLD_NS - 1);
    CHECK_EQ(rd(&f, RTC_REG_A), 0xa6);
    clock_advance(&f.clk, 1);                        /* the update happened */
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x57);
    /* UIP is read-only. */
    wr(&f, RTC_REG_A, 0xa6);
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    /* No UIP while SET holds the registers. */
    clock_advance(&f.clk, NS_PER_SEC - 100000);
    CHECK_EQ(rd(&f, RTC_REG_A), 0xa6);
    wr(&f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
    CHECK_EQ(rd(&f, RTC_REG_A), 0x26);
    fix_fini(&f);
}

/* Interrupts in one simulated second at the given rate; the "guest" reads
 * register C every 100 us like an interrupt handler would. */
static int periodic_count(int rate)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    wr(&f, RTC_REG_A, (uint8_t)(0x20 | rate));
    wr(&f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
    int pf = 0;
    for (int i = 0; i < 10000; i++) {
        clock_advance(&f.clk, 100000);
        uint8_t c = rd(&f, RTC_REG_C);
        if (c & RTC_C_PF) {
            pf++;
            CHECK_EQ(c & RTC_C_IRQF, RTC_C_IRQF);
        }
        CHECK_EQ(f.level, 0);                        /* reading C lowered it */
    }
    CHECK_EQ(f.raises, pf);
    fix_fini(&f);
    return pf;
}

TEST(rtc_periodic_rates)
{
    CHECK_EQ(periodic_count(3), 8192);
    CHECK_EQ(periodic_count(6), 1024);
    CHECK_EQ(periodic_count(15), 2);
    CHECK_EQ(periodic_count(13), 8);
    CHECK_EQ(periodic_count(1), 256);                /* rates 1, 2 = 8, 9 */
    CHECK_EQ(periodic_count(2), 128);
    CHECK_EQ(periodic_count(0), 0);                  /* rate 0: off */
}

TEST(rtc_periodic_needs_pie_and_divider)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    CHECK_EQ(clock_next_deadline(&f.clk), NS_PER_SEC);   /* only the update timer */
    clock_advance(&f.clk, 500 * 1000);
    CHECK_EQ(rd(&f, RTC_REG_C), 0);                  /* first period not over */
    clock_advance(&f.clk, 500 * 1000);
    /* PIE off: no timer and no interrupt, but PF can be polled. */
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_PF);
    CHECK_EQ(rd(&f, RTC_REG_C), 0);                  /* same period: clear */
    clock_advance(&f.clk, 1000 * 1000);
    CHECK_EQ(rtc_cmos_read(f.rtc, RTC_REG_C), RTC_C_PF);   /* no side effect */
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_PF);
    CHECK_EQ(f.raises, 0);
    clock_advance(&f.clk, NS_PER_SEC);
    rd(&f, RTC_REG_C);
    wr(&f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
    clock_advance(&f.clk, 2 * MS);                   /* 1024 Hz: ~2 periods */
    CHECK_EQ(f.raises, 1);                           /* level stays up until C read */
    CHECK_EQ(f.level, 1);
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    CHECK_EQ(f.level, 0);
    CHECK_EQ(rd(&f, RTC_REG_C), 0);                  /* read clears */
    wr(&f, RTC_REG_A, 0x76);                         /* divider reset stops it */
    clock_advance(&f.clk, 10 * MS);
    CHECK_EQ(rd(&f, RTC_REG_C) & RTC_C_PF, 0);
    fix_fini(&f);
}

TEST(rtc_update_interrupt)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1709214356);
    wr(&f, RTC_REG_A, 0x20);                         /* no periodic flag noise */
    clock_advance(&f.clk, 300 * MS);
    rd(&f, RTC_REG_C);
    wr(&f, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
    int n = 0;
    for (int s = 0; s < 3; s++) {
        clock_advance(&f.clk, 699 * MS);
        CHECK_EQ(f.level, 0);
        clock_advance(&f.clk, 1 * MS);               /* second boundary */
        CHECK_EQ(f.level, 1);
        CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
        CHECK_EQ(f.level, 0);
        n++;
        clock_advance(&f.clk, 300 * MS);
    }
    CHECK_EQ(f.raises, n);
    /* UF set without UIE raises nothing, but enabling UIE then fires at
     * once (flag already pending). */
    wr(&f, RTC_REG_B, RTC_B_24H);
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(f.level, 0);
    wr(&f, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
    CHECK_EQ(f.level, 1);
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
    CHECK_EQ(f.level, 0);
    fix_fini(&f);
}

TEST(rtc_alarm_match)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1749981600);          /* 10:00:00 */
    wr(&f, RTC_REG_A, 0x20);                         /* no periodic flag noise */
    wr(&f, RTC_SECONDS_ALARM, 0x05);
    wr(&f, RTC_MINUTES_ALARM, 0x00);
    wr(&f, RTC_HOURS_ALARM, 0x10);
    wr(&f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
    clock_advance(&f.clk, 4 * NS_PER_SEC + 500 * MS);
    CHECK_EQ(f.raises, 0);
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_UF);           /* updates, no alarm yet */
    clock_advance(&f.clk, 500 * MS);                 /* 10:00:05 */
    CHECK_EQ(f.raises, 1);
    CHECK_EQ(rd(&f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
    CHECK_EQ(f.level, 0);
    clock_advance(&f.clk, 10 * NS_PER_SEC);          /* no match again */
    CHECK_EQ(f.raises, 1);
    CHECK_EQ(rd(&f, RTC_REG_C) & RTC_C_AF, 0);
    fix_fini(&f);
}

TEST(rtc_alarm_dont_care)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    rtc_set_time_epoch(f.rtc, 1749981600);          /* 10:00:00 */
    /* Seconds = 30, minutes and hours don't care: once a minute. */
    wr(&f, RTC_SECONDS_ALARM, 0x30);
    wr(&f, RTC_MINUTES_ALARM, 0xc0);
    wr(&f, RTC_HOURS_ALARM, 0xff);
    wr(&f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
    int af = 0;
    for (int s = 0; s < 120; s++) {
        clock_advance(&f.clk, NS_PER_SEC);
        if (rd(&f, RTC_REG_C) & RTC_C_AF) {
            af++;
            CHECK_EQ(rd(&f, RTC_SECONDS), 0x30);
        }
    }
    CHECK_EQ(af, 2);
    CHECK_EQ(f.raises, 2);
    /* All three don't care: every second. */
    wr(&f, RTC_SECONDS_ALARM, 0xc0);
    af = 0;
    for (int s = 0; s < 5; s++) {
        clock_advance(&f.clk, NS_PER_SEC);
        af += !!(rd(&f, RTC_REG_C) & RTC_C_AF);
    }
    CHECK_EQ(af, 5);
    fix_fini(&f);
}

TEST(rtc_nmi_mask_and_index)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    CHECK(!rtc_nmi_masked(f.rtc));
    iomap_write(&f.pio, 0x70, 0x8f, 1);
    CHECK(rtc_nmi_masked(f.rtc));
    iomap_write(&f.pio, 0x71, 0x0a, 1);              /* index 0x0f, NMI bit dropped */
    CHECK_EQ(rtc_cmos_read(f.rtc, 0x0f), 0x0a);
    CHECK_EQ(iomap_read(&f.pio, 0x70, 1), 0xff);     /* index port is write-only */
    iomap_write(&f.pio, 0x70, 0x0f, 1);
    CHECK(!rtc_nmi_masked(f.rtc));
    CHECK_EQ(iomap_read(&f.pio, 0x71, 1), 0x0a);
    /* Word access: index then data. */
    iomap_write(&f.pio, 0x70, 0x5540, 2);
    CHECK_EQ(rtc_cmos_read(f.rtc, 0x40), 0x55);
    CHECK_EQ(iomap_read(&f.pio, 0x70, 2), 0x55ff);
    /* Shutdown status survives a reset; interrupt enables do not. */
    wr(&f, RTC_REG_B, RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_24H);
    clock_advance(&f.clk, 2 * MS);
    CHECK_EQ(f.level, 1);
    rtc_reset(f.rtc);
    CHECK_EQ(f.level, 0);
    CHECK_EQ(rd(&f, RTC_REG_B), RTC_B_24H);
    CHECK_EQ(rd(&f, RTC_REG_C) & ~RTC_C_PF, 0);
    CHECK_EQ(rd(&f, 0x0f), 0x0a);
    CHECK_EQ(rtc_cmos_read(f.rtc, 200), 0xff);
    CHECK_EQ(rtc_cmos_read(f.rtc, -1), 0xff);
    fix_fini(&f);
}

static void check_sum(struct fix *f)
{
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++)
        sum += rd(f, (uint8_t)i);
    CHECK_EQ(rd(f, 0x2e), (sum >> 8) & 0xff);
    CHECK_EQ(rd(f, 0x2f), sum & 0xff);
}

TEST(rtc_cmos_memory_512m)
{
    struct fix f;
    fix_init(&f, 512ULL << 20, 0, 2);
    CHECK_EQ(rd(&f, 0x10), 0x00);
    CHECK_EQ(rd(&f, 0x12), 0x00);
    CHECK_EQ(rd(&f, 0x14), 0x06);
    CHECK_EQ(rd(&f, 0x15) | rd(&f, 0x16) << 8, 640);
    CHECK_EQ(rd(&f, 0x17) | rd(&f, 0x18) << 8, 0xffff);   /* 511 MiB, capped */
    CHECK_EQ(rd(&f, 0x30) | rd(&f, 0x31) << 8, 0xffff);
    CHECK_EQ(rd(&f, 0x34) | rd(&f, 0x35) << 8, (512 - 16) * 16);
    CHECK_EQ(rd(&f, 0x5b) | rd(&f, 0x5c) << 8 | rd(&f, 0x5d) << 16, 0);
    CHECK_EQ(rd(&f, 0x5f), 1);
    CHECK_EQ(rd(&f, 0x3d), 0x12);                    /* boot "cad": c then a */
    CHECK_EQ(rd(&f, 0x38), 0x30);                    /* then d */
    check_sum(&f);
    fix_fini(&f);
}

TEST(rtc_cmos_memory_6g_and_small)
{
    struct fix f;
    fix_init(&f, 3ULL << 30, 3ULL << 30, 1);          /* 6 GiB with a 1 GiB hole */
    CHECK_EQ(rd(&f, 0x15) | rd(&f, 0x16) << 8, 640);
    CHECK_EQ(rd(&f, 0x17) | rd(&f, 0x18) << 8, 0xffff);
    CHECK_EQ(rd(&f, 0x34) | rd(&f, 0x35) << 8, 0xbf00);   /* (3G - 16M) / 64K */
    CHECK_EQ(rd(&f, 0x5b) | rd(&f, 0x5c) << 8 | rd(&f, 0x5d) << 16, 0xc000);  /* 3G / 64K */
    CHECK_EQ(rd(&f, 0x5f), 0);
    check_sum(&f);
    fix_fini(&f);

    fix_init(&f, 8ULL << 20, 0, 1);                  /* 8 MiB: below every cap */
    CHECK_EQ(rd(&f, 0x17) | rd(&f, 0x18) << 8, 7 * 1024);
    CHECK_EQ(rd(&f, 0x34) | rd(&f, 0x35) << 8, 0);
    check_sum(&f);
    /* Board writes keep the checksum right; guest writes do not touch it. */
    rtc_cmos_write(f.rtc, 0x10, 0x40);
    check_sum(&f);
    rtc_cmos_write(f.rtc, RTC_REG_B, 0xff);          /* ignored: not RAM */
    CHECK_EQ(rd(&f, RTC_REG_B), 0x02);
    CHECK_EQ(rtc_set_boot_order(f.rtc, "n"), 0);
    CHECK_EQ(rd(&f, 0x3d), 0x04);
    CHECK(rtc_set_boot_order(f.rtc, "cx") < 0);
    CHECK(rtc_set_boot_order(f.rtc, "cdna") < 0);
    fix_fini(&f);
}

TEST(rtc_hostile_registers)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    /* Garbage in every register, any order, in set mode and running. */
    for (int pass = 0; pass < 2; pass++) {
        wr(&f, RTC_REG_B, pass ? 0x02 : 0x82);
        for (int i = 0; i < 128; i++)
            if (i != RTC_REG_A && i != RTC_REG_B)
                wr(&f, (uint8_t)i, 0xff);
        wr(&f, RTC_REG_B, 0x02);
        clock_advance(&f.clk, 2 * NS_PER_SEC);
        for (int i = 0; i < 256; i++)
            (void)rd(&f, (uint8_t)i);
    }
    /* 9999-12-31 23:59:59 and one more second: past int64 nanoseconds. */
    wr(&f, RTC_REG_B, 0x82);
    wr(&f, RTC_CENTURY, 0x99);
    wr(&f, RTC_YEAR, 0x99);
    wr(&f, RTC_MONTH, 0x12);
    wr(&f, RTC_DAY_OF_MONTH, 0x31);
    wr(&f, RTC_HOURS, 0x23);
    wr(&f, RTC_MINUTES, 0x59);
    wr(&f, RTC_SECONDS, 0x59);
    wr(&f, RTC_REG_B, 0x02);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 253402300799LL);
    clock_advance(&f.clk, NS_PER_SEC);
    CHECK_EQ(rtc_get_time_epoch(f.rtc), 253402300800LL);
    CHECK_EQ(rd(&f, RTC_YEAR), 0x00);
    CHECK_EQ(rd(&f, RTC_MONTH), 0x01);
    rtc_set_host_time_offset(f.rtc, -(int64_t)200 * 365 * 86400);   /* before 1970 */
    CHECK(rtc_get_time_epoch(f.rtc) < 0);
    (void)rd(&f, RTC_YEAR);
    fix_fini(&f);
}

/* Time written in one mode, SET cleared together with a mode change: the
 * registers are read in the mode they were written in, then shown in the
 * new one. Same bytes as QEMU 7.2 gives for this sequence. */
TEST(rtc_mode_change_on_set_clear)
{
    struct fix f;
    fix_init(&f, 128 << 20, 0, 1);
    wr(&f, RTC_REG_B, RTC_B_SET | RTC_B_DM);         /* 12 h, binary */
    wr(&f, RTC_SECONDS, 30);
    wr(&f, RTC_MINUTES, 15);
    wr(&f, RTC_HOURS, 0x81);                         /* 1 PM */
    wr(&f, RTC_DAY_OF_MONTH, 10);
    wr(&f, RTC_MONTH, 6);
    wr(&f, RTC_YEAR, 24);
    wr(&f, RTC_CENTURY, 20);
    wr(&f, RTC_REG_B, RTC_B_24H);                    /* run, 24 h BCD */
    CHECK_EQ(rd(&f, RTC_HOURS), 0x13);
    CHECK_EQ(rd(&f, RTC_DAY_OF_MONTH), 0x10);
    CHECK_EQ(rd(&f, RTC_DAY_OF_WEEK), 0x02);         /* Monday */
    CHECK_EQ(rd(&f, RTC_SECONDS), 0x30);
    CHECK_EQ(rd(&f, RTC_MINUTES), 0x15);
    CHECK_EQ(rd(&f, RTC_MONTH), 0x06);
    CHECK_EQ(rd(&f, RTC_YEAR), 0x24);
    CHECK_EQ(rd(&f, RTC_CENTURY), 0x20);
    fix_fini(&f);
}
