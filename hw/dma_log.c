/* Merged reports of device writes into guest RAM (see hw/dma_log.h). */
#include "hw/dma_log.h"
#include <stdlib.h>
#include <string.h>

static int cmp_range(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts, merges overlapping and adjacent ranges, then closes the smallest
 * gaps until at most max ranges are left. */
static void compact(struct dma_log *l, unsigned max)
{
    if (l->n < 2)
        return;
    qsort(l->r, l->n, sizeof(l->r[0]), cmp_range);
    unsigned k = 0;
    for (unsigned i = 1; i < l->n; i++) {
        if (l->r[i].first <= l->r[k].last + 1) {
            if (l->r[i].last > l->r[k].last)
                l->r[k].last = l->r[i].last;
        } else {
            l->r[++k] = l->r[i];
        }
    }
    l->n = k + 1;
    if (max == 0)
        max = 1;
    while (l->n > max) {
        unsigned best = 0;
        for (unsigned i = 1; i + 1 < l->n; i++)
            if (l->r[i + 1].first - l->r[i].last < l->r[best + 1].first - l->r[best].last)
                best = i;
        l->r[best].last = l->r[best + 1].last;
        memmove(&l->r[best + 1], &l->r[best + 2], (l->n - best - 2) * sizeof(l->r[0]));
        l->n--;
    }
}

void dma_log_add(struct dma_log *l, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t first = gpa >> 12, last = (gpa + len - 1) >> 12;
    if (gpa + len - 1 < gpa)
        last = UINT64_MAX >> 12;
    /* The common case, consecutive segments of one buffer: extend in place. */
    if (l->n && first >= l->r[l->n - 1].first && first <= l->r[l->n - 1].last + 1) {
        if (last > l->r[l->n - 1].last)
            l->r[l->n - 1].last = last;
        return;
    }
    if (l->n == DMA_LOG_RAW)
        compact(l, DMA_LOG_RAW / 2);
    l->r[l->n].first = first;
    l->r[l->n].last = last;
    l->n++;
}

void dma_log_flush(struct dma_log *l, unsigned max_ranges,
                   void (*written)(void *opaque, uint64_t gpa, uint64_t len), void *opaque)
{
    if (!l->n)
        return;
    compact(l, max_ranges);
    for (unsigned i = 0; i < l->n; i++)
        written(opaque, l->r[i].first << 12, (l->r[i].last - l->r[i].first + 1) << 12);
    l->n = 0;
}
