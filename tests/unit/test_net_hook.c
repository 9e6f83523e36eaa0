/* The main loop's generic poll hooks (hw/machine.c), which serve libslirp:
 * fill adds descriptors and shortens the sleep, dispatch sees the results. */
#include "test.h"
#include "hw/machine.h"
#include <string.h>
#include <unistd.h>

struct hook_probe {
    int fd;
    uint64_t timeout;       /* what fill asks for */
    int fills, dispatches;
    short revents;
    int nfds_seen;
};

static void probe_fill(void *opaque, struct pollfd *fds, int *nfds, int max, uint64_t *timeout_ns)
{
    struct hook_probe *p = opaque;
    p->fills++;
    if (p->fd >= 0 && max > 0) {
        fds[0] = (struct pollfd){.fd = p->fd, .events = POLLIN};
        *nfds = 1;
    }
    if (p->timeout < *timeout_ns)
        *timeout_ns = p->timeout;
}

static void probe_dispatch(void *opaque, struct pollfd *fds, int nfds)
{
    struct hook_probe *p = opaque;
    p->dispatches++;
    p->nfds_seen = nfds;
    p->revents = nfds > 0 ? fds[0].revents : 0;
}

TEST(machine_poll_hook_fill_dispatch_timeout)
{
    static struct machine m;
    static struct machine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ram_size = 2 << 20;
    CHECK_EQ(machine_init(&m, &cfg, NULL), 0);
    int pfd[2];
    CHECK_EQ(pipe(pfd), 0);
    struct hook_probe a = {.fd = pfd[0], .timeout = 20 * 1000000ULL};
    struct hook_probe b = {.fd = -1, .timeout = CLOCK_NEVER};
    CHECK_EQ(machine_add_poll_hook(&m, probe_fill, probe_dispatch, &a), 0);
    CHECK_EQ(machine_add_poll_hook(&m, probe_fill, probe_dispatch, &b), 0);
    machine_main_loop_iteration(&m);    /* consumes the wake from add */

    /* Nothing ready: the hook's 20 ms bound ends the sleep (there is no
     * timer and no watch, so without it ppoll would sleep forever). */
    uint64_t t0 = host_monotonic_ns();
    machine_main_loop_iteration(&m);
    uint64_t dt = host_monotonic_ns() - t0;
    /* At least the bound (ppoll never returns early); the upper limit only
     * catches a sleep that did not end (a loaded host may be slow). */
    CHECK(dt >= 15 * 1000000ULL && dt < 30 * NS_PER_SEC);
    CHECK_EQ(a.revents, 0);
    CHECK_EQ(a.nfds_seen, 1);
    CHECK_EQ(b.nfds_seen, 0);
    CHECK_EQ(b.dispatches, a.dispatches);   /* dispatch runs every iteration */

    /* Ready descriptor: dispatch sees POLLIN in its own slice. */
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    machine_main_loop_iteration(&m);
    CHECK(a.revents & POLLIN);
    CHECK_EQ(a.fills, a.dispatches);

    /* The table is bounded. */
    CHECK_EQ(machine_add_poll_hook(&m, probe_fill, probe_dispatch, &b), 0);
    CHECK_EQ(machine_add_poll_hook(&m, probe_fill, probe_dispatch, &b), 0);
    CHECK_EQ(machine_add_poll_hook(&m, probe_fill, probe_dispatch, &b), -1);
    close(pfd[0]);
    close(pfd[1]);
    machine_destroy(&m);
}
