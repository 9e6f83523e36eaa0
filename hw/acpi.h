/* ACPI tables for direct kernel boot (no firmware builds them for us):
 * RSDP, RSDT, XSDT, FADT, FACS and a DSDT whose AML we emit ourselves.
 * The layout follows a PIIX4 PC as QEMU's `-M pc` presents it, so a Debian
 * kernel powers off (\_S5 → PM1a_CNT) and reboots (FADT RESET_REG) as there.
 *
 * With `madt` set (the board has local APICs and the IOAPIC) a MADT as QEMU's
 * pc builds it: one LAPIC per CPU, the IOAPIC at 0xfec00000 (GSI 0-23), the
 * interrupt source overrides IRQ0 -> GSI 2 and IRQs 5, 9, 10, 11 level /
 * active high, and LINT1 as NMI on every CPU. Without it Linux keeps the
 * 8259 ("ACPI: PIC mode"). Either way PCI interrupts are the DSDT's _PRT
 * static GSIs (= ISA IRQs, level-triggered through the ELCR in PIC mode).
 * With `hpet` set, an HPET table for the block at 0xfed00000.
 *
 * Where: the 64 KiB BIOS-extension area 0xE0000-0xEFFFF, RSDP first (16-byte
 * aligned, so Linux's legacy scan of 0xE0000-0xFFFFF also finds it). The
 * board's e820 marks the area reserved. Spec: ACPI 6.4 §5.2 (tables), §20
 * (AML encoding), §6.4 (resource descriptors). */
#ifndef HW_ACPI_H
#define HW_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

#define ACPI_AREA_BASE   0xe0000ULL
#define ACPI_AREA_SIZE   0x10000ULL

#define ACPI_PM_BASE_DEFAULT 0x600      /* PIIX4 PMBA as QEMU's pc programs it */
#define ACPI_SCI_IRQ_DEFAULT 9
#define ACPI_RESET_PORT      0xcf9      /* PIIX3/ICH reset control register */
#define ACPI_RESET_VALUE     0x06       /* SYS_RST | RST_CPU: hard reset */

/* PM1a_CNT.SLP_TYP values the DSDT's \_Sx packages announce. S5 is 0, as on
 * QEMU's PIIX4 (its PM1_CNT write treats type 0 with SLP_EN as power off). */
#define ACPI_SLP_TYP_S5 0

struct acpi_config {
    uint16_t pm_base;          /* PM1a_EVT at +0 (4), PM1a_CNT at +4 (2), PM_TMR at +8 (4) */
    uint8_t sci_irq;           /* ISA IRQ of the SCI */
    /* PIRQA..D → ISA IRQ as the PIIX3's PIRQRC registers route them. A PCI
     * device in slot s raising INTx (pin 0..3 = A..D) drives
     * PIRQ[(s - 1 + pin) & 3], the board's wiring (QEMU pc's
     * pci_slot_get_pirq, and hw/pci.c's router). */
    uint8_t pirq_irq[4];
    uint8_t serial_mask;       /* bit i: COMi+1 present (0x3f8, 0x2f8, 0x3e8, 0x2e8) */
    uint64_t pci_mem_base;     /* 32-bit PCI MMIO window [base, 0xfebfffff]: the low RAM end */
    bool madt;                 /* LAPICs + IOAPIC: a MADT (else PIC mode) */
    bool hpet;                 /* an HPET table */
    uint8_t ncpus;             /* LAPIC entries in the MADT (APIC ids 0..n-1) */
};

/* Defaults: PM at 0x600, SCI 9, PIRQA-D → 10,10,11,11, COM1 only, window
 * from `lowmem`. */
void acpi_config_default(struct acpi_config *cfg, uint64_t lowmem);

/* Builds every table into `area` (host memory that the guest sees at
 * physical `area_base`, `area_len` bytes). Returns the RSDP's guest physical
 * address (area_base: it comes first), or 0 when the area is too small or
 * the configuration is invalid. Deterministic: same config, same bytes. */
uint64_t acpi_build_tables(uint8_t *area, size_t area_len, uint64_t area_base,
                           const struct acpi_config *cfg);

/* Board entry: builds the tables at ACPI_AREA_BASE in guest RAM and marks
 * [ACPI_AREA_BASE, +ACPI_AREA_SIZE) reserved in m->e820 (merged with the
 * 0xF0000 BIOS entry). Returns the RSDP address, or 0 on failure (RAM too
 * small). Call after machine_init (RAM and e820 exist) and before the boot
 * loader copies the e820 map into the zero page / start_info. */
uint64_t acpi_build(struct machine *m, const struct acpi_config *cfg);

/* For tests and tools: where each table went. Walks RSDP → XSDT → FADT.
 * Returns the table's guest address inside the area, or 0. */
struct acpi_table_ref {
    char sig[5];
    uint64_t addr;
    uint32_t len;
};
int acpi_list_tables(const uint8_t *area, size_t area_len, uint64_t area_base,
                     struct acpi_table_ref *out, int max);

/* The GSI the _PRT gives slot/pin (pin 0 = INTA): pirq_irq[(slot + pin + 3) & 3].
 * -1 if out of range. */
int acpi_prt_gsi(const struct acpi_config *cfg, unsigned slot, unsigned pin);

/* Checksum byte sum (a valid table sums to 0 mod 256). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

#endif
