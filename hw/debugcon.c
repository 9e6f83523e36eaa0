/* isa-debugcon (see hw/debugcon.h). */
#include "hw/debugcon.h"

static uint64_t debugcon_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0xe9;
}

static void debugcon_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    FILE *out = opaque;
    /* Wider writes carry one byte each in QEMU too: only the low byte. */
    /* Unbuffered, as QEMU's chardev: someone may be watching the file. */
    fputc((int)(val & 0xff), out);
    fflush(out);
}

int debugcon_create(struct iomap *pio, uint16_t port, FILE *out)
{
    return iomap_register(pio, port, 1, debugcon_read, debugcon_write, out, "debugcon");
}
