/* The interface every engine implements (tcg: our CPU, kvm: /dev/kvm).
 * The board (hw/machine.c) owns the vCPU threads and calls these; engines
 * reach devices only through machine_pio_in/out, machine_mmio_read/write and machine_intr_ack,
 * which take the device lock. */
#ifndef ACCEL_ACCEL_H
#define ACCEL_ACCEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include "cpu/state.h"

struct machine;
struct stats_snapshot;
struct ram_backing;

enum vcpu_exit {
    VCPU_EXIT_KICK,       /* asked to stop (request pending on the machine) */
    VCPU_EXIT_SHUTDOWN,   /* triple fault: the board resets (or exits with -no-reboot) */
    VCPU_EXIT_DEAD_HALT,  /* HLT with IF=0 and nothing that can wake it */
    VCPU_EXIT_ERROR,      /* engine cannot continue; message already printed */
};

struct vcpu {
    struct machine *m;
    int index;
    void *priv;                    /* the engine's own per-vCPU data */
    pthread_t thread;
    _Atomic int exit_request;      /* set by kicks; engines check it often */
    _Atomic int intr_line;         /* level of the PIC's INTR output */
    /* HLT support for engines that emulate HLT in user space. */
    pthread_mutex_t halt_lock;
    pthread_cond_t halt_cond;
};

struct accel_ops {
    const char *name;
    /* Can this engine run here? On failure, writes a one-line reason. */
    bool (*probe)(char *why, size_t len);
    /* Create the VM: RAM, interrupt controller choice. 0 or -1 (message printed). */
    int (*init)(struct machine *m);
    int (*vcpu_init)(struct vcpu *v);
    /* Run until something the board must handle, or a kick. */
    enum vcpu_exit (*vcpu_run)(struct vcpu *v);
    /* Called from any thread: make vcpu_run return soon (exit_request is set). */
    void (*vcpu_kick)(struct vcpu *v);
    /* Machine reset: power-on state for everything x86_state does not carry
     * (engine-wide state such as an in-kernel irqchip is reset through the
     * first vCPU). Called before set_state loads the boot state. Optional. */
    int (*reset)(struct vcpu *v);
    int (*get_state)(struct vcpu *v, struct x86_state *s);
    int (*set_state)(struct vcpu *v, const struct x86_state *s);
    /* The PIC's INTR output changed (user-space interrupt controller). */
    void (*intr_changed)(struct vcpu *v);
    /* An NMI from the board's local APIC (any thread). Optional. */
    void (*nmi)(struct vcpu *v);
    /* The vCPUs take interrupts from the board's local APIC model
     * (hw/lapic.c) through intr_changed/machine_intr_ack and its MSRs through
     * machine_apic_msr_*: tcg. */
    bool board_lapic;
    /* In-kernel irqchip (init sets m->irqchip_in_kernel): drive a GSI there. */
    void (*set_gsi)(struct machine *m, int gsi, int level);
    void (*dump)(struct vcpu *v, FILE *f);
    /* A device (DMA) or the board wrote guest RAM behind the CPU's back:
     * drop anything the engine derived from it (tcg: decoded code). Any
     * thread. Optional (KVM: the hardware sees RAM directly). */
    void (*invalidate_phys)(struct machine *m, uint64_t paddr, uint64_t len);
    /* The A20 gate (port 0x92, i8042 output port). Called on the vCPU
     * thread that did the OUT. Optional. */
    void (*set_a20)(struct vcpu *v, bool enabled);
    /* Device memory that is RAM-like (struct ram_backing, hw/iomap.h) was
     * mapped at gpa or unmapped (a BAR moved); device lock held, any
     * thread. tcg: forget cached translations; kvm: a memory slot with
     * KVM_MEM_LOG_DIRTY_PAGES. Optional. */
    void (*ram_region)(struct machine *m, struct ram_backing *rb, uint64_t gpa, bool added);
    /* OR into out (rb->len / 4096 bits) the pages of rb the guest may have
     * written behind the device's handlers since the last call (tcg: pages
     * its TLB could write; kvm: KVM_GET_DIRTY_LOG). Device lock held. Optional. */
    void (*ram_dirty)(struct machine *m, struct ram_backing *rb, uint64_t *out);
    void (*destroy)(struct machine *m);
    /* -d stats, info exits: the engine's counters under the common names
     * (hw/stats.h), after the board's. Any thread, while running. Optional. */
    void (*collect_stats)(struct machine *m, struct stats_snapshot *s);
};

extern const struct accel_ops accel_tcg_ops;
extern const struct accel_ops accel_kvm_ops;

/* -accel parsing and selection. */
/* -accel tcg,jit=: the default is on where the host has a JIT backend. */
enum accel_jit { ACCEL_JIT_DEFAULT, ACCEL_JIT_OFF, ACCEL_JIT_ON, ACCEL_JIT_VERIFY };
/* -accel tcg,pg=: see docs/popek-goldberg.md. */
enum accel_pg { ACCEL_PG_OFF, ACCEL_PG_LOG, ACCEL_PG_NAIVE };

struct accel_config {
    char names[4][16];       /* candidates in order (auto = kvm, tcg) */
    int count;
    bool fallback;           /* kvm requested explicitly: fall back to tcg with a warning */
    bool kernel_irqchip;     /* kvm: in-kernel PIC/PIT */
    bool kernel_irqchip_set;
    bool is_auto;
    int jit;                 /* tcg: enum accel_jit */
    unsigned tb_size_mb;     /* tcg: code cache size, 0 = default */
    int pg;                  /* tcg: enum accel_pg (Popek–Goldberg mode) */
    unsigned pg_timeout;     /* tcg, pg=naive: seconds before the run is ended (0: 30) */
    uint32_t cpu_features;   /* tcg: CPU_FEAT_* offered (-cpu max, +umip) */
};

/* Parses "auto", "kvm", "tcg", "kvm:tcg", with ",kernel-irqchip=on|off,fallback=on|off",
 * ",jit=on|off|verify,tb-size=MiB,pg=off|log|naive,pg-timeout=SECONDS" (tcg).
 * Returns 0 or -1 with a message in err. Several -accel options add candidates. */
int accel_parse(struct accel_config *cfg, const char *arg, char *err, size_t errlen);
/* Picks the engine and prints one line saying which and why (to stderr). */
const struct accel_ops *accel_select(const struct accel_config *cfg, bool quiet);
const struct accel_ops *accel_by_name(const char *name);

#endif
