/* Character backends (the devices' side of the interface is hw/chardev.h). */
#ifndef UI_CHAR_H
#define UI_CHAR_H

#include <stdbool.h>
#include <stddef.h>
#include "hw/chardev.h"

/* spec: "stdio", "mon:stdio", "file:PATH", "none", "null".
 * mux: Ctrl-A escapes (x quit, h help, c monitor later, Ctrl-A Ctrl-A sends one)
 * as QEMU's -nographic does; without it, Ctrl-C ends tremu like QEMU's
 * plain -serial stdio. Ctrl-A X restores the terminal and exits (status 0),
 * running the atexit handlers that flush images. Returns NULL with a message in err. */
struct chardev *chardev_open(const char *spec, bool mux, char *err, size_t errlen);
/* Restores the terminal; safe to call more than once and from signal handlers. */
void chardev_restore_terminal(void);

#endif
