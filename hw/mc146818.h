/* MC146818 real-time clock and its 128 bytes of CMOS memory.
 * Ports: index 0x70 (bit 7 = NMI mask), data 0x71. Interrupt: ISA IRQ 8.
 *
 * RTC time = host wall time (UTC) at creation + elapsed time of the machine
 * clock, so a manual clock gives deterministic time in tests. */
#ifndef HW_MC146818_H
#define HW_MC146818_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/clock.h"
#include "hw/irq.h"

#define RTC_PORT 0x70
#define RTC_IRQ  8

/* Register indexes (MC146818A datasheet, "Address map"). */
#define RTC_SECONDS        0x00
#define RTC_SECONDS_ALARM  0x01
#define RTC_MINUTES        0x02
#define RTC_MINUTES_ALARM  0x03
#define RTC_HOURS          0x04
#define RTC_HOURS_ALARM    0x05
#define RTC_DAY_OF_WEEK    0x06
#define RTC_DAY_OF_MONTH   0x07
#define RTC_MONTH          0x08
#define RTC_YEAR           0x09
#define RTC_REG_A          0x0a
#define RTC_REG_B          0x0b
#define RTC_REG_C          0x0c
#define RTC_REG_D          0x0d
#define RTC_SHUTDOWN       0x0f
#define RTC_CENTURY        0x32
#define RTC_IBM_PS2_CENTURY 0x37   /* alias of 0x32 */

#define RTC_A_UIP   0x80
#define RTC_B_SET   0x80
#define RTC_B_PIE   0x40
#define RTC_B_AIE   0x20
#define RTC_B_UIE   0x10
#define RTC_B_SQWE  0x08
#define RTC_B_DM    0x04   /* 1 = binary, 0 = BCD */
#define RTC_B_24H   0x02
#define RTC_B_DSE   0x01
#define RTC_C_IRQF  0x80
#define RTC_C_PF    0x40
#define RTC_C_AF    0x20
#define RTC_C_UF    0x10
#define RTC_D_VRT   0x80

/* Update-in-progress window before each update: 8 cycles of 32768 Hz. */
#define RTC_UIP_HOLD_NS (8 * NS_PER_SEC / 32768)

struct rtc;

/* Registers 0x70-0x71 on pio. irq8 is kept by pointer (may be NULL).
 * The CMOS memory is filled like QEMU's pc_cmos_init (memory sizes, CPUs,
 * equipment, boot order "cad", checksum). NULL on failure (ports taken). */
struct rtc *rtc_create(struct iomap *pio, struct clock *clk, struct irq *irq8,
                       uint64_t ram_below_4g, uint64_t ram_above_4g, int ncpus);
/* Machine reset: clears PIE/AIE/UIE/SQWE and register C, lowers IRQ 8.
 * Time and CMOS memory (including the shutdown status 0x0f) are kept:
 * the CMOS is battery-backed, and BIOSes rely on 0x0f surviving a reset. */
void rtc_reset(struct rtc *r);
void rtc_free(struct rtc *r);   /* unregisters the ports, stops the timers */
bool rtc_nmi_masked(struct rtc *r);

/* RTC time := host wall time now + seconds (QEMU -rtc base=utc plus offset). */
void rtc_set_host_time_offset(struct rtc *r, int64_t seconds);
/* RTC time := unix_seconds (UTC) now, at the start of that second. */
void rtc_set_time_epoch(struct rtc *r, int64_t unix_seconds);
/* Current RTC time (UTC seconds since 1970) as the clock would show it. */
int64_t rtc_get_time_epoch(struct rtc *r);

/* Side-effect free view of a CMOS byte (time registers brought up to date,
 * UIP computed, register C NOT cleared). -1 indexes return 0xff. */
uint8_t rtc_cmos_read(struct rtc *r, int index);
/* Board/firmware-table write of a CMOS RAM byte (0x0e-0x7f except the
 * century bytes; others are ignored), no device side effects; keeps the
 * 0x2e/0x2f checksum right when 0x10-0x2d change. */
void rtc_cmos_write(struct rtc *r, int index, uint8_t val);
/* QEMU's -boot order letters (a,b floppy; c disk; d cdrom; n network), up
 * to 3. Sets 0x3d and 0x38. Returns 0, or -1 for an invalid string. */
int rtc_set_boot_order(struct rtc *r, const char *order);

#endif
