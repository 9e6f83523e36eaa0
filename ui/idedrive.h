/* -hda/-hdb/-hdc/-hdd, -cdrom and -drive if=ide: a drive_config onto the
 * PIIX3 IDE controller's four places (index = channel * 2 + unit). */
#ifndef UI_IDEDRIVE_H
#define UI_IDEDRIVE_H

#include <stddef.h>
#include "ui/drive.h"
#include "hw/pc_pci.h"

/* Opens the image and fills pc->ide[index]: the drive's index= when given
 * (0..3), else the first free place. *bd gets the open image (the caller
 * closes it at exit). 0, or -1 with err. */
int ide_drive_attach(struct pci_devices_config *pc, const struct drive_config *d,
                     struct block_dev **bd, char *err, size_t errlen);

#endif
