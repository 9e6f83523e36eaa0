/* Crash points: for every N, run a workload whose N-th image write (and all
 * later ones) never reaches the file, as a kill -9 at that moment would
 * leave it, then check the image: leaks are allowed, corruption is not. */
#include "test.h"
#include "block/block_int.h"
#include "block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[256];

static void path(char *out, const char *name)
{
    if (!tdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tdir, sizeof(tdir), "%s/tremu-crash-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tdir))
            abort();
    }
    snprintf(out, 512, "%s/%s", tdir, name);
}

static struct block_dev *op(const char *p, bool ro, unsigned flags)
{
    char err[512];
    struct block_opts o = { .readonly = ro, .flags = flags | BLOCK_OPEN_QUIET };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    if (!bd)
        printf("  open %s: %s\n", p, err);
    return bd;
}

/* Consistent = no corruption and nothing the check could not read. */
static bool consistent_after_crash(const char *p, uint64_t *leaks)
{
    struct block_dev *bd = op(p, true, BLOCK_OPEN_CHECK);
    if (!bd)
        return false;
    struct qcow2_check_result r;
    bool ok = qcow2_check(bd, 0, NULL, &r) == 0 && !r.corruptions && !r.check_errors;
    if (!ok)
        qcow2_check(bd, 0, stdout, &r);
    *leaks = r.leaks;
    /* and every byte still reads */
    static uint8_t buf[65536];
    for (uint64_t off = 0; ok && off < block_size(bd); off += sizeof(buf))
        ok = block_read(bd, off, buf, sizeof(buf)) == 0;
    block_close(bd);
    return ok;
}

static uint8_t pat[256 * 1024];

/* The workload: partial-cluster CoW from the backing file, L2 table and
 * refcount block allocation, zero clusters, discard, overwrite. Returns 0 if
 * every request succeeded. */
static int workload(struct block_dev *bd)
{
    int r = 0;
    r |= block_write(bd, 100, pat, 3000);
    r |= block_write(bd, (1 << 20) + 7, pat + 1, 40 * 1024);
    r |= block_write_zeroes(bd, 0, 64 * 1024);
    r |= block_discard(bd, (1 << 20) + 4096, 16 * 1024);
    r |= block_write(bd, 0x300000, pat + 2, 10 * 1024);
    r |= block_write(bd, 200, pat + 3, 1000);
    return r;
}

TEST(qcow2_every_crash_point_leaves_no_corruption)
{
    char base[512], img[512], err[512];
    path(base, "base.raw");
    path(img, "img.qcow2");
    for (size_t i = 0; i < sizeof(pat); i++)
        pat[i] = (uint8_t)(i * 13 + (i >> 8));
    static uint8_t b[1 << 20];
    memset(b, 0xbb, sizeof(b));
    int fd = open(base, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK_EQ(write(fd, b, sizeof(b)), (long)sizeof(b));
    close(fd);
    struct qcow2_create_opts co = { .size = 4 << 20, .cluster_bits = 9, .backing = base,
                                    .backing_fmt = "raw", .version = 3 };
    int points = 0;
    uint64_t leaky = 0;
    for (long n = 1; n < 100000; n++) {
        CHECK_EQ(qcow2_create(img, &co, err, sizeof(err)), 0);
        struct block_dev *bd = op(img, false, 0);
        if (!bd) {
            CHECK(bd);
            return;
        }
        bd->crash_at = n;
        int r = workload(bd);
        block_close(bd);
        uint64_t leaks;
        if (!consistent_after_crash(img, &leaks)) {
            test_failf(__FILE__, __LINE__, "corrupt after a crash at write %ld", n);
            return;
        }
        leaky += leaks != 0;
        if (r == 0) {
            points = (int)n;
            break;
        }
    }
    CHECK(points > 100);            /* the workload really has many writes */
    printf("  %d crash points, %llu of them leak\n", points, (unsigned long long)leaky);
    CHECK_EQ(leaky > 0, 1);         /* some crash points leak, none corrupt */
}

TEST(qcow2_crash_during_refcount_table_growth)
{
    char img[512], err[512];
    path(img, "grow-crash.qcow2");
    struct qcow2_create_opts co = { .size = 16 << 20, .cluster_bits = 9, .version = 3 };
    CHECK_EQ(qcow2_create(img, &co, err, sizeof(err)), 0);
    struct block_dev *bd = op(img, false, 0);
    if (!bd) {
        CHECK(bd);
        return;
    }
    /* fill until the next single-cluster write would grow the table (the
     * allocator is deterministic, so a dry run finds that write) */
    int fd = open(img, O_RDONLY);
    uint8_t h[8], h0[8];
    CHECK_EQ(pread(fd, h0, 8, 48), 8);
    uint64_t off = 0;
    const uint64_t step = 1 << 20;
    for (;;) {
        CHECK_EQ(block_write(bd, off, pat, 512), 0);
        CHECK_EQ(pread(fd, h, 8, 48), 8);
        if (memcmp(h, h0, 8) || off + 512 >= (16u << 20))
            break;
        off += 512;
        (void)step;
    }
    close(fd);
    block_close(bd);
    CHECK(off + 512 < (16u << 20));
    uint64_t grow_at = off;
    /* template: the same writes except the last */
    CHECK_EQ(qcow2_create(img, &co, err, sizeof(err)), 0);
    bd = op(img, false, 0);
    if (!bd)
        return;
    for (off = 0; off < grow_at; off += 512)
        CHECK_EQ(block_write(bd, off, pat, 512), 0);
    block_close(bd);
    struct stat st;
    stat(img, &st);
    uint8_t *tmpl = malloc((size_t)st.st_size);
    fd = open(img, O_RDONLY);
    CHECK_EQ(read(fd, tmpl, (size_t)st.st_size), (long)st.st_size);
    close(fd);
    int done = 0;
    for (long n = 1; n < 1000 && !done; n++) {
        fd = open(img, O_WRONLY | O_TRUNC);
        CHECK_EQ(write(fd, tmpl, (size_t)st.st_size), (long)st.st_size);
        close(fd);
        bd = op(img, false, 0);
        if (!bd)
            break;
        bd->crash_at = n;
        int r = block_write(bd, grow_at, pat, 512);
        block_close(bd);
        uint64_t leaks;
        if (!consistent_after_crash(img, &leaks)) {
            test_failf(__FILE__, __LINE__, "corrupt after a crash at write %ld of the growth", n);
            break;
        }
        if (r == 0)
            done = 1;
    }
    CHECK(done);
    free(tmpl);
    /* the finished image reads back */
    bd = op(img, true, 0);
    if (bd) {
        uint8_t r[512];
        CHECK_EQ(block_read(bd, grow_at, r, 512), 0);
        CHECK(!memcmp(r, pat, 512));
        block_close(bd);
    }
}
