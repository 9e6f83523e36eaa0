/* SSE/SSE2 integer, move, shuffle and floating-point instructions against
 * the host CPU (results bit for bit, default MXCSR):
 * XMM0/XMM1/RAX are loaded from a frame, one instruction runs, and the
 * results are stored back — natively in an executable page and in the
 * software CPU (64-bit mode, CR4.OSFXSR set). Plus the availability rules
 * (#UD without OSFXSR, #NM with CR0.TS) and FXSAVE/FXRSTOR round trip. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SRAM (4u << 20)
static uint8_t *sram;
static uint8_t *s_ram_ptr(void *o, uint64_t pa, bool w) { (void)o; (void)w; return pa < SRAM ? sram + pa : NULL; }
static uint64_t s_mmio_read(void *o, uint64_t pa, unsigned sz) { (void)o; (void)pa; (void)sz; return ~0ULL; }
static void s_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz) { (void)o; (void)pa; (void)v; (void)sz; }
static uint32_t s_pio_in(void *o, uint16_t p, unsigned sz) { (void)o; (void)p; (void)sz; return ~0u; }
static void s_pio_out(void *o, uint16_t p, uint32_t v, unsigned sz) { (void)o; (void)p; (void)v; (void)sz; }
static int s_ack(void *o) { (void)o; return -1; }

/* mov rax,[r11+64]; movdqu xmm0,[r11]; movdqu xmm1,[r11+16] */
static const uint8_t pre[] = {0x49, 0x8b, 0x43, 0x40, 0xf3, 0x41, 0x0f, 0x6f, 0x03,
                              0xf3, 0x41, 0x0f, 0x6f, 0x4b, 0x10};
/* movdqu [r11+32],xmm0; movdqu [r11+48],xmm1; mov [r11+72],rax */
static const uint8_t post[] = {0xf3, 0x41, 0x0f, 0x7f, 0x43, 0x20, 0xf3, 0x41, 0x0f, 0x7f, 0x4b, 0x30,
                               0x49, 0x89, 0x43, 0x48};

struct sframe { uint64_t x0[2], x1[2], o0[2], o1[2], rax, orax; };

static struct cpu *scpu;

static void state64(struct x86_state *s, uint64_t cr4_extra, uint64_t cr0_extra)
{
    x86_state_reset(s);
    s->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_MP | cr0_extra;
    s->cr4 = CR4_PAE | cr4_extra;
    s->efer = EFER_LME | EFER_LMA;
    s->cr3 = 0x1000;
    for (int k = 0; k < SEG_COUNT; k++)
        s->seg[k] = (struct x86_seg){0, 0xffffffff, 0x10, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G};
    s->seg[SEG_CS] = (struct x86_seg){0, 0xffffffff, 0x08, 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G};
    s->gpr[R_ESP] = 0x8000;
    s->gpr[R_R11] = 0x20000;
    s->rip = 0x10000;
}

static void setup(void)
{
    sram = calloc(1, SRAM);
    uint64_t pml4 = 0x2003, pdpt = 0x3003, pd = 0x83;
    memcpy(sram + 0x1000, &pml4, 8);
    memcpy(sram + 0x2000, &pdpt, 8);
    memcpy(sram + 0x3000, &pd, 8);
    static struct cpu_bus bus = {.ram_ptr = s_ram_ptr, .mmio_read = s_mmio_read, .mmio_write = s_mmio_write,
                          .pio_in = s_pio_in, .pio_out = s_pio_out, .intr_ack = s_ack};
    scpu = test_cpu_new(&bus);
}

/* Runs insn in the emulator on frame f (outputs filled). Returns the stop. */
__attribute__((unused)) static enum cpu_stop emu_run(const uint8_t *insn, unsigned len, struct sframe *f)
{
    unsigned n = 0;
    memcpy(sram + 0x10000, pre, sizeof(pre));
    n = sizeof(pre);
    memcpy(sram + 0x10000 + n, insn, len);
    n += len;
    memcpy(sram + 0x10000 + n, post, sizeof(post));
    n += sizeof(post);
    sram[0x10000 + n] = 0xf4;
    memcpy(sram + 0x20000, f, sizeof(*f));
    struct x86_state s;
    state64(&s, CR4_OSFXSR, 0);
    cpu_set_state(scpu, &s);
    enum cpu_stop r = cpu_run(scpu, 100, NULL);
    memcpy(f, sram + 0x20000, sizeof(*f));
    return r;
}

static uint64_t rs = 0x853c49e6748fea9bULL;
__attribute__((unused)) static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
__attribute__((unused)) static uint64_t fpattern(void)
{
    static const uint32_t f32s[] = {0x3f800000, 0x7f800000, 0x00000001, 0x80000000, 0x7fc00000,
                                    0x7f800001, 0x40490fdb, 0xc2c80000, 0x00800000, 0x4f000000};
    static const uint64_t f64s[] = {0x3ff0000000000000ULL, 0x7ff0000000000000ULL, 1, 0x8000000000000000ULL,
                                    0x7ff8000000000000ULL, 0x7ff0000000000001ULL, 0x400921fb54442d18ULL,
                                    0x41e0000000000000ULL, 0xc3e0000000000000ULL, 0x0010000000000000ULL};
    uint64_t r = rnd();
    switch (r & 3) {
    case 0: return ((uint64_t)f32s[(r >> 8) % 10] << 32) | f32s[(r >> 16) % 10];
    case 1: return f64s[(r >> 8) % 10];
    case 2: {   /* moderate random floats: exponents near 1.0 */
        uint64_t a = rnd();
        return (a & 0x807fffff807fffffULL) | 0x3f0000003f000000ULL;
    }
    default: return (rnd() & 0x800fffffffffffffULL) | 0x3fe0000000000000ULL;
    }
}
__attribute__((unused)) static uint64_t pattern(void)
{
    static const uint64_t special[] = {0, ~0ULL, 0x8000800080008000ULL, 0x7fff7fff7fff7fffULL,
                                       0x80807f7f0001ff00ULL, 0x0000000000000005ULL, 0x21ULL};
    uint64_t r = rnd();
    if ((r & 3) == 0)
        return special[(r >> 8) % 7];
    return rnd();
}

#if defined(__x86_64__)
TEST(cpu_sse_vs_host)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        test_skip("host refuses an executable mapping");
        return;
    }
    setup();
    /* Encodings: 66 0F xx /r with xmm0, xmm1 for the packed binary ops, then
     * the shuffles, moves and immediates listed by hand. */
    static const uint8_t bin66[] = {
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
        0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
        0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
        0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
        0x54, 0x55, 0x56, 0x57, 0x14, 0x15,
    };
    static const struct { uint8_t b[6]; unsigned len; } extra[] = {
        {{0x66, 0x0f, 0x70, 0xc1, 0x1b}, 5}, {{0x66, 0x0f, 0x73, 0xd8, 0x03}, 5},
        {{0x66, 0x0f, 0xc5, 0xc1, 0x05}, 5}, {{0x66, 0x0f, 0xc4, 0xc0, 0x02}, 5},
        {{0x66, 0x0f, 0x6e, 0xc0}, 4}, {{0x66, 0x48, 0x0f, 0x7e, 0xc8}, 5},
        {{0x66, 0x0f, 0xd7, 0xc1}, 4}, {{0x0f, 0x50, 0xc1}, 3}, {{0x0f, 0xc6, 0xc1, 0x4e}, 4},
        {{0xf3, 0x0f, 0x10, 0xc1}, 4}, {{0x0f, 0x12, 0xc1}, 3}, {{0x66, 0x0f, 0x71, 0xf0, 0x03}, 5},
        {{0x66, 0x0f, 0x72, 0xe0, 0x05}, 5}, {{0x66, 0x0f, 0x73, 0xf0, 0x21}, 5},
        {{0x66, 0x0f, 0x73, 0xf8, 0x05}, 5}, {{0xf3, 0x0f, 0x7e, 0xc1}, 4}, {{0x0f, 0x14, 0xc1}, 3},
        {{0x66, 0x0f, 0x15, 0xc1}, 4}, {{0x66, 0x0f, 0xc6, 0xc1, 0x01}, 5}, {{0xf2, 0x0f, 0x10, 0xc1}, 4},
        {{0x0f, 0x16, 0xc1}, 3}, {{0xf3, 0x0f, 0x70, 0xc1, 0x1b}, 5}, {{0xf2, 0x0f, 0x70, 0xc1, 0xb1}, 5},
        {{0x66, 0x0f, 0x50, 0xc1}, 4}, {{0x66, 0x0f, 0x72, 0xd0, 0x21}, 5}, {{0x66, 0x0f, 0x71, 0xe0, 0x11}, 5},
        /* floating point (results compared bit for bit, MXCSR default) */
#define FP4(op) {{0x0f, op, 0xc1}, 3}, {{0x66, 0x0f, op, 0xc1}, 4}, {{0xf3, 0x0f, op, 0xc1}, 4}, \
                {{0xf2, 0x0f, op, 0xc1}, 4}
        FP4(0x58), FP4(0x59), FP4(0x5c), FP4(0x5d), FP4(0x5e), FP4(0x5f), FP4(0x51), FP4(0x5a),
        {{0x0f, 0x5b, 0xc1}, 3}, {{0x66, 0x0f, 0x5b, 0xc1}, 4}, {{0xf3, 0x0f, 0x5b, 0xc1}, 4},
        {{0x66, 0x0f, 0xe6, 0xc1}, 4}, {{0xf3, 0x0f, 0xe6, 0xc1}, 4}, {{0xf2, 0x0f, 0xe6, 0xc1}, 4},
        {{0x0f, 0xc2, 0xc1, 0x00}, 4}, {{0x0f, 0xc2, 0xc1, 0x01}, 4}, {{0x66, 0x0f, 0xc2, 0xc1, 0x02}, 5},
        {{0xf3, 0x0f, 0xc2, 0xc1, 0x03}, 5}, {{0xf2, 0x0f, 0xc2, 0xc1, 0x04}, 5}, {{0x0f, 0xc2, 0xc1, 0x05}, 4},
        {{0x66, 0x0f, 0xc2, 0xc1, 0x06}, 5}, {{0x0f, 0xc2, 0xc1, 0x07}, 4},
        {{0x0f, 0x2e, 0xc1, 0x9f}, 4}, {{0x0f, 0x2f, 0xc1, 0x9f}, 4}, {{0x66, 0x0f, 0x2e, 0xc1, 0x9f}, 5},
        {{0x66, 0x0f, 0x2f, 0xc1, 0x9f}, 5},
        {{0xf3, 0x0f, 0x2a, 0xc0}, 4}, {{0xf2, 0x48, 0x0f, 0x2a, 0xc0}, 5},
        {{0xf3, 0x0f, 0x2d, 0xc1}, 4}, {{0xf2, 0x48, 0x0f, 0x2c, 0xc1}, 5},
        {{0xf3, 0x48, 0x0f, 0x2c, 0xc1}, 5}, {{0xf2, 0x0f, 0x2d, 0xc1}, 4},
    };
    static const uint8_t npre[] = {0x49, 0x89, 0xfb};   /* mov r11, rdi */
    unsigned ncase = sizeof(bin66) + sizeof(extra) / sizeof(extra[0]);
    int fails = 0, total = 0;
    for (unsigned k = 0; k < ncase; k++) {
        uint8_t insn[8];
        unsigned len;
        if (k < sizeof(bin66)) {
            insn[0] = 0x66; insn[1] = 0x0f; insn[2] = bin66[k]; insn[3] = 0xc1;
            len = 4;
        } else {
            len = extra[k - sizeof(bin66)].len;
            memcpy(insn, extra[k - sizeof(bin66)].b, len);
        }
        unsigned n = 0;
        memcpy(page, npre, sizeof(npre)); n = sizeof(npre);
        memcpy(page + n, pre, sizeof(pre)); n += sizeof(pre);
        memcpy(page + n, insn, len); n += len;
        memcpy(page + n, post, sizeof(post)); n += sizeof(post);
        page[n] = 0xc3;
        void (*fn)(struct sframe *) = (void (*)(struct sframe *))(void *)page;
        for (int it = 0; it < 200; it++) {
            struct sframe a, b;
            memset(&a, 0, sizeof(a));
            bool fp = k >= sizeof(bin66) + 26;
            a.x0[0] = fp ? fpattern() : pattern(); a.x0[1] = fp ? fpattern() : pattern();
            a.x1[0] = fp ? fpattern() : (it & 3) == 1 ? rnd() & 0x3f : pattern();   /* small shift counts too */
            a.x1[1] = fp ? fpattern() : pattern();
            a.rax = (fp && (it & 1)) ? (uint64_t)(int64_t)(int32_t)rnd() : pattern();
            b = a;
            fn(&a);
            enum cpu_stop r = emu_run(insn, len, &b);
            total++;
            if (r != CPU_STOP_HLT || memcmp(a.o0, b.o0, 16) || memcmp(a.o1, b.o1, 16) || a.orax != b.orax) {
                if (fails++ < 6)
                    test_failf(__FILE__, __LINE__,
                               "insn %02x %02x %02x %02x: x0=%016llx%016llx x1=%016llx%016llx: host "
                               "%016llx%016llx rax %llx, emu %016llx%016llx rax %llx (stop %d)",
                               insn[0], insn[1], insn[2], insn[3],
                               (unsigned long long)b.x0[1], (unsigned long long)b.x0[0],
                               (unsigned long long)b.x1[1], (unsigned long long)b.x1[0],
                               (unsigned long long)a.o0[1], (unsigned long long)a.o0[0],
                               (unsigned long long)a.orax, (unsigned long long)b.o0[1],
                               (unsigned long long)b.o0[0], (unsigned long long)b.orax, r);
            }
        }
    }
    printf("  cpu_sse_vs_host: %d cases, %d mismatches\n", total, fails);
    cpu_free(scpu);
    free(sram);
    munmap(page, 4096);
}
#endif

TEST(cpu_sse_availability_and_fxsave)
{
    setup();
    /* pxor xmm0, xmm0; hlt — without CR4.OSFXSR: #UD; with CR0.TS: #NM.
     * The IDT is empty, so either ends in a triple fault; what matters is
     * that it does not execute. Then FXSAVE/FXRSTOR round trip. */
    static const uint8_t pxor[] = {0x66, 0x0f, 0xef, 0xc0, 0xf4};
    memcpy(sram + 0x10000, pxor, sizeof(pxor));
    struct x86_state s;
    state64(&s, 0, 0);
    cpu_set_state(scpu, &s);
    CHECK_EQ(cpu_run(scpu, 100, NULL), CPU_STOP_SHUTDOWN);
    state64(&s, CR4_OSFXSR, CR0_TS);
    cpu_set_state(scpu, &s);
    CHECK_EQ(cpu_run(scpu, 100, NULL), CPU_STOP_SHUTDOWN);
    state64(&s, CR4_OSFXSR, 0);
    cpu_set_state(scpu, &s);
    CHECK_EQ(cpu_run(scpu, 100, NULL), CPU_STOP_HLT);

    /* movdqu xmm5,[r11]; fxsave [r11+0x200]; pxor xmm5,xmm5; fxrstor [r11+0x200];
     * movdqu [r11+16],xmm5; hlt */
    static const uint8_t fx[] = {0xf3, 0x41, 0x0f, 0x6f, 0x2b, 0x41, 0x0f, 0xae, 0x83, 0x00, 0x02, 0x00, 0x00,
                                 0x66, 0x0f, 0xef, 0xed, 0x41, 0x0f, 0xae, 0x8b, 0x00, 0x02, 0x00, 0x00,
                                 0xf3, 0x41, 0x0f, 0x7f, 0x6b, 0x10, 0xf4};
    memcpy(sram + 0x10000, fx, sizeof(fx));
    uint64_t v[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    memcpy(sram + 0x20000, v, 16);
    state64(&s, CR4_OSFXSR, 0);
    cpu_set_state(scpu, &s);
    CHECK_EQ(cpu_run(scpu, 100, NULL), CPU_STOP_HLT);
    uint64_t out[2], img_x5[2];
    uint32_t mxcsr;
    memcpy(out, sram + 0x20010, 16);
    memcpy(img_x5, sram + 0x20200 + 160 + 5 * 16, 16);
    memcpy(&mxcsr, sram + 0x20200 + 24, 4);
    CHECK_EQ(out[0], v[0]);
    CHECK_EQ(out[1], v[1]);
    CHECK_EQ(img_x5[0], v[0]);
    CHECK_EQ(mxcsr, 0x1f80);
    cpu_free(scpu);
    free(sram);
}

#if defined(__x86_64__)
/* MMX forms of the integer ops (no 66 prefix) against the host: MM0/MM1
 * loaded from the frame, one instruction, stored back, EMMS. */
TEST(cpu_mmx_vs_host)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        test_skip("host refuses an executable mapping");
        return;
    }
    setup();
    static const uint8_t mpre[] = {0x49, 0x8b, 0x43, 0x40, 0x41, 0x0f, 0x6f, 0x03, 0x41, 0x0f, 0x6f, 0x4b, 0x10};
    static const uint8_t mpost[] = {0x41, 0x0f, 0x7f, 0x43, 0x20, 0x41, 0x0f, 0x7f, 0x4b, 0x30,
                                    0x49, 0x89, 0x43, 0x48, 0x0f, 0x77};
    static const uint8_t ops[] = {
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
        0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
        0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
        0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
    };
    static const struct { uint8_t b[6]; unsigned len; } extra[] = {
        {{0x0f, 0x70, 0xc1, 0x1b}, 4}, {{0x0f, 0x71, 0xd0, 0x03}, 4}, {{0x0f, 0x72, 0xe0, 0x05}, 4},
        {{0x0f, 0x73, 0xf0, 0x21}, 4}, {{0x0f, 0xd7, 0xc1}, 3}, {{0x0f, 0xc5, 0xc1, 0x02}, 4},
        {{0x0f, 0xc4, 0xc0, 0x01}, 4}, {{0x0f, 0x6e, 0xc0}, 3}, {{0x48, 0x0f, 0x7e, 0xc8}, 4},
    };
    static const uint8_t npre[] = {0x49, 0x89, 0xfb};
    unsigned ncase = sizeof(ops) + sizeof(extra) / sizeof(extra[0]);
    int fails = 0, total = 0;
    for (unsigned k = 0; k < ncase; k++) {
        uint8_t insn[8];
        unsigned len;
        if (k < sizeof(ops)) {
            insn[0] = 0x0f; insn[1] = ops[k]; insn[2] = 0xc1;
            len = 3;
        } else {
            len = extra[k - sizeof(ops)].len;
            memcpy(insn, extra[k - sizeof(ops)].b, len);
        }
        unsigned n = 0;
        memcpy(page, npre, sizeof(npre)); n = sizeof(npre);
        memcpy(page + n, mpre, sizeof(mpre)); n += sizeof(mpre);
        memcpy(page + n, insn, len); n += len;
        memcpy(page + n, mpost, sizeof(mpost)); n += sizeof(mpost);
        page[n] = 0xc3;
        void (*fn)(struct sframe *) = (void (*)(struct sframe *))(void *)page;
        /* Emulated: same body, then HLT. */
        n = 0;
        memcpy(sram + 0x10000, mpre, sizeof(mpre)); n = sizeof(mpre);
        memcpy(sram + 0x10000 + n, insn, len); n += len;
        memcpy(sram + 0x10000 + n, mpost, sizeof(mpost)); n += sizeof(mpost);
        sram[0x10000 + n] = 0xf4;
        for (int it = 0; it < 150; it++) {
            struct sframe a, b;
            memset(&a, 0, sizeof(a));
            a.x0[0] = pattern();
            a.x1[0] = (it & 3) == 1 ? rnd() & 0x3f : pattern();
            a.rax = pattern();
            b = a;
            fn(&a);
            memcpy(sram + 0x20000, &b, sizeof(b));
            struct x86_state st;
            state64(&st, CR4_OSFXSR, 0);
            cpu_set_state(scpu, &st);
            enum cpu_stop r = cpu_run(scpu, 100, NULL);
            memcpy(&b, sram + 0x20000, sizeof(b));
            total++;
            if (r != CPU_STOP_HLT || a.o0[0] != b.o0[0] || a.o1[0] != b.o1[0] || a.orax != b.orax) {
                if (fails++ < 6)
                    test_failf(__FILE__, __LINE__, "mmx %02x %02x %02x %02x: mm0=%016llx mm1=%016llx: host %016llx "
                               "rax %llx, emu %016llx rax %llx (stop %d)", insn[0], insn[1], insn[2], insn[3],
                               (unsigned long long)b.x0[0], (unsigned long long)b.x1[0],
                               (unsigned long long)a.o0[0], (unsigned long long)a.orax,
                               (unsigned long long)b.o0[0], (unsigned long long)b.orax, r);
            }
        }
    }
    printf("  cpu_mmx_vs_host: %d cases, %d mismatches\n", total, fails);
    cpu_free(scpu);
    free(sram);
    munmap(page, 4096);
}
#endif
