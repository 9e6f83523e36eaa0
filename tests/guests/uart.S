/* hello/uart: the 16550A registers read back (16550A data sheet, table 2).
 * Prints each value read; EXPECT_AL flags any that differ from the data
 * sheet (and QEMU). Loopback (MCR bit 4) must not reach the console. */
#include "rom16.h"

#define RD(off)  mov $COM1+(off), %dx; in %dx, %al
#define WR(off, v) mov $COM1+(off), %dx; mov $(v), %al; out %al, %dx
/* Values read while the console is unusable are kept in RAM, shown later. */
#define SAVE(i)  mov %al, V_SAVE+(i)
#define SHOW(i, want) call space; mov V_SAVE+(i), %al; call hex8; EXPECT_AL(want)
#define V_SAVE   0x600

main:
        PRINT("hello from the uart guest\n")

        /* LCR reads back what was written. */
        call drain
        WR(3, 0x1b)             /* 8 bits, even parity, 1 stop */
        RD(3)
        SAVE(0)
        WR(3, 0x03)
        RD(3)
        SAVE(1)
        PRINT("lcr=")
        SHOW(0, 0x1b)
        SHOW(1, 0x03)
        call newline

        /* DLAB=1: ports 0/1 are the divisor latch. Nothing can be printed
         * while DLAB is set (port 0 is DLL), so the values are kept first. */
        WR(3, 0x83)
        WR(0, 0x0c)
        WR(1, 0x00)
        RD(0)
        SAVE(0)
        RD(1)
        SAVE(1)
        WR(0, 0x01)             /* back to 115200 */
        RD(0)
        SAVE(2)
        WR(3, 0x03)
        PRINT("dll/dlm=")
        SHOW(0, 0x0c)
        SHOW(1, 0x00)
        SHOW(2, 0x01)
        call newline

        /* DLAB=0: port 1 is IER again (low 4 bits writable). */
        PRINT("ier=")
        WR(1, 0x05)
        RD(1)
        call hex8
        EXPECT_AL(0x05)
        WR(1, 0x00)
        RD(1)
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        /* Scratch register. */
        PRINT("scr=")
        WR(7, 0x5a)
        RD(7)
        call hex8
        EXPECT_AL(0x5a)
        WR(7, 0xa5)
        RD(7)
        call space
        call hex8
        EXPECT_AL(0xa5)
        call newline

        /* IIR: FIFOs enabled (bits 7:6), nothing pending (bit 0). Printing
         * refills THR, so everything is read before anything is shown. */
        call drain
        RD(2)
        SAVE(0)
        /* Enabling the THRE interrupt with THR empty makes it pending
         * (16550A: "THRE interrupt ... enabled when THR empty"). */
        WR(1, 0x02)
        RD(2)
        SAVE(1)
        /* Reading IIR while THRE is the source clears it. */
        RD(2)
        SAVE(2)
        WR(1, 0x00)
        PRINT("iir=")
        SHOW(0, 0xc1)
        SHOW(1, 0xc2)
        SHOW(2, 0xc1)
        call newline

        /* Once the transmitter has drained, LSR = THRE|TEMT. */
        call drain
        RD(5)
        SAVE(0)
        PRINT("lsr=")
        SHOW(0, 0x60)
        call newline

        /* Loopback: MCR bit 4 wires OUT to IN inside the chip; MSR's high
         * nibble shows DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. The console
         * sees nothing meanwhile, so values are shown afterwards. */
        call drain
        WR(4, 0x1f)
        RD(4)
        SAVE(0)
        /* Only the line states are shown: the delta bits (3:0) differ
         * between a 16550A (set on loopback changes) and QEMU (never set
         * in loopback). */
        RD(6)
        and $0xf0, %al
        SAVE(1)
        WR(4, 0x10)             /* loopback, all outputs low */
        RD(6)
        and $0xf0, %al
        SAVE(2)
        WR(0, 0x42)             /* transmitted into our own receiver */
        mov $POLL_LIMIT, %cx
1:      RD(5)
        test $0x01, %al
        jnz 2f
        loop 1b
2:      and $0x01, %al
        SAVE(5)                 /* LSR.DR */
        RD(0)
        SAVE(6)
        RD(5)                   /* reading RBR emptied it */
        and $0x01, %al
        SAVE(7)
        WR(4, 0x03)             /* loopback off: console again */
        PRINT("mcr=")
        SHOW(0, 0x1f)
        PRINT(" msr=")
        SHOW(1, 0xf0)
        SHOW(2, 0x00)
        call newline
        PRINT("loop=")
        SHOW(5, 0x01)
        SHOW(6, 0x42)
        SHOW(7, 0x00)
        call newline

        jmp finish

/* Wait until the transmitter is empty (LSR.TEMT), bounded. */
drain:
        push %ax
        push %cx
        push %dx
        mov $POLL_LIMIT, %cx
1:      RD(5)
        test $0x40, %al
        jnz 2f
        loop 1b
2:      pop %dx
        pop %cx
        pop %ax
        ret
