/* mbirq: interrupts in protected mode. Both 8259As initialised (vectors
 * 0x20/0x28), the 8254's channel 0 at ~1 kHz on IRQ0 through an IDT
 * interrupt gate, 50 ticks counted with sti;hlt and EOIs; a software
 * interrupt (int $0x21) through the same IDT; no other vector taken (every
 * other vector stops the run with "unexpected vector"). The RTC's periodic
 * interrupt on IRQ 8 serves as a watchdog. */
#include "mboot32.h"

#define NTICKS  50
#define DIVISOR 1193

        .section .bss
count:  .long 0
swint:  .long 0
isr_in: .long 0
wd:     .long 0                 /* RTC ticks: the watchdog */
        .text

main:
        movl $0, count
        movl $0, swint
        movl $0xff, isr_in
        call lapic_virtual_wire
        mov $0x20, %ecx
        mov $irq0, %eax
        call idt_set
        mov $0x21, %ecx
        mov $soft21, %eax
        call idt_set
        mov $0x28, %ecx
        mov $rtc_tick, %eax
        call idt_set

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
        mov $0xfe, %al          /* slave: IRQ 8 (the watchdog) */
        out %al, $0xa1
        mov $0xfa, %al          /* master: IRQ 0, and IRQ 2 for the slave */
        out %al, $0x21
        /* The watchdog: RTC periodic interrupt at 64 Hz; 3 s without the
         * 50 PIT ticks ends the run with a message instead of a hang. */
        mov $0x0a, %al
        out %al, $0x70
        mov $0x2a, %al
        out %al, $0x71
        mov $0x0b, %al
        out %al, $0x70
        mov $0x42, %al          /* PIE | 24h */
        out %al, $0x71
        mov $0x0c, %al
        out %al, $0x70
        in $0x71, %al

        /* A software interrupt goes through the IDT like any other. */
        int $0x21
        PRINT("int 0x21 taken ")
        mov swint, %eax
        call dec32
        EXPECT_EAX(1)
        call newline

        mov $0x34, %al          /* channel 0, lobyte/hibyte, mode 2 */
        out %al, $0x43
        mov $(DIVISOR & 0xff), %al
        out %al, $0x40
        mov $(DIVISOR >> 8), %al
        out %al, $0x40
1:      cli
        cmpl $NTICKS, count
        jae 2f
        cmpl $192, wd
        jae 3f
        sti
        hlt
        jmp 1b
3:      PRINT("watchdog: no IRQ0 for 3 s; ")
        incl fails
2:      mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        PRINT("ticks ")
        mov count, %eax
        call dec32
        PRINT(" isr in handler ")
        mov isr_in, %eax
        call hex8
        EXPECT_EAX(1)
        call newline
        jmp finish

irq0:
        push %eax
        cmpl $0xff, isr_in
        jne 1f
        mov $0x0b, %al          /* OCW3: read ISR */
        out %al, $0x20
        in $0x20, %al
        movzbl %al, %eax
        mov %eax, isr_in
1:      incl count
        mov $0x20, %al
        out %al, $0x20
        pop %eax
        iret

rtc_tick:
        push %eax
        mov $0x0c, %al          /* reading C re-arms the RTC's interrupt */
        out %al, $0x70
        in $0x71, %al
        incl wd
        mov $0x20, %al
        out %al, $0xa0
        out %al, $0x20
        pop %eax
        iret

soft21:
        incl swint
        iret
