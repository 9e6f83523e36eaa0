/* x87 80-bit soft-float: see fp80.h.  Integer-only so results do not depend
 * on the host FPU.  Masked exception responses follow SDM vol. 1, 4.9 and
 * 8.5; NaN selection follows SDM vol. 1, table 4-7. */
#include "cpu/fp80.h"
#include <string.h>

typedef unsigned __int128 u128;

/* ---- rounding core -------------------------------------------------- */

static int clz128(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64);
    if (hi) return __builtin_clzll(hi);
    uint64_t lo = (uint64_t)v;
    return lo ? 64 + __builtin_clzll(lo) : 128;
}

/* Shift right keeping a sticky bit (any 1 shifted out sets bit 0). */
static u128 shr_jam(u128 v, int n)
{
    if (n <= 0) return v;
    if (n >= 128) return v != 0;
    return (v >> n) | ((v & (((u128)1 << n) - 1)) != 0);
}

/* Round sig (a prec-bit window at bit 'shift') per c->rounding; returns the
 * kept integer after increment and whether it was inexact/incremented. */
static u128 round_bits(const struct fp_ctx *c, bool sign, u128 sig, int shift,
                       bool *inexact, bool *inc)
{
    u128 kept, rb, half;
    if (shift >= 129) {
        kept = 0; rb = sig != 0; half = 2;          /* below half, nonzero */
    } else if (shift == 128) {
        kept = 0; rb = sig; half = (u128)1 << 127;
    } else if (shift == 0) {
        kept = sig; rb = 0; half = 1;
    } else {
        kept = sig >> shift; rb = sig & (((u128)1 << shift) - 1);
        half = (u128)1 << (shift - 1);
    }
    bool up = false;
    switch (c->rounding) {
    case FP_RC_NEAREST: up = rb > half || (rb == half && (kept & 1)); break;
    case FP_RC_DOWN:    up = sign && rb; break;
    case FP_RC_UP:      up = !sign && rb; break;
    default:            up = false; break;
    }
    *inexact = rb != 0;
    *inc = up;
    return kept + up;
}

struct fp_rounded fp_round_pack(struct fp_ctx *c, bool sign, int32_t exp,
                                u128 sig, int prec, int32_t emin, int32_t emax,
                                bool ftz)
{
    struct fp_rounded r = { 0, 0 };
    int32_t bias = 1 - emin;
    if (sig == 0)
        return r;
    int z = clz128(sig);
    sig <<= z;
    exp -= z;
    if (exp > emax)
        goto overflow;
    bool inexact, inc;
    if (exp >= emin) {
        u128 k = round_bits(c, sign, sig, 128 - prec, &inexact, &inc);
        if (k >> prec) { k >>= 1; exp++; }
        if (exp > emax)
            goto overflow;
        if (inexact) c->flags |= FP_PE;
        if (inc) c->flags |= FP_C1;
        r.sig = (uint64_t)k << (64 - prec);
        r.bexp = exp + bias;
        return r;
    }
    /* Tiny before rounding.  x86 (x87 and SSE) detects tininess after
     * rounding: a value that rounds to 2^emin with unbounded exponent
     * range is not tiny (SDM vol. 1, 4.9.1.5). */
    bool tiny = true;
    if (exp == emin - 1) {
        bool ix, ic;
        u128 k = round_bits(c, sign, sig, 128 - prec, &ix, &ic);
        if (k >> prec) tiny = false;
    }
    if (ftz && tiny) {
        /* MXCSR.FTZ with UE masked: a zero of the result's sign. */
        c->flags |= FP_UE | FP_PE;
        return r;
    }
    int shift = 128 - prec + (emin - exp);
    u128 k = round_bits(c, sign, sig, shift > 129 ? 129 : shift, &inexact, &inc);
    if (inexact) {
        c->flags |= FP_PE;
        if (tiny) c->flags |= FP_UE;
    }
    if (inc) c->flags |= FP_C1;
    r.sig = (uint64_t)k << (64 - prec);
    r.bexp = (k >> (prec - 1)) ? 1 : 0;
    return r;

overflow:
    c->flags |= FP_OE | FP_PE;
    {
        bool to_inf = c->rounding == FP_RC_NEAREST ||
                      (c->rounding == FP_RC_UP && !sign) ||
                      (c->rounding == FP_RC_DOWN && sign);
        if (to_inf) {
            c->flags |= FP_C1;
            r.sig = 1ull << 63;
            r.bexp = emax + bias + 1;
        } else {
            r.sig = prec == 64 ? ~0ull : (((1ull << prec) - 1) << (64 - prec));
            r.bexp = emax + bias;
        }
    }
    return r;
}

/* ---- unpacking ------------------------------------------------------ */

enum cls { K_ZERO, K_NORMAL, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUP };

struct unp {
    enum cls k;
    bool sign;
    int32_t exp;    /* value = sig * 2^(exp - 63) for finite nonzero */
    uint64_t sig;   /* normalized: bit 63 set for finite nonzero */
};

static struct unp unpack(fp80 a)
{
    struct unp u = { .sign = a.sexp >> 15, .sig = a.mant };
    int e = a.sexp & 0x7fff;
    if (e == 0) {
        if (a.mant == 0) { u.k = K_ZERO; return u; }
        /* Denormal, or pseudo-denormal (integer bit set): both have the
         * value mant * 2^(1 - bias - 63) (SDM 8.2.2). */
        u.k = K_DENORMAL;
        int z = __builtin_clzll(a.mant);
        u.sig = a.mant << z;
        u.exp = 1 - FP80_BIAS - z;
        return u;
    }
    if (!(a.mant >> 63)) { u.k = K_UNSUP; return u; }
    if (e == 0x7fff) {
        if ((a.mant << 1) == 0) u.k = K_INF;
        else u.k = (a.mant >> 62) & 1 ? K_QNAN : K_SNAN;
        return u;
    }
    u.k = K_NORMAL;
    u.exp = e - FP80_BIAS;
    return u;
}

bool fp80_is_nan(fp80 a) { enum cls k = unpack(a).k; return k == K_QNAN || k == K_SNAN; }
bool fp80_is_snan(fp80 a) { return unpack(a).k == K_SNAN; }
bool fp80_is_unsupported(fp80 a) { return unpack(a).k == K_UNSUP; }

static bool is_nan_k(enum cls k) { return k == K_QNAN || k == K_SNAN || k == K_UNSUP; }

static fp80 inf80(bool s) { return fp80_make(s, 0x7fff, 1ull << 63); }
static fp80 zero80(bool s) { return fp80_make(s, 0, 0); }
static fp80 quiet80(fp80 a) { a.mant |= 1ull << 62; return a; }

static fp80 invalid(struct fp_ctx *c)
{
    c->flags |= FP_IE;
    return fp80_indefinite();
}

/* Operand NaN rules for two-operand arithmetic (SDM vol. 1, table 4-7).
 * Returns true and sets *res when a NaN or unsupported operand decides
 * the result. */
static bool nan_rule2(struct fp_ctx *c, fp80 a, struct unp ua, fp80 b,
                      struct unp ub, fp80 *res)
{
    if (ua.k == K_UNSUP || ub.k == K_UNSUP) { *res = invalid(c); return true; }
    bool an = ua.k == K_QNAN || ua.k == K_SNAN, bn = ub.k == K_QNAN || ub.k == K_SNAN;
    if (!an && !bn) return false;
    if (ua.k == K_SNAN || ub.k == K_SNAN) c->flags |= FP_IE;
    if (an && bn && ua.k != ub.k) {
        /* An SNaN and a QNaN: the QNaN. */
        *res = ua.k == K_QNAN ? a : b;
    } else if (an && bn) {
        /* Two of a kind: the larger significand, quieted. */
        if (a.mant > b.mant) *res = quiet80(a);
        else if (b.mant > a.mant) *res = quiet80(b);
        else *res = quiet80(fp80_sign(a) ? b : a);
    } else {
        *res = quiet80(an ? a : b);
    }
    return true;
}

static fp80 pack80(struct fp_ctx *c, bool sign, int32_t exp, u128 sig, int prec)
{
    struct fp_rounded r = fp_round_pack(c, sign, exp, sig, prec, 1 - FP80_BIAS,
                                        FP80_BIAS, false);
    return fp80_make(sign, (uint16_t)r.bexp, r.sig);
}

static int prec_of(const struct fp_ctx *c)
{
    return c->precision == 24 || c->precision == 53 ? c->precision : 64;
}

/* ---- add / sub ------------------------------------------------------ */

static fp80 addsub(struct fp_ctx *c, fp80 a, fp80 b, bool neg_b)
{
    struct unp ua = unpack(a), ub = unpack(b);
    fp80 res;
    if (nan_rule2(c, a, ua, b, ub, &res)) return res;
    bool sb = ub.sign ^ neg_b;
    if (ua.k == K_INF || ub.k == K_INF) {
        if (ua.k == K_INF && ub.k == K_INF && ua.sign != sb) return invalid(c);
        if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
        return ua.k == K_INF ? inf80(ua.sign) : inf80(sb);
    }
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_ZERO && ub.k == K_ZERO) {
        bool s = ua.sign == sb ? ua.sign : c->rounding == FP_RC_DOWN;
        return zero80(s);
    }
    if (ua.k == K_ZERO) { ua = ub; ua.sign = sb; return pack80(c, ua.sign, ua.exp + 2, (u128)ua.sig << 62, prec_of(c)); }
    if (ub.k == K_ZERO) return pack80(c, ua.sign, ua.exp + 2, (u128)ua.sig << 62, prec_of(c));
    /* value = (sig << 62) * 2^(exp + 2 - 127) */
    u128 xa = (u128)ua.sig << 62, xb = (u128)ub.sig << 62;
    int32_t e = ua.exp;
    if (ua.exp >= ub.exp) xb = shr_jam(xb, ua.exp - ub.exp);
    else { xa = shr_jam(xa, ub.exp - ua.exp); e = ub.exp; }
    bool s;
    u128 r;
    if (ua.sign == sb) { r = xa + xb; s = ua.sign; }
    else if (xa >= xb) { r = xa - xb; s = ua.sign; }
    else { r = xb - xa; s = sb; }
    if (r == 0) return zero80(c->rounding == FP_RC_DOWN);
    return pack80(c, s, e + 2, r, prec_of(c));
}

fp80 fp80_add(struct fp_ctx *c, fp80 a, fp80 b) { return addsub(c, a, b, false); }
fp80 fp80_sub(struct fp_ctx *c, fp80 a, fp80 b) { return addsub(c, a, b, true); }

/* ---- mul / div / sqrt ----------------------------------------------- */

fp80 fp80_mul(struct fp_ctx *c, fp80 a, fp80 b)
{
    struct unp ua = unpack(a), ub = unpack(b);
    fp80 res;
    if (nan_rule2(c, a, ua, b, ub, &res)) return res;
    bool s = ua.sign ^ ub.sign;
    if ((ua.k == K_INF && ub.k == K_ZERO) || (ua.k == K_ZERO && ub.k == K_INF))
        return invalid(c);
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_INF || ub.k == K_INF) return inf80(s);
    if (ua.k == K_ZERO || ub.k == K_ZERO) return zero80(s);
    u128 p = (u128)ua.sig * ub.sig;     /* value = p * 2^(ea + eb - 126) */
    return pack80(c, s, ua.exp + ub.exp + 1, p, prec_of(c));
}

u128 fp_div_sig(uint64_t x, uint64_t y, int32_t *e)
{
    u128 r = x;
    uint64_t ip = 0;
    if (x >= y) { ip = 1; r = x - y; *e = 0; } else *e = -1;
    u128 q1 = (r << 64) / y; r = (r << 64) % y;
    u128 q2 = (r << 64) / y; r = (r << 64) % y;
    u128 q;
    if (ip)
        q = ((u128)1 << 127) | (q1 << 63) | ((q2 >> 1) | (q2 & 1) | (r != 0));
    else
        q = (q1 << 64) | q2 | (r != 0);
    return q;
}

fp80 fp80_div(struct fp_ctx *c, fp80 a, fp80 b)
{
    struct unp ua = unpack(a), ub = unpack(b);
    fp80 res;
    if (nan_rule2(c, a, ua, b, ub, &res)) return res;
    bool s = ua.sign ^ ub.sign;
    if ((ua.k == K_INF && ub.k == K_INF) || (ua.k == K_ZERO && ub.k == K_ZERO))
        return invalid(c);
    /* A zero divisor reports ZE alone, even with a denormal dividend. */
    if (ub.k == K_ZERO && ua.k != K_INF) { c->flags |= FP_ZE; return inf80(s); }
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_INF) return inf80(s);
    if (ub.k == K_INF) return zero80(s);
    if (ua.k == K_ZERO) return zero80(s);
    int32_t e;
    u128 q = fp_div_sig(ua.sig, ub.sig, &e);
    return pack80(c, s, ua.exp - ub.exp + e, q, prec_of(c));
}

uint64_t fp_isqrt128(u128 n, u128 *rem)
{
    u128 root = 0, bit = (u128)1 << 126, x = n;
    while (bit > x) bit >>= 2;
    while (bit) {
        if (x >= root + bit) { x -= root + bit; root = (root >> 1) + bit; }
        else root >>= 1;
        bit >>= 2;
    }
    *rem = x;
    return (uint64_t)root;
}

fp80 fp80_sqrt(struct fp_ctx *c, fp80 a)
{
    struct unp u = unpack(a);
    if (u.k == K_UNSUP) return invalid(c);
    if (u.k == K_SNAN) { c->flags |= FP_IE; return quiet80(a); }
    if (u.k == K_QNAN) return a;
    if (u.k == K_ZERO) return a;
    if (u.sign) return invalid(c);
    if (u.k == K_INF) return a;
    if (u.k == K_DENORMAL) c->flags |= FP_DE;
    /* value = sig * 2^(exp-63); make the exponent even. */
    u128 n = (u128)u.sig << 64;           /* sig * 2^64, exponent exp - 127 */
    int32_t e = u.exp - 127;
    if (e & 1) { n >>= 1; e += 1; }       /* loses nothing: low 64 bits are 0 */
    u128 rem;
    uint64_t root = fp_isqrt128(n, &rem);   /* sqrt(value) ~ root * 2^(e/2) */
    /* Guard bit and sticky: a square root is never exactly halfway. */
    u128 sig = ((u128)root << 64) | (rem > root ? (u128)1 << 63 : 0) | (rem != 0);
    return pack80(c, false, e / 2 + 63, sig, prec_of(c));
}

/* ---- remainder, round, scale, extract -------------------------------- */

fp80 fp80_rem(struct fp_ctx *c, fp80 a, fp80 b, bool ieee, uint16_t *cc)
{
    struct unp ua = unpack(a), ub = unpack(b);
    fp80 res;
    *cc = 0;
    if (nan_rule2(c, a, ua, b, ub, &res)) return res;
    if (ua.k == K_INF || ub.k == K_ZERO) return invalid(c);
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_ZERO) return a;
    int32_t d = ub.k == K_INF ? -2 : ua.exp - ub.exp;
    if (d < -1 || (d == -1 && !ieee))
        return pack80(c, ua.sign, ua.exp + 64, ua.sig, 64);
    bool sign = ua.sign;
    uint64_t q;
    u128 r;
    int32_t eb = ub.exp;
    if (d == -1) {
        /* |a| vs |b|/2: quotient 1 iff |a| > |b|/2 (a tie rounds to 0). */
        if (ua.sig > ub.sig) {
            q = 1;
            r = ((u128)ub.sig << 1) - ua.sig;   /* in units of 2^(ea-63) */
            sign = !sign;
        } else {
            q = 0;
            r = ua.sig;
        }
        eb = ua.exp;
    } else {
        bool partial = d >= 64;
        if (partial) {
            /* Incomplete reduction (SDM vol. 2, FPREM): reduce the exponent
             * difference to N, here 32 + (D mod 32) as observed on Intel
             * parts, with a truncated quotient; C2 tells software to loop. */
            int32_t n = 32 + (d % 32);
            eb += d - n;
            d = n;
            *cc = FP_C2;
        }
        u128 x = (u128)ua.sig << d;
        q = (uint64_t)(x / ub.sig);
        r = x % ub.sig;
        if (ieee && !partial) {
            u128 r2 = r << 1;
            if (r2 > ub.sig || (r2 == ub.sig && (q & 1))) {
                q++;
                r = ub.sig - r;
                sign = !sign;
            }
        }
        if (partial) q = 0;
    }
    if (!(*cc & FP_C2))
        *cc = (uint16_t)(((q >> 2) & 1 ? FP_C0 : 0) | ((q >> 1) & 1 ? FP_C3 : 0) |
                         (q & 1 ? FP_C1 : 0));
    if (r == 0) return zero80(ua.sign);
    uint16_t keep = c->flags;
    res = pack80(c, sign, eb + 64, r, 64);
    /* The remainder is exact; an exact denormal result is not an underflow
     * when UE is masked (SDM vol. 1, 4.9.1.5). */
    c->flags = keep | (c->flags & ~(FP_C1 | FP_PE | FP_UE));
    return res;
}

fp80 fp80_round_int(struct fp_ctx *c, fp80 a)
{
    struct unp u = unpack(a);
    if (u.k == K_UNSUP) return invalid(c);
    if (u.k == K_SNAN) { c->flags |= FP_IE; return quiet80(a); }
    if (u.k == K_QNAN || u.k == K_ZERO || u.k == K_INF) return a;
    if (u.k == K_DENORMAL) c->flags |= FP_DE;
    if (u.exp >= 63) return a;
    bool inexact, inc;
    u128 k = round_bits(c, u.sign, u.sig, 63 - u.exp > 129 ? 129 : 63 - u.exp, &inexact, &inc);
    if (inexact) c->flags |= FP_PE;
    if (inc) c->flags |= FP_C1;
    if (k == 0) return zero80(u.sign);
    return pack80(c, u.sign, 127, k, 64);
}

fp80 fp80_scale(struct fp_ctx *c, fp80 a, fp80 b)
{
    struct unp ua = unpack(a), ub = unpack(b);
    fp80 res;
    if (nan_rule2(c, a, ua, b, ub, &res)) return res;
    if (ub.k == K_INF) {
        if ((ua.k == K_ZERO && !ub.sign) || (ua.k == K_INF && ub.sign))
            return invalid(c);
        if (ua.k == K_DENORMAL) c->flags |= FP_DE;
        if (ua.k == K_ZERO || ua.k == K_INF) return a;
        return ub.sign ? zero80(ua.sign) : inf80(ua.sign);
    }
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_ZERO || ua.k == K_INF) return a;
    /* trunc(b), clamped: beyond +-2^20 every result overflows/underflows. */
    int64_t n = 0;
    if (ub.k != K_ZERO) {
        if (ub.exp > 20) n = 1 << 21;
        else if (ub.exp >= 0) n = (int64_t)(ub.sig >> (63 - ub.exp));
        if (ub.sign) n = -n;
    }
    return pack80(c, ua.sign, (int32_t)(ua.exp + n + 64), ua.sig, 64);
}

void fp80_xtract(struct fp_ctx *c, fp80 a, fp80 *exp, fp80 *sig)
{
    struct unp u = unpack(a);
    switch (u.k) {
    case K_UNSUP:
        *exp = *sig = invalid(c);
        return;
    case K_SNAN:
        c->flags |= FP_IE;
        /* fall through */
    case K_QNAN:
        *exp = *sig = quiet80(a);
        return;
    case K_ZERO:
        /* SDM vol. 2, FXTRACT: ZE, exponent -inf, significand the zero. */
        c->flags |= FP_ZE;
        *exp = inf80(true);
        *sig = a;
        return;
    case K_INF:
        *exp = inf80(false);
        *sig = a;
        return;
    case K_DENORMAL:
        c->flags |= FP_DE;
        /* fall through */
    default:
        *exp = fp80_from_i64(u.exp);
        *sig = fp80_make(u.sign, FP80_BIAS, u.sig);
        return;
    }
}

/* ---- compare, classify ----------------------------------------------- */

enum fp_cmp fp80_compare(struct fp_ctx *c, fp80 a, fp80 b, bool quiet)
{
    struct unp ua = unpack(a), ub = unpack(b);
    if (is_nan_k(ua.k) || is_nan_k(ub.k)) {
        if (!quiet || ua.k == K_SNAN || ub.k == K_SNAN || ua.k == K_UNSUP ||
            ub.k == K_UNSUP)
            c->flags |= FP_IE;
        return FP_CMP_UN;
    }
    if (ua.k == K_DENORMAL || ub.k == K_DENORMAL) c->flags |= FP_DE;
    if (ua.k == K_ZERO && ub.k == K_ZERO) return FP_CMP_EQ;
    if (ua.k == K_ZERO) return ub.sign ? FP_CMP_GT : FP_CMP_LT;
    if (ub.k == K_ZERO) return ua.sign ? FP_CMP_LT : FP_CMP_GT;
    if (ua.sign != ub.sign) return ua.sign ? FP_CMP_LT : FP_CMP_GT;
    /* Same sign: order magnitudes as (infinity, exponent, significand). */
    int mag;
    if (ua.k == K_INF || ub.k == K_INF)
        mag = (ua.k == K_INF) - (ub.k == K_INF);
    else if (ua.exp != ub.exp) mag = ua.exp < ub.exp ? -1 : 1;
    else if (ua.sig != ub.sig) mag = ua.sig < ub.sig ? -1 : 1;
    else mag = 0;
    if (mag == 0) return FP_CMP_EQ;
    return (mag < 0) ^ ua.sign ? FP_CMP_LT : FP_CMP_GT;
}

uint16_t fp_cmp_fsw(enum fp_cmp r)
{
    switch (r) {
    case FP_CMP_LT: return FP_C0;
    case FP_CMP_EQ: return FP_C3;
    case FP_CMP_GT: return 0;
    default:        return FP_C3 | FP_C2 | FP_C0;
    }
}

uint16_t fp80_xam(fp80 a)
{
    uint16_t s = fp80_sign(a) ? FP_C1 : 0;
    switch (unpack(a).k) {
    case K_ZERO:     return s | FP_C3;
    case K_NORMAL:   return s | FP_C2;
    case K_DENORMAL: return s | FP_C3 | FP_C2;
    case K_INF:      return s | FP_C2 | FP_C0;
    case K_QNAN:
    case K_SNAN:     return s | FP_C0;
    default:         return s;
    }
}

/* ---- integer conversions --------------------------------------------- */

fp80 fp80_from_i64(int64_t v)
{
    if (v == 0) return zero80(false);
    bool s = v < 0;
    uint64_t m = s ? -(uint64_t)v : (uint64_t)v;
    int z = __builtin_clzll(m);
    return fp80_make(s, (uint16_t)(FP80_BIAS + 63 - z), m << z);
}

/* Round to an integer of 'bits' bits; false on overflow/invalid. */
static bool to_int(struct fp_ctx *c, fp80 a, bool trunc, int bits, int64_t *out)
{
    struct unp u = unpack(a);
    if (u.k == K_UNSUP || u.k == K_QNAN || u.k == K_SNAN || u.k == K_INF) return false;
    if (u.k == K_ZERO) { *out = 0; return true; }
    /* Stores never report DE (observed on Intel parts, like FST m32). */
    if (u.exp >= 64) return false;
    struct fp_ctx t = *c;
    if (trunc) t.rounding = FP_RC_ZERO;
    bool inexact = false, inc = false;
    u128 k = u.exp >= 63 ? (u128)u.sig
           : round_bits(&t, u.sign, u.sig, 63 - u.exp > 129 ? 129 : 63 - u.exp, &inexact, &inc);
    u128 lim = (u128)1 << (bits - 1);
    if (u.sign ? k > lim : k >= lim) return false;
    if (inexact) c->flags |= FP_PE;
    if (inc) c->flags |= FP_C1;
    *out = u.sign ? (int64_t)(0 - (uint64_t)k) : (int64_t)(uint64_t)k;
    return true;
}

int64_t fp80_to_i64(struct fp_ctx *c, fp80 a, bool trunc)
{
    int64_t v;
    if (!to_int(c, a, trunc, 64, &v)) { c->flags |= FP_IE; return INT64_MIN; }
    return v;
}

int32_t fp80_to_i32(struct fp_ctx *c, fp80 a, bool trunc)
{
    int64_t v;
    if (!to_int(c, a, trunc, 32, &v)) { c->flags |= FP_IE; return INT32_MIN; }
    return (int32_t)v;
}

int16_t fp80_to_i16(struct fp_ctx *c, fp80 a, bool trunc)
{
    int64_t v;
    if (!to_int(c, a, trunc, 16, &v)) { c->flags |= FP_IE; return INT16_MIN; }
    return (int16_t)v;
}

/* ---- binary32 / binary64 --------------------------------------------- */

static fp80 from_ieee(struct fp_ctx *c, uint64_t bits, int ebits, int fbits)
{
    bool s = (bits >> (ebits + fbits)) & 1;
    uint32_t emax_f = (1u << ebits) - 1;
    uint32_t e = (uint32_t)(bits >> fbits) & emax_f;
    uint64_t f = bits & ((1ull << fbits) - 1);
    int32_t bias = (int32_t)(emax_f >> 1);
    if (e == emax_f) {
        if (f == 0) return inf80(s);
        fp80 r = fp80_make(s, 0x7fff, (1ull << 63) | (f << (63 - fbits)));
        if (!((f >> (fbits - 1)) & 1)) { c->flags |= FP_IE; r = quiet80(r); }
        return r;
    }
    if (e == 0) {
        if (f == 0) return zero80(s);
        c->flags |= FP_DE;
        int z = __builtin_clzll(f);
        /* value = f * 2^(1 - bias - fbits) */
        return fp80_make(s, (uint16_t)(FP80_BIAS + 1 - bias - fbits + 63 - z), f << z);
    }
    return fp80_make(s, (uint16_t)(FP80_BIAS + (int32_t)e - bias),
                     (1ull << 63) | (f << (63 - fbits)));
}

fp80 fp80_from_f32(struct fp_ctx *c, uint32_t f) { return from_ieee(c, f, 8, 23); }
fp80 fp80_from_f64(struct fp_ctx *c, uint64_t f) { return from_ieee(c, f, 11, 52); }

static uint64_t to_ieee(struct fp_ctx *c, fp80 a, int ebits, int fbits)
{
    struct unp u = unpack(a);
    uint64_t sbit = (uint64_t)u.sign << (ebits + fbits);
    uint64_t emax_f = (1ull << ebits) - 1;
    uint64_t inf = emax_f << fbits;
    switch (u.k) {
    case K_UNSUP:
        c->flags |= FP_IE;
        return (1ull << (ebits + fbits)) | inf | (1ull << (fbits - 1));
    case K_SNAN:
        c->flags |= FP_IE;
        /* fall through */
    case K_QNAN:
        return sbit | inf | (1ull << (fbits - 1)) |
               ((a.mant << 1) >> (64 - fbits));
    case K_INF:
        return sbit | inf;
    case K_ZERO:
        return sbit;
    default: {
        /* No DE here: FST m32/m64 of an 80-bit denormal reports only the
         * underflow (observed on Intel; the SDM lists DE for FST only for
         * the 32/64-bit *loads*). */
        int32_t emax = (int32_t)(emax_f >> 1);
        struct fp_rounded r = fp_round_pack(c, u.sign, u.exp, (u128)u.sig << 64,
                                            fbits + 1, 1 - emax, emax, false);
        return sbit | ((uint64_t)r.bexp << fbits) |
               ((r.sig >> (63 - fbits)) & ((1ull << fbits) - 1));
    }
    }
}

uint32_t fp80_to_f32(struct fp_ctx *c, fp80 a) { return (uint32_t)to_ieee(c, a, 8, 23); }
uint64_t fp80_to_f64(struct fp_ctx *c, fp80 a) { return to_ieee(c, a, 11, 52); }

/* ---- packed BCD -------------------------------------------------------- */

fp80 fp80_from_bcd(const uint8_t bcd[10])
{
    /* Digits above 9 are undefined (SDM vol. 1, 4.7): take them at face
     * value, which never overflows 64 bits (18 nibbles * 15 < 2^64). */
    uint64_t v = 0;
    for (int i = 8; i >= 0; i--)
        v = v * 100 + (uint64_t)(bcd[i] >> 4) * 10 + (bcd[i] & 15);
    bool s = bcd[9] >> 7;
    if (v == 0) return zero80(s);
    int z = __builtin_clzll(v);
    return fp80_make(s, (uint16_t)(FP80_BIAS + 63 - z), v << z);
}

void fp80_to_bcd(struct fp_ctx *c, fp80 a, uint8_t bcd[10])
{
    int64_t v;
    memset(bcd, 0, 10);
    struct fp_ctx t = *c;
    if (!to_int(&t, a, false, 64, &v) ||
        v >= 1000000000000000000ll || v <= -1000000000000000000ll) {
        /* The packed BCD indefinite (SDM vol. 1, table 4-12). */
        c->flags |= FP_IE;
        bcd[7] = 0xC0; bcd[8] = 0xFF; bcd[9] = 0xFF;
        return;
    }
    c->flags = t.flags;
    uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
    for (int i = 0; i < 9; i++) {
        bcd[i] = (uint8_t)((m % 10) | ((m / 10 % 10) << 4));
        m /= 100;
    }
    if (fp80_sign(a)) bcd[9] = 0x80;
}

/* ---- constants -------------------------------------------------------- */

fp80 fp80_const(const struct fp_ctx *c, enum fp80_constant k)
{
    /* The x87 keeps these with 66 significant bits and rounds them to 64
     * per RC (SDM vol. 1, 8.3.8).  mant = top 64 bits, two = the next two. */
    static const struct { uint16_t exp; uint64_t mant; uint8_t two; } tab[] = {
        [FP80_ONE] = { 0x3fff, 0x8000000000000000ull, 0 },
        [FP80_L2T] = { 0x4000, 0xD49A784BCD1B8AFEull, 1 },
        [FP80_L2E] = { 0x3fff, 0xB8AA3B295C17F0BBull, 2 },
        [FP80_PI]  = { 0x4000, 0xC90FDAA22168C234ull, 3 },
        [FP80_LG2] = { 0x3ffd, 0x9A209A84FBCFF798ull, 2 },
        [FP80_LN2] = { 0x3ffe, 0xB17217F7D1CF79ABull, 3 },
        [FP80_ZERO] = { 0, 0, 0 },
    };
    if ((unsigned)k > FP80_ZERO) k = FP80_ZERO;
    uint64_t m = tab[k].mant;
    bool up;
    switch (c->rounding) {
    case FP_RC_NEAREST: up = tab[k].two >= 2; break;  /* more bits follow: no ties */
    case FP_RC_UP:      up = tab[k].two != 0; break;
    default:            up = false; break;
    }
    return fp80_make(false, tab[k].exp, m + up);
}
