/* The KVM engine's public side: what the board and tests may ask of it
 * besides struct accel_ops (accel/kvm.c, accel/kvm_probe.c). */
#ifndef ACCEL_KVM_H
#define ACCEL_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct kvm_cpuid2;

/* Guest-physical addresses KVM needs for itself on Intel without
 * "unrestricted guest" (real mode runs as vm86 inside VMX): one page of
 * identity-map page table, then three pages of TSS. They sit just below the
 * 256 KiB firmware window (0xfffc0000). A larger firmware (up to 16 MiB,
 * from 0xff000000) moves them below that, where QEMU keeps them. The guest
 * must not use these 16 KiB: worth an e820 reserved entry, as QEMU does. */
#define KVM_IDENTITY_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR      (KVM_IDENTITY_ADDR + 0x1000)
#define KVM_IDENTITY_ADDR_LARGE_FW 0xfeffc000ULL
#define KVM_PRIVATE_SIZE  0x4000ULL
/* Largest firmware image the engine maps below 4 GiB. */
#define KVM_MAX_BIOS_SIZE 0x1000000ULL

/* After the engine's init: where the identity map and TSS pages are. */
uint64_t kvm_private_base(const struct machine *m);

/* After the engine's init: true when the PIC, PIT, IOAPIC and LAPIC live in
 * the kernel (the same as m->irqchip_in_kernel). The kernel then owns ports
 * 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1, 0x40-0x43, 0x61 and the MMIO pages at
 * 0xfec00000 and 0xfee00000: accesses there never reach the board. */
bool kvm_irqchip_in_kernel(const struct machine *m);

/* The vCPU's KVM file descriptor (-1 if none): for tests and debugging
 * tools that need an ioctl the engine does not wrap. */
struct vcpu;
int kvm_vcpu_fd(const struct vcpu *v);
int kvm_vm_fd(const struct machine *m);

/* ---- engine internals shared by kvm.c and kvm_probe.c ---- */

/* accel_ops.probe: gathers this host's kvm_host_facts (static checks, then
 * the run-time probe below) and returns kvm_probe_verdict's. */
bool kvm_probe(char *why, size_t len);

/* Result of the run-time probe: a throwaway VM runs a guest that goes from
 * real mode to protected mode to long mode with paging and loops. */
struct kvm_probe_result {
    bool ok;
    bool timed_out;         /* too slow, rather than an error */
    int stage;              /* last stage the guest reported: 1 real, 2 protected, 3 long, 4 done */
    uint64_t elapsed_ns;    /* first KVM_RUN to the final report (or to the failure) */
    uint64_t cpu_ns;        /* of which this thread's CPU time (guest + KVM) */
    char detail[192];       /* what went wrong, e.g. "KVM_EXIT_INTERNAL_ERROR (suberror 1: ...)" */
};

/* Opens nothing: uses the /dev/kvm fd given. sse: the long-mode part also
 * runs SSE instructions (an emulating KVM often cannot); without, only the
 * speed is judged. Too slow means still running
 * after budget_ns with at least half of it on this thread's CPU (a thread
 * the host starved gets up to 4 budgets of wall time); a watchdog thread
 * interrupts KVM_RUN, so it never hangs. */
void kvm_probe_run(int kvm_fd, uint64_t budget_ns, bool sse, struct kvm_probe_result *r);
/* What kvm_probe judges, gathered from the host (or written by a test):
 * the verdict depends on nothing else. Checked in this order, and fields
 * after the first failing one are not looked at. */
struct kvm_host_facts {
    bool dev_exists;            /* /dev/kvm exists */
    int open_errno;             /* 0 when open("/dev/kvm", O_RDWR) succeeded */
    bool mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm;   /* in /sys/module */
    bool cpu_vmx, cpu_svm;      /* flags in /proc/cpuinfo */
    int api_version;            /* KVM_GET_API_VERSION */
    const char *missing_cap;    /* first capability KVM lacks, NULL if none */
    struct kvm_probe_result probe;   /* the run-time probe (kvm_probe_run) */
};
/* Usable or not, and why (one line naming what was found). */
bool kvm_probe_verdict(const struct kvm_host_facts *f, char *why, size_t len);
/* The kind of KVM the facts describe (see kvm_host_kind). */
const char *kvm_host_kind_of(const struct kvm_host_facts *f, char *buf, size_t len);
/* What kind of KVM this host has: "kvm_intel", "kvm_amd", "PVM-style nested
 * KVM, module kvm_pvm", ... (always a printable string). */
const char *kvm_host_kind(char *buf, size_t len, bool *is_pvm);
/* KVM_GET_SUPPORTED_CPUID into a malloc'd table (NULL on failure). */
struct kvm_cpuid2 *kvm_get_supported_cpuid(int kvm_fd);
/* The name of a KVM_EXIT_* reason ("KVM_EXIT_IO"), or NULL if unknown. */
const char *kvm_exit_name(uint32_t reason);
/* KVM_GET_DIRTY_LOG's bitmap for a slot of npages pages (bit i = page i,
 * in 64-bit words as the kernel writes them) ORed into out (npages bits);
 * bits past npages in the last word are ignored. Returns the number of
 * dirty pages found. Pure: the renderer's merge, tested on made-up logs. */
size_t kvm_dirty_log_merge(uint64_t *out, const uint64_t *log, size_t npages);
/* The no-op SIGUSR1 handler (installed without SA_RESTART) used to kick
 * KVM_RUN. Idempotent. */
void kvm_install_kick_signal(void);

#endif
