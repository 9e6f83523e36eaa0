/* Instruction handlers referenced by the decode tables (decode.c).
 * Included by cpu_int.h with H(name) defined as the handler prototype. */

/* ALU group: ADD OR ADC SBB AND SUB XOR CMP in the forms
 * E,G (00) G,E (02) A,I (04) E,I (80-83). */
#define ALU_DECL(n) H(op_##n##_EG); H(op_##n##_GE); H(op_##n##_AI); H(op_##n##_EI);
ALU_DECL(add) ALU_DECL(or) ALU_DECL(adc) ALU_DECL(sbb)
ALU_DECL(and) ALU_DECL(sub) ALU_DECL(xor) ALU_DECL(cmp)
#undef ALU_DECL

#define JCC_DECL(n) H(op_jcc##n);
JCC_DECL(0) JCC_DECL(1) JCC_DECL(2) JCC_DECL(3) JCC_DECL(4) JCC_DECL(5) JCC_DECL(6) JCC_DECL(7)
JCC_DECL(8) JCC_DECL(9) JCC_DECL(10) JCC_DECL(11) JCC_DECL(12) JCC_DECL(13) JCC_DECL(14) JCC_DECL(15)
#undef JCC_DECL

/* ops_int.c */
H(op_inc_r); H(op_dec_r); H(op_inc_E); H(op_dec_E);
H(op_push_r); H(op_pop_r); H(op_push_I); H(op_push_E); H(op_pop_E);
H(op_pusha); H(op_popa); H(op_movsxd);
H(op_imul_GEI); H(op_imul_GE);
H(op_test_EG); H(op_test_AI); H(op_test_EI);
H(op_xchg_EG); H(op_xchg_rA); H(op_nop);
H(op_mov_EG); H(op_mov_GE); H(op_mov_EI); H(op_mov_rI); H(op_mov_AO); H(op_mov_OA);
H(op_lea); H(op_bound); H(op_cbw); H(op_cwd); H(op_sahf); H(op_lahf);
H(op_movs); H(op_cmps); H(op_stos); H(op_lods); H(op_scas);
H(op_rol); H(op_ror); H(op_rcl); H(op_rcr); H(op_shl); H(op_shr); H(op_sar);
H(op_ret_near); H(op_enter); H(op_leave);
H(op_aam); H(op_aad); H(op_daa); H(op_das); H(op_aaa); H(op_aas); H(op_salc); H(op_xlat);
H(op_loop); H(op_jcxz); H(op_call_rel); H(op_jmp_rel); H(op_call_E); H(op_jmp_E);
H(op_cmc); H(op_clc); H(op_stc); H(op_cld); H(op_std);
H(op_not); H(op_neg); H(op_mul); H(op_imul1); H(op_div); H(op_idiv);
H(op_cmovcc); H(op_setcc);
H(op_bt_G); H(op_bt_I); H(op_shld); H(op_shrd);
H(op_cmpxchg); H(op_xadd); H(op_movzx8); H(op_movzx16); H(op_movsx8); H(op_movsx16); H(op_bsf); H(op_bsr); H(op_popcnt);
H(op_bswap); H(op_cmpxchg8b); H(op_movbe); H(op_rdrand);

/* ops_sys.c */
H(op_ud); H(op_gp0);
H(op_push_seg); H(op_pop_seg); H(op_mov_ES); H(op_mov_SE); H(op_lxs);
H(op_pushf); H(op_popf); H(op_arpl);
H(op_int3); H(op_int); H(op_into); H(op_int1); H(op_iret);
H(op_ret_far); H(op_call_far_ptr); H(op_jmp_far_ptr); H(op_call_far_E); H(op_jmp_far_E);
H(op_in); H(op_out); H(op_ins); H(op_outs);
H(op_hlt); H(op_cli); H(op_sti); H(op_wait); H(op_fpu);
H(op_sldt); H(op_str); H(op_lldt); H(op_ltr); H(op_verr); H(op_verw);
H(op_sgdt); H(op_sidt); H(op_lgdt); H(op_lidt); H(op_smsw); H(op_lmsw); H(op_grp7_7); H(op_grp7_1);
H(op_lar); H(op_lsl); H(op_syscall); H(op_sysret); H(op_clts); H(op_invd);
H(op_mov_RC); H(op_mov_CR); H(op_mov_RD); H(op_mov_DR);
H(op_wrmsr); H(op_rdmsr); H(op_rdtsc); H(op_rdpmc); H(op_sysenter); H(op_sysexit);
H(op_cpuid); H(op_grp15);

/* ops_sse.c */
H(op_sse_marker);
H(op_movups_ld); H(op_movaps_ld); H(op_movups_st); H(op_movaps_st); H(op_movntps);
H(op_movss_ld); H(op_movss_st); H(op_movsd_ld); H(op_movsd_st);
H(op_movlps_ld); H(op_movlps_st); H(op_movhps_ld); H(op_movhps_st);
H(op_movd_x_E); H(op_movd_E_x); H(op_movq_ld); H(op_movq_st); H(op_movnti);
H(op_movmskps); H(op_pmovmskb); H(op_movdqu_ld);
H(op_pand); H(op_pandn); H(op_por); H(op_pxor);
H(op_paddb); H(op_paddw); H(op_paddd); H(op_paddq); H(op_psubb); H(op_psubw); H(op_psubd); H(op_psubq);
H(op_paddsb); H(op_paddsw); H(op_psubsb); H(op_psubsw); H(op_paddusb); H(op_paddusw);
H(op_psubusb); H(op_psubusw); H(op_pcmpeqb); H(op_pcmpeqw); H(op_pcmpeqd);
H(op_pcmpgtb); H(op_pcmpgtw); H(op_pcmpgtd); H(op_pminub); H(op_pmaxub); H(op_pminsw); H(op_pmaxsw);
H(op_pavgb); H(op_pavgw); H(op_pmullw); H(op_pmulhw); H(op_pmulhuw); H(op_pmuludq); H(op_pmaddwd);
H(op_psadbw);
H(op_punpcklbw); H(op_punpckhbw); H(op_punpcklwd); H(op_punpckhwd); H(op_punpckldq); H(op_punpckhdq);
H(op_punpcklqdq); H(op_punpckhqdq); H(op_packsswb); H(op_packuswb); H(op_packssdw);
H(op_unpcklps); H(op_unpckhps); H(op_shufps); H(op_pshufd); H(op_pinsrw); H(op_pextrw);
H(op_pshift_imm); H(op_pshift_x); H(op_maskmovdqu);
H(op_addps); H(op_addpd); H(op_addss); H(op_addsd); H(op_subps); H(op_subpd); H(op_subss); H(op_subsd);
H(op_mulps); H(op_mulpd); H(op_mulss); H(op_mulsd); H(op_divps); H(op_divpd); H(op_divss); H(op_divsd);
H(op_minps); H(op_minpd); H(op_minss); H(op_minsd); H(op_maxps); H(op_maxpd); H(op_maxss); H(op_maxsd);
H(op_sqrtps); H(op_sqrtpd); H(op_sqrtss); H(op_sqrtsd); H(op_rsqrtps); H(op_rsqrtss);
H(op_cvtps2pd); H(op_cvtpd2ps); H(op_cvtss2sd); H(op_cvtsd2ss); H(op_cvtdq2ps); H(op_cvtpd2dq);
H(op_cvtsi2ss); H(op_cvtss2si); H(op_comiss); H(op_cmpps);
/* MMX forms (ops_sse.c) */
H(op_pand_mmx); H(op_pandn_mmx); H(op_por_mmx); H(op_pxor_mmx); H(op_paddb_mmx); H(op_paddw_mmx); H(op_paddd_mmx); H(op_paddq_mmx); H(op_psubb_mmx); H(op_psubw_mmx); H(op_psubd_mmx); H(op_psubq_mmx); H(op_paddsb_mmx); H(op_paddsw_mmx); H(op_psubsb_mmx); H(op_psubsw_mmx); H(op_paddusb_mmx); H(op_paddusw_mmx); H(op_psubusb_mmx); H(op_psubusw_mmx); H(op_pcmpeqb_mmx); H(op_pcmpeqw_mmx); H(op_pcmpeqd_mmx); H(op_pcmpgtb_mmx); H(op_pcmpgtw_mmx); H(op_pcmpgtd_mmx); H(op_pminub_mmx); H(op_pmaxub_mmx); H(op_pminsw_mmx); H(op_pmaxsw_mmx); H(op_pavgb_mmx); H(op_pavgw_mmx); H(op_pmullw_mmx); H(op_pmulhw_mmx); H(op_pmulhuw_mmx); H(op_pmuludq_mmx); H(op_pmaddwd_mmx); H(op_punpcklbw_mmx); H(op_punpckhbw_mmx); H(op_punpcklwd_mmx); H(op_punpckhwd_mmx); H(op_punpckldq_mmx); H(op_punpckhdq_mmx); H(op_punpcklqdq_mmx); H(op_punpckhqdq_mmx); H(op_packsswb_mmx); H(op_packuswb_mmx); H(op_packssdw_mmx); 
H(op_emms); H(op_movd_mm_E); H(op_movd_E_mm); H(op_movq_mm_ld); H(op_movq_mm_st); H(op_pshufw);
H(op_pshift_imm_mmx); H(op_pshift_mmx); H(op_pmovmskb_mmx); H(op_psadbw_mmx); H(op_pinsrw_mmx);
H(op_pextrw_mmx); H(op_maskmovq); H(op_movq2dq);
