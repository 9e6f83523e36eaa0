/* The "local" host-folder backend (-fsdev local,path=...): a jail built on
 * descriptors. Each node holds an O_PATH descriptor of its own inode, opened
 * with O_NOFOLLOW relative to its parent's descriptor, and its path from the
 * root (for ".." only). Operations on names act through the parent's
 * descriptor with *at() calls on one component; I/O reopens the node's own
 * inode through /proc/self/fd, so nothing is looked up by path twice and a
 * symlink is never followed on the host (the guest follows them itself,
 * through readlink). See fs/fs.h for the contract. */
#include "fs/fs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

struct fs_export {
    int root_fd;                /* O_PATH|O_DIRECTORY of path= */
    enum fs_security_model sm;
    bool readonly;
    char *root_path;
};

struct fs_node {
    int fd;                     /* O_PATH|O_NOFOLLOW */
    char *path;                 /* from the root: "" or "a/b" */
};

#define XATTR_UID  "user.virtfs.uid"
#define XATTR_GID  "user.virtfs.gid"
#define XATTR_MODE "user.virtfs.mode"

bool fs_name_ok(const char *name)
{
    return name && name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

struct fs_export *fs_local_open(const char *path, enum fs_security_model sm, bool readonly,
                                char *err, size_t errlen)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open export path '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct fs_export *e = calloc(1, sizeof(*e));
    if (!e || !(e->root_path = strdup(path))) {
        free(e);
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->root_fd = fd;
    e->sm = sm;
    e->readonly = readonly;
    return e;
}

void fs_export_close(struct fs_export *e)
{
    if (!e)
        return;
    close(e->root_fd);
    free(e->root_path);
    free(e);
}

bool fs_export_readonly(const struct fs_export *e) { return e->readonly; }

static struct fs_node *node_new(int fd, const char *path, int *err)
{
    struct fs_node *n = malloc(sizeof(*n));
    char *p = strdup(path);
    if (!n || !p) {
        free(n);
        free(p);
        close(fd);
        *err = -ENOMEM;
        return NULL;
    }
    n->fd = fd;
    n->path = p;
    return n;
}

struct fs_node *fs_root(struct fs_export *e, int *err)
{
    int fd = fcntl(e->root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        *err = -errno;
        return NULL;
    }
    return node_new(fd, "", err);
}

struct fs_node *fs_dup(struct fs_export *e, struct fs_node *n, int *err)
{
    (void)e;
    int fd = fcntl(n->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        *err = -errno;
        return NULL;
    }
    return node_new(fd, n->path, err);
}

void fs_release(struct fs_export *e, struct fs_node *n)
{
    (void)e;
    if (!n)
        return;
    close(n->fd);
    free(n->path);
    free(n);
}

/* The parent of path, walked again from the root one component at a time
 * (each O_NOFOLLOW|O_DIRECTORY): what ".." means inside the jail. */
static struct fs_node *walk_parent(struct fs_export *e, struct fs_node *n, int *err)
{
    char *p = strdup(n->path);
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    char *slash = strrchr(p, '/');
    if (slash)
        *slash = 0;
    else
        p[0] = 0;
    int fd = fcntl(e->root_fd, F_DUPFD_CLOEXEC, 0);
    char *save = NULL;
    for (char *c = strtok_r(p, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
        int nfd = openat(fd, c, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = nfd;
    }
    if (fd < 0) {
        *err = -errno;
        free(p);
        return NULL;
    }
    /* p was cut by strtok: rebuild it from n->path */
    size_t keep = slash ? (size_t)(slash - p) : 0;
    memcpy(p, n->path, keep);
    p[keep] = 0;
    struct fs_node *r = node_new(fd, p, err);
    free(p);
    return r;
}

struct fs_node *fs_walk(struct fs_export *e, struct fs_node *dir, const char *name, int *err)
{
    if (!strcmp(name, ".."))
        return dir->path[0] ? walk_parent(e, dir, err) : fs_dup(e, dir, err);
    if (!strcmp(name, "."))
        return fs_dup(e, dir, err);
    if (!fs_name_ok(name)) {
        *err = -EINVAL;
        return NULL;
    }
    int fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *err = -errno;
        return NULL;
    }
    size_t pl = strlen(dir->path), nl = strlen(name);
    char *p = malloc(pl + nl + 2);
    if (!p) {
        close(fd);
        *err = -ENOMEM;
        return NULL;
    }
    if (pl)
        sprintf(p, "%s/%s", dir->path, name);
    else
        strcpy(p, name);
    struct fs_node *r = node_new(fd, p, err);
    free(p);
    return r;
}

static uint32_t xattr_u32(int fd, const char *name, bool *found)
{
    char proc[64];
    uint32_t v = 0;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    *found = getxattr(proc, name, &v, sizeof(v)) == (ssize_t)sizeof(v);
    return v;
}

int fs_getattr(struct fs_export *e, struct fs_node *n, struct stat *st)
{
    if (fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (e->sm == FS_SM_MAPPED_XATTR && !S_ISLNK(st->st_mode)) {
        bool f;
        uint32_t v = xattr_u32(n->fd, XATTR_UID, &f);
        if (f) st->st_uid = v;
        v = xattr_u32(n->fd, XATTR_GID, &f);
        if (f) st->st_gid = v;
        v = xattr_u32(n->fd, XATTR_MODE, &f);
        if (f) st->st_mode = (st->st_mode & S_IFMT) | (v & 07777);
    }
    return 0;
}

/* The node's inode reopened for I/O (never a lookup by name). */
static int reopen(struct fs_node *n, int flags)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", n->fd);
    int fd = open(proc, flags | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : fd;
}

static void set_mapped(struct fs_export *e, int pathfd, uint32_t uid, uint32_t gid,
                       uint32_t mode)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
    if (e->sm == FS_SM_MAPPED_XATTR) {
        setxattr(proc, XATTR_UID, &uid, sizeof(uid), 0);
        setxattr(proc, XATTR_GID, &gid, sizeof(gid), 0);
        setxattr(proc, XATTR_MODE, &mode, sizeof(mode), 0);
    }
}

/* Ownership of a new file as the security model wants it. */
static int new_owner(struct fs_export *e, int pathfd, uint32_t uid, uint32_t gid, uint32_t mode)
{
    if (e->sm == FS_SM_MAPPED_XATTR) {
        set_mapped(e, pathfd, uid, gid, mode);
        return 0;
    }
    if (fchownat(pathfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 &&
        e->sm == FS_SM_PASSTHROUGH)
        return -errno;
    return 0;                   /* "none": host ownership stays */
}

int fs_setattr(struct fs_export *e, struct fs_node *n, const struct fs_setattr *sa)
{
    if (e->readonly)
        return -EROFS;
    struct stat st;
    if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    bool lnk = S_ISLNK(st.st_mode);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", n->fd);
    if (sa->valid & FS_SET_MODE) {
        if (e->sm == FS_SM_MAPPED_XATTR && !lnk) {
            uint32_t m = sa->mode & 07777;
            if (setxattr(proc, XATTR_MODE, &m, sizeof(m), 0) < 0)
                return -errno;
        } else if (!lnk && chmod(proc, sa->mode & 07777) < 0) {
            return -errno;
        }
    }
    if (sa->valid & (FS_SET_UID | FS_SET_GID)) {
        uid_t u = (sa->valid & FS_SET_UID) ? sa->uid : (uid_t)-1;
        gid_t g = (sa->valid & FS_SET_GID) ? sa->gid : (gid_t)-1;
        if (e->sm == FS_SM_MAPPED_XATTR && !lnk) {
            if ((sa->valid & FS_SET_UID) && setxattr(proc, XATTR_UID, &sa->uid, 4, 0) < 0)
                return -errno;
            if ((sa->valid & FS_SET_GID) && setxattr(proc, XATTR_GID, &sa->gid, 4, 0) < 0)
                return -errno;
        } else if (fchownat(n->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 &&
                   e->sm == FS_SM_PASSTHROUGH) {
            return -errno;
        }
    }
    if (sa->valid & FS_SET_SIZE) {
        if (!S_ISREG(st.st_mode))
            return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        int fd = reopen(n, O_WRONLY);
        if (fd < 0)
            return fd;
        int r = ftruncate(fd, (off_t)sa->size) < 0 ? -errno : 0;
        close(fd);
        if (r)
            return r;
    }
    if (sa->valid & (FS_SET_ATIME | FS_SET_MTIME)) {
        struct timespec ts[2];
        ts[0].tv_nsec = UTIME_OMIT;
        ts[1].tv_nsec = UTIME_OMIT;
        if (sa->valid & FS_SET_ATIME)
            ts[0] = (sa->valid & FS_SET_ATIME_SET) ? sa->atime
                                                   : (struct timespec){0, UTIME_NOW};
        if (sa->valid & FS_SET_MTIME)
            ts[1] = (sa->valid & FS_SET_MTIME_SET) ? sa->mtime
                                                   : (struct timespec){0, UTIME_NOW};
        if (ts[0].tv_nsec != UTIME_OMIT && ts[0].tv_nsec != UTIME_NOW &&
            (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999))
            return -EINVAL;
        if (ts[1].tv_nsec != UTIME_OMIT && ts[1].tv_nsec != UTIME_NOW &&
            (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999))
            return -EINVAL;
        /* Symlinks: their own times cannot be set through /proc; skip. */
        if (!lnk && utimensat(AT_FDCWD, proc, ts, 0) < 0)
            return -errno;
    }
    return 0;
}

int fs_open(struct fs_export *e, struct fs_node *n, int flags)
{
    struct stat st;
    if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode))
        return -ELOOP;
    /* Devices would reach the host's hardware; FIFOs and sockets would
     * block or talk to host programs: the guest opens none of them. */
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return -EACCES;
    int acc = flags & O_ACCMODE;
    if (e->readonly && (acc != O_RDONLY || (flags & O_TRUNC)))
        return -EROFS;
    if (S_ISDIR(st.st_mode) && acc != O_RDONLY)
        return -EISDIR;
    int keep = O_ACCMODE | O_TRUNC | O_APPEND | O_DSYNC | O_SYNC | O_DIRECTORY | O_NOATIME;
    /* No O_NOFOLLOW: /proc/self/fd/N is itself a (magic) link, to the
     * inode checked above, which is not a symlink. */
    int fd = reopen(n, flags & keep);
    if (fd == -EPERM && (flags & O_NOATIME))
        fd = reopen(n, flags & keep & ~O_NOATIME);
    return fd;
}

int fs_create(struct fs_export *e, struct fs_node *dir, const char *name, int flags,
              uint32_t mode, uint32_t uid, uint32_t gid, struct fs_node **out)
{
    *out = NULL;
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name))
        return -EINVAL;
    int keep = O_ACCMODE | O_TRUNC | O_APPEND | O_DSYNC | O_SYNC | O_EXCL;
    mode_t hmode = e->sm == FS_SM_MAPPED_XATTR ? 0600 : (mode & 07777);
    int fd = openat(dir->fd, name, (flags & keep) | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    hmode);
    if (fd < 0)
        return -errno;
    int err = 0;
    struct fs_node *n = fs_walk(e, dir, name, &err);
    if (!n) {
        close(fd);
        return err;
    }
    /* The node must be the inode we created and opened. */
    struct stat a, b;
    if (fstat(fd, &a) < 0 || fstatat(n->fd, "", &b, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
        a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        close(fd);
        fs_release(e, n);
        return -ESTALE;
    }
    int r = new_owner(e, n->fd, uid, gid, S_IFREG | (mode & 07777));
    if (r < 0) {
        close(fd);
        fs_release(e, n);
        return r;
    }
    *out = n;
    return fd;
}

static int stat_child(struct fs_export *e, struct fs_node *dir, const char *name,
                      uint32_t uid, uint32_t gid, uint32_t mode, struct stat *st)
{
    int err = 0;
    struct fs_node *n = fs_walk(e, dir, name, &err);
    if (!n)
        return err;
    int r = new_owner(e, n->fd, uid, gid, mode);
    if (r == 0)
        r = fs_getattr(e, n, st);
    fs_release(e, n);
    return r;
}

int fs_mkdir(struct fs_export *e, struct fs_node *dir, const char *name, uint32_t mode,
             uint32_t uid, uint32_t gid, struct stat *st)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name))
        return -EINVAL;
    mode_t hmode = e->sm == FS_SM_MAPPED_XATTR ? 0700 : (mode & 07777);
    if (mkdirat(dir->fd, name, hmode) < 0)
        return -errno;
    return stat_child(e, dir, name, uid, gid, S_IFDIR | (mode & 07777), st);
}

int fs_mknod(struct fs_export *e, struct fs_node *dir, const char *name, uint32_t mode,
             uint32_t uid, uint32_t gid, struct stat *st)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name))
        return -EINVAL;
    uint32_t type = mode & S_IFMT;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != 0)
        return -EPERM;          /* no device nodes in the export */
    mode_t hmode = e->sm == FS_SM_MAPPED_XATTR ? 0600 : (mode & 07777);
    if (mknodat(dir->fd, name, (type ? type : S_IFREG) | hmode, 0) < 0)
        return -errno;
    return stat_child(e, dir, name, uid, gid, mode, st);
}

int fs_symlink(struct fs_export *e, struct fs_node *dir, const char *name, const char *target,
               uint32_t uid, uint32_t gid, struct stat *st)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name) || !target[0])
        return -EINVAL;
    /* The target is only text to the host: it is never followed here. */
    if (symlinkat(target, dir->fd, name) < 0)
        return -errno;
    int err = 0;
    struct fs_node *n = fs_walk(e, dir, name, &err);
    if (!n)
        return err;
    if (e->sm != FS_SM_MAPPED_XATTR &&
        fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 &&
        e->sm == FS_SM_PASSTHROUGH) {
        int r = -errno;
        fs_release(e, n);
        return r;
    }
    int r = fs_getattr(e, n, st);
    fs_release(e, n);
    return r;
}

int fs_readlink(struct fs_export *e, struct fs_node *n, char *buf, size_t len)
{
    (void)e;
    if (len < 2)
        return -EINVAL;
    ssize_t r = readlinkat(n->fd, "", buf, len - 1);
    if (r < 0)
        return errno == ENOENT ? -EINVAL : -errno;
    buf[r] = 0;
    return (int)r;
}

int fs_link(struct fs_export *e, struct fs_node *target, struct fs_node *dir, const char *name)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name))
        return -EINVAL;
    struct stat st;
    if (fstatat(target->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EPERM;
    /* AT_EMPTY_PATH on the node's own descriptor: the very inode, never a
     * path looked up again (needs CAP_DAC_READ_SEARCH; else /proc). */
    if (linkat(target->fd, "", dir->fd, name, AT_EMPTY_PATH) == 0)
        return 0;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", target->fd);
    if (linkat(AT_FDCWD, proc, dir->fd, name, AT_SYMLINK_FOLLOW) < 0)
        return -errno;
    return 0;
}

int fs_rename(struct fs_export *e, struct fs_node *olddir, const char *oldname,
              struct fs_node *newdir, const char *newname)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(oldname) || !fs_name_ok(newname))
        return -EINVAL;
    if (renameat(olddir->fd, oldname, newdir->fd, newname) < 0)
        return -errno;
    return 0;
}

int fs_unlink(struct fs_export *e, struct fs_node *dir, const char *name, int flags)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(name))
        return -EINVAL;
    if (unlinkat(dir->fd, name, (flags & FS_UNLINK_DIR) ? AT_REMOVEDIR : 0) < 0)
        return -errno;
    return 0;
}

int fs_statfs(struct fs_export *e, struct fs_node *n, struct statvfs *sv)
{
    (void)e;
    /* O_PATH descriptors take fstatfs (Linux 3.12+): nothing is opened. */
    if (fstatvfs(n->fd, sv) < 0)
        return -errno;
    return 0;
}

/* The parent and base name of n, checked to still name n's inode. */
static struct fs_node *parent_of(struct fs_export *e, struct fs_node *n, const char **base,
                                 int *err)
{
    if (!n->path[0]) {
        *err = -EBUSY;          /* the export's root has no name to act on */
        return NULL;
    }
    struct fs_node *p = walk_parent(e, n, err);
    if (!p)
        return NULL;
    const char *slash = strrchr(n->path, '/');
    *base = slash ? slash + 1 : n->path;
    struct stat a, b;
    if (fstatat(n->fd, "", &a, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
        fstatat(p->fd, *base, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
        a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        fs_release(e, p);
        *err = -ESTALE;
        return NULL;
    }
    return p;
}

int fs_remove_node(struct fs_export *e, struct fs_node *n)
{
    if (e->readonly)
        return -EROFS;
    int err = 0;
    const char *base;
    struct fs_node *p = parent_of(e, n, &base, &err);
    if (!p)
        return err;
    struct stat st;
    int r = fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (r == 0 && unlinkat(p->fd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        r = -errno;
    fs_release(e, p);
    return r;
}

int fs_rename_node(struct fs_export *e, struct fs_node *n, struct fs_node *newdir,
                   const char *newname)
{
    if (e->readonly)
        return -EROFS;
    if (!fs_name_ok(newname))
        return -EINVAL;
    int err = 0;
    const char *base;
    struct fs_node *p = parent_of(e, n, &base, &err);
    if (!p)
        return err;
    int r = renameat(p->fd, base, newdir->fd, newname) < 0 ? -errno : 0;
    if (r == 0) {
        /* n now lives at newdir/newname: keep ".." from it right. */
        size_t l = strlen(newdir->path) + strlen(newname) + 2;
        char *np = malloc(l);
        if (np) {
            if (newdir->path[0])
                snprintf(np, l, "%s/%s", newdir->path, newname);
            else
                snprintf(np, l, "%s", newname);
            free(n->path);
            n->path = np;
        }
    }
    fs_release(e, p);
    return r;
}

/* ---- extended attributes and locks (see fs.h) ---- */

static int xattr_name_check(struct fs_export *e, const char *name)
{
    if (strncmp(name, "user.", 5) || !name[5])
        return -EOPNOTSUPP;
    if (e->sm == FS_SM_MAPPED_XATTR && !strncmp(name, "user.virtfs.", 12))
        return -EACCES;
    return 0;
}

/* The node's inode as a path the *xattr calls take; symlinks refused (the
 * magic link must never lead on to a symlink's target). */
static int xattr_proc(struct fs_node *n, char *proc, size_t len)
{
    struct stat st;
    if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode))
        return -EOPNOTSUPP;
    snprintf(proc, len, "/proc/self/fd/%d", n->fd);
    return 0;
}

ssize_t fs_getxattr(struct fs_export *e, struct fs_node *n, const char *name, void *buf,
                    size_t size)
{
    char proc[64];
    int err = xattr_name_check(e, name);
    if (err)
        return err == -EACCES ? -ENODATA : err;
    if ((err = xattr_proc(n, proc, sizeof(proc))) < 0)
        return err;
    ssize_t r = getxattr(proc, name, buf, size);
    return r < 0 ? -errno : r;
}

ssize_t fs_listxattr(struct fs_export *e, struct fs_node *n, char *buf, size_t size)
{
    char proc[64];
    int err = xattr_proc(n, proc, sizeof(proc));
    if (err < 0)
        return err;
    char *all = malloc(FS_XATTR_SIZE_MAX);
    if (!all)
        return -ENOMEM;
    ssize_t len = listxattr(proc, all, FS_XATTR_SIZE_MAX);
    if (len < 0) {
        err = -errno;
        free(all);
        return err;
    }
    size_t out = 0;
    for (ssize_t i = 0; i < len;) {
        size_t l = strnlen(all + i, (size_t)(len - i));
        if (l && (size_t)(len - i) > l && !xattr_name_check(e, all + i)) {
            if (size && out + l + 1 > size) {
                free(all);
                return -ERANGE;
            }
            if (size)
                memcpy(buf + out, all + i, l + 1);
            out += l + 1;
        }
        i += (ssize_t)l + 1;
    }
    free(all);
    return (ssize_t)out;
}

/* What set and remove check first: a writable export, a name the guest
 * may change, a node that is no symlink. */
static int xattr_change_check(struct fs_export *e, struct fs_node *n, const char *name,
                              char *proc, size_t len)
{
    if (e->readonly)
        return -EROFS;
    int err = xattr_name_check(e, name);
    return err ? err : xattr_proc(n, proc, len);
}

int fs_setxattr(struct fs_export *e, struct fs_node *n, const char *name, const void *val,
                size_t size, int flags)
{
    char proc[64];
    int err = xattr_change_check(e, n, name, proc, sizeof(proc));
    if (err < 0)
        return err;
    if (size > FS_XATTR_SIZE_MAX || (flags & ~(XATTR_CREATE | XATTR_REPLACE)))
        return -EINVAL;
    return setxattr(proc, name, val, size, flags) < 0 ? -errno : 0;
}

int fs_removexattr(struct fs_export *e, struct fs_node *n, const char *name)
{
    char proc[64];
    int err = xattr_change_check(e, n, name, proc, sizeof(proc));
    if (err < 0)
        return err;
    return removexattr(proc, name) < 0 ? -errno : 0;
}

static int lock_range(struct flock *fl, short type, uint64_t start, uint64_t len)
{
    if (start > INT64_MAX || len > INT64_MAX || (len && start + len - 1 > INT64_MAX))
        return -EINVAL;
    if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
        return -EINVAL;
    memset(fl, 0, sizeof(*fl));
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)start;
    fl->l_len = (off_t)len;
    return 0;
}

int fs_lock(int fd, short type, uint64_t start, uint64_t len)
{
    struct flock fl;
    int err = lock_range(&fl, type, start, len);
    if (err)
        return err;
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
        return errno == EACCES ? -EAGAIN : -errno;
    return 0;
}

int fs_getlock(int fd, short *type, uint64_t *start, uint64_t *len)
{
    struct flock fl;
    int err = lock_range(&fl, *type, *start, *len);
    if (err)
        return err;
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return -errno;
    *type = fl.l_type;
    if (fl.l_type != F_UNLCK) {
        *start = (uint64_t)fl.l_start;
        *len = (uint64_t)fl.l_len;
    }
    return 0;
}
