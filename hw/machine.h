/* The machine: guest RAM, the I/O maps, the clock, the devices, the vCPUs and
 * the engine. The one mutable global object of tremu (docs/ARCHITECTURE.md). */
#ifndef HW_MACHINE_H
#define HW_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <pthread.h>
#include <poll.h>
#include "hw/iomap.h"
#include "hw/clock.h"
#include "hw/stats.h"
#include "hw/irq.h"
#include "hw/chardev.h"
#include "accel/accel.h"

#define MAX_SERIAL 4
#define MAX_VCPUS 1

/* Memory map (like QEMU's pc machine): RAM from 0 up to the PCI hole,
 * the rest above 4 GiB. The hole starts at 3.5 GiB, or 3 GiB when RAM would
 * fill it, so there is always room for PCI BARs, the APIC pages and the BIOS. */
#define PCI_HOLE_LOW_SMALL 0xe0000000ULL
#define PCI_HOLE_LOW_LARGE 0xc0000000ULL
#define HIGHMEM_BASE       0x100000000ULL

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
#define E820_MAX      16

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

/* What the command line asked for; the ui fills it, the board consumes it. */
struct machine_config {
    uint64_t ram_size;
    int smp;
    const char *kernel, *initrd, *append, *bios;
    struct chardev *serial[MAX_SERIAL];
    int nserial;
    /* -device isa-serial: a port that exists even with a NULL chardev, and
     * its iobase/irq when not the index's default (0). */
    bool serial_present[MAX_SERIAL];
    uint16_t serial_iobase[MAX_SERIAL];
    int serial_irqnum[MAX_SERIAL];
    bool no_reboot;
    bool debug_exit;                   /* -device isa-debug-exit present */
    uint16_t debug_exit_base, debug_exit_size;
    unsigned debug_mask;               /* -d flags (DBG_*) */
    FILE *log;                         /* -D file, or stderr */
    struct accel_config accel;
    struct pci_devices_config *pci;    /* virtio devices the command line asked for */
    bool vga;                          /* -vga std: 0xa0000-0xbffff is the adapter's, not RAM */
    /* -boot (hw/pc_fw.c): order letters (NULL: "cad"), menu=on,
     * reboot-timeout= in ms (unset: the firmware never retries). */
    const char *boot_order;
    bool boot_menu;
    bool boot_fail_wait_set;
    int boot_fail_wait_ms;
    FILE *debugcon;                    /* -debugcon: port 0x402's bytes (NULL: none) */
    struct stats_config stats;         /* -d stats,interval=,format=,file= */
};

#define DBG_STATS   (1u << 0)
#define DBG_UNIMP   (1u << 1)   /* unclaimed ports / MMIO */
#define DBG_INT     (1u << 2)
#define DBG_IN_ASM  (1u << 3)
#define DBG_EXEC    (1u << 4)
#define DBG_CPU     (1u << 5)
#define DBG_GUEST_ERRORS (1u << 6)
#define DBG_POST    (1u << 7)   /* port 0x80 POST codes */
#define DBG_BOOT    (1u << 8)   /* boot stopwatch marks */
#define DBG_OUT_ASM (1u << 9)   /* host code of each translated block (tcg JIT) */

enum machine_request {
    REQ_NONE = 0,
    REQ_RESET = 1,       /* reset the machine (or exit 0 under -no-reboot) */
    REQ_SHUTDOWN = 2,    /* power off / debug-exit: leave with exit_code */
};

struct board;   /* the PC's devices (hw/pc.c) */
struct pci_devices_config;

#define MAX_WATCHES 32
/* Host file descriptors served by the main loop (stdin, slirp, ...). The
 * callback runs with the device lock held. */
struct fd_watch {
    int fd;
    short events;
    void (*cb)(void *opaque, int fd, short revents);
    void *opaque;
    /* Optional: polled only while this says the consumer has room (input
     * back-pressure: a full UART FIFO must not make us drop host input). */
    bool (*ready)(void *opaque);
};

#define MAX_POLL_HOOKS 4
#define MAX_POLL_HOOK_FDS 512
/* A subsystem that owns a changing set of descriptors and its own timeouts
 * (libslirp). Each main-loop iteration, with the device lock held:
 * fill() appends up to `max` entries at fds[0..] and sets *nfds (starts at 0),
 * and may lower *timeout_ns (relative, CLOCK_NEVER = no limit); after ppoll,
 * dispatch() gets the same slice back with revents filled (all zero when
 * ppoll timed out or was interrupted) — it is called every iteration so the
 * subsystem can run its own timers. */
struct poll_hook {
    void (*fill)(void *opaque, struct pollfd *fds, int *nfds, int max,
                 uint64_t *timeout_ns);
    void (*dispatch)(void *opaque, struct pollfd *fds, int nfds);
    void *opaque;
};

struct machine {
    struct machine_config *cfg;
    uint8_t *ram;               /* one host mapping for all guest RAM */
    uint64_t ram_size;
    uint64_t lowmem;            /* RAM mapped at [0, lowmem) */
    uint64_t highmem;           /* RAM mapped at [4G, 4G+highmem) */
    uint8_t *bios;              /* firmware image (read-only), mapped below 4 GiB */
    uint64_t bios_size;
    struct e820_entry e820[E820_MAX];
    int ne820;
    uint64_t acpi_rsdp;         /* ACPI tables for direct boot (0: none) */

    pthread_mutex_t lock;       /* the device lock: held for every device access */
    struct iomap pio, mmio;
    struct clock clock;
    struct stats stats;
    struct board *board;
    struct pc_apic *apic;       /* LAPICs, IOAPIC, HPET (hw/pc_apic.c) */
    struct vga *vga;            /* -vga std (hw/pc_vga.c), NULL: none */
    /* Where RAM-backed device regions are mapped now, read without the
     * lock by engines on TLB misses (machine_ram_backed); a slot keeps its
     * backing, rb is NULL while unmapped. */
    struct { _Atomic uint64_t base; struct ram_backing *_Atomic rb; } ram_regions[4];

    const struct accel_ops *accel;
    void *accel_priv;
    bool irqchip_in_kernel;     /* set by the engine's init: PIC/PIT live in KVM */
    struct vcpu vcpu[MAX_VCPUS];
    int nvcpus;

    _Atomic int request;        /* enum machine_request, pending */
    /* The monitor's stop/cont: vCPUs stopped at the main loop's next turn
     * (machine_run); paused_call, if set, runs there with every vCPU
     * stopped and the device lock not held (reading CPU state). */
    _Atomic bool pause_req;
    bool paused;
    void (*paused_call)(void *opaque);
    void *paused_opaque;
    int exit_code;
    uint64_t start_ns;          /* host time at start, for the boot stopwatch */
    int wake_fd[2];             /* pipe that wakes the main loop */
    struct fd_watch watches[MAX_WATCHES];
    int nwatches;
    struct poll_hook poll_hooks[MAX_POLL_HOOKS];
    int npoll_hooks;
    FILE *log;
};

/* Lifecycle (hw/machine.c): machine_init (RAM, maps, clock), then the
 * engine's init (it may take the interrupt controller into the kernel),
 * then pc_init (devices, wired to whichever controller is in use). */
int machine_init(struct machine *m, struct machine_config *cfg, const struct accel_ops *accel);
void machine_destroy(struct machine *m);
/* Runs the guest until it ends; returns the process exit status. */
int machine_run(struct machine *m);
/* One pass of the I/O loop machine_run spins: poll watches and hooks (at most
 * until the next timer), serve them, run due timers. Public for tests. */
void machine_main_loop_iteration(struct machine *m);

/* Guest physical memory, for loaders and engines. NULL if not RAM/ROM. */
uint8_t *machine_phys_ptr(struct machine *m, uint64_t paddr, uint64_t len);
/* Where device DMA (virtio, fw_cfg) may reach: guest RAM only, never the
 * firmware image (read-only), MMIO or the PCI hole; NULL otherwise. */
uint8_t *machine_dma_ptr(struct machine *m, uint64_t gpa, uint64_t len);
/* A RAM-backed device region (struct ram_backing, a framebuffer BAR) at
 * paddr: its host pointer, the backing and the offset in it; NULL when
 * paddr is not in one. Lock-free (engines, on TLB misses): a region that
 * moves at the same time is caught by the engine's flush on the move. */
uint8_t *machine_ram_backed(struct machine *m, uint64_t paddr, struct ram_backing **rb,
                            uint64_t *off);
/* For the device's renderer: ORs into out (rb->len / 4096 bits) the pages
 * written since the last call (rb->dirty, taken and cleared, plus what the
 * engine saw: soft-TLB write mappings, KVM's dirty log). Device lock held. */
void machine_ram_dirty_sync(struct machine *m, struct ram_backing *rb, uint64_t *out);
int machine_phys_write(struct machine *m, uint64_t paddr, const void *buf, uint64_t len);
int machine_phys_read(struct machine *m, uint64_t paddr, void *buf, uint64_t len);
void machine_e820_build(struct machine *m);

/* Engine → board (take the device lock, count by cause). */
uint32_t machine_pio_in(struct machine *m, uint16_t port, unsigned size);
void machine_pio_out(struct machine *m, uint16_t port, uint32_t val, unsigned size);
uint64_t machine_mmio_read(struct machine *m, uint64_t addr, unsigned size);
void machine_mmio_write(struct machine *m, uint64_t addr, uint64_t val, unsigned size);
int machine_intr_ack(struct machine *m);        /* -1: nothing pending (spurious) */
/* The board's local APIC (hw/pc_apic.c; engines with board_lapic): MSR
 * access (1 done, 0 not an APIC MSR, -1 #GP; tsc = guest TSC now), CR8
 * (val < 0: read; returns TPR[7:4]). */
bool machine_has_lapic(struct machine *m);
int machine_apic_msr(struct machine *m, int cpu, uint32_t msr, uint64_t tsc, uint64_t *val, bool write);
int machine_apic_cr8(struct machine *m, int cpu, int val);

int machine_watch_fd(struct machine *m, int fd, short events,
                     void (*cb)(void *opaque, int fd, short revents), void *opaque);
int machine_watch_fd_ready(struct machine *m, int fd, short events,
                           void (*cb)(void *opaque, int fd, short revents),
                           bool (*ready)(void *opaque), void *opaque);
void machine_unwatch_fd(struct machine *m, int fd);
/* See struct poll_hook. At setup, before machine_run (hooks are never removed).
 * Returns -1 when all MAX_POLL_HOOKS are taken. */
int machine_add_poll_hook(struct machine *m,
                          void (*fill)(void *opaque, struct pollfd *fds, int *nfds,
                                       int max, uint64_t *timeout_ns),
                          void (*dispatch)(void *opaque, struct pollfd *fds, int nfds),
                          void *opaque);

/* The monitor (main loop, device lock held): stop/cont the vCPUs, or run
 * fn once with them stopped (then they run again unless paused). */
void machine_set_paused(struct machine *m, bool paused);
void machine_call_paused(struct machine *m, void (*fn)(void *opaque), void *opaque);
/* The ACPI power button (system_powerdown). */
void pc_power_button(struct machine *m);

/* Devices → board (device lock held). */
void machine_request(struct machine *m, enum machine_request req, int exit_code);
void machine_set_gsi(struct machine *m, int gsi, int level);
void machine_boot_mark(struct machine *m, uint32_t marker);
void machine_log(struct machine *m, unsigned dbg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The PC board (hw/pc.c): creates and wires devices, resets them. */
int pc_init(struct machine *m);
void pc_reset(struct machine *m);
void pc_destroy(struct machine *m);
struct i8042;
struct i8042 *pc_i8042(struct machine *m);     /* host keyboard/mouse input */
struct virtio_input;
struct virtio_input *pc_tablet(struct machine *m);  /* absolute pointer, NULL: none */
void pc_power_button(struct machine *m);       /* ACPI power button (device lock held) */
/* The board's interrupt router for a GSI (ISA IRQ n = GSI n). */
void pc_set_gsi(struct machine *m, int gsi, int level);

/* Boot loaders (hw/boot*.c): fill RAM and the initial CPU state. */
int boot_load(struct machine *m, struct x86_state *st, char *err, size_t errlen);

#endif
