/* Character backends with a connection life: TCP/unix sockets (client,
 * server, reconnect, telnet), UDP, pty, pipe, host tty, file, ringbuf.
 * Behaviour follows QEMU's chardev/char-*.c as seen from outside (messages,
 * when a connect fails, who may connect when); written anew here.
 *
 * Every call runs with the device lock held: write() from the vCPU thread
 * (the frontend's transmit), fill/dispatch from the main loop. */
#include "ui/chardev_int.h"
#include "hw/clock.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define IN_CHUNK 256
#define PTY_RECHECK_NS (NS_PER_SEC / 2)   /* how often an unconnected pty is looked at */
#define THROTTLE_NS 5000000ULL            /* frontend full: look again soon */

enum be_kind { BE_SOCKET, BE_UDP, BE_PTY, BE_PIPE, BE_TTY, BE_FILE, BE_RINGBUF };

/* Telnet (RFC 854) input states: IAC commands are stripped. */
enum { TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC };
#define TN_IAC_BYTE 255
#define TN_SB_BYTE 250
#define TN_SE_BYTE 240

struct chardev_be {
    struct chardev chr;         /* first: the devices' view */
    enum be_kind kind;
    char label[64];
    char desc[160];             /* "tcp:127.0.0.1:4444,server=on" */
    int fd;                     /* data descriptor, -1: not connected */
    int out_fd;                 /* pipe/file: where output goes (else == fd) */
    int listen_fd;              /* server: -1 when not a server */
    bool connecting;            /* non-blocking connect in flight */
    bool is_unix, telnet, nodelay, server;
    int reconnect_s;
    uint64_t retry_at;          /* host monotonic ns of the next connect attempt */
    bool err_reported;          /* one message per outage, as QEMU */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int port;                   /* bound port of a TCP server */
    int tn_state;
    uint8_t in[IN_CHUNK];       /* read but not yet taken by the frontend */
    size_t in_len, in_off;
    uint8_t *out;               /* output the peer could not take yet */
    size_t out_len, out_cap;
    uint64_t dropped;
    bool pty_open;              /* a reader has the pty's slave side open */
    uint64_t pty_check_at;
    void (*on_connect)(void *);  /* the monitor's greeting */
    void *on_connect_opaque;
    uint8_t *ring;              /* ringbuf */
    size_t ring_size, ring_head, ring_len;
};

struct chardev *chardev_be_chr(struct chardev_be *be) { return &be->chr; }

static uint64_t now_ns(void) { return host_monotonic_ns(); }

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Output wants POLLOUT, or an idle backend changed: wake a sleeping loop.
 * The board's accept_input hook writes its wake pipe. */
static void wake_loop(struct chardev_be *b)
{
    chardev_accept_input(&b->chr);
}

static void be_disconnect(struct chardev_be *b, const char *why);

/* Send from out[] as far as the descriptor takes it. */
static void flush_out(struct chardev_be *b)
{
    int fd = b->out_fd;
    while (fd >= 0 && b->out_len > 0) {
        ssize_t r = b->kind == BE_SOCKET ? send(fd, b->out, b->out_len, MSG_NOSIGNAL)
                                         : write(fd, b->out, b->out_len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (b->kind == BE_PTY && errno == EIO) {   /* reader went away */
                b->pty_open = false;
                b->out_len = 0;
                return;
            }
            be_disconnect(b, strerror(errno));
            return;
        }
        memmove(b->out, b->out + r, b->out_len - (size_t)r);
        b->out_len -= (size_t)r;
    }
}

static bool be_is_connected(const struct chardev_be *b)
{
    if (b->kind == BE_RINGBUF)
        return true;
    if (b->kind == BE_PTY)
        return b->fd >= 0 && b->pty_open;
    return b->out_fd >= 0 && !b->connecting;
}

static void be_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (b->kind == BE_RINGBUF) {
        /* Keeps the newest ring_size bytes, as QEMU's ringbuf. */
        for (size_t i = 0; i < len; i++) {
            b->ring[(b->ring_head + b->ring_len) % b->ring_size] = buf[i];
            if (b->ring_len < b->ring_size)
                b->ring_len++;
            else
                b->ring_head = (b->ring_head + 1) % b->ring_size;
        }
        return;
    }
    if (!be_is_connected(b))
        return;                     /* QEMU drops output while disconnected too */
    if (b->kind == BE_UDP) {
        ssize_t r = send(b->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;                    /* datagrams: no peer, no retry */
        return;
    }
    if (b->out_len + len > CHARDEV_OUT_MAX) {
        b->dropped += len;
        return;
    }
    if (b->out_len + len > b->out_cap) {
        size_t cap = b->out_cap ? b->out_cap : 4096;
        while (cap < b->out_len + len)
            cap *= 2;
        uint8_t *n = realloc(b->out, cap);
        if (!n) {
            b->dropped += len;
            return;
        }
        b->out = n;
        b->out_cap = cap;
    }
    memcpy(b->out + b->out_len, buf, len);
    b->out_len += len;
    flush_out(b);
    if (b->out_len)
        wake_loop(b);               /* the loop must add POLLOUT for the rest */
}

/* Telnet: what the client negotiates is ignored; data bytes pass, IAC IAC
 * is one 255. Returns the new length of buf after stripping in place. */
static size_t telnet_strip(struct chardev_be *b, uint8_t *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        switch (b->tn_state) {
        case TN_DATA:
            if (c == TN_IAC_BYTE)
                b->tn_state = TN_IAC;
            else
                buf[o++] = c;
            break;
        case TN_IAC:
            if (c == TN_IAC_BYTE) {
                buf[o++] = c;
                b->tn_state = TN_DATA;
            } else if (c >= 251) {          /* WILL WONT DO DONT + option */
                b->tn_state = TN_OPT;
            } else if (c == TN_SB_BYTE) {
                b->tn_state = TN_SB;
            } else {
                b->tn_state = TN_DATA;      /* NOP, BRK, ... */
            }
            break;
        case TN_OPT:
            b->tn_state = TN_DATA;
            break;
        case TN_SB:
            if (c == TN_IAC_BYTE)
                b->tn_state = TN_SB_IAC;
            break;
        case TN_SB_IAC:
            b->tn_state = c == TN_SE_BYTE ? TN_DATA : TN_SB;
            break;
        }
    }
    return o;
}

static void deliver(struct chardev_be *b)
{
    while (b->in_off < b->in_len) {
        size_t n = chardev_feed(&b->chr, b->in + b->in_off, b->in_len - b->in_off);
        if (n == 0)
            return;
        b->in_off += n;
    }
    b->in_off = b->in_len = 0;
}

static int fe_room(struct chardev_be *b)
{
    if (!b->chr.can_receive || !b->chr.receive)
        return IN_CHUNK;            /* no frontend: read and discard */
    return b->chr.can_receive(b->chr.fe_opaque);
}

static void start_connect(struct chardev_be *b);

static void be_disconnect(struct chardev_be *b, const char *why)
{
    (void)why;
    if (b->fd >= 0)
        close(b->fd);
    if (b->out_fd >= 0 && b->out_fd != b->fd)
        close(b->out_fd);
    b->fd = b->out_fd = -1;
    b->connecting = false;
    b->out_len = 0;
    b->in_len = b->in_off = 0;
    b->tn_state = TN_DATA;
    b->err_reported = false;
    /* A server listens again (listen_fd is polled while fd < 0); a client
     * with reconnect=N tries again in N seconds. */
    if (b->kind == BE_SOCKET && !b->server && b->reconnect_s > 0)
        b->retry_at = now_ns() + (uint64_t)b->reconnect_s * NS_PER_SEC;
}

static void read_input(struct chardev_be *b)
{
    if (b->fd < 0 || b->in_len)
        return;
    int room = fe_room(b);
    if (room <= 0)
        return;
    size_t want = (size_t)room < IN_CHUNK ? (size_t)room : IN_CHUNK;
    ssize_t n = b->kind == BE_UDP ? recv(b->fd, b->in, IN_CHUNK, MSG_DONTWAIT)
                                  : read(b->fd, b->in, want);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (b->kind == BE_PTY && errno == EIO) {
            b->pty_open = false;        /* the last reader closed the slave */
            b->pty_check_at = now_ns() + PTY_RECHECK_NS;
            return;
        }
        if (b->kind == BE_UDP)
            return;                     /* ICMP port unreachable: keep going */
        be_disconnect(b, strerror(errno));
        return;
    }
    if (n == 0) {
        if (b->kind == BE_SOCKET)
            be_disconnect(b, "closed");
        else if (b->kind == BE_PIPE || b->kind == BE_FILE || b->kind == BE_TTY) {
            /* EOF on a file or pipe input: no more input, output stays. */
            if (b->fd != b->out_fd)
                close(b->fd);
            b->fd = -1;
        }
        return;
    }
    size_t len = (size_t)n;
    if (b->telnet)
        len = telnet_strip(b, b->in, len);
    b->in_len = len;
    b->in_off = 0;
    if (!b->chr.can_receive || !b->chr.receive)
        b->in_len = 0;                  /* nobody listens: dropped, as QEMU */
    deliver(b);
}

/* ---- sockets ---- */

/* A TCP client retrying a local port with no listener can connect to
 * itself (simultaneous open when the kernel picks that very port as the
 * source): that is no server, so it counts as refused. */
static bool self_connected(int fd)
{
    struct sockaddr_storage a, b;
    socklen_t al = sizeof(a), bl = sizeof(b);
    if (getsockname(fd, (struct sockaddr *)&a, &al) < 0 ||
        getpeername(fd, (struct sockaddr *)&b, &bl) < 0)
        return false;
    return a.ss_family != AF_UNIX && al == bl && !memcmp(&a, &b, al);
}

static int sock_connect_now(struct chardev_be *b, bool blocking, char *err, size_t errlen)
{
    int fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (!blocking)
        set_nonblock(fd);
    int r = connect(fd, (struct sockaddr *)&b->addr, b->addrlen);
    if (r < 0 && !(errno == EINPROGRESS && !blocking)) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (r == 0 && self_connected(fd)) {
        snprintf(err, errlen, "%s", strerror(ECONNREFUSED));
        close(fd);
        return -1;
    }
    if (blocking)
        set_nonblock(fd);
    if (!b->is_unix && b->nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    b->fd = b->out_fd = fd;
    b->connecting = r < 0;
    return 0;
}

static void start_connect(struct chardev_be *b)
{
    char err[128];
    b->retry_at = 0;
    if (sock_connect_now(b, false, err, sizeof(err)) < 0) {
        if (!b->err_reported) {
            fprintf(stderr, "tremu: Unable to connect character device %s: "
                    "Failed to connect to '%s': %s\n", b->label, b->desc, err);
            b->err_reported = true;
        }
        b->retry_at = now_ns() + (uint64_t)b->reconnect_s * NS_PER_SEC;
    }
}

/* A non-blocking connect finished (POLLOUT): success or a retry later. */
static void connect_done(struct chardev_be *b)
{
    int e = 0;
    socklen_t el = sizeof(e);
    if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
        e = errno;
    if (e == 0 && self_connected(b->fd))
        e = ECONNREFUSED;
    if (e == 0) {
        b->connecting = false;
        b->err_reported = false;
        if (b->on_connect)
            b->on_connect(b->on_connect_opaque);
        return;
    }
    close(b->fd);
    b->fd = b->out_fd = -1;
    b->connecting = false;
    if (!b->err_reported) {
        fprintf(stderr, "tremu: Unable to connect character device %s: "
                "Failed to connect to '%s': %s\n", b->label, b->desc, strerror(e));
        b->err_reported = true;
    }
    b->retry_at = now_ns() + (uint64_t)b->reconnect_s * NS_PER_SEC;
}

static void telnet_greet(struct chardev_be *b)
{
    /* As QEMU's server: character mode, the server echoes (nothing here
     * echoes but the guest, which is what a serial console does). */
    static const uint8_t greet[] = {
        255, 251, 1,    /* IAC WILL ECHO */
        255, 251, 3,    /* IAC WILL SUPPRESS-GO-AHEAD */
        255, 252, 34,   /* IAC DONT LINEMODE (sent as WONT, like QEMU) */
        255, 253, 0,    /* IAC DO BINARY */
        255, 251, 0,    /* IAC WILL BINARY */
    };
    be_write(&b->chr, greet, sizeof(greet));
}

static int accept_one(struct chardev_be *b)
{
    int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return -1;
    if (!b->is_unix && b->nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    b->fd = b->out_fd = fd;
    b->tn_state = TN_DATA;
    if (b->telnet)
        telnet_greet(b);
    if (b->on_connect)
        b->on_connect(b->on_connect_opaque);
    return 0;
}

static struct chardev_be *be_new(enum be_kind kind, const char *label)
{
    struct chardev_be *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->kind = kind;
    snprintf(b->label, sizeof(b->label), "%s", label ? label : "");
    b->chr.label = b->label;
    b->chr.in_fd = -1;      /* served by the set's poll hook, not the board */
    b->chr.write = be_write;
    b->fd = b->out_fd = b->listen_fd = -1;
    return b;
}

static void be_close(struct chardev *chr)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (b->kind == BE_SOCKET && b->out_len && b->fd >= 0 && !b->connecting) {
        /* Last words (e.g. "poweroff" output) reach the peer if it reads. */
        int fl = fcntl(b->fd, F_GETFL);
        if (fl >= 0)
            fcntl(b->fd, F_SETFL, fl & ~O_NONBLOCK);
        struct timeval tv = {1, 0};
        setsockopt(b->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        flush_out(b);
    }
    if (b->fd >= 0)
        close(b->fd);
    if (b->out_fd >= 0 && b->out_fd != b->fd)
        close(b->out_fd);
    if (b->listen_fd >= 0)
        close(b->listen_fd);
    if (b->is_unix && b->server) {
        struct sockaddr_un *su = (struct sockaddr_un *)&b->addr;
        unlink(su->sun_path);
    }
    free(b->out);
    free(b->ring);
    free(b);
}

static int resolve(const char *host, const char *port, bool ipv4, bool ipv6, bool passive,
                   int socktype, struct sockaddr_storage *ss, socklen_t *len,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = ipv4 && !ipv6 ? AF_INET : ipv6 && !ipv4 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    if (host && !*host)
        host = NULL;
    if (!host && !passive)
        host = hints.ai_family == AF_INET6 ? "::1" : "localhost";
    if (!port || !*port) {
        snprintf(err, errlen, "a port is required");
        return -1;
    }
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0 || !res) {
        snprintf(err, errlen, "address resolution failed for %s:%s: %s",
                 host ? host : "", port, gai_strerror(r));
        return -1;
    }
    /* A passive lookup with no host gives 0.0.0.0 first on Linux; prefer
     * IPv4 unless ipv6=on was asked, as QEMU does for "any". */
    struct addrinfo *pick = res;
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

struct chardev_be *chardev_socket_open(const char *label, const struct sock_opts *o,
                                       char *err, size_t errlen)
{
    struct chardev_be *b = be_new(BE_SOCKET, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    b->server = o->server;
    b->telnet = o->telnet;
    b->nodelay = o->nodelay;
    b->reconnect_s = o->server ? 0 : o->reconnect_s;
    if (o->path) {
        struct sockaddr_un *su = (struct sockaddr_un *)&b->addr;
        if (strlen(o->path) >= sizeof(su->sun_path)) {
            snprintf(err, errlen, "UNIX socket path '%s' is too long", o->path);
            goto fail;
        }
        su->sun_family = AF_UNIX;
        strcpy(su->sun_path, o->path);
        b->addrlen = sizeof(*su);
        b->is_unix = true;
        snprintf(b->desc, sizeof(b->desc), "%s", o->path);
    } else {
        if (resolve(o->host, o->port, o->ipv4, o->ipv6, o->server, SOCK_STREAM, &b->addr,
                    &b->addrlen, err, errlen) < 0)
            goto fail;
        snprintf(b->desc, sizeof(b->desc), "%s:%s",
                 o->host && *o->host ? o->host : (o->server ? "0.0.0.0" : "localhost"), o->port);
    }

    if (o->server) {
        int fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, errlen, "socket: %s", strerror(errno));
            goto fail;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (b->is_unix)
            unlink(((struct sockaddr_un *)&b->addr)->sun_path);
        if (bind(fd, (struct sockaddr *)&b->addr, b->addrlen) < 0) {
            snprintf(err, errlen, "Failed to bind socket%s%s: %s", b->is_unix ? " to " : "",
                     b->is_unix ? o->path : "", strerror(errno));
            close(fd);
            goto fail;
        }
        if (listen(fd, 1) < 0) {
            snprintf(err, errlen, "Failed to listen on socket: %s", strerror(errno));
            close(fd);
            goto fail;
        }
        b->listen_fd = fd;
        if (!b->is_unix) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                b->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
        }
        if (o->wait) {
            /* QEMU's server=on without wait=off blocks until a client comes. */
            printf("tremu: waiting for connection on: disconnected:%s:%s,server=on\n",
                   b->is_unix ? "unix" : o->telnet ? "telnet" : "tcp", b->desc);
            fflush(stdout);
            int c;
            do {
                c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            } while (c < 0 && errno == EINTR);
            if (c < 0) {
                snprintf(err, errlen, "accept: %s", strerror(errno));
                goto fail;
            }
            set_nonblock(c);
            b->fd = b->out_fd = c;
            if (b->telnet)
                telnet_greet(b);
        }
        set_nonblock(fd);
        return b;
    }
    if (b->reconnect_s > 0) {
        /* With reconnect=N, QEMU does not fail at start: it keeps trying. */
        start_connect(b);
        return b;
    }
    char cerr[128];
    if (sock_connect_now(b, true, cerr, sizeof(cerr)) < 0) {
        snprintf(err, errlen, "Failed to connect to '%s': %s", b->desc, cerr);
        goto fail;
    }
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

struct chardev_be *chardev_udp_open(const char *label, const struct udp_opts *o,
                                    char *err, size_t errlen)
{
    struct chardev_be *b = be_new(BE_UDP, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    if (resolve(o->host, o->port, o->ipv4, o->ipv6, false, SOCK_DGRAM, &b->addr, &b->addrlen,
                err, errlen) < 0)
        goto fail;
    snprintf(b->desc, sizeof(b->desc), "%s:%s", o->host && *o->host ? o->host : "localhost",
             o->port);
    int fd = socket(b->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    b->fd = b->out_fd = fd;
    if ((o->localaddr && *o->localaddr) || (o->localport && *o->localport)) {
        struct sockaddr_storage la;
        socklen_t ll;
        if (resolve(o->localaddr, o->localport && *o->localport ? o->localport : "0",
                    b->addr.ss_family == AF_INET, b->addr.ss_family == AF_INET6, true,
                    SOCK_DGRAM, &la, &ll, err, errlen) < 0)
            goto fail;
        if (bind(fd, (struct sockaddr *)&la, ll) < 0) {
            snprintf(err, errlen, "Failed to bind socket: %s", strerror(errno));
            goto fail;
        }
    }
    if (connect(fd, (struct sockaddr *)&b->addr, b->addrlen) < 0) {
        snprintf(err, errlen, "Failed to connect to '%s': %s", b->desc, strerror(errno));
        goto fail;
    }
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

static void make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
}

struct chardev_be *chardev_pty_open(const char *label, char *err, size_t errlen)
{
    struct chardev_be *b = be_new(BE_PTY, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
        snprintf(err, errlen, "Failed to create PTY: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    const char *name = ptsname(fd);
    snprintf(b->desc, sizeof(b->desc), "%s", name ? name : "?");
    make_raw(fd);
    set_nonblock(fd);
    b->fd = b->out_fd = fd;
    /* QEMU prints this on stdout; scripts read the path from it. */
    printf("char device redirected to %s (label %s)\n", b->desc, b->label);
    fflush(stdout);
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

struct chardev_be *chardev_pipe_open(const char *label, const char *path, char *err,
                                     size_t errlen)
{
    struct chardev_be *b = be_new(BE_PIPE, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    snprintf(b->desc, sizeof(b->desc), "%s", path);
    char in[4096], out[4096];
    snprintf(in, sizeof(in), "%s.in", path);
    snprintf(out, sizeof(out), "%s.out", path);
    /* O_RDWR on FIFOs: opening does not wait for the other side, and a
     * writer going away is no EOF (QEMU opens them the same way). */
    int fi = open(in, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    int fo = open(out, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fi < 0 || fo < 0) {
        if (fi >= 0) close(fi);
        if (fo >= 0) close(fo);
        fi = fo = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fi < 0) {
            snprintf(err, errlen, "Could not open '%s': %s", path, strerror(errno));
            goto fail;
        }
    }
    b->fd = fi;
    b->out_fd = fo;
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

struct chardev_be *chardev_tty_open(const char *label, const char *path, char *err,
                                    size_t errlen)
{
    struct chardev_be *b = be_new(BE_TTY, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    snprintf(b->desc, sizeof(b->desc), "%s", path);
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "Could not open '%s': %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a character device", path);
        close(fd);
        goto fail;
    }
    if (isatty(fd))
        make_raw(fd);
    b->fd = b->out_fd = fd;
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

struct chardev_be *chardev_file_open(const char *label, const char *path, bool append,
                                     const char *input_path, char *err, size_t errlen)
{
    struct chardev_be *b = be_new(BE_FILE, label);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    snprintf(b->desc, sizeof(b->desc), "%s", path);
    int fo = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fo < 0) {
        snprintf(err, errlen, "Could not open '%s': %s", path, strerror(errno));
        goto fail;
    }
    b->out_fd = fo;
    if (input_path) {
        int fi = open(input_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fi < 0) {
            snprintf(err, errlen, "Could not open '%s': %s", input_path, strerror(errno));
            goto fail;
        }
        b->fd = fi;
    }
    return b;
fail:
    be_close(&b->chr);
    return NULL;
}

struct chardev_be *chardev_ringbuf_open(const char *label, size_t size, char *err,
                                        size_t errlen)
{
    if (size == 0 || (size & (size - 1)) || size > (64u << 20)) {
        snprintf(err, errlen, "ringbuf size must be a power of two up to 64M");
        return NULL;
    }
    struct chardev_be *b = be_new(BE_RINGBUF, label);
    if (!b || !(b->ring = malloc(size))) {
        free(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->chr.close = be_close;
    b->ring_size = size;
    snprintf(b->desc, sizeof(b->desc), "ringbuf(%zu)", size);
    return b;
}

size_t chardev_ringbuf_read(struct chardev *chr, uint8_t *buf, size_t len)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (!chr || chr->write != be_write || b->kind != BE_RINGBUF)
        return 0;
    size_t n = 0;
    while (n < len && b->ring_len) {
        buf[n++] = b->ring[b->ring_head];
        b->ring_head = (b->ring_head + 1) % b->ring_size;
        b->ring_len--;
    }
    return n;
}

bool chardev_be_on_connect(struct chardev *chr, void (*cb)(void *), void *opaque)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (!chr || chr->write != be_write || b->kind != BE_SOCKET)
        return false;
    b->on_connect = cb;
    b->on_connect_opaque = opaque;
    if (be_is_connected(b))
        cb(opaque);
    return true;
}

int chardev_be_port(struct chardev *chr)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (!chr || chr->write != be_write || b->kind != BE_SOCKET || !b->server || b->is_unix)
        return -1;
    return b->port;
}

bool chardev_be_connected(struct chardev *chr)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    if (!chr || chr->write != be_write)
        return chr != NULL;
    return be_is_connected(b);
}

void chardev_be_describe(struct chardev *chr, char *buf, size_t len)
{
    struct chardev_be *b = (struct chardev_be *)chr;
    static const char *const names[] = {"socket", "udp", "pty", "pipe", "serial", "file",
                                         "ringbuf"};
    if (!chr || chr->write != be_write) {
        snprintf(buf, len, "%s", chr && chr->label ? chr->label : "null");
        return;
    }
    if (b->kind == BE_SOCKET)
        snprintf(buf, len, "%s:%s%s%s", b->is_unix ? "unix" : b->telnet ? "telnet" : "tcp",
                 b->desc, b->server ? ",server=on" : "",
                 be_is_connected(b) ? " (connected)" : " (disconnected)");
    else
        snprintf(buf, len, "%s:%s", names[b->kind], b->desc);
}

/* ---- the poll hook: one entry per backend descriptor ---- */

/* What this backend wants polled now; *timeout lowered for timers. */
static int be_fill(struct chardev_be *b, struct pollfd *p, int max, uint64_t now,
                   uint64_t *timeout)
{
    int n = 0;
    if (max < 2)
        return 0;
    if (b->kind == BE_SOCKET && !b->server && b->fd < 0 && b->reconnect_s > 0) {
        if (b->retry_at <= now)
            start_connect(b);
        if (b->fd < 0) {
            uint64_t d = b->retry_at > now ? b->retry_at - now : 0;
            if (d < *timeout)
                *timeout = d;
            return 0;
        }
    }
    if (b->kind == BE_SOCKET && b->server && b->fd < 0 && b->listen_fd >= 0) {
        p[n++] = (struct pollfd){.fd = b->listen_fd, .events = POLLIN};
        return n;
    }
    if (b->kind == BE_PTY && !b->pty_open) {
        /* Until something opens the slave, the master reports POLLHUP at
         * once: look at it on a slow timer instead of spinning. */
        if (b->pty_check_at <= now) {
            struct pollfd q = {.fd = b->fd, .events = POLLIN};
            if (poll(&q, 1, 0) >= 0 && !(q.revents & POLLHUP))
                b->pty_open = true;
            else
                b->pty_check_at = now + PTY_RECHECK_NS;
        }
        if (!b->pty_open) {
            uint64_t d = b->pty_check_at > now ? b->pty_check_at - now : 0;
            if (d < *timeout)
                *timeout = d;
            return 0;
        }
    }
    if (b->connecting) {
        p[n++] = (struct pollfd){.fd = b->fd, .events = POLLOUT};
        return n;
    }
    if (b->in_len)
        deliver(b);
    if (b->fd >= 0) {
        short ev = 0;
        if (!b->in_len && fe_room(b) > 0)
            ev |= POLLIN;
        else if (THROTTLE_NS < *timeout)
            *timeout = THROTTLE_NS;
        if (b->out_len && b->out_fd == b->fd)
            ev |= POLLOUT;
        /* Sockets: poll even with no events wanted, to see the hangup. */
        if (ev || b->kind == BE_SOCKET)
            p[n++] = (struct pollfd){.fd = b->fd, .events = ev};
    }
    if (b->out_len && b->out_fd >= 0 && b->out_fd != b->fd)
        p[n++] = (struct pollfd){.fd = b->out_fd, .events = POLLOUT};
    return n;
}

static void be_dispatch(struct chardev_be *b, struct pollfd *p, int n)
{
    for (int i = 0; i < n; i++) {
        short re = p[i].revents;
        if (!re)
            continue;
        if (p[i].fd == b->listen_fd && b->fd < 0) {
            accept_one(b);
            continue;
        }
        if (p[i].fd != b->fd && p[i].fd != b->out_fd)
            continue;               /* closed and reused meanwhile */
        if (b->connecting && p[i].fd == b->fd) {
            connect_done(b);
            continue;
        }
        if (re & POLLOUT)
            flush_out(b);
        if (b->fd >= 0 && p[i].fd == b->fd && (re & (POLLIN | POLLHUP | POLLERR)))
            read_input(b);
        if (b->fd >= 0 && p[i].fd == b->fd && (re & (POLLHUP | POLLERR)) && !(re & POLLIN)) {
            if (b->kind == BE_SOCKET)
                be_disconnect(b, "hangup");
            else if (b->kind == BE_PTY) {
                b->pty_open = false;
                b->pty_check_at = now_ns() + PTY_RECHECK_NS;
            }
        }
    }
}

void chardev_set_fill(void *opaque, struct pollfd *fds, int *nfds, int max,
                      uint64_t *timeout_ns)
{
    struct chardev_set *s = opaque;
    uint64_t now = now_ns();
    int n = 0;
    for (int i = 0; i < s->n && i < CHARDEV_MAX; i++) {
        s->slice_start[i] = n;
        s->slice_n[i] = 0;
        if (!s->e[i].be)
            continue;
        uint64_t t = *timeout_ns;
        int k = be_fill(s->e[i].be, &fds[n], max - n, now, &t);
        if (t < *timeout_ns)
            *timeout_ns = t;
        s->slice_n[i] = k;
        n += k;
    }
    *nfds = n;
}

void chardev_set_dispatch(void *opaque, struct pollfd *fds, int nfds)
{
    struct chardev_set *s = opaque;
    for (int i = 0; i < s->n && i < CHARDEV_MAX; i++) {
        if (!s->e[i].be || s->slice_start[i] + s->slice_n[i] > nfds)
            continue;
        be_dispatch(s->e[i].be, &fds[s->slice_start[i]], s->slice_n[i]);
    }
}
