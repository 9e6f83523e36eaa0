/* Device writes into guest RAM (DMA), kept as page ranges until the device
 * says they are complete, so the CPU side hears about a request's buffers as
 * a few merged ranges instead of one call per segment.
 *
 * Why it matters: a software CPU that caches translated code per page must
 * drop what a DMA overwrote (guest_mem.written), and tremu's can only queue a
 * few such reports between two of its block boundaries; past that it drops
 * all translated code. A 1 MiB virtio-blk read has up to 256 one-page
 * segments: reported one by one they overflowed that queue on every request
 * (reads ran ~10x slower under tcg). Reporting more than was written (whole
 * pages, the gap between two ranges) is always safe. */
#ifndef HW_DMA_LOG_H
#define HW_DMA_LOG_H

#include <stdint.h>

#define DMA_LOG_RAW 1040        /* page ranges held before compacting */

struct dma_log {
    unsigned n;
    struct { uint64_t first, last; } r[DMA_LOG_RAW];   /* page numbers, inclusive */
};

/* Notes that [gpa, gpa+len) was written. */
void dma_log_add(struct dma_log *l, uint64_t gpa, uint64_t len);
/* Hands what was noted to written() as at most max_ranges ranges of whole
 * pages (the smallest gaps between ranges are merged in), then forgets it. */
void dma_log_flush(struct dma_log *l, unsigned max_ranges,
                   void (*written)(void *opaque, uint64_t gpa, uint64_t len), void *opaque);

#endif
