/* -sandbox on|off[,obsolete=][,elevateprivileges=][,spawn=][,resourcecontrol=]:
 * a seccomp filter installed once the machine is set up, before the guest
 * runs (docs/threat-model.md). What it allows is the system calls tremu's
 * threads make on every path (vCPU, I/O threads, slirp, VNC/SDL, 9p,
 * chardevs, monitor); exec, ptrace, mount, module loading and the like end
 * the process, anything else unknown fails with EPERM. */
#ifndef UI_SANDBOX_H
#define UI_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct sandbox_opts {
    bool on;
    /* QEMU's groups, true = allow (QEMU's default for each is deny once
     * the sandbox is on). */
    bool obsolete, elevate, spawn, resource;
};

/* Parses the -sandbox argument; 0 or -1 with err set. */
int sandbox_parse(struct sandbox_opts *o, const char *arg, char *err, size_t errlen);
/* Installs the filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC)
 * when o->on; 0, or -1 with err set (kernel without seccomp filters). */
int sandbox_install(const struct sandbox_opts *o, char *err, size_t errlen);

#endif
