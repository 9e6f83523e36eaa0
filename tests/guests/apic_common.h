/* Shared by the APIC-era guests (apic, ioapic, hpet): vectors 0x30-0x3e
 * go to counting handlers that record the order they ran in, check their
 * own ISR bit and EOI the local APIC; 0x3f is the spurious vector (counted,
 * no EOI). Include after mboot32.h with NVEC 64. */
#define LAPIC   0xfee00000
#define IOAPIC  0xfec00000
#define SPUR    0x3f
#define CNT(v)  (cnt + ((v) - 0x30) * 4)
/* Up to this many iterations of a `pause` loop waiting for an interrupt:
 * a watchdog, not a timing (each engine runs it at its own speed). */
#define WAIT_LIMIT 200000000
/* Print label s, then src in decimal, checked against want. */
#define SHOW_DEC(s, src, want) PRINT(s); mov src, %eax; call dec32; EXPECT_EAX(want)
/* Print label s, then 1 if src >= n (else 0), checked against 1. */
#define AT_LEAST(s, src, n) PRINT(s); xor %eax, %eax; cmpl $(n), src; setae %al; \
                            call dec32; EXPECT_EAX(1)

        .section .bss
cnt:      .skip 16 * 4
order:    .skip 16
norder:   .long 0
isr_seen: .long 0
spurious: .long 0
        .text

/* apic_setup: PICs masked, handlers installed, APIC software-enabled with
 * spurious vector 0x3f, TPR 0. */
apic_setup:
        push %eax
        push %ecx
        mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        mov $0x30, %ecx
1:      mov %ecx, %eax          /* stubs are 16 bytes apart */
        sub $0x30, %eax
        shl $4, %eax
        add $apic_stubs, %eax
        call idt_set
        inc %ecx
        cmp $SPUR, %ecx
        jb 1b
        mov $spurious_handler, %eax
        call idt_set
        movl $(0x100 | SPUR), LAPIC + 0xf0
        movl $0, LAPIC + 0x80
        pop %ecx
        pop %eax
        ret

/* wait_count: EAX = address of a counter, EBX = value; waits (IF=1) until
 * the counter reaches it or the watchdog ends. */
wait_count:
        push %ecx
        mov $WAIT_LIMIT, %ecx
1:      cmp %ebx, (%eax)
        jae 2f
        pause
        loop 1b
2:      pop %ecx
        ret

/* settle: a short loop with IF=1 so that a pending interrupt is taken
 * (engines check for interrupts between blocks). */
settle:
        push %ecx
        mov $10000, %ecx
1:      loop 1b
        pop %ecx
        ret

/* print_order: the vectors handled since norder was cleared, in order. */
print_order:
        push %eax
        push %ecx
        xor %ecx, %ecx
1:      cmp norder, %ecx
        jae 2f
        movzbl order(%ecx), %eax
        call hex8
        call space
        inc %ecx
        jmp 1b
2:      pop %ecx
        pop %eax
        ret

        .balign 16
apic_stubs:
        .set v, 0x30
        .rept 15
        .balign 16
        push $v
        jmp apic_common
        .set v, v + 1
        .endr

apic_common:
        push %eax
        push %ebx
        mov 8(%esp), %eax               /* the vector */
        incl (cnt - 0x30 * 4)(,%eax,4)
        mov norder, %ebx
        cmp $16, %ebx
        jae 1f
        mov %al, order(%ebx)
        incl norder
1:      mov %eax, %ebx                  /* ISR word of the vector */
        shr $5, %ebx
        shl $4, %ebx
        mov LAPIC + 0x100(%ebx), %ebx
        bt %eax, %ebx
        jnc 2f
        incl isr_seen
2:      call apic_hook                  /* the guest's own work, EAX = vector */
        movl $0, LAPIC + 0xb0           /* EOI */
        pop %ebx
        pop %eax
        add $4, %esp
        iret

spurious_handler:
        incl spurious
        iret

/* delay: ECX nanoseconds (the LAPIC timer, masked, divide by 1, vector
 * 0x3e never taken), polled with IF as it is. */
delay:
        push %ecx
        movl $0xb, LAPIC + 0x3e0
        movl $0x1003e, LAPIC + 0x320
        mov %ecx, LAPIC + 0x380
        mov $WAIT_LIMIT, %ecx
1:      cmpl $0, LAPIC + 0x390
        je 2f
        pause
        loop 1b
2:      pop %ecx
        ret

/* IOAPIC register EAX = value of register ECX; ioapic_wr: register ECX
 * = EAX. */
ioapic_rd:
        mov %ecx, IOAPIC
        mov IOAPIC + 0x10, %eax
        ret
ioapic_wr:
        mov %ecx, IOAPIC
        mov %eax, IOAPIC + 0x10
        ret

/* redir: pin ECX's entry = EAX (low), destination APIC 0 (high). */
redir:
        push %ecx
        push %eax
        lea 0x11(,%ecx,2), %ecx
        xor %eax, %eax
        call ioapic_wr
        dec %ecx
        pop %eax
        call ioapic_wr
        pop %ecx
        ret
