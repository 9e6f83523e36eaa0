/* The x87 FPU as the instruction set sees it (SDM vol. 1, ch. 8): register
 * stack, tag word, status and control words, stack faults, masked and
 * unmasked exception bookkeeping, and the FSAVE/FSTENV/FXSAVE images.
 * Values are computed by fp80.c.  The interpreter decodes, fetches memory
 * operands (converting them with fp80_from_f32/f64/i64/bcd, whose flags it
 * passes as load_flags), calls one function per instruction, and writes
 * memory only when a store function returns true.
 *
 * Exceptions: the functions set the FSW flags; an unmasked one also sets
 * FSW.ES and FSW.B, and x87_pending() then tells the interpreter to raise
 * #MF (CR0.NE=1) or FERR#/IRQ13 before the next waiting x87 instruction
 * (SDM vol. 1, 8.7).  An unmasked IE, DE or ZE leaves the destination and
 * the stack untouched.  An unmasked OE/UE writes a register destination
 * with its exponent bias-adjusted by 2^-/+24576 (SDM 8.5.4/8.5.5) and
 * leaves a memory destination unwritten.
 */
#ifndef CPU_X87_H
#define CPU_X87_H

#include "cpu/fp80.h"
#include <stdbool.h>
#include <stdint.h>

#define FSW_IE  0x0001u
#define FSW_DE  0x0002u
#define FSW_ZE  0x0004u
#define FSW_OE  0x0008u
#define FSW_UE  0x0010u
#define FSW_PE  0x0020u
#define FSW_SF  0x0040u     /* stack fault (with IE; C1 = 1 overflow, 0 underflow) */
#define FSW_ES  0x0080u     /* error summary: an unmasked exception is pending */
#define FSW_C0  0x0100u
#define FSW_C1  0x0200u
#define FSW_C2  0x0400u
#define FSW_TOP_SHIFT 11
#define FSW_C3  0x4000u
#define FSW_B   0x8000u

#define FCW_RESET 0x037fu

enum { X87_TAG_VALID = 0, X87_TAG_ZERO = 1, X87_TAG_SPECIAL = 2, X87_TAG_EMPTY = 3 };

struct x87_state {
    fp80 st[8];         /* physical registers R0..R7; ST(i) is R[(TOP + i) & 7] */
    uint16_t fcw;
    uint16_t fsw;       /* TOP lives in bits 13..11 */
    uint16_t ftw;       /* full tag word, 2 bits per physical register */
    uint16_t fop;       /* last non-control opcode, 11 bits */
    uint16_t fcs, fds;  /* selectors for the legacy environment formats */
    uint64_t fip, fdp;  /* last non-control instruction / data pointer */
};

void x87_init(struct x87_state *s);                  /* FNINIT (and reset) */
unsigned x87_top(const struct x87_state *s);
unsigned x87_tag(const struct x87_state *s, unsigned i);   /* tag of ST(i) */
fp80 x87_st(const struct x87_state *s, unsigned i);        /* ST(i), empty or not */
uint16_t x87_tag_of(fp80 v);                          /* VALID/ZERO/SPECIAL */
static inline bool x87_pending(const struct x87_state *s) { return s->fsw & FSW_ES; }

/* Control: FLDCW recomputes ES/B against the new masks (SDM 8.1.5). */
void x87_fldcw(struct x87_state *s, uint16_t fcw);
void x87_fclex(struct x87_state *s);                  /* FNCLEX */
/* For FNSTSW etc., the status word is s->fsw (TOP included). */

/* Loads (push): FLD m32/m64/m80, FILD, FBLD, FLD1..FLDZ with the already
 * converted value and the conversion's flags; FLD ST(i). */
void x87_load(struct x87_state *s, fp80 v, uint16_t load_flags);
void x87_load_st(struct x87_state *s, unsigned i);
void x87_load_const(struct x87_state *s, enum fp80_constant k);

/* FADD FMUL FSUB FSUBR FDIV FDIVR.  _st: ST(dst) = ST(dst) op ST(src),
 * then pop if asked (the DC/DE forms have dst = i, src = 0); _mem: ST0 =
 * ST0 op m for the converted memory operand m (m32/m64/m16int/m32int). */
enum x87_binop { X87_FADD, X87_FMUL, X87_FSUB, X87_FSUBR, X87_FDIV, X87_FDIVR };
void x87_binop_st(struct x87_state *s, enum x87_binop op, unsigned dst, unsigned src, bool pop);
void x87_binop_mem(struct x87_state *s, enum x87_binop op, fp80 m, uint16_t load_flags);

/* One-operand instructions on ST0. */
enum x87_unop { X87_FCHS, X87_FABS, X87_FSQRT, X87_FRNDINT, X87_F2XM1, X87_FSIN, X87_FCOS };
void x87_unop(struct x87_state *s, enum x87_unop op);
/* ST0/ST1 instructions: FPREM, FPREM1, FSCALE (result in ST0); FYL2X,
 * FYL2XP1, FPATAN (result in ST1, then pop). */
enum x87_binop2 { X87_FPREM, X87_FPREM1, X87_FSCALE, X87_FYL2X, X87_FYL2XP1, X87_FPATAN };
void x87_binop2(struct x87_state *s, enum x87_binop2 op);
void x87_fptan(struct x87_state *s);
void x87_fsincos(struct x87_state *s);
void x87_fxtract(struct x87_state *s);

/* Compares.  FCOM/FCOMP/FCOMPP/FUCOM*: ST0 with ST(i), then 'pops' pops;
 * FCOM m32/m64, FICOM: with a converted memory operand; FTST: with +0.0;
 * FXAM.  FCOMI/FUCOMI(P) return the ZF/PF/CF bits for RFLAGS
 * (SSE_RFLAGS_* values: CF 0x01, PF 0x04, ZF 0x40). */
void x87_fcom_st(struct x87_state *s, unsigned i, bool quiet, unsigned pops);
void x87_fcom_mem(struct x87_state *s, fp80 m, uint16_t load_flags, bool pop);
void x87_ftst(struct x87_state *s);
void x87_fxam(struct x87_state *s);
unsigned x87_fcomi(struct x87_state *s, unsigned i, bool quiet, bool pop);

/* Stores of ST0.  They return false when memory must not be written
 * (unmasked invalid operation or stack underflow); pop then did not
 * happen either.  FIST/FISTP/FISTTP: bits 16/32/64. */
bool x87_store_f32(struct x87_state *s, bool pop, uint32_t *out);
bool x87_store_f64(struct x87_state *s, bool pop, uint64_t *out);
bool x87_store_f80(struct x87_state *s, bool pop, fp80 *out);
bool x87_store_int(struct x87_state *s, unsigned bits, bool trunc, bool pop, int64_t *out);
bool x87_store_bcd(struct x87_state *s, uint8_t out[10]);     /* FBSTP */
void x87_store_st(struct x87_state *s, unsigned i, bool pop);  /* FST(P) ST(i) */

/* Register housekeeping. */
void x87_fxch(struct x87_state *s, unsigned i);
void x87_fcmov(struct x87_state *s, unsigned i, bool cond);   /* FCMOVcc */
void x87_ffree(struct x87_state *s, unsigned i);
void x87_fincstp(struct x87_state *s);
void x87_fdecstp(struct x87_state *s);

/* Environment and state images.  x87_env_size: 14 (16-bit) or 28 (32-bit)
 * bytes; real-mode layouts differ from protected-mode ones (SDM vol. 1,
 * figures 8-9 to 8-12).  FSAVE = environment + ST0..ST7 (10 bytes each)
 * then FNINIT; FRSTOR/FLDENV read the same layouts. */
unsigned x87_env_size(bool op32);
void x87_fstenv(struct x87_state *s, bool op32, bool real_mode, uint8_t *out); /* then masks all */
void x87_fldenv(struct x87_state *s, bool op32, bool real_mode, const uint8_t *in);
void x87_fsave(struct x87_state *s, bool op32, bool real_mode, uint8_t *out);  /* then FNINIT */
void x87_frstor(struct x87_state *s, bool op32, bool real_mode, const uint8_t *in);
/* FXSAVE/FXRSTOR bytes 0..159 (the x87 and MXCSR part; the XMM registers
 * at 160.. belong to the caller).  rex_w selects the 64-bit FIP/FDP
 * layout.  x87_fxrstor returns false (#GP) when the image's MXCSR sets
 * bits outside mxcsr_mask. */
void x87_fxsave(const struct x87_state *s, uint32_t mxcsr, uint32_t mxcsr_mask, bool rex_w,
                uint8_t img[160]);
bool x87_fxrstor(struct x87_state *s, uint32_t *mxcsr, uint32_t mxcsr_mask, bool rex_w,
                 const uint8_t img[160]);

#endif
