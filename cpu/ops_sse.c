/* MMX, SSE and SSE2 (SDM vol. 1 ch. 9-11, vol. 2): moves, shuffles,
 * bitwise logic, the integer sets (MMX = the same opcodes without the 66
 * prefix, on the x87 registers), floating point through cpu/sse_fp.c,
 * LDMXCSR/STMXCSR and FXSAVE/FXRSTOR. */
#include "cpu/cpu_int.h"

/* Availability (SDM vol. 3, 13.1/table 2-3): EM → #UD, OSFXSR clear → #UD,
 * TS → #NM. */
static inline void sse_check(struct cpu *c)
{
    if (unlikely((c->cr0 & CR0_EM) || !(c->cr4 & CR4_OSFXSR)))
        raise_ud(c);
    if (unlikely(c->cr0 & CR0_TS))
        cpu_raise(c, EXC_NM, false, 0);
}

static inline xmm_t *X(struct cpu *c, unsigned r) { return &c->xmm[r & 15]; }

static uint64_t sse_lin(struct cpu *c, const struct insn *i, unsigned sz, bool write, bool aligned)
{
    uint64_t lin = seg_lin(c, i->seg, insn_ea(c, i), sz, write);
    if (aligned && (lin & 15))
        raise_gp(c, 0);
    return lin;
}

/* 128-bit source (register or memory). */
static xmm_t src128(struct cpu *c, const struct insn *i, bool aligned)
{
    if (i->mod3)
        return *X(c, i->rm);
    xmm_t v;
    uint64_t lin = sse_lin(c, i, 16, false, aligned);
    v.q[0] = mem_read(c, lin, 8);
    v.q[1] = mem_read(c, (lin + 8) & c->lin_mask, 8);
    return v;
}
static void dst128(struct cpu *c, const struct insn *i, const xmm_t *v, bool aligned)
{
    if (i->mod3) {
        *X(c, i->rm) = *v;
        return;
    }
    uint64_t lin = sse_lin(c, i, 16, true, aligned);
    /* Probe the second half first so a fault leaves memory unchanged. */
    mem_write(c, (lin + 8) & c->lin_mask, 8, v->q[1]);
    mem_write(c, lin, 8, v->q[0]);
}

/* ---- moves ---- */

void op_movups_ld(struct cpu *c, const struct insn *i) { sse_check(c); *X(c, i->reg) = src128(c, i, false); }
void op_movaps_ld(struct cpu *c, const struct insn *i) { sse_check(c); *X(c, i->reg) = src128(c, i, true); }
void op_movups_st(struct cpu *c, const struct insn *i) { sse_check(c); dst128(c, i, X(c, i->reg), false); }
void op_movaps_st(struct cpu *c, const struct insn *i) { sse_check(c); dst128(c, i, X(c, i->reg), true); }
void op_movntps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3)
        raise_ud(c);
    dst128(c, i, X(c, i->reg), true);
}

void op_movss_ld(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3) {
        X(c, i->reg)->d[0] = X(c, i->rm)->d[0];
        return;
    }
    uint32_t v = (uint32_t)seg_read(c, i->seg, insn_ea(c, i), 4);
    xmm_t *d = X(c, i->reg);
    d->q[0] = v;
    d->q[1] = 0;
}
void op_movss_st(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3)
        X(c, i->rm)->d[0] = X(c, i->reg)->d[0];
    else
        seg_write(c, i->seg, insn_ea(c, i), 4, X(c, i->reg)->d[0]);
}
void op_movsd_ld(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3) {
        X(c, i->reg)->q[0] = X(c, i->rm)->q[0];
        return;
    }
    uint64_t v = seg_read(c, i->seg, insn_ea(c, i), 8);
    xmm_t *d = X(c, i->reg);
    d->q[0] = v;
    d->q[1] = 0;
}
void op_movsd_st(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3)
        X(c, i->rm)->q[0] = X(c, i->reg)->q[0];
    else
        seg_write(c, i->seg, insn_ea(c, i), 8, X(c, i->reg)->q[0]);
}
/* 0F 12: MOVLPS/MOVLPD xmm, m64; MOVHLPS xmm, xmm (no prefix, mod 3). */
void op_movlps_ld(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3) {
        if (i->pfx66)
            raise_ud(c);
        X(c, i->reg)->q[0] = X(c, i->rm)->q[1];
        return;
    }
    X(c, i->reg)->q[0] = seg_read(c, i->seg, insn_ea(c, i), 8);
}
void op_movlps_st(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3)
        raise_ud(c);
    seg_write(c, i->seg, insn_ea(c, i), 8, X(c, i->reg)->q[0]);
}
/* 0F 16: MOVHPS/MOVHPD xmm, m64; MOVLHPS xmm, xmm. */
void op_movhps_ld(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3) {
        if (i->pfx66)
            raise_ud(c);
        X(c, i->reg)->q[1] = X(c, i->rm)->q[0];
        return;
    }
    X(c, i->reg)->q[1] = seg_read(c, i->seg, insn_ea(c, i), 8);
}
void op_movhps_st(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3)
        raise_ud(c);
    seg_write(c, i->seg, insn_ea(c, i), 8, X(c, i->reg)->q[1]);
}
/* 66 0F 6E: MOVD/MOVQ xmm, r/m32/64 (zero-extended). */
void op_movd_x_E(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    uint64_t v = rd_E(c, i, sz);
    xmm_t *d = X(c, i->reg);
    d->q[0] = v;
    d->q[1] = 0;
}
/* 66 0F 7E: MOVD/MOVQ r/m32/64, xmm. */
void op_movd_E_x(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    wr_E(c, i, sz, X(c, i->reg)->q[0] & szmask(sz));
}
/* F3 0F 7E: MOVQ xmm, xmm/m64 (upper cleared). */
void op_movq_ld(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    uint64_t v = i->mod3 ? X(c, i->rm)->q[0] : seg_read(c, i->seg, insn_ea(c, i), 8);
    xmm_t *d = X(c, i->reg);
    d->q[0] = v;
    d->q[1] = 0;
}
/* 66 0F D6: MOVQ xmm/m64, xmm. */
void op_movq_st(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (i->mod3) {
        xmm_t *d = X(c, i->rm);
        d->q[0] = X(c, i->reg)->q[0];
        d->q[1] = 0;
    } else {
        seg_write(c, i->seg, insn_ea(c, i), 8, X(c, i->reg)->q[0]);
    }
}
void op_movnti(struct cpu *c, const struct insn *i)
{
    if (i->mod3)
        raise_ud(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    seg_write(c, i->seg, insn_ea(c, i), sz, rd_reg(c, i->reg, sz));
}
void op_movmskps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (!i->mod3)
        raise_ud(c);
    const xmm_t *s = X(c, i->rm);
    uint64_t m = 0;
    if (i->pfx66)
        m = (s->q[0] >> 63) | ((s->q[1] >> 63) << 1);
    else
        for (int k = 0; k < 4; k++)
            m |= (uint64_t)(s->d[k] >> 31) << k;
    wr_reg(c, i->reg, i->opsz == 8 ? 8 : 4, m);
}
void op_pmovmskb(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (!i->mod3)
        raise_ud(c);
    const xmm_t *s = X(c, i->rm);
    uint64_t m = 0;
    for (int k = 0; k < 16; k++)
        m |= (uint64_t)(s->b[k] >> 7) << k;
    wr_reg(c, i->reg, i->opsz == 8 ? 8 : 4, m);
}

/* ---- packed binary operations: d = d op s, lane by lane ---- */

/* MMX registers are the mantissas of the physical x87 registers; any MMX
 * instruction empties the stack top (TOP = 0) and tags all eight valid
 * (SDM vol. 1, 9.5); EMMS tags them empty. */
static inline void mmx_check(struct cpu *c)
{
    if (unlikely(c->cr0 & CR0_EM))
        raise_ud(c);
    if (unlikely(c->cr0 & CR0_TS))
        cpu_raise(c, EXC_NM, false, 0);
    if (unlikely(x87_pending(&c->x87) && (c->cr0 & CR0_NE)))
        cpu_raise(c, EXC_MF, false, 0);
}
static inline uint64_t mm_get(struct cpu *c, unsigned r) { return c->x87.st[r & 7].mant; }
static inline void mm_set(struct cpu *c, unsigned r, uint64_t v)
{
    c->x87.st[r & 7].mant = v;
    c->x87.st[r & 7].sexp = 0xffff;
    c->x87.fsw &= ~(7u << FSW_TOP_SHIFT);
    c->x87.ftw = 0;
}
static inline void mm_touch(struct cpu *c)
{
    c->x87.fsw &= ~(7u << FSW_TOP_SHIFT);
    c->x87.ftw = 0;
}
static uint64_t mm_src(struct cpu *c, const struct insn *i)
{
    return i->mod3 ? mm_get(c, i->rm) : seg_read(c, i->seg, insn_ea(c, i), 8);
}

static inline int16_t sat16(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }
static inline int8_t sat8(int32_t v) { return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v; }
static inline uint8_t satu8(int32_t v) { return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v; }
static inline uint16_t satu16(int32_t v) { return v > 65535 ? 65535 : v < 0 ? 0 : (uint16_t)v; }

/* Each packed op exists for XMM (66 prefix) and MMX (no prefix, half the
 * lanes); HALF is the index of the upper half for unpack-high and pack. */
#define PBIN(name, lanes, f, expr)                                      \
void op_##name(struct cpu *c, const struct insn *i)                     \
{                                                                       \
    sse_check(c);                                                       \
    xmm_t s = src128(c, i, true);                                       \
    xmm_t *dp = X(c, i->reg), d = *dp, r;                               \
    const int HALF = (lanes) / 2;                                       \
    (void)HALF;                                                         \
    for (int k = 0; k < lanes; k++)                                     \
        r.f[k] = (expr);                                                \
    *dp = r;                                                            \
}                                                                       \
void op_##name##_mmx(struct cpu *c, const struct insn *i)               \
{                                                                       \
    mmx_check(c);                                                       \
    xmm_t s, d, r;                                                      \
    s.q[0] = mm_src(c, i);                                              \
    d.q[0] = mm_get(c, i->reg);                                         \
    s.q[1] = d.q[1] = r.q[1] = 0;                                       \
    const int HALF = (lanes) / 4;                                       \
    (void)HALF;                                                         \
    for (int k = 0; k < (lanes) / 2; k++)                               \
        r.f[k] = (expr);                                                \
    mm_set(c, i->reg, r.q[0]);                                          \
}

PBIN(pand, 2, q, d.q[k] & s.q[k])
PBIN(pandn, 2, q, ~d.q[k] & s.q[k])
PBIN(por, 2, q, d.q[k] | s.q[k])
PBIN(pxor, 2, q, d.q[k] ^ s.q[k])
PBIN(paddb, 16, b, (uint8_t)(d.b[k] + s.b[k]))
PBIN(paddw, 8, w, (uint16_t)(d.w[k] + s.w[k]))
PBIN(paddd, 4, d, d.d[k] + s.d[k])
PBIN(paddq, 2, q, d.q[k] + s.q[k])
PBIN(psubb, 16, b, (uint8_t)(d.b[k] - s.b[k]))
PBIN(psubw, 8, w, (uint16_t)(d.w[k] - s.w[k]))
PBIN(psubd, 4, d, d.d[k] - s.d[k])
PBIN(psubq, 2, q, d.q[k] - s.q[k])
PBIN(paddsb, 16, sb, sat8(d.sb[k] + s.sb[k]))
PBIN(paddsw, 8, sw, sat16(d.sw[k] + s.sw[k]))
PBIN(psubsb, 16, sb, sat8(d.sb[k] - s.sb[k]))
PBIN(psubsw, 8, sw, sat16(d.sw[k] - s.sw[k]))
PBIN(paddusb, 16, b, satu8(d.b[k] + s.b[k]))
PBIN(paddusw, 8, w, satu16(d.w[k] + s.w[k]))
PBIN(psubusb, 16, b, satu8(d.b[k] - s.b[k]))
PBIN(psubusw, 8, w, satu16(d.w[k] - s.w[k]))
PBIN(pcmpeqb, 16, b, d.b[k] == s.b[k] ? 0xff : 0)
PBIN(pcmpeqw, 8, w, d.w[k] == s.w[k] ? 0xffff : 0)
PBIN(pcmpeqd, 4, d, d.d[k] == s.d[k] ? 0xffffffffu : 0)
PBIN(pcmpgtb, 16, b, d.sb[k] > s.sb[k] ? 0xff : 0)
PBIN(pcmpgtw, 8, w, d.sw[k] > s.sw[k] ? 0xffff : 0)
PBIN(pcmpgtd, 4, d, d.sd[k] > s.sd[k] ? 0xffffffffu : 0)
PBIN(pminub, 16, b, d.b[k] < s.b[k] ? d.b[k] : s.b[k])
PBIN(pmaxub, 16, b, d.b[k] > s.b[k] ? d.b[k] : s.b[k])
PBIN(pminsw, 8, sw, d.sw[k] < s.sw[k] ? d.sw[k] : s.sw[k])
PBIN(pmaxsw, 8, sw, d.sw[k] > s.sw[k] ? d.sw[k] : s.sw[k])
PBIN(pavgb, 16, b, (uint8_t)((d.b[k] + s.b[k] + 1) >> 1))
PBIN(pavgw, 8, w, (uint16_t)((d.w[k] + s.w[k] + 1) >> 1))
PBIN(pmullw, 8, w, (uint16_t)(d.sw[k] * s.sw[k]))
PBIN(pmulhw, 8, w, (uint16_t)((d.sw[k] * s.sw[k]) >> 16))
PBIN(pmulhuw, 8, w, (uint16_t)(((uint32_t)d.w[k] * s.w[k]) >> 16))
PBIN(pmuludq, 2, q, (uint64_t)d.d[2 * k] * s.d[2 * k])
PBIN(pmaddwd, 4, d, (uint32_t)((int64_t)d.sw[2 * k] * s.sw[2 * k] + (int64_t)d.sw[2 * k + 1] * s.sw[2 * k + 1]))
PBIN(punpcklbw, 16, b, (k & 1) ? s.b[k / 2] : d.b[k / 2])
PBIN(punpckhbw, 16, b, (k & 1) ? s.b[HALF + k / 2] : d.b[HALF + k / 2])
PBIN(punpcklwd, 8, w, (k & 1) ? s.w[k / 2] : d.w[k / 2])
PBIN(punpckhwd, 8, w, (k & 1) ? s.w[HALF + k / 2] : d.w[HALF + k / 2])
PBIN(punpckldq, 4, d, (k & 1) ? s.d[k / 2] : d.d[k / 2])
PBIN(punpckhdq, 4, d, (k & 1) ? s.d[HALF + k / 2] : d.d[HALF + k / 2])
PBIN(punpcklqdq, 2, q, k ? s.q[0] : d.q[0])
PBIN(punpckhqdq, 2, q, k ? s.q[1] : d.q[1])
PBIN(packsswb, 16, sb, k < HALF ? sat8(d.sw[k]) : sat8(s.sw[k - HALF]))
PBIN(packuswb, 16, b, k < HALF ? satu8(d.sw[k]) : satu8(s.sw[k - HALF]))
PBIN(packssdw, 8, sw, k < HALF ? sat16(d.sd[k]) : sat16(s.sd[k - HALF]))
/* ANDPS/ANDNPS/ORPS/XORPS and their PD forms use the same handlers (the
 * bits do not care about the lane type; all need 16-byte alignment). */

/* Never executed: marks SSE table entries whose handler the mandatory
 * prefix selects at decode time. */
void op_sse_marker(struct cpu *c, const struct insn *i) { (void)i; raise_ud(c); }

void op_psadbw(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true);
    xmm_t *d = X(c, i->reg);
    for (int h = 0; h < 2; h++) {
        unsigned sum = 0;
        for (int k = 0; k < 8; k++) {
            int diff = d->b[h * 8 + k] - s.b[h * 8 + k];
            sum += (unsigned)(diff < 0 ? -diff : diff);
        }
        d->q[h] = sum;
    }
}

void op_movdqu_ld(struct cpu *c, const struct insn *i) { sse_check(c); *X(c, i->reg) = src128(c, i, false); }

/* UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD (0F 14/15, 66 0F 14/15). */
void op_unpcklps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true), d = *X(c, i->reg), r;
    if (i->pfx66) {
        r.q[0] = d.q[0];
        r.q[1] = s.q[0];
    } else {
        r.d[0] = d.d[0]; r.d[1] = s.d[0]; r.d[2] = d.d[1]; r.d[3] = s.d[1];
    }
    *X(c, i->reg) = r;
}
void op_unpckhps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true), d = *X(c, i->reg), r;
    if (i->pfx66) {
        r.q[0] = d.q[1];
        r.q[1] = s.q[1];
    } else {
        r.d[0] = d.d[2]; r.d[1] = s.d[2]; r.d[2] = d.d[3]; r.d[3] = s.d[3];
    }
    *X(c, i->reg) = r;
}
/* SHUFPS/SHUFPD (0F C6 ib). */
void op_shufps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true), d = *X(c, i->reg), r;
    unsigned im = (unsigned)i->imm;
    if (i->pfx66) {
        r.q[0] = d.q[im & 1];
        r.q[1] = s.q[(im >> 1) & 1];
    } else {
        r.d[0] = d.d[im & 3];
        r.d[1] = d.d[(im >> 2) & 3];
        r.d[2] = s.d[(im >> 4) & 3];
        r.d[3] = s.d[(im >> 6) & 3];
    }
    *X(c, i->reg) = r;
}
/* PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2): 0F 70 ib. */
void op_pshufd(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true), r;
    unsigned im = (unsigned)i->imm;
    if (i->rep == 0xf3) {
        r.q[0] = s.q[0];
        for (int k = 0; k < 4; k++)
            r.w[4 + k] = s.w[4 + ((im >> (2 * k)) & 3)];
    } else if (i->rep == 0xf2) {
        r.q[1] = s.q[1];
        for (int k = 0; k < 4; k++)
            r.w[k] = s.w[(im >> (2 * k)) & 3];
    } else {
        for (int k = 0; k < 4; k++)
            r.d[k] = s.d[(im >> (2 * k)) & 3];
    }
    *X(c, i->reg) = r;
}
void op_pinsrw(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    uint16_t v = (uint16_t)(i->mod3 ? rd_reg(c, i->rm, 4) : seg_read(c, i->seg, insn_ea(c, i), 2));
    X(c, i->reg)->w[i->imm & 7] = v;
}
void op_pextrw(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (!i->mod3)
        raise_ud(c);
    wr_reg(c, i->reg, i->opsz == 8 ? 8 : 4, X(c, i->rm)->w[i->imm & 7]);
}

/* ---- shifts ---- */

static void shift_lanes(xmm_t *d, unsigned kind, unsigned lane_bits, uint64_t cnt)
{
    /* kind: 0 logical right, 1 arithmetic right, 2 left */
    switch (lane_bits) {
    case 16:
        for (int k = 0; k < 8; k++) {
            if (kind == 1) d->sw[k] = (int16_t)(d->sw[k] >> (cnt > 15 ? 15 : cnt));
            else if (cnt > 15) d->w[k] = 0;
            else d->w[k] = (uint16_t)(kind == 2 ? d->w[k] << cnt : d->w[k] >> cnt);
        }
        break;
    case 32:
        for (int k = 0; k < 4; k++) {
            if (kind == 1) d->sd[k] = d->sd[k] >> (cnt > 31 ? 31 : cnt);
            else if (cnt > 31) d->d[k] = 0;
            else d->d[k] = kind == 2 ? d->d[k] << cnt : d->d[k] >> cnt;
        }
        break;
    default:
        for (int k = 0; k < 2; k++) {
            if (cnt > 63) d->q[k] = 0;
            else d->q[k] = kind == 2 ? d->q[k] << cnt : d->q[k] >> cnt;
        }
        break;
    }
}
static void byte_shift(xmm_t *d, unsigned n, bool left)
{
    xmm_t r;
    memset(&r, 0, sizeof(r));
    if (n > 16)
        n = 16;
    for (unsigned k = 0; k < 16; k++) {
        if (left) { if (k >= n) r.b[k] = d->b[k - n]; }
        else if (k + n < 16) r.b[k] = d->b[k + n];
    }
    *d = r;
}
/* 66 0F 71/72/73 /r ib: shifts by immediate on the rm register. */
void op_pshift_imm(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (!i->mod3 || !i->pfx66)
        raise_ud(c);
    unsigned r = i->reg & 7;
    unsigned lane = i->op == 0x171 ? 16 : i->op == 0x172 ? 32 : 64;
    xmm_t *d = X(c, i->rm);
    uint64_t n = i->imm & 0xff;
    if (lane == 64 && r == 3) { byte_shift(d, (unsigned)n, false); return; }   /* PSRLDQ */
    if (lane == 64 && r == 7) { byte_shift(d, (unsigned)n, true); return; }    /* PSLLDQ */
    if (r == 2) shift_lanes(d, 0, lane, n);
    else if (r == 4 && lane != 64) shift_lanes(d, 1, lane, n);
    else if (r == 6) shift_lanes(d, 2, lane, n);
    else raise_ud(c);
}
/* 66 0F D1-D3, E1-E2, F1-F3: shifts by the low quadword of xmm/m128. */
void op_pshift_x(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true);
    unsigned lo = i->op & 0xf, hi = (i->op >> 4) & 0xf;
    unsigned lane = lo == 1 ? 16 : lo == 2 ? 32 : 64;
    unsigned kind = hi == 0xd ? 0 : hi == 0xe ? 1 : 2;
    shift_lanes(X(c, i->reg), kind, lane, s.q[0]);
}

/* MASKMOVDQU xmm1, xmm2: byte stores to DS:rDI where the mask byte's MSB is set. */
void op_maskmovdqu(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    if (!i->mod3)
        raise_ud(c);
    const xmm_t *v = X(c, i->reg), *m = X(c, i->rm);
    uint64_t base = rd_reg(c, R_EDI, i->adsz);
    for (int k = 0; k < 16; k++)
        if (m->b[k] & 0x80)
            seg_write(c, i->seg, (base + (uint64_t)k) & szmask(i->adsz), 1, v->b[k]);
}

/* ---- MXCSR, FXSAVE/FXRSTOR (SDM vol. 2, FXSAVE table 3-53) ---- */

#define MXCSR_MASK_SUPPORTED 0xffffu

void op_grp15(struct cpu *c, const struct insn *i)
{
    unsigned r = i->reg & 7;
    if (i->mod3) {
        if (r >= 5)
            return;     /* LFENCE/MFENCE/SFENCE: ordering is trivially kept */
        raise_ud(c);    /* RDFSBASE & co. (F3) are not offered */
    }
    switch (r) {
    case 0: case 1: {       /* FXSAVE / FXRSTOR */
        if (c->cr0 & (CR0_EM))
            raise_ud(c);
        if (c->cr0 & CR0_TS)
            cpu_raise(c, EXC_NM, false, 0);
        uint64_t lin = sse_lin(c, i, 512, r == 0, true);
        bool rex_w = i->opsz == 8;
        if (r == 0) {
            uint8_t img[160];
            x87_fxsave(&c->x87, c->mxcsr, MXCSR_MASK_SUPPORTED, rex_w, img);
            /* Probe the last byte so a fault leaves the image untouched. */
            mem_write(c, (lin + 511) & c->lin_mask, 1, mem_read(c, (lin + 511) & c->lin_mask, 1));
            for (unsigned o = 0; o < 160; o += 8) {
                uint64_t q;
                memcpy(&q, img + o, 8);
                mem_write(c, lin + o, 8, q);
            }
            unsigned nx = is_64(c) ? 16 : 8;
            if (c->cr4 & CR4_OSFXSR) {
                for (unsigned k = 0; k < nx; k++) {
                    mem_write(c, lin + 160 + 16 * k, 8, c->xmm[k].q[0]);
                    mem_write(c, lin + 168 + 16 * k, 8, c->xmm[k].q[1]);
                }
            }
        } else {
            uint8_t img[160];
            for (unsigned o = 0; o < 160; o += 8) {
                uint64_t q = mem_read(c, lin + o, 8);
                memcpy(img + o, &q, 8);
            }
            struct x87_state nx87 = c->x87;
            uint32_t mx = c->mxcsr;
            if (!x87_fxrstor(&nx87, &mx, MXCSR_MASK_SUPPORTED, rex_w, img))
                raise_gp(c, 0);
            xmm_t nxmm[16];
            memcpy(nxmm, c->xmm, sizeof(nxmm));
            if (c->cr4 & CR4_OSFXSR) {
                unsigned n = is_64(c) ? 16 : 8;
                for (unsigned k = 0; k < n; k++) {
                    nxmm[k].q[0] = mem_read(c, lin + 160 + 16 * k, 8);
                    nxmm[k].q[1] = mem_read(c, lin + 168 + 16 * k, 8);
                }
            }
            c->x87 = nx87;
            c->mxcsr = mx;
            memcpy(c->xmm, nxmm, sizeof(nxmm));
        }
        return;
    }
    case 2: {               /* LDMXCSR */
        sse_check(c);
        uint32_t v = (uint32_t)seg_read(c, i->seg, insn_ea(c, i), 4);
        if (v & ~MXCSR_MASK_SUPPORTED)
            raise_gp(c, 0);
        c->mxcsr = v;
        return;
    }
    case 3:                 /* STMXCSR */
        sse_check(c);
        seg_write(c, i->seg, insn_ea(c, i), 4, c->mxcsr);
        return;
    case 7:                 /* CLFLUSH: caches are not modelled; check the access */
        seg_lin(c, i->seg, insn_ea(c, i), 1, false);
        return;
    default:
        raise_ud(c);
    }
}

/* ---- floating point (values computed by cpu/sse_fp.c) ----
 * Each instruction runs its lanes with a private MXCSR whose flags start
 * clear; if a raised flag is unmasked the flags are still recorded but the
 * destination is left alone and #XM (or #UD without CR4.OSXMMEXCPT) is
 * raised (SDM vol. 1, 11.5.1). */

static uint32_t fp_begin(struct cpu *c)
{
    sse_check(c);
    return c->mxcsr & ~MXCSR_FLAGS;
}
static void fp_end(struct cpu *c, uint32_t mx)
{
    uint32_t raised = mx & MXCSR_FLAGS;
    c->mxcsr |= raised;
    if (raised & ~(c->mxcsr >> 7) & MXCSR_FLAGS) {
        if (c->cr4 & CR4_OSXMMEXCPT)
            cpu_raise(c, EXC_XM, false, 0);
        raise_ud(c);
    }
}
/* Scalar sources: low 32/64 bits of xmm or m32/m64. */
static uint32_t src_f32(struct cpu *c, const struct insn *i)
{
    return i->mod3 ? X(c, i->rm)->d[0] : (uint32_t)seg_read(c, i->seg, insn_ea(c, i), 4);
}
static uint64_t src_f64(struct cpu *c, const struct insn *i)
{
    return i->mod3 ? X(c, i->rm)->q[0] : seg_read(c, i->seg, insn_ea(c, i), 8);
}

#define SSE_BIN(name, f32fn, f64fn)                                          \
void op_##name##ps(struct cpu *c, const struct insn *i)                      \
{                                                                            \
    uint32_t mx = fp_begin(c);                                               \
    xmm_t s = src128(c, i, true), r = *X(c, i->reg);                         \
    for (int k = 0; k < 4; k++)                                              \
        r.d[k] = f32fn(&mx, r.d[k], s.d[k]);                                 \
    fp_end(c, mx);                                                           \
    *X(c, i->reg) = r;                                                       \
}                                                                            \
void op_##name##pd(struct cpu *c, const struct insn *i)                      \
{                                                                            \
    uint32_t mx = fp_begin(c);                                               \
    xmm_t s = src128(c, i, true), r = *X(c, i->reg);                         \
    for (int k = 0; k < 2; k++)                                              \
        r.q[k] = f64fn(&mx, r.q[k], s.q[k]);                                 \
    fp_end(c, mx);                                                           \
    *X(c, i->reg) = r;                                                       \
}                                                                            \
void op_##name##ss(struct cpu *c, const struct insn *i)                      \
{                                                                            \
    uint32_t mx = fp_begin(c);                                               \
    uint32_t v = f32fn(&mx, X(c, i->reg)->d[0], src_f32(c, i));              \
    fp_end(c, mx);                                                           \
    X(c, i->reg)->d[0] = v;                                                  \
}                                                                            \
void op_##name##sd(struct cpu *c, const struct insn *i)                      \
{                                                                            \
    uint32_t mx = fp_begin(c);                                               \
    uint64_t v = f64fn(&mx, X(c, i->reg)->q[0], src_f64(c, i));              \
    fp_end(c, mx);                                                           \
    X(c, i->reg)->q[0] = v;                                                  \
}
SSE_BIN(add, sse_add_f32, sse_add_f64)
SSE_BIN(sub, sse_sub_f32, sse_sub_f64)
SSE_BIN(mul, sse_mul_f32, sse_mul_f64)
SSE_BIN(div, sse_div_f32, sse_div_f64)
SSE_BIN(min, sse_min_f32, sse_min_f64)
SSE_BIN(max, sse_max_f32, sse_max_f64)

void op_sqrtps(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    xmm_t s = src128(c, i, true), r;
    for (int k = 0; k < 4; k++)
        r.d[k] = sse_sqrt_f32(&mx, s.d[k]);
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
void op_sqrtpd(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    xmm_t s = src128(c, i, true), r;
    for (int k = 0; k < 2; k++)
        r.q[k] = sse_sqrt_f64(&mx, s.q[k]);
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
void op_sqrtss(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    uint32_t v = sse_sqrt_f32(&mx, src_f32(c, i));
    fp_end(c, mx);
    X(c, i->reg)->d[0] = v;
}
void op_sqrtsd(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    uint64_t v = sse_sqrt_f64(&mx, src_f64(c, i));
    fp_end(c, mx);
    X(c, i->reg)->q[0] = v;
}
void op_rsqrtps(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    xmm_t s = src128(c, i, true), r;
    for (int k = 0; k < 4; k++)
        r.d[k] = i->op == 0x152 ? sse_rsqrt_f32(s.d[k]) : sse_rcp_f32(s.d[k]);
    *X(c, i->reg) = r;
}
void op_rsqrtss(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    uint32_t s = src_f32(c, i);
    X(c, i->reg)->d[0] = i->op == 0x152 ? sse_rsqrt_f32(s) : sse_rcp_f32(s);
}

/* 0F 5A: CVTPS2PD, 66: CVTPD2PS, F3: CVTSS2SD, F2: CVTSD2SS. */
void op_cvtps2pd(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    uint64_t lo = i->mod3 ? X(c, i->rm)->q[0] : seg_read(c, i->seg, insn_ea(c, i), 8);
    xmm_t r;
    r.q[0] = sse_cvt_f32_f64(&mx, (uint32_t)lo);
    r.q[1] = sse_cvt_f32_f64(&mx, (uint32_t)(lo >> 32));
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
void op_cvtpd2ps(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    xmm_t s = src128(c, i, true), r;
    r.d[0] = sse_cvt_f64_f32(&mx, s.q[0]);
    r.d[1] = sse_cvt_f64_f32(&mx, s.q[1]);
    r.q[1] = 0;
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
void op_cvtss2sd(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    uint64_t v = sse_cvt_f32_f64(&mx, src_f32(c, i));
    fp_end(c, mx);
    X(c, i->reg)->q[0] = v;
}
void op_cvtsd2ss(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    uint32_t v = sse_cvt_f64_f32(&mx, src_f64(c, i));
    fp_end(c, mx);
    X(c, i->reg)->d[0] = v;
}
/* 0F 5B: CVTDQ2PS, 66: CVTPS2DQ, F3: CVTTPS2DQ. */
void op_cvtdq2ps(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    xmm_t s = src128(c, i, true), r;
    for (int k = 0; k < 4; k++) {
        if (i->pfx66 || i->rep == 0xf3)
            r.sd[k] = sse_cvt_f32_i32(&mx, s.d[k], i->rep == 0xf3);
        else
            r.d[k] = sse_cvt_i32_f32(&mx, s.sd[k]);
    }
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
/* E6: 66 CVTTPD2DQ, F3 CVTDQ2PD, F2 CVTPD2DQ. */
void op_cvtpd2dq(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    xmm_t r;
    if (i->rep == 0xf3) {
        uint64_t lo = i->mod3 ? X(c, i->rm)->q[0] : seg_read(c, i->seg, insn_ea(c, i), 8);
        r.q[0] = sse_cvt_i32_f64(&mx, (int32_t)lo);
        r.q[1] = sse_cvt_i32_f64(&mx, (int32_t)(lo >> 32));
    } else {
        xmm_t s = src128(c, i, true);
        bool trunc = i->rep != 0xf2;
        r.sd[0] = sse_cvt_f64_i32(&mx, s.q[0], trunc);
        r.sd[1] = sse_cvt_f64_i32(&mx, s.q[1], trunc);
        r.q[1] = 0;
    }
    fp_end(c, mx);
    *X(c, i->reg) = r;
}
/* F3/F2 0F 2A: CVTSI2SS/SD from r/m32 or r/m64 (REX.W). */
void op_cvtsi2ss(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    int64_t v = (int64_t)sext(rd_E(c, i, sz), sz);
    if (i->rep == 0xf3) {
        uint32_t r = sz == 8 ? sse_cvt_i64_f32(&mx, v) : sse_cvt_i32_f32(&mx, (int32_t)v);
        fp_end(c, mx);
        X(c, i->reg)->d[0] = r;
    } else {
        uint64_t r = sz == 8 ? sse_cvt_i64_f64(&mx, v) : sse_cvt_i32_f64(&mx, (int32_t)v);
        fp_end(c, mx);
        X(c, i->reg)->q[0] = r;
    }
}
/* F3/F2 0F 2C (truncating) and 2D: CVT(T)SS2SI / CVT(T)SD2SI. */
void op_cvtss2si(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    bool trunc = (i->op & 0xff) == 0x2c;
    unsigned sz = i->opsz == 8 ? 8 : 4;
    uint64_t r;
    if (i->rep == 0xf3) {
        uint32_t a = src_f32(c, i);
        r = sz == 8 ? (uint64_t)sse_cvt_f32_i64(&mx, a, trunc) : (uint32_t)sse_cvt_f32_i32(&mx, a, trunc);
    } else {
        uint64_t a = src_f64(c, i);
        r = sz == 8 ? (uint64_t)sse_cvt_f64_i64(&mx, a, trunc) : (uint32_t)sse_cvt_f64_i32(&mx, a, trunc);
    }
    fp_end(c, mx);
    wr_reg(c, i->reg, sz, r);
}
/* 0F 2E/2F: (U)COMISS, 66: (U)COMISD. */
void op_comiss(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    bool sig = (i->op & 0xff) == 0x2f;
    unsigned f;
    if (i->pfx66)
        f = sse_comi_f64(&mx, X(c, i->reg)->q[0], src_f64(c, i), sig);
    else
        f = sse_comi_f32(&mx, X(c, i->reg)->d[0], src_f32(c, i), sig);
    fp_end(c, mx);
    set_arith(c, f & (RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF));
}
/* 0F C2 ib: CMPPS, 66 CMPPD, F3 CMPSS, F2 CMPSD. */
void op_cmpps(struct cpu *c, const struct insn *i)
{
    uint32_t mx = fp_begin(c);
    unsigned pred = (unsigned)(i->imm & 7);
    xmm_t r = *X(c, i->reg);
    if (i->rep == 0xf3) {
        r.d[0] = sse_cmp_f32(&mx, r.d[0], src_f32(c, i), pred) ? ~0u : 0;
    } else if (i->rep == 0xf2) {
        r.q[0] = sse_cmp_f64(&mx, r.q[0], src_f64(c, i), pred) ? ~0ULL : 0;
    } else {
        xmm_t s = src128(c, i, true);
        if (i->pfx66)
            for (int k = 0; k < 2; k++)
                r.q[k] = sse_cmp_f64(&mx, r.q[k], s.q[k], pred) ? ~0ULL : 0;
        else
            for (int k = 0; k < 4; k++)
                r.d[k] = sse_cmp_f32(&mx, r.d[k], s.d[k], pred) ? ~0u : 0;
    }
    fp_end(c, mx);
    *X(c, i->reg) = r;
}

/* ---- MMX-only forms ---- */

void op_emms(struct cpu *c, const struct insn *i)
{
    (void)i;
    mmx_check(c);
    c->x87.ftw = 0xffff;
}
void op_movd_mm_E(struct cpu *c, const struct insn *i)         /* 0F 6E */
{
    mmx_check(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    mm_set(c, i->reg, rd_E(c, i, sz));
}
void op_movd_E_mm(struct cpu *c, const struct insn *i)         /* 0F 7E */
{
    mmx_check(c);
    unsigned sz = i->opsz == 8 ? 8 : 4;
    mm_touch(c);
    wr_E(c, i, sz, mm_get(c, i->reg) & szmask(sz));
}
void op_movq_mm_ld(struct cpu *c, const struct insn *i)        /* 0F 6F */
{
    mmx_check(c);
    mm_set(c, i->reg, mm_src(c, i));
}
void op_movq_mm_st(struct cpu *c, const struct insn *i)        /* 0F 7F, 0F E7 (MOVNTQ) */
{
    mmx_check(c);
    uint64_t v = mm_get(c, i->reg);
    if (i->mod3) {
        if ((i->op & 0xff) == 0xe7)
            raise_ud(c);
        mm_set(c, i->rm, v);
    } else {
        seg_write(c, i->seg, insn_ea(c, i), 8, v);
        mm_touch(c);
    }
}
void op_pshufw(struct cpu *c, const struct insn *i)            /* 0F 70 ib */
{
    mmx_check(c);
    xmm_t s, r;
    s.q[0] = mm_src(c, i);
    r.q[0] = 0;
    for (int k = 0; k < 4; k++)
        r.w[k] = s.w[(i->imm >> (2 * k)) & 3];
    mm_set(c, i->reg, r.q[0]);
}
void op_pshift_imm_mmx(struct cpu *c, const struct insn *i)    /* 0F 71-73 /r ib */
{
    mmx_check(c);
    if (!i->mod3)
        raise_ud(c);
    unsigned r = i->reg & 7;
    unsigned lane = i->op == 0x171 ? 16 : i->op == 0x172 ? 32 : 64;
    xmm_t d;
    d.q[0] = mm_get(c, i->rm);
    d.q[1] = 0;
    uint64_t n = i->imm & 0xff;
    if (r == 2) shift_lanes(&d, 0, lane, n);
    else if (r == 4 && lane != 64) shift_lanes(&d, 1, lane, n);
    else if (r == 6) shift_lanes(&d, 2, lane, n);
    else raise_ud(c);
    mm_set(c, i->rm, d.q[0]);
}
void op_pshift_mmx(struct cpu *c, const struct insn *i)        /* 0F D1-D3, E1-E2, F1-F3 */
{
    mmx_check(c);
    uint64_t cnt = mm_src(c, i);
    unsigned lo = i->op & 0xf, hi = (i->op >> 4) & 0xf;
    unsigned lane = lo == 1 ? 16 : lo == 2 ? 32 : 64;
    unsigned kind = hi == 0xd ? 0 : hi == 0xe ? 1 : 2;
    xmm_t d;
    d.q[0] = mm_get(c, i->reg);
    d.q[1] = 0;
    shift_lanes(&d, kind, lane, cnt);
    mm_set(c, i->reg, d.q[0]);
}
void op_pmovmskb_mmx(struct cpu *c, const struct insn *i)
{
    mmx_check(c);
    if (!i->mod3)
        raise_ud(c);
    uint64_t v = mm_get(c, i->rm), m = 0;
    for (int k = 0; k < 8; k++)
        m |= ((v >> (8 * k + 7)) & 1) << k;
    mm_touch(c);
    wr_reg(c, i->reg, i->opsz == 8 ? 8 : 4, m);
}
void op_psadbw_mmx(struct cpu *c, const struct insn *i)
{
    mmx_check(c);
    uint64_t a = mm_get(c, i->reg), b = mm_src(c, i);
    unsigned sum = 0;
    for (int k = 0; k < 8; k++) {
        int diff = (int)((a >> (8 * k)) & 0xff) - (int)((b >> (8 * k)) & 0xff);
        sum += (unsigned)(diff < 0 ? -diff : diff);
    }
    mm_set(c, i->reg, sum);
}
void op_pinsrw_mmx(struct cpu *c, const struct insn *i)
{
    mmx_check(c);
    uint16_t v = (uint16_t)(i->mod3 ? rd_reg(c, i->rm, 4) : seg_read(c, i->seg, insn_ea(c, i), 2));
    unsigned sh = (unsigned)(i->imm & 3) * 16;
    uint64_t m = mm_get(c, i->reg);
    mm_set(c, i->reg, (m & ~(0xffffULL << sh)) | ((uint64_t)v << sh));
}
void op_pextrw_mmx(struct cpu *c, const struct insn *i)
{
    mmx_check(c);
    if (!i->mod3)
        raise_ud(c);
    mm_touch(c);
    wr_reg(c, i->reg, i->opsz == 8 ? 8 : 4, (mm_get(c, i->rm) >> ((i->imm & 3) * 16)) & 0xffff);
}
void op_maskmovq(struct cpu *c, const struct insn *i)
{
    mmx_check(c);
    if (!i->mod3)
        raise_ud(c);
    uint64_t v = mm_get(c, i->reg), m = mm_get(c, i->rm);
    uint64_t base = rd_reg(c, R_EDI, i->adsz);
    for (int k = 0; k < 8; k++)
        if ((m >> (8 * k + 7)) & 1)
            seg_write(c, i->seg, (base + (uint64_t)k) & szmask(i->adsz), 1, (v >> (8 * k)) & 0xff);
    mm_touch(c);
}
/* F3 0F D6: MOVQ2DQ xmm, mm; F2 0F D6: MOVDQ2Q mm, xmm. */
void op_movq2dq(struct cpu *c, const struct insn *i)
{
    sse_check(c);
    mmx_check(c);
    if (!i->mod3)
        raise_ud(c);
    if (i->rep == 0xf3) {
        xmm_t *d = X(c, i->reg);
        d->q[0] = mm_get(c, i->rm);
        d->q[1] = 0;
        mm_touch(c);
    } else {
        mm_set(c, i->reg, X(c, i->rm)->q[0]);
    }
}
