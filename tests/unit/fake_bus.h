/* The fake bus the software CPU's unit tests run on: a malloc'd RAM with
 * an MMIO hole, a port log (port 0xe9 collects output) and an interrupt
 * source. */
#ifndef TESTS_UNIT_FAKE_BUS_H
#define TESTS_UNIT_FAKE_BUS_H

#include "cpu/cpu.h"

#define RAM_SIZE (4u << 20)
#define MMIO_BASE 0xa0000u      /* [0xa0000, 0xc0000) is MMIO on the fake bus */
#define MMIO_END  0xc0000u

struct fake {
    uint8_t *ram;
    struct cpu_bus bus;
    struct cpu *cpu;
    char out[256];
    int nout;
    int intr_vec;
    int acks;
    uint64_t mmio_addr, mmio_val;
    int mmio_writes, mmio_reads;
};

struct fake *fake_new(void);         /* CPU made by test_cpu_new (TREMU_TEST_JIT) */
void fake_free(struct fake *f);
/* Loads code at 0x7c00 and starts in real mode at 0000:7C00 (SP 0x7000). */
enum cpu_stop run_real(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st);
/* Flat 32-bit protected mode (CS 0x08, data 0x10), paging off, at 0x7c00. */
enum cpu_stop run_flat32(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st);

#endif
