/* The software CPU (cpu/) on a fake bus: a malloc'd RAM, a port log and an
 * interrupt source. Guest code is assembled from the listings in the
 * comments (GNU as, Intel syntax); expected values come from the SDM's
 * definitions of each instruction. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAM_SIZE (4u << 20)
#define MMIO_BASE 0xa0000u      /* [0xa0000, 0xc0000) is MMIO on the fake bus */
#define MMIO_END  0xc0000u

struct fake {
    uint8_t *ram;
    struct cpu_bus bus;
    struct cpu *cpu;
    char out[256];
    int nout;
    int intr_vec;
    int acks;
    uint64_t mmio_addr, mmio_val;
    int mmio_writes, mmio_reads;
};

static uint8_t *f_ram_ptr(void *o, uint64_t pa, bool w)
{
    struct fake *f = o;
    (void)w;
    if (pa >= RAM_SIZE || (pa >= MMIO_BASE && pa < MMIO_END))
        return NULL;
    return f->ram + pa;
}
static uint64_t f_mmio_read(void *o, uint64_t pa, unsigned sz)
{
    struct fake *f = o;
    f->mmio_reads++;
    f->mmio_addr = pa;
    return 0x8877665544332211ULL & (sz == 8 ? ~0ULL : (1ULL << (8 * sz)) - 1);
}
static void f_mmio_write(void *o, uint64_t pa, uint64_t v, unsigned sz)
{
    struct fake *f = o;
    (void)sz;
    f->mmio_writes++;
    f->mmio_addr = pa;
    f->mmio_val = v;
}
static uint32_t f_pio_in(void *o, uint16_t port, unsigned sz)
{
    (void)o;
    if (port == 0x60)
        return 0x5a;
    return (uint32_t)(port + sz);
}
static void f_pio_out(void *o, uint16_t port, uint32_t v, unsigned sz)
{
    struct fake *f = o;
    (void)sz;
    if (port == 0xe9 && f->nout < (int)sizeof(f->out) - 1)
        f->out[f->nout++] = (char)v;
}
static int f_intr_ack(void *o)
{
    struct fake *f = o;
    f->acks++;
    cpu_set_intr(f->cpu, false);
    return f->intr_vec;
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->ram = calloc(1, RAM_SIZE);
    f->bus = (struct cpu_bus){f, f_ram_ptr, f_mmio_read, f_mmio_write, f_pio_in, f_pio_out, f_intr_ack};
    f->cpu = cpu_new(&f->bus);
    return f;
}
static void fake_free(struct fake *f)
{
    cpu_free(f->cpu);
    free(f->ram);
    free(f);
}

/* Loads code at 0x7c00 and starts in real mode at 0000:7C00 (SP 0x7000). */
static enum cpu_stop run_real(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_real(st, 0, 0x7c00, 0);
    st->gpr[R_ESP] = 0x7000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 10000000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}
/* Flat 32-bit protected mode (CS 0x08, data 0x10), paging off. */
static enum cpu_stop run_flat32(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    memcpy(f->ram + 0x7c00, code, n);
    x86_state_reset(st);
    x86_state_flat32(st, 0x08, 0x10);
    st->rip = 0x7c00;
    st->gpr[R_ESP] = 0x9000;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 10000000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}
/* ---- BEGIN GENERATED CODE (assembled with GNU as from the listings) ---- */
/* 16-bit, at 0x7c00:
 *     mov ax, 0x7fff
 *     add ax, 1
 *     pushf
 *     pop bx
 *     mov cx, 5
 *     sub cx, 6
 *     pushf
 *     pop dx
 *     hlt
 */
static const uint8_t code_rm_flags[] = {
    0xb8, 0xff, 0x7f, 0x83, 0xc0, 0x01, 0x9c, 0x5b, 0xb9, 0x05, 0x00, 0x83,
    0xe9, 0x06, 0x9c, 0x5a, 0xf4,
};
/* 16-bit, at 0x7c00:
 *     xor ax, ax
 *     mov cx, 100
 * l:  add ax, cx
 *     loop l
 *     hlt
 */
static const uint8_t code_rm_loop[] = {
    0x31, 0xc0, 0xb9, 0x64, 0x00, 0x01, 0xc8, 0xe2, 0xfc, 0xf4,
};
/* 16-bit, at 0x7c00:
 *     mov eax, 0x12345678
 *     mov ebx, 0x10
 *     mul ebx
 *     bswap eax
 *     movzx ecx, al
 *     imul ecx, ecx, -3
 *     mov esi, 0x80000000
 *     sar esi, 4
 *     mov edi, 1
 *     shl edi, 31
 *     setc bl
 *     setnz bh
 *     hlt
 */
static const uint8_t code_rm_wide[] = {
    0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x66, 0xbb, 0x10, 0x00, 0x00, 0x00,
    0x66, 0xf7, 0xe3, 0x66, 0x0f, 0xc8, 0x66, 0x0f, 0xb6, 0xc8, 0x66, 0x6b,
    0xc9, 0xfd, 0x66, 0xbe, 0x00, 0x00, 0x00, 0x80, 0x66, 0xc1, 0xfe, 0x04,
    0x66, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x66, 0xc1, 0xe7, 0x1f, 0x0f, 0x92,
    0xc3, 0x0f, 0x95, 0xc7, 0xf4,
};
/* 16-bit, at 0x7c00:
 *     cld
 *     mov si, 0x500
 *     mov di, 0x600
 *     mov cx, 8
 *     rep movsb
 *     mov di, 0x700
 *     mov ax, 0x4142
 *     mov cx, 4
 *     rep stosw
 *     mov si, 0x500
 *     mov di, 0x600
 *     mov cx, 8
 *     repe cmpsb
 *     mov bp, 0
 *     jnz 1f
 *     mov bp, 1
 * 1:  mov si, 0x500
 *     mov di, 0x600
 *     mov byte ptr [0x604], 0
 *     mov cx, 8
 *     repe cmpsb
 *     hlt
 */
static const uint8_t code_rm_string[] = {
    0xfc, 0xbe, 0x00, 0x05, 0xbf, 0x00, 0x06, 0xb9, 0x08, 0x00, 0xf3, 0xa4,
    0xbf, 0x00, 0x07, 0xb8, 0x42, 0x41, 0xb9, 0x04, 0x00, 0xf3, 0xab, 0xbe,
    0x00, 0x05, 0xbf, 0x00, 0x06, 0xb9, 0x08, 0x00, 0xf3, 0xa6, 0xbd, 0x00,
    0x00, 0x75, 0x03, 0xbd, 0x01, 0x00, 0xbe, 0x00, 0x05, 0xbf, 0x00, 0x06,
    0xc6, 0x06, 0x04, 0x06, 0x00, 0xb9, 0x08, 0x00, 0xf3, 0xa6, 0xf4,
};
/* 16-bit, at 0x7c00:
 *     mov al, 0x48
 *     out 0xe9, al
 *     mov dx, 0xe9
 *     mov al, 0x69
 *     out dx, al
 *     in al, 0x60
 *     mov bl, al
 *     mov dx, 0x1234
 *     in ax, dx
 *     hlt
 */
static const uint8_t code_rm_io[] = {
    0xb0, 0x48, 0xe6, 0xe9, 0xba, 0xe9, 0x00, 0xb0, 0x69, 0xee, 0xe4, 0x60,
    0x88, 0xc3, 0xba, 0x34, 0x12, 0xed, 0xf4,
};
/* 16-bit, at 0x7c00:
 *     int 0x21
 *     mov ax, 100
 *     mov bl, 0
 *     div bl
 *     hlt
 *     .org 0x40
 * h21: mov bx, 0x1111
 *     iret
 *     .org 0x60
 * hde: mov cx, 0x2222
 *     push bp
 *     mov bp, sp
 *     add word ptr [bp+2], 2
 *     pop bp
 *     iret
 */
static const uint8_t code_rm_int[] = {
    0xcd, 0x21, 0xb8, 0x64, 0x00, 0xb3, 0x00, 0xf6, 0xf3, 0xf4, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xbb, 0x11, 0x11, 0xcf, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xb9, 0x22, 0x22, 0x55, 0x89, 0xe5, 0x83, 0x46, 0x02, 0x02, 0x5d, 0xcf,
};
/* 16-bit, at 0x7c00:
 *     sti
 *     hlt
 *     mov di, 0x4444
 *     cli
 *     hlt
 *     .org 0x40
 * hirq: inc si
 *     iret
 */
static const uint8_t code_rm_irq[] = {
    0xfb, 0xf4, 0xbf, 0x44, 0x44, 0xfa, 0xf4, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x46, 0xcf,
};
/* 16-bit, at 0x7c00:
 *     mov byte ptr [patch+1], 0x42
 * patch: mov al, 0x00
 *     mov byte ptr [patch2+1], 0x43
 *     jmp patch2
 * patch2: mov ah, 0x00
 *     hlt
 */
static const uint8_t code_rm_smc[] = {
    0xc6, 0x06, 0x06, 0x7c, 0x42, 0xb0, 0x00, 0xc6, 0x06, 0x0f, 0x7c, 0x43,
    0xeb, 0x00, 0xb4, 0x00, 0xf4,
};
/* 16-bit, at 0x7c00:
 * start:
 *     cli
 *     lgdt [gdtr]
 *     mov eax, cr0
 *     or eax, 1
 *     mov cr0, eax
 *     jmp 0x08:pm32
 * .code32
 * pm32:
 *     mov ax, 0x10
 *     mov ds, ax
 *     mov es, ax
 *     mov ss, ax
 *     mov esp, 0x9000
 *     mov eax, offset pf_handler
 *     mov word ptr [idt + 14*8], ax
 *     mov word ptr [idt + 14*8 + 2], 0x08
 *     mov word ptr [idt + 14*8 + 4], 0x8e00
 *     shr eax, 16
 *     mov word ptr [idt + 14*8 + 6], ax
 *     lidt [idtr]
 *     mov edi, 0x21000
 *     mov eax, 0x003
 *     mov ecx, 1024
 * fill: stosd
 *     add eax, 0x1000
 *     loop fill
 *     mov dword ptr [0x20000], 0x21003
 *     mov eax, 0x20000
 *     mov cr3, eax
 *     mov eax, cr0
 *     or eax, 0x80000000
 *     mov cr0, eax
 *     mov dword ptr [0x5000], 0xabcd
 *     mov eax, [0x400123]
 *     mov ebx, 0x600d
 *     hlt
 * pf_handler:
 *     pop ecx
 *     mov edx, cr2
 *     add dword ptr [esp], 5
 *     iret
 * .align 8
 * gdt: .quad 0
 *     .quad 0x00cf9a000000ffff
 *     .quad 0x00cf92000000ffff
 * gdtr: .word 23
 *     .long gdt
 * idtr: .word 0x7f
 *     .long idt
 * .align 8
 * idt: .fill 128, 1, 0
 */
static const uint8_t code_pm_paging[] = {
    0xfa, 0x0f, 0x01, 0x16, 0xc0, 0x7c, 0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8,
    0x01, 0x0f, 0x22, 0xc0, 0xea, 0x15, 0x7c, 0x08, 0x00, 0x66, 0xb8, 0x10,
    0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x90, 0x00, 0x00,
    0xb8, 0x9a, 0x7c, 0x00, 0x00, 0x66, 0xa3, 0x40, 0x7d, 0x00, 0x00, 0x66,
    0xc7, 0x05, 0x42, 0x7d, 0x00, 0x00, 0x08, 0x00, 0x66, 0xc7, 0x05, 0x44,
    0x7d, 0x00, 0x00, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0xa3, 0x46, 0x7d,
    0x00, 0x00, 0x0f, 0x01, 0x1d, 0xc6, 0x7c, 0x00, 0x00, 0xbf, 0x00, 0x10,
    0x02, 0x00, 0xb8, 0x03, 0x00, 0x00, 0x00, 0xb9, 0x00, 0x04, 0x00, 0x00,
    0xab, 0x05, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xf8, 0xc7, 0x05, 0x00, 0x00,
    0x02, 0x00, 0x03, 0x10, 0x02, 0x00, 0xb8, 0x00, 0x00, 0x02, 0x00, 0x0f,
    0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22,
    0xc0, 0xc7, 0x05, 0x00, 0x50, 0x00, 0x00, 0xcd, 0xab, 0x00, 0x00, 0xa1,
    0x23, 0x01, 0x40, 0x00, 0xbb, 0x0d, 0x60, 0x00, 0x00, 0xf4, 0x59, 0x0f,
    0x20, 0xd2, 0x83, 0x04, 0x24, 0x05, 0xcf, 0x8d, 0x74, 0x26, 0x00, 0x90,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
    0x17, 0x00, 0xa8, 0x7c, 0x00, 0x00, 0x7f, 0x00, 0xd0, 0x7c, 0x00, 0x00,
    0x8d, 0x74, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* 32-bit, at 0x7c00:
 *     lgdt [gdtr]
 *     mov dword ptr [0x30000], 0x31007
 *     mov dword ptr [0x31000], 0x32007
 *     mov dword ptr [0x32000], 0x000087
 *     mov eax, cr4
 *     or eax, 0x20
 *     mov cr4, eax
 *     mov eax, 0x30000
 *     mov cr3, eax
 *     mov ecx, 0xc0000080
 *     rdmsr
 *     or eax, 0x101
 *     wrmsr
 *     mov eax, cr0
 *     or eax, 0x80000000
 *     mov cr0, eax
 *     jmp 0x18:lm64
 * .code64
 * lm64:
 *     mov rax, 0x123456789abcdef0
 *     mov rbx, rax
 *     shr rbx, 32
 *     lea rcx, [rip + data]
 *     mov rdx, [rcx]
 *     add rdx, [rip + data]
 *     mov r8, -1
 *     inc r8d
 *     mov r9d, -1
 *     push r9
 *     pop r10
 *     mov ecx, 0xc0000082
 *     lea rax, [rip + sys_entry]
 *     mov rdx, rax
 *     shr rdx, 32
 *     wrmsr
 *     mov ecx, 0xc0000081
 *     xor eax, eax
 *     mov edx, 0x00280018
 *     wrmsr
 *     mov rsp, 0x9000
 *     syscall
 *     hlt
 * sys_entry:
 *     inc r15
 *     cmp r15, 2
 *     je done
 *     mov r12, rcx
 *     lea rcx, [rip + user]
 *     mov r11, 0x2
 *     sysretq
 * user:
 *     mov r14, 0x77
 *     syscall
 * done:
 *     mov rdx, [rip + data]
 *     hlt
 * .align 8
 * data: .quad 0x1111222233334444
 * gdt: .quad 0
 *     .quad 0x00cf9a000000ffff
 *     .quad 0x00cf92000000ffff
 *     .quad 0x00af9a000000ffff
 *     .quad 0x00cf92000000ffff
 * gdtr: .word 39
 *     .long gdt
 */
static const uint8_t code_lm_switch[] = {
    0x0f, 0x01, 0x15, 0x18, 0x7d, 0x00, 0x00, 0xc7, 0x05, 0x00, 0x00, 0x03,
    0x00, 0x07, 0x10, 0x03, 0x00, 0xc7, 0x05, 0x00, 0x10, 0x03, 0x00, 0x07,
    0x20, 0x03, 0x00, 0xc7, 0x05, 0x00, 0x20, 0x03, 0x00, 0x87, 0x00, 0x00,
    0x00, 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00,
    0x00, 0x03, 0x00, 0x0f, 0x22, 0xd8, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f,
    0x32, 0x0d, 0x01, 0x01, 0x00, 0x00, 0x0f, 0x30, 0x0f, 0x20, 0xc0, 0x0d,
    0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xea, 0x56, 0x7c, 0x00, 0x00,
    0x18, 0x00, 0x48, 0xb8, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12,
    0x48, 0x89, 0xc3, 0x48, 0xc1, 0xeb, 0x20, 0x48, 0x8d, 0x0d, 0x7a, 0x00,
    0x00, 0x00, 0x48, 0x8b, 0x11, 0x48, 0x03, 0x15, 0x70, 0x00, 0x00, 0x00,
    0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0x41, 0xff, 0xc0, 0x41, 0xb9,
    0xff, 0xff, 0xff, 0xff, 0x41, 0x51, 0x41, 0x5a, 0xb9, 0x82, 0x00, 0x00,
    0xc0, 0x48, 0x8d, 0x05, 0x21, 0x00, 0x00, 0x00, 0x48, 0x89, 0xc2, 0x48,
    0xc1, 0xea, 0x20, 0x0f, 0x30, 0xb9, 0x81, 0x00, 0x00, 0xc0, 0x31, 0xc0,
    0xba, 0x18, 0x00, 0x28, 0x00, 0x0f, 0x30, 0x48, 0xc7, 0xc4, 0x00, 0x90,
    0x00, 0x00, 0x0f, 0x05, 0xf4, 0x49, 0xff, 0xc7, 0x49, 0x83, 0xff, 0x02,
    0x74, 0x1d, 0x49, 0x89, 0xcc, 0x48, 0x8d, 0x0d, 0x0a, 0x00, 0x00, 0x00,
    0x49, 0xc7, 0xc3, 0x02, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x07, 0x49, 0xc7,
    0xc6, 0x77, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x8b, 0x15, 0x02, 0x00,
    0x00, 0x00, 0xf4, 0x90, 0x44, 0x44, 0x33, 0x33, 0x22, 0x22, 0x11, 0x11,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xaf, 0x00, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x92, 0xcf, 0x00, 0x27, 0x00, 0xf0, 0x7c, 0x00, 0x00,
};
/* 32-bit, at 0x7c00:
 *     lidt [idtr]
 *     int3
 *     hlt
 * idtr: .word 0
 *     .long 0
 */
static const uint8_t code_pm_triple[] = {
    0x0f, 0x01, 0x1d, 0x09, 0x7c, 0x00, 0x00, 0xcc, 0xf4, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00,
};
/* 32-bit, at 0x7c00:
 *     xor eax, eax
 * l:  add eax, ecx
 *     mov edx, eax
 *     dec ecx
 *     jnz l
 *     hlt
 */
static const uint8_t code_bench_loop[] = {
    0x31, 0xc0, 0x01, 0xc8, 0x89, 0xc2, 0x49, 0x75, 0xf9, 0xf4,
};
/* ---- END GENERATED CODE ---- */

TEST(cpu_real_add_sub_flags)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_rm_flags, sizeof(code_rm_flags), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 0x8000);
    /* 0x7fff + 1: OF SF AF PF (low byte 0x00 has even parity), bit 1 fixed */
    CHECK_EQ(st.gpr[R_EBX] & 0xffff, 0x0896);
    /* 5 - 6 = 0xffff: CF SF AF PF */
    CHECK_EQ(st.gpr[R_ECX] & 0xffff, 0xffff);
    CHECK_EQ(st.gpr[R_EDX] & 0xffff, 0x0097);
    CHECK_EQ(st.rip, 0x7c00 + sizeof(code_rm_flags));
    CHECK_EQ(cpu_icount(f->cpu), 9);
    fake_free(f);
}

TEST(cpu_real_loop)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_rm_loop, sizeof(code_rm_loop), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 5050);
    CHECK_EQ(st.gpr[R_ECX] & 0xffff, 0);
    CHECK_EQ(cpu_icount(f->cpu), 2 + 200 + 1);
    fake_free(f);
}

TEST(cpu_real_32bit_operands)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_rm_wide, sizeof(code_rm_wide), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EDX], 1);                 /* 0x12345678 * 0x10 = 0x1_2345_6780 */
    CHECK_EQ(st.gpr[R_EAX], 0x80674523);        /* bswap */
    CHECK_EQ(st.gpr[R_ECX], 0xffffff97);        /* 0x23 * -3 */
    CHECK_EQ(st.gpr[R_ESI], 0xf8000000);        /* sar keeps the sign */
    CHECK_EQ(st.gpr[R_EDI], 0x80000000);
    CHECK_EQ(st.gpr[R_EBX] & 0xffff, 0x0100);   /* shl 1<<31 by 31: CF=0 (bit 1 out), ZF=0 */
    fake_free(f);
}

TEST(cpu_real_string_ops)
{
    struct fake *f = fake_new();
    struct x86_state st;
    memcpy(f->ram + 0x500, "ABCDEFGH", 8);
    CHECK_EQ(run_real(f, code_rm_string, sizeof(code_rm_string), &st), CPU_STOP_HLT);
    CHECK(memcmp(f->ram + 0x600, "ABCD\0FGH", 8) == 0);
    CHECK(memcmp(f->ram + 0x700, "BABABABA", 8) == 0);
    CHECK_EQ(st.gpr[R_EBP] & 0xffff, 1);        /* first REPE CMPSB: all equal */
    /* second: stops after the mismatch at index 4 */
    CHECK_EQ(st.gpr[R_ECX] & 0xffff, 3);
    CHECK_EQ(st.gpr[R_ESI] & 0xffff, 0x505);
    CHECK(!(st.rflags & RFLAGS_ZF));
    fake_free(f);
}

TEST(cpu_real_port_io)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_rm_io, sizeof(code_rm_io), &st), CPU_STOP_HLT);
    CHECK_EQ(f->nout, 2);
    CHECK(memcmp(f->out, "Hi", 2) == 0);
    CHECK_EQ(st.gpr[R_EBX] & 0xff, 0x5a);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 0x1236);
    fake_free(f);
}

TEST(cpu_real_int_and_divide_error)
{
    struct fake *f = fake_new();
    struct x86_state st;
    /* IVT: int 0x21 → 07C0:0040-ish via 0000:7C40, #DE → 0000:7C60 */
    uint16_t ivt21[2] = {0x7c40, 0}, ivt0[2] = {0x7c60, 0};
    memcpy(f->ram + 0x21 * 4, ivt21, 4);
    memcpy(f->ram + 0, ivt0, 4);
    CHECK_EQ(run_real(f, code_rm_int, sizeof(code_rm_int), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EBX] & 0xffff, 0x1100);   /* BX from INT 21h, then BL = 0 for the DIV */
    CHECK_EQ(st.gpr[R_ECX] & 0xffff, 0x2222);
    CHECK_EQ(st.gpr[R_ESP] & 0xffff, 0x7000);   /* both IRETs balanced */
    CHECK_EQ(st.rip, 0x7c00 + 10);              /* stopped after the HLT that follows DIV */
    fake_free(f);
}

TEST(cpu_real_hw_interrupt_wakes_hlt)
{
    struct fake *f = fake_new();
    struct x86_state st;
    uint16_t ivt8[2] = {0x7c40, 0};
    memcpy(f->ram + 8 * 4, ivt8, 4);
    CHECK_EQ(run_real(f, code_rm_irq, sizeof(code_rm_irq), &st), CPU_STOP_HLT);
    CHECK(cpu_halted(f->cpu));
    CHECK(cpu_interrupts_enabled(f->cpu));
    CHECK_EQ(f->acks, 0);
    /* Still halted without an interrupt. */
    CHECK_EQ(cpu_run(f->cpu, 1000, NULL), CPU_STOP_HLT);
    f->intr_vec = 8;
    cpu_set_intr(f->cpu, true);
    CHECK_EQ(cpu_run(f->cpu, 1000, NULL), CPU_STOP_HLT);
    cpu_get_state(f->cpu, &st);
    CHECK_EQ(f->acks, 1);
    CHECK_EQ(st.gpr[R_ESI] & 0xffff, 1);
    CHECK_EQ(st.gpr[R_EDI] & 0xffff, 0x4444);
    CHECK(!cpu_interrupts_enabled(f->cpu));     /* the dead-HLT case the engine reports */
    fake_free(f);
}

TEST(cpu_exit_request_and_budget)
{
    struct fake *f = fake_new();
    struct x86_state st;
    static const uint8_t spin[] = {0xeb, 0xfe};   /* jmp $ */
    memcpy(f->ram + 0x7c00, spin, 2);
    x86_state_reset(&st);
    x86_state_real(&st, 0, 0x7c00, 0);
    cpu_set_state(f->cpu, &st);
    CHECK_EQ(cpu_run(f->cpu, 1000, NULL), CPU_STOP_BUDGET);
    CHECK_EQ(cpu_icount(f->cpu), 1000);
    _Atomic int req = 1;
    CHECK_EQ(cpu_run(f->cpu, 1000, &req), CPU_STOP_EXIT_REQUEST);
    fake_free(f);
}

TEST(cpu_self_modifying_code)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_rm_smc, sizeof(code_rm_smc), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 0x4342);
    /* Run it again from the (now modified) start: blocks were re-decoded. */
    f->ram[0x7c00 + 4] = 0x55;      /* mov byte ptr [patch+1], 0x55 */
    cpu_invalidate_phys(f->cpu, 0x7c00, 16);
    st.rip = 0x7c00;
    cpu_set_state(f->cpu, &st);
    CHECK_EQ(cpu_run(f->cpu, 1000, NULL), CPU_STOP_HLT);
    cpu_get_state(f->cpu, &st);
    CHECK_EQ(st.gpr[R_EAX] & 0xff, 0x55);
    fake_free(f);
}

TEST(cpu_protected_mode_paging_and_page_fault)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_real(f, code_pm_paging, sizeof(code_pm_paging), &st), CPU_STOP_HLT);
    CHECK(st.cr0 & CR0_PE);
    CHECK(st.cr0 & CR0_PG);
    CHECK_EQ(st.seg[SEG_CS].sel, 0x08);
    CHECK_EQ(st.seg[SEG_DS].sel, 0x10);
    CHECK_EQ(st.gpr[R_EBX], 0x600d);
    CHECK_EQ(st.gpr[R_ECX], 0);                 /* #PF error: not present, read, supervisor */
    CHECK_EQ(st.gpr[R_EDX], 0x400123);          /* CR2 */
    CHECK_EQ(st.cr2, 0x400123);
    uint32_t pte5, pde0, pte_code;
    memcpy(&pte5, f->ram + 0x21000 + 5 * 4, 4);
    memcpy(&pde0, f->ram + 0x20000, 4);
    memcpy(&pte_code, f->ram + 0x21000 + 7 * 4, 4);
    CHECK_EQ(pte5, 0x5063);                     /* accessed + dirty after the write */
    CHECK_EQ(pde0 & 0x20, 0x20);                /* accessed */
    CHECK_EQ(pte_code & 0x60, 0x20);            /* code page: accessed, not dirty */
    CHECK_EQ(st.gpr[R_ESP], 0x9000);
    fake_free(f);
}

TEST(cpu_long_mode_switch_syscall_sysret)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_flat32(f, code_lm_switch, sizeof(code_lm_switch), &st), CPU_STOP_HLT);
    CHECK(st.efer & EFER_LMA);
    CHECK_EQ(cpu_code_bits(f->cpu), 64);
    CHECK_EQ(st.gpr[R_EAX] >> 32, 0);
    CHECK_EQ(st.gpr[R_EBX], 0x12345678);
    CHECK_EQ(st.gpr[R_EDX], 0x1111222233334444ULL);
    CHECK_EQ(st.gpr[R_R8], 0);                  /* inc r8d zero-extends */
    CHECK_EQ(st.gpr[R_R9], 0xffffffffULL);
    CHECK_EQ(st.gpr[R_R10], 0xffffffffULL);
    CHECK_EQ(st.gpr[R_R14], 0x77);              /* ran at CPL 3 after SYSRET */
    CHECK_EQ(st.gpr[R_R15], 2);                 /* two SYSCALLs */
    CHECK_EQ(st.seg[SEG_CS].sel, 0x18);
    CHECK_EQ(st.gpr[R_R11] & 0x3, 0x2);         /* user RFLAGS saved in R11 */
    fake_free(f);
}

TEST(cpu_triple_fault_shuts_down)
{
    struct fake *f = fake_new();
    struct x86_state st;
    CHECK_EQ(run_flat32(f, code_pm_triple, sizeof(code_pm_triple), &st), CPU_STOP_SHUTDOWN);
    fake_free(f);
}

TEST(cpu_mmio_slow_path)
{
    struct fake *f = fake_new();
    struct x86_state st;
    /* mov eax, [0xa0010]; mov dword [0xa0020], 0x1234; hlt (flat 32) */
    static const uint8_t code[] = {0xa1, 0x10, 0x00, 0x0a, 0x00,
                                   0xc7, 0x05, 0x20, 0x00, 0x0a, 0x00, 0x34, 0x12, 0x00, 0x00, 0xf4};
    CHECK_EQ(run_flat32(f, code, sizeof(code), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX], 0x44332211);
    CHECK_EQ(f->mmio_reads, 1);
    CHECK_EQ(f->mmio_writes, 1);
    CHECK_EQ(f->mmio_addr, 0xa0020);
    CHECK_EQ(f->mmio_val, 0x1234);
    fake_free(f);
}

TEST(cpu_undefined_opcode_raises_ud)
{
    struct fake *f = fake_new();
    struct x86_state st;
    /* ud2 at 0x7c00 with #UD → 0000:7C10 (mov ax, 0x0606; hlt) */
    uint8_t code[0x20] = {0x0f, 0x0b};
    code[0x10] = 0xb8; code[0x11] = 0x06; code[0x12] = 0x06; code[0x13] = 0xf4;
    uint16_t ivt6[2] = {0x7c10, 0};
    memcpy(f->ram + 6 * 4, ivt6, 4);
    CHECK_EQ(run_real(f, code, sizeof(code), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EAX] & 0xffff, 0x0606);
    uint16_t ret_ip;
    memcpy(&ret_ip, f->ram + 0x7000 - 6, 2);
    CHECK_EQ(ret_ip, 0x7c00);                   /* faults report the faulting insn */
    fake_free(f);
}

TEST(cpu_popek_goldberg_classes)
{
    enum pg_class k;
    static const uint8_t sgdt[] = {0x0f, 0x01, 0x00}, hlt[] = {0xf4}, nop[] = {0x90},
                         pushf[] = {0x9c}, lgdt[] = {0x0f, 0x01, 0x10}, movss[] = {0x8e, 0xd0},
                         ud2[] = {0x0f, 0x0b}, smsw[] = {0x0f, 0x01, 0xe0};
    CHECK_EQ(cpu_classify(sgdt, 3, 32, &k), 3);  CHECK_EQ(k, PG_SENSITIVE);
    CHECK_EQ(cpu_classify(hlt, 1, 32, &k), 1);   CHECK_EQ(k, PG_PRIVILEGED);
    CHECK_EQ(cpu_classify(nop, 1, 64, &k), 1);   CHECK_EQ(k, PG_INNOCUOUS);
    CHECK_EQ(cpu_classify(pushf, 1, 16, &k), 1); CHECK_EQ(k, PG_SENSITIVE);
    CHECK_EQ(cpu_classify(lgdt, 3, 32, &k), 3);  CHECK_EQ(k, PG_PRIVILEGED);
    CHECK_EQ(cpu_classify(movss, 2, 32, &k), 2); CHECK_EQ(k, PG_SENSITIVE);
    CHECK_EQ(cpu_classify(smsw, 3, 32, &k), 3);  CHECK_EQ(k, PG_SENSITIVE);
    CHECK_EQ(cpu_classify(ud2, 2, 32, &k), 0);
}

TEST(cpu_decoder_lengths)
{
    enum pg_class k;
    /* 64-bit: mov rax, imm64 (10), lea rcx,[rip+x] (7), add [rsp+rbx*4+0x100], 1 (8+...) */
    static const uint8_t movabs[] = {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t lea[] = {0x48, 0x8d, 0x0d, 0, 0, 0, 0};
    static const uint8_t addm[] = {0x83, 0x84, 0x9c, 0x00, 0x01, 0x00, 0x00, 0x01};
    static const uint8_t w16[] = {0x66, 0x81, 0xc3, 0x34, 0x12};   /* add bx, 0x1234 (32-bit code) */
    static const uint8_t longest[16] = {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90, 0x90};
    static const uint8_t toolong[16] = {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90};
    CHECK_EQ(cpu_classify(movabs, sizeof(movabs), 64, &k), 10);
    CHECK_EQ(cpu_classify(lea, sizeof(lea), 64, &k), 7);
    CHECK_EQ(cpu_classify(addm, sizeof(addm), 32, &k), 8);
    CHECK_EQ(cpu_classify(w16, sizeof(w16), 32, &k), 5);
    CHECK_EQ(cpu_classify(w16, 4, 32, &k), 0);          /* truncated */
    CHECK_EQ(cpu_classify(longest, sizeof(longest), 32, &k), 15);
    CHECK_EQ(cpu_classify(toolong, sizeof(toolong), 32, &k), 0);   /* > 15 bytes: #GP */
}

/* Not a pass/fail benchmark: prints the interpreter's rate on a simple
 * integer loop so regressions are visible in the log. */
TEST(cpu_loop_speed)
{
    struct fake *f = fake_new();
    struct x86_state st;
    memcpy(f->ram + 0x7c00, code_bench_loop, sizeof(code_bench_loop));
    x86_state_reset(&st);
    x86_state_flat32(&st, 0x08, 0x10);
    st.rip = 0x7c00;
    st.gpr[R_ECX] = 5000000;
    cpu_set_state(f->cpu, &st);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(cpu_run(f->cpu, ~0ULL >> 1, NULL), CPU_STOP_HLT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    uint64_t n = cpu_icount(f->cpu);
    CHECK_EQ(n, 2 + 4ULL * 5000000);
    cpu_get_state(f->cpu, &st);
    CHECK_EQ(st.gpr[R_EAX], (uint32_t)(5000000ULL * 5000001ULL / 2));
    printf("  cpu_loop_speed: %.1f M guest insns/s\n", (double)n / s / 1e6);
    fake_free(f);
}
