/* The decoder: legacy/REX prefixes, the one- and two-byte opcode maps (and
 * the few three-byte ones implemented), ModRM/SIB/displacement/immediates
 * (SDM vol. 2, ch. 2 and appendix A). It runs once per instruction when a
 * block is built; the result (struct insn) carries the handler pointer, so
 * the interpreter never decodes again and a JIT can consume the same
 * records later. */
#include "cpu/cpu_int.h"

/* Table flags. */
#define F_M     0x0001  /* has ModRM */
#define F_B     0x0002  /* byte operation: opsz 1, byte register encoding */
#define F_D64   0x0004  /* default operand size 64 in long mode (push/pop) */
#define F_F64   0x0008  /* operand size forced to 64 in long mode (near branches) */
#define F_END   0x0010  /* ends the block (control flow, mode/IF changes) */
#define F_I64   0x0020  /* invalid in 64-bit mode */
#define F_LOCK  0x0040  /* LOCK allowed (with a memory destination) */
#define F_MEM   0x0080  /* ModRM must name memory (#UD for mod 3) */
#define F_EB    0x0100  /* E operand is a byte (MOVZX/MOVSX/SETcc source) */
#define F_W16   0x0200  /* operand size fixed at 16 (segment registers, LLDT, ...) */
#define F_RB    0x0400  /* register in the low 3 opcode bits (+REX.B) */
#define F_CR    0x0800  /* MOV CR/DR: mod ignored, operand size 32/64 */
#define F_EW    0x1000  /* E operand is a word (MOVZX/MOVSX r, Ew) */

/* Immediate kinds. */
enum { I_NONE, I_B, I_BS, I_W, I_Z, I_V, I_O, I_AP, I_WB, I_ONE, I_CL };

struct opdesc {
    insn_fn fn;
    uint16_t f;
    uint8_t imm;
    uint8_t pg;
    const struct opdesc *grp;   /* 8 entries indexed by ModRM.reg */
    const insn_fn *pfx;         /* SSE: handlers for no prefix, 66, F3, F2 */
};

/* Table rows list only the fields they use; the rest are zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define PRIV PG_PRIVILEGED
#define SENS PG_SENSITIVE

#define ALU_ROW(n) \
    {op_##n##_EG, F_M | F_B | F_LOCK, I_NONE, 0, 0}, {op_##n##_EG, F_M | F_LOCK, I_NONE, 0, 0}, \
    {op_##n##_GE, F_M | F_B, I_NONE, 0, 0}, {op_##n##_GE, F_M, I_NONE, 0, 0}, \
    {op_##n##_AI, F_B, I_B, 0, 0}, {op_##n##_AI, 0, I_Z, 0, 0}

static const struct opdesc grp1[8] = {
    {op_add_EI, F_LOCK, 0, 0, 0}, {op_or_EI, F_LOCK, 0, 0, 0}, {op_adc_EI, F_LOCK, 0, 0, 0},
    {op_sbb_EI, F_LOCK, 0, 0, 0}, {op_and_EI, F_LOCK, 0, 0, 0}, {op_sub_EI, F_LOCK, 0, 0, 0},
    {op_xor_EI, F_LOCK, 0, 0, 0}, {op_cmp_EI, 0, 0, 0, 0},
};
static const struct opdesc grp2[8] = {
    {op_rol, 0, 0, 0, 0}, {op_ror, 0, 0, 0, 0}, {op_rcl, 0, 0, 0, 0}, {op_rcr, 0, 0, 0, 0},
    {op_shl, 0, 0, 0, 0}, {op_shr, 0, 0, 0, 0}, {op_shl, 0, 0, 0, 0}, {op_sar, 0, 0, 0, 0},
};
static const struct opdesc grp3[8] = {
    {op_test_EI, 0, I_Z, 0, 0}, {op_test_EI, 0, I_Z, 0, 0}, {op_not, F_LOCK, 0, 0, 0},
    {op_neg, F_LOCK, 0, 0, 0}, {op_mul, 0, 0, 0, 0}, {op_imul1, 0, 0, 0, 0},
    {op_div, 0, 0, 0, 0}, {op_idiv, 0, 0, 0, 0},
};
static const struct opdesc grp4[8] = {
    {op_inc_E, F_LOCK, 0, 0, 0}, {op_dec_E, F_LOCK, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
};
static const struct opdesc grp5[8] = {
    {op_inc_E, F_LOCK, 0, 0, 0}, {op_dec_E, F_LOCK, 0, 0, 0},
    {op_call_E, F_F64 | F_END, 0, 0, 0}, {op_call_far_E, F_MEM | F_END, 0, SENS, 0},
    {op_jmp_E, F_F64 | F_END, 0, 0, 0}, {op_jmp_far_E, F_MEM | F_END, 0, SENS, 0},
    {op_push_E, F_D64, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
};
static const struct opdesc grp6[8] = {
    {op_sldt, F_W16, 0, SENS, 0}, {op_str, F_W16, 0, SENS, 0},
    {op_lldt, F_W16 | F_END, 0, PRIV, 0}, {op_ltr, F_W16, 0, PRIV, 0},
    {op_verr, F_W16, 0, SENS, 0}, {op_verw, F_W16, 0, SENS, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
};
static const struct opdesc grp7[8] = {
    {op_sgdt, F_MEM, 0, SENS, 0}, {op_grp7_1, 0, 0, SENS, 0},
    {op_lgdt, F_MEM, 0, PRIV, 0}, {op_lidt, F_MEM, 0, PRIV, 0},
    {op_smsw, 0, 0, SENS, 0}, {op_ud, F_END, 0, 0, 0},
    {op_lmsw, F_W16 | F_END, 0, PRIV, 0}, {op_grp7_7, F_END, 0, PRIV, 0},
};
static const struct opdesc grp8[8] = {
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_bt_I, 0, 0, 0, 0}, {op_bt_I, F_LOCK, 0, 0, 0},
    {op_bt_I, F_LOCK, 0, 0, 0}, {op_bt_I, F_LOCK, 0, 0, 0},
};
static const struct opdesc grp9[8] = {
    {op_ud, F_END, 0, 0, 0}, {op_cmpxchg8b, F_MEM | F_LOCK, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_rdrand, 0, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
};
static const struct opdesc grp11[8] = {
    {op_mov_EI, 0, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
    {op_ud, F_END, 0, 0, 0}, {op_ud, F_END, 0, 0, 0},
};

#define UD {op_ud, F_END, 0, 0, 0}
#define JCC(n, imm) {op_jcc##n, F_F64 | F_END, imm, 0, 0}

static const struct opdesc map1[256] = {
    /* 00 */ ALU_ROW(add), {op_push_seg, F_I64, 0, SENS, 0}, {op_pop_seg, F_I64, 0, SENS, 0},
    /* 08 */ ALU_ROW(or), {op_push_seg, F_I64, 0, SENS, 0}, UD /* 0F escape */,
    /* 10 */ ALU_ROW(adc), {op_push_seg, F_I64, 0, SENS, 0}, {op_pop_seg, F_I64 | F_END, 0, SENS, 0},
    /* 18 */ ALU_ROW(sbb), {op_push_seg, F_I64, 0, SENS, 0}, {op_pop_seg, F_I64, 0, SENS, 0},
    /* 20 */ ALU_ROW(and), UD /* ES: */, {op_daa, F_I64, 0, 0, 0},
    /* 28 */ ALU_ROW(sub), UD /* CS: */, {op_das, F_I64, 0, 0, 0},
    /* 30 */ ALU_ROW(xor), UD /* SS: */, {op_aaa, F_I64, 0, 0, 0},
    /* 38 */ ALU_ROW(cmp), UD /* DS: */, {op_aas, F_I64, 0, 0, 0},
    /* 40 */ {op_inc_r, F_RB, 0, 0, 0}, {op_inc_r, F_RB, 0, 0, 0}, {op_inc_r, F_RB, 0, 0, 0},
             {op_inc_r, F_RB, 0, 0, 0}, {op_inc_r, F_RB, 0, 0, 0}, {op_inc_r, F_RB, 0, 0, 0},
             {op_inc_r, F_RB, 0, 0, 0}, {op_inc_r, F_RB, 0, 0, 0},
    /* 48 */ {op_dec_r, F_RB, 0, 0, 0}, {op_dec_r, F_RB, 0, 0, 0}, {op_dec_r, F_RB, 0, 0, 0},
             {op_dec_r, F_RB, 0, 0, 0}, {op_dec_r, F_RB, 0, 0, 0}, {op_dec_r, F_RB, 0, 0, 0},
             {op_dec_r, F_RB, 0, 0, 0}, {op_dec_r, F_RB, 0, 0, 0},
    /* 50 */ {op_push_r, F_RB | F_D64, 0, 0, 0}, {op_push_r, F_RB | F_D64, 0, 0, 0},
             {op_push_r, F_RB | F_D64, 0, 0, 0}, {op_push_r, F_RB | F_D64, 0, 0, 0},
             {op_push_r, F_RB | F_D64, 0, 0, 0}, {op_push_r, F_RB | F_D64, 0, 0, 0},
             {op_push_r, F_RB | F_D64, 0, 0, 0}, {op_push_r, F_RB | F_D64, 0, 0, 0},
    /* 58 */ {op_pop_r, F_RB | F_D64, 0, 0, 0}, {op_pop_r, F_RB | F_D64, 0, 0, 0},
             {op_pop_r, F_RB | F_D64, 0, 0, 0}, {op_pop_r, F_RB | F_D64, 0, 0, 0},
             {op_pop_r, F_RB | F_D64, 0, 0, 0}, {op_pop_r, F_RB | F_D64, 0, 0, 0},
             {op_pop_r, F_RB | F_D64, 0, 0, 0}, {op_pop_r, F_RB | F_D64, 0, 0, 0},
    /* 60 */ {op_pusha, F_I64, 0, 0, 0}, {op_popa, F_I64, 0, 0, 0}, {op_bound, F_M | F_MEM | F_I64, 0, 0, 0},
             {op_arpl, F_M | F_W16, 0, 0, 0} /* MOVSXD in 64-bit: see decode */,
             UD, UD, UD, UD /* prefixes */,
    /* 68 */ {op_push_I, F_D64, I_Z, 0, 0}, {op_imul_GEI, F_M, I_Z, 0, 0},
             {op_push_I, F_D64, I_BS, 0, 0}, {op_imul_GEI, F_M, I_BS, 0, 0},
             {op_ins, F_B, 0, PRIV, 0}, {op_ins, 0, 0, PRIV, 0},
             {op_outs, F_B, 0, PRIV, 0}, {op_outs, 0, 0, PRIV, 0},
    /* 70 */ JCC(0, I_BS), JCC(1, I_BS), JCC(2, I_BS), JCC(3, I_BS), JCC(4, I_BS), JCC(5, I_BS),
             JCC(6, I_BS), JCC(7, I_BS), JCC(8, I_BS), JCC(9, I_BS), JCC(10, I_BS), JCC(11, I_BS),
             JCC(12, I_BS), JCC(13, I_BS), JCC(14, I_BS), JCC(15, I_BS),
    /* 80 */ {0, F_M | F_B, I_B, 0, grp1}, {0, F_M, I_Z, 0, grp1},
             {0, F_M | F_B | F_I64, I_B, 0, grp1}, {0, F_M, I_BS, 0, grp1},
             {op_test_EG, F_M | F_B, 0, 0, 0}, {op_test_EG, F_M, 0, 0, 0},
             {op_xchg_EG, F_M | F_B | F_LOCK, 0, 0, 0}, {op_xchg_EG, F_M | F_LOCK, 0, 0, 0},
    /* 88 */ {op_mov_EG, F_M | F_B, 0, 0, 0}, {op_mov_EG, F_M, 0, 0, 0},
             {op_mov_GE, F_M | F_B, 0, 0, 0}, {op_mov_GE, F_M, 0, 0, 0},
             {op_mov_ES, F_M, 0, SENS, 0}, {op_lea, F_M | F_MEM, 0, 0, 0},
             {op_mov_SE, F_M | F_W16, 0, SENS, 0}, {op_pop_E, F_M | F_D64, 0, 0, 0},
    /* 90 */ {op_xchg_rA, F_RB, 0, 0, 0}, {op_xchg_rA, F_RB, 0, 0, 0}, {op_xchg_rA, F_RB, 0, 0, 0},
             {op_xchg_rA, F_RB, 0, 0, 0}, {op_xchg_rA, F_RB, 0, 0, 0}, {op_xchg_rA, F_RB, 0, 0, 0},
             {op_xchg_rA, F_RB, 0, 0, 0}, {op_xchg_rA, F_RB, 0, 0, 0},
    /* 98 */ {op_cbw, 0, 0, 0, 0}, {op_cwd, 0, 0, 0, 0},
             {op_call_far_ptr, F_I64 | F_END, I_AP, SENS, 0}, {op_wait, 0, 0, 0, 0},
             {op_pushf, F_D64, 0, SENS, 0}, {op_popf, F_D64 | F_END, 0, SENS, 0},
             {op_sahf, 0, 0, 0, 0}, {op_lahf, 0, 0, 0, 0},
    /* A0 */ {op_mov_AO, F_B, I_O, 0, 0}, {op_mov_AO, 0, I_O, 0, 0},
             {op_mov_OA, F_B, I_O, 0, 0}, {op_mov_OA, 0, I_O, 0, 0},
             {op_movs, F_B, 0, 0, 0}, {op_movs, 0, 0, 0, 0}, {op_cmps, F_B, 0, 0, 0}, {op_cmps, 0, 0, 0, 0},
    /* A8 */ {op_test_AI, F_B, I_B, 0, 0}, {op_test_AI, 0, I_Z, 0, 0},
             {op_stos, F_B, 0, 0, 0}, {op_stos, 0, 0, 0, 0}, {op_lods, F_B, 0, 0, 0}, {op_lods, 0, 0, 0, 0},
             {op_scas, F_B, 0, 0, 0}, {op_scas, 0, 0, 0, 0},
    /* B0 */ {op_mov_rI, F_B | F_RB, I_B, 0, 0}, {op_mov_rI, F_B | F_RB, I_B, 0, 0},
             {op_mov_rI, F_B | F_RB, I_B, 0, 0}, {op_mov_rI, F_B | F_RB, I_B, 0, 0},
             {op_mov_rI, F_B | F_RB, I_B, 0, 0}, {op_mov_rI, F_B | F_RB, I_B, 0, 0},
             {op_mov_rI, F_B | F_RB, I_B, 0, 0}, {op_mov_rI, F_B | F_RB, I_B, 0, 0},
    /* B8 */ {op_mov_rI, F_RB, I_V, 0, 0}, {op_mov_rI, F_RB, I_V, 0, 0}, {op_mov_rI, F_RB, I_V, 0, 0},
             {op_mov_rI, F_RB, I_V, 0, 0}, {op_mov_rI, F_RB, I_V, 0, 0}, {op_mov_rI, F_RB, I_V, 0, 0},
             {op_mov_rI, F_RB, I_V, 0, 0}, {op_mov_rI, F_RB, I_V, 0, 0},
    /* C0 */ {0, F_M | F_B, I_B, 0, grp2}, {0, F_M, I_B, 0, grp2},
             {op_ret_near, F_F64 | F_END, I_W, 0, 0}, {op_ret_near, F_F64 | F_END, 0, 0, 0},
             {op_lxs, F_M | F_MEM | F_I64, 0, 0, 0}, {op_lxs, F_M | F_MEM | F_I64, 0, 0, 0},
             {0, F_M | F_B, I_B, 0, grp11}, {0, F_M, I_Z, 0, grp11},
    /* C8 */ {op_enter, F_D64, I_WB, 0, 0}, {op_leave, F_D64, 0, 0, 0},
             {op_ret_far, F_END, I_W, SENS, 0}, {op_ret_far, F_END, 0, SENS, 0},
             {op_int3, F_END, 0, 0, 0}, {op_int, F_END, I_B, SENS, 0},
             {op_into, F_I64 | F_END, 0, 0, 0}, {op_iret, F_END, 0, SENS, 0},
    /* D0 */ {0, F_M | F_B, I_ONE, 0, grp2}, {0, F_M, I_ONE, 0, grp2},
             {0, F_M | F_B, I_CL, 0, grp2}, {0, F_M, I_CL, 0, grp2},
             {op_aam, F_I64, I_B, 0, 0}, {op_aad, F_I64, I_B, 0, 0},
             {op_salc, F_I64, 0, 0, 0}, {op_xlat, 0, 0, 0, 0},
    /* D8 */ {op_fpu, F_M, 0, 0, 0}, {op_fpu, F_M, 0, 0, 0}, {op_fpu, F_M, 0, 0, 0},
             {op_fpu, F_M, 0, 0, 0}, {op_fpu, F_M, 0, 0, 0}, {op_fpu, F_M, 0, 0, 0},
             {op_fpu, F_M, 0, 0, 0}, {op_fpu, F_M, 0, 0, 0},
    /* E0 */ {op_loop, F_F64 | F_END, I_BS, 0, 0}, {op_loop, F_F64 | F_END, I_BS, 0, 0},
             {op_loop, F_F64 | F_END, I_BS, 0, 0}, {op_jcxz, F_F64 | F_END, I_BS, 0, 0},
             {op_in, F_B, I_B, PRIV, 0}, {op_in, 0, I_B, PRIV, 0},
             {op_out, F_B, I_B, PRIV, 0}, {op_out, 0, I_B, PRIV, 0},
    /* E8 */ {op_call_rel, F_F64 | F_END, I_Z, 0, 0}, {op_jmp_rel, F_F64 | F_END, I_Z, 0, 0},
             {op_jmp_far_ptr, F_I64 | F_END, I_AP, SENS, 0}, {op_jmp_rel, F_F64 | F_END, I_BS, 0, 0},
             {op_in, F_B, 0, PRIV, 0}, {op_in, 0, 0, PRIV, 0},
             {op_out, F_B, 0, PRIV, 0}, {op_out, 0, 0, PRIV, 0},
    /* F0 */ UD, {op_int1, F_END, 0, 0, 0}, UD, UD, {op_hlt, F_END, 0, PRIV, 0},
             {op_cmc, 0, 0, 0, 0}, {0, F_M | F_B, 0, 0, grp3}, {0, F_M, 0, 0, grp3},
    /* F8 */ {op_clc, 0, 0, 0, 0}, {op_stc, 0, 0, 0, 0}, {op_cli, 0, 0, PRIV, 0},
             {op_sti, F_END, 0, PRIV, 0}, {op_cld, 0, 0, 0, 0}, {op_std, 0, 0, 0, 0},
             {0, F_M | F_B, 0, 0, grp4}, {0, F_M, 0, 0, grp5},
};

#define CMOV {op_cmovcc, F_M, 0, 0, 0}
#define SETCC {op_setcc, F_M | F_B, 0, 0, 0}
#define NOPM {op_nop, F_M, 0, 0, 0}

/* SSE entries: the mandatory prefix (none, 66, F3, F2) picks the handler. */
#define SSE(imm, a, b, c_, d) {op_sse_marker, F_M, imm, 0, 0, (const insn_fn[4]){a, b, c_, d}}
#define SSE66(h) SSE(0, 0, h, 0, 0)
#define SSEP(h) SSE(0, h, h, 0, 0)

static const struct opdesc map2[256] = {
    /* 00 */ {0, F_M, 0, 0, grp6}, {0, F_M, 0, 0, grp7},
             {op_lar, F_M, 0, SENS, 0}, {op_lsl, F_M, 0, SENS, 0},
             UD, {op_syscall, F_END, 0, 0, 0}, {op_clts, 0, 0, PRIV, 0}, {op_sysret, F_END, 0, PRIV, 0},
    /* 08 */ {op_invd, 0, 0, PRIV, 0}, {op_invd, 0, 0, PRIV, 0}, UD, UD, UD, NOPM, UD, UD,
    /* 10 */ SSE(0, op_movups_ld, op_movups_ld, op_movss_ld, op_movsd_ld),
             SSE(0, op_movups_st, op_movups_st, op_movss_st, op_movsd_st),
             SSEP(op_movlps_ld), SSEP(op_movlps_st), SSEP(op_unpcklps), SSEP(op_unpckhps),
             SSEP(op_movhps_ld), SSEP(op_movhps_st),
    /* 18 */ NOPM, NOPM, NOPM, NOPM, NOPM, NOPM, NOPM, NOPM,
    /* 20 */ {op_mov_RC, F_M | F_CR, 0, PRIV, 0}, {op_mov_RD, F_M | F_CR, 0, PRIV, 0},
             {op_mov_CR, F_M | F_CR | F_END, 0, PRIV, 0}, {op_mov_DR, F_M | F_CR, 0, PRIV, 0},
             UD, UD, UD, UD,
    /* 28 */ SSEP(op_movaps_ld), SSEP(op_movaps_st), SSE(0, 0, 0, op_cvtsi2ss, op_cvtsi2ss),
             SSEP(op_movntps), SSE(0, 0, 0, op_cvtss2si, op_cvtss2si),
             SSE(0, 0, 0, op_cvtss2si, op_cvtss2si), SSEP(op_comiss), SSEP(op_comiss),
    /* 30 */ {op_wrmsr, F_END, 0, PRIV, 0}, {op_rdtsc, 0, 0, 0, 0}, {op_rdmsr, 0, 0, PRIV, 0},
             {op_rdpmc, 0, 0, 0, 0}, {op_sysenter, F_END, 0, 0, 0}, {op_sysexit, F_END, 0, PRIV, 0},
             UD, UD,
    /* 38 */ UD, UD, UD, UD, UD, UD, UD, UD,
    /* 40 */ CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV,
    /* 48 */ CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV,
    /* 50 */ SSEP(op_movmskps), SSE(0, op_sqrtps, op_sqrtpd, op_sqrtss, op_sqrtsd),
             SSE(0, op_rsqrtps, 0, op_rsqrtss, 0), SSE(0, op_rsqrtps, 0, op_rsqrtss, 0),
             SSEP(op_pand), SSEP(op_pandn), SSEP(op_por), SSEP(op_pxor),
             SSE(0, op_addps, op_addpd, op_addss, op_addsd), SSE(0, op_mulps, op_mulpd, op_mulss, op_mulsd),
             SSE(0, op_cvtps2pd, op_cvtpd2ps, op_cvtss2sd, op_cvtsd2ss),
             SSE(0, op_cvtdq2ps, op_cvtdq2ps, op_cvtdq2ps, 0),
             SSE(0, op_subps, op_subpd, op_subss, op_subsd), SSE(0, op_minps, op_minpd, op_minss, op_minsd),
             SSE(0, op_divps, op_divpd, op_divss, op_divsd), SSE(0, op_maxps, op_maxpd, op_maxss, op_maxsd),
    /* 60 */ SSE(0, op_punpcklbw_mmx, op_punpcklbw, 0, 0), SSE(0, op_punpcklwd_mmx, op_punpcklwd, 0, 0), SSE(0, op_punpckldq_mmx, op_punpckldq, 0, 0), SSE(0, op_packsswb_mmx, op_packsswb, 0, 0),
             SSE(0, op_pcmpgtb_mmx, op_pcmpgtb, 0, 0), SSE(0, op_pcmpgtw_mmx, op_pcmpgtw, 0, 0), SSE(0, op_pcmpgtd_mmx, op_pcmpgtd, 0, 0), SSE(0, op_packuswb_mmx, op_packuswb, 0, 0),
             SSE(0, op_punpckhbw_mmx, op_punpckhbw, 0, 0), SSE(0, op_punpckhwd_mmx, op_punpckhwd, 0, 0), SSE(0, op_punpckhdq_mmx, op_punpckhdq, 0, 0), SSE(0, op_packssdw_mmx, op_packssdw, 0, 0),
             SSE66(op_punpcklqdq), SSE66(op_punpckhqdq), SSE(0, op_movd_mm_E, op_movd_x_E, 0, 0),
             SSE(0, op_movq_mm_ld, op_movaps_ld, op_movdqu_ld, 0),
    /* 70 */ SSE(I_B, op_pshufw, op_pshufd, op_pshufd, op_pshufd), SSE(I_B, op_pshift_imm_mmx, op_pshift_imm, 0, 0),
             SSE(I_B, op_pshift_imm_mmx, op_pshift_imm, 0, 0), SSE(I_B, op_pshift_imm_mmx, op_pshift_imm, 0, 0),
             SSE(0, op_pcmpeqb_mmx, op_pcmpeqb, 0, 0), SSE(0, op_pcmpeqw_mmx, op_pcmpeqw, 0, 0), SSE(0, op_pcmpeqd_mmx, op_pcmpeqd, 0, 0), {op_emms, 0, 0, 0, 0},
             UD, UD, UD, UD, UD, UD, SSE(0, op_movd_E_mm, op_movd_E_x, op_movq_ld, 0),
             SSE(0, op_movq_mm_st, op_movaps_st, op_movups_st, 0),
    /* 80 */ JCC(0, I_Z), JCC(1, I_Z), JCC(2, I_Z), JCC(3, I_Z), JCC(4, I_Z), JCC(5, I_Z),
             JCC(6, I_Z), JCC(7, I_Z), JCC(8, I_Z), JCC(9, I_Z), JCC(10, I_Z), JCC(11, I_Z),
             JCC(12, I_Z), JCC(13, I_Z), JCC(14, I_Z), JCC(15, I_Z),
    /* 90 */ SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC,
    /* 98 */ SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC,
    /* A0 */ {op_push_seg, F_D64, 0, SENS, 0}, {op_pop_seg, F_D64, 0, SENS, 0},
             {op_cpuid, 0, 0, 0, 0}, {op_bt_G, F_M, 0, 0, 0},
             {op_shld, F_M, I_B, 0, 0}, {op_shld, F_M, I_CL, 0, 0}, UD, UD,
    /* A8 */ {op_push_seg, F_D64, 0, SENS, 0}, {op_pop_seg, F_D64, 0, SENS, 0},
             UD /* RSM */, {op_bt_G, F_M | F_LOCK, 0, 0, 0},
             {op_shrd, F_M, I_B, 0, 0}, {op_shrd, F_M, I_CL, 0, 0},
             {op_grp15, F_M, 0, 0, 0}, {op_imul_GE, F_M, 0, 0, 0},
    /* B0 */ {op_cmpxchg, F_M | F_B | F_LOCK, 0, 0, 0}, {op_cmpxchg, F_M | F_LOCK, 0, 0, 0},
             {op_lxs, F_M | F_MEM, 0, 0, 0}, {op_bt_G, F_M | F_LOCK, 0, 0, 0},
             {op_lxs, F_M | F_MEM, 0, 0, 0}, {op_lxs, F_M | F_MEM, 0, 0, 0},
             {op_movzx8, F_M | F_EB, 0, 0, 0}, {op_movzx16, F_M | F_EW, 0, 0, 0},
    /* B8 */ {op_popcnt, F_M, 0, 0, 0}, UD /* UD1 */, {0, F_M, I_B, 0, grp8},
             {op_bt_G, F_M | F_LOCK, 0, 0, 0}, {op_bsf, F_M, 0, 0, 0}, {op_bsr, F_M, 0, 0, 0},
             {op_movsx8, F_M | F_EB, 0, 0, 0}, {op_movsx16, F_M | F_EW, 0, 0, 0},
    /* C0 */ {op_xadd, F_M | F_B | F_LOCK, 0, 0, 0}, {op_xadd, F_M | F_LOCK, 0, 0, 0},
             SSE(I_B, op_cmpps, op_cmpps, op_cmpps, op_cmpps), {op_movnti, F_M | F_MEM, 0, 0, 0},
             SSE(I_B, op_pinsrw_mmx, op_pinsrw, 0, 0),
             SSE(I_B, op_pextrw_mmx, op_pextrw, 0, 0), SSE(I_B, op_shufps, op_shufps, 0, 0), {0, F_M, 0, 0, grp9},
    /* C8 */ {op_bswap, F_RB, 0, 0, 0}, {op_bswap, F_RB, 0, 0, 0}, {op_bswap, F_RB, 0, 0, 0},
             {op_bswap, F_RB, 0, 0, 0}, {op_bswap, F_RB, 0, 0, 0}, {op_bswap, F_RB, 0, 0, 0},
             {op_bswap, F_RB, 0, 0, 0}, {op_bswap, F_RB, 0, 0, 0},
    /* D0 */ UD, SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0),
             SSE(0, op_paddq_mmx, op_paddq, 0, 0), SSE(0, op_pmullw_mmx, op_pmullw, 0, 0), SSE(0, 0, op_movq_st, op_movq2dq, op_movq2dq), SSE(0, op_pmovmskb_mmx, op_pmovmskb, 0, 0),
             SSE(0, op_psubusb_mmx, op_psubusb, 0, 0), SSE(0, op_psubusw_mmx, op_psubusw, 0, 0), SSE(0, op_pminub_mmx, op_pminub, 0, 0), SSE(0, op_pand_mmx, op_pand, 0, 0),
             SSE(0, op_paddusb_mmx, op_paddusb, 0, 0), SSE(0, op_paddusw_mmx, op_paddusw, 0, 0), SSE(0, op_pmaxub_mmx, op_pmaxub, 0, 0), SSE(0, op_pandn_mmx, op_pandn, 0, 0),
    /* E0 */ SSE(0, op_pavgb_mmx, op_pavgb, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pavgw_mmx, op_pavgw, 0, 0),
             SSE(0, op_pmulhuw_mmx, op_pmulhuw, 0, 0), SSE(0, op_pmulhw_mmx, op_pmulhw, 0, 0), SSE(0, 0, op_cvtpd2dq, op_cvtpd2dq, op_cvtpd2dq),
             SSE(0, op_movq_mm_st, op_movntps, 0, 0),
             SSE(0, op_psubsb_mmx, op_psubsb, 0, 0), SSE(0, op_psubsw_mmx, op_psubsw, 0, 0), SSE(0, op_pminsw_mmx, op_pminsw, 0, 0), SSE(0, op_por_mmx, op_por, 0, 0),
             SSE(0, op_paddsb_mmx, op_paddsb, 0, 0), SSE(0, op_paddsw_mmx, op_paddsw, 0, 0), SSE(0, op_pmaxsw_mmx, op_pmaxsw, 0, 0), SSE(0, op_pxor_mmx, op_pxor, 0, 0),
    /* F0 */ UD, SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0), SSE(0, op_pshift_mmx, op_pshift_x, 0, 0),
             SSE(0, op_pmuludq_mmx, op_pmuludq, 0, 0), SSE(0, op_pmaddwd_mmx, op_pmaddwd, 0, 0), SSE(0, op_psadbw_mmx, op_psadbw, 0, 0), SSE(0, op_maskmovq, op_maskmovdqu, 0, 0),
             SSE(0, op_psubb_mmx, op_psubb, 0, 0), SSE(0, op_psubw_mmx, op_psubw, 0, 0), SSE(0, op_psubd_mmx, op_psubd, 0, 0), SSE(0, op_psubq_mmx, op_psubq, 0, 0),
             SSE(0, op_paddb_mmx, op_paddb, 0, 0), SSE(0, op_paddw_mmx, op_paddw, 0, 0), SSE(0, op_paddd_mmx, op_paddd, 0, 0), UD,
};

static const struct opdesc movbe_desc = {op_movbe, F_M | F_MEM, 0, 0, 0};
static const struct opdesc ud_desc = UD;
static const struct opdesc movsxd_desc = {op_movsxd, F_M, 0, 0, 0};

/* 16-bit addressing forms (SDM vol. 2, table 2-1). */
static const uint8_t rm16_base[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
static const uint8_t rm16_index[8] = {R_ESI, R_EDI, R_ESI, R_EDI, NOREG, NOREG, NOREG, NOREG};

static inline uint64_t rd_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* Decodes one instruction from bytes[0..avail). Returns its length, or 0
 * if more bytes were needed than available (the caller then knows the
 * fetch faulted). *ends_block tells the block builder to stop after it. */
unsigned decode_insn(struct cpu *c, struct insn *in, const uint8_t *bytes, unsigned avail,
                     uint32_t mode, bool *ends_block)
{
    const bool m64 = mode & MODE_64;
    const bool d32 = (mode & MODE_CS32) && !m64;
    unsigned p = 0;
    unsigned rex = 0;
    bool opsz_pfx = false, adsz_pfx = false, lock = false;
    int segovr = -1;
    unsigned rep = 0;

    memset(in, 0, sizeof(*in));
    in->base = in->index = NOREG;

#define NEED(n) do { if (p + (n) > 15) goto too_long; if (p + (n) > avail) return 0; } while (0)
    /* Prefixes (SDM vol. 2, 2.1.1); REX counts only right before the opcode. */
    for (;;) {
        if (p >= 15)
            goto too_long;
        if (p >= avail)
            return 0;
        uint8_t b = bytes[p];
        switch (b) {
        case 0x26: segovr = SEG_ES; break;
        case 0x2e: segovr = SEG_CS; break;
        case 0x36: segovr = SEG_SS; break;
        case 0x3e: segovr = SEG_DS; break;
        case 0x64: segovr = SEG_FS; break;
        case 0x65: segovr = SEG_GS; break;
        case 0x66: opsz_pfx = true; break;
        case 0x67: adsz_pfx = true; break;
        case 0xf0: lock = true; break;
        case 0xf2: case 0xf3: rep = b; break;
        default:
            if (m64 && (b & 0xf0) == 0x40) {
                rex = b;
                p++;
                continue;
            }
            goto opcode;
        }
        rex = 0;    /* a legacy prefix after REX cancels it */
        p++;
    }
opcode:;
    const struct opdesc *d;
    uint16_t op;
    NEED(1);
    uint8_t b0 = bytes[p++];
    if (b0 == 0x0f) {
        NEED(1);
        uint8_t b1 = bytes[p++];
        if (b1 == 0x38) {
            NEED(1);
            uint8_t b2 = bytes[p++];
            op = 0x200 | b2;
            d = ((b2 == 0xf0 || b2 == 0xf1) && rep != 0xf2 && rep != 0xf3) ? &movbe_desc : &ud_desc;
        } else if (b1 == 0x3a) {
            op = 0x300;
            d = &ud_desc;
        } else {
            op = 0x100 | b1;
            d = &map2[b1];
        }
    } else {
        op = b0;
        d = &map1[b0];
        if (m64 && b0 == 0x63)
            d = &movsxd_desc;
    }
    in->op = op;

    uint16_t f = d->f;
    uint8_t immk = d->imm;
    insn_fn fn = d->fn;
    uint8_t pg = d->pg;
    unsigned modrm = 0, mod = 0, regf = 0, rmf = 0;
    if (f & F_M) {
        NEED(1);
        modrm = bytes[p++];
        mod = modrm >> 6;
        regf = (modrm >> 3) & 7;
        rmf = modrm & 7;
        if (d->grp) {
            const struct opdesc *g = &d->grp[regf];
            f |= g->f;
            fn = g->fn;
            pg = g->pg;
            /* The group entry may override the immediate (F6/F7 /0 TEST). */
            if (g->imm)
                immk = (f & F_B) && g->imm == I_Z ? I_B : g->imm;
        }
    }
    bool sse = d->pfx != NULL;
    if (sse) {
        /* The last of F2/F3 wins over 66 as the mandatory prefix. */
        unsigned v = rep == 0xf3 ? 2 : rep == 0xf2 ? 3 : opsz_pfx ? 1 : 0;
        fn = d->pfx[v];     /* in->rep keeps F2/F3 for handlers sharing a variant */
    }
    in->pg = pg;
    if (!fn || fn == op_ud || ((f & F_I64) && m64)) {
        in->fn = op_ud;
        in->len = (uint8_t)p;
        *ends_block = true;
        return p;
    }

    /* Sizes (SDM vol. 2, 2.2.1.2 and 3.6). */
    unsigned opsz, adsz;
    if (f & F_B)
        opsz = 1;
    else if (m64 && (f & F_F64))
        opsz = 8;
    else if (rex & 8)
        opsz = 8;
    else if (m64 && (f & F_D64))
        opsz = opsz_pfx ? 2 : 8;
    else
        opsz = (d32 || m64) ^ opsz_pfx ? 4 : 2;
    if (f & F_CR)
        opsz = m64 ? 8 : 4;
    if (sse)
        opsz = (rex & 8) ? 8 : 4;   /* 66 is a mandatory prefix here */
    if (m64)
        adsz = adsz_pfx ? 4 : 8;
    else
        adsz = d32 ^ adsz_pfx ? 4 : 2;
    in->opsz = (uint8_t)opsz;
    in->adsz = (uint8_t)adsz;
    in->rep = (uint8_t)rep;
    in->pfx66 = opsz_pfx;
    in->segovr = segovr >= 0;
    int seg = segovr >= 0 ? segovr : SEG_DS;

    if (f & F_RB) {
        unsigned r = (op & 7) | ((rex & 1) << 3);
        if ((f & F_B) && !rex && r >= 4)
            r = REG_AH + (r - 4);
        in->reg = (uint8_t)r;
    }

    if (f & F_M) {
        unsigned r = regf | ((rex & 4) << 1);
        if ((f & F_B) && !rex && r >= 4 && !(f & F_EB))
            r = REG_AH + (r - 4);
        in->reg = (uint8_t)r;
        if (mod == 3 || (f & F_CR)) {
            if (f & F_MEM) {
                in->fn = op_ud;
                in->len = (uint8_t)p;
                *ends_block = true;
                return p;
            }
            in->mod3 = 1;
            unsigned rr = rmf | ((rex & 1) << 3);
            if ((f & (F_B | F_EB)) && !rex && rr >= 4)
                rr = REG_AH + (rr - 4);
            in->rm = (uint8_t)rr;
        } else if (adsz == 2) {
            in->base = rm16_base[rmf];
            in->index = rm16_index[rmf];
            if (mod == 0 && rmf == 6) {
                in->base = NOREG;
                NEED(2);
                in->disp = (int16_t)rd_le(bytes + p, 2);
                p += 2;
            } else if (mod == 1) {
                NEED(1);
                in->disp = (int8_t)bytes[p++];
            } else if (mod == 2) {
                NEED(2);
                in->disp = (int16_t)rd_le(bytes + p, 2);
                p += 2;
            }
            if (segovr < 0 && in->base == R_EBP)
                seg = SEG_SS;
        } else {
            unsigned base = rmf, index = NOREG, scale = 0;
            bool nobase = false;
            if (rmf == 4) {
                NEED(1);
                uint8_t sib = bytes[p++];
                scale = sib >> 6;
                index = ((sib >> 3) & 7) | ((rex & 2) << 2);
                if (index == 4)
                    index = NOREG;
                base = sib & 7;
                if (base == 5 && mod == 0)
                    nobase = true;
            } else if (rmf == 5 && mod == 0) {
                nobase = true;
                if (m64)
                    base = REG_RIP;
            }
            if (nobase) {
                NEED(4);
                in->disp = (int32_t)rd_le(bytes + p, 4);
                p += 4;
                in->base = base == REG_RIP ? REG_RIP : NOREG;
            } else {
                in->base = (uint8_t)(base | ((rex & 1) << 3));
                if (mod == 1) {
                    NEED(1);
                    in->disp = (int8_t)bytes[p++];
                } else if (mod == 2) {
                    NEED(4);
                    in->disp = (int32_t)rd_le(bytes + p, 4);
                    p += 4;
                }
                if (segovr < 0 && (base == 4 || base == 5))
                    seg = SEG_SS;
            }
            in->index = (uint8_t)index;
            in->scale = (uint8_t)scale;
        }
    }
    /* 64-bit mode: ES/CS/SS/DS bases are ignored (SDM vol. 3, 3.4.4). */
    if (m64 && seg != SEG_FS && seg != SEG_GS)
        seg = SEG_ZERO;
    in->seg = (uint8_t)seg;

    if (lock && (!(f & F_LOCK) || in->mod3 || !(f & F_M))) {
        in->fn = op_ud;
        in->len = (uint8_t)p;
        *ends_block = true;
        return p;
    }

    /* Immediates. */
    switch (immk) {
    case I_B: NEED(1); in->imm = bytes[p]; p += 1; break;
    case I_BS: NEED(1); in->imm = (uint64_t)(int64_t)(int8_t)bytes[p]; p += 1; break;
    case I_W: NEED(2); in->imm = rd_le(bytes + p, 2); p += 2; break;
    case I_Z:
        if (opsz == 1) {
            NEED(1); in->imm = bytes[p]; p += 1;
        } else if (opsz == 2) {
            NEED(2); in->imm = (uint64_t)(int64_t)(int16_t)rd_le(bytes + p, 2); p += 2;
        } else {
            NEED(4); in->imm = (uint64_t)(int64_t)(int32_t)rd_le(bytes + p, 4); p += 4;
        }
        break;
    case I_V:
        NEED(opsz);
        in->imm = rd_le(bytes + p, opsz);
        p += opsz;
        break;
    case I_O:
        NEED(adsz);
        in->imm = rd_le(bytes + p, adsz);
        p += adsz;
        break;
    case I_AP: {
        unsigned n = opsz == 2 ? 2 : 4;
        NEED(n + 2);
        in->imm = rd_le(bytes + p, n);
        in->imm2 = (uint32_t)rd_le(bytes + p + n, 2);
        p += n + 2;
        break;
    }
    case I_WB:
        NEED(3);
        in->imm = rd_le(bytes + p, 2);
        in->imm2 = bytes[p + 2];
        p += 3;
        break;
    case I_ONE: in->imm = 1; break;
    case I_CL: in->imm2 = 1; break;
    default: break;
    }
    if (op == 0x1a5 || op == 0x1ad)
        in->imm2 = 1;       /* SHLD/SHRD by CL */
    in->fn = ops_specialize(fn, opsz, !in->mod3);
    if (c && c->pg && pg != PG_INNOCUOUS)
        in->fn = pg_wrap(in->fn);       /* Popek–Goldberg mode (pg.c) */
    in->len = (uint8_t)p;
    *ends_block = (f & F_END) != 0;
    return p;
too_long:
    /* More than 15 bytes: #GP(0) (SDM vol. 2, 2.3.11). */
    in->fn = op_gp0;
    in->len = 15;
    *ends_block = true;
    return 15;
#undef NEED
}
