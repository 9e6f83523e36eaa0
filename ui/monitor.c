/* The monitor: placeholder until the HMP/QMP commands land. */
#include "ui/monitor.h"
#include <stdlib.h>

struct monitor { struct machine *m; struct chardev *chr; };

struct monitor *monitor_new(struct machine *m, struct chardev *chr, bool qmp, bool pretty,
                            struct chardev_set *set)
{
    (void)qmp; (void)pretty; (void)set;
    struct monitor *mon = calloc(1, sizeof(*mon));
    if (mon) { mon->m = m; mon->chr = chr; }
    return mon;
}
