/* VNC server (RFB 3.8 through Debian's libvncserver) on a listening socket
 * we own: TCP (-vnc [HOST]:N, port 5900+N; no HOST = 127.0.0.1 only) or a
 * Unix socket (-vnc unix:PATH). Everything runs on the main loop with the
 * device lock held: clients are polled through the display's poll hook. */
#ifndef UI_VNC_H
#define UI_VNC_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

struct vnc;
struct machine;
struct vga_surface;
struct vga_rect;

/* Parses the -vnc argument. *off set for "none". 0 or -1 with err. */
int vnc_parse(const char *spec, char *err, size_t errlen);
/* NULL with err: bad spec, address in use, no libvncserver in this build. */
struct vnc *vnc_open(struct machine *m, const char *spec, const char *name, char *err, size_t errlen);
int vnc_fill(struct vnc *v, struct pollfd *fds, int max);
void vnc_dispatch(struct vnc *v, struct pollfd *fds, int n);
bool vnc_has_clients(struct vnc *v);
void vnc_refresh(struct vnc *v, const struct vga_surface *s, const struct vga_rect *r, bool resized);
void vnc_close(struct vnc *v);
/* The monitor's "change vnc password" / set_password: the password VNC
 * authentication accepts from now on (RFB's DES challenge uses the first 8
 * bytes, as QEMU). An empty one refuses every login. 0, or -1 with err when
 * the server was not started with password=on (as QEMU refuses). */
int vnc_set_password(struct vnc *v, const char *pw, char *err, size_t errlen);

#endif
