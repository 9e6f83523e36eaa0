/* long: 64-bit mode (SDM vol. 3, chapters 2.2, 4.5, 5.8.8, 6.14, 7.7).
 * Entered from the multiboot 32-bit entry: PAE + 4-level page tables
 * (2 MiB pages), EFER.LME, CR0.PG, a far jump to a 64-bit code segment.
 * Then: RIP-relative addressing, CMPXCHG16B, canonical-address #GP/#SS,
 * a 64-bit IDT with IST stacks and the 16-byte stack alignment of frames,
 * ring 3 through IRETQ, SYSCALL/SYSRET with STAR/LSTAR/FMASK, SWAPGS,
 * 4-level #PF error codes and CR2, privilege faults, and generated
 * 64-bit operand cases (a checksum per instruction). Output like sys32.h:
 * " -" or " #vv e=eeee @+off cpl=n"; QEMU is the golden. */
#include "mboot32.h"
#include "long64.h"


        .section .data
/* 64-bit TSS (SDM vol. 3, 7.7): RSP0 at 4, IST1-7 at 0x24. */
        .balign 16
tss64:  .long 0
        .long stack3_top0, 0, 0, 0, 0, 0 /* RSP0-2 */
        .quad 0
        .long ist1_top, 0, ist2_top, 0 /* IST1, IST2 */
        .quad 0, 0, 0, 0, 0
        .quad 0
        .word 0, 104
tss64_end:
rr_data: .quad 0x1122334455667788, 0
        .balign 16
cx16:   .quad 1, 2
        .quad 0
kgs_data: .quad 0x6b67732d64617461      /* what GS:0 reads after SWAPGS */

        .section .bss
        .balign 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pdir:   .skip 4096
idt64:  .skip 256 * 16
        .skip 4096
stack3_top0:
        .skip 4096
stack3_top:
        .skip 1024
ist1_top:
        .skip 1024
ist2_top:
catch_rsp:   .quad 0
catch_rec:   .quad 0
catch_start: .quad 0
c_vec:  .quad 0
c_err:  .quad 0
c_rip:  .quad 0
c_cs:   .quad 0
c_rsp:  .quad 0
c_hrsp: .quad 0
c_cr2:  .quad 0
        .section .data
err_mask: .quad 0xffff
        .section .bss
sc_rcx: .quad 0
sc_r11: .quad 0
sc_fl:  .quad 0
sc_kgs: .quad 0
u_cs:   .quad 0
u_ss:   .quad 0
u_fl:   .quad 0
        .text

/* ---- 32-bit part: page tables, long mode on ---- */
main:
        FLAT32
        /* 0-8 MiB identity, 2 MiB pages, user/writable; PD[2] (4-6 MiB)
         * supervisor only, PD[3] (6-8 MiB) NX. */
        movl $(pdpt + 7), pml4
        movl $(pdir + 7), pdpt
        movl $(0x000000 + 0x87), pdir
        movl $(0x200000 + 0x87), pdir + 8
        movl $(0x400000 + 0x83), pdir + 16
        movl $(0x600000 + 0x87), pdir + 24
        movl $0x80000000, pdir + 28
        LONG_MODE(pml4, 0x900)  /* LME, NXE */

        .code64
#define TRY   mov %rsp, catch_rsp(%rip); lea 7f(%rip), %rax; mov %rax, catch_rec(%rip); \
              lea 6f(%rip), %rax; mov %rax, catch_start(%rip); movq $-1, c_vec(%rip); 6:
#define ENDTRY 7: mov catch_rsp(%rip), %rsp; call report
#define CASE(name) P64(name); TRY
#define END   ENDTRY; call nl64

long_main:
        LONG_SEGS(stack_top)
        call tss64_load
        /* the IDT */
        xor %ecx, %ecx
1:      mov %rcx, %rax
        shl $4, %rax
        lea stubs64(%rip), %rdx
        add %rdx, %rax
        mov $0x8e00, %edx
        cmp $0x80, %ecx
        jne 2f
        mov $0xee00, %edx
2:      call idt64_set
        inc %ecx
        cmp $256, %ecx
        jb 1b
        lidt idt64r(%rip)

        CASE("efer lme/lma/nxe ")
        mov $MSR_EFER, %ecx; rdmsr; and $0xd01, %eax; call hex32_64; mov %cs, %eax; P64(" cs "); call hex8_64
        END

        P64("rip-relative\n")
        CASE("lea rip vs absolute ")
        lea rr_data(%rip), %rax; mov $rr_data, %ebx; sub %rbx, %rax; call hex64
        END
        CASE("load rip ")
        mov rr_data(%rip), %rax; call hex64
        END
        CASE("store imm32 rip ")
        movl $0x55aa55aa, rr_data + 8(%rip); movq rr_data + 8(%rip), %rax; call hex64
        END
        CASE("cmp imm8 rip ")
        cmpb $0x88, rr_data(%rip); sete %al; movzbl %al, %eax; call hex8_64
        END
        CASE("add imm8 to rip qword ")
        addq $-1, rr_data + 8(%rip); mov rr_data + 8(%rip), %rax; call hex64
        END

        P64("cmpxchg16b\n")
        CASE("equal ")
        mov $1, %eax; mov $2, %edx; mov $3, %ebx; mov $4, %ecx; lock cmpxchg16b cx16(%rip); setz %al; movzbl %al, %eax; call hex8_64; mov cx16(%rip), %rax; call sp64; call hex64; mov cx16 + 8(%rip), %rax; call sp64; call hex64
        END
        CASE("not equal ")
        mov $9, %eax; mov $9, %edx; mov $5, %ebx; mov $6, %ecx; cmpxchg16b cx16(%rip); setz %bl; movzbl %bl, %ebx; push %rax; mov %rbx, %rax; call hex8_64; pop %rax; call sp64; call hex64; mov %rdx, %rax; call sp64; call hex64
        END
        CASE("misaligned")
        cmpxchg16b cx16 + 8(%rip)
        END

        P64("canonical\n")
        CASE("load non-canonical")
        mov $0x0000800000000000, %rbx; mov (%rbx), %rax
        END
        CASE("load wrapping to non-canonical")
        mov $0x00007ffffffffff8, %rbx; mov 8(%rbx), %rax
        END
        CASE("load high canonical, not mapped")
        mov $0xffff800000001000, %rbx; mov (%rbx), %rax
        END
        call pcr2
        /* Not here: a push with a non-canonical RSP, which the SDM makes
         * #SS(0) (vol. 2, PUSH, 64-bit mode exceptions); QEMU 7.2 raises
         * #GP(0) for it. */
        /* Reported at the new RIP: AMD and QEMU do that, Intel reports
         * the JMP itself (SDM vol. 2, JMP: #GP(0) for a non-canonical
         * target). */
        CASE("jmp non-canonical")
        mov $0x0000800000000000, %rax; jmp *%rax
        END

        P64("idt\n")
        mov $0x30, %ecx
        lea stubs64 + 0x30 * 16(%rip), %rax
        mov $0x8e02, %edx
        call idt64_set
        CASE("int 0x30 on ist2")
        int $0x30
        END
        P64("  handler rsp from ist2 top ")
        mov c_hrsp(%rip), %rax
        lea ist2_top(%rip), %rbx
        sub %rbx, %rax
        call hex64
        call nl64
        CASE("int 0x31, rsp 8 mod 16")
        and $~0xf, %rsp; sub $8, %rsp; int $0x31
        END
        P64("  frame top mod 16 ")
        mov c_hrsp(%rip), %rax
        add $16 + 40, %rax
        and $0xf, %eax
        call hex8_64
        P64(" saved rsp mod 16 ")
        mov c_rsp(%rip), %rax
        and $0xf, %eax
        call hex8_64
        call nl64
        CASE("ud2")
        ud2
        END
        /* IDT error codes in 64-bit mode: the SDM (vol. 3, 6.13) puts the
         * vector in the index field (vector * 8 + 2) and tremu does; QEMU
         * 7.2 reports vector * 16 + 2. Only the flag bits are printed. */
        movq $7, err_mask(%rip)
        CASE("int beyond idt limit (flags only)")
        movw $0x31 * 16 - 1, idt64r(%rip); lidt idt64r(%rip); int $0x40
        END
        movw $256 * 16 - 1, idt64r(%rip)
        lidt idt64r(%rip)
        CASE("32-bit gate type in 64-bit idt (flags only)")
        movb $0x86, idt64 + 0x32 * 16 + 5(%rip); int $0x32
        END
        movb $0x8e, idt64 + 0x32 * 16 + 5(%rip)
        movq $0xffff, err_mask(%rip)

        P64("ring 3\n")
        CASE("iretq to ring 3, int 0x80 back")
        lea r3_done(%rip), %rax; mov $2, %edx; call ring3
        END
        movq $7, err_mask(%rip)
        CASE("ring 3 int 0x31 dpl0 gate (flags only)")
        lea r3_int31(%rip), %rax; mov $2, %edx; call ring3
        END
        movq $0xffff, err_mask(%rip)
        CASE("ring 3 swapgs")
        lea r3_swapgs(%rip), %rax; mov $2, %edx; call ring3
        END
        CASE("ring 3 read supervisor page")
        lea r3_readsup(%rip), %rax; mov $2, %edx; call ring3
        END
        call pcr2
        CASE("ring 3 exec nx page")
        mov $0x600000, %eax; movb $0xcc, (%rax); mov $2, %edx; call ring3
        END
        call pcr2
        CASE("ring 0 write nx page, exec it")
        mov $0x600000, %eax; movb $0xc3, (%rax); call *%rax
        END
        call pcr2
        CASE("iretq to non-canonical rip")
        push $UDS; lea stack3_top(%rip), %rax; push %rax; push $2; push $UCS; mov $0x0000800000000000, %rax; push %rax; iretq
        END

        P64("syscall\n")
        CASE("syscall with efer.sce=0")
        lea r3_syscall(%rip), %rax; mov $2, %edx; call ring3
        END
        mov $MSR_EFER, %ecx
        rdmsr
        or $1, %eax
        wrmsr
        lea syscall_entry(%rip), %rax
        mov $0x500, %edx        /* TF, DF */
        call syscall_msrs
        mov $MSR_KGSBASE, %ecx
        lea kgs_data(%rip), %rax
        mov %rax, %rdx
        shr $32, %rdx
        wrmsr
        mov $MSR_GSBASE, %ecx
        xor %eax, %eax
        xor %edx, %edx
        wrmsr
        CASE("syscall/sysret")
        lea r3_syscall(%rip), %rax; mov $0x402, %edx; call ring3
        END
        P64("  rcx ")
        mov sc_rcx(%rip), %rax
        lea r3_syscall(%rip), %rbx
        sub %rbx, %rax
        call hex64
        P64(" r11 ")
        mov sc_r11(%rip), %rax
        call hex64
        P64(" kernel rflags ")
        mov sc_fl(%rip), %rax
        call hex64
        P64(" gs:0 after swapgs ")
        mov sc_kgs(%rip), %rax
        call hex64
        call nl64
        P64("  after sysret: cs ")
        mov u_cs(%rip), %rax
        call hex8_64
        P64(" ss ")
        mov u_ss(%rip), %rax
        call hex8_64
        P64(" rflags ")
        mov u_fl(%rip), %rax
        call hex64
        call nl64
        CASE("sysret at ring 3")
        lea r3_sysret(%rip), %rax; mov $2, %edx; call ring3
        END
        CASE("swapgs ring 0 ")
        mov $MSR_GSBASE, %ecx; mov $0x1111, %eax; xor %edx, %edx; wrmsr; mov $MSR_KGSBASE, %ecx; mov $0x2222, %eax; wrmsr; swapgs; mov $MSR_GSBASE, %ecx; rdmsr; call hex32_64; mov $MSR_KGSBASE, %ecx; rdmsr; call sp64; call hex32_64
        END

        call gen64

        mov $EXIT_OK, %al
        out %al, $DEBUG_EXIT
1:      hlt
        jmp 1b

/* ---- helpers (64-bit) ---- */
/* ring3: RAX = RIP, RDX = RFLAGS; IRETQ to CPL 3. */
ring3:
        mov %rax, catch_start(%rip)
        push $UDS
        lea stack3_top(%rip), %rcx
        push %rcx
        push %rdx
        push $UCS
        push %rax
        iretq

hex4_64:
        push %rax
        and $0xf, %al
        add $'0', %al
        cmp $'9', %al
        jbe 1f
        add $('a' - '0' - 10), %al
1:      call putc64
        pop %rax
        ret
hex8_64:
        push %rax
        push %rax
        shr $4, %al
        call hex4_64
        pop %rax
        call hex4_64
        pop %rax
        ret
hex32_64:
        push %rax
        push %rcx
        mov $4, %ecx
1:      rol $8, %eax
        call hex8_64
        loop 1b
        pop %rcx
        pop %rax
        ret
hex64:
        push %rax
        push %rcx
        mov $8, %ecx
1:      rol $8, %rax
        call hex8_64
        loop 1b
        pop %rcx
        pop %rax
        ret
sp64:
        push %rax
        mov $' ', %al
        call putc64
        pop %rax
        ret

pcr2:
        cmpq $14, c_vec(%rip)
        jne 1f
        P64("  cr2 ")
        mov c_cr2(%rip), %rax
        call hex64
        call nl64
1:      ret

report:
        push %rax
        movq $0, catch_rec(%rip)
        cmpq $-1, c_vec(%rip)
        jne 1f
        P64(" -")
        jmp 2f
1:      P64(" #")
        mov c_vec(%rip), %rax
        call hex8_64
        P64(" e=")
        mov c_err(%rip), %rax
        and err_mask(%rip), %rax
        shr $8, %eax
        call hex8_64
        mov c_err(%rip), %rax
        and err_mask(%rip), %rax
        call hex8_64
        P64(" @")
        mov c_rip(%rip), %rax
        sub catch_start(%rip), %rax
        cmp $0x1000, %rax
        jb 3f
        mov c_rip(%rip), %rax
        call hex64
        jmp 4f
3:      P64("+")
        call hex8_64
4:      P64(" cpl=")
        mov c_cs(%rip), %rax
        and $3, %eax
        add $'0', %al
        call putc64
2:      pop %rax
        ret

/* Stubs, 16 bytes each; see sys32.h for the error-code vectors. */
        .balign 16
stubs64:
        .set vec, 0
        .rept 256
        .balign 16
        .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        push $vec
        jmp catch64
        .else
        push $0
        push $vec
        jmp catch64
        .endif
        .set vec, vec + 1
        .endr

catch64:
        push %rax
        mov 8(%rsp), %rax
        mov %rax, c_vec(%rip)
        mov 16(%rsp), %rax
        mov %rax, c_err(%rip)
        mov 24(%rsp), %rax
        mov %rax, c_rip(%rip)
        mov 32(%rsp), %rax
        mov %rax, c_cs(%rip)
        mov 48(%rsp), %rax
        mov %rax, c_rsp(%rip)
        lea 8(%rsp), %rax
        mov %rax, c_hrsp(%rip)
        mov %cr2, %rax
        mov %rax, c_cr2(%rip)
        cmpq $0, catch_rec(%rip)
        jne 1f
        P64("fault outside TRY:")
        call report
        call nl64
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT
2:      hlt
        jmp 2b
1:      mov $KDS, %ax
        mov %ax, %ss
        mov catch_rsp(%rip), %rsp
        push $2
        popfq
        mov catch_rec(%rip), %rax
        movq $0, catch_rec(%rip)
        jmp *%rax

/* SYSCALL lands here at CPL 0 on the user stack (no stack switch:
 * SDM vol. 2, SYSCALL). */
syscall_entry:
        mov %rcx, sc_rcx(%rip)
        mov %r11, sc_r11(%rip)
        pushfq
        popq sc_fl(%rip)
        swapgs
        mov %gs:0, %rax
        mov %rax, sc_kgs(%rip)
        swapgs
        sysretq

/* Ring-3 pieces. */
r3_done:
        int $0x80
r3_int31:
        int $0x31
        int $0x80
r3_swapgs:
        swapgs
        int $0x80
r3_readsup:
        mov 0x400000, %eax
        int $0x80
r3_syscall:
        syscall
        mov %cs, %eax
        mov %rax, u_cs(%rip)
        mov %ss, %eax
        mov %rax, u_ss(%rip)
        pushfq
        popq u_fl(%rip)
        int $0x80
r3_sysret:
        sysretq
        int $0x80

/* ---- generated 64-bit cases (the insns guest's scheme, 64-bit operands):
 * each OP64 body runs for every (i, j, f): RAX = v[i], RDX = v[15-i],
 * RBX = RCX = jtab[j], RFLAGS = fpat[f]; RAX, RBX, RCX, RDX and the
 * defined flags are folded into a checksum printed per instruction. */
#define ARITH   0x8d5
#define LOGIC   0x8c5
#define K_SH    1               /* shift/rotate: count 0 keeps all, > 1: OF undefined */
#define OP64(nm, mask, kind, jt, ...) \
        .pushsection .data, 1; .long n64_##nm, b64_##nm, mask, kind, jt, jt##_n, 0, 0; .popsection; \
        .pushsection .rodata; n64_##nm: .asciz #nm; .popsection; \
b64_##nm: __VA_ARGS__; ret
#define OP2(nm, mask, ...) OP64(nm, mask, 0, v64, __VA_ARGS__)
#define OPC(nm, mask, ...) OP64(nm, mask, K_SH, c64, __VA_ARGS__)

        .data 1
g64_start:
        .section .rodata
        .balign 8
v64:    .long 0, 0, 1, 0, 2, 0, 0x7f, 0, 0x80, 0, 0xffffffff, 0, 0, 1
        .long 0xffffffff, 0x7fffffff, 0, 0x80000000, 1, 0x80000000
        .long 0xffffffff, 0xffffffff, 0x9abcdef0, 0x12345678, 0x76543210, 0xfedcba98
        .long 0xffff0000, 0, 0x7fff, 0, 0x80000000, 0
        .set v64_n, 16
c64:    .set k, 0
        .rept 64
        .long k, 0
        .set k, k + 1
        .endr
        .set c64_n, 64
fpat64: .long 0x002, 0, 0x8d7, 0, 0x003, 0, 0x012, 0
        .section .bss
g_desc: .quad 0
g_i:    .quad 0
g_j:    .quad 0
g_f:    .quad 0
g_sum:  .quad 0
g_n:    .quad 0
g_total: .quad 0
g_out:  .skip 40
g_scr:  .skip 16
        .text

gen64:
        P64("generated 64-bit cases\n")
        movq $0, g_total(%rip)
        lea g64_start(%rip), %rax
        mov %rax, g_desc(%rip)
1:      mov g_desc(%rip), %rax
        lea g64_end(%rip), %rbx
        cmp %rbx, %rax
        jae 9f
        call gen_op
        addq $32, g_desc(%rip)
        jmp 1b
9:      P64("total 64-bit cases ")
        mov g_total(%rip), %rax
        call dec64
        call nl64
        ret

gen_mix:
        push %rdx
        mov g_sum(%rip), %rdx
        rol $5, %rdx
        xor %rax, %rdx
        mov $0x9e3779b97f4a7c15, %rax
        add %rax, %rdx
        mov %rdx, g_sum(%rip)
        pop %rdx
        ret

gen_op:
        movq $0, g_sum(%rip)
        movq $0, g_n(%rip)
        movq $0, g_i(%rip)
1:      movq $0, g_j(%rip)
2:      movq $0, g_f(%rip)
3:      mov g_desc(%rip), %rsi
        mov g_i(%rip), %rcx
        lea v64(%rip), %rdi
        mov (%rdi,%rcx,8), %rax
        neg %rcx
        mov 15 * 8(%rdi,%rcx,8), %rdx
        mov 16(%rsi), %edi      /* jtab */
        mov g_j(%rip), %rcx
        mov (%rdi,%rcx,8), %rbx
        mov %rbx, %rcx
        mov g_f(%rip), %rdi
        lea fpat64(%rip), %rsi
        pushq (%rsi,%rdi,8)
        mov g_desc(%rip), %rsi
        mov 4(%rsi), %esi       /* body */
        popfq
        call *%rsi
        pushfq
        popq g_out + 32(%rip)
        cld
        mov %rax, g_out(%rip)
        mov %rbx, g_out + 8(%rip)
        mov %rcx, g_out + 16(%rip)
        mov %rdx, g_out + 24(%rip)
        mov g_desc(%rip), %rsi
        mov 8(%rsi), %ebx       /* mask */
        cmpl $K_SH, 12(%rsi)
        jne 4f
        mov g_j(%rip), %rax
        and $63, %eax
        jnz 5f
        mov $ARITH, %ebx
        jmp 4f
5:      cmp $1, %eax
        jbe 4f
        and $~0x800, %ebx
4:      mov g_out + 32(%rip), %rax
        and %rbx, %rax
        call gen_mix
        mov g_out(%rip), %rax
        call gen_mix
        mov g_out + 8(%rip), %rax
        call gen_mix
        mov g_out + 16(%rip), %rax
        call gen_mix
        mov g_out + 24(%rip), %rax
        call gen_mix
        incq g_n(%rip)
        incq g_f(%rip)
        cmpq $4, g_f(%rip)
        jb 3b
        mov g_desc(%rip), %rsi
        incq g_j(%rip)
        mov 20(%rsi), %eax
        cmp %rax, g_j(%rip)
        jb 2b
        incq g_i(%rip)
        cmpq $16, g_i(%rip)
        jb 1b
        mov g_desc(%rip), %rsi
        mov (%rsi), %esi
        call puts64
        P64(" n=")
        mov g_n(%rip), %rax
        add %rax, g_total(%rip)
        call dec64
        P64(" sum=")
        mov g_sum(%rip), %rax
        call hex64
        call nl64
        ret

OP2(add64, ARITH, add %rbx, %rax)
OP2(adc64, ARITH, adc %rbx, %rax)
OP2(sub64, ARITH, sub %rbx, %rax)
OP2(sbb64, ARITH, sbb %rbx, %rax)
OP2(cmp64, ARITH, cmp %rbx, %rax)
OP2(and64, LOGIC, and %rbx, %rax)
OP2(or64, LOGIC, or %rbx, %rax)
OP2(xor64, LOGIC, xor %rbx, %rax)
OP2(test64, LOGIC, test %rbx, %rax)
OP2(neg64, ARITH, neg %rax)
OP2(not_inc_dec64, ARITH, not %rax; inc %rbx; dec %rdx)
OP2(add_imm32s, ARITH, add $-0x12345678, %rax)
OP2(add32_zext, ARITH, add %ebx, %eax; mov %ebx, %ecx)
OP2(mem64, ARITH, mov %rax, g_scr(%rip); sub %rbx, g_scr(%rip); mov g_scr(%rip), %rax)
OP2(movsxd, 0, movslq %ebx, %rax; movsbq %dl, %rcx; movzwq %bx, %rdx)
OP2(bswap64, 0, bswap %rax; bswap %rdx)
OP2(lea64, 0, lea 0x12345(%rax,%rbx,8), %rcx; lea (%eax,%ebx,2), %edx)
OPC(shl64, LOGIC, shl %cl, %rax)
OPC(shr64, LOGIC, shr %cl, %rax)
OPC(sar64, LOGIC, sar %cl, %rax)
OPC(rol64, ARITH, rol %cl, %rax)
OPC(ror64, ARITH, ror %cl, %rax)
OPC(rcl64, ARITH, rcl %cl, %rax)
OPC(rcr64, ARITH, rcr %cl, %rax)
OPC(shld64, LOGIC, shld %cl, %rdx, %rax)
OPC(shrd64, LOGIC, shrd %cl, %rdx, %rax)
OP2(mul64, 0x801, mul %rbx)
OP2(imul64, 0x801, imul %rbx)
OP2(imul64_rr, 0x801, imul %rbx, %rax)
OP2(imul64_imm, 0x801, imul $-77777, %rbx, %rax)
OP2(div64, 0, xor %edx, %edx; test %rbx, %rbx; jz 1f; div %rbx; 1:)
OP2(div64_hi, 0, cmp %rbx, %rdx; jae 1f; div %rbx; 1:)
OP2(idiv64, 0, cqo; test %rbx, %rbx; jz 1f; cmp $-1, %rbx; jne 2f; bt $63, %rax; jnc 2f; mov %rax, %rcx; shl $1, %rcx; jz 1f; 2: idiv %rbx; 1:)
OPC(bt64, 0x041, bt %rcx, %rax)
OPC(bts64, 0x041, bts %rcx, %rax)
OPC(btr64, 0x041, btr %rcx, %rax)
OPC(btc64_mem, 0x041, mov %rax, g_scr(%rip); btc %rcx, g_scr(%rip); mov g_scr(%rip), %rax)
OP2(bsf64, 0x040, bsf %rbx, %rax; jnz 1f; mov $0, %eax; 1:)
OP2(bsr64, 0x040, bsr %rbx, %rax; jnz 1f; mov $0, %eax; 1:)
OP2(cmpxchg64, ARITH, mov %rdx, g_scr(%rip); cmpxchg %rbx, g_scr(%rip); mov g_scr(%rip), %rdx)
OP2(cmpxchg64_eq, ARITH, mov %rax, g_scr(%rip); lock cmpxchg %rbx, g_scr(%rip); mov g_scr(%rip), %rdx)
OP2(xadd64, ARITH, xadd %rbx, %rax)
OP2(cmov64, ARITH, cmp %rbx, %rax; mov %rdx, %rcx; cmovl %rbx, %rcx; mov %rdx, %rsi; cmova %rax, %rsi; xor %rsi, %rcx; setg %dl; setbe %dh)
OP2(push_pop64, 0, push %rax; push %rbx; pop %rcx; pop %rdx; pushq $-5; pop %rbx)

        .data 1
g64_end:
        .text
