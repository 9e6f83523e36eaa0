/* The software CPU engine. The interpreter lands with the CPU issue; until
 * then the engine exists so the board and command line are complete. */
#include "accel/accel.h"
#include <stdio.h>

static bool tcg_probe(char *why, size_t len)
{
    snprintf(why, len, "the software CPU is not built yet");
    return false;
}

const struct accel_ops accel_tcg_ops = {
    .name = "tcg",
    .probe = tcg_probe,
};
