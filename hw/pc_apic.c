/* Board glue for the LAPICs, the IOAPIC and the HPET (see hw/pc_apic.h). */
#include "hw/pc_apic.h"
#include "hw/machine.h"
#include "hw/lapic.h"
#include "hw/ioapic.h"
#include "hw/hpet.h"
#include "hw/i8259.h"
#include "hw/i8254.h"
#include "hw/acpi.h"
#include <stdlib.h>

struct pc_apic {
    struct machine *m;
    struct pic *pic;
    struct pit *pit;
    struct apic_bus *bus;       /* NULL: no user-space LAPIC (kvm) */
    struct ioapic *ioapic;
    struct hpet *hpet;
    bool hpet_legacy;
    uint8_t pin2;               /* IOAPIC pin 2 is ORed from line 0 (bit 0) and line 2 (bit 1) */
};

/* ---- wires the LAPICs drive ---- */

static void cpu_intr(void *opaque, int cpu, int level)
{
    struct machine *m = opaque;
    if (cpu >= m->nvcpus && !(cpu == 0 && m->nvcpus == 0))
        return;
    atomic_store(&m->vcpu[cpu].intr_line, level);
    if (m->accel && m->accel->intr_changed && cpu < m->nvcpus)
        m->accel->intr_changed(&m->vcpu[cpu]);
}

static void cpu_nmi(void *opaque, int cpu)
{
    struct machine *m = opaque;
    if (cpu < m->nvcpus && m->accel && m->accel->nmi)
        m->accel->nmi(&m->vcpu[cpu]);
}

static int pic_ack(void *opaque)
{
    struct machine *m = opaque;
    return m->apic->pic ? pic_intr_ack(m->apic->pic) : -1;
}

static void accepted(void *opaque, int vector)
{
    struct machine *m = opaque;
    if (m->apic->ioapic)
        ioapic_accepted(m->apic->ioapic, vector);
}

static void eoi_broadcast(void *opaque, int vector)
{
    struct machine *m = opaque;
    if (m->apic->ioapic)
        ioapic_eoi(m->apic->ioapic, vector);
}

/* ---- lines ---- */

/* Line n: 8259 input n (not 2, the cascade) and IOAPIC pin n, line 0 on
 * pin 2 (the MADT's override; KVM's routing does the same). */
static void route(struct pc_apic *a, int line, int level)
{
    if (line < 0 || line >= 24)
        return;
    if (a->pic && line < 16 && line != 2)
        pic_set_irq(a->pic, line, level);
    if (!a->ioapic)
        return;
    if (line == 0 || line == 2) {
        uint8_t bit = line == 0 ? 1 : 2;
        a->pin2 = level ? (a->pin2 | bit) : (a->pin2 & ~bit);
        ioapic_set_irq(a->ioapic, 2, a->pin2 != 0);
    } else {
        ioapic_set_irq(a->ioapic, line, level);
    }
}

void pc_apic_set_gsi(struct machine *m, int gsi, int level)
{
    struct pc_apic *a = m->apic;
    if (!a)
        return;
    /* The RTC's IRQ8 is the HPET's while legacy replacement is on (the PIT
     * is silenced at its source, pit_set_irq_enabled). */
    if (gsi == 8 && a->hpet_legacy)
        return;
    route(a, gsi, level);
}

static void hpet_irq(void *opaque, int line, int level)
{
    struct machine *m = opaque;
    if (m->irqchip_in_kernel)
        m->accel->set_gsi(m, line, level);
    else
        route(m->apic, line, level);
}

static void hpet_legacy(void *opaque, bool on)
{
    struct machine *m = opaque;
    struct pc_apic *a = m->apic;
    a->hpet_legacy = on;
    if (a->pit)
        pit_set_irq_enabled(a->pit, !on);
    if (on && !m->irqchip_in_kernel)
        route(a, 8, 0);     /* drop what the RTC was holding */
}

void pc_apic_pic_intr(struct machine *m, int level)
{
    struct pc_apic *a = m->apic;
    if (a && a->bus) {
        apic_bus_set_pic_intr(a->bus, level);
        return;
    }
    /* No LAPIC model: the 8259 drives the BSP's INTR. */
    cpu_intr(m, 0, level);
}

int pc_apic_intr_ack(struct machine *m, int cpu)
{
    struct pc_apic *a = m->apic;
    if (a && a->bus)
        return lapic_intr_ack(apic_bus_cpu(a->bus, cpu));
    return a && a->pic ? pic_intr_ack(a->pic) : -1;
}

/* ---- engine entry points ---- */

bool machine_has_lapic(struct machine *m)
{
    return m->apic && m->apic->bus;
}

int machine_apic_msr(struct machine *m, int cpu, uint32_t msr, uint64_t tsc, uint64_t *val, bool write)
{
    if (!machine_has_lapic(m) || (msr != 0x1b && msr != 0x6e0 && (msr < 0x800 || msr > 0x8ff)))
        return 0;
    pthread_mutex_lock(&m->lock);
    struct lapic *l = apic_bus_cpu(m->apic->bus, cpu);
    bool ok = l && (write ? lapic_msr_write(l, msr, tsc, *val) : lapic_msr_read(l, msr, tsc, val));
    pthread_mutex_unlock(&m->lock);
    return ok ? 1 : -1;
}

int machine_apic_cr8(struct machine *m, int cpu, int val)
{
    if (!machine_has_lapic(m))
        return 0;
    pthread_mutex_lock(&m->lock);
    struct lapic *l = apic_bus_cpu(m->apic->bus, cpu);
    if (l && val >= 0)
        lapic_set_cr8(l, (uint8_t)val);
    int r = l ? lapic_get_cr8(l) : 0;
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* ---- lifecycle ---- */

int pc_apic_init(struct machine *m, struct pic *pic, struct pit *pit)
{
    struct pc_apic *a = calloc(1, sizeof(*a));
    if (!a)
        return -1;
    m->apic = a;
    a->m = m;
    a->pic = pic;
    a->pit = pit;
    if (!m->irqchip_in_kernel && m->accel && m->accel->board_lapic) {
        int n = m->cfg->smp > 0 ? m->cfg->smp : 1;
        if (n > MAX_VCPUS)
            n = MAX_VCPUS;
        struct apic_bus_hooks h = {
            .opaque = m, .cpu_intr = cpu_intr, .cpu_nmi = cpu_nmi, .pic_ack = pic_ack,
            .eoi_broadcast = eoi_broadcast, .accepted = accepted,
        };
        a->bus = apic_bus_create(n, &m->clock, &m->mmio, &h);
        a->ioapic = a->bus ? ioapic_create(&m->mmio, a->bus) : NULL;
        if (!a->ioapic) {
            fprintf(stderr, "tremu: cannot map the local APIC / IOAPIC pages\n");
            return -1;
        }
        /* IRQ0's ticks (PIT, HPET legacy timer 0) are never lost. */
        ioapic_set_reinject(a->ioapic, 2, true);
    }
    /* With KVM's in-kernel PIT the HPET's legacy route cannot silence the
     * PIT yet, so both would tick IRQ0: no HPET there for now. */
    if (!m->irqchip_in_kernel) {
        struct hpet_hooks hh = {.opaque = m, .set_irq = hpet_irq, .legacy = hpet_legacy};
        a->hpet = hpet_create(&m->mmio, &m->clock, &hh);
        if (!a->hpet) {
            fprintf(stderr, "tremu: cannot map the HPET at 0x%llx\n", (unsigned long long)HPET_BASE);
            return -1;
        }
    }
    return 0;
}

void pc_apic_reset(struct machine *m)
{
    struct pc_apic *a = m->apic;
    if (!a)
        return;
    if (a->hpet)
        hpet_reset(a->hpet);
    if (a->ioapic)
        ioapic_reset(a->ioapic);
    a->pin2 = 0;
    if (a->bus)
        apic_bus_reset(a->bus);
}

void pc_apic_destroy(struct machine *m)
{
    struct pc_apic *a = m->apic;
    if (!a)
        return;
    hpet_free(a->hpet);
    ioapic_free(a->ioapic);
    apic_bus_free(a->bus);
    free(a);
    m->apic = NULL;
}

void pc_apic_acpi_config(struct machine *m, struct acpi_config *ac)
{
    struct pc_apic *a = m->apic;
    bool lapic, hpet;
    if (a) {
        /* KVM's in-kernel irqchip has LAPICs and an IOAPIC wired as ours. */
        lapic = a->bus || m->irqchip_in_kernel;
        hpet = a->hpet != NULL;
    } else {
        /* The first boot_load runs before the engine has chosen its irqchip
         * (it maps the images when it creates the VM): predict what
         * pc_apic_init will build. KVM takes the in-kernel irqchip unless
         * told not to (a KVM without one says so when it falls back). */
        const struct accel_config *acc = &m->cfg->accel;
        bool user = m->accel && m->accel->board_lapic;
        bool kchip = !user && !(acc->kernel_irqchip_set && !acc->kernel_irqchip);
        lapic = user || kchip;
        hpet = !kchip;
    }
    ac->madt = lapic;
    ac->hpet = hpet;
    int n = m->cfg->smp > 0 ? m->cfg->smp : 1;
    ac->ncpus = (uint8_t)(n > MAX_VCPUS ? MAX_VCPUS : n);
}
