/* rmode: real-mode system behaviour (SDM vol. 3, chapter 20): interrupts
 * and exceptions through the IVT (the frame: FLAGS, CS, IP; IF and TF
 * cleared in the handler; faults return to the faulting instruction,
 * traps after it), LIDT moving the IVT and its limit, single-step with TF,
 * PUSH SP, the writable FLAGS bits, far CALL/RET forms, and "unreal" mode
 * (a 4 GiB limit kept in the segment cache after a return from protected
 * mode). Prints what it saw; QEMU is the golden. */
#include "rom16.h"

#define V_IP    0x600           /* words recorded by the handlers */
#define V_CS    0x602
#define V_FL    0x604
#define V_HFL   0x606
#define V_SP    0x608
#define V_CNT   0x60a
#define V_STEP  0x610           /* 8 words: IPs seen by the #DB handler */
#define V_FAR   0x620           /* far pointer for CALL m16:16 */

/* IVT[v] = F000:handler */
#define SETVEC(v, h) movw $(h), (v) * 4; movw $0xf000, (v) * 4 + 2

main:
        /* ---- INT n ---- */
        SETVEC(0x40, h_rec)
        PRINT("int 0x40:")
        movw $0, V_IP
        sti
        mov %sp, %bx
1:      int $0x40
2:      cli
        call show_frame_from
        PRINT(" ret-ip ")
        mov V_IP, %ax
        sub $2b, %ax
        call hex16
        PRINT(" sp-in-handler ")
        mov %bx, %ax
        sub V_SP, %ax
        call hex16
        call newline

        /* ---- exceptions ---- */
        SETVEC(0, h_fault2)
        PRINT("#DE:")
        xor %cx, %cx
        mov $1, %ax
3:      div %cl
        mov V_IP, %ax
        sub $3b, %ax
        call show_off
        SETVEC(3, h_rec)
        PRINT("int3:")
        int3
3:      mov V_IP, %ax
        sub $3b, %ax
        call show_off
        SETVEC(4, h_rec)
        PRINT("into of=1:")
        movw $0, V_IP
        mov $0x7f, %al
        add $1, %al
        into
3:      mov V_IP, %ax
        sub $3b, %ax
        call show_off
        PRINT("into of=0:")
        movw $0, V_IP
        xor %al, %al
        into
        mov V_IP, %ax
        call show_off

        /* ---- LIDT ---- */
        PRINT("lidt base 0x2000:")
        movw $h_alt, 0x2000 + 0x40 * 4
        movw $0xf000, 0x2000 + 0x40 * 4 + 2
        movw $0, V_CNT
        lidt %cs:idt_2000
        int $0x40
        lidt %cs:idt_0
        mov V_CNT, %ax
        call show_off
        /* Not here, because the ROMs also run under KVM, whose real-mode
         * emulator on this host (nested, PVM-style) differs: an INT beyond
         * the IVT limit (#GP, SDM vol. 3, 20.1.4) is delivered anyway, and
         * #UD (UD2) stops it with an emulation failure. QEMU and tremu's
         * software CPU agree on both. */

        /* ---- single step ---- */
        PRINT("single step:")
        SETVEC(1, h_step)
        movw $0, V_CNT
        pushf
        pop %ax
        or $0x100, %ax
        push %ax
        popf
4:      nop
5:      mov $1, %ax
6:      inc %ax
        nop
        nop
        mov V_CNT, %ax
        call space
        call hex16
        mov $V_STEP, %si
        mov $3, %cx
7:      call space
        mov (%si), %ax
        sub $4b, %ax
        call hex16
        add $2, %si
        loop 7b
        call newline

        /* ---- stack and flags ---- */
        PRINT("push sp:")
        mov %sp, %bx
        push %sp
        pop %ax
        sub %bx, %ax
        call show_off
        PRINT("popf 0xfeff:")
        push $0xfeff
        popf
        pushf
        pop %ax
        cli
        cld
        push $2
        popf
        call show_off
        PRINT("popfd ac/id:")
        pushl $0x00240002
        popfl
        pushfl
        popl %eax
        pushl $2
        popfl
        shr $16, %eax
        call show_off

        /* ---- far transfers ---- */
        PRINT("lcall/lret:")
        movw $0, V_CNT
        lcall $0xf000, $far_inc
        lcall $0xf000, $far_inc_ret2
        movw $far_inc, V_FAR
        movw $0xf000, V_FAR + 2
        lcall *V_FAR
        mov V_CNT, %ax
        call show_off
        PRINT("ljmp via memory:")
        movw $8f, V_FAR
        ljmp *V_FAR
        PRINT(" not skipped")
8:      call newline

        /* ---- unreal mode ---- */
        PRINT("unreal fs:")
        call unreal_fs
        mov $0x00200000, %esi
        movl $0x13572468, %fs:(%esi)
        movl %fs:(%esi), %eax
        call space
        shr $16, %eax
        call hex16
        movl %fs:(%esi), %eax
        call hex16
        movl %fs:0x100000(%esi), %eax
        call space
        shr $16, %eax
        call hex16
        call newline
        jmp finish

/* ---- handlers ---- */
/* h_rec: record the frame and the handler's FLAGS. */
h_rec:
        push %bp
        mov %sp, %bp
        push %ax
        mov 2(%bp), %ax
        mov %ax, V_IP
        mov 4(%bp), %ax
        mov %ax, V_CS
        mov 6(%bp), %ax
        mov %ax, V_FL
        lea 2(%bp), %ax
        mov %ax, V_SP
        pushf
        pop %ax
        mov %ax, V_HFL
        pop %ax
        pop %bp
        iret
/* h_fault2: record, then skip the 2-byte faulting instruction. */
h_fault2:
        push %bp
        mov %sp, %bp
        push %ax
        mov 2(%bp), %ax
        mov %ax, V_IP
        addw $2, 2(%bp)
        pop %ax
        pop %bp
        iret
h_alt:
        incw V_CNT
        iret
/* h_step: record up to 8 IPs; stop single-stepping after 3. */
h_step:
        push %bp
        mov %sp, %bp
        push %ax
        push %bx
        mov V_CNT, %bx
        cmp $8, %bx
        jae 1f
        shl $1, %bx
        mov 2(%bp), %ax
        mov %ax, V_STEP(%bx)
1:      incw V_CNT
        cmpw $3, V_CNT
        jb 2f
        andw $~0x100, 6(%bp)
2:      pop %bx
        pop %ax
        pop %bp
        iret
far_inc:
        incw V_CNT
        lret
far_inc_ret2:
        addw $0x10, V_CNT
        lret $0

/* show_frame_from: print the pushed CS and FLAGS and the handler's FLAGS. */
show_frame_from:
        PRINT(" cs ")
        mov V_CS, %ax
        call hex16
        PRINT(" flags ")
        mov V_FL, %ax
        call hex16
        PRINT(" in-handler ")
        mov V_HFL, %ax
        call hex16
        ret

show_off:
        call space
        call hex16
        call newline
        ret

/* unreal_fs: FS with base 0 and a 4 GiB limit, back in real mode (the
 * descriptor cache keeps the limit: SDM vol. 3, 9.9.2). */
unreal_fs:
        cli
        lgdt %cs:ur_gdtr
        mov %cr0, %eax
        or $1, %al
        mov %eax, %cr0
        jmp 1f
1:      mov $0x08, %ax
        mov %ax, %fs
        mov %cr0, %eax
        and $~1, %al
        mov %eax, %cr0
        jmp 2f
2:      xor %ax, %ax
        ret

        .section .rodata
        .balign 8
ur_gdt: .quad 0
        .quad 0x00cf92000000ffff
ur_gdtr: .word 15
        .long 0xf0000 + ur_gdt
idt_0:  .word 0x3ff
        .long 0
idt_2000: .word 0x3ff
        .long 0x2000
idt_small: .word 0x40 * 4 - 1
        .long 0
        .text
