/* The chardev layer: -chardev socket (client, server, reconnect, unix,
 * telnet), udp, pty, pipe, file, ringbuf, the -serial spec forms, and
 * -device isa-serial, all over loopback sockets on ports from bind(0). */
#include "test.h"
#include "ui/chardev_be.h"
#include "ui/chardev_opt.h"
#include "hw/machine.h"
#include "hw/pc_pci.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct fe {
    int room;
    uint8_t got[8192];
    size_t n;
};

static int fe_can(void *o) { return ((struct fe *)o)->room; }
static void fe_rx(void *o, const uint8_t *b, size_t len)
{
    struct fe *f = o;
    for (size_t i = 0; i < len && f->n < sizeof(f->got); i++)
        f->got[f->n++] = b[i];
}

/* One main-loop pass over the set: what machine_main_loop_iteration does. */
static void pump(struct chardev_set *s, int max_ms)
{
    struct pollfd p[64];
    int n = 0;
    uint64_t t = (uint64_t)max_ms * 1000000ULL;
    chardev_set_fill(s, p, &n, 64, &t);
    /* Round up: a deadline 0.2 ms away must not become a busy poll that
     * eats the callers' iteration bounds before the deadline comes. */
    int ms = (int)((t + 999999ULL) / 1000000ULL);
    if (ms > max_ms)
        ms = max_ms;
    int r = poll(p, (nfds_t)n, ms);
    if (r <= 0)
        for (int i = 0; i < n; i++)
            p[i].revents = 0;
    chardev_set_dispatch(s, p, n);
}

/* Pumps until cond holds or ~10 s passed (a bound against hangs, not a
 * speed check). */
#define PUMP_UNTIL(s, cond) do {                                        \
        for (int _i = 0; _i < 1000 && !(cond); _i++)                    \
            pump((s), 10);                                              \
    } while (0)

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons((uint16_t)*port);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
        close(fd);
        return -1;
    }
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nobody listens on: bound, never listened, closed. */
static int dead_port(void)
{
    int port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int accept_wait(struct chardev_set *s, int lfd)
{
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 0) == 1)
            return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        pump(s, 10);
    }
    return -1;
}

/* Reads from fd while pumping the set until want bytes came (or bound). */
static size_t read_pumping(struct chardev_set *s, int fd, char *buf, size_t want)
{
    size_t got = 0;
    for (int i = 0; i < 1000 && got < want; i++) {
        pump(s, 5);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) == 1) {
            ssize_t r = read(fd, buf + got, want - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
    }
    return got;
}

static void attach_fe(struct chardev *chr, struct fe *f)
{
    memset(f, 0, sizeof(*f));
    f->room = 1 << 20;
    chardev_set_frontend(chr, fe_can, fe_rx, f);
}

TEST(chardev_socket_client_both_ways)
{
    int port = 0;
    int lfd = listen_any(&port);
    CHECK(lfd >= 0);
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char opts[256], err[512];
    snprintf(opts, sizeof(opts), "socket,id=sensors0,host=127.0.0.1,port=%d,ipv4=on", port);
    struct chardev_entry *e = chardev_set_add_opts(&s, opts, err, sizeof(err));
    CHECK(e != NULL);
    if (!e) {
        printf("  %s\n", err);
        close(lfd);
        return;
    }
    struct fe f;
    attach_fe(e->chr, &f);
    int peer = accept_wait(&s, lfd);
    CHECK(peer >= 0);
    /* server → guest */
    CHECK_EQ(write(peer, "temp=21\n", 8), 8);
    PUMP_UNTIL(&s, f.n >= 8);
    CHECK_EQ(f.n, 8);
    CHECK(!memcmp(f.got, "temp=21\n", 8));
    /* guest → server */
    chardev_write(e->chr, (const uint8_t *)"ack\n", 4);
    char buf[16];
    CHECK_EQ(read_pumping(&s, peer, buf, 4), 4);
    CHECK(!memcmp(buf, "ack\n", 4));
    /* the server goes away: no crash, output dropped, still usable */
    close(peer);
    PUMP_UNTIL(&s, !chardev_be_connected(e->chr));
    CHECK(!chardev_be_connected(e->chr));
    chardev_write(e->chr, (const uint8_t *)"lost", 4);
    pump(&s, 10);
    chardev_set_close_all(&s);
    close(lfd);
}

TEST(chardev_socket_client_refused_at_start)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    int port = dead_port();
    char opts[256], err[512], want[128];
    snprintf(opts, sizeof(opts), "socket,id=sensors0,host=127.0.0.1,port=%d,ipv4=on", port);
    CHECK(chardev_set_add_opts(&s, opts, err, sizeof(err)) == NULL);
    /* QEMU 7.2: "-chardev socket,...: Failed to connect to '127.0.0.1:P': Connection refused" */
    snprintf(want, sizeof(want), "Failed to connect to '127.0.0.1:%d': Connection refused", port);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "-chardev socket,id=sensors0") == err);
    CHECK_EQ(s.n, 0);
}

TEST(chardev_socket_client_reconnects)
{
    int port = 0;
    int lfd = listen_any(&port);
    CHECK(lfd >= 0);
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char opts[256], err[512];
    snprintf(opts, sizeof(opts), "socket,id=c,host=127.0.0.1,port=%d,reconnect=1", port);
    struct chardev_entry *e = chardev_set_add_opts(&s, opts, err, sizeof(err));
    CHECK(e != NULL);
    if (!e) {
        close(lfd);
        return;
    }
    struct fe f;
    attach_fe(e->chr, &f);
    int peer = accept_wait(&s, lfd);
    CHECK(peer >= 0);
    PUMP_UNTIL(&s, chardev_be_connected(e->chr));
    CHECK(chardev_be_connected(e->chr));
    /* The server dies entirely (listener too), then comes back on the same port. */
    close(peer);
    close(lfd);
    PUMP_UNTIL(&s, !chardev_be_connected(e->chr));
    CHECK(!chardev_be_connected(e->chr));
    for (int i = 0; i < 20; i++)
        pump(&s, 10);                   /* attempts against nothing: no crash */
    int p2 = port;
    lfd = listen_any(&p2);
    CHECK(lfd >= 0 && p2 == port);
    peer = accept_wait(&s, lfd);
    CHECK(peer >= 0);
    PUMP_UNTIL(&s, chardev_be_connected(e->chr));
    CHECK(chardev_be_connected(e->chr));
    CHECK_EQ(write(peer, "back", 4), 4);
    PUMP_UNTIL(&s, f.n >= 4);
    CHECK(f.n == 4 && !memcmp(f.got, "back", 4));
    chardev_set_close_all(&s);
    close(peer);
    close(lfd);
}

TEST(chardev_socket_reconnect_server_absent_at_start)
{
    /* With reconnect=N a missing server is not an error at start (QEMU). */
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char opts[256], err[512];
    snprintf(opts, sizeof(opts), "socket,id=c,host=127.0.0.1,port=%d,reconnect=1", dead_port());
    int saved = dup(2), nul = open("/dev/null", O_WRONLY);
    dup2(nul, 2);                       /* the one "Unable to connect" line */
    struct chardev_entry *e = chardev_set_add_opts(&s, opts, err, sizeof(err));
    dup2(saved, 2);
    close(saved);
    close(nul);
    CHECK(e != NULL);
    if (e)
        CHECK(!chardev_be_connected(e->chr));
    chardev_set_close_all(&s);
}

TEST(chardev_socket_server_nowait)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char err[512];
    struct chardev_entry *e = chardev_set_add_opts(
        &s, "socket,id=srv,host=127.0.0.1,port=0,server=on,wait=off", err, sizeof(err));
    CHECK(e != NULL);
    if (!e)
        return;
    struct fe f;
    attach_fe(e->chr, &f);
    int port = chardev_be_port(e->chr);
    CHECK(port > 0);
    CHECK(!chardev_be_connected(e->chr));
    chardev_write(e->chr, (const uint8_t *)"nobody", 6);   /* dropped, no crash */
    for (int round = 0; round < 2; round++) {
        int c = connect_port(port);
        CHECK(c >= 0);
        PUMP_UNTIL(&s, chardev_be_connected(e->chr));
        CHECK(chardev_be_connected(e->chr));
        f.n = 0;
        CHECK_EQ(write(c, "in", 2), 2);
        PUMP_UNTIL(&s, f.n >= 2);
        CHECK(f.n == 2 && !memcmp(f.got, "in", 2));
        chardev_write(e->chr, (const uint8_t *)"out", 3);
        char buf[8];
        CHECK_EQ(read_pumping(&s, c, buf, 3), 3);
        CHECK(!memcmp(buf, "out", 3));
        close(c);
        PUMP_UNTIL(&s, !chardev_be_connected(e->chr));
        CHECK(!chardev_be_connected(e->chr));
    }
    chardev_set_close_all(&s);
}

TEST(chardev_socket_backpressure_keeps_input)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char err[512];
    struct chardev_entry *e = chardev_set_add_spec(&s, "tcp:127.0.0.1:0,server=on,wait=off",
                                                   "serial1", false, NULL, err, sizeof(err));
    CHECK(e != NULL);
    if (!e)
        return;
    struct fe f;
    attach_fe(e->chr, &f);
    f.room = 0;                         /* the UART FIFO is full */
    int c = connect_port(chardev_be_port(e->chr));
    PUMP_UNTIL(&s, chardev_be_connected(e->chr));
    CHECK_EQ(write(c, "0123456789abcdefXYZ", 19), 19);
    for (int i = 0; i < 10; i++)
        pump(&s, 5);
    CHECK_EQ(f.n, 0);
    f.room = 16;                        /* 16 fit; the rest waits, not lost */
    PUMP_UNTIL(&s, f.n >= 16);
    CHECK_EQ(f.n, 16);
    f.room = 100;
    PUMP_UNTIL(&s, f.n >= 19);
    CHECK_EQ(f.n, 19);
    CHECK(!memcmp(f.got, "0123456789abcdefXYZ", 19));
    close(c);
    chardev_set_close_all(&s);
}

TEST(chardev_unix_socket_and_telnet)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char dir[] = "/tmp/tremu-chr-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[96], spec[256], err[512];
    snprintf(path, sizeof(path), "%s/sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server=on,wait=off", path);
    struct chardev_entry *e = chardev_set_add_spec(&s, spec, "mon", false, NULL, err,
                                                   sizeof(err));
    CHECK(e != NULL);
    struct fe f;
    if (e) {
        attach_fe(e->chr, &f);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
        CHECK_EQ(write(c, "hi", 2), 2);
        PUMP_UNTIL(&s, f.n >= 2);
        CHECK(f.n == 2 && !memcmp(f.got, "hi", 2));
        close(c);
    }
    /* telnet: negotiation bytes stripped, IAC IAC is one 0xff */
    struct chardev_entry *t = chardev_set_add_spec(&s, "telnet:127.0.0.1:0,server=on,wait=off",
                                                   "tel", false, NULL, err, sizeof(err));
    CHECK(t != NULL);
    if (t) {
        attach_fe(t->chr, &f);
        int c = connect_port(chardev_be_port(t->chr));
        PUMP_UNTIL(&s, chardev_be_connected(t->chr));
        static const uint8_t in[] = {255, 253, 1, 'a', 255, 255, 'b', 255, 250, 24, 1, 255,
                                     240, 'c'};
        CHECK_EQ(write(c, in, sizeof(in)), sizeof(in));
        PUMP_UNTIL(&s, f.n >= 4);
        CHECK_EQ(f.n, 4);
        CHECK(!memcmp(f.got, "a\xff" "bc", 4));
        close(c);
    }
    chardev_set_close_all(&s);
    struct stat st;
    CHECK(stat(path, &st) < 0);         /* the server's socket file is removed */
    rmdir(dir);
}

TEST(chardev_udp_both_ways)
{
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(u, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t l = sizeof(a);
    getsockname(u, (struct sockaddr *)&a, &l);
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char spec[128], err[512];
    snprintf(spec, sizeof(spec), "udp:127.0.0.1:%d@127.0.0.1:0", ntohs(a.sin_port));
    struct chardev_entry *e = chardev_set_add_spec(&s, spec, "u", false, NULL, err, sizeof(err));
    CHECK(e != NULL);
    if (e) {
        struct fe f;
        attach_fe(e->chr, &f);
        chardev_write(e->chr, (const uint8_t *)"ping", 4);
        char buf[16];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        CHECK_EQ(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 4);
        CHECK(!memcmp(buf, "ping", 4));
        CHECK_EQ(sendto(u, "pong", 4, 0, (struct sockaddr *)&from, fl), 4);
        PUMP_UNTIL(&s, f.n >= 4);
        CHECK(f.n == 4 && !memcmp(f.got, "pong", 4));
    }
    chardev_set_close_all(&s);
    close(u);
}

TEST(chardev_pty_both_ways)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char err[512];
    /* The "char device redirected to" line goes to stdout, as QEMU's. */
    fflush(stdout);
    int saved = dup(1), nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    struct chardev_entry *e = chardev_set_add_opts(&s, "pty,id=p0", err, sizeof(err));
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(nul);
    CHECK(e != NULL);
    if (!e)
        return;
    struct fe f;
    attach_fe(e->chr, &f);
    char desc[256];
    chardev_be_describe(e->chr, desc, sizeof(desc));
    CHECK(!strncmp(desc, "pty:/dev/pts/", 13));
    for (int i = 0; i < 5; i++)
        pump(&s, 2);                    /* nobody on the other side: no spin, no crash */
    int sl = open(desc + 4, O_RDWR | O_NOCTTY);
    CHECK(sl >= 0);
    PUMP_UNTIL(&s, chardev_be_connected(e->chr));
    CHECK(chardev_be_connected(e->chr));
    CHECK_EQ(write(sl, "x\n", 2), 2);
    PUMP_UNTIL(&s, f.n >= 2);
    CHECK(f.n == 2 && !memcmp(f.got, "x\n", 2));
    chardev_write(e->chr, (const uint8_t *)"yz", 2);
    char buf[4];
    CHECK_EQ(read_pumping(&s, sl, buf, 2), 2);
    CHECK(!memcmp(buf, "yz", 2));
    close(sl);
    PUMP_UNTIL(&s, !chardev_be_connected(e->chr));
    CHECK(!chardev_be_connected(e->chr));
    chardev_write(e->chr, (const uint8_t *)"gone", 4);
    chardev_set_close_all(&s);
}

TEST(chardev_file_pipe_ringbuf)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char dir[] = "/tmp/tremu-chr-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char opts[512], path[256], err[512];
    snprintf(path, sizeof(path), "%s/log", dir);
    snprintf(opts, sizeof(opts), "file,id=f,path=%s", path);
    struct chardev_entry *e = chardev_set_add_opts(&s, opts, err, sizeof(err));
    CHECK(e != NULL);
    if (e)
        chardev_write(e->chr, (const uint8_t *)"one\n", 4);
    snprintf(opts, sizeof(opts), "file,id=f2,path=%s,append=on", path);
    struct chardev_entry *e2 = chardev_set_add_opts(&s, opts, err, sizeof(err));
    CHECK(e2 != NULL);
    if (e2)
        chardev_write(e2->chr, (const uint8_t *)"two\n", 4);
    /* pipe: PATH.in / PATH.out FIFOs */
    char pin[600], pout[600];
    snprintf(opts, sizeof(opts), "%s/p", dir);
    snprintf(pin, sizeof(pin), "%s.in", opts);
    snprintf(pout, sizeof(pout), "%s.out", opts);
    CHECK(mkfifo(pin, 0600) == 0 && mkfifo(pout, 0600) == 0);
    char popts[700];
    snprintf(popts, sizeof(popts), "pipe,id=p,path=%s", opts);
    struct chardev_entry *p = chardev_set_add_opts(&s, popts, err, sizeof(err));
    CHECK(p != NULL);
    if (p) {
        struct fe f;
        attach_fe(p->chr, &f);
        int wi = open(pin, O_WRONLY), ro = open(pout, O_RDONLY | O_NONBLOCK);
        CHECK_EQ(write(wi, "abc", 3), 3);
        PUMP_UNTIL(&s, f.n >= 3);
        CHECK(f.n == 3 && !memcmp(f.got, "abc", 3));
        chardev_write(p->chr, (const uint8_t *)"def", 3);
        char buf[4];
        CHECK_EQ(read_pumping(&s, ro, buf, 3), 3);
        CHECK(!memcmp(buf, "def", 3));
        close(wi);
        close(ro);
    }
    struct chardev_entry *r = chardev_set_add_opts(&s, "ringbuf,id=r,size=4", err, sizeof(err));
    CHECK(r != NULL);
    if (r) {
        chardev_write(r->chr, (const uint8_t *)"abcdef", 6);
        uint8_t buf[8];
        CHECK_EQ(chardev_ringbuf_read(r->chr, buf, sizeof(buf)), 4);
        CHECK(!memcmp(buf, "cdef", 4));  /* the newest size bytes */
    }
    CHECK(chardev_set_add_opts(&s, "ringbuf,id=r2,size=3", err, sizeof(err)) == NULL);
    chardev_set_close_all(&s);
    FILE *fp = fopen(path, "r");
    char line[64] = "";
    size_t n = fp ? fread(line, 1, sizeof(line) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK_EQ(n, 8);
    CHECK(!memcmp(line, "one\ntwo\n", 8));
    unlink(path);
    unlink(pin);
    unlink(pout);
    rmdir(dir);
}

TEST(chardev_bad_options_are_errors)
{
    static struct chardev_set s;
    memset(&s, 0, sizeof(s));
    char err[512];
    CHECK(!chardev_set_add_opts(&s, "socket,host=127.0.0.1,port=1", err, sizeof(err)));
    CHECK(strstr(err, "Parameter 'id' is missing"));
    CHECK(!chardev_set_add_opts(&s, "frob,id=x", err, sizeof(err)));
    CHECK(strstr(err, "'frob' is not a valid char driver name"));
    CHECK(!chardev_set_add_opts(&s, "socket,id=x,host=a,port=1,colour=red", err, sizeof(err)));
    CHECK(strstr(err, "Invalid parameter 'colour'"));
    CHECK(!chardev_set_add_opts(&s, "socket,id=x,port=0,server=maybe", err, sizeof(err)));
    CHECK(strstr(err, "expects 'on' or 'off'"));
    CHECK(!chardev_set_add_opts(&s, "socket,id=x,port=0,server=on,reconnect=2", err,
                                sizeof(err)));
    CHECK(strstr(err, "incompatible"));
    CHECK(!chardev_set_add_opts(&s, "socket,id=x", err, sizeof(err)));
    CHECK(!chardev_set_add_opts(&s, "file,id=x", err, sizeof(err)));
    CHECK(!chardev_set_add_opts(&s, "file,id=x,path=/nonexistent/dir/f", err, sizeof(err)));
    CHECK(strstr(err, "/nonexistent/dir/f"));
    CHECK(!chardev_set_add_opts(&s, "null,id=a,mux=on,x=1", err, sizeof(err)));
    CHECK(chardev_set_add_opts(&s, "null,id=a", err, sizeof(err)) != NULL);
    CHECK(!chardev_set_add_opts(&s, "null,id=a", err, sizeof(err)));
    CHECK(strstr(err, "Duplicate ID 'a'"));
    CHECK(!chardev_set_add_spec(&s, "tcp:1", "x", false, NULL, err, sizeof(err)));
    CHECK(!chardev_set_add_spec(&s, "bogus", "x", false, NULL, err, sizeof(err)));
    CHECK(!chardev_set_add_spec(&s, "chardev:nope", "x", false, NULL, err, sizeof(err)));
    CHECK(chardev_set_add_spec(&s, "chardev:a", "x", false, NULL, err, sizeof(err)) ==
          chardev_set_find(&s, "a"));
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK(!chardev_set_add_opts(&s, big, err, sizeof(err)));
    chardev_set_close_all(&s);
}

TEST(chardev_isa_serial_ports)
{
    static struct chardev_cmdline c;
    static struct machine_config cfg;
    memset(&c, 0, sizeof(c));
    memset(&cfg, 0, sizeof(cfg));
    char err[512];
    CHECK(chardev_cmdline_option(&c, "-chardev", "ringbuf,id=s1", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_option(&c, "-chardev", "null,id=s3", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_option(&c, "-serial", "null", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "isa-serial,chardev=s1,id=serial1,index=1", err,
                                 sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "isa-serial,chardev=s3,iobase=0x3e8,irq=5", err,
                                 sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "virtio-net-pci", err, sizeof(err)) == 0);
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) == 0);
    CHECK_EQ(cfg.nserial, 3);
    CHECK(cfg.serial[1] == chardev_set_find(&c.set, "s1")->chr);
    CHECK(cfg.serial[2] == chardev_set_find(&c.set, "s3")->chr);
    CHECK_EQ(cfg.serial_iobase[2], 0x3e8);
    CHECK_EQ(cfg.serial_irqnum[2], 5);
    CHECK_EQ(cfg.serial_iobase[1], 0);
    chardev_set_close_all(&c.set);

    /* errors: unknown chardev, an index taken twice, a chardev used twice, bad props */
    const char *bad[][3] = {
        {"null,id=a", "isa-serial,chardev=zz", "can't find value 'zz'"},
        {"null,id=a", "isa-serial,chardev=a,index=0", "index 0 is already in use"},
        {"null,id=a", "isa-serial,chardev=a,speed=9", "'isa-serial.speed' not found"},
        {"null,id=a", "isa-serial,chardev=a,index=7", "expects a number up to 3"},
        {"null,id=a", "isa-serial,chardev=a,irq=2", "irq 2"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0, sizeof(c));
        memset(&cfg, 0, sizeof(cfg));
        chardev_cmdline_option(&c, "-chardev", bad[i][0], err, sizeof(err));
        chardev_cmdline_option(&c, "-serial", "null", err, sizeof(err));
        chardev_cmdline_device(&c, bad[i][1], err, sizeof(err));
        err[0] = 0;
        CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) < 0);
        if (!strstr(err, bad[i][2]))
            test_failf(__FILE__, __LINE__, "%s: got '%s'", bad[i][1], err);
        chardev_set_close_all(&c.set);
    }
    /* virtconsole: needs the virtio-serial controller and a chardev */
    static struct pci_devices_config pci;
    memset(&c, 0, sizeof(c));
    memset(&cfg, 0, sizeof(cfg));
    memset(&pci, 0, sizeof(pci));
    cfg.pci = &pci;
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=hvc", err, sizeof(err));
    CHECK(chardev_cmdline_device(&c, "virtconsole,chardev=hvc", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) < 0);
    CHECK(strstr(err, "virtio-serial-bus") != NULL);
    chardev_set_close_all(&c.set);
    memset(&c, 0, sizeof(c));
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=hvc", err, sizeof(err));
    CHECK(chardev_cmdline_device(&c, "virtio-serial-pci,id=vs0", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "virtconsole,chardev=hvc,id=c0", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) == 0);
    CHECK(pci.nconsole_ports == 1 && pci.console_ports[0].console &&
          pci.console_ports[0].chr == chardev_set_find(&c.set, "hvc")->chr);
    chardev_set_close_all(&c.set);
    /* virtserialport: ids as QEMU gives them, names, nr=, errors */
    memset(&c, 0, sizeof(c));
    memset(&pci, 0, sizeof(pci));
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=a", err, sizeof(err));
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=b", err, sizeof(err));
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=h", err, sizeof(err));
    CHECK(chardev_cmdline_device(&c, "virtio-serial-pci", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "virtserialport,chardev=a,name=org.test.a", err,
                                 sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "virtconsole,chardev=h", err, sizeof(err)) == 1);
    CHECK(chardev_cmdline_device(&c, "virtserialport,chardev=b,name=b,nr=4", err,
                                 sizeof(err)) == 1);
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) == 0);
    CHECK_EQ(pci.nconsole_ports, 5);
    CHECK(pci.console_ports[0].console && pci.console_ports[0].chr ==
          chardev_set_find(&c.set, "h")->chr);
    CHECK(!pci.console_ports[1].console && pci.console_ports[1].name &&
          !strcmp(pci.console_ports[1].name, "org.test.a"));
    CHECK(pci.console_ports[4].chr == chardev_set_find(&c.set, "b")->chr);
    CHECK(!pci.console_ports[2].chr && !pci.console_ports[3].chr);
    chardev_set_close_all(&c.set);
    static const char *const vbad[][2] = {
        {"virtserialport,chardev=a,nr=0", "reserved for virtconsole"},
        {"virtserialport,chardev=a,nr=99", "ports 0 to"},
        {"virtserialport,chardev=a,speed=9", "Property 'virtserialport.speed' not found"},
        {"virtserialport,name=x", "'virtserialport.chardev' is required"},
        {"virtserialport,chardev=zz", "can't find the chardev"},
    };
    for (size_t i = 0; i < sizeof(vbad) / sizeof(vbad[0]); i++) {
        memset(&c, 0, sizeof(c));
        chardev_cmdline_option(&c, "-chardev", "ringbuf,id=a", err, sizeof(err));
        chardev_cmdline_device(&c, "virtio-serial-pci", err, sizeof(err));
        CHECK(chardev_cmdline_device(&c, vbad[i][0], err, sizeof(err)) == 1);
        err[0] = 0;
        CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) < 0);
        if (!strstr(err, vbad[i][1]))
            test_failf(__FILE__, __LINE__, "%s: got '%s'", vbad[i][0], err);
        chardev_set_close_all(&c.set);
    }
    memset(&c, 0, sizeof(c));
    chardev_cmdline_option(&c, "-chardev", "ringbuf,id=a", err, sizeof(err));
    chardev_cmdline_device(&c, "virtio-serial-pci", err, sizeof(err));
    chardev_cmdline_device(&c, "virtserialport,chardev=a,name=n", err, sizeof(err));
    chardev_cmdline_device(&c, "virtserialport,chardev=a,name=n", err, sizeof(err));
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) < 0);
    CHECK(strstr(err, "in use") != NULL);
    chardev_set_close_all(&c.set);

    memset(&c, 0, sizeof(c));
    memset(&cfg, 0, sizeof(cfg));
    chardev_cmdline_option(&c, "-chardev", "null,id=a", err, sizeof(err));
    chardev_cmdline_device(&c, "isa-serial,chardev=a", err, sizeof(err));
    chardev_cmdline_device(&c, "isa-serial,chardev=a", err, sizeof(err));
    CHECK(chardev_cmdline_finish(&c, &cfg, false, true, true, err, sizeof(err)) < 0);
    CHECK(strstr(err, "in use") != NULL);
    chardev_set_close_all(&c.set);
}
