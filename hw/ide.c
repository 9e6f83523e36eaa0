/* PIIX3 IDE: ATA disks and ATAPI CD-ROMs on two legacy channels (see hw/ide.h). */
#include "hw/ide.h"
#include "hw/dma_log.h"
#include "hw/pci.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status (ATA-6 §7.15.6) and Error bits. */
#define ST_BSY  0x80
#define ST_DRDY 0x40
#define ST_DF   0x20
#define ST_DSC  0x10
#define ST_DRQ  0x08
#define ST_ERR  0x01
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC  0x40
/* Device Control. */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB  0x80
/* ATAPI interrupt reason, in the Sector Count register. */
#define IR_COD 0x01
#define IR_IO  0x02

#define SECTOR 512
#define CD_SECTOR 2048
#define MAX_MULT 16
#define BUF_SIZE (128 * 1024)

/* SCSI sense keys and codes (SPC/MMC). */
#define SK_NOT_READY 0x02
#define SK_MEDIUM_ERROR 0x03
#define SK_ILLEGAL_REQUEST 0x05
#define ASC_INV_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INV_FIELD 0x24
#define ASC_READ_ERROR 0x11

/* Bus master IDE (SFF-8038i; 82371SB datasheet §2.6 "Bus Master IDE
 * registers" and §3.3 "Bus master function"): per channel, at BAR4 + 0 / + 8. */
#define BM_CMD     0            /* BMICOM */
#define BM_STATUS  2            /* BMISTA */
#define BM_PRDT    4            /* BMIDTP, 32 bits, dword aligned */
#define BMC_START  0x01
#define BMC_READ   0x08         /* bus master writes memory (a device read) */
#define BMS_ACTIVE 0x01
#define BMS_ERROR  0x02
#define BMS_INTR   0x04
#define BMS_CAP    0x60         /* drive 0/1 DMA capable: the driver's bits */
#define PRD_EOT    0x80000000u
/* A PRD table may not cross a 64 KiB boundary (SFF-8038i §3.1): at most
 * 8192 entries, which also bounds what an endless table costs us. */
#define PRD_MAX    8192
#define DMA_RANGES 24           /* DMA reports per command (see hw/dma_log.h) */

enum xfer { X_NONE, X_ATA_IN, X_ATA_OUT, X_PACKET, X_ATAPI_IN, X_DMA_IN, X_DMA_OUT };

struct ide_drive {
    bool present, atapi;
    struct virtio_blk_backend be;
    uint64_t sectors;                  /* in the device's sector size */
    uint16_t cyls, heads, spt;         /* CHS geometry for IDENTIFY and CHS commands */
    uint8_t status, error;
    int mult;                          /* SET MULTIPLE MODE; 0: off */
    /* the command in progress */
    enum xfer xfer;
    uint8_t *buf;
    uint32_t pos, end;                 /* data port position, end of the DRQ block */
    uint64_t lba;
    uint32_t left;                     /* sectors still to transfer after this block */
    uint32_t block;                    /* sectors in the current block */
    uint32_t per;                      /* sectors per DRQ block: 1, or mult (MULTIPLE) */
    /* ATAPI */
    uint8_t sense_key, asc;
    uint32_t limit;                    /* byte count limit of the PACKET command */
    uint32_t buf_len;                  /* bytes of response in buf */
    uint64_t cd_lba;
    uint32_t cd_left;                  /* CD sectors still to read into buf */
    int mwdma;                         /* multiword DMA mode selected by SET FEATURES, -1: none */
};

struct ide_channel {
    struct ide *ide;
    struct irq irq;
    struct ide_drive drive[2];
    int cur;                           /* selected unit */
    /* The task file is one set of registers per channel; "hob" keeps the
     * previous write of each (LBA48's high-order bytes, ATA-6 §6.20). */
    uint8_t feature, nsector, sector, lcyl, hcyl, select;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t devctl;
    bool irq_pending;
    uint16_t base, ctl;
    uint8_t bm_cmd, bm_status;         /* bus master registers */
    uint32_t bm_prdt;
};

struct ide {
    struct pci_device pci;
    struct iomap *pio;
    struct ide_channel ch[2];
    struct guest_mem mem;              /* where bus-master DMA reaches (none: it fails) */
    struct dma_log dlog;
};

/* ---- interrupts ---- */

static void update_irq(struct ide_channel *c)
{
    irq_set(&c->irq, c->irq_pending && !(c->devctl & DC_NIEN));
}

static void raise_irq(struct ide_channel *c)
{
    c->irq_pending = true;
    update_irq(c);
}

/* ---- helpers ---- */

/* ATA strings: space padded, two characters per word, first in the high byte. */
static void id_string(uint16_t *w, int first, int words, const char *s)
{
    for (int i = 0; i < words * 2; i++) {
        char ch = *s ? *s++ : ' ';
        if (i & 1)
            w[first + i / 2] |= (uint8_t)ch;
        else
            w[first + i / 2] = (uint16_t)((uint8_t)ch << 8);
    }
}

static void put_words(uint8_t *b, const uint16_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        b[2 * i] = (uint8_t)w[i];
        b[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
}

static void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, v >> 16); be16(p + 2, v & 0xffff); }

static void set_signature(struct ide_channel *c, struct ide_drive *d)
{
    c->nsector = 1;
    c->sector = 1;
    if (d->atapi) {
        c->lcyl = 0x14;
        c->hcyl = 0xeb;
    } else {
        c->lcyl = 0;
        c->hcyl = 0;
    }
}

static void cmd_done(struct ide_channel *c, struct ide_drive *d)
{
    d->xfer = X_NONE;
    d->status = ST_DRDY | ST_DSC;
    raise_irq(c);
}

/* One sector of d->buf (IDENTIFY data) ready for the host to read (PIO in). */
static void send_sector(struct ide_channel *c, struct ide_drive *d)
{
    d->xfer = X_ATA_IN;
    d->left = d->block = 0;
    d->pos = 0;
    d->end = SECTOR;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(c);
}

static void cmd_abort(struct ide_channel *c, struct ide_drive *d, uint8_t err)
{
    d->xfer = X_NONE;
    d->status = ST_DRDY | ST_ERR;
    d->error = err;
    raise_irq(c);
}

/* ---- ATA ---- */

static void identify_ata(struct ide_drive *d, uint8_t *b, int unit, int ch)
{
    uint16_t w[256] = {0};
    char serial[21];
    snprintf(serial, sizeof(serial), "TREMU000%d", ch * 2 + unit);
    w[0] = 0x0040;
    w[1] = d->cyls;
    w[3] = d->heads;
    w[6] = d->spt;
    id_string(w, 10, 10, serial);
    id_string(w, 23, 4, "1.0");
    id_string(w, 27, 20, "TREMU HARDDISK");
    w[47] = 0x8000 | MAX_MULT;
    w[49] = 0x0b00;                     /* LBA, IORDY, DMA */
    w[50] = 0x4000;
    w[51] = 0x0200;                     /* PIO mode 2 timing */
    w[53] = 0x0003;                     /* words 54-58 and 64-70 valid */
    w[54] = d->cyls;
    w[55] = d->heads;
    w[56] = d->spt;
    uint32_t chs = (uint32_t)d->cyls * d->heads * d->spt;
    w[57] = (uint16_t)chs;
    w[58] = (uint16_t)(chs >> 16);
    w[59] = d->mult ? (uint16_t)(0x100 | d->mult) : 0;
    uint64_t lba28 = d->sectors < 0x0fffffff ? d->sectors : 0x0fffffff;
    /* Multiword DMA 0-2, the PIIX3's modes; the one SET FEATURES chose. */
    w[63] = 0x0007 | (d->mwdma >= 0 ? (uint16_t)(0x100 << d->mwdma) : 0);
    w[60] = (uint16_t)lba28;
    w[61] = (uint16_t)(lba28 >> 16);
    w[64] = 0x0003;                     /* PIO 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x00f0;                     /* ATA-4 .. ATA-7 */
    w[82] = 0x4000;
    w[83] = 0x4000 | (1 << 10) | (1 << 12) | (1 << 13);  /* LBA48, FLUSH CACHE (EXT) */
    w[84] = 0x4000;
    w[85] = 0x4000;
    w[86] = (1 << 10) | (1 << 12) | (1 << 13);
    w[87] = 0x4000;
    for (int i = 0; i < 4; i++)
        w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
    put_words(b, w, 256);
}

static void identify_atapi(struct ide_drive *d, uint8_t *b, int unit, int ch)
{
    uint16_t w[256] = {0};
    char serial[21];
    snprintf(serial, sizeof(serial), "TREMU000%d", ch * 2 + unit);
    /* ATAPI, CD-ROM, removable, DRQ within 50 µs, 12-byte packets. */
    w[0] = 0x8000 | (5 << 8) | 0x80 | (2 << 5);
    id_string(w, 10, 10, serial);
    id_string(w, 23, 4, "1.0");
    id_string(w, 27, 20, "TREMU DVD-ROM");
    w[49] = 0x0200;                     /* LBA; no DMA */
    w[53] = 0x0002;
    w[64] = 0x0003;
    w[65] = w[66] = w[67] = w[68] = 120;
    w[71] = 30;
    w[72] = 30;
    w[80] = 0x001e;                     /* ATA-1 .. ATA-4 */
    put_words(b, w, 256);
}

/* The command's starting sector and count from the task file. */
static bool ata_address(struct ide_channel *c, struct ide_drive *d, bool lba48,
                        uint64_t *lba, uint32_t *count)
{
    if (lba48) {
        *lba = (uint64_t)c->hob_hcyl << 40 | (uint64_t)c->hob_lcyl << 32 |
               (uint64_t)c->hob_sector << 24 | (uint64_t)c->hcyl << 16 |
               (uint64_t)c->lcyl << 8 | c->sector;
        *count = (uint32_t)c->hob_nsector << 8 | c->nsector;
        if (*count == 0)
            *count = 65536;
    } else {
        if (c->select & 0x40) {
            *lba = (uint64_t)(c->select & 0x0f) << 24 | (uint64_t)c->hcyl << 16 |
                   (uint64_t)c->lcyl << 8 | c->sector;
        } else {
            /* CHS (ATA-6 §6.2.1): sectors count from 1. */
            uint32_t cyl = (uint32_t)c->hcyl << 8 | c->lcyl, head = c->select & 0x0f;
            if (c->sector == 0 || c->sector > d->spt || head >= d->heads)
                return false;
            *lba = ((uint64_t)cyl * d->heads + head) * d->spt + c->sector - 1;
        }
        *count = c->nsector ? c->nsector : 256;
    }
    return *lba <= d->sectors && *count <= d->sectors - *lba;
}

/* Reads the next block of a PIO-in command into buf and offers it. */
static void ata_read_block(struct ide_channel *c, struct ide_drive *d)
{
    uint32_t n = d->left < d->per ? d->left : d->per;
    if (d->be.read(d->be.opaque, d->lba * SECTOR, d->buf, (size_t)n * SECTOR) < 0) {
        cmd_abort(c, d, ER_UNC | ER_ABRT);
        return;
    }
    d->block = n;
    d->pos = 0;
    d->end = n * SECTOR;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(c);
}

static void ata_write_block_ready(struct ide_drive *d)
{
    d->block = d->left < d->per ? d->left : d->per;
    d->pos = 0;
    d->end = d->block * SECTOR;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
}

/* The guest took (X_ATA_IN) or gave (X_ATA_OUT) a whole block. */
static void ata_block_done(struct ide_channel *c, struct ide_drive *d)
{
    if (d->xfer == X_ATA_OUT) {
        if (d->be.write(d->be.opaque, d->lba * SECTOR, d->buf, (size_t)d->block * SECTOR) < 0) {
            cmd_abort(c, d, ER_ABRT);
            return;
        }
    }
    d->lba += d->block;
    d->left -= d->block;
    if (d->left == 0) {
        d->end = d->pos = 0;
        if (d->xfer == X_ATA_OUT) {
            cmd_done(c, d);
        } else {
            /* PIO data-in: no interrupt after the last block (ATA-6 §9.7). */
            d->xfer = X_NONE;
            d->status = ST_DRDY | ST_DSC;
        }
        return;
    }
    if (d->xfer == X_ATA_IN) {
        ata_read_block(c, d);
    } else {
        ata_write_block_ready(d);
        raise_irq(c);
    }
}

/* A read or write command's range from the task file, checked (out of
 * range, write to a read-only disk: aborted, false). */
static bool ata_begin(struct ide_channel *c, struct ide_drive *d, bool write, bool lba48)
{
    uint64_t lba;
    uint32_t count;
    if (!ata_address(c, d, lba48, &lba, &count)) {
        cmd_abort(c, d, ER_IDNF | ER_ABRT);
        return false;
    }
    if (write && d->be.readonly) {
        cmd_abort(c, d, ER_ABRT);
        return false;
    }
    d->lba = lba;
    d->left = count;
    return true;
}

static void ata_rw(struct ide_channel *c, struct ide_drive *d, bool write, bool lba48, bool multiple)
{
    if (multiple && !d->mult) {
        cmd_abort(c, d, ER_ABRT);
        return;
    }
    if (!ata_begin(c, d, write, lba48))
        return;
    d->per = multiple ? (uint32_t)d->mult : 1;
    if (write) {
        /* PIO data-out: the first block is asked for without an interrupt. */
        d->xfer = X_ATA_OUT;
        ata_write_block_ready(d);
    } else {
        d->xfer = X_ATA_IN;
        ata_read_block(c, d);
    }
}

/* ---- bus-master DMA ---- */

/* Where the next bytes go in the PRD table's list of memory regions. */
struct prd_cursor {
    uint32_t next;                     /* address of the next entry */
    uint32_t addr, left;               /* current region */
    unsigned entries;
    bool eot;                          /* the current region is the table's last */
};

/* Moves len bytes between buf and the regions (to_mem: into guest RAM).
 * 0 done; 1 the table ended first (EOT reached); -1 an entry or a region
 * is not RAM (a master abort on a real bus). */
static int prd_copy(struct ide *ide, struct prd_cursor *pc, uint8_t *buf, uint32_t len, bool to_mem)
{
    while (len) {
        if (pc->left == 0) {
            if (pc->eot || pc->entries == PRD_MAX)
                return 1;
            const uint8_t *e = ide->mem.ptr ? ide->mem.ptr(ide->mem.opaque, pc->next, 8) : NULL;
            if (!e)
                return -1;
            pc->addr = le_ld32(e) & ~1u;           /* bit 0 is reserved: even addresses */
            uint32_t count = le_ld16(e + 4);
            pc->left = count ? count & ~1u : 65536; /* 0 means 64 KiB */
            pc->eot = le_ld32(e + 4) & PRD_EOT;
            pc->next += 8;
            pc->entries++;
            continue;
        }
        uint32_t n = len < pc->left ? len : pc->left;
        uint8_t *p = ide->mem.ptr(ide->mem.opaque, pc->addr, n);
        if (!p)
            return -1;
        if (to_mem) {
            memcpy(p, buf, n);
            dma_log_add(&ide->dlog, pc->addr, n);
        } else {
            memcpy(buf, p, n);
        }
        pc->addr += n;
        pc->left -= n;
        buf += n;
        len -= n;
    }
    return 0;
}

static void dma_end(struct ide_channel *c, uint8_t bm_bits)
{
    c->bm_status = (uint8_t)((c->bm_status & ~BMS_ACTIVE) | bm_bits);
}

/* Runs the DMA command of the selected drive once both halves are there:
 * the command (READ/WRITE DMA) and the bus master's start bit, in either
 * order, with bus mastering enabled in PCI COMMAND. The whole transfer
 * happens here; then BMISTA and the drive's interrupt tell how it ended:
 * INTR with ACTIVE clear when the table and the transfer ended together,
 * INTR with ACTIVE still set when the table was longer (SFF-8038i table 2);
 * a table that ends first, or an entry outside RAM, ends the command with
 * ERR and BMISTA's ERROR bit, so a driver never waits for a transfer that
 * cannot finish. */
static void dma_run(struct ide_channel *c)
{
    struct ide *ide = c->ide;
    struct ide_drive *d = &c->drive[c->cur];
    if ((d->xfer != X_DMA_IN && d->xfer != X_DMA_OUT) || !(c->bm_cmd & BMC_START) ||
        !(le_ld16(&ide->pci.config[PCI_COMMAND]) & PCI_CMD_MASTER))
        return;
    bool to_mem = d->xfer == X_DMA_IN;
    if (!!(c->bm_cmd & BMC_READ) != to_mem) {
        /* The bus master was set up for the other direction. */
        dma_end(c, BMS_ERROR | BMS_INTR);
        cmd_abort(c, d, ER_ABRT);
        return;
    }
    struct prd_cursor pc = {.next = c->bm_prdt};
    int r = 0;
    while (d->left && r == 0) {
        uint32_t n = d->left < BUF_SIZE / SECTOR ? d->left : BUF_SIZE / SECTOR;
        uint64_t off = d->lba * SECTOR;
        if (to_mem) {
            if (d->be.read(d->be.opaque, off, d->buf, (size_t)n * SECTOR) < 0) {
                r = 2;
                break;
            }
            r = prd_copy(ide, &pc, d->buf, n * SECTOR, true);
        } else {
            r = prd_copy(ide, &pc, d->buf, n * SECTOR, false);
            if (r == 0 && d->be.write(d->be.opaque, off, d->buf, (size_t)n * SECTOR) < 0)
                r = 2;
        }
        if (r == 0) {
            d->lba += n;
            d->left -= n;
        }
    }
    /* What reached guest RAM is reported before the interrupt that says so. */
    if (ide->mem.written)
        dma_log_flush(&ide->dlog, DMA_RANGES, ide->mem.written, ide->mem.opaque);
    else
        ide->dlog.n = 0;
    if (r == 0) {
        bool table_left = pc.left || !pc.eot;
        c->bm_status = (uint8_t)(c->bm_status | BMS_INTR);
        if (!table_left)
            c->bm_status &= (uint8_t)~BMS_ACTIVE;
        cmd_done(c, d);
    } else if (r == 2) {
        dma_end(c, BMS_INTR);
        cmd_abort(c, d, to_mem ? (ER_UNC | ER_ABRT) : ER_ABRT);
    } else {
        dma_end(c, BMS_ERROR | BMS_INTR);
        cmd_abort(c, d, ER_ABRT);
    }
}

/* READ DMA (EXT), WRITE DMA (EXT): the drive waits for the bus master. */
static void ata_dma(struct ide_channel *c, struct ide_drive *d, bool write, bool lba48)
{
    if (!ata_begin(c, d, write, lba48))
        return;
    d->xfer = write ? X_DMA_OUT : X_DMA_IN;
    d->pos = d->end = 0;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    dma_run(c);
}

static uint8_t bm_reg_read(struct ide_channel *c, unsigned off)
{
    switch (off) {
    case BM_CMD: return c->bm_cmd;
    case BM_STATUS: return c->bm_status;
    case BM_PRDT: case BM_PRDT + 1: case BM_PRDT + 2: case BM_PRDT + 3:
        return (uint8_t)(c->bm_prdt >> (8 * (off - BM_PRDT)));
    default: return 0;
    }
}

static void bm_reg_write(struct ide_channel *c, unsigned off, uint8_t v)
{
    switch (off) {
    case BM_CMD: {
        uint8_t old = c->bm_cmd;
        c->bm_cmd = v & (BMC_START | BMC_READ);
        if ((v & BMC_START) && !(old & BMC_START)) {
            c->bm_status |= BMS_ACTIVE;
            dma_run(c);
        } else if (!(v & BMC_START)) {
            /* Stop: whatever was not transferred is abandoned. */
            c->bm_status &= (uint8_t)~BMS_ACTIVE;
        }
        return;
    }
    case BM_STATUS:
        c->bm_status = (uint8_t)((c->bm_status & BMS_ACTIVE) | (v & BMS_CAP) |
                                 (c->bm_status & ~v & (BMS_ERROR | BMS_INTR)));
        return;
    case BM_PRDT: case BM_PRDT + 1: case BM_PRDT + 2: case BM_PRDT + 3: {
        unsigned sh = 8 * (off - BM_PRDT);
        c->bm_prdt = (c->bm_prdt & ~(0xffu << sh)) | (uint32_t)v << sh;
        c->bm_prdt &= ~3u;
        return;
    }
    default:
        return;
    }
}

static uint64_t bm_read(void *opaque, uint64_t addr, unsigned size)
{
    struct ide *ide = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && addr + i < 16; i++)
        v |= (uint64_t)bm_reg_read(&ide->ch[(addr + i) / 8], (unsigned)((addr + i) % 8)) << (8 * i);
    return v;
}

static void bm_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct ide *ide = opaque;
    for (unsigned i = 0; i < size && addr + i < 16; i++)
        bm_reg_write(&ide->ch[(addr + i) / 8], (unsigned)((addr + i) % 8), (uint8_t)(val >> (8 * i)));
}

void ide_set_dma_mem(struct ide *ide, const struct guest_mem *mem)
{
    ide->mem = *mem;
}

/* ---- ATAPI ---- */

static void atapi_sense(struct ide_drive *d, uint8_t key, uint8_t asc)
{
    d->sense_key = key;
    d->asc = asc;
}

/* Ends the packet command: status phase (IO|CoD), with CHECK CONDITION
 * (ERR, sense key in the Error register) when sense is set. */
static void atapi_finish(struct ide_channel *c, struct ide_drive *d)
{
    d->xfer = X_NONE;
    d->pos = d->end = 0;
    c->nsector = IR_IO | IR_COD;
    if (d->sense_key) {
        d->status = ST_DRDY | ST_ERR;
        d->error = (uint8_t)(d->sense_key << 4) | ER_ABRT;
    } else {
        d->status = ST_DRDY | ST_DSC;
        d->error = 0;
    }
    raise_irq(c);
}

static void atapi_error(struct ide_channel *c, struct ide_drive *d, uint8_t key, uint8_t asc)
{
    atapi_sense(d, key, asc);
    atapi_finish(c, d);
}

/* Offers the next DRQ chunk of the response (refilling buf from the disc
 * for reads), or ends the command when everything was taken. */
static void atapi_next_chunk(struct ide_channel *c, struct ide_drive *d)
{
    if (d->pos >= d->buf_len) {
        if (d->cd_left == 0) {
            atapi_finish(c, d);
            return;
        }
        uint32_t n = d->cd_left < BUF_SIZE / CD_SECTOR ? d->cd_left : BUF_SIZE / CD_SECTOR;
        if (d->be.read(d->be.opaque, d->cd_lba * CD_SECTOR, d->buf, (size_t)n * CD_SECTOR) < 0) {
            atapi_error(c, d, SK_MEDIUM_ERROR, ASC_READ_ERROR);
            return;
        }
        d->cd_lba += n;
        d->cd_left -= n;
        d->buf_len = n * CD_SECTOR;
        d->pos = 0;
    }
    uint32_t chunk = d->buf_len - d->pos;
    if (chunk > d->limit)
        chunk = d->limit;
    d->end = d->pos + chunk;
    d->xfer = X_ATAPI_IN;
    c->lcyl = (uint8_t)chunk;
    c->hcyl = (uint8_t)(chunk >> 8);
    c->nsector = IR_IO;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(c);
}

/* A response built in buf: at most alloc bytes of len go to the host. */
static void atapi_reply(struct ide_channel *c, struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    d->buf_len = len < alloc ? len : alloc;
    d->pos = 0;
    d->cd_left = 0;
    if (d->buf_len == 0) {
        atapi_finish(c, d);
        return;
    }
    atapi_next_chunk(c, d);
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = (uint8_t)(lba / (75 * 60));
    p[1] = (uint8_t)(lba / 75 % 60);
    p[2] = (uint8_t)(lba % 75);
}

static uint32_t read_toc(struct ide_drive *d, const uint8_t *p, uint8_t *b)
{
    bool msf = p[1] & 2;
    int format = p[2] & 0x0f;
    if (format == 0 && (p[9] >> 6))         /* the old SFF-8020 place */
        format = p[9] >> 6;
    uint8_t *q = b + 2;
    if (format == 0) {
        int start = p[6];
        if (start > 1 && start != 0xaa)
            return 0;
        *q++ = 1;                           /* first track */
        *q++ = 1;                           /* last track */
        if (start <= 1) {
            *q++ = 0;
            *q++ = 0x14;                    /* ADR 1, data track */
            *q++ = 1;
            *q++ = 0;
            if (msf) { *q++ = 0; lba_to_msf(q, 0); q += 3; }
            else { be32(q, 0); q += 4; }
        }
        *q++ = 0;
        *q++ = 0x16;
        *q++ = 0xaa;                        /* lead-out */
        *q++ = 0;
        if (msf) { *q++ = 0; lba_to_msf(q, (uint32_t)d->sectors); q += 3; }
        else { be32(q, (uint32_t)d->sectors); q += 4; }
    } else if (format == 1) {               /* session info: one session */
        *q++ = 1;
        *q++ = 1;
        *q++ = 0;
        *q++ = 0x14;
        *q++ = 1;
        *q++ = 0;
        if (msf) { *q++ = 0; lba_to_msf(q, 0); q += 3; }
        else { be32(q, 0); q += 4; }
    } else {
        return 0;
    }
    uint32_t len = (uint32_t)(q - b);
    be16(b, len - 2);
    return len;
}

static void atapi_packet(struct ide_channel *c, struct ide_drive *d)
{
    uint8_t p[12];
    memcpy(p, d->buf, 12);
    uint8_t *b = d->buf;
    uint32_t alloc;
    if (p[0] != 0x03)               /* REQUEST SENSE reads the last sense */
        atapi_sense(d, 0, 0);
    switch (p[0]) {
    case 0x00:                      /* TEST UNIT READY */
    case 0x1b:                      /* START STOP UNIT */
    case 0x1e:                      /* PREVENT ALLOW MEDIUM REMOVAL */
    case 0x2b:                      /* SEEK(10) */
    case 0xbb:                      /* SET CD SPEED */
        atapi_finish(c, d);
        return;
    case 0x03:                      /* REQUEST SENSE */
        memset(b, 0, 18);
        b[0] = 0x70;
        b[2] = d->sense_key;
        b[7] = 10;
        b[12] = d->asc;
        atapi_sense(d, 0, 0);
        atapi_reply(c, d, 18, p[4]);
        return;
    case 0x12:                      /* INQUIRY */
        memset(b, 0, 36);
        b[0] = 0x05;                /* CD/DVD */
        b[1] = 0x80;                /* removable */
        b[3] = 0x21;
        b[4] = 31;
        memcpy(b + 8, "TREMU   ", 8);
        memcpy(b + 16, "TREMU DVD-ROM   ", 16);
        memcpy(b + 32, "1.0 ", 4);
        atapi_reply(c, d, 36, p[4]);
        return;
    case 0x25:                      /* READ CAPACITY */
        be32(b, d->sectors ? (uint32_t)d->sectors - 1 : 0);
        be32(b + 4, CD_SECTOR);
        atapi_reply(c, d, 8, 8);
        return;
    case 0x28:                      /* READ(10) */
    case 0xa8: {                    /* READ(12) */
        uint32_t lba = (uint32_t)p[2] << 24 | p[3] << 16 | p[4] << 8 | p[5];
        uint32_t n = p[0] == 0x28 ? (uint32_t)(p[7] << 8 | p[8])
                                  : (uint32_t)p[6] << 24 | p[7] << 16 | p[8] << 8 | p[9];
        if ((uint64_t)lba + n > d->sectors) {
            atapi_error(c, d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
            return;
        }
        if (n == 0) {
            atapi_finish(c, d);
            return;
        }
        d->cd_lba = lba;
        d->cd_left = n;
        d->buf_len = d->pos = 0;
        atapi_next_chunk(c, d);
        return;
    }
    case 0x43: {                    /* READ TOC/PMA/ATIP */
        memset(b, 0, 64);
        uint32_t len = read_toc(d, p, b);
        if (!len) {
            atapi_error(c, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD);
            return;
        }
        atapi_reply(c, d, len, (uint32_t)p[7] << 8 | p[8]);
        return;
    }
    case 0x5a: {                    /* MODE SENSE(10) */
        int page = p[2] & 0x3f;
        alloc = (uint32_t)p[7] << 8 | p[8];
        memset(b, 0, 64);
        uint8_t *q = b + 8;
        if (page == 0x01 || page == 0x3f) {     /* read error recovery */
            q[0] = 0x01; q[1] = 6; q[3] = 5;
            q += 8;
        }
        if (page == 0x2a || page == 0x3f) {     /* CD capabilities */
            q[0] = 0x2a; q[1] = 0x12;
            q[2] = 0x01;            /* reads CD-R */
            q[4] = 0x71;            /* audio play, mode 2 form 1/2, multisession */
            q[5] = 0x03;            /* CD-DA, accurate */
            q[6] = 0x29;            /* tray, eject, lock */
            be16(q + 8, 706);       /* max speed (KB/s) */
            be16(q + 10, 2);        /* volume levels */
            be16(q + 12, 512);      /* buffer */
            be16(q + 14, 706);
            q += 20;
        }
        if (q == b + 8) {
            atapi_error(c, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD);
            return;
        }
        uint32_t len = (uint32_t)(q - b);
        be16(b, len - 2);
        b[2] = 0x70;                /* medium type: door closed, no disc type */
        atapi_reply(c, d, len, alloc);
        return;
    }
    case 0x46:                      /* GET CONFIGURATION: current profile CD-ROM */
        memset(b, 0, 8);
        be32(b, 4);
        be16(b + 6, 0x0008);
        atapi_reply(c, d, 8, (uint32_t)p[7] << 8 | p[8]);
        return;
    case 0x4a:                      /* GET EVENT STATUS NOTIFICATION */
        if (!(p[1] & 1)) {          /* only the polled form */
            atapi_error(c, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD);
            return;
        }
        memset(b, 0, 4);
        be16(b, 2);
        b[2] = 0x80;                /* no event available */
        atapi_reply(c, d, 4, (uint32_t)p[7] << 8 | p[8]);
        return;
    case 0xbd:                      /* MECHANISM STATUS */
        memset(b, 0, 8);
        atapi_reply(c, d, 8, (uint32_t)p[8] << 8 | p[9]);
        return;
    default:
        atapi_error(c, d, SK_ILLEGAL_REQUEST, ASC_INV_OPCODE);
        return;
    }
}

/* ---- commands ---- */

static void execute(struct ide_channel *c, uint8_t cmd)
{
    struct ide_drive *d = &c->drive[c->cur];
    if (!d->present)
        return;                     /* nobody answers */
    c->irq_pending = false;
    update_irq(c);
    d->error = 0;
    int unit = c->cur, chn = c == &c->ide->ch[0] ? 0 : 1;
    /* Commands an ATAPI device takes (ATA-6 §6.1 "PACKET feature set"). */
    if (d->atapi && cmd != 0xa0 && cmd != 0xa1 && cmd != 0x08 && cmd != 0x90 &&
        cmd != 0xef && cmd != 0xe5 && cmd != 0xe0 && cmd != 0xe1 && cmd != 0xe3 && cmd != 0x00) {
        set_signature(c, d);        /* so an ATA driver learns what this is */
        cmd_abort(c, d, ER_ABRT);
        return;
    }
    switch (cmd) {
    case 0xec:                      /* IDENTIFY DEVICE */
        identify_ata(d, d->buf, unit, chn);
        send_sector(c, d);
        return;
    case 0xa1:                      /* IDENTIFY PACKET DEVICE */
        if (!d->atapi)
            break;
        identify_atapi(d, d->buf, unit, chn);
        send_sector(c, d);
        return;
    case 0x20: case 0x21: ata_rw(c, d, false, false, false); return;   /* READ SECTORS */
    case 0x24: ata_rw(c, d, false, true, false); return;               /* READ SECTORS EXT */
    case 0xc4: ata_rw(c, d, false, false, true); return;               /* READ MULTIPLE */
    case 0x29: ata_rw(c, d, false, true, true); return;                /* READ MULTIPLE EXT */
    case 0x30: case 0x31: ata_rw(c, d, true, false, false); return;    /* WRITE SECTORS */
    case 0x34: ata_rw(c, d, true, true, false); return;                /* WRITE SECTORS EXT */
    case 0xc5: ata_rw(c, d, true, false, true); return;                /* WRITE MULTIPLE */
    case 0x39: ata_rw(c, d, true, true, true); return;                 /* WRITE MULTIPLE EXT */
    case 0xc8: case 0xc9: ata_dma(c, d, false, false); return;         /* READ DMA */
    case 0x25: ata_dma(c, d, false, true); return;                     /* READ DMA EXT */
    case 0xca: case 0xcb: ata_dma(c, d, true, false); return;          /* WRITE DMA */
    case 0x35: ata_dma(c, d, true, true); return;                      /* WRITE DMA EXT */
    case 0x40: case 0x41: case 0x42: {                                 /* READ VERIFY (EXT) */
        uint64_t lba;
        uint32_t n;
        if (!ata_address(c, d, cmd == 0x42, &lba, &n)) {
            cmd_abort(c, d, ER_IDNF | ER_ABRT);
            return;
        }
        cmd_done(c, d);
        return;
    }
    case 0xc6:                      /* SET MULTIPLE MODE */
        if (c->nsector > MAX_MULT || (c->nsector & (c->nsector - 1)))
            break;
        d->mult = c->nsector;
        cmd_done(c, d);
        return;
    case 0xe7: case 0xea:           /* FLUSH CACHE (EXT) */
        if (d->be.flush && d->be.flush(d->be.opaque) < 0) {
            cmd_abort(c, d, ER_ABRT);
            return;
        }
        cmd_done(c, d);
        return;
    case 0x91:                      /* INITIALIZE DEVICE PARAMETERS: fixed geometry */
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:    /* power management */
        cmd_done(c, d);
        return;
    case 0xef:                      /* SET FEATURES */
        if (c->feature == 0x03 && !d->atapi) {
            /* Set transfer mode (ATA-6 §8.46.11): PIO default/flow control,
             * or multiword DMA 0-2; no Ultra DMA on a PIIX3. */
            uint8_t m = c->nsector;
            if ((m & 0xf8) == 0x20 && (m & 7) <= 2)
                d->mwdma = m & 7;
            else if (m <= 1 || (m & 0xf8) == 0x08)
                d->mwdma = -1;
            else
                break;
        }
        cmd_done(c, d);     /* cache and the rest: accepted */
        return;
    case 0xe5:                      /* CHECK POWER MODE: active */
        c->nsector = 0xff;
        cmd_done(c, d);
        return;
    case 0xf8: {                    /* READ NATIVE MAX ADDRESS */
        uint64_t max = d->sectors ? d->sectors - 1 : 0;
        c->sector = (uint8_t)max;
        c->lcyl = (uint8_t)(max >> 8);
        c->hcyl = (uint8_t)(max >> 16);
        c->select = (uint8_t)((c->select & 0xf0) | ((max >> 24) & 0x0f));
        cmd_done(c, d);
        return;
    }
    case 0x90:                      /* EXECUTE DEVICE DIAGNOSTIC */
    case 0x08:                      /* DEVICE RESET (ATAPI) */
        if (cmd == 0x08 && !d->atapi)
            break;
        set_signature(c, d);
        d->error = 0x01;
        d->xfer = X_NONE;
        d->status = d->atapi ? 0 : (ST_DRDY | ST_DSC);
        if (cmd == 0x90)
            raise_irq(c);
        return;
    case 0xa0:                      /* PACKET */
        if (!d->atapi || (c->feature & 1))     /* no DMA here */
            break;
        d->limit = (uint32_t)c->hcyl << 8 | c->lcyl;
        d->limit &= ~1u;
        if (d->limit == 0)
            d->limit = 0xfffe;
        d->xfer = X_PACKET;
        d->pos = 0;
        d->end = 12;
        c->nsector = IR_COD;
        d->status = ST_DRDY | ST_DRQ;
        return;
    }
    cmd_abort(c, d, ER_ABRT);
}

/* ---- data port ---- */

static void data_advance(struct ide_channel *c, struct ide_drive *d)
{
    if (d->pos < d->end)
        return;
    switch (d->xfer) {
    case X_ATA_IN:
        if (d->left == 0) {             /* IDENTIFY */
            d->xfer = X_NONE;
            d->pos = d->end = 0;
            d->status = ST_DRDY | ST_DSC;
        } else {
            ata_block_done(c, d);
        }
        break;
    case X_ATA_OUT:
        ata_block_done(c, d);
        break;
    case X_PACKET:
        atapi_packet(c, d);
        break;
    case X_ATAPI_IN:
        atapi_next_chunk(c, d);
        break;
    default:
        break;
    }
}

static uint32_t data_read(struct ide_channel *c, unsigned size)
{
    struct ide_drive *d = &c->drive[c->cur];
    if (!d->present || !(d->status & ST_DRQ) ||
        (d->xfer != X_ATA_IN && d->xfer != X_ATAPI_IN))
        return size == 4 ? 0xffffffffu : 0xffff;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && d->pos < d->end; i++)
        v |= (uint32_t)d->buf[d->pos++] << (8 * i);
    data_advance(c, d);
    return v;
}

static void data_write(struct ide_channel *c, uint32_t v, unsigned size)
{
    struct ide_drive *d = &c->drive[c->cur];
    if (!d->present || !(d->status & ST_DRQ) || (d->xfer != X_ATA_OUT && d->xfer != X_PACKET))
        return;
    for (unsigned i = 0; i < size && d->pos < d->end; i++)
        d->buf[d->pos++] = (uint8_t)(v >> (8 * i));
    data_advance(c, d);
}

/* ---- registers ---- */

static bool none_selected(struct ide_channel *c)
{
    return !c->drive[c->cur].present;
}

static uint64_t cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    struct ide_channel *c = opaque;
    struct ide_drive *d = &c->drive[c->cur];
    bool hob = c->devctl & DC_HOB;
    if (addr == 0)
        return data_read(c, size >= 4 ? 4 : 2);
    /* An absent device answers nothing: zeros (QEMU's choice), which
     * drivers read as "no device here". */
    if (none_selected(c))
        return 0;
    switch (addr) {
    case 1: return d->error;
    case 2: return hob ? c->hob_nsector : c->nsector;
    case 3: return hob ? c->hob_sector : c->sector;
    case 4: return hob ? c->hob_lcyl : c->lcyl;
    case 5: return hob ? c->hob_hcyl : c->hcyl;
    case 6: return c->select | 0xa0;
    case 7:
        c->irq_pending = false;         /* reading Status acknowledges INTRQ */
        update_irq(c);
        return d->status;
    }
    return 0xff;
}

static void cmd_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct ide_channel *c = opaque;
    uint8_t v = (uint8_t)val;
    if (addr == 0) {
        data_write(c, (uint32_t)val, size >= 4 ? 4 : 2);
        return;
    }
    /* Writing any task-file register clears HOB (ATA-6 §7.9). */
    c->devctl &= (uint8_t)~DC_HOB;
    switch (addr) {
    case 1: c->hob_feature = c->feature; c->feature = v; break;
    case 2: c->hob_nsector = c->nsector; c->nsector = v; break;
    case 3: c->hob_sector = c->sector; c->sector = v; break;
    case 4: c->hob_lcyl = c->lcyl; c->lcyl = v; break;
    case 5: c->hob_hcyl = c->hcyl; c->hcyl = v; break;
    case 6:
        c->select = v;
        c->cur = (v >> 4) & 1;
        break;
    case 7: execute(c, v); break;
    }
}

static void channel_reset(struct ide_channel *c)
{
    c->cur = 0;
    c->select = 0xa0;
    c->feature = c->hob_feature = 0;
    c->hob_nsector = c->hob_sector = c->hob_lcyl = c->hob_hcyl = 0;
    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &c->drive[u];
        d->xfer = X_NONE;
        d->pos = d->end = 0;
        d->mult = 0;
        d->mwdma = -1;
        d->error = 0x01;
        d->status = !d->present ? 0 : d->atapi ? 0 : (ST_DRDY | ST_DSC);
        atapi_sense(d, 0, 0);
        if (d->present)
            set_signature(c, d);
    }
    c->irq_pending = false;
    update_irq(c);
}

static uint64_t ctl_read(void *opaque, uint64_t addr, unsigned size)
{
    struct ide_channel *c = opaque;
    if (none_selected(c))
        return 0;
    return c->drive[c->cur].status;     /* Alternate Status: no acknowledge */
}

static void ctl_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct ide_channel *c = opaque;
    uint8_t old = c->devctl;
    c->devctl = (uint8_t)val;
    /* SRST: reset while set, devices come back when it is cleared. */
    if ((val & DC_SRST) && !(old & DC_SRST)) {
        for (int u = 0; u < 2; u++)
            if (c->drive[u].present)
                c->drive[u].status = ST_BSY;
    } else if (!(val & DC_SRST) && (old & DC_SRST)) {
        uint8_t ctl = c->devctl;
        channel_reset(c);
        c->devctl = ctl;
    }
    update_irq(c);
}

/* ---- PCI function ---- */

static void ide_pci_reset(struct pci_device *pd)
{
    struct ide *ide = pd->opaque;
    for (int i = 0; i < 2; i++) {
        ide->ch[i].devctl = 0;
        ide->ch[i].bm_cmd = ide->ch[i].bm_status = 0;
        ide->ch[i].bm_prdt = 0;
        channel_reset(&ide->ch[i]);
    }
}

void ide_reset(struct ide *ide)
{
    ide_pci_reset(&ide->pci);
}

struct ide *ide_create(struct pci_bus *bus, struct iomap *pio, const struct irq *irq14,
                       const struct irq *irq15, const struct ide_drive_config drives[IDE_DRIVES])
{
    struct ide *ide = calloc(1, sizeof(*ide));
    if (!ide)
        return NULL;
    ide->pio = pio;
    static const uint16_t base[2] = {0x1f0, 0x170}, ctl[2] = {0x3f6, 0x376};
    for (int i = 0; i < 2; i++) {
        struct ide_channel *c = &ide->ch[i];
        c->ide = ide;
        c->irq = i == 0 ? *irq14 : *irq15;
        c->base = base[i];
        c->ctl = ctl[i];
        for (int u = 0; u < 2; u++) {
            const struct ide_drive_config *dc = &drives[i * 2 + u];
            struct ide_drive *d = &c->drive[u];
            if (!dc->present)
                continue;
            d->present = true;
            d->atapi = dc->cdrom;
            d->be = dc->be;
            d->buf = calloc(1, BUF_SIZE);
            if (!d->buf)
                goto fail;
            d->sectors = dc->be.size / (d->atapi ? CD_SECTOR : SECTOR);
            /* The usual translation: 16 heads, 63 sectors, up to 16383 cylinders. */
            d->heads = 16;
            d->spt = 63;
            uint64_t cyl = d->sectors / (16 * 63);
            d->cyls = (uint16_t)(cyl > 16383 ? 16383 : cyl ? cyl : 1);
        }
    }
    /* 8086:7010, mass storage / IDE, prog-if 0x80: legacy mode on both
     * channels, bus master capable: the bus master registers in I/O BAR4. */
    pci_device_init(&ide->pci, "piix3-ide", 0x8086, 0x7010, 0x00, 0x010180, 0x1af4, 0x1100, 0);
    ide->pci.opaque = ide;
    ide->pci.reset = ide_pci_reset;
    if (pci_device_set_bar(&ide->pci, 4, PCI_BAR_IO, 16, bm_read, bm_write, ide) < 0)
        goto fail;
    /* IDETIM primary/secondary: IDE decode enable (bit 15), as SeaBIOS
     * programs it; Linux's ata_piix checks these enable bits. */
    ide->pci.config[0x41] = 0x80;
    ide->pci.config[0x43] = 0x80;
    for (int r = 0x40; r <= 0x4b; r++)
        ide->pci.wmask[r] = 0xff;
    le_st16(&ide->pci.config[PCI_COMMAND], PCI_CMD_IO);
    if (pci_device_register(bus, &ide->pci, 1, 1) < 0)
        goto fail;
    for (int i = 0; i < 2; i++) {
        struct ide_channel *c = &ide->ch[i];
        if (iomap_register(pio, c->base, 8, cmd_read, cmd_write, c, i ? "ide1" : "ide0") < 0 ||
            iomap_register(pio, c->ctl, 1, ctl_read, ctl_write, c, i ? "ide1-ctl" : "ide0-ctl") < 0) {
            fprintf(stderr, "tremu: IDE ports 0x%x/0x%x are taken\n", c->base, c->ctl);
            goto fail_ports;
        }
        channel_reset(c);
    }
    return ide;
fail_ports:
    for (int i = 0; i < 2; i++) {
        iomap_unregister(pio, ide->ch[i].base);
        iomap_unregister(pio, ide->ch[i].ctl);
    }
    pci_device_unregister(&ide->pci);
fail:
    for (int i = 0; i < 2; i++)
        for (int u = 0; u < 2; u++)
            free(ide->ch[i].drive[u].buf);
    free(ide);
    return NULL;
}

void ide_free(struct ide *ide)
{
    if (!ide)
        return;
    for (int i = 0; i < 2; i++) {
        iomap_unregister(ide->pio, ide->ch[i].base);
        iomap_unregister(ide->pio, ide->ch[i].ctl);
        for (int u = 0; u < 2; u++)
            free(ide->ch[i].drive[u].buf);
    }
    pci_device_unregister(&ide->pci);
    free(ide);
}
