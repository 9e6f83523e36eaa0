/* -sandbox (ui/sandbox.c): the option parser, and the filter itself in a
 * forked child (a filter cannot be removed, so the runner never installs it):
 * after sandbox_install, files, threads and sockets still work, fork fails
 * with EPERM, and execve or ptrace end the process with SIGSYS. */
#include "tests/unit/test.h"
#include "ui/sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(sandbox_parse_options)
{
    struct sandbox_opts o;
    char err[256];
    CHECK(sandbox_parse(&o, "on", err, sizeof(err)) == 0 && o.on && !o.spawn);
    CHECK(sandbox_parse(&o, "off", err, sizeof(err)) == 0 && !o.on);
    CHECK(sandbox_parse(&o, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                        "resourcecontrol=deny", err, sizeof(err)) == 0 && o.on &&
          !o.obsolete && !o.elevate && !o.spawn && !o.resource);
    CHECK(sandbox_parse(&o, "on,spawn=allow,resourcecontrol=allow", err, sizeof(err)) == 0 &&
          o.spawn && o.resource && !o.elevate);
    CHECK(sandbox_parse(&o, "on,elevateprivileges=children", err, sizeof(err)) == 0);
    CHECK(sandbox_parse(&o, "maybe", err, sizeof(err)) < 0 && strstr(err, "on or off"));
    CHECK(sandbox_parse(&o, "on,spawn=perhaps", err, sizeof(err)) < 0 && strstr(err, "spawn"));
    CHECK(sandbox_parse(&o, "on,nosuch=deny", err, sizeof(err)) < 0 && strstr(err, "nosuch"));
    CHECK(sandbox_parse(&o, "on,spawn", err, sizeof(err)) < 0);
}

static void *thread_fn(void *arg)
{
    *(int *)arg = 42;
    return NULL;
}

/* In a child: install the filter, then what tremu needs must still work;
 * exit code says which step failed, then `what` runs (the step expected to
 * be refused). */
enum { TRY_NOTHING, TRY_EXECVE, TRY_PTRACE, TRY_FORK, TRY_SETUID };

static int child(int what, const char *arg)
{
    struct sandbox_opts o;
    char err[256];
    if (sandbox_parse(&o, arg, err, sizeof(err)) < 0 || sandbox_install(&o, err, sizeof(err)) < 0)
        _exit(10);
    int fd = open("/proc/self/status", O_RDONLY);
    char buf[64];
    if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
        _exit(11);
    close(fd);
    pthread_t t;
    int v = 0;
    if (pthread_create(&t, NULL, thread_fn, &v) != 0 || pthread_join(t, NULL) != 0 || v != 42)
        _exit(12);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || write(sv[0], "x", 1) != 1 ||
        read(sv[1], buf, 1) != 1)
        _exit(13);
    switch (what) {
    case TRY_EXECVE: {
        char *av[] = {(char *)"/bin/true", NULL};
        execve("/bin/true", av, NULL);
        _exit(20);                      /* returned: not killed */
    }
    case TRY_PTRACE:
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        _exit(21);
    case TRY_FORK: {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        _exit(p < 0 && errno == EPERM ? 0 : 22);
    }
    case TRY_SETUID:
        syscall(SYS_setuid, getuid());
        _exit(23);
    }
    _exit(0);
}

/* Runs child(what, arg); returns the raw wait status. */
static int run_child(int what, const char *arg)
{
    pid_t p = fork();
    if (p == 0)
        child(what, arg);
    int st = 0;
    waitpid(p, &st, 0);
    return st;
}

static bool killed_by_sigsys(int st)
{
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

TEST(sandbox_filter_blocks_exec_ptrace_fork)
{
    int st = run_child(TRY_NOTHING, "on");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 10) {
        test_skip("the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)");
        return;
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);       /* files, threads, sockets */
    CHECK(killed_by_sigsys(run_child(TRY_EXECVE, "on")));
    CHECK(killed_by_sigsys(run_child(TRY_PTRACE, "on")));
    st = run_child(TRY_FORK, "on");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);       /* fork: EPERM */
    CHECK(killed_by_sigsys(run_child(TRY_SETUID, "on")));
    /* QEMU's groups let exec and setuid through when allowed. */
    st = run_child(TRY_EXECVE, "on,spawn=allow");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);       /* /bin/true ran */
    st = run_child(TRY_SETUID, "on,elevateprivileges=allow");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 23);
    /* off installs nothing: exec returns into /bin/true. */
    st = run_child(TRY_EXECVE, "off");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
