/* Multiboot v1 (Multiboot Specification 0.6.96): a kernel with a multiboot
 * header in its first 8 KiB, loaded from its a.out-kludge addresses or its
 * ELF32 segments, entered in flat 32-bit protected mode with EAX=0x2BADB002
 * and EBX pointing at the multiboot information structure. Placement follows
 * QEMU's convention (hw/i386/multiboot.c): modules page-aligned right after
 * the kernel image; the info structure and strings in low memory. */
#include "hw/boot.h"
#include <stdio.h>
#include <stdlib.h>

#define MB_MAGIC            0x1BADB002u
#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_SEARCH           8192

/* Header flags (spec 3.1.2). Bits 0-15 are requirements: a loader that does
 * not understand one must refuse the image. */
#define MBH_PAGE_ALIGN  (1u << 0)   /* modules page aligned: we always do */
#define MBH_MEMORY_INFO (1u << 1)   /* mem_* fields: we always give them */
#define MBH_VIDEO_MODE  (1u << 2)   /* a video mode: may be ignored (no VBE here) */
#define MBH_AOUT_KLUDGE (1u << 16)
#define MBH_KNOWN_REQUIRED (MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE)

/* Info structure flags (spec 3.3). */
#define MBI_MEM         (1u << 0)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)
#define MBI_MMAP        (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* Layout inside the info page at BOOT_INFO_ADDR. */
#define MBI_SIZE        0x58
#define MBI_MMAP_OFF    0x100       /* up to E820_MAX entries of 24 bytes */
#define MBI_MODS_OFF    0x400       /* up to MB_MAX_MODS entries of 16 bytes */
#define MBI_NAME_OFF    0xf00
#define MB_MAX_MODS     64

static int find_header(const struct boot_file *k, uint64_t *off)
{
    uint64_t lim = k->size < MB_SEARCH ? k->size : MB_SEARCH;
    for (uint64_t i = 0; i + 12 <= lim; i += 4) {
        const uint8_t *h = k->data + i;
        if (ld32(h) == MB_MAGIC && (uint32_t)(ld32(h) + ld32(h + 4) + ld32(h + 8)) == 0) {
            *off = i;
            return 1;
        }
    }
    return 0;
}

/* The a.out kludge (spec 3.1.3): the header says where the file goes. */
static int load_aout(struct machine *m, const struct boot_file *k, uint64_t hoff,
                     uint64_t *entry, uint64_t *end, char *err, size_t errlen)
{
    if (hoff + 32 > k->size) {
        snprintf(err, errlen, "'%s': multiboot header with address fields is truncated", k->path);
        return -1;
    }
    const uint8_t *h = k->data + hoff;
    uint32_t header_addr = ld32(h + 12), load_addr = ld32(h + 16);
    uint32_t load_end = ld32(h + 20), bss_end = ld32(h + 24);
    *entry = ld32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > hoff) {
        snprintf(err, errlen, "'%s': multiboot load_addr 0x%x is inconsistent with "
                 "header_addr 0x%x at file offset 0x%llx", k->path, load_addr, header_addr,
                 (unsigned long long)hoff);
        return -1;
    }
    /* The text starts this far into the file. */
    uint64_t foff = hoff - (header_addr - load_addr);
    uint64_t len = load_end ? (uint64_t)load_end - load_addr : k->size - foff;
    if (load_end && (load_end < load_addr || len > k->size - foff)) {
        snprintf(err, errlen, "'%s': multiboot load_end_addr 0x%x is outside the file "
                 "(load_addr 0x%x, %zu bytes from offset 0x%llx)", k->path, load_end,
                 load_addr, k->size, (unsigned long long)foff);
        return -1;
    }
    uint64_t memlen = len;
    if (bss_end) {
        if (bss_end < load_addr + len) {
            snprintf(err, errlen, "'%s': multiboot bss_end_addr 0x%x is below the loaded "
                     "image's end 0x%llx", k->path, bss_end,
                     (unsigned long long)(load_addr + len));
            return -1;
        }
        memlen = (uint64_t)bss_end - load_addr;
    }
    uint8_t *dst = memlen ? boot_ram_ptr(m, load_addr, memlen) : NULL;
    if (load_addr < BOOT_KERNEL_MIN || !dst) {
        snprintf(err, errlen, "'%s': multiboot image at 0x%x-0x%llx is not in guest RAM above "
                 "1 MiB (RAM below the PCI hole ends at 0x%llx)", k->path, load_addr,
                 (unsigned long long)load_addr + memlen, (unsigned long long)m->lowmem);
        return -1;
    }
    memcpy(dst, k->data + foff, len);
    memset(dst + len, 0, memlen - len);
    *end = load_addr + memlen;
    return 0;
}

/* Splits -initrd "file args,file args" into modules loaded page-aligned
 * from *next on; their strings go to the string area at *str. */
static int load_modules(struct machine *m, uint8_t *mbi, uint64_t next, uint64_t *str,
                        uint64_t str_end, char *err, size_t errlen)
{
    const char *spec = m->cfg->initrd;
    if (!spec || !*spec)
        return 0;
    char *list = strdup(spec);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = 0, rc = -1;
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (n == MB_MAX_MODS) {
            snprintf(err, errlen, "-initrd: at most %d multiboot modules", MB_MAX_MODS);
            goto out;
        }
        /* The module's string is the whole entry ("file arg arg"), as in QEMU
         * and GRUB, so the module sees its own name first. */
        size_t slen = strlen(f) + 1;
        char *sp = strchr(f, ' ');
        struct boot_file mf;
        char path[4096];
        snprintf(path, sizeof(path), "%.*s", (int)(sp ? (size_t)(sp - f) : strlen(f)), f);
        if (*str + slen > str_end) {
            snprintf(err, errlen, "multiboot command line and module strings exceed %llu bytes",
                     (unsigned long long)BOOT_CMDLINE_MAX);
            goto out;
        }
        machine_phys_write(m, *str, f, slen);
        if (boot_read_file(path, m->lowmem, &mf, err, errlen) < 0)
            goto out;
        next = (next + 0xfff) & ~0xfffULL;
        uint8_t *dst = mf.size ? boot_ram_ptr(m, next, mf.size) : boot_ram_ptr(m, next, 1);
        if (!dst || next + mf.size > m->lowmem) {
            snprintf(err, errlen, "multiboot module '%s' (%zu bytes) does not fit in guest RAM "
                     "at 0x%llx: give more memory (-m)", path, mf.size, (unsigned long long)next);
            boot_free_file(&mf);
            goto out;
        }
        memcpy(dst, mf.data, mf.size);
        uint8_t *e = mbi + MBI_MODS_OFF + n * 16;
        st32(e + 0, (uint32_t)next);                  /* mod_start */
        st32(e + 4, (uint32_t)(next + mf.size));      /* mod_end (exclusive) */
        st32(e + 8, (uint32_t)*str);                  /* string */
        st32(e + 12, 0);
        next += mf.size;
        *str += slen;
        boot_free_file(&mf);
        n++;
    }
    if (n) {
        st32(mbi + 0, ld32(mbi) | MBI_MODS);
        st32(mbi + 20, (uint32_t)n);
        st32(mbi + 24, (uint32_t)(BOOT_INFO_ADDR + MBI_MODS_OFF));
    }
    rc = 0;
out:
    free(list);
    return rc;
}

int boot_multiboot(struct machine *m, struct x86_state *st, const struct boot_file *k,
                   char *err, size_t errlen)
{
    uint64_t hoff;
    if (!find_header(k, &hoff))
        return 0;
    uint32_t flags = ld32(k->data + hoff + 4);
    uint32_t unknown = flags & 0xffff & ~MBH_KNOWN_REQUIRED;
    if (unknown) {
        snprintf(err, errlen, "'%s': multiboot header requires features tremu does not "
                 "provide (flags 0x%x)", k->path, unknown);
        return -1;
    }
    uint64_t entry, end, lo;
    if (flags & MBH_AOUT_KLUDGE) {
        if (load_aout(m, k, hoff, &entry, &end, err, errlen) < 0)
            return -1;
    } else {
        int cls;
        int r = boot_elf_check(k, &cls, err, errlen);
        if (r != 1) {
            if (r == 0)
                snprintf(err, errlen, "'%s': multiboot image without the address fields "
                         "(flag 16) must be an ELF file", k->path);
            return -1;
        }
        if (cls != 1) {
            snprintf(err, errlen, "'%s': a multiboot ELF kernel must be ELF32", k->path);
            return -1;
        }
        if (boot_elf_load(m, k, &lo, &end, err, errlen) < 0)
            return -1;
        /* The entry is physical in the spec, but ELF kernels linked high
         * give a virtual one: translate through the segments like QEMU. */
        entry = boot_elf_vaddr_to_paddr(k, boot_elf_entry(k));
    }
    if (!boot_ram_ptr(m, entry, 1) || entry < BOOT_KERNEL_MIN) {
        snprintf(err, errlen, "'%s': multiboot entry point 0x%llx is not in guest RAM "
                 "above 1 MiB", k->path, (unsigned long long)entry);
        return -1;
    }

    uint8_t *mbi = boot_ram_ptr(m, BOOT_INFO_ADDR, 0x1000);
    memset(mbi, 0, 0x1000);
    uint32_t mf = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;

    /* mem_lower: KiB of RAM from 0 (at most 640); mem_upper: KiB of RAM from
     * 1 MiB up to the first hole. */
    uint64_t lower = 0, upper = 0;
    for (int i = 0; i < m->ne820; i++) {
        if (m->e820[i].type != E820_RAM)
            continue;
        if (m->e820[i].addr == 0)
            lower = m->e820[i].size >> 10;
        if (m->e820[i].addr == 0x100000)
            upper = m->e820[i].size >> 10;
    }
    st32(mbi + 4, (uint32_t)(lower < 640 ? lower : 640));
    st32(mbi + 8, (uint32_t)(upper < 0xffffffffu ? upper : 0xffffffffu));

    /* The kernel's command line: "kernel_path args", as QEMU passes it. */
    const char *append = m->cfg->append ? m->cfg->append : "";
    size_t clen = strlen(k->path) + 1 + strlen(append) + 1;
    if (clen > BOOT_CMDLINE_MAX) {
        snprintf(err, errlen, "the kernel command line is %zu bytes; tremu passes at most %llu",
                 clen - 1, (unsigned long long)BOOT_CMDLINE_MAX - 1);
        return -1;
    }
    char *cl = malloc(clen);
    if (!cl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t plen = strlen(k->path), alen = strlen(append);
    memcpy(cl, k->path, plen);
    clen = plen;
    if (alen) {
        cl[clen++] = ' ';
        memcpy(cl + clen, append, alen);
        clen += alen;
    }
    cl[clen++] = 0;
    int wr = machine_phys_write(m, BOOT_CMDLINE_ADDR, cl, clen);
    free(cl);
    if (wr < 0) {
        snprintf(err, errlen, "guest RAM too small for the command line");
        return -1;
    }
    st32(mbi + 16, (uint32_t)BOOT_CMDLINE_ADDR);
    st32(mbi + 0, mf);

    uint64_t str = BOOT_CMDLINE_ADDR + clen;
    if (load_modules(m, mbi, end, &str, BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX, err, errlen) < 0)
        return -1;

    /* Memory map: entries of {size (of the rest, 20), base, length, type}. */
    for (int i = 0; i < m->ne820; i++) {
        uint8_t *e = mbi + MBI_MMAP_OFF + i * 24;
        st32(e, 20);
        st64(e + 4, m->e820[i].addr);
        st64(e + 12, m->e820[i].size);
        st32(e + 20, m->e820[i].type);
    }
    st32(mbi + 44, (uint32_t)(m->ne820 * 24));
    st32(mbi + 48, (uint32_t)(BOOT_INFO_ADDR + MBI_MMAP_OFF));
    memcpy(mbi + MBI_NAME_OFF, "tremu", 6);
    st32(mbi + 64, (uint32_t)(BOOT_INFO_ADDR + MBI_NAME_OFF));

    /* Spec 3.2, "Machine state": flat 32-bit protected mode, paging and
     * interrupts off, EAX magic, EBX the info structure. */
    boot_write_gdt(m, 0);
    boot_state_flat32(st, (uint32_t)entry);
    st->gpr[R_EAX] = MB_BOOTLOADER_MAGIC;
    st->gpr[R_EBX] = BOOT_INFO_ADDR;
    machine_log(m, DBG_BOOT, "tremu: multiboot '%s' (%s), entry 0x%llx, image end 0x%llx\n",
                k->path, (flags & MBH_AOUT_KLUDGE) ? "a.out kludge" : "ELF",
                (unsigned long long)entry, (unsigned long long)end);
    return 1;
}
