/* Board glue for firmware: the fw_cfg items QEMU's `pc` machine gives
 * SeaBIOS (what SeaBIOS's src/fw/paravirt.c reads, in its order):
 *
 *   signature, ID (DMA bit)        detection, then DMA for everything else
 *   0x0e boot menu, 0x0f max CPUs  -boot menu=on; CPU count
 *   0x05 CPUs, 0x03 RAM size       (SeaBIOS takes low RAM from the CMOS)
 *   0x8002 irq0-override           the PIT is on IOAPIC pin 2 (QEMU: 1)
 *   etc/e820                       RAM above what the CMOS says, reservations
 *   etc/table-loader               ACPI: the tables of hw/acpi.c placed and
 *   etc/acpi/tables, etc/acpi/rsdp linked by the firmware (RSDP in the F segment)
 *   etc/boot-fail-wait             -boot reboot-timeout= (default: never retry)
 *   etc/sercon-port                0x3f8: no VGA here, so SeaBIOS's own
 *                                  console (its menu and int 10h text output,
 *                                  GRUB's included) goes to COM1, as -nographic
 *                                  users expect
 *   bootorder                      not written: -boot order= goes to the CMOS
 *                                  (0x3d/0x38), which SeaBIOS reads as QEMU's
 *                                  legacy boot order
 *
 * The firmware image is the other half: see roms/README.md. */
#ifndef HW_PC_FW_H
#define HW_PC_FW_H

#include <stddef.h>
#include <stdint.h>

struct machine;
struct rtc;
struct fw_cfg;
struct acpi_config;

/* Creates fw_cfg with the items above and applies -boot order= to the
 * CMOS. NULL with a message on stderr on failure. */
struct fw_cfg *pc_fw_init(struct machine *m, struct rtc *rtc);

/* The ACPI tables of hw/acpi.c as a table-loader set: fills the three
 * blobs (malloc'ed; the caller frees). 0, or -1 (invalid config, no memory).
 * Public for tests. */
int pc_fw_acpi_blobs(const struct acpi_config *cfg, uint8_t **tables, size_t *tables_len,
                     uint8_t **rsdp, size_t *rsdp_len, uint8_t **loader, size_t *loader_len);

#endif
