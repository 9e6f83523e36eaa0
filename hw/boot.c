/* Boot loaders: -bios firmware, or a -kernel image loaded directly
 * (bzImage, PVH ELF, multiboot), plus the helpers they share: reading files,
 * the boot GDT, the entry CPU states, ELF parsing, initrd placement. */
#include "hw/boot.h"
#include "hw/acpi.h"
#include "hw/pc_apic.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ---- */

int boot_read_file(const char *path, uint64_t max, struct boot_file *f,
                   char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > max) {
        snprintf(err, errlen, "'%s' is %llu bytes, more than fits in guest memory (%llu)",
                 path, (unsigned long long)sb.st_size, (unsigned long long)max);
        close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    /* +1 so an empty file still gets a valid pointer. */
    f->data = malloc(size + 1);
    if (!f->data) {
        snprintf(err, errlen, "'%s': out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, f->data + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read '%s': %s", path,
                     r < 0 ? strerror(errno) : "file shrank while reading");
            close(fd);
            boot_free_file(f);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    f->size = size;
    return 0;
}

void boot_free_file(struct boot_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

/* ---- firmware ---- */

#define BIOS_MAX_SIZE   (16ULL << 20)
#define BIOS_LOW_MAX    (128ULL << 10)

int boot_bios_load(struct machine *m, char *err, size_t errlen)
{
    struct boot_file f;
    if (boot_read_file(m->cfg->bios, BIOS_MAX_SIZE, &f, err, errlen) < 0) {
        if (strstr(err, "more than fits"))
            snprintf(err, errlen, "-bios '%s' is larger than 16 MiB", m->cfg->bios);
        return -1;
    }
    /* QEMU's rule (hw/i386/x86.c, x86_bios_rom_init): whole 64 KiB units, so
     * the image ends exactly at 4 GiB and its reset vector at 0xfffffff0. */
    if (f.size == 0 || f.size % 0x10000) {
        snprintf(err, errlen, "-bios '%s' is %zu bytes: a firmware image must be a "
                 "non-zero multiple of 64 KiB", f.path, f.size);
        boot_free_file(&f);
        return -1;
    }
    if (m->bios && m->bios_size != f.size) {
        /* An engine may have mapped the old buffer: never move it. */
        snprintf(err, errlen, "-bios '%s' changed size since the machine started", f.path);
        boot_free_file(&f);
        return -1;
    }
    if (!m->bios) {
        m->bios = f.data;
        m->bios_size = f.size;
        f.data = NULL;
    } else {
        memcpy(m->bios, f.data, f.size);
    }
    boot_free_file(&f);

    /* The ISA BIOS window: the last 128 KiB (or less) also appear just below
     * 1 MiB, where real-mode code at F000:xxxx runs. Here that is RAM, which
     * the image is copied into on every reset. */
    uint64_t low = m->bios_size < BIOS_LOW_MAX ? m->bios_size : BIOS_LOW_MAX;
    if (machine_phys_write(m, 0x100000 - low, m->bios + m->bios_size - low, low) < 0) {
        snprintf(err, errlen, "-bios needs at least 1 MiB of guest RAM");
        return -1;
    }

    /* Reserve the whole high mapping in e820: the board's table reserves the
     * top 256 KiB; a bigger image needs more. Patched in place (not rebuilt)
     * so other reservations the board made survive, and idempotent. */
    for (int i = 0; i < m->ne820; i++) {
        struct e820_entry *e = &m->e820[i];
        if (e->type == E820_RESERVED && e->addr + e->size == 0x100000000ULL &&
            e->size < m->bios_size) {
            e->addr = 0x100000000ULL - m->bios_size;
            e->size = m->bios_size;
        }
    }
    return 0;
}

uint8_t *boot_ram_ptr(struct machine *m, uint64_t paddr, uint64_t len)
{
    if (len == 0 || paddr + len < paddr)
        return NULL;
    /* Only RAM: the firmware window also has a host pointer, but a kernel
     * image or module has no business there. */
    if (paddr + len <= m->lowmem ||
        (paddr >= HIGHMEM_BASE && paddr - HIGHMEM_BASE + len <= m->highmem))
        return machine_phys_ptr(m, paddr, len);
    return NULL;
}

/* ---- CPU entry states ---- */

/* Descriptors (SDM vol. 3, 3.4.5): base 0, limit 0xfffff pages, present,
 * DPL 0, accessed already set so the CPU never writes the table. */
#define GDT_CODE32 0x00cf9b000000ffffULL   /* G, D/B, type 0xb (exec/read/accessed) */
#define GDT_CODE64 0x00af9b000000ffffULL   /* G, L (D/B clear, SDM 5.2.1) */
#define GDT_DATA   0x00cf93000000ffffULL   /* G, D/B, type 0x3 (read/write/accessed) */

void boot_write_gdt(struct machine *m, int long_mode)
{
    uint8_t gdt[32] = {0};
    st64(gdt + BOOT_CS, long_mode ? GDT_CODE64 : GDT_CODE32);
    st64(gdt + BOOT_DS, GDT_DATA);
    machine_phys_write(m, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

/* The x86_state attribute word of a descriptor: its bits 40-47 and 52-55. */
static uint16_t desc_attr(uint64_t d)
{
    return (uint16_t)(((d >> 40) & 0xff) | ((d >> 52) & 0xf) << 8);
}

static void set_seg(struct x86_seg *s, uint16_t sel, uint64_t desc)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->attr = desc_attr(desc);
}

void boot_state_flat32(struct x86_state *st, uint32_t eip)
{
    x86_state_flat32(st, BOOT_CS, BOOT_DS);
    for (int i = 0; i < SEG_COUNT; i++)
        set_seg(&st->seg[i], BOOT_DS, GDT_DATA);
    set_seg(&st->seg[SEG_CS], BOOT_CS, GDT_CODE32);
    st->gdtr.base = BOOT_GDT_ADDR;
    st->gdtr.limit = 31;
    /* No IDT: interrupts are off and any exception before the kernel sets
     * its own is a triple fault, which is the honest outcome. */
    st->idtr.base = 0;
    st->idtr.limit = 0;
    st->rip = eip;
    st->rflags = RFLAGS_FIXED;
    st->gpr[R_ESP] = BOOT_STACK_TOP;
}

void boot_state_long64(struct machine *m, struct x86_state *st, uint64_t rip)
{
    /* Identity map of [0, 4 GiB) with 2 MiB pages (1 GiB pages need
     * CPUID.80000001H:EDX.Page1GB, which an engine may not offer):
     * PML4[0] -> PDPT, PDPT[0..3] -> 4 page directories (SDM vol. 3, 4.5). */
    uint8_t *pml4 = machine_phys_ptr(m, BOOT_PML4_ADDR, 0x1000);
    uint8_t *pdpt = machine_phys_ptr(m, BOOT_PDPT_ADDR, 0x1000);
    uint8_t *pd = machine_phys_ptr(m, BOOT_PD_ADDR, 0x4000);
    if (pml4 && pdpt && pd) {
        memset(pml4, 0, 0x1000);
        memset(pdpt, 0, 0x1000);
        st64(pml4, BOOT_PDPT_ADDR | 0x3);                   /* P, RW */
        for (uint64_t i = 0; i < 4; i++)
            st64(pdpt + i * 8, (BOOT_PD_ADDR + i * 0x1000) | 0x3);
        for (uint64_t i = 0; i < 2048; i++)
            st64(pd + i * 8, (i << 21) | 0x83);             /* P, RW, PS */
    }
    boot_write_gdt(m, 1);
    boot_state_flat32(st, 0);
    set_seg(&st->seg[SEG_CS], BOOT_CS, GDT_CODE64);
    st->rip = rip;
    st->cr3 = BOOT_PML4_ADDR;
    st->cr4 = CR4_PAE;
    st->cr0 = CR0_PE | CR0_ET | CR0_PG;
    st->efer = EFER_LME | EFER_LMA;
}

int boot_write_cmdline(struct machine *m, const char *s, uint64_t max,
                       char *err, size_t errlen)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    if (max > BOOT_CMDLINE_MAX - 1)
        max = BOOT_CMDLINE_MAX - 1;
    if (len > max) {
        snprintf(err, errlen, "the kernel command line is %zu bytes; this kernel "
                 "accepts at most %llu", len, (unsigned long long)max);
        return -1;
    }
    if (machine_phys_write(m, BOOT_CMDLINE_ADDR, s, len + 1) < 0) {
        snprintf(err, errlen, "guest RAM too small for the command line");
        return -1;
    }
    return 0;
}

uint64_t boot_place_high(struct machine *m, uint64_t size, uint64_t lo, uint64_t hi)
{
    uint64_t best = 0;
    if (size == 0)
        size = 1;
    for (int i = 0; i < m->ne820; i++) {
        const struct e820_entry *e = &m->e820[i];
        if (e->type != E820_RAM)
            continue;
        uint64_t start = e->addr > lo ? e->addr : lo;
        uint64_t end = e->addr + e->size < hi ? e->addr + e->size : hi;
        if (end <= start || end - start < size)
            continue;
        uint64_t a = (end - size) & ~0xfffULL;
        if (a >= start && a > best && boot_ram_ptr(m, a, size))
            best = a;
    }
    return best;
}

/* ---- ELF (System V gABI, "ELF-64 Object File Format") ---- */

static int elf64(const struct boot_file *k) { return k->data[4] == 2; }

int boot_elf_check(const struct boot_file *k, int *elfclass, char *err, size_t errlen)
{
    const uint8_t *h = k->data;
    if (k->size < 52 || memcmp(h, "\177ELF", 4) != 0) {
        snprintf(err, errlen, "'%s' is not an ELF file", k->path);
        return 0;
    }
    int cls = h[4];
    if ((cls != 1 && cls != 2) || h[5] != 1 || (cls == 2 && k->size < 64)) {
        snprintf(err, errlen, "'%s' is not a little-endian ELF32/ELF64 file", k->path);
        return -1;
    }
    uint16_t type = ld16(h + 16), mach = ld16(h + 18);
    if (type != 2 || (mach != 3 && mach != 62)) {
        snprintf(err, errlen, "'%s' is not an x86 ELF executable (type %u, machine %u)",
                 k->path, type, mach);
        return -1;
    }
    uint64_t phoff = cls == 2 ? ld64(h + 32) : ld32(h + 28);
    uint16_t phentsize = ld16(h + (cls == 2 ? 54 : 42));
    uint16_t phnum = ld16(h + (cls == 2 ? 56 : 44));
    if (phnum == 0 || phentsize < (cls == 2 ? 56 : 32) ||
        phoff > k->size || (uint64_t)phnum * phentsize > k->size - phoff) {
        snprintf(err, errlen, "'%s': ELF program header table is missing or truncated", k->path);
        return -1;
    }
    *elfclass = cls;
    return 1;
}

unsigned boot_elf_nphdr(const struct boot_file *k)
{
    return ld16(k->data + (elf64(k) ? 56 : 44));
}

uint64_t boot_elf_entry(const struct boot_file *k)
{
    return elf64(k) ? ld64(k->data + 24) : ld32(k->data + 24);
}

void boot_elf_phdr(const struct boot_file *k, unsigned i, struct elf_seg *s)
{
    const uint8_t *h = k->data;
    if (elf64(k)) {
        const uint8_t *p = h + ld64(h + 32) + (uint64_t)i * ld16(h + 54);
        s->type = ld32(p);
        s->offset = ld64(p + 8);
        s->vaddr = ld64(p + 16);
        s->paddr = ld64(p + 24);
        s->filesz = ld64(p + 32);
        s->memsz = ld64(p + 40);
    } else {
        const uint8_t *p = h + ld32(h + 28) + (uint64_t)i * ld16(h + 42);
        s->type = ld32(p);
        s->offset = ld32(p + 4);
        s->vaddr = ld32(p + 8);
        s->paddr = ld32(p + 12);
        s->filesz = ld32(p + 16);
        s->memsz = ld32(p + 20);
    }
}

uint64_t boot_elf_vaddr_to_paddr(const struct boot_file *k, uint64_t addr)
{
    for (unsigned i = 0; i < boot_elf_nphdr(k); i++) {
        struct elf_seg s;
        boot_elf_phdr(k, i, &s);
        if (s.type == PT_LOAD_ && addr >= s.vaddr && addr - s.vaddr < s.memsz)
            return s.paddr + (addr - s.vaddr);
    }
    return addr;
}

int boot_elf_load(struct machine *m, const struct boot_file *k, uint64_t *lowest,
                  uint64_t *end, char *err, size_t errlen)
{
    unsigned n = boot_elf_nphdr(k);
    uint64_t lo = UINT64_MAX, hi = 0;
    /* Check every segment before writing any. */
    for (unsigned i = 0; i < n; i++) {
        struct elf_seg s;
        boot_elf_phdr(k, i, &s);
        if (s.type != PT_LOAD_ || s.memsz == 0)
            continue;
        if (s.filesz > s.memsz || s.offset > k->size || s.filesz > k->size - s.offset) {
            snprintf(err, errlen, "'%s': ELF segment %u lies outside the file (offset 0x%llx, "
                     "size 0x%llx, file 0x%zx)", k->path, i, (unsigned long long)s.offset,
                     (unsigned long long)s.filesz, k->size);
            return -1;
        }
        if (s.paddr < BOOT_KERNEL_MIN || !boot_ram_ptr(m, s.paddr, s.memsz)) {
            snprintf(err, errlen, "'%s': ELF segment %u at 0x%llx-0x%llx is not in guest RAM "
                     "above 1 MiB (RAM below the PCI hole ends at 0x%llx)", k->path, i,
                     (unsigned long long)s.paddr, (unsigned long long)(s.paddr + s.memsz),
                     (unsigned long long)m->lowmem);
            return -1;
        }
        if (s.paddr < lo)
            lo = s.paddr;
        if (s.paddr + s.memsz > hi)
            hi = s.paddr + s.memsz;
    }
    if (hi == 0) {
        snprintf(err, errlen, "'%s': ELF file has nothing to load (no PT_LOAD segment)", k->path);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct elf_seg s;
        boot_elf_phdr(k, i, &s);
        if (s.type != PT_LOAD_ || s.memsz == 0)
            continue;
        uint8_t *dst = machine_phys_ptr(m, s.paddr, s.memsz);
        memcpy(dst, k->data + s.offset, s.filesz);
        memset(dst + s.filesz, 0, s.memsz - s.filesz);     /* .bss */
    }
    *lowest = lo;
    *end = hi;
    return 0;
}

/* Walks the notes in [off, off+len) of the file (gABI "Note Section"). */
static int find_note_in(const struct boot_file *k, uint64_t off, uint64_t len,
                        const char *name, uint32_t type, const uint8_t **desc, uint32_t *descsz)
{
    if (off > k->size || len > k->size - off)
        return 0;
    const uint8_t *p = k->data + off;
    uint64_t namelen = strlen(name) + 1;
    while (len >= 12) {
        uint64_t nsz = ld32(p), dsz = ld32(p + 4);
        uint32_t t = ld32(p + 8);
        uint64_t nszp = (nsz + 3) & ~3ULL, dszp = (dsz + 3) & ~3ULL;
        if (nszp > len - 12 || dszp > len - 12 - nszp)
            return 0;
        if (t == type && nsz == namelen && memcmp(p + 12, name, namelen) == 0) {
            *desc = p + 12 + nszp;
            *descsz = (uint32_t)dsz;
            return 1;
        }
        p += 12 + nszp + dszp;
        len -= 12 + nszp + dszp;
    }
    return 0;
}

int boot_elf_find_note(const struct boot_file *k, const char *name, uint32_t type,
                       const uint8_t **desc, uint32_t *descsz)
{
    for (unsigned i = 0; i < boot_elf_nphdr(k); i++) {
        struct elf_seg s;
        boot_elf_phdr(k, i, &s);
        if (s.type == PT_NOTE_ && find_note_in(k, s.offset, s.filesz, name, type, desc, descsz))
            return 1;
    }
    /* No program header note: try the section headers (optional in an executable). */
    const uint8_t *h = k->data;
    int is64 = elf64(k);
    uint64_t shoff = is64 ? ld64(h + 40) : ld32(h + 32);
    uint16_t shentsize = ld16(h + (is64 ? 58 : 46));
    uint16_t shnum = ld16(h + (is64 ? 60 : 48));
    if (shoff == 0 || shentsize < (is64 ? 64 : 40) || shoff > k->size ||
        (uint64_t)shnum * shentsize > k->size - shoff)
        return 0;
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *sh = h + shoff + (uint64_t)i * shentsize;
        if (ld32(sh + 4) != SHT_NOTE_)
            continue;
        uint64_t off = is64 ? ld64(sh + 24) : ld32(sh + 16);
        uint64_t len = is64 ? ld64(sh + 32) : ld32(sh + 20);
        if (find_note_in(k, off, len, name, type, desc, descsz))
            return 1;
    }
    return 0;
}

/* ---- entry point ---- */

int boot_load(struct machine *m, struct x86_state *st, char *err, size_t errlen)
{
    struct machine_config *cfg = m->cfg;
    x86_state_reset(st);
    if (cfg->bios && boot_bios_load(m, err, errlen) < 0)
        return -1;
    if (!cfg->kernel) {
        if (!cfg->bios) {
            snprintf(err, errlen, "nothing to boot: give -kernel FILE or -bios FILE");
            return -1;
        }
        return 0;   /* firmware from the reset vector */
    }
    /* With -kernel the kernel is entered directly, even when -bios is given
     * (the firmware stays mapped; nothing passes the kernel to it). */
    if (m->lowmem < 2 * BOOT_KERNEL_MIN) {
        snprintf(err, errlen, "-kernel needs at least 2 MiB of guest RAM");
        return -1;
    }
    /* ACPI for direct boot: Linux powers off (S5) and reboots through it as
     * under QEMU. Not with -bios: the firmware owns 0xE0000-0xFFFFF there.
     * Built before the loaders copy the e820 map (it reserves its area). */
    m->acpi_rsdp = 0;
    if (!cfg->bios) {
        struct acpi_config ac;
        acpi_config_default(&ac, m->lowmem);
        ac.serial_mask = 0;
        for (int i = 0; i < cfg->nserial && i < 4; i++)
            if (cfg->serial[i])
                ac.serial_mask |= (uint8_t)(1u << i);
        pc_apic_acpi_config(m, &ac);
        m->acpi_rsdp = acpi_build(m, &ac);
    }
    struct boot_file k;
    if (boot_read_file(cfg->kernel, m->lowmem, &k, err, errlen) < 0)
        return -1;
    int r = boot_bzimage(m, st, &k, err, errlen);
    if (r == 0)
        r = boot_pvh(m, st, &k, err, errlen);
    if (r == 0)
        r = boot_multiboot(m, st, &k, err, errlen);
    if (r == 0) {
        int is_elf = k.size >= 4 && memcmp(k.data, "\177ELF", 4) == 0, cls;
        char why[256] = "";
        if (is_elf && boot_elf_check(&k, &cls, why, sizeof(why)) < 0)
            snprintf(err, errlen, "%s", why);
        else
            snprintf(err, errlen, "'%s' is not a bzImage, an ELF vmlinux with a PVH note, or a "
                     "multiboot image%s", k.path,
                     is_elf ? " (it is an ELF file, but has neither a Xen PHYS32_ENTRY note "
                              "nor a multiboot header in its first 8 KiB)" : "");
        r = -1;
    }
    boot_free_file(&k);
    return r < 0 ? -1 : 0;
}
