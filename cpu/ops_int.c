/* General-purpose integer instructions (SDM vol. 2). Each handler gets its
 * decoded struct insn; flags are left lazy where the result alone (plus
 * operands) defines them, computed eagerly for shifts, multiplies, BCD. */
#include "cpu/cpu_int.h"
#include <sys/random.h>

static inline void cc_set(struct cpu *c, enum cc_op op, unsigned sz, uint64_t a, uint64_t b, uint64_t r)
{
    c->cc_op = op;
    c->cc_sz = sz;
    c->cc_a = a;
    c->cc_b = b;
    c->cc_res = r;
}

/* ---- ALU group ---- */
/* Each op computes r from a, b and sets the lazy flags; CMP does not write. */
#define ALU_OP_add(a, b, sz) ({ uint64_t r_ = (a) + (b); cc_set(c, CC_ADD, sz, a, b, r_); r_; })
#define ALU_OP_sub(a, b, sz) ({ uint64_t r_ = (a) - (b); cc_set(c, CC_SUB, sz, a, b, r_); r_; })
#define ALU_OP_cmp(a, b, sz) ALU_OP_sub(a, b, sz)
#define ALU_OP_and(a, b, sz) ({ uint64_t r_ = (a) & (b); cc_set(c, CC_LOGIC, sz, 0, 0, r_); r_; })
#define ALU_OP_or(a, b, sz)  ({ uint64_t r_ = (a) | (b); cc_set(c, CC_LOGIC, sz, 0, 0, r_); r_; })
#define ALU_OP_xor(a, b, sz) ({ uint64_t r_ = (a) ^ (b); cc_set(c, CC_LOGIC, sz, 0, 0, r_); r_; })
#define ALU_OP_adc(a, b, sz) ({ uint32_t ci_ = get_cf(c); uint64_t r_ = (a) + (b) + ci_; \
        cc_set(c, CC_ADC, sz, a, b, r_); c->cc_cin = ci_; r_; })
#define ALU_OP_sbb(a, b, sz) ({ uint32_t ci_ = get_cf(c); uint64_t r_ = (a) - (b) - ci_; \
        cc_set(c, CC_SBB, sz, a, b, r_); c->cc_cin = ci_; r_; })
#define ALU_WB_add 1
#define ALU_WB_sub 1
#define ALU_WB_and 1
#define ALU_WB_or 1
#define ALU_WB_xor 1
#define ALU_WB_adc 1
#define ALU_WB_sbb 1
#define ALU_WB_cmp 0

#define ALU_HANDLERS(n)                                                         \
void op_##n##_EG(struct cpu *c, const struct insn *i)                           \
{                                                                               \
    const unsigned sz = i->opsz;                                                \
    uint64_t b = rd_reg(c, i->reg, sz);                                         \
    if (i->mod3) {                                                              \
        uint64_t a = rd_reg(c, i->rm, sz);                                      \
        uint64_t r = ALU_OP_##n(a, b, sz);                                      \
        if (ALU_WB_##n) wr_reg(c, i->rm, sz, r);                                \
    } else {                                                                    \
        uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, ALU_WB_##n);       \
        uint64_t a = mem_read(c, lin, sz);                                      \
        uint64_t r = ALU_OP_##n(a, b, sz);                                      \
        if (ALU_WB_##n) mem_write(c, lin, sz, r);                               \
    }                                                                           \
}                                                                               \
void op_##n##_GE(struct cpu *c, const struct insn *i)                           \
{                                                                               \
    const unsigned sz = i->opsz;                                                \
    uint64_t b = rd_E(c, i, sz);                                                \
    uint64_t a = rd_reg(c, i->reg, sz);                                         \
    uint64_t r = ALU_OP_##n(a, b, sz);                                          \
    if (ALU_WB_##n) wr_reg(c, i->reg, sz, r);                                   \
}                                                                               \
void op_##n##_AI(struct cpu *c, const struct insn *i)                           \
{                                                                               \
    const unsigned sz = i->opsz;                                                \
    uint64_t a = rd_reg(c, R_EAX, sz);                                          \
    uint64_t b = i->imm & szmask(sz);                                           \
    uint64_t r = ALU_OP_##n(a, b, sz);                                          \
    if (ALU_WB_##n) wr_reg(c, R_EAX, sz, r);                                    \
}                                                                               \
void op_##n##_EI(struct cpu *c, const struct insn *i)                           \
{                                                                               \
    const unsigned sz = i->opsz;                                                \
    uint64_t b = i->imm & szmask(sz);                                           \
    if (i->mod3) {                                                              \
        uint64_t a = rd_reg(c, i->rm, sz);                                      \
        uint64_t r = ALU_OP_##n(a, b, sz);                                      \
        if (ALU_WB_##n) wr_reg(c, i->rm, sz, r);                                \
    } else {                                                                    \
        uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, ALU_WB_##n);       \
        uint64_t a = mem_read(c, lin, sz);                                      \
        uint64_t r = ALU_OP_##n(a, b, sz);                                      \
        if (ALU_WB_##n) mem_write(c, lin, sz, r);                               \
    }                                                                           \
}

ALU_HANDLERS(add) ALU_HANDLERS(or) ALU_HANDLERS(adc) ALU_HANDLERS(sbb)
ALU_HANDLERS(and) ALU_HANDLERS(sub) ALU_HANDLERS(xor) ALU_HANDLERS(cmp)

/* ---- INC/DEC (CF preserved) ---- */

static inline uint64_t do_inc(struct cpu *c, uint64_t a, unsigned sz)
{
    uint32_t cf = get_cf(c);
    uint64_t r = a + 1;
    cc_set(c, CC_INC, sz, a, 1, r);
    c->cc_cin = cf;
    return r;
}
static inline uint64_t do_dec(struct cpu *c, uint64_t a, unsigned sz)
{
    uint32_t cf = get_cf(c);
    uint64_t r = a - 1;
    cc_set(c, CC_DEC, sz, a, 1, r);
    c->cc_cin = cf;
    return r;
}

void op_inc_r(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, do_inc(c, rd_reg(c, i->reg, i->opsz), i->opsz));
}
void op_dec_r(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, do_dec(c, rd_reg(c, i->reg, i->opsz), i->opsz));
}
void op_inc_E(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    if (i->mod3) {
        wr_reg(c, i->rm, sz, do_inc(c, rd_reg(c, i->rm, sz), sz));
    } else {
        uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, true);
        uint64_t a = mem_read(c, lin, sz);
        uint32_t cf = get_cf(c);
        mem_write(c, lin, sz, a + 1);
        cc_set(c, CC_INC, sz, a, 1, a + 1);
        c->cc_cin = cf;
    }
}
void op_dec_E(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    if (i->mod3) {
        wr_reg(c, i->rm, sz, do_dec(c, rd_reg(c, i->rm, sz), sz));
    } else {
        uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, true);
        uint64_t a = mem_read(c, lin, sz);
        uint32_t cf = get_cf(c);
        mem_write(c, lin, sz, a - 1);
        cc_set(c, CC_DEC, sz, a, 1, a - 1);
        c->cc_cin = cf;
    }
}

/* ---- stack ---- */

void op_push_r(struct cpu *c, const struct insn *i)
{
    push(c, i->opsz, rd_reg(c, i->reg, i->opsz));
}
void op_pop_r(struct cpu *c, const struct insn *i)
{
    uint64_t v = pop(c, i->opsz);
    wr_reg(c, i->reg, i->opsz, v);
}
void op_push_I(struct cpu *c, const struct insn *i)
{
    push(c, i->opsz, i->imm & szmask(i->opsz));
}
void op_push_E(struct cpu *c, const struct insn *i)
{
    push(c, i->opsz, rd_E(c, i, i->opsz));
}
void op_pop_E(struct cpu *c, const struct insn *i)
{
    /* POP m with an ESP-based address uses ESP after the pop (SDM vol. 2, POP). */
    uint64_t old = c->gpr[R_ESP];
    uint64_t v = pop(c, i->opsz);
    if (i->mod3) {
        wr_reg(c, i->rm, i->opsz, v);
        return;
    }
    uint64_t ea = insn_ea(c, i);
    uint64_t newsp = c->gpr[R_ESP];
    c->gpr[R_ESP] = old;    /* if the store faults, the pop is undone */
    seg_write(c, i->seg, ea, i->opsz, v);
    c->gpr[R_ESP] = newsp;
}
void op_pusha(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t sp = c->gpr[R_ESP];
    uint64_t start = c->gpr[R_ESP];
    for (int r = 0; r < 8; r++) {
        uint64_t v = r == R_ESP ? start : c->gpr[r];
        sp = (sp - sz) & c->spmask;
        seg_write(c, SEG_SS, sp, sz, v & szmask(sz));
    }
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
}
void op_popa(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t sp = c->gpr[R_ESP] & c->spmask;
    uint64_t v[8];
    for (int r = 7; r >= 0; r--) {
        v[r] = seg_read(c, SEG_SS, sp, sz);
        sp = (sp + sz) & c->spmask;
    }
    for (int r = 0; r < 8; r++)
        if (r != R_ESP)
            wr_reg(c, r, sz, v[r]);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
}
void op_enter(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    unsigned level = i->imm2 & 31;
    uint64_t bp = c->gpr[R_EBP];
    push(c, sz, bp & szmask(sz));
    uint64_t frame = c->gpr[R_ESP] & c->spmask;
    if (level) {
        uint64_t bpm = c->spmask;
        for (unsigned k = 1; k < level; k++) {
            bp = (bp - sz) & bpm;
            push(c, sz, seg_read(c, SEG_SS, bp, sz));
        }
        push(c, sz, frame);
    }
    uint64_t sp = ((c->gpr[R_ESP] & c->spmask) - i->imm) & c->spmask;
    /* The new stack top must be writable (checked by touching it). */
    seg_lin(c, SEG_SS, sp, 1, true);
    wr_reg(c, R_EBP, sz, frame);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
}
void op_leave(struct cpu *c, const struct insn *i)
{
    uint64_t sp = c->gpr[R_EBP] & c->spmask;
    uint64_t v = seg_read(c, SEG_SS, sp, i->opsz);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | ((sp + i->opsz) & c->spmask);
    wr_reg(c, R_EBP, i->opsz, v);
}

void op_movsxd(struct cpu *c, const struct insn *i)
{
    uint64_t v = rd_E(c, i, 4);
    wr_reg(c, i->reg, i->opsz, i->opsz == 8 ? sext(v, 4) : v);
}

/* ---- multiply ---- */

static void mul_flags(struct cpu *c, bool cf_of, uint64_t res, unsigned sz)
{
    /* CF=OF as defined; SF/ZF/PF from the low result like hardware commonly
     * does (architecturally undefined), AF clear: exactly what the lazy
     * CC_SHIFT form computes, so nothing is materialised here. */
    c->cc_op = CC_SHIFT;
    c->cc_sz = sz;
    c->cc_res = res & szmask(sz);
    c->cc_cin = cf_of ? RFLAGS_CF | RFLAGS_OF : 0;
}

static uint64_t imul_sz(struct cpu *c, uint64_t a, uint64_t b, unsigned sz)
{
    __int128 p = (__int128)(int64_t)sext(a, sz) * (int64_t)sext(b, sz);
    uint64_t r = (uint64_t)p & szmask(sz);
    bool ov = p != (__int128)(int64_t)sext(r, sz);
    mul_flags(c, ov, r, sz);
    return r;
}
void op_imul_GEI(struct cpu *c, const struct insn *i)
{
    uint64_t a = rd_E(c, i, i->opsz);
    wr_reg(c, i->reg, i->opsz, imul_sz(c, a, i->imm, i->opsz));
}
void op_imul_GE(struct cpu *c, const struct insn *i)
{
    uint64_t a = rd_E(c, i, i->opsz);
    uint64_t b = rd_reg(c, i->reg, i->opsz);
    wr_reg(c, i->reg, i->opsz, imul_sz(c, a, b, i->opsz));
}
void op_mul(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t b = rd_E(c, i, sz);
    uint64_t a = rd_reg(c, R_EAX, sz);
    unsigned __int128 p = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)p & szmask(sz), hi;
    if (sz == 1) {
        hi = (uint64_t)(p >> 8) & 0xff;
        wr_reg(c, R_EAX, 2, (uint64_t)p & 0xffff);
    } else {
        hi = (uint64_t)(p >> (sz * 8)) & szmask(sz);
        wr_reg(c, R_EAX, sz, lo);
        wr_reg(c, R_EDX, sz, hi);
    }
    mul_flags(c, hi != 0, lo, sz);
}
void op_imul1(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    int64_t b = (int64_t)sext(rd_E(c, i, sz), sz);
    int64_t a = (int64_t)sext(rd_reg(c, R_EAX, sz), sz);
    __int128 p = (__int128)a * b;
    uint64_t lo = (uint64_t)p & szmask(sz);
    bool ov = p != (__int128)(int64_t)sext(lo, sz);
    if (sz == 1) {
        wr_reg(c, R_EAX, 2, (uint64_t)p & 0xffff);
    } else {
        wr_reg(c, R_EAX, sz, lo);
        wr_reg(c, R_EDX, sz, (uint64_t)(p >> (sz * 8)) & szmask(sz));
    }
    mul_flags(c, ov, lo, sz);
}
void op_div(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t d = rd_E(c, i, sz);
    if (d == 0)
        cpu_raise(c, EXC_DE, false, 0);
    if (sz == 1) {
        uint32_t n = (uint32_t)rd_reg(c, R_EAX, 2);
        uint32_t q = n / (uint32_t)d, r = n % (uint32_t)d;
        if (q > 0xff)
            cpu_raise(c, EXC_DE, false, 0);
        wr_reg(c, R_EAX, 2, (r << 8) | q);
        return;
    }
    unsigned __int128 n = ((unsigned __int128)rd_reg(c, R_EDX, sz) << (sz * 8)) | rd_reg(c, R_EAX, sz);
    unsigned __int128 q = n / d;
    uint64_t r = (uint64_t)(n % d);
    if (q > szmask(sz))
        cpu_raise(c, EXC_DE, false, 0);
    wr_reg(c, R_EAX, sz, (uint64_t)q);
    wr_reg(c, R_EDX, sz, r);
}
void op_idiv(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    int64_t d = (int64_t)sext(rd_E(c, i, sz), sz);
    if (d == 0)
        cpu_raise(c, EXC_DE, false, 0);
    if (sz == 1) {
        int32_t n = (int16_t)rd_reg(c, R_EAX, 2);
        int32_t q = n / d, r = n % d;
        if (q > 127 || q < -128)
            cpu_raise(c, EXC_DE, false, 0);
        wr_reg(c, R_EAX, 2, ((uint32_t)(r & 0xff) << 8) | (q & 0xff));
        return;
    }
    __int128 n;
    if (sz == 8)
        n = (__int128)(((unsigned __int128)c->gpr[R_EDX] << 64) | c->gpr[R_EAX]);
    else
        /* DX:AX is a 32-bit signed dividend: sign-extend it (EDX:EAX
         * already fills the 64 bits). */
        n = (int64_t)sext((rd_reg(c, R_EDX, sz) << (sz * 8)) | rd_reg(c, R_EAX, sz), sz * 2);
    if (sz == 8 && d == -1 && (unsigned __int128)n == ((unsigned __int128)1 << 127))
        cpu_raise(c, EXC_DE, false, 0);
    __int128 q = n / d, r = n % d;
    __int128 lim = (__int128)1 << (sz * 8 - 1);
    if (q >= lim || q < -lim)
        cpu_raise(c, EXC_DE, false, 0);
    wr_reg(c, R_EAX, sz, (uint64_t)q & szmask(sz));
    wr_reg(c, R_EDX, sz, (uint64_t)r & szmask(sz));
}

/* ---- TEST, NOT, NEG ---- */

void op_test_EG(struct cpu *c, const struct insn *i)
{
    uint64_t r = rd_E(c, i, i->opsz) & rd_reg(c, i->reg, i->opsz);
    cc_set(c, CC_LOGIC, i->opsz, 0, 0, r);
}
void op_test_AI(struct cpu *c, const struct insn *i)
{
    uint64_t r = rd_reg(c, R_EAX, i->opsz) & i->imm;
    cc_set(c, CC_LOGIC, i->opsz, 0, 0, r & szmask(i->opsz));
}
void op_test_EI(struct cpu *c, const struct insn *i)
{
    uint64_t r = rd_E(c, i, i->opsz) & i->imm;
    cc_set(c, CC_LOGIC, i->opsz, 0, 0, r & szmask(i->opsz));
}
void op_not(struct cpu *c, const struct insn *i)
{
    if (i->mod3) {
        wr_reg(c, i->rm, i->opsz, ~rd_reg(c, i->rm, i->opsz));
        return;
    }
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), i->opsz, true);
    mem_write(c, lin, i->opsz, ~mem_read(c, lin, i->opsz));
}
void op_neg(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    if (i->mod3) {
        uint64_t a = rd_reg(c, i->rm, sz);
        wr_reg(c, i->rm, sz, ALU_OP_sub(0, a, sz));
        return;
    }
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, true);
    uint64_t a = mem_read(c, lin, sz);
    mem_write(c, lin, sz, 0 - a);
    cc_set(c, CC_SUB, sz, 0, a, 0 - a);
}

/* ---- moves ---- */

void op_xchg_EG(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t b = rd_reg(c, i->reg, sz);
    if (i->mod3) {
        uint64_t a = rd_reg(c, i->rm, sz);
        wr_reg(c, i->rm, sz, b);
        wr_reg(c, i->reg, sz, a);
        return;
    }
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, true);
    uint64_t a = mem_read(c, lin, sz);
    mem_write(c, lin, sz, b);
    wr_reg(c, i->reg, sz, a);
}
void op_xchg_rA(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    if (i->reg == R_EAX) {
        /* 90: NOP (and PAUSE); in 64-bit mode XCHG EAX,EAX must not zero-extend. */
        return;
    }
    uint64_t a = rd_reg(c, R_EAX, sz), b = rd_reg(c, i->reg, sz);
    wr_reg(c, R_EAX, sz, b);
    wr_reg(c, i->reg, sz, a);
}
void op_nop(struct cpu *c, const struct insn *i)
{
    (void)c; (void)i;
}
void op_mov_EG(struct cpu *c, const struct insn *i)
{
    wr_E(c, i, i->opsz, rd_reg(c, i->reg, i->opsz));
}
void op_mov_GE(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, rd_E(c, i, i->opsz));
}
void op_mov_EI(struct cpu *c, const struct insn *i)
{
    wr_E(c, i, i->opsz, i->imm);
}
void op_mov_rI(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, i->imm);
}
void op_mov_AO(struct cpu *c, const struct insn *i)
{
    wr_reg(c, R_EAX, i->opsz, seg_read(c, i->seg, i->imm & szmask(i->adsz), i->opsz));
}
void op_mov_OA(struct cpu *c, const struct insn *i)
{
    seg_write(c, i->seg, i->imm & szmask(i->adsz), i->opsz, rd_reg(c, R_EAX, i->opsz));
}
void op_lea(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, insn_ea(c, i));
}
/* BOUND (62 /r, memory only, not in 64-bit mode): #BR, a fault, when the
 * signed index is outside [lower, upper] (SDM vol. 2, BOUND). */
void op_bound(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz;
    uint64_t ea = insn_ea(c, i);
    int64_t lo = (int64_t)sext(seg_read(c, i->seg, ea, sz), sz);
    int64_t hi = (int64_t)sext(seg_read(c, i->seg, (ea + sz) & szmask(i->adsz), sz), sz);
    int64_t idx = (int64_t)sext(rd_reg(c, i->reg, sz), sz);
    if (idx < lo || idx > hi)
        cpu_raise(c, EXC_BR, false, 0);
}
void op_cbw(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz;
    wr_reg(c, R_EAX, sz, sext(rd_reg(c, R_EAX, sz / 2), sz / 2));
}
void op_cwd(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz;
    uint64_t a = rd_reg(c, R_EAX, sz);
    wr_reg(c, R_EDX, sz, (a >> (sz * 8 - 1)) & 1 ? ~0ULL : 0);
}
void op_sahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint64_t ah = (c->gpr[R_EAX] >> 8) & 0xff;
    set_eflags(c, ah, RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF);
}
void op_lahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint64_t f = get_eflags(c) & 0xff;
    wr_reg(c, REG_AH, 1, (f & 0xd5) | 2);
}
void op_movzx8(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, rd_E(c, i, 1));
}
void op_movzx16(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, rd_E(c, i, 2));
}
void op_movsx8(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, sext(rd_E(c, i, 1), 1));
}
void op_movsx16(struct cpu *c, const struct insn *i)
{
    wr_reg(c, i->reg, i->opsz, sext(rd_E(c, i, 2), 2));
}
void op_cmovcc(struct cpu *c, const struct insn *i)
{
    uint64_t v = rd_E(c, i, i->opsz);       /* the source is read (and may fault) either way */
    if (cc_cond(c, i->op & 15))
        wr_reg(c, i->reg, i->opsz, v);
    else if (i->opsz == 4)
        wr_reg(c, i->reg, 4, rd_reg(c, i->reg, 4));   /* 32-bit dest is zero-extended anyway */
}
void op_setcc(struct cpu *c, const struct insn *i)
{
    wr_E(c, i, 1, cc_cond(c, i->op & 15));
}
void op_bswap(struct cpu *c, const struct insn *i)
{
    if (i->opsz == 8)
        c->gpr[i->reg] = __builtin_bswap64(c->gpr[i->reg]);
    else if (i->opsz == 4)
        c->gpr[i->reg] = __builtin_bswap32((uint32_t)c->gpr[i->reg]);
    else
        wr_reg(c, i->reg, 2, 0);    /* undefined; hardware gives 0 */
}
void op_movbe(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz;
    if (i->op == 0x2f0) {
        uint64_t v = rd_E(c, i, sz);
        v = sz == 2 ? __builtin_bswap16((uint16_t)v) : sz == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap64(v);
        wr_reg(c, i->reg, sz, v);
    } else {
        uint64_t v = rd_reg(c, i->reg, sz);
        v = sz == 2 ? __builtin_bswap16((uint16_t)v) : sz == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap64(v);
        wr_E(c, i, sz, v);
    }
}

/* ---- shifts and rotates (flags eager; SDM vol. 2, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR) ---- */

/* Shifts leave SF ZF PF to the result (computed lazily) and CF/OF given. */
static inline void cc_shift(struct cpu *c, unsigned sz, uint64_t r, uint32_t cfof)
{
    c->cc_op = CC_SHIFT;
    c->cc_sz = sz;
    c->cc_res = r;
    c->cc_cin = cfof;
}

static unsigned shift_count(struct cpu *c, const struct insn *i)
{
    unsigned n = i->imm2 ? (unsigned)(c->gpr[R_ECX] & 0xff) : (unsigned)(i->imm & 0xff);
    return n & (i->opsz == 8 ? 63 : 31);
}

/* Reads the E operand for a read-modify-write; *lin set for memory. */
static uint64_t rmw_read(struct cpu *c, const struct insn *i, unsigned sz, uint64_t *lin)
{
    if (i->mod3)
        return rd_reg(c, i->rm, sz);
    *lin = seg_lin(c, i->seg, insn_ea(c, i), sz, true);
    return mem_read(c, *lin, sz);
}
static void rmw_write(struct cpu *c, const struct insn *i, unsigned sz, uint64_t lin, uint64_t v)
{
    if (i->mod3)
        wr_reg(c, i->rm, sz, v);
    else
        mem_write(c, lin, sz, v);
}

static uint32_t szp_flags(uint64_t r, unsigned sz)
{
    r &= szmask(sz);
    uint32_t f = parity_table[r & 0xff];
    if (r == 0) f |= RFLAGS_ZF;
    if (r >> (sz * 8 - 1)) f |= RFLAGS_SF;
    return f;
}

void op_shl(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    uint64_t r = (n >= 64 ? 0 : a << n) & szmask(sz);
    bool cf = n <= bits ? (a >> (bits - n)) & 1 : 0;
    uint32_t f = cf ? RFLAGS_CF : 0;
    if (cf ^ ((r >> (bits - 1)) & 1)) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    cc_shift(c, sz, r, f);
}
void op_shr(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    uint64_t r = n >= 64 ? 0 : a >> n;
    bool cf = n <= bits ? (a >> (n - 1)) & 1 : 0;
    uint32_t f = cf ? RFLAGS_CF : 0;
    if ((a >> (bits - 1)) & 1) f |= RFLAGS_OF;     /* OF = MSB of original (count 1) */
    rmw_write(c, i, sz, lin, r);
    cc_shift(c, sz, r, f);
}
void op_sar(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    int64_t s = (int64_t)sext(a, sz);
    uint64_t r = (uint64_t)(s >> (n > 63 ? 63 : n)) & szmask(sz);
    bool cf = (s >> (n - 1 > 63 ? 63 : n - 1)) & 1;
    uint32_t f = cf ? RFLAGS_CF : 0;
    rmw_write(c, i, sz, lin, r);
    cc_shift(c, sz, r, f);
}
void op_rol(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    unsigned k = n % bits;
    uint64_t r = k ? ((a << k) | (a >> (bits - k))) & szmask(sz) : a;
    flags_materialize(c);
    uint64_t f = c->eflags & ~(uint64_t)(RFLAGS_CF | RFLAGS_OF);
    bool cf = r & 1;
    if (cf) f |= RFLAGS_CF;
    if (cf ^ ((r >> (bits - 1)) & 1)) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    c->eflags = f;
}
void op_ror(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    unsigned k = n % bits;
    uint64_t r = k ? ((a >> k) | (a << (bits - k))) & szmask(sz) : a;
    flags_materialize(c);
    uint64_t f = c->eflags & ~(uint64_t)(RFLAGS_CF | RFLAGS_OF);
    bool msb = (r >> (bits - 1)) & 1, msb2 = (r >> (bits - 2)) & 1;
    if (msb) f |= RFLAGS_CF;
    if (msb ^ msb2) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    c->eflags = f;
}
void op_rcl(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (sz < 4)
        n %= bits + 1;
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    flags_materialize(c);
    uint64_t cf = c->eflags & RFLAGS_CF;
    uint64_t r = a;
    for (unsigned k = 0; k < n; k++) {
        uint64_t out = (r >> (bits - 1)) & 1;
        r = ((r << 1) | cf) & szmask(sz);
        cf = out;
    }
    uint64_t f = c->eflags & ~(uint64_t)(RFLAGS_CF | RFLAGS_OF);
    if (cf) f |= RFLAGS_CF;
    if (cf ^ ((r >> (bits - 1)) & 1)) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    c->eflags = f;
}
void op_rcr(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (sz < 4)
        n %= bits + 1;
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    flags_materialize(c);
    uint64_t cf = c->eflags & RFLAGS_CF;
    uint64_t f = c->eflags & ~(uint64_t)(RFLAGS_CF | RFLAGS_OF);
    /* OF (count 1) = MSB(dest) XOR CF before the rotate. */
    if (((a >> (bits - 1)) & 1) ^ cf) f |= RFLAGS_OF;
    uint64_t r = a;
    for (unsigned k = 0; k < n; k++) {
        uint64_t out = r & 1;
        r = (r >> 1) | (cf << (bits - 1));
        cf = out;
    }
    if (cf) f |= RFLAGS_CF;
    rmw_write(c, i, sz, lin, r & szmask(sz));
    c->eflags = f;
}
void op_shld(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    uint64_t b = rd_reg(c, i->reg, sz);
    unsigned __int128 w = ((unsigned __int128)a << bits) | b;
    uint64_t r;
    bool cf;
    if (n > bits) {     /* undefined for 16-bit counts > 16: do what the wide shift gives */
        r = (uint64_t)((w << (n - bits)) >> bits) & szmask(sz);
        cf = (b >> (2 * bits - n)) & 1;
    } else {
        r = (uint64_t)((w << n) >> bits) & szmask(sz);
        cf = (a >> (bits - n)) & 1;
    }
    uint32_t f = cf ? RFLAGS_CF : 0;
    if (((r ^ a) >> (bits - 1)) & 1) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    cc_shift(c, sz, r, f);
}
void op_shrd(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    unsigned n = shift_count(c, i);
    uint64_t lin = 0, a = rmw_read(c, i, sz, &lin);
    if (!n) { rmw_write(c, i, sz, lin, a); return; }
    uint64_t b = rd_reg(c, i->reg, sz);
    unsigned __int128 w = ((unsigned __int128)b << bits) | a;
    uint64_t r = (uint64_t)(w >> n) & szmask(sz);
    bool cf = (uint64_t)(w >> (n - 1)) & 1;
    uint32_t f = cf ? RFLAGS_CF : 0;
    if (((r ^ a) >> (bits - 1)) & 1) f |= RFLAGS_OF;
    rmw_write(c, i, sz, lin, r);
    cc_shift(c, sz, r, f);
}

/* ---- bit operations ---- */

/* kind: 0 BT, 1 BTS, 2 BTR, 3 BTC */
static void bt_common(struct cpu *c, const struct insn *i, int64_t bit, bool from_reg, int kind)
{
    const unsigned sz = i->opsz, bits = sz * 8;
    uint64_t lin = 0, v;
    unsigned pos;
    if (i->mod3) {
        pos = (unsigned)(bit & (bits - 1));
        v = rd_reg(c, i->rm, sz);
    } else {
        /* With a register offset the bit string extends beyond the operand
         * (signed offset, SDM vol. 2, BT). */
        int64_t off = 0;
        if (from_reg) {
            off = (bit >> (sz == 2 ? 4 : sz == 4 ? 5 : 6)) * (int64_t)sz;
            pos = (unsigned)(bit & (bits - 1));
        } else {
            pos = (unsigned)(bit & (bits - 1));
        }
        uint64_t ea = (insn_ea(c, i) + (uint64_t)off) & szmask(i->adsz);
        lin = seg_lin(c, i->seg, ea, sz, kind != 0);
        v = mem_read(c, lin, sz);
    }
    bool old = (v >> pos) & 1;
    flags_materialize(c);
    c->eflags = (c->eflags & ~(uint64_t)RFLAGS_CF) | (old ? RFLAGS_CF : 0);
    if (kind == 0)
        return;
    uint64_t m = 1ULL << pos;
    uint64_t nv = kind == 1 ? v | m : kind == 2 ? v & ~m : v ^ m;
    if (i->mod3)
        wr_reg(c, i->rm, sz, nv);
    else
        mem_write(c, lin, sz, nv);
}
void op_bt_G(struct cpu *c, const struct insn *i)
{
    int kind = i->op == 0x1a3 ? 0 : i->op == 0x1ab ? 1 : i->op == 0x1b3 ? 2 : 3;
    int64_t bit = (int64_t)sext(rd_reg(c, i->reg, i->opsz), i->opsz);
    bt_common(c, i, bit, true, kind);
}
void op_bt_I(struct cpu *c, const struct insn *i)
{
    /* grp8 /4../7: kind recovered from the ModRM reg field (saved in reg). */
    int kind = (i->reg & 7) - 4;
    bt_common(c, i, (int64_t)(i->imm & 0xff), false, kind);
}
void op_bsf(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t v = rd_E(c, i, sz);
    /* F3 0F BC is TZCNT only with BMI1, which we do not offer: BSF. */
    flags_materialize(c);
    if (v == 0) {
        set_arith(c, RFLAGS_ZF);
        return;     /* destination unchanged (as hardware does) */
    }
    wr_reg(c, i->reg, sz, (uint64_t)__builtin_ctzll(v));
    set_arith(c, 0);
}
void op_bsr(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t v = rd_E(c, i, sz);
    if (i->rep == 0xf3) {   /* LZCNT */
        uint64_t n = v ? (uint64_t)(__builtin_clzll(v) - (64 - sz * 8)) : sz * 8;
        wr_reg(c, i->reg, sz, n);
        set_arith(c, (v == 0 ? RFLAGS_CF : 0) | (n == 0 ? RFLAGS_ZF : 0));
        return;
    }
    if (v == 0) {
        set_arith(c, RFLAGS_ZF);
        return;
    }
    wr_reg(c, i->reg, sz, (uint64_t)(63 - __builtin_clzll(v)));
    set_arith(c, 0);
}
void op_popcnt(struct cpu *c, const struct insn *i)
{
    if (i->rep != 0xf3)
        raise_ud(c);
    uint64_t v = rd_E(c, i, i->opsz);
    wr_reg(c, i->reg, i->opsz, (uint64_t)__builtin_popcountll(v));
    set_arith(c, v == 0 ? RFLAGS_ZF : 0);
}

/* ---- exchange-and-compare ---- */

void op_cmpxchg(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t lin = 0, d = rmw_read(c, i, sz, &lin);
    uint64_t a = rd_reg(c, R_EAX, sz);
    uint64_t r = a - d;
    if (a == d) {
        rmw_write(c, i, sz, lin, rd_reg(c, i->reg, sz));
    } else {
        /* The destination is written back unchanged (locked cycle). */
        if (!i->mod3)
            mem_write(c, lin, sz, d);
        wr_reg(c, R_EAX, sz, d);
    }
    cc_set(c, CC_SUB, sz, a, d, r);
}
void op_xadd(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    uint64_t lin = 0, d = rmw_read(c, i, sz, &lin);
    uint64_t s = rd_reg(c, i->reg, sz);
    uint64_t r = d + s;
    rmw_write(c, i, sz, lin, r);
    wr_reg(c, i->reg, sz, d);
    cc_set(c, CC_ADD, sz, d, s, r);
}
/* RDRAND (0F C7 /6, register only; SDM vol. 2): the host's getrandom()
 * pool. CF=1 with a value; CF=0 and 0 if the pool could not answer at
 * once, which software must retry (as on hardware). Offering it lets Linux
 * seed its crng at boot without waiting for interrupt entropy. */
void op_rdrand(struct cpu *c, const struct insn *i)
{
    if (!i->mod3 || i->rep)
        raise_ud(c);        /* memory form; F3/F2 forms (RDPID is /7) */
    uint64_t v = 0;
    bool ok = getrandom(&v, i->opsz, GRND_NONBLOCK) == (ssize_t)i->opsz;
    if (!ok)
        v = 0;
    wr_reg(c, i->rm, i->opsz, v);
    set_arith(c, ok ? RFLAGS_CF : 0);
}

void op_cmpxchg8b(struct cpu *c, const struct insn *i)
{
    flags_materialize(c);
    if (i->opsz == 8) {     /* CMPXCHG16B: 16-byte aligned (SDM vol. 2) */
        uint64_t ea = insn_ea(c, i);
        uint64_t lin = seg_lin(c, i->seg, ea, 16, true);
        if (lin & 15)
            raise_gp(c, 0);
        uint64_t lo = mem_read(c, lin, 8), hi = mem_read(c, lin + 8, 8);
        if (lo == c->gpr[R_EAX] && hi == c->gpr[R_EDX]) {
            mem_write(c, lin, 8, c->gpr[R_EBX]);
            mem_write(c, lin + 8, 8, c->gpr[R_ECX]);
            c->eflags |= RFLAGS_ZF;
        } else {
            mem_write(c, lin, 8, lo);
            mem_write(c, lin + 8, 8, hi);
            c->gpr[R_EAX] = lo;
            c->gpr[R_EDX] = hi;
            c->eflags &= ~(uint64_t)RFLAGS_ZF;
        }
        return;
    }
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), 8, true);
    uint64_t v = mem_read(c, lin, 8);
    uint64_t cmp = ((uint64_t)(uint32_t)c->gpr[R_EDX] << 32) | (uint32_t)c->gpr[R_EAX];
    if (v == cmp) {
        mem_write(c, lin, 8, ((uint64_t)(uint32_t)c->gpr[R_ECX] << 32) | (uint32_t)c->gpr[R_EBX]);
        c->eflags |= RFLAGS_ZF;
    } else {
        mem_write(c, lin, 8, v);
        c->gpr[R_EAX] = (uint32_t)v;
        c->gpr[R_EDX] = v >> 32;
        c->eflags &= ~(uint64_t)RFLAGS_ZF;
    }
}

/* ---- BCD (SDM vol. 2, AAA/AAS/DAA/DAS/AAM/AAD) ---- */

void op_daa(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    uint8_t al = (uint8_t)c->gpr[R_EAX], old = al;
    bool cf = c->eflags & RFLAGS_CF, af = c->eflags & RFLAGS_AF, ncf = false;
    if ((al & 0xf) > 9 || af) {
        ncf = cf || al > 0xf9;
        al += 6;
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || cf) {
        al += 0x60;
        ncf = true;
    }
    wr_reg(c, R_EAX, 1, al);
    set_arith(c, szp_flags(al, 1) | (ncf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0));
}
void op_das(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    uint8_t al = (uint8_t)c->gpr[R_EAX], old = al;
    bool cf = c->eflags & RFLAGS_CF, af = c->eflags & RFLAGS_AF, ncf = false;
    if ((al & 0xf) > 9 || af) {
        ncf = cf || al < 6;
        al -= 6;
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || cf) {
        al -= 0x60;
        ncf = true;
    }
    wr_reg(c, R_EAX, 1, al);
    set_arith(c, szp_flags(al, 1) | (ncf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0));
}
void op_aaa(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    uint16_t ax = (uint16_t)c->gpr[R_EAX];
    uint32_t f = (uint32_t)c->eflags & FLAGS_ARITH & ~(uint32_t)(RFLAGS_CF | RFLAGS_AF);
    if ((ax & 0xf) > 9 || (c->eflags & RFLAGS_AF)) {
        ax = (uint16_t)(ax + 0x106);
        f |= RFLAGS_CF | RFLAGS_AF;
    }
    ax &= 0xff0f;
    wr_reg(c, R_EAX, 2, ax);
    set_arith(c, f);
}
void op_aas(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    uint16_t ax = (uint16_t)c->gpr[R_EAX];
    uint32_t f = (uint32_t)c->eflags & FLAGS_ARITH & ~(uint32_t)(RFLAGS_CF | RFLAGS_AF);
    if ((ax & 0xf) > 9 || (c->eflags & RFLAGS_AF)) {
        ax = (uint16_t)(ax - 6);
        ax = (uint16_t)(ax - 0x100);
        f |= RFLAGS_CF | RFLAGS_AF;
    }
    ax &= 0xff0f;
    wr_reg(c, R_EAX, 2, ax);
    set_arith(c, f);
}
void op_aam(struct cpu *c, const struct insn *i)
{
    uint8_t base = (uint8_t)i->imm;
    if (base == 0)
        cpu_raise(c, EXC_DE, false, 0);
    uint8_t al = (uint8_t)c->gpr[R_EAX];
    uint8_t ah = al / base;
    al = al % base;
    wr_reg(c, R_EAX, 2, ((uint16_t)ah << 8) | al);
    set_arith(c, szp_flags(al, 1));
}
void op_aad(struct cpu *c, const struct insn *i)
{
    uint8_t base = (uint8_t)i->imm;
    uint8_t al = (uint8_t)c->gpr[R_EAX], ah = (uint8_t)(c->gpr[R_EAX] >> 8);
    uint8_t r = (uint8_t)(al + ah * base);
    wr_reg(c, R_EAX, 2, r);
    set_arith(c, szp_flags(r, 1));
}
void op_salc(struct cpu *c, const struct insn *i)
{
    (void)i;
    wr_reg(c, R_EAX, 1, get_cf(c) ? 0xff : 0);
}
void op_xlat(struct cpu *c, const struct insn *i)
{
    uint64_t ea = (c->gpr[R_EBX] + (c->gpr[R_EAX] & 0xff)) & szmask(i->adsz);
    wr_reg(c, R_EAX, 1, seg_read(c, i->seg, ea, 1));
}

/* ---- flag bits ---- */

void op_cmc(struct cpu *c, const struct insn *i) { (void)i; flags_materialize(c); c->eflags ^= RFLAGS_CF; }
void op_clc(struct cpu *c, const struct insn *i) { (void)i; flags_materialize(c); c->eflags &= ~(uint64_t)RFLAGS_CF; }
void op_stc(struct cpu *c, const struct insn *i) { (void)i; flags_materialize(c); c->eflags |= RFLAGS_CF; }
void op_cld(struct cpu *c, const struct insn *i) { (void)i; c->eflags &= ~(uint64_t)RFLAGS_DF; }
void op_std(struct cpu *c, const struct insn *i) { (void)i; c->eflags |= RFLAGS_DF; }

/* ---- near control flow ---- */

static inline uint64_t ip_mask(const struct insn *i)
{
    return szmask(i->opsz);
}

#define JCC_HANDLER(n)                                                  \
void op_jcc##n(struct cpu *c, const struct insn *i)                     \
{                                                                       \
    if (cc_cond(c, n))                                                  \
        c->next_rip = (c->next_rip + i->imm) & ip_mask(i);              \
}
JCC_HANDLER(0) JCC_HANDLER(1) JCC_HANDLER(2) JCC_HANDLER(3) JCC_HANDLER(4) JCC_HANDLER(5)
JCC_HANDLER(6) JCC_HANDLER(7) JCC_HANDLER(8) JCC_HANDLER(9) JCC_HANDLER(10) JCC_HANDLER(11)
JCC_HANDLER(12) JCC_HANDLER(13) JCC_HANDLER(14) JCC_HANDLER(15)

void op_jmp_rel(struct cpu *c, const struct insn *i)
{
    c->next_rip = (c->next_rip + i->imm) & ip_mask(i);
}
void op_call_rel(struct cpu *c, const struct insn *i)
{
    push(c, i->opsz, c->next_rip & ip_mask(i));
    c->next_rip = (c->next_rip + i->imm) & ip_mask(i);
}
void op_jmp_E(struct cpu *c, const struct insn *i)
{
    c->next_rip = rd_E(c, i, i->opsz);
}
void op_call_E(struct cpu *c, const struct insn *i)
{
    uint64_t t = rd_E(c, i, i->opsz);
    push(c, i->opsz, c->next_rip & ip_mask(i));
    c->next_rip = t;
}
void op_ret_near(struct cpu *c, const struct insn *i)
{
    uint64_t t = pop(c, i->opsz);
    if (i->imm)
        c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | ((c->gpr[R_ESP] + i->imm) & c->spmask);
    c->next_rip = t;
}
void op_loop(struct cpu *c, const struct insn *i)
{
    uint64_t cx = (rd_reg(c, R_ECX, i->adsz) - 1) & szmask(i->adsz);
    wr_reg(c, R_ECX, i->adsz, cx);
    bool take = cx != 0;
    if (i->op == 0xe0)
        take = take && !cc_cond(c, 4);      /* LOOPNE: ZF=0 */
    else if (i->op == 0xe1)
        take = take && cc_cond(c, 4);       /* LOOPE: ZF=1 */
    if (take)
        c->next_rip = (c->next_rip + i->imm) & ip_mask(i);
}
void op_jcxz(struct cpu *c, const struct insn *i)
{
    if (rd_reg(c, R_ECX, i->adsz) == 0)
        c->next_rip = (c->next_rip + i->imm) & ip_mask(i);
}

/* ---- string instructions (SDM vol. 2, MOVS/CMPS/STOS/LODS/SCAS, REP) ----
 * A REP runs in chunks so interrupts and exit requests are seen: after
 * STR_CHUNK iterations RIP stays on the instruction and the block ends. */
#define STR_CHUNK 1024

static inline int64_t str_delta(const struct cpu *c, unsigned sz)
{
    return (c->eflags & RFLAGS_DF) ? -(int64_t)sz : (int64_t)sz;
}
static inline void adv(struct cpu *c, int r, unsigned adsz, int64_t d)
{
    wr_reg(c, r, adsz, (rd_reg(c, r, adsz) + (uint64_t)d) & szmask(adsz));
}

/* Runs body up to STR_CHUNK times honouring REP; returns after setting RIP. */
#define STRING_LOOP(cond_check, body)                                           \
    do {                                                                        \
        const unsigned asz = i->adsz;                                           \
        if (!i->rep) { body; break; }                                           \
        unsigned n_ = 0;                                                        \
        for (;;) {                                                              \
            if (rd_reg(c, R_ECX, asz) == 0) break;                              \
            body;                                                               \
            n_++;                                                               \
            wr_reg(c, R_ECX, asz, (rd_reg(c, R_ECX, asz) - 1) & szmask(asz));   \
            if (cond_check) break;                                              \
            if (n_ >= STR_CHUNK && rd_reg(c, R_ECX, asz) != 0) {                \
                c->next_rip = c->rip;                                           \
                end_block(c);                                                   \
                break;                                                          \
            }                                                                   \
        }                                                                       \
        /* Each iteration counts as an instruction (budgets, icount). */       \
        if (n_ > 1) c->icount += n_ - 1;                                        \
    } while (0)

/* REP MOVS/STOS forwards over RAM: as many elements as stay inside one
 * page on each side, through the soft TLB's host pointers, in one go.
 * Only where every element would take the fast path anyway (a TLB hit for
 * the access kind, so no fault, no MMIO, no code page) and within the
 * segment limits and the address-size wrap; whatever is left, or DF=1, goes
 * through the element loop, which faults and counts exactly. Returns the
 * elements done (each counts as an instruction, as in the loop). */
static uint64_t rep_host_ptr(struct cpu *c, int s, uint64_t ea, unsigned sz, bool write,
                             uint64_t n, unsigned asz, uint64_t *room)
{
    /* elements that fit the segment limit and the address size */
    int64_t lim = write ? c->slim_w[s] : c->slim_r[s];
    uint64_t amask = szmask(asz);
    if ((int64_t)ea > lim || ea + sz - 1 > amask)
        return 0;
    uint64_t fit = ((uint64_t)lim - ea + 1) / sz;
    uint64_t afit = (amask - ea + 1) / sz;
    if (n > fit) n = fit;
    if (n > afit) n = afit;
    uint64_t lin = (c->sbase[s] + ea) & c->lin_mask;
    struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
    if ((write ? e->tag_w : e->tag_r) != (lin & ~0xfffULL))
        return 0;
    uint64_t inpage = (0x1000 - (lin & 0xfff)) / sz;
    *room = n < inpage ? n : inpage;
    return e->addend + (uintptr_t)lin;
}

static uint64_t rep_fast(struct cpu *c, const struct insn *i, bool movs, uint64_t v)
{
    const unsigned sz = i->opsz, asz = i->adsz;
    if (!i->rep || (c->eflags & RFLAGS_DF))
        return 0;
    uint64_t n = rd_reg(c, R_ECX, asz);
    if (n < 2)
        return 0;
    uint64_t dn = 0, sn = 0;
    uint64_t dp = rep_host_ptr(c, SEG_ES, rd_reg(c, R_EDI, asz), sz, true, n, asz, &dn);
    if (!dp || !dn)
        return 0;
    n = dn;
    if (movs) {
        uint64_t sp = rep_host_ptr(c, i->seg, rd_reg(c, R_ESI, asz), sz, false, n, asz, &sn);
        if (!sp || !sn)
            return 0;
        n = sn < n ? sn : n;
        uint8_t *d = (uint8_t *)(uintptr_t)dp;
        const uint8_t *src = (const uint8_t *)(uintptr_t)sp;
        size_t len = (size_t)n * sz;
        if (d + len <= src || src + len <= d || d < src)
            memmove(d, src, len);       /* no overlap, or one a forward copy gets right */
        else
            for (uint64_t k = 0; k < n; k++) {  /* dst inside the source: element by element */
                uint64_t t;
                memcpy(&t, src + k * sz, sz);
                memcpy(d + k * sz, &t, sz);
            }
        wr_reg(c, R_ESI, asz, (rd_reg(c, R_ESI, asz) + n * sz) & szmask(asz));
    } else {
        uint8_t *d = (uint8_t *)(uintptr_t)dp;
        if (sz == 1) {
            memset(d, (int)(v & 0xff), (size_t)n);
        } else {
            for (uint64_t k = 0; k < n; k++)
                memcpy(d + k * sz, &v, sz);
        }
    }
    wr_reg(c, R_EDI, asz, (rd_reg(c, R_EDI, asz) + n * sz) & szmask(asz));
    wr_reg(c, R_ECX, asz, (rd_reg(c, R_ECX, asz) - n) & szmask(asz));
    /* the block counts the instruction once; each further element once */
    c->icount += n;
    if (rd_reg(c, R_ECX, asz) == 0)
        c->icount--;
    return n;
}

void op_movs(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    const int64_t d = str_delta(c, sz);
    if (rep_fast(c, i, true, 0) && rd_reg(c, R_ECX, i->adsz) == 0)
        return;
    STRING_LOOP(0, {
        uint64_t v = seg_read(c, i->seg, rd_reg(c, R_ESI, asz), sz);
        seg_write(c, SEG_ES, rd_reg(c, R_EDI, asz), sz, v);
        adv(c, R_ESI, asz, d);
        adv(c, R_EDI, asz, d);
    });
}
void op_stos(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    const int64_t d = str_delta(c, sz);
    const uint64_t v = rd_reg(c, R_EAX, sz);
    if (rep_fast(c, i, false, v) && rd_reg(c, R_ECX, i->adsz) == 0)
        return;
    STRING_LOOP(0, {
        seg_write(c, SEG_ES, rd_reg(c, R_EDI, asz), sz, v);
        adv(c, R_EDI, asz, d);
    });
}
void op_lods(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    const int64_t d = str_delta(c, sz);
    STRING_LOOP(0, {
        wr_reg(c, R_EAX, sz, seg_read(c, i->seg, rd_reg(c, R_ESI, asz), sz));
        adv(c, R_ESI, asz, d);
    });
}
void op_cmps(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    const int64_t d = str_delta(c, sz);
    STRING_LOOP((i->rep == 0xf3) != (c->cc_res == 0), {
        uint64_t a = seg_read(c, i->seg, rd_reg(c, R_ESI, asz), sz);
        uint64_t b = seg_read(c, SEG_ES, rd_reg(c, R_EDI, asz), sz);
        cc_set(c, CC_SUB, sz, a, b, (a - b) & szmask(sz));
        adv(c, R_ESI, asz, d);
        adv(c, R_EDI, asz, d);
    });
}
void op_scas(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->opsz;
    const int64_t d = str_delta(c, sz);
    const uint64_t a = rd_reg(c, R_EAX, sz);
    STRING_LOOP((i->rep == 0xf3) != (c->cc_res == 0), {
        uint64_t b = seg_read(c, SEG_ES, rd_reg(c, R_EDI, asz), sz);
        cc_set(c, CC_SUB, sz, a, b, (a - b) & szmask(sz));
        adv(c, R_EDI, asz, d);
    });
}

/* ---- size-specialised variants, chosen at decode time ----
 * The generic handlers switch on the operand size at run time; the hot
 * 32/64-bit register and memory forms get their own copies with the size
 * constant so the interpreter's common path has no size dispatch. */

#define ALU_SPEC_SZ(n, SZ)                                                        \
static void op_##n##_EG_r##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t a = rd_reg(c, i->rm, SZ), b = rd_reg(c, i->reg, SZ);                 \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) wr_reg(c, i->rm, SZ, r);                                      \
}                                                                                 \
static void op_##n##_EG_m##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), SZ, ALU_WB_##n);             \
    uint64_t a = mem_read(c, lin, SZ), b = rd_reg(c, i->reg, SZ);                 \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) mem_write(c, lin, SZ, r);                                     \
}                                                                                 \
static void op_##n##_GE_r##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t a = rd_reg(c, i->reg, SZ), b = rd_reg(c, i->rm, SZ);                 \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) wr_reg(c, i->reg, SZ, r);                                     \
}                                                                                 \
static void op_##n##_GE_m##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t b = seg_read(c, i->seg, insn_ea(c, i), SZ);                          \
    uint64_t a = rd_reg(c, i->reg, SZ);                                           \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) wr_reg(c, i->reg, SZ, r);                                     \
}                                                                                 \
static void op_##n##_EI_r##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t a = rd_reg(c, i->rm, SZ), b = i->imm & szmask(SZ);                   \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) wr_reg(c, i->rm, SZ, r);                                      \
}                                                                                 \
static void op_##n##_EI_m##SZ(struct cpu *c, const struct insn *i)               \
{                                                                                 \
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), SZ, ALU_WB_##n);             \
    uint64_t a = mem_read(c, lin, SZ), b = i->imm & szmask(SZ);                   \
    uint64_t r = ALU_OP_##n(a, b, SZ);                                            \
    if (ALU_WB_##n) mem_write(c, lin, SZ, r);                                     \
}
#define ALU_SPEC(n) ALU_SPEC_SZ(n, 1) ALU_SPEC_SZ(n, 4) ALU_SPEC_SZ(n, 8)
ALU_SPEC(add) ALU_SPEC(or) ALU_SPEC(adc) ALU_SPEC(sbb)
ALU_SPEC(and) ALU_SPEC(sub) ALU_SPEC(xor) ALU_SPEC(cmp)

#define MISC_SPEC_SZ(SZ)                                                          \
static void op_mov_EG_r##SZ(struct cpu *c, const struct insn *i)                 \
{ wr_reg(c, i->rm, SZ, rd_reg(c, i->reg, SZ)); }                                  \
static void op_mov_EG_m##SZ(struct cpu *c, const struct insn *i)                 \
{ seg_write(c, i->seg, insn_ea(c, i), SZ, rd_reg(c, i->reg, SZ)); }               \
static void op_mov_GE_r##SZ(struct cpu *c, const struct insn *i)                 \
{ wr_reg(c, i->reg, SZ, rd_reg(c, i->rm, SZ)); }                                  \
static void op_mov_GE_m##SZ(struct cpu *c, const struct insn *i)                 \
{ wr_reg(c, i->reg, SZ, seg_read(c, i->seg, insn_ea(c, i), SZ)); }                \
static void op_mov_EI_m##SZ(struct cpu *c, const struct insn *i)                 \
{ seg_write(c, i->seg, insn_ea(c, i), SZ, i->imm); }                              \
static void op_lea_m##SZ(struct cpu *c, const struct insn *i)                    \
{ wr_reg(c, i->reg, SZ, insn_ea(c, i)); }                                         \
static void op_test_EG_r##SZ(struct cpu *c, const struct insn *i)                \
{ cc_set(c, CC_LOGIC, SZ, 0, 0, rd_reg(c, i->rm, SZ) & rd_reg(c, i->reg, SZ)); }  \
static void op_inc_r##SZ(struct cpu *c, const struct insn *i)                    \
{ wr_reg(c, i->reg, SZ, do_inc(c, rd_reg(c, i->reg, SZ), SZ)); }                  \
static void op_dec_r##SZ(struct cpu *c, const struct insn *i)                    \
{ wr_reg(c, i->reg, SZ, do_dec(c, rd_reg(c, i->reg, SZ), SZ)); }                  \
static void op_inc_E_r##SZ(struct cpu *c, const struct insn *i)                  \
{ wr_reg(c, i->rm, SZ, do_inc(c, rd_reg(c, i->rm, SZ), SZ)); }                    \
static void op_dec_E_r##SZ(struct cpu *c, const struct insn *i)                  \
{ wr_reg(c, i->rm, SZ, do_dec(c, rd_reg(c, i->rm, SZ), SZ)); }                    \
static void op_push_r_##SZ(struct cpu *c, const struct insn *i)                  \
{ push(c, SZ, rd_reg(c, i->reg, SZ)); }                                           \
static void op_pop_r_##SZ(struct cpu *c, const struct insn *i)                   \
{ uint64_t v = pop(c, SZ); wr_reg(c, i->reg, SZ, v); }
MISC_SPEC_SZ(4) MISC_SPEC_SZ(8)
/* Register shifts (SHL/SHR/SAR r, imm/CL) with the size constant: the
 * same results and lazy flags as op_shl/op_shr/op_sar, no RMW dispatch. */
#define SHIFT_SPEC_SZ(SZ)                                                         \
static void op_shl_r##SZ(struct cpu *c, const struct insn *i)                    \
{                                                                                 \
    const unsigned bits = SZ * 8;                                                 \
    unsigned n = shift_count(c, i);                                               \
    uint64_t a = rd_reg(c, i->rm, SZ);                                            \
    if (!n) { wr_reg(c, i->rm, SZ, a); return; }                                  \
    uint64_t r = (a << n) & szmask(SZ);                                           \
    bool cf = (a >> (bits - n)) & 1;                                              \
    uint32_t f = cf ? RFLAGS_CF : 0;                                              \
    if (cf ^ ((r >> (bits - 1)) & 1)) f |= RFLAGS_OF;                             \
    wr_reg(c, i->rm, SZ, r);                                                      \
    cc_shift(c, SZ, r, f);                                                        \
}                                                                                 \
static void op_shr_r##SZ(struct cpu *c, const struct insn *i)                    \
{                                                                                 \
    const unsigned bits = SZ * 8;                                                 \
    unsigned n = shift_count(c, i);                                               \
    uint64_t a = rd_reg(c, i->rm, SZ);                                            \
    if (!n) { wr_reg(c, i->rm, SZ, a); return; }                                  \
    uint64_t r = a >> n;                                                          \
    uint32_t f = ((a >> (n - 1)) & 1) ? RFLAGS_CF : 0;                            \
    if ((a >> (bits - 1)) & 1) f |= RFLAGS_OF;                                    \
    wr_reg(c, i->rm, SZ, r);                                                      \
    cc_shift(c, SZ, r, f);                                                        \
}                                                                                 \
static void op_sar_r##SZ(struct cpu *c, const struct insn *i)                    \
{                                                                                 \
    unsigned n = shift_count(c, i);                                               \
    uint64_t a = rd_reg(c, i->rm, SZ);                                            \
    if (!n) { wr_reg(c, i->rm, SZ, a); return; }                                  \
    int64_t sv = (int64_t)sext(a, SZ);                                            \
    uint64_t r = (uint64_t)(sv >> n) & szmask(SZ);                                \
    uint32_t f = ((sv >> (n - 1)) & 1) ? RFLAGS_CF : 0;                           \
    wr_reg(c, i->rm, SZ, r);                                                      \
    cc_shift(c, SZ, r, f);                                                        \
}
SHIFT_SPEC_SZ(4) SHIFT_SPEC_SZ(8)

/* Byte moves are hot in userspace (gzip, md5, string code). */
static void op_mov_EG_r1(struct cpu *c, const struct insn *i) { wr_reg(c, i->rm, 1, rd_reg(c, i->reg, 1)); }
static void op_mov_EG_m1(struct cpu *c, const struct insn *i) { seg_write(c, i->seg, insn_ea(c, i), 1, rd_reg(c, i->reg, 1)); }
static void op_mov_GE_r1(struct cpu *c, const struct insn *i) { wr_reg(c, i->reg, 1, rd_reg(c, i->rm, 1)); }
static void op_mov_GE_m1(struct cpu *c, const struct insn *i) { wr_reg(c, i->reg, 1, seg_read(c, i->seg, insn_ea(c, i), 1)); }
static void op_mov_EI_m1(struct cpu *c, const struct insn *i) { seg_write(c, i->seg, insn_ea(c, i), 1, i->imm); }

#define EXT_SPEC(name, SSZ, SIGNED)                                               \
static void op_##name##_r4(struct cpu *c, const struct insn *i)                 \
{ uint64_t v = rd_reg(c, i->rm, SSZ); wr_reg(c, i->reg, 4, SIGNED ? sext(v, SSZ) : v); } \
static void op_##name##_r8(struct cpu *c, const struct insn *i)                 \
{ uint64_t v = rd_reg(c, i->rm, SSZ); wr_reg(c, i->reg, 8, SIGNED ? sext(v, SSZ) : v); } \
static void op_##name##_m4(struct cpu *c, const struct insn *i)                 \
{ uint64_t v = seg_read(c, i->seg, insn_ea(c, i), SSZ); wr_reg(c, i->reg, 4, SIGNED ? sext(v, SSZ) : v); } \
static void op_##name##_m8(struct cpu *c, const struct insn *i)                 \
{ uint64_t v = seg_read(c, i->seg, insn_ea(c, i), SSZ); wr_reg(c, i->reg, 8, SIGNED ? sext(v, SSZ) : v); }
EXT_SPEC(movzx8, 1, 0) EXT_SPEC(movzx16, 2, 0) EXT_SPEC(movsx8, 1, 1) EXT_SPEC(movsx16, 2, 1)

struct spec {
    insn_fn gen;
    insn_fn v[2][2];    /* [memory operand][64-bit] */
};
#define SP_ALU(n) \
    {op_##n##_EG, {{op_##n##_EG_r4, op_##n##_EG_r8}, {op_##n##_EG_m4, op_##n##_EG_m8}}}, \
    {op_##n##_GE, {{op_##n##_GE_r4, op_##n##_GE_r8}, {op_##n##_GE_m4, op_##n##_GE_m8}}}, \
    {op_##n##_EI, {{op_##n##_EI_r4, op_##n##_EI_r8}, {op_##n##_EI_m4, op_##n##_EI_m8}}}
static const struct spec specs[] = {
    SP_ALU(add), SP_ALU(or), SP_ALU(adc), SP_ALU(sbb), SP_ALU(and), SP_ALU(sub), SP_ALU(xor), SP_ALU(cmp),
    {op_mov_EG, {{op_mov_EG_r4, op_mov_EG_r8}, {op_mov_EG_m4, op_mov_EG_m8}}},
    {op_mov_GE, {{op_mov_GE_r4, op_mov_GE_r8}, {op_mov_GE_m4, op_mov_GE_m8}}},
    {op_mov_EI, {{op_mov_EI, op_mov_EI}, {op_mov_EI_m4, op_mov_EI_m8}}},
    {op_lea, {{op_lea, op_lea}, {op_lea_m4, op_lea_m8}}},
    {op_test_EG, {{op_test_EG_r4, op_test_EG_r8}, {op_test_EG, op_test_EG}}},
    {op_inc_r, {{op_inc_r4, op_inc_r8}, {op_inc_r4, op_inc_r8}}},
    {op_dec_r, {{op_dec_r4, op_dec_r8}, {op_dec_r4, op_dec_r8}}},
    {op_inc_E, {{op_inc_E_r4, op_inc_E_r8}, {op_inc_E, op_inc_E}}},
    {op_dec_E, {{op_dec_E_r4, op_dec_E_r8}, {op_dec_E, op_dec_E}}},
    {op_push_r, {{op_push_r_4, op_push_r_8}, {op_push_r_4, op_push_r_8}}},
    {op_pop_r, {{op_pop_r_4, op_pop_r_8}, {op_pop_r_4, op_pop_r_8}}},
    {op_movzx8, {{op_movzx8_r4, op_movzx8_r8}, {op_movzx8_m4, op_movzx8_m8}}},
    {op_movzx16, {{op_movzx16_r4, op_movzx16_r8}, {op_movzx16_m4, op_movzx16_m8}}},
    {op_movsx8, {{op_movsx8_r4, op_movsx8_r8}, {op_movsx8_m4, op_movsx8_m8}}},
    {op_movsx16, {{op_movsx16_r4, op_movsx16_r8}, {op_movsx16_m4, op_movsx16_m8}}},
    {op_shl, {{op_shl_r4, op_shl_r8}, {op_shl, op_shl}}},
    {op_shr, {{op_shr_r4, op_shr_r8}, {op_shr, op_shr}}},
    {op_sar, {{op_sar_r4, op_sar_r8}, {op_sar, op_sar}}},
};

#define SP1_ALU(n) \
    {op_##n##_EG, {op_##n##_EG_r1, op_##n##_EG_m1}}, \
    {op_##n##_GE, {op_##n##_GE_r1, op_##n##_GE_m1}}, \
    {op_##n##_EI, {op_##n##_EI_r1, op_##n##_EI_m1}}
static const struct spec1 {
    insn_fn gen;
    insn_fn v[2];       /* [memory operand] */
} specs1[] = {
    SP1_ALU(add), SP1_ALU(or), SP1_ALU(adc), SP1_ALU(sbb), SP1_ALU(and), SP1_ALU(sub), SP1_ALU(xor), SP1_ALU(cmp),
    {op_mov_EG, {op_mov_EG_r1, op_mov_EG_m1}},
    {op_mov_GE, {op_mov_GE_r1, op_mov_GE_m1}},
    {op_mov_EI, {op_mov_EI, op_mov_EI_m1}},
};

insn_fn ops_specialize(insn_fn fn, unsigned opsz, bool mem)
{
    if (opsz == 1) {
        for (size_t k = 0; k < sizeof(specs1) / sizeof(specs1[0]); k++)
            if (specs1[k].gen == fn)
                return specs1[k].v[mem];
        return fn;
    }
    if (opsz != 4 && opsz != 8)
        return fn;
    for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++)
        if (specs[k].gen == fn)
            return specs[k].v[mem][opsz == 8];
    return fn;
}

/* The table entry a specialised copy stands for (the JIT recognises
 * instructions by their generic handler and reads size and form from the
 * insn). Not on any hot path: translation only. */
insn_fn ops_generic(insn_fn fn)
{
    for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++)
        for (int m = 0; m < 2; m++)
            for (int w = 0; w < 2; w++)
                if (specs[k].v[m][w] == fn)
                    return specs[k].gen;
    for (size_t k = 0; k < sizeof(specs1) / sizeof(specs1[0]); k++)
        for (int m = 0; m < 2; m++)
            if (specs1[k].v[m] == fn)
                return specs1[k].gen;
    return fn;
}
