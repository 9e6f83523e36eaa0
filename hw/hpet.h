/* High Precision Event Timer (IA-PC HPET specification 1.0a) as QEMU's pc
 * has it: one block at 0xfed00000, a 64-bit main counter at 100 MHz, three
 * 64-bit comparators (periodic-capable), legacy replacement route. Every
 * entry point expects the device lock. */
#ifndef HW_HPET_H
#define HW_HPET_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/clock.h"
#include "hw/iomap.h"

#define HPET_BASE   0xfed00000ULL
#define HPET_TIMERS 3
#define HPET_FREQ   100000000ULL       /* 10 ns period, as QEMU */

struct hpet;

struct hpet_hooks {
    void *opaque;
    /* Interrupt line `line`: 0 and 8 in legacy replacement mode (the PIT's
     * and the RTC's ISA IRQs), else the IOAPIC pin of Tn_INT_ROUTE_CNF. */
    void (*set_irq)(void *opaque, int line, int level);
    /* Legacy replacement on/off: the PIT and RTC lose/regain IRQ0/IRQ8. */
    void (*legacy)(void *opaque, bool on);
};

/* Registers the 1 KiB block at HPET_BASE (mmio may be NULL for tests:
 * then use hpet_read/hpet_write). NULL on failure. */
struct hpet *hpet_create(struct iomap *mmio, struct clock *clk, const struct hpet_hooks *hooks);
void hpet_reset(struct hpet *h);
void hpet_free(struct hpet *h);
uint64_t hpet_read(void *h, uint64_t off, unsigned size);
void hpet_write(void *h, uint64_t off, uint64_t val, unsigned size);

#endif
