/* tasks: hardware task switches (SDM vol. 3, chapter 7) between task A
 * (sys_tss, loaded with LTR) and task B: far JMP, far CALL and INT through
 * a task gate into B, B going back with a far JMP or IRET (NT set); what B
 * sees on entry (TR, EFLAGS with NT, its back link, the busy bits of both
 * TSS descriptors, CR0.TS, a register loaded from its TSS, A's EAX saved
 * into A's TSS) is printed by A afterwards. Then the faults: JMP to a busy
 * TSS, IRET with NT to a TSS that is not busy, a task gate whose TSS is
 * not present. Output as in sys32.h; QEMU is the golden. */
#include "mboot32.h"
#include "sys32.h"

#define SEL_TB  SEL_T1
#define SEL_TC  SEL_T2
#define TSS_LINK 0x00
#define TSS_CR3  0x1c
#define TSS_EIP  0x20
#define TSS_EFL  0x24
#define TSS_EAX  0x28
#define TSS_EBX  0x34
#define TSS_ESP  0x38
#define TSS_ES   0x48
#define TSS_LDT  0x60

        .section .data
        .balign 16
tss_b:  .long 0                         /* back link */
        .long 0, SEL_DATA0, 0, 0, 0, 0  /* ESP0 SS0 ESP1 SS1 ESP2 SS2 */
        .long 0                         /* CR3: set by main */
        .long task_b, 0x46              /* EIP, EFLAGS (ZF PF) */
        .long 0, 0, 0, 0xabcd0001       /* EAX ECX EDX EBX */
        .long stack_b_top, 0, 0, 0      /* ESP EBP ESI EDI */
        .long SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0
        .long SEL_LDT
        .word 0, 104                    /* no I/O bitmap */
tss_b_end:

        .section .bss
        .balign 16
        .skip 2048
stack_b_top:
b_mode: .long 0                 /* 0: B goes back with JMP, 1: with IRET */
b_rec:  .fill 8, 4, 0           /* TR, EFLAGS, link, A type, B type, TS, EBX, A's EAX */
        .text

#define TSSDESC(sel, base, lim) mov $(base), %eax; mov $(lim), %ecx; call mkdesc_tss; \
                                mov $(sel), %ecx; call gdt_set

main:
        call sys_init
        mov %cr3, %eax
        mov %eax, tss_b + TSS_CR3
        mov %eax, sys_tss + TSS_CR3
        movl $SEL_LDT, sys_tss + TSS_LDT
        TSSDESC(SEL_TB, tss_b, 103)
        /* Vector 0x40: a task gate to B (SDM vol. 3, 7.2.5). */
        movl $(SEL_TB << 16), sys_idt + 0x40 * 8
        movl $0x8500, sys_idt + 0x40 * 8 + 4

        PRINT("jmp to B")
        movl $0, b_mode
        TRY; mov $0x11112222, %eax; ljmp $SEL_TB, $0; ENDTRY
        call print_rec
        PRINT("call to B")
        movl $1, b_mode
        TRY; mov $0x33334444, %eax; lcall $SEL_TB, $0; ENDTRY
        call print_rec
        PRINT("int 0x40 task gate")
        TRY; mov $0x55556666, %eax; int $0x40; ENDTRY
        call print_rec
        PRINT("jmp to B after iret")
        movl $0, b_mode
        TRY; mov $0x77778888, %eax; ljmp $SEL_TB, $0; ENDTRY
        call print_rec

        PRINT("faults\n")
        PRINT("jmp to busy tss (self)")
        TRY; ljmp $SEL_TSS, $0; ENDTRY; call newline
        PRINT("iret nt to available tss")
        TRY; movl $SEL_TB, sys_tss + TSS_LINK; pushf; orl $0x4000, (%esp); popf; iret; ENDTRY; call newline
        movl $0, sys_tss + TSS_LINK
        PRINT("call tss not present")
        TRY; andb $0x7f, sys_gdt + SEL_TB + 5; lcall $SEL_TB, $0; ENDTRY; call newline
        orb $0x80, sys_gdt + SEL_TB + 5
        PRINT("task gate to a data segment")
        TRY; movl $(SEL_DATA0 << 16), sys_idt + 0x41 * 8; movl $0x8500, sys_idt + 0x41 * 8 + 4; int $0x41; ENDTRY; call newline
        PRINT("jmp to tss with limit 0x60")
        TSSDESC(SEL_TC, tss_b, 0x60)
        TRY; ljmp $SEL_TC, $0; ENDTRY; call newline
        PRINT("tss b type after all ")
        movzbl sys_gdt + SEL_TB + 5, %eax
        call hex8
        call newline
        jmp finish

print_rec:
        push %esi
        push %ecx
        mov $b_rec, %esi
        PRINT("\n  tr ")
        lodsl
        call hex8
        PRINT(" eflags ")
        lodsl
        call hex32
        PRINT(" link ")
        lodsl
        call hex8
        PRINT(" a-type ")
        lodsl
        call hex8
        PRINT(" b-type ")
        lodsl
        call hex8
        PRINT(" ts ")
        lodsl
        call hex8
        PRINT(" ebx ")
        lodsl
        call hex32
        PRINT(" a-eax ")
        lodsl
        call hex32
        PRINT("\n  back in A: tr ")
        str %ax
        call hex8
        PRINT(" a-type ")
        movzbl sys_gdt + SEL_TSS + 5, %eax
        call hex8
        PRINT(" b-type ")
        movzbl sys_gdt + SEL_TB + 5, %eax
        call hex8
        PRINT(" b-link ")
        mov tss_b + TSS_LINK, %eax
        call hex8
        PRINT(" b-saved-eflags ")
        mov tss_b + TSS_EFL, %eax
        and $~0x100, %eax
        call hex32
        PRINT(" ts ")
        mov %cr0, %eax
        and $8, %eax
        call hex8
        clts
        call newline
        pop %ecx
        pop %esi
        ret

/* Task B: record, go back, and start over when entered again. */
task_b:
        mov %ebx, b_rec + 24
        pushf
        popl b_rec + 4
        str %ax
        movzwl %ax, %eax
        mov %eax, b_rec
        mov tss_b + TSS_LINK, %eax
        mov %eax, b_rec + 8
        movzbl sys_gdt + SEL_TSS + 5, %eax
        mov %eax, b_rec + 12
        movzbl sys_gdt + SEL_TB + 5, %eax
        mov %eax, b_rec + 16
        mov %cr0, %eax
        and $8, %eax
        mov %eax, b_rec + 20
        mov sys_tss + TSS_EAX, %eax
        mov %eax, b_rec + 28
        movl $0xabcd0002, %ebx          /* saved into B's TSS on the way out */
        cmpl $0, b_mode
        jne 1f
        ljmp $SEL_TSS, $0
        jmp task_b
1:      iret
        jmp task_b
