/* Differential test of the ALU group against the host CPU: each register-
 * form instruction runs natively (in an executable page, between a stub
 * that loads RAX/RBX/RCX/RDX and RFLAGS and stores them back) and in the
 * software CPU in 64-bit mode; registers and the flags the SDM defines for
 * that instruction must agree. Skipped (reported) on non-x86-64 hosts or
 * when an executable mapping is refused. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__x86_64__)

#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_OF 0x800u
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

struct regs { uint64_t rax, rbx, rcx, rdx, rflags; };
struct frame { struct regs in, out; };

/* Flag-definition classes (which flags the SDM defines after the insn). */
enum fclass { F_ARITH, F_LOGIC, F_SHIFT, F_ROT, F_MUL, F_BSX, F_BT, F_SHXD, F_NONE, F_LZCNT };

struct dcase {
    const char *name;
    uint8_t bytes[8];
    unsigned len;
    unsigned opsz;          /* operand size in bytes (for count masking) */
    enum fclass fc;
    int shift_kind;         /* for F_SHIFT/F_ROT: 0 shl/shr/sal, 1 sar, 2 rol/ror, 3 rcl/rcr */
};

#define C(n, sz, fc, ...) { n, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}), sz, fc, 0 }
#define S(n, sz, fc, k, ...) { n, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}), sz, fc, k }

static const struct dcase cases[] = {
    C("add r32", 4, F_ARITH, 0x01, 0xd8), C("add r16", 2, F_ARITH, 0x66, 0x01, 0xd8),
    C("add r8", 1, F_ARITH, 0x00, 0xd8), C("add r64", 8, F_ARITH, 0x48, 0x01, 0xd8),
    C("add ah,bh", 1, F_ARITH, 0x00, 0xfc),
    C("adc r32", 4, F_ARITH, 0x11, 0xd8), C("adc r8", 1, F_ARITH, 0x10, 0xd8),
    C("adc r64", 8, F_ARITH, 0x48, 0x11, 0xd8), C("adc r16", 2, F_ARITH, 0x66, 0x11, 0xd8),
    C("sbb r32", 4, F_ARITH, 0x19, 0xd8), C("sbb r8", 1, F_ARITH, 0x18, 0xd8),
    C("sbb r64", 8, F_ARITH, 0x48, 0x19, 0xd8), C("sbb r16", 2, F_ARITH, 0x66, 0x19, 0xd8),
    C("sub r32", 4, F_ARITH, 0x29, 0xd8), C("sub r16", 2, F_ARITH, 0x66, 0x29, 0xd8),
    C("sub r64", 8, F_ARITH, 0x48, 0x29, 0xd8), C("sub r8", 1, F_ARITH, 0x28, 0xd8),
    C("cmp r32", 4, F_ARITH, 0x39, 0xd8), C("cmp r8", 1, F_ARITH, 0x38, 0xd8),
    C("cmp r64", 8, F_ARITH, 0x48, 0x39, 0xd8),
    C("and r32", 4, F_LOGIC, 0x21, 0xd8), C("or r16", 2, F_LOGIC, 0x66, 0x09, 0xd8),
    C("xor r8", 1, F_LOGIC, 0x30, 0xd8), C("test r64", 8, F_LOGIC, 0x48, 0x85, 0xd8),
    C("inc r32", 4, F_ARITH, 0xff, 0xc0), C("dec r32", 4, F_ARITH, 0xff, 0xc8),
    C("inc r8", 1, F_ARITH, 0xfe, 0xc0), C("dec r16", 2, F_ARITH, 0x66, 0xff, 0xc8),
    C("inc r64", 8, F_ARITH, 0x48, 0xff, 0xc0),
    C("neg r32", 4, F_ARITH, 0xf7, 0xd8), C("neg r8", 1, F_ARITH, 0xf6, 0xd8),
    C("neg r64", 8, F_ARITH, 0x48, 0xf7, 0xd8),
    C("not r32", 4, F_NONE, 0xf7, 0xd0),
    C("add eax,imm8", 4, F_ARITH, 0x83, 0xc0, 0x80), C("sub ax,imm16", 2, F_ARITH, 0x66, 0x2d, 0x01, 0x80),
    C("cmp rax,imm32", 8, F_ARITH, 0x48, 0x3d, 0xff, 0xff, 0xff, 0x7f),
    S("shl r32,cl", 4, F_SHIFT, 0, 0xd3, 0xe0), S("shr r32,cl", 4, F_SHIFT, 0, 0xd3, 0xe8),
    S("sar r32,cl", 4, F_SHIFT, 1, 0xd3, 0xf8), S("shl r8,cl", 1, F_SHIFT, 0, 0xd2, 0xe0),
    S("shr r16,cl", 2, F_SHIFT, 0, 0x66, 0xd3, 0xe8), S("sar r8,cl", 1, F_SHIFT, 1, 0xd2, 0xf8),
    S("shl r64,cl", 8, F_SHIFT, 0, 0x48, 0xd3, 0xe0), S("sar r64,cl", 8, F_SHIFT, 1, 0x48, 0xd3, 0xf8),
    S("shl r32,1", 4, F_SHIFT, 0, 0xd1, 0xe0), S("shr r32,1", 4, F_SHIFT, 0, 0xd1, 0xe8),
    S("sar r16,1", 2, F_SHIFT, 1, 0x66, 0xd1, 0xf8),
    S("rol r32,cl", 4, F_ROT, 2, 0xd3, 0xc0), S("ror r32,cl", 4, F_ROT, 2, 0xd3, 0xc8),
    S("rol r8,cl", 1, F_ROT, 2, 0xd2, 0xc0), S("ror r16,cl", 2, F_ROT, 2, 0x66, 0xd3, 0xc8),
    S("rcl r32,cl", 4, F_ROT, 3, 0xd3, 0xd0), S("rcr r32,cl", 4, F_ROT, 3, 0xd3, 0xd8),
    S("rcl r8,cl", 1, F_ROT, 3, 0xd2, 0xd0), S("rcr r16,cl", 2, F_ROT, 3, 0x66, 0xd3, 0xd8),
    S("rol r64,cl", 8, F_ROT, 2, 0x48, 0xd3, 0xc0), S("rcr r64,cl", 8, F_ROT, 3, 0x48, 0xd3, 0xd8),
    C("mul r32", 4, F_MUL, 0xf7, 0xe3), C("imul r32", 4, F_MUL, 0xf7, 0xeb),
    C("mul r8", 1, F_MUL, 0xf6, 0xe3), C("imul r16", 2, F_MUL, 0x66, 0xf7, 0xeb),
    C("mul r64", 8, F_MUL, 0x48, 0xf7, 0xe3), C("imul r64", 8, F_MUL, 0x48, 0xf7, 0xeb),
    C("imul r32,r32", 4, F_MUL, 0x0f, 0xaf, 0xc3), C("imul r16,r16,imm8", 2, F_MUL, 0x66, 0x6b, 0xc3, 0x85),
    C("bsf r32", 4, F_BSX, 0x0f, 0xbc, 0xc3), C("bsr r32", 4, F_BSX, 0x0f, 0xbd, 0xc3),
    C("bsr r64", 8, F_BSX, 0x48, 0x0f, 0xbd, 0xc3),
    C("bt r32", 4, F_BT, 0x0f, 0xa3, 0xd8), C("bts r32", 4, F_BT, 0x0f, 0xab, 0xd8),
    C("btr r64", 8, F_BT, 0x48, 0x0f, 0xb3, 0xd8), C("btc r16", 2, F_BT, 0x66, 0x0f, 0xbb, 0xd8),
    S("shld r32,cl", 4, F_SHXD, 0, 0x0f, 0xa5, 0xd8), S("shrd r32,cl", 4, F_SHXD, 0, 0x0f, 0xad, 0xd8),
    S("shld r64,cl", 8, F_SHXD, 0, 0x48, 0x0f, 0xa5, 0xd8), S("shrd r16,cl", 2, F_SHXD, 0, 0x66, 0x0f, 0xad, 0xd8),
    C("xadd r32", 4, F_ARITH, 0x0f, 0xc1, 0xd8), C("cmpxchg r32", 4, F_ARITH, 0x0f, 0xb1, 0xcb),
    C("cmpxchg r8", 1, F_ARITH, 0x0f, 0xb0, 0xcb),
    C("movsx r32,r8", 4, F_NONE, 0x0f, 0xbe, 0xc3), C("movzx r64,r16", 8, F_NONE, 0x48, 0x0f, 0xb7, 0xc3),
    C("movsxd", 8, F_NONE, 0x48, 0x63, 0xc3), C("bswap r32", 4, F_NONE, 0x0f, 0xc8),
    C("bswap r64", 8, F_NONE, 0x48, 0x0f, 0xc8), C("cwde", 4, F_NONE, 0x98), C("cqo", 8, F_NONE, 0x48, 0x99),
    C("cmovl", 4, F_NONE, 0x0f, 0x4c, 0xc3), C("cmovbe", 8, F_NONE, 0x48, 0x0f, 0x46, 0xc3),
    C("cmovp", 4, F_NONE, 0x0f, 0x4a, 0xc3), C("cmovo", 4, F_NONE, 0x0f, 0x40, 0xc3),
    C("setg", 1, F_NONE, 0x0f, 0x9f, 0xc0), C("setle", 1, F_NONE, 0x0f, 0x9e, 0xc1),
    C("seta", 1, F_NONE, 0x0f, 0x97, 0xc2), C("setns", 1, F_NONE, 0x0f, 0x99, 0xc3),
    C("lahf", 1, F_NONE, 0x9f), C("sahf", 1, F_NONE, 0x9e), C("cmc", 1, F_NONE, 0xf5),
    C("popcnt r32", 4, F_ARITH, 0xf3, 0x0f, 0xb8, 0xc3),
    C("lzcnt r32", 4, F_LZCNT, 0xf3, 0x0f, 0xbd, 0xc3),
    C("xchg r8", 1, F_NONE, 0x86, 0xd8), C("lea", 8, F_NONE, 0x48, 0x8d, 0x44, 0x4b, 0x07),
};

static const uint64_t vals[] = {
    0, 1, 2, 7, 0x0f, 0x10, 0x1f, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x7fff, 0x8000,
    0x8001, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x100000000ULL,
    0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL, 0x123456789abcdef0ULL,
    0xfedcba9876543210ULL, 0x00000000deadbeefULL, 0x5555555555555555ULL,
};

static const uint8_t stub_pre[] = {0x53, 0x49, 0x89, 0xfb, 0x49, 0x8b, 0x03, 0x49, 0x8b, 0x5b, 0x08,
                                   0x49, 0x8b, 0x4b, 0x10, 0x49, 0x8b, 0x53, 0x18, 0x41, 0xff, 0x73,
                                   0x20, 0x9d};
static const uint8_t stub_post[] = {0x9c, 0x41, 0x8f, 0x43, 0x48, 0x49, 0x89, 0x43, 0x28, 0x49, 0x89,
                                    0x5b, 0x30, 0x49, 0x89, 0x4b, 0x38, 0x49, 0x89, 0x53, 0x40, 0x5b,
                                    0xc3};

/* Which flags to compare for this case and these inputs. */
static uint32_t flag_mask(const struct dcase *d, const struct regs *in)
{
    unsigned bits = d->opsz * 8;
    unsigned cnt = (unsigned)(in->rcx & (d->opsz == 8 ? 63 : 31));
    if (d->bytes[0] == 0xd1 || (d->len > 1 && d->bytes[1] == 0xd1))
        cnt = 1;
    switch (d->fc) {
    case F_ARITH: return FL_ALL;
    case F_LOGIC: return FL_ALL & ~FL_AF;
    case F_NONE: return FL_ALL;
    case F_MUL: return FL_CF | FL_OF;
    case F_BSX: return FL_ZF;
    case F_BT: return FL_CF;
    case F_LZCNT: return FL_CF | FL_ZF;
    case F_SHIFT:
        if (cnt == 0)
            return FL_ALL;
        return FL_SF | FL_ZF | FL_PF | (cnt < bits || d->shift_kind == 1 ? FL_CF : 0) |
               (cnt == 1 ? FL_OF : 0);
    case F_ROT: {
        unsigned eff = d->shift_kind == 3 && d->opsz < 4 ? cnt % (bits + 1) : cnt;
        if (eff == 0)
            return FL_ALL;
        return (FL_ALL & ~(FL_CF | FL_OF)) | FL_CF | (eff == 1 ? FL_OF : 0);
    }
    case F_SHXD:
        if (cnt == 0)
            return FL_ALL;
        if (cnt > bits)
            return 0;
        return FL_SF | FL_ZF | FL_PF | FL_CF | (cnt == 1 ? FL_OF : 0);
    }
    return FL_ALL;
}

/* ---- the emulated side: 64-bit mode, identity-mapped 2 MiB ---- */

#define ERAM (4u << 20)
static uint8_t *eram;
static uint8_t *e_ram_ptr(void *o, uint64_t pa, bool w) { (void)o; (void)w; return pa < ERAM ? eram + pa : NULL; }
static uint64_t e_mmio_read(void *o, uint64_t pa, unsigned sz) { (void)o; (void)pa; (void)sz; return ~0ULL; }
static void e_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz) { (void)o; (void)pa; (void)v; (void)sz; }
static uint32_t e_pio_in(void *o, uint16_t p, unsigned sz) { (void)o; (void)p; (void)sz; return ~0u; }
static void e_pio_out(void *o, uint16_t p, uint32_t v, unsigned sz) { (void)o; (void)p; (void)v; (void)sz; }
static int e_ack(void *o) { (void)o; return -1; }

static void emu_state64(struct x86_state *s)
{
    x86_state_reset(s);
    s->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_WP;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA | EFER_NXE;
    s->cr3 = 0x1000;
    for (int k = 0; k < SEG_COUNT; k++)
        s->seg[k] = (struct x86_seg){0, 0xffffffff, 0x10, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G};
    s->seg[SEG_CS] = (struct x86_seg){0, 0xffffffff, 0x08, 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G};
}

TEST(cpu_diff_alu_vs_host)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        test_skip("host refuses an executable mapping");
        return;
    }
    bool have_popcnt = __builtin_cpu_supports("popcnt");
    bool have_lzcnt = __builtin_cpu_supports("abm") || __builtin_cpu_supports("bmi");
    eram = calloc(1, ERAM);
    uint64_t pml4 = 0x2003, pdpt = 0x3003, pd = 0x83;
    memcpy(eram + 0x1000, &pml4, 8);
    memcpy(eram + 0x2000, &pdpt, 8);
    memcpy(eram + 0x3000, &pd, 8);
    struct cpu_bus bus = {.ram_ptr = e_ram_ptr, .mmio_read = e_mmio_read, .mmio_write = e_mmio_write,
                          .pio_in = e_pio_in, .pio_out = e_pio_out, .intr_ack = e_ack};
    struct cpu *c = test_cpu_new(&bus);
    unsigned ncases = 0, nfail = 0;
    const unsigned nv = sizeof(vals) / sizeof(vals[0]);
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct dcase *d = &cases[k];
        if (!strncmp(d->name, "popcnt", 6) && !have_popcnt)
            continue;
        if (!strncmp(d->name, "lzcnt", 5) && !have_lzcnt)
            continue;
        unsigned n = 0;
        memcpy(page, stub_pre, sizeof(stub_pre));
        n = sizeof(stub_pre);
        memcpy(page + n, d->bytes, d->len);
        n += d->len;
        memcpy(page + n, stub_post, sizeof(stub_post));
        void (*fn)(struct frame *) = (void (*)(struct frame *))(void *)page;
        /* INT3 everywhere after the HLT: a wrong instruction length runs
         * into it and ends in a triple fault (no IDT), never in a HLT. */
        memset(eram + 0x10000, 0xcc, 64);
        memcpy(eram + 0x10000, d->bytes, d->len);
        eram[0x10000 + d->len] = 0xf4;      /* hlt */
        int reported = 0;
        for (unsigned a = 0; a < nv; a++) {
            for (unsigned b = 0; b < nv; b += (a & 1) + 1) {
                for (unsigned fl = 0; fl < 4; fl++) {
                    struct frame fr;
                    fr.in.rax = vals[a];
                    fr.in.rbx = vals[b];
                    fr.in.rcx = vals[(a + b + fl) % nv] ^ (fl & 2 ? 0x1f : 0);
                    fr.in.rdx = vals[(a * 7 + b) % nv];
                    /* Input flags: CF from fl bit 0, and a mix of others. */
                    fr.in.rflags = 0x202 | (fl & 1) | ((a + b) & 1 ? FL_ZF | FL_PF : FL_SF | FL_AF) |
                                   (fl & 2 ? FL_OF : 0);
                    fn(&fr);
                    struct x86_state s;
                    emu_state64(&s);
                    s.gpr[R_EAX] = fr.in.rax;
                    s.gpr[R_EBX] = fr.in.rbx;
                    s.gpr[R_ECX] = fr.in.rcx;
                    s.gpr[R_EDX] = fr.in.rdx;
                    s.gpr[R_ESP] = 0x8000;
                    s.rflags = fr.in.rflags;
                    s.rip = 0x10000;
                    cpu_set_state(c, &s);
                    enum cpu_stop r = cpu_run(c, 100, NULL);
                    cpu_get_state(c, &s);
                    uint32_t m = flag_mask(d, &fr.in);
                    bool regs_ok = s.gpr[R_EAX] == fr.out.rax && s.gpr[R_EBX] == fr.out.rbx &&
                                   s.gpr[R_ECX] == fr.out.rcx && s.gpr[R_EDX] == fr.out.rdx;
                    if (d->fc == F_BSX && (fr.in.rbx & (d->opsz == 8 ? ~0ULL : 0xffffffffULL)) == 0)
                        regs_ok = true;     /* destination undefined for a zero source */
                    if (d->fc == F_SHXD && m == 0)
                        regs_ok = true;     /* count > operand size: undefined */
                    bool ok = r == CPU_STOP_HLT && regs_ok && ((s.rflags ^ fr.out.rflags) & m) == 0;
                    ncases++;
                    if (!ok) {
                        nfail++;
                        if (reported++ < 2)
                            test_failf(__FILE__, __LINE__,
                                       "%s: in rax=%llx rbx=%llx rcx=%llx fl=%llx: host rax=%llx rbx=%llx "
                                       "rcx=%llx rdx=%llx fl=%llx, emu rax=%llx rbx=%llx rcx=%llx rdx=%llx "
                                       "fl=%llx (mask %x, stop %d)",
                                       d->name, (unsigned long long)fr.in.rax, (unsigned long long)fr.in.rbx,
                                       (unsigned long long)fr.in.rcx, (unsigned long long)fr.in.rflags,
                                       (unsigned long long)fr.out.rax, (unsigned long long)fr.out.rbx,
                                       (unsigned long long)fr.out.rcx, (unsigned long long)fr.out.rdx,
                                       (unsigned long long)fr.out.rflags, (unsigned long long)s.gpr[R_EAX],
                                       (unsigned long long)s.gpr[R_EBX], (unsigned long long)s.gpr[R_ECX],
                                       (unsigned long long)s.gpr[R_EDX], (unsigned long long)s.rflags, m, r);
                    }
                }
            }
        }
    }
    printf("  cpu_diff_alu_vs_host: %u cases, %u mismatches\n", ncases, nfail);
    CHECK(ncases > 10000);
    cpu_free(c);
    free(eram);
    munmap(page, 4096);
}

#else
TEST(cpu_diff_alu_vs_host)
{
    test_skip("the differential test needs an x86-64 host");
}
#endif
