/* Standard VGA: register model, memory window write modes, VBE/DISPI and
 * the renderer (text mode against the font glyphs and a golden checksum,
 * mode 13h, VBE linear modes, dirty tracking). */
#include "test.h"
#include "hw/vga.h"
#include "hw/pci.h"
#include <stdlib.h>
#include <string.h>

#ifndef GOLDEN_TEXT
#define GOLDEN_TEXT 0x938cdd0au
#endif

struct vfix {
    struct iomap pio, mmio;
    struct irq isa[16];
    struct pci_bus *bus;
    struct vga *v;
    uint8_t *rom;
    size_t rom_len;
    const uint8_t *font16;
    uint64_t lfb;
};

static void noirq(void *o, int n, int level) { (void)o; (void)n; (void)level; }

static void vfix_init(struct vfix *f, bool need_font)
{
    memset(f, 0, sizeof(*f));
    iomap_init(&f->pio, "pio", NULL);
    iomap_init(&f->mmio, "mmio", NULL);
    for (int i = 0; i < 16; i++)
        irq_init(&f->isa[i], noirq, f, i);
    f->bus = pci_bus_create(&f->pio, &f->mmio, f->isa, 0x40000000, 0xfec00000);
    f->rom = vga_load_bios(&f->rom_len, NULL);
    if (f->rom)
        vga_find_fonts(f->rom, f->rom_len, &f->font16, NULL);
    (void)need_font;
    f->v = vga_create(&f->pio, &f->mmio, f->bus, 2, f->rom, f->rom_len);
    struct pci_device *d = f->bus->dev[PCI_DEVFN(2, 0)];
    if (d)
        f->lfb = pci_config_read(d, PCI_BAR0, 4) & ~0xfULL;
}

static void vfix_fini(struct vfix *f)
{
    vga_free(f->v);
    pci_bus_free(f->bus);
    iomap_destroy(&f->pio);
    iomap_destroy(&f->mmio);
    free(f->rom);
}

static void outb(struct vfix *f, uint16_t port, uint8_t val) { iomap_write(&f->pio, port, val, 1); }
static uint8_t inb(struct vfix *f, uint16_t port) { return (uint8_t)iomap_read(&f->pio, port, 1); }
static void vbe(struct vfix *f, uint16_t idx, uint16_t val)
{
    iomap_write(&f->pio, 0x1ce, idx, 2);
    iomap_write(&f->pio, 0x1cf, val, 2);
}
static uint16_t vbe_rd(struct vfix *f, uint16_t idx)
{
    iomap_write(&f->pio, 0x1ce, idx, 2);
    return (uint16_t)iomap_read(&f->pio, 0x1cf, 2);
}

static uint32_t fnv(const uint32_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            h = (h ^ ((p[i] >> (8 * b)) & 0xff)) * 16777619u;
    return h;
}

TEST(vga_pci_identity)
{
    struct vfix f;
    vfix_init(&f, false);
    CHECK(f.v != NULL);
    struct pci_device *d = f.bus->dev[PCI_DEVFN(2, 0)];
    CHECK(d != NULL);
    if (d) {
        CHECK_EQ(pci_config_read(d, 0, 4), 0x11111234);
        CHECK_EQ(pci_config_read(d, 0x08, 4) >> 8, 0x030000);
        CHECK_EQ(pci_config_read(d, PCI_BAR0, 4) & 0xf, 0x8);     /* prefetchable mem */
        CHECK(f.lfb != 0);
        uint64_t bar2 = pci_config_read(d, PCI_BAR0 + 8, 4) & ~0xfULL;
        CHECK(bar2 != 0);
        /* bochs-drm: QEMU extended registers, then DISPI through MMIO. */
        CHECK_EQ(iomap_read(&f.mmio, bar2 + 0x600, 4), 8);
        CHECK_EQ(iomap_read(&f.mmio, bar2 + 0x604, 4), 0x1e1e1e1e);
        CHECK_EQ(iomap_read(&f.mmio, bar2 + 0x500, 2), VBE_DISPI_ID5);
        CHECK_EQ(iomap_read(&f.mmio, bar2 + 0x500 + 2 * VBE_DISPI_INDEX_VIDEO_MEM_64K, 2),
                 VGA_VRAM_SIZE >> 16);
        /* The VGA ports through BAR2 + 0x400 (0x3c0 + n). */
        iomap_write(&f.mmio, bar2 + 0x400 + 0x14, 0x02, 1);      /* 0x3d4 */
        CHECK_EQ(inb(&f, 0x3d4), 0x02);
    }
    vfix_fini(&f);
}

TEST(vga_registers)
{
    struct vfix f;
    vfix_init(&f, false);
    /* After "the BIOS": mode 3. */
    CHECK_EQ(inb(&f, 0x3cc), 0x67);
    CHECK(!strcmp(vga_mode_name(f.v), "text 80x25"));
    /* Sequencer and graphics index/data, also as one 16-bit OUT. */
    iomap_write(&f.pio, 0x3c4, 0x0f02, 2);
    CHECK_EQ(inb(&f, 0x3c4), 2);
    CHECK_EQ(inb(&f, 0x3c5), 0x0f);
    outb(&f, 0x3ce, 5);
    CHECK_EQ(inb(&f, 0x3cf), 0x10);
    /* CRTC: CR11 bit 7 protects CR0-7. */
    outb(&f, 0x3d4, 0x11); outb(&f, 0x3d5, 0x8e);
    outb(&f, 0x3d4, 0x01); outb(&f, 0x3d5, 0x27);
    CHECK_EQ(inb(&f, 0x3d5), 0x4f);
    outb(&f, 0x3d4, 0x11); outb(&f, 0x3d5, 0x0e);
    outb(&f, 0x3d4, 0x01); outb(&f, 0x3d5, 0x27);
    CHECK_EQ(inb(&f, 0x3d5), 0x27);
    /* Mono CRTC ports are dead while misc bit 0 selects colour. */
    CHECK_EQ(inb(&f, 0x3b5), 0xff);
    /* DAC: write index + 3 components, read back through the read index. */
    outb(&f, 0x3c8, 5);
    outb(&f, 0x3c9, 0x3f); outb(&f, 0x3c9, 0x20); outb(&f, 0x3c9, 0x01);
    outb(&f, 0x3c7, 5);
    CHECK_EQ(inb(&f, 0x3c9), 0x3f);
    CHECK_EQ(inb(&f, 0x3c9), 0x20);
    CHECK_EQ(inb(&f, 0x3c9), 0x01);
    /* Attribute controller flip-flop, reset by reading input status 1. */
    inb(&f, 0x3da);
    outb(&f, 0x3c0, 0x30);          /* index 0x10, PAS */
    outb(&f, 0x3c0, 0x0c);
    CHECK_EQ(inb(&f, 0x3c1), 0x0c);
    /* Input status 1 toggles retrace so polling loops end. */
    uint8_t a = inb(&f, 0x3da), b = inb(&f, 0x3da);
    CHECK((a ^ b) & 0x08);
    vfix_fini(&f);
}

/* Planar mode (GR5 write modes, GR3 logical ops, SR2 map mask, latches). */
TEST(vga_planar_write_modes)
{
    struct vfix f;
    vfix_init(&f, false);
    outb(&f, 0x3c4, 4); outb(&f, 0x3c5, 0x06);          /* planar, no chain */
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x00);          /* write mode 0, read mode 0 */
    outb(&f, 0x3ce, 6); outb(&f, 0x3cf, 0x05);          /* graphics, a0000 64K */
    outb(&f, 0x3c4, 2); outb(&f, 0x3c5, 0x0f);
    outb(&f, 0x3ce, 8); outb(&f, 0x3cf, 0xff);
    /* Set/reset: planes 0 and 2 forced to ones, planes 1 and 3 take data. */
    outb(&f, 0x3ce, 0); outb(&f, 0x3cf, 0x05);
    outb(&f, 0x3ce, 1); outb(&f, 0x3cf, 0x05);
    iomap_write(&f.mmio, 0xa0000, 0x3c, 1);
    uint8_t p[4];
    for (int i = 0; i < 4; i++) {
        outb(&f, 0x3ce, 4); outb(&f, 0x3cf, (uint8_t)i);
        p[i] = (uint8_t)iomap_read(&f.mmio, 0xa0000, 1);
    }
    CHECK_EQ(p[0], 0xff); CHECK_EQ(p[1], 0x3c); CHECK_EQ(p[2], 0xff); CHECK_EQ(p[3], 0x3c);
    /* Bit mask keeps the latched bits: XOR with latch under mask 0x0f. */
    outb(&f, 0x3ce, 1); outb(&f, 0x3cf, 0x00);
    outb(&f, 0x3ce, 3); outb(&f, 0x3cf, 0x18);          /* XOR */
    outb(&f, 0x3ce, 8); outb(&f, 0x3cf, 0x0f);
    (void)iomap_read(&f.mmio, 0xa0000, 1);              /* load latches */
    iomap_write(&f.mmio, 0xa0000, 0xff, 1);
    outb(&f, 0x3ce, 4); outb(&f, 0x3cf, 0);
    CHECK_EQ(iomap_read(&f.mmio, 0xa0000, 1), 0xf0);
    outb(&f, 0x3ce, 4); outb(&f, 0x3cf, 1);
    CHECK_EQ(iomap_read(&f.mmio, 0xa0000, 1), 0x33);
    /* Write mode 1 copies the latches (a screen-to-screen copy). */
    outb(&f, 0x3ce, 3); outb(&f, 0x3cf, 0x00);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x01);
    (void)iomap_read(&f.mmio, 0xa0000, 1);
    iomap_write(&f.mmio, 0xa0010, 0x00, 1);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x00);
    outb(&f, 0x3ce, 4); outb(&f, 0x3cf, 1);
    CHECK_EQ(iomap_read(&f.mmio, 0xa0010, 1), 0x33);
    /* Write mode 2: the data's low nibble is a colour for all 8 pixels. */
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x02);
    outb(&f, 0x3ce, 8); outb(&f, 0x3cf, 0xff);
    iomap_write(&f.mmio, 0xa0020, 0x0a, 1);
    /* Read mode 1: colour compare against 0xa over all planes. */
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x08);
    outb(&f, 0x3ce, 2); outb(&f, 0x3cf, 0x0a);
    outb(&f, 0x3ce, 7); outb(&f, 0x3cf, 0x0f);
    CHECK_EQ(iomap_read(&f.mmio, 0xa0020, 1), 0xff);
    outb(&f, 0x3ce, 2); outb(&f, 0x3cf, 0x05);
    CHECK_EQ(iomap_read(&f.mmio, 0xa0020, 1), 0x00);
    /* Out-of-window addresses (64K map) read as ones, writes ignored. */
    CHECK_EQ(iomap_read(&f.mmio, 0xb8000, 1), 0xff);
    vfix_fini(&f);
}

/* Text mode: a known buffer renders as the font's glyphs in the attribute's
 * colours, and the whole frame matches a golden checksum. */
TEST(vga_text_render)
{
    struct vfix f;
    vfix_init(&f, true);
    if (!f.font16) {
        vfix_fini(&f);
        test_skip("no VGA BIOS with a font (Debian's seabios: vgabios-stdvga.bin)");
        return;
    }
    const char *msg = "tremu VGA";
    for (int i = 0; msg[i]; i++) {
        iomap_write(&f.mmio, 0xb8000 + 2 * i, (uint8_t)msg[i], 1);
        iomap_write(&f.mmio, 0xb8001 + 2 * i, 0x1e, 1);   /* yellow on blue */
    }
    /* Row 1, column 0: a box-drawing character extends to the 9th column. */
    iomap_write(&f.mmio, 0xb8000 + 160, 0xc4, 2);
    iomap_write(&f.mmio, 0xb8001 + 160, 0x07, 1);
    struct vga_rect r;
    bool resized = false;
    CHECK(vga_update(f.v, &r, &resized));
    const struct vga_surface *s = vga_surface(f.v);
    CHECK_EQ(s->width, 720);
    CHECK_EQ(s->height, 400);
    /* 'V' is cell 6: compare each pixel with the font bit. */
    uint32_t yellow = 0xffff55, blue = 0x0000aa;
    int bad = 0;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 9; x++) {
            int bit = x < 8 ? (f.font16['V' * 16 + y] >> (7 - x)) & 1 : 0;
            if (s->pixels[y * 720 + 6 * 9 + x] != (bit ? yellow : blue))
                bad++;
        }
    CHECK_EQ(bad, 0);
    /* The line-graphics 9th column copies the 8th (AR10 bit 2). */
    int row = 16 + 7;   /* the horizontal bar of 0xc4 */
    CHECK(f.font16[0xc4 * 16 + 7] & 1);
    CHECK_EQ(s->pixels[row * 720 + 8], 0xaaaaaa);
    /* The cursor (CR0A/0B = 0x0d/0x0e, at 0) covers rows 13-14 of cell 0. */
    CHECK_EQ(s->pixels[13 * 720 + 0], yellow);
    CHECK_EQ(s->pixels[14 * 720 + 4], yellow);
    char dump[4096];
    CHECK(vga_text_dump(f.v, dump, sizeof(dump)) > 0);
    CHECK(!strncmp(dump, "tremu VGA   ", 12));
    /* Golden: the whole 720x400 frame (SeaBIOS's font); a renderer change
     * that moves any pixel changes it. */
    uint32_t h = fnv(s->pixels, 720 * 400);
    printf("    vga_text_render: frame checksum 0x%08x\n", h);
    CHECK_EQ(h, GOLDEN_TEXT);
    /* Nothing changed: no redraw. One cell written: only that cell. */
    CHECK(!vga_update(f.v, &r, &resized));
    iomap_write(&f.mmio, 0xb8000 + 2 * (80 * 3 + 10), 'X', 1);
    CHECK(vga_update(f.v, &r, &resized));
    CHECK_EQ(r.x, 90); CHECK_EQ(r.y, 48); CHECK_EQ(r.w, 9); CHECK_EQ(r.h, 16);
    /* 80x50: 8-line characters (CR09 = 7, as the BIOS's 8x8 font mode). */
    outb(&f, 0x3d4, 0x09); outb(&f, 0x3d5, 0x47);
    CHECK(!strcmp(vga_mode_name(f.v), "text 80x50"));
    vfix_fini(&f);
}

/* Mode 13h: chain-4, 320x200, 256 colours through the DAC. */
TEST(vga_mode13h)
{
    struct vfix f;
    vfix_init(&f, false);
    static const uint8_t seq[5] = {0x03, 0x01, 0x0f, 0x00, 0x0e};
    static const uint8_t crtc[25] = {
        0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff};
    static const uint8_t gr[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff};
    outb(&f, 0x3c2, 0x63);
    for (int i = 0; i < 5; i++) { outb(&f, 0x3c4, (uint8_t)i); outb(&f, 0x3c5, seq[i]); }
    outb(&f, 0x3d4, 0x11); outb(&f, 0x3d5, 0x0e);
    for (int i = 0; i < 25; i++) { outb(&f, 0x3d4, (uint8_t)i); outb(&f, 0x3d5, crtc[i]); }
    for (int i = 0; i < 9; i++) { outb(&f, 0x3ce, (uint8_t)i); outb(&f, 0x3cf, gr[i]); }
    inb(&f, 0x3da);
    for (int i = 0; i < 16; i++) { outb(&f, 0x3c0, (uint8_t)i); outb(&f, 0x3c0, (uint8_t)i); }
    outb(&f, 0x3c0, 0x10); outb(&f, 0x3c0, 0x41);
    outb(&f, 0x3c0, 0x20);
    CHECK(!strcmp(vga_mode_name(f.v), "chain4 320x200"));
    for (uint32_t a = 0; a < 320 * 200; a += 4)
        iomap_write(&f.mmio, 0xa0000 + a, 0, 4);
    outb(&f, 0x3c8, 200);
    outb(&f, 0x3c9, 0x3f); outb(&f, 0x3c9, 0x00); outb(&f, 0x3c9, 0x3f);
    iomap_write(&f.mmio, 0xa0000 + 10 * 320 + 17, 200, 1);
    struct vga_rect r;
    bool rs;
    vga_update(f.v, &r, &rs);
    const struct vga_surface *s = vga_surface(f.v);
    CHECK_EQ(s->width, 320);
    CHECK_EQ(s->height, 200);
    CHECK_EQ(s->pixels[10 * 320 + 17], 0xff00ff);
    CHECK_EQ(s->pixels[10 * 320 + 18], 0x000000);
    /* A later pixel write redraws only its line. */
    iomap_write(&f.mmio, 0xa0000 + 150 * 320 + 3, 200, 1);
    CHECK(vga_update(f.v, &r, &rs));
    CHECK(r.y <= 150 && r.y + r.h > 150 && r.h < 20);
    vfix_fini(&f);
}

/* Bochs VBE: geometry, enable, the linear framebuffer, bpp conversions. */
TEST(vga_vbe_modes)
{
    struct vfix f;
    vfix_init(&f, false);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
    /* GETCAPS: the maxima. */
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_XRES), VGA_MAX_WIDTH);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    /* Hostile geometry is refused. */
    vbe(&f, VBE_DISPI_INDEX_XRES, 60000);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_XRES), 0);
    vbe(&f, VBE_DISPI_INDEX_BPP, 7);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_BPP), 0);
    vbe(&f, VBE_DISPI_INDEX_XRES, 640);
    vbe(&f, VBE_DISPI_INDEX_YRES, 480);
    vbe(&f, VBE_DISPI_INDEX_BPP, 32);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    CHECK(!strcmp(vga_mode_name(f.v), "vbe 640x480x32"));
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_VIRT_WIDTH), 640);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_VIRT_HEIGHT), VGA_VRAM_SIZE / (640 * 4));
    /* Geometry is frozen while enabled. */
    vbe(&f, VBE_DISPI_INDEX_XRES, 800);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_XRES), 640);
    struct vga_rect r;
    bool rs = false;
    vga_update(f.v, &r, &rs);
    CHECK_EQ(vga_surface(f.v)->width, 640);
    CHECK_EQ(vga_surface(f.v)->height, 480);
    CHECK(!vga_update(f.v, &r, &rs));
    iomap_write(&f.mmio, f.lfb + (100 * 640 + 5) * 4, 0x00123456, 4);
    CHECK(vga_update(f.v, &r, &rs));
    CHECK(!rs);
    const struct vga_surface *s = vga_surface(f.v);
    CHECK_EQ(s->pixels[100 * 640 + 5], 0x123456);
    CHECK(r.y <= 100 && r.y + r.h > 100);
    /* Panning: Y offset 1 shows line 100 as line 99. */
    vbe(&f, VBE_DISPI_INDEX_Y_OFFSET, 1);
    vga_update(f.v, &r, &rs);
    CHECK_EQ(s->pixels[99 * 640 + 5], 0x123456);
    /* 16 bpp, banked access through 0xa0000 (bank 1 = offset 64K). */
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe(&f, VBE_DISPI_INDEX_XRES, 800);
    vbe(&f, VBE_DISPI_INDEX_YRES, 600);
    vbe(&f, VBE_DISPI_INDEX_BPP, 16);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    vbe(&f, VBE_DISPI_INDEX_BANK, 1);
    iomap_write(&f.mmio, 0xa0000, 0xf800, 2);             /* pure red at offset 64K */
    vga_update(f.v, &r, &rs);
    s = vga_surface(f.v);
    CHECK_EQ(s->width, 800);
    CHECK_EQ(s->pixels[0x10000 / 2], 0xff0000);
    /* A bank past video memory is refused. */
    vbe(&f, VBE_DISPI_INDEX_BANK, 0x4000);
    CHECK_EQ(vbe_rd(&f, VBE_DISPI_INDEX_BANK), 1);
    /* Disable: back to the VGA text mode. */
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    CHECK(!strcmp(vga_mode_name(f.v), "text 80x25"));
    /* Out-of-range LFB accesses are ignored / read all-ones, never a crash. */
    iomap_write(&f.mmio, f.lfb + VGA_VRAM_SIZE - 2, 0x12345678, 4);
    CHECK_EQ(iomap_read(&f.mmio, f.lfb + VGA_VRAM_SIZE - 2, 4) & 0xffffffff, 0xffffffff);
    CHECK_EQ(iomap_read(&f.mmio, f.lfb + VGA_VRAM_SIZE - 2, 2), 0);
    vfix_fini(&f);
}

TEST(vga_font_search)
{
    uint8_t junk[8192] = {0};
    CHECK(vga_find_fonts(junk, sizeof(junk), NULL, NULL) < 0);
    CHECK(vga_find_fonts(NULL, 0, NULL, NULL) < 0);
    uint8_t zp[0x20] = {0};
    vga_fill_screen_info(zp);
    CHECK_EQ(zp[0x06], 3);
    CHECK_EQ(zp[0x07], 80);
    CHECK_EQ(zp[0x0e], 25);
    CHECK_EQ(zp[0x0f], 1);
    CHECK_EQ(zp[0x10], 16);
}

/* The PNG writer: signature, IHDR, and IDAT that inflates to the rows. */
#include "ui/png.h"
#include <zlib.h>

TEST(png_roundtrip)
{
    uint32_t px[3 * 2] = {0xff0000, 0x00ff00, 0x0000ff, 0x123456, 0xffffff, 0x000000};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(png_write(f, px, 3, 2, 3) == 0);
    fclose(f);
    CHECK(len > 8 + 25 + 12 + 12);
    CHECK(!memcmp(buf, "\x89PNG\r\n\x1a\n", 8));
    CHECK(!memcmp(buf + 12, "IHDR", 4));
    CHECK_EQ((uint8_t)buf[16 + 3], 3);      /* width */
    CHECK_EQ((uint8_t)buf[20 + 3], 2);      /* height */
    /* Collect IDAT data and check chunk CRCs on the way. */
    uint8_t z[4096];
    size_t zn = 0, off = 8;
    int crc_bad = 0;
    while (off + 12 <= len) {
        const uint8_t *c = (const uint8_t *)buf + off;
        uint32_t n = (uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
        uint32_t crc = (uint32_t)crc32(0, c + 4, 4 + n);
        const uint8_t *cc = c + 8 + n;
        if (crc != ((uint32_t)cc[0] << 24 | cc[1] << 16 | cc[2] << 8 | cc[3]))
            crc_bad++;
        if (!memcmp(c + 4, "IDAT", 4) && zn + n <= sizeof(z)) {
            memcpy(z + zn, c + 8, n);
            zn += n;
        }
        off += 12 + n;
    }
    CHECK_EQ(crc_bad, 0);
    CHECK_EQ(off, len);
    uint8_t raw[64];
    uLongf rn = sizeof(raw);
    CHECK(uncompress(raw, &rn, z, zn) == Z_OK);
    CHECK_EQ(rn, 2 * (1 + 9));
    static const uint8_t want[20] = {0, 0xff, 0, 0, 0, 0xff, 0, 0, 0, 0xff,
                                     0, 0x12, 0x34, 0x56, 0xff, 0xff, 0xff, 0, 0, 0};
    CHECK(!memcmp(raw, want, 20));
    free(buf);
    CHECK(png_write_file("/nonexistent-dir/x.png", px, 3, 2, 3) < 0);
}

/* The expansion ROM BAR: sized like any BAR, decoded only when enabled
 * with memory decode on, and reads the VGA BIOS image (0x55 0xAA, PCIR
 * naming 1234:1111) for firmware to run. */
TEST(vga_rom_bar)
{
    struct vfix f;
    vfix_init(&f, false);
    struct pci_device *d = f.bus->dev[PCI_DEVFN(2, 0)];
    if (!f.rom || !d) {
        vfix_fini(&f);
        test_skip("no VGA BIOS image (Debian's seabios: vgabios-stdvga.bin)");
        return;
    }
    pci_config_write(d, PCI_ROM_ADDRESS, 0xfffff800, 4);
    uint32_t sz = ~(pci_config_read(d, PCI_ROM_ADDRESS, 4) & ~0x7ffu) + 1;
    CHECK(sz >= f.rom_len && (sz & (sz - 1)) == 0);
    pci_config_write(d, PCI_ROM_ADDRESS, 0xfeb00000, 4);   /* address, not enabled */
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000, 2), 0xffff);
    pci_config_write(d, PCI_ROM_ADDRESS, 0xfeb00001, 4);
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000, 2), 0xaa55);
    uint16_t pcir = (uint16_t)iomap_read(&f.mmio, 0xfeb00018, 2);
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000 + pcir, 4), 0x52494350);    /* "PCIR" */
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000 + pcir + 4, 4), 0x11111234);
    /* Memory decode off: gone; back on: there again. Reset: unmapped. */
    uint32_t cmd = pci_config_read(d, PCI_COMMAND, 2);
    pci_config_write(d, PCI_COMMAND, cmd & ~PCI_CMD_MEM, 2);
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000, 2), 0xffff);
    pci_config_write(d, PCI_COMMAND, cmd, 2);
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000, 2), 0xaa55);
    pci_bus_reset(f.bus);
    CHECK_EQ(iomap_read(&f.mmio, 0xfeb00000, 2), 0xffff);
    vfix_fini(&f);
}

/* Host keys to PS/2: keysyms and HID usages to one key code, then set 1 or
 * set 2 bytes (make/break, the 0xE0 prefix, set 2's 0xF0 break prefix). */
#include "ui/keymap.h"

TEST(keymap_codes)
{
    uint8_t b[6];
    CHECK_EQ(keymap_from_keysym('a'), 0x1e);
    CHECK_EQ(keymap_from_keysym('A'), 0x1e);            /* the client sends Shift */
    CHECK_EQ(keymap_from_keysym('!'), 0x02);
    CHECK_EQ(keymap_from_keysym('$'), 0x05);
    CHECK_EQ(keymap_from_keysym(0xff0d), 0x1c);         /* Return */
    CHECK_EQ(keymap_from_keysym(0xff52), KEY_E0 | 0x48); /* Up */
    CHECK_EQ(keymap_from_keysym(0x20ac), -1);           /* EuroSign: no PC key */
    CHECK_EQ(keymap_from_hid(0x04), 0x1e);              /* HID 'a' */
    CHECK_EQ(keymap_from_hid(0x28), 0x1c);              /* HID Return */
    CHECK_EQ(keymap_from_hid(0x52), KEY_E0 | 0x48);     /* HID Up */
    CHECK_EQ(keymap_from_hid(0xe4), KEY_E0 | 0x1d);     /* HID right Ctrl */
    CHECK_EQ(keymap_from_hid(0x1000), -1);
    CHECK_EQ(keymap_bytes(0x1e, true, 1, b), 1);
    CHECK_EQ(b[0], 0x1e);
    CHECK_EQ(keymap_bytes(0x1e, false, 1, b), 1);
    CHECK_EQ(b[0], 0x9e);
    CHECK_EQ(keymap_bytes(0x1e, true, 2, b), 1);
    CHECK_EQ(b[0], 0x1c);
    CHECK_EQ(keymap_bytes(0x1e, false, 2, b), 2);
    CHECK(b[0] == 0xf0 && b[1] == 0x1c);
    CHECK_EQ(keymap_bytes(KEY_E0 | 0x48, false, 1, b), 2);
    CHECK(b[0] == 0xe0 && b[1] == 0xc8);
    CHECK_EQ(keymap_bytes(KEY_E0 | 0x48, false, 2, b), 3);
    CHECK(b[0] == 0xe0 && b[1] == 0xf0 && b[2] == 0x75);
    CHECK_EQ(keymap_bytes(KEY_E0 | 0x5b, true, 2, b), 2);   /* left Windows */
    CHECK(b[0] == 0xe0 && b[1] == 0x1f);
    CHECK_EQ(keymap_bytes(-1, true, 1, b), 0);
    /* Every printable ASCII character has a key. */
    int missing = 0;
    for (int c = 0x20; c < 0x7f; c++)
        if (keymap_from_keysym((uint32_t)c) <= 0)
            missing++;
    CHECK_EQ(missing, 0);
}
