#include "hw/clock.h"
#include <time.h>
#include <stddef.h>

uint64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void clock_init(struct clock *c, bool manual)
{
    c->manual = manual;
    c->manual_ns = 0;
    c->start_ns = manual ? 0 : host_monotonic_ns();
    c->timers = NULL;
    c->notify = NULL;
    c->notify_opaque = NULL;
}

uint64_t clock_ns(const struct clock *c)
{
    if (c->manual)
        return c->manual_ns;
    return host_monotonic_ns() - c->start_ns;
}

void clock_set(struct clock *c, uint64_t ns)
{
    c->manual_ns = ns;
}

void clock_advance(struct clock *c, uint64_t delta_ns)
{
    /* Step through deadlines one by one so periodic timers re-arming
     * themselves see the time they expired at, as on real hardware. */
    uint64_t target = c->manual_ns + delta_ns;
    for (;;) {
        uint64_t d = clock_next_deadline(c);
        if (d > target)
            break;
        if (d > c->manual_ns)
            c->manual_ns = d;
        clock_run_timers(c);
    }
    c->manual_ns = target;
}

static void timer_unlink(struct timer *t)
{
    struct timer **pp = &t->clock->timers;
    while (*pp) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
        pp = &(*pp)->next;
    }
    t->next = NULL;
    t->active = false;
}

void timer_init(struct timer *t, struct clock *c, timer_cb cb, void *opaque)
{
    t->clock = c;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline = 0;
    t->active = false;
    t->next = NULL;
}

void timer_mod(struct timer *t, uint64_t deadline_ns)
{
    struct clock *c = t->clock;
    if (t->active)
        timer_unlink(t);
    t->deadline = deadline_ns;
    t->active = true;
    struct timer **pp = &c->timers;
    while (*pp && (*pp)->deadline <= deadline_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    if (c->timers == t && c->notify)
        c->notify(c->notify_opaque);
}

void timer_del(struct timer *t)
{
    if (t->active)
        timer_unlink(t);
}

uint64_t clock_next_deadline(const struct clock *c)
{
    return c->timers ? c->timers->deadline : CLOCK_NEVER;
}

int clock_run_timers(struct clock *c)
{
    int fired = 0;
    uint64_t now = clock_ns(c);
    /* Bounded: a timer that re-arms into the past fires at most once per call. */
    int budget = 1000;
    while (c->timers && c->timers->deadline <= now && budget-- > 0) {
        struct timer *t = c->timers;
        timer_unlink(t);
        t->cb(t->opaque);
        fired++;
    }
    return fired;
}
