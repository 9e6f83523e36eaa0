/* Display selection, the refresh loop and screendumps (see ui/display.h). */
#include "ui/display.h"
#include "ui/vnc.h"
#include "ui/sdl.h"
#include "ui/png.h"
#include "hw/machine.h"
#include "hw/vga.h"
#include "hw/virtio_input.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_NS (1000000000ULL / 30)     /* 30 frames a second at most */

struct display_state {
    struct machine *m;
    struct vnc *vnc;
    struct sdl_ui *sdl;
    uint64_t next_refresh;
    int vnc_nfds;
    unsigned long frames;       /* renderer runs (display_frames) */
};

bool display_is_option(const char *opt)
{
    return !strcmp(opt, "-display") || !strcmp(opt, "-vga") || !strcmp(opt, "-vnc") ||
           !strcmp(opt, "-screendump");
}

int display_option(struct display_opts *d, const char *opt, const char *arg)
{
    char err[256];
    if (!strcmp(opt, "-vga")) {
        if (!strcmp(arg, "std"))
            d->vga = 1;
        else if (!strcmp(arg, "none"))
            d->vga = 0;
        else {
            fprintf(stderr, "tremu: -vga %s: only 'std' (QEMU's standard VGA) and 'none' exist here\n", arg);
            return -1;
        }
    } else if (!strcmp(opt, "-display")) {
        size_t n = strcspn(arg, ",");
        if (n == 4 && !strncmp(arg, "none", 4))
            d->kind = DISPLAY_NONE;
        else if (n == 3 && !strncmp(arg, "sdl", 3)) {
            if (!sdl_built()) {
                fprintf(stderr, "tremu: -display sdl: this tremu was built without SDL2\n");
                return -1;
            }
            d->kind = DISPLAY_SDL;
            d->sdl_explicit = true;
        } else if (n == 3 && !strncmp(arg, "vnc", 3) && arg[3] == '=') {
            if (vnc_parse(arg + 4, err, sizeof(err)) < 0) {
                fprintf(stderr, "tremu: -display vnc=: %s\n", err);
                return -1;
            }
            d->vnc = arg + 4;
            d->kind = DISPLAY_NONE;
        } else {
            fprintf(stderr, "tremu: -display %s: use none, sdl or vnc=ADDR\n", arg);
            return -1;
        }
    } else if (!strcmp(opt, "-vnc")) {
        if (vnc_parse(arg, err, sizeof(err)) < 0) {
            fprintf(stderr, "tremu: -vnc %s: %s\n", arg, err);
            return -1;
        }
        d->vnc = strcmp(arg, "none") ? arg : NULL;
    } else if (!strcmp(opt, "-screendump")) {
        if (!*arg) {
            fprintf(stderr, "tremu: -screendump needs a file name\n");
            return -1;
        }
        d->dump = arg;
    }
    return 0;
}

bool display_configure(struct display_opts *d, bool nographic, bool nodefaults)
{
    d->nographic = nographic;
    if (d->kind == DISPLAY_DEFAULT) {
        const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
        bool have = (x && *x) || (w && *w);
        d->kind = (!nographic && have && sdl_built()) ? DISPLAY_SDL : DISPLAY_NONE;
    }
    if (d->vga >= 0)
        return d->vga == 1;
    /* No VGA unless something can show it: a -nographic or -display none
     * run keeps exactly the machine it had (and costs nothing). */
    return !nodefaults && (d->kind == DISPLAY_SDL || d->vnc || d->dump);
}

/* ---- the refresh, on the main loop (device lock held) ---- */

static bool someone_looks(struct display_state *s)
{
    return s->sdl || (s->vnc && vnc_has_clients(s->vnc));
}

static void display_fill(void *opaque, struct pollfd *fds, int *nfds, int max, uint64_t *timeout_ns)
{
    struct display_state *s = opaque;
    s->vnc_nfds = s->vnc ? vnc_fill(s->vnc, fds, max) : 0;
    *nfds = s->vnc_nfds;
    if (!someone_looks(s))
        return;
    uint64_t now = host_monotonic_ns();
    uint64_t t = s->next_refresh > now ? s->next_refresh - now : 0;
    if (t < *timeout_ns)
        *timeout_ns = t;
}

static void display_dispatch(void *opaque, struct pollfd *fds, int nfds)
{
    struct display_state *s = opaque;
    if (s->vnc)
        vnc_dispatch(s->vnc, fds, nfds < s->vnc_nfds ? nfds : s->vnc_nfds);
    if (!someone_looks(s))
        return;
    uint64_t now = host_monotonic_ns();
    if (now < s->next_refresh)
        return;
    s->next_refresh = now + REFRESH_NS;
    if (s->sdl)
        sdl_poll(s->sdl);
    if (!s->m->vga)
        return;
    struct vga_rect r;
    bool resized = false;
    s->frames++;
    bool changed = vga_update(s->m->vga, &r, &resized);
    const struct vga_surface *surf = vga_surface(s->m->vga);
    if (!changed && !resized)
        return;
    if (s->vnc)
        vnc_refresh(s->vnc, surf, &r, resized);
    if (s->sdl)
        sdl_refresh(s->sdl, surf, &r, resized);
}

int display_start(struct machine *m, struct display_opts *d)
{
    char err[256];
    if (d->kind != DISPLAY_SDL && !d->vnc)
        return 0;                   /* nobody will look: no hook, no work */
    struct display_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->m = m;
    d->st = s;
    const char *name = d->name ? d->name : "tremu";
    if (d->vnc) {
        s->vnc = vnc_open(m, d->vnc, name, err, sizeof(err));
        if (!s->vnc) {
            fprintf(stderr, "tremu: -vnc %s: %s\n", d->vnc, err);
            return -1;
        }
    }
    /* The first frame now (no vCPU runs yet), so a viewer that connects
     * first sees the right size instead of a placeholder. */
    struct vga_rect r;
    bool resized;
    if (s->vnc && m->vga) {
        vga_update(m->vga, &r, &resized);
        vnc_refresh(s->vnc, vga_surface(m->vga), &r, true);
    }
    if (d->kind == DISPLAY_SDL) {
        s->sdl = sdl_open(m, name, err, sizeof(err));
        /* Like QEMU's default: no usable display server means no window,
         * silently when it was only the default. */
        if (!s->sdl && d->sdl_explicit)
            fprintf(stderr, "tremu: -display sdl: %s; running without a window\n", err);
    }
    if (machine_add_poll_hook(m, display_fill, display_dispatch, s) < 0) {
        fprintf(stderr, "tremu: no room for the display in the main loop\n");
        return -1;
    }
    return 0;
}

static bool has_suffix(const char *path, const char *suf)
{
    size_t n = strlen(path), k = strlen(suf);
    return n > k && !strcmp(path + n - k, suf);
}

int display_screendump(struct machine *m, const char *path, char *err, size_t errlen)
{
    return display_screendump_as(m, path, has_suffix(path, ".txt") ? NULL : "png", err, errlen);
}

int display_screendump_as(struct machine *m, const char *path, const char *fmt,
                          char *err, size_t errlen)
{
    if (!m->vga) {
        snprintf(err, errlen, "no VGA (-vga none)");
        return -1;
    }
    if (fmt && strcmp(fmt, "png") && strcmp(fmt, "ppm")) {
        snprintf(err, errlen, "format '%s' not supported (ppm or png)", fmt);
        return -1;
    }
    if (!fmt && has_suffix(path, ".txt")) {
        char buf[132 * 60 + 64];
        if (vga_text_dump(m->vga, buf, sizeof(buf)) < 0) {
            snprintf(err, errlen, "the screen is in a graphics mode (%s), not text", vga_mode_name(m->vga));
            return -1;
        }
        FILE *f = fopen(path, "w");
        if (!f || fputs(buf, f) < 0 || fclose(f) != 0) {
            snprintf(err, errlen, "cannot write %s", path);
            return -1;
        }
        return 0;
    }
    bool png = fmt ? !strcmp(fmt, "png") : has_suffix(path, ".png");
    vga_invalidate(m->vga);
    vga_update(m->vga, NULL, NULL);
    const struct vga_surface *s = vga_surface(m->vga);
    if ((png ? png_write_file : ppm_write_file)(path, s->pixels, s->width, s->height, s->width) < 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

int display_vnc_password(struct display_opts *d, const char *pw, char *err, size_t errlen)
{
    if (!d || !d->st || !d->st->vnc) {
        snprintf(err, errlen, "no VNC server (-vnc)");
        return -1;
    }
    return vnc_set_password(d->st->vnc, pw, err, errlen);
}

bool display_tablet_device(const char *driver, bool *tablet)
{
    if (!strcmp(driver, "usb-tablet")) {
        fprintf(stderr, "tremu: -device usb-tablet: tremu has no USB; the guest gets a virtio "
                "tablet instead (virtio-tablet-pci, Linux's virtio_input)\n");
        *tablet = true;
        return true;
    }
    if (!strcmp(driver, "virtio-tablet-pci") || !strcmp(driver, "virtio-tablet")) {
        *tablet = true;
        return true;
    }
    return false;
}

bool display_pointer_abs(struct machine *m, int x, int y, int w, int h, unsigned buttons, int wheel)
{
    struct virtio_input *t = pc_tablet(m);
    if (!virtio_tablet_active(t) || w <= 0 || h <= 0)
        return false;
    /* Pixel centres to the axis: the last pixel is the axis maximum. */
    int ax = w > 1 ? (int)((int64_t)x * VIRTIO_TABLET_MAX / (w - 1)) : 0;
    int ay = h > 1 ? (int)((int64_t)y * VIRTIO_TABLET_MAX / (h - 1)) : 0;
    virtio_tablet_event(t, ax, ay, buttons, wheel);
    return true;
}

unsigned long display_frames(const struct display_opts *d)
{
    return d && d->st ? d->st->frames : 0;
}

void display_finish(struct machine *m, struct display_opts *d)
{
    if (d->dump) {
        char err[256];
        pthread_mutex_lock(&m->lock);
        if (display_screendump(m, d->dump, err, sizeof(err)) < 0)
            fprintf(stderr, "tremu: -screendump: %s\n", err);
        pthread_mutex_unlock(&m->lock);
    }
    struct display_state *s = d->st;
    if (!s)
        return;
    if (s->vnc)
        vnc_close(s->vnc);
    if (s->sdl)
        sdl_close(s->sdl);
    /* The poll hook stays registered (hooks are never removed) but the
     * machine is about to be destroyed; keep s alive until then. */
    s->vnc = NULL;
    s->sdl = NULL;
}
