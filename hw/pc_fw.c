/* Board glue for firmware: fw_cfg contents of the PC (see hw/pc_fw.h). */
#include "hw/pc_fw.h"
#include "hw/fw_cfg.h"
#include "hw/acpi.h"
#include "hw/pc_apic.h"
#include "hw/machine.h"
#include "hw/mc146818.h"
#include "hw/debugcon.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t ld32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }

#define ACPI_TABLES_FILE "etc/acpi/tables"
#define ACPI_RSDP_FILE   "etc/acpi/rsdp"

/* A pointer field of width size at off inside the tables blob: the value is
 * an offset into the same blob; the firmware adds where the blob went. */
static void tables_ptr(struct fw_loader *l, const uint8_t *t, size_t tlen, uint32_t off, uint8_t size)
{
    if (off + size > tlen)
        return;
    uint64_t v = size == 8 ? ld64(t + off) : ld32(t + off);
    if (v)          /* 0: the field is unused (e.g. X_FIRMWARE_CTRL) */
        fw_loader_add_pointer(l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, off, size);
}

int pc_fw_acpi_blobs(const struct acpi_config *cfg, uint8_t **tables, size_t *tables_len,
                     uint8_t **rsdp, size_t *rsdp_len, uint8_t **loader, size_t *loader_len)
{
    *tables = *rsdp = *loader = NULL;
    uint8_t *area = calloc(1, ACPI_AREA_SIZE);
    if (!area)
        return -1;
    /* Built at address 0: every pointer is then an offset in the blob, which
     * is what ADD_POINTER needs (QEMU's BIOSLinker convention). */
    if (acpi_build_tables(area, ACPI_AREA_SIZE, 0, cfg) != 0 || memcmp(area, "RSD PTR ", 8)) {
        free(area);
        return -1;
    }
    struct acpi_table_ref refs[32];
    int n = acpi_list_tables(area, ACPI_AREA_SIZE, 0, refs, 32);
    if (n > 32)
        n = 32;
    size_t used = 36;
    for (int i = 0; i < n; i++)
        if (refs[i].addr + refs[i].len > used)
            used = refs[i].addr + refs[i].len;
    used = (used + 15) & ~(size_t)15;

    struct fw_loader l = {0};
    /* The RSDP goes in the F segment, where SeaBIOS and the OS look for it;
     * the tables high, like QEMU's. */
    fw_loader_allocate(&l, ACPI_RSDP_FILE, 16, FW_LOADER_ZONE_FSEG);
    fw_loader_allocate(&l, ACPI_TABLES_FILE, 64, FW_LOADER_ZONE_HIGH);
    for (int i = 0; i < n; i++) {
        uint32_t a = (uint32_t)refs[i].addr, len = refs[i].len;
        bool patched = false;
        if (!strcmp(refs[i].sig, "RSDT")) {
            for (uint32_t o = 36; o + 4 <= len; o += 4)
                tables_ptr(&l, area, used, a + o, 4);
            patched = true;
        } else if (!strcmp(refs[i].sig, "XSDT")) {
            for (uint32_t o = 36; o + 8 <= len; o += 8)
                tables_ptr(&l, area, used, a + o, 8);
            patched = true;
        } else if (!strcmp(refs[i].sig, "FACP")) {
            /* FIRMWARE_CTRL, DSDT, X_FIRMWARE_CTRL, X_DSDT (ACPI 6.4 §5.2.9). */
            tables_ptr(&l, area, used, a + 36, 4);
            tables_ptr(&l, area, used, a + 40, 4);
            if (len >= 148) {
                tables_ptr(&l, area, used, a + 132, 8);
                tables_ptr(&l, area, used, a + 140, 8);
            }
            patched = true;
        }
        if (patched)
            fw_loader_add_checksum(&l, ACPI_TABLES_FILE, a + 9, a, len);
    }
    /* The RSDP: RsdtAddress (+16), XsdtAddress (+24); the ACPI 1.0 checksum
     * over 20 bytes first, then the extended one over all 36, which
     * covers the first. */
    uint8_t *r = malloc(36);
    uint8_t *t = malloc(used);
    if (!r || !t || l.error) {
        free(r); free(t); free(area);
        fw_loader_free(&l);
        return -1;
    }
    memcpy(r, area, 36);
    if (ld32(r + 16))
        fw_loader_add_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 16, 4);
    if (ld64(r + 24))
        fw_loader_add_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 24, 8);
    fw_loader_add_checksum(&l, ACPI_RSDP_FILE, 8, 0, 20);
    fw_loader_add_checksum(&l, ACPI_RSDP_FILE, 32, 0, 36);
    memcpy(t, area, used);
    memset(t, 0, 36);       /* the RSDP lives in its own file only */
    free(area);
    if (l.error) {
        free(r); free(t);
        fw_loader_free(&l);
        return -1;
    }
    *tables = t;
    *tables_len = used;
    *rsdp = r;
    *rsdp_len = 36;
    *loader = l.cmds;
    *loader_len = l.len;
    return 0;
}

/* DMA reaches RAM only (not the firmware image, not MMIO). */
static uint8_t *fw_ram_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
    return machine_dma_ptr(opaque, gpa, len);
}

/* The firmware may DMA over code the software CPU has decoded. */
static void fw_ram_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct machine *m = opaque;
    if (m->accel && m->accel->invalidate_phys)
        m->accel->invalidate_phys(m, gpa, len);
}

static void put_e820(uint8_t *p, uint64_t addr, uint64_t len, uint32_t type)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(addr >> (8 * i));
        p[8 + i] = (uint8_t)(len >> (8 * i));
    }
    for (int i = 0; i < 4; i++)
        p[16 + i] = (uint8_t)(type >> (8 * i));
}

struct fw_cfg *pc_fw_init(struct machine *m, struct rtc *rtc)
{
    struct machine_config *cfg = m->cfg;
    if (cfg->boot_order && rtc_set_boot_order(rtc, cfg->boot_order) < 0) {
        fprintf(stderr, "tremu: -boot order=%s: use up to 3 of a, b, c, d, n\n", cfg->boot_order);
        return NULL;
    }
    if (cfg->debugcon && debugcon_create(&m->pio, DEBUGCON_PORT, cfg->debugcon) < 0) {
        fprintf(stderr, "tremu: -debugcon: port 0x%x is taken\n", DEBUGCON_PORT);
        return NULL;
    }
    struct guest_mem mem = {.ptr = fw_ram_ptr, .opaque = m, .written = fw_ram_written};
    struct fw_cfg *f = fw_cfg_create(&m->pio, &mem);
    if (!f) {
        fprintf(stderr, "tremu: cannot create fw_cfg at 0x510 (ports taken)\n");
        return NULL;
    }
    int ncpus = cfg->smp > 0 ? cfg->smp : 1;
    uint8_t uuid[16] = {0};
    int bad = 0;
    bad |= fw_cfg_add_bytes(f, FW_CFG_UUID, uuid, sizeof(uuid));
    bad |= fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, m->ram_size);
    bad |= fw_cfg_add_u16(f, FW_CFG_NOGRAPHIC, 0);
    bad |= fw_cfg_add_u16(f, FW_CFG_NB_CPUS, (uint16_t)ncpus);
    bad |= fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, (uint16_t)ncpus);
    bad |= fw_cfg_add_u16(f, FW_CFG_BOOT_MENU, cfg->boot_menu ? 1 : 0);
    bad |= fw_cfg_add_u64(f, FW_CFG_NUMA, 0);
    bad |= fw_cfg_add_u32(f, FW_CFG_IRQ0_OVERRIDE, 1);

    /* RAM as QEMU's pc lists it, plus the pages KVM keeps below the BIOS
     * (SeaBIOS reserves the 256 KiB BIOS itself). */
    uint8_t e820[4 * 20];
    int ne = 0;
    put_e820(e820 + 20 * ne++, 0, m->lowmem, E820_RAM);
    put_e820(e820 + 20 * ne++, 0xfffbc000ULL, 0x4000, E820_RESERVED);
    if (m->highmem)
        put_e820(e820 + 20 * ne++, HIGHMEM_BASE, m->highmem, E820_RAM);
    bad |= fw_cfg_add_file(f, "etc/e820", e820, (size_t)ne * 20) < 0;

    uint32_t fail_wait = cfg->boot_fail_wait_set ? (uint32_t)cfg->boot_fail_wait_ms : 0xffffffffu;
    uint8_t fw[4] = {(uint8_t)fail_wait, (uint8_t)(fail_wait >> 8), (uint8_t)(fail_wait >> 16),
                     (uint8_t)(fail_wait >> 24)};
    bad |= fw_cfg_add_file(f, "etc/boot-fail-wait", fw, 4) < 0;

    /* SeaBIOS's own serial console (its menu, and GRUB's text through the
     * BIOS) when there is no screen to show them, as with -nographic. */
    if (cfg->nserial > 0 && cfg->serial[0] && !cfg->vga) {
        uint8_t port[2] = {0xf8, 0x03};
        bad |= fw_cfg_add_file(f, "etc/sercon-port", port, 2) < 0;
    }

    struct acpi_config ac;
    acpi_config_default(&ac, m->lowmem);
    ac.serial_mask = 0;
    for (int i = 0; i < cfg->nserial && i < 4; i++)
        if (cfg->serial[i])
            ac.serial_mask |= (uint8_t)(1u << i);
    pc_apic_acpi_config(m, &ac);
    uint8_t *tables, *rsdp, *loader;
    size_t tl, rl, ll;
    if (pc_fw_acpi_blobs(&ac, &tables, &tl, &rsdp, &rl, &loader, &ll) == 0) {
        bad |= fw_cfg_add_file(f, ACPI_TABLES_FILE, tables, tl) < 0;
        bad |= fw_cfg_add_file(f, ACPI_RSDP_FILE, rsdp, rl) < 0;
        bad |= fw_cfg_add_file(f, "etc/table-loader", loader, ll) < 0;
        free(tables);
        free(rsdp);
        free(loader);
    } else {
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "tremu: cannot fill fw_cfg (out of memory?)\n");
        fw_cfg_free(f);
        return NULL;
    }
    return f;
}
