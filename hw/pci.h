/* PCI bus 0 of the PC: the i440FX host bridge (configuration mechanism #1 at
 * 0xCF8/0xCFC), the PIIX3 ISA bridge with its PIRQ router, and the generic
 * type-0 configuration space every PCI device model embeds.
 *
 * Firmware duties on a direct (BIOS-less) boot are done here at creation:
 * BAR addresses, command decode bits, PIRQ routing (like SeaBIOS: PIRQA..D →
 * IRQ 10, 10, 11, 11) and the Interrupt Line register. A guest that later
 * reprograms BARs or the router is obeyed. */
#ifndef HW_PCI_H
#define HW_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/irq.h"

#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | ((fn) & 7)))

/* Configuration header offsets (PCI Local Bus 3.0 §6.1). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_DEVICE   0x0a
#define PCI_CACHE_LINE     0x0c
#define PCI_LATENCY_TIMER  0x0d
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_ROM_ADDRESS    0x30
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

#define PCI_CMD_IO          0x0001
#define PCI_CMD_MEM         0x0002
#define PCI_CMD_MASTER      0x0004
#define PCI_CMD_PARITY      0x0040
#define PCI_CMD_SERR        0x0100
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX     0x0008
#define PCI_STATUS_CAP_LIST 0x0010

/* PIIX3 function 0 (82371SB datasheet §2.2): PIRQ route control. */
#define PIIX_PIRQRC        0x60
#define PIIX_PIRQ_DISABLE  0x80

enum pci_bar_type { PCI_BAR_NONE = 0, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bus;
struct pci_device;

struct pci_bar {
    enum pci_bar_type type;
    uint64_t size;              /* power of two; 0: not implemented */
    io_read_fn read;
    io_write_fn write;
    void *opaque;
    struct ram_backing *ram;    /* memory BAR backed by host memory (pci_device_set_bar_ram) */
    bool mapped;                /* registered in pio/mmio right now */
    uint64_t mapped_base;
};

struct pci_device {
    struct pci_bus *bus;
    uint8_t devfn;
    bool registered;
    const char *name;
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];     /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];   /* bits cleared by writing 1 */
    uint8_t reset_config[PCI_CONFIG_SIZE]; /* as firmware left it */
    struct pci_bar bar[PCI_NUM_BARS];
    uint8_t cap_next_free;              /* where the next capability goes */
    uint8_t last_cap;                   /* offset of the last capability, 0: none */
    int irq_level;                      /* INTx as the device drives it */
    bool irq_counted;                   /* included in bus->pirq_count */
    /* Optional hooks: after a guest config write (val/size as written), and
     * at bus reset (after the config space is restored). */
    void (*config_write)(struct pci_device *d, uint32_t off, uint32_t val, unsigned size);
    /* Optional: before a guest config read, so the device can refresh
     * bytes whose value has side effects (virtio's PCI_CFG window). */
    void (*config_read)(struct pci_device *d, uint32_t off, unsigned size);
    void (*reset)(struct pci_device *d);
    void *opaque;
};

struct pci_bus {
    struct iomap *pio, *mmio;
    struct pci_device *dev[256];        /* by devfn, bus 0 only */
    uint32_t config_address;            /* 0xCF8 */
    struct irq isa_irq[16];             /* the ISA interrupt lines (PIC/IOAPIC inputs) */
    int pirq_count[4];                  /* devices asserting PIRQA..D */
    uint16_t isa_level;                 /* levels last sent on isa_irq[] */
    /* Firmware-style resource allocation at creation. */
    uint32_t io_next, io_limit;         /* I/O BARs go up from io_next */
    uint64_t mem_base, mem_top;         /* MMIO BARs go down from mem_top */
    struct pci_device host, isa;        /* 00:00.0 and 00:01.0 */
};

/* Creates bus 0 with the host bridge and PIIX3 ISA bridge, registers
 * 0xCF8/0xCFC in pio. isa_irq[n] is ISA IRQ n (copied). The PCI memory
 * window for BARs is [mem_base, mem_top): mem_base at or above the end of
 * low RAM, mem_top at most 0xfec00000 (IOAPIC/LAPIC/BIOS above). */
struct pci_bus *pci_bus_create(struct iomap *pio, struct iomap *mmio, const struct irq isa_irq[16],
                               uint64_t mem_base, uint64_t mem_top);
void pci_bus_free(struct pci_bus *bus);
/* Power-on reset: every device's config space back to what firmware left,
 * BAR mappings redone, device reset hooks called. */
void pci_bus_reset(struct pci_bus *bus);

/* Device construction: init, IDs, BARs, capabilities, then register. */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint8_t revision, uint32_t class_code /* class<<16|sub<<8|progif */,
                     uint16_t subsys_vendor, uint16_t subsys_id, uint8_t int_pin /* 1=INTA, 0 none */);
/* size: power of two, at least 4 (I/O) or 16 (memory). Returns 0 or -1. */
int pci_device_set_bar(struct pci_device *d, int idx, enum pci_bar_type type, uint64_t size,
                       io_read_fn rd, io_write_fn wr, void *opaque);
/* Makes memory BAR idx (already set up) RAM-like: engines may map rb
 * directly wherever the BAR decodes (see struct ram_backing). 0 or -1. */
int pci_device_set_bar_ram(struct pci_device *d, int idx, struct ram_backing *rb);
/* Appends a capability of len bytes (id and next pointer filled in);
 * returns its offset in config space, 0 when full. Read-only to the guest. */
uint8_t pci_device_add_cap(struct pci_device *d, uint8_t cap_id, uint8_t len);
/* Puts d at slot:fn (slot -1: the first free slot from 4 up, fn 0), assigns
 * its BARs in the window, enables decode, sets Interrupt Line from the
 * PIRQ route. Returns the devfn, or -1 (slot taken, window exhausted). */
int pci_device_register(struct pci_bus *bus, struct pci_device *d, int slot, int fn);
void pci_device_unregister(struct pci_device *d);

/* INTx from the device (level). Pin from config 0x3d; routed through the
 * PIIX3 PIRQ router: PIRQ = (slot - 1 + pin - 1) & 3, as QEMU's pc and
 * SeaBIOS (and so the ACPI _PRT) expect. */
void pci_set_irq(struct pci_device *d, int level);
/* The swizzle alone, for table builders (ACPI _PRT, $PIR): PIRQ index 0..3
 * (A..D) that slot's pin0 (0 = INTA) drives — QEMU's pc_pci_slot_get_pirq. */
static inline int pci_slot_pirq(unsigned slot, unsigned pin0)
{
    return (int)((slot - 1 + pin0) & 3);
}
int pci_device_pirq(const struct pci_device *d);        /* 0..3, -1 no pin */
int pci_pirq_route(const struct pci_bus *bus, int pirq); /* ISA IRQ of PIRQ 0..3, -1 off */
int pci_device_isa_irq(const struct pci_device *d);     /* routed IRQ, -1 none */

/* Config space as the CPU sees it through mechanism #1 (also for tests). */
uint32_t pci_config_read(struct pci_device *d, uint32_t off, unsigned size);
void pci_config_write(struct pci_device *d, uint32_t off, uint32_t val, unsigned size);

/* Little-endian helpers for config-space and guest structures. */
static inline uint16_t le_ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le_ld32(const uint8_t *p) { return le_ld16(p) | (uint32_t)le_ld16(p + 2) << 16; }
static inline uint64_t le_ld64(const uint8_t *p) { return le_ld32(p) | (uint64_t)le_ld32(p + 4) << 32; }
static inline void le_st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void le_st32(uint8_t *p, uint32_t v) { le_st16(p, (uint16_t)v); le_st16(p + 2, (uint16_t)(v >> 16)); }
static inline void le_st64(uint8_t *p, uint64_t v) { le_st32(p, (uint32_t)v); le_st32(p + 4, (uint32_t)(v >> 32)); }

/* The PCI IRQ routing table ($PIR, Microsoft "PCI IRQ Routing Table
 * Specification" 1.0) describing this bus and the PIIX3 router, for a guest
 * without ACPI _PRT: Linux finds it in 0xF0000-0xFFFFF, routes through
 * 0x60-0x63 and sets the ELCR for the IRQs it uses. Writes at most len
 * bytes; returns the table size, or -1 if len is too small. */
int pci_build_pir_table(const struct pci_bus *bus, uint8_t *buf, size_t len);

#endif
