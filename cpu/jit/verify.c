/* jit=verify: every translated block runs twice from the same state, first
 * in the interpreter (the oracle), then as host code, and the two results
 * must agree: registers, flags (materialised: the lazy form may differ),
 * segment and control state, FPU/SSE state, instructions retired, the
 * exception raised if any, and the guest-physical writes in order.
 *
 * Undoing the first run: in this mode the soft TLB never hands out write
 * pointers (cpu->no_fast_writes), so every guest write reaches phys_write,
 * which journals the bytes it replaces. Blocks whose first run cannot be
 * undone are not run twice and count as unverifiable: port I/O, MMIO
 * (device side effects), timing reads (RDTSC, RDMSR, RDPMC, RDRAND: the
 * second run would read other values) and journal overflow. */
#include "cpu/cpu_int.h"
#include <stdio.h>

struct snap {
    uint8_t hot[offsetof(struct cpu, cur) - offsetof(struct cpu, gpr)];
    uint8_t segs[offsetof(struct cpu, tlb) - offsetof(struct cpu, sbase)];
    uint8_t sys[offsetof(struct cpu, intr_line) - offsetof(struct cpu, seg)];
    bool nmi_blocked, halted, inhibit;
    uint64_t inhibit_rip, inhibit_icount, icount;
    int stop, delivering;
};

static void snap_take(const struct cpu *c, struct snap *s)
{
    memcpy(s->hot, &c->gpr, sizeof(s->hot));
    memcpy(s->segs, &c->sbase, sizeof(s->segs));
    memcpy(s->sys, &c->seg, sizeof(s->sys));
    s->nmi_blocked = c->nmi_blocked;
    s->halted = c->halted;
    s->inhibit = c->inhibit;
    s->inhibit_rip = c->inhibit_rip;
    s->inhibit_icount = c->inhibit_icount;
    s->icount = c->icount;
    s->stop = c->stop;
    s->delivering = c->delivering;
}

static void snap_restore(struct cpu *c, const struct snap *s)
{
    memcpy(&c->gpr, s->hot, sizeof(s->hot));
    memcpy(&c->sbase, s->segs, sizeof(s->segs));
    memcpy(&c->seg, s->sys, sizeof(s->sys));
    c->nmi_blocked = s->nmi_blocked;
    c->halted = s->halted;
    c->inhibit = s->inhibit;
    c->inhibit_rip = s->inhibit_rip;
    c->inhibit_icount = s->inhibit_icount;
    c->icount = s->icount;
    c->stop = s->stop;
    c->delivering = s->delivering;
}

/* What one run produced, beyond the state in struct cpu. */
struct outcome {
    int jumped;             /* 0 ran to the end, 1 exception, 2 internal error */
    uint32_t n;             /* instructions retired (to the faulting one) */
    int vec, kind;
    bool has_err;
    uint32_t err;
    uint64_t exc_rip;
    struct x86_state st;
    uint64_t icount;
    bool halted;
    int stop;
};

static void run_guarded(struct cpu *c, struct block *b, jit_fn f, struct outcome *o)
{
    jmp_buf saved;
    memcpy(saved, c->jb, sizeof(jmp_buf));
    c->cur_end = b->insns + b->ninsn;
    c->cur = NULL;
    int r = setjmp(c->jb);
    if (r == 0) {
        if (f)
            f(c);
        else
            c->icount += interp_block(c, b);
        o->n = b->ninsn;
        o->jumped = 0;
    } else {
        o->jumped = r;
        o->n = c->cur ? (uint32_t)(c->cur - b->insns) : 0;
        o->vec = c->exc_vec;
        o->kind = c->exc_kind;
        o->has_err = c->exc_has_err;
        o->err = c->exc_err;
        o->exc_rip = c->exc_rip;
    }
    memcpy(c->jb, saved, sizeof(jmp_buf));
    cpu_get_state(c, &o->st);
    o->icount = c->icount;
    o->halted = c->halted;
    o->stop = c->stop;
}

static bool unverifiable_insn(const struct insn *i)
{
    switch (i->op) {
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:     /* INS, OUTS */
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:     /* IN, OUT imm8 */
    case 0xec: case 0xed: case 0xee: case 0xef:     /* IN, OUT DX */
    case 0x131: case 0x132: case 0x133:             /* RDTSC, RDMSR, RDPMC */
    case 0x101:                                     /* group 7: RDTSCP */
    case 0x1c7:                                     /* group 9: RDRAND, RDSEED */
        return true;
    default:
        return false;
    }
}

static bool block_unverifiable(const struct block *b)
{
    for (unsigned k = 0; k < b->ninsn; k++)
        if (unverifiable_insn(&b->insns[k]))
            return true;
    return false;
}

static void undo(struct cpu *c, const struct journal *j)
{
    for (unsigned k = j->n; k-- > 0;) {
        uint8_t *p = c->bus->ram_ptr(c->bus->opaque, j->e[k].paddr & ~0xfffULL, true);
        if (p)
            st_host((uintptr_t)(p + (j->e[k].paddr & 0xfff)), j->e[k].sz, j->e[k].oldv);
    }
}

/* Names the first difference between the two runs (empty if none). */
static void compare(const struct outcome *a, const struct outcome *b, const struct journal *ja,
                    const struct journal *jb, char *msg, size_t len)
{
    static const char *const gpr[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    msg[0] = 0;
    if (a->jumped != b->jumped) {
        snprintf(msg, len, "interpreter %s, translation %s",
                 a->jumped ? "raised an exception" : "ran to the end",
                 b->jumped ? "raised an exception" : "ran to the end");
        return;
    }
    if (a->jumped == 1 && (a->vec != b->vec || a->has_err != b->has_err || a->err != b->err ||
                           a->exc_rip != b->exc_rip || a->kind != b->kind)) {
        snprintf(msg, len, "exception: interpreter vector %d err 0x%x at 0x%llx, translation "
                 "vector %d err 0x%x at 0x%llx", a->vec, a->err, (unsigned long long)a->exc_rip,
                 b->vec, b->err, (unsigned long long)b->exc_rip);
        return;
    }
    if (a->n != b->n || a->icount != b->icount) {
        snprintf(msg, len, "instructions retired: interpreter %u (icount %llu), translation %u "
                 "(icount %llu)", a->n, (unsigned long long)a->icount, b->n,
                 (unsigned long long)b->icount);
        return;
    }
    for (int r = 0; r < 16; r++)
        if (a->st.gpr[r] != b->st.gpr[r]) {
            snprintf(msg, len, "%s: interpreter 0x%llx, translation 0x%llx", gpr[r],
                     (unsigned long long)a->st.gpr[r], (unsigned long long)b->st.gpr[r]);
            return;
        }
    if (a->st.rip != b->st.rip) {
        snprintf(msg, len, "rip: interpreter 0x%llx, translation 0x%llx",
                 (unsigned long long)a->st.rip, (unsigned long long)b->st.rip);
        return;
    }
    if (a->st.rflags != b->st.rflags) {
        snprintf(msg, len, "rflags: interpreter 0x%llx, translation 0x%llx",
                 (unsigned long long)a->st.rflags, (unsigned long long)b->st.rflags);
        return;
    }
    if (memcmp(&a->st, &b->st, sizeof(a->st)) != 0) {
        snprintf(msg, len, "system, segment or FPU/SSE state differs");
        return;
    }
    if (a->halted != b->halted || a->stop != b->stop) {
        snprintf(msg, len, "halt/stop state differs");
        return;
    }
    if (ja->n != jb->n) {
        snprintf(msg, len, "memory writes: interpreter %u, translation %u", ja->n, jb->n);
        return;
    }
    for (unsigned k = 0; k < ja->n; k++)
        if (ja->e[k].paddr != jb->e[k].paddr || ja->e[k].sz != jb->e[k].sz ||
            ja->e[k].newv != jb->e[k].newv) {
            snprintf(msg, len, "memory write %u: interpreter %u bytes 0x%llx at 0x%llx, "
                     "translation %u bytes 0x%llx at 0x%llx", k, ja->e[k].sz,
                     (unsigned long long)ja->e[k].newv, (unsigned long long)ja->e[k].paddr,
                     jb->e[k].sz, (unsigned long long)jb->e[k].newv,
                     (unsigned long long)jb->e[k].paddr);
            return;
        }
}

void jit_verify_block(struct cpu *c, struct block *b, jit_fn f)
{
    if (block_unverifiable(b)) {
        c->jit_stats.unverifiable++;
        f(c);
        return;
    }
    struct snap s_, *s = &s_;
    struct outcome oi_, oj_, *oi = &oi_, *oj = &oj_;
    struct journal *ji = &c->journal_buf[0], *jj = &c->journal_buf[1];
    memset(oi, 0, sizeof(*oi));
    memset(oj, 0, sizeof(*oj));
    jj->n = 0;
    jj->io = jj->overflow = false;
    snap_take(c, s);
    uint64_t epoch = c->code_epoch, dropped = c->code_pages_dropped;
    ji->n = 0;
    ji->io = ji->overflow = false;
    c->journal = ji;
    run_guarded(c, b, NULL, oi);
    c->journal = NULL;
    /* A run that dropped decoded code (self-modifying code) changed what
     * the second run would see: keep the first. */
    if (oi->jumped == 2 || ji->io || ji->overflow || c->code_pages_dropped != dropped) {
        /* Keep the interpreter's run: it cannot be repeated. */
        c->jit_stats.unverifiable++;
        if (oi->jumped)
            longjmp(c->jb, oi->jumped);
        return;
    }
    undo(c, ji);
    snap_restore(c, s);
    if (c->code_epoch != epoch)
        tlb_flush(c);   /* the first run changed translations (CR3, INVLPG...) */
    c->journal = jj;
    run_guarded(c, b, f, oj);
    c->journal = NULL;
    char msg[sizeof(c->errmsg) - 40];
    compare(oi, oj, ji, jj, msg, sizeof(msg));
    c->jit_stats.verified++;
    if (msg[0]) {
        c->jit_failed = b;
        char full[sizeof(c->errmsg)];
        snprintf(full, sizeof(full), "jit verify: %s", msg);
        cpu_internal_error(c, full);
    }
    if (oj->jumped)
        longjmp(c->jb, oj->jumped);
}
