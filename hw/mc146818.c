/* MC146818A RTC + CMOS RAM, as found in every PC since the AT.
 *
 * Model: the RTC's time is kept as "RTC nanoseconds since 1970 at clock time
 * ref_ns" and computed on demand; the time registers are refreshed from it
 * when read (or at each update cycle), and written back into it when the
 * guest sets them. Two timers: the periodic interrupt (on the 32768 Hz grid)
 * and the once-per-second update cycle (UF/AF).
 *
 * References: Motorola MC146818A datasheet (register A-D descriptions,
 * "update cycle", "interrupts"); QEMU hw/rtc/mc146818rtc.c for what guests
 * have been tested against (UIP window, SET handling, reset). */
#include "hw/mc146818.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTC_FREQ 32768
#define CMOS_SIZE 128

struct rtc {
    struct iomap *pio;
    struct clock *clk;
    struct irq *irq;
    uint8_t cmos[CMOS_SIZE];
    uint8_t index;
    bool nmi_masked;
    /* RTC time at clock time ref_ns: base_sec seconds since 1970 plus
     * base_sub ns. Seconds and ns apart: a guest may set any year up to
     * 9999, past what int64 nanoseconds hold. */
    int64_t base_sec;
    uint64_t base_sub;
    uint64_t ref_ns;
    struct timer periodic, update;
    uint64_t c_read_cycles;    /* 32768 Hz cycle of the last register C read */
};

/* ---- calendar arithmetic (proleptic Gregorian, UTC) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* Days since 1970-01-01 of y-m-d, m in 1..12 (the usual era-based method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- register encoding ---- */

static uint8_t to_reg(struct rtc *r, int v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_DM)
        return (uint8_t)v;
    return (uint8_t)((((v / 10) % 10) << 4) | (v % 10));
}

/* Garbage BCD digits (A-F) decode to out-of-range values; that is the
 * guest's business, the arithmetic below copes with any 0..255 input. */
static int from_reg(struct rtc *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_DM)
        return v;
    return (v >> 4) * 10 + (v & 0x0f);
}

static bool divider_reset(struct rtc *r)
{
    return (r->cmos[RTC_REG_A] & 0x60) == 0x60;
}

/* Time advances (and the registers follow it) only with SET clear and a
 * valid divider. Like QEMU, DV=000/001/010 all count as running. */
static bool rtc_running(struct rtc *r)
{
    return !(r->cmos[RTC_REG_B] & RTC_B_SET) && (r->cmos[RTC_REG_A] & 0x70) <= 0x20;
}

/* Current RTC time: whole seconds, and ns into the current second. */
static int64_t rtc_now(struct rtc *r, uint64_t *frac)
{
    uint64_t t = r->base_sub + (clock_ns(r->clk) - r->ref_ns);
    if (frac)
        *frac = t % NS_PER_SEC;
    return r->base_sec + (int64_t)(t / NS_PER_SEC);
}

static void regs_from_time(struct rtc *r, int64_t secs)
{
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t year;
    int mon, mday;
    civil_from_days(days, &year, &mon, &mday);
    int hour = (int)(sod / 3600);

    r->cmos[RTC_SECONDS] = to_reg(r, (int)(sod % 60));
    r->cmos[RTC_MINUTES] = to_reg(r, (int)(sod / 60 % 60));
    if (r->cmos[RTC_REG_B] & RTC_B_24H) {
        r->cmos[RTC_HOURS] = to_reg(r, hour);
    } else {
        /* 12-hour mode: 12, 1..11 with bit 7 set for PM. */
        int h12 = hour % 12 ? hour % 12 : 12;
        r->cmos[RTC_HOURS] = to_reg(r, h12) | (hour >= 12 ? 0x80 : 0);
    }
    /* 1970-01-01 was a Thursday; the RTC counts Sunday as 1. */
    r->cmos[RTC_DAY_OF_WEEK] = to_reg(r, (int)floor_mod(days + 4, 7) + 1);
    r->cmos[RTC_DAY_OF_MONTH] = to_reg(r, mday);
    r->cmos[RTC_MONTH] = to_reg(r, mon);
    int64_t y = year < 0 ? 0 : year;
    r->cmos[RTC_YEAR] = to_reg(r, (int)(y % 100));
    r->cmos[RTC_CENTURY] = to_reg(r, (int)(y / 100 % 100));
}

static int64_t time_from_regs(struct rtc *r)
{
    int sec = from_reg(r, r->cmos[RTC_SECONDS]);
    int min = from_reg(r, r->cmos[RTC_MINUTES]);
    uint8_t hraw = r->cmos[RTC_HOURS];
    int hour;
    if (r->cmos[RTC_REG_B] & RTC_B_24H) {
        hour = from_reg(r, hraw);
    } else {
        hour = from_reg(r, hraw & 0x7f) % 12;
        if (hraw & 0x80)
            hour += 12;
    }
    int mday = from_reg(r, r->cmos[RTC_DAY_OF_MONTH]);
    int mon = from_reg(r, r->cmos[RTC_MONTH]);
    if (mon < 1)
        mon = 1;
    if (mon > 12)
        mon = 12;
    int64_t year = (int64_t)from_reg(r, r->cmos[RTC_CENTURY]) * 100 +
                   from_reg(r, r->cmos[RTC_YEAR]);
    int64_t days = days_from_civil(year, mon, 1) + mday - 1;
    return days * 86400 + (int64_t)hour * 3600 + min * 60 + sec;
}

/* Refresh the time registers from the running clock. */
static void rtc_sync_regs(struct rtc *r)
{
    if (rtc_running(r))
        regs_from_time(r, rtc_now(r, NULL));
}

/* The registers become the time; sub_ns is where in the second we are. */
static void rtc_set_from_regs(struct rtc *r, uint64_t sub_ns)
{
    r->base_sec = time_from_regs(r);
    r->base_sub = sub_ns;
    r->ref_ns = clock_ns(r->clk);
}

/* ---- interrupts ---- */

static void rtc_raise(struct rtc *r, uint8_t flags)
{
    uint8_t fresh = flags & ~r->cmos[RTC_REG_C];
    r->cmos[RTC_REG_C] |= flags;
    /* IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE); the flag bits and the
     * enable bits sit at the same positions in C and B. */
    if (fresh & r->cmos[RTC_REG_B] & 0x70) {
        r->cmos[RTC_REG_C] |= RTC_C_IRQF;
        irq_raise(r->irq);
    }
}

/* Periodic rate in 32768 Hz cycles, 0 when off. Rates 1 and 2 give 256 and
 * 128 Hz with a 32768 Hz time base (datasheet table 5 footnote), as QEMU. */
static uint32_t rate_cycles(struct rtc *r)
{
    if (divider_reset(r))
        return 0;
    int rate = r->cmos[RTC_REG_A] & 0x0f;
    if (rate == 0)
        return 0;
    if (rate <= 2)
        rate += 7;
    return 1u << (rate - 1);
}

/* The timer only runs when the interrupt is enabled (as QEMU). */
static uint32_t periodic_cycles(struct rtc *r)
{
    return (r->cmos[RTC_REG_B] & RTC_B_PIE) ? rate_cycles(r) : 0;
}

static uint64_t rtc_cycles(struct rtc *r)
{
    return muldiv64(clock_ns(r->clk), RTC_FREQ, NS_PER_SEC);
}

/* PF is set at every period whether or not PIE is (datasheet, "PF");
 * without PIE there is no timer, so a poller's PF is computed when it
 * reads register C: did a period boundary pass since the last read? */
static uint8_t lazy_pf(struct rtc *r)
{
    if (r->cmos[RTC_REG_B] & RTC_B_PIE)
        return 0;
    uint32_t period = rate_cycles(r);
    if (!period)
        return 0;
    return rtc_cycles(r) / period != r->c_read_cycles / period ? RTC_C_PF : 0;
}

/* The periodic interrupt ticks on multiples of its period on the 32768 Hz
 * grid, so rearming after a register write never shifts the phase and a
 * simulated second gives exactly 32768/period interrupts. */
static void periodic_update(struct rtc *r)
{
    uint32_t period = periodic_cycles(r);
    if (!period) {
        timer_del(&r->periodic);
        return;
    }
    uint64_t cyc = rtc_cycles(r);
    uint64_t next = (cyc / period + 1) * period;
    /* First ns at which the cycle counter reaches `next` (round up). */
    uint64_t deadline = muldiv64(next, NS_PER_SEC, RTC_FREQ);
    if (muldiv64(deadline, RTC_FREQ, NS_PER_SEC) < next)
        deadline++;
    timer_mod(&r->periodic, deadline);
}

static void periodic_fire(void *opaque)
{
    struct rtc *r = opaque;
    rtc_raise(r, RTC_C_PF);
    periodic_update(r);
}

static bool alarm_field_match(uint8_t alarm, uint8_t now)
{
    /* 11xxxxxx is "don't care" (datasheet, "alarm interrupt"). */
    return (alarm & 0xc0) == 0xc0 || alarm == now;
}

/* The update cycle runs once per second while the clock runs (SET inhibits
 * it, datasheet "SET"); UIP is derived from the same phase when read. */
static void update_arm(struct rtc *r)
{
    if (!rtc_running(r)) {
        timer_del(&r->update);
        return;
    }
    uint64_t frac;
    rtc_now(r, &frac);
    timer_mod(&r->update, clock_ns(r->clk) + (NS_PER_SEC - frac));
}

static void update_fire(void *opaque)
{
    struct rtc *r = opaque;
    if (!rtc_running(r))
        return;
    rtc_sync_regs(r);
    uint8_t flags = RTC_C_UF;
    if (alarm_field_match(r->cmos[RTC_SECONDS_ALARM], r->cmos[RTC_SECONDS]) &&
        alarm_field_match(r->cmos[RTC_MINUTES_ALARM], r->cmos[RTC_MINUTES]) &&
        alarm_field_match(r->cmos[RTC_HOURS_ALARM], r->cmos[RTC_HOURS]))
        flags |= RTC_C_AF;
    rtc_raise(r, flags);
    update_arm(r);
}

static bool update_in_progress(struct rtc *r)
{
    if (!rtc_running(r))
        return false;
    uint64_t frac;
    rtc_now(r, &frac);
    return frac >= NS_PER_SEC - RTC_UIP_HOLD_NS;
}

/* ---- register access ---- */

static bool is_time_reg(int idx)
{
    switch (idx) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        return true;
    }
    return false;
}

/* A or B changed: handle the clock stopping/starting around the write. */
static void control_write(struct rtc *r, int idx, uint8_t val)
{
    bool was_running = rtc_running(r);
    bool was_reset = divider_reset(r);
    uint64_t frac;
    int64_t now = rtc_now(r, &frac);
    if (was_running)
        regs_from_time(r, now);     /* freeze the registers at this instant */

    if (idx == RTC_REG_B && (val & RTC_B_SET))
        val &= ~RTC_B_UIE;          /* datasheet: SET=1 clears UIE */
    uint8_t new_a = idx == RTC_REG_A ? (val & ~RTC_A_UIP) : r->cmos[RTC_REG_A];
    uint8_t new_b = idx == RTC_REG_B ? val : r->cmos[RTC_REG_B];
    bool starts = !was_running && !(new_b & RTC_B_SET) && (new_a & 0x70) <= 0x20;
    /* The registers were written in the old mode (DM, 24/12 h): read them
     * that way, as QEMU does, even if this write also changes the mode. */
    int64_t secs = starts ? time_from_regs(r) : 0;

    r->cmos[RTC_REG_A] = new_a;     /* UIP is read-only */
    if (idx == RTC_REG_B) {
        r->cmos[RTC_REG_B] = new_b;
        /* An enable written while its flag is already up raises IRQF at
         * once; clearing the enables drops it (QEMU does the same). */
        if (new_b & r->cmos[RTC_REG_C] & 0x70) {
            r->cmos[RTC_REG_C] |= RTC_C_IRQF;
            irq_raise(r->irq);
        } else {
            r->cmos[RTC_REG_C] &= ~RTC_C_IRQF;
            irq_lower(r->irq);
        }
    }

    if (starts) {
        /* Leaving divider reset, the first update comes half a second
         * later (datasheet "divider"); leaving SET keeps the phase of the
         * divider chain, which kept counting. */
        r->base_sec = secs;
        r->base_sub = was_reset ? NS_PER_SEC / 2 : frac;
        r->ref_ns = clock_ns(r->clk);
        regs_from_time(r, secs);    /* now in the new mode */
    }
    periodic_update(r);
    update_arm(r);
}

static uint8_t data_read(struct rtc *r)
{
    int idx = r->index;
    if (idx == RTC_IBM_PS2_CENTURY)
        idx = RTC_CENTURY;
    if (is_time_reg(idx)) {
        rtc_sync_regs(r);
        return r->cmos[idx];
    }
    switch (idx) {
    case RTC_REG_A:
        return r->cmos[RTC_REG_A] | (update_in_progress(r) ? RTC_A_UIP : 0);
    case RTC_REG_C: {
        uint8_t v = r->cmos[RTC_REG_C] | lazy_pf(r);
        r->c_read_cycles = rtc_cycles(r);
        r->cmos[RTC_REG_C] = 0;
        irq_lower(r->irq);
        return v;
    }
    case RTC_REG_D:
        return RTC_D_VRT;       /* the battery is always good */
    }
    return r->cmos[idx];
}

static void data_write(struct rtc *r, uint8_t val)
{
    int idx = r->index;
    if (idx == RTC_IBM_PS2_CENTURY)
        idx = RTC_CENTURY;
    if (is_time_reg(idx)) {
        if (rtc_running(r)) {
            /* Bring every register up to date, change one, and make the
             * result the new time, keeping the phase within the second. */
            uint64_t frac;
            regs_from_time(r, rtc_now(r, &frac));
            r->cmos[idx] = val;
            rtc_set_from_regs(r, frac);
            update_arm(r);
        } else {
            r->cmos[idx] = val;     /* takes effect when SET is cleared */
        }
        return;
    }
    switch (idx) {
    case RTC_REG_A:
    case RTC_REG_B:
        control_write(r, idx, val);
        return;
    case RTC_REG_C:
    case RTC_REG_D:
        return;                 /* read-only */
    }
    r->cmos[idx] = val;
}

static uint64_t rtc_io_read(void *opaque, uint64_t addr, unsigned size)
{
    struct rtc *r = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t port = addr + i;
        uint8_t b = 0xff;       /* the index register is write-only */
        if (port == 1)
            b = data_read(r);
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void rtc_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct rtc *r = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t port = addr + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        if (port == 0) {
            /* Bit 7 of the index port gates NMI on PC chipsets. */
            r->nmi_masked = b & 0x80;
            r->index = b & 0x7f;
        } else if (port == 1) {
            data_write(r, b);
        }
    }
}

/* ---- CMOS contents the BIOS reads ---- */

static void cmos_checksum(struct rtc *r)
{
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++)
        sum += r->cmos[i];
    r->cmos[0x2e] = (uint8_t)(sum >> 8);
    r->cmos[0x2f] = (uint8_t)sum;
}

static int boot_nibble(char c)
{
    switch (c) {
    case 'a': case 'b': return 1;   /* floppy */
    case 'c': return 2;             /* hard disk */
    case 'd': return 3;             /* CD-ROM */
    case 'n': return 4;             /* network */
    }
    return 0;
}

int rtc_set_boot_order(struct rtc *r, const char *order)
{
    int bds[3] = { 0, 0, 0 };
    size_t n = order ? strlen(order) : 0;
    if (n > 3)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bds[i] = boot_nibble(order[i]);
        if (!bds[i])
            return -1;
    }
    r->cmos[0x3d] = (uint8_t)((bds[1] << 4) | bds[0]);
    /* Bit 0 of 0x38 = 1 skips the floppy boot-signature check (QEMU's
     * fd_bootchk is on by default, so 0). */
    r->cmos[0x38] = (uint8_t)(bds[2] << 4);
    return 0;
}

static void cmos_init(struct rtc *r, uint64_t below, uint64_t above, int ncpus)
{
    const uint64_t KiB = 1024, MiB = 1024 * 1024;
    uint64_t v;

    r->cmos[0x10] = 0x00;           /* no floppy drives */
    r->cmos[0x12] = 0x00;           /* no IDE hard disks (type in 0x19/0x1a) */
    r->cmos[0x14] = 0x02 | 0x04;    /* FPU present, PS/2 mouse present (QEMU) */

    v = below / KiB < 640 ? below / KiB : 640;
    r->cmos[0x15] = (uint8_t)v;
    r->cmos[0x16] = (uint8_t)(v >> 8);

    v = below > MiB ? (below - MiB) / KiB : 0;
    if (v > 0xffff)
        v = 0xffff;
    r->cmos[0x17] = r->cmos[0x30] = (uint8_t)v;
    r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(v >> 8);

    v = below > 16 * MiB ? (below - 16 * MiB) / (64 * KiB) : 0;
    if (v > 0xffff)
        v = 0xffff;
    r->cmos[0x34] = (uint8_t)v;
    r->cmos[0x35] = (uint8_t)(v >> 8);

    v = above / (64 * KiB);
    if (v > 0xffffff)
        v = 0xffffff;
    r->cmos[0x5b] = (uint8_t)v;
    r->cmos[0x5c] = (uint8_t)(v >> 8);
    r->cmos[0x5d] = (uint8_t)(v >> 16);

    if (ncpus < 1)
        ncpus = 1;
    if (ncpus > 256)
        ncpus = 256;
    r->cmos[0x5f] = (uint8_t)(ncpus - 1);

    rtc_set_boot_order(r, "cad");   /* QEMU pc machine default */
    cmos_checksum(r);
}

/* ---- public API ---- */

static int64_t host_realtime_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void rtc_set_time_epoch(struct rtc *r, int64_t unix_seconds)
{
    r->base_sec = unix_seconds;
    r->base_sub = 0;
    r->ref_ns = clock_ns(r->clk);
    regs_from_time(r, unix_seconds);
    update_arm(r);
}

void rtc_set_host_time_offset(struct rtc *r, int64_t seconds)
{
    rtc_set_time_epoch(r, host_realtime_sec() + seconds);
}

int64_t rtc_get_time_epoch(struct rtc *r)
{
    if (!rtc_running(r))
        return time_from_regs(r);
    return rtc_now(r, NULL);
}

struct rtc *rtc_create(struct iomap *pio, struct clock *clk, struct irq *irq8,
                       uint64_t ram_below_4g, uint64_t ram_above_4g, int ncpus)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->pio = pio;
    r->clk = clk;
    r->irq = irq8;
    timer_init(&r->periodic, clk, periodic_fire, r);
    timer_init(&r->update, clk, update_fire, r);
    r->cmos[RTC_REG_A] = 0x26;      /* 32768 Hz time base, 1024 Hz rate */
    r->cmos[RTC_REG_B] = RTC_B_24H; /* 24 h, BCD */
    r->cmos[RTC_REG_C] = 0x00;
    r->cmos[RTC_REG_D] = RTC_D_VRT;
    cmos_init(r, ram_below_4g, ram_above_4g, ncpus);
    r->c_read_cycles = rtc_cycles(r);
    if (iomap_register(pio, RTC_PORT, 2, rtc_io_read, rtc_io_write, r, "rtc") < 0) {
        free(r);
        return NULL;
    }
    rtc_set_time_epoch(r, host_realtime_sec());
    return r;
}

void rtc_reset(struct rtc *r)
{
    /* The RESET pin clears the interrupt enables and flags (datasheet,
     * "RESET"); the time and the battery-backed RAM are untouched. */
    r->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
    r->cmos[RTC_REG_C] = 0;
    irq_lower(r->irq);
    periodic_update(r);
    update_arm(r);
}

void rtc_free(struct rtc *r)
{
    if (!r)
        return;
    timer_del(&r->periodic);
    timer_del(&r->update);
    const struct io_region *reg = iomap_find(r->pio, RTC_PORT);
    if (reg && reg->opaque == r)
        iomap_unregister(r->pio, RTC_PORT);
    free(r);
}

bool rtc_nmi_masked(struct rtc *r)
{
    return r->nmi_masked;
}

uint8_t rtc_cmos_read(struct rtc *r, int index)
{
    if (index < 0 || index >= CMOS_SIZE)
        return 0xff;
    if (index == RTC_IBM_PS2_CENTURY)
        index = RTC_CENTURY;
    if (is_time_reg(index))
        rtc_sync_regs(r);
    if (index == RTC_REG_A)
        return r->cmos[RTC_REG_A] | (update_in_progress(r) ? RTC_A_UIP : 0);
    if (index == RTC_REG_C)
        return r->cmos[RTC_REG_C] | lazy_pf(r);
    return r->cmos[index];
}

void rtc_cmos_write(struct rtc *r, int index, uint8_t val)
{
    /* The clock and control registers have semantics; this is for RAM. */
    if (index < 0x0e || index >= CMOS_SIZE || is_time_reg(index) || index == RTC_IBM_PS2_CENTURY)
        return;
    r->cmos[index] = val;
    if (index >= 0x10 && index <= 0x2d)
        cmos_checksum(r);
}
