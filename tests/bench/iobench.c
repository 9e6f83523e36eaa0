/* Guest side of the disk and network benchmark (tests/bench/io.sh): a static
 * x86-64 Linux program put in the busybox guest's initramfs. It times itself
 * with the guest's CLOCK_MONOTONIC and prints one "IOB name MB/s" line per
 * workload, so tremu and QEMU are measured the same way.
 *
 *   iobench seqread  DEV MIB        1 MiB O_DIRECT reads from offset 0 (dd bs=1M iflag=direct)
 *   iobench seqwrite DEV MIB        1 MiB O_DIRECT writes
 *   iobench randread  DEV MIB OPS   4 KiB O_DIRECT reads at random 4 KiB offsets in the first MIB MiB
 *   iobench randwrite DEV MIB OPS   the same, writes
 *   iobench serve PORT MIB          TCP: accept one client, send MIB MiB of zeros, close
 *                                   (the host side times it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "iobench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int open_dev(const char *dev, int write)
{
    int fd = open(dev, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
    if (fd < 0)
        die(dev);
    return fd;
}

static void *buf_alloc(size_t n)
{
    void *p;
    if (posix_memalign(&p, 4096, n))
        die("posix_memalign");
    memset(p, 0x5a, n);
    return p;
}

static void report(const char *name, double bytes, double t0)
{
    double dt = now() - t0;
    printf("IOB %s %.1f\n", name, bytes / 1048576.0 / (dt > 0 ? dt : 1e-9));
    fflush(stdout);
}

static void seq(const char *dev, long mib, int write)
{
    int fd = open_dev(dev, write);
    char *b = buf_alloc(1 << 20);
    double t0 = now();
    for (long i = 0; i < mib; i++) {
        ssize_t r = write ? pwrite(fd, b, 1 << 20, i << 20) : pread(fd, b, 1 << 20, i << 20);
        if (r != 1 << 20)
            die(write ? "pwrite" : "pread");
    }
    if (write && fsync(fd) < 0)
        die("fsync");
    report(write ? "seqwrite" : "seqread", (double)mib * 1048576, t0);
    close(fd);
}

static void rnd(const char *dev, long mib, long ops, int write)
{
    int fd = open_dev(dev, write);
    char *b = buf_alloc(4096);
    uint64_t x = 88172645463325252ULL, blocks = (uint64_t)mib * 256;
    double t0 = now();
    for (long i = 0; i < ops; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;       /* xorshift64 */
        off_t off = (off_t)(x % blocks) * 4096;
        ssize_t r = write ? pwrite(fd, b, 4096, off) : pread(fd, b, 4096, off);
        if (r != 4096)
            die(write ? "pwrite" : "pread");
    }
    if (write && fsync(fd) < 0)
        die("fsync");
    report(write ? "randwrite" : "randread", (double)ops * 4096, t0);
    close(fd);
}

static void serve(int port, long mib)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
        die("bind/listen");
    printf("IOB listening\n");
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    if (c < 0)
        die("accept");
    static char z[65536];
    long left = mib << 20;
    double t0 = now();
    while (left > 0) {
        ssize_t w = write(c, z, left < (long)sizeof(z) ? (size_t)left : sizeof(z));
        if (w <= 0)
            die("write");
        left -= w;
    }
    report("tcp-guest-send", (double)(mib << 20), t0);
    close(c);
    close(s);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "seqread"))
        seq(argv[2], atol(argv[3]), 0);
    else if (argc >= 4 && !strcmp(argv[1], "seqwrite"))
        seq(argv[2], atol(argv[3]), 1);
    else if (argc >= 5 && !strcmp(argv[1], "randread"))
        rnd(argv[2], atol(argv[3]), atol(argv[4]), 0);
    else if (argc >= 5 && !strcmp(argv[1], "randwrite"))
        rnd(argv[2], atol(argv[3]), atol(argv[4]), 1);
    else if (argc >= 4 && !strcmp(argv[1], "serve"))
        serve(atoi(argv[2]), atol(argv[3]));
    else {
        fprintf(stderr, "usage: iobench seqread|seqwrite DEV MIB | randread|randwrite DEV MIB OPS | serve PORT MIB\n");
        return 2;
    }
    return 0;
}
