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
    int32_t adjust = 3 * (emax + 1) / 2;    /* 24576, 1536, 192 */
    if (sig == 0)
        return r;
    int z = clz128(sig);
    sig <<= z;
    exp -= z;
    bool inexact, inc;
    if (exp > emax && (c->traps & FP_OE)) {
        /* Unmasked overflow: deliver the bias-adjusted result; beyond even
         * that range, an infinity whatever RC says (observed). */
        c->flags |= FP_OE;
        exp -= adjust;
        if (exp > emax) {
            c->flags |= FP_PE | FP_C1;
            r.sig = 1ull << 63;
            r.bexp = emax + bias + 1;
            return r;
        }
    }
    if (exp > emax)
        goto overflow;
    if (exp >= emin) {
        u128 k = round_bits(c, sign, sig, 128 - prec, &inexact, &inc);
        if (k >> prec) { k >>= 1; exp++; }
        if (exp > emax) {
            if (c->traps & FP_OE) {
                c->flags |= FP_OE;
                exp -= adjust;
            } else {
                goto overflow;
            }
        }
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
    if (tiny && (c->traps & FP_UE)) {
        /* Unmasked underflow: UE even when exact, bias-adjusted result
         * (too tiny even for that: the masked response, UE still set). */
        c->flags |= FP_UE;
        if (exp + adjust < emin) {
            /* Too tiny even for that.  The x87 delivers a zero, inexact
             * whatever RC says; SSE delivers nothing and reports PE only
             * if the significand itself does not fit (both observed). */
            bool ix, ic;
            round_bits(c, sign, sig, 128 - prec, &ix, &ic);
            if (ix || emax == FP80_BIAS) c->flags |= FP_PE;
            return r;
        }
        exp += adjust;
        u128 k = round_bits(c, sign, sig, 128 - prec, &inexact, &inc);
        if (k >> prec) { k >>= 1; exp++; }
        if (inexact) c->flags |= FP_PE;
        if (inc) c->flags |= FP_C1;
        r.sig = (uint64_t)k << (64 - prec);
        r.bexp = exp + bias;
        return r;
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

/* ---- transcendentals ---------------------------------------------------
 * Evaluated in a 128-bit-significand float ("xf": m * 2^(e-127), m
 * normalized) with truncating arithmetic (~125 correct bits after a series),
 * then rounded once to 64 bits.  Argument reduction for FSIN/FCOS/FPTAN
 * subtracts k * pi/2 exactly (pi/2 held as integer limbs). */

struct xf { bool s; int32_t e; u128 m; };

static struct xf xf_make(bool s, int32_t e, u128 m)
{
    if (!m) return (struct xf){ s, 0, 0 };
    int z = clz128(m);
    return (struct xf){ s, e - z, m << z };
}

#define U128(hi, lo) (((u128)(hi) << 64) | (lo))
static const struct xf XF_ONE = { false, 0, (u128)1 << 127 };
static const struct xf XF_PI = { false, 1, U128(0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull) };
static const struct xf XF_PIO2 = { false, 0, U128(0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull) };
static const struct xf XF_PIO4 = { false, -1, U128(0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull) };
static const struct xf XF_2OPI = { false, -1, U128(0xa2f9836e4e441529ull, 0xfc2757d1f534ddc0ull) };
static const struct xf XF_LN2 = { false, -1, U128(0xb17217f7d1cf79abull, 0xc9e3b39803f2f6afull) };
static const struct xf XF_LOG2E = { false, 0, U128(0xb8aa3b295c17f0bbull, 0xbe87fed0691d3e88ull) };
static const u128 SQRT2_M = U128(0xb504f333f9de6484ull, 0x597d89b3754abe9full);

static struct xf xf_neg(struct xf a) { a.s = !a.s; return a; }
static struct xf xf_from_int(int64_t v)
{
    return xf_make(v < 0, 127, v < 0 ? -(uint64_t)v : (uint64_t)v);
}
static struct xf xf_from_unp(struct unp u)
{
    if (u.k == K_ZERO) return (struct xf){ u.sign, 0, 0 };
    return xf_make(u.sign, u.exp, (u128)u.sig << 64);
}

/* High 128 bits of a 256-bit product, the lost low half jammed into bit 0. */
static u128 mul_hi128(u128 a, u128 b)
{
    uint64_t a1 = (uint64_t)(a >> 64), a0 = (uint64_t)a, b1 = (uint64_t)(b >> 64), b0 = (uint64_t)b;
    u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
    u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    bool lost = (uint64_t)p00 != 0 || (uint64_t)mid != 0;
    return (p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64)) | lost;
}

static struct xf xf_mul(struct xf a, struct xf b)
{
    if (!a.m || !b.m) return (struct xf){ a.s ^ b.s, 0, 0 };
    return xf_make(a.s ^ b.s, a.e + b.e + 1, mul_hi128(a.m, b.m));
}

static struct xf xf_add(struct xf a, struct xf b)
{
    if (!b.m) return a;
    if (!a.m) return b;
    if (a.e < b.e || (a.e == b.e && a.m < b.m)) { struct xf t = a; a = b; b = t; }
    int32_t d = a.e - b.e;
    /* Jam the bits shifted out so an inexact sum stays on the right side
     * of its 64-bit rounding point (PE and C1 of the final rounding). */
    u128 am = a.m >> 1, bm = shr_jam(b.m, d + 1 > 200 ? 200 : d + 1);
    return xf_make(a.s, a.e + 1, a.s == b.s ? am + bm : am - bm);
}
static struct xf xf_sub(struct xf a, struct xf b) { return xf_add(a, xf_neg(b)); }

static struct xf xf_div(struct xf a, struct xf b)
{
    if (!a.m || !b.m) return (struct xf){ a.s ^ b.s, 0, 0 };
    bool top = a.m >= b.m;
    u128 r = top ? a.m - b.m : a.m, q = top;
    for (int i = 0; i < 127; i++) {
        bool carry = r >> 127;
        r <<= 1;
        q <<= 1;
        if (carry || r >= b.m) { r -= b.m; q |= 1; }
    }
    return xf_make(a.s ^ b.s, a.e - b.e, q | (r != 0));
}

/* a / n for a small positive integer n: three-limb long division. */
static struct xf xf_div_small(struct xf a, uint64_t n)
{
    if (!a.m) return a;
    uint64_t l1 = (uint64_t)(a.m >> 64), l0 = (uint64_t)a.m;
    u128 q1 = l1 / n, r = l1 % n;
    u128 x = (r << 64) | l0;
    u128 q0 = x / n; r = x % n;
    u128 qm1 = (r << 64) / n;
    qm1 |= ((r << 64) % n) != 0;
    /* quotient = (q1:q0:qm1) * 2^-64 relative to a.m */
    int z = clz128(q1 << 64 | q0);
    u128 top = (q1 << 64) | q0;
    u128 m = z ? (top << z) | (qm1 >> (64 - z)) : top;
    return (struct xf){ a.s, a.e - z, m };
}

/* A term this far below the sum ends a series: it is still added (its
 * sticky bit keeps the sum on the correct side for PE/C1), and the tail
 * after it is smaller still. */
static bool xf_small(struct xf term, struct xf sum) { return !term.m || term.e < sum.e - 118; }

/* 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), for |t| <= 0.18. */
static struct xf xf_atanh2(struct xf t)
{
    struct xf t2 = xf_mul(t, t), p = t, sum = t;
    for (uint64_t k = 3; k < 200; k += 2) {
        p = xf_mul(p, t2);
        struct xf term = xf_div_small(p, k);
        sum = xf_add(sum, term);
        if (xf_small(term, sum)) break;
    }
    sum.e += 1;
    return sum;
}

/* log2(x) for x > 0 finite. */
static struct xf xf_log2(struct xf x)
{
    int32_t e = x.e;
    struct xf m = { false, 0, x.m };
    if (m.m > SQRT2_M) { m.e = -1; e += 1; }
    struct xf t = xf_div(xf_sub(m, XF_ONE), xf_add(m, XF_ONE));
    struct xf l = xf_mul(xf_atanh2(t), XF_LOG2E);
    return xf_add(xf_from_int(e), l);
}

/* exp(y) - 1 for |y| <= 0.7 (Taylor, no cancellation: starts at y). */
static struct xf xf_expm1_small(struct xf y)
{
    struct xf term = y, sum = y;
    for (uint64_t k = 2; k < 200; k++) {
        term = xf_div_small(xf_mul(term, y), k);
        sum = xf_add(sum, term);
        if (xf_small(term, sum)) break;
    }
    return sum;
}

/* sin(r), cos(r) for |r| <= pi/4 + a little. */
static struct xf xf_sin_small(struct xf r)
{
    struct xf r2 = xf_mul(r, r), term = r, sum = r;
    for (uint64_t k = 2; k < 200; k += 2) {
        term = xf_neg(xf_div_small(xf_mul(term, r2), k * (k + 1)));
        sum = xf_add(sum, term);
        if (xf_small(term, sum)) break;
    }
    return sum;
}

static struct xf xf_cos_small(struct xf r)
{
    struct xf r2 = xf_mul(r, r), term = XF_ONE, sum = XF_ONE;
    for (uint64_t k = 1; k < 200; k += 2) {
        term = xf_neg(xf_div_small(xf_mul(term, r2), k * (k + 1)));
        sum = xf_add(sum, term);
        if (xf_small(term, sum)) break;
    }
    return sum;
}

/* atan(t) for 0 <= t <= 1. */
static struct xf xf_atan01(struct xf t)
{
    static const u128 TAN_PI8 = U128(0xd413cccfe7799211ull, 0x65f626cdd52afa7cull); /* e=-2 */
    bool shifted = false;
    if (t.m && (t.e > -2 || (t.e == -2 && t.m > TAN_PI8))) {
        /* atan(t) = pi/4 + atan((t-1)/(t+1)) */
        t = xf_div(xf_sub(t, XF_ONE), xf_add(t, XF_ONE));
        shifted = true;
    }
    struct xf t2 = xf_mul(t, t), p = t, sum = t;
    for (uint64_t k = 3; k < 400; k += 2) {
        p = xf_neg(xf_mul(p, t2));
        struct xf term = xf_div_small(p, k);
        sum = xf_add(sum, term);
        if (xf_small(term, sum)) break;
    }
    return shifted ? xf_add(XF_PIO4, sum) : sum;
}

/* Final rounding of a transcendental.  The hardware reports PE for every
 * such result, exactly representable ones included (FYL2X(8, 1) = 3,
 * F2XM1(1) = 1): its internal value is an approximation. */
static fp80 xf_round(struct fp_ctx *c, struct xf x)
{
    c->flags |= FP_PE;
    if (!x.m) return zero80(x.s);
    return pack80(c, x.s, x.e, x.m, 64);
}

/* One-operand NaN/unsupported handling; true when it decided *res. */
static bool nan_rule1(struct fp_ctx *c, fp80 a, struct unp u, fp80 *res)
{
    if (u.k == K_UNSUP) { *res = invalid(c); return true; }
    if (u.k == K_SNAN) { c->flags |= FP_IE; *res = quiet80(a); return true; }
    if (u.k == K_QNAN) { *res = a; return true; }
    return false;
}

fp80 fp80_f2xm1(struct fp_ctx *c, fp80 x)
{
    struct unp u = unpack(x);
    fp80 res;
    if (nan_rule1(c, x, u, &res)) return res;
    if (u.k == K_ZERO) return x;
    if (u.k == K_INF) return u.sign ? fp80_make(true, 0x3fff, 1ull << 63) : x;
    if (u.k == K_DENORMAL) c->flags |= FP_DE;
    /* The SDM defines -1 <= x <= +1; beyond, 2^x - 1 is still computed:
     * 2^n * 2^f - 1 with n = round(x), |f| <= 1/2. */
    struct xf xv = xf_from_unp(u);
    if (u.exp >= 15) xv = xf_make(u.sign, 127, 1 << 15);
    int64_t n = 0;
    if (u.exp >= 0) {
        struct fp_ctx t = { .rounding = FP_RC_NEAREST, .precision = 64 };
        n = fp80_to_i64(&t, xf_round(&t, xv), false);
        xv = xf_sub(xv, xf_from_int(n));
    }
    struct xf r = xf_expm1_small(xf_mul(xv, XF_LN2));
    if (n) {
        r = xf_add(r, XF_ONE);
        r.e += (int32_t)n;
        r = xf_sub(r, XF_ONE);
    }
    return xf_round(c, r);
}

fp80 fp80_fyl2x(struct fp_ctx *c, fp80 x, fp80 y)
{
    struct unp ux = unpack(x), uy = unpack(y);
    fp80 res;
    if (nan_rule2(c, x, ux, y, uy, &res)) return res;
    if (ux.sign && ux.k != K_ZERO) return invalid(c);
    /* log2(x): -inf for 0 (ZE if y is finite and nonzero), +inf for
     * +inf, +0 for 1; then the usual product rules (0 * inf invalid). */
    bool linf = ux.k == K_ZERO || ux.k == K_INF;
    bool lneg = ux.k == K_ZERO || (ux.k != K_INF && ux.exp < 0);
    bool lzero = ux.k != K_ZERO && ux.k != K_INF && ux.exp == 0 && ux.sig == 1ull << 63;
    if ((linf && uy.k == K_ZERO) || (lzero && uy.k == K_INF)) return invalid(c);
    if (ux.k == K_DENORMAL || uy.k == K_DENORMAL) c->flags |= FP_DE;
    bool s = uy.sign ^ lneg;
    if (linf || uy.k == K_INF) {
        if (ux.k == K_ZERO && uy.k != K_INF) c->flags |= FP_ZE;
        return inf80(s);
    }
    if (lzero || uy.k == K_ZERO) return zero80(s);
    return xf_round(c, xf_mul(xf_from_unp(uy), xf_log2(xf_from_unp(ux))));
}

fp80 fp80_fyl2xp1(struct fp_ctx *c, fp80 x, fp80 y)
{
    struct unp ux = unpack(x), uy = unpack(y);
    fp80 res;
    if (nan_rule2(c, x, ux, y, uy, &res)) return res;
    /* Defined for |x| < 1 - sqrt(2)/2; outside, log2(1 + x) as far as it
     * makes sense, invalid below -1. */
    struct xf xv = xf_from_unp(ux);
    struct xf onep = xf_add(XF_ONE, xv);
    if (ux.k == K_INF ? ux.sign : (onep.s && onep.m)) return invalid(c);
    bool lzero = ux.k == K_ZERO, lneg = ux.sign;
    bool linf = ux.k == K_INF || !onep.m;
    if ((lzero && uy.k == K_INF) || (linf && uy.k == K_ZERO)) return invalid(c);
    if (ux.k == K_DENORMAL || uy.k == K_DENORMAL) c->flags |= FP_DE;
    bool s = uy.sign ^ lneg;
    if (linf || uy.k == K_INF) {
        if (!onep.m && uy.k != K_INF) c->flags |= FP_ZE;
        return inf80(s);
    }
    if (lzero || uy.k == K_ZERO) return zero80(s);
    struct xf l;
    if (ux.exp < -1) {
        /* ln(1+x) = 2 atanh(x / (2 + x)), accurate for tiny x. */
        struct xf two = XF_ONE; two.e = 1;
        l = xf_mul(xf_atanh2(xf_div(xv, xf_add(two, xv))), XF_LOG2E);
    } else {
        l = xf_log2(onep);
    }
    return xf_round(c, xf_mul(xf_from_unp(uy), l));
}

fp80 fp80_fpatan(struct fp_ctx *c, fp80 x, fp80 y)
{
    struct unp ux = unpack(x), uy = unpack(y);
    fp80 res;
    if (nan_rule2(c, x, ux, y, uy, &res)) return res;
    if (ux.k == K_DENORMAL || uy.k == K_DENORMAL) c->flags |= FP_DE;
    /* atan2 quadrant rules (SDM vol. 2, FPATAN table 3-29): no invalid
     * case, signed zeros and infinities pick the angle. */
    struct xf a;
    if (uy.k == K_ZERO) {
        if (!ux.sign) return zero80(uy.sign);
        a = XF_PI;
    } else if (ux.k == K_ZERO) {
        a = XF_PIO2;
    } else if (uy.k == K_INF) {
        if (ux.k == K_INF)
            a = ux.sign ? xf_add(XF_PIO2, XF_PIO4) : XF_PIO4;
        else
            a = XF_PIO2;
    } else if (ux.k == K_INF) {
        if (!ux.sign) return zero80(uy.sign);
        a = XF_PI;
    } else {
        struct xf ax = xf_from_unp(ux), ay = xf_from_unp(uy);
        ax.s = ay.s = false;
        bool swap = ay.e > ax.e || (ay.e == ax.e && ay.m > ax.m);
        struct xf t = swap ? xf_div(ax, ay) : xf_div(ay, ax);
        a = xf_atan01(t);
        if (swap) a = xf_sub(XF_PIO2, a);
        if (ux.sign) a = xf_sub(XF_PI, a);
    }
    a.s = uy.sign;
    return xf_round(c, a);
}

/* Reduce x (|x| < 2^63) modulo pi/2: r = x - k * pi/2 with k = round(x *
 * 2/pi), subtracting k * pi/2 limb by limb so the cancellation is exact.
 * Intel parts reduce with a 66-bit pi (the famous FSIN inaccuracy near
 * multiples of pi); we do the same so results match the hardware. */
static struct xf reduce_pio2(struct unp u, unsigned *quadrant)
{
    struct xf x = xf_from_unp(u);
    x.s = false;
    *quadrant = 0;
    if (x.e < -1 || (x.e == -1 && x.m <= XF_PIO4.m)) {
        x.s = u.sign;
        return x;
    }
    struct fp_ctx t = { .rounding = FP_RC_NEAREST, .precision = 64 };
    uint64_t k = (uint64_t)fp80_to_i64(&t, xf_round(&t, xf_mul(x, XF_2OPI)), false);
    /* pi/2 = P1 * 2^-63 + P2 * 2^-127 (66 significant bits). */
    const uint64_t P1 = 0xc90fdaa22168c234ull, P2 = 0xc000000000000000ull;
    struct xf kp1 = xf_make(false, 64, (u128)k * P1);
    struct xf kp2 = xf_make(false, 0, (u128)k * P2);
    struct xf r = xf_sub(xf_sub(x, kp1), kp2);
    *quadrant = (unsigned)(k & 3);
    if (u.sign) {
        r = xf_neg(r);
        *quadrant = (4 - *quadrant) & 3;
    }
    return r;
}

/* Shared front end of FSIN/FCOS/FSINCOS/FPTAN: false for |x| >= 2^63. */
static bool trig(struct fp_ctx *c, fp80 x, fp80 *s_out, fp80 *c_out, fp80 *t_out)
{
    struct unp u = unpack(x);
    fp80 res;
    if (u.k != K_INF && u.k != K_ZERO && nan_rule1(c, x, u, &res)) {
        if (s_out) *s_out = res;
        if (c_out) *c_out = res;
        if (t_out) *t_out = res;
        return true;
    }
    if (u.k == K_INF) {
        res = invalid(c);
        if (s_out) *s_out = res;
        if (c_out) *c_out = res;
        if (t_out) *t_out = res;
        return true;
    }
    if (u.k != K_ZERO && u.exp >= 63) return false;
    if (u.k == K_DENORMAL) c->flags |= FP_DE;
    if (u.k == K_ZERO) {
        if (s_out) *s_out = x;
        if (t_out) *t_out = x;
        if (c_out) *c_out = fp80_make(false, 0x3fff, 1ull << 63);
        return true;
    }
    unsigned q;
    struct xf r = reduce_pio2(u, &q);
    struct xf sr, cr;
    if (r.e < -62) {
        /* |r| < 2^-62: sin r = r - r^3/6 and cos r = 1 - r^2/2 where the
         * corrections sit below bit 126; a one-unit nudge at bit 0 keeps
         * rounding (PE, C1, directed modes) on the true side.  r came from
         * a 64-bit significand, so its low bits are zero. */
        sr = r;
        sr.m -= 1;
        cr = (struct xf){ false, -1, ~(u128)0 };
    } else {
        sr = xf_sin_small(r);
        cr = xf_cos_small(r);
    }
    struct xf sv = (q & 1) ? cr : sr, cv = (q & 1) ? sr : cr;
    if (q == 2 || q == 3) sv = xf_neg(sv);
    if (q == 1 || q == 2) cv = xf_neg(cv);
    if (s_out) *s_out = xf_round(c, sv);
    if (c_out) {
        /* FSINCOS: C1 reports the rounding of the sine (observed). */
        uint16_t keep = c->flags & FP_C1;
        *c_out = xf_round(c, cv);
        if (s_out) c->flags = (uint16_t)((c->flags & ~FP_C1) | keep);
    }
    if (t_out) *t_out = xf_round(c, xf_div(sv, cv));
    return true;
}

bool fp80_fsin(struct fp_ctx *c, fp80 x, fp80 *s) { return trig(c, x, s, NULL, NULL); }
bool fp80_fcos(struct fp_ctx *c, fp80 x, fp80 *co) { return trig(c, x, NULL, co, NULL); }
bool fp80_fsincos(struct fp_ctx *c, fp80 x, fp80 *s, fp80 *co) { return trig(c, x, s, co, NULL); }
bool fp80_fptan(struct fp_ctx *c, fp80 x, fp80 *t, fp80 *push)
{
    if (!trig(c, x, NULL, NULL, t)) return false;
    /* A NaN result (NaN operand, infinity, unsupported) is pushed as well
     * instead of 1.0 (observed on hardware). */
    *push = fp80_is_nan(*t) ? *t : fp80_make(false, 0x3fff, 1ull << 63);
    return true;
}
