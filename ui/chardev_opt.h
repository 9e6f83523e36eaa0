/* The command line's character devices: -chardev, -serial, -device
 * isa-serial, -monitor, -qmp. ui/main.c hands each of these options over as
 * it meets them; chardev_cmdline_finish opens the backends (after the whole
 * line was read, as QEMU does) and fills the machine's serial ports;
 * chardev_cmdline_attach serves them from the machine's main loop. */
#ifndef UI_CHARDEV_OPT_H
#define UI_CHARDEV_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ui/chardev_be.h"
#include "hw/virtio_console.h"

struct machine;
struct machine_config;
struct monitor;

struct isa_serial_req {
    struct chardev *chr;
    int index;              /* -1: the next free one */
    uint16_t iobase;        /* 0: the index's default */
    int irq;                /* 0: the index's default */
};

#define CMDLINE_MAX_SERIAL 4
#define CMDLINE_MAX_MON 4

struct chardev_cmdline {
    struct chardev_set set;
    const char *chardev[CHARDEV_MAX];
    int nchardev;
    const char *serial[CMDLINE_MAX_SERIAL];
    int nserial;
    const char *isa_serial[CMDLINE_MAX_SERIAL];
    int nisa_serial;
    bool virtio_serial;             /* -device virtio-serial-pci seen */
    /* -device virtconsole,chardev=ID / virtserialport,chardev=ID,name=N[,nr=] */
    const char *vport[VIRTIO_CONSOLE_MAX_PORTS];
    bool vport_console[VIRTIO_CONSOLE_MAX_PORTS];
    int nvport;
    struct { const char *spec; bool qmp; bool pretty; } mon[CMDLINE_MAX_MON];
    int nmon;
    bool monitor_none;              /* -monitor none / /dev/null seen */
    /* Resolved by finish: the monitors' chardevs (the stdio mux one first). */
    struct chardev *mon_chr[CMDLINE_MAX_MON + 1];
    bool mon_qmp[CMDLINE_MAX_MON + 1], mon_pretty[CMDLINE_MAX_MON + 1];
    int nmon_chr;
    struct monitor *monitors[CMDLINE_MAX_MON + 1];
    struct chardev_watch { struct machine *m; struct chardev *chr; } watch[CMDLINE_MAX_MON + 1];
    int nmonitors;
};

/* Returns 1 when opt (with arg) is one of ours and was taken, 0 when it is
 * not ours, -1 with err set when it is ours and wrong. */
int chardev_cmdline_option(struct chardev_cmdline *c, const char *opt, const char *arg,
                           char *err, size_t errlen);
/* -device isa-serial,...: 1 taken, 0 not an isa-serial, -1 error. */
int chardev_cmdline_device(struct chardev_cmdline *c, const char *arg, char *err, size_t errlen);
/* Opens everything; fills cfg->serial[], nserial and the port overrides.
 * nographic/nodefaults/display_none decide the default serial port and
 * monitor as QEMU does. */
int chardev_cmdline_finish(struct chardev_cmdline *c, struct machine_config *cfg,
                           bool nographic, bool nodefaults, bool display_none,
                           char *err, size_t errlen);
/* After machine_init: the poll hook and the monitors. */
int chardev_cmdline_attach(struct chardev_cmdline *c, struct machine *m);
int chardev_opt_isa_serial(struct chardev_set *s, const char *arg, struct isa_serial_req *req,
                           char *err, size_t errlen);

#endif
