/* 8259A interrupt controller pair (Intel 8259A datasheet, order 231468).
 *
 * Priorities are kept as in the datasheet's "rotation": priority_add is the IR
 * that currently has the highest priority; IR (priority_add + k) & 7 has
 * priority k (0 = highest). Fully nested mode is priority_add == 0.
 *
 * Edge-triggered inputs latch a rising edge in IRR; the latch stays until the
 * INTA cycle (or an ICW1) clears it, and the input must go low before it can
 * latch again. Level-triggered inputs (ICW1.LTIM, or the PIIX ELCR bit) make
 * IRR follow the line. Like QEMU, a latched edge stays requested even if the
 * line drops before INTA: only masking, a level line going low, or a higher
 * priority in service can make an INTA find nothing (spurious IR7). */
#include "hw/i8259.h"
#include <stdlib.h>
#include <string.h>

struct pic_chip {
    uint8_t irr;            /* interrupt request register */
    uint8_t isr;            /* in-service register */
    uint8_t imr;            /* interrupt mask register (OCW1) */
    uint8_t last_level;     /* input levels seen, for edge detection */
    uint8_t elcr;           /* PIIX ELCR: 1 = level-triggered */
    uint8_t elcr_mask;      /* ELCR bits that exist */
    uint8_t base;           /* ICW2 vector base (low 3 bits 0) */
    uint8_t priority_add;
    uint8_t init_state;     /* 0: operational, 1: want ICW2, 2: ICW3, 3: ICW4 */
    bool init4;             /* ICW1.IC4: an ICW4 follows */
    bool single;            /* ICW1.SNGL: no ICW3 */
    bool ltim;              /* ICW1.LTIM: every input level-triggered */
    bool auto_eoi;          /* ICW4.AEOI */
    bool rotate_on_aeoi;    /* OCW2 R/SL/EOI = 100 */
    bool sfnm;              /* ICW4.SFNM */
    bool special_mask;      /* OCW3.SMM */
    bool read_isr;          /* OCW3.RIS: port 0 reads ISR instead of IRR */
    bool poll;              /* OCW3.P: next read is a poll */
    bool master;
    bool int_out;           /* INT pin */
};

struct pic {
    struct pic_chip chip[2];
    struct iomap *pio;
    struct irq *intr_out;
};

static void chip_set_input(struct pic *p, int c, int n, int level);

static bool chip_level_triggered(const struct pic_chip *s, int n)
{
    return s->ltim || (s->elcr & (1u << n));
}

/* Priority (0..7) of the highest-priority bit set in mask, 8 if none. */
static int chip_priority(const struct pic_chip *s, uint8_t mask)
{
    if (!mask)
        return 8;
    int prio = 0;
    while (!(mask & (1u << ((prio + s->priority_add) & 7))))
        prio++;
    return prio;
}

/* The IR the chip wants to interrupt with, or -1. */
static int chip_pending(const struct pic_chip *s)
{
    int prio = chip_priority(s, s->irr & ~s->imr);
    if (prio == 8)
        return -1;
    uint8_t in_service = s->isr;
    /* Special mask mode: a masked IR in service no longer blocks lower ones
     * (datasheet, "Special Mask Mode"). */
    if (s->special_mask)
        in_service &= ~s->imr;
    /* Special fully nested mode: the master lets the slave interrupt again
     * while its cascade IR is in service, so higher-priority slave requests
     * nest (datasheet, "Special Fully Nested Mode"). */
    if (s->sfnm && s->master)
        in_service &= ~(1u << 2);
    if (prio < chip_priority(s, in_service))
        return (prio + s->priority_add) & 7;
    return -1;
}

static void chip_update(struct pic *p, int c)
{
    struct pic_chip *s = &p->chip[c];
    bool out = chip_pending(s) >= 0;
    if (out == s->int_out)
        return;
    s->int_out = out;
    if (c == 1)
        chip_set_input(p, 0, 2, out);      /* slave INT -> master IR2 */
    else
        irq_set(p->intr_out, out);
}

static void chip_set_input(struct pic *p, int c, int n, int level)
{
    struct pic_chip *s = &p->chip[c];
    uint8_t bit = 1u << n;
    if (chip_level_triggered(s, n)) {
        if (level)
            s->irr |= bit;
        else
            s->irr &= ~bit;
    } else if (level && !(s->last_level & bit)) {
        s->irr |= bit;
    }
    if (level)
        s->last_level |= bit;
    else
        s->last_level &= ~bit;
    chip_update(p, c);
}

/* The chip's part of an INTA cycle (or a poll read) for IR n. */
static void chip_ack(struct pic *p, int c, int n)
{
    struct pic_chip *s = &p->chip[c];
    if (s->auto_eoi) {
        if (s->rotate_on_aeoi)
            s->priority_add = (n + 1) & 7;
    } else {
        s->isr |= 1u << n;
    }
    /* A level-triggered request stays in IRR while the line is high. */
    if (!chip_level_triggered(s, n))
        s->irr &= ~(1u << n);
    chip_update(p, c);
}

/* What ICW1 does (datasheet, "Initialization Command Words"): edge sense
 * reset, IMR cleared, IR7 lowest priority, special mask and read-register
 * state cleared; QEMU also drops latched edge requests (IRR &= ELCR). */
static void chip_init_reset(struct pic *p, int c)
{
    struct pic_chip *s = &p->chip[c];
    s->last_level = 0;
    s->irr &= s->elcr;
    s->imr = 0;
    s->isr = 0;
    s->priority_add = 0;
    s->base = 0;
    s->init_state = 0;
    s->init4 = s->single = s->ltim = false;
    s->auto_eoi = s->rotate_on_aeoi = s->sfnm = false;
    s->special_mask = s->read_isr = s->poll = false;
    chip_update(p, c);
}

static void chip_write_cmd(struct pic *p, int c, uint8_t val)
{
    struct pic_chip *s = &p->chip[c];
    if (val & 0x10) {                       /* ICW1 */
        chip_init_reset(p, c);
        s->init_state = 1;
        s->init4 = val & 0x01;
        s->single = val & 0x02;
        s->ltim = val & 0x08;
        return;
    }
    if (val & 0x08) {                       /* OCW3 */
        if (val & 0x04)
            s->poll = true;
        if (val & 0x02)
            s->read_isr = val & 0x01;
        if (val & 0x40)
            s->special_mask = (val >> 5) & 1;
        chip_update(p, c);
        return;
    }
    int n, prio;
    switch (val >> 5) {                     /* OCW2: R SL EOI */
    case 0:                                 /* clear rotate in AEOI */
    case 4:                                 /* set rotate in AEOI */
        s->rotate_on_aeoi = (val >> 7) & 1;
        break;
    case 1:                                 /* non-specific EOI */
    case 5:                                 /* rotate on non-specific EOI */
        prio = chip_priority(s, s->isr);
        if (prio == 8)
            break;
        n = (prio + s->priority_add) & 7;
        s->isr &= ~(1u << n);
        if (val & 0x80)
            s->priority_add = (n + 1) & 7;
        chip_update(p, c);
        break;
    case 3:                                 /* specific EOI */
        s->isr &= ~(1u << (val & 7));
        chip_update(p, c);
        break;
    case 6:                                 /* set priority: L2-L0 lowest */
        s->priority_add = (val + 1) & 7;
        chip_update(p, c);
        break;
    case 7:                                 /* rotate on specific EOI */
        n = val & 7;
        s->isr &= ~(1u << n);
        s->priority_add = (n + 1) & 7;
        chip_update(p, c);
        break;
    default:                                /* 2: no operation */
        break;
    }
}

static void chip_write_data(struct pic *p, int c, uint8_t val)
{
    struct pic_chip *s = &p->chip[c];
    switch (s->init_state) {
    case 0:                                 /* OCW1 */
        s->imr = val;
        chip_update(p, c);
        break;
    case 1:                                 /* ICW2 */
        s->base = val & 0xf8;
        s->init_state = s->single ? (s->init4 ? 3 : 0) : 2;
        break;
    case 2:                                 /* ICW3: the PC's wiring is fixed */
        s->init_state = s->init4 ? 3 : 0;
        break;
    default:                                /* ICW4 */
        s->sfnm = (val >> 4) & 1;
        s->auto_eoi = (val >> 1) & 1;
        s->init_state = 0;
        break;
    }
}

static uint8_t chip_read(struct pic *p, int c, int port)
{
    struct pic_chip *s = &p->chip[c];
    if (s->poll) {
        /* Poll command: the read acts as an INTA and returns I + the IR
         * (datasheet, "The Poll Command"); either port reads it. */
        s->poll = false;
        int n = chip_pending(s);
        if (n < 0)
            return 0;
        chip_ack(p, c, n);
        return 0x80 | n;
    }
    if (port == 0)
        return s->read_isr ? s->isr : s->irr;
    return s->imr;
}

/* 8-bit registers; a wider access touches consecutive ports like the ISA bus
 * splits it. Bytes outside the range read as 0xff. */
static uint64_t pic_io_read(void *opaque, uint64_t addr, unsigned size, int c)
{
    struct pic *p = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        uint64_t b = a < 2 ? chip_read(p, c, (int)a) : 0xff;
        v |= b << (8 * i);
    }
    return v;
}

static void pic_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size, int c)
{
    struct pic *p = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        if (a == 0)
            chip_write_cmd(p, c, b);
        else if (a == 1)
            chip_write_data(p, c, b);
    }
}

static uint64_t master_read(void *o, uint64_t a, unsigned s) { return pic_io_read(o, a, s, 0); }
static uint64_t slave_read(void *o, uint64_t a, unsigned s) { return pic_io_read(o, a, s, 1); }
static void master_write(void *o, uint64_t a, uint64_t v, unsigned s) { pic_io_write(o, a, v, s, 0); }
static void slave_write(void *o, uint64_t a, uint64_t v, unsigned s) { pic_io_write(o, a, v, s, 1); }

static uint64_t elcr_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pic *p = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        uint64_t b = a < 2 ? p->chip[a].elcr : 0xff;
        v |= b << (8 * i);
    }
    return v;
}

static void elcr_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct pic *p = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        if (a < 2) {
            /* The new mode applies to later line changes; IRR is left as is,
             * like QEMU. */
            p->chip[a].elcr = (uint8_t)(val >> (8 * i)) & p->chip[a].elcr_mask;
        }
    }
}

struct pic *pic_create(struct iomap *pio, struct irq *intr_out)
{
    struct pic *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->pio = pio;
    p->intr_out = intr_out;
    p->chip[0].master = true;
    /* PIIX ELCR: IRQ0, 1, 2, 8 and 13 are always edge-triggered (PIIX3
     * datasheet, ELCR1/ELCR2). */
    p->chip[0].elcr_mask = 0xf8;
    p->chip[1].elcr_mask = 0xde;
    if (pio) {
        if (iomap_register(pio, PIC_MASTER_BASE, 2, master_read, master_write, p, "pic-master") < 0)
            goto fail0;
        if (iomap_register(pio, PIC_SLAVE_BASE, 2, slave_read, slave_write, p, "pic-slave") < 0)
            goto fail1;
        if (iomap_register(pio, PIC_ELCR_BASE, 2, elcr_read, elcr_write, p, "elcr") < 0)
            goto fail2;
    }
    pic_reset(p);
    return p;
fail2:
    iomap_unregister(pio, PIC_SLAVE_BASE);
fail1:
    iomap_unregister(pio, PIC_MASTER_BASE);
fail0:
    free(p);
    return NULL;
}

void pic_reset(struct pic *p)
{
    for (int c = 1; c >= 0; c--) {
        p->chip[c].elcr = 0;
        chip_init_reset(p, c);
    }
    /* Tell the CPU side the reset level even if it did not change, so a
     * board reset never leaves a stale INTR. */
    irq_set(p->intr_out, p->chip[0].int_out);
}

void pic_free(struct pic *p)
{
    if (!p)
        return;
    if (p->pio) {
        iomap_unregister(p->pio, PIC_MASTER_BASE);
        iomap_unregister(p->pio, PIC_SLAVE_BASE);
        iomap_unregister(p->pio, PIC_ELCR_BASE);
    }
    free(p);
}

void pic_set_irq(struct pic *p, int irq, int level)
{
    if (irq < 0 || irq > 15 || irq == 2)
        return;
    chip_set_input(p, irq >> 3, irq & 7, level != 0);
}

void pic_irq_handler(void *pic, int irq, int level)
{
    pic_set_irq(pic, irq, level);
}

int pic_intr_ack(struct pic *p)
{
    struct pic_chip *m = &p->chip[0], *sl = &p->chip[1];
    int n = chip_pending(m);
    if (n < 0)
        return m->base + 7;                 /* spurious on the master */
    int vector;
    if (n == 2) {
        int n2 = chip_pending(sl);
        if (n2 >= 0) {
            chip_ack(p, 1, n2);
            vector = sl->base + n2;
        } else {
            /* The slave saw its request vanish: it answers IR7 without
             * setting ISR7, but the master did acknowledge its cascade IR. */
            vector = sl->base + 7;
        }
    } else {
        vector = m->base + n;
    }
    chip_ack(p, 0, n);
    return vector;
}

bool pic_intr_pending(struct pic *p)
{
    return p->chip[0].int_out;
}

void pic_get_info(struct pic *p, int chip, struct pic_chip_info *out)
{
    memset(out, 0, sizeof(*out));
    if (chip < 0 || chip > 1)
        return;
    const struct pic_chip *s = &p->chip[chip];
    out->irr = s->irr;
    out->isr = s->isr;
    out->imr = s->imr;
    out->elcr = s->elcr;
    out->base = s->base;
    out->priority_add = s->priority_add;
    out->auto_eoi = s->auto_eoi;
    out->special_mask = s->special_mask;
    out->level_mode = s->ltim;
}
