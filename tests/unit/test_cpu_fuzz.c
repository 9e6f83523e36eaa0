/* Hostile guest code: random bytes executed in real, 32-bit protected and
 * 64-bit mode with random registers and a small random memory. The CPU
 * must never crash the host, hang past its budget or report an internal
 * error for what is only guest misbehaviour; every exception lands in a
 * handler that halts (or escalates to a triple fault). Deterministic seed. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdlib.h>
#include <string.h>

#define FRAM (2u << 20)
static uint8_t *fram;
static uint8_t *z_ram_ptr(void *o, uint64_t pa, bool w)
{
    (void)o; (void)w;
    if (pa >= FRAM || (pa >= 0xa0000 && pa < 0xb0000))
        return NULL;
    return fram + pa;
}
static uint64_t z_mmio_read(void *o, uint64_t pa, unsigned sz) { (void)o; (void)sz; return pa * 0x9e3779b97f4a7c15ULL; }
static void z_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz) { (void)o; (void)pa; (void)v; (void)sz; }
static uint32_t z_pio_in(void *o, uint16_t p, unsigned sz) { (void)o; (void)sz; return p * 2654435761u; }
static void z_pio_out(void *o, uint16_t p, uint32_t v, unsigned sz) { (void)o; (void)p; (void)v; (void)sz; }
static int z_ack(void *o) { (void)o; return 0x20; }

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void put64(uint64_t pa, uint64_t v) { memcpy(fram + pa, &v, 8); }

/* Tables shared by all runs: IVT → 0000:0500 (HLT), 32-bit IDT at 0x1000
 * and 64-bit IDT at 0x2000 → handler at 0x500, GDT at 0x3000, identity
 * page tables for long mode at 0x4000.. (1 GiB page). */
static void setup_tables(void)
{
    for (int v = 0; v < 256; v++) {
        uint32_t ivt = 0x0500;
        memcpy(fram + v * 4, &ivt, 4);
        put64(0x1000 + v * 8, 0x0000 | (0x08ULL << 16) | (0x8e00ULL << 32) | (0x0000ULL << 48) | 0x500);
        put64(0x2000 + v * 16, 0x500 | (0x18ULL << 16) | (0x8e00ULL << 32));
        put64(0x2000 + v * 16 + 8, 0);
    }
    fram[0x500] = 0xf4;     /* hlt */
    fram[0x501] = 0xeb;     /* jmp back */
    fram[0x502] = 0xfd;
    put64(0x3000, 0);
    put64(0x3008, 0x00cf9a000000ffffULL);
    put64(0x3010, 0x00cf92000000ffffULL);
    put64(0x3018, 0x00af9a000000ffffULL);
    put64(0x3020, 0x00cffa000000ffffULL);
    put64(0x3028, 0x00cff2000000ffffULL);
    put64(0x4000, 0x5007);          /* PML4[0] → PDPT */
    put64(0x5000, 0x87);            /* 1 GiB identity, user */
}

static void fuzz_state(struct x86_state *s, int mode)
{
    x86_state_reset(s);
    for (int r = 0; r < 16; r++)
        s->gpr[r] = (rnd() & 1) ? rnd() : (rnd() & 0xffff);
    s->gpr[R_ESP] = 0x8000 + (rnd() & 0xff0);
    s->rflags = 0x2 | (rnd() & 0xcd5);
    if (rnd() & 1)
        s->cr4 |= CR4_OSFXSR;   /* exercise the SSE handlers too */
    if (mode == 0) {
        x86_state_real(s, 0, 0x7c00, 0);
        s->idtr.base = 0;
        s->idtr.limit = 0x3ff;
    } else {
        x86_state_flat32(s, 0x08, 0x10);
        s->gdtr.base = 0x3000;
        s->gdtr.limit = 0x2f;
        s->idtr.base = 0x1000;
        s->idtr.limit = 0x7ff;
        s->rip = 0x7c00;
        if (mode == 2) {
            s->cr0 |= CR0_PG;
            s->cr4 |= CR4_PAE;
            s->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
            s->cr3 = 0x4000;
            s->seg[SEG_CS] = (struct x86_seg){0, 0xffffffff, 0x18, 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G};
            s->idtr.base = 0x2000;
            s->idtr.limit = 0xfff;
            s->lstar = 0x500;
        }
    }
}

TEST(cpu_fuzz_random_code_never_crashes)
{
    fram = calloc(1, FRAM);
    struct cpu_bus bus = {.ram_ptr = z_ram_ptr, .mmio_read = z_mmio_read, .mmio_write = z_mmio_write,
                          .pio_in = z_pio_in, .pio_out = z_pio_out, .intr_ack = z_ack};
    struct cpu *c = test_cpu_new(&bus);
    setup_tables();
    int errors = 0, runs = 0;
    int stops[5] = {0};
    for (int it = 0; it < 60000; it++) {
        int mode = it % 3;
        /* Random code, sometimes biased to prefixes and 0F escapes. */
        for (int k = 0; k < 96; k++) {
            uint8_t b = (uint8_t)rnd();
            if ((rnd() & 7) == 0)
                b = (uint8_t[]){0x0f, 0x66, 0x67, 0xf3, 0xf2, 0x48, 0x41, 0xf0}[rnd() & 7];
            fram[0x7c00 + k] = b;
        }
        /* Scribble on a data area the code may point at. */
        for (int k = 0; k < 16; k++)
            fram[0x8000 + (rnd() & 0xfff)] = (uint8_t)rnd();
        struct x86_state s;
        fuzz_state(&s, mode);
        cpu_set_state(c, &s);
        if (rnd() & 1)
            cpu_set_intr(c, true);
        enum cpu_stop r = cpu_run(c, 500, NULL);
        cpu_set_intr(c, false);
        runs++;
        if (r <= CPU_STOP_ERROR)
            stops[r]++;
        if (r == CPU_STOP_ERROR && errors++ < 3) {
            printf("  fuzz run %d (mode %d): internal error: %s\n", it, mode, cpu_error(c));
        }
        /* The tables must survive guest scribbling for the next run. */
        if ((it & 255) == 0)
            setup_tables();
    }
    printf("  cpu_fuzz: %d runs: budget %d, hlt %d, shutdown %d, error %d\n", runs,
           stops[CPU_STOP_BUDGET], stops[CPU_STOP_HLT], stops[CPU_STOP_SHUTDOWN], stops[CPU_STOP_ERROR]);
    /* Internal errors are allowed only for documented unsupported features
     * (task switches, fetching from MMIO); they must stay rare. */
    CHECK(stops[CPU_STOP_ERROR] * 100 < runs);
    cpu_free(c);
    free(fram);
}
