/* -fsdev, -virtfs and -device virtio-9p-pci: host folders for the guest. */
#ifndef UI_FSDEV_OPT_H
#define UI_FSDEV_OPT_H

#include <stddef.h>
#include "hw/pc_pci.h"

#define FSDEV_MAX 8

struct fsdev_cmdline {
    const char *fsdev[FSDEV_MAX];
    int nfsdev;
    const char *dev[PC_PCI_MAX_9P];     /* -device virtio-9p-pci,... */
    int ndev;
    const char *virtfs[PC_PCI_MAX_9P];
    int nvirtfs;
    struct fs_export *open[FSDEV_MAX + PC_PCI_MAX_9P];
    int nopen;
};

/* 1 taken, 0 not ours, -1 error (err set). */
int fsdev_cmdline_option(struct fsdev_cmdline *c, const char *opt, const char *arg,
                         char *err, size_t errlen);
int fsdev_cmdline_device(struct fsdev_cmdline *c, const char *arg, char *err, size_t errlen);
/* Checks everything, opens the exports, fills pci->p9[]. */
int fsdev_cmdline_finish(struct fsdev_cmdline *c, struct pci_devices_config *pci,
                         char *err, size_t errlen);
void fsdev_cmdline_close(struct fsdev_cmdline *c);

#endif
