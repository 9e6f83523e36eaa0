/* Board glue for PCI: creates bus 0 (i440FX + PIIX3) on the machine and the
 * virtio-pci devices the command line asked for. Called from pc_init.
 *
 * Slots (as QEMU's pc): 00:00.0 host bridge, 00:01.0 PIIX3, 00:02.0 left
 * free (QEMU's VGA), the first NIC at 00:03.0 unless given a slot, the rest
 * from 00:04.0 up in the order NICs, disks, rng, console. That is QEMU's
 * order too: board NICs (-net nic) first, then -device in command-line
 * order, then -drive if=virtio (appended after every -device), so both
 * `-drive if=virtio -device virtio-net-pci` and `-drive if=virtio -net nic`
 * give the NIC 00:03.0 (Debian names it ens3/enp0s3) and the disk 00:04.0. INTx: PIRQ[(slot - 1 + pin) & 3] →
 * PIIX3 0x60-0x63 (10, 10, 11, 11 as SeaBIOS sets them) → ISA IRQ, via
 * machine_set_gsi (PIC or in-kernel irqchip). Interrupt Line is pre-set. */
#ifndef HW_PC_PCI_H
#define HW_PC_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/virtio_blk.h"
#include "hw/ide.h"
#include "hw/chardev.h"
#include "hw/virtio_console.h"
#include "block/block.h"

struct machine;
struct net_backend;
struct fs_export;
struct pci_bus;

#define PC_PCI_MAX_DISKS 8
#define PC_PCI_MAX_NICS 4
#define PC_PCI_MAX_9P 4

struct pci_devices_config {
    struct {
        struct virtio_blk_backend be;   /* pc_pci_disk_from_block() fills it */
        char serial[21];                /* GET_ID; "" for none */
    } disks[PC_PCI_MAX_DISKS];
    int ndisks;
    struct {
        struct net_backend *nb;         /* NULL: a NIC with no backend */
        uint8_t mac[6];
        bool mac_set;                   /* false: 52:54:00:12:34:56 + index */
        int slot;                       /* <= 0: auto (3 for the first NIC) */
    } nics[PC_PCI_MAX_NICS];
    int nnics;
    /* PIIX3 IDE (00:01.1), created when any drive is present; index =
     * channel * 2 + unit (-hda 0, -hdb 1, -hdc/-cdrom 2, -hdd 3). */
    struct ide_drive_config ide[IDE_DRIVES];
    bool rng;                           /* -device virtio-rng-pci */
    bool tablet;                        /* -device virtio-tablet-pci (or usb-tablet) */
    struct {
        struct fs_export *fs;           /* -fsdev local,... */
        char tag[64];                   /* mount_tag= */
    } p9[PC_PCI_MAX_9P];                /* -device virtio-9p-pci, -virtfs */
    int np9;
    struct chardev *console;            /* -device virtio-serial + virtconsole; NULL: none */
    /* or, when nconsole_ports > 0, its ports by id (virtconsole and
     * virtserialport,name=; console is then unused) */
    struct virtio_console_port_cfg console_ports[VIRTIO_CONSOLE_MAX_PORTS];
    int nconsole_ports;
    bool modern_only;                   /* disable-legacy=on for all */
    /* Disks are served on their own I/O threads (taking m->lock around the
     * queue) unless blk_inline: then on the notifying vCPU, synchronously. */
    bool blk_inline;
    /* Optional: told about every device write into guest RAM, so the tcg
     * engine can drop translated code on those pages (NULL: nobody cares,
     * e.g. under KVM). Called with the device lock held. */
    void (*dma_written)(void *opaque, uint64_t gpa, uint64_t len);
    void *dma_opaque;
};

struct pc_pci;

/* Creates the bus and devices. NULL with a message on stderr when a slot
 * is taken twice or the PCI window cannot hold the BARs. */
struct pc_pci *pc_pci_init(struct machine *m, const struct pci_devices_config *cfg);
/* System reset: config spaces back to the firmware layout, devices reset. */
void pc_pci_reset(struct pc_pci *p);
/* Call without the device lock held (it joins the disks' I/O threads). */
void pc_pci_destroy(struct pc_pci *p);
struct pci_bus *pc_pci_bus(struct pc_pci *p);
struct virtio_input;
/* The virtio tablet, NULL when the command line asked for none. */
struct virtio_input *pc_pci_tablet(struct pc_pci *p);
/* ISA IRQs the PIRQ router currently feeds (bit n = IRQ n; 0x0c00 after
 * reset). They are level-triggered: the board sets these ELCR bits at
 * reset as SeaBIOS would (tremu PIC: ports 0x4d0/0x4d1; in-kernel irqchip:
 * KVM_SET_IRQCHIP), since a direct boot has no BIOS to do it. */
uint16_t pc_pci_level_irqs(struct pc_pci *p);
/* Writes the $PIR routing table at gpa (16-byte aligned, in 0xF0000-0xFFFFF,
 * RAM on a direct boot) so a guest without ACPI _PRT finds the PIIX3
 * router. Returns 0, or -1 (not RAM / misaligned). */
int pc_pci_write_pir(struct pc_pci *p, struct machine *m, uint64_t gpa);

/* ---- block_dev → virtio_blk_backend (inline: only the TU that calls it
 * links against block/) ---- */
static inline int pc_pci_bd_read(void *o, uint64_t off, void *buf, size_t len)
{
    return block_read((struct block_dev *)o, off, buf, len);
}
static inline int pc_pci_bd_write(void *o, uint64_t off, const void *buf, size_t len)
{
    return block_write((struct block_dev *)o, off, buf, len);
}
static inline int pc_pci_bd_flush(void *o)
{
    return block_flush((struct block_dev *)o);
}
static inline int pc_pci_bd_discard(void *o, uint64_t off, uint64_t len)
{
    return block_discard((struct block_dev *)o, off, len);
}
static inline int pc_pci_bd_write_zeroes(void *o, uint64_t off, uint64_t len)
{
    return block_write_zeroes((struct block_dev *)o, off, len);
}
static inline void pc_pci_disk_from_block(struct virtio_blk_backend *be, struct block_dev *bd,
                                          bool readonly)
{
    be->opaque = bd;
    be->size = block_size(bd);
    be->readonly = readonly || block_is_readonly(bd);
    be->read = pc_pci_bd_read;
    be->write = pc_pci_bd_write;
    be->flush = pc_pci_bd_flush;
    be->discard = pc_pci_bd_discard;
    be->write_zeroes = pc_pci_bd_write_zeroes;
}

#endif
