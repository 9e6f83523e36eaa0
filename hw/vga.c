/* QEMU's standard VGA ("-vga std", PCI 1234:1111): a VGA register model, the
 * 128 KiB legacy window at 0xa0000, the Bochs VBE/DISPI extension and a
 * linear framebuffer, and a renderer to an XRGB8888 surface.
 *
 * References: IBM VGA Technical Reference (register meanings, write/read
 * modes, the mode 3 register table); FreeVGA's register pages; the Bochs
 * VBE/DISPI interface as Bochs, QEMU (hw/display/vga.c, read for behaviour
 * only) and Linux's bochs-drm use it; QEMU's stdvga PCI layout: BAR0 the
 * framebuffer (prefetchable), BAR2 4 KiB of MMIO with the VGA ports at
 * 0x400-0x41f, the DISPI registers at 0x500-0x515 (16 bits each) and QEMU's
 * extended registers at 0x600 (size, framebuffer endianness).
 *
 * Video memory is one array of VGA_VRAM_SIZE bytes. The four planes are
 * interleaved: byte p of planar address a is vram[a * 4 + p]. That makes a
 * chain-4 (mode 13h) address and a VBE linear offset the same index, and a
 * text cell at planar address a is vram[a*4] (character), vram[a*4+1]
 * (attribute), with the font in plane 2 (vram[(font + ch*32 + row)*4 + 2]).
 *
 * Every write to video memory marks its 4 KiB page in a dirty bitmap; every
 * register write that changes what is shown forces a full redraw. The
 * renderer redraws only scanlines whose pages are dirty (graphics modes) or
 * cells whose character/attribute changed (text modes). Nothing renders
 * unless a display asks (vga_update): with no display the cost is the
 * bitmap update on writes.
 *
 * The legacy window is MMIO (its planar logic needs the handlers). The
 * linear framebuffer (BAR0) is RAM-like (struct ram_backing): the software
 * CPU's TLB maps it and writes it at RAM speed (accel/tcg_ram.c), KVM maps
 * it as a memory slot with KVM_MEM_LOG_DIRTY_PAGES; lfb_read/lfb_write are
 * only the slow path. The dirty bitmap is the backing's, shared with
 * those engines; vga_update collects it through the board (vga_set_dirty_sync)
 * with what the engine saw written. */
#include "hw/vga.h"
#include "hw/pci.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_BITS 12
#define NPAGES (VGA_VRAM_SIZE >> PAGE_BITS)
#define BAR2_SIZE 0x1000

enum vga_kind { KIND_OFF, KIND_TEXT, KIND_PLANAR, KIND_256, KIND_VBE };

struct vga {
    struct pci_device pci;
    bool has_pci;
    struct iomap *pio, *mmio;
    uint8_t *vram;
    _Atomic uint64_t dirty[NPAGES / 64];    /* pages written (rb.dirty) */
    struct ram_backing rb;                  /* vram as BAR0's RAM */
    uint64_t snap[NPAGES / 64];             /* the pages this update redraws */
    void (*sync)(void *opaque, struct ram_backing *rb, uint64_t *out);
    void *sync_opaque;
    bool full;                  /* registers changed: redraw everything */
    bool font_dirty;

    /* Legacy registers. */
    uint8_t misc, seq_idx, seq[8], gr_idx, gr[16], crtc_idx, crtc[32];
    uint8_t ar_idx, ar[21];
    bool ar_flip;               /* false: next 0x3c0 write is the index */
    uint8_t pel_mask, dac_read, dac_write, dac_sub, dac_state, dac_latch[3];
    uint8_t palette[768];
    uint8_t st1_toggle;
    uint32_t latch;
    uint8_t fcr;

    /* Bochs DISPI. */
    uint16_t vbe_idx, vbe[VBE_DISPI_NUM_REGS];

    /* Renderer. */
    struct vga_surface surf;
    size_t surf_cap;
    enum vga_kind kind;
    int cols, rows, cw, ch;     /* text geometry */
    uint32_t *cells;            /* last drawn char|attr<<8 per text cell */
    size_t ncells;
    int cur_drawn;              /* cell where the cursor was drawn, -1 none */
    char mode_name[40];
    unsigned long updates;      /* vga_update calls */
    uint8_t font_default[4096];

    /* The expansion ROM BAR (PCI 3.0 §6.2.5.2): the VGA BIOS image, for
     * firmware (SeaBIOS) to find, copy to 0xc0000 and run. */
    uint8_t *rom;
    uint32_t rom_size;          /* power of two, 0: no ROM */
    bool rom_mapped;
    uint64_t rom_base;
};

/* The register values of VGA mode 3 (80x25 text, 9x16 cells, 720x400), as
 * in the IBM VGA technical reference's video parameter table. */
static const uint8_t mode3_seq[5] = {0x03, 0x00, 0x03, 0x00, 0x02};
static const uint8_t mode3_crtc[25] = {
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00,
    0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff};
static const uint8_t mode3_gr[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff};
static const uint8_t mode3_ar[21] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
    0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00};

static inline void mark_dirty(struct vga *v, uint32_t off)
{
    ram_backing_mark(&v->rb, off);
}

bool vga_page_dirty(const struct vga *v, uint32_t off)
{
    if (off >= VGA_VRAM_SIZE)
        return false;
    return ram_backing_test(&v->rb, off >> PAGE_BITS);
}

void vga_set_dirty_sync(struct vga *v, void (*fn)(void *opaque, struct ram_backing *rb, uint64_t *out),
                        void *opaque)
{
    v->sync = fn;
    v->sync_opaque = opaque;
}

static bool range_dirty(const struct vga *v, uint32_t start, uint32_t end)
{
    if (end > VGA_VRAM_SIZE)
        end = VGA_VRAM_SIZE;
    for (uint32_t pg = start >> PAGE_BITS; pg <= (end - 1) >> PAGE_BITS && start < end; pg++)
        if ((v->snap[pg >> 6] >> (pg & 63)) & 1)
            return true;
    return false;
}

/* The pages to redraw: the bits writers set, plus (through the board)
 * what the engine wrote behind the handlers. */
static void take_dirty(struct vga *v)
{
    memset(v->snap, 0, sizeof(v->snap));
    if (v->sync) {
        v->sync(v->sync_opaque, &v->rb, v->snap);
        return;
    }
    for (size_t i = 0; i < NPAGES / 64; i++)
        v->snap[i] = atomic_exchange_explicit(&v->dirty[i], 0, memory_order_relaxed);
}

/* ---- the post-BIOS state: mode 3 with the BIOS font ---- */

/* The 64-colour EGA palette a VGA BIOS loads for the text modes: DAC entry
 * i has red from bits 2 (2/3) and 5 (1/3), green 1 and 4, blue 0 and 3. */
static void load_ega_palette(struct vga *v)
{
    memset(v->palette, 0, sizeof(v->palette));
    for (int i = 0; i < 64; i++) {
        v->palette[i * 3 + 0] = (uint8_t)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
        v->palette[i * 3 + 1] = (uint8_t)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
        v->palette[i * 3 + 2] = (uint8_t)(((i >> 0) & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
    }
}

void vga_reset(struct vga *v)
{
    memset(v->seq, 0, sizeof(v->seq));
    memset(v->gr, 0, sizeof(v->gr));
    memset(v->crtc, 0, sizeof(v->crtc));
    memcpy(v->seq, mode3_seq, sizeof(mode3_seq));
    memcpy(v->crtc, mode3_crtc, sizeof(mode3_crtc));
    memcpy(v->gr, mode3_gr, sizeof(mode3_gr));
    memcpy(v->ar, mode3_ar, sizeof(mode3_ar));
    v->misc = 0x67;
    v->seq_idx = v->gr_idx = v->crtc_idx = 0;
    v->ar_idx = 0x20;               /* PAS set: the screen shows */
    v->ar_flip = false;
    v->pel_mask = 0xff;
    v->dac_read = v->dac_write = v->dac_sub = 0;
    v->dac_state = 0;
    v->latch = 0;
    v->fcr = 0;
    load_ega_palette(v);
    memset(v->vbe, 0, sizeof(v->vbe));
    v->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    v->vbe[VBE_DISPI_INDEX_VIDEO_MEM_64K] = (uint16_t)(VGA_VRAM_SIZE >> 16);
    v->vbe_idx = 0;
    /* Plane 0/1: a blank screen (space, light grey on black); plane 2:
     * the font in map 0, as the BIOS leaves them after INT 10h AH=0 AL=3. */
    memset(v->vram, 0, 0x40000);
    for (uint32_t a = 0; a < 0x8000; a++) {
        v->vram[a * 4] = ' ';
        v->vram[a * 4 + 1] = 0x07;
    }
    for (uint32_t c = 0; c < 256; c++)
        for (uint32_t r = 0; r < 16; r++)
            v->vram[(c * 32 + r) * 4 + 2] = v->font_default[c * 16 + r];
    for (size_t i = 0; i < NPAGES / 64; i++)
        atomic_store_explicit(&v->dirty[i], ~0ULL, memory_order_relaxed);
    v->full = v->font_dirty = true;
}

/* ---- legacy memory window ---- */

static const uint32_t expand4[16] = {
    0x00000000, 0x000000ff, 0x0000ff00, 0x0000ffff, 0x00ff0000, 0x00ff00ff, 0x00ffff00, 0x00ffffff,
    0xff000000, 0xff0000ff, 0xff00ff00, 0xff00ffff, 0xffff0000, 0xffff00ff, 0xffffff00, 0xffffffff,
};

/* Window offset → offset inside the selected memory map (GR6 bits 3:2), or
 * false when the address is outside it. */
static bool legacy_map(const struct vga *v, uint32_t *a)
{
    switch ((v->gr[6] >> 2) & 3) {
    case 0: return true;
    case 1: return *a < 0x10000;
    case 2: if (*a < 0x10000 || *a >= 0x18000) return false; *a -= 0x10000; return true;
    default: if (*a < 0x18000) return false; *a -= 0x18000; return true;
    }
}

static bool vbe_on(const struct vga *v)
{
    return v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

static uint8_t legacy_readb(struct vga *v, uint32_t a)
{
    if (vbe_on(v)) {        /* banked framebuffer: 64 KiB at 0xa0000 */
        if (a >= 0x10000)
            return 0xff;
        uint64_t off = (uint64_t)v->vbe[VBE_DISPI_INDEX_BANK] * 0x10000 + a;
        return off < VGA_VRAM_SIZE ? v->vram[off] : 0xff;
    }
    if (!legacy_map(v, &a))
        return 0xff;
    if (v->seq[4] & 0x08)                       /* chain 4 */
        return v->vram[a];
    if (v->gr[5] & 0x10) {                      /* odd/even */
        uint32_t plane = (v->gr[4] & 2) | (a & 1);
        return v->vram[((a >> 1) << 2) | plane];
    }
    /* Planar: the read loads all four latches (IBM VGA, "Read Modes"). */
    if (a >= 0x10000)
        return 0xff;
    memcpy(&v->latch, &v->vram[a << 2], 4);
    if (!(v->gr[5] & 0x08))                     /* read mode 0 */
        return (uint8_t)(v->latch >> ((v->gr[4] & 3) * 8));
    /* Read mode 1: colour compare over the planes Color Don't Care keeps. */
    uint32_t d = (v->latch ^ expand4[v->gr[2] & 0xf]) & expand4[v->gr[7] & 0xf];
    uint8_t r = (uint8_t)(d | d >> 8 | d >> 16 | d >> 24);
    return (uint8_t)~r;
}

static void legacy_writeb(struct vga *v, uint32_t a, uint8_t val)
{
    if (vbe_on(v)) {
        if (a >= 0x10000)
            return;
        uint64_t off = (uint64_t)v->vbe[VBE_DISPI_INDEX_BANK] * 0x10000 + a;
        if (off < VGA_VRAM_SIZE) {
            v->vram[off] = val;
            mark_dirty(v, (uint32_t)off);
        }
        return;
    }
    if (!legacy_map(v, &a))
        return;
    if (v->seq[4] & 0x08) {                     /* chain 4: plane = a & 3 */
        if (v->seq[2] & (1u << (a & 3))) {
            v->vram[a] = val;
            mark_dirty(v, a);
            if ((a & 3) == 2)
                v->font_dirty = true;
        }
        return;
    }
    if (!(v->seq[4] & 0x04)) {                  /* odd/even */
        uint32_t plane = (v->gr[4] & 2) | (a & 1);
        if (v->seq[2] & (1u << plane)) {
            uint32_t off = ((a >> 1) << 2) | plane;
            v->vram[off] = val;
            mark_dirty(v, off);
            if (plane == 2)
                v->font_dirty = true;
        }
        return;
    }
    if (a >= 0x10000)
        return;
    /* Planar write: write mode, rotate, set/reset, logical op, bit mask
     * (IBM VGA, "Write Modes"). */
    uint32_t data, mask = v->gr[8];
    uint8_t rot = v->gr[3] & 7;
    uint8_t b = (uint8_t)((val >> rot) | (val << ((8 - rot) & 7)));
    switch (v->gr[5] & 3) {
    case 0: {
        uint32_t sr = expand4[v->gr[1] & 0xf];
        data = (b * 0x01010101u & ~sr) | (expand4[v->gr[0] & 0xf] & sr);
        break;
    }
    case 1:
        data = v->latch;
        mask = 0xff;
        goto write;
    case 2:
        data = expand4[val & 0xf];
        break;
    default:
        mask &= b;
        data = expand4[v->gr[0] & 0xf];
        break;
    }
    switch ((v->gr[3] >> 3) & 3) {
    case 1: data &= v->latch; break;
    case 2: data |= v->latch; break;
    case 3: data ^= v->latch; break;
    }
    mask *= 0x01010101u;
    data = (data & mask) | (v->latch & ~mask);
write:;
    uint32_t pm = expand4[v->seq[2] & 0xf];
    uint32_t old;
    memcpy(&old, &v->vram[a << 2], 4);
    old = (old & ~pm) | (data & pm);
    memcpy(&v->vram[a << 2], &old, 4);
    mark_dirty(v, a << 2);
    if (v->seq[2] & 4)
        v->font_dirty = true;
}

static uint64_t legacy_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    uint64_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= (uint64_t)legacy_readb(v, (uint32_t)(addr + i)) << (8 * i);
    return r;
}

static void legacy_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    for (unsigned i = 0; i < size; i++)
        legacy_writeb(v, (uint32_t)(addr + i), (uint8_t)(val >> (8 * i)));
}

/* ---- linear framebuffer (BAR0) ---- */

static uint64_t lfb_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    uint64_t r = 0;
    if (addr + size > VGA_VRAM_SIZE)
        return ~0ULL;
    memcpy(&r, &v->vram[addr], size);
    return r;
}

static void lfb_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    if (addr + size > VGA_VRAM_SIZE)
        return;
    memcpy(&v->vram[addr], &val, size);
    mark_dirty(v, (uint32_t)addr);
    mark_dirty(v, (uint32_t)(addr + size - 1));
}

/* ---- registers ---- */

static bool crtc_mono(const struct vga *v) { return !(v->misc & 1); }

/* port: the I/O port, 0x3b0-0x3df (through BAR2, 0x3c0-0x3df). */
static uint8_t vga_port_read(struct vga *v, uint32_t port)
{
    switch (port) {
    case 0x3c0: return v->ar_idx;
    case 0x3c1: return (v->ar_idx & 0x1f) < 21 ? v->ar[v->ar_idx & 0x1f] : 0;
    case 0x3c2: return 0;           /* input status 0: no switch sense */
    case 0x3c4: return v->seq_idx;
    case 0x3c5: return v->seq_idx < 5 ? v->seq[v->seq_idx] : 0;
    case 0x3c6: return v->pel_mask;
    case 0x3c7: return v->dac_state;
    case 0x3c8: return v->dac_write;
    case 0x3c9: {
        uint8_t r = v->palette[v->dac_read * 3 + v->dac_sub];
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_read++;
        }
        return r;
    }
    case 0x3ca: return v->fcr;
    case 0x3cc: return v->misc;
    case 0x3ce: return v->gr_idx;
    case 0x3cf: return v->gr_idx < 9 ? v->gr[v->gr_idx] : 0;
    case 0x3b4: case 0x3d4:
        return (crtc_mono(v) == (port == 0x3b4)) ? v->crtc_idx : 0xff;
    case 0x3b5: case 0x3d5:
        if (crtc_mono(v) != (port == 0x3b5))
            return 0xff;
        return v->crtc_idx < 25 ? v->crtc[v->crtc_idx] : 0;
    case 0x3ba: case 0x3da:
        if (crtc_mono(v) != (port == 0x3ba))
            return 0xff;
        /* Input status 1: resets the attribute flip-flop. Retrace and
         * display-enable toggle on every read so polling loops (waiting for
         * vertical retrace) end; there is no beam to follow. */
        v->ar_flip = false;
        v->st1_toggle ^= 0x09;
        return v->st1_toggle;
    default:
        return 0xff;
    }
}

static void vga_port_write(struct vga *v, uint32_t port, uint8_t val)
{
    switch (port) {
    case 0x3c0:
        if (!v->ar_flip) {
            if ((v->ar_idx ^ val) & 0x20)
                v->full = true;
            v->ar_idx = val & 0x3f;
        } else {
            uint8_t i = v->ar_idx & 0x1f;
            if (i < 21) {
                v->ar[i] = i < 16 ? (val & 0x3f) : val;
                v->full = true;
            }
        }
        v->ar_flip = !v->ar_flip;
        return;
    case 0x3c2: v->misc = val; v->full = true; return;
    case 0x3c4: v->seq_idx = val & 7; return;
    case 0x3c5:
        if (v->seq_idx < 5) {
            v->seq[v->seq_idx] = val;
            v->full = true;
            if (v->seq_idx == 3)
                v->font_dirty = true;
        }
        return;
    case 0x3c6: v->pel_mask = val; v->full = true; return;
    case 0x3c7: v->dac_read = val; v->dac_sub = 0; v->dac_state = 0; return;
    case 0x3c8: v->dac_write = val; v->dac_sub = 0; v->dac_state = 3; return;
    case 0x3c9:
        v->dac_latch[v->dac_sub++] = val;
        if (v->dac_sub == 3) {
            memcpy(&v->palette[v->dac_write * 3], v->dac_latch, 3);
            v->dac_write++;
            v->dac_sub = 0;
            v->full = true;
        }
        return;
    case 0x3ce: v->gr_idx = val & 0xf; return;
    case 0x3cf:
        if (v->gr_idx < 9) {
            v->gr[v->gr_idx] = val;
            v->full = true;
        }
        return;
    case 0x3b4: case 0x3d4:
        if (crtc_mono(v) == (port == 0x3b4))
            v->crtc_idx = val & 0x1f;
        return;
    case 0x3b5: case 0x3d5:
        if (crtc_mono(v) != (port == 0x3b5) || v->crtc_idx >= 25)
            return;
        /* CR11 bit 7 protects CR0-CR7, except CR7's line compare bit 4. */
        if ((v->crtc[0x11] & 0x80) && v->crtc_idx <= 7) {
            if (v->crtc_idx == 7)
                v->crtc[7] = (uint8_t)((v->crtc[7] & ~0x10) | (val & 0x10));
            return;
        }
        v->crtc[v->crtc_idx] = val;
        v->full = true;
        return;
    case 0x3ba: case 0x3da:
        if (crtc_mono(v) == (port == 0x3ba))
            v->fcr = val & 0x0b;
        return;
    default:
        return;
    }
}

static uint64_t ports_read(void *opaque, uint64_t addr, unsigned size)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= (uint64_t)vga_port_read(opaque, (uint32_t)(0x3b0 + addr + i)) << (8 * i);
    return r;
}

/* A 16-bit OUT to an index port writes index then data (port+1). */
static void ports_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        vga_port_write(opaque, (uint32_t)(0x3b0 + addr + i), (uint8_t)(val >> (8 * i)));
}

/* ---- Bochs VBE/DISPI ---- */

static uint32_t vbe_bytespp(unsigned bpp) { return (bpp + 7) / 8; }

static uint16_t vbe_read_reg(struct vga *v, unsigned idx)
{
    if (idx >= VBE_DISPI_NUM_REGS)
        return 0;
    if (v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
        switch (idx) {
        case VBE_DISPI_INDEX_XRES: return VGA_MAX_WIDTH;
        case VBE_DISPI_INDEX_YRES: return VGA_MAX_HEIGHT;
        case VBE_DISPI_INDEX_BPP:  return 32;
        }
    }
    return v->vbe[idx];
}

/* Recomputes the virtual height after a geometry change, as the bochs
 * interface defines it: as many lines as video memory holds. */
static void vbe_fix_virtual(struct vga *v)
{
    uint16_t *r = v->vbe;
    uint32_t bpp = vbe_bytespp(r[VBE_DISPI_INDEX_BPP] ? r[VBE_DISPI_INDEX_BPP] : 8);
    if (r[VBE_DISPI_INDEX_VIRT_WIDTH] < r[VBE_DISPI_INDEX_XRES])
        r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES];
    uint32_t line = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bpp;
    uint32_t vh = line ? VGA_VRAM_SIZE / line : 0;
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)(vh > 0xffff ? 0xffff : vh);
}

static void vbe_write_reg(struct vga *v, unsigned idx, uint16_t val)
{
    uint16_t *r = v->vbe;
    v->full = true;
    switch (idx) {
    case VBE_DISPI_INDEX_ID:
        if (val >= 0xb0c0 && val <= VBE_DISPI_ID5)
            r[idx] = val;
        return;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
        /* Geometry changes only while disabled, as in Bochs. */
        if (r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED)
            return;
        if (idx == VBE_DISPI_INDEX_XRES && (val == 0 || val > VGA_MAX_WIDTH || (val & 7)))
            return;
        if (idx == VBE_DISPI_INDEX_YRES && (val == 0 || val > VGA_MAX_HEIGHT))
            return;
        if (idx == VBE_DISPI_INDEX_BPP) {
            if (val == 0)
                val = 8;
            if (val != 8 && val != 15 && val != 16 && val != 24 && val != 32)
                return;
        }
        r[idx] = val;
        if (idx == VBE_DISPI_INDEX_XRES)
            r[VBE_DISPI_INDEX_VIRT_WIDTH] = val;
        vbe_fix_virtual(v);
        return;
    case VBE_DISPI_INDEX_BANK:
        if ((uint32_t)val * 0x10000 < VGA_VRAM_SIZE)
            r[idx] = val;
        return;
    case VBE_DISPI_INDEX_ENABLE: {
        bool was = r[idx] & VBE_DISPI_ENABLED;
        if ((val & VBE_DISPI_ENABLED) && !was) {
            if (!r[VBE_DISPI_INDEX_XRES] || !r[VBE_DISPI_INDEX_YRES])
                return;             /* nothing to show: stay in VGA mode */
            if (!r[VBE_DISPI_INDEX_BPP])
                r[VBE_DISPI_INDEX_BPP] = 8;
            vbe_fix_virtual(v);
            r[VBE_DISPI_INDEX_X_OFFSET] = r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
            r[VBE_DISPI_INDEX_BANK] = 0;
            if (!(val & VBE_DISPI_NOCLEARMEM)) {
                uint64_t sz = (uint64_t)r[VBE_DISPI_INDEX_YRES] * r[VBE_DISPI_INDEX_XRES] *
                              vbe_bytespp(r[VBE_DISPI_INDEX_BPP]);
                memset(v->vram, 0, sz < VGA_VRAM_SIZE ? sz : VGA_VRAM_SIZE);
            }
        }
        r[idx] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC |
                        VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
        return;
    }
    case VBE_DISPI_INDEX_VIRT_WIDTH: {
        uint32_t bpp = vbe_bytespp(r[VBE_DISPI_INDEX_BPP] ? r[VBE_DISPI_INDEX_BPP] : 8);
        if (val < r[VBE_DISPI_INDEX_XRES] || (uint64_t)val * bpp * r[VBE_DISPI_INDEX_YRES] > VGA_VRAM_SIZE)
            return;
        r[idx] = val;
        vbe_fix_virtual(v);
        return;
    }
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        r[idx] = val;
        return;
    default:
        return;                     /* VIRT_HEIGHT, VIDEO_MEM_64K: read-only */
    }
}

static uint64_t vbe_port_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    if (addr == 0)
        return size == 1 ? (v->vbe_idx & 0xff) : v->vbe_idx;
    if (addr == 1 && size >= 2)
        return vbe_read_reg(v, v->vbe_idx);
    return size == 1 ? (vbe_read_reg(v, v->vbe_idx) >> (addr == 2 ? 0 : 8)) & 0xff : 0xffff;
}

static void vbe_port_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    if (addr == 0 && size >= 2)
        v->vbe_idx = (uint16_t)val;
    else if (addr == 0)
        v->vbe_idx = (uint16_t)((v->vbe_idx & 0xff00) | (val & 0xff));
    else if (addr == 1 && size >= 2)
        vbe_write_reg(v, v->vbe_idx, (uint16_t)val);
}

/* ---- BAR2: the MMIO register window ---- */

static uint64_t bar2_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    if (addr >= 0x400 && addr + size <= 0x420)
        return ports_read(v, addr - 0x400 + 0x10, size);
    if (addr >= 0x500 && addr + size <= 0x500 + 2 * VBE_DISPI_NUM_REGS) {
        unsigned idx = (unsigned)(addr - 0x500) >> 1;
        uint16_t r = vbe_read_reg(v, idx);
        return size == 1 ? (r >> ((addr & 1) * 8)) & 0xff
                         : (r | (size >= 4 ? (uint32_t)vbe_read_reg(v, idx + 1) << 16 : 0));
    }
    if (addr == 0x600 && size == 4)
        return 8;                   /* QEMU extended registers: their size */
    if (addr == 0x604 && size == 4)
        return 0x1e1e1e1e;          /* framebuffer is little-endian */
    return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void bar2_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    if (addr >= 0x400 && addr + size <= 0x420) {
        ports_write(v, addr - 0x400 + 0x10, val, size);
        return;
    }
    if (addr >= 0x500 && addr + size <= 0x500 + 2 * VBE_DISPI_NUM_REGS && size >= 2 && !(addr & 1)) {
        unsigned idx = (unsigned)(addr - 0x500) >> 1;
        vbe_write_reg(v, idx, (uint16_t)val);
        if (size >= 4)
            vbe_write_reg(v, idx + 1, (uint16_t)(val >> 16));
    }
}

/* ---- fonts from the VGA BIOS ---- */

/* 'A' and the full block in the IBM 8x16 and 8x8 fonts: shapes every
 * compatible VGA BIOS font reproduces; used to locate the tables. */
static const uint8_t glyph16_A[16] = {0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
                                      0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00};
static const uint8_t glyph8_A[8] = {0x30, 0x78, 0xcc, 0xcc, 0xfc, 0xcc, 0xcc, 0x00};

static const uint8_t *find_font(const uint8_t *rom, size_t len, const uint8_t *a, size_t h)
{
    for (size_t i = 0x41 * h; i + h <= len; i++) {
        if (memcmp(rom + i, a, h) != 0)
            continue;
        const uint8_t *f = rom + i - 0x41 * h;
        if (f + 256 * h > rom + len)
            continue;
        bool ok = true;
        for (size_t r = 0; r < h; r++)      /* glyph 0 blank, 0xdb a full block */
            if (f[r] != 0 || f[0xdb * h + r] != 0xff)
                ok = false;
        if (ok)
            return f;
    }
    return NULL;
}

int vga_find_fonts(const uint8_t *rom, size_t len, const uint8_t **font16, const uint8_t **font8)
{
    const uint8_t *f16 = rom ? find_font(rom, len, glyph16_A, 16) : NULL;
    const uint8_t *f8 = rom ? find_font(rom, len, glyph8_A, 8) : NULL;
    if (font16) *font16 = f16;
    if (font8) *font8 = f8;
    return f16 ? 0 : -1;
}

uint8_t *vga_load_bios(size_t *len, const char **path)
{
    const char *cand[] = {getenv("TREMU_VGABIOS"), "/usr/share/seabios/vgabios-stdvga.bin",
                          "/usr/share/qemu/vgabios-stdvga.bin"};
    for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
        if (!cand[i] || !*cand[i])
            continue;
        FILE *f = fopen(cand[i], "rb");
        if (!f)
            continue;
        uint8_t *buf = malloc(256 << 10);
        size_t n = buf ? fread(buf, 1, 256 << 10, f) : 0;
        fclose(f);
        if (n < 512 || buf[0] != 0x55 || buf[1] != 0xaa) {
            free(buf);
            continue;
        }
        *len = n;
        if (path)
            *path = cand[i];
        return buf;
    }
    return NULL;
}

void vga_fill_screen_info(uint8_t *zp)
{
    /* struct screen_info (Linux include/uapi/linux/screen_info.h). */
    zp[0x00] = 0;           /* orig_x */
    zp[0x01] = 0;           /* orig_y */
    zp[0x04] = zp[0x05] = 0; /* orig_video_page */
    zp[0x06] = 3;           /* orig_video_mode */
    zp[0x07] = 80;          /* orig_video_cols */
    zp[0x0a] = zp[0x0b] = 0; /* orig_video_ega_bx: low byte != 0x10 means EGA/VGA */
    zp[0x0e] = 25;          /* orig_video_lines */
    zp[0x0f] = 1;           /* orig_video_isVGA */
    zp[0x10] = 16;          /* orig_video_points */
    zp[0x11] = 0;
}

/* ---- PCI ---- */

static uint64_t rom_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    uint64_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= (uint64_t)(addr + i < v->rom_size ? v->rom[addr + i] : 0xff) << (8 * i);
    return r;
}

static void rom_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
}

/* Maps the ROM where the guest put it while both the ROM BAR's enable bit
 * and memory decode are on (the generic BAR code does not know BAR 0x30). */
static void rom_update(struct vga *v)
{
    if (!v->rom_size || !v->has_pci)
        return;
    uint32_t bar = le_ld32(&v->pci.config[PCI_ROM_ADDRESS]);
    uint64_t base = bar & ~(uint32_t)(v->rom_size - 1) & ~1u;
    bool on = (bar & 1) && (le_ld16(&v->pci.config[PCI_COMMAND]) & PCI_CMD_MEM) && base != 0 &&
              base + v->rom_size - 1 < 0xffffffffULL;
    if (v->rom_mapped && (!on || base != v->rom_base)) {
        iomap_unregister(v->mmio, v->rom_base);
        v->rom_mapped = false;
    }
    if (on && !v->rom_mapped &&
        iomap_register(v->mmio, base, v->rom_size, rom_read, rom_write, v, "vga-rom") == 0) {
        v->rom_mapped = true;
        v->rom_base = base;
    }
}

static void vga_pci_config_write(struct pci_device *d, uint32_t off, uint32_t val, unsigned size)
{
    if ((off < PCI_ROM_ADDRESS + 4 && off + size > PCI_ROM_ADDRESS) ||
        (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND))
        rom_update(d->opaque);
}

static void vga_pci_reset(struct pci_device *d)
{
    vga_reset(d->opaque);
    rom_update(d->opaque);
}

struct vga *vga_create(struct iomap *pio, struct iomap *mmio, struct pci_bus *bus, int slot,
                       const uint8_t *rom, size_t rom_len)
{
    struct vga *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    /* Page-aligned and zeroed: engines map it as guest memory. */
    v->vram = mmap(NULL, VGA_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v->vram == MAP_FAILED) {
        free(v);
        return NULL;
    }
    v->rb = (struct ram_backing){v->vram, VGA_VRAM_SIZE, v->dirty};
    v->pio = pio;
    v->mmio = mmio;
    v->cur_drawn = -1;
    const uint8_t *f16 = NULL;
    if (vga_find_fonts(rom, rom_len, &f16, NULL) == 0)
        memcpy(v->font_default, f16, sizeof(v->font_default));
    vga_reset(v);
    if (iomap_register(pio, 0x3b0, 0x30, ports_read, ports_write, v, "vga") < 0 ||
        iomap_register(pio, 0x1ce, 2, vbe_port_read, vbe_port_write, v, "vga-vbe") < 0 ||
        iomap_register(mmio, VGA_LEGACY_BASE, VGA_LEGACY_SIZE, legacy_read, legacy_write, v,
                       "vga-lowmem") < 0) {
        vga_free(v);
        return NULL;
    }
    if (bus) {
        pci_device_init(&v->pci, "vga", 0x1234, 0x1111, 0x02, 0x030000, 0x1af4, 0x1100, 0);
        v->pci.opaque = v;
        v->pci.reset = vga_pci_reset;
        v->pci.config_write = vga_pci_config_write;
        if (rom && rom_len >= 512 && rom_len <= (1u << 20)) {
            uint32_t sz = 2048;             /* the smallest ROM BAR */
            while (sz < rom_len)
                sz <<= 1;
            v->rom = malloc(sz);
            if (v->rom) {
                memset(v->rom, 0, sz);
                memcpy(v->rom, rom, rom_len);
                v->rom_size = sz;
                uint32_t mask = ~(sz - 1) | 1u;     /* address bits and enable */
                le_st32(&v->pci.wmask[PCI_ROM_ADDRESS], mask);
            }
        }
        if (pci_device_set_bar(&v->pci, 0, PCI_BAR_MEM32, VGA_VRAM_SIZE, lfb_read, lfb_write, v) < 0 ||
            pci_device_set_bar_ram(&v->pci, 0, &v->rb) < 0 ||
            pci_device_set_bar(&v->pci, 2, PCI_BAR_MEM32, BAR2_SIZE, bar2_read, bar2_write, v) < 0) {
            vga_free(v);
            return NULL;
        }
        if (pci_device_register(bus, &v->pci, slot, 0) < 0) {
            vga_free(v);
            return NULL;
        }
        v->has_pci = true;
        /* The framebuffer is prefetchable memory, as on QEMU's stdvga. */
        v->pci.config[PCI_BAR0] |= 0x08;
        v->pci.reset_config[PCI_BAR0] |= 0x08;
    }
    return v;
}

void vga_free(struct vga *v)
{
    if (!v)
        return;
    if (v->rom_mapped)
        iomap_unregister(v->mmio, v->rom_base);
    if (v->has_pci)
        pci_device_unregister(&v->pci);
    free(v->rom);
    const struct io_region *r;
    if ((r = iomap_find(v->pio, 0x3b0)) && r->opaque == v)
        iomap_unregister(v->pio, 0x3b0);
    if ((r = iomap_find(v->pio, 0x1ce)) && r->opaque == v)
        iomap_unregister(v->pio, 0x1ce);
    if ((r = iomap_find(v->mmio, VGA_LEGACY_BASE)) && r->opaque == v)
        iomap_unregister(v->mmio, VGA_LEGACY_BASE);
    munmap(v->vram, VGA_VRAM_SIZE);
    free(v->surf.pixels);
    free(v->cells);
    free(v);
}

/* ---- renderer ---- */

static inline uint32_t dac_rgb(const struct vga *v, uint8_t idx)
{
    idx &= v->pel_mask;
    const uint8_t *p = &v->palette[idx * 3];
    if (vbe_on(v) && (v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC))
        return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    uint32_t r = p[0] & 0x3f, g = p[1] & 0x3f, b = p[2] & 0x3f;
    return (r << 2 | r >> 4) << 16 | (g << 2 | g >> 4) << 8 | (b << 2 | b >> 4);
}

/* Attribute controller colour (0-15) → DAC index (AR10 bit 7, AR14). */
static inline uint8_t ar_color(const struct vga *v, uint8_t c)
{
    uint8_t p = v->ar[c & 0xf];
    if (v->ar[0x10] & 0x80)
        p = (uint8_t)((p & 0x0f) | ((v->ar[0x14] & 3) << 4));
    else
        p &= 0x3f;
    return (uint8_t)(p | ((v->ar[0x14] & 0x0c) << 4));
}

static bool surface_size(struct vga *v, int w, int h)
{
    bool resized = v->surf.width != w || v->surf.height != h;
    size_t need = (size_t)w * h;
    if (need > v->surf_cap) {
        uint32_t *p = realloc(v->surf.pixels, need * 4);
        if (!p)
            return false;
        v->surf.pixels = p;
        v->surf_cap = need;
    }
    if (resized) {
        v->surf.width = w;
        v->surf.height = h;
        memset(v->surf.pixels, 0, need * 4);
        v->full = true;
    }
    return resized;
}

static void bbox_add(struct vga_rect *b, int x, int y, int w, int h)
{
    if (b->w == 0) {
        *b = (struct vga_rect){x, y, w, h};
        return;
    }
    int x2 = b->x + b->w > x + w ? b->x + b->w : x + w;
    int y2 = b->y + b->h > y + h ? b->y + b->h : y + h;
    b->x = b->x < x ? b->x : x;
    b->y = b->y < y ? b->y : y;
    b->w = x2 - b->x;
    b->h = y2 - b->y;
}

static int vde(const struct vga *v)
{
    return (v->crtc[0x12] | ((v->crtc[7] & 0x02) << 7) | ((v->crtc[7] & 0x40) << 3)) + 1;
}

static enum vga_kind current_kind(struct vga *v, int *w, int *h)
{
    if (vbe_on(v)) {
        *w = v->vbe[VBE_DISPI_INDEX_XRES];
        *h = v->vbe[VBE_DISPI_INDEX_YRES];
        return KIND_VBE;
    }
    /* Screen off (SR1 bit 5) or palette owned by the CPU (PAS clear). */
    if ((v->seq[1] & 0x20) || !(v->ar_idx & 0x20))
        return KIND_OFF;
    int chars = v->crtc[1] + 1;
    int lines = vde(v);
    if (!(v->gr[6] & 1)) {
        int cw = (v->seq[1] & 1) ? 8 : 9, ch = (v->crtc[9] & 0x1f) + 1;
        *w = chars * cw;
        *h = lines;
        if (*h > VGA_MAX_HEIGHT || *w > VGA_MAX_WIDTH || lines < ch)
            return KIND_OFF;
        return KIND_TEXT;
    }
    int dots = chars * 8;
    if (v->seq[1] & 0x08)
        dots /= 2;
    if (v->crtc[9] & 0x80)
        lines /= 2;
    lines /= (v->crtc[9] & 0x1f) + 1;
    bool c256 = v->gr[5] & 0x40;
    *w = c256 ? dots / 2 : dots;
    *h = lines;
    if (*w <= 0 || *h <= 0)
        return KIND_OFF;
    return c256 ? KIND_256 : KIND_PLANAR;
}

static void render_text(struct vga *v, struct vga_rect *bb)
{
    int cw = (v->seq[1] & 1) ? 8 : 9, ch = (v->crtc[9] & 0x1f) + 1;
    int cols = v->crtc[1] + 1, rows = vde(v) / ch;
    if (cols != v->cols || rows != v->rows || cw != v->cw || ch != v->ch) {
        v->cols = cols; v->rows = rows; v->cw = cw; v->ch = ch;
        v->full = true;
    }
    size_t n = (size_t)cols * rows;
    if (n > v->ncells) {
        uint32_t *c = realloc(v->cells, n * 4);
        if (!c)
            return;
        v->cells = c;
        v->ncells = n;
    }
    if (v->full || v->font_dirty)
        memset(v->cells, 0xff, n * 4);
    uint32_t start = (uint32_t)(v->crtc[0xc] << 8 | v->crtc[0xd]);
    uint32_t stride = (uint32_t)v->crtc[0x13] * 2;
    uint32_t cursor = (uint32_t)(v->crtc[0xe] << 8 | v->crtc[0xf]);
    bool cursor_on = !(v->crtc[0xa] & 0x20);
    int cs = v->crtc[0xa] & 0x1f, ce = v->crtc[0xb] & 0x1f;
    uint8_t sr3 = v->seq[3];
    static const uint32_t map_off[8] = {0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000};
    uint32_t font_a = map_off[((sr3 >> 3) & 4) | ((sr3 >> 2) & 3)];
    uint32_t font_b = map_off[((sr3 >> 2) & 4) | (sr3 & 3)];
    int cur_cell = -1;
    if (cursor_on && cursor >= start) {
        uint32_t d = cursor - start;
        if (stride && d / stride < (uint32_t)rows && d % stride < (uint32_t)cols)
            cur_cell = (int)((d / stride) * cols + d % stride);
    }
    uint32_t *pix = v->surf.pixels;
    int W = v->surf.width;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            uint32_t a = (start + r * stride + c) & 0xffff;
            uint8_t chr = v->vram[a * 4], attr = v->vram[a * 4 + 1];
            int cell = r * cols + c;
            bool curs = cell == cur_cell;
            uint32_t key = chr | (uint32_t)attr << 8 | (curs ? 1u << 16 : 0);
            if (v->cells[cell] == key)
                continue;
            v->cells[cell] = key;
            uint32_t fg = dac_rgb(v, ar_color(v, attr & 0xf));
            uint8_t bgi = attr >> 4;
            if (v->ar[0x10] & 0x08)         /* blink enabled: bit 7 is not intensity */
                bgi &= 7;
            uint32_t bg = dac_rgb(v, ar_color(v, bgi));
            uint32_t font = (attr & 8) ? font_a : font_b;
            /* Line graphics (0xc0-0xdf) extend into the 9th column (AR10 bit 2). */
            bool ext = cw == 9 && (v->ar[0x10] & 0x04) && chr >= 0xc0 && chr <= 0xdf;
            for (int y = 0; y < ch; y++) {
                uint8_t bits = v->vram[((font + chr * 32u + (unsigned)y) & 0xffff) * 4 + 2];
                if (curs && y >= cs && y <= ce)
                    bits = 0xff;
                uint32_t *p = &pix[(size_t)(r * ch + y) * W + c * cw];
                for (int x = 0; x < 8; x++)
                    p[x] = (bits & (0x80 >> x)) ? fg : bg;
                if (cw == 9)
                    p[8] = (ext || (curs && y >= cs && y <= ce)) && (bits & 1) ? fg : bg;
            }
            bbox_add(bb, c * cw, r * ch, cw, ch);
        }
    }
    v->cur_drawn = cur_cell;
}

static void render_graphics(struct vga *v, enum vga_kind k, struct vga_rect *bb)
{
    int W = v->surf.width, H = v->surf.height;
    uint32_t start, line;
    unsigned bpp = 8;
    if (k == KIND_VBE) {
        bpp = v->vbe[VBE_DISPI_INDEX_BPP];
        line = v->vbe[VBE_DISPI_INDEX_VIRT_WIDTH] * vbe_bytespp(bpp);
        start = v->vbe[VBE_DISPI_INDEX_Y_OFFSET] * line +
                v->vbe[VBE_DISPI_INDEX_X_OFFSET] * vbe_bytespp(bpp);
    } else {
        start = (uint32_t)(v->crtc[0xc] << 8 | v->crtc[0xd]) * 4;
        line = (uint32_t)v->crtc[0x13] << 3;
    }
    uint32_t lut[256];
    if (k != KIND_VBE || bpp == 8) {
        for (int i = 0; i < 256; i++)
            lut[i] = dac_rgb(v, (uint8_t)i);
    }
    uint32_t acol[16];
    for (int i = 0; i < 16; i++)
        acol[i] = lut[ar_color(v, (uint8_t)i)];
    uint8_t plane_en = v->ar[0x12] & 0xf;
    uint32_t bytes = k == KIND_VBE ? (uint32_t)W * vbe_bytespp(bpp)
                   : k == KIND_256 ? (uint32_t)W : (uint32_t)(W + 7) / 8 * 4;
    for (int y = 0; y < H; y++) {
        uint64_t s = (uint64_t)start + (uint64_t)y * line;
        if (s + bytes > VGA_VRAM_SIZE)
            break;
        if (!v->full && !range_dirty(v, (uint32_t)s, (uint32_t)(s + bytes)))
            continue;
        const uint8_t *src = v->vram + s;
        uint32_t *d = &v->surf.pixels[(size_t)y * W];
        switch (k) {
        case KIND_VBE:
            switch (bpp) {
            case 8:
                for (int x = 0; x < W; x++) d[x] = lut[src[x]];
                break;
            case 15:
                for (int x = 0; x < W; x++) {
                    uint32_t p = src[2 * x] | src[2 * x + 1] << 8;
                    uint32_t r = (p >> 10) & 31, g = (p >> 5) & 31, b = p & 31;
                    d[x] = (r << 3 | r >> 2) << 16 | (g << 3 | g >> 2) << 8 | (b << 3 | b >> 2);
                }
                break;
            case 16:
                for (int x = 0; x < W; x++) {
                    uint32_t p = src[2 * x] | src[2 * x + 1] << 8;
                    uint32_t r = (p >> 11) & 31, g = (p >> 5) & 63, b = p & 31;
                    d[x] = (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
                }
                break;
            case 24:
                for (int x = 0; x < W; x++)
                    d[x] = (uint32_t)src[3 * x + 2] << 16 | src[3 * x + 1] << 8 | src[3 * x];
                break;
            default:
                for (int x = 0; x < W; x++)
                    d[x] = (uint32_t)src[4 * x + 2] << 16 | src[4 * x + 1] << 8 | src[4 * x];
                break;
            }
            break;
        case KIND_256:
            for (int x = 0; x < W; x++)
                d[x] = lut[src[x]];
            break;
        default:
            for (int x = 0; x < W; x++) {
                const uint8_t *q = src + (x >> 3) * 4;
                int sh = 7 - (x & 7);
                uint8_t c = (uint8_t)(((q[0] >> sh) & 1) | ((q[1] >> sh) & 1) << 1 |
                                      ((q[2] >> sh) & 1) << 2 | ((q[3] >> sh) & 1) << 3);
                d[x] = acol[c & plane_en];
            }
            break;
        }
        bbox_add(bb, 0, y, W, 1);
    }
}

bool vga_update(struct vga *v, struct vga_rect *dirty, bool *resized)
{
    struct vga_rect bb = {0, 0, 0, 0};
    int w = 0, h = 0;
    v->updates++;
    enum vga_kind k = current_kind(v, &w, &h);
    if (k == KIND_OFF) {
        w = v->surf.width ? v->surf.width : 640;
        h = v->surf.height ? v->surf.height : 480;
    }
    if (k != v->kind)
        v->full = true;
    v->kind = k;
    take_dirty(v);
    bool rs = surface_size(v, w, h);
    if (resized)
        *resized = rs;
    if (k == KIND_OFF) {
        if (v->full) {
            memset(v->surf.pixels, 0, (size_t)w * h * 4);
            bb = (struct vga_rect){0, 0, w, h};
        }
    } else if (k == KIND_TEXT) {
        render_text(v, &bb);
    } else {
        render_graphics(v, k, &bb);
    }
    v->full = v->font_dirty = false;
    if (dirty)
        *dirty = bb;
    return bb.w > 0;
}

unsigned long vga_update_count(const struct vga *v)
{
    return v->updates;
}

const struct vga_surface *vga_surface(const struct vga *v)
{
    return &v->surf;
}

void vga_invalidate(struct vga *v)
{
    v->full = true;
}

const char *vga_mode_name(struct vga *v)
{
    int w = 0, h = 0;
    switch (current_kind(v, &w, &h)) {
    case KIND_OFF:
        snprintf(v->mode_name, sizeof(v->mode_name), "off");
        break;
    case KIND_TEXT: {
        int ch = (v->crtc[9] & 0x1f) + 1;
        snprintf(v->mode_name, sizeof(v->mode_name), "text %dx%d", v->crtc[1] + 1, vde(v) / ch);
        break;
    }
    case KIND_VBE:
        snprintf(v->mode_name, sizeof(v->mode_name), "vbe %dx%dx%u", w, h, v->vbe[VBE_DISPI_INDEX_BPP]);
        break;
    default:
        snprintf(v->mode_name, sizeof(v->mode_name), "%s %dx%d",
                 current_kind(v, &w, &h) == KIND_256 ? "chain4" : "planar", w, h);
        break;
    }
    return v->mode_name;
}

int vga_text_dump(struct vga *v, char *buf, size_t len)
{
    int w, h;
    if (current_kind(v, &w, &h) != KIND_TEXT || len == 0)
        return -1;
    int ch = (v->crtc[9] & 0x1f) + 1, cols = v->crtc[1] + 1, rows = vde(v) / ch;
    uint32_t start = (uint32_t)(v->crtc[0xc] << 8 | v->crtc[0xd]);
    uint32_t stride = (uint32_t)v->crtc[0x13] * 2;
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c <= cols; c++) {
            if (n + 1 >= len)
                goto out;
            if (c == cols) {
                buf[n++] = '\n';
                break;
            }
            uint8_t chr = v->vram[((start + r * stride + c) & 0xffff) * 4];
            buf[n++] = (chr >= 0x20 && chr < 0x7f) ? (char)chr : (chr == 0 ? ' ' : '.');
        }
    }
out:
    buf[n] = 0;
    return (int)n;
}
