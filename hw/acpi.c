/* ACPI table builder (see hw/acpi.h). Tables are laid out one after another
 * in the reserved area; a tiny AML emitter writes the DSDT.
 * Spec references are to ACPI 6.4. */
#include "hw/acpi.h"
#include "hw/machine.h"
#include <stdlib.h>
#include <string.h>

/* ---- little helpers ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* ---- AML emitter (ACPI 6.4 §20.2) ---------------------------------------- */

struct aml {
    uint8_t *b;
    size_t len, cap;
    bool oom;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
    /* An empty piece (a nameless package's head, an empty body) may come
     * with a NULL buffer: memcpy must not see it even for 0 bytes (C11
     * 7.24.1p2), and a->b is still NULL before the first byte. */
    if (a->oom || !n)
        return;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        while (cap < a->len + n)
            cap *= 2;
        uint8_t *nb = realloc(a->b, cap);
        if (!nb) {
            a->oom = true;
            return;
        }
        a->b = nb;
        a->cap = cap;
    }
    memcpy(a->b + a->len, p, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v) { aml_bytes(a, &v, 1); }
static void aml_free(struct aml *a) { free(a->b); *a = (struct aml){0}; }

/* Integer with the shortest encoding (§20.2.3: ZeroOp, OneOp, Byte/Word/
 * DWord/QWordPrefix). */
static void aml_int(struct aml *a, uint64_t v)
{
    uint8_t t[9];
    if (v == 0) { aml_byte(a, 0x00); return; }
    if (v == 1) { aml_byte(a, 0x01); return; }
    if (v <= 0xff) { t[0] = 0x0a; t[1] = (uint8_t)v; aml_bytes(a, t, 2); return; }
    if (v <= 0xffff) { t[0] = 0x0b; put16(t + 1, (uint16_t)v); aml_bytes(a, t, 3); return; }
    if (v <= 0xffffffffULL) { t[0] = 0x0c; put32(t + 1, (uint32_t)v); aml_bytes(a, t, 5); return; }
    t[0] = 0x0e;
    put64(t + 1, v);
    aml_bytes(a, t, 9);
}

/* EISAID("PNP0A03"): three 5-bit letters and four hex digits, stored
 * big-endian (§6.1.5 _HID). */
static void aml_eisaid(struct aml *a, const char *id)
{
    uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 |
                                 ((id[2] - 0x40) & 0x1f));
    uint16_t product = (uint16_t)strtoul(id + 3, NULL, 16);
    /* As an integer it is little-endian, so the first letter is its low byte;
     * the shortest encoding, as ASL compilers emit it. */
    aml_int(a, (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
               (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xff) << 24);
}

/* NameString (§20.2.2): "\\_SB_.PCI0" style; segments shorter than four
 * characters are padded with '_'. */
static void aml_namestring(struct aml *a, const char *path)
{
    char seg[8][4];
    int n = 0;
    if (*path == '\\') {
        aml_byte(a, '\\');
        path++;
    }
    while (*path == '^') {
        aml_byte(a, '^');
        path++;
    }
    while (*path && n < 8) {
        int i = 0;
        while (*path && *path != '.') {
            if (i < 4)
                seg[n][i++] = *path;
            path++;
        }
        while (i < 4)
            seg[n][i++] = '_';
        n++;
        if (*path == '.')
            path++;
    }
    if (n == 0) {
        aml_byte(a, 0x00);           /* NullName */
    } else if (n == 2) {
        aml_byte(a, 0x2e);           /* DualNamePrefix */
    } else if (n > 2) {
        aml_byte(a, 0x2f);           /* MultiNamePrefix */
        aml_byte(a, (uint8_t)n);
    }
    for (int i = 0; i < n; i++)
        aml_bytes(a, seg[i], 4);
}

/* PkgLength (§20.2.4) counts itself: 1 byte up to 63, else 2-4 bytes with
 * the count of follow bytes in bits 7:6 of the first. */
static void aml_pkglength(struct aml *a, size_t body)
{
    size_t total;
    if (body + 1 <= 0x3f) {
        aml_byte(a, (uint8_t)(body + 1));
        return;
    }
    int extra = body + 2 < (1u << 12) ? 1 : body + 3 < (1u << 20) ? 2 : 3;
    total = body + 1 + (size_t)extra;
    if (total >= (1u << 28)) {
        a->oom = true;               /* cannot be encoded: treat as a failure */
        return;
    }
    aml_byte(a, (uint8_t)(extra << 6 | (total & 0x0f)));
    for (int i = 0; i < extra; i++)
        aml_byte(a, (uint8_t)(total >> (4 + 8 * i)));
}

/* op PkgLength <prefix-name> body; consumes body. */
static void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const char *name, struct aml *body)
{
    struct aml head = {0};
    if (name)
        aml_namestring(&head, name);
    aml_bytes(a, op, oplen);
    aml_pkglength(a, head.len + body->len);
    aml_bytes(a, head.b, head.len);
    aml_bytes(a, body->b, body->len);
    if (head.oom || body->oom)
        a->oom = true;
    aml_free(&head);
    aml_free(body);
}

static void aml_scope(struct aml *a, const char *name, struct aml *body)
{
    static const uint8_t op[] = {0x10};
    aml_pkg(a, op, 1, name, body);
}

static void aml_device(struct aml *a, const char *name, struct aml *body)
{
    static const uint8_t op[] = {0x5b, 0x82};
    aml_pkg(a, op, 2, name, body);
}

/* Package with `n` elements already encoded in `elems` (§20.2.5.4). */
static void aml_package(struct aml *a, unsigned n, struct aml *elems)
{
    struct aml body = {0};
    aml_byte(&body, (uint8_t)n);
    aml_bytes(&body, elems->b, elems->len);
    if (elems->oom)
        body.oom = true;
    aml_free(elems);
    static const uint8_t op[] = {0x12};
    aml_pkg(a, op, 1, NULL, &body);
}

/* Name(NAME, <value>) with the value already encoded in `val`. */
static void aml_name(struct aml *a, const char *name, struct aml *val)
{
    aml_byte(a, 0x08);
    aml_namestring(a, name);
    aml_bytes(a, val->b, val->len);
    if (val->oom)
        a->oom = true;
    aml_free(val);
}

static void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
    struct aml val = {0};
    aml_int(&val, v);
    aml_name(a, name, &val);
}

static void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
    struct aml val = {0};
    aml_eisaid(&val, id);
    aml_name(a, name, &val);
}

/* Buffer holding a resource template; appends the End Tag (§6.4.2.9,
 * checksum 0 = "treat as valid"). */
static void aml_name_resources(struct aml *a, const char *name, struct aml *res)
{
    static const uint8_t end[] = {0x79, 0x00};
    aml_bytes(res, end, 2);
    struct aml body = {0};
    aml_int(&body, res->len);
    aml_bytes(&body, res->b, res->len);
    if (res->oom)
        body.oom = true;
    aml_free(res);
    struct aml val = {0};
    static const uint8_t op[] = {0x11};
    aml_pkg(&val, op, 1, NULL, &body);
    aml_name(a, name, &val);
}

/* ---- resource descriptors (§6.4) ------------------------------------------ */

/* I/O Port Descriptor, 16-bit decode, fixed base (§6.4.2.5). */
static void res_io(struct aml *r, uint16_t base, uint8_t len)
{
    uint8_t d[8] = {0x47, 0x01};
    put16(d + 2, base);
    put16(d + 4, base);
    d[6] = 0x01;
    d[7] = len;
    aml_bytes(r, d, 8);
}

/* IRQ Descriptor without flags: edge, active high, exclusive (§6.4.2.1). */
static void res_irq(struct aml *r, unsigned irq)
{
    uint8_t d[3] = {0x22};
    put16(d + 1, (uint16_t)(1u << irq));
    aml_bytes(r, d, 3);
}

#define RES_MEM   0
#define RES_IO    1
#define RES_BUS   2
/* General flags: producer (bit 0 clear), positive decode, min and max fixed. */
#define RES_GFLAGS_FIXED 0x0c

/* Word Address Space Descriptor (§6.4.3.5.3). */
static void res_word(struct aml *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint8_t d[16] = {0x88};
    put16(d + 1, 13);
    d[3] = type;
    d[4] = RES_GFLAGS_FIXED;
    d[5] = tflags;
    put16(d + 6, 0);                        /* granularity */
    put16(d + 8, min);
    put16(d + 10, max);
    put16(d + 12, 0);                       /* translation */
    put16(d + 14, (uint16_t)(max - min + 1));
    aml_bytes(r, d, 16);
}

/* DWord Address Space Descriptor, memory (§6.4.3.5.2). tflags bit 0:
 * read-write; bits 2:1: 0 non-cacheable, 1 cacheable. */
static void res_dword_mem(struct aml *r, uint8_t tflags, uint32_t min, uint32_t max)
{
    uint8_t d[26] = {0x87};
    put16(d + 1, 23);
    d[3] = RES_MEM;
    d[4] = RES_GFLAGS_FIXED;
    d[5] = tflags;
    put32(d + 6, 0);
    put32(d + 10, min);
    put32(d + 14, max);
    put32(d + 18, 0);
    put32(d + 22, max - min + 1);
    aml_bytes(r, d, 26);
}

/* ---- the DSDT ------------------------------------------------------------- */

int acpi_prt_gsi(const struct acpi_config *cfg, unsigned slot, unsigned pin)
{
    if (slot > 31 || pin > 3)
        return -1;
    /* (slot - 1 + pin) & 3 without going negative for slot 0. */
    return cfg->pirq_irq[(slot + pin + 3) & 3];
}

/* An ISA device: _HID, optional _UID, _CRS from the caller's descriptors. */
static void isa_device(struct aml *scope, const char *name, const char *hid, int uid, struct aml *res)
{
    struct aml dev = {0};
    aml_name_eisaid(&dev, "_HID", hid);
    if (uid >= 0)
        aml_name_int(&dev, "_UID", (uint64_t)uid);
    aml_name_resources(&dev, "_CRS", res);
    aml_device(scope, name, &dev);
}

static void build_isa(struct aml *isa, const struct acpi_config *cfg)
{
    struct aml r = {0};
    /* 8259 pair; IRQ 2 is the cascade. */
    res_io(&r, 0x20, 2);
    res_io(&r, 0xa0, 2);
    res_irq(&r, 2);
    isa_device(isa, "PIC", "PNP0000", -1, &r);

    r = (struct aml){0};
    res_io(&r, 0x40, 4);
    res_irq(&r, 0);
    isa_device(isa, "TMR", "PNP0100", -1, &r);

    r = (struct aml){0};
    res_io(&r, 0x70, 2);
    res_irq(&r, 8);
    isa_device(isa, "RTC", "PNP0B00", -1, &r);

    /* Linux's i8042 driver finds the controller through these PNP IDs. */
    r = (struct aml){0};
    res_io(&r, 0x60, 1);
    res_io(&r, 0x64, 1);
    res_irq(&r, 1);
    isa_device(isa, "KBD", "PNP0303", -1, &r);

    r = (struct aml){0};
    res_irq(&r, 12);
    isa_device(isa, "MOU", "PNP0F13", -1, &r);

    static const uint16_t com_base[4] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
    static const uint8_t com_irq[4] = {4, 3, 4, 3};
    static const char *const com_name[4] = {"COM1", "COM2", "COM3", "COM4"};
    for (int i = 0; i < 4; i++) {
        if (!(cfg->serial_mask & (1u << i)))
            continue;
        r = (struct aml){0};
        res_io(&r, com_base[i], 8);
        res_irq(&r, com_irq[i]);
        isa_device(isa, com_name[i], "PNP0501", i + 1, &r);
    }
}

static void build_pci0(struct aml *sb, const struct acpi_config *cfg)
{
    struct aml pci = {0};
    /* _HID only: a device has _HID or _ADR, not both (§6.1). */
    aml_name_eisaid(&pci, "_HID", "PNP0A03");
    aml_name_int(&pci, "_BBN", 0);
    aml_name_int(&pci, "_UID", 0);

    /* What the host bridge decodes: bus 0-255, its own config ports, all I/O
     * but them, the VGA window and the 32-bit PCI hole up to the IOAPIC. */
    struct aml r = {0};
    res_word(&r, RES_BUS, 0, 0x00, 0xff);
    res_io(&r, 0xcf8, 8);
    res_word(&r, RES_IO, 0x03, 0x0000, 0x0cf7);
    res_word(&r, RES_IO, 0x03, 0x0d00, 0xffff);
    res_dword_mem(&r, 0x03, 0xa0000, 0xbffff);
    res_dword_mem(&r, 0x01, (uint32_t)cfg->pci_mem_base, 0xfebfffff);
    aml_name_resources(&pci, "_CRS", &r);

    /* _PRT (§6.2.13): every slot's four pins as static GSIs (Source = 0). */
    struct aml prt = {0};
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            struct aml e = {0};
            aml_int(&e, slot << 16 | 0xffff);
            aml_int(&e, pin);
            aml_int(&e, 0);
            aml_int(&e, (uint64_t)acpi_prt_gsi(cfg, slot, pin));
            aml_package(&prt, 4, &e);
        }
    }
    struct aml prtpkg = {0};
    aml_package(&prtpkg, 128, &prt);
    aml_name(&pci, "_PRT", &prtpkg);

    /* The PIIX3 function 0 (00:01.0) is the ISA bridge, as on QEMU's pc. */
    struct aml isa = {0};
    aml_name_int(&isa, "_ADR", 0x00010000);
    build_isa(&isa, cfg);
    aml_device(&pci, "ISA", &isa);

    aml_device(sb, "PCI0", &pci);
}

static void build_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
    /* \_S5: {SLP_TYPa, SLP_TYPb, reserved, reserved} (§7.4.2). */
    struct aml e = {0};
    aml_int(&e, ACPI_SLP_TYP_S5);
    aml_int(&e, ACPI_SLP_TYP_S5);
    aml_int(&e, 0);
    aml_int(&e, 0);
    struct aml pkg = {0};
    aml_package(&pkg, 4, &e);
    aml_name(a, "\\_S5", &pkg);

    struct aml sb = {0};
    build_pci0(&sb, cfg);
    aml_scope(a, "\\_SB", &sb);
}

/* ---- tables --------------------------------------------------------------- */

#define SDT_HDR 36

struct area {
    uint8_t *p;
    size_t len;
    uint64_t base;
    size_t used;
    bool full;
};

/* Reserves `len` bytes aligned to `align`; returns the offset or 0 (the
 * RSDP sits at offset 0, so 0 never names a later table). */
static size_t area_alloc(struct area *ar, size_t len, size_t align)
{
    size_t off = (ar->used + align - 1) & ~(align - 1);
    if (off + len > ar->len || off + len < off) {
        ar->full = true;
        return 0;
    }
    memset(ar->p + off, 0, len);
    ar->used = off + len;
    return off;
}

static void sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    t[9] = 0;
    memcpy(t + 10, "TREMU ", 6);               /* OEMID */
    memcpy(t + 16, "TREMUPC ", 8);             /* OEM table ID */
    put32(t + 24, 1);                          /* OEM revision */
    memcpy(t + 28, "TRMU", 4);                 /* creator ID */
    put32(t + 32, 1);                          /* creator revision */
}

static void sdt_checksum(uint8_t *t, uint32_t len)
{
    t[9] = 0;
    t[9] = (uint8_t)(0x100 - acpi_sum(t, len));
}

/* Generic Address Structure (§5.2.3.2). */
static void gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
    p[0] = space;
    p[1] = bits;
    p[2] = 0;
    p[3] = access;
    put64(p + 4, addr);
}

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* FADT (§5.2.9), revision 3 (ACPI 2.0 layout, 244 bytes), the revision
 * QEMU's pc uses and every Linux reads. */
#define FADT_LEN 244
#define FADT_REV 3

#define FADT_F_WBINVD          (1u << 0)
#define FADT_F_PROC_C1         (1u << 2)
#define FADT_F_SLP_BUTTON      (1u << 5)   /* no fixed-feature sleep button */
#define FADT_F_RTC_S4          (1u << 7)
#define FADT_F_RESET_REG_SUP   (1u << 10)
#define FADT_F_USE_PLATFORM_CLOCK (1u << 15)

#define IAPC_LEGACY_DEVICES    (1u << 0)
#define IAPC_8042              (1u << 1)

static void build_fadt(uint8_t *t, const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt)
{
    uint16_t pm = cfg->pm_base;
    sdt_header(t, "FACP", FADT_LEN, FADT_REV);
    put32(t + 36, (uint32_t)facs);             /* FIRMWARE_CTRL */
    put32(t + 40, (uint32_t)dsdt);             /* DSDT */
    t[45] = 0;                                 /* Preferred_PM_Profile: unspecified */
    put16(t + 46, cfg->sci_irq);               /* SCI_INT */
    /* SMI_CMD = 0: no SMM handshake; the hardware is in ACPI mode from reset
     * (SCI_EN already set), so ACPI_ENABLE/ACPI_DISABLE stay 0 (§4.8.2.1). */
    put32(t + 48, 0);
    put32(t + 56, pm);                         /* PM1a_EVT_BLK */
    put32(t + 64, pm + 4u);                    /* PM1a_CNT_BLK */
    put32(t + 76, pm + 8u);                    /* PM_TMR_BLK */
    t[88] = 4;                                 /* PM1_EVT_LEN */
    t[89] = 2;                                 /* PM1_CNT_LEN */
    t[91] = 4;                                 /* PM_TMR_LEN */
    /* C2/C3 not supported (> 100 and > 1000 µs). */
    put16(t + 96, 0x0fff);
    put16(t + 98, 0x0fff);
    t[108] = 0x32;                             /* CENTURY: CMOS index */
    put16(t + 109, IAPC_LEGACY_DEVICES | IAPC_8042);
    put32(t + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
                   FADT_F_RESET_REG_SUP | FADT_F_USE_PLATFORM_CLOCK);
    /* RESET_REG: byte write of 0x06 to 0xCF9, like QEMU's pc (§4.8.3.6). */
    gas(t + 116, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);
    t[128] = ACPI_RESET_VALUE;
    put64(t + 140, dsdt);                      /* X_DSDT */
    gas(t + 148, GAS_SYSTEM_IO, 32, 0, pm);          /* X_PM1a_EVT_BLK */
    gas(t + 172, GAS_SYSTEM_IO, 16, 0, pm + 4u);     /* X_PM1a_CNT_BLK */
    gas(t + 208, GAS_SYSTEM_IO, 32, 0, pm + 8u);     /* X_PM_TMR_BLK */
    sdt_checksum(t, FADT_LEN);
}

/* MADT (§5.2.12), revision 1 as QEMU's pc: the LAPIC address, PCAT_COMPAT
 * (the 8259s are there too), then the interrupt controller structures. */
#define MADT_PCAT_COMPAT 1u
#define MADT_IOAPIC_ADDR 0xfec00000u
#define MADT_LAPIC_ADDR  0xfee00000u
/* Interrupt source override flags (§5.2.12.5, table 5.50): polarity 01
 * active high, trigger 11 level. */
#define MPS_ACTIVE_HIGH_LEVEL 0x000d
/* ISA IRQs QEMU's pc declares level / active high (its pci_irq_mask 0x0e20:
 * the SCI and the PCI interrupt lines). */
static const uint8_t madt_level_irqs[] = {5, 9, 10, 11};

static size_t madt_size(const struct acpi_config *cfg)
{
    return SDT_HDR + 8 + 8u * cfg->ncpus + 12 + 10 * (1 + sizeof(madt_level_irqs)) + 6;
}

static void build_madt(uint8_t *t, size_t len, const struct acpi_config *cfg)
{
    sdt_header(t, "APIC", (uint32_t)len, 1);
    put32(t + 36, MADT_LAPIC_ADDR);
    put32(t + 40, MADT_PCAT_COMPAT);
    uint8_t *e = t + 44;
    for (unsigned i = 0; i < cfg->ncpus; i++, e += 8) {
        e[0] = 0;                       /* Processor Local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i;              /* ACPI processor UID */
        e[3] = (uint8_t)i;              /* APIC id */
        put32(e + 4, 1);                /* enabled */
    }
    e[0] = 1;                           /* I/O APIC: id 0, GSI base 0 */
    e[1] = 12;
    e[2] = 0;
    put32(e + 4, MADT_IOAPIC_ADDR);
    put32(e + 8, 0);
    e += 12;
    /* IRQ0 (the PIT, the HPET's legacy route) is IOAPIC pin 2; flags 0:
     * conforms to the ISA bus (edge, active high). */
    e[0] = 2; e[1] = 10; e[2] = 0; e[3] = 0;
    put32(e + 4, 2);
    put16(e + 8, 0);
    e += 10;
    for (size_t i = 0; i < sizeof(madt_level_irqs); i++, e += 10) {
        e[0] = 2; e[1] = 10; e[2] = 0; e[3] = madt_level_irqs[i];
        put32(e + 4, madt_level_irqs[i]);
        put16(e + 8, MPS_ACTIVE_HIGH_LEVEL);
    }
    /* Local APIC NMI: LINT1 of every processor (UID 0xff), bus-conforming. */
    e[0] = 4; e[1] = 6; e[2] = 0xff;
    put16(e + 3, 0);
    e[5] = 1;
    sdt_checksum(t, (uint32_t)len);
}

/* HPET description table (IA-PC HPET 1.0a §3.2.4): the block's capability
 * ID (as its register 0 reads), its base in system memory, HPET number 0. */
#define HPET_TABLE_LEN 56
static void build_hpet(uint8_t *t)
{
    sdt_header(t, "HPET", HPET_TABLE_LEN, 1);
    put32(t + 36, 0x8086a201);
    gas(t + 40, 0 /* system memory */, 0, 0, 0xfed00000ULL);
    t[52] = 0;                          /* HPET number */
    put16(t + 53, 0);                   /* minimum periodic tick: none stated */
    t[55] = 0;                          /* no page protection */
    sdt_checksum(t, HPET_TABLE_LEN);
}

void acpi_config_default(struct acpi_config *cfg, uint64_t lowmem)
{
    *cfg = (struct acpi_config){
        .pm_base = ACPI_PM_BASE_DEFAULT,
        .sci_irq = ACPI_SCI_IRQ_DEFAULT,
        .pirq_irq = {10, 10, 11, 11},
        .serial_mask = 0x1,
        .pci_mem_base = lowmem,
    };
}

uint64_t acpi_build_tables(uint8_t *p, size_t len, uint64_t base, const struct acpi_config *cfg)
{
    if (!p || !cfg || base + len < base || base + len > 0x100000000ULL || (base & 0xf))
        return 0;
    /* The window must lie between low RAM's end and the IOAPIC; the PM block
     * must fit in I/O space; IRQs are ISA IRQs. */
    if (cfg->pci_mem_base == 0 || cfg->pci_mem_base > 0xfec00000ULL || (cfg->pci_mem_base & 0xfffff) ||
        cfg->pm_base == 0 || cfg->pm_base > 0xfff0 || cfg->sci_irq > 15)
        return 0;
    for (int i = 0; i < 4; i++)
        if (cfg->pirq_irq[i] > 15)
            return 0;

    struct area ar = {p, len, base, 0, false};
    size_t rsdp = area_alloc(&ar, 36, 16);
    size_t facs = area_alloc(&ar, 64, 64);          /* FACS: 64-byte aligned (§5.2.10) */
    if (cfg->madt && cfg->ncpus < 1)
        return 0;
    size_t madt_len = cfg->madt ? madt_size(cfg) : 0;
    uint32_t ntables = 1 + (cfg->madt ? 1 : 0) + (cfg->hpet ? 1 : 0);
    size_t rsdt = area_alloc(&ar, SDT_HDR + 4 * ntables, 16);
    size_t xsdt = area_alloc(&ar, SDT_HDR + 8 * ntables, 16);
    size_t fadt = area_alloc(&ar, FADT_LEN, 16);
    size_t madt = cfg->madt ? area_alloc(&ar, madt_len, 16) : 0;
    size_t hpet = cfg->hpet ? area_alloc(&ar, HPET_TABLE_LEN, 16) : 0;

    struct aml dsdt_aml = {0};
    build_dsdt_aml(&dsdt_aml, cfg);
    if (dsdt_aml.oom) {
        aml_free(&dsdt_aml);
        return 0;
    }
    size_t dsdt = area_alloc(&ar, SDT_HDR + dsdt_aml.len, 16);
    if (ar.full) {
        aml_free(&dsdt_aml);
        return 0;
    }
    /* DSDT revision 2: integers are 64-bit (§5.2.11.1). */
    sdt_header(p + dsdt, "DSDT", (uint32_t)(SDT_HDR + dsdt_aml.len), 2);
    memcpy(p + dsdt + SDT_HDR, dsdt_aml.b, dsdt_aml.len);
    sdt_checksum(p + dsdt, (uint32_t)(SDT_HDR + dsdt_aml.len));
    aml_free(&dsdt_aml);

    uint8_t *f = p + facs;
    memcpy(f, "FACS", 4);
    put32(f + 4, 64);
    f[32] = 2;                                       /* version (ACPI 6.x) */

    build_fadt(p + fadt, cfg, base + facs, base + dsdt);
    size_t tables[3];
    uint32_t nt = 0;
    tables[nt++] = fadt;
    if (cfg->madt) {
        build_madt(p + madt, madt_len, cfg);
        tables[nt++] = madt;
    }
    if (cfg->hpet) {
        build_hpet(p + hpet);
        tables[nt++] = hpet;
    }

    sdt_header(p + rsdt, "RSDT", SDT_HDR + 4 * nt, 1);
    for (uint32_t i = 0; i < nt; i++)
        put32(p + rsdt + SDT_HDR + 4 * i, (uint32_t)(base + tables[i]));
    sdt_checksum(p + rsdt, SDT_HDR + 4 * nt);

    sdt_header(p + xsdt, "XSDT", SDT_HDR + 8 * nt, 1);
    for (uint32_t i = 0; i < nt; i++)
        put64(p + xsdt + SDT_HDR + 8 * i, base + tables[i]);
    sdt_checksum(p + xsdt, SDT_HDR + 8 * nt);

    /* RSDP (§5.2.5.3): checksum over the ACPI 1.0 part (20 bytes), extended
     * checksum over all 36. */
    uint8_t *r = p + rsdp;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "TREMU ", 6);
    r[15] = 2;
    put32(r + 16, (uint32_t)(base + rsdt));
    put32(r + 20, 36);
    put64(r + 24, base + xsdt);
    r[8] = (uint8_t)(0x100 - acpi_sum(r, 20));
    r[32] = (uint8_t)(0x100 - acpi_sum(r, 36));
    return base + rsdp;
}

/* ---- reading them back (tests, dumps) ------------------------------------- */

static const uint8_t *area_ptr(const uint8_t *p, size_t len, uint64_t base, uint64_t addr, uint64_t n)
{
    if (addr < base || addr - base > len || n > len - (addr - base))
        return NULL;
    return p + (addr - base);
}

static int add_ref(struct acpi_table_ref *out, int k, int max, const char *sig, uint64_t addr, uint32_t len)
{
    if (k < max) {
        memcpy(out[k].sig, sig, 4);
        out[k].sig[4] = 0;
        out[k].addr = addr;
        out[k].len = len;
    }
    return k + 1;
}

int acpi_list_tables(const uint8_t *p, size_t len, uint64_t base, struct acpi_table_ref *out, int max)
{
    int k = 0;
    const uint8_t *r = area_ptr(p, len, base, base, 36);
    if (!r || memcmp(r, "RSD PTR ", 8))
        return 0;
    k = add_ref(out, k, max, "RSDP", base, 36);
    uint64_t xaddr = get64(r + 24);
    const uint8_t *x = area_ptr(p, len, base, xaddr, SDT_HDR);
    if (!x)
        return k;
    uint32_t xlen = get32(x + 4);
    if (xlen < SDT_HDR || !area_ptr(p, len, base, xaddr, xlen))
        return k;
    uint64_t raddr = get32(r + 16);
    const uint8_t *rs = area_ptr(p, len, base, raddr, SDT_HDR);
    if (rs)
        k = add_ref(out, k, max, "RSDT", raddr, get32(rs + 4));
    k = add_ref(out, k, max, "XSDT", xaddr, xlen);
    for (uint32_t off = SDT_HDR; off + 8 <= xlen; off += 8) {
        uint64_t ta = get64(x + off);
        const uint8_t *t = area_ptr(p, len, base, ta, SDT_HDR);
        if (!t)
            continue;
        char sig[5] = {(char)t[0], (char)t[1], (char)t[2], (char)t[3], 0};
        uint32_t tlen = get32(t + 4);
        if (!area_ptr(p, len, base, ta, tlen))
            continue;
        k = add_ref(out, k, max, sig, ta, tlen);
        if (!memcmp(sig, "FACP", 4) && tlen >= 148) {
            uint64_t facs = get32(t + 36), dsdt = get64(t + 140);
            const uint8_t *fs = area_ptr(p, len, base, facs, 64);
            if (fs)
                k = add_ref(out, k, max, "FACS", facs, get32(fs + 4));
            const uint8_t *ds = area_ptr(p, len, base, dsdt, SDT_HDR);
            if (ds && area_ptr(p, len, base, dsdt, get32(ds + 4)))
                k = add_ref(out, k, max, "DSDT", dsdt, get32(ds + 4));
        }
    }
    return k;
}

/* ---- board entry ------------------------------------------------------------ */

/* Marks [addr, addr+len) reserved: grows an adjacent reserved entry (the
 * 0xF0000 BIOS one) or inserts a new entry in address order. */
static int e820_reserve(struct machine *m, uint64_t addr, uint64_t len)
{
    for (int i = 0; i < m->ne820; i++) {
        struct e820_entry *e = &m->e820[i];
        if (e->type == E820_RESERVED && e->addr == addr + len) {
            e->addr = addr;
            e->size += len;
            return 0;
        }
        if (e->type == E820_RESERVED && e->addr <= addr && e->addr + e->size >= addr + len)
            return 0;
    }
    if (m->ne820 >= E820_MAX)
        return -1;
    int at = 0;
    while (at < m->ne820 && m->e820[at].addr < addr)
        at++;
    memmove(&m->e820[at + 1], &m->e820[at], (size_t)(m->ne820 - at) * sizeof(m->e820[0]));
    m->e820[at] = (struct e820_entry){addr, len, E820_RESERVED};
    m->ne820++;
    return 0;
}

uint64_t acpi_build(struct machine *m, const struct acpi_config *cfg)
{
    uint8_t *p = machine_phys_ptr(m, ACPI_AREA_BASE, ACPI_AREA_SIZE);
    if (!p)
        return 0;
    /* No e820 RAM entry may cover the area (Linux would hand it out). */
    for (int i = 0; i < m->ne820; i++) {
        const struct e820_entry *e = &m->e820[i];
        if (e->type == E820_RAM && e->addr < ACPI_AREA_BASE + ACPI_AREA_SIZE &&
            e->addr + e->size > ACPI_AREA_BASE)
            return 0;
    }
    memset(p, 0, ACPI_AREA_SIZE);
    uint64_t rsdp = acpi_build_tables(p, ACPI_AREA_SIZE, ACPI_AREA_BASE, cfg);
    if (!rsdp || e820_reserve(m, ACPI_AREA_BASE, ACPI_AREA_SIZE) < 0)
        return 0;
    return rsdp;
}
