/* -accel parsing and the choice of engine. */
#include "accel/accel.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

const struct accel_ops *accel_by_name(const char *name)
{
    if (strcmp(name, "tcg") == 0)
        return &accel_tcg_ops;
    if (strcmp(name, "kvm") == 0)
        return &accel_kvm_ops;
    return NULL;
}

static int add_candidate(struct accel_config *cfg, const char *name, char *err, size_t errlen)
{
    if (strcmp(name, "auto") == 0) {
        cfg->is_auto = true;
        return add_candidate(cfg, "kvm", err, errlen) < 0 ? -1 : add_candidate(cfg, "tcg", err, errlen);
    }
    if (!accel_by_name(name)) {
        snprintf(err, errlen, "invalid accelerator '%s' (expected kvm, tcg or auto)", name);
        return -1;
    }
    for (int i = 0; i < cfg->count; i++)
        if (strcmp(cfg->names[i], name) == 0)
            return 0;
    if (cfg->count >= 4) {
        snprintf(err, errlen, "too many accelerators");
        return -1;
    }
    snprintf(cfg->names[cfg->count++], sizeof(cfg->names[0]), "%s", name);
    return 0;
}

static int parse_onoff(const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) { *out = true; return 0; }
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) { *out = false; return 0; }
    return -1;
}

/* A decimal number in [lo, hi]. */
static int parse_range(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || *v == '-' || n < lo || n > hi)
        return -1;
    *out = (unsigned)n;
    return 0;
}

int accel_parse(struct accel_config *cfg, const char *arg, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(arg) >= sizeof(buf)) {
        snprintf(err, errlen, "-accel argument too long");
        return -1;
    }
    strcpy(buf, arg);
    char *save = NULL;
    char *tok = strtok_r(buf, ",", &save);
    if (!tok) {
        snprintf(err, errlen, "-accel needs an accelerator name");
        return -1;
    }
    /* Legacy ":"-separated list (accel=kvm:tcg). */
    char *s2 = NULL;
    for (char *a = strtok_r(tok, ":", &s2); a; a = strtok_r(NULL, ":", &s2))
        if (add_candidate(cfg, a, err, errlen) < 0)
            return -1;
    while ((tok = strtok_r(NULL, ",", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(err, errlen, "-accel: option '%s' needs a value", tok);
            return -1;
        }
        *eq = 0;
        const char *val = eq + 1;
        bool b;
        if (!strcmp(tok, "kernel-irqchip")) {
            if (!strcmp(val, "split")) {
                snprintf(err, errlen, "-accel: kernel-irqchip=split is not supported (use on or off)");
                return -1;
            }
            if (parse_onoff(val, &b) < 0) goto badval;
            cfg->kernel_irqchip = b;
            cfg->kernel_irqchip_set = true;
        } else if (!strcmp(tok, "fallback")) {
            if (parse_onoff(val, &b) < 0) goto badval;
            cfg->fallback = b;
        } else if (!strcmp(tok, "jit")) {
            if (!strcmp(val, "verify"))
                cfg->jit = ACCEL_JIT_VERIFY;
            else if (parse_onoff(val, &b) == 0)
                cfg->jit = b ? ACCEL_JIT_ON : ACCEL_JIT_OFF;
            else {
                snprintf(err, errlen, "-accel: bad value '%s' for 'jit' (expected on, off or verify)", val);
                return -1;
            }
        } else if (!strcmp(tok, "tb-size")) {
            /* QEMU's unit: MiB of translated code. */
            if (parse_range(val, 1, 4096, &cfg->tb_size_mb) < 0) {
                snprintf(err, errlen, "-accel: bad value '%s' for 'tb-size' (MiB, 1 to 4096)", val);
                return -1;
            }
        } else if (!strcmp(tok, "pg")) {
            if (!strcmp(val, "off"))
                cfg->pg = ACCEL_PG_OFF;
            else if (!strcmp(val, "log"))
                cfg->pg = ACCEL_PG_LOG;
            else if (!strcmp(val, "naive"))
                cfg->pg = ACCEL_PG_NAIVE;
            else {
                snprintf(err, errlen, "-accel: bad value '%s' for 'pg' (expected off, log or naive)", val);
                return -1;
            }
        } else if (!strcmp(tok, "pg-timeout")) {
            if (parse_range(val, 1, 86400, &cfg->pg_timeout) < 0) {
                snprintf(err, errlen, "-accel: bad value '%s' for 'pg-timeout' (seconds, 1 to 86400)", val);
                return -1;
            }
        } else if (!strcmp(tok, "thread")) {
            /* QEMU's tcg threading knob: one thread per vCPU is what we do. */
        } else {
            snprintf(err, errlen, "-accel: unknown option '%s'", tok);
            return -1;
        }
        continue;
badval:
        snprintf(err, errlen, "-accel: bad value '%s' for '%s' (expected on or off)", val, tok);
        return -1;
    }
    return 0;
}

static const struct accel_ops *accel_select_engine(const struct accel_config *cfg, bool quiet);

const struct accel_ops *accel_select(const struct accel_config *cfg, bool quiet)
{
    const struct accel_ops *ops = accel_select_engine(cfg, quiet);
    /* The Popek–Goldberg mode is the software CPU's: hardware runs the
     * guest's ring 0 in (VMX non-root) ring 0, nothing to show there. */
    if (ops && cfg->pg != ACCEL_PG_OFF && ops != &accel_tcg_ops) {
        fprintf(stderr, "tremu: -accel ...,pg= needs the software CPU (-accel tcg), "
                        "not %s\n", ops->name);
        return NULL;
    }
    return ops;
}

static const struct accel_ops *accel_select_engine(const struct accel_config *cfg, bool quiet)
{
    char why[256];
    struct accel_config def = {0};
    if (cfg->count == 0) {
        char e[64];
        accel_parse(&def, "auto", e, sizeof(e));
        def.fallback = true;
        cfg = &def;
    }
    const char *rejected = NULL;
    char rejected_why[256] = "";
    for (int i = 0; i < cfg->count; i++) {
        const struct accel_ops *ops = accel_by_name(cfg->names[i]);
        bool last = (i == cfg->count - 1);
        why[0] = 0;
        bool ok = ops->probe(why, sizeof(why));
        /* A single explicit engine with fallback=off runs regardless of the
         * probe: the user asked for the error if there is one. */
        if (!ok && last && !cfg->is_auto && !cfg->fallback && cfg->count == 1 &&
            strcmp(ops->name, "kvm") == 0) {
            if (!quiet)
                fprintf(stderr, "tremu: accel kvm (fallback=off): probe says: %s; trying anyway\n", why);
            return ops;
        }
        if (ok) {
            if (!quiet) {
                if (rejected)
                    fprintf(stderr, "tremu: accel %s (%s unusable: %s)\n", ops->name, rejected, rejected_why);
                else
                    fprintf(stderr, "tremu: accel %s (%s)\n", ops->name, why[0] ? why : "requested");
            }
            return ops;
        }
        if (!rejected) {
            rejected = ops->name;
            snprintf(rejected_why, sizeof(rejected_why), "%s", why);
        }
    }
    /* kvm was asked for (-enable-kvm, -accel kvm): course scripts hard-code it,
     * so warn and run on the software CPU unless fallback=off. */
    if (cfg->count == 1 && strcmp(cfg->names[0], "kvm") == 0 && cfg->fallback) {
        const struct accel_ops *tcg = &accel_tcg_ops;
        if (tcg->probe(why, sizeof(why))) {
            if (!quiet)
                fprintf(stderr, "tremu: warning: kvm requested but unusable (%s); "
                                "continuing with tcg\n", rejected_why);
            return tcg;
        }
    }
    fprintf(stderr, "tremu: no usable accelerator: %s: %s\n", rejected ? rejected : "?", rejected_why);
    return NULL;
}
