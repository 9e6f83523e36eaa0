/* i8042: the keyboard controller's commands (port 0x64) and the keyboard's
 * replies (port 0x60), as QEMU's pckbd/ps2 models answer them:
 *   0xAA controller self-test -> 0x55
 *   0x20 read the command byte, 0x60 write it
 *   0xAB keyboard interface test -> 0x00, 0xA9 aux interface test -> 0x00
 *   keyboard 0xFF reset -> 0xFA (ack) 0xAA (BAT passed)
 *   keyboard 0xF2 identify -> 0xFA 0xAB 0x41 (0x83 through scancode
 *   translation, which the command byte 0x44 turns on), 0xEE echo -> 0xEE
 * Interrupts stay off (IF=0, PIC never initialised): everything is polled
 * on the status register's OBF bit. */
#include "rom16.h"

main:
        /* Status after reset: only the bits a guest can rely on without a
         * BIOS having run: OBF/IBF clear. */
        PRINT("status")
        in $0x64, %al
        and $0x03, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        PRINT("self-test")
        mov $0xaa, %al
        call ctl_cmd
        call show_reply
        EXPECT_AL(0x55)
        /* After the self-test the system flag (bit 2) is set. */
        in $0x64, %al
        and $0x07, %al
        call space
        call hex8
        EXPECT_AL(0x04)
        call newline

        PRINT("command byte")
        mov $0x20, %al
        call ctl_cmd
        call show_reply
        mov $0x60, %al          /* write: kbd IRQ off, translation on */
        call ctl_cmd
        mov $0x44, %al
        call data_write
        mov $0x20, %al
        call ctl_cmd
        call show_reply
        EXPECT_AL(0x44)
        call newline

        PRINT("interface tests")
        mov $0xab, %al
        call ctl_cmd
        call show_reply
        EXPECT_AL(0x00)
        mov $0xa9, %al
        call ctl_cmd
        call show_reply
        EXPECT_AL(0x00)
        call newline

        PRINT("keyboard reset")
        mov $0xff, %al
        call data_write
        call show_reply
        EXPECT_AL(0xfa)
        call show_reply
        EXPECT_AL(0xaa)
        call newline

        PRINT("identify")
        mov $0xf2, %al
        call data_write
        call show_reply
        EXPECT_AL(0xfa)
        call show_reply
        EXPECT_AL(0xab)
        call show_reply
        EXPECT_AL(0x41)
        call newline

        PRINT("echo")
        mov $0xee, %al
        call data_write
        call show_reply
        EXPECT_AL(0xee)
        call newline

        /* Nothing left over. */
        PRINT("empty")
        in $0x64, %al
        and $0x01, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline
        jmp finish

/* wait_ibf_clear: until the controller has taken the last byte. */
wait_ibf_clear:
        push %ax
        push %cx
        mov $POLL_LIMIT, %cx
1:      in $0x64, %al
        test $0x02, %al
        jz 2f
        loop 1b
2:      pop %cx
        pop %ax
        ret

/* ctl_cmd: AL to the command port. */
ctl_cmd:
        call wait_ibf_clear
        out %al, $0x64
        ret

/* data_write: AL to the data port (keyboard, or a command's argument). */
data_write:
        call wait_ibf_clear
        out %al, $0x60
        ret

/* show_reply: wait for OBF, read port 0x60 into AL and print it. When
 * nothing comes within the poll limit: prints " --", returns AL = 0xff. */
show_reply:
        push %cx
        mov $POLL_LIMIT, %cx
1:      in $0x64, %al
        test $0x01, %al
        jnz 2f
        loop 1b
        PRINT(" --")
        mov $0xff, %al
        pop %cx
        ret
2:      in $0x60, %al
        call space
        call hex8
        pop %cx
        ret
