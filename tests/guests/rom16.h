/* Common code for the real-mode test ROMs (-bios X.bin).
 *
 * Each ROM is one 64 KiB image linked at offset 0 of segment F000 (rom16.ld):
 * the CPU starts at F000:FFF0 (SDM vol. 3, 9.1.4 "First Instruction Executed")
 * with CS.base = FFFF0000, and the far jump there reloads CS with a real-mode
 * base of F0000, where the board also maps the last 64 KiB of the image.
 *
 * Nothing is set up for us: no IVT, no BIOS data area, no initialised PIC or
 * UART. rom_start makes SS:SP point into low RAM, DS = ES = 0 (so RAM
 * variables are plain absolute addresses), programs COM1 for 115200 8N1 and
 * jumps to the guest's `main`. Strings live in the ROM and are read through
 * CS. Only plain 8086/386 instructions are used: under the nested KVM every
 * real-mode instruction goes through KVM's instruction emulator.
 *
 * Calling convention of the helpers: arguments in AL/AX, every register
 * preserved except where noted.
 */
#define COM1        0x3f8
#define DEBUG_EXIT  0xf4
#define EXIT_OK     0x10        /* QEMU status (0x10 << 1) | 1 = 33 */
#define EXIT_FAIL   0x01        /* status 3 */
#define STACK_TOP   0x7000      /* SS = 0: stack grows down from 0:7000 */

/* RAM variables used by the library (guests use 0x600 and up). */
#define V_FAILS     0x500       /* word: number of failed CHECKs */

/* PRINT("text"): print a string constant. Label 9 is reserved for it. */
#define PRINT(s) .pushsection .rodata; 9: .asciz s; .popsection; \
                 push %si; mov $9b, %si; call puts; pop %si

/* Compare AL with an expected value; on mismatch print a line and count it. */
#define EXPECT_AL(v) push %bx; mov $(v), %bl; call expect_al; pop %bx

/* Busy-wait bound: the number of polls before a wait gives up. */
#define POLL_LIMIT  0x8000

        .code16
        .text
        .globl _start
_start:
rom_start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ss
        mov $STACK_TOP, %sp
        mov %ax, %ds
        mov %ax, %es
        movw $0, V_FAILS
        call uart_init
        jmp main

/* COM1: 115200 8N1, FIFOs on, no interrupts, DTR+RTS (16550A data sheet). */
uart_init:
        push %ax
        push %dx
        mov $COM1+1, %dx; mov $0x00, %al; out %al, %dx     /* IER: none */
        mov $COM1+3, %dx; mov $0x80, %al; out %al, %dx     /* LCR: DLAB */
        mov $COM1+0, %dx; mov $0x01, %al; out %al, %dx     /* DLL = 1 */
        mov $COM1+1, %dx; mov $0x00, %al; out %al, %dx     /* DLM = 0 */
        mov $COM1+3, %dx; mov $0x03, %al; out %al, %dx     /* LCR: 8N1 */
        mov $COM1+2, %dx; mov $0x07, %al; out %al, %dx     /* FCR: enable, clear */
        mov $COM1+4, %dx; mov $0x03, %al; out %al, %dx     /* MCR: DTR, RTS */
        pop %dx
        pop %ax
        ret

/* putc: AL. Waits for THRE (LSR bit 5) first, but never forever: a board
 * without a UART reads all-ones, which has THRE set. */
putc:
        push %ax
        push %cx
        push %dx
        mov %al, %ah
        mov $COM1+5, %dx
        mov $POLL_LIMIT, %cx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      mov %ah, %al
        mov $COM1, %dx
        out %al, %dx
        pop %dx
        pop %cx
        pop %ax
        ret

/* puts: CS:SI, NUL-terminated. */
puts:
        push %ax
        push %si
1:      movb %cs:(%si), %al
        test %al, %al
        jz 2f
        call putc
        inc %si
        jmp 1b
2:      pop %si
        pop %ax
        ret

/* hex4: low nibble of AL. */
hex4:
        push %ax
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 1f
        add $('a' - '0' - 10), %al
1:      call putc
        pop %ax
        ret

/* hex8: AL as two hex digits. */
hex8:
        push %ax
        push %cx
        mov %al, %ah
        mov $4, %cl
        shr %cl, %al
        call hex4
        mov %ah, %al
        call hex4
        pop %cx
        pop %ax
        ret

/* hex16: AX as four hex digits. */
hex16:
        push %ax
        xchg %al, %ah
        call hex8
        xchg %al, %ah
        call hex8
        pop %ax
        ret

/* dec16: AX in decimal. */
dec16:
        push %ax
        push %bx
        push %cx
        push %dx
        mov $10, %bx
        xor %cx, %cx
1:      xor %dx, %dx
        div %bx
        push %dx
        inc %cx
        test %ax, %ax
        jnz 1b
2:      pop %ax
        add $'0', %al
        call putc
        loop 2b
        pop %dx
        pop %cx
        pop %bx
        pop %ax
        ret

newline:
        push %ax
        mov $'\n', %al
        call putc
        pop %ax
        ret

space:
        push %ax
        mov $' ', %al
        call putc
        pop %ax
        ret

/* expect_al: AL = value read, BL = expected. Prints " BAD(want xx)" and
 * counts a failure when they differ; prints nothing otherwise. */
expect_al:
        cmp %bl, %al
        je 1f
        incw V_FAILS
        PRINT(" BAD(want ")
        push %ax
        mov %bl, %al
        call hex8
        pop %ax
        PRINT(")")
1:      ret

/* finish: print "ok"/"FAILED" and leave through isa-debug-exit with
 * EXIT_OK or EXIT_FAIL. */
finish:
        cmpw $0, V_FAILS
        jne 1f
        PRINT("ok\n")
        mov $EXIT_OK, %al
        jmp exit_al
1:      PRINT("FAILED: ")
        mov V_FAILS, %ax
        call dec16
        call newline
        mov $EXIT_FAIL, %al
/* exit_al: write AL to isa-debug-exit; status becomes (AL << 1) | 1. */
exit_al:
        out %al, $DEBUG_EXIT
        /* Without the device the write is ignored: stop here. */
1:      cli
        hlt
        jmp 1b

/* cmos_read: AL = CMOS/RTC index -> AL = value (ports 0x70/0x71). */
cmos_read:
        out %al, $0x70
        in $0x71, %al
        ret

/* cmos_write: AL = index, AH = value. */
cmos_write:
        out %al, $0x70
        mov %ah, %al
        out %al, $0x71
        ret

/* lapic_virtual_wire: let the 8259A's INTR reach the CPU.
 *
 * After a power-on reset the local APIC's LVT entries are masked and the
 * APIC is software-disabled (SDM vol. 3, 10.4.7.1); a PC BIOS then programs
 * LINT0 as ExtINT ("virtual wire mode", MP spec 3.6.2.2) so that the PIC's
 * interrupts are delivered. QEMU 7.2 models exactly that on the first boot
 * (LINT0 masked), so without a BIOS a guest that wants PIC interrupts has to
 * do it itself. (KVM's in-kernel APIC, and QEMU after a guest reset, start
 * with LINT0 = ExtINT already: doing it again is harmless.)
 *
 * The APIC registers are at FEE00000, out of real mode's reach: this makes a
 * short trip to 16-bit protected mode with a flat data segment, enables the
 * APIC (SVR bit 8, spurious vector 0xff), sets LVT0 = ExtINT and LVT1 = NMI
 * (the MP spec's virtual wire), and comes back with real-mode segment limits
 * restored (no "unreal" mode is left behind). Interrupts stay disabled. */
lapic_virtual_wire:
        pushf
        cli
        push %eax
        push %ebx
        push %ds
        push %es
        lgdtl %cs:vw_gdtr
        mov %cr0, %eax
        or $1, %al
        mov %eax, %cr0
        ljmp $0x08, $1f         /* 16-bit code, base F0000 */
1:      mov $0x10, %ax          /* flat 4 GiB data */
        mov %ax, %ds
        mov $0xfee000f0, %ebx   /* SVR */
        movl $0x1ff, (%ebx)
        mov $0xfee00350, %ebx   /* LVT0 (LINT0): ExtINT, edge, unmasked */
        movl $0x700, (%ebx)
        mov $0xfee00360, %ebx   /* LVT1 (LINT1): NMI */
        movl $0x400, (%ebx)
        mov $0x18, %ax          /* real-mode-like data: base 0, limit 64 KiB */
        mov %ax, %ds
        mov %ax, %es
        mov %cr0, %eax
        and $0xfe, %al
        mov %eax, %cr0
        ljmp $0xf000, $2f
2:      pop %es
        pop %ds
        pop %ebx
        pop %eax
        popf
        ret

        .balign 8
vw_gdt:
        .quad 0
        .quad 0x00009b0f0000ffff    /* 0x08: code16, base F0000, limit FFFF */
        .quad 0x00cf93000000ffff    /* 0x10: data, base 0, limit 4 GiB */
        .quad 0x000093000000ffff    /* 0x18: data, base 0, limit FFFF */
vw_gdtr:
        .word vw_gdtr - vw_gdt - 1
        .long 0xf0000 + vw_gdt

/* The reset vector, at F000:FFF0 (rom16.ld places .reset there). */
        .section .reset, "ax"
        ljmp $0xf000, $rom_start
        .balign 16, 0xf4
        .text
