/* The i440FX as SeaBIOS sees it: QEMU's subsystem IDs (its QEMU detection)
 * and PAM0-6 as writable registers with their reserved bits. */
#include "test.h"
#include "hw/pci.h"
#include "hw/iomap.h"
#include <string.h>

static uint32_t cfg_rd(struct iomap *pio, int reg, unsigned size)
{
    iomap_write(pio, 0xcf8, 0x80000000u | (uint32_t)(reg & 0xfc), 4);
    return (uint32_t)iomap_read(pio, 0xcfc + (reg & 3), size);
}

static void cfg_wr(struct iomap *pio, int reg, uint32_t v, unsigned size)
{
    iomap_write(pio, 0xcf8, 0x80000000u | (uint32_t)(reg & 0xfc), 4);
    iomap_write(pio, 0xcfc + (reg & 3), v, size);
}

TEST(i440fx_subsystem_and_pam_registers)
{
    struct iomap pio, mmio;
    iomap_init(&pio, "pio", NULL);
    iomap_init(&mmio, "mmio", NULL);
    struct pci_bus *bus = pci_bus_create(&pio, &mmio, NULL, 0x40000000, 0xfec00000);
    CHECK(bus);
    CHECK_EQ(cfg_rd(&pio, 0x2c, 4), 0x11001af4);
    /* SeaBIOS's make_bios_writable: dword writes over 0x58-0x5f */
    CHECK_EQ(cfg_rd(&pio, 0x58, 4), 0);
    cfg_wr(&pio, 0x58, 0x333030ff, 4);
    cfg_wr(&pio, 0x5c, 0xffffffff, 4);
    CHECK_EQ(cfg_rd(&pio, 0x59, 1), 0x30);          /* PAM0: only 0xF0000 bits */
    CHECK_EQ(cfg_rd(&pio, 0x5a, 2), 0x3330);
    CHECK_EQ(cfg_rd(&pio, 0x5c, 4), 0x33333333);
    CHECK_EQ(cfg_rd(&pio, 0x58, 1), 0);             /* not a PAM register */
    /* a system reset gives the ROM back (PAM 0) */
    pci_bus_reset(bus);
    CHECK_EQ(cfg_rd(&pio, 0x5c, 4), 0);
    pci_bus_free(bus);
    iomap_destroy(&pio);
    iomap_destroy(&mmio);
}
