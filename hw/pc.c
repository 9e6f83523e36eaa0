/* The PC board: creates the legacy devices, wires their interrupt lines to
 * the PIC (or the in-kernel irqchip), and resets them. */
#include "hw/machine.h"
#include "hw/i8259.h"
#include "hw/i8254.h"
#include "hw/serial.h"
#include "hw/mc146818.h"
#include "hw/i8042.h"
#include "hw/isa_misc.h"
#include "hw/acpi.h"
#include "hw/acpi_pm.h"
#include "hw/pc_pci.h"
#include "hw/pc_vga.h"
#include "hw/pc_fw.h"
#include "hw/fw_cfg.h"
#include "hw/pc_apic.h"
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static const uint16_t serial_base[MAX_SERIAL] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
static const int serial_irq[MAX_SERIAL] = {4, 3, 4, 3};

struct serial_watch {
    struct machine *m;
    struct chardev *chr;
};

/* One UART's interrupt output; COM1/COM3 share IRQ 4 and COM2/COM4 IRQ 3,
 * so the board ORs the levels of the ports on one line. */
struct serial_line {
    struct board *b;
    int port;
};

struct board {
    struct machine *m;
    struct serial_line serial_line[MAX_SERIAL];
    struct irq serial_irq[MAX_SERIAL];
    uint8_t serial_level;       /* bit i: COMi+1 output */
    int serial_gsi[MAX_SERIAL]; /* each port's ISA IRQ (-device isa-serial,irq= may move it) */
    struct pic *pic;            /* NULL with the in-kernel irqchip */
    struct pit *pit;            /* NULL with the in-kernel irqchip */
    struct serial *serial[MAX_SERIAL];
    struct rtc *rtc;
    struct i8042 *kbd;
    struct acpi_pm *pm;
    struct pc_pci *pci;
    struct fw_cfg *fw_cfg;
    struct acpi_pm_hooks pm_hooks;
    struct irq cpu_intr;        /* PIC INTR → CPU */
    struct irq isa_irq[16];     /* device lines → board router */
    struct isa_misc_hooks hooks;
    struct serial_watch watch[MAX_SERIAL];
};

/* The PIC's INTR output: through the LAPICs' LINT0, or to the BSP. */
static void pc_cpu_intr(void *opaque, int n, int level)
{
    (void)n;
    pc_apic_pic_intr(opaque, level);
}

static void pc_isa_irq(void *opaque, int n, int level)
{
    machine_set_gsi(opaque, n, level);
}

static void pc_serial_irq(void *opaque, int n, int level)
{
    struct serial_line *l = opaque;
    struct board *b = l->b;
    if (level)
        b->serial_level |= (uint8_t)(1u << l->port);
    else
        b->serial_level &= (uint8_t)~(1u << l->port);
    int gsi = b->serial_gsi[l->port];
    int any = 0;
    for (int i = 0; i < MAX_SERIAL; i++)
        if (b->serial_gsi[i] == gsi && (b->serial_level & (1u << i)))
            any = 1;
    machine_set_gsi(b->m, gsi, any);
}

/* The UART has FIFO room again: wake the main loop to poll its input. */
static void pc_serial_accept(void *opaque)
{
    struct machine *m = opaque;
    char c = 1;
    ssize_t r = write(m->wake_fd[1], &c, 1);
    (void)r;
}

void pc_set_gsi(struct machine *m, int gsi, int level)
{
    pc_apic_set_gsi(m, gsi, level);
}

int machine_intr_ack(struct machine *m)
{
    pthread_mutex_lock(&m->lock);
    int v = pc_apic_intr_ack(m, 0);
    pthread_mutex_unlock(&m->lock);
    /* Counted here for every engine that takes vectors from our PIC (KVM's
     * in-kernel PIC never comes here; it has its own exit counts). */
    if (v >= 0) {
        stats_count(&m->stats, STAT_IRQ_INJECTED);
        machine_log(m, DBG_INT, "tremu: interrupt vector 0x%02x from the PIC\n", v);
    }
    return v;
}

static void hook_reset(void *opaque)
{
    machine_request(opaque, REQ_RESET, 0);
}

/* ACPI S5 (guest poweroff): the run ends with status 0, as under QEMU. */
static void hook_poweroff(void *opaque)
{
    machine_request(opaque, REQ_SHUTDOWN, 0);
}

static void hook_a20(void *opaque, bool on)
{
    struct machine *m = opaque;
    /* The OUT that flips the gate runs on the first vCPU's thread. */
    if (m->accel && m->accel->set_a20 && m->nvcpus > 0)
        m->accel->set_a20(&m->vcpu[0], on);
    else
        machine_log(m, DBG_GUEST_ERRORS, "tremu: A20 gate %s (always enabled here)\n", on ? "on" : "off");
}

/* Devices wrote guest RAM (virtio DMA): the engine drops derived state. */
static void pc_dma_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct machine *m = opaque;
    if (m->accel && m->accel->invalidate_phys)
        m->accel->invalidate_phys(m, gpa, len);
}

/* PCI INTx lines are level-triggered: mark them in the ELCR as a BIOS would
 * (a direct boot has none); a guest with ACPI reprograms it anyway. */
static void pc_set_elcr(struct machine *m, uint16_t level_irqs)
{
    struct board *b = m->board;
    if (!b->pic || !b->pci)
        return;
    iomap_write(&m->pio, 0x4d0, level_irqs & 0xff, 1);
    iomap_write(&m->pio, 0x4d1, level_irqs >> 8, 1);
}

static void hook_post(void *opaque, uint8_t code)
{
    machine_log(opaque, DBG_POST, "tremu: POST 0x%02x\n", code);
}

static void hook_debug_exit(void *opaque, int status)
{
    machine_request(opaque, REQ_SHUTDOWN, status);
}

static void hook_boot_mark(void *opaque, uint32_t marker)
{
    machine_boot_mark(opaque, marker);
}

static void serial_input(void *opaque, int fd, short revents)
{
    struct serial_watch *w = opaque;
    w->chr->read_ready(w->chr);
    if (w->chr->in_fd < 0)          /* EOF: nothing more will come */
        machine_unwatch_fd(w->m, fd);
}

static bool serial_input_ready(void *opaque)
{
    struct serial_watch *w = opaque;
    return w->chr->can_receive && w->chr->can_receive(w->chr->fe_opaque) > 0;
}

int pc_init(struct machine *m)
{
    struct board *b = calloc(1, sizeof(*b));
    if (!b)
        return -1;
    m->board = b;
    b->m = m;
    irq_init(&b->cpu_intr, pc_cpu_intr, m, 0);
    for (int i = 0; i < 16; i++)
        irq_init(&b->isa_irq[i], pc_isa_irq, m, i);
    b->hooks = (struct isa_misc_hooks){
        .opaque = m, .reset_request = hook_reset, .set_a20 = hook_a20,
        .post_code = hook_post, .debug_exit = hook_debug_exit, .boot_mark = hook_boot_mark,
    };

    if (!m->irqchip_in_kernel) {
        b->pic = pic_create(&m->pio, &b->cpu_intr);
        b->pit = pit_create(&m->pio, &m->clock, &b->isa_irq[0]);
        if (!b->pic || !b->pit)
            return -1;
    }
    if (pc_apic_init(m, b->pic, b->pit) < 0)
        return -1;
    for (int i = 0; i < m->cfg->nserial; i++) {
        struct chardev *chr = m->cfg->serial[i];
        if (!chr)      /* -serial none: no port at all, as in QEMU */
            continue;
        b->serial_line[i] = (struct serial_line){b, i};
        irq_init(&b->serial_irq[i], pc_serial_irq, &b->serial_line[i], 0);
        uint16_t base = m->cfg->serial_iobase[i] ? m->cfg->serial_iobase[i] : serial_base[i];
        b->serial_gsi[i] = m->cfg->serial_irqnum[i] ? m->cfg->serial_irqnum[i] : serial_irq[i];
        b->serial[i] = serial_create(&m->pio, base, &b->serial_irq[i], chr, &m->clock);
        if (!b->serial[i]) {
            fprintf(stderr, "tremu: serial port %d at 0x%x conflicts with another device\n",
                    i, base);
            return -1;
        }
        chr->accept_input = pc_serial_accept;
        chr->accept_opaque = m;
        if (!b->serial[i])
            return -1;
        if (chr && chr->in_fd >= 0 && chr->read_ready) {
            b->watch[i] = (struct serial_watch){m, chr};
            machine_watch_fd_ready(m, chr->in_fd, POLLIN, serial_input, serial_input_ready, &b->watch[i]);
        }
    }
    b->rtc = rtc_create(&m->pio, &m->clock, &b->isa_irq[8], m->lowmem, m->highmem, m->cfg->smp);
    b->kbd = i8042_create(&m->pio, &b->isa_irq[1], &b->isa_irq[12], hook_reset, m);
    if (!b->rtc || !b->kbd)
        return -1;
    if (!(b->fw_cfg = pc_fw_init(m, b->rtc)))
        return -1;
    i8042_set_a20_hook(b->kbd, hook_a20, m);
    b->pm_hooks = (struct acpi_pm_hooks){m, hook_poweroff, hook_reset};
    b->pm = acpi_pm_create(&m->pio, ACPI_PM_BASE_DEFAULT, &m->clock,
                           &b->isa_irq[ACPI_SCI_IRQ_DEFAULT], &b->pm_hooks, true);
    if (!b->pm)
        return -1;
    if (port92_create(&m->pio, &b->hooks) < 0 || post_port_create(&m->pio, &b->hooks) < 0 ||
        stopwatch_create(&m->pio, &b->hooks) < 0)
        return -1;
    struct pci_devices_config none = {0};
    struct pci_devices_config *pc = m->cfg->pci ? m->cfg->pci : &none;
    pc->dma_written = pc_dma_written;
    pc->dma_opaque = m;
    b->pci = pc_pci_init(m, pc);
    if (!b->pci)
        return -1;
    pc_set_elcr(m, pc_pci_level_irqs(b->pci));
    if (pc_vga_init(m, pc_pci_bus(b->pci)) < 0)
        return -1;
    if (m->cfg->debug_exit &&
        debug_exit_create(&m->pio, m->cfg->debug_exit_base, m->cfg->debug_exit_size, &b->hooks) < 0) {
        fprintf(stderr, "tremu: isa-debug-exit at 0x%x conflicts with another device\n",
                m->cfg->debug_exit_base);
        return -1;
    }
    return 0;
}

/* For the displays (ui/display.c) and the monitor: where host keys and
 * pointer go, and the power button a closed window or system_powerdown
 * presses. */
struct i8042 *pc_i8042(struct machine *m) { return m->board ? m->board->kbd : NULL; }
struct virtio_input *pc_tablet(struct machine *m) { return m->board ? pc_pci_tablet(m->board->pci) : NULL; }
void pc_power_button(struct machine *m)
{
    struct board *b = m->board;
    if (b && b->pm)
        acpi_pm_power_button(b->pm);
}

void pc_reset(struct machine *m)
{
    struct board *b = m->board;
    pc_apic_reset(m);
    /* PIT first: its reset re-sends IRQ0's level, which the PIC reset then
     * forgets, as after a real power-on where the BIOS programs the PIC. */
    if (b->pit) pit_reset(b->pit);
    if (b->pic) pic_reset(b->pic);
    for (int i = 0; i < MAX_SERIAL; i++)
        if (b->serial[i]) serial_reset(b->serial[i]);
    rtc_reset(b->rtc);
    i8042_reset(b->kbd);
    port92_reset(&m->pio);
    fw_cfg_reset(b->fw_cfg);
    acpi_pm_reset(b->pm);
    if (b->pci) {
        pc_pci_reset(b->pci);
        pc_set_elcr(m, pc_pci_level_irqs(b->pci));
    }
}

void pc_destroy(struct machine *m)
{
    struct board *b = m->board;
    if (!b)
        return;
    pc_vga_destroy(m);                    /* before its bus */
    if (b->pci) pc_pci_destroy(b->pci);   /* joins disk threads: lock not held */
    pc_apic_destroy(m);
    if (b->pic) pic_free(b->pic);
    if (b->pit) pit_free(b->pit);
    for (int i = 0; i < MAX_SERIAL; i++)
        if (b->serial[i]) serial_free(b->serial[i]);
    if (b->rtc) rtc_free(b->rtc);
    if (b->kbd) i8042_free(b->kbd);
    port92_destroy(&m->pio);
    fw_cfg_free(b->fw_cfg);
    if (b->pm) acpi_pm_free(b->pm);
    free(b);
    m->board = NULL;
}
