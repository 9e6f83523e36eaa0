/* The software x86-64 CPU: an interpreter over pre-decoded blocks.
 *
 * Guest code is decoded once into blocks (arrays of struct insn, each with
 * a handler pointer and its operands) keyed by guest-physical address and
 * CPU mode; the run loop dispatches through the handler pointers ("threaded"
 * code) and never re-decodes. A write to a page holding decoded code drops
 * its blocks. cpu/ sees the machine only through struct cpu_bus. */
#ifndef CPU_CPU_H
#define CPU_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "cpu/bus.h"
#include "cpu/counters.h"
#include "cpu/state.h"

struct cpu;

struct cpu *cpu_new(const struct cpu_bus *bus);
void cpu_free(struct cpu *c);
void cpu_set_state(struct cpu *c, const struct x86_state *s);
void cpu_get_state(struct cpu *c, struct x86_state *s);

enum cpu_stop {
    CPU_STOP_BUDGET,        /* budget instructions retired */
    CPU_STOP_HLT,           /* HLT and nothing can be taken now */
    CPU_STOP_SHUTDOWN,      /* triple fault */
    CPU_STOP_EXIT_REQUEST,  /* *exit_request was non-zero at a block boundary */
    CPU_STOP_ERROR,         /* internal error; cpu_error() says why */
};

/* Runs until budget instructions are retired, HLT, triple fault, or
 * *exit_request becomes non-zero (checked at block boundaries). */
enum cpu_stop cpu_run(struct cpu *c, uint64_t budget, _Atomic int *exit_request);
/* Level of the INTR line from the PIC (any thread). */
void cpu_set_intr(struct cpu *c, bool level);
/* Edge on the NMI pin (any thread). */
void cpu_nmi(struct cpu *c);
uint64_t cpu_icount(const struct cpu *c);
/* Blocks decoded so far (for stats and tests of the code cache). */
uint64_t cpu_blocks_decoded(const struct cpu *c);
/* DMA/loader writes to RAM: drop decoded code overlapping the range.
 * Callable from any thread; takes effect at the CPU's next block boundary
 * (before pending interrupts are looked at) or at the next cpu_run. */
void cpu_invalidate_phys(struct cpu *c, uint64_t paddr, uint64_t len);
/* Forgets every cached translation (soft TLB, jump cache): the bus now
 * answers ram_ptr differently (device memory moved, or write pointers to
 * pages whose writes must be seen again). vCPU thread, or CPU stopped. */
void cpu_flush_tlb(struct cpu *c);
/* The A20 gate (port 0x92 bit 1, i8042 output port): when closed, physical
 * address bit 20 reads as 0 (the 8086 wrap-around). Open at power-on here;
 * call from the vCPU thread or while it is stopped. */
void cpu_set_a20(struct cpu *c, bool enabled);
/* True if HLT is in effect (cpu_run returned CPU_STOP_HLT and nothing woke it). */
bool cpu_halted(const struct cpu *c);
/* IF in the guest's RFLAGS (the engine uses it to tell a dead HLT). */
bool cpu_interrupts_enabled(const struct cpu *c);
const char *cpu_error(const struct cpu *c);

/* Tracing hooks for the engine (-d in_asm,exec,int). Called only when set;
 * cpu/ itself never disassembles. */
struct cpu_trace {
    void *opaque;
    /* A block was decoded: bytes at guest linear address lin (phys addr phys). */
    void (*in_asm)(void *opaque, uint64_t lin, uint64_t phys, const uint8_t *code,
                   unsigned len, int bits);
    /* A block is about to run. */
    void (*exec)(void *opaque, uint64_t lin, uint64_t cs_base);
    /* An interrupt or exception is being delivered. */
    void (*intr)(void *opaque, int vec, bool has_err, uint32_t err, uint64_t rip, bool hw);
    /* A block was translated to host code (-d out_asm). */
    void (*out_asm)(void *opaque, uint64_t lin, const uint8_t *host, unsigned len);
};
void cpu_set_trace(struct cpu *c, const struct cpu_trace *t);

/* The last executed block starts (linear RIP, most recent last) for crash dumps.
 * Returns the number written (at most max). */
int cpu_recent_pcs(const struct cpu *c, uint64_t *pcs, int max);
/* Reads guest code bytes at a linear address through the current paging
 * mode without faulting; returns the number of bytes read. */
unsigned cpu_read_code(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len);
/* Code size of the current mode: 16, 32 or 64. */
int cpu_code_bits(const struct cpu *c);

/* Binary translation of the decoded blocks (cpu/jit/). OFF: the
 * interpreter runs everything (the only engine where the host has no
 * backend); ON: blocks that ran jit_threshold times run as host code;
 * VERIFY: every translated block also runs in the interpreter from the same
 * state and the run stops (CPU_STOP_ERROR, cpu_error says where) at the
 * first difference in registers, flags, memory writes or exceptions. */
enum cpu_jit_mode { CPU_JIT_OFF, CPU_JIT_ON, CPU_JIT_VERIFY };
/* Whether this build can translate on this host. */
bool cpu_jit_available(void);
/* Sets the mode and the code cache size in bytes (0: the default).
 * Returns -1 (and stays on the interpreter) when there is no backend or
 * the cache cannot be mapped. */
int cpu_set_jit(struct cpu *c, enum cpu_jit_mode mode, size_t cache_bytes);
struct cpu_jit_stats {
    uint64_t blocks;        /* blocks translated */
    uint64_t bytes;         /* host code emitted, over all flushes */
    uint64_t ns;            /* time spent translating */
    uint64_t flushes;       /* whole-cache flushes (cache full) */
    uint64_t links;         /* direct jumps patched between translations */
    uint64_t verified;      /* jit=verify: blocks run both ways and compared */
    uint64_t unverifiable;  /* jit=verify: blocks with I/O, MMIO or timing reads */
    uint64_t cache_size;    /* bytes */
    uint64_t cache_used;    /* bytes */
};
void cpu_get_jit_stats(const struct cpu *c, struct cpu_jit_stats *s);
/* Exit-cause counters (cpu/counters.h), copied for any thread. */
void cpu_get_counters(const struct cpu *c, struct cpu_counters *out);
/* Runs of a block before it is translated (default 2; verify: 1). */
void cpu_set_jit_threshold(struct cpu *c, unsigned runs);
/* After a jit=verify stop: the block that differed (guest linear address
 * and length; its host code). False if none. */
bool cpu_jit_failed_block(const struct cpu *c, uint64_t *lin, unsigned *guest_len,
                          const uint8_t **host, unsigned *host_len);
/* Default size of the code cache. */
#define CPU_JIT_DEFAULT_CACHE (64u << 20)

/* Popek–Goldberg class of an instruction (recorded in the decode tables). */
enum pg_class {
    PG_INNOCUOUS = 0,
    PG_PRIVILEGED,          /* traps when CPL > 0 */
    PG_SENSITIVE,           /* sensitive but unprivileged (Robin & Irvine) */
};
/* Decodes one instruction at bytes[0..len) for the given mode (16/32/64)
 * and returns its length (0: invalid/too short), its class and a short
 * mnemonic-free name of the table entry; for teaching views and tests. */
unsigned cpu_classify(const uint8_t *bytes, unsigned len, int bits, enum pg_class *cls);

/* The Popek–Goldberg mode (cpu/pg.c, docs/popek-goldberg.md): what a
 * classic trap-and-emulate VMM would see if it ran guest ring 0 in ring 1.
 * LOG: the guest runs correctly; privileged instructions at CPL 0 are
 * counted as traps, sensitive-but-unprivileged ones are logged where their
 * de-privileged result would differ. NAIVE: the guest gets those results. */
enum cpu_pg_mode { CPU_PG_OFF, CPU_PG_LOG, CPU_PG_NAIVE };
struct cpu_pg_config {
    enum cpu_pg_mode mode;
    FILE *log;              /* NULL: stderr */
    unsigned full;          /* occurrences per instruction logged in full (0: 5) */
    /* Optional: one line of disassembly of the instruction at lin. */
    void (*disas)(void *opaque, char *out, size_t outlen, uint64_t lin,
                  const uint8_t *code, unsigned len, int bits);
    void *opaque;
};
/* Call before the CPU first runs. -1 if out of memory. */
int cpu_set_pg(struct cpu *c, const struct cpu_pg_config *cfg);
/* The table at exit, summed over n CPUs (mode off: prints nothing). */
void cpu_pg_summary(struct cpu *const *cpus, int n, FILE *f);
/* pg=naive: where the guest first got a de-privileged result (false: never). */
bool cpu_pg_divergence(const struct cpu *c, char *buf, size_t len);

/* Optional CPU features (-cpu ...,+umip): off unless offered. */
#define CPU_FEAT_UMIP 1u        /* CPUID.7.0:ECX[2], CR4.UMIP (SDM vol. 3, 2.5) */
void cpu_set_features(struct cpu *c, uint32_t features);

#endif
