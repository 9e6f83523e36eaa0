/* The board's plumbing: I/O maps, the clock and its timers. */
#include "test.h"
#include "hw/iomap.h"
#include "hw/clock.h"
#include "hw/stats.h"
#include "accel/accel.h"
#include <string.h>

static uint64_t last_addr, last_val;
static uint64_t rd(void *o, uint64_t a, unsigned s) { (void)o; (void)s; return 0x1200 + a; }
static void wr(void *o, uint64_t a, uint64_t v, unsigned s) { (void)o; (void)s; last_addr = a; last_val = v; }

TEST(iomap_dispatch_and_unclaimed)
{
    static struct stats st;
    struct iomap m;
    stats_init(&st);
    iomap_init(&m, "pio", &st);
    CHECK_EQ(iomap_register(&m, 0x40, 4, rd, wr, NULL, "pit"), 0);
    CHECK_EQ(iomap_register(&m, 0x20, 2, rd, wr, NULL, "pic"), 0);
    CHECK(iomap_register(&m, 0x42, 4, rd, wr, NULL, "overlap") < 0);
    CHECK(iomap_register(&m, 0x1f, 2, rd, wr, NULL, "overlap2") < 0);
    CHECK_EQ(iomap_read(&m, 0x42, 1), 0x02);          /* 0x1202 masked to a byte */
    CHECK_EQ(iomap_read(&m, 0x21, 2), 0x1201);
    iomap_write(&m, 0x43, 0x1ff, 1);
    CHECK_EQ(last_addr, 3);
    CHECK_EQ(last_val, 0xff);
    CHECK_EQ(iomap_read(&m, 0x60, 1), 0xff);          /* unclaimed: all ones */
    CHECK_EQ(iomap_read(&m, 0x60, 2), 0xffff);
    CHECK_EQ(iomap_read(&m, 0x60, 4), 0xffffffffu);
    last_val = 0;
    iomap_write(&m, 0x60, 5, 1);                       /* ignored */
    CHECK_EQ(last_val, 0);
    CHECK_EQ(st.event[STAT_UNCLAIMED_PIO], 4);
    CHECK_EQ(st.dev_access[stats_dev_id(&st, "pio", "pit")], 2);
    iomap_destroy(&m);
}

static int fired;
static struct timer periodic;
static void tick(void *o) { (void)o; fired++; timer_mod(&periodic, periodic.deadline + 1000); }

TEST(clock_manual_timers)
{
    struct clock c;
    clock_init(&c, true);
    timer_init(&periodic, &c, tick, NULL);
    timer_mod(&periodic, 1000);
    CHECK_EQ(clock_next_deadline(&c), 1000);
    clock_advance(&c, 999);
    CHECK_EQ(fired, 0);
    clock_advance(&c, 1);
    CHECK_EQ(fired, 1);
    clock_advance(&c, 10000);
    CHECK_EQ(fired, 11);
    timer_del(&periodic);
    CHECK_EQ(clock_next_deadline(&c), CLOCK_NEVER);
    CHECK_EQ(muldiv64(1ULL << 62, 1193182, NS_PER_SEC), (uint64_t)(((unsigned __int128)1 << 62) * 1193182 / NS_PER_SEC));
}

TEST(accel_parse_forms)
{
    struct accel_config c;
    char err[128];
    memset(&c, 0, sizeof(c));
    CHECK_EQ(accel_parse(&c, "kvm:tcg", err, sizeof(err)), 0);
    CHECK_EQ(c.count, 2);
    CHECK(!strcmp(c.names[0], "kvm") && !strcmp(c.names[1], "tcg"));
    memset(&c, 0, sizeof(c));
    CHECK_EQ(accel_parse(&c, "kvm,kernel-irqchip=off,fallback=off", err, sizeof(err)), 0);
    CHECK(c.kernel_irqchip_set && !c.kernel_irqchip && !c.fallback);
    memset(&c, 0, sizeof(c));
    CHECK(accel_parse(&c, "hax", err, sizeof(err)) < 0);
    CHECK(strstr(err, "hax") != NULL);
    CHECK(accel_parse(&c, "kvm,bogus=1", err, sizeof(err)) < 0);
    CHECK(accel_parse(&c, "kvm,kernel-irqchip=maybe", err, sizeof(err)) < 0);
}
