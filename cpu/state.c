#include "cpu/state.h"
#include <string.h>

static void seg_set(struct x86_seg *sg, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
    sg->sel = sel;
    sg->base = base;
    sg->limit = limit;
    sg->attr = attr;
}

void x86_state_reset(struct x86_state *s)
{
    memset(s, 0, sizeof(*s));
    s->rip = 0xfff0;
    s->rflags = RFLAGS_FIXED;
    /* Data segments: present, writable, accessed (type 3). */
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&s->seg[i], 0, 0, 0xffff, 0x3 | SEGA_S | SEGA_P);
    /* CS: execute/read, accessed (type 0xb). */
    seg_set(&s->seg[SEG_CS], 0xf000, 0xffff0000, 0xffff, 0xb | SEGA_S | SEGA_P);
    seg_set(&s->ldtr, 0, 0, 0xffff, 0x2 | SEGA_P);
    seg_set(&s->tr, 0, 0, 0xffff, 0xb | SEGA_P);
    s->gdtr.limit = 0xffff;
    s->idtr.limit = 0xffff;
    s->cr0 = CR0_ET | CR0_CD | CR0_NW;
    s->dr[6] = 0xffff0ff0;
    s->dr[7] = 0x400;
    s->gpr[R_EDX] = 0x600;     /* family 6 processor signature, like QEMU */
    s->apic_base = 0xfee00000 | (1u << 11) | (1u << 8);
    s->pat = 0x0007040600070406ULL;
    s->fcw = 0x37f;
    s->mxcsr = 0x1f80;
}

void x86_state_flat32(struct x86_state *s, uint16_t cs, uint16_t ds)
{
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&s->seg[i], ds, 0, 0xffffffff, 0x3 | SEGA_S | SEGA_P | SEGA_DB | SEGA_G);
    seg_set(&s->seg[SEG_CS], cs, 0, 0xffffffff, 0xb | SEGA_S | SEGA_P | SEGA_DB | SEGA_G);
    s->cr0 = (s->cr0 & ~(uint64_t)(CR0_CD | CR0_NW | CR0_PG)) | CR0_PE | CR0_ET;
    s->rflags = RFLAGS_FIXED;
}

void x86_state_real(struct x86_state *s, uint16_t cs, uint16_t ip, uint16_t ds)
{
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&s->seg[i], ds, (uint64_t)ds << 4, 0xffff, 0x3 | SEGA_S | SEGA_P);
    seg_set(&s->seg[SEG_CS], cs, (uint64_t)cs << 4, 0xffff, 0xb | SEGA_S | SEGA_P);
    s->rip = ip;
    s->cr0 &= ~(uint64_t)(CR0_PE | CR0_PG);
}

static void dump_seg(FILE *f, const char *n, const struct x86_seg *sg)
{
    fprintf(f, "%-4s=%04x %016llx %08x %04x\n", n, sg->sel,
            (unsigned long long)sg->base, sg->limit, sg->attr);
}

void x86_state_dump(const struct x86_state *s, FILE *f)
{
    static const char *gn[16] = {"RAX","RCX","RDX","RBX","RSP","RBP","RSI","RDI",
                                 "R8","R9","R10","R11","R12","R13","R14","R15"};
    static const char *sn[6] = {"ES","CS","SS","DS","FS","GS"};
    for (int i = 0; i < 16; i++)
        fprintf(f, "%-3s=%016llx%s", gn[i], (unsigned long long)s->gpr[i], (i % 4 == 3) ? "\n" : " ");
    fprintf(f, "RIP=%016llx RFL=%08llx\n", (unsigned long long)s->rip, (unsigned long long)s->rflags);
    for (int i = 0; i < 6; i++)
        dump_seg(f, sn[i], &s->seg[i]);
    dump_seg(f, "LDT", &s->ldtr);
    dump_seg(f, "TR", &s->tr);
    fprintf(f, "GDT=     %016llx %08x\n", (unsigned long long)s->gdtr.base, s->gdtr.limit);
    fprintf(f, "IDT=     %016llx %08x\n", (unsigned long long)s->idtr.base, s->idtr.limit);
    fprintf(f, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n",
            (unsigned long long)s->cr0, (unsigned long long)s->cr2,
            (unsigned long long)s->cr3, (unsigned long long)s->cr4);
    fprintf(f, "EFER=%016llx CR8=%llx\n", (unsigned long long)s->efer, (unsigned long long)s->cr8);
    fprintf(f, "FCW=%04x FSW=%04x FTW=%02x FOP=%03x FIP=%016llx FDP=%016llx MXCSR=%08x\n",
            s->fcw, s->fsw, s->ftw, s->fop, (unsigned long long)s->fip,
            (unsigned long long)s->fdp, s->mxcsr);
    for (int i = 0; i < 8; i++)
        fprintf(f, "ST%d=%04x %016llx%s", i, s->st[i].sexp,
                (unsigned long long)s->st[i].mant, (i % 4 == 3) ? "\n" : " ");
    for (int i = 0; i < 16; i++)
        fprintf(f, "XMM%02d=%016llx%016llx%s", i, (unsigned long long)s->xmm[i][1],
                (unsigned long long)s->xmm[i][0], (i % 2 == 1) ? "\n" : " ");
}
