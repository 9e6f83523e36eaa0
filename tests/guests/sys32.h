/* System-behaviour guests: a fault-catching harness on top of mboot32.h.
 *
 * The guests print what the CPU did (vector, error code, where it faulted,
 * the CPL it faulted at) instead of checking expectations themselves: the
 * golden file made from QEMU is the check (README.md). Include after
 * mboot32.h; call sys_init first in main.
 *
 * GDT (in .data so that tests can rewrite descriptors):
 *   0x08 code32 DPL0   0x10 data DPL0   0x1b code32 DPL3   0x23 data DPL3
 *   0x28 TSS (32-bit, with an I/O bitmap)   0x30 LDT   0x38..0x78 test slots
 * IDT: 256 interrupt gates to catching stubs; vector 0x80 (DPL 3) is the
 * "done" call that brings ring-3 test code back.
 *
 * TRY ... ENDTRY runs the code between them; a fault or `int $0x80` inside
 * records vector/error/EIP/CS and resumes at ENDTRY with ESP as at TRY and
 * flat ring-0 segments; ENDTRY (which clobbers EDI; EAX survives when
 * nothing was taken) restores them when nothing was taken and prints " #vv e=eeee @+off cpl=n" or " -"
 * when nothing was taken. Registers other than ESP are not preserved. */
#define SEL_CODE0   0x08
#define SEL_DATA0   0x10
#define SEL_CODE3   0x1b
#define SEL_DATA3   0x23
#define SEL_TSS     0x28
#define SEL_LDT     0x30
#define SEL_T1      0x38
#define SEL_T2      0x40
#define SEL_T3      0x48
#define SEL_T4      0x50
#define SEL_T5      0x58
#define SEL_T6      0x60
#define SEL_T7      0x68
#define SEL_T8      0x70
#define SEL_T9      0x78
#define NGDT        16

#define TRY   mov %esp, catch_esp; movl $7f, catch_rec; movl $6f, catch_start; \
              movl $0xffffffff, c_vec; 6:
#define ENDTRY 7: mov $SEL_DATA0, %di; mov %di, %ds; mov %di, %es; mov %di, %fs; \
               mov %di, %gs; mov %di, %ss; mov catch_esp, %esp; call catch_report

/* A descriptor quadword from base, limit (raw 20 bits), access byte and
 * flags nibble (G D/B L AVL): SDM vol. 3, 3.4.5. */
#define DESC(base, limit, access, fl) \
        .word ((limit) & 0xffff), ((base) & 0xffff); \
        .byte (((base) >> 16) & 0xff), (access), \
              ((((limit) >> 16) & 0xf) | ((fl) << 4)), (((base) >> 24) & 0xff)

        .section .data
        .balign 8
sys_gdt:
        .quad 0
        DESC(0, 0xfffff, 0x9b, 0xc)             /* 0x08 */
        DESC(0, 0xfffff, 0x93, 0xc)             /* 0x10 */
        DESC(0, 0xfffff, 0xfb, 0xc)             /* 0x18 */
        DESC(0, 0xfffff, 0xf3, 0xc)             /* 0x20 */
        .quad 0                                 /* 0x28 TSS: sys_init */
        .quad 0                                 /* 0x30 LDT: sys_init */
        .fill NGDT - 7, 8, 0
sys_gdtr:
        .word NGDT * 8 - 1
        .long sys_gdt
sys_idtr:
        .word 256 * 8 - 1
        .long sys_idt
        .balign 16
/* A 32-bit TSS (SDM vol. 3, 8.2.1) with the I/O bitmap right after it;
 * the byte of ones that must follow the bitmap (16.5.2) ends it. */
sys_tss:
        .long 0, stack3_top0, SEL_DATA0         /* link, ESP0, SS0 */
        .fill 22, 4, 0
        .word 0, sys_iomap - sys_tss            /* T, I/O map base */
sys_iomap:
        .fill 8192, 1, 0
        .byte 0xff
sys_tss_end:
        .balign 8
sys_ldt:
        DESC(0, 0xfffff, 0x93, 0xc)             /* LDT 0x04 (0x07 at RPL 3) */
        DESC(0, 0xfffff, 0xf3, 0xc)             /* 0x0c / 0x0f */
        .quad 0, 0
sys_ldt_end:

        .section .bss
        .balign 16
sys_idt:  .skip 256 * 8
        .skip 4096
stack3_top0:                                    /* ring-0 stack for ring 3 */
        .skip 4096
stack3_top:                                     /* ring-3 stack */
catch_esp:   .long 0
catch_rec:   .long 0
catch_start: .long 0
c_vec:  .long 0
        .section .data
err_mask: .long 0xffff          /* error code bits catch_report prints */
        .section .bss
c_err:  .long 0
c_eip:  .long 0
c_cs:   .long 0
c_cr2:  .long 0
c_oss:  .long 0
c_oesp: .long 0
c_kesp: .long 0
        .text

/* gdt_set: ECX = selector, EDX:EAX = descriptor. */
gdt_set:
        push %ecx
        and $0xfff8, %ecx
        mov %eax, sys_gdt(%ecx)
        mov %edx, sys_gdt+4(%ecx)
        pop %ecx
        ret

/* sys_idt_set: ECX = vector, EAX = handler, EDX = type/DPL word (e.g.
 * 0x8e00 interrupt gate DPL 0, 0xee00 DPL 3, 0x8f00 trap gate). */
sys_idt_set:
        push %eax
        push %edx
        push %ebx
        lea sys_idt(,%ecx,8), %ebx
        mov %ax, (%ebx)
        movw $SEL_CODE0, 2(%ebx)
        mov %dx, 4(%ebx)
        shr $16, %eax
        mov %ax, 6(%ebx)
        pop %ebx
        pop %edx
        pop %eax
        ret

sys_init:
        push %eax
        push %ecx
        push %edx
        /* TSS descriptor: available 32-bit TSS (type 9), DPL 0. */
        mov $sys_tss, %eax
        mov $(sys_tss_end - sys_tss - 1), %ecx
        call mkdesc_tss
        mov $SEL_TSS, %ecx
        call gdt_set
        /* LDT descriptor (type 2). */
        mov $sys_ldt, %eax
        mov $(sys_ldt_end - sys_ldt - 1), %ecx
        call mkdesc_base_limit
        or $0x00008200, %edx
        mov $SEL_LDT, %ecx
        call gdt_set
        lgdt sys_gdtr
        ljmp $SEL_CODE0, $1f
1:      mov $SEL_DATA0, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov %ax, %ss
        mov $SEL_TSS, %ax
        ltr %ax
        mov $SEL_LDT, %ax
        lldt %ax
        xor %ecx, %ecx
2:      mov %ecx, %eax
        shl $4, %eax
        add $catch_stubs, %eax
        mov $0x8e00, %edx
        cmp $0x80, %ecx
        jne 3f
        mov $0xee00, %edx
3:      call sys_idt_set
        inc %ecx
        cmp $256, %ecx
        jb 2b
        lidt sys_idtr
        /* Mask every 8259A input: the firmware (SeaBIOS under QEMU) left
         * the PIT's IRQ 0 on vector 8, and cases that set IF would take it. */
        mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        pop %edx
        pop %ecx
        pop %eax
        ret

/* mkdesc_base_limit: EAX = base, ECX = byte limit (< 1 MiB) -> EDX:EAX
 * with the access byte zero (callers OR it into EDX bits 8-15). */
mkdesc_base_limit:
        push %ebx
        mov %eax, %ebx
        mov %eax, %edx
        and $0xff000000, %edx
        shr $16, %ebx
        and $0xff, %ebx
        or %ebx, %edx
        mov %ecx, %ebx
        and $0x000f0000, %ebx
        or %ebx, %edx
        shl $16, %eax
        mov %cx, %ax
        pop %ebx
        ret
mkdesc_tss:
        call mkdesc_base_limit
        or $0x00008900, %edx
        ret

/* Catching stubs, 16 bytes each: vectors with an error code (8, 10-14, 17,
 * 21, 29, 30: SDM vol. 3, 6.15) have it pushed by the CPU; the others
 * push a zero so that the frame is the same. */
        .balign 16
catch_stubs:
        .set vec, 0
        .rept 256
        .balign 16
        .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        push $vec
        jmp catch_common
        .else
        push $0
        push $vec
        jmp catch_common
        .endif
        .set vec, vec + 1
        .endr

catch_common:
        /* The segments may be anything the test left: use SS (the
         * handler's stack, SS0 or the current one) to fix DS first. */
        push %eax
        mov $SEL_DATA0, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov 4(%esp), %eax
        mov %eax, c_vec
        mov 8(%esp), %eax
        mov %eax, c_err
        mov 12(%esp), %eax
        mov %eax, c_eip
        mov 16(%esp), %eax
        mov %eax, c_cs
        mov %cr2, %eax
        mov %eax, c_cr2
        test $3, %eax           /* from ring 3: the outer stack */
        jz 2f
        mov 28(%esp), %eax
        mov %eax, c_oss
        mov 24(%esp), %eax
        mov %eax, c_oesp
        lea 12(%esp), %eax
        mov %eax, c_kesp
2:
        cmpl $0, catch_rec
        jne 1f
        PRINT("fault outside TRY:")
        call catch_report
        incl fails
        jmp finish
1:      mov $SEL_DATA0, %ax
        mov %ax, %ss
        mov catch_esp, %esp
        pushl $2                /* IF, TF, AC, NT, IOPL... all clear */
        popf
        mov catch_rec, %eax
        movl $0, catch_rec
        jmp *%eax

/* catch_report: print what the last TRY saw (preserves all registers). */
catch_report:
        push %eax
        pushf
        movl $0, catch_rec
        cmpl $0xffffffff, c_vec
        jne 1f
        PRINT(" -")
        jmp 2f
1:      PRINT(" #")
        mov c_vec, %eax
        call hex8
        PRINT(" e=")
        mov c_err, %eax
        and err_mask, %eax
        shr $8, %eax
        call hex8
        mov c_err, %eax
        and err_mask, %eax
        call hex8
        PRINT(" @")
        mov c_eip, %eax
        sub catch_start, %eax
        cmp $0x1000, %eax
        jb 3f
        mov c_eip, %eax
        call hex32
        jmp 4f
3:      PRINT("+")
        call hex8
4:      PRINT(" cpl=")
        mov c_cs, %eax
        and $3, %eax
        add $'0', %al
        call putc
2:      popf
        pop %eax
        ret

/* print_eflags_arith: " f=xx" with the arithmetic flags of EAX masked by
 * EBX (an EFLAGS image). */
print_flags:
        push %eax
        and %ebx, %eax
        PRINT(" f=")
        call hex32
        pop %eax
        ret

/* ring3: continue at EAX in ring 3 (code 0x1b, data/stack 0x23) with
 * EFLAGS = EDX; catch_report prints EIPs from EAX. The ring-3 code ends with `int $0x80` or a fault. */
ring3:
        mov %eax, catch_start   /* offsets in ring 3 from its entry */
        mov $stack3_top0, %ecx
        mov %ecx, sys_tss+4
        pushl $SEL_DATA3
        pushl $stack3_top
        push %edx
        pushl $SEL_CODE3
        push %eax
        mov $SEL_DATA3, %cx
        mov %cx, %ds
        mov %cx, %es
        mov %cx, %fs
        mov %cx, %gs
        iret
