/* The software CPU's side of RAM-like device memory (a framebuffer BAR,
 * struct ram_backing in hw/iomap.h): its soft TLB maps the pages straight,
 * so the guest writes them at RAM speed, and the display still learns which
 * pages changed. See accel/tcg_ram.c for the protocol. */
#ifndef ACCEL_TCG_RAM_H
#define ACCEL_TCG_RAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct machine;
struct ram_backing;
struct cpu;

#define TCG_RAM_MAX 4   /* RAM-backed regions one vCPU tracks */

/* Per vCPU. */
struct tcg_ram_track {
    struct {
        struct ram_backing *rb;
        _Atomic uint64_t *wmap;     /* pages this vCPU's TLB may write directly */
    } r[TCG_RAM_MAX];
    _Atomic int n;
    _Atomic int flush_req;          /* drop write pointers at the next chance */
};

/* The bus's ram_ptr for an address that is not guest RAM: the host pointer
 * when paddr is in RAM-backed device memory, else NULL (MMIO). A write
 * pointer is handed out only for a page already marked dirty (its first
 * write after the renderer looked goes through the device's handler, which
 * marks it) and is remembered in the vCPU's wmap. vCPU thread. */
uint8_t *tcg_ram_track_ptr(struct tcg_ram_track *tr, struct machine *m, uint64_t paddr, bool write);
/* vCPU thread, between runs of the CPU: when asked, flushes the TLB and
 * moves the wmap into the regions' dirty bits. */
void tcg_ram_sync(struct tcg_ram_track *tr, struct cpu *c);
/* Renderer (any thread): ORs the pages this vCPU may have written behind
 * the device into out and asks for a flush. Returns true when the vCPU must
 * be kicked for it (it holds write pointers into rb). */
bool tcg_ram_collect(struct tcg_ram_track *tr, struct ram_backing *rb, uint64_t *out);
/* A region moved: every cached translation must go. */
void tcg_ram_request_flush(struct tcg_ram_track *tr);
void tcg_ram_free(struct tcg_ram_track *tr);

#endif
