/* The run loop, the decoded-block cache and exception plumbing.
 *
 * cpu_run looks up the block at CS:RIP (jump cache by linear address, then
 * a hash by physical address + decode mode, else decode a new one) and
 * calls each instruction's handler in turn. Exceptions longjmp back here and
 * are delivered with the #DF/triple-fault rules (SDM vol. 3, 6.15, table
 * 6-5). Interrupts are taken at block boundaries; blocks end after every
 * instruction that can change IF, the decode mode or the control flow. */
#include "cpu/cpu_int.h"
#include <stdlib.h>
#include <stdio.h>

#define DECODE_MODE_MASK (MODE_CS32 | MODE_64)

/* ---- exceptions ---- */

void cpu_raise_ev(struct cpu *c, int vec, int kind, bool has_err, uint32_t err)
{
    c->exc_vec = vec;
    c->exc_kind = kind;
    c->exc_has_err = has_err;
    c->exc_err = err;
    c->exc_rip = (kind == EV_EXC) ? c->rip : c->next_rip;
    longjmp(c->jb, 1);
}

void cpu_raise(struct cpu *c, int vec, bool has_err, uint32_t err)
{
    cpu_raise_ev(c, vec, EV_EXC, has_err, err);
}

void cpu_internal_error(struct cpu *c, const char *msg)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
    c->exc_vec = -1;
    longjmp(c->jb, 2);
}

static bool contributory(int v)
{
    return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

/* An exception arrived (from an instruction, a fetch, or while delivering
 * another one). Escalates per SDM vol. 3, table 6-5, then delivers. */
static void exception_taken(struct cpu *c)
{
    int vec = c->exc_vec;
    bool has_err = c->exc_has_err;
    uint32_t err = c->exc_err;
    int kind = c->exc_kind;
    uint64_t ret = c->exc_rip;
    if (c->delivering >= 0) {
        int first = c->delivering;
        if (first == EXC_DF) {
            c->stop = CPU_STOP_SHUTDOWN;
            c->delivering = -1;
            return;
        }
        if ((contributory(first) && contributory(vec)) ||
            (first == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
            vec = EXC_DF;
            has_err = true;
            err = 0;
            kind = EV_EXC;
        }
    }
    c->delivering = vec;
    cpu_count_exception(&c->counters, vec);
    /* A delivery consumes budget, so a guest stuck in an exception loop
     * that never retires an instruction still returns to the engine. */
    c->budget_end--;
    if (c->trace_on && c->trace.intr)
        c->trace.intr(c->trace.opaque, vec, has_err, err, c->rip, false);
    cpu_deliver(c, vec, kind, has_err, err, ret);
    c->delivering = -1;
}

/* ---- mode ---- */

void cpu_seg_refresh(struct cpu *c, int s)
{
    if (s == SEG_ZERO) {
        c->sbase[s] = 0;
        c->slim_r[s] = c->slim_w[s] = INT64_MAX;
        return;
    }
    const struct seg_cache *sg = &c->seg[s];
    if (is_64(c)) {
        c->sbase[s] = (s == SEG_FS || s == SEG_GS) ? sg->base : 0;
        c->slim_r[s] = c->slim_w[s] = INT64_MAX;
        return;
    }
    c->sbase[s] = sg->base & 0xffffffffULL;
    if (is_real(c) || is_vm86(c)) {
        c->slim_r[s] = c->slim_w[s] = sg->limit;
        return;
    }
    unsigned type = SEGA_TYPE(sg->attr);
    if (sg->attr & SEGA_UNUSABLE) {
        c->slim_r[s] = c->slim_w[s] = -1;
    } else if (type & 8) {
        c->slim_r[s] = (type & 2) ? (int64_t)sg->limit : -1;
        c->slim_w[s] = -1;
        /* Instruction fetches are checked separately; CS reads need R. */
    } else if (type & 4) {
        c->slim_r[s] = c->slim_w[s] = -1;   /* expand-down: slow check */
    } else {
        c->slim_r[s] = sg->limit;
        c->slim_w[s] = (type & 2) ? (int64_t)sg->limit : -1;
    }
}

void cpu_update_mode(struct cpu *c)
{
    uint32_t m = 0;
    if (c->cr0 & CR0_PE) {
        m |= MODE_PE;
        if (c->eflags & RFLAGS_VM)
            m |= MODE_VM86;
    }
    if (c->efer & EFER_LMA)
        m |= MODE_LMA;
    if ((m & MODE_LMA) && (m & MODE_PE) && !(m & MODE_VM86) && (c->seg[SEG_CS].attr & SEGA_L))
        m |= MODE_64;
    else if ((m & MODE_PE) && !(m & MODE_VM86) && (c->seg[SEG_CS].attr & SEGA_DB))
        m |= MODE_CS32;
    else if (!(m & MODE_PE) && (c->seg[SEG_CS].attr & SEGA_DB))
        m |= MODE_CS32;     /* real mode keeps a 32-bit CS cache only in odd cases */
    c->mode = m;
    if (!(m & MODE_PE))
        c->cpl = 0;
    else if (m & MODE_VM86)
        c->cpl = 3;
    else
        c->cpl = c->seg[SEG_CS].sel & 3;
    c->mmu_idx = c->cpl == 3;
    if (m & MODE_64)
        c->spmask = ~0ULL;
    else
        c->spmask = (c->seg[SEG_SS].attr & SEGA_DB) ? 0xffffffffULL : 0xffff;
    c->lin_mask = (m & MODE_64) ? ~0ULL : 0xffffffffULL;
    for (int s = 0; s < NSEGS; s++)
        cpu_seg_refresh(c, s);
}

/* ---- code pages and blocks ---- */

static unsigned page_hash(uint64_t ppage)
{
    return (unsigned)((ppage >> 12) ^ (ppage >> 24)) & (PAGE_HASH - 1);
}

static struct code_page *find_page(const struct cpu *c, uint64_t ppage)
{
    for (struct code_page *p = c->pages[page_hash(ppage)]; p; p = p->next)
        if (p->ppage == ppage)
            return p;
    return NULL;
}

bool is_code_page(const struct cpu *c, uint64_t ppage)
{
    return find_page(c, ppage) != NULL;
}

static unsigned block_hash(uint64_t phys, uint32_t mode)
{
    return (unsigned)((phys >> 2) ^ (phys >> 14) ^ mode) & (BLOCK_HASH - 1);
}

static unsigned jc_hash(uint64_t lin)
{
    return (unsigned)(lin ^ (lin >> 12)) & (JC_SIZE - 1);
}

static void block_unlink(struct cpu *c, struct block *b, uint64_t except_page)
{
    c->code_epoch++;
    struct block **pp = &c->bhash[block_hash(b->phys_pc, b->mode)];
    while (*pp && *pp != b)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = b->hash_next;
    unsigned j = jc_hash(b->lin_pc);
    if (c->jc[j] == b)
        c->jc[j] = NULL;
    for (int k = 0; k < 2; k++) {
        uint64_t pg = b->phys_page[k];
        if (pg == ~0ULL || pg == except_page)
            continue;
        struct code_page *p = find_page(c, pg);
        if (!p)
            continue;
        struct block **q = &p->head;
        while (*q && *q != b) {
            struct block *x = *q;
            q = &x->page_next[x->phys_page[0] == pg ? 0 : 1];
        }
        if (*q)
            *q = b->page_next[k];
    }
    if (b == c->cur_block && c->cur)
        c->cur_end = c->cur + 1;    /* finish the current insn, then re-decode */
    if (b->nlinks)
        jit_unlink_block(c, b);
    b->free_next = c->free_list;
    c->free_list = b;
}

/* A write hit a page holding decoded code: drop all its blocks. */
void code_page_written(struct cpu *c, uint64_t ppage)
{
    unsigned h = page_hash(ppage);
    struct code_page **pp = &c->pages[h];
    while (*pp && (*pp)->ppage != ppage)
        pp = &(*pp)->next;
    struct code_page *p = *pp;
    if (!p)
        return;
    c->code_pages_dropped++;
    *pp = p->next;
    struct block *b = p->head;
    while (b) {
        struct block *next = b->page_next[b->phys_page[0] == ppage ? 0 : 1];
        block_unlink(c, b, ppage);
        b = next;
    }
    free(p);
}

static void free_deferred(struct cpu *c)
{
    /* The last block may be among them (it invalidated itself). */
    if (c->free_list)
        c->prev_block = NULL;
    while (c->free_list) {
        struct block *b = c->free_list;
        c->free_list = b->free_next;
        free(b->links);
        free(b);
    }
}

/* 64-byte granules of the page [first, last] that hold decoded code. */
static uint64_t chunk_mask(unsigned first, unsigned last)
{
    unsigned a = first >> 6, z = last >> 6;
    uint64_t hi = z >= 63 ? ~0ULL : (1ULL << (z + 1)) - 1;
    return hi & ~((1ULL << a) - 1);
}

/* A write to guest-physical [paddr, paddr+sz) (within one page): drops the
 * page's blocks only if it touches a granule that holds code, so data
 * living next to code does not force re-decoding. */
void code_write_check(struct cpu *c, uint64_t paddr, unsigned sz)
{
    uint64_t ppage = paddr & ~0xfffULL;
    struct code_page *p = find_page(c, ppage);
    if (!p)
        return;
    unsigned off = (unsigned)(paddr & 0xfff);
    unsigned last = off + sz - 1 > 0xfff ? 0xfff : off + sz - 1;
    if (p->chunks & chunk_mask(off, last))
        code_page_written(c, ppage);
}

static void page_add_block(struct cpu *c, uint64_t ppage, struct block *b, int k,
                           unsigned first, unsigned last)
{
    struct code_page *p = find_page(c, ppage);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            cpu_internal_error(c, "out of memory (code page)");
        p->ppage = ppage;
        unsigned h = page_hash(ppage);
        p->next = c->pages[h];
        c->pages[h] = p;
        /* The page now holds code: no more direct writes to it. */
        for (unsigned i = 0; i < 2; i++)
            for (unsigned j = 0; j < TLB_SIZE; j++)
                if (c->tlb[i][j].ppage == ppage)
                    c->tlb[i][j].tag_w = TLB_INVALID;
    }
    p->chunks |= chunk_mask(first, last);
    b->page_next[k] = p->head;
    p->head = b;
}

/* Fetches up to len code bytes at lin without faulting, noting the
 * physical page of each byte. Stops at a fault or at non-RAM. */
static unsigned fetch_code(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len,
                           uint64_t *pages, unsigned *npages, bool *mmio)
{
    unsigned n = 0;
    *npages = 0;
    while (n < len) {
        uint64_t a = (lin + n) & c->lin_mask;
        uint64_t pa;
        if (!mmu_translate(c, a, ACC_X, c->cpl == 3, true, &pa))
            break;
        uint8_t *p = c->bus->ram_ptr(c->bus->opaque, pa & ~0xfffULL, false);
        if (!p) {
            /* Code in MMIO or unbacked space (all-ones on a PC): fetch it
             * through the bus; such blocks are never cached. */
            if (mmio)
                *mmio = true;
            buf[n++] = (uint8_t)c->bus->mmio_read(c->bus->opaque, pa, 1);
            continue;
        }
        if (*npages < 2)
            pages[(*npages)++] = pa & ~0xfffULL;
        unsigned chunk = 0x1000 - (unsigned)(a & 0xfff);
        if (chunk > len - n)
            chunk = len - n;
        memcpy(buf + n, p + (pa & 0xfff), chunk);
        n += chunk;
    }
    return n;
}

static struct block *translate(struct cpu *c, uint64_t lin, uint64_t phys, uint32_t key)
{
    struct insn tmp[BLOCK_MAX_INSNS];
    uint8_t buf[16];
    c->ndecoded++;
    uint64_t pc = lin;
    uint64_t page2 = ~0ULL;
    unsigned n = 0, bytes = 0;
    uint64_t first_page = phys & ~0xfffULL;
    bool last_end = false;
    /* 16-bit code wraps IP at 64 KiB: do not let a block run past it. */
    uint64_t ip_room = (key & (MODE_CS32 | MODE_64)) ? ~0ULL : 0x10000 - (c->rip & 0xffff);

    while (n < BLOCK_MAX_INSNS) {
        uint64_t pages[2];
        unsigned np;
        bool mmio = false;
        unsigned avail = fetch_code(c, pc, buf, 15, pages, &np, &mmio);
        if (mmio && n > 0)
            break;      /* the MMIO part becomes its own uncached block */
        if (avail == 0) {
            uint64_t pa;
            if (n == 0)
                mmu_translate(c, pc & c->lin_mask, ACC_X, c->cpl == 3, false, &pa);
            break;
        }
        bool end = false;
        unsigned len = decode_insn(c, &tmp[n], buf, avail, key, &end);
        if (len == 0) {
            if (n == 0) {
                /* The instruction runs into a page we cannot fetch. */
                uint64_t pa;
                mmu_translate(c, (pc + avail) & c->lin_mask, ACC_X, c->cpl == 3, false, &pa);
                cpu_internal_error(c, "instruction fetch failed without a fault");
            }
            break;
        }
        if (mmio) {
            n = 1;
            bytes = len;
            struct block *b = malloc(sizeof(*b) + sizeof(struct insn));
            if (!b)
                cpu_internal_error(c, "out of memory (block)");
            memset(b, 0, sizeof(*b));
            b->insns[0] = tmp[0];
            b->lin_pc = lin;
            b->phys_pc = phys;
            b->mode = key;
            b->ninsn = 1;
            b->bytes = (uint16_t)len;
            b->uncached = 1;
            b->phys_page[0] = b->phys_page[1] = ~0ULL;
            return b;
        }
        if (bytes + len > ip_room && n > 0)
            break;
        /* Blocks stop at page ends; an insn straddling one makes the block
         * depend on the next page too. */
        bool crosses = ((pc & 0xfff) + len) > 0x1000;
        if (crosses)
            page2 = np > 1 ? pages[1] : ~0ULL;
        n++;
        bytes += len;
        pc += len;
        last_end = end;
        if (end || crosses || bytes >= ip_room)
            break;
        if ((pc & ~0xfffULL) != (lin & ~0xfffULL))
            break;
    }
    struct block *b = malloc(sizeof(*b) + n * sizeof(struct insn));
    if (!b)
        cpu_internal_error(c, "out of memory (block)");
    memcpy(b->insns, tmp, n * sizeof(struct insn));
    b->lin_pc = lin;
    b->phys_pc = phys;
    b->cs_base = c->sbase[SEG_CS];
    b->mode = key;
    b->ninsn = (uint16_t)n;
    b->bytes = (uint16_t)bytes;
    b->uncached = 0;
    b->phys_page[0] = first_page;
    b->phys_page[1] = page2;
    b->page_next[0] = b->page_next[1] = NULL;
    b->free_next = NULL;
    b->succ[0] = b->succ[1] = NULL;
    b->succ_epoch = 0;
    b->jit_code = NULL;
    b->jit_gen = 0;
    b->jit_hits = 0;
    b->jit_fail = 0;
    b->last_ends = last_end;
    b->nlinks = b->links_cap = 0;
    b->links = NULL;
    unsigned h = block_hash(phys, key);
    b->hash_next = c->bhash[h];
    c->bhash[h] = b;
    unsigned off = (unsigned)(phys & 0xfff);
    unsigned end = off + (bytes ? bytes : 1) - 1;
    page_add_block(c, first_page, b, 0, off, end > 0xfff ? 0xfff : end);
    if (page2 != ~0ULL)
        page_add_block(c, page2, b, 1, 0, end > 0xfff ? end - 0x1000 : 0);
    if (c->trace_on && c->trace.in_asm) {
        uint8_t code[BLOCK_MAX_INSNS * 15];
        unsigned got = fetch_code(c, lin, code, bytes < sizeof(code) ? bytes : sizeof(code), (uint64_t[2]){0}, &(unsigned){0}, NULL);
        c->trace.in_asm(c->trace.opaque, lin, phys, code, got, cpu_code_bits(c));
    }
    return b;
}

static inline struct block *find_block(struct cpu *c)
{
    uint64_t lin = (c->sbase[SEG_CS] + c->rip) & c->lin_mask;
    /* Blocks are per privilege too, so a jump-cache hit never skips the
     * user/supervisor check a CPL 0 fetch of the same page passed. */
    uint32_t key = (c->mode & DECODE_MODE_MASK) | (c->mmu_idx << 8);
    struct block *b = c->jc[jc_hash(lin)];
    if (likely(b && b->lin_pc == lin && b->mode == key))
        return b;
    /* CS limit (SDM vol. 3, 5.3): outside 64-bit mode a fetch past it is #GP(0). */
    if (!is_64(c) && c->rip > c->seg[SEG_CS].limit)
        raise_gp(c, 0);
    /* 64-bit mode: a non-canonical RIP is #GP(0), never a page walk (SDM
     * vol. 3, 3.3.7.1). It is reported at the new RIP, as AMD and QEMU
     * do; Intel reports it on the transferring instruction. */
    if (is_64(c) && (uint64_t)((int64_t)(c->rip << 16) >> 16) != c->rip)
        raise_gp(c, 0);
    uint64_t phys;
    mmu_translate(c, lin, ACC_X, c->cpl == 3, false, &phys);
    for (b = c->bhash[block_hash(phys, key)]; b; b = b->hash_next)
        if (b->phys_pc == phys && b->mode == key && b->lin_pc == lin)
            break;
    if (!b)
        b = translate(c, lin, phys, key);
    if (unlikely(b->uncached)) {
        b->free_next = c->free_list;    /* freed at the next block boundary */
        c->free_list = b;
        return b;
    }
    c->jc[jc_hash(lin)] = b;
    return b;
}

/* ---- events ---- */

/* Returns true if an event was delivered (RIP changed). */
static bool take_events(struct cpu *c)
{
    if (c->inhibit) {
        if (c->rip == c->inhibit_rip && c->icount <= c->inhibit_icount)
            return false;
        c->inhibit = false;
    }
    if (atomic_load_explicit(&c->nmi_pending, memory_order_relaxed) && !c->nmi_blocked) {
        atomic_store(&c->nmi_pending, 0);
        c->halted = false;
        c->nmi_blocked = true;
        c->delivering = EXC_NMI;
        if (c->trace_on && c->trace.intr)
            c->trace.intr(c->trace.opaque, EXC_NMI, false, 0, c->rip, true);
        cpu_deliver(c, EXC_NMI, EV_HW, false, 0, c->rip);
        c->delivering = -1;
        return true;
    }
    if (atomic_load_explicit(&c->intr_line, memory_order_relaxed) && (c->eflags & RFLAGS_IF)) {
        int vec = c->bus->intr_ack ? c->bus->intr_ack(c->bus->opaque) : -1;
        if (vec < 0)
            return false;       /* went away (spurious) */
        c->halted = false;
        if (c->trace_on && c->trace.intr)
            c->trace.intr(c->trace.opaque, vec & 0xff, false, 0, c->rip, true);
        c->delivering = vec & 0xff;
        cpu_deliver(c, vec & 0xff, EV_HW, false, 0, c->rip);
        c->delivering = -1;
        return true;
    }
    return false;
}

static void process_invalidations(struct cpu *c);

uint32_t interp_block(struct cpu *c, struct block *b)
{
    const struct insn *i = b->insns;
    c->cur_end = b->insns + b->ninsn;
    while (i < c->cur_end) {
        c->cur = i;
        c->next_rip = c->rip + i->len;
        i->fn(c, i);
        c->rip = c->next_rip;
        i++;
    }
    return (uint32_t)(i - b->insns);
}

enum cpu_stop cpu_run(struct cpu *c, uint64_t budget, _Atomic int *exit_request)
{
    c->stop = -1;
    c->budget_end = c->icount + budget;
    c->exit_req = exit_request ? exit_request : &c->no_exit_req;
    int r = setjmp(c->jb);
    if (r) {
        if (c->cur_block && c->cur) {
            c->icount += (uint64_t)(c->cur - c->cur_block->insns);
        }
        c->cur_block = NULL;
        c->cur = NULL;
        c->prev_block = NULL;
        if (r == 2) {
            c->stop = CPU_STOP_ERROR;
            return CPU_STOP_ERROR;
        }
        exception_taken(c);
        if (c->stop >= 0)
            return (enum cpu_stop)c->stop;
    }
    for (;;) {
        if (unlikely(atomic_load_explicit(&c->inv_pending, memory_order_acquire)))
            process_invalidations(c);
        if (unlikely(c->free_list))
            free_deferred(c);
        if (unlikely(c->icount >= c->budget_end))
            return CPU_STOP_BUDGET;
        if (unlikely(c->exit_req && atomic_load_explicit(c->exit_req, memory_order_relaxed)))
            return CPU_STOP_EXIT_REQUEST;
        if (unlikely(atomic_load_explicit(&c->nmi_pending, memory_order_relaxed) ||
                     (atomic_load_explicit(&c->intr_line, memory_order_relaxed) &&
                      (c->eflags & RFLAGS_IF)) || c->inhibit))
            take_events(c);
        if (unlikely(c->halted))
            return CPU_STOP_HLT;
        struct block *b = NULL, *p = c->prev_block;
        if (likely(p && c->prev_epoch == c->code_epoch && p->succ_epoch == c->code_epoch)) {
            uint64_t lin = (c->sbase[SEG_CS] + c->rip) & c->lin_mask;
            uint32_t key = (c->mode & DECODE_MODE_MASK) | (c->mmu_idx << 8);
            if (p->succ_lin[0] == lin && p->succ[0] && p->succ[0]->mode == key)
                b = p->succ[0];
            else if (p->succ_lin[1] == lin && p->succ[1] && p->succ[1]->mode == key)
                b = p->succ[1];
        }
        if (!b) {
            b = find_block(c);
            /* find_block may have invalidated or faulted; link only if
             * nothing moved since p ran. */
            if (p && c->prev_epoch == c->code_epoch && !b->uncached) {
                if (p->succ_epoch != c->code_epoch) {
                    p->succ[0] = p->succ[1] = NULL;
                    p->succ_epoch = c->code_epoch;
                }
                int slot = p->succ[0] ? 1 : 0;
                p->succ[slot] = b;
                p->succ_lin[slot] = b->lin_pc;
            }
        }
        if (unlikely(c->trace_on)) {
            c->recent[c->recent_pos++ & 15] = b->lin_pc;
            if (c->trace.exec)
                c->trace.exec(c->trace.opaque, b->lin_pc, c->sbase[SEG_CS]);
        } else {
            c->recent[c->recent_pos++ & 15] = b->lin_pc;
        }
        c->cur_block = b;
        /* Single-step (TF at the start of an instruction): run one
         * instruction, then the #DB trap (SDM vol. 3, 17.3.1.4). */
        const bool tf = c->eflags & RFLAGS_TF;
        jit_fn f = NULL;
        if (c->jit_mode != CPU_JIT_OFF && likely(!tf && !b->uncached))
            f = jit_code_for(c, b);
        if (f) {
            if (c->jit_mode == CPU_JIT_VERIFY)
                jit_verify_block(c, b, f);
            else
                f(c);
            b = c->cur_block;       /* the last block of a chained run */
        } else if (tf) {
            c->cur_end = b->insns + 1;
            c->cur = b->insns;
            c->next_rip = c->rip + b->insns->len;
            b->insns->fn(c, b->insns);
            c->rip = c->next_rip;
            c->icount++;
        } else {
            c->icount += interp_block(c, b);
        }
        c->cur = NULL;
        c->cur_block = NULL;
        if (likely(!b->uncached)) {
            c->prev_block = b;
            c->prev_epoch = c->code_epoch;
        } else {
            c->prev_block = NULL;
        }
        if (unlikely(tf)) {
            c->dr[6] |= 0x4000;     /* BS */
            c->delivering = EXC_DB;
            if (c->trace_on && c->trace.intr)
                c->trace.intr(c->trace.opaque, EXC_DB, false, 0, c->rip, false);
            cpu_deliver(c, EXC_DB, EV_TRAP, false, 0, c->rip);
            c->delivering = -1;
        }
        if (unlikely(c->stop >= 0))
            return (enum cpu_stop)c->stop;
    }
}

/* ---- public API ---- */

struct cpu *cpu_new(const struct cpu_bus *bus)
{
    struct cpu *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bus = bus;
    c->delivering = -1;
    c->a20_mask = ~0ULL;
    c->jit_arena.fd = -1;
    pthread_mutex_init(&c->inv_lock, NULL);
    tlb_flush(c);
    struct x86_state s;
    x86_state_reset(&s);
    cpu_set_state(c, &s);
    return c;
}

void cpu_free(struct cpu *c)
{
    if (!c)
        return;
    pg_free(c);
    for (unsigned h = 0; h < PAGE_HASH; h++) {
        while (c->pages[h]) {
            struct code_page *p = c->pages[h];
            c->pages[h] = p->next;
            free(p);
        }
    }
    for (unsigned h = 0; h < BLOCK_HASH; h++) {
        while (c->bhash[h]) {
            struct block *b = c->bhash[h];
            c->bhash[h] = b->hash_next;
            free(b->links);
            free(b);
        }
    }
    free_deferred(c);
    jit_arena_free(&c->jit_arena);
    free(c->journal_buf);
    pthread_mutex_destroy(&c->inv_lock);
    free(c);
}

static void drop_all_code(struct cpu *c)
{
    for (unsigned h = 0; h < PAGE_HASH; h++)
        while (c->pages[h])
            code_page_written(c, c->pages[h]->ppage);
    free_deferred(c);
}

/* The FPU crosses the state exchange as an FXSAVE image would carry it
 * (x87_fxsave/x87_fxrstor do the tag abridging and the ST(i) order). */
static void get_fpu_state(struct cpu *c, struct x86_state *s)
{
    uint8_t img[160];
    x87_fxsave(&c->x87, c->mxcsr, 0xffff, true, img);
    memcpy(&s->fcw, img + 0, 2);
    memcpy(&s->fsw, img + 2, 2);
    s->ftw = img[4];
    memcpy(&s->fop, img + 6, 2);
    memcpy(&s->fip, img + 8, 8);
    memcpy(&s->fdp, img + 16, 8);
    s->fcs = c->x87.fcs;
    s->fds = c->x87.fds;
    s->mxcsr = c->mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        memcpy(&s->st[i].mant, img + 32 + 16 * i, 8);
        memcpy(&s->st[i].sexp, img + 40 + 16 * i, 2);
    }
    for (unsigned k = 0; k < 16; k++) {
        s->xmm[k][0] = c->xmm[k].q[0];
        s->xmm[k][1] = c->xmm[k].q[1];
    }
}

static void set_fpu_state(struct cpu *c, const struct x86_state *s)
{
    uint8_t img[160];
    memset(img, 0, sizeof(img));
    memcpy(img + 0, &s->fcw, 2);
    memcpy(img + 2, &s->fsw, 2);
    img[4] = s->ftw;
    memcpy(img + 6, &s->fop, 2);
    memcpy(img + 8, &s->fip, 8);
    memcpy(img + 16, &s->fdp, 8);
    /* Reserved MXCSR bits would #GP on FXRSTOR; from a state they are
     * the producer's bug, so drop them rather than refuse the state. */
    uint32_t mx = s->mxcsr & 0xffff;
    memcpy(img + 24, &mx, 4);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(img + 32 + 16 * i, &s->st[i].mant, 8);
        memcpy(img + 40 + 16 * i, &s->st[i].sexp, 2);
    }
    x87_init(&c->x87);
    x87_fxrstor(&c->x87, &c->mxcsr, 0xffff, true, img);
    c->x87.fcs = s->fcs;
    c->x87.fds = s->fds;
    for (unsigned k = 0; k < 16; k++) {
        c->xmm[k].q[0] = s->xmm[k][0];
        c->xmm[k].q[1] = s->xmm[k][1];
    }
}

void cpu_set_state(struct cpu *c, const struct x86_state *s)
{
    memcpy(c->gpr, s->gpr, sizeof(c->gpr));
    c->rip = s->rip;
    c->eflags = (s->rflags & 0x3f7fd5) | RFLAGS_FIXED;
    c->cc_op = CC_EAGER;
    for (int k = 0; k < SEG_COUNT; k++) {
        c->seg[k].base = s->seg[k].base;
        c->seg[k].limit = s->seg[k].limit;
        c->seg[k].sel = s->seg[k].sel;
        c->seg[k].attr = s->seg[k].attr;
    }
    c->ldtr = (struct seg_cache){s->ldtr.base, s->ldtr.limit, s->ldtr.sel, s->ldtr.attr};
    c->tr = (struct seg_cache){s->tr.base, s->tr.limit, s->tr.sel, s->tr.attr};
    c->gdtr = s->gdtr;
    c->idtr = s->idtr;
    c->cr0 = s->cr0;
    c->cr2 = s->cr2;
    c->cr3 = s->cr3;
    c->cr4 = s->cr4;
    c->cr8 = s->cr8;
    c->efer = s->efer;
    memcpy(c->dr, s->dr, sizeof(c->dr));
    c->apic_base = s->apic_base;
    c->star = s->star;
    c->lstar = s->lstar;
    c->cstar = s->cstar;
    c->sfmask = s->sfmask;
    c->kernel_gs_base = s->kernel_gs_base;
    c->sysenter_cs = s->sysenter_cs;
    c->sysenter_esp = s->sysenter_esp;
    c->sysenter_eip = s->sysenter_eip;
    c->pat = s->pat;
    c->tsc_aux = s->tsc_aux;
    set_fpu_state(c, s);
    c->halted = false;
    c->inhibit = false;
    c->nmi_blocked = false;
    c->delivering = -1;
    if ((c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !(c->efer & EFER_LMA))
        for (int k = 0; k < 4; k++)
            c->pdpte[k] = 0;    /* reloaded below */
    cpu_update_mode(c);
    tlb_flush(c);
    drop_all_code(c);
    if ((c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !(c->efer & EFER_LMA))
        set_cr3(c, c->cr3);
}

void cpu_get_state(struct cpu *c, struct x86_state *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, c->gpr, sizeof(c->gpr));
    s->rip = c->rip;
    s->rflags = get_eflags(c);
    for (int k = 0; k < SEG_COUNT; k++)
        s->seg[k] = (struct x86_seg){c->seg[k].base, c->seg[k].limit, c->seg[k].sel, c->seg[k].attr};
    s->ldtr = (struct x86_seg){c->ldtr.base, c->ldtr.limit, c->ldtr.sel, c->ldtr.attr};
    s->tr = (struct x86_seg){c->tr.base, c->tr.limit, c->tr.sel, c->tr.attr};
    s->gdtr = c->gdtr;
    s->idtr = c->idtr;
    s->cr0 = c->cr0;
    s->cr2 = c->cr2;
    s->cr3 = c->cr3;
    s->cr4 = c->cr4;
    s->cr8 = c->cr8;
    s->efer = c->efer;
    memcpy(s->dr, c->dr, sizeof(s->dr));
    s->apic_base = c->apic_base;
    s->star = c->star;
    s->lstar = c->lstar;
    s->cstar = c->cstar;
    s->sfmask = c->sfmask;
    s->kernel_gs_base = c->kernel_gs_base;
    s->sysenter_cs = c->sysenter_cs;
    s->sysenter_esp = c->sysenter_esp;
    s->sysenter_eip = c->sysenter_eip;
    s->pat = c->pat;
    s->tsc_aux = c->tsc_aux;
    get_fpu_state(c, s);
}

void cpu_set_intr(struct cpu *c, bool level)
{
    atomic_store_explicit(&c->intr_line, level ? 1 : 0, memory_order_relaxed);
}

void cpu_nmi(struct cpu *c)
{
    atomic_store(&c->nmi_pending, 1);
}

uint64_t cpu_icount(const struct cpu *c)
{
    return c->icount;
}

uint64_t cpu_blocks_decoded(const struct cpu *c)
{
    return c->ndecoded;
}

static void invalidate_range(struct cpu *c, uint64_t paddr, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t end = paddr + len - 1;
    if (end < paddr)
        end = ~0ULL;
    uint64_t first = paddr & ~0xfffULL, last = end & ~0xfffULL;
    if ((last - first) >> 12 > PAGE_HASH) {
        /* A large range: walk the code pages instead of the range. */
        for (unsigned h = 0; h < PAGE_HASH; h++) {
            struct code_page *p = c->pages[h];
            while (p) {
                if (p->ppage >= first && p->ppage <= last) {
                    code_page_written(c, p->ppage);
                    p = c->pages[h];    /* the bucket changed: rescan it */
                } else {
                    p = p->next;
                }
            }
        }
        return;
    }
    for (uint64_t pg = first; ; pg += 0x1000) {
        if (is_code_page(c, pg))
            code_page_written(c, pg);
        if (pg >= last)
            break;
    }
}

/* Runs on the vCPU's thread at a block boundary: the queued ranges from
 * cpu_invalidate_phys (any thread). */
static void process_invalidations(struct cpu *c)
{
    struct inv_range q[INV_QUEUE];
    pthread_mutex_lock(&c->inv_lock);
    unsigned n = c->ninv;
    memcpy(q, c->inv, n * sizeof(q[0]));
    c->ninv = 0;
    atomic_store_explicit(&c->inv_pending, 0, memory_order_relaxed);
    pthread_mutex_unlock(&c->inv_lock);
    for (unsigned k = 0; k < n; k++)
        invalidate_range(c, q[k].a, q[k].l);
}

/* Queues [paddr, paddr+len) into q (n entries, INV_QUEUE at most): a
 * range that touches or overlaps a queued one widens it; a full queue
 * widens the entry whose gap to the new range is smallest. Widening only
 * invalidates more than was written, which is safe; dropping every
 * translation (what a full queue did before) cost a disk read through
 * 255 scattered pages the whole code cache. Returns the new count. */
unsigned inv_queue_add(struct inv_range *q, unsigned n, uint64_t paddr, uint64_t len)
{
    if (len == 0)
        return n;
    uint64_t end = paddr + len;
    if (end < paddr)
        end = ~0ULL;
    unsigned best = 0;
    uint64_t best_gap = ~0ULL;
    for (unsigned k = n; k-- > 0;) {
        uint64_t a = q[k].a, e = q[k].a + q[k].l;
        uint64_t gap = end < a ? a - end : paddr > e ? paddr - e : 0;
        if (gap < best_gap) {
            best_gap = gap;
            best = k;
            if (!gap)
                break;
        }
    }
    if (best_gap == 0 || n == INV_QUEUE) {
        uint64_t a = q[best].a < paddr ? q[best].a : paddr;
        uint64_t e = q[best].a + q[best].l > end ? q[best].a + q[best].l : end;
        q[best].a = a;
        q[best].l = e - a;
        return n;
    }
    q[n].a = paddr;
    q[n].l = end - paddr;
    return n + 1;
}

void cpu_invalidate_phys(struct cpu *c, uint64_t paddr, uint64_t len)
{
    pthread_mutex_lock(&c->inv_lock);
    c->ninv = inv_queue_add(c->inv, c->ninv, paddr, len);
    atomic_store_explicit(&c->inv_pending, 1, memory_order_release);
    pthread_mutex_unlock(&c->inv_lock);
}

void cpu_flush_tlb(struct cpu *c)
{
    tlb_flush(c);
}

void cpu_set_a20(struct cpu *c, bool enabled)
{
    uint64_t m = enabled ? ~0ULL : ~(1ULL << 20);
    if (m != c->a20_mask) {
        c->a20_mask = m;
        tlb_flush(c);       /* also drops the jump cache: linear→physical changed */
    }
}

bool cpu_halted(const struct cpu *c)
{
    return c->halted;
}

bool cpu_interrupts_enabled(const struct cpu *c)
{
    return c->eflags & RFLAGS_IF;
}

const char *cpu_error(const struct cpu *c)
{
    return c->errmsg;
}

void cpu_set_trace(struct cpu *c, const struct cpu_trace *t)
{
    if (t)
        c->trace = *t;
    else
        memset(&c->trace, 0, sizeof(c->trace));
    c->trace_on = t && (t->in_asm || t->exec || t->intr || t->out_asm);
}

int cpu_recent_pcs(const struct cpu *c, uint64_t *pcs, int max)
{
    int n = 0;
    unsigned total = c->recent_pos < 16 ? c->recent_pos : 16;
    for (unsigned k = 0; k < total && n < max; k++)
        pcs[n++] = c->recent[(c->recent_pos - total + k) & 15];
    return n;
}

int cpu_code_bits(const struct cpu *c)
{
    return is_64(c) ? 64 : (c->mode & MODE_CS32) ? 32 : 16;
}

unsigned cpu_classify(const uint8_t *bytes, unsigned len, int bits, enum pg_class *cls)
{
    struct insn in;
    bool end;
    uint32_t mode = bits == 64 ? (MODE_64 | MODE_PE | MODE_LMA) : bits == 32 ? (MODE_CS32 | MODE_PE) : 0;
    unsigned n = decode_insn(NULL, &in, bytes, len, mode, &end);
    if (cls)
        *cls = n ? (enum pg_class)in.pg : PG_INNOCUOUS;
    if (n && (in.fn == op_ud || in.fn == op_gp0))
        return 0;
    return n;
}

bool cpu_jit_available(void)
{
    return jit_backend_available();
}

int cpu_set_jit(struct cpu *c, enum cpu_jit_mode mode, size_t cache_bytes)
{
    if (mode == CPU_JIT_OFF) {
        c->jit_mode = CPU_JIT_OFF;
        c->no_fast_writes = false;
        tlb_flush(c);
        return 0;
    }
    if (!jit_backend_available())
        return -1;
    if (!cache_bytes)
        cache_bytes = CPU_JIT_DEFAULT_CACHE;
    if (c->jit_arena.rw && c->jit_arena.size != cache_bytes)
        jit_arena_free(&c->jit_arena);
    if (!c->jit_arena.rw && jit_arena_init(&c->jit_arena, cache_bytes) < 0)
        return -1;
    if (mode == CPU_JIT_VERIFY && !c->journal_buf) {
        c->journal_buf = calloc(2, sizeof(*c->journal_buf));
        if (!c->journal_buf)
            return -1;
    }
    c->jit_mode = mode;
    /* Blocks that ran a few times are worth translating; code that runs
     * once (firmware, boot) stays in the interpreter. jit=verify
     * translates at once so that everything is checked. */
    c->jit_threshold = mode == CPU_JIT_VERIFY ? 1 : 2;
    /* jit=verify journals every guest write: no direct TLB writes. */
    c->no_fast_writes = mode == CPU_JIT_VERIFY;
    tlb_flush(c);
    return 0;
}

bool cpu_jit_failed_block(const struct cpu *c, uint64_t *lin, unsigned *guest_len,
                          const uint8_t **host, unsigned *host_len)
{
    const struct block *b = c->jit_failed;
    if (!b)
        return false;
    *lin = b->lin_pc;
    *guest_len = b->bytes;
    *host = (const uint8_t *)b->jit_code;
    *host_len = b->jit_size;
    return true;
}

void cpu_set_jit_threshold(struct cpu *c, unsigned runs)
{
    c->jit_threshold = runs < 1 ? 1 : runs > 60000 ? 60000 : runs;
}

void cpu_get_jit_stats(const struct cpu *c, struct cpu_jit_stats *s)
{
    *s = c->jit_stats;
    s->cache_size = c->jit_arena.size;
    s->cache_used = c->jit_arena.used;
}
