/* Character backends as devices see them (UART, later virtio-console).
 * The interface lives in hw/ so devices need nothing from ui/; the backends
 * (stdio with the Ctrl-A mux, file:, none, test buffers) live in ui/. */
#ifndef HW_CHARDEV_H
#define HW_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct chardev {
    /* Output from the guest. May drop data if the backend cannot take it. */
    void (*write)(struct chardev *chr, const uint8_t *buf, size_t len);
    void (*close)(struct chardev *chr);
    /* Input to the guest: the frontend installs these; the backend calls
     * can_receive() for how many bytes the frontend takes now, then receive(). */
    int (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
    void *fe_opaque;
    const char *label;
    /* Backends with host input: the main loop polls in_fd and calls
     * read_ready() (device lock held) when it is readable. -1: no input. */
    int in_fd;
    void (*read_ready)(struct chardev *chr);
    /* Optional, set by the frontend: a break condition on the line (the
     * stdio mux's Ctrl-A B). Called like receive(), device lock held. */
    void (*fe_break)(void *opaque);
    /* Optional, set by the main loop: the frontend calls it (through
     * chardev_accept_input) when it has room again after can_receive()
     * said 0, so a loop that stopped polling in_fd resumes at once. */
    void (*accept_input)(void *opaque);
    void *accept_opaque;
};

static inline void chardev_accept_input(struct chardev *chr)
{
    if (chr && chr->accept_input)
        chr->accept_input(chr->accept_opaque);
}

static inline void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    if (chr && chr->write)
        chr->write(chr, buf, len);
}

static inline void chardev_set_frontend(struct chardev *chr, int (*can_receive)(void *),
                                        void (*receive)(void *, const uint8_t *, size_t),
                                        void *opaque)
{
    if (!chr) return;
    chr->can_receive = can_receive;
    chr->receive = receive;
    chr->fe_opaque = opaque;
}

/* Backend side: offer input; returns bytes taken. */
static inline size_t chardev_feed(struct chardev *chr, const uint8_t *buf, size_t len)
{
    if (!chr || !chr->receive || !chr->can_receive)
        return 0;
    int room = chr->can_receive(chr->fe_opaque);
    if (room <= 0)
        return 0;
    if ((size_t)room < len)
        len = (size_t)room;
    chr->receive(chr->fe_opaque, buf, len);
    return len;
}

#endif
