/* microbench: what the operations of Adams and Agesen, "A Comparison of
 * Software and Hardware Techniques for x86 Virtualization" (ASPLOS 2006,
 * section 6.2, figure 4) cost on this engine, timed with RDTSC.
 *
 * Not a pass/fail guest: it prints one machine-readable line per operation
 * on COM1 and ends through isa-debug-exit (status 33). The report generator
 * (tools/tremu-report) reads the lines; tests/suites/report.sh checks that
 * every line is there.
 *
 *   overhead cycles=C        one empty iteration of the timing loop
 *   op=NAME cycles=C total=T the operation, loop overhead subtracted (C),
 *                            and the whole iteration with it (T, which is
 *                            never below 0: time only goes forward)
 *   op=NAME cycles=n/a reason=WHY   the operation is not available here
 *   tsc_mhz_pit=N            the guest TSC's rate, measured against PIT
 *                            channel 2 over 10 ms (PIT: 1.193182 MHz)
 *   tsc_mhz_cpuid=N          CPUID 16H EAX (0 when the leaf is absent)
 *   done                     the last line
 * C has one decimal. "cycles" are ticks of the guest's TSC, whatever rate
 * the engine gives it (tremu's software CPU: 1 GHz, CPUID 15H/16H).
 *
 * Method: a sample is K_ITERS calls of the operation's body between two
 * RDTSCs fenced by LFENCE (SDM vol. 2, RDTSC: LFENCE before it waits for the
 * earlier instructions, LFENCE after it keeps later ones from starting
 * early); N_WARM samples are thrown away (the JIT translates the loop in
 * the first one), the median of N_SAMPLES is kept, the median of an empty
 * body (timed just before, at the same CPL) is subtracted and the
 * difference divided by K_ITERS.
 *
 * The operations (names as printed):
 *   syscall    SYSCALL from ring 3, the handler's SYSRETQ back
 *   int80      INT 0x80 from ring 3 through a DPL-3 gate, IRETQ back
 *   out80      OUT to port 0x80 (POST code port: nothing answers in tremu)
 *   in_uart    IN from COM1's line status register (a real device register)
 *   cr8        MOV to CR8 (the TPR, 64-bit mode)
 *   pte        write a page-table entry, INVLPG, touch the page
 *   pagefault  load from a not-present page: #PF, the handler resumes after
 *              the load (delivery + IRETQ, no table change)
 *   cpuid      CPUID leaf 0
 *   vmcall     VMCALL with RAX = 0 (#UD without VT-x: then n/a)
 *   ctxsw      switch to the other of two address spaces: stack switch, 6
 *              registers saved and restored, CR3 write (TLB flush) */
#include "mboot32.h"
#include "long64.h"


#define K_ITERS     200
#define N_SAMPLES   31
#define N_WARM      2

/* 8-10 MiB is mapped with 4 KiB pages: the first not present (pagefault),
 * the second's PTE toggles between two frames (pte). */
#define PT_BASE     0x800000
#define PF_PAGE     PT_BASE
#define PTE_PAGE    (PT_BASE + 0x1000)

/* The registers a body must keep (the SysV callee-saved ones). */
#define PUSH_CALLEE push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15
#define POP_CALLEE  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx

#define PIT_10MS    11932       /* 1193182 Hz * 10 ms */

        .section .data
/* 64-bit TSS (SDM vol. 3, 7.7): RSP0 at 4 is where ring 3 enters ring 0. */
        .balign 16
tss64:  .long 0
        .long trap_top, 0, 0, 0, 0, 0
        .quad 0, 0, 0, 0, 0, 0, 0, 0, 0
        .word 0, 104
tss64_end:
cur_cr3:  .long pml4a, 0
next_cr3: .long pml4b, 0

        .section .bss
        .balign 4096
pml4a:  .skip 4096
pml4b:  .skip 4096
pdpt:   .skip 4096
pdir:   .skip 4096
ptab:   .skip 4096
idt64:  .skip 256 * 16
        .skip 4096
stack0_top:
        .skip 4096
stack3_top:
        .skip 1024
stackB_top:
        .skip 1024
trap_top:                       /* RSP0: INT 0x80/0x82 from ring 3 land here */
samples:    .skip N_SAMPLES * 8
k_rsp:      .quad 0
resume_rip: .quad 0
ud_seen:    .quad 0
overhead:   .quad 0
pit_n:      .quad 0
pit_runs:   .skip 10 * 8
        .text

/* ---- 32-bit part: page tables, long mode on ---- */
main:
        FLAT32                  /* PICs masked: nothing interrupts a sample */
        /* Two roots (pml4a, pml4b) over one PDPT: a CR3 write between them
         * flushes the TLB without changing the mapping. 0-8 MiB identity
         * in 2 MiB pages, user and writable (ring 3 runs the same code). */
        movl $(pdpt + 7), pml4a
        movl $(pdpt + 7), pml4b
        movl $(pdir + 7), pdpt
        movl $(0x000000 + 0x87), pdir
        movl $(0x200000 + 0x87), pdir + 8
        movl $(0x400000 + 0x87), pdir + 16
        movl $(0x600000 + 0x87), pdir + 24
        movl $(ptab + 7), pdir + 32
        mov $ptab, %edi
        mov $(PT_BASE + 7), %eax
        mov $512, %ecx
1:      mov %eax, (%edi)
        add $8, %edi
        add $0x1000, %eax
        loop 1b
        movl $0, ptab           /* PF_PAGE: not present */
        LONG_MODE(pml4a, 0x101) /* LME, SCE */

        .code64
/* MEASURE(ring, "name", body): time body at CPL 0 or 3, print its line. */
#define MEASURE(ring, name, body) P64("op="); P64(name); P64(" cycles="); \
        lea body(%rip), %rdi; call measure##ring; call nl64

long_main:
        LONG_SEGS(stack0_top)
        call tss64_load
        /* IDT: every vector to `unexpected` (its number in the stubs),
         * then the handlers the cases need. */
        xor %ecx, %ecx
1:      mov %rcx, %rax
        and $31, %eax
        shl $4, %rax
        lea stubs64(%rip), %rdx
        add %rdx, %rax
        mov $0x8e00, %edx
        call idt64_set
        inc %ecx
        cmp $256, %ecx
        jb 1b
        mov $6, %ecx; lea ud_handler(%rip), %rax; mov $0x8e00, %edx; call idt64_set
        mov $14, %ecx; lea pf_handler(%rip), %rax; call idt64_set
        mov $0x80, %ecx; lea int80_handler(%rip), %rax; mov $0xee00, %edx; call idt64_set
        mov $0x82, %ecx; lea back_handler(%rip), %rax; call idt64_set
        lidt idt64r(%rip)
        /* SYSCALL: CS/SS from STAR, RIP from LSTAR, IF masked. */
        lea syscall_entry(%rip), %rax
        mov $0x200, %edx
        call syscall_msrs

        P64("bench=microbench version=1 iters=")
        mov $K_ITERS, %eax
        call dec64
        P64(" samples=")
        mov $N_SAMPLES, %eax
        call dec64
        call nl64
        call tsc_pit

        lea b_empty(%rip), %rdi
        call sample
        call median
        mov %rax, overhead(%rip)
        P64("overhead cycles=")
        call print_cycles
        call nl64

        MEASURE(3, "syscall", b_syscall)
        MEASURE(3, "int80", b_int80)
        MEASURE(0, "out80", b_out80)
        MEASURE(0, "in_uart", b_in_uart)
        MEASURE(0, "cr8", b_cr8)
        MEASURE(0, "pte", b_pte)
        MEASURE(0, "pagefault", b_pf)
        MEASURE(0, "cpuid", b_cpuid)
        /* VMCALL once first: without VT-x it is #UD (SDM vol. 3, 25.1.2
         * lists it among the instructions that exit in VMX non-root
         * operation; outside VMX it is #UD). */
        movq $0, ud_seen(%rip)
        lea 1f(%rip), %rax
        mov %rax, resume_rip(%rip)
        xor %eax, %eax
        vmcall
1:      movq $0, resume_rip(%rip)
        cmpq $0, ud_seen(%rip)
        je 2f
        P64("op=vmcall cycles=n/a reason=ud\n")
        jmp 3f
2:      MEASURE(0, "vmcall", b_vmcall)
3:      MEASURE(0, "ctxsw", b_ctxsw)
        call tsc_pit
        call print_tsc_pit
        call tsc_cpuid
        P64("done\n")
        mov $EXIT_OK, %al
        out %al, $DEBUG_EXIT
9:      hlt
        jmp 9b

/* ---- the bodies: may clobber RAX-RDX, RSI, RDI, R8-R11 ---- */
b_empty:
        ret
b_syscall:
        syscall
        ret
b_int80:
        int $0x80
        ret
b_out80:
        out %al, $0x80
        ret
b_in_uart:
        mov $COM1 + 5, %dx
        in %dx, %al
        ret
b_cr8:
        xor %eax, %eax
        mov %rax, %cr8
        ret
b_pte:
        lea ptab(%rip), %rcx
        xorq $0x3000, 8(%rcx)   /* frame PT_BASE+0x1000 <-> PT_BASE+0x2000 */
        mov $PTE_PAGE, %eax
        invlpg (%rax)
        mov (%rax), %eax
        ret
b_pf:
        lea 1f(%rip), %rax
        mov %rax, resume_rip(%rip)
        mov $PF_PAGE, %eax
        mov (%rax), %eax
1:      movq $0, resume_rip(%rip)
        ret
b_cpuid:
        xor %eax, %eax
        xor %ecx, %ecx
        cpuid
        ret
b_vmcall:
        xor %eax, %eax
        vmcall
        ret
b_ctxsw:
        mov %rsp, %r8
        lea stackB_top(%rip), %rsp
        PUSH_CALLEE
        mov next_cr3(%rip), %rax
        mov cur_cr3(%rip), %rcx
        mov %rcx, next_cr3(%rip)
        mov %rax, cur_cr3(%rip)
        mov %rax, %cr3
        POP_CALLEE
        mov %r8, %rsp
        ret

/* ---- handlers ---- */
syscall_entry:
        sysretq
int80_handler:
        iretq
/* #UD and #PF from a body that set resume_rip: continue there. */
ud_handler:
        cmpq $0, resume_rip(%rip)
        je 1f
        movq $1, ud_seen(%rip)
        push %rax
        mov resume_rip(%rip), %rax
        mov %rax, 8(%rsp)
        pop %rax
        iretq
1:      push $6
        jmp unexpected
pf_handler:
        cmpq $0, resume_rip(%rip)
        je 1f
        push %rax
        mov resume_rip(%rip), %rax
        mov %rax, 16(%rsp)      /* above the saved RAX and the error code */
        pop %rax
        add $8, %rsp
        iretq
1:      push $14
        jmp unexpected
/* INT 0x82 from ring 3: the user sample is over, back into run_user's
 * caller on the kernel stack it left. */
back_handler:
        mov $KDS, %ax
        mov %ax, %ss
        mov k_rsp(%rip), %rsp
        POP_CALLEE
        ret

        .balign 16
stubs64:
        .set vec, 0
        .rept 32
        .balign 16
        push $vec
        jmp unexpected
        .set vec, vec + 1
        .endr
unexpected:
        P64("unexpected vector ")
        mov (%rsp), %rax
        call dec64
        P64(" rip ")
        mov 8(%rsp), %rax
        cmpq $14, (%rsp)         /* vectors with an error code: 8, 10-14, 17 */
        ja 2f
        cmpq $8, (%rsp)
        jb 2f
        mov 16(%rsp), %rax
2:      call dec64
        call nl64
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT
1:      hlt
        jmp 1b

/* ---- timing ---- */
/* rdtsc64: RAX = the TSC, fenced on both sides. Clobbers RDX. */
rdtsc64:
        lfence
        rdtsc
        lfence
        shl $32, %rdx
        or %rdx, %rax
        ret

/* sample: RDI = body; N_WARM + N_SAMPLES samples of K_ITERS calls, the
 * last N_SAMPLES in samples[]. Runs at CPL 0 or 3. */
sample:
        PUSH_CALLEE
        mov %rdi, %r12
        mov $-N_WARM, %r13
1:      call rdtsc64
        mov %rax, %r15
        mov $K_ITERS, %r14d
2:      call *%r12
        dec %r14d
        jnz 2b
        call rdtsc64
        sub %r15, %rax
        test %r13, %r13
        js 3f
        lea samples(%rip), %rdx
        mov %rax, (%rdx,%r13,8)
3:      inc %r13
        cmp $N_SAMPLES, %r13
        jl 1b
        POP_CALLEE
        ret

/* run_user: RDI = body; `sample` at CPL 3 (IRETQ there, INT 0x82 back). */
run_user:
        PUSH_CALLEE
        mov %rsp, k_rsp(%rip)
        push $UDS
        lea stack3_top(%rip), %rax
        push %rax
        push $2                 /* RFLAGS: IF = 0, IOPL = 0 */
        push $UCS
        lea user_sample(%rip), %rax
        push %rax
        iretq
user_sample:
        call sample
        int $0x82

/* median: RAX = the median of samples[]. */
median:
        push %rcx
        push %rsi
        lea samples(%rip), %rsi
        mov $N_SAMPLES, %ecx
        call median_of
        pop %rsi
        pop %rcx
        ret

/* median_of: RAX = the median of the RCX quads at RSI (insertion sort in
 * place; the lower middle one for an even count). */
median_of:
        push %rbx
        push %rcx
        push %rdx
        push %rdi
        mov %rcx, %rdi
        mov $1, %ecx
1:      cmp %rdi, %rcx
        jae 4f
        mov (%rsi,%rcx,8), %rax
        mov %rcx, %rdx
2:      test %rdx, %rdx
        jz 3f
        mov -8(%rsi,%rdx,8), %rbx
        cmp %rax, %rbx
        jbe 3f
        mov %rbx, (%rsi,%rdx,8)
        dec %rdx
        jmp 2b
3:      mov %rax, (%rsi,%rdx,8)
        inc %ecx
        jmp 1b
4:      dec %rdi
        shr $1, %rdi
        mov (%rsi,%rdi,8), %rax
        pop %rdi
        pop %rdx
        pop %rcx
        pop %rbx
        ret

/* measure0/measure3: RDI = body; prints its cycles at CPL 0 / CPL 3, the
 * overhead subtracted, then " total=" and the same without subtracting.
 * The empty body is timed again just before, at the same CPL: a host whose
 * load changes during the run shifts both alike. */
measure0:
        lea sample(%rip), %rsi
        jmp 1f
measure3:
        lea run_user(%rip), %rsi
1:      push %rdi
        push %rsi
        lea b_empty(%rip), %rdi
        call *%rsi
        call median
        mov %rax, overhead(%rip)
        pop %rsi
        pop %rdi
        call *%rsi
        call median
        push %rax
        sub overhead(%rip), %rax
        call print_cycles
        P64(" total=")
        pop %rax
        jmp print_cycles

/* print_cycles: RAX = cycles of a batch of K_ITERS; prints RAX / K_ITERS
 * with one decimal, signed (a batch's median minus the empty batch's can
 * be negative when the noise is larger than the operation). */
print_cycles:
        push %rax
        push %rbx
        push %rdx
        imul $10, %rax
        cqo
        mov $K_ITERS, %ebx
        idiv %rbx
        test %rax, %rax
        jns 2f
        push %rax
        mov $'-', %al
        call putc64
        pop %rax
        neg %rax
2:      xor %edx, %edx
        mov $10, %ebx
        div %rbx
        call dec64
        mov $'.', %al
        call putc64
        mov %rdx, %rax
        call dec64
        pop %rdx
        pop %rbx
        pop %rax
        ret

/* tsc_pit: the TSC's rate against PIT channel 2 in mode 0 (interrupt on
 * terminal count): OUT2, read in port 0x61 bit 5, goes high when the count
 * of 10 ms has run out (8254 datasheet, mode 0; port 0x61 as on the AT).
 * 5 runs here and 5 at the end, into pit_runs; print_tsc_pit takes the
 * shortest: a loaded host that deschedules the emulator when the count
 * runs out makes a run look longer, never shorter. */
tsc_pit:
        mov $5, %r10d
1:      in $0x61, %al
        and $0xfc, %al
        or $0x01, %al           /* gate 2 on, speaker off */
        out %al, $0x61
        mov $0xb0, %al          /* channel 2, lobyte/hibyte, mode 0 */
        out %al, $0x43
        mov $(PIT_10MS & 0xff), %al
        out %al, $0x42
        mov $(PIT_10MS >> 8), %al
        out %al, $0x42
        call rdtsc64
        mov %rax, %r8
        mov $0x10000000, %ecx
2:      in $0x61, %al
        test $0x20, %al
        jnz 3f
        dec %ecx
        jnz 2b
        ret                     /* OUT2 never rose: no figure */
3:      call rdtsc64
        sub %r8, %rax
        mov pit_n(%rip), %rcx
        lea pit_runs(%rip), %rdx
        mov %rax, (%rdx,%rcx,8)
        incq pit_n(%rip)
        dec %r10d
        jnz 1b
        ret
/* print_tsc_pit: the shortest PIT run, in MHz (0: OUT2 never rose). */
print_tsc_pit:
        xor %eax, %eax
        mov pit_n(%rip), %rcx
        test %rcx, %rcx
        jz 1f
        lea pit_runs(%rip), %rsi
        call median_of          /* sorts them: the shortest is first */
        mov (%rsi), %rax
1:      xor %edx, %edx
        mov $10000, %ecx        /* cycles per 10 ms -> per us */
        div %rcx
        P64("tsc_mhz_pit=")
        call dec64
        call nl64
        ret

/* tsc_cpuid: CPUID 16H EAX (base frequency, MHz) when the leaf exists. */
tsc_cpuid:
        xor %eax, %eax
        cpuid
        cmp $0x16, %eax
        mov $0, %eax
        jb 1f
        mov $0x16, %eax
        xor %ecx, %ecx
        cpuid
        and $0xffff, %eax
1:      P64("tsc_mhz_cpuid=")
        call dec64
        call nl64
        ret
