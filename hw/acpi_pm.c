/* ACPI PM1 event/control block, PM timer and the 0xCF9 reset register
 * (see hw/acpi_pm.h). Spec: ACPI 6.4 §4.8.3; Intel 82371AB (PIIX4)
 * datasheet §7.2 for the PMBA layout. */
#include "hw/acpi_pm.h"
#include "hw/acpi.h"
#include <stdlib.h>

#define PM1_EN_MASK (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
/* Bits that keep their written value (SLP_EN and GBL_RLS are write-only
 * strobes, bits 15:14 and 8:3 reserved). */
#define PM1_CNT_KEEP (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)
#define PM_TMR_BITS  24
#define PM_TMR_MASK  ((1u << PM_TMR_BITS) - 1)

struct acpi_pm {
    struct iomap *pio;
    uint16_t base;
    bool cf9_claimed;
    struct clock *clk;
    struct irq *sci;
    struct acpi_pm_hooks hooks;
    uint16_t sts, en, cnt;
    uint8_t rcr;               /* 0xCF9: only SYS_RST (bit 1) is kept */
    bool sci_level;
    uint64_t next_ovf_ns;      /* clock time of the next change of timer bit 23 */
    struct timer tmr;
};

static uint64_t pm_ticks(uint64_t ns)
{
    return muldiv64(ns, ACPI_PM_TIMER_HZ, NS_PER_SEC);
}

/* First clock time after `now` at which the counter's bit 23 changes: the
 * smallest ns with ticks(ns) >= the next multiple of 2^23 (§4.8.3.3: TMR_STS
 * is set "whenever the MSB of the timer changes"). */
static uint64_t pm_next_ovf(uint64_t now)
{
    uint64_t next = ((pm_ticks(now) >> (PM_TMR_BITS - 1)) + 1) << (PM_TMR_BITS - 1);
    unsigned __int128 ns = ((unsigned __int128)next * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
    return (uint64_t)ns;
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
    return (uint32_t)(pm_ticks(clock_ns(pm->clk)) & PM_TMR_MASK);
}

/* Latches TMR_STS if bit 23 changed since we last looked. */
static void pm_update_tmr(struct acpi_pm *pm)
{
    uint64_t now = clock_ns(pm->clk);
    if (now >= pm->next_ovf_ns) {
        pm->sts |= ACPI_PM1_TMR;
        pm->next_ovf_ns = pm_next_ovf(now);
    }
}

/* SCI = any enabled fixed event with its status set, while SCI_EN routes
 * events to the SCI (with SCI_EN clear they would go to SMI, which we lack). */
static void pm_update(struct acpi_pm *pm)
{
    pm_update_tmr(pm);
    bool level = (pm->cnt & ACPI_PM1_SCI_EN) && (pm->sts & pm->en & PM1_EN_MASK);
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(pm->sci, level);
    }
    /* Only wake up for the overflow when it can raise the SCI; otherwise
     * TMR_STS is computed when read. */
    if ((pm->en & ACPI_PM1_TMR) && !(pm->sts & ACPI_PM1_TMR))
        timer_mod(&pm->tmr, pm->next_ovf_ns);
    else
        timer_del(&pm->tmr);
}

static void pm_timer_cb(void *opaque)
{
    pm_update(opaque);
}

bool acpi_pm_sci_level(const struct acpi_pm *pm)
{
    return pm->sci_level;
}

static void pm_sleep(struct acpi_pm *pm, unsigned typ)
{
    if (typ == ACPI_SLP_TYP_S5 && pm->hooks.poweroff)
        pm->hooks.poweroff(pm->hooks.opaque);
    /* No other sleep state is announced in the DSDT: ignored. */
}

static uint64_t pm_read(void *opaque, uint64_t addr, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pm_update(pm);
    /* One snapshot for the whole access, so a dword read of PM_TMR is
     * coherent. */
    uint32_t tmr = acpi_pm_timer(pm);
    uint8_t regs[12] = {
        (uint8_t)pm->sts, (uint8_t)(pm->sts >> 8), (uint8_t)pm->en, (uint8_t)(pm->en >> 8),
        (uint8_t)pm->cnt, (uint8_t)(pm->cnt >> 8), 0, 0,
        (uint8_t)tmr, (uint8_t)(tmr >> 8), (uint8_t)(tmr >> 16), (uint8_t)(tmr >> 24),
    };
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t off = addr + i;
        uint8_t b = off < sizeof(regs) ? regs[off] : 0;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void pm_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pm_update(pm);
    bool sleep = false;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t off = addr + i;
        unsigned sh = (unsigned)(off & 1) * 8;
        uint16_t b = (uint16_t)(((val >> (8 * i)) & 0xff) << sh);
        uint16_t keep = (uint16_t)~(0xffu << sh);
        switch (off) {
        case 0: case 1:
            pm->sts &= (uint16_t)~b;                     /* write 1 to clear */
            break;
        case 2: case 3:
            pm->en = (uint16_t)(((pm->en & keep) | b) & PM1_EN_MASK);
            break;
        case 4: case 5:
            pm->cnt = (uint16_t)((pm->cnt & keep) | (b & PM1_CNT_KEEP));
            if (b & ACPI_PM1_SLP_EN)
                sleep = true;
            break;
        default:
            break;                                       /* PM_TMR is read-only */
        }
    }
    pm_update(pm);
    /* After the whole access, so a word write of SLP_TYP|SLP_EN sees its
     * own type. */
    if (sleep)
        pm_sleep(pm, (pm->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
}

uint8_t acpi_pm_cf9_read(struct acpi_pm *pm)
{
    return pm->rcr;
}

/* Reset Control Register (PIIX3 datasheet §2.3.2 "RC"; ICH RST_CNT): a write
 * with RST_CPU (bit 2) resets; SYS_RST (bit 1) only chooses hard vs soft,
 * which is the same machine reset here. */
void acpi_pm_cf9_write(struct acpi_pm *pm, uint8_t val)
{
    if (val & 0x04) {
        if (pm->hooks.reset)
            pm->hooks.reset(pm->hooks.opaque);
        return;
    }
    pm->rcr = val & 0x02;
}

static uint64_t cf9_read(void *opaque, uint64_t addr, unsigned size)
{
    return acpi_pm_cf9_read(opaque);
}

static void cf9_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    acpi_pm_cf9_write(opaque, (uint8_t)val);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pm->sts |= ACPI_PM1_PWRBTN;
    pm_update(pm);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
    pm->sts = 0;
    pm->en = 0;
    pm->cnt = ACPI_PM1_SCI_EN;    /* SMI_CMD = 0 in the FADT: ACPI mode from reset */
    pm->rcr = 0;
    pm->sci_level = false;
    irq_lower(pm->sci);
    pm_update(pm);
}

struct acpi_pm *acpi_pm_create(struct iomap *pio, uint16_t base, struct clock *clk, struct irq *sci,
                               const struct acpi_pm_hooks *hooks, bool claim_cf9)
{
    if (!pio || !clk || (uint32_t)base + ACPI_PM_IO_LEN > 0x10000)
        return NULL;
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return NULL;
    pm->pio = pio;
    pm->base = base;
    pm->clk = clk;
    pm->sci = sci;
    if (hooks)
        pm->hooks = *hooks;
    timer_init(&pm->tmr, clk, pm_timer_cb, pm);
    pm->next_ovf_ns = pm_next_ovf(clock_ns(clk));
    if (iomap_register(pio, base, ACPI_PM_IO_LEN, pm_read, pm_write, pm, "acpi-pm") < 0) {
        free(pm);
        return NULL;
    }
    if (claim_cf9) {
        if (iomap_register(pio, ACPI_RESET_PORT, 1, cf9_read, cf9_write, pm, "reset-control") < 0) {
            iomap_unregister(pio, base);
            free(pm);
            return NULL;
        }
        pm->cf9_claimed = true;
    }
    acpi_pm_reset(pm);
    return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
    if (!pm)
        return;
    timer_del(&pm->tmr);
    iomap_unregister(pm->pio, pm->base);
    if (pm->cf9_claimed)
        iomap_unregister(pm->pio, ACPI_RESET_PORT);
    free(pm);
}
