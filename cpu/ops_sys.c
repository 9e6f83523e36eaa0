/* System instructions: segment loads with descriptor checks, far control
 * transfers, interrupt/exception delivery and IRET in every mode, I/O with
 * IOPL and the TSS bitmap, control/debug registers, MSRs, CPUID, SYSCALL/
 * SYSRET, SYSENTER/SYSEXIT (SDM vol. 3 ch. 5, 6, 7; vol. 2). */
#include "cpu/cpu_int.h"
#include <time.h>

void op_ud(struct cpu *c, const struct insn *i) { (void)i; raise_ud(c); }
void op_gp0(struct cpu *c, const struct insn *i) { (void)i; raise_gp(c, 0); }

static void need_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        raise_gp(c, 0);
}

/* ---- descriptors ---- */

/* Writes the interrupt frame on a stack described by (ss base, sp, mask)
 * with supervisor or user rights, before any register is committed. */
struct frame {
    uint64_t base, sp, mask;
    unsigned width;
    uint32_t mmu_idx;
};
static void frame_push(struct cpu *c, struct frame *fr, uint64_t v);
static uint32_t tss_read(struct cpu *c, uint32_t off, unsigned sz);

struct desc {
    uint32_t lo, hi;
    uint64_t addr;      /* linear address of the descriptor */
};

static inline unsigned d_type(const struct desc *d) { return (d->hi >> 8) & 0xf; }
static inline bool d_s(const struct desc *d) { return d->hi & (1u << 12); }
static inline unsigned d_dpl(const struct desc *d) { return (d->hi >> 13) & 3; }
static inline bool d_p(const struct desc *d) { return d->hi & (1u << 15); }

/* Reads the descriptor for sel; false if outside the table (caller faults). */
static bool read_desc(struct cpu *c, uint16_t sel, struct desc *d)
{
    uint64_t base;
    uint32_t limit;
    if (sel & 4) {
        if (c->ldtr.attr & SEGA_UNUSABLE || c->ldtr.sel == 0)
            return false;
        base = c->ldtr.base;
        limit = c->ldtr.limit;
    } else {
        base = c->gdtr.base;
        limit = c->gdtr.limit;
    }
    if ((uint32_t)(sel & ~7u) + 7 > limit)
        return false;
    d->addr = base + (sel & ~7u);
    if (!is_64(c))
        d->addr &= 0xffffffffULL;
    uint64_t v = sys_read(c, d->addr, 8);
    d->lo = (uint32_t)v;
    d->hi = (uint32_t)(v >> 32);
    return true;
}

static void desc_to_cache(struct seg_cache *s, uint16_t sel, const struct desc *d)
{
    s->sel = sel;
    s->base = (d->lo >> 16) | ((uint64_t)(d->hi & 0xff) << 16) | (d->hi & 0xff000000u);
    uint32_t lim = (d->lo & 0xffff) | (d->hi & 0xf0000);
    if (d->hi & (1u << 23))
        lim = (lim << 12) | 0xfff;
    s->limit = lim;
    s->attr = (uint16_t)(((d->hi >> 8) & 0xff) | ((d->hi >> 12) & 0xf00));
}

static void set_accessed(struct cpu *c, struct desc *d)
{
    if (!(d->hi & (1u << 8))) {
        d->hi |= 1u << 8;
        sys_write(c, d->addr + 4, 4, d->hi);
    }
}

void load_seg_real(struct cpu *c, int s, uint16_t sel)
{
    c->seg[s].sel = sel;
    c->seg[s].base = (uint64_t)sel << 4;
    if (is_vm86(c)) {
        c->seg[s].limit = 0xffff;
        c->seg[s].attr = 0xf3 | (s == SEG_CS ? 0x8 : 0);
    }
    cpu_seg_refresh(c, s);
}

/* MOV/POP to a data segment register or SS (SDM vol. 3, 5.4-5.6; vol. 2 MOV). */
void load_seg(struct cpu *c, int s, uint16_t sel)
{
    if (!is_pm(c) || is_vm86(c)) {
        load_seg_real(c, s, sel);
        if (s == SEG_SS)
            cpu_update_mode(c);
        return;
    }
    unsigned rpl = sel & 3;
    if ((sel & ~3u) == 0) {
        if (s == SEG_SS && !(is_64(c) && c->cpl != 3 && rpl == c->cpl))
            raise_gp(c, 0);
        c->seg[s].sel = sel;
        c->seg[s].base = 0;
        c->seg[s].limit = 0;
        c->seg[s].attr = SEGA_UNUSABLE | (s == SEG_SS ? (c->cpl << 5) : 0);
        if (s == SEG_SS)
            cpu_update_mode(c);
        else
            cpu_seg_refresh(c, s);
        return;
    }
    struct desc d;
    if (!read_desc(c, sel, &d))
        raise_gp(c, sel & 0xfffc);
    unsigned type = d_type(&d);
    if (s == SEG_SS) {
        if (rpl != c->cpl || !d_s(&d) || (type & 8) || !(type & 2) || d_dpl(&d) != c->cpl)
            raise_gp(c, sel & 0xfffc);
        if (!d_p(&d))
            cpu_raise(c, EXC_SS, true, sel & 0xfffc);
    } else {
        if (!d_s(&d) || ((type & 8) && !(type & 2)))
            raise_gp(c, sel & 0xfffc);
        /* Data or non-conforming code: DPL >= max(CPL, RPL). */
        if (!((type & 8) && (type & 4))) {
            unsigned m = rpl > c->cpl ? rpl : c->cpl;
            if (d_dpl(&d) < m)
                raise_gp(c, sel & 0xfffc);
        }
        if (!d_p(&d))
            cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    }
    set_accessed(c, &d);
    desc_to_cache(&c->seg[s], sel, &d);
    if (s == SEG_SS)
        cpu_update_mode(c);
    else
        cpu_seg_refresh(c, s);
}

/* Loads CS for a far transfer to a code segment at privilege cpl. */
static void set_cs(struct cpu *c, uint16_t sel, const struct desc *d, unsigned cpl)
{
    desc_to_cache(&c->seg[SEG_CS], (uint16_t)((sel & ~3u) | cpl), d);
    c->seg[SEG_CS].attr |= 1;   /* accessed */
}

/* Checks a code segment descriptor as a direct far JMP/CALL target. */
static void check_code_target(struct cpu *c, uint16_t sel, struct desc *d)
{
    if ((sel & ~3u) == 0)
        raise_gp(c, 0);
    if (!read_desc(c, sel, d))
        raise_gp(c, sel & 0xfffc);
    if (!d_s(d) || !(d_type(d) & 8))
        raise_gp(c, sel & 0xfffc);      /* gates and TSS: not supported here */
    unsigned dpl = d_dpl(d), rpl = sel & 3;
    if (d_type(d) & 4) {
        if (dpl > c->cpl)
            raise_gp(c, sel & 0xfffc);
    } else if (rpl > c->cpl || dpl != c->cpl) {
        raise_gp(c, sel & 0xfffc);
    }
    if (!d_p(d))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    if ((c->efer & EFER_LMA) && (d->hi & (1u << 21)) && (d->hi & (1u << 22)))
        raise_gp(c, sel & 0xfffc);      /* L and D both set */
}

/* ---- task switches (SDM vol. 3, 7.3; legacy protected mode only) ---- */

enum { TS_JMP, TS_CALL, TS_IRET };  /* TS_CALL also for INT/exceptions via task gates */

static uint32_t desc_limit(const struct desc *d)
{
    uint32_t lim = (d->lo & 0xffff) | (d->hi & 0xf0000);
    return (d->hi & (1u << 23)) ? (lim << 12) | 0xfff : lim;
}

static void set_tss_busy(struct cpu *c, uint16_t sel, bool busy)
{
    struct desc d;
    if (!read_desc(c, sel, &d))
        return;
    d.hi = busy ? d.hi | (1u << 9) : d.hi & ~(1u << 9);
    sys_write(c, d.addr + 4, 4, d.hi);
}

/* Switches to the task whose TSS descriptor is nd (selector sel): saves
 * the current state in the old TSS, loads the new one, then checks and
 * loads its segments (faults there belong to the new task). */
static void task_switch(struct cpu *c, uint16_t sel, struct desc *nd, int reason, uint64_t save_eip,
                        bool has_err, uint32_t err)
{
    unsigned t = d_type(nd);
    bool n32 = t & 8;
    if (!d_p(nd))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    if (desc_limit(nd) < (n32 ? 0x67u : 0x2bu))
        cpu_raise(c, EXC_TS, true, sel & 0xfffc);
    if (reason == TS_IRET ? !(t & 2) : (t & 2))
        raise_gp(c, sel & 0xfffc);
    struct seg_cache ntr;
    desc_to_cache(&ntr, sel, nd);
    /* Read the incoming state before changing anything. */
    uint32_t ncr3 = 0, eip, efl, regs[8];
    uint16_t segs[SEG_COUNT] = {0}, ldt;
    uint64_t nb = ntr.base;
    if (n32) {
        ncr3 = (uint32_t)sys_read(c, nb + 0x1c, 4);
        eip = (uint32_t)sys_read(c, nb + 0x20, 4);
        efl = (uint32_t)sys_read(c, nb + 0x24, 4);
        for (int k = 0; k < 8; k++)
            regs[k] = (uint32_t)sys_read(c, nb + 0x28 + 4 * k, 4);
        for (int k = 0; k < SEG_COUNT; k++)
            segs[k] = (uint16_t)sys_read(c, nb + 0x48 + 4 * k, 2);
        ldt = (uint16_t)sys_read(c, nb + 0x60, 2);
    } else {
        eip = (uint32_t)sys_read(c, nb + 0x0e, 2);
        efl = (uint32_t)sys_read(c, nb + 0x10, 2);
        for (int k = 0; k < 8; k++)
            regs[k] = (uint32_t)sys_read(c, nb + 0x12 + 2 * k, 2);
        for (int k = 0; k < 4; k++)
            segs[k] = (uint16_t)sys_read(c, nb + 0x22 + 2 * k, 2);
        ldt = (uint16_t)sys_read(c, nb + 0x2a, 2);
    }
    /* Save the outgoing state. */
    bool o32 = c->tr.attr & 8;
    uint64_t ob = c->tr.base;
    uint32_t of = (uint32_t)get_eflags(c);
    if (reason == TS_IRET)
        of &= ~RFLAGS_NT;
    if (o32) {
        sys_write(c, ob + 0x20, 4, (uint32_t)save_eip);
        sys_write(c, ob + 0x24, 4, of);
        for (int k = 0; k < 8; k++)
            sys_write(c, ob + 0x28 + 4 * k, 4, (uint32_t)c->gpr[k]);
        for (int k = 0; k < SEG_COUNT; k++)
            sys_write(c, ob + 0x48 + 4 * k, 2, c->seg[k].sel);
    } else {
        sys_write(c, ob + 0x0e, 2, save_eip & 0xffff);
        sys_write(c, ob + 0x10, 2, of & 0xffff);
        for (int k = 0; k < 8; k++)
            sys_write(c, ob + 0x12 + 2 * k, 2, c->gpr[k] & 0xffff);
        for (int k = 0; k < 4; k++)
            sys_write(c, ob + 0x22 + 2 * k, 2, c->seg[k].sel);
    }
    if (reason != TS_CALL)
        set_tss_busy(c, c->tr.sel, false);
    if (reason == TS_CALL) {
        efl |= RFLAGS_NT;
        sys_write(c, nb, 2, c->tr.sel);     /* back link */
    }
    if (reason != TS_IRET)
        set_tss_busy(c, sel, true);
    c->tr = ntr;
    c->tr.attr |= 2;
    c->cr0 |= CR0_TS;
    /* Load the incoming state. */
    if (n32 && (c->cr0 & CR0_PG))
        set_cr3(c, ncr3);
    for (int k = 0; k < 8; k++)
        c->gpr[k] = n32 ? regs[k] : (c->gpr[k] & ~0xffffULL) | regs[k];
    set_eflags(c, efl, n32 ? 0x3f7fd5 : 0xffff);
    c->rip = c->next_rip = eip;
    for (int k = 0; k < SEG_COUNT; k++) {
        c->seg[k].sel = segs[k];
        c->seg[k].attr |= SEGA_UNUSABLE;    /* until loaded below */
    }
    cpu_update_mode(c);
    /* LDT first: segment selectors may point into it. */
    c->ldtr.sel = ldt;
    if ((ldt & ~3u) == 0) {
        c->ldtr.attr = SEGA_UNUSABLE;
    } else {
        struct desc ld;
        if ((ldt & 4) || !read_desc(c, ldt, &ld) || d_s(&ld) || d_type(&ld) != 2)
            cpu_raise(c, EXC_TS, true, ldt & 0xfffc);
        if (!d_p(&ld))
            cpu_raise(c, EXC_TS, true, ldt & 0xfffc);
        desc_to_cache(&c->ldtr, ldt, &ld);
    }
    if (efl & RFLAGS_VM) {
        for (int k = 0; k < SEG_COUNT; k++)
            load_seg_real(c, k, segs[k]);
        cpu_update_mode(c);
    } else {
        struct desc cd;
        uint16_t cs = segs[SEG_CS];
        unsigned rpl = cs & 3;
        if ((cs & ~3u) == 0 || !read_desc(c, cs, &cd) || !d_s(&cd) || !(d_type(&cd) & 8))
            cpu_raise(c, EXC_TS, true, cs & 0xfffc);
        if ((d_type(&cd) & 4) ? d_dpl(&cd) > rpl : d_dpl(&cd) != rpl)
            cpu_raise(c, EXC_TS, true, cs & 0xfffc);
        if (!d_p(&cd))
            cpu_raise(c, EXC_NP, true, cs & 0xfffc);
        set_cs(c, cs, &cd, rpl);
        cpu_update_mode(c);
        load_seg(c, SEG_SS, segs[SEG_SS]);
        static const int ds4[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
        for (int k = 0; k < 4; k++)
            load_seg(c, ds4[k], segs[ds4[k]]);
    }
    if (has_err)
        push(c, n32 ? 4 : 2, err);
}

/* A TSS descriptor named by a task gate or a far JMP/CALL: from the GDT,
 * available (SDM vol. 3, 7.3). */
static void task_gate_target(struct cpu *c, uint16_t tsel, struct desc *td)
{
    if ((tsel & 4) || (tsel & ~3u) == 0 || !read_desc(c, tsel, td) || d_s(td) ||
        (d_type(td) != 1 && d_type(td) != 9))
        raise_gp(c, tsel & 0xfffc);
}

/* Far CALL/JMP through a call gate (SDM vol. 3, 5.8.3-5.8.6; 64-bit call
 * gates: 5.8.3.1). A CALL to a more privileged non-conforming segment
 * switches to the stack the TSS gives for the new CPL and copies the
 * gate's parameter count from the old stack. */
static void call_gate(struct cpu *c, uint16_t gsel, struct desc *g, bool call)
{
    const bool lm = c->efer & EFER_LMA;
    unsigned gdpl = d_dpl(g);
    if (gdpl < c->cpl || gdpl < (gsel & 3u))
        raise_gp(c, gsel & 0xfffc);
    if (!d_p(g))
        cpu_raise(c, EXC_NP, true, gsel & 0xfffc);
    bool gate32 = d_type(g) == 0xc;
    uint16_t sel = (uint16_t)(g->lo >> 16);
    uint64_t off = (g->lo & 0xffff) | (g->hi & 0xffff0000u);
    unsigned nparams = g->hi & 31;
    if (lm) {
        uint32_t hi2 = (uint32_t)sys_read(c, g->addr + 8, 4);
        uint32_t t2 = (uint32_t)sys_read(c, g->addr + 12, 4);
        if ((t2 >> 8) & 0x1f)
            raise_gp(c, gsel & 0xfffc);
        off |= (uint64_t)hi2 << 32;
        nparams = 0;
    } else if (!gate32) {
        off &= 0xffff;
    }
    if ((sel & ~3u) == 0)
        raise_gp(c, 0);
    struct desc d;
    if (!read_desc(c, sel, &d) || !d_s(&d) || !(d_type(&d) & 8))
        raise_gp(c, sel & 0xfffc);
    unsigned dpl = d_dpl(&d);
    bool conforming = d_type(&d) & 4;
    if (dpl > c->cpl || (!call && !conforming && dpl != c->cpl))
        raise_gp(c, sel & 0xfffc);
    if (!d_p(&d))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    if (lm && (!(d.hi & (1u << 21)) || (d.hi & (1u << 22))))
        raise_gp(c, sel & 0xfffc);
    unsigned w = lm ? 8 : gate32 ? 4 : 2;
    uint64_t ret = c->next_rip;
    uint16_t old_cs = c->seg[SEG_CS].sel;
    if (!call) {
        set_accessed(c, &d);
        set_cs(c, sel, &d, c->cpl);
        c->next_rip = off;
        cpu_update_mode(c);
        return;
    }
    if (!conforming && dpl < c->cpl) {
        uint16_t old_ss = c->seg[SEG_SS].sel;
        uint64_t old_sp = c->gpr[R_ESP];
        uint64_t old_ss_base = c->sbase[SEG_SS], old_mask = c->spmask;
        struct seg_cache nss;
        struct frame fr;
        if (lm) {
            uint64_t nsp = (uint64_t)tss_read(c, 4 + dpl * 8, 4) | ((uint64_t)tss_read(c, 8 + dpl * 8, 4) << 32);
            nss = (struct seg_cache){0, 0, (uint16_t)dpl, (uint16_t)(SEGA_UNUSABLE | (dpl << 5) | SEGA_P | SEGA_S | 3)};
            fr = (struct frame){0, nsp, ~0ULL, 8, 0};
        } else {
            bool tss32 = (c->tr.attr & 0xf) == 0x9 || (c->tr.attr & 0xf) == 0xb;
            uint32_t esp = tss32 ? tss_read(c, 4 + dpl * 8, 4) : tss_read(c, 2 + dpl * 4, 2);
            uint16_t ss = (uint16_t)(tss32 ? tss_read(c, 8 + dpl * 8, 2) : tss_read(c, 4 + dpl * 4, 2));
            struct desc sd;
            if ((ss & ~3u) == 0 || (ss & 3) != dpl || !read_desc(c, ss, &sd) || !d_s(&sd) ||
                (d_type(&sd) & 8) || !(d_type(&sd) & 2) || d_dpl(&sd) != dpl)
                cpu_raise(c, EXC_TS, true, ss & 0xfffc);
            if (!d_p(&sd))
                cpu_raise(c, EXC_SS, true, ss & 0xfffc);
            desc_to_cache(&nss, ss, &sd);
            fr = (struct frame){nss.base, esp, (nss.attr & SEGA_DB) ? 0xffffffffULL : 0xffff, w, 0};
        }
        frame_push(c, &fr, old_ss);
        frame_push(c, &fr, old_sp & szmask(w));
        for (int k = (int)nparams - 1; k >= 0; k--) {
            uint64_t a = (old_sp + (uint64_t)k * w) & old_mask;
            uint64_t v = mem_read(c, (old_ss_base + a) & c->lin_mask, w);
            frame_push(c, &fr, v);
        }
        frame_push(c, &fr, old_cs);
        frame_push(c, &fr, ret & szmask(w));
        set_accessed(c, &d);
        c->seg[SEG_SS] = nss;
        set_cs(c, sel, &d, dpl);
        cpu_update_mode(c);
        c->gpr[R_ESP] = lm ? fr.sp : (fr.mask == 0xffff ? (c->gpr[R_ESP] & ~0xffffULL) | (fr.sp & 0xffff)
                                                         : (uint32_t)fr.sp);
        c->next_rip = off;
        return;
    }
    push(c, w, old_cs);
    push(c, w, ret & szmask(w));
    set_accessed(c, &d);
    set_cs(c, sel, &d, c->cpl);
    c->next_rip = off;
    cpu_update_mode(c);
}

static void far_jump(struct cpu *c, uint16_t sel, uint64_t off, unsigned opsz, bool call)
{
    if (!is_pm(c) || is_vm86(c)) {
        if (call) {
            push(c, opsz, c->seg[SEG_CS].sel);
            push(c, opsz, c->next_rip);
        }
        load_seg_real(c, SEG_CS, sel);
        c->next_rip = off & szmask(opsz);
        cpu_update_mode(c);
        return;
    }
    struct desc d;
    if ((sel & ~3u) != 0 && read_desc(c, sel, &d) && !d_s(&d)) {
        unsigned t = d_type(&d);
        if (t == 0xc || (t == 0x4 && !(c->efer & EFER_LMA))) {
            call_gate(c, sel, &d, call);
            return;
        }
        if (!(c->efer & EFER_LMA) && (t == 0x5 || t == 0x1 || t == 0x9)) {
            unsigned m = (sel & 3u) > c->cpl ? (sel & 3u) : c->cpl;
            if (d_dpl(&d) < m)
                raise_gp(c, sel & 0xfffc);
            if (!d_p(&d))
                cpu_raise(c, EXC_NP, true, sel & 0xfffc);
            uint16_t tsel = sel;
            struct desc td = d;
            if (t == 0x5) {
                tsel = (uint16_t)(d.lo >> 16);
                task_gate_target(c, tsel, &td);
            }
            task_switch(c, tsel, &td, call ? TS_CALL : TS_JMP, c->next_rip, false, 0);
            return;
        }
        raise_gp(c, sel & 0xfffc);
    }
    check_code_target(c, sel, &d);
    struct seg_cache tmp;
    desc_to_cache(&tmp, sel, &d);
    bool tgt64 = (c->efer & EFER_LMA) && (d.hi & (1u << 21));
    if (!tgt64 && off > tmp.limit)
        raise_gp(c, 0);
    if (call) {
        push(c, opsz, c->seg[SEG_CS].sel);
        push(c, opsz, c->next_rip);
    }
    set_accessed(c, &d);
    set_cs(c, sel, &d, c->cpl);
    c->next_rip = off;
    cpu_update_mode(c);
}

void op_jmp_far_ptr(struct cpu *c, const struct insn *i)
{
    far_jump(c, (uint16_t)i->imm2, i->imm, i->opsz, false);
}
void op_call_far_ptr(struct cpu *c, const struct insn *i)
{
    far_jump(c, (uint16_t)i->imm2, i->imm, i->opsz, true);
}
static void far_E(struct cpu *c, const struct insn *i, bool call)
{
    unsigned osz = i->opsz;
    uint64_t ea = insn_ea(c, i);
    uint64_t off = seg_read(c, i->seg, ea, osz);
    uint16_t sel = (uint16_t)seg_read(c, i->seg, (ea + osz) & szmask(i->adsz), 2);
    far_jump(c, sel, off, osz, call);
}
void op_jmp_far_E(struct cpu *c, const struct insn *i) { far_E(c, i, false); }
void op_call_far_E(struct cpu *c, const struct insn *i) { far_E(c, i, true); }

/* Data segments a lower-privilege return must not keep (SDM vol. 2, RET). */
static void drop_inner_segs(struct cpu *c)
{
    static const int segs[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (int k = 0; k < 4; k++) {
        struct seg_cache *s = &c->seg[segs[k]];
        unsigned type = SEGA_TYPE(s->attr);
        bool conf_code = (type & 8) && (type & 4);
        if (!(s->attr & SEGA_UNUSABLE) && !conf_code && SEGA_DPL(s->attr) < c->cpl) {
            s->sel = 0;
            s->attr |= SEGA_UNUSABLE;
            cpu_seg_refresh(c, segs[k]);
        }
    }
}

void op_ret_far(struct cpu *c, const struct insn *i)
{
    unsigned osz = i->opsz;
    if (!is_pm(c) || is_vm86(c)) {
        uint64_t ip = pop(c, osz);
        uint16_t cs = (uint16_t)pop(c, osz);
        c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | ((c->gpr[R_ESP] + i->imm) & c->spmask);
        load_seg_real(c, SEG_CS, cs);
        c->next_rip = ip & szmask(osz);
        cpu_update_mode(c);
        return;
    }
    uint64_t sp = c->gpr[R_ESP] & c->spmask;
    uint64_t ip = seg_read(c, SEG_SS, sp, osz);
    uint16_t sel = (uint16_t)seg_read(c, SEG_SS, (sp + osz) & c->spmask, osz);
    unsigned rpl = sel & 3;
    if ((sel & ~3u) == 0 || rpl < c->cpl)
        raise_gp(c, sel & 0xfffc);
    struct desc d;
    if (!read_desc(c, sel, &d) || !d_s(&d) || !(d_type(&d) & 8))
        raise_gp(c, sel & 0xfffc);
    if ((d_type(&d) & 4) ? d_dpl(&d) > rpl : d_dpl(&d) != rpl)
        raise_gp(c, sel & 0xfffc);
    if (!d_p(&d))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    sp = (sp + 2 * osz + i->imm) & c->spmask;
    if (rpl == c->cpl) {
        set_cs(c, sel, &d, rpl);
        c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
        c->next_rip = ip;
        cpu_update_mode(c);
        return;
    }
    /* Return to an outer level: SS:ESP follow on the stack. */
    uint64_t nsp = seg_read(c, SEG_SS, sp, osz);
    uint16_t nss = (uint16_t)seg_read(c, SEG_SS, (sp + osz) & c->spmask, osz);
    set_cs(c, sel, &d, rpl);
    cpu_update_mode(c);     /* CPL = rpl from here */
    load_seg(c, SEG_SS, nss);
    c->gpr[R_ESP] = ((nsp + i->imm) & szmask(osz == 8 ? 8 : osz));
    if (!(c->seg[SEG_SS].attr & SEGA_DB) && !is_64(c))
        c->gpr[R_ESP] &= 0xffff;
    c->next_rip = ip;
    drop_inner_segs(c);
}

/* ---- segment register moves ---- */

void op_push_seg(struct cpu *c, const struct insn *i)
{
    int s = i->op == 0x1a0 ? SEG_FS : i->op == 0x1a8 ? SEG_GS : (i->op >> 3) & 3;
    /* A 32-bit push of a segment register writes 16 bits on current CPUs;
     * we write the zero-extended selector, as QEMU does. */
    push(c, i->opsz, c->seg[s].sel);
}
void op_pop_seg(struct cpu *c, const struct insn *i)
{
    int s = i->op == 0x1a1 ? SEG_FS : i->op == 0x1a9 ? SEG_GS : (i->op >> 3) & 3;
    if (s == SEG_CS)
        raise_ud(c);
    uint64_t sp = c->gpr[R_ESP] & c->spmask;
    uint16_t sel = (uint16_t)seg_read(c, SEG_SS, sp, i->opsz);
    load_seg(c, s, sel);
    c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | ((sp + i->opsz) & c->spmask);
    if (s == SEG_SS) {
        interrupt_shadow(c);
    }
}
void op_mov_ES(struct cpu *c, const struct insn *i)
{
    unsigned s = i->reg & 7;
    if (s >= SEG_COUNT)
        raise_ud(c);
    if (i->mod3)
        wr_reg(c, i->rm, i->opsz, c->seg[s].sel);
    else
        wr_E(c, i, 2, c->seg[s].sel);
}
void op_mov_SE(struct cpu *c, const struct insn *i)
{
    unsigned s = i->reg & 7;
    if (s >= SEG_COUNT || s == SEG_CS)
        raise_ud(c);
    uint16_t sel = (uint16_t)rd_E(c, i, 2);
    load_seg(c, (int)s, sel);
    if (s == SEG_SS) {
        interrupt_shadow(c);
        end_block(c);
    }
}
void op_lxs(struct cpu *c, const struct insn *i)
{
    int s;
    switch (i->op) {
    case 0xc4: s = SEG_ES; break;
    case 0xc5: s = SEG_DS; break;
    case 0x1b2: s = SEG_SS; break;
    case 0x1b4: s = SEG_FS; break;
    default: s = SEG_GS; break;
    }
    uint64_t ea = insn_ea(c, i);
    uint64_t off = seg_read(c, i->seg, ea, i->opsz);
    uint16_t sel = (uint16_t)seg_read(c, i->seg, (ea + i->opsz) & szmask(i->adsz), 2);
    load_seg(c, s, sel);
    wr_reg(c, i->reg, i->opsz, off);
}
void op_arpl(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    uint64_t lin = 0;
    uint16_t d = (uint16_t)(i->mod3 ? rd_reg(c, i->rm, 2) : mem_read(c, lin = seg_lin(c, i->seg, insn_ea(c, i), 2, true), 2));
    uint16_t s = (uint16_t)rd_reg(c, i->reg, 2);
    flags_materialize(c);
    if ((d & 3) < (s & 3)) {
        d = (uint16_t)((d & ~3u) | (s & 3));
        if (i->mod3) wr_reg(c, i->rm, 2, d); else mem_write(c, lin, 2, d);
        c->eflags |= RFLAGS_ZF;
    } else {
        c->eflags &= ~(uint64_t)RFLAGS_ZF;
    }
}

/* ---- flags ---- */

void op_pushf(struct cpu *c, const struct insn *i)
{
    if (is_vm86(c) && iopl(c) < 3)
        raise_gp(c, 0);
    uint64_t f = get_eflags(c) & ~(uint64_t)(RFLAGS_VM | RFLAGS_RF);
    push(c, i->opsz, f & szmask(i->opsz));
}
void op_popf(struct cpu *c, const struct insn *i)
{
    if (is_vm86(c) && iopl(c) < 3)
        raise_gp(c, 0);
    uint64_t v = pop(c, i->opsz);
    /* Writable bits by privilege (SDM vol. 2, POPF, table 4-16). */
    uint64_t mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF |
                    RFLAGS_DF | RFLAGS_OF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
    if (c->cpl == 0 || !is_pm(c))
        mask |= RFLAGS_IOPL | RFLAGS_IF;
    else if (c->cpl <= iopl(c))
        mask |= RFLAGS_IF;
    if (is_vm86(c))
        mask = (mask | RFLAGS_IF) & ~(uint64_t)RFLAGS_IOPL;
    if (i->opsz == 2)
        mask &= 0xffff;
    set_eflags(c, v, mask);
}

void op_cli(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (is_pm(c) && iopl(c) < c->cpl)
        raise_gp(c, 0);
    c->eflags &= ~(uint64_t)RFLAGS_IF;
}
void op_sti(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (is_pm(c) && iopl(c) < c->cpl)
        raise_gp(c, 0);
    /* STI shadow: no interrupt before the next instruction completes (SDM vol. 2, STI). */
    if (!(c->eflags & RFLAGS_IF)) {
        interrupt_shadow(c);
        COUNT_IRQ_WINDOW(c);
    }
    c->eflags |= RFLAGS_IF;
}

void op_hlt(struct cpu *c, const struct insn *i)
{
    (void)i;
    need_cpl0(c);
    COUNT_EXIT(c, HLT);
    c->halted = true;
    c->inhibit = false;
    end_block(c);
}

/* ---- interrupts and exceptions ---- */

static uint32_t tss_read(struct cpu *c, uint32_t off, unsigned sz)
{
    if (off + sz - 1 > c->tr.limit)
        cpu_raise(c, EXC_TS, true, c->tr.sel & 0xfffc);
    return (uint32_t)sys_read(c, c->tr.base + off, sz);
}

static void deliver_real(struct cpu *c, int vec, uint64_t ret)
{
    if ((uint32_t)vec * 4 + 3 > c->idtr.limit)
        raise_gp(c, (uint32_t)vec * 8 + 2);
    uint32_t v = (uint32_t)sys_read(c, (c->idtr.base + (uint32_t)vec * 4) & 0xffffffffULL, 4);
    uint64_t f = get_eflags(c);
    push(c, 2, f & 0xffff);
    push(c, 2, c->seg[SEG_CS].sel);
    push(c, 2, ret & 0xffff);
    c->eflags &= ~(uint64_t)(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF);
    load_seg_real(c, SEG_CS, (uint16_t)(v >> 16));
    c->rip = v & 0xffff;
}

static void frame_push(struct cpu *c, struct frame *fr, uint64_t v)
{
    fr->sp = (fr->sp - fr->width) & fr->mask;
    uint32_t saved = c->mmu_idx;
    c->mmu_idx = fr->mmu_idx;
    mem_write(c, (fr->base + fr->sp) & c->lin_mask, fr->width, v);
    c->mmu_idx = saved;
}

static void deliver_pm(struct cpu *c, int vec, int kind, bool has_err, uint32_t err, uint64_t ret)
{
    const bool lm = c->efer & EFER_LMA;
    const uint32_t ext = kind == EV_SOFT ? 0 : 1;  /* EXT bit: not a software INT */
    const unsigned gsz = lm ? 16 : 8;
    if ((uint32_t)vec * gsz + gsz - 1 > c->idtr.limit)
        raise_gp(c, (uint32_t)vec * 8 + 2 + ext);
    uint64_t ga = c->idtr.base + (uint64_t)vec * gsz;
    if (!lm)
        ga &= 0xffffffffULL;
    uint64_t g = sys_read(c, ga, 8);
    uint64_t ghi = lm ? sys_read(c, ga + 8, 8) : 0;
    unsigned type = (g >> 40) & 0xf, gdpl = (g >> 45) & 3;
    bool gp = (g >> 47) & 1;
    bool gate32 = type == 0xe || type == 0xf;
    bool trap = type == 0x7 || type == 0xf;
    if (!lm && type == 0x5) {       /* task gate */
        if (kind == EV_SOFT && gdpl < c->cpl)
            raise_gp(c, (uint32_t)vec * 8 + 2);
        if (!gp)
            cpu_raise(c, EXC_NP, true, (uint32_t)vec * 8 + 2 + ext);
        struct desc td;
        uint16_t tsel = (uint16_t)(g >> 16);
        task_gate_target(c, tsel, &td);
        task_switch(c, tsel, &td, TS_CALL, ret, has_err, err);
        return;
    }
    if (lm ? !gate32 : !(type == 0x6 || type == 0x7 || gate32))
        raise_gp(c, (uint32_t)vec * 8 + 2 + ext);
    if (kind == EV_SOFT && gdpl < c->cpl)
        raise_gp(c, (uint32_t)vec * 8 + 2);
    if (!gp)
        cpu_raise(c, EXC_NP, true, (uint32_t)vec * 8 + 2 + ext);
    uint16_t sel = (uint16_t)(g >> 16);
    uint64_t off = (g & 0xffff) | ((g >> 32) & 0xffff0000ULL);
    if (lm)
        off |= (ghi & 0xffffffffULL) << 32;
    unsigned ist = lm ? (g >> 32) & 7 : 0;
    if ((sel & ~3u) == 0)
        raise_gp(c, ext);
    struct desc d;
    if (!read_desc(c, sel, &d))
        raise_gp(c, (sel & 0xfffc) + ext);
    if (!d_s(&d) || !(d_type(&d) & 8) || d_dpl(&d) > c->cpl)
        raise_gp(c, (sel & 0xfffc) + ext);
    if (!d_p(&d))
        cpu_raise(c, EXC_NP, true, (sel & 0xfffc) + ext);
    if (lm && (!(d.hi & (1u << 21)) || (d.hi & (1u << 22))))
        raise_gp(c, (sel & 0xfffc) + ext);
    unsigned dpl = d_dpl(&d);
    bool conforming = d_type(&d) & 4;
    unsigned newcpl = conforming ? c->cpl : dpl;
    bool vm = is_vm86(c);
    if (vm && newcpl != 0)
        raise_gp(c, (sel & 0xfffc) + ext);
    uint64_t f = get_eflags(c);
    struct frame fr;
    struct seg_cache nss = c->seg[SEG_SS];
    bool stack_switch = newcpl < c->cpl || (lm && ist);
    uint64_t old_ss = c->seg[SEG_SS].sel, old_sp = c->gpr[R_ESP];

    if (lm) {
        uint64_t nsp;
        if (ist)
            nsp = (uint64_t)tss_read(c, 0x24 + (ist - 1) * 8, 4) |
                  ((uint64_t)tss_read(c, 0x28 + (ist - 1) * 8, 4) << 32);
        else if (newcpl < c->cpl)
            nsp = (uint64_t)tss_read(c, 4 + newcpl * 8, 4) |
                  ((uint64_t)tss_read(c, 8 + newcpl * 8, 4) << 32);
        else
            nsp = c->gpr[R_ESP];
        if (newcpl < c->cpl) {
            nss.sel = (uint16_t)newcpl;
            nss.base = 0;
            nss.limit = 0;
            nss.attr = SEGA_UNUSABLE | (uint16_t)(newcpl << 5) | SEGA_P | SEGA_S | 3;
        }
        fr = (struct frame){0, nsp & ~15ULL, ~0ULL, 8, newcpl == 3};
        frame_push(c, &fr, old_ss);
        frame_push(c, &fr, old_sp);
        frame_push(c, &fr, f);
        frame_push(c, &fr, c->seg[SEG_CS].sel);
        frame_push(c, &fr, ret);
        if (has_err)
            frame_push(c, &fr, err);
    } else {
        unsigned w = gate32 ? 4 : 2;
        if (stack_switch) {
            uint16_t ss;
            uint32_t esp;
            if ((c->tr.attr & 0xf) == 0x3 || (c->tr.attr & 0xf) == 0x1) {   /* 16-bit TSS */
                esp = tss_read(c, 2 + newcpl * 4, 2);
                ss = (uint16_t)tss_read(c, 4 + newcpl * 4, 2);
            } else {
                esp = tss_read(c, 4 + newcpl * 8, 4);
                ss = (uint16_t)tss_read(c, 8 + newcpl * 8, 2);
            }
            struct desc sd;
            if ((ss & ~3u) == 0 || (ss & 3) != newcpl || !read_desc(c, ss, &sd) ||
                !d_s(&sd) || (d_type(&sd) & 8) || !(d_type(&sd) & 2) || d_dpl(&sd) != newcpl)
                cpu_raise(c, EXC_TS, true, (ss & 0xfffc) + ext);
            if (!d_p(&sd))
                cpu_raise(c, EXC_SS, true, (ss & 0xfffc) + ext);
            desc_to_cache(&nss, ss, &sd);
            fr = (struct frame){nss.base, esp, (nss.attr & SEGA_DB) ? 0xffffffffULL : 0xffff, w,
                                newcpl == 3};
            if (vm) {
                frame_push(c, &fr, c->seg[SEG_GS].sel);
                frame_push(c, &fr, c->seg[SEG_FS].sel);
                frame_push(c, &fr, c->seg[SEG_DS].sel);
                frame_push(c, &fr, c->seg[SEG_ES].sel);
            }
            frame_push(c, &fr, old_ss);
            frame_push(c, &fr, old_sp & szmask(w));
        } else {
            fr = (struct frame){c->seg[SEG_SS].base, c->gpr[R_ESP], c->spmask, w, c->mmu_idx};
        }
        frame_push(c, &fr, f & szmask(w));
        frame_push(c, &fr, c->seg[SEG_CS].sel);
        frame_push(c, &fr, ret & szmask(w));
        if (has_err)
            frame_push(c, &fr, err);
    }
    /* Commit. */
    set_accessed(c, &d);
    if (stack_switch) {
        c->seg[SEG_SS] = nss;
        if (lm)
            c->gpr[R_ESP] = fr.sp;
        else
            c->gpr[R_ESP] = (nss.attr & SEGA_DB) ? (uint32_t)fr.sp : (c->gpr[R_ESP] & ~0xffffULL) | (fr.sp & 0xffff);
    } else {
        c->gpr[R_ESP] = (c->gpr[R_ESP] & ~fr.mask) | (fr.sp & fr.mask);
    }
    set_cs(c, sel, &d, newcpl);
    c->eflags &= ~(uint64_t)(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
    if (!trap)
        c->eflags &= ~(uint64_t)RFLAGS_IF;
    if (vm) {
        static const int s4[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
        for (int k = 0; k < 4; k++) {
            c->seg[s4[k]].sel = 0;
            c->seg[s4[k]].attr = SEGA_UNUSABLE;
        }
    }
    cpu_update_mode(c);
    c->rip = lm ? off : (gate32 ? off & 0xffffffffULL : off & 0xffff);
}

void cpu_deliver(struct cpu *c, int vec, int kind, bool has_err, uint32_t err, uint64_t ret)
{
    c->halted = false;
    c->inhibit = false;
    flags_materialize(c);
    if (!is_pm(c))
        deliver_real(c, vec, ret);
    else
        deliver_pm(c, vec, kind, has_err, err, ret);
}

/* INT3 and INTO are software interrupts for delivery: the gate's DPL is
 * checked against CPL (SDM vol. 3, 6.12.1.1) and the EXT bit of an error
 * code raised while delivering them is 0 (6.13). Unlike INT n they are
 * not IOPL-sensitive in virtual-8086 mode (20.3.1). INT1 (ICEBP) is
 * neither: no DPL check, EXT = 1. */
void op_int3(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_raise_ev(c, EXC_BP, EV_SOFT, false, 0);
}
void op_int1(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_raise_ev(c, EXC_DB, EV_TRAP, false, 0);
}
void op_into(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (cc_cond(c, 0))
        cpu_raise_ev(c, EXC_OF, EV_SOFT, false, 0);
}
void op_int(struct cpu *c, const struct insn *i)
{
    if (is_vm86(c) && iopl(c) < 3)
        raise_gp(c, 0);
    cpu_raise_ev(c, (int)(i->imm & 0xff), EV_SOFT, false, 0);
}

void op_iret(struct cpu *c, const struct insn *i)
{
    unsigned osz = i->opsz;
    c->nmi_blocked = false;
    if (!is_pm(c)) {
        uint64_t ip = pop(c, osz);
        uint16_t cs = (uint16_t)pop(c, osz);
        uint64_t f = pop(c, osz);
        load_seg_real(c, SEG_CS, cs);
        c->next_rip = ip & szmask(osz);
        set_eflags(c, f, osz == 2 ? 0xffff : 0x257fd5);
        cpu_update_mode(c);
        return;
    }
    if (is_vm86(c)) {
        if (iopl(c) < 3)
            raise_gp(c, 0);
        uint64_t ip = pop(c, osz);
        uint16_t cs = (uint16_t)pop(c, osz);
        uint64_t f = pop(c, osz);
        load_seg_real(c, SEG_CS, cs);
        c->next_rip = ip & szmask(osz);
        set_eflags(c, f, (osz == 2 ? 0xffff : 0x257fd5) & ~(uint64_t)RFLAGS_IOPL);
        return;
    }
    if (c->eflags & RFLAGS_NT) {
        if (c->efer & EFER_LMA)
            raise_gp(c, 0);
        /* Return to the task in the back link (SDM vol. 3, 7.3). */
        uint16_t back = (uint16_t)tss_read(c, 0, 2);
        struct desc td;
        if ((back & 4) || (back & ~3u) == 0 || !read_desc(c, back, &td) || d_s(&td) ||
            (d_type(&td) != 3 && d_type(&td) != 0xb))
            cpu_raise(c, EXC_TS, true, back & 0xfffc);
        task_switch(c, back, &td, TS_IRET, c->next_rip, false, 0);
        return;
    }
    uint64_t sp = c->gpr[R_ESP] & c->spmask;
    uint64_t ip = seg_read(c, SEG_SS, sp, osz);
    uint16_t sel = (uint16_t)seg_read(c, SEG_SS, (sp + osz) & c->spmask, osz);
    uint64_t f = seg_read(c, SEG_SS, (sp + 2 * osz) & c->spmask, osz);
    sp = (sp + 3 * osz) & c->spmask;
    if (osz == 4 && (f & RFLAGS_VM) && c->cpl == 0 && !(c->efer & EFER_LMA)) {
        /* Return to virtual-8086 mode (SDM vol. 2, IRET). */
        uint32_t nesp = (uint32_t)seg_read(c, SEG_SS, sp, 4);
        uint16_t nss = (uint16_t)seg_read(c, SEG_SS, (sp + 4) & c->spmask, 4);
        uint16_t es = (uint16_t)seg_read(c, SEG_SS, (sp + 8) & c->spmask, 4);
        uint16_t ds = (uint16_t)seg_read(c, SEG_SS, (sp + 12) & c->spmask, 4);
        uint16_t fs = (uint16_t)seg_read(c, SEG_SS, (sp + 16) & c->spmask, 4);
        uint16_t gs = (uint16_t)seg_read(c, SEG_SS, (sp + 20) & c->spmask, 4);
        set_eflags(c, f, 0x3f7fd5);
        cpu_update_mode(c);
        load_seg_real(c, SEG_CS, sel);
        load_seg_real(c, SEG_SS, nss);
        load_seg_real(c, SEG_ES, es);
        load_seg_real(c, SEG_DS, ds);
        load_seg_real(c, SEG_FS, fs);
        load_seg_real(c, SEG_GS, gs);
        c->gpr[R_ESP] = nesp;
        c->next_rip = ip & 0xffff;
        cpu_update_mode(c);
        return;
    }
    unsigned rpl = sel & 3;
    if ((sel & ~3u) == 0 || rpl < c->cpl)
        raise_gp(c, sel & 0xfffc);
    struct desc d;
    if (!read_desc(c, sel, &d) || !d_s(&d) || !(d_type(&d) & 8))
        raise_gp(c, sel & 0xfffc);
    if ((d_type(&d) & 4) ? d_dpl(&d) > rpl : d_dpl(&d) != rpl)
        raise_gp(c, sel & 0xfffc);
    if (!d_p(&d))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    bool to64 = is_64(c);
    uint64_t nsp = 0;
    uint16_t nss = 0;
    bool outer = rpl > c->cpl;
    if (outer || to64) {
        nsp = seg_read(c, SEG_SS, sp, osz);
        nss = (uint16_t)seg_read(c, SEG_SS, (sp + osz) & c->spmask, osz);
    }
    /* Flag bits that may change (SDM vol. 2, IRET: by CPL and IOPL). */
    uint64_t mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF |
                    RFLAGS_DF | RFLAGS_OF | RFLAGS_NT | RFLAGS_RF | RFLAGS_AC | RFLAGS_ID;
    if (c->cpl == 0)
        mask |= RFLAGS_IOPL | RFLAGS_IF | RFLAGS_VIF | RFLAGS_VIP;
    else if (c->cpl <= iopl(c))
        mask |= RFLAGS_IF;
    if (osz == 2)
        mask &= 0xffff;
    unsigned oldcpl = c->cpl;
    set_eflags(c, f, mask);
    set_cs(c, sel, &d, rpl);
    cpu_update_mode(c);
    if (outer || to64) {
        if ((nss & ~3u) == 0 && (c->efer & EFER_LMA) && is_64(c) && rpl != 3) {
            c->seg[SEG_SS].sel = nss;
            c->seg[SEG_SS].attr = SEGA_UNUSABLE | (uint16_t)(rpl << 5);
            c->seg[SEG_SS].base = 0;
            cpu_update_mode(c);
        } else {
            load_seg(c, SEG_SS, nss);
        }
        c->gpr[R_ESP] = nsp & szmask(osz);
        if (!is_64(c) && !(c->seg[SEG_SS].attr & SEGA_DB))
            c->gpr[R_ESP] = (c->gpr[R_ESP] & 0xffff);
    } else {
        c->gpr[R_ESP] = (c->gpr[R_ESP] & ~c->spmask) | sp;
    }
    c->next_rip = ip;
    if (rpl > oldcpl)
        drop_inner_segs(c);
}

/* ---- I/O (SDM vol. 1, 19.5: IOPL and the I/O permission bitmap) ---- */

void check_io(struct cpu *c, uint16_t port, unsigned sz)
{
    if (!is_pm(c) || (!is_vm86(c) && c->cpl <= iopl(c)))
        return;
    unsigned type = c->tr.attr & 0xf;
    if (type != 0x9 && type != 0xb)
        raise_gp(c, 0);
    if (c->tr.limit < 0x67)
        raise_gp(c, 0);
    uint32_t base = (uint32_t)sys_read(c, c->tr.base + 0x66, 2);
    uint32_t off = base + port / 8;
    if (off + 1 > c->tr.limit)
        raise_gp(c, 0);
    uint32_t bits = (uint32_t)sys_read(c, c->tr.base + off, 2);
    if ((bits >> (port & 7)) & ((1u << sz) - 1))
        raise_gp(c, 0);
}

void op_in(struct cpu *c, const struct insn *i)
{
    uint16_t port = (i->op & 8) ? (uint16_t)c->gpr[R_EDX] : (uint16_t)i->imm;
    unsigned sz = i->opsz == 8 ? 4 : i->opsz;
    check_io(c, port, sz);
    uint32_t v = c->bus->pio_in(c->bus->opaque, port, sz);
    wr_reg(c, R_EAX, sz, v);
}
void op_out(struct cpu *c, const struct insn *i)
{
    uint16_t port = (i->op & 8) ? (uint16_t)c->gpr[R_EDX] : (uint16_t)i->imm;
    unsigned sz = i->opsz == 8 ? 4 : i->opsz;
    check_io(c, port, sz);
    c->bus->pio_out(c->bus->opaque, port, (uint32_t)rd_reg(c, R_EAX, sz), sz);
    /* A device may have raised an interrupt line: let the loop look. */
    end_block(c);
}
void op_ins(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz == 8 ? 4 : i->opsz;
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    check_io(c, port, sz);
    int64_t d = (c->eflags & RFLAGS_DF) ? -(int64_t)sz : (int64_t)sz;
    unsigned asz = i->adsz;
    unsigned n = 0;
    for (;;) {
        if (i->rep && rd_reg(c, R_ECX, asz) == 0)
            break;
        uint64_t di = rd_reg(c, R_EDI, asz);
        uint64_t lin = seg_lin(c, SEG_ES, di, sz, true);
        /* Probe the destination before the port read has side effects. */
        mem_write(c, lin, sz, mem_read(c, lin, sz));
        uint32_t v = c->bus->pio_in(c->bus->opaque, port, sz);
        mem_write(c, lin, sz, v);
        wr_reg(c, R_EDI, asz, (di + (uint64_t)d) & szmask(asz));
        if (!i->rep)
            break;
        wr_reg(c, R_ECX, asz, (rd_reg(c, R_ECX, asz) - 1) & szmask(asz));
        if (++n >= 1024 && rd_reg(c, R_ECX, asz)) {
            c->next_rip = c->rip;
            end_block(c);
            break;
        }
        c->icount++;
    }
}
void op_outs(struct cpu *c, const struct insn *i)
{
    unsigned sz = i->opsz == 8 ? 4 : i->opsz;
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    check_io(c, port, sz);
    int64_t d = (c->eflags & RFLAGS_DF) ? -(int64_t)sz : (int64_t)sz;
    unsigned asz = i->adsz;
    unsigned n = 0;
    for (;;) {
        if (i->rep && rd_reg(c, R_ECX, asz) == 0)
            break;
        uint64_t si = rd_reg(c, R_ESI, asz);
        uint32_t v = (uint32_t)seg_read(c, i->seg, si, sz);
        c->bus->pio_out(c->bus->opaque, port, v, sz);
        wr_reg(c, R_ESI, asz, (si + (uint64_t)d) & szmask(asz));
        if (!i->rep)
            break;
        wr_reg(c, R_ECX, asz, (rd_reg(c, R_ECX, asz) - 1) & szmask(asz));
        if (++n >= 1024 && rd_reg(c, R_ECX, asz)) {
            c->next_rip = c->rip;
            end_block(c);
            break;
        }
        c->icount++;
    }
    end_block(c);
}

/* ---- descriptor-table instructions ---- */

/* CR4.UMIP: SGDT/SIDT/SLDT/SMSW/STR are #GP(0) outside CPL 0. */
static void umip_check(struct cpu *c)
{
    if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
        raise_gp(c, 0);
}

static void store_dt(struct cpu *c, const struct insn *i, const struct x86_dtable *t)
{
    umip_check(c);
    uint64_t ea = insn_ea(c, i);
    seg_write(c, i->seg, ea, 2, t->limit);
    unsigned n = is_64(c) ? 8 : 4;
    uint64_t base = t->base;
    if (i->opsz == 2 && !is_64(c))
        base &= 0xffffff;
    seg_write(c, i->seg, (ea + 2) & szmask(i->adsz), n, base);
}
static void load_dt(struct cpu *c, const struct insn *i, struct x86_dtable *t)
{
    need_cpl0(c);
    uint64_t ea = insn_ea(c, i);
    uint16_t lim = (uint16_t)seg_read(c, i->seg, ea, 2);
    uint64_t base;
    if (is_64(c))
        base = seg_read(c, i->seg, (ea + 2) & szmask(i->adsz), 8);
    else
        base = seg_read(c, i->seg, (ea + 2) & szmask(i->adsz), 4) & (i->opsz == 2 ? 0xffffff : 0xffffffff);
    t->limit = lim;
    t->base = base;
}
void op_sgdt(struct cpu *c, const struct insn *i) { store_dt(c, i, &c->gdtr); }
void op_sidt(struct cpu *c, const struct insn *i) { store_dt(c, i, &c->idtr); }
void op_lgdt(struct cpu *c, const struct insn *i) { load_dt(c, i, &c->gdtr); }
void op_lidt(struct cpu *c, const struct insn *i) { load_dt(c, i, &c->idtr); }

void op_sldt(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    umip_check(c);
    if (i->mod3) wr_reg(c, i->rm, i->opsz, c->ldtr.sel); else wr_E(c, i, 2, c->ldtr.sel);
}
void op_str(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    umip_check(c);
    if (i->mod3) wr_reg(c, i->rm, i->opsz, c->tr.sel); else wr_E(c, i, 2, c->tr.sel);
}
void op_smsw(struct cpu *c, const struct insn *i)
{
    umip_check(c);
    if (i->mod3) wr_reg(c, i->rm, i->opsz, c->cr0); else wr_E(c, i, 2, c->cr0 & 0xffff);
}
void op_lmsw(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    COUNT_CR(c, write, 0);
    uint64_t v = rd_E(c, i, 2) & 0xf;
    /* LMSW cannot clear PE (SDM vol. 2, LMSW). */
    uint64_t n = (c->cr0 & ~0xeULL) | v | (c->cr0 & CR0_PE);
    set_cr0(c, n);
}
static void load_sys_seg(struct cpu *c, uint16_t sel, bool tr)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    need_cpl0(c);
    struct seg_cache *dst = tr ? &c->tr : &c->ldtr;
    if ((sel & ~3u) == 0) {
        if (tr)
            raise_gp(c, 0);
        c->ldtr.sel = sel;
        c->ldtr.base = 0;
        c->ldtr.limit = 0;
        c->ldtr.attr = SEGA_UNUSABLE;
        return;
    }
    if (sel & 4)
        raise_gp(c, sel & 0xfffc);
    struct desc d;
    if (!read_desc(c, sel, &d))
        raise_gp(c, sel & 0xfffc);
    unsigned t = d_type(&d);
    if (d_s(&d) || (tr ? (t != 1 && t != 9) : t != 2))
        raise_gp(c, sel & 0xfffc);
    if (!d_p(&d))
        cpu_raise(c, EXC_NP, true, sel & 0xfffc);
    struct seg_cache s;
    desc_to_cache(&s, sel, &d);
    if (c->efer & EFER_LMA) {
        uint32_t hi2 = (uint32_t)sys_read(c, d.addr + 8, 4);
        s.base |= (uint64_t)hi2 << 32;
    }
    if (tr) {
        d.hi |= 1u << 9;    /* busy */
        sys_write(c, d.addr + 4, 4, d.hi);
        s.attr |= 2;
    }
    *dst = s;
}
void op_lldt(struct cpu *c, const struct insn *i) { load_sys_seg(c, (uint16_t)rd_E(c, i, 2), false); }
void op_ltr(struct cpu *c, const struct insn *i) { load_sys_seg(c, (uint16_t)rd_E(c, i, 2), true); }

/* LAR/LSL/VERR/VERW: probe a selector without faulting (ZF reports). */
static bool probe_sel(struct cpu *c, uint16_t sel, struct desc *d, int what)
{
    if ((sel & ~3u) == 0 || !read_desc(c, sel, d))
        return false;
    unsigned t = d_type(d), dpl = d_dpl(d), rpl = sel & 3;
    bool conf_code = d_s(d) && (t & 8) && (t & 4);
    if (!d_s(d)) {
        /* System types valid for LAR: LDT, TSS, gates; LSL: LDT and TSS. */
        static const bool lar_ok[16] = {0,1,1,1,1,1,0,0,0,1,0,1,1,0,0,0};
        static const bool lsl_ok[16] = {0,1,1,1,0,0,0,0,0,1,0,1,0,0,0,0};
        if (what >= 2)
            return false;
        if (what == 0 ? !lar_ok[t] : !lsl_ok[t])
            return false;
        if ((c->efer & EFER_LMA) && (t == 1 || t == 3 || t == 4 || t == 5))
            return false;
    }
    if (!conf_code && (dpl < c->cpl || dpl < rpl))
        return false;
    if (what == 2)      /* VERR: readable */
        return d_s(d) && (!(t & 8) || (t & 2));
    if (what == 3)      /* VERW: writable data */
        return d_s(d) && !(t & 8) && (t & 2);
    return true;
}
static void set_zf(struct cpu *c, bool z)
{
    flags_materialize(c);
    if (z) c->eflags |= RFLAGS_ZF; else c->eflags &= ~(uint64_t)RFLAGS_ZF;
}
void op_lar(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    struct desc d;
    bool ok = probe_sel(c, (uint16_t)rd_E(c, i, 2), &d, 0);
    if (ok)
        wr_reg(c, i->reg, i->opsz, d.hi & 0x00f0ff00u);
    set_zf(c, ok);
}
void op_lsl(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    struct desc d;
    bool ok = probe_sel(c, (uint16_t)rd_E(c, i, 2), &d, 1);
    if (ok) {
        struct seg_cache s;
        desc_to_cache(&s, 0, &d);
        wr_reg(c, i->reg, i->opsz, s.limit);
    }
    set_zf(c, ok);
}
void op_verr(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    struct desc d;
    set_zf(c, probe_sel(c, (uint16_t)rd_E(c, i, 2), &d, 2));
}
void op_verw(struct cpu *c, const struct insn *i)
{
    if (!is_pm(c) || is_vm86(c))
        raise_ud(c);
    struct desc d;
    set_zf(c, probe_sel(c, (uint16_t)rd_E(c, i, 2), &d, 3));
}

void op_grp7_1(struct cpu *c, const struct insn *i)
{
    if (i->mod3)
        raise_ud(c);    /* MONITOR/MWAIT/CLAC/STAC not offered */
    store_dt(c, i, &c->idtr);
}
void op_grp7_7(struct cpu *c, const struct insn *i)
{
    if (!i->mod3) {                         /* INVLPG */
        need_cpl0(c);
        COUNT_EXIT(c, INVLPG);
        uint64_t lin = (c->sbase[i->seg] + insn_ea(c, i)) & c->lin_mask;
        tlb_flush_page(c, lin);
        return;
    }
    switch (i->rm & 7) {
    case 0:                                 /* SWAPGS */
        if (!is_64(c))
            raise_ud(c);
        need_cpl0(c);
        {
            uint64_t t = c->seg[SEG_GS].base;
            c->seg[SEG_GS].base = c->kernel_gs_base;
            c->kernel_gs_base = t;
            cpu_seg_refresh(c, SEG_GS);
        }
        return;
    case 1: {                               /* RDTSCP */
        if ((c->cr4 & CR4_TSD) && c->cpl > 0)
            raise_gp(c, 0);
        uint64_t t = cpu_rdtsc(c);
        c->gpr[R_EAX] = (uint32_t)t;
        c->gpr[R_EDX] = t >> 32;
        c->gpr[R_ECX] = (uint32_t)c->tsc_aux;
        return;
    }
    default:
        raise_ud(c);
    }
}

/* ---- control registers ---- */

static void load_pdptes(struct cpu *c)
{
    uint64_t base = c->cr3 & 0xffffffe0ULL;
    for (int k = 0; k < 4; k++)
        c->pdpte[k] = phys_read(c, base + 8 * k, 8);
}

void set_cr3(struct cpu *c, uint64_t v)
{
    c->cr3 = v;
    if ((c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !(c->efer & EFER_LMA))
        load_pdptes(c);
    tlb_flush(c);
}

void set_cr0(struct cpu *c, uint64_t v)
{
    v |= CR0_ET;
    v &= 0xe005003fULL;
    if ((v & CR0_PG) && !(v & CR0_PE))
        raise_gp(c, 0);
    if ((v & CR0_NW) && !(v & CR0_CD))
        raise_gp(c, 0);
    uint64_t old = c->cr0;
    if ((v & CR0_PG) && !(old & CR0_PG) && (c->efer & EFER_LME)) {
        if (!(c->cr4 & CR4_PAE))
            raise_gp(c, 0);
        c->efer |= EFER_LMA;
    }
    if (!(v & CR0_PG) && (old & CR0_PG) && (c->efer & EFER_LMA)) {
        if (is_64(c))
            raise_gp(c, 0);
        c->efer &= ~(uint64_t)EFER_LMA;
    }
    c->cr0 = v;
    if ((v ^ old) & (CR0_PG | CR0_PE | CR0_WP)) {
        if ((v & CR0_PG) && (c->cr4 & CR4_PAE) && !(c->efer & EFER_LMA))
            load_pdptes(c);
        tlb_flush(c);
    }
    cpu_update_mode(c);
}

/* VME/PVI would change how CLI/STI/INT behave in virtual-8086 mode and are
 * not implemented (nor offered by CPUID): setting them is #GP. */
#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | \
                       CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP)

void set_cr4(struct cpu *c, uint64_t v)
{
    if (v & ~(uint64_t)CR4_SUPPORTED)
        raise_gp(c, 0);
    if ((v & CR4_UMIP) && !(c->features & CPU_FEAT_UMIP))
        raise_gp(c, 0);     /* reserved unless CPUID offers UMIP (-cpu ...,+umip) */
    if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
        raise_gp(c, 0);
    uint64_t old = c->cr4;
    c->cr4 = v;
    if ((v ^ old) & (CR4_PAE | CR4_PSE | CR4_PGE)) {
        if ((c->cr0 & CR0_PG) && (v & CR4_PAE) && !(c->efer & EFER_LMA))
            load_pdptes(c);
        tlb_flush(c);
    }
}

/* An access the board answered (the local APIC's MSRs, CR8) may have had
 * device side effects: jit=verify must not run its block a second time. */
static void board_access(struct cpu *c)
{
    if (unlikely(c->journal))
        c->journal->io = true;
}

void op_mov_RC(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    COUNT_CR(c, read, i->reg);
    uint64_t v;
    switch (i->reg) {
    case 0: v = c->cr0; break;
    case 2: v = c->cr2; break;
    case 3: v = c->cr3; break;
    case 4: v = c->cr4; break;
    case 8:
        v = c->cr8;
        if (c->bus->cr8_read) {
            v = c->bus->cr8_read(c->bus->opaque);
            board_access(c);
        }
        break;
    default: raise_ud(c);
    }
    wr_reg(c, i->rm, i->opsz, v);
}
void op_mov_CR(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    COUNT_CR(c, write, i->reg);
    uint64_t v = rd_reg(c, i->rm, i->opsz);
    switch (i->reg) {
    case 0: set_cr0(c, v); break;
    case 2: c->cr2 = v; break;
    case 3: set_cr3(c, v); break;
    case 4: set_cr4(c, v); break;
    case 8:
        if (v >> 4)
            raise_gp(c, 0);     /* reserved bits (SDM vol. 3, 2.5) */
        c->cr8 = v & 0xf;
        if (c->bus->cr8_write) {
            c->bus->cr8_write(c->bus->opaque, (uint8_t)v);
            board_access(c);
            end_block(c);       /* a lower TPR may unblock an interrupt */
        }
        break;
    default: raise_ud(c);
    }
}
void op_mov_RD(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    unsigned r = i->reg & 7;
    if ((r == 4 || r == 5) && (c->cr4 & CR4_DE))
        raise_ud(c);
    if (r == 4) r = 6;
    if (r == 5) r = 7;
    wr_reg(c, i->rm, i->opsz, c->dr[r]);
}
void op_mov_DR(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    unsigned r = i->reg & 7;
    if ((r == 4 || r == 5) && (c->cr4 & CR4_DE))
        raise_ud(c);
    if (r == 4) r = 6;
    if (r == 5) r = 7;
    uint64_t v = rd_reg(c, i->rm, i->opsz);
    if (r == 6) v = (v & 0xf00f) | 0xffff0ff0;
    if (r == 7) v = (v & 0xffff2bff) | 0x400;
    c->dr[r] = v;   /* breakpoints are recorded, not armed (no #DB yet) */
}
void op_clts(struct cpu *c, const struct insn *i)
{
    (void)i;
    need_cpl0(c);
    COUNT_CR(c, write, 0);
    c->cr0 &= ~(uint64_t)CR0_TS;
}
void op_invd(struct cpu *c, const struct insn *i)
{
    (void)i;
    need_cpl0(c);
}

/* ---- time, MSRs, CPUID ---- */

uint64_t cpu_rdtsc(struct cpu *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* A 1 GHz TSC from host time. */
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + c->tsc_offset;
}
void op_rdtsc(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr4 & CR4_TSD) && c->cpl > 0)
        raise_gp(c, 0);
    uint64_t t = cpu_rdtsc(c);
    c->gpr[R_EAX] = (uint32_t)t;
    c->gpr[R_EDX] = t >> 32;
}
void op_rdpmc(struct cpu *c, const struct insn *i)
{
    (void)i;
    raise_gp(c, 0);     /* no performance counters */
}

/* IA32_ARCH_CAPABILITIES (SDM vol. 4, table 2-2): an interpreter does
 * not speculate, so it is immune to every transient-execution attack the
 * MSR can deny: RDCL_NO (Meltdown, so Linux needs no page-table isolation),
 * SSB_NO, MDS_NO, IF_PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO,
 * PSDP_NO, BHI_NO, PBRSB_NO, GDS_NO, RFDS_NO, ITS_NO (bit 62). */
#define ARCH_CAPS ((1ULL << 0) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | \
                   (1ULL << 8) | (1ULL << 13) | (1ULL << 14) | (1ULL << 15) | \
                   (1ULL << 20) | (1ULL << 24) | (1ULL << 26) | (1ULL << 27) | \
                   (1ULL << 62))

static bool msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
    switch (msr) {
    case MSR_IA32_TSC: *v = cpu_rdtsc(c); return true;
    case 0x3b: *v = (uint64_t)c->tsc_adjust; return true;
    case MSR_IA32_APICBASE: *v = c->apic_base; return true;
    case MSR_IA32_SYSENTER_CS: *v = c->sysenter_cs; return true;
    case MSR_IA32_SYSENTER_ESP: *v = c->sysenter_esp; return true;
    case MSR_IA32_SYSENTER_EIP: *v = c->sysenter_eip; return true;
    case MSR_IA32_MISC_ENABLE: *v = c->misc_enable | 1; return true;
    case MSR_IA32_PAT: *v = c->pat; return true;
    case MSR_EFER: *v = c->efer; return true;
    case MSR_STAR: *v = c->star; return true;
    case MSR_LSTAR: *v = c->lstar; return true;
    case MSR_CSTAR: *v = c->cstar; return true;
    case MSR_SFMASK: *v = c->sfmask; return true;
    case MSR_FS_BASE: *v = c->seg[SEG_FS].base; return true;
    case MSR_GS_BASE: *v = c->seg[SEG_GS].base; return true;
    case MSR_KERNEL_GS_BASE: *v = c->kernel_gs_base; return true;
    case MSR_TSC_AUX: *v = c->tsc_aux; return true;
    case 0x8b: *v = 0; return true;                 /* microcode revision */
    /* IA32_PLATFORM_ID: Linux's microcode driver reads it on every Intel
     * family-6 CPU; 0 (platform 0) as QEMU's TCG answers. */
    case 0x17: *v = 0; return true;
    case 0x10a: *v = ARCH_CAPS; return true;
    /* Machine-check architecture (SDM vol. 3, 16.3): MCG_CAP with MCG_CTL_P
     * and MCE_BANKS banks that never log an error (status, address, misc 0). */
    case 0x179: *v = (1u << 8) | MCE_BANKS; return true;
    case 0x17a: *v = 0; return true;                /* MCG_STATUS */
    case 0x17b: *v = c->mcg_ctl; return true;
    case 0x400 ... 0x400 + 4 * MCE_BANKS - 1:
        *v = (msr & 3) == 0 ? c->mc_ctl[(msr - 0x400) / 4] : 0;
        return true;
    case 0xfe: *v = 0; return true;                 /* MTRRcap: none */
    case 0x2ff: *v = c->mtrr_def_type; return true;
    default: return false;
    }
}

static bool msr_write(struct cpu *c, uint32_t msr, uint64_t v)
{
    switch (msr) {
    case MSR_IA32_TSC: {
        /* A TSC write moves TSC_ADJUST by the same amount (SDM vol. 3, 18.17.3). */
        uint64_t delta = v - cpu_rdtsc(c);
        c->tsc_offset += delta;
        c->tsc_adjust += (int64_t)delta;
        return true;
    }
    case 0x3b:          /* IA32_TSC_ADJUST: writing it shifts the TSC */
        c->tsc_offset += v - (uint64_t)c->tsc_adjust;
        c->tsc_adjust = (int64_t)v;
        return true;
    case MSR_IA32_APICBASE: c->apic_base = v; return true;
    case MSR_IA32_SYSENTER_CS: c->sysenter_cs = v & 0xffff; return true;
    case MSR_IA32_SYSENTER_ESP: c->sysenter_esp = v; return true;
    case MSR_IA32_SYSENTER_EIP: c->sysenter_eip = v; return true;
    case MSR_IA32_MISC_ENABLE: c->misc_enable = v; return true;
    case MSR_IA32_PAT: c->pat = v; return true;
    case MSR_EFER: {
        uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
        if (v & ~(allowed | EFER_LMA))
            return false;
        if ((c->cr0 & CR0_PG) && ((v ^ c->efer) & EFER_LME))
            return false;
        c->efer = (v & allowed) | (c->efer & EFER_LMA);
        tlb_flush(c);
        cpu_update_mode(c);
        return true;
    }
    case MSR_STAR: c->star = v; return true;
    case MSR_LSTAR: c->lstar = v; return true;
    case MSR_CSTAR: c->cstar = v; return true;
    case MSR_SFMASK: c->sfmask = v & 0xffffffff; return true;
    case MSR_FS_BASE: c->seg[SEG_FS].base = v; cpu_seg_refresh(c, SEG_FS); return true;
    case MSR_GS_BASE: c->seg[SEG_GS].base = v; cpu_seg_refresh(c, SEG_GS); return true;
    case MSR_KERNEL_GS_BASE: c->kernel_gs_base = v; return true;
    case MSR_TSC_AUX: c->tsc_aux = v & 0xffffffff; return true;
    case 0x8b: case 0x17a: return true;
    case 0x17b: c->mcg_ctl = v; return true;
    case 0x400 ... 0x400 + 4 * MCE_BANKS - 1:
        if ((msr & 3) == 0)
            c->mc_ctl[(msr - 0x400) / 4] = v;
        else if ((msr & 3) == 1 && v)
            return false;   /* MCi_STATUS: only 0 may be written (SDM vol. 3, 16.3.2.2) */
        return true;
    case 0x2ff: c->mtrr_def_type = v; return true;
    default: return false;
    }
}

void op_rdmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    need_cpl0(c);
    cpu_count_msr(&c->counters, (uint32_t)c->gpr[R_ECX], 0);
    uint64_t v;
    uint32_t msr = (uint32_t)c->gpr[R_ECX];
    int r = c->bus->msr_read ? c->bus->msr_read(c->bus->opaque, msr, cpu_rdtsc(c), &v) : 0;
    if (r < 0 || (r == 0 && !msr_read(c, msr, &v)))
        raise_gp(c, 0);
    if (r > 0)
        board_access(c);
    c->gpr[R_EAX] = (uint32_t)v;
    c->gpr[R_EDX] = v >> 32;
}
void op_wrmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    need_cpl0(c);
    cpu_count_msr(&c->counters, (uint32_t)c->gpr[R_ECX], 1);
    uint64_t v = ((uint64_t)(uint32_t)c->gpr[R_EDX] << 32) | (uint32_t)c->gpr[R_EAX];
    uint32_t msr = (uint32_t)c->gpr[R_ECX];
    int r = c->bus->msr_write ? c->bus->msr_write(c->bus->opaque, msr, cpu_rdtsc(c), v) : 0;
    if (r < 0 || (r == 0 && !msr_write(c, msr, v)))
        raise_gp(c, 0);
    if (r > 0) {
        board_access(c);
        end_block(c);           /* an APIC write may have raised INTR (self-IPI, TPR) */
    }
}

/* CPUID advertises exactly what is implemented: x87, MMX, SSE and SSE2
 * yes; SSE3 and later, XSAVE, AVX no; the APIC when the board says so. */
void op_cpuid(struct cpu *c, const struct insn *i)
{
    (void)i;
    COUNT_EXIT(c, CPUID);
    uint32_t leaf = (uint32_t)c->gpr[R_EAX], sub = (uint32_t)c->gpr[R_ECX];
    uint32_t a = 0, b = 0, cx = 0, d = 0;
    switch (leaf) {
    case 0:
        a = 0x16;
        b = 0x756e6547; d = 0x49656e69; cx = 0x6c65746e;    /* GenuineIntel */
        break;
    case 1:
        a = 0x000606a0 | 0x1;   /* family 6 */
        b = 0x00000800;         /* CLFLUSH line 8*8 = 64 bytes, APIC id 0 */
        cx = (1u << 13) | (1u << 22) | (1u << 23) | (1u << 30); /* CX16 MOVBE POPCNT RDRAND */
        /* A hypervisor is present (bit 31), as QEMU says: Linux then skips
         * the microcode loader and the bare-metal PMU probing. */
        cx |= 1u << 31;
        d = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) |   /* FPU PSE TSC MSR */
            (1u << 6) | (1u << 7) | (1u << 8) | (1u << 11) |   /* PAE MCE CX8 SEP */
            (1u << 13) | (1u << 14) |                          /* PGE MCA */
            (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19) | /* CMOV PAT PSE36 CLFSH */
            (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26); /* MMX FXSR SSE SSE2 */
        if (c->bus->apic) {
            /* The board's local APIC: APIC, x2APIC, TSC-deadline timer. */
            d |= 1u << 9;
            cx |= (1u << 21) | (1u << 24);
            b |= (uint32_t)c->bus->apic_id << 24;
        }
        break;
    case 2:
        /* One round; descriptor FFH: "use leaf 4" (SDM vol. 2, CPUID, table 3-12). */
        a = 0x0000ff01;
        break;
    case 4: {
        /* Deterministic cache parameters (SDM vol. 2, CPUID leaf 04H): a
         * plausible hierarchy so libc sizes its copy thresholds sensibly;
         * caches are not modelled. */
        static const uint32_t t[4][3] = {
            {0x121, 63 | (7u << 22), 63},       /* L1d 32 KiB, 8-way, 64 B lines */
            {0x122, 63 | (7u << 22), 63},       /* L1i 32 KiB */
            {0x143, 63 | (15u << 22), 1023},    /* L2 1 MiB, 16-way */
            {0x163, 63 | (15u << 22), 16383},   /* L3 16 MiB, 16-way */
        };
        if (sub < 4) {
            a = t[sub][0];
            b = t[sub][1];
            cx = t[sub][2];
        }
        break;
    }
    case 7:
        if (sub == 0) {
            b = 1u << 1;        /* IA32_TSC_ADJUST */
            d = 1u << 29;       /* IA32_ARCH_CAPABILITIES (MSR 10AH) */
            if (c->features & CPU_FEAT_UMIP)
                cx = 1u << 2;   /* UMIP */
        }
        break;
    case 0x15:
        /* TSC/crystal ratio: our TSC runs at 1 GHz (cpu_rdtsc), so the
         * guest need not calibrate it against the PIT (SDM vol. 2, CPUID
         * leaf 15H; Linux's native_calibrate_tsc). */
        a = 1;
        b = 1;
        cx = 1000000000;
        break;
    case 0x16:
        a = 1000;       /* base MHz */
        b = 1000;       /* max MHz */
        cx = 100;       /* bus MHz */
        break;
    case 0x80000000:
        a = 0x80000008;
        break;
    case 0x80000001:
        cx = (1u << 0) | (1u << 5);                            /* LAHF-SAHF, ABM (LZCNT) */
        d = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29); /* SYSCALL NX 1G RDTSCP LM */
        break;
    case 0x80000002: case 0x80000003: case 0x80000004: {
        static const char brand[48] = "tremu software CPU";
        uint32_t w[4];
        memcpy(w, brand + (leaf - 0x80000002) * 16, 16);
        a = w[0]; b = w[1]; cx = w[2]; d = w[3];
        break;
    }
    case 0x80000007:
        /* Invariant TSC: ours is host CLOCK_MONOTONIC at 1 GHz, constant
         * and never stopping. With TSC_ADJUST Linux then trusts it instead
         * of checking it against jiffies, which lag when the host is busy. */
        d = 1u << 8;
        break;
    case 0x80000008:
        a = 0x3028;     /* 40-bit physical, 48-bit linear */
        break;
    default:
        break;
    }
    c->gpr[R_EAX] = a;
    c->gpr[R_EBX] = b;
    c->gpr[R_ECX] = cx;
    c->gpr[R_EDX] = d;
}

/* ---- fast system calls ---- */

static void flat_seg(struct seg_cache *s, uint16_t sel, uint16_t attr)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->attr = attr;
}

void op_syscall(struct cpu *c, const struct insn *i)
{
    (void)i;
    /* SDM vol. 2, SYSCALL (AMD APM vol. 3 for legacy mode: not offered). */
    if (!(c->efer & EFER_LMA) || !(c->efer & EFER_SCE))
        raise_ud(c);
    uint16_t sel = (uint16_t)(c->star >> 32);
    c->gpr[R_ECX] = c->next_rip;
    c->gpr[R_R11] = get_eflags(c);
    flat_seg(&c->seg[SEG_CS], sel & 0xfffc, 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G);
    flat_seg(&c->seg[SEG_SS], (sel + 8) & 0xfffc, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G);
    set_eflags(c, get_eflags(c) & ~c->sfmask, ~0ULL);
    c->eflags &= ~(uint64_t)RFLAGS_RF;
    c->next_rip = is_64(c) ? c->lstar : c->cstar;
    cpu_update_mode(c);
}
void op_sysret(struct cpu *c, const struct insn *i)
{
    if (!(c->efer & EFER_LMA) || !(c->efer & EFER_SCE))
        raise_ud(c);
    need_cpl0(c);
    uint16_t sel = (uint16_t)(c->star >> 48);
    bool to64 = i->opsz == 8;
    if (to64) {
        uint64_t t = c->gpr[R_ECX];
        if ((uint64_t)((int64_t)(t << 16) >> 16) != t)
            raise_gp(c, 0);
        flat_seg(&c->seg[SEG_CS], (sel + 16) | 3, 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G | (3 << 5));
        c->next_rip = t;
    } else {
        flat_seg(&c->seg[SEG_CS], sel | 3, 0xb | SEGA_S | SEGA_P | SEGA_DB | SEGA_G | (3 << 5));
        c->next_rip = (uint32_t)c->gpr[R_ECX];
    }
    /* SS gets selector STAR[63:48]+8 with flat attributes (SDM: the
     * descriptor is not read). */
    c->seg[SEG_SS].sel = (sel + 8) | 3;
    c->seg[SEG_SS].attr = 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G | (3 << 5);
    c->seg[SEG_SS].base = 0;
    c->seg[SEG_SS].limit = 0xffffffff;
    set_eflags(c, (c->gpr[R_R11] & 0x3c7fd7) | RFLAGS_FIXED, ~0ULL);
    cpu_update_mode(c);
}
void op_sysenter(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (!is_pm(c))
        raise_gp(c, 0);
    uint16_t sel = (uint16_t)c->sysenter_cs;
    if ((sel & 0xfffc) == 0)
        raise_gp(c, 0);
    bool lm = c->efer & EFER_LMA;
    c->eflags &= ~(uint64_t)(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF);
    flat_seg(&c->seg[SEG_CS], sel & 0xfffc,
             0xb | SEGA_S | SEGA_P | SEGA_G | (lm ? SEGA_L : SEGA_DB));
    flat_seg(&c->seg[SEG_SS], (sel + 8) & 0xfffc, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G);
    c->gpr[R_ESP] = lm ? c->sysenter_esp : (uint32_t)c->sysenter_esp;
    c->next_rip = lm ? c->sysenter_eip : (uint32_t)c->sysenter_eip;
    cpu_update_mode(c);
}
void op_sysexit(struct cpu *c, const struct insn *i)
{
    uint16_t sel = (uint16_t)c->sysenter_cs;
    if (!is_pm(c) || (sel & 0xfffc) == 0)
        raise_gp(c, 0);
    need_cpl0(c);
    bool to64 = i->opsz == 8;
    if (to64) {
        flat_seg(&c->seg[SEG_CS], (sel + 32) | 3, 0xb | SEGA_S | SEGA_P | SEGA_G | SEGA_L | (3 << 5));
        flat_seg(&c->seg[SEG_SS], (sel + 40) | 3, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G | (3 << 5));
        c->gpr[R_ESP] = c->gpr[R_ECX];
        c->next_rip = c->gpr[R_EDX];
    } else {
        flat_seg(&c->seg[SEG_CS], (sel + 16) | 3, 0xb | SEGA_S | SEGA_P | SEGA_G | SEGA_DB | (3 << 5));
        flat_seg(&c->seg[SEG_SS], (sel + 24) | 3, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G | (3 << 5));
        c->gpr[R_ESP] = (uint32_t)c->gpr[R_ECX];
        c->next_rip = (uint32_t)c->gpr[R_EDX];
    }
    cpu_update_mode(c);
}
