/* Character backends with their own connection life (QEMU's -chardev socket,
 * udp, pty, pipe, serial/tty, file, ringbuf), and the set of named chardevs
 * a command line creates (-chardev id=..., -serial, -monitor).
 *
 * These backends never hand a descriptor to the board: their descriptors
 * change (a server accepts, a client reconnects, a pty gets a reader), so
 * the set serves them all from one main-loop poll hook (chardev_set_fill /
 * chardev_set_dispatch, called with the device lock held, like every
 * frontend call). Guest output that the peer cannot take at once is kept
 * (up to CHARDEV_OUT_MAX bytes per backend) and sent when the socket has
 * room; input is read only as fast as the frontend takes it. */
#ifndef UI_CHARDEV_BE_H
#define UI_CHARDEV_BE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/chardev.h"

#define CHARDEV_OUT_MAX (1u << 20)
#define CHARDEV_MAX 32

/* One named chardev. `be` is set for the backends of this file (those the
 * poll hook serves); stdio/null/file from ui/char.c have be == NULL and are
 * served through chr->in_fd by the board. */
struct chardev_be;
struct chardev_entry {
    char id[64];
    struct chardev *chr;
    struct chardev_be *be;
    bool used;              /* taken by a frontend (a port, the monitor) */
    bool mux;               /* mux=on: may be shared by a port and the monitor */
};

struct chardev_set {
    struct chardev_entry e[CHARDEV_MAX];
    int n;
    int anon;               /* counter for generated ids (serial0, ...) */
    /* The poll hook's bookkeeping: each backend's slice of the pollfd array. */
    int slice_start[CHARDEV_MAX], slice_n[CHARDEV_MAX];
};

/* Parses a -chardev option string and opens the backend (connects, binds,
 * creates the pty ...) at once, as QEMU does: a server that is not there
 * fails here with QEMU's message. Returns the entry or NULL with err set. */
struct chardev_entry *chardev_set_add_opts(struct chardev_set *s, const char *opts,
                                           char *err, size_t errlen);
/* A -serial / -monitor style spec ("tcp:host:port,server=on", "pty",
 * "unix:path", "udp:...", "file:", "pipe:", "stdio", "mon:stdio", "null",
 * "chardev:ID", "/dev/ttyS0", "telnet:..."). label names it (serial0,
 * monitor0). *mon is set when the spec asked for the monitor on it ("mon:").
 * Returns NULL with err set. */
struct chardev_entry *chardev_set_add_spec(struct chardev_set *s, const char *spec,
                                           const char *label, bool mux, bool *mon,
                                           char *err, size_t errlen);
struct chardev_entry *chardev_set_find(struct chardev_set *s, const char *id);
void chardev_set_close_all(struct chardev_set *s);

/* The poll hook (struct poll_hook in hw/machine.h). */
void chardev_set_fill(void *opaque, struct pollfd *fds, int *nfds, int max,
                      uint64_t *timeout_ns);
void chardev_set_dispatch(void *opaque, struct pollfd *fds, int nfds);

/* For tests and the monitor. */
int chardev_be_port(struct chardev *chr);          /* a TCP server's bound port, else -1 */
bool chardev_be_connected(struct chardev *chr);
/* A ringbuf's contents, oldest first, consumed. Returns bytes copied. */
size_t chardev_ringbuf_read(struct chardev *chr, uint8_t *buf, size_t len);
/* Connection-oriented backends (sockets): cb runs each time a peer
 * connects (at once if one already is). False for other backends. */
bool chardev_be_on_connect(struct chardev *chr, void (*cb)(void *), void *opaque);
/* "socket", "pty", ... and a one-line description for `info chardev`. */
void chardev_be_describe(struct chardev *chr, char *buf, size_t len);

#endif
