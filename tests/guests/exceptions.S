/* exceptions: each exception class once (SDM vol. 3, chapter 6, and
 * 6.15 for the vectors), printed as vector, error code, offset of the
 * reported EIP from the start of the case (faults point at the faulting
 * instruction, traps after it) and CPL (sys32.h). QEMU is the golden. */
#include "mboot32.h"
#include "sys32.h"

        .section .bss
        .balign 16
fx_area: .skip 512
dr6_val: .long 0
bound_pair: .long 0, 0
word:   .long 0
        .text

#define CASE(name) PRINT(name); TRY
#define END        ENDTRY; call newline

main:
        call sys_init
        mov %cr0, %eax
        or $0x20, %eax          /* NE: x87 errors as #MF, not IRQ 13 */
        and $~0x0e, %eax        /* MP, EM, TS off */
        mov %eax, %cr0
        fninit

        CASE("de div 0")
        xor %edx, %edx; mov $1, %eax; xor %ecx, %ecx; div %ecx
        END
        CASE("de idiv overflow")
        mov $0x80000000, %eax; cdq; mov $-1, %ecx; idiv %ecx
        END
        CASE("de div8 quotient too big")
        mov $0x1000, %ax; mov $2, %cl; div %cl
        END
        CASE("de aam 0")
        .byte 0xd4, 0x00
        END
        CASE("ud ud2")
        ud2
        END
        CASE("ud lock nop")
        .byte 0xf0, 0x90
        END
        CASE("ud lock add reg")
        .byte 0xf0, 0x01, 0xc0
        END
        CASE("ud mov cs")
        .byte 0x8e, 0xc8
        END
        CASE("ud lea reg")
        .byte 0x8d, 0xc0
        END
        CASE("gp 16 byte insn")
        .fill 15, 1, 0x66
        nop
        END
        CASE("bp int3")
        int3
        END
        CASE("bp int 3")
        int $3
        END
        CASE("of into of=0")
        xor %eax, %eax; into
        END
        CASE("of into of=1")
        mov $0x7fffffff, %eax; inc %eax; into
        END
        CASE("br bound inside")
        movl $10, bound_pair; movl $20, bound_pair + 4; mov $15, %eax; bound %eax, bound_pair
        END
        CASE("br bound above")
        movl $10, bound_pair; movl $20, bound_pair + 4; mov $21, %eax; bound %eax, bound_pair
        END
        CASE("br bound below")
        movl $10, bound_pair; movl $20, bound_pair + 4; mov $9, %eax; bound %eax, bound_pair
        END
        CASE("nm x87 with ts")
        mov %cr0, %eax; or $8, %eax; mov %eax, %cr0; fld1
        END
        clts
        CASE("nm fwait with ts mp")
        mov %cr0, %eax; or $0xa, %eax; mov %eax, %cr0; fwait
        END
        CASE("nm fwait with ts, mp off")
        mov %cr0, %eax; and $~2, %eax; or $8, %eax; mov %eax, %cr0; fwait
        END
        clts
        CASE("nm x87 with em")
        mov %cr0, %eax; or $4, %eax; mov %eax, %cr0; fld1
        END
        mov %cr0, %eax; and $~0xe, %eax; mov %eax, %cr0
        CASE("ud sse without osfxsr")
        mov %cr4, %eax; and $~0x600, %eax; mov %eax, %cr4; xorps %xmm0, %xmm0
        END
        mov %cr4, %eax; or $0x200, %eax; mov %eax, %cr4
        CASE("nm sse with ts")
        mov %cr0, %eax; or $8, %eax; mov %eax, %cr0; xorps %xmm0, %xmm0
        END
        clts
        CASE("ud sse with em")
        mov %cr0, %eax; or $4, %eax; mov %eax, %cr0; xorps %xmm0, %xmm0
        END
        mov %cr0, %eax; and $~0xe, %eax; mov %eax, %cr0
        CASE("mf x87 zero divide at fwait")
        fninit; pushl $0x37b; fldcw (%esp); pop %eax; fld1; fldz; fdivrp; nop; fwait
        END
        fnstsw %ax
        PRINT("  fsw after ")
        call hex8
        call newline
        fnclex
        /* Not here: an unmasked x87 exception pending at the next
         * waiting x87 instruction other than FWAIT (fld1): the SDM (vol. 1,
         * 8.6) delivers #MF there; tremu does, QEMU 7.2 only checks in
         * FWAIT. */
        fninit
        /* Not here: unmasked SSE exceptions. The SDM (vol. 3, 6.15,
         * interrupt 19, and vol. 1, 11.5.1) makes them #XM with
         * CR4.OSXMMEXCPT and #UD without; tremu does, QEMU 7.2 does not
         * model them (it only sets the MXCSR flag). */
        mov %cr4, %eax; or $0x400, %eax; mov %eax, %cr4
        CASE("xm sse2 zero divide masked")
        pushl $0x1f80; ldmxcsr (%esp); pop %eax; mov $1, %eax; cvtsi2sd %eax, %xmm0; xorpd %xmm1, %xmm1; divsd %xmm1, %xmm0
        END
        stmxcsr word
        mov word, %eax
        PRINT("  mxcsr after ")
        call hex32
        call newline
        CASE("gp movaps misaligned")
        movaps fx_area + 4, %xmm0
        END
        CASE("db single step")
        pushf; orl $0x100, (%esp); popf; nop; nop
        END
        mov %dr6, %eax
        and $0x4000, %eax
        PRINT("  dr6.bs ")
        call hex32
        call newline
        CASE("db single step over int3")
        pushf; orl $0x100, (%esp); popf; int3; nop
        END
        /* Not here: the #AC(0) itself (CR0.AM, EFLAGS.AC, CPL 3 and a
         * misaligned access: SDM vol. 3, 6.15, interrupt 17). Neither QEMU
         * 7.2's TCG nor tremu checks alignment; only the cases where no
         * #AC is due are kept. */
        mov %cr0, %eax; or $0x40000, %eax; mov %eax, %cr0
        CASE("ac ring 0 misaligned (no check)")
        pushf; orl $0x40000, (%esp); popf; mov fx_area + 1, %eax
        END
        CASE("ac ring 3 ac=0")
        mov $r3_misaligned, %eax; mov $0x2, %edx; call ring3
        END
        mov %cr0, %eax; and $~0x40000, %eax; mov %eax, %cr0
        CASE("ac ring 3 am=0")
        mov $r3_misaligned, %eax; mov $0x40002, %edx; call ring3
        END
        CASE("df gp with gp gate not present")
        movb $0x0e, sys_idt + 13 * 8 + 5; mov $0x80, %ax; mov %ax, %ds
        END
        movb $0x8e, sys_idt + 13 * 8 + 5
        CASE("df np with gp gate not present")
        movb $0x0e, sys_idt + 0x31 * 8 + 5; movb $0x0e, sys_idt + 11 * 8 + 5; movb $0x0e, sys_idt + 13 * 8 + 5; int $0x31
        END
        movb $0x8e, sys_idt + 11 * 8 + 5
        movb $0x8e, sys_idt + 13 * 8 + 5
        /* The EXT bit (error code bit 0) is 1 here: the #NP happened while
         * delivering an exception (SDM vol. 3, 6.13); QEMU 7.2 leaves it 0,
         * so it is masked off. */
        movl $0xfffe, err_mask
        CASE("ud with ud gate not present (ext masked)")
        movb $0x0e, sys_idt + 6 * 8 + 5; ud2
        END
        movl $0xffff, err_mask
        movb $0x8e, sys_idt + 6 * 8 + 5
        CASE("bp gate not present: np then")
        movb $0x0e, sys_idt + 3 * 8 + 5; int3
        END
        movb $0x8e, sys_idt + 3 * 8 + 5
        CASE("ring 3 int to dpl0 not-present gate")
        movb $0x0e, sys_idt + 0x31 * 8 + 5; mov $r3_int31, %eax; mov $0x2, %edx; call ring3
        END
        CASE("ring 3 int3 through dpl0 gate")
        mov $r3_int3, %eax; mov $0x2, %edx; call ring3
        END
        CASE("ring 3 into through dpl0 gate")
        mov $r3_into, %eax; mov $0x2, %edx; call ring3
        END
        /* Not here: ICEBP (F1), a #DB trap without gate DPL check (SDM
         * vol. 3, 6.12.1.1); QEMU 7.2 raises #UD for it. */
        jmp finish

r3_misaligned:
        mov $fx_area + 1, %ebx
        mov (%ebx), %eax
        int $0x80
r3_int31:
        int $0x31
        int $0x80
r3_int3:
        int3
        int $0x80
r3_into:
        mov $0x7fffffff, %eax
        inc %eax
        into
        int $0x80
/* ICEBP (F1) is not subject to the gate's DPL check (SDM vol. 3, 6.12.1.1). */
r3_icebp:
        .byte 0xf1
        int $0x80
