/* Exits and traps by cause (hw/stats.h, cpu/counters.h, accel/tcg_stats.h,
 * accel/kvm_stats.h, docs/stats.md): each cause counted once per event on
 * the software CPU (interpreter and JIT), the board's port I/O counts, one
 * table of names for both engines, the KVM binary-stats parser on built
 * buffers (hostile lengths included), and the text/JSON/CSV/periodic
 * formats. Test names avoid "cpu": the verify-mode pass of the CPU tests
 * (check.sh) would run the block twice and count twice, by design. */
#include "test.h"
#include "fake_bus.h"
#include "cpu/cpu.h"
#include "accel/tcg_stats.h"
#include "accel/kvm_stats.h"
#include "hw/machine.h"
#include "hw/stats_report.h"
#include <stdlib.h>
#include <string.h>

/* Real mode at 0x7c00 (GNU as, .code16, -Ttext=0x7c00):
 *     xor ax, ax ; mov ds, ax
 *     IVT[6] = IVT[0] = skip2, IVT[3] = IVT[0x80] = IVT[0x20] = plain
 *     xor eax, eax ; cpuid
 *     mov ecx, 0x174 ; xor eax, eax ; xor edx, edx
 *     wrmsr ; rdmsr ; rdmsr
 *     mov eax, cr0 ; mov cr0, eax ; mov eax, cr3
 *     invlpg [0x1000]
 *     ud2                     ; #UD, skip2 steps over it
 *     xor bl, bl ; div bl     ; #DE, skip2 steps over it
 *     int3                    ; #BP
 *     int 0x80                ; int.soft
 *     sti                     ; INTR pending: an interrupt window
 *     hlt                     ; IRQ 0x20 wakes it
 *     cli ; sti               ; nothing pending: no window
 *     cli ; hlt               ; the end (IF = 0)
 * skip2: push bp ; mov bp, sp ; add word ptr [bp+2], 2 ; pop bp ; iret
 * plain: iret */
static const uint8_t prog_causes[] = {
    0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x18, 0x00, 0x74, 0x7c, 0xc7, 0x06,
    0x1a, 0x00, 0x00, 0x00, 0xc7, 0x06, 0x00, 0x00, 0x74, 0x7c, 0xc7, 0x06,
    0x02, 0x00, 0x00, 0x00, 0xc7, 0x06, 0x0c, 0x00, 0x7d, 0x7c, 0xc7, 0x06,
    0x0e, 0x00, 0x00, 0x00, 0xc7, 0x06, 0x00, 0x02, 0x7d, 0x7c, 0xc7, 0x06,
    0x02, 0x02, 0x00, 0x00, 0xc7, 0x06, 0x80, 0x00, 0x7d, 0x7c, 0xc7, 0x06,
    0x82, 0x00, 0x00, 0x00, 0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0xb9, 0x74,
    0x01, 0x00, 0x00, 0x66, 0x31, 0xc0, 0x66, 0x31, 0xd2, 0x0f, 0x30, 0x0f,
    0x32, 0x0f, 0x32, 0x0f, 0x20, 0xc0, 0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xd8,
    0x0f, 0x01, 0x3e, 0x00, 0x10, 0x0f, 0x0b, 0x30, 0xdb, 0xf6, 0xf3, 0xcc,
    0xcd, 0x80, 0xfb, 0xf4, 0xfa, 0xfb, 0xfa, 0xf4, 0x55, 0x89, 0xe5, 0x83,
    0x46, 0x02, 0x02, 0x5d, 0xcf, 0xcf,
};

static uint64_t row(const struct stats_snapshot *s, const char *name)
{
    uint64_t v = 0;
    if (!stats_lookup(s, name, &v))
        return ~0ULL;       /* absent: distinct from any count the tests expect */
    return v;
}

/* The fake CPU's counters as the tcg engine reports them. */
static void snapshot_of(struct fake *f, struct stats_snapshot *s)
{
    struct cpu_counters k;
    cpu_get_counters(f->cpu, &k);
    stats_snapshot_init(s, "tcg", 1.0);
    tcg_counters_snapshot(&k, s);
}

static void dbg_intr(void *o, int vec, bool has_err, uint32_t err, uint64_t rip, bool hw)
{
    (void)o; (void)has_err; (void)err;
    fprintf(stderr, "vec %d rip %llx hw %d\n", vec, (unsigned long long)rip, hw);
}

/* The program above under one JIT mode; the counters as the tcg engine
 * reports them. False if the mode is unavailable here. */
static bool run_causes(enum cpu_jit_mode mode, struct stats_snapshot *s, struct x86_state *st)
{
    struct fake *f = fake_new();
    if (cpu_set_jit(f->cpu, mode, mode == CPU_JIT_OFF ? 0 : 1u << 20) < 0 && mode != CPU_JIT_OFF) {
        fake_free(f);
        return false;
    }
    cpu_set_jit_threshold(f->cpu, 1);   /* every block through the JIT at once */
    f->intr_vec = 0x20;
    cpu_set_intr(f->cpu, true);
    if (getenv("EXITS_DEBUG")) {
        struct cpu_trace tr = {.intr = dbg_intr};
        cpu_set_trace(f->cpu, &tr);
    }
    enum cpu_stop r = run_real(f, prog_causes, sizeof(prog_causes), st);
    CHECK_EQ(r, CPU_STOP_HLT);
    snapshot_of(f, s);
    stats_finish(s);
    if (getenv("EXITS_DEBUG"))
        stats_write(s, STATS_TEXT, stderr);
    CHECK_EQ(f->acks, 1);
    fake_free(f);
    return true;
}

static void check_causes(const struct stats_snapshot *s, const struct x86_state *st)
{
    CHECK_EQ(st->rip, 0x7c74);          /* after the HLT */
    CHECK_EQ(row(s, "cpuid"), 1);
    CHECK_EQ(row(s, "msr.write"), 1);
    CHECK_EQ(row(s, "msr.write(0x174)"), 1);
    CHECK_EQ(row(s, "msr.read"), 2);
    CHECK_EQ(row(s, "msr.read(0x174)"), 2);
    CHECK_EQ(row(s, "cr.read"), 2);
    CHECK_EQ(row(s, "cr.read(0)"), 1);
    CHECK_EQ(row(s, "cr.read(3)"), 1);
    CHECK_EQ(row(s, "cr.write"), 1);
    CHECK_EQ(row(s, "cr.write(0)"), 1);
    CHECK_EQ(row(s, "invlpg"), 1);
    CHECK_EQ(row(s, "tlb.flush_page"), 1);
    CHECK_EQ(row(s, "exception"), 3);
    CHECK_EQ(row(s, "exception(#UD)"), 1);
    CHECK_EQ(row(s, "exception(#DE)"), 1);
    CHECK_EQ(row(s, "exception(#BP)"), 1);
    CHECK_EQ(row(s, "exception(#GP)"), ~0ULL);   /* zero rows are left out */
    CHECK_EQ(row(s, "page_fault"), 0);
    CHECK_EQ(row(s, "int.soft"), 1);
    CHECK_EQ(row(s, "interrupt_window"), 1);
    CHECK_EQ(row(s, "hlt"), 2);
}

TEST(exits_each_cause_counted_once_interpreter)
{
    struct stats_snapshot s;
    struct x86_state st;
    CHECK(run_causes(CPU_JIT_OFF, &s, &st));
    check_causes(&s, &st);
    stats_snapshot_free(&s);
}

TEST(exits_each_cause_counted_once_translated)
{
    struct stats_snapshot s;
    struct x86_state st;
    if (!cpu_jit_available()) {
        test_skip("no JIT backend for this host");
        return;
    }
    CHECK(run_causes(CPU_JIT_ON, &s, &st));
    check_causes(&s, &st);
    stats_snapshot_free(&s);
}

/* Flat 32-bit protected mode, ring 0, with tables at fixed places: GDT at
 * 0x6000 (code 0x08, data 0x10, ring-3 code 0x1b and data 0x23, a TSS 0x28
 * at 0x6800 with ESP0 0x9000), IDT at 0x8000 whose vector vec is an
 * interrupt gate to the handler at 0x08:0x7e00. Code starts at 0x7c00. */
static void setup_pm(struct fake *f, struct x86_state *st, int vec)
{
    static const uint64_t gdt[6] = {
        0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL, 0x00cffa000000ffffULL,
        0x00cff2000000ffffULL,
        0x0000890000000067ULL | ((uint64_t)0x6800 << 16),     /* 32-bit TSS */
    };
    memcpy(f->ram + 0x6000, gdt, sizeof(gdt));
    uint32_t esp0 = 0x9000, ss0 = 0x10;
    memcpy(f->ram + 0x6800 + 4, &esp0, 4);
    memcpy(f->ram + 0x6800 + 8, &ss0, 4);
    uint64_t gate = 0x7e00 | (0x08ULL << 16) | (0x8eULL << 40);
    memcpy(f->ram + 0x8000 + (unsigned)vec * 8, &gate, 8);
    x86_state_reset(st);
    x86_state_flat32(st, 0x08, 0x10);
    st->gdtr.base = 0x6000;
    st->gdtr.limit = sizeof(gdt) - 1;
    st->idtr.base = 0x8000;
    st->idtr.limit = 0x7ff;
    st->tr.sel = 0x28;
    st->tr.base = 0x6800;
    st->tr.limit = 0x67;
    st->tr.attr = 0x8b;     /* busy 32-bit TSS, present */
    st->rip = 0x7c00;
    st->gpr[R_ESP] = 0x9000;
}

/* CPL 3 never gets to the exit: RDMSR, MOV CR, INVLPG and HLT #GP first
 * (SDM vol. 3C, 26.1.1), so they count as exception(#GP), not as causes. */
TEST(exits_privileged_at_cpl3_count_as_gp_only)
{
    /* Ring 3 code at 0x7c00 (flat 32-bit); a ring-0 #GP handler steps
     * over each faulting instruction (all 2 bytes long). */
    struct fake *f = fake_new();
    cpu_set_jit(f->cpu, CPU_JIT_OFF, 0);
    static const uint8_t user[] = {
        0x0f, 0x32,             /* rdmsr */
        0x0f, 0x30,             /* wrmsr */
        0x0f, 0xa2,             /* cpuid (not privileged: counts) */
        0xeb, 0xfe,             /* jmp $ (the budget ends the run) */
    };
    /* Handler at 0x7e00 (ring 0): drop the error code, EIP += 2, IRET. */
    static const uint8_t handler[] = {
        0x83, 0xc4, 0x04,               /* add esp, 4 */
        0x83, 0x04, 0x24, 0x02,         /* add dword [esp], 2 */
        0xcf,                           /* iret */
    };
    memcpy(f->ram + 0x7c00, user, sizeof(user));
    memcpy(f->ram + 0x7e00, handler, sizeof(handler));
    struct x86_state st;
    setup_pm(f, &st, 13);
    x86_state_flat32(&st, 0x1b, 0x23);
    for (int i = 0; i < SEG_COUNT; i++)
        st.seg[i].attr |= 0x60;             /* DPL 3: ring 3 code and data */
    st.gpr[R_ESP] = 0x8800;
    cpu_set_state(f->cpu, &st);
    cpu_run(f->cpu, 50, NULL);
    cpu_get_state(f->cpu, &st);
    struct stats_snapshot s;
    snapshot_of(f, &s);
    CHECK_EQ(st.rip, 0x7c06);               /* spinning on the jmp */
    CHECK_EQ(st.seg[SEG_CS].sel, 0x1b);
    CHECK_EQ(row(&s, "exception(#GP)"), 2);
    CHECK_EQ(row(&s, "msr.read"), 0);
    CHECK_EQ(row(&s, "msr.write"), 0);
    CHECK_EQ(row(&s, "cpuid"), 1);
    stats_snapshot_free(&s);
    fake_free(f);
}

/* A guest page fault is counted once: the handler maps the page and the
 * access is retried (32-bit paging with 4 MiB pages, set up from C). */
TEST(exits_page_fault_counted_once)
{
    static const enum cpu_jit_mode m[] = {CPU_JIT_OFF, CPU_JIT_ON};
    for (int k = 0; k < 2; k++) {
        struct fake *f = fake_new();
        if (cpu_set_jit(f->cpu, m[k], m[k] == CPU_JIT_OFF ? 0 : 1u << 20) < 0 && m[k] != CPU_JIT_OFF) {
            fake_free(f);
            continue;       /* no JIT backend here: the interpreter pass stands */
        }
        cpu_set_jit_threshold(f->cpu, 1);
        static const uint8_t code[] = {
            0xa1, 0x23, 0x01, 0x40, 0x00,   /* mov eax, [0x400123]: #PF, then phys 0x123 */
            0xf4,                           /* hlt */
        };
        static const uint8_t handler[] = {
            0x83, 0xc4, 0x04,                                       /* add esp, 4 */
            0xc7, 0x05, 0x04, 0x00, 0x02, 0x00, 0x83, 0x00, 0x00, 0x00, /* mov dword [0x20004], 0x83 */
            0xcf,                                                   /* iret */
        };
        memcpy(f->ram + 0x7c00, code, sizeof(code));
        memcpy(f->ram + 0x7e00, handler, sizeof(handler));
        f->ram[0x123] = 0x5a;
        uint32_t pde0 = 0x83;               /* 4 MiB at 0, present, writable */
        memcpy(f->ram + 0x20000, &pde0, 4);
        struct x86_state st;
        setup_pm(f, &st, 14);
        st.cr4 |= CR4_PSE;
        st.cr3 = 0x20000;
        st.cr0 |= CR0_PG;
        cpu_set_state(f->cpu, &st);
        CHECK_EQ(cpu_run(f->cpu, 1000, NULL), CPU_STOP_HLT);
        cpu_get_state(f->cpu, &st);
        CHECK_EQ(st.gpr[R_EAX] & 0xff, 0x5a);
        CHECK_EQ(st.cr2, 0x400123);
        struct stats_snapshot s;
        snapshot_of(f, &s);
        CHECK_EQ(row(&s, "page_fault"), 1);
        CHECK_EQ(row(&s, "exception(#PF)"), 1);
        CHECK_EQ(row(&s, "exception"), 1);
        CHECK(row(&s, "tlb.miss") >= 2);    /* the faulting walk, then the refill */
        stats_snapshot_free(&s);
        fake_free(f);
    }
}

/* The board counts port I/O for both engines: once per access, by port and
 * by device. */
static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque; (void)off; (void)size;
    return 0x5a;
}
static void dev_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque; (void)off; (void)v; (void)size;
}

TEST(exits_board_counts_port_io_once_by_port_and_device)
{
    static struct machine m;
    static struct machine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ram_size = 2 << 20;
    CHECK_EQ(machine_init(&m, &cfg, NULL), 0);
    CHECK_EQ(iomap_register(&m.pio, 0x3f8, 8, dev_read, dev_write, NULL, "serial"), 0);
    machine_pio_out(&m, 0x3f8, 0x41, 1);
    machine_pio_out(&m, 0x3f8, 0x42, 1);
    CHECK_EQ(machine_pio_in(&m, 0x3fd, 1), 0x5a);
    machine_pio_in(&m, 0x555, 1);              /* unclaimed */
    struct stats_snapshot s;
    stats_collect(&m, &s);
    CHECK_EQ(row(&s, "io"), 4);
    CHECK_EQ(row(&s, "io.out"), 2);
    CHECK_EQ(row(&s, "io.in"), 2);
    CHECK_EQ(row(&s, "io.port(0x03f8)"), 2);
    CHECK_EQ(row(&s, "io.port(0x03fd)"), 1);
    CHECK_EQ(row(&s, "io.dev(serial)"), 3);
    CHECK_EQ(row(&s, "io.unclaimed"), 1);
    CHECK_EQ(row(&s, "mmio"), 0);
    /* No engine: what only an engine can see is n/a, and so is the total. */
    CHECK_EQ(row(&s, "cpuid"), ~0ULL);
    CHECK_EQ(row(&s, "exits"), ~0ULL);
    stats_snapshot_free(&s);
    machine_destroy(&m);
}

/* ---- one table for both engines ---- */

static char *render(const struct stats_snapshot *s, enum stats_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    stats_write(s, f, mf);
    fclose(mf);
    return buf;
}

/* Main rows of a text report: the cause column, in order. */
static int main_names(const struct stats_snapshot *s, char names[][STATS_NAME_MAX], int max)
{
    char *buf = render(s, STATS_TEXT);
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "==", 2) || !strncmp(l, "cause", 5))
            continue;
        if (!strncmp(l, "--", 2))
            break;
        sscanf(l, "%47s", names[n++]);
    }
    free(buf);
    return n;
}

TEST(exits_tcg_and_kvm_reports_line_up)
{
    struct cpu_counters k;
    memset(&k, 0, sizeof(k));
    k.n[CPU_COUNT_CPUID] = 5;
    k.n[CPU_COUNT_HLT] = 2;
    k.exception[14] = 7;
    cpu_count_msr(&k, 0x1b, 0);
    struct stats_snapshot t, v;
    stats_snapshot_init(&t, "tcg", 2.0);
    tcg_counters_snapshot(&k, &t);
    stats_finish(&t);
    struct kvm_stat ks[] = {{"exits", 100}, {"halt_exits", 3}, {"pf_taken", 9}, {"invlpg", 4},
                            {"irq_injections", 8}, {"io_exits", 50}};
    stats_snapshot_init(&v, "kvm", 2.0);
    kvm_stats_snapshot(ks, 6, &v, true);
    stats_finish(&v);
    char a[SC_MAX + 4][STATS_NAME_MAX], b[SC_MAX + 4][STATS_NAME_MAX];
    int na = main_names(&t, a, SC_MAX + 4), nb = main_names(&v, b, SC_MAX + 4);
    CHECK_EQ(na, SC_MAX);
    CHECK_EQ(nb, SC_MAX);
    for (int i = 0; i < na && i < nb; i++) {
        if (strcmp(a[i], b[i]))
            test_failf(__FILE__, __LINE__, "row %d: tcg '%s', kvm '%s'", i, a[i], b[i]);
        CHECK(!strcmp(a[i], stats_cause_name((enum stat_cause)i)));
    }
    /* The same cause under the same name, whichever engine counted it. */
    CHECK_EQ(row(&t, "hlt"), 2);
    CHECK_EQ(row(&v, "hlt"), 3);
    CHECK_EQ(row(&t, "page_fault"), 7);
    CHECK_EQ(row(&v, "page_fault"), 9);
    CHECK_EQ(row(&v, "invlpg"), 4);
    CHECK_EQ(row(&v, "irq.inject"), 8);
    CHECK_EQ(row(&v, "exits"), 100);
    CHECK_EQ(row(&v, "kvm.stat(io_exits)"), 50);
    CHECK_EQ(row(&v, "cpuid"), ~0ULL);      /* KVM does not say: n/a, not 0 */
    CHECK_EQ(row(&t, "cpuid"), 5);
    CHECK_EQ(row(&t, "msr.read(0x1b)"), 1);
    /* Every name in the table is distinct. */
    for (int i = 0; i < SC_MAX; i++)
        for (int j = i + 1; j < SC_MAX; j++)
            CHECK(strcmp(stats_cause_name((enum stat_cause)i), stats_cause_name((enum stat_cause)j)));
    stats_snapshot_free(&t);
    stats_snapshot_free(&v);
}

TEST(exits_kvm_user_space_counts_replaced_by_kernel_figures)
{
    struct stats_snapshot s;
    stats_snapshot_init(&s, "kvm", 1.0);
    stats_set(&s, SC_IRQ_INJECT, 40);           /* the board's KVM_INTERRUPT count */
    struct kvm_stat ks[] = {{"irq_injections", 41}};
    kvm_stats_snapshot(ks, 1, &s, true);        /* the kernel's includes those */
    CHECK_EQ(row(&s, "irq.inject"), 41);
    kvm_stats_snapshot(ks, 1, &s, false);       /* a second vCPU adds */
    CHECK_EQ(row(&s, "irq.inject"), 82);
    stats_snapshot_free(&s);
}

/* ---- the KVM binary stats parser ---- */

struct sbuf { uint8_t b[4096]; size_t len; };

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A stats file as the kernel lays it out: header, id, descriptors (name
 * size 48), data. Stats: exits=1234 (cumulative), halt_exits=56,
 * a log histogram of 4 buckets, blocking=1 (instant). */
#define NSZ 48
static void build_stats(struct sbuf *s)
{
    memset(s, 0, sizeof(*s));
    const uint32_t id_off = 24, desc_off = id_off + NSZ, step = 16 + NSZ, ndesc = 4;
    const uint32_t data_off = desc_off + step * ndesc;
    put32(s->b + 0, 0);
    put32(s->b + 4, NSZ);
    put32(s->b + 8, ndesc);
    put32(s->b + 12, id_off);
    put32(s->b + 16, desc_off);
    put32(s->b + 20, data_off);
    strcpy((char *)s->b + id_off, "kvm-1234/vcpu_0");
    static const struct { const char *n; uint32_t flags; uint16_t size; uint32_t off; uint64_t v; } d[] = {
        {"exits", 0x0, 1, 0, 1234},
        {"halt_exits", 0x0, 1, 8, 56},
        {"halt_poll_fail_hist", 0x4, 4, 16, 99},
        {"blocking", 0x41, 1, 48, 1},
    };
    for (uint32_t k = 0; k < ndesc; k++) {
        uint8_t *p = s->b + desc_off + step * k;
        put32(p, d[k].flags);
        put16(p + 6, d[k].size);
        put32(p + 8, d[k].off);
        strcpy((char *)p + 16, d[k].n);
        for (uint16_t j = 0; j < d[k].size; j++)
            put64(s->b + data_off + d[k].off + 8 * j, d[k].v + j);
    }
    s->len = data_off + 56;
}

TEST(exits_kvm_stats_parser_reads_a_stats_file)
{
    struct sbuf s;
    build_stats(&s);
    struct kvm_stat st[8];
    char err[160] = "";
    int n = kvm_stats_parse(s.b, s.len, st, 8, err, sizeof(err));
    CHECK_EQ(n, 3);         /* the histogram is left out */
    if (n == 3) {
        CHECK(!strcmp(st[0].name, "exits"));
        CHECK_EQ(st[0].value, 1234);
        CHECK(!strcmp(st[1].name, "halt_exits"));
        CHECK_EQ(st[1].value, 56);
        CHECK(!strcmp(st[2].name, "blocking"));
        CHECK_EQ(st[2].value, 1);
    }
    /* max bounds the output. */
    CHECK_EQ(kvm_stats_parse(s.b, s.len, st, 1, err, sizeof(err)), 1);
}

TEST(exits_kvm_stats_parser_rejects_hostile_lengths)
{
    struct sbuf s, h;
    build_stats(&s);
    struct kvm_stat st[8];
    char err[160];
    /* Every truncation: an error, never a read past the end (the buffer
     * is copied to the exact length on the heap so ASan would see one). */
    for (size_t len = 0; len < s.len; len++) {
        uint8_t *b = malloc(len ? len : 1);
        memcpy(b, s.b, len);
        int n = kvm_stats_parse(b, len, st, 8, err, sizeof(err));
        if (n != -1)
            test_failf(__FILE__, __LINE__, "truncated to %zu: %d stats", len, n);
        free(b);
    }
    CHECK_EQ(kvm_stats_parse(NULL, 100, st, 8, err, sizeof(err)), -1);
    /* name_size 0, and huge. */
    h = s; put32(h.b + 4, 0);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    h = s; put32(h.b + 4, 0xffffffffu);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    /* num_desc whose product with the step would wrap 32 bits. */
    h = s; put32(h.b + 8, 0x04000000u);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    /* Offsets at the top of the 32-bit range. */
    h = s; put32(h.b + 16, 0xfffffff0u);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    h = s; put32(h.b + 20, 0xfffffff0u);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    /* A descriptor's value offset and size past the data. */
    const uint32_t desc_off = 24 + NSZ, step = 16 + NSZ;
    h = s; put32(h.b + desc_off + 8, 0xfffffff8u);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    h = s; put16(h.b + desc_off + step + 6, 0xffff);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    h = s; put16(h.b + desc_off + 6, 0);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    /* A name filling its whole field: no NUL. */
    h = s; memset(h.b + desc_off + 16, 'a', NSZ);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), -1);
    CHECK(strstr(err, "NUL") != NULL);
    /* Zero descriptors is a valid, empty file. */
    h = s; put32(h.b + 8, 0);
    CHECK_EQ(kvm_stats_parse(h.b, h.len, st, 8, err, sizeof(err)), 0);
}

/* ---- formats ---- */

static void small_snapshot(struct stats_snapshot *s)
{
    stats_snapshot_init(s, "tcg", 2.5);
    stats_set(s, SC_IO_IN, 3);
    stats_set(s, SC_IO_OUT, 4);
    stats_set(s, SC_CPUID, 10);
    stats_row(s, 7, "io.port(0x03f8)");
    stats_row(s, 0, "io.port(0x0080)");         /* zero: left out */
    stats_row(s, 2, "io.dev(a,\"b\")");         /* a hostile device name */
    stats_finish(s);
}

TEST(exits_json_format)
{
    struct stats_snapshot s;
    small_snapshot(&s);
    char *j = render(&s, STATS_JSON);
    CHECK(!strncmp(j, "{\"engine\":\"tcg\",\"seconds\":2.500,\"counters\":{", 44));
    CHECK(strstr(j, "\n  \"io\":7,") != NULL);
    CHECK(strstr(j, "\n  \"io.in\":3,") != NULL);
    CHECK(strstr(j, "\n  \"cpuid\":10,") != NULL);
    CHECK(strstr(j, "\n  \"io.port(0x03f8)\":7,") != NULL);
    CHECK(strstr(j, "\"io.dev(a,\\\"b\\\")\":2\n}") != NULL);
    CHECK(strstr(j, "0x0080") == NULL);
    CHECK(strstr(j, "\"mmio\":") == NULL);              /* n/a: not a counter */
    CHECK(strstr(j, "\"unavailable\":[\"exits\",\"mmio\",\"mmio.read\"") != NULL);
    CHECK(!strcmp(j + strlen(j) - 3, "]}\n"));
    free(j);
    stats_snapshot_free(&s);
}

TEST(exits_csv_format)
{
    struct stats_snapshot s;
    small_snapshot(&s);
    char *c = render(&s, STATS_CSV);
    CHECK(!strncmp(c, "engine,seconds,cause,count\ntcg,2.500,io,7\ntcg,2.500,io.in,3\n", 59));
    CHECK(strstr(c, "\ntcg,2.500,cpuid,10\n") != NULL);
    CHECK(strstr(c, "\ntcg,2.500,\"io.dev(a,\"\"b\"\")\",2\n") != NULL);
    CHECK(strstr(c, "n/a") == NULL);
    free(c);
    /* Appended snapshots of a time series carry no header. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    stats_write_csv(&s, mf, false);
    fclose(mf);
    CHECK(!strncmp(buf, "tcg,2.500,io,7\n", 15));
    CHECK(strstr(buf, "engine,") == NULL);
    free(buf);
    stats_snapshot_free(&s);
}

TEST(exits_text_format_columns)
{
    struct stats_snapshot s;
    small_snapshot(&s);
    char *t = render(&s, STATS_TEXT);
    CHECK(strstr(t, "== tremu exits and traps by cause: engine tcg, 2.50 s ==\n") != NULL);
    /* name left in 34 columns, count and rate right-aligned in 14 each. */
    CHECK(strstr(t, "\ncpuid                                          10            4.0\n") != NULL);
    CHECK(strstr(t, "\nmmio                                          n/a            n/a\n") != NULL);
    free(t);
    stats_snapshot_free(&s);
}

TEST(exits_interval_line_is_per_second_deltas)
{
    struct stats_snapshot a, b;
    stats_snapshot_init(&a, "tcg", 1.0);
    stats_set(&a, SC_CPUID, 100);
    stats_set(&a, SC_HLT, 5);
    stats_snapshot_init(&b, "tcg", 3.0);
    stats_set(&b, SC_CPUID, 300);
    stats_set(&b, SC_HLT, 9);
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    stats_interval_header(mf);
    stats_interval_line(&a, &b, mf);
    fclose(mf);
    char *l2 = strchr(buf, '\n');
    CHECK(l2 != NULL);
    if (l2) {
        l2++;
        CHECK(!strncmp(buf, "stats:", 6) && !strncmp(l2, "stats:", 6));
        /* Header and line have the same columns at the same places. */
        CHECK_EQ(strchr(l2, '\n') - l2, strstr(buf, "  (per second)") - buf);
        char *hc = strstr(buf, " cpuid"), *hh = strstr(buf, "       hlt");
        CHECK(hc && hh);
        if (hc && hh) {
            size_t ec = (size_t)(hc - buf) + 6, eh = (size_t)(hh - buf) + 10;
            CHECK(!strncmp(l2 + ec - 3, "100", 3));      /* (300-100)/2 */
            CHECK(!strncmp(l2 + eh - 1, "2", 1));        /* (9-5)/2 */
            CHECK(!strncmp(l2 + (size_t)(strstr(buf, "      mmio") - buf) + 7, "n/a", 3));
        }
    }
    free(buf);
    stats_snapshot_free(&a);
    stats_snapshot_free(&b);
}

TEST(exits_stats_options)
{
    struct stats_config c;
    memset(&c, 0, sizeof(c));
    char err[256];
    CHECK_EQ(stats_config_item(&c, "interval=2", err, sizeof(err)), 0);
    CHECK_EQ(c.interval, 2);
    CHECK_EQ(stats_config_item(&c, "format=json", err, sizeof(err)), 0);
    CHECK_EQ(c.format, STATS_JSON);
    CHECK_EQ(stats_config_item(&c, "format=csv", err, sizeof(err)), 0);
    CHECK_EQ(c.format, STATS_CSV);
    CHECK_EQ(stats_config_item(&c, "file=/tmp/x.json", err, sizeof(err)), 0);
    CHECK(!strcmp(c.file, "/tmp/x.json"));
    static const char *const bad[] = {"interval=0", "interval=-1", "interval=1x", "interval=",
                                      "interval=99999999999999999999", "format=xml", "file=",
                                      "colour=red", "interval"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (stats_config_item(&c, bad[i], err, sizeof(err)) != -1)
            test_failf(__FILE__, __LINE__, "'%s' accepted", bad[i]);
    char longp[400];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "file=", 5);
    longp[sizeof(longp) - 1] = 0;
    CHECK_EQ(stats_config_item(&c, longp, err, sizeof(err)), -1);
}
