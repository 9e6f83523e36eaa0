/* Small ISA ports of the PC: port 0x92 (System Control Port A: fast reset and
 * A20), port 0x80 (POST codes), isa-debug-exit (QEMU's test exit port) and
 * the boot stopwatch port.
 *
 * The hooks struct is kept BY POINTER: it must outlive the registrations
 * (the board keeps it in its own struct). Every hook is optional (NULL).
 * Only port 0x92 allocates state; port92_destroy() frees it. */
#ifndef HW_ISA_MISC_H
#define HW_ISA_MISC_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"

struct isa_misc_hooks {
    void *opaque;
    void (*reset_request)(void *opaque);             /* port 0x92 bit 0 rising edge */
    void (*set_a20)(void *opaque, bool enabled);     /* port 0x92 bit 1 (optional) */
    void (*post_code)(void *opaque, uint8_t code);   /* port 0x80 writes */
    void (*debug_exit)(void *opaque, int status);    /* isa-debug-exit: status = (val << 1) | 1 */
    void (*boot_mark)(void *opaque, uint32_t marker); /* stopwatch port */
};

#define PORT92_PORT     0x92
#define POST_PORT       0x80
#define STOPWATCH_PORT  0x0ea0  /* 4 ports: a byte, word or dword write records a marker */
#define STOPWATCH_LEN   4

/* All return 0, or -1 when the range is taken or invalid. */
int port92_create(struct iomap *pio, const struct isa_misc_hooks *h);
int post_port_create(struct iomap *pio, const struct isa_misc_hooks *h);
int debug_exit_create(struct iomap *pio, uint16_t base, uint16_t size, const struct isa_misc_hooks *h);
int stopwatch_create(struct iomap *pio, const struct isa_misc_hooks *h);

/* Machine reset: clears the latched fast-reset bit (so the next 0->1 write
 * resets again); A20 bit is kept, like QEMU's port92_reset. */
void port92_reset(struct iomap *pio);
/* Current latched value of port 0x92 (0 if not created). */
uint8_t port92_value(struct iomap *pio);
/* Unregister and free port 0x92's state. Safe if it was never created. */
void port92_destroy(struct iomap *pio);

#endif
