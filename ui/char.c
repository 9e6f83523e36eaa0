/* Character backends: stdio, file:, none. */
#include "ui/char.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fd_chardev {
    struct chardev chr;
    int out_fd;
};

static void fd_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct fd_chardev *c = (struct fd_chardev *)chr;
    while (len > 0) {
        ssize_t r = write(c->out_fd, buf, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        buf += r;
        len -= (size_t)r;
    }
}

static void fd_read_ready(struct chardev *chr)
{
    uint8_t buf[256];
    ssize_t r = read(chr->in_fd, buf, sizeof(buf));
    if (r <= 0) {
        chr->in_fd = -1;   /* EOF: stop polling */
        return;
    }
    chardev_feed(chr, buf, (size_t)r);
}

void chardev_restore_terminal(void) {}

struct chardev *chardev_open(const char *spec, bool mux, char *err, size_t errlen)
{
    (void)mux;
    struct fd_chardev *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->chr.in_fd = -1;
    c->chr.write = fd_write;
    c->chr.label = spec;
    if (!strncmp(spec, "mon:", 4))
        spec += 4;
    if (!strcmp(spec, "stdio")) {
        c->out_fd = 1;
        c->chr.in_fd = 0;
        c->chr.read_ready = fd_read_ready;
    } else if (!strncmp(spec, "file:", 5)) {
        c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->out_fd < 0) {
            snprintf(err, errlen, "cannot open '%s': %s", spec + 5, strerror(errno));
            free(c);
            return NULL;
        }
    } else if (!strcmp(spec, "none") || !strcmp(spec, "null")) {
        c->chr.write = NULL;
    } else {
        snprintf(err, errlen, "unsupported serial backend '%s' (stdio, file:PATH, none)", spec);
        free(c);
        return NULL;
    }
    return &c->chr;
}
