/* 16550A UART (PC COM ports). Behaviour follows the PC16550D data sheet and,
 * where the two differ, QEMU's model (the reference our tests compare with):
 * the IRQ line is not gated by MCR.OUT2, and reset leaves MCR = OUT2.
 *
 * The board passes the port base and the interrupt line:
 *   COM1 0x3f8 IRQ4, COM2 0x2f8 IRQ3, COM3 0x3e8 IRQ4, COM4 0x2e8 IRQ3.
 * Every call must be made with the device lock held (as port I/O handlers and
 * timers are). */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include <stdint.h>
#include "hw/iomap.h"
#include "hw/irq.h"
#include "hw/clock.h"
#include "hw/chardev.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_COM3_BASE 0x3e8
#define SERIAL_COM4_BASE 0x2e8
#define SERIAL_COM1_IRQ  4
#define SERIAL_COM2_IRQ  3
#define SERIAL_COM3_IRQ  4
#define SERIAL_COM4_IRQ  3

struct serial;

/* Registers 8 ports at base in pio and installs itself as chr's frontend
 * (chr may be NULL: output is discarded, no input). irq may be NULL.
 * Returns NULL when the range is taken or memory is short. The UART comes
 * out of reset. */
struct serial *serial_create(struct iomap *pio, uint16_t base, struct irq *irq,
                             struct chardev *chr, struct clock *clk);
/* Hardware reset (machine reset): registers to their power-on values, FIFOs
 * emptied, timers stopped, the IRQ line lowered. */
void serial_reset(struct serial *s);
/* Unregisters the ports, detaches from the chardev, frees. */
void serial_free(struct serial *s);

/* A break condition arrived on the line (the chardev's Ctrl-A B calls this
 * through chardev->fe_break): a NUL byte with LSR.BI. */
void serial_receive_break(struct serial *s);
/* The modem inputs as MSR bits 7..4 (DCD, RI, DSR, CTS). Changes set the
 * MSR delta bits (TERI only on RI going 1 -> 0) and may raise the modem
 * status interrupt. Reset state: DCD|DSR|CTS asserted, like QEMU. */
void serial_set_modem_inputs(struct serial *s, uint8_t msr_high);

#endif
