/* PCI bus 0: configuration mechanism #1, the i440FX host bridge, the PIIX3
 * ISA bridge and its PIRQ router, BAR decoding into the I/O maps, and INTx.
 * References: PCI Local Bus Specification 3.0 §3.2.2.3.2 (mechanism #1),
 * §6.1-6.2 (configuration header), §6.2.5 (BARs); Intel 82371SB (PIIX3)
 * datasheet §2.2 (PIRQRC[A:D] at 0x60-0x63); Intel 82441FX datasheet. */
#include "hw/pci.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_ADDRESS_PORT 0xcf8
#define CONFIG_DATA_PORT    0xcfc
#define CONFIG_ENABLE       0x80000000u

/* SeaBIOS's pci_irqs[] for the PIIX: what the BIOS would have programmed. */
static const uint8_t firmware_pirq_irq[4] = {10, 10, 11, 11};

/* ---- INTx and the PIRQ router ---- */

/* PIIX3 PIRQRC: bit 7 disables routing, bits 3:0 the IRQ; 0-2, 8 and 13
 * are reserved (datasheet §2.2.7), so they never take a PCI interrupt. */
int pci_pirq_route(const struct pci_bus *bus, int pirq)
{
    if (pirq < 0 || pirq > 3)
        return -1;
    uint8_t r = bus->isa.config[PIIX_PIRQRC + pirq];
    int irq = r & 0x0f;
    if (r & PIIX_PIRQ_DISABLE)
        return -1;
    if (irq < 3 || irq == 8 || irq == 13)
        return -1;
    return irq;
}

/* A level line shared by several devices (and several PIRQs routed to one
 * IRQ) is the OR of all of them; only changes are sent to the controller. */
static void pci_bus_update_isa(struct pci_bus *bus)
{
    uint16_t level = 0;
    for (int p = 0; p < 4; p++) {
        int irq = pci_pirq_route(bus, p);
        if (irq >= 0 && bus->pirq_count[p] > 0)
            level |= (uint16_t)(1u << irq);
    }
    uint16_t changed = level ^ bus->isa_level;
    bus->isa_level = level;
    for (int i = 0; i < 16; i++)
        if (changed & (1u << i))
            irq_set(&bus->isa_irq[i], (level >> i) & 1);
}

int pci_device_pirq(const struct pci_device *d)
{
    int pin = d->config[PCI_INTERRUPT_PIN];
    if (pin < 1 || pin > 4)
        return -1;
    return pci_slot_pirq(d->devfn >> 3, (unsigned)pin - 1);
}

int pci_device_isa_irq(const struct pci_device *d)
{
    int p = pci_device_pirq(d);
    if (p < 0 || !d->bus)
        return -1;
    return pci_pirq_route(d->bus, p);
}

/* The interrupt the device asserts on its PIRQ: its level, unless the
 * guest set Interrupt Disable in the command register (PCI 3.0 §6.2.2).
 * irq_counted records whether this device is in its PIRQ's count, so a
 * reset, an unregister or a PIRQ change undoes exactly what was done. */
static void pci_update_irq(struct pci_device *d)
{
    uint16_t cmd = le_ld16(&d->config[PCI_COMMAND]);
    uint16_t st = le_ld16(&d->config[PCI_STATUS]);
    st = d->irq_level ? (st | PCI_STATUS_INTX) : (st & ~PCI_STATUS_INTX);
    le_st16(&d->config[PCI_STATUS], st);
    if (!d->bus || !d->registered)
        return;
    int p = pci_device_pirq(d);
    if (p < 0)
        return;
    bool want = d->irq_level && !(cmd & PCI_CMD_INTX_DISABLE);
    if (want && !d->irq_counted) {
        d->bus->pirq_count[p]++;
        d->irq_counted = true;
    } else if (!want && d->irq_counted) {
        d->bus->pirq_count[p]--;
        d->irq_counted = false;
    }
    pci_bus_update_isa(d->bus);
}

void pci_set_irq(struct pci_device *d, int level)
{
    d->irq_level = level ? 1 : 0;
    pci_update_irq(d);
}

/* ---- BARs ---- */

static uint64_t bar_address(const struct pci_device *d, int i)
{
    const uint8_t *c = &d->config[PCI_BAR0 + 4 * i];
    switch (d->bar[i].type) {
    case PCI_BAR_IO:    return le_ld32(c) & ~3u;
    case PCI_BAR_MEM32: return le_ld32(c) & ~0xfu;
    case PCI_BAR_MEM64: return (le_ld64(c) & ~0xfULL);
    default:            return 0;
    }
}

/* Where the BAR decodes now, or false when it does not: decode disabled in
 * the command register, address 0, or a range that wraps or leaves its
 * space (a sizing pattern of all ones ends at the top and is not decoded,
 * as in QEMU's pci_bar_address). */
static bool bar_decodes(const struct pci_device *d, int i, uint64_t *base)
{
    const struct pci_bar *b = &d->bar[i];
    uint16_t cmd = le_ld16(&d->config[PCI_COMMAND]);
    uint64_t a = bar_address(d, i), last, limit;
    if (b->type == PCI_BAR_NONE || b->size == 0)
        return false;
    if (b->type == PCI_BAR_IO) {
        if (!(cmd & PCI_CMD_IO))
            return false;
        limit = 0xffff;
    } else {
        if (!(cmd & PCI_CMD_MEM))
            return false;
        limit = b->type == PCI_BAR_MEM32 ? 0xffffffffULL : 0x0000ffffffffffffULL;
    }
    last = a + b->size - 1;
    if (a == 0 || last <= a || last >= limit)
        return false;
    *base = a;
    return true;
}

/* Maps every BAR of d that decodes and is not mapped yet. A BAR that
 * overlaps one already mapped stays undecoded (reads all-ones), never a
 * crash; it is tried again whenever a range is released (see below). */
static void pci_map_pending(struct pci_device *d)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        uint64_t base = 0;
        if (b->type == PCI_BAR_NONE || b->mapped || !bar_decodes(d, i, &base))
            continue;
        struct iomap *map = b->type == PCI_BAR_IO ? d->bus->pio : d->bus->mmio;
        if (iomap_register_ram(map, base, b->size, b->read, b->write, b->opaque, d->name,
                               b->ram) == 0) {
            b->mapped = true;
            b->mapped_base = base;
        }
    }
}

/* A released range may be what kept another device's BAR undecoded: firmware
 * moving BARs one at a time passes through overlaps (SeaBIOS placing
 * device A where device B still sits, then moving B), and so does a reset
 * restoring the devices in turn. The overlap is gone once all have moved,
 * and on a real bus both then decode, so every pending BAR is tried again. */
static void pci_bus_map_pending(struct pci_bus *bus)
{
    for (int i = 0; i < 256; i++)
        if (bus->dev[i] && bus->dev[i]->registered)
            pci_map_pending(bus->dev[i]);
}

static void pci_update_mappings(struct pci_device *d)
{
    if (!d->bus || !d->registered)
        return;
    bool released = false;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        uint64_t base = 0;
        if (b->type == PCI_BAR_NONE || !b->mapped)
            continue;
        if (!bar_decodes(d, i, &base) || base != b->mapped_base) {
            iomap_unregister(b->type == PCI_BAR_IO ? d->bus->pio : d->bus->mmio, b->mapped_base);
            b->mapped = false;
            released = true;
        }
    }
    if (released)
        pci_bus_map_pending(d->bus);
    else
        pci_map_pending(d);
}

static void pci_unmap_all(struct pci_device *d)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        if (b->mapped) {
            iomap_unregister(b->type == PCI_BAR_IO ? d->bus->pio : d->bus->mmio, b->mapped_base);
            b->mapped = false;
        }
    }
}

int pci_device_set_bar(struct pci_device *d, int idx, enum pci_bar_type type, uint64_t size,
                       io_read_fn rd, io_write_fn wr, void *opaque)
{
    if (idx < 0 || idx >= PCI_NUM_BARS || (type == PCI_BAR_MEM64 && idx == PCI_NUM_BARS - 1))
        return -1;
    if (size == 0 || (size & (size - 1)) || size < (type == PCI_BAR_IO ? 4u : 16u))
        return -1;
    if (type == PCI_BAR_IO && size > 256)       /* PCI 3.0 §6.2.5.1 */
        return -1;
    if (type != PCI_BAR_MEM64 && size > 0x80000000ULL)
        return -1;
    struct pci_bar *b = &d->bar[idx];
    b->type = type;
    b->size = size;
    b->read = rd;
    b->write = wr;
    b->opaque = opaque;
    uint8_t *c = &d->config[PCI_BAR0 + 4 * idx];
    uint8_t *w = &d->wmask[PCI_BAR0 + 4 * idx];
    /* Low bits hold the type and read back whatever is written: the
     * address bits below the size read as zero, which is how sizing works. */
    uint64_t mask = ~(size - 1);
    switch (type) {
    case PCI_BAR_IO:
        le_st32(c, 0x1);
        le_st32(w, (uint32_t)mask & ~3u);
        break;
    case PCI_BAR_MEM32:
        le_st32(c, 0x0);
        le_st32(w, (uint32_t)mask & ~0xfu);
        break;
    case PCI_BAR_MEM64:
        le_st32(c, 0x4);
        le_st32(c + 4, 0);
        le_st64(w, mask & ~0xfULL);
        d->bar[idx + 1].type = PCI_BAR_NONE;
        d->bar[idx + 1].size = 0;
        break;
    default:
        return -1;
    }
    return 0;
}

int pci_device_set_bar_ram(struct pci_device *d, int idx, struct ram_backing *rb)
{
    if (idx < 0 || idx >= PCI_NUM_BARS || d->bar[idx].type == PCI_BAR_NONE ||
        d->bar[idx].type == PCI_BAR_IO || !rb || rb->len != d->bar[idx].size)
        return -1;
    d->bar[idx].ram = rb;
    return 0;
}

/* ---- configuration space ---- */

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint8_t revision, uint32_t class_code, uint16_t subsys_vendor,
                     uint16_t subsys_id, uint8_t int_pin)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    uint8_t *c = d->config;
    le_st16(c + PCI_VENDOR_ID, vendor);
    le_st16(c + PCI_DEVICE_ID, device);
    c[PCI_REVISION_ID] = revision;
    c[PCI_CLASS_PROG] = (uint8_t)class_code;
    le_st16(c + PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
    le_st16(c + PCI_SUBSYS_VENDOR, subsys_vendor);
    le_st16(c + PCI_SUBSYS_ID, subsys_id);
    c[PCI_INTERRUPT_PIN] = int_pin;
    le_st16(d->wmask + PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_PARITY |
                                     PCI_CMD_SERR | PCI_CMD_INTX_DISABLE);
    /* Error bits of the status register are RW1C (PCI 3.0 §6.2.3). */
    le_st16(d->w1cmask + PCI_STATUS, 0xf900);
    d->wmask[PCI_CACHE_LINE] = 0xff;
    d->wmask[PCI_LATENCY_TIMER] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    d->cap_next_free = 0x40;
}

uint8_t pci_device_add_cap(struct pci_device *d, uint8_t cap_id, uint8_t len)
{
    unsigned off = (d->cap_next_free + 3u) & ~3u;
    if (len < 2 || off + len > PCI_CONFIG_SIZE)
        return 0;
    d->config[off] = cap_id;
    d->config[off + 1] = 0;
    if (d->last_cap)
        d->config[d->last_cap + 1] = (uint8_t)off;
    else
        d->config[PCI_CAP_PTR] = (uint8_t)off;
    d->last_cap = (uint8_t)off;
    d->cap_next_free = (uint8_t)(off + len < PCI_CONFIG_SIZE ? off + len : 0xff);
    uint16_t st = le_ld16(&d->config[PCI_STATUS]);
    le_st16(&d->config[PCI_STATUS], st | PCI_STATUS_CAP_LIST);
    return (uint8_t)off;
}

uint32_t pci_config_read(struct pci_device *d, uint32_t off, unsigned size)
{
    uint32_t v = 0;
    if (d->config_read && off < PCI_CONFIG_SIZE)
        d->config_read(d, off, size);
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t o = off + i;
        uint8_t b = o < PCI_CONFIG_SIZE ? d->config[o] : 0xff;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

void pci_config_write(struct pci_device *d, uint32_t off, uint32_t val, unsigned size)
{
    bool bars = false, cmd = false;
    uint16_t old_cmd = le_ld16(&d->config[PCI_COMMAND]);
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t o = off + i;
        if (o >= PCI_CONFIG_SIZE)
            break;
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint8_t w = d->wmask[o], c = d->w1cmask[o];
        d->config[o] = (uint8_t)((d->config[o] & ~w) | (b & w));
        d->config[o] &= (uint8_t)~(b & c);
        if (o >= PCI_BAR0 && o < PCI_BAR0 + 4 * PCI_NUM_BARS)
            bars = true;
        if (o == PCI_COMMAND || o == PCI_COMMAND + 1)
            cmd = true;
    }
    uint16_t new_cmd = le_ld16(&d->config[PCI_COMMAND]);
    if (bars || (cmd && ((old_cmd ^ new_cmd) & (PCI_CMD_IO | PCI_CMD_MEM))))
        pci_update_mappings(d);
    if (cmd && ((old_cmd ^ new_cmd) & PCI_CMD_INTX_DISABLE))
        pci_update_irq(d);
    if (d->config_write)
        d->config_write(d, off, val, size);
}

/* ---- mechanism #1 ports ---- */

static uint64_t cfg_addr_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pci_bus *bus = opaque;
    /* Only a dword access at 0xCF8 is CONFIG_ADDRESS (PCI 3.0 §3.2.2.3.2);
     * byte accesses there belong to other devices. */
    if (addr != 0 || size != 4)
        return ~0ULL;
    return bus->config_address;
}

static void cfg_addr_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct pci_bus *bus = opaque;
    if (addr != 0 || size != 4)
        return;
    bus->config_address = (uint32_t)val & 0x80fffffcu;
}

static struct pci_device *cfg_target(struct pci_bus *bus)
{
    uint32_t a = bus->config_address;
    if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
        return NULL;
    return bus->dev[(a >> 8) & 0xff];
}

static uint64_t cfg_data_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pci_bus *bus = opaque;
    struct pci_device *d = cfg_target(bus);
    if (!d || addr >= 4)
        return ~0ULL;
    uint32_t reg = (bus->config_address & 0xfc) + (uint32_t)addr;
    unsigned n = size > 4 - addr ? 4 - (unsigned)addr : size;
    uint64_t v = pci_config_read(d, reg, n);
    if (n < size)       /* an access past 0xCFF: the rest floats high */
        v |= ~0ULL << (8 * n);
    return v;
}

static void cfg_data_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct pci_bus *bus = opaque;
    struct pci_device *d = cfg_target(bus);
    if (!d || addr >= 4)
        return;
    uint32_t reg = (bus->config_address & 0xfc) + (uint32_t)addr;
    unsigned n = size > 4 - addr ? 4 - (unsigned)addr : size;
    pci_config_write(d, reg, (uint32_t)val, n);
}

/* ---- bus ---- */

static void isa_bridge_config_write(struct pci_device *d, uint32_t off, uint32_t val, unsigned size)
{
    if (off < PIIX_PIRQRC + 4 && off + size > PIIX_PIRQRC)
        pci_bus_update_isa(d->bus);
}

static void pci_set_interrupt_line(struct pci_device *d)
{
    int irq = pci_device_isa_irq(d);
    d->config[PCI_INTERRUPT_LINE] = irq >= 0 ? (uint8_t)irq : 0xff;
}

static int bus_attach(struct pci_bus *bus, struct pci_device *d, int devfn)
{
    if (devfn < 0 || devfn > 255 || bus->dev[devfn])
        return -1;
    d->bus = bus;
    d->devfn = (uint8_t)devfn;
    bus->dev[devfn] = d;
    d->registered = true;
    return 0;
}

struct pci_bus *pci_bus_create(struct iomap *pio, struct iomap *mmio, const struct irq isa_irq[16],
                               uint64_t mem_base, uint64_t mem_top)
{
    if (mem_top > 0xfec00000ULL || mem_base >= mem_top)
        return NULL;
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return NULL;
    bus->pio = pio;
    bus->mmio = mmio;
    if (isa_irq)
        memcpy(bus->isa_irq, isa_irq, sizeof(bus->isa_irq));
    bus->io_next = 0xc000;
    bus->io_limit = 0x10000;
    bus->mem_base = mem_base;
    bus->mem_top = mem_top;

    /* 00:00.0 i440FX PMC (82441FX): host bridge. */
    pci_device_init(&bus->host, "i440fx", 0x8086, 0x1237, 0x02, 0x060000, 0x1af4, 0x1100, 0);
    /* PAM0-6 (82441FX §3.2.16): who decodes 0xC0000-0xFFFFF, the ROM or
     * RAM, per read/write. SeaBIOS opens them to copy itself into RAM and
     * closes them (read-only) before booting. Kept as registers: the low
     * window here is always RAM holding the image (copied at reset), so
     * "read ROM" and "read RAM" see the same bytes; write protection of
     * the closed window is not enforced (no guest relies on it). */
    bus->host.wmask[0x59] = 0x30;
    for (int r = 0x5a; r <= 0x5f; r++)
        bus->host.wmask[r] = 0x33;
    /* 00:01.0 PIIX3 function 0: ISA bridge, multi-function (IDE/USB/PM
     * functions are left out). */
    pci_device_init(&bus->isa, "piix3", 0x8086, 0x7000, 0x00, 0x060100, 0x1af4, 0x1100, 0);
    bus->isa.config[PCI_HEADER_TYPE] = 0x80;
    for (int p = 0; p < 4; p++) {
        bus->isa.config[PIIX_PIRQRC + p] = PIIX_PIRQ_DISABLE;   /* datasheet default */
        bus->isa.wmask[PIIX_PIRQRC + p] = 0x8f;
    }
    bus->isa.config_write = isa_bridge_config_write;
    bus_attach(bus, &bus->host, PCI_DEVFN(0, 0));
    bus_attach(bus, &bus->isa, PCI_DEVFN(1, 0));
    /* What SeaBIOS's piix_isa_bridge_setup writes; there is no BIOS on a
     * direct boot, so the "firmware" is us. */
    for (int p = 0; p < 4; p++)
        bus->isa.config[PIIX_PIRQRC + p] = firmware_pirq_irq[p];
    uint16_t hcmd = PCI_CMD_IO | PCI_CMD_MEM;
    le_st16(&bus->host.config[PCI_COMMAND], hcmd);
    le_st16(&bus->isa.config[PCI_COMMAND], hcmd | PCI_CMD_MASTER);
    memcpy(bus->host.reset_config, bus->host.config, PCI_CONFIG_SIZE);
    memcpy(bus->isa.reset_config, bus->isa.config, PCI_CONFIG_SIZE);

    if (iomap_register(pio, CONFIG_ADDRESS_PORT, 1, cfg_addr_read, cfg_addr_write, bus, "pci-cfg-addr") < 0 ||
        iomap_register(pio, CONFIG_DATA_PORT, 4, cfg_data_read, cfg_data_write, bus, "pci-cfg-data") < 0) {
        iomap_unregister(pio, CONFIG_ADDRESS_PORT);
        free(bus);
        return NULL;
    }
    return bus;
}

static int assign_bars(struct pci_bus *bus, struct pci_device *d)
{
    /* Largest first within each space would pack better; creation order is
     * enough for a handful of small BARs and keeps addresses predictable. */
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        uint8_t *c = &d->config[PCI_BAR0 + 4 * i];
        if (b->type == PCI_BAR_IO) {
            uint64_t a = (bus->io_next + b->size - 1) & ~(b->size - 1);
            if (a + b->size > bus->io_limit)
                return -1;
            le_st32(c, (uint32_t)a | 1);
            bus->io_next = (uint32_t)(a + b->size);
        } else if (b->type == PCI_BAR_MEM32 || b->type == PCI_BAR_MEM64) {
            if (b->size > bus->mem_top)
                return -1;
            uint64_t a = (bus->mem_top - b->size) & ~(b->size - 1);
            if (a < bus->mem_base)
                return -1;
            bus->mem_top = a;
            if (b->type == PCI_BAR_MEM32)
                le_st32(c, (uint32_t)a);
            else
                le_st64(c, a | 0x4);
        }
    }
    return 0;
}

int pci_device_register(struct pci_bus *bus, struct pci_device *d, int slot, int fn)
{
    if (fn < 0 || fn > 7 || slot > 31)
        return -1;
    if (slot < 0) {
        fn = 0;
        for (slot = 4; slot < 32; slot++) {
            bool used = false;
            for (int f = 0; f < 8; f++)
                used |= bus->dev[PCI_DEVFN(slot, f)] != NULL;
            if (!used)
                break;
        }
        if (slot == 32)
            return -1;
    }
    int devfn = PCI_DEVFN(slot, fn);
    if (bus->dev[devfn])
        return -1;
    uint32_t io_save = bus->io_next;
    uint64_t mem_save = bus->mem_top;
    if (assign_bars(bus, d) < 0) {
        bus->io_next = io_save;
        bus->mem_top = mem_save;
        return -1;
    }
    if (bus_attach(bus, d, devfn) < 0)
        return -1;
    uint16_t cmd = le_ld16(&d->config[PCI_COMMAND]);
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bar[i].type == PCI_BAR_IO)
            cmd |= PCI_CMD_IO;
        else if (d->bar[i].type != PCI_BAR_NONE)
            cmd |= PCI_CMD_MEM;
    }
    le_st16(&d->config[PCI_COMMAND], cmd);
    pci_set_interrupt_line(d);
    memcpy(d->reset_config, d->config, PCI_CONFIG_SIZE);
    pci_update_mappings(d);
    pci_update_irq(d);
    return devfn;
}

void pci_device_unregister(struct pci_device *d)
{
    struct pci_bus *bus = d->bus;
    if (!bus || !d->registered)
        return;
    pci_unmap_all(d);
    int p = pci_device_pirq(d);
    if (p >= 0 && d->irq_counted) {
        bus->pirq_count[p]--;
        d->irq_counted = false;
        pci_bus_update_isa(bus);
    }
    bus->dev[d->devfn] = NULL;
    d->registered = false;
    pci_bus_map_pending(bus);
}

void pci_bus_reset(struct pci_bus *bus)
{
    bus->config_address = 0;
    for (int i = 0; i < 256; i++) {
        struct pci_device *d = bus->dev[i];
        if (!d)
            continue;
        memcpy(d->config, d->reset_config, PCI_CONFIG_SIZE);
        pci_update_mappings(d);
        if (d->reset)
            d->reset(d);
        pci_update_irq(d);
    }
    pci_bus_update_isa(bus);
}

void pci_bus_free(struct pci_bus *bus)
{
    if (!bus)
        return;
    for (int i = 0; i < 256; i++)
        if (bus->dev[i])
            pci_unmap_all(bus->dev[i]);
    iomap_unregister(bus->pio, CONFIG_ADDRESS_PORT);
    iomap_unregister(bus->pio, CONFIG_DATA_PORT);
    free(bus);
}

/* ---- $PIR ---- */

int pci_build_pir_table(const struct pci_bus *bus, uint8_t *buf, size_t len)
{
    int nslots = 0;
    for (int s = 0; s < 32; s++)
        for (int f = 0; f < 8; f++)
            if (bus->dev[PCI_DEVFN(s, f)]) {
                nslots++;
                break;
            }
    size_t size = 32 + 16 * (size_t)nslots;
    if (len < size)
        return -1;
    memset(buf, 0, size);
    memcpy(buf, "$PIR", 4);
    le_st16(buf + 4, 0x0100);
    le_st16(buf + 6, (uint16_t)size);
    buf[8] = 0;                                 /* router bus */
    buf[9] = bus->isa.devfn;                    /* router devfn */
    le_st16(buf + 10, 0);                       /* no IRQs exclusive to PCI */
    le_st16(buf + 12, 0x8086);                  /* compatible router: PIIX3 */
    le_st16(buf + 14, 0x7000);
    uint8_t *e = buf + 32;
    for (int s = 0; s < 32; s++) {
        bool present = false;
        for (int f = 0; f < 8; f++)
            present |= bus->dev[PCI_DEVFN(s, f)] != NULL;
        if (!present)
            continue;
        e[0] = 0;
        e[1] = PCI_DEVFN(s, 0);
        for (int pin = 0; pin < 4; pin++) {
            /* Link value = the PIIX PIRQRC register for this pin, the
             * convention Linux's PIIX router (pirq_piix_get) reads. */
            e[2 + 3 * pin] = (uint8_t)(PIIX_PIRQRC + pci_slot_pirq((unsigned)s, (unsigned)pin));
            le_st16(e + 3 + 3 * pin, 0xdef8);   /* IRQs 3-7, 9-12, 14, 15 */
        }
        e[14] = (uint8_t)s;                     /* "slot number": 0 = embedded is fine */
        e += 16;
    }
    uint8_t sum = 0;
    for (size_t i = 0; i < size; i++)
        sum = (uint8_t)(sum + buf[i]);
    buf[31] = (uint8_t)-sum;
    return (int)size;
}
