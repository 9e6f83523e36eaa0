/* pmode: segmentation and privilege in 32-bit protected mode (SDM vol. 3,
 * chapters 3, 5, 6, 16). Each line names a case and prints what the CPU
 * did: " -" (no exception) or the vector, error code, offset of the
 * faulting instruction from the start of the case and the CPL it faulted
 * at (sys32.h). QEMU's output is the golden file. */
#include "mboot32.h"
#include "sys32.h"

#define SETD(sel, lo, hi) mov $(lo), %eax; mov $(hi), %edx; mov $(sel), %ecx; call gdt_set
/* Load selector `s` into segment register `sr`. */
#define LOADSEG(name, s, sr) PRINT(name); TRY; mov $(s), %ax; mov %ax, sr; ENDTRY; call newline

        .section .bss
r3_fs:  .long 0
r3_seg: .long 0, 0, 0
r3_fl1: .long 0
r3_fl2: .long 0
cg_frame: .fill 5, 4, 0
        .text

main:
        call sys_init
        /* Test descriptors. */
        SETD(SEL_T1, 0x00000fff, 0x00409300)    /* data, limit 0xfff */
        SETD(SEL_T2, 0x0000ffff, 0x00cf1300)    /* data, not present */
        SETD(SEL_T3, 0x0000ffff, 0x00cf9900)    /* code, execute-only */
        SETD(SEL_T4, 0x0000ffff, 0x00cf9100)    /* data, read-only */
        SETD(SEL_T5, 0x00000fff, 0x00409700)    /* data, expand-down, limit 0xfff */
        SETD(SEL_T6, 0x0000ffff, 0x00cff300)    /* data DPL 3 */
        SETD(SEL_T7, 0x0000ffff, 0x00cf9b00)    /* code, readable */

        PRINT("segment loads\n")
        LOADSEG("ds null", 0, %ds)
        LOADSEG("ss null", 0, %ss)
        LOADSEG("ds beyond gdt", 0x80, %ds)
        LOADSEG("ds beyond gdt rpl3 ti", 0x8f, %ds)
        LOADSEG("ds not present", SEL_T2, %ds)
        LOADSEG("ss not present", SEL_T2, %ss)
        LOADSEG("ds exec-only code", SEL_T3, %ds)
        LOADSEG("ds readable code", SEL_T7, %ds)
        LOADSEG("ss readable code", SEL_T7, %ss)
        LOADSEG("ss read-only data", SEL_T4, %ss)
        LOADSEG("ss dpl3 data", SEL_T6, %ss)
        LOADSEG("ds rpl3 dpl0", SEL_DATA0 | 3, %ds)
        LOADSEG("ds dpl3 rpl3", SEL_T6 | 3, %ds)
        LOADSEG("ds tss", SEL_TSS, %ds)
        LOADSEG("ds ldt descriptor", SEL_LDT, %ds)
        LOADSEG("es ldt 0x04", 0x04, %es)
        LOADSEG("es ldt beyond", 0x24, %es)
        LOADSEG("fs null rpl3", 3, %fs)
        LOADSEG("ss rpl mismatch", SEL_DATA0 | 1, %ss)

        PRINT("limits\n")
        PRINT("byte at limit")
        TRY; mov $SEL_T1, %ax; mov %ax, %ds; movb 0xfff, %al; ENDTRY; call newline
        PRINT("expand-down above")
        TRY; mov $SEL_T5, %ax; mov %ax, %ds; movl 0x1000, %eax; movl 0x7ffc, %eax; ENDTRY; call newline
        /* Not here: accesses beyond a limit, below an expand-down
         * segment's limit, writes to read-only data or through CS, reads of
         * execute-only code, and memory accesses through a null DS. The SDM
         * (vol. 3, 3.4.5.1, 5.3 and 5.4.1) makes them #GP(0) (#SS(0) for SS)
         * and tremu faults, but QEMU's TCG does not model segment limit and
         * type checks on data accesses: it runs them, so QEMU cannot be the
         * oracle for these. */

        PRINT("lar/lsl/verr/verw\n")
        mov $lar_sels, %esi
1:      movzwl (%esi), %ebx
        cmp $0xffff, %ebx
        je 2f
        mov %ebx, %eax
        call hex8
        PRINT(": lar ")
        mov $0xdeadbeef, %eax
        lar %bx, %eax
        call print_zf_eax
        PRINT(" lsl ")
        mov $0xdeadbeef, %eax
        lsl %bx, %eax
        call print_zf_eax
        PRINT(" verr ")
        verr %bx
        call print_zf
        PRINT(" verw ")
        verw %bx
        call print_zf
        call newline
        add $2, %esi
        jmp 1b
2:

        PRINT("far transfers\n")
        PRINT("lcall/lret")
        TRY; lcall $SEL_CODE0, $far_ret; ENDTRY; call newline
        PRINT("ljmp to data")
        TRY; ljmp $SEL_DATA0, $0; ENDTRY; call newline
        PRINT("ljmp null")
        TRY; ljmp $0, $0; ENDTRY; call newline
        PRINT("ljmp not present")
        TRY; SETD(SEL_T8, 0x0000ffff, 0x00cf1b00); ljmp $SEL_T8, $0; ENDTRY; call newline
        PRINT("ljmp code dpl3 from 0")
        TRY; ljmp $SEL_CODE3, $0; ENDTRY; call newline
        PRINT("lret to data")
        TRY; pushl $SEL_DATA0; pushl $0; lret; ENDTRY; call newline
        PRINT("ljmp beyond limit")
        TRY; SETD(SEL_T8, 0x00000fff, 0x00409b00); ljmp $SEL_T8, $0x2000; ENDTRY; call newline
        PRINT("call gate dpl0")
        TRY; mov $cg_same, %eax; mov $0xec00, %edx; call mkgate; mov $SEL_T9, %ecx; call gdt_set; lcall $SEL_T9, $0; ENDTRY; call newline

        PRINT("idt\n")
        PRINT("int3")
        TRY; int3; ENDTRY; call newline
        PRINT("int 0x30")
        TRY; int $0x30; ENDTRY; call newline
        PRINT("int not present")
        TRY; movb $0x0e, sys_idt + 0x31 * 8 + 5; int $0x31; ENDTRY; call newline
        PRINT("int beyond idt limit")
        TRY; movw $0x7ff - 8, sys_idtr; lidt sys_idtr; int $0xff; ENDTRY; call newline
        movw $0x7ff, sys_idtr
        lidt sys_idtr
        PRINT("ltr busy tss")
        TRY; mov $SEL_TSS, %ax; ltr %ax; ENDTRY; call newline
        PRINT("ltr data")
        TRY; mov $SEL_DATA0, %ax; ltr %ax; ENDTRY; call newline
        PRINT("lldt data")
        TRY; mov $SEL_DATA0, %ax; lldt %ax; ENDTRY; call newline
        mov $SEL_LDT, %ax
        lldt %ax

        PRINT("ring 3\n")
        /* Port 0x80 denied, 0x3ff allowed in the TSS I/O bitmap. */
        orb $0x01, sys_iomap + 0x80 / 8
        PRINT("iret to ring 3, int 0x80 back")
        TRY; mov $r3_done, %eax; mov $0x2, %edx; call ring3; ENDTRY
        call print_outer
        PRINT("r3 cli iopl0")
        TRY; mov $r3_cli, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 cli iopl3")
        TRY; mov $r3_cli, %eax; mov $0x3002, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 sti iopl0")
        TRY; mov $r3_sti, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 popf iopl0")
        TRY; mov $r3_popf, %eax; mov $0x2, %edx; call ring3; ENDTRY
        call print_popf
        PRINT("r3 popf iopl3")
        TRY; mov $r3_popf, %eax; mov $0x3002, %edx; call ring3; ENDTRY
        call print_popf
        PRINT("r3 in 0x80 denied")
        TRY; mov $r3_in80, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 in 0x80 iopl3")
        TRY; mov $r3_in80, %eax; mov $0x3002, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 out 0x3ff allowed")
        TRY; mov $r3_out3ff, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 inw 0x7f spans 0x80")
        TRY; mov $r3_inw7f, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 hlt")
        TRY; mov $r3_hlt, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 int 0x30 dpl0 gate")
        TRY; mov $r3_int30, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 load ds dpl0")
        TRY; mov $r3_lds, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 mov cr0")
        TRY; mov $r3_cr0, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        PRINT("r3 call gate to ring 0")
        mov $cg_r0, %eax
        mov $0xec01, %edx               /* DPL 3, one parameter */
        call mkgate
        mov $SEL_T9, %ecx
        call gdt_set
        TRY; mov $r3_cg, %eax; mov $0x2, %edx; call ring3; ENDTRY
        PRINT(" frame")
        mov $cg_frame, %esi
        mov $5, %ecx
3:      call space
        lodsl
        call hex32
        loop 3b
        PRINT(" fs after lret ")
        mov r3_fs, %eax
        call hex32
        call newline
        PRINT("r3 call gate dpl0")
        mov $cg_r0, %eax
        mov $0x8c01, %edx
        call mkgate
        mov $SEL_T9, %ecx
        call gdt_set
        TRY; mov $r3_cg, %eax; mov $0x2, %edx; call ring3; ENDTRY; call newline
        /* IRET to an outer ring nulls DS/ES/FS/GS whose DPL is below the
         * new CPL (data or non-conforming code): SDM vol. 2, IRET,
         * RETURN-TO-OUTER-PRIVILEGE-LEVEL. */
        PRINT("iret to ring 3 with ds=0x10 es=0x23 fs=0x0f")
        TRY; mov $0x0f, %ax; mov %ax, %fs; mov $SEL_DATA3, %ax; mov %ax, %es; mov $SEL_DATA0, %ax; mov %ax, %ds; mov %ax, %gs; \
             mov $stack3_top0, %ecx; mov %ecx, sys_tss + 4; pushl $SEL_DATA3; pushl $stack3_top; pushl $2; pushl $SEL_CODE3; pushl $r3_segs; iret; ENDTRY
        PRINT(" ds ")
        mov r3_seg, %eax
        call hex8
        PRINT(" es ")
        mov r3_seg + 4, %eax
        call hex8
        PRINT(" fs ")
        mov r3_seg + 8, %eax
        call hex8
        call newline
        /* A conforming code segment runs at the caller's CPL (SDM vol. 3,
         * 5.8.1.2): a far call from ring 3 to a DPL-0 conforming segment
         * keeps CPL 3 and the stack. */
        SETD(SEL_T8, 0x0000ffff, 0x00cf9f00)    /* conforming code, DPL 0 */
        PRINT("r3 lcall conforming dpl0")
        TRY; mov $r3_conf, %eax; mov $2, %edx; call ring3; ENDTRY
        PRINT(" cs in it ")
        mov r3_seg, %eax
        call hex8
        call newline
        PRINT("r3 ljmp nonconforming dpl0")
        TRY; mov $r3_nonconf, %eax; mov $2, %edx; call ring3; ENDTRY; call newline
        PRINT("iret nt with bad back link")
        TRY; movl $SEL_DATA0, sys_tss; pushf; orl $0x4000, (%esp); popf; iret; ENDTRY; call newline
        movl $0, sys_tss
        jmp finish

/* mkgate: EAX = offset, DX = access byte << 8 | parameter count -> EDX:EAX
 * a 32-bit call gate to SEL_CODE0 (SDM vol. 3, 5.8.3). */
mkgate:
        push %ebx
        mov %eax, %ebx
        and $0xffff0000, %ebx
        movzwl %dx, %edx
        or %ebx, %edx
        and $0xffff, %eax
        or $(SEL_CODE0 << 16), %eax
        pop %ebx
        ret

far_ret:
        lret
cg_same:
        PRINT(" in gate")
        lret

/* The ring-0 end of the ring-3 call gate: record the frame (SDM vol. 3,
 * 5.8.5: EIP, CS, parameter, ESP, SS), make FS a DPL-0 segment, return to
 * ring 3, which must find FS null (5.8.6, step 10 of RET). */
cg_r0:
        mov (%esp), %eax
        sub $r3_cg, %eax        /* return EIP, from the start of r3_cg */
        mov %eax, cg_frame
        mov 4(%esp), %eax
        mov %eax, cg_frame + 4
        mov 8(%esp), %eax
        mov %eax, cg_frame + 8
        mov 12(%esp), %eax
        sub $stack3_top, %eax
        mov %eax, cg_frame + 12
        mov 16(%esp), %eax
        mov %eax, cg_frame + 16
        mov $SEL_DATA0, %ax
        mov %ax, %fs
        lret $4

print_outer:
        push %eax
        PRINT(" outer ss ")
        mov c_oss, %eax
        call hex8
        PRINT(" esp ")
        mov c_oesp, %eax
        sub $stack3_top, %eax
        call hex32
        PRINT(" kesp ")
        mov c_kesp, %eax
        sub $stack3_top0, %eax
        call hex32
        call newline
        pop %eax
        ret

print_popf:
        PRINT(" before ")
        mov r3_fl1, %eax
        call hex32
        PRINT(" after ")
        mov r3_fl2, %eax
        call hex32
        call newline
        ret

/* print_zf_eax / print_zf: EAX and ZF, or ZF only. */
print_zf_eax:
        pushf
        call hex32
        popf
print_zf:
        pushf
        PRINT(" z")
        popf
        pushf
        jz 1f
        mov $'0', %al
        jmp 2f
1:      mov $'1', %al
2:      call putc
        popf
        ret

/* Ring-3 code: each piece ends with int $0x80 (or faults). */
r3_done:
        int $0x80
r3_cli:
        cli
        int $0x80
r3_sti:
        sti
        int $0x80
r3_popf:
        /* POPF at CPL 3: IF changes only when CPL <= IOPL, IOPL never
         * (SDM vol. 2, POPF): no fault either way. */
        pushf
        pop %eax
        mov %eax, r3_fl1
        or $0x3200, %eax        /* IF and IOPL 3 */
        push %eax
        popf
        pushf
        pop %eax
        mov %eax, r3_fl2
        int $0x80
r3_in80:
        in $0x80, %al
        int $0x80
r3_out3ff:
        mov $0x3ff, %dx
        mov $0x5a, %al
        out %al, %dx
        int $0x80
r3_inw7f:
        mov $0x7f, %dx
        in %dx, %ax
        int $0x80
r3_hlt:
        hlt
        int $0x80
r3_int30:
        int $0x30
        int $0x80
r3_lds:
        mov $SEL_DATA0, %ax
        mov %ax, %ds
        int $0x80
r3_cr0:
        mov %cr0, %eax
        int $0x80
r3_segs:
        mov %ds, %eax
        mov %eax, %ss:r3_seg
        mov %es, %eax
        mov %eax, %ss:r3_seg + 4
        mov %fs, %eax
        mov %eax, %ss:r3_seg + 8
        int $0x80
r3_conf:
        lcall $(SEL_T8 | 3), $conf_fn
        int $0x80
conf_fn:
        mov %cs, %eax
        mov %eax, %ss:r3_seg
        lret
r3_nonconf:
        ljmp $(SEL_CODE0 | 3), $conf_fn
        int $0x80
r3_cg:
        pushl $0x1234abcd
        lcall $(SEL_T9 | 3), $0
        mov %fs, %eax
        mov %eax, r3_fs
        int $0x80

        .section .rodata
lar_sels:
        .word 0, SEL_CODE0, SEL_DATA0, SEL_CODE3, SEL_DATA3 | 3, SEL_TSS
        .word SEL_LDT, SEL_T1, SEL_T2, SEL_T3, SEL_T5, SEL_T9
        .word SEL_DATA0 | 3, 0x04, 0x0f, 0x80, 0xffff
        .text
