/* Linux direct boot: a bzImage through the 32/64-bit boot protocol
 * (Documentation/arch/x86/boot.rst), or an ELF vmlinux through its PVH entry
 * (Xen public/arch-x86/hvm/start_info.h, Linux arch/x86/platform/pvh).
 * No real-mode setup code runs: we do what it would (build the zero page) and
 * enter the protected-mode kernel, like kvmtool, Firecracker and QEMU's PVH. */
#include "hw/boot.h"
#include "hw/vga.h"
#include <stdio.h>
#include <stdlib.h>

/* ---- initrd (shared by both paths) ---- */

/* Loads -initrd as high as possible in RAM within [lo, hi), 4 KiB aligned.
 * Several comma-separated files are concatenated (each 4-byte aligned, as
 * the kernel's cpio unpacker accepts), text after a space is ignored (that
 * is multiboot's module argument syntax). */
static int load_initrd(struct machine *m, uint64_t lo, uint64_t hi, uint64_t *addr,
                       uint64_t *size, char *err, size_t errlen)
{
    *addr = *size = 0;
    const char *spec = m->cfg->initrd;
    if (!spec || !*spec)
        return 0;
    char *list = strdup(spec);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Pass 1: read the files, total size. */
    struct boot_file files[16];
    int n = 0, rc = -1;
    uint64_t total = 0;
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *sp = strchr(f, ' ');
        if (sp)
            *sp = 0;
        if (n == 16) {
            snprintf(err, errlen, "-initrd: at most 16 files");
            goto out;
        }
        if (boot_read_file(f, m->lowmem, &files[n], err, errlen) < 0)
            goto out;
        total = ((total + 3) & ~3ULL) + files[n].size;
        n++;
    }
    if (total == 0) {
        rc = 0;
        goto out;
    }
    lo = (lo + 0xfff) & ~0xfffULL;
    uint64_t a = boot_place_high(m, total, lo, hi);
    if (!a) {
        snprintf(err, errlen, "-initrd '%s' (%llu KiB) does not fit in guest RAM between the "
                 "kernel's end (0x%llx) and 0x%llx: give more memory (-m)", spec,
                 (unsigned long long)(total >> 10), (unsigned long long)lo,
                 (unsigned long long)hi);
        goto out;
    }
    uint8_t *dst = machine_phys_ptr(m, a, total);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t al = (off + 3) & ~3ULL;
        memset(dst + off, 0, al - off);
        memcpy(dst + al, files[i].data, files[i].size);
        off = al + files[i].size;
    }
    *addr = a;
    *size = total;
    rc = 0;
out:
    for (int i = 0; i < n; i++)
        boot_free_file(&files[i]);
    free(list);
    return rc;
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* ---- bzImage ---- */

/* Setup header offsets (boot.rst, "The real-mode kernel header"). */
#define HDR_SETUP_SECTS   0x1f1
#define HDR_BOOT_FLAG     0x1fe
#define HDR_JUMP          0x200
#define HDR_MAGIC         0x202
#define HDR_VERSION       0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS     0x211
#define HDR_CODE32_START  0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE  0x21c
#define HDR_HEAP_END_PTR  0x224
#define HDR_CMD_LINE_PTR  0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN  0x230
#define HDR_RELOCATABLE   0x234
#define HDR_XLOADFLAGS    0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_SETUP_DATA    0x250
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE     0x260
/* Zero page (Documentation/arch/x86/zero-page.rst). */
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_ACPI_RSDP_ADDR    0x070     /* boot protocol 2.14+; older kernels scan */
#define ZP_E820_ENTRIES   0x1e8
#define ZP_HDR_END_MAX    0x290     /* the setup header area ends here */
#define ZP_E820_TABLE     0x2d0
#define ZP_E820_MAX       128

#define LOADED_HIGH    0x01
#define CAN_USE_HEAP   0x80
#define XLF_KERNEL_64  0x01

#define BZ_LOAD_ADDR   0x100000ULL

int boot_bzimage(struct machine *m, struct x86_state *st, const struct boot_file *k,
                 char *err, size_t errlen)
{
    const uint8_t *d = k->data;
    if (k->size < HDR_MAGIC + 4 || ld32(d + HDR_MAGIC) != 0x53726448)   /* "HdrS" */
        return 0;
    uint16_t ver = k->size >= HDR_VERSION + 2 ? ld16(d + HDR_VERSION) : 0;
    if (ver < 0x206) {
        /* 2.06 (Linux 2.6.22) brought cmdline_size; older kernels also want
         * their real-mode setup run, which we do not do. */
        snprintf(err, errlen, "'%s' uses Linux boot protocol %u.%02u; tremu needs 2.06 "
                 "or later (Linux 2.6.22+)", k->path, ver >> 8, ver & 0xff);
        return -1;
    }
    /* The header runs from 0x1f1 to the target of the 2-byte jump at 0x200. */
    uint64_t hdr_end = min64(HDR_JUMP + 2 + (uint64_t)d[HDR_JUMP + 1], ZP_HDR_END_MAX);
    uint64_t need_end = ver >= 0x20a ? HDR_INIT_SIZE + 4 : HDR_CMDLINE_SIZE + 4;
    unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
    uint64_t setup_size = (uint64_t)(sects + 1) * 512;
    if (hdr_end < need_end || k->size < need_end) {
        snprintf(err, errlen, "'%s': the bzImage setup header is truncated (protocol %u.%02u "
                 "needs %llu bytes)", k->path, ver >> 8, ver & 0xff,
                 (unsigned long long)need_end);
        return -1;
    }
    if (setup_size >= k->size) {
        snprintf(err, errlen, "'%s' is truncated: its setup code is %llu bytes (setup_sects %u) "
                 "but the file is only %zu bytes", k->path, (unsigned long long)setup_size,
                 sects, k->size);
        return -1;
    }
    if (!(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
        snprintf(err, errlen, "'%s' is a zImage (loaded below 1 MiB); only bzImage kernels "
                 "are supported", k->path);
        return -1;
    }
    uint64_t pm_size = k->size - setup_size;
    uint32_t init_size = ver >= 0x20a ? ld32(d + HDR_INIT_SIZE) : 0;
    uint64_t pref = ver >= 0x20a ? ld64(d + HDR_PREF_ADDRESS) : BZ_LOAD_ADDR;
    uint16_t xlf = ver >= 0x20c ? ld16(d + HDR_XLOADFLAGS) : 0;
    /* Where it goes: 0x100000, as QEMU and GRUB's linux16 do. It works for
     * both kinds of kernel: a non-relocatable one must run at 0x100000 (its
     * code32_start), and a relocatable one (Debian's: pref_address 16 MiB,
     * kernel_alignment 2 MiB) decompresses to max(aligned load address,
     * LOAD_PHYSICAL_ADDR) by itself (arch/x86/boot/compressed/head_64.S),
     * so the decompressor and its output use [1 MiB, max(1 MiB, pref) +
     * init_size). That whole range must be RAM, and the initrd goes above. */
    uint64_t load = BZ_LOAD_ADDR;
    uint64_t kend = max64(load + pm_size, max64(load, min64(pref, 1ULL << 32)) + init_size);
    kend = (kend + 0xfff) & ~0xfffULL;
    if (!boot_ram_ptr(m, load, kend - load)) {
        snprintf(err, errlen, "'%s' needs guest RAM up to 0x%llx (%llu MiB) to decompress; "
                 "the machine has %llu MiB below the PCI hole: give more memory (-m)",
                 k->path, (unsigned long long)kend, (unsigned long long)(kend >> 20) + 1,
                 (unsigned long long)(m->lowmem >> 20));
        return -1;
    }

    /* The command line, bounded by what the kernel says it accepts. */
    if (boot_write_cmdline(m, m->cfg->append, ld32(d + HDR_CMDLINE_SIZE), err, errlen) < 0)
        return -1;

    /* The initrd: as high as possible below initrd_addr_max (inclusive) and
     * 4 GiB, above the kernel. Even with XLF_CAN_BE_LOADED_ABOVE_4G we stay
     * below: that is where every kernel can reach it. */
    uint64_t rd_hi = min64((uint64_t)ld32(d + HDR_INITRD_ADDR_MAX) + 1, 1ULL << 32);
    uint64_t rd_addr, rd_size;
    if (load_initrd(m, kend, rd_hi, &rd_addr, &rd_size, err, errlen) < 0)
        return -1;

    memcpy(machine_phys_ptr(m, load, pm_size), d + setup_size, pm_size);

    /* The zero page (struct boot_params), from scratch. */
    uint8_t *zp = machine_phys_ptr(m, BOOT_INFO_ADDR, 0x1000);
    memset(zp, 0, 0x1000);
    memcpy(zp + HDR_SETUP_SECTS, d + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
    if (m->cfg->vga)
        vga_fill_screen_info(zp);          /* text mode 3, as the VGA BIOS left it */
    zp[HDR_TYPE_OF_LOADER] = 0xff;          /* "undefined" boot loader id */
    zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    /* heap_end_ptr is relative to the (absent) real-mode code: boot.rst's
     * example value, harmless since no setup code runs. */
    st16(zp + HDR_HEAP_END_PTR, 0xe000 - 0x200);
    st32(zp + HDR_CODE32_START, (uint32_t)load);
    st32(zp + HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
    st32(zp + ZP_EXT_CMD_LINE_PTR, 0);
    st64(zp + ZP_ACPI_RSDP_ADDR, m->acpi_rsdp);
    /* setup_data is the loader's list of extra blobs: none (the image's own
     * value is meaningless here and would be followed by the kernel). */
    if (hdr_end >= HDR_SETUP_DATA + 8)
        st64(zp + HDR_SETUP_DATA, 0);
    st32(zp + HDR_RAMDISK_IMAGE, (uint32_t)rd_addr);
    st32(zp + HDR_RAMDISK_SIZE, (uint32_t)rd_size);
    st32(zp + ZP_EXT_RAMDISK_IMAGE, 0);
    st32(zp + ZP_EXT_RAMDISK_SIZE, 0);
    int ne = m->ne820 < ZP_E820_MAX ? m->ne820 : ZP_E820_MAX;
    zp[ZP_E820_ENTRIES] = (uint8_t)ne;
    for (int i = 0; i < ne; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * 20;
        st64(e, m->e820[i].addr);
        st64(e + 8, m->e820[i].size);
        st32(e + 16, m->e820[i].type);
    }

    if (xlf & XLF_KERNEL_64) {
        /* The 64-bit boot protocol (boot.rst): long mode, identity map, GDT with
         * __BOOT_CS 0x10 / __BOOT_DS 0x18, RSI = boot_params, entry at +0x200. */
        boot_state_long64(m, st, load + 0x200);
    } else {
        /* The 32-bit boot protocol: flat protected mode, paging off, entry at
         * code32_start (our load address); EBP, EDI, EBX zero. */
        boot_write_gdt(m, 0);
        boot_state_flat32(st, (uint32_t)load);
    }
    st->gpr[R_ESI] = BOOT_INFO_ADDR;
    st->gpr[R_EBX] = st->gpr[R_EBP] = st->gpr[R_EDI] = 0;
    machine_log(m, DBG_BOOT, "tremu: bzImage '%s' protocol %u.%02u, %s entry at 0x%llx, "
                "kernel 0x%llx-0x%llx, initrd 0x%llx+0x%llx\n", k->path, ver >> 8, ver & 0xff,
                (xlf & XLF_KERNEL_64) ? "64-bit" : "32-bit", (unsigned long long)st->rip,
                (unsigned long long)load, (unsigned long long)kend,
                (unsigned long long)rd_addr, (unsigned long long)rd_size);
    return 1;
}

/* ---- PVH ---- */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578
/* struct hvm_start_info (version 1) and its tables, at BOOT_INFO_ADDR. */
#define SI_MODLIST_OFF 0x40         /* one hvm_modlist_entry (32 bytes) */
#define SI_MEMMAP_OFF  0x80         /* hvm_memmap_table_entry[] (24 bytes each) */

int boot_pvh(struct machine *m, struct x86_state *st, const struct boot_file *k,
             char *err, size_t errlen)
{
    int cls;
    char why[256];
    if (boot_elf_check(k, &cls, why, sizeof(why)) != 1)
        return 0;
    const uint8_t *desc;
    uint32_t dsz;
    if (!boot_elf_find_note(k, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &desc, &dsz))
        return 0;
    /* Linux emits it as .long or as a pointer (8 bytes), depending on version. */
    if (dsz != 4 && dsz != 8) {
        snprintf(err, errlen, "'%s': its PVH entry note has a %u-byte value (expected 4 or 8)",
                 k->path, dsz);
        return -1;
    }
    uint64_t entry = dsz == 4 ? ld32(desc) : ld64(desc);
    if (entry >> 32) {
        snprintf(err, errlen, "'%s': PVH entry point 0x%llx is above 4 GiB", k->path,
                 (unsigned long long)entry);
        return -1;
    }
    uint64_t lo, end;
    if (boot_elf_load(m, k, &lo, &end, err, errlen) < 0)
        return -1;
    if (entry < lo || entry >= end) {
        snprintf(err, errlen, "'%s': PVH entry point 0x%llx is outside the loaded image "
                 "(0x%llx-0x%llx)", k->path, (unsigned long long)entry,
                 (unsigned long long)lo, (unsigned long long)end);
        return -1;
    }
    if (boot_write_cmdline(m, m->cfg->append, BOOT_CMDLINE_MAX - 1, err, errlen) < 0)
        return -1;
    uint64_t rd_addr, rd_size;
    if (load_initrd(m, end, min64(m->lowmem, 1ULL << 32), &rd_addr, &rd_size, err, errlen) < 0)
        return -1;

    uint8_t *si = machine_phys_ptr(m, BOOT_INFO_ADDR, 0x1000);
    memset(si, 0, 0x1000);
    st32(si + 0x00, HVM_START_MAGIC);
    st32(si + 0x04, 1);                          /* version: has the memory map */
    st32(si + 0x08, 0);                          /* flags */
    if (rd_size) {
        uint8_t *mod = si + SI_MODLIST_OFF;
        st64(mod + 0x00, rd_addr);
        st64(mod + 0x08, rd_size);
        st64(mod + 0x10, 0);                     /* cmdline_paddr: none */
        st32(si + 0x0c, 1);                      /* nr_modules */
        st64(si + 0x10, BOOT_INFO_ADDR + SI_MODLIST_OFF);
    }
    st64(si + 0x18, BOOT_CMDLINE_ADDR);          /* cmdline_paddr */
    st64(si + 0x20, m->acpi_rsdp);               /* rsdp_paddr (0: the guest scans) */
    st64(si + 0x28, BOOT_INFO_ADDR + SI_MEMMAP_OFF);
    st32(si + 0x30, (uint32_t)m->ne820);
    for (int i = 0; i < m->ne820; i++) {
        /* XEN_HVM_MEMMAP_TYPE_* use the e820 numbering. */
        uint8_t *e = si + SI_MEMMAP_OFF + i * 24;
        st64(e, m->e820[i].addr);
        st64(e + 8, m->e820[i].size);
        st32(e + 16, m->e820[i].type);
    }

    /* start_info.h, "Initial machine state": 32-bit flat protected mode,
     * paging off, CR4 0, IF clear, EBX = start_info, TR a 32-bit TSS with
     * limit 0x67. */
    boot_write_gdt(m, 0);
    boot_state_flat32(st, (uint32_t)entry);
    st->cr4 = 0;
    st->gpr[R_EBX] = BOOT_INFO_ADDR;
    st->tr.limit = 0x67;
    machine_log(m, DBG_BOOT, "tremu: PVH ELF '%s', entry 0x%llx, image 0x%llx-0x%llx, "
                "initrd 0x%llx+0x%llx\n", k->path, (unsigned long long)entry,
                (unsigned long long)lo, (unsigned long long)end,
                (unsigned long long)rd_addr, (unsigned long long)rd_size);
    return 1;
}
