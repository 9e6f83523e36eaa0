/* tremu-img: create, inspect, check, commit, convert and rebase disk images.
 * Messages and exit codes follow qemu-img's so scripts written for it work. */
#include "block/block.h"
#include "block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tremu-img: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tremu-img COMMAND [options]\n"
        "  create [-q] [-f fmt] [-b backing [-F backing_fmt]] [-o cluster_size=N,compat=0.10|1.1] FILE [SIZE]\n"
        "  info [-f fmt] [--output=human|json] FILE\n"
        "  check [-q] [-f fmt] [-r leaks|all] FILE\n"
        "  commit [-q] [-f fmt] [-d] FILE\n"
        "  convert [-q] [-f fmt] [-O fmt] [-o cluster_size=N] SRC DST\n"
        "  rebase [-q] [-f fmt] [-u] -b NEWBACKING [-F fmt] FILE\n"
        "  compare [-q] [-f fmt] [-F fmt] FILE1 FILE2\n"
        "SIZE takes k, M, G, T suffixes (powers of 1024).\n");
}

static enum block_format parse_fmt(const char *s)
{
    if (!s)
        return BLOCK_FMT_PROBE;
    if (!strcmp(s, "raw"))
        return BLOCK_FMT_RAW;
    if (!strcmp(s, "qcow2"))
        return BLOCK_FMT_QCOW2;
    die("Unknown file format '%s'", s);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        die("Invalid image size specified. You may use k, M, G, T, P or E suffixes for "
            "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
    double v = strtod(s, &end);
    uint64_t mul = 1;
    switch (*end) {
    case 0: break;
    case 'b': case 'B': end++; break;
    case 'k': case 'K': mul = 1ULL << 10; end++; break;
    case 'M': case 'm': mul = 1ULL << 20; end++; break;
    case 'G': case 'g': mul = 1ULL << 30; end++; break;
    case 'T': case 't': mul = 1ULL << 40; end++; break;
    case 'P': case 'p': mul = 1ULL << 50; end++; break;
    default: end = NULL;
    }
    if (!end || *end || errno || v < 0 || v * (double)mul >= 9.2e18)
        die("Invalid image size specified. You may use k, M, G, T, P or E suffixes for "
            "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
    return (uint64_t)(v * (double)mul);
}

static struct block_dev *open_img(const char *path, const char *fmt, bool ro, unsigned flags)
{
    char err[1024];
    struct block_opts o = { .format = parse_fmt(fmt), .readonly = ro, .flags = flags };
    struct block_dev *bd = block_open(path, &o, err, sizeof(err));
    if (!bd)
        die("%s", err);
    return bd;
}

/* -o cluster_size=N,compat=...,backing_file=...,backing_fmt=... */
struct create_o { unsigned cluster_bits; int version; const char *backing, *backing_fmt; };

static void parse_o(char *s, struct create_o *o)
{
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            die("Invalid option '%s'", tok);
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(tok, "cluster_size")) {
            uint64_t n = parse_size(v);
            if (n < 512 || n > (2u << 20) || (n & (n - 1)))
                die("Cluster size must be a power of two between 512 and 2048k");
            o->cluster_bits = (unsigned)__builtin_ctzll(n);
        } else if (!strcmp(tok, "compat")) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
                o->version = 2;
            else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
                o->version = 3;
            else
                die("Invalid compat version %s", v);
        } else if (!strcmp(tok, "backing_file")) {
            o->backing = v;
        } else if (!strcmp(tok, "backing_fmt")) {
            o->backing_fmt = v;
        } else if (!strcmp(tok, "refcount_bits")) {
            if (strcmp(v, "16"))
                die("refcount_bits=%s is not supported (only 16)", v);
        } else if (!strcmp(tok, "lazy_refcounts") || !strcmp(tok, "preallocation")) {
            if (strcmp(v, "off"))
                die("%s=%s is not supported", tok, v);
        } else {
            die("Invalid parameter '%s'", tok);
        }
    }
}

/* A relative backing name is relative to the overlay's directory. */
static void backing_path(const char *overlay, const char *backing, char *out, size_t n)
{
    const char *s = strrchr(overlay, '/');
    if (backing[0] == '/' || !s)
        snprintf(out, n, "%s", backing);
    else
        snprintf(out, n, "%.*s/%s", (int)(s - overlay), overlay, backing);
}

static int do_create_image(const char *file, const char *fmt, uint64_t size, struct create_o *o,
                           bool quiet)
{
    char err[1024];
    if (!strcmp(fmt, "raw")) {
        if (o->backing)
            die("Backing file not supported for file format 'raw'");
        if (!quiet)
            printf("Formatting '%s', fmt=raw size=%" PRIu64 "\n", file, size);
        /* locked first: a file in use is refused before it changes */
        int fd = block_create_file(file, err, sizeof(err));
        if (fd < 0)
            die("%s", err);
        if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0 || close(fd) < 0)
            die("%s: Could not create image: %s", file, strerror(errno));
        return 0;
    }
    if (strcmp(fmt, "qcow2"))
        die("Unknown file format '%s'", fmt);
    if (!quiet) {
        printf("Formatting '%s', fmt=qcow2 cluster_size=%u extended_l2=off compression_type=zlib "
               "size=%" PRIu64, file, 1u << (o->cluster_bits ? o->cluster_bits : 16), size);
        if (o->backing)
            printf(" backing_file=%s", o->backing);
        if (o->backing_fmt)
            printf(" backing_fmt=%s", o->backing_fmt);
        printf(" lazy_refcounts=off refcount_bits=16\n");
    }
    struct qcow2_create_opts co = { .size = size, .cluster_bits = o->cluster_bits,
                                    .backing = o->backing, .backing_fmt = o->backing_fmt,
                                    .version = o->version };
    if (qcow2_create(file, &co, err, sizeof(err)))
        die("%s", err);
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    const char *fmt = "raw";
    struct create_o o = {0};
    bool quiet = false;
    int c;
    while ((c = getopt(argc, argv, "+f:b:F:o:qhu")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': o.backing = optarg; break;
        case 'F': o.backing_fmt = optarg; break;
        case 'o': parse_o(optarg, &o); break;
        case 'q': quiet = true; break;
        case 'u': break;
        default: usage(stderr); return 1;
        }
    }
    if (optind >= argc)
        die("Expecting image file name");
    const char *file = argv[optind++];
    uint64_t size = 0;
    bool have_size = optind < argc;
    if (have_size)
        size = parse_size(argv[optind++]);
    if (optind < argc)
        die("Unexpected argument: %s", argv[optind]);
    if (o.backing && o.backing_fmt)
        parse_fmt(o.backing_fmt);
    struct stat st;
    bool exists = stat(file, &st) == 0;
    if (o.backing && (!have_size || !o.backing_fmt || exists)) {
        char path[PATH_MAX * 2];
        backing_path(file, o.backing, path, sizeof(path));
        struct block_dev *b = open_img(path, o.backing_fmt, true, BLOCK_OPEN_QUIET);
        /* the image would be its own backing file: creating it would
         * destroy the data it is meant to read through */
        const struct block_dev *same = block_chain_find_file(b, file);
        if (same)
            die("Error: Trying to create an image with the same filename as the backing "
                "file ('%s' is '%s' in the new backing chain); '%s' is left unchanged",
                file, block_filename(same), file);
        if (!have_size)
            size = block_size(b);
        static char probed[16];
        if (!o.backing_fmt) {
            snprintf(probed, sizeof(probed), "%s", block_format_name(b));
            o.backing_fmt = probed;
        }
        block_close(b);
    } else if (!have_size) {
        die("Image creation needs a size parameter");
    }
    return do_create_image(file, fmt, size, &o, quiet);
}

static void human_size(uint64_t v, char *out, size_t n)
{
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int i = 0;
    double d = (double)v;
    while (d >= 1024 && i < 6) {
        d /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, n, "%" PRIu64 " B", v);
    else
        snprintf(out, n, "%.3g %s", d, u[i]);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void info_one(const char *file, const char *fmt, bool json, unsigned share,
                     char *next, size_t nextlen, const char **next_fmt);

static int cmd_info(int argc, char **argv)
{
    const char *fmt = NULL;
    bool json = false;
    unsigned share = 0;
    static const struct option lo[] = {{"output", required_argument, 0, 'O'},
                                       {"backing-chain", no_argument, 0, 'C'}, {0, 0, 0, 0}};
    bool chain = false;
    int c;
    while ((c = getopt_long(argc, argv, "+f:hU", lo, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'C': chain = true; break;
        case 'U': share = BLOCK_OPEN_FORCE_SHARE; break;
        case 'O':
            if (!strcmp(optarg, "json")) json = true;
            else if (strcmp(optarg, "human")) die("--output must be used with human or json as argument.");
            break;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc - 1)
        die("Expecting one image file name");
    if (json && chain)
        die("--backing-chain with --output=json is not supported");
    char cur[PATH_MAX * 2];
    snprintf(cur, sizeof(cur), "%s", argv[optind]);
    /* a loop in the chain ends at the same depth limit the block layer has */
    for (int depth = 0; depth < 16; depth++) {
        if (depth)
            printf("\n");
        const char *next_fmt = NULL;
        char next[PATH_MAX * 2] = "";
        info_one(cur, fmt, json, share, next, sizeof(next), &next_fmt);
        if (!chain || !next[0])
            return 0;
        snprintf(cur, sizeof(cur), "%s", next);
        fmt = next_fmt;
    }
    die("backing chain too deep");
}

static char next_fmt_buf[32];

/* One image's information; *next gets its backing file's path ("" if none). */
static void info_one(const char *file, const char *fmt, bool json, unsigned share,
                     char *next, size_t nextlen, const char **next_fmt)
{
    struct block_dev *bd = open_img(file, fmt, true, BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_QUIET |
                                    share);
    struct qcow2_info qi;
    bool is_q = qcow2_get_info(bd, &qi) == 0;
    uint64_t vs = block_size(bd), ds = block_disk_usage(bd);
    char full[PATH_MAX * 2] = "";
    if (is_q && qi.backing[0])
        backing_path(file, qi.backing, full, sizeof(full));
    if (json) {
        printf("{\n    \"virtual-size\": %" PRIu64 ",\n    \"filename\": ", vs);
        json_str(file);
        if (is_q)
            printf(",\n    \"cluster-size\": %" PRIu64, qi.cluster_size);
        printf(",\n    \"format\": \"%s\",\n    \"actual-size\": %" PRIu64, block_format_name(bd), ds);
        if (is_q) {
            if (qi.backing[0]) {
                printf(",\n    \"backing-filename\": ");
                json_str(qi.backing);
                printf(",\n    \"full-backing-filename\": ");
                json_str(full);
                if (qi.backing_fmt[0]) {
                    printf(",\n    \"backing-filename-format\": ");
                    json_str(qi.backing_fmt);
                }
            }
            printf(",\n    \"format-specific\": {\n        \"type\": \"qcow2\",\n"
                   "        \"data\": {\n            \"compat\": \"%s\",\n"
                   "            \"lazy-refcounts\": %s,\n            \"refcount-bits\": %u,\n"
                   "            \"corrupt\": %s\n        }\n    }",
                   qi.version >= 3 ? "1.1" : "0.10", qi.lazy_refcounts ? "true" : "false",
                   qi.refcount_bits, qi.corrupt ? "true" : "false");
        }
        printf(",\n    \"dirty-flag\": %s\n}\n", is_q && qi.dirty ? "true" : "false");
    } else {
        char a[32], b[32];
        human_size(vs, a, sizeof(a));
        human_size(ds, b, sizeof(b));
        printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n",
               file, block_format_name(bd), a, vs, b);
        if (is_q) {
            printf("cluster_size: %" PRIu64 "\n", qi.cluster_size);
            if (qi.backing[0]) {
                printf("backing file: %s", qi.backing);
                if (strcmp(full, qi.backing))
                    printf(" (actual path: %s)", full);
                printf("\n");
                if (qi.backing_fmt[0])
                    printf("backing file format: %s\n", qi.backing_fmt);
            }
            printf("Format specific information:\n    compat: %s\n    compression type: zlib\n"
                   "    lazy refcounts: %s\n    refcount bits: %u\n    corrupt: %s\n"
                   "    extended l2: false\n",
                   qi.version >= 3 ? "1.1" : "0.10", qi.lazy_refcounts ? "true" : "false",
                   qi.refcount_bits, qi.corrupt ? "true" : "false");
            if (qi.dirty)
                printf("    dirty: true\n");
        }
    }
    if (is_q && qi.backing[0]) {
        snprintf(next, nextlen, "%s", full);
        snprintf(next_fmt_buf, sizeof(next_fmt_buf), "%s", qi.backing_fmt);
        *next_fmt = next_fmt_buf[0] ? next_fmt_buf : NULL;
    }
    block_close(bd);
}

static void print_check(const struct qcow2_check_result *r, bool quiet)
{
    if (quiet)
        return;
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions)
            printf("\n%" PRIu64 " errors were found on the image.\nData may be corrupted, or "
                   "further writes to the image may corrupt it.\n", r->corruptions);
        if (r->leaks)
            printf("\n%" PRIu64 " leaked clusters were found on the image.\nThis means waste of "
                   "disk space, but no harm to data.\n", r->leaks);
        if (r->check_errors)
            printf("\n%" PRIu64 " internal errors have occurred during the check.\n",
                   r->check_errors);
    }
    if (r->total_clusters && r->allocated_clusters)
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n", r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters, 0.0,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    if (r->image_end_offset)
        printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

static int check_exit(const struct qcow2_check_result *r)
{
    return r->check_errors ? 1 : r->corruptions ? 2 : r->leaks ? 3 : 0;
}

static int cmd_check(int argc, char **argv)
{
    const char *fmt = NULL;
    unsigned repair = 0, share = 0;
    bool quiet = false, json = false;
    static const struct option lo[] = {{"output", required_argument, 0, 'O'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+f:r:qhU", lo, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'U': share = BLOCK_OPEN_FORCE_SHARE; break;
        case 'O':
            if (!strcmp(optarg, "json")) json = true;
            else if (strcmp(optarg, "human")) die("--output must be used with human or json as argument.");
            break;
        case 'r':
            if (!strcmp(optarg, "leaks"))
                repair = QCOW2_REPAIR_LEAKS;
            else if (!strcmp(optarg, "all"))
                repair = QCOW2_REPAIR_LEAKS | QCOW2_REPAIR_ERRORS;
            else
                die("Invalid option for -r: '%s'. Use 'leaks' or 'all'", optarg);
            break;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc - 1)
        die("Expecting one image file name");
    const char *file = argv[optind];
    if (repair && share)
        die("cannot repair an image while sharing it (-U)");
    struct block_dev *bd = open_img(file, fmt, !repair, BLOCK_OPEN_NO_BACKING |
                                    BLOCK_OPEN_CHECK | BLOCK_OPEN_QUIET | share);
    struct qcow2_check_result r;
    if (json)
        quiet = true;
    int ret = qcow2_check(bd, repair, quiet ? NULL : stdout, &r);
    if (ret == -ENOTSUP) {
        fprintf(stderr, "tremu-img: This image format does not support checks\n");
        block_close(bd);
        return 63;
    }
    if (repair && (r.leaks_fixed || r.corruptions_fixed)) {
        if (!quiet)
            printf("The following inconsistencies were found and repaired:\n\n"
                   "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n"
                   "Double checking the fixed image now...\n",
                   r.leaks_fixed, r.corruptions_fixed);
        /* (the repairing pass already cleared the dirty/corrupt bits if it
         * left the image consistent) */
        qcow2_check(bd, 0, quiet ? NULL : stdout, &r);
    }
    if (block_flush(bd))
        r.check_errors++;
    if (json) {
        printf("{\n");
        if (r.image_end_offset)
            printf("    \"image-end-offset\": %" PRIu64 ",\n", r.image_end_offset);
        printf("    \"total-clusters\": %" PRIu64 ",\n", r.total_clusters);
        printf("    \"allocated-clusters\": %" PRIu64 ",\n", r.allocated_clusters);
        printf("    \"compressed-clusters\": %" PRIu64 ",\n", r.compressed_clusters);
        printf("    \"check-errors\": %" PRIu64 ",\n", r.check_errors);
        if (r.leaks)
            printf("    \"leaks\": %" PRIu64 ",\n", r.leaks);
        if (r.corruptions)
            printf("    \"corruptions\": %" PRIu64 ",\n", r.corruptions);
        printf("    \"filename\": ");
        json_str(file);
        printf(",\n    \"format\": \"%s\"\n}\n", block_format_name(bd));
    } else {
        print_check(&r, quiet);
    }
    block_close(bd);
    return check_exit(&r);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Copies what this layer of src holds into dst (commit), or everything
 * (convert); zero chunks are skipped when dst already reads zero there. */
#define CHUNK (1u << 20)

static int cmd_commit(int argc, char **argv)
{
    const char *fmt = NULL;
    bool quiet = false, keep = false;
    int c;
    while ((c = getopt(argc, argv, "+f:qdht:b:p")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'd': keep = true; break;
        case 't': case 'p': break;
        case 'b': die("commit -b is not supported (only into the immediate backing file)");
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc - 1)
        die("Expecting one image file name");
    const char *file = argv[optind];
    /* The top layer alone: the backing file is opened once, read-write (an
     * open of it inside the chain would hold a reader's lock against us).
     * The top is locked for writing from the start: it is emptied at the end
     * and nobody may open it in between. */
    struct block_dev *top = open_img(file, fmt, keep, BLOCK_OPEN_QUIET | BLOCK_OPEN_NO_BACKING);
    struct qcow2_info qi;
    if (qcow2_get_info(top, &qi) || !qi.backing[0])
        die("Image '%s' does not have a backing file", file);
    char bpath[PATH_MAX * 2];
    backing_path(file, qi.backing, bpath, sizeof(bpath));
    /* The one operation that writes a backing file. */
    struct block_dev *base = open_img(bpath, qi.backing_fmt[0] ? qi.backing_fmt : NULL, false,
                                      BLOCK_OPEN_QUIET);
    uint64_t size = block_size(top) < block_size(base) ? block_size(top) : block_size(base);
    if (block_size(top) > block_size(base))
        die("The overlay is larger than its backing file; resizing is not supported");
    /* Tests (block.sh): TREMU_IMG_CRASH=copy:N dies by SIGKILL after N
     * pieces reached the base; empty:N stops the overlay's N-th write as a
     * kill would. */
    const char *crash = getenv("TREMU_IMG_CRASH");
    long copy_left = crash && !strncmp(crash, "copy:", 5) ? atol(crash + 5) : -1;
    if (crash && !strncmp(crash, "empty:", 6))
        block_test_crash_at(top, atol(crash + 6));
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        die("out of memory");
    for (uint64_t off = 0; off < size;) {
        uint64_t pnum;
        uint64_t want = size - off < CHUNK ? size - off : CHUNK;
        if (copy_left >= 0 && copy_left-- == 0)
            raise(SIGKILL);
        int s = block_get_status(top, off, want, &pnum);
        if (s < 0)
            die("error reading '%s': %s", file, strerror(-s));
        int r = 0;
        if (s & BLOCK_STATUS_ZERO)
            r = block_write_zeroes(base, off, pnum);
        else if (s & BLOCK_STATUS_DATA) {
            if ((r = block_read(top, off, buf, pnum)) == 0)
                r = block_write(base, off, buf, pnum);
        }
        if (r)
            die("error while committing to '%s': %s", bpath, strerror(-r));
        off += pnum;
    }
    free(buf);
    if (block_flush(base))
        die("error flushing '%s'", bpath);
    block_close(base);
    /* Only now that the base holds everything durably does the overlay drop
     * its clusters, in place and crash-safe (never a truncate-and-recreate:
     * a kill in between would lose the overlay's header). */
    if (!keep) {
        char err[512];
        if (qcow2_make_empty(top, err, sizeof(err)) || block_flush(top))
            die("%s", err);
    }
    block_close(top);
    if (!quiet)
        printf("Image committed.\n");
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    const char *fmt = NULL, *ofmt = "raw";
    struct create_o o = {0};
    bool quiet = false, no_create = false;
    unsigned share = 0;
    int c;
    while ((c = getopt(argc, argv, "+f:O:o:qhpUnS:W")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': parse_o(optarg, &o); break;
        case 'q': quiet = true; break;
        case 'U': share = BLOCK_OPEN_FORCE_SHARE; break;
        case 'n': no_create = true; break;
        case 'p': case 'S': case 'W': break;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc - 2)
        die("Expecting a source and a destination file name");
    parse_fmt(ofmt);
    if (o.backing)
        die("convert does not create backing files");
    const char *sname = argv[optind], *dname = argv[optind + 1];
    struct block_dev *src = open_img(sname, fmt, true, BLOCK_OPEN_QUIET | share);
    uint64_t size = block_size(src);
    /* Writing the destination would destroy what we are about to read (the
     * lock would refuse it too, but not under -U, and this says why). */
    const struct block_dev *same = block_chain_find_file(src, dname);
    if (same)
        die("Destination '%s' is the same file as %s '%s': refusing to overwrite it; "
            "the image is left unchanged", dname, same == src ? "the source" :
            "a backing file of the source,", block_filename(same));
    if (!no_create)
        do_create_image(dname, ofmt, size, &o, true);
    struct block_dev *dst = open_img(dname, ofmt, false, BLOCK_OPEN_QUIET);
    if (block_size(dst) < size)
        die("Target '%s' is smaller than the source (%" PRIu64 " < %" PRIu64 " bytes)", dname,
            block_size(dst), size);
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        die("out of memory");
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        int r = block_read(src, off, buf, n);
        if (r)
            die("error while reading '%s' at offset %" PRIu64 ": %s", argv[optind], off,
                strerror(-r));
        /* sparse: the new image already reads zero, write only the rest (per 4k) */
        for (size_t i = 0; i < n;) {
            size_t m = n - i < 4096 ? n - i : 4096;
            size_t j = i;
            while (j < n && !all_zero(buf + j, n - j < 4096 ? n - j : 4096))
                j += n - j < 4096 ? n - j : 4096;
            if (j > i) {
                if ((r = block_write(dst, off + i, buf + i, j - i)))
                    die("error while writing '%s': %s", dname, strerror(-r));
                i = j;
            } else {
                /* -n: the existing target may hold anything there */
                if (no_create && (r = block_write_zeroes(dst, off + i, m)))
                    die("error while writing '%s': %s", dname, strerror(-r));
                i += m;
            }
        }
        off += n;
    }
    free(buf);
    if (block_flush(dst))
        die("error flushing '%s'", argv[optind + 1]);
    block_close(dst);
    block_close(src);
    (void)quiet;
    return 0;
}

static int cmd_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *nb = NULL, *nbfmt = NULL;
    bool unsafe = false, quiet = false, have_b = false;
    int c;
    while ((c = getopt(argc, argv, "+f:b:F:uqhpt:T:U")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': nb = optarg; have_b = true; break;
        case 'F': nbfmt = optarg; break;
        case 'u': unsafe = true; break;
        case 'q': quiet = true; break;
        case 'p': case 't': case 'T': case 'U': break;
        default: usage(stderr); return 1;
        }
    }
    if (!have_b)
        die("Must specify backing file (-b) or use '-b \"\"' to remove it");
    if (optind != argc - 1)
        die("Expecting one image file name");
    const char *file = argv[optind];
    char err[1024];
    if (nbfmt)
        parse_fmt(nbfmt);
    if (*nb && !nbfmt) {
        /* record the format, as QEMU now insists on */
        char path[PATH_MAX * 2];
        backing_path(file, nb, path, sizeof(path));
        struct block_dev *b = open_img(path, NULL, true, BLOCK_OPEN_QUIET);
        static char probed[16];
        snprintf(probed, sizeof(probed), "%s", block_format_name(b));
        nbfmt = probed;
        block_close(b);
    }
    if (unsafe) {
        if (*nb) {
            /* a loop would make the image unopenable: refuse it while the
             * new backing file can be read (-u allows it to be missing) */
            char path[PATH_MAX * 2];
            backing_path(file, nb, path, sizeof(path));
            struct block_opts so = { .format = parse_fmt(nbfmt), .readonly = true,
                                     .flags = BLOCK_OPEN_QUIET | BLOCK_OPEN_FORCE_SHARE };
            struct block_dev *b = block_open(path, &so, err, sizeof(err));
            bool loop = b && block_chain_find_file(b, file);
            block_close(b);
            if (loop)
                die("'%s' would be its own backing file: refusing the rebase", file);
        }
        struct block_dev *bd = open_img(file, fmt, false, BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_QUIET);
        if (qcow2_set_backing(bd, nb, nbfmt, err, sizeof(err)))
            die("Could not change the backing file to '%s': %s", nb, err);
        block_close(bd);
        return 0;
    }
    /* Safe rebase: every cluster the overlay does not hold and where the old
     * and new backing files differ gets the old content copied in first. */
    struct block_dev *bd = open_img(file, fmt, false, BLOCK_OPEN_QUIET);
    struct block_dev *nbd = NULL;
    if (*nb) {
        char path[PATH_MAX * 2];
        backing_path(file, nb, path, sizeof(path));
        nbd = open_img(path, nbfmt, true, BLOCK_OPEN_QUIET);
        if (block_chain_find_file(nbd, file))
            die("'%s' would be its own backing file: refusing the rebase", file);
    }
    uint64_t size = block_size(bd);
    uint8_t *a = malloc(65536), *b = malloc(65536);
    if (!a || !b)
        die("out of memory");
    for (uint64_t off = 0; off < size;) {
        uint64_t pnum, want = size - off < 65536 ? size - off : 65536;
        int s = block_get_status(bd, off, want, &pnum);
        if (s < 0)
            die("error reading '%s': %s", file, strerror(-s));
        if (!s) {
            int r = block_read(bd, off, a, pnum);     /* old backing shows through */
            memset(b, 0, pnum);
            if (!r && nbd && off < block_size(nbd)) {
                uint64_t m = block_size(nbd) - off < pnum ? block_size(nbd) - off : pnum;
                r = block_read(nbd, off, b, m);
            }
            if (!r && memcmp(a, b, pnum))
                r = block_write(bd, off, a, pnum);
            if (r)
                die("error while rebasing '%s': %s", file, strerror(-r));
        }
        off += pnum;
    }
    free(a); free(b);
    if (nbd)
        block_close(nbd);
    if (block_flush(bd) || qcow2_set_backing(bd, nb, nbfmt, err, sizeof(err)))
        die("Could not change the backing file to '%s': %s", nb, err);
    block_close(bd);
    (void)quiet;
    return 0;
}

/* compare A B: same content (a shorter image reads as zeroes past its end),
 * exit 0; different, exit 1 with the first differing offset; errors 2. */
static int cmd_compare(int argc, char **argv)
{
    const char *fa = NULL, *fb = NULL;
    unsigned share = 0;
    bool quiet = false;
    int c;
    while ((c = getopt(argc, argv, "+f:F:qUps")) != -1) {
        switch (c) {
        case 'f': fa = optarg; break;
        case 'F': fb = optarg; break;
        case 'q': quiet = true; break;
        case 'U': share = BLOCK_OPEN_FORCE_SHARE; break;
        case 'p': case 's': break;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 2)
        die("Expecting two image file names");
    char err[1024];
    struct block_opts oa = { .format = parse_fmt(fa), .readonly = true,
                             .flags = BLOCK_OPEN_QUIET | share };
    struct block_opts ob = oa;
    ob.format = parse_fmt(fb);
    struct block_dev *a = block_open(argv[optind], &oa, err, sizeof(err));
    if (!a) {
        fprintf(stderr, "tremu-img: %s\n", err);
        return 2;
    }
    struct block_dev *b = block_open(argv[optind + 1], &ob, err, sizeof(err));
    if (!b) {
        fprintf(stderr, "tremu-img: %s\n", err);
        return 2;
    }
    uint64_t sa = block_size(a), sb = block_size(b), end = sa > sb ? sa : sb;
    uint8_t *x = malloc(CHUNK), *y = malloc(CHUNK);
    if (!x || !y)
        die("out of memory");
    int ret = 0;
    for (uint64_t off = 0; off < end && !ret;) {
        size_t n = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
        memset(x, 0, n);
        memset(y, 0, n);
        int r = 0;
        if (off < sa)
            r = block_read(a, off, x, sa - off < n ? (size_t)(sa - off) : n);
        if (!r && off < sb)
            r = block_read(b, off, y, sb - off < n ? (size_t)(sb - off) : n);
        if (r) {
            fprintf(stderr, "tremu-img: error while reading at offset %" PRIu64 ": %s\n", off,
                    strerror(-r));
            ret = 2;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (x[i] != y[i]) {
                if (!quiet)
                    printf("Content mismatch at offset %" PRIu64 "!\n", off + i);
                ret = 1;
                break;
            }
        }
        off += n;
    }
    if (!ret && sa != sb && !quiet)
        printf("Warning: Image size mismatch!\n");
    if (!ret && !quiet)
        printf("Images are identical.\n");
    free(x);
    free(y);
    block_close(a);
    block_close(b);
    return ret;
}

/* Hidden, for tests: `write FILE OFFSET LEN BYTE` and `crash-writer FILE SEED`
 * (writes random data at random offsets through the block layer until killed). */
static int cmd_write(int argc, char **argv)
{
    /* -s: through a snapshot=on overlay, then read back (nothing may reach FILE) */
    bool snap = argc > 1 && !strcmp(argv[1], "-s");
    if (snap) {
        argc--;
        argv++;
    }
    if (argc != 5)
        die("usage: write [-s] FILE OFFSET LEN BYTE");
    char err[1024];
    struct block_opts o = { .snapshot = snap, .flags = BLOCK_OPEN_QUIET };
    struct block_dev *bd = block_open(argv[1], &o, err, sizeof(err));
    if (!bd)
        die("%s", err);
    uint64_t off = strtoull(argv[2], NULL, 0), len = strtoull(argv[3], NULL, 0);
    int byte = (int)strtol(argv[4], NULL, 0);
    uint8_t *buf = malloc(len ? len : 1), *back = malloc(len ? len : 1);
    if (!buf || !back)
        die("out of memory");
    memset(buf, byte < 0 ? 0 : byte, len);
    int r = byte < 0 ? block_write_zeroes(bd, off, len) : block_write(bd, off, buf, len);
    if (r)
        die("write failed: %s", strerror(-r));
    if ((r = block_read(bd, off, back, len)) || memcmp(buf, back, len))
        die("read back failed: %s", r ? strerror(-r) : "different data");
    if ((r = block_flush(bd)))
        die("flush failed: %s", strerror(-r));
    block_close(bd);
    free(buf);
    free(back);
    return 0;
}

static int cmd_crash_writer(int argc, char **argv)
{
    if (argc != 3)
        die("usage: crash-writer FILE SEED");
    struct block_dev *bd = open_img(argv[1], NULL, false, BLOCK_OPEN_QUIET);
    srand((unsigned)strtoul(argv[2], NULL, 0));
    uint64_t size = block_size(bd) / 512;
    static uint8_t buf[256 * 1024];
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        uint64_t sec = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % size;
        uint64_t n = 1 + (uint64_t)rand() % (sizeof(buf) / 512);
        if (sec + n > size)
            n = size - sec;
        for (size_t i = 0; i < n * 512; i++)
            buf[i] = (uint8_t)rand();
        int r = rand() % 8 == 0 ? block_write_zeroes(bd, sec * 512, n * 512)
                                : block_write(bd, sec * 512, buf, n * 512);
        if (r)
            die("write failed: %s", strerror(-r));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    argc--; argv++;
    if (!strcmp(cmd, "create")) return cmd_create(argc, argv);
    if (!strcmp(cmd, "info")) return cmd_info(argc, argv);
    if (!strcmp(cmd, "check")) return cmd_check(argc, argv);
    if (!strcmp(cmd, "commit")) return cmd_commit(argc, argv);
    if (!strcmp(cmd, "convert")) return cmd_convert(argc, argv);
    if (!strcmp(cmd, "rebase")) return cmd_rebase(argc, argv);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc, argv);
    if (!strcmp(cmd, "write")) return cmd_write(argc, argv);
    if (!strcmp(cmd, "crash-writer")) return cmd_crash_writer(argc, argv);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tremu-img: Command not found: %s\n", cmd);
    return 1;
}
