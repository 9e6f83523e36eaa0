/* The binary translator's side of the software CPU (see cpu/jit/README.md).
 *
 * The JIT turns a decoded struct block into host code; it never decodes
 * guest bytes itself. exec.c owns blocks, their keys and their
 * invalidation; translated code hangs off a block and dies with it (a
 * freed block's code is simply abandoned in the arena, reclaimed when the
 * arena is flushed whole). Internal to cpu/. */
#ifndef CPU_JIT_JIT_H
#define CPU_JIT_JIT_H

#include <stddef.h>
#include <stdint.h>

struct cpu;
struct block;

/* Translated code: runs the block's instructions from c->rip (which must be
 * the block's first instruction), adds them to c->icount, and may go on
 * into the translations of the blocks that follow (chaining) until the run
 * loop has something to do. Leaves c->cur_block at the last block entered.
 * Faults longjmp out as from the interpreter, with c->cur_block and c->cur
 * naming the instruction. */
typedef void (*jit_fn)(struct cpu *c);

/* The code arena: W^X through two views of one memory object (written
 * through one, executed through the other), or mprotect when the host
 * refuses a second view. */
struct jit_arena {
    uint8_t *rw, *rx;
    size_t size, used;
    uint32_t gen;           /* bumped on every flush: older code is gone */
    int fd;
    int wx_toggle;          /* single view, made writable only while emitting */
    /* The backend's shared code at the arena's start (remade on a flush). */
    uint8_t *stub_epilogue, *stub_lookup;
};

int jit_arena_init(struct jit_arena *a, size_t size);
void jit_arena_free(struct jit_arena *a);
void jit_arena_flush(struct jit_arena *a);
/* Room for at least n bytes at the arena's end; false when full. */
static inline int jit_arena_room(const struct jit_arena *a, size_t n)
{
    return a->used + n <= a->size;
}
void jit_arena_begin_write(struct jit_arena *a, size_t from, size_t len);
/* Most host code one block may take (64 instructions with slow paths). */
#define JIT_MAX_BLOCK_CODE (128u << 10)
void jit_arena_end_write(struct jit_arena *a, size_t from, size_t len);

/* A jump patched into another block's code to enter this one. */
struct jit_link {
    uint8_t *field;         /* executable address of the jump's rel32 field */
    uint32_t gen;           /* arena generation it was made in */
};
/* Patches the jump whose rel32 field is at field_rx to enter to's code and
 * records it; returns to's chained entry. Called from translated code.
 * With JIT_LINK_XPAGE set in field_rx, the jump sits behind a compare of
 * the map epoch whose imm32 ends 3 bytes before the jump: it gets the
 * current epoch. */
#define JIT_LINK_XPAGE (1ull << 63)
void *jit_link(struct cpu *c, struct block *to, uint8_t *field_rx);
/* b is being invalidated: jumps patched to it go back to their lookups. */
void jit_unlink_block(struct cpu *c, struct block *b);

/* ---- what a host backend provides (cpu/jit/x86_64.c) ---- */

/* Offset of the entry chained jumps use (after the prologue). */
#define JIT_CHAIN_ENTRY 16

/* Whether this build has a backend for the host it runs on. */
int jit_backend_available(void);
/* Writes the arena's shared code (exits, lookup) at out; returns its size
 * (0: does not fit). */
size_t jit_backend_stubs(struct jit_arena *a, uint8_t *out, uint8_t *exec_at, size_t room);
/* Writes the code for b at out (room bytes free); returns the size, or 0
 * when it does not fit (the caller flushes the arena and retries once) or
 * the block cannot be translated (then returns 0 with *untranslatable set). */
size_t jit_backend_translate(struct cpu *c, struct block *b, uint8_t *out, uint8_t *exec_at,
                             size_t room, int *untranslatable);

#endif
