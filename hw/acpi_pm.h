/* ACPI fixed-feature hardware of a PIIX4-style PM function (ACPI 6.4 §4.8):
 *   base+0  PM1a_STS (2)  TMR_STS, GBL_STS, PWRBTN_STS, RTC_STS, WAK_STS: write 1 to clear
 *   base+2  PM1a_EN  (2)  the matching enables; a set status with its enable raises the SCI
 *   base+4  PM1a_CNT (2)  SCI_EN (set from reset: SMI_CMD is 0, we are always in
 *                          ACPI mode), SLP_TYP (bits 12:10), SLP_EN (bit 13, write-only)
 *   base+8  PM_TMR   (4)  3.579545 MHz free-running counter, 24 bits (FADT TMR_VAL_EXT
 *                          clear), derived from the machine clock; TMR_STS sets each
 *                          time bit 23 changes
 * plus the PIIX3/ICH reset control register at 0xCF9 (bit 2 RST_CPU: reset),
 * the FADT's RESET_REG.
 *
 * Writing SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 (0, as QEMU's PIIX4) calls the
 * poweroff hook; other sleep types are ignored (no S1-S4).
 *
 * 0xCF9 lies inside the PCI host bridge's CONFIG_ADDRESS dword (0xCF8-0xCFB),
 * which only a dword access at 0xCF8 selects (PCI 3.0 §3.2.2.3.2). hw/pci.c
 * registers 0xCF8 as a 1-port region (dword accesses dispatch by their first
 * port), so acpi_pm_create(..., claim_cf9 = true) can own the byte at 0xCF9;
 * a host bridge that claims all four ports instead forwards byte accesses
 * at 0xCF9 to acpi_pm_cf9_read/acpi_pm_cf9_write. */
#ifndef HW_ACPI_PM_H
#define HW_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/clock.h"
#include "hw/irq.h"

#define ACPI_PM_IO_LEN      0x40        /* the PIIX4 PMBA decode size */
#define ACPI_PM_TIMER_HZ    3579545ULL

/* PM1 status/enable bits (§4.8.3.1). */
#define ACPI_PM1_TMR        (1u << 0)
#define ACPI_PM1_BM         (1u << 4)   /* status only */
#define ACPI_PM1_GBL        (1u << 5)
#define ACPI_PM1_PWRBTN     (1u << 8)
#define ACPI_PM1_SLPBTN     (1u << 9)
#define ACPI_PM1_RTC        (1u << 10)
#define ACPI_PM1_WAK        (1u << 15)  /* status only */

/* PM1 control bits (§4.8.3.2.1). */
#define ACPI_PM1_SCI_EN     (1u << 0)
#define ACPI_PM1_BM_RLD     (1u << 1)
#define ACPI_PM1_GBL_RLS    (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << 10)
#define ACPI_PM1_SLP_EN     (1u << 13)

struct acpi_pm_hooks {
    void *opaque;
    void (*poweroff)(void *opaque);     /* S5 entered: the lead maps it to exit status 0 */
    void (*reset)(void *opaque);        /* 0xCF9 RST_CPU: machine reset */
};

struct acpi_pm;

/* Registers [base, base + ACPI_PM_IO_LEN) on `pio` (and 0xCF9 when
 * claim_cf9). `sci` is the SCI line (level, active high: the board routes it
 * to ISA IRQ 9, level-triggered through the ELCR). `hooks` is copied.
 * Returns NULL if a range is taken or on allocation failure. */
struct acpi_pm *acpi_pm_create(struct iomap *pio, uint16_t base, struct clock *clk, struct irq *sci,
                               const struct acpi_pm_hooks *hooks, bool claim_cf9);
/* Machine reset: status and enables cleared, SCI_EN set, SCI lowered. The
 * PM timer keeps counting (it is the chipset's free-running counter). */
void acpi_pm_reset(struct acpi_pm *pm);
void acpi_pm_free(struct acpi_pm *pm);

/* The power button was pressed (monitor "system_powerdown"): PWRBTN_STS,
 * SCI if enabled; Linux's button driver then starts an orderly shutdown. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* The 0xCF9 reset control register, for a PCI host bridge that owns the range. */
uint8_t acpi_pm_cf9_read(struct acpi_pm *pm);
void acpi_pm_cf9_write(struct acpi_pm *pm, uint8_t val);

/* Current PM_TMR value and SCI level (tests, monitor). */
uint32_t acpi_pm_timer(struct acpi_pm *pm);
bool acpi_pm_sci_level(const struct acpi_pm *pm);

#endif
