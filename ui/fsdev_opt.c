/* -fsdev local,id=,path=,security_model=[,readonly=on], -device
 * virtio-9p-pci,fsdev=,mount_tag= and the -virtfs shorthand, as QEMU
 * spells them. */
#include "ui/fsdev_opt.h"
#include "fs/fs.h"
#include "hw/virtio_9p.h"
#include <stdio.h>
#include <string.h>

struct fsdev_parsed {
    char id[64], path[4096], tag[VIRTIO_9P_TAG_MAX], fsdev[64];
    enum fs_security_model sm;
    bool sm_set, readonly;
};

/* key=value list walk with ",," escapes; calls back per pair. */
static int each_kv(const char *s, bool first_bare, char *first, size_t firstlen,
                   int (*cb)(void *o, const char *k, const char *v, char *err, size_t errlen),
                   void *o, char *err, size_t errlen)
{
    bool at_first = true;
    while (*s) {
        char buf[4400];
        size_t l = 0;
        for (; *s; s++) {
            if (*s == ',') {
                if (s[1] == ',')
                    s++;
                else
                    break;
            }
            if (l + 1 >= sizeof(buf)) {
                snprintf(err, errlen, "option too long");
                return -1;
            }
            buf[l++] = *s;
        }
        buf[l] = 0;
        if (*s == ',')
            s++;
        char *eq = strchr(buf, '=');
        if (at_first && first_bare && !eq) {
            snprintf(first, firstlen, "%.31s", buf);
        } else {
            if (!eq) {
                snprintf(err, errlen, "'%.200s' needs a value", buf);
                return -1;
            }
            *eq = 0;
            if (cb(o, buf, eq + 1, err, errlen) < 0)
                return -1;
        }
        at_first = false;
    }
    return 0;
}

static int set_str(char *dst, size_t cap, const char *k, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "%s is too long", k);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int fsdev_kv(void *o, const char *k, const char *v, char *err, size_t errlen)
{
    struct fsdev_parsed *p = o;
    if (!strcmp(k, "id"))
        return set_str(p->id, sizeof(p->id), k, v, err, errlen);
    if (!strcmp(k, "path"))
        return set_str(p->path, sizeof(p->path), k, v, err, errlen);
    if (!strcmp(k, "mount_tag"))
        return set_str(p->tag, sizeof(p->tag), k, v, err, errlen);
    if (!strcmp(k, "security_model")) {
        p->sm_set = true;
        if (!strcmp(v, "none"))
            p->sm = FS_SM_NONE;
        else if (!strcmp(v, "passthrough"))
            p->sm = FS_SM_PASSTHROUGH;
        else if (!strcmp(v, "mapped-xattr") || !strcmp(v, "mapped"))
            p->sm = FS_SM_MAPPED_XATTR;
        else {
            snprintf(err, errlen, "invalid security_model '%s' (none, passthrough, "
                     "mapped-xattr; mapped-file is not supported)", v);
            return -1;
        }
        return 0;
    }
    if (!strcmp(k, "readonly")) {
        if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
            p->readonly = true;
        else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
            p->readonly = false;
        else {
            snprintf(err, errlen, "Parameter 'readonly' expects 'on' or 'off'");
            return -1;
        }
        return 0;
    }
    /* Accepted, with QEMU's meaning close enough here: writes are
     * synchronous anyway; modes apply to mapped files only. */
    if (!strcmp(k, "writeout") || !strcmp(k, "fmode") || !strcmp(k, "dmode") ||
        !strcmp(k, "multidevs"))
        return 0;
    snprintf(err, errlen, "Invalid parameter '%s'", k);
    return -1;
}

static int dev_kv(void *o, const char *k, const char *v, char *err, size_t errlen)
{
    struct fsdev_parsed *p = o;
    if (!strcmp(k, "fsdev"))
        return set_str(p->fsdev, sizeof(p->fsdev), k, v, err, errlen);
    if (!strcmp(k, "mount_tag"))
        return set_str(p->tag, sizeof(p->tag), k, v, err, errlen);
    if (!strcmp(k, "id") || !strcmp(k, "addr") || !strcmp(k, "bus"))
        return 0;
    snprintf(err, errlen, "Property 'virtio-9p-pci.%s' not found", k);
    return -1;
}

int fsdev_cmdline_option(struct fsdev_cmdline *c, const char *opt, const char *arg,
                         char *err, size_t errlen)
{
    if (!strcmp(opt, "-fsdev")) {
        if (c->nfsdev >= FSDEV_MAX) {
            snprintf(err, errlen, "too many -fsdev (at most %d)", FSDEV_MAX);
            return -1;
        }
        c->fsdev[c->nfsdev++] = arg;
        return 1;
    }
    if (!strcmp(opt, "-virtfs")) {
        if (c->nvirtfs + c->ndev >= PC_PCI_MAX_9P) {
            snprintf(err, errlen, "too many 9p devices (at most %d)", PC_PCI_MAX_9P);
            return -1;
        }
        c->virtfs[c->nvirtfs++] = arg;
        return 1;
    }
    return 0;
}

int fsdev_cmdline_device(struct fsdev_cmdline *c, const char *arg, char *err, size_t errlen)
{
    size_t n = strcspn(arg, ",");
    if (!((n == 13 && !strncmp(arg, "virtio-9p-pci", 13)) ||
          (n == 10 && !strncmp(arg, "virtio-9p-device", 10))))
        return 0;
    if (c->nvirtfs + c->ndev >= PC_PCI_MAX_9P) {
        snprintf(err, errlen, "too many 9p devices (at most %d)", PC_PCI_MAX_9P);
        return -1;
    }
    c->dev[c->ndev++] = arg;
    return 1;
}

static struct fs_export *open_export(struct fsdev_cmdline *c, const char *opt,
                                     struct fsdev_parsed *p, char *err, size_t errlen)
{
    if (!p->path[0]) {
        snprintf(err, errlen, "%s: fsdev: No path specified", opt);
        return NULL;
    }
    if (!p->sm_set) {
        snprintf(err, errlen, "%s: fsdev: security_model property not set (none, "
                 "passthrough or mapped-xattr)", opt);
        return NULL;
    }
    char e2[512];
    struct fs_export *e = fs_local_open(p->path, p->sm, p->readonly, e2, sizeof(e2));
    if (!e) {
        snprintf(err, errlen, "%s: %s", opt, e2);
        return NULL;
    }
    c->open[c->nopen++] = e;
    return e;
}

int fsdev_cmdline_finish(struct fsdev_cmdline *c, struct pci_devices_config *pci,
                         char *err, size_t errlen)
{
    static struct fsdev_parsed fs[FSDEV_MAX];
    struct fs_export *fe[FSDEV_MAX] = {0};
    bool used[FSDEV_MAX] = {false};
    char e2[512];
    for (int i = 0; i < c->nfsdev; i++) {
        memset(&fs[i], 0, sizeof(fs[i]));
        char driver[32] = "";
        if (each_kv(c->fsdev[i], true, driver, sizeof(driver), fsdev_kv, &fs[i], e2,
                    sizeof(e2)) < 0) {
            snprintf(err, errlen, "-fsdev %s: %s", c->fsdev[i], e2);
            return -1;
        }
        if (strcmp(driver, "local")) {
            snprintf(err, errlen, "-fsdev %s: fsdev driver '%s' is not supported (local)",
                     c->fsdev[i], driver);
            return -1;
        }
        if (!fs[i].id[0]) {
            snprintf(err, errlen, "-fsdev %s: Parameter 'id' is missing", c->fsdev[i]);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(fs[j].id, fs[i].id)) {
                snprintf(err, errlen, "-fsdev %s: Duplicate ID '%s' for fsdev", c->fsdev[i],
                         fs[i].id);
                return -1;
            }
        char opt[80];
        snprintf(opt, sizeof(opt), "-fsdev %.63s", fs[i].id);
        if (!(fe[i] = open_export(c, opt, &fs[i], err, errlen)))
            return -1;
    }
    for (int i = 0; i < c->ndev; i++) {
        struct fsdev_parsed d = {0};
        char driver[32];
        if (each_kv(c->dev[i], true, driver, sizeof(driver), dev_kv, &d, e2, sizeof(e2)) < 0) {
            snprintf(err, errlen, "-device %s: %s", c->dev[i], e2);
            return -1;
        }
        int k = -1;
        for (int j = 0; j < c->nfsdev; j++)
            if (!strcmp(fs[j].id, d.fsdev))
                k = j;
        if (k < 0) {
            snprintf(err, errlen, "-device %s: %s", c->dev[i],
                     d.fsdev[0] ? "fsdev with the given id does not exist"
                                : "9pfs device couldn't find fsdev with the id = NULL");
            return -1;
        }
        if (used[k]) {
            snprintf(err, errlen, "-device %s: fsdev '%s' is used twice", c->dev[i], d.fsdev);
            return -1;
        }
        used[k] = true;
        const char *tag = d.tag[0] ? d.tag : fs[k].tag;
        if (!tag[0]) {
            snprintf(err, errlen, "-device %s: mount_tag property not set", c->dev[i]);
            return -1;
        }
        pci->p9[pci->np9].fs = fe[k];
        snprintf(pci->p9[pci->np9].tag, sizeof(pci->p9[0].tag), "%s", tag);
        pci->np9++;
    }
    for (int i = 0; i < c->nvirtfs; i++) {
        struct fsdev_parsed v = {0};
        char driver[32] = "";
        if (each_kv(c->virtfs[i], true, driver, sizeof(driver), fsdev_kv, &v, e2,
                    sizeof(e2)) < 0) {
            snprintf(err, errlen, "-virtfs %s: %s", c->virtfs[i], e2);
            return -1;
        }
        if (strcmp(driver, "local")) {
            snprintf(err, errlen, "-virtfs %s: fsdev driver '%s' is not supported (local)",
                     c->virtfs[i], driver);
            return -1;
        }
        if (!v.tag[0]) {
            snprintf(err, errlen, "-virtfs %s: mount_tag property not set", c->virtfs[i]);
            return -1;
        }
        struct fs_export *e = open_export(c, "-virtfs", &v, err, errlen);
        if (!e)
            return -1;
        pci->p9[pci->np9].fs = e;
        snprintf(pci->p9[pci->np9].tag, sizeof(pci->p9[0].tag), "%s", v.tag);
        pci->np9++;
    }
    for (int i = 0; i < c->nfsdev; i++)
        if (!used[i])
            fprintf(stderr, "tremu: -fsdev %s: no -device virtio-9p-pci uses it\n", fs[i].id);
    return 0;
}

void fsdev_cmdline_close(struct fsdev_cmdline *c)
{
    for (int i = 0; i < c->nopen; i++)
        fs_export_close(c->open[i]);
    c->nopen = 0;
}
