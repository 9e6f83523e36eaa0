/* Between the chardev option parser (ui/chardev_opt.c) and the backends
 * (ui/chardev_be.c). Not for devices or the rest of ui/. */
#ifndef UI_CHARDEV_INT_H
#define UI_CHARDEV_INT_H

#include "ui/chardev_be.h"

struct sock_opts {
    const char *host;       /* NULL/"": any (server) or localhost (client) */
    const char *port;       /* TCP port (string, as getaddrinfo wants) */
    const char *path;       /* unix socket path (then host/port unused) */
    bool server, wait, telnet, nodelay;
    bool ipv4, ipv6;
    int reconnect_s;        /* client: seconds between attempts, 0: never */
};

struct udp_opts {
    const char *host, *port;            /* remote */
    const char *localaddr, *localport;  /* optional */
    bool ipv4, ipv6;
};

struct chardev_be *chardev_socket_open(const char *label, const struct sock_opts *o,
                                       char *err, size_t errlen);
struct chardev_be *chardev_udp_open(const char *label, const struct udp_opts *o,
                                    char *err, size_t errlen);
struct chardev_be *chardev_pty_open(const char *label, char *err, size_t errlen);
/* pipe: PATH.in and PATH.out when both exist, else PATH both ways. */
struct chardev_be *chardev_pipe_open(const char *label, const char *path, char *err,
                                     size_t errlen);
/* A host serial line or any character device, both ways. */
struct chardev_be *chardev_tty_open(const char *label, const char *path, char *err,
                                    size_t errlen);
/* Output to a file (truncated, or appended); input from input_path if set. */
struct chardev_be *chardev_file_open(const char *label, const char *path, bool append,
                                     const char *input_path, char *err, size_t errlen);
struct chardev_be *chardev_ringbuf_open(const char *label, size_t size, char *err,
                                        size_t errlen);
struct chardev *chardev_be_chr(struct chardev_be *be);

#endif
