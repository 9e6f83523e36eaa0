/* Can KVM run our guests here? Static checks (device, API version,
 * capabilities), then a run-time probe: some hosts expose a /dev/kvm that
 * passes every static check yet cannot run an unmodified kernel. The one we
 * know is the PVM-style nested KVM (module kvm_pvm): it runs small real-mode
 * guests through KVM's instruction emulator but fails or crawls once the
 * guest enables protected mode and paging. Only running such code tells. */
#include "accel/accel.h"
#include "accel/kvm.h"
#include "hw/clock.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const exit_names[] = {
    [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
    [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
    [KVM_EXIT_IO] = "KVM_EXIT_IO",
    [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
    [KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
    [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
    [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
    [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
    [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
    [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
    [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
    [KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
    [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
    [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
    [KVM_EXIT_OSI] = "KVM_EXIT_OSI",
    [KVM_EXIT_WATCHDOG] = "KVM_EXIT_WATCHDOG",
    [KVM_EXIT_EPR] = "KVM_EXIT_EPR",
    [KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
    [KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
    [KVM_EXIT_HYPERV] = "KVM_EXIT_HYPERV",
#ifdef KVM_EXIT_X86_RDMSR
    [KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
    [KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
#endif
#ifdef KVM_EXIT_DIRTY_RING_FULL
    [KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
#endif
};

const char *kvm_exit_name(uint32_t reason)
{
    if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
        return exit_names[reason];
    return NULL;
}

static void kick_handler(int sig)
{
    (void)sig;   /* only there to make KVM_RUN return -EINTR */
}

static void install_kick_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: the ioctl must come back with EINTR */
    sigaction(SIGUSR1, &sa, NULL);
}

void kvm_install_kick_signal(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_kick_handler);
}

struct kvm_cpuid2 *kvm_get_supported_cpuid(int kvm_fd)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
        if (!c)
            return NULL;
        c->nent = (uint32_t)n;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int e = errno;
        free(c);
        if (e != E2BIG)
            return NULL;
    }
    return NULL;
}

static bool path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Looks for a whole word in the first "flags" line of /proc/cpuinfo. */
static bool cpu_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[8192];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        size_t fl = strlen(flag);
        for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
            bool start = (p == line || p[-1] == ' ' || p[-1] == '\t');
            bool end = (p[fl] == ' ' || p[fl] == '\n' || p[fl] == 0);
            if (start && end) {
                found = true;
                break;
            }
        }
        break;
    }
    fclose(f);
    return found;
}

/* "PVM-style nested KVM, module kvm_pvm", "kvm_intel", ...: from the
 * facts alone, so that tests can name every kind. */
const char *kvm_host_kind_of(const struct kvm_host_facts *f, char *buf, size_t len)
{
    if (f->mod_kvm_pvm)
        snprintf(buf, len, "PVM-style nested KVM, module kvm_pvm");
    else if (f->mod_kvm_intel)
        snprintf(buf, len, "kvm_intel%s", f->cpu_vmx ? "" : " (no vmx flag in /proc/cpuinfo)");
    else if (f->mod_kvm_amd)
        snprintf(buf, len, "kvm_amd%s", f->cpu_svm ? "" : " (no svm flag in /proc/cpuinfo)");
    else
        snprintf(buf, len, "unknown KVM module%s",
                 f->cpu_vmx ? ", vmx" : f->cpu_svm ? ", svm" : ", no vmx/svm");
    return buf;
}

/* The host facts that need no /dev/kvm: the device node, the modules, the
 * CPU flags. The rest keep the values of a working KVM. */
static void gather_static_facts(struct kvm_host_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->dev_exists = path_exists("/dev/kvm");
    f->mod_kvm = path_exists("/sys/module/kvm");
    f->mod_kvm_intel = path_exists("/sys/module/kvm_intel");
    f->mod_kvm_amd = path_exists("/sys/module/kvm_amd");
    f->mod_kvm_pvm = path_exists("/sys/module/kvm_pvm");
    f->cpu_vmx = cpu_flag("vmx");
    f->cpu_svm = cpu_flag("svm");
    f->api_version = KVM_API_VERSION;
}

const char *kvm_host_kind(char *buf, size_t len, bool *is_pvm)
{
    struct kvm_host_facts f;
    gather_static_facts(&f);
    if (is_pvm)
        *is_pvm = f.mod_kvm_pvm;
    return kvm_host_kind_of(&f, buf, len);
}

/* ---- the run-time probe ---- */

/* Guest layout in a 64 KiB slot at guest-physical 0. */
#define PG_CODE  0x1000   /* real-mode entry, CS=0x100 IP=0 */
#define PG_GDTR  0x1100
#define PG_GDT   0x1110
#define PG_PML4  0x2000
#define PG_PDPT  0x3000
#define PG_PD    0x4000
#define PG_MEM   0x10000
#define PG_PORT_STAGE  0x10
#define PG_PORT_RESULT 0x11
#define PG_LOOPS 100000u

/* Assembled with GNU as (.code16/.code32/.code64, linked at 0x1000).
 * Stages are reported on port 0x10 so a failure says how far it got. */
static const uint8_t probe_code[] = {
    /* .code16 */
    0xb0, 0x10,                         /* mov $0x10,%al                 */
    0xe6, 0x10,                         /* out %al,$0x10    stage 1      */
    0xfa,                               /* cli                           */
    0x2e, 0x66, 0x0f, 0x01, 0x16, 0x00, 0x01, /* lgdtl %cs:0x100         */
    0x0f, 0x20, 0xc0,                   /* mov %cr0,%eax                 */
    0x0c, 0x01,                         /* or $1,%al        CR0.PE       */
    0x0f, 0x22, 0xc0,                   /* mov %eax,%cr0                 */
    0x66, 0xea, 0x1c, 0x10, 0x00, 0x00, 0x08, 0x00, /* ljmpl $8,$0x101c  */
    /* .code32, at 0x101c */
    0xb8, 0x10, 0x00, 0x00, 0x00,       /* mov $0x10,%eax                */
    0x8e, 0xd8,                         /* mov %eax,%ds                  */
    0x8e, 0xc0,                         /* mov %eax,%es                  */
    0x8e, 0xd0,                         /* mov %eax,%ss                  */
    0xb0, 0x20,                         /* mov $0x20,%al                 */
    0xe6, 0x10,                         /* out %al,$0x10    stage 2      */
    0x0f, 0x20, 0xe0,                   /* mov %cr4,%eax                 */
    0x0d, 0x20, 0x06, 0x00, 0x00,       /* or $0x620,%eax  PAE, OSFXSR,  */
                                        /*       OSXMMEXCPT              */
    0x0f, 0x22, 0xe0,                   /* mov %eax,%cr4                 */
    0xb8, 0x00, 0x20, 0x00, 0x00,       /* mov $0x2000,%eax              */
    0x0f, 0x22, 0xd8,                   /* mov %eax,%cr3                 */
    0xb9, 0x80, 0x00, 0x00, 0xc0,       /* mov $0xc0000080,%ecx  EFER    */
    0x0f, 0x32,                         /* rdmsr                         */
    0x0d, 0x00, 0x01, 0x00, 0x00,       /* or $0x100,%eax   EFER.LME     */
    0x0f, 0x30,                         /* wrmsr                         */
    0x0f, 0x20, 0xc0,                   /* mov %cr0,%eax                 */
    0x0d, 0x00, 0x00, 0x00, 0x80,       /* or $0x80000000,%eax  CR0.PG   */
    0x0f, 0x22, 0xc0,                   /* mov %eax,%cr0                 */
    0xea, 0x5e, 0x10, 0x00, 0x00, 0x18, 0x00, /* ljmp $0x18,$0x105e      */
    /* .code64, at 0x105e */
    0xb0, 0x30,                         /* mov $0x30,%al                 */
    0xe6, 0x10,                         /* out %al,$0x10    stage 3      */
    /* SSE, as every x86-64 kernel uses: an emulating KVM often cannot. */
    0x66, 0x0f, 0xef, 0xc0,             /* pxor %xmm0,%xmm0              */
    0xb9, 0xa0, 0x86, 0x01, 0x00,       /* mov $100000,%ecx              */
    0x31, 0xc0,                         /* xor %eax,%eax                 */
    0x01, 0xc8,                         /* 1: add %ecx,%eax              */
    0xc1, 0xc0, 0x03,                   /* rol $3,%eax                   */
    0xff, 0xc9,                         /* dec %ecx                      */
    0x75, 0xf7,                         /* jnz 1b                        */
    0x66, 0x0f, 0x6e, 0xc0,             /* movd %eax,%xmm0               */
    0x66, 0x0f, 0xfe, 0xc0,             /* paddd %xmm0,%xmm0             */
    0x66, 0x0f, 0x7e, 0xc0,             /* movd %xmm0,%eax               */
    0xe7, 0x11,                         /* out %eax,$0x11   result       */
    0xf4,                               /* hlt                           */
};

/* Offsets in probe_code of its four SSE instructions (4 bytes each). */
static const unsigned probe_sse_at[] = {0x62, 0x76, 0x7a, 0x7e};

static uint32_t probe_expected(bool sse)
{
    uint32_t a = 0;
    for (uint32_t c = PG_LOOPS; c; c--) {
        a += c;
        a = (a << 3) | (a >> 29);
    }
    return sse ? a * 2 : a;   /* the paddd */
}

/* Guest time and KVM's in-kernel emulation both count as this thread's CPU
 * time, which, unlike wall time, a busy host does not inflate. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Updates the timings and says whether to give up. Past the budget in wall
 * time: if this thread had the CPU for at least half of it, KVM really is
 * that slow; if the host starved it, wait (up to 4 budgets) to find out. */
static bool over_budget(struct kvm_probe_result *r, uint64_t start, uint64_t cpu0, uint64_t budget)
{
    r->elapsed_ns = host_monotonic_ns() - start;
    r->cpu_ns = thread_cpu_ns() - cpu0;
    if (r->elapsed_ns <= budget)
        return false;
    return r->cpu_ns >= budget / 2 || r->elapsed_ns > 4 * budget;
}

static void timeout_detail(struct kvm_probe_result *r, uint64_t budget)
{
    (void)budget;
    r->timed_out = true;
    snprintf(r->detail, sizeof(r->detail), "still running after %llu ms (%llu ms CPU): "
             "KVM is emulating it, not running it natively",
             (unsigned long long)(r->elapsed_ns / 1000000), (unsigned long long)(r->cpu_ns / 1000000));
}

struct watchdog {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    pthread_t target;
    struct kvm_run *run;
    uint64_t deadline_ns;       /* CLOCK_MONOTONIC */
};

static void *watchdog_thread(void *arg)
{
    struct watchdog *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        struct timespec ts = {
            .tv_sec = (time_t)(w->deadline_ns / NS_PER_SEC),
            .tv_nsec = (long)(w->deadline_ns % NS_PER_SEC),
        };
        int r = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        if (r == ETIMEDOUT && !w->done) {
            /* immediate_exit closes the race with a KVM_RUN about to start;
             * repeat every 20 ms in case the signal landed outside it. */
            __atomic_store_n(&w->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
            pthread_kill(w->target, SIGUSR1);
            w->deadline_ns += 20 * 1000 * 1000;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = base;
    s->limit = limit;
    s->type = type;
    s->present = 1;
    s->s = 1;
}

void kvm_probe_run(int kvm_fd, uint64_t budget_ns, bool sse, struct kvm_probe_result *r)
{
    memset(r, 0, sizeof(*r));
    int vm = -1, cpu = -1;
    uint8_t *mem = MAP_FAILED;
    struct kvm_run *run = MAP_FAILED;
    long run_size = 0;
    struct kvm_cpuid2 *cpuid = NULL;
    bool watchdog_started = false;
    struct watchdog w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    pthread_t wd;
    sigset_t usr1, oldmask;

    do {
        vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    } while (vm < 0 && errno == EINTR);
    if (vm < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_CREATE_VM: %s", strerror(errno));
        goto out;
    }
    if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_SET_TSS_ADDR: %s", strerror(errno));
        goto out;
    }
    mem = mmap(NULL, PG_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        snprintf(r->detail, sizeof(r->detail), "mmap: %s", strerror(errno));
        goto out;
    }
    memcpy(mem + PG_CODE, probe_code, sizeof(probe_code));
    if (!sse) {
        /* 4-byte NOPs instead: leaves only the speed test. */
        static const uint8_t nop4[4] = {0x0f, 0x1f, 0x40, 0x00};
        for (size_t i = 0; i < sizeof(probe_sse_at) / sizeof(probe_sse_at[0]); i++)
            memcpy(mem + PG_CODE + probe_sse_at[i], nop4, 4);
    }
    /* GDT: null, 0x08 flat 32-bit code, 0x10 flat data, 0x18 64-bit code. */
    static const uint64_t gdt[4] = {0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL,
                                    0x00af9a000000ffffULL};
    memcpy(mem + PG_GDT, gdt, sizeof(gdt));
    uint16_t glim = sizeof(gdt) - 1;
    uint32_t gbase = PG_GDT;
    memcpy(mem + PG_GDTR, &glim, 2);
    memcpy(mem + PG_GDTR + 2, &gbase, 4);
    /* Identity map of the first 2 MiB with one large page. */
    uint64_t e;
    e = PG_PDPT | 3; memcpy(mem + PG_PML4, &e, 8);
    e = PG_PD | 3;   memcpy(mem + PG_PDPT, &e, 8);
    e = 0x83;        memcpy(mem + PG_PD, &e, 8);

    struct kvm_userspace_memory_region reg = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = PG_MEM,
        .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
        goto out;
    }
    cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (cpu < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_CREATE_VCPU: %s", strerror(errno));
        goto out;
    }
    run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (long)sizeof(struct kvm_run)) {
        snprintf(r->detail, sizeof(r->detail), "KVM_GET_VCPU_MMAP_SIZE: %ld", run_size);
        goto out;
    }
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    if (run == MAP_FAILED) {
        snprintf(r->detail, sizeof(r->detail), "mmap kvm_run: %s", strerror(errno));
        goto out;
    }
    /* KVM refuses EFER.LME unless the guest's CPUID says long mode. */
    cpuid = kvm_get_supported_cpuid(kvm_fd);
    if (!cpuid || ioctl(cpu, KVM_SET_CPUID2, cpuid) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_SET_CPUID2: %s", strerror(errno));
        goto out;
    }
    struct kvm_sregs sregs;
    if (ioctl(cpu, KVM_GET_SREGS, &sregs) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_GET_SREGS: %s", strerror(errno));
        goto out;
    }
    set_seg(&sregs.cs, PG_CODE >> 4, PG_CODE, 0xffff, 0xb);
    set_seg(&sregs.ds, 0, 0, 0xffff, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 = 0x10;   /* ET; real mode */
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_SET_SREGS: %s", strerror(errno));
        goto out;
    }
    struct kvm_regs regs = {.rip = 0, .rflags = 2};
    if (ioctl(cpu, KVM_SET_REGS, &regs) < 0) {
        snprintf(r->detail, sizeof(r->detail), "KVM_SET_REGS: %s", strerror(errno));
        goto out;
    }

    kvm_install_kick_signal();
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, &oldmask);
    uint64_t start = host_monotonic_ns();
    uint64_t cpu0 = thread_cpu_ns();
    w.target = pthread_self();
    w.run = run;
    w.deadline_ns = start + budget_ns;
    {
        /* The watchdog sleeps on CLOCK_MONOTONIC like host_monotonic_ns. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w.cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (pthread_create(&wd, NULL, watchdog_thread, &w) != 0) {
        snprintf(r->detail, sizeof(r->detail), "cannot start the probe watchdog");
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
        goto out;
    }
    watchdog_started = true;

    uint32_t result = 0;
    bool have_result = false;
    for (;;) {
        int rc = ioctl(cpu, KVM_RUN, 0);
        if (rc < 0 && (errno == EINTR || errno == EAGAIN)) {
            if (over_budget(r, start, cpu0, budget_ns)) {
                timeout_detail(r, budget_ns);
                break;
            }
            run->immediate_exit = 0;
            continue;
        }
        if (rc < 0) {
            snprintf(r->detail, sizeof(r->detail), "KVM_RUN: %s", strerror(errno));
            break;
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
            run->io.count == 1 && run->io.data_offset + 4 <= (uint64_t)run_size) {
            uint32_t v = 0;
            memcpy(&v, (uint8_t *)run + run->io.data_offset, run->io.size <= 4 ? run->io.size : 4);
            if (run->io.port == PG_PORT_STAGE && run->io.size == 1) {
                r->stage = v >> 4;
            } else if (run->io.port == PG_PORT_RESULT && run->io.size == 4) {
                result = v;
                have_result = true;
                r->stage = 4;
            } else {
                snprintf(r->detail, sizeof(r->detail), "unexpected OUT to port 0x%x", run->io.port);
                break;
            }
        } else if (run->exit_reason == KVM_EXIT_HLT && have_result) {
            if (result != probe_expected(sse))
                snprintf(r->detail, sizeof(r->detail),
                         "the probe guest computed 0x%08x instead of 0x%08x", result, probe_expected(sse));
            else if (over_budget(r, start, cpu0, budget_ns) && r->cpu_ns > budget_ns)
                snprintf(r->detail, sizeof(r->detail),
                         "the probe guest took %llu ms of CPU time (budget %llu ms): KVM emulates "
                         "instead of running natively", (unsigned long long)(r->cpu_ns / 1000000),
                         (unsigned long long)(budget_ns / 1000000));
            else
                r->ok = true;
            break;
        } else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
            static const char *const sub[] = {"?", "emulation failure", "simultaneous exceptions",
                                              "delivery event failure", "unexpected exit reason"};
            uint32_t s = run->internal.suberror;
            snprintf(r->detail, sizeof(r->detail), "KVM_EXIT_INTERNAL_ERROR (suberror %u: %s)%s",
                     s, s < 5 ? sub[s] : "?",
                     s == 1 ? ": KVM emulates the guest instead of running it" : "");
            break;
        } else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
            snprintf(r->detail, sizeof(r->detail), "KVM_EXIT_FAIL_ENTRY (hardware reason 0x%llx)",
                     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            break;
        } else if (run->exit_reason == KVM_EXIT_INTR) {
            if (over_budget(r, start, cpu0, budget_ns)) {
                timeout_detail(r, budget_ns);
                break;
            }
        } else {
            const char *n = kvm_exit_name(run->exit_reason);
            if (n)
                snprintf(r->detail, sizeof(r->detail), "unexpected %s", n);
            else
                snprintf(r->detail, sizeof(r->detail), "unexpected exit reason %u", run->exit_reason);
            break;
        }
        if (over_budget(r, start, cpu0, budget_ns)) {
            timeout_detail(r, budget_ns);
            break;
        }
    }

out:
    if (watchdog_started) {
        pthread_mutex_lock(&w.lock);
        w.done = true;
        pthread_cond_signal(&w.cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(wd, NULL);
        /* A kick may still be pending on this thread: take it now, while
         * the no-op handler is installed, before restoring the mask. */
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    }
    pthread_cond_destroy(&w.cond);
    free(cpuid);
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (cpu >= 0)
        close(cpu);
    if (vm >= 0)
        close(vm);
    if (mem != MAP_FAILED)
        munmap(mem, PG_MEM);
}

static const char *stage_text(int stage)
{
    switch (stage) {
    case 0: return "its first instruction";
    case 1: return "the switch to protected mode";
    case 2: return "the switch to long mode";
    case 3: return "its long-mode loop";
    default: return "its end";
    }
}

/* The run-time probe's budget: 100k iterations take well under a
 * millisecond with VT-x/AMD-V; the PVM host's instruction emulator needs
 * ~230 ms for them. 50 ms leaves a wide margin on both sides, even on a
 * loaded host, and keeps a failing probe short. */
#define PROBE_BUDGET_NS (50ull * 1000 * 1000)

/* What the CPU flags say about loading a vendor module. */
static const char *vendor_hint(const struct kvm_host_facts *f)
{
    if (f->cpu_vmx)
        return "the CPU has VT-x: modprobe kvm_intel";
    if (f->cpu_svm)
        return "the CPU has AMD-V: modprobe kvm_amd";
    return "the CPU shows no vmx/svm flag: VT-x/AMD-V is off in the firmware or not passed to this VM";
}

/* The verdict, in the order the real probe meets its obstacles; every
 * reason is one line that fits accel_select's 256-byte buffer and names
 * what was found. */
bool kvm_probe_verdict(const struct kvm_host_facts *f, char *why, size_t len)
{
    char kind[128];
    bool any_vendor = f->mod_kvm_intel || f->mod_kvm_amd || f->mod_kvm_pvm;
    if (!f->dev_exists || f->open_errno == ENOENT) {
        if (any_vendor) {
            /* The kernel has KVM, this file system has no node for it: a
             * container or chroot with its own /dev. */
            char mods[64];
            snprintf(mods, sizeof(mods), "%s%s%s",
                     f->mod_kvm_pvm ? "kvm_pvm" : "",
                     f->mod_kvm_intel ? (f->mod_kvm_pvm ? ", kvm_intel" : "kvm_intel") : "",
                     f->mod_kvm_amd ? (f->mod_kvm_pvm || f->mod_kvm_intel ? ", kvm_amd" : "kvm_amd") : "");
            snprintf(why, len, "a KVM module (%s) is loaded but /dev/kvm does not exist "
                     "(a container or chroot without the device? mknod /dev/kvm c 10 232)", mods);
        } else if (f->mod_kvm) {
            snprintf(why, len, "a KVM module (kvm) is loaded but /dev/kvm does not exist: "
                     "no kvm_intel or kvm_amd (%s)", vendor_hint(f));
        } else {
            snprintf(why, len, "/dev/kvm does not exist: no KVM module is loaded (%s)", vendor_hint(f));
        }
        return false;
    }
    if (f->open_errno == EACCES || f->open_errno == EPERM) {
        /* QEMU's wording, so that what users find when they search for it
         * applies; then the usual fix. */
        snprintf(why, len, "Could not access KVM kernel module: %s (/dev/kvm; join group kvm: "
                 "sudo usermod -aG kvm $USER, then log in again)", strerror(f->open_errno));
        return false;
    }
    if (f->open_errno) {
        snprintf(why, len, "cannot open /dev/kvm: %s%s", strerror(f->open_errno),
                 !any_vendor && !f->mod_kvm ? " (no KVM module is loaded behind the device node)" : "");
        return false;
    }
    if (f->api_version != KVM_API_VERSION) {
        snprintf(why, len, "KVM API version %d, expected %d", f->api_version, KVM_API_VERSION);
        return false;
    }
    if (f->missing_cap) {
        snprintf(why, len, "KVM lacks %s", f->missing_cap);
        return false;
    }
    kvm_host_kind_of(f, kind, sizeof(kind));
    const struct kvm_probe_result *r = &f->probe;
    if (!r->ok) {
        /* Short: accel_select prints it on one line. */
        snprintf(why, len, "KVM cannot run %s code here (%s): probe guest %s %s: %s",
                 r->stage == 0 ? "even real-mode" : "protected-mode", kind,
                 r->timed_out ? "stuck in" : "failed in", stage_text(r->stage),
                 r->detail[0] ? r->detail : "no detail");
        return false;
    }
    snprintf(why, len, "%s; probe guest reached long mode and looped in %llu us", kind,
             (unsigned long long)(r->elapsed_ns / 1000));
    return true;
}

/* The real host: gathers the facts, stopping at the first failure (there
 * is nothing to ask a /dev/kvm that does not open), then judges them. */
bool kvm_probe(char *why, size_t len)
{
    struct kvm_host_facts f;
    gather_static_facts(&f);
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        f.open_errno = errno;
        return kvm_probe_verdict(&f, why, len);
    }
    f.dev_exists = true;   /* it opened, whatever stat said a moment ago */
    f.api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (f.api_version != KVM_API_VERSION) {
        close(fd);
        return kvm_probe_verdict(&f, why, len);
    }
    static const struct { int cap; const char *name; } caps[] = {
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
            f.missing_cap = caps[i].name;
            close(fd);
            return kvm_probe_verdict(&f, why, len);
        }
    }
    kvm_probe_run(fd, PROBE_BUDGET_NS, true, &f.probe);
    close(fd);
    return kvm_probe_verdict(&f, why, len);
}
