/* A multiboot v1 test kernel: prints what the loader handed it on COM1 and
 * leaves through isa-debug-exit (port 0xf4). Built as a flat binary with the
 * a.out kludge (flag 16), so the same file tests both QEMU's loader and ours:
 *   as --32 -o mbtest.o mbtest.S
 *   ld -m elf_i386 -Ttext=0x100000 --oformat=binary -o mbtest.bin mbtest.o
 * Run: qemu-system-x86_64 -kernel mbtest.bin -initrd "mod arg" -append "x y" \
 *        -serial stdio -display none -device isa-debug-exit,iobase=0xf4,iosize=4
 * (QEMU exits with status 1.) Output, one line:
 *   MB eax=2badb002 flags=.. lower=.. upper=.. cmd=[..] mods=N m0=[..] m0size=.. mmap=.. name=[..]
 */
    .code32
    .text
    .globl _start
_start:
    jmp entry
    .align 4
mb_header:
    .long 0x1BADB002
    .long 0x00010003                        /* page align, memory info, a.out kludge */
    .long -(0x1BADB002 + 0x00010003)
    .long mb_header                         /* header_addr */
    .long _start                            /* load_addr */
    .long load_end                          /* load_end_addr */
    .long bss_end                           /* bss_end_addr */
    .long entry                             /* entry_addr */

entry:
    cli
    mov $stack_top, %esp
    mov %eax, %esi                          /* magic */
    mov %ebx, %edi                          /* info */
    mov $s_eax, %ecx;    call puts
    mov %esi, %eax;      call puthex
    mov $s_flags, %ecx;  call puts
    mov (%edi), %eax;    call puthex
    mov $s_lower, %ecx;  call puts
    mov 4(%edi), %eax;   call puthex
    mov $s_upper, %ecx;  call puts
    mov 8(%edi), %eax;   call puthex
    mov $s_cmd, %ecx;    call puts
    mov 16(%edi), %ecx;  call puts
    mov $s_mods, %ecx;   call puts
    mov 20(%edi), %eax;  call puthex
    cmpl $0, 20(%edi)
    je 1f
    mov 24(%edi), %ebx
    mov $s_m0, %ecx;     call puts
    mov 8(%ebx), %ecx;   call puts
    mov $s_m0size, %ecx; call puts
    mov 4(%ebx), %eax
    sub (%ebx), %eax;    call puthex
1:  mov $s_mmap, %ecx;   call puts
    mov 44(%edi), %eax;  call puthex
    mov $s_name, %ecx;   call puts
    mov 64(%edi), %ecx;  call puts
    mov $s_end, %ecx;    call puts
    mov $0xf4, %dx
    xor %eax, %eax
    out %al, %dx                            /* isa-debug-exit */
2:  hlt
    jmp 2b

/* putc %al on COM1 (no THRE wait: emulated UARTs are always ready) */
putc:
    push %edx
    mov $0x3f8, %dx
    out %al, %dx
    pop %edx
    ret
/* puts: NUL-terminated string at %ecx */
puts:
    push %eax
3:  movb (%ecx), %al
    test %al, %al
    jz 4f
    call putc
    inc %ecx
    jmp 3b
4:  pop %eax
    ret
/* puthex: %eax as 8 hex digits */
puthex:
    push %ecx
    push %ebx
    mov %eax, %ebx
    mov $8, %ecx
5:  rol $4, %ebx
    mov %ebx, %eax
    and $15, %eax
    movb hexdigits(%eax), %al
    call putc
    loop 5b
    pop %ebx
    pop %ecx
    ret

hexdigits: .ascii "0123456789abcdef"
s_eax:    .asciz "MB eax="
s_flags:  .asciz " flags="
s_lower:  .asciz " lower="
s_upper:  .asciz " upper="
s_cmd:    .asciz " cmd=["
s_mods:   .asciz "] mods="
s_m0:     .asciz " m0=["
s_m0size: .asciz "] m0size="
s_mmap:   .asciz " mmap="
s_name:   .asciz " name=["
s_end:    .asciz "]\n"
    .align 4
load_end:
    .skip 4096
stack_top:
bss_end:
