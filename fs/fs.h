/* A host folder exported to the guest (the 9P server's backend), behind one
 * interface as block/ and net/ are. Knows nothing of 9P or virtio.
 *
 * The export is a jail: every name the guest gives is one path component
 * (no '/', not "", "." or ".."), resolved relative to a directory
 * descriptor the backend holds, never following a symlink (O_NOFOLLOW on
 * each component), so neither "..", an absolute or relative symlink, nor a
 * symlink swapped in between lookup and use reaches outside the folder.
 * Files are reopened through the descriptor of the very inode that was
 * looked up, and device nodes are never opened or created.
 *
 * All calls return 0 or a negative errno (Linux numbering, which 9P2000.L
 * carries as is). Not thread-safe: the caller serialises. */
#ifndef FS_FS_H
#define FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

enum fs_security_model {
    FS_SM_NONE,             /* host ownership; chown failures ignored (QEMU's "none") */
    FS_SM_PASSTHROUGH,      /* guest uid/gid/mode set on the host files */
    FS_SM_MAPPED_XATTR,     /* guest uid/gid/mode kept in user.virtfs.* xattrs */
};

struct fs_export;
struct fs_node;             /* one looked-up file; owned by whoever got it */

/* What setattr changes (the FS_SET_* bits in `valid`). */
#define FS_SET_MODE  0x001
#define FS_SET_UID   0x002
#define FS_SET_GID   0x004
#define FS_SET_SIZE  0x008
#define FS_SET_ATIME 0x010      /* to now, unless FS_SET_ATIME_SET */
#define FS_SET_MTIME 0x020
#define FS_SET_CTIME 0x040
#define FS_SET_ATIME_SET 0x080
#define FS_SET_MTIME_SET 0x100

struct fs_setattr {
    uint32_t valid;
    uint32_t mode, uid, gid;
    uint64_t size;
    struct timespec atime, mtime;
};

/* Opens the export; NULL with a message in err (path missing, not a dir). */
struct fs_export *fs_local_open(const char *path, enum fs_security_model sm, bool readonly,
                                char *err, size_t errlen);
void fs_export_close(struct fs_export *e);
bool fs_export_readonly(const struct fs_export *e);

struct fs_node *fs_root(struct fs_export *e, int *err);
/* One component from dir; ".." from the root stays at the root. */
struct fs_node *fs_walk(struct fs_export *e, struct fs_node *dir, const char *name, int *err);
struct fs_node *fs_dup(struct fs_export *e, struct fs_node *n, int *err);
void fs_release(struct fs_export *e, struct fs_node *n);

int fs_getattr(struct fs_export *e, struct fs_node *n, struct stat *st);
int fs_setattr(struct fs_export *e, struct fs_node *n, const struct fs_setattr *sa);
/* A host descriptor for I/O on n (Linux open flags; no O_CREAT here). The
 * caller closes it. Returns the fd or -errno. Symlinks: -ELOOP; devices,
 * FIFOs, sockets: -EACCES. */
int fs_open(struct fs_export *e, struct fs_node *n, int flags);
/* Creates name in dir and opens it: returns the fd (or -errno) and the
 * new node in *out. */
int fs_create(struct fs_export *e, struct fs_node *dir, const char *name, int flags,
              uint32_t mode, uint32_t uid, uint32_t gid, struct fs_node **out);
int fs_mkdir(struct fs_export *e, struct fs_node *dir, const char *name, uint32_t mode,
             uint32_t uid, uint32_t gid, struct stat *st);
/* Regular files, FIFOs and sockets only: device nodes are refused (-EPERM). */
int fs_mknod(struct fs_export *e, struct fs_node *dir, const char *name, uint32_t mode,
             uint32_t uid, uint32_t gid, struct stat *st);
int fs_symlink(struct fs_export *e, struct fs_node *dir, const char *name, const char *target,
               uint32_t uid, uint32_t gid, struct stat *st);
int fs_readlink(struct fs_export *e, struct fs_node *n, char *buf, size_t len);
int fs_link(struct fs_export *e, struct fs_node *target, struct fs_node *dir, const char *name);
int fs_rename(struct fs_export *e, struct fs_node *olddir, const char *oldname,
              struct fs_node *newdir, const char *newname);
/* flags: FS_UNLINK_DIR removes a directory (AT_REMOVEDIR). */
#define FS_UNLINK_DIR 0x200
int fs_unlink(struct fs_export *e, struct fs_node *dir, const char *name, int flags);
/* The node's own name, relative to its parent (Tremove, Trename): the
 * entry is acted on only while it still is the node's inode. */
int fs_remove_node(struct fs_export *e, struct fs_node *n);
int fs_rename_node(struct fs_export *e, struct fs_node *n, struct fs_node *newdir,
                   const char *newname);
int fs_statfs(struct fs_export *e, struct fs_node *n, struct statvfs *sv);
/* A name the guest may use: one component, not "." or "..", no '/' or NUL. */
bool fs_name_ok(const char *name);

/* Extended attributes as the guest sees them (9P Txattrwalk/Txattrcreate):
 * only the user.* namespace (a guest setting security.* or trusted.* on
 * host files, e.g. file capabilities, would get a privilege the host never
 * gave); under mapped-xattr the user.virtfs.* attributes holding the guest's
 * owner and mode are invisible and untouchable, as in QEMU. Symlinks carry
 * none. get/list: size 0 asks for the length; they return the length or
 * -errno. list gives NUL-terminated names. */
#define FS_XATTR_SIZE_MAX 65536
ssize_t fs_getxattr(struct fs_export *e, struct fs_node *n, const char *name, void *buf,
                    size_t size);
ssize_t fs_listxattr(struct fs_export *e, struct fs_node *n, char *buf, size_t size);
/* flags: XATTR_CREATE / XATTR_REPLACE (0: either). */
int fs_setxattr(struct fs_export *e, struct fs_node *n, const char *name, const void *val,
                size_t size, int flags);
int fs_removexattr(struct fs_export *e, struct fs_node *n, const char *name);

/* POSIX byte-range locks on a file opened with fs_open, as open file
 * description locks (F_OFD_*): two fids conflict as two host processes
 * would, host programs locking the same file see the guest's locks, and
 * closing the fd drops them. type is F_RDLCK, F_WRLCK or F_UNLCK; len 0 is
 * "to the end". fs_lock never waits: -EAGAIN when someone holds a
 * conflicting lock. fs_getlock replaces *type with the first conflicting
 * lock's (F_UNLCK when none) and its range. */
int fs_lock(int fd, short type, uint64_t start, uint64_t len);
int fs_getlock(int fd, short *type, uint64_t *start, uint64_t *len);

#endif
