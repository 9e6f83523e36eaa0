/* Common code for the multiboot test kernels (-kernel X.elf).
 *
 * An ELF32 image loaded at 1 MiB by a Multiboot 0.6.96 loader (QEMU's, or
 * tremu's). The loader enters _start in flat 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX = the multiboot information structure (spec 3.2,
 * "Machine state"); GDTR/IDTR may be anything and interrupts are off, so we
 * load our own GDT and an IDT where every vector goes to a stub that names
 * it and fails the run (a stray exception shows up as a message, not as a
 * silent triple-fault reset). Then COM1 is programmed and `main` runs.
 *
 * Helpers take EAX (or AL) and preserve every register. */
#define COM1        0x3f8
#define DEBUG_EXIT  0xf4
#define EXIT_OK     0x10
#define EXIT_FAIL   0x01
#ifndef NVEC
#define NVEC        48          /* exceptions 0-31, PIC vectors 0x20-0x2f */
#endif

#define MB_MAGIC    0x1badb002
#ifdef AOUT_KLUDGE
/* Flag 16: the load addresses come from the header, not from an ELF file
 * (spec 3.1.3): the image is a flat binary of the ELF's loaded bytes. */
#define MB_FLAGS    0x00010003
#else
#define MB_FLAGS    0x00000003  /* modules page-aligned, memory info wanted */
#endif

#define PRINT(s) .pushsection .rodata; 9: .asciz s; .popsection; \
                 push %esi; mov $9b, %esi; call puts; pop %esi

/* Compare EAX with v; on mismatch print " BAD(want v)" and count it. */
#define EXPECT_EAX(v) push %ebx; mov $(v), %ebx; call expect_eax; pop %ebx

#define POLL_LIMIT  0x100000

        .section .multiboot, "a"
        .balign 4
mb_header:
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
        /* header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr */
        .long mb_header, _image_start, _edata, _end, _start
#endif

        .section .bss
        .balign 16
stack:  .skip 16384
stack_top:
idt:    .skip NVEC * 8
mb_magic: .long 0
mb_info:  .long 0
fails:    .long 0

        .text
        .code32
        .globl _start
_start:
        cli
        cld
        mov %eax, %edx          /* keep the loader's registers: the GDT */
        mov %ebx, %ecx          /* reload below must not lose them */
        lgdt gdtr
        ljmp $0x08, $1f
1:      mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov %ax, %ss
        mov $stack_top, %esp
        mov %edx, mb_magic
        mov %ecx, mb_info
        movl $0, fails
        call idt_init
        call uart_init
        jmp main

        .section .rodata
        .balign 8
gdt:    .quad 0
        .quad 0x00cf9b000000ffff    /* 0x08: code, flat 4 GiB, 32-bit */
        .quad 0x00cf93000000ffff    /* 0x10: data, flat 4 GiB */
gdtr:   .word gdtr - gdt - 1
        .long gdt
idtr:   .word NVEC * 8 - 1
        .long idt
        .text

/* Every vector to its stub: an interrupt gate, DPL 0, selector 0x08. */
idt_init:
        push %eax
        push %ecx
        xor %ecx, %ecx
1:      lea vec_stubs(,%ecx,8), %eax
        call idt_set
        inc %ecx
        cmp $NVEC, %ecx
        jb 1b
        lidt idtr
        pop %ecx
        pop %eax
        ret

/* idt_set: ECX = vector, EAX = handler (SDM vol. 3, 6.11 gate format). */
idt_set:
        push %eax
        push %edx
        lea idt(,%ecx,8), %edx
        mov %ax, (%edx)
        movw $0x08, 2(%edx)
        movw $0x8e00, 4(%edx)
        shr $16, %eax
        mov %ax, 6(%edx)
        pop %edx
        pop %eax
        ret

/* Default stubs: 8 bytes each, push the vector and report it. */
        .balign 8
vec_stubs:
        .set vec, 0
        .rept NVEC
        .balign 8
        push $vec
        jmp unexpected_vector
        .set vec, vec + 1
        .endr

unexpected_vector:
        PRINT("unexpected vector ")
        mov (%esp), %eax
        call hex8
        call newline
        incl fails
        jmp finish

uart_init:
        push %eax
        push %edx
        mov $COM1+1, %dx; mov $0x00, %al; out %al, %dx
        mov $COM1+3, %dx; mov $0x80, %al; out %al, %dx
        mov $COM1+0, %dx; mov $0x01, %al; out %al, %dx
        mov $COM1+1, %dx; mov $0x00, %al; out %al, %dx
        mov $COM1+3, %dx; mov $0x03, %al; out %al, %dx
        mov $COM1+2, %dx; mov $0x07, %al; out %al, %dx
        mov $COM1+4, %dx; mov $0x03, %al; out %al, %dx
        pop %edx
        pop %eax
        ret

putc:
        push %eax
        push %ecx
        push %edx
        mov %al, %ah
        mov $COM1+5, %dx
        mov $POLL_LIMIT, %ecx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      mov %ah, %al
        mov $COM1, %dx
        out %al, %dx
        pop %edx
        pop %ecx
        pop %eax
        ret

/* puts: ESI, NUL-terminated. */
puts:
        push %eax
        push %esi
1:      lodsb
        test %al, %al
        jz 2f
        call putc
        jmp 1b
2:      pop %esi
        pop %eax
        ret

hex4:
        push %eax
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 1f
        add $('a' - '0' - 10), %al
1:      call putc
        pop %eax
        ret

hex8:
        push %eax
        push %eax
        shr $4, %al
        call hex4
        pop %eax
        call hex4
        pop %eax
        ret

hex32:
        push %eax
        push %ecx
        mov $4, %ecx
1:      rol $8, %eax
        call hex8
        loop 1b
        pop %ecx
        pop %eax
        ret

dec32:
        push %eax
        push %ebx
        push %ecx
        push %edx
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %ebx
        push %edx
        inc %ecx
        test %eax, %eax
        jnz 1b
2:      pop %eax
        add $'0', %al
        call putc
        loop 2b
        pop %edx
        pop %ecx
        pop %ebx
        pop %eax
        ret

newline:
        push %eax
        mov $'\n', %al
        call putc
        pop %eax
        ret

space:
        push %eax
        mov $' ', %al
        call putc
        pop %eax
        ret

expect_eax:
        cmp %ebx, %eax
        je 1f
        incl fails
        PRINT(" BAD(want ")
        push %eax
        mov %ebx, %eax
        call hex32
        pop %eax
        PRINT(")")
1:      ret

finish:
        cli
        cmpl $0, fails
        jne 1f
        PRINT("ok\n")
        mov $EXIT_OK, %al
        jmp exit_al
1:      PRINT("FAILED: ")
        mov fails, %eax
        call dec32
        call newline
        mov $EXIT_FAIL, %al
exit_al:
        out %al, $DEBUG_EXIT
1:      cli
        hlt
        jmp 1b

/* lapic_virtual_wire: LINT0 = ExtINT so the 8259A reaches the CPU (see
 * rom16.h: QEMU 7.2 starts with LINT0 masked when no BIOS set it). */
lapic_virtual_wire:
        movl $0x1ff, 0xfee000f0     /* SVR: APIC on, spurious vector 0xff */
        movl $0x700, 0xfee00350     /* LVT0: ExtINT */
        movl $0x400, 0xfee00360     /* LVT1: NMI */
        ret
