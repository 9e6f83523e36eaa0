/* qcow2 images, versions 2 and 3 (QEMU docs/interop/qcow2.txt).
 *
 * Layout reminders: a guest offset splits into an L1 index, an L2 index and an
 * offset in the cluster; L1 entries point at L2 tables, L2 entries at data
 * clusters (or a compressed stream, or "reads as zero" in v3).  Every host
 * cluster in use has a refcount in a refcount block found through the
 * refcount table.
 *
 * Crash safety (kill -9 at any point leaves no corruption, only leaks): a new
 * cluster's refcount is raised before anything points at it, its contents are
 * written before the L2 entry that publishes it, a new L2 table is written
 * before the L1 entry that publishes it, and an old cluster is released only
 * after the entry that referenced it has been rewritten.  Every metadata
 * update is one pwrite of one entry, so the page cache never holds a torn
 * entry, and a kill does not lose written pages: program order is enough.
 *
 * Power loss also needs that order on the disk.  Refcounts are raised for a
 * batch of clusters and synced before any of them is used; new L2 tables,
 * refcount blocks and refcount tables are synced before being published;
 * releases wait for the next flush (after its fdatasync).  So in every cache
 * mode but unsafe, no durable reference can point at a cluster whose
 * refcount is not durable; guest data itself is durable at block_flush
 * (writeback) or at every write (writethrough/directsync, which also sync
 * between each dependent step).  cache=none is treated as writeback (no
 * O_DIRECT).
 *
 * Dirty bit (lazy refcounts): tremu never defers refcount updates, so it never
 * sets the bit.  An image that has it was left by a QEMU with lazy_refcounts=on
 * whose refcounts may be wrong: it opens read-only, and read-write only after
 * `tremu-img check -r all` has rebuilt the refcounts and cleared the bit
 * (writing through wrong refcounts could hand out clusters still in use).
 */
#include "block/block_int.h"
#include "block/qcow2.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define QCOW2_MAGIC         0x514649fbu        /* "QFI\xfb" */
#define L1E_OFFSET_MASK     0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK     0x00fffffffffffe00ULL
#define REFT_OFFSET_MASK    0xfffffffffffffe00ULL
#define OFLAG_COPIED        (1ULL << 63)
#define OFLAG_COMPRESSED    (1ULL << 62)
#define OFLAG_ZERO          1ULL

#define INCOMPAT_DIRTY      (1ULL << 0)
#define INCOMPAT_CORRUPT    (1ULL << 1)
#define INCOMPAT_DATA_FILE  (1ULL << 2)
#define INCOMPAT_COMPRESS   (1ULL << 3)
#define INCOMPAT_EXTL2      (1ULL << 4)
#define COMPAT_LAZY         (1ULL << 0)

#define EXT_END             0x00000000u
#define EXT_BACKING_FMT     0xe2792acau
#define EXT_FEATURE_TABLE   0x6803f857u

/* Caps on memory taken for tables, as QEMU's (a hostile header may ask for
 * terabytes). */
#define MAX_L1_BYTES        (32u << 20)
#define MAX_RT_BYTES        (8u << 20)
#define MAX_BACKING_NAME    1023
#define MAX_CHAIN_DEPTH     16
#define MAX_SNAPSHOTS       65536
#define MAX_HOST_OFFSET     (1ULL << 56)      /* offsets are bits 9..55 */
#define L2_CACHE_N          16
#define RB_CACHE_N          8

struct tcache {
    uint64_t off;                       /* 0: slot empty */
    uint8_t *buf;
    uint64_t used;
};

struct qcow2 {
    uint32_t version;
    unsigned cluster_bits, l2_bits, refcount_order, rb_bits;
    uint64_t cs;
    uint64_t l1_off;
    uint32_t l1_size;
    uint64_t *l1;                       /* host order */
    uint64_t rt_off;
    uint32_t rt_clusters;
    uint64_t rt_size;                   /* entries */
    uint64_t *rt;                       /* host order */
    uint64_t incompat, compat, autoclear;
    uint32_t header_length;
    uint32_t nb_snapshots;
    uint64_t snapshots_off;
    uint8_t compression_type;
    char backing[MAX_BACKING_NAME + 1];
    char backing_fmt[32];
    struct tcache l2c[L2_CACHE_N], rbc[RB_CACHE_N];
    uint64_t tick;
    uint64_t free_hint;                 /* no free cluster below this index */
    uint64_t res_next, res_end;         /* reserved: refcount 1 on disk, unused yet */
    uint64_t *pend;                     /* clusters to release at the next flush */
    size_t npend, cappend;
    uint64_t file_end;                  /* bytes, grows with our writes */
    bool sync_steps;
    bool corrupt_now;                   /* inconsistency seen: no more writes */
    uint8_t *cbuf, *zbuf, *zeroes;
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }

bool qcow2_probe(const uint8_t *buf, size_t len)
{
    /* magic only, as QEMU: a qcow2 with a bad version must be refused, not
     * handed to the guest as a raw disk */
    return len >= 4 && be32(buf) == QCOW2_MAGIC;
}

static struct qcow2 *Q(struct block_dev *bd) { return bd->opaque; }

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* ------------------------------------------------------------ file I/O */

static int qwrite(struct block_dev *bd, const void *buf, size_t len, uint64_t off)
{
    struct qcow2 *q = Q(bd);
    if (off >= MAX_HOST_OFFSET || len > MAX_HOST_OFFSET - off)
        return -EFBIG;
    if (bd->crash_at > 0) {
        if (bd->crash_at == 1)
            return -EIO;
        bd->crash_at--;
    }
    int r = block_pwrite_full(bd->fd, buf, len, off);
    if (!r && off + len > q->file_end)
        q->file_end = off + len;
    return r;
}

/* Orders two dependent metadata steps on stable storage when the cache mode
 * promises that every completed write is durable. */
static int barrier(struct block_dev *bd)
{
    if (!Q(bd)->sync_steps)
        return 0;
    return fdatasync(bd->fd) ? -errno : 0;
}

/* Orders metadata on stable storage in every mode but unsafe: used where a
 * reference to a new table is about to be published (rare), and before
 * clusters reserved in a batch are handed out, so that after a power loss
 * no reference points at a cluster whose refcount did not make it. */
static int meta_sync(struct block_dev *bd)
{
    if (bd->cache == BLOCK_CACHE_UNSAFE)
        return 0;
    return fdatasync(bd->fd) ? -errno : 0;
}

static void cache_drop(struct qcow2 *q, uint64_t off)
{
    for (int i = 0; i < L2_CACHE_N; i++)
        if (q->l2c[i].off == off)
            q->l2c[i].off = 0;
    for (int i = 0; i < RB_CACHE_N; i++)
        if (q->rbc[i].off == off)
            q->rbc[i].off = 0;
}

/* One metadata cluster through a small LRU cache (write-through: updates
 * change the cached copy and pwrite the entry). */
static int cache_get(struct block_dev *bd, struct tcache *c, int n, uint64_t off, uint8_t **out)
{
    struct qcow2 *q = Q(bd);
    int victim = -1;
    for (int i = 0; i < n; i++) {
        if (c[i].off == off && c[i].buf) {
            c[i].used = ++q->tick;
            *out = c[i].buf;
            return 0;
        }
        if (victim < 0 || (c[victim].off && (!c[i].off || c[i].used < c[victim].used)))
            victim = i;
    }
    if (!off || (off & (q->cs - 1)) || off >= q->file_end)
        return -EUCLEAN;            /* metadata outside the file: a corrupt image */
    struct tcache *v = &c[victim];
    if (!v->buf && !(v->buf = malloc(q->cs)))
        return -ENOMEM;
    v->off = 0;
    int r = block_pread_full(bd->fd, v->buf, q->cs, off);
    if (r)
        return r;
    v->off = off;
    v->used = ++q->tick;
    *out = v->buf;
    return 0;
}

/* ------------------------------------------------------------ refcounts */

static uint64_t rc_max(const struct qcow2 *q)
{
    return q->refcount_order == 6 ? UINT64_MAX : (1ULL << (1u << q->refcount_order)) - 1;
}

static uint64_t rb_entry_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
    switch (q->refcount_order) {
    case 3: return blk[i];
    case 4: return be16(blk + 2 * i);
    case 5: return be32(blk + 4 * i);
    case 6: return be64(blk + 8 * i);
    default: {
        /* sub-byte widths pack from the least significant bit, as QEMU does */
        unsigned bits = 1u << q->refcount_order;
        uint64_t bit = i * bits;
        return (blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    }
}

/* Sets entry i in blk; returns the byte range touched (for the pwrite). */
static void rb_entry_set(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v,
                         uint64_t *byte, unsigned *nbytes)
{
    switch (q->refcount_order) {
    case 3: blk[i] = (uint8_t)v; *byte = i; *nbytes = 1; return;
    case 4: put16(blk + 2 * i, (uint16_t)v); *byte = 2 * i; *nbytes = 2; return;
    case 5: put32(blk + 4 * i, (uint32_t)v); *byte = 4 * i; *nbytes = 4; return;
    case 6: put64(blk + 8 * i, v); *byte = 8 * i; *nbytes = 8; return;
    default: {
        unsigned bits = 1u << q->refcount_order;
        uint64_t bit = i * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
        blk[bit / 8] = (uint8_t)((blk[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
        *byte = bit / 8; *nbytes = 1;
        return;
    }
    }
}

/* 1: no refcount block covers idx (all its refcounts are 0). */
static int rb_load(struct block_dev *bd, uint64_t idx, uint8_t **blk, uint64_t *boff)
{
    struct qcow2 *q = Q(bd);
    uint64_t t = idx >> q->rb_bits;
    if (t >= q->rt_size)
        return 1;
    uint64_t off = q->rt[t] & REFT_OFFSET_MASK;
    if (!off)
        return 1;
    *boff = off;
    return cache_get(bd, q->rbc, RB_CACHE_N, off, blk);
}

static int get_refcount(struct block_dev *bd, uint64_t idx, uint64_t *rc)
{
    struct qcow2 *q = Q(bd);
    uint8_t *blk;
    uint64_t boff;
    int r = rb_load(bd, idx, &blk, &boff);
    if (r < 0)
        return r;
    *rc = r ? 0 : rb_entry_get(q, blk, idx & ((1ULL << q->rb_bits) - 1));
    return 0;
}

/* The refcount block covering idx must exist. */
static int set_refcount(struct block_dev *bd, uint64_t idx, uint64_t v)
{
    struct qcow2 *q = Q(bd);
    uint8_t *blk;
    uint64_t boff, byte;
    unsigned nb;
    if (v > rc_max(q))
        return -ERANGE;
    int r = rb_load(bd, idx, &blk, &boff);
    if (r)
        return r < 0 ? r : -EUCLEAN;
    rb_entry_set(q, blk, idx & ((1ULL << q->rb_bits) - 1), v, &byte, &nb);
    r = qwrite(bd, blk + byte, nb, boff + byte);
    if (!r && v == 0 && idx < q->free_hint)
        q->free_hint = idx;
    return r;
}

static int dec_refcount(struct block_dev *bd, uint64_t idx)
{
    uint64_t rc;
    int r = get_refcount(bd, idx, &rc);
    if (r)
        return r;
    if (rc == 0)
        return -EUCLEAN;            /* would underflow: the image was inconsistent */
    return set_refcount(bd, idx, rc - 1);
}

static int grow_refcount_table(struct block_dev *bd, uint64_t need);

/* Range t has no refcount block, so none of its clusters is in use: its
 * first cluster becomes the block, counting itself. */
static int create_refblock(struct block_dev *bd, uint64_t t)
{
    struct qcow2 *q = Q(bd);
    if (t >= q->rt_size) {
        int r = grow_refcount_table(bd, t + 1);
        if (r)
            return r;
        if (t < q->rt_size && q->rt[t])
            return 0;
        if (t >= q->rt_size)
            return -EUCLEAN;
    }
    uint64_t idx = t << q->rb_bits;
    uint64_t off = idx << q->cluster_bits;
    if (off >= MAX_HOST_OFFSET)
        return -EFBIG;
    /* A hostile image could leave the range of its own metadata uncovered. */
    if (idx == 0 || (off >= q->l1_off && off < q->l1_off + (uint64_t)q->l1_size * 8) ||
        (off >= q->rt_off && off < q->rt_off + (uint64_t)q->rt_clusters * q->cs))
        return -EUCLEAN;
    uint8_t *blk = calloc(1, q->cs);
    if (!blk)
        return -ENOMEM;
    uint64_t byte;
    unsigned nb;
    rb_entry_set(q, blk, 0, 1, &byte, &nb);
    cache_drop(q, off);
    int r = qwrite(bd, blk, q->cs, off);
    free(blk);
    if (!r)
        r = meta_sync(bd);
    if (r)
        return r;
    uint8_t e[8];
    put64(e, off);
    r = qwrite(bd, e, 8, q->rt_off + t * 8);
    if (r)
        return r;
    q->rt[t] = off;
    return meta_sync(bd);
}

/* A bigger refcount table, placed with its own refcount block in the first
 * refcount range that starts at or after the end of the file (all free). */
static int grow_refcount_table(struct block_dev *bd, uint64_t need)
{
    struct qcow2 *q = Q(bd);
    uint64_t epb = 1ULL << q->rb_bits;
    uint64_t end_clusters = (q->file_end + q->cs - 1) >> q->cluster_bits;
    if (q->res_end > end_clusters)
        end_clusters = q->res_end;      /* reserved clusters may lie past EOF */
    uint64_t R = (end_clusters + epb - 1) / epb;
    bool has_R = R < q->rt_size && q->rt[R];
    uint64_t entries = need > R + 1 ? need : R + 1;
    uint64_t ncl = (entries * 8 + q->cs - 1) >> q->cluster_bits;
    ncl += ncl / 2 + 1;                         /* slack: grow rarely */
    if (ncl * q->cs > MAX_RT_BYTES)
        return -EFBIG;
    uint64_t start = R * epb;
    uint64_t tidx = has_R ? start : start + 1;
    if (tidx + ncl > start + epb || ((tidx + ncl) << q->cluster_bits) >= MAX_HOST_OFFSET)
        return -EFBIG;
    uint64_t nsize = ncl * q->cs / 8;
    uint64_t *nrt = calloc(nsize, 8);
    uint8_t *raw = calloc(ncl, q->cs);
    if (!nrt || !raw) {
        free(nrt); free(raw);
        return -ENOMEM;
    }
    memcpy(nrt, q->rt, q->rt_size * 8);
    if (!has_R)
        nrt[R] = start << q->cluster_bits;
    for (uint64_t i = 0; i < nsize; i++)
        put64(raw + i * 8, nrt[i]);
    int r = qwrite(bd, raw, ncl * q->cs, tidx << q->cluster_bits);
    free(raw);
    if (!r && !has_R) {
        uint8_t *blk = calloc(1, q->cs);
        if (!blk)
            r = -ENOMEM;
        for (uint64_t k = 0; !r && k <= ncl; k++) {
            uint64_t byte; unsigned nb;
            rb_entry_set(q, blk, k, 1, &byte, &nb);
        }
        if (!r) {
            cache_drop(q, start << q->cluster_bits);
            r = qwrite(bd, blk, q->cs, start << q->cluster_bits);
        }
        free(blk);
    } else {
        /* R's block lives elsewhere (QEMU places them freely): its
         * clusters past EOF must really be free */
        for (uint64_t k = 0; !r && k < ncl; k++) {
            uint64_t rc;
            r = get_refcount(bd, tidx + k, &rc);
            if (!r && rc)
                r = -EUCLEAN;
        }
        for (uint64_t k = 0; !r && k < ncl; k++)
            r = set_refcount(bd, tidx + k, 1);
    }
    if (!r)
        r = meta_sync(bd);
    if (r) {
        free(nrt);
        return r;
    }
    /* The switch is one 12-byte write of two adjacent header fields. */
    uint8_t h[12];
    put64(h, tidx << q->cluster_bits);
    put32(h + 8, (uint32_t)ncl);
    r = qwrite(bd, h, 12, 48);
    if (!r)
        r = meta_sync(bd);
    if (r) {
        free(nrt);
        return r;
    }
    uint64_t old_idx = q->rt_off >> q->cluster_bits, old_n = q->rt_clusters;
    free(q->rt);
    q->rt = nrt;
    q->rt_size = nsize;
    q->rt_off = tidx << q->cluster_bits;
    q->rt_clusters = (uint32_t)ncl;
    for (uint64_t k = 0; k < old_n && !r; k++)
        r = dec_refcount(bd, old_idx + k);
    return r;
}

/* n contiguous free clusters, refcounts set to 1; returns the host offset. */
static int alloc_clusters(struct block_dev *bd, uint64_t n, uint64_t *out)
{
    struct qcow2 *q = Q(bd);
    uint64_t idx = q->free_hint ? q->free_hint : 1;
    /* Past EOF everything is free but a few reservations a crash leaked: a
     * hostile refcount table claiming otherwise must not make us scan for
     * hours. */
    uint64_t limit = ((q->file_end + q->cs - 1) >> q->cluster_bits) + (1u << 20);
    for (;;) {
        if (((idx + n) << q->cluster_bits) >= MAX_HOST_OFFSET)
            return -ENOSPC;
        if (idx > limit)
            return -EUCLEAN;
        bool restart = false;
        uint64_t k;
        for (k = 0; k < n; k++) {
            uint8_t *blk;
            uint64_t boff, rc;
            int r = rb_load(bd, idx + k, &blk, &boff);
            if (r < 0)
                return r;
            if (r == 1) {
                r = create_refblock(bd, (idx + k) >> q->rb_bits);
                if (r)
                    return r;
                restart = true;
                break;
            }
            r = get_refcount(bd, idx + k, &rc);
            if (r)
                return r;
            if (rc)
                break;
        }
        if (restart)
            continue;
        if (k == n)
            break;
        if (n == 1 && idx == q->free_hint)
            q->free_hint = idx + 1;
        idx += k + 1;
    }
    for (uint64_t k = 0; k < n; k++) {
        int r = set_refcount(bd, idx + k, 1);
        if (r)
            return r;
    }
    if (n == 1 && idx >= q->free_hint)
        q->free_hint = idx + 1;
    *out = idx << q->cluster_bits;
    return barrier(bd);
}

/* One cluster for data or an L2 table. Refcounts are raised for a batch of
 * clusters at a time and synced once, so that in writeback mode each
 * allocation need not wait for the disk; a crash leaks at most the rest of
 * the batch. */
#define RESERVE_BATCH 64

static int alloc_cluster(struct block_dev *bd, uint64_t *out)
{
    struct qcow2 *q = Q(bd);
    if (q->res_next >= q->res_end) {
        uint64_t first;
        int r = alloc_clusters(bd, 1, &first);
        if (r)
            return r;
        q->res_next = first >> q->cluster_bits;
        q->res_end = q->res_next + 1;
        while (q->res_end - q->res_next < RESERVE_BATCH) {
            uint8_t *blk;
            uint64_t boff, rc;
            if (rb_load(bd, q->res_end, &blk, &boff) != 0 ||
                get_refcount(bd, q->res_end, &rc) || rc || set_refcount(bd, q->res_end, 1))
                break;
            q->res_end++;
        }
        if (q->free_hint >= q->res_next && q->free_hint < q->res_end)
            q->free_hint = q->res_end;
        if ((r = meta_sync(bd)))
            return r;
    }
    *out = q->res_next++ << q->cluster_bits;
    return 0;
}

/* Releases are deferred to the next flush: the entry that dropped the
 * reference must be on disk before the cluster can be handed out again. */
static int settle(struct block_dev *bd, bool unreserve)
{
    struct qcow2 *q = Q(bd);
    int r = 0;
    if (q->npend) {
        r = meta_sync(bd);
        for (size_t i = 0; !r && i < q->npend; i++)
            r = dec_refcount(bd, q->pend[i]);
        q->npend = 0;
    }
    if (unreserve) {
        while (!r && q->res_next < q->res_end)
            r = set_refcount(bd, q->res_next++, 0);
        q->res_next = q->res_end = 0;
    }
    return r;
}

static int defer_release(struct block_dev *bd, uint64_t idx)
{
    struct qcow2 *q = Q(bd);
    if (q->npend == q->cappend) {
        if (q->cappend >= 4096)
            return settle(bd, false) ? -EIO : defer_release(bd, idx);
        size_t nc = q->cappend ? q->cappend * 2 : 64;
        uint64_t *p = realloc(q->pend, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        q->pend = p;
        q->cappend = nc;
    }
    q->pend[q->npend++] = idx;
    return 0;
}

/* ------------------------------------------------------------ mapping */

static uint64_t l1_index(const struct qcow2 *q, uint64_t v)
{
    return v >> (q->cluster_bits + q->l2_bits);
}
static uint64_t l2_index(const struct qcow2 *q, uint64_t v)
{
    return (v >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1);
}

/* The L2 entry for guest offset v (0: no L2 table). */
static int l2_lookup(struct block_dev *bd, uint64_t v, uint64_t *entry)
{
    struct qcow2 *q = Q(bd);
    uint64_t i1 = l1_index(q, v);
    *entry = 0;
    if (i1 >= q->l1_size)
        return 0;
    uint64_t l2off = q->l1[i1] & L1E_OFFSET_MASK;
    if (!l2off)
        return 0;
    uint8_t *tbl;
    int r = cache_get(bd, q->l2c, L2_CACHE_N, l2off, &tbl);
    if (r)
        return r;
    *entry = be64(tbl + l2_index(q, v) * 8);
    return 0;
}

static void compressed_range(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
    unsigned x = 62 - (q->cluster_bits - 8);
    *off = e & ((1ULL << x) - 1);
    uint64_t nsec = (e >> x) & ((1ULL << (q->cluster_bits - 8)) - 1);
    *len = (nsec + 1) * 512 - (*off & 511);
}

static int read_compressed(struct block_dev *bd, uint64_t e, uint8_t *out)
{
    struct qcow2 *q = Q(bd);
    uint64_t off, len;
    compressed_range(q, e, &off, &len);
    if (off >= q->file_end || len > 2 * q->cs)
        return -EUCLEAN;
    int r = block_pread_full(bd->fd, q->zbuf, len, off);
    if (r)
        return r;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -12) != Z_OK)
        return -ENOMEM;
    z.next_in = q->zbuf;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)q->cs;
    int zr = inflate(&z, Z_FINISH);
    bool ok = (zr == Z_STREAM_END || zr == Z_BUF_ERROR || zr == Z_OK) && z.avail_out == 0;
    inflateEnd(&z);
    return ok ? 0 : -EUCLEAN;
}

static int read_backing(struct block_dev *bd, uint64_t v, uint8_t *buf, uint64_t n)
{
    struct block_dev *b = bd->backing;
    if (!b || v >= b->size) {
        memset(buf, 0, n);
        return 0;
    }
    uint64_t m = b->size - v < n ? b->size - v : n;
    int r = block_read(b, v, buf, m);
    if (r)
        return r;
    memset(buf + m, 0, n - m);
    return 0;
}

static bool is_zero_entry(const struct qcow2 *q, uint64_t e)
{
    return q->version >= 3 && !(e & OFLAG_COMPRESSED) && (e & OFLAG_ZERO);
}

/* Reads from guest offset v as far as the clusters keep one kind (host-
 * contiguous data, zeroes, or fall-through to the backing file), so a large
 * request on a well-laid-out image is one pread; *done = bytes read. */
static int read_run(struct block_dev *bd, uint64_t v, uint8_t *buf, uint64_t len,
                    uint64_t *done)
{
    struct qcow2 *q = Q(bd);
    uint64_t e;
    int r = l2_lookup(bd, v, &e);
    if (r)
        return r;
    uint64_t in = v & (q->cs - 1);
    uint64_t n = q->cs - in < len ? q->cs - in : len;
    if (e & OFLAG_COMPRESSED) {
        r = read_compressed(bd, e, q->cbuf);
        if (!r)
            memcpy(buf, q->cbuf + in, n);
        *done = n;
        return r;
    }
    enum { DATA, ZERO, BACKING } kind = is_zero_entry(q, e) ? ZERO
                                      : (e & L2E_OFFSET_MASK) ? DATA : BACKING;
    uint64_t host = (e & L2E_OFFSET_MASK) + in;
    if (kind == DATA && ((e & L2E_OFFSET_MASK) & (q->cs - 1)))
        return -EUCLEAN;
    while (n < len) {
        uint64_t e2;
        if (l2_lookup(bd, v + n, &e2) || (e2 & OFLAG_COMPRESSED))
            break;
        int k2 = is_zero_entry(q, e2) ? ZERO : (e2 & L2E_OFFSET_MASK) ? DATA : BACKING;
        if (k2 != (int)kind || (kind == DATA && (e2 & L2E_OFFSET_MASK) != host + n))
            break;
        n += q->cs < len - n ? q->cs : len - n;
    }
    *done = n;
    if (kind == ZERO) {
        memset(buf, 0, n);
        return 0;
    }
    if (kind == BACKING)
        return read_backing(bd, v, buf, n);
    return block_pread_full(bd->fd, buf, n, host);
}

/* Metadata found inconsistent (-EUCLEAN inside this file): like QEMU, set
 * the corrupt bit so that no later run writes through it, and stop writing
 * now. The caller sees -EIO. */
static int corrupt_event(struct block_dev *bd, int r)
{
    struct qcow2 *q = Q(bd);
    if (r != -EUCLEAN)
        return r;
    if (!bd->readonly && !(q->incompat & INCOMPAT_CORRUPT) && q->version >= 3 &&
        !(bd->flags & BLOCK_OPEN_CHECK)) {
        fprintf(stderr, "qcow2: Marking image '%s' as corrupt: inconsistent metadata; "
                "further writes are refused (see 'tremu-img check')\n", bd->filename);
        uint8_t f[8];
        put64(f, q->incompat | INCOMPAT_CORRUPT);
        if (qwrite(bd, f, 8, 72) == 0)
            q->incompat |= INCOMPAT_CORRUPT;
    }
    q->corrupt_now = true;
    return -EIO;
}

static int qcow2_read(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        uint64_t n;
        int r = read_run(bd, off, p, len, &n);
        if (r)
            return corrupt_event(bd, r);
        off += n; p += n; len -= n;
    }
    return 0;
}

/* The L2 table for guest offset v, allocating it if needed. */
static int ensure_l2(struct block_dev *bd, uint64_t v, uint8_t **tbl, uint64_t *l2off)
{
    struct qcow2 *q = Q(bd);
    uint64_t i1 = l1_index(q, v);
    if (i1 >= q->l1_size)
        return -EUCLEAN;
    uint64_t e = q->l1[i1], off = e & L1E_OFFSET_MASK;
    uint8_t ent[8];
    int r;
    if (off) {
        if (!(e & OFLAG_COPIED)) {
            uint64_t rc;
            r = get_refcount(bd, off >> q->cluster_bits, &rc);
            if (r)
                return r;
            if (rc != 1)
                return -ENOTSUP;        /* shared with a snapshot */
            put64(ent, off | OFLAG_COPIED);
            if ((r = qwrite(bd, ent, 8, q->l1_off + i1 * 8)))
                return r;
            q->l1[i1] = off | OFLAG_COPIED;
        }
        *l2off = off;
        return cache_get(bd, q->l2c, L2_CACHE_N, off, tbl);
    }
    if ((r = alloc_cluster(bd, &off)))
        return r;
    cache_drop(q, off);
    if ((r = qwrite(bd, q->zeroes, q->cs, off)) || (r = meta_sync(bd)))
        return r;
    put64(ent, off | OFLAG_COPIED);
    if ((r = qwrite(bd, ent, 8, q->l1_off + i1 * 8)))
        return r;
    q->l1[i1] = off | OFLAG_COPIED;
    if ((r = barrier(bd)))
        return r;
    *l2off = off;
    return cache_get(bd, q->l2c, L2_CACHE_N, off, tbl);
}

static int set_l2_entry(struct block_dev *bd, uint8_t *tbl, uint64_t l2off, uint64_t v, uint64_t e)
{
    struct qcow2 *q = Q(bd);
    uint64_t i2 = l2_index(q, v);
    put64(tbl + i2 * 8, e);
    int r = qwrite(bd, tbl + i2 * 8, 8, l2off + i2 * 8);
    return r ? r : barrier(bd);
}

/* Drops the reference an old L2 entry held, once it has been replaced. */
static int release_entry(struct block_dev *bd, uint64_t e, uint64_t keep)
{
    struct qcow2 *q = Q(bd);
    if (e & OFLAG_COMPRESSED) {
        uint64_t off, len;
        compressed_range(q, e, &off, &len);
        uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits;
        for (uint64_t i = first; i <= last; i++) {
            int r = defer_release(bd, i);
            if (r)
                return r;
        }
        return 0;
    }
    uint64_t off = e & L2E_OFFSET_MASK;
    if (!off || off == keep)
        return 0;
    return defer_release(bd, off >> q->cluster_bits);
}

/* A data cluster a hostile L2 entry places on the header, the L1 table or
 * the refcount table must never be written (QEMU's overlap check). */
static bool hits_fixed_metadata(const struct qcow2 *q, uint64_t off)
{
    return off < q->cs || ranges_overlap(off, q->cs, q->l1_off, (uint64_t)q->l1_size * 8) ||
           ranges_overlap(off, q->cs, q->rt_off, (uint64_t)q->rt_clusters * q->cs);
}

/* Writes n bytes at guest offset v, all inside one cluster. */
static int write_piece(struct block_dev *bd, uint64_t v, const uint8_t *buf, uint64_t n)
{
    struct qcow2 *q = Q(bd);
    uint8_t *tbl;
    uint64_t l2off;
    int r = ensure_l2(bd, v, &tbl, &l2off);
    if (r)
        return r;
    uint64_t e = be64(tbl + l2_index(q, v) * 8);
    uint64_t in = v & (q->cs - 1), off = e & L2E_OFFSET_MASK;
    bool compressed = e & OFLAG_COMPRESSED, zero = is_zero_entry(q, e);
    uint64_t rc = 0;
    if (!compressed && off) {
        if ((off & (q->cs - 1)) || hits_fixed_metadata(q, off))
            return -EUCLEAN;
        if ((r = get_refcount(bd, off >> q->cluster_bits, &rc)))
            return r;
    }
    if (!compressed && off && !zero && rc == 1) {
        /* in place */
        if ((r = qwrite(bd, buf, n, off + in)))
            return r;
        if (!(e & OFLAG_COPIED)) {
            if ((r = barrier(bd)))
                return r;
            return set_l2_entry(bd, tbl, l2off, v, off | OFLAG_COPIED);
        }
        return barrier(bd);
    }
    /* Copy-on-write: build the whole new cluster. */
    const uint8_t *data = buf;
    if (n < q->cs) {
        uint8_t *c = q->cbuf;
        uint64_t base = v - in;
        if (compressed)
            r = read_compressed(bd, e, c);
        else if (zero)
            memset(c, 0, q->cs);
        else if (off)
            r = block_pread_full(bd->fd, c, q->cs, off);
        else
            r = read_backing(bd, base, c, q->cs);
        if (r)
            return r;
        memcpy(c + in, buf, n);
        data = c;
    }
    uint64_t target;
    if (!compressed && off && zero && rc == 1)
        target = off;                   /* preallocated zero cluster: reuse */
    else if ((r = alloc_cluster(bd, &target)))
        return r;
    if ((r = qwrite(bd, data, q->cs, target)) || (r = barrier(bd)))
        return r;
    /* alloc_clusters may have moved the L2 table out of the cache */
    if ((r = cache_get(bd, q->l2c, L2_CACHE_N, l2off, &tbl)))
        return r;
    if ((r = set_l2_entry(bd, tbl, l2off, v, target | OFLAG_COPIED)))
        return r;
    return release_entry(bd, e, target);
}

static int qcow2_write(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    struct qcow2 *q = Q(bd);
    const uint8_t *p = buf;
    if (q->corrupt_now)
        return -EIO;
    while (len) {
        uint64_t n = q->cs - (off & (q->cs - 1));
        if (n > len)
            n = len;
        int r = write_piece(bd, off, p, n);
        if (r)
            return corrupt_event(bd, r);
        off += n; p += n; len -= n;
    }
    return 0;
}

/* A whole cluster becomes zero (v3 zero flag, or unallocated when nothing
 * shows through); discard only does what is free of data semantics. */
static int zero_cluster(struct block_dev *bd, uint64_t v, bool discard)
{
    struct qcow2 *q = Q(bd);
    uint64_t e;
    int r = l2_lookup(bd, v, &e);
    if (r)
        return r;
    uint64_t ne;
    if (!bd->backing)
        ne = 0;
    else if (q->version >= 3)
        ne = OFLAG_ZERO;
    else if (discard)
        return 0;
    else
        return write_piece(bd, v, q->zeroes, q->cs);
    if (e == ne || (!e && !bd->backing))
        return 0;
    uint8_t *tbl;
    uint64_t l2off;
    if ((r = ensure_l2(bd, v, &tbl, &l2off)))
        return r;
    e = be64(tbl + l2_index(q, v) * 8);
    if ((r = set_l2_entry(bd, tbl, l2off, v, ne)))
        return r;
    return release_entry(bd, e, 0);
}

static int zero_range(struct block_dev *bd, uint64_t off, uint64_t len, bool discard)
{
    struct qcow2 *q = Q(bd);
    while (len) {
        uint64_t in = off & (q->cs - 1);
        uint64_t n = q->cs - in;
        if (n > len)
            n = len;
        int r = 0;
        /* the last cluster may extend past the virtual size */
        bool whole = in == 0 && (n == q->cs || off + n == bd->size);
        if (whole)
            r = zero_cluster(bd, off, discard);
        else if (!discard)
            r = write_piece(bd, off, q->zeroes, n);
        if (r)
            return r;
        off += n; len -= n;
    }
    return 0;
}

static int qcow2_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len)
{
    if (Q(bd)->corrupt_now)
        return -EIO;
    return corrupt_event(bd, zero_range(bd, off, len, false));
}

static int qcow2_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
    if (Q(bd)->corrupt_now)
        return -EIO;
    return corrupt_event(bd, zero_range(bd, off, len, true));
}

static int qcow2_flush(struct block_dev *bd)
{
    int r = bd->cache == BLOCK_CACHE_UNSAFE ? 0 : fdatasync(bd->fd) ? -errno : 0;
    /* now that the entries are durable, their old clusters can go */
    if (r || Q(bd)->corrupt_now)
        return r;
    return corrupt_event(bd, settle(bd, false));
}

static int entry_status(const struct qcow2 *q, uint64_t e)
{
    if (e & OFLAG_COMPRESSED)
        return BLOCK_STATUS_DATA;
    if (is_zero_entry(q, e))
        return BLOCK_STATUS_ZERO;
    return (e & L2E_OFFSET_MASK) ? BLOCK_STATUS_DATA : 0;
}

static int qcow2_get_status(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum)
{
    struct qcow2 *q = Q(bd);
    int first = -1;
    uint64_t done = 0;
    while (done < len) {
        uint64_t e;
        int r = l2_lookup(bd, off + done, &e);
        if (r)
            return r;
        int s = entry_status(q, e);
        if (first < 0)
            first = s;
        else if (s != first)
            break;
        uint64_t n = q->cs - ((off + done) & (q->cs - 1));
        done += n;
    }
    *pnum = done < len ? done : len;
    return first;
}

static void qcow2_close(struct block_dev *bd)
{
    struct qcow2 *q = Q(bd);
    if (!q)
        return;
    if (!bd->readonly && q->l1 && !q->corrupt_now)
        settle(bd, true);           /* errors here only leak clusters */
    free(q->pend);
    for (int i = 0; i < L2_CACHE_N; i++)
        free(q->l2c[i].buf);
    for (int i = 0; i < RB_CACHE_N; i++)
        free(q->rbc[i].buf);
    free(q->l1); free(q->rt); free(q->cbuf); free(q->zbuf); free(q->zeroes);
    free(q);
    bd->opaque = NULL;
}

static const struct block_driver qcow2_driver = {
    .name = "qcow2",
    .read = qcow2_read, .write = qcow2_write, .flush = qcow2_flush,
    .discard = qcow2_discard, .write_zeroes = qcow2_write_zeroes,
    .get_status = qcow2_get_status, .close = qcow2_close,
};

/* ------------------------------------------------------------ open */

static int open_backing(struct block_dev *bd, char *err, size_t errlen)
{
    struct qcow2 *q = Q(bd);
    if (bd->depth + 1 >= MAX_CHAIN_DEPTH) {
        block_errf(err, errlen, "'%s': backing chain too deep (more than %d images)",
                   bd->filename, MAX_CHAIN_DEPTH);
        return -ELOOP;
    }
    const char *colon = strchr(q->backing, ':'), *slash = strchr(q->backing, '/');
    if (colon && (!slash || colon < slash)) {
        block_errf(err, errlen, "'%s': backing file '%s' uses a protocol, which is not supported",
                   bd->filename, q->backing);
        return -ENOTSUP;
    }
    enum block_format fmt = BLOCK_FMT_PROBE;
    if (!strcmp(q->backing_fmt, "raw"))
        fmt = BLOCK_FMT_RAW;
    else if (!strcmp(q->backing_fmt, "qcow2"))
        fmt = BLOCK_FMT_QCOW2;
    else if (q->backing_fmt[0]) {
        block_errf(err, errlen, "'%s': backing file format '%s' is not supported",
                   bd->filename, q->backing_fmt);
        return -ENOTSUP;
    }
    /* A relative name is relative to the overlay's directory, as in QEMU. */
    char path[PATH_MAX + MAX_BACKING_NAME + 2];
    if (q->backing[0] == '/') {
        snprintf(path, sizeof(path), "%s", q->backing);
    } else {
        const char *s = strrchr(bd->filename, '/');
        if (s)
            snprintf(path, sizeof(path), "%.*s/%s", (int)(s - bd->filename), bd->filename,
                     q->backing);
        else
            snprintf(path, sizeof(path), "%s", q->backing);
    }
    char inner[512];
    bd->backing = block_open_layer(path, fmt, true, bd->cache, bd->flags | BLOCK_OPEN_QUIET,
                                   bd->depth + 1, bd, inner, sizeof(inner));
    if (!bd->backing) {
        /* the innermost failure names the image at fault: pass it up as is */
        if (!strncmp(inner, "Could not open backing file of", 30))
            block_errf(err, errlen, "%s", inner);
        else
            block_errf(err, errlen, "Could not open backing file of '%s': %s", bd->filename,
                       inner);
        return -ENOENT;
    }
    return 0;
}

static void feature_names(const uint8_t *ft, uint32_t ftlen, uint64_t bits, char *out, size_t n)
{
    size_t used = 0;
    out[0] = 0;
    for (int b = 0; b < 64; b++) {
        if (!(bits & (1ULL << b)))
            continue;
        const char *name = NULL;
        char nm[47];
        for (uint32_t i = 0; ft && i + 48 <= ftlen; i += 48) {
            if (ft[i] == 0 && ft[i + 1] == b) {
                memcpy(nm, ft + i + 2, 46);
                nm[46] = 0;
                name = nm;
                break;
            }
        }
        int w = name ? snprintf(out + used, n - used, "%s%s", used ? ", " : "", name)
                     : snprintf(out + used, n - used, "%sunknown incompatible feature bit %d",
                                used ? ", " : "", b);
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

int qcow2_open(struct block_dev *bd, char *err, size_t errlen)
{
    const char *fn = bd->filename;
    struct stat st;
    if (fstat(bd->fd, &st) < 0) {
        block_errf(err, errlen, "Could not stat '%s': %s", fn, strerror(errno));
        return -errno;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(bd->fd, 0, SEEK_END);
        fsize = end > 0 ? (uint64_t)end : 0;
    }
    uint8_t h[112];
    if (fsize < 72) {
        block_errf(err, errlen, "'%s': qcow2 header truncated (file is %" PRIu64 " bytes)",
                   fn, fsize);
        return -EINVAL;
    }
    int r = block_pread_full(bd->fd, h, sizeof(h), 0);
    if (r) {
        block_errf(err, errlen, "Could not read '%s': %s", fn, strerror(-r));
        return r;
    }
    if (be32(h) != QCOW2_MAGIC) {
        block_errf(err, errlen, "'%s' is not a qcow2 image (bad magic)", fn);
        return -EINVAL;
    }
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q) {
        block_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    bd->opaque = q;
    bd->drv = &qcow2_driver;
    q->version = be32(h + 4);
    uint64_t bf_off = be64(h + 8);
    uint32_t bf_size = be32(h + 16);
    q->cluster_bits = be32(h + 20);
    bd->size = be64(h + 24) & ~511ULL;     /* QEMU counts whole sectors */
    uint32_t crypt = be32(h + 32);
    q->l1_size = be32(h + 36);
    q->l1_off = be64(h + 40);
    q->rt_off = be64(h + 48);
    q->rt_clusters = be32(h + 56);
    q->nb_snapshots = be32(h + 60);
    q->snapshots_off = be64(h + 64);
    q->refcount_order = 4;
    q->header_length = 72;
    q->file_end = fsize;
    q->sync_steps = bd->cache == BLOCK_CACHE_WRITETHROUGH || bd->cache == BLOCK_CACHE_DIRECTSYNC;

#define BAD(...) do { block_errf(err, errlen, __VA_ARGS__); r = -EINVAL; goto fail; } while (0)
    if (q->version != 2 && q->version != 3)
        BAD("'%s': unsupported qcow2 version %u", fn, q->version);
    if (q->cluster_bits < 9 || q->cluster_bits > 21)
        BAD("'%s': cluster size 2^%u is invalid (must be 512 bytes to 2 MiB)", fn, q->cluster_bits);
    q->cs = 1ULL << q->cluster_bits;
    q->l2_bits = q->cluster_bits - 3;
    if (q->version == 3) {
        if (fsize < 104)
            BAD("'%s': qcow2 v3 header truncated", fn);
        q->incompat = be64(h + 72);
        q->compat = be64(h + 80);
        q->autoclear = be64(h + 88);
        q->refcount_order = be32(h + 96);
        q->header_length = be32(h + 100);
        if (q->header_length < 104 || q->header_length > q->cs || (q->header_length & 7))
            BAD("'%s': invalid qcow2 header length %u", fn, q->header_length);
        if (q->header_length > 104)
            q->compression_type = h[104];
        if (q->refcount_order > 6)
            BAD("'%s': refcount width 2^%u bits is invalid (at most 64 bits)", fn,
                q->refcount_order);
    }
    q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
    if (crypt)
        BAD("'%s': encrypted qcow2 images are not supported", fn);
    if (bd->size > (1ULL << 61))
        BAD("'%s': virtual size %" PRIu64 " is too large", fn, bd->size);
    /* cluster 0 holds the header, its extensions and the backing file name */
    if (!(q->cbuf = malloc(q->cs)) || !(q->zbuf = malloc(2 * q->cs)) ||
        !(q->zeroes = calloc(1, q->cs))) {
        r = -ENOMEM;
        block_errf(err, errlen, "out of memory");
        goto fail;
    }
    uint8_t *c0 = q->cbuf;
    if ((r = block_pread_full(bd->fd, c0, q->cs, 0))) {
        block_errf(err, errlen, "Could not read '%s': %s", fn, strerror(-r));
        goto fail;
    }
    const uint8_t *ft = NULL;
    uint32_t ftlen = 0;
    uint64_t ext_end = q->cs;
    if (bf_off && bf_off < ext_end)
        ext_end = bf_off;
    for (uint64_t pos = q->header_length; pos + 8 <= ext_end;) {
        uint32_t type = be32(c0 + pos), len = be32(c0 + pos + 4);
        /* the length is checked first, even the end marker's, as QEMU does */
        if (len > ext_end - pos - 8)
            BAD("'%s': header extension 0x%x overruns the header cluster", fn, type);
        if (type == EXT_END)
            break;
        const uint8_t *d = c0 + pos + 8;
        if (type == EXT_BACKING_FMT) {
            if (len >= sizeof(q->backing_fmt))
                BAD("'%s': backing format name too long", fn);
            memcpy(q->backing_fmt, d, len);
            q->backing_fmt[len] = 0;
        } else if (type == EXT_FEATURE_TABLE) {
            ft = d;
            ftlen = len;
        }
        pos += 8 + (((uint64_t)len + 7) & ~7ULL);
    }
    uint64_t known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE |
                     INCOMPAT_COMPRESS | INCOMPAT_EXTL2;
    if (q->incompat & ~known) {
        char names[256];
        feature_names(ft, ftlen, q->incompat & ~known, names, sizeof(names));
        BAD("'%s': unsupported qcow2 feature(s): %s", fn, names);
    }
    if (q->incompat & INCOMPAT_DATA_FILE)
        BAD("'%s': qcow2 images with an external data file are not supported", fn);
    if (q->incompat & INCOMPAT_EXTL2)
        BAD("'%s': qcow2 images with extended L2 entries (subclusters) are not supported", fn);
    if (q->compression_type != 0)
        BAD("'%s': compression type %u is not supported (only zlib)", fn, q->compression_type);
    bool check = bd->flags & BLOCK_OPEN_CHECK;
    if ((q->incompat & INCOMPAT_CORRUPT) && !bd->readonly && !check)
        BAD("'%s': the image is marked corrupt; it can be opened read-only only "
            "(repair it with 'tremu-img check -r all')", fn);
    if ((q->incompat & INCOMPAT_DIRTY) && !bd->readonly && !check)
        BAD("'%s': the image is dirty (lazy refcounts were not written back): run "
            "'tremu-img check -r all %s' to repair it, or open it read-only", fn, fn);
    if (q->refcount_order != 4 && q->version == 2)
        BAD("'%s': invalid refcount width for a v2 image", fn);

    if (bf_off) {
        if (bf_size > MAX_BACKING_NAME)
            BAD("'%s': backing file name too long (%u bytes)", fn, bf_size);
        if (bf_off < q->header_length || bf_off > q->cs || bf_size > q->cs - bf_off)
            BAD("'%s': backing file name lies outside the header cluster", fn);
        memcpy(q->backing, c0 + bf_off, bf_size);
        q->backing[bf_size] = 0;
        if (strlen(q->backing) != bf_size)
            BAD("'%s': backing file name contains a NUL byte", fn);
    }

    /* L1 table */
    uint64_t span = q->cs << q->l2_bits;           /* guest bytes per L1 entry */
    /* from the header's size before rounding to sectors, as QEMU's
     * "L1 table is too small" check (a 1-byte disk needs one entry) */
    uint64_t hsize = be64(h + 24);
    uint64_t need = hsize / span + (hsize % span != 0);
    if ((uint64_t)q->l1_size * 8 > MAX_L1_BYTES)
        BAD("'%s': L1 table too large (%u entries)", fn, q->l1_size);
    if (q->l1_size < need)
        BAD("'%s': L1 table too small for the virtual size (%u < %" PRIu64 " entries)", fn,
            q->l1_size, need);
    uint64_t l1_bytes = (uint64_t)q->l1_size * 8;
    /* (check opens what QEMU opens, L1 at 0 included, to report on it) */
    if (q->l1_size && ((!q->l1_off && !check) || (q->l1_off & (q->cs - 1))))
        BAD("'%s': L1 table offset 0x%" PRIx64 " is not cluster aligned", fn, q->l1_off);
    if (q->l1_size && (q->l1_off > fsize || l1_bytes > fsize - q->l1_off) && !check)
        BAD("'%s': L1 table lies beyond the end of the file", fn);
    /* refcount table */
    if (((!q->rt_clusters || !q->rt_off) && !check) || (q->rt_off & (q->cs - 1)))
        BAD("'%s': refcount table offset 0x%" PRIx64 " is invalid", fn, q->rt_off);
    if ((uint64_t)q->rt_clusters * q->cs > MAX_RT_BYTES)
        BAD("'%s': refcount table too large (%u clusters)", fn, q->rt_clusters);
    uint64_t rt_bytes = (uint64_t)q->rt_clusters * q->cs;
    if (q->rt_off > fsize || rt_bytes > fsize - q->rt_off)
        BAD("'%s': refcount table lies beyond the end of the file", fn);
    if (ranges_overlap(q->rt_off, rt_bytes, q->l1_off, l1_bytes))
        BAD("'%s': the refcount table overlaps the L1 table", fn);
    if (q->nb_snapshots > MAX_SNAPSHOTS)
        BAD("'%s': too many snapshots (%u)", fn, q->nb_snapshots);
    /* QEMU refuses a misaligned snapshot table even when it is empty */
    if ((q->snapshots_off & (q->cs - 1)) ||
        (q->nb_snapshots && ((!q->snapshots_off && !check) || q->snapshots_off >= fsize)))
        BAD("'%s': snapshot table offset 0x%" PRIx64 " is invalid", fn, q->snapshots_off);
    if (q->nb_snapshots && !bd->readonly && !check)
        BAD("'%s': images with internal snapshots can only be opened read-only", fn);

    if (!(q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8)) ||
        !(q->rt = calloc(rt_bytes ? rt_bytes / 8 : 1, 8))) {
        r = -ENOMEM;
        block_errf(err, errlen, "out of memory");
        goto fail;
    }
    q->rt_size = rt_bytes / 8;
    uint8_t *raw = malloc(l1_bytes > rt_bytes ? l1_bytes : rt_bytes);
    if (!raw) {
        r = -ENOMEM;
        block_errf(err, errlen, "out of memory");
        goto fail;
    }
    r = block_pread_full(bd->fd, raw, l1_bytes, q->l1_off);
    for (uint32_t i = 0; !r && i < q->l1_size; i++) {
        q->l1[i] = be64(raw + i * 8);
        uint64_t o = q->l1[i] & L1E_OFFSET_MASK;
        if (check)
            continue;       /* qcow2_check reports bad entries, and skips them */
        if (o && ((o & (q->cs - 1)) || o >= fsize)) {
            free(raw);
            BAD("'%s': L1 entry %u points at an invalid L2 table offset 0x%" PRIx64, fn, i, o);
        }
        if (o && (ranges_overlap(o, q->cs, 0, q->cs) ||
                  ranges_overlap(o, q->cs, q->l1_off, l1_bytes) ||
                  ranges_overlap(o, q->cs, q->rt_off, rt_bytes))) {
            free(raw);
            BAD("'%s': L1 entry %u points into the header, L1 or refcount table", fn, i);
        }
    }
    if (!r)
        r = block_pread_full(bd->fd, raw, rt_bytes, q->rt_off);
    for (uint64_t i = 0; !r && i < q->rt_size; i++) {
        q->rt[i] = be64(raw + i * 8);
        uint64_t o = q->rt[i] & REFT_OFFSET_MASK;
        if (check)
            continue;       /* qcow2_check reports them and drops them */
        if (o && ((o & (q->cs - 1)) || o >= fsize || o == 0 ||
                  ranges_overlap(o, q->cs, q->rt_off, rt_bytes) ||
                  ranges_overlap(o, q->cs, q->l1_off, l1_bytes))) {
            free(raw);
            BAD("'%s': refcount table entry %" PRIu64 " points at an invalid offset 0x%" PRIx64,
                fn, i, o);
        }
    }
    free(raw);
    if (r) {
        block_errf(err, errlen, "Could not read '%s': %s", fn, strerror(-r));
        goto fail;
    }
    if (!check && !q->rt[0])
        BAD("'%s': no refcount block covers the header", fn);
#undef BAD

    /* Autoclear bits name features we do not maintain (e.g. dirty bitmaps):
     * clearing them tells other tools that data is stale, as QEMU does. */
    if (!bd->readonly && q->version >= 3 && q->autoclear) {
        uint8_t z[8] = {0};
        if ((r = qwrite(bd, z, 8, 88))) {
            block_errf(err, errlen, "Could not write '%s': %s", fn, strerror(-r));
            goto fail;
        }
        q->autoclear = 0;
    }
    if (q->backing[0] && !(bd->flags & BLOCK_OPEN_NO_BACKING) &&
        (r = open_backing(bd, err, errlen)))
        goto fail;
    return 0;
fail:
    qcow2_close(bd);
    return r ? r : -EINVAL;
}

/* ------------------------------------------------------------ tools */

int qcow2_get_info(struct block_dev *bd, struct qcow2_info *info)
{
    if (bd->drv != &qcow2_driver)
        return -EINVAL;
    struct qcow2 *q = Q(bd);
    memset(info, 0, sizeof(*info));
    info->version = q->version;
    info->cluster_size = q->cs;
    info->refcount_bits = 1u << q->refcount_order;
    info->dirty = q->incompat & INCOMPAT_DIRTY;
    info->corrupt = q->incompat & INCOMPAT_CORRUPT;
    info->lazy_refcounts = q->compat & COMPAT_LAZY;
    info->nb_snapshots = q->nb_snapshots;
    snprintf(info->backing, sizeof(info->backing), "%s", q->backing);
    snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s", q->backing_fmt);
    return 0;
}

/* Header area after the fixed fields: extensions (backing format first,
 * the others kept as they were), end marker, then the backing file name. */
int qcow2_set_backing(struct block_dev *bd, const char *name, const char *fmt,
                      char *err, size_t errlen)
{
    if (bd->drv != &qcow2_driver) {
        block_errf(err, errlen, "'%s' is not a qcow2 image", bd->filename);
        return -EINVAL;
    }
    if (bd->readonly)
        return -EROFS;
    struct qcow2 *q = Q(bd);
    if (!name)
        name = "";
    if (!fmt || !*name)
        fmt = "";
    size_t nlen = strlen(name), flen = strlen(fmt);
    if (nlen > MAX_BACKING_NAME || flen >= sizeof(q->backing_fmt)) {
        block_errf(err, errlen, "backing file name or format too long");
        return -EINVAL;
    }
    uint8_t *old = malloc(q->cs), *c0 = calloc(1, q->cs);
    if (!old || !c0) {
        free(old); free(c0);
        return -ENOMEM;
    }
    int r = block_pread_full(bd->fd, old, q->cs, 0);
    if (r)
        goto out;
    memcpy(c0, old, q->header_length);
    uint64_t bf_off = be64(old + 8);
    uint64_t ext_end = bf_off && bf_off < q->cs ? bf_off : q->cs;
    uint64_t w = q->header_length;
    r = -ENOSPC;
    if (flen) {
        if (w + 8 + ((flen + 7) & ~7ULL) > q->cs)
            goto out;
        put32(c0 + w, EXT_BACKING_FMT);
        put32(c0 + w + 4, (uint32_t)flen);
        memcpy(c0 + w + 8, fmt, flen);
        w += 8 + ((flen + 7) & ~7ULL);
    }
    for (uint64_t pos = q->header_length; pos + 8 <= ext_end;) {
        uint32_t type = be32(old + pos), len = be32(old + pos + 4);
        if (type == EXT_END || len > ext_end - pos - 8)
            break;
        uint64_t tot = 8 + (((uint64_t)len + 7) & ~7ULL);
        if (type != EXT_BACKING_FMT) {
            if (w + tot > q->cs || pos + tot > q->cs)
                goto out;
            memcpy(c0 + w, old + pos, tot);
            w += tot;
        }
        pos += tot;
    }
    if (w + 8 + nlen > q->cs)
        goto out;
    w += 8;                     /* end marker (zeroes) */
    memcpy(c0 + w, name, nlen);
    put64(c0 + 8, nlen ? w : 0);
    put32(c0 + 16, (uint32_t)nlen);
    /* One write of the bytes that matter, which fits one page for any
     * ordinary name: a kill sees the old header or the new one (the kernel
     * copies a page at a time; bytes past the new name are not read). */
    uint64_t hl = (w + nlen + 511) & ~511ULL;
    r = qwrite(bd, c0, hl < q->cs ? hl : q->cs, 0);
    if (!r) {
        memcpy(q->backing, name, nlen + 1);
        memcpy(q->backing_fmt, fmt, flen + 1);
    }
out:
    if (r == -ENOSPC)
        block_errf(err, errlen, "backing file name does not fit in the image header");
    else if (r)
        block_errf(err, errlen, "Could not write '%s': %s", bd->filename, strerror(-r));
    free(old);
    free(c0);
    return r;
}

int qcow2_create(const char *path, const struct qcow2_create_opts *o, char *err, size_t errlen)
{
    unsigned cb = o->cluster_bits ? o->cluster_bits : 16;
    int version = o->version ? o->version : 3;
    if (cb < 9 || cb > 21) {
        block_errf(err, errlen, "Cluster size must be a power of two between 512 and 2048k");
        return -EINVAL;
    }
    if (version != 2 && version != 3) {
        block_errf(err, errlen, "Invalid compat version %d", version);
        return -EINVAL;
    }
    if (o->size > (1ULL << 61)) {
        block_errf(err, errlen, "Image size too large");
        return -EINVAL;
    }
    uint64_t cs = 1ULL << cb, span = cs << (cb - 3);
    uint64_t l1_size = (o->size + span - 1) / span;
    if (l1_size * 8 > MAX_L1_BYTES) {
        block_errf(err, errlen, "Image size too large for this cluster size");
        return -EINVAL;
    }
    uint64_t l1c = (l1_size * 8 + cs - 1) / cs;
    uint64_t epb = cs * 8 / 16, rbc = 1, rtc = 1;
    for (int i = 0; i < 8; i++) {
        uint64_t total = 1 + rtc + rbc + l1c;
        rbc = (total + epb - 1) / epb;
        rtc = (rbc * 8 + cs - 1) / cs;
    }
    uint64_t total = 1 + rtc + rbc + l1c;
    uint64_t rt_idx = 1, rb_idx = 1 + rtc, l1_idx = 1 + rtc + rbc;

    uint8_t *buf = calloc(total, cs);
    if (!buf) {
        block_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    put32(buf, QCOW2_MAGIC);
    put32(buf + 4, (uint32_t)version);
    put32(buf + 20, cb);
    put64(buf + 24, o->size);
    put32(buf + 36, (uint32_t)l1_size);
    put64(buf + 40, l1_size ? l1_idx * cs : 0);
    put64(buf + 48, rt_idx * cs);
    put32(buf + 56, (uint32_t)rtc);
    uint64_t w = 72;
    if (version == 3) {
        put32(buf + 96, 4);
        put32(buf + 100, 104);
        w = 104;
    }
    const char *bfmt = o->backing && o->backing_fmt ? o->backing_fmt : NULL;
    size_t flen = bfmt ? strlen(bfmt) : 0, nlen = o->backing ? strlen(o->backing) : 0;
    if (nlen > MAX_BACKING_NAME || w + 16 + ((flen + 7) & ~7ULL) + nlen > cs ||
        flen >= 32) {
        free(buf);
        block_errf(err, errlen, "Backing file name too long");
        return -EINVAL;
    }
    if (flen) {
        put32(buf + w, EXT_BACKING_FMT);
        put32(buf + w + 4, (uint32_t)flen);
        memcpy(buf + w + 8, bfmt, flen);
        w += 8 + ((flen + 7) & ~7ULL);
    }
    w += 8;                                 /* end of extensions */
    if (nlen) {
        memcpy(buf + w, o->backing, nlen);
        put64(buf + 8, w);
        put32(buf + 16, (uint32_t)nlen);
    }
    for (uint64_t i = 0; i < rbc; i++)
        put64(buf + rt_idx * cs + i * 8, (rb_idx + i) * cs);
    for (uint64_t i = 0; i < total; i++)
        put16(buf + rb_idx * cs + i * 2, 1);

    /* Locked before anything changes: an image in use is left alone. */
    int fd = block_create_file(path, err, errlen);
    if (fd < 0) {
        free(buf);
        return fd;
    }
    int r = ftruncate(fd, 0) < 0 ? -errno : 0;
    if (!r)
        r = block_pwrite_full(fd, buf, total * cs, 0);
    if (close(fd) && !r)
        r = -errno;
    free(buf);
    if (r)
        block_errf(err, errlen, "Could not create '%s': %s", path, strerror(-r));
    return r;
}

int qcow2_make_empty(struct block_dev *bd, char *err, size_t errlen)
{
    if (bd->drv != &qcow2_driver) {
        block_errf(err, errlen, "'%s' is not a qcow2 image", bd->filename);
        return -EINVAL;
    }
    if (bd->readonly)
        return -EROFS;
    struct qcow2 *q = Q(bd);
    if (q->corrupt_now)
        return -EIO;
    int r = settle(bd, true);
    uint8_t *l2 = malloc(q->cs);
    uint64_t *gone = calloc(q->l1_size ? q->l1_size : 1, sizeof(*gone));
    if (!l2 || !gone)
        r = -ENOMEM;
    /* 1: unpublish every L2 table */
    static const uint8_t zero8[8];
    for (uint32_t i = 0; !r && i < q->l1_size; i++) {
        gone[i] = q->l1[i] & L1E_OFFSET_MASK;
        if (!gone[i])
            continue;
        if (!(r = qwrite(bd, zero8, 8, q->l1_off + (uint64_t)i * 8)))
            q->l1[i] = 0;
        cache_drop(q, gone[i]);
    }
    if (!r)
        r = meta_sync(bd);
    /* 2: release what they referenced, then the tables themselves */
    for (uint32_t i = 0; !r && i < q->l1_size; i++) {
        if (!gone[i])
            continue;
        if (gone[i] >= q->file_end || (r = block_pread_full(bd->fd, l2, q->cs, gone[i])))
            break;
        for (uint64_t j = 0; !r && j < (q->cs >> 3); j++) {
            uint64_t e = be64(l2 + j * 8);
            if (e & OFLAG_COMPRESSED) {
                uint64_t co, cl;
                compressed_range(q, e, &co, &cl);
                for (uint64_t k = co >> q->cluster_bits; !r && k <= (co + cl - 1) >> q->cluster_bits; k++)
                    r = dec_refcount(bd, k);
            } else if (e & L2E_OFFSET_MASK) {
                r = dec_refcount(bd, (e & L2E_OFFSET_MASK) >> q->cluster_bits);
            }
        }
        if (!r)
            r = dec_refcount(bd, gone[i] >> q->cluster_bits);
    }
    free(l2);
    free(gone);
    if (!r)
        r = meta_sync(bd);
    /* 3: the file ends after its last cluster in use */
    uint64_t n = (q->file_end + q->cs - 1) >> q->cluster_bits, rc = 0;
    while (!r && n > 1) {
        if ((r = get_refcount(bd, n - 1, &rc)) || rc)
            break;
        n--;
    }
    if (!r && (n << q->cluster_bits) < q->file_end) {
        if (ftruncate(bd->fd, (off_t)(n << q->cluster_bits)) == 0)
            q->file_end = n << q->cluster_bits;
    }
    q->free_hint = 1;
    if (r) {
        block_errf(err, errlen, "Could not empty '%s': %s", bd->filename,
                   strerror(r == -EUCLEAN ? EIO : -r));
        corrupt_event(bd, r);
    }
    return r;
}

/* ------------------------------------------------------------ check */

struct check_ctx {
    struct block_dev *bd;
    struct qcow2_check_result *res;
    FILE *rep;
    uint32_t *refs;
    uint64_t nclusters;         /* entries in refs: the file's clusters + 1 */
    uint64_t max_ref;           /* highest referenced cluster + 1 */
    uint8_t *is_rb;             /* per cluster: a refcount block lives there */
    uint64_t *rt_saved;         /* the refcount table as found (restored at the end) */
    uint8_t *rt_unreadable;     /* per entry: misaligned block, its refcounts unreadable */
};

static void corruption(struct check_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void corruption(struct check_ctx *c, const char *fmt, ...)
{
    c->res->corruptions++;
    if (!c->rep)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->rep, fmt, ap);
    va_end(ap);
}

/* Counts one reference to every cluster of [off, off+len). Like qemu-img, a
 * region that ends less than a cluster past EOF still counts (the file may
 * end inside its last cluster), one further out is a corruption. */
static void add_ref(struct check_ctx *c, uint64_t off, uint64_t len)
{
    struct qcow2 *q = Q(c->bd);
    if (!len)
        return;
    if (off >= MAX_HOST_OFFSET || len > MAX_HOST_OFFSET - off ||
        off + len >= q->file_end + q->cs) {
        corruption(c, "ERROR: counting reference for region exceeding the end of the file by "
                   "one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", off, len);
        return;
    }
    uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits;
    for (uint64_t i = first; i <= last && i < c->nclusters; i++) {
        if (c->refs[i] < UINT32_MAX)
            c->refs[i]++;
        if (i + 1 > c->max_ref)
            c->max_ref = i + 1;
    }
}

#define L1E_RESERVED  0x7f000000000001feULL     /* bits 1-8 and 56-62 */
#define L2E_RESERVED  0x3f000000000001feULL     /* standard cluster: bits 1-8, 56-61 */

static int check_l1(struct check_ctx *c, uint64_t l1_off, uint32_t l1_size, bool active)
{
    struct block_dev *bd = c->bd;
    struct qcow2 *q = Q(bd);
    uint8_t *l1raw = malloc((size_t)l1_size * 8 + 1), *l2 = malloc(q->cs);
    int r = (!l1raw || !l2) ? -ENOMEM : block_pread_full(bd->fd, l1raw, (size_t)l1_size * 8, l1_off);
    for (uint32_t i = 0; !r && i < l1_size; i++) {
        uint64_t e1 = be64(l1raw + i * 8), o1 = e1 & L1E_OFFSET_MASK;
        if (e1 & L1E_RESERVED)
            corruption(c, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", e1);
        /* any non-zero entry names a table, offset 0 (the header) too, as
         * qemu-img check walks it */
        if (!e1)
            continue;
        add_ref(c, o1, q->cs);
        if (o1 & (q->cs - 1)) {
            corruption(c, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; "
                       "L1 entry corrupted\n", o1);
            continue;
        }
        if (o1 >= q->file_end)
            continue;
        if ((r = block_pread_full(bd->fd, l2, q->cs, o1)))
            break;
        for (uint64_t j = 0; j < (q->cs >> 3); j++) {
            uint64_t e = be64(l2 + j * 8);
            if (e & OFLAG_COMPRESSED) {
                uint64_t co, cl;
                if (e & OFLAG_COPIED) {
                    corruption(c, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set "
                               "for compressed clusters\n", (uint64_t)(e & ~(3ULL << 62)));
                    e &= ~OFLAG_COPIED;
                }
                compressed_range(q, e, &co, &cl);
                if (active) {
                    c->res->compressed_clusters++;
                    c->res->allocated_clusters++;
                }
                add_ref(c, co, cl);
                continue;
            }
            uint64_t o = e & L2E_OFFSET_MASK;
            if (e & L2E_RESERVED)
                corruption(c, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
            if (!o)
                continue;           /* unallocated, or zero without a cluster */
            if (o & (q->cs - 1)) {
                corruption(c, "ERROR offset=%" PRIx64 ": Cluster is not properly aligned; "
                           "L2 entry corrupted.\n", o);
                continue;
            }
            if (active)
                c->res->allocated_clusters++;
            add_ref(c, o, q->cs);
        }
    }
    free(l1raw);
    free(l2);
    return r;
}

static int check_snapshots(struct check_ctx *c)
{
    struct block_dev *bd = c->bd;
    struct qcow2 *q = Q(bd);
    uint64_t pos = q->snapshots_off, walked = 0;
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        uint8_t h[40];
        if (pos >= q->file_end)
            return -EIO;            /* QEMU cannot open it either */
        int r = block_pread_full(bd->fd, h, sizeof(h), pos);
        if (r)
            return r;
        uint64_t l1o = be64(h);
        uint32_t l1s = be32(h + 8);
        uint16_t idlen = be16(h + 12), namelen = be16(h + 14);
        uint32_t extra = be32(h + 36);
        if ((uint64_t)l1s * 8 > MAX_L1_BYTES || extra > 1024)
            return -EIO;
        pos += 40 + extra + idlen + namelen;
        pos = (pos + 7) & ~7ULL;
        if (l1o & (q->cs - 1)) {
            corruption(c, "ERROR snapshot %u l1_offset=%#" PRIx64 ": L1 table is not cluster "
                       "aligned; snapshot table entry corrupted\n", i, l1o);
            continue;
        }
        if (l1s && (l1o >= q->file_end || (uint64_t)l1s * 8 > q->file_end - l1o)) {
            corruption(c, "ERROR snapshot %u l1_offset=%#" PRIx64 ": L1 table lies beyond the "
                       "end of the file; snapshot table entry corrupted\n", i, l1o);
            continue;
        }
        walked += l1s;
        if (walked > (16u << 20))
            return -EFBIG;          /* hostile: bound the work */
        add_ref(c, l1o, (uint64_t)l1s * 8);
        if ((r = check_l1(c, l1o, l1s, false)))
            return r;
    }
    add_ref(c, q->snapshots_off, pos - q->snapshots_off);
    return 0;
}

/* Refcount table entries that cannot be a refcount block: reported, and
 * dropped for this session (their clusters count as refcount 0), so the
 * check goes on and a repair never writes through them. */
static void check_reftable(struct check_ctx *c)
{
    struct qcow2 *q = Q(c->bd);
    uint64_t l1_bytes = (uint64_t)q->l1_size * 8, rt_bytes = (uint64_t)q->rt_clusters * q->cs;
    for (uint64_t i = 0; i < q->rt_size; i++) {
        uint64_t e = q->rt[i], o = e & REFT_OFFSET_MASK;
        if (!e)
            continue;
        /* like qemu-img, a block at a misaligned offset, or one past the
         * largest offset QEMU's block layer reads (BDRV_MAX_LENGTH: INT64_MAX
         * rounded down to 1 GiB; its reads there fail with EIO where reads
         * past the end of the file give zeros), leaves the refcounts it
         * covers unreadable: those clusters are internal errors below */
        const uint64_t bdrv_max_length = 0x7fffffffc0000000ULL;
        if (((o & (q->cs - 1)) || o > bdrv_max_length - q->cs) && c->rt_unreadable)
            c->rt_unreadable[i] = 1;
        if (e & 0x1ff)
            corruption(c, "ERROR refcount table entry %" PRIu64 " has reserved bits set\n", i);
        else if (o & (q->cs - 1))
            corruption(c, "ERROR refcount block %" PRIu64 " is not cluster aligned; refcount "
                       "table entry corrupted\n", i);
        else if (o >= q->file_end)
            corruption(c, "ERROR refcount block %" PRIu64 " is outside image\n", i);
        else {
            add_ref(c, o, q->cs);
            c->is_rb[o >> q->cluster_bits] = 1;
            /* an overlap is counted twice above, and shown as a refcount
             * mismatch like QEMU does; it must just never be written */
            if (!(ranges_overlap(o, q->cs, 0, q->cs) ||
                  ranges_overlap(o, q->cs, q->l1_off, l1_bytes) ||
                  ranges_overlap(o, q->cs, q->rt_off, rt_bytes)))
                continue;
        }
        q->rt[i] = 0;
        cache_drop(q, o);
    }
}

/* Entries check_reftable dropped come back once the check is over: they are
 * still on disk, and the next check (or the double check after a repair)
 * must see them again. */
static void restore_reftable(struct check_ctx *c)
{
    struct qcow2 *q = Q(c->bd);
    if (!c->rt_saved)
        return;
    for (uint64_t i = 0; i < q->rt_size; i++)
        if (c->rt_saved[i] != q->rt[i]) {
            cache_drop(q, q->rt[i] & REFT_OFFSET_MASK);
            q->rt[i] = c->rt_saved[i];
        }
    free(c->rt_saved);
}

/* COPIED must be set exactly on entries whose cluster has refcount 1. */
static int check_copied(struct check_ctx *c, unsigned repair)
{
    struct block_dev *bd = c->bd;
    struct qcow2 *q = Q(bd);
    uint8_t *l2 = malloc(q->cs);
    if (!l2)
        return -ENOMEM;
    int r = 0;
    for (uint32_t i = 0; !r && i < q->l1_size; i++) {
        uint64_t e1 = q->l1[i], o1 = e1 & L1E_OFFSET_MASK, rc;
        if (!o1 || (o1 & (q->cs - 1)) || o1 >= q->file_end)
            continue;
        /* An L2 table that is also the header, the L1 or the refcount table
         * is checked like any other (qemu-img reports its flags too), but
         * its entries are never rewritten through it. */
        bool meta = hits_fixed_metadata(q, o1);
        if ((r = get_refcount(bd, o1 >> q->cluster_bits, &rc)))
            break;
        if ((rc == 1) != !!(e1 & OFLAG_COPIED)) {
            bool fix = (repair & QCOW2_REPAIR_ERRORS) && !bd->readonly;
            if (c->rep)
                fprintf(c->rep, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n", fix ? "Repairing" : "ERROR", i, e1, rc);
            if (fix) {
                uint8_t ent[8];
                q->l1[i] = rc == 1 ? e1 | OFLAG_COPIED : e1 & ~OFLAG_COPIED;
                put64(ent, q->l1[i]);
                if ((r = qwrite(bd, ent, 8, q->l1_off + i * 8)))
                    break;
                c->res->corruptions_fixed++;
            } else {
                c->res->corruptions++;
            }
        }
        if ((r = block_pread_full(bd->fd, l2, q->cs, o1)))
            break;
        for (uint64_t j = 0; j < (q->cs >> 3); j++) {
            uint64_t e = be64(l2 + j * 8), o = e & L2E_OFFSET_MASK;
            if ((e & OFLAG_COMPRESSED) || !o || (o & (q->cs - 1)))
                continue;
            if ((r = get_refcount(bd, o >> q->cluster_bits, &rc)))
                break;
            if ((rc == 1) == !!(e & OFLAG_COPIED))
                continue;
            bool fix = (repair & QCOW2_REPAIR_ERRORS) && !bd->readonly && !meta;
            if (c->rep)
                fprintf(c->rep, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n", fix ? "Repairing" : "ERROR", e, rc);
            if (fix) {
                uint8_t ent[8];
                put64(ent, rc == 1 ? e | OFLAG_COPIED : e & ~OFLAG_COPIED);
                cache_drop(q, o1);
                if ((r = qwrite(bd, ent, 8, o1 + j * 8)))
                    break;
                c->res->corruptions_fixed++;
            } else {
                c->res->corruptions++;
            }
        }
    }
    free(l2);
    return r;
}

int qcow2_check(struct block_dev *bd, unsigned repair, FILE *report,
                struct qcow2_check_result *res)
{
    memset(res, 0, sizeof(*res));
    if (bd->drv != &qcow2_driver)
        return -ENOTSUP;
    struct qcow2 *q = Q(bd);
    if (bd->readonly)
        repair = 0;
    else if (settle(bd, true))
        res->check_errors++;
    struct check_ctx c = { .bd = bd, .res = res, .rep = report };
    c.nclusters = ((q->file_end + q->cs - 1) >> q->cluster_bits) + 1;
    if (c.nclusters > (256u << 20)) {
        res->check_errors++;
        return -EFBIG;
    }
    c.refs = calloc(c.nclusters, sizeof(uint32_t));
    c.is_rb = calloc(c.nclusters, 1);
    if (!c.refs || !c.is_rb) {
        free(c.refs);
        free(c.is_rb);
        res->check_errors++;
        return -ENOMEM;
    }
    c.rt_unreadable = calloc(q->rt_size ? q->rt_size : 1, 1);
    c.rt_saved = malloc(q->rt_size * 8);
    if (c.rt_saved)
        memcpy(c.rt_saved, q->rt, q->rt_size * 8);
    else
        res->check_errors++;
    check_reftable(&c);
    add_ref(&c, 0, q->cs);
    add_ref(&c, q->l1_off, (uint64_t)q->l1_size * 8);
    int r = check_l1(&c, q->l1_off, q->l1_size, true);
    if (!r && q->nb_snapshots)
        r = check_snapshots(&c);
    if (r) {
        if (report)
            fprintf(report, "ERROR: could not walk the image tables: %s\n", strerror(-r));
        res->check_errors++;
    }
    add_ref(&c, q->rt_off, (uint64_t)q->rt_clusters * q->cs);
    /* Like qemu-img, only clusters inside the file (or referenced within a
     * cluster of its end) are compared: a refcount further out (a
     * reservation a crash left behind) occupies nothing. */
    uint64_t ncmp = (q->file_end + q->cs - 1) >> q->cluster_bits;
    if (c.max_ref > ncmp)
        ncmp = c.max_ref;
    for (uint64_t i = 0; i < ncmp; i++) {
        uint64_t rc;
        uint32_t refs = c.refs[i];
        uint64_t t = i >> q->rb_bits;
        if ((t < q->rt_size && c.rt_unreadable && c.rt_unreadable[t]) || get_refcount(bd, i, &rc)) {
            if (report)
                fprintf(report, "ERROR: cannot read the refcount of cluster %" PRIu64 "\n", i);
            res->check_errors++;
            continue;
        }
        if (i < c.nclusters && c.is_rb[i] && refs != 1) {
            /* a refcount block that something else uses too: no refcount
             * value makes that consistent (QEMU would rebuild the tables) */
            if (report)
                fprintf(report, "ERROR refcount block at cluster %" PRIu64 " is also used as "
                        "something else (reference=%u)\n", i, refs);
            res->corruptions++;
            continue;
        }
        if (rc == refs)
            continue;
        bool leak = rc > refs;
        bool fix = repair & (leak ? QCOW2_REPAIR_LEAKS : QCOW2_REPAIR_ERRORS);
        if (fix && set_refcount(bd, i, refs))
            fix = false;
        if (report)
            fprintf(report, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%u\n",
                    fix ? "Repairing" : leak ? "Leaked" : "ERROR", i, rc, refs);
        if (leak)
            fix ? res->leaks_fixed++ : res->leaks++;
        else
            fix ? res->corruptions_fixed++ : res->corruptions++;
    }
    if (!r && (r = check_copied(&c, repair)))
        res->check_errors++;
    res->image_end_offset = c.max_ref << q->cluster_bits;
    res->total_clusters = (bd->size + q->cs - 1) >> q->cluster_bits;
    free(c.refs);
    free(c.is_rb);
    restore_reftable(&c);
    free(c.rt_unreadable);
    if (repair && !res->corruptions && !res->leaks && !res->check_errors &&
        (q->incompat & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT))) {
        uint8_t f[8];
        uint64_t inc = q->incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
        put64(f, inc);
        if (fdatasync(bd->fd) == 0 && qwrite(bd, f, 8, 72) == 0)
            q->incompat = inc;
    }
    q->free_hint = 1;
    return 0;
}
