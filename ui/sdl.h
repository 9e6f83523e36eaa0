/* The SDL2 window (-display sdl): the VGA surface scaled to the window,
 * keyboard and relative mouse to the PS/2 devices, Ctrl-Alt-G grabs and
 * releases the mouse, the title says the machine, run state and engine, and
 * closing the window presses the ACPI power button as QEMU does (the guest
 * shuts down in order); closing it again quits at once. Runs on the main loop. */
#ifndef UI_SDL_H
#define UI_SDL_H

#include <stdbool.h>
#include <stddef.h>

struct sdl_ui;
struct machine;
struct vga_surface;
struct vga_rect;

bool sdl_built(void);
struct sdl_ui *sdl_open(struct machine *m, const char *name, char *err, size_t errlen);
void sdl_poll(struct sdl_ui *s);
void sdl_refresh(struct sdl_ui *s, const struct vga_surface *surf, const struct vga_rect *r, bool resized);
void sdl_close(struct sdl_ui *s);

#endif
