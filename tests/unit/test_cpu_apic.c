/* The software CPU's side of the board's local APIC (cpu_bus msr_read,
 * msr_write, apic): RDMSR/WRMSR go to the board first, its -1 is #GP, its 0
 * leaves the MSR to the CPU; the guest TSC comes along; CPUID leaf 1 shows
 * APIC, x2APIC, TSC-deadline and the APIC id only with an APIC. */
#include "test.h"
#include "fake_bus.h"
#include <string.h>

static struct {
    uint32_t last_msr;
    uint64_t last_val, last_tsc;
    int reads, writes, deadline_writes;
    uint64_t deadline_val;
} probe;

static int p_msr_read(void *o, uint32_t msr, uint64_t tsc, uint64_t *val)
{
    (void)o;
    probe.reads++;
    probe.last_msr = msr;
    probe.last_tsc = tsc;
    if (msr == 0x1b) {
        *val = 0xfee00900;
        return 1;
    }
    return msr >= 0x800 && msr <= 0x8ff ? -1 : 0;
}

static int p_msr_write(void *o, uint32_t msr, uint64_t tsc, uint64_t val)
{
    (void)o;
    probe.writes++;
    probe.last_msr = msr;
    probe.last_val = val;
    probe.last_tsc = tsc;
    if (msr == 0x6e0) {
        probe.deadline_writes++;
        probe.deadline_val = val;
        return 1;
    }
    return msr >= 0x800 && msr <= 0x8ff ? -1 : 0;
}

/*  mov ecx, 0x1b; rdmsr; mov ebp, eax; jmp $+2   (a block of its own:
 *                                                  RDMSR is never verified)
 *  mov ecx, 0x6e0; mov eax, 0x1234; xor edx, edx; wrmsr
 *  mov ecx, 0x174; mov eax, 0x10; wrmsr        (SYSENTER_CS: the CPU's own)
 *  mov eax, 1; cpuid; mov esi, ecx; mov edi, edx
 *  hlt */
static const uint8_t prog[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x89, 0xc5, 0xeb, 0x00,
    0xb9, 0xe0, 0x06, 0x00, 0x00, 0xb8, 0x34, 0x12, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30,
    0xb9, 0x74, 0x01, 0x00, 0x00, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x30,
    0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0x89, 0xce, 0x89, 0xd7,
    0xf4,
};

/*  mov eax, 1; cpuid; mov esi, ecx; mov edi, edx; hlt */
static const uint8_t prog_cpuid[] = {
    0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0x89, 0xce, 0x89, 0xd7, 0xf4,
};

/*  mov ecx, 0x830; xor eax, eax; xor edx, edx; wrmsr; hlt  (no IDT: #GP
 *  escalates to a triple fault) */
static const uint8_t prog_gp[] = {
    0xb9, 0x30, 0x08, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xf4,
};

TEST(cpu_apic_msrs_go_to_the_board_and_cpuid_says_so)
{
    struct fake *f = fake_new();
    struct x86_state st;
    /* Without an APIC: CPUID has none of the bits, and IA32_TSC_DEADLINE
     * does not exist (#GP, a triple fault here). */
    CHECK_EQ(run_flat32(f, prog, sizeof(prog), &st), CPU_STOP_SHUTDOWN);
    CHECK_EQ(run_flat32(f, prog_cpuid, sizeof(prog_cpuid), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_ESI] & ((1u << 21) | (1u << 24)), 0);
    CHECK_EQ(st.gpr[R_EDI] & (1u << 9), 0);
    fake_free(f);

    f = fake_new();
    memset(&probe, 0, sizeof(probe));
    f->bus.msr_read = p_msr_read;
    f->bus.msr_write = p_msr_write;
    f->bus.apic = true;
    f->bus.apic_id = 3;
    CHECK_EQ(run_flat32(f, prog, sizeof(prog), &st), CPU_STOP_HLT);
    CHECK_EQ(st.gpr[R_EBP], 0xfee00900);          /* RDMSR 0x1b from the board */
    CHECK_EQ(probe.reads, 1);
    /* 0x6e0, then 0x174 offered first; a board write is done once even
     * under jit=verify (its block is not run twice). */
    CHECK(probe.writes >= 2);
    CHECK_EQ(probe.deadline_writes, 1);
    CHECK_EQ(probe.deadline_val, 0x1234);
    CHECK_EQ(st.sysenter_cs, 0x10);                /* 0 from the board: the CPU's MSR */
    CHECK(probe.last_tsc != 0);
    CHECK_EQ(st.gpr[R_ESI] & ((1u << 21) | (1u << 24)), (1u << 21) | (1u << 24));
    CHECK_EQ(st.gpr[R_EDI] & (1u << 9), 1u << 9);
    CHECK_EQ(st.gpr[R_EBX] >> 24, 3);
    /* The board says #GP (an x2APIC MSR in xAPIC mode). */
    CHECK_EQ(run_flat32(f, prog_gp, sizeof(prog_gp), &st), CPU_STOP_SHUTDOWN);
    CHECK_EQ(probe.last_msr, 0x830);
    fake_free(f);
}
