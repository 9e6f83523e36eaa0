/* The local APICs (one per vCPU) and the APIC bus that joins them to each
 * other and to the IOAPIC. Intel SDM vol. 3A, chapter 11 ("Advanced
 * Programmable Interrupt Controller"); QEMU's hw/intc/apic.c is what guests
 * are tested against where the SDM leaves room.
 *
 * Every entry point expects the device lock. The board supplies the wires a
 * LAPIC drives (struct apic_bus_hooks): each CPU's INTR and NMI inputs and
 * the 8259's acknowledge (ExtINT through LINT0). Interrupt messages (IOAPIC
 * redirection entries, ICR writes, MSI later) all go through one function,
 * apic_bus_deliver, which picks the destination LAPICs: with several vCPUs
 * on their own threads it is the one place that reaches another thread. */
#ifndef HW_LAPIC_H
#define HW_LAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/clock.h"
#include "hw/iomap.h"

#define APIC_DEFAULT_BASE 0xfee00000ULL
#define APIC_MAX_CPUS 16

/* IA32_APIC_BASE (MSR 0x1b) bits. */
#define APICBASE_BSP    (1ULL << 8)
#define APICBASE_X2APIC (1ULL << 10)
#define APICBASE_ENABLE (1ULL << 11)

/* Delivery modes of an interrupt message (ICR, IOAPIC redirection entry). */
enum apic_dm {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
    APIC_DM_INIT = 5, APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

struct apic_bus_hooks {
    void *opaque;
    /* CPU `cpu`'s INTR input: level of "an interrupt can be acknowledged". */
    void (*cpu_intr)(void *opaque, int cpu, int level);
    /* An edge on CPU `cpu`'s NMI input. */
    void (*cpu_nmi)(void *opaque, int cpu);
    /* The 8259's INTA (ExtINT): vector, or -1. */
    int (*pic_ack)(void *opaque);
    /* A level-triggered vector was EOIed: the IOAPIC clears remote IRR. */
    void (*eoi_broadcast)(void *opaque, int vector);
    /* The CPU took a fixed vector (IRR -> ISR): a source whose earlier
     * message merged into the pending one may send it again now. */
    void (*accepted)(void *opaque, int vector);
    /* INIT / SIPI to CPU `cpu` (NULL: ignored; SMP bring-up comes later). */
    void (*cpu_init)(void *opaque, int cpu);
    void (*cpu_sipi)(void *opaque, int cpu, int vector);
    /* The CPU doing an MMIO access to the xAPIC page (each CPU sees its
     * own LAPIC there). NULL: CPU 0. */
    int (*current_cpu)(void *opaque);
};

struct apic_bus;
struct lapic;

/* ncpus LAPICs with ids 0..ncpus-1, CPU 0 the BSP; the xAPIC page is
 * registered on mmio at the BSP's base. NULL on failure. */
struct apic_bus *apic_bus_create(int ncpus, struct clock *clk, struct iomap *mmio,
                                 const struct apic_bus_hooks *hooks);
void apic_bus_free(struct apic_bus *b);
/* Power-on state of every LAPIC (INIT state for the APs). */
void apic_bus_reset(struct apic_bus *b);
struct lapic *apic_bus_cpu(struct apic_bus *b, int cpu);

/* An interrupt message on the APIC bus (SDM 11.6.2 destinations).
 * dest_mode: 0 physical (dest = APIC id, 0xff/0xffffffff broadcast),
 * 1 logical (dest matched against LDR/DFR). level: trigger mode. Returns
 * true when a fixed message found its vector already requested (in IRR) at
 * a destination, i.e. it merged with the pending one and is lost as a
 * separate interrupt. */
bool apic_bus_deliver(struct apic_bus *b, uint32_t dest, bool logical, enum apic_dm dm,
                      uint8_t vector, bool level);

/* The 8259's INT output (wired to every LINT0 as on a PC). */
void apic_bus_set_pic_intr(struct apic_bus *b, int level);
/* The CPU's INTA cycle: vector, or -1 when nothing is pending any more. */
int lapic_intr_ack(struct lapic *l);
/* Whether the CPU's INTR is asserted now. */
bool lapic_intr_pending(const struct lapic *l);

/* MSRs the LAPIC owns: IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE (0x6e0)
 * and the x2APIC registers (0x800-0x8ff, x2APIC mode only). tsc is the guest
 * TSC at the access (1 GHz, the APIC timer's own rate). false: #GP. */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t tsc, uint64_t *val);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t tsc, uint64_t val);
/* CR8 is TPR[7:4] (SDM 11.8.6.1). */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint8_t v);

/* Register access by xAPIC offset (tests, the monitor). */
uint32_t lapic_reg_read(struct lapic *l, uint32_t off);
void lapic_reg_write(struct lapic *l, uint32_t off, uint32_t val);

#endif
