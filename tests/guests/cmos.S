/* cmos: the memory-size bytes the board stores in CMOS for the BIOS, as QEMU's
 * pc machine does (hw/i386/pc.c pc_cmos_init), for -m 128:
 *   0x15/0x16 base memory in KiB (640)
 *   0x17/0x18 and 0x30/0x31 memory above 1 MiB in KiB, capped at 0xffff
 *   0x34/0x35 memory above 16 MiB in 64 KiB units
 *   0x5b-0x5d memory above 4 GiB in 64 KiB units (none here)
 *   0x5f      number of CPUs - 1
 * Also: the NVRAM bytes are read/write, and bit 7 of the index (NMI
 * disable) does not take part in the register selection. */
#include "rom16.h"

main:
        PRINT("cmos")
        mov $0x15, %bl
        call show
        mov $0x16, %bl
        call show
        mov $0x17, %bl
        call show
        mov $0x18, %bl
        call show
        mov $0x30, %bl
        call show
        mov $0x31, %bl
        call show
        mov $0x34, %bl
        call show
        mov $0x35, %bl
        call show
        mov $0x5b, %bl
        call show
        mov $0x5c, %bl
        call show
        mov $0x5d, %bl
        call show
        mov $0x5f, %bl
        call show
        call newline

        /* Base memory: 0x0280 KiB. */
        mov $0x15, %al
        call cmos_read
        EXPECT_AL(0x80)
        mov $0x16, %al
        call cmos_read
        EXPECT_AL(0x02)
        /* 127 MiB above 1 MiB is 130048 KiB: capped at 0xffff. */
        mov $0x17, %al
        call cmos_read
        EXPECT_AL(0xff)
        mov $0x31, %al
        call cmos_read
        EXPECT_AL(0xff)
        /* 112 MiB above 16 MiB = 0x0700 * 64 KiB. */
        mov $0x34, %al
        call cmos_read
        EXPECT_AL(0x00)
        mov $0x35, %al
        call cmos_read
        EXPECT_AL(0x07)

        /* NVRAM read/write, with and without the NMI-disable bit. */
        PRINT("nvram")
        mov $0x40, %al
        mov $0xa5, %ah
        call cmos_write
        mov $0x41, %al
        mov $0x5a, %ah
        call cmos_write
        mov $0x40, %al
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0xa5)
        mov $0xc1, %al          /* 0x80 | 0x41 */
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0x5a)
        mov $0xc0, %al
        mov $0x3c, %ah
        call cmos_write
        mov $0x40, %al
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0x3c)
        call newline
        jmp finish

/* show: print " xx=yy" for CMOS register BL. */
show:
        push %ax
        call space
        mov %bl, %al
        call hex8
        mov $'=', %al
        call putc
        mov %bl, %al
        call cmos_read
        call hex8
        pop %ax
        ret
