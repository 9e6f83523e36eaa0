/* pic+pit: both 8259As initialised from scratch (ICW1-4, 8259A data sheet),
 * the 8254's channel 0 as a 1 kHz rate generator on IRQ0 (vector 0x20),
 * 50 interrupts counted with EOIs; IRR/ISR read through OCW3; masking;
 * channel 2 with its gate from port 0x61, OUT2 in port 0x61 bit 5, the
 * counter latch and the read-back command (8254 data sheet).
 * Everything printed is a yes/no fact or a register read at a moment where
 * its value is fixed, never a timing-dependent count. */
#include "rom16.h"

#define V_COUNT   0x600         /* word: IRQ0 interrupts taken */
#define V_OTHER   0x602         /* word: any other vector 0x20-0x2f taken */
#define V_ISRIN   0x604         /* byte: ISR as seen inside the first IRQ0 */
#define V_SAVED   0x606         /* word */
#define V_LATCH1  0x608         /* word */
#define V_LATCH2  0x60a         /* word */
#define V_WD      0x60c         /* word: RTC ticks since the wait began */
#define WD_LIMIT  192           /* 3 s of 64 Hz RTC ticks */

#define NTICKS    50
#define PIT_HZ    1193182
#define DIVISOR   1193          /* ~1000.15 Hz */

/* The body of every sti;hlt wait: a watchdog (the RTC's periodic interrupt
 * on IRQ 8, 64 Hz) ends the run with a message if IRQ0 stops coming, rather
 * than leaving it to hang until the runner's time limit. */
#define HLT_WAIT cmpw $WD_LIMIT, V_WD; jae watchdog_fired; sti; hlt

/* Wait until `cond` sets ZF=0, for at most one second of RTC periodic
 * flags (PF, 64 per second: the RTC is set up first); jumps to `timeout`
 * otherwise. Time-based, since a poll costs anything from nanoseconds
 * (a JIT) to microseconds (KVM's instruction emulator). Uses DI. */
#define WAIT_UNTIL(cond, timeout) \
        xor %di, %di; 7: cond; jnz 6f; mov $0x0c, %al; call cmos_read; \
        test $0x40, %al; jz 7b; inc %di; cmp $64, %di; jb 7b; jmp timeout; 6:

main:
        movw $0, V_COUNT
        movw $0, V_OTHER
        movb $0xff, V_ISRIN

        /* IVT: 0x20-0x2f to `other_irq`, then 0x20 (IRQ0) to `irq0`. */
        mov $0x20*4, %bx
1:      movw $other_irq, (%bx)
        movw $0xf000, 2(%bx)
        add $4, %bx
        cmp $0x30*4, %bx
        jb 1b
        movw $irq0, 0x20*4
        movw $0xf000, 0x20*4+2
        movw $rtc_tick, 0x28*4
        movw $0xf000, 0x28*4+2

        call lapic_virtual_wire

        /* ICW1: edge, cascade, ICW4 needed. ICW2: vector base. ICW3: the
         * slave on IRQ2 / the slave's id 2. ICW4: 8086 mode. */
        mov $0x11, %al
        out %al, $0x20
        out %al, $0xa0
        mov $0x20, %al
        out %al, $0x21
        mov $0x28, %al
        out %al, $0xa1
        mov $0x04, %al
        out %al, $0x21
        mov $0x02, %al
        out %al, $0xa1
        mov $0x01, %al
        out %al, $0x21
        out %al, $0xa1
        /* OCW1: mask everything. */
        mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1

        PRINT("imr")
        in $0x21, %al
        call space
        call hex8
        EXPECT_AL(0xff)
        mov $0xfa, %al
        out %al, $0x21
        in $0x21, %al
        call space
        call hex8
        EXPECT_AL(0xfa)
        mov $0x5a, %al
        out %al, $0xa1
        in $0xa1, %al
        call space
        call hex8
        EXPECT_AL(0x5a)
        mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        call newline

        /* The watchdog: RTC periodic interrupt at 64 Hz, IRQ 8 open on the
         * slave; it reaches the CPU only while the master opens IRQ 2. */
        mov $0x0a, %al
        mov $0x2a, %ah
        call cmos_write
        mov $0x0b, %al
        mov $0x42, %ah          /* PIE | 24h */
        call cmos_write
        mov $0x0c, %al
        call cmos_read
        mov $0xfe, %al
        out %al, $0xa1

        /* PIT channel 0: lobyte/hibyte, mode 2 (rate generator), binary. */
        mov $0x34, %al
        out %al, $0x43
        mov $(DIVISOR & 0xff), %al
        out %al, $0x40
        mov $(DIVISOR >> 8), %al
        out %al, $0x40

        /* Masked, the request still shows up in IRR, and not in ISR. */
        PRINT("masked irr0")
        WAIT_UNTIL(call irr_bit0, timeout_irr)
        mov $1, %al
        call space
        call hex8
        PRINT(" isr0")
        mov $0x0b, %al          /* OCW3: read ISR */
        out %al, $0x20
        in $0x20, %al
        and $0x01, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        /* Unmask IRQ0 and count NTICKS interrupts. sti;hlt cannot lose a
         * wakeup: sti's interrupt shadow covers the hlt (SDM vol. 2, STI). */
        movw $0, V_WD
        mov $0xfa, %al          /* IRQ 0, and IRQ 2 for the watchdog */
        out %al, $0x21
2:      cli
        cmpw $NTICKS, V_COUNT
        jae 3f
        HLT_WAIT
        jmp 2b
3:      PRINT("ticks ")
        mov V_COUNT, %ax
        call dec16
        PRINT(" isr in handler")
        mov V_ISRIN, %al
        call space
        call hex8
        EXPECT_AL(0x01)
        PRINT(" isr after eoi")
        mov $0x0b, %al
        out %al, $0x20
        in $0x20, %al
        and $0x01, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        /* Mask IRQ0 with interrupts enabled: the timer keeps requesting
         * (IRR) but nothing is delivered; unmasking delivers it. */
        mov $0xff, %al
        out %al, $0x21
        mov V_COUNT, %ax
        mov %ax, V_SAVED
        mov $0x0a, %al          /* OCW3: read IRR from now on */
        out %al, $0x20
        sti
        WAIT_UNTIL(call irr_bit0, timeout_irr)
        cli
        PRINT("masked: ")
        mov V_COUNT, %ax
        sub V_SAVED, %ax
        call dec16
        PRINT(" delivered")
        movw $0, V_WD
        mov $0xfa, %al
        out %al, $0x21
4:      cli
        mov V_COUNT, %ax
        cmp V_SAVED, %ax
        jne 5f
        HLT_WAIT
        jmp 4b
5:      PRINT(", unmasked: delivered\n")
        /* Stop channel 0 requests reaching the CPU from here on. */
        mov $0xff, %al
        out %al, $0x21

        /* Channel 2: gate on (port 0x61 bit 0), speaker data off (bit 1). */
        mov $0x01, %al
        out %al, $0x61
        PRINT("port61")
        in $0x61, %al
        and $0x03, %al
        call space
        call hex8
        EXPECT_AL(0x01)
        /* Mode 0 (interrupt on terminal count), count 0xffff (~55 ms, long
         * enough that a busy host cannot make us read OUT2 too late):
         * OUT2 goes low at the control word, high when the count ends. */
        mov $0xb0, %al
        out %al, $0x43
        mov $0xff, %al
        out %al, $0x42
        out %al, $0x42
        in $0x61, %al
        mov %al, %bl
        mov $0x80, %al          /* counter latch, channel 2 */
        out %al, $0x43
        in $0x42, %al
        mov %al, V_LATCH1
        in $0x42, %al
        mov %al, V_LATCH1+1
        /* Latch again until the value moves (the emulator's clock may not
         * have advanced by one 838 ns tick between two latches). */
        mov $POLL_LIMIT, %cx
3:      mov $0x80, %al
        out %al, $0x43
        in $0x42, %al
        mov %al, V_LATCH2
        in $0x42, %al
        mov %al, V_LATCH2+1
        mov V_LATCH2, %ax
        cmp V_LATCH1, %ax
        loope 3b
        /* Read-back (0xe8): latch status only, channel 2. */
        mov $0xe8, %al
        out %al, $0x43
        in $0x42, %al
        mov %al, %bh
        PRINT(" out2")
        mov %bl, %al
        and $0x20, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        PRINT(" status")
        mov %bh, %al
        and $0xbf, %al          /* bit 6 (null count) is not modelled by QEMU */
        call space
        call hex8
        EXPECT_AL(0x30)
        PRINT(" counting down")
        mov V_LATCH1, %ax
        cmp V_LATCH2, %ax
        jbe 6f
        PRINT(" yes")
        jmp 7f
6:      PRINT(" NO")
        incw V_FAILS
7:      call newline

        /* Wait at least 60 ms, timed by channel 0 (unmask, count ticks). */
        mov V_COUNT, %ax
        add $61, %ax
        mov %ax, V_SAVED
        movw $0, V_WD
        mov $0xfa, %al
        out %al, $0x21
8:      cli
        mov V_COUNT, %ax
        cmp V_SAVED, %ax
        jae 9f
        HLT_WAIT
        jmp 8b
9:      mov $0xff, %al
        out %al, $0x21
        PRINT("after the count: out2")
        in $0x61, %al
        and $0x20, %al
        call space
        call hex8
        EXPECT_AL(0x20)
        mov $0xe8, %al
        out %al, $0x43
        in $0x42, %al
        and $0xbf, %al
        PRINT(" status")
        call space
        call hex8
        EXPECT_AL(0xb0)
        /* Gate off: port 0x61 bit 0 reads back 0. */
        mov $0x00, %al
        out %al, $0x61
        in $0x61, %al
        and $0x03, %al
        PRINT(" port61")
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        PRINT("other interrupts ")
        mov V_OTHER, %ax
        call dec16
        call newline
        cmpw $0, V_OTHER
        je 1f
        incw V_FAILS
1:      jmp finish

watchdog_fired:
        PRINT(" watchdog: no IRQ0 for 3 s\n")
        incw V_FAILS
        jmp finish

timeout_irr:
        PRINT(" timeout: IRR bit 0 not set within 1 s\n")
        incw V_FAILS
        jmp finish

/* irr_bit0: ZF=0 when the master's IRR bit 0 is set. Clobbers AL. */
irr_bit0:
        mov $0x0a, %al          /* OCW3: read IRR */
        out %al, $0x20
        in $0x20, %al
        test $0x01, %al
        ret

irq0:
        push %ax
        cmpb $0xff, V_ISRIN
        jne 1f
        mov $0x0b, %al          /* OCW3: read ISR */
        out %al, $0x20
        in $0x20, %al
        and $0x01, %al
        mov %al, V_ISRIN
        mov $0x0a, %al          /* back to IRR reads */
        out %al, $0x20
1:      incw V_COUNT
        mov $0x20, %al          /* OCW2: non-specific EOI */
        out %al, $0x20
        pop %ax
        iret

rtc_tick:
        push %ax
        mov $0x0c, %al          /* reading C re-arms the RTC's interrupt */
        call cmos_read
        incw V_WD
        mov $0x20, %al
        out %al, $0xa0
        out %al, $0x20
        pop %ax
        iret

other_irq:
        push %ax
        incw V_OTHER
        mov $0x20, %al
        out %al, $0xa0
        out %al, $0x20
        pop %ax
        iret
