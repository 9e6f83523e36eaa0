/* The human monitor (HMP) and QMP on a chardev. */
#ifndef UI_MONITOR_H
#define UI_MONITOR_H

#include <stdbool.h>
#include "hw/chardev.h"

struct machine;
struct chardev_set;
struct monitor;

struct monitor *monitor_new(struct machine *m, struct chardev *chr, bool qmp, bool pretty,
                            struct chardev_set *set);

struct net_backend;
/* The user-mode netdevs hostfwd_add/hostfwd_remove act on (ids[i] names
 * nbs[i]); the arrays must outlive the monitors. */
void monitor_set_netdevs(const char *const *ids, struct net_backend *const *nbs, int n);

struct display_opts;
/* The display screendump, change vnc password, set_password and
 * info display act on (must outlive the monitors). */
void monitor_set_display(struct display_opts *d);

/* QMP SHUTDOWN event to every QMP client (guest: the guest powered off). */
void monitor_event_shutdown(bool guest);

#endif
