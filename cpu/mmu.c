/* Memory: page walks (32-bit, PAE, 4-level; SDM vol. 3, ch. 4), the soft
 * TLB fill, slow paths for misses, page-crossing and MMIO accesses,
 * segment limit faults, and self-modifying-code detection on writes. */
#include "cpu/cpu_int.h"

#define PTE_P   (1ULL << 0)
#define PTE_W   (1ULL << 1)
#define PTE_U   (1ULL << 2)
#define PTE_A   (1ULL << 5)
#define PTE_D   (1ULL << 6)
#define PTE_PS  (1ULL << 7)
#define PTE_NX  (1ULL << 63)

#define PFERR_P    1u
#define PFERR_W    2u
#define PFERR_U    4u
#define PFERR_RSVD 8u
#define PFERR_I    16u

/* MAXPHYADDR we advertise in CPUID 0x80000008: 40 bits. */
#define PHYS_MASK 0x000000fffffff000ULL
#define PTE_RSVD_HI 0x000fff0000000000ULL   /* bits 51:40, above MAXPHYADDR */

void tlb_flush(struct cpu *c)
{
    COUNT_EXIT(c, TLB_FLUSH);
    for (unsigned k = 0; k < 2; k++)
        for (unsigned j = 0; j < TLB_SIZE; j++) {
            c->tlb[k][j].tag_r = c->tlb[k][j].tag_w = c->tlb[k][j].tag_x = TLB_INVALID;
        }
    memset(c->jc, 0, sizeof(c->jc));
    c->code_epoch++;       /* block-to-block links may follow stale mappings */
    c->map_epoch++;        /* and so may translated jumps across pages */
}

void tlb_flush_page(struct cpu *c, uint64_t lin)
{
    COUNT_EXIT(c, TLB_FLUSH_PAGE);
    lin &= ~0xfffULL;
    for (unsigned k = 0; k < 2; k++) {
        struct tlb_entry *e = &c->tlb[k][(lin >> 12) & (TLB_SIZE - 1)];
        if (e->tag_r == lin || e->tag_w == lin || e->tag_x == lin)
            e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    }
    /* Large pages may cover this address through other entries: flush
     * every entry whose 4 KiB translation came from a larger page is not
     * tracked, so drop the decoded-code jump cache and be conservative. */
    memset(c->jc, 0, sizeof(c->jc));
    c->code_epoch++;       /* block-to-block links may follow stale mappings */
    c->map_epoch++;        /* and so may translated jumps across pages */
}

/* ---- physical access ---- */

static uint8_t *ram_page(struct cpu *c, uint64_t paddr, bool write)
{
    return c->bus->ram_ptr(c->bus->opaque, paddr & ~0xfffULL, write);
}

uint64_t phys_read(struct cpu *c, uint64_t paddr, unsigned sz)
{
    if ((paddr & 0xfff) + sz > 0x1000) {
        uint64_t v = 0;
        for (unsigned k = 0; k < sz; k++)
            v |= phys_read(c, paddr + k, 1) << (8 * k);
        return v;
    }
    uint8_t *p = ram_page(c, paddr, false);
    if (p)
        return ld_host((uintptr_t)(p + (paddr & 0xfff)), sz);
    if (unlikely(c->journal))
        c->journal->io = true;
    return c->bus->mmio_read(c->bus->opaque, paddr, sz) & szmask(sz);
}

void phys_write(struct cpu *c, uint64_t paddr, unsigned sz, uint64_t v)
{
    if ((paddr & 0xfff) + sz > 0x1000) {
        for (unsigned k = 0; k < sz; k++)
            phys_write(c, paddr + k, 1, v >> (8 * k));
        return;
    }
    code_write_check(c, paddr, sz);
    uint8_t *p = ram_page(c, paddr, true);
    if (unlikely(c->journal)) {
        struct journal *j = c->journal;
        if (!p)
            j->io = true;
        else if (j->n >= JOURNAL_MAX)
            j->overflow = true;
        else {
            j->e[j->n].paddr = paddr;
            j->e[j->n].sz = (uint8_t)sz;
            j->e[j->n].oldv = ld_host((uintptr_t)(p + (paddr & 0xfff)), sz);
            j->e[j->n].newv = v & szmask(sz);
            j->n++;
        }
    }
    if (p)
        st_host((uintptr_t)(p + (paddr & 0xfff)), sz, v);
    else
        c->bus->mmio_write(c->bus->opaque, paddr, v & szmask(sz), sz);
}

/* Page-table entries are read and updated (A/D) in guest RAM directly. */
static uint64_t pte_read(struct cpu *c, uint64_t paddr, bool pae)
{
    return phys_read(c, paddr, pae ? 8 : 4);
}

static void pte_set_bits(struct cpu *c, uint64_t paddr, bool pae, uint64_t old, uint64_t bits)
{
    if ((old & bits) != bits) {
        /* Accessed/dirty bits are sticky and a walk may or may not happen
         * depending on what the TLB holds: jit=verify neither undoes nor
         * compares them. */
        struct journal *j = c->journal;
        c->journal = NULL;
        phys_write(c, paddr, pae ? 8 : 4, old | bits);
        c->journal = j;
    }
}

NORETURN static void page_fault(struct cpu *c, uint64_t lin, uint32_t err)
{
    c->cr2 = lin;
    cpu_raise(c, EXC_PF, true, err);
}

/* The walk. Returns 0 and the physical address, or a #PF error code with
 * bit 31 set to mark failure. *wr_ok tells whether a write would be
 * allowed (for the TLB's write tag), *x_ok likewise for fetches. */
static uint32_t walk(struct cpu *c, uint64_t lin, int acc, bool user, uint64_t *paddr,
                     bool *wr_ok, bool *x_ok, bool set_dirty)
{
    const bool write = acc == ACC_W;
    const bool nxe = c->efer & EFER_NXE;
    const bool wp = c->cr0 & CR0_WP;
    uint32_t err = (write ? PFERR_W : 0) | (user ? PFERR_U : 0) |
                   (acc == ACC_X && nxe ? PFERR_I : 0);
    bool pae = c->cr4 & CR4_PAE;
    bool rw = true, us = true, nx = false;
    uint64_t ptes[5], pte_addr[5];
    int levels, n = 0;
    uint64_t table, pte = 0, page_size = 4096;

    if (c->efer & EFER_LMA) {
        levels = 4;
        table = c->cr3 & PHYS_MASK;
    } else if (pae) {
        uint64_t pdpte = c->pdpte[(lin >> 30) & 3];
        if (!(pdpte & PTE_P))
            return err | 0x80000000u;
        if (pdpte & (0x1e6 | PTE_RSVD_HI))
            return err | PFERR_P | PFERR_RSVD | 0x80000000u;
        levels = 2;
        table = pdpte & PHYS_MASK;
    } else {
        levels = 2;
        table = c->cr3 & 0xfffff000ULL;
    }
    for (int lvl = levels; lvl >= 1; lvl--) {
        unsigned shift = pae || levels == 4 ? 12 + 9 * (lvl - 1) : 12 + 10 * (lvl - 1);
        unsigned idx = pae || levels == 4 ? (lin >> shift) & 511 : (lin >> shift) & 1023;
        uint64_t a = table + idx * (pae || levels == 4 ? 8 : 4);
        pte = pte_read(c, a, pae || levels == 4);
        ptes[n] = pte;
        pte_addr[n++] = a;
        if (!(pte & PTE_P))
            return err | 0x80000000u;
        /* Physical-address bits at or above MAXPHYADDR (40, CPUID
         * 80000008h) are reserved in PAE and 4-level entries (SDM vol. 3,
         * tables 4-8 to 4-20). */
        if ((pae || levels == 4) && (pte & PTE_RSVD_HI))
            return err | PFERR_P | PFERR_RSVD | 0x80000000u;
        if (pte & PTE_NX) {
            if (!nxe)
                return err | PFERR_P | PFERR_RSVD | 0x80000000u;
            nx = true;
        }
        rw &= !!(pte & PTE_W);
        us &= !!(pte & PTE_U);
        bool large = lvl > 1 && (pte & PTE_PS) &&
                     (lvl == 2 ? (pae || levels == 4 || (c->cr4 & CR4_PSE)) : lvl == 3 && levels == 4);
        if (large) {
            page_size = 1ULL << shift;
            if (pae || levels == 4) {
                /* Bits between 12 and the page size (except PAT bit 12) are reserved. */
                if (pte & (page_size - 1) & ~0x1fffULL & PHYS_MASK)
                    return err | PFERR_P | PFERR_RSVD | 0x80000000u;
                *paddr = (pte & PHYS_MASK & ~(page_size - 1)) | (lin & (page_size - 1));
            } else {
                /* PSE-36: bits 13-20 give physical bits 32-39; with a
                 * 40-bit MAXPHYADDR bit 21 is reserved (SDM vol. 3,
                 * table 4-4). */
                if (pte & (1u << 21))
                    return err | PFERR_P | PFERR_RSVD | 0x80000000u;
                uint64_t hi = ((pte >> 13) & 0xff) << 32;
                *paddr = ((pte & 0xffc00000ULL) | hi) | (lin & (page_size - 1));
            }
            break;
        }
        if (lvl == 1)
            *paddr = (pte & (pae || levels == 4 ? PHYS_MASK : 0xfffff000ULL)) | (lin & 0xfff);
        else
            table = pte & (pae || levels == 4 ? PHYS_MASK : 0xfffff000ULL);
    }
    /* Permissions (SDM vol. 3, 4.6). */
    if (user && !us)
        return err | PFERR_P | 0x80000000u;
    bool can_write = rw || (!user && !wp);
    if (write && !can_write)
        return err | PFERR_P | 0x80000000u;
    if (acc == ACC_X && nx)
        return err | PFERR_P | 0x80000000u;
    if (!user && us && acc == ACC_X && (c->cr4 & CR4_SMEP))
        return err | PFERR_P | 0x80000000u;
    /* Accessed bits on every level, dirty on the leaf for writes. */
    for (int k = 0; k < n; k++) {
        bool leaf = k == n - 1;
        uint64_t bits = PTE_A | (leaf && (write || set_dirty) ? PTE_D : 0);
        pte_set_bits(c, pte_addr[k], pae || levels == 4, ptes[k], bits);
    }
    *wr_ok = can_write && (write || set_dirty || (pte & PTE_D));
    *x_ok = !nx;
    return 0;
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

bool mmu_translate(struct cpu *c, uint64_t lin, int acc, bool user, bool nofault, uint64_t *paddr)
{
    if (!(c->cr0 & CR0_PG)) {
        *paddr = lin & 0xffffffffULL & c->a20_mask;
        return true;
    }
    bool w, x;
    uint32_t e = walk(c, lin, acc, user, paddr, &w, &x, false);
    if (e) {
        if (nofault)
            return false;
        page_fault(c, lin, e & 0x7fffffffu);
    }
    *paddr &= c->a20_mask;
    return true;
}

/* Fills the TLB entry for lin after a successful walk. */
static void tlb_fill(struct cpu *c, uint64_t lin, int acc)
{
    COUNT_EXIT(c, TLB_MISS);
    bool user = c->mmu_idx != 0;
    uint64_t pa;
    bool w = true, x = true;
    if (c->lin_mask != ~0ULL || !is_64(c))
        lin &= 0xffffffffULL;
    else if (!canonical(lin))
        cpu_raise(c, EXC_GP, true, 0);
    if (c->cr0 & CR0_PG) {
        uint32_t e = walk(c, lin, acc, user, &pa, &w, &x, false);
        if (e)
            page_fault(c, lin, e & 0x7fffffffu);
    } else {
        pa = lin;
    }
    pa &= c->a20_mask;
    uint64_t ppage = pa & ~0xfffULL;
    uint64_t lpage = lin & ~0xfffULL;
    struct tlb_entry *t = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
    uint8_t *host = ram_page(c, ppage, false);
    if (!host) {
        t->tag_r = t->tag_w = t->tag_x = TLB_INVALID;
        return;     /* MMIO: always the slow path */
    }
    t->tag_r = t->tag_w = t->tag_x = TLB_INVALID;
    t->ppage = ppage;
    t->addend = (uintptr_t)host - (uintptr_t)lpage;
    t->tag_r = lpage;
    if (x)
        t->tag_x = lpage;
    /* Writes get a host pointer only if the page is writable RAM (not ROM),
     * its dirty bit is set, and it holds no decoded code. */
    if (w && !c->no_fast_writes && !is_code_page(c, ppage)) {
        uint8_t *hw = ram_page(c, ppage, true);
        if (hw == host)
            t->tag_w = lpage;
    }
}

/* Translates one byte's page for an access; returns the physical address. */
static uint64_t xlate(struct cpu *c, uint64_t lin, int acc)
{
    if (is_64(c) && !canonical(lin))
        cpu_raise(c, EXC_GP, true, 0);
    if (!is_64(c))
        lin &= 0xffffffffULL;
    uint64_t pa;
    if (!(c->cr0 & CR0_PG))
        return lin & c->a20_mask;
    bool w, x;
    uint32_t e = walk(c, lin, acc, c->mmu_idx != 0, &pa, &w, &x, false);
    if (e)
        page_fault(c, lin, e & 0x7fffffffu);
    return pa & c->a20_mask;
}

uint64_t mem_read_slow(struct cpu *c, uint64_t lin, unsigned sz)
{
    if ((lin & 0xfff) + sz > 0x1000) {
        /* Page-crossing: translate both pages before touching either. */
        uint64_t pa1 = xlate(c, lin, ACC_R);
        uint64_t pa2 = xlate(c, (lin + sz - 1) & ~0xfffULL, ACC_R);
        unsigned n1 = 0x1000 - (lin & 0xfff);
        uint64_t v = 0;
        for (unsigned k = 0; k < sz; k++)
            v |= phys_read(c, k < n1 ? pa1 + k : pa2 + (k - n1), 1) << (8 * k);
        return v;
    }
    tlb_fill(c, lin, ACC_R);
    struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
    if (e->tag_r == (lin & ~0xfffULL))
        return ld_host(e->addend + (uintptr_t)lin, sz);
    /* MMIO */
    return phys_read(c, xlate(c, lin, ACC_R), sz);
}

void mem_write_slow(struct cpu *c, uint64_t lin, unsigned sz, uint64_t v)
{
    if ((lin & 0xfff) + sz > 0x1000) {
        uint64_t pa1 = xlate(c, lin, ACC_W);
        uint64_t pa2 = xlate(c, (lin + sz - 1) & ~0xfffULL, ACC_W);
        unsigned n1 = 0x1000 - (lin & 0xfff);
        for (unsigned k = 0; k < sz; k++)
            phys_write(c, k < n1 ? pa1 + k : pa2 + (k - n1), 1, v >> (8 * k));
        return;
    }
    uint64_t pa = xlate(c, lin, ACC_W);     /* sets A/D, faults if not writable */
    phys_write(c, pa, sz, v);               /* invalidates decoded code if any */
    tlb_fill(c, lin, ACC_W);
}

/* Implicit supervisor-mode accesses to system structures (SDM vol. 3, 4.6:
 * descriptor tables, TSS and IDT are accessed with supervisor rights). */
uint64_t sys_read(struct cpu *c, uint64_t lin, unsigned sz)
{
    uint32_t saved = c->mmu_idx;
    c->mmu_idx = 0;
    uint64_t v = mem_read(c, lin, sz);
    c->mmu_idx = saved;
    return v;
}

void sys_write(struct cpu *c, uint64_t lin, unsigned sz, uint64_t v)
{
    uint32_t saved = c->mmu_idx;
    c->mmu_idx = 0;
    mem_write(c, lin, sz, v);
    c->mmu_idx = saved;
}

/* A segment check failed the fast compare: decide precisely (SDM vol. 3,
 * 5.3: expand-down segments, null selectors, read/write permission). */
void seg_check_slow(struct cpu *c, int s, uint64_t ea, unsigned sz, bool write)
{
    int vec = s == SEG_SS ? EXC_SS : EXC_GP;
    if (s == SEG_ZERO)
        return;
    if (is_64(c)) {
        return;     /* FS/GS: no limit in 64-bit mode */
    }
    const struct seg_cache *sg = &c->seg[s];
    if (!is_real(c) && !is_vm86(c)) {
        if (sg->attr & SEGA_UNUSABLE)
            cpu_raise(c, vec, true, 0);
        unsigned type = SEGA_TYPE(sg->attr);
        if (type & 8) {                         /* code */
            if (write || !(type & 2))
                cpu_raise(c, vec, true, 0);
        } else if (write && !(type & 2)) {
            cpu_raise(c, vec, true, 0);
        }
        if (!(type & 8) && (type & 4)) {        /* expand-down */
            uint64_t upper = (sg->attr & SEGA_DB) ? 0xffffffffULL : 0xffffULL;
            if (ea <= sg->limit || ea + sz - 1 > upper)
                cpu_raise(c, vec, true, 0);
            return;
        }
    }
    if (ea + sz - 1 > sg->limit)
        cpu_raise(c, vec, true, 0);
}

unsigned cpu_read_code(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len)
{
    unsigned n = 0;
    while (n < len) {
        uint64_t pa;
        uint64_t a = lin + n;
        if (!is_64(c))
            a &= 0xffffffffULL;
        if (!mmu_translate(c, a, ACC_X, c->cpl == 3, true, &pa))
            break;
        uint8_t *p = ram_page(c, pa, false);
        if (!p)
            break;
        unsigned chunk = 0x1000 - (unsigned)(pa & 0xfff);
        if (chunk > len - n)
            chunk = len - n;
        memcpy(buf + n, p + (pa & 0xfff), chunk);
        n += chunk;
    }
    return n;
}
