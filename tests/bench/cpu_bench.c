/* Interpreter speed on simple loops (flat 32-bit protected mode, fake bus).
 * Build and run from the repository root:
 *   make libtremu.a && cc -O2 -I. tests/bench/cpu_bench.c libtremu.a \
 *       $(pkg-config --libs capstone) -lpthread -o /tmp/cpu_bench && /tmp/cpu_bench
 * Prints one line per loop: guest instructions retired per second. */
#include "cpu/cpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAM_SIZE (1u << 20)
static uint8_t *ram;

static uint8_t *ram_ptr(void *o, uint64_t pa, bool w) { (void)o; (void)w; return pa < RAM_SIZE ? ram + pa : NULL; }
static uint64_t mmio_read(void *o, uint64_t pa, unsigned sz) { (void)o; (void)pa; (void)sz; return ~0ULL; }
static void mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz) { (void)o; (void)pa; (void)v; (void)sz; }
static uint32_t pio_in(void *o, uint16_t p, unsigned sz) { (void)o; (void)p; (void)sz; return ~0u; }
static void pio_out(void *o, uint16_t p, uint32_t v, unsigned sz) { (void)o; (void)p; (void)v; (void)sz; }
static int intr_ack(void *o) { (void)o; return -1; }

struct loop {
    const char *name;
    const uint8_t *code;
    size_t len;
    uint32_t iters;
};

/* xor eax,eax; l: add eax,ecx; mov edx,eax; dec ecx; jnz l; hlt */
static const uint8_t alu[] = {0x31, 0xc0, 0x01, 0xc8, 0x89, 0xc2, 0x49, 0x75, 0xf9, 0xf4};
/* xor eax,eax; mov esi,0x20000; mov edi,0x30000;
 * l: mov eax,[esi]; add [edi],eax; add esi,4; and esi,0x20ffc; dec ecx; jnz l; hlt */
static const uint8_t mem[] = {0x31, 0xc0, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xbf, 0x00, 0x00, 0x03, 0x00,
                              0x8b, 0x06, 0x01, 0x07, 0x83, 0xc6, 0x04, 0x81, 0xe6, 0xfc, 0x0f, 0x02,
                              0x00, 0x49, 0x75, 0xf0, 0xf4};
/* l: call f; dec ecx; jnz l; hlt; f: ret */
static const uint8_t call[] = {0xe8, 0x04, 0x00, 0x00, 0x00, 0x49, 0x75, 0xf8, 0xf4, 0xc3};

int main(void)
{
    static const struct loop loops[] = {
        {"alu loop (add/mov/dec/jnz)", alu, sizeof(alu), 50000000},
        {"memory loop (load/rmw/add/and)", mem, sizeof(mem), 20000000},
        {"call/ret loop", call, sizeof(call), 20000000},
    };
    ram = calloc(1, RAM_SIZE);
    struct cpu_bus bus = {.ram_ptr = ram_ptr, .mmio_read = mmio_read, .mmio_write = mmio_write,
                          .pio_in = pio_in, .pio_out = pio_out, .intr_ack = intr_ack};
    struct cpu *c = cpu_new(&bus);
    for (size_t k = 0; k < sizeof(loops) / sizeof(loops[0]); k++) {
        memcpy(ram + 0x7c00, loops[k].code, loops[k].len);
        cpu_invalidate_phys(c, 0x7c00, loops[k].len);
        struct x86_state s;
        x86_state_reset(&s);
        x86_state_flat32(&s, 0x08, 0x10);
        s.rip = 0x7c00;
        s.gpr[R_ESP] = 0x9000;
        s.gpr[R_ECX] = loops[k].iters;
        cpu_set_state(c, &s);
        uint64_t n0 = cpu_icount(c);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        enum cpu_stop r = cpu_run(c, ~0ULL >> 1, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        uint64_t n = cpu_icount(c) - n0;
        printf("%-34s %6.1f M insns/s (%llu insns, %.2f s)%s\n", loops[k].name, (double)n / sec / 1e6,
               (unsigned long long)n, sec, r == CPU_STOP_HLT ? "" : "  [did not reach HLT]");
    }
    cpu_free(c);
    free(ram);
    return 0;
}
