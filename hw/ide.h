/* PIIX3 IDE (PCI function 00:01.1, 8086:7010) in legacy mode: the primary
 * channel at 0x1f0-0x1f7 / 0x3f6 on IRQ 14, the secondary at 0x170-0x177 /
 * 0x376 on IRQ 15, two devices each. ATA disks (PIO, LBA28/LBA48, CHS for old
 * callers) and ATAPI CD-ROMs (PACKET: INQUIRY, READ CAPACITY, READ(10/12),
 * READ TOC, MODE SENSE, REQUEST SENSE, ...: what SeaBIOS's El Torito boot and
 * Linux's sr driver use).
 *
 * References: ATA/ATAPI-6 (T13/1410D) for the register block, the protocols
 * and IDENTIFY words; SFF-8020i / MMC-2 for the packet commands; Intel
 * 82371SB datasheet §2.4 (IDETIM: decode enable bit 15 at 0x40/0x42).
 *
 * Bus-master DMA (SFF-8038i, Intel 82371SB datasheet: BMICOM/BMISTA/BMIDTP
 * per channel in I/O BAR4, PRD tables of {le32 address, le16 count, EOT
 * bit 31}) for READ/WRITE DMA (EXT), multiword DMA modes 0-2 in IDENTIFY,
 * so Linux's ata_piix moves disk data by DMA; ATAPI stays PIO. A command
 * completes inside the port write that issues it (or that sets the bus
 * master's start bit), the image read synchronously, so the guest sees
 * BSY only as an instant; interrupts follow ATA's protocols (PIO: one per
 * DRQ block and at completion; DMA: one at the end, with BMISTA's INTR),
 * level-triggered while pending, cleared by reading the Status register,
 * masked by nIEN. */
#ifndef HW_IDE_H
#define HW_IDE_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/irq.h"
#include "hw/virtio_blk.h"      /* struct virtio_blk_backend: the disk behind */
#include "hw/virtio.h"          /* struct guest_mem: where DMA reaches */

struct pci_bus;
struct iomap;
struct ide;

#define IDE_DRIVES 4            /* index = channel * 2 + unit, as QEMU's -drive index= */

struct ide_drive_config {
    bool present;
    bool cdrom;                 /* ATAPI CD-ROM (2048-byte sectors) */
    struct virtio_blk_backend be;
};

/* Registers function 1 of slot 1 and the legacy ports; irq14/irq15 are the
 * ISA lines (copied). NULL on failure (ports or devfn taken). */
struct ide *ide_create(struct pci_bus *bus, struct iomap *pio, const struct irq *irq14,
                       const struct irq *irq15, const struct ide_drive_config drives[IDE_DRIVES]);
/* Guest RAM for bus-master DMA (without it every DMA ends in an error). */
void ide_set_dma_mem(struct ide *ide, const struct guest_mem *mem);
void ide_reset(struct ide *ide);
void ide_free(struct ide *ide);

#endif
