/* Intel 8042 keyboard controller with a PS/2 keyboard and a PS/2 mouse
 * (aux port) behind it. Ports: data 0x60, status/command 0x64.
 * Interrupts: IRQ 1 (keyboard data) and IRQ 12 (aux data), gated by the
 * command byte. The irq lines and hooks are kept by pointer. */
#ifndef HW_I8042_H
#define HW_I8042_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/irq.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT  0x64
#define I8042_KBD_IRQ   1
#define I8042_AUX_IRQ   12

/* Status register (port 0x64 read). */
#define I8042_STR_OBF     0x01
#define I8042_STR_IBF     0x02
#define I8042_STR_SYS     0x04
#define I8042_STR_A2      0x08   /* last write was to the command port */
#define I8042_STR_UNLOCK  0x10   /* 1 = keyboard not inhibited by the keylock */
#define I8042_STR_AUXB    0x20   /* output buffer holds aux data */

/* Command byte ("controller configuration", RAM byte 0). */
#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_AUXINT  0x02
#define I8042_CTR_SYS     0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE   0x40

struct i8042;

/* reset_request is called when the guest resets the CPU through the
 * controller (0xFE / 0xF0-0xFF pulse with bit 0 clear, or 0xD1 with
 * bit 0 clear). NULL on failure (ports taken). */
struct i8042 *i8042_create(struct iomap *pio, struct irq *kbd_irq, struct irq *aux_irq,
                           void (*reset_request)(void *opaque), void *opaque);
/* The A20 gate of the output port (0xD1 bit 1, 0xDD/0xDF). Optional. */
void i8042_set_a20_hook(struct i8042 *k, void (*set_a20)(void *opaque, bool on), void *opaque);
void i8042_reset(struct i8042 *k);
void i8042_free(struct i8042 *k);

/* Host input (ui/). Keyboard bytes are queued as given (the guest's scan
 * code set: set 1 when the command byte asks for translation, which is
 * what BIOSes and Linux set up) and only while the keyboard is scanning.
 * Mouse motion: dy > 0 is up (PS/2 convention); buttons bit 0 left,
 * bit 1 right, bit 2 middle. Dropped unless the guest enabled the mouse in
 * stream mode. */
void i8042_kbd_put(struct i8042 *k, uint8_t byte);
void i8042_mouse_event(struct i8042 *k, int dx, int dy, unsigned buttons);

/* For tests and the monitor. */
uint8_t i8042_command_byte(struct i8042 *k);
uint8_t i8042_output_port(struct i8042 *k);

#endif
