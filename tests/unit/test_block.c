/* Raw images, format probing and its block-0 restriction, and the -drive parser. */
#include "test.h"
#include "block/block.h"
#include "ui/drive.h"

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
        snprintf(tdir, sizeof(tdir), "%s/tremu-block-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tdir))
            abort();
    }
    snprintf(out, 512, "%s/%s", tdir, name);
}

static void mkraw(const char *p, size_t size, int byte)
{
    int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        abort();
    uint8_t *b = malloc(size);
    memset(b, byte, size);
    if (write(fd, b, size) != (ssize_t)size)
        abort();
    free(b);
    close(fd);
}

TEST(raw_read_write_flush)
{
    char p[512], err[256];
    path(p, "rw.raw");
    mkraw(p, 1 << 20, 0x11);
    struct block_opts o = { .format = BLOCK_FMT_RAW };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!strcmp(block_format_name(bd), "raw"));
    CHECK_EQ(block_size(bd), 1 << 20);
    uint8_t w[4096], r[4096];
    memset(w, 0x22, sizeof(w));
    CHECK_EQ(block_write(bd, 512, w, sizeof(w)), 0);
    CHECK_EQ(block_flush(bd), 0);
    CHECK_EQ(block_read(bd, 512, r, sizeof(r)), 0);
    CHECK(!memcmp(w, r, sizeof(r)));
    CHECK_EQ(block_read(bd, 0, r, 512), 0);
    CHECK_EQ(r[0], 0x11);
    CHECK_EQ(block_write(bd, (1 << 20) - 512, w, 1024), -EINVAL);
    CHECK_EQ(block_read(bd, UINT64_MAX - 100, r, 512), -EINVAL);
    CHECK_EQ(block_write_zeroes(bd, 1024, 2048), 0);
    CHECK_EQ(block_read(bd, 512, r, 4096), 0);
    CHECK(r[0] == 0x22 && r[511] == 0x22 && r[512] == 0 && r[2559] == 0 && r[2560] == 0x22);
    block_close(bd);
}

TEST(raw_discard_punches_hole)
{
    char p[512], err[256];
    path(p, "discard.raw");
    mkraw(p, 4 << 20, 0x33);
    struct block_opts o = { .format = BLOCK_FMT_RAW };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    uint64_t before = block_disk_usage(bd);
    CHECK_EQ(block_discard(bd, 1 << 20, 2 << 20), 0);
    uint64_t after = block_disk_usage(bd);
    if (after >= before)
        test_skip("filesystem cannot punch holes");
    else
        CHECK(after <= before - (1 << 20));
    CHECK_EQ(block_size(bd), 4 << 20);        /* size kept */
    block_close(bd);
}

TEST(raw_readonly_refuses_writes)
{
    char p[512], err[256];
    path(p, "ro.raw");
    mkraw(p, 65536, 0);
    chmod(p, 0444);
    struct block_opts o = { .format = BLOCK_FMT_RAW, .readonly = true };
    struct block_dev *bd = block_open(p, &o, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    CHECK(block_is_readonly(bd));
    uint8_t w[512] = {1};
    CHECK_EQ(block_write(bd, 0, w, 512), -EROFS);
    CHECK_EQ(block_discard(bd, 0, 512), -EROFS);
    CHECK_EQ(block_write_zeroes(bd, 0, 512), -EROFS);
    block_close(bd);
    chmod(p, 0644);
}

TEST(probe_raw_restricts_block0_magic)
{
    char p[512], err[256];
    path(p, "probe.raw");
    mkraw(p, 65536, 0);
    /* probing warns on stderr (QEMU's text) and restricts block 0 */
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    struct block_dev *bd = block_open(p, &(struct block_opts){0}, err, sizeof(err));
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!strcmp(block_format_name(bd), "raw"));
    uint8_t sec[512] = {0};
    memcpy(sec, "QFI\xfb\0\0\0\3", 8);
    CHECK_EQ(block_write(bd, 0, sec, 512), -EPERM);
    /* a two-step attempt: first bytes 1..7, then byte 0 */
    CHECK_EQ(block_write(bd, 1, sec + 1, 7), 0);
    uint8_t q = 'Q';
    CHECK_EQ(block_write(bd, 0, &q, 1), -EPERM);
    sec[0] = 'X';
    CHECK_EQ(block_write(bd, 0, sec, 512), 0);      /* ordinary data is fine */
    CHECK_EQ(block_write(bd, 512, "QFI\xfb\0\0\0\3", 8), 0);  /* other sectors too */
    block_close(bd);
    /* with format=raw the restriction is gone */
    bd = block_open(p, &(struct block_opts){.format = BLOCK_FMT_RAW}, err, sizeof(err));
    CHECK(bd);
    if (!bd)
        return;
    sec[0] = 'Q';
    CHECK_EQ(block_write(bd, 0, sec, 512), 0);
    block_close(bd);
}

TEST(open_missing_file_names_it)
{
    char err[256] = "";
    struct block_dev *bd = block_open("/nonexistent/disk.img", NULL, err, sizeof(err));
    CHECK(!bd);
    CHECK(strstr(err, "/nonexistent/disk.img"));
}

/* ---------------------------------------------------------------- -drive */

TEST(drive_parse_full)
{
    struct drive_config d;
    char err[256];
    CHECK_EQ(drive_parse("file=a.qcow2,if=virtio,format=qcow2,readonly=on,snapshot=off,"
                         "cache=unsafe,id=disk0,media=disk,index=2,aio=threads,discard=unmap",
                         &d, err, sizeof(err)), 0);
    CHECK(!strcmp(d.file, "a.qcow2"));
    CHECK_EQ(d.iface, DRIVE_IF_VIRTIO);
    CHECK_EQ(d.opts.format, BLOCK_FMT_QCOW2);
    CHECK(d.opts.readonly);
    CHECK(!d.opts.snapshot);
    CHECK_EQ(d.opts.cache, BLOCK_CACHE_UNSAFE);
    CHECK(!strcmp(d.id, "disk0"));
    CHECK_EQ(d.index, 2);
    CHECK_EQ(d.discard, DRIVE_DISCARD_UNMAP);
    CHECK_EQ(drive_parse("file=private.qcow2,if=virtio", &d, err, sizeof(err)), 0);
    CHECK_EQ(d.opts.format, BLOCK_FMT_PROBE);
    CHECK_EQ(d.opts.cache, BLOCK_CACHE_WRITEBACK);
    CHECK_EQ(d.index, -1);
    CHECK_EQ(drive_effective_if(&d, false), DRIVE_IF_VIRTIO);
    CHECK_EQ(drive_parse("file=x.img", &d, err, sizeof(err)), 0);
    CHECK_EQ(drive_effective_if(&d, false), DRIVE_IF_VIRTIO);
    CHECK_EQ(drive_effective_if(&d, true), DRIVE_IF_IDE);
    /* ",," is a literal comma */
    CHECK_EQ(drive_parse("file=a,,b.img,cache=none", &d, err, sizeof(err)), 0);
    CHECK(!strcmp(d.file, "a,b.img"));
    CHECK_EQ(d.opts.cache, BLOCK_CACHE_NONE);
    CHECK_EQ(drive_parse("file=c.iso,media=cdrom", &d, err, sizeof(err)), 0);
    CHECK(d.opts.readonly);
    CHECK_EQ(drive_parse("file=d.img,snapshot,readonly", &d, err, sizeof(err)), 0);
    CHECK(d.opts.readonly && d.opts.snapshot);
}

TEST(drive_parse_errors_name_the_problem)
{
    static const struct { const char *arg, *msg; } cases[] = {
        {"file=a,frob=1", "'frob'"},
        {"file=a,if=scsi", "if=scsi"},
        {"file=a,if=bogus", "'bogus'"},
        {"file=a,format=vmdk", "'vmdk'"},
        {"file=a,readonly=maybe", "'readonly'"},
        {"file=a,snapshot=2", "'snapshot'"},
        {"file=a,cache=fast", "'fast'"},
        {"file=a,media=tape", "'tape'"},
        {"file=a,index=x", "index"},
        {"file=a,index=99", "index"},
        {"file=a,aio=native", "aio=native"},
        {"file=a,discard=sometimes", "'sometimes'"},
        {"file=a,id=0bad", "id"},
        {"file=a,file=b", "twice"},
        {"if=virtio", "file="},
        {"a.img", "'a.img'"},
        {"file=a,", "trailing comma"},
        {"", "empty"},
        {"file=", "file name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct drive_config d;
        char err[256] = "";
        int r = drive_parse(cases[i].arg, &d, err, sizeof(err));
        if (r == 0)
            test_failf(__FILE__, __LINE__, "'%s' accepted", cases[i].arg);
        else if (!strstr(err, cases[i].msg))
            test_failf(__FILE__, __LINE__, "'%s': message '%s' lacks %s", cases[i].arg, err,
                       cases[i].msg);
    }
    struct drive_config d;
    char err[256];
    CHECK_EQ(drive_parse("file=a,aio=native,cache=none", &d, err, sizeof(err)), 0);
    CHECK_EQ(d.aio, DRIVE_AIO_NATIVE);
}

TEST(drive_hda_and_snapshot)
{
    struct drive_config d[2];
    char err[256];
    CHECK_EQ(drive_from_hd("disk.img", 0, &d[0], err, sizeof(err)), 0);
    CHECK(!strcmp(d[0].file, "disk.img"));
    CHECK_EQ(d[0].index, 0);
    CHECK_EQ(drive_effective_if(&d[0], false), DRIVE_IF_VIRTIO);
    CHECK_EQ(drive_parse("file=b.qcow2,if=virtio", &d[1], err, sizeof(err)), 0);
    CHECK(!d[0].opts.snapshot && !d[1].opts.snapshot);
    drive_apply_snapshot(d, 2);
    CHECK(d[0].opts.snapshot && d[1].opts.snapshot);
    CHECK(drive_from_hd("", 1, &d[0], err, sizeof(err)) < 0);
    CHECK(strstr(err, "-hdb"));
}

TEST(probe_bad_version_qcow2_is_refused_not_raw)
{
    /* QEMU probes on the magic alone: a damaged qcow2 must not become a raw
     * disk the guest can write */
    char p[512], err[256] = "";
    path(p, "badver.img");
    mkraw(p, 65536, 0);
    int fd = open(p, O_WRONLY);
    CHECK_EQ(pwrite(fd, "QFI\xfb\0\0\0\x09", 8, 0), 8);
    close(fd);
    struct block_dev *bd = block_open(p, &(struct block_opts){.flags = BLOCK_OPEN_QUIET},
                                      err, sizeof(err));
    CHECK(!bd);
    CHECK(strstr(err, "version 9"));
    block_close(bd);
}

TEST(image_locks_like_qemu)
{
    char p[512], err[512];
    path(p, "locked.raw");
    mkraw(p, 65536, 0);
    struct block_opts rw = { .format = BLOCK_FMT_RAW }, ro = { .format = BLOCK_FMT_RAW,
                                                                .readonly = true };
    struct block_dev *a = block_open(p, &rw, err, sizeof(err));
    CHECK(a);
    if (!a)
        return;
    /* a second writer or a reader is refused while a writer has it */
    struct block_dev *b = block_open(p, &rw, err, sizeof(err));
    CHECK(!b);
    CHECK(strstr(err, "Failed to get \"write\" lock"));
    b = block_open(p, &ro, err, sizeof(err));
    CHECK(!b);
    CHECK(strstr(err, "Failed to get shared \"write\" lock"));
    /* unless sharing is forced (qemu-img -U) */
    struct block_opts shared = ro;
    shared.flags = BLOCK_OPEN_FORCE_SHARE;
    b = block_open(p, &shared, err, sizeof(err));
    CHECK(b);
    block_close(b);
    block_close(a);
    /* two readers are fine, and keep a writer out */
    a = block_open(p, &ro, err, sizeof(err));
    b = block_open(p, &ro, err, sizeof(err));
    CHECK(a && b);
    struct block_dev *c = block_open(p, &rw, err, sizeof(err));
    CHECK(!c);
    block_close(a);
    block_close(b);
    c = block_open(p, &rw, err, sizeof(err));
    CHECK(c);
    block_close(c);
}
