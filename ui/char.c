/* Character backends: stdio (raw terminal, optional Ctrl-A mux like QEMU's
 * -nographic), file:, none/null. The devices' side is hw/chardev.h. */
#include "ui/char.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MUX_ESCAPE 0x01          /* Ctrl-A, as QEMU's default escape */
#define READ_CHUNK 256

struct fd_chardev {
    struct chardev chr;
    int out_fd;
    bool close_in, close_out;    /* descriptors we opened ourselves */
    bool is_stdio;
    bool mux;
    /* Ctrl-A mux state (QEMU's char-mux.c behaviour). */
    bool got_escape;
    bool timestamps;
    bool linestart;
    int64_t ts_start_ms;         /* -1: set at the first stamped line */
    /* Input taken from the fd that the frontend could not take yet (only
     * after a break shrank the room); delivered before the next read. */
    uint8_t pend[READ_CHUNK];
    size_t pend_len;
    /* The monitor as a second frontend (chardev_mux_attach): C-a c gives
     * it the input; without the mux it has the input always. */
    void (*mon_rx)(void *opaque, const uint8_t *buf, size_t len);
    void (*mon_focus)(void *opaque);
    void *mon_opaque;
    bool mon_has_focus;
};

/* The terminal as we found it; restored from atexit and signal handlers, so
 * only plain data and tcsetattr() (async-signal-safe) are used there. */
static struct termios saved_tty, raw_tty;
static volatile sig_atomic_t tty_saved;
static volatile sig_atomic_t tty_raw;   /* raw mode wanted: after open, before restore */
static bool stdio_in_use;

void chardev_restore_terminal(void)
{
    tty_raw = 0;
    if (tty_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

/* After a stop (Ctrl-Z with ISIG, or kill -STOP) the shell put the terminal
 * back in cooked mode; reapply ours on resume, as QEMU's stdio does. */
static void on_sigcont(int sig)
{
    (void)sig;
    int e = errno;
    if (tty_raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw_tty);
    errno = e;
}

/* Blocking-safe output: EINTR retried, partial writes continued, a
 * non-blocking descriptor (set by someone else) waited on; a broken pipe or
 * other error drops the rest (SIGPIPE is ignored by ui/main.c). */
static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t r = write(fd, buf, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                    return;
                continue;
            }
            return;
        }
        if (r == 0)
            return;
        buf += r;
        len -= (size_t)r;
    }
}

static void write_str(int fd, const char *s)
{
    write_all(fd, (const uint8_t *)s, strlen(s));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fd_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct fd_chardev *c = (struct fd_chardev *)chr;
    if (c->out_fd < 0)
        return;
    if (!c->timestamps) {
        write_all(c->out_fd, buf, len);
        return;
    }
    /* C-a t: each line starts with the time since the first stamped line,
     * in QEMU's format. */
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (c->linestart) {
            write_all(c->out_fd, buf + start, i - start);
            start = i;
            int64_t t = now_ms();
            if (c->ts_start_ms < 0)
                c->ts_start_ms = t;
            t -= c->ts_start_ms;
            int64_t secs = t / 1000;
            char stamp[64];
            snprintf(stamp, sizeof(stamp), "[%02d:%02d:%02d.%03d] ",
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                     (int)(t % 1000));
            write_str(c->out_fd, stamp);
            c->linestart = false;
        }
        if (buf[i] == '\n')
            c->linestart = true;
    }
    write_all(c->out_fd, buf + start, len - start);
}

static const char *const mux_help[] = {
    "C-a h    print this help\n\r",
    "C-a x    exit emulator\n\r",
    "C-a s    save disk data back to file (if -snapshot)\n\r",
    "C-a t    toggle console timestamps\n\r",
    "C-a b    send break (magic sysrq)\n\r",
    "C-a c    switch between console and monitor\n\r",
    "C-a C-a  sends C-a\n\r",
};

static void mux_print_help(struct fd_chardev *c)
{
    if (c->out_fd < 0)
        return;
    write_str(c->out_fd, "\n\r");
    for (size_t i = 0; i < sizeof(mux_help) / sizeof(mux_help[0]); i++)
        write_str(c->out_fd, mux_help[i]);
}

enum mux_action { MUX_NONE, MUX_DATA, MUX_BREAK };

/* One input byte through the escape state machine. MUX_DATA: the byte goes
 * to the guest. Unknown escapes are swallowed, as in QEMU. */
static enum mux_action mux_byte(struct fd_chardev *c, uint8_t ch)
{
    if (!c->got_escape) {
        if (ch == MUX_ESCAPE) {
            c->got_escape = true;
            return MUX_NONE;
        }
        return MUX_DATA;
    }
    c->got_escape = false;
    switch (ch) {
    case MUX_ESCAPE:
        return MUX_DATA;              /* C-a C-a sends one C-a */
    case 'h': case 'H': case '?':
        mux_print_help(c);
        break;
    case 'x': case 'X':
        if (c->out_fd >= 0)
            write_str(c->out_fd, "tremu: terminated\n\r");
        /* atexit handlers restore the terminal and flush disk images. */
        exit(0);
    case 's': case 'S':
        break;                        /* no -snapshot yet: nothing to commit */
    case 'b': case 'B':
        return MUX_BREAK;
    case 'c': case 'C':
        if (!c->mon_rx) {
            if (c->out_fd >= 0)
                write_str(c->out_fd, "\n\rtremu: no monitor on this terminal\n\r");
            break;
        }
        c->mon_has_focus = !c->mon_has_focus;
        if (c->out_fd >= 0)
            write_str(c->out_fd, "\r\n");
        if (c->mon_has_focus && c->mon_focus)
            c->mon_focus(c->mon_opaque);
        break;
    case 't': case 'T':
        c->timestamps = !c->timestamps;
        c->ts_start_ms = -1;
        c->linestart = false;
        break;
    default:
        break;
    }
    return MUX_NONE;
}

/* Hands buffered input to the frontend; returns true when all was taken. */
static bool deliver_pending(struct fd_chardev *c)
{
    struct chardev *chr = &c->chr;
    while (c->pend_len > 0) {
        size_t n = chardev_feed(chr, c->pend, c->pend_len);
        if (n == 0)
            return false;
        memmove(c->pend, c->pend + n, c->pend_len - n);
        c->pend_len -= n;
    }
    return true;
}

static void fd_close(struct chardev *chr);

/* Input while the monitor has the terminal: escapes still work. */
static void monitor_read(struct fd_chardev *c)
{
    struct chardev *chr = &c->chr;
    struct pollfd p = { .fd = chr->in_fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0)
        return;
    uint8_t buf[READ_CHUNK], mb[READ_CHUNK];
    ssize_t n = read(chr->in_fd, buf, sizeof(buf));
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            chr->in_fd = -1;
        return;
    }
    size_t mn = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (!c->mux) {
            mb[mn++] = buf[i];
            continue;
        }
        bool had = c->mon_has_focus;
        enum mux_action a = mux_byte(c, buf[i]);
        if (a != MUX_DATA)
            continue;
        if (had && c->mon_has_focus)
            mb[mn++] = buf[i];
        else if (c->pend_len < sizeof(c->pend))
            c->pend[c->pend_len++] = buf[i];   /* focus went back to the port */
    }
    if (mn)
        c->mon_rx(c->mon_opaque, mb, mn);
    if (c->pend_len && chr->can_receive && chr->receive)
        deliver_pending(c);
}

bool chardev_mux_attach(struct chardev *chr, void (*rx)(void *, const uint8_t *, size_t),
                        void (*focus)(void *), void *opaque)
{
    if (!chr || chr->close != fd_close)
        return false;
    struct fd_chardev *c = (struct fd_chardev *)chr;
    /* stdio, or (tests) descriptors with the mux; never a file: output. */
    if (!c->is_stdio && !(c->mux && chr->in_fd >= 0))
        return false;
    c->mon_rx = rx;
    c->mon_focus = focus;
    c->mon_opaque = opaque;
    /* Without the mux the terminal is the monitor's alone. */
    c->mon_has_focus = !c->mux;
    if (c->mon_has_focus && focus)
        focus(opaque);
    return true;
}

static void fd_read_ready(struct chardev *chr)
{
    struct fd_chardev *c = (struct fd_chardev *)chr;
    if (chr->in_fd < 0)
        return;
    if (c->mon_rx && c->mon_has_focus) {
        monitor_read(c);
        return;
    }
    bool have_fe = chr->can_receive && chr->receive;
    if (have_fe && !deliver_pending(c))
        return;

    /* Read no more than the frontend takes now: what stays in the fd is
     * not lost, the main loop polls again when the guest made room. With
     * no frontend the input is read and discarded, so Ctrl-A X still works. */
    size_t room = READ_CHUNK;
    if (have_fe) {
        int r = chr->can_receive(chr->fe_opaque);
        if (r <= 0)
            return;
        if ((size_t)r < room)
            room = (size_t)r;
    }
    /* Never block the I/O thread: a tty read waits for a byte, so read
     * only when something (data, EOF, error) is there. */
    struct pollfd p = { .fd = chr->in_fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0)
        return;
    uint8_t buf[READ_CHUNK];
    ssize_t n = read(chr->in_fd, buf, room);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        chr->in_fd = -1;                  /* broken input: stop polling it */
        return;
    }
    if (n == 0) {
        chr->in_fd = -1;                  /* EOF stops input, not the run */
        return;
    }
    /* pend is empty here: delivered above, or dropped (no frontend). */
    if (!c->mux) {
        memcpy(c->pend, buf, (size_t)n);
        c->pend_len = (size_t)n;
    } else {
        uint8_t mb[READ_CHUNK];
        size_t mn = 0;
        for (ssize_t i = 0; i < n; i++) {
            bool mon = c->mon_rx && c->mon_has_focus;
            switch (mux_byte(c, buf[i])) {
            case MUX_DATA:
                if (mon)
                    mb[mn++] = buf[i];     /* C-a c earlier in this read */
                else
                    c->pend[c->pend_len++] = buf[i];
                break;
            case MUX_BREAK:
                /* Data typed before the break reaches the guest first. */
                if (have_fe)
                    deliver_pending(c);
                if (chr->fe_break && chr->fe_opaque)
                    chr->fe_break(chr->fe_opaque);
                break;
            case MUX_NONE:
                break;
            }
        }
        if (mn)
            c->mon_rx(c->mon_opaque, mb, mn);
    }
    if (have_fe)
        deliver_pending(c);
    else
        c->pend_len = 0;
}

static void fd_close(struct chardev *chr)
{
    struct fd_chardev *c = (struct fd_chardev *)chr;
    if (c->is_stdio) {
        chardev_restore_terminal();
        stdio_in_use = false;
    }
    if (c->close_out && c->out_fd >= 0)
        close(c->out_fd);
    if (c->close_in && chr->in_fd >= 0)
        close(chr->in_fd);
    free(c);
}

static struct fd_chardev *fd_chardev_new(int in_fd, int out_fd, bool mux, const char *label)
{
    struct fd_chardev *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->chr.in_fd = in_fd;
    c->chr.read_ready = in_fd >= 0 ? fd_read_ready : NULL;
    c->chr.write = out_fd >= 0 ? fd_write : NULL;
    c->chr.close = fd_close;
    c->chr.label = label;
    c->out_fd = out_fd;
    c->mux = mux;
    c->ts_start_ms = -1;
    return c;
}

struct chardev *chardev_open_fds(int in_fd, int out_fd, bool mux)
{
    struct fd_chardev *c = fd_chardev_new(in_fd, out_fd, mux, "fds");
    return c ? &c->chr : NULL;
}

/* Raw mode for the guest's console: no echo, no line editing, no CR/NL
 * mapping on input, no output processing (the guest sends its own CRLF).
 * ISIG stays on without the mux so Ctrl-C ends tremu (QEMU's plain
 * -serial stdio); with the mux Ctrl-C belongs to the guest. */
static void stdio_raw(bool mux)
{
    struct termios t;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t) < 0)
        return;
    saved_tty = t;
    tty_saved = 1;
    t.c_iflag &= (tcflag_t)~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                             ICRNL | IXON);
    t.c_oflag &= (tcflag_t)~OPOST;
    t.c_lflag &= (tcflag_t)~(ECHO | ECHONL | ICANON | IEXTEN);
    if (mux)
        t.c_lflag &= (tcflag_t)~ISIG;
    else
        t.c_lflag |= ISIG;
    t.c_cflag &= (tcflag_t)~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    raw_tty = t;
    tty_raw = 1;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigcont;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCONT, &sa, NULL);
}

static const char *const not_yet[] = {
    "pty", "vc", "tcp", "telnet", "udp", "unix", "pipe", "socket", "serial",
    "tty", "parallel", "chardev", "msmouse", "braille", "ringbuf", "memory",
    "spicevmc", "spiceport", "websocket", "qemu-vdagent", "testdev", "wctablet",
};

struct chardev *chardev_open(const char *spec, bool mux, char *err, size_t errlen)
{
    const char *full = spec;
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty serial backend");
        return NULL;
    }
    if (!strncmp(spec, "mon:", 4)) {
        spec += 4;
        mux = true;
    }
    if (!strcmp(spec, "stdio")) {
        if (stdio_in_use) {
            snprintf(err, errlen, "'%s': stdio is already used by another serial port", full);
            return NULL;
        }
        struct fd_chardev *c = fd_chardev_new(STDIN_FILENO, STDOUT_FILENO, mux, full);
        if (!c) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        c->is_stdio = true;
        stdio_in_use = true;
        stdio_raw(mux);
        return &c->chr;
    }
    if (!strncmp(spec, "file:", 5)) {
        const char *path = spec + 5;
        if (!*path) {
            snprintf(err, errlen, "'%s': file: needs a path", full);
            return NULL;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
            return NULL;
        }
        struct fd_chardev *c = fd_chardev_new(-1, fd, false, full);
        if (!c) {
            close(fd);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        c->close_out = true;
        return &c->chr;
    }
    if (!strcmp(spec, "none") || !strcmp(spec, "null")) {
        struct fd_chardev *c = fd_chardev_new(-1, -1, false, full);
        if (!c) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        return &c->chr;
    }
    size_t kind = strcspn(spec, ":,");
    for (size_t i = 0; i < sizeof(not_yet) / sizeof(not_yet[0]); i++) {
        if (strlen(not_yet[i]) == kind && !strncmp(spec, not_yet[i], kind)) {
            snprintf(err, errlen, "serial backend '%s' is not supported yet "
                     "(stdio, mon:stdio, file:PATH, none, null)", full);
            return NULL;
        }
    }
    if (spec[0] == '/') {
        snprintf(err, errlen, "serial backend '%s': host devices are not supported yet "
                 "(stdio, mon:stdio, file:PATH, none, null)", full);
        return NULL;
    }
    snprintf(err, errlen, "unknown serial backend '%s' (stdio, mon:stdio, file:PATH, none, null)",
             full);
    return NULL;
}
