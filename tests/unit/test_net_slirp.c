/* -netdev user (net/slirp.c): hand-built guest frames go in through
 * net_send, libslirp's answers come back through the NIC's receive callback;
 * host forwards are checked on real sockets. */
#include "test.h"
#include "net/slirp.h"
#include "hw/machine.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- a NIC that records what it receives ---- */

#define CAP_FRAMES 64
struct cap_nic {
    uint8_t frame[CAP_FRAMES][2048];
    size_t len[CAP_FRAMES];
    int n;
    bool full;              /* can_receive() answer is !full */
};

static bool cap_can_receive(void *opaque)
{
    struct cap_nic *c = opaque;
    return !c->full;
}

static void cap_receive(void *opaque, const uint8_t *f, size_t len)
{
    struct cap_nic *c = opaque;
    if (c->n >= CAP_FRAMES)
        return;
    if (len > sizeof(c->frame[0]))
        len = sizeof(c->frame[0]);
    memcpy(c->frame[c->n], f, len);
    c->len[c->n++] = len;
}

static void cap_attach(struct net_backend *nb, struct cap_nic *c)
{
    memset(c, 0, sizeof(*c));
    struct net_client cl = {cap_can_receive, cap_receive, c};
    net_set_client(nb, &cl);
}

/* ---- frame building ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint32_t ip(int a, int b, int c, int d) { return (uint32_t)a << 24 | b << 16 | c << 8 | d; }

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t eth_hdr(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
    return 14;
}

/* IPv4 header at p for a payload of plen bytes. */
static void ip_hdr(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t plen)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(20 + plen));
    put16(p + 4, 0x1234);
    p[8] = 64;
    p[9] = proto;
    put32(p + 12, src);
    put32(p + 16, dst);
    put16(p + 10, csum_fold(csum_add(0, p, 20)));
}

static size_t build_arp_request(uint8_t *f, const uint8_t *mac, uint32_t sip, uint32_t tip)
{
    size_t n = eth_hdr(f, bcast_mac, mac, 0x0806);
    uint8_t *a = f + n;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, mac, 6);
    put32(a + 14, sip);
    memset(a + 18, 0, 6);
    put32(a + 24, tip);
    return n + 28;
}

static size_t build_arp_reply(uint8_t *f, const uint8_t *mac, uint32_t sip,
                              const uint8_t *tmac, uint32_t tip)
{
    size_t n = eth_hdr(f, tmac, mac, 0x0806);
    uint8_t *a = f + n;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 2);
    memcpy(a + 8, mac, 6);
    put32(a + 14, sip);
    memcpy(a + 18, tmac, 6);
    put32(a + 24, tip);
    return n + 28;
}

/* DHCP (RFC 2131) message of type `type` from `mac`, broadcast. */
static size_t build_dhcp(uint8_t *f, const uint8_t *mac, uint32_t xid, uint8_t type,
                         uint32_t requested)
{
    size_t n = eth_hdr(f, bcast_mac, mac, 0x0800);
    uint8_t *ipp = f + n, *udp = ipp + 20, *b = udp + 8;
    memset(b, 0, 300);
    b[0] = 1;       /* BOOTREQUEST */
    b[1] = 1;       /* Ethernet */
    b[2] = 6;
    put32(b + 4, xid);
    memcpy(b + 28, mac, 6);
    put32(b + 236, 0x63825363);
    uint8_t *o = b + 240;
    *o++ = 53; *o++ = 1; *o++ = type;
    if (requested) {
        *o++ = 50; *o++ = 4;
        put32(o, requested);
        o += 4;
    }
    *o++ = 255;
    size_t blen = 300;
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)(8 + blen));
    put16(udp + 6, 0);      /* no UDP checksum: allowed over IPv4 */
    ip_hdr(ipp, 17, 0, 0xffffffff, 8 + blen);
    return n + 20 + 8 + blen;
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

static size_t build_tcp(uint8_t *f, const uint8_t *dmac, uint32_t src, uint16_t sport,
                        uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, const void *data, size_t dlen)
{
    size_t n = eth_hdr(f, dmac, guest_mac, 0x0800);
    uint8_t *ipp = f + n, *t = ipp + 20;
    memset(t, 0, 20);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    memcpy(t + 20, data, dlen);
    uint8_t pseudo[12];
    put32(pseudo, src);
    put32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint16_t)(20 + dlen));
    put16(t + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), t, 20 + dlen)));
    ip_hdr(ipp, 6, src, dst, 20 + dlen);
    return n + 20 + 20 + dlen;
}

/* ---- driving the stack ---- */

/* One main-loop pass for the backend alone, at most max_ms long. */
static void pump(struct net_backend *nb, int max_ms)
{
    struct pollfd fds[64];
    int n = 0;
    uint64_t timeout = (uint64_t)max_ms * 1000000;
    net_slirp_poll_fill(nb, fds, &n, 64, &timeout);
    int r = poll(fds, (nfds_t)n, (int)(timeout / 1000000));
    if (r < 0)
        for (int i = 0; i < n; i++)
            fds[i].revents = 0;
    net_slirp_poll_dispatch(nb, fds, n);
}

static const uint8_t *frame_eth_ip(const struct cap_nic *c, int i, uint8_t proto)
{
    if (c->len[i] < 34 || get16(c->frame[i] + 12) != 0x0800)
        return NULL;
    const uint8_t *p = c->frame[i] + 14;
    if ((p[0] >> 4) != 4 || p[9] != proto)
        return NULL;
    return p;
}

/* Index of the first frame from `from` on that is an ARP request for tip. */
static int find_arp_request(const struct cap_nic *c, int from, uint32_t tip)
{
    for (int i = from; i < c->n; i++) {
        const uint8_t *a = c->frame[i] + 14;
        if (c->len[i] >= 42 && get16(c->frame[i] + 12) == 0x0806 &&
            get16(a + 6) == 1 && get32(a + 24) == tip)
            return i;
    }
    return -1;
}

static int find_tcp(const struct cap_nic *c, int from, uint16_t dport, uint8_t flags_set)
{
    for (int i = from; i < c->n; i++) {
        const uint8_t *p = frame_eth_ip(c, i, 6);
        if (!p)
            continue;
        const uint8_t *t = p + (p[0] & 15) * 4;
        if (get16(t + 2) == dport && (t[13] & flags_set) == flags_set)
            return i;
    }
    return -1;
}

static const uint8_t *tcp_of(const struct cap_nic *c, int i)
{
    const uint8_t *p = c->frame[i] + 14;
    return p + (p[0] & 15) * 4;
}

/* A free TCP port on 127.0.0.1 (bound then released). */
static uint16_t free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) < 0) {
        if (s >= 0)
            close(s);
        return 0;
    }
    close(s);
    return ntohs(a.sin_port);
}

static int listen_on(uint32_t addr, uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr),
                            .sin_port = htons(*port)};
    socklen_t l = sizeof(a);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) < 0) {
        close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

static void add_fwd(struct net_user_config *c, bool udp, uint32_t haddr, uint16_t hport,
                    uint16_t gport)
{
    struct net_hostfwd *f = &c->fwd[c->nfwd++];
    memset(f, 0, sizeof(*f));
    f->udp = udp;
    f->host_addr.s_addr = htonl(haddr);
    f->host_port = hport;
    f->guest_port = gport;
    snprintf(f->spec, sizeof(f->spec), "%s::%u-:%u", udp ? "udp" : "tcp", hport, gport);
}

/* The local address of this process's listening socket on `port`, found by
 * getsockname on every descriptor: libslirp keeps its sockets to itself. */
static int bound_addr_of_port(uint16_t port, int type, uint32_t *addr)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d))
            continue;
        struct sockaddr_in a;
        socklen_t l = sizeof(a);
        int t;
        socklen_t tl = sizeof(t);
        if (getsockname(fd, (struct sockaddr *)&a, &l) < 0 || a.sin_family != AF_INET ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0 || t != type)
            continue;
        if (ntohs(a.sin_port) == port) {
            *addr = ntohl(a.sin_addr.s_addr);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

static struct net_backend *new_backend(const struct net_user_config *c, struct clock *clk,
                                       char *err, size_t errlen)
{
    return net_slirp_new(c, "n0", clk, NULL, NULL, NULL, err, errlen);
}

/* ---- tests ---- */

TEST(net_slirp_arp_gateway_and_dns)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];

    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(cap->n, 1);
    if (cap->n >= 1) {
        const uint8_t *r = cap->frame[0];
        CHECK(!memcmp(r, guest_mac, 6));
        CHECK_EQ(get16(r + 12), 0x0806);
        CHECK_EQ(get16(r + 14 + 6), 2);                 /* reply */
        CHECK_EQ(get32(r + 14 + 14), ip(10, 0, 2, 2));  /* sender: the gateway */
        CHECK(!memcmp(r + 14 + 18, guest_mac, 6));
        CHECK_EQ(get32(r + 14 + 24), ip(10, 0, 2, 15));
        /* libslirp's virtual MAC: 52:55 then the IP address. */
        CHECK_EQ(r[14 + 8], 0x52);
        CHECK_EQ(r[14 + 9], 0x55);
    }
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 3)));
    CHECK_EQ(cap->n, 2);
    if (cap->n >= 2)
        CHECK_EQ(get32(cap->frame[1] + 14 + 14), ip(10, 0, 2, 3));
    /* Nobody lives at .99: no answer, as on a real wire. */
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 99)));
    CHECK_EQ(cap->n, 2);
    /* Runts and oversized frames are dropped without reaching libslirp. */
    net_send(nb, f, 10);
    net_send(nb, f, 0);
    struct net_slirp_stats st;
    net_slirp_get_stats(nb, &st);
    CHECK_EQ(st.tx_frames, 3);
    CHECK_EQ(st.rx_frames, 2);
    nb->ops->close(nb);
    free(cap);
}

/* The DHCP options area of a BOOTP reply at b (len bytes): option `code`. */
static const uint8_t *dhcp_opt(const uint8_t *b, size_t len, uint8_t code, uint8_t *olen)
{
    if (len < 240 || get32(b + 236) != 0x63825363)
        return NULL;
    size_t i = 240;
    while (i < len && b[i] != 255) {
        if (b[i] == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + b[i + 1] > len)
            return NULL;
        if (b[i] == code) {
            *olen = b[i + 1];
            return b + i + 2;
        }
        i += 2 + b[i + 1];
    }
    return NULL;
}

/* Checks frame i is a DHCP reply of `type` offering `yiaddr`. */
static void check_dhcp_reply(const struct cap_nic *cap, int i, uint32_t xid, uint8_t type,
                             uint32_t yiaddr, const uint8_t *mac)
{
    const uint8_t *p = frame_eth_ip(cap, i, 17);
    CHECK(p);
    if (!p)
        return;
    const uint8_t *udp = p + (p[0] & 15) * 4;
    CHECK_EQ(get16(udp), 67);
    CHECK_EQ(get16(udp + 2), 68);
    const uint8_t *b = udp + 8;
    size_t blen = cap->len[i] - (size_t)(b - cap->frame[i]);
    CHECK(blen >= 240);
    if (blen < 240)
        return;
    CHECK_EQ(b[0], 2);      /* BOOTREPLY */
    CHECK_EQ(get32(b + 4), xid);
    CHECK_EQ(get32(b + 16), yiaddr);
    CHECK(!memcmp(b + 28, mac, 6));
    uint8_t ol = 0;
    const uint8_t *o = dhcp_opt(b, blen, 53, &ol);
    CHECK(o && ol == 1 && o[0] == type);
    o = dhcp_opt(b, blen, 54, &ol);     /* server identifier */
    CHECK(o && ol == 4 && get32(o) == ip(10, 0, 2, 2));
    o = dhcp_opt(b, blen, 3, &ol);      /* router */
    CHECK(o && ol >= 4 && get32(o) == ip(10, 0, 2, 2));
    o = dhcp_opt(b, blen, 6, &ol);      /* DNS */
    CHECK(o && ol >= 4 && get32(o) == ip(10, 0, 2, 3));
    o = dhcp_opt(b, blen, 1, &ol);      /* netmask */
    CHECK(o && ol == 4 && get32(o) == ip(255, 255, 255, 0));
}

TEST(net_slirp_dhcp_offers_10_0_2_15)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    snprintf(c.hostname, sizeof(c.hostname), "labvm");
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];

    net_send(nb, f, build_dhcp(f, guest_mac, 0xabcd1234, 1, 0));   /* DISCOVER */
    CHECK_EQ(cap->n, 1);
    if (cap->n >= 1) {
        check_dhcp_reply(cap, 0, 0xabcd1234, 2, ip(10, 0, 2, 15), guest_mac);
        CHECK(!memcmp(cap->frame[0], bcast_mac, 6) || !memcmp(cap->frame[0], guest_mac, 6));
        const uint8_t *b = cap->frame[0] + 14 + 20 + 8;
        uint8_t ol = 0;
        const uint8_t *o = dhcp_opt(b, cap->len[0] - 42, 12, &ol);
        CHECK(o && ol == 5 && !memcmp(o, "labvm", 5));
    }
    net_send(nb, f, build_dhcp(f, guest_mac, 0xabcd1235, 3, ip(10, 0, 2, 15))); /* REQUEST */
    CHECK_EQ(cap->n, 2);
    if (cap->n >= 2)
        check_dhcp_reply(cap, 1, 0xabcd1235, 5, ip(10, 0, 2, 15), guest_mac);   /* ACK */

    /* A second machine on the wire gets the next address. */
    static const uint8_t mac2[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    net_send(nb, f, build_dhcp(f, mac2, 77, 1, 0));
    CHECK_EQ(cap->n, 3);
    if (cap->n >= 3)
        check_dhcp_reply(cap, 2, 77, 2, ip(10, 0, 2, 16), mac2);
    nb->ops->close(nb);
    free(cap);
}

TEST(net_slirp_dhcpstart_and_net_options)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    c.net.s_addr = htonl(ip(192, 168, 76, 0));
    c.host.s_addr = htonl(ip(192, 168, 76, 2));
    c.dns.s_addr = htonl(ip(192, 168, 76, 3));
    c.dhcp_start.s_addr = htonl(ip(192, 168, 76, 100));
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];
    net_send(nb, f, build_dhcp(f, guest_mac, 5, 1, 0));
    CHECK_EQ(cap->n, 1);
    if (cap->n >= 1) {
        const uint8_t *p = frame_eth_ip(cap, 0, 17);
        CHECK(p && get32(p + 20 + 8 + 16) == ip(192, 168, 76, 100));
    }
    nb->ops->close(nb);
    free(cap);

    /* Addresses that do not belong together are refused before starting. */
    net_user_config_default(&c);
    c.dns.s_addr = htonl(ip(10, 0, 3, 3));
    CHECK(!new_backend(&c, &clk, err, sizeof(err)));
    CHECK(strstr(err, "DNS address 10.0.3.3 is outside the guest network 10.0.2.0/24"));
    net_user_config_default(&c);
    c.host.s_addr = htonl(ip(10, 0, 2, 255));
    CHECK(!new_backend(&c, &clk, err, sizeof(err)));
    CHECK(strstr(err, "broadcast"));
}

TEST(net_slirp_queue_while_nic_full)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256];
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    cap->full = true;
    uint8_t f[1600];
    for (int i = 0; i < 3; i++)
        net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(cap->n, 0);
    cap->full = false;
    net_client_ready(nb);
    CHECK_EQ(cap->n, 3);
    /* A NIC that stays full: the queue holds 4096 frames, then drops. */
    cap->full = true;
    for (int i = 0; i < 4100; i++)
        net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    struct net_slirp_stats st0;
    net_slirp_get_stats(nb, &st0);
    CHECK_EQ(st0.rx_dropped, 4);
    cap->full = false;
    cap->n = 0;
    net_client_ready(nb);
    net_slirp_get_stats(nb, &st0);
    CHECK_EQ(st0.rx_frames, 3 + 4096);
    cap->n = 3;
    /* With no NIC attached the wire is cut: frames vanish, nothing crashes. */
    struct net_client none = {0};
    net_set_client(nb, &none);
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    struct net_slirp_stats st;
    net_slirp_get_stats(nb, &st);
    CHECK_EQ(st.rx_frames, 3 + 4096);
    CHECK_EQ(st.rx_dropped, 4 + 1);
    nb->ops->close(nb);
    free(cap);
}

TEST(net_slirp_hostfwd_port_in_use)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t held = 0;
    int hs = listen_on(INADDR_LOOPBACK, &held);
    CHECK(hs >= 0);
    if (hs < 0)
        return;
    uint16_t first = free_port();
    struct net_user_config c;
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_LOOPBACK, first, 2222);
    add_fwd(&c, false, INADDR_LOOPBACK, held, 22);
    char err[256] = "", want[160];
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(!nb);
    snprintf(want, sizeof(want),
             "-netdev user,id=n0: could not set up host forwarding rule 'tcp::%u-:22': "
             "port %u is in use", held, held);
    if (strcmp(err, want))
        test_failf(__FILE__, __LINE__, "got '%s'", err);
    /* The rule that did bind was released with the rest. */
    uint32_t a;
    CHECK(bound_addr_of_port(first, SOCK_STREAM, &a) < 0);
    uint16_t again = first;
    int s2 = listen_on(INADDR_LOOPBACK, &again);
    CHECK(s2 >= 0);
    if (s2 >= 0)
        close(s2);
    if (nb)
        nb->ops->close(nb);
    close(hs);

    /* A port held on all addresses also conflicts with 127.0.0.1. */
    held = 0;
    hs = listen_on(INADDR_ANY, &held);
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_LOOPBACK, held, 22);
    nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(!nb);
    CHECK(strstr(err, "is in use"));
    if (nb)
        nb->ops->close(nb);
    close(hs);

    /* An address this host does not have (TEST-NET-1) is named as such. */
    net_user_config_default(&c);
    add_fwd(&c, false, ip(192, 0, 2, 1), free_port(), 22);
    nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(!nb);
    CHECK(strstr(err, "192.0.2.1 is not an address of this host"));
    if (nb)
        nb->ops->close(nb);
}

TEST(net_slirp_hostfwd_binds_loopback_only)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t tp = free_port(), up = free_port();
    struct net_user_config c;
    net_user_config_default(&c);
    /* What the parser makes of "hostfwd=tcp::P-:22" and "udp::Q-:53". */
    add_fwd(&c, false, INADDR_LOOPBACK, tp, 22);
    add_fwd(&c, true, INADDR_LOOPBACK, up, 53);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    uint32_t a = 0;
    CHECK_EQ(bound_addr_of_port(tp, SOCK_STREAM, &a), 0);
    CHECK_EQ(a, INADDR_LOOPBACK);
    a = 0;
    CHECK_EQ(bound_addr_of_port(up, SOCK_DGRAM, &a), 0);
    CHECK_EQ(a, INADDR_LOOPBACK);
    /* Another loopback address may still take the port: nothing listens on
     * 0.0.0.0. */
    uint16_t p2 = tp;
    int other = listen_on(ip(127, 0, 0, 2), &p2);
    CHECK(other >= 0);
    if (other >= 0)
        close(other);
    nb->ops->close(nb);
    CHECK(bound_addr_of_port(tp, SOCK_STREAM, &a) < 0);

    /* An explicit 0.0.0.0 binds every address. */
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_ANY, tp, 22);
    nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    a = 1;
    CHECK_EQ(bound_addr_of_port(tp, SOCK_STREAM, &a), 0);
    CHECK_EQ(a, INADDR_ANY);
    if (nb)
        nb->ops->close(nb);
}

/* host → 127.0.0.1:P → libslirp → guest 10.0.2.15:22, through to data. */
TEST(net_slirp_hostfwd_connects_to_guest)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t tp = free_port();
    struct net_user_config c;
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_LOOPBACK, tp, 22);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];

    int cs = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(tp),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);

    /* libslirp accepts, then asks who 10.0.2.15 is before sending its SYN. */
    int syn = -1, arp = -1, answered = 0;
    for (int i = 0; i < 50 && syn < 0; i++) {
        pump(nb, 20);
        arp = find_arp_request(cap, answered, ip(10, 0, 2, 15));
        if (arp >= 0) {
            answered = arp + 1;
            net_send(nb, f, build_arp_reply(f, guest_mac, ip(10, 0, 2, 15),
                                            cap->frame[arp] + 6, ip(10, 0, 2, 2)));
        }
        syn = find_tcp(cap, 0, 22, TH_SYN);
    }
    CHECK(syn >= 0);
    if (syn < 0)
        goto out;
    const uint8_t *t = tcp_of(cap, syn);
    const uint8_t *p = cap->frame[syn] + 14;
    CHECK_EQ(get32(p + 12), ip(10, 0, 2, 2));     /* from the gateway */
    CHECK_EQ(get32(p + 16), ip(10, 0, 2, 15));
    CHECK(!memcmp(cap->frame[syn], guest_mac, 6));
    uint16_t hport = get16(t);
    uint32_t hseq = get32(t + 4);

    /* The guest's sshd answers SYN+ACK, then says hello. */
    uint32_t gseq = 5000;
    net_send(nb, f, build_tcp(f, cap->frame[syn] + 6, ip(10, 0, 2, 15), 22,
                              ip(10, 0, 2, 2), hport, gseq, hseq + 1, TH_SYN | TH_ACK, "", 0));
    gseq++;
    net_send(nb, f, build_tcp(f, cap->frame[syn] + 6, ip(10, 0, 2, 15), 22,
                              ip(10, 0, 2, 2), hport, gseq, hseq + 1, TH_ACK | TH_PSH,
                              "SSH-2.0-guest\r\n", 15));
    char buf[64] = "";
    ssize_t got = 0;
    fcntl(cs, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 50 && got <= 0; i++) {
        pump(nb, 20);
        got = read(cs, buf, sizeof(buf) - 1);
    }
    CHECK_EQ(got, 15);
    CHECK(!memcmp(buf, "SSH-2.0-guest\r\n", 15));

    /* And the host's bytes reach the guest as a TCP segment. */
    CHECK_EQ(write(cs, "SSH-2.0-host\r\n", 14), 14);
    int data = -1;
    int before = cap->n;
    for (int i = 0; i < 50 && data < 0; i++) {
        pump(nb, 20);
        for (int k = before; k < cap->n && data < 0; k++) {
            const uint8_t *ipp = frame_eth_ip(cap, k, 6);
            if (!ipp)
                continue;
            const uint8_t *tt = ipp + (ipp[0] & 15) * 4;
            size_t hl = (size_t)(tt[12] >> 4) * 4;
            size_t dl = get16(ipp + 2) - (size_t)(ipp[0] & 15) * 4 - hl;
            if (get16(tt + 2) == 22 && dl == 14 && !memcmp(tt + hl, "SSH-2.0-host\r\n", 14))
                data = k;
        }
    }
    CHECK(data >= 0);
out:
    close(cs);
    nb->ops->close(nb);
    free(cap);
}

/* guest → 10.0.2.2:P reaches a server on the host's 127.0.0.1:P. */
TEST(net_slirp_gateway_reaches_host_loopback)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t port = 0;
    int ls = listen_on(INADDR_LOOPBACK, &port);
    CHECK(ls >= 0);
    if (ls < 0)
        return;
    fcntl(ls, F_SETFL, O_NONBLOCK);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb) {
        close(ls);
        return;
    }
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600], gw_mac[6];

    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(cap->n, 1);
    memcpy(gw_mac, cap->frame[0] + 6, 6);
    net_send(nb, f, build_tcp(f, gw_mac, ip(10, 0, 2, 15), 40000, ip(10, 0, 2, 2), port,
                              1000, 0, TH_SYN, "", 0));
    int as = -1, synack = -1, answered = 0;
    for (int i = 0; i < 50 && (as < 0 || synack < 0); i++) {
        pump(nb, 20);
        if (as < 0)
            as = accept(ls, NULL, NULL);
        int arp = find_arp_request(cap, answered, ip(10, 0, 2, 15));
        if (arp >= 0) {
            answered = arp + 1;
            net_send(nb, f, build_arp_reply(f, guest_mac, ip(10, 0, 2, 15),
                                            cap->frame[arp] + 6, ip(10, 0, 2, 2)));
        }
        synack = find_tcp(cap, 0, 40000, TH_SYN | TH_ACK);
    }
    CHECK(as >= 0);
    CHECK(synack >= 0);
    if (synack >= 0) {
        const uint8_t *t = tcp_of(cap, synack);
        CHECK_EQ(get32(t + 8), 1001);
        CHECK_EQ(get16(t), port);
        uint32_t sseq = get32(t + 4);
        net_send(nb, f, build_tcp(f, gw_mac, ip(10, 0, 2, 15), 40000, ip(10, 0, 2, 2), port,
                                  1001, sseq + 1, TH_ACK | TH_PSH, "ping", 4));
        char buf[16] = "";
        ssize_t got = -1;
        if (as >= 0) {
            fcntl(as, F_SETFL, O_NONBLOCK);
            for (int i = 0; i < 50 && got <= 0; i++) {
                pump(nb, 20);
                got = read(as, buf, sizeof(buf));
            }
        }
        CHECK_EQ(got, 4);
        CHECK(!memcmp(buf, "ping", 4));
    }
    if (as >= 0)
        close(as);
    close(ls);
    nb->ops->close(nb);
    free(cap);
}

/* The same stack served by the machine's own main loop (poll hook). */
TEST(net_slirp_on_machine_main_loop)
{
    static struct machine m;
    static struct machine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ram_size = 2 << 20;
    CHECK_EQ(machine_init(&m, &cfg, NULL), 0);
    uint16_t tp = free_port();
    struct net_user_config c;
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_LOOPBACK, tp, 22);
    char err[256] = "";
    struct net_backend *nb = net_slirp_new(&c, "n0", &m.clock, NULL, NULL, NULL,
                                           err, sizeof(err));
    CHECK(nb);
    if (!nb) {
        machine_destroy(&m);
        return;
    }
    CHECK_EQ(machine_add_poll_hook(&m, net_slirp_poll_fill, net_slirp_poll_dispatch, nb), 0);
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(tp),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* The accept happens in dispatch; the ARP request for the guest is the
     * first thing libslirp says. Bounded: slirp never sleeps past 1 s. */
    uint64_t t0 = host_monotonic_ns();
    for (int i = 0; i < 20 && find_arp_request(cap, 0, ip(10, 0, 2, 15)) < 0; i++)
        machine_main_loop_iteration(&m);
    CHECK(find_arp_request(cap, 0, ip(10, 0, 2, 15)) >= 0);
    CHECK(host_monotonic_ns() - t0 < 60 * NS_PER_SEC);   /* a hang, not a slow host */
    close(cs);
    nb->ops->close(nb);
    free(cap);
    machine_destroy(&m);
}

static int wakes;
static void count_wake(void *opaque)
{
    (void)opaque;
    wakes++;
}

/* A guest frame wakes the main loop once until its next fill; fill caps the
 * loop's sleep so libslirp's TCP timers run. */
TEST(net_slirp_wakes_loop_and_bounds_timeout)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256];
    struct net_backend *nb = net_slirp_new(&c, "n0", &clk, count_wake, NULL, NULL,
                                           err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];
    wakes = 0;
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(wakes, 1);
    struct pollfd fds[8];
    int n = -1;
    uint64_t timeout = CLOCK_NEVER;
    net_slirp_poll_fill(nb, fds, &n, 8, &timeout);
    CHECK(n >= 0);
    CHECK(timeout <= NS_PER_SEC);
    net_slirp_poll_dispatch(nb, fds, n);
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(wakes, 2);
    /* A shorter deadline from elsewhere in the loop is kept. */
    timeout = 1000;
    net_slirp_poll_fill(nb, fds, &n, 8, &timeout);
    CHECK(timeout <= 1000);
    net_slirp_poll_dispatch(nb, fds, n);
    nb->ops->close(nb);
    free(cap);
}

/* A NIC whose receive() transmits again (as a guest answering at once
 * would): every frame still gets through, and libslirp is not re-entered. */
struct echo_nic {
    struct net_backend *nb;
    int replies, depth, max_depth, left;
};

static void echo_receive(void *opaque, const uint8_t *f, size_t len)
{
    struct echo_nic *e = opaque;
    (void)f;
    (void)len;
    e->replies++;
    e->depth++;
    if (e->depth > e->max_depth)
        e->max_depth = e->depth;
    if (e->left > 0) {
        e->left--;
        uint8_t fr[64];
        net_send(e->nb, fr, build_arp_request(fr, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    }
    e->depth--;
}

TEST(net_slirp_receive_may_send)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256];
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct echo_nic e = {.nb = nb, .left = 4};
    struct net_client cl = {NULL, echo_receive, &e};
    net_set_client(nb, &cl);
    uint8_t f[64];
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(e.replies, 5);
    CHECK_EQ(e.max_depth, 1);       /* delivered by the outer flush, not nested */
    nb->ops->close(nb);
}

/* libslirp's own timer (IPv6 router advertisements, every 200-600 s) runs
 * on the machine clock: advancing a manual clock fires it, and the frame it
 * sends reaches the NIC after the timer returns. */
TEST(net_slirp_timers_on_machine_clock)
{
    for (int v6 = 0; v6 < 2; v6++) {
        struct clock clk;
        clock_init(&clk, true);
        struct net_user_config c;
        net_user_config_default(&c);
        c.ipv6 = v6;
        char err[256];
        struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
        CHECK(nb);
        if (!nb)
            return;
        struct cap_nic *cap = calloc(1, sizeof(*cap));
        cap_attach(nb, cap);
        CHECK_EQ(clock_next_deadline(&clk) != CLOCK_NEVER, v6);
        clock_advance(&clk, 100 * NS_PER_SEC);
        CHECK_EQ(cap->n, 0);
        clock_advance(&clk, 601 * NS_PER_SEC);
        int ra = 0;
        for (int i = 0; i < cap->n; i++) {
            const uint8_t *f = cap->frame[i];
            /* IPv6 (86dd), next header ICMPv6 (58), type 134 = RA. */
            if (cap->len[i] >= 14 + 40 + 1 && get16(f + 12) == 0x86dd && f[14 + 6] == 58 &&
                f[14 + 40] == 134)
                ra++;
        }
        CHECK_EQ(ra > 0, v6);
        CHECK_EQ(cap->n > 0, v6);
        nb->ops->close(nb);
        CHECK_EQ(clock_next_deadline(&clk), CLOCK_NEVER);   /* timer freed */
        free(cap);
    }
}

/* Hostile frames: truncated and bit-flipped versions of every frame kind
 * above, and noise. Nothing may crash, and the stack still answers after.
 * restrict=on keeps the fuzzed TCP/UDP from reaching real hosts. */
TEST(net_slirp_survives_garbage_frames)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    c.restricted = true;
    char err[256];
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static uint8_t f[2048];
    uint8_t gw[6] = {0x52, 0x55, 10, 0, 2, 2};
    for (int iter = 0; iter < 4000; iter++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t len;
        switch (x % 5) {
        case 0: len = build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)); break;
        case 1: len = build_dhcp(f, guest_mac, (uint32_t)x, 1 + (x >> 8) % 8, ip(10, 0, 2, 15)); break;
        case 2: len = build_tcp(f, gw, ip(10, 0, 2, 15), 1000 + (x >> 16) % 50, ip(10, 0, 2, 2),
                                22, (uint32_t)(x >> 20), 0, (uint8_t)(x >> 40), "data", 4); break;
        case 3: len = build_tcp(f, gw, ip(10, 0, 2, 15), 2000, ip(10, 0, 2, 3), 53,
                                1, 0, TH_SYN, "", 0); break;
        default:
            len = 14 + (x >> 8) % 1500;
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                f[i] = (uint8_t)x;
            }
            break;
        }
        /* Flip a few bytes past the Ethernet header, maybe truncate. */
        for (int k = (int)((x >> 3) % 4); k > 0; k--) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            f[14 + x % (len - 14)] ^= (uint8_t)(x >> 32);
        }
        if ((x >> 50) % 3 == 0)
            len = 14 + (x >> 24) % (len - 13);
        net_send(nb, f, len);
        if (iter % 500 == 0) {
            clock_advance(&clk, NS_PER_SEC);
            pump(nb, 0);
        }
        if (cap->n >= CAP_FRAMES - 8)
            cap->n = 0;     /* keep recording */
    }
    cap->n = 0;
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    CHECK_EQ(cap->n, 1);
    nb->ops->close(nb);
    free(cap);
}

/* "ping 10.0.2.2", the first thing a student tries: libslirp answers for
 * its own address. */
TEST(net_slirp_ping_gateway)
{
    struct clock clk;
    clock_init(&clk, true);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256];
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[256], gw[6] = {0x52, 0x55, 10, 0, 2, 2};
    size_t n = eth_hdr(f, gw, guest_mac, 0x0800);
    uint8_t *icmp = f + n + 20;
    memset(icmp, 0, 8 + 16);
    icmp[0] = 8;                        /* echo request */
    put16(icmp + 4, 0x4242);            /* id */
    put16(icmp + 6, 7);                 /* seq */
    memcpy(icmp + 8, "tremu-ping-data!", 16);
    put16(icmp + 2, csum_fold(csum_add(0, icmp, 24)));
    ip_hdr(f + n, 1, ip(10, 0, 2, 15), ip(10, 0, 2, 2), 24);
    net_send(nb, f, n + 20 + 24);
    int reply = -1;
    for (int i = 0; i < 5 && reply < 0; i++) {
        for (int k = 0; k < cap->n && reply < 0; k++) {
            const uint8_t *p = frame_eth_ip(cap, k, 1);
            if (p && p[20] == 0 && get16(p + 24) == 0x4242 && get16(p + 26) == 7)
                reply = k;
        }
        if (reply < 0) {
            /* Answer libslirp's ARP for the guest, if it asks. */
            int arp = find_arp_request(cap, 0, ip(10, 0, 2, 15));
            if (arp >= 0) {
                net_send(nb, f, build_arp_reply(f, guest_mac, ip(10, 0, 2, 15),
                                                cap->frame[arp] + 6, ip(10, 0, 2, 2)));
                cap->frame[arp][12] = 0;    /* handled */
            }
            pump(nb, 0);
        }
    }
    CHECK(reply >= 0);
    if (reply >= 0) {
        const uint8_t *p = frame_eth_ip(cap, reply, 1);
        CHECK_EQ(get32(p + 12), ip(10, 0, 2, 2));
        CHECK_EQ(get32(p + 16), ip(10, 0, 2, 15));
        CHECK(!memcmp(p + 28, "tremu-ping-data!", 16));
    }
    nb->ops->close(nb);
    free(cap);
}

/* A bulk host → guest transfer (what sshfs reads look like) over a host
 * forward, with a minimal guest TCP receiver that ACKs in-order data. */
TEST(net_slirp_bulk_host_to_guest)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t tp = free_port();
    struct net_user_config c;
    net_user_config_default(&c);
    add_fwd(&c, false, INADDR_LOOPBACK, tp, 22);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb)
        return;
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    uint8_t f[1600];
    /* The guest is known: no ARP round trip. */
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    uint8_t gw[6];
    memcpy(gw, cap->frame[0] + 6, 6);
    cap->n = 0;

    int cs = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(tp),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int syn = -1;
    for (int i = 0; i < 50 && syn < 0; i++) {
        pump(nb, 20);
        syn = find_tcp(cap, 0, 22, TH_SYN);
    }
    CHECK(syn >= 0);
    if (syn < 0) {
        close(cs);
        nb->ops->close(nb);
        free(cap);
        return;
    }
    uint16_t hport = get16(tcp_of(cap, syn));
    uint32_t expect = get32(tcp_of(cap, syn) + 4) + 1;
    uint32_t gseq = 7000;
    net_send(nb, f, build_tcp(f, gw, ip(10, 0, 2, 15), 22, ip(10, 0, 2, 2), hport,
                              gseq, expect, TH_SYN | TH_ACK, "", 0));
    gseq++;

    enum { TOTAL = 1 << 20 };
    static uint8_t data[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 11));
    fcntl(cs, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    bool corrupt = false;
    uint64_t t0 = host_monotonic_ns();
    while (got < TOTAL && host_monotonic_ns() - t0 < 120 * NS_PER_SEC) {
        if (sent < TOTAL) {
            ssize_t w = write(cs, data + sent, TOTAL - sent);
            if (w > 0)
                sent += (size_t)w;
        }
        pump(nb, 5);
        bool progress = false;
        for (int k = 0; k < cap->n; k++) {
            const uint8_t *p = frame_eth_ip(cap, k, 6);
            if (!p)
                continue;
            const uint8_t *t = p + (p[0] & 15) * 4;
            size_t hl = (size_t)(t[12] >> 4) * 4;
            size_t dl = get16(p + 2) - (size_t)(p[0] & 15) * 4 - hl;
            if (get16(t + 2) != 22 || dl == 0 || get32(t + 4) != expect)
                continue;
            if (got + dl > TOTAL || memcmp(t + hl, data + got, dl))
                corrupt = true;
            got += dl;
            expect += (uint32_t)dl;
            progress = true;
        }
        /* Frames our ACK provokes arrive during net_send: kept for the next round. */
        cap->n = 0;
        if (progress)
            net_send(nb, f, build_tcp(f, gw, ip(10, 0, 2, 15), 22, ip(10, 0, 2, 2), hport,
                                      gseq, expect, TH_ACK, "", 0));
    }
    CHECK_EQ(got, TOTAL);
    CHECK(!corrupt);
    struct net_slirp_stats st;
    net_slirp_get_stats(nb, &st);
    CHECK_EQ(st.rx_dropped, 0);
    close(cs);
    nb->ops->close(nb);
    free(cap);
}

/* A bulk guest → host transfer (sshfs writes, scp to 10.0.2.2): a minimal
 * guest TCP sender that respects libslirp's window, go-back-N on stalls. */
TEST(net_slirp_bulk_guest_to_host)
{
    struct clock clk;
    clock_init(&clk, false);
    uint16_t port = 0;
    int ls = listen_on(INADDR_LOOPBACK, &port);
    CHECK(ls >= 0);
    if (ls < 0)
        return;
    fcntl(ls, F_SETFL, O_NONBLOCK);
    struct net_user_config c;
    net_user_config_default(&c);
    char err[256] = "";
    struct net_backend *nb = new_backend(&c, &clk, err, sizeof(err));
    CHECK(nb);
    if (!nb) {
        close(ls);
        return;
    }
    struct cap_nic *cap = calloc(1, sizeof(*cap));
    cap_attach(nb, cap);
    static uint8_t f[1600];
    net_send(nb, f, build_arp_request(f, guest_mac, ip(10, 0, 2, 15), ip(10, 0, 2, 2)));
    uint8_t gw[6];
    memcpy(gw, cap->frame[0] + 6, 6);
    cap->n = 0;

    const uint32_t iss = 0x10000000;
    net_send(nb, f, build_tcp(f, gw, ip(10, 0, 2, 15), 40001, ip(10, 0, 2, 2), port,
                              iss, 0, TH_SYN, "", 0));
    int as = -1, synack = -1;
    for (int i = 0; i < 50 && (as < 0 || synack < 0); i++) {
        pump(nb, 20);
        if (as < 0)
            as = accept(ls, NULL, NULL);
        synack = find_tcp(cap, 0, 40001, TH_SYN | TH_ACK);
    }
    CHECK(as >= 0 && synack >= 0);
    if (as < 0 || synack < 0)
        goto out;
    fcntl(as, F_SETFL, O_NONBLOCK);
    uint32_t rcv = get32(tcp_of(cap, synack) + 4) + 1;
    uint32_t wnd = get16(tcp_of(cap, synack) + 14);
    cap->n = 0;

    enum { TOTAL = 1 << 20, MSS = 1460 };
    static uint8_t data[TOTAL], got_buf[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(i * 13 + (i >> 9));
    size_t una = 0, nxt = 0, got = 0;
    uint64_t t0 = host_monotonic_ns(), last_progress = t0;
    while (got < TOTAL && host_monotonic_ns() - t0 < 120 * NS_PER_SEC) {
        while (nxt < TOTAL && nxt - una < wnd) {
            size_t len = TOTAL - nxt < MSS ? TOTAL - nxt : MSS;
            if (len > wnd - (nxt - una))
                len = wnd - (nxt - una);
            net_send(nb, f, build_tcp(f, gw, ip(10, 0, 2, 15), 40001, ip(10, 0, 2, 2), port,
                                      iss + 1 + (uint32_t)nxt, rcv, TH_ACK | TH_PSH,
                                      data + nxt, len));
            nxt += len;
        }
        pump(nb, 5);
        for (int k = 0; k < cap->n; k++) {
            const uint8_t *p = frame_eth_ip(cap, k, 6);
            if (!p)
                continue;
            const uint8_t *t = p + (p[0] & 15) * 4;
            if (get16(t + 2) != 40001 || !(t[13] & TH_ACK))
                continue;
            size_t acked = get32(t + 8) - (iss + 1);
            if (acked > una && acked <= nxt) {
                una = acked;
                last_progress = host_monotonic_ns();
            }
            wnd = get16(t + 14);
        }
        cap->n = 0;
        ssize_t r;
        while (got < TOTAL && (r = read(as, got_buf + got, TOTAL - got)) > 0)
            got += (size_t)r;
        if (host_monotonic_ns() - last_progress > 300 * 1000000ULL) {
            nxt = una;      /* go back N */
            last_progress = host_monotonic_ns();
            if (!wnd)
                wnd = 1;    /* window probe */
        }
    }
    CHECK_EQ(got, TOTAL);
    CHECK(!memcmp(got_buf, data, TOTAL));
out:
    if (as >= 0)
        close(as);
    close(ls);
    nb->ops->close(nb);
    free(cap);
}
