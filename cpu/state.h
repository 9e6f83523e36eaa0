/* Architectural x86-64 state as the rest of tremu exchanges it: boot loaders
 * produce an initial state, engines load and save it (KVM converts to
 * kvm_regs/kvm_sregs), the monitor and tests read it. */
#ifndef CPU_STATE_H
#define CPU_STATE_H

#include <stdint.h>

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

/* Segment attributes, packed as AMD's VMCB does (APM vol. 2, 15.5.1):
 * bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G.
 * That is descriptor bits 40-47 and 52-55; bit 12 marks an unusable
 * (null-loaded) register. */
#define SEGA_TYPE(a)  ((a) & 0xf)
#define SEGA_S        (1u << 4)
#define SEGA_DPL(a)   (((a) >> 5) & 3)
#define SEGA_P        (1u << 7)
#define SEGA_AVL      (1u << 8)
#define SEGA_L        (1u << 9)
#define SEGA_DB       (1u << 10)
#define SEGA_G        (1u << 11)
#define SEGA_UNUSABLE (1u << 12)

struct x86_seg {
    uint64_t base;
    uint32_t limit;     /* byte granular (already scaled by G) */
    uint16_t sel;
    uint16_t attr;
};

struct x86_dtable {
    uint64_t base;
    uint16_t limit;
};

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE  (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP (1u << 11)
#define CR4_FSGSBASE (1u << 16)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

#define RFLAGS_CF (1u << 0)
#define RFLAGS_FIXED (1u << 1)
#define RFLAGS_PF (1u << 2)
#define RFLAGS_AF (1u << 4)
#define RFLAGS_ZF (1u << 6)
#define RFLAGS_SF (1u << 7)
#define RFLAGS_TF (1u << 8)
#define RFLAGS_IF (1u << 9)
#define RFLAGS_DF (1u << 10)
#define RFLAGS_OF (1u << 11)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_NT (1u << 14)
#define RFLAGS_RF (1u << 16)
#define RFLAGS_VM (1u << 17)
#define RFLAGS_AC (1u << 18)
#define RFLAGS_VIF (1u << 19)
#define RFLAGS_VIP (1u << 20)
#define RFLAGS_ID (1u << 21)

#define MSR_IA32_TSC            0x00000010
#define MSR_IA32_APICBASE       0x0000001b
#define MSR_IA32_SYSENTER_CS    0x00000174
#define MSR_IA32_SYSENTER_ESP   0x00000175
#define MSR_IA32_SYSENTER_EIP   0x00000176
#define MSR_IA32_MISC_ENABLE    0x000001a0
#define MSR_IA32_PAT            0x00000277
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103

struct x86_state {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    struct x86_seg seg[SEG_COUNT];
    struct x86_seg ldtr, tr;
    struct x86_dtable gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t dr[8];
    uint64_t apic_base;
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, tsc_aux;
    /* x87 and SSE state: the fields of an FXSAVE image in its 64-bit
     * (REX.W) format, SDM vol. 1, 10.5.1, table 10-2 -- the same set
     * KVM's struct kvm_fpu and the legacy area of XSAVE carry, so an
     * engine converts field by field. */
    uint16_t fcw;       /* x87 control word (0x37f after FINIT) */
    uint16_t fsw;       /* status word, TOP in bits 13..11 */
    uint8_t ftw;        /* abridged tag: bit i set = physical R[i] not empty */
    uint16_t fop;       /* last x87 opcode, 11 bits */
    uint16_t fcs, fds;  /* selectors of the legacy FSAVE formats (not in FXSAVE64) */
    uint64_t fip, fdp;  /* last x87 instruction / operand pointers */
    uint32_t mxcsr;     /* 0x1f80 at reset */
    struct x86_fpreg { uint64_t mant; uint16_t sexp; } st[8];   /* ST(0)..ST(7) */
    uint64_t xmm[16][2];    /* XMM0..15, low quadword first */
};

/* The state at power-on (SDM vol. 3, 9.1.1, table 9-1): real mode,
 * CS.sel=F000 base FFFF0000, IP FFF0. */
void x86_state_reset(struct x86_state *s);
/* Flat 32-bit protected mode, paging off, as the Linux 32-bit boot protocol,
 * PVH and multiboot entries want (CS 0x10 code, DS/ES/SS 0x18 data). */
void x86_state_flat32(struct x86_state *s, uint16_t cs, uint16_t ds);
/* Real mode with every data segment at sel (base sel*16, limit 64 KiB). */
void x86_state_real(struct x86_state *s, uint16_t cs, uint16_t ip, uint16_t ds);
/* Human-readable dump (used on internal errors and by the monitor). */
#include <stdio.h>
void x86_state_dump(const struct x86_state *s, FILE *f);

#endif
