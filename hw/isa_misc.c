/* Small ISA ports: 0x92, 0x80, isa-debug-exit, boot stopwatch. */
#include "hw/isa_misc.h"
#include <stdlib.h>

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* ---- Port 0x92, "System Control Port A" (PS/2 and later chipsets).
 * Bit 0: fast reset, acts on the 0->1 transition only (writing 1 again
 * while it is latched does nothing). Bit 1: A20 gate. The register reads
 * back what was written. */
struct port92 {
    const struct isa_misc_hooks *h;
    uint8_t val;
};

static uint64_t port92_read(void *opaque, uint64_t addr, unsigned size)
{
    struct port92 *p = opaque;
    return addr == 0 ? p->val : ones(size);
}

static void port92_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct port92 *p = opaque;
    if (addr != 0)
        return;
    uint8_t old = p->val;
    p->val = (uint8_t)val;
    const struct isa_misc_hooks *h = p->h;
    if (h && h->set_a20)
        h->set_a20(h->opaque, (p->val >> 1) & 1);
    if ((p->val & 1) && !(old & 1) && h && h->reset_request)
        h->reset_request(h->opaque);
}

int port92_create(struct iomap *pio, const struct isa_misc_hooks *h)
{
    struct port92 *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->h = h;
    if (iomap_register(pio, PORT92_PORT, 1, port92_read, port92_write, p, "port92") < 0) {
        free(p);
        return -1;
    }
    return 0;
}

static struct port92 *port92_find(struct iomap *pio)
{
    const struct io_region *r = iomap_find(pio, PORT92_PORT);
    if (!r || r->read != port92_read)
        return NULL;
    return r->opaque;
}

void port92_reset(struct iomap *pio)
{
    struct port92 *p = port92_find(pio);
    if (p)
        p->val &= ~1u;
}

uint8_t port92_value(struct iomap *pio)
{
    struct port92 *p = port92_find(pio);
    return p ? p->val : 0;
}

void port92_destroy(struct iomap *pio)
{
    struct port92 *p = port92_find(pio);
    if (!p)
        return;
    iomap_unregister(pio, PORT92_PORT);
    free(p);
}

/* ---- Port 0x80: POST diagnostic codes. Reads give 0xff like QEMU's
 * ioport80 (it is a write-only latch on real boards). */
static uint64_t post_read(void *opaque, uint64_t addr, unsigned size)
{
    return ones(size);
}

static void post_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    const struct isa_misc_hooks *h = opaque;
    if (addr == 0 && h && h->post_code)
        h->post_code(h->opaque, (uint8_t)val);
}

int post_port_create(struct iomap *pio, const struct isa_misc_hooks *h)
{
    return iomap_register(pio, POST_PORT, 1, post_read, post_write, (void *)h, "post");
}

/* ---- isa-debug-exit: a write of V ends the emulator with status
 * (V << 1) | 1, so a test guest can never exit with 0 by accident. */
static uint64_t debug_exit_read(void *opaque, uint64_t addr, unsigned size)
{
    return ones(size);
}

static void debug_exit_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    const struct isa_misc_hooks *h = opaque;
    val &= ones(size);
    if (h && h->debug_exit)
        h->debug_exit(h->opaque, (int)(((uint32_t)val << 1) | 1));
}

int debug_exit_create(struct iomap *pio, uint16_t base, uint16_t size, const struct isa_misc_hooks *h)
{
    if (size == 0 || (uint32_t)base + size > 0x10000)
        return -1;
    return iomap_register(pio, base, size, debug_exit_read, debug_exit_write, (void *)h,
                          "isa-debug-exit");
}

/* ---- Boot stopwatch: guests (our test initramfs, firmware) write a marker
 * at interesting points of the boot; the board logs it with the elapsed
 * time. Any width is accepted; the marker is the value written. */
static uint64_t stopwatch_read(void *opaque, uint64_t addr, unsigned size)
{
    return ones(size);
}

static void stopwatch_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    const struct isa_misc_hooks *h = opaque;
    if (h && h->boot_mark)
        h->boot_mark(h->opaque, (uint32_t)(val & ones(size)));
}

int stopwatch_create(struct iomap *pio, const struct isa_misc_hooks *h)
{
    return iomap_register(pio, STOPWATCH_PORT, STOPWATCH_LEN, stopwatch_read, stopwatch_write,
                          (void *)h, "stopwatch");
}
