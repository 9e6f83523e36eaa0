/* Lazy arithmetic flags: the last flag-setting operation keeps its kind,
 * size, operands and result; CF PF AF ZF SF OF are computed only when
 * something reads them (Jcc, PUSHF, ADC, ...). Definitions per SDM vol. 1,
 * 3.4.3.1 and the instruction pages of vol. 2. */
#include "cpu/cpu_int.h"

const uint8_t parity_table[256] = {
#define P2(n) n, n ^ 4, n ^ 4, n
#define P4(n) P2(n), P2(n ^ 4), P2(n ^ 4), P2(n)
#define P6(n) P4(n), P4(n ^ 4), P4(n ^ 4), P4(n)
    P6(4), P6(0), P6(0), P6(4),
#undef P2
#undef P4
#undef P6
};

uint32_t cc_compute(const struct cpu *c)
{
    const unsigned sz = c->cc_sz;
    const uint64_t m = szmask(sz);
    const uint64_t sign = 1ULL << (sz * 8 - 1);
    const uint64_t a = c->cc_a & m, b = c->cc_b & m, r = c->cc_res & m;
    uint32_t f = parity_table[r & 0xff];
    if (r == 0)
        f |= RFLAGS_ZF;
    if (r & sign)
        f |= RFLAGS_SF;
    switch (c->cc_op) {
    case CC_ADD:
        if (r < a) f |= RFLAGS_CF;
        if ((a ^ r) & (b ^ r) & sign) f |= RFLAGS_OF;
        f |= (a ^ b ^ r) & RFLAGS_AF;
        break;
    case CC_ADC:
        if (c->cc_cin ? r <= a : r < a) f |= RFLAGS_CF;
        if ((a ^ r) & (b ^ r) & sign) f |= RFLAGS_OF;
        f |= (a ^ b ^ r) & RFLAGS_AF;
        break;
    case CC_SUB:
        if (a < b) f |= RFLAGS_CF;
        if ((a ^ b) & (a ^ r) & sign) f |= RFLAGS_OF;
        f |= (a ^ b ^ r) & RFLAGS_AF;
        break;
    case CC_SBB:
        if (c->cc_cin ? a <= b : a < b) f |= RFLAGS_CF;
        if ((a ^ b) & (a ^ r) & sign) f |= RFLAGS_OF;
        f |= (a ^ b ^ r) & RFLAGS_AF;
        break;
    case CC_LOGIC:
        break;
    case CC_SHIFT:      /* CF and OF precomputed, AF clear */
        f |= c->cc_cin & (RFLAGS_CF | RFLAGS_OF);
        break;
    case CC_INC:
        if (c->cc_cin) f |= RFLAGS_CF;
        if (r == sign) f |= RFLAGS_OF;
        if ((r & 0xf) == 0) f |= RFLAGS_AF;
        break;
    case CC_DEC:
        if (c->cc_cin) f |= RFLAGS_CF;
        if (a == sign) f |= RFLAGS_OF;
        if ((a & 0xf) == 0) f |= RFLAGS_AF;
        break;
    default:
        return (uint32_t)(c->eflags & FLAGS_ARITH);
    }
    return f;
}

/* Writes the bits of mask from v (POPF, IRET, SAHF...). Reserved bits keep
 * their architectural values: bit 1 set, 3/5/15/22+ clear. */
void set_eflags(struct cpu *c, uint64_t v, uint64_t mask)
{
    uint64_t cur = get_eflags(c);
    cur = (cur & ~mask) | (v & mask);
    cur &= 0x3f7fd5;
    cur |= RFLAGS_FIXED;
    if ((cur & ~c->eflags) & RFLAGS_IF)
        COUNT_IRQ_WINDOW(c);
    c->eflags = cur;
    c->cc_op = CC_EAGER;
}
