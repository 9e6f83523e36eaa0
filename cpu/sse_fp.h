/* SSE/SSE2 scalar float helpers (SDM vol. 1, ch. 10-11; vol. 2 per
 * instruction).  One lane per call: a packed instruction calls the scalar
 * helper once per lane, in lane order, with the same *mxcsr, which collects
 * the union of the lanes' flags as the hardware does.
 *
 * Values are raw bit patterns (uint32_t binary32, uint64_t binary64) so the
 * host's float types, NaN conventions and rounding state never leak in.
 * *mxcsr supplies RC (bits 14..13), FTZ (15) and DAZ (6); the helpers OR
 * the exception flags (bits 5..0: IE DE ZE OE UE PE) into it and return the
 * result.  Unmasked exceptions: the flags are those the hardware reports
 * with the MXCSR masks given (an unmasked UM reports UE for every tiny
 * result, exact or not; an unmasked pre-computation DE reports no OE/UE/PE);
 * the caller compares the new flags with the mask bits (12..7) and raises
 * #XM (or #UD when CR4.OSXMMEXCPT is clear) instead of writing the
 * destination (SDM vol. 1, 11.5); the returned value is then meaningless.
 * For packed instructions: run every lane into a temporary, then decide.
 *
 * Implementation: integer soft-float sharing fp80.c's rounding core, with a
 * fast path for the common case (normal operands, normal result, round to
 * nearest) that uses the host's IEEE double arithmetic plus exact error
 * terms to decide inexactness; both paths give identical bits on any
 * IEEE-754 host, x86-64 or ARM64, and the unit test checks that.
 */
#ifndef CPU_SSE_FP_H
#define CPU_SSE_FP_H

#include <stdbool.h>
#include <stdint.h>

#define MXCSR_IE   0x0001u
#define MXCSR_DE   0x0002u
#define MXCSR_ZE   0x0004u
#define MXCSR_OE   0x0008u
#define MXCSR_UE   0x0010u
#define MXCSR_PE   0x0020u
#define MXCSR_FLAGS 0x003fu
#define MXCSR_DAZ  0x0040u
#define MXCSR_MASKS 0x1f80u   /* IM DM ZM OM UM PM */
#define MXCSR_RC_SHIFT 13
#define MXCSR_FTZ  0x8000u
#define MXCSR_RESET 0x1f80u

/* The default NaNs (QNaN floating-point indefinite). */
#define F32_INDEFINITE 0xFFC00000u
#define F64_INDEFINITE 0xFFF8000000000000ull

/* ADDSS/ADDPS .. DIVSD/DIVPD, SQRT*, MIN*, MAX*: a is the first source
 * (the destination register of the legacy-SSE form), b the second. */
uint32_t sse_add_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint32_t sse_sub_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint32_t sse_mul_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint32_t sse_div_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint32_t sse_sqrt_f32(uint32_t *mxcsr, uint32_t a);
uint32_t sse_min_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint32_t sse_max_f32(uint32_t *mxcsr, uint32_t a, uint32_t b);
uint64_t sse_add_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);
uint64_t sse_sub_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);
uint64_t sse_mul_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);
uint64_t sse_div_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);
uint64_t sse_sqrt_f64(uint32_t *mxcsr, uint64_t a);
uint64_t sse_min_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);
uint64_t sse_max_f64(uint32_t *mxcsr, uint64_t a, uint64_t b);

/* CMPPS/CMPSS/CMPPD/CMPSD (and the VEX forms' predicates 0..31; legacy
 * SSE uses imm8 & 7): true when the predicate holds (the caller writes an
 * all-ones or all-zeros lane). */
bool sse_cmp_f32(uint32_t *mxcsr, uint32_t a, uint32_t b, unsigned pred);
bool sse_cmp_f64(uint32_t *mxcsr, uint64_t a, uint64_t b, unsigned pred);

/* COMISS/UCOMISS/COMISD/UCOMISD (signaling = the COMIS forms): returns
 * the ZF, PF and CF bits to put in RFLAGS (OF, SF and AF are cleared by
 * the instruction). */
#define SSE_RFLAGS_CF 0x01u
#define SSE_RFLAGS_PF 0x04u
#define SSE_RFLAGS_ZF 0x40u
unsigned sse_comi_f32(uint32_t *mxcsr, uint32_t a, uint32_t b, bool signaling);
unsigned sse_comi_f64(uint32_t *mxcsr, uint64_t a, uint64_t b, bool signaling);

/* Integer -> float: CVTSI2SS/SD (32 and 64-bit sources), CVTDQ2PS/PD. */
uint32_t sse_cvt_i32_f32(uint32_t *mxcsr, int32_t v);
uint32_t sse_cvt_i64_f32(uint32_t *mxcsr, int64_t v);
uint64_t sse_cvt_i32_f64(uint32_t *mxcsr, int32_t v);
uint64_t sse_cvt_i64_f64(uint32_t *mxcsr, int64_t v);
/* Float -> integer: CVTSS2SI/CVTSD2SI/CVTPS2DQ/CVTPD2DQ round per MXCSR.RC,
 * the CVTT forms (trunc) toward zero; NaN or out of range gives IE and the
 * integer indefinite (0x80000000 / 0x8000000000000000). */
int32_t sse_cvt_f32_i32(uint32_t *mxcsr, uint32_t a, bool trunc);
int64_t sse_cvt_f32_i64(uint32_t *mxcsr, uint32_t a, bool trunc);
int32_t sse_cvt_f64_i32(uint32_t *mxcsr, uint64_t a, bool trunc);
int64_t sse_cvt_f64_i64(uint32_t *mxcsr, uint64_t a, bool trunc);
/* CVTSS2SD/CVTPS2PD and CVTSD2SS/CVTPD2PS. */
uint64_t sse_cvt_f32_f64(uint32_t *mxcsr, uint32_t a);
uint32_t sse_cvt_f64_f32(uint32_t *mxcsr, uint64_t a);

/* ROUNDSS/ROUNDSD/ROUNDPS/ROUNDPD (SSE4.1): imm8 bits 1..0 pick the
 * rounding mode unless bit 2 says "use MXCSR.RC"; bit 3 suppresses PE. */
uint32_t sse_round_f32(uint32_t *mxcsr, uint32_t a, unsigned imm);
uint64_t sse_round_f64(uint32_t *mxcsr, uint64_t a, unsigned imm);

/* RCPSS/RCPPS and RSQRTSS/RSQRTPS: approximations with relative error
 * <= 1.5 * 2^-12; no flags, MXCSR.RC ignored, denormal inputs act as zero
 * and tiny results flush to zero (SDM vol. 2, RCPSS/RSQRTSS). */
uint32_t sse_rcp_f32(uint32_t a);
uint32_t sse_rsqrt_f32(uint32_t a);

/* The soft-float reference paths of add/sub/mul/div, without the host fast
 * path: for tests that check both paths agree (op: 0 add, 1 sub, 2 mul,
 * 3 div, 4 sqrt of a). */
uint64_t sse_fp_soft_arith(unsigned op, bool f64, uint32_t *mxcsr, uint64_t a, uint64_t b);

#endif
