/* KVM binary statistics (accel/kvm_stats.h). Layout (linux/kvm.h):
 * struct kvm_stats_header at 0; num_desc descriptors at desc_offset, each
 * a struct kvm_stats_desc followed by name_size bytes of name; the values
 * (u64 each, desc.size of them) at data_offset + desc.offset. Every
 * offset and length comes from the kernel, but is checked as if it came
 * from a guest: a bad one ends parsing with a message. */
#include "accel/kvm_stats.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel's structures, spelt out so the parser builds (and is tested)
 * against any kernel headers. */
struct stats_header {
    uint32_t flags, name_size, num_desc, id_offset, desc_offset, data_offset;
};
struct stats_desc {
    uint32_t flags;
    int16_t exponent;
    uint16_t size;
    uint32_t offset;
    uint32_t bucket_size;
};
#define TYPE_MASK 0xfu
#define TYPE_PEAK 2u            /* cumulative 0, instant 1, peak 2; then histograms */
#define NAME_SIZE_MAX 4096u
#define NUM_DESC_MAX 65536u

int kvm_stats_parse(const uint8_t *buf, size_t len, struct kvm_stat *out, int max,
                    char *err, size_t errlen)
{
    struct stats_header h;
    if (!buf || len < sizeof(h)) {
        snprintf(err, errlen, "stats file shorter than its header (%zu bytes)", len);
        return -1;
    }
    memcpy(&h, buf, sizeof(h));
    if (h.name_size == 0 || h.name_size > NAME_SIZE_MAX) {
        snprintf(err, errlen, "bad name size %u", h.name_size);
        return -1;
    }
    if (h.num_desc > NUM_DESC_MAX) {
        snprintf(err, errlen, "too many descriptors (%u)", h.num_desc);
        return -1;
    }
    uint64_t step = sizeof(struct stats_desc) + (uint64_t)h.name_size;
    uint64_t desc_end = (uint64_t)h.desc_offset + step * h.num_desc;
    if (desc_end > len) {
        snprintf(err, errlen, "descriptors end at %llu, past the %zu bytes read",
                 (unsigned long long)desc_end, len);
        return -1;
    }
    if (h.data_offset > len) {
        snprintf(err, errlen, "data offset %u past the %zu bytes read", h.data_offset, len);
        return -1;
    }
    int n = 0;
    for (uint32_t k = 0; k < h.num_desc && n < max; k++) {
        const uint8_t *p = buf + h.desc_offset + step * k;
        struct stats_desc d;
        memcpy(&d, p, sizeof(d));
        const char *name = (const char *)p + sizeof(d);
        size_t nl = strnlen(name, h.name_size);
        if (nl == h.name_size) {
            snprintf(err, errlen, "descriptor %u: name without its NUL", k);
            return -1;
        }
        if (d.size == 0) {
            snprintf(err, errlen, "descriptor %u (%s): no values", k, name);
            return -1;
        }
        uint64_t vend = (uint64_t)h.data_offset + d.offset + 8ull * d.size;
        if (vend > len) {
            snprintf(err, errlen, "descriptor %u (%s): values end at %llu, past the %zu bytes read",
                     k, name, (unsigned long long)vend, len);
            return -1;
        }
        if ((d.flags & TYPE_MASK) > TYPE_PEAK || nl == 0 || nl >= KVM_STAT_NAME_MAX)
            continue;   /* histograms; names we would have to cut */
        memcpy(out[n].name, name, nl);
        out[n].name[nl] = 0;
        memcpy(&out[n].value, buf + h.data_offset + d.offset, 8);
        n++;
    }
    return n;
}

uint8_t *kvm_stats_read_fd(int fd, size_t *len)
{
    size_t cap = 16384;
    for (;;) {
        uint8_t *b = malloc(cap);
        if (!b)
            return NULL;
        size_t got = 0;
        while (got < cap) {
            ssize_t r = pread(fd, b + got, cap - got, (off_t)got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                free(b);
                return NULL;
            }
            if (r == 0)
                break;
            got += (size_t)r;
        }
        if (got < cap) {
            *len = got;
            return b;
        }
        free(b);
        if (cap >= (1u << 20))
            return NULL;    /* a stats file this big is not one we know */
        cap *= 2;
    }
}

void kvm_stats_snapshot(const struct kvm_stat *st, int n, struct stats_snapshot *s, bool first)
{
    /* The kernel's names (arch/x86/kvm/x86.c, kvm_vcpu_stats_desc) for
     * what tremu counts under the common names. */
    static const struct { const char *kvm; enum stat_cause c; } map[] = {
        {"exits", SC_EXITS},
        {"halt_exits", SC_HLT},
        {"irq_window_exits", SC_INTERRUPT_WINDOW},
        {"irq_injections", SC_IRQ_INJECT},
        {"nmi_injections", SC_NMI_INJECT},
        {"invlpg", SC_INVLPG},
        {"pf_taken", SC_PAGE_FAULT},
        {"tlb_flush", SC_TLB_FLUSH},
    };
    for (int i = 0; first && i < n; i++)
        for (size_t j = 0; j < sizeof(map) / sizeof(map[0]); j++)
            if (!strcmp(st[i].name, map[j].kvm))
                stats_set(s, map[j].c, 0);
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(map) / sizeof(map[0]); j++)
            if (!strcmp(st[i].name, map[j].kvm))
                stats_addc(s, map[j].c, st[i].value);
        stats_row(s, st[i].value, "kvm.stat(%s)", st[i].name);
    }
}
