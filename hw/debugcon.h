/* QEMU's isa-debugcon (-debugcon): a write-only byte port, 0x402 on the
 * PC (SeaBIOS's debug log port; Bochs used 0xe9). Reads return 0xe9, the
 * value by which firmware recognises the port is there. */
#ifndef HW_DEBUGCON_H
#define HW_DEBUGCON_H

#include <stdio.h>
#include "hw/iomap.h"

#define DEBUGCON_PORT 0x402

/* Registers the port; bytes go to out (not closed by us). 0 or -1. */
int debugcon_create(struct iomap *pio, uint16_t port, FILE *out);

#endif
