/* Common pieces of the 64-bit multiboot guests (long, microbench), after
 * mboot32.h: the GDT layout their 32-bit entry switches to, the MSRs of
 * long mode and SYSCALL, and 64-bit helpers (IDT gates, COM1 output).
 * The helpers preserve every register but the ones they name. */
#define CS32    0x08
#define DS32    0x10
#define KCS     0x18            /* STAR[47:32]: SYSCALL CS, SS = +8 */
#define KDS     0x20
#define UBASE   0x28            /* STAR[63:48]: SYSRET CS = +16, SS = +8 */
#define UDS     0x33
#define UCS     0x3b
#define TSS64   0x40

#define MSR_EFER    0xc0000080
#define MSR_STAR    0xc0000081
#define MSR_LSTAR   0xc0000082
#define MSR_FMASK   0xc0000084
#define MSR_GSBASE  0xc0000101
#define MSR_KGSBASE 0xc0000102

/* FLAT32: from the loader's state to this GDT's flat 32-bit segments, the
 * 8259As masked (no firmware IRQ 0 arrives in the middle of a case). */
#define FLAT32  lgdt gdt64r; ljmp $CS32, $1f; 1: mov $DS32, %ax; \
                mov %ax, %ds; mov %ax, %es; mov %ax, %ss; \
                mov $0xff, %al; out %al, $0x21; out %al, $0xa1
/* LONG_MODE(root, efer): CR4.PAE and OSFXSR, CR3 = root, EFER |= efer
 * (with LME, 0x100), CR0.PG, then long_main in the 64-bit code segment
 * (SDM vol. 3, 10.8.5: initializing IA-32e mode). */
#define LONG_MODE(root, efer) \
        mov %cr4, %eax; or $0x220, %eax; mov %eax, %cr4; \
        mov $root, %eax; mov %eax, %cr3; \
        mov $MSR_EFER, %ecx; rdmsr; or $(efer), %eax; wrmsr; \
        mov %cr0, %eax; or $0x80000000, %eax; mov %eax, %cr0; \
        ljmp $KCS, $long_main

/* LONG_SEGS(stack): the data segments and the stack at long_main. */
#define LONG_SEGS(stack) mov $KDS, %ax; mov %ax, %ds; mov %ax, %es; \
                         mov %ax, %ss; lea stack(%rip), %rsp

/* P64("text"): print a string from 64-bit code. */
#define P64(s) .pushsection .rodata; 9: .asciz s; .popsection; \
               push %rsi; lea 9b(%rip), %rsi; call puts64; pop %rsi

        .pushsection .data
        .balign 8
gdt64:  .quad 0
        .quad 0x00cf9a000000ffff        /* 0x08 code32 */
        .quad 0x00cf92000000ffff        /* 0x10 data */
        .quad 0x00af9a000000ffff        /* 0x18 code64 DPL 0 */
        .quad 0x00cf92000000ffff        /* 0x20 data DPL 0 */
        .quad 0x00cffa000000ffff        /* 0x28 code32 DPL 3 */
        .quad 0x00cff2000000ffff        /* 0x30 data DPL 3 */
        .quad 0x00affa000000ffff        /* 0x38 code64 DPL 3 */
        .quad 0, 0                      /* 0x40 TSS (16 bytes) */
gdt64_end:
gdt64r: .word gdt64_end - gdt64 - 1
        .long gdt64
        .balign 8
idt64r: .word 256 * 16 - 1
        .long idt64, 0          /* ELF32 object: 32-bit relocations only */
        .popsection

        .pushsection .text
        .code64
/* idt64_set: ECX = vector, RAX = handler, DX = type/DPL byte << 8 | IST
 * (SDM vol. 3, 6.14.1: 16-byte gates in 64-bit mode). */
idt64_set:
        push %rbx
        push %rax
        mov %rcx, %rbx
        shl $4, %rbx
        push %rcx
        lea idt64(%rip), %rcx
        add %rcx, %rbx
        pop %rcx
        mov %ax, (%rbx)
        movw $KCS, 2(%rbx)
        mov %dx, 4(%rbx)
        shr $16, %rax
        mov %ax, 6(%rbx)
        shr $16, %rax
        mov %eax, 8(%rbx)
        movl $0, 12(%rbx)
        pop %rax
        pop %rbx
        ret

/* tss64_load: a 16-byte TSS descriptor (type 9, available 64-bit TSS) in
 * the GDT for the guest's tss64..tss64_end, then LTR (SDM vol. 3, 8.2.3). */
tss64_load:
        push %rax
        push %rcx
        push %rdx
        lea tss64(%rip), %rax
        mov %rax, %rdx
        and $0xffff, %eax
        shl $16, %rax
        or $(tss64_end - tss64 - 1), %rax
        mov %rdx, %rcx
        shr $16, %rcx
        and $0xff, %rcx
        shl $32, %rcx
        or %rcx, %rax
        mov $0x89, %rcx
        shl $40, %rcx
        or %rcx, %rax
        mov %rdx, %rcx
        shr $24, %rcx
        and $0xff, %rcx
        shl $56, %rcx
        or %rcx, %rax
        mov %rax, gdt64 + TSS64(%rip)
        shr $32, %rdx
        mov %rdx, gdt64 + TSS64 + 8(%rip)
        mov $TSS64, %ax
        ltr %ax
        pop %rdx
        pop %rcx
        pop %rax
        ret

/* syscall_msrs: SYSCALL to RAX with the RFLAGS bits in EDX masked, this
 * GDT's selectors in STAR (SDM vol. 2, SYSCALL and SYSRET). EFER.SCE is
 * the caller's. Clobbers RAX, RCX, RDX. */
syscall_msrs:
        push %rdx
        push %rax
        mov $MSR_STAR, %ecx
        xor %eax, %eax
        mov $((UBASE << 16) | KCS), %edx
        wrmsr
        mov $MSR_LSTAR, %ecx
        pop %rax
        mov %rax, %rdx
        shr $32, %rdx
        wrmsr
        mov $MSR_FMASK, %ecx
        pop %rax
        xor %edx, %edx
        wrmsr
        ret

/* putc64: AL on COM1, polling the line status register. */
putc64:
        push %rax
        push %rcx
        push %rdx
        mov %al, %ah
        mov $COM1 + 5, %dx
        mov $POLL_LIMIT, %ecx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      mov %ah, %al
        mov $COM1, %dx
        out %al, %dx
        pop %rdx
        pop %rcx
        pop %rax
        ret
/* puts64: RSI, NUL-terminated. */
puts64:
        push %rax
        push %rsi
1:      lodsb
        test %al, %al
        jz 2f
        call putc64
        jmp 1b
2:      pop %rsi
        pop %rax
        ret
nl64:
        push %rax
        mov $'\n', %al
        call putc64
        pop %rax
        ret
/* dec64: RAX, unsigned, in decimal. */
dec64:
        push %rax
        push %rbx
        push %rcx
        push %rdx
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %rbx
        push %rdx
        inc %ecx
        test %rax, %rax
        jnz 1b
2:      pop %rax
        add $'0', %al
        call putc64
        loop 2b
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
        ret
        .code32
        .popsection
