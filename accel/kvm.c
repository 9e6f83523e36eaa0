/* The KVM engine: the host CPU runs the guest through /dev/kvm, and every
 * exit KVM gives back to user space (port I/O, MMIO, HLT, interrupt
 * windows, errors) is dispatched to the board and counted in the stats.
 *
 * The sequence follows kvmtool and Firecracker: create the VM, give it the
 * TSS/identity-map pages, map RAM and firmware as memory slots, optionally
 * create the in-kernel PIC/IOAPIC/PIT, then per vCPU: create it, mmap its
 * kvm_run area, set CPUID, MSRs, FPU and (in-kernel irqchip) the LAPIC's
 * LINT0/LINT1 wiring. Documentation: Linux Documentation/virt/kvm/api.rst. */
#include "accel/accel.h"
#include "accel/kvm.h"
#include "accel/kvm_stats.h"
#include "hw/machine.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id            /* glibc < 2.38 lacks the alias */
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define SLOT_LOWMEM  0
#define SLOT_HIGHMEM 1
#define SLOT_BIOS    2
#define SLOT_LOWMEM_ABOVE_VGA 3     /* low RAM above the VGA window (-vga std) */
#define SLOT_DEVRAM  8              /* RAM-like device memory (the VGA framebuffer)... */
#define MAX_DEVRAM   4              /* ...up to this many regions */

#define NREASONS 64
#define PAGE_SIZE_4K 4096ULL

/* KVM paravirtual MSRs (Documentation/virt/kvm/x86/msr.rst): cleared at
 * reset so the kernel stops writing into memory the rebooted guest owns. */
#define MSR_KVM_SYSTEM_TIME      0x12
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01
#define MSR_KVM_ASYNC_PF_EN      0x4b564d02
#define MSR_KVM_STEAL_TIME       0x4b564d03
#define MSR_KVM_PV_EOI_EN        0x4b564d04
#define MSR_MTRR_DEF_TYPE        0x2ff

/* Local APIC register offsets (SDM vol. 3, 11.4.1, table 11-1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

struct kvm_vm {
    int kvm_fd, vm_fd;
    long run_size;
    bool readonly_mem;
    bool irqchip;
    uint64_t private_base;       /* identity map + TSS pages */
    size_t xsave_size;           /* 0: no KVM_GET_XSAVE, use KVM_GET_FPU */
    bool xsave2;
    struct kvm_cpuid2 *supported;
    /* KVM maps whole host pages, and m->bios comes from malloc: the guest
     * sees a page-aligned mirror of it, refreshed when the board reloads it. */
    uint8_t *bios_mirror;
    size_t bios_mirror_size;
    uint64_t bios_gpa, bios_end;
    /* In-kernel irqchip power-on state, put back on machine reset. */
    struct kvm_irqchip chip_reset[3];
    struct kvm_pit_state2 pit_reset;
    bool have_chip_reset, have_pit_reset;
    int reason_id[NREASONS];
    int reason_other;
    /* RAM-backed device regions (framebuffers) mapped as memory slots
     * SLOT_DEVRAM + i with KVM_MEM_LOG_DIRTY_PAGES. */
    struct { struct ram_backing *rb; uint64_t gpa; bool mapped; } devram[MAX_DEVRAM];
    uint64_t *dirty_log;         /* KVM_GET_DIRTY_LOG buffer */
    size_t dirty_log_words;
};

struct kvm_vcpu_priv {
    int fd;
    struct kvm_run *run;
    pthread_mutex_t kick_lock;
    bool in_run;                 /* vcpu_run active on `thread` (kick_lock) */
    _Atomic int in_guest;        /* inside ioctl(KVM_RUN) */
    pthread_t thread;
    struct kvm_lapic_state lapic_reset;
    bool have_lapic_reset;
    bool has_tsc_aux;
    int stats_fd;                /* KVM_GET_STATS_FD, -1: none */
};

static struct kvm_vm *vm_of(const struct machine *m)
{
    return m->accel_priv;
}

bool kvm_irqchip_in_kernel(const struct machine *m)
{
    return m->irqchip_in_kernel;
}

uint64_t kvm_private_base(const struct machine *m)
{
    const struct kvm_vm *vm = m->accel_priv;
    return vm ? vm->private_base : 0;
}

int kvm_vm_fd(const struct machine *m)
{
    const struct kvm_vm *vm = m->accel_priv;
    return vm ? vm->vm_fd : -1;
}

int kvm_vcpu_fd(const struct vcpu *v)
{
    const struct kvm_vcpu_priv *p = v->priv;
    return p ? p->fd : -1;
}

static FILE *log_file(struct machine *m)
{
    return m->log ? m->log : stderr;
}

static int vm_ioctl_retry(int fd, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* ---- stats ---- */

static void count_exit(struct machine *m, uint32_t reason)
{
    struct kvm_vm *vm = vm_of(m);
    int id = reason < NREASONS ? vm->reason_id[reason] : -1;
    stats_count_reason(&m->stats, id >= 0 ? id : vm->reason_other);
}

static void register_reasons(struct machine *m)
{
    struct kvm_vm *vm = vm_of(m);
    /* Registered up front: stats_reason_id is not thread-safe, the run
     * loop only counts. */
    static const uint32_t used[] = {
        KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_HLT, KVM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_INTR,
        KVM_EXIT_SHUTDOWN, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_FAIL_ENTRY, KVM_EXIT_UNKNOWN,
        KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_DEBUG, KVM_EXIT_EXCEPTION, KVM_EXIT_HYPERCALL,
        KVM_EXIT_NMI, KVM_EXIT_TPR_ACCESS, KVM_EXIT_SET_TPR, KVM_EXIT_IOAPIC_EOI,
    };
    for (int i = 0; i < NREASONS; i++)
        vm->reason_id[i] = -1;
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        const char *n = kvm_exit_name(used[i]);
        if (n && used[i] < NREASONS)
            vm->reason_id[used[i]] = stats_reason_id(&m->stats, n);
    }
    vm->reason_other = stats_reason_id(&m->stats, "KVM_EXIT_(other)");
}

/* ---- memory ---- */

static int set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host, uint32_t flags)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .flags = flags, .guest_phys_addr = gpa,
        .memory_size = size, .userspace_addr = (uintptr_t)host,
    };
    return vm_ioctl_retry(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

size_t kvm_dirty_log_merge(uint64_t *out, const uint64_t *log, size_t npages)
{
    size_t n = 0, words = (npages + 63) / 64;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = log[i];
        if (i == words - 1 && (npages & 63))
            w &= (1ULL << (npages & 63)) - 1;
        out[i] |= w;
        n += (size_t)__builtin_popcountll(w);
    }
    return n;
}

/* A framebuffer BAR mapped or moved: a memory slot that logs the pages the
 * guest writes, so the display redraws only those and KVM never exits on
 * a framebuffer write. */
static void kvm_ram_region(struct machine *m, struct ram_backing *rb, uint64_t gpa, bool added)
{
    struct kvm_vm *vm = vm_of(m);
    if (!vm)
        return;
    int i, free_i = -1;
    for (i = 0; i < MAX_DEVRAM && vm->devram[i].rb != rb; i++)
        if (!vm->devram[i].rb && free_i < 0)
            free_i = i;
    if (i == MAX_DEVRAM) {
        if (!added || free_i < 0)
            return;
        i = free_i;
        vm->devram[i].rb = rb;
    }
    if (vm->devram[i].mapped) {
        set_slot(vm, SLOT_DEVRAM + (uint32_t)i, vm->devram[i].gpa, 0, rb->host, 0);
        vm->devram[i].mapped = false;
    }
    if (!added)
        return;
    if (set_slot(vm, SLOT_DEVRAM + (uint32_t)i, gpa, rb->len, rb->host, KVM_MEM_LOG_DIRTY_PAGES) < 0) {
        machine_log(m, 0, "tremu: kvm: cannot map device memory at 0x%llx (%s): its accesses "
                    "exit to the device model instead\n", (unsigned long long)gpa, strerror(errno));
        return;
    }
    vm->devram[i].gpa = gpa;
    vm->devram[i].mapped = true;
    /* Everything counts as written once: the log starts empty. */
    for (uint64_t pg = 0; pg < rb->len >> 12; pg++)
        ram_backing_mark(rb, pg << 12);
}

static void kvm_ram_dirty(struct machine *m, struct ram_backing *rb, uint64_t *out)
{
    struct kvm_vm *vm = vm_of(m);
    for (int i = 0; vm && i < MAX_DEVRAM; i++) {
        if (vm->devram[i].rb != rb || !vm->devram[i].mapped)
            continue;
        size_t npages = (size_t)(rb->len >> 12), words = (npages + 63) / 64;
        if (vm->dirty_log_words < words) {
            uint64_t *p = realloc(vm->dirty_log, words * 8);
            if (!p)
                return;
            vm->dirty_log = p;
            vm->dirty_log_words = words;
        }
        memset(vm->dirty_log, 0, words * 8);
        struct kvm_dirty_log d = {.slot = SLOT_DEVRAM + (uint32_t)i, .dirty_bitmap = vm->dirty_log};
        if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
            /* No log: redraw everything rather than miss a change. */
            memset(vm->dirty_log, 0xff, words * 8);
        }
        kvm_dirty_log_merge(out, vm->dirty_log, npages);
    }
}

/* Maps (or refreshes) the firmware below 4 GiB. Called whenever a state is
 * set, because the board loads the firmware after the engine's init and
 * again on reset. */
static int sync_bios(struct machine *m)
{
    struct kvm_vm *vm = vm_of(m);
    if (!m->bios || !m->bios_size)
        return 0;
    size_t want = (size_t)((m->bios_size + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1));
    if (m->bios_size > KVM_MAX_BIOS_SIZE ||
        0x100000000ULL - want < vm->private_base + KVM_PRIVATE_SIZE) {
        machine_log(m, 0, "tremu: kvm: a firmware image of %llu KiB does not fit below 4 GiB "
                    "(KVM's own pages are at 0x%llx)\n", (unsigned long long)(m->bios_size >> 10),
                    (unsigned long long)vm->private_base);
        return -1;
    }
    if (want != vm->bios_mirror_size) {
        if (vm->bios_mirror) {
            /* Size 0 deletes the slot. */
            set_slot(vm, SLOT_BIOS, vm->bios_gpa, 0, vm->bios_mirror, 0);
            munmap(vm->bios_mirror, vm->bios_mirror_size);
            vm->bios_mirror = NULL;
            vm->bios_mirror_size = 0;
        }
        uint8_t *p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            machine_log(m, 0, "tremu: kvm: cannot map the firmware: %s\n", strerror(errno));
            return -1;
        }
        vm->bios_mirror = p;
        vm->bios_mirror_size = want;
        vm->bios_gpa = 0x100000000ULL - want;
        vm->bios_end = 0x100000000ULL;
        if (set_slot(vm, SLOT_BIOS, vm->bios_gpa, want, p,
                     vm->readonly_mem ? KVM_MEM_READONLY : 0) < 0) {
            machine_log(m, 0, "tremu: kvm: KVM_SET_USER_MEMORY_REGION (firmware): %s\n",
                        strerror(errno));
            return -1;
        }
    }
    /* The image ends at 4 GiB; a partial first page stays zero. */
    memcpy(vm->bios_mirror + (want - m->bios_size), m->bios, m->bios_size);
    return 0;
}

/* ---- in-kernel irqchip ---- */

/* GSI routing as QEMU's pc machine sets it (and as the board's ACPI/MP
 * tables must describe it): ISA IRQ n goes to PIC pin n and IOAPIC pin n,
 * except IRQ 0 (PIT), which reaches IOAPIC pin 2 (the usual interrupt
 * source override); GSI 2 is the PIC cascade. */
static int set_gsi_routing(struct kvm_vm *vm)
{
    size_t n = 0, max = 48;
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(struct kvm_irq_routing_entry));
    if (!r)
        return -1;
    for (uint32_t gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2)
            continue;
        struct kvm_irq_routing_entry *e = &r->entries[n++];
        e->gsi = gsi;
        e->type = KVM_IRQ_ROUTING_IRQCHIP;
        e->u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
        e->u.irqchip.pin = gsi & 7;
    }
    for (uint32_t gsi = 0; gsi < 24; gsi++) {
        if (gsi == 2)
            continue;
        struct kvm_irq_routing_entry *e = &r->entries[n++];
        e->gsi = gsi;
        e->type = KVM_IRQ_ROUTING_IRQCHIP;
        e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        e->u.irqchip.pin = gsi == 0 ? 2 : gsi;
    }
    r->nr = (uint32_t)n;
    int rc = vm_ioctl_retry(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
    free(r);
    return rc;
}

/* -1: failed after the kernel created something; -2: nothing created. */
static int create_irqchip(struct machine *m, bool quiet)
{
    struct kvm_vm *vm = vm_of(m);
    if (vm_ioctl_retry(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL) < 0) {
        if (!quiet)
            machine_log(m, 0, "tremu: kvm: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
        return -2;
    }
    /* The kernel's PIT also answers port 0x61 (speaker gate and OUT2), which
     * Linux reads to calibrate the TSC against PIT channel 2. */
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (vm_ioctl_retry(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_CREATE_PIT2: %s\n", strerror(errno));
        return -1;
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) > 0 && set_gsi_routing(vm) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_GSI_ROUTING: %s\n", strerror(errno));
        return -1;
    }
    vm->have_chip_reset = true;
    for (int i = 0; i < 3; i++) {
        vm->chip_reset[i].chip_id = (uint32_t)i;
        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &vm->chip_reset[i]) < 0)
            vm->have_chip_reset = false;
    }
    vm->have_pit_reset = ioctl(vm->vm_fd, KVM_GET_PIT2, &vm->pit_reset) == 0;
    return 0;
}

static void kvm_set_gsi(struct machine *m, int gsi, int level)
{
    struct kvm_vm *vm = vm_of(m);
    if (!vm || !vm->irqchip || gsi < 0 || gsi >= 24)
        return;
    struct kvm_irq_level l = {.irq = (uint32_t)gsi, .level = level ? 1 : 0};
    if (vm_ioctl_retry(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        machine_log(m, DBG_INT, "tremu: kvm: KVM_IRQ_LINE %d: %s\n", gsi, strerror(errno));
}

/* ---- init ---- */

static void kvm_destroy(struct machine *m);

static int kvm_init(struct machine *m)
{
    struct kvm_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return -1;
    vm->kvm_fd = vm->vm_fd = -1;
    m->accel_priv = vm;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        machine_log(m, 0, "tremu: kvm: cannot open /dev/kvm: %s\n", strerror(errno));
        goto fail;
    }
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        machine_log(m, 0, "tremu: kvm: unsupported KVM API version\n");
        goto fail;
    }
    vm->vm_fd = vm_ioctl_retry(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_CREATE_VM: %s\n", strerror(errno));
        goto fail;
    }
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size < (long)sizeof(struct kvm_run)) {
        machine_log(m, 0, "tremu: kvm: KVM_GET_VCPU_MMAP_SIZE failed\n");
        goto fail;
    }
    /* Intel without unrestricted guest needs these for real mode; both
     * must be set before the first vCPU exists, so before the board loads
     * the firmware: its size comes from the file. */
    uint64_t fw = m->bios_size;
    struct stat fst;
    if (!fw && m->cfg->bios && stat(m->cfg->bios, &fst) == 0)
        fw = (uint64_t)fst.st_size;
    vm->private_base = fw > 0x100000000ULL - (KVM_IDENTITY_ADDR + KVM_PRIVATE_SIZE)
                       ? KVM_IDENTITY_ADDR_LARGE_FW : KVM_IDENTITY_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)(vm->private_base + 0x1000)) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_TSS_ADDR: %s\n", strerror(errno));
        goto fail;
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        uint64_t id = vm->private_base;
        if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &id) < 0) {
            machine_log(m, 0, "tremu: kvm: KVM_SET_IDENTITY_MAP_ADDR: %s\n", strerror(errno));
            goto fail;
        }
    }
    vm->readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
        vm->xsave_size = sizeof(struct kvm_xsave);
        int x2 = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
        if (x2 > 0) {
            vm->xsave2 = true;
            if ((size_t)x2 > vm->xsave_size)
                vm->xsave_size = (size_t)x2;
        }
    }
    /* With a VGA, 0xa0000-0xbffff is the adapter's window (MMIO exits). */
    bool vga_hole = m->cfg->vga && m->lowmem > 0xc0000;
    if (vga_hole && set_slot(vm, SLOT_LOWMEM_ABOVE_VGA, 0xc0000, m->lowmem - 0xc0000,
                             m->ram + 0xc0000, 0) < 0) {
        machine_log(m, 0, "tremu: kvm: cannot map guest RAM: %s\n", strerror(errno));
        goto fail;
    }
    if (m->lowmem && set_slot(vm, SLOT_LOWMEM, 0, vga_hole ? 0xa0000 : m->lowmem, m->ram, 0) < 0) {
        machine_log(m, 0, "tremu: kvm: cannot map guest RAM: %s\n", strerror(errno));
        goto fail;
    }
    if (m->highmem && set_slot(vm, SLOT_HIGHMEM, HIGHMEM_BASE, m->highmem, m->ram + m->lowmem, 0) < 0) {
        machine_log(m, 0, "tremu: kvm: cannot map guest RAM above 4 GiB: %s\n", strerror(errno));
        goto fail;
    }
    if (sync_bios(m) < 0)
        goto fail;
    vm->supported = kvm_get_supported_cpuid(vm->kvm_fd);
    if (!vm->supported) {
        machine_log(m, 0, "tremu: kvm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
        goto fail;
    }

    const struct accel_config *ac = &m->cfg->accel;
    bool have = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0 &&
                ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) > 0;
    bool want = ac->kernel_irqchip_set ? ac->kernel_irqchip : have;
    if (want && !have) {
        machine_log(m, 0, "tremu: kvm: kernel-irqchip=on, but this KVM has no in-kernel irqchip\n");
        goto fail;
    }
    if (want) {
        int r = create_irqchip(m, !ac->kernel_irqchip_set);
        if (r == -2 && !ac->kernel_irqchip_set) {
            /* Only the default asked for it: the board's PIC will do. */
            machine_log(m, 0, "tremu: kvm: no in-kernel irqchip (%s); using kernel-irqchip=off\n",
                        strerror(errno));
        } else if (r < 0) {
            goto fail;
        } else {
            vm->irqchip = true;
        }
    }
    m->irqchip_in_kernel = vm->irqchip;
    register_reasons(m);
    kvm_install_kick_signal();
    return 0;
fail:
    kvm_destroy(m);
    return -1;
}

/* ---- CPUID ---- */

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn &&
            (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || c->entries[i].index == idx))
            return &c->entries[i];
    return NULL;
}

/* What the guest sees: the host CPU's features as KVM supports them (the
 * guest runs on it: SSE, AVX, SHA... are real), minus what this board does
 * not provide, with the hypervisor bit set and a one-CPU topology. */
static struct kvm_cpuid2 *build_cpuid(struct kvm_vm *vm, int index)
{
    size_t sz = sizeof(struct kvm_cpuid2) + vm->supported->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(sz);
    if (!c)
        return NULL;
    memcpy(c, vm->supported, sz);
    uint32_t apic_id = (uint32_t)index;
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* MONITOR/MWAIT (bit 3) is not emulated; DTES64/DS-CPL/VMX/SMX/
             * EST/TM2/PDCM/DCA describe hardware the guest does not own. */
            e->ecx &= ~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
                        (1u << 7) | (1u << 8) | (1u << 15) | (1u << 18));
            e->ecx |= 1u << 31;                           /* hypervisor */
            if (!vm->irqchip) {
                /* No local APIC at all: the board's PIC drives INTR. */
                e->ecx &= ~((1u << 21) | (1u << 24));     /* x2APIC, TSC-deadline */
                e->edx &= ~(1u << 9);                     /* APIC */
            }
            /* One logical CPU (KVM sets HTT itself since 6.x; with a count
             * of 1 the guest still sees one thread). */
            e->edx &= ~(1u << 28);
            e->ebx = (e->ebx & 0xff00) | (1u << 16) | (apic_id << 24);
            break;
        case 4:
            /* Deterministic cache parameters: one core, one thread. */
            e->eax &= ~((0x3fu << 26) | (0xfffu << 14));
            break;
        case 5:
            e->eax = e->ebx = e->ecx = e->edx = 0;        /* MONITOR/MWAIT */
            break;
        case 6:
            e->ecx &= ~(1u << 3);     /* no IA32_ENERGY_PERF_BIAS MSR behind it */
            break;
        case 0xb:
        case 0x1f:
            /* x2APIC topology: level 0 SMT, level 1 core, one CPU each. */
            if (e->index == 0) {
                e->eax = 0; e->ebx = 1; e->ecx = (1u << 8) | 0;
            } else if (e->index == 1) {
                e->eax = 0; e->ebx = 1; e->ecx = (2u << 8) | 1;
            } else {
                e->eax = 0; e->ebx = 0; e->ecx = e->index & 0xff;
            }
            e->edx = apic_id;
            break;
        case 0x40000001: {
            /* KVM paravirt features we stand behind: kvmclock (both MSR
             * sets, stable bit), no port-0x80 delays; PV EOI and PV unhalt
             * only with the in-kernel LAPIC that implements them. */
            uint32_t ok = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 24);
            if (vm->irqchip)
                ok |= (1u << 6) | (1u << 7);
            e->eax &= ok;
            e->ebx = e->ecx = e->edx = 0;
            break;
        }
        case 0x80000001:
            e->ecx &= ~((1u << 1) | (1u << 2));           /* CmpLegacy, SVM */
            break;
        case 0x80000008:
            e->ecx &= ~(0xffu | (0xfu << 12));            /* one core, ApicIdSize 0 */
            break;
        case 0x8000000a:
            e->eax = e->ebx = e->ecx = e->edx = 0;        /* SVM features */
            break;
        case 0x8000001e:
            e->eax = apic_id; e->ebx = 0; e->ecx = 0;     /* AMD extended APIC id */
            break;
        default:
            break;
        }
    }
    return c;
}

/* ---- MSRs, FPU, LAPIC ---- */

struct msr_list {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[32];
};

static void msr_add(struct msr_list *l, uint32_t idx, uint64_t val)
{
    if (l->hdr.nmsrs < 32) {
        l->e[l->hdr.nmsrs].index = idx;
        l->e[l->hdr.nmsrs].data = val;
        l->hdr.nmsrs++;
    }
}

/* KVM_SET_MSRS stops at the first MSR it refuses: skip that one (and say
 * so unless it is optional) and carry on with the rest. */
static int msrs_set(struct vcpu *v, struct msr_list *l, bool quiet)
{
    struct kvm_vcpu_priv *p = v->priv;
    uint32_t done = 0;
    int failed = 0;
    while (done < l->hdr.nmsrs) {
        struct msr_list part;
        memset(&part, 0, sizeof(part));
        part.hdr.nmsrs = l->hdr.nmsrs - done;
        memcpy(part.e, l->e + done, part.hdr.nmsrs * sizeof(part.e[0]));
        int r = ioctl(p->fd, KVM_SET_MSRS, &part);
        if (r < 0) {
            machine_log(v->m, 0, "tremu: kvm: KVM_SET_MSRS: %s\n", strerror(errno));
            return -1;
        }
        done += (uint32_t)r;
        if (done < l->hdr.nmsrs) {
            if (!quiet)
                machine_log(v->m, DBG_GUEST_ERRORS, "tremu: kvm: MSR 0x%x refused\n", l->e[done].index);
            failed++;
            done++;
        }
    }
    return failed;
}

/* The legacy region of the XSAVE image (SDM vol. 1, 13.4.1): FCW at 0,
 * FSW at 2, abridged FTW at 4, MXCSR at 24; the header's XSTATE_BV at 512. */
#define XS_FCW 0
#define XS_FSW 2
#define XS_FTW 4
#define XS_MXCSR 24
#define XS_REGS 32           /* ST0-7 and XMM0-15 up to 416 */
#define XS_XMM 160
#define XS_BV 512

static int xsave_get(struct vcpu *v, uint8_t *buf)
{
    struct kvm_vcpu_priv *p = v->priv;
    struct kvm_vm *vm = vm_of(v->m);
    return ioctl(p->fd, vm->xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, buf);
}

/* struct x86_state carries the FPU as the fields of a 64-bit FXSAVE image,
 * which is both the XSAVE legacy region and what struct kvm_fpu spells out
 * (SDM vol. 1, 10.5.1, table 10-2). FCS/FDS have no place in that format
 * and are not carried by KVM. */
static void fpu_to_fxsave(const struct x86_state *s, uint8_t *img)
{
    uint16_t fcw = s->fcw ? s->fcw : 0x37f;     /* a zeroed state: FNINIT */
    uint32_t mxcsr = s->mxcsr ? s->mxcsr : 0x1f80;
    memcpy(img + XS_FCW, &fcw, 2);
    memcpy(img + XS_FSW, &s->fsw, 2);
    img[XS_FTW] = s->ftw;
    img[XS_FTW + 1] = 0;
    memcpy(img + 6, &s->fop, 2);
    memcpy(img + 8, &s->fip, 8);
    memcpy(img + 16, &s->fdp, 8);
    memcpy(img + XS_MXCSR, &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++) {
        memset(img + XS_REGS + 16 * i, 0, 16);
        memcpy(img + XS_REGS + 16 * i, &s->st[i].mant, 8);
        memcpy(img + XS_REGS + 16 * i + 8, &s->st[i].sexp, 2);
    }
    memcpy(img + XS_XMM, s->xmm, 256);
}

static void fxsave_to_fpu(const uint8_t *img, struct x86_state *s)
{
    memcpy(&s->fcw, img + XS_FCW, 2);
    memcpy(&s->fsw, img + XS_FSW, 2);
    s->ftw = img[XS_FTW];
    memcpy(&s->fop, img + 6, 2);
    memcpy(&s->fip, img + 8, 8);
    memcpy(&s->fdp, img + 16, 8);
    memcpy(&s->mxcsr, img + XS_MXCSR, 4);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(&s->st[i].mant, img + XS_REGS + 16 * i, 8);
        memcpy(&s->st[i].sexp, img + XS_REGS + 16 * i + 8, 2);
    }
    memcpy(s->xmm, img + XS_XMM, 256);
}

/* reset: every XSAVE component to its init state, then the legacy region
 * from s. XSAVE is preferred, as in QEMU: the PVM host's KVM_GET_FPU loses
 * MXCSR while its XSAVE image keeps it. */
static int set_fpu(struct vcpu *v, const struct x86_state *s, bool reset)
{
    struct kvm_vcpu_priv *p = v->priv;
    struct kvm_vm *vm = vm_of(v->m);
    if (vm->xsave_size) {
        uint8_t *buf = calloc(1, vm->xsave_size);
        if (!buf)
            return -1;
        if (xsave_get(v, buf) < 0) {
            machine_log(v->m, 0, "tremu: kvm: KVM_GET_XSAVE: %s\n", strerror(errno));
            free(buf);
            return -1;
        }
        if (reset) {
            memset(buf, 0, XS_BV);
            memset(buf + XS_BV, 0, 64);      /* header: every component in init state */
        }
        fpu_to_fxsave(s, buf);
        /* The legacy region is only taken from the image when the x87 and
         * SSE components are marked present. */
        uint64_t bv;
        memcpy(&bv, buf + XS_BV, 8);
        bv |= 3;
        memcpy(buf + XS_BV, &bv, 8);
        int r = ioctl(p->fd, KVM_SET_XSAVE, buf);
        free(buf);
        if (r < 0) {
            machine_log(v->m, 0, "tremu: kvm: KVM_SET_XSAVE: %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    struct kvm_fpu fpu;
    uint8_t img[XS_XMM + 256];
    memset(&fpu, 0, sizeof(fpu));
    memset(img, 0, sizeof(img));
    fpu_to_fxsave(s, img);
    memcpy(&fpu.fcw, img + XS_FCW, 2);
    memcpy(&fpu.fsw, img + XS_FSW, 2);
    fpu.ftwx = img[XS_FTW];
    memcpy(&fpu.last_opcode, img + 6, 2);
    memcpy(&fpu.last_ip, img + 8, 8);
    memcpy(&fpu.last_dp, img + 16, 8);
    memcpy(&fpu.mxcsr, img + XS_MXCSR, 4);
    memcpy(fpu.fpr, img + XS_REGS, 128);
    memcpy(fpu.xmm, img + XS_XMM, 256);
    if (ioctl(p->fd, KVM_SET_FPU, &fpu) < 0) {
        machine_log(v->m, 0, "tremu: kvm: KVM_SET_FPU: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static uint32_t lapic_get(const struct kvm_lapic_state *s, int reg)
{
    uint32_t x;
    memcpy(&x, s->regs + reg, 4);
    return x;
}

static void lapic_put(struct kvm_lapic_state *s, int reg, uint32_t x)
{
    memcpy(s->regs + reg, &x, 4);
}

/* Virtual-wire mode for the BSP (MP spec 3.6.2.2, as Firecracker's
 * set_lint): the PIC's INTR enters through LINT0 as ExtINT, NMIs through
 * LINT1. Unmasked, so PIC interrupts flow before the guest sets up its
 * APIC (KVM accepts PIC interrupts only through an unmasked ExtINT LINT0). */
static int setup_lapic(struct vcpu *v)
{
    struct kvm_vcpu_priv *p = v->priv;
    struct kvm_lapic_state s;
    if (ioctl(p->fd, KVM_GET_LAPIC, &s) < 0) {
        machine_log(v->m, 0, "tremu: kvm: KVM_GET_LAPIC: %s\n", strerror(errno));
        return -1;
    }
    uint32_t lint0 = lapic_get(&s, APIC_LVT_LINT0), lint1 = lapic_get(&s, APIC_LVT_LINT1);
    /* Bits 8-10 delivery mode, 16 mask (SDM vol. 3, figure 11-8). */
    lint0 = (lint0 & ~0x10700u) | (APIC_MODE_EXTINT << 8);
    lint1 = (lint1 & ~0x10700u) | (APIC_MODE_NMI << 8);
    if (v->index != 0)
        lint0 |= 1u << 16;   /* only the BSP takes the PIC's output */
    lapic_put(&s, APIC_LVT_LINT0, lint0);
    lapic_put(&s, APIC_LVT_LINT1, lint1);
    if (ioctl(p->fd, KVM_SET_LAPIC, &s) < 0) {
        machine_log(v->m, 0, "tremu: kvm: KVM_SET_LAPIC: %s\n", strerror(errno));
        return -1;
    }
    p->lapic_reset = s;
    p->have_lapic_reset = true;
    return 0;
}

/* Power-on state of what struct x86_state does not carry: MSRs, FPU,
 * pending events, the LAPIC, the multiprocessing state. */
static int vcpu_reset(struct vcpu *v)
{
    struct kvm_vcpu_priv *p = v->priv;
    struct kvm_vm *vm = vm_of(v->m);
    struct msr_list l;
    memset(&l, 0, sizeof(l));
    msr_add(&l, MSR_IA32_MISC_ENABLE, 1);      /* fast strings (SDM vol. 4, table 2-2) */
    msr_add(&l, MSR_IA32_TSC, 0);
    msr_add(&l, MSR_IA32_SYSENTER_CS, 0);
    msr_add(&l, MSR_IA32_SYSENTER_ESP, 0);
    msr_add(&l, MSR_IA32_SYSENTER_EIP, 0);
    msr_add(&l, MSR_STAR, 0);
    msr_add(&l, MSR_LSTAR, 0);
    msr_add(&l, MSR_CSTAR, 0);
    msr_add(&l, MSR_SFMASK, 0);
    msr_add(&l, MSR_KERNEL_GS_BASE, 0);
    msr_add(&l, MSR_IA32_PAT, 0x0007040600070406ULL);
    struct kvm_cpuid_entry2 *f1 = cpuid_find(vm->supported, 1, 0);
    if (f1 && (f1->edx & (1u << 12)))
        msr_add(&l, MSR_MTRR_DEF_TYPE, (1u << 11) | 6);   /* MTRRs on, default write-back */
    if (msrs_set(v, &l, false) < 0)
        return -1;
    /* Paravirtual MSRs: may be refused when the feature is hidden. */
    memset(&l, 0, sizeof(l));
    msr_add(&l, MSR_KVM_SYSTEM_TIME, 0);
    msr_add(&l, MSR_KVM_SYSTEM_TIME_NEW, 0);
    msr_add(&l, MSR_KVM_ASYNC_PF_EN, 0);
    msr_add(&l, MSR_KVM_STEAL_TIME, 0);
    if (vm->irqchip)
        msr_add(&l, MSR_KVM_PV_EOI_EN, 0);
    if (msrs_set(v, &l, true) < 0)
        return -1;
    struct x86_state init;
    x86_state_reset(&init);
    if (set_fpu(v, &init, true) < 0)
        return -1;
    /* No pending exception, interrupt or NMI, no interrupt shadow (the
     * flags make KVM take nmi.pending and the shadow from us as well). */
    struct kvm_vcpu_events ev;
    memset(&ev, 0, sizeof(ev));
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
    if (ioctl(p->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
        machine_log(v->m, 0, "tremu: kvm: KVM_SET_VCPU_EVENTS: %s\n", strerror(errno));
        return -1;
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
        struct kvm_xcrs x;
        memset(&x, 0, sizeof(x));
        x.nr_xcrs = 1;
        x.xcrs[0].xcr = 0;
        x.xcrs[0].value = 1;    /* x87 only, the power-on XCR0 */
        ioctl(p->fd, KVM_SET_XCRS, &x);
    }
    if (vm->irqchip && p->have_lapic_reset && ioctl(p->fd, KVM_SET_LAPIC, &p->lapic_reset) < 0) {
        machine_log(v->m, 0, "tremu: kvm: KVM_SET_LAPIC: %s\n", strerror(errno));
        return -1;
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) > 0) {
        struct kvm_mp_state mp = {
            .mp_state = (v->index == 0 || !vm->irqchip) ? KVM_MP_STATE_RUNNABLE
                                                        : KVM_MP_STATE_UNINITIALIZED,
        };
        if (ioctl(p->fd, KVM_SET_MP_STATE, &mp) < 0) {
            machine_log(v->m, 0, "tremu: kvm: KVM_SET_MP_STATE: %s\n", strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int kvm_vcpu_init(struct vcpu *v)
{
    struct machine *m = v->m;
    struct kvm_vm *vm = vm_of(m);
    struct kvm_vcpu_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->fd = -1;
    p->stats_fd = -1;
    p->run = MAP_FAILED;
    pthread_mutex_init(&p->kick_lock, NULL);
    v->priv = p;
    p->fd = vm_ioctl_retry(vm->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)v->index);
    if (p->fd < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_CREATE_VCPU: %s\n", strerror(errno));
        return -1;
    }
    p->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (p->run == MAP_FAILED) {
        machine_log(m, 0, "tremu: kvm: mmap of kvm_run: %s\n", strerror(errno));
        return -1;
    }
    struct kvm_cpuid2 *c = build_cpuid(vm, v->index);
    if (!c || ioctl(p->fd, KVM_SET_CPUID2, c) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_CPUID2: %s\n", strerror(errno));
        free(c);
        return -1;
    }
    struct kvm_cpuid_entry2 *x = cpuid_find(c, 0x80000001, 0);
    struct kvm_cpuid_entry2 *s7 = cpuid_find(c, 7, 0);
    p->has_tsc_aux = (x && (x->edx & (1u << 27))) || (s7 && (s7->ecx & (1u << 22)));
    free(c);
    if (vm->irqchip && setup_lapic(v) < 0)
        return -1;
    if (vcpu_reset(v) < 0)
        return -1;
#ifdef KVM_GET_STATS_FD
    /* The kernel's own per-vCPU counters (Linux 5.14+), for -d stats. */
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0)
        p->stats_fd = ioctl(p->fd, KVM_GET_STATS_FD, NULL);
#endif
    return 0;
}


/* ---- state conversion ---- */

static void seg_to_kvm(struct kvm_segment *k, const struct x86_seg *s)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->sel;
    k->type = SEGA_TYPE(s->attr);
    k->s = (s->attr & SEGA_S) != 0;
    k->dpl = SEGA_DPL(s->attr);
    k->present = (s->attr & SEGA_P) != 0;
    k->avl = (s->attr & SEGA_AVL) != 0;
    k->l = (s->attr & SEGA_L) != 0;
    k->db = (s->attr & SEGA_DB) != 0;
    k->g = (s->attr & SEGA_G) != 0;
    k->unusable = (s->attr & SEGA_UNUSABLE) != 0;
}

static void seg_from_kvm(struct x86_seg *s, const struct kvm_segment *k)
{
    s->base = k->base;
    s->limit = k->limit;
    s->sel = k->selector;
    s->attr = (uint16_t)((k->type & 0xf) | (k->s ? SEGA_S : 0) | ((k->dpl & 3u) << 5) |
                         (k->present ? SEGA_P : 0) | (k->avl ? SEGA_AVL : 0) |
                         (k->l ? SEGA_L : 0) | (k->db ? SEGA_DB : 0) | (k->g ? SEGA_G : 0) |
                         (k->unusable ? SEGA_UNUSABLE : 0));
}

static void reset_irqchips(struct machine *m)
{
    struct kvm_vm *vm = vm_of(m);
    if (!vm->irqchip)
        return;
    if (vm->have_chip_reset)
        for (int i = 0; i < 3; i++)
            ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &vm->chip_reset[i]);
    if (vm->have_pit_reset)
        ioctl(vm->vm_fd, KVM_SET_PIT2, &vm->pit_reset);
}

static int kvm_set_state(struct vcpu *v, const struct x86_state *s)
{
    struct machine *m = v->m;
    struct kvm_vm *vm = vm_of(m);
    struct kvm_vcpu_priv *p = v->priv;
    if (!p)
        return -1;
    if (sync_bios(m) < 0)
        return -1;
    struct kvm_sregs sr;
    memset(&sr, 0, sizeof(sr));
    seg_to_kvm(&sr.es, &s->seg[SEG_ES]);
    seg_to_kvm(&sr.cs, &s->seg[SEG_CS]);
    seg_to_kvm(&sr.ss, &s->seg[SEG_SS]);
    seg_to_kvm(&sr.ds, &s->seg[SEG_DS]);
    seg_to_kvm(&sr.fs, &s->seg[SEG_FS]);
    seg_to_kvm(&sr.gs, &s->seg[SEG_GS]);
    seg_to_kvm(&sr.ldt, &s->ldtr);
    seg_to_kvm(&sr.tr, &s->tr);
    sr.gdt.base = s->gdtr.base;
    sr.gdt.limit = s->gdtr.limit;
    sr.idt.base = s->idtr.base;
    sr.idt.limit = s->idtr.limit;
    sr.cr0 = s->cr0;
    sr.cr2 = s->cr2;
    sr.cr3 = s->cr3;
    sr.cr4 = s->cr4;
    sr.cr8 = s->cr8;
    sr.efer = s->efer;
    /* Without the in-kernel LAPIC there is no APIC at all: KVM derives
     * CPUID.1:EDX.APIC from the enable bit, so keep it clear. */
    sr.apic_base = vm->irqchip ? s->apic_base : (s->apic_base & ~(uint64_t)(1u << 11));
    if (ioctl(p->fd, KVM_SET_SREGS, &sr) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_SREGS: %s\n", strerror(errno));
        return -1;
    }
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rax = s->gpr[R_EAX]; r.rcx = s->gpr[R_ECX]; r.rdx = s->gpr[R_EDX]; r.rbx = s->gpr[R_EBX];
    r.rsp = s->gpr[R_ESP]; r.rbp = s->gpr[R_EBP]; r.rsi = s->gpr[R_ESI]; r.rdi = s->gpr[R_EDI];
    r.r8 = s->gpr[R_R8];   r.r9 = s->gpr[R_R9];   r.r10 = s->gpr[R_R10]; r.r11 = s->gpr[R_R11];
    r.r12 = s->gpr[R_R12]; r.r13 = s->gpr[R_R13]; r.r14 = s->gpr[R_R14]; r.r15 = s->gpr[R_R15];
    r.rip = s->rip;
    r.rflags = s->rflags | RFLAGS_FIXED;
    if (ioctl(p->fd, KVM_SET_REGS, &r) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_REGS: %s\n", strerror(errno));
        return -1;
    }
    struct msr_list l;
    memset(&l, 0, sizeof(l));
    msr_add(&l, MSR_STAR, s->star);
    msr_add(&l, MSR_LSTAR, s->lstar);
    msr_add(&l, MSR_CSTAR, s->cstar);
    msr_add(&l, MSR_SFMASK, s->sfmask);
    msr_add(&l, MSR_KERNEL_GS_BASE, s->kernel_gs_base);
    msr_add(&l, MSR_IA32_SYSENTER_CS, s->sysenter_cs);
    msr_add(&l, MSR_IA32_SYSENTER_ESP, s->sysenter_esp);
    msr_add(&l, MSR_IA32_SYSENTER_EIP, s->sysenter_eip);
    if (s->pat)
        msr_add(&l, MSR_IA32_PAT, s->pat);
    if (p->has_tsc_aux)
        msr_add(&l, MSR_TSC_AUX, s->tsc_aux);
    if (msrs_set(v, &l, false) < 0)
        return -1;
    if (set_fpu(v, s, false) < 0)
        return -1;
    struct kvm_debugregs d;
    memset(&d, 0, sizeof(d));
    for (int i = 0; i < 4; i++)
        d.db[i] = s->dr[i];
    d.dr6 = s->dr[6] ? s->dr[6] : 0xffff0ff0;
    d.dr7 = s->dr[7] ? s->dr[7] : 0x400;
    if (ioctl(p->fd, KVM_SET_DEBUGREGS, &d) < 0) {
        machine_log(m, 0, "tremu: kvm: KVM_SET_DEBUGREGS: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static int kvm_get_state(struct vcpu *v, struct x86_state *s)
{
    struct kvm_vcpu_priv *p = v->priv;
    if (!p)
        return -1;
    memset(s, 0, sizeof(*s));
    struct kvm_regs r;
    struct kvm_sregs sr;
    if (ioctl(p->fd, KVM_GET_REGS, &r) < 0 || ioctl(p->fd, KVM_GET_SREGS, &sr) < 0)
        return -1;
    s->gpr[R_EAX] = r.rax; s->gpr[R_ECX] = r.rcx; s->gpr[R_EDX] = r.rdx; s->gpr[R_EBX] = r.rbx;
    s->gpr[R_ESP] = r.rsp; s->gpr[R_EBP] = r.rbp; s->gpr[R_ESI] = r.rsi; s->gpr[R_EDI] = r.rdi;
    s->gpr[R_R8] = r.r8;   s->gpr[R_R9] = r.r9;   s->gpr[R_R10] = r.r10; s->gpr[R_R11] = r.r11;
    s->gpr[R_R12] = r.r12; s->gpr[R_R13] = r.r13; s->gpr[R_R14] = r.r14; s->gpr[R_R15] = r.r15;
    s->rip = r.rip;
    s->rflags = r.rflags;
    seg_from_kvm(&s->seg[SEG_ES], &sr.es);
    seg_from_kvm(&s->seg[SEG_CS], &sr.cs);
    seg_from_kvm(&s->seg[SEG_SS], &sr.ss);
    seg_from_kvm(&s->seg[SEG_DS], &sr.ds);
    seg_from_kvm(&s->seg[SEG_FS], &sr.fs);
    seg_from_kvm(&s->seg[SEG_GS], &sr.gs);
    seg_from_kvm(&s->ldtr, &sr.ldt);
    seg_from_kvm(&s->tr, &sr.tr);
    s->gdtr.base = sr.gdt.base;
    s->gdtr.limit = sr.gdt.limit;
    s->idtr.base = sr.idt.base;
    s->idtr.limit = sr.idt.limit;
    s->cr0 = sr.cr0; s->cr2 = sr.cr2; s->cr3 = sr.cr3; s->cr4 = sr.cr4; s->cr8 = sr.cr8;
    s->efer = sr.efer;
    s->apic_base = sr.apic_base;

    struct msr_list l;
    memset(&l, 0, sizeof(l));
    msr_add(&l, MSR_STAR, 0);
    msr_add(&l, MSR_LSTAR, 0);
    msr_add(&l, MSR_CSTAR, 0);
    msr_add(&l, MSR_SFMASK, 0);
    msr_add(&l, MSR_KERNEL_GS_BASE, 0);
    msr_add(&l, MSR_IA32_SYSENTER_CS, 0);
    msr_add(&l, MSR_IA32_SYSENTER_ESP, 0);
    msr_add(&l, MSR_IA32_SYSENTER_EIP, 0);
    msr_add(&l, MSR_IA32_PAT, 0);
    if (p->has_tsc_aux)
        msr_add(&l, MSR_TSC_AUX, 0);
    int n = ioctl(p->fd, KVM_GET_MSRS, &l);
    for (int i = 0; i < n && i < (int)l.hdr.nmsrs; i++) {
        uint64_t d = l.e[i].data;
        switch (l.e[i].index) {
        case MSR_STAR: s->star = d; break;
        case MSR_LSTAR: s->lstar = d; break;
        case MSR_CSTAR: s->cstar = d; break;
        case MSR_SFMASK: s->sfmask = d; break;
        case MSR_KERNEL_GS_BASE: s->kernel_gs_base = d; break;
        case MSR_IA32_SYSENTER_CS: s->sysenter_cs = d; break;
        case MSR_IA32_SYSENTER_ESP: s->sysenter_esp = d; break;
        case MSR_IA32_SYSENTER_EIP: s->sysenter_eip = d; break;
        case MSR_IA32_PAT: s->pat = d; break;
        case MSR_TSC_AUX: s->tsc_aux = d; break;
        }
    }
    struct kvm_vm *vm = vm_of(v->m);
    uint8_t *xs = vm->xsave_size ? calloc(1, vm->xsave_size) : NULL;
    struct kvm_fpu fpu;
    if (xs && xsave_get(v, xs) == 0) {
        fxsave_to_fpu(xs, s);
    } else if (ioctl(p->fd, KVM_GET_FPU, &fpu) == 0) {
        uint8_t img[XS_XMM + 256];
        memset(img, 0, sizeof(img));
        memcpy(img + XS_FCW, &fpu.fcw, 2);
        memcpy(img + XS_FSW, &fpu.fsw, 2);
        img[XS_FTW] = fpu.ftwx;
        memcpy(img + 6, &fpu.last_opcode, 2);
        memcpy(img + 8, &fpu.last_ip, 8);
        memcpy(img + 16, &fpu.last_dp, 8);
        memcpy(img + XS_MXCSR, &fpu.mxcsr, 4);
        memcpy(img + XS_REGS, fpu.fpr, 128);
        memcpy(img + XS_XMM, fpu.xmm, 256);
        fxsave_to_fpu(img, s);
    }
    free(xs);
    struct kvm_debugregs d;
    if (ioctl(p->fd, KVM_GET_DEBUGREGS, &d) == 0) {
        for (int i = 0; i < 4; i++)
            s->dr[i] = d.db[i];
        s->dr[6] = d.dr6;
        s->dr[7] = d.dr7;
    }
    return 0;
}

/* ---- errors ---- */

/* Up to 16 bytes of guest code at CS.base+RIP, through the guest's page
 * tables (KVM_TRANSLATE). Returns how many bytes could be read. */
static int read_code(struct vcpu *v, const struct x86_state *s, uint8_t *buf, int max)
{
    struct kvm_vcpu_priv *p = v->priv;
    uint64_t lin = s->seg[SEG_CS].base + s->rip;
    if (!(s->efer & EFER_LMA) || !(s->seg[SEG_CS].attr & SEGA_L))
        lin &= 0xffffffffULL;
    int n = 0;
    while (n < max) {
        uint64_t pa = lin + (uint64_t)n;
        if (s->cr0 & CR0_PG) {
            struct kvm_translation t = {.linear_address = lin + (uint64_t)n};
            if (ioctl(p->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
                break;
            pa = t.physical_address;
        }
        uint8_t *h = machine_phys_ptr(v->m, pa, 1);
        if (!h)
            break;
        buf[n++] = *h;
    }
    return n;
}

static void report_error(struct vcpu *v, const uint8_t *insn, int insn_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One clear message, the registers and the code bytes: never a silent stop. */
static void report_error(struct vcpu *v, const uint8_t *insn, int insn_len, const char *fmt, ...)
{
    struct machine *m = v->m;
    FILE *f = log_file(m);
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "tremu: ");
    vfprintf(f, fmt, ap);
    fprintf(f, "\n");
    va_end(ap);
    struct x86_state s;
    if (kvm_get_state(v, &s) == 0) {
        x86_state_dump(&s, f);
        uint8_t code[16];
        int n = 0;
        if (insn && insn_len > 0) {
            n = insn_len > 16 ? 16 : insn_len;
            memcpy(code, insn, (size_t)n);
            fprintf(f, "instruction bytes (from KVM):");
        } else {
            n = read_code(v, &s, code, 16);
            fprintf(f, "code at CS:RIP (linear %llx):",
                    (unsigned long long)(s.seg[SEG_CS].base + s.rip));
        }
        for (int i = 0; i < n; i++)
            fprintf(f, " %02x", code[i]);
        fprintf(f, n ? "\n" : " (not readable)\n");
    }
    fflush(f);
}

static const char *internal_suberror(uint32_t s)
{
    switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failure";
#ifdef KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
#endif
    default: return "unknown";
    }
}

static void report_internal_error(struct vcpu *v, struct kvm_run *run)
{
    uint32_t sub = run->internal.suberror;
    const uint8_t *insn = NULL;
    int insn_len = 0;
#ifdef KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
    if (sub == KVM_INTERNAL_ERROR_EMULATION && run->emulation_failure.ndata >= 3 &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        insn = run->emulation_failure.insn_bytes;
        insn_len = run->emulation_failure.insn_size;
        if (insn_len > (int)sizeof(run->emulation_failure.insn_bytes))
            insn_len = (int)sizeof(run->emulation_failure.insn_bytes);
    }
#endif
    /* The raw data words only when KVM gave no instruction bytes (they
     * are those bytes, packed). */
    char extra[160] = "";
    size_t o = 0;
    uint32_t nd = insn ? 0 : run->internal.ndata;
    for (uint32_t i = 0; i < nd && i < 4 && o < sizeof(extra) - 24; i++)
        o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s%llx", i ? " " : "; data ",
                              (unsigned long long)run->internal.data[i]);
    report_error(v, insn, insn_len,
                 "KVM internal error (suberror %u: %s%s). KVM could not run or emulate "
                 "this guest code; on a nested or PVM-style KVM use -accel tcg",
                 sub, internal_suberror(sub), extra);
}

/* ---- running ---- */

static bool io_size_ok(unsigned s)
{
    return s == 1 || s == 2 || s == 4;
}

static int handle_io(struct vcpu *v, struct kvm_run *run, long run_size)
{
    struct machine *m = v->m;
    unsigned size = run->io.size;
    uint64_t count = run->io.count;
    uint64_t off = run->io.data_offset;
    if (!io_size_ok(size) || count == 0 || off > (uint64_t)run_size ||
        count * size > (uint64_t)run_size - off) {
        report_error(v, NULL, 0, "KVM reported a malformed port I/O exit (port 0x%x size %u count %llu)",
                     run->io.port, size, (unsigned long long)count);
        return -1;
    }
    uint8_t *data = (uint8_t *)run + off;
    /* String I/O (REP INS/OUTS): KVM batches up to a page of elements. */
    for (uint64_t i = 0; i < count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t val = 0;
            memcpy(&val, data, size);
            machine_pio_out(m, run->io.port, val, size);
        } else {
            uint32_t val = machine_pio_in(m, run->io.port, size);
            memcpy(data, &val, size);
        }
    }
    return 0;
}

static void handle_mmio(struct vcpu *v, struct kvm_run *run)
{
    struct machine *m = v->m;
    struct kvm_vm *vm = vm_of(m);
    uint64_t addr = run->mmio.phys_addr;
    uint32_t len = run->mmio.len;
    if (len == 0 || len > 8)
        return;
    if (run->mmio.is_write && vm->bios_mirror && addr >= vm->bios_gpa && addr < vm->bios_end) {
        /* A write to the read-only firmware slot: ROM ignores it. */
        machine_log(m, DBG_GUEST_ERRORS, "tremu: kvm: write to firmware ROM at 0x%llx dropped\n",
                    (unsigned long long)addr);
        return;
    }
    bool pow2 = (len & (len - 1)) == 0;
    if (run->mmio.is_write) {
        uint64_t val = 0;
        memcpy(&val, run->mmio.data, len);
        if (pow2) {
            machine_mmio_write(m, addr, val, len);
        } else {
            for (uint32_t i = 0; i < len; i++)
                machine_mmio_write(m, addr + i, (val >> (8 * i)) & 0xff, 1);
        }
    } else {
        uint64_t val = 0;
        if (pow2) {
            val = machine_mmio_read(m, addr, len);
        } else {
            for (uint32_t i = 0; i < len; i++)
                val |= (machine_mmio_read(m, addr + i, 1) & 0xff) << (8 * i);
        }
        memcpy(run->mmio.data, &val, len);
    }
}

/* User-space interrupt controller: hand the PIC's vector to KVM when the
 * guest can take it, else ask KVM to exit as soon as it can (interrupt
 * window). The vector is acknowledged only when it can be injected. */
static void try_inject(struct vcpu *v, struct kvm_run *run)
{
    struct kvm_vcpu_priv *p = v->priv;
    if (!atomic_load(&v->intr_line)) {
        run->request_interrupt_window = 0;
        return;
    }
    if (run->ready_for_interrupt_injection && run->if_flag) {
        int vec = machine_intr_ack(v->m);
        if (vec >= 0) {
            struct kvm_interrupt irq = {.irq = (uint32_t)vec};
            /* machine_intr_ack counted and logged the vector (STAT_IRQ_INJECTED). */
            if (ioctl(p->fd, KVM_INTERRUPT, &irq) < 0)
                machine_log(v->m, 0, "tremu: kvm: KVM_INTERRUPT vector 0x%02x lost: %s\n",
                            vec, strerror(errno));
        }
        /* Never twice before the next KVM_RUN refreshes these flags. */
        run->ready_for_interrupt_injection = 0;
        run->request_interrupt_window = atomic_load(&v->intr_line) ? 1 : 0;
    } else {
        run->request_interrupt_window = 1;
    }
}

/* HLT with the user-space irqchip (KVM has already stepped over it):
 * sleep until the PIC raises INTR or the board wants the vCPU back.
 * Returns true to leave vcpu_run with *out. */
static bool handle_hlt(struct vcpu *v, struct kvm_run *run, enum vcpu_exit *out)
{
    stats_count(&v->m->stats, STAT_HLT);
    if (!run->if_flag) {
        /* IF=0 and no NMI source on this board: nothing can wake it. */
        *out = atomic_load(&v->exit_request) ? VCPU_EXIT_KICK : VCPU_EXIT_DEAD_HALT;
        return true;
    }
    pthread_mutex_lock(&v->halt_lock);
    while (!atomic_load(&v->intr_line) && !atomic_load(&v->exit_request))
        pthread_cond_wait(&v->halt_cond, &v->halt_lock);
    pthread_mutex_unlock(&v->halt_lock);
    *out = VCPU_EXIT_KICK;
    return atomic_load(&v->exit_request) != 0;
}

/* With the in-kernel LAPIC, KVM keeps HLT to itself: a guest that halts
 * with IF=0 (Linux's "poweroff -f" without ACPI does) would sleep in the
 * kernel forever. A periodic signal lets the run loop look: halted, IF=0,
 * no NMI pending, and nothing else on the board could send one (one vCPU,
 * no NMI source) means VCPU_EXIT_DEAD_HALT, as with the user-space PIC. */
#define DEAD_HALT_CHECK_NS (500ull * 1000 * 1000)

static bool kernel_dead_halt(struct vcpu *v)
{
    struct kvm_vcpu_priv *p = v->priv;
    if (v->m->nvcpus > 1)
        return false;
    struct kvm_mp_state mp;
    struct kvm_regs r;
    struct kvm_vcpu_events ev;
    if (ioctl(p->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_HALTED)
        return false;
    if (ioctl(p->fd, KVM_GET_REGS, &r) < 0 || (r.rflags & RFLAGS_IF))
        return false;
    if (ioctl(p->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.nmi.pending || ev.nmi.injected)
        return false;
    stats_count(&v->m->stats, STAT_HLT);
    return true;
}

static enum vcpu_exit run_loop(struct vcpu *v)
{
    struct machine *m = v->m;
    struct kvm_vm *vm = vm_of(m);
    struct kvm_vcpu_priv *p = v->priv;
    struct kvm_run *run = p->run;
    for (;;) {
        /* Order matters (see kick()): clear, then look at the flags, then
         * run; a kick landing after the look sets immediate_exit again. */
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (atomic_load(&v->exit_request))
            return VCPU_EXIT_KICK;
        if (!vm->irqchip)
            try_inject(v, run);
        atomic_store(&p->in_guest, 1);
        int rc = ioctl(p->fd, KVM_RUN, 0);
        int err = errno;
        atomic_store(&p->in_guest, 0);
        if (rc < 0) {
            if (err == EINTR || err == EAGAIN) {
                count_exit(m, KVM_EXIT_INTR);
                if (vm->irqchip && !atomic_load(&v->exit_request) && kernel_dead_halt(v))
                    return VCPU_EXIT_DEAD_HALT;
                continue;
            }
            report_error(v, NULL, 0, "KVM_RUN failed: %s", strerror(err));
            return VCPU_EXIT_ERROR;
        }
        uint32_t reason = run->exit_reason;
        count_exit(m, reason);
        switch (reason) {
        case KVM_EXIT_IO:
            if (handle_io(v, run, vm->run_size) < 0)
                return VCPU_EXIT_ERROR;
            break;
        case KVM_EXIT_MMIO:
            handle_mmio(v, run);
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
            stats_count(&m->stats, STAT_IRQ_WINDOW);
            break;
        case KVM_EXIT_INTR:
            if (vm->irqchip && !atomic_load(&v->exit_request) && kernel_dead_halt(v))
                return VCPU_EXIT_DEAD_HALT;
            break;
        case KVM_EXIT_HLT: {
            enum vcpu_exit e;
            if (handle_hlt(v, run, &e))
                return e;
            break;
        }
        case KVM_EXIT_SHUTDOWN:
            return VCPU_EXIT_SHUTDOWN;
        case KVM_EXIT_INTERNAL_ERROR:
            report_internal_error(v, run);
            return VCPU_EXIT_ERROR;
        case KVM_EXIT_FAIL_ENTRY:
            report_error(v, NULL, 0, "KVM could not enter the guest (hardware entry failure "
                         "reason 0x%llx): the vCPU state is invalid for this CPU",
                         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return VCPU_EXIT_ERROR;
        case KVM_EXIT_UNKNOWN:
            report_error(v, NULL, 0, "KVM exit with unknown reason (hardware exit reason 0x%llx)",
                         (unsigned long long)run->hw.hardware_exit_reason);
            return VCPU_EXIT_ERROR;
        case KVM_EXIT_SYSTEM_EVENT:
            if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
                return VCPU_EXIT_SHUTDOWN;
            report_error(v, NULL, 0, "KVM system event %u", run->system_event.type);
            return VCPU_EXIT_ERROR;
        default: {
            const char *n = kvm_exit_name(reason);
            if (n)
                report_error(v, NULL, 0, "unexpected KVM exit %s (%u)", n, reason);
            else
                report_error(v, NULL, 0, "unexpected KVM exit reason %u", reason);
            return VCPU_EXIT_ERROR;
        }
        }
    }
}

static enum vcpu_exit kvm_vcpu_run(struct vcpu *v)
{
    struct kvm_vcpu_priv *p = v->priv;
    if (!p)
        return VCPU_EXIT_ERROR;
    /* vCPU threads start with SIGUSR1 unblocked (hw/machine.c); a test
     * calling us directly may not have. */
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, &old);
    pthread_mutex_lock(&p->kick_lock);
    p->thread = pthread_self();
    p->in_run = true;
    pthread_mutex_unlock(&p->kick_lock);
    /* The dead-halt check's periodic signal, aimed at this thread only. */
    timer_t tm;
    bool have_timer = false;
    if (vm_of(v->m)->irqchip) {
        struct sigevent sev;
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGUSR1;
        sev.sigev_notify_thread_id = gettid();
        if (timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0) {
            struct itimerspec its = {
                .it_interval = {0, (long)DEAD_HALT_CHECK_NS},
                .it_value = {0, (long)DEAD_HALT_CHECK_NS},
            };
            timer_settime(tm, 0, &its, NULL);
            have_timer = true;
        }
    }
    enum vcpu_exit e = run_loop(v);
    if (have_timer)
        timer_delete(tm);
    pthread_mutex_lock(&p->kick_lock);
    p->in_run = false;
    pthread_mutex_unlock(&p->kick_lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

/* Makes a running KVM_RUN return soon. immediate_exit covers a KVM_RUN
 * about to start; the signal (no-op handler, no SA_RESTART) one in
 * progress. The vCPU thread kicking itself only needs the flag it set. */
static void kick(struct vcpu *v)
{
    struct kvm_vcpu_priv *p = v->priv;
    if (!p || p->run == MAP_FAILED)
        return;
    __atomic_store_n(&p->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&p->kick_lock);
    if (p->in_run && atomic_load(&p->in_guest) && !pthread_equal(p->thread, pthread_self()))
        pthread_kill(p->thread, SIGUSR1);
    pthread_mutex_unlock(&p->kick_lock);
}

static void wake_halted(struct vcpu *v)
{
    pthread_mutex_lock(&v->halt_lock);
    pthread_cond_broadcast(&v->halt_cond);
    pthread_mutex_unlock(&v->halt_lock);
}

static void kvm_vcpu_kick(struct vcpu *v)
{
    atomic_store(&v->exit_request, 1);
    kick(v);
    wake_halted(v);
}

static void kvm_intr_changed(struct vcpu *v)
{
    struct kvm_vm *vm = vm_of(v->m);
    if (vm && vm->irqchip)
        return;
    wake_halted(v);
    if (atomic_load(&v->intr_line))
        kick(v);
}

static void kvm_dump(struct vcpu *v, FILE *f)
{
    struct kvm_vcpu_priv *p = v->priv;
    struct x86_state s;
    if (!p || kvm_get_state(v, &s) < 0) {
        fprintf(f, "(vCPU %d state unavailable)\n", v->index);
        return;
    }
    x86_state_dump(&s, f);
    struct kvm_mp_state mp;
    if (ioctl(p->fd, KVM_GET_MP_STATE, &mp) == 0)
        fprintf(f, "KVM mp_state=%u", mp.mp_state);
    struct kvm_vcpu_events ev;
    if (ioctl(p->fd, KVM_GET_VCPU_EVENTS, &ev) == 0)
        fprintf(f, " pending: exception %s%u irq %s%u nmi %s",
                ev.exception.injected ? "" : "-", ev.exception.nr,
                ev.interrupt.injected ? "" : "-", ev.interrupt.nr,
                ev.nmi.pending || ev.nmi.injected ? "yes" : "no");
    fprintf(f, "\n");
}

static void kvm_destroy(struct machine *m)
{
    struct kvm_vm *vm = vm_of(m);
    if (!vm)
        return;
    for (int i = 0; i < MAX_VCPUS; i++) {
        struct vcpu *v = &m->vcpu[i];
        struct kvm_vcpu_priv *p = v->priv;
        if (!p)
            continue;
        if (p->run != MAP_FAILED)
            munmap(p->run, (size_t)vm->run_size);
        if (p->fd >= 0)
            close(p->fd);
        if (p->stats_fd >= 0)
            close(p->stats_fd);
        pthread_mutex_destroy(&p->kick_lock);
        free(p);
        v->priv = NULL;
    }
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    if (vm->bios_mirror)
        munmap(vm->bios_mirror, vm->bios_mirror_size);
    free(vm->dirty_log);
    free(vm->supported);
    free(vm);
    m->accel_priv = NULL;
    m->irqchip_in_kernel = false;
}

/* -d stats / info exits: what reached user space (the board counted it)
 * plus the kernel's per-vCPU statistics where it offers them. */
static void kvm_collect_stats(struct machine *m, struct stats_snapshot *s)
{
    stats_set(s, SC_HLT, atomic_load(&m->stats.event[STAT_HLT]));
    stats_set(s, SC_INTERRUPT_WINDOW, atomic_load(&m->stats.event[STAT_IRQ_WINDOW]));
    if (m->irqchip_in_kernel) {
        /* The kernel injects and its HLT/windows never reach us. */
        s->avail[SC_IRQ_INJECT] = s->avail[SC_NMI_INJECT] = false;
        s->avail[SC_HLT] = s->avail[SC_INTERRUPT_WINDOW] = false;
    }
    bool first = true;
    for (int i = 0; i < m->nvcpus; i++) {
        struct kvm_vcpu_priv *p = m->vcpu[i].priv;
        if (!p || p->stats_fd < 0)
            continue;
        size_t len;
        uint8_t *buf = kvm_stats_read_fd(p->stats_fd, &len);
        struct kvm_stat st[256];
        char err[160];
        int n = buf ? kvm_stats_parse(buf, len, st, 256, err, sizeof(err)) : -1;
        free(buf);
        if (n < 0)
            continue;
        kvm_stats_snapshot(st, n, s, first);
        first = false;
    }
}

/* Machine reset: the in-kernel PIC/IOAPIC/PIT with the first vCPU, then this
 * vCPU's LAPIC, MSRs, FPU and pending events. */
static int kvm_reset(struct vcpu *v)
{
    if (v->index == 0)
        reset_irqchips(v->m);
    return vcpu_reset(v);
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .init = kvm_init,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .get_state = kvm_get_state,
    .reset = kvm_reset,
    .set_state = kvm_set_state,
    .intr_changed = kvm_intr_changed,
    .set_gsi = kvm_set_gsi,
    .dump = kvm_dump,
    .ram_region = kvm_ram_region,
    .ram_dirty = kvm_ram_dirty,
    .destroy = kvm_destroy,
    .collect_stats = kvm_collect_stats,
};
