/* SSE/SSE2 float helpers: exact known values everywhere; on x86-64 hosts a
 * differential test against the host's SSE over generated operands, every
 * MXCSR rounding mode with FTZ and DAZ on and off (bits and flags exact). */
#include "test.h"
#include "cpu/sse_fp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(sse_exact_values)
{
    uint32_t m = MXCSR_RESET;
    CHECK_EQ(sse_add_f32(&m, 0x3f800000, 0x3f800000), 0x40000000);   /* 1+1 */
    CHECK_EQ(m, MXCSR_RESET);
    CHECK_EQ(sse_div_f32(&m, 0x3f800000, 0x40400000), 0x3eaaaaab);   /* 1/3 */
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_PE);
    m = MXCSR_RESET | (3u << MXCSR_RC_SHIFT);
    CHECK_EQ(sse_div_f32(&m, 0x3f800000, 0x40400000), 0x3eaaaaaa);
    m = MXCSR_RESET;
    CHECK_EQ(sse_div_f64(&m, 0x3FF0000000000000ull, 0x4008000000000000ull), 0x3FD5555555555555ull);
    CHECK_EQ(sse_sqrt_f64(&m, 0x4000000000000000ull), 0x3FF6A09E667F3BCDull);
    m = MXCSR_RESET;
    /* inf - inf: the default NaN, negative (not ARM's positive one). */
    CHECK_EQ(sse_sub_f32(&m, 0x7f800000, 0x7f800000), F32_INDEFINITE);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_IE);
    m = MXCSR_RESET;
    /* First operand's NaN wins, quieted; IE for the SNaN. */
    CHECK_EQ(sse_add_f32(&m, 0x7f800001, 0x7fc00002), 0x7fc00001);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_IE);
    m = MXCSR_RESET;
    CHECK_EQ(sse_add_f64(&m, 0x3ff0000000000000ull, 0xfff8000000000123ull), 0xfff8000000000123ull);
    CHECK_EQ(m & MXCSR_FLAGS, 0);
    /* min/max return the second operand for NaNs and for two zeros. */
    CHECK_EQ(sse_min_f32(&m, 0x7fc00000, 0x3f800000), 0x3f800000);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_IE);
    CHECK_EQ(sse_min_f32(&m, 0x3f800000, 0x7fc00000), 0x7fc00000);
    CHECK_EQ(sse_max_f32(&m, 0x80000000, 0x00000000), 0x00000000);
    CHECK_EQ(sse_max_f32(&m, 0x00000000, 0x80000000), 0x80000000);
    CHECK_EQ(sse_min_f64(&m, 0xbff0000000000000ull, 0x3ff0000000000000ull), 0xbff0000000000000ull);
    m = MXCSR_RESET;
    CHECK_EQ(sse_cvt_f32_i32(&m, 0x4f000000, false), INT32_MIN);   /* 2^31 */
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_IE);
    m = MXCSR_RESET;
    CHECK_EQ(sse_cvt_f32_i32(&m, 0x40200000, false), 2);            /* 2.5 -> 2 */
    CHECK_EQ(sse_cvt_f32_i32(&m, 0x40600000, false), 4);            /* 3.5 -> 4 */
    CHECK_EQ(sse_cvt_f32_i32(&m, 0xc0600000, true), -3);
    CHECK_EQ(sse_cvt_f64_i64(&m, 0xC3E0000000000000ull, false), INT64_MIN);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_PE);
    m = MXCSR_RESET;
    CHECK_EQ(sse_cvt_i64_f32(&m, INT64_MAX), 0x5f000000);
    CHECK_EQ(sse_cvt_i32_f64(&m, -1), 0xbff0000000000000ull);
    CHECK_EQ(sse_cvt_f64_f32(&m, 0x7ff0000000000001ull), 0x7fc00000);
    CHECK_EQ(sse_cvt_f32_f64(&m, 0xff800001), 0xfff8000020000000ull);
    /* DAZ: a denormal reads as zero without DE; FTZ: tiny results flush. */
    m = MXCSR_RESET | MXCSR_DAZ;
    CHECK_EQ(sse_add_f32(&m, 0x00000001, 0x00000000), 0);
    CHECK_EQ(m & MXCSR_FLAGS, 0);
    m = MXCSR_RESET;
    CHECK_EQ(sse_add_f32(&m, 0x00000001, 0x00000000), 1);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_DE);
    m = MXCSR_RESET | MXCSR_FTZ;
    CHECK_EQ(sse_mul_f32(&m, 0x00800001, 0x3f000000), 0);
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_UE | MXCSR_PE);
    m = MXCSR_RESET;
    CHECK_EQ(sse_comi_f32(&m, 0x3f800000, 0x40000000, true), SSE_RFLAGS_CF);
    CHECK_EQ(sse_comi_f32(&m, 0x7fc00000, 0x40000000, false), SSE_RFLAGS_CF | SSE_RFLAGS_PF | SSE_RFLAGS_ZF);
    CHECK_EQ(m & MXCSR_FLAGS, 0);
    CHECK(sse_cmp_f32(&m, 0x7fc00000, 0, 4));     /* NEQ_UQ: true on NaN */
    CHECK(!sse_cmp_f32(&m, 0x7fc00000, 0, 0));
    CHECK_EQ(m & MXCSR_FLAGS, 0);
    CHECK(!sse_cmp_f32(&m, 0x7fc00000, 0, 1));    /* LT_OS signals */
    CHECK_EQ(m & MXCSR_FLAGS, MXCSR_IE);
    CHECK_EQ(sse_rcp_f32(0), 0x7f800000);
    CHECK_EQ(sse_rsqrt_f32(0xbf800000), F32_INDEFINITE);
}

/* Reciprocal approximations stay within the documented 1.5 * 2^-12. */
TEST(sse_rcp_rsqrt_error_bound)
{
    unsigned long n = 0;
    double worst = 0;
    for (uint32_t m = 0; m < (1u << 23); m += 37) {
        for (int k = 0; k < 2; k++) {
            uint32_t a = ((uint32_t)(127 + k) << 23) | m;
            float x, r, s;
            memcpy(&x, &a, 4);
            uint32_t rb = sse_rcp_f32(a), sb = sse_rsqrt_f32(a);
            memcpy(&r, &rb, 4);
            memcpy(&s, &sb, 4);
            double e1 = fabs((double)r * x - 1.0);
            double e2 = fabs((double)s * sqrt((double)x) - 1.0);
            if (e1 > worst) worst = e1;
            if (e2 > worst) worst = e2;
            n++;
        }
    }
    printf("  rcp/rsqrt: %lu inputs, worst relative error %.3g (bound %.3g)\n",
           n, worst, 1.5 / 4096);
    CHECK(worst <= 1.5 / 4096);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

/* Operands of every class; f64 when wide. */
static uint64_t gen(bool wide)
{
    int fb = wide ? 52 : 23, eb = wide ? 11 : 8;
    uint64_t emax = (1ull << eb) - 1, fm = (1ull << fb) - 1;
    uint64_t r = rnd(), m = rnd() & fm;
    uint64_t s = (r >> 40) & 1;
    uint64_t e;
    switch (r % 16) {
    case 0: e = 0; m = 0; break;
    case 1: e = emax; m = 0; break;
    case 2: e = emax; m = (m & (fm >> 1)) | 1; break;                 /* SNaN */
    case 3: e = emax; m |= 1ull << (fb - 1); break;                   /* QNaN */
    case 4: e = 0; m >>= (r >> 8) % fb; if (!m) m = 1; break;         /* denormal */
    case 5: e = 1 + ((r >> 8) & 3); break;                            /* tiny */
    case 6: e = emax - 1 - ((r >> 8) & 3); break;                     /* huge */
    case 7: e = (emax >> 1) + ((r >> 8) % 40); m &= ~((1ull << ((r >> 16) % fb)) - 1); break;
    case 8: e = 1 + (r >> 8) % (emax - 1); break;                     /* any normal */
    case 9: e = (r >> 8) % (emax >> 2) + 1; break;                   /* small */
    default: e = (emax >> 1) - 30 + ((r >> 8) % 60); break;          /* near 1 */
    }
    return (s << (eb + fb)) | (e << fb) | m;
}

static uint64_t gen_b(uint64_t a, bool wide)
{
    uint64_t r = rnd();
    uint64_t sb = wide ? 1ull << 63 : 1ull << 31;
    switch (r % 5) {
    case 0: return a ^ sb;
    case 1: return a + (r >> 8) % 9 - 4;
    case 2: return (a ^ sb) + ((r >> 16) & 1) - ((r >> 17) & 1) * 2;
    default: return gen(wide);
    }
}

enum { S_ADD, S_SUB, S_MUL, S_DIV, S_SQRT, S_MIN, S_MAX, S_CMP, S_COMI, S_UCOMI,
       S_CVTSI32, S_CVTSI64, S_CVT2SI32, S_CVTT2SI32, S_CVT2SI64, S_CVTT2SI64,
       S_CVTFF, S_ROUND, S_NOPS };
static const char *const sname[S_NOPS] __attribute__((unused)) = {
    "add", "sub", "mul", "div", "sqrt", "min", "max", "cmp", "comi", "ucomi",
    "cvtsi2s(32)", "cvtsi2s(64)", "cvts2si32", "cvtts2si32", "cvts2si64",
    "cvtts2si64", "cvt f32<->f64", "round" };

#if defined(__x86_64__)
/* One scalar instruction on the host with the given MXCSR (all exceptions
 * masked); returns the result bits, *mx gets MXCSR after. */
#define SSE2OP(insn, mov)                                                          \
    __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\t" mov " %[a], %%xmm0\n\t" \
                     mov " %[b], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"            \
                     mov " %%xmm0, %[r]\n\tstmxcsr %[m]\n\tldmxcsr %[save]"       \
                     : [r] "=r"(r), [m] "+m"(mx), [save] "=m"(save)                \
                     : [a] "r"(a), [b] "r"(b) : "xmm0", "xmm1")
#define SSECVT(insn, in, out)                                                      \
    __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\t" in "\n\t"               \
                     insn "\n\t" out "\n\tstmxcsr %[m]\n\tldmxcsr %[save]"        \
                     : [r] "=r"(r), [m] "+m"(mx), [save] "=m"(save)                \
                     : [a] "r"(a) : "xmm0", "xmm1")

static uint64_t native(int op, bool w, uint64_t a, uint64_t b, unsigned imm, uint32_t *mxp)
{
    uint64_t r = 0;
    uint32_t mx = *mxp, save;
    if (!w && op != S_CVTSI64) { a &= 0xffffffff; b &= 0xffffffff; }
    switch (op) {
    case S_ADD: if (w) SSE2OP("addsd", "movq"); else SSE2OP("addss", "movq"); break;
    case S_SUB: if (w) SSE2OP("subsd", "movq"); else SSE2OP("subss", "movq"); break;
    case S_MUL: if (w) SSE2OP("mulsd", "movq"); else SSE2OP("mulss", "movq"); break;
    case S_DIV: if (w) SSE2OP("divsd", "movq"); else SSE2OP("divss", "movq"); break;
    case S_MIN: if (w) SSE2OP("minsd", "movq"); else SSE2OP("minss", "movq"); break;
    case S_MAX: if (w) SSE2OP("maxsd", "movq"); else SSE2OP("maxss", "movq"); break;
    case S_SQRT:
        if (w) SSE2OP("sqrtsd %%xmm0, %%xmm0\n\t#", "movq");
        else SSE2OP("sqrtss %%xmm0, %%xmm0\n\t#", "movq");
        break;
    case S_CMP:
#define CMPC(i) case i: if (w) SSE2OP("cmpsd $" #i ",", "movq"); else SSE2OP("cmpss $" #i ",", "movq"); break;
        switch (imm) { CMPC(0) CMPC(1) CMPC(2) CMPC(3) CMPC(4) CMPC(5) CMPC(6) CMPC(7) }
        r = r & 1;
        break;
    case S_COMI: case S_UCOMI: {
        uint64_t fl;
        const bool u = op == S_UCOMI;
#define COMI(insn)                                                                        \
        __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\tmovq %[a], %%xmm0\n\t"       \
                         "movq %[b], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\tpushfq\n\t"   \
                         "popq %[f]\n\tstmxcsr %[m]\n\tldmxcsr %[save]"                 \
                         : [f] "=r"(fl), [m] "+m"(mx), [save] "=m"(save)                 \
                         : [a] "r"(a), [b] "r"(b) : "xmm0", "xmm1", "cc")
        if (w) { if (u) COMI("ucomisd"); else COMI("comisd"); }
        else { if (u) COMI("ucomiss"); else COMI("comiss"); }
        r = fl & (SSE_RFLAGS_CF | SSE_RFLAGS_PF | SSE_RFLAGS_ZF);
        break;
    }
    case S_CVTSI32:
        if (w) SSECVT("cvtsi2sdl %k[a], %%xmm0", "", "movq %%xmm0, %[r]");
        else SSECVT("cvtsi2ssl %k[a], %%xmm0", "", "movd %%xmm0, %k[r]");
        break;
    case S_CVTSI64:
        if (w) SSECVT("cvtsi2sdq %[a], %%xmm0", "", "movq %%xmm0, %[r]");
        else SSECVT("cvtsi2ssq %[a], %%xmm0", "", "movd %%xmm0, %k[r]");
        break;
    case S_CVT2SI32:
        if (w) SSECVT("cvtsd2si %%xmm0, %k[r]", "movq %[a], %%xmm0", "");
        else SSECVT("cvtss2si %%xmm0, %k[r]", "movq %[a], %%xmm0", "");
        r &= 0xffffffff;
        break;
    case S_CVTT2SI32:
        if (w) SSECVT("cvttsd2si %%xmm0, %k[r]", "movq %[a], %%xmm0", "");
        else SSECVT("cvttss2si %%xmm0, %k[r]", "movq %[a], %%xmm0", "");
        r &= 0xffffffff;
        break;
    case S_CVT2SI64:
        if (w) SSECVT("cvtsd2si %%xmm0, %[r]", "movq %[a], %%xmm0", "");
        else SSECVT("cvtss2si %%xmm0, %[r]", "movq %[a], %%xmm0", "");
        break;
    case S_CVTT2SI64:
        if (w) SSECVT("cvttsd2si %%xmm0, %[r]", "movq %[a], %%xmm0", "");
        else SSECVT("cvttss2si %%xmm0, %[r]", "movq %[a], %%xmm0", "");
        break;
    case S_ROUND:
#define RNDC(i) case i: if (w) SSE2OP("roundsd $" #i ",", "movq"); else SSE2OP("roundss $" #i ",", "movq"); break;
        /* roundss $imm, %xmm1, %xmm0 rounds xmm1 into xmm0: pass a as b. */
        b = a;
        switch (imm) { RNDC(0) RNDC(1) RNDC(2) RNDC(3) RNDC(4) RNDC(8) RNDC(9) RNDC(10) RNDC(11) default: RNDC(12) }
        break;
    case S_CVTFF:   /* w: f64 -> f32, else f32 -> f64 */
        if (w) SSECVT("cvtsd2ss %%xmm0, %%xmm0", "movq %[a], %%xmm0", "movd %%xmm0, %k[r]");
        else SSECVT("cvtss2sd %%xmm0, %%xmm0", "movq %[a], %%xmm0", "movq %%xmm0, %[r]");
        break;
    }
    *mxp = mx;
    return r;
}

#endif

static uint64_t soft(int op, bool w, uint64_t a, uint64_t b, unsigned imm, uint32_t *m)
{
    uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
    switch (op) {
    case S_ADD: return w ? sse_add_f64(m, a, b) : sse_add_f32(m, a32, b32);
    case S_SUB: return w ? sse_sub_f64(m, a, b) : sse_sub_f32(m, a32, b32);
    case S_MUL: return w ? sse_mul_f64(m, a, b) : sse_mul_f32(m, a32, b32);
    case S_DIV: return w ? sse_div_f64(m, a, b) : sse_div_f32(m, a32, b32);
    case S_SQRT: return w ? sse_sqrt_f64(m, a) : sse_sqrt_f32(m, a32);
    case S_MIN: return w ? sse_min_f64(m, a, b) : sse_min_f32(m, a32, b32);
    case S_MAX: return w ? sse_max_f64(m, a, b) : sse_max_f32(m, a32, b32);
    case S_CMP: return w ? sse_cmp_f64(m, a, b, imm) : sse_cmp_f32(m, a32, b32, imm);
    case S_COMI: return w ? sse_comi_f64(m, a, b, true) : sse_comi_f32(m, a32, b32, true);
    case S_UCOMI: return w ? sse_comi_f64(m, a, b, false) : sse_comi_f32(m, a32, b32, false);
    case S_CVTSI32: return w ? sse_cvt_i32_f64(m, (int32_t)a32) : sse_cvt_i32_f32(m, (int32_t)a32);
    case S_CVTSI64: return w ? sse_cvt_i64_f64(m, (int64_t)a) : sse_cvt_i64_f32(m, (int64_t)a);
    case S_CVT2SI32: return (uint32_t)(w ? sse_cvt_f64_i32(m, a, false) : sse_cvt_f32_i32(m, a32, false));
    case S_CVTT2SI32: return (uint32_t)(w ? sse_cvt_f64_i32(m, a, true) : sse_cvt_f32_i32(m, a32, true));
    case S_CVT2SI64: return (uint64_t)(w ? sse_cvt_f64_i64(m, a, false) : sse_cvt_f32_i64(m, a32, false));
    case S_CVTT2SI64: return (uint64_t)(w ? sse_cvt_f64_i64(m, a, true) : sse_cvt_f32_i64(m, a32, true));
    case S_CVTFF: return w ? sse_cvt_f64_f32(m, a) : sse_cvt_f32_f64(m, a32);
    case S_ROUND: return w ? sse_round_f64(m, a, imm) : sse_round_f32(m, a32, imm);
    }
    return 0;
}

#if defined(__x86_64__)
TEST(sse_vs_host)
{
    const char *e = getenv("TREMU_FP_SCALE");
    int scale = e && atoi(e) > 0 ? atoi(e) : 1;
    unsigned long cases = 0;
    for (int op = 0; op < S_NOPS; op++) {
        int shown = 0;
        for (int i = 0; i < 4000 * scale; i++) {
            bool w = i & 1;
            uint64_t a = gen(w), b = gen_b(a, w);
            if (op == S_CVTSI32 || op == S_CVTSI64)
                a = rnd() >> (rnd() % 64) ^ (rnd() & 1 ? ~0ull : 0);
            unsigned imm = (unsigned)(rnd() & 7);
            if (op == S_ROUND) imm = (unsigned)(rnd() % 5) | (rnd() & 1 ? 8 : 0);
            for (unsigned mode = 0; mode < 16; mode++) {
                uint32_t mx = MXCSR_MASKS | ((mode & 3) << MXCSR_RC_SHIFT) |
                              (mode & 4 ? MXCSR_FTZ : 0) | (mode & 8 ? MXCSR_DAZ : 0);
                uint32_t mn = mx, ms = mx;
                uint64_t rn = native(op, w, a, b, imm, &mn);
                uint64_t rs = soft(op, w, a, b, imm, &ms);
                cases++;
                if ((rn != rs || mn != ms) && shown++ < 3)
                    printf("  %s%s imm=%u mxcsr=%04x a=%llx b=%llx: host %llx mxcsr %04x, soft %llx mxcsr %04x\n",
                           sname[op], w ? "(f64)" : "(f32)", imm, mx, (unsigned long long)a,
                           (unsigned long long)b, (unsigned long long)rn, mn,
                           (unsigned long long)rs, ms);
            }
        }
        if (shown) {
            printf("  %s: %d mismatches\n", sname[op], shown);
            test_fail(__FILE__, __LINE__, sname[op]);
        }
    }
    printf("  sse_vs_host: %lu cases\n", cases);
}

/* Unmasked exceptions: the host faults (#XM -> SIGFPE); the MXCSR in the
 * signal frame holds the flags the instruction set.  The helpers must
 * report exactly those flags, and a trap exactly when the host faults. */
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

static sigjmp_buf xm_jb;
static volatile uint32_t xm_mxcsr, xm_save, xm_m;
static volatile uint64_t xm_a, xm_b, xm_r;

static void xm_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    xm_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    siglongjmp(xm_jb, 1);
}

/* Runs operation sel on the host with MXCSR mx; returns true if it
 * faulted.  Only globals cross the longjmp. */
static __attribute__((noinline)) bool xm_native(int sel, uint32_t mx)
{
    xm_m = mx;
    if (sigsetjmp(xm_jb, 1)) {
        uint32_t restore = xm_save;
        __asm__ volatile("ldmxcsr %0" :: "m"(restore));
        return true;
    }
#define XMI(insn) __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\tmovq %[a], %%xmm0\n\t"      \
                                   "movq %[b], %%xmm1\n\t" insn "\n\t"                             \
                                   "movq %%xmm0, %[r]\n\tstmxcsr %[m]\n\tldmxcsr %[save]"         \
                                   : [r] "=m"(xm_r), [m] "+m"(xm_m), [save] "=m"(xm_save)         \
                                   : [a] "m"(xm_a), [b] "m"(xm_b) : "xmm0", "xmm1", "memory")
    switch (sel) {
    case 0: XMI("addss %%xmm1, %%xmm0"); break;
    case 1: XMI("addsd %%xmm1, %%xmm0"); break;
    case 2: XMI("mulss %%xmm1, %%xmm0"); break;
    case 3: XMI("mulsd %%xmm1, %%xmm0"); break;
    case 4: XMI("divss %%xmm1, %%xmm0"); break;
    case 5: XMI("divsd %%xmm1, %%xmm0"); break;
    case 6: XMI("sqrtss %%xmm0, %%xmm0"); break;
    case 7: XMI("sqrtsd %%xmm0, %%xmm0"); break;
    case 8: XMI("cvtss2sd %%xmm0, %%xmm0"); break;
    default: XMI("cvtsd2ss %%xmm0, %%xmm0"); break;
    }
    return false;
}

TEST(sse_unmasked_vs_host)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = xm_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, &old);
    const char *e = getenv("TREMU_FP_SCALE");
    int scale = e && atoi(e) > 0 ? atoi(e) : 1;
    unsigned long cases = 0, faults = 0;
    int shown = 0;
    for (int i = 0; i < 20000 * scale; i++) {
        bool w = i & 1;
        uint64_t a = gen(w), b = gen_b(a, w);
        if (!w) { a &= 0xffffffff; b &= 0xffffffff; }
        int op = (int)(rnd() % 5);
        uint32_t mx = ((uint32_t)(rnd() & 0x3f) << 7) | ((uint32_t)(rnd() & 3) << MXCSR_RC_SHIFT) |
                      (rnd() & 1 ? MXCSR_FTZ : 0) | (rnd() & 1 ? MXCSR_DAZ : 0);
        xm_a = a;
        xm_b = b;
        bool faulted = xm_native(op * 2 + w, mx);
        uint64_t host_r = xm_r;
        uint32_t host_m = faulted ? xm_mxcsr : xm_m;
        uint32_t sm = mx;
        uint64_t sr;
        switch (op * 2 + w) {
        case 0: sr = sse_add_f32(&sm, (uint32_t)a, (uint32_t)b); break;
        case 1: sr = sse_add_f64(&sm, a, b); break;
        case 2: sr = sse_mul_f32(&sm, (uint32_t)a, (uint32_t)b); break;
        case 3: sr = sse_mul_f64(&sm, a, b); break;
        case 4: sr = sse_div_f32(&sm, (uint32_t)a, (uint32_t)b); break;
        case 5: sr = sse_div_f64(&sm, a, b); break;
        case 6: sr = sse_sqrt_f32(&sm, (uint32_t)a); break;
        case 7: sr = sse_sqrt_f64(&sm, a); break;
        case 8: sr = sse_cvt_f32_f64(&sm, (uint32_t)a); break;
        default: sr = sse_cvt_f64_f32(&sm, a); break;
        }
        bool soft_trap = (sm & MXCSR_FLAGS) & ~(mx >> 7);
        cases++;
        faults += faulted;
        /* Result width: f64 for the sd forms and cvtss2sd, else f32. */
        bool r64 = op == 4 ? !w : w;
        bool ok = faulted == soft_trap && host_m == sm &&
                  (faulted || (r64 ? host_r == sr : (uint32_t)host_r == (uint32_t)sr));
        if (!ok && shown++ < 4)
            printf("  unmasked op %d w=%d mxcsr=%04x a=%llx b=%llx: host %s r=%llx mxcsr %04x, soft r=%llx mxcsr %04x\n",
                   op, w, mx, (unsigned long long)a, (unsigned long long)b, faulted ? "#XM" : "ok",
                   (unsigned long long)host_r, host_m, (unsigned long long)sr, sm);
    }
    sigaction(SIGFPE, &old, NULL);
    printf("  sse_unmasked_vs_host: %lu cases, %lu faults\n", cases, faults);
    CHECK_EQ(shown, 0);
}

/* The VEX compare predicates 8..31 (VCMPSS/VCMPSD) need AVX on the host. */
TEST(sse_cmp_predicates_vs_host_avx)
{
    if (!__builtin_cpu_supports("avx")) { test_skip("host has no AVX"); return; }
    unsigned long cases = 0;
    int shown = 0;
    for (int i = 0; i < 20000; i++) {
        bool w = i & 1;
        uint64_t a = gen(w), b = gen_b(a, w), r = 0;
        if (!w) { a &= 0xffffffff; b &= 0xffffffff; }
        unsigned imm = (unsigned)(rnd() & 31);
        uint32_t mx = MXCSR_MASKS | (rnd() & 1 ? MXCSR_DAZ : 0), save, ms = mx;
#define VC(k) case k:                                                                     \
        if (w) __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\tvmovq %[a], %%xmm0\n\t"    \
                                "vmovq %[b], %%xmm1\n\tvcmpsd $" #k ", %%xmm1, %%xmm0, %%xmm0\n\t" \
                                "vmovq %%xmm0, %[r]\n\tstmxcsr %[m]\n\tldmxcsr %[save]"          \
                                : [r] "=r"(r), [m] "+m"(mx), [save] "=m"(save)                \
                                : [a] "r"(a), [b] "r"(b) : "xmm0", "xmm1");                   \
        else __asm__ volatile("stmxcsr %[save]\n\tldmxcsr %[m]\n\tvmovq %[a], %%xmm0\n\t"      \
                              "vmovq %[b], %%xmm1\n\tvcmpss $" #k ", %%xmm1, %%xmm0, %%xmm0\n\t"   \
                              "vmovq %%xmm0, %[r]\n\tstmxcsr %[m]\n\tldmxcsr %[save]"            \
                              : [r] "=r"(r), [m] "+m"(mx), [save] "=m"(save)                  \
                              : [a] "r"(a), [b] "r"(b) : "xmm0", "xmm1");                     \
        break;
        switch (imm) {
        VC(0) VC(1) VC(2) VC(3) VC(4) VC(5) VC(6) VC(7) VC(8) VC(9) VC(10) VC(11) VC(12) VC(13)
        VC(14) VC(15) VC(16) VC(17) VC(18) VC(19) VC(20) VC(21) VC(22) VC(23) VC(24) VC(25)
        VC(26) VC(27) VC(28) VC(29) VC(30) default: VC(31)
        }
        bool hr = r & 1;
        bool sr = w ? sse_cmp_f64(&ms, a, b, imm) : sse_cmp_f32(&ms, (uint32_t)a, (uint32_t)b, imm);
        cases++;
        if ((hr != sr || mx != ms) && shown++ < 3)
            printf("  vcmp%s $%u a=%llx b=%llx: host %d/%04x soft %d/%04x\n", w ? "sd" : "ss", imm,
                   (unsigned long long)a, (unsigned long long)b, hr, mx, sr, ms);
    }
    printf("  sse_cmp_predicates_vs_host_avx: %lu cases\n", cases);
    CHECK_EQ(shown, 0);
}

#else
TEST(sse_vs_host) { test_skip("host is not x86-64: no native SSE oracle"); }
TEST(sse_cmp_predicates_vs_host_avx) { test_skip("host is not x86-64: no native SSE oracle"); }
TEST(sse_unmasked_vs_host) { test_skip("host is not x86-64: no native SSE oracle"); }
#endif

/* The soft reference and the host fast path agree (RC nearest, where the
 * fast path runs), and RCP/RSQRT match the host's table within a bound. */
TEST(sse_fast_path_vs_soft)
{
    unsigned long cases = 0, bad = 0;
    for (int i = 0; i < 200000; i++) {
        bool w = i & 1;
        uint64_t a = gen(w), b = gen_b(a, w);
        unsigned op = (unsigned)(rnd() % 5);
        uint32_t m1 = MXCSR_RESET, m2 = MXCSR_RESET;
        uint64_t r1 = soft(op == 4 ? S_SQRT : (int)op, w, a, b, 0, &m1);
        uint64_t r2 = sse_fp_soft_arith(op, w, &m2, w ? a : (uint32_t)a, w ? b : (uint32_t)b);
        cases++;
        if ((r1 != r2 || m1 != m2) && bad++ < 3)
            printf("  op %u w=%d a=%llx b=%llx: api %llx/%04x soft %llx/%04x\n", op, w,
                   (unsigned long long)a, (unsigned long long)b, (unsigned long long)r1, m1,
                   (unsigned long long)r2, m2);
    }
    CHECK_EQ(bad, 0);
    printf("  sse_fast_path_vs_soft: %lu cases\n", cases);
}

#if defined(__x86_64__)
TEST(sse_rcp_vs_host)
{
    unsigned long n = 0, exact = 0, bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint32_t a = (uint32_t)gen(false);
        uint32_t r1, r2, q1, q2;
        __asm__("movd %[a], %%xmm0\n\trcpss %%xmm0, %%xmm1\n\trsqrtss %%xmm0, %%xmm2\n\t"
                "movd %%xmm1, %[r]\n\tmovd %%xmm2, %[q]"
                : [r] "=r"(r1), [q] "=r"(q1) : [a] "r"(a) : "xmm0", "xmm1", "xmm2");
        r2 = sse_rcp_f32(a);
        q2 = sse_rsqrt_f32(a);
        n += 2;
        exact += (r1 == r2) + (q1 == q2);
        /* The tables differ between CPU vendors (Intel and AMD give
         * different bits): where the host's result is a finite non-zero
         * number, ours must meet the architectural bound, |relative
         * error| <= 1.5 * 2^-12 of the exact value (SDM vol. 2, RCPSS and
         * RSQRTSS), not match this host's table. Elsewhere (zero,
         * infinity, NaN, flushed denormals) the result is defined exactly. */
        for (int k = 0; k < 2; k++) {
            uint32_t h = k ? q1 : r1, s = k ? q2 : r2;
            float fh, fs, fa;
            memcpy(&fh, &h, 4);
            memcpy(&fs, &s, 4);
            memcpy(&fa, &a, 4);
            double exact = k ? 1 / sqrt((double)fa) : 1 / (double)fa;
            bool ok = h == s || (isfinite(fh) && fh != 0 && isfinite(fs) && fs != 0 &&
                                 fabs((double)fs / exact - 1) <= 1.5 / 4096);
            if (!ok && bad++ < 3)
                printf("  %s(%08x): host %08x soft %08x\n", k ? "rsqrt" : "rcp", a, h, s);
        }
    }
    printf("  rcp/rsqrt vs host: %lu cases, %lu bit-exact\n", n, exact);
    CHECK_EQ(bad, 0);
}

#else
TEST(sse_rcp_vs_host) { test_skip("host is not x86-64: no native SSE oracle"); }
#endif

/* Cross-host determinism: a digest of many results and flags of both
 * libraries, every rounding mode, FTZ/DAZ and precision control.  The
 * constant was recorded on x86-64 and must come out the same on any host
 * (ARM64 included): a mismatch means a host dependency crept in. */
#include "cpu/fp80.h"

static uint64_t dg_state = 0x0123456789ABCDEFull;
static uint64_t dg_rnd(void)
{
    uint64_t x = dg_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return dg_state = x;
}
static uint64_t dg_mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) { h ^= (v >> (8 * i)) & 0xff; h *= 0x100000001b3ull; }
    return h;
}
static uint64_t dg_bits(bool wide)
{
    /* Bias towards interesting exponents: full random, near 1, extremes. */
    uint64_t r = dg_rnd(), v = dg_rnd();
    int eb = wide ? 11 : 8, fb = wide ? 52 : 23;
    uint64_t emax = (1ull << eb) - 1;
    uint64_t e = r % 4 == 0 ? (r >> 8) % (emax + 1) : r % 4 == 1 ? (r >> 8) % 3 + (r & 64 ? emax - 2 : 0)
                                                                  : (emax >> 1) - 20 + (r >> 8) % 40;
    return (v & ((1ull << fb) - 1)) | (e << fb) | ((r >> 20 & 1) << (eb + fb));
}
static fp80 dg_fp80(void)
{
    uint64_t r = dg_rnd(), m = dg_rnd();
    uint16_t e = r % 3 == 0 ? (uint16_t)(r >> 8) : (uint16_t)(0x3fff - 40 + (r >> 8) % 80);
    if (r % 7 == 0) m &= ~(1ull << 63);
    return fp80_make((r >> 30) & 1, e & 0x7fff, m | (r % 7 ? 1ull << 63 : 0));
}

TEST(fp_cross_host_digest)
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned long n = 0;
    for (int i = 0; i < 20000; i++) {
        bool w = i & 1;
        uint64_t a = dg_bits(w), b = dg_bits(w);
        uint32_t mx = MXCSR_MASKS | (uint32_t)(dg_rnd() & 3) << MXCSR_RC_SHIFT |
                      (dg_rnd() & 1 ? MXCSR_FTZ : 0) | (dg_rnd() & 1 ? MXCSR_DAZ : 0);
        for (unsigned op = 0; op < 5; op++) {
            uint32_t m = mx;
            uint64_t r;
            if (w) {
                switch (op) {
                case 0: r = sse_add_f64(&m, a, b); break;
                case 1: r = sse_mul_f64(&m, a, b); break;
                case 2: r = sse_div_f64(&m, a, b); break;
                case 3: r = sse_sqrt_f64(&m, a); break;
                default: r = sse_cvt_f64_f32(&m, a); break;
                }
            } else {
                switch (op) {
                case 0: r = sse_sub_f32(&m, (uint32_t)a, (uint32_t)b); break;
                case 1: r = sse_mul_f32(&m, (uint32_t)a, (uint32_t)b); break;
                case 2: r = sse_div_f32(&m, (uint32_t)a, (uint32_t)b); break;
                case 3: r = sse_sqrt_f32(&m, (uint32_t)a); break;
                default: r = (uint64_t)sse_cvt_f32_i64(&m, (uint32_t)a, false); break;
                }
            }
            h = dg_mix(dg_mix(h, r), m);
            n++;
        }
        fp80 x = dg_fp80(), y = dg_fp80(), r1, r2;
        uint16_t fcw = (uint16_t)(0x7f | (dg_rnd() & 0xf00));
        for (unsigned op = 0; op < 8; op++) {
            struct fp_ctx c = fp_ctx_from_fcw(fcw);
            uint16_t cc = 0;
            r2 = fp80_make(false, 0, 0);
            switch (op) {
            case 0: r1 = fp80_add(&c, x, y); break;
            case 1: r1 = fp80_div(&c, x, y); break;
            case 2: r1 = fp80_sqrt(&c, x); break;
            case 3: r1 = fp80_rem(&c, x, y, i & 2, &cc); break;
            case 4: r1 = fp80_fyl2x(&c, x, y); break;
            case 5: r1 = fp80_fpatan(&c, x, y); break;
            case 6: r1 = x; fp80_fsincos(&c, x, &r1, &r2); break;
            default: r1 = fp80_f2xm1(&c, fp80_make(x.sexp >> 15, 0x3ffe - (x.sexp & 63), x.mant | 1ull << 63)); break;
            }
            h = dg_mix(dg_mix(dg_mix(h, r1.mant), (uint64_t)r1.sexp << 32 | c.flags | (uint64_t)cc << 16),
                       r2.mant ^ r2.sexp);
            n++;
        }
    }
    printf("  fp_cross_host_digest: %lu results, digest %016llx\n", n, (unsigned long long)h);
    CHECK_EQ(h, 0x2b891fbaba49d217ull);
}
