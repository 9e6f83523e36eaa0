/* The machine object: guest RAM and memory map, the device lock, the vCPU
 * threads and the main loop that serves host file descriptors and timers. */
#include "hw/machine.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void machine_log(struct machine *m, unsigned dbg, const char *fmt, ...)
{
    if (dbg && !(m->cfg->debug_mask & dbg))
        return;
    FILE *f = m->log ? m->log : stderr;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fflush(f);
}

static void wake_main_loop(void *opaque)
{
    struct machine *m = opaque;
    char c = 1;
    ssize_t r = write(m->wake_fd[1], &c, 1);
    (void)r;    /* a full pipe already means "wake up" */
}

void machine_e820_build(struct machine *m)
{
    int n = 0;
    /* Conventional memory up to the EBDA, then the legacy video/ROM hole.
     * 0x9fc00-0xa0000 is where a BIOS keeps its EBDA; keep it reserved so
     * Linux never uses it, as on a real PC. */
    m->e820[n++] = (struct e820_entry){0, 0x9fc00, E820_RAM};
    m->e820[n++] = (struct e820_entry){0x9fc00, 0x400, E820_RESERVED};
    m->e820[n++] = (struct e820_entry){0xf0000, 0x10000, E820_RESERVED};
    if (m->lowmem > 0x100000)
        m->e820[n++] = (struct e820_entry){0x100000, m->lowmem - 0x100000, E820_RAM};
    /* The firmware mapping just below 4 GiB, and the 16 KiB below it where
     * KVM keeps its identity-map and TSS pages (as QEMU reserves them). */
    m->e820[n++] = (struct e820_entry){0xfffbc000, 0x44000, E820_RESERVED};
    if (m->highmem)
        m->e820[n++] = (struct e820_entry){HIGHMEM_BASE, m->highmem, E820_RAM};
    m->ne820 = n;
}

uint8_t *machine_dma_ptr(struct machine *m, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa)
        return NULL;
    if (gpa + len <= m->lowmem)
        return m->ram + gpa;
    if (gpa >= HIGHMEM_BASE && gpa - HIGHMEM_BASE <= m->highmem &&
        len <= m->highmem - (gpa - HIGHMEM_BASE))
        return m->ram + m->lowmem + (gpa - HIGHMEM_BASE);
    return NULL;
}

uint8_t *machine_phys_ptr(struct machine *m, uint64_t paddr, uint64_t len)
{
    if (len == 0 || paddr + len < paddr)
        return NULL;
    if (m->cfg && m->cfg->vga && paddr < 0xc0000 && paddr + len > 0xa0000)
        return NULL;        /* the VGA window: MMIO (hw/vga.c) */
    if (paddr + len <= m->lowmem)
        return m->ram + paddr;
    if (paddr >= HIGHMEM_BASE && paddr - HIGHMEM_BASE + len <= m->highmem)
        return m->ram + m->lowmem + (paddr - HIGHMEM_BASE);
    if (m->bios && paddr >= 0x100000000ULL - m->bios_size && paddr + len <= 0x100000000ULL)
        return m->bios + (paddr - (0x100000000ULL - m->bios_size));
    return NULL;
}

uint8_t *machine_ram_backed(struct machine *m, uint64_t paddr, struct ram_backing **rb,
                            uint64_t *off)
{
    for (size_t i = 0; i < sizeof(m->ram_regions) / sizeof(m->ram_regions[0]); i++) {
        struct ram_backing *r = atomic_load(&m->ram_regions[i].rb);
        uint64_t base = atomic_load(&m->ram_regions[i].base);
        if (r && paddr >= base && paddr - base < r->len) {
            *rb = r;
            *off = paddr - base;
            return r->host + *off;
        }
    }
    return NULL;
}

void machine_ram_dirty_sync(struct machine *m, struct ram_backing *rb, uint64_t *out)
{
    size_t words = (size_t)((rb->len >> 12) + 63) / 64;
    for (size_t i = 0; i < words; i++)
        out[i] |= atomic_exchange_explicit(&rb->dirty[i], 0, memory_order_relaxed);
    if (m->accel && m->accel->ram_dirty)
        m->accel->ram_dirty(m, rb, out);
}

/* A RAM-backed region appeared or went (a BAR moved): the engine maps it. */
static void machine_ram_notify(void *opaque, struct ram_backing *rb, uint64_t base, bool added)
{
    struct machine *m = opaque;
    size_t n = sizeof(m->ram_regions) / sizeof(m->ram_regions[0]), i, free_i = n;
    for (i = 0; i < n; i++) {
        struct ram_backing *r = atomic_load(&m->ram_regions[i].rb);
        if (r == rb && atomic_load(&m->ram_regions[i].base) == base)
            break;
        if (!r && free_i == n)
            free_i = i;
    }
    if (!added && i < n) {
        atomic_store(&m->ram_regions[i].rb, NULL);
    } else if (added && free_i < n) {
        /* Base first: a reader that sees the backing sees its address. */
        atomic_store(&m->ram_regions[free_i].base, base);
        atomic_store(&m->ram_regions[free_i].rb, rb);
    }
    if (m->accel && m->accel->ram_region)
        m->accel->ram_region(m, rb, base, added);
}

int machine_phys_write(struct machine *m, uint64_t paddr, const void *buf, uint64_t len)
{
    uint8_t *p = machine_phys_ptr(m, paddr, len);
    if (!p)
        return -1;
    memcpy(p, buf, len);
    return 0;
}

int machine_phys_read(struct machine *m, uint64_t paddr, void *buf, uint64_t len)
{
    uint8_t *p = machine_phys_ptr(m, paddr, len);
    if (!p)
        return -1;
    memcpy(buf, p, len);
    return 0;
}

int machine_init(struct machine *m, struct machine_config *cfg, const struct accel_ops *accel)
{
    memset(m, 0, sizeof(*m));
    m->cfg = cfg;
    m->accel = accel;
    m->log = cfg->log ? cfg->log : stderr;
    m->start_ns = host_monotonic_ns();
    pthread_mutex_init(&m->lock, NULL);
    stats_init(&m->stats);
    iomap_init(&m->pio, "pio", &m->stats);
    iomap_init(&m->mmio, "mmio", &m->stats);
    m->pio.log_unclaimed = m->mmio.log_unclaimed = (cfg->debug_mask & DBG_UNIMP) != 0;
    m->mmio.ram_notify = machine_ram_notify;
    m->mmio.ram_notify_opaque = m;
    if (pipe2(m->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0) {
        perror("tremu: pipe");
        return -1;
    }
    clock_init(&m->clock, false);
    m->clock.notify = wake_main_loop;
    m->clock.notify_opaque = m;

    m->ram_size = cfg->ram_size;
    uint64_t hole = m->ram_size >= PCI_HOLE_LOW_SMALL ? PCI_HOLE_LOW_LARGE : PCI_HOLE_LOW_SMALL;
    m->lowmem = m->ram_size < hole ? m->ram_size : hole;
    m->highmem = m->ram_size - m->lowmem;
    /* MAP_NORESERVE: a large -m costs nothing until the guest touches it. */
    m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->ram == MAP_FAILED) {
        fprintf(stderr, "tremu: cannot allocate %llu MiB of guest RAM: %s\n",
                (unsigned long long)(m->ram_size >> 20), strerror(errno));
        m->ram = NULL;
        return -1;
    }
    machine_e820_build(m);
    return 0;
}

void machine_destroy(struct machine *m)
{
    if (m->board)
        pc_destroy(m);
    if (m->accel && m->accel->destroy)
        m->accel->destroy(m);
    if (m->ram)
        munmap(m->ram, m->ram_size);
    free(m->bios);
    iomap_destroy(&m->pio);
    iomap_destroy(&m->mmio);
    if (m->wake_fd[0] > 0) {
        close(m->wake_fd[0]);
        close(m->wake_fd[1]);
    }
}

int machine_watch_fd_ready(struct machine *m, int fd, short events,
                           void (*cb)(void *opaque, int fd, short revents),
                           bool (*ready)(void *opaque), void *opaque)
{
    if (m->nwatches >= MAX_WATCHES)
        return -1;
    m->watches[m->nwatches++] = (struct fd_watch){fd, events, cb, opaque, ready};
    wake_main_loop(m);
    return 0;
}

int machine_watch_fd(struct machine *m, int fd, short events,
                     void (*cb)(void *opaque, int fd, short revents), void *opaque)
{
    return machine_watch_fd_ready(m, fd, events, cb, NULL, opaque);
}

void machine_unwatch_fd(struct machine *m, int fd)
{
    for (int i = 0; i < m->nwatches; i++) {
        if (m->watches[i].fd == fd) {
            m->watches[i] = m->watches[--m->nwatches];
            return;
        }
    }
}

/* ---- engine → board ---- */

uint32_t machine_pio_in(struct machine *m, uint16_t port, unsigned size)
{
    stats_count(&m->stats, STAT_PIO_IN);
    atomic_fetch_add_explicit(&m->stats.pio_port[port], 1, memory_order_relaxed);
    pthread_mutex_lock(&m->lock);
    uint32_t v = (uint32_t)iomap_read(&m->pio, port, size);
    pthread_mutex_unlock(&m->lock);
    return v;
}

void machine_pio_out(struct machine *m, uint16_t port, uint32_t val, unsigned size)
{
    stats_count(&m->stats, STAT_PIO_OUT);
    atomic_fetch_add_explicit(&m->stats.pio_port[port], 1, memory_order_relaxed);
    pthread_mutex_lock(&m->lock);
    iomap_write(&m->pio, port, val, size);
    pthread_mutex_unlock(&m->lock);
}

uint64_t machine_mmio_read(struct machine *m, uint64_t addr, unsigned size)
{
    stats_count(&m->stats, STAT_MMIO_READ);
    pthread_mutex_lock(&m->lock);
    uint64_t v = iomap_read(&m->mmio, addr, size);
    pthread_mutex_unlock(&m->lock);
    return v;
}

void machine_mmio_write(struct machine *m, uint64_t addr, uint64_t val, unsigned size)
{
    stats_count(&m->stats, STAT_MMIO_WRITE);
    pthread_mutex_lock(&m->lock);
    iomap_write(&m->mmio, addr, val, size);
    pthread_mutex_unlock(&m->lock);
}

/* ---- devices → board ---- */

void machine_request(struct machine *m, enum machine_request req, int exit_code)
{
    int cur = atomic_load(&m->request);
    /* A shutdown wins over a reset requested in the same instant. */
    if (req == REQ_SHUTDOWN || cur == REQ_NONE) {
        if (req == REQ_SHUTDOWN)
            m->exit_code = exit_code;
        atomic_store(&m->request, req);
    }
    for (int i = 0; i < m->nvcpus; i++)
        if (m->accel && m->accel->vcpu_kick)
            m->accel->vcpu_kick(&m->vcpu[i]);
    wake_main_loop(m);
}

void machine_set_gsi(struct machine *m, int gsi, int level)
{
    if (m->irqchip_in_kernel)
        m->accel->set_gsi(m, gsi, level);
    else
        pc_set_gsi(m, gsi, level);
}

void machine_boot_mark(struct machine *m, uint32_t marker)
{
    uint64_t ns = host_monotonic_ns() - m->start_ns;
    machine_log(m, DBG_BOOT, "tremu: boot mark 0x%x at %llu.%06llu s\n", marker,
                (unsigned long long)(ns / NS_PER_SEC),
                (unsigned long long)(ns % NS_PER_SEC / 1000));
}

/* ---- running ---- */

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct machine *m = v->m;
    /* Signals are the main thread's business (terminal restore, SIGINT). */
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGUSR1);   /* engines may use it to kick */
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    for (;;) {
        if (atomic_load(&m->request) != REQ_NONE || atomic_load(&m->pause_req) ||
            m->paused_call)
            break;
        enum vcpu_exit e = m->accel->vcpu_run(v);
        if (e == VCPU_EXIT_KICK)
            continue;
        pthread_mutex_lock(&m->lock);
        if (e == VCPU_EXIT_SHUTDOWN) {
            stats_count(&m->stats, STAT_SHUTDOWN);
            machine_log(m, 0, "tremu: triple fault: %s\n",
                        m->cfg->no_reboot ? "exiting (-no-reboot)" : "resetting the machine");
            machine_request(m, REQ_RESET, 0);
        } else if (e == VCPU_EXIT_DEAD_HALT) {
            machine_log(m, 0, "tremu: the CPU halted with interrupts disabled and nothing "
                              "pending; the guest can never run again, stopping\n");
            machine_request(m, REQ_SHUTDOWN, 0);
        } else {
            machine_request(m, REQ_SHUTDOWN, 1);
        }
        pthread_mutex_unlock(&m->lock);
        break;
    }
    wake_main_loop(m);
    return NULL;
}

static int machine_start_vcpus(struct machine *m)
{
    for (int i = 0; i < m->nvcpus; i++) {
        atomic_store(&m->vcpu[i].exit_request, 0);
        if (pthread_create(&m->vcpu[i].thread, NULL, vcpu_thread, &m->vcpu[i]) != 0) {
            fprintf(stderr, "tremu: cannot start the vCPU thread\n");
            return -1;
        }
    }
    return 0;
}

static void machine_stop_vcpus(struct machine *m)
{
    for (int i = 0; i < m->nvcpus; i++) {
        atomic_store(&m->vcpu[i].exit_request, 1);
        m->accel->vcpu_kick(&m->vcpu[i]);
        pthread_join(m->vcpu[i].thread, NULL);
    }
}

/* Reset: devices to power-on state, images reloaded, vCPU to its boot state. */
static int machine_reset(struct machine *m)
{
    stats_count(&m->stats, STAT_RESET);
    struct x86_state st;
    char err[512];
    pthread_mutex_lock(&m->lock);
    pc_reset(m);
    pthread_mutex_unlock(&m->lock);
    if (boot_load(m, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "tremu: %s\n", err);
        return -1;
    }
    for (int i = 0; i < m->nvcpus; i++) {
        if (m->accel->reset && m->accel->reset(&m->vcpu[i]) < 0)
            return -1;
        if (m->accel->set_state(&m->vcpu[i], &st) < 0)
            return -1;
    }
    return 0;
}

int machine_add_poll_hook(struct machine *m,
                          void (*fill)(void *opaque, struct pollfd *fds, int *nfds,
                                       int max, uint64_t *timeout_ns),
                          void (*dispatch)(void *opaque, struct pollfd *fds, int nfds),
                          void *opaque)
{
    if (m->npoll_hooks >= MAX_POLL_HOOKS || !fill || !dispatch)
        return -1;
    m->poll_hooks[m->npoll_hooks++] = (struct poll_hook){fill, dispatch, opaque};
    wake_main_loop(m);
    return 0;
}

void machine_main_loop_iteration(struct machine *m)
{
    struct pollfd pfd[MAX_WATCHES + 1 + MAX_POLL_HOOK_FDS];
    int hook_start[MAX_POLL_HOOKS], hook_n[MAX_POLL_HOOKS];
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = m->wake_fd[0], .events = POLLIN};
    pthread_mutex_lock(&m->lock);
    bool throttled = false;
    for (int i = 0; i < m->nwatches; i++) {
        struct fd_watch *w = &m->watches[i];
        if (w->ready && !w->ready(w->opaque)) {
            throttled = true;
            continue;
        }
        pfd[n++] = (struct pollfd){.fd = w->fd, .events = w->events};
    }
    int nwatch_fds = n;
    uint64_t hook_timeout = CLOCK_NEVER;
    int nhooks = m->npoll_hooks;
    int room = MAX_POLL_HOOK_FDS;
    for (int h = 0; h < nhooks; h++) {
        int k = 0;
        m->poll_hooks[h].fill(m->poll_hooks[h].opaque, &pfd[n], &k, room, &hook_timeout);
        if (k < 0 || k > room)
            k = 0;
        for (int i = 0; i < k; i++)
            pfd[n + i].revents = 0;
        hook_start[h] = n;
        hook_n[h] = k;
        n += k;
        room -= k;
    }
    uint64_t deadline = clock_next_deadline(&m->clock);
    uint64_t now = clock_ns(&m->clock);
    pthread_mutex_unlock(&m->lock);
    /* A throttled input is re-checked soon: the guest drains its FIFO on the
     * vCPU thread, which does not wake us. */
    if (throttled && (deadline == CLOCK_NEVER || deadline > now + 5000000))
        deadline = now + 5000000;
    if (hook_timeout < CLOCK_NEVER - now && now + hook_timeout < deadline)
        deadline = now + hook_timeout;

    struct timespec ts, *tsp = NULL;
    if (deadline != CLOCK_NEVER) {
        uint64_t d = deadline > now ? deadline - now : 0;
        ts.tv_sec = (time_t)(d / NS_PER_SEC);
        ts.tv_nsec = (long)(d % NS_PER_SEC);
        tsp = &ts;
    }
    int r = ppoll(pfd, (nfds_t)n, tsp, NULL);
    if (r < 0 && errno != EINTR)
        return;
    if (r < 0)
        for (int i = 0; i < n; i++)
            pfd[i].revents = 0;
    if (r > 0 && (pfd[0].revents & POLLIN)) {
        char buf[64];
        while (read(m->wake_fd[0], buf, sizeof(buf)) > 0)
            ;
    }
    pthread_mutex_lock(&m->lock);
    for (int i = 1; i < nwatch_fds && r > 0; i++) {
        if (!pfd[i].revents)
            continue;
        /* The watch list may have changed while we slept: match by fd. */
        for (int w = 0; w < m->nwatches; w++) {
            if (m->watches[w].fd == pfd[i].fd) {
                m->watches[w].cb(m->watches[w].opaque, pfd[i].fd, pfd[i].revents);
                break;
            }
        }
    }
    /* Hooks are only ever added, so index h is still the hook that filled. */
    for (int h = 0; h < nhooks; h++)
        m->poll_hooks[h].dispatch(m->poll_hooks[h].opaque, &pfd[hook_start[h]], hook_n[h]);
    clock_run_timers(&m->clock);
    pthread_mutex_unlock(&m->lock);
}

void machine_set_paused(struct machine *m, bool paused)
{
    atomic_store(&m->pause_req, paused);
    wake_main_loop(m);
}

void machine_call_paused(struct machine *m, void (*fn)(void *opaque), void *opaque)
{
    m->paused_opaque = opaque;
    m->paused_call = fn;
    for (int i = 0; i < m->nvcpus; i++)
        if (m->accel && m->accel->vcpu_kick)
            m->accel->vcpu_kick(&m->vcpu[i]);
    wake_main_loop(m);
}

/* Between main-loop turns: apply stop/cont and run a paused call. */
static int machine_pause_turn(struct machine *m)
{
    bool want = atomic_load(&m->pause_req);
    if (m->paused_call) {
        if (!m->paused)
            machine_stop_vcpus(m);
        void (*fn)(void *) = m->paused_call;
        m->paused_call = NULL;
        fn(m->paused_opaque);
        if (!m->paused && !atomic_load(&m->pause_req) && machine_start_vcpus(m) < 0)
            return -1;
        if (!m->paused && atomic_load(&m->pause_req))
            m->paused = true;
        return 0;
    }
    if (want && !m->paused) {
        machine_stop_vcpus(m);
        m->paused = true;
    } else if (!want && m->paused) {
        m->paused = false;
        if (machine_start_vcpus(m) < 0)
            return -1;
    }
    return 0;
}

int machine_run(struct machine *m)
{
    if (atomic_load(&m->pause_req))
        m->paused = true;           /* -S: no instruction before 'cont' */
    else if (machine_start_vcpus(m) < 0)
        return 1;
    for (;;) {
        machine_main_loop_iteration(m);
        int req = atomic_load(&m->request);
        if (req == REQ_NONE) {
            if (machine_pause_turn(m) < 0)
                return 1;
            continue;
        }
        if (!m->paused)
            machine_stop_vcpus(m);
        if (req == REQ_RESET && !m->cfg->no_reboot) {
            atomic_store(&m->request, REQ_NONE);
            if (machine_reset(m) < 0)
                return 1;
            /* A reset while stopped stays stopped, as QEMU's. */
            if (!m->paused && machine_start_vcpus(m) < 0)
                return 1;
            continue;
        }
        return req == REQ_RESET ? 0 : m->exit_code;
    }
}
