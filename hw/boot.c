/* Boot loaders: -bios firmware, or a -kernel image loaded directly. */
#include "hw/machine.h"
#include <stdio.h>

int boot_load(struct machine *m, struct x86_state *st, char *err, size_t errlen)
{
    (void)m;
    x86_state_reset(st);
    snprintf(err, errlen, "boot loaders are not written yet");
    return -1;
}
