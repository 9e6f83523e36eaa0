/* The code arena and the translation policy, host-independent.
 *
 * W^X: the arena is one memfd mapped twice, read-write where the backend
 * writes and read-execute where the CPU runs it, so no page is ever
 * writable and executable through the same mapping. Where a second view
 * cannot be had (no memfd), one private mapping is flipped with mprotect
 * around each write instead. The arena is flushed whole when full (QEMU's
 * policy too): every block's code pointer carries the arena generation it
 * was made in, so a flush needs no walk over the blocks. */
#include "cpu/jit/jit.h"
#include "cpu/cpu_int.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void arena_stubs(struct jit_arena *a);

/* Translated code calls the interpreter's handlers: within 2 GiB of them a
 * call is a direct rel32 (predicted, 5 bytes) rather than a load of the
 * address and an indirect call. Tries addresses below and above tremu's
 * own code; anywhere else is fine too, only slower. */
static void *map_near_text(size_t size, int prot, int flags, int fd)
{
    uintptr_t text = (uintptr_t)&jit_arena_init;
    static const int64_t offs[] = {-(1ll << 30), -(3ll << 29), (1ll << 30), -(1ll << 29), (1ll << 29)};
    for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
        uintptr_t hint = (uintptr_t)((int64_t)text + offs[k]) & ~(uintptr_t)0xffff;
#ifdef MAP_FIXED_NOREPLACE
        void *p = mmap((void *)hint, size, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
#else
        void *p = mmap((void *)hint, size, prot, flags, fd, 0);
#endif
        if (p == MAP_FAILED)
            continue;
        int64_t d1 = (int64_t)((uintptr_t)p - text), d2 = (int64_t)((uintptr_t)p + size - text);
        if (d1 > -(1ll << 31) + (1ll << 24) && d2 < (1ll << 31) - (1ll << 24))
            return p;
        munmap(p, size);
    }
    return mmap(NULL, size, prot, flags, fd, 0);
}

int jit_arena_init(struct jit_arena *a, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    size = (size + 0xffff) & ~(size_t)0xffff;
    a->size = size;
    a->gen = 1;
#ifdef MFD_CLOEXEC
    /* perf attributes JIT code through /tmp/perf-PID.map only in anonymous
     * memory: profiling runs (TREMU_PERFMAP) use the single view. */
    const char *pm = getenv("TREMU_PERFMAP");
    int fd = (pm && *pm && strcmp(pm, "0") != 0) ? -1 : memfd_create("tremu-jit", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, (off_t)size) == 0) {
        void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void *rx = map_near_text(size, PROT_READ | PROT_EXEC, MAP_SHARED, fd);
        if (rw != MAP_FAILED && rx != MAP_FAILED) {
            a->rw = rw;
            a->rx = rx;
            a->fd = fd;
            arena_stubs(a);
            return 0;
        }
        if (rw != MAP_FAILED)
            munmap(rw, size);
        if (rx != MAP_FAILED)
            munmap(rx, size);
    }
    if (fd >= 0)
        close(fd);
#endif
    void *p = map_near_text(size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (p == MAP_FAILED)
        return -1;
    a->rw = a->rx = p;
    a->wx_toggle = 1;
    arena_stubs(a);
    return 0;
}

void jit_arena_free(struct jit_arena *a)
{
    if (a->rx && a->rx != a->rw)
        munmap(a->rx, a->size);
    if (a->rw)
        munmap(a->rw, a->size);
    if (a->fd >= 0)
        close(a->fd);
    memset(a, 0, sizeof(*a));
    a->fd = -1;
}

/* (Re)writes the backend's shared code at the arena's start. */
static void arena_stubs(struct jit_arena *a)
{
    a->used = 0;
    jit_arena_begin_write(a, 0, 4096);
    size_t n = jit_backend_stubs(a, a->rw, a->rx, 4096);
    jit_arena_end_write(a, 0, 4096);
    a->used = (n + 63) & ~(size_t)63;
}

void jit_arena_flush(struct jit_arena *a)
{
    a->gen++;
    arena_stubs(a);
}

/* The single-view fallback flips only the pages being written. */
static void protect(struct jit_arena *a, size_t from, size_t len, int prot)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = from & ~(pg - 1);
    size_t end = (from + len + pg - 1) & ~(pg - 1);
    if (end > a->size)
        end = a->size;
    if (end > start)
        mprotect(a->rw + start, end - start, prot);
}

void jit_arena_begin_write(struct jit_arena *a, size_t from, size_t len)
{
    if (a->wx_toggle)
        protect(a, from, len, PROT_READ | PROT_WRITE);
}

void jit_arena_end_write(struct jit_arena *a, size_t from, size_t len)
{
    if (a->wx_toggle)
        protect(a, from, len, PROT_READ | PROT_EXEC);
    /* x86 keeps instruction fetch coherent with stores; hosts that do not
     * (arm64) need the cache maintenance the builtin does. */
    __builtin___clear_cache((char *)a->rx + from, (char *)a->rx + from + len);
}

/* TREMU_PERFMAP=1: name each translation for perf (the /tmp/perf-PID.map
 * convention perf reads for JIT code), so a profile says which guest
 * block the host time went to. */
static FILE *perf_map(void)
{
    static FILE *f;
    static int tried;
    if (!tried) {
        tried = 1;
        const char *v = getenv("TREMU_PERFMAP");
        if (v && *v && strcmp(v, "0") != 0) {
            char path[64];
            snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
            f = fopen(path, "w");
            if (f)
                setvbuf(f, NULL, _IOLBF, 0);
        }
    }
    return f;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The translated code of b, translating it now if it has run often enough;
 * NULL: run it in the interpreter. Called at a block boundary only, so no
 * translated code is on the stack when the arena is flushed. */
jit_fn jit_code_for(struct cpu *c, struct block *b)
{
    struct jit_arena *a = &c->jit_arena;
    if (likely(b->jit_gen == a->gen))
        return (jit_fn)b->jit_code;
    if (b->jit_fail)
        return NULL;
    if (++b->jit_hits < c->jit_threshold)
        return NULL;
    uint64_t t0 = now_ns();
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t room = a->size - a->used;
        if (room > JIT_MAX_BLOCK_CODE)
            room = JIT_MAX_BLOCK_CODE;
        int untranslatable = 0;
        jit_arena_begin_write(a, a->used, room);
        size_t n = jit_backend_translate(c, b, a->rw + a->used, a->rx + a->used, room, &untranslatable);
        jit_arena_end_write(a, a->used, room);
        if (untranslatable) {
            b->jit_fail = 1;
            return NULL;
        }
        if (n) {
            b->nlinks = 0;      /* links of an older generation are dead */
            b->jit_code = a->rx + a->used;
            b->jit_gen = a->gen;
            b->jit_size = (uint32_t)n;
            a->used = (a->used + n + 15) & ~(size_t)15;
            c->jit_stats.blocks++;
            c->jit_stats.bytes += n;
            c->jit_stats.ns += now_ns() - t0;
            FILE *pm = perf_map();
            if (pm)
                fprintf(pm, "%lx %zx guest_%llx_%u\n", (unsigned long)(uintptr_t)b->jit_code, n,
                        (unsigned long long)b->lin_pc, (unsigned)b->ninsn);
            if (c->trace_on && c->trace.out_asm)
                c->trace.out_asm(c->trace.opaque, b->lin_pc, (const uint8_t *)b->jit_code, (unsigned)n);
            return (jit_fn)b->jit_code;
        }
        /* Full: drop every translation (blocks notice by their stale
         * generation) and try once more in the empty arena. */
        jit_arena_flush(a);
        c->jit_stats.flushes++;
    }
    b->jit_fail = 1;        /* larger than the whole arena */
    return NULL;
}

/* ---- direct links between translations ----
 *
 * A block's exit to a constant target in its own page becomes, once the
 * target is translated, a direct jump patched into the exit (QEMU's
 * goto_tb): the same-page rule makes it valid whatever the page tables
 * say, since the source runs only while its linear page maps to its
 * physical page, which then holds the target too. The target keeps a list
 * of the jumps patched to it and restores them (to the exit's own lookup,
 * which follows the jump) when it is invalidated; records of an older
 * arena generation point into dead code and are dropped. */

static void patch_rel32(struct jit_arena *a, uint8_t *field_rx, uint8_t *target_rx)
{
    int32_t rel = (int32_t)(target_rx - (field_rx + 4));
    uint8_t *rw = a->rw + (field_rx - a->rx);
    jit_arena_begin_write(a, (size_t)(field_rx - a->rx), 4);
    __atomic_store_n((int32_t *)(void *)rw, rel, __ATOMIC_RELAXED);
    jit_arena_end_write(a, (size_t)(field_rx - a->rx), 4);
}

void *jit_link(struct cpu *c, struct block *to, uint8_t *field_rx)
{
    struct jit_arena *a = &c->jit_arena;
    uint8_t *entry = (uint8_t *)to->jit_code + JIT_CHAIN_ENTRY;
    const int xpage = ((uintptr_t)field_rx & JIT_LINK_XPAGE) != 0;
    field_rx = (uint8_t *)((uintptr_t)field_rx & ~(uintptr_t)JIT_LINK_XPAGE);
    if (xpage) {
        /* the epoch first: the jump is taken only when both are new */
        uint8_t *imm = field_rx - 1 - 2 - 4;
        jit_arena_begin_write(a, (size_t)(imm - a->rx), 4);
        memcpy(a->rw + (imm - a->rx), &c->map_epoch, 4);
        jit_arena_end_write(a, (size_t)(imm - a->rx), 4);
    }
    /* A cross-page exit is linked again after every map change, often to
     * the same block: one record per jump is enough. */
    for (unsigned k = 0; k < to->nlinks; k++)
        if (to->links[k].field == field_rx && to->links[k].gen == a->gen) {
            patch_rel32(a, field_rx, entry);
            return entry;
        }
    if (to->nlinks == to->links_cap) {
        unsigned cap = to->links_cap ? to->links_cap * 2 : 4;
        struct jit_link *l = realloc(to->links, cap * sizeof(*l));
        if (!l)
            return entry;       /* no record, no patch: the lookup keeps working */
        to->links = l;
        to->links_cap = cap;
    }
    to->links[to->nlinks].field = field_rx;
    to->links[to->nlinks].gen = a->gen;
    to->nlinks++;
    patch_rel32(a, field_rx, entry);
    c->jit_stats.links++;
    return entry;
}

void jit_unlink_block(struct cpu *c, struct block *b)
{
    struct jit_arena *a = &c->jit_arena;
    for (unsigned k = 0; k < b->nlinks; k++)
        if (b->links[k].gen == a->gen)
            patch_rel32(a, b->links[k].field, b->links[k].field + 4);
    b->nlinks = 0;
}
