#include "hw/iomap.h"
#include "hw/stats.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void iomap_init(struct iomap *map, const char *space, struct stats *stats)
{
    memset(map, 0, sizeof(*map));
    map->space = space;
    map->stats = stats;
}

void iomap_destroy(struct iomap *map)
{
    free(map->regions);
    map->regions = NULL;
    map->count = map->cap = 0;
}

int iomap_register(struct iomap *map, uint64_t base, uint64_t len,
                   io_read_fn rd, io_write_fn wr, void *opaque, const char *name)
{
    return iomap_register_ram(map, base, len, rd, wr, opaque, name, NULL);
}

int iomap_register_ram(struct iomap *map, uint64_t base, uint64_t len, io_read_fn rd,
                       io_write_fn wr, void *opaque, const char *name, struct ram_backing *rb)
{
    if (rb && (rb->len != len || (base & 0xfff)))
        return -1;
    if (len == 0 || base + len < base)
        return -1;
    int i = 0;
    while (i < map->count && map->regions[i].base < base)
        i++;
    if (i > 0) {
        const struct io_region *p = &map->regions[i - 1];
        if (p->base + p->len > base)
            return -1;
    }
    if (i < map->count && base + len > map->regions[i].base)
        return -1;
    if (map->count == map->cap) {
        int ncap = map->cap ? map->cap * 2 : 32;
        struct io_region *n = realloc(map->regions, (size_t)ncap * sizeof(*n));
        if (!n)
            return -1;
        map->regions = n;
        map->cap = ncap;
    }
    memmove(&map->regions[i + 1], &map->regions[i], (size_t)(map->count - i) * sizeof(*map->regions));
    struct io_region *r = &map->regions[i];
    r->base = base;
    r->len = len;
    r->read = rd;
    r->write = wr;
    r->opaque = opaque;
    r->name = name;
    r->dev_id = map->stats ? stats_dev_id(map->stats, map->space, name) : -1;
    r->ram = rb;
    map->count++;
    if (rb && map->ram_notify)
        map->ram_notify(map->ram_notify_opaque, rb, base, true);
    return 0;
}

void iomap_unregister(struct iomap *map, uint64_t base)
{
    for (int i = 0; i < map->count; i++) {
        if (map->regions[i].base == base) {
            struct ram_backing *rb = map->regions[i].ram;
            memmove(&map->regions[i], &map->regions[i + 1],
                    (size_t)(map->count - i - 1) * sizeof(*map->regions));
            map->count--;
            if (rb && map->ram_notify)
                map->ram_notify(map->ram_notify_opaque, rb, base, false);
            return;
        }
    }
}

const struct io_region *iomap_find(const struct iomap *map, uint64_t addr)
{
    int lo = 0, hi = map->count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct io_region *r = &map->regions[mid];
        if (addr < r->base)
            hi = mid - 1;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
}

static void count_dev(struct iomap *map, const struct io_region *r)
{
    if (map->stats && r->dev_id >= 0)
        atomic_fetch_add_explicit(&map->stats->dev_access[r->dev_id], 1, memory_order_relaxed);
}

uint64_t iomap_read(struct iomap *map, uint64_t addr, unsigned size)
{
    const struct io_region *r = iomap_find(map, addr);
    if (!r || !r->read) {
        if (map->log_unclaimed)
            fprintf(stderr, "tremu: unclaimed %s read addr=0x%llx size=%u\n",
                    map->space, (unsigned long long)addr, size);
        if (map->stats)
            stats_count(map->stats, map->space[0] == 'p' ? STAT_UNCLAIMED_PIO : STAT_UNCLAIMED_MMIO);
        return size_mask(size);
    }
    count_dev(map, r);
    return r->read(r->opaque, addr - r->base, size) & size_mask(size);
}

void iomap_write(struct iomap *map, uint64_t addr, uint64_t val, unsigned size)
{
    const struct io_region *r = iomap_find(map, addr);
    if (!r || !r->write) {
        if (map->log_unclaimed)
            fprintf(stderr, "tremu: unclaimed %s write addr=0x%llx val=0x%llx size=%u\n",
                    map->space, (unsigned long long)addr, (unsigned long long)val, size);
        if (map->stats)
            stats_count(map->stats, map->space[0] == 'p' ? STAT_UNCLAIMED_PIO : STAT_UNCLAIMED_MMIO);
        return;
    }
    count_dev(map, r);
    r->write(r->opaque, addr - r->base, val & size_mask(size), size);
}
