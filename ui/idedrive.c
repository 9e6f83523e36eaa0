/* IDE drives from the command line (see ui/idedrive.h). */
#include "ui/idedrive.h"
#include <stdio.h>

int ide_drive_attach(struct pci_devices_config *pc, const struct drive_config *d,
                     struct block_dev **bd, char *err, size_t errlen)
{
    int idx = d->index;
    if (idx >= IDE_DRIVES) {
        snprintf(err, errlen, "-drive %s: index=%d is out of range for IDE (0..3: "
                 "primary master, primary slave, secondary master, secondary slave)",
                 d->file, idx);
        return -1;
    }
    if (idx < 0) {
        for (idx = 0; idx < IDE_DRIVES && pc->ide[idx].present; idx++)
            ;
        if (idx == IDE_DRIVES) {
            snprintf(err, errlen, "-drive %s: all four IDE places are taken", d->file);
            return -1;
        }
    } else if (pc->ide[idx].present) {
        snprintf(err, errlen, "-drive %s: IDE index %d is already used by another drive",
                 d->file, idx);
        return -1;
    }
    char berr[512];
    *bd = block_open(d->file, &d->opts, berr, sizeof(berr));
    if (!*bd) {
        snprintf(err, errlen, "%s", berr);
        return -1;
    }
    bool cd = d->media == DRIVE_MEDIA_CDROM;
    pc_pci_disk_from_block(&pc->ide[idx].be, *bd, d->opts.readonly || cd);
    pc->ide[idx].present = true;
    pc->ide[idx].cdrom = cd;
    return 0;
}
