/* Board glue for PCI and the virtio devices (see hw/pc_pci.h). */
#include "hw/pc_pci.h"
#include "hw/machine.h"
#include "hw/pci.h"
#include "hw/virtio_pci.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"
#include "hw/virtio_input.h"
#include "hw/virtio_console.h"
#include "hw/virtio_9p.h"
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VIRTIO (PC_PCI_MAX_DISKS + PC_PCI_MAX_NICS + PC_PCI_MAX_9P + 2)

struct pc_pci {
    struct machine *m;
    void (*dma_written)(void *opaque, uint64_t gpa, uint64_t len);
    void *dma_opaque;
    struct pci_bus *bus;
    struct irq isa_irq[16];
    struct guest_mem mem;
    struct virtio_blk *blk[PC_PCI_MAX_DISKS];
    struct virtio_net *net[PC_PCI_MAX_NICS];
    struct virtio_rng *rng;
    struct virtio_input *tablet;
    struct virtio_console *con;
    struct ide *ide;
    struct virtio_9p *p9[PC_PCI_MAX_9P];
    struct virtio_pci *vp[MAX_VIRTIO];
    int nvp;
};

static void pc_dma_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct pc_pci *p = opaque;
    if (p->dma_written)
        p->dma_written(p->dma_opaque, gpa, len);
}

static uint8_t *pc_dma_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
    struct pc_pci *p = opaque;
    return machine_dma_ptr(p->m, gpa, len);
}

/* PCI INTx arrives here as ISA IRQ levels (already ORed by the router). */
static void pc_pci_isa_irq(void *opaque, int n, int level)
{
    machine_set_gsi(opaque, n, level);
}

static void pc_dev_lock(void *opaque)
{
    pthread_mutex_lock(&((struct machine *)opaque)->lock);
}

static void pc_dev_unlock(void *opaque)
{
    pthread_mutex_unlock(&((struct machine *)opaque)->lock);
}

static bool add(struct pc_pci *p, struct virtio_dev *vd, int slot, bool modern_only)
{
    struct virtio_pci *vp = virtio_pci_create(p->bus, vd, slot, modern_only);
    if (!vp) {
        fprintf(stderr, "tremu: cannot place %s on the PCI bus (slot %d taken or no room)\n",
                vd->name, slot);
        return false;
    }
    p->vp[p->nvp++] = vp;
    return true;
}

struct pc_pci *pc_pci_init(struct machine *m, const struct pci_devices_config *cfg)
{
    struct pc_pci *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->m = m;
    p->mem = (struct guest_mem){.ptr = pc_dma_ptr, .opaque = p};
    if (cfg && cfg->dma_written) {
        p->dma_written = cfg->dma_written;
        p->dma_opaque = cfg->dma_opaque;
        p->mem.written = pc_dma_written;
    }
    for (int i = 0; i < 16; i++)
        irq_init(&p->isa_irq[i], pc_pci_isa_irq, m, i);
    /* The PCI hole: from the end of low RAM (1 MiB aligned, as the ACPI
     * _CRS window) up to the IOAPIC at 0xfec00000. */
    uint64_t base = (m->lowmem + 0xfffff) & ~0xfffffULL;
    p->bus = pci_bus_create(&m->pio, &m->mmio, p->isa_irq, base, 0xfec00000ULL);
    if (!p->bus) {
        fprintf(stderr, "tremu: cannot create the PCI host bridge\n");
        free(p);
        return NULL;
    }
    if (!cfg)
        return p;
    for (int i = 0; i < IDE_DRIVES; i++) {
        if (!cfg->ide[i].present)
            continue;
        p->ide = ide_create(p->bus, &m->pio, &p->isa_irq[14], &p->isa_irq[15], cfg->ide);
        if (!p->ide) {
            fprintf(stderr, "tremu: cannot create the IDE controller\n");
            goto fail;
        }
        ide_set_dma_mem(p->ide, &p->mem);
        break;
    }
    bool mo = cfg->modern_only;
    for (int i = 0; i < cfg->nnics && i < PC_PCI_MAX_NICS; i++) {
        uint8_t mac[6];
        if (cfg->nics[i].mac_set)
            memcpy(mac, cfg->nics[i].mac, 6);
        else
            virtio_net_default_mac(mac, i);
        p->net[i] = virtio_net_create(cfg->nics[i].nb, mac, &p->mem);
        int slot = cfg->nics[i].slot;
        if (slot <= 0)          /* slot 0 is the host bridge: never a NIC */
            slot = i == 0 ? 3 : -1;     /* QEMU pc's first NIC slot */
        if (!p->net[i] || !add(p, virtio_net_dev(p->net[i]), slot, mo))
            goto fail;
    }
    for (int i = 0; i < cfg->ndisks && i < PC_PCI_MAX_DISKS; i++) {
        p->blk[i] = virtio_blk_create(&cfg->disks[i].be, cfg->disks[i].serial, &p->mem);
        if (!p->blk[i] || !add(p, virtio_blk_dev(p->blk[i]), -1, mo))
            goto fail;
        if (!cfg->blk_inline &&
            virtio_blk_start_iothread(p->blk[i], pc_dev_lock, pc_dev_unlock, m) < 0) {
            fprintf(stderr, "tremu: cannot start the I/O thread of disk %d\n", i);
            goto fail;
        }
    }
    if (cfg->rng) {
        p->rng = virtio_rng_create(&p->mem, NULL);
        if (!p->rng || !add(p, virtio_rng_dev(p->rng), -1, mo))
            goto fail;
    }
    if (cfg->tablet) {
        p->tablet = virtio_tablet_create(&p->mem);
        if (!p->tablet || !add(p, virtio_input_dev(p->tablet), -1, mo))
            goto fail;
    }
    if (cfg->console || cfg->nconsole_ports) {
        p->con = cfg->nconsole_ports
                     ? virtio_console_create_ports(cfg->console_ports, cfg->nconsole_ports, &p->mem)
                     : virtio_console_create(cfg->console, &p->mem);
        if (!p->con || !add(p, virtio_console_dev(p->con), -1, mo))
            goto fail;
    }
    for (int i = 0; i < cfg->np9 && i < PC_PCI_MAX_9P; i++) {
        p->p9[i] = virtio_9p_create(cfg->p9[i].fs, cfg->p9[i].tag, &p->mem);
        if (!p->p9[i] || !add(p, virtio_9p_dev(p->p9[i]), -1, mo))
            goto fail;
    }
    return p;
fail:
    pc_pci_destroy(p);
    return NULL;
}

void pc_pci_reset(struct pc_pci *p)
{
    if (p)
        pci_bus_reset(p->bus);
}

struct pci_bus *pc_pci_bus(struct pc_pci *p)
{
    return p->bus;
}

struct virtio_input *pc_pci_tablet(struct pc_pci *p)
{
    return p ? p->tablet : NULL;
}

uint16_t pc_pci_level_irqs(struct pc_pci *p)
{
    uint16_t mask = 0;
    for (int i = 0; i < 4; i++) {
        int irq = pci_pirq_route(p->bus, i);
        if (irq >= 0)
            mask |= (uint16_t)(1u << irq);
    }
    return mask;
}

int pc_pci_write_pir(struct pc_pci *p, struct machine *m, uint64_t gpa)
{
    uint8_t buf[32 + 16 * 32];
    int n = pci_build_pir_table(p->bus, buf, sizeof(buf));
    if (n < 0 || (gpa & 15) || gpa < 0xf0000 || gpa + (uint64_t)n > 0x100000)
        return -1;
    return machine_phys_write(m, gpa, buf, (uint64_t)n);
}

void pc_pci_destroy(struct pc_pci *p)
{
    if (!p)
        return;
    /* The disks' I/O threads stop before the transports go. */
    for (int i = 0; i < PC_PCI_MAX_DISKS; i++)
        virtio_blk_stop_iothread(p->blk[i]);
    for (int i = 0; i < p->nvp; i++)
        virtio_pci_free(p->vp[i]);
    for (int i = 0; i < PC_PCI_MAX_NICS; i++)
        virtio_net_free(p->net[i]);
    for (int i = 0; i < PC_PCI_MAX_DISKS; i++)
        virtio_blk_free(p->blk[i]);
    virtio_rng_free(p->rng);
    virtio_input_free(p->tablet);
    virtio_console_free(p->con);
    ide_free(p->ide);
    for (int i = 0; i < PC_PCI_MAX_9P; i++)
        virtio_9p_free(p->p9[i]);
    pci_bus_free(p->bus);
    free(p);
}
