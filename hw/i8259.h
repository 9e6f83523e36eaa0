/* The PC's pair of 8259A programmable interrupt controllers: the master at
 * ports 0x20/0x21, the slave at 0xa0/0xa1 cascaded on the master's IR2, and
 * the PIIX edge/level control registers (ELCR) at 0x4d0/0x4d1.
 * Behaviour follows the Intel 8259A datasheet and, where the datasheet leaves
 * room, QEMU's hw/intc/i8259.c (what guests are tested against). */
#ifndef HW_I8259_H
#define HW_I8259_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/irq.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE  0xa0
#define PIC_ELCR_BASE   0x4d0

struct pic;

/* Every entry point expects the caller to hold the device lock; intr_out is
 * called from inside pic_set_irq/pic_intr_ack/port writes. */

/* Registers the ports on pio. intr_out follows the master's INT pin (the
 * CPU's INTR); it is called only when the level changes. NULL on failure. */
struct pic *pic_create(struct iomap *pio, struct irq *intr_out);
/* Power-on/reset state: both chips uninitialised, ELCR cleared. */
void pic_reset(struct pic *p);
/* Unregisters the ports and frees. */
void pic_free(struct pic *p);

/* A device line changed level. irq 0..15; IRQ2 is the cascade input and is
 * driven by the slave only, so irq 2 (and out-of-range numbers) are ignored. */
void pic_set_irq(struct pic *p, int irq, int level);
/* An irq_handler_fn for device lines: irq_init(&line, pic_irq_handler, pic, n)
 * makes `line` drive ISA IRQ n of this PIC pair. */
void pic_irq_handler(void *pic, int irq, int level);
/* The CPU's INTA cycle: returns the vector and updates IRR/ISR. When nothing
 * valid is requested it returns the spurious vector of IR7 (master base+7, or
 * slave base+7 after setting the master's cascade ISR bit) without setting the
 * ISR bit of IR7, as the 8259A does. */
int pic_intr_ack(struct pic *p);
/* The master's INT output right now. */
bool pic_intr_pending(struct pic *p);

/* Introspection for the monitor and tests. chip 0 = master, 1 = slave. */
struct pic_chip_info {
    uint8_t irr, isr, imr, elcr, base;
    uint8_t priority_add;        /* IR with the highest priority */
    bool auto_eoi, special_mask, level_mode;
};
void pic_get_info(struct pic *p, int chip, struct pic_chip_info *out);

#endif
