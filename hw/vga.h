/* QEMU's "-vga std": a PCI VGA (1234:1111) with the legacy VGA registers and
 * memory window, the Bochs VBE/DISPI interface and a linear framebuffer BAR,
 * plus a renderer that turns whatever mode the guest set into an XRGB8888
 * surface, redrawing only what changed. See hw/vga.c for the references. */
#ifndef HW_VGA_H
#define HW_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/iomap.h"

#define VGA_VRAM_SIZE      (16u << 20)      /* QEMU's default vgamem_mb=16 */
#define VGA_LEGACY_BASE    0xa0000u
#define VGA_LEGACY_SIZE    0x20000u
#define VGA_MAX_WIDTH      2560
#define VGA_MAX_HEIGHT     1600

/* Bochs VBE/DISPI register indexes (ports 0x1ce/0x1cf, BAR2 + 0x500). */
#define VBE_DISPI_INDEX_ID          0
#define VBE_DISPI_INDEX_XRES        1
#define VBE_DISPI_INDEX_YRES        2
#define VBE_DISPI_INDEX_BPP         3
#define VBE_DISPI_INDEX_ENABLE      4
#define VBE_DISPI_INDEX_BANK        5
#define VBE_DISPI_INDEX_VIRT_WIDTH  6
#define VBE_DISPI_INDEX_VIRT_HEIGHT 7
#define VBE_DISPI_INDEX_X_OFFSET    8
#define VBE_DISPI_INDEX_Y_OFFSET    9
#define VBE_DISPI_INDEX_VIDEO_MEM_64K 10
#define VBE_DISPI_NUM_REGS          11
#define VBE_DISPI_ID5               0xb0c5
#define VBE_DISPI_ENABLED           0x01
#define VBE_DISPI_GETCAPS           0x02
#define VBE_DISPI_8BIT_DAC          0x20
#define VBE_DISPI_LFB_ENABLED       0x40
#define VBE_DISPI_NOCLEARMEM        0x80

struct vga;
struct pci_bus;

/* What the renderer produces: 0x00RRGGBB pixels, stride = width. */
struct vga_surface {
    int width, height;
    uint32_t *pixels;
};

struct vga_rect { int x, y, w, h; };

/* Creates the adapter: legacy ports on pio, the 0xa0000 window on mmio and,
 * when bus is non-NULL, the PCI function at `slot` with BAR0 (framebuffer)
 * and BAR2 (MMIO registers). The registers start as the VGA BIOS leaves them
 * after mode 3 (80x25 text), with its 8x16 font in plane 2 when `rom` holds
 * the VGA BIOS image (the font is taken from it; NULL: no font, blank
 * glyphs), so a -kernel boot that runs no BIOS still has a text console.
 * The image is also the device's expansion ROM (ROM BAR at 0x30, as QEMU's
 * romfile) for firmware that runs option ROMs. `rom` is copied.
 * NULL on failure (ports or ranges taken, no memory). */
struct vga *vga_create(struct iomap *pio, struct iomap *mmio, struct pci_bus *bus, int slot,
                       const uint8_t *rom, size_t rom_len);
void vga_free(struct vga *v);
/* Machine reset: back to the post-BIOS text mode (VBE off). */
void vga_reset(struct vga *v);

/* Reads the VGA BIOS image the adapter uses (Debian's seabios package):
 * $TREMU_VGABIOS, else /usr/share/seabios/vgabios-stdvga.bin, else
 * /usr/share/qemu/vgabios-stdvga.bin. malloc'd, NULL when none is found. */
uint8_t *vga_load_bios(size_t *len, const char **path);
/* Finds the 8x16 and 8x8 fonts inside a VGA BIOS image by the shape of a
 * few glyphs every IBM-compatible font shares. 0 or -1. */
int vga_find_fonts(const uint8_t *rom, size_t len, const uint8_t **font16, const uint8_t **font8);

/* Fills struct screen_info at the start of a Linux zero page (boot
 * protocol: orig_video_* describe VGA text mode 3, 80x25 at 0xb8000). */
void vga_fill_screen_info(uint8_t *zero_page);

/* ---- rendering (call with the device lock held) ---- */
/* Brings the surface up to date with guest memory and registers. Returns
 * true when pixels changed; *dirty is their bounding box. *resized is set
 * when the surface changed size (the caller re-reads vga_surface). */
bool vga_update(struct vga *v, struct vga_rect *dirty, bool *resized);
const struct vga_surface *vga_surface(const struct vga *v);
/* How many times vga_update ran (every display and screendump): the proof
 * that nobody looking means no rendering. */
unsigned long vga_update_count(const struct vga *v);
/* Forget what was drawn: the next update redraws everything. */
void vga_invalidate(struct vga *v);
/* Text modes: the characters on screen, one line per row ('\n'), code
 * points above 0x7e and below 0x20 as '.'. Returns the length written
 * (NUL-terminated), -1 when the adapter is not in a text mode. */
int vga_text_dump(struct vga *v, char *buf, size_t len);
/* For tests: the mode the renderer sees ("text 80x25", "vbe 1024x768x32",
 * "planar 640x480", "chain4 320x200", "off"). */
const char *vga_mode_name(struct vga *v);

/* Whether the page of video memory at vram_offset was marked written
 * since the last update (by the handlers; engines' direct writes are
 * collected at the update, see vga_set_dirty_sync). */
bool vga_page_dirty(const struct vga *v, uint32_t vram_offset);
/* How vga_update learns the pages written: fn ORs them into out (the board's
 * machine_ram_dirty_sync: the bits plus what the engine saw). Without it
 * the update takes the bits alone (no engine maps the framebuffer). */
struct ram_backing;
void vga_set_dirty_sync(struct vga *v, void (*fn)(void *opaque, struct ram_backing *rb, uint64_t *out),
                        void *opaque);

#endif
