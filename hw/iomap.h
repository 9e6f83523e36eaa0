/* Port-I/O and MMIO maps. One handler signature for both address spaces and
 * every engine: the tcg CPU and the KVM run loop dispatch through here. */
#ifndef HW_IOMAP_H
#define HW_IOMAP_H

#include <stdint.h>
#include <stdbool.h>

struct stats;

/* addr is the offset inside the registered range; size is 1, 2, 4 or 8. */
typedef uint64_t (*io_read_fn)(void *opaque, uint64_t addr, unsigned size);
typedef void (*io_write_fn)(void *opaque, uint64_t addr, uint64_t val, unsigned size);

struct io_region {
    uint64_t base, len;
    io_read_fn read;
    io_write_fn write;
    void *opaque;
    const char *name;
    int dev_id;          /* index into the stats table of devices */
};

struct iomap {
    struct io_region *regions;   /* sorted by base, non-overlapping */
    int count, cap;
    const char *space;           /* "pio" or "mmio", for messages */
    bool log_unclaimed;
    struct stats *stats;
};

void iomap_init(struct iomap *map, const char *space, struct stats *stats);
void iomap_destroy(struct iomap *map);
/* Returns 0, or -1 when the range overlaps an existing one (a board bug). */
int iomap_register(struct iomap *map, uint64_t base, uint64_t len,
                   io_read_fn rd, io_write_fn wr, void *opaque, const char *name);
void iomap_unregister(struct iomap *map, uint64_t base);
const struct io_region *iomap_find(const struct iomap *map, uint64_t addr);

/* Unclaimed addresses read as all-ones and ignore writes. */
uint64_t iomap_read(struct iomap *map, uint64_t addr, unsigned size);
void iomap_write(struct iomap *map, uint64_t addr, uint64_t val, unsigned size);

#endif
