/* The SDL2 window (see ui/sdl.h). One streaming texture in XRGB8888, updated
 * from the VGA surface's dirty rectangle and stretched to the window. */
#include "ui/sdl.h"
#include "ui/keymap.h"
#include "ui/display.h"
#include "hw/machine.h"
#include "hw/vga.h"
#include "hw/i8042.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CONFIG_SDL

struct sdl_ui { int unused; };
bool sdl_built(void) { return false; }
struct sdl_ui *sdl_open(struct machine *m, const char *name, char *err, size_t errlen)
{
    snprintf(err, errlen, "built without SDL2");
    return NULL;
}
void sdl_poll(struct sdl_ui *s) {}
void sdl_refresh(struct sdl_ui *s, const struct vga_surface *surf, const struct vga_rect *r, bool resized) {}
void sdl_close(struct sdl_ui *s) {}

#else

#include <SDL.h>

struct sdl_ui {
    struct machine *m;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tw, th;
    bool grabbed;
    int closes;
    char name[64];
};

bool sdl_built(void) { return true; }

static void set_title(struct sdl_ui *s)
{
    char t[192];
    const char *engine = s->m->accel && s->m->accel->name ? s->m->accel->name : "?";
    snprintf(t, sizeof(t), "%s - tremu [%s, %s]%s", s->name, engine,
             s->closes ? "powering down" : "running",
             s->grabbed ? " - Ctrl-Alt-G releases the mouse" : "");
    SDL_SetWindowTitle(s->win, t);
}

struct sdl_ui *sdl_open(struct machine *m, const char *name, char *err, size_t errlen)
{
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
        snprintf(err, errlen, "%s", SDL_GetError());
        return NULL;
    }
    struct sdl_ui *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->m = m;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->win = SDL_CreateWindow("tremu", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 720, 400,
                              SDL_WINDOW_RESIZABLE);
    s->ren = s->win ? SDL_CreateRenderer(s->win, -1, 0) : NULL;
    if (!s->ren) {
        snprintf(err, errlen, "%s", SDL_GetError());
        sdl_close(s);
        return NULL;
    }
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    set_title(s);
    return s;
}

static void set_grab(struct sdl_ui *s, bool on)
{
    s->grabbed = on;
    SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
    SDL_SetWindowGrab(s->win, on ? SDL_TRUE : SDL_FALSE);
    set_title(s);
}

static unsigned ps2_buttons(uint32_t st)
{
    return ((st & SDL_BUTTON_LMASK) ? 1 : 0) | ((st & SDL_BUTTON_RMASK) ? 2 : 0) |
           ((st & SDL_BUTTON_MMASK) ? 4 : 0);
}

/* With the virtio tablet running, the window's pointer position is the
 * guest's, scaled from the window to the screen: no grab, no drift. */
static bool sdl_pointer_abs(struct sdl_ui *s, const SDL_Event *e)
{
    int x, y, ww, wh;
    uint32_t st = SDL_GetMouseState(&x, &y);
    SDL_GetWindowSize(s->win, &ww, &wh);
    if (ww <= 0 || wh <= 0 || s->tw <= 0 || s->th <= 0)
        return false;
    int wheel = e->type == SDL_MOUSEWHEEL ? (e->wheel.y > 0 ? 1 : e->wheel.y < 0 ? -1 : 0) : 0;
    return display_pointer_abs(s->m, (int)((int64_t)x * s->tw / ww), (int)((int64_t)y * s->th / wh),
                               s->tw, s->th, ps2_buttons(st), wheel);
}

static void sdl_mouse(struct sdl_ui *s, const SDL_Event *e, struct i8042 *k)
{
    if (sdl_pointer_abs(s, e) || e->type == SDL_MOUSEWHEEL)
        return;         /* the virtio tablet took it: no grab needed */
    if (e->type == SDL_MOUSEBUTTONDOWN && !s->grabbed) {
        set_grab(s, true);      /* the first click grabs, as in QEMU */
        return;
    }
    if (!s->grabbed || !k)
        return;
    if (e->type == SDL_MOUSEMOTION)
        i8042_mouse_event(k, e->motion.xrel, -e->motion.yrel, ps2_buttons(e->motion.state));
    else
        i8042_mouse_event(k, 0, 0, ps2_buttons(SDL_GetMouseState(NULL, NULL)));
}

void sdl_poll(struct sdl_ui *s)
{
    SDL_Event e;
    struct i8042 *k = pc_i8042(s->m);
    while (SDL_PollEvent(&e)) {
        switch (e.type) {
        case SDL_QUIT:
            /* QEMU: closing the window is the power button; a guest that
             * does not listen can be closed again to quit. */
            if (s->closes++ == 0)
                pc_power_button(s->m);
            else
                machine_request(s->m, REQ_SHUTDOWN, 0);
            set_title(s);
            break;
        case SDL_KEYDOWN:
        case SDL_KEYUP: {
            SDL_Keymod mod = SDL_GetModState();
            if (e.type == SDL_KEYDOWN && e.key.keysym.scancode == SDL_SCANCODE_G &&
                (mod & KMOD_CTRL) && (mod & KMOD_ALT)) {
                set_grab(s, !s->grabbed);
                break;
            }
            keymap_send(k, keymap_from_hid(e.key.keysym.scancode), e.type == SDL_KEYDOWN);
            break;
        }
        case SDL_MOUSEBUTTONDOWN:
        case SDL_MOUSEBUTTONUP:
        case SDL_MOUSEMOTION:
        case SDL_MOUSEWHEEL:
            sdl_mouse(s, &e, k);
            break;
        case SDL_WINDOWEVENT:
            if (e.window.event == SDL_WINDOWEVENT_EXPOSED && s->tex) {
                SDL_RenderCopy(s->ren, s->tex, NULL, NULL);
                SDL_RenderPresent(s->ren);
            }
            break;
        }
    }
}

void sdl_refresh(struct sdl_ui *s, const struct vga_surface *surf, const struct vga_rect *r, bool resized)
{
    if (!s->tex || surf->width != s->tw || surf->height != s->th) {
        if (s->tex)
            SDL_DestroyTexture(s->tex);
        s->tex = SDL_CreateTexture(s->ren, SDL_PIXELFORMAT_RGB888, SDL_TEXTUREACCESS_STREAMING,
                                   surf->width, surf->height);
        if (!s->tex)
            return;
        s->tw = surf->width;
        s->th = surf->height;
        SDL_SetWindowSize(s->win, surf->width, surf->height);
        SDL_UpdateTexture(s->tex, NULL, surf->pixels, surf->width * 4);
    } else if (r->w > 0) {
        SDL_Rect rc = {r->x, r->y, r->w, r->h};
        SDL_UpdateTexture(s->tex, &rc, surf->pixels + (size_t)r->y * surf->width + r->x, surf->width * 4);
    }
    SDL_RenderClear(s->ren);
    SDL_RenderCopy(s->ren, s->tex, NULL, NULL);   /* scaled to the window */
    SDL_RenderPresent(s->ren);
}

void sdl_close(struct sdl_ui *s)
{
    if (!s)
        return;
    if (s->tex) SDL_DestroyTexture(s->tex);
    if (s->ren) SDL_DestroyRenderer(s->ren);
    if (s->win) SDL_DestroyWindow(s->win);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    free(s);
}

#endif
