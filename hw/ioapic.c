/* I/O APIC (82093AA datasheet §3.2; version 0x20 adds the directed EOI
 * register at 0x40 that Linux uses when the LAPIC can suppress broadcasts).
 *
 * Edge pins send a message on each rising edge of an unmasked pin. Level
 * pins send while the pin is asserted and remote IRR is clear, and set
 * remote IRR; the LAPIC's EOI of that vector (broadcast or directed) clears
 * it, and a pin still asserted then sends again. A masked level pin keeps
 * its request and sends when unmasked.
 *
 * Polarity: the bit is kept and read back, but inputs arrive as "asserted"
 * levels (the board's lines are active-high logic whatever the wire does),
 * as in QEMU: ACPI's _PRT makes Linux program PCI pins active-low, and a
 * model that inverted them would see every idle PCI line as a request.
 *
 * Lost ticks: an edge whose vector is still pending at the LAPIC merges
 * with it (one IRR bit per vector). On pins the board marks as timer pins
 * such merged edges are counted and re-sent one at a time as the CPU takes
 * the vector, so the guest sees as many ticks as the timer made (QEMU's
 * "catchup" lost-tick policy for the PIT and RTC does the same). */
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include <stdlib.h>

#define IOAPIC_ID_REG   0x00
#define IOAPIC_VER_REG  0x01
#define IOAPIC_ARB_REG  0x02
#define IOAPIC_REDIR    0x10

#define RE_VECTOR(e)   ((uint8_t)(e))
#define RE_DM(e)       (((e) >> 8) & 7)
#define RE_LOGICAL     (1ULL << 11)
#define RE_DELIVS      (1ULL << 12)
#define RE_POLARITY    (1ULL << 13)
#define RE_REMOTE_IRR  (1ULL << 14)
#define RE_LEVEL       (1ULL << 15)
#define RE_MASKED      (1ULL << 16)
#define RE_DEST(e)     ((uint32_t)((e) >> 56))
/* Writable: vector, delivery and destination mode, polarity, trigger,
 * mask, destination. */
#define RE_WMASK       (0xff000000000000ffULL | (7ULL << 8) | RE_LOGICAL | RE_POLARITY | RE_LEVEL | RE_MASKED)

struct ioapic {
    struct iomap *mmio;
    struct apic_bus *bus;
    uint8_t sel;
    uint32_t id;
    uint32_t level;             /* bit per pin: asserted now */
    uint64_t redir[IOAPIC_PINS];
    uint32_t reinject;          /* bit per pin: re-send merged edges */
    uint16_t coalesced[IOAPIC_PINS];
};

static void send(struct ioapic *s, int pin)
{
    uint64_t e = s->redir[pin];
    bool lvl = e & RE_LEVEL;
    if (lvl) {
        if (e & RE_REMOTE_IRR)
            return;
        s->redir[pin] |= RE_REMOTE_IRR;
    }
    bool merged = apic_bus_deliver(s->bus, RE_DEST(e), e & RE_LOGICAL, (enum apic_dm)RE_DM(e),
                                   RE_VECTOR(e), lvl);
    if (merged && !lvl && (s->reinject & (1u << pin)) && s->coalesced[pin] < IOAPIC_REINJECT_MAX)
        s->coalesced[pin]++;
}

void ioapic_accepted(struct ioapic *s, int vector)
{
    uint32_t pins = s->reinject;
    for (int pin = 0; pins; pin++, pins >>= 1) {
        uint64_t e = s->redir[pin];
        if ((pins & 1) && s->coalesced[pin] && RE_VECTOR(e) == vector &&
            !(e & (RE_MASKED | RE_LEVEL))) {
            s->coalesced[pin]--;
            send(s, pin);
        }
    }
}

void ioapic_set_reinject(struct ioapic *s, int pin, bool on)
{
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    if (on)
        s->reinject |= 1u << pin;
    else
        s->reinject &= ~(1u << pin);
    s->coalesced[pin] = 0;
}

/* Level pins that are asserted, unmasked and free to send. */
static void service(struct ioapic *s, int pin)
{
    uint64_t e = s->redir[pin];
    if ((e & RE_LEVEL) && !(e & RE_MASKED) && !(e & RE_REMOTE_IRR) && (s->level & (1u << pin)))
        send(s, pin);
}

void ioapic_set_irq(struct ioapic *s, int pin, int level)
{
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    bool was = s->level & bit;
    if (level)
        s->level |= bit;
    else
        s->level &= ~bit;
    uint64_t e = s->redir[pin];
    if (e & RE_LEVEL)
        service(s, pin);
    else if (level && !was && !(e & RE_MASKED))
        send(s, pin);
}

void ioapic_eoi(struct ioapic *s, int vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = s->redir[pin];
        if ((e & RE_LEVEL) && (e & RE_REMOTE_IRR) && RE_VECTOR(e) == vector) {
            s->redir[pin] &= ~RE_REMOTE_IRR;
            service(s, pin);
        }
    }
}

uint64_t ioapic_read(void *opaque, uint64_t off, unsigned size)
{
    struct ioapic *s = opaque;
    (void)size;
    if (off == 0x00)
        return s->sel;
    if (off != 0x10)
        return 0;
    switch (s->sel) {
    case IOAPIC_ID_REG: return s->id;
    case IOAPIC_VER_REG: return 0x20 | ((IOAPIC_PINS - 1u) << 16);
    case IOAPIC_ARB_REG: return s->id;
    default:
        if (s->sel >= IOAPIC_REDIR && s->sel < IOAPIC_REDIR + 2 * IOAPIC_PINS) {
            uint64_t e = s->redir[(s->sel - IOAPIC_REDIR) / 2];
            return (s->sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0xffffffff;
    }
}

void ioapic_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ioapic *s = opaque;
    (void)size;
    if (off == 0x00) {
        s->sel = (uint8_t)val;
        return;
    }
    if (off == 0x40) {              /* directed EOI (version 0x20) */
        ioapic_eoi(s, (int)(val & 0xff));
        return;
    }
    if (off != 0x10)
        return;
    if (s->sel == IOAPIC_ID_REG) {
        s->id = (uint32_t)val & 0x0f000000;
        return;
    }
    if (s->sel < IOAPIC_REDIR || s->sel >= IOAPIC_REDIR + 2 * IOAPIC_PINS)
        return;
    int pin = (s->sel - IOAPIC_REDIR) / 2;
    uint64_t e = s->redir[pin];
    uint64_t nv = (s->sel & 1) ? (e & 0xffffffffULL) | ((uint64_t)(uint32_t)val << 32)
                               : (e & ~0xffffffffULL) | (uint32_t)val;
    s->redir[pin] = (nv & RE_WMASK) | (e & RE_REMOTE_IRR);
    /* Waiting ticks belong to the old vector/state. */
    if ((s->redir[pin] ^ e) & (0xffULL | RE_MASKED | RE_LEVEL))
        s->coalesced[pin] = 0;
    /* Remote IRR means nothing for an edge pin. */
    if (!(s->redir[pin] & RE_LEVEL))
        s->redir[pin] &= ~RE_REMOTE_IRR;
    service(s, pin);
}

uint64_t ioapic_redir(const struct ioapic *s, int pin)
{
    return pin >= 0 && pin < IOAPIC_PINS ? s->redir[pin] : 0;
}

void ioapic_reset(struct ioapic *s)
{
    s->sel = 0;
    s->id = 0;
    for (int i = 0; i < IOAPIC_PINS; i++) {
        s->redir[i] = RE_MASKED;
        s->coalesced[i] = 0;
    }
}

struct ioapic *ioapic_create(struct iomap *mmio, struct apic_bus *bus)
{
    struct ioapic *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mmio = mmio;
    s->bus = bus;
    ioapic_reset(s);
    if (mmio && iomap_register(mmio, IOAPIC_BASE, 0x1000, ioapic_read, ioapic_write, s, "ioapic") < 0) {
        free(s);
        return NULL;
    }
    return s;
}

void ioapic_free(struct ioapic *s)
{
    if (!s)
        return;
    if (s->mmio)
        iomap_unregister(s->mmio, IOAPIC_BASE);
    free(s);
}
