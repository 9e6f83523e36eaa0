/* Closes an X11 window the way a window manager's close button does: a
 * WM_PROTOCOLS ClientMessage carrying WM_DELETE_WINDOW (ICCCM §4.2.8.1),
 * which SDL turns into SDL_QUIT. For the display suite under Xvfb (no
 * window manager, no xdotool needed).
 *   xclose TITLE-SUBSTRING     exit 0 when a window matched, 1 otherwise */
#include <X11/Xlib.h>
#include <X11/Xatom.h>
#include <stdio.h>
#include <string.h>

static Window find(Display *d, Window w, const char *want)
{
    char *name = NULL;
    if (XFetchName(d, w, &name) && name) {
        int hit = strstr(name, want) != NULL;
        XFree(name);
        if (hit)
            return w;
    }
    Window root, parent, *kids = NULL;
    unsigned n = 0;
    Window found = 0;
    if (XQueryTree(d, w, &root, &parent, &kids, &n)) {
        for (unsigned i = 0; i < n && !found; i++)
            found = find(d, kids[i], want);
        if (kids)
            XFree(kids);
    }
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    Display *d = XOpenDisplay(NULL);
    if (!d)
        return 2;
    Window w = find(d, DefaultRootWindow(d), argv[1]);
    if (!w)
        return 1;
    XEvent e;
    memset(&e, 0, sizeof(e));
    e.xclient.type = ClientMessage;
    e.xclient.window = w;
    e.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
    e.xclient.format = 32;
    e.xclient.data.l[0] = (long)XInternAtom(d, "WM_DELETE_WINDOW", False);
    e.xclient.data.l[1] = CurrentTime;
    XSendEvent(d, w, False, NoEventMask, &e);
    XFlush(d);
    XCloseDisplay(d);
    return 0;
}
