/* pgtable: the Popek–Goldberg lecture table (docs/popek-goldberg.md).
 *
 * Runs each of the sensitive but unprivileged instructions Robin and Irvine
 * listed for x86 (SGDT SIDT SLDT SMSW STR PUSHF POPF LAR LSL VERR VERW,
 * PUSH/POP and MOV of segment registers, far CALL/JMP/RET, INT n, IRET)
 * once in ring 0 and once in ring 3, and prints what it got. Natively
 * (QEMU, tremu, tremu -accel tcg,pg=log) the lines are the same; under
 * tremu -accel tcg,pg=naive they show what de-privileged hardware gives
 * a kernel moved to ring 1, and pg=log's summary at exit is the table.
 * Then UMIP: CPUID.7.0:ECX[2] and, when offered, CR4.UMIP set and the
 * five table reads faulting in ring 3 only.
 * QEMU's output is the golden file (-cpu qemu64: pgtable.expect, -cpu
 * max: pgtable-umip.expect). */
#include "mboot32.h"
#include "sys32.h"

/* Conforming code, DPL 0: LAR/LSL/VERR may look at it from any ring. */
#define SEL_CONF    SEL_T1
#define SETD(sel, lo, hi) mov $(lo), %eax; mov $(hi), %edx; mov $(sel), %ecx; call gdt_set
#define CLR         movl $0, v1; movl $0, v2; movl $0, v3
/* Ring-3 case: the code at r3 stores its results and ends with int $0x80. */
#define R3(name, r3) PRINT(name); CLR; TRY; mov $r3, %eax; mov $0x202, %edx; call ring3; ENDTRY

        .section .bss
v1:     .long 0
v2:     .long 0
v3:     .long 0
dt:     .skip 8
        .text

show1:  call space
        mov v1, %eax
        jmp hex32
show2:  call show1
        call space
        mov v2, %eax
        jmp hex32
show3:  call show2
        call space
        mov v3, %eax
        jmp hex32
/* " limit=llll base=bbbbbbbb" from dt */
showdt: PRINT(" limit=")
        movzwl dt, %eax
        call hex32
        PRINT(" base=")
        mov dt+2, %eax
        call hex32
        ret

main:
        call sys_init
        SETD(SEL_CONF, 0x0000ffff, 0x00cf9f00)
        mov $0x30, %ecx
        mov $pg_iret, %eax
        mov $0x8e00, %edx
        call sys_idt_set
        mov $0x31, %ecx
        mov $0xee00, %edx
        call sys_idt_set
        push $2
        popf

        PRINT("ring 0\n")
        PRINT("sgdt");  TRY; sgdt dt; ENDTRY; call showdt; call newline
        PRINT("sidt");  TRY; sidt dt; ENDTRY; call showdt; call newline
        PRINT("sldt");  CLR; TRY; sldt v1; ENDTRY; call show1; call newline
        PRINT("smsw");  CLR; TRY; smsw v1; ENDTRY; call show1; call newline
        PRINT("str");   CLR; TRY; str v1; ENDTRY; call show1; call newline
        PRINT("pushf (if=0)"); CLR; TRY; pushf; popl v1; ENDTRY; call show1; call newline
        PRINT("popf if=1 iopl=3"); CLR
        TRY; push $0x3202; popf; pushf; popl v1; push $2; popf; ENDTRY; call show1; call newline
        PRINT("lar conf"); CLR
        TRY; mov $SEL_CONF, %ebx; lar %ebx, %eax; mov %eax, v1; setz v2; ENDTRY; call show2; call newline
        PRINT("lsl conf"); CLR
        TRY; mov $SEL_CONF, %ebx; lsl %ebx, %eax; mov %eax, v1; setz v2; ENDTRY; call show2; call newline
        PRINT("verr conf"); CLR
        TRY; mov $SEL_CONF, %ebx; verr %bx; setz v1; ENDTRY; call show1; call newline
        PRINT("verw data rpl1"); CLR
        TRY; mov $SEL_DATA0 | 1, %ebx; verw %bx; setz v1; ENDTRY; call show1; call newline
        PRINT("push cs ss ds"); CLR
        TRY; push %cs; popl v1; push %ss; popl v2; push %ds; popl v3; ENDTRY; call show3; call newline
        PRINT("pop ds ss"); TRY; push $SEL_DATA0; pop %ds; push $SEL_DATA0; pop %ss; ENDTRY; call newline
        PRINT("mov from cs ss"); CLR
        TRY; mov %cs, v1; mov %ss, v2; ENDTRY; call show2; call newline
        PRINT("mov to ss"); TRY; mov $SEL_DATA0, %eax; mov %ax, %ss; ENDTRY; call newline
        PRINT("lcall"); CLR; TRY; lcall $SEL_CODE0, $pg_far; ENDTRY; call show1; call newline
        PRINT("ljmp"); CLR; TRY; ljmp $SEL_CODE0, $1f; 1: mov %cs, v1; ENDTRY; call show1; call newline
        PRINT("lret"); TRY; push $SEL_CODE0; push $1f; lret; 1: ENDTRY; call newline
        PRINT("int 0x30"); TRY; int $0x30; ENDTRY; call newline
        PRINT("iret"); TRY; pushf; push %cs; push $1f; iret; 1: ENDTRY; call newline

        PRINT("ring 3\n")
        R3("sgdt", r3_sgdt); call showdt; call newline
        R3("sidt", r3_sidt); call showdt; call newline
        R3("sldt", r3_sldt); call show1; call newline
        R3("smsw", r3_smsw); call show1; call newline
        R3("str", r3_str); call show1; call newline
        R3("pushf (if=1)", r3_pushf); call show1; call newline
        R3("popf if=0 iopl=3", r3_popf); call show1; call newline
        R3("lar conf", r3_lar); call show2; call newline
        R3("lsl conf", r3_lsl); call show2; call newline
        R3("verr conf", r3_verr); call show1; call newline
        R3("verw data3", r3_verw); call show1; call newline
        R3("push cs ss ds", r3_push); call show3; call newline
        R3("pop ds ss", r3_pop); call newline
        R3("mov from cs ss", r3_movfrom); call show2; call newline
        R3("mov to ss", r3_movto); call newline
        R3("lcall", r3_lcall); call show1; call newline
        R3("ljmp", r3_ljmp); call show1; call newline
        R3("lret", r3_lret); call newline
        R3("int 0x31", r3_int); call newline
        R3("iret", r3_iret); call newline

        PRINT("umip offered")
        mov $7, %eax
        xor %ecx, %ecx
        cpuid
        shr $2, %ecx
        and $1, %ecx
        mov %ecx, v3
        mov %ecx, %eax
        call space
        call hex8
        call newline
        /* Without the CPUID bit the write is #GP (bit 11 reserved): tremu's
         * unit tests check that; QEMU 7.2 hangs here, so no golden. */
        cmpl $0, v3
        je 2f
        PRINT("set cr4.umip")
        TRY; mov %cr4, %eax; or $0x800, %eax; mov %eax, %cr4; ENDTRY; call newline
        PRINT("umip ring 0 sgdt"); TRY; sgdt dt; ENDTRY; call newline
        R3("umip ring 3 sgdt", r3_sgdt); call newline
        R3("umip ring 3 sidt", r3_sidt); call newline
        R3("umip ring 3 sldt", r3_sldt); call newline
        R3("umip ring 3 smsw", r3_smsw); call newline
        R3("umip ring 3 str", r3_str); call newline
        R3("umip ring 3 pushf", r3_pushf); call newline
        mov %cr4, %eax
        and $~0x800, %eax
        mov %eax, %cr4
2:      jmp finish

pg_far: mov %cs, v1
        lret
pg_iret:
        iret

r3_sgdt: sgdt dt; int $0x80
r3_sidt: sidt dt; int $0x80
r3_sldt: sldt v1; int $0x80
r3_smsw: smsw v1; int $0x80
r3_str:  str v1; int $0x80
r3_pushf: pushf; popl v1; int $0x80
r3_popf: push $0x3002; popf; pushf; popl v1; int $0x80
r3_lar:  mov $SEL_CONF, %ebx; lar %ebx, %eax; mov %eax, v1; setz v2; int $0x80
r3_lsl:  mov $SEL_CONF, %ebx; lsl %ebx, %eax; mov %eax, v1; setz v2; int $0x80
r3_verr: mov $SEL_CONF, %ebx; verr %bx; setz v1; int $0x80
r3_verw: mov $SEL_DATA3, %ebx; verw %bx; setz v1; int $0x80
r3_push: push %cs; popl v1; push %ss; popl v2; push %ds; popl v3; int $0x80
r3_pop:  push $SEL_DATA3; pop %ds; push $SEL_DATA3; pop %ss; int $0x80
r3_movfrom: mov %cs, v1; mov %ss, v2; int $0x80
r3_movto: mov $SEL_DATA3, %eax; mov %ax, %ss; int $0x80
r3_lcall: lcall $SEL_CODE3, $r3_far; int $0x80
r3_far:  mov %cs, v1; lret
r3_ljmp: ljmp $SEL_CODE3, $1f; 1: mov %cs, v1; int $0x80
r3_lret: push $SEL_CODE3; push $1f; lret; 1: int $0x80
r3_int:  int $0x31; int $0x80
r3_iret: pushf; push %cs; push $1f; iret; 1: int $0x80
