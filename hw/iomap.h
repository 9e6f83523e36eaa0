/* Port-I/O and MMIO maps. One handler signature for both address spaces and
 * every engine: the tcg CPU and the KVM run loop dispatch through here. */
#ifndef HW_IOMAP_H
#define HW_IOMAP_H

#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>

struct stats;

/* addr is the offset inside the registered range; size is 1, 2, 4 or 8. */
typedef uint64_t (*io_read_fn)(void *opaque, uint64_t addr, unsigned size);
typedef void (*io_write_fn)(void *opaque, uint64_t addr, uint64_t val, unsigned size);

/* Memory a device exposes as RAM (a framebuffer). An engine may map it
 * straight (the software CPU's TLB, a KVM memory slot) instead of calling
 * the region's handlers, which stay the slow path. Whoever writes marks the
 * 4 KiB page in `dirty`; the device takes the bits back with
 * machine_ram_dirty_sync (hw/machine.h), which also collects what the engine
 * saw written. */
struct ram_backing {
    uint8_t *host;              /* page-aligned */
    uint64_t len;               /* a multiple of 4096 */
    _Atomic uint64_t *dirty;    /* len / 4096 bits */
};

static inline void ram_backing_mark(struct ram_backing *rb, uint64_t off)
{
    uint64_t pg = off >> 12;
    atomic_fetch_or_explicit(&rb->dirty[pg >> 6], 1ULL << (pg & 63), memory_order_relaxed);
}

static inline bool ram_backing_test(const struct ram_backing *rb, uint64_t pg)
{
    return (atomic_load_explicit(&rb->dirty[pg >> 6], memory_order_relaxed) >> (pg & 63)) & 1;
}

struct io_region {
    uint64_t base, len;
    io_read_fn read;
    io_write_fn write;
    void *opaque;
    const char *name;
    int dev_id;          /* index into the stats table of devices */
    struct ram_backing *ram;     /* NULL: MMIO only */
};

struct iomap {
    struct io_region *regions;   /* sorted by base, non-overlapping */
    int count, cap;
    const char *space;           /* "pio" or "mmio", for messages */
    bool log_unclaimed;
    struct stats *stats;
    /* Told when a RAM-backed region (iomap_register_ram) appears or goes
     * (the board passes it on to the engine). Optional. */
    void (*ram_notify)(void *opaque, struct ram_backing *rb, uint64_t base, bool added);
    void *ram_notify_opaque;
};

void iomap_init(struct iomap *map, const char *space, struct stats *stats);
void iomap_destroy(struct iomap *map);
/* Returns 0, or -1 when the range overlaps an existing one (a board bug). */
int iomap_register(struct iomap *map, uint64_t base, uint64_t len,
                   io_read_fn rd, io_write_fn wr, void *opaque, const char *name);
/* The same for memory backed by rb (see struct ram_backing); rb->len == len. */
int iomap_register_ram(struct iomap *map, uint64_t base, uint64_t len, io_read_fn rd,
                       io_write_fn wr, void *opaque, const char *name, struct ram_backing *rb);
void iomap_unregister(struct iomap *map, uint64_t base);
const struct io_region *iomap_find(const struct iomap *map, uint64_t addr);

/* Unclaimed addresses read as all-ones and ignore writes. */
uint64_t iomap_read(struct iomap *map, uint64_t addr, unsigned size);
void iomap_write(struct iomap *map, uint64_t addr, uint64_t val, unsigned size);

#endif
