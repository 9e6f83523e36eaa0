/* QEMU options course scripts add that tremu accepts, accepts and ignores
 * (with a one-line warning), or refuses with a reason; the `tremu -help`
 * table of all of them. */
#ifndef UI_COMPAT_OPT_H
#define UI_COMPAT_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ui/sandbox.h"

struct compat_opts {
    bool daemonize;
    bool start_paused;              /* -S */
    const char *name;
    uint32_t cpu_features;          /* -cpu max / +umip: CPU_FEAT_* (software CPU) */
    struct sandbox_opts sandbox;    /* -sandbox */
};

/* Options: 1 taken (arg consumed when takes_arg), 0 not ours, -1 error. */
int compat_option(struct compat_opts *c, const char *opt, const char *arg, char *err,
                  size_t errlen);
/* Whether opt takes an argument (for the caller's NEEDARG). */
bool compat_option_takes_arg(const char *opt);
bool compat_option_known(const char *opt);
/* -device DRIVER,...: 1 accepted and ignored (warned), 0 not ours. */
int compat_device(const char *arg);
/* The accepted / ignored / refused table for -help. */
void compat_print_help(FILE *f);
/* -daemonize: detach (fork, setsid, stdio to /dev/null). Call before any
 * thread starts. Returns 0 in the child; the parent exits 0. */
int compat_daemonize(char *err, size_t errlen);

#endif
