/* qcow2 specifics for tools (tremu-img): create, info, check/repair, rebase.
 * Devices use block/block.h only. */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include "block/block.h"
#include <stdio.h>

struct qcow2_create_opts {
    uint64_t size;              /* bytes */
    unsigned cluster_bits;      /* 9..21; 0 = 16 */
    const char *backing;        /* NULL: none; stored as given */
    const char *backing_fmt;    /* NULL: not recorded */
    int version;                /* 2 or 3; 0 = 3 */
};
/* Creates path as an empty qcow2 image; an existing file is overwritten
 * only after block_create_file took its lock (an image in use is refused,
 * unchanged). 0 or -errno with err set. */
int qcow2_create(const char *path, const struct qcow2_create_opts *o, char *err, size_t errlen);

struct qcow2_info {
    uint32_t version;
    uint64_t cluster_size;
    unsigned refcount_bits;
    bool dirty, corrupt, lazy_refcounts;
    uint32_t nb_snapshots;
    char backing[1024];         /* as stored in the image, "" if none */
    char backing_fmt[32];       /* "" if not recorded */
};
/* -EINVAL if bd is not a qcow2 image. */
int qcow2_get_info(struct block_dev *bd, struct qcow2_info *info);

#define QCOW2_REPAIR_LEAKS 1
#define QCOW2_REPAIR_ERRORS 2
struct qcow2_check_result {
    uint64_t corruptions, leaks, check_errors;
    uint64_t corruptions_fixed, leaks_fixed;
    uint64_t allocated_clusters, total_clusters, compressed_clusters;
    uint64_t image_end_offset;
};
/* Counts references to every host cluster and compares them with the
 * refcounts (like qemu-img check); report gets one line per problem
 * (NULL: silent). With repair bits (image open read-write), fixes what it
 * can, and clears the dirty bit once the image is consistent. */
int qcow2_check(struct block_dev *bd, unsigned repair, FILE *report,
                struct qcow2_check_result *res);

/* Rewrites the backing file name/format in the header (rebase -u):
 * name NULL or "" removes the backing file. The image must be open read-write. */
int qcow2_set_backing(struct block_dev *bd, const char *name, const char *fmt,
                      char *err, size_t errlen);

/* Drops every cluster the image holds, so it reads through to its backing
 * file (commit without -d). Crash-safe: L1 entries are cleared first (each
 * one 8-byte write), the refcounts drop only once that is on disk; a kill
 * at any point leaves a valid image that reads as the old one or as its
 * backing file cluster by cluster (identical after a commit), with leaks at
 * most. The file is then shrunk to its last cluster in use. */
int qcow2_make_empty(struct block_dev *bd, char *err, size_t errlen);

#endif
