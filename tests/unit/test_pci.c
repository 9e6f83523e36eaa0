/* PCI bus 0: configuration mechanism #1 through the port map, host and ISA
 * bridge identity, BAR sizing and moving, decode enables, INTx routing. */
#include "test.h"
#include "hw/pci.h"
#include "hw/iomap.h"
#include "hw/irq.h"
#include <string.h>

struct fx {
    struct iomap pio, mmio;
    struct irq isa[16];
    int level[16], edges[16];
    struct pci_bus *bus;
};

static void probe(void *opaque, int n, int level)
{
    struct fx *f = opaque;
    if (f->level[n] != level)
        f->edges[n]++;
    f->level[n] = level;
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    iomap_init(&f->pio, "pio", NULL);
    iomap_init(&f->mmio, "mmio", NULL);
    for (int i = 0; i < 16; i++)
        irq_init(&f->isa[i], probe, f, i);
    f->bus = pci_bus_create(&f->pio, &f->mmio, f->isa, 0x40000000, 0xfec00000);
}

static void fx_free(struct fx *f)
{
    pci_bus_free(f->bus);
    iomap_destroy(&f->pio);
    iomap_destroy(&f->mmio);
}

static uint32_t cfg_rd(struct fx *f, int slot, int fn, int reg, unsigned size)
{
    iomap_write(&f->pio, 0xcf8, 0x80000000u | (uint32_t)slot << 11 | (uint32_t)fn << 8 | (reg & 0xfc), 4);
    return (uint32_t)iomap_read(&f->pio, 0xcfc + (reg & 3), size);
}

static void cfg_wr(struct fx *f, int slot, int fn, int reg, uint32_t val, unsigned size)
{
    iomap_write(&f->pio, 0xcf8, 0x80000000u | (uint32_t)slot << 11 | (uint32_t)fn << 8 | (reg & 0xfc), 4);
    iomap_write(&f->pio, 0xcfc + (reg & 3), val, size);
}

/* A test device: an I/O BAR, a 32-bit and a 64-bit memory BAR. */
struct tdev {
    struct pci_device pci;
    uint64_t last_addr;
    int reads;
};

static uint64_t tdev_read(void *opaque, uint64_t addr, unsigned size)
{
    struct tdev *t = opaque;
    t->last_addr = addr;
    t->reads++;
    return 0x5a;
}

static void tdev_write(void *opaque, uint64_t addr, uint64_t val, unsigned size) {}

static void tdev_init(struct tdev *t)
{
    memset(t, 0, sizeof(*t));
    pci_device_init(&t->pci, "tdev", 0x1234, 0x5678, 3, 0x020000, 0x1af4, 0x42, 1);
    CHECK_EQ(pci_device_set_bar(&t->pci, 0, PCI_BAR_IO, 32, tdev_read, tdev_write, t), 0);
    CHECK_EQ(pci_device_set_bar(&t->pci, 1, PCI_BAR_MEM32, 0x1000, tdev_read, tdev_write, t), 0);
    CHECK_EQ(pci_device_set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x4000, tdev_read, tdev_write, t), 0);
}

TEST(pci_config_mechanism1)
{
    struct fx f;
    fx_init(&f);
    CHECK(f.bus != NULL);
    /* CONFIG_ADDRESS reads back (reserved bits and bits 1:0 read 0). */
    iomap_write(&f.pio, 0xcf8, 0x8000ff07u | 0x7f000000u, 4);
    CHECK_EQ(iomap_read(&f.pio, 0xcf8, 4), 0x8000ff04u);
    /* Host bridge 00:00.0: dword, word, byte views of the same bytes. */
    CHECK_EQ(cfg_rd(&f, 0, 0, 0, 4), 0x12378086u);
    CHECK_EQ(cfg_rd(&f, 0, 0, 0, 2), 0x8086);
    CHECK_EQ(cfg_rd(&f, 0, 0, 2, 2), 0x1237);
    CHECK_EQ(cfg_rd(&f, 0, 0, 1, 1), 0x80);
    CHECK_EQ(cfg_rd(&f, 0, 0, 3, 1), 0x12);
    CHECK_EQ(cfg_rd(&f, 0, 0, 0x0a, 2), 0x0600);
    CHECK_EQ(cfg_rd(&f, 0, 0, 0x0e, 1), 0x00);
    /* PIIX3 00:01.0. */
    CHECK_EQ(cfg_rd(&f, 1, 0, 0, 4), 0x70008086u);
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x08, 4) >> 8, 0x060100u);
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x0e, 1), 0x80);
    /* PIRQ routing as firmware leaves it: 10, 10, 11, 11. */
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x60, 4), 0x0b0b0a0au);
    /* Missing devices, functions and buses read all-ones. */
    CHECK_EQ(cfg_rd(&f, 2, 0, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_rd(&f, 1, 1, 0, 2), 0xffff);
    iomap_write(&f.pio, 0xcf8, 0x80010000u, 4);
    CHECK_EQ(iomap_read(&f.pio, 0xcfc, 4), 0xffffffffu);
    /* Enable bit clear: no config cycle. */
    iomap_write(&f.pio, 0xcf8, 0x00000000u, 4);
    CHECK_EQ(iomap_read(&f.pio, 0xcfc, 4), 0xffffffffu);
    /* Read-only identity: writes are ignored. */
    cfg_wr(&f, 0, 0, 0, 0xdeadbeef, 4);
    CHECK_EQ(cfg_rd(&f, 0, 0, 0, 4), 0x12378086u);
    cfg_wr(&f, 1, 0, 0x0e, 0, 1);
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x0e, 1), 0x80);
    /* Byte write to the middle of a dword lands at the right offset. */
    cfg_wr(&f, 1, 0, 0x62, 0x05, 1);
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x60, 4), 0x0b050a0au);
    cfg_wr(&f, 1, 0, 0x62, 0x0b0c, 2);   /* reserved bits 6:4 stay 0 */
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x62, 2), 0x0b0c);
    fx_free(&f);
}

TEST(pci_bars_sizing_and_moving)
{
    struct fx f;
    fx_init(&f);
    struct tdev t;
    tdev_init(&t);
    int devfn = pci_device_register(f.bus, &t.pci, -1, 0);
    CHECK_EQ(devfn, PCI_DEVFN(4, 0));
    int s = 4;
    /* Firmware-style assignment: I/O from 0xc000, memory from the top of
     * the window down, decode enabled. */
    CHECK_EQ(cfg_rd(&f, s, 0, 0x10, 4), 0xc001u);
    uint32_t m32 = cfg_rd(&f, s, 0, 0x14, 4);
    uint32_t m64lo = cfg_rd(&f, s, 0, 0x18, 4), m64hi = cfg_rd(&f, s, 0, 0x1c, 4);
    CHECK_EQ(m32, 0xfebff000u);
    CHECK_EQ(m64lo, 0xfebf8004u);
    CHECK_EQ(m64hi, 0);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x04, 2) & 3, 3);
    CHECK_EQ(iomap_read(&f.pio, 0xc010, 1), 0x5a);
    CHECK_EQ(t.last_addr, 0x10);
    CHECK_EQ(iomap_read(&f.mmio, 0xfebff008, 4), 0x5a);
    CHECK_EQ(iomap_read(&f.mmio, 0xfebf8000 + 0x3ffc, 4), 0x5a);
    CHECK_EQ(t.last_addr, 0x3ffc);
    /* Sizing: all ones → size mask with type bits. */
    cfg_wr(&f, s, 0, 0x04, 0, 2);                       /* decode off, as Linux does */
    CHECK_EQ(iomap_read(&f.pio, 0xc010, 1), 0xff);      /* unmapped */
    cfg_wr(&f, s, 0, 0x10, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x10, 4), 0xffffffe1u);
    cfg_wr(&f, s, 0, 0x14, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x14, 4), 0xfffff000u);
    cfg_wr(&f, s, 0, 0x18, 0xffffffff, 4);
    cfg_wr(&f, s, 0, 0x1c, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x18, 4), 0xffffc004u);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x1c, 4), 0xffffffffu);
    /* Reprogram elsewhere and re-enable: the regions move. */
    cfg_wr(&f, s, 0, 0x10, 0xd000, 4);
    cfg_wr(&f, s, 0, 0x14, 0x80001000, 4);
    cfg_wr(&f, s, 0, 0x18, 0x80010000, 4);
    cfg_wr(&f, s, 0, 0x1c, 0, 4);
    cfg_wr(&f, s, 0, 0x04, 3, 2);
    CHECK_EQ(iomap_read(&f.pio, 0xc010, 1), 0xff);
    CHECK_EQ(iomap_read(&f.pio, 0xd01f, 1), 0x5a);
    CHECK_EQ(t.last_addr, 0x1f);
    CHECK_EQ(iomap_read(&f.pio, 0xd020, 1), 0xff);
    CHECK_EQ(iomap_read(&f.mmio, 0xfebff008, 4), 0xffffffffu);
    CHECK_EQ(iomap_read(&f.mmio, 0x80001ffc, 4), 0x5a);
    CHECK_EQ(iomap_read(&f.mmio, 0x80013ffc, 4), 0x5a);
    /* Moving with decode on (a guest may): old place released at once. */
    cfg_wr(&f, s, 0, 0x14, 0x90000000, 4);
    CHECK_EQ(iomap_read(&f.mmio, 0x80001000, 4), 0xffffffffu);
    CHECK_EQ(iomap_read(&f.mmio, 0x90000000, 4), 0x5a);
    /* Memory decode off leaves I/O on. */
    cfg_wr(&f, s, 0, 0x04, 1, 2);
    CHECK_EQ(iomap_read(&f.mmio, 0x90000000, 4), 0xffffffffu);
    CHECK_EQ(iomap_read(&f.pio, 0xd000, 1), 0x5a);
    /* Overlapping two BARs: the second is not decoded, nothing crashes. */
    cfg_wr(&f, s, 0, 0x04, 3, 2);
    cfg_wr(&f, s, 0, 0x18, 0x90000000, 4);
    CHECK_EQ(iomap_read(&f.mmio, 0x90000000, 4), 0x5a);
    /* Reset puts firmware's layout back. */
    pci_bus_reset(f.bus);
    CHECK_EQ(cfg_rd(&f, s, 0, 0x14, 4), 0xfebff000u);
    CHECK_EQ(iomap_read(&f.mmio, 0xfebff000, 4), 0x5a);
    CHECK_EQ(iomap_read(&f.mmio, 0x90000000, 4), 0xffffffffu);
    CHECK_EQ(iomap_read(&f.pio, 0xc000, 1), 0x5a);
    pci_device_unregister(&t.pci);
    CHECK_EQ(iomap_read(&f.pio, 0xc000, 1), 0xff);
    CHECK_EQ(cfg_rd(&f, s, 0, 0, 4), 0xffffffffu);
    fx_free(&f);
}

/* SeaBIOS moves BARs one device at a time, so a device can pass through the
 * place another still occupies (seen with virtio-blk and virtio-9p: the
 * disk's BAR stayed undecoded and SeaBIOS read its config as all-ones).
 * Once the other moves away, both decode; after a reset too. */
TEST(pci_bar_overlap_resolves_when_the_other_moves)
{
    struct fx f;
    fx_init(&f);
    struct tdev a, b;
    tdev_init(&a);
    tdev_init(&b);
    CHECK_EQ(pci_device_register(f.bus, &a.pci, -1, 0), PCI_DEVFN(4, 0));
    CHECK_EQ(pci_device_register(f.bus, &b.pci, -1, 0), PCI_DEVFN(5, 0));
    uint32_t a32 = cfg_rd(&f, 4, 0, 0x14, 4), b32 = cfg_rd(&f, 5, 0, 0x14, 4);
    CHECK(a32 != b32);
    /* A onto B's place: B keeps it, A is not decoded. */
    cfg_wr(&f, 4, 0, 0x14, b32, 4);
    a.reads = b.reads = 0;
    CHECK_EQ(iomap_read(&f.mmio, b32, 4), 0x5a);
    CHECK_EQ(b.reads, 1);
    CHECK_EQ(a.reads, 0);
    /* B moves away: A decodes at b32 now, B at its new place. */
    cfg_wr(&f, 5, 0, 0x14, 0x90000000, 4);
    a.reads = b.reads = 0;
    CHECK_EQ(iomap_read(&f.mmio, b32, 4), 0x5a);
    CHECK_EQ(a.reads, 1);
    CHECK_EQ(iomap_read(&f.mmio, 0x90000000, 4), 0x5a);
    CHECK_EQ(b.reads, 1);
    /* Swap them through an overlap, then reset: the reset layout has both. */
    cfg_wr(&f, 5, 0, 0x14, a32, 4);
    cfg_wr(&f, 4, 0, 0x14, 0x90000000, 4);      /* A onto B's place first */
    pci_bus_reset(f.bus);
    a.reads = b.reads = 0;
    CHECK_EQ(iomap_read(&f.mmio, a32, 4), 0x5a);
    CHECK_EQ(iomap_read(&f.mmio, b32, 4), 0x5a);
    CHECK_EQ(a.reads, 1);
    CHECK_EQ(b.reads, 1);
    /* A device leaving frees its ranges for a BAR waiting on them. */
    cfg_wr(&f, 4, 0, 0x14, b32, 4);
    a.reads = b.reads = 0;
    CHECK_EQ(iomap_read(&f.mmio, b32, 4), 0x5a);
    CHECK_EQ(b.reads, 1);
    pci_device_unregister(&b.pci);
    CHECK_EQ(iomap_read(&f.mmio, b32, 4), 0x5a);
    CHECK_EQ(a.reads, 1);
    pci_device_unregister(&a.pci);
    fx_free(&f);
}

TEST(pci_command_status)
{
    struct fx f;
    fx_init(&f);
    struct tdev t;
    tdev_init(&t);
    CHECK_EQ(pci_device_register(f.bus, &t.pci, 3, 0), PCI_DEVFN(3, 0));
    CHECK_EQ(cfg_rd(&f, 3, 0, 0, 4), 0x56781234u);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x2c, 4), 0x00421af4u);
    /* Class and revision are read-only. */
    cfg_wr(&f, 3, 0, 0x08, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x08, 4), 0x02000003u);
    /* Status error bits are RW1C; the device sets one, the guest clears it. */
    t.pci.config[PCI_STATUS + 1] |= 0x20;   /* received master abort */
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x06, 2) & 0x2000, 0x2000);
    cfg_wr(&f, 3, 0, 0x06, 0x0000, 2);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x06, 2) & 0x2000, 0x2000);
    cfg_wr(&f, 3, 0, 0x06, 0x2000, 2);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x06, 2) & 0x2000, 0);
    /* Command: only implemented bits stick. */
    cfg_wr(&f, 3, 0, 0x04, 0xffff, 2);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x04, 2), 0x0547);
    /* Interrupt line RW, pin RO. */
    cfg_wr(&f, 3, 0, 0x3c, 0xffff, 2);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x3c, 2), 0x01ff);
    /* A capability is read-only and linked from 0x34. */
    uint8_t off = pci_device_add_cap(&t.pci, 0x09, 16);
    CHECK_EQ(off, 0x40);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x34, 1), 0x40);
    CHECK(cfg_rd(&f, 3, 0, 0x06, 2) & PCI_STATUS_CAP_LIST);
    cfg_wr(&f, 3, 0, 0x40, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x40, 2), 0x0009);
    CHECK_EQ(pci_device_add_cap(&t.pci, 0x09, 20), 0x50);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x41, 1), 0x50);
    /* An access that runs past 0xCFF reads the rest as ones. */
    iomap_write(&f.pio, 0xcf8, 0x80001800u, 4);
    CHECK_EQ(iomap_read(&f.pio, 0xcfe, 4), 0xffff5678u);
    fx_free(&f);
}

TEST(pci_intx_routing)
{
    struct fx f;
    fx_init(&f);
    struct tdev a, b, c;
    tdev_init(&a);
    tdev_init(&b);
    tdev_init(&c);
    /* slot 3 INTA → PIRQC → 11; slot 4 → PIRQD → 11; slot 5 → PIRQA → 10. */
    CHECK_EQ(pci_device_register(f.bus, &a.pci, 3, 0), PCI_DEVFN(3, 0));
    CHECK_EQ(pci_device_register(f.bus, &b.pci, -1, 0), PCI_DEVFN(4, 0));
    CHECK_EQ(pci_device_register(f.bus, &c.pci, -1, 0), PCI_DEVFN(5, 0));
    CHECK_EQ(pci_device_pirq(&a.pci), 2);
    CHECK_EQ(pci_device_pirq(&b.pci), 3);
    CHECK_EQ(pci_device_pirq(&c.pci), 0);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x3c, 1), 11);
    CHECK_EQ(cfg_rd(&f, 4, 0, 0x3c, 1), 11);
    CHECK_EQ(cfg_rd(&f, 5, 0, 0x3c, 1), 10);
    pci_set_irq(&a.pci, 1);
    CHECK_EQ(f.level[11], 1);
    CHECK(cfg_rd(&f, 3, 0, 0x06, 2) & PCI_STATUS_INTX);
    /* Shared line: ORed. */
    pci_set_irq(&b.pci, 1);
    pci_set_irq(&a.pci, 0);
    CHECK_EQ(f.level[11], 1);
    pci_set_irq(&b.pci, 0);
    CHECK_EQ(f.level[11], 0);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x06, 2) & PCI_STATUS_INTX, 0);
    pci_set_irq(&c.pci, 1);
    CHECK_EQ(f.level[10], 1);
    /* Re-route PIRQA to IRQ 5 while asserted: 10 drops, 5 rises. */
    cfg_wr(&f, 1, 0, 0x60, 5, 1);
    CHECK_EQ(f.level[10], 0);
    CHECK_EQ(f.level[5], 1);
    /* Disable routing. */
    cfg_wr(&f, 1, 0, 0x60, 0x85, 1);
    CHECK_EQ(f.level[5], 0);
    /* Reserved targets (timer, cascade, RTC, FPU) never get PCI levels. */
    cfg_wr(&f, 1, 0, 0x60, 0x00, 1);
    CHECK_EQ(f.level[0], 0);
    cfg_wr(&f, 1, 0, 0x60, 0x08, 1);
    CHECK_EQ(f.level[8], 0);
    cfg_wr(&f, 1, 0, 0x60, 10, 1);
    CHECK_EQ(f.level[10], 1);
    /* Interrupt Disable masks INTx but the status bit still shows it. */
    cfg_wr(&f, 5, 0, 0x04, 0x0403, 2);
    CHECK_EQ(f.level[10], 0);
    CHECK(cfg_rd(&f, 5, 0, 0x06, 2) & PCI_STATUS_INTX);
    cfg_wr(&f, 5, 0, 0x04, 0x0003, 2);
    CHECK_EQ(f.level[10], 1);
    /* Reset: routing back to firmware's, device hook would lower. */
    pci_set_irq(&c.pci, 0);
    CHECK_EQ(f.level[10], 0);
    pci_bus_reset(f.bus);
    CHECK_EQ(cfg_rd(&f, 1, 0, 0x60, 4), 0x0b0b0a0au);
    fx_free(&f);
}

TEST(pci_pir_table)
{
    struct fx f;
    fx_init(&f);
    struct tdev a;
    tdev_init(&a);
    pci_device_register(f.bus, &a.pci, 3, 0);
    uint8_t buf[256];
    CHECK_EQ(pci_build_pir_table(f.bus, buf, 32), -1);
    int n = pci_build_pir_table(f.bus, buf, sizeof(buf));
    CHECK_EQ(n, 32 + 3 * 16);
    CHECK(memcmp(buf, "$PIR", 4) == 0);
    CHECK_EQ(le_ld16(buf + 6), (unsigned)n);
    uint8_t sum = 0;
    for (int i = 0; i < n; i++)
        sum = (uint8_t)(sum + buf[i]);
    CHECK_EQ(sum, 0);
    CHECK_EQ(buf[9], 0x08);
    CHECK_EQ(le_ld16(buf + 12), 0x8086);
    CHECK_EQ(le_ld16(buf + 14), 0x7000);
    /* Third entry is slot 3: INTA → link 0x62 (PIRQC). */
    const uint8_t *e = buf + 32 + 2 * 16;
    CHECK_EQ(e[1], PCI_DEVFN(3, 0));
    CHECK_EQ(e[2], 0x62);
    CHECK_EQ(le_ld16(e + 3), 0xdef8);
    CHECK_EQ(e[5], 0x63);
    CHECK_EQ(e[8], 0x60);
    fx_free(&f);
}

/* ---- the board glue: bus + devices on a machine-shaped object ---- */
#include "hw/machine.h"
#include "hw/pc_pci.h"
#include "hw/virtio_pci.h"
#include <stdlib.h>

static int mem_disk_read(void *o, uint64_t off, void *buf, size_t len)
{
    memset(buf, 0x33, len);
    return 0;
}

TEST(pc_pci_board_layout)
{
    struct machine m;
    memset(&m, 0, sizeof(m));
    m.ram_size = m.lowmem = 16u << 20;
    m.ram = calloc(1, m.ram_size);
    iomap_init(&m.pio, "pio", NULL);
    iomap_init(&m.mmio, "mmio", NULL);
    struct pci_devices_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ndisks = 2;
    for (int i = 0; i < 2; i++) {
        cfg.disks[i].be = (struct virtio_blk_backend){.size = 1 << 20, .read = mem_disk_read};
        snprintf(cfg.disks[i].serial, sizeof(cfg.disks[i].serial), "disk%d", i);
    }
    cfg.nnics = 1;                  /* slot left 0: auto, 00:03.0 */
    cfg.rng = true;
    struct pc_pci *p = pc_pci_init(&m, &cfg);
    CHECK(p != NULL);
    struct fx f;                    /* reuse the config helpers on m.pio */
    memset(&f, 0, sizeof(f));
    f.pio = m.pio;
    CHECK_EQ(cfg_rd(&f, 0, 0, 0, 4), 0x12378086u);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0, 4), 0x10001af4u);     /* NIC at 00:03.0 */
    CHECK_EQ(cfg_rd(&f, 4, 0, 0, 4), 0x10011af4u);     /* disks at 00:04.0, 00:05.0 */
    CHECK_EQ(cfg_rd(&f, 5, 0, 0, 4), 0x10011af4u);
    CHECK_EQ(cfg_rd(&f, 6, 0, 0, 4), 0x10051af4u);     /* rng */
    CHECK_EQ(cfg_rd(&f, 7, 0, 0, 4), 0xffffffffu);
    CHECK_EQ(cfg_rd(&f, 3, 0, 0x3c, 1), 11);
    CHECK_EQ(cfg_rd(&f, 4, 0, 0x3c, 1), 11);
    CHECK_EQ(cfg_rd(&f, 5, 0, 0x3c, 1), 10);
    CHECK_EQ(cfg_rd(&f, 6, 0, 0x3c, 1), 10);
    /* Every memory BAR inside the hole, below the IOAPIC, no overlap. */
    uint64_t lo[4];
    for (int s = 3; s <= 6; s++) {
        uint64_t a = cfg_rd(&f, s, 0, 0x20, 4) & ~0xfu;
        CHECK(a >= m.lowmem && a + VIRTIO_PCI_BAR4_SIZE <= 0xfec00000ULL);
        for (int t = 3; t < s; t++)
            CHECK(a + VIRTIO_PCI_BAR4_SIZE <= lo[t - 3] || lo[t - 3] + VIRTIO_PCI_BAR4_SIZE <= a);
        lo[s - 3] = a;
        uint32_t io = cfg_rd(&f, s, 0, 0x10, 4);
        CHECK((io & 1) && (io & ~3u) >= 0xc000);
    }
    CHECK_EQ(pc_pci_level_irqs(p), 0x0c00);
    /* $PIR in the F segment. */
    CHECK_EQ(pc_pci_write_pir(p, &m, 0xf0001), -1);
    CHECK_EQ(pc_pci_write_pir(p, &m, 0xf0000), 0);
    CHECK(memcmp(m.ram + 0xf0000, "$PIR", 4) == 0);
    /* Reset keeps the layout. */
    pc_pci_reset(p);
    CHECK_EQ(cfg_rd(&f, 4, 0, 0x20, 4) & ~0xfu, lo[1]);
    pc_pci_destroy(p);
    iomap_destroy(&m.pio);
    iomap_destroy(&m.mmio);
    free(m.ram);
}
