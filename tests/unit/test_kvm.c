/* The KVM engine, driven directly (init, vcpu_init, set_state, vcpu_run)
 * on a machine with a 64 KiB firmware image assembled here. Tests that
 * need /dev/kvm skip when it is missing or cannot run real-mode code. */
#include "test.h"
#include "accel/accel.h"
#include "accel/kvm.h"
#include "hw/machine.h"
#include "hw/stats_report.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* ---- the firmware image (GNU as, .code16, linked at 0; CS base 0xffff0000) ---- */

#define ROM_IO     0x000
#define ROM_MMIO   0x100
#define ROM_TRIPLE 0x180
#define ROM_PM     0x200
#define ROM_SPIN   0x300
#define ROM_HALT1  0x320
#define ROM_PIC    0x340
#define ROM_GATE   0x380
#define ROM_CPUID  0x3c0

static const uint8_t rom_io[] = {
    0xb0, 0x11,                   /* mov $0x11,%al                 */
    0xe6, 0x50,                   /* out %al,$0x50                 */
    0xba, 0xe0, 0x06,             /* mov $0x6e0,%dx                */
    0xb8, 0x33, 0x22,             /* mov $0x2233,%ax               */
    0xef,                         /* out %ax,(%dx)                 */
    0x83, 0xc2, 0x04,             /* add $4,%dx                    */
    0x66, 0xb8, 0x77, 0x66, 0x55, 0x44, /* mov $0x44556677,%eax    */
    0x66, 0xef,                   /* out %eax,(%dx)     port 0x504 */
    0xba, 0xe8, 0x06,             /* mov $0x6e8,%dx                */
    0xec,                         /* in (%dx),%al                  */
    0x88, 0xc3,                   /* mov %al,%bl                   */
    0xed,                         /* in (%dx),%ax                  */
    0x89, 0xc1,                   /* mov %ax,%cx                   */
    0x66, 0xed,                   /* in (%dx),%eax                 */
    0x66, 0x89, 0xc6,             /* mov %eax,%esi                 */
    0xba, 0xec, 0x06,             /* mov $0x6ec,%dx                */
    0x88, 0xd8,                   /* mov %bl,%al                   */
    0xee,                         /* out %al,(%dx)     echo        */
    0x89, 0xc8,                   /* mov %cx,%ax                   */
    0xef,                         /* out %ax,(%dx)                 */
    0x66, 0x89, 0xf0,             /* mov %esi,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)                */
    0xfc,                         /* cld                           */
    0xba, 0xf0, 0x06,             /* mov $0x6f0,%dx                */
    0xbe, 0x56, 0x00,             /* mov $msg,%si                  */
    0xb9, 0x05, 0x00,             /* mov $5,%cx                    */
    0x2e, 0xf3, 0x6e,             /* rep outsb %cs:(%si),(%dx)     */
    0x31, 0xc0,                   /* xor %ax,%ax                   */
    0x8e, 0xc0,                   /* mov %ax,%es                   */
    0xbf, 0x00, 0x06,             /* mov $0x600,%di                */
    0xb9, 0x04, 0x00,             /* mov $4,%cx                    */
    0xf3, 0x6c,                   /* rep insb (%dx),%es:(%di)      */
    0xbe, 0x56, 0x00,             /* mov $msg,%si                  */
    0xb9, 0x02, 0x00,             /* mov $2,%cx                    */
    0x2e, 0xf3, 0x6f,             /* rep outsw %cs:(%si),(%dx)     */
    0xfa,                         /* cli                           */
    0xf4,                         /* hlt                           */
    'h', 'e', 'l', 'l', 'o',      /* msg (0x56)                    */
};

/* Entered with FS.base = 0xfe000000 (set by the test). */
static const uint8_t rom_mmio[] = {
    0x64, 0xa0, 0x10, 0x00,       /* mov %fs:0x10,%al              */
    0x88, 0xc3,                   /* mov %al,%bl                   */
    0x64, 0xa1, 0x10, 0x00,       /* mov %fs:0x10,%ax              */
    0x89, 0xc1,                   /* mov %ax,%cx                   */
    0x64, 0x66, 0xa1, 0x10, 0x00, /* mov %fs:0x10,%eax             */
    0x64, 0x66, 0xa3, 0x20, 0x00, /* mov %eax,%fs:0x20             */
    0x64, 0xc7, 0x06, 0x24, 0x00, 0xef, 0xbe, /* movw $0xbeef,%fs:0x24 */
    0x64, 0xc6, 0x06, 0x26, 0x00, 0x5a,       /* movb $0x5a,%fs:0x26   */
    0xba, 0xec, 0x06,             /* mov $0x6ec,%dx                */
    0x88, 0xd8,                   /* mov %bl,%al                   */
    0xee,                         /* out %al,(%dx)                 */
    0x89, 0xc8,                   /* mov %cx,%ax                   */
    0xef,                         /* out %ax,(%dx)                 */
    0x2e, 0xc6, 0x06, 0x00, 0x10, 0x99, /* movb $0x99,%cs:0x1000: ROM */
    0xfa,                         /* cli                           */
    0xf4,                         /* hlt                           */
};

static const uint8_t rom_triple[] = {
    0x2e, 0x0f, 0x01, 0x1e, 0x88, 0x01, /* lidtw %cs:0x188 (limit 0)  */
    0xcc,                         /* int3: #GP, #DF, shutdown      */
    0xf4,                         /* hlt                           */
    0, 0, 0, 0, 0, 0,             /* 0x188: IDTR limit 0, base 0   */
};

static const uint8_t rom_pm[] = {
    0xfa,                                     /* cli                        */
    0x2e, 0x66, 0x0f, 0x01, 0x16, 0x58, 0x02, /* lgdtl %cs:0x258            */
    0x0f, 0x20, 0xc0,                         /* mov %cr0,%eax              */
    0x0c, 0x01,                               /* or $1,%al                  */
    0x0f, 0x22, 0xc0,                         /* mov %eax,%cr0              */
    0x66, 0xea, 0x18, 0x02, 0xff, 0xff, 0x08, 0x00, /* ljmpl $8,$0xffff0218 */
    /* .code32 at 0x218 */
    0xb8, 0x10, 0x00, 0x00, 0x00,             /* mov $0x10,%eax             */
    0x8e, 0xd8,                               /* mov %eax,%ds               */
    0x8e, 0xd0,                               /* mov %eax,%ss               */
    0x66, 0xba, 0xee, 0x06,                   /* mov $0x6ee,%dx             */
    0xb0, 0x20,                               /* mov $0x20,%al              */
    0xee,                                     /* out %al,(%dx)              */
    0x0f, 0x20, 0xe0,                         /* mov %cr4,%eax              */
    0x0d, 0x00, 0x06, 0x00, 0x00,             /* or $0x600,%eax (OSFXSR)    */
    0x0f, 0x22, 0xe0,                         /* mov %eax,%cr4              */
    0x66, 0x0f, 0xef, 0xc0,                   /* pxor %xmm0,%xmm0           */
    0xb0, 0x21,                               /* mov $0x21,%al              */
    0xee,                                     /* out %al,(%dx)              */
    0xf4,                                     /* hlt                        */
    0x8d, 0xb4, 0x00, 0x00, 0x90,             /* padding                    */
    /* 0x240: GDT: null, flat code, flat data. Accessed bits preset: the
     * CPU would otherwise write them into the read-only ROM (which hangs
     * the PVM host's emulator in the kernel). */
    0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00,
    /* 0x258: GDTR */
    0x17, 0x00, 0x40, 0x02, 0xff, 0xff,
};

static const uint8_t rom_spin[] = {0xeb, 0xfe};   /* jmp . */

static const uint8_t rom_halt1[] = {
    0xfb,                         /* sti                           */
    0xf4,                         /* hlt                           */
    0xb0, 0x77,                   /* mov $0x77,%al                 */
    0xe6, 0x50,                   /* out %al,$0x50                 */
    0xfa,                         /* cli                           */
    0xf4,                         /* hlt                           */
};

/* Programs the PIC pair like a BIOS (vectors 0x08-0x0f, only IRQ4
 * unmasked), says "ready" on port 0x50 and idles in HLT with IF=1. */
static const uint8_t rom_pic[] = {
    0xfa,                         /* cli                           */
    0xb0, 0x11, 0xe6, 0x20,       /* ICW1: edge, cascade, ICW4     */
    0xb0, 0x08, 0xe6, 0x21,       /* ICW2: vector base 0x08        */
    0xb0, 0x04, 0xe6, 0x21,       /* ICW3: slave on IR2            */
    0xb0, 0x01, 0xe6, 0x21,       /* ICW4: 8086 mode               */
    0xb0, 0xef, 0xe6, 0x21,       /* OCW1: unmask IRQ4 only        */
    0x31, 0xc0,                   /* xor %ax,%ax                   */
    0x8e, 0xd0,                   /* mov %ax,%ss                   */
    0xbc, 0x00, 0x7c,             /* mov $0x7c00,%sp               */
    0xb0, 0x01, 0xe6, 0x50,       /* out 1 to port 0x50: ready     */
    0xfb,                         /* sti                           */
    0xf4,                         /* 1: hlt                        */
    0xeb, 0xfd,                   /* jmp 1b                        */
};

/* The same PIC setup, then IF=0 until port 0x52 reads non-zero: an
 * interrupt raised meanwhile waits for the interrupt window. */
static const uint8_t rom_gate[] = {
    0xfa,                         /* cli                           */
    0xb0, 0x11, 0xe6, 0x20,       /* ICW1                          */
    0xb0, 0x08, 0xe6, 0x21,       /* ICW2                          */
    0xb0, 0x04, 0xe6, 0x21,       /* ICW3                          */
    0xb0, 0x01, 0xe6, 0x21,       /* ICW4                          */
    0xb0, 0xef, 0xe6, 0x21,       /* OCW1: unmask IRQ4             */
    0x31, 0xc0,                   /* xor %ax,%ax                   */
    0x8e, 0xd0,                   /* mov %ax,%ss                   */
    0xbc, 0x00, 0x7c,             /* mov $0x7c00,%sp               */
    0xb0, 0x01, 0xe6, 0x50,       /* out 1 to port 0x50: ready     */
    0xe4, 0x52,                   /* 1: in $0x52,%al               */
    0x84, 0xc0,                   /* test %al,%al                  */
    0x74, 0xfa,                   /* jz 1b                         */
    0xfb,                         /* sti                           */
    0x90,                         /* nop (STI shadow)              */
    0x90,                         /* nop: the window is open here  */
    0xf4,                         /* 2: hlt                        */
    0xeb, 0xfd,                   /* jmp 2b                        */
};

/* CPUID leaves 1, 0x40000000 and 5, reported on port 0x6ec. */
static const uint8_t rom_cpuid[] = {
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, /* mov $1,%eax                */
    0x0f, 0xa2,                   /* cpuid                         */
    0x66, 0x89, 0xd6,             /* mov %edx,%esi                 */
    0xba, 0xec, 0x06,             /* mov $0x6ec,%dx                */
    0x66, 0x89, 0xc8,             /* mov %ecx,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)   1.ecx        */
    0x66, 0x89, 0xf0,             /* mov %esi,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)   1.edx        */
    0x66, 0x89, 0xd8,             /* mov %ebx,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)   1.ebx        */
    0x66, 0xb8, 0x00, 0x00, 0x00, 0x40, /* mov $0x40000000,%eax       */
    0x0f, 0xa2,                   /* cpuid                         */
    0xba, 0xec, 0x06,             /* mov $0x6ec,%dx                */
    0x66, 0x89, 0xd8,             /* mov %ebx,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)   "KVMK"       */
    0x66, 0xb8, 0x05, 0x00, 0x00, 0x00, /* mov $5,%eax                */
    0x0f, 0xa2,                   /* cpuid                         */
    0xba, 0xec, 0x06,             /* mov $0x6ec,%dx                */
    0x66, 0xef,                   /* out %eax,(%dx)   5.eax        */
    0x66, 0x89, 0xd8,             /* mov %ebx,%eax                 */
    0x66, 0xef,                   /* out %eax,(%dx)   5.ebx        */
    0xfa,                         /* cli                           */
    0xf4,                         /* hlt                           */
};

/* IRQ4 handler (vector 0x0c), copied to RAM at 0000:0700. */
#define IRQ_HANDLER 0x700
static const uint8_t ram_irq_handler[] = {
    0x50,                         /* push %ax                      */
    0xb0, 0x42, 0xe6, 0x50,       /* out 0x42 to port 0x50         */
    0xb0, 0x20, 0xe6, 0x20,       /* non-specific EOI              */
    0x58,                         /* pop %ax                       */
    0xcf,                         /* iret                          */
};

/* ---- test devices ---- */

struct io_rec { uint64_t addr, val; unsigned size; bool write; };

struct rec {
    struct io_rec log[64];
    int n;
    uint8_t in_seq;
};

static void rec_add(struct rec *r, uint64_t a, uint64_t v, unsigned s, bool w)
{
    if (r->n < 64)
        r->log[r->n++] = (struct io_rec){a, v, s, w};
}

static uint64_t pio_rd(void *o, uint64_t a, unsigned s)
{
    struct rec *r = o;
    rec_add(r, a, 0, s, false);
    if (a == 0x10)                     /* port 0x6f0: a byte sequence */
        return 0x40 + r->in_seq++;
    return s == 1 ? 0xa1 : s == 2 ? 0xb2c3 : 0xd4e5f607;
}

static void pio_wr(void *o, uint64_t a, uint64_t v, unsigned s)
{
    rec_add(o, a, v, s, true);
}

static uint64_t mmio_rd(void *o, uint64_t a, unsigned s)
{
    rec_add(o, a, 0, s, false);
    return s == 1 ? 0x12 : s == 2 ? 0x3456 : s == 4 ? 0x789abcde : 0x0123456789abcdefULL;
}

static uint64_t gate_rd(void *o, uint64_t a, unsigned s)
{
    (void)a; (void)s;
    return (uint64_t)atomic_load((_Atomic int *)o);
}

static void mmio_wr(void *o, uint64_t a, uint64_t v, unsigned s)
{
    rec_add(o, a, v, s, true);
}

/* ---- harness ---- */

struct kt {
    struct machine m;
    struct machine_config cfg;
    struct rec pio, port50, mmio;
    _Atomic int gate;
    FILE *log;
};

/* How long a test waits for something that takes milliseconds before it
 * calls it a hang: generous, so that a loaded host or an emulating KVM is
 * not a failure (speed belongs in make bench). Waits end as soon as the
 * awaited thing happens. */
#define HANG_MS 20000

static int kvm_state = -1;   /* -1 unknown, 0 unusable for real mode, 1 real mode ok */
static char kvm_skip_why[256];

static bool kvm_real_mode_ok(void)
{
    if (kvm_state >= 0)
        return kvm_state == 1;
    kvm_state = 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(kvm_skip_why, sizeof(kvm_skip_why), "needs a /dev/kvm this user can open (%s)",
                 strerror(errno));
        return false;
    }
    struct kvm_probe_result r;
    kvm_probe_run(fd, 50ull * 1000 * 1000, false, &r);
    close(fd);
    if (!r.ok && r.stage == 0) {
        snprintf(kvm_skip_why, sizeof(kvm_skip_why), "KVM cannot run real-mode code here: %s", r.detail);
        return false;
    }
    kvm_state = 1;
    return true;
}

static void kt_free(struct kt *t)
{
    if (!t)
        return;
    machine_destroy(&t->m);
    for (int i = 0; i < MAX_VCPUS; i++) {
        pthread_mutex_destroy(&t->m.vcpu[i].halt_lock);
        pthread_cond_destroy(&t->m.vcpu[i].halt_cond);
    }
    if (t->log)
        fclose(t->log);
    free(t);
}

/* A machine with 1 MiB of RAM (2 MiB when big), the test ROM, test devices
 * at ports 0x50, 0x52, 0x6e0-0x6ff (clear of QEMU's 0x501 debug-exit and
 * 0x510 fw_cfg) and MMIO 0xfe000000 (clear of the IOAPIC/HPET/LAPIC pages), vCPU 0 in its reset state. */
static struct kt *kt_new_fw(int irqchip, size_t fw_size);

static struct kt *kt_new(int irqchip /* -1 default, 0 off, 1 on */)
{
    return kt_new_fw(irqchip, 0x10000);
}

/* fw_size: the firmware image (a multiple of 64 KiB); the test ROM is its
 * last 64 KiB, the rest is HLT. */
static struct kt *kt_new_fw(int irqchip, size_t fw_size)
{
    if (!kvm_real_mode_ok()) {
        test_skip(kvm_skip_why);
        return NULL;
    }
    struct kt *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cfg.ram_size = 1 << 20;
    t->cfg.smp = 1;
    t->cfg.accel.fallback = false;
    if (irqchip >= 0) {
        t->cfg.accel.kernel_irqchip_set = true;
        t->cfg.accel.kernel_irqchip = irqchip == 1;
    }
    t->log = tmpfile();
    t->cfg.log = t->log;
    if (machine_init(&t->m, &t->cfg, &accel_kvm_ops) < 0) {
        test_fail(__FILE__, __LINE__, "machine_init");
        kt_free(t);
        return NULL;
    }
    uint8_t *img = malloc(fw_size);
    memset(img, 0xf4, fw_size);    /* HLT everywhere else */
    uint8_t *rom = img + fw_size - 0x10000;
    memcpy(rom + ROM_IO, rom_io, sizeof(rom_io));
    memcpy(rom + ROM_MMIO, rom_mmio, sizeof(rom_mmio));
    memcpy(rom + ROM_TRIPLE, rom_triple, sizeof(rom_triple));
    memcpy(rom + ROM_PM, rom_pm, sizeof(rom_pm));
    memcpy(rom + ROM_SPIN, rom_spin, sizeof(rom_spin));
    memcpy(rom + ROM_HALT1, rom_halt1, sizeof(rom_halt1));
    memcpy(rom + ROM_PIC, rom_pic, sizeof(rom_pic));
    memcpy(rom + ROM_GATE, rom_gate, sizeof(rom_gate));
    memcpy(rom + ROM_CPUID, rom_cpuid, sizeof(rom_cpuid));
    /* F000:FFF0: jmp 0x0000 (IP wraps at 64 KiB). */
    static const uint8_t reset[] = {0xe9, 0x0d, 0x00};
    memcpy(rom + 0xfff0, reset, sizeof(reset));
    t->m.bios = img;
    t->m.bios_size = fw_size;
    iomap_register(&t->m.pio, 0x6e0, 0x20, pio_rd, pio_wr, &t->pio, "test-pio");
    iomap_register(&t->m.pio, 0x50, 1, pio_rd, pio_wr, &t->port50, "test-50");
    iomap_register(&t->m.pio, 0x52, 1, gate_rd, NULL, &t->gate, "test-gate");
    iomap_register(&t->m.mmio, 0xfe000000, 0x1000, mmio_rd, mmio_wr, &t->mmio, "test-mmio");
    struct vcpu *v = &t->m.vcpu[0];
    v->m = &t->m;
    v->index = 0;
    pthread_mutex_init(&v->halt_lock, NULL);
    pthread_cond_init(&v->halt_cond, NULL);
    t->m.nvcpus = 1;
    if (accel_kvm_ops.init(&t->m) < 0 || accel_kvm_ops.vcpu_init(v) < 0) {
        test_fail(__FILE__, __LINE__, "kvm init / vcpu_init");
        kt_free(t);
        return NULL;
    }
    struct x86_state st;
    x86_state_reset(&st);
    if (accel_kvm_ops.set_state(v, &st) < 0) {
        test_fail(__FILE__, __LINE__, "set_state");
        kt_free(t);
        return NULL;
    }
    return t;
}

/* Starts at CS=F000 (base 0xffff0000) : ip. */
static void kt_jump(struct kt *t, uint16_t ip)
{
    struct x86_state st;
    CHECK_EQ(accel_kvm_ops.get_state(&t->m.vcpu[0], &st), 0);
    st.rip = ip;
    CHECK_EQ(accel_kvm_ops.set_state(&t->m.vcpu[0], &st), 0);
}

static uint64_t reason_count(struct machine *m, const char *name)
{
    for (int i = 0; i < m->stats.nreasons; i++)
        if (!strcmp(m->stats.reason_name[i], name))
            return m->stats.reason[i];
    return 0;
}

static char *read_log(struct kt *t)
{
    static char buf[8192];
    fflush(t->log);
    long n = ftell(t->log);
    rewind(t->log);
    size_t got = fread(buf, 1, sizeof(buf) - 1, t->log);
    buf[got] = 0;
    fseek(t->log, n, SEEK_SET);
    return buf;
}

struct runner {
    struct vcpu *v;
    enum vcpu_exit e;
    _Atomic int done;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    r->e = accel_kvm_ops.vcpu_run(r->v);
    atomic_store(&r->done, 1);
    return NULL;
}

static bool wait_done(struct runner *r, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&r->done); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&r->done);
}

/* Stops the runner's vCPU and joins it. */
static void stop_runner(struct runner *r, pthread_t th)
{
    accel_kvm_ops.vcpu_kick(r->v);
    while (!wait_done(r, 100))
        accel_kvm_ops.vcpu_kick(r->v);
    pthread_join(th, NULL);
    atomic_store(&r->v->exit_request, 0);
}

/* vcpu_run with a time limit: a guest stuck in the kernel is a failed
 * check (and a kick), never a hung test run. */
static enum vcpu_exit run_limited(struct kt *t, int ms)
{
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    if (wait_done(&r, ms)) {
        pthread_join(th, NULL);
        return r.e;
    }
    test_failf(__FILE__, __LINE__, "vCPU still running after %d ms", ms);
    stop_runner(&r, th);
    return (enum vcpu_exit)-1;
}

/* ---- tests ---- */

/* The verdict for every kind of host a user can have, from injected facts:
 * what it decides and what its reason must name. */
static struct kvm_host_facts facts_ok(void)
{
    /* A working VT-x host; each case changes what it is about. */
    struct kvm_host_facts f = {
        .dev_exists = true, .mod_kvm = true, .mod_kvm_intel = true, .cpu_vmx = true,
        .api_version = KVM_API_VERSION,
        .probe = {.ok = true, .stage = 4, .elapsed_ns = 350000, .cpu_ns = 300000},
    };
    return f;
}

TEST(kvm_probe_verdict_every_host_kind)
{
    struct kcase {
        const char *name;
        struct kvm_host_facts f;
        bool ok;
        const char *must[4];     /* substrings the reason must contain */
        const char *must_not;    /* and one it must not */
    } cases[16];
    int n = 0;
    struct kvm_host_facts f;

    /* No KVM module at all, no node; the CPU flags decide the advice. */
    f = facts_ok();
    f.dev_exists = false; f.open_errno = ENOENT;
    f.mod_kvm = f.mod_kvm_intel = false;
    cases[n++] = (struct kcase){"no module, vmx", f, false,
                                {"/dev/kvm does not exist", "no KVM module", "modprobe kvm_intel"}, "loaded but"};
    f.cpu_vmx = false; f.cpu_svm = true;
    cases[n++] = (struct kcase){"no module, svm", f, false, {"no KVM module", "modprobe kvm_amd"}, NULL};
    f.cpu_svm = false;
    cases[n++] = (struct kcase){"no module, no vmx/svm", f, false,
                                {"/dev/kvm does not exist", "no vmx/svm"}, "modprobe"};
    /* The CI machine: kvm_pvm loaded, no node in this file system. */
    f = facts_ok();
    f.dev_exists = false; f.open_errno = ENOENT;
    f.mod_kvm_intel = false; f.mod_kvm_pvm = true; f.cpu_vmx = false;
    cases[n++] = (struct kcase){"kvm_pvm, no node", f, false,
                                {"a KVM module (kvm_pvm) is loaded but /dev/kvm does not exist", "mknod"}, NULL};
    /* stat saw no node even though open was not tried */
    f.open_errno = 0;
    cases[n++] = (struct kcase){"kvm_pvm, stat finds no node", f, false,
                                {"a KVM module (kvm_pvm) is loaded but /dev/kvm does not exist"}, NULL};
    f = facts_ok();
    f.dev_exists = false; f.open_errno = ENOENT;
    cases[n++] = (struct kcase){"kvm_intel, no node", f, false,
                                {"a KVM module (kvm_intel) is loaded but /dev/kvm does not exist"}, NULL};
    f.mod_kvm_intel = false;
    cases[n++] = (struct kcase){"kvm without a vendor module", f, false,
                                {"a KVM module (kvm) is loaded but /dev/kvm does not exist",
                                 "no kvm_intel or kvm_amd", "modprobe kvm_intel"}, NULL};
    /* The node is there but this user may not open it. */
    f = facts_ok();
    f.open_errno = EACCES;
    cases[n++] = (struct kcase){"EACCES", f, false,
                                {"Could not access KVM kernel module: Permission denied", "/dev/kvm",
                                 "group kvm", "usermod"}, "does not exist"};
    f.open_errno = EPERM;
    cases[n++] = (struct kcase){"EPERM", f, false,
                                {"Could not access KVM kernel module", "group kvm"}, NULL};
    f = facts_ok();
    f.open_errno = ENXIO;
    f.mod_kvm = f.mod_kvm_intel = false;
    cases[n++] = (struct kcase){"node without a driver", f, false,
                                {"cannot open /dev/kvm", "no KVM module"}, NULL};
    f = facts_ok();
    f.api_version = 11;
    cases[n++] = (struct kcase){"old API", f, false, {"KVM API version 11"}, NULL};
    f = facts_ok();
    f.missing_cap = "KVM_CAP_IMMEDIATE_EXIT";
    cases[n++] = (struct kcase){"missing capability", f, false, {"KVM lacks KVM_CAP_IMMEDIATE_EXIT"}, NULL};
    /* PVM-style nested KVM: every static check passes, the run-time probe
     * does not (an emulation failure on SSE, or far too slow). */
    f = facts_ok();
    f.mod_kvm_intel = false; f.mod_kvm_pvm = true; f.cpu_vmx = false;
    f.probe = (struct kvm_probe_result){.stage = 3};
    snprintf(f.probe.detail, sizeof(f.probe.detail),
             "KVM_EXIT_INTERNAL_ERROR (suberror 1: emulation failure): "
             "KVM emulates the guest instead of running it");
    cases[n++] = (struct kcase){"PVM, emulation failure", f, false,
                                {"protected-mode", "PVM", "kvm_pvm", "emulation failure"}, NULL};
    f.probe = (struct kvm_probe_result){.stage = 3, .timed_out = true};
    snprintf(f.probe.detail, sizeof(f.probe.detail), "still running after 50 ms");
    cases[n++] = (struct kcase){"PVM, too slow", f, false, {"PVM", "stuck in its long-mode loop"}, NULL};
    f.probe = (struct kvm_probe_result){.stage = 0};
    snprintf(f.probe.detail, sizeof(f.probe.detail), "KVM_CREATE_VM: Cannot allocate memory");
    cases[n++] = (struct kcase){"no VM at all", f, false, {"even real-mode", "KVM_CREATE_VM"}, NULL};
    /* A real VT-x/AMD-V KVM that passes. */
    f = facts_ok();
    cases[n++] = (struct kcase){"kvm_intel passes", f, true, {"kvm_intel", "long mode", "350 us"}, "no vmx"};

    for (int i = 0; i < n; i++) {
        char why[256];   /* accel_select's size */
        memset(why, 0, sizeof(why));
        bool ok = kvm_probe_verdict(&cases[i].f, why, sizeof(why));
        if (ok != cases[i].ok)
            test_failf(__FILE__, __LINE__, "%s: verdict %d, expected %d (%s)", cases[i].name, ok, cases[i].ok, why);
        /* A truncated reason would lose its end: the advice. */
        if (strlen(why) + 1 >= sizeof(why) || why[0] == 0)
            test_failf(__FILE__, __LINE__, "%s: reason empty or truncated: %s", cases[i].name, why);
        for (int k = 0; k < 4 && cases[i].must[k]; k++)
            if (!strstr(why, cases[i].must[k]))
                test_failf(__FILE__, __LINE__, "%s: reason lacks \"%s\": %s", cases[i].name, cases[i].must[k], why);
        if (cases[i].must_not && strstr(why, cases[i].must_not))
            test_failf(__FILE__, __LINE__, "%s: reason says \"%s\": %s", cases[i].name, cases[i].must_not, why);
    }
}

/* The real host, whatever it is: the verdict must agree with what the test
 * finds here itself. Bounded in time only against hangs. */
TEST(kvm_probe_verdict_on_this_host_is_truthful)
{
    char why[256] = "";
    uint64_t t0 = host_monotonic_ns();
    bool ok = accel_kvm_ops.probe(why, sizeof(why));
    uint64_t ms = (host_monotonic_ns() - t0) / 1000000;
    printf("  kvm probe: %s (%s, %llu ms)\n", ok ? "usable" : "unusable", why, (unsigned long long)ms);
    CHECK(why[0] != 0);
    CHECK(ms < 30000);     /* the probe's watchdog, not the host's speed */
    bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    bool vendor = pvm || access("/sys/module/kvm_intel", F_OK) == 0 ||
                  access("/sys/module/kvm_amd", F_OK) == 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (e == ENOENT) {
        CHECK(!ok);
        CHECK(strstr(why, "/dev/kvm does not exist") != NULL);
        if (pvm)
            CHECK(strstr(why, "a KVM module (kvm_pvm) is loaded") != NULL);
        else if (!vendor && access("/sys/module/kvm", F_OK) != 0)
            CHECK(strstr(why, "no KVM module") != NULL);
    } else if (e == EACCES || e == EPERM) {
        CHECK(!ok);
        CHECK(strstr(why, "Could not access KVM kernel module") != NULL);
        CHECK(strstr(why, "group kvm") != NULL);
    } else if (e) {
        CHECK(!ok);
        CHECK(strstr(why, "/dev/kvm") != NULL);
    } else if (ok) {
        CHECK(strstr(why, "reached long mode") != NULL);
        if (pvm)
            CHECK(strstr(why, "PVM") != NULL);
    } else {
        /* Opened, then refused: a static check or the run-time probe. */
        CHECK(strstr(why, "KVM") != NULL);
        if (pvm && strstr(why, "probe guest"))
            CHECK(strstr(why, "PVM") != NULL);
    }
}

/* The run-time probe on this host's KVM, whichever kind it is: it ends
 * (its watchdog), and its result is self-consistent and says where it
 * stopped. Which way it goes depends on the host (a PVM-style KVM crawls
 * or fails on SSE in long mode, VT-x passes); the verdict test above
 * covers each outcome. */
TEST(kvm_probe_guest_reaches_long_mode_or_says_where)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        test_skip("needs a /dev/kvm this user can open");
        return;
    }
    for (int sse = 0; sse < 2; sse++) {
        struct kvm_probe_result r;
        uint64_t t0 = host_monotonic_ns();
        kvm_probe_run(fd, 20ull * 1000 * 1000, sse, &r);
        uint64_t ms = (host_monotonic_ns() - t0) / 1000000;
        printf("  probe (sse=%d): %s, stage %d, %llu ms wall, %llu ms CPU%s%s\n", sse,
               r.ok ? "ok" : "failed", r.stage, (unsigned long long)(r.elapsed_ns / 1000000),
               (unsigned long long)(r.cpu_ns / 1000000), r.detail[0] ? ": " : "", r.detail);
        /* The watchdog bounds it even when the guest would run for long;
         * generous, so that only a hang fails it. */
        CHECK(ms < 30000);
        CHECK(r.stage >= 0 && r.stage <= 4);
        if (r.ok) {
            CHECK_EQ(r.stage, 4);
            CHECK(!r.timed_out);
        } else {
            CHECK(r.detail[0] != 0);
            if (r.timed_out)
                CHECK(strstr(r.detail, "still running") != NULL);
        }
    }
    close(fd);
}

TEST(kvm_reset_vector_port_io_and_string_io)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    enum vcpu_exit e = run_limited(t, HANG_MS);
    CHECK_EQ(e, VCPU_EXIT_DEAD_HALT);
    /* out %al,$0x50 */
    CHECK_EQ(t->port50.n, 1);
    CHECK(t->port50.log[0].write && t->port50.log[0].val == 0x11 && t->port50.log[0].size == 1);
    struct rec *r = &t->pio;
    /* 2 OUTs, 3 INs, 3 echo OUTs, 5 OUTSB, 4 INSB, 2 OUTSW */
    CHECK_EQ(r->n, 19);
    if (r->n == 19) {
        CHECK(r->log[0].write && r->log[0].addr == 0 && r->log[0].val == 0x2233 && r->log[0].size == 2);
        CHECK(r->log[1].write && r->log[1].addr == 4 && r->log[1].val == 0x44556677 && r->log[1].size == 4);
        for (int i = 0; i < 3; i++)
            CHECK(!r->log[2 + i].write && r->log[2 + i].addr == 8 && r->log[2 + i].size == (1u << i));
        /* What IN returned reached the guest's registers. */
        CHECK_EQ(r->log[5].val, 0xa1);
        CHECK_EQ(r->log[5].size, 1);
        CHECK_EQ(r->log[6].val, 0xb2c3);
        CHECK_EQ(r->log[6].size, 2);
        CHECK_EQ(r->log[7].val, 0xd4e5f607);
        CHECK_EQ(r->log[7].size, 4);
        const char *hello = "hello";
        for (int i = 0; i < 5; i++) {
            CHECK_EQ(r->log[8 + i].addr, 0x10);
            CHECK_EQ(r->log[8 + i].val, (uint8_t)hello[i]);
            CHECK_EQ(r->log[8 + i].size, 1);
        }
        for (int i = 0; i < 4; i++)
            CHECK(!r->log[13 + i].write && r->log[13 + i].size == 1);
        CHECK_EQ(r->log[17].val, 0x6568);    /* "he" */
        CHECK_EQ(r->log[17].size, 2);
        CHECK_EQ(r->log[18].val, 0x6c6c);    /* "ll" */
    }
    /* REP INSB wrote the device's bytes to RAM at 0:0600. */
    CHECK_EQ(t->m.ram[0x600], 0x40);
    CHECK_EQ(t->m.ram[0x601], 0x41);
    CHECK_EQ(t->m.ram[0x602], 0x42);
    CHECK_EQ(t->m.ram[0x603], 0x43);
    CHECK_EQ(t->m.ram[0x604], 0);
    /* Exits are counted by reason. */
    CHECK(reason_count(&t->m, "KVM_EXIT_IO") >= 9);
    CHECK_EQ(reason_count(&t->m, "KVM_EXIT_HLT"), 1);
    CHECK_EQ(t->m.stats.event[STAT_HLT], 1);
    CHECK(t->m.stats.event[STAT_PIO_OUT] >= 13);
    kt_free(t);
}

/* -d stats under kvm: the same names as under tcg (docs/stats.md); what
 * the kernel keeps to itself is n/a, not 0. */
TEST(kvm_exits_named_like_tcg)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    struct stats_snapshot s;
    stats_collect(&t->m, &s);
    uint64_t v = 0;
    CHECK(!strcmp(s.engine, "kvm"));
    CHECK(stats_lookup(&s, "io.port(0x0050)", &v) && v == 1);
    CHECK(stats_lookup(&s, "io.out", &v) && v >= 13);
    CHECK(stats_lookup(&s, "hlt", &v) && v >= 1);
    CHECK(stats_lookup(&s, "exit(KVM_EXIT_IO)", &v) && v >= 9);
    CHECK(!stats_lookup(&s, "cpuid", &v));
    CHECK(!stats_lookup(&s, "insn.retired", &v));
    /* Where the kernel has KVM_GET_STATS_FD, its own counts are read too. */
    if (stats_lookup(&s, "kvm.stat(exits)", &v))
        CHECK(stats_lookup(&s, "exits", &v) && v >= 18);
    stats_snapshot_free(&s);
    kt_free(t);
}

TEST(kvm_mmio_read_write_sizes)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    struct vcpu *v = &t->m.vcpu[0];
    struct x86_state st;
    CHECK_EQ(accel_kvm_ops.get_state(v, &st), 0);
    st.rip = ROM_MMIO;
    st.seg[SEG_FS].base = 0xfe000000;   /* real mode with a far base, as at reset for CS */
    CHECK_EQ(accel_kvm_ops.set_state(v, &st), 0);
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    struct rec *r = &t->mmio;
    CHECK_EQ(r->n, 6);
    if (r->n == 6) {
        CHECK(!r->log[0].write && r->log[0].addr == 0x10 && r->log[0].size == 1);
        CHECK(!r->log[1].write && r->log[1].addr == 0x10 && r->log[1].size == 2);
        CHECK(!r->log[2].write && r->log[2].addr == 0x10 && r->log[2].size == 4);
        CHECK(r->log[3].write && r->log[3].addr == 0x20 && r->log[3].size == 4);
        CHECK_EQ(r->log[3].val, 0x789abcde);
        CHECK(r->log[4].write && r->log[4].addr == 0x24 && r->log[4].size == 2);
        CHECK_EQ(r->log[4].val, 0xbeef);
        CHECK(r->log[5].write && r->log[5].addr == 0x26 && r->log[5].size == 1);
        CHECK_EQ(r->log[5].val, 0x5a);
    }
    /* The values read reached the guest (echoed on port 0x6ec). */
    CHECK_EQ(t->pio.n, 2);
    CHECK_EQ(t->pio.log[0].val, 0x12);
    CHECK_EQ(t->pio.log[1].val, 0x3456);
    CHECK(reason_count(&t->m, "KVM_EXIT_MMIO") >= 6);
    /* The write into the firmware was dropped: ROM stays ROM. */
    CHECK_EQ(t->m.bios[t->m.bios_size - 0x10000 + 0x1000], 0xf4);
    CHECK(t->m.stats.event[STAT_MMIO_READ] >= 3);
    kt_free(t);
}

/* Makes KVM itself raise a triple fault: an uncorrected machine check while
 * CR4.MCE=0 shuts the CPU down (SDM vol. 3, 15.10.1). */
static bool kvm_force_triple_fault(struct vcpu *v)
{
    int fd = kvm_vcpu_fd(v);
    int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0 || kfd < 0)
        return false;
    uint64_t cap = 0;
    bool ok = ioctl(kfd, KVM_X86_GET_MCE_CAP_SUPPORTED, &cap) == 0;
    close(kfd);
    if (!ok)
        return false;
    cap = (cap & (1u << 8)) | 1;         /* MCG_CTL_P if offered, one bank */
    if (ioctl(fd, KVM_X86_SETUP_MCE, &cap) < 0)
        return false;
    struct kvm_x86_mce mce = {
        .status = (1ULL << 63) | (1ULL << 61) | (1ULL << 60),   /* VAL, UC, EN */
        .mcg_status = (1ULL << 2) | (1ULL << 1),                /* MCIP, EIPV */
        .bank = 0,
    };
    return ioctl(fd, KVM_X86_SET_MCE, &mce) == 0;
}

TEST(kvm_triple_fault_is_shutdown)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    char why[512];
    if (accel_kvm_ops.probe(why, sizeof(why))) {
        /* Real VT-x/AMD-V: the guest's own int3 with an empty IDT. */
        kt_jump(t, ROM_TRIPLE);
    } else {
        /* An emulating KVM (this host) delivers real-mode interrupts without
         * checking the IDT limit, so guest code cannot triple-fault it: ask
         * KVM for the shutdown instead; the run loop path is the same. */
        kt_jump(t, ROM_SPIN);
        CHECK(kvm_force_triple_fault(&t->m.vcpu[0]));
    }
    enum vcpu_exit e = run_limited(t, HANG_MS);
    if (e == VCPU_EXIT_ERROR)
        printf("%s", read_log(t));
    CHECK_EQ(e, VCPU_EXIT_SHUTDOWN);
    CHECK_EQ(reason_count(&t->m, "KVM_EXIT_SHUTDOWN"), 1);
    kt_free(t);
}

TEST(kvm_state_round_trip)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    struct vcpu *v = &t->m.vcpu[0];
    struct x86_state a, b;
    x86_state_reset(&a);
    for (int i = 0; i < 16; i++)
        a.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1) ^ 0x0123456789abcdefULL;
    a.rip = 0x1234;
    a.rflags = RFLAGS_FIXED | RFLAGS_CF | RFLAGS_ZF | RFLAGS_DF;
    a.seg[SEG_DS] = (struct x86_seg){.base = 0x12340, .limit = 0xffff, .sel = 0x1234, .attr = 0x93};
    a.seg[SEG_GS] = (struct x86_seg){.base = 0xfec00000, .limit = 0xffff, .sel = 0, .attr = 0x93};
    a.gdtr = (struct x86_dtable){.base = 0x5000, .limit = 0x27};
    a.idtr = (struct x86_dtable){.base = 0x6000, .limit = 0x3ff};
    a.cr2 = 0xdeadbeef000ULL;
    a.cr3 = 0x9000;
    a.star = 0x0023001000000000ULL;
    a.lstar = 0xffffffff81000000ULL;
    a.cstar = 0xffffffff81000100ULL;
    a.sfmask = 0x47700;
    a.kernel_gs_base = 0xffff888000000000ULL;
    a.sysenter_cs = 0x10;
    a.sysenter_esp = 0x7000;
    a.sysenter_eip = 0xc0001000;
    a.pat = 0x0007010600070106ULL;
    a.fcw = 0x27f;
    a.mxcsr = 0x1fa0;
    a.fsw = 6 << 11;                /* TOP = 6: ST(0) is R6, ST(1) R7 */
    a.ftw = 0xc0;
    a.fop = 0x5d9;
    a.fip = 0x7c10;
    a.fdp = 0x6000;
    a.st[0].mant = 0xc000000000000000ULL;   /* 1.5 */
    a.st[0].sexp = 0x3fff;
    a.st[1].mant = 0x8000000000000000ULL;   /* -2 */
    a.st[1].sexp = 0xc000;
    a.xmm[3][0] = 0x0123456789abcdefULL;
    a.xmm[15][1] = 0xfedcba9876543210ULL;
    a.dr[0] = 0x1000;
    a.dr[7] = 0x401;
    CHECK_EQ(accel_kvm_ops.set_state(v, &a), 0);
    CHECK_EQ(accel_kvm_ops.get_state(v, &b), 0);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(b.gpr[i], a.gpr[i]);
    CHECK_EQ(b.rip, a.rip);
    CHECK_EQ(b.rflags, a.rflags);
    for (int i = 0; i < SEG_COUNT; i++) {
        CHECK_EQ(b.seg[i].base, a.seg[i].base);
        CHECK_EQ(b.seg[i].limit, a.seg[i].limit);
        CHECK_EQ(b.seg[i].sel, a.seg[i].sel);
        CHECK_EQ(b.seg[i].attr & 0xfff, a.seg[i].attr & 0xfff);
    }
    CHECK_EQ(b.tr.attr & 0xff, a.tr.attr & 0xff);
    CHECK_EQ(b.gdtr.base, a.gdtr.base);
    CHECK_EQ(b.gdtr.limit, a.gdtr.limit);
    CHECK_EQ(b.idtr.base, a.idtr.base);
    CHECK_EQ(b.idtr.limit, a.idtr.limit);
    CHECK_EQ(b.cr0, a.cr0);
    CHECK_EQ(b.cr2, a.cr2);
    CHECK_EQ(b.cr3, a.cr3);
    CHECK_EQ(b.efer, a.efer);
    CHECK_EQ(b.apic_base & ~0xfffULL, a.apic_base & ~0xfffULL);
    CHECK_EQ(b.star, a.star);
    CHECK_EQ(b.lstar, a.lstar);
    CHECK_EQ(b.cstar, a.cstar);
    CHECK_EQ(b.sfmask, a.sfmask);
    CHECK_EQ(b.kernel_gs_base, a.kernel_gs_base);
    CHECK_EQ(b.sysenter_cs, a.sysenter_cs);
    CHECK_EQ(b.sysenter_esp, a.sysenter_esp);
    CHECK_EQ(b.sysenter_eip, a.sysenter_eip);
    CHECK_EQ(b.pat, a.pat);
    CHECK_EQ(b.fcw, a.fcw);
    CHECK_EQ(b.mxcsr, a.mxcsr);
    /* The whole FXSAVE-format FPU state crosses (engine handover). */
    CHECK_EQ(b.fsw, a.fsw);
    CHECK_EQ(b.ftw, a.ftw);
    CHECK_EQ(b.fop, a.fop);
    CHECK_EQ(b.fip, a.fip);
    CHECK_EQ(b.fdp, a.fdp);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(b.st[i].mant, a.st[i].mant);
        CHECK_EQ(b.st[i].sexp, a.st[i].sexp);
    }
    CHECK_EQ(b.xmm[3][0], a.xmm[3][0]);
    CHECK_EQ(b.xmm[15][1], a.xmm[15][1]);
    CHECK_EQ(b.dr[0], a.dr[0]);
    CHECK_EQ(b.dr[7], a.dr[7]);
    kt_free(t);
}


TEST(kvm_kick_stops_a_spinning_guest)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    kt_jump(t, ROM_SPIN);
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    CHECK(!atomic_load(&r.done));
    accel_kvm_ops.vcpu_kick(&t->m.vcpu[0]);
    bool done = wait_done(&r, HANG_MS);
    CHECK(done);
    if (!done) {
        /* Keep kicking so the thread can be joined. */
        while (!atomic_load(&r.done))
            accel_kvm_ops.vcpu_kick(&t->m.vcpu[0]);
    }
    pthread_join(th, NULL);
    CHECK_EQ(r.e, VCPU_EXIT_KICK);
    kt_free(t);
}

TEST(kvm_halt_with_if_waits_for_intr_or_kick)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    kt_jump(t, ROM_HALT1);
    struct vcpu *v = &t->m.vcpu[0];
    struct runner r = {.v = v};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    /* Wait for the HLT (a loaded host may take long to get there), then a
     * little more: halted with IF=1 is not dead, it waits. */
    for (int i = 0; i < HANG_MS && !t->m.stats.event[STAT_HLT] && !atomic_load(&r.done); i++) {
        struct timespec ms1 = {0, 1000000};
        nanosleep(&ms1, NULL);
    }
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    CHECK(!atomic_load(&r.done));
    CHECK_EQ(t->m.stats.event[STAT_HLT], 1);
    accel_kvm_ops.vcpu_kick(v);
    CHECK(wait_done(&r, HANG_MS));
    pthread_join(th, NULL);
    CHECK_EQ(r.e, VCPU_EXIT_KICK);
    /* Resuming continues after the HLT (no PIC here, so no vector). */
    atomic_store(&v->exit_request, 0);
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    CHECK_EQ(t->port50.n, 1);
    CHECK_EQ(t->port50.log[0].val, 0x77);
    kt_free(t);
}

TEST(kvm_protected_mode_runs_or_reports_internal_error)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    char why[512];
    bool usable = accel_kvm_ops.probe(why, sizeof(why));
    kt_jump(t, ROM_PM);
    enum vcpu_exit e = run_limited(t, HANG_MS);
    const char *log = read_log(t);
    /* Hardware virtualization runs it; an emulating KVM (a PVM-style one)
     * may fail on the SSE instruction. Which one this host has is the
     * probe's business: here, a KVM the probe accepts must run it, and
     * any other outcome must be one of these two. */
    if (usable)
        CHECK_EQ(e, VCPU_EXIT_DEAD_HALT);
    CHECK(e == VCPU_EXIT_DEAD_HALT || e == VCPU_EXIT_ERROR);
    if (e == VCPU_EXIT_DEAD_HALT) {
        CHECK_EQ(t->pio.n, 2);
        CHECK_EQ(t->pio.log[1].val, 0x21);
    } else if (e == VCPU_EXIT_ERROR) {
        /* A clear error, the registers and the instruction bytes, never a
         * silent stop. */
        CHECK(strstr(log, "KVM internal error") != NULL);
        CHECK(strstr(log, "RIP=") != NULL);
        CHECK(strstr(log, "CR0=") != NULL);
        CHECK(strstr(log, "66 0f ef c0") != NULL);
        CHECK_EQ(reason_count(&t->m, "KVM_EXIT_INTERNAL_ERROR"), 1);
    }
    kt_free(t);
}

TEST(kvm_kernel_irqchip_on_off)
{
    struct kt *t = kt_new(1);
    if (!t)
        return;
    CHECK(t->m.irqchip_in_kernel);
    CHECK(kvm_irqchip_in_kernel(&t->m));
    /* The guest's port test runs the same with the irqchip in the kernel;
     * its final CLI; HLT stays in the kernel, found by the periodic check. */
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    CHECK_EQ(t->port50.n, 1);
    CHECK_EQ(t->pio.n, 19);
    CHECK_EQ(reason_count(&t->m, "KVM_EXIT_HLT"), 0);
    machine_set_gsi(&t->m, 4, 1);    /* reaches KVM_IRQ_LINE, no crash */
    machine_set_gsi(&t->m, 4, 0);
    machine_set_gsi(&t->m, 99, 1);   /* out of range: ignored */
    kt_free(t);
    t = kt_new(0);
    if (!t)
        return;
    CHECK(!t->m.irqchip_in_kernel);
    kt_free(t);
    /* Not given: on, when this KVM has one (it has, if it has KVM_CAP_IRQCHIP). */
    t = kt_new(-1);
    if (!t)
        return;
    int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    bool cap = kfd >= 0 && ioctl(kfd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0;
    if (kfd >= 0)
        close(kfd);
    CHECK_EQ(t->m.irqchip_in_kernel, cap);
    kt_free(t);
}

static bool wait_port50(struct kt *t, int n, int ms)
{
    for (int i = 0; i < ms && t->port50.n < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return t->port50.n >= n;
}

/* A device pulses ISA IRQ4; the guest's handler must run (port 0x50 = 0x42)
 * and the guest must go back to its HLT loop. */
static void irq4_round_trip(struct kt *t)
{
    memcpy(t->m.ram + IRQ_HANDLER, ram_irq_handler, sizeof(ram_irq_handler));
    uint16_t ivt[2] = {IRQ_HANDLER, 0};
    memcpy(t->m.ram + 0x0c * 4, ivt, 4);
    kt_jump(t, ROM_PIC);
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    CHECK(wait_port50(t, 1, HANG_MS));
    CHECK(!atomic_load(&r.done));
    for (int round = 0; round < 2; round++) {
        pthread_mutex_lock(&t->m.lock);
        machine_set_gsi(&t->m, 4, 1);
        machine_set_gsi(&t->m, 4, 0);
        pthread_mutex_unlock(&t->m.lock);
        CHECK(wait_port50(t, 2 + round, HANG_MS));
    }
    CHECK_EQ(t->port50.n, 3);
    if (t->port50.n == 3) {
        CHECK_EQ(t->port50.log[0].val, 0x01);
        CHECK_EQ(t->port50.log[1].val, 0x42);
        CHECK_EQ(t->port50.log[2].val, 0x42);
    }
    /* Still alive in its idle loop, not dead or errored. */
    CHECK(!atomic_load(&r.done));
    stop_runner(&r, th);
    CHECK_EQ(r.e, VCPU_EXIT_KICK);
}

TEST(kvm_irq_injection_kernel_irqchip)
{
    struct kt *t = kt_new(1);
    if (!t)
        return;
    irq4_round_trip(t);
    kt_free(t);
}

TEST(kvm_irq_injection_board_pic)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    if (pc_init(&t->m) < 0) {
        test_fail(__FILE__, __LINE__, "pc_init failed (a device port clashing with the test's?)");
        kt_free(t);
        return;
    }
    if (!iomap_find(&t->m.pio, 0x20)) {
        test_skip("the board has no PIC at port 0x20 yet (hw/pc.c wiring)");
        kt_free(t);
        return;
    }
    irq4_round_trip(t);
    /* User-space irqchip: every interrupt went through KVM_INTERRUPT. */
    CHECK_EQ(t->m.stats.event[STAT_IRQ_INJECTED], 2);
    CHECK(t->m.stats.event[STAT_HLT] >= 1);
    kt_free(t);
}

TEST(kvm_irq_waits_for_interrupt_window)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    if (pc_init(&t->m) < 0) {
        test_fail(__FILE__, __LINE__, "pc_init failed (a device port clashing with the test's?)");
        kt_free(t);
        return;
    }
    if (!iomap_find(&t->m.pio, 0x20)) {
        test_skip("the board has no PIC at port 0x20 yet (hw/pc.c wiring)");
        kt_free(t);
        return;
    }
    memcpy(t->m.ram + IRQ_HANDLER, ram_irq_handler, sizeof(ram_irq_handler));
    uint16_t ivt[2] = {IRQ_HANDLER, 0};
    memcpy(t->m.ram + 0x0c * 4, ivt, 4);
    kt_jump(t, ROM_GATE);
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    CHECK(wait_port50(t, 1, HANG_MS));
    pthread_mutex_lock(&t->m.lock);
    machine_set_gsi(&t->m, 4, 1);
    machine_set_gsi(&t->m, 4, 0);
    pthread_mutex_unlock(&t->m.lock);
    /* IF=0: the interrupt must wait, however long the guest polls. */
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    CHECK_EQ(t->port50.n, 1);
    CHECK_EQ(t->m.stats.event[STAT_IRQ_INJECTED], 0);
    atomic_store(&t->gate, 1);
    CHECK(wait_port50(t, 2, HANG_MS));
    if (t->port50.n >= 2)
        CHECK_EQ(t->port50.log[1].val, 0x42);
    CHECK_EQ(t->m.stats.event[STAT_IRQ_INJECTED], 1);
    /* VT-x/AMD-V exit as soon as the window opens (after STI's shadow);
     * the PVM host's emulator only stops at the HLT that follows. Either
     * way the vector went in while IF=1, not before. */
    uint64_t win = reason_count(&t->m, "KVM_EXIT_IRQ_WINDOW_OPEN");
    CHECK_EQ(t->m.stats.event[STAT_IRQ_WINDOW], win);
    CHECK(win >= 1 || t->m.stats.event[STAT_HLT] >= 1);
    stop_runner(&r, th);
    kt_free(t);
}

/* machine_reset calls the engine's reset op, then sets the boot state: the
 * in-kernel PIC must come back to its power-on state with it. */
TEST(kvm_reset_restores_kernel_pic)
{
    struct kt *t = kt_new(1);
    if (!t)
        return;
    irq4_round_trip(t);
    struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
    CHECK_EQ(ioctl(kvm_vm_fd(&t->m), KVM_GET_IRQCHIP, &chip), 0);
    CHECK_EQ(chip.chip.pic.imr, 0xef);
    CHECK_EQ(chip.chip.pic.irq_base, 0x08);
    struct x86_state st;
    x86_state_reset(&st);
    CHECK_EQ(accel_kvm_ops.reset(&t->m.vcpu[0]), 0);
    CHECK_EQ(accel_kvm_ops.set_state(&t->m.vcpu[0], &st), 0);
    CHECK_EQ(ioctl(kvm_vm_fd(&t->m), KVM_GET_IRQCHIP, &chip), 0);
    CHECK_EQ(chip.chip.pic.imr, 0);
    CHECK_EQ(chip.chip.pic.irq_base, 0);
    /* And the machine runs again from the reset vector. */
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    CHECK(wait_port50(t, 4, HANG_MS));
    stop_runner(&r, th);
    CHECK_EQ(t->port50.log[3].val, 0x11);
    kt_free(t);
}

/* What the guest's CPUID says: the host's features minus what the board
 * lacks, the hypervisor bit, one CPU. */
static void check_cpuid(int irqchip)
{
    struct kt *t = kt_new(irqchip);
    if (!t)
        return;
    kt_jump(t, ROM_CPUID);
    struct runner r = {.v = &t->m.vcpu[0]};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &r);
    for (int i = 0; i < HANG_MS && t->pio.n < 6; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (irqchip)
        stop_runner(&r, th);     /* its HLT stays in the kernel */
    else {
        CHECK(wait_done(&r, HANG_MS));
        pthread_join(th, NULL);
        CHECK_EQ(r.e, VCPU_EXIT_DEAD_HALT);
    }
    CHECK_EQ(t->pio.n, 6);
    if (t->pio.n == 6) {
        uint32_t ecx = (uint32_t)t->pio.log[0].val, edx = (uint32_t)t->pio.log[1].val;
        uint32_t ebx = (uint32_t)t->pio.log[2].val;
        CHECK(ecx & (1u << 31));                 /* hypervisor */
        CHECK(!(ecx & (1u << 3)));               /* no MONITOR/MWAIT */
        CHECK(!(ecx & (1u << 5)));               /* no VMX */
        CHECK(edx & (1u << 0));                  /* FPU */
        CHECK(edx & (1u << 25));                 /* SSE: the host's */
        CHECK_EQ((ebx >> 16) & 0xff, 1);         /* one logical CPU (KVM itself sets HTT) */
        CHECK_EQ(ebx >> 24, 0);                  /* APIC id of vCPU 0 */
        if (irqchip) {
            CHECK(edx & (1u << 9));              /* the kernel's LAPIC */
        } else {
            CHECK(!(edx & (1u << 9)));           /* no APIC without it */
            CHECK(!(ecx & (1u << 21)));          /* no x2APIC */
            CHECK(!(ecx & (1u << 24)));          /* no TSC deadline */
        }
        CHECK_EQ(t->pio.log[3].val, 0x4b4d564b); /* "KVMK" */
        CHECK_EQ(t->pio.log[4].val, 0);          /* leaf 5 empty */
        CHECK_EQ(t->pio.log[5].val, 0);
    }
    kt_free(t);
}

TEST(kvm_cpuid_user_irqchip)
{
    check_cpuid(0);
}

TEST(kvm_cpuid_kernel_irqchip)
{
    check_cpuid(1);
}

TEST(kvm_large_firmware_moves_kvm_pages)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    CHECK_EQ(kvm_private_base(&t->m), KVM_IDENTITY_ADDR);
    kt_free(t);
    /* 2 MiB of firmware reaches below 0xfffbc000: KVM's pages move. */
    t = kt_new_fw(0, 2 << 20);
    if (!t)
        return;
    CHECK_EQ(kvm_private_base(&t->m), KVM_IDENTITY_ADDR_LARGE_FW);
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    CHECK_EQ(t->port50.n, 1);
    CHECK_EQ(t->pio.n, 19);
    kt_free(t);
}

/* ---- through the board's own vCPU thread and main loop (machine_run) ---- */

static void shutdown_wr(void *o, uint64_t a, uint64_t v, unsigned s)
{
    (void)a; (void)s;
    machine_request(o, REQ_SHUTDOWN, (int)v);   /* device lock held, vCPU thread */
}

static struct timer stop_timer;
static void stop_tick(void *o)
{
    machine_request(o, REQ_SHUTDOWN, 7);         /* main loop thread */
}

TEST(kvm_machine_run_device_requests_shutdown)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    /* The port test writes 0x11 to port 0x50: make that port end the run. */
    iomap_unregister(&t->m.pio, 0x50);
    iomap_register(&t->m.pio, 0x50, 1, NULL, shutdown_wr, &t->m, "test-exit");
    uint64_t t0 = host_monotonic_ns();
    CHECK_EQ(machine_run(&t->m), 0x11);
    CHECK((host_monotonic_ns() - t0) < HANG_MS * 1000000ull);
    kt_free(t);
}

TEST(kvm_machine_run_timer_stops_spinning_guest)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    kt_jump(t, ROM_SPIN);
    timer_init(&stop_timer, &t->m.clock, stop_tick, &t->m);
    timer_mod(&stop_timer, clock_ns(&t->m.clock) + 30ull * 1000 * 1000);
    uint64_t t0 = host_monotonic_ns();
    CHECK_EQ(machine_run(&t->m), 7);
    CHECK((host_monotonic_ns() - t0) < HANG_MS * 1000000ull);
    timer_del(&stop_timer);
    kt_free(t);
}

TEST(kvm_machine_run_triple_fault_no_reboot)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    t->cfg.no_reboot = true;
    kt_jump(t, ROM_SPIN);
    CHECK(kvm_force_triple_fault(&t->m.vcpu[0]));
    CHECK_EQ(machine_run(&t->m), 0);
    CHECK(strstr(read_log(t), "triple fault") != NULL);
    kt_free(t);
}

TEST(kvm_machine_run_dead_halt_stops)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    CHECK_EQ(machine_run(&t->m), 0);
    CHECK(strstr(read_log(t), "halted with interrupts disabled") != NULL);
    CHECK_EQ(t->pio.n, 19);
    kt_free(t);
}

/* ---- the states boot loaders hand over (32-bit flat, 64-bit long mode) ---- */

static const uint8_t ram_code64[] = {
    0x66, 0xba, 0xec, 0x06,       /* mov $0x6ec,%dx                */
    0xb8, 0xef, 0xbe, 0xad, 0xde, /* mov $0xdeadbeef,%eax          */
    0xef,                         /* out %eax,(%dx)                */
    0x48, 0xbb, 0x00, 0x00, 0x00, 0xfe, 0, 0, 0, 0, /* movabs $0xfe000000,%rbx */
    0x48, 0x8b, 0x43, 0x10,       /* mov 0x10(%rbx),%rax  (8 bytes) */
    0x48, 0x89, 0x43, 0x18,       /* mov %rax,0x18(%rbx)           */
    0x48, 0xc1, 0xe8, 0x20,       /* shr $32,%rax                  */
    0xef,                         /* out %eax,(%dx)                */
    0x48, 0x89, 0xe0,             /* mov %rsp,%rax                 */
    0xef,                         /* out %eax,(%dx)                */
    0xf4,                         /* hlt                           */
};

static const uint8_t ram_code32[] = {
    0x66, 0xba, 0xec, 0x06,       /* mov $0x6ec,%dx                */
    0xb8, 0x32, 0x00, 0xfe, 0xca, /* mov $0xcafe0032,%eax          */
    0xef,                         /* out %eax,(%dx)                */
    0xa1, 0x00, 0x06, 0x00, 0x00, /* mov 0x600,%eax                */
    0xef,                         /* out %eax,(%dx)                */
    0xf4,                         /* hlt                           */
};

TEST(kvm_flat32_boot_state_runs)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    memcpy(t->m.ram + 0x3000, ram_code32, sizeof(ram_code32));
    uint32_t word = 0x11223344;
    memcpy(t->m.ram + 0x600, &word, 4);
    struct x86_state st;
    x86_state_reset(&st);
    x86_state_flat32(&st, 0x10, 0x18);
    st.rip = 0x3000;
    CHECK_EQ(accel_kvm_ops.set_state(&t->m.vcpu[0], &st), 0);
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    CHECK_EQ(t->pio.n, 2);
    if (t->pio.n == 2) {
        CHECK_EQ(t->pio.log[0].val, 0xcafe0032);
        CHECK_EQ(t->pio.log[1].val, 0x11223344);
    }
    struct x86_state out;
    CHECK_EQ(accel_kvm_ops.get_state(&t->m.vcpu[0], &out), 0);
    CHECK(out.cr0 & CR0_PE);
    CHECK_EQ(out.seg[SEG_CS].sel, 0x10);
    CHECK(out.seg[SEG_CS].attr & SEGA_DB);
    kt_free(t);
}

TEST(kvm_long_mode_boot_state_and_8_byte_mmio)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    uint8_t *ram = t->m.ram;
    /* Identity map of the first 2 MiB and of the 2 MiB at 0xfe000000,
     * large pages (the second uncached, bit 4). */
    uint64_t e = 0x9000 | 3;
    memcpy(ram + 0x8000, &e, 8);
    e = 0xa000 | 3;
    memcpy(ram + 0x9000, &e, 8);
    e = 0xb000 | 3;
    memcpy(ram + 0x9000 + 3 * 8, &e, 8);
    e = 0x83;
    memcpy(ram + 0xa000, &e, 8);
    e = 0xfe000000ULL | 0x93;
    memcpy(ram + 0xb000 + ((0xfe000000ULL >> 21) & 511) * 8, &e, 8);
    memcpy(ram + 0x2000, ram_code64, sizeof(ram_code64));
    struct x86_state st;
    x86_state_reset(&st);
    x86_state_flat32(&st, 0x08, 0x10);
    st.seg[SEG_CS].attr = 0xb | SEGA_S | SEGA_P | SEGA_L | SEGA_G;   /* 64-bit: L=1, D=0 */
    st.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    st.cr4 = CR4_PAE;
    st.cr3 = 0x8000;
    st.efer = EFER_LME | EFER_LMA;
    st.rip = 0x2000;
    st.gpr[R_ESP] = 0x7000;
    CHECK_EQ(accel_kvm_ops.set_state(&t->m.vcpu[0], &st), 0);
    CHECK_EQ(run_limited(t, HANG_MS), VCPU_EXIT_DEAD_HALT);
    CHECK_EQ(t->pio.n, 3);
    if (t->pio.n == 3) {
        CHECK_EQ(t->pio.log[0].val, 0xdeadbeef);
        CHECK_EQ(t->pio.log[1].val, 0x01234567);   /* high half of the 8-byte read */
        CHECK_EQ(t->pio.log[2].val, 0x7000);
    }
    CHECK_EQ(t->mmio.n, 2);
    if (t->mmio.n == 2) {
        CHECK(!t->mmio.log[0].write && t->mmio.log[0].addr == 0x10 && t->mmio.log[0].size == 8);
        CHECK(t->mmio.log[1].write && t->mmio.log[1].addr == 0x18 && t->mmio.log[1].size == 8);
        CHECK_EQ(t->mmio.log[1].val, 0x0123456789abcdefULL);
    }
    struct x86_state out;
    CHECK_EQ(accel_kvm_ops.get_state(&t->m.vcpu[0], &out), 0);
    CHECK(out.efer & EFER_LMA);
    CHECK(out.seg[SEG_CS].attr & SEGA_L);
    CHECK_EQ(out.cr3, 0x8000);
    kt_free(t);
}

TEST(kvm_dump_shows_state)
{
    struct kt *t = kt_new(0);
    if (!t)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    accel_kvm_ops.dump(&t->m.vcpu[0], f);
    fclose(f);
    CHECK(buf && strstr(buf, "RIP=000000000000fff0") != NULL);
    CHECK(buf && strstr(buf, "CS  =f000 00000000ffff0000") != NULL);
    CHECK(buf && strstr(buf, "mp_state") != NULL);
    free(buf);
    kt_free(t);
}

/* The power-on state x86_state does not carry: MSRs, FPU, LAPIC wiring. */
TEST(kvm_vcpu_power_on_msrs_fpu_lapic)
{
    struct kt *t = kt_new(1);
    if (!t)
        return;
    int fd = kvm_vcpu_fd(&t->m.vcpu[0]);
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[3];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 3;
    msrs.e[0].index = MSR_IA32_MISC_ENABLE;
    msrs.e[1].index = MSR_IA32_PAT;
    msrs.e[2].index = 0x2ff;    /* MTRRdefType */
    CHECK_EQ(ioctl(fd, KVM_GET_MSRS, &msrs), 3);
    CHECK(msrs.e[0].data & 1);                       /* fast strings */
    CHECK_EQ(msrs.e[1].data, 0x0007040600070406ULL);
    CHECK_EQ(msrs.e[2].data, 0x806);                 /* MTRRs on, default WB */
    struct x86_state st;
    CHECK_EQ(accel_kvm_ops.get_state(&t->m.vcpu[0], &st), 0);
    CHECK_EQ(st.fcw, 0x37f);
    CHECK_EQ(st.mxcsr, 0x1f80);
    struct kvm_lapic_state lapic;
    CHECK_EQ(ioctl(fd, KVM_GET_LAPIC, &lapic), 0);
    uint32_t lint0, lint1;
    memcpy(&lint0, lapic.regs + 0x350, 4);
    memcpy(&lint1, lapic.regs + 0x360, 4);
    CHECK_EQ(lint0 & 0x10700, 0x700);                /* ExtINT, unmasked */
    CHECK_EQ(lint1 & 0x10700, 0x400);                /* NMI, unmasked */
    struct kvm_mp_state mp;
    CHECK_EQ(ioctl(fd, KVM_GET_MP_STATE, &mp), 0);
    CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
    kt_free(t);
}
