/* The software CPU's optional features and Popek–Goldberg mode, set up for
 * the tcg engine (accel/tcg_pg.c). */
#ifndef ACCEL_TCG_PG_H
#define ACCEL_TCG_PG_H

struct machine;
struct cpu;

/* Engine init: the log's disassembler and pg=naive's timeout thread. */
int tcg_pg_init(struct machine *m);
/* Each vCPU: -cpu features, -accel tcg,pg=. */
int tcg_pg_vcpu(struct machine *m, struct cpu *c);
/* Before the CPUs are freed: stops the timeout, prints the summary and,
 * under pg=naive, where the guest first diverged. */
void tcg_pg_destroy(struct machine *m, struct cpu *const *cpus, int n);

#endif
