/* UMIP (CR4.UMIP, CPUID.7.0:ECX[2]) and the Popek–Goldberg mode (cpu/pg.c)
 * on the fake bus: flat 32-bit protected mode with no IDT, so any fault
 * escalates to a triple fault (CPU_STOP_SHUTDOWN) and the absence of one
 * lets the code run into its HLT or its `jmp $` (budget). */
#include "tests/unit/test.h"
#include "tests/unit/fake_bus.h"
#include "accel/accel.h"
#include <stdlib.h>
#include <string.h>

/* Runs code at 0x7c00 in flat 32-bit mode at CPL cpl with CR4 = cr4. */
static enum cpu_stop run_at(struct fake *f, const uint8_t *code, size_t n, unsigned cpl,
                            uint64_t cr4, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_flat32(st, cpl ? 0x1b : 0x08, cpl ? 0x23 : 0x10);
    if (cpl) {
        for (int s = 0; s < SEG_COUNT; s++)
            st->seg[s].attr |= 3u << 5;     /* DPL 3 */
    }
    st->gdtr.base = 0x1000;
    st->gdtr.limit = 0x2f;
    st->cr4 = cr4;
    st->rip = 0x7c00;
    st->gpr[R_ESP] = 0x9000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 1000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}

static uint32_t cpuid7_ecx(struct fake *f)
{
    static const uint8_t code[] = {0xb8, 7, 0, 0, 0, 0x31, 0xc9, 0x0f, 0xa2, 0xf4}; /* cpuid; hlt */
    struct x86_state st;
    run_at(f, code, sizeof(code), 0, 0, &st);
    return (uint32_t)st.gpr[R_ECX];
}

TEST(cpu_umip_cpuid_bit_only_when_offered)
{
    struct fake *f = fake_new();
    CHECK_EQ(cpuid7_ecx(f) & 4, 0);
    cpu_set_features(f->cpu, CPU_FEAT_UMIP);
    CHECK_EQ(cpuid7_ecx(f) & 4, 4);
    fake_free(f);
}

/* mov eax, cr4; or eax, 0x800; mov cr4, eax; hlt */
static const uint8_t set_umip[] = {0x0f, 0x20, 0xe0, 0x0d, 0x00, 0x08, 0x00, 0x00, 0x0f, 0x22, 0xe0, 0xf4};

TEST(cpu_umip_cr4_is_gp_unless_offered)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_at(f, set_umip, sizeof(set_umip), 0, 0, &st), CPU_STOP_SHUTDOWN);
    cpu_set_features(f->cpu, CPU_FEAT_UMIP);
    CHECK_EQ(run_at(f, set_umip, sizeof(set_umip), 0, 0, &st), CPU_STOP_HLT);
    CHECK(st.cr4 & CR4_UMIP);
    fake_free(f);
}

TEST(cpu_umip_faults_table_reads_at_cpl3_only)
{
    static const uint8_t sgdt[] = {0x0f, 0x01, 0x05, 0x00, 0x80, 0x00, 0x00, 0xeb, 0xfe};
    static const uint8_t sidt[] = {0x0f, 0x01, 0x0d, 0x00, 0x80, 0x00, 0x00, 0xeb, 0xfe};
    static const uint8_t sldt[] = {0x0f, 0x00, 0xc0, 0xeb, 0xfe};      /* sldt eax */
    static const uint8_t str[] = {0x0f, 0x00, 0xc8, 0xeb, 0xfe};       /* str eax */
    static const uint8_t smsw[] = {0x0f, 0x01, 0xe0, 0xeb, 0xfe};      /* smsw eax */
    static const uint8_t sgdt_hlt[] = {0x0f, 0x01, 0x05, 0x00, 0x80, 0x00, 0x00, 0xf4};
    const struct { const uint8_t *c; size_t n; } cases[] = {
        {sgdt, sizeof(sgdt)}, {sidt, sizeof(sidt)}, {sldt, sizeof(sldt)},
        {str, sizeof(str)}, {smsw, sizeof(smsw)},
    };
    struct fake *f = fake_new();
    cpu_set_features(f->cpu, CPU_FEAT_UMIP);
    struct x86_state st;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        /* CPL 3: #GP(0) with UMIP, runs without. */
        CHECK_EQ(run_at(f, cases[k].c, cases[k].n, 3, CR4_UMIP, &st), CPU_STOP_SHUTDOWN);
        CHECK_EQ(run_at(f, cases[k].c, cases[k].n, 3, 0, &st), CPU_STOP_BUDGET);
    }
    /* CPL 0 with UMIP: no fault, and SGDT stored the GDTR. */
    CHECK_EQ(run_at(f, sgdt_hlt, sizeof(sgdt_hlt), 0, CR4_UMIP, &st), CPU_STOP_HLT);
    uint16_t lim;
    uint32_t base;
    memcpy(&lim, f->ram + 0x8000, 2);
    memcpy(&base, f->ram + 0x8002, 4);
    CHECK_EQ(lim, 0x2f);
    CHECK_EQ(base, 0x1000);
    fake_free(f);
}

/* sgdt [0x8000]; push 0x202; popf; pushf; pop ebx; cli; hlt -- at CPL 0, IF=0. */
static const uint8_t pg_code[] = {
    0x0f, 0x01, 0x05, 0x00, 0x80, 0x00, 0x00,
    0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0x9c, 0x5b, 0xfa, 0xf4,
};

static void pg_run_code(enum cpu_pg_mode mode, struct x86_state *st, uint8_t *gdtr6, char *log,
                        size_t loglen, char *first, size_t firstlen)
{
    struct fake *f = fake_new();
    /* jit=verify runs each block twice, and pg counts both runs (as the
     * docs say): exact counts want one run, translated or not. */
    const char *jm = getenv("TREMU_TEST_JIT");
    if (jm && !strcmp(jm, "verify"))
        cpu_set_jit(f->cpu, CPU_JIT_ON, 0);
    FILE *lf = tmpfile();
    struct cpu_pg_config pc = {.mode = mode, .log = lf};
    cpu_set_pg(f->cpu, &pc);
    run_at(f, pg_code, sizeof(pg_code), 0, 0, st);
    memcpy(gdtr6, f->ram + 0x8000, 6);
    first[0] = 0;
    cpu_pg_divergence(f->cpu, first, firstlen);
    struct cpu *cs[1] = {f->cpu};
    cpu_pg_summary(cs, 1, lf);
    rewind(lf);
    size_t n = fread(log, 1, loglen - 1, lf);
    log[n] = 0;
    fclose(lf);
    fake_free(f);
}

TEST(cpu_pg_log_keeps_results_and_counts)
{
    struct x86_state st;
    uint8_t g[6];
    static char log[16384];
    char first[512];
    pg_run_code(CPU_PG_LOG, &st, g, log, sizeof(log), first, sizeof(first));
    CHECK_EQ(g[0] | g[1] << 8, 0x2f);               /* the guest's own GDTR */
    CHECK_EQ(st.gpr[R_EBX] & 0x200, 0x200);         /* POPF set IF, PUSHF saw it */
    CHECK(strstr(log, "SGDT") && strstr(log, "silently wrong"));
    CHECK(strstr(log, "keeps IF=0"));               /* POPF's dropped IF change */
    /* Summary rows: SGDT once at CPL 0, silently wrong; CLI a trap. */
    CHECK(strstr(log, "SGDT            sensitive              1            0            0              1"));
    CHECK(strstr(log, "CLI             privileged             1            0            1              0"));
    CHECK(strstr(first, "SGDT"));
}

TEST(cpu_pg_naive_gives_deprivileged_results)
{
    struct x86_state st;
    uint8_t g[6];
    static char log[16384];
    char first[512];
    pg_run_code(CPU_PG_NAIVE, &st, g, log, sizeof(log), first, sizeof(first));
    CHECK_EQ(g[0] | g[1] << 8, 0xffff);             /* the VMM's GDTR */
    CHECK_EQ(g[2] | g[3] << 8 | g[4] << 16 | (uint32_t)g[5] << 24, 0xffc00000u);
    /* POPF could not set IF (still 0 after it); PUSHF shows the real IF=1. */
    CHECK_EQ(st.gpr[R_EBX] & 0x200, 0x200);
    CHECK(strstr(log, "diverges here: SGDT"));
    CHECK(strstr(first, "SGDT at 0008:00007c00"));
}

TEST(cpu_pg_naive_popf_cannot_set_if)
{
    /* push 0x202; popf; hlt: natively IF=1 before HLT; naive keeps IF=0. */
    static const uint8_t code[] = {0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0xf4};
    struct fake *f = fake_new();
    FILE *lf = tmpfile();
    struct cpu_pg_config pc = {.mode = CPU_PG_NAIVE, .log = lf};
    cpu_set_pg(f->cpu, &pc);
    struct x86_state st;
    run_at(f, code, sizeof(code), 0, 0, &st);
    CHECK_EQ(st.rflags & RFLAGS_IF, 0);
    fclose(lf);
    fake_free(f);
    f = fake_new();
    run_at(f, code, sizeof(code), 0, 0, &st);
    CHECK_EQ(st.rflags & RFLAGS_IF, RFLAGS_IF);
    fake_free(f);
}

TEST(accel_parse_pg_options)
{
    struct accel_config c = {0};
    char err[256];
    CHECK_EQ(accel_parse(&c, "tcg,pg=naive,pg-timeout=5", err, sizeof(err)), 0);
    CHECK_EQ(c.pg, ACCEL_PG_NAIVE);
    CHECK_EQ(c.pg_timeout, 5);
    struct accel_config d = {0};
    CHECK_EQ(accel_parse(&d, "tcg,pg=log", err, sizeof(err)), 0);
    CHECK_EQ(d.pg, ACCEL_PG_LOG);
    struct accel_config e = {0};
    CHECK_EQ(accel_parse(&e, "tcg,pg=maybe", err, sizeof(err)), -1);
    CHECK(strstr(err, "'pg'"));
    CHECK_EQ(accel_parse(&e, "tcg,pg-timeout=0", err, sizeof(err)), -1);
}
