/* VNC server (see ui/vnc.h). libvncserver speaks RFB; we own the listening
 * socket (so an address without a host binds 127.0.0.1 only, and unix:PATH
 * works) and hand each accepted connection to rfbNewClient. Input arrives
 * as X keysyms and absolute pointer positions (RFC 6143 §7.5.4-7.5.5): keys
 * become PS/2 scan codes (ui/keymap.c), the pointer a relative PS/2 mouse.
 *
 * password=on: VNC authentication with the password in $TREMU_VNC_PASSWORD
 * or set later by the monitor ("change vnc password", set_password vnc);
 * until one is set every login is refused, as QEMU does. */
#include "ui/vnc.h"
#include "ui/keymap.h"
#include "ui/display.h"
#include "hw/machine.h"
#include "hw/vga.h"
#include "hw/i8042.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vnc_addr {
    bool unix_sock, password;
    char host[256];
    int port;
    char path[108];
};

static int parse(const char *spec, struct vnc_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    char buf[512];
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "too long");
        return -1;
    }
    strcpy(buf, spec);
    char *opts = strchr(buf, ',');
    if (opts)
        *opts++ = 0;
    while (opts && *opts) {
        char *next = strchr(opts, ',');
        if (next)
            *next++ = 0;
        if (!strcmp(opts, "password") || !strcmp(opts, "password=on"))
            a->password = true;
        else if (!strcmp(opts, "password=off"))
            a->password = false;
        else {
            snprintf(err, errlen, "unknown option '%s' (known: password=on|off)", opts);
            return -1;
        }
        opts = next;
    }
    if (!strncmp(buf, "unix:", 5)) {
        if (!buf[5] || strlen(buf + 5) >= sizeof(a->path)) {
            snprintf(err, errlen, "unix: needs a socket path of at most %zu bytes", sizeof(a->path) - 1);
            return -1;
        }
        a->unix_sock = true;
        strcpy(a->path, buf + 5);
        return 0;
    }
    char *colon = strrchr(buf, ':');
    if (!colon) {
        snprintf(err, errlen, "expected [HOST]:DISPLAY, unix:PATH or none");
        return -1;
    }
    *colon = 0;
    char *e;
    long n = strtol(colon + 1, &e, 10);
    if (!colon[1] || *e || n < 0 || n > 65535 - 5900) {
        snprintf(err, errlen, "display number '%s' is not 0..%d", colon + 1, 65535 - 5900);
        return -1;
    }
    a->port = 5900 + (int)n;
    const char *h = buf;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {    /* [::1] */
        buf[hl - 1] = 0;
        h = buf + 1;
    }
    /* No host: loopback only (QEMU listens on all addresses; a student's
     * guest should not be reachable from the network by default). */
    if (strlen(h) >= sizeof(a->host)) {
        snprintf(err, errlen, "host name too long");
        return -1;
    }
    strcpy(a->host, *h ? h : "127.0.0.1");
    return 0;
}

int vnc_parse(const char *spec, char *err, size_t errlen)
{
    struct vnc_addr a;
    if (!strcmp(spec, "none"))
        return 0;
#ifndef CONFIG_VNC
    snprintf(err, errlen, "this tremu was built without VNC (install libvncserver-dev and rebuild)");
    return -1;
#endif
    return parse(spec, &a, err, errlen);
}

#ifndef CONFIG_VNC

struct vnc { int unused; };
struct vnc *vnc_open(struct machine *m, const char *spec, const char *name, char *err, size_t errlen)
{
    snprintf(err, errlen, "this tremu was built without VNC (install libvncserver-dev and rebuild)");
    return NULL;
}
int vnc_fill(struct vnc *v, struct pollfd *fds, int max) { return 0; }
void vnc_dispatch(struct vnc *v, struct pollfd *fds, int n) {}
bool vnc_has_clients(struct vnc *v) { return false; }
void vnc_refresh(struct vnc *v, const struct vga_surface *s, const struct vga_rect *r, bool resized) {}
void vnc_close(struct vnc *v) {}
int vnc_set_password(struct vnc *v, const char *pw, char *err, size_t errlen)
{
    snprintf(err, errlen, "this tremu was built without VNC");
    return -1;
}

#else

#include <rfb/rfb.h>

struct vnc {
    struct machine *m;
    struct vnc_addr addr;
    int listen_fd;
    rfbScreenInfoPtr screen;
    char *passwords[2];
    int last_x, last_y, last_mask;
    bool have_pos;
    uint32_t blank[8 * 8];
};

static void set_format(rfbScreenInfoPtr s)
{
    /* Our surface: 0x00RRGGBB in host (little-endian) words. */
    s->serverFormat.redShift = 16;
    s->serverFormat.greenShift = 8;
    s->serverFormat.blueShift = 0;
    s->serverFormat.redMax = s->serverFormat.greenMax = s->serverFormat.blueMax = 255;
}

static void on_key(rfbBool down, rfbKeySym key, rfbClientPtr cl)
{
    struct vnc *v = cl->screen->screenData;
    keymap_send(pc_i8042(v->m), keymap_from_keysym((uint32_t)key), down);
}

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
    struct vnc *v = cl->screen->screenData;
    /* RFB: bit 0 left, 1 middle, 2 right; PS/2 and the tablet: 0 left,
     * 1 right, 2 middle. Bits 3/4 are the wheel's up/down clicks. */
    unsigned b = (mask & 1) | ((mask & 4) ? 2 : 0) | ((mask & 2) ? 4 : 0);
    int wheel = (mask & 8) && !(v->last_mask & 8) ? 1 : (mask & 16) && !(v->last_mask & 16) ? -1 : 0;
    v->last_mask = mask;
    if (display_pointer_abs(v->m, x, y, v->screen->width, v->screen->height, b, wheel))
        return;
    int dx = 0, dy = 0;
    if (v->have_pos) {
        dx = x - v->last_x;
        dy = v->last_y - y;             /* PS/2: positive is up */
    }
    v->last_x = x;
    v->last_y = y;
    v->have_pos = true;
    struct i8042 *k = pc_i8042(v->m);
    if (k)
        i8042_mouse_event(k, dx, dy, b);
}

static rfbBool refuse_all(rfbClientPtr cl, const char *resp, int len)
{
    return FALSE;
}

static int listen_on(struct vnc_addr *a, char *err, size_t errlen)
{
    if (a->unix_sock) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, a->path);
        unlink(a->path);        /* a stale socket from an earlier run */
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", a->path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char port[8];
    snprintf(port, sizeof(port), "%d", a->port);
    int r = getaddrinfo(a->host, port, &hints, &res);
    if (r) {
        snprintf(err, errlen, "address '%s': %s", a->host, gai_strerror(r));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *p = res; p; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, 4) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", a->host, a->port, strerror(e));
    return fd;
}

struct vnc *vnc_open(struct machine *m, const char *spec, const char *name, char *err, size_t errlen)
{
    struct vnc *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->m = m;
    if (parse(spec, &v->addr, err, errlen) < 0 || (v->listen_fd = listen_on(&v->addr, err, errlen)) < 0) {
        free(v);
        return NULL;
    }
    if (!(m->cfg->debug_mask & DBG_GUEST_ERRORS))
        rfbLogEnable(0);
    /* Updates are written from the main loop: a viewer that stops reading
     * may hold it (and the devices) at most this long before it is
     * dropped (libvncserver's default is 20 s). */
    rfbMaxClientWait = 2000;
    int argc = 1;
    char *argv[] = {(char *)"tremu", NULL};
    /* A placeholder frame until the first refresh brings the real one. */
    v->screen = rfbGetScreen(&argc, argv, 8, 8, 8, 3, 4);
    if (!v->screen) {
        snprintf(err, errlen, "libvncserver: cannot create the screen");
        close(v->listen_fd);
        free(v);
        return NULL;
    }
    rfbScreenInfoPtr s = v->screen;
    s->frameBuffer = (char *)v->blank;
    set_format(s);
    s->desktopName = name;
    s->screenData = v;
    s->kbdAddEvent = on_key;
    s->ptrAddEvent = on_pointer;
    s->alwaysShared = TRUE;
    s->port = 0;                /* we listen ourselves */
    s->ipv6port = 0;
    s->autoPort = FALSE;
    s->httpDir = NULL;
    s->deferUpdateTime = 0;
    if (v->addr.password) {
        const char *pw = getenv("TREMU_VNC_PASSWORD");
        vnc_set_password(v, pw ? pw : "", err, errlen);
    }
    rfbInitServer(s);
    return v;
}

int vnc_set_password(struct vnc *v, const char *pw, char *err, size_t errlen)
{
    if (!v->addr.password) {
        snprintf(err, errlen, "Could not set password (the VNC server was not started with "
                 "password=on)");
        return -1;
    }
    rfbScreenInfoPtr s = v->screen;
    char *copy = NULL;
    if (*pw && !(copy = strndup(pw, 8))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(v->passwords[0]);
    v->passwords[0] = copy;
    v->passwords[1] = NULL;
    if (copy) {
        s->authPasswdData = v->passwords;
        s->passwordCheck = rfbCheckPasswordByList;
    } else {
        /* VNC auth offered, nothing accepted: like QEMU before a password
         * is set. */
        static char *none[] = {(char *)"\x01unset", NULL};
        s->authPasswdData = none;
        s->passwordCheck = refuse_all;
    }
    return 0;
}

int vnc_fill(struct vnc *v, struct pollfd *fds, int max)
{
    int n = 0;
    if (n < max)
        fds[n++] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
    rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
    rfbClientPtr cl;
    while ((cl = rfbClientIteratorNext(it)) && n < max)
        if (cl->sock != RFB_INVALID_SOCKET)
            fds[n++] = (struct pollfd){.fd = cl->sock, .events = POLLIN};
    rfbReleaseClientIterator(it);
    return n;
}

void vnc_dispatch(struct vnc *v, struct pollfd *fds, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        if (fds[i].fd == v->listen_fd) {
            int c = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 && !rfbNewClient(v->screen, c))
                close(c);
        } else {
            any = true;
        }
    }
    /* Client messages, and pending updates for clients that asked. */
    if (any || vnc_has_clients(v))
        rfbProcessEvents(v->screen, 0);
}

bool vnc_has_clients(struct vnc *v)
{
    return v->screen->clientHead != NULL;
}

void vnc_refresh(struct vnc *v, const struct vga_surface *s, const struct vga_rect *r, bool resized)
{
    if (resized || (char *)s->pixels != v->screen->frameBuffer) {
        rfbNewFramebuffer(v->screen, (char *)s->pixels, s->width, s->height, 8, 3, 4);
        set_format(v->screen);
        rfbMarkRectAsModified(v->screen, 0, 0, s->width, s->height);
    } else if (r->w > 0) {
        rfbMarkRectAsModified(v->screen, r->x, r->y, r->x + r->w, r->y + r->h);
    }
    rfbProcessEvents(v->screen, 0);
}

void vnc_close(struct vnc *v)
{
    if (!v)
        return;
    rfbShutdownServer(v->screen, TRUE);
    v->screen->frameBuffer = NULL;
    rfbScreenCleanup(v->screen);
    close(v->listen_fd);
    if (v->addr.unix_sock)
        unlink(v->addr.path);
    free(v->passwords[0]);
    free(v);
}

#endif
