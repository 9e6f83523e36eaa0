/* 9P2000.L server: message decoding, fids, and the operations mapped onto
 * fs/fs.h. See fs/p9.h. */
#include "fs/p9.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAME_MAX_9P 255
#define PATH_MAX_9P 4096
#define MAX_WALK 16                 /* MAXWELEM of the protocol */
#define FID_BUCKETS 256
#define V9FS_MAGIC 0x01021997

#define QID_DIR 0x80
#define QID_SYMLINK 0x02
#define QID_FILE 0x00

#define GETATTR_BASIC 0x7ffULL

/* Linux's 9P2000.L open flags are the x86 O_* values (P9_DOTL_*). */
#define DOTL_ACCMODE 03
#define DOTL_TRUNC 01000
#define DOTL_APPEND 02000
#define DOTL_DSYNC 010000
#define DOTL_DIRECTORY 0200000
#define DOTL_NOATIME 01000000
#define DOTL_SYNC 04000000
#define DOTL_EXCL 0200

#define LOCK_SUCCESS 0
#define LOCK_BLOCKED 1
#define LOCK_TYPE_RDLCK 0
#define LOCK_TYPE_WRLCK 1
#define LOCK_TYPE_UNLCK 2

/* A fid turned into an extended attribute (9P2000.L): after Txattrwalk it
 * reads the value (or the name list); after Txattrcreate it collects the
 * value written to it, set on the host at Tclunk (size 0: remove). */
struct fid_xattr {
    bool create;
    int flags;
    uint64_t len, copied;
    char name[NAME_MAX_9P + 1];
    uint8_t buf[];
};

struct fid {
    uint32_t id;
    uint32_t uid;                   /* n_uname of the attach it came from */
    struct fs_node *node;
    int fd;                         /* open for I/O (lopen/lcreate), -1 */
    bool is_dir;
    struct fid_xattr *xa;           /* Txattrwalk value / Txattrcreate buffer */
    struct fid *next;
};

struct p9_server {
    struct fs_export *e;
    uint32_t msize;
    struct fid *fids[FID_BUCKETS];
    unsigned nfids;
    uint8_t *dents;                 /* getdents64 buffer */
};

/* ---- message reading and writing ---- */

struct rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static uint8_t rd8(struct rd *r)
{
    if (r->len - r->off < 1) { r->bad = true; return 0; }
    return r->p[r->off++];
}
static uint16_t rd16(struct rd *r)
{
    if (r->len - r->off < 2) { r->bad = true; return 0; }
    uint16_t v = (uint16_t)(r->p[r->off] | r->p[r->off + 1] << 8);
    r->off += 2;
    return v;
}
static uint32_t rd32(struct rd *r)
{
    uint32_t lo = rd16(r);
    return lo | (uint32_t)rd16(r) << 16;
}
static uint64_t rd64(struct rd *r)
{
    uint64_t lo = rd32(r);
    return lo | (uint64_t)rd32(r) << 32;
}
/* A string into out (NUL-terminated); longer than cap-1 or with a NUL
 * inside is bad. */
static bool rdstr(struct rd *r, char *out, size_t cap)
{
    uint16_t n = rd16(r);
    if (r->bad || r->len - r->off < n || n >= cap || memchr(r->p + r->off, 0, n)) {
        r->bad = true;
        out[0] = 0;
        return false;
    }
    memcpy(out, r->p + r->off, n);
    out[n] = 0;
    r->off += n;
    return true;
}

struct wr {
    uint8_t *p;
    size_t cap, off;
    bool over;
};

static void wrn(struct wr *w, const void *b, size_t n)
{
    if (w->cap - w->off < n) { w->over = true; return; }
    memcpy(w->p + w->off, b, n);
    w->off += n;
}
static void wr8(struct wr *w, uint8_t v) { wrn(w, &v, 1); }
static void wr16(struct wr *w, uint16_t v) { uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; wrn(w, b, 2); }
static void wr32(struct wr *w, uint32_t v) { wr16(w, (uint16_t)v); wr16(w, (uint16_t)(v >> 16)); }
static void wr64(struct wr *w, uint64_t v) { wr32(w, (uint32_t)v); wr32(w, (uint32_t)(v >> 32)); }
static void wrstr(struct wr *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 0xffff) { w->over = true; return; }
    wr16(w, (uint16_t)n);
    wrn(w, s, n);
}

static void wrqid(struct wr *w, const struct stat *st)
{
    uint8_t type = S_ISDIR(st->st_mode) ? QID_DIR : S_ISLNK(st->st_mode) ? QID_SYMLINK : QID_FILE;
    wr8(w, type);
    wr32(w, 0);                     /* version: the client does not cache on it */
    wr64(w, (uint64_t)st->st_ino);
}

/* ---- fids ---- */

static struct fid *fid_get(struct p9_server *s, uint32_t id)
{
    for (struct fid *f = s->fids[id % FID_BUCKETS]; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

static int fid_add(struct p9_server *s, uint32_t id, struct fs_node *node, uint32_t uid,
                   struct fid **out)
{
    if (id == P9_NOFID || fid_get(s, id))
        return -EBADF;
    if (s->nfids >= P9_MAX_FIDS)
        return -EMFILE;
    struct fid *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->id = id;
    f->uid = uid;
    f->node = node;
    f->fd = -1;
    f->next = s->fids[id % FID_BUCKETS];
    s->fids[id % FID_BUCKETS] = f;
    s->nfids++;
    if (out)
        *out = f;
    return 0;
}

static void fid_free(struct p9_server *s, struct fid *f)
{
    if (f->fd >= 0)
        close(f->fd);
    fs_release(s->e, f->node);
    free(f->xa);
    free(f);
}

static void fid_del(struct p9_server *s, uint32_t id)
{
    struct fid **pp = &s->fids[id % FID_BUCKETS];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct fid *f = *pp;
            *pp = f->next;
            fid_free(s, f);
            s->nfids--;
            return;
        }
    }
}

void p9_server_reset(struct p9_server *s)
{
    for (int b = 0; b < FID_BUCKETS; b++) {
        while (s->fids[b]) {
            struct fid *f = s->fids[b];
            s->fids[b] = f->next;
            fid_free(s, f);
        }
    }
    s->nfids = 0;
}

struct p9_server *p9_server_new(struct fs_export *e)
{
    struct p9_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->dents = malloc(P9_MAX_MSIZE);
    if (!s->dents) {
        free(s);
        return NULL;
    }
    s->e = e;
    s->msize = P9_MAX_MSIZE;
    return s;
}

void p9_server_free(struct p9_server *s)
{
    if (!s)
        return;
    p9_server_reset(s);
    free(s->dents);
    free(s);
}

uint32_t p9_server_msize(const struct p9_server *s) { return s->msize; }
unsigned p9_server_nfids(const struct p9_server *s) { return s->nfids; }

/* ---- operations: each returns 0 or -errno; the reply body goes to w ---- */

static int need_fid(struct p9_server *s, uint32_t id, struct fid **f)
{
    *f = fid_get(s, id);
    return *f ? 0 : -EBADF;
}

static int op_version(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t msize = rd32(r);
    char ver[64];
    rdstr(r, ver, sizeof(ver));
    if (r->bad)
        return -EINVAL;
    if (msize < P9_MIN_MSIZE)
        return -EINVAL;
    p9_server_reset(s);
    s->msize = msize < P9_MAX_MSIZE ? msize : P9_MAX_MSIZE;
    wr32(w, s->msize);
    wrstr(w, strncmp(ver, "9P2000.L", 8) ? "unknown" : "9P2000.L");
    return 0;
}

static int op_attach(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r), afid = rd32(r);
    char uname[NAME_MAX_9P + 1], aname[PATH_MAX_9P];
    rdstr(r, uname, sizeof(uname));
    rdstr(r, aname, sizeof(aname));
    uint32_t n_uname = rd32(r);
    if (r->bad)
        return -EINVAL;
    if (afid != P9_NOFID)
        return -EINVAL;             /* no authentication */
    if (fid_get(s, fid))
        return -EBADF;
    int err = 0;
    struct fs_node *n = fs_root(s->e, &err);
    if (!n)
        return err;
    struct stat st;
    if ((err = fs_getattr(s->e, n, &st)) < 0 ||
        (err = fid_add(s, fid, n, n_uname == P9_NOFID ? 0 : n_uname, NULL)) < 0) {
        fs_release(s->e, n);
        return err;
    }
    wrqid(w, &st);
    return 0;
}

static int op_walk(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r), newfid = rd32(r);
    uint16_t nw = rd16(r);
    if (r->bad || nw > MAX_WALK)
        return -EINVAL;
    char names[MAX_WALK][NAME_MAX_9P + 1];
    for (unsigned i = 0; i < nw; i++)
        if (!rdstr(r, names[i], sizeof(names[i])))
            return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (newfid != fid && (newfid == P9_NOFID || fid_get(s, newfid)))
        return -EBADF;
    if (nw > 0 && f->fd >= 0)
        return -EBADF;              /* an open fid may only be cloned */
    struct fs_node *cur = fs_dup(s->e, f->node, &err);
    if (!cur)
        return err;
    struct stat st[MAX_WALK];
    unsigned done = 0;
    for (; done < nw; done++) {
        const char *nm = names[done];
        /* "." and "/"-bearing names are not components; ".." is handled
         * inside the jail by the backend. */
        if (!strcmp(nm, ".") || (strcmp(nm, "..") && !fs_name_ok(nm))) {
            err = -EINVAL;
            break;
        }
        struct fs_node *next = fs_walk(s->e, cur, nm, &err);
        if (!next)
            break;
        fs_release(s->e, cur);
        cur = next;
        if ((err = fs_getattr(s->e, cur, &st[done])) < 0)
            break;
    }
    if (done < nw) {
        fs_release(s->e, cur);
        if (done == 0)
            return err;
        /* A partial walk: the qids that worked, newfid not made (9P). */
        wr16(w, (uint16_t)done);
        for (unsigned i = 0; i < done; i++)
            wrqid(w, &st[i]);
        return 0;
    }
    if (newfid == fid) {
        fs_release(s->e, f->node);
        f->node = cur;
    } else if ((err = fid_add(s, newfid, cur, f->uid, NULL)) < 0) {
        fs_release(s->e, cur);
        return err;
    }
    wr16(w, nw);
    for (unsigned i = 0; i < nw; i++)
        wrqid(w, &st[i]);
    return 0;
}

static int dotl_to_host(uint32_t fl)
{
    int h = (int)(fl & DOTL_ACCMODE);
    if ((fl & DOTL_ACCMODE) == 3)
        return -EINVAL;
    if (fl & DOTL_TRUNC) h |= O_TRUNC;
    if (fl & DOTL_APPEND) h |= O_APPEND;
    if (fl & DOTL_DSYNC) h |= O_DSYNC;
    if (fl & DOTL_SYNC) h |= O_SYNC;
    if (fl & DOTL_DIRECTORY) h |= O_DIRECTORY;
    if (fl & DOTL_NOATIME) h |= O_NOATIME;
    if (fl & DOTL_EXCL) h |= O_EXCL;
    return h;
}

static uint32_t iounit(struct p9_server *s)
{
    return s->msize - 24;           /* P9_IOHDRSZ */
}

static int op_lopen(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r), flags = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd >= 0 || f->xa)
        return -EBADF;
    int hf = dotl_to_host(flags);
    if (hf < 0)
        return hf;
    struct stat st;
    if ((err = fs_getattr(s->e, f->node, &st)) < 0)
        return err;
    int fd = fs_open(s->e, f->node, hf & ~O_EXCL);
    if (fd < 0)
        return fd;
    f->fd = fd;
    f->is_dir = S_ISDIR(st.st_mode);
    wrqid(w, &st);
    wr32(w, iounit(s));
    return 0;
}

static int op_lcreate(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    uint32_t flags = rd32(r), mode = rd32(r), gid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd >= 0)
        return -EBADF;
    if (!fs_name_ok(name))
        return -EINVAL;
    int hf = dotl_to_host(flags);
    if (hf < 0)
        return hf;
    struct fs_node *n;
    int fd = fs_create(s->e, f->node, name, hf & ~O_DIRECTORY, mode, f->uid, gid, &n);
    if (fd < 0)
        return fd;
    struct stat st;
    if ((err = fs_getattr(s->e, n, &st)) < 0) {
        close(fd);
        fs_release(s->e, n);
        return err;
    }
    /* The fid now stands for the new, open file (9P2000.L lcreate). */
    fs_release(s->e, f->node);
    f->node = n;
    f->fd = fd;
    f->is_dir = false;
    wrqid(w, &st);
    wr32(w, iounit(s));
    return 0;
}

/* ---- extended attributes on fids ---- */

static int xattr_read(struct fid_xattr *xa, uint64_t off, uint32_t count, struct wr *w)
{
    if (xa->create)
        return -EBADF;
    if (off > xa->len)
        return -EINVAL;
    if (count > xa->len - off)
        count = (uint32_t)(xa->len - off);
    wr32(w, count);
    wrn(w, xa->buf + off, count);
    return 0;
}

static int xattr_write(struct fid_xattr *xa, uint64_t off, const uint8_t *data, uint32_t count,
                       struct wr *w)
{
    if (!xa->create)
        return -EBADF;
    if (off > xa->len)
        return -EINVAL;
    if (count > xa->len - off)
        count = (uint32_t)(xa->len - off);
    memcpy(xa->buf + off, data, count);
    xa->copied += count;
    wr32(w, count);
    return 0;
}

/* Tclunk of a Txattrcreate fid: as QEMU, a value not fully written is
 * EINVAL, and size 0 removes the attribute. */
static int xattr_commit(struct p9_server *s, struct fid *f)
{
    struct fid_xattr *xa = f->xa;
    if (xa->copied != xa->len)
        return -EINVAL;
    if (!xa->len)
        return fs_removexattr(s->e, f->node, xa->name);
    return fs_setxattr(s->e, f->node, xa->name, xa->buf, xa->len, xa->flags);
}

static int op_read(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    uint64_t off = rd64(r);
    uint32_t count = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    size_t room = w->cap - w->off - 4;
    if (count > room)
        count = (uint32_t)room;
    if (f->xa)
        return xattr_read(f->xa, off, count, w);
    if (f->fd < 0 || f->is_dir)
        return f->is_dir ? -EISDIR : -EBADF;
    if (off > INT64_MAX)
        return -EINVAL;
    size_t at = w->off + 4;
    ssize_t n;
    do {
        n = pread(f->fd, w->p + at, count, (off_t)off);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    wr32(w, (uint32_t)n);
    w->off += (size_t)n;
    return 0;
}

static int op_write(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    uint64_t off = rd64(r);
    uint32_t count = rd32(r);
    if (r->bad || count != r->len - r->off)
        return -EINVAL;             /* the data must be exactly what count says */
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->xa)
        return xattr_write(f->xa, off, r->p + r->off, count, w);
    if (f->fd < 0 || f->is_dir)
        return f->is_dir ? -EISDIR : -EBADF;
    if (off > INT64_MAX || count > INT64_MAX - off)
        return -EFBIG;
    ssize_t n;
    do {
        n = pwrite(f->fd, r->p + r->off, count, (off_t)off);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    wr32(w, (uint32_t)n);
    return 0;
}

static int op_clunk(struct p9_server *s, struct rd *r, struct wr *w, bool remove)
{
    (void)w;
    uint32_t fid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->xa && f->xa->create)
        err = xattr_commit(s, f);
    if (remove && !err)
        err = fs_remove_node(s->e, f->node);
    fid_del(s, fid);                /* Tremove clunks even when it fails */
    return err;
}

static int op_getattr(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    rd64(r);                        /* request mask: we always give the basic set */
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    struct stat st;
    if ((err = fs_getattr(s->e, f->node, &st)) < 0)
        return err;
    wr64(w, GETATTR_BASIC);
    wrqid(w, &st);
    wr32(w, st.st_mode);
    wr32(w, st.st_uid);
    wr32(w, st.st_gid);
    wr64(w, st.st_nlink);
    wr64(w, st.st_rdev);
    wr64(w, (uint64_t)st.st_size);
    wr64(w, (uint64_t)st.st_blksize);
    wr64(w, (uint64_t)st.st_blocks);
    wr64(w, (uint64_t)st.st_atim.tv_sec);
    wr64(w, (uint64_t)st.st_atim.tv_nsec);
    wr64(w, (uint64_t)st.st_mtim.tv_sec);
    wr64(w, (uint64_t)st.st_mtim.tv_nsec);
    wr64(w, (uint64_t)st.st_ctim.tv_sec);
    wr64(w, (uint64_t)st.st_ctim.tv_nsec);
    wr64(w, 0);                     /* btime */
    wr64(w, 0);
    wr64(w, 0);                     /* gen */
    wr64(w, 0);                     /* data_version */
    return 0;
}

static int op_setattr(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t fid = rd32(r);
    struct fs_setattr sa = {0};
    sa.valid = rd32(r);
    sa.mode = rd32(r);
    sa.uid = rd32(r);
    sa.gid = rd32(r);
    sa.size = rd64(r);
    uint64_t as = rd64(r), an = rd64(r), ms = rd64(r), mn = rd64(r);
    if (r->bad)
        return -EINVAL;
    if (as > INT64_MAX || ms > INT64_MAX || an > 999999999 || mn > 999999999 ||
        sa.size > INT64_MAX)
        return -EINVAL;
    sa.atime = (struct timespec){(time_t)as, (long)an};
    sa.mtime = (struct timespec){(time_t)ms, (long)mn};
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    return fs_setattr(s->e, f->node, &sa);
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int op_readdir(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    uint64_t off = rd64(r);
    uint32_t count = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd < 0 || !f->is_dir)
        return f->fd < 0 ? -EBADF : -ENOTDIR;
    if (off > INT64_MAX)
        return -EINVAL;
    size_t room = w->cap - w->off - 4;
    if (count < room)
        room = count;
    size_t count_at = w->off;
    wr32(w, 0);
    size_t start = w->off;
    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return -errno;
    size_t used = 0;
    for (;;) {
        /* Read about as much as could fit: the offsets let us resume. */
        size_t want = room - used < 4096 ? 4096 : room - used;
        if (want > P9_MAX_MSIZE)
            want = P9_MAX_MSIZE;
        long n = syscall(SYS_getdents64, f->fd, s->dents, want);
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        bool full = false;
        for (long p = 0; p < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(s->dents + p);
            if (d->d_reclen == 0)
                break;
            size_t nl = strnlen(d->d_name, NAME_MAX_9P + 1);
            size_t need = 13 + 8 + 1 + 2 + nl;
            if (used + need > room) {
                full = true;
                break;
            }
            uint8_t qt = d->d_type == DT_DIR ? QID_DIR : d->d_type == DT_LNK ? QID_SYMLINK
                                                                               : QID_FILE;
            wr8(w, qt);
            wr32(w, 0);
            wr64(w, d->d_ino);
            wr64(w, (uint64_t)d->d_off);
            wr8(w, d->d_type);
            wr16(w, (uint16_t)nl);
            wrn(w, d->d_name, nl);
            used += need;
            p += d->d_reclen;
        }
        if (full || used == 0)
            break;
    }
    uint32_t c = (uint32_t)(w->off - start);
    w->p[count_at] = (uint8_t)c;
    w->p[count_at + 1] = (uint8_t)(c >> 8);
    w->p[count_at + 2] = (uint8_t)(c >> 16);
    w->p[count_at + 3] = (uint8_t)(c >> 24);
    return 0;
}

static int op_statfs(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    struct statvfs sv;
    if ((err = fs_statfs(s->e, f->node, &sv)) < 0)
        return err;
    wr32(w, V9FS_MAGIC);
    wr32(w, (uint32_t)sv.f_bsize);
    wr64(w, sv.f_blocks);
    wr64(w, sv.f_bfree);
    wr64(w, sv.f_bavail);
    wr64(w, sv.f_files);
    wr64(w, sv.f_ffree);
    wr64(w, sv.f_fsid);
    wr32(w, (uint32_t)sv.f_namemax);
    return 0;
}

static int op_mkdir(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t dfid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    uint32_t mode = rd32(r), gid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, dfid, &f);
    if (err)
        return err;
    struct stat st;
    if ((err = fs_mkdir(s->e, f->node, name, mode, f->uid, gid, &st)) < 0)
        return err;
    wrqid(w, &st);
    return 0;
}

static int op_mknod(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t dfid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    uint32_t mode = rd32(r);
    rd32(r);                        /* major */
    rd32(r);                        /* minor */
    uint32_t gid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, dfid, &f);
    if (err)
        return err;
    struct stat st;
    if ((err = fs_mknod(s->e, f->node, name, mode, f->uid, gid, &st)) < 0)
        return err;
    wrqid(w, &st);
    return 0;
}

static int op_symlink(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    char name[NAME_MAX_9P + 1];
    char target[PATH_MAX_9P];
    rdstr(r, name, sizeof(name));
    rdstr(r, target, sizeof(target));
    uint32_t gid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    struct stat st;
    if ((err = fs_symlink(s->e, f->node, name, target, f->uid, gid, &st)) < 0)
        return err;
    wrqid(w, &st);
    return 0;
}

static int op_readlink(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    char buf[PATH_MAX_9P + 1];
    int n = fs_readlink(s->e, f->node, buf, sizeof(buf));
    if (n < 0)
        return n;
    wrstr(w, buf);
    return 0;
}

static int op_link(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t dfid = rd32(r), fid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    if (r->bad)
        return -EINVAL;
    struct fid *d, *f;
    int err;
    if ((err = need_fid(s, dfid, &d)) || (err = need_fid(s, fid, &f)))
        return err;
    return fs_link(s->e, f->node, d->node, name);
}

static int op_rename(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t fid = rd32(r), dfid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    if (r->bad)
        return -EINVAL;
    struct fid *f, *d;
    int err;
    if ((err = need_fid(s, fid, &f)) || (err = need_fid(s, dfid, &d)))
        return err;
    return fs_rename_node(s->e, f->node, d->node, name);
}

static int op_renameat(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t ofid = rd32(r);
    char oname[NAME_MAX_9P + 1], nname[NAME_MAX_9P + 1];
    rdstr(r, oname, sizeof(oname));
    uint32_t nfid = rd32(r);
    rdstr(r, nname, sizeof(nname));
    if (r->bad)
        return -EINVAL;
    struct fid *o, *n;
    int err;
    if ((err = need_fid(s, ofid, &o)) || (err = need_fid(s, nfid, &n)))
        return err;
    return fs_rename(s->e, o->node, oname, n->node, nname);
}

static int op_unlinkat(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t dfid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    uint32_t flags = rd32(r);
    if (r->bad)
        return -EINVAL;
    if (flags & ~(uint32_t)FS_UNLINK_DIR)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, dfid, &f);
    if (err)
        return err;
    return fs_unlink(s->e, f->node, name, (int)flags);
}

static int op_fsync(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t fid = rd32(r), datasync = rd32(r);
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd < 0)
        return -EBADF;
    if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
        return -errno;
    return 0;
}

/* Locks: granted at once, as QEMU's server does (one client: the guest's
 * own kernel already arbitrates between its processes). */
/* Tlock/Tgetlock: real host locks (fs_lock, open file description locks),
 * so guests sharing a folder and host programs see each other's locks.
 * A conflict is LOCK_BLOCKED: the Linux client sleeps and retries a
 * blocking request itself (the server never waits). */
static int op_lock(struct p9_server *s, struct rd *r, struct wr *w, bool get)
{
    uint32_t fid = rd32(r);
    uint8_t type = rd8(r);
    if (!get)
        rd32(r);                    /* flags: blocking or not, the client retries */
    uint64_t start = rd64(r), length = rd64(r);
    uint32_t proc = rd32(r);
    char client[NAME_MAX_9P + 1];
    rdstr(r, client, sizeof(client));
    if (r->bad || type > LOCK_TYPE_UNLCK)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd < 0)
        return -EBADF;
    static const short host_type[] = {F_RDLCK, F_WRLCK, F_UNLCK};
    short t = host_type[type];
    if (!get) {
        err = fs_lock(f->fd, t, start, length);
        if (err && err != -EAGAIN)
            return err;
        wr8(w, err ? LOCK_BLOCKED : LOCK_SUCCESS);
        return 0;
    }
    if ((err = fs_getlock(f->fd, &t, &start, &length)) < 0)
        return err;
    wr8(w, t == F_RDLCK ? LOCK_TYPE_RDLCK : t == F_WRLCK ? LOCK_TYPE_WRLCK : LOCK_TYPE_UNLCK);
    wr64(w, start);
    wr64(w, length);
    wr32(w, proc);                  /* the holder's pid is not the guest's business */
    wrstr(w, client);
    return 0;
}

/* Txattrwalk: newfid reads the attribute's value (name "": the list of
 * names); the reply gives its size. */
static int op_xattrwalk(struct p9_server *s, struct rd *r, struct wr *w)
{
    uint32_t fid = rd32(r), newfid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    if (r->bad)
        return -EINVAL;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    ssize_t len = name[0] ? fs_getxattr(s->e, f->node, name, NULL, 0)
                          : fs_listxattr(s->e, f->node, NULL, 0);
    if (len < 0)
        return (int)len;
    if (len > FS_XATTR_SIZE_MAX)
        return -E2BIG;
    struct fid_xattr *xa = calloc(1, sizeof(*xa) + (size_t)len);
    if (!xa)
        return -ENOMEM;
    if (len) {
        ssize_t got = name[0] ? fs_getxattr(s->e, f->node, name, xa->buf, (size_t)len)
                              : fs_listxattr(s->e, f->node, (char *)xa->buf, (size_t)len);
        if (got < 0) {              /* changed in between (ERANGE): the client retries */
            free(xa);
            return (int)got;
        }
        len = got;
    }
    xa->len = (uint64_t)len;
    struct fs_node *n = fs_dup(s->e, f->node, &err);
    struct fid *nf;
    if (!n || (err = fid_add(s, newfid, n, f->uid, &nf)) < 0) {
        if (n)
            fs_release(s->e, n);
        free(xa);
        return err ? err : -ENOMEM;
    }
    nf->xa = xa;
    wr64(w, xa->len);
    return 0;
}

/* Txattrcreate: fid becomes the attribute being written. */
static int op_xattrcreate(struct p9_server *s, struct rd *r, struct wr *w)
{
    (void)w;
    uint32_t fid = rd32(r);
    char name[NAME_MAX_9P + 1];
    rdstr(r, name, sizeof(name));
    uint64_t size = rd64(r);
    uint32_t flags = rd32(r);
    if (r->bad || !name[0] || (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE)))
        return -EINVAL;
    if (size > FS_XATTR_SIZE_MAX)
        return -E2BIG;
    struct fid *f;
    int err = need_fid(s, fid, &f);
    if (err)
        return err;
    if (f->fd >= 0 || f->xa)
        return -EBADF;
    if (fs_export_readonly(s->e))
        return -EROFS;
    struct fid_xattr *xa = calloc(1, sizeof(*xa) + (size_t)size);
    if (!xa)
        return -ENOMEM;
    xa->create = true;
    xa->flags = (int)flags;
    xa->len = size;
    memcpy(xa->name, name, sizeof(xa->name));
    f->xa = xa;
    return 0;
}

size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *out,
                 size_t out_cap)
{
    struct rd r = {req, req_len, 0, false};
    uint32_t size = rd32(&r);
    uint8_t type = rd8(&r);
    uint16_t tag = rd16(&r);
    int err = 0;
    struct wr w = {out, out_cap, P9_HDR, false};
    if (out_cap < P9_HDR + 4)
        return 0;
    if (r.bad || size != req_len || size < P9_HDR) {
        if (r.bad)
            tag = P9_NOTAG;
        err = -EINVAL;
    } else {
        if (w.cap > s->msize)
            w.cap = s->msize;       /* replies never exceed the negotiated size */
        if (w.cap < P9_HDR + 4)
            w.cap = P9_HDR + 4;
        switch (type) {
        case P9_TVERSION: err = op_version(s, &r, &w); break;
        case P9_TATTACH: err = op_attach(s, &r, &w); break;
        case P9_TWALK: err = op_walk(s, &r, &w); break;
        case P9_TLOPEN: err = op_lopen(s, &r, &w); break;
        case P9_TLCREATE: err = op_lcreate(s, &r, &w); break;
        case P9_TREAD: err = op_read(s, &r, &w); break;
        case P9_TWRITE: err = op_write(s, &r, &w); break;
        case P9_TCLUNK: err = op_clunk(s, &r, &w, false); break;
        case P9_TREMOVE: err = op_clunk(s, &r, &w, true); break;
        case P9_TGETATTR: err = op_getattr(s, &r, &w); break;
        case P9_TSETATTR: err = op_setattr(s, &r, &w); break;
        case P9_TREADDIR: err = op_readdir(s, &r, &w); break;
        case P9_TSTATFS: err = op_statfs(s, &r, &w); break;
        case P9_TMKDIR: err = op_mkdir(s, &r, &w); break;
        case P9_TMKNOD: err = op_mknod(s, &r, &w); break;
        case P9_TSYMLINK: err = op_symlink(s, &r, &w); break;
        case P9_TREADLINK: err = op_readlink(s, &r, &w); break;
        case P9_TLINK: err = op_link(s, &r, &w); break;
        case P9_TRENAME: err = op_rename(s, &r, &w); break;
        case P9_TRENAMEAT: err = op_renameat(s, &r, &w); break;
        case P9_TUNLINKAT: err = op_unlinkat(s, &r, &w); break;
        case P9_TFSYNC: err = op_fsync(s, &r, &w); break;
        case P9_TLOCK: err = op_lock(s, &r, &w, false); break;
        case P9_TGETLOCK: err = op_lock(s, &r, &w, true); break;
        case P9_TXATTRWALK: err = op_xattrwalk(s, &r, &w); break;
        case P9_TXATTRCREATE: err = op_xattrcreate(s, &r, &w); break;
        case P9_TFLUSH: rd16(&r); err = r.bad ? -EINVAL : 0; break;
        case P9_TAUTH: err = -EOPNOTSUPP; break;
        default: err = -EOPNOTSUPP; break;
        }
        if (!err && w.over)
            err = -ENOBUFS;         /* reply did not fit the client's buffer */
    }
    uint8_t rtype = (uint8_t)(type + 1);
    if (err) {
        w.off = P9_HDR;
        w.over = false;
        w.cap = out_cap;
        wr32(&w, (uint32_t)-err);
        rtype = P9_RLERROR;
    }
    size_t len = w.off;
    out[0] = (uint8_t)len;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 24);
    out[4] = rtype;
    out[5] = (uint8_t)tag;
    out[6] = (uint8_t)(tag >> 8);
    return len;
}
