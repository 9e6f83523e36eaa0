/* One clock for every device, and the timers that run on it.
 * By default the clock is the host's monotonic clock (ns since machine start).
 * Tests use a manual clock they advance themselves. Timers are fired by
 * whoever owns the machine's main loop (clock_run_timers) with the device
 * lock held; modifying a timer calls `notify` so a sleeping loop re-arms. */
#ifndef HW_CLOCK_H
#define HW_CLOCK_H

#include <stdint.h>
#include <stdbool.h>

struct timer;
typedef void (*timer_cb)(void *opaque);

struct clock {
    bool manual;              /* tests: time only moves by clock_set/advance */
    uint64_t manual_ns;
    uint64_t start_ns;        /* host monotonic at machine start */
    struct timer *timers;     /* active timers, sorted by deadline */
    void (*notify)(void *opaque);   /* called when the earliest deadline changes */
    void *notify_opaque;
};

struct timer {
    struct clock *clock;
    timer_cb cb;
    void *opaque;
    uint64_t deadline;        /* ns on this clock */
    bool active;
    struct timer *next;
};

#define NS_PER_SEC 1000000000ULL
#define CLOCK_NEVER UINT64_MAX

uint64_t host_monotonic_ns(void);
void clock_init(struct clock *c, bool manual);
uint64_t clock_ns(const struct clock *c);
void clock_set(struct clock *c, uint64_t ns);          /* manual clocks only */
void clock_advance(struct clock *c, uint64_t delta_ns); /* manual: set + run timers */

void timer_init(struct timer *t, struct clock *c, timer_cb cb, void *opaque);
void timer_mod(struct timer *t, uint64_t deadline_ns);
void timer_del(struct timer *t);
static inline bool timer_pending(const struct timer *t) { return t->active; }

/* Earliest active deadline, or CLOCK_NEVER. */
uint64_t clock_next_deadline(const struct clock *c);
/* Fire every timer whose deadline has passed; returns how many fired. */
int clock_run_timers(struct clock *c);

/* a * b / c without overflow for the tick conversions devices do. */
static inline uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
    return (uint64_t)(((unsigned __int128)a * b) / c);
}

#endif
