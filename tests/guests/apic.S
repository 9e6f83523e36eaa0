/* apic: the local APIC in xAPIC mode (SDM vol. 3A, chapter 11). IA32_APIC_BASE,
 * version and id; self IPIs by shorthand, physical and logical (flat)
 * destination, broadcast including/excluding self; TPR holding an interrupt
 * in IRR (PPR) until lowered; the order of pending vectors (highest first);
 * the ISR bit inside handlers; the timer one-shot (counts down, fires once,
 * current count 0 after), periodic (10 interrupts), masked (nothing in IRR). TSC-deadline
 * and x2APIC are not here: QEMU 7.2's TCG, the golden, has neither (they are
 * in tests/unit/test_lapic.c and the Linux boot). */
#define NVEC 64
#include "mboot32.h"
#include "apic_common.h"

/* Send ICR low with destination ICR2 (bits 31:24), then let it land. */
#define IPI(dest, lo) movl $(dest), LAPIC + 0x310; movl $(lo), LAPIC + 0x300; call settle

main:
        call apic_setup
        mov $0x1b, %ecx
        rdmsr
        PRINT("apic base ")
        call hex32
        EXPECT_EAX(0xfee00900)
        PRINT(" version ")
        mov LAPIC + 0x30, %eax
        call hex32
        PRINT(" id ")
        mov LAPIC + 0x20, %eax
        call hex32
        PRINT(" svr ")
        mov LAPIC + 0xf0, %eax
        call hex32
        call newline
        sti

        IPI(0, 0x40000 | 0x32)                  /* shorthand self */
        IPI(0, 0x33)                            /* physical, id 0 */
        movl $0xffffffff, LAPIC + 0xe0          /* flat model */
        movl $0x01000000, LAPIC + 0xd0          /* logical id bit 0 */
        IPI(0x01000000, 0x800 | 0x34)           /* logical, matches */
        IPI(0x02000000, 0x800 | 0x35)           /* logical, does not */
        IPI(0x05000000, 0x35)                   /* physical id 5: nobody */
        IPI(0, 0x80000 | 0x36)                  /* all including self */
        IPI(0, 0xc0000 | 0x37)                  /* all excluding self */
        SHOW_DEC("ipi self ", CNT(0x32), 1)
        SHOW_DEC(" phys ", CNT(0x33), 1)
        SHOW_DEC(" logical ", CNT(0x34), 1)
        SHOW_DEC(" miss ", CNT(0x35), 0)
        SHOW_DEC(" all ", CNT(0x36), 1)
        SHOW_DEC(" others ", CNT(0x37), 0)
        call newline

        /* TPR class 4 holds vector 0x38 (class 3) in IRR. */
        movl $0x40, LAPIC + 0x80
        IPI(0, 0x40000 | 0x38)
        SHOW_DEC("tpr 40: taken ", CNT(0x38), 0)
        PRINT(" irr ")
        mov LAPIC + 0x210, %eax
        shr $(0x38 - 32), %eax
        and $1, %eax
        call dec32
        EXPECT_EAX(1)
        PRINT(" ppr ")
        mov LAPIC + 0xa0, %eax
        call hex8
        movl $0, LAPIC + 0x80
        call settle
        SHOW_DEC(" tpr 0: taken ", CNT(0x38), 1)
        call newline

        /* Three pending at once: highest vector first. */
        movl $0, norder
        cli
        movl $0, LAPIC + 0x310
        movl $(0x40000 | 0x39), LAPIC + 0x300
        movl $(0x40000 | 0x3c), LAPIC + 0x300
        movl $(0x40000 | 0x31), LAPIC + 0x300
        sti
        call settle
        PRINT("order ")
        call print_order
        call newline

        /* Timer, one-shot, divide by 16. First a count that lasts 68 s:
         * read at once it is counting down (0 < current <= initial, however
         * late the read comes on a busy host); then 100000 counts (1.6 ms). */
        movl $0x3, LAPIC + 0x3e0
        movl $0x3a, LAPIC + 0x320
        movl $0xffffffff, LAPIC + 0x380
        mov LAPIC + 0x390, %edx
        xor %eax, %eax
        test %edx, %edx
        setnz %al
        movl $100000, LAPIC + 0x380
        PRINT("one-shot lvt ")
        push %eax
        mov LAPIC + 0x320, %eax
        call hex32
        PRINT(" tdcr ")
        mov LAPIC + 0x3e0, %eax
        call hex8
        PRINT(" counting ")
        pop %eax
        call dec32
        EXPECT_EAX(1)
        mov $CNT(0x3a), %eax
        mov $1, %ebx
        call wait_count
        SHOW_DEC(" fired ", CNT(0x3a), 1)
        SHOW_DEC(" count now ", LAPIC + 0x390, 0)
        /* Twice the period again (32 ms with the timer masked): the
         * one-shot stays at one. */
        mov $32000000, %ecx
        call delay
        PRINT(" still ")
        mov CNT(0x3a), %eax
        call dec32
        EXPECT_EAX(1)
        call newline

        /* Periodic, divide by 1, 1 ms: ten interrupts. */
        movl $0x2003b, LAPIC + 0x320
        movl $1000000, LAPIC + 0x380
        mov $CNT(0x3b), %eax
        mov $10, %ebx
        call wait_count
        movl $0x3003b, LAPIC + 0x320            /* masked */
        movl $0, LAPIC + 0x380                  /* stopped */
        AT_LEAST("periodic at least 10: ", CNT(0x3b), 10)
        call newline

        /* Masked one-shot: counts down, nothing reaches IRR. */
        movl $0x1003d, LAPIC + 0x320
        movl $1000, LAPIC + 0x380
        mov $WAIT_LIMIT, %ecx
1:      cmpl $0, LAPIC + 0x390
        je 2f
        pause
        loop 1b
2:      call settle
        SHOW_DEC("masked: count ", LAPIC + 0x390, 0)
        PRINT(" irr ")
        mov LAPIC + 0x210, %eax
        shr $(0x3d - 32), %eax
        and $1, %eax
        call dec32
        EXPECT_EAX(0)
        SHOW_DEC(" taken ", CNT(0x3d), 0)
        call newline

        PRINT("isr set in handlers ")
        mov isr_seen, %eax
        call dec32
        SHOW_DEC(" spurious ", spurious, 0)
        call newline
        jmp finish

apic_hook:
        ret
