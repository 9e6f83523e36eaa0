/* -netdev user: libslirp behind struct net_backend (see net/slirp.h).
 * libslirp does the TCP/IP work; this file adapts its callbacks to tremu's
 * clock, main loop and NIC interface, and turns its failures into messages. */
#include "net/slirp.h"
#include <libslirp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Frames waiting for the NIC. libslirp keeps at most ~128 KiB in flight per
 * TCP connection (its send buffer, bounded by the guest's window), so this
 * covers dozens of busy connections; QEMU's own queue is similarly generous.
 * Dropping here costs a TCP retransmission timeout, so err on the large side. */
#define RXQ_LEN 4096
#define MAX_FRAME 65536         /* libslirp never emits more than its MRU + 14 */

struct rx_frame {
    uint8_t *data;
    size_t len;
};

struct net_slirp;
struct slirp_timer {
    struct timer t;
    struct net_slirp *owner;
    SlirpTimerCb cb;
    void *cb_opaque;
};

struct net_slirp {
    struct net_backend nb;      /* first: the ops cast back */
    Slirp *slirp;
    struct clock *clock;
    void (*wake)(void *opaque);
    void *wake_opaque;
    FILE *log;
    char id[64];

    /* Frames to the guest that could not be delivered yet. */
    struct rx_frame rxq[RXQ_LEN];
    unsigned rx_head, rx_count;
    bool in_slirp;              /* libslirp is running: defer delivery */
    bool wake_pending;          /* woke the loop, its next fill not yet run */
    bool flushing;

    /* The slice of the main loop's pollfd array handed to fill/dispatch. */
    struct pollfd *pfds;
    int npfds, max_pfds;

    struct net_slirp_stats stats;
};

static struct net_slirp *to_ns(struct net_backend *nb)
{
    return (struct net_slirp *)nb;
}

/* ---- configuration ---- */

static struct in_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct in_addr r;
    r.s_addr = htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
    return r;
}

void net_user_config_default(struct net_user_config *c)
{
    memset(c, 0, sizeof(*c));
    c->ipv4 = true;
    c->ipv6 = true;             /* QEMU's default; ipv6=off turns it off */
    c->net = ip4(10, 0, 2, 0);
    c->mask = ip4(255, 255, 255, 0);
    c->host = ip4(10, 0, 2, 2);
    c->dns = ip4(10, 0, 2, 3);
    c->dhcp_start = ip4(10, 0, 2, 15);
}

static int check_in_net(const struct net_user_config *c, struct in_addr a,
                        const char *what, char *err, size_t errlen)
{
    uint32_t m = ntohl(c->mask.s_addr), n = ntohl(c->net.s_addr), x = ntohl(a.s_addr);
    char buf[INET_ADDRSTRLEN], nbuf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    inet_ntop(AF_INET, &c->net, nbuf, sizeof(nbuf));
    if ((x & m) != n) {
        snprintf(err, errlen, "%s %s is outside the guest network %s/%d",
                 what, buf, nbuf, __builtin_popcount(m));
        return -1;
    }
    if (x == n || x == (n | ~m)) {
        snprintf(err, errlen, "%s %s is the network or broadcast address", what, buf);
        return -1;
    }
    return 0;
}

int net_user_config_check(const struct net_user_config *c, char *err, size_t errlen)
{
    uint32_t m = ntohl(c->mask.s_addr);
    /* A contiguous mask leaving room for network, host, DNS, broadcast. */
    if ((m & (~m >> 1)) != 0 || m == 0 || (~m) < 3) {
        snprintf(err, errlen, "bad guest network mask");
        return -1;
    }
    if (c->net.s_addr & ~c->mask.s_addr) {
        snprintf(err, errlen, "guest network address has host bits set");
        return -1;
    }
    if (!c->ipv4) {
        snprintf(err, errlen, "ipv4=off is not supported");
        return -1;
    }
    if (check_in_net(c, c->host, "host address", err, errlen) ||
        check_in_net(c, c->dns, "DNS address", err, errlen) ||
        check_in_net(c, c->dhcp_start, "DHCP start address", err, errlen))
        return -1;
    if (c->host.s_addr == c->dns.s_addr) {
        snprintf(err, errlen, "host and DNS addresses must differ");
        return -1;
    }
    if (c->nfwd < 0 || c->nfwd > NET_USER_MAX_HOSTFWD) {
        snprintf(err, errlen, "too many hostfwd rules (at most %d)", NET_USER_MAX_HOSTFWD);
        return -1;
    }
    for (int i = 0; i < c->nfwd; i++) {
        const struct net_hostfwd *f = &c->fwd[i];
        if (!f->host_port || !f->guest_port) {
            snprintf(err, errlen, "hostfwd '%s': port 0", f->spec);
            return -1;
        }
        if (f->guest_addr.s_addr) {
            char what[128];
            snprintf(what, sizeof(what), "hostfwd '%s': guest address", f->spec);
            if (check_in_net(c, f->guest_addr, what, err, errlen))
                return -1;
        }
    }
    return 0;
}

/* ---- frames to the guest ---- */

static bool client_can_take(struct net_slirp *s)
{
    struct net_client *c = &s->nb.client;
    return c->receive && (!c->can_receive || c->can_receive(c->opaque));
}

static void rxq_flush(struct net_slirp *s)
{
    if (s->flushing)
        return;
    s->flushing = true;
    while (s->rx_count && client_can_take(s)) {
        struct rx_frame f = s->rxq[s->rx_head];
        s->rx_head = (s->rx_head + 1) % RXQ_LEN;
        s->rx_count--;
        s->nb.client.receive(s->nb.client.opaque, f.data, f.len);
        s->stats.rx_frames++;
        free(f.data);
    }
    s->flushing = false;
}

static void rxq_push(struct net_slirp *s, const void *buf, size_t len)
{
    uint8_t *copy = (s->rx_count < RXQ_LEN) ? malloc(len) : NULL;
    if (!copy) {
        s->stats.rx_dropped++;
        return;
    }
    memcpy(copy, buf, len);
    s->rxq[(s->rx_head + s->rx_count) % RXQ_LEN] = (struct rx_frame){copy, len};
    s->rx_count++;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    if (len == 0 || len > MAX_FRAME)
        return (ssize_t)len;
    if (!s->nb.client.receive) {
        /* No NIC attached: the wire is cut. */
        s->stats.rx_dropped++;
        return (ssize_t)len;
    }
    if (s->in_slirp || s->rx_count || !client_can_take(s)) {
        rxq_push(s, buf, len);
    } else {
        s->nb.client.receive(s->nb.client.opaque, buf, len);
        s->stats.rx_frames++;
    }
    /* Dropping is fine for libslirp: TCP retransmits at a lower pace. */
    return (ssize_t)len;
}

/* ---- the other libslirp callbacks ---- */

static void cb_guest_error(const char *msg, void *opaque)
{
    struct net_slirp *s = opaque;
    s->stats.guest_errors++;
    if (s->log)
        fprintf(s->log, "tremu: -netdev user,id=%s: guest error: %s\n", s->id, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    struct net_slirp *s = opaque;
    return (int64_t)clock_ns(s->clock);
}

static void slirp_timer_fire(void *opaque)
{
    struct slirp_timer *t = opaque;
    struct net_slirp *s = t->owner;
    bool nested = s->in_slirp;
    s->in_slirp = true;
    t->cb(t->cb_opaque);
    s->in_slirp = nested;
    if (!nested)
        rxq_flush(s);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct net_slirp *s = opaque;
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        abort();    /* libslirp cannot handle a NULL timer */
    t->owner = s;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    timer_init(&t->t, s->clock, slirp_timer_fire, t);
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct slirp_timer *t = timer;
    if (!t)
        return;
    timer_del(&t->t);
    free(t);
}

/* expire_time is in milliseconds on the clock cb_clock_get_ns reads. */
static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct slirp_timer *t = timer;
    if (expire_ms < 0)
        expire_ms = 0;
    if ((uint64_t)expire_ms > (CLOCK_NEVER - 1) / 1000000)
        expire_ms = (int64_t)((CLOCK_NEVER - 1) / 1000000);
    timer_mod(&t->t, (uint64_t)expire_ms * 1000000);
}

/* Windows-only in practice: on POSIX every socket is reported by fill. */
static void cb_register_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void cb_unregister_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }

static void net_slirp_wake(struct net_slirp *s)
{
    if (s->wake)
        s->wake(s->wake_opaque);
    else if (s->clock->notify)
        s->clock->notify(s->clock->notify_opaque);
}

static void cb_notify(void *opaque)
{
    net_slirp_wake(opaque);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

/* ---- the main-loop hook ---- */

static short slirp_to_poll(int ev)
{
    short r = 0;
    if (ev & SLIRP_POLL_IN)  r |= POLLIN;
    if (ev & SLIRP_POLL_OUT) r |= POLLOUT;
    if (ev & SLIRP_POLL_PRI) r |= POLLPRI;
    if (ev & SLIRP_POLL_ERR) r |= POLLERR;
    if (ev & SLIRP_POLL_HUP) r |= POLLHUP;
    return r;
}

static int poll_to_slirp(short ev)
{
    int r = 0;
    if (ev & POLLIN)  r |= SLIRP_POLL_IN;
    if (ev & POLLOUT) r |= SLIRP_POLL_OUT;
    if (ev & POLLPRI) r |= SLIRP_POLL_PRI;
    if (ev & (POLLERR | POLLNVAL)) r |= SLIRP_POLL_ERR;
    if (ev & POLLHUP) r |= SLIRP_POLL_HUP;
    return r;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    /* Out of room: this socket is not polled this round (libslirp skips
     * index -1) and gets its turn when the others have gone. */
    if (s->npfds >= s->max_pfds)
        return -1;
    s->pfds[s->npfds] = (struct pollfd){.fd = fd, .events = slirp_to_poll(events)};
    return s->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    if (idx < 0 || idx >= s->npfds)
        return 0;
    return poll_to_slirp(s->pfds[idx].revents);
}

void net_slirp_poll_fill(void *opaque, struct pollfd *fds, int *nfds, int max,
                         uint64_t *timeout_ns)
{
    struct net_slirp *s = to_ns(opaque);
    s->wake_pending = false;
    s->pfds = fds;
    s->npfds = 0;
    s->max_pfds = max > 0 ? max : 0;
    uint32_t ms = UINT32_MAX;
    if (*timeout_ns != CLOCK_NEVER) {
        uint64_t m = (*timeout_ns + 999999) / 1000000;
        ms = m < UINT32_MAX ? (uint32_t)m : UINT32_MAX - 1;
    }
    slirp_pollfds_fill(s->slirp, &ms, cb_add_poll, s);
    if (ms != UINT32_MAX) {
        uint64_t ns = (uint64_t)ms * 1000000;
        if (ns < *timeout_ns)
            *timeout_ns = ns;
    }
    *nfds = s->npfds;
}

void net_slirp_poll_dispatch(void *opaque, struct pollfd *fds, int nfds)
{
    struct net_slirp *s = to_ns(opaque);
    s->pfds = fds;
    if (nfds < s->npfds)
        s->npfds = nfds < 0 ? 0 : nfds;
    s->in_slirp = true;
    slirp_pollfds_poll(s->slirp, 0, cb_get_revents, s);
    s->in_slirp = false;
    s->pfds = NULL;
    s->npfds = 0;
    rxq_flush(s);
}

/* ---- struct net_backend ---- */

static void ns_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_slirp *s = to_ns(nb);
    /* 14-byte Ethernet header at least; libslirp takes an int length. */
    if (len < 14 || len > MAX_FRAME)
        return;
    s->stats.tx_frames++;
    s->in_slirp = true;
    slirp_input(s->slirp, frame, (int)len);
    s->in_slirp = false;
    rxq_flush(s);
    /* The frame may have opened a socket (a guest connect()) or armed a TCP
     * timer, which the sleeping main loop must take into account now, not at
     * its next timeout. One wake per loop iteration is enough: the fill that
     * follows it sees everything sent until then (all under the lock). */
    if (!s->wake_pending) {
        s->wake_pending = true;
        net_slirp_wake(s);
    }
}

static void ns_client_ready(struct net_backend *nb)
{
    rxq_flush(to_ns(nb));
}

static void ns_close(struct net_backend *nb)
{
    struct net_slirp *s = to_ns(nb);
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->rx_count) {
        free(s->rxq[s->rx_head].data);
        s->rx_head = (s->rx_head + 1) % RXQ_LEN;
        s->rx_count--;
    }
    free(s);
}

static const struct net_backend_ops net_slirp_ops = {
    .send = ns_send,
    .client_ready = ns_client_ready,
    .close = ns_close,
};

void net_slirp_get_stats(struct net_backend *nb, struct net_slirp_stats *st)
{
    *st = to_ns(nb)->stats;
}

static int add_forward(struct net_slirp *s, const struct net_hostfwd *f,
                       char *err, size_t errlen)
{
    errno = 0;
    if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port,
                          f->guest_addr, f->guest_port) == 0)
        return 0;
    int e = errno;
    char why[128];
    if (e == EADDRINUSE)
        snprintf(why, sizeof(why), "port %u is in use", f->host_port);
    else if (e == EACCES)
        snprintf(why, sizeof(why), "port %u: permission denied%s", f->host_port,
                 f->host_port < 1024 ? " (ports below 1024 need privileges)" : "");
    else if (e == EADDRNOTAVAIL) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &f->host_addr, a, sizeof(a));
        snprintf(why, sizeof(why), "%s is not an address of this host", a);
    } else if (e)
        snprintf(why, sizeof(why), "port %u: %s", f->host_port, strerror(e));
    else
        snprintf(why, sizeof(why), "port %u could not be bound", f->host_port);
    snprintf(err, errlen, "-netdev user,id=%s: could not set up host forwarding rule '%s': %s",
             s->id, f->spec, why);
    return -1;
}

int net_slirp_hostfwd_add(struct net_backend *nb, const struct net_hostfwd *f,
                          char *err, size_t errlen)
{
    return add_forward(to_ns(nb), f, err, errlen);
}

int net_slirp_hostfwd_remove(struct net_backend *nb, bool udp, struct in_addr host_addr,
                             uint16_t host_port)
{
    return slirp_remove_hostfwd(to_ns(nb)->slirp, udp, host_addr, host_port) == 0 ? 0 : -1;
}

struct net_backend *net_slirp_new(const struct net_user_config *c, const char *id,
                                  struct clock *clock,
                                  void (*wake)(void *opaque), void *wake_opaque,
                                  FILE *log, char *err, size_t errlen)
{
    char why[256];
    if (net_user_config_check(c, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "-netdev user,id=%s: %s", id ? id : "", why);
        return NULL;
    }
    struct net_slirp *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "-netdev user: out of memory");
        return NULL;
    }
    s->nb.ops = &net_slirp_ops;
    snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
    s->nb.id = s->id;
    s->clock = clock;
    s->wake = wake;
    s->wake_opaque = wake_opaque;
    s->log = log;

    SlirpConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version = 4;
    cfg.restricted = c->restricted;
    cfg.in_enabled = c->ipv4;
    cfg.vnetwork = c->net;
    cfg.vnetmask = c->mask;
    cfg.vhost = c->host;
    cfg.in6_enabled = c->ipv6;
    /* QEMU's IPv6 defaults: site-local fec0::/64, host ::2, DNS ::3. */
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    cfg.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
    cfg.vhostname = c->hostname[0] ? c->hostname : NULL;
    cfg.tftp_path = c->tftp[0] ? c->tftp : NULL;
    cfg.bootfile = c->bootfile[0] ? c->bootfile : NULL;
    cfg.vdhcp_start = c->dhcp_start;
    cfg.vnameserver = c->dns;
    cfg.vdomainname = c->domainname[0] ? c->domainname : NULL;
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
    if (!s->slirp) {
        snprintf(err, errlen, "-netdev user,id=%s: libslirp could not start", s->id);
        free(s);
        return NULL;
    }
    for (int i = 0; i < c->nfwd; i++) {
        if (add_forward(s, &c->fwd[i], err, errlen) < 0) {
            ns_close(&s->nb);   /* closes the rules already bound */
            return NULL;
        }
    }
    return &s->nb;
}
