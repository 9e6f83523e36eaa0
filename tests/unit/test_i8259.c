/* 8259A pair: every register through the port map, as a guest drives it. */
#include "test.h"
#include "hw/i8259.h"
#include <stdbool.h>

struct probe {
    int level;
    int rises;
    int calls;
};

static void probe_fn(void *opaque, int n, int level)
{
    struct probe *pr = opaque;
    (void)n;
    if (level && !pr->level)
        pr->rises++;
    pr->level = level;
    pr->calls++;
}

struct rig {
    struct iomap pio;
    struct irq intr;
    struct probe pr;
    struct pic *pic;
};

static void outb(struct rig *r, uint16_t port, uint8_t v) { iomap_write(&r->pio, port, v, 1); }
static uint8_t inb(struct rig *r, uint16_t port) { return (uint8_t)iomap_read(&r->pio, port, 1); }

/* The PC BIOS/Linux initialisation: ICW1 edge+ICW4, bases 0x20/0x28 (Linux
 * uses 0x30/0x38; SeaBIOS 0x08/0x70), cascade on IR2, 8086 mode. */
static void rig_init(struct rig *r, uint8_t icw4)
{
    iomap_init(&r->pio, "pio", NULL);
    r->pr = (struct probe){0};
    irq_init(&r->intr, probe_fn, &r->pr, 0);
    r->pic = pic_create(&r->pio, &r->intr);
    outb(r, 0x20, 0x11);
    outb(r, 0x21, 0x20);
    outb(r, 0x21, 0x04);
    outb(r, 0x21, icw4);
    outb(r, 0xa0, 0x11);
    outb(r, 0xa1, 0x28);
    outb(r, 0xa1, 0x02);
    outb(r, 0xa1, icw4);
    outb(r, 0x21, 0x00);
    outb(r, 0xa1, 0x00);
}

static void rig_done(struct rig *r)
{
    pic_free(r->pic);
    iomap_destroy(&r->pio);
}

static uint8_t read_irr(struct rig *r, uint16_t base) { outb(r, base, 0x0a); return inb(r, base); }
static uint8_t read_isr(struct rig *r, uint16_t base) { outb(r, base, 0x0b); return inb(r, base); }

TEST(pic_create_registers_ports_and_free_unregisters)
{
    struct iomap pio;
    iomap_init(&pio, "pio", NULL);
    struct pic *p = pic_create(&pio, NULL);
    CHECK(p != NULL);
    CHECK(iomap_find(&pio, 0x20) && iomap_find(&pio, 0x21));
    CHECK(iomap_find(&pio, 0xa0) && iomap_find(&pio, 0xa1));
    CHECK(iomap_find(&pio, 0x4d0) && iomap_find(&pio, 0x4d1));
    CHECK(pic_create(&pio, NULL) == NULL);          /* ports taken */
    pic_free(p);
    CHECK(iomap_find(&pio, 0x20) == NULL);
    CHECK(iomap_find(&pio, 0x4d1) == NULL);
    CHECK_EQ(pio.count, 0);
    iomap_destroy(&pio);
}

TEST(pic_init_sequence_sets_base_and_clears_imr)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x21, 0xfb);
    CHECK_EQ(inb(&r, 0x21), 0xfb);
    /* ICW1 clears IMR (8259A datasheet; QEMU does the same). */
    outb(&r, 0x20, 0x11);
    CHECK_EQ(inb(&r, 0x21), 0x00);
    /* During the ICW sequence the data port takes ICW2..4, not OCW1. */
    outb(&r, 0x21, 0x4d);
    outb(&r, 0x21, 0x04);
    outb(&r, 0x21, 0x01);
    CHECK_EQ(inb(&r, 0x21), 0x00);
    outb(&r, 0x21, 0x5a);
    CHECK_EQ(inb(&r, 0x21), 0x5a);
    outb(&r, 0x21, 0x00);
    pic_set_irq(r.pic, 3, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x4b);           /* ICW2 low bits ignored */
    rig_done(&r);
}

TEST(pic_single_mode_without_icw4_skips_icw3)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x20, 0x12);          /* SNGL, no IC4 */
    outb(&r, 0x21, 0x60);          /* ICW2, then operational */
    outb(&r, 0x21, 0xfe);          /* this is OCW1 already */
    CHECK_EQ(inb(&r, 0x21), 0xfe);
    outb(&r, 0x20, 0x13);          /* SNGL + IC4: ICW2 then ICW4 */
    outb(&r, 0x21, 0x60);
    outb(&r, 0x21, 0x03);          /* ICW4 with AEOI */
    outb(&r, 0x21, 0xfd);          /* OCW1 */
    CHECK_EQ(inb(&r, 0x21), 0xfd);
    struct pic_chip_info in;
    pic_get_info(r.pic, 0, &in);
    CHECK(in.auto_eoi);
    CHECK_EQ(in.base, 0x60);
    rig_done(&r);
}

TEST(pic_edge_latches_rising_edge_only)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 1, 1);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(r.pr.level, 1);
    CHECK_EQ(read_irr(&r, 0x20), 0x02);
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0x20), 0x00);
    CHECK_EQ(read_isr(&r, 0x20), 0x02);
    outb(&r, 0x20, 0x20);                          /* EOI */
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    /* Still high: no new edge, no new request. */
    pic_set_irq(r.pic, 1, 1);
    CHECK(!pic_intr_pending(r.pic));
    pic_set_irq(r.pic, 1, 0);
    CHECK(!pic_intr_pending(r.pic));
    pic_set_irq(r.pic, 1, 1);
    CHECK(pic_intr_pending(r.pic));
    /* An edge stays latched after the line drops (QEMU behaviour). */
    pic_set_irq(r.pic, 1, 0);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);
    rig_done(&r);
}

TEST(pic_mask_holds_request_until_unmasked)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x21, 0x10);
    pic_set_irq(r.pic, 4, 1);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(r.pr.level, 0);
    CHECK_EQ(read_irr(&r, 0x20), 0x10);            /* IRR sees masked lines */
    outb(&r, 0x21, 0x00);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(r.pr.rises, 1);
    outb(&r, 0x21, 0x10);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(r.pr.level, 0);
    /* Slave line masked at the slave. */
    outb(&r, 0xa1, 0x01);
    pic_set_irq(r.pic, 8, 1);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0xa1, 0x00);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x28);
    rig_done(&r);
}

TEST(pic_level_mode_ltim_follows_line)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x20, 0x19);          /* ICW1 with LTIM */
    outb(&r, 0x21, 0x20);
    outb(&r, 0x21, 0x04);
    outb(&r, 0x21, 0x01);
    struct pic_chip_info in;
    pic_get_info(r.pic, 0, &in);
    CHECK(in.level_mode);
    pic_set_irq(r.pic, 3, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x23);
    CHECK_EQ(read_irr(&r, 0x20), 0x08);            /* not cleared by INTA */
    outb(&r, 0x20, 0x20);
    CHECK(pic_intr_pending(r.pic));                /* still high: again */
    pic_set_irq(r.pic, 3, 0);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0x20), 0x00);
    rig_done(&r);
}

TEST(pic_elcr_level_and_fixed_edge_bits)
{
    struct rig r;
    rig_init(&r, 0x01);
    CHECK_EQ(inb(&r, 0x4d0), 0x00);
    CHECK_EQ(inb(&r, 0x4d1), 0x00);
    outb(&r, 0x4d0, 0xff);
    outb(&r, 0x4d1, 0xff);
    CHECK_EQ(inb(&r, 0x4d0), 0xf8);                /* IRQ0,1,2 edge only */
    CHECK_EQ(inb(&r, 0x4d1), 0xde);                /* IRQ8,13 edge only */
    iomap_write(&r.pio, 0x4d0, 0x0820, 2);         /* 16-bit access: both */
    CHECK_EQ(iomap_read(&r.pio, 0x4d0, 2), 0x0820);
    /* IRQ11 level-triggered through ELCR. */
    pic_set_irq(r.pic, 11, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x2b);
    outb(&r, 0xa0, 0x20);
    outb(&r, 0x20, 0x20);
    CHECK(pic_intr_pending(r.pic));                /* line still high */
    CHECK_EQ(pic_intr_ack(r.pic), 0x2b);
    outb(&r, 0xa0, 0x20);
    outb(&r, 0x20, 0x20);
    /* The slave re-raised INT after its EOI, which latched a new edge on
     * the master's IR2; the line now drops: a spurious IRQ15. */
    pic_set_irq(r.pic, 11, 0);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x2f);
    outb(&r, 0x20, 0x20);
    CHECK(!pic_intr_pending(r.pic));
    /* IRQ9 (bit 1 not set) stays edge. */
    pic_set_irq(r.pic, 9, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x29);
    outb(&r, 0xa0, 0x20);
    outb(&r, 0x20, 0x20);
    CHECK(!pic_intr_pending(r.pic));
    /* ELCR survives ICW1 but not a reset. */
    outb(&r, 0xa0, 0x11);
    CHECK_EQ(inb(&r, 0x4d1), 0x08);
    pic_reset(r.pic);
    CHECK_EQ(inb(&r, 0x4d1), 0x00);
    rig_done(&r);
}

TEST(pic_fully_nested_priority_and_nonspecific_eoi)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 5, 1);
    pic_set_irq(r.pic, 3, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x23);           /* lower IR wins */
    CHECK(!pic_intr_pending(r.pic));               /* 5 blocked by 3 in service */
    pic_set_irq(r.pic, 0, 1);
    CHECK(pic_intr_pending(r.pic));                /* 0 nests over 3 */
    CHECK_EQ(pic_intr_ack(r.pic), 0x20);
    CHECK_EQ(read_isr(&r, 0x20), 0x09);
    outb(&r, 0x20, 0x20);                          /* clears highest: IR0 */
    CHECK_EQ(read_isr(&r, 0x20), 0x08);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x20, 0x20);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    CHECK_EQ(pic_intr_ack(r.pic), 0x25);
    outb(&r, 0x20, 0x20);
    rig_done(&r);
}

TEST(pic_specific_eoi_clears_named_bit)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 6, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x26);
    pic_set_irq(r.pic, 1, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);
    CHECK_EQ(read_isr(&r, 0x20), 0x42);
    outb(&r, 0x20, 0x66);                          /* specific EOI IR6 */
    CHECK_EQ(read_isr(&r, 0x20), 0x02);
    outb(&r, 0x20, 0x65);                          /* IR5 not in service: no-op */
    CHECK_EQ(read_isr(&r, 0x20), 0x02);
    outb(&r, 0x20, 0x61);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    rig_done(&r);
}

TEST(pic_auto_eoi_leaves_isr_clear)
{
    struct rig r;
    rig_init(&r, 0x03);                            /* ICW4: AEOI */
    pic_set_irq(r.pic, 4, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x24);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    pic_set_irq(r.pic, 6, 1);
    CHECK(pic_intr_pending(r.pic));                /* nothing in service */
    CHECK_EQ(pic_intr_ack(r.pic), 0x26);
    /* Without rotation the priority stays fully nested. */
    struct pic_chip_info in;
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 0);
    rig_done(&r);
}

TEST(pic_rotate_on_auto_eoi)
{
    struct rig r;
    rig_init(&r, 0x03);
    outb(&r, 0x20, 0x80);                          /* set rotate in AEOI */
    pic_set_irq(r.pic, 4, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x24);
    struct pic_chip_info in;
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 5);                  /* IR4 now lowest */
    pic_set_irq(r.pic, 4, 0);
    pic_set_irq(r.pic, 4, 1);
    pic_set_irq(r.pic, 6, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x26);           /* 6 beats 4 now */
    CHECK_EQ(pic_intr_ack(r.pic), 0x24);
    outb(&r, 0x20, 0x00);                          /* clear rotate in AEOI */
    pic_set_irq(r.pic, 1, 1);
    pic_get_info(r.pic, 0, &in);
    uint8_t before = in.priority_add;
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, before);
    rig_done(&r);
}

TEST(pic_rotate_on_nonspecific_eoi)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 2 + 1, 1);                  /* IR3 */
    CHECK_EQ(pic_intr_ack(r.pic), 0x23);
    outb(&r, 0x20, 0xa0);                          /* rotate on non-specific EOI */
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    /* IR3 became lowest: IR4 is now highest, then 5,6,7,0,1,2,3. */
    pic_set_irq(r.pic, 0, 1);
    pic_set_irq(r.pic, 7, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x27);
    /* IR7 in service blocks IR0 (lower priority after rotation). */
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x20, 0x20);
    CHECK_EQ(pic_intr_ack(r.pic), 0x20);
    outb(&r, 0x20, 0x20);
    rig_done(&r);
}

TEST(pic_rotate_on_specific_eoi_and_set_priority)
{
    struct rig r;
    rig_init(&r, 0x01);
    struct pic_chip_info in;
    outb(&r, 0x20, 0xc5);                          /* set priority: IR5 lowest */
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 6);
    pic_set_irq(r.pic, 5, 1);
    pic_set_irq(r.pic, 6, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x26);           /* 6 highest now */
    outb(&r, 0x20, 0x20);
    CHECK_EQ(pic_intr_ack(r.pic), 0x25);
    outb(&r, 0x20, 0xe5);                          /* rotate on specific EOI 5 */
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 6);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    outb(&r, 0x20, 0xe1);                          /* IR1 lowest, IR2 highest */
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 2);
    outb(&r, 0x20, 0x40);                          /* OCW2 no-op */
    pic_get_info(r.pic, 0, &in);
    CHECK_EQ(in.priority_add, 2);
    rig_done(&r);
}

TEST(pic_special_mask_mode_lets_lower_priority_in)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 3, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x23);
    pic_set_irq(r.pic, 5, 1);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x21, 0x08);                          /* mask IR3 (in service) */
    CHECK(!pic_intr_pending(r.pic));               /* normal mask: still blocked */
    outb(&r, 0x20, 0x68);                          /* set special mask mode */
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x25);
    CHECK_EQ(read_isr(&r, 0x20), 0x28);
    outb(&r, 0x20, 0x65);
    outb(&r, 0x20, 0x48);                          /* reset special mask mode */
    pic_set_irq(r.pic, 6, 1);
    CHECK(!pic_intr_pending(r.pic));               /* IR3 blocks again */
    outb(&r, 0x20, 0x08 | 0x20);                   /* ESMM=0: SMM untouched */
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x20, 0x63);
    CHECK(pic_intr_pending(r.pic));
    rig_done(&r);
}

TEST(pic_poll_mode_reads_and_acks)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x20, 0x0c);                          /* OCW3 poll */
    CHECK_EQ(inb(&r, 0x20), 0x00);                 /* nothing: I=0 */
    CHECK_EQ(inb(&r, 0x20), 0x00);                 /* poll is one-shot: IRR now */
    pic_set_irq(r.pic, 6, 1);
    pic_set_irq(r.pic, 4, 1);
    outb(&r, 0x20, 0x0c);
    CHECK_EQ(inb(&r, 0x21), 0x84);                 /* either port */
    CHECK_EQ(read_isr(&r, 0x20), 0x10);
    CHECK_EQ(read_irr(&r, 0x20), 0x40);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x20, 0x20);
    outb(&r, 0x20, 0x0c);
    CHECK_EQ(inb(&r, 0x20), 0x86);
    outb(&r, 0x20, 0x20);
    CHECK_EQ(inb(&r, 0x21), 0x00);                 /* IMR again */
    rig_done(&r);
}

TEST(pic_read_register_select_persists)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 1, 1);
    pic_set_irq(r.pic, 2 + 5, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);
    outb(&r, 0x20, 0x0b);
    CHECK_EQ(inb(&r, 0x20), 0x02);
    CHECK_EQ(inb(&r, 0x20), 0x02);                 /* RIS stays */
    outb(&r, 0x20, 0x08);                          /* RR=0: no change */
    CHECK_EQ(inb(&r, 0x20), 0x02);
    outb(&r, 0x20, 0x0a);
    CHECK_EQ(inb(&r, 0x20), 0x80);
    rig_done(&r);
}

TEST(pic_spurious_irq7_when_request_vanishes)
{
    struct rig r;
    rig_init(&r, 0x01);
    /* Nothing at all: spurious IR7, ISR untouched. */
    CHECK_EQ(pic_intr_ack(r.pic), 0x27);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    /* Level request dropped between INTR and INTA. */
    outb(&r, 0x4d0, 0x20);
    pic_set_irq(r.pic, 5, 1);
    CHECK(pic_intr_pending(r.pic));
    pic_set_irq(r.pic, 5, 0);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(r.pr.level, 0);
    CHECK_EQ(pic_intr_ack(r.pic), 0x27);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    /* Request masked after INTR was raised. */
    pic_set_irq(r.pic, 4, 1);
    outb(&r, 0x21, 0x10);
    CHECK_EQ(pic_intr_ack(r.pic), 0x27);
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    /* A real IR7 does set ISR7: that is how handlers tell them apart. */
    outb(&r, 0x21, 0x00);
    CHECK_EQ(pic_intr_ack(r.pic), 0x24);
    outb(&r, 0x20, 0x20);
    pic_set_irq(r.pic, 7, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x27);
    CHECK_EQ(read_isr(&r, 0x20), 0x80);
    rig_done(&r);
}

TEST(pic_spurious_irq15_sets_master_cascade_isr)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x4d1, 0x08);                         /* IRQ11 level */
    pic_set_irq(r.pic, 11, 1);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0x20), 0x04);            /* cascade request */
    /* Mask it at the slave after the master has latched IR2. */
    outb(&r, 0xa1, 0x08);
    CHECK(pic_intr_pending(r.pic));                /* edge on IR2 stays latched */
    CHECK_EQ(pic_intr_ack(r.pic), 0x2f);
    CHECK_EQ(read_isr(&r, 0xa0), 0x00);            /* slave ISR7 not set */
    CHECK_EQ(read_isr(&r, 0x20), 0x04);            /* master cascade in service */
    outb(&r, 0x20, 0x20);                          /* the handler EOIs the master */
    CHECK_EQ(read_isr(&r, 0x20), 0x00);
    rig_done(&r);
}

TEST(pic_cascade_slave_behind_master_ir2)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, 12, 1);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0xa0), 0x10);
    CHECK_EQ(read_irr(&r, 0x20), 0x04);
    pic_set_irq(r.pic, 1, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x21);           /* IR1 before IR2 */
    pic_set_irq(r.pic, 4, 1);
    CHECK(!pic_intr_pending(r.pic));               /* IR1 in service blocks IR2, IR4 */
    outb(&r, 0x20, 0x20);
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x2c);           /* IR2 (slave IR4) beats IR4 */
    CHECK_EQ(read_isr(&r, 0x20), 0x04);
    CHECK_EQ(read_isr(&r, 0xa0), 0x10);
    /* A higher slave IRQ cannot nest while IR2 is in service (no SFNM). */
    pic_set_irq(r.pic, 8, 1);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0xa0, 0x20);                          /* EOI slave ... */
    CHECK(!pic_intr_pending(r.pic));               /* ... IR2 still in service */
    outb(&r, 0x20, 0x20);                          /* EOI master */
    CHECK(pic_intr_pending(r.pic));
    CHECK_EQ(pic_intr_ack(r.pic), 0x28);
    outb(&r, 0xa0, 0x20);
    outb(&r, 0x20, 0x20);
    CHECK_EQ(pic_intr_ack(r.pic), 0x24);
    outb(&r, 0x20, 0x20);
    CHECK(!pic_intr_pending(r.pic));
    /* Masking IR2 on the master hides every slave IRQ. */
    outb(&r, 0x21, 0x04);
    pic_set_irq(r.pic, 14, 1);
    CHECK(!pic_intr_pending(r.pic));
    outb(&r, 0x21, 0x00);
    CHECK_EQ(pic_intr_ack(r.pic), 0x2e);
    rig_done(&r);
}

TEST(pic_special_fully_nested_lets_slave_nest)
{
    struct rig r;
    rig_init(&r, 0x01);
    outb(&r, 0x20, 0x11);
    outb(&r, 0x21, 0x20);
    outb(&r, 0x21, 0x04);
    outb(&r, 0x21, 0x11);                          /* ICW4: SFNM */
    pic_set_irq(r.pic, 12, 1);
    CHECK_EQ(pic_intr_ack(r.pic), 0x2c);
    pic_set_irq(r.pic, 9, 1);
    CHECK(pic_intr_pending(r.pic));                /* nests despite ISR2 */
    CHECK_EQ(pic_intr_ack(r.pic), 0x29);
    CHECK_EQ(read_isr(&r, 0xa0), 0x12);
    rig_done(&r);
}

TEST(pic_intr_output_edges_and_reset)
{
    struct rig r;
    rig_init(&r, 0x01);
    int calls = r.pr.calls;
    pic_set_irq(r.pic, 3, 1);
    pic_set_irq(r.pic, 4, 1);                      /* INT already high */
    CHECK_EQ(r.pr.calls, calls + 1);
    CHECK_EQ(r.pr.level, 1);
    pic_reset(r.pic);
    CHECK_EQ(r.pr.level, 0);
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0x20), 0x00);
    rig_done(&r);
}

TEST(pic_hostile_inputs_are_harmless)
{
    struct rig r;
    rig_init(&r, 0x01);
    pic_set_irq(r.pic, -1, 1);
    pic_set_irq(r.pic, 16, 1);
    pic_set_irq(r.pic, 1000, 1);
    pic_set_irq(r.pic, 2, 1);                      /* cascade input: slave only */
    CHECK(!pic_intr_pending(r.pic));
    CHECK_EQ(read_irr(&r, 0x20), 0x00);
    /* Wide accesses behave like byte accesses to consecutive ports. */
    iomap_write(&r.pio, 0x20, 0xff0b, 2);          /* OCW3 RIS, then IMR=0xff */
    CHECK_EQ(inb(&r, 0x21), 0xff);
    CHECK_EQ(iomap_read(&r.pio, 0x21, 4), 0xffffffffu);
    CHECK_EQ(iomap_read(&r.pio, 0x20, 2), 0xff00);
    for (int v = 0; v < 256; v++)                  /* any command byte */
        outb(&r, 0xa0, (uint8_t)v);
    pic_intr_ack(r.pic);
    rig_done(&r);
}
