/* The 8254 programmable interval timer: channels 0-2 at ports 0x40-0x42, the
 * control word at 0x43, and the PC's port 0x61 (NMI status and control):
 *   bit 0  gate of channel 2 (r/w)        bit 1  speaker data enable (r/w)
 *   bit 2,3 parity/IOCHK check enables (r/w, stored only)
 *   bit 4  refresh request, toggles every 15.085 us of clock time (ro)
 *   bit 5  OUT of channel 2 (ro)          bit 6,7 IOCHK/SERR status (ro, 0)
 * Counters are computed from the clock (clock_ns) on the 1.193182 MHz grid,
 * so a read is exact at any moment; only channel 0's output has a timer, at
 * each OUT transition, to drive irq0. Intel 8254 datasheet (order 231164). */
#ifndef HW_I8254_H
#define HW_I8254_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/irq.h"
#include "hw/clock.h"

#define PIT_FREQ 1193182
#define PIT_BASE 0x40
#define PIT_PORT61 0x61

struct pit;

/* Registers 0x40-0x43 and 0x61 on pio. irq0 follows OUT of channel 0 (it
 * rises at each terminal count / period start, so an edge-triggered IRQ0 sees
 * one edge per period). NULL on failure. */
struct pit *pit_create(struct iomap *pio, struct clock *clk, struct irq *irq0);
/* Reset state (as QEMU): every channel mode 3, count 65536, counting from now;
 * gates 0/1 high, channel 2 gate low. irq0 is set to OUT0 (high) at once. */
void pit_reset(struct pit *p);
/* Stops the timer, unregisters the ports, frees. */
void pit_free(struct pit *p);

/* For the board and the speaker: a channel's OUT and gate right now. */
int pit_get_out(struct pit *p, int channel);
void pit_set_gate(struct pit *p, int channel, int level);
/* The HPET's legacy replacement route takes IRQ0 away from the PIT: while
 * disabled, irq0 is held low and no timer runs. */
void pit_set_irq_enabled(struct pit *p, bool enabled);

#endif
