/* SSE/SSE2 float helpers: see sse_fp.h.
 *
 * Every operation has an integer soft-float path (the reference) built on
 * fp80.c's rounding core.  The arithmetic operations also have a fast path
 * taken only when both operands are normal, MXCSR.RC is round-to-nearest
 * and the host result is normal: the host's IEEE round-to-nearest result
 * is then exactly the x86 result, and inexactness (PE, the only possible
 * flag) is decided from an exact error term (TwoSum, fma residual), not
 * from host exception flags.  No host NaN, denormal, FTZ/DAZ or rounding
 * state is ever relied on, so x86-64 and ARM64 hosts agree bit for bit. */
#include "cpu/sse_fp.h"
#include "cpu/fp80.h"
#include <math.h>
#include <string.h>

typedef unsigned __int128 u128;

struct fmt { int ebits, fbits; };
static const struct fmt F32 = { 8, 23 }, F64 = { 11, 52 };

enum cls { K_ZERO, K_NORMAL, K_DENORMAL, K_INF, K_QNAN, K_SNAN };

struct unp {
    enum cls k;
    bool sign;
    int32_t exp;    /* value = sig * 2^(exp - 63) */
    uint64_t sig;   /* normalized (bit 63) for finite nonzero */
};

static inline int32_t bias_of(const struct fmt *f) { return (1 << (f->ebits - 1)) - 1; }
static inline uint64_t emask(const struct fmt *f) { return (1ull << f->ebits) - 1; }
static inline uint64_t fmask(const struct fmt *f) { return (1ull << f->fbits) - 1; }
static inline uint64_t qbit(const struct fmt *f) { return 1ull << (f->fbits - 1); }
static inline uint64_t signbit(const struct fmt *f) { return 1ull << (f->ebits + f->fbits); }
static inline uint64_t indefinite(const struct fmt *f)
{
    return signbit(f) | (emask(f) << f->fbits) | qbit(f);
}

/* Unpack with MXCSR.DAZ applied: a denormal source reads as a zero of
 * its sign and reports no DE (SDM vol. 1, 10.2.3.4). */
static struct unp unpack(const struct fmt *f, uint64_t v, uint32_t mxcsr)
{
    struct unp u = { .sign = (v >> (f->ebits + f->fbits)) & 1 };
    uint64_t e = (v >> f->fbits) & emask(f), m = v & fmask(f);
    if (e == emask(f)) {
        u.k = m == 0 ? K_INF : (m & qbit(f)) ? K_QNAN : K_SNAN;
        return u;
    }
    if (e == 0) {
        if (m == 0 || (mxcsr & MXCSR_DAZ)) { u.k = K_ZERO; return u; }
        u.k = K_DENORMAL;
        int z = __builtin_clzll(m);
        u.sig = m << z;
        u.exp = 1 - bias_of(f) - f->fbits + 63 - z;
        return u;
    }
    u.k = K_NORMAL;
    u.sig = (m | (1ull << f->fbits)) << (63 - f->fbits);
    u.exp = (int32_t)e - bias_of(f);
    return u;
}

static inline bool is_nan(enum cls k) { return k == K_QNAN || k == K_SNAN; }

static struct fp_ctx ctx_of(uint32_t mxcsr)
{
    return (struct fp_ctx){ .rounding = (uint8_t)((mxcsr >> MXCSR_RC_SHIFT) & 3),
                            .precision = 64, .ftz = (mxcsr & MXCSR_FTZ) != 0,
                            .traps = (uint16_t)(~(mxcsr >> 7) & MXCSR_FLAGS) };
}

/* Post-computation flags (OE UE PE) of the rounding.  An unmasked DE
 * (pre-computation) raised by this operation means the result was never
 * computed, so it reports DE alone (SDM vol. 1, 11.5.2). */
static void put_flags(uint32_t *mxcsr, const struct fp_ctx *c, bool de)
{
    if (de && !(*mxcsr & (MXCSR_DE << 7))) return;
    *mxcsr |= c->flags & MXCSR_FLAGS;
}

/* Round the exact value sig * 2^(exp - 127) to the format. */
static uint64_t pack(const struct fmt *f, struct fp_ctx *c, bool sign, int32_t exp, u128 sig)
{
    int32_t emax = bias_of(f);
    struct fp_rounded r = fp_round_pack(c, sign, exp, sig, f->fbits + 1, 1 - emax, emax, c->ftz);
    return (sign ? signbit(f) : 0) | ((uint64_t)r.bexp << f->fbits) |
           ((r.sig >> (63 - f->fbits)) & fmask(f));
}

static uint64_t zero_of(const struct fmt *f, bool s) { return s ? signbit(f) : 0; }
static uint64_t inf_of(const struct fmt *f, bool s) { return zero_of(f, s) | (emask(f) << f->fbits); }

/* NaN operands of arithmetic (SDM vol. 1, table 4-7, SSE column): the
 * first source's NaN if it has one, else the second's, quieted. */
static bool nan2(const struct fmt *f, uint32_t *mxcsr, uint64_t a, const struct unp *ua,
                 uint64_t b, const struct unp *ub, uint64_t *res)
{
    if (!is_nan(ua->k) && !is_nan(ub->k)) return false;
    if (ua->k == K_SNAN || ub->k == K_SNAN) *mxcsr |= MXCSR_IE;
    *res = (is_nan(ua->k) ? a : b) | qbit(f);
    return true;
}

static bool denormal_check(uint32_t *mxcsr, const struct unp *ua, const struct unp *ub)
{
    if (ua->k == K_DENORMAL || (ub && ub->k == K_DENORMAL)) { *mxcsr |= MXCSR_DE; return true; }
    return false;
}

/* ---- soft-float arithmetic ------------------------------------------- */

static uint64_t soft_addsub(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b, bool neg)
{
    struct unp ua = unpack(f, a, *mxcsr), ub = unpack(f, b, *mxcsr);
    uint64_t res;
    if (nan2(f, mxcsr, a, &ua, b, &ub, &res)) return res;
    bool sb = ub.sign ^ neg;
    if (ua.k == K_INF || ub.k == K_INF) {
        if (ua.k == K_INF && ub.k == K_INF && ua.sign != sb) {
            *mxcsr |= MXCSR_IE;
            return indefinite(f);
        }
        denormal_check(mxcsr, &ua, &ub);
        return ua.k == K_INF ? inf_of(f, ua.sign) : inf_of(f, sb);
    }
    bool de = denormal_check(mxcsr, &ua, &ub);
    struct fp_ctx c = ctx_of(*mxcsr);
    if (ua.k == K_ZERO && ub.k == K_ZERO)
        return zero_of(f, ua.sign == sb ? ua.sign : c.rounding == FP_RC_DOWN);
    u128 xa = ua.k == K_ZERO ? 0 : (u128)ua.sig << 62;
    u128 xb = ub.k == K_ZERO ? 0 : (u128)ub.sig << 62;
    int32_t e;
    if (ua.k == K_ZERO) { e = ub.exp; }
    else if (ub.k == K_ZERO) { e = ua.exp; }
    else if (ua.exp >= ub.exp) {
        e = ua.exp;
        int d = ua.exp - ub.exp;
        xb = d >= 128 ? (xb != 0) : (xb >> d) | ((xb & (((u128)1 << d) - 1)) != 0);
    } else {
        e = ub.exp;
        int d = ub.exp - ua.exp;
        xa = d >= 128 ? (xa != 0) : (xa >> d) | ((xa & (((u128)1 << d) - 1)) != 0);
    }
    bool s;
    u128 r;
    if (ua.sign == sb) { r = xa + xb; s = ua.sign; }
    else if (xa >= xb) { r = xa - xb; s = ua.sign; }
    else { r = xb - xa; s = sb; }
    if (r == 0) return zero_of(f, c.rounding == FP_RC_DOWN);
    res = pack(f, &c, s, e + 2, r);
    put_flags(mxcsr, &c, de);
    return res;
}

static uint64_t soft_mul(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    struct unp ua = unpack(f, a, *mxcsr), ub = unpack(f, b, *mxcsr);
    uint64_t res;
    if (nan2(f, mxcsr, a, &ua, b, &ub, &res)) return res;
    bool s = ua.sign ^ ub.sign;
    if ((ua.k == K_INF && ub.k == K_ZERO) || (ua.k == K_ZERO && ub.k == K_INF)) {
        *mxcsr |= MXCSR_IE;
        return indefinite(f);
    }
    bool de = denormal_check(mxcsr, &ua, &ub);
    if (ua.k == K_INF || ub.k == K_INF) return inf_of(f, s);
    if (ua.k == K_ZERO || ub.k == K_ZERO) return zero_of(f, s);
    struct fp_ctx c = ctx_of(*mxcsr);
    res = pack(f, &c, s, ua.exp + ub.exp + 1, (u128)ua.sig * ub.sig);
    put_flags(mxcsr, &c, de);
    return res;
}

static uint64_t soft_div(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    struct unp ua = unpack(f, a, *mxcsr), ub = unpack(f, b, *mxcsr);
    uint64_t res;
    if (nan2(f, mxcsr, a, &ua, b, &ub, &res)) return res;
    bool s = ua.sign ^ ub.sign;
    if ((ua.k == K_INF && ub.k == K_INF) || (ua.k == K_ZERO && ub.k == K_ZERO)) {
        *mxcsr |= MXCSR_IE;
        return indefinite(f);
    }
    /* A zero divisor reports ZE alone, even with a denormal dividend. */
    if (ub.k == K_ZERO && ua.k != K_INF) { *mxcsr |= MXCSR_ZE; return inf_of(f, s); }
    bool de = denormal_check(mxcsr, &ua, &ub);
    if (ua.k == K_INF) return inf_of(f, s);
    if (ub.k == K_INF) return zero_of(f, s);
    if (ua.k == K_ZERO) return zero_of(f, s);
    struct fp_ctx c = ctx_of(*mxcsr);
    int32_t e;
    u128 q = fp_div_sig(ua.sig, ub.sig, &e);
    res = pack(f, &c, s, ua.exp - ub.exp + e, q);
    put_flags(mxcsr, &c, de);
    return res;
}

static uint64_t soft_sqrt(const struct fmt *f, uint32_t *mxcsr, uint64_t a)
{
    struct unp u = unpack(f, a, *mxcsr);
    if (is_nan(u.k)) {
        if (u.k == K_SNAN) *mxcsr |= MXCSR_IE;
        return a | qbit(f);
    }
    if (u.k == K_ZERO) return zero_of(f, u.sign);
    if (u.sign) { *mxcsr |= MXCSR_IE; return indefinite(f); }
    if (u.k == K_INF) return a;
    bool de = denormal_check(mxcsr, &u, NULL);
    u128 n = (u128)u.sig << 64;
    int32_t e = u.exp - 127;
    if (e & 1) { n >>= 1; e += 1; }
    u128 rem;
    uint64_t root = fp_isqrt128(n, &rem);
    u128 sig = ((u128)root << 64) | (rem > root ? (u128)1 << 63 : 0) | (rem != 0);
    struct fp_ctx c = ctx_of(*mxcsr);
    uint64_t res = pack(f, &c, false, e / 2 + 63, sig);
    put_flags(mxcsr, &c, de);
    return res;
}

/* ---- fast paths ------------------------------------------------------ */

/* Both operands normal (not zero, denormal, inf or NaN) and RC nearest. */
static inline bool fast_ok32(uint32_t mxcsr, uint32_t a, uint32_t b)
{
    uint32_t ea = (a >> 23) & 0xff, eb = (b >> 23) & 0xff;
    return !(mxcsr & (3u << MXCSR_RC_SHIFT)) && ea - 1 < 0xfe && eb - 1 < 0xfe;
}
static inline bool fast_ok64(uint32_t mxcsr, uint64_t a, uint64_t b)
{
    uint64_t ea = (a >> 52) & 0x7ff, eb = (b >> 52) & 0x7ff;
    return !(mxcsr & (3u << MXCSR_RC_SHIFT)) && ea - 1 < 0x7fe && eb - 1 < 0x7fe;
}
/* A result the fast path may return: normal, or an exact +0 from x - x. */
/* The smallest binade is excluded: a result that rounded up to 2^emin
 * may still be tiny in x86's after-rounding sense (UE, or zero under FTZ).
 * 'lo' raises the bar for the fma-residual checks, which are exact only
 * when the residual cannot underflow. */
static inline bool res_ok32(uint32_t r) { return ((r >> 23) & 0xff) - 2u < 0xfdu; }
static inline bool res_ok64(uint64_t r, unsigned lo)
{
    return ((r >> 52) & 0x7ff) - lo < 0x7ffu - lo;
}

static inline float f_of(uint32_t v) { float x; memcpy(&x, &v, 4); return x; }
static inline uint32_t bits_f(float x) { uint32_t v; memcpy(&v, &x, 4); return v; }
static inline double d_of(uint64_t v) { double x; memcpy(&x, &v, 8); return x; }
static inline uint64_t bits_d(double x) { uint64_t v; memcpy(&v, &x, 8); return v; }

/* The host's round-to-nearest is the only mode assumed: the process
 * never changes it (tremu does not call fesetround). */

static uint32_t fast_add32(uint32_t *mxcsr, uint32_t a, uint32_t b, bool neg, bool *ok)
{
    /* Two binary32 values add exactly in binary64 when their exponents are
     * within 29 of each other; otherwise the soft path. */
    uint32_t ea = (a >> 23) & 0xff, eb = (b >> 23) & 0xff;
    if (ea - eb + 28u > 56u) { *ok = false; return 0; }
    double x = (double)f_of(a), y = (double)f_of(b);
    double s = neg ? x - y : x + y;     /* exact */
    float r = (float)s;
    uint32_t rb = bits_f(r);
    if (!res_ok32(rb) && s != 0) { *ok = false; return 0; }   /* x - x = +0 */
    if ((double)r != s) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

static uint32_t fast_mul32(uint32_t *mxcsr, uint32_t a, uint32_t b, bool *ok)
{
    double p = (double)f_of(a) * (double)f_of(b);   /* exact: 48 bits */
    float r = (float)p;
    uint32_t rb = bits_f(r);
    if (!res_ok32(rb)) { *ok = false; return 0; }
    if ((double)r != p) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

static uint32_t fast_div32(uint32_t *mxcsr, uint32_t a, uint32_t b, bool *ok)
{
    /* binary64 then binary32 rounding of a quotient is innocuous
     * (53 >= 2*24 + 2); r*b is exact in binary64. */
    double x = (double)f_of(a), y = (double)f_of(b);
    float r = (float)(x / y);
    uint32_t rb = bits_f(r);
    if (!res_ok32(rb)) { *ok = false; return 0; }
    if ((double)r * y != x) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

static uint64_t fast_add64(uint32_t *mxcsr, uint64_t a, uint64_t b, bool neg, bool *ok)
{
    double x = d_of(a), y = d_of(b);
    double yy = neg ? -y : y;
    double s = x + yy;
    uint64_t rb = bits_d(s);
    if (!res_ok64(rb, 2) && s != 0) { *ok = false; return 0; }
    /* Knuth's TwoSum: the exact rounding error of x + yy. */
    double bv = s - x;
    double err = (x - (s - bv)) + (yy - bv);
    if (err != 0) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

static uint64_t fast_mul64(uint32_t *mxcsr, uint64_t a, uint64_t b, bool *ok)
{
    double x = d_of(a), y = d_of(b);
    double p = x * y;
    uint64_t rb = bits_d(p);
    if (!res_ok64(rb, 120)) { *ok = false; return 0; }
    if (fma(x, y, -p) != 0) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

static uint64_t fast_div64(uint32_t *mxcsr, uint64_t a, uint64_t b, bool *ok)
{
    double x = d_of(a), y = d_of(b);
    double q = x / y;
    uint64_t rb = bits_d(q);
    if (!res_ok64(rb, 120) || ((a >> 52) & 0x7ff) < 120) { *ok = false; return 0; }
    /* x - q*y is exactly representable when q is normal (no underflow). */
    if (fma(-q, y, x) != 0) *mxcsr |= MXCSR_PE;
    *ok = true;
    return rb;
}

/* ---- public arithmetic ------------------------------------------------ */

uint32_t sse_add_f32(uint32_t *mxcsr, uint32_t a, uint32_t b)
{
    if (fast_ok32(*mxcsr, a, b)) {
        bool ok;
        uint32_t r = fast_add32(mxcsr, a, b, false, &ok);
        if (ok) return r;
    }
    return (uint32_t)soft_addsub(&F32, mxcsr, a, b, false);
}

uint32_t sse_sub_f32(uint32_t *mxcsr, uint32_t a, uint32_t b)
{
    if (fast_ok32(*mxcsr, a, b)) {
        bool ok;
        uint32_t r = fast_add32(mxcsr, a, b, true, &ok);
        if (ok) return r;
    }
    return (uint32_t)soft_addsub(&F32, mxcsr, a, b, true);
}

uint32_t sse_mul_f32(uint32_t *mxcsr, uint32_t a, uint32_t b)
{
    if (fast_ok32(*mxcsr, a, b)) {
        bool ok;
        uint32_t r = fast_mul32(mxcsr, a, b, &ok);
        if (ok) return r;
    }
    return (uint32_t)soft_mul(&F32, mxcsr, a, b);
}

uint32_t sse_div_f32(uint32_t *mxcsr, uint32_t a, uint32_t b)
{
    if (fast_ok32(*mxcsr, a, b)) {
        bool ok;
        uint32_t r = fast_div32(mxcsr, a, b, &ok);
        if (ok) return r;
    }
    return (uint32_t)soft_div(&F32, mxcsr, a, b);
}

uint32_t sse_sqrt_f32(uint32_t *mxcsr, uint32_t a)
{
    /* Positive normal operand, RC nearest: binary64 sqrt then binary32
     * rounding is innocuous (53 >= 2*24 + 2) and r*r is exact in binary64. */
    if (fast_ok32(*mxcsr, a, 0x3f800000u) && !(a >> 31)) {
        double x = (double)f_of(a);
        float r = (float)sqrt(x);
        if ((double)r * (double)r != x) *mxcsr |= MXCSR_PE;
        return bits_f(r);
    }
    return (uint32_t)soft_sqrt(&F32, mxcsr, a);
}

uint64_t sse_add_f64(uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    if (fast_ok64(*mxcsr, a, b)) {
        bool ok;
        uint64_t r = fast_add64(mxcsr, a, b, false, &ok);
        if (ok) return r;
    }
    return soft_addsub(&F64, mxcsr, a, b, false);
}

uint64_t sse_sub_f64(uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    if (fast_ok64(*mxcsr, a, b)) {
        bool ok;
        uint64_t r = fast_add64(mxcsr, a, b, true, &ok);
        if (ok) return r;
    }
    return soft_addsub(&F64, mxcsr, a, b, true);
}

uint64_t sse_mul_f64(uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    if (fast_ok64(*mxcsr, a, b)) {
        bool ok;
        uint64_t r = fast_mul64(mxcsr, a, b, &ok);
        if (ok) return r;
    }
    return soft_mul(&F64, mxcsr, a, b);
}

uint64_t sse_div_f64(uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    if (fast_ok64(*mxcsr, a, b)) {
        bool ok;
        uint64_t r = fast_div64(mxcsr, a, b, &ok);
        if (ok) return r;
    }
    return soft_div(&F64, mxcsr, a, b);
}

uint64_t sse_sqrt_f64(uint32_t *mxcsr, uint64_t a)
{
    /* Positive normal operand away from the bottom of the range (so the
     * residual x - r*r cannot underflow), RC nearest. */
    if (fast_ok64(*mxcsr, a, 0x3ff0000000000000ull) && !(a >> 63) &&
        ((a >> 52) & 0x7ff) >= 120) {
        double x = d_of(a), r = sqrt(x);
        if (fma(-r, r, x) != 0) *mxcsr |= MXCSR_PE;
        return bits_d(r);
    }
    return soft_sqrt(&F64, mxcsr, a);
}

/* ---- compares ---------------------------------------------------------- */

static enum fp_cmp cmp(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b, bool signaling)
{
    struct unp ua = unpack(f, a, *mxcsr), ub = unpack(f, b, *mxcsr);
    if (is_nan(ua.k) || is_nan(ub.k)) {
        if (signaling || ua.k == K_SNAN || ub.k == K_SNAN) *mxcsr |= MXCSR_IE;
        return FP_CMP_UN;
    }
    denormal_check(mxcsr, &ua, &ub);
    if (ua.k == K_ZERO && ub.k == K_ZERO) return FP_CMP_EQ;
    if (ua.k == K_ZERO) return ub.sign ? FP_CMP_GT : FP_CMP_LT;
    if (ub.k == K_ZERO) return ua.sign ? FP_CMP_LT : FP_CMP_GT;
    if (ua.sign != ub.sign) return ua.sign ? FP_CMP_LT : FP_CMP_GT;
    int mag;
    if (ua.k == K_INF || ub.k == K_INF) mag = (ua.k == K_INF) - (ub.k == K_INF);
    else if (ua.exp != ub.exp) mag = ua.exp < ub.exp ? -1 : 1;
    else mag = ua.sig < ub.sig ? -1 : ua.sig > ub.sig;
    if (mag == 0) return FP_CMP_EQ;
    return (mag < 0) ^ ua.sign ? FP_CMP_LT : FP_CMP_GT;
}

uint64_t sse_fp_soft_arith(unsigned op, bool f64, uint32_t *mxcsr, uint64_t a, uint64_t b)
{
    const struct fmt *f = f64 ? &F64 : &F32;
    switch (op) {
    case 0: return soft_addsub(f, mxcsr, a, b, false);
    case 1: return soft_addsub(f, mxcsr, a, b, true);
    case 2: return soft_mul(f, mxcsr, a, b);
    case 3: return soft_div(f, mxcsr, a, b);
    default: return soft_sqrt(f, mxcsr, a);
    }
}

/* ---- min / max --------------------------------------------------------- */

/* MINSS/MAXSS: a NaN in either operand (QNaN included: IE) or two zeros
 * return the second operand unchanged (SDM vol. 2, MINPS/MAXPS). */
static uint64_t minmax(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b, bool max)
{
    struct unp ua = unpack(f, a, *mxcsr), ub = unpack(f, b, *mxcsr);
    /* With DAZ, a denormal operand is returned as the zero it reads as. */
    uint64_t vb = ub.k == K_ZERO ? zero_of(f, ub.sign) : b;
    if (is_nan(ua.k) || is_nan(ub.k)) { *mxcsr |= MXCSR_IE; return vb; }
    enum fp_cmp r = cmp(f, mxcsr, a, b, false);
    bool take_a = max ? r == FP_CMP_GT : r == FP_CMP_LT;
    uint64_t va = ua.k == K_ZERO ? zero_of(f, ua.sign) : a;
    return take_a ? va : vb;
}

uint32_t sse_min_f32(uint32_t *mxcsr, uint32_t a, uint32_t b) { return (uint32_t)minmax(&F32, mxcsr, a, b, false); }
uint32_t sse_max_f32(uint32_t *mxcsr, uint32_t a, uint32_t b) { return (uint32_t)minmax(&F32, mxcsr, a, b, true); }
uint64_t sse_min_f64(uint32_t *mxcsr, uint64_t a, uint64_t b) { return minmax(&F64, mxcsr, a, b, false); }
uint64_t sse_max_f64(uint32_t *mxcsr, uint64_t a, uint64_t b) { return minmax(&F64, mxcsr, a, b, true); }

/* Predicate table (SDM vol. 2, CMPPS, table 3-1): which of LT EQ GT UN
 * (bits 0..3) make the predicate true, for imm8 & 15.  Bit 4 of imm8
 * swaps quiet and signaling behaviour on QNaN operands. */
static const uint8_t pred_true[16] = {
    0x2, 0x1, 0x3, 0x8, 0xd, 0xe, 0xc, 0x7, 0xa, 0x9, 0xb, 0x0, 0x5, 0x6, 0x4, 0xf };
static const uint16_t pred_signaling = 0x6666;   /* 1 2 5 6 9 10 13 14 */

static bool cmp_pred(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b, unsigned pred)
{
    pred &= 31;
    bool sig = ((pred_signaling >> (pred & 15)) & 1) ^ (pred >> 4);
    enum fp_cmp r = cmp(f, mxcsr, a, b, sig);
    return (pred_true[pred & 15] >> r) & 1;
}

bool sse_cmp_f32(uint32_t *mxcsr, uint32_t a, uint32_t b, unsigned pred) { return cmp_pred(&F32, mxcsr, a, b, pred); }
bool sse_cmp_f64(uint32_t *mxcsr, uint64_t a, uint64_t b, unsigned pred) { return cmp_pred(&F64, mxcsr, a, b, pred); }

static unsigned comi(const struct fmt *f, uint32_t *mxcsr, uint64_t a, uint64_t b, bool signaling)
{
    switch (cmp(f, mxcsr, a, b, signaling)) {
    case FP_CMP_LT: return SSE_RFLAGS_CF;
    case FP_CMP_EQ: return SSE_RFLAGS_ZF;
    case FP_CMP_GT: return 0;
    default:        return SSE_RFLAGS_ZF | SSE_RFLAGS_PF | SSE_RFLAGS_CF;
    }
}

unsigned sse_comi_f32(uint32_t *mxcsr, uint32_t a, uint32_t b, bool signaling) { return comi(&F32, mxcsr, a, b, signaling); }
unsigned sse_comi_f64(uint32_t *mxcsr, uint64_t a, uint64_t b, bool signaling) { return comi(&F64, mxcsr, a, b, signaling); }

/* ---- conversions -------------------------------------------------------- */

static uint64_t from_int(const struct fmt *f, uint32_t *mxcsr, int64_t v)
{
    if (v == 0) return 0;
    bool s = v < 0;
    uint64_t m = s ? -(uint64_t)v : (uint64_t)v;
    struct fp_ctx c = ctx_of(*mxcsr);
    uint64_t r = pack(f, &c, s, 127, m);
    put_flags(mxcsr, &c, false);
    return r;
}

uint32_t sse_cvt_i32_f32(uint32_t *mxcsr, int32_t v) { return (uint32_t)from_int(&F32, mxcsr, v); }
uint32_t sse_cvt_i64_f32(uint32_t *mxcsr, int64_t v) { return (uint32_t)from_int(&F32, mxcsr, v); }
uint64_t sse_cvt_i32_f64(uint32_t *mxcsr, int32_t v) { return from_int(&F64, mxcsr, v); }
uint64_t sse_cvt_i64_f64(uint32_t *mxcsr, int64_t v) { return from_int(&F64, mxcsr, v); }

static int64_t to_int(const struct fmt *f, uint32_t *mxcsr, uint64_t a, bool trunc, int bits)
{
    struct unp u = unpack(f, a, *mxcsr);
    int64_t indef = bits == 64 ? INT64_MIN : INT32_MIN;
    if (is_nan(u.k) || u.k == K_INF || (u.k != K_ZERO && u.exp >= 64)) {
        *mxcsr |= MXCSR_IE;
        return indef;
    }
    if (u.k == K_ZERO) return 0;
    struct fp_ctx c = ctx_of(*mxcsr);
    if (trunc) c.rounding = FP_RC_ZERO;
    /* Round through the integer-valued "format" trick: scale so that the
     * integer bits are the kept bits of a 64-bit window. */
    int shift = 63 - u.exp;
    u128 k;
    bool inexact = false;
    if (shift <= 0) {
        k = u.sig;
    } else {
        u128 sig = u.sig;
        u128 kept = shift >= 64 ? 0 : sig >> shift;
        u128 rb = shift >= 64 ? sig : sig & (((u128)1 << shift) - 1);
        u128 half = shift >= 65 ? 0 : (u128)1 << (shift - 1);
        inexact = rb != 0;
        bool up = false;
        switch (c.rounding) {
        case FP_RC_NEAREST: up = shift <= 64 && (rb > half || (rb == half && (kept & 1))); break;
        case FP_RC_DOWN: up = u.sign && inexact; break;
        case FP_RC_UP: up = !u.sign && inexact; break;
        default: break;
        }
        k = kept + up;
    }
    u128 lim = (u128)1 << (bits - 1);
    if (u.sign ? k > lim : k >= lim) { *mxcsr |= MXCSR_IE; return indef; }
    if (inexact) *mxcsr |= MXCSR_PE;
    return u.sign ? (int64_t)(0 - (uint64_t)k) : (int64_t)(uint64_t)k;
}

int32_t sse_cvt_f32_i32(uint32_t *mxcsr, uint32_t a, bool trunc) { return (int32_t)to_int(&F32, mxcsr, a, trunc, 32); }
int64_t sse_cvt_f32_i64(uint32_t *mxcsr, uint32_t a, bool trunc) { return to_int(&F32, mxcsr, a, trunc, 64); }
int32_t sse_cvt_f64_i32(uint32_t *mxcsr, uint64_t a, bool trunc) { return (int32_t)to_int(&F64, mxcsr, a, trunc, 32); }
int64_t sse_cvt_f64_i64(uint32_t *mxcsr, uint64_t a, bool trunc) { return to_int(&F64, mxcsr, a, trunc, 64); }

static uint64_t convert(const struct fmt *from, const struct fmt *to, uint32_t *mxcsr, uint64_t a)
{
    struct unp u = unpack(from, a, *mxcsr);
    switch (u.k) {
    case K_SNAN:
        *mxcsr |= MXCSR_IE;
        /* fall through */
    case K_QNAN: {
        /* Keep the payload's top bits (SDM vol. 1, 4.8.3.4). */
        uint64_t payload = a & fmask(from);
        payload = to->fbits > from->fbits ? payload << (to->fbits - from->fbits)
                                          : payload >> (from->fbits - to->fbits);
        return zero_of(to, u.sign) | (emask(to) << to->fbits) | qbit(to) | payload;
    }
    case K_INF: return inf_of(to, u.sign);
    case K_ZERO: return zero_of(to, u.sign);
    default: break;
    }
    bool de = denormal_check(mxcsr, &u, NULL);
    struct fp_ctx c = ctx_of(*mxcsr);
    uint64_t r = pack(to, &c, u.sign, u.exp + 64, u.sig);
    put_flags(mxcsr, &c, de);
    return r;
}

uint64_t sse_cvt_f32_f64(uint32_t *mxcsr, uint32_t a) { return convert(&F32, &F64, mxcsr, a); }
uint32_t sse_cvt_f64_f32(uint32_t *mxcsr, uint64_t a) { return (uint32_t)convert(&F64, &F32, mxcsr, a); }

/* ---- ROUNDSS/ROUNDSD ----------------------------------------------------- */

static uint64_t round_int(const struct fmt *f, uint32_t *mxcsr, uint64_t a, unsigned imm)
{
    struct unp u = unpack(f, a, *mxcsr);
    if (is_nan(u.k)) {
        if (u.k == K_SNAN) *mxcsr |= MXCSR_IE;
        return a | qbit(f);
    }
    if (u.k == K_ZERO) return zero_of(f, u.sign);
    if (u.k == K_INF || u.exp >= f->fbits) return a;
    struct fp_ctx c = ctx_of(*mxcsr);
    if (!(imm & 4)) c.rounding = (uint8_t)(imm & 3);
    /* Round the value to an integer: a 64-bit window whose unit bit is 2^0. */
    int shift = 63 - u.exp;                 /* > 0 here */
    u128 sig = u.sig;
    u128 kept = shift >= 64 ? 0 : sig >> shift;
    u128 rb = shift >= 64 ? sig : sig & (((u128)1 << shift) - 1);
    bool inexact = rb != 0, up = false;
    switch (c.rounding) {
    case FP_RC_NEAREST:
        if (shift <= 64) {
            u128 half = (u128)1 << (shift - 1);
            up = rb > half || (rb == half && (kept & 1));
        }
        break;
    case FP_RC_DOWN: up = u.sign && inexact; break;
    case FP_RC_UP: up = !u.sign && inexact; break;
    default: break;
    }
    kept += up;
    if (inexact && !(imm & 8)) *mxcsr |= MXCSR_PE;
    if (kept == 0) return zero_of(f, u.sign);
    c.flags = 0;
    return pack(f, &c, u.sign, 127, kept);  /* exact */
}

uint32_t sse_round_f32(uint32_t *mxcsr, uint32_t a, unsigned imm) { return (uint32_t)round_int(&F32, mxcsr, a, imm); }
uint64_t sse_round_f64(uint32_t *mxcsr, uint64_t a, unsigned imm) { return round_int(&F64, mxcsr, a, imm); }

/* ---- reciprocal approximations ------------------------------------------ */

uint32_t sse_rcp_f32(uint32_t a)
{
    bool s = a >> 31;
    uint32_t e = (a >> 23) & 0xff, m = a & 0x7fffff;
    if (e == 0xff) return m ? a | 0x400000 : (s ? 0x80000000u : 0);
    if (e == 0) return (s ? 0x80000000u : 0) | 0x7f800000u;   /* zero, denormal */
    /* 1/x ~ 2^-(e-127) / 1.m: an 12-bit-accurate reciprocal of 1.m,
     * from the exact quotient truncated to 12 fraction bits plus half an
     * ulp of that (centres the error). */
    uint64_t mant = (1ull << 23) | m;                 /* 1.m * 2^23 */
    uint64_t q = (1ull << 47) / mant;                 /* 2^24 / 1.m: in (2^23, 2^24] */
    int32_t re = 127 - ((int32_t)e - 127);
    if (q < (1ull << 24)) { q <<= 1; re--; }          /* normalize to 2^24.. */
    q >>= 1;                                          /* 24-bit significand */
    q = (q & ~0x7ffull) | 0x400;                      /* 12 bits + half ulp */
    if (re <= 0) return s ? 0x80000000u : 0;          /* tiny: flushed */
    if (re >= 255) return (s ? 0x80000000u : 0) | 0x7f800000u;
    return (s ? 0x80000000u : 0) | ((uint32_t)re << 23) | ((uint32_t)q & 0x7fffff);
}

uint32_t sse_rsqrt_f32(uint32_t a)
{
    bool s = a >> 31;
    uint32_t e = (a >> 23) & 0xff, m = a & 0x7fffff;
    if (e == 0xff) {
        if (m) return a | 0x400000;
        return s ? F32_INDEFINITE : 0;
    }
    if (e == 0) return (s ? 0x80000000u : 0) | 0x7f800000u;   /* zero, denormal */
    if (s) return F32_INDEFINITE;
    /* x = 1.m * 2^E; make E even so that 1/sqrt(x) = 2^(-E/2) / sqrt(M). */
    int32_t E = (int32_t)e - 127;
    u128 M = ((u128)((1ull << 23) | m)) << 73;        /* 1.m * 2^96 */
    if (E & 1) { M <<= 1; E -= 1; }
    u128 rem;
    uint64_t root = fp_isqrt128(M, &rem);             /* sqrt(M) * 2^48 */
    /* 2^72 / root = 2^24 / sqrt(M): in (2^23, 2^24] */
    uint64_t q = (uint64_t)(((u128)1 << 72) / root);
    int32_t re = 127 - E / 2;
    if (q < (1ull << 24)) { q <<= 1; re--; }
    q >>= 1;
    q = (q & ~0x7ffull) | 0x400;
    return ((uint32_t)re << 23) | ((uint32_t)q & 0x7fffff);
}
