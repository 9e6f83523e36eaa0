/* PIIX3 IDE through its ports: ATA identify/read/write (LBA28, LBA48, CHS,
 * MULTIPLE), errors, interrupts and nIEN, absent devices, soft reset, and
 * ATAPI packets (INQUIRY, READ CAPACITY, READ(10) in DRQ chunks of the byte
 * count limit, REQUEST SENSE after a bad opcode), as SeaBIOS and Linux use them. */
#include "test.h"
#include "hw/ide.h"
#include "hw/pci.h"
#include "hw/iomap.h"
#include <stdlib.h>
#include <string.h>

#define DISK_SECTORS 4096
struct fx {
    struct iomap pio, mmio;
    struct irq isa[16];
    int level[16], raises[16];
    struct pci_bus *bus;
    struct ide *ide;
    uint8_t *disk, *cd;
    uint8_t *ram;                       /* guest RAM for bus-master DMA */
    int nwritten;                       /* DMA reports */
    uint64_t wlo, whi;                  /* their union */
};
static struct fx F;

static void probe(void *opaque, int n, int level)
{
    struct fx *f = opaque;
    if (level && !f->level[n])
        f->raises[n]++;
    f->level[n] = level;
}

static int mrd(void *o, uint64_t off, void *buf, size_t len) { memcpy(buf, (uint8_t *)o + off, len); return 0; }
static int mwr(void *o, uint64_t off, const void *buf, size_t len) { memcpy((uint8_t *)o + off, buf, len); return 0; }
static int mfl(void *o) { return 0; }

#define RAM_SIZE (1u << 20)

static uint8_t *ram_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
    struct fx *f = opaque;
    if (len == 0 || gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
        return NULL;
    return f->ram + gpa;
}

static void ram_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct fx *f = opaque;
    if (!f->nwritten || gpa < f->wlo)
        f->wlo = gpa;
    if (!f->nwritten || gpa + len > f->whi)
        f->whi = gpa + len;
    f->nwritten++;
}

static void fx_init(bool slave_cd)
{
    struct fx *f = &F;
    memset(f, 0, sizeof(*f));
    iomap_init(&f->pio, "pio", NULL);
    iomap_init(&f->mmio, "mmio", NULL);
    for (int i = 0; i < 16; i++)
        irq_init(&f->isa[i], probe, f, i);
    f->bus = pci_bus_create(&f->pio, &f->mmio, f->isa, 0x40000000, 0xfec00000);
    f->disk = malloc(DISK_SECTORS * 512);
    f->cd = malloc(64 * 2048);
    for (int i = 0; i < DISK_SECTORS * 512; i++)
        f->disk[i] = (uint8_t)(i / 512 * 7 + i);
    for (int i = 0; i < 64 * 2048; i++)
        f->cd[i] = (uint8_t)(i / 2048 + 0x40);
    struct ide_drive_config dc[IDE_DRIVES] = {0};
    dc[0] = (struct ide_drive_config){true, false, {f->disk, DISK_SECTORS * 512, false, mrd, mwr, mfl, NULL, NULL}};
    int cdi = slave_cd ? 1 : 2;
    dc[cdi] = (struct ide_drive_config){true, true, {f->cd, 64 * 2048, true, mrd, NULL, NULL, NULL, NULL}};
    f->ide = ide_create(f->bus, &f->pio, &f->isa[14], &f->isa[15], dc);
    f->ram = calloc(1, RAM_SIZE);
    struct guest_mem mem = {.ptr = ram_ptr, .opaque = f, .written = ram_written};
    if (f->ide)
        ide_set_dma_mem(f->ide, &mem);
}

static void fx_free(void)
{
    ide_free(F.ide);
    pci_bus_free(F.bus);
    iomap_destroy(&F.pio);
    iomap_destroy(&F.mmio);
    free(F.disk);
    free(F.cd);
    free(F.ram);
}

static uint8_t in8(uint16_t p) { return (uint8_t)iomap_read(&F.pio, p, 1); }
static uint16_t in16(uint16_t p) { return (uint16_t)iomap_read(&F.pio, p, 2); }
static void out8(uint16_t p, uint8_t v) { iomap_write(&F.pio, p, v, 1); }
static void out16(uint16_t p, uint16_t v) { iomap_write(&F.pio, p, v, 2); }

static void lba28(uint16_t b, int dev, uint32_t lba, uint8_t count, uint8_t cmd)
{
    out8(b + 6, (uint8_t)(0xe0 | dev << 4 | ((lba >> 24) & 0xf)));
    out8(b + 2, count);
    out8(b + 3, (uint8_t)lba);
    out8(b + 4, (uint8_t)(lba >> 8));
    out8(b + 5, (uint8_t)(lba >> 16));
    out8(b + 7, cmd);
}

static void read_words(uint16_t b, uint8_t *buf, int bytes)
{
    for (int i = 0; i < bytes; i += 2) {
        uint16_t w = in16(b);
        buf[i] = (uint8_t)w;
        buf[i + 1] = (uint8_t)(w >> 8);
    }
}

TEST(ide_pci_function_and_identify)
{
    fx_init(false);
    CHECK(F.ide);
    iomap_write(&F.pio, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8, 4);
    CHECK_EQ(iomap_read(&F.pio, 0xcfc, 4), 0x70108086);
    iomap_write(&F.pio, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8 | 8, 4);
    CHECK_EQ(iomap_read(&F.pio, 0xcfc, 4) >> 8, 0x010180);
    CHECK_EQ(in8(0x1f7), 0x50);             /* DRDY | DSC after reset */
    CHECK_EQ(in8(0x1f4), 0);                /* ATA signature */
    out8(0x1f6, 0xa0);
    out8(0x1f7, 0xec);
    CHECK_EQ(F.raises[14], 1);
    CHECK_EQ(in8(0x3f6) & 0x08, 0x08);      /* DRQ; alt status keeps the IRQ */
    CHECK_EQ(F.level[14], 1);
    CHECK_EQ(in8(0x1f7), 0x58);
    CHECK_EQ(F.level[14], 0);               /* status read acknowledges */
    uint8_t id[512];
    read_words(0x1f0, id, 512);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK(!memcmp(id + 54, "RTME UAH", 8));  /* "TREMU HA": words, high byte first */
    CHECK_EQ(id[120] | id[121] << 8 | id[122] << 16 | id[123] << 24, DISK_SECTORS);
    CHECK_EQ(id[167] & 0x04, 0x04);         /* word 83 bit 10: LBA48 */
    CHECK_EQ(id[99] & 0x01, 0x01);          /* word 49 bit 8: DMA */
    CHECK_EQ(id[126], 0x07);                /* word 63: multiword DMA 0-2, none selected */
    CHECK_EQ(id[127], 0x00);
    /* the absent slave reads as nothing, and takes no command */
    out8(0x1f6, 0xb0);
    CHECK_EQ(in8(0x1f7), 0);
    out8(0x1f7, 0xec);
    CHECK_EQ(in8(0x1f7), 0);
    fx_free();
}

TEST(ide_ata_read_write_lba28_lba48_chs_multiple)
{
    fx_init(false);
    uint8_t buf[8 * 512];
    /* READ SECTORS, 2 sectors from LBA 5: one interrupt per sector */
    lba28(0x1f0, 0, 5, 2, 0x20);
    CHECK_EQ(F.raises[14], 1);
    CHECK_EQ(in8(0x1f7), 0x58);
    read_words(0x1f0, buf, 512);
    CHECK_EQ(F.raises[14], 2);
    CHECK_EQ(in8(0x1f7), 0x58);
    read_words(0x1f0, buf + 512, 512);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK(!memcmp(buf, F.disk + 5 * 512, 1024));
    /* WRITE SECTORS at LBA 100: no interrupt before the data, one after */
    int r0 = F.raises[14];
    lba28(0x1f0, 0, 100, 1, 0x30);
    CHECK_EQ(F.raises[14], r0);
    CHECK_EQ(in8(0x1f7) & 0x08, 0x08);
    for (int i = 0; i < 256; i++)
        out16(0x1f0, (uint16_t)(0xa500 + i));
    CHECK_EQ(F.raises[14], r0 + 1);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK_EQ(F.disk[100 * 512], 0x00);
    CHECK_EQ(F.disk[100 * 512 + 1], 0xa5);
    CHECK_EQ(F.disk[100 * 512 + 511], 0xa5);
    /* READ SECTORS EXT: high bytes written first (HOB) */
    out8(0x1f6, 0x40);
    out8(0x1f2, 0); out8(0x1f2, 1);
    out8(0x1f3, 0); out8(0x1f3, 0x10);     /* LBA 0x10 + 0x00 << 24 */
    out8(0x1f4, 0); out8(0x1f4, 0x0f);
    out8(0x1f5, 0); out8(0x1f5, 0);
    out8(0x1f7, 0x24);
    CHECK_EQ(in8(0x1f7), 0x58);
    read_words(0x1f0, buf, 512);
    CHECK(!memcmp(buf, F.disk + 0xf10 * 512, 512));
    /* CHS: cylinder 1, head 2, sector 3 → (1*16 + 2) * 63 + 2 */
    out8(0x1f6, 0xa2);
    out8(0x1f2, 1);
    out8(0x1f3, 3);
    out8(0x1f4, 1);
    out8(0x1f5, 0);
    out8(0x1f7, 0x20);
    CHECK_EQ(in8(0x1f7), 0x58);
    read_words(0x1f0, buf, 512);
    CHECK(!memcmp(buf, F.disk + (18 * 63 + 2) * 512, 512));
    /* READ MULTIPLE needs SET MULTIPLE first; then 4 sectors per DRQ block */
    lba28(0x1f0, 0, 0, 8, 0xc4);
    CHECK_EQ(in8(0x1f7), 0x41);
    CHECK_EQ(in8(0x1f1), 0x04);
    out8(0x1f2, 4);
    out8(0x1f7, 0xc6);
    CHECK_EQ(in8(0x1f7), 0x50);
    r0 = F.raises[14];
    lba28(0x1f0, 0, 40, 8, 0xc4);
    CHECK_EQ(in8(0x1f7), 0x58);
    read_words(0x1f0, buf, 2048);
    CHECK_EQ(F.raises[14], r0 + 2);         /* the second block's interrupt */
    read_words(0x1f0, buf + 2048, 2048);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK(!memcmp(buf, F.disk + 40 * 512, 4096));
    fx_free();
}

TEST(ide_ata_errors_nien_and_soft_reset)
{
    fx_init(false);
    /* past the end: IDNF, no data phase */
    lba28(0x1f0, 0, DISK_SECTORS - 1, 2, 0x20);
    CHECK_EQ(in8(0x1f7), 0x41);
    CHECK_EQ(in8(0x1f1) & 0x10, 0x10);
    CHECK_EQ(in16(0x1f0), 0xffff);
    /* an unknown command aborts */
    out8(0x1f7, 0xfe);
    CHECK_EQ(in8(0x1f7), 0x41);
    /* nIEN masks the line, the pending interrupt shows when cleared */
    out8(0x3f6, 0x02);
    int r0 = F.raises[14];
    lba28(0x1f0, 0, 1, 1, 0x20);
    CHECK_EQ(F.raises[14], r0);
    CHECK_EQ(F.level[14], 0);
    out8(0x3f6, 0x00);
    CHECK_EQ(F.level[14], 1);
    /* SRST drops the command; the signature comes back */
    out8(0x3f6, 0x04);
    CHECK_EQ(in8(0x3f6) & 0x80, 0x80);
    out8(0x3f6, 0x00);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK_EQ(in8(0x1f2), 1);
    CHECK_EQ(in8(0x1f3), 1);
    CHECK_EQ(in16(0x1f0), 0xffff);          /* no data phase any more */
    fx_free();
}

static void packet(uint16_t b, const uint8_t p[12], uint16_t limit)
{
    out8(b + 1, 0);
    out8(b + 4, (uint8_t)limit);
    out8(b + 5, (uint8_t)(limit >> 8));
    out8(b + 7, 0xa0);
    for (int i = 0; i < 12; i += 2)
        out16(b, (uint16_t)(p[i] | p[i + 1] << 8));
}

TEST(ide_atapi_signature_inquiry_read_sense)
{
    fx_init(false);
    const uint16_t b = 0x170;
    out8(b + 6, 0xa0);
    CHECK_EQ(in8(b + 4), 0x14);
    CHECK_EQ(in8(b + 5), 0xeb);
    /* IDENTIFY DEVICE is refused with the signature; IDENTIFY PACKET works */
    out8(b + 7, 0xec);
    CHECK_EQ(in8(b + 7) & 0x01, 0x01);
    CHECK_EQ(in8(b + 5), 0xeb);
    out8(b + 7, 0xa1);
    uint8_t id[512];
    CHECK_EQ(in8(b + 7) & 0x08, 0x08);
    read_words(b, id, 512);
    CHECK_EQ(id[1] & 0xdf, 0x85);           /* ATAPI, CD-ROM */
    /* INQUIRY */
    uint8_t inq[12] = {0x12, 0, 0, 0, 36, 0};
    packet(b, inq, 0xfffe);
    CHECK_EQ(in8(b + 2), 0x02);             /* IO: data to the host */
    CHECK_EQ(in8(b + 4) | in8(b + 5) << 8, 36);
    uint8_t r[4096];
    read_words(b, r, 36);
    CHECK_EQ(r[0], 0x05);
    CHECK(!memcmp(r + 16, "TREMU DVD-ROM", 13));
    CHECK_EQ(in8(b + 2), 0x03);             /* status phase */
    CHECK_EQ(in8(b + 7), 0x50);
    /* READ CAPACITY */
    uint8_t cap[12] = {0x25};
    packet(b, cap, 8);
    read_words(b, r, 8);
    CHECK_EQ(r[3], 63);
    CHECK_EQ(r[6], 0x08);
    /* READ(10) of 2 sectors from 7 with a 2048-byte limit: two chunks */
    uint8_t rd[12] = {0x28, 0, 0, 0, 0, 7, 0, 0, 2, 0};
    int r0 = F.raises[15];
    packet(b, rd, 2048);
    CHECK_EQ(F.raises[15], r0 + 1);
    CHECK_EQ(in8(b + 4) | in8(b + 5) << 8, 2048);
    read_words(b, r, 2048);
    CHECK_EQ(in8(b + 2), 0x02);
    read_words(b, r + 2048, 2048);
    CHECK_EQ(in8(b + 2), 0x03);
    CHECK_EQ(in8(b + 7), 0x50);
    CHECK(!memcmp(r, F.cd + 7 * 2048, 4096));
    /* past the end, then an unknown opcode: CHECK CONDITION and its sense */
    uint8_t bad[12] = {0x28, 0, 0, 0, 0, 63, 0, 0, 2, 0};
    packet(b, bad, 2048);
    CHECK_EQ(in8(b + 7) & 0x01, 0x01);
    CHECK_EQ(in8(b + 1) >> 4, 0x05);        /* ILLEGAL REQUEST */
    uint8_t op[12] = {0xff};
    packet(b, op, 2048);
    CHECK_EQ(in8(b + 7) & 0x01, 0x01);
    uint8_t rs[12] = {0x03, 0, 0, 0, 18, 0};
    packet(b, rs, 2048);
    read_words(b, r, 18);
    CHECK_EQ(r[2], 0x05);
    CHECK_EQ(r[12], 0x20);                  /* invalid command operation code */
    CHECK_EQ(in8(b + 7), 0x50);
    /* READ TOC: one data track and the lead-out at the disc's end */
    uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0};
    packet(b, toc, 0xfffe);
    read_words(b, r, 20);
    CHECK_EQ(r[1], 18);
    CHECK_EQ(r[6], 1);
    CHECK_EQ(r[14], 0xaa);
    CHECK_EQ(r[19], 64);
    fx_free();
}

/* ---- bus-master DMA (SFF-8038i, 82371SB §2.6) ---- */

static uint32_t cfg_read32(unsigned off)
{
    iomap_write(&F.pio, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8 | off, 4);
    return (uint32_t)iomap_read(&F.pio, 0xcfc, 4);
}

static void cfg_write16(unsigned off, uint16_t v)
{
    iomap_write(&F.pio, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8 | (off & ~3u), 4);
    iomap_write(&F.pio, 0xcfc + (off & 3), v, 2);
}

/* Bus mastering on; returns the bus master registers' I/O base (BAR4). */
static uint16_t bm_setup(void)
{
    cfg_write16(0x04, 0x0005);              /* I/O + bus master */
    uint32_t bar = cfg_read32(0x20);
    return (uint16_t)(bar & ~3u);
}

static void prd(uint32_t at, uint32_t addr, uint32_t count, bool eot)
{
    le_st32(F.ram + at, addr);
    le_st32(F.ram + at + 4, (count & 0xffff) | (eot ? 0x80000000u : 0));
}

static void lba48(uint16_t b, uint64_t lba, uint16_t count, uint8_t cmd)
{
    out8(b + 6, 0x40);
    out8(b + 2, (uint8_t)(count >> 8));
    out8(b + 3, (uint8_t)(lba >> 24));
    out8(b + 4, (uint8_t)(lba >> 32));
    out8(b + 5, (uint8_t)(lba >> 40));
    out8(b + 2, (uint8_t)count);
    out8(b + 3, (uint8_t)lba);
    out8(b + 4, (uint8_t)(lba >> 8));
    out8(b + 5, (uint8_t)(lba >> 16));
    out8(b + 7, cmd);
}

TEST(ide_bus_master_dma_read_write)
{
    fx_init(false);
    CHECK(F.ide);
    uint16_t bm = bm_setup();
    CHECK(bm >= 0xc000 && (cfg_read32(0x20) & 1));
    /* SET FEATURES: multiword DMA 2, then IDENTIFY shows it selected. */
    out8(0x1f6, 0xa0);
    out8(0x1f1, 0x03);
    out8(0x1f2, 0x22);
    out8(0x1f7, 0xef);
    CHECK_EQ(in8(0x1f7), 0x50);
    out8(0x1f7, 0xec);
    CHECK_EQ(in8(0x1f7), 0x58);
    uint8_t id[512];
    read_words(0x1f0, id, 512);
    CHECK_EQ(id[126], 0x07);
    CHECK_EQ(id[127], 0x04);
    out8(0x1f1, 0x03);                      /* Ultra DMA: not on a PIIX3 */
    out8(0x1f2, 0x42);
    out8(0x1f7, 0xef);
    CHECK_EQ(in8(0x1f7), 0x41);            /* DRDY | ERR */
    /* READ DMA as Linux's ata_bmdma_setup/exec/start do it: table, direction,
     * clear INTR/ERROR, command, then start. Two regions, 512 + 1536 bytes. */
    prd(0x1000, 0x10000, 512, false);
    prd(0x1008, 0x20001, 1536, true);       /* bit 0 of the address is ignored */
    iomap_write(&F.pio, bm + 4, 0x1000, 4);
    CHECK_EQ(iomap_read(&F.pio, bm + 4, 4), 0x1000);
    out8(bm, 0x08);
    out8(bm + 2, 0x06 | 0x20);              /* W1C + drive 0 DMA capable */
    int raises = F.raises[14];
    lba28(0x1f0, 0, 5, 4, 0xc8);
    CHECK_EQ(F.raises[14], raises);         /* waits for the bus master */
    CHECK_EQ(in8(0x3f6) & 0x08, 0x08);
    out8(bm, 0x09);
    CHECK_EQ(F.raises[14], raises + 1);
    CHECK_EQ(in8(bm + 2), 0x24);            /* INTR, not ACTIVE: table and transfer ended together */
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK(!memcmp(F.ram + 0x10000, F.disk + 5 * 512, 512));
    CHECK(!memcmp(F.ram + 0x20000, F.disk + 6 * 512, 1536));
    CHECK(F.nwritten >= 1 && F.nwritten <= 24);
    CHECK(F.wlo <= 0x10000 && F.whi >= 0x20000 + 1536);
    out8(bm + 2, 0x24);                     /* INTR is write-one-to-clear, bit 5 read/write */
    CHECK_EQ(in8(bm + 2), 0x20);
    out8(bm, 0x00);
    /* WRITE DMA EXT with the start bit set first (the other order). */
    memset(F.ram + 0x30000, 0xa5, 1024);
    prd(0x2000, 0x30000, 1024, true);
    iomap_write(&F.pio, bm + 4, 0x2000, 4);
    out8(bm, 0x01);
    CHECK_EQ(in8(bm + 2) & 0x01, 0x01);     /* ACTIVE */
    lba48(0x1f0, 100, 2, 0x35);
    CHECK_EQ(in8(bm + 2) & 0x05, 0x04);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK_EQ(F.disk[100 * 512], 0xa5);
    CHECK_EQ(F.disk[102 * 512 - 1], 0xa5);
    CHECK(F.disk[102 * 512] != 0xa5);
    fx_free();
}

/* Hostile tables: every one ends the command (no hang, no access outside
 * RAM), with BMISTA and the drive's status saying how. */
/* READ DMA of count sectors at LBA 7 with the table at prdt and the bus
 * master's direction bit dir: true when it ended in error as it must (BMISTA
 * ERROR|INTR, not ACTIVE; the drive DRDY|ERR with ABRT). Leaves the bus
 * master stopped and its status bits clear. */
static bool dma_read_fails(uint16_t bm, uint32_t prdt, uint8_t count, uint8_t dir)
{
    iomap_write(&F.pio, bm + 4, prdt, 4);
    out8(bm, dir);
    lba28(0x1f0, 0, 7, count, 0xc8);
    out8(bm, (uint8_t)(dir | 0x01));
    bool ok = (in8(bm + 2) & 0x07) == 0x06;
    ok = ok && in8(0x1f7) == 0x41 && in8(0x1f1) == 0x04;
    out8(bm, 0x00);
    out8(bm + 2, 0x06);
    return ok;
}

TEST(ide_bus_master_dma_hostile_prd)
{
    fx_init(false);
    CHECK(F.ide);
    uint16_t bm = bm_setup();
    /* Count 0 is 64 KiB: longer than the 1-sector transfer, so the bus
     * master stays ACTIVE with INTR (SFF-8038i: "PRD not exhausted"). */
    prd(0x1000, 0x40000, 0, true);
    iomap_write(&F.pio, bm + 4, 0x1000, 4);
    out8(bm, 0x08);
    lba28(0x1f0, 0, 7, 1, 0xc8);
    out8(bm, 0x09);
    CHECK_EQ(in8(bm + 2) & 0x07, 0x05);
    CHECK_EQ(in8(0x1f7), 0x50);
    CHECK(!memcmp(F.ram + 0x40000, F.disk + 7 * 512, 512));
    out8(bm, 0x00);                         /* stop clears ACTIVE */
    CHECK_EQ(in8(bm + 2) & 0x01, 0x00);
    out8(bm + 2, 0x06);
    /* A region beyond RAM: ERROR + INTR, the command fails with ABRT. */
    prd(0x1000, 0xfff00000u, 512, true);
    int raises = F.raises[14];
    CHECK(dma_read_fails(bm, 0x1000, 1, 0x08));
    CHECK_EQ(F.raises[14], raises + 1);
    /* The table itself outside RAM. */
    CHECK(dma_read_fails(bm, 0xfffffff0u, 1, 0x08));
    /* An endless table (2-byte regions, no EOT, 64 KiB of entries and more)
     * under a 128 KiB transfer (count 0: 256 sectors): stops at the 64 KiB
     * table limit. */
    for (uint32_t i = 0; i < 0x11000; i += 8)
        prd(0x80000 + i, 0x50000, 2, false);
    CHECK(dma_read_fails(bm, 0x80000, 0, 0x08));
    /* The bus master set up for the other direction than the command. */
    prd(0x1000, 0x40000, 512, true);
    CHECK(dma_read_fails(bm, 0x1000, 1, 0x00));
    /* Bus mastering off in PCI COMMAND: the command waits, nothing moves;
     * turned on, the next start runs it. */
    cfg_write16(0x04, 0x0001);
    memset(F.ram + 0x40000, 0, 512);
    iomap_write(&F.pio, bm + 4, 0x1000, 4);
    out8(bm, 0x08);
    raises = F.raises[14];
    lba28(0x1f0, 0, 9, 1, 0xc8);
    out8(bm, 0x09);
    CHECK_EQ(F.raises[14], raises);
    CHECK_EQ(F.ram[0x40000], 0);
    CHECK_EQ(in8(0x3f6) & 0x08, 0x08);
    cfg_write16(0x04, 0x0005);
    out8(bm, 0x08);
    out8(bm, 0x09);
    CHECK_EQ(F.raises[14], raises + 1);
    CHECK(!memcmp(F.ram + 0x40000, F.disk + 9 * 512, 512));
    /* A range check still applies to DMA commands; readonly disks refuse WRITE DMA. */
    lba28(0x1f0, 0, DISK_SECTORS - 1, 2, 0xc8);
    CHECK_EQ(in8(0x1f7), 0x41);            /* DRDY | ERR */
    CHECK_EQ(in8(0x1f1), 0x14);
    fx_free();
}
