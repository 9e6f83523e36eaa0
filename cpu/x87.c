/* x87 register stack and instruction-level semantics: see x87.h.
 * Stack faults: SDM vol. 1, 8.5.1.1; tags: 8.1.7; C1: 8.1.3.1. */
#include "cpu/x87.h"
#include <string.h>

static inline unsigned phys(const struct x87_state *s, unsigned i) { return (x87_top(s) + i) & 7; }
static inline unsigned ptag(const struct x87_state *s, unsigned p) { return (s->ftw >> (2 * p)) & 3; }
static inline void set_ptag(struct x87_state *s, unsigned p, unsigned t)
{
    s->ftw = (uint16_t)((s->ftw & ~(3u << (2 * p))) | (t << (2 * p)));
}
static inline void set_top(struct x87_state *s, unsigned top)
{
    s->fsw = (uint16_t)((s->fsw & ~(7u << FSW_TOP_SHIFT)) | ((top & 7) << FSW_TOP_SHIFT));
}

unsigned x87_top(const struct x87_state *s) { return (s->fsw >> FSW_TOP_SHIFT) & 7; }
unsigned x87_tag(const struct x87_state *s, unsigned i) { return ptag(s, phys(s, i & 7)); }
fp80 x87_st(const struct x87_state *s, unsigned i) { return s->st[phys(s, i & 7)]; }

uint16_t x87_tag_of(fp80 v)
{
    unsigned e = v.sexp & 0x7fff;
    if (e == 0) return v.mant ? X87_TAG_SPECIAL : X87_TAG_ZERO;
    if (e == 0x7fff || !(v.mant >> 63)) return X87_TAG_SPECIAL;
    return X87_TAG_VALID;
}

void x87_init(struct x87_state *s)
{
    fp80 keep[8];
    memcpy(keep, s->st, sizeof(keep));     /* FNINIT leaves the registers */
    memset(s, 0, sizeof(*s));
    memcpy(s->st, keep, sizeof(keep));
    s->fcw = FCW_RESET;
    s->ftw = 0xffff;
}

static void set_st(struct x87_state *s, unsigned i, fp80 v)
{
    unsigned p = phys(s, i & 7);
    s->st[p] = v;
    set_ptag(s, p, x87_tag_of(v));
}

static void pop(struct x87_state *s)
{
    set_ptag(s, phys(s, 0), X87_TAG_EMPTY);
    set_top(s, x87_top(s) + 1);
}

static void push(struct x87_state *s, fp80 v)
{
    set_top(s, x87_top(s) - 1);
    set_st(s, 0, v);
}

static inline bool masked(const struct x87_state *s, uint16_t exc) { return (s->fcw & exc) == exc; }

static void signal_unmasked(struct x87_state *s)
{
    if (s->fsw & ~s->fcw & 0x3f) s->fsw |= FSW_ES | FSW_B;
}

/* Record an operation's flags; C1 becomes its round-up bit.  Returns
 * false when an unmasked IE/DE/ZE forbids writing the result. */
static bool finish(struct x87_state *s, uint16_t flags)
{
    uint16_t exc = flags & 0x3f;
    /* An unmasked pre-computation exception (IE, DE, ZE) stops the
     * instruction before the result exists: no OE/UE/PE, no C1. */
    if (exc & ~s->fcw & (FSW_IE | FSW_DE | FSW_ZE)) {
        exc &= FSW_IE | FSW_DE | FSW_ZE;
        flags &= (uint16_t)~FP_C1;
    }
    s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | exc | ((flags & FP_C1) ? FSW_C1 : 0));
    signal_unmasked(s);
    return !(exc & ~s->fcw & (FSW_IE | FSW_DE | FSW_ZE));
}

static bool nonempty(const struct x87_state *s, unsigned i) { return x87_tag(s, i) != X87_TAG_EMPTY; }

/* Stack underflow (an operand register is empty): IE + SF, C1 = 0; the
 * masked response writes the indefinite to dst (if any) and pops. */
static void underflow(struct x87_state *s, int dst, bool do_pop)
{
    s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | FSW_IE | FSW_SF);
    if (masked(s, FSW_IE)) {
        if (dst >= 0) set_st(s, (unsigned)dst, fp80_indefinite());
        if (do_pop) pop(s);
    } else {
        signal_unmasked(s);
    }
}

/* Stack overflow (pushing onto a full register): IE + SF, C1 = 1; the
 * masked response pushes the indefinite.  Returns true if it happened. */
static bool overflow_check(struct x87_state *s)
{
    if (x87_tag(s, 7) == X87_TAG_EMPTY) return false;
    s->fsw |= FSW_IE | FSW_SF | FSW_C1;
    if (masked(s, FSW_IE)) push(s, fp80_indefinite());
    else signal_unmasked(s);
    return true;
}

static struct fp_ctx ctx(const struct x87_state *s) { return fp_ctx_from_fcw(s->fcw); }

/* ---- control ------------------------------------------------------------ */

void x87_fldcw(struct x87_state *s, uint16_t fcw)
{
    s->fcw = fcw | 0x0040;      /* bit 6 is reserved and reads as 1 */
    s->fsw &= (uint16_t)~(FSW_ES | FSW_B);
    signal_unmasked(s);
}

void x87_fclex(struct x87_state *s)
{
    s->fsw &= (uint16_t)~(0x3f | FSW_SF | FSW_ES | FSW_B);
}

/* ---- loads -------------------------------------------------------------- */

void x87_load(struct x87_state *s, fp80 v, uint16_t load_flags)
{
    if (overflow_check(s)) return;
    if (!finish(s, load_flags & ~FP_C1)) return;
    push(s, v);
}

void x87_load_st(struct x87_state *s, unsigned i)
{
    bool src_ok = nonempty(s, i);
    fp80 v = x87_st(s, i);
    /* An empty source is reported (C1 = 0) in preference to a full stack. */
    if (src_ok && overflow_check(s)) return;
    if (!src_ok) {
        s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | FSW_IE | FSW_SF);
        if (masked(s, FSW_IE)) push(s, fp80_indefinite());
        else signal_unmasked(s);
        return;
    }
    s->fsw &= (uint16_t)~FSW_C1;
    push(s, v);
}

void x87_load_const(struct x87_state *s, enum fp80_constant k)
{
    struct fp_ctx c = ctx(s);
    x87_load(s, fp80_const(&c, k), 0);
}

/* ---- arithmetic ----------------------------------------------------------- */

static fp80 binop(struct fp_ctx *c, enum x87_binop op, fp80 a, fp80 b)
{
    switch (op) {
    case X87_FADD:  return fp80_add(c, a, b);
    case X87_FMUL:  return fp80_mul(c, a, b);
    case X87_FSUB:  return fp80_sub(c, a, b);
    case X87_FSUBR: return fp80_sub(c, b, a);
    case X87_FDIV:  return fp80_div(c, a, b);
    default:        return fp80_div(c, b, a);
    }
}

void x87_binop_st(struct x87_state *s, enum x87_binop op, unsigned dst, unsigned src, bool do_pop)
{
    if (!nonempty(s, dst) || !nonempty(s, src)) { underflow(s, (int)dst, do_pop); return; }
    struct fp_ctx c = ctx(s);
    fp80 r = binop(&c, op, x87_st(s, dst), x87_st(s, src));
    if (!finish(s, c.flags)) return;
    set_st(s, dst, r);
    if (do_pop) pop(s);
}

/* A memory operand arrives converted: an SNaN already quieted (with IE in
 * load_flags), a denormal already normalized (with DE).  Undo that for
 * the operation's NaN rules: the SNaN loses to a QNaN in ST0, and a NaN
 * in either operand suppresses DE (observed, SDM vol. 1, 4.9.2). */
static fp80 mem_operand(fp80 st0, fp80 m, uint16_t *load_flags)
{
    if ((*load_flags & FP_IE) && fp80_is_nan(m)) {
        m.mant &= ~(1ull << 62);
        *load_flags &= (uint16_t)~FP_IE;
    }
    if (fp80_is_nan(st0) || fp80_is_unsupported(st0) || fp80_is_nan(m))
        *load_flags &= (uint16_t)~FP_DE;
    return m;
}

void x87_binop_mem(struct x87_state *s, enum x87_binop op, fp80 m, uint16_t load_flags)
{
    if (!nonempty(s, 0)) { underflow(s, 0, false); return; }
    m = mem_operand(x87_st(s, 0), m, &load_flags);
    struct fp_ctx c = ctx(s);
    fp80 r = binop(&c, op, x87_st(s, 0), m);
    /* A zero divisor reports ZE alone, even with a denormal dividend. */
    if (c.flags & FP_ZE) load_flags &= (uint16_t)~FP_DE;
    c.flags |= load_flags & 0x3f;
    if (!finish(s, c.flags)) return;
    set_st(s, 0, r);
}

void x87_unop(struct x87_state *s, enum x87_unop op)
{
    if (!nonempty(s, 0)) { underflow(s, 0, false); return; }
    fp80 a = x87_st(s, 0), r = a;
    struct fp_ctx c = ctx(s);
    c.precision = 64;
    switch (op) {
    case X87_FCHS: r.sexp ^= 0x8000; break;
    case X87_FABS: r.sexp &= 0x7fff; break;
    case X87_FSQRT: c.precision = ctx(s).precision; r = fp80_sqrt(&c, a); break;
    case X87_FRNDINT: r = fp80_round_int(&c, a); break;
    case X87_F2XM1: r = fp80_f2xm1(&c, a); break;
    case X87_FSIN:
    case X87_FCOS:
        if (!(op == X87_FSIN ? fp80_fsin(&c, a, &r) : fp80_fcos(&c, a, &r))) {
            /* |x| >= 2^63: C2 = 1, operand unchanged (SDM vol. 2, FSIN). */
            s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | FSW_C2);
            return;
        }
        s->fsw &= (uint16_t)~FSW_C2;
        break;
    }
    if (!finish(s, c.flags)) return;
    set_st(s, 0, r);
}

void x87_binop2(struct x87_state *s, enum x87_binop2 op)
{
    bool to_st1 = op == X87_FYL2X || op == X87_FYL2XP1 || op == X87_FPATAN;
    if (!nonempty(s, 0) || !nonempty(s, 1)) { underflow(s, to_st1 ? 1 : 0, to_st1); return; }
    fp80 a = x87_st(s, 0), b = x87_st(s, 1), r;
    struct fp_ctx c = ctx(s);
    c.precision = 64;
    uint16_t cc = 0;
    switch (op) {
    case X87_FPREM:
    case X87_FPREM1:
        r = fp80_rem(&c, a, b, op == X87_FPREM1, &cc);
        if (!finish(s, c.flags & ~FP_C1)) return;
        s->fsw = (uint16_t)((s->fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc);
        set_st(s, 0, r);
        return;
    case X87_FSCALE: r = fp80_scale(&c, a, b); break;
    case X87_FYL2X: r = fp80_fyl2x(&c, a, b); break;
    case X87_FYL2XP1: r = fp80_fyl2xp1(&c, a, b); break;
    default: r = fp80_fpatan(&c, a, b); break;
    }
    if (!finish(s, c.flags)) return;
    if (to_st1) { set_st(s, 1, r); pop(s); }
    else set_st(s, 0, r);
}

/* FPTAN, FSINCOS, FXTRACT with an empty ST0: the masked response leaves
 * the indefinite in ST0 and pushes a second one (observed). */
static void underflow_push(struct x87_state *s)
{
    underflow(s, 0, false);
    if (masked(s, FSW_IE)) push(s, fp80_indefinite());
}

/* FPTAN, FSINCOS, FXTRACT replace ST0 and push a second result. */
static void replace_and_push(struct x87_state *s, fp80 r0, fp80 pushed, uint16_t flags)
{
    if (x87_tag(s, 7) != X87_TAG_EMPTY) {
        /* Stack overflow, reported instead of the operation's own flags:
         * the masked response leaves the indefinite in ST0 and pushes
         * another (observed). */
        s->fsw |= FSW_IE | FSW_SF | FSW_C1;
        if (masked(s, FSW_IE)) {
            set_st(s, 0, fp80_indefinite());
            push(s, fp80_indefinite());
        } else {
            signal_unmasked(s);
        }
        return;
    }
    if (!finish(s, flags)) return;
    set_st(s, 0, r0);
    push(s, pushed);
}

void x87_fptan(struct x87_state *s)
{
    if (!nonempty(s, 0)) { underflow_push(s); return; }
    struct fp_ctx c = ctx(s);
    c.precision = 64;
    fp80 t, one;
    if (!fp80_fptan(&c, x87_st(s, 0), &t, &one)) {
        s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | FSW_C2);
        return;
    }
    s->fsw &= (uint16_t)~FSW_C2;
    replace_and_push(s, t, one, c.flags);
}

void x87_fsincos(struct x87_state *s)
{
    if (!nonempty(s, 0)) { underflow_push(s); return; }
    struct fp_ctx c = ctx(s);
    c.precision = 64;
    fp80 sn, cs;
    if (!fp80_fsincos(&c, x87_st(s, 0), &sn, &cs)) {
        s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | FSW_C2);
        return;
    }
    s->fsw &= (uint16_t)~FSW_C2;
    replace_and_push(s, sn, cs, c.flags);
}

void x87_fxtract(struct x87_state *s)
{
    if (!nonempty(s, 0)) { underflow_push(s); return; }
    struct fp_ctx c = ctx(s);
    fp80 e, m;
    fp80_xtract(&c, x87_st(s, 0), &e, &m);
    replace_and_push(s, e, m, c.flags);
}

/* ---- compares ------------------------------------------------------------- */

static void set_cc(struct x87_state *s, uint16_t cc)
{
    s->fsw = (uint16_t)((s->fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc);
}

static void compare_done(struct x87_state *s, enum fp_cmp r, uint16_t flags, unsigned pops)
{
    if (!finish(s, flags & ~FP_C1)) return;
    set_cc(s, fp_cmp_fsw(r));
    while (pops--) pop(s);
}

void x87_fcom_st(struct x87_state *s, unsigned i, bool quiet, unsigned pops)
{
    if (!nonempty(s, 0) || !nonempty(s, i)) {
        underflow(s, -1, false);
        if (masked(s, FSW_IE)) {
            set_cc(s, FSW_C3 | FSW_C2 | FSW_C0);
            while (pops--) pop(s);
        }
        return;
    }
    struct fp_ctx c = ctx(s);
    enum fp_cmp r = fp80_compare(&c, x87_st(s, 0), x87_st(s, i), quiet);
    compare_done(s, r, c.flags, pops);
}

void x87_fcom_mem(struct x87_state *s, fp80 m, uint16_t load_flags, bool do_pop)
{
    if (!nonempty(s, 0)) {
        underflow(s, -1, false);
        if (masked(s, FSW_IE)) {
            set_cc(s, FSW_C3 | FSW_C2 | FSW_C0);
            if (do_pop) pop(s);
        }
        return;
    }
    m = mem_operand(x87_st(s, 0), m, &load_flags);
    struct fp_ctx c = ctx(s);
    enum fp_cmp r = fp80_compare(&c, x87_st(s, 0), m, false);
    compare_done(s, r, c.flags | (load_flags & 0x3f), do_pop);
}

void x87_ftst(struct x87_state *s)
{
    x87_fcom_mem(s, fp80_make(false, 0, 0), 0, false);
}

void x87_fxam(struct x87_state *s)
{
    fp80 v = x87_st(s, 0);
    if (!nonempty(s, 0)) {
        /* Empty: C3 C2 C0 = 101; C1 still shows the stale sign. */
        set_cc(s, FSW_C3 | FSW_C0 | (fp80_sign(v) ? FSW_C1 : 0));
        return;
    }
    set_cc(s, fp80_xam(v));
}

unsigned x87_fcomi(struct x87_state *s, unsigned i, bool quiet, bool do_pop)
{
    const unsigned un = 0x45;   /* ZF PF CF */
    if (!nonempty(s, 0) || !nonempty(s, i)) {
        underflow(s, -1, false);
        if (masked(s, FSW_IE)) {
            if (do_pop) pop(s);
            return un;
        }
        return un;
    }
    struct fp_ctx c = ctx(s);
    enum fp_cmp r = fp80_compare(&c, x87_st(s, 0), x87_st(s, i), quiet);
    /* FCOMI leaves C1 alone (observed), unlike FCOM. */
    uint16_t c1 = s->fsw & FSW_C1;
    bool ok = finish(s, c.flags & ~FP_C1);
    s->fsw = (uint16_t)((s->fsw & ~FSW_C1) | c1);
    if (!ok) return un;
    if (do_pop) pop(s);
    switch (r) {
    case FP_CMP_LT: return 0x01;
    case FP_CMP_EQ: return 0x40;
    case FP_CMP_GT: return 0;
    default: return un;
    }
}

/* ---- stores ----------------------------------------------------------------- */

/* An unmasked overflow or underflow on a store to memory stores nothing
 * (only register destinations get the bias-adjusted value, SDM 8.5.4). */
static bool mem_trap(const struct x87_state *s, uint16_t *flags)
{
    if (!(*flags & ~s->fcw & (FSW_OE | FSW_UE))) return false;
    *flags &= (uint16_t)~(FP_PE | FP_C1);     /* nothing was rounded */
    return true;
}

/* Common frame: returns false if nothing may be written.  On stack
 * underflow with IE masked, *indef tells the caller to store the
 * format's indefinite. */
static bool store_begin(struct x87_state *s, bool do_pop, bool *indef)
{
    *indef = false;
    if (nonempty(s, 0)) return true;
    underflow(s, -1, false);
    if (!masked(s, FSW_IE)) return false;
    *indef = true;
    if (do_pop) pop(s);
    return true;
}

bool x87_store_f32(struct x87_state *s, bool do_pop, uint32_t *out)
{
    bool indef;
    if (!store_begin(s, do_pop, &indef)) return false;
    if (indef) { *out = 0xFFC00000u; return true; }
    struct fp_ctx c = ctx(s);
    uint32_t v = fp80_to_f32(&c, x87_st(s, 0));
    bool trap = mem_trap(s, &c.flags);
    if (!finish(s, c.flags) || trap) return false;
    *out = v;
    if (do_pop) pop(s);
    return true;
}

bool x87_store_f64(struct x87_state *s, bool do_pop, uint64_t *out)
{
    bool indef;
    if (!store_begin(s, do_pop, &indef)) return false;
    if (indef) { *out = 0xFFF8000000000000ull; return true; }
    struct fp_ctx c = ctx(s);
    uint64_t v = fp80_to_f64(&c, x87_st(s, 0));
    bool trap = mem_trap(s, &c.flags);
    if (!finish(s, c.flags) || trap) return false;
    *out = v;
    if (do_pop) pop(s);
    return true;
}

bool x87_store_f80(struct x87_state *s, bool do_pop, fp80 *out)
{
    bool indef;
    if (!store_begin(s, do_pop, &indef)) return false;
    if (indef) { *out = fp80_indefinite(); return true; }
    *out = x87_st(s, 0);
    s->fsw &= (uint16_t)~FSW_C1;
    if (do_pop) pop(s);
    return true;
}

bool x87_store_int(struct x87_state *s, unsigned bits, bool trunc, bool do_pop, int64_t *out)
{
    bool indef;
    int64_t v;
    if (!store_begin(s, do_pop, &indef)) return false;
    int64_t ind = bits == 16 ? INT16_MIN : bits == 32 ? INT32_MIN : INT64_MIN;
    if (indef) { *out = ind; return true; }
    struct fp_ctx c = ctx(s);
    fp80 a = x87_st(s, 0);
    v = bits == 16 ? fp80_to_i16(&c, a, trunc) : bits == 32 ? fp80_to_i32(&c, a, trunc)
                                                           : fp80_to_i64(&c, a, trunc);
    if (!finish(s, c.flags)) return false;
    *out = v;
    if (do_pop) pop(s);
    return true;
}

bool x87_store_bcd(struct x87_state *s, uint8_t out[10])
{
    bool indef;
    if (!store_begin(s, true, &indef)) return false;
    if (indef) {
        memset(out, 0, 10);
        out[7] = 0xC0; out[8] = 0xFF; out[9] = 0xFF;
        return true;
    }
    struct fp_ctx c = ctx(s);
    uint8_t v[10];
    fp80_to_bcd(&c, x87_st(s, 0), v);
    if (!finish(s, c.flags)) return false;
    memcpy(out, v, 10);
    pop(s);
    return true;
}

void x87_store_st(struct x87_state *s, unsigned i, bool do_pop)
{
    if (!nonempty(s, 0)) { underflow(s, (int)i, do_pop); return; }
    s->fsw &= (uint16_t)~FSW_C1;
    set_st(s, i, x87_st(s, 0));
    if (do_pop) pop(s);
}

/* ---- housekeeping --------------------------------------------------------------- */

void x87_fxch(struct x87_state *s, unsigned i)
{
    bool e0 = !nonempty(s, 0), ei = !nonempty(s, i);
    if (e0 || ei) {
        underflow(s, -1, false);
        if (!masked(s, FSW_IE)) return;
        if (e0) set_st(s, 0, fp80_indefinite());
        if (ei) set_st(s, i, fp80_indefinite());
    } else {
        s->fsw &= (uint16_t)~FSW_C1;
    }
    unsigned p0 = phys(s, 0), pi = phys(s, i);
    fp80 t = s->st[p0];
    unsigned tg = ptag(s, p0);
    s->st[p0] = s->st[pi];
    set_ptag(s, p0, ptag(s, pi));
    s->st[pi] = t;
    set_ptag(s, pi, tg);
}

void x87_fcmov(struct x87_state *s, unsigned i, bool cond)
{
    if (!nonempty(s, i) || !nonempty(s, 0)) { underflow(s, 0, false); return; }
    /* C1 is left alone when nothing faults (observed). */
    if (cond) set_st(s, 0, x87_st(s, i));
}

void x87_ffree(struct x87_state *s, unsigned i)
{
    s->fsw &= (uint16_t)~FSW_C1;
    set_ptag(s, phys(s, i), X87_TAG_EMPTY);
}

void x87_fincstp(struct x87_state *s)
{
    s->fsw &= (uint16_t)~FSW_C1;
    set_top(s, x87_top(s) + 1);
}

void x87_fdecstp(struct x87_state *s)
{
    s->fsw &= (uint16_t)~FSW_C1;
    set_top(s, x87_top(s) - 1);
}

/* ---- images ------------------------------------------------------------------------ */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The tag word as FSTENV/FSAVE store it: recomputed from the registers
 * for the non-empty ones (SDM vol. 1, 8.1.7). */
static uint16_t full_tags(const struct x87_state *s)
{
    uint16_t t = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned tg = ptag(s, p) == X87_TAG_EMPTY ? X87_TAG_EMPTY : x87_tag_of(s->st[p]);
        t |= (uint16_t)(tg << (2 * p));
    }
    return t;
}

static void load_tags(struct x87_state *s, uint16_t ftw)
{
    for (unsigned p = 0; p < 8; p++) {
        unsigned tg = (ftw >> (2 * p)) & 3;
        set_ptag(s, p, tg == X87_TAG_EMPTY ? X87_TAG_EMPTY : x87_tag_of(s->st[p]));
    }
}

unsigned x87_env_size(bool op32) { return op32 ? 28 : 14; }

static void store_env(const struct x87_state *s, bool op32, bool real_mode, uint8_t *o)
{
    uint16_t ftw = full_tags(s);
    uint32_t fip = (uint32_t)s->fip, fdp = (uint32_t)s->fdp;
    if (op32) {
        /* Unused upper halves read as ones on Intel and AMD parts. */
        put32(o + 0, 0xffff0000u | s->fcw);
        put32(o + 4, 0xffff0000u | s->fsw);
        put32(o + 8, 0xffff0000u | ftw);
        if (real_mode) {
            put32(o + 12, 0xffff0000u | (fip & 0xffff));
            put32(o + 16, ((fip >> 16) << 12) | (s->fop & 0x7ffu));
            put32(o + 20, 0xffff0000u | (fdp & 0xffff));
            put32(o + 24, (fdp >> 16) << 12);
        } else {
            put32(o + 12, fip);
            put32(o + 16, s->fcs | (uint32_t)(s->fop & 0x7ffu) << 16);
            put32(o + 20, fdp);
            put32(o + 24, 0xffff0000u | s->fds);
        }
    } else {
        put16(o + 0, s->fcw);
        put16(o + 2, s->fsw);
        put16(o + 4, ftw);
        if (real_mode) {
            put16(o + 6, fip);
            put16(o + 8, ((fip >> 16) & 0xf) << 12 | (s->fop & 0x7ffu));
            put16(o + 10, fdp);
            put16(o + 12, ((fdp >> 16) & 0xf) << 12);
        } else {
            put16(o + 6, fip);
            put16(o + 8, s->fcs);
            put16(o + 10, fdp);
            put16(o + 12, s->fds);
        }
    }
}

void x87_fstenv(struct x87_state *s, bool op32, bool real_mode, uint8_t *out)
{
    store_env(s, op32, real_mode, out);
    s->fcw |= 0x3f;     /* FNSTENV then masks every exception */
}

void x87_fldenv(struct x87_state *s, bool op32, bool real_mode, const uint8_t *in)
{
    if (op32) {
        s->fcw = get16(in + 0);
        s->fsw = get16(in + 4);
        load_tags(s, get16(in + 8));
        if (real_mode) {
            s->fip = get16(in + 12) | (uint64_t)(get32(in + 16) >> 12 & 0xffff) << 16;
            s->fop = get16(in + 16) & 0x7ff;
            s->fdp = get16(in + 20) | (uint64_t)(get32(in + 24) >> 12 & 0xffff) << 16;
        } else {
            s->fip = get32(in + 12);
            s->fcs = get16(in + 16);
            s->fop = get16(in + 18) & 0x7ff;
            s->fdp = get32(in + 20);
            s->fds = get16(in + 24);
        }
    } else {
        s->fcw = get16(in + 0);
        s->fsw = get16(in + 2);
        load_tags(s, get16(in + 4));
        if (real_mode) {
            s->fip = get16(in + 6) | (uint64_t)(get16(in + 8) >> 12) << 16;
            s->fop = get16(in + 8) & 0x7ff;
            s->fdp = get16(in + 10) | (uint64_t)(get16(in + 12) >> 12) << 16;
        } else {
            s->fip = get16(in + 6);
            s->fcs = get16(in + 8);
            s->fdp = get16(in + 10);
            s->fds = get16(in + 12);
        }
    }
    s->fcw |= 0x0040;
}

void x87_fsave(struct x87_state *s, bool op32, bool real_mode, uint8_t *out)
{
    store_env(s, op32, real_mode, out);
    uint8_t *r = out + x87_env_size(op32);
    for (unsigned i = 0; i < 8; i++) {
        fp80 v = x87_st(s, i);
        put64(r + 10 * i, v.mant);
        put16(r + 10 * i + 8, v.sexp);
    }
    x87_init(s);
}

void x87_frstor(struct x87_state *s, bool op32, bool real_mode, const uint8_t *in)
{
    const uint8_t *r = in + x87_env_size(op32);
    /* Registers first: the tags are recomputed from them. */
    uint16_t fsw = op32 ? get16(in + 4) : get16(in + 2);
    unsigned top = (fsw >> FSW_TOP_SHIFT) & 7;
    for (unsigned i = 0; i < 8; i++)
        s->st[(top + i) & 7] = (fp80){ .mant = get64(r + 10 * i), .sexp = get16(r + 10 * i + 8) };
    x87_fldenv(s, op32, real_mode, in);
}

void x87_fxsave(const struct x87_state *s, uint32_t mxcsr, uint32_t mxcsr_mask, bool rex_w,
                uint8_t img[160])
{
    memset(img, 0, 160);
    put16(img + 0, s->fcw);
    put16(img + 2, s->fsw);
    uint8_t abridged = 0;
    for (unsigned p = 0; p < 8; p++)
        if (ptag(s, p) != X87_TAG_EMPTY) abridged |= (uint8_t)(1u << p);
    img[4] = abridged;
    put16(img + 6, s->fop & 0x7ff);
    if (rex_w) {
        put64(img + 8, s->fip);
        put64(img + 16, s->fdp);
    } else {
        put32(img + 8, (uint32_t)s->fip);
        put16(img + 12, s->fcs);
        put32(img + 16, (uint32_t)s->fdp);
        put16(img + 20, s->fds);
    }
    put32(img + 24, mxcsr);
    put32(img + 28, mxcsr_mask);
    for (unsigned i = 0; i < 8; i++) {
        fp80 v = x87_st(s, i);
        put64(img + 32 + 16 * i, v.mant);
        put16(img + 40 + 16 * i, v.sexp);
    }
}

bool x87_fxrstor(struct x87_state *s, uint32_t *mxcsr, uint32_t mxcsr_mask, bool rex_w,
                 const uint8_t img[160])
{
    uint32_t m = get32(img + 24);
    if (m & ~mxcsr_mask) return false;     /* #GP(0), SDM vol. 2, FXRSTOR */
    *mxcsr = m;
    s->fcw = get16(img + 0) | 0x0040;
    s->fsw = get16(img + 2);
    s->fop = get16(img + 6) & 0x7ff;
    if (rex_w) {
        s->fip = get64(img + 8);
        s->fdp = get64(img + 16);
    } else {
        s->fip = get32(img + 8);
        s->fcs = get16(img + 12);
        s->fdp = get32(img + 16);
        s->fds = get16(img + 20);
    }
    unsigned top = x87_top(s);
    for (unsigned i = 0; i < 8; i++)
        s->st[(top + i) & 7] = (fp80){ .mant = get64(img + 32 + 16 * i), .sexp = get16(img + 40 + 16 * i) };
    uint8_t abridged = img[4];
    for (unsigned p = 0; p < 8; p++)
        set_ptag(s, p, (abridged >> p) & 1 ? x87_tag_of(s->st[p]) : X87_TAG_EMPTY);
    return true;
}
