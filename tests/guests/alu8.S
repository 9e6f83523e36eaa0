/* alu8: the byte forms of the group-3 instructions (opcode F6: TEST imm8,
 * NOT, NEG, MUL, IMUL, DIV, IDIV; SDM vol. 2) in real mode, on registers and
 * on memory, each followed directly by other code so that a decoder that
 * takes the wrong instruction length derails visibly. Prints each result
 * (and the flags that are defined); QEMU gives the reference. Not a CPU test
 * suite: the device guests use these forms, and a wrong length once sent
 * the rtc guest into a reset loop. */
#include "rom16.h"

#define V_M 0x600               /* a byte operand in RAM */

/* Print AX and the arithmetic flags (CF, ZF, SF, OF), or only CF and OF
 * after MUL/IMUL, where SF and ZF are undefined (SDM vol. 2, MUL). Nothing
 * between the instruction and these may change the flags. */
#define SHOW_AX_FL pushf; call space; call hex16; popf; call show_flags
#define SHOW_AX_CO pushf; call space; call hex16; popf; call show_co

main:
        PRINT("not")
        mov $0x5a, %al
        not %al                 /* F6 /2: no immediate */
        mov $0x12, %ah
        call space
        call hex16
        EXPECT_AL(0xa5)
        movb $0x0f, V_M
        notb V_M
        mov V_M, %al
        call space
        call hex8
        EXPECT_AL(0xf0)
        call newline

        PRINT("neg")
        mov $0x0001, %ax
        neg %al                 /* F6 /3 */
        SHOW_AX_FL
        movb $0x80, V_M
        negb V_M
        mov V_M, %al
        SHOW_AX_FL
        call newline

        PRINT("test")
        mov $0x0081, %ax
        test $0x80, %al         /* A8 ib */
        SHOW_AX_FL
        mov $0x0081, %bx
        testb $0x01, %bh        /* F6 /0 ib */
        mov %bx, %ax
        SHOW_AX_FL
        call newline

        PRINT("mul")
        mov $0x20, %al
        mov $0x10, %cl
        mul %cl                 /* F6 /4: AX = 0x0200, CF=OF=1 */
        SHOW_AX_CO
        movb $3, V_M
        mov $0x40, %al
        mulb V_M                /* 0x00c0, CF=OF=0 */
        SHOW_AX_CO
        call newline

        PRINT("imul")
        mov $0xff, %al          /* -1 * -128 = 128: does not fit, CF=OF=1 */
        mov $0x80, %cl
        imul %cl                /* F6 /5 */
        SHOW_AX_CO
        movb $0xfe, V_M         /* -2 * 3 = -6 */
        mov $3, %al
        imulb V_M
        SHOW_AX_CO
        call newline

        PRINT("div")
        mov $1000, %ax
        mov $7, %cl
        div %cl                 /* F6 /6: AL = 142, AH = 6 */
        call space
        call hex16
        movb $10, V_M
        mov $0x00ff, %ax
        divb V_M                /* AL = 25, AH = 5 */
        call space
        call hex16
        call newline

        PRINT("idiv")
        mov $-100, %ax
        mov $7, %cl
        idiv %cl                /* F6 /7: AL = -14, AH = -2 */
        call space
        call hex16
        movb $-3, V_M
        mov $50, %ax
        idivb V_M               /* AL = -16, AH = 2 */
        call space
        call hex16
        call newline
        jmp finish

/* show_co: print " c? o?" from the flags on entry. */
show_co:
        pushf
        push %ax
        push %bx
        pushf
        pop %bx
        PRINT(" c")
        mov %bl, %al
        and $0x01, %al
        call hex4
        PRINT(" o")
        mov %bh, %al
        shr $3, %al
        and $1, %al
        call hex4
        pop %bx
        pop %ax
        popf
        ret

/* show_flags: print " c? z? s? o?" from the flags on entry. */
show_flags:
        pushf
        push %ax
        push %bx
        pushf
        pop %bx
        PRINT(" c")
        mov %bl, %al
        and $0x01, %al
        call hex4
        PRINT(" z")
        mov %bl, %al
        shr $6, %al
        and $1, %al
        call hex4
        PRINT(" s")
        mov %bl, %al
        shr $7, %al
        call hex4
        PRINT(" o")
        mov %bh, %al
        shr $3, %al
        and $1, %al
        call hex4
        pop %bx
        pop %ax
        popf
        ret
