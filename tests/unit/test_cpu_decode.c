/* Decoder lengths against capstone: for random byte strings in 16-, 32- and
 * 64-bit mode, whenever both our decoder and capstone accept the first
 * instruction, they must agree on its length. A wrong length silently
 * desynchronises everything after it (this is how a stray immediate on
 * NEG r/m8 once crashed busybox), so this runs over many encodings. */
#include "test.h"
#include "cpu/cpu.h"
#include <capstone/capstone.h>
#include <string.h>

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

TEST(cpu_decode_lengths_vs_capstone)
{
    static const int bits[3] = {16, 32, 64};
    static const int modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
    int compared = 0, mismatches = 0;
    for (int m = 0; m < 3; m++) {
        csh h;
        if (cs_open(CS_ARCH_X86, modes[m], &h) != CS_ERR_OK) {
            test_skip("capstone unavailable");
            return;
        }
        for (int it = 0; it < 40000; it++) {
            uint8_t b[16];
            for (int k = 0; k < 16; k++)
                b[k] = (uint8_t)rnd();
            /* Bias towards common shapes: an optional prefix or two, maybe 0F. */
            int p = 0;
            if (rnd() & 1)
                b[p++] = (uint8_t[]){0x66, 0x67, 0xf3, 0xf2, 0x2e, 0x64}[rnd() % 6];
            if (m == 2 && (rnd() & 1))
                b[p++] = 0x40 | (rnd() & 15);
            if (rnd() % 3 == 0)
                b[p++] = 0x0f;
            if (b[p] == 0x0f && (b[p + 1] == 0x38 || b[p + 1] == 0x3a))
                continue;       /* three-byte maps: we decode only MOVBE there */
            /* Known disagreements, where we follow Intel: an operand-size
             * (or address-size) prefix on near branches and RET imm16;
             * capstone decodes some of these AMD-style or ignores 66. */
            if (b[0] == 0x66 || b[0] == 0x67) {
                int q = 1;
                if (m == 2 && (b[q] & 0xf0) == 0x40)
                    q++;
                uint8_t o = b[q];
                if (o == 0xf3 || o == 0xf2)
                    o = b[++q];
                if (o == 0xe8 || o == 0xe9 || o == 0xc2 || (o == 0x0f && (b[q + 1] & 0xf0) == 0x80))
                    continue;
            }
            enum pg_class k;
            unsigned ours = cpu_classify(b, sizeof(b), bits[m], &k);
            if (!ours)
                continue;       /* #UD/#GP for us: nothing to compare */
            cs_insn *insn;
            size_t n = cs_disasm(h, b, sizeof(b), 0x1000, 1, &insn);
            if (n != 1)
                continue;
            unsigned theirs = insn[0].size;
            bool x87_or_3dnow = b[p] >= 0xd8 && b[p] <= 0xdf;
            /* Capstone ignores some prefixes or decodes reserved forms
             * differently; only the length is compared, and only when it
             * names a real instruction. */
            if (ours != theirs && !x87_or_3dnow) {
                if (mismatches++ < 8)
                    test_failf(__FILE__, __LINE__, "%d-bit %02x %02x %02x %02x %02x %02x: ours %u, capstone %u (%s %s)",
                               bits[m], b[0], b[1], b[2], b[3], b[4], b[5], ours, theirs,
                               insn[0].mnemonic, insn[0].op_str);
            }
            compared++;
            cs_free(insn, n);
        }
        cs_close(&h);
    }
    printf("  cpu_decode_lengths_vs_capstone: %d compared, %d mismatches\n", compared, mismatches);
    CHECK(compared > 30000);
}
