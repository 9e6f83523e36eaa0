/* User-mode networking (-netdev user): a libslirp instance behind
 * struct net_backend. The guest sees QEMU's layout: network 10.0.2.0/24,
 * gateway/host 10.0.2.2 (TCP/UDP to it reaches the host's loopback), DNS
 * 10.0.2.3 (forwarded to the host's resolver), DHCP handing out 10.0.2.15
 * first; IPv6 on by default (fec0::/64) as in QEMU.
 *
 * Threading: libslirp is not thread-safe. Every entry point here — net_send,
 * net_client_ready, the poll hook pair, the timers on the machine's clock —
 * must run with the device lock held, which is how the machine calls them.
 *
 * Delivery to the NIC: the client's receive() is never called while libslirp
 * is running. Frames it emits during net_send(), the poll dispatch or one of
 * its timers are queued and handed over right after it returns (so at the end
 * of net_send, the NIC may get the answer to what it just sent; a receive()
 * that itself calls net_send() is safe). Frames the NIC cannot take
 * (can_receive false) wait in a bounded queue until net_client_ready(); when
 * it is full they are dropped as on a wire, and TCP retransmits. */
#ifndef NET_SLIRP_H
#define NET_SLIRP_H

#include "net/net.h"
#include "hw/clock.h"
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>

#define NET_USER_MAX_HOSTFWD 16

struct net_hostfwd {
    bool udp;
    struct in_addr host_addr;   /* 127.0.0.1 when the rule leaves it empty */
    uint16_t host_port;
    struct in_addr guest_addr;  /* 0: the first DHCP address (10.0.2.15) */
    uint16_t guest_port;
    char spec[96];              /* the rule as written, for messages */
};

/* -netdev user options, already parsed (ui/netopt.c). */
struct net_user_config {
    bool restricted;            /* restrict=on: the guest cannot reach out */
    bool ipv4, ipv6;
    struct in_addr net, mask;   /* 10.0.2.0 / 255.255.255.0 */
    struct in_addr host;        /* 10.0.2.2 */
    struct in_addr dns;         /* 10.0.2.3 */
    struct in_addr dhcp_start;  /* 10.0.2.15 */
    char hostname[64];          /* DHCP option 12, empty: none */
    char domainname[64];        /* DHCP option 15, empty: none */
    char tftp[256], bootfile[128];
    struct net_hostfwd fwd[NET_USER_MAX_HOSTFWD];
    int nfwd;
};

/* QEMU's defaults (10.0.2.0/24, .2, .3, .15, IPv4 and IPv6 on). */
void net_user_config_default(struct net_user_config *c);
/* Checks the addresses belong together (host, dns, dhcp_start inside net,
 * not its network or broadcast address; forwards to guests inside net).
 * 0 or -1 with a message in err. */
int net_user_config_check(const struct net_user_config *c, char *err, size_t errlen);

/* The monitor's hostfwd_add / hostfwd_remove on a running stack. add: 0 or
 * -1 with a message; remove: 0, or -1 when no such rule was set. */
int net_slirp_hostfwd_add(struct net_backend *nb, const struct net_hostfwd *f,
                          char *err, size_t errlen);
int net_slirp_hostfwd_remove(struct net_backend *nb, bool udp, struct in_addr host_addr,
                             uint16_t host_port);

/* Creates the stack and binds every host forward. A forward whose port is
 * taken is an error naming the rule and the port; nothing is left bound.
 * `clock` is the machine's clock: libslirp's time and timers run on it.
 * `wake` is called when libslirp wants the main loop to poll again (a guest
 * frame may have opened a socket); NULL: use clock->notify, which in the
 * machine wakes the main loop. `log`: guest errors go there (NULL: quiet).
 * Returns NULL with a message in err. Free with nb->ops->close(nb). */
struct net_backend *net_slirp_new(const struct net_user_config *c, const char *id,
                                  struct clock *clock,
                                  void (*wake)(void *opaque), void *wake_opaque,
                                  FILE *log, char *err, size_t errlen);

/* The main-loop hook pair (machine_add_poll_hook(m, net_slirp_poll_fill,
 * net_slirp_poll_dispatch, nb)); opaque is the struct net_backend *.
 * fill appends libslirp's sockets and lowers *timeout_ns for its TCP timers
 * (never above 1 s while the stack is alive); dispatch must follow every fill. */
void net_slirp_poll_fill(void *opaque, struct pollfd *fds, int *nfds, int max,
                         uint64_t *timeout_ns);
void net_slirp_poll_dispatch(void *opaque, struct pollfd *fds, int nfds);

/* Counters, for tests and -d stats. */
struct net_slirp_stats {
    uint64_t tx_frames;         /* guest → slirp */
    uint64_t rx_frames;         /* slirp → guest, delivered */
    uint64_t rx_dropped;        /* queue full */
    uint64_t guest_errors;
};
void net_slirp_get_stats(struct net_backend *nb, struct net_slirp_stats *st);

#endif
