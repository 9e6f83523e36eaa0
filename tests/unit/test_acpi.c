/* ACPI: the tables (structure, checksums, FADT fields, the DSDT's \_S5 and
 * _PRT, a legacy RSDP scan as Linux does it) and the PM device driven
 * through its ports with a manual clock.
 * With TREMU_ACPI_DUMP_DIR set, acpi_dump leaves the tables there as
 * <sig>.dat for tests/suites/acpi.sh (iasl -d round trip). */
#include "test.h"
#include "hw/acpi.h"
#include "hw/acpi_pm.h"
#include "hw/machine.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static uint32_t ld32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }

#define BASE ACPI_AREA_BASE
static uint8_t area[ACPI_AREA_SIZE];
static struct acpi_config cfg;
static struct acpi_table_ref refs[16];
static int nrefs;

static uint64_t build(void)
{
    acpi_config_default(&cfg, 0x40000000);
    memset(area, 0xcc, sizeof(area));
    uint64_t rsdp = acpi_build_tables(area, sizeof(area), BASE, &cfg);
    nrefs = acpi_list_tables(area, sizeof(area), BASE, refs, 16);
    return rsdp;
}

static const struct acpi_table_ref *find(const char *sig)
{
    for (int i = 0; i < nrefs && i < 16; i++)
        if (!strcmp(refs[i].sig, sig))
            return &refs[i];
    return NULL;
}

static const uint8_t *tab(const char *sig, uint32_t *len)
{
    const struct acpi_table_ref *r = find(sig);
    if (!r)
        return NULL;
    if (len)
        *len = r->len;
    return area + (r->addr - BASE);
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
    return memmem(h, hl, n, nl);
}

TEST(acpi_tables_present_and_checksummed)
{
    uint64_t rsdp = build();
    CHECK_EQ(rsdp, BASE);
    CHECK_EQ(nrefs, 6);
    static const char *const sigs[] = {"RSDP", "RSDT", "XSDT", "FACP", "FACS", "DSDT"};
    for (int i = 0; i < 6; i++) {
        const struct acpi_table_ref *r = find(sigs[i]);
        CHECK(r != NULL);
        if (!r)
            continue;
        const uint8_t *t = area + (r->addr - BASE);
        if (strcmp(sigs[i], "RSDP") && strcmp(sigs[i], "FACS")) {
            CHECK(!memcmp(t, sigs[i], 4));
            CHECK_EQ(ld32(t + 4), r->len);
            CHECK_EQ(acpi_sum(t, r->len), 0);
            CHECK(!memcmp(t + 10, "TREMU ", 6));
        }
        /* Nothing runs over the area; tables are 16-byte aligned. */
        CHECK(r->addr - BASE + r->len <= sizeof(area));
        CHECK_EQ(r->addr & 0xf, 0);
    }
    const uint8_t *r = area;
    CHECK(!memcmp(r, "RSD PTR ", 8));
    CHECK_EQ(acpi_sum(r, 20), 0);
    CHECK_EQ(acpi_sum(r, 36), 0);
    CHECK_EQ(r[15], 2);
    CHECK_EQ(ld32(r + 20), 36);
    CHECK_EQ(ld32(r + 16), find("RSDT")->addr);
    CHECK_EQ(ld64(r + 24), find("XSDT")->addr);

    uint32_t len = 0;
    const uint8_t *rsdt = tab("RSDT", &len);
    CHECK_EQ(len, 40);
    CHECK_EQ(ld32(rsdt + 36), find("FACP")->addr);
    const uint8_t *xsdt = tab("XSDT", &len);
    CHECK_EQ(len, 44);
    CHECK_EQ(ld64(xsdt + 36), find("FACP")->addr);

    const uint8_t *facs = tab("FACS", &len);
    CHECK(!memcmp(facs, "FACS", 4));
    CHECK_EQ(len, 64);
    CHECK_EQ(find("FACS")->addr & 63, 0);
    CHECK_EQ(tab("DSDT", NULL)[8], 2);              /* 64-bit integers */

    /* Deterministic: a second build gives the same bytes. */
    static uint8_t copy[ACPI_AREA_SIZE];
    memcpy(copy, area, sizeof(area));
    build();
    CHECK(!memcmp(copy, area, sizeof(area)));
}

/* Linux's acpi_find_root_pointer: 16-byte steps over 0xE0000-0xFFFFF,
 * signature plus the 20-byte checksum (and the 36-byte one for rev 2). */
TEST(acpi_rsdp_found_by_legacy_scan)
{
    build();
    static uint8_t bios[0x20000];      /* 0xE0000-0xFFFFF */
    memset(bios, 0, sizeof(bios));
    memcpy(bios, area, sizeof(area));
    uint64_t found = 0;
    for (uint64_t a = 0; a + 36 <= sizeof(bios); a += 16) {
        const uint8_t *p = bios + a;
        if (memcmp(p, "RSD PTR ", 8) || acpi_sum(p, 20))
            continue;
        if (p[15] >= 2 && acpi_sum(p, ld32(p + 20)))
            continue;
        found = 0xe0000 + a;
        break;
    }
    CHECK_EQ(found, 0xe0000);
}

TEST(acpi_fadt_fields)
{
    build();
    uint32_t len = 0;
    const uint8_t *f = tab("FACP", &len);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ(len, 244);
    CHECK_EQ(f[8], 3);
    CHECK_EQ(ld32(f + 36), find("FACS")->addr);
    CHECK_EQ(ld32(f + 40), find("DSDT")->addr);
    CHECK_EQ(ld64(f + 140), find("DSDT")->addr);
    CHECK_EQ(ld16(f + 46), 9);                 /* SCI_INT */
    CHECK_EQ(ld32(f + 48), 0);                 /* SMI_CMD: always in ACPI mode */
    CHECK_EQ(ld32(f + 56), 0x600);             /* PM1a_EVT_BLK */
    CHECK_EQ(ld32(f + 64), 0x604);             /* PM1a_CNT_BLK */
    CHECK_EQ(ld32(f + 76), 0x608);             /* PM_TMR_BLK */
    CHECK_EQ(ld32(f + 60), 0);                 /* no PM1b */
    CHECK_EQ(ld32(f + 80), 0);                 /* no GPE0 */
    CHECK_EQ(f[88], 4);
    CHECK_EQ(f[89], 2);
    CHECK_EQ(f[91], 4);
    CHECK_EQ(f[108], 0x32);                    /* CENTURY */
    CHECK_EQ(ld16(f + 109), 0x3);              /* legacy devices + 8042 */
    uint32_t flags = ld32(f + 112);
    CHECK(flags & (1u << 10));                 /* RESET_REG_SUP */
    CHECK(!(flags & (1u << 8)));               /* 24-bit PM timer */
    CHECK(!(flags & (1u << 4)));               /* fixed power button */
    CHECK(!(flags & (1u << 20)));              /* not hardware-reduced */
    /* RESET_REG: SystemIO, 8 bits at 0xCF9, value 6. */
    CHECK_EQ(f[116], 1);
    CHECK_EQ(f[117], 8);
    CHECK_EQ(ld64(f + 120), 0xcf9);
    CHECK_EQ(f[128], 6);
    /* X_ forms agree with the 32-bit blocks. */
    CHECK_EQ(f[148], 1); CHECK_EQ(f[149], 32); CHECK_EQ(ld64(f + 152), 0x600);
    CHECK_EQ(f[172], 1); CHECK_EQ(f[173], 16); CHECK_EQ(ld64(f + 176), 0x604);
    CHECK_EQ(f[208], 1); CHECK_EQ(f[209], 32); CHECK_EQ(ld64(f + 212), 0x608);
    CHECK_EQ(ld64(f + 160), 0);                /* X_PM1b_EVT_BLK */
}

TEST(acpi_dsdt_s5_and_devices)
{
    build();
    uint32_t len = 0;
    const uint8_t *d = tab("DSDT", &len);
    CHECK(d != NULL);
    if (!d)
        return;
    /* Name(\_S5_, Package(4){0, 0, 0, 0}): the SLP_TYP the PM device powers
     * off on. */
    static const uint8_t s5[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
    CHECK(memfind(d, len, s5, sizeof(s5)) != NULL);
    CHECK_EQ(ACPI_SLP_TYP_S5, 0);
    /* Scope(\_SB) holding Device(PCI0) with _HID EISAID("PNP0A03"). */
    CHECK_EQ(d[36 + 13], 0x10);
    CHECK(memfind(d, len, "\\_SB_", 5) != NULL);
    CHECK(memfind(d, len, "PCI0", 4) != NULL);
    static const uint8_t hid_pci[] = {'_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
    CHECK(memfind(d, len, hid_pci, sizeof(hid_pci)) != NULL);
    /* The ISA devices Linux's PNP drivers bind to. */
    static const uint8_t kbd[] = {0x0c, 0x41, 0xd0, 0x03, 0x03};   /* PNP0303 */
    static const uint8_t mou[] = {0x0c, 0x41, 0xd0, 0x0f, 0x13};   /* PNP0F13 */
    static const uint8_t rtc[] = {0x0c, 0x41, 0xd0, 0x0b, 0x00};   /* PNP0B00 */
    static const uint8_t com[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};   /* PNP0501 */
    static const uint8_t pit[] = {0x0c, 0x41, 0xd0, 0x01, 0x00};   /* PNP0100 */
    static const uint8_t pic[] = {0x0b, 0x41, 0xd0, 0x08};         /* PNP0000 (Word), then Name */
    CHECK(memfind(d, len, kbd, 5) && memfind(d, len, mou, 5) && memfind(d, len, rtc, 5));
    CHECK(memfind(d, len, com, 5) && memfind(d, len, pit, 5) && memfind(d, len, pic, 4));
    /* COM1's resources: IO(Decode16, 0x3F8, 0x3F8, 1, 8), IRQNoFlags(4). */
    static const uint8_t com1[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00};
    CHECK(memfind(d, len, com1, sizeof(com1)) != NULL);
    /* Keyboard: 0x60, 0x64, IRQ 1. */
    static const uint8_t kbdres[] = {0x47, 0x01, 0x60, 0, 0x60, 0, 1, 1, 0x47, 0x01, 0x64, 0, 0x64, 0, 1, 1,
                                     0x22, 0x02, 0x00};
    CHECK(memfind(d, len, kbdres, sizeof(kbdres)) != NULL);
    /* The PCI hole window: DWordMemory 0x40000000-0xFEBFFFFF. */
    static const uint8_t win[] = {0x00, 0x00, 0x00, 0x40, 0xff, 0xff, 0xbf, 0xfe};
    CHECK(memfind(d, len, win, sizeof(win)) != NULL);
    /* Only COM1 by default; COM2 appears when asked for. */
    static const uint8_t com2[] = {0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08, 0x22, 0x08, 0x00};
    CHECK(memfind(d, len, com2, sizeof(com2)) == NULL);
    cfg.serial_mask = 0x3;
    CHECK(acpi_build_tables(area, sizeof(area), BASE, &cfg) == BASE);
    d = area + (find("DSDT")->addr - BASE);
    CHECK(memfind(d, ld32(d + 4), com2, sizeof(com2)) != NULL);
    CHECK_EQ(acpi_sum(d, ld32(d + 4)), 0);
}

TEST(acpi_dsdt_prt)
{
    build();
    uint32_t len = 0;
    const uint8_t *d = tab("DSDT", &len);
    CHECK(d != NULL);
    if (!d)
        return;
    /* PIRQ[(slot - 1 + pin) & 3] → 10, 10, 11, 11, as the PIIX3 router
     * (hw/pci.c, QEMU pc) wires it. */
    CHECK_EQ(acpi_prt_gsi(&cfg, 0, 0), 11);   /* PIRQD */
    CHECK_EQ(acpi_prt_gsi(&cfg, 1, 0), 10);   /* PIRQA */
    CHECK_EQ(acpi_prt_gsi(&cfg, 1, 2), 11);   /* PIRQC */
    CHECK_EQ(acpi_prt_gsi(&cfg, 3, 0), 11);   /* 00:03.0 INTA: PIRQC */
    CHECK_EQ(acpi_prt_gsi(&cfg, 4, 0), 11);   /* 00:04.0 INTA: PIRQD */
    CHECK_EQ(acpi_prt_gsi(&cfg, 5, 0), 10);   /* 00:05.0 INTA: PIRQA */
    CHECK_EQ(acpi_prt_gsi(&cfg, 5, 3), 11);   /* 00:05.0 INTD: PIRQD */
    CHECK_EQ(acpi_prt_gsi(&cfg, 32, 0), -1);
    CHECK_EQ(acpi_prt_gsi(&cfg, 0, 4), -1);
    /* Name(_PRT, Package(128) {...}) */
    const uint8_t *prt = memfind(d, len, "_PRT\x12", 5);
    CHECK(prt != NULL);
    if (!prt)
        return;
    CHECK_EQ(prt[5] >> 6, 1);                  /* two-byte PkgLength */
    CHECK_EQ(prt[7], 128);
    int found = 0;
    const uint8_t *p = prt + 8;
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            uint8_t e[16];
            int n = 0;
            e[n++] = 0x12;
            e[n++] = 0;                        /* PkgLength, below */
            e[n++] = 4;
            /* Address (slot << 16 | 0xFFFF), shortest integer encoding. */
            e[n++] = slot ? 0x0c : 0x0b;
            e[n++] = 0xff; e[n++] = 0xff;
            if (slot) { e[n++] = (uint8_t)slot; e[n++] = 0; }
            if (pin <= 1) e[n++] = (uint8_t)pin;
            else { e[n++] = 0x0a; e[n++] = (uint8_t)pin; }
            e[n++] = 0x00;                     /* Source: static GSI */
            e[n++] = 0x0a;
            e[n++] = (uint8_t)acpi_prt_gsi(&cfg, slot, pin);
            e[1] = (uint8_t)(n - 1);
            /* Entries follow one another in slot/pin order. */
            if (p + n <= d + len && !memcmp(p, e, (size_t)n)) {
                found++;
                p += n;
            }
        }
    }
    CHECK_EQ(found, 128);
}

TEST(acpi_bad_config_and_small_area)
{
    acpi_config_default(&cfg, 0x40000000);
    CHECK_EQ(acpi_build_tables(area, 100, BASE, &cfg), 0);
    CHECK_EQ(acpi_build_tables(area, sizeof(area), BASE + 4, &cfg), 0);   /* unaligned */
    cfg.sci_irq = 16;
    CHECK_EQ(acpi_build_tables(area, sizeof(area), BASE, &cfg), 0);
    acpi_config_default(&cfg, 0xfff00000);                               /* past the IOAPIC */
    CHECK_EQ(acpi_build_tables(area, sizeof(area), BASE, &cfg), 0);
    acpi_config_default(&cfg, 0x40000000);
    cfg.pirq_irq[2] = 200;
    CHECK_EQ(acpi_build_tables(area, sizeof(area), BASE, &cfg), 0);
    acpi_config_default(&cfg, 0x40000000);
    CHECK_EQ(acpi_build_tables(NULL, sizeof(area), BASE, &cfg), 0);
    /* A corrupt area lists nothing past the broken link. */
    build();
    area[24] ^= 0x40;                           /* XSDT address points elsewhere */
    struct acpi_table_ref r[16];
    CHECK(acpi_list_tables(area, sizeof(area), BASE, r, 16) <= 1);
    memset(area, 0, 36);
    CHECK_EQ(acpi_list_tables(area, sizeof(area), BASE, r, 16), 0);
}

TEST(acpi_build_in_machine_reserves_e820)
{
    struct machine_config mc = {0};
    struct machine m = {0};
    mc.ram_size = 16 << 20;
    m.cfg = &mc;
    m.ram = calloc(1, mc.ram_size);
    m.ram_size = mc.ram_size;
    m.lowmem = mc.ram_size;
    machine_e820_build(&m);
    int before = m.ne820;
    struct acpi_config c;
    acpi_config_default(&c, m.lowmem);
    uint64_t rsdp = acpi_build(&m, &c);
    CHECK_EQ(rsdp, 0xe0000);
    CHECK(!memcmp(m.ram + 0xe0000, "RSD PTR ", 8));
    /* Merged with the 0xF0000 BIOS entry: one reserved 0xE0000-0xFFFFF. */
    CHECK_EQ(m.ne820, before);
    int hit = 0;
    for (int i = 0; i < m.ne820; i++) {
        if (m.e820[i].addr <= 0xe0000 && m.e820[i].addr + m.e820[i].size >= 0x100000) {
            CHECK_EQ(m.e820[i].type, E820_RESERVED);
            hit++;
        }
        if (i)
            CHECK(m.e820[i].addr >= m.e820[i - 1].addr + m.e820[i - 1].size);
    }
    CHECK_EQ(hit, 1);
    /* Building again does not grow the map. */
    CHECK_EQ(acpi_build(&m, &c), 0xe0000);
    CHECK_EQ(m.ne820, before);
    /* Too little RAM for the area: refused. */
    m.lowmem = 0x80000;
    CHECK_EQ(acpi_build(&m, &c), 0);
    free(m.ram);
}

TEST(acpi_dump)
{
    build();
    const char *dir = getenv("TREMU_ACPI_DUMP_DIR");
    char tmp[] = "/tmp/tremu-acpi-XXXXXX";
    if (!dir || !*dir) {
        dir = mkdtemp(tmp);
        CHECK(dir != NULL);
        if (!dir)
            return;
    }
    int written = 0;
    for (int i = 0; i < nrefs; i++) {
        char path[4096], sig[5];
        for (int j = 0; j < 5; j++)
            sig[j] = (char)(refs[i].sig[j] >= 'A' && refs[i].sig[j] <= 'Z' ? refs[i].sig[j] + 32 : refs[i].sig[j]);
        snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (!f)
            continue;
        written += fwrite(area + (refs[i].addr - BASE), 1, refs[i].len, f) == refs[i].len;
        fclose(f);
        struct stat st;
        CHECK(stat(path, &st) == 0 && st.st_size == (off_t)refs[i].len);
        if (dir == tmp)
            unlink(path);
    }
    CHECK_EQ(written, 6);
    /* TREMU_ACPI_DUMP_BASE=ADDR: also the whole area built for that guest
     * address (area.bin), to load into another VMM's RAM and boot Linux with
     * acpi_rsdp=ADDR (the end-to-end check of tests/lab). */
    const char *b = getenv("TREMU_ACPI_DUMP_BASE");
    if (b && dir != tmp) {
        static uint8_t img[ACPI_AREA_SIZE];
        uint64_t base = strtoull(b, NULL, 0);
        CHECK_EQ(acpi_build_tables(img, sizeof(img), base, &cfg), base);
        char path[4096];
        snprintf(path, sizeof(path), "%s/area.bin", dir);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK_EQ(fwrite(img, 1, sizeof(img), f), sizeof(img));
            fclose(f);
        }
    }
    if (dir == tmp)
        rmdir(tmp);
}

/* ---- the PM device ---------------------------------------------------------- */

struct probe {
    int level, rises, poweroffs, resets;
};

static void probe_irq(void *opaque, int n, int level)
{
    struct probe *p = opaque;
    if (level && !p->level)
        p->rises++;
    p->level = level;
}

static void probe_poweroff(void *opaque) { ((struct probe *)opaque)->poweroffs++; }
static void probe_reset(void *opaque) { ((struct probe *)opaque)->resets++; }

static struct iomap pio;
static struct clock clk;
static struct irq sci;
static struct probe pr;

static struct acpi_pm *pm_setup(bool cf9)
{
    iomap_init(&pio, "pio", NULL);
    clock_init(&clk, true);
    memset(&pr, 0, sizeof(pr));
    irq_init(&sci, probe_irq, &pr, 9);
    struct acpi_pm_hooks h = {.opaque = &pr, .poweroff = probe_poweroff, .reset = probe_reset};
    return acpi_pm_create(&pio, 0x600, &clk, &sci, &h, cf9);
}

static void pm_teardown(struct acpi_pm *pm)
{
    acpi_pm_free(pm);
    iomap_destroy(&pio);
}

TEST(acpi_pm_timer_rate)
{
    struct acpi_pm *pm = pm_setup(false);
    CHECK(pm != NULL);
    if (!pm)
        return;
    clock_advance(&clk, 1000);
    uint32_t t0 = (uint32_t)iomap_read(&pio, 0x608, 4);
    clock_advance(&clk, NS_PER_SEC);
    uint32_t t1 = (uint32_t)iomap_read(&pio, 0x608, 4);
    /* 3.579545 MHz: one second is 3579545 ticks (±1 for rounding), mod 2^24. */
    uint32_t d = (t1 - t0) & 0xffffff;
    CHECK(d >= 3579544 && d <= 3579546);
    /* 24 bits: after 5 s the counter has wrapped and bits 31:24 read 0. */
    clock_advance(&clk, 4 * NS_PER_SEC);
    uint32_t t2 = (uint32_t)iomap_read(&pio, 0x608, 4);
    CHECK_EQ(t2 >> 24, 0);
    CHECK_EQ(t2, (uint32_t)((5 * NS_PER_SEC + 1000) * 3579545ULL / NS_PER_SEC) & 0xffffff);
    /* Byte reads see the same counter; writes are ignored. */
    iomap_write(&pio, 0x608, 0, 4);
    CHECK_EQ(iomap_read(&pio, 0x608, 4), t2);
    CHECK_EQ(iomap_read(&pio, 0x60a, 1), (t2 >> 16) & 0xff);
    CHECK_EQ(acpi_pm_timer(pm), t2);
    pm_teardown(pm);
}

TEST(acpi_pm_timer_overflow_sci)
{
    struct acpi_pm *pm = pm_setup(false);
    CHECK(pm != NULL);
    if (!pm)
        return;
    /* Bit 23 first changes at 2^23 ticks = 2.343484 s. */
    uint64_t ovf = ((1ULL << 23) * NS_PER_SEC + 3579544) / 3579545;
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_TMR, 0);
    clock_advance(&clk, ovf - 1);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_TMR, 0);
    clock_advance(&clk, 1);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR);
    CHECK_EQ(iomap_read(&pio, 0x608, 4), 1u << 23);
    /* Status without enable: no SCI. */
    CHECK_EQ(pr.level, 0);
    iomap_write(&pio, 0x600, ACPI_PM1_TMR, 2);               /* write 1 to clear */
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_TMR, 0);
    /* With TMR_EN the next change (2^24 ticks) raises the SCI by itself,
     * from the timer, with nobody reading the registers. */
    iomap_write(&pio, 0x602, ACPI_PM1_TMR, 2);
    CHECK_EQ(iomap_read(&pio, 0x602, 2), ACPI_PM1_TMR);
    uint64_t ovf2 = ((1ULL << 24) * NS_PER_SEC + 3579544) / 3579545;
    clock_advance(&clk, ovf2 - clk.manual_ns - 1);
    CHECK_EQ(pr.level, 0);
    clock_advance(&clk, 1);
    CHECK_EQ(pr.level, 1);
    CHECK_EQ(pr.rises, 1);
    CHECK(acpi_pm_sci_level(pm));
    /* Clearing the status drops the line (level-triggered SCI). */
    iomap_write(&pio, 0x600, ACPI_PM1_TMR, 2);
    CHECK_EQ(pr.level, 0);
    /* With SCI_EN clear, events do not reach the SCI. */
    CHECK_EQ(iomap_read(&pio, 0x604, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
    iomap_write(&pio, 0x604, 0, 2);
    clock_advance(&clk, 3 * NS_PER_SEC);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR);
    CHECK_EQ(pr.level, 0);
    iomap_write(&pio, 0x604, ACPI_PM1_SCI_EN, 2);
    CHECK_EQ(pr.level, 1);
    /* Disabling TMR_EN drops it too. */
    iomap_write(&pio, 0x602, 0, 2);
    CHECK_EQ(pr.level, 0);
    pm_teardown(pm);
}

TEST(acpi_pm_pwrbtn_event)
{
    struct acpi_pm *pm = pm_setup(false);
    CHECK(pm != NULL);
    if (!pm)
        return;
    acpi_pm_power_button(pm);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_PWRBTN, ACPI_PM1_PWRBTN);
    CHECK_EQ(pr.level, 0);
    iomap_write(&pio, 0x603, ACPI_PM1_PWRBTN >> 8, 1);      /* byte write of the enable */
    CHECK_EQ(pr.level, 1);
    /* Reserved enable bits do not stick. */
    iomap_write(&pio, 0x602, 0xffff, 2);
    CHECK_EQ(iomap_read(&pio, 0x602, 2), ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN |
                                         ACPI_PM1_SLPBTN | ACPI_PM1_RTC);
    /* Dword write at PM1a_EVT: status (low word, W1C) and enable together. */
    iomap_write(&pio, 0x600, (uint32_t)ACPI_PM1_PWRBTN | (uint32_t)ACPI_PM1_PWRBTN << 16, 4);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_PWRBTN, 0);
    CHECK_EQ(iomap_read(&pio, 0x602, 2), ACPI_PM1_PWRBTN);
    CHECK_EQ(pr.level, 0);
    /* Machine reset: enables and status cleared, SCI_EN set. */
    acpi_pm_power_button(pm);
    CHECK_EQ(pr.level, 1);
    acpi_pm_reset(pm);
    CHECK_EQ(pr.level, 0);
    CHECK_EQ(iomap_read(&pio, 0x602, 2), 0);
    CHECK_EQ(iomap_read(&pio, 0x600, 2) & ACPI_PM1_PWRBTN, 0);
    CHECK_EQ(iomap_read(&pio, 0x604, 2), ACPI_PM1_SCI_EN);
    pm_teardown(pm);
}

TEST(acpi_pm_sleep_s5_poweroff)
{
    struct acpi_pm *pm = pm_setup(false);
    CHECK(pm != NULL);
    if (!pm)
        return;
    /* SLP_TYP only: nothing happens. */
    iomap_write(&pio, 0x604, ACPI_PM1_SCI_EN | 5u << 10, 2);
    CHECK_EQ(pr.poweroffs, 0);
    CHECK_EQ(iomap_read(&pio, 0x604, 2), ACPI_PM1_SCI_EN | 5u << 10);
    /* SLP_TYP 5 (real PIIX4's S5) is not what our DSDT announces: ignored. */
    iomap_write(&pio, 0x604, ACPI_PM1_SCI_EN | 5u << 10 | ACPI_PM1_SLP_EN, 2);
    CHECK_EQ(pr.poweroffs, 0);
    CHECK_EQ(iomap_read(&pio, 0x604, 2) & ACPI_PM1_SLP_EN, 0);   /* write-only */
    /* What Linux's acpi_enter_sleep_state(5) writes with \_S5 = {0, ...}:
     * SLP_TYP first, then SLP_TYP | SLP_EN. QEMU's magic outw(0x604, 0x2000). */
    iomap_write(&pio, 0x604, ACPI_PM1_SCI_EN | (ACPI_SLP_TYP_S5 << 10), 2);
    CHECK_EQ(pr.poweroffs, 0);
    iomap_write(&pio, 0x604, ACPI_PM1_SCI_EN | (ACPI_SLP_TYP_S5 << 10) | ACPI_PM1_SLP_EN, 2);
    CHECK_EQ(pr.poweroffs, 1);
    iomap_write(&pio, 0x604, 0x2000, 2);
    CHECK_EQ(pr.poweroffs, 2);
    /* A byte write of the high half works the same. */
    iomap_write(&pio, 0x605, 0x20, 1);
    CHECK_EQ(pr.poweroffs, 3);
    CHECK_EQ(pr.resets, 0);
    pm_teardown(pm);
}

TEST(acpi_pm_reset_register)
{
    struct acpi_pm *pm = pm_setup(true);
    CHECK(pm != NULL);
    if (!pm)
        return;
    /* SYS_RST alone only latches. */
    iomap_write(&pio, 0xcf9, 0x02, 1);
    CHECK_EQ(pr.resets, 0);
    CHECK_EQ(iomap_read(&pio, 0xcf9, 1), 0x02);
    /* The FADT's RESET_VALUE 0x06 resets. */
    iomap_write(&pio, 0xcf9, ACPI_RESET_VALUE, 1);
    CHECK_EQ(pr.resets, 1);
    /* The PCI host's forwarding entry points do the same. */
    acpi_pm_cf9_write(pm, 0x04);
    CHECK_EQ(pr.resets, 2);
    acpi_pm_cf9_write(pm, 0xfa);
    CHECK_EQ(acpi_pm_cf9_read(pm), 0x02);
    acpi_pm_reset(pm);
    CHECK_EQ(acpi_pm_cf9_read(pm), 0);
    CHECK_EQ(pr.poweroffs, 0);
    pm_teardown(pm);
    /* Without claim_cf9 the port stays free for the PCI host bridge. */
    pm = pm_setup(false);
    CHECK(pm != NULL);
    CHECK(iomap_find(&pio, 0xcf9) == NULL);
    CHECK(iomap_find(&pio, 0x63f) != NULL);
    CHECK(iomap_find(&pio, 0x640) == NULL);
    /* A second PM block on the same ports is refused. */
    struct acpi_pm_hooks h = {0};
    CHECK(acpi_pm_create(&pio, 0x620, &clk, &sci, &h, false) == NULL);
    pm_teardown(pm);
}

/* Hostile guest: any mix of accesses at any offset and size keeps the
 * registers within their defined bits and never touches memory outside the
 * device (run under ASan/valgrind to see the latter). */
TEST(acpi_pm_random_accesses)
{
    struct acpi_pm *pm = pm_setup(true);
    CHECK(pm != NULL);
    if (!pm)
        return;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const unsigned sizes[4] = {1, 2, 4, 8};
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        unsigned size = sizes[x & 3];
        uint64_t port = 0x600 + ((x >> 2) & 0x3f);
        if (((x >> 8) & 63) == 0)
            port = 0xcf9;
        clock_advance(&clk, (x >> 20) & 0xfffff);
        if ((x >> 40) & 1) {
            iomap_write(&pio, port, x >> 24, size);
        } else {
            (void)iomap_read(&pio, port, size);
        }
        uint16_t en = (uint16_t)iomap_read(&pio, 0x602, 2);
        uint16_t cnt = (uint16_t)iomap_read(&pio, 0x604, 2);
        if (en & ~(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC))
            bad++;
        if (cnt & (ACPI_PM1_SLP_EN | ACPI_PM1_GBL_RLS | 0xc1f8))
            bad++;
        if (iomap_read(&pio, 0x608, 4) >> 24)
            bad++;
        if (acpi_pm_cf9_read(pm) & ~0x02)
            bad++;
        /* The SCI follows status, enable and SCI_EN at every step. */
        uint16_t sts = (uint16_t)iomap_read(&pio, 0x600, 2);
        bool want = (cnt & ACPI_PM1_SCI_EN) && (sts & en);
        if (want != (pr.level != 0))
            bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK(pr.poweroffs > 0);      /* the random walk did hit S5 and reset */
    CHECK(pr.resets > 0);
    pm_teardown(pm);
}
