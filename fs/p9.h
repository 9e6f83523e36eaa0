/* A 9P2000.L server over one exported folder (fs/fs.h). It knows no
 * transport: the caller hands it one complete request message and gets one
 * reply message back (hw/virtio_9p.c does that per virtqueue element).
 *
 * Protocol: the 9P2000.L messages as Linux's net/9p client sends them
 * (Documentation/filesystems/9p.rst; the message layouts in the Linux and
 * diod sources' protocol notes). Every message is hostile: sizes, fids,
 * tags, counts and strings are checked; anything wrong gets Rlerror with an
 * errno, never a host crash. */
#ifndef FS_P9_H
#define FS_P9_H

#include <stddef.h>
#include <stdint.h>
#include "fs/fs.h"

#define P9_HDR 7                        /* size[4] type[1] tag[2] */
#define P9_MAX_MSIZE (512u * 1024)
#define P9_MIN_MSIZE 4096u
#define P9_MAX_FIDS 8192                /* each holds a host descriptor */

/* Message types (9P2000.L). */
enum {
    P9_TLERROR = 6, P9_RLERROR, P9_TSTATFS = 8, P9_RSTATFS, P9_TLOPEN = 12, P9_RLOPEN,
    P9_TLCREATE = 14, P9_RLCREATE, P9_TSYMLINK = 16, P9_RSYMLINK, P9_TMKNOD = 18, P9_RMKNOD,
    P9_TRENAME = 20, P9_RRENAME, P9_TREADLINK = 22, P9_RREADLINK, P9_TGETATTR = 24,
    P9_RGETATTR, P9_TSETATTR = 26, P9_RSETATTR, P9_TXATTRWALK = 30, P9_RXATTRWALK,
    P9_TXATTRCREATE = 32, P9_RXATTRCREATE, P9_TREADDIR = 40, P9_RREADDIR, P9_TFSYNC = 50,
    P9_RFSYNC, P9_TLOCK = 52, P9_RLOCK, P9_TGETLOCK = 54, P9_RGETLOCK, P9_TLINK = 70,
    P9_RLINK, P9_TMKDIR = 72, P9_RMKDIR, P9_TRENAMEAT = 74, P9_RRENAMEAT, P9_TUNLINKAT = 76,
    P9_RUNLINKAT, P9_TVERSION = 100, P9_RVERSION, P9_TAUTH = 102, P9_RAUTH,
    P9_TATTACH = 104, P9_RATTACH, P9_TFLUSH = 108, P9_RFLUSH, P9_TWALK = 110, P9_RWALK,
    P9_TREAD = 116, P9_RREAD, P9_TWRITE = 118, P9_RWRITE, P9_TCLUNK = 120, P9_RCLUNK,
    P9_TREMOVE = 122, P9_RREMOVE,
};

#define P9_NOTAG 0xffff
#define P9_NOFID 0xffffffffu

struct p9_server;

struct p9_server *p9_server_new(struct fs_export *e);
/* Clunks every fid (device reset, or a new Tversion). */
void p9_server_reset(struct p9_server *s);
void p9_server_free(struct p9_server *s);
/* The negotiated message size (P9_MAX_MSIZE before Tversion). */
uint32_t p9_server_msize(const struct p9_server *s);
/* Handles one request of req_len bytes; writes the reply (at most out_cap
 * bytes, which must be >= P9_HDR + 4 for an Rlerror to fit) and returns its
 * length. Never fails: a bad request gets Rlerror. */
size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *out,
                 size_t out_cap);
/* For the fuzz harness: the number of fids in use. */
unsigned p9_server_nfids(const struct p9_server *s);

#endif
