/* The I/O APIC (Intel 82093AA datasheet, order 290566; version 0x20 with
 * the EOI register, as QEMU's default): 24 input pins, each with a 64-bit
 * redirection entry that turns the pin into an interrupt message on the
 * APIC bus. Every entry point expects the device lock. */
#ifndef HW_IOAPIC_H
#define HW_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"

#define IOAPIC_BASE 0xfec00000ULL
#define IOAPIC_PINS 24

struct apic_bus;
struct ioapic;

/* Registers the 4 KiB window at IOAPIC_BASE on mmio (NULL mmio: tests drive
 * ioapic_read/ioapic_write). NULL on failure. */
struct ioapic *ioapic_create(struct iomap *mmio, struct apic_bus *bus);
void ioapic_reset(struct ioapic *s);
void ioapic_free(struct ioapic *s);
/* Input pin level (1: asserted; see polarity in ioapic.c). */
void ioapic_set_irq(struct ioapic *s, int pin, int level);
/* A LAPIC EOIed a level-triggered vector. */
void ioapic_eoi(struct ioapic *s, int vector);
/* Timer pins (the board: pin 2, IRQ0): an edge that merges into a request
 * still pending at the LAPIC is counted and sent again when the CPU takes
 * the vector (ioapic_accepted), so a guest that counts ticks gets every one
 * even when the host ran its vCPU late. At most IOAPIC_REINJECT_MAX wait. */
#define IOAPIC_REINJECT_MAX 1000
void ioapic_set_reinject(struct ioapic *s, int pin, bool on);
/* A LAPIC took `vector` (IRR -> ISR). */
void ioapic_accepted(struct ioapic *s, int vector);
/* The window, by offset (IOREGSEL 0x00, IOWIN 0x10, EOI 0x40). */
uint64_t ioapic_read(void *s, uint64_t off, unsigned size);
void ioapic_write(void *s, uint64_t off, uint64_t val, unsigned size);
/* Redirection entry of a pin (tests, the monitor). */
uint64_t ioapic_redir(const struct ioapic *s, int pin);

#endif
