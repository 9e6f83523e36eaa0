/* -chardev option strings and the -serial / -monitor spec forms QEMU
 * accepts, mapped onto the backends of ui/chardev_be.c and ui/char.c;
 * -device isa-serial. Messages follow QEMU's where scripts may look at them. */
#include "ui/chardev_opt.h"
#include "ui/chardev_int.h"
#include "ui/char.h"
#include "ui/monitor.h"
#include "hw/machine.h"
#include "hw/pc_pci.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KV 24

struct kv {
    char key[256];
    char val[1024];
    bool has_val;
    bool seen;
};

/* "a=b,c,d=e,,f": QEMU's option syntax (",," is a literal comma). The
 * first element may be a bare word (the backend or an address). */
static int kv_split(const char *s, struct kv *kv, int max, char *err, size_t errlen)
{
    int n = 0;
    while (*s) {
        if (n >= max) {
            snprintf(err, errlen, "too many options");
            return -1;
        }
        struct kv *k = &kv[n];
        memset(k, 0, sizeof(*k));
        char tmp[1024];
        size_t l = 0;
        for (; *s; s++) {
            if (*s == ',') {
                if (s[1] == ',') {
                    s++;
                } else {
                    break;
                }
            }
            if (l + 1 >= sizeof(tmp)) {
                snprintf(err, errlen, "option value too long");
                return -1;
            }
            tmp[l++] = *s;
        }
        tmp[l] = 0;
        if (*s == ',')
            s++;
        char *eq = strchr(tmp, '=');
        if (eq) {
            *eq = 0;
            k->has_val = true;
            snprintf(k->val, sizeof(k->val), "%s", eq + 1);
        }
        if (strlen(tmp) >= sizeof(k->key)) {
            snprintf(err, errlen, "option name '%.40s' too long", tmp);
            return -1;
        }
        snprintf(k->key, sizeof(k->key), "%s", tmp);
        n++;
    }
    return n;
}

static struct kv *kv_find(struct kv *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key)) {
            kv[i].seen = true;
            return &kv[i];
        }
    return NULL;
}

static const char *kv_str(struct kv *kv, int n, const char *key)
{
    struct kv *k = kv_find(kv, n, key);
    return k ? k->val : NULL;
}

/* on/off/yes/no/true/false; a bare key is on. -1 on a bad value. */
static int parse_bool(const struct kv *k, bool *out, char *err, size_t errlen)
{
    if (!k->has_val) {
        *out = true;
        return 0;
    }
    if (!strcmp(k->val, "on") || !strcmp(k->val, "yes") || !strcmp(k->val, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(k->val, "off") || !strcmp(k->val, "no") || !strcmp(k->val, "false")) {
        *out = false;
        return 0;
    }
    snprintf(err, errlen, "Parameter '%s' expects 'on' or 'off'", k->key);
    return -1;
}

static int kv_bool(struct kv *kv, int n, const char *key, bool *out, char *err, size_t errlen)
{
    struct kv *k = kv_find(kv, n, key);
    return k ? parse_bool(k, out, err, errlen) : 0;
}

static int kv_uint(struct kv *kv, int n, const char *key, unsigned long max,
                   unsigned long *out, char *err, size_t errlen)
{
    struct kv *k = kv_find(kv, n, key);
    if (!k)
        return 0;
    char *e;
    errno = 0;
    unsigned long v = strtoul(k->val, &e, 0);
    if (!k->val[0] || *e || errno || v > max) {
        snprintf(err, errlen, "Parameter '%s' expects a number up to %lu", key, max);
        return -1;
    }
    *out = v;
    return 1;
}

struct chardev_entry *chardev_set_find(struct chardev_set *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].id, id))
            return &s->e[i];
    return NULL;
}

static struct chardev_entry *set_put(struct chardev_set *s, const char *id,
                                     struct chardev *chr, struct chardev_be *be, bool mux,
                                     char *err, size_t errlen)
{
    if (s->n >= CHARDEV_MAX) {
        snprintf(err, errlen, "too many character devices (at most %d)", CHARDEV_MAX);
        if (chr && chr->close)
            chr->close(chr);
        return NULL;
    }
    struct chardev_entry *e = &s->e[s->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->chr = chr;
    e->be = be;
    e->mux = mux;
    return e;
}

void chardev_set_close_all(struct chardev_set *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i].chr && s->e[i].chr->close)
            s->e[i].chr->close(s->e[i].chr);
    s->n = 0;
}

/* Keys each backend takes besides id/mux/logfile/logappend. */
static const char *const socket_keys[] = {"host", "port", "path", "server", "wait", "nowait",
    "ipv4", "ipv6", "reconnect", "nodelay", "telnet", "to", "abstract", "tight", "delay",
    "websocket", "tn3270", "tls-creds", "numeric", NULL};
static const char *const udp_keys[] = {"host", "port", "localaddr", "localport", "ipv4",
    "ipv6", NULL};
static const char *const path_keys[] = {"path", "append", "input-path", NULL};
static const char *const ringbuf_keys[] = {"size", NULL};
static const char *const stdio_keys[] = {"signal", NULL};
static const char *const no_keys[] = {NULL};

static int check_keys(struct kv *kv, int n, int first, const char *const *allowed,
                      const char *backend, char *err, size_t errlen)
{
    static const char *const common[] = {"id", "mux", "logfile", "logappend", NULL};
    for (int i = first; i < n; i++) {
        bool ok = false;
        for (int j = 0; common[j] && !ok; j++)
            ok = !strcmp(kv[i].key, common[j]);
        for (int j = 0; allowed[j] && !ok; j++)
            ok = !strcmp(kv[i].key, allowed[j]);
        if (!ok) {
            snprintf(err, errlen, "Invalid parameter '%s' for chardev backend '%s'",
                     kv[i].key, backend);
            return -1;
        }
    }
    return 0;
}

static struct chardev_be *open_socket_kv(const char *label, struct kv *kv, int n, bool server_default,
                                         char *err, size_t errlen)
{
    struct sock_opts o = {0};
    o.host = kv_str(kv, n, "host");
    o.port = kv_str(kv, n, "port");
    o.path = kv_str(kv, n, "path");
    o.server = server_default;
    o.nodelay = false;
    bool wait_set = false;
    if (kv_bool(kv, n, "server", &o.server, err, errlen) < 0 ||
        kv_bool(kv, n, "telnet", &o.telnet, err, errlen) < 0 ||
        kv_bool(kv, n, "nodelay", &o.nodelay, err, errlen) < 0 ||
        kv_bool(kv, n, "ipv4", &o.ipv4, err, errlen) < 0 ||
        kv_bool(kv, n, "ipv6", &o.ipv6, err, errlen) < 0)
        return NULL;
    /* A server waits for its first client unless wait=off (or the old nowait). */
    o.wait = true;
    if (kv_find(kv, n, "wait")) {
        wait_set = true;
        if (kv_bool(kv, n, "wait", &o.wait, err, errlen) < 0)
            return NULL;
    }
    if (kv_find(kv, n, "nowait"))
        o.wait = false;
    if (!o.server)
        o.wait = false;
    (void)wait_set;
    unsigned long rc = 0;
    if (kv_uint(kv, n, "reconnect", 1000000, &rc, err, errlen) < 0)
        return NULL;
    o.reconnect_s = (int)rc;
    if (kv_find(kv, n, "websocket") || kv_find(kv, n, "tn3270") || kv_find(kv, n, "tls-creds")) {
        snprintf(err, errlen, "websocket, tn3270 and TLS sockets are not supported");
        return NULL;
    }
    if (kv_find(kv, n, "abstract")) {
        snprintf(err, errlen, "abstract unix sockets are not supported");
        return NULL;
    }
    if (o.path && (o.host || o.port)) {
        snprintf(err, errlen, "Cannot use both 'path' and 'host'/'port'");
        return NULL;
    }
    if (!o.path && !o.port) {
        snprintf(err, errlen, "chardev: socket: no host given");
        return NULL;
    }
    if (o.server && o.reconnect_s) {
        snprintf(err, errlen, "'reconnect' option is incompatible with 'server' option");
        return NULL;
    }
    return chardev_socket_open(label, &o, err, errlen);
}

static struct chardev_entry *open_backend(struct chardev_set *s, const char *id,
                                          const char *backend, struct kv *kv, int n, int first,
                                          bool mux, char *err, size_t errlen)
{
    struct chardev_be *be = NULL;
    struct chardev *chr = NULL;
    const char *path = NULL;
    if (!strcmp(backend, "socket")) {
        if (check_keys(kv, n, first, socket_keys, backend, err, errlen) < 0)
            return NULL;
        be = open_socket_kv(id, kv, n, false, err, errlen);
    } else if (!strcmp(backend, "udp")) {
        if (check_keys(kv, n, first, udp_keys, backend, err, errlen) < 0)
            return NULL;
        struct udp_opts o = {0};
        o.host = kv_str(kv, n, "host");
        o.port = kv_str(kv, n, "port");
        o.localaddr = kv_str(kv, n, "localaddr");
        o.localport = kv_str(kv, n, "localport");
        if (kv_bool(kv, n, "ipv4", &o.ipv4, err, errlen) < 0 ||
            kv_bool(kv, n, "ipv6", &o.ipv6, err, errlen) < 0)
            return NULL;
        if (!o.port) {
            snprintf(err, errlen, "chardev: udp: remote port not specified");
            return NULL;
        }
        be = chardev_udp_open(id, &o, err, errlen);
    } else if (!strcmp(backend, "pty")) {
        if (check_keys(kv, n, first, no_keys, backend, err, errlen) < 0)
            return NULL;
        be = chardev_pty_open(id, err, errlen);
    } else if (!strcmp(backend, "file") || !strcmp(backend, "pipe") ||
               !strcmp(backend, "serial") || !strcmp(backend, "tty")) {
        if (check_keys(kv, n, first, path_keys, backend, err, errlen) < 0)
            return NULL;
        path = kv_str(kv, n, "path");
        if (!path || !*path) {
            snprintf(err, errlen, "chardev: %s: no %s given", backend,
                     !strcmp(backend, "file") ? "filename" : "device path");
            return NULL;
        }
        if (!strcmp(backend, "file")) {
            bool append = false;
            if (kv_bool(kv, n, "append", &append, err, errlen) < 0)
                return NULL;
            be = chardev_file_open(id, path, append, kv_str(kv, n, "input-path"), err, errlen);
        } else if (!strcmp(backend, "pipe")) {
            be = chardev_pipe_open(id, path, err, errlen);
        } else {
            be = chardev_tty_open(id, path, err, errlen);
        }
    } else if (!strcmp(backend, "ringbuf") || !strcmp(backend, "memory")) {
        if (check_keys(kv, n, first, ringbuf_keys, backend, err, errlen) < 0)
            return NULL;
        unsigned long size = 65536;
        if (kv_uint(kv, n, "size", 64ul << 20, &size, err, errlen) < 0)
            return NULL;
        be = chardev_ringbuf_open(id, size, err, errlen);
    } else if (!strcmp(backend, "stdio")) {
        if (check_keys(kv, n, first, stdio_keys, backend, err, errlen) < 0)
            return NULL;
        bool sig = true;
        if (kv_bool(kv, n, "signal", &sig, err, errlen) < 0)
            return NULL;
        chr = chardev_open("stdio", mux, err, errlen);
        if (!chr)
            return NULL;
    } else if (!strcmp(backend, "null")) {
        if (check_keys(kv, n, first, no_keys, backend, err, errlen) < 0)
            return NULL;
        chr = chardev_open("null", false, err, errlen);
        if (!chr)
            return NULL;
    } else if (!strcmp(backend, "vc") || !strcmp(backend, "msmouse") ||
               !strcmp(backend, "braille") || !strcmp(backend, "spicevmc") ||
               !strcmp(backend, "spiceport") || !strcmp(backend, "qemu-vdagent") ||
               !strcmp(backend, "testdev") || !strcmp(backend, "wctablet") ||
               !strcmp(backend, "parallel") || !strcmp(backend, "parport")) {
        snprintf(err, errlen, "chardev backend '%s' is not supported by tremu (socket, udp, "
                 "pty, file, pipe, serial, stdio, null, ringbuf)", backend);
        return NULL;
    } else {
        snprintf(err, errlen, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    if (be)
        chr = chardev_be_chr(be);
    if (!chr)
        return NULL;
    if (mux && be) {
        /* The Ctrl-A switch lives in the stdio backend; elsewhere the one
         * frontend QEMU would share the line with is refused instead. */
        snprintf(err, errlen, "mux=on is supported with the stdio backend only");
        chr->close(chr);
        return NULL;
    }
    return set_put(s, id, chr, be, mux, err, errlen);
}

struct chardev_entry *chardev_set_add_opts(struct chardev_set *s, const char *opts,
                                           char *err, size_t errlen)
{
    struct kv kv[MAX_KV];
    char e2[384];
    int n = kv_split(opts, kv, MAX_KV, e2, sizeof(e2));
    if (n <= 0 || kv[0].has_val) {
        snprintf(err, errlen, "-chardev %s: %s", opts,
                 n < 0 ? e2 : "the backend name comes first (e.g. socket,id=ID,...)");
        return NULL;
    }
    kv[0].seen = true;
    const char *id = kv_str(kv, n, "id");
    if (!id || !*id) {
        snprintf(err, errlen, "-chardev %s: Parameter 'id' is missing", opts);
        return NULL;
    }
    if (chardev_set_find(s, id)) {
        snprintf(err, errlen, "-chardev %s: Duplicate ID '%s' for chardev", opts, id);
        return NULL;
    }
    bool mux = false;
    if (kv_bool(kv, n, "mux", &mux, e2, sizeof(e2)) < 0) {
        snprintf(err, errlen, "-chardev %s: %s", opts, e2);
        return NULL;
    }
    if (kv_find(kv, n, "logfile"))
        fprintf(stderr, "tremu: -chardev %s: logfile= is ignored\n", id);
    struct chardev_entry *e = open_backend(s, id, kv[0].key, kv, n, 1, mux, e2, sizeof(e2));
    if (!e)
        snprintf(err, errlen, "-chardev %s: %s", opts, e2);
    return e;
}

/* "host:port" with optional [v6] brackets; host may be empty. */
static int split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        snprintf(host, hl, "%.*s", (int)(rb - s - 1), s + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        snprintf(host, hl, "%.*s", (int)(colon - s), s);
    }
    snprintf(port, pl, "%s", colon + 1);
    return port[0] ? 0 : -1;
}

struct chardev_entry *chardev_set_add_spec(struct chardev_set *s, const char *spec,
                                           const char *label, bool mux, bool *mon,
                                           char *err, size_t errlen)
{
    char e2[384];
    char id[64];
    snprintf(id, sizeof(id), "%s", label);
    if (mon)
        *mon = false;
    if (!strncmp(spec, "mon:", 4)) {
        spec += 4;
        mux = true;
        if (mon)
            *mon = true;
    }
    if (!strncmp(spec, "chardev:", 8)) {
        struct chardev_entry *e = chardev_set_find(s, spec + 8);
        if (!e)
            snprintf(err, errlen, "'%s': chardev '%s' not found", spec, spec + 8);
        return e;
    }
    if (!strcmp(spec, "stdio") || !strcmp(spec, "null") || !strcmp(spec, "none") ||
        !strncmp(spec, "file:", 5)) {
        struct chardev *chr = chardev_open(spec, mux, e2, sizeof(e2));
        if (!chr) {
            snprintf(err, errlen, "%s", e2);
            return NULL;
        }
        return set_put(s, id, chr, NULL, mux && !strcmp(spec, "stdio"), err, errlen);
    }
    if (mux && strcmp(spec, "stdio")) {
        snprintf(err, errlen, "'mon:%s': the monitor can share stdio only", spec);
        return NULL;
    }
    struct chardev_be *be = NULL;
    if (!strcmp(spec, "pty")) {
        be = chardev_pty_open(id, e2, sizeof(e2));
    } else if (!strncmp(spec, "pipe:", 5)) {
        be = chardev_pipe_open(id, spec + 5, e2, sizeof(e2));
    } else if (spec[0] == '/') {
        be = chardev_tty_open(id, spec, e2, sizeof(e2));
    } else if (!strncmp(spec, "tcp:", 4) || !strncmp(spec, "telnet:", 7) ||
               !strncmp(spec, "unix:", 5)) {
        bool is_unix = spec[0] == 'u', telnet = spec[1] == 'e';
        const char *addr = strchr(spec, ':') + 1;
        struct kv kv[MAX_KV];
        int n = kv_split(addr, kv, MAX_KV, e2, sizeof(e2));
        if (n <= 0) {
            snprintf(err, errlen, "'%s': %s", spec, n < 0 ? e2 : "address missing");
            return NULL;
        }
        char host[256], port[32];
        struct kv *first = &kv[0];
        if (first->has_val) {
            snprintf(err, errlen, "'%s': address missing", spec);
            return NULL;
        }
        if (is_unix) {
            snprintf(first->key, sizeof(first->key), "path");
            snprintf(first->val, sizeof(first->val), "%s", addr);
            /* the path is up to the first unescaped comma */
            size_t pl = strcspn(addr, ",");
            snprintf(first->val, sizeof(first->val), "%.*s", (int)pl, addr);
            first->has_val = true;
        } else {
            if (split_hostport(first->key, host, sizeof(host), port, sizeof(port)) < 0) {
                /* kv_split cut the key at 32 chars: reparse from the spec */
                size_t al = strcspn(addr, ",");
                char a[512];
                snprintf(a, sizeof(a), "%.*s", (int)al, addr);
                if (split_hostport(a, host, sizeof(host), port, sizeof(port)) < 0) {
                    snprintf(err, errlen, "'%s': expected HOST:PORT", spec);
                    return NULL;
                }
            }
            /* turn the address into host= and port= entries */
            if (n + 1 > MAX_KV) {
                snprintf(err, errlen, "'%s': too many options", spec);
                return NULL;
            }
            snprintf(first->key, sizeof(first->key), "host");
            snprintf(first->val, sizeof(first->val), "%s", host);
            first->has_val = true;
            kv[n] = (struct kv){.has_val = true};
            snprintf(kv[n].key, sizeof(kv[n].key), "port");
            snprintf(kv[n].val, sizeof(kv[n].val), "%s", port);
            n++;
        }
        if (telnet) {
            if (n + 1 > MAX_KV) {
                snprintf(err, errlen, "'%s': too many options", spec);
                return NULL;
            }
            kv[n] = (struct kv){.has_val = false};
            snprintf(kv[n].key, sizeof(kv[n].key), "telnet");
            n++;
        }
        for (int i = 1; i < n; i++) {
            bool ok = false;
            for (int j = 0; socket_keys[j] && !ok; j++)
                ok = !strcmp(kv[i].key, socket_keys[j]);
            if (!ok) {
                snprintf(err, errlen, "'%s': unknown option '%s'", spec, kv[i].key);
                return NULL;
            }
        }
        be = open_socket_kv(id, kv, n, false, e2, sizeof(e2));
    } else if (!strncmp(spec, "udp:", 4)) {
        /* udp:[remote_host]:remote_port[@[src_ip]:src_port] */
        char a[512], host[256], port[32], lhost[256] = "", lport[32] = "";
        snprintf(a, sizeof(a), "%s", spec + 4);
        char *at = strchr(a, '@');
        if (at) {
            *at = 0;
            if (split_hostport(at + 1, lhost, sizeof(lhost), lport, sizeof(lport)) < 0) {
                snprintf(err, errlen, "'%s': expected udp:[HOST]:PORT[@[SRC]:SRCPORT]", spec);
                return NULL;
            }
        }
        if (split_hostport(a, host, sizeof(host), port, sizeof(port)) < 0) {
            snprintf(err, errlen, "'%s': expected udp:[HOST]:PORT[@[SRC]:SRCPORT]", spec);
            return NULL;
        }
        struct udp_opts o = {.host = host, .port = port, .localaddr = lhost, .localport = lport};
        be = chardev_udp_open(id, &o, e2, sizeof(e2));
    } else if (!strcmp(spec, "vc") || !strncmp(spec, "vc:", 3)) {
        /* QEMU's graphical console: there is none here. The port still exists. */
        fprintf(stderr, "tremu: -serial %s: no graphical console; the port's output is "
                "discarded\n", spec);
        struct chardev *chr = chardev_open("null", false, e2, sizeof(e2));
        return chr ? set_put(s, id, chr, NULL, false, err, errlen) : NULL;
    } else {
        snprintf(err, errlen, "'%s' is not a valid char driver (stdio, mon:stdio, pty, null, "
                 "none, file:PATH, pipe:PATH, tcp:HOST:PORT, telnet:HOST:PORT, unix:PATH, "
                 "udp:HOST:PORT, chardev:ID, /dev/DEVICE)", spec);
        return NULL;
    }
    if (!be) {
        snprintf(err, errlen, "'%s': %s", spec, e2);
        return NULL;
    }
    return set_put(s, id, chardev_be_chr(be), be, false, err, errlen);
}

/* ---- -device isa-serial ---- */

int chardev_opt_isa_serial(struct chardev_set *s, const char *arg, struct isa_serial_req *req,
                           char *err, size_t errlen)
{
    struct kv kv[MAX_KV];
    char e2[256];
    int n = kv_split(arg, kv, MAX_KV, e2, sizeof(e2));
    memset(req, 0, sizeof(*req));
    req->index = -1;
    if (n < 0) {
        snprintf(err, errlen, "-device %s: %s", arg, e2);
        return -1;
    }
    for (int i = 1; i < n; i++) {
        static const char *const ok[] = {"chardev", "index", "iobase", "irq", "id",
                                         "wakeup", NULL};
        bool good = false;
        for (int j = 0; ok[j] && !good; j++)
            good = !strcmp(kv[i].key, ok[j]);
        if (!good) {
            snprintf(err, errlen, "-device %s: Property 'isa-serial.%s' not found", arg,
                     kv[i].key);
            return -1;
        }
    }
    unsigned long v;
    int r;
    if ((r = kv_uint(kv, n, "index", 3, &v, e2, sizeof(e2))) < 0)
        goto bad;
    if (r)
        req->index = (int)v;
    if ((r = kv_uint(kv, n, "iobase", 0xfff8, &v, e2, sizeof(e2))) < 0)
        goto bad;
    if (r)
        req->iobase = (uint16_t)v;
    if ((r = kv_uint(kv, n, "irq", 15, &v, e2, sizeof(e2))) < 0)
        goto bad;
    if (r) {
        if (v == 0 || v == 2) {
            snprintf(e2, sizeof(e2), "irq %lu is not available to an ISA serial port", v);
            goto bad;
        }
        req->irq = (int)v;
    }
    const char *cid = kv_str(kv, n, "chardev");
    if (cid) {
        struct chardev_entry *e = chardev_set_find(s, cid);
        if (!e) {
            snprintf(err, errlen, "-device %s: Property 'isa-serial.chardev' can't find value "
                     "'%s'", arg, cid);
            return -1;
        }
        if (e->used && !e->mux) {
            snprintf(err, errlen, "-device %s: Property 'isa-serial.chardev' can't take value "
                     "'%s': Device '%s' is in use", arg, cid, cid);
            return -1;
        }
        e->used = true;
        req->chr = e->chr;
    }
    return 0;
bad:
    snprintf(err, errlen, "-device %s: %s", arg, e2);
    return -1;
}

/* ---- the command line ---- */

int chardev_cmdline_option(struct chardev_cmdline *c, const char *opt, const char *arg,
                           char *err, size_t errlen)
{
    if (!strcmp(opt, "-chardev")) {
        if (c->nchardev >= CHARDEV_MAX) {
            snprintf(err, errlen, "too many -chardev options (at most %d)", CHARDEV_MAX);
            return -1;
        }
        c->chardev[c->nchardev++] = arg;
        return 1;
    }
    if (!strcmp(opt, "-serial")) {
        if (c->nserial >= CMDLINE_MAX_SERIAL) {
            snprintf(err, errlen, "too many serial ports (at most %d)", CMDLINE_MAX_SERIAL);
            return -1;
        }
        c->serial[c->nserial++] = arg;
        return 1;
    }
    if (!strcmp(opt, "-monitor") || !strcmp(opt, "-qmp") || !strcmp(opt, "-qmp-pretty")) {
        if (!strcmp(arg, "none") || !strcmp(arg, "/dev/null") || !strcmp(arg, "null")) {
            c->monitor_none = true;
            return 1;
        }
        if (c->nmon >= CMDLINE_MAX_MON) {
            snprintf(err, errlen, "too many monitors (at most %d)", CMDLINE_MAX_MON);
            return -1;
        }
        c->mon[c->nmon].spec = arg;
        c->mon[c->nmon].qmp = strcmp(opt, "-monitor") != 0;
        c->mon[c->nmon].pretty = !strcmp(opt, "-qmp-pretty");
        c->nmon++;
        return 1;
    }
    return 0;
}

int chardev_cmdline_device(struct chardev_cmdline *c, const char *arg, char *err, size_t errlen)
{
    size_t n = strcspn(arg, ",");
    if ((n == 17 && !strncmp(arg, "virtio-serial-pci", 17)) ||
        (n == 13 && !strncmp(arg, "virtio-serial", 13))) {
        c->virtio_serial = true;
        return 1;
    }
    bool vcon = n == 11 && !strncmp(arg, "virtconsole", 11);
    if (vcon || (n == 14 && !strncmp(arg, "virtserialport", 14))) {
        if (c->nvport >= VIRTIO_CONSOLE_MAX_PORTS) {
            snprintf(err, errlen, "-device %s: at most %d virtio-serial ports", arg,
                     VIRTIO_CONSOLE_MAX_PORTS);
            return -1;
        }
        c->vport_console[c->nvport] = vcon;
        c->vport[c->nvport++] = arg;
        return 1;
    }
    if (!(n == 10 && !strncmp(arg, "isa-serial", 10)))
        return 0;
    if (c->nisa_serial >= CMDLINE_MAX_SERIAL) {
        snprintf(err, errlen, "-device %s: at most %d serial ports", arg, CMDLINE_MAX_SERIAL);
        return -1;
    }
    c->isa_serial[c->nisa_serial++] = arg;
    return 1;
}

/* virtconsole / virtserialport: port ids as QEMU's virtio-serial-bus gives
 * them (nr= if set; 0 is kept for the first console; otherwise the lowest
 * free id from 1), each on its own chardev. */
static int vports_finish(struct chardev_cmdline *c, struct machine_config *cfg, char *err,
                         size_t errlen)
{
    struct chardev_set *s = &c->set;
    if (!c->virtio_serial) {
        snprintf(err, errlen, "-device %s: No 'virtio-serial-bus' bus found for device '%s' "
                 "(add -device virtio-serial-pci)", c->vport[0],
                 c->vport_console[0] ? "virtconsole" : "virtserialport");
        return -1;
    }
    if (!cfg->pci) {
        snprintf(err, errlen, "-device %s: no PCI bus", c->vport[0]);
        return -1;
    }
    struct pci_devices_config *pc = cfg->pci;
    memset(pc->console_ports, 0, sizeof(pc->console_ports));
    pc->nconsole_ports = 0;
    for (int i = 0; i < c->nvport; i++) {
        const char *arg = c->vport[i], *drv = c->vport_console[i] ? "virtconsole" : "virtserialport";
        struct kv kv[MAX_KV];
        char e2[256];
        int n = kv_split(arg, kv, MAX_KV, e2, sizeof(e2));
        if (n < 0) {
            snprintf(err, errlen, "-device %s: %s", arg, e2);
            return -1;
        }
        kv[0].seen = true;
        static const char *const keys[] = {"chardev", "name", "nr", "id", "bus", NULL};
        for (int k = 1; k < n; k++) {
            int j = 0;
            while (keys[j] && strcmp(kv[k].key, keys[j]))
                j++;
            if (!keys[j]) {
                snprintf(err, errlen, "-device %s: Property '%s.%s' not found", arg, drv,
                         kv[k].key);
                return -1;
            }
        }
        const char *cid = kv_str(kv, n, "chardev"), *name = kv_str(kv, n, "name");
        struct chardev_entry *e = cid ? chardev_set_find(s, cid) : NULL;
        if (!e) {
            snprintf(err, errlen, "-device %s: Property '%s.chardev' %s", arg, drv,
                     cid ? "can't find the chardev" : "is required");
            return -1;
        }
        if (e->used && !e->mux) {
            snprintf(err, errlen, "-device %s: chardev '%s' is already in use", arg, cid);
            return -1;
        }
        if (name && (!*name || strlen(name) > 127)) {
            snprintf(err, errlen, "-device %s: name= must be 1 to 127 characters", arg);
            return -1;
        }
        for (int j = 0; name && j < VIRTIO_CONSOLE_MAX_PORTS; j++)
            if (pc->console_ports[j].name && !strcmp(pc->console_ports[j].name, name)) {
                snprintf(err, errlen, "-device %s: virtio-serial-bus: A port already exists "
                         "by name %s", arg, name);
                return -1;
            }
        unsigned long nr;
        int id = -1;
        if (kv_find(kv, n, "nr")) {
            if (kv_uint(kv, n, "nr", VIRTIO_CONSOLE_MAX_PORTS - 1, &nr, e2, sizeof(e2)) < 0) {
                snprintf(err, errlen, "-device %s: %s (tremu has ports 0 to %d)", arg, e2,
                         VIRTIO_CONSOLE_MAX_PORTS - 1);
                return -1;
            }
            id = (int)nr;
            if (id == 0 && !c->vport_console[i]) {
                snprintf(err, errlen, "-device %s: Port number 0 on virtio-serial devices "
                         "reserved for virtconsole devices for backward compatibility.", arg);
                return -1;
            }
            if (pc->console_ports[id].chr) {
                snprintf(err, errlen, "-device %s: virtio-serial-bus: A port already exists "
                         "at id %d", arg, id);
                return -1;
            }
        } else if (c->vport_console[i] && !pc->console_ports[0].chr) {
            id = 0;
        } else {
            for (int j = 1; j < VIRTIO_CONSOLE_MAX_PORTS && id < 0; j++)
                if (!pc->console_ports[j].chr)
                    id = j;
            if (id < 0) {
                snprintf(err, errlen, "-device %s: virtio-serial-bus: Maximum port limit for "
                         "this device reached", arg);
                return -1;
            }
        }
        e->used = true;
        pc->console_ports[id] = (struct virtio_console_port_cfg){
            .chr = e->chr, .console = c->vport_console[i], .name = name ? strdup(name) : NULL};
        if (id + 1 > pc->nconsole_ports)
            pc->nconsole_ports = id + 1;
    }
    return 0;
}

int chardev_cmdline_finish(struct chardev_cmdline *c, struct machine_config *cfg,
                           bool nographic, bool nodefaults, bool display_none,
                           char *err, size_t errlen)
{
    struct chardev_set *s = &c->set;
    for (int i = 0; i < c->nchardev; i++)
        if (!chardev_set_add_opts(s, c->chardev[i], err, errlen))
            return -1;

    /* Defaults as QEMU: -nographic puts serial 0 and the monitor on stdio,
     * shared through the Ctrl-A mux; without a display and without
     * -nographic, serial 0 is still stdio here (there is no vc). */
    bool default_serial = c->nserial == 0 && !nodefaults;
    bool default_monitor = c->nmon == 0 && !c->monitor_none && !nodefaults;
    const char *serial[CMDLINE_MAX_SERIAL];
    int nserial = c->nserial;
    memcpy(serial, c->serial, sizeof(serial));
    if (default_serial && (nographic || !display_none))
        serial[nserial++] = nographic && default_monitor ? "mon:stdio" : "stdio";
    else if (c->nserial == 0 && nographic)
        serial[nserial++] = "stdio";

    struct chardev_entry *mon_entry[CMDLINE_MAX_MON + 1] = {0};
    int nmon_entry = 0;
    bool stdio_mon = false;
    for (int i = 0; i < nserial; i++) {
        cfg->nserial = i + 1;
        if (!strcmp(serial[i], "none")) {
            cfg->serial[i] = NULL;      /* QEMU: no port at all */
            continue;
        }
        char label[16];
        snprintf(label, sizeof(label), "serial%d", i);
        bool mux = nographic || !strncmp(serial[i], "mon:", 4);
        bool mon = false;
        struct chardev_entry *e = chardev_set_add_spec(s, serial[i], label, mux, &mon, err,
                                                       errlen);
        if (!e) {
            char e2[512];
            snprintf(e2, sizeof(e2), "-serial %s", err);
            snprintf(err, errlen, "%s", e2);
            return -1;
        }
        if (e->used && !e->mux) {
            snprintf(err, errlen, "-serial %s: chardev '%s' is already in use", serial[i], e->id);
            return -1;
        }
        e->used = true;
        cfg->serial[i] = e->chr;
        if (mon && !stdio_mon) {
            c->mon_qmp[nmon_entry] = c->mon_pretty[nmon_entry] = false;
            mon_entry[nmon_entry++] = e;
            stdio_mon = true;
        }
    }
    for (int i = 0; i < c->nisa_serial; i++) {
        struct isa_serial_req r;
        if (chardev_opt_isa_serial(s, c->isa_serial[i], &r, err, errlen) < 0)
            return -1;
        int idx = r.index;
        if (idx < 0) {
            for (idx = 0; idx < MAX_SERIAL; idx++)
                if (idx >= cfg->nserial || (!cfg->serial[idx] && !cfg->serial_present[idx]))
                    break;
            if (idx >= MAX_SERIAL) {
                snprintf(err, errlen, "-device %s: all %d serial ports are in use",
                         c->isa_serial[i], MAX_SERIAL);
                return -1;
            }
        }
        if (idx < cfg->nserial && (cfg->serial[idx] || cfg->serial_present[idx])) {
            snprintf(err, errlen, "-device %s: serial port index %d is already in use",
                     c->isa_serial[i], idx);
            return -1;
        }
        if (!r.chr) {
            /* No chardev: the port exists, its output goes nowhere (QEMU). */
            struct chardev_entry *e = chardev_set_add_spec(s, "null", "isa-serial-null", false,
                                                           NULL, err, errlen);
            if (!e)
                return -1;
            r.chr = e->chr;
        }
        for (int k = cfg->nserial; k < idx; k++)
            cfg->serial[k] = NULL;
        if (idx + 1 > cfg->nserial)
            cfg->nserial = idx + 1;
        cfg->serial[idx] = r.chr;
        cfg->serial_present[idx] = true;
        cfg->serial_iobase[idx] = r.iobase;
        cfg->serial_irqnum[idx] = r.irq;
    }
    if (c->nvport && vports_finish(c, cfg, err, errlen) < 0)
        return -1;
    for (int i = 0; i < c->nmon; i++) {
        char label[16];
        snprintf(label, sizeof(label), "compat_monitor%d", i);
        bool mon = false;
        const char *spec = c->mon[i].spec;
        struct chardev_entry *e = chardev_set_add_spec(s, spec, label, false, &mon, err, errlen);
        if (!e) {
            char e2[512];
            snprintf(e2, sizeof(e2), "-%s %s", c->mon[i].qmp ? "qmp" : "monitor", err);
            snprintf(err, errlen, "%s", e2);
            return -1;
        }
        if (e->used && !e->mux) {
            snprintf(err, errlen, "-monitor %s: chardev '%s' is already in use", spec, e->id);
            return -1;
        }
        e->used = true;
        c->mon_qmp[nmon_entry] = c->mon[i].qmp;
        c->mon_pretty[nmon_entry] = c->mon[i].pretty;
        mon_entry[nmon_entry++] = e;
    }
    /* -nographic's monitor is the Ctrl-A C side of serial 0's stdio. */
    if (default_monitor && nographic && !stdio_mon && nmon_entry < CMDLINE_MAX_MON + 1) {
        for (int i = 0; i < s->n; i++)
            if (s->e[i].mux && s->e[i].used && !s->e[i].be) {
                c->mon_qmp[nmon_entry] = c->mon_pretty[nmon_entry] = false;
                mon_entry[nmon_entry++] = &s->e[i];
                break;
            }
    }
    for (int i = 0; i < nmon_entry; i++)
        c->mon_chr[i] = mon_entry[i]->chr;
    c->nmon_chr = nmon_entry;
    return 0;
}

/* A monitor alone on a descriptor backend (-monitor stdio): the board
 * watches only its serial ports' descriptors, so this one is watched here. */
static void mon_fd_input(void *opaque, int fd, short revents)
{
    (void)revents;
    struct chardev_watch *w = opaque;
    w->chr->read_ready(w->chr);
    if (w->chr->in_fd < 0)          /* EOF: nothing more will come */
        machine_unwatch_fd(w->m, fd);
}

int chardev_cmdline_attach(struct chardev_cmdline *c, struct machine *m)
{
    if (machine_add_poll_hook(m, chardev_set_fill, chardev_set_dispatch, &c->set) < 0) {
        fprintf(stderr, "tremu: no room for the character devices in the main loop\n");
        return -1;
    }
    for (int i = 0; i < c->nmon_chr; i++) {
        struct monitor *mon = monitor_new(m, c->mon_chr[i], c->mon_qmp[i], c->mon_pretty[i],
                                          &c->set);
        if (!mon)
            return -1;
        c->monitors[c->nmonitors++] = mon;
        struct chardev *chr = c->mon_chr[i];
        bool on_port = false;
        for (int k = 0; k < m->cfg->nserial; k++)
            on_port |= m->cfg->serial[k] == chr;
        if (!on_port && chr->in_fd >= 0 && chr->read_ready) {
            c->watch[i] = (struct chardev_watch){m, chr};
            machine_watch_fd(m, chr->in_fd, POLLIN, mon_fd_input, &c->watch[i]);
        }
    }
    return 0;
}
