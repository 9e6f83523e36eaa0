/* Generic block layer: format probing, the raw driver, snapshot=on overlays,
 * and the range checks every request goes through before reaching a driver. */
#include "block/block_int.h"
#include "block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

void block_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int block_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        if (off > (uint64_t)INT64_MAX - len)
            return -EINVAL;
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0) {               /* past EOF: a sparse tail reads as zeroes */
            memset(p, 0, len);
            return 0;
        }
        p += n; len -= (size_t)n; off += (uint64_t)n;
    }
    return 0;
}

int block_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len) {
        if (off > (uint64_t)INT64_MAX - len)
            return -EFBIG;
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n; len -= (size_t)n; off += (uint64_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------- raw */

static int raw_read(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    return block_pread_full(bd->fd, buf, len, off);
}

static int raw_write(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    int r = block_pwrite_full(bd->fd, buf, len, off);
    if (!r && (bd->cache == BLOCK_CACHE_WRITETHROUGH || bd->cache == BLOCK_CACHE_DIRECTSYNC))
        r = fdatasync(bd->fd) ? -errno : 0;
    return r;
}

static int raw_flush(struct block_dev *bd)
{
    if (bd->cache == BLOCK_CACHE_UNSAFE)
        return 0;
    return fdatasync(bd->fd) ? -errno : 0;
}

static int raw_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len)
{
    /* Keep the allocation (ZERO_RANGE) so later writes need no new extents;
     * filesystems without it get explicit zeroes. */
    if (!fallocate(bd->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
        return 0;
    static const uint8_t zeroes[65536];
    while (len) {
        size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
        int r = block_pwrite_full(bd->fd, zeroes, n, off);
        if (r)
            return r;
        off += n; len -= n;
    }
    return 0;
}

static int raw_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
    /* Discard is advisory: where punching holes is unsupported it does nothing. */
    if (fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
        return 0;
    return 0;
}

static int raw_get_status(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum)
{
    /* SEEK_DATA/SEEK_HOLE: holes read as zeroes, the rest is data. */
    off_t d = lseek(bd->fd, (off_t)off, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) {           /* only a hole up to EOF */
            *pnum = len;
            return BLOCK_STATUS_ZERO | BLOCK_STATUS_DATA;
        }
        *pnum = len;
        return BLOCK_STATUS_DATA;
    }
    if ((uint64_t)d > off) {
        *pnum = (uint64_t)d - off < len ? (uint64_t)d - off : len;
        return BLOCK_STATUS_ZERO | BLOCK_STATUS_DATA;
    }
    off_t h = lseek(bd->fd, (off_t)off, SEEK_HOLE);
    if (h < 0 || (uint64_t)h <= off)
        *pnum = len;
    else
        *pnum = (uint64_t)h - off < len ? (uint64_t)h - off : len;
    return BLOCK_STATUS_DATA;
}

static void raw_close(struct block_dev *bd)
{
    (void)bd;
}

static const struct block_driver raw_driver = {
    .name = "raw",
    .read = raw_read, .write = raw_write, .flush = raw_flush,
    .discard = raw_discard, .write_zeroes = raw_write_zeroes,
    .get_status = raw_get_status, .close = raw_close,
};

/* ---------------------------------------------------------------- open */

/* Image locking, compatible with QEMU's (block/file-posix.c), so that two
 * emulators -- tremu or QEMU -- never write one image at once: shared OFD
 * locks on byte 100+p for each permission p held and on byte 200+p for each
 * permission refused to others; p = 0 consistent read, 1 write, 3 resize.
 * A writer holds 100, 101, 103 and refuses 201, 203; a reader (and every
 * backing file) holds 100 and refuses 201, 203, as QEMU does. The locks go
 * with the file descriptor. */
#define LOCK_PERM_BASE   100
#define LOCK_SHARED_BASE 200

static int lock_byte(int fd, int cmd, short type, off_t byte)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
    return fcntl(fd, cmd, &fl) < 0 ? -errno : cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

#define PERM_READ   (1u << 0)       /* consistent read */
#define PERM_WRITE  (1u << 1)
#define PERM_RESIZE (1u << 3)
#define PERM_LOCKED (PERM_READ | PERM_WRITE | PERM_RESIZE)

/* Takes shared locks on 100+p for every permission p in held and on 200+p
 * for every p in unshared, then checks that no other open file refuses what
 * we hold or holds what we refuse. 0, -EBUSY (someone else uses the image)
 * or 1 when the filesystem has no OFD locks (we go without, as QEMU). */
static int lock_perms(int fd, unsigned held, unsigned unshared)
{
    for (int p = 0; p < 8; p++) {
        if (!((held | unshared) & (1u << p)))
            continue;
        if (held & (1u << p)) {
            int r = lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + p);
            if (r == -EINVAL || r == -ENOLCK || r == -EOPNOTSUPP)
                return 1;
            if (r)
                return -EBUSY;
        }
        if ((unshared & (1u << p)) && lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_SHARED_BASE + p))
            return -EBUSY;
    }
    for (int p = 0; p < 8; p++) {
        if ((held & (1u << p)) && lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_SHARED_BASE + p) > 0)
            return -EBUSY;
        if ((unshared & (1u << p)) && lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + p) > 0)
            return -EBUSY;
    }
    return 0;
}

/* Releases every lock this file description holds (before close, so that a
 * refused attempt leaves nothing behind even if the fd is kept). */
static void unlock_all(int fd)
{
    struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = LOCK_PERM_BASE,
                        .l_len = LOCK_SHARED_BASE + 8 - LOCK_PERM_BASE };
    fcntl(fd, F_OFD_SETLK, &fl);
}

static int lock_image(int fd, const char *path, bool write, char *err, size_t errlen)
{
    /* a writer holds read, write and resize; everyone refuses write and
     * resize to others, as QEMU's defaults (no share-rw) */
    int r = lock_perms(fd, write ? PERM_LOCKED : PERM_READ, PERM_WRITE | PERM_RESIZE);
    if (r >= 0)
        return 0;
    unlock_all(fd);
    block_errf(err, errlen, "Could not open '%s': Failed to get %s\"write\" lock\n"
               "Is another process using the image [%s]?", path, write ? "" : "shared ", path);
    return -EBUSY;
}

int block_create_file(const char *path, char *err, size_t errlen)
{
    /* No O_TRUNC: the file changes only once we know nobody uses it. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        block_errf(err, errlen, "Could not create '%s': %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        block_errf(err, errlen, "Could not create '%s': not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    /* What QEMU's file creation takes: write and resize, resize not shared
     * (the size we set must hold); so a reader or writer anywhere else -- a
     * running VM, a backing chain, qemu-img -- makes us refuse. */
    if (lock_perms(fd, PERM_WRITE | PERM_RESIZE, PERM_RESIZE) < 0) {
        unlock_all(fd);
        close(fd);
        block_errf(err, errlen, "%s: Failed to get \"write\" lock\n"
                   "Is another process using the image [%s]?", path, path);
        return -EBUSY;
    }
    return fd;
}

struct block_dev *block_open_layer(const char *path, enum block_format fmt, bool readonly,
                                   enum block_cache cache, unsigned flags, int depth,
                                   const struct block_dev *child_of, char *err, size_t errlen)
{
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        block_errf(err, errlen, "Could not open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        block_errf(err, errlen, "Could not stat '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        block_errf(err, errlen, "'%s' is not a regular file or block device", path);
        close(fd);
        return NULL;
    }
    for (const struct block_dev *c = child_of; c; c = c->child_of) {
        if (c->st_dev == st.st_dev && c->st_ino == st.st_ino) {
            block_errf(err, errlen, "Backing chain loop: '%s' is its own backing file "
                       "(through '%s')", path, child_of->filename);
            close(fd);
            return NULL;
        }
    }
    if (!(flags & BLOCK_OPEN_FORCE_SHARE) && lock_image(fd, path, !readonly, err, errlen)) {
        close(fd);
        return NULL;
    }
    struct block_dev *bd = calloc(1, sizeof(*bd));
    if (!bd || !(bd->filename = strdup(path))) {
        free(bd);
        close(fd);
        block_errf(err, errlen, "out of memory");
        return NULL;
    }
    bd->fd = fd;
    bd->readonly = readonly;
    bd->cache = cache;
    bd->flags = flags;
    bd->depth = depth;
    bd->child_of = child_of;
    bd->st_dev = st.st_dev;
    bd->st_ino = st.st_ino;

    if (fmt == BLOCK_FMT_PROBE) {
        uint8_t hdr[512];
        if (block_pread_full(fd, hdr, sizeof(hdr), 0)) {
            block_errf(err, errlen, "Could not read '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (qcow2_probe(hdr, sizeof(hdr))) {
            fmt = BLOCK_FMT_QCOW2;
        } else {
            fmt = BLOCK_FMT_RAW;
            /* Only images the user named get QEMU's warning; backing files
             * without a recorded format are probed silently, as QEMU does. */
            if (!child_of && !readonly)
                bd->probed_raw = true;
            if (!child_of && !(flags & BLOCK_OPEN_QUIET))
                fprintf(stderr, "WARNING: Image format was not specified for '%s' and probing "
                        "guessed raw.\n         Automatically detecting the format is dangerous "
                        "for raw images, write operations on block 0 will be restricted.\n"
                        "         Specify the 'raw' format explicitly to remove the "
                        "restrictions.\n", path);
        }
    }
    if (fmt == BLOCK_FMT_RAW) {
        bd->drv = &raw_driver;
        if (S_ISBLK(st.st_mode)) {
            off_t end = lseek(fd, 0, SEEK_END);
            bd->size = end > 0 ? (uint64_t)end : 0;
        } else {
            bd->size = (uint64_t)st.st_size;
        }
        return bd;
    }
    if (qcow2_open(bd, err, errlen) == 0)
        return bd;
fail:
    close(fd);
    free(bd->filename);
    free(bd);
    return NULL;
}

/* snapshot=on: a qcow2 overlay in $TMPDIR over the image, unlinked as soon as
 * it is open, so it vanishes with the process; the image is opened read-only. */
static struct block_dev *open_snapshot(const char *path, const struct block_opts *opts,
                                       char *err, size_t errlen)
{
    struct block_dev *base = block_open_layer(path, opts->format, true, opts->cache,
                                              opts->flags, 0, NULL, err, errlen);
    if (!base)
        return NULL;
    const char *fmtname = block_format_name(base);
    uint64_t size = base->size;
    block_close(base);

    char *abs = realpath(path, NULL);
    if (!abs) {
        block_errf(err, errlen, "Could not resolve '%s': %s", path, strerror(errno));
        return NULL;
    }
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/var/tmp";
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/tremu-snapshot-XXXXXX", tmpdir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        block_errf(err, errlen, "Could not create a temporary overlay in %s: %s", tmpdir,
                   strerror(errno));
        free(abs);
        return NULL;
    }
    close(fd);
    struct qcow2_create_opts co = {
        .size = size, .cluster_bits = 16, .backing = abs, .backing_fmt = fmtname,
        .version = 3,
    };
    struct block_dev *bd = NULL;
    if (qcow2_create(tmpl, &co, err, errlen) == 0) {
        /* the overlay dies with the process: flushing it buys nothing */
        bd = block_open_layer(tmpl, BLOCK_FMT_QCOW2, false, BLOCK_CACHE_UNSAFE, opts->flags,
                              0, NULL, err, errlen);
    }
    unlink(tmpl);
    free(abs);
    return bd;
}

struct block_dev *block_open(const char *path, const struct block_opts *opts,
                             char *err, size_t errlen)
{
    struct block_opts def = {0};
    if (!opts)
        opts = &def;
    if (!path || !*path) {
        block_errf(err, errlen, "empty image file name");
        return NULL;
    }
    if (opts->snapshot && !opts->readonly)
        return open_snapshot(path, opts, err, errlen);
    return block_open_layer(path, opts->format, opts->readonly, opts->cache, opts->flags,
                            0, NULL, err, errlen);
}

void block_close(struct block_dev *bd)
{
    if (!bd)
        return;
    if (bd->drv && bd->drv->close)
        bd->drv->close(bd);
    if (bd->backing)
        block_close(bd->backing);
    close(bd->fd);
    free(bd->filename);
    free(bd);
}

uint64_t block_size(const struct block_dev *bd) { return bd->size; }
bool block_is_readonly(const struct block_dev *bd) { return bd->readonly; }
const char *block_format_name(const struct block_dev *bd) { return bd->drv->name; }
const char *block_filename(const struct block_dev *bd) { return bd->filename; }
struct block_dev *block_backing(const struct block_dev *bd) { return bd->backing; }

uint64_t block_disk_usage(const struct block_dev *bd)
{
    struct stat st;
    if (fstat(bd->fd, &st) < 0)
        return 0;
    return (uint64_t)st.st_blocks * 512;
}

const struct block_dev *block_chain_find_file(const struct block_dev *bd, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return NULL;
    for (; bd; bd = bd->backing)
        if (bd->st_dev == st.st_dev && bd->st_ino == st.st_ino)
            return bd;
    return NULL;
}

void block_test_crash_at(struct block_dev *bd, long n)
{
    bd->crash_at = n;
}

static bool range_ok(const struct block_dev *bd, uint64_t off, uint64_t len)
{
    return off <= bd->size && len <= bd->size - off;
}

int block_read(struct block_dev *bd, uint64_t offset, void *buf, size_t len)
{
    if (!range_ok(bd, offset, len))
        return -EINVAL;
    if (!len)
        return 0;
    return bd->drv->read(bd, offset, buf, len);
}

/* QEMU's rule for probed raw images: a guest write must not turn block 0
 * into something that would probe as another format on the next start
 * (which would then let the guest name host files as backing files). */
static int check_probed_block0(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    if (!bd->probed_raw || off >= 512)
        return 0;
    uint8_t sec[512];
    int r = block_pread_full(bd->fd, sec, sizeof(sec), 0);
    if (r)
        return r;
    size_t n = 512 - (size_t)off < len ? 512 - (size_t)off : len;
    memcpy(sec + off, buf, n);
    return qcow2_probe(sec, sizeof(sec)) ? -EPERM : 0;
}

int block_write(struct block_dev *bd, uint64_t offset, const void *buf, size_t len)
{
    if (bd->readonly)
        return -EROFS;
    if (!range_ok(bd, offset, len))
        return -EINVAL;
    if (!len)
        return 0;
    int r = check_probed_block0(bd, offset, buf, len);
    if (r)
        return r;
    return bd->drv->write(bd, offset, buf, len);
}

int block_flush(struct block_dev *bd)
{
    if (bd->readonly)
        return 0;
    return bd->drv->flush(bd);
}

int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
    if (bd->readonly)
        return -EROFS;
    if (!range_ok(bd, offset, len))
        return -EINVAL;
    if (!len)
        return 0;
    return bd->drv->discard(bd, offset, len);
}

int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
    if (bd->readonly)
        return -EROFS;
    if (!range_ok(bd, offset, len))
        return -EINVAL;
    if (!len)
        return 0;
    if (bd->probed_raw && offset < 512) {
        /* zeroes never form a format magic, but keep the rule in one place */
        static const uint8_t z[512];
        int r = check_probed_block0(bd, offset, z, len < 512 ? (size_t)len : 512);
        if (r)
            return r;
    }
    return bd->drv->write_zeroes(bd, offset, len);
}

int block_get_status(struct block_dev *bd, uint64_t offset, uint64_t len, uint64_t *pnum)
{
    if (!range_ok(bd, offset, len) || !len)
        return -EINVAL;
    return bd->drv->get_status(bd, offset, len, pnum);
}
