/* The Popek–Goldberg mode: what a classic trap-and-emulate VMM on pre-VT
 * x86 would see if it ran this guest's kernel de-privileged.
 *
 * The VMM modelled here is the one the literature describes for 32-bit x86
 * (Robin and Irvine, USENIX Security 2000; Adams and Agesen, ASPLOS 2006):
 * "ring compression" moves guest ring 0 to ring 1 and leaves guest ring 3 in
 * ring 3; the VMM owns the real GDT, IDT and TSS (shadow tables in its own
 * 4 MiB at the top of the address space; guest descriptors of DPL 0 are
 * shadowed with DPL 1 so the de-privileged kernel can still load them, and
 * their limits are truncated below the VMM); it keeps the real EFLAGS.IF=1
 * and IOPL=0 while the guest runs, so CLI/STI/IN/OUT/... trap and are
 * emulated, and the guest's interrupt flag is a virtual one in the VMM.
 *
 * Privileged instructions at CPL 0 then trap to the VMM, which emulates
 * them correctly: they are only counted. The sensitive but unprivileged
 * ones do not trap; each is checked here after the real handler ran, and
 * where the ring-1 hardware would have produced something else it is
 * logged (log) or that result replaces the correct one (naive).
 *
 * The decoder puts pg_wrap(fn) in place of the handler of every
 * instruction its tables class as privileged or sensitive (decode.c), so
 * the interpreter and translated code (which calls handlers for all of
 * these) both come through here. */
#include "cpu/cpu_int.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

/* The VMM's tables as de-privileged hardware would show them. */
#define VMM_BASE32    0xffc00000u           /* its 4 MiB at the top of 32-bit space */
#define VMM_BASE64    0xffffffffffc00000ull
#define VMM_GDT_LIMIT 0xffffu               /* guest entries mirrored + its own at the top */
#define VMM_IDT_OFF   0x10000u
#define VMM_TSS_SEL   0xfff0u
#define VMM_LDT_SEL   0xffe0u
#define HW_CR0_SET    (CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG)  /* what the VMM runs with */

/* Rows of the table, in lecture order: Robin and Irvine's list first. */
#define PG_ROWS(X) \
    X(SGDT, "SGDT", 1) X(SIDT, "SIDT", 1) X(SLDT, "SLDT", 1) X(SMSW, "SMSW", 1) X(STR, "STR", 1) \
    X(PUSHF, "PUSHF", 1) X(POPF, "POPF", 1) X(LAR, "LAR", 1) X(LSL, "LSL", 1) \
    X(VERR, "VERR", 1) X(VERW, "VERW", 1) X(PUSHSEG, "PUSH Sreg", 1) X(POPSEG, "POP Sreg", 1) \
    X(MOVFROMSEG, "MOV r/m,Sreg", 1) X(MOVTOSEG, "MOV Sreg,r/m", 1) \
    X(CALLF, "CALL far", 1) X(JMPF, "JMP far", 1) X(RETF, "RET far", 1) X(INTN, "INT n", 1) \
    X(IRET, "IRET", 1) \
    X(IN, "IN/INS", 0) X(OUT, "OUT/OUTS", 0) X(HLT, "HLT", 0) X(CLI, "CLI", 0) X(STI, "STI", 0) \
    X(LGDT, "LGDT", 0) X(LIDT, "LIDT", 0) X(LLDT, "LLDT", 0) X(LTR, "LTR", 0) X(LMSW, "LMSW", 0) \
    X(INVLPG, "INVLPG/SWAPGS", 0) X(CLTS, "CLTS", 0) X(INVD, "INVD/WBINVD", 0) \
    X(MOVCR, "MOV CRn", 0) X(MOVDR, "MOV DRn", 0) X(RDMSR, "RDMSR", 0) X(WRMSR, "WRMSR", 0) \
    X(SYSRET, "SYSRET/SYSEXIT", 0)

enum pg_row {
#define ROW_ENUM(id, name, sens) PGR_##id,
    PG_ROWS(ROW_ENUM)
#undef ROW_ENUM
    PGR_COUNT
};
static const struct { const char *name; bool sens; } rows[PGR_COUNT] = {
#define ROW_INFO(id, name, sens) {name, sens},
    PG_ROWS(ROW_INFO)
#undef ROW_INFO
};

struct pg_count {
    uint64_t cpl0, cplx, trap, wrong;
};

struct pg_state {
    struct cpu_pg_config cfg;
    struct pg_count n[PGR_COUNT];
    bool diverged;
    char first[512];        /* the first silently-wrong event */
};

/* What the handler is about to change, captured before it runs. */
struct pg_pre {
    uint32_t cpl;
    bool pm, vm86;
    uint64_t flags, rsp, rip, cs_base;
    uint16_t cs, sel;
    uint32_t mode;
};

/* ---- logging ---- */

static FILE *pg_out(const struct pg_state *s)
{
    return s->cfg.log ? s->cfg.log : stderr;
}

static void pg_where(struct cpu *c, const struct pg_pre *p, char *out, size_t len, int pad)
{
    int bits = (p->mode & MODE_64) ? 64 : (p->mode & MODE_CS32) ? 32 : 16;
    uint64_t lin = p->cs_base + p->rip;
    if (bits != 64)
        lin &= 0xffffffffu;
    uint8_t code[16];
    /* Read with the privilege it ran at (an IRET to ring 3 has left). */
    uint32_t cpl = c->cpl;
    c->cpl = p->cpl;
    unsigned got = cpu_read_code(c, lin, code, sizeof(code));
    c->cpl = cpl;
    char dis[96] = "";
    if (got && c->pg->cfg.disas)
        c->pg->cfg.disas(c->pg->cfg.opaque, dis, sizeof(dis), lin, code, got, bits);
    if (!dis[0]) {
        size_t k = 0;
        for (unsigned j = 0; j < got && j < 8 && k + 4 < sizeof(dis); j++)
            k += (size_t)snprintf(dis + k, sizeof(dis) - k, "%s%02x", j ? " " : "", code[j]);
    }
    snprintf(out, len, "%04x:%0*" PRIx64 " CPL%u %-*s", p->cs, bits == 64 ? 16 : 8, p->rip,
             p->vm86 ? 3 : p->cpl, pad, dis);
}

/* A trap the de-privileging causes (privileged, or sensitive and caught). */
static void pg_trap(struct cpu *c, const struct pg_pre *p, int row, const char *why)
{
    struct pg_state *s = c->pg;
    uint64_t k = ++s->n[row].trap;
    if (!rows[row].sens || k > s->cfg.full)
        return;
    char where[160];
    pg_where(c, p, where, sizeof(where), 28);
    fprintf(pg_out(s), "pg: %-13s %s would trap: %s\n", rows[row].name, where, why);
    if (k == s->cfg.full)
        fprintf(pg_out(s), "pg: %-13s (further ones counted only)\n", rows[row].name);
}

/* Ran silently with a different result: expected vs. what ring-1 hardware
 * under the VMM gives. Returns whether naive mode applies it. */
static bool pg_wrong(struct cpu *c, const struct pg_pre *p, int row, bool applied,
                     const char *fmt, ...)
{
    struct pg_state *s = c->pg;
    uint64_t k = ++s->n[row].wrong;
    bool naive = s->cfg.mode == CPU_PG_NAIVE;
    char what[320], where[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (k <= s->cfg.full) {
        pg_where(c, p, where, sizeof(where), 28);
        fprintf(pg_out(s), "pg: %-13s %s silently wrong: %s%s\n", rows[row].name, where, what,
                naive && !applied ? " (logged only, see docs)" : "");
        if (k == s->cfg.full)
            fprintf(pg_out(s), "pg: %-13s (further ones counted only)\n", rows[row].name);
    }
    /* pg=naive names the first result it changed; pg=log the first wrong one. */
    if (naive ? applied && !s->diverged : !s->first[0]) {
        pg_where(c, p, where, sizeof(where), 0);
        snprintf(s->first, sizeof(s->first), "%s at %s: %s", rows[row].name, where, what);
        if (naive) {
            s->diverged = true;
            fprintf(pg_out(s), "pg: naive: the guest diverges here: %s\n", s->first);
        }
    }
    return naive && applied;
}

/* ---- helpers ---- */

static int seg_of_push(const struct insn *i)
{
    if (i->op == 0x1a0 || i->op == 0x1a1)
        return SEG_FS;
    if (i->op == 0x1a8 || i->op == 0x1a9)
        return SEG_GS;
    return (i->op >> 3) & 3;
}
static const char *const segname[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS"};

/* The guest's descriptor for sel (the handler just read it: no new fault). */
static bool pg_desc(struct cpu *c, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint64_t base = c->gdtr.base;
    uint32_t limit = c->gdtr.limit;
    if (sel & 4) {
        if (c->ldtr.sel == 0)
            return false;
        base = c->ldtr.base;
        limit = c->ldtr.limit;
    }
    if ((sel & ~3u) == 0 || (uint32_t)(sel & ~7u) + 7 > limit)
        return false;
    uint64_t a = base + (sel & ~7u);
    if (!is_64(c))
        a &= 0xffffffffu;
    uint64_t v = sys_read(c, a, 8);
    *lo = (uint32_t)v;
    *hi = (uint32_t)(v >> 32);
    return true;
}

static uint64_t vmm_base(const struct cpu *c)
{
    return (c->efer & EFER_LMA) ? VMM_BASE64 : VMM_BASE32;
}

/* Segment loads and stores that only differ by the RPL of CS/SS. */
static bool deprived_kernel(const struct pg_pre *p)
{
    return p->pm && !p->vm86 && p->cpl == 0;
}

/* POPF and IRET at CPL 1 with IOPL 0 change neither IF nor IOPL, and do
 * not trap (SDM vol. 2, POPF and IRET): the guest's flags stay as before. */
static void keep_if_iopl(struct cpu *c, const struct pg_pre *p, int row, const char *when)
{
    const uint64_t IFIO = RFLAGS_IF | RFLAGS_IOPL;
    uint64_t want = get_eflags(c);
    uint64_t got = (want & ~IFIO) | (p->flags & IFIO);
    if (want != got &&
        pg_wrong(c, p, row, true, "guest expects IF=%u IOPL=%u%s, de-privileged hardware "
                 "(CPL 1 > IOPL 0) silently keeps IF=%u IOPL=%u", (unsigned)(want >> 9) & 1,
                 (unsigned)(want >> 12) & 3, when, (unsigned)(got >> 9) & 1,
                 (unsigned)(got >> 12) & 3))
        set_eflags(c, got, IFIO);
}

/* ---- the check after each handler ---- */

static void pg_after(struct cpu *c, const struct insn *i, int row, const struct pg_pre *p)
{
    const bool kern = p->cpl == 0 && !p->vm86;     /* guest kernel (or real mode) */
    const uint64_t IFIO = RFLAGS_IF | RFLAGS_IOPL;
    switch (row) {
    case PGR_SGDT: case PGR_SIDT: {
        /* Any CPL: the tables in the register are the VMM's (the "Red Pill"). */
        const struct x86_dtable *t = row == PGR_SGDT ? &c->gdtr : &c->idtr;
        uint64_t b = vmm_base(c) + (row == PGR_SIDT ? VMM_IDT_OFF : 0);
        uint16_t l = row == PGR_SGDT ? VMM_GDT_LIMIT : (c->efer & EFER_LMA) ? 0xfff : 0x7ff;
        if (!is_64(c))
            b &= i->opsz == 2 ? 0xffffff : 0xffffffff;
        if (pg_wrong(c, p, row, true, "guest expects base=%#" PRIx64 " limit=%#x, "
                     "de-privileged hardware gives the VMM's: base=%#" PRIx64 " limit=%#x",
                     t->base, t->limit, b, l)) {
            uint64_t ea = insn_ea(c, i);
            seg_write(c, i->seg, ea, 2, l);
            seg_write(c, i->seg, (ea + 2) & szmask(i->adsz), is_64(c) ? 8 : 4, b);
        }
        break;
    }
    case PGR_SLDT: case PGR_STR: case PGR_SMSW: {
        uint64_t want, got;
        const char *what;
        if (row == PGR_SLDT) {
            want = c->ldtr.sel;
            got = want ? VMM_LDT_SEL : 0;
            what = "the VMM's shadow LDT selector";
        } else if (row == PGR_STR) {
            want = c->tr.sel;
            got = VMM_TSS_SEL;
            what = "the VMM's TSS selector";
        } else {
            want = c->cr0;
            got = c->cr0 | HW_CR0_SET;
            what = "the real CR0 the VMM runs with";
        }
        unsigned sz = i->mod3 ? i->opsz : 2;
        want &= szmask(sz);
        got &= szmask(sz);
        if (want != got &&
            pg_wrong(c, p, row, true, "guest expects %#" PRIx64 ", de-privileged hardware "
                     "gives %#" PRIx64 " (%s)", want, got, what)) {
            if (i->mod3) wr_reg(c, i->rm, i->opsz, got); else wr_E(c, i, 2, got);
        }
        break;
    }
    case PGR_PUSHF: {
        if (!p->pm && kern) {
            pg_trap(c, p, row, "real mode runs in virtual-8086 mode with IOPL<3");
            break;
        }
        uint64_t m = szmask(i->opsz);
        uint64_t want = p->flags & ~(uint64_t)(RFLAGS_VM | RFLAGS_RF) & m;
        uint64_t got = ((want & ~IFIO) | RFLAGS_IF) & m;
        if (want != got &&
            pg_wrong(c, p, row, true, "guest expects flags %#" PRIx64 " (IF=%u IOPL=%u), "
                     "de-privileged hardware pushes %#" PRIx64 " (the real IF=1 IOPL=0 the "
                     "VMM keeps)", want, (unsigned)(want >> 9) & 1, (unsigned)(want >> 12) & 3, got))
            seg_write(c, SEG_SS, c->gpr[R_ESP] & c->spmask, i->opsz, got);
        break;
    }
    case PGR_POPF: {
        if (!p->pm && kern) {
            pg_trap(c, p, row, "real mode runs in virtual-8086 mode with IOPL<3");
            break;
        }
        if (!kern)
            break;      /* CPL 3: hardware already ignores IF/IOPL, as natively */
        keep_if_iopl(c, p, row, "");
        break;
    }
    case PGR_PUSHSEG: case PGR_MOVFROMSEG: {
        int sg = row == PGR_PUSHSEG ? seg_of_push(i) : (int)(i->reg & 7);
        if (!deprived_kernel(p) || (sg != SEG_CS && sg != SEG_SS))
            break;
        uint16_t want = c->seg[sg].sel, got = (uint16_t)((want & ~3u) | 1);
        if (want != got &&
            pg_wrong(c, p, row, true, "guest expects %s=%#x, de-privileged hardware gives "
                     "%#x (RPL 1: the kernel runs in ring 1)", segname[sg], want, got)) {
            if (row == PGR_PUSHSEG)
                seg_write(c, SEG_SS, c->gpr[R_ESP] & c->spmask, i->opsz, got);
            else if (i->mod3)
                wr_reg(c, i->rm, i->opsz, got);
            else
                wr_E(c, i, 2, got);
        }
        break;
    }
    case PGR_POPSEG: case PGR_MOVTOSEG: {
        int sg = row == PGR_POPSEG ? seg_of_push(i) : (int)(i->reg & 7);
        if (deprived_kernel(p) && sg == SEG_SS && (c->seg[SEG_SS].sel & 3) == 0)
            pg_trap(c, p, row, "SS with RPL 0 at CPL 1 is #GP (SS.RPL must equal CPL)");
        break;
    }
    case PGR_LAR: {
        /* Any CPL: the descriptor is the VMM's shadow, DPL 0 compressed to 1. */
        if (!(get_eflags(c) & RFLAGS_ZF))
            break;
        uint64_t want = rd_reg(c, i->reg, i->opsz);
        if (!(want & (1u << 12)) || (want & (3u << 13)))
            break;
        uint64_t got = want | (1u << 13);
        if (pg_wrong(c, p, row, true, "guest expects access rights %#" PRIx64 " (DPL 0), "
                     "the VMM's shadow descriptor gives %#" PRIx64 " (DPL 1)", want, got))
            wr_reg(c, i->reg, i->opsz, got);
        break;
    }
    case PGR_LSL: case PGR_VERR: case PGR_VERW: {
        uint32_t lo, hi;
        if (!pg_desc(c, p->sel, &lo, &hi) || !(hi & (1u << 12)))
            break;      /* system descriptors: the VMM's own, same answers */
        unsigned dpl = (hi >> 13) & 3, type = (hi >> 8) & 15;
        if (row == PGR_LSL) {
            if (!(get_eflags(c) & RFLAGS_ZF))
                break;
            uint64_t base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
            uint64_t want = rd_reg(c, i->reg, i->opsz) & 0xffffffffu;
            if (base >= VMM_BASE32 || base + want < VMM_BASE32)
                break;
            uint64_t got = VMM_BASE32 - 1 - base;
            if (pg_wrong(c, p, row, true, "guest expects limit %#" PRIx64 ", the VMM's shadow "
                         "descriptor is truncated below its own 4 MiB: %#" PRIx64, want, got))
                wr_reg(c, i->reg, i->opsz, got);
            break;
        }
        /* The same probe from ring max(CPL,1) against DPL max(DPL,1). */
        bool conf = (type & 8) && (type & 4);
        unsigned cpl1 = p->cpl ? p->cpl : 1, dpl1 = dpl ? dpl : 1, rpl = p->sel & 3;
        bool ok = conf || (cpl1 <= dpl1 && rpl <= dpl1);
        ok = ok && (row == PGR_VERR ? (!(type & 8) || (type & 2)) : (!(type & 8) && (type & 2)));
        bool want = (get_eflags(c) & RFLAGS_ZF) != 0;
        if (want != ok &&
            pg_wrong(c, p, row, true, "guest expects ZF=%u for selector %#x, from ring %u the "
                     "VMM's shadow descriptor gives ZF=%u", want, p->sel, cpl1, ok)) {
            flags_materialize(c);
            c->eflags = ok ? c->eflags | RFLAGS_ZF : c->eflags & ~(uint64_t)RFLAGS_ZF;
        }
        break;
    }
    case PGR_CALLF: case PGR_JMPF:
        if (deprived_kernel(p) && c->cpl == 0)
            pg_wrong(c, p, row, false, "guest expects CS=%#x, de-privileged hardware loads "
                     "%#x (RPL 1) without a trap", c->seg[SEG_CS].sel,
                     (c->seg[SEG_CS].sel & ~3u) | 1);
        break;
    case PGR_RETF:
        if (deprived_kernel(p) && c->cpl == 0)
            pg_trap(c, p, row, "a return to RPL 0 from ring 1 is #GP (inner ring)");
        break;
    case PGR_INTN:
        if (kern)
            pg_trap(c, p, row, p->pm ? "the VMM owns the IDT: its gate runs, it reflects the "
                                       "interrupt to the guest"
                                     : "real mode runs in virtual-8086 mode with IOPL<3");
        break;
    case PGR_IRET:
        if (!kern)
            break;
        if (!p->pm) {
            pg_trap(c, p, row, "real mode runs in virtual-8086 mode with IOPL<3");
        } else if (c->mode & MODE_VM86) {
            pg_trap(c, p, row, "only CPL 0 may IRET to virtual-8086 mode: from ring 1 the "
                               "frame's CS is checked as protected mode and faults");
        } else if (c->cpl == 0) {
            pg_trap(c, p, row, "a return to RPL 0 from ring 1 is #GP (inner ring)");
        } else {
            keep_if_iopl(c, p, row, " after the return to ring 3");
        }
        break;
    default:
        /* Privileged: at CPL 0 (or in real mode, run as virtual-8086) it
         * traps to the VMM, which emulates it. */
        if (kern)
            pg_trap(c, p, row, "privileged");
        break;
    }
}

static void pg_run(struct cpu *c, const struct insn *i, insn_fn fn, int row)
{
    if (row == PGR_INVLPG && i->mod3 && (i->rm & 7) == 1) {
        fn(c, i);   /* RDTSCP shares the handler; it is neither */
        return;
    }
    struct pg_pre p = {
        .cpl = c->cpl, .pm = is_pm(c), .vm86 = is_vm86(c), .flags = get_eflags(c),
        .rsp = c->gpr[R_ESP], .rip = c->rip, .cs_base = c->seg[SEG_CS].base,
        .cs = c->seg[SEG_CS].sel, .mode = c->mode,
    };
    /* The selector operand of LSL/VERR/VERW, before LSL may overwrite it. */
    if ((row == PGR_LSL || row == PGR_VERR || row == PGR_VERW) && p.pm && !p.vm86)
        p.sel = (uint16_t)rd_E(c, i, 2);
    /* INT n delivers by longjmp from inside its handler: it is counted
     * before (even when the gate check then faults). */
    if (row != PGR_INTN)
        fn(c, i);   /* a fault longjmps out: it faults natively too, nothing to count */
    struct pg_count *n = &c->pg->n[row];
    if (p.cpl == 0 && !p.vm86)
        n->cpl0++;
    else
        n->cplx++;
    pg_after(c, i, row, &p);
    if (row == PGR_INTN)
        fn(c, i);
}

/* One wrapper per handler (decode.c swaps it in). */
#define PG_HANDLERS(X) \
    X(op_sgdt, SGDT) X(op_grp7_1, SIDT) X(op_sldt, SLDT) X(op_smsw, SMSW) X(op_str, STR) \
    X(op_pushf, PUSHF) X(op_popf, POPF) X(op_lar, LAR) X(op_lsl, LSL) X(op_verr, VERR) \
    X(op_verw, VERW) X(op_push_seg, PUSHSEG) X(op_pop_seg, POPSEG) X(op_mov_ES, MOVFROMSEG) \
    X(op_mov_SE, MOVTOSEG) X(op_call_far_ptr, CALLF) X(op_call_far_E, CALLF) \
    X(op_jmp_far_ptr, JMPF) X(op_jmp_far_E, JMPF) X(op_ret_far, RETF) X(op_int, INTN) \
    X(op_iret, IRET) X(op_in, IN) X(op_ins, IN) X(op_out, OUT) X(op_outs, OUT) X(op_hlt, HLT) \
    X(op_cli, CLI) X(op_sti, STI) X(op_lgdt, LGDT) X(op_lidt, LIDT) X(op_lldt, LLDT) \
    X(op_ltr, LTR) X(op_lmsw, LMSW) X(op_grp7_7, INVLPG) X(op_clts, CLTS) X(op_invd, INVD) \
    X(op_mov_RC, MOVCR) X(op_mov_CR, MOVCR) X(op_mov_RD, MOVDR) X(op_mov_DR, MOVDR) \
    X(op_rdmsr, RDMSR) X(op_wrmsr, WRMSR) X(op_sysret, SYSRET) X(op_sysexit, SYSRET)

#define PG_WRAPPER(h, row) \
    static void pgw_##h(struct cpu *c, const struct insn *i) { pg_run(c, i, h, PGR_##row); }
PG_HANDLERS(PG_WRAPPER)
#undef PG_WRAPPER

insn_fn pg_wrap(insn_fn fn)
{
    insn_fn g = ops_generic(fn);
#define PG_MATCH(h, row) if (g == h) return pgw_##h;
    PG_HANDLERS(PG_MATCH)
#undef PG_MATCH
    return fn;      /* #UD forms and anything the table classes but we do not model */
}

/* ---- public ---- */

int cpu_set_pg(struct cpu *c, const struct cpu_pg_config *cfg)
{
    if (cfg->mode == CPU_PG_OFF) {
        pg_free(c);
        return 0;
    }
    if (!c->pg) {
        c->pg = calloc(1, sizeof(*c->pg));
        if (!c->pg)
            return -1;
    }
    c->pg->cfg = *cfg;
    if (!c->pg->cfg.full)
        c->pg->cfg.full = 5;
    return 0;
}

void pg_free(struct cpu *c)
{
    free(c->pg);
    c->pg = NULL;
}

bool cpu_pg_divergence(const struct cpu *c, char *buf, size_t len)
{
    if (!c->pg || !c->pg->first[0])
        return false;
    snprintf(buf, len, "%s", c->pg->first);
    return true;
}

void cpu_pg_summary(struct cpu *const *cpus, int n, FILE *f)
{
    struct pg_count sum[PGR_COUNT] = {{0}};
    const struct pg_state *any = NULL;
    for (int k = 0; k < n; k++) {
        const struct pg_state *s = cpus[k] ? cpus[k]->pg : NULL;
        if (!s)
            continue;
        any = any ? any : s;
        for (int r = 0; r < PGR_COUNT; r++) {
            sum[r].cpl0 += s->n[r].cpl0;
            sum[r].cplx += s->n[r].cplx;
            sum[r].trap += s->n[r].trap;
            sum[r].wrong += s->n[r].wrong;
        }
    }
    if (!any)
        return;
    fprintf(f, "Popek-Goldberg summary (pg=%s): guest ring 0 run in ring 1 by a "
               "trap-and-emulate VMM\n", any->cfg.mode == CPU_PG_NAIVE ? "naive" : "log");
    fprintf(f, "%-15s %-11s %12s %12s %12s %14s\n", "instruction", "class", "at CPL 0",
            "at CPL>0", "would trap", "silently wrong");
    uint64_t t[4] = {0};
    for (int r = 0; r < PGR_COUNT; r++) {
        fprintf(f, "%-15s %-11s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n",
                rows[r].name, rows[r].sens ? "sensitive" : "privileged", sum[r].cpl0,
                sum[r].cplx, sum[r].trap, sum[r].wrong);
        t[0] += sum[r].cpl0; t[1] += sum[r].cplx; t[2] += sum[r].trap; t[3] += sum[r].wrong;
    }
    fprintf(f, "%-15s %-11s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n",
            "total", "", t[0], t[1], t[2], t[3]);
    for (int k = 0; k < n; k++) {
        char buf[512];
        if (cpus[k] && cpu_pg_divergence(cpus[k], buf, sizeof(buf)))
            fprintf(f, "first silently wrong (CPU %d): %s\n", k, buf);
    }
}

void cpu_set_features(struct cpu *c, uint32_t features)
{
    c->features = features;
}
