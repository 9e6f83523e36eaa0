/* x87 instruction decode and memory operands (D8-DF, SDM vol. 2 and the
 * opcode map tables A-7..A-22). The arithmetic and the register stack live
 * in cpu/x87.c and cpu/fp80.c; this file fetches and converts operands,
 * dispatches on (opcode, ModRM.reg, rm), writes memory only when the x87
 * layer says so, and raises #NM/#MF. */
#include "cpu/cpu_int.h"

/* Memory operand conversion flags (denormal/invalid on load) for x87_load. */
static fp80 load_f32(struct cpu *c, uint32_t v, uint16_t *fl)
{
    struct fp_ctx ctx = fp_ctx_from_fcw(c->x87.fcw);
    fp80 r = fp80_from_f32(&ctx, v);
    *fl = ctx.flags;
    return r;
}
static fp80 load_f64(struct cpu *c, uint64_t v, uint16_t *fl)
{
    struct fp_ctx ctx = fp_ctx_from_fcw(c->x87.fcw);
    fp80 r = fp80_from_f64(&ctx, v);
    *fl = ctx.flags;
    return r;
}

static void rd_bytes(struct cpu *c, const struct insn *i, uint64_t ea, uint8_t *buf, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        buf[k] = (uint8_t)seg_read(c, i->seg, (ea + k) & szmask(i->adsz), 1);
}
static void wr_bytes(struct cpu *c, const struct insn *i, uint64_t ea, const uint8_t *buf, unsigned n)
{
    /* Probe the last byte first so a fault leaves memory unchanged. */
    seg_lin(c, i->seg, (ea + n - 1) & szmask(i->adsz), 1, true);
    for (unsigned k = 0; k < n; k++)
        seg_write(c, i->seg, (ea + k) & szmask(i->adsz), 1, buf[k]);
}
static fp80 rd_f80(struct cpu *c, const struct insn *i, uint64_t ea)
{
    fp80 v;
    v.mant = seg_read(c, i->seg, ea, 8);
    v.sexp = (uint16_t)seg_read(c, i->seg, (ea + 8) & szmask(i->adsz), 2);
    return v;
}

/* The memory-operand arithmetic group of D8/DA/DC/DE (reg field order). */
static const enum x87_binop arith_op[8] = {X87_FADD, X87_FMUL, X87_FADD, X87_FADD,
                                           X87_FSUB, X87_FSUBR, X87_FDIV, X87_FDIVR};

static void mem_arith(struct cpu *c, unsigned reg, fp80 m, uint16_t fl)
{
    if (reg == 2 || reg == 3)
        x87_fcom_mem(&c->x87, m, fl, reg == 3);
    else
        x87_binop_mem(&c->x87, arith_op[reg], m, fl);
}

/* FCMOVcc conditions (DA/DB C0-DF): B, E, BE, U and their negations. */
static bool fcmov_cond(struct cpu *c, unsigned op, unsigned reg)
{
    static const unsigned cc[4] = {2, 4, 6, 10};    /* B, Z, BE, P */
    bool r = cc_cond(c, cc[reg & 3]);
    return op == 0xda ? r : !r;
}

static void set_fcomi_flags(struct cpu *c, unsigned f)
{
    set_arith(c, f & (RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF));
}

void op_fpu(struct cpu *c, const struct insn *i)
{
    /* Device-not-available (SDM vol. 3, 2.5 CR0.EM/TS). */
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_raise(c, EXC_NM, false, 0);
    struct x87_state *x = &c->x87;
    const unsigned op = i->op & 0xff, reg = i->reg & 7, rm = i->rm & 7;
    /* The non-waiting control instructions do not check for pending
     * unmasked exceptions; all others raise #MF first (CR0.NE=1). */
    bool control = (op == 0xdb && i->mod3 && reg == 4 && (rm == 2 || rm == 3)) ||    /* FNCLEX FNINIT */
                   (op == 0xd9 && !i->mod3 && (reg == 5 || reg == 6 || reg == 7)) ||  /* FLDCW FNSTENV FNSTCW */
                   (op == 0xdd && !i->mod3 && (reg == 6 || reg == 7)) ||              /* FNSAVE FNSTSW m */
                   (op == 0xdf && i->mod3 && reg == 4 && rm == 0);                    /* FNSTSW AX */
    if (!control && x87_pending(x) && (c->cr0 & CR0_NE))
        cpu_raise(c, EXC_MF, false, 0);
    if (!control) {
        x->fop = (uint16_t)(((op & 7) << 8) | (i->mod3 ? 0xc0 | (reg << 3) | rm : (reg << 3)));
        x->fip = c->rip;
        x->fcs = c->seg[SEG_CS].sel;
    }
    if (i->mod3) {
        switch (op) {
        case 0xd8:
            if (reg == 2 || reg == 3)
                x87_fcom_st(x, rm, false, reg == 3);
            else
                x87_binop_st(x, arith_op[reg], 0, rm, false);
            return;
        case 0xd9:
            switch (reg) {
            case 0: x87_load_st(x, rm); return;
            case 1: x87_fxch(x, rm); return;
            case 2: if (rm == 0) return; break;         /* FNOP */
            case 3: x87_store_st(x, rm, true); return;  /* FSTP1 alias */
            case 4:
                switch (rm) {
                case 0: x87_unop(x, X87_FCHS); return;
                case 1: x87_unop(x, X87_FABS); return;
                case 4: x87_ftst(x); return;
                case 5: x87_fxam(x); return;
                }
                break;
            case 5:
                if (rm < 7) {
                    static const enum fp80_constant k[7] = {FP80_ONE, FP80_L2T, FP80_L2E, FP80_PI,
                                                            FP80_LG2, FP80_LN2, FP80_ZERO};
                    x87_load_const(x, k[rm]);
                    return;
                }
                break;
            case 6:
                switch (rm) {
                case 0: x87_unop(x, X87_F2XM1); return;
                case 1: x87_binop2(x, X87_FYL2X); return;
                case 2: x87_fptan(x); return;
                case 3: x87_binop2(x, X87_FPATAN); return;
                case 4: x87_fxtract(x); return;
                case 5: x87_binop2(x, X87_FPREM1); return;
                case 6: x87_fdecstp(x); return;
                case 7: x87_fincstp(x); return;
                }
                break;
            case 7:
                switch (rm) {
                case 0: x87_binop2(x, X87_FPREM); return;
                case 1: x87_binop2(x, X87_FYL2XP1); return;
                case 2: x87_unop(x, X87_FSQRT); return;
                case 3: x87_fsincos(x); return;
                case 4: x87_unop(x, X87_FRNDINT); return;
                case 5: x87_binop2(x, X87_FSCALE); return;
                case 6: x87_unop(x, X87_FSIN); return;
                case 7: x87_unop(x, X87_FCOS); return;
                }
                break;
            }
            break;
        case 0xda:
            if (reg < 4) {
                x87_fcmov(x, rm, fcmov_cond(c, op, reg));
                return;
            }
            if (reg == 5 && rm == 1) {
                x87_fcom_st(x, 1, true, 2);     /* FUCOMPP */
                return;
            }
            break;
        case 0xdb:
            if (reg < 4) {
                x87_fcmov(x, rm, fcmov_cond(c, op, reg));
                return;
            }
            if (reg == 4) {
                switch (rm) {
                case 2: x87_fclex(x); return;
                case 3: x87_init(x); return;
                case 0: case 1: case 4: return;     /* FENI/FDISI/FSETPM: no-ops */
                }
                break;
            }
            if (reg == 5 || reg == 6) {
                set_fcomi_flags(c, x87_fcomi(x, rm, reg == 5, false));
                return;
            }
            break;
        case 0xdc:
            /* ST(i) = ST(i) op ST0, with SUB/SUBR and DIV/DIVR swapped. */
            switch (reg) {
            case 0: x87_binop_st(x, X87_FADD, rm, 0, false); return;
            case 1: x87_binop_st(x, X87_FMUL, rm, 0, false); return;
            case 2: x87_fcom_st(x, rm, false, 0); return;
            case 3: x87_fcom_st(x, rm, false, 1); return;
            case 4: x87_binop_st(x, X87_FSUBR, rm, 0, false); return;
            case 5: x87_binop_st(x, X87_FSUB, rm, 0, false); return;
            case 6: x87_binop_st(x, X87_FDIVR, rm, 0, false); return;
            case 7: x87_binop_st(x, X87_FDIV, rm, 0, false); return;
            }
            break;
        case 0xdd:
            switch (reg) {
            case 0: x87_ffree(x, rm); return;
            case 1: x87_fxch(x, rm); return;
            case 2: x87_store_st(x, rm, false); return;
            case 3: x87_store_st(x, rm, true); return;
            case 4: x87_fcom_st(x, rm, true, 0); return;
            case 5: x87_fcom_st(x, rm, true, 1); return;
            }
            break;
        case 0xde:
            switch (reg) {
            case 0: x87_binop_st(x, X87_FADD, rm, 0, true); return;
            case 1: x87_binop_st(x, X87_FMUL, rm, 0, true); return;
            case 2: x87_fcom_st(x, rm, false, 1); return;
            case 3: if (rm == 1) { x87_fcom_st(x, 1, false, 2); return; } break;   /* FCOMPP */
            case 4: x87_binop_st(x, X87_FSUBR, rm, 0, true); return;
            case 5: x87_binop_st(x, X87_FSUB, rm, 0, true); return;
            case 6: x87_binop_st(x, X87_FDIVR, rm, 0, true); return;
            case 7: x87_binop_st(x, X87_FDIV, rm, 0, true); return;
            }
            break;
        case 0xdf:
            switch (reg) {
            case 0: x87_ffree(x, rm); x87_fincstp(x); return;   /* FFREEP */
            case 1: x87_fxch(x, rm); return;
            case 2: case 3: x87_store_st(x, rm, true); return;
            case 4: if (rm == 0) { wr_reg(c, R_EAX, 2, x->fsw); return; } break;
            case 5: case 6: set_fcomi_flags(c, x87_fcomi(x, rm, reg == 5, true)); return;
            }
            break;
        }
        raise_ud(c);
    }

    /* Memory forms. */
    const uint64_t ea = insn_ea(c, i);
    if (!control) {
        x->fdp = ea;
        x->fds = c->seg[i->seg < SEG_COUNT ? i->seg : SEG_DS].sel;
    }
    const bool op32 = i->opsz != 2;
    const bool real = !is_pm(c) || is_vm86(c);
    uint16_t fl = 0;
    switch (op) {
    /* The operand is converted before mem_arith reads fl: the order in
     * which C evaluates arguments is unspecified, and passing fl next to
     * load_f32(..., &fl) lost the conversion's IE/DE (an SNaN m32/m64
     * operand raised no #IA). */
    case 0xd8: {
        fp80 m = load_f32(c, (uint32_t)seg_read(c, i->seg, ea, 4), &fl);
        mem_arith(c, reg, m, fl);
        return;
    }
    case 0xdc: {
        fp80 m = load_f64(c, seg_read(c, i->seg, ea, 8), &fl);
        mem_arith(c, reg, m, fl);
        return;
    }
    case 0xda:
        mem_arith(c, reg, fp80_from_i64((int32_t)seg_read(c, i->seg, ea, 4)), 0);
        return;
    case 0xde:
        mem_arith(c, reg, fp80_from_i64((int16_t)seg_read(c, i->seg, ea, 2)), 0);
        return;
    case 0xd9:
        switch (reg) {
        case 0: {
            fp80 v = load_f32(c, (uint32_t)seg_read(c, i->seg, ea, 4), &fl);
            x87_load(x, v, fl);
            return;
        }
        case 2: case 3: {
            uint32_t out;
            seg_lin(c, i->seg, ea, 4, true);
            if (x87_store_f32(x, reg == 3, &out))
                seg_write(c, i->seg, ea, 4, out);
            return;
        }
        case 4: {
            uint8_t env[28];
            rd_bytes(c, i, ea, env, x87_env_size(op32));
            x87_fldenv(x, op32, real, env);
            return;
        }
        case 5: x87_fldcw(x, (uint16_t)seg_read(c, i->seg, ea, 2)); return;
        case 6: {
            uint8_t env[28];
            seg_lin(c, i->seg, ea, 1, true);
            struct x87_state saved = *x;
            x87_fstenv(x, op32, real, env);
            unsigned n = x87_env_size(op32);
            *x = saved;     /* the write may fault: commit the masking after it */
            wr_bytes(c, i, ea, env, n);
            x87_fstenv(x, op32, real, env);
            return;
        }
        case 7: seg_write(c, i->seg, ea, 2, x->fcw); return;
        }
        break;
    case 0xdb:
        switch (reg) {
        case 0: x87_load(x, fp80_from_i64((int32_t)seg_read(c, i->seg, ea, 4)), 0); return;
        case 1: case 2: case 3: {
            int64_t out;
            seg_lin(c, i->seg, ea, 4, true);
            if (x87_store_int(x, 32, reg == 1, reg != 2, &out))
                seg_write(c, i->seg, ea, 4, (uint32_t)out);
            return;
        }
        case 5: x87_load(x, rd_f80(c, i, ea), 0); return;
        case 7: {
            fp80 out;
            seg_lin(c, i->seg, (ea + 9) & szmask(i->adsz), 1, true);
            if (x87_store_f80(x, true, &out)) {
                seg_write(c, i->seg, ea, 8, out.mant);
                seg_write(c, i->seg, (ea + 8) & szmask(i->adsz), 2, out.sexp);
            }
            return;
        }
        }
        break;
    case 0xdd:
        switch (reg) {
        case 0: {
            fp80 v = load_f64(c, seg_read(c, i->seg, ea, 8), &fl);
            x87_load(x, v, fl);
            return;
        }
        case 1: {
            int64_t out;
            seg_lin(c, i->seg, ea, 8, true);
            if (x87_store_int(x, 64, true, true, &out))
                seg_write(c, i->seg, ea, 8, (uint64_t)out);
            return;
        }
        case 2: case 3: {
            uint64_t out;
            seg_lin(c, i->seg, ea, 8, true);
            if (x87_store_f64(x, reg == 3, &out))
                seg_write(c, i->seg, ea, 8, out);
            return;
        }
        case 4: {
            uint8_t img[108];
            rd_bytes(c, i, ea, img, x87_env_size(op32) + 80);
            x87_frstor(x, op32, real, img);
            return;
        }
        case 6: {
            uint8_t img[108];
            unsigned n = x87_env_size(op32) + 80;
            seg_lin(c, i->seg, (ea + n - 1) & szmask(i->adsz), 1, true);
            x87_fsave(x, op32, real, img);
            wr_bytes(c, i, ea, img, n);
            return;
        }
        case 7: seg_write(c, i->seg, ea, 2, x->fsw); return;
        }
        break;
    case 0xdf:
        switch (reg) {
        case 0: x87_load(x, fp80_from_i64((int16_t)seg_read(c, i->seg, ea, 2)), 0); return;
        case 1: case 2: case 3: {
            int64_t out;
            seg_lin(c, i->seg, ea, 2, true);
            if (x87_store_int(x, 16, reg == 1, reg != 2, &out))
                seg_write(c, i->seg, ea, 2, (uint16_t)out);
            return;
        }
        case 4: {
            uint8_t bcd[10];
            rd_bytes(c, i, ea, bcd, 10);
            x87_load(x, fp80_from_bcd(bcd), 0);
            return;
        }
        case 5: x87_load(x, fp80_from_i64((int64_t)seg_read(c, i->seg, ea, 8)), 0); return;
        case 6: {
            uint8_t bcd[10];
            seg_lin(c, i->seg, (ea + 9) & szmask(i->adsz), 1, true);
            if (x87_store_bcd(x, bcd))
                wr_bytes(c, i, ea, bcd, 10);
            return;
        }
        case 7: {
            int64_t out;
            seg_lin(c, i->seg, ea, 8, true);
            if (x87_store_int(x, 64, false, true, &out))
                seg_write(c, i->seg, ea, 8, (uint64_t)out);
            return;
        }
        }
        break;
    }
    raise_ud(c);
}

/* FWAIT: #NM if MP and TS; #MF for a pending unmasked x87 exception. */
void op_wait(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_raise(c, EXC_NM, false, 0);
    if (x87_pending(&c->x87) && (c->cr0 & CR0_NE))
        cpu_raise(c, EXC_MF, false, 0);
}
