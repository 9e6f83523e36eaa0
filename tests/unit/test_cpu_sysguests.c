/* Regression tests for CPU bugs found by the system-behaviour guests
 * (tests/guests/insns.S, exceptions.S): each runs a few real-mode
 * instructions on a fake bus and checks what the SDM defines. The guests
 * cover the protected/long-mode fixes; these need no descriptor tables.
 * Code bytes assembled with GNU as (--32, .code16) from the listings. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdlib.h>
#include <string.h>

#define SG_RAM (1u << 20)

struct sg_fake {
    uint8_t *ram;
    struct cpu_bus bus;
    struct cpu *cpu;
};

static uint8_t *sg_ram_ptr(void *o, uint64_t pa, bool w)
{
    struct sg_fake *f = o;
    (void)w;
    return pa < SG_RAM ? f->ram + pa : NULL;
}
static uint64_t sg_mmio_read(void *o, uint64_t pa, unsigned sz)
{
    (void)o; (void)pa; (void)sz;
    return ~0ULL;
}
static void sg_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz)
{
    (void)o; (void)pa; (void)v; (void)sz;
}
static uint32_t sg_pio_in(void *o, uint16_t port, unsigned sz)
{
    (void)o; (void)port; (void)sz;
    return ~0u;
}
static void sg_pio_out(void *o, uint16_t port, uint32_t v, unsigned sz)
{
    (void)o; (void)port; (void)v; (void)sz;
}
static int sg_intr_ack(void *o)
{
    (void)o;
    return 0;
}

/* Runs code at 0000:7C00 in real mode until HLT; returns the stop reason. */
static enum cpu_stop sg_run(struct sg_fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_real(st, 0, 0x7c00, 0);
    st->gpr[R_ESP] = 0x7000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 100000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}

static struct sg_fake *sg_new(void)
{
    struct sg_fake *f = calloc(1, sizeof(*f));
    f->ram = calloc(1, SG_RAM);
    f->bus = (struct cpu_bus){.opaque = f, .ram_ptr = sg_ram_ptr, .mmio_read = sg_mmio_read,
                              .mmio_write = sg_mmio_write, .pio_in = sg_pio_in,
                              .pio_out = sg_pio_out, .intr_ack = sg_intr_ack};
    f->cpu = test_cpu_new(&f->bus);
    return f;
}
static void sg_free(struct sg_fake *f)
{
    cpu_free(f->cpu);
    free(f->ram);
    free(f);
}

/*     mov ax, 0xfff9      ; -7
 *     cwd                 ; DX:AX = -7
 *     mov bx, 2
 *     idiv bx             ; AX = -3, DX = -1 (truncating division)
 *     hlt                                                               */
static const uint8_t sg_idiv16[] = {
    0xb8, 0xf9, 0xff, 0x99, 0xbb, 0x02, 0x00, 0xf7, 0xfb, 0xf4,
};

TEST(cpu_idiv16_negative_dividend)
{
    struct sg_fake *f = sg_new();
    struct x86_state st;
    /* #DE would go to IVT[0] = 0000:0000, far from the HLT. */
    CHECK_EQ(sg_run(f, sg_idiv16, sizeof(sg_idiv16), &st), CPU_STOP_HLT);
    CHECK_EQ(st.rip, 0x7c00 + sizeof(sg_idiv16));
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 0xfffd);
    CHECK_EQ(st.gpr[R_EDX] & 0xffff, 0xffff);
    sg_free(f);
}

/*     mov word [0x500], 10
 *     mov word [0x502], 20
 *     mov ax, 15
 *     bound ax, [0x500]   ; inside: nothing
 *     mov ax, 25
 *     bound ax, [0x500]   ; above: #BR (vector 5), a fault
 *     mov bx, 0x1111
 *     hlt
 * IVT[5] -> 0000:7C40: mov bx, 0x5555; hlt                              */
static const uint8_t sg_bound[] = {
    0xc7, 0x06, 0x00, 0x05, 0x0a, 0x00, 0xc7, 0x06, 0x02, 0x05, 0x14, 0x00,
    0xb8, 0x0f, 0x00, 0x62, 0x06, 0x00, 0x05, 0xb8, 0x19, 0x00, 0x62, 0x06,
    0x00, 0x05, 0xbb, 0x11, 0x11, 0xf4,
};

TEST(cpu_bound_raises_br)
{
    struct sg_fake *f = sg_new();
    struct x86_state st;
    static const uint8_t handler[] = {0xbb, 0x55, 0x55, 0xf4};
    uint16_t ivt5[2] = {0x7c40, 0};
    memcpy(f->ram + 5 * 4, ivt5, 4);
    memcpy(f->ram + 0x7c40, handler, sizeof(handler));
    CHECK_EQ(sg_run(f, sg_bound, sizeof(sg_bound), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EBX] & 0xffff, 0x5555);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 25);
    /* A fault: the return address on the stack is the second BOUND. */
    uint16_t ret_ip;
    memcpy(&ret_ip, f->ram + 0x7000 - 6, 2);
    CHECK_EQ(ret_ip, 0x7c00 + 22);
    sg_free(f);
}

/*     mov dword [0x500], 0x7f800001   ; a single-precision SNaN
 *     fninit
 *     fld1
 *     fmul dword [0x500]  ; SNaN operand: IE (SDM vol. 1, 4.8.3.4)
 *     fnstsw ax
 *     hlt                                                               */
static const uint8_t sg_fmul_snan[] = {
    0x66, 0xc7, 0x06, 0x00, 0x05, 0x01, 0x00, 0x80, 0x7f, 0xdb, 0xe3, 0xd9,
    0xe8, 0xd8, 0x0e, 0x00, 0x05, 0xdf, 0xe0, 0xf4,
};

TEST(cpu_x87_m32_snan_operand_sets_ie)
{
    struct sg_fake *f = sg_new();
    struct x86_state st;
    CHECK_EQ(sg_run(f, sg_fmul_snan, sizeof(sg_fmul_snan), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX] & 0x0001, 1);
    sg_free(f);
}
