/* libFuzzer: the character-device option parsers (ui/chardev_opt.c):
 * `-chardev BACKEND,id=,...`, every `-serial`/`-monitor` spec form (tcp:,
 * telnet:, unix:, udp:, file:, pipe:, pty, mon:, chardev:, /dev/...) and
 * `-device isa-serial,chardev=,index=,iobase=,irq=`. The input is split at
 * newlines; a line's first byte picks the parser. Options accumulate in one
 * set per input (duplicate ids, chardev: references), closed at the end.
 *
 * The parsers open what they name, so the host side is faked here: open
 * gives /dev/null, unlink (a unix server's stale path) does nothing, socket
 * and posix_openpt fail, getaddrinfo resolves numeric addresses only. A
 * fuzzer-made path never creates, deletes or truncates a host file, and no
 * packet leaves the machine. */
#include "ui/chardev_opt.h"
#include "tests/fuzz/fuzz_lines.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool faking;

static int devnull(void)
{
    return (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
}

int open(const char *path, int flags, ...)
{
    if (!faking)
        return (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0644);
    return devnull();
}

int unlink(const char *path)
{
    if (!faking)
        return (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
    return 0;
}

int socket(int domain, int type, int protocol)
{
    if (!faking)
        return (int)syscall(SYS_socket, domain, type, protocol);
    errno = EACCES;
    return -1;
}

int posix_openpt(int flags)
{
    (void)flags;
    errno = EACCES;
    return -1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
    if (!real)
        real = (int (*)(const char *, const char *, const struct addrinfo *,
                        struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
    struct addrinfo h = hints ? *hints : (struct addrinfo){0};
    h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    if (node && !strcmp(node, "localhost"))
        node = "127.0.0.1";
    return real(node, service, &h, res);
}

static void one_line(void *opaque, char kind, char *line)
{
    struct chardev_set *set = opaque;
    char err[512];
    bool mon;
    struct isa_serial_req req;
    switch (kind % 4) {
    case 0: chardev_set_add_opts(set, line, err, sizeof(err)); break;
    case 1: chardev_set_add_spec(set, line, "serial0", false, &mon, err, sizeof(err)); break;
    case 2: chardev_set_add_spec(set, line, "compat_monitor0", true, NULL, err, sizeof(err)); break;
    default: chardev_opt_isa_serial(set, line, &req, err, sizeof(err)); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    static struct chardev_set set;
    memset(&set, 0, sizeof(set));
    faking = true;
    fz_lines(data, size, one_line, &set);
    chardev_set_close_all(&set);
    faking = false;
    return 0;
}
