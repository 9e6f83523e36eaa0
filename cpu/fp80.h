/* x87 80-bit extended-precision soft-float (SDM vol. 1, ch. 4 and 8).
 *
 * Pure integer C (uint64_t significand, unsigned __int128 for wide
 * intermediates): no host long double, no host FPU state, so an x86-64 and
 * an ARM64 host give bit-identical results.  The library knows nothing of
 * the x87 register stack; it computes one operation on values and reports
 * exception flags into a context.  Results are the masked responses
 * (SDM vol. 1, 4.9.1 / 8.5), except that ctx->traps selects the unmasked
 * overflow/underflow behaviour (bias-adjusted results); deciding whether
 * to write a result and raising #MF is the caller's (x87.c).
 *
 * Behaviour not pinned down by the SDM (DE/ZE precedence, NaN choice,
 * FPREM's partial-reduction step, constants' rounding, transcendental
 * flags...) follows what the hardware does; the unit tests compare with
 * the host's x87 bit for bit (transcendentals: within 1 ulp).
 */
#ifndef CPU_FP80_H
#define CPU_FP80_H

#include <stdbool.h>
#include <stdint.h>

/* sexp: sign in bit 15, biased exponent (bias 16383) in bits 14..0;
 * mant: 64-bit significand with the explicit integer bit in bit 63. */
typedef struct { uint64_t mant; uint16_t sexp; } fp80;

/* Rounding control: the x87 FCW.RC and MXCSR.RC encodings. */
enum { FP_RC_NEAREST = 0, FP_RC_DOWN = 1, FP_RC_UP = 2, FP_RC_ZERO = 3 };

/* Exception flags: the bit layout of both FSW and MXCSR (bits 0..5). */
#define FP_IE 0x0001u   /* invalid operation */
#define FP_DE 0x0002u   /* denormal operand */
#define FP_ZE 0x0004u   /* divide by zero */
#define FP_OE 0x0008u   /* overflow */
#define FP_UE 0x0010u   /* underflow */
#define FP_PE 0x0020u   /* precision (inexact) */
/* Condition codes at their FSW positions.  In ctx->flags, FP_C1 means
 * "the last rounding incremented the significand" (SDM 8.1.3.1): the x87
 * layer copies it to FSW.C1 for instructions that define C1 that way. */
#define FP_C0 0x0100u
#define FP_C1 0x0200u
#define FP_C2 0x0400u
#define FP_C3 0x4000u

struct fp_ctx {
    uint8_t rounding;   /* FP_RC_* */
    uint8_t precision;  /* x87 PC as significand bits: 24, 53 or 64 */
    uint16_t flags;     /* FP_IE.. FP_PE, FP_C1: accumulated, never cleared here */
    bool ftz;           /* SSE only: flush tiny results to zero (DAZ is
                         * applied by sse_fp.c when it unpacks operands) */
    /* Unmasked exceptions (FP_OE, FP_UE matter here): an overflow or
     * underflow then yields the result with its exponent biased by
     * -/+ 3*2^(k-2) (24576 for 80-bit; SDM vol. 1, 4.9.1.4-5, 8.5.4-5) and
     * UE is reported for every tiny result, exact or not. */
    uint16_t traps;
};

/* Initial context: round to nearest, 64-bit precision, no flags. */
static inline struct fp_ctx fp_ctx_x87(void)
{
    return (struct fp_ctx){ .rounding = FP_RC_NEAREST, .precision = 64 };
}
/* From the x87 control word: RC bits 11..10, PC bits 9..8 (00=24, 10=53,
 * 11=64; 01 is reserved and behaves as 64 here). */
static inline struct fp_ctx fp_ctx_from_fcw(uint16_t fcw)
{
    static const uint8_t pc[4] = { 24, 64, 53, 64 };
    return (struct fp_ctx){ .rounding = (uint8_t)((fcw >> 10) & 3),
                            .precision = pc[(fcw >> 8) & 3],
                            .traps = (uint16_t)(~fcw & 0x3f) };
}

static inline fp80 fp80_make(bool sign, uint16_t exp, uint64_t mant)
{
    return (fp80){ .mant = mant, .sexp = (uint16_t)((sign ? 0x8000 : 0) | (exp & 0x7fff)) };
}
#define FP80_BIAS 16383
/* The real indefinite: the default QNaN produced by masked invalid ops. */
static inline fp80 fp80_indefinite(void) { return fp80_make(true, 0x7fff, 0xC000000000000000ull); }
static inline bool fp80_sign(fp80 a) { return a.sexp >> 15; }
bool fp80_is_nan(fp80 a);
bool fp80_is_snan(fp80 a);
/* Unnormals, pseudo-infinities and pseudo-NaNs (SDM 8.2.2): invalid
 * operands for every arithmetic instruction since the 387. */
bool fp80_is_unsupported(fp80 a);

/* Arithmetic, rounded to ctx->precision bits with the full 15-bit exponent
 * range (precision control, SDM 8.1.5.2). */
fp80 fp80_add(struct fp_ctx *c, fp80 a, fp80 b);
fp80 fp80_sub(struct fp_ctx *c, fp80 a, fp80 b);
fp80 fp80_mul(struct fp_ctx *c, fp80 a, fp80 b);
fp80 fp80_div(struct fp_ctx *c, fp80 a, fp80 b);
fp80 fp80_sqrt(struct fp_ctx *c, fp80 a);

/* FPREM (ieee=false: quotient truncated) / FPREM1 (ieee=true: quotient
 * rounded to nearest even) of a (ST0) by b (ST1).  *cc receives the FSW
 * condition codes: C2 set when the reduction is incomplete (exponent
 * difference >= 64), otherwise C0=Q2 C3=Q1 C1=Q0. */
fp80 fp80_rem(struct fp_ctx *c, fp80 a, fp80 b, bool ieee, uint16_t *cc);
/* FRNDINT: round to an integral value per ctx->rounding. */
fp80 fp80_round_int(struct fp_ctx *c, fp80 a);
/* FSCALE: a * 2^trunc(b). */
fp80 fp80_scale(struct fp_ctx *c, fp80 a, fp80 b);
/* FXTRACT: a = sig * 2^exp with 1 <= |sig| < 2. */
void fp80_xtract(struct fp_ctx *c, fp80 a, fp80 *exp, fp80 *sig);

/* Comparisons: FCOM/FCOMI (quiet=false: IE on any NaN) and FUCOM/FUCOMI
 * (quiet=true: IE only on SNaN or an unsupported encoding). */
enum fp_cmp { FP_CMP_LT, FP_CMP_EQ, FP_CMP_GT, FP_CMP_UN };
enum fp_cmp fp80_compare(struct fp_ctx *c, fp80 a, fp80 b, bool quiet);
/* The FSW C3 C2 C0 pattern of a comparison result (FCOM/FTST/FUCOM). */
uint16_t fp_cmp_fsw(enum fp_cmp r);
/* FXAM for a non-empty register: C3 C2 C0 class and C1 sign. */
uint16_t fp80_xam(fp80 a);

/* Integer conversions.  fp80_to_iN rounds per ctx->rounding, or truncates
 * when trunc (FISTTP).  Out of range, NaN, infinity or unsupported: IE and
 * the integer indefinite (the most negative value). */
fp80 fp80_from_i64(int64_t v);
int64_t fp80_to_i64(struct fp_ctx *c, fp80 a, bool trunc);
int32_t fp80_to_i32(struct fp_ctx *c, fp80 a, bool trunc);
int16_t fp80_to_i16(struct fp_ctx *c, fp80 a, bool trunc);

/* Binary32/binary64 conversions (FLD/FST m32/m64): loads are exact but
 * report DE for denormals and quiet an SNaN with IE; stores round per
 * ctx->rounding (never precision control). */
fp80 fp80_from_f32(struct fp_ctx *c, uint32_t f);
fp80 fp80_from_f64(struct fp_ctx *c, uint64_t f);
uint32_t fp80_to_f32(struct fp_ctx *c, fp80 a);
uint64_t fp80_to_f64(struct fp_ctx *c, fp80 a);

/* Packed BCD (FBLD/FBSTP): 18 digits, sign in bit 7 of byte 9. */
fp80 fp80_from_bcd(const uint8_t bcd[10]);
void fp80_to_bcd(struct fp_ctx *c, fp80 a, uint8_t bcd[10]);

/* FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ. */
enum fp80_constant { FP80_ONE, FP80_L2T, FP80_L2E, FP80_PI, FP80_LG2, FP80_LN2, FP80_ZERO };
fp80 fp80_const(const struct fp_ctx *c, enum fp80_constant k);

/* Transcendentals (SDM vol. 2, F2XM1 .. FPATAN), evaluated with ~120-bit
 * intermediates and rounded once to 64 bits per ctx->rounding. */
fp80 fp80_f2xm1(struct fp_ctx *c, fp80 x);
fp80 fp80_fyl2x(struct fp_ctx *c, fp80 x /*ST0*/, fp80 y /*ST1*/);
fp80 fp80_fyl2xp1(struct fp_ctx *c, fp80 x /*ST0*/, fp80 y /*ST1*/);
fp80 fp80_fpatan(struct fp_ctx *c, fp80 x /*ST0*/, fp80 y /*ST1*/);
/* FSIN/FCOS/FSINCOS/FPTAN: return false (the caller sets C2 and leaves the
 * operand unchanged) when |x| >= 2^63; results are written only on true.
 * FPTAN: the caller replaces ST0 with *tan and then pushes *push (1.0, or
 * the NaN result when the operand was invalid). */
bool fp80_fsin(struct fp_ctx *c, fp80 x, fp80 *sin);
bool fp80_fcos(struct fp_ctx *c, fp80 x, fp80 *cos);
bool fp80_fsincos(struct fp_ctx *c, fp80 x, fp80 *sin, fp80 *cos);
bool fp80_fptan(struct fp_ctx *c, fp80 x, fp80 *tan, fp80 *push);

/* Shared with sse_fp.c: round an exact value sig * 2^(exp-127) (sig need
 * not be normalized; sticky information in its low bit) to a binary format
 * of prec significand bits (explicit integer bit included) and normal
 * exponent range [emin, emax].  Returns the significand top-aligned in 64
 * bits (integer bit in bit 63 for normal numbers) and the biased exponent
 * (bias = 1 - emin; 0 for denormals and zero; emax + bias + 1 for an
 * infinity, whose significand is 1 << 63).  Tininess is detected after
 * rounding, as x86 does; ftz flushes tiny results (masked UE) to zero. */
struct fp_rounded { uint64_t sig; int32_t bexp; };
struct fp_rounded fp_round_pack(struct fp_ctx *c, bool sign, int32_t exp,
                                unsigned __int128 sig, int prec,
                                int32_t emin, int32_t emax, bool ftz);

/* Significand kernels shared with sse_fp.c.  fp_div_sig: 128 bits of
 * x / y for normalized 64-bit x, y, last bit sticky, as q * 2^(e - 127).
 * fp_isqrt128: floor(sqrt(n)) and the remainder n - root^2. */
unsigned __int128 fp_div_sig(uint64_t x, uint64_t y, int32_t *e);
uint64_t fp_isqrt128(unsigned __int128 n, unsigned __int128 *rem);

#endif
