/* The -drive option grammar, QEMU's: key=value[,key=value...], ",," for a
 * literal comma inside a value. */
#include "ui/drive.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void drive_defaults(struct drive_config *d)
{
    memset(d, 0, sizeof(*d));
    d->index = -1;
    d->iface = DRIVE_IF_DEFAULT;
    d->opts.format = BLOCK_FMT_PROBE;
    d->opts.cache = BLOCK_CACHE_WRITEBACK;
}

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
        return 0;
    }
    return fail(err, errlen, "-drive: parameter '%s' expects 'on' or 'off', not '%s'", key, v);
}

/* Looks v up in a NULL-terminated list; the error lists the choices. */
static int pick(const char *key, const char *v, const char *const *names, char *err, size_t errlen)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; names[i]; i++) {
        if (!strcmp(v, names[i]))
            return i;
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof(list) - used)
            used += (size_t)w;
    }
    return fail(err, errlen, "-drive: invalid value '%s' for '%s' (expected one of: %s)",
                v, key, list);
}

static int set_key(struct drive_config *d, const char *key, const char *v, unsigned *seen,
                   char *err, size_t errlen)
{
    static const char *const keys[] = {"file", "if", "format", "readonly", "snapshot", "cache",
                                       "id", "media", "index", "aio", "discard", NULL};
    int k;
    for (k = 0; keys[k]; k++)
        if (!strcmp(key, keys[k]))
            break;
    if (!keys[k])
        return fail(err, errlen, "-drive: invalid parameter '%s'", key);
    if (*seen & (1u << k))
        return fail(err, errlen, "-drive: parameter '%s' given twice", key);
    *seen |= 1u << k;
    int i;
    switch (k) {
    case 0:
        if (!*v)
            return fail(err, errlen, "-drive: file= needs a file name");
        if (strlen(v) >= sizeof(d->file))
            return fail(err, errlen, "-drive: file name too long");
        strcpy(d->file, v);
        return 0;
    case 1: {
        static const char *const n[] = {"virtio", "none", "ide", NULL};
        static const char *const other[] = {"scsi", "sd", "mtd", "floppy", "pflash", "xen", NULL};
        for (i = 0; other[i]; i++)
            if (!strcmp(v, other[i]))
                return fail(err, errlen, "-drive: interface if=%s is not supported "
                            "(virtio, ide or none)", v);
        if ((i = pick("if", v, n, err, errlen)) < 0)
            return -1;
        d->iface = i == 0 ? DRIVE_IF_VIRTIO : i == 1 ? DRIVE_IF_NONE : DRIVE_IF_IDE;
        return 0;
    }
    case 2:
        if (!strcmp(v, "raw"))
            d->opts.format = BLOCK_FMT_RAW;
        else if (!strcmp(v, "qcow2"))
            d->opts.format = BLOCK_FMT_QCOW2;
        else
            return fail(err, errlen, "-drive: format '%s' is not supported (raw or qcow2)", v);
        return 0;
    case 3:
        return parse_bool(key, v, &d->opts.readonly, err, errlen);
    case 4:
        return parse_bool(key, v, &d->opts.snapshot, err, errlen);
    case 5: {
        static const char *const n[] = {"writeback", "none", "writethrough", "directsync",
                                        "unsafe", NULL};
        static const enum block_cache m[] = {BLOCK_CACHE_WRITEBACK, BLOCK_CACHE_NONE,
                                             BLOCK_CACHE_WRITETHROUGH, BLOCK_CACHE_DIRECTSYNC,
                                             BLOCK_CACHE_UNSAFE};
        if ((i = pick("cache", v, n, err, errlen)) < 0)
            return -1;
        d->opts.cache = m[i];
        return 0;
    }
    case 6:
        if (!*v || strlen(v) >= sizeof(d->id))
            return fail(err, errlen, "-drive: id '%s' is empty or too long", v);
        /* QEMU ids: a letter, then letters, digits, '-', '.', '_' */
        for (const char *p = v; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (p != v && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))))
                return fail(err, errlen, "-drive: invalid id '%s' (a letter, then letters, "
                            "digits, '-', '.', '_')", v);
        strcpy(d->id, v);
        return 0;
    case 7: {
        static const char *const n[] = {"disk", "cdrom", NULL};
        if ((i = pick("media", v, n, err, errlen)) < 0)
            return -1;
        d->media = i ? DRIVE_MEDIA_CDROM : DRIVE_MEDIA_DISK;
        return 0;
    }
    case 8: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (!*v || *end || errno || n < 0 || n > DRIVE_MAX_INDEX)
            return fail(err, errlen, "-drive: invalid index '%s' (0..%d)", v, DRIVE_MAX_INDEX);
        d->index = (int)n;
        return 0;
    }
    case 9: {
        static const char *const n[] = {"threads", "native", "io_uring", NULL};
        if ((i = pick("aio", v, n, err, errlen)) < 0)
            return -1;
        d->aio = (enum drive_aio)i;
        return 0;
    }
    case 10: {
        static const char *const n[] = {"ignore", "off", "unmap", "on", NULL};
        if ((i = pick("discard", v, n, err, errlen)) < 0)
            return -1;
        d->discard = i >= 2 ? DRIVE_DISCARD_UNMAP : DRIVE_DISCARD_IGNORE;
        return 0;
    }
    }
    return fail(err, errlen, "-drive: invalid parameter '%s'", key);
}

int drive_parse(const char *arg, struct drive_config *out, char *err, size_t errlen)
{
    struct drive_config d;
    drive_defaults(&d);
    if (!arg || !*arg)
        return fail(err, errlen, "-drive: empty argument");
    size_t n = strlen(arg);
    char *key = malloc(n + 1), *val = malloc(n + 1);
    if (!key || !val) {
        free(key); free(val);
        return fail(err, errlen, "out of memory");
    }
    unsigned seen = 0;
    int r = 0;
    const char *p = arg;
    while (*p && !r) {
        size_t kl = 0, vl = 0;
        while (*p && *p != '=' && *p != ',')
            key[kl++] = *p++;
        key[kl] = 0;
        if (*p != '=') {
            /* QEMU's short form for booleans: "readonly" means readonly=on */
            if (!strcmp(key, "readonly") || !strcmp(key, "snapshot")) {
                r = set_key(&d, key, "on", &seen, err, errlen);
                if (*p == ',')
                    p++;
                continue;
            }
            r = kl ? fail(err, errlen, "-drive: parameter '%s' needs a value (%s=...)", key, key)
                   : fail(err, errlen, "-drive: empty parameter in '%s'", arg);
            break;
        }
        p++;
        for (;;) {
            if (*p == ',' && p[1] == ',') {
                val[vl++] = ',';
                p += 2;
            } else if (*p == ',' || !*p) {
                break;
            } else {
                val[vl++] = *p++;
            }
        }
        val[vl] = 0;
        r = set_key(&d, key, val, &seen, err, errlen);
        if (*p == ',') {
            p++;
            if (!*p && !r)
                r = fail(err, errlen, "-drive: trailing comma in '%s'", arg);
        }
    }
    free(key);
    free(val);
    if (r)
        return r;
    if (!d.file[0])
        return fail(err, errlen, "-drive: file= is required (no empty drives)");
    if (d.media == DRIVE_MEDIA_CDROM)
        d.opts.readonly = true;
    if (d.aio == DRIVE_AIO_NATIVE && d.opts.cache != BLOCK_CACHE_NONE &&
        d.opts.cache != BLOCK_CACHE_DIRECTSYNC)
        return fail(err, errlen, "-drive: aio=native was specified, but it requires "
                    "cache=none or cache=directsync");
    *out = d;
    return 0;
}

int drive_from_hd(const char *file, int index, struct drive_config *out, char *err, size_t errlen)
{
    if (!file || !*file)
        return fail(err, errlen, "-hd%c needs a file name", 'a' + (index & 3));
    if (index < 0 || index > 3)
        return fail(err, errlen, "-hd: index %d out of range", index);
    if (strlen(file) >= sizeof(out->file))
        return fail(err, errlen, "-hd%c: file name too long", 'a' + index);
    drive_defaults(out);
    strcpy(out->file, file);
    out->index = index;
    return 0;
}

void drive_apply_snapshot(struct drive_config *drives, size_t n)
{
    for (size_t i = 0; i < n; i++)
        drives[i].opts.snapshot = true;
}

enum drive_if drive_effective_if(const struct drive_config *d, bool have_ide)
{
    if (d->iface != DRIVE_IF_DEFAULT)
        return d->iface;
    return have_ide ? DRIVE_IF_IDE : DRIVE_IF_VIRTIO;
}
