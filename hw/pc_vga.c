/* Board glue for the standard VGA (see hw/pc_vga.h). */
#include "hw/pc_vga.h"
#include "hw/machine.h"
#include "hw/vga.h"
#include <stdio.h>
#include <stdlib.h>

static void pc_vga_dirty(void *opaque, struct ram_backing *rb, uint64_t *out)
{
    machine_ram_dirty_sync(opaque, rb, out);
}

int pc_vga_init(struct machine *m, struct pci_bus *bus)
{
    if (!m->cfg->vga)
        return 0;
    size_t len = 0;
    const char *path = NULL;
    uint8_t *rom = vga_load_bios(&len, &path);
    if (!rom || vga_find_fonts(rom, len, NULL, NULL) < 0)
        fprintf(stderr, "tremu: warning: no VGA BIOS with a font found (%s); text mode shows "
                "blank glyphs until the guest loads a font (install Debian's seabios)\n",
                rom ? path : "tried $TREMU_VGABIOS, /usr/share/seabios/vgabios-stdvga.bin");
    /* Slot 2, QEMU pc's VGA slot, which pc_pci leaves free. */
    m->vga = vga_create(&m->pio, &m->mmio, bus, 2, rom, len);
    free(rom);
    if (!m->vga) {
        fprintf(stderr, "tremu: cannot create the VGA (ports, window or PCI slot 2 taken)\n");
        return -1;
    }
    vga_set_dirty_sync(m->vga, pc_vga_dirty, m);
    return 0;
}

void pc_vga_destroy(struct machine *m)
{
    if (m->vga) {
        vga_free(m->vga);
        m->vga = NULL;
    }
}
