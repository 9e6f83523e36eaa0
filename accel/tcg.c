/* The software CPU engine: runs cpu/ (the block interpreter) on a vCPU
 * thread, connects its bus to the machine (RAM, MMIO, port I/O, the PIC's
 * acknowledge), sleeps on HLT until an interrupt or a kick, and provides
 * the -d in_asm,exec,cpu,int traces and crash dumps (capstone is used for
 * disassembly there only, never on the execution path). */
#include "accel/accel.h"
#include "hw/machine.h"
#include "cpu/cpu.h"
#include "accel/tcg_stats.h"
#include "accel/tcg_pg.h"
#include "accel/tcg_ram.h"
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct tcg_vcpu {
    struct vcpu *v;
    struct cpu *cpu;
    struct cpu_bus bus;
    csh cs[3];              /* 16, 32, 64-bit */
    bool cs_ok[3];
    struct tcg_ram_track ram;   /* RAM-like device memory (accel/tcg_ram.c) */
};

/* ---- bus ---- */

static uint8_t *tcg_ram_ptr(void *opaque, uint64_t paddr, bool write)
{
    struct tcg_vcpu *t = opaque;
    struct machine *m = t->v->m;
    uint64_t page = paddr & ~0xfffULL;
    uint8_t *p = machine_phys_ptr(m, page, 0x1000);
    if (!p)
        return tcg_ram_track_ptr(&t->ram, m, paddr, write);
    /* The firmware image is ROM: writes go to the MMIO path (dropped). */
    if (write && m->bios && p >= m->bios && p < m->bios + m->bios_size)
        return NULL;
    return p + (paddr - page);
}

static uint64_t tcg_mmio_read(void *opaque, uint64_t paddr, unsigned size)
{
    struct tcg_vcpu *t = opaque;
    return machine_mmio_read(t->v->m, paddr, size);
}

static void tcg_mmio_write(void *opaque, uint64_t paddr, uint64_t val, unsigned size)
{
    struct tcg_vcpu *t = opaque;
    machine_mmio_write(t->v->m, paddr, val, size);
}

static uint32_t tcg_pio_in(void *opaque, uint16_t port, unsigned size)
{
    struct tcg_vcpu *t = opaque;
    return machine_pio_in(t->v->m, port, size);
}

static void tcg_pio_out(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    struct tcg_vcpu *t = opaque;
    machine_pio_out(t->v->m, port, val, size);
}

static int tcg_intr_ack(void *opaque)
{
    struct tcg_vcpu *t = opaque;
    /* machine_intr_ack counts the injection (one place for every engine). */
    return machine_intr_ack(t->v->m);
}

/* The local APIC's MSRs and CR8 (hw/pc_apic.c takes the device lock). */
static int tcg_msr_read(void *opaque, uint32_t msr, uint64_t tsc, uint64_t *val)
{
    struct tcg_vcpu *t = opaque;
    return machine_apic_msr(t->v->m, t->v->index, msr, tsc, val, false);
}

static int tcg_msr_write(void *opaque, uint32_t msr, uint64_t tsc, uint64_t val)
{
    struct tcg_vcpu *t = opaque;
    return machine_apic_msr(t->v->m, t->v->index, msr, tsc, &val, true);
}

static uint8_t tcg_cr8_read(void *opaque)
{
    struct tcg_vcpu *t = opaque;
    return (uint8_t)machine_apic_cr8(t->v->m, t->v->index, -1);
}

static void tcg_cr8_write(void *opaque, uint8_t v)
{
    struct tcg_vcpu *t = opaque;
    machine_apic_cr8(t->v->m, t->v->index, v);
}

/* ---- disassembly for traces ---- */

/* Host code (x86-64 hosts only: the one JIT backend so far). */
static void disas_host(struct tcg_vcpu *t, FILE *f, const uint8_t *code, unsigned len)
{
    if (!t->cs_ok[2]) {
        fprintf(f, "  (%u bytes, no disassembler)\n", len);
        return;
    }
    cs_insn *insn;
    size_t n = cs_disasm(t->cs[2], code, len, (uint64_t)(uintptr_t)code, 0, &insn);
    for (size_t j = 0; j < n; j++)
        fprintf(f, "  0x%016" PRIx64 ":  %-8s %s\n", insn[j].address, insn[j].mnemonic, insn[j].op_str);
    if (n)
        cs_free(insn, n);
}

static int bits_idx(int bits)
{
    return bits == 64 ? 2 : bits == 32 ? 1 : 0;
}

static void disas(struct tcg_vcpu *t, FILE *f, uint64_t lin, const uint8_t *code, unsigned len,
                  int bits, unsigned max_insns)
{
    int k = bits_idx(bits);
    if (!t->cs_ok[k]) {
        fprintf(f, "  0x%016" PRIx64 ": (%u bytes, no disassembler)\n", lin, len);
        return;
    }
    cs_insn *insn;
    size_t n = cs_disasm(t->cs[k], code, len, lin, max_insns, &insn);
    for (size_t j = 0; j < n; j++)
        fprintf(f, "  0x%016" PRIx64 ":  %-8s %s\n", insn[j].address, insn[j].mnemonic, insn[j].op_str);
    if (n)
        cs_free(insn, n);
    else
        fprintf(f, "  0x%016" PRIx64 ": (undecodable)\n", lin);
}

static void trace_in_asm(void *opaque, uint64_t lin, uint64_t phys, const uint8_t *code,
                         unsigned len, int bits)
{
    struct tcg_vcpu *t = opaque;
    struct machine *m = t->v->m;
    FILE *f = m->log ? m->log : stderr;
    fprintf(f, "IN: lin 0x%" PRIx64 " phys 0x%" PRIx64 " (%d-bit)\n", lin, phys, bits);
    disas(t, f, lin, code, len, bits, 0);
    fprintf(f, "\n");
}

static void trace_exec(void *opaque, uint64_t lin, uint64_t cs_base)
{
    struct tcg_vcpu *t = opaque;
    struct machine *m = t->v->m;
    FILE *f = m->log ? m->log : stderr;
    (void)cs_base;
    if (m->cfg->debug_mask & DBG_EXEC)
        fprintf(f, "Trace: lin 0x%" PRIx64 "\n", lin);
    if (m->cfg->debug_mask & DBG_CPU) {
        struct x86_state s;
        cpu_get_state(t->cpu, &s);
        x86_state_dump(&s, f);
    }
}

static void trace_out_asm(void *opaque, uint64_t lin, const uint8_t *host, unsigned len)
{
    struct tcg_vcpu *t = opaque;
    struct machine *m = t->v->m;
    FILE *f = m->log ? m->log : stderr;
    fprintf(f, "OUT: [guest lin 0x%" PRIx64 "] %u bytes of host code\n", lin, len);
    disas_host(t, f, host, len);
    fprintf(f, "\n");
}

static void trace_intr(void *opaque, int vec, bool has_err, uint32_t err, uint64_t rip, bool hw)
{
    struct tcg_vcpu *t = opaque;
    machine_log(t->v->m, DBG_INT, "%s %d (0x%02x)%s err=0x%x at rip 0x%" PRIx64 "\n",
                hw ? "interrupt" : "exception", vec, vec, has_err ? "" : " no", err, rip);
}

/* ---- engine ---- */

static bool tcg_probe(char *why, size_t len)
{
    snprintf(why, len, "software CPU");
    return true;
}

static int tcg_init(struct machine *m)
{
    return tcg_pg_init(m);
}

static int tcg_vcpu_init(struct vcpu *v)
{
    struct tcg_vcpu *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->v = v;
    t->bus = (struct cpu_bus){.opaque = t, .ram_ptr = tcg_ram_ptr, .mmio_read = tcg_mmio_read,
                              .mmio_write = tcg_mmio_write, .pio_in = tcg_pio_in,
                              .pio_out = tcg_pio_out, .intr_ack = tcg_intr_ack};
    if (machine_has_lapic(v->m)) {
        t->bus.msr_read = tcg_msr_read;
        t->bus.msr_write = tcg_msr_write;
        t->bus.cr8_read = tcg_cr8_read;
        t->bus.cr8_write = tcg_cr8_write;
        t->bus.apic = true;
        t->bus.apic_id = (uint8_t)v->index;
    }
    t->cpu = cpu_new(&t->bus);
    if (!t->cpu || tcg_pg_vcpu(v->m, t->cpu) < 0) {
        cpu_free(t->cpu);
        free(t);
        return -1;
    }
    static const int modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
    for (int k = 0; k < 3; k++)
        t->cs_ok[k] = cs_open(CS_ARCH_X86, modes[k], &t->cs[k]) == CS_ERR_OK;
    unsigned dm = v->m->cfg->debug_mask;
    if (dm & (DBG_IN_ASM | DBG_EXEC | DBG_CPU | DBG_INT | DBG_OUT_ASM)) {
        struct cpu_trace tr = {
            .opaque = t,
            .in_asm = (dm & DBG_IN_ASM) ? trace_in_asm : NULL,
            .exec = (dm & (DBG_EXEC | DBG_CPU)) ? trace_exec : NULL,
            .intr = (dm & DBG_INT) ? trace_intr : NULL,
            .out_asm = (dm & DBG_OUT_ASM) ? trace_out_asm : NULL,
        };
        cpu_set_trace(t->cpu, &tr);
    }
    /* -accel tcg,jit=: translated code by default where this host has a
     * backend; the interpreter elsewhere (same results, slower). */
    const struct accel_config *ac = &v->m->cfg->accel;
    enum cpu_jit_mode jm = ac->jit == ACCEL_JIT_OFF ? CPU_JIT_OFF
                         : ac->jit == ACCEL_JIT_VERIFY ? CPU_JIT_VERIFY : CPU_JIT_ON;
    if (jm != CPU_JIT_OFF &&
        cpu_set_jit(t->cpu, jm, (size_t)ac->tb_size_mb << 20) < 0) {
        if (ac->jit != ACCEL_JIT_DEFAULT && v->index == 0)
            fprintf(stderr, "tremu: warning: %s; running the interpreter\n",
                    cpu_jit_available() ? "cannot map the JIT code cache"
                                        : "no JIT backend for this host");
    }
    v->priv = t;
    return 0;
}

static void tcg_dump(struct vcpu *v, FILE *f)
{
    struct tcg_vcpu *t = v->priv;
    if (!t)
        return;
    struct x86_state s;
    cpu_get_state(t->cpu, &s);
    x86_state_dump(&s, f);
    fprintf(f, "instructions retired: %" PRIu64 "\n", cpu_icount(t->cpu));
    uint64_t pcs[16];
    int n = cpu_recent_pcs(t->cpu, pcs, 16);
    if (n) {
        fprintf(f, "last blocks (linear):");
        for (int k = 0; k < n; k++)
            fprintf(f, " %" PRIx64, pcs[k]);
        fprintf(f, "\n");
    }
    uint8_t code[64];
    uint64_t lin = s.seg[SEG_CS].base + s.rip;
    int bits = cpu_code_bits(t->cpu);
    if (bits != 64)
        lin &= 0xffffffffULL;
    unsigned got = cpu_read_code(t->cpu, lin, code, sizeof(code));
    if (got) {
        fprintf(f, "code at CS:RIP:\n");
        disas(t, f, lin, code, got, bits, 4);
    }
}

static enum vcpu_exit tcg_vcpu_run(struct vcpu *v)
{
    struct tcg_vcpu *t = v->priv;
    struct machine *m = v->m;
    for (;;) {
        tcg_ram_sync(&t->ram, t->cpu);
        uint64_t ic0 = cpu_icount(t->cpu);
        enum cpu_stop s = cpu_run(t->cpu, 1u << 22, &v->exit_request);
        stats_add(&m->stats, STAT_INSN_RETIRED, cpu_icount(t->cpu) - ic0);
        switch (s) {
        case CPU_STOP_BUDGET:
            continue;
        case CPU_STOP_EXIT_REQUEST:
            atomic_store(&v->exit_request, 0);
            return VCPU_EXIT_KICK;
        case CPU_STOP_SHUTDOWN:
            if (m->cfg->debug_mask & (DBG_GUEST_ERRORS | DBG_INT | DBG_CPU)) {
                FILE *f = m->log ? m->log : stderr;
                fprintf(f, "tremu: tcg: triple fault\n");
                tcg_dump(v, f);
            }
            return VCPU_EXIT_SHUTDOWN;
        case CPU_STOP_HLT:
            stats_count(&m->stats, STAT_HLT);
            if (!cpu_interrupts_enabled(t->cpu)) {
                if (m->cfg->debug_mask & DBG_GUEST_ERRORS)
                    tcg_dump(v, m->log ? m->log : stderr);
                return VCPU_EXIT_DEAD_HALT;
            }
            /* Sleep until the PIC raises INTR or someone kicks us: an idle
             * guest must not burn a host core. */
            pthread_mutex_lock(&v->halt_lock);
            while (!atomic_load(&v->intr_line) && !atomic_load(&v->exit_request))
                pthread_cond_wait(&v->halt_cond, &v->halt_lock);
            pthread_mutex_unlock(&v->halt_lock);
            cpu_set_intr(t->cpu, atomic_load(&v->intr_line) != 0);
            continue;
        case CPU_STOP_ERROR:
        default: {
            FILE *f = m->log ? m->log : stderr;
            fprintf(f, "tremu: tcg: %s\n", cpu_error(t->cpu));
            tcg_dump(v, f);
            uint64_t lin;
            unsigned glen, hlen;
            const uint8_t *host;
            if (cpu_jit_failed_block(t->cpu, &lin, &glen, &host, &hlen)) {
                uint8_t code[64 * 15];
                int bits = cpu_code_bits(t->cpu);
                unsigned got = cpu_read_code(t->cpu, lin, code, glen < sizeof(code) ? glen : sizeof(code));
                fprintf(f, "guest block at 0x%" PRIx64 ":\n", lin);
                disas(t, f, lin, code, got, bits, 0);
                fprintf(f, "its host code:\n");
                disas_host(t, f, host, hlen);
            }
            return VCPU_EXIT_ERROR;
        }
        }
    }
}

static void tcg_vcpu_kick(struct vcpu *v)
{
    atomic_store(&v->exit_request, 1);
    pthread_mutex_lock(&v->halt_lock);
    pthread_cond_broadcast(&v->halt_cond);
    pthread_mutex_unlock(&v->halt_lock);
}

static int tcg_get_state(struct vcpu *v, struct x86_state *s)
{
    struct tcg_vcpu *t = v->priv;
    cpu_get_state(t->cpu, s);
    return 0;
}

static int tcg_set_state(struct vcpu *v, const struct x86_state *s)
{
    struct tcg_vcpu *t = v->priv;
    cpu_set_state(t->cpu, s);
    return 0;
}

static void tcg_intr_changed(struct vcpu *v)
{
    struct tcg_vcpu *t = v->priv;
    if (!t)
        return;
    cpu_set_intr(t->cpu, atomic_load(&v->intr_line) != 0);
    pthread_mutex_lock(&v->halt_lock);
    pthread_cond_broadcast(&v->halt_cond);
    pthread_mutex_unlock(&v->halt_lock);
}

static void tcg_nmi(struct vcpu *v)
{
    struct tcg_vcpu *t = v->priv;
    if (!t)
        return;
    cpu_nmi(t->cpu);
    /* Wakes a halted vCPU: its HLT wait looks at INTR and kicks only. */
    tcg_vcpu_kick(v);
}

static void tcg_invalidate_phys(struct machine *m, uint64_t paddr, uint64_t len)
{
    for (int i = 0; i < m->nvcpus; i++) {
        struct tcg_vcpu *t = m->vcpu[i].priv;
        if (t)
            cpu_invalidate_phys(t->cpu, paddr, len);
    }
}

static void tcg_ram_dirty(struct machine *m, struct ram_backing *rb, uint64_t *out)
{
    for (int i = 0; i < m->nvcpus; i++) {
        struct tcg_vcpu *t = m->vcpu[i].priv;
        if (t && tcg_ram_collect(&t->ram, rb, out))
            tcg_vcpu_kick(&m->vcpu[i]);
    }
}

static void tcg_ram_region(struct machine *m, struct ram_backing *rb, uint64_t gpa, bool added)
{
    for (int i = 0; i < m->nvcpus; i++) {
        struct tcg_vcpu *t = m->vcpu[i].priv;
        if (t) {
            tcg_ram_request_flush(&t->ram);
            tcg_vcpu_kick(&m->vcpu[i]);
        }
    }
}

static void tcg_set_a20(struct vcpu *v, bool enabled)
{
    struct tcg_vcpu *t = v->priv;
    if (t)
        cpu_set_a20(t->cpu, enabled);
}

/* Machine reset: the A20 gate opens again (the CPU's reset line does not
 * touch it on real hardware, but the chipset's reset does, as in QEMU). */
static int tcg_reset(struct vcpu *v)
{
    tcg_set_a20(v, true);
    return 0;
}

static void tcg_destroy(struct machine *m)
{
    struct cpu *cpus[MAX_VCPUS] = {0};
    for (int i = 0; i < m->nvcpus; i++)
        cpus[i] = m->vcpu[i].priv ? ((struct tcg_vcpu *)m->vcpu[i].priv)->cpu : NULL;
    tcg_pg_destroy(m, cpus, m->nvcpus);
    for (int i = 0; i < m->nvcpus; i++) {
        struct tcg_vcpu *t = m->vcpu[i].priv;
        if (!t)
            continue;
        for (int k = 0; k < 3; k++)
            if (t->cs_ok[k])
                cs_close(&t->cs[k]);
        cpu_free(t->cpu);
        tcg_ram_free(&t->ram);
        free(t);
        m->vcpu[i].priv = NULL;
    }
}

/* -d stats / info exits: the software CPU's counters under the common
 * names (accel/tcg_stats.c), summed over the vCPUs. */
static void tcg_collect_stats(struct machine *m, struct stats_snapshot *snap)
{
    struct cpu_counters sum;
    struct cpu_jit_stats js = {0};
    uint64_t decoded = 0;
    memset(&sum, 0, sizeof(sum));
    for (int i = 0; i < m->nvcpus; i++) {
        struct tcg_vcpu *t = m->vcpu[i].priv;
        if (!t)
            continue;
        struct cpu_counters k;
        cpu_get_counters(t->cpu, &k);
        cpu_counters_merge(&sum, &k);
        struct cpu_jit_stats s;
        cpu_get_jit_stats(t->cpu, &s);
        tcg_jit_stats_add(&js, &s);
        decoded += cpu_blocks_decoded(t->cpu);
    }
    tcg_counters_snapshot(&sum, snap);
    stats_set(snap, SC_INSN_RETIRED, atomic_load(&m->stats.event[STAT_INSN_RETIRED]));
    tcg_jit_snapshot(&js, decoded, snap);
}

const struct accel_ops accel_tcg_ops = {
    .collect_stats = tcg_collect_stats,
    .name = "tcg",
    .probe = tcg_probe,
    .init = tcg_init,
    .vcpu_init = tcg_vcpu_init,
    .vcpu_run = tcg_vcpu_run,
    .vcpu_kick = tcg_vcpu_kick,
    .get_state = tcg_get_state,
    .set_state = tcg_set_state,
    .intr_changed = tcg_intr_changed,
    .nmi = tcg_nmi,
    .board_lapic = true,
    .dump = tcg_dump,
    .invalidate_phys = tcg_invalidate_phys,
    .set_a20 = tcg_set_a20,
    .ram_region = tcg_ram_region,
    .ram_dirty = tcg_ram_dirty,
    .reset = tcg_reset,
    .destroy = tcg_destroy,
};
