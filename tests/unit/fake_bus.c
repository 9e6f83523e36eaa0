/* See fake_bus.h. */
#include "fake_bus.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

static uint8_t *f_ram_ptr(void *o, uint64_t pa, bool w)
{
    struct fake *f = o;
    (void)w;
    if (pa >= RAM_SIZE || (pa >= MMIO_BASE && pa < MMIO_END))
        return NULL;
    return f->ram + pa;
}
static uint64_t f_mmio_read(void *o, uint64_t pa, unsigned sz)
{
    struct fake *f = o;
    f->mmio_reads++;
    f->mmio_addr = pa;
    return 0x8877665544332211ULL & (sz == 8 ? ~0ULL : (1ULL << (8 * sz)) - 1);
}
static void f_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz)
{
    struct fake *f = o;
    (void)sz;
    f->mmio_writes++;
    f->mmio_addr = pa;
    f->mmio_val = v;
}
static uint32_t f_pio_in(void *o, uint16_t port, unsigned sz)
{
    (void)o;
    if (port == 0x60)
        return 0x5a;
    return (uint32_t)(port + sz);
}
static void f_pio_out(void *o, uint16_t port, uint32_t v, unsigned sz)
{
    struct fake *f = o;
    (void)sz;
    if (port == 0xe9 && f->nout < (int)sizeof(f->out) - 1)
        f->out[f->nout++] = (char)v;
}
static int f_intr_ack(void *o)
{
    struct fake *f = o;
    f->acks++;
    cpu_set_intr(f->cpu, false);
    return f->intr_vec;
}

struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->ram = calloc(1, RAM_SIZE);
    f->bus = (struct cpu_bus){.opaque = f, .ram_ptr = f_ram_ptr, .mmio_read = f_mmio_read,
                              .mmio_write = f_mmio_write, .pio_in = f_pio_in,
                              .pio_out = f_pio_out, .intr_ack = f_intr_ack};
    f->cpu = test_cpu_new(&f->bus);
    return f;
}
void fake_free(struct fake *f)
{
    cpu_free(f->cpu);
    free(f->ram);
    free(f);
}

/* Loads code at 0x7c00 and starts in real mode at 0000:7C00 (SP 0x7000). */
enum cpu_stop run_real(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_real(st, 0, 0x7c00, 0);
    st->gpr[R_ESP] = 0x7000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 10000000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}
/* Flat 32-bit protected mode (CS 0x08, data 0x10), paging off. */
enum cpu_stop run_flat32(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_flat32(st, 0x08, 0x10);
    st->rip = 0x7c00;
    st->gpr[R_ESP] = 0x9000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 10000000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}
