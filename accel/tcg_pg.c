/* The software CPU's teaching knobs, wired up for accel/tcg.c: optional CPU
 * features (-cpu max, +umip) and the Popek–Goldberg mode (-accel
 * tcg,pg=log|naive; cpu/pg.c does the work, docs/popek-goldberg.md says
 * what it shows). Here: the disassembler its log uses, the summary at
 * exit, and pg=naive's timeout, since a guest that went wrong may hang. */
#include "accel/tcg_pg.h"
#include "hw/machine.h"
#include "cpu/cpu.h"
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tcg_pg {
    csh cs[3];              /* 16, 32, 64-bit */
    bool cs_ok[3];
    pthread_t watchdog;
    bool watching;
    _Atomic bool stop;
    _Atomic bool timed_out;
    unsigned timeout;
    pthread_mutex_t lock;   /* capstone handles are not thread-safe */
};

static void pg_disas(void *opaque, char *out, size_t outlen, uint64_t lin,
                     const uint8_t *code, unsigned len, int bits)
{
    struct tcg_pg *p = opaque;
    int k = bits == 64 ? 2 : bits == 32 ? 1 : 0;
    if (!p->cs_ok[k])
        return;
    pthread_mutex_lock(&p->lock);
    cs_insn *insn;
    size_t n = cs_disasm(p->cs[k], code, len, lin, 1, &insn);
    if (n) {
        snprintf(out, outlen, "%s%s%s", insn[0].mnemonic, insn[0].op_str[0] ? " " : "",
                 insn[0].op_str);
        cs_free(insn, n);
    }
    pthread_mutex_unlock(&p->lock);
}

/* pg=naive: the guest usually hangs once it went wrong; end the run (pg=log
 * with pg-timeout= too). */
static void *pg_watchdog(void *arg)
{
    struct machine *m = arg;
    struct tcg_pg *p = m->accel_priv;
    uint64_t end = host_monotonic_ns() + (uint64_t)p->timeout * 1000000000ull;
    while (!atomic_load(&p->stop)) {
        if (host_monotonic_ns() >= end) {
            atomic_store(&p->timed_out, true);
            pthread_mutex_lock(&m->lock);
            machine_request(m, REQ_SHUTDOWN, 1);
            pthread_mutex_unlock(&m->lock);
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int tcg_pg_init(struct machine *m)
{
    const struct accel_config *ac = &m->cfg->accel;
    if (ac->pg == ACCEL_PG_OFF)
        return 0;
    struct tcg_pg *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    pthread_mutex_init(&p->lock, NULL);
    static const int modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
    for (int k = 0; k < 3; k++)
        p->cs_ok[k] = cs_open(CS_ARCH_X86, modes[k], &p->cs[k]) == CS_ERR_OK;
    p->timeout = ac->pg_timeout ? ac->pg_timeout : 30;
    m->accel_priv = p;
    /* pg=naive always has a timeout; pg=log only when asked (a kill signal
     * would end the run without the table). */
    if (ac->pg == ACCEL_PG_NAIVE || ac->pg_timeout) {
        if (pthread_create(&p->watchdog, NULL, pg_watchdog, m) != 0) {
            fprintf(stderr, "tremu: pg=naive: cannot start the timeout thread\n");
            return -1;
        }
        p->watching = true;
    }
    return 0;
}

int tcg_pg_vcpu(struct machine *m, struct cpu *c)
{
    const struct accel_config *ac = &m->cfg->accel;
    cpu_set_features(c, ac->cpu_features);
    struct tcg_pg *p = m->accel_priv;
    if (ac->pg == ACCEL_PG_OFF || !p)
        return 0;
    struct cpu_pg_config pc = {
        .mode = ac->pg == ACCEL_PG_NAIVE ? CPU_PG_NAIVE : CPU_PG_LOG,
        .log = m->log,
        .disas = pg_disas,
        .opaque = p,
    };
    return cpu_set_pg(c, &pc);
}

void tcg_pg_destroy(struct machine *m, struct cpu *const *cpus, int n)
{
    struct tcg_pg *p = m->accel_priv;
    if (!p)
        return;
    atomic_store(&p->stop, true);
    if (p->watching)
        pthread_join(p->watchdog, NULL);
    FILE *f = m->log ? m->log : stderr;
    cpu_pg_summary(cpus, n, f);
    if (m->cfg->accel.pg == ACCEL_PG_LOG && atomic_load(&p->timed_out))
        fprintf(stderr, "tremu: pg=log: run ended after %u s (pg-timeout)\n", p->timeout);
    if (m->cfg->accel.pg == ACCEL_PG_NAIVE) {
        char buf[512] = "";
        for (int k = 0; k < n && !buf[0]; k++)
            if (cpus[k])
                cpu_pg_divergence(cpus[k], buf, sizeof(buf));
        if (atomic_load(&p->timed_out))
            fprintf(stderr, "tremu: pg=naive: run ended after %u s (pg-timeout); %s%s\n",
                    p->timeout, buf[0] ? "the guest first diverged at " : "the guest never "
                    "got a de-privileged result", buf);
        else if (buf[0])
            fprintf(stderr, "tremu: pg=naive: the guest first diverged at %s\n", buf);
    }
    for (int k = 0; k < 3; k++)
        if (p->cs_ok[k])
            cs_close(&p->cs[k]);
    pthread_mutex_destroy(&p->lock);
    free(p);
    m->accel_priv = NULL;
}
