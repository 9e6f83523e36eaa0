/* insns: generated instruction cases for every integer group, x87 and
 * SSE/SSE2, compared with QEMU through a checksum per instruction.
 *
 * The cases are a table in the guest: each OP() below names a body (a few
 * instructions ending in RET), the flags the SDM defines for it, and the
 * two input tables. The runner executes the body once per (i, j, f):
 *   EAX = itab[i], EDX = itab[n-1-i], EBX = ECX = jtab[j],
 *   EFLAGS = fpat[f] (none, all arithmetic flags, CF only, AF only),
 * then mixes EAX, EBX, ECX, EDX and EFLAGS & mask (undefined flags removed
 * per instruction; for shifts and rotates, per count: SDM vol. 2, SAL/
 * SAR/SHL/SHR and RCL/RCR/ROL/ROR "Flags Affected") into a checksum, and
 * with K_VEC the 128-bit result in vout (inputs vin0/vin1 built from EAX,
 * EBX, EDX) and MXCSR, with K_OUT the 16 dwords of outbuf. A body that must
 * compute after its instruction saves EFLAGS first with SAVEF.
 *
 * Output: one line per instruction, "name n=cases sum=checksum", a count
 * per group and the total. QEMU's output is the golden file. */
#include "mboot32.h"

#define K_SHIFT   1             /* OF undefined for counts > 1; count 0: all kept */
#define K_SHIFT8  2             /* ... and CF for counts >= 8 (SHL/SHR) */
#define K_SHIFT16 3             /* ... and CF for counts >= 16 */
#define K_VEC     0x100
#define K_OUT     0x200
#define ARITH     0x8d5         /* OF SF ZF AF PF CF */
#define LOGIC     0x8c5         /* AF undefined */
#define NF        4

#define OP(nm, mask, kind, it, jt, ...) \
        .pushsection .data, 1; \
        .long n_##nm, b_##nm, mask, kind, it, it##_n, jt, jt##_n; \
        .popsection; \
        .pushsection .rodata; n_##nm: .asciz #nm; .popsection; \
b_##nm: __VA_ARGS__; ret
#define GROUP(nm) \
        .pushsection .data, 1; .long g_##nm, 0, 0, 0, 0, 0, 0, 0; .popsection; \
        .pushsection .rodata; g_##nm: .asciz #nm; .popsection
#define SAVEF   pushf; popl bflags; movl $1, bf_valid
/* Pairs of values, and a value against every count 0-31. */
#define OP2(nm, mask, ...)  OP(nm, mask, 0, vals, vals, __VA_ARGS__)
#define OPC(nm, mask, kind, ...) OP(nm, mask, kind, vals, counts, __VA_ARGS__)

        .data 1
grp_start:
        .section .rodata
        .balign 4
vals:   .long 0, 1, 2, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff
        .long 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x12345678, 0xfedcba98
        .set vals_n, 16
counts: .set k, 0
        .rept 32
        .long k
        .set k, k + 1
        .endr
        .set counts_n, 32
bytes:  .set k, 0
        .rept 256
        .long k
        .set k, k + 1
        .endr
        .set bytes_n, 256
one:    .long 0x5a
        .set one_n, 1
fpat:   .long 0x002, 0x8d7, 0x003, 0x012
/* x87/SSE operands: 32-bit patterns that cover zeros, denormals,
 * infinities, NaNs and ordinary numbers as single and double halves. */
fvals:  .long 0, 0x80000000, 0x3f800000, 0xbf800000, 0x40490fdb, 0x7f800000
        .long 0xff800000, 0x7fc00000, 0x7f800001, 0x00000001, 0x00800000, 0x3ff00000
        .long 0x40000000, 0x4f000000, 0xcf000000, 0x12345678
        .set fvals_n, 16
/* fvals without the QNaN: QNaN op SNaN gives the QNaN on x87 (SDM vol. 1,
 * table 4-7) and tremu does; QEMU 7.2 returns the quieted SNaN when the
 * SNaN is a converted m32/m64 operand. SSE: see VF below. */
fvalsq: .long 0, 0x80000000, 0x3f800000, 0xbf800000, 0x40490fdb, 0x7f800000
        .long 0xff800000, 0x7f800001, 0x00000001, 0x00800000, 0x3ff00000
        .long 0x40000000, 0x4f000000, 0xcf000000, 0x12345678
        .set fvalsq_n, 15

        .section .bss
        .balign 16
vin0:   .skip 16
vin1:   .skip 16
vout:   .skip 16
outbuf: .skip 64
        .skip 16
scratch: .skip 16
srcbuf: .skip 512
dstbuf: .skip 512
fa:     .long 0
fb:     .long 0
fres:   .skip 16
gp:     .long 0
gi:     .long 0
gj:     .long 0
gf:     .long 0
cur_j:  .long 0
cur_body: .long 0
bflags: .long 0
bf_valid: .long 0
fout:   .long 0
o_regs: .skip 16
csum:   .long 0
ncase:  .long 0
gcount: .long 0
total:  .long 0
gname:  .long 0
mxcsr_v: .long 0
sv_esp: .long 0
        .balign 16
frame_area: .skip 128
trace_name: .long 0             /* from "trace=NAME" on the command line */
tracing: .long 0
in_regs: .skip 12
        .text

main:
        mov %cr0, %eax
        and $~0x0c, %eax        /* EM, TS off: x87 and SSE */
        or $0x22, %eax          /* MP, NE */
        mov %eax, %cr0
        mov %cr4, %eax
        or $0x600, %eax         /* OSFXSR, OSXMMEXCPT */
        mov %eax, %cr4
        fninit
        /* srcbuf: a pattern; its second half equals the first but for a
         * few bytes (string compares stop there). */
        xor %ecx, %ecx
1:      mov %ecx, %eax
        imul $7, %eax
        add $3, %eax
        mov %al, srcbuf(%ecx)
        mov %al, srcbuf + 256(%ecx)
        inc %ecx
        cmp $256, %ecx
        jb 1b
        movb $0, srcbuf + 256 + 9
        movb $0xee, srcbuf + 256 + 20
        movb $0x41, srcbuf + 256 + 31

        call find_trace
        /* frame_area: words ENTER copies as frame pointers. */
        xor %ecx, %ecx
6:      lea 0x11110000(%ecx), %eax
        mov %eax, frame_area(,%ecx,4)
        inc %ecx
        cmp $32, %ecx
        jb 6b
        movl $grp_start, gp
        movl $0, total
        movl $0, gname
2:      cmpl $grp_end, gp
        jae 3f
        mov gp, %esi
        cmpl $0, 4(%esi)
        jne 4f
        call group_end
        mov (%esi), %eax
        mov %eax, gname
        movl $0, gcount
        jmp 5f
4:      call run_op
5:      addl $32, gp
        jmp 2b
3:      call group_end
        PRINT("total cases ")
        mov total, %eax
        call dec32
        call newline
        jmp finish

group_end:
        cmpl $0, gname
        je 1f
        push %esi
        mov gname, %esi
        call puts
        pop %esi
        PRINT(" group: ")
        mov gcount, %eax
        call dec32
        PRINT(" cases\n")
1:      ret

/* mix: fold EAX into the checksum. */
mix:
        push %edx
        mov csum, %edx
        rol $5, %edx
        xor %eax, %edx
        add $0x9e3779b9, %edx
        mov %edx, csum
        pop %edx
        ret

run_op:
        mov 4(%esi), %eax
        mov %eax, cur_body
        movl $0, tracing
        mov trace_name, %edi
        test %edi, %edi
        jz 7f
        push %esi
        mov (%esi), %esi
4:      mov (%esi), %al
        mov (%edi), %ah
        cmp $' ', %ah
        jne 5f
        xor %ah, %ah
5:      cmp %al, %ah
        jne 6f
        inc %esi
        inc %edi
        test %al, %al
        jnz 4b
        movl $1, tracing
6:      pop %esi
7:
        movl $0x811c9dc5, csum
        movl $0, ncase
        movl $0, gi
1:      movl $0, gj
2:      movl $0, gf
3:      call one_case
        incl ncase
        incl gf
        cmpl $NF, gf
        jb 3b
        mov gp, %esi
        incl gj
        mov gj, %eax
        cmp 28(%esi), %eax
        jb 2b
        incl gi
        mov gi, %eax
        cmp 20(%esi), %eax
        jb 1b
        /* name n=cases sum=checksum */
        mov gp, %esi
        push %esi
        mov (%esi), %esi
        call puts
        pop %esi
        PRINT(" n=")
        mov ncase, %eax
        call dec32
        add %eax, gcount
        add %eax, total
        PRINT(" sum=")
        mov csum, %eax
        call hex32
        call newline
        ret

one_case:
        mov gp, %esi
        mov 16(%esi), %edi      /* itab */
        mov gi, %ecx
        mov (%edi,%ecx,4), %eax
        mov 20(%esi), %ecx
        sub gi, %ecx
        dec %ecx
        mov (%edi,%ecx,4), %edx
        mov 24(%esi), %edi      /* jtab */
        mov gj, %ecx
        mov (%edi,%ecx,4), %ebx
        mov %ebx, cur_j
        mov %eax, in_regs
        mov %ebx, in_regs + 4
        mov %edx, in_regs + 8
        testl $K_VEC, 12(%esi)
        jz 1f
        mov %eax, vin0
        mov %ebx, vin0 + 4
        mov %edx, vin0 + 8
        mov %eax, vin0 + 12
        notl vin0 + 12
        mov %ebx, vin1
        mov %edx, vin1 + 4
        mov %eax, vin1 + 8
        mov %ebx, vin1 + 12
        xorl $0x80000000, vin1 + 12
        movl $0x1f80, mxcsr_v
        ldmxcsr mxcsr_v
        movl $0, vout
        movl $0, vout + 4
        movl $0, vout + 8
        movl $0, vout + 12
1:      testl $K_OUT, 12(%esi)
        jz 1f
        push %eax
        push %ecx
        push %edi
        mov $outbuf, %edi
        mov $16, %ecx
        xor %eax, %eax
        rep stosl
        mov $dstbuf, %edi
        mov $128, %ecx
        mov $0xcccccccc, %eax
        rep stosl
        pop %edi
        pop %ecx
        pop %eax
1:      movl $0, bf_valid
        mov gf, %ecx
        pushl fpat(,%ecx,4)
        mov %ebx, %ecx
        xor %esi, %esi
        xor %edi, %edi
        popf
        call *cur_body
        pushf
        popl fout
        cld
        mov %eax, o_regs
        mov %ebx, o_regs + 4
        mov %ecx, o_regs + 8
        mov %edx, o_regs + 12
        cmpl $0, bf_valid
        je 1f
        mov bflags, %eax
        mov %eax, fout
1:      mov gp, %esi
        mov 8(%esi), %ebx       /* mask */
        mov 12(%esi), %ecx
        and $0xff, %ecx
        jz 2f
        mov cur_j, %eax
        and $31, %eax
        jnz 3f
        mov $ARITH, %ebx        /* count 0: flags unchanged, all defined */
        jmp 2f
3:      cmp $1, %eax
        jbe 4f
        and $~0x800, %ebx
4:      cmp $K_SHIFT8, %ecx
        jne 5f
        cmp $8, %eax
        jb 2f
        and $~1, %ebx
5:      cmp $K_SHIFT16, %ecx
        jne 2f
        cmp $16, %eax
        jb 2f
        and $~1, %ebx
2:      mov fout, %eax
        and %ebx, %eax
        call mix
        cmpl $0, tracing
        je 6f
        mov fout, %eax
        and %ebx, %eax
        call trace_case
6:
        mov o_regs, %eax
        call mix
        mov o_regs + 4, %eax
        call mix
        mov o_regs + 8, %eax
        call mix
        mov o_regs + 12, %eax
        call mix
        testl $K_VEC, 12(%esi)
        jz 1f
        /* MXCSR.DE (bit 1) is left out: a denormal source sets it (SDM
         * vol. 1, 11.5.2.1) and tremu does, but QEMU 7.2 never reports
         * denormal operands for SSE. */
        stmxcsr mxcsr_v
        mov mxcsr_v, %eax
        and $~2, %eax
        call mix
        mov vout, %eax
        call mix
        mov vout + 4, %eax
        call mix
        mov vout + 8, %eax
        call mix
        mov vout + 12, %eax
        call mix
1:      testl $K_OUT, 12(%esi)
        jz 1f
        xor %ecx, %ecx
2:      mov outbuf(,%ecx,4), %eax
        call mix
        inc %ecx
        cmp $16, %ecx
        jb 2b
1:      ret

/* ---------------------------------------------------------------- */
GROUP(alu)
OP2(add32, ARITH, add %ebx, %eax)
OP2(add16, ARITH, add %bx, %ax)
OP2(add8, ARITH, add %bl, %al)
OP2(adc32, ARITH, adc %ebx, %eax)
OP2(adc16, ARITH, adc %bx, %ax)
OP2(adc8, ARITH, adc %bl, %al)
OP2(sub32, ARITH, sub %ebx, %eax)
OP2(sub16, ARITH, sub %bx, %ax)
OP2(sub8, ARITH, sub %bl, %ah)
OP2(sbb32, ARITH, sbb %ebx, %eax)
OP2(sbb16, ARITH, sbb %bx, %ax)
OP2(sbb8, ARITH, sbb %bl, %al)
OP2(cmp32, ARITH, cmp %ebx, %eax)
OP2(cmp8, ARITH, cmp %bl, %al)
OP2(and32, LOGIC, and %ebx, %eax)
OP2(and8, LOGIC, and %bl, %al)
OP2(or32, LOGIC, or %ebx, %eax)
OP2(or16, LOGIC, or %bx, %ax)
OP2(xor32, LOGIC, xor %ebx, %eax)
OP2(xor8, LOGIC, xor %bh, %al)
OP2(test32, LOGIC, test %ebx, %eax)
OP2(test8, LOGIC, test %bl, %al)
OP2(neg32, ARITH, neg %eax)
OP2(neg16, ARITH, neg %ax)
OP2(neg8, ARITH, neg %al)
OP2(not32, ARITH, not %eax)
OP2(inc32, ARITH, inc %eax)
OP2(inc16, ARITH, inc %ax)
OP2(inc8, ARITH, inc %al)
OP2(dec32, ARITH, dec %eax)
OP2(dec8, ARITH, dec %al)
OP2(add_imm8s, ARITH, add $-3, %eax)
OP2(sub_mem, ARITH, mov %eax, scratch; sub %ebx, scratch; mov scratch, %eax)
OP2(adc_mem, ARITH, mov %eax, scratch; adc scratch, %ebx)
OP2(lea_sib, 0, lea 0x12345(%eax,%ebx,4), %ecx)
OP2(movsx, 0, movsbl %bl, %eax; movswl %dx, %ecx)
OP2(movzx, 0, movzbl %bh, %eax; movzwl %dx, %ecx)
OP2(xchg, 0, xchg %ebx, %eax; xchg %dl, %ah)
OP2(cbw_cwd_cdq, 0, cbw; cwde; cdq; cwd)
OP2(bswap, 0, bswap %eax; bswap %edx)

GROUP(shift)
OPC(shl32, LOGIC, K_SHIFT, shl %cl, %eax)
OPC(shl16, LOGIC, K_SHIFT16, shl %cl, %ax)
OPC(shl8, LOGIC, K_SHIFT8, shl %cl, %al)
OPC(shr32, LOGIC, K_SHIFT, shr %cl, %eax)
OPC(shr16, LOGIC, K_SHIFT16, shr %cl, %ax)
OPC(shr8, LOGIC, K_SHIFT8, shr %cl, %al)
OPC(sar32, LOGIC, K_SHIFT, sar %cl, %eax)
OPC(sar16, LOGIC, K_SHIFT16, sar %cl, %ax)
OPC(sar8, LOGIC, K_SHIFT8, sar %cl, %al)
OPC(rol32, ARITH, K_SHIFT, rol %cl, %eax)
OPC(rol16, ARITH, K_SHIFT, rol %cl, %ax)
OPC(rol8, ARITH, K_SHIFT, rol %cl, %al)
OPC(ror32, ARITH, K_SHIFT, ror %cl, %eax)
OPC(ror16, ARITH, K_SHIFT, ror %cl, %ax)
OPC(ror8, ARITH, K_SHIFT, ror %cl, %al)
OPC(rcl32, ARITH, K_SHIFT, rcl %cl, %eax)
OPC(rcl16, ARITH, K_SHIFT, rcl %cl, %ax)
OPC(rcl8, ARITH, K_SHIFT, rcl %cl, %al)
OPC(rcr32, ARITH, K_SHIFT, rcr %cl, %eax)
OPC(rcr16, ARITH, K_SHIFT, rcr %cl, %ax)
OPC(rcr8, ARITH, K_SHIFT, rcr %cl, %al)
OP2(shl1, LOGIC, shl %eax)
OP2(sar1_8, LOGIC, sar %al)
OP2(rcl1, ARITH, rcl %eax)
OP2(rcr1_16, ARITH, rcr %ax)
OP2(rol1_8, ARITH, rol %al)
/* SHLD/SHRD: the result and flags are undefined for counts above the
 * operand size (32 here: counts stay below it, 16-bit forms left out). */
OPC(shld32, LOGIC, K_SHIFT, shld %cl, %edx, %eax)
OPC(shrd32, LOGIC, K_SHIFT, shrd %cl, %edx, %eax)

GROUP(muldiv)
OP2(mul32, 0x801, mul %ebx)
OP2(mul16, 0x801, mul %bx)
OP2(mul8, 0x801, mul %bl)
OP2(imul32, 0x801, imul %ebx)
OP2(imul16, 0x801, imul %bx)
OP2(imul8, 0x801, imul %bl)
OP2(imul_rr, 0x801, imul %ebx, %eax)
OP2(imul_rr16, 0x801, imul %bx, %ax)
OP2(imul_imm, 0x801, imul $-1000, %ebx, %eax)
OP2(imul_imm8, 0x801, imul $77, %ebx, %eax)
/* Division: the cases that would raise #DE are skipped (still counted:
 * their registers are mixed unchanged); all flags are undefined. */
OP2(div32, 0, xor %edx, %edx; test %ebx, %ebx; jz 1f; div %ebx; 1:)
OP2(div32_hi, 0, cmp %ebx, %edx; jae 1f; div %ebx; 1:)
OP2(div16, 0, test %bx, %bx; jz 1f; cmp %bx, %dx; jae 1f; div %bx; 1:)
OP2(div8, 0, test %bl, %bl; jz 1f; cmp %bl, %ah; jae 1f; div %bl; 1:)
OP2(idiv32, 0, cdq; test %ebx, %ebx; jz 1f; cmp $-1, %ebx; jne 2f; cmp $0x80000000, %eax; je 1f; 2: idiv %ebx; 1:)
OP2(idiv16, 0, cwd; test %bx, %bx; jz 1f; cmp $-1, %bx; jne 2f; cmp $0x8000, %ax; je 1f; 2: idiv %bx; 1:)
OP2(idiv8, 0, cbw; test %bl, %bl; jz 1f; cmp $-1, %bl; jne 2f; cmp $0x80, %al; je 1f; 2: idiv %bl; 1:)

GROUP(bcd)
OP(daa, 0x0d5, 0, vals, bytes, mov %bl, %al; daa)
OP(das, 0x0d5, 0, vals, bytes, mov %bl, %al; das)
OP(aaa, 0x011, 0, vals, bytes, mov %bl, %al; mov %dl, %ah; aaa)
OP(aas, 0x011, 0, vals, bytes, mov %bl, %al; mov %dl, %ah; aas)
OP(aam, 0x0c4, 0, one, bytes, mov %bl, %al; aam)
OP(aam16, 0x0c4, 0, one, bytes, mov %bl, %al; aam $16)
OP(aad, 0x0c4, 0, vals, bytes, mov %bl, %al; mov %dl, %ah; aad)
OP(aad7, 0x0c4, 0, vals, bytes, mov %bl, %al; mov %dl, %ah; aad $7)

GROUP(bits)
OPC(bt_r, 0x041, 0, bt %ecx, %eax)
OPC(bts_r, 0x041, 0, bts %ecx, %eax)
OPC(btr_r, 0x041, 0, btr %ecx, %eax)
OPC(btc_r, 0x041, 0, btc %ecx, %eax)
OPC(bt_r16, 0x041, 0, bt %cx, %ax)
OPC(bts_m, 0x041, 0, mov %eax, scratch; mov %edx, scratch + 4; lea 20(%ecx), %ecx; bts %ecx, scratch; mov scratch, %eax; mov scratch + 4, %edx)
OPC(btr_m_neg, 0x041, 0, mov %eax, scratch - 8; mov %edx, scratch - 4; lea -60(%ecx), %ecx; btr %ecx, scratch; mov scratch - 8, %eax; mov scratch - 4, %edx)
OPC(btc_m, 0x041, 0, mov %eax, scratch; btcl $13, scratch; btc %ecx, scratch; mov scratch, %eax)
OP2(bt_imm, 0x041, btl $31, %eax; btsl $5, %eax; btrw $3, %bx; btcl $33, %edx)
OP2(bsf32, 0x040, bsf %ebx, %eax; jnz 1f; mov $0, %eax; 1:)
OP2(bsr32, 0x040, bsr %ebx, %eax; jnz 1f; mov $0, %eax; 1:)
OP2(bsf16, 0x040, bsf %bx, %ax; jnz 1f; mov $0, %ax; 1:)
OP2(bsr16, 0x040, bsr %bx, %ax; jnz 1f; mov $0, %ax; 1:)

GROUP(string)
/* ESI/EDI from the low bytes of EAX/EDX into the buffers, ECX = count. */
#define SI_DI   movzbl %al, %esi; lea srcbuf(%esi), %esi; movzbl %dl, %edi; lea dstbuf(%edi), %edi
#define SI_DI2  movzbl %al, %esi; lea srcbuf(%esi), %esi; movzbl %al, %edi; lea srcbuf + 256(%edi), %edi
#define OUTREGS SAVEF; sub $srcbuf, %esi; sub $dstbuf, %edi; mov %esi, %ebx; mov %edi, %edx; \
                call dst_to_out
OPC(rep_movsb, 0, K_OUT, SI_DI; rep movsb; OUTREGS)
OPC(rep_movsw, 0, K_OUT, SI_DI; rep movsw; OUTREGS)
OPC(rep_movsd, 0, K_OUT, SI_DI; rep movsl; OUTREGS)
OPC(rep_movsb_std, 0, K_OUT, SI_DI; lea 64(%edi), %edi; lea 64(%esi), %esi; std; rep movsb; cld; OUTREGS)
OPC(rep_stosb, 0, K_OUT, SI_DI; rep stosb; OUTREGS)
OPC(rep_stosd, 0, K_OUT, SI_DI; rep stosl; OUTREGS)
OPC(rep_stosw_std, 0, K_OUT, SI_DI; lea 100(%edi), %edi; std; rep stosw; cld; OUTREGS)
OPC(movsb_once, 0, K_OUT, SI_DI; movsb; movsl; OUTREGS)
OPC(lodsb_lodsd, 0, 0, SI_DI; lodsb; lodsl; sub $srcbuf, %esi; sub $dstbuf, %edi)
#define CMPREGS SAVEF; sub $srcbuf, %esi; sub $srcbuf, %edi; mov %esi, %ebx; mov %edi, %edx
OPC(repe_cmpsb, ARITH, 0, SI_DI2; repe cmpsb; CMPREGS)
OPC(repne_cmpsb, ARITH, 0, SI_DI2; lea 1(%edi), %edi; repne cmpsb; CMPREGS)
OPC(repe_cmpsd, ARITH, 0, SI_DI2; repe cmpsl; CMPREGS)
OPC(repne_scasb, ARITH, 0, SI_DI2; mov %dl, %al; repne scasb; CMPREGS)
OPC(repe_scasw, ARITH, 0, SI_DI2; mov (%edi), %ax; repe scasw; CMPREGS)
OPC(cmpsb_once, ARITH, 0, SI_DI2; cmpsb; CMPREGS)

GROUP(atomic)
OP2(cmpxchg32, ARITH, mov %edx, scratch; cmpxchg %ebx, scratch; mov scratch, %edx)
OP2(cmpxchg32_eq, ARITH, mov %eax, scratch; cmpxchg %ebx, scratch; mov scratch, %edx)
OP2(cmpxchg8, ARITH, cmpxchg %bl, %dl)
OP2(cmpxchg16_eq, ARITH, mov %ax, %dx; cmpxchg %bx, %dx)
OP2(xadd32, ARITH, xadd %ebx, %eax)
OP2(xadd8_mem, ARITH, mov %eax, scratch; lock xadd %bl, scratch; mov scratch, %eax)
OP2(lock_add, ARITH, mov %eax, scratch; lock addl %ebx, scratch; mov scratch, %eax)
OP2(cmpxchg8b, 0x040, mov %edx, scratch; mov %eax, scratch + 4; cmpxchg8b scratch; mov scratch, %ebx; mov scratch + 4, %ecx)
OP2(cmpxchg8b_eq, 0x040, mov %eax, scratch; mov %edx, scratch + 4; mov $0x1111, %ebx; lock cmpxchg8b scratch; mov scratch, %ebx; mov scratch + 4, %ecx)

GROUP(cond)
#define SETALL  seto outbuf; setno outbuf+1; setb outbuf+2; setae outbuf+3; \
                sete outbuf+4; setne outbuf+5; setbe outbuf+6; seta outbuf+7; \
                sets outbuf+8; setns outbuf+9; setp outbuf+10; setnp outbuf+11; \
                setl outbuf+12; setge outbuf+13; setle outbuf+14; setg outbuf+15
#define CMOVALL mov %edx, %esi; cmovo %eax, %esi; mov %esi, outbuf+16; \
                mov %edx, %esi; cmovno %eax, %esi; mov %esi, outbuf+20; \
                mov %edx, %esi; cmovb %eax, %esi; mov %esi, outbuf+24; \
                mov %edx, %esi; cmovae %eax, %esi; mov %esi, outbuf+28; \
                mov %edx, %esi; cmove %eax, %esi; mov %esi, outbuf+32; \
                mov %edx, %esi; cmovbe %eax, %esi; mov %esi, outbuf+36; \
                mov %edx, %esi; cmovs %eax, %esi; mov %esi, outbuf+40; \
                mov %edx, %esi; cmovp %eax, %esi; mov %esi, outbuf+44; \
                mov %edx, %esi; cmovl %eax, %esi; mov %esi, outbuf+48; \
                mov %edx, %esi; cmovle %eax, %esi; mov %esi, outbuf+52; \
                mov %edx, %esi; cmovg %eax, %esi; mov %esi, outbuf+56; \
                mov %dx, %si; cmovnp %ax, %si; mov %esi, outbuf+60
OP(setcc_cmp, ARITH, K_OUT, vals, vals, cmp %ebx, %eax; SETALL; CMOVALL)
OP(setcc_cmp8, ARITH, K_OUT, vals, vals, cmp %bl, %al; SETALL; CMOVALL)
OP(setcc_flags, ARITH, K_OUT, vals, one, SETALL; CMOVALL)
OP(setcc_add, ARITH, K_OUT, vals, vals, add %ebx, %eax; SETALL; CMOVALL)
OP(jcc, ARITH, 0, vals, vals, cmp %ebx, %eax; mov $0, %ecx; jo 1f; or $1, %ecx; 1: jb 1f; or $2, %ecx; 1: je 1f; or $4, %ecx; 1: jbe 1f; or $8, %ecx; 1: js 1f; or $16, %ecx; 1: jp 1f; or $32, %ecx; 1: jl 1f; or $64, %ecx; 1: jle 1f; or $128, %ecx; 1:)
OP(lahf_sahf, ARITH, 0, vals, one, lahf; mov %ah, %cl; mov %al, %ah; sahf)
OP(loop_jecxz, 0, 0, vals, counts, mov $0, %edx; 1: jecxz 2f; inc %edx; loop 1b; 2:)
OP(salc_pushf, 0, 0, vals, one, pushf; pop %ecx; and $0x8d5, %ecx; cmc; stc; clc; cmc)

GROUP(misc)
/* ENTER with nesting levels copies frame pointers from [EBP-4*k]
 * (SDM vol. 2, ENTER): EBP points into frame_area, whose words are
 * known; the new stack (16 dwords from ESP) goes to outbuf. */
#define ENTER(lvl, sz) mov %esp, sv_esp; mov $frame_area + 64, %ebp; enter $sz, $lvl; \
        mov %esp, %eax; sub sv_esp, %eax; mov %ebp, %ebx; sub sv_esp, %ebx; call stack_to_out; \
        leave; mov %ebp, %ecx; sub $frame_area, %ecx; mov sv_esp, %esp
OP(enter0, 0, K_OUT, vals, one, ENTER(0, 16))
OP(enter1, 0, K_OUT, vals, one, ENTER(1, 8))
OP(enter3, 0, K_OUT, vals, one, ENTER(3, 4))
OP(enter7, 0, K_OUT, vals, one, ENTER(7, 0))
OP(enter31_16bit, 0, K_OUT, vals, one, mov %esp, sv_esp; mov $frame_area + 64, %ebp; enterw $6, $2; \
        mov %esp, %eax; sub sv_esp, %eax; mov %ebp, %ebx; sub sv_esp, %ebx; call stack_to_out; mov sv_esp, %esp)
OP(pusha_popa, 0, K_OUT, vals, vals, mov %esp, sv_esp; mov %eax, %esi; mov %ebx, %edi; mov $0x5555aaaa, %ebp; pusha; \
        call stack_to_out; addl $0x01010101, 4(%esp); popa; mov %ebp, %ecx; mov sv_esp, %esp)
OP(pushaw_popaw, 0, K_OUT, vals, vals, mov %esp, sv_esp; mov %eax, %esi; pushaw; call stack_to_out; popaw; mov sv_esp, %esp)
OP(xlat, 0, 0, vals, one, mov $srcbuf, %ebx; xlat; mov %al, %cl; mov $srcbuf + 256, %ebx; xlat)
OP(loopz_nz, ARITH, 0, vals, counts, mov $0, %edx; 1: inc %edx; cmp $5, %edx; loopnz 1b; mov %ecx, %ebx; mov $3, %ecx; 2: cmp %edx, %edx; loopz 2b)
OP(les_lfs, 0, 0, vals, one, mov %ebx, scratch; movw $0x10, scratch + 4; push %es; les scratch, %ecx; mov %es, %edx; pop %es; lfs scratch, %eax; mov %fs, %ebx)
OP(xchg_mem, 0, 0, vals, vals, mov %edx, scratch; xchg %eax, scratch; mov scratch, %ecx; xchgb %bl, scratch + 1; mov scratch, %edx)
OP(cmc_stc_clc, ARITH, 0, vals, one, cmc; setc %al; stc; setc %bl; clc; setc %cl; cmc)
OP(movs_seg_override, 0, K_OUT, vals, counts, SI_DI; rep movsb %fs:(%esi), %es:(%edi); OUTREGS)
OP(push_pop_mem, 0, 0, vals, vals, mov %eax, scratch; pushl scratch; popl scratch + 4; push %bx; pop %dx; mov scratch + 4, %ecx)

GROUP(x87)
#define FLD2    fninit; mov %eax, fa; mov %ebx, fb; fildl fa; fildl fb
#define FOUT    fstpl fres; fnstsw %ax; and $0x4501, %eax; mov fres, %ebx; mov fres + 4, %ecx; fninit
OP(fadd, 0, 0, vals, vals, FLD2; faddp; FOUT)
OP(fsub, 0, 0, vals, vals, FLD2; fsubrp; FOUT)
OP(fmul, 0, 0, vals, vals, FLD2; fmulp; FOUT)
OP(fdiv, 0, 0, vals, vals, FLD2; fdivrp; FOUT)
OP(fdivr, 0, 0, vals, vals, FLD2; fdivp; FOUT)
OP(fsqrt, 0, 0, vals, one, FLD2; fstp %st(0); fabs; fsqrt; FOUT)
OP(fdiv_fist, 0, 0, vals, vals, FLD2; fdivrp; fistpl fa; mov fa, %ebx; fnstsw %ax; and $0x4501, %eax; fninit)
OP(fdiv_round, 0, 0, vals, vals, FLD2; fdivrp; fldz; fadd %st(1), %st; frndint; fistpl fa; fstpl fres; mov fa, %ebx; mov fres, %ecx; mov fres + 4, %edx; fninit)
OP(fcom, 0, 0, vals, vals, FLD2; fcompp; fnstsw %ax; and $0x4700, %eax; fninit)
OP(fcomi, 0x045, 0, vals, vals, FLD2; fcomip; fstp %st(0))
OP(fprem, 0, 0, vals, vals, FLD2; fxch; 1: fprem; fnstsw %ax; test $0x400, %ax; jnz 1b; FOUT)
OP(fld_f32, 0, 0, fvals, fvals, fninit; mov %eax, fa; flds fa; fstpl fres; fnstsw %ax; and $0x4501, %eax; mov fres, %ebx; mov fres + 4, %ecx; fninit)
OP(fadd_f64, 0, 0, fvals, fvals, fninit; mov %eax, fres; mov %ebx, fres + 4; fldl fres; mov %edx, fres; mov %eax, fres + 4; faddl fres; FOUT)
OP(fmul_f32, 0, 0, fvalsq, fvals, fninit; mov %eax, fa; mov %ebx, fb; flds fa; fmuls fb; FOUT)
OP(fchs_fabs_fxch, 0, 0, vals, vals, FLD2; fchs; fxch; fabs; fsubrp; FOUT)
OP(fconst, 0, 0, one, one, fninit; fldpi; fldl2e; faddp; fldln2; fmulp; fld1; fsubrp; fldlg2; fdivrp; FOUT)
OP(fild16_fist16, 0, 0, vals, vals, fninit; mov %eax, fa; filds fa; mov %ebx, fb; fimuls fb; fistps fa; mov fa, %ebx; fnstsw %ax; and $0x4501, %eax; fninit)
OP(fcw_round, 0, 0, vals, bytes, fninit; mov %ebx, fa; shll $4, fa; andl $0xc00, fa; orl $0x37f, fa; fldcw fa; mov %eax, fb; fildl fb; fld1; fld1; faddp; fld1; faddp; fdivrp; fistpl fb; mov fb, %eax; fninit)

GROUP(sse)
#define VIN     movdqa vin0, %xmm0; movdqa vin1, %xmm1
#define VOUT    movdqa %xmm0, vout
#define V(nm, ...) OP(nm, 0, K_VEC, vals, vals, VIN; __VA_ARGS__; VOUT)
/* Float lanes use fvalsq: no QNaN input beside an SNaN in the first
 * operand, where SSE returns the first operand quieted (SDM vol. 1,
 * table 4-7) as tremu does, and QEMU 7.2 the QNaN. */
#define VF(nm, ...) OP(nm, 0, K_VEC, fvalsq, fvalsq, VIN; __VA_ARGS__; VOUT)
V(paddb, paddb %xmm1, %xmm0)
V(paddw, paddw %xmm1, %xmm0)
V(paddd, paddd %xmm1, %xmm0)
V(paddq, paddq %xmm1, %xmm0)
V(psubb, psubb %xmm1, %xmm0)
V(psubq, psubq %xmm1, %xmm0)
V(paddsb, paddsb %xmm1, %xmm0)
V(paddusw, paddusw %xmm1, %xmm0)
V(psubsw, psubsw %xmm1, %xmm0)
V(psubusb, psubusb %xmm1, %xmm0)
V(pmullw, pmullw %xmm1, %xmm0)
V(pmulhw, pmulhw %xmm1, %xmm0)
V(pmulhuw, pmulhuw %xmm1, %xmm0)
V(pmuludq, pmuludq %xmm1, %xmm0)
V(pmaddwd, pmaddwd %xmm1, %xmm0)
V(psadbw, psadbw %xmm1, %xmm0)
V(pavgb, pavgb %xmm1, %xmm0)
V(pavgw, pavgw %xmm1, %xmm0)
V(pminub, pminub %xmm1, %xmm0)
V(pmaxsw, pmaxsw %xmm1, %xmm0)
V(pcmpeqb, pcmpeqb %xmm1, %xmm0)
V(pcmpgtw, pcmpgtw %xmm1, %xmm0)
V(pcmpgtd, pcmpgtd %xmm1, %xmm0)
V(pand_pandn, pand %xmm1, %xmm0; pandn vin0, %xmm1; por %xmm1, %xmm0)
V(pxor, pxor %xmm1, %xmm0)
V(psllw_i, psllw $3, %xmm0; psrlw $1, %xmm1; pxor %xmm1, %xmm0)
V(psrad_i, psrad $7, %xmm0; psrld $31, %xmm1; paddd %xmm1, %xmm0)
V(psllq_x, movd %ecx, %xmm2; psllq %xmm2, %xmm0)
V(psrlq_x, movd %ecx, %xmm2; psrlq %xmm2, %xmm0)
V(psraw_x, movd %ecx, %xmm2; psraw %xmm2, %xmm0)
V(pslldq, pslldq $5, %xmm0; psrldq $3, %xmm1; por %xmm1, %xmm0)
V(pshufd, pshufd $0x1b, %xmm1, %xmm0; pshuflw $0x4e, %xmm0, %xmm0; pshufhw $0x39, %xmm0, %xmm0)
V(punpcklbw, punpcklbw %xmm1, %xmm0)
V(punpckhwd, punpckhwd %xmm1, %xmm0)
V(punpckhdq, punpckhdq %xmm1, %xmm0)
V(punpcklqdq, punpcklqdq %xmm1, %xmm0)
V(packsswb, packsswb %xmm1, %xmm0)
V(packssdw, packssdw %xmm1, %xmm0)
V(packuswb, packuswb %xmm1, %xmm0)
V(pmovmskb, pmovmskb %xmm0, %eax; pmovmskb %xmm1, %ebx)
V(pextrw_pinsrw, pextrw $3, %xmm0, %eax; pinsrw $5, %eax, %xmm1; movdqa %xmm1, %xmm0)
V(movq_movd, movq %xmm1, %xmm0; movd %xmm1, %ecx; movd %edx, %xmm3; paddd %xmm3, %xmm0)
V(mmx_paddw, movq vin0, %mm0; paddw vin1, %mm0; psubusb vin0 + 8, %mm0; movq %mm0, vout + 8; emms; movq vout + 8, %xmm0)
VF(addps, addps %xmm1, %xmm0)
VF(subps, subps %xmm1, %xmm0)
VF(mulps, mulps %xmm1, %xmm0)
VF(divps, divps %xmm1, %xmm0)
VF(sqrtps, sqrtps %xmm1, %xmm0)
VF(minps, minps %xmm1, %xmm0)
VF(maxps, maxps %xmm1, %xmm0)
VF(cmpltps, cmpltps %xmm1, %xmm0)
VF(cmpunordps, cmpunordps %xmm1, %xmm0)
VF(cmpnleps, cmpnleps %xmm1, %xmm0)
VF(addss, addss %xmm1, %xmm0)
VF(divss, divss %xmm1, %xmm0)
VF(rsqrt_free_sqrtss, sqrtss %xmm1, %xmm0)
VF(addsd, addsd %xmm1, %xmm0)
VF(subpd, subpd %xmm1, %xmm0)
VF(mulsd, mulsd %xmm1, %xmm0)
VF(divpd, divpd %xmm1, %xmm0)
VF(sqrtsd, sqrtsd %xmm1, %xmm0)
VF(minsd, minsd %xmm1, %xmm0)
VF(maxpd, maxpd %xmm1, %xmm0)
VF(cmpeqpd, cmpeqpd %xmm1, %xmm0)
VF(cmplesd, cmplesd %xmm1, %xmm0)
VF(andps_xorpd, andps %xmm1, %xmm0; xorpd vin0, %xmm0; andnpd %xmm1, %xmm0; orps vin1, %xmm0)
VF(shufps, shufps $0x8d, %xmm1, %xmm0; unpcklps %xmm1, %xmm0)
VF(unpckhpd, unpckhpd %xmm1, %xmm0; movhlps %xmm1, %xmm0; movlhps %xmm1, %xmm0)
VF(cvtps2pd, cvtps2pd %xmm1, %xmm0)
VF(cvtpd2ps, cvtpd2ps %xmm1, %xmm0)
VF(cvtss2sd_sd2ss, cvtss2sd %xmm1, %xmm0; cvtsd2ss %xmm0, %xmm1; movsd %xmm1, %xmm0)
VF(cvtdq2ps, cvtdq2ps %xmm1, %xmm0)
VF(cvtdq2pd, cvtdq2pd %xmm1, %xmm0)
VF(cvtps2dq, cvtps2dq %xmm1, %xmm0)
VF(cvttps2dq, cvttps2dq %xmm1, %xmm0)
VF(cvtpd2dq, cvtpd2dq %xmm1, %xmm0)
VF(cvttpd2dq, cvttpd2dq %xmm1, %xmm0)
VF(cvtsd2si, cvtsd2si %xmm1, %eax; cvttsd2si %xmm0, %ebx; cvtss2si %xmm1, %ecx; cvttss2si %xmm0, %edx)
VF(cvtsi2sd_ss, cvtsi2sd %eax, %xmm0; cvtsi2ss %ebx, %xmm1; addss %xmm1, %xmm0)
VF(movmskps_pd, movmskps %xmm1, %eax; movmskpd %xmm0, %ebx)
VF(rounding_mode, movl $0x3f80, mxcsr_v; ldmxcsr mxcsr_v; addps %xmm1, %xmm0; cvtps2dq %xmm0, %xmm0)
VF(ftz_daz, movl $0x9fc0, mxcsr_v; ldmxcsr mxcsr_v; mulps %xmm1, %xmm0; addps vin0, %xmm0)
OP(comiss, ARITH, K_VEC, fvals, fvals, VIN; comiss %xmm1, %xmm0; SAVEF; VOUT)
OP(ucomiss, ARITH, K_VEC, fvals, fvals, VIN; ucomiss %xmm1, %xmm0; SAVEF; VOUT)
OP(ucomisd, ARITH, K_VEC, fvals, fvals, VIN; ucomisd %xmm1, %xmm0; SAVEF; VOUT)
OP(comisd, ARITH, K_VEC, fvals, fvals, VIN; comisd %xmm1, %xmm0; SAVEF; VOUT)

        .data 1
grp_end:
        .text

/* stack_to_out: the 16 dwords above the caller's ESP into outbuf (flags
 * and registers are preserved). */
stack_to_out:
        pushf
        push %ecx
        push %esi
        push %edi
        lea 20(%esp), %esi
        mov $outbuf, %edi
        mov $16, %ecx
        rep movsl
        pop %edi
        pop %esi
        pop %ecx
        popf
        ret

/* find_trace: "trace=NAME" in the multiboot command line: every case of
 * NAME is printed (inputs, outputs, masked flags, MXCSR and vout), to
 * find which case differs from QEMU. */
find_trace:
        mov mb_info, %esi
        testl $4, (%esi)
        jz 3f
        mov 16(%esi), %esi
1:      cmpb $0, (%esi)
        je 3f
        cmpl $0x63617274, (%esi)        /* "trac" */
        jne 2f
        cmpw $0x3d65, 4(%esi)           /* "e=" */
        jne 2f
        lea 6(%esi), %esi
        mov %esi, trace_name
        ret
2:      inc %esi
        jmp 1b
3:      ret

/* trace_case: EAX = masked flags. */
trace_case:
        push %eax
        mov in_regs, %eax
        call hex32
        call space
        mov in_regs + 4, %eax
        call hex32
        call space
        mov in_regs + 8, %eax
        call hex32
        PRINT(" f")
        mov gf, %eax
        call hex4
        PRINT(" -> ")
        mov o_regs, %eax
        call hex32
        call space
        mov o_regs + 4, %eax
        call hex32
        call space
        mov o_regs + 8, %eax
        call hex32
        call space
        mov o_regs + 12, %eax
        call hex32
        PRINT(" fl ")
        pop %eax
        call hex32
        testl $K_VEC, 12(%esi)
        jz 1f
        PRINT(" mx ")
        stmxcsr mxcsr_v
        mov mxcsr_v, %eax
        call hex32
        PRINT(" v ")
        mov vout + 12, %eax
        call hex32
        mov vout + 8, %eax
        call hex32
        mov vout + 4, %eax
        call hex32
        mov vout, %eax
        call hex32
1:      call newline
        ret

/* dst_to_out: all of dstbuf folded into the 16 dwords of outbuf
 * (outbuf[k] from dwords k, k+16, ..., k+112). Flags are already saved. */
dst_to_out:
        push %ecx
        push %eax
        push %esi
        xor %ecx, %ecx
1:      xor %eax, %eax
        lea dstbuf(,%ecx,4), %esi
        .rept 8
        rol $3, %eax
        xor (%esi), %eax
        add $64, %esi
        .endr
        mov %eax, outbuf(,%ecx,4)
        inc %ecx
        cmp $16, %ecx
        jb 1b
        pop %esi
        pop %eax
        pop %ecx
        ret
