/* ioapic: the I/O APIC (82093AA) as a PC wires it. Version and reset state
 * of an entry; the PIT's IRQ0 on pin 2 (the MADT's override: nothing on pin
 * 0), edge, masked; the RTC's periodic interrupt on pin 8 as edge (8
 * interrupts), then level-triggered: remote IRR set in the handler, an EOI
 * while the RTC still holds its line sends it again, reading C drops the line
 * and the next EOI clears remote IRR. */
#define NVEC 64
#include "mboot32.h"
#include "apic_common.h"

        .section .bss
rirr:   .long 0         /* level handler entries that saw remote IRR set */
readc:  .long 0         /* 1: the level handler reads C (drops the line) */
        .text

main:
        call apic_setup
        PRINT("version ")
        mov $1, %ecx
        call ioapic_rd
        call hex32
        EXPECT_EAX(0x00170020)
        PRINT(" pin 2 at reset ")
        mov $0x14, %ecx
        call ioapic_rd
        call hex32
        EXPECT_EAX(0x00010000)
        call newline
        sti

        /* PIT channel 0, mode 2 at ~1 kHz; pin 2 -> 0x30, pin 0 -> 0x31. */
        mov $2, %ecx
        mov $0x30, %eax
        call redir
        mov $0, %ecx
        mov $0x31, %eax
        call redir
        mov $0x34, %al
        out %al, $0x43
        mov $(1193 & 0xff), %al
        out %al, $0x40
        mov $(1193 >> 8), %al
        out %al, $0x40
        mov $CNT(0x30), %eax
        mov $20, %ebx
        call wait_count
        mov $2, %ecx
        mov $0x10030, %eax                      /* masked */
        call redir
        call settle
        mov CNT(0x30), %edx
        mov $5000000, %ecx                      /* 5 ms: 5 more PIT periods */
        call delay
        AT_LEAST("pit on pin 2: at least 20 ", %edx, 20)
        PRINT(" none while masked ")
        xor %eax, %eax
        cmp CNT(0x30), %edx
        sete %al
        call dec32
        EXPECT_EAX(1)
        SHOW_DEC(" pin 0 ", CNT(0x31), 0)
        call newline

        /* RTC periodic interrupt at 1024 Hz on pin 8, edge. */
        mov $8, %ecx
        mov $0x32, %eax
        call redir
        mov $0x0a, %al
        out %al, $0x70
        mov $0x26, %al
        out %al, $0x71
        mov $0x0c, %al
        out %al, $0x70
        in $0x71, %al
        mov $0x0b, %al
        out %al, $0x70
        mov $0x42, %al                          /* PIE, 24 h */
        out %al, $0x71
        mov $CNT(0x32), %eax
        mov $8, %ebx
        call wait_count
        cli
        call rtc_quiet
        mov $8, %ecx
        mov $0x10032, %eax
        call redir
        sti
        AT_LEAST("rtc on pin 8: at least 8 ", CNT(0x32), 8)
        call newline

        /* The same line level-triggered. */
        movl $0, readc
        mov $8, %ecx
        mov $0x8033, %eax
        call redir
        mov $0x0b, %al
        out %al, $0x70
        mov $0x42, %al
        out %al, $0x71
        mov $CNT(0x33), %eax
        mov $2, %ebx
        call wait_count
        call settle
        SHOW_DEC("level: taken ", CNT(0x33), 2)
        SHOW_DEC(" remote irr in handler ", rirr, 2)
        PRINT(" entry after ")
        mov $0x20, %ecx
        call ioapic_rd
        call hex32
        EXPECT_EAX(0x00008033)
        call newline
        jmp finish

/* PIE off, pending flags read away. */
rtc_quiet:
        push %eax
        mov $0x0b, %al
        out %al, $0x70
        mov $0x02, %al
        out %al, $0x71
        mov $0x0c, %al
        out %al, $0x70
        in $0x71, %al
        pop %eax
        ret

apic_hook:
        push %eax
        push %ecx
        cmp $0x32, %eax
        jne 1f
        mov $0x0c, %al                          /* edge: C re-arms the RTC */
        out %al, $0x70
        in $0x71, %al
        jmp 9f
1:      cmp $0x33, %eax
        jne 9f
        mov $0x20, %ecx
        call ioapic_rd
        bt $14, %eax
        jnc 2f
        incl rirr
2:      cmpl $0, readc
        jne 3f
        movl $1, readc                          /* first entry: leave the line up */
        jmp 9f
3:      call rtc_quiet                          /* second: drop it, stop the RTC */
9:      pop %ecx
        pop %eax
        ret
