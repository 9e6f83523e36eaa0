/* qcow2: header validation (every refused case), reads and writes across
 * backing chains, zero and compressed clusters, refcount growth, check. */
#include "test.h"
#include "block/block.h"
#include "block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tdir[256];

static const char *tmpdir(void)
{
    if (!tdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tdir, sizeof(tdir), "%s/tremu-qcow2-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tdir))
            abort();
    }
    return tdir;
}

static void path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", tmpdir(), name);
}

static uint32_t rd32(int fd, off_t off)
{
    uint8_t b[4] = {0};
    if (pread(fd, b, 4, off) != 4)
        return 0;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static uint64_t rd64(int fd, off_t off) { return (uint64_t)rd32(fd, off) << 32 | rd32(fd, off + 4); }
static void wr32(int fd, off_t off, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    if (pwrite(fd, b, 4, off) != 4)
        abort();
}
static void wr64(int fd, off_t off, uint64_t v)
{
    wr32(fd, off, (uint32_t)(v >> 32));
    wr32(fd, off + 4, (uint32_t)v);
}

static int mk(const char *name, uint64_t size, unsigned cb, int version, const char *backing,
              const char *bfmt, char *p)
{
    char err[256];
    path(p, name);
    struct qcow2_create_opts o = { .size = size, .cluster_bits = cb, .backing = backing,
                                   .backing_fmt = bfmt, .version = version };
    return qcow2_create(p, &o, err, sizeof(err));
}

static struct block_dev *op(const char *p, bool ro, char *err)
{
    struct block_opts o = { .format = BLOCK_FMT_PROBE, .readonly = ro, .flags = BLOCK_OPEN_QUIET };
    return block_open(p, &o, err, 512);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static bool image_consistent(struct block_dev *bd)
{
    struct qcow2_check_result r;
    return qcow2_check(bd, 0, NULL, &r) == 0 && !r.corruptions && !r.leaks && !r.check_errors;
}

TEST(qcow2_create_open_empty)
{
    char p[512], err[512];
    CHECK_EQ(mk("empty.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    struct block_dev *bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!strcmp(block_format_name(bd), "qcow2"));
    CHECK_EQ(block_size(bd), 1 << 20);
    uint8_t buf[4096];
    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ(block_read(bd, 8192, buf, sizeof(buf)), 0);
    uint8_t z[4096] = {0};
    CHECK(!memcmp(buf, z, sizeof(z)));
    CHECK_EQ(block_read(bd, (1 << 20) - 512, buf, 1024), -EINVAL);
    CHECK(image_consistent(bd));
    block_close(bd);
}

TEST(qcow2_write_read_back_v2_v3)
{
    for (int v = 2; v <= 3; v++) {
        char p[512], err[512];
        CHECK_EQ(mk(v == 2 ? "rw2.qcow2" : "rw3.qcow2", 8 << 20, 12, v, NULL, NULL, p), 0);
        struct block_dev *bd = op(p, false, err);
        CHECK(bd);
        if (!bd)
            return;
        static uint8_t w[100000], r[100000];
        fill(w, sizeof(w), (unsigned)v);
        CHECK_EQ(block_write(bd, 3000, w, sizeof(w)), 0);
        CHECK_EQ(block_write(bd, (8 << 20) - 512, w, 512), 0);
        CHECK_EQ(block_flush(bd), 0);
        block_close(bd);
        bd = op(p, true, err);
        CHECK(bd);
        if (!bd)
            return;
        CHECK_EQ(block_read(bd, 3000, r, sizeof(r)), 0);
        CHECK(!memcmp(w, r, sizeof(r)));
        CHECK_EQ(block_read(bd, (8 << 20) - 512, r, 512), 0);
        CHECK(!memcmp(w, r, 512));
        CHECK_EQ(block_read(bd, 0, r, 3000), 0);
        for (int i = 0; i < 3000; i++)
            if (r[i]) { CHECK(!"zero before the write"); break; }
        CHECK_EQ(block_write(bd, 0, w, 512), -EROFS);
        CHECK(image_consistent(bd));
        block_close(bd);
    }
}

TEST(qcow2_backing_chain_cow)
{
    char base[512], mid[512], top[512], err[512];
    /* raw base, 1 MiB + 1000 bytes of pattern */
    path(base, "chain-base.raw");
    static uint8_t b[(1 << 20) + 1000];
    fill(b, sizeof(b), 9);
    int fd = open(base, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, b, sizeof(b)), (long)sizeof(b));
    close(fd);
    struct stat st0;
    stat(base, &st0);
    /* relative backing names resolve against the overlay's directory */
    CHECK_EQ(mk("chain-mid.qcow2", 2 << 20, 16, 2, "chain-base.raw", "raw", mid), 0);
    CHECK_EQ(mk("chain-top.qcow2", 2 << 20, 12, 3, "chain-mid.qcow2", "qcow2", top), 0);
    struct block_dev *m = op(mid, false, err);
    CHECK(m);
    if (!m)
        return;
    uint8_t w[700];
    memset(w, 0x5a, sizeof(w));
    CHECK_EQ(block_write(m, 70000, w, sizeof(w)), 0);       /* partial cluster: CoW */
    CHECK(image_consistent(m));
    block_close(m);

    struct block_dev *t = op(top, false, err);
    CHECK(t);
    if (!t)
        return;
    CHECK(block_backing(t) && block_backing(block_backing(t)));
    memset(w, 0x6b, sizeof(w));
    CHECK_EQ(block_write(t, 70300, w, 100), 0);
    static uint8_t exp[2 << 20], got[2 << 20];
    memcpy(exp, b, sizeof(b));                  /* beyond the base: zeroes */
    memset(exp + 70000, 0x5a, 700);
    memset(exp + 70300, 0x6b, 100);
    CHECK_EQ(block_read(t, 0, got, sizeof(got)), 0);
    CHECK(!memcmp(exp, got, sizeof(got)));
    CHECK(image_consistent(t));
    block_close(t);
    /* the base was never written */
    fd = open(base, O_RDONLY);
    static uint8_t after[sizeof(b)];
    CHECK_EQ(read(fd, after, sizeof(after)), (long)sizeof(after));
    close(fd);
    CHECK(!memcmp(after, b, sizeof(b)));
}

TEST(qcow2_zero_clusters_and_discard)
{
    char base[512], top[512], err[512];
    CHECK_EQ(mk("z-base.qcow2", 1 << 20, 16, 3, NULL, NULL, base), 0);
    struct block_dev *bd = op(base, false, err);
    CHECK(bd);
    if (!bd)
        return;
    static uint8_t w[1 << 20], r[1 << 20];
    memset(w, 0x33, sizeof(w));
    CHECK_EQ(block_write(bd, 0, w, sizeof(w)), 0);
    block_close(bd);
    CHECK_EQ(mk("z-top.qcow2", 1 << 20, 16, 3, base, "qcow2", top), 0);
    bd = op(top, false, err);
    CHECK(bd);
    if (!bd)
        return;
    /* whole clusters become zero-flagged; a partial one is written */
    CHECK_EQ(block_write_zeroes(bd, 65536, 3 * 65536 + 100), 0);
    uint64_t pnum;
    CHECK_EQ(block_get_status(bd, 65536, 65536, &pnum), BLOCK_STATUS_ZERO);
    CHECK_EQ(block_get_status(bd, 0, 65536, &pnum), 0);
    CHECK_EQ(block_read(bd, 0, r, sizeof(r)), 0);
    memset(w + 65536, 0, 3 * 65536 + 100);
    CHECK(!memcmp(w, r, sizeof(r)));
    /* a write into a zero cluster keeps the rest zero */
    uint8_t x[10];
    memset(x, 0x44, sizeof(x));
    CHECK_EQ(block_write(bd, 65536 + 5, x, sizeof(x)), 0);
    memcpy(w + 65536 + 5, x, sizeof(x));
    CHECK_EQ(block_read(bd, 0, r, sizeof(r)), 0);
    CHECK(!memcmp(w, r, sizeof(r)));
    /* discard over a backing file must not expose the backing data */
    CHECK_EQ(block_discard(bd, 5 * 65536, 65536), 0);
    CHECK_EQ(block_read(bd, 0, r, sizeof(r)), 0);
    memset(w + 5 * 65536, 0, 65536);
    CHECK(!memcmp(w, r, sizeof(r)));
    CHECK(image_consistent(bd));
    block_close(bd);
}

/* Turns cluster 0 of an image into a compressed cluster holding data. */
TEST(qcow2_compressed_cluster_read_and_overwrite)
{
    char p[512], err[512];
    CHECK_EQ(mk("comp.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    struct block_dev *bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    static uint8_t data[65536], comp[70000], r[65536];
    memset(data, 0x11, sizeof(data));
    CHECK_EQ(block_write(bd, 0, data, 512), 0);     /* allocates the L2 table */
    block_close(bd);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i / 100);
    z_stream z;
    memset(&z, 0, sizeof(z));
    CHECK_EQ(deflateInit2(&z, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = data; z.avail_in = sizeof(data);
    z.next_out = comp; z.avail_out = sizeof(comp);
    CHECK_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t clen = sizeof(comp) - z.avail_out;
    deflateEnd(&z);
    int fd = open(p, O_RDWR);
    off_t end = lseek(fd, 0, SEEK_END);
    uint64_t coff = (uint64_t)end + 100;            /* compressed data need not be aligned */
    CHECK_EQ(pwrite(fd, comp, clen, (off_t)coff), (long)clen);
    uint64_t l1 = rd64(fd, 40), l2 = rd64(fd, (off_t)l1) & 0x00fffffffffffe00ULL;
    uint64_t old = rd64(fd, (off_t)l2) & 0x00fffffffffffe00ULL;
    unsigned x = 62 - (16 - 8);
    uint64_t nsec = (coff + clen - 1) / 512 - coff / 512;
    wr64(fd, (off_t)l2, 1ULL << 62 | nsec << x | coff);
    /* keep refcounts right: old data cluster freed, compressed ones counted */
    uint64_t rt = rd64(fd, 48), rb = rd64(fd, (off_t)rt);
    uint8_t zero2[2] = {0}, one2[2] = {0, 1};
    CHECK_EQ(pwrite(fd, zero2, 2, (off_t)(rb + (old >> 16) * 2)), 2);
    for (uint64_t c = coff >> 16; c <= (coff + clen - 1) >> 16; c++)
        CHECK_EQ(pwrite(fd, one2, 2, (off_t)(rb + c * 2)), 2);
    close(fd);

    bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    CHECK(image_consistent(bd));
    CHECK_EQ(block_read(bd, 0, r, sizeof(r)), 0);
    CHECK(!memcmp(r, data, sizeof(r)));
    /* writing into it decompresses into a fresh cluster, the stream is freed */
    uint8_t w[3] = {1, 2, 3};
    CHECK_EQ(block_write(bd, 1000, w, 3), 0);
    memcpy(data + 1000, w, 3);
    CHECK_EQ(block_read(bd, 0, r, sizeof(r)), 0);
    CHECK(!memcmp(r, data, sizeof(r)));
    uint64_t pnum;
    CHECK_EQ(block_get_status(bd, 0, 512, &pnum), BLOCK_STATUS_DATA);
    struct qcow2_check_result cr;
    CHECK_EQ(qcow2_check(bd, 0, NULL, &cr), 0);
    CHECK_EQ(cr.corruptions, 0);
    CHECK_EQ(cr.compressed_clusters, 0);
    block_close(bd);
}

TEST(qcow2_refcount_table_growth)
{
    /* 512-byte clusters: one refcount block covers 256 clusters, a one-cluster
     * table 64 blocks = 8 MiB; writing 12 MiB must grow the table. */
    char p[512], err[512];
    CHECK_EQ(mk("grow.qcow2", 32 << 20, 9, 3, NULL, NULL, p), 0);
    int fd = open(p, O_RDONLY);
    uint32_t rt_clusters0 = rd32(fd, 56);
    uint64_t rt_off0 = rd64(fd, 48);
    close(fd);
    struct block_dev *bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    static uint8_t w[1 << 20], r[1 << 20];
    for (int i = 0; i < 12; i++) {
        fill(w, sizeof(w), (unsigned)i);
        CHECK_EQ(block_write(bd, (uint64_t)i << 20, w, sizeof(w)), 0);
    }
    for (int i = 0; i < 12; i++) {
        fill(w, sizeof(w), (unsigned)i);
        CHECK_EQ(block_read(bd, (uint64_t)i << 20, r, sizeof(r)), 0);
        CHECK(!memcmp(w, r, sizeof(r)));
    }
    CHECK(image_consistent(bd));
    block_close(bd);
    fd = open(p, O_RDONLY);
    CHECK(rd64(fd, 48) != rt_off0);
    CHECK(rd32(fd, 56) > rt_clusters0);
    close(fd);
}

TEST(qcow2_check_finds_and_repairs_leak)
{
    char p[512], err[512];
    CHECK_EQ(mk("leak.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    int fd = open(p, O_RDWR);
    uint64_t rb = rd64(fd, rd64(fd, 48));
    uint8_t one[2] = {0, 1};
    CHECK_EQ(pwrite(fd, one, 2, (off_t)(rb + 7 * 2)), 2);   /* cluster 7: unused */
    CHECK_EQ(ftruncate(fd, 8 * 65536), 0);      /* inside the file, as qemu-img requires */
    uint8_t zero[2] = {0, 0};
    CHECK_EQ(pwrite(fd, zero, 2, (off_t)(rb + 2)), 2);     /* refcount table: in use */
    close(fd);
    struct block_opts o = { .flags = BLOCK_OPEN_CHECK | BLOCK_OPEN_QUIET };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    struct qcow2_check_result r;
    CHECK_EQ(qcow2_check(bd, 0, NULL, &r), 0);
    CHECK_EQ(r.leaks, 1);
    CHECK_EQ(r.corruptions, 1);
    CHECK_EQ(qcow2_check(bd, QCOW2_REPAIR_LEAKS | QCOW2_REPAIR_ERRORS, NULL, &r), 0);
    CHECK_EQ(r.leaks_fixed, 1);
    CHECK_EQ(r.corruptions_fixed, 1);
    CHECK(image_consistent(bd));
    block_close(bd);
}

TEST(qcow2_dirty_and_corrupt_bits)
{
    char p[512], err[512];
    CHECK_EQ(mk("dirty.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    int fd = open(p, O_RDWR);
    wr64(fd, 72, 1);            /* dirty */
    close(fd);
    struct block_dev *bd = op(p, false, err);
    CHECK(!bd);
    CHECK(strstr(err, "check -r all"));
    bd = op(p, true, err);      /* read-only is fine */
    CHECK(bd);
    block_close(bd);
    /* check -r all clears the bit, then read-write works */
    struct block_opts o = { .flags = BLOCK_OPEN_CHECK | BLOCK_OPEN_QUIET };
    bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (bd) {
        struct qcow2_check_result r;
        CHECK_EQ(qcow2_check(bd, QCOW2_REPAIR_LEAKS | QCOW2_REPAIR_ERRORS, NULL, &r), 0);
        block_close(bd);
    }
    bd = op(p, false, err);
    CHECK(bd);
    block_close(bd);
    fd = open(p, O_RDWR);
    wr64(fd, 72, 2);            /* corrupt */
    close(fd);
    bd = op(p, false, err);
    CHECK(!bd);
    CHECK(strstr(err, "corrupt"));
    bd = op(p, true, err);
    CHECK(bd);
    block_close(bd);
}

/* Each bad header is refused with a message naming the problem. */
struct bad_case { const char *name; off_t off; int width; uint64_t val; const char *msg; };

TEST(qcow2_bad_headers_refused)
{
    static const struct bad_case cases[] = {
        {"magic", 0, 4, 0x51464900, NULL},          /* probes as raw: opened as qcow2 below */
        {"version", 4, 4, 4, "version"},
        {"version1", 4, 4, 1, "version"},
        {"cluster_bits_small", 20, 4, 8, "cluster size"},
        {"cluster_bits_big", 20, 4, 22, "cluster size"},
        {"size_huge", 24, 8, 1ULL << 62, "too large"},
        {"crypt", 32, 4, 1, "encrypted"},
        {"l1_too_small", 36, 4, 0, "L1 table too small"},
        {"l1_absurd", 36, 4, 0x7fffffff, "L1 table too large"},
        {"l1_unaligned", 40, 8, 0x30200, "not cluster aligned"},
        {"l1_beyond_eof", 40, 8, 0x100000000ULL, "beyond the end"},
        {"rt_unaligned", 48, 8, 0x10100, "refcount table offset"},
        {"rt_zero", 48, 8, 0, "refcount table offset"},
        {"rt_beyond_eof", 48, 8, 0x1000000000ULL, "beyond the end"},
        {"rt_clusters_zero", 56, 4, 0, "refcount table offset"},
        {"rt_clusters_huge", 56, 4, 0x10000000, "too large"},
        {"rt_overlaps_l1", 48, 8, 0x30000, "overlaps"},
        {"snapshots_bad", 60, 4, 1, "snapshot"},
        {"incompat_unknown", 72, 8, 1ULL << 40, "unsupported qcow2 feature"},
        {"data_file", 72, 8, 4, "external data file"},
        {"extl2", 72, 8, 16, "extended L2"},
        {"refcount_order", 96, 4, 7, "refcount width"},
        {"header_length_small", 100, 4, 96, "header length"},
        {"header_length_odd", 100, 4, 105, "header length"},
        {"backing_name_long", 16, 4, 5000, "backing file name too long"},
        {"backing_name_outside", 8, 8, 0xfff0, "backing file name"},
        {"backing_missing", 8, 8, 0x200, "backing file"},
    };
    char p[512], err[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        CHECK_EQ(mk("bad.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
        int fd = open(p, O_RDWR);
        if (!strncmp(c->name, "backing_", 8)) {
            wr64(fd, 8, 0x200);
            wr32(fd, 16, 9);
            if (pwrite(fd, "nonexist!", 9, 0x200) != 9)
                abort();
        }
        if (c->width == 4)
            wr32(fd, c->off, (uint32_t)c->val);
        else
            wr64(fd, c->off, c->val);
        close(fd);
        struct block_opts o = { .format = BLOCK_FMT_QCOW2, .flags = BLOCK_OPEN_QUIET };
        err[0] = 0;
        struct block_dev *bd = block_open(p, &o, err, sizeof(err));
        if (bd) {
            test_failf(__FILE__, __LINE__, "%s: opened", c->name);
            block_close(bd);
            continue;
        }
        if (c->msg && !strstr(err, c->msg))
            test_failf(__FILE__, __LINE__, "%s: message '%s' lacks '%s'", c->name, err, c->msg);
        if (!c->msg && !strstr(err, "magic"))
            test_failf(__FILE__, __LINE__, "%s: message '%s'", c->name, err);
    }
}

TEST(qcow2_hostile_tables_no_crash)
{
    char p[512], err[512];
    CHECK_EQ(mk("hostile.qcow2", 4 << 20, 16, 3, NULL, NULL, p), 0);
    struct block_dev *bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    uint8_t w[512];
    memset(w, 1, sizeof(w));
    CHECK_EQ(block_write(bd, 0, w, sizeof(w)), 0);
    block_close(bd);
    int fd = open(p, O_RDWR);
    uint64_t l1 = rd64(fd, 40), l2 = rd64(fd, (off_t)l1) & 0x00fffffffffffe00ULL;
    /* L2 entries: unaligned data cluster, cluster far beyond EOF, a compressed
     * entry pointing past EOF */
    wr64(fd, (off_t)l2, 0x8000000000012300ULL);
    wr64(fd, (off_t)l2 + 8, 0x8000f00000000000ULL);
    wr64(fd, (off_t)l2 + 16, 0x4000000000000000ULL | 0x00ffffffffffffULL);
    close(fd);
    bd = op(p, false, err);
    CHECK(bd);
    if (!bd)
        return;
    uint8_t r[65536];
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);           /* the "marking as corrupt" message */
    CHECK_EQ(block_read(bd, 0, r, 512), -EIO);
    CHECK_EQ(block_read(bd, 65536, r, 512), 0);         /* past EOF reads as zeroes */
    CHECK(block_read(bd, 2 * 65536, r, 512) < 0);
    CHECK(block_write(bd, 0, w, 512) < 0);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK_EQ(block_write(bd, 4 * 65536, w, 512), -EIO);    /* no more writes at all */
    struct qcow2_check_result cr;
    CHECK_EQ(qcow2_check(bd, 0, NULL, &cr), 0);
    CHECK(cr.corruptions > 0);
    block_close(bd);
    /* the corrupt bit now keeps it read-only */
    bd = op(p, false, err);
    CHECK(!bd);
    CHECK(strstr(err, "corrupt"));
    /* a data cluster placed on the L1 table is never written */
    {
        char q2[512];
        CHECK_EQ(mk("overlap.qcow2", 4 << 20, 16, 3, NULL, NULL, q2), 0);
        struct block_dev *o = op(q2, false, err);
        CHECK(o);
        if (o) {
            CHECK_EQ(block_write(o, 0, w, 512), 0);
            block_close(o);
        }
        int f2 = open(q2, O_RDWR);
        uint64_t l1b = rd64(f2, 40), l2b = rd64(f2, (off_t)l1b) & 0x00fffffffffffe00ULL;
        wr64(f2, (off_t)l2b, 0x8000000000000000ULL | l1b);
        uint8_t before[512], after[512];
        CHECK_EQ(pread(f2, before, 512, (off_t)l1b), 512);
        close(f2);
        o = op(q2, false, err);
        CHECK(o);
        if (o) {
            int sv = dup(2), dn = open("/dev/null", O_WRONLY);
            dup2(dn, 2);
            CHECK_EQ(block_write(o, 0, w, 512), -EIO);
            dup2(sv, 2);
            close(sv);
            close(dn);
            block_close(o);
        }
        f2 = open(q2, O_RDONLY);
        CHECK_EQ(pread(f2, after, 512, (off_t)l1b), 512);
        close(f2);
        CHECK(!memcmp(before, after, 512));
    }
    /* L1 entry pointing beyond EOF is refused at open */
    fd = open(p, O_RDWR);
    wr64(fd, (off_t)l1, 0x80000000ff000000ULL);
    close(fd);
    bd = op(p, true, err);
    CHECK(!bd);
    CHECK(strstr(err, "L1 entry 0"));
}

TEST(qcow2_backing_loop_and_depth)
{
    char a[512], b[512], err[512];
    CHECK_EQ(mk("loop-a.qcow2", 1 << 20, 16, 3, "loop-b.qcow2", "qcow2", a), 0);
    CHECK_EQ(mk("loop-b.qcow2", 1 << 20, 16, 3, "loop-a.qcow2", "qcow2", b), 0);
    struct block_dev *bd = op(a, false, err);
    CHECK(!bd);
    CHECK(strstr(err, "loop"));
    /* a chain of 20 distinct images is too deep */
    char prev[64] = "", name[64], p[512];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "deep%d.qcow2", i);
        CHECK_EQ(mk(name, 1 << 20, 16, 3, i ? prev : NULL, i ? "qcow2" : NULL, p), 0);
        memcpy(prev, name, sizeof(name));
    }
    bd = op(p, true, err);
    CHECK(!bd);
    CHECK(strstr(err, "too deep"));
}

TEST(qcow2_set_backing_rebase)
{
    char a[512], b[512], top[512], err[512];
    CHECK_EQ(mk("rb-a.qcow2", 1 << 20, 16, 3, NULL, NULL, a), 0);
    CHECK_EQ(mk("rb-b.qcow2", 1 << 20, 16, 3, NULL, NULL, b), 0);
    struct block_dev *bd = op(b, false, err);
    uint8_t w[512];
    memset(w, 0x77, sizeof(w));
    CHECK_EQ(block_write(bd, 0, w, 512), 0);
    block_close(bd);
    CHECK_EQ(mk("rb-top.qcow2", 1 << 20, 16, 3, "rb-a.qcow2", "qcow2", top), 0);
    bd = block_open(top, &(struct block_opts){.flags = BLOCK_OPEN_NO_BACKING}, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    CHECK_EQ(qcow2_set_backing(bd, "rb-b.qcow2", "qcow2", err, sizeof(err)), 0);
    block_close(bd);
    bd = op(top, true, err);
    CHECK(bd);
    if (!bd)
        return;
    struct qcow2_info qi;
    CHECK_EQ(qcow2_get_info(bd, &qi), 0);
    CHECK(!strcmp(qi.backing, "rb-b.qcow2"));
    CHECK(!strcmp(qi.backing_fmt, "qcow2"));
    uint8_t r[512];
    CHECK_EQ(block_read(bd, 0, r, 512), 0);
    CHECK(!memcmp(r, w, 512));
    block_close(bd);
}

TEST(qcow2_snapshot_mode_leaves_image_untouched)
{
    char p[512], err[512];
    CHECK_EQ(mk("snap.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    struct stat st0, st1;
    stat(p, &st0);
    struct block_opts o = { .snapshot = true, .flags = BLOCK_OPEN_QUIET };
    setenv("TMPDIR", tmpdir(), 1);
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!block_is_readonly(bd));
    CHECK_EQ(block_size(bd), 1 << 20);
    uint8_t w[4096], r[4096];
    memset(w, 0x99, sizeof(w));
    CHECK_EQ(block_write(bd, 4096, w, sizeof(w)), 0);
    CHECK_EQ(block_read(bd, 4096, r, sizeof(r)), 0);
    CHECK(!memcmp(w, r, sizeof(r)));
    block_close(bd);
    stat(p, &st1);
    CHECK_EQ(st0.st_size, st1.st_size);
    CHECK_EQ(st0.st_mtime, st1.st_mtime);
    bd = op(p, true, err);
    CHECK(bd);
    if (!bd)
        return;
    CHECK_EQ(block_read(bd, 4096, r, sizeof(r)), 0);
    CHECK_EQ(r[0], 0);
    block_close(bd);
}

/* The residual differences from qemu-img check over the 1000-seed corpus
 * (tests/suites/qcow2diff.sh, seeds 796 and 383). */
TEST(qcow2_check_parity_header_size_and_far_refblock)
{
    char p[512], err[512];
    /* A 1-byte virtual size still needs one L1 entry: QEMU sizes the L1
     * check from the header's size, not from the sectors it rounds to. */
    CHECK_EQ(mk("tiny.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    int fd = open(p, O_RDWR);
    wr64(fd, 24, 1);
    wr32(fd, 36, 0);
    close(fd);
    struct block_opts o = { .format = BLOCK_FMT_QCOW2, .flags = BLOCK_OPEN_QUIET | BLOCK_OPEN_CHECK };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(!bd && strstr(err, "L1 table too small"));
    if (bd)
        block_close(bd);
    /* A refcount block past QEMU's largest readable offset (2^63 - 1 GiB):
     * qemu-img cannot read the refcounts it covers and ends "check not
     * completed" (internal errors), not "corrupt". */
    CHECK_EQ(mk("far.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    fd = open(p, O_RDWR);
    wr64(fd, rd64(fd, 48), 0xedc1010d00000000ULL);
    close(fd);
    bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    struct qcow2_check_result r;
    qcow2_check(bd, 0, NULL, &r);
    CHECK(r.check_errors > 0);
    CHECK(r.corruptions > 0);
    block_close(bd);
}

/* An L1 entry whose L2 table is the L1 table itself (seed 987 of the
 * differential corpus): qemu-img checks its COPIED flags like any L2
 * table's; the repair clears the flag on the L1 entry and writes nothing
 * through the table that is also the L1. */
TEST(qcow2_check_copied_on_l2_that_is_metadata)
{
    char p[512], err[512];
    CHECK_EQ(mk("selfl2.qcow2", 1 << 20, 16, 3, NULL, NULL, p), 0);
    int fd = open(p, O_RDWR);
    uint64_t l1 = rd64(fd, 40);
    wr64(fd, (off_t)l1, l1 | (1ULL << 63));
    close(fd);
    struct block_opts o = { .format = BLOCK_FMT_QCOW2, .flags = BLOCK_OPEN_QUIET | BLOCK_OPEN_CHECK };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    struct qcow2_check_result r;
    CHECK_EQ(qcow2_check(bd, 0, NULL, &r), 0);
    CHECK(r.corruptions > 0);
    CHECK_EQ(qcow2_check(bd, QCOW2_REPAIR_LEAKS | QCOW2_REPAIR_ERRORS, NULL, &r), 0);
    CHECK_EQ(qcow2_check(bd, 0, NULL, &r), 0);
    CHECK_EQ(r.corruptions, 0);
    block_close(bd);
    fd = open(p, O_RDONLY);
    CHECK_EQ(rd64(fd, (off_t)l1), l1);              /* COPIED cleared: refcount is 3 */
    close(fd);
}
