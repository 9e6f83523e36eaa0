/* mbinfo: what a multiboot loader hands over (Multiboot 0.6.96, 3.2-3.3):
 * the magic in EAX, the information structure's flags (the fields tested
 * here: mem, cmdline, mods, mmap), mem_lower/mem_upper, the command line,
 * the modules from -initrd "a args,b" (string, size, first line of the
 * contents, page alignment as the header asked) and the number of memory
 * map entries. Run with -m 128. */
#include "mboot32.h"

#define MBI_MEM    (1 << 0)
#define MBI_CMD    (1 << 2)
#define MBI_MODS   (1 << 3)
#define MBI_MMAP   (1 << 6)

main:
        PRINT("magic ")
        mov mb_magic, %eax
        call hex32
        EXPECT_EAX(0x2badb002)
        call newline

        mov mb_info, %ebx
        PRINT("flags ")
        mov (%ebx), %eax
        and $(MBI_MEM | MBI_CMD | MBI_MODS | MBI_MMAP), %eax
        call hex32
        EXPECT_EAX(MBI_MEM | MBI_CMD | MBI_MODS | MBI_MMAP)
        call newline

        /* 640 KiB below 1 MiB; 128 MiB - 1 MiB above. */
        PRINT("mem_lower ")
        mov 4(%ebx), %eax
        call dec32
        PRINT(" mem_upper ")
        mov 8(%ebx), %eax
        call dec32
        call newline

        PRINT("cmdline '")
        mov 16(%ebx), %esi
        call puts
        PRINT("'\n")

        PRINT("mods ")
        mov 20(%ebx), %ecx
        mov %ecx, %eax
        call dec32
        call newline
        mov 24(%ebx), %edi
        test %ecx, %ecx
        jz 3f
1:      PRINT("mod '")
        mov 8(%edi), %esi
        call puts
        PRINT("' size ")
        mov 4(%edi), %eax
        sub (%edi), %eax
        call dec32
        PRINT(" aligned ")
        mov (%edi), %eax
        and $0xfff, %eax
        setz %al
        call hex8
        PRINT(" text '")
        mov (%edi), %esi
        call print_line
        PRINT("'\n")
        add $16, %edi
        loop 1b
3:
        /* The memory map: a list of (size, base, length, type) records,
         * each `size` bytes after its size field. */
        PRINT("mmap entries ")
        mov 44(%ebx), %ecx          /* mmap_length */
        mov 48(%ebx), %esi          /* mmap_addr */
        lea (%esi,%ecx), %edx       /* end */
        xor %eax, %eax              /* entries */
        xor %edi, %edi              /* usable RAM found at 1 MiB */
4:      cmp %edx, %esi
        jae 6f
        inc %eax
        cmpl $1, 20(%esi)           /* type 1: available RAM */
        jne 5f
        cmpl $0, 8(%esi)            /* base high */
        jne 5f
        cmpl $0x100000, 4(%esi)     /* base low <= 1 MiB */
        ja 5f
        push %eax
        mov 4(%esi), %eax
        add 12(%esi), %eax          /* base + length (low) */
        cmp $0x100000, %eax
        pop %eax
        jbe 5f
        inc %edi
5:      mov (%esi), %ecx
        lea 4(%esi,%ecx), %esi
        cmp $32, %eax               /* a runaway list */
        jb 4b
6:      call dec32
        PRINT(" ram at 1 MiB ")
        mov %edi, %eax
        call dec32
        EXPECT_EAX(1)
        call newline
        jmp finish

/* print_line: the text at ESI up to a newline, NUL or 40 characters. */
print_line:
        push %eax
        push %ecx
        push %esi
        mov $40, %ecx
1:      lodsb
        cmp $'\n', %al
        je 2f
        test %al, %al
        jz 2f
        call putc
        loop 1b
2:      pop %esi
        pop %ecx
        pop %eax
        ret
