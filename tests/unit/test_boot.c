/* Boot loaders: synthetic bzImage / PVH ELF / multiboot / firmware images
 * written to temporary files, loaded into a hand-built machine, and checked
 * byte by byte in guest RAM; every malformed variant must give a clear error. */
#include "test.h"
#include "hw/boot.h"
#include "cpu/state.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- fixtures ---- */

static struct machine_config cfg;
static struct machine M;
static char err[512];

static void mach(uint64_t ram)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(&M, 0, sizeof(M));
    cfg.ram_size = ram;
    M.cfg = &cfg;
    M.log = stderr;
    M.ram = calloc(1, ram);
    M.ram_size = ram;
    uint64_t hole = ram >= PCI_HOLE_LOW_SMALL ? PCI_HOLE_LOW_LARGE : PCI_HOLE_LOW_SMALL;
    M.lowmem = ram < hole ? ram : hole;
    M.highmem = ram - M.lowmem;
    machine_e820_build(&M);
    err[0] = 0;
}

static void mach_free(void)
{
    free(M.ram);
    free(M.bios);
    M.ram = NULL;
    M.bios = NULL;
}

#define NTMP 32
static char tmp_paths[NTMP][64];
static int ntmp;

static const char *tmpfile_with(const void *data, size_t len)
{
    char *p = tmp_paths[ntmp++ % NTMP];
    /* A test that makes more than NTMP files recycles the oldest. */
    if (p[0])
        unlink(p);
    strcpy(p, "/tmp/tremu-boot-test-XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0)
        return "/nonexistent";
    if (len && write(fd, data, len) != (ssize_t)len)
        p[0] = 0;
    close(fd);
    return p;
}

static void tmp_cleanup(void)
{
    for (int i = 0; i < NTMP; i++)
        if (tmp_paths[i][0])
            unlink(tmp_paths[i]);
    memset(tmp_paths, 0, sizeof(tmp_paths));
    ntmp = 0;
}

static uint8_t *G(uint64_t a) { return M.ram + a; }     /* lowmem only */
static int load(struct x86_state *st) { return boot_load(&M, st, err, sizeof(err)); }
#define CHECK_ERR(substr) do {                                               \
        if (!strstr(err, substr))                                            \
            test_failf(__FILE__, __LINE__, "error '%s' lacks '%s'", err, substr); \
    } while (0)

static uint16_t attr_of(uint64_t desc)
{
    return (uint16_t)(((desc >> 40) & 0xff) | ((desc >> 52) & 0xf) << 8);
}

/* The state's segments must be what loading the selectors from the GDT in
 * RAM would give. */
static void check_segs_match_gdt(const struct x86_state *st)
{
    CHECK_EQ(st->gdtr.base, BOOT_GDT_ADDR);
    CHECK_EQ(st->gdtr.limit, 31);
    for (int i = 0; i < SEG_COUNT; i++) {
        const struct x86_seg *s = &st->seg[i];
        CHECK_EQ(s->sel, i == SEG_CS ? 0x10 : 0x18);
        uint64_t d = ld64(G(BOOT_GDT_ADDR + s->sel));
        CHECK_EQ(s->attr, attr_of(d));
        CHECK_EQ(s->base, 0);
        CHECK_EQ(s->limit, 0xffffffffu);
    }
    CHECK_EQ(ld64(G(BOOT_GDT_ADDR)), 0);
    CHECK_EQ(ld64(G(BOOT_GDT_ADDR + 0x18)), 0x00cf93000000ffffULL);
    CHECK(!(st->rflags & RFLAGS_IF));
}

/* Walks 4-level paging (2 MiB / 1 GiB pages accepted) in guest RAM. */
static uint64_t walk(uint64_t cr3, uint64_t va, int *ok)
{
    uint64_t t = cr3 & ~0xfffULL;
    *ok = 0;
    for (int lvl = 3; lvl >= 0; lvl--) {
        if (t + 0x1000 > M.lowmem)
            return 0;
        uint64_t e = ld64(G(t + ((va >> (12 + 9 * lvl)) & 511) * 8));
        if (!(e & 1) || !(e & 2))
            return 0;
        uint64_t pa = e & 0x000ffffffffff000ULL;
        if (lvl == 0 || (lvl <= 2 && (e & 0x80))) {
            uint64_t mask = (1ULL << (12 + 9 * lvl)) - 1;
            *ok = 1;
            return (pa & ~mask) | (va & mask);
        }
        t = pa;
    }
    return 0;
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 1
#define BZ_PM_SIZE 4096

static uint8_t *make_bz(size_t *len, uint16_t version, uint16_t xlf)
{
    size_t n = (BZ_SETUP_SECTS + 1) * 512 + BZ_PM_SIZE;
    uint8_t *b = calloc(1, n);
    b[0x1f1] = BZ_SETUP_SECTS;
    st16(b + 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = 0x66;                     /* header up to 0x268 */
    memcpy(b + 0x202, "HdrS", 4);
    st16(b + 0x206, version);
    b[0x211] = 0x01;                     /* LOADED_HIGH */
    st32(b + 0x214, 0x100000);
    st32(b + 0x22c, 0x7fffffff);         /* initrd_addr_max */
    st32(b + 0x230, 0x200000);
    b[0x234] = 1;
    st16(b + 0x236, xlf);
    st32(b + 0x238, 255);                /* cmdline_size */
    st64(b + 0x250, 0xdeadbeef000ULL);   /* setup_data: garbage a loader must clear */
    st64(b + 0x258, 0x1000000);          /* pref_address */
    st32(b + 0x260, 0x200000);           /* init_size */
    for (int i = 0; i < BZ_PM_SIZE; i++)
        b[(BZ_SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
    *len = n;
    return b;
}

TEST(boot_bzimage_64bit_entry)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 0x3);
    uint8_t rd[10000];
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(i ^ 0x5a);
    cfg.kernel = tmpfile_with(bz, n);
    cfg.initrd = tmpfile_with(rd, sizeof(rd));
    cfg.append = "console=ttyS0 quiet";
    memset(G(0x7000), 0xcc, 0x1000);     /* stale garbage must not survive */
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    /* The protected-mode kernel at 1 MiB. */
    CHECK(memcmp(G(0x100000), bz + 1024, BZ_PM_SIZE) == 0);
    /* Zero page. */
    uint8_t *zp = G(0x7000);
    CHECK(memcmp(zp + 0x1f1, bz + 0x1f1, 0x210 - 0x1f1) == 0);
    CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
    CHECK_EQ(ld16(zp + 0x206), 0x20f);
    CHECK_EQ(zp[0x210], 0xff);
    CHECK_EQ(zp[0x211], 0x81);
    CHECK_EQ(ld32(zp + 0x228), 0x20000);
    CHECK(strcmp((char *)G(0x20000), "console=ttyS0 quiet") == 0);
    CHECK_EQ(ld32(zp + 0x0c8), 0);
    CHECK(M.acpi_rsdp != 0);                       /* acpi_rsdp_addr (2.14+) */
    CHECK_EQ(ld64(zp + 0x070), M.acpi_rsdp);
    CHECK(memcmp(G(M.acpi_rsdp), "RSD PTR ", 8) == 0);
    uint32_t ri = ld32(zp + 0x218), rs = ld32(zp + 0x21c);
    CHECK_EQ(rs, sizeof(rd));
    CHECK_EQ(ri & 0xfff, 0);
    CHECK(ri >= 0x1000000 + 0x200000);             /* above the decompressor's range */
    CHECK(ri + rs <= 64 << 20);
    CHECK(ri + rs > (64 << 20) - 0x1000);          /* as high as possible */
    CHECK(memcmp(G(ri), rd, sizeof(rd)) == 0);
    CHECK_EQ(ld32(zp + 0x0c0), 0);
    CHECK_EQ(ld32(zp + 0x0c4), 0);
    CHECK_EQ(zp[0x1e8], M.ne820);
    for (int i = 0; i < M.ne820; i++) {
        CHECK_EQ(ld64(zp + 0x2d0 + i * 20), M.e820[i].addr);
        CHECK_EQ(ld64(zp + 0x2d0 + i * 20 + 8), M.e820[i].size);
        CHECK_EQ(ld32(zp + 0x2d0 + i * 20 + 16), M.e820[i].type);
    }
    CHECK_EQ(zp[0], 0);                            /* screen_info: no VGA */
    CHECK_EQ(ld64(zp + 0x250), 0);                 /* no setup_data */
    /* CPU state: 64-bit boot protocol. */
    CHECK_EQ(st.rip, 0x100200);
    CHECK_EQ(st.gpr[R_ESI], 0x7000);
    CHECK_EQ(st.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
    CHECK(st.cr4 & CR4_PAE);
    CHECK_EQ(st.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
    CHECK(st.seg[SEG_CS].attr & SEGA_L);
    CHECK(!(st.seg[SEG_CS].attr & SEGA_DB));
    CHECK_EQ(ld64(G(0x510)), 0x00af9b000000ffffULL);
    check_segs_match_gdt(&st);
    /* Identity map of the first 4 GiB. */
    static const uint64_t va[] = {0, 0x7000, 0x100200, 0x3ffffff, 0x40000000,
                                  0xbfe00000, 0xfffff000};
    for (size_t i = 0; i < sizeof(va) / sizeof(va[0]); i++) {
        int ok;
        uint64_t pa = walk(st.cr3, va[i], &ok);
        CHECK(ok);
        CHECK_EQ(pa, va[i]);
    }
    /* The tables do not overlap the zero page, the GDT or the command line. */
    CHECK(st.cr3 >= 0x8000 && st.cr3 < 0x20000);
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_32bit_entry_and_reset)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20a, 0);
    cfg.kernel = tmpfile_with(bz, n);
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    CHECK_EQ(st.rip, 0x100000);
    CHECK_EQ(st.gpr[R_ESI], 0x7000);
    CHECK_EQ(st.gpr[R_EBX] | st.gpr[R_EBP] | st.gpr[R_EDI], 0);
    CHECK_EQ(st.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    CHECK_EQ(st.efer, 0);
    CHECK(st.seg[SEG_CS].attr & SEGA_DB);
    CHECK(!(st.seg[SEG_CS].attr & SEGA_L));
    CHECK_EQ(ld64(G(0x510)), 0x00cf9b000000ffffULL);
    check_segs_match_gdt(&st);
    CHECK_EQ(ld32(G(0x7000 + 0x218)), 0);          /* no initrd */
    CHECK_EQ(*G(0x20000), 0);                      /* empty command line */
    /* A reset reloads everything the guest may have scribbled on. */
    memset(G(0x100000), 0, BZ_PM_SIZE);
    memset(G(0x7000), 0, 0x1000);
    CHECK_EQ(load(&st), 0);
    CHECK(memcmp(G(0x100000), bz + 1024, BZ_PM_SIZE) == 0);
    CHECK(memcmp(G(0x7202), "HdrS", 4) == 0);
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_old_protocol_rejected)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x205, 0);
    cfg.kernel = tmpfile_with(bz, n);
    struct x86_state st;
    CHECK(load(&st) < 0);
    CHECK_ERR("boot protocol 2.05");
    CHECK_ERR("2.06");
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_truncated)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 1);
    bz[0x1f1] = 40;                                /* setup claims 41 sectors */
    cfg.kernel = tmpfile_with(bz, n);
    struct x86_state st;
    CHECK(load(&st) < 0);
    CHECK_ERR("truncated");
    /* Cut inside the setup header. */
    bz[0x1f1] = 1;
    cfg.kernel = tmpfile_with(bz, 0x230);
    CHECK(load(&st) < 0);
    CHECK_ERR("truncated");
    /* A header whose jump says it ends before the fields we need. */
    bz[0x201] = 0x10;
    cfg.kernel = tmpfile_with(bz, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("truncated");
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_zimage_rejected)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 1);
    bz[0x211] = 0;
    cfg.kernel = tmpfile_with(bz, n);
    struct x86_state st;
    CHECK(load(&st) < 0);
    CHECK_ERR("zImage");
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_cmdline_too_long)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 1);
    st32(bz + 0x238, 15);
    cfg.kernel = tmpfile_with(bz, n);
    cfg.append = "0123456789abcdef";                /* 16 > 15 */
    struct x86_state st;
    CHECK(load(&st) < 0);
    CHECK_ERR("at most 15");
    cfg.append = "0123456789abcde";                 /* exactly 15 is fine */
    CHECK_EQ(load(&st), 0);
    CHECK(strcmp((char *)G(0x20000), "0123456789abcde") == 0);
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_needs_more_ram)
{
    mach(16 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 1);
    cfg.kernel = tmpfile_with(bz, n);
    struct x86_state st;
    CHECK(load(&st) < 0);                          /* 16 MiB + init_size > 16 MiB */
    CHECK_ERR("more memory");
    mach_free();
    /* A hostile init_size near 4 GiB must not wrap. */
    mach(64 << 20);
    st32(bz + 0x260, 0xfffff000);
    cfg.kernel = tmpfile_with(bz, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("more memory");
    free(bz);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bzimage_initrd_limits)
{
    mach(64 << 20);
    size_t n;
    uint8_t *bz = make_bz(&n, 0x20f, 1);
    st32(bz + 0x22c, 0x20fffff);                    /* initrd_addr_max: 33 MiB - 1 */
    uint8_t rd[5000] = {1, 2, 3};
    cfg.kernel = tmpfile_with(bz, n);
    cfg.initrd = tmpfile_with(rd, sizeof(rd));
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    uint32_t ri = ld32(G(0x7218));
    CHECK(ri + sizeof(rd) <= 0x2100000);
    CHECK(ri + sizeof(rd) > 0x2100000 - 0x1000);
    CHECK_EQ(ri & 0xfff, 0);
    /* Below the kernel's end: impossible. */
    st32(bz + 0x22c, 0x11fffff);
    cfg.kernel = tmpfile_with(bz, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("does not fit");
    /* Missing initrd file. */
    st32(bz + 0x22c, 0x7fffffff);
    cfg.kernel = tmpfile_with(bz, n);
    cfg.initrd = "/nonexistent/initrd";
    CHECK(load(&st) < 0);
    CHECK_ERR("cannot open '/nonexistent/initrd'");
    free(bz);
    mach_free();
    tmp_cleanup();
}

/* ---- PVH ELF ---- */

#define PVH_PADDR 0x200000
#define PVH_ENTRY 0x200010
#define PVH_FILESZ 0x100
#define PVH_MEMSZ 0x2000

/* ELF64 (or ELF32) with a PT_LOAD and a PT_NOTE holding "Xen" note 18
 * (preceded by another Xen note, as in Linux). */
static uint8_t *make_pvh(size_t *len, int is64, int descsz, int with_phnote)
{
    size_t n = 0x1000 + PVH_FILESZ;
    uint8_t *b = calloc(1, n);
    memcpy(b, "\177ELF", 4);
    b[4] = is64 ? 2 : 1;
    b[5] = 1;
    b[6] = 1;
    st16(b + 16, 2);
    st16(b + 18, is64 ? 62 : 3);
    st32(b + 20, 1);
    /* notes at 0x800 */
    uint8_t *no = b + 0x800;
    st32(no, 4); st32(no + 4, 4); st32(no + 8, 6);     /* XEN_ELFNOTE_GUEST_OS-ish */
    memcpy(no + 12, "Xen", 4);
    memcpy(no + 16, "lnx", 4);
    st32(no + 20, 4); st32(no + 24, (uint32_t)descsz); st32(no + 28, 18);
    memcpy(no + 32, "Xen", 4);
    if (descsz == 8)
        st64(no + 36, PVH_ENTRY);
    else
        st32(no + 36, PVH_ENTRY);
    uint64_t notelen = 36 + ((descsz + 3) & ~3);
    int nph = with_phnote ? 2 : 1;
    if (is64) {
        st64(b + 24, 0xffffffff80000000ULL + PVH_ENTRY);   /* e_entry: virtual */
        st64(b + 32, 64);
        st16(b + 52, 64);
        st16(b + 54, 56);
        st16(b + 56, (uint16_t)nph);
        uint8_t *p = b + 64;
        st32(p, 1); st32(p + 4, 5);
        st64(p + 8, 0x1000);
        st64(p + 16, 0xffffffff80000000ULL + PVH_PADDR);
        st64(p + 24, PVH_PADDR);
        st64(p + 32, PVH_FILESZ);
        st64(p + 40, PVH_MEMSZ);
        if (with_phnote) {
            p += 56;
            st32(p, 4);
            st64(p + 8, 0x800);
            st64(p + 32, notelen);
            st64(p + 40, notelen);
        } else {
            /* Section headers only: [0] null, [1] SHT_NOTE at 0xc00. */
            st64(b + 40, 0xc00);
            st16(b + 58, 64);
            st16(b + 60, 2);
            uint8_t *sh = b + 0xc00 + 64;
            st32(sh + 4, 7);
            st64(sh + 24, 0x800);
            st64(sh + 32, notelen);
        }
    } else {
        st32(b + 24, PVH_ENTRY);
        st32(b + 28, 52);
        st16(b + 40, 52);
        st16(b + 42, 32);
        st16(b + 44, (uint16_t)nph);
        uint8_t *p = b + 52;
        st32(p, 1);
        st32(p + 4, 0x1000);
        st32(p + 8, PVH_PADDR);
        st32(p + 12, PVH_PADDR);
        st32(p + 16, PVH_FILESZ);
        st32(p + 20, PVH_MEMSZ);
        if (with_phnote) {
            p += 32;
            st32(p, 4);
            st32(p + 4, 0x800);
            st32(p + 16, (uint32_t)notelen);
        } else {
            st32(b + 32, 0xc00);
            st16(b + 46, 40);
            st16(b + 48, 2);
            uint8_t *sh = b + 0xc00 + 40;
            st32(sh + 4, 7);
            st32(sh + 16, 0x800);
            st32(sh + 20, (uint32_t)notelen);
        }
    }
    for (int i = 0; i < PVH_FILESZ; i++)
        b[0x1000 + i] = (uint8_t)(0x90 + i);
    *len = n;
    return b;
}

static void check_pvh_loaded(const uint8_t *img, const struct x86_state *st)
{
    CHECK(memcmp(G(PVH_PADDR), img + 0x1000, PVH_FILESZ) == 0);
    int bss_zero = 1;
    for (int i = PVH_FILESZ; i < PVH_MEMSZ; i++)
        bss_zero &= *G(PVH_PADDR + i) == 0;
    CHECK(bss_zero);
    CHECK_EQ(st->rip, PVH_ENTRY);
    CHECK_EQ(st->gpr[R_EBX], 0x7000);
    CHECK_EQ(st->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    CHECK_EQ(st->cr4, 0);
    CHECK_EQ(st->efer, 0);
    CHECK_EQ(st->tr.limit, 0x67);
    CHECK(st->seg[SEG_CS].attr & SEGA_DB);
    check_segs_match_gdt(st);
    CHECK_EQ(ld32(G(0x7000)), 0x336ec578);
    CHECK_EQ(ld32(G(0x7004)), 1);
}

TEST(boot_pvh_elf64)
{
    mach(64 << 20);
    size_t n;
    uint8_t *img = make_pvh(&n, 1, 8, 1);
    uint8_t rd[3000];
    memset(rd, 0x42, sizeof(rd));
    cfg.kernel = tmpfile_with(img, n);
    cfg.initrd = tmpfile_with(rd, sizeof(rd));
    cfg.append = "console=ttyS0";
    memset(G(PVH_PADDR), 0xaa, PVH_MEMSZ);          /* bss must be zeroed */
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    check_pvh_loaded(img, &st);
    uint8_t *si = G(0x7000);
    CHECK_EQ(ld32(si + 0x0c), 1);                   /* nr_modules */
    uint64_t ml = ld64(si + 0x10);
    CHECK(ml >= 0x7000 && ml < 0x8000);
    uint64_t rda = ld64(G(ml)), rds = ld64(G(ml + 8));
    CHECK_EQ(rds, sizeof(rd));
    CHECK_EQ(rda & 0xfff, 0);
    CHECK(rda >= PVH_PADDR + PVH_MEMSZ);
    CHECK(rda + rds <= 64 << 20 && rda + rds > (64 << 20) - 0x1000);
    CHECK(memcmp(G(rda), rd, sizeof(rd)) == 0);
    CHECK_EQ(ld64(G(ml + 16)), 0);
    CHECK(strcmp((char *)G(ld64(si + 0x18)), "console=ttyS0") == 0);
    /* rsdp: the board's ACPI tables for direct boot */
    CHECK(M.acpi_rsdp != 0);
    CHECK_EQ(ld64(si + 0x20), M.acpi_rsdp);
    CHECK(memcmp(G(M.acpi_rsdp), "RSD PTR ", 8) == 0);
    uint64_t mm = ld64(si + 0x28);
    CHECK_EQ(ld32(si + 0x30), M.ne820);
    for (int i = 0; i < M.ne820; i++) {
        CHECK_EQ(ld64(G(mm + i * 24)), M.e820[i].addr);
        CHECK_EQ(ld64(G(mm + i * 24 + 8)), M.e820[i].size);
        CHECK_EQ(ld32(G(mm + i * 24 + 16)), M.e820[i].type);
        CHECK_EQ(ld32(G(mm + i * 24 + 20)), 0);
    }
    free(img);
    mach_free();
    tmp_cleanup();
}

TEST(boot_pvh_elf32_section_note_no_initrd)
{
    mach(32 << 20);
    size_t n;
    uint8_t *img = make_pvh(&n, 0, 4, 0);
    cfg.kernel = tmpfile_with(img, n);
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    check_pvh_loaded(img, &st);
    CHECK_EQ(ld32(G(0x700c)), 0);                   /* no modules */
    CHECK_EQ(ld64(G(0x7010)), 0);
    free(img);
    /* And the ELF64 variant whose note is only in a section. */
    img = make_pvh(&n, 1, 4, 0);
    cfg.kernel = tmpfile_with(img, n);
    CHECK_EQ(load(&st), 0);
    check_pvh_loaded(img, &st);
    free(img);
    mach_free();
    tmp_cleanup();
}

TEST(boot_pvh_bad_images)
{
    mach(64 << 20);
    size_t n;
    struct x86_state st;
    uint8_t *img = make_pvh(&n, 1, 8, 1);
    /* Truncated: the segment's data lies past the end of the file. */
    cfg.kernel = tmpfile_with(img, 0x1000 + 0x10);
    CHECK(load(&st) < 0);
    CHECK_ERR("outside the file");
    /* Segment outside RAM. */
    st64(img + 64 + 24, 0x7fff0000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not in guest RAM");
    /* Segment below 1 MiB (would overwrite our boot structures). */
    st64(img + 64 + 24, 0x6000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not in guest RAM above 1 MiB");
    /* Segment end wrapping around 2^64. */
    st64(img + 64 + 24, 0xfffffffffffff000ULL);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not in guest RAM");
    st64(img + 64 + 24, PVH_PADDR);
    /* Entry point outside the image. */
    st64(img + 0x800 + 36, 0x3000000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("outside the loaded image");
    /* A note with a strange descriptor size. */
    st32(img + 0x800 + 24, 2);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("2-byte");
    /* A note whose length runs past its segment is ignored, not read. */
    st32(img + 0x800 + 24, 0x7ffffff0);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("neither a Xen PHYS32_ENTRY note");
    /* Program header table past the end of the file. */
    free(img);
    img = make_pvh(&n, 1, 8, 1);
    st16(img + 56, 60000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("program header table");
    /* Not x86. */
    st16(img + 56, 2);
    st16(img + 18, 183);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not an x86 ELF executable");
    free(img);
    mach_free();
    tmp_cleanup();
}

TEST(boot_elf_without_pvh_note_rejected)
{
    mach(64 << 20);
    size_t n;
    uint8_t *img = make_pvh(&n, 1, 8, 1);
    st32(img + 0x800 + 28, 17);                    /* note type 17: not PHYS32_ENTRY */
    cfg.kernel = tmpfile_with(img, n);
    struct x86_state st;
    CHECK(load(&st) < 0);
    CHECK_ERR("is not a bzImage, an ELF vmlinux with a PVH note, or a multiboot image");
    CHECK_ERR("ELF file");
    free(img);
    mach_free();
    tmp_cleanup();
}

/* ---- multiboot ---- */

static void mb_header(uint8_t *h, uint32_t flags)
{
    st32(h, 0x1BADB002);
    st32(h + 4, flags);
    st32(h + 8, (uint32_t)-(0x1BADB002u + flags));
}

#define MB_FILE 0x800

static uint8_t *make_mb_aout(size_t *len)
{
    uint8_t *b = calloc(1, MB_FILE);
    for (int i = 0; i < MB_FILE; i++)
        b[i] = (uint8_t)(i * 3);
    mb_header(b + 0x40, 0x10003);
    st32(b + 0x4c, 0x100040);                      /* header_addr */
    st32(b + 0x50, 0x100000);                      /* load_addr */
    st32(b + 0x54, 0x100000 + MB_FILE);            /* load_end_addr */
    st32(b + 0x58, 0x100000 + MB_FILE + 0x3000);   /* bss_end_addr */
    st32(b + 0x5c, 0x100080);                      /* entry_addr */
    *len = MB_FILE;
    return b;
}

TEST(boot_multiboot_aout_kludge_with_modules)
{
    mach(64 << 20);
    size_t n;
    uint8_t *img = make_mb_aout(&n);
    cfg.kernel = tmpfile_with(img, n);
    uint8_t m1[5000], m2[100];
    memset(m1, 0x11, sizeof(m1));
    memset(m2, 0x22, sizeof(m2));
    const char *p1 = tmpfile_with(m1, sizeof(m1));
    const char *p2 = tmpfile_with(m2, sizeof(m2));
    char spec[256];
    snprintf(spec, sizeof(spec), "%s arg1 arg2,%s", p1, p2);
    cfg.initrd = spec;
    cfg.append = "hello world";
    memset(G(0x100000 + MB_FILE), 0xee, 0x3000);    /* bss must be zeroed */
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    CHECK(memcmp(G(0x100000), img, MB_FILE) == 0);
    int bss_zero = 1;
    for (int i = 0; i < 0x3000; i++)
        bss_zero &= *G(0x100000 + MB_FILE + i) == 0;
    CHECK(bss_zero);
    CHECK_EQ(st.rip, 0x100080);
    CHECK_EQ(st.gpr[R_EAX], 0x2BADB002);
    CHECK_EQ(st.gpr[R_EBX], 0x7000);
    CHECK_EQ(st.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    CHECK(st.seg[SEG_CS].attr & SEGA_DB);
    check_segs_match_gdt(&st);
    uint8_t *mbi = G(0x7000);
    uint32_t fl = ld32(mbi);
    CHECK_EQ(fl, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
    CHECK_EQ(ld32(mbi + 4), 639);                   /* 0x9fc00 bytes */
    CHECK_EQ(ld32(mbi + 8), ((64 << 20) - 0x100000) >> 10);
    char want[128];
    snprintf(want, sizeof(want), "%s hello world", cfg.kernel);
    CHECK(strcmp((char *)G(ld32(mbi + 16)), want) == 0);
    CHECK_EQ(ld32(mbi + 20), 2);
    uint8_t *mods = G(ld32(mbi + 24));
    uint32_t s1 = ld32(mods), e1 = ld32(mods + 4), s2 = ld32(mods + 16), e2 = ld32(mods + 20);
    CHECK_EQ(s1 & 0xfff, 0);
    CHECK_EQ(s2 & 0xfff, 0);
    CHECK(s1 >= 0x100000 + MB_FILE + 0x3000);       /* after the bss */
    CHECK_EQ(e1 - s1, sizeof(m1));
    CHECK(s2 >= e1);
    CHECK_EQ(e2 - s2, sizeof(m2));
    CHECK(memcmp(G(s1), m1, sizeof(m1)) == 0);
    CHECK(memcmp(G(s2), m2, sizeof(m2)) == 0);
    snprintf(want, sizeof(want), "%s arg1 arg2", p1);
    CHECK(strcmp((char *)G(ld32(mods + 8)), want) == 0);
    CHECK(strcmp((char *)G(ld32(mods + 24)), p2) == 0);
    CHECK_EQ(ld32(mbi + 44), M.ne820 * 24);
    uint8_t *mm = G(ld32(mbi + 48));
    for (int i = 0; i < M.ne820; i++) {
        CHECK_EQ(ld32(mm + i * 24), 20);
        CHECK_EQ(ld64(mm + i * 24 + 4), M.e820[i].addr);
        CHECK_EQ(ld64(mm + i * 24 + 12), M.e820[i].size);
        CHECK_EQ(ld32(mm + i * 24 + 20), M.e820[i].type);
    }
    CHECK(strcmp((char *)G(ld32(mbi + 64)), "tremu") == 0);
    free(img);
    mach_free();
    tmp_cleanup();
}

TEST(boot_multiboot_elf32)
{
    mach(32 << 20);
    /* ELF32 linked at 0xc0100000, loaded at 0x100000; header inside the text. */
    size_t n = 0x2000;
    uint8_t *b = calloc(1, n);
    memcpy(b, "\177ELF", 4);
    b[4] = 1; b[5] = 1; b[6] = 1;
    st16(b + 16, 2); st16(b + 18, 3); st32(b + 20, 1);
    st32(b + 24, 0xc0100010);                       /* virtual entry */
    st32(b + 28, 52); st16(b + 40, 52); st16(b + 42, 32); st16(b + 44, 1);
    uint8_t *p = b + 52;
    st32(p, 1); st32(p + 4, 0x1000); st32(p + 8, 0xc0100000); st32(p + 12, 0x100000);
    st32(p + 16, 0x1000); st32(p + 20, 0x1800);
    memset(b + 0x1000, 0xf4, 0x1000);
    mb_header(b + 0x1000, 0x3);
    cfg.kernel = tmpfile_with(b, n);
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    CHECK_EQ(st.rip, 0x100010);
    CHECK_EQ(st.gpr[R_EAX], 0x2BADB002);
    CHECK(memcmp(G(0x100000), b + 0x1000, 0x1000) == 0);
    CHECK_EQ(*G(0x101000), 0);
    CHECK_EQ(ld32(G(0x7000)) & (1u << 3), 0);       /* no modules */
    CHECK(strcmp((char *)G(0x20000), cfg.kernel) == 0);
    /* The same as ELF64: refused (multiboot v1 is 32-bit). */
    b[4] = 2;
    cfg.kernel = tmpfile_with(b, n);
    CHECK(load(&st) < 0);
    free(b);
    mach_free();
    tmp_cleanup();
}

TEST(boot_multiboot_bad_images)
{
    mach(64 << 20);
    size_t n;
    struct x86_state st;
    uint8_t *img = make_mb_aout(&n);
    /* Unknown required feature (bit 3). */
    mb_header(img + 0x40, 0x10000 | (1u << 3));
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("requires features");
    /* Video mode (bit 2) may be ignored. */
    mb_header(img + 0x40, 0x10000 | (1u << 2));
    cfg.kernel = tmpfile_with(img, n);
    CHECK_EQ(load(&st), 0);
    /* Bad checksum: not a multiboot image at all. */
    mb_header(img + 0x40, 0x10003);
    st32(img + 0x48, ld32(img + 0x48) + 1);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("is not a bzImage");
    mb_header(img + 0x40, 0x10003);
    /* load_end_addr past the end of the file. */
    st32(img + 0x54, 0x100000 + MB_FILE + 1);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("outside the file");
    st32(img + 0x54, 0x100000 + MB_FILE);
    /* load_addr after header_addr. */
    st32(img + 0x50, 0x100044);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("inconsistent");
    /* header_addr - load_addr larger than the header's file offset. */
    st32(img + 0x50, 0xf0000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("inconsistent");
    st32(img + 0x50, 0x100000);
    /* bss end below the image end. */
    st32(img + 0x58, 0x100010);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("bss_end_addr");
    /* Loaded beyond RAM. */
    st32(img + 0x4c, 0x7f000040);
    st32(img + 0x50, 0x7f000000);
    st32(img + 0x54, 0);
    st32(img + 0x58, 0);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not in guest RAM");
    /* Entry point outside RAM. */
    free(img);
    img = make_mb_aout(&n);
    st32(img + 0x5c, 0xfff00000);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("entry point");
    /* No address fields and not ELF. */
    mb_header(img + 0x40, 0x3);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("must be an ELF");
    /* Header truncated by the end of the file. */
    free(img);
    img = make_mb_aout(&n);
    cfg.kernel = tmpfile_with(img, 0x50);
    CHECK(load(&st) < 0);
    CHECK_ERR("truncated");
    /* Loaded into the firmware window (host memory exists there, RAM does not). */
    static uint8_t fw[0x10000];
    cfg.bios = tmpfile_with(fw, sizeof(fw));
    st32(img + 0x4c, 0xffff0040);
    st32(img + 0x50, 0xffff0000);
    st32(img + 0x54, 0xffff0000 + MB_FILE);
    st32(img + 0x58, 0);
    cfg.kernel = tmpfile_with(img, n);
    CHECK(load(&st) < 0);
    CHECK_ERR("not in guest RAM");
    cfg.bios = NULL;
    free(img);
    img = make_mb_aout(&n);
    /* A module that does not exist. */
    cfg.kernel = tmpfile_with(img, n);
    cfg.initrd = "/nonexistent/mod arg";
    CHECK(load(&st) < 0);
    CHECK_ERR("cannot open '/nonexistent/mod'");
    free(img);
    mach_free();
    tmp_cleanup();
}

/* ---- firmware, and files that are nothing ---- */

TEST(boot_bios_image)
{
    mach(16 << 20);
    size_t n = 0x30000;                             /* 192 KiB */
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 13 + (i >> 16));
    cfg.bios = tmpfile_with(b, n);
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    CHECK_EQ(M.bios_size, n);
    CHECK_EQ(st.rip, 0xfff0);
    CHECK_EQ(st.seg[SEG_CS].base, 0xffff0000);
    CHECK_EQ(st.seg[SEG_CS].sel, 0xf000);
    CHECK_EQ(st.cr0 & CR0_PE, 0);
    uint8_t *top = machine_phys_ptr(&M, 0x100000000ULL - n, n);
    CHECK(top && memcmp(top, b, n) == 0);
    /* The last 128 KiB at 0xe0000-0xfffff. */
    CHECK(memcmp(G(0xe0000), b + n - 0x20000, 0x20000) == 0);
    CHECK(memcmp(G(0xdfff0), "\0\0\0\0", 4) == 0);
    /* A reset re-copies into the same buffer. */
    uint8_t *old = M.bios;
    memset(G(0xf0000), 0, 0x10000);
    CHECK_EQ(load(&st), 0);
    CHECK(M.bios == old);
    CHECK(memcmp(G(0xe0000), b + n - 0x20000, 0x20000) == 0);
    free(b);
    mach_free();
    /* 512 KiB: the e820 reservation grows to cover it. */
    mach(16 << 20);
    n = 0x80000;
    b = calloc(1, n);
    cfg.bios = tmpfile_with(b, n);
    CHECK_EQ(load(&st), 0);
    int found = 0;
    for (int i = 0; i < M.ne820; i++)
        if (M.e820[i].type == E820_RESERVED && M.e820[i].addr == 0x100000000ULL - n &&
            M.e820[i].size == n)
            found = 1;
    CHECK(found);
    free(b);
    mach_free();
    tmp_cleanup();
}

TEST(boot_bios_bad_sizes)
{
    mach(16 << 20);
    struct x86_state st;
    uint8_t b[1000] = {0};
    cfg.bios = tmpfile_with(b, sizeof(b));
    CHECK(load(&st) < 0);
    CHECK_ERR("multiple of 64 KiB");
    cfg.bios = tmpfile_with(b, 0);
    CHECK(load(&st) < 0);
    CHECK_ERR("multiple of 64 KiB");
    /* 17 MiB, sparse. */
    cfg.bios = tmpfile_with(b, 0);
    CHECK_EQ(truncate(cfg.bios, 17 << 20), 0);
    CHECK(load(&st) < 0);
    CHECK_ERR("16 MiB");
    cfg.bios = "/nonexistent/bios.bin";
    CHECK(load(&st) < 0);
    CHECK_ERR("cannot open");
    mach_free();
    tmp_cleanup();
}

TEST(boot_unknown_files)
{
    mach(1 << 20);
    struct x86_state st;
    static const char one[] = "x";
    cfg.kernel = tmpfile_with(one, 1);
    CHECK(load(&st) < 0);
    CHECK_ERR("at least 2 MiB");
    mach_free();
    mach(16 << 20);
    CHECK(load(&st) < 0);
    CHECK_ERR("nothing to boot");
    static const char txt[] = "#!/bin/sh\necho this is not a kernel\n";
    cfg.kernel = tmpfile_with(txt, sizeof(txt));
    CHECK(load(&st) < 0);
    CHECK_ERR(cfg.kernel);
    CHECK_ERR("is not a bzImage, an ELF vmlinux with a PVH note, or a multiboot image");
    cfg.kernel = tmpfile_with(txt, 0);
    CHECK(load(&st) < 0);
    CHECK_ERR("is not a bzImage");
    /* Bigger than RAM. */
    cfg.kernel = tmpfile_with(txt, 0);
    CHECK_EQ(truncate(cfg.kernel, 17 << 20), 0);
    CHECK(load(&st) < 0);
    CHECK_ERR("more than fits");
    cfg.kernel = "/tmp";
    CHECK(load(&st) < 0);
    CHECK_ERR("not a regular file");
    mach_free();
    tmp_cleanup();
}

/* ---- the real Debian kernel (tests/guest/mkguest.sh) ---- */

static int guest_file(char *buf, size_t len, const char *name)
{
    const char *home = getenv("HOME");
    snprintf(buf, len, "%s/.cache/tremu/guest/%s", home ? home : "/root", name);
    return access(buf, R_OK) == 0;
}

TEST(boot_debian_bzimage)
{
    static char kpath[512], ipath[512];
    if (!guest_file(kpath, sizeof(kpath), "vmlinuz") ||
        !guest_file(ipath, sizeof(ipath), "initramfs.cpio.gz")) {
        test_skip("no default guest (make guest)");
        return;
    }
    mach(512 << 20);
    cfg.kernel = kpath;
    cfg.initrd = ipath;
    cfg.append = "console=ttyS0";
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    uint8_t *zp = G(0x7000);
    CHECK(ld16(zp + 0x206) >= 0x20c);
    CHECK(ld16(zp + 0x236) & 1);                     /* XLF_KERNEL_64 */
    CHECK(st.efer & EFER_LMA);
    CHECK_EQ(st.rip, 0x100200);
    struct boot_file k;
    CHECK_EQ(boot_read_file(kpath, 1ULL << 30, &k, err, sizeof(err)), 0);
    if (k.data) {
        uint64_t setup = ((uint64_t)(k.data[0x1f1] ? k.data[0x1f1] : 4) + 1) * 512;
        CHECK(memcmp(G(0x100000), k.data + setup, k.size - setup) == 0);
        boot_free_file(&k);
    }
    uint32_t ri = ld32(zp + 0x218), rs = ld32(zp + 0x21c);
    CHECK(rs > 0);
    CHECK_EQ(ri & 0xfff, 0);
    CHECK(ri >= 0x1000000 + ld32(zp + 0x260));
    CHECK(ri + rs <= 512 << 20);
    CHECK_EQ(*G(ri), 0x1f);                          /* gzip */
    mach_free();
}

TEST(boot_debian_vmlinux_pvh)
{
    static char kpath[512];
    if (!guest_file(kpath, sizeof(kpath), "vmlinux")) {
        test_skip("no default guest (make guest)");
        return;
    }
    mach(512 << 20);
    cfg.kernel = kpath;
    cfg.append = "console=ttyS0";
    struct x86_state st;
    CHECK_EQ(load(&st), 0);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ(ld32(G(0x7000)), 0x336ec578);
    CHECK(st.rip >= 0x1000000 && st.rip < 0x4000000);
    CHECK_EQ(st.gpr[R_EBX], 0x7000);
    CHECK_EQ(st.cr0 & CR0_PG, 0);
    /* The PVH entry (pvh_start_xen) begins with cld (0xfc). */
    CHECK_EQ(*G(st.rip), 0xfc);
    mach_free();
}

/* ---- hostile images: random corruption never crashes the loader ---- */

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Corrupts header-area bytes (where every length and address lives) and
 * truncates at random; each load must either succeed or explain itself. */
static void fuzz_image(const uint8_t *img, size_t n, size_t hot, int rounds, int *ok, int *bad)
{
    uint8_t *b = malloc(n);
    for (int r = 0; r < rounds; r++) {
        memcpy(b, img, n);
        int flips = 1 + (int)(rng() % 8);
        for (int i = 0; i < flips; i++) {
            size_t at = rng() % hot;
            switch (rng() % 3) {
            case 0: b[at] = (uint8_t)rng(); break;
            case 1: b[at] = 0xff; break;
            default: b[at] ^= (uint8_t)(1u << (rng() % 8)); break;
            }
        }
        size_t len = (rng() % 4) ? n : rng() % (n + 1);
        cfg.kernel = tmpfile_with(b, len);
        err[0] = 0;
        struct x86_state st;
        if (load(&st) == 0) {
            (*ok)++;
        } else {
            (*bad)++;
            if (!err[0])
                test_failf(__FILE__, __LINE__, "round %d: failed without a message", r);
        }
        unlink(cfg.kernel);
    }
    free(b);
    tmp_cleanup();
}

TEST(boot_fuzz_corrupt_headers)
{
    mach(64 << 20);
    uint8_t rd[100] = {0};
    cfg.initrd = tmpfile_with(rd, sizeof(rd));
    /* tmpfile_with reuses slots: keep the initrd's path out of the cleanup. */
    static char rdpath[64];
    strcpy(rdpath, cfg.initrd);
    tmp_paths[0][0] = 0;
    cfg.initrd = rdpath;
    int ok = 0, bad = 0;
    size_t n;
    uint8_t *img = make_bz(&n, 0x20f, 1);
    fuzz_image(img, n, 0x270, 300, &ok, &bad);
    free(img);
    img = make_pvh(&n, 1, 8, 1);
    fuzz_image(img, n, 0x840, 300, &ok, &bad);
    free(img);
    img = make_pvh(&n, 0, 4, 0);
    fuzz_image(img, n, 0xd00, 300, &ok, &bad);
    free(img);
    img = make_mb_aout(&n);
    cfg.initrd = NULL;
    fuzz_image(img, n, 0x60, 300, &ok, &bad);
    free(img);
    unlink(rdpath);
    /* Both outcomes must occur, or the corruption is not reaching the parsers. */
    CHECK(ok > 0);
    CHECK(bad > 0);
    mach_free();
}
