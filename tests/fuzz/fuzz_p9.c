/* libFuzzer: the 9P2000.L server (fs/p9.c over fs/fs_local.c) on a scratch
 * export, fed sessions by tests/fuzz/p9_fuzz.c. Besides the sanitizers it
 * checks the jail (docs/threat-model.md):
 *  - every file the server opens (open/openat, wrapped here while a message
 *    is handled) resolves, through /proc/self/fd, to the export or below;
 *  - a canary file beside the export, reachable only through symlinks planted
 *    in the export ("esc" -> ../outside, "escf" -> ../outside/canary,
 *    "abs" -> the canary's absolute path), keeps its content, mode, owner,
 *    link count and times (atime older than mtime, so a read under relatime
 *    would move it), and the folder holding it gets no new entry.
 * A violation aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/p9_fuzz.c"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/tremu-fuzz-p9-XXXXXX";
static char root[PATH_MAX], outside[PATH_MAX], canary[PATH_MAX];
static size_t root_len;
static bool checking, selftest;

static void jail_check_fd(int fd)
{
    if (fd < 0 || !checking)
        return;
    char l[64], t[PATH_MAX];
    snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(l, t, sizeof(t) - 1);
    if (n < 0)
        return;
    t[n] = 0;
    if (strncmp(t, root, root_len) || (t[root_len] && t[root_len] != '/')) {
        if (selftest)
            _exit(77);
        fprintf(stderr, "fuzz_p9: the server opened '%s', outside the export '%s'\n", t, root);
        abort();
    }
}

/* The server's opens go through these (the executable's definitions win
 * over the C library's for the code linked into it). */
static int checked_openat(int dfd, const char *path, int flags, va_list ap)
{
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
    int fd = (int)syscall(SYS_openat, dfd, path, flags, mode);
    jail_check_fd(fd);
    return fd;
}

int openat(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = checked_openat(dfd, path, flags, ap);
    va_end(ap);
    return fd;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = checked_openat(AT_FDCWD, path, flags, ap);
    va_end(ap);
    return fd;
}

static struct stat canary_st, outside_st;

static void cleanup(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_p9: could not remove %s\n", base);
}

static void plant(void)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/esc", root);
    if (symlink("../outside", p) < 0 && errno != EEXIST)
        abort();
    snprintf(p, sizeof(p), "%s/escf", root);
    if (symlink("../outside/canary", p) < 0 && errno != EEXIST)
        abort();
    snprintf(p, sizeof(p), "%s/abs", root);
    if (symlink(canary, p) < 0 && errno != EEXIST)
        abort();
    /* atime before mtime: any read of the canary under relatime moves it. */
    struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1100000000}};
    if (utimensat(AT_FDCWD, canary, ts, 0) < 0)
        abort();
    if (stat(canary, &canary_st) < 0 || stat(outside, &outside_st) < 0)
        abort();
}

static bool same(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
           a->st_gid == b->st_gid && a->st_nlink == b->st_nlink && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_atim.tv_sec == b->st_atim.tv_sec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root_len) {
        if (!mkdtemp(base))
            abort();
        snprintf(root, sizeof(root), "%s/export", base);
        snprintf(outside, sizeof(outside), "%s/outside", base);
        snprintf(canary, sizeof(canary), "%s/outside/canary", base);
        if (mkdir(root, 0755) < 0 || mkdir(outside, 0755) < 0)
            abort();
        FILE *f = fopen(canary, "w");
        if (!f || fputs("host secret\n", f) < 0 || fclose(f) != 0)
            abort();
        root_len = strlen(root);
        atexit(cleanup);
        /* the checker must itself catch an escape: a child opening the
         * folder beside the export has to die of it */
        pid_t pid = fork();
        if (pid == 0) {
            checking = selftest = true;
            int fd = open(outside, O_RDONLY | O_DIRECTORY);
            (void)fd;
            _exit(0);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 77) {
            fprintf(stderr, "fuzz_p9: the jail check does not fire\n");
            abort();
        }
    }
    plant();
    checking = true;
    p9_fuzz_one(root, data, size);
    checking = false;
    struct stat c, o;
    if (stat(canary, &c) < 0 || stat(outside, &o) < 0 || !same(&c, &canary_st) ||
        !same(&o, &outside_st)) {
        fprintf(stderr, "fuzz_p9: the folder beside the export changed\n");
        abort();
    }
    return 0;
}
