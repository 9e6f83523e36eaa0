/* Local APIC and IOAPIC at the register level, on a manual clock, with
 * probes on every wire the board would connect (CPU INTR/NMI, the 8259's
 * acknowledge, the EOI broadcast). */
#include "test.h"
#include "hw/lapic.h"
#include "hw/ioapic.h"
#include <string.h>

struct rig {
    struct clock clk;
    struct iomap mmio;
    struct apic_bus *bus;
    struct lapic *l;
    struct ioapic *io;
    int intr[2];
    int nmis;
    int pic_vec;         /* what the 8259 answers INTA with */
    int pic_acks;
    int eois[256];
};

static struct rig *cur;

static void r_intr(void *o, int cpu, int level) { ((struct rig *)o)->intr[cpu] = level; }
static void r_nmi(void *o, int cpu) { (void)cpu; ((struct rig *)o)->nmis++; }
static int r_pic_ack(void *o) { struct rig *r = o; r->pic_acks++; return r->pic_vec; }
static void r_accepted(void *o, int v)
{
    struct rig *r = o;
    if (r->io)
        ioapic_accepted(r->io, v);
}

static void r_eoi(void *o, int v)
{
    struct rig *r = o;
    r->eois[v & 0xff]++;
    if (r->io)
        ioapic_eoi(r->io, v);
}

static void rig_init(struct rig *r, int ncpus)
{
    memset(r, 0, sizeof(*r));
    clock_init(&r->clk, true);
    iomap_init(&r->mmio, "mmio", NULL);
    struct apic_bus_hooks h = {.opaque = r, .cpu_intr = r_intr, .cpu_nmi = r_nmi,
                               .pic_ack = r_pic_ack, .eoi_broadcast = r_eoi,
                               .accepted = r_accepted};
    r->bus = apic_bus_create(ncpus, &r->clk, &r->mmio, &h);
    r->l = apic_bus_cpu(r->bus, 0);
    r->pic_vec = 0x08;
    cur = r;
}

static void rig_free(struct rig *r)
{
    if (r->io)
        ioapic_free(r->io);
    apic_bus_free(r->bus);
    iomap_destroy(&r->mmio);
}

static uint32_t rd(struct rig *r, uint32_t off) { return (uint32_t)iomap_read(&r->mmio, 0xfee00000 + off, 4); }
static void wr(struct rig *r, uint32_t off, uint32_t v) { iomap_write(&r->mmio, 0xfee00000 + off, v, 4); }
static bool irr(struct rig *r, int v) { return rd(r, 0x200 + (v >> 5) * 0x10) & (1u << (v & 31)); }
static bool isr(struct rig *r, int v) { return rd(r, 0x100 + (v >> 5) * 0x10) & (1u << (v & 31)); }
static void enable(struct rig *r) { wr(r, 0xf0, 0x1ff); }

TEST(lapic_reset_state_and_registers)
{
    struct rig r;
    rig_init(&r, 1);
    CHECK(r.bus);
    uint64_t base;
    CHECK(lapic_msr_read(r.l, 0x1b, 0, &base));
    CHECK_EQ(base, 0xfee00900);                     /* enabled, BSP */
    CHECK_EQ(rd(&r, 0x30), 0x00050014);             /* version 0x14, 6 LVTs */
    CHECK_EQ(rd(&r, 0x20), 0);
    CHECK_EQ(rd(&r, 0xf0), 0xff);                   /* software-disabled */
    CHECK_EQ(rd(&r, 0xe0), 0xffffffff);             /* flat model */
    CHECK_EQ(rd(&r, 0x320), 0x10000);               /* timer masked */
    CHECK_EQ(rd(&r, 0x350), 0x700);                 /* BSP LINT0: ExtINT (virtual wire) */
    CHECK_EQ(rd(&r, 0x360), 0x10000);
    /* LVTs stay masked while software-disabled. */
    wr(&r, 0x320, 0x30);
    CHECK_EQ(rd(&r, 0x320), 0x10030);
    enable(&r);
    wr(&r, 0x320, 0x20030);                         /* periodic, vector 0x30 */
    CHECK_EQ(rd(&r, 0x320), 0x20030);
    wr(&r, 0x80, 0x123);
    CHECK_EQ(rd(&r, 0x80), 0x23);
    /* ID is writable in xAPIC mode, bits 31:24. */
    wr(&r, 0x20, 0x05000000);
    CHECK_EQ(rd(&r, 0x20), 0x05000000);
    /* Software disable masks every LVT again. */
    wr(&r, 0xf0, 0xff);
    CHECK_EQ(rd(&r, 0x320) & 0x10000, 0x10000);
    rig_free(&r);
}

TEST(lapic_self_ipi_priority_tpr_and_eoi)
{
    struct rig r;
    rig_init(&r, 1);
    enable(&r);
    /* Self IPI by shorthand: IRR, INTR, then INTA moves it to ISR. */
    wr(&r, 0x300, 0x40000 | 0x41);
    CHECK(irr(&r, 0x41));
    CHECK_EQ(r.intr[0], 1);
    CHECK_EQ(rd(&r, 0x300) & (1u << 12), 0);        /* delivery status idle */
    /* TPR class 4 blocks class 4. */
    wr(&r, 0x80, 0x40);
    CHECK_EQ(r.intr[0], 0);
    CHECK_EQ(rd(&r, 0xa0), 0x40);
    CHECK_EQ(lapic_intr_ack(r.l), -1);
    /* CR8 is TPR[7:4]. */
    lapic_set_cr8(r.l, 0);
    CHECK_EQ(rd(&r, 0x80), 0);
    CHECK_EQ(r.intr[0], 1);
    /* A higher vector arrives: taken first. */
    wr(&r, 0x310, 0);                               /* destination id 0, physical */
    wr(&r, 0x300, 0x62);
    CHECK_EQ(lapic_intr_ack(r.l), 0x62);
    CHECK(isr(&r, 0x62));
    CHECK(!irr(&r, 0x62));
    /* In service at class 6: PPR 0x60 blocks 0x41. */
    CHECK_EQ(rd(&r, 0xa0), 0x60);
    CHECK_EQ(r.intr[0], 0);
    lapic_set_cr8(r.l, 7);
    CHECK_EQ(rd(&r, 0x80), 0x70);
    CHECK_EQ(lapic_get_cr8(r.l), 7);
    lapic_set_cr8(r.l, 0);
    wr(&r, 0xb0, 0);                                /* EOI clears the highest ISR bit */
    CHECK(!isr(&r, 0x62));
    CHECK_EQ(r.eois[0x62], 0);                      /* edge: no broadcast */
    CHECK_EQ(r.intr[0], 1);
    CHECK_EQ(lapic_intr_ack(r.l), 0x41);
    wr(&r, 0xb0, 0);
    CHECK_EQ(r.intr[0], 0);
    /* Illegal vectors set ESR (latched by an ESR write). */
    wr(&r, 0x300, 0x40000 | 0x05);
    wr(&r, 0x280, 0);
    CHECK_EQ(rd(&r, 0x280), 0x20);
    /* Physical destination that is not us; logical flat match and miss. */
    wr(&r, 0x310, 0x01000000);
    wr(&r, 0x300, 0x50);
    CHECK(!irr(&r, 0x50));
    wr(&r, 0xd0, 0x02000000);                       /* LDR: bit 1 */
    wr(&r, 0x310, 0x06000000);
    wr(&r, 0x300, 0x800 | 0x51);                    /* logical */
    CHECK(irr(&r, 0x51));
    wr(&r, 0x310, 0x01000000);
    wr(&r, 0x300, 0x800 | 0x52);
    CHECK(!irr(&r, 0x52));
    /* Cluster model: cluster 0, member bit 1. */
    wr(&r, 0xe0, 0x0fffffff);
    wr(&r, 0xd0, 0x02000000);
    wr(&r, 0x310, 0x02000000);
    wr(&r, 0x300, 0x800 | 0x53);
    CHECK(irr(&r, 0x53));
    wr(&r, 0x310, 0x12000000);                      /* cluster 1 */
    wr(&r, 0x300, 0x800 | 0x54);
    CHECK(!irr(&r, 0x54));
    /* All-excluding-self reaches nobody here; NMI by shorthand self. */
    wr(&r, 0x300, 0xc0000 | 0x55);
    CHECK(!irr(&r, 0x55));
    wr(&r, 0x300, 0x40000 | 0x400);
    CHECK_EQ(r.nmis, 1);
    rig_free(&r);
}

TEST(lapic_timer_oneshot_periodic_divide)
{
    struct rig r;
    rig_init(&r, 1);
    enable(&r);
    wr(&r, 0x3e0, 0x3);                             /* divide by 16 */
    wr(&r, 0x320, 0x30);                            /* one-shot, vector 0x30 */
    wr(&r, 0x380, 1000);                            /* 16 us */
    CHECK_EQ(rd(&r, 0x390), 1000);
    clock_advance(&r.clk, 16 * 250);
    CHECK_EQ(rd(&r, 0x390), 750);
    CHECK(!irr(&r, 0x30));
    clock_advance(&r.clk, 16 * 750);
    CHECK(irr(&r, 0x30));
    CHECK_EQ(rd(&r, 0x390), 0);
    CHECK_EQ(lapic_intr_ack(r.l), 0x30);
    wr(&r, 0xb0, 0);
    clock_advance(&r.clk, 100000);
    CHECK(!irr(&r, 0x30));                          /* one-shot: once */

    /* Periodic, divide by 1 (1011b): the count reloads. */
    wr(&r, 0x3e0, 0xb);
    wr(&r, 0x320, 0x20031);
    wr(&r, 0x380, 500);
    int n = 0;
    for (int i = 0; i < 10; i++) {
        clock_advance(&r.clk, 500);
        if (irr(&r, 0x31)) {
            n++;
            CHECK_EQ(lapic_intr_ack(r.l), 0x31);
            wr(&r, 0xb0, 0);
        }
    }
    CHECK_EQ(n, 10);
    clock_advance(&r.clk, 100);
    CHECK_EQ(rd(&r, 0x390), 400);
    /* Masked: counts, but no interrupt. */
    wr(&r, 0x320, 0x30031);
    clock_advance(&r.clk, 2000);
    CHECK(!irr(&r, 0x31));
    /* Writing 0 stops it. */
    wr(&r, 0x380, 0);
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    rig_free(&r);
}

TEST(lapic_tsc_deadline)
{
    struct rig r;
    rig_init(&r, 1);
    enable(&r);
    uint64_t v = 1;
    /* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
    CHECK(lapic_msr_write(r.l, 0x6e0, 1000, 5000));
    CHECK(lapic_msr_read(r.l, 0x6e0, 1000, &v));
    CHECK_EQ(v, 0);
    wr(&r, 0x320, 0x40040);                         /* TSC-deadline, vector 0x40 */
    /* TSC 1000 now: deadline 5000 is 4000 ns away. */
    CHECK(lapic_msr_write(r.l, 0x6e0, 1000, 5000));
    CHECK(lapic_msr_read(r.l, 0x6e0, 1000, &v));
    CHECK_EQ(v, 5000);
    wr(&r, 0x380, 77);                              /* TMICT ignored in this mode */
    CHECK_EQ(rd(&r, 0x380), 0);
    clock_advance(&r.clk, 3999);
    CHECK(!irr(&r, 0x40));
    clock_advance(&r.clk, 1);
    CHECK(irr(&r, 0x40));
    CHECK(lapic_msr_read(r.l, 0x6e0, 0, &v));
    CHECK_EQ(v, 0);                                 /* cleared when it fires */
    CHECK_EQ(lapic_intr_ack(r.l), 0x40);
    wr(&r, 0xb0, 0);
    /* A deadline in the past fires at once; 0 disarms. */
    CHECK(lapic_msr_write(r.l, 0x6e0, 9000, 10));
    clock_advance(&r.clk, 0);
    CHECK(irr(&r, 0x40));
    CHECK(lapic_msr_write(r.l, 0x6e0, 0, 1000000));
    CHECK(lapic_msr_write(r.l, 0x6e0, 0, 0));
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    /* All ones: never (no wrapped sum firing at once). */
    CHECK_EQ(lapic_intr_ack(r.l), 0x40);
    wr(&r, 0xb0, 0);
    CHECK(lapic_msr_write(r.l, 0x6e0, 1000, ~0ULL));
    CHECK_EQ(clock_next_deadline(&r.clk), CLOCK_NEVER);
    clock_advance(&r.clk, 1000000);
    CHECK(!irr(&r, 0x40));
    rig_free(&r);
}

TEST(lapic_x2apic_msrs)
{
    struct rig r;
    rig_init(&r, 1);
    uint64_t v;
    /* Not in x2APIC mode: the MSRs #GP. */
    CHECK(!lapic_msr_read(r.l, 0x802, 0, &v));
    /* EXTD without EN is invalid. */
    CHECK(!lapic_msr_write(r.l, 0x1b, 0, 0xfee00000 | (1 << 10)));
    CHECK(lapic_msr_write(r.l, 0x1b, 0, 0xfee00000 | (1 << 11) | (1 << 10)));
    CHECK(lapic_msr_read(r.l, 0x1b, 0, &v));
    CHECK_EQ(v, 0xfee00d00);
    CHECK(lapic_msr_read(r.l, 0x802, 0, &v));
    CHECK_EQ(v, 0);
    CHECK(lapic_msr_read(r.l, 0x80d, 0, &v));
    CHECK_EQ(v, 1);                                 /* cluster 0, bit 0 */
    CHECK(!lapic_msr_read(r.l, 0x80e, 0, &v));      /* no DFR */
    CHECK(!lapic_msr_write(r.l, 0x802, 0, 5));      /* ID read-only */
    CHECK(!lapic_msr_read(r.l, 0x80b, 0, &v));      /* EOI write-only */
    CHECK(!lapic_msr_write(r.l, 0x80b, 0, 1));      /* EOI must be 0 */
    /* The xAPIC page is gone in x2APIC mode. */
    CHECK_EQ(rd(&r, 0x30), 0xffffffff);
    CHECK(lapic_msr_write(r.l, 0x80f, 0, 0x1ff));
    /* SELF IPI register and the 64-bit ICR. */
    CHECK(lapic_msr_write(r.l, 0x83f, 0, 0x44));
    CHECK(lapic_msr_read(r.l, 0x822, 0, &v));       /* IRR 64-95 (0x800 + 0x220/16) */
    CHECK_EQ(v, 1u << (0x44 - 64));
    CHECK(lapic_msr_write(r.l, 0x830, 0, 0x45));    /* dest 0 */
    CHECK(lapic_msr_read(r.l, 0x822, 0, &v));
    CHECK_EQ(v, 3u << (0x44 - 64));
    CHECK(lapic_msr_read(r.l, 0x830, 0, &v));
    CHECK_EQ(v, 0x45);
    CHECK(lapic_msr_write(r.l, 0x830, 0, (5ULL << 32) | 0x46));   /* nobody has id 5 */
    CHECK(lapic_msr_read(r.l, 0x822, 0, &v));
    CHECK_EQ(v, 3u << (0x44 - 64));
    CHECK(lapic_msr_write(r.l, 0x808, 0, 0x20));
    CHECK_EQ(lapic_get_cr8(r.l), 2);
    CHECK(!lapic_msr_write(r.l, 0x808, 0, 0x100));
    /* Back to xAPIC only through disabled (SDM 11.12.5). */
    CHECK(!lapic_msr_write(r.l, 0x1b, 0, 0xfee00000 | (1 << 11)));
    CHECK(lapic_msr_write(r.l, 0x1b, 0, 0xfee00000));
    CHECK(lapic_msr_write(r.l, 0x1b, 0, 0xfee00000 | (1 << 11)));
    CHECK_EQ(rd(&r, 0x30), 0x00050014);
    rig_free(&r);
}

TEST(lapic_relocation_and_global_disable_pic_path)
{
    struct rig r;
    rig_init(&r, 1);
    /* The 8259 reaches the CPU through LINT0 ExtINT (virtual wire). */
    apic_bus_set_pic_intr(r.bus, 1);
    CHECK_EQ(r.intr[0], 1);
    CHECK_EQ(lapic_intr_ack(r.l), 0x08);
    CHECK_EQ(r.pic_acks, 1);
    /* Masked LINT0: it does not. */
    enable(&r);
    wr(&r, 0x350, 0x10700);
    CHECK_EQ(r.intr[0], 0);
    CHECK_EQ(lapic_intr_ack(r.l), -1);
    /* Globally disabled APIC: straight through again. */
    CHECK(lapic_msr_write(r.l, 0x1b, 0, 0xfee00000));
    CHECK_EQ(r.intr[0], 1);
    apic_bus_set_pic_intr(r.bus, 0);
    CHECK_EQ(r.intr[0], 0);
    /* Re-enabled at a new base: the page moves. */
    CHECK(lapic_msr_write(r.l, 0x1b, 0, 0xfed40000 | (1 << 11)));
    CHECK_EQ(iomap_read(&r.mmio, 0xfed40030, 4), 0x00050014);
    CHECK_EQ(rd(&r, 0x30), 0xffffffff);
    /* Reserved bits #GP. */
    CHECK(!lapic_msr_write(r.l, 0x1b, 0, 1ULL << 50));
    rig_free(&r);
}

/* ---- IOAPIC ---- */

static uint32_t io_rd(struct ioapic *s, uint8_t reg)
{
    ioapic_write(s, 0, reg, 4);
    return (uint32_t)ioapic_read(s, 0x10, 4);
}
static void io_wr(struct ioapic *s, uint8_t reg, uint32_t v)
{
    ioapic_write(s, 0, reg, 4);
    ioapic_write(s, 0x10, v, 4);
}

/* A software-enabled LAPIC with the IOAPIC on its bus. */
static struct ioapic *rig_init_ioapic(struct rig *r)
{
    rig_init(r, 1);
    enable(r);
    r->io = ioapic_create(&r->mmio, r->bus);
    return r->io;
}

TEST(ioapic_registers_edge_level_remote_irr)
{
    struct rig r;
    struct ioapic *s = rig_init_ioapic(&r);
    CHECK(s);
    CHECK_EQ(io_rd(s, 1), 0x00170020);              /* 24 pins, version 0x20 */
    CHECK_EQ(io_rd(s, 0x10), 0x10000);              /* masked at reset */
    CHECK_EQ(iomap_read(&r.mmio, 0xfec00000, 4), 0x10); /* IOREGSEL reads back */
    /* Edge pin 3 → vector 0x33: one message per rising edge. */
    io_wr(s, 0x10 + 2 * 3, 0x33);
    io_wr(s, 0x11 + 2 * 3, 0);
    ioapic_set_irq(s, 3, 1);
    CHECK(irr(&r, 0x33));
    CHECK_EQ(lapic_intr_ack(r.l), 0x33);
    ioapic_set_irq(s, 3, 1);                        /* no new edge */
    CHECK(!irr(&r, 0x33));
    wr(&r, 0xb0, 0);
    CHECK_EQ(r.eois[0x33], 0);
    /* Masked edge: lost. */
    io_wr(s, 0x10 + 2 * 3, 0x10033);
    ioapic_set_irq(s, 3, 0);
    ioapic_set_irq(s, 3, 1);
    CHECK(!irr(&r, 0x33));
    /* Level pin 9 → 0x39: remote IRR until EOI, then again while asserted. */
    io_wr(s, 0x10 + 2 * 9, 0x8000 | 0x2000 | 0x39);     /* level, active low */
    CHECK_EQ(io_rd(s, 0x10 + 2 * 9), 0xa039);
    ioapic_set_irq(s, 9, 1);
    CHECK(irr(&r, 0x39));
    CHECK(io_rd(s, 0x10 + 2 * 9) & 0x4000);
    CHECK(rd(&r, 0x180 + 0x10) & (1u << (0x39 - 32)));     /* TMR: level */
    CHECK_EQ(lapic_intr_ack(r.l), 0x39);
    wr(&r, 0xb0, 0);                                /* EOI broadcast */
    CHECK_EQ(r.eois[0x39], 1);
    CHECK(irr(&r, 0x39));                           /* still asserted: again */
    CHECK(io_rd(s, 0x10 + 2 * 9) & 0x4000);
    CHECK_EQ(lapic_intr_ack(r.l), 0x39);
    ioapic_set_irq(s, 9, 0);
    wr(&r, 0xb0, 0);
    CHECK(!(io_rd(s, 0x10 + 2 * 9) & 0x4000));
    CHECK(!irr(&r, 0x39));
    /* Masked level pin keeps its request and sends when unmasked; the
     * directed EOI register clears remote IRR too. */
    io_wr(s, 0x10 + 2 * 9, 0x18039);
    ioapic_set_irq(s, 9, 1);
    CHECK(!irr(&r, 0x39));
    io_wr(s, 0x10 + 2 * 9, 0x8039);
    CHECK(irr(&r, 0x39));
    CHECK_EQ(lapic_intr_ack(r.l), 0x39);
    ioapic_set_irq(s, 9, 0);
    ioapic_write(s, 0x40, 0x39, 4);
    CHECK(!(io_rd(s, 0x10 + 2 * 9) & 0x4000));
    wr(&r, 0xb0, 0);
    /* Destination another APIC id: nobody takes it. */
    io_wr(s, 0x10 + 2 * 4, 0x34);
    io_wr(s, 0x11 + 2 * 4, 0x03000000);
    ioapic_set_irq(s, 4, 1);
    CHECK(!irr(&r, 0x34));
    /* NMI delivery mode. */
    io_wr(s, 0x11 + 2 * 5, 0);
    io_wr(s, 0x10 + 2 * 5, 0x400);
    ioapic_set_irq(s, 5, 1);
    CHECK_EQ(r.nmis, 1);
    /* Out-of-range pins and registers are ignored. */
    ioapic_set_irq(s, 24, 1);
    ioapic_set_irq(s, -1, 1);
    CHECK_EQ(io_rd(s, 0x10 + 2 * 24), 0xffffffff);
    io_wr(s, 0x10 + 2 * 24, 0);
    rig_free(&r);
}


TEST(ioapic_timer_pin_resends_merged_edges)
{
    struct rig r;
    struct ioapic *s = rig_init_ioapic(&r);
    io_wr(s, 0x10 + 2 * 2, 0x30);
    io_wr(s, 0x10 + 2 * 3, 0x31);
    ioapic_set_reinject(s, 2, true);
    /* Four ticks while the CPU could not take any: one IRR bit... */
    for (int i = 0; i < 4; i++) {
        ioapic_set_irq(s, 2, 1);
        ioapic_set_irq(s, 2, 0);
        ioapic_set_irq(s, 3, 1);
        ioapic_set_irq(s, 3, 0);
    }
    /* ...but every one reaches the CPU on the timer pin, one per INTA;
     * pin 3 (not a timer pin) merges as the hardware does. */
    int t30 = 0, t31 = 0, v;
    while ((v = lapic_intr_ack(r.l)) >= 0) {
        t30 += v == 0x30;
        t31 += v == 0x31;
        wr(&r, 0xb0, 0);
    }
    CHECK_EQ(t30, 4);
    CHECK_EQ(t31, 1);
    /* Masking or reprogramming the pin drops what waits. */
    ioapic_set_irq(s, 2, 1);
    ioapic_set_irq(s, 2, 0);
    ioapic_set_irq(s, 2, 1);
    ioapic_set_irq(s, 2, 0);
    io_wr(s, 0x10 + 2 * 2, 0x32);
    t30 = 0;
    while ((v = lapic_intr_ack(r.l)) >= 0) {
        t30++;
        wr(&r, 0xb0, 0);
    }
    CHECK_EQ(t30, 1);
    rig_free(&r);
}
