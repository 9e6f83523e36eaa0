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
/* A backend on descriptors the caller owns (not closed), without terminal
 * handling: input from in_fd (-1: none) with the Ctrl-A mux when mux is set,
 * output to out_fd (-1: discarded). Used by tests. */
struct chardev *chardev_open_fds(int in_fd, int out_fd, bool mux);
/* The monitor as a second frontend of a stdio chardev: with the mux, C-a c
 * switches the input between the port and the monitor (focus() called on
 * each switch to the monitor); without it, the monitor has all input.
 * The monitor writes with chr->write. False when chr is not stdio (or,
 * for tests, a chardev_open_fds with the mux). */
bool chardev_mux_attach(struct chardev *chr, void (*rx)(void *, const uint8_t *, size_t),
                        void (*focus)(void *), void *opaque);
/* Restores the terminal; safe to call more than once and from signal handlers. */
void chardev_restore_terminal(void);

#endif
