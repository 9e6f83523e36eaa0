/* -netdev / -nic / -net / -device virtio-net-pci parsing (see ui/netopt.h).
 * QEMU's behaviour is the reference for what is accepted; where tremu does
 * less (only user networking, only virtio-net), the message says so. */
#include "ui/netopt.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- QemuOpts-style splitting: "a,k=v,k2=v,,with,,commas" ---- */

#define MAX_ITEMS 64

struct optlist {
    char *buf;
    int n;
    char *key[MAX_ITEMS];
    char *val[MAX_ITEMS];   /* NULL: bare word (no '=') */
};

static void optlist_free(struct optlist *l)
{
    free(l->buf);
    l->buf = NULL;
}

static int optlist_split(struct optlist *l, const char *arg, const char *what,
                         char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    size_t len = strlen(arg);
    l->buf = malloc(len + 1);
    if (!l->buf) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    char *d = l->buf, *item = l->buf;
    for (size_t i = 0; i <= len; i++) {
        char ch = arg[i];
        if (ch == ',' && arg[i + 1] == ',') {   /* ",," is a literal comma */
            *d++ = ',';
            i++;
            continue;
        }
        if (ch != ',' && ch != 0) {
            *d++ = ch;
            continue;
        }
        *d++ = 0;
        if (!*item) {
            snprintf(err, errlen, "%s: empty option in '%s'", what, arg);
            optlist_free(l);
            return -1;
        }
        if (l->n >= MAX_ITEMS) {
            snprintf(err, errlen, "%s: too many options", what);
            optlist_free(l);
            return -1;
        }
        char *eq = strchr(item, '=');
        if (eq)
            *eq = 0;
        l->key[l->n] = item;
        l->val[l->n] = eq ? eq + 1 : NULL;
        l->n++;
        item = d;
    }
    return 0;
}

/* ---- small value parsers ---- */

static int parse_bool(const char *v, bool *out)
{
    static const char *const on[] = {"on", "yes", "true", "y"};
    static const char *const off[] = {"off", "no", "false", "n"};
    if (!v) {               /* a bare "restrict" means on, as in QemuOpts */
        *out = true;
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, on[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(v, off[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Decimal, no sign, no trailing junk, within [lo, hi]. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *e;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || *e || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_ip4(const char *s, struct in_addr *a)
{
    return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

/* QEMU ids: a letter, then letters, digits, '-', '.', '_'. Generated ids
 * start with '_' so they can never clash with a user's. */
static bool id_valid(const char *id)
{
    if (!isalpha((unsigned char)id[0]))
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return strlen(id) < NETOPT_ID_LEN;
}

static void warnf(struct netopt *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct netopt *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->last_warning, sizeof(o->last_warning), fmt, ap);
    va_end(ap);
    o->nwarnings++;
    if (o->warn)
        fprintf(o->warn, "tremu: warning: %s\n", o->last_warning);
}

int netopt_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
    /* Six pairs of hex digits separated by ':' (or '-', as QEMU allows). */
    if (strlen(s) != 17)
        goto bad;
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
            goto bad;
        if (i < 5 && p[2] != ':' && p[2] != '-')
            goto bad;
        if (i > 0 && p[-1] != s[2])
            goto bad;   /* one separator throughout */
        char h[3] = {p[0], p[1], 0};
        mac[i] = (uint8_t)strtoul(h, NULL, 16);
    }
    if (mac[0] & 1) {
        snprintf(err, errlen, "MAC address '%s' is a multicast address (the first byte must be even)", s);
        return -1;
    }
    static const uint8_t zero[6];
    if (!memcmp(mac, zero, 6)) {
        snprintf(err, errlen, "MAC address '%s' is all zeros", s);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "bad MAC address '%s' (expected 6 bytes like 52:54:00:12:34:56)", s);
    return -1;
}

/* [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
int netopt_parse_hostfwd(const char *rule, struct net_hostfwd *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->spec, sizeof(f->spec), "%s", rule);
    char buf[128];
    if (strlen(rule) >= sizeof(buf)) {
        snprintf(err, errlen, "hostfwd rule too long: '%.40s...'", rule);
        return -1;
    }
    strcpy(buf, rule);
    char *proto = buf;
    char *haddr = strchr(proto, ':');
    if (!haddr)
        goto syntax;
    *haddr++ = 0;
    char *hport = strchr(haddr, ':');
    if (!hport)
        goto syntax;
    *hport++ = 0;
    char *gaddr = strchr(hport, '-');
    if (!gaddr)
        goto syntax;
    *gaddr++ = 0;
    char *gport = strchr(gaddr, ':');
    if (!gport)
        goto syntax;
    *gport++ = 0;

    if (!*proto || !strcmp(proto, "tcp"))
        f->udp = false;
    else if (!strcmp(proto, "udp"))
        f->udp = true;
    else {
        snprintf(err, errlen, "hostfwd '%s': protocol '%s' is not tcp or udp", rule, proto);
        return -1;
    }
    if (!*haddr) {
        /* tremu binds loopback unless told otherwise (QEMU: every address). */
        f->host_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (parse_ip4(haddr, &f->host_addr) < 0) {
        snprintf(err, errlen, "hostfwd '%s': bad host address '%s' (an IPv4 address)", rule, haddr);
        return -1;
    }
    if (!*gaddr) {
        f->guest_addr.s_addr = 0;   /* libslirp: the first DHCP address */
    } else if (parse_ip4(gaddr, &f->guest_addr) < 0 || !f->guest_addr.s_addr) {
        snprintf(err, errlen, "hostfwd '%s': bad guest address '%s' (an IPv4 address)", rule, gaddr);
        return -1;
    }
    unsigned long v;
    if (parse_uint(hport, 1, 65535, &v) < 0) {
        snprintf(err, errlen, "hostfwd '%s': bad host port '%s' (1-65535)", rule, hport);
        return -1;
    }
    f->host_port = (uint16_t)v;
    if (parse_uint(gport, 1, 65535, &v) < 0) {
        snprintf(err, errlen, "hostfwd '%s': bad guest port '%s' (1-65535)", rule, gport);
        return -1;
    }
    f->guest_port = (uint16_t)v;
    return 0;
syntax:
    snprintf(err, errlen, "hostfwd '%s': expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
             rule);
    return -1;
}

/* ---- user-mode options shared by -netdev user, -nic user, -net user ---- */

struct user_build {
    struct net_user_config *c;
    bool has_host, has_dns, has_dhcp;
};

/* QEMU keys tremu knows but does not implement. */
static const char *const user_unsupported[] = {
    "guestfwd", "smb", "smbserver", "ipv6-net", "ipv6-prefix", "ipv6-prefixlen",
    "ipv6-host", "ipv6-dns", "dnssearch", "tftp-server-name", "domainname6", NULL,
};

static int str_opt(char *dst, size_t dstlen, const char *what, const char *key,
                   const char *val, char *err, size_t errlen)
{
    if (strlen(val) >= dstlen) {
        snprintf(err, errlen, "%s: %s= is too long (at most %zu characters)", what, key, dstlen - 1);
        return -1;
    }
    strcpy(dst, val);
    return 0;
}

/* 1: consumed, 0: not a user-networking key, -1: error. */
static int parse_user_key(struct user_build *b, const char *what, const char *key,
                          const char *val, char *err, size_t errlen)
{
    struct net_user_config *c = b->c;
    bool flag;
    if (!strcmp(key, "hostfwd")) {
        if (!val)
            goto needs_value;
        if (c->nfwd >= NET_USER_MAX_HOSTFWD) {
            snprintf(err, errlen, "%s: too many hostfwd rules (at most %d)", what,
                     NET_USER_MAX_HOSTFWD);
            return -1;
        }
        char e[200];
        if (netopt_parse_hostfwd(val, &c->fwd[c->nfwd], e, sizeof(e)) < 0) {
            snprintf(err, errlen, "%s: %s", what, e);
            return -1;
        }
        c->nfwd++;
        return 1;
    }
    if (!strcmp(key, "restrict") || !strcmp(key, "ipv4") || !strcmp(key, "ipv6")) {
        if (parse_bool(val, &flag) < 0) {
            snprintf(err, errlen, "%s: %s='%s' must be on or off", what, key, val);
            return -1;
        }
        if (!strcmp(key, "restrict"))
            c->restricted = flag;
        else if (!strcmp(key, "ipv4"))
            c->ipv4 = flag;
        else
            c->ipv6 = flag;
        if (!c->ipv4) {
            snprintf(err, errlen, "%s: ipv4=off is not supported", what);
            return -1;
        }
        return 1;
    }
    if (!strcmp(key, "net")) {
        if (!val)
            goto needs_value;
        char a[64];
        if (strlen(val) >= sizeof(a))
            goto bad_value;
        strcpy(a, val);
        char *slash = strchr(a, '/');
        uint32_t mask = 0xffffff00;     /* QEMU: /24 when no mask is given */
        if (slash) {
            *slash++ = 0;
            unsigned long bits;
            struct in_addr m;
            if (parse_uint(slash, 0, 32, &bits) == 0)
                mask = bits ? 0xffffffffu << (32 - bits) : 0;
            else if (parse_ip4(slash, &m) == 0)
                mask = ntohl(m.s_addr);
            else
                goto bad_value;
        }
        if (parse_ip4(a, &c->net) < 0)
            goto bad_value;
        c->mask.s_addr = htonl(mask);
        return 1;
    }
    struct in_addr *addr = NULL;
    bool *has = NULL;
    if (!strcmp(key, "host")) {
        addr = &c->host;
        has = &b->has_host;
    } else if (!strcmp(key, "dns")) {
        addr = &c->dns;
        has = &b->has_dns;
    } else if (!strcmp(key, "dhcpstart")) {
        addr = &c->dhcp_start;
        has = &b->has_dhcp;
    }
    if (addr) {
        if (!val)
            goto needs_value;
        if (parse_ip4(val, addr) < 0)
            goto bad_value;
        *has = true;
        return 1;
    }
    if (!strcmp(key, "hostname") || !strcmp(key, "domainname") ||
        !strcmp(key, "tftp") || !strcmp(key, "bootfile")) {
        if (!val)
            goto needs_value;
        char *dst = !strcmp(key, "hostname") ? c->hostname
                  : !strcmp(key, "domainname") ? c->domainname
                  : !strcmp(key, "tftp") ? c->tftp : c->bootfile;
        size_t dl = !strcmp(key, "hostname") ? sizeof(c->hostname)
                  : !strcmp(key, "domainname") ? sizeof(c->domainname)
                  : !strcmp(key, "tftp") ? sizeof(c->tftp) : sizeof(c->bootfile);
        return str_opt(dst, dl, what, key, val, err, errlen) < 0 ? -1 : 1;
    }
    for (int i = 0; user_unsupported[i]; i++) {
        if (!strcmp(key, user_unsupported[i])) {
            snprintf(err, errlen, "%s: option '%s' is not supported by tremu", what, key);
            return -1;
        }
    }
    return 0;
needs_value:
    snprintf(err, errlen, "%s: option '%s' needs a value", what, key);
    return -1;
bad_value:
    snprintf(err, errlen, "%s: bad %s address '%s'", what, key, val);
    return -1;
}

/* After all keys: QEMU derives host/dns/dhcpstart from net= unless given. */
static int user_finish(struct user_build *b, const char *what, char *err, size_t errlen)
{
    struct net_user_config *c = b->c;
    uint32_t n = ntohl(c->net.s_addr) & ntohl(c->mask.s_addr);
    if (!b->has_host)
        c->host.s_addr = htonl(n | 2);
    if (!b->has_dns)
        c->dns.s_addr = htonl(n | 3);
    if (!b->has_dhcp)
        c->dhcp_start.s_addr = htonl(n | 15);
    char e[200];
    if (net_user_config_check(c, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "%s: %s", what, e);
        return -1;
    }
    return 0;
}

/* ---- NIC models ---- */

static bool model_is_virtio(const char *m)
{
    return !strcmp(m, "virtio") || !strcmp(m, "virtio-net-pci") || !strcmp(m, "virtio-net") ||
           !strcmp(m, "virtio-net-pci-transitional") ||
           !strcmp(m, "virtio-net-pci-non-transitional");
}

/* NICs QEMU's pc machine offers that tremu does not emulate. */
static const char *const other_models[] = {
    "e1000", "e1000-82544gc", "e1000-82545em", "e1000e", "rtl8139", "ne2k_pci", "pcnet",
    "i82550", "i82551", "i82557a", "i82557b", "i82557c", "i82558a", "i82558b", "i82559a",
    "i82559b", "i82559c", "i82559er", "i82562", "i82801", "vmxnet3", "tulip", "igb", NULL,
};

static bool model_is_other(const char *m)
{
    for (int i = 0; other_models[i]; i++)
        if (!strcmp(m, other_models[i]))
            return true;
    return false;
}

/* 0: ok (nic->model set), -1: error. */
static int set_model(struct netopt *o, struct netopt_nic *nic, const char *what,
                     const char *m, char *err, size_t errlen)
{
    if (!strcmp(m, "help") || !strcmp(m, "?")) {
        snprintf(err, errlen, "%s: available NIC models: virtio-net-pci (alias virtio)", what);
        return -1;
    }
    if (strlen(m) >= sizeof(nic->model)) {
        snprintf(err, errlen, "%s: unknown NIC model '%.40s'", what, m);
        return -1;
    }
    if (model_is_other(m)) {
        warnf(o, "%s: model %s is not emulated, using virtio-net-pci instead "
                 "(the guest needs the virtio_net driver)", what, m);
    } else if (!model_is_virtio(m)) {
        snprintf(err, errlen, "%s: unknown NIC model '%s' (tremu has virtio-net-pci)", what, m);
        return -1;
    }
    strcpy(nic->model, m);
    return 0;
}

static struct netopt_nic *nic_new(struct netopt *o, enum netopt_origin origin,
                                  const char *what, char *err, size_t errlen)
{
    if (o->nnics >= NETOPT_MAX_NICS) {
        snprintf(err, errlen, "%s: too many NICs (at most %d)", what, NETOPT_MAX_NICS);
        return NULL;
    }
    struct netopt_nic *n = &o->nics[o->nnics];
    memset(n, 0, sizeof(*n));
    n->origin = origin;
    n->hub = -1;
    n->netdev = -1;
    n->pci_slot = -1;
    strcpy(n->model, "virtio-net-pci");
    return n;
}

static struct netopt_netdev *netdev_new(struct netopt *o, enum netopt_origin origin,
                                        const char *what, char *err, size_t errlen)
{
    if (o->nnetdevs >= NETOPT_MAX_NETDEVS) {
        snprintf(err, errlen, "%s: too many network backends (at most %d)", what,
                 NETOPT_MAX_NETDEVS);
        return NULL;
    }
    struct netopt_netdev *d = &o->netdevs[o->nnetdevs];
    memset(d, 0, sizeof(*d));
    d->origin = origin;
    d->hub = -1;
    d->nic = -1;
    net_user_config_default(&d->user);
    return d;
}

static int find_netdev(const struct netopt *o, const char *id)
{
    for (int i = 0; i < o->nnetdevs; i++)
        if (!strcmp(o->netdevs[i].id, id))
            return i;
    return -1;
}

static int set_id(struct netopt *o, char *dst, const char *what, const char *id,
                  char *err, size_t errlen)
{
    if (!id || !id_valid(id)) {
        snprintf(err, errlen, "%s: bad id '%s' (a letter, then letters, digits, '-', '.', '_')",
                 what, id ? id : "");
        return -1;
    }
    if (find_netdev(o, id) >= 0) {
        snprintf(err, errlen, "%s: duplicate id '%s'", what, id);
        return -1;
    }
    strcpy(dst, id);
    return 0;
}

static const char *const other_backends[] = {
    "tap", "bridge", "socket", "vde", "l2tpv3", "stream", "dgram", "vhost-user",
    "vhost-vdpa", "netmap", "af-xdp", "hubport", "vmnet-host", "vmnet-shared",
    "vmnet-bridged", "passt", NULL,
};

static int bad_type(const char *what, const char *type, char *err, size_t errlen)
{
    for (int i = 0; other_backends[i]; i++) {
        if (!strcmp(type, other_backends[i])) {
            snprintf(err, errlen, "%s: network backend '%s' is not supported "
                     "(tremu has user-mode networking only: use 'user')", what, type);
            return -1;
        }
    }
    snprintf(err, errlen, "%s: unknown network backend type '%s' (tremu has 'user')", what, type);
    return -1;
}

static void opt_what(char *what, size_t len, const char *opt, const char *type)
{
    snprintf(what, len, "%s %s", opt, type);
}

/* ---- the options ---- */

void netopt_init(struct netopt *o)
{
    memset(o, 0, sizeof(*o));
    o->warn = stderr;
}

int netopt_parse_netdev(struct netopt *o, const char *arg, char *err, size_t errlen)
{
    struct optlist l;
    if (optlist_split(&l, arg, "-netdev", err, errlen) < 0)
        return -1;
    int rc = -1;
    int first = 0;
    const char *type = NULL, *id = NULL;
    if (l.val[0] == NULL) {
        type = l.key[0];
        first = 1;
    }
    for (int i = first; i < l.n; i++) {
        if (!strcmp(l.key[i], "type") && !type)
            type = l.val[i] ? l.val[i] : "";
        else if (!strcmp(l.key[i], "id"))
            id = l.val[i] ? l.val[i] : "";
    }
    char what[80];
    if (!type) {
        snprintf(err, errlen, "-netdev: missing the backend type (-netdev user,id=ID)");
        goto out;
    }
    opt_what(what, sizeof(what), "-netdev", type);
    if (strcmp(type, "user")) {
        bad_type(what, type, err, errlen);
        goto out;
    }
    if (!id) {
        snprintf(err, errlen, "%s: missing id= (-netdev user,id=ID)", what);
        goto out;
    }
    struct netopt_netdev *d = netdev_new(o, NETOPT_NETDEV, what, err, errlen);
    if (!d || set_id(o, d->id, what, id, err, errlen) < 0)
        goto out;
    struct user_build b = {&d->user, false, false, false};
    for (int i = first; i < l.n; i++) {
        if (!strcmp(l.key[i], "type") || !strcmp(l.key[i], "id"))
            continue;
        int r = parse_user_key(&b, what, l.key[i], l.val[i], err, errlen);
        if (r < 0)
            goto out;
        if (r == 0) {
            snprintf(err, errlen, "%s: unknown option '%s'", what, l.key[i]);
            goto out;
        }
    }
    if (user_finish(&b, what, err, errlen) < 0)
        goto out;
    o->nnetdevs++;
    o->any = true;
    rc = 0;
out:
    optlist_free(&l);
    return rc;
}

/* PCI address: "slot[.fn]" in hex, as QEMU's addr= property. */
static int parse_pci_addr(const char *what, const char *v, int *slot, char *err, size_t errlen)
{
    char *e;
    if (!v || !isxdigit((unsigned char)*v))
        goto bad;
    errno = 0;
    unsigned long s = strtoul(v, &e, 16);
    if (errno || s > 31)
        goto bad;
    if (*e == '.') {
        char *e2;
        unsigned long fn = strtoul(e + 1, &e2, 16);
        if (e2 == e + 1 || *e2 || fn != 0) {
            snprintf(err, errlen, "%s: addr=%s: only function 0 is supported", what, v);
            return -1;
        }
    } else if (*e) {
        goto bad;
    }
    if (s < 2) {
        snprintf(err, errlen, "%s: addr=%s: slot %lu is taken by the %s", what, v, s,
                 s == 0 ? "host bridge" : "PIIX3 ISA bridge");
        return -1;
    }
    *slot = (int)s;
    return 0;
bad:
    snprintf(err, errlen, "%s: bad PCI address addr=%s (a slot 02-1f, optionally .0)", what,
             v ? v : "");
    return -1;
}

int netopt_parse_nic(struct netopt *o, const char *arg, char *err, size_t errlen)
{
    struct optlist l;
    if (optlist_split(&l, arg, "-nic", err, errlen) < 0)
        return -1;
    int rc = -1;
    char what[80];
    if (l.val[0] != NULL) {
        snprintf(err, errlen, "-nic: missing the backend type (-nic user[,...] or -nic none)");
        goto out;
    }
    const char *type = l.key[0];
    opt_what(what, sizeof(what), "-nic", type);
    if (!strcmp(type, "none")) {
        if (l.n > 1) {
            snprintf(err, errlen, "-nic none takes no options");
            goto out;
        }
        o->none = true;
        o->any = true;
        rc = 0;
        goto out;
    }
    if (strcmp(type, "user")) {
        bad_type(what, type, err, errlen);
        goto out;
    }
    struct netopt_netdev *d = netdev_new(o, NETOPT_NIC, what, err, errlen);
    struct netopt_nic *n = d ? nic_new(o, NETOPT_NIC, what, err, errlen) : NULL;
    if (!n)
        goto out;
    struct user_build b = {&d->user, false, false, false};
    const char *id = NULL;
    for (int i = 1; i < l.n; i++) {
        const char *k = l.key[i], *v = l.val[i];
        if (!strcmp(k, "id")) {
            id = v ? v : "";
            continue;
        }
        if (!strcmp(k, "model")) {
            if (!v || set_model(o, n, what, v, err, errlen) < 0) {
                if (!v)
                    snprintf(err, errlen, "%s: option 'model' needs a value", what);
                goto out;
            }
            continue;
        }
        if (!strcmp(k, "mac")) {
            char e[160];
            if (!v || netopt_parse_mac(v, n->mac, e, sizeof(e)) < 0) {
                snprintf(err, errlen, "%s: %s", what, v ? e : "option 'mac' needs a value");
                goto out;
            }
            n->mac_set = true;
            continue;
        }
        int r = parse_user_key(&b, what, k, v, err, errlen);
        if (r < 0)
            goto out;
        if (r == 0) {
            snprintf(err, errlen, "%s: unknown option '%s'", what, k);
            goto out;
        }
    }
    if (id) {
        if (set_id(o, d->id, what, id, err, errlen) < 0)
            goto out;
    } else {
        snprintf(d->id, sizeof(d->id), "_nic%d", o->nnics);
    }
    if (user_finish(&b, what, err, errlen) < 0)
        goto out;
    snprintf(n->netdev_id, sizeof(n->netdev_id), "%s", d->id);
    o->nnetdevs++;
    o->nnics++;
    o->any = true;
    rc = 0;
out:
    optlist_free(&l);
    return rc;
}

int netopt_parse_net(struct netopt *o, const char *arg, char *err, size_t errlen)
{
    struct optlist l;
    if (optlist_split(&l, arg, "-net", err, errlen) < 0)
        return -1;
    int rc = -1;
    char what[80];
    if (l.val[0] != NULL) {
        snprintf(err, errlen, "-net: missing the type (-net nic, -net user, -net none)");
        goto out;
    }
    const char *type = l.key[0];
    opt_what(what, sizeof(what), "-net", type);
    int hub = 0;
    bool hub_set = false;
    for (int i = 1; i < l.n; i++) {
        if (!strcmp(l.key[i], "vlan")) {
            unsigned long v;
            if (parse_uint(l.val[i], 0, 1000, &v) < 0) {
                snprintf(err, errlen, "%s: bad vlan '%s'", what, l.val[i] ? l.val[i] : "");
                goto out;
            }
            hub = (int)v;
            hub_set = true;
        }
    }
    if (!strcmp(type, "none")) {
        if (l.n > 1) {
            snprintf(err, errlen, "-net none takes no options");
            goto out;
        }
        o->none = true;
        o->any = true;
        rc = 0;
    } else if (!strcmp(type, "nic")) {
        struct netopt_nic *n = nic_new(o, NETOPT_NET, what, err, errlen);
        if (!n)
            goto out;
        for (int i = 1; i < l.n; i++) {
            const char *k = l.key[i], *v = l.val[i];
            if (!strcmp(k, "vlan"))
                continue;
            if (!v) {
                snprintf(err, errlen, "%s: option '%s' needs a value", what, k);
                goto out;
            }
            if (!strcmp(k, "model")) {
                if (set_model(o, n, what, v, err, errlen) < 0)
                    goto out;
            } else if (!strcmp(k, "macaddr")) {
                char e[160];
                if (netopt_parse_mac(v, n->mac, e, sizeof(e)) < 0) {
                    snprintf(err, errlen, "%s: %s", what, e);
                    goto out;
                }
                n->mac_set = true;
            } else if (!strcmp(k, "netdev")) {
                if (strlen(v) >= sizeof(n->netdev_id) || !*v) {
                    snprintf(err, errlen, "%s: bad netdev '%s'", what, v);
                    goto out;
                }
                strcpy(n->netdev_id, v);
            } else if (!strcmp(k, "addr")) {
                if (parse_pci_addr(what, v, &n->pci_slot, err, errlen) < 0)
                    goto out;
            } else if (!strcmp(k, "name") || !strcmp(k, "id")) {
                if (strlen(v) >= sizeof(n->id)) {
                    snprintf(err, errlen, "%s: %s= is too long", what, k);
                    goto out;
                }
                strcpy(n->id, v);
            } else {
                snprintf(err, errlen, "%s: unknown option '%s'", what, k);
                goto out;
            }
        }
        if (n->netdev_id[0] && hub_set) {
            snprintf(err, errlen, "%s: vlan= and netdev= are mutually exclusive", what);
            goto out;
        }
        n->hub = n->netdev_id[0] ? -1 : hub;
        o->nnics++;
        o->any = true;
        rc = 0;
    } else if (!strcmp(type, "user")) {
        struct netopt_netdev *d = netdev_new(o, NETOPT_NET, what, err, errlen);
        if (!d)
            goto out;
        d->hub = hub;
        struct user_build b = {&d->user, false, false, false};
        const char *id = NULL;
        for (int i = 1; i < l.n; i++) {
            const char *k = l.key[i], *v = l.val[i];
            if (!strcmp(k, "vlan"))
                continue;
            if (!strcmp(k, "id") || !strcmp(k, "name")) {
                id = v ? v : "";
                continue;
            }
            int r = parse_user_key(&b, what, k, v, err, errlen);
            if (r < 0)
                goto out;
            if (r == 0) {
                snprintf(err, errlen, "%s: unknown option '%s'", what, k);
                goto out;
            }
        }
        for (int i = 0; i < o->nnetdevs; i++) {
            if (o->netdevs[i].origin == NETOPT_NET && o->netdevs[i].hub == hub) {
                snprintf(err, errlen, "%s: a second -net user on vlan %d: tremu connects "
                         "one backend per vlan", what, hub);
                goto out;
            }
        }
        if (id) {
            if (set_id(o, d->id, what, id, err, errlen) < 0)
                goto out;
        } else {
            snprintf(d->id, sizeof(d->id), "_hub%d", hub);
        }
        if (user_finish(&b, what, err, errlen) < 0)
            goto out;
        o->nnetdevs++;
        o->any = true;
        rc = 0;
    } else {
        bad_type(what, type, err, errlen);
    }
out:
    optlist_free(&l);
    return rc;
}

static size_t driver_len(const char *arg)
{
    return strcspn(arg, ",");
}

bool netopt_device_is_nic(const char *arg)
{
    size_t n = driver_len(arg);
    char d[40];
    if (n >= sizeof(d))
        return false;
    memcpy(d, arg, n);
    d[n] = 0;
    /* "virtio" alone is a -nic model name, not a -device driver. */
    return (model_is_virtio(d) && strcmp(d, "virtio")) || model_is_other(d);
}

/* -device properties QEMU users pass that do not change what the guest sees
 * of our NIC; accepted and ignored. */
static const char *const device_ignored[] = {
    "romfile", "rombar", "bootindex", "vectors", "bus", NULL,
};

int netopt_parse_device_nic(struct netopt *o, const char *arg, char *err, size_t errlen)
{
    struct optlist l;
    if (optlist_split(&l, arg, "-device", err, errlen) < 0)
        return -1;
    int rc = -1;
    char what[80];
    opt_what(what, sizeof(what), "-device", l.key[0]);
    if (l.val[0] != NULL || !netopt_device_is_nic(arg)) {
        snprintf(err, errlen, "-device: '%s' is not a NIC", l.key[0]);
        goto out;
    }
    struct netopt_nic *n = nic_new(o, NETOPT_DEVICE, what, err, errlen);
    if (!n || set_model(o, n, what, l.key[0], err, errlen) < 0)
        goto out;
    for (int i = 1; i < l.n; i++) {
        const char *k = l.key[i], *v = l.val[i];
        if (!v) {
            snprintf(err, errlen, "%s: property '%s' needs a value", what, k);
            goto out;
        }
        if (!strcmp(k, "netdev")) {
            if (strlen(v) >= sizeof(n->netdev_id) || !*v) {
                snprintf(err, errlen, "%s: bad netdev '%s'", what, v);
                goto out;
            }
            strcpy(n->netdev_id, v);
        } else if (!strcmp(k, "mac")) {
            char e[160];
            if (netopt_parse_mac(v, n->mac, e, sizeof(e)) < 0) {
                snprintf(err, errlen, "%s: %s", what, e);
                goto out;
            }
            n->mac_set = true;
        } else if (!strcmp(k, "addr")) {
            if (parse_pci_addr(what, v, &n->pci_slot, err, errlen) < 0)
                goto out;
        } else if (!strcmp(k, "id")) {
            if (!id_valid(v)) {
                snprintf(err, errlen, "%s: bad id '%s'", what, v);
                goto out;
            }
            strcpy(n->id, v);
        } else {
            bool ignored = false;
            for (int j = 0; device_ignored[j]; j++)
                ignored |= !strcmp(k, device_ignored[j]);
            if (!strcmp(k, "bus") && strcmp(v, "pci.0") && strcmp(v, "pcie.0")) {
                snprintf(err, errlen, "%s: bus '%s' does not exist (tremu has pci.0)", what, v);
                goto out;
            }
            if (!ignored) {
                snprintf(err, errlen, "%s: unknown property '%s'", what, k);
                goto out;
            }
        }
    }
    o->nnics++;
    o->any = true;
    rc = 0;
out:
    optlist_free(&l);
    return rc;
}

static const char *origin_name(enum netopt_origin o)
{
    switch (o) {
    case NETOPT_NETDEV: return "-netdev";
    case NETOPT_NIC: return "-nic";
    case NETOPT_NET: return "-net";
    default: return "-device";
    }
}

static bool fwd_conflict(const struct net_hostfwd *a, const struct net_hostfwd *b)
{
    return a->udp == b->udp && a->host_port == b->host_port &&
           (a->host_addr.s_addr == b->host_addr.s_addr ||
            a->host_addr.s_addr == INADDR_ANY || b->host_addr.s_addr == INADDR_ANY);
}

int netopt_finish(struct netopt *o, bool default_net, char *err, size_t errlen)
{
    if (!o->any && default_net) {
        /* QEMU's implicit "-net nic -net user". */
        if (netopt_parse_net(o, "nic", err, errlen) < 0 ||
            netopt_parse_net(o, "user", err, errlen) < 0)
            return -1;
    }
    if (o->none && (o->nnics || o->nnetdevs)) {
        /* QEMU lets "none" only cancel the default NIC; keep the others. */
        warnf(o, "-net none / -nic none given with other network options: it only "
                 "removes the default NIC");
    }
    for (int d = 0; d < o->nnetdevs; d++)
        o->netdevs[d].nic = -1;
    for (int i = 0; i < o->nnics; i++) {
        struct netopt_nic *n = &o->nics[i];
        const char *what = origin_name(n->origin);
        n->netdev = -1;
        if (n->netdev_id[0]) {
            int d = find_netdev(o, n->netdev_id);
            if (d < 0) {
                snprintf(err, errlen, "%s %s: netdev '%s' not found (no -netdev with id=%s)",
                         what, n->model, n->netdev_id, n->netdev_id);
                return -1;
            }
            n->netdev = d;
        } else if (n->hub >= 0) {
            for (int d = 0; d < o->nnetdevs; d++)
                if (o->netdevs[d].origin == NETOPT_NET && o->netdevs[d].hub == n->hub)
                    n->netdev = d;
            if (n->netdev < 0)
                warnf(o, "-net nic: vlan %d has no -net user: this NIC is not connected", n->hub);
        } else if (n->origin == NETOPT_DEVICE) {
            warnf(o, "-device %s%s%s has no netdev=: it is not connected", n->model,
                  n->id[0] ? ",id=" : "", n->id);
        }
        if (n->netdev >= 0) {
            struct netopt_netdev *d = &o->netdevs[n->netdev];
            if (d->nic >= 0) {
                snprintf(err, errlen, "%s %s: netdev '%s' is already used by another NIC "
                         "(one NIC per backend: add a -netdev for each)",
                         what, n->model, d->id[0] == '_' ? "(-net user)" : d->id);
                return -1;
            }
            d->nic = i;
        }
    }
    for (int d = 0; d < o->nnetdevs; d++) {
        if (o->netdevs[d].nic < 0)
            warnf(o, "%s user%s%s is not connected to any NIC",
                  origin_name(o->netdevs[d].origin),
                  o->netdevs[d].id[0] == '_' ? "" : ",id=",
                  o->netdevs[d].id[0] == '_' ? "" : o->netdevs[d].id);
    }
    /* Two rules on one host port would make the second fail as "in use"
     * by ourselves: say what really happened. */
    for (int a = 0; a < o->nnetdevs; a++)
        for (int i = 0; i < o->netdevs[a].user.nfwd; i++)
            for (int b = a; b < o->nnetdevs; b++)
                for (int j = (b == a ? i + 1 : 0); j < o->netdevs[b].user.nfwd; j++) {
                    const struct net_hostfwd *x = &o->netdevs[a].user.fwd[i];
                    const struct net_hostfwd *y = &o->netdevs[b].user.fwd[j];
                    if (fwd_conflict(x, y)) {
                        snprintf(err, errlen, "hostfwd '%s' and '%s' both use host %s port %u",
                                 x->spec, y->spec, x->udp ? "UDP" : "TCP", x->host_port);
                        return -1;
                    }
                }

    /* Slots: explicit addr= first, QEMU's 00:03.0 for the first NIC without
     * one; -net/-nic NICs come before -device ones, as QEMU creates them. */
    for (int i = 0; i < o->nnics; i++)
        for (int j = i + 1; j < o->nnics; j++)
            if (o->nics[i].pci_slot >= 0 && o->nics[i].pci_slot == o->nics[j].pci_slot) {
                snprintf(err, errlen, "two NICs at PCI slot %02x", o->nics[i].pci_slot);
                return -1;
            }
    bool slot3_used = false;
    for (int i = 0; i < o->nnics; i++)
        slot3_used |= o->nics[i].pci_slot == NETOPT_FIRST_NIC_SLOT;
    int order[NETOPT_MAX_NICS], k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < o->nnics; i++)
            if ((o->nics[i].origin == NETOPT_DEVICE) == (pass == 1))
                order[k++] = i;
    for (int x = 0; x < k; x++) {
        struct netopt_nic *n = &o->nics[order[x]];
        if (n->pci_slot < 0 && !slot3_used) {
            n->pci_slot = NETOPT_FIRST_NIC_SLOT;
            slot3_used = true;
        }
    }
    /* MACs: QEMU's 52:54:00:12:34:56 + n, skipping any given explicitly. */
    int next = 0;
    for (int x = 0; x < k; x++) {
        struct netopt_nic *n = &o->nics[order[x]];
        if (n->mac_set)
            continue;
        for (;;) {
            uint8_t m[6] = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + next++)};
            bool clash = false;
            for (int j = 0; j < o->nnics; j++)
                clash |= o->nics[j].mac_set && !memcmp(o->nics[j].mac, m, 6);
            if (!clash) {
                memcpy(n->mac, m, 6);
                break;
            }
        }
    }
    return 0;
}
