/* Collecting a machine's counters (board + engine) and reporting them:
 * the table at exit, the periodic line (-d stats,interval=N), and the
 * JSON/CSV dumps (-d stats,format=json,file=PATH). docs/stats.md. */
#include "hw/stats_report.h"
#include "hw/machine.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int stats_config_item(struct stats_config *c, const char *item, char *err, size_t errlen)
{
    const char *eq = strchr(item, '=');
    if (!eq) {
        snprintf(err, errlen, "-d: '%s' is not key=value", item);
        return -1;
    }
    size_t kl = (size_t)(eq - item);
    const char *v = eq + 1;
    if (kl == 8 && !strncmp(item, "interval", 8)) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || errno || n < 1 || n > 3600 || *v == '-') {
            snprintf(err, errlen, "-d stats,interval=%s: give whole seconds, 1 to 3600", v);
            return -1;
        }
        c->interval = (unsigned)n;
    } else if (kl == 6 && !strncmp(item, "format", 6)) {
        if (!strcmp(v, "text"))
            c->format = STATS_TEXT;
        else if (!strcmp(v, "json"))
            c->format = STATS_JSON;
        else if (!strcmp(v, "csv"))
            c->format = STATS_CSV;
        else {
            snprintf(err, errlen, "-d stats,format=%s: text, json or csv", v);
            return -1;
        }
    } else if (kl == 4 && !strncmp(item, "file", 4)) {
        if (!*v || strlen(v) >= sizeof(c->file)) {
            snprintf(err, errlen, "-d stats,file=: give a path (under %zu bytes)", sizeof(c->file));
            return -1;
        }
        snprintf(c->file, sizeof(c->file), "%s", v);
    } else {
        snprintf(err, errlen, "-d: unknown option '%.*s' (stats takes interval=, format=, file=)",
                 (int)kl, item);
        return -1;
    }
    return 0;
}

void stats_collect(struct machine *m, struct stats_snapshot *s)
{
    const char *engine = m->accel && m->accel->name ? m->accel->name : "?";
    stats_snapshot_init(s, engine, (double)(stats_now_ns() - m->stats.start_ns) / 1e9);
    stats_collect_board(&m->stats, s);
    if (m->accel && m->accel->collect_stats)
        m->accel->collect_stats(m, s);
    stats_finish(s);
}

struct stats_reporter {
    struct machine *m;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    FILE *file;             /* file=PATH, opened at start so a typo fails at once */
    bool series;            /* CSV with interval=: snapshots appended, header written */
};

static FILE *log_of(struct machine *m)
{
    return m->log ? m->log : stderr;
}

static void *reporter_thread(void *arg)
{
    struct stats_reporter *r = arg;
    struct machine *m = r->m;
    struct stats_snapshot prev, cur;
    const bool series = r->file && m->cfg->stats.format == STATS_CSV;
    stats_collect(m, &prev);
    stats_interval_header(log_of(m));
    if (series) {
        stats_write_csv(&prev, r->file, true);
        r->series = true;
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        next.tv_sec += (time_t)m->cfg->stats.interval;
        while (!r->stop) {
            if (pthread_cond_timedwait(&r->cond, &r->lock, &next) == ETIMEDOUT)
                break;
        }
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->lock);
        stats_collect(m, &cur);
        stats_interval_line(&prev, &cur, log_of(m));
        if (series) {
            stats_write_csv(&cur, r->file, false);
            fflush(r->file);
        }
        stats_snapshot_free(&prev);
        prev = cur;
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    stats_snapshot_free(&prev);
    return NULL;
}

int stats_report_start(struct machine *m, struct stats_reporter **out)
{
    *out = NULL;
    if (!(m->cfg->debug_mask & DBG_STATS))
        return 0;
    struct stats_reporter *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->m = m;
    const char *path = m->cfg->stats.file;
    if (path[0] && !(r->file = fopen(path, "w"))) {
        fprintf(stderr, "tremu: -d stats,file=%s: %s\n", path, strerror(errno));
        free(r);
        return -1;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (m->cfg->stats.interval) {
        /* Signals stay with the main thread (terminal restore, SIGINT). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r->running = pthread_create(&r->thread, NULL, reporter_thread, r) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!r->running)
            fprintf(stderr, "tremu: -d stats,interval: cannot start the thread; no periodic lines\n");
    }
    *out = r;
    return 0;
}

int stats_report_finish(struct stats_reporter *r)
{
    if (!r)
        return 0;
    struct machine *m = r->m;
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    int rc = 0;
    struct stats_snapshot s;
    stats_collect(m, &s);
    const struct stats_config *c = &m->cfg->stats;
    if (r->file) {
        if (r->series)
            stats_write_csv(&s, r->file, false);   /* the last snapshot of the series */
        else
            stats_write(&s, c->format, r->file);
        if (ferror(r->file) | (fclose(r->file) != 0)) {
            fprintf(stderr, "tremu: -d stats,file=%s: %s\n", c->file, strerror(errno));
            rc = -1;
        }
    } else {
        stats_write(&s, c->format, log_of(m));
    }
    stats_snapshot_free(&s);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}
