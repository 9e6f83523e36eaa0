/* x86-64 host backend: a decoded block becomes one host function.
 *
 * Every instruction the backend does not inline becomes a direct call to
 * its interpreter handler with its struct insn (call-threaded code, no
 * dispatch loop); the ones it inlines operate on struct cpu in memory with
 * the same lazy-flag representation as the interpreter, so the state at
 * any helper call, exit or fault is exactly the interpreter's. The worked
 * example of the emitted code is in cpu/jit/README.md.
 *
 * Registers inside a block: rbx = struct cpu *, r12 = c->cur_end at entry
 * (a handler that ends the block early moves it), r13 = RIP of the block's
 * first instruction, r14 = &b->insns[0]. RAX, RCX, RDX, RSI, RDI, R8-R11
 * are scratch. */
#include "cpu/jit/jit.h"
#include "cpu/cpu_int.h"
#include <stddef.h>

#if defined(__x86_64__)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Guest registers cached in host registers inside a block, write-through:
 * struct cpu in memory is always up to date (helpers, faults and exits
 * need nothing), and a later read of a register the block has just
 * loaded or written is a register move instead of a load waiting on the
 * store before it. Helper calls clobber the cache registers (caller-saved). */
#define NCACHE 3
static const int cache_regs[NCACHE] = {9, 10, 11};     /* R9, R10, R11 */

struct em {
    uint8_t *p, *start, *end;
    uint8_t *exec;          /* where start will run */
    int over;
    int8_t g2h[16];         /* guest register → host cache register, -1 */
    int8_t h2g[16];         /* host register → guest register, -1 */
    unsigned victim;        /* next cache register to reuse */
    int sse_ok;             /* CR0/CR4 checked for SSE since the last call */
};

static void e8(struct em *e, unsigned v)
{
    if (e->p < e->end)
        *e->p++ = (uint8_t)v;
    else
        e->over = 1;
}
static void e32(struct em *e, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        e8(e, (v >> (8 * k)) & 0xff);
}
static void e64(struct em *e, uint64_t v)
{
    e32(e, (uint32_t)v);
    e32(e, (uint32_t)(v >> 32));
}
static size_t pos(const struct em *e)
{
    return (size_t)(e->p - e->start);
}

/* REX prefix when needed: w = 64-bit operand, r/x/b = register numbers. */
static void rex(struct em *e, int w, int r, int x, int b, int force)
{
    unsigned v = 0x40 | (w ? 8 : 0) | ((r >> 3) & 1) << 2 | ((x >> 3) & 1) << 1 | ((b >> 3) & 1);
    if (v != 0x40 || force)
        e8(e, v);
}

static void opc(struct em *e, unsigned op)
{
    if (op > 0xff)
        e8(e, op >> 8);
    e8(e, op & 0xff);
}

/* op reg, [base + disp] (or the reverse, per opcode). */
static void op_mem(struct em *e, int w, unsigned op, int reg, int base, int32_t disp)
{
    rex(e, w, reg, 0, base, 0);
    opc(e, op);
    unsigned mod = (disp == 0 && (base & 7) != RBP) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    e8(e, mod << 6 | (reg & 7) << 3 | (base & 7));
    if ((base & 7) == RSP)
        e8(e, 0x24);
    if (mod == 1)
        e8(e, (uint8_t)disp);
    else if (mod == 2)
        e32(e, (uint32_t)disp);
}

/* op reg, rm (both registers). */
static void op_rr(struct em *e, int w, unsigned op, int reg, int rm)
{
    rex(e, w, reg, 0, rm, 0);
    opc(e, op);
    e8(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

static void mov_load(struct em *e, int w, int reg, int base, int32_t disp)
{
    op_mem(e, w, 0x8b, reg, base, disp);
}
static void mov_store(struct em *e, int w, int reg, int base, int32_t disp)
{
    op_mem(e, w, 0x89, reg, base, disp);
}
static void lea(struct em *e, int reg, int base, int32_t disp)
{
    op_mem(e, 1, 0x8d, reg, base, disp);
}
static void mov_rr(struct em *e, int w, int dst, int src)
{
    op_rr(e, w, 0x89, src, dst);
}
static void mov_imm(struct em *e, int reg, uint64_t v)
{
    if (v <= 0xffffffffull) {
        rex(e, 0, 0, 0, reg, 0);
        e8(e, 0xb8 + (reg & 7));
        e32(e, (uint32_t)v);
    } else if ((int64_t)v == (int32_t)v) {
        rex(e, 1, 0, 0, reg, 0);
        e8(e, 0xc7);
        e8(e, 0xc0 | (reg & 7));
        e32(e, (uint32_t)v);
    } else {
        rex(e, 1, 0, 0, reg, 0);
        e8(e, 0xb8 + (reg & 7));
        e64(e, v);
    }
}
/* mov dword/qword [base+disp], imm32 (sign-extended for qword). */
static void mov_store_imm(struct em *e, int w, int base, int32_t disp, uint32_t imm)
{
    op_mem(e, w, 0xc7, 0, base, disp);
    e32(e, imm);
}

static void cache_reset(struct em *e)
{
    memset(e->g2h, -1, sizeof(e->g2h));
    memset(e->h2g, -1, sizeof(e->h2g));
}

static void call_abs(struct em *e, const void *fn)
{
    cache_reset(e);         /* the callee may change R9-R11 and struct cpu */
    e->sse_ok = 0;          /* ... and CR0 (CLTS) */
    uint8_t *at = e->exec + pos(e) + 5;
    int64_t rel = (int64_t)((intptr_t)fn - (intptr_t)at);
    if (rel == (int32_t)rel) {
        e8(e, 0xe8);
        e32(e, (uint32_t)(int32_t)rel);
    } else {
        mov_imm(e, RAX, (uint64_t)(uintptr_t)fn);
        e8(e, 0xff);
        e8(e, 0xd0);        /* call rax */
    }
}

/* jcc rel32 / jmp rel32 with the target patched later. */
static size_t jcc_fwd(struct em *e, unsigned cc)
{
    e8(e, 0x0f);
    e8(e, 0x80 | cc);
    e32(e, 0);
    return pos(e);
}
static size_t jmp_fwd(struct em *e)
{
    e8(e, 0xe9);
    e32(e, 0);
    return pos(e);
}
static void patch(struct em *e, size_t after, size_t target)
{
    if (e->over)
        return;
    int32_t rel = (int32_t)((int64_t)target - (int64_t)after);
    memcpy(e->start + after - 4, &rel, 4);
}

/* jcc/jmp to an absolute executable address (the arena's shared stubs) */
static void jcc_abs(struct em *e, unsigned cc, const uint8_t *target)
{
    e8(e, 0x0f);
    e8(e, 0x80 | cc);
    e32(e, (uint32_t)(int32_t)(target - (e->exec + pos(e) + 4)));
}
static void jmp_abs(struct em *e, const uint8_t *target)
{
    e8(e, 0xe9);
    e32(e, (uint32_t)(int32_t)(target - (e->exec + pos(e) + 4)));
}

#define CC_E  0x4
#define CC_NE 0x5

#define OFF(f) ((int32_t)offsetof(struct cpu, f))
#define GPR(r) (OFF(gpr) + 8 * (int32_t)(r))

/* Pending exits: (jump to patch, instructions retired). */
struct exits {
    size_t at[BLOCK_MAX_INSNS * 2 + 2];
    uint32_t n[BLOCK_MAX_INSNS * 2 + 2];
    unsigned count;
};

static void add_exit(struct exits *x, size_t at, uint32_t n)
{
    if (x->count < sizeof(x->at) / sizeof(x->at[0])) {
        x->at[x->count] = at;
        x->n[x->count] = n;
        x->count++;
    }
}

/* ---- inline forms ---- */

static insn_fn generic_of(const struct insn *i)
{
    return ops_generic(i->fn);
}

static void ld_gpr(struct em *e, int h, unsigned r, unsigned sz);
static void st_gpr(struct em *e, int h, unsigned r, unsigned sz);

/* ---- memory operands (64-bit code) ---- */

/* Effective address of i's memory operand into RSI (off = offset of the
 * instruction in the block from r13). 0 when the form is not handled. */
static int emit_ea(struct em *e, const struct insn *i, uint32_t off)
{
    if (i->adsz != 8)
        return 0;
    int64_t disp = i->disp;
    if (i->base == REG_RIP) {
        int64_t d = (int64_t)off + i->len + disp;
        if (d != (int32_t)d)
            return 0;
        lea(e, RSI, R13, (int32_t)d);
        return i->index == NOREG;       /* no index with RIP-relative */
    }
    if (disp != (int32_t)disp)
        return 0;
    if (i->base != NOREG) {
        ld_gpr(e, RSI, i->base, 8);
        if (disp)
            op_mem(e, 1, 0x8d, RSI, RSI, (int32_t)disp);    /* lea rsi, [rsi+disp] */
    } else {
        mov_imm(e, RSI, (uint64_t)disp);
    }
    if (i->index != NOREG) {
        ld_gpr(e, RAX, i->index, 8);
        if (i->scale) {
            rex(e, 1, 0, 0, RAX, 0);
            e8(e, 0xc1); e8(e, 0xe0); e8(e, i->scale);      /* shl rax, scale */
        }
        op_rr(e, 1, 0x01, RAX, RSI);                         /* add rsi, rax */
    }
    return 1;
}

/* Linear address (RSI, from emit_ea) → host address in RSI through the
 * soft TLB, or a jump to the slow path (recorded in *miss). 64-bit mode:
 * segments other than FS and GS have base 0 and no limit. */
static void emit_tlb(struct em *e, int seg, unsigned sz, int write, unsigned mmu_idx,
                     size_t *miss, int *nmiss)
{
    if (seg == SEG_FS || seg == SEG_GS)
        op_mem(e, 1, 0x03, RSI, RBX, OFF(sbase) + 8 * seg);  /* add rsi, [sbase] */
    mov_rr(e, 1, RAX, RSI);
    rex(e, 1, 0, 0, RAX, 0); e8(e, 0xc1); e8(e, 0xe8); e8(e, 12);      /* shr rax, 12 */
    e8(e, 0x25); e32(e, TLB_SIZE - 1);                                  /* and eax, mask */
    /* rax *= sizeof(struct tlb_entry) (40) */
    e8(e, 0x48); e8(e, 0x8d); e8(e, 0x04); e8(e, 0x80);                 /* lea rax, [rax+rax*4] */
    rex(e, 1, 0, 0, RAX, 0); e8(e, 0xc1); e8(e, 0xe0); e8(e, 3);       /* shl rax, 3 */
    op_rr(e, 1, 0x01, RBX, RAX);                                        /* add rax, rbx */
    lea(e, RDX, RSI, (int32_t)(sz - 1));
    rex(e, 1, 0, 0, RDX, 0); e8(e, 0x81); e8(e, 0xe2); e32(e, 0xfffff000u);   /* and rdx, ~0xfff */
    const int32_t ent = OFF(tlb) + (int32_t)(mmu_idx * TLB_SIZE * sizeof(struct tlb_entry));
    const int32_t tag = write ? (int32_t)offsetof(struct tlb_entry, tag_w)
                              : (int32_t)offsetof(struct tlb_entry, tag_r);
    op_mem(e, 1, 0x3b, RDX, RAX, ent + tag);                            /* cmp rdx, [tag] */
    miss[(*nmiss)++] = jcc_fwd(e, CC_NE);
    op_mem(e, 1, 0x03, RSI, RAX, ent + (int32_t)offsetof(struct tlb_entry, addend)); /* add rsi, [addend] */
}

/* Loads sz bytes at [rsi] into ecx/rcx, zero- or sign-extended. */
static void emit_ld(struct em *e, unsigned sz, int sign)
{
    switch (sz) {
    case 1: op_mem(e, 1, sign ? 0x0fbe : 0x0fb6, RCX, RSI, 0); break;
    case 2: op_mem(e, 1, sign ? 0x0fbf : 0x0fb7, RCX, RSI, 0); break;
    case 4: if (sign) op_mem(e, 1, 0x63, RCX, RSI, 0); else op_mem(e, 0, 0x8b, RCX, RSI, 0); break;
    default: op_mem(e, 1, 0x8b, RCX, RSI, 0); break;
    }
}
/* Stores cl/cx/ecx/rcx at [rsi]. */
static void emit_st(struct em *e, unsigned sz)
{
    switch (sz) {
    case 1: op_mem(e, 0, 0x88, RCX, RSI, 0); break;
    case 2: e8(e, 0x66); op_mem(e, 0, 0x89, RCX, RSI, 0); break;
    case 4: op_mem(e, 0, 0x89, RCX, RSI, 0); break;
    default: op_mem(e, 1, 0x89, RCX, RSI, 0); break;
    }
}

/* Memory forms, 64-bit code only. Every check comes before the first
 * architectural write, so a miss can hand the whole instruction to its
 * handler. Returns 1 when emitted. */
static int emit_mem(struct em *e, const struct block *b, const struct insn *i, uint32_t off,
                    size_t *miss, int *nmiss)
{
    if (!(b->mode & MODE_64))
        return 0;
    const unsigned mmu = (b->mode >> 8) & 1;
    insn_fn g = generic_of(i);
    const unsigned sz = i->opsz;
    if (g == op_push_r && sz == 8 && i->reg < 16) {
        ld_gpr(e, RSI, R_ESP, 8);
        lea(e, RSI, RSI, -8);
        mov_rr(e, 1, R8, RSI);
        emit_tlb(e, SEG_SS, 8, 1, mmu, miss, nmiss);
        ld_gpr(e, RCX, i->reg, 8);
        emit_st(e, 8);
        st_gpr(e, R8, R_ESP, 8);
        return 1;
    }
    if (g == op_pop_r && sz == 8 && i->reg < 16) {
        ld_gpr(e, RSI, R_ESP, 8);
        mov_rr(e, 1, R8, RSI);
        emit_tlb(e, SEG_SS, 8, 0, mmu, miss, nmiss);
        emit_ld(e, 8, 0);
        lea(e, R8, R8, 8);
        st_gpr(e, R8, R_ESP, 8);
        st_gpr(e, RCX, i->reg, 8);
        return 1;
    }
    if (i->mod3)
        return 0;
    if (g == op_lea) {
        if (sz != 8 && sz != 4)
            return 0;
        if (i->reg >= 16 || !emit_ea(e, i, off))
            return 0;
        st_gpr(e, RSI, i->reg, sz);
        return 1;
    }
    int load = 0, store = 0, sign = 0;
    unsigned msz = sz;
    if (g == op_mov_GE) load = 1;
    else if (g == op_mov_EG || g == op_mov_EI) store = 1;
    else if (g == op_movzx8) { load = 1; msz = 1; }
    else if (g == op_movzx16) { load = 1; msz = 2; }
    else if (g == op_movsx8) { load = 1; msz = 1; sign = 1; }
    else if (g == op_movsx16) { load = 1; msz = 2; sign = 1; }
    else if (g == op_movsxd) { load = 1; msz = 4; sign = sz == 8; }
    else return 0;
    if (sz != 8 && sz != 4 && !(sz <= 2 && (g == op_mov_GE || g == op_mov_EG || g == op_mov_EI)))
        return 0;
    if (i->reg >= 16 && !(store && g == op_mov_EI))
        return 0;
    if (!emit_ea(e, i, off))
        return 0;
    emit_tlb(e, i->seg, msz, store, mmu, miss, nmiss);
    if (load) {
        emit_ld(e, msz, sign);
        if (sz <= 2) {
            /* 8/16-bit register: merge into the low bits */
            st_gpr(e, RCX, i->reg, sz);
        } else {
            if (sz == 4 && sign)
                mov_rr(e, 0, RCX, RCX);                     /* 32-bit result zero-extends */
            st_gpr(e, RCX, i->reg, 8);
        }
    } else {
        if (g == op_mov_EI)
            mov_imm(e, RCX, sz == 8 ? i->imm : (uint32_t)i->imm);
        else
            ld_gpr(e, RCX, i->reg, sz == 8 ? 8 : 4);
        emit_st(e, msz);
    }
    return 1;
}

/* ---- SSE2 integer forms and 128-bit moves (64-bit code) ----
 * Integer SSE2 has the same results on the host, so the guest's own
 * opcode runs on host XMM0/XMM1 loaded from struct cpu (never a memory
 * operand there: struct cpu's XMM array is not 16-byte aligned). Float
 * forms stay with their handlers (MXCSR, exceptions). */

#define XMM(r) (OFF(xmm) + 16 * (int32_t)(r))

/* Packed integer operations whose handler is the guest opcode's meaning
 * (66 0F op /r, destination XMM register, 16-byte aligned memory). */
static int sse_int_op(insn_fn g)
{
    static const insn_fn ops[] = {
        op_pand, op_pandn, op_por, op_pxor, op_paddb, op_paddw, op_paddd, op_paddq,
        op_psubb, op_psubw, op_psubd, op_psubq, op_paddsb, op_paddsw, op_psubsb, op_psubsw,
        op_paddusb, op_paddusw, op_psubusb, op_psubusw, op_pcmpeqb, op_pcmpeqw, op_pcmpeqd,
        op_pcmpgtb, op_pcmpgtw, op_pcmpgtd, op_pminub, op_pmaxub, op_pminsw, op_pmaxsw,
        op_pavgb, op_pavgw, op_pmullw, op_pmulhw, op_pmulhuw, op_pmuludq, op_pmaddwd,
        op_punpcklbw, op_punpckhbw, op_punpcklwd, op_punpckhwd, op_punpckldq, op_punpckhdq,
        op_punpcklqdq, op_punpckhqdq, op_packsswb, op_packuswb, op_packssdw,
    };
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (g == ops[k])
            return 1;
    return 0;
}

/* movdqu xmm, [base+disp] (load) or [base+disp], xmm (store) */
static void movdqu(struct em *e, int store, int xmm, int base, int32_t disp)
{
    e8(e, 0xf3);
    op_mem(e, 0, store ? 0x0f7f : 0x0f6f, xmm, base, disp);
}

static int emit_sse(struct em *e, const struct block *b, const struct insn *i, uint32_t off,
                    size_t *miss, int *nmiss)
{
    if (!(b->mode & MODE_64))
        return 0;
    insn_fn g = generic_of(i);
    enum { OP, LD, ST, MSK } kind;
    int aligned = 1;
    if (sse_int_op(g) && i->pfx66 && (i->op >> 8) == 1) kind = OP;
    else if (g == op_movaps_ld) kind = LD;
    else if (g == op_movups_ld || g == op_movdqu_ld) { kind = LD; aligned = 0; }
    else if (g == op_movaps_st) kind = ST;
    else if (g == op_movups_st) { kind = ST; aligned = 0; }
    else if (g == op_pmovmskb && i->mod3 && i->reg < 16) kind = MSK;
    else return 0;
    if (!i->mod3 && !emit_ea(e, i, off))
        return 0;           /* (emit_ea emits nothing that matters when it fails) */
    if (!e->sse_ok) {
        /* as sse_check: #UD with CR0.EM or without CR4.OSFXSR, #NM with
         * CR0.TS; the handler raises them */
        op_mem(e, 0, 0xf7, 0, RBX, OFF(cr0)); e32(e, CR0_EM | CR0_TS);    /* test */
        miss[(*nmiss)++] = jcc_fwd(e, CC_NE);
        op_mem(e, 0, 0xf7, 0, RBX, OFF(cr4)); e32(e, CR4_OSFXSR);
        miss[(*nmiss)++] = jcc_fwd(e, CC_E);
        e->sse_ok = 1;
    }
    if (kind == MSK) {
        movdqu(e, 0, 0, RBX, XMM(i->rm));
        e8(e, 0x66); op_rr(e, 0, 0x0fd7, RAX, 0);          /* pmovmskb eax, xmm0 */
        st_gpr(e, RAX, i->reg, 8);
        return 1;
    }
    if (!i->mod3) {
        emit_tlb(e, i->seg, 16, kind == ST, (b->mode >> 8) & 1, miss, nmiss);
        if (aligned) {
            e8(e, 0x40); e8(e, 0xf6); e8(e, 0xc6); e8(e, 15);   /* test sil, 15: #GP */
            miss[(*nmiss)++] = jcc_fwd(e, CC_NE);
        }
    }
    if (kind == ST) {
        movdqu(e, 0, 0, RBX, XMM(i->reg));
        if (i->mod3)
            movdqu(e, 1, 0, RBX, XMM(i->rm));
        else
            movdqu(e, 1, 0, RSI, 0);
        return 1;
    }
    /* the source into xmm1 */
    if (i->mod3)
        movdqu(e, 0, 1, RBX, XMM(i->rm));
    else
        movdqu(e, 0, 1, RSI, 0);
    if (kind == OP) {
        movdqu(e, 0, 0, RBX, XMM(i->reg));
        e8(e, 0x66); op_rr(e, 0, 0x0f00 | (i->op & 0xff), 0, 1);    /* op xmm0, xmm1 */
        movdqu(e, 1, 0, RBX, XMM(i->reg));
    } else {
        movdqu(e, 1, 1, RBX, XMM(i->reg));
    }
    return 1;
}

/* ---- flag liveness within a block ----
 * An instruction's lazy-flag stores are dead when a later instruction of
 * the block sets all arithmetic flags again before anything reads them and
 * nothing in between can fault (a fault must see the flags as they were). */

/* Sets every arithmetic flag, reads none, cannot fault. */
static int full_flag_writer(const struct insn *i)
{
    insn_fn g = ops_generic(i->fn);
    const unsigned sz = i->opsz;
    if (sz == 2)
        return 0;
#define ALU4(n) g == op_##n##_EG || g == op_##n##_GE || g == op_##n##_EI
    if (ALU4(add) || ALU4(sub) || ALU4(cmp) || ALU4(and) || ALU4(or) || ALU4(xor) ||
        g == op_test_EG || g == op_test_EI)
        return i->mod3 && i->rm < 16 && (g == op_add_EI || g == op_sub_EI || g == op_cmp_EI ||
                                         g == op_and_EI || g == op_or_EI || g == op_xor_EI ||
                                         g == op_test_EI || i->reg < 16);
#undef ALU4
    if (g == op_add_AI || g == op_sub_AI || g == op_cmp_AI || g == op_and_AI || g == op_or_AI ||
        g == op_xor_AI || g == op_test_AI)
        return 1;
    if ((g == op_shl || g == op_shr || g == op_sar) && i->mod3 && !i->imm2 && i->rm < 16 &&
        (sz == 4 || sz == 8))
        return ((unsigned)(i->imm & 0xff) & (sz == 8 ? 63 : 31)) != 0;
    if ((g == op_imul_GE || g == op_imul_GEI) && i->mod3 && i->reg < 16 && i->rm < 16 &&
        (sz == 4 || sz == 8))
        return 1;
    return 0;
}

/* Neither reads nor writes flags, cannot fault. */
static int flag_neutral(const struct insn *i)
{
    insn_fn g = ops_generic(i->fn);
    if (g == op_lea || g == op_mov_rI)
        return 1;
    if (!i->mod3)
        return 0;
    return g == op_mov_EG || g == op_mov_GE || g == op_mov_EI || g == op_movzx8 ||
           g == op_movzx16 || g == op_movsx8 || g == op_movsx16 || g == op_movsxd;
}

static int flags_dead_after(const struct block *b, unsigned k)
{
    for (unsigned j = k + 1; j < b->ninsn; j++) {
        if (full_flag_writer(&b->insns[j]))
            return 1;
        if (!flag_neutral(&b->insns[j]))
            return 0;
    }
    return 0;
}

/* The cache register for guest register r, made to hold it (loaded from
 * struct cpu when it did not and load is set). */
static int cache_get(struct em *e, unsigned r, int load)
{
    int x = e->g2h[r];
    if (x >= 0)
        return x;
    x = cache_regs[e->victim++ % NCACHE];
    if (e->h2g[x] >= 0)
        e->g2h[e->h2g[x]] = -1;
    e->h2g[x] = (int8_t)r;
    e->g2h[r] = (int8_t)x;
    if (load)
        mov_load(e, 1, x, RBX, GPR(r));
    return x;
}
/* Guest register r was written in struct cpu behind the cache. */
static void cache_drop(struct em *e, unsigned r)
{
    int x = e->g2h[r];
    if (x >= 0) {
        e->h2g[x] = -1;
        e->g2h[r] = -1;
    }
}

/* Loads a register operand of sz bytes (zero-extended) into host reg h. */
static void ld_gpr(struct em *e, int h, unsigned r, unsigned sz)
{
    const int x = cache_get(e, r, 1);
    switch (sz) {
    case 1: op_rr(e, 0, 0x0fb6, h, x); break;          /* movzx h32, x8 (REX: low byte) */
    case 2: op_rr(e, 0, 0x0fb7, h, x); break;
    case 4: mov_rr(e, 0, h, x); break;
    default: mov_rr(e, 1, h, x); break;
    }
}
/* Writes host reg h to a guest register with x86's partial-write rules
 * (8/16-bit writes merge, 32-bit writes zero-extend). */
static void st_gpr(struct em *e, int h, unsigned r, unsigned sz)
{
    switch (sz) {
    case 1: rex(e, 0, h, 0, RBX, h >= 4); opc(e, 0x88); e8(e, 0x80 | (h & 7) << 3 | RBX);
            e32(e, (uint32_t)GPR(r)); cache_drop(e, r); return;
    case 2: e8(e, 0x66); op_mem(e, 0, 0x89, h, RBX, GPR(r)); cache_drop(e, r); return;
    case 4: mov_rr(e, 0, h, h); mov_store(e, 1, h, RBX, GPR(r)); break;
    default: mov_store(e, 1, h, RBX, GPR(r)); break;
    }
    mov_rr(e, 1, cache_get(e, r, 0), h);
}

/* Host op r/m, r at a guest size (flags come out at that size). */
static void op_sized(struct em *e, unsigned sz, unsigned op, int reg, int rm)
{
    if (sz == 2)
        e8(e, 0x66);
    rex(e, sz == 8, reg, 0, rm, sz == 1 && (reg >= 4 || rm >= 4));
    opc(e, sz == 1 ? op - 1 : op);
    e8(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* A Jcc's condition from the lazy flags. */
static uint64_t jit_cond(struct cpu *c, uint64_t cc)
{
    return cc_cond(c, (unsigned)cc);
}

/* The guest's CF from the lazy flags (for INC/DEC, which keep it, and
 * ADC/SBB, which read it). */
static uint64_t jit_get_cf(struct cpu *c)
{
    return get_cf(c);
}

/* ALU (ADD SUB CMP AND OR XOR TEST), MOVSXD and MOVZX/MOVSX between
 * registers, with an immediate, or with a memory operand (64-bit code). The
 * host instruction does the arithmetic, so afterwards the host flags are
 * the guest's for that size: *hostflags tells the caller a following
 * Jcc/SETcc/CMOVcc may use them. The lazy-flag fields are written as the
 * interpreter writes them. Returns 1 when emitted. */
static int emit_alu(struct em *e, const struct block *b, const struct insn *i, uint32_t off,
                    size_t *miss, int *nmiss, int *hostflags, int dead)
{
    const unsigned sz = i->opsz;
    insn_fn g = generic_of(i);
    const int m64 = (b->mode & MODE_64) != 0;
    const unsigned mmu = (b->mode >> 8) & 1;
    /* register moves */
    if ((g == op_mov_EG || g == op_mov_GE) && i->mod3 && sz != 2) {
        unsigned dst = g == op_mov_EG ? i->rm : i->reg, src = g == op_mov_EG ? i->reg : i->rm;
        if (dst >= 16 || src >= 16)
            return 0;
        ld_gpr(e, RAX, src, sz);
        st_gpr(e, RAX, dst, sz);
        return 1;
    }
    if ((g == op_mov_rI || (g == op_mov_EI && i->mod3)) && sz != 2) {
        unsigned dst = g == op_mov_rI ? i->reg : i->rm;
        if (dst >= 16)
            return 0;
        uint64_t v = i->imm & szmask(sz);
        if (sz == 8 && (int64_t)v == (int32_t)v) {
            mov_store_imm(e, 1, RBX, GPR(dst), (uint32_t)v);
            cache_drop(e, dst);
        } else {
            mov_imm(e, RAX, v);
            st_gpr(e, RAX, dst, sz);
        }
        return 1;
    }
    if (g == op_movsxd && i->mod3 && i->reg < 16 && i->rm < 16) {
        if (sz == 8)
            op_mem(e, 1, 0x63, RAX, RBX, GPR(i->rm));           /* movsxd rax, [gpr] */
        else
            mov_load(e, 0, RAX, RBX, GPR(i->rm));
        st_gpr(e, RAX, i->reg, sz == 8 ? 8 : 4);
        return 1;
    }
    if ((g == op_movzx8 || g == op_movzx16 || g == op_movsx8 || g == op_movsx16) && i->mod3 &&
        (sz == 4 || sz == 8) && i->reg < 16 && i->rm < 16) {
        unsigned op = g == op_movzx8 ? 0x0fb6 : g == op_movzx16 ? 0x0fb7 : g == op_movsx8 ? 0x0fbe : 0x0fbf;
        op_mem(e, sz == 8, op, RAX, RBX, GPR(i->rm));
        st_gpr(e, RAX, i->reg, sz);
        return 1;
    }

    enum cc_op ccop;
    unsigned hop;           /* host op r/m, r (32/64-bit form) */
    int wb = 1, form;       /* form: 0 EG, 1 GE, 2 EI, 3 AI */
#define ALU_CASE(name, cc, h, w)                                                    \
    if (g == op_##name##_EG) { form = 0; ccop = cc; hop = h; wb = w; } else        \
    if (g == op_##name##_GE) { form = 1; ccop = cc; hop = h; wb = w; } else        \
    if (g == op_##name##_EI) { form = 2; ccop = cc; hop = h; wb = w; } else        \
    if (g == op_##name##_AI) { form = 3; ccop = cc; hop = h; wb = w; } else
    ALU_CASE(add, CC_ADD, 0x01, 1)
    ALU_CASE(sub, CC_SUB, 0x29, 1)
    ALU_CASE(cmp, CC_SUB, 0x29, 0)
    ALU_CASE(and, CC_LOGIC, 0x21, 1)
    ALU_CASE(or, CC_LOGIC, 0x09, 1)
    ALU_CASE(xor, CC_LOGIC, 0x31, 1)
    ALU_CASE(adc, CC_ADC, 0x11, 1)
    ALU_CASE(sbb, CC_SBB, 0x19, 1)
    if (g == op_test_EG) { form = 0; ccop = CC_LOGIC; hop = 0x21; wb = 0; } else
    if (g == op_test_EI) { form = 2; ccop = CC_LOGIC; hop = 0x21; wb = 0; } else
    if (g == op_test_AI) { form = 3; ccop = CC_LOGIC; hop = 0x21; wb = 0; } else
        return 0;
#undef ALU_CASE
    const int carry = ccop == CC_ADC || ccop == CC_SBB;
    /* operands: a (destination side) in RAX, b in RCX */
    const int e_is_mem = form != 3 && !i->mod3;
    unsigned ereg = i->mod3 ? i->rm : NOREG;
    if ((form <= 1 && i->reg >= 16) || (!e_is_mem && form != 3 && ereg >= 16))
        return 0;
    if (e_is_mem && (!m64 || i->adsz != 8))
        return 0;
    const int mem_write = e_is_mem && form != 1 && wb;
    if (carry) {
        /* ADC/SBB: the guest's CF into r8d (0/1) before anything below
         * changes the host flags; made the host CF again just before the
         * host ADC/SBB */
        if (*hostflags) {
            rex(e, 0, 0, 0, R8, 1); e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc0 | (R8 & 7)); /* setc r8b */
            op_rr(e, 0, 0x0fb6, R8, R8);                            /* movzx r8d, r8b */
        } else {
            mov_rr(e, 1, RDI, RBX);
            call_abs(e, (const void *)jit_get_cf);
            mov_rr(e, 0, R8, RAX);
        }
    }
    if (e_is_mem) {
        if (!emit_ea(e, i, off))
            return 0;
        emit_tlb(e, i->seg, sz, mem_write, mmu, miss, nmiss);
    }
    /* the E operand into RAX (EG/EI/AI) or RCX (GE) */
    int eh = form == 1 ? RCX : RAX;
    if (e_is_mem) {
        emit_ld(e, sz, 0);                  /* into RCX */
        if (eh == RAX)
            mov_rr(e, 1, RAX, RCX);
    } else if (form == 3) {
        ld_gpr(e, RAX, R_EAX, sz);
    } else {
        ld_gpr(e, eh, ereg, sz);
    }
    if (form == 0)
        ld_gpr(e, RCX, i->reg, sz);
    else if (form == 1)
        ld_gpr(e, RAX, i->reg, sz);
    else
        mov_imm(e, RCX, i->imm & szmask(sz));
    mov_rr(e, 1, RDX, RAX);
    if (carry) {
        rex(e, 0, 0, 0, R8, 0); e8(e, 0x0f); e8(e, 0xba); e8(e, 0xe0 | (R8 & 7)); e8(e, 0); /* bt r8d, 0 */
    }
    op_sized(e, sz, hop, RCX, RDX);             /* rdx = rax op rcx; host flags = guest flags */
    /* lazy flags, with movs only (they keep the host flags); none when a
     * later instruction of the block overwrites them unread */
    if (!dead) {
        if (carry)
            mov_store(e, 0, R8, RBX, OFF(cc_cin));
        if (ccop != CC_LOGIC) {
            mov_store(e, 1, RAX, RBX, OFF(cc_a));
            mov_store(e, 1, RCX, RBX, OFF(cc_b));
        }
        mov_store(e, 1, RDX, RBX, OFF(cc_res));
        mov_imm(e, RAX, (uint64_t)ccop | (uint64_t)sz << 32);
        mov_store(e, 1, RAX, RBX, OFF(cc_op));  /* cc_op and cc_sz together */
    }
    if (wb) {
        if (form == 1)
            st_gpr(e, RDX, i->reg, sz);
        else if (form == 3)
            st_gpr(e, RDX, R_EAX, sz);
        else if (!e_is_mem)
            st_gpr(e, RDX, ereg, sz);
        else {
            mov_rr(e, 1, RCX, RDX);
            emit_st(e, sz);
        }
    }
    *hostflags = 1;
    return 1;
}


/* CC_SHIFT lazy flags: CF|OF bits in ecx, the result in rdx. */
static void store_cc_shift(struct em *e, unsigned sz)
{
    mov_store(e, 0, RCX, RBX, OFF(cc_cin));
    mov_store(e, 1, RDX, RBX, OFF(cc_res));
    mov_imm(e, RAX, (uint64_t)CC_SHIFT | (uint64_t)sz << 32);
    mov_store(e, 1, RAX, RBX, OFF(cc_op));
}

/* shift/rotate group r/m, imm: host op with /digit */
static void shift_imm(struct em *e, unsigned sz, unsigned digit, int rm, unsigned n)
{
    if (sz == 2)
        e8(e, 0x66);
    rex(e, sz == 8, 0, 0, rm, sz == 1 && rm >= 4);
    e8(e, sz == 1 ? 0xc0 : 0xc1);
    e8(e, 0xc0 | digit << 3 | (rm & 7));
    e8(e, n);
}

/* INC/DEC, shifts by an immediate and IMUL on registers (and IMUL with a
 * memory source in 64-bit code), with the interpreter's lazy flags:
 * CC_INC/CC_DEC keep the old CF in cc_cin; shifts and IMUL are CC_SHIFT
 * with CF and OF precomputed in cc_cin. */
static int emit_arith2(struct em *e, const struct block *b, const struct insn *i, uint32_t off,
                       size_t *miss, int *nmiss, int *hostflags, int dead)
{
    insn_fn g = generic_of(i);
    const unsigned sz = i->opsz;
    if (sz != 4 && sz != 8)
        return 0;
    if ((g == op_inc_r || g == op_dec_r || ((g == op_inc_E || g == op_dec_E) && i->mod3))) {
        const int inc = g == op_inc_r || g == op_inc_E;
        unsigned r = (g == op_inc_r || g == op_dec_r) ? i->reg : i->rm;
        if (r >= 16)
            return 0;
        if (dead) {
            /* the flags are overwritten unread: the register only */
            ld_gpr(e, RDX, r, sz);
            rex(e, sz == 8, 0, 0, RDX, 0);
            e8(e, 0xff); e8(e, 0xc0 | (inc ? 0 : 1) << 3 | RDX);    /* inc/dec edx/rdx */
            st_gpr(e, RDX, r, sz);
            *hostflags = 0;
            return 1;
        }
        if (*hostflags) {
            e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc1);                  /* setc cl */
            op_rr(e, 0, 0x0fb6, RCX, RCX);                          /* movzx ecx, cl */
            mov_store(e, 0, RCX, RBX, OFF(cc_cin));
        } else {
            mov_rr(e, 1, RDI, RBX);
            call_abs(e, (const void *)jit_get_cf);
            mov_store(e, 0, RAX, RBX, OFF(cc_cin));
            e8(e, 0x0f); e8(e, 0xba); e8(e, 0xe0); e8(e, 0x00);     /* bt eax, 0: host CF = guest CF */
        }
        ld_gpr(e, RAX, r, sz);
        mov_rr(e, 1, RDX, RAX);
        rex(e, sz == 8, 0, 0, RDX, 0);
        e8(e, 0xff); e8(e, 0xc0 | (inc ? 0 : 1) << 3 | RDX);        /* inc/dec edx/rdx */
        mov_store(e, 1, RAX, RBX, OFF(cc_a));
        mov_store(e, 1, RDX, RBX, OFF(cc_res));
        mov_imm(e, RAX, (uint64_t)(inc ? CC_INC : CC_DEC) | (uint64_t)sz << 32);
        mov_store(e, 1, RAX, RBX, OFF(cc_op));
        st_gpr(e, RDX, r, sz);
        *hostflags = 1;
        return 1;
    }
    if ((g == op_shl || g == op_shr || g == op_sar) && i->mod3 && !i->imm2 && i->rm < 16) {
        unsigned n = (unsigned)(i->imm & 0xff) & (sz == 8 ? 63 : 31);
        if (!n)
            return 0;
        const unsigned bits = sz * 8;
        ld_gpr(e, RAX, i->rm, sz);
        mov_rr(e, 1, RDX, RAX);
        shift_imm(e, sz, g == op_shl ? 4 : g == op_shr ? 5 : 7, RDX, n);
        e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc1);                      /* setc cl */
        op_rr(e, 0, 0x0fb6, RCX, RCX);                              /* movzx ecx, cl */
        if (g != op_sar) {
            /* OF as the interpreter defines it for every count:
             * SHL: CF ^ MSB(result); SHR: MSB(operand) */
            mov_rr(e, 1, R8, g == op_shl ? RDX : RAX);
            shift_imm(e, 8, 5, R8, bits - 1);                       /* shr r8, bits-1 */
            rex(e, 0, 0, 0, R8, 0); e8(e, 0x83); e8(e, 0xe0 | (R8 & 7)); e8(e, 1);  /* and r8d, 1 */
            if (g == op_shl)
                op_rr(e, 0, 0x31, RCX, R8);                         /* xor r8d, ecx */
            shift_imm(e, 4, 4, R8, 11);                             /* shl r8d, 11 */
            op_rr(e, 0, 0x09, R8, RCX);                             /* or ecx, r8d */
        }
        if (!dead)
            store_cc_shift(e, sz);
        st_gpr(e, RDX, i->rm, sz);
        *hostflags = 0;
        return 1;
    }
    if ((g == op_shl || g == op_shr || g == op_sar) && i->mod3 && i->imm2 && i->rm < 16 &&
        i->rm != R_ECX) {
        /* shifts by CL: the host shifts by CL too (same masking); a zero
         * count leaves the flags alone, so their stores are skipped then */
        const unsigned bits = sz * 8;
        const unsigned digit = g == op_shl ? 4 : g == op_shr ? 5 : 7;
        ld_gpr(e, RCX, R_ECX, 4);
        ld_gpr(e, RAX, i->rm, sz);
        mov_rr(e, 1, RDX, RAX);
        if (sz == 8)
            e8(e, 0x48);
        e8(e, 0xd3); e8(e, 0xc0 | digit << 3 | RDX);               /* shift edx/rdx, cl */
        if (!dead) {
            e8(e, 0x40); e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc6);     /* setc sil */
            e8(e, 0x40); e8(e, 0x0f); e8(e, 0xb6); e8(e, 0xf6);     /* movzx esi, sil */
            if (g != op_sar) {
                /* OF as the interpreter: SHL CF ^ MSB(result), SHR MSB(operand) */
                mov_rr(e, 1, RDI, g == op_shl ? RDX : RAX);
                shift_imm(e, 8, 5, RDI, bits - 1);                  /* shr rdi, bits-1 */
                e8(e, 0x83); e8(e, 0xe7); e8(e, 1);                 /* and edi, 1 */
                if (g == op_shl)
                    op_rr(e, 0, 0x31, RSI, RDI);                    /* xor edi, esi */
                shift_imm(e, 4, 4, RDI, 11);                        /* shl edi, 11 */
                op_rr(e, 0, 0x09, RDI, RSI);                        /* or esi, edi */
            }
            e8(e, 0xf6); e8(e, 0xc1); e8(e, sz == 8 ? 63 : 31);     /* test cl, mask */
            size_t zero = jcc_fwd(e, CC_E);
            mov_store(e, 0, RSI, RBX, OFF(cc_cin));
            mov_store(e, 1, RDX, RBX, OFF(cc_res));
            mov_imm(e, RAX, (uint64_t)CC_SHIFT | (uint64_t)sz << 32);
            mov_store(e, 1, RAX, RBX, OFF(cc_op));
            patch(e, zero, pos(e));
        }
        st_gpr(e, RDX, i->rm, sz);
        *hostflags = 0;
        return 1;
    }
    if ((g == op_rol || g == op_ror) && dead && i->mod3 && !i->imm2 && i->rm < 16) {
        /* rotates set CF and OF only, through the eager flags: when a
         * later instruction of the block overwrites them unread, the
         * register alone */
        unsigned n = (unsigned)(i->imm & 0xff) & (sz == 8 ? 63 : 31);
        if (!n)
            return 0;
        ld_gpr(e, RDX, i->rm, sz);
        shift_imm(e, sz, g == op_rol ? 0 : 1, RDX, n);
        st_gpr(e, RDX, i->rm, sz);
        *hostflags = 0;
        return 1;
    }
    if ((g == op_bsf || (g == op_bsr && i->rep != 0xf3)) && i->reg < 16 &&
        (i->mod3 ? i->rm < 16 : (b->mode & MODE_64) && i->adsz == 8)) {
        /* BSF/BSR: a zero source leaves the destination as it was (all 64
         * bits) and sets ZF alone of the arithmetic flags, as the
         * interpreter does */
        if (!i->mod3) {
            if (!emit_ea(e, i, off))
                return 0;
            emit_tlb(e, i->seg, sz, 0, (b->mode >> 8) & 1, miss, nmiss);
            emit_ld(e, sz, 0);                                      /* rcx = source */
        } else {
            ld_gpr(e, RCX, i->rm, sz);
        }
        ld_gpr(e, RDX, i->reg, 8);
        rex(e, sz == 8, RAX, 0, RCX, 0);
        e8(e, 0x0f); e8(e, g == op_bsf ? 0xbc : 0xbd); e8(e, 0xc0 | (RAX & 7) << 3 | (RCX & 7));
        op_rr(e, 1, 0x0f45, RDX, RAX);                              /* cmovnz rdx, rax */
        if (!dead) {
            rex(e, 0, 0, 0, R8, 1); e8(e, 0x0f); e8(e, 0x94); e8(e, 0xc0 | (R8 & 7)); /* setz r8b */
            op_rr(e, 0, 0x0fb6, R8, R8);                            /* movzx r8d, r8b */
            shift_imm(e, 4, 4, R8, 6);                              /* shl r8d, 6: ZF */
            mov_load(e, 1, RAX, RBX, OFF(eflags));
            rex(e, 1, 0, 0, RAX, 0); e8(e, 0x25); e32(e, ~(uint32_t)FLAGS_ARITH);   /* and rax, ~arith */
            op_rr(e, 1, 0x09, R8, RAX);                             /* or rax, r8 */
            mov_store(e, 1, RAX, RBX, OFF(eflags));
            mov_store_imm(e, 0, RBX, OFF(cc_op), CC_EAGER);
        }
        st_gpr(e, RDX, i->reg, 8);
        *hostflags = 0;
        return 1;
    }
    if (g == op_mul && (i->mod3 ? i->rm < 16 : (b->mode & MODE_64) && i->adsz == 8)) {
        /* MUL: rdx:rax = rax * E, flags as IMUL's (CC_SHIFT, CF=OF=high
         * half non-zero, the rest from the low half) */
        if (!i->mod3) {
            if (!emit_ea(e, i, off))
                return 0;
            emit_tlb(e, i->seg, sz, 0, (b->mode >> 8) & 1, miss, nmiss);
            emit_ld(e, sz, 0);                                      /* rcx = E */
        } else {
            ld_gpr(e, RCX, i->rm, sz);
        }
        ld_gpr(e, RAX, R_EAX, sz);
        rex(e, sz == 8, 0, 0, RCX, 0); e8(e, 0xf7); e8(e, 0xe1);   /* mul ecx/rcx */
        e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc1);                      /* setc cl */
        op_rr(e, 0, 0x0fb6, RCX, RCX);                              /* movzx ecx, cl */
        e8(e, 0x69); e8(e, 0xc9); e32(e, RFLAGS_CF | RFLAGS_OF);    /* imul ecx, ecx, CF|OF */
        st_gpr(e, RDX, R_EDX, sz);
        st_gpr(e, RAX, R_EAX, sz);
        if (!dead) {
            mov_rr(e, 1, RDX, RAX);
            store_cc_shift(e, sz);
        }
        *hostflags = 0;
        return 1;
    }
    if (g == op_cbw && (sz == 4 || sz == 8)) {
        /* CWDE / CDQE */
        ld_gpr(e, RAX, R_EAX, sz / 2);
        if (sz == 8)
            op_rr(e, 1, 0x63, RAX, RAX);                            /* movsxd rax, eax */
        else
            op_rr(e, 0, 0x0fbf, RAX, RAX);                          /* movsx eax, ax */
        st_gpr(e, RAX, R_EAX, sz);
        return 1;                                                   /* host flags untouched */
    }
    if (g == op_cwd && (sz == 4 || sz == 8)) {
        /* CDQ / CQO */
        ld_gpr(e, RAX, R_EAX, sz);
        shift_imm(e, sz, 7, RAX, sz * 8 - 1);                       /* sar: the sign everywhere */
        st_gpr(e, RAX, R_EDX, sz);
        *hostflags = 0;
        return 1;
    }
    if ((g == op_imul_GE || g == op_imul_GEI) && i->reg < 16 && (i->mod3 ? i->rm < 16 : 1)) {
        if (!i->mod3) {
            if (!(b->mode & MODE_64) || !emit_ea(e, i, off))
                return 0;
            emit_tlb(e, i->seg, sz, 0, (b->mode >> 8) & 1, miss, nmiss);
            emit_ld(e, sz, 0);                                      /* rcx = E */
        } else {
            ld_gpr(e, RCX, i->rm, sz);
        }
        if (g == op_imul_GE)
            ld_gpr(e, RDX, i->reg, sz);
        else
            mov_imm(e, RDX, i->imm & szmask(sz));
        rex(e, sz == 8, RDX, 0, RCX, 0);
        e8(e, 0x0f); e8(e, 0xaf); e8(e, 0xc0 | (RDX & 7) << 3 | (RCX & 7));   /* imul edx/rdx, ecx/rcx */
        e8(e, 0x0f); e8(e, 0x92); e8(e, 0xc1);                      /* setc cl */
        op_rr(e, 0, 0x0fb6, RCX, RCX);                              /* movzx ecx, cl */
        e8(e, 0x69); e8(e, 0xc9); e32(e, RFLAGS_CF | RFLAGS_OF);    /* imul ecx, ecx, CF|OF */
        if (!dead || !i->mod3)
            store_cc_shift(e, sz);
        st_gpr(e, RDX, i->reg, sz);
        *hostflags = 0;
        return 1;
    }
    return 0;
}

/* ---- the block ---- */



int jit_backend_available(void)
{
    return 1;
}

/* c->field = RIP of the instruction at off (+ extra): a constant in 64-bit
 * code (the block's linear PC is its RIP there), else from r13. */
static void store_rip(struct em *e, const struct block *b, int32_t field, uint32_t off)
{
    uint64_t v = b->lin_pc + off;
    if ((b->mode & MODE_64) && (int64_t)v == (int32_t)v) {
        mov_store_imm(e, 1, RBX, field, (uint32_t)v);
    } else {
        lea(e, RAX, R13, (int32_t)off);
        mov_store(e, 1, RAX, RBX, field);
    }
}

static void emit_call_insn(struct em *e, const struct block *b, const struct insn *i, unsigned k,
                           uint32_t off)
{
    /* c->cur = i; c->rip, c->next_rip; handler(c, i) */
    lea(e, RSI, R14, (int32_t)(k * sizeof(struct insn)));
    mov_store(e, 1, RSI, RBX, OFF(cur));
    store_rip(e, b, OFF(rip), off);
    store_rip(e, b, OFF(next_rip), off + i->len);
    mov_rr(e, 1, RDI, RBX);
    call_abs(e, (const void *)i->fn);
}

/* Whether the block may be followed by the next one without returning to
 * the run loop: it ends in a near branch, or at a size or page limit.
 * Anything else that ends a block (far transfers, IRET, INT, HLT, CR
 * writes, STI, POPF, MOV SS) may change what the loop checks. */
static int chainable(const struct block *b)
{
    if (!b->last_ends)
        return 1;
    insn_fn g = generic_of(&b->insns[b->ninsn - 1]);
    return g == op_jmp_rel || g == op_call_rel || g == op_ret_near || g == op_jmp_E ||
           g == op_call_E || g == op_loop || g == op_jcxz ||
#define JCC_IS(n) g == op_jcc##n ||
           JCC_IS(0) JCC_IS(1) JCC_IS(2) JCC_IS(3) JCC_IS(4) JCC_IS(5) JCC_IS(6) JCC_IS(7)
           JCC_IS(8) JCC_IS(9) JCC_IS(10) JCC_IS(11) JCC_IS(12) JCC_IS(13) JCC_IS(14) JCC_IS(15)
#undef JCC_IS
           0;
}

/* How an exit to a constant target may be linked (see jit_link). */
enum { LINK_NONE, LINK_PAGE, LINK_XPAGE };

/* Leaving the block with the next RIP in RCX (n instructions retired):
 * store it, count, and go on into the next translation (whose entry
 * checks whether the run loop has something to do). A constant target in
 * the block's own page (LINK_PAGE) gets a jump that jit_link patches to
 * enter the target directly. A constant target in another page
 * (LINK_XPAGE, 64-bit code) gets the same jump behind a compare of the
 * map epoch it was linked under: any soft-TLB flush since then, and the
 * linear target may mean other code, so it goes to the lookup instead.
 * Until linked, and for every other target, the arena's shared lookup
 * stub searches the jump cache. */
static void emit_exit(struct em *e, const struct cpu *c, const struct block *b, uint32_t n,
                      int chain, int linkable, size_t *ret_sites, int *nret)
{
    const struct jit_arena *a = &c->jit_arena;
    (void)ret_sites; (void)nret;
    mov_store(e, 1, RCX, RBX, OFF(rip));
    op_mem(e, 1, 0x81, 0, RBX, OFF(icount)); e32(e, n);       /* add [icount], n */
    if (!chain) {
        jmp_abs(e, a->stub_epilogue);
        return;
    }
    if (linkable == LINK_XPAGE) {
        op_mem(e, 0, 0x81, 7, RBX, OFF(map_epoch));
        e32(e, 0);                          /* cmp [map_epoch], imm32: patched by jit_link */
        e8(e, 0x75); e8(e, 5);              /* jne over the jump */
    }
    if (linkable) {
        size_t field = jmp_fwd(e);          /* patched by jit_link */
        patch(e, field, pos(e));
        uint64_t f = (uint64_t)(uintptr_t)(e->exec + field - 4);
        mov_imm(e, RDX, linkable == LINK_XPAGE ? f | JIT_LINK_XPAGE : f);
    } else {
        op_rr(e, 0, 0x31, RDX, RDX);        /* xor edx, edx */
    }
    rex(e, 0, 0, 0, R8, 0); e8(e, 0xb8 + (R8 & 7)); e32(e, b->mode);   /* mov r8d, key */
    jmp_abs(e, a->stub_lookup);
}

static void shift_imm_fwd(struct em *e, int r)
{
    rex(e, 1, 0, 0, r, 0); e8(e, 0xc1); e8(e, 0xe8 | (r & 7)); e8(e, 12);   /* shr r, 12 */
}

/* The arena's shared code, at its start: the epilogue every exit ends in,
 * and the jump-cache lookup that enters (and links) the next block. */
size_t jit_backend_stubs(struct jit_arena *a, uint8_t *out, uint8_t *exec_at, size_t room)
{
    struct em em = {.p = out, .start = out, .end = out + room, .exec = exec_at};
    struct em *e = &em;
    a->stub_epilogue = exec_at + pos(e);
    e8(e, 0x48); e8(e, 0x83); e8(e, 0xc4); e8(e, 0x08);   /* add rsp, 8 */
    e8(e, 0x41); e8(e, 0x5e);                           /* pop r14 */
    e8(e, 0x41); e8(e, 0x5d);                           /* pop r13 */
    e8(e, 0x41); e8(e, 0x5c);                           /* pop r12 */
    e8(e, 0x5b);                                        /* pop rbx */
    e8(e, 0xc3);
    while (pos(e) & 15)
        e8(e, 0xcc);
    /* rcx = RIP, rdx = the jump to patch (or 0), r8d = the block key */
    a->stub_lookup = exec_at + pos(e);
    mov_rr(e, 1, RAX, RCX);
    rex(e, 0, 0, 0, R8, 0); e8(e, 0xf7); e8(e, 0xc0 | (R8 & 7)); e32(e, MODE_64);  /* test r8d, MODE_64 */
    size_t is64 = jcc_fwd(e, CC_NE);
    op_mem(e, 1, 0x03, RAX, RBX, OFF(sbase) + 8 * SEG_CS);              /* add rax, cs base */
    mov_rr(e, 0, RAX, RAX);                                             /* 32-bit linear */
    patch(e, is64, pos(e));
    /* r9 = c->jc[(lin ^ (lin >> 12)) & (JC_SIZE - 1)] */
    mov_rr(e, 1, R9, RAX);
    shift_imm_fwd(e, R9);
    op_rr(e, 1, 0x31, RAX, R9);                                         /* xor r9, rax */
    rex(e, 0, 0, 0, R9, 0); e8(e, 0x81); e8(e, 0xe0 | (R9 & 7)); e32(e, JC_SIZE - 1);  /* and r9d */
    e8(e, 0x4e); e8(e, 0x8b); e8(e, 0x8c); e8(e, 0xcb); e32(e, (uint32_t)OFF(jc)); /* mov r9, [rbx+r9*8+jc] */
    op_rr(e, 1, 0x85, R9, R9);                                          /* test r9, r9 */
    jcc_abs(e, CC_E, a->stub_epilogue);
    op_mem(e, 1, 0x3b, RAX, R9, (int32_t)offsetof(struct block, lin_pc));   /* cmp rax, [lin_pc] */
    jcc_abs(e, CC_NE, a->stub_epilogue);
    op_mem(e, 0, 0x3b, R8, R9, (int32_t)offsetof(struct block, mode));      /* cmp r8d, [mode] */
    jcc_abs(e, CC_NE, a->stub_epilogue);
    op_mem(e, 0, 0x81, 7, R9, (int32_t)offsetof(struct block, jit_gen)); e32(e, a->gen);
    jcc_abs(e, CC_NE, a->stub_epilogue);
    op_rr(e, 1, 0x85, RDX, RDX);                                        /* test rdx, rdx */
    size_t nolink = jcc_fwd(e, CC_E);
    mov_rr(e, 1, RDI, RBX);
    mov_rr(e, 1, RSI, R9);
    call_abs(e, (const void *)jit_link);                                /* rax = entry */
    e8(e, 0xff); e8(e, 0xe0);                                           /* jmp rax */
    patch(e, nolink, pos(e));
    mov_load(e, 1, RAX, R9, (int32_t)offsetof(struct block, jit_code));
    lea(e, RAX, RAX, JIT_CHAIN_ENTRY);
    e8(e, 0xff); e8(e, 0xe0);                                           /* jmp rax */
    while (pos(e) & 15)
        e8(e, 0xcc);
    return e->over ? 0 : pos(e);
}

/* How an exit of b to the constant linear target may be linked: in
 * 64-bit code the target is a constant RIP (the block's linear PC plus an
 * offset); in its own page directly, in another behind the map epoch. */
static int link_kind(const struct block *b, uint64_t target)
{
    if (!(b->mode & MODE_64))
        return LINK_NONE;
    return (target >> 12) == (b->lin_pc >> 12) ? LINK_PAGE : LINK_XPAGE;
}

struct slow {
    size_t at[4];
    int nat;
    unsigned k;
    uint32_t off;
    size_t resume;
    int restore_flags;      /* the code after it reads the host flags */
    int8_t g2h[16];         /* the register cache at resume, reloaded */
    int load_rcx;           /* the code after it wants next_rip in RCX */
};

/* The guest's arithmetic flags, for a slow path that must hand them on in
 * the host flags (nothing else: DF, TF and IF stay clear for the host). */
static uint64_t jit_arith_flags(struct cpu *c)
{
    return (get_eflags(c) & FLAGS_ARITH) | 2;
}

static int is_jcc(insn_fn g)
{
#define JCC_IS(n) g == op_jcc##n ||
    return JCC_IS(0) JCC_IS(1) JCC_IS(2) JCC_IS(3) JCC_IS(4) JCC_IS(5) JCC_IS(6) JCC_IS(7)
           JCC_IS(8) JCC_IS(9) JCC_IS(10) JCC_IS(11) JCC_IS(12) JCC_IS(13) JCC_IS(14) JCC_IS(15) 0;
#undef JCC_IS
}

size_t jit_backend_translate(struct cpu *c, struct block *b, uint8_t *out, uint8_t *exec_at,
                             size_t room, int *untranslatable)
{
    struct em em = {.p = out, .start = out, .end = out + room, .exec = exec_at};
    struct em *e = &em;
    struct exits ex = {.count = 0};
    static __thread struct slow slows[BLOCK_MAX_INSNS];
    int nslow = 0;
    size_t rets[32];
    int nret = 0;
    *untranslatable = 0;
    /* Chained execution returns to the run loop only at a check; verify
     * mode and tracing need the loop at every block. */
    const int chain = c->jit_mode == CPU_JIT_ON && !c->trace_on;

    /* prologue (JIT_CHAIN_ENTRY bytes) */
    e8(e, 0x53);                                        /* push rbx */
    e8(e, 0x41); e8(e, 0x54);                           /* push r12 */
    e8(e, 0x41); e8(e, 0x55);                           /* push r13 */
    e8(e, 0x41); e8(e, 0x56);                           /* push r14 */
    e8(e, 0x48); e8(e, 0x83); e8(e, 0xec); e8(e, 0x08); /* sub rsp, 8 */
    mov_rr(e, 1, RBX, RDI);
    /* Entered from the run loop, which has just done the checks below:
     * skip them (a pending interrupt it could not take yet, in an STI
     * shadow, must not stop the block from running). */
    e8(e, 0xeb);
    e8(e, 0);
    const size_t skip = pos(e);
    if (!e->over && pos(e) != JIT_CHAIN_ENTRY)
        return 0;
    /* entry of chained jumps: first what the run loop would look at
     * between blocks (budget, exit request, invalidations, NMI, INTR with
     * IF); then this block's own registers and cur_block */
    if (chain) {
        const uint8_t *epi = c->jit_arena.stub_epilogue;
        mov_load(e, 1, RAX, RBX, OFF(icount));
        op_mem(e, 1, 0x3b, RAX, RBX, OFF(budget_end));      /* cmp rax, [budget_end] */
        jcc_abs(e, 0x3, epi);                               /* jae */
        mov_load(e, 1, RAX, RBX, OFF(exit_req));
        op_mem(e, 0, 0x8b, RAX, RAX, 0);                    /* mov eax, [rax] */
        op_mem(e, 0, 0x0b, RAX, RBX, OFF(inv_pending));
        op_mem(e, 0, 0x0b, RAX, RBX, OFF(nmi_pending));
        jcc_abs(e, CC_NE, epi);
        op_mem(e, 0, 0x8b, RAX, RBX, OFF(intr_line));
        op_rr(e, 0, 0x85, RAX, RAX);
        size_t no_intr = jcc_fwd(e, CC_E);
        op_mem(e, 0, 0xf7, 0, RBX, OFF(eflags)); e32(e, RFLAGS_IF);
        jcc_abs(e, CC_NE, epi);
        patch(e, no_intr, pos(e));
    }
    if (!e->over)
        e->start[skip - 1] = (uint8_t)(pos(e) - skip);
    mov_imm(e, R14, (uint64_t)(uintptr_t)b->insns);
    lea(e, R12, R14, (int32_t)(b->ninsn * sizeof(struct insn)));
    mov_store(e, 1, R12, RBX, OFF(cur_end));
    lea(e, RAX, R14, -(int32_t)offsetof(struct block, insns));
    mov_store(e, 1, RAX, RBX, OFF(cur_block));
    mov_load(e, 1, R13, RBX, OFF(rip));
    cache_reset(e);

    uint32_t off = 0;
    int last_was_call = 0, ended = 0, hostflags = 0;
    const int m64 = (b->mode & MODE_64) != 0;
    const unsigned mmu = (b->mode >> 8) & 1;
    for (unsigned k = 0; k < b->ninsn; k++) {
        const struct insn *i = &b->insns[k];
        const int last = k + 1 == b->ninsn;
        insn_fn g = generic_of(i);
        struct slow *sl = &slows[nslow];
        sl->nat = 0;
        sl->k = k;
        sl->off = off;
        sl->restore_flags = 0;
        sl->load_rcx = 0;
        if (last && m64 && is_jcc(g)) {
            /* fused compare and branch: the host flags are the guest's;
             * else the condition from the lazy flags (cannot fault) */
            uint64_t fall = b->lin_pc + off + i->len;
            uint64_t taken = fall + i->imm;
            size_t to_taken;
            if (hostflags) {
                to_taken = jcc_fwd(e, i->op & 15);
            } else {
                mov_rr(e, 1, RDI, RBX);
                mov_imm(e, RSI, i->op & 15);
                call_abs(e, (const void *)jit_cond);
                op_rr(e, 0, 0x85, RAX, RAX);
                to_taken = jcc_fwd(e, CC_NE);
            }
            mov_imm(e, RCX, fall);
            emit_exit(e, c, b, b->ninsn, chain, chain ? link_kind(b, fall) : LINK_NONE, rets, &nret);
            patch(e, to_taken, pos(e));
            mov_imm(e, RCX, taken);
            emit_exit(e, c, b, b->ninsn, chain, chain ? link_kind(b, taken) : LINK_NONE, rets, &nret);
            ended = 1;
            break;
        }
        if (last && m64 && i->opsz == 8 && (g == op_call_rel || (g == op_ret_near && !i->imm))) {
            uint64_t fall = b->lin_pc + off + i->len;
            ld_gpr(e, RSI, R_ESP, 8);
            if (g == op_call_rel)
                lea(e, RSI, RSI, -8);
            mov_rr(e, 1, R8, RSI);
            emit_tlb(e, SEG_SS, 8, g == op_call_rel, mmu, sl->at, &sl->nat);
            if (g == op_call_rel) {
                mov_imm(e, RCX, fall);
                emit_st(e, 8);
                st_gpr(e, R8, R_ESP, 8);
                sl->resume = pos(e);
                memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
                mov_imm(e, RCX, fall + i->imm);
                nslow++;
                emit_exit(e, c, b, b->ninsn, chain, chain ? link_kind(b, fall + i->imm) : LINK_NONE, rets, &nret);
            } else {
                emit_ld(e, 8, 0);
                lea(e, R8, R8, 8);
                st_gpr(e, R8, R_ESP, 8);
                sl->resume = pos(e);
                memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
                sl->load_rcx = 1;
                nslow++;
                emit_exit(e, c, b, b->ninsn, chain, chain && 0, rets, &nret);
            }
            ended = 1;
            break;
        }
        if (last && m64 && i->opsz == 8 && (g == op_jmp_E || g == op_call_E) &&
            (i->mod3 ? i->rm < 16 : i->adsz == 8)) {
            /* indirect near JMP/CALL: the target into RDI (register, or a
             * load through the TLB), then for CALL the push; every check
             * comes before the first write, so a miss hands the whole
             * instruction to its handler, which leaves next_rip */
            if (i->mod3) {
                ld_gpr(e, RDI, i->rm, 8);
            } else {
                if (!emit_ea(e, i, off)) {
                    emit_call_insn(e, b, i, k, off);
                    off += i->len;
                    last_was_call = 1;
                    break;
                }
                emit_tlb(e, i->seg, 8, 0, mmu, sl->at, &sl->nat);
                emit_ld(e, 8, 0);
                mov_rr(e, 1, RDI, RCX);
            }
            if (g == op_call_E) {
                ld_gpr(e, RSI, R_ESP, 8);
                lea(e, RSI, RSI, -8);
                mov_rr(e, 1, R8, RSI);
                emit_tlb(e, SEG_SS, 8, 1, mmu, sl->at, &sl->nat);
                mov_imm(e, RCX, b->lin_pc + off + i->len);
                emit_st(e, 8);
                st_gpr(e, R8, R_ESP, 8);
            }
            mov_rr(e, 1, RCX, RDI);
            if (sl->nat) {
                sl->resume = pos(e);
                memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
                sl->load_rcx = 1;
                nslow++;
            }
            emit_exit(e, c, b, b->ninsn, chain, LINK_NONE, rets, &nret);
            ended = 1;
            break;
        }
        if (last && m64 && g == op_jmp_rel && i->opsz == 8) {
            uint64_t t = b->lin_pc + off + i->len + i->imm;
            mov_imm(e, RCX, t);
            emit_exit(e, c, b, b->ninsn, chain, chain ? link_kind(b, t) : LINK_NONE, rets, &nret);
            ended = 1;
            break;
        }
        const int setcc_ok = g == op_setcc && i->mod3 && i->rm < 16;
        const int cmov_ok = g == op_cmovcc && i->mod3 && i->reg < 16 && i->rm < 16 &&
                            (i->opsz == 4 || i->opsz == 8);
        if (setcc_ok || cmov_ok) {
            /* the condition from the host flags, or from the lazy ones
             * (as ZF of a test: then the host flags are not the guest's) */
            unsigned cc = i->op & 15;
            if (!hostflags) {
                mov_rr(e, 1, RDI, RBX);
                mov_imm(e, RSI, cc);
                call_abs(e, (const void *)jit_cond);
                op_rr(e, 0, 0x85, RAX, RAX);
                cc = CC_NE;
            }
            if (setcc_ok) {
                e8(e, 0x0f); e8(e, 0x90 | cc); e8(e, 0xc0);         /* setcc al */
                st_gpr(e, RAX, i->rm, 1);
            } else {
                ld_gpr(e, RAX, i->reg, i->opsz);
                op_mem(e, i->opsz == 8, 0x0f40 | cc, RAX, RBX, GPR(i->rm));
                st_gpr(e, RAX, i->reg, 8);
            }
            off += i->len;
            last_was_call = 0;
            continue;
        }
        if (g == op_nop) {
            /* NOP, NOP r/m and the PREFETCH hints: nothing to do (no
             * memory access, no flags) */
            off += i->len;
            continue;
        }
        if (g == op_not && i->mod3 && i->rm < 16 && (i->opsz == 4 || i->opsz == 8)) {
            ld_gpr(e, RAX, i->rm, i->opsz);
            rex(e, i->opsz == 8, 0, 0, RAX, 0); e8(e, 0xf7); e8(e, 0xd0);   /* not eax/rax */
            st_gpr(e, RAX, i->rm, i->opsz);
            off += i->len;
            last_was_call = 0;
            continue;                       /* no flags: the host's stay valid */
        }
        if (g == op_neg && i->mod3 && i->rm < 16 && (i->opsz == 4 || i->opsz == 8)) {
            const unsigned sz = i->opsz;
            ld_gpr(e, RCX, i->rm, sz);                                   /* b = operand */
            op_rr(e, 0, 0x31, RAX, RAX);                                 /* a = 0 */
            mov_rr(e, 1, RDX, RAX);
            op_sized(e, sz, 0x29, RCX, RDX);                             /* rdx = 0 - b */
            if (!flags_dead_after(b, k)) {
                mov_store(e, 1, RAX, RBX, OFF(cc_a));
                mov_store(e, 1, RCX, RBX, OFF(cc_b));
                mov_store(e, 1, RDX, RBX, OFF(cc_res));
                mov_imm(e, RAX, (uint64_t)CC_SUB | (uint64_t)sz << 32);
                mov_store(e, 1, RAX, RBX, OFF(cc_op));
            }
            st_gpr(e, RDX, i->rm, sz);
            hostflags = 1;
            off += i->len;
            last_was_call = 0;
            continue;
        }
        int hf = hostflags;
        const int dead = flags_dead_after(b, k);
        if (emit_arith2(e, b, i, off, sl->at, &sl->nat, &hf, dead)) {
            if (sl->nat) {
                sl->resume = pos(e);
                memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
                nslow++;
            }
            hostflags = hf;
            off += i->len;
            last_was_call = 0;
            continue;
        }
        hf = hostflags;
        if (emit_alu(e, b, i, off, sl->at, &sl->nat, &hf, dead)) {
            if (sl->nat) {
                sl->resume = pos(e);
                memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
                sl->restore_flags = 1;
                nslow++;
            }
            hostflags = hf;
            off += i->len;
            last_was_call = 0;
            continue;
        }
        if (emit_sse(e, b, i, off, sl->at, &sl->nat) || emit_mem(e, b, i, off, sl->at, &sl->nat)) {
            sl->resume = pos(e);
            memcpy(sl->g2h, e->g2h, sizeof(sl->g2h));
            nslow++;
            off += i->len;
            last_was_call = 0;
            hostflags = 0;
            continue;
        }
        emit_call_insn(e, b, i, k, off);
        off += i->len;
        last_was_call = 1;
        hostflags = 0;
        if (!last) {
            /* end_block() or an invalidation of this block moved cur_end */
            op_mem(e, 1, 0x39, R12, RBX, OFF(cur_end));   /* cmp [rbx+cur_end], r12 */
            add_exit(&ex, jcc_fwd(e, CC_NE), k + 1);
        }
    }
    const int chain_ok = chain && chainable(b);
    const insn_fn lastg = generic_of(&b->insns[b->ninsn - 1]);
    if (ended) {
        /* the last instruction made its own exits */
    } else if (!last_was_call) {
        /* ended at a size or page limit on an inlined instruction */
        uint64_t t = b->lin_pc + off;
        lea(e, RCX, R13, (int32_t)off);
        emit_exit(e, c, b, b->ninsn, chain_ok, chain_ok ? link_kind(b, t) : LINK_NONE, rets, &nret);
    } else if (chain_ok && m64 && lastg != op_ret_near && lastg != op_jmp_E &&
               lastg != op_call_E && b->last_ends) {
        /* a direct branch in 64-bit code: the handler chose between two
         * constant targets (or one) */
        const struct insn *li = &b->insns[b->ninsn - 1];
        uint64_t fall = b->lin_pc + off;
        uint64_t taken = fall + li->imm;
        mov_load(e, 1, RCX, RBX, OFF(next_rip));
        if (lastg != op_jmp_rel && lastg != op_call_rel) {
            mov_imm(e, RAX, fall);
            op_rr(e, 1, 0x39, RAX, RCX);                        /* cmp rcx, rax */
            size_t to_taken = jcc_fwd(e, CC_NE);
            emit_exit(e, c, b, b->ninsn, 1, link_kind(b, fall), rets, &nret);
            patch(e, to_taken, pos(e));
        }
        emit_exit(e, c, b, b->ninsn, 1, link_kind(b, taken), rets, &nret);
    } else {
        /* the handler set next_rip (a branch, or the fall-through) */
        mov_load(e, 1, RCX, RBX, OFF(next_rip));
        emit_exit(e, c, b, b->ninsn, chain_ok, 0, rets, &nret);
    }
    (void)rets; (void)nret;

    /* slow paths of inlined memory instructions: the handler does it all */
    for (int s = 0; s < nslow; s++) {
        struct slow *sl = &slows[s];
        for (int a = 0; a < sl->nat; a++)
            patch(e, sl->at[a], pos(e));
        const struct insn *i = &b->insns[sl->k];
        emit_call_insn(e, b, i, sl->k, sl->off);
        if (sl->k + 1 < b->ninsn) {
            op_mem(e, 1, 0x39, R12, RBX, OFF(cur_end));
            add_exit(&ex, jcc_fwd(e, CC_NE), sl->k + 1);
        }
        if (sl->restore_flags) {
            /* what follows uses the host flags: make them the guest's */
            mov_rr(e, 1, RDI, RBX);
            call_abs(e, (const void *)jit_arith_flags);
            e8(e, 0x50);                                /* push rax */
            e8(e, 0x9d);                                /* popfq */
        }
        if (sl->load_rcx)
            mov_load(e, 1, RCX, RBX, OFF(next_rip));
        /* the handler wrote struct cpu: the cache as the fast path left it */
        for (unsigned r = 0; r < 16; r++)
            if (sl->g2h[r] >= 0)
                mov_load(e, 1, sl->g2h[r], RBX, GPR(r));
        size_t j = jmp_fwd(e);
        patch(e, j, sl->resume);
    }

    /* early exits after a handler: RIP is the handler's next_rip */
    size_t common = 0;
    for (unsigned x = 0; x < ex.count; x++) {
        patch(e, ex.at[x], pos(e));
        mov_imm(e, RAX, ex.n[x]);
        if (x == 0) {
            common = pos(e);
        } else {
            size_t j = jmp_fwd(e);
            patch(e, j, common);
            continue;
        }
        op_mem(e, 1, 0x01, RAX, RBX, OFF(icount));         /* add [icount], rax */
        mov_load(e, 1, RCX, RBX, OFF(next_rip));
        mov_store(e, 1, RCX, RBX, OFF(rip));
        jmp_abs(e, c->jit_arena.stub_epilogue);
    }
    if (e->over)
        return 0;
    return pos(e);
}

#else   /* no backend for this host: the interpreter runs everything */

int jit_backend_available(void)
{
    return 0;
}

size_t jit_backend_stubs(struct jit_arena *a, uint8_t *out, uint8_t *exec_at, size_t room)
{
    (void)a; (void)out; (void)exec_at; (void)room;
    return 0;
}

size_t jit_backend_translate(struct cpu *c, struct block *b, uint8_t *out, uint8_t *exec_at,
                             size_t room, int *untranslatable)
{
    (void)c; (void)b; (void)out; (void)exec_at; (void)room;
    *untranslatable = 1;
    return 0;
}

#endif
