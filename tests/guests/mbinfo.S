/* mbinfo: what a multiboot loader hands over (Multiboot 0.6.96, 3.2-3.3):
 * the magic in EAX, the information structure's flags (the fields tested
 * here: mem, cmdline, mods, mmap), mem_lower/mem_upper, the command line,
 * the modules from -initrd "a args,b" (string, size, first line of the
 * contents, page alignment as the header asked) and the memory map's RAM
 * entries, which mem_lower/mem_upper must agree with. Run with -m 128. */
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

        /* mem_lower/mem_upper are checked against the memory map below:
         * their exact values depend on the firmware (under QEMU, SeaBIOS
         * keeps the top 128 KiB of RAM for its tables: mem_upper = 129920
         * for -m 128, where a loader without a BIOS says 130048). */
        PRINT("mem_lower ")
        mov 4(%ebx), %eax
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
         * each `size` bytes after its size field. Printed: the number of
         * usable-RAM entries below 4 GiB, and whether the RAM entries at 0
         * and at 1 MiB agree with mem_lower and mem_upper (spec 3.3). The
         * total entry count is firmware-specific (QEMU 7.2 with SeaBIOS: 7,
         * with reserved ranges for SeaBIOS's tables and above 1 TiB), so it
         * is not part of the output. */
        mov 44(%ebx), %ecx          /* mmap_length */
        mov 48(%ebx), %esi          /* mmap_addr */
        lea (%esi,%ecx), %edx       /* end */
        xor %eax, %eax              /* entries seen */
        xor %edi, %edi              /* RAM entries below 4 GiB */
        xor %ebp, %ebp              /* bit 0: low RAM = mem_lower, bit 1: upper */
4:      cmp %edx, %esi
        jae 6f
        inc %eax
        cmpl $1, 20(%esi)           /* type 1: available RAM */
        jne 5f
        cmpl $0, 8(%esi)            /* base above 4 GiB */
        jne 5f
        inc %edi
        push %eax
        mov 12(%esi), %eax          /* length in KiB */
        shr $10, %eax
        cmpl $0, 4(%esi)
        jne 7f
        cmp 4(%ebx), %eax           /* RAM at 0: mem_lower */
        jne 8f
        or $1, %ebp
        jmp 8f
7:      cmpl $0x100000, 4(%esi)
        jne 8f
        cmp 8(%ebx), %eax           /* RAM at 1 MiB: mem_upper */
        jne 8f
        cmp $(120 * 1024), %eax     /* and most of -m 128 */
        jb 8f
        or $2, %ebp
8:      pop %eax
5:      mov (%esi), %ecx
        lea 4(%esi,%ecx), %esi
        cmp $64, %eax               /* a runaway list */
        jb 4b
6:      PRINT("mmap ram entries below 4G ")
        mov %edi, %eax
        call dec32
        PRINT(", mem_lower/upper match them ")
        mov %ebp, %eax
        call dec32
        EXPECT_EAX(3)
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
