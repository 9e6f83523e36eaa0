/* reset: the two legacy ways to reset the machine, and what survives them.
 *   boot 1: no magic in RAM yet. Store it (RAM 0:05f0, CMOS 0x40), reset
 *           through port 0x92 bit 0 (fast reset, a 0->1 transition).
 *   boot 2: the magic survived. Reset through the keyboard controller:
 *           command 0xFE pulses the CPU reset line (output port bit 0).
 *   boot 3: print "reset ok" and exit with success.
 * A reset does not clear RAM or the CMOS NVRAM (QEMU keeps both; so does a
 * real PC's warm reset). CMOS 0x0f (the shutdown status byte, which a BIOS
 * reads after a reset) is not used: QEMU 7.2 reads it back as 0 after a
 * reset, which is not a data-sheet behaviour a board has to copy. Under -no-reboot the first reset ends the run with
 * status 0 and only boot 1's lines are printed. */
#include "rom16.h"

#define V_MAGIC  0x5f0          /* word */
#define V_STEP   0x5f2          /* byte: boots seen so far */
#define MAGIC    0x7e57

main:
        cmpw $MAGIC, V_MAGIC
        je 1f
        movb $0, V_STEP
1:      incb V_STEP
        PRINT("boot ")
        mov V_STEP, %al
        xor %ah, %ah
        call dec16
        PRINT(": cmos 40=")
        mov $0x40, %al
        out %al, $0x70
        in $0x71, %al
        call hex8
        PRINT(" port92.0=")
        in $0x92, %al
        and $0x01, %al
        call hex8
        EXPECT_AL(0x00)
        call newline

        cmpb $1, V_STEP
        je boot1
        cmpb $2, V_STEP
        je boot2
        cmpb $3, V_STEP
        je boot3
        PRINT("too many boots\n")
        incw V_FAILS
        movw $0, V_MAGIC
        jmp finish

boot1:
        movw $MAGIC, V_MAGIC
        mov $0x40, %al
        out %al, $0x70
        mov $0x5a, %al
        out %al, $0x71
        PRINT("resetting through port 0x92\n")
        in $0x92, %al
        and $0xfe, %al
        out %al, $0x92
        or $0x01, %al
        out %al, $0x92
        jmp no_reset

boot2:
        mov $0x40, %al
        out %al, $0x70
        mov $0xa5, %al
        out %al, $0x71
        PRINT("resetting through the keyboard controller\n")
        mov $0xfe, %al
        out %al, $0x64
        jmp no_reset

boot3:
        mov $0x40, %al          /* boot 2 stored 0xa5 */
        out %al, $0x70
        in $0x71, %al
        EXPECT_AL(0xa5)
        PRINT("reset ok\n")
        movw $0, V_MAGIC
        jmp finish

/* The reset should have happened at the write: give the board a moment
 * (the request may be served when the vCPU next exits), then fail. */
no_reset:
        mov $0x4000, %cx
1:      in $0x80, %al
        loop 1b
        PRINT("no reset happened\n")
        movw $0, V_MAGIC
        incw V_FAILS
        jmp finish
