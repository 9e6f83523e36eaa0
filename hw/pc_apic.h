/* Board glue for the PC's APIC-era interrupt and timer devices: the local
 * APICs and the IOAPIC (user-space, under engines whose vCPUs take
 * interrupts from them: tcg) and the HPET (both engines), and how ISA/PCI
 * lines reach them (QEMU's pc wiring: ISA IRQ n -> 8259 input n and IOAPIC
 * pin n, except IRQ0 -> pin 2; the HPET's legacy route takes IRQ0/IRQ8 from
 * the PIT and the RTC). pc.c calls one function at each point. */
#ifndef HW_PC_APIC_H
#define HW_PC_APIC_H

#include <stdbool.h>

struct machine;
struct pic;
struct pit;
struct acpi_config;

/* After the 8259/PIT exist (NULL with an in-kernel irqchip). 0 or -1. */
int pc_apic_init(struct machine *m, struct pic *pic, struct pit *pit);
/* Power-on state; call before the PIT's reset (HPET hands IRQ0 back). */
void pc_apic_reset(struct machine *m);
void pc_apic_destroy(struct machine *m);
/* The 8259's INT output: to the LAPICs' LINT0, or straight to CPU 0's INTR. */
void pc_apic_pic_intr(struct machine *m, int level);
/* A device line (board GSI numbering, as KVM's routing: 0-15 ISA, 16-23
 * IOAPIC only) with the user-space controllers. */
void pc_apic_set_gsi(struct machine *m, int gsi, int level);
/* INTA of CPU `cpu`: a LAPIC vector, an 8259 vector, or -1. Lock held. */
int pc_apic_intr_ack(struct machine *m, int cpu);
/* What the ACPI tables must describe: MADT and HPET when present. */
void pc_apic_acpi_config(struct machine *m, struct acpi_config *ac);

#endif
