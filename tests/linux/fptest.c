/* fptest: floating point and vector code the way userspace runs it.
 *
 * Built on the host with `gcc -static -O2` and run twice: natively (the oracle)
 * and inside the guest under tremu's software CPU. Every check prints one
 * deterministic line; tests/linux/run.sh compares the two outputs line by line.
 * Inputs come through volatile variables so that gcc cannot fold the calls at
 * compile time: the point is to execute x87, SSE and SSE2 code in the guest
 * (glibc's libm, printf/strtod, and its SSE2 string functions).
 *
 * The host picks glibc's AVX2/FMA variants unless run.sh masks them with
 * GLIBC_TUNABLES; it does, so both sides run the same SSE2 code paths.
 */
#include <emmintrin.h>
#include <fenv.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned checks;

#define LINE(...) do { printf(__VA_ARGS__); putchar('\n'); checks++; } while (0)

static volatile double vd[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1e-310, 2.5, 3.0, 1e300, -7.25, 123456.789,
    3.141592653589793, 1e-5, 700.0, -745.0, 0.7071067811865476, 1e22, 5e-324,
};
#define NVD (sizeof(vd) / sizeof(vd[0]))

static volatile float vf[] = { 0.1f, 1.0f / 3.0f, -2.75f, 1e30f, 1e-40f, 16777217.0f, 3.5f };
#define NVF (sizeof(vf) / sizeof(vf[0]))

static volatile long double vl[] = { 1.0L, 0.1L, 2.0L, -3.5L, 1e4000L, 1e-4000L, 12345.6789L };
#define NVL (sizeof(vl) / sizeof(vl[0]))

static void test_double_arith(void)
{
    for (unsigned i = 0; i < NVD; i++) {
        double a = vd[i], b = vd[(i + 5) % NVD];
        LINE("dbl %u: %.17g %.17g %.17g %.17g | %a %a", i, a + b, a - b, a * b, b != 0 ? a / b : 0.0,
             a * 3.0 + b, a / 7.0);
    }
    /* A classic accumulation: harmonic sum and a Kahan-compensated sum. */
    volatile double n = 100000;
    double s = 0, k = 0, c = 0;
    for (double i = 1; i <= n; i++) {
        s += 1.0 / i;
        double y = 1.0 / (i * i) - c, t = k + y;
        c = (t - k) - y;
        k = t;
    }
    LINE("dbl sums: %.17g %.17g", s, k);
    /* Denormals, infinities, NaN propagation, signed zero. */
    volatile double tiny = DBL_MIN, big = DBL_MAX, z = 0.0;
    LINE("dbl edge: %a %a %g %g %g %g", tiny / 3.0, tiny * 0.5, big * 2.0, -big * 2.0, z / z == z / z ? 1.0 : 0.0,
         copysign(1.0, -z * 1.0));
}

static void test_float_arith(void)
{
    for (unsigned i = 0; i < NVF; i++) {
        float a = vf[i], b = vf[(i + 2) % NVF];
        LINE("flt %u: %.9g %.9g %.9g %.9g %a %.9g", i, (double)(a + b), (double)(a - b), (double)(a * b),
             (double)(a / b), (double)(a * a), (double)sqrtf(fabsf(a)));
    }
    volatile float acc = 0;
    for (int i = 0; i < 10000; i++)
        acc += 0.1f;
    LINE("flt acc: %.9g", (double)acc);
}

static void test_strtod(void)
{
    static const char *const s[] = {
        "0.1", "1e23", "2.2250738585072011e-308", "4.9406564584124654e-324", "1.7976931348623157e308",
        "1.8e308", "-0x1.fffffffffffffp+1023", "3.14159265358979323846264338327950288", "123456789012345678901234567890",
        "0.000000000000000000000000000001", "inf", "-nan", "1e-400", "9007199254740993",
    };
    for (unsigned i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        char *end;
        double d = strtod(s[i], &end);
        float f = strtof(s[i], NULL);
        long double l = strtold(s[i], NULL);
        LINE("strtod %s: %.17g %a | %.9g | %La | used %d", s[i], d, d, (double)f, l, (int)(end - s[i]));
    }
    char buf[64];
    for (unsigned i = 0; i < NVD; i++) {
        snprintf(buf, sizeof buf, "%.17g", vd[i]);
        double back = strtod(buf, NULL);
        LINE("roundtrip %u: %s %s %e %f", i, buf, back == vd[i] || back != back ? "ok" : "BAD", vd[i], vd[i] / 1e10);
    }
}

static void test_libm(void)
{
    static volatile double x[] = { 0.5, 1.0, 2.0, 10.0, -3.75, 1e-8, 100.5, 0.7853981633974483, 1e6, 710.0 };
    for (unsigned i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
        double a = x[i], b = x[(i + 3) % 10];
        LINE("libm %u: sin %.17g cos %.17g exp %.17g log %.17g", i, sin(a), cos(a), exp(a), log(fabs(a)));
        LINE("libm %u: pow %.17g sqrt %.17g fmod %.17g atan2 %.17g", i, pow(fabs(a), b / 4), sqrt(fabs(a)),
             fmod(a * 1000.0, b), atan2(a, b));
        LINE("libm %u: tan %.17g atan %.17g sinh %.17g cbrt %.17g floor %.17g ceil %.17g", i, tan(a), atan(a),
             sinh(a / 100), cbrt(a), floor(a * 1.5), ceil(a * 1.5));
        float af = (float)a;
        LINE("libmf %u: %.9g %.9g %.9g %.9g", i, (double)sinf(af), (double)expf(af / 16), (double)logf(fabsf(af)),
             (double)powf(fabsf(af), 0.3f));
    }
}

static void test_long_double(void)
{
    for (unsigned i = 0; i < NVL; i++) {
        long double a = vl[i], b = vl[(i + 3) % NVL];
        LINE("ld %u: %La %La %La %La", i, a + b, a - b, a * b, a / b);
        LINE("ld %u: %.21Lg %.21Lg %.21Lg", i, sqrtl(fabsl(a)), a / 3.0L, a * 0.1L);
        LINE("ld %u: exp %.21Lg log %.21Lg sin %.21Lg pow %.21Lg", i, expl(a / 1e3L), logl(fabsl(a)),
             sinl(a / 1e3L), powl(fabsl(a), 0.25L));
    }
    /* glibc implements these with x87 instructions: FPATAN, FPREM, FPREM1,
     * FPTAN, FSCALE, FRNDINT, FXTRACT, FIST(P) in the current rounding mode. */
    for (unsigned i = 0; i < NVL; i++) {
        long double a = vl[i] / 1e3L, b = vl[(i + 2) % NVL];
        if (fabsl(a) > 1e10L)
            a = 1.0L / a;
        LINE("ldx87 %u: atan2 %La fmod %La rem %La tan %La", i, atan2l(a, b), fmodl(b, a), remainderl(b, a), tanl(a));
        LINE("ldx87 %u: scalb %La rint %La floor %La logb %La llrint %lld cbrt %La", i, scalbnl(a, 7), rintl(a * 7),
             floorl(-a * 3), logbl(a), llrintl(a * 1e3L), cbrtl(a));
    }
    volatile long double third = 1.0L / 3.0L;
    long double acc = 0;
    for (int i = 0; i < 3000; i++)
        acc += third * (long double)i;
    LINE("ld acc: %.21Lg %La", acc, acc);
    LINE("ld limits: %La %La %La", (long double)LDBL_MAX, (long double)LDBL_MIN, (long double)LDBL_EPSILON);
    volatile double d = 0.1;
    LINE("ld conv: %La %.17g %lld", (long double)d, (double)(third * 3.0L), (long long)(third * 1e18L));
}

static void test_rounding(void)
{
    static const int modes[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
    static const char *const names[] = { "nearest", "down", "up", "zero" };
    static volatile double x[] = { 2.5, 3.5, -2.5, -0.5, 1.4999999999999998, 1e15 + 0.5, -7.9, 2147483647.5 };
    for (unsigned m = 0; m < 4; m++) {
        fesetround(modes[m]);
        for (unsigned i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
            double a = x[i];
            LINE("round %s %.17g: rint %.17g nearbyint %.17g lrint %ld llrint %lld trunc-cast %lld lrintf %ld "
                 "div %.17g", names[m], a, rint(a), nearbyint(a), lrint(a), llrint(a), (long long)a,
                 lrintf((float)a), a / 3.0);
        }
        volatile long double l = 1.0L;
        LINE("round %s: ld %La float %a sqrt %.17g rintl %.21Lg", names[m], l / 3.0L, (double)(float)(vd[5]),
             sqrt(vd[9] / 3), rintl((long double)x[0] + 0.25L));
    }
    fesetround(FE_TONEAREST);
    volatile double big = 1e20, nan = NAN;
    LINE("cvt: %lld %lld %d %u %lld", (long long)big, (long long)nan, (int)-1e10, (unsigned)3e9, (long long)-0.99);
    volatile float fbig = 3e9f;
    LINE("cvtf: %d %lld %u", (int)fbig, (long long)fbig, (unsigned)fbig);
    volatile int64_t i64 = INT64_MAX - 1234;
    volatile uint64_t u64 = UINT64_MAX - 99;
    LINE("i2f: %.17g %.9g %.17g %La", (double)i64, (double)(float)i64, (double)u64, (long double)i64);
}

/* SSE2 integer vectors as string and hash code uses them. */
static void test_sse2(void)
{
    uint8_t buf[256];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    __m128i acc = _mm_setzero_si128(), mul = _mm_setzero_si128(), sad = _mm_setzero_si128();
    for (unsigned i = 0; i + 16 <= sizeof buf; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(buf + i));
        acc = _mm_add_epi32(acc, v);                               /* paddd */
        mul = _mm_add_epi64(mul, _mm_mul_epu32(v, _mm_shuffle_epi32(v, 0x1b))); /* pmuludq pshufd */
        sad = _mm_add_epi64(sad, _mm_sad_epu8(v, _mm_set1_epi8(0x40)));        /* psadbw */
        acc = _mm_xor_si128(acc, _mm_slli_epi64(acc, 7));
        acc = _mm_sub_epi16(acc, _mm_srai_epi16(v, 3));
        acc = _mm_unpacklo_epi8(acc, _mm_packus_epi16(acc, v));
    }
    uint32_t a[4];
    uint64_t m[2], s[2];
    _mm_storeu_si128((__m128i *)a, acc);
    _mm_storeu_si128((__m128i *)m, mul);
    _mm_storeu_si128((__m128i *)s, sad);
    LINE("sse2 arith: %08x %08x %08x %08x %016" PRIx64 " %016" PRIx64 " %" PRIu64 " %" PRIu64, a[0], a[1], a[2],
         a[3], m[0], m[1], s[0], s[1]);
    /* pcmpeqb + pmovmskb: find bytes, as strchr/memchr do. */
    unsigned total = 0, masks = 0;
    for (unsigned i = 0; i + 16 <= sizeof buf; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(buf + i));
        int mk = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)buf[i + (i / 16) % 16])));
        mk |= _mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(100))) << 16;
        masks = masks * 31 + (unsigned)mk;
        total += (unsigned)__builtin_popcount((unsigned)mk);
    }
    LINE("sse2 cmp: %08x %u", masks, total);
    /* Min/max, averages, multiplies, shifts by register. */
    __m128i x = _mm_loadu_si128((const __m128i *)buf), y = _mm_loadu_si128((const __m128i *)(buf + 16));
    __m128i r1 = _mm_max_epu8(x, y), r2 = _mm_min_epi16(x, y), r3 = _mm_avg_epu8(x, y);
    __m128i r4 = _mm_mulhi_epi16(x, y), r5 = _mm_madd_epi16(x, y), r6 = _mm_srl_epi32(x, _mm_cvtsi32_si128(5));
    __m128i r7 = _mm_srli_si128(x, 3), r8 = _mm_unpackhi_epi64(x, y), r9 = _mm_packs_epi32(x, y);
    __m128i all[] = { r1, r2, r3, r4, r5, r6, r7, r8, r9 };
    for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        uint64_t q[2];
        _mm_storeu_si128((__m128i *)q, all[i]);
        LINE("sse2 op %u: %016" PRIx64 "%016" PRIx64, i, q[1], q[0]);
    }
    /* Packed double and single: SSE/SSE2 floating point. */
    __m128d pd = _mm_set_pd(vd[5], vd[11]);
    pd = _mm_sqrt_pd(_mm_add_pd(_mm_mul_pd(pd, pd), _mm_set1_pd(2.0)));
    __m128 ps = _mm_set_ps(vf[0], vf[1], vf[2], vf[6]);
    ps = _mm_div_ps(_mm_sub_ps(_mm_set1_ps(1.0f), _mm_set1_ps(0.75f)), _mm_max_ps(ps, _mm_set1_ps(0.25f)));
    double pdv[2];
    float psv[4];
    _mm_storeu_pd(pdv, pd);
    _mm_storeu_ps(psv, _mm_cmplt_ps(ps, _mm_set1_ps(0.3f)));
    uint32_t psm[4];
    memcpy(psm, psv, sizeof psm);
    _mm_storeu_ps(psv, ps);
    LINE("sse pd/ps: %.17g %.17g %a %a %a %a | %08x %08x %08x %08x", pdv[0], pdv[1], (double)psv[0],
         (double)psv[1], (double)psv[2], (double)psv[3], psm[0], psm[1], psm[2], psm[3]);
}

/* memcmp/strcmp return values other than their sign differ between glibc's
 * variants (byte difference vs -1/1): only the sign is defined. */
static int sgn(int v)
{
    return (v > 0) - (v < 0);
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* glibc's SSE2 string functions on every alignment of source and destination,
 * and lengths around the 16/32/64-byte block sizes they switch on. */
static void test_strings(void)
{
    static char src[1024], dst[1024 + 64];
    for (unsigned i = 0; i < sizeof src; i++)
        src[i] = (char)('A' + (i * 7) % 26);
    uint64_t h = 0xcbf29ce484222325ull, hl = h;
    static const size_t lens[] = { 0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 200, 511, 700 };
    for (unsigned sa = 0; sa < 16; sa++) {
        for (unsigned da = 0; da < 16; da++) {
            for (unsigned li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
                size_t n = lens[li];
                memset(dst, 0x5a, sizeof dst);
                memcpy(dst + da, src + sa, n);
                h = fnv(dst, sizeof dst, h);
                memmove(dst + da + 3, dst + da, n);
                memset(dst + da, (int)(sa + li), n / 2);
                h = fnv(dst, sizeof dst, h);
                dst[da + n] = 0;
                hl = hl * 131 + strlen(dst + da) + (uint64_t)(sgn(memcmp(dst + da, src + sa, n / 3 + 1)) + 1) * 7;
                const char *c = strchr(dst + da, 'Z');
                const char *r = strrchr(dst + da, 'A' + (int)(li % 26));
                const void *mc = memchr(dst + da, 'Q', n);
                hl = hl * 131 + (c ? (uint64_t)(c - dst) : 999) + (r ? (uint64_t)(r - dst) * 3 : 777) +
                     (mc ? (uint64_t)((const char *)mc - dst) * 5 : 555);
            }
        }
    }
    LINE("strings: %016" PRIx64 " %016" PRIx64, h, hl);
    char a[80], b[80];
    snprintf(a, sizeof a, "%s", "the quick brown fox jumps over the lazy dog");
    snprintf(b, sizeof b, "%s", "the quick brown fox jumps over the lazy cat");
    LINE("strcmp: %d %d %d %zu %zu %s", sgn(strcmp(a, b)), sgn(strncmp(a, b, 40)), sgn(strcasecmp("HeLLo", "hellO")) + sgn(strcmp(b, a)) * 2,
         strspn(a, "the quick"), strcspn(a, "xyz"), strstr(a, "lazy"));
}

/* 64-bit integer work: multiply, divide, rotates, 128-bit products. */
static void test_int_hash(void)
{
    volatile uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint64_t x = seed, h = 0;
    unsigned __int128 wide = 0;
    int64_t sd = 0;
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t y = x * 0x2545f4914f6cdd1dull;
        h = (h << 13 | h >> 51) ^ y;
        h += (y % 1000003) * (i | 1);
        wide += (unsigned __int128)y * h;
        sd += (int64_t)y / (int64_t)((i % 97) + 1) - (int64_t)(y >> 3) % 13;
    }
    LINE("int hash: %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %" PRId64 " clz %d ctz %d pop %d", h,
         (uint64_t)(wide >> 64), (uint64_t)wide, sd, __builtin_clzll(h | 1), __builtin_ctzll(h | 1ull << 63),
         __builtin_popcountll(h));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_double_arith();
    test_float_arith();
    test_strtod();
    test_libm();
    test_long_double();
    test_rounding();
    test_sse2();
    test_strings();
    test_int_hash();
    printf("fptest: %u checks done\n", checks);
    return 0;
}
