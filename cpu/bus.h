/* The only window the software CPU has on the machine (docs/ARCHITECTURE.md): guest RAM
 * as one host mapping plus callbacks for everything else. cpu/ includes
 * nothing from hw/ or accel/; tests drive it with a fake bus. */
#ifndef CPU_BUS_H
#define CPU_BUS_H

#include <stdint.h>
#include <stdbool.h>

struct cpu_bus {
    void *opaque;
    /* Guest-physical → host pointer for RAM; NULL for MMIO/unbacked.
     * ROM returns NULL for writes (they go to mmio_write, which drops them).
     * Pages returned here may be cached by the CPU's TLB until
     * the bus tells it otherwise (see cpu_bus_invalidate in the CPU). */
    uint8_t *(*ram_ptr)(void *opaque, uint64_t paddr, bool write);
    uint64_t (*mmio_read)(void *opaque, uint64_t paddr, unsigned size);
    void (*mmio_write)(void *opaque, uint64_t paddr, uint64_t val, unsigned size);
    uint32_t (*pio_in)(void *opaque, uint16_t port, unsigned size);
    void (*pio_out)(void *opaque, uint16_t port, uint32_t val, unsigned size);
    /* Interrupt acknowledge (INTA cycle): returns the vector of the highest
     * pending interrupt, as the PIC delivers it. */
    int (*intr_ack)(void *opaque);
    /* The board's local APIC, all optional (NULL/false: no APIC; the CPU
     * keeps IA32_APIC_BASE and CR8 itself). msr_read/msr_write see every
     * RDMSR/WRMSR first: 1 handled, 0 not the board's (the CPU's own MSRs
     * then), -1 #GP. tsc is the guest TSC at the access (TSC-deadline). */
    int (*msr_read)(void *opaque, uint32_t msr, uint64_t tsc, uint64_t *val);
    int (*msr_write)(void *opaque, uint32_t msr, uint64_t tsc, uint64_t val);
    /* CR8 is the APIC's TPR[7:4] (SDM vol. 3, 11.8.6.1). */
    uint8_t (*cr8_read)(void *opaque);
    void (*cr8_write)(void *opaque, uint8_t v);
    /* CPUID then reports the APIC, x2APIC and TSC-deadline bits and this
     * APIC id (leaf 1 EBX[31:24]). */
    bool apic;
    uint8_t apic_id;
};

#endif
