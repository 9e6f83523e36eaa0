/* The JIT's own risks (cpu/jit/), each checked in the three modes against
 * known results: the interpreter (jit=off), translated code (jit=on, every
 * block translated at its first run) and jit=verify (which also stops the
 * run at the first difference between the two). Guest programs are GNU as
 * listings kept in comments above their bytes, as in test_cpu.c. */
#include "test.h"
#include "fake_bus.h"
#include "cpu/cpu.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const enum cpu_jit_mode modes[] = {CPU_JIT_OFF, CPU_JIT_ON, CPU_JIT_VERIFY};
static const char *const mode_names[] = {"off", "on", "verify"};
#define NMODES 3

/* A fake machine whose CPU runs in mode m (NULL: no backend here). */
static struct fake *jit_fake(enum cpu_jit_mode m, size_t cache)
{
    struct fake *f = fake_new();
    if (m != CPU_JIT_OFF) {
        if (cpu_set_jit(f->cpu, m, cache) < 0) {
            fake_free(f);
            return NULL;
        }
        cpu_set_jit_threshold(f->cpu, 1);
    } else {
        cpu_set_jit(f->cpu, CPU_JIT_OFF, 0);
    }
    return f;
}

#define FOR_MODES(f, cache)                                                       \
    for (int mi_ = 0; mi_ < NMODES; mi_++)                                        \
        for (struct fake *f = jit_fake(modes[mi_], cache), *once_ = f; once_;     \
             fake_free(f), once_ = NULL)

static int no_backend(void)
{
    if (cpu_jit_available())
        return 0;
    test_skip("no JIT backend for this host (the interpreter runs everything)");
    return 1;
}

/* 32-bit, at 0x7c00:
 *     xor ebx, ebx
 *     mov ecx, 10
 * l:  mov byte ptr [patch + 1], cl   ; the next instruction, same block
 * patch: mov al, 0
 *     add bl, al
 *     loop l
 *     mov byte ptr [0x9000], 0xb0     ; code on another page:
 *     mov byte ptr [0x9001], 7        ;   mov al, 7; ret
 *     mov byte ptr [0x9002], 0xc3
 *     call 0x9000
 *     mov dl, al
 *     mov byte ptr [0x9001], 9        ; rewritten after it ran
 *     call 0x9000
 *     mov dh, al
 *     hlt
 */
static const uint8_t code_smc32[] = {
    0x31, 0xdb, 0xb9, 0x0a, 0x00, 0x00, 0x00, 0x88, 0x0d, 0x0e, 0x7c, 0x00,
    0x00, 0xb0, 0x00, 0x00, 0xc3, 0xe2, 0xf4, 0xc6, 0x05, 0x00, 0x90, 0x00,
    0x00, 0xb0, 0xc6, 0x05, 0x01, 0x90, 0x00, 0x00, 0x07, 0xc6, 0x05, 0x02,
    0x90, 0x00, 0x00, 0xc3, 0xe8, 0xd3, 0x13, 0x00, 0x00, 0x88, 0xc2, 0xc6,
    0x05, 0x01, 0x90, 0x00, 0x00, 0x09, 0xe8, 0xc5, 0x13, 0x00, 0x00, 0x88,
    0xc6, 0xf4,
};

TEST(jit_self_modifying_code_in_block_and_across_pages)
{
    if (no_backend())
        return;
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        CHECK_EQ(run_flat32(f, code_smc32, sizeof(code_smc32), &st), CPU_STOP_HLT);
        if (st.gpr[R_EBX] != 55 || (st.gpr[R_EDX] & 0xffff) != 0x0907)
            test_failf(__FILE__, __LINE__, "jit=%s: bl %llu (55), dx 0x%llx (0x0907): %s",
                       mode_names[mi_], (unsigned long long)st.gpr[R_EBX] & 0xff,
                       (unsigned long long)st.gpr[R_EDX] & 0xffff, cpu_error(f->cpu));
    }
}

/* 64-bit, at 0x7c00 (identity-mapped 2 MiB pages, see start_long64):
 *     mov r15, 50
 *     lea rsp, [0x30000]
 *     xor r14, r14
 * pass:
 *     mov rdi, 0x20000
 *     mov ecx, 37
 *     mov qword ptr [rdi], rcx
 *     add rcx, qword ptr [rdi]
 *     sub qword ptr [rdi + 8], rcx
 *     mov eax, dword ptr [rdi]
 *     movzx edx, byte ptr [rdi]
 *     movsx rsi, byte ptr [rdi + 8]
 *     movsxd r8, dword ptr [rdi + 8]
 *     lea r9, [rdi + rcx*4 + 0x10]
 *     push r9
 *     push rax
 *     pop r10
 *     pop r11
 *     call sub1
 *     shl r9, 3
 *     shr r10d, 5
 *     sar r11, 63
 *     imul r8, r9
 *     imul eax, ecx, 7
 *     imul rsi, qword ptr [rdi]
 *     neg r9
 *     not r10d
 *     bsf rcx, r9                     ; a handler: the host flags are not the guest's
 *     setz al
 *     cmovnz r11, r9
 *     stc
 *     inc r13                         ; keeps CF
 *     adc r14, 0
 *     clc
 *     dec esi
 *     adc r14, 0
 *     cmp r14, rax
 *     setb bl
 *     cmovb r12, r8
 *     cmp byte ptr [rdi], 37
 *     jne bad
 *     test r15, 1
 *     jz even
 *     xor r13d, r15d
 *     add r14, rdx
 * even:
 *     and r14, 0xfffff
 *     or qword ptr [rdi + 16], r14
 *     mov byte ptr [rdi + 24], bl
 *     xor rbx, rbx
 *     dec r15
 *     jnz pass
 *     mov ecx, 5
 * smc:
 *     mov byte ptr [rip + patch + 1], cl
 * patch:
 *     mov ebp, 0
 *     add r14, rbp
 *     loop smc
 *     hlt
 * sub1:
 *     add rax, 3
 *     ret
 * bad:
 *     mov r14, -1
 *     hlt
 */
static const uint8_t code_lm_forms[] = {
  0x49, 0xc7, 0xc7, 0x32, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x24, 0x25, 0x00,
  0x00, 0x03, 0x00, 0x4d, 0x31, 0xf6, 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x02,
  0x00, 0xb9, 0x25, 0x00, 0x00, 0x00, 0x48, 0x89, 0x0f, 0x48, 0x03, 0x0f,
  0x48, 0x29, 0x4f, 0x08, 0x8b, 0x07, 0x0f, 0xb6, 0x17, 0x48, 0x0f, 0xbe,
  0x77, 0x08, 0x4c, 0x63, 0x47, 0x08, 0x4c, 0x8d, 0x4c, 0x8f, 0x10, 0x41,
  0x51, 0x50, 0x41, 0x5a, 0x41, 0x5b, 0xe8, 0x85, 0x00, 0x00, 0x00, 0x49,
  0xc1, 0xe1, 0x03, 0x41, 0xc1, 0xea, 0x05, 0x49, 0xc1, 0xfb, 0x3f, 0x4d,
  0x0f, 0xaf, 0xc1, 0x6b, 0xc1, 0x07, 0x48, 0x0f, 0xaf, 0x37, 0x49, 0xf7,
  0xd9, 0x41, 0xf7, 0xd2, 0x49, 0x0f, 0xbc, 0xc9, 0x0f, 0x94, 0xc0, 0x4d,
  0x0f, 0x45, 0xd9, 0xf9, 0x49, 0xff, 0xc5, 0x49, 0x83, 0xd6, 0x00, 0xf8,
  0xff, 0xce, 0x49, 0x83, 0xd6, 0x00, 0x49, 0x39, 0xc6, 0x0f, 0x92, 0xc3,
  0x4d, 0x0f, 0x42, 0xe0, 0x80, 0x3f, 0x25, 0x75, 0x44, 0x49, 0xf7, 0xc7,
  0x01, 0x00, 0x00, 0x00, 0x74, 0x06, 0x45, 0x31, 0xfd, 0x49, 0x01, 0xd6,
  0x49, 0x81, 0xe6, 0xff, 0xff, 0x0f, 0x00, 0x4c, 0x09, 0x77, 0x10, 0x88,
  0x5f, 0x18, 0x48, 0x31, 0xdb, 0x49, 0xff, 0xcf, 0x0f, 0x85, 0x5c, 0xff,
  0xff, 0xff, 0xb9, 0x05, 0x00, 0x00, 0x00, 0x88, 0x0d, 0x01, 0x00, 0x00,
  0x00, 0xbd, 0x00, 0x00, 0x00, 0x00, 0x49, 0x01, 0xee, 0xe2, 0xf0, 0xf4,
  0x48, 0x83, 0xc0, 0x03, 0xc3, 0x49, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff,
  0xf4
};

/* Long mode at 0x7c00: 4-level tables at 0x10000 mapping the first 4 MiB
 * with 2 MiB pages (or the first 2 MiB with 4 KiB pages from a table at
 * 0x13000, when small). */
static enum cpu_stop start_long64_pages(struct fake *f, const uint8_t *code, size_t n,
                                        struct x86_state *st, int small)
{
    memcpy(f->ram + 0x7c00, code, n);
    uint64_t e;
    e = 0x11000 | 3; memcpy(f->ram + 0x10000, &e, 8);
    e = 0x12000 | 3; memcpy(f->ram + 0x11000, &e, 8);
    e = small ? 0x13000 | 3 : 0x000000 | 0x83; memcpy(f->ram + 0x12000, &e, 8);
    e = 0x200000 | 0x83; memcpy(f->ram + 0x12008, &e, 8);
    for (uint64_t k = 0; small && k < 512; k++) {
        e = k << 12 | 3;
        memcpy(f->ram + 0x13000 + 8 * k, &e, 8);
    }
    x86_state_reset(st);
    x86_state_flat32(st, 0x08, 0x10);
    st->seg[SEG_CS].attr = (uint16_t)((st->seg[SEG_CS].attr & ~SEGA_DB) | SEGA_L);
    st->cr3 = 0x10000;
    st->cr4 |= CR4_PAE | CR4_OSFXSR;
    st->cr0 |= CR0_PG;
    st->efer |= EFER_LME | EFER_LMA;
    st->rip = 0x7c00;
    cpu_set_state(f->cpu, st);
    enum cpu_stop r = cpu_run(f->cpu, 100000000, NULL);
    cpu_get_state(f->cpu, st);
    return r;
}

static enum cpu_stop start_long64(struct fake *f, const uint8_t *code, size_t n, struct x86_state *st)
{
    return start_long64_pages(f, code, n, st, 0);
}

/* Runs a long-mode program (plus optional code at 0x9000) in the three
 * modes and checks translated code ends in the interpreter's state:
 * registers, flags, RIP, the 32 bytes at 0x20000 and the instruction count.
 * The program must not reach `mov r14, -1` (its "bad" path). */
static void lm_like_interpreter(const uint8_t *code, size_t n, const uint8_t *far, size_t far_n)
{
    struct x86_state ref;
    uint8_t refmem[32];
    uint64_t ref_icount = 0;
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        if (far)
            memcpy(f->ram + 0x9000, far, far_n);
        enum cpu_stop r = start_long64(f, code, n, &st);
        if (r != CPU_STOP_HLT) {
            test_failf(__FILE__, __LINE__, "jit=%s: stop %d: %s", mode_names[mi_], r, cpu_error(f->cpu));
            continue;
        }
        CHECK(st.gpr[R_R14] != ~0ULL);         /* not the "bad" path */
        if (mi_ == 0) {
            ref = st;
            memcpy(refmem, f->ram + 0x20000, sizeof(refmem));
            ref_icount = cpu_icount(f->cpu);
            continue;
        }
        for (int k = 0; k < 16; k++)
            if (st.gpr[k] != ref.gpr[k])
                test_failf(__FILE__, __LINE__, "jit=%s: gpr %d 0x%llx, interpreter 0x%llx",
                           mode_names[mi_], k, (unsigned long long)st.gpr[k],
                           (unsigned long long)ref.gpr[k]);
        CHECK_EQ(st.rflags, ref.rflags);
        CHECK_EQ(st.rip, ref.rip);
        CHECK(memcmp(refmem, f->ram + 0x20000, sizeof(refmem)) == 0);
        CHECK_EQ(cpu_icount(f->cpu), ref_icount);
    }
}

TEST(jit_long_mode_inlined_forms_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_lm_forms, sizeof(code_lm_forms), NULL, 0);
}

/* Long mode, 40 passes: ADC/SBB on registers, immediates and memory at 8,
 * 16, 32 and 64 bits with the carry coming from the host flags (after an
 * inlined ADD or CMP) and from the lazy flags (after STC, a handler);
 * 16-bit ALU forms; NOP r/m and PREFETCH; INC whose flags die at the next
 * CMP; a call to and a jump into another page (0x9000), which the JIT
 * links across pages.
 *     mov r15, 40
 *     lea rsp, [0x30000]
 *     xor r14, r14
 *     xor r13, r13
 *     xor r12, r12
 * pass:
 *     mov rdi, 0x20000
 *     mov rax, -1
 *     mov rdx, 5
 *     add rax, 1
 *     adc rdx, 7
 *     adc r14, rdx
 *     sbb r13, rax
 *     mov qword ptr [rdi], rdx
 *     stc
 *     adc qword ptr [rdi], 3
 *     sbb ecx, ecx
 *     adc r13b, dl
 *     sbb r14w, 0x1234
 *     mov word ptr [rdi+8], r14w
 *     add word ptr [rdi+8], dx
 *     cmp r14w, word ptr [rdi+8]
 *     setb bl
 *     add r13, rbx
 *     sub ax, cx
 *     adc r14, rax
 *     nop dword ptr [rax+rax]
 *     prefetcht0 [rdi]
 *     inc r12
 *     cmp r12, r15
 *     sbb r13, qword ptr [rdi]
 *     call sub2                 ; 0x9000
 *     add r14, rax
 *     dec r15
 *     jnz pass
 *     jmp far2                  ; 0x9010
 * back:
 *     hlt
 * at 0x9000:
 * sub2:
 *     add rax, r13
 *     adc rax, 1
 *     ret
 * .org 0x9010
 * far2:
 *     add r14, 7
 *     jmp back
 */
static const uint8_t code_carry[] = {
    0x49, 0xc7, 0xc7, 0x28, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x24, 0x25, 0x00,
    0x00, 0x03, 0x00, 0x4d, 0x31, 0xf6, 0x4d, 0x31, 0xed, 0x4d, 0x31, 0xe4,
    0x48, 0xc7, 0xc7, 0x00, 0x00, 0x02, 0x00, 0x48, 0xc7, 0xc0, 0xff, 0xff,
    0xff, 0xff, 0x48, 0xc7, 0xc2, 0x05, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc0,
    0x01, 0x48, 0x83, 0xd2, 0x07, 0x49, 0x11, 0xd6, 0x49, 0x19, 0xc5, 0x48,
    0x89, 0x17, 0xf9, 0x48, 0x83, 0x17, 0x03, 0x19, 0xc9, 0x41, 0x10, 0xd5,
    0x66, 0x41, 0x81, 0xde, 0x34, 0x12, 0x66, 0x44, 0x89, 0x77, 0x08, 0x66,
    0x01, 0x57, 0x08, 0x66, 0x44, 0x3b, 0x77, 0x08, 0x0f, 0x92, 0xc3, 0x49,
    0x01, 0xdd, 0x66, 0x29, 0xc8, 0x49, 0x11, 0xc6, 0x0f, 0x1f, 0x04, 0x00,
    0x0f, 0x18, 0x0f, 0x49, 0xff, 0xc4, 0x4d, 0x39, 0xfc, 0x4c, 0x1b, 0x2f,
    0xe8, 0x83, 0x13, 0x00, 0x00, 0x49, 0x01, 0xc6, 0x49, 0xff, 0xcf, 0x75,
    0x93, 0xe9, 0x86, 0x13, 0x00, 0x00, 0xf4,
};
static const uint8_t code_carry_far[] = {
    0x4c, 0x01, 0xe8, 0x48, 0x83, 0xd0, 0x01, 0xc3, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x83, 0xc6, 0x07, 0xe9, 0x71, 0xec, 0xff,
    0xff,
};

TEST(jit_carry_16bit_nop_and_cross_page_forms_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_carry, sizeof(code_carry), code_carry_far, sizeof(code_carry_far));
}

/* Long mode, 20 passes over SSE2 integer operations and 128-bit moves
 * (aligned and unaligned loads and stores, register and memory sources,
 * PMOVMSKB into general registers), whose results end in r14, rcx, rdx,
 * rsi and the 32 bytes at 0x20000.
 *     mov r15, 20
 *     mov rdi, 0x20000
 *     xor r14, r14
 *     mov rax, 0x0123456789abcdef
 *     mov [rdi], rax
 *     mov rax, 0xfedcba9876543210
 *     mov [rdi+8], rax
 *     mov rax, 0x8070605040302010
 *     mov [rdi+16], rax
 *     mov rax, 0x00ff00ff7f7f8080
 *     mov [rdi+24], rax
 *     mov [rdi+32], rax
 * lp:
 *     movdqu xmm0, [rdi+1]
 *     movaps xmm1, [rdi+16]
 *     movups xmm2, [rdi+3]
 *     pxor xmm0, xmm1
 *     pcmpeqb xmm2, xmm0
 *     paddd xmm1, [rdi+16]
 *     punpcklbw xmm3, xmm2
 *     pmovmskb eax, xmm2
 *     add r14, rax
 *     movups [rdi+16], xmm0
 *     movaps xmm4, xmm3
 *     movdqu xmm5, xmm4
 *     psubb xmm5, xmm1
 *     pminub xmm5, xmm0
 *     movdqa [rdi], xmm5
 *     pmovmskb ecx, xmm5
 *     add r14, rcx
 *     dec r15
 *     jnz lp
 *     pmovmskb edx, xmm4
 *     pmovmskb esi, xmm1
 *     hlt
 */
static const uint8_t code_sse[] = {
    0x49, 0xc7, 0xc7, 0x14, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x00,
    0x02, 0x00, 0x4d, 0x31, 0xf6, 0x48, 0xb8, 0xef, 0xcd, 0xab, 0x89, 0x67,
    0x45, 0x23, 0x01, 0x48, 0x89, 0x07, 0x48, 0xb8, 0x10, 0x32, 0x54, 0x76,
    0x98, 0xba, 0xdc, 0xfe, 0x48, 0x89, 0x47, 0x08, 0x48, 0xb8, 0x10, 0x20,
    0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x48, 0x89, 0x47, 0x10, 0x48, 0xb8,
    0x80, 0x80, 0x7f, 0x7f, 0xff, 0x00, 0xff, 0x00, 0x48, 0x89, 0x47, 0x18,
    0x48, 0x89, 0x47, 0x20, 0xf3, 0x0f, 0x6f, 0x47, 0x01, 0x0f, 0x28, 0x4f,
    0x10, 0x0f, 0x10, 0x57, 0x03, 0x66, 0x0f, 0xef, 0xc1, 0x66, 0x0f, 0x74,
    0xd0, 0x66, 0x0f, 0xfe, 0x4f, 0x10, 0x66, 0x0f, 0x60, 0xda, 0x66, 0x0f,
    0xd7, 0xc2, 0x49, 0x01, 0xc6, 0x0f, 0x11, 0x47, 0x10, 0x0f, 0x28, 0xe3,
    0xf3, 0x0f, 0x6f, 0xec, 0x66, 0x0f, 0xf8, 0xe9, 0x66, 0x0f, 0xda, 0xe8,
    0x66, 0x0f, 0x7f, 0x2f, 0x66, 0x0f, 0xd7, 0xcd, 0x49, 0x01, 0xce, 0x49,
    0xff, 0xcf, 0x75, 0xb8, 0x66, 0x0f, 0xd7, 0xd4, 0x66, 0x0f, 0xd7, 0xf1,
    0xf4,
};

TEST(jit_sse_integer_forms_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_sse, sizeof(code_sse), NULL, 0);
}

/* Long mode, 30 passes over indirect CALL and JMP through registers and
 * memory (r14 sums what the callees add).
 *     mov r15, 30
 *     xor r14, r14
 *     lea rsp, [0x30000]
 *     mov rdi, 0x20000
 *     lea rax, [rip + f1]
 *     mov [rdi], rax
 * lp:
 *     lea rbx, [rip + f2]
 *     call rbx
 *     call qword ptr [rdi]
 *     lea rcx, [rip + cont]
 *     jmp rcx
 * cont:
 *     lea rcx, [rip + cont2]
 *     mov [rdi + 16], rcx
 *     jmp qword ptr [rdi + 16]
 * cont2:
 *     dec r15
 *     jnz lp
 *     hlt
 * f1:
 *     add r14, 3
 *     ret
 * f2:
 *     add r14, 5
 *     ret
 */
static const uint8_t code_indirect[] = {
    0x49, 0xc7, 0xc7, 0x1e, 0x00, 0x00, 0x00, 0x4d, 0x31, 0xf6, 0x48, 0x8d,
    0x24, 0x25, 0x00, 0x00, 0x03, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x02,
    0x00, 0x48, 0x8d, 0x05, 0x2b, 0x00, 0x00, 0x00, 0x48, 0x89, 0x07, 0x48,
    0x8d, 0x1d, 0x26, 0x00, 0x00, 0x00, 0xff, 0xd3, 0xff, 0x17, 0x48, 0x8d,
    0x0d, 0x02, 0x00, 0x00, 0x00, 0xff, 0xe1, 0x48, 0x8d, 0x0d, 0x07, 0x00,
    0x00, 0x00, 0x48, 0x89, 0x4f, 0x10, 0xff, 0x67, 0x10, 0x49, 0xff, 0xcf,
    0x75, 0xd9, 0xf4, 0x49, 0x83, 0xc6, 0x03, 0xc3, 0x49, 0x83, 0xc6, 0x05,
    0xc3,
};

TEST(jit_indirect_call_and_jmp_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_indirect, sizeof(code_indirect), NULL, 0);
}

/* Long mode, 25 passes over BSF/BSR (zero and non-zero sources, register
 * and memory, flags read or overwritten), CDQE/CWDE/CQO/CDQ, and ROL/ROR
 * whose flags are overwritten unread or read by ADC.
 *     mov r15, 25
 *     xor r14, r14
 *     mov rdi, 0x20000
 *     mov rax, 0x0000100000000000
 *     mov [rdi], rax
 *     mov qword ptr [rdi + 8], 0
 * lp:
 *     mov rdx, -1
 *     bsf rdx, qword ptr [rdi + 8]
 *     setz cl
 *     add r14, rdx
 *     bsr rsi, qword ptr [rdi]
 *     add r14, rsi
 *     mov r8, r15
 *     bsf r9d, r8d
 *     lea r14, [r14 + r9]
 *     bsr r10, r8
 *     jz bad
 *     adc r14, r10
 *     mov eax, r15d
 *     neg eax
 *     cdqe
 *     add r14, rax
 *     mov eax, 0xffff8000
 *     cwde
 *     xor r14, rax
 *     cqo
 *     sub r14, rdx
 *     mov eax, r15d
 *     neg eax
 *     cdq
 *     add r14, rdx
 *     mov r11, r14
 *     rol r11, 7
 *     add r14, r11
 *     ror r11d, 3
 *     xor r14, r11
 *     rol r14, 1
 *     adc r14, 0
 *     movzx ecx, cl
 *     add r14, rcx
 *     dec r15
 *     jnz lp
 *     hlt
 * bad:
 *     mov r14, -1
 *     hlt
 */
static const uint8_t code_bits[] = {
    0x49, 0xc7, 0xc7, 0x19, 0x00, 0x00, 0x00, 0x4d, 0x31, 0xf6, 0x48, 0xc7,
    0xc7, 0x00, 0x00, 0x02, 0x00, 0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x00, 0x00, 0x48, 0x89, 0x07, 0x48, 0xc7, 0x47, 0x08, 0x00, 0x00,
    0x00, 0x00, 0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, 0x48, 0x0f, 0xbc,
    0x57, 0x08, 0x0f, 0x94, 0xc1, 0x49, 0x01, 0xd6, 0x48, 0x0f, 0xbd, 0x37,
    0x49, 0x01, 0xf6, 0x4d, 0x89, 0xf8, 0x45, 0x0f, 0xbc, 0xc8, 0x4f, 0x8d,
    0x34, 0x0e, 0x4d, 0x0f, 0xbd, 0xd0, 0x74, 0x48, 0x4d, 0x11, 0xd6, 0x44,
    0x89, 0xf8, 0xf7, 0xd8, 0x48, 0x98, 0x49, 0x01, 0xc6, 0xb8, 0x00, 0x80,
    0xff, 0xff, 0x98, 0x49, 0x31, 0xc6, 0x48, 0x99, 0x49, 0x29, 0xd6, 0x44,
    0x89, 0xf8, 0xf7, 0xd8, 0x99, 0x49, 0x01, 0xd6, 0x4d, 0x89, 0xf3, 0x49,
    0xc1, 0xc3, 0x07, 0x4d, 0x01, 0xde, 0x41, 0xc1, 0xcb, 0x03, 0x4d, 0x31,
    0xde, 0x49, 0xd1, 0xc6, 0x49, 0x83, 0xd6, 0x00, 0x0f, 0xb6, 0xc9, 0x49,
    0x01, 0xce, 0x49, 0xff, 0xcf, 0x75, 0x8f, 0xf4, 0x49, 0xc7, 0xc6, 0xff,
    0xff, 0xff, 0xff, 0xf4,
};

TEST(jit_bit_scans_sign_extensions_and_rotates_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_bits, sizeof(code_bits), NULL, 0);
}

/* Long mode, 25 passes over MUL at 32 and 64 bits from registers and
 * memory, with CF/OF read by ADC, SETO and JC.
 *     mov r15, 25
 *     xor r14, r14
 *     mov rdi, 0x20000
 *     mov rax, 0x123456789abcdef1
 *     mov [rdi], rax
 * lp:
 *     mov rax, r15
 *     mov rcx, 0x1000000001
 *     mul rcx
 *     add r14, rdx
 *     adc r14, rax
 *     mov eax, r15d
 *     shl eax, 27
 *     mul dword ptr [rdi]
 *     seto cl
 *     add r14, rax
 *     add r14, rdx
 *     movzx ecx, cl
 *     add r14, rcx
 *     mov rax, r14
 *     mul qword ptr [rdi]
 *     xor r14, rdx
 *     mov eax, 3
 *     mul r15d
 *     jc bad
 *     add r14, rax
 *     dec r15
 *     jnz lp
 *     hlt
 * bad:
 *     mov r14, -1
 *     hlt
 */
static const uint8_t code_mul[] = {
    0x49, 0xc7, 0xc7, 0x19, 0x00, 0x00, 0x00, 0x4d, 0x31, 0xf6, 0x48, 0xc7,
    0xc7, 0x00, 0x00, 0x02, 0x00, 0x48, 0xb8, 0xf1, 0xde, 0xbc, 0x9a, 0x78,
    0x56, 0x34, 0x12, 0x48, 0x89, 0x07, 0x4c, 0x89, 0xf8, 0x48, 0xb9, 0x01,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x48, 0xf7, 0xe1, 0x49, 0x01,
    0xd6, 0x49, 0x11, 0xc6, 0x44, 0x89, 0xf8, 0xc1, 0xe0, 0x1b, 0xf7, 0x27,
    0x0f, 0x90, 0xc1, 0x49, 0x01, 0xc6, 0x49, 0x01, 0xd6, 0x0f, 0xb6, 0xc9,
    0x49, 0x01, 0xce, 0x4c, 0x89, 0xf0, 0x48, 0xf7, 0x27, 0x49, 0x31, 0xd6,
    0xb8, 0x03, 0x00, 0x00, 0x00, 0x41, 0xf7, 0xe7, 0x72, 0x09, 0x49, 0x01,
    0xc6, 0x49, 0xff, 0xcf, 0x75, 0xb8, 0xf4, 0x49, 0xc7, 0xc6, 0xff, 0xff,
    0xff, 0xff, 0xf4,
};

TEST(jit_mul_matches_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_mul, sizeof(code_mul), NULL, 0);
}

/* Devices report guest-RAM writes (DMA) to the CPU, which queues them
 * for its next block boundary. Many scattered reports (a disk read into
 * 255 page-cache pages) must neither drop translations they do not touch
 * nor lose the one that does touch code. Real mode, code at 0x8000:
 * mov al, 1; hlt. */
TEST(jit_many_dma_reports_keep_untouched_code_and_drop_touched_code)
{
    /* l: mov al, 1; jmp l (run for 100 instructions at a time) */
    static const uint8_t prog[] = {0xb0, 0x01, 0xeb, 0xfc};
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        memcpy(f->ram + 0x8000, prog, sizeof(prog));
        x86_state_reset(&st);
        st.seg[SEG_CS].sel = 0;
        st.seg[SEG_CS].base = 0;
        st.rip = 0x8000;
        cpu_set_state(f->cpu, &st);
        CHECK_EQ(cpu_run(f->cpu, 100, NULL), CPU_STOP_BUDGET);
        uint64_t decoded = cpu_blocks_decoded(f->cpu);
        /* 200 reports far from the code */
        for (uint64_t k = 0; k < 200; k++)
            cpu_invalidate_phys(f->cpu, 0x100000 + k * 0x3000, 0x1000);
        CHECK_EQ(cpu_run(f->cpu, 100, NULL), CPU_STOP_BUDGET);
        cpu_get_state(f->cpu, &st);
        CHECK_EQ(st.gpr[R_EAX] & 0xff, 1);
        CHECK_EQ(cpu_blocks_decoded(f->cpu), decoded);     /* nothing decoded again */
        /* the code rewritten behind the CPU, reported among 200 others */
        f->ram[0x8001] = 2;
        for (uint64_t k = 0; k < 200; k++) {
            if (k == 120)
                cpu_invalidate_phys(f->cpu, 0x8001, 1);
            cpu_invalidate_phys(f->cpu, 0x100000 + k * 0x3000, 0x1000);
        }
        CHECK_EQ(cpu_run(f->cpu, 100, NULL), CPU_STOP_BUDGET);
        cpu_get_state(f->cpu, &st);
        if ((st.gpr[R_EAX] & 0xff) != 2)
            test_failf(__FILE__, __LINE__, "jit=%s: al = %llu, want 2", mode_names[mi_],
                       (unsigned long long)(st.gpr[R_EAX] & 0xff));
        CHECK(1);
    }
}

/* Long mode, 70 passes over SHL/SHR/SAR by CL at 32 and 64 bits (counts
 * 70 down to 1, so masked counts of 0 too), CF and OF read by ADC and
 * SETO, and a zero count that must keep the carry of STC.
 *     mov r15, 70
 *     xor r14, r14
 *     mov r13, 0x8badf00ddeadbeef
 * lp:
 *     mov ecx, r15d
 *     mov rax, r13
 *     shr rax, cl
 *     adc r14, rax
 *     mov edx, r13d
 *     shl edx, cl
 *     seto bl
 *     adc r14, rdx
 *     movzx ebx, bl
 *     add r14, rbx
 *     mov rsi, r13
 *     sar rsi, cl
 *     adc r14, rsi
 *     xor ecx, ecx
 *     stc
 *     mov rdi, r14
 *     shl rdi, cl
 *     adc r14, rdi
 *     mov cl, 33
 *     mov r8d, r13d
 *     shr r8d, cl
 *     add r14, r8
 *     rol r13, 3
 *     dec r15
 *     jnz lp
 *     hlt
 */
static const uint8_t code_shcl[] = {
    0x49, 0xc7, 0xc7, 0x46, 0x00, 0x00, 0x00, 0x4d, 0x31, 0xf6, 0x49, 0xbd,
    0xef, 0xbe, 0xad, 0xde, 0x0d, 0xf0, 0xad, 0x8b, 0x44, 0x89, 0xf9, 0x4c,
    0x89, 0xe8, 0x48, 0xd3, 0xe8, 0x49, 0x11, 0xc6, 0x44, 0x89, 0xea, 0xd3,
    0xe2, 0x0f, 0x90, 0xc3, 0x49, 0x11, 0xd6, 0x0f, 0xb6, 0xdb, 0x49, 0x01,
    0xde, 0x4c, 0x89, 0xee, 0x48, 0xd3, 0xfe, 0x49, 0x11, 0xf6, 0x31, 0xc9,
    0xf9, 0x4c, 0x89, 0xf7, 0x48, 0xd3, 0xe7, 0x49, 0x11, 0xfe, 0xb1, 0x21,
    0x45, 0x89, 0xe8, 0x41, 0xd3, 0xe8, 0x4d, 0x01, 0xc6, 0x49, 0xc1, 0xc5,
    0x03, 0x49, 0xff, 0xcf, 0x75, 0xba, 0xf4,
};

TEST(jit_shifts_by_cl_match_the_interpreter)
{
    if (no_backend())
        return;
    lm_like_interpreter(code_shcl, sizeof(code_shcl), NULL, 0);
}

/* Long mode, 4 KiB pages: the same call site runs ten times into the code
 * at linear 0x9000 (physical 0x9000: mov eax, 1; ret), by then linked
 * across pages; then the page is remapped to physical 0xa000 (mov eax, 2;
 * ret) with INVLPG and the call runs ten times more. A link that outlived
 * the mapping would run the old code: r14 would be 20, not 30.
 *     lea rsp, [0x30000]
 *     xor r14, r14
 *     mov r12, 2
 * outer:
 *     mov r15, 10
 * inner:
 *     call 0x9000
 *     add r14, rax
 *     dec r15
 *     jnz inner
 *     mov rdi, 0x13048                ; the PTE of linear 0x9000
 *     mov qword ptr [rdi], 0xa003
 *     invlpg [0x9000]
 *     dec r12
 *     jnz outer
 *     hlt
 */
static const uint8_t code_remap[] = {
    0x48, 0x8d, 0x24, 0x25, 0x00, 0x00, 0x03, 0x00, 0x4d, 0x31, 0xf6, 0x49,
    0xc7, 0xc4, 0x02, 0x00, 0x00, 0x00, 0x49, 0xc7, 0xc7, 0x0a, 0x00, 0x00,
    0x00, 0xe8, 0xe2, 0x13, 0x00, 0x00, 0x49, 0x01, 0xc6, 0x49, 0xff, 0xcf,
    0x75, 0xf3, 0x48, 0xc7, 0xc7, 0x48, 0x30, 0x01, 0x00, 0x48, 0xc7, 0x07,
    0x03, 0xa0, 0x00, 0x00, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x90, 0x00, 0x00,
    0x49, 0xff, 0xcc, 0x75, 0xd1, 0xf4,
};

TEST(jit_cross_page_link_follows_a_remapped_page)
{
    if (no_backend())
        return;
    static const uint8_t ret1[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3};
    static const uint8_t ret2[] = {0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3};
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        memcpy(f->ram + 0x9000, ret1, sizeof(ret1));
        memcpy(f->ram + 0xa000, ret2, sizeof(ret2));
        enum cpu_stop r = start_long64_pages(f, code_remap, sizeof(code_remap), &st, 1);
        if (r != CPU_STOP_HLT) {
            test_failf(__FILE__, __LINE__, "jit=%s: stop %d: %s", mode_names[mi_], r, cpu_error(f->cpu));
            continue;
        }
        if (st.gpr[R_R14] != 30)
            test_failf(__FILE__, __LINE__, "jit=%s: r14 = %llu, want 30", mode_names[mi_],
                       (unsigned long long)st.gpr[R_R14]);
        CHECK(1);
    }
}

/* 32-bit, at 0x7c00 (DS limit 0x8fff, #GP handler at 0x7c40):
 *     mov ecx, 200
 *     mov esi, 0x8f80
 *     mov edi, 0x5000
 *     cld
 *     inc ebx
 * rep_at: rep movsb                  ; runs into the DS limit
 *     hlt
 * .org 0x20                          ; second entry
 *     mov ebx, 5
 *     add ebx, 1
 * jmp_at: jmp dword ptr [0x9100]     ; the block's last insn faults
 *     hlt
 * .org 0x40                          ; #GP handler
 *     pop eax                        ; error code
 *     pop edx                        ; faulting EIP
 *     hlt
 */
static const uint8_t code_faults[] = {
    0xb9, 0xc8, 0x00, 0x00, 0x00, 0xbe, 0x80, 0x8f, 0x00, 0x00, 0xbf, 0x00,
    0x50, 0x00, 0x00, 0xfc, 0x43, 0xf3, 0xa4, 0xf4, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbb, 0x05, 0x00, 0x00,
    0x00, 0x83, 0xc3, 0x01, 0xff, 0x25, 0x00, 0x91, 0x00, 0x00, 0xf4, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x58, 0x5a, 0xf4,
};

/* Flat 32-bit code with a GDT (0x800) and an IDT (0x1000) whose gate
 * `vec` leads to handler. */
static void setup_pm32(struct fake *f, struct x86_state *st, int vec, uint32_t handler)
{
    static const uint64_t gdt[3] = {0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL};
    memcpy(f->ram + 0x800, gdt, sizeof(gdt));
    uint64_t gate = (handler & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) |
                    ((uint64_t)(handler >> 16) << 48);
    memcpy(f->ram + 0x1000 + 8 * vec, &gate, 8);
    x86_state_reset(st);
    x86_state_flat32(st, 0x08, 0x10);
    st->gdtr.base = 0x800;
    st->gdtr.limit = sizeof(gdt) - 1;
    st->idtr.base = 0x1000;
    st->idtr.limit = 0x7ff;
    st->gpr[R_ESP] = 0x7000;
}

TEST(jit_fault_in_rep_string_and_on_the_last_insn_is_precise)
{
    if (no_backend())
        return;
    FOR_MODES(f, 1u << 20) {
        for (int entry = 0; entry < 2; entry++) {
            struct x86_state st;
            memcpy(f->ram + 0x7c00, code_faults, sizeof(code_faults));
            setup_pm32(f, &st, 13, 0x7c40);
            st.seg[SEG_DS].limit = 0x8fff;
            st.seg[SEG_DS].attr &= (uint16_t)~SEGA_G;
            st.rip = entry ? 0x7c20 : 0x7c00;
            /* run it twice: the second time its blocks are translated */
            for (int pass = 0; pass < 2; pass++) {
                struct x86_state s = st;
                cpu_set_state(f->cpu, &s);
                CHECK_EQ(cpu_run(f->cpu, 1000000, NULL), CPU_STOP_HLT);
                cpu_get_state(f->cpu, &s);
                CHECK_EQ(s.gpr[R_EAX], 0);                      /* #GP(0) */
                if (entry == 0) {
                    CHECK_EQ(s.gpr[R_EDX], 0x7c11);             /* the REP MOVSB */
                    CHECK_EQ(s.gpr[R_ECX], 200 - 128);
                    CHECK_EQ(s.gpr[R_ESI], 0x9000);
                    CHECK_EQ(s.gpr[R_EDI], 0x5080);
                    CHECK_EQ(s.gpr[R_EBX], 1);
                    CHECK_EQ(f->ram[0x507f], f->ram[0x8fff]);
                } else {
                    CHECK_EQ(s.gpr[R_EDX], 0x7c28);             /* the JMP */
                    CHECK_EQ(s.gpr[R_EBX], 6);
                }
                if (test_failures())
                    test_failf(__FILE__, __LINE__, "jit=%s entry %d pass %d: %s",
                               mode_names[mi_], entry, pass, cpu_error(f->cpu));
            }
        }
    }
}

/* 32-bit: sti; l: inc eax; jmp l — and at 0x7c40: mov ebx, 0x1234; hlt */
struct irq_thread {
    struct fake *f;
    _Atomic int stop;
    _Atomic int give_up;
};

static void *raise_irq(void *arg)
{
    struct irq_thread *t = arg;
    usleep(20000);
    t->f->intr_vec = 0x30;
    cpu_set_intr(t->f->cpu, true);
    /* If the loop never looks, end the run after 5 s instead of hanging. */
    for (int k = 0; k < 500 && !atomic_load(&t->stop); k++)
        usleep(10000);
    atomic_store(&t->give_up, 1);
    return NULL;
}

TEST(jit_tight_chained_loop_takes_its_interrupt)
{
    if (no_backend())
        return;
    static const uint8_t loop[] = {0xfb, 0x40, 0xeb, 0xfd};
    static const uint8_t handler[] = {0xbb, 0x34, 0x12, 0x00, 0x00, 0xf4};
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        memcpy(f->ram + 0x7c00, loop, sizeof(loop));
        memcpy(f->ram + 0x7c40, handler, sizeof(handler));
        setup_pm32(f, &st, 0x30, 0x7c40);
        st.rip = 0x7c00;
        cpu_set_state(f->cpu, &st);
        struct irq_thread t = {.f = f};
        pthread_t th;
        pthread_create(&th, NULL, raise_irq, &t);
        enum cpu_stop r = cpu_run(f->cpu, ~0ULL >> 2, &t.give_up);
        atomic_store(&t.stop, 1);
        pthread_join(th, NULL);
        cpu_get_state(f->cpu, &st);
        if (r != CPU_STOP_HLT || st.gpr[R_EBX] != 0x1234)
            test_failf(__FILE__, __LINE__, "jit=%s: stop %d, ebx 0x%llx: the loop never took "
                       "its interrupt", mode_names[mi_], r, (unsigned long long)st.gpr[R_EBX]);
        CHECK(st.gpr[R_EAX] > 0);
    }
}

TEST(jit_exit_request_stops_a_chained_loop)
{
    if (no_backend())
        return;
    static const uint8_t loop[] = {0x40, 0xeb, 0xfd};      /* l: inc eax; jmp l */
    FOR_MODES(f, 1u << 20) {
        struct x86_state st;
        memcpy(f->ram + 0x7c00, loop, sizeof(loop));
        x86_state_reset(&st);
        x86_state_flat32(&st, 0x08, 0x10);
        st.rip = 0x7c00;
        cpu_set_state(f->cpu, &st);
        struct irq_thread t = {.f = f};
        pthread_t th;
        /* no interrupt is ever taken (IF = 0): only give_up ends it */
        pthread_create(&th, NULL, raise_irq, &t);
        enum cpu_stop r = cpu_run(f->cpu, ~0ULL >> 2, &t.give_up);
        pthread_join(th, NULL);
        CHECK_EQ(r, CPU_STOP_EXIT_REQUEST);
        CHECK(cpu_icount(f->cpu) > 1000);
    }
}

TEST(jit_code_cache_fills_and_is_flushed_under_a_running_guest)
{
    if (no_backend())
        return;
    /* 3000 blocks of "inc eax; jmp next", then dec ecx; jnz back; hlt,
     * five passes, in a 64 KiB cache (the smallest). */
    enum { N = 3000 };
    static uint8_t code[N * 3 + 16];
    for (int k = 0; k < N; k++) {
        code[3 * k] = 0x40;
        code[3 * k + 1] = 0xeb;
        code[3 * k + 2] = 0x00;
    }
    size_t p = N * 3;
    code[p++] = 0x49;                          /* dec ecx */
    code[p++] = 0x0f; code[p++] = 0x85;        /* jnz rel32 back to 0x7c00 */
    int32_t rel = -(int32_t)(p + 4);
    memcpy(code + p, &rel, 4);
    p += 4;
    code[p++] = 0xf4;
    FOR_MODES(f, 64u << 10) {
        struct x86_state st;
        memcpy(f->ram + 0x7c00, code, p);
        x86_state_reset(&st);
        x86_state_flat32(&st, 0x08, 0x10);
        st.rip = 0x7c00;
        st.gpr[R_ECX] = 5;
        cpu_set_state(f->cpu, &st);
        CHECK_EQ(cpu_run(f->cpu, 100000000, NULL), CPU_STOP_HLT);
        cpu_get_state(f->cpu, &st);
        CHECK_EQ(st.gpr[R_EAX], 5 * N);
        struct cpu_jit_stats js;
        cpu_get_jit_stats(f->cpu, &js);
        if (modes[mi_] != CPU_JIT_OFF) {
            CHECK(js.flushes > 0);
            CHECK(js.blocks > (uint64_t)N);
        } else {
            CHECK_EQ(js.blocks, 0);
        }
    }
}
