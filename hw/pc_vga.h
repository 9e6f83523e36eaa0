/* Board glue for the standard VGA (hw/vga.c): 00:02.0 as on QEMU's pc. */
#ifndef HW_PC_VGA_H
#define HW_PC_VGA_H

struct machine;
struct pci_bus;

/* Creates the adapter when the configuration asks for one (m->cfg->vga)
 * and sets m->vga. The font comes from the VGA BIOS image (see
 * vga_load_bios); without one the text console has blank glyphs and we say
 * so. Returns 0, or -1 with a message. */
int pc_vga_init(struct machine *m, struct pci_bus *bus);
/* Before the PCI bus goes. */
void pc_vga_destroy(struct machine *m);

#endif
