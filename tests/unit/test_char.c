/* Character backends: the Ctrl-A mux through pipes, flow control toward the
 * frontend, file:, none, bad specs, and the terminal modes on a pty. */
#include "test.h"
#include "ui/char.h"
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct fe {
    int room;                  /* what can_receive answers */
    uint8_t got[1024];
    size_t n;
    int breaks;
};

static int fe_can(void *o) { return ((struct fe *)o)->room; }
static void fe_rx(void *o, const uint8_t *b, size_t len)
{
    struct fe *f = o;
    for (size_t i = 0; i < len && f->n < sizeof(f->got); i++)
        f->got[f->n++] = b[i];
    f->room -= (int)len;
}
/* A break takes a FIFO slot in the UART (the NUL byte). */
static void fe_brk(void *o) { ((struct fe *)o)->breaks++; ((struct fe *)o)->room--; }

struct rig {
    int in[2], out[2];
    struct chardev *chr;
    struct fe fe;
};

static void rig_open(struct rig *r, bool mux)
{
    memset(r, 0, sizeof(*r));
    if (pipe(r->in) || pipe(r->out)) {
        test_fail(__FILE__, __LINE__, "pipe");
        return;
    }
    fcntl(r->out[0], F_SETFL, O_NONBLOCK);
    r->chr = chardev_open_fds(r->in[0], r->out[1], mux);
    r->fe.room = 1000;
    chardev_set_frontend(r->chr, fe_can, fe_rx, &r->fe);
    r->chr->fe_break = fe_brk;
}

static void rig_close(struct rig *r)
{
    r->chr->close(r->chr);
    close(r->in[0]); close(r->in[1]); close(r->out[0]); close(r->out[1]);
}

static void type(struct rig *r, const char *s, size_t len)
{
    if (write(r->in[1], s, len) != (ssize_t)len)
        test_fail(__FILE__, __LINE__, "short write to pipe");
}

/* Everything the backend wrote so far, NUL-terminated. */
static size_t drain(struct rig *r, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(r->out[0], buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = 0;
    return n;
}

TEST(char_mux_escape_passes_one_ctrl_a)
{
    struct rig r;
    rig_open(&r, true);
    type(&r, "a\x01\x01" "b", 4);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 3);
    CHECK(!memcmp(r.fe.got, "a\x01" "b", 3));
    /* An escape split across reads keeps its state. */
    type(&r, "\x01", 1);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 3);
    type(&r, "\x01" "c", 2);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 5);
    CHECK(!memcmp(r.fe.got + 3, "\x01" "c", 2));
    /* Unknown escapes are swallowed, like QEMU. */
    type(&r, "\x01" "zq", 3);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 6);
    CHECK_EQ(r.fe.got[5], 'q');
    char out[256];
    CHECK_EQ(drain(&r, out, sizeof(out)), 0);
    rig_close(&r);
}

TEST(char_mux_help)
{
    struct rig r;
    rig_open(&r, true);
    type(&r, "\x01h", 2);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 0);
    char out[2048];
    drain(&r, out, sizeof(out));
    CHECK(strstr(out, "C-a h    print this help\n\r") != NULL);
    CHECK(strstr(out, "C-a x    exit emulator\n\r") != NULL);
    CHECK(strstr(out, "C-a s    save disk data back to file (if -snapshot)\n\r") != NULL);
    CHECK(strstr(out, "C-a t    toggle console timestamps\n\r") != NULL);
    CHECK(strstr(out, "C-a b    send break (magic sysrq)\n\r") != NULL);
    CHECK(strstr(out, "C-a c    switch between console and monitor\n\r") != NULL);
    CHECK(strstr(out, "C-a C-a  sends C-a\n\r") != NULL);
    type(&r, "\x01" "c", 2);
    r.chr->read_ready(r.chr);
    drain(&r, out, sizeof(out));
    CHECK(strstr(out, "no monitor on this terminal") != NULL);
    CHECK_EQ(r.fe.n, 0);
    rig_close(&r);
}

TEST(char_mux_break_and_order)
{
    struct rig r;
    rig_open(&r, true);
    type(&r, "ab\x01" "bc", 5);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.breaks, 1);
    CHECK_EQ(r.fe.n, 3);
    CHECK(!memcmp(r.fe.got, "abc", 3));
    rig_close(&r);
}

TEST(char_mux_timestamps)
{
    struct rig r;
    rig_open(&r, true);
    char out[512];
    const uint8_t line[] = "one\r\ntwo\r\n";
    chardev_write(r.chr, line, sizeof(line) - 1);
    drain(&r, out, sizeof(out));
    CHECK(!strcmp(out, "one\r\ntwo\r\n"));
    type(&r, "\x01t", 2);
    r.chr->read_ready(r.chr);
    /* As QEMU: the first stamp comes after the next newline. */
    chardev_write(r.chr, line, sizeof(line) - 1);
    drain(&r, out, sizeof(out));
    CHECK(!strncmp(out, "one\r\n[00:00:00.", 15));
    CHECK(strstr(out, "] two\r\n") != NULL);
    CHECK(out[strlen(out) - 1] == '\n');
    type(&r, "\x01t", 2);
    r.chr->read_ready(r.chr);
    chardev_write(r.chr, line, sizeof(line) - 1);
    drain(&r, out, sizeof(out));
    CHECK(!strcmp(out, "one\r\ntwo\r\n"));
    rig_close(&r);
}

TEST(char_no_mux_passes_ctrl_a)
{
    struct rig r;
    rig_open(&r, false);
    type(&r, "\x01h\x01x", 4);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 4);
    CHECK(!memcmp(r.fe.got, "\x01h\x01x", 4));
    rig_close(&r);
}

TEST(char_reads_only_what_frontend_takes)
{
    struct rig r;
    rig_open(&r, true);
    type(&r, "hello", 5);
    r.fe.room = 0;
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 0);
    r.fe.room = 2;
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 2);
    r.chr->read_ready(r.chr);        /* room used up: nothing read */
    CHECK_EQ(r.fe.n, 2);
    r.fe.room = 100;
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 5);
    CHECK(!memcmp(r.fe.got, "hello", 5));
    /* A break taking the last slot: the data after it waits, is not lost. */
    r.fe.n = 0;
    type(&r, "\x01" "bxy", 4);
    r.fe.room = 2;
    r.chr->read_ready(r.chr);        /* reads "\x01" "b" only: room 2 */
    CHECK_EQ(r.fe.breaks, 1);
    r.fe.room = 1;
    r.chr->read_ready(r.chr);
    r.fe.room = 1;
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 2);
    CHECK(!memcmp(r.fe.got, "xy", 2));
    rig_close(&r);
}

TEST(char_eof_stops_input)
{
    struct rig r;
    rig_open(&r, true);
    /* Nothing typed: returns at once (alarm: a blocking read would hang). */
    alarm(5);
    r.chr->read_ready(r.chr);
    alarm(0);
    CHECK_EQ(r.fe.n, 0);
    CHECK(r.chr->in_fd >= 0);
    type(&r, "z", 1);
    close(r.in[1]);
    r.in[1] = -1;
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 1);
    CHECK(r.chr->in_fd >= 0);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.chr->in_fd, -1);
    r.chr->read_ready(r.chr);        /* harmless afterwards */
    chardev_write(r.chr, (const uint8_t *)"still", 5);
    char out[64];
    drain(&r, out, sizeof(out));
    CHECK(!strcmp(out, "still"));
    rig_close(&r);
}

TEST(char_mux_exit)
{
    struct rig r;
    rig_open(&r, true);
    type(&r, "\x01x", 2);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        r.chr->read_ready(r.chr);
        _exit(42);                    /* not reached when C-a x works */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    char out[256];
    drain(&r, out, sizeof(out));
    CHECK(strstr(out, "tremu: terminated") != NULL);
    rig_close(&r);
}

TEST(char_file_backend)
{
    char path[] = "/tmp/tremu-char-XXXXXX";
    int tfd = mkstemp(path);
    CHECK(tfd >= 0);
    if (write(tfd, "old contents", 12) != 12)
        test_fail(__FILE__, __LINE__, "write");
    close(tfd);
    char spec[64], err[256];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct chardev *c = chardev_open(spec, false, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ(c->in_fd, -1);
        chardev_write(c, (const uint8_t *)"abc\r\n", 5);
        chardev_write(c, (const uint8_t *)"def", 3);
        c->close(c);
    }
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    CHECK_EQ(n, 8);
    CHECK(!strcmp(buf, "abc\r\ndef"));   /* truncated, then written */
    unlink(path);
    CHECK(chardev_open("file:/nonexistent-dir/x", false, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent-dir/x") != NULL);
    CHECK(chardev_open("file:", false, err, sizeof(err)) == NULL);
}

TEST(char_none_null)
{
    char err[256];
    const char *specs[] = { "none", "null" };
    for (int i = 0; i < 2; i++) {
        struct chardev *c = chardev_open(specs[i], false, err, sizeof(err));
        CHECK(c != NULL);
        if (!c)
            continue;
        CHECK_EQ(c->in_fd, -1);
        chardev_write(c, (const uint8_t *)"dropped", 7);
        c->close(c);
    }
}

TEST(char_bad_specs)
{
    char err[256];
    const char *bad[] = { "pty", "tcp:localhost:4444,server", "telnet::5555", "unix:/tmp/s",
                          "vc", "bogus", "/dev/ttyS0", "mon:pty", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        CHECK(chardev_open(bad[i], false, err, sizeof(err)) == NULL);
        CHECK(err[0] != 0);
        if (bad[i][0])
            CHECK(strstr(err, bad[i]) != NULL);
    }
    chardev_open("pty", false, err, sizeof(err));
    CHECK(strstr(err, "not supported yet") != NULL);
}

/* stdio in a child whose stdin/stdout are a pty (the terminal path) or a
 * pipe (no termios at all). The child reports failures as exit bits. */
static int stdio_child(bool use_pty, bool mux)
{
    int fail = 0;
    int m = -1, s = -1, p[2] = { -1, -1 };
    struct termios before, during, after;
    if (use_pty) {
        m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || grantpt(m) || unlockpt(m))
            return 100;
        s = open(ptsname(m), O_RDWR | O_NOCTTY);
        if (s < 0)
            return 101;
        dup2(s, 0);
        dup2(s, 1);
        tcgetattr(0, &before);
    } else {
        if (pipe(p))
            return 102;
        dup2(p[0], 0);
    }
    char err[256];
    struct chardev *c = chardev_open(mux ? "mon:stdio" : "stdio", false, err, sizeof(err));
    if (!c)
        return 103;
    if (chardev_open("stdio", false, err, sizeof(err)) != NULL)
        fail |= 1;                               /* stdio only once */
    if (use_pty) {
        tcgetattr(0, &during);
        if (during.c_lflag & (ECHO | ICANON))
            fail |= 2;
        if (during.c_oflag & OPOST)
            fail |= 2;
        if (during.c_iflag & (ICRNL | IXON | INLCR))
            fail |= 2;
        if (!!(during.c_lflag & ISIG) != !mux)
            fail |= 4;
        /* A shell cooked the terminal while we were stopped: SIGCONT
         * brings raw mode back. */
        tcsetattr(0, TCSANOW, &before);
        raise(SIGCONT);
        struct termios resumed;
        tcgetattr(0, &resumed);
        if (resumed.c_lflag != during.c_lflag || resumed.c_oflag != during.c_oflag)
            fail |= 64;
        chardev_restore_terminal();
        chardev_restore_terminal();              /* idempotent */
        raise(SIGCONT);                          /* no raw mode after restore */
        tcgetattr(0, &after);
        if (after.c_lflag != before.c_lflag || after.c_iflag != before.c_iflag ||
            after.c_oflag != before.c_oflag)
            fail |= 8;
        /* Input bytes arrive unmodified (CR stays CR). */
        struct fe fe = { .room = 100 };
        chardev_set_frontend(c, fe_can, fe_rx, &fe);
        tcsetattr(0, TCSANOW, &during);
        /* With the mux Ctrl-C is data; without it the tty turns it into
         * SIGINT (and flushes), so only send it with the mux. */
        uint8_t last = mux ? 0x03 : 'q';
        uint8_t keys[2] = { '\r', last };
        if (write(m, keys, 2) != 2)
            fail |= 16;
        /* The pty hands bytes to the slave side asynchronously: wait for
         * them (a loaded host may take long), do not guess a delay. */
        for (int i = 0; i < 200 && fe.n < 2; i++) {
            struct pollfd pf = { .fd = 0, .events = POLLIN };
            if (poll(&pf, 1, 100) > 0)
                c->read_ready(c);
        }
        if (fe.n != 2 || fe.got[0] != '\r' || fe.got[1] != last)
            fail |= 16;
    } else {
        struct fe fe = { .room = 100 };
        chardev_set_frontend(c, fe_can, fe_rx, &fe);
        if (write(p[1], "\r\n", 2) != 2)
            fail |= 16;
        close(p[1]);
        c->read_ready(c);
        if (fe.n != 2 || fe.got[0] != '\r')
            fail |= 16;
        c->read_ready(c);
        if (c->in_fd != -1)
            fail |= 32;                          /* EOF: input stops */
    }
    c->close(c);
    return fail;
}

static void run_stdio_child(bool use_pty, bool mux)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);                     /* a hung read fails the test, not the run */
        _exit(stdio_child(use_pty, mux));
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        test_failf(__FILE__, __LINE__, "stdio child (pty=%d mux=%d) failed: code %d",
                   use_pty, mux, WEXITSTATUS(st));
}

TEST(char_stdio_terminal_modes)
{
    run_stdio_child(true, false);
    run_stdio_child(true, true);
    run_stdio_child(false, false);
}

/* The monitor as the mux's second frontend: C-a c moves the input to it
 * and back; escapes keep working while it has the input. */
struct mon_fe {
    char got[256];
    size_t n;
    int focus;
};
static void mon_rx(void *o, const uint8_t *b, size_t len)
{
    struct mon_fe *m = o;
    for (size_t i = 0; i < len && m->n + 1 < sizeof(m->got); i++)
        m->got[m->n++] = (char)b[i];
}
static void mon_focus(void *o) { ((struct mon_fe *)o)->focus++; }

TEST(char_mux_ctrl_a_c_switches_to_monitor)
{
    struct rig r;
    rig_open(&r, true);
    struct mon_fe m = {0};
    CHECK(chardev_mux_attach(r.chr, mon_rx, mon_focus, &m));
    CHECK_EQ(m.focus, 0);                   /* the port has the input first */
    type(&r, "ls\r", 3);
    r.chr->read_ready(r.chr);
    CHECK_EQ(r.fe.n, 3);
    CHECK_EQ(m.n, 0);
    type(&r, "\x01" "cinfo status\r", 14);
    r.chr->read_ready(r.chr);
    CHECK_EQ(m.focus, 1);
    CHECK_EQ(r.fe.n, 3);                    /* nothing more for the guest */
    CHECK_EQ(m.n, 12);
    CHECK(!memcmp(m.got, "info status\r", 12));
    type(&r, "\x01" "c" "x", 3);            /* back to the port */
    r.chr->read_ready(r.chr);
    r.chr->read_ready(r.chr);
    CHECK_EQ(m.n, 12);
    CHECK_EQ(r.fe.n, 4);
    CHECK_EQ(r.fe.got[3], 'x');
    /* without the mux: no switching, and a file chardev has no monitor */
    struct rig r2;
    rig_open(&r2, false);
    CHECK(!chardev_mux_attach(r2.chr, mon_rx, mon_focus, &m));
    rig_close(&r2);
    rig_close(&r);
}
