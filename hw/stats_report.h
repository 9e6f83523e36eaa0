/* A machine's exit/trap counters as one snapshot, and the -d stats
 * reports (hw/stats.h has the names and formats; docs/stats.md). */
#ifndef HW_STATS_REPORT_H
#define HW_STATS_REPORT_H

#include "hw/stats.h"

struct machine;
struct stats_reporter;

/* Board + engine counters now (any thread; free with stats_snapshot_free). */
void stats_collect(struct machine *m, struct stats_snapshot *s);
/* With -d stats: opens file= and starts the periodic line when interval=
 * asks (*out NULL without -d stats). Call once the vCPUs exist. -1 (message
 * printed) when the file cannot be created. */
int stats_report_start(struct machine *m, struct stats_reporter **out);
/* Stops the periodic line and writes the report (format=, file=); -1 if
 * the file could not be written (message printed). NULL: nothing. */
int stats_report_finish(struct stats_reporter *r);

#endif
