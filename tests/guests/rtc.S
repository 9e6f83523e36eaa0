/* rtc: the MC146818 (data sheet: registers A-D, update cycle, periodic
 * interrupt). Only deterministic facts are printed, never the time:
 *   - wait for UIP (A bit 7) to clear, then A-D as the board leaves them
 *     (A = 0x26: 32.768 kHz divider, 1024 Hz rate; B = 0x02: 24 h, BCD;
 *     C: no interrupt flag; D = 0x80: valid RAM and time);
 *   - the time registers hold BCD digits, then binary in range after
 *     B = 0x06 (binary, 24 h);
 *   - periodic flag PF/IRQF polled at 8 Hz with the interrupt masked:
 *     reading C returns it and clears it;
 *   - the periodic interrupt at 64 Hz on IRQ 8 through the slave PIC,
 *     counted over 8 ticks, the handler reading C each time (otherwise the
 *     RTC keeps its IRQ line asserted and no new edge comes). */
#include "rom16.h"

#define V_COUNT   0x600         /* word: IRQ 8 interrupts */
#define V_CFIRST  0x602         /* byte: C as read by the first handler */
#define V_OTHER   0x604         /* word: other vectors */
#define V_PIT     0x606         /* word: PIT ticks (the watchdog) */
#define WATCHDOG  3000          /* ms to wait for the RTC's interrupts */
#define NTICKS    8

/* Wait until `cond` sets ZF=0, for at most n times ~55 ms measured by PIT
 * channel 2 (one-shot, OUT2 in port 0x61 bit 5); then jump to `timeout`.
 * Time-based, since a poll costs anything from nanoseconds (a JIT) to
 * microseconds (KVM's instruction emulator). Uses DI. */
#define WAIT_55MS(cond, n, timeout) \
        mov $(n), %di; call pit2_start; 7: cond; jnz 6f; call pit2_done; \
        jz 7b; call pit2_start; dec %di; jnz 7b; jmp timeout; 6:

main:
        movw $0, V_COUNT
        movw $0, V_OTHER
        movb $0xff, V_CFIRST

        call wait_uip
        PRINT("rtc a")
        mov $0x0a, %al
        call cmos_read
        and $0x7f, %al          /* UIP is timing */
        call space
        call hex8
        EXPECT_AL(0x26)
        PRINT(" b")
        mov $0x0b, %al
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0x02)
        PRINT(" c.irqf")
        mov $0x0c, %al
        call cmos_read
        and $0x80, %al          /* PF/AF/UF may be set: not enabled, no IRQF */
        call space
        call hex8
        EXPECT_AL(0x00)
        PRINT(" d")
        mov $0x0d, %al
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0x80)
        call newline

        /* BCD: every nibble of the time registers is a decimal digit. */
        PRINT("bcd digits")
        call wait_uip
        xor %dx, %dx            /* DX: registers with a bad digit */
        mov $time_regs, %si
1:      movb %cs:(%si), %al
        cmp $0xff, %al
        je 3f
        call cmos_read
        mov %al, %ah
        and $0x0f, %ah
        cmp $9, %ah
        ja 2f
        shr $4, %al
        cmp $9, %al
        ja 2f
        inc %si
        jmp 1b
2:      inc %dx
        inc %si
        jmp 1b
3:      call check_dx

        /* Binary, 24 h: written without SET (the running time is kept and
         * is shown in the new format). */
        mov $0x0b, %al
        mov $0x06, %ah
        call cmos_write
        PRINT("binary b")
        mov $0x0b, %al
        call cmos_read
        call space
        call hex8
        EXPECT_AL(0x06)
        PRINT(" ranges")
        call wait_uip
        xor %dx, %dx
        mov $time_regs, %si
        mov $time_max, %di
4:      movb %cs:(%si), %al
        cmp $0xff, %al
        je 6f
        call cmos_read
        cmpb %cs:(%di), %al     /* above max */
        ja 5f
        cmpb %cs:time_min-time_max(%di), %al
        jb 5f
        inc %si
        inc %di
        jmp 4b
5:      inc %dx
        inc %si
        inc %di
        jmp 4b
6:      call check_dx

        /* Periodic flag without interrupts: rate 8 Hz, PIE on, IF = 0 and
         * the PIC never set up. Poll C until IRQF; a second read is 0 (the
         * slow rate leaves 125 ms for it, even on a busy host). */
        mov $0x0a, %al
        mov $0x2d, %ah          /* DV = 010, RS = 1101: 8 Hz */
        call cmos_write
        mov $0x0b, %al
        mov $0x46, %ah          /* PIE | DM | 24h */
        call cmos_write
        WAIT_55MS(call c_irqf, 10, 9f)  /* ~550 ms for one 125 ms period */
9:      and $0xc0, %al
        mov %al, %bl
        mov $0x0c, %al
        call cmos_read
        and $0xc0, %al
        mov %al, %bh
        PRINT("polled c")
        mov %bl, %al
        call space
        call hex8
        EXPECT_AL(0xc0)
        PRINT(" then")
        mov %bh, %al
        call space
        call hex8
        EXPECT_AL(0x00)
        call newline

        /* Now with interrupts at 64 Hz: PICs at 0x20/0x28, IRQ 8 = vector
         * 0x28. */
        mov $0x0a, %al
        mov $0x2a, %ah          /* DV = 010, RS = 1010: 64 Hz */
        call cmos_write
        call lapic_virtual_wire
        mov $0x20*4, %bx
1:      movw $other_irq, (%bx)
        movw $0xf000, 2(%bx)
        add $4, %bx
        cmp $0x30*4, %bx
        jb 1b
        movw $irq8, 0x28*4
        movw $0xf000, 0x28*4+2
        movw $pit_tick, 0x20*4
        movw $0xf000, 0x20*4+2
        movw $0, V_PIT
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
        /* A watchdog, so that missing RTC interrupts end the run with a
         * message instead of a hang: PIT channel 0 at 1 kHz on IRQ 0. */
        mov $0x34, %al
        out %al, $0x43
        mov $(1193 & 0xff), %al
        out %al, $0x40
        mov $(1193 >> 8), %al
        out %al, $0x40
        mov $0xfa, %al          /* master: IRQ 0 and the cascade (IRQ 2) */
        out %al, $0x21
        mov $0xfe, %al          /* slave: only IRQ 8 */
        out %al, $0xa1
        mov $0x0c, %al          /* clear any pending flag: a new edge */
        call cmos_read
2:      cli
        cmpw $NTICKS, V_COUNT
        jae 3f
        cmpw $WATCHDOG, V_PIT
        jae 5f
        sti
        hlt
        jmp 2b
5:      PRINT("irq8: no interrupt for 3 s after ")
        mov V_COUNT, %ax
        call dec16
        PRINT(" ticks: ")
        incw V_FAILS
3:      mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        mov $0x0b, %al
        mov $0x02, %ah          /* back to the defaults: BCD, no PIE */
        call cmos_write
        mov $0x0a, %al
        mov $0x26, %ah
        call cmos_write
        PRINT("irq8 ticks ")
        mov V_COUNT, %ax
        call dec16
        PRINT(" c in handler")
        mov V_CFIRST, %al
        call space
        call hex8
        EXPECT_AL(0xc0)
        PRINT(" other ")
        mov V_OTHER, %ax
        call dec16
        call newline
        cmpw $0, V_OTHER
        je 4f
        incw V_FAILS
4:      jmp finish

/* check_dx: print " ok" if DX = 0, else " BAD n" and count a failure. */
check_dx:
        test %dx, %dx
        jnz 1f
        PRINT(" ok\n")
        ret
1:      PRINT(" BAD ")
        mov %dx, %ax
        call dec16
        call newline
        incw V_FAILS
        ret

/* wait_uip: until register A's update-in-progress bit is clear; then the
 * time registers are stable for at least 244 us (data sheet). UIP lasts
 * 244 us once a second: give it ~110 ms. */
wait_uip:
        push %ax
        push %di
        WAIT_55MS(call uip_clear, 2, uip_timeout)
        pop %di
        pop %ax
        ret
uip_timeout:
        PRINT("timeout: UIP stays set\n")
        incw V_FAILS
        jmp finish

/* uip_clear: ZF=0 when register A's UIP bit is clear. */
uip_clear:
        mov $0x0a, %al
        call cmos_read
        not %al
        test $0x80, %al
        ret

/* pit2_start: PIT channel 2, mode 0, count 0xffff (~55 ms), gate on. */
pit2_start:
        push %ax
        mov $0x01, %al
        out %al, $0x61
        mov $0xb0, %al
        out %al, $0x43
        mov $0xff, %al
        out %al, $0x42
        out %al, $0x42
        pop %ax
        ret

/* pit2_done: ZF=0 once the count has run out (OUT2 high). */
pit2_done:
        push %ax
        in $0x61, %al
        test $0x20, %al
        pop %ax
        ret

/* c_irqf: ZF=0 when register C has IRQF; AL = C. */
c_irqf:
        mov $0x0c, %al
        call cmos_read
        test $0x80, %al
        ret

irq8:
        push %ax
        mov $0x0c, %al          /* reading C acknowledges the RTC */
        call cmos_read
        and $0xc0, %al
        cmpb $0xff, V_CFIRST
        jne 1f
        mov %al, V_CFIRST
1:      incw V_COUNT
        mov $0x20, %al          /* EOI: slave, then master (cascade) */
        out %al, $0xa0
        out %al, $0x20
        pop %ax
        iret

pit_tick:
        push %ax
        incw V_PIT
        mov $0x20, %al
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

/* seconds, minutes, hours, day of week, day of month, month, year */
time_regs:
        .byte 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0xff
time_max:
        .byte 59, 59, 23, 7, 31, 12, 99
time_min:
        .byte 0, 0, 0, 1, 1, 1, 0
