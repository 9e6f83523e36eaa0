/* RAM-like device memory under the software CPU (see accel/tcg_ram.h).
 *
 * The soft TLB caches host pointers and never tells anyone about a write
 * through them (cpu/README.md), so dirty tracking works like QEMU's
 * "notdirty" pages, by deciding who gets a write pointer:
 *  - a page the renderer has not seen change is clean: the TLB gets no
 *    write pointer for it, so the first write takes the MMIO path to the
 *    device's handler, which stores it and marks the page dirty;
 *  - the next write finds the page dirty, gets a write pointer and runs at
 *    RAM speed; the vCPU notes the page in its wmap.
 * The renderer (machine_ram_dirty_sync) takes the dirty bits, treats every
 * wmap page as written too (the vCPU may write it at any moment) and asks
 * the vCPU to drop its write pointers. The vCPU does that between two runs
 * of the CPU (the kick ends the current block): it flushes its TLB, then
 * moves its wmap into the dirty bits, since it may have written those
 * pages after the renderer looked. A page the guest stops writing is thus
 * drawn at most twice more, then costs nothing; a page written all the
 * time is drawn every frame and written at RAM speed in between.
 * Nobody looking means nobody syncs: pages stay dirty and mapped, the fast
 * path never leaves. */
#include "accel/tcg_ram.h"
#include "hw/machine.h"
#include "cpu/cpu.h"
#include <stdlib.h>

static size_t words_of(const struct ram_backing *rb)
{
    return (size_t)((rb->len >> 12) + 63) / 64;
}

static _Atomic uint64_t *wmap_of(struct tcg_ram_track *tr, struct ram_backing *rb, bool create)
{
    int n = atomic_load(&tr->n);
    for (int i = 0; i < n; i++)
        if (tr->r[i].rb == rb)
            return tr->r[i].wmap;
    if (!create || n == TCG_RAM_MAX)
        return NULL;
    _Atomic uint64_t *w = calloc(words_of(rb), sizeof(*w));
    if (!w)
        return NULL;
    tr->r[n].rb = rb;
    tr->r[n].wmap = w;
    atomic_store(&tr->n, n + 1);        /* published after the entry */
    return w;
}

uint8_t *tcg_ram_track_ptr(struct tcg_ram_track *tr, struct machine *m, uint64_t paddr, bool write)
{
    struct ram_backing *rb;
    uint64_t off;
    uint8_t *p = machine_ram_backed(m, paddr, &rb, &off);
    if (!p || !write)
        return p;
    _Atomic uint64_t *w = wmap_of(tr, rb, true);
    if (!w)
        return NULL;                    /* untracked: every write by the handler */
    uint64_t pg = off >> 12, bit = 1ULL << (pg & 63);
    if (!(atomic_load_explicit(&w[pg >> 6], memory_order_relaxed) & bit)) {
        if (!ram_backing_test(rb, pg))
            return NULL;                /* clean: the handler marks it */
        atomic_fetch_or_explicit(&w[pg >> 6], bit, memory_order_relaxed);
    }
    return p;
}

void tcg_ram_sync(struct tcg_ram_track *tr, struct cpu *c)
{
    if (!atomic_load_explicit(&tr->flush_req, memory_order_relaxed) ||
        !atomic_exchange(&tr->flush_req, 0))
        return;
    cpu_flush_tlb(c);                   /* no write pointer survives... */
    int n = atomic_load(&tr->n);
    for (int i = 0; i < n; i++) {       /* ...so what they wrote is dirty now */
        struct ram_backing *rb = tr->r[i].rb;
        for (size_t k = 0; k < words_of(rb); k++) {
            uint64_t b = atomic_exchange_explicit(&tr->r[i].wmap[k], 0, memory_order_relaxed);
            if (b)
                atomic_fetch_or_explicit(&rb->dirty[k], b, memory_order_relaxed);
        }
    }
}

bool tcg_ram_collect(struct tcg_ram_track *tr, struct ram_backing *rb, uint64_t *out)
{
    _Atomic uint64_t *w = wmap_of(tr, rb, false);
    uint64_t any = 0;
    for (size_t k = 0; w && k < words_of(rb); k++) {
        uint64_t b = atomic_load_explicit(&w[k], memory_order_relaxed);
        out[k] |= b;
        any |= b;
    }
    if (any)
        atomic_store(&tr->flush_req, 1);
    return any != 0;
}

void tcg_ram_request_flush(struct tcg_ram_track *tr)
{
    atomic_store(&tr->flush_req, 1);
}

void tcg_ram_free(struct tcg_ram_track *tr)
{
    int n = atomic_load(&tr->n);
    for (int i = 0; i < n; i++)
        free((void *)tr->r[i].wmap);
    atomic_store(&tr->n, 0);
}
