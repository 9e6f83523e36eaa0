/* hpet: the HPET at 0xfed00000 (IA-PC HPET 1.0a) as QEMU's pc has it.
 * Capabilities, period and each timer's configuration at reset; the main
 * counter frozen while halted, writable then, running at 100 MHz once
 * enabled; legacy replacement: timer 0 periodic (32-bit, VAL_SET) on IRQ0 =
 * IOAPIC pin 2 (10 interrupts), the PIT silenced meanwhile, timer 1 one-shot
 * on IRQ8 = pin 8 (once); timer 2 level-triggered routed to pin 2: the status
 * bit set in the handler, cleared by writing it back, so the EOI does not
 * bring it back. */
#define NVEC 64
#include "mboot32.h"
#include "apic_common.h"

#define HPET 0xfed00000

        .section .bss
status: .long 0         /* GINTR_STA seen by the level handler */
        .text

/* EAX = low half of the main counter. */
#define COUNTER mov HPET + 0xf0, %eax

main:
        call apic_setup
        PRINT("cap ")
        mov HPET, %eax
        call hex32
        PRINT(" period ")
        mov HPET + 4, %eax
        call dec32
        PRINT(" conf ")
        mov HPET + 0x10, %eax
        call hex32
        call newline
        xor %ecx, %ecx
1:      PRINT("timer ")
        mov %ecx, %eax
        call dec32
        PRINT(" config ")
        mov %ecx, %edx
        shl $5, %edx
        mov HPET + 0x104(%edx), %eax
        call hex32
        mov HPET + 0x100(%edx), %eax
        call hex32
        call newline
        inc %ecx
        cmp $3, %ecx
        jb 1b

        /* Halted: frozen and writable. */
        movl $0x100, HPET + 0xf0
        movl $0, HPET + 0xf4
        mov $1000000, %ecx
        call delay
        PRINT("halted counter ")
        COUNTER
        call hex32
        EXPECT_EAX(0x100)
        /* Enabled: at least 100000 ticks in 1 ms (no upper bound: a busy
         * host may stop us for longer). */
        movl $1, HPET + 0x10
        mov $1000000, %ecx
        call delay
        COUNTER
        sub $0x100, %eax
        mov %eax, %edx
        AT_LEAST(" runs ", %edx, 100000)
        /* Halted again: frozen. */
        movl $0, HPET + 0x10
        COUNTER
        mov %eax, %edx
        mov $1000000, %ecx
        call delay
        COUNTER
        sub %edx, %eax
        PRINT(" frozen again ")
        call dec32
        EXPECT_EAX(0)
        call newline
        sti

        /* Legacy replacement: IRQ0 -> pin 2 -> 0x30, IRQ8 -> pin 8 -> 0x31. */
        mov $2, %ecx
        mov $0x30, %eax
        call redir
        mov $8, %ecx
        mov $0x31, %eax
        call redir
        movl $3, HPET + 0x10
        /* Timer 0: 32-bit, periodic, VAL_SET: first match 1 ms away, then
         * every 1 ms. */
        movl $0x14c, HPET + 0x100
        COUNTER
        add $100000, %eax
        mov %eax, HPET + 0x108
        movl $100000, HPET + 0x108
        mov $CNT(0x30), %eax
        mov $10, %ebx
        call wait_count
        movl $0, HPET + 0x100                   /* timer 0 off */
        call settle
        AT_LEAST("legacy timer 0 periodic: at least 10 ", CNT(0x30), 10)
        /* Still in legacy mode: the PIT (18.2 Hz since reset) stays off
         * IRQ0 for 150 ms. */
        mov CNT(0x30), %edx
        mov $150000000, %ecx
        call delay
        PRINT(" pit silent ")
        xor %eax, %eax
        cmp CNT(0x30), %edx
        sete %al
        call dec32
        EXPECT_EAX(1)
        /* Timer 1 one-shot, 64-bit comparator 0.5 ms away (written before
         * the timer is enabled: QEMU takes the reset comparator, all ones,
         * as a match in the past). */
        COUNTER
        add $50000, %eax
        mov %eax, HPET + 0x128
        movl $0, HPET + 0x12c
        movl $0x4, HPET + 0x120
        mov $CNT(0x31), %eax
        mov $1, %ebx
        call wait_count
        mov $2000000, %ecx
        call delay
        SHOW_DEC(" timer 1 on irq 8 ", CNT(0x31), 1)
        call newline
        movl $0, HPET + 0x120

        /* Timer 2 level-triggered, routed to pin 2 (legacy mode stays on,
         * so the PIT is off that pin and timer 0 is disabled). */
        mov $2, %ecx
        mov $0x8032, %eax
        call redir
        COUNTER
        add $50000, %eax
        mov %eax, HPET + 0x148
        movl $0, HPET + 0x14c
        movl $0x406, HPET + 0x140
        PRINT("timer 2 config ")
        mov HPET + 0x140, %eax
        call hex32
        mov $CNT(0x32), %eax
        mov $1, %ebx
        call wait_count
        call settle
        SHOW_DEC(" taken ", CNT(0x32), 1)
        PRINT(" status in handler ")
        mov status, %eax
        call hex8
        EXPECT_EAX(4)
        PRINT(" after ")
        mov HPET + 0x20, %eax
        call hex8
        EXPECT_EAX(0)
        PRINT(" remote irr ")
        mov $0x14, %ecx
        call ioapic_rd
        shr $14, %eax
        and $1, %eax
        call dec32
        EXPECT_EAX(0)
        call newline
        movl $0, HPET + 0x140
        movl $0, HPET + 0x10
        jmp finish

apic_hook:
        cmp $0x32, %eax
        jne 1f
        push %eax
        mov HPET + 0x20, %eax
        mov %eax, status
        mov %eax, HPET + 0x20                   /* write 1 to clear: line down */
        pop %eax
1:      ret
