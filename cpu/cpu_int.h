/* Internals of the software CPU shared by decode.c, exec.c, mmu.c and the
 * ops_*.c handler files. Nothing outside cpu/ includes this. */
#ifndef CPU_CPU_INT_H
#define CPU_CPU_INT_H

#include <pthread.h>
#include <setjmp.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/x87.h"
#include "cpu/sse_fp.h"
#include "cpu/jit/jit.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define NORETURN    __attribute__((noreturn))
/* The memory and register accessors must inline into every handler: they
 * are the interpreter's fast path. */
#define HOT static inline __attribute__((always_inline))

struct cpu;
struct insn;
typedef void (*insn_fn)(struct cpu *c, const struct insn *i);

/* Pseudo register numbers in struct insn. Byte registers AH..BH are 16..19
 * (only without REX); NOREG marks an absent base/index. */
#define REG_AH   16
#define NOREG    0xff
#define REG_RIP  0xfe
/* Pseudo segment with base 0 and no limit: 64-bit mode ES/CS/SS/DS. */
#define SEG_ZERO 6
#define NSEGS    7

/* One decoded instruction: everything the handler needs, nothing re-read
 * from guest memory. Kept small (cache lines matter in the hot loop). */
struct insn {
    insn_fn fn;
    int64_t disp;           /* memory displacement (sign-extended) */
    uint64_t imm;           /* immediate, sign- or zero-extended per table */
    uint32_t imm2;          /* second immediate (ENTER level, far ptr selector) */
    uint16_t op;            /* opcode: 0xXX one-byte, 0x1XX 0F map, 0x2XX 0F38, 0x3XX 0F3A */
    uint8_t len;            /* bytes */
    uint8_t opsz;           /* operand size in bytes: 1, 2, 4, 8 */
    uint8_t adsz;           /* address size in bytes: 2, 4, 8 */
    uint8_t seg;            /* segment of the memory operand (SEG_*, SEG_ZERO) */
    uint8_t mod3;           /* ModRM.mod == 3: rm names a register */
    uint8_t reg;            /* ModRM.reg (+REX.R), byte regs encoded with REG_AH */
    uint8_t rm;             /* ModRM.rm register (+REX.B) when mod3 */
    uint8_t base, index, scale;
    uint8_t rep;            /* 0, 0xf2 or 0xf3 */
    uint8_t pfx66;          /* operand-size prefix seen (SSE mandatory prefix) */
    uint8_t segovr;         /* explicit segment override present */
    uint8_t pg;             /* enum pg_class */
};

typedef union {
    uint8_t b[16]; int8_t sb[16];
    uint16_t w[8]; int16_t sw[8];
    uint32_t d[4]; int32_t sd[4];
    uint64_t q[2]; int64_t sq[2];
} xmm_t;

#define BLOCK_MAX_INSNS 64

struct block {
    uint64_t lin_pc;        /* linear address of the first instruction */
    uint64_t phys_pc;
    uint64_t cs_base;
    uint32_t mode;
    uint16_t ninsn;
    uint16_t bytes;
    uint8_t uncached;       /* fetched from MMIO: one insn, freed after use */
    uint64_t phys_page[2];  /* pages holding its bytes (second = ~0 if none) */
    struct block *hash_next;
    struct block *page_next[2];
    struct block *free_next;
    /* Direct links to the blocks that followed this one (fall-through and
     * taken), valid while succ_epoch == cpu->code_epoch. */
    struct block *succ[2];
    uint64_t succ_lin[2];
    uint64_t succ_epoch;
    /* Translated code (cpu/jit/), valid while jit_gen equals the arena's
     * generation; jit_hits counts runs before translation. */
    void *jit_code;
    uint32_t jit_gen;
    uint32_t jit_size;      /* bytes of host code */
    uint16_t jit_hits;
    uint8_t jit_fail;
    uint8_t last_ends;      /* the last insn is a block-ending one (F_END) */
    uint32_t nlinks, links_cap;
    struct jit_link *links; /* jumps patched into this block's code */
    struct insn insns[];
};

/* Mode bits: the part of the CPU state the decoder depends on. */
#define MODE_PE   1u        /* protected mode */
#define MODE_CS32 2u        /* CS.D: 32-bit default operand/address size */
#define MODE_64   4u        /* long mode, CS.L: 64-bit code */
#define MODE_VM86 8u
#define MODE_LMA  16u

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 1ULL    /* never equals a page-aligned address */

/* One soft-TLB entry: guest linear page → host pointer. A hit is one
 * compare against the tag of the access kind plus an add. MMIO pages are
 * never entered, so they always take the slow path to the bus. */
struct tlb_entry {
    uint64_t tag_r, tag_w, tag_x;
    uintptr_t addend;       /* host = addend + linear */
    uint64_t ppage;         /* guest-physical page */
};

/* Lazy flags (arith group CF PF AF ZF SF OF): the last operation is kept
 * and flags are materialised only when read. */
enum cc_op { CC_EAGER, CC_ADD, CC_ADC, CC_SUB, CC_SBB, CC_LOGIC, CC_INC, CC_DEC, CC_SHIFT };
#define FLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

struct seg_cache {
    uint64_t base;
    uint32_t limit;
    uint16_t sel;
    uint16_t attr;
};

enum exc_vec {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
    EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
    EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Event kinds for delivery. */
#define EV_EXC   0          /* processor exception (fault/abort) */
#define EV_TRAP  1          /* exception reported after the insn (INT3, INTO) */
#define EV_SOFT  2          /* INT n: gate DPL checked against CPL */
#define EV_HW    3          /* external interrupt or NMI */

#define JC_SIZE 16384
#define MCE_BANKS 10        /* as QEMU: Linux wants MCA to set up its MCE device */

struct code_page {
    uint64_t ppage;
    uint64_t chunks;        /* 64-byte granules holding decoded code */
    struct block *head;
    struct code_page *next;
};

#define BLOCK_HASH 65536
#define INV_QUEUE 64
/* A physical range written behind the CPU's back (DMA), queued for the
 * vCPU's next block boundary. */
struct inv_range {
    uint64_t a, l;
};
unsigned inv_queue_add(struct inv_range *q, unsigned n, uint64_t paddr, uint64_t len);
#define PAGE_HASH 4096

struct cpu {
    /* Hot state first. */
    uint64_t gpr[16];
    uint64_t rip, next_rip;
    uint64_t eflags;            /* all bits; arith bits valid only if cc_op == CC_EAGER */
    uint64_t cc_res, cc_a, cc_b;
    uint32_t cc_op, cc_sz;
    uint32_t cc_cin;            /* carry-in for ADC/SBB, old CF for INC/DEC */
    uint32_t mode;
    uint32_t cpl;
    uint32_t mmu_idx;           /* 1 when CPL 3 (user accesses) */
    uint64_t spmask;            /* stack pointer width from SS.B / long mode */
    const struct insn *cur, *cur_end;
    /* Effective segment bases/limits as the memory fast path uses them: in
     * 64-bit mode bases of ES/CS/SS/DS are 0 and limits are off. A limit
     * of -1 marks a segment that needs the slow check (null, not
     * readable/writable, expand-down). */
    uint64_t sbase[NSEGS];
    int64_t slim_r[NSEGS], slim_w[NSEGS];
    uint64_t lin_mask;          /* 0xffffffff outside 64-bit mode */
    uint64_t a20_mask;          /* ~(1 << 20) while the A20 gate is closed */
    struct tlb_entry tlb[2][TLB_SIZE];
    struct block *jc[JC_SIZE];  /* linear pc → block */

    struct seg_cache seg[SEG_COUNT], ldtr, tr;
    struct x86_dtable gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t dr[8];
    uint64_t apic_base, star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip, pat, tsc_aux;
    uint64_t tsc_offset, misc_enable, mtrr_def_type;
    int64_t tsc_adjust;     /* IA32_TSC_ADJUST (SDM vol. 3, 18.17.3) */
    uint64_t mcg_ctl, mc_ctl[MCE_BANKS];     /* machine-check controls (no errors ever) */
    uint64_t pdpte[4];
    struct x87_state x87;
    uint32_t mxcsr;
    xmm_t xmm[16];

    /* Events. */
    _Atomic int intr_line;
    _Atomic int nmi_pending;
    bool nmi_blocked;           /* between NMI delivery and IRET */
    bool halted;
    uint64_t inhibit_rip;       /* interrupt shadow: no INTR before this insn */
    uint64_t inhibit_icount;    /* ... while icount has not passed this */
    bool inhibit;
    int stop;                   /* -1 running, else enum cpu_stop */
    jmp_buf jb;
    /* Exception being raised (set before longjmp). */
    int exc_vec, exc_kind;
    bool exc_has_err;
    uint32_t exc_err;
    uint64_t exc_rip;
    int delivering;             /* vector being delivered, -1 none (for #DF) */

    uint64_t icount;
    uint64_t ndecoded;
    uint64_t budget_end;
    _Atomic int *exit_req;          /* never NULL while running */
    _Atomic int no_exit_req;        /* what exit_req points to when the caller gave none */
    const struct cpu_bus *bus;
    struct cpu_trace trace;
    bool trace_on;

    /* Block cache. */
    struct block *bhash[BLOCK_HASH];
    struct code_page *pages[PAGE_HASH];
    struct block *free_list;    /* invalidated, freed at the next block boundary */
    struct block *cur_block;
    /* Block chaining: the block that ran last and the code epoch then.
     * The epoch moves on every TLB flush and block invalidation, which is
     * what makes a stored block pointer safe to follow. */
    struct block *prev_block;
    uint64_t prev_epoch;
    uint64_t code_epoch;
    /* Bumped whenever linear→physical translations may change (every
     * soft-TLB flush): translated exits linked across pages check it. */
    uint32_t map_epoch;
    uint64_t recent[16];
    unsigned recent_pos;
    char errmsg[256];
    /* Code invalidations requested from other threads (DMA), applied by
     * the vCPU at its next block boundary. */
    pthread_mutex_t inv_lock;
    _Atomic int inv_pending;
    unsigned ninv;
    struct inv_range inv[INV_QUEUE];

    /* Binary translation (cpu/jit/). */
    enum cpu_jit_mode jit_mode;
    uint32_t jit_threshold;     /* runs of a block before it is translated */
    struct jit_arena jit_arena;
    struct cpu_jit_stats jit_stats;
    struct cpu_counters counters;   /* exit causes (cpu/counters.h) */
    /* jit=verify: guest writes go through phys_write and are journaled
     * there so a block can be run twice from the same state. */
    bool no_fast_writes;
    struct journal *journal;        /* recording now (else NULL) */
    struct journal *journal_buf;    /* two: the interpreter's run, the translation's */
    struct block *jit_failed;       /* jit=verify: the block that differed */
    uint64_t code_pages_dropped;    /* self-modifying code seen (jit=verify) */
    uint32_t features;              /* CPU_FEAT_* offered */
    struct pg_state *pg;            /* Popek–Goldberg mode (cpu/pg.c), NULL: off */
};
/* Popek–Goldberg mode (pg.c): the handler decode_insn puts in place of fn. */
insn_fn pg_wrap(insn_fn fn);
void pg_free(struct cpu *c);

/* ---- binary translation (cpu/jit/jit.c, cpu/jit/verify.c) ---- */
jit_fn jit_code_for(struct cpu *c, struct block *b);
/* Runs b's instructions in the interpreter from c->rip; returns how many
 * it retired (exec.c). */
uint32_t interp_block(struct cpu *c, struct block *b);
/* jit=verify: runs b in the interpreter, undoes it, runs f, compares. */
void jit_verify_block(struct cpu *c, struct block *b, jit_fn f);

/* Guest-physical writes of one block run (jit=verify), with the values
 * they replaced so the run can be undone. */
#define JOURNAL_MAX 4096
struct journal {
    unsigned n;
    bool overflow;          /* more writes than fit: cannot undo */
    bool io;                /* MMIO touched: cannot run twice */
    struct { uint64_t paddr, oldv, newv; uint8_t sz; } e[JOURNAL_MAX];
};

/* ---- exceptions (exec.c) ---- */
NORETURN void cpu_raise(struct cpu *c, int vec, bool has_err, uint32_t err);
NORETURN static inline void raise_gp(struct cpu *c, uint32_t err) { cpu_raise(c, EXC_GP, true, err); }
NORETURN static inline void raise_ud(struct cpu *c) { cpu_raise(c, EXC_UD, false, 0); }
NORETURN void cpu_raise_ev(struct cpu *c, int vec, int kind, bool has_err, uint32_t err);
NORETURN void cpu_internal_error(struct cpu *c, const char *msg);
/* Delivers an event now (from the run loop). */
void cpu_deliver(struct cpu *c, int vec, int kind, bool has_err, uint32_t err, uint64_t ret_rip);

/* ---- mode (exec.c) ---- */
void cpu_update_mode(struct cpu *c);     /* after CR0/EFER/CS/SS changes */
void cpu_seg_refresh(struct cpu *c, int s);

/* ---- flags (flags.c) ---- */
uint32_t cc_compute(const struct cpu *c);
static inline uint64_t get_eflags(const struct cpu *c)
{
    if (c->cc_op == CC_EAGER)
        return c->eflags;
    return (c->eflags & ~(uint64_t)FLAGS_ARITH) | cc_compute(c);
}
static inline void flags_materialize(struct cpu *c)
{
    if (c->cc_op != CC_EAGER) {
        c->eflags = (c->eflags & ~(uint64_t)FLAGS_ARITH) | cc_compute(c);
        c->cc_op = CC_EAGER;
    }
}
static inline void set_arith(struct cpu *c, uint32_t f)
{
    c->eflags = (c->eflags & ~(uint64_t)FLAGS_ARITH) | f;
    c->cc_op = CC_EAGER;
}
HOT bool get_cf(const struct cpu *c)
{
    const uint64_t m = c->cc_sz == 8 ? ~0ULL : (1ULL << (c->cc_sz * 8)) - 1;
    switch (c->cc_op) {
    case CC_ADD: return (c->cc_res & m) < (c->cc_a & m);
    case CC_SUB: return (c->cc_a & m) < (c->cc_b & m);
    case CC_LOGIC: return false;
    case CC_SHIFT: return c->cc_cin & RFLAGS_CF;
    case CC_EAGER: return c->eflags & RFLAGS_CF;
    default: return cc_compute(c) & RFLAGS_CF;
    }
}
void set_eflags(struct cpu *c, uint64_t v, uint64_t mask);
extern const uint8_t parity_table[256];

/* ---- sizes ---- */
HOT uint64_t szmask(unsigned sz)
{
    return sz == 8 ? ~0ULL : (1ULL << (sz * 8)) - 1;
}
HOT uint64_t sext(uint64_t v, unsigned sz)
{
    switch (sz) {
    case 1: return (uint64_t)(int64_t)(int8_t)v;
    case 2: return (uint64_t)(int64_t)(int16_t)v;
    case 4: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

/* Condition codes in opcode order (SDM vol. 2, appendix B.1.4.7). A compare
 * (the common case before a Jcc) is answered from the operands directly. */
HOT bool cc_cond(const struct cpu *c, unsigned cc)
{
    bool r;
    if (c->cc_op == CC_SUB) {
        const unsigned sz = c->cc_sz;
        const uint64_t m = szmask(sz);
        const uint64_t a = c->cc_a & m, b = c->cc_b & m;
        switch (cc >> 1) {
        case 1: r = a < b; goto out;
        case 2: r = a == b; goto out;
        case 3: r = a <= b; goto out;
        case 6: r = (int64_t)sext(a, sz) < (int64_t)sext(b, sz); goto out;
        case 7: r = (int64_t)sext(a, sz) <= (int64_t)sext(b, sz); goto out;
        default: break;
        }
    } else if (c->cc_op != CC_EAGER && (cc >> 1) == 2) {
        r = (c->cc_res & szmask(c->cc_sz)) == 0;
        goto out;
    }
    uint32_t f = c->cc_op == CC_EAGER ? (uint32_t)c->eflags : cc_compute(c);
    switch (cc >> 1) {
    case 0: r = f & RFLAGS_OF; break;
    case 1: r = f & RFLAGS_CF; break;
    case 2: r = f & RFLAGS_ZF; break;
    case 3: r = f & (RFLAGS_CF | RFLAGS_ZF); break;
    case 4: r = f & RFLAGS_SF; break;
    case 5: r = f & RFLAGS_PF; break;
    case 6: r = !(f & RFLAGS_SF) != !(f & RFLAGS_OF); break;
    default: r = (f & RFLAGS_ZF) || (!(f & RFLAGS_SF) != !(f & RFLAGS_OF)); break;
    }
out:
    return (cc & 1) ? !r : r;
}

/* ---- registers ---- */
HOT uint64_t rd_reg(const struct cpu *c, unsigned r, unsigned sz)
{
    switch (sz) {
    case 1: return r >= REG_AH ? (c->gpr[r - REG_AH] >> 8) & 0xff : c->gpr[r & 15] & 0xff;
    case 2: return (uint16_t)c->gpr[r & 15];
    case 4: return (uint32_t)c->gpr[r & 15];
    default: return c->gpr[r & 15];
    }
}
HOT void wr_reg(struct cpu *c, unsigned r, unsigned sz, uint64_t v)
{
    switch (sz) {
    case 1:
        if (r >= REG_AH)
            c->gpr[r - REG_AH] = (c->gpr[r - REG_AH] & ~0xff00ULL) | ((v & 0xff) << 8);
        else
            c->gpr[r & 15] = (c->gpr[r & 15] & ~0xffULL) | (v & 0xff);
        break;
    case 2: c->gpr[r & 15] = (c->gpr[r & 15] & ~0xffffULL) | (v & 0xffff); break;
    case 4: c->gpr[r & 15] = (uint32_t)v; break;
    default: c->gpr[r & 15] = v; break;
    }
}

/* ---- memory (mmu.c + inline fast paths) ---- */
enum acc { ACC_R = 0, ACC_W = 1, ACC_X = 2 };
uint64_t mem_read_slow(struct cpu *c, uint64_t lin, unsigned sz);
void mem_write_slow(struct cpu *c, uint64_t lin, unsigned sz, uint64_t v);
void seg_check_slow(struct cpu *c, int s, uint64_t ea, unsigned sz, bool write);
/* Translates a linear address; on failure raises #PF unless nofault, then
 * returns false. user: access with user privilege (CPL 3, not implicit). */
bool mmu_translate(struct cpu *c, uint64_t lin, int acc, bool user, bool nofault, uint64_t *paddr);
void tlb_flush(struct cpu *c);
void tlb_flush_page(struct cpu *c, uint64_t lin);
uint64_t phys_read(struct cpu *c, uint64_t paddr, unsigned sz);
void phys_write(struct cpu *c, uint64_t paddr, unsigned sz, uint64_t v);
/* Implicit supervisor accesses (descriptor tables, TSS, IDT): CPL ignored. */
uint64_t sys_read(struct cpu *c, uint64_t lin, unsigned sz);
void sys_write(struct cpu *c, uint64_t lin, unsigned sz, uint64_t v);
/* Code pages and blocks (exec.c) */
void code_page_written(struct cpu *c, uint64_t ppage);
void code_write_check(struct cpu *c, uint64_t paddr, unsigned sz);
bool is_code_page(const struct cpu *c, uint64_t ppage);

HOT uint64_t ld_host(uintptr_t p, unsigned sz)
{
    switch (sz) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; memcpy(&v, (const void *)p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, (const void *)p, 4); return v; }
    default: { uint64_t v; memcpy(&v, (const void *)p, 8); return v; }
    }
}
HOT void st_host(uintptr_t p, unsigned sz, uint64_t v)
{
    switch (sz) {
    case 1: *(uint8_t *)p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy((void *)p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy((void *)p, &x, 4); break; }
    default: memcpy((void *)p, &v, 8); break;
    }
}

HOT uint64_t mem_read(struct cpu *c, uint64_t lin, unsigned sz)
{
    struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_r == (lin & ~0xfffULL) && (lin & 0xfff) <= 0x1000u - sz))
        return ld_host(e->addend + (uintptr_t)lin, sz);
    return mem_read_slow(c, lin, sz);
}
HOT void mem_write(struct cpu *c, uint64_t lin, unsigned sz, uint64_t v)
{
    struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_w == (lin & ~0xfffULL) && (lin & 0xfff) <= 0x1000u - sz)) {
        st_host(e->addend + (uintptr_t)lin, sz, v);
        return;
    }
    mem_write_slow(c, lin, sz, v);
}

/* Segment-relative → linear with the limit check (SDM vol. 3, 5.3). */
HOT uint64_t seg_lin(struct cpu *c, int s, uint64_t ea, unsigned sz, bool write)
{
    int64_t lim = write ? c->slim_w[s] : c->slim_r[s];
    if (unlikely((int64_t)(ea + sz - 1) > lim))
        seg_check_slow(c, s, ea, sz, write);
    return (c->sbase[s] + ea) & c->lin_mask;
}
HOT uint64_t seg_read(struct cpu *c, int s, uint64_t ea, unsigned sz)
{
    return mem_read(c, seg_lin(c, s, ea, sz, false), sz);
}
HOT void seg_write(struct cpu *c, int s, uint64_t ea, unsigned sz, uint64_t v)
{
    mem_write(c, seg_lin(c, s, ea, sz, true), sz, v);
}

/* Effective address of the ModRM memory operand (SDM vol. 2, 2.1.5). */
HOT uint64_t insn_ea(const struct cpu *c, const struct insn *i)
{
    uint64_t a = (uint64_t)i->disp;
    if (i->base != NOREG)
        a += i->base == REG_RIP ? c->next_rip : c->gpr[i->base];
    if (i->index != NOREG)
        a += c->gpr[i->index] << i->scale;
    return a & szmask(i->adsz);
}

/* E operand (register or memory) of a ModRM instruction. */
HOT uint64_t rd_E(struct cpu *c, const struct insn *i, unsigned sz)
{
    if (i->mod3)
        return rd_reg(c, i->rm, sz);
    return seg_read(c, i->seg, insn_ea(c, i), sz);
}
HOT void wr_E(struct cpu *c, const struct insn *i, unsigned sz, uint64_t v)
{
    if (i->mod3)
        wr_reg(c, i->rm, sz, v);
    else
        seg_write(c, i->seg, insn_ea(c, i), sz, v);
}

/* ---- stack ---- */
HOT void push(struct cpu *c, unsigned sz, uint64_t v)
{
    uint64_t sp = (c->gpr[R_ESP] - sz) & c->spmask;
    seg_write(c, SEG_SS, sp, sz, v);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
}
HOT uint64_t pop(struct cpu *c, unsigned sz)
{
    uint64_t sp = c->gpr[R_ESP] & c->spmask;
    uint64_t v = seg_read(c, SEG_SS, sp, sz);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | ((sp + sz) & c->spmask);
    return v;
}
/* The SS segment index used for stack accesses. */

/* ---- misc ---- */
static inline bool is_64(const struct cpu *c) { return c->mode & MODE_64; }
static inline bool is_pm(const struct cpu *c) { return c->mode & MODE_PE; }
static inline bool is_real(const struct cpu *c) { return !(c->mode & MODE_PE); }
static inline bool is_vm86(const struct cpu *c) { return c->mode & MODE_VM86; }
static inline unsigned iopl(const struct cpu *c) { return (c->eflags >> 12) & 3; }
/* STI, MOV SS, POP SS: no interrupt before the next instruction retires
 * (SDM vol. 3, 6.8.3). Both the address and the count matter: a loop can
 * come back to the same address, and the shadow must not last. */
static inline void interrupt_shadow(struct cpu *c)
{
    c->inhibit = true;
    c->inhibit_rip = c->next_rip;
    c->inhibit_icount = c->icount + (uint64_t)(c->cur - c->cur_block->insns) + 1;
}
/* Ends the current block after this instruction (state the decoder or the
 * interrupt check depends on changed). */
static inline void end_block(struct cpu *c) { c->cur_end = c->cur + 1; }

/* ---- system helpers (ops_sys.c) ---- */
void load_seg(struct cpu *c, int s, uint16_t sel);     /* with checks per mode */
void load_seg_real(struct cpu *c, int s, uint16_t sel);
void check_io(struct cpu *c, uint16_t port, unsigned sz);
uint64_t cpu_rdtsc(struct cpu *c);
void set_cr0(struct cpu *c, uint64_t v);
void set_cr4(struct cpu *c, uint64_t v);
void set_cr3(struct cpu *c, uint64_t v);

/* ---- decoder (decode.c) ---- */
/* Decodes one instruction at linear lin in the current mode. Returns false
 * if a fetch beyond the first byte would fault and nofault is set. */
struct fetch_ctx;
unsigned decode_insn(struct cpu *c, struct insn *out, const uint8_t *bytes, unsigned avail,
                     uint32_t mode, bool *ends_block);

/* Picks a size-specialised copy of a hot handler (ops_int.c). */
insn_fn ops_specialize(insn_fn fn, unsigned opsz, bool mem);
/* The generic handler a specialised copy was made from (or fn itself). */
insn_fn ops_generic(insn_fn fn);

/* ---- handlers referenced by the decode tables ---- */
#define H(name) void name(struct cpu *c, const struct insn *i)
#include "cpu/ops.h"
#undef H

#endif
