/* The screen as a person or a test sees it: which display runs (SDL window,
 * VNC server, none), the refresh that feeds them from the VGA renderer, and
 * the screendump at exit. ui/main.c calls the four functions below; all the
 * display work lives behind them. With no SDL window, no VNC client and no
 * screendump nothing is ever rendered (and without a display or -vga std
 * there is no VGA at all, as with -nographic). */
#ifndef UI_DISPLAY_H
#define UI_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>

struct machine;

struct display_opts {
    int vga;                /* -vga: -1 default, 0 none, 1 std */
    int kind;               /* -display: DISPLAY_* */
    bool sdl_explicit;      /* -display sdl given (else SDL is only the default) */
    const char *vnc;        /* -vnc argument (NULL: none) */
    const char *dump;       /* -screendump FILE (.png, or .txt: the text-mode characters) */
    const char *name;       /* -name, for the window title */
    bool nographic;
    struct display_state *st;
};

enum { DISPLAY_DEFAULT = 0, DISPLAY_NONE, DISPLAY_SDL };

/* True for the options display_option handles (all take one argument):
 * -display, -vga, -vnc, -screendump. */
bool display_is_option(const char *opt);
/* Returns 0, or -1 after printing why. */
int display_option(struct display_opts *d, const char *opt, const char *arg);
/* After parsing, before machine_init: picks the display (the default is an
 * SDL window when $DISPLAY or $WAYLAND_DISPLAY is set and -nographic is
 * not given, else none, as QEMU) and returns whether the machine gets a VGA. */
bool display_configure(struct display_opts *d, bool nographic, bool nodefaults);
/* After pc_init: opens the window / VNC listener. 0 or -1 with a message. */
int display_start(struct machine *m, struct display_opts *d);
/* After machine_run: the screendump, then closes everything. */
void display_finish(struct machine *m, struct display_opts *d);

/* Writes the current screen (rendered now) to path: PNG, or with a .txt
 * name the characters of a text mode. Device lock held. 0 or -1. */
int display_screendump(struct machine *m, const char *path, char *err, size_t errlen);
/* The monitor's screendump: fmt "png" or "ppm" (QEMU's -f), or NULL to go
 * by the name (.png PNG, .txt text-mode characters, anything else PPM,
 * QEMU's default). Device lock held. 0 or -1 with err. */
int display_screendump_as(struct machine *m, const char *path, const char *fmt,
                          char *err, size_t errlen);
/* The monitor's "change vnc password" and "set_password vnc": 0, or -1 with
 * err (no VNC server, or one without password=on). */
int display_vnc_password(struct display_opts *d, const char *pw, char *err, size_t errlen);
/* -device DRIVER: true for the virtio tablet (virtio-tablet-pci) and for
 * usb-tablet, which becomes one with a notice (tremu has no USB; what
 * QEMU users want from it is an absolute pointer); sets *tablet. */
bool display_tablet_device(const char *driver, bool *tablet);
/* A viewer's pointer at (x, y) on a w x h screen, buttons bit 0 left, 1
 * right, 2 middle, wheel steps: to the virtio tablet when its driver runs
 * (returns true), else false (the caller feeds the PS/2 mouse). Device lock held. */
bool display_pointer_abs(struct machine *m, int x, int y, int w, int h, unsigned buttons, int wheel);
/* Frames rendered so far (every display together): the proof that nobody
 * looking means no rendering. */
unsigned long display_frames(const struct display_opts *d);

#endif
