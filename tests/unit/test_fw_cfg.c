/* fw_cfg: port and DMA interfaces, the file directory, and the ACPI tables
 * as a table-loader set executed the way SeaBIOS's romfile_loader does. */
#include "test.h"
#include "hw/fw_cfg.h"
#include "hw/pc_fw.h"
#include "hw/acpi.h"
#include "hw/iomap.h"
#include <stdlib.h>
#include <string.h>

#define RAM_SIZE 0x20000
static uint8_t ram[RAM_SIZE];
static int written_calls;

static uint8_t *ram_ptr(void *o, uint64_t gpa, uint64_t len)
{
    if (len > RAM_SIZE || gpa > RAM_SIZE - len)
        return NULL;
    return ram + gpa;
}

static void ram_written(void *o, uint64_t gpa, uint64_t len) { written_calls++; }

static struct fw_cfg *setup(struct iomap *pio)
{
    iomap_init(pio, "pio", NULL);
    memset(ram, 0xcc, sizeof(ram));
    written_calls = 0;
    struct guest_mem mem = {.ptr = ram_ptr, .opaque = NULL, .written = ram_written};
    return fw_cfg_create(pio, &mem);
}

static void sel(struct iomap *pio, uint16_t key) { iomap_write(pio, FW_CFG_PORT_SEL, key, 2); }
static uint8_t rd(struct iomap *pio) { return (uint8_t)iomap_read(pio, FW_CFG_PORT_DATA, 1); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void st_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* One DMA request, as SeaBIOS issues it: the access struct in RAM, its
 * address written big-endian, low half last. Returns the control word after. */
static uint32_t dma(struct iomap *pio, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t *a = ram + 0x100;
    st_be32(a, control);
    st_be32(a + 4, len);
    st_be32(a + 8, (uint32_t)(addr >> 32));
    st_be32(a + 12, (uint32_t)addr);
    iomap_write(pio, FW_CFG_PORT_DMA, __builtin_bswap32(0), 4);
    iomap_write(pio, FW_CFG_PORT_DMA + 4, __builtin_bswap32(0x100), 4);
    return be32(a);
}

TEST(fw_cfg_signature_and_id_through_ports)
{
    struct iomap pio;
    struct fw_cfg *f = setup(&pio);
    CHECK(f);
    sel(&pio, FW_CFG_SIGNATURE);
    char s[5] = {0};
    for (int i = 0; i < 4; i++)
        s[i] = (char)rd(&pio);
    CHECK(!strcmp(s, "QEMU"));
    CHECK_EQ(rd(&pio), 0);              /* past the end: zeros */
    sel(&pio, FW_CFG_ID);
    uint32_t id = 0;
    for (int i = 0; i < 4; i++)
        id |= (uint32_t)rd(&pio) << (8 * i);
    CHECK_EQ(id, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
    sel(&pio, 0x1234);                  /* unknown key reads as zeros */
    CHECK_EQ(rd(&pio), 0);
    /* the DMA register reads "QEMU CFG" in memory order */
    CHECK_EQ(iomap_read(&pio, FW_CFG_PORT_DMA, 4), 0x554d4551);
    CHECK_EQ(iomap_read(&pio, FW_CFG_PORT_DMA + 4, 4), 0x47464320);
    fw_cfg_free(f);
    iomap_destroy(&pio);
}

TEST(fw_cfg_file_directory_sorted_big_endian)
{
    struct iomap pio;
    struct fw_cfg *f = setup(&pio);
    int kb = fw_cfg_add_file(f, "etc/b", "BBBB", 4);
    int ka = fw_cfg_add_file(f, "etc/a", "A", 1);
    CHECK(kb >= FW_CFG_FILE_FIRST && ka >= FW_CFG_FILE_FIRST && ka != kb);
    CHECK_EQ(fw_cfg_add_file(f, "", "x", 1), (unsigned long long)-1);
    char longname[80];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[79] = 0;
    CHECK_EQ(fw_cfg_add_file(f, longname, "x", 1), (unsigned long long)-1);
    sel(&pio, FW_CFG_FILE_DIR);
    uint8_t d[4 + 2 * 64];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = rd(&pio);
    CHECK_EQ(be32(d), 2);
    CHECK_EQ(be32(d + 4), 1);                           /* etc/a first */
    CHECK_EQ((d[8] << 8) | d[9], ka);
    CHECK(!strcmp((char *)d + 12, "etc/a"));
    CHECK_EQ(be32(d + 68), 4);
    CHECK_EQ((d[72] << 8) | d[73], kb);
    CHECK(!strcmp((char *)d + 76, "etc/b"));
    sel(&pio, (uint16_t)kb);
    CHECK_EQ(rd(&pio), 'B');
    /* replacing keeps the key and updates the directory's size */
    CHECK_EQ(fw_cfg_add_file(f, "etc/b", "BB", 2), kb);
    size_t len = 0;
    CHECK(fw_cfg_file(f, "etc/b", &len) && len == 2);
    fw_cfg_free(f);
    iomap_destroy(&pio);
}

TEST(fw_cfg_dma_read_skip_zero_fill_and_errors)
{
    struct iomap pio;
    struct fw_cfg *f = setup(&pio);
    int k = fw_cfg_add_file(f, "etc/data", "0123456789", 10);
    CHECK(k > 0);
    /* select + read 4 */
    CHECK_EQ(dma(&pio, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x1000), 0);
    CHECK(!memcmp(ram + 0x1000, "0123", 4));
    CHECK_EQ(ram[0x1004], 0xcc);
    CHECK(written_calls > 0);
    /* skip 2, then read 8: 4 bytes left, 4 zeros after */
    CHECK_EQ(dma(&pio, FW_CFG_DMA_SKIP, 2, 0), 0);
    CHECK_EQ(dma(&pio, FW_CFG_DMA_READ, 8, 0x2000), 0);
    CHECK(!memcmp(ram + 0x2000, "6789\0\0\0\0", 8));
    /* the port interface shares the position */
    sel(&pio, (uint16_t)k);
    CHECK_EQ(dma(&pio, FW_CFG_DMA_SKIP, 9, 0), 0);
    CHECK_EQ(rd(&pio), '9');
    /* a destination outside RAM, and any write, set the error bit */
    CHECK_EQ(dma(&pio, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 16, RAM_SIZE - 8),
             FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(&pio, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, 0x1000),
             FW_CFG_DMA_ERROR);
    CHECK(!memcmp(ram + 0x1000, "0123", 4));
    size_t len;
    CHECK(!memcmp(fw_cfg_file(f, "etc/data", &len), "0123456789", 10));
    /* an access struct outside RAM: nothing happens, no crash */
    iomap_write(&pio, FW_CFG_PORT_DMA, __builtin_bswap32(0xffffffffu), 4);
    iomap_write(&pio, FW_CFG_PORT_DMA + 4, __builtin_bswap32(0xfffffff0u), 4);
    fw_cfg_free(f);
    iomap_destroy(&pio);
}

/* ---- the table-loader, executed like SeaBIOS's romfile_loader ---- */

struct placed { const char *name; uint8_t *blob; size_t len; uint64_t at; };

static struct placed *find(struct placed *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strncmp(p[i].name, name, 56))
            return &p[i];
    return NULL;
}

TEST(fw_cfg_acpi_table_loader_links_valid_tables)
{
    struct acpi_config ac;
    acpi_config_default(&ac, 256ULL << 20);
    uint8_t *tables, *rsdp, *loader;
    size_t tl, rl, ll;
    CHECK_EQ(pc_fw_acpi_blobs(&ac, &tables, &tl, &rsdp, &rl, &loader, &ll), 0);
    CHECK(ll % FW_LOADER_ENTRY_SIZE == 0 && ll > 0);
    CHECK_EQ(rl, 36);
    CHECK(tl <= RAM_SIZE / 2);
    memset(ram, 0, sizeof(ram));
    /* "high" zone at 0x10000, "fseg" at 0x100 of our small RAM */
    struct placed files[2] = {{"etc/acpi/tables", tables, tl, 0}, {"etc/acpi/rsdp", rsdp, rl, 0}};
    int allocated = 0, pointers = 0, sums = 0;
    for (size_t o = 0; o < ll; o += FW_LOADER_ENTRY_SIZE) {
        const uint8_t *e = loader + o;
        uint32_t cmd = le32(e);
        if (cmd == FW_LOADER_ALLOCATE) {
            struct placed *p = find(files, 2, (const char *)e + 4);
            CHECK(p);
            if (!p) continue;
            uint8_t zone = e[4 + 60];
            uint32_t align = le32(e + 4 + 56);
            CHECK(align && !(align & (align - 1)));
            p->at = zone == FW_LOADER_ZONE_FSEG ? 0x100 : 0x10000;
            CHECK(zone == FW_LOADER_ZONE_FSEG || zone == FW_LOADER_ZONE_HIGH);
            CHECK((strcmp(p->name, "etc/acpi/rsdp") == 0) == (zone == FW_LOADER_ZONE_FSEG));
            memcpy(ram + p->at, p->blob, p->len);
            allocated++;
        } else if (cmd == FW_LOADER_ADD_POINTER) {
            struct placed *d = find(files, 2, (const char *)e + 4);
            struct placed *s = find(files, 2, (const char *)e + 60);
            uint32_t off = le32(e + 4 + 112);
            uint8_t size = e[4 + 116];
            CHECK(d && s && d->at && s->at && (size == 4 || size == 8) && off + size <= d->len);
            if (!d || !s) continue;
            uint64_t v = size == 8 ? le64(ram + d->at + off) : le32(ram + d->at + off);
            v += s->at;
            for (int i = 0; i < size; i++)
                ram[d->at + off + i] = (uint8_t)(v >> (8 * i));
            pointers++;
        } else if (cmd == FW_LOADER_ADD_CHECKSUM) {
            struct placed *p = find(files, 2, (const char *)e + 4);
            uint32_t off = le32(e + 4 + 56), start = le32(e + 4 + 60), len = le32(e + 4 + 64);
            CHECK(p && off < p->len && start + len <= p->len);
            if (!p) continue;
            ram[p->at + off] = (uint8_t)(ram[p->at + off] - acpi_sum(ram + p->at + start, len));
            sums++;
        } else {
            CHECK(!"unknown loader command");
        }
    }
    CHECK_EQ(allocated, 2);
    CHECK(pointers >= 7);       /* RSDT, XSDT, FADT x3, RSDP x2 */
    CHECK(sums >= 5);
    /* The result, read as an OS would from the RSDP. */
    const uint8_t *r = ram + 0x100;
    CHECK(!memcmp(r, "RSD PTR ", 8));
    CHECK_EQ(acpi_sum(r, 20), 0);
    CHECK_EQ(acpi_sum(r, 36), 0);
    uint64_t rsdt = le32(r + 16), xsdt = le64(r + 24);
    CHECK(rsdt >= 0x10000 && rsdt < 0x10000 + tl && xsdt >= 0x10000 && xsdt < 0x10000 + tl);
    if (rsdt < 0x10000 || xsdt < 0x10000 || rsdt >= RAM_SIZE - 64 || xsdt >= RAM_SIZE - 64)
        goto out;
    CHECK(!memcmp(ram + rsdt, "RSDT", 4) && !memcmp(ram + xsdt, "XSDT", 4));
    CHECK_EQ(acpi_sum(ram + rsdt, le32(ram + rsdt + 4)), 0);
    CHECK_EQ(acpi_sum(ram + xsdt, le32(ram + xsdt + 4)), 0);
    uint64_t fadt = le64(ram + xsdt + 36);
    CHECK_EQ(fadt, le32(ram + rsdt + 36));
    if (fadt < 0x10000 || fadt >= RAM_SIZE - 256)
        goto out;
    CHECK(!memcmp(ram + fadt, "FACP", 4));
    CHECK_EQ(acpi_sum(ram + fadt, le32(ram + fadt + 4)), 0);
    uint64_t facs = le32(ram + fadt + 36), dsdt = le32(ram + fadt + 40);
    CHECK_EQ(le64(ram + fadt + 140), dsdt);
    CHECK(facs < RAM_SIZE - 64 && dsdt < RAM_SIZE - 64);
    if (facs < RAM_SIZE - 64 && dsdt < RAM_SIZE - 64) {
        CHECK(!memcmp(ram + facs, "FACS", 4));
        CHECK(!memcmp(ram + dsdt, "DSDT", 4));
        CHECK_EQ(acpi_sum(ram + dsdt, le32(ram + dsdt + 4)), 0);
    }
    /* the tables blob carries no second RSDP for a scan to find */
    CHECK(memcmp(ram + 0x10000, "RSD PTR ", 8) != 0);
out:
    free(tables);
    free(rsdp);
    free(loader);
}
