/* libFuzzer: PCI configuration space and BARs as a guest drives them --
 * config mechanism #1 through ports 0xcf8/0xcfc, any port, any MMIO address
 * -- on a bus with a virtio-blk-pci function (hw/pci.c, hw/virtio_pci.c:
 * BAR sizing and remapping, capabilities, the virtio common config). */
#include "hw/iomap.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_pci.h"
#include "tests/fuzz/fuzz_virtio.h"
#include <errno.h>

static uint8_t disk[64 * 1024];
static int d_read(void *o, uint64_t off, void *buf, size_t len)
{
    (void)o;
    if (off > sizeof(disk) || len > sizeof(disk) - off)
        return -EINVAL;
    memcpy(buf, disk + off, len);
    return 0;
}
static int d_write(void *o, uint64_t off, const void *buf, size_t len)
{
    (void)o;
    if (off > sizeof(disk) || len > sizeof(disk) - off)
        return -EINVAL;
    memcpy(disk + off, buf, len);
    return 0;
}
static int d_flush(void *o) { (void)o; return 0; }
static void line(void *opaque, int n, int level) { (void)opaque; (void)n; (void)level; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct iomap pio, mmio;
    struct irq isa[16];
    iomap_init(&pio, "pio", NULL);
    iomap_init(&mmio, "mmio", NULL);
    for (int i = 0; i < 16; i++)
        irq_init(&isa[i], line, NULL, i);
    struct pci_bus *bus = pci_bus_create(&pio, &mmio, isa, 0x40000000, 0xfec00000);
    struct virtio_blk_backend be = { .size = sizeof(disk), .read = d_read, .write = d_write,
                                     .flush = d_flush };
    struct virtio_blk *b = virtio_blk_create(&be, "fuzz", &fz_mem);
    struct virtio_pci *vp = bus && b ? virtio_pci_create(bus, virtio_blk_dev(b), 3, fz_u8(&in) & 1) : NULL;
    static const unsigned sizes[4] = {1, 2, 4, 4};
    for (int ops = 0; vp && in.n && ops < 4096; ops++) {
        unsigned k = fz_u8(&in), sz = sizes[(k >> 4) & 3];
        uint32_t v = (uint32_t)fz_u16(&in) | (uint32_t)fz_u16(&in) << 16;
        switch (k & 7) {
        case 0: /* select a register of slot 3 (or any device) */
            iomap_write(&pio, 0xcf8, 0x80000000u | (k & 8 ? v & 0xfffffc : 3u << 11 | (v & 0xfc)), 4);
            break;
        case 1: iomap_write(&pio, 0xcfc + (v >> 24 & 3), v, sz); break;
        case 2: iomap_read(&pio, 0xcfc + (v >> 24 & 3), sz); break;
        case 3: iomap_write(&pio, v & 0xffff, fz_u16(&in), sz); break;
        case 4: iomap_read(&pio, v & 0xffff, sz); break;
        case 5: iomap_write(&mmio, 0xfe000000u | (v & 0xffffff), fz_u16(&in), sz); break;
        case 6: iomap_read(&mmio, 0xfe000000u | (v & 0xffffff), sz); break;
        default: iomap_write(&mmio, 0xc0000000u + v, fz_u16(&in), sz); break;
        }
    }
    if (vp)
        virtio_pci_free(vp);
    if (b)
        virtio_blk_free(b);
    if (bus)
        pci_bus_free(bus);
    iomap_destroy(&pio);
    iomap_destroy(&mmio);
    return 0;
}
