/* The VGA framebuffer as RAM-like memory: the software CPU writes it
 * through its soft TLB (a handful of MMIO exits, not one per store) and the
 * renderer still learns exactly which pages changed (accel/tcg_ram.c);
 * KVM's dirty log is merged by a pure function, tested on made-up logs
 * (no /dev/kvm needed). */
#include "test.h"
#include "accel/accel.h"
#include "accel/kvm.h"
#include "hw/machine.h"
#include "hw/pci.h"
#include "hw/vga.h"
#include <string.h>

/* ---- KVM_GET_DIRTY_LOG merge ---- */

TEST(kvm_dirty_log_merge_ors_and_counts)
{
    uint64_t out[2] = {0x1, 0};
    const uint64_t log[2] = {0x8000000000000006ULL, 0x5};
    CHECK_EQ(kvm_dirty_log_merge(out, log, 128), 5);
    CHECK_EQ(out[0], 0x8000000000000007ULL);
    CHECK_EQ(out[1], 0x5);
}

TEST(kvm_dirty_log_merge_ignores_bits_past_the_slot)
{
    /* A 70-page slot: the kernel's last word may carry garbage above bit 5. */
    uint64_t out[2] = {0, 0};
    const uint64_t log[2] = {0, ~0ULL};
    CHECK_EQ(kvm_dirty_log_merge(out, log, 70), 6);
    CHECK_EQ(out[1], 0x3f);
    uint64_t o1 = 0;
    const uint64_t l1 = ~0ULL;
    CHECK_EQ(kvm_dirty_log_merge(&o1, &l1, 64), 64);     /* a full word stays whole */
    CHECK_EQ(o1, ~0ULL);
}

TEST(kvm_dirty_log_merge_empty_log_changes_nothing)
{
    uint64_t out[4] = {1, 2, 3, 4};
    const uint64_t log[4] = {0, 0, 0, 0};
    CHECK_EQ(kvm_dirty_log_merge(out, log, 256), 0);
    CHECK_EQ(out[0], 1);
    CHECK_EQ(out[3], 4);
}

/* ---- the software CPU writing the framebuffer ---- */

struct fbfix {
    struct machine_config cfg;
    struct machine m;
    struct irq isa[16];
    struct pci_bus *bus;
    struct vga *v;
    uint64_t lfb;
    uint64_t seen[VGA_VRAM_SIZE / 4096 / 64];   /* what the last update redrew */
};

static void noirq(void *o, int n, int level) { (void)o; (void)n; (void)level; }

static void capture(void *opaque, struct ram_backing *rb, uint64_t *out)
{
    struct fbfix *f = opaque;
    machine_ram_dirty_sync(&f->m, rb, out);
    memcpy(f->seen, out, sizeof(f->seen));
}

static int fb_setup(struct fbfix *f)
{
    memset(f, 0, sizeof(*f));
    f->cfg.ram_size = 1 << 20;
    f->cfg.smp = 1;
    if (machine_init(&f->m, &f->cfg, &accel_tcg_ops) < 0 || accel_tcg_ops.init(&f->m) < 0)
        return -1;
    for (int i = 0; i < 16; i++)
        irq_init(&f->isa[i], noirq, f, i);
    f->bus = pci_bus_create(&f->m.pio, &f->m.mmio, f->isa, 0x40000000, 0xfec00000);
    f->v = f->bus ? vga_create(&f->m.pio, &f->m.mmio, f->bus, 2, NULL, 0) : NULL;
    if (!f->v)
        return -1;
    vga_set_dirty_sync(f->v, capture, f);
    f->lfb = pci_config_read(f->bus->dev[PCI_DEVFN(2, 0)], PCI_BAR0, 4) & ~0xfULL;
    struct vcpu *v = &f->m.vcpu[0];
    v->m = &f->m;
    pthread_mutex_init(&v->halt_lock, NULL);
    pthread_cond_init(&v->halt_cond, NULL);
    f->m.nvcpus = 1;
    return accel_tcg_ops.vcpu_init(v);
}

static void fb_teardown(struct fbfix *f)
{
    accel_tcg_ops.destroy(&f->m);
    f->m.accel = NULL;
    vga_free(f->v);
    pci_bus_free(f->bus);
    machine_destroy(&f->m);
}

/* Runs the code at rip (flat 32-bit) to its CLI; HLT. */
static enum vcpu_exit fb_run(struct fbfix *f, uint32_t rip)
{
    struct x86_state st;
    x86_state_flat32(&st, 0x10, 0x18);
    st.rip = rip;
    accel_tcg_ops.set_state(&f->m.vcpu[0], &st);
    enum vcpu_exit e;
    while ((e = accel_tcg_ops.vcpu_run(&f->m.vcpu[0])) == VCPU_EXIT_KICK)
        ;
    return e;
}

static int seen_pages(const struct fbfix *f, int *first)
{
    int n = 0;
    *first = -1;
    for (int pg = 0; pg < (int)(VGA_VRAM_SIZE / 4096); pg++)
        if ((f->seen[pg >> 6] >> (pg & 63)) & 1) {
            if (*first < 0)
                *first = pg;
            n++;
        }
    return n;
}

static bool seen(const struct fbfix *f, int pg)
{
    return (f->seen[pg >> 6] >> (pg & 63)) & 1;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

TEST(vga_lfb_written_at_ram_speed_and_tracked_by_page)
{
    struct fbfix f;
    if (fb_setup(&f) < 0) {
        test_fail(__FILE__, __LINE__, "machine/VGA setup");
        return;
    }
    CHECK(f.lfb >= 0x40000000);
    uint32_t lfb = (uint32_t)f.lfb;
    /* 0x1000: mov edi, LFB+0x5000; mov ecx, 1024; mov eax, 0x00ff00ff;
     *         rep stosd; mov edi, LFB+0x9000; mov ecx, 1000;
     *     1:  mov [edi], eax; inc eax; dec ecx; jnz 1b; cli; hlt
     * 0x2000: mov eax, 0xabcdef01; mov edi, LFB+0x7000; mov [edi], eax;
 *         mov [edi+4], eax; cli; hlt
     * 0x3000: cli; hlt */
    uint8_t p1[] = {0xbf, 0, 0, 0, 0, 0xb9, 0x00, 0x04, 0, 0, 0xb8, 0xff, 0x00, 0xff, 0x00,
                    0xf3, 0xab, 0xbf, 0, 0, 0, 0, 0xb9, 0xe8, 0x03, 0, 0,
                    0x89, 0x07, 0x40, 0x49, 0x75, 0xfa, 0xfa, 0xf4};
    put32(p1 + 1, lfb + 0x5000);
    put32(p1 + 18, lfb + 0x9000);
    uint8_t p2[] = {0xb8, 0x01, 0xef, 0xcd, 0xab, 0xbf, 0, 0, 0, 0,
                    0x89, 0x07, 0x89, 0x47, 0x04, 0xfa, 0xf4};
    put32(p2 + 6, lfb + 0x7000);
    memcpy(f.m.ram + 0x1000, p1, sizeof(p1));
    memcpy(f.m.ram + 0x2000, p2, sizeof(p2));
    f.m.ram[0x3000] = 0xfa;
    f.m.ram[0x3001] = 0xf4;
    int first;
    vga_update(f.v, NULL, NULL);                /* the reset's everything-dirty */
    CHECK_EQ(seen_pages(&f, &first), (int)(VGA_VRAM_SIZE / 4096));
    vga_update(f.v, NULL, NULL);
    CHECK_EQ(seen_pages(&f, &first), 0);

    uint64_t w0 = atomic_load(&f.m.stats.event[STAT_MMIO_WRITE]);
    CHECK_EQ(fb_run(&f, 0x1000), VCPU_EXIT_DEAD_HALT);
    uint64_t mmio = atomic_load(&f.m.stats.event[STAT_MMIO_WRITE]) - w0;
    /* 2024 stores; only a page's first store after the renderer looked
     * takes the handler. */
    CHECK(mmio <= 8);
    CHECK_EQ(iomap_read(&f.m.mmio, f.lfb + 0x5ffc, 4), 0x00ff00ff);
    CHECK_EQ(iomap_read(&f.m.mmio, f.lfb + 0x9000, 4), 0x00ff00ff + 999);
    vga_update(f.v, NULL, NULL);
    CHECK_EQ(seen_pages(&f, &first), 2);
    CHECK(seen(&f, 5) && seen(&f, 9));

    /* The pages stay write-mapped until the vCPU flushes, so they count as
     * written at the next update too; a write to a clean page is seen. */
    vga_update(f.v, NULL, NULL);
    CHECK(seen(&f, 5) && seen(&f, 9));
    CHECK_EQ(fb_run(&f, 0x2000), VCPU_EXIT_DEAD_HALT);
    vga_update(f.v, NULL, NULL);
    CHECK(seen(&f, 7));
    CHECK_EQ(iomap_read(&f.m.mmio, f.lfb + 0x7004, 4), 0xabcdef01);
    /* Once the guest stops writing, the tracking converges to nothing. */
    vga_update(f.v, NULL, NULL);
    CHECK_EQ(fb_run(&f, 0x3000), VCPU_EXIT_DEAD_HALT);
    vga_update(f.v, NULL, NULL);
    vga_update(f.v, NULL, NULL);
    CHECK_EQ(seen_pages(&f, &first), 0);
    fb_teardown(&f);
}

TEST(vga_lfb_moved_bar_drops_the_old_mapping)
{
    struct fbfix f;
    if (fb_setup(&f) < 0) {
        test_fail(__FILE__, __LINE__, "machine/VGA setup");
        return;
    }
    uint32_t lfb = (uint32_t)f.lfb, moved = lfb + 0x1000000;
    /* The guest reads the framebuffer (its TLB maps it), moves BAR0 up by
     * 16 MiB through 0xcf8/0xcfc, and reads both addresses again:
     *   mov eax, [LFB]; mov dx, 0xcf8; mov eax, 0x80001010; out dx, eax
     *   mov dx, 0xcfc; mov eax, LFB+16M; out dx, eax
     *   mov eax, [LFB]; mov ebx, [LFB+16M]; cli; hlt */
    uint8_t p[] = {0xa1, 0, 0, 0, 0, 0x66, 0xba, 0xf8, 0x0c, 0xb8, 0x10, 0x10, 0x00, 0x80, 0xef,
                   0x66, 0xba, 0xfc, 0x0c, 0xb8, 0, 0, 0, 0, 0xef,
                   0xa1, 0, 0, 0, 0, 0x8b, 0x1d, 0, 0, 0, 0, 0xfa, 0xf4};
    put32(p + 1, lfb);
    put32(p + 20, moved);
    put32(p + 26, lfb);
    put32(p + 32, moved);
    memcpy(f.m.ram + 0x1000, p, sizeof(p));
    iomap_write(&f.m.mmio, f.lfb, 0x12345678, 4);
    CHECK_EQ(fb_run(&f, 0x1000), VCPU_EXIT_DEAD_HALT);
    struct x86_state st;
    accel_tcg_ops.get_state(&f.m.vcpu[0], &st);
    /* The old address is unclaimed now (all ones), not a stale mapping. */
    CHECK_EQ(st.gpr[0] & 0xffffffff, 0xffffffff);
    CHECK_EQ(st.gpr[3] & 0xffffffff, 0x12345678);
    fb_teardown(&f);
}
