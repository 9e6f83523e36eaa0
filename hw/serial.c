/* 16550A UART. References: National/TI PC16550D data sheet (register
 * descriptions, section 8), and QEMU's hw/char/serial.c for the behaviour
 * guests have been tested against (read for behaviour, written anew here). */
#include "hw/serial.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Register offsets (data sheet table II). */
enum { REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
       REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };

#define IER_RDI   0x01   /* received data available (and char timeout) */
#define IER_THRI  0x02   /* THR empty */
#define IER_RLSI  0x04   /* receiver line status */
#define IER_MSI   0x08   /* modem status */

#define IIR_NO_INT 0x01
#define IIR_ID     0x0e
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0c
#define IIR_FIFO   0xc0

#define FCR_FE     0x01
#define FCR_RFR    0x02
#define FCR_XFR    0x04
#define FCR_STICKY 0xc9  /* FE, DMA mode, trigger level: the bits that stay */

#define LCR_DLAB   0x80

#define MCR_DTR    0x01
#define MCR_RTS    0x02
#define MCR_OUT1   0x04
#define MCR_OUT2   0x08
#define MCR_LOOP   0x10

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_PE     0x04
#define LSR_FE     0x08
#define LSR_BI     0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_INT_ANY 0x1e /* the error bits that raise the line status interrupt */

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80
#define MSR_DELTA  0x0f

#define FIFO_LEN   16
/* The PC's UART clock is 1.8432 MHz; the divisor counts 16x samples. */
#define BAUD_BASE  115200

struct fifo {
    uint8_t buf[FIFO_LEN];
    unsigned head, num;
};

struct serial {
    struct iomap *pio;
    uint16_t base;
    struct irq *irq;
    struct chardev *chr;
    struct clock *clk;
    struct timer fifo_timeout;

    uint16_t divider;
    uint8_t rbr, thr, tsr;
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    bool thr_ipending;      /* THRE interrupt condition (see update_irq) */
    bool timeout_ipending;  /* character timeout indication */
    unsigned rx_itl;        /* receive FIFO trigger level in bytes */
    uint64_t char_ns;       /* one frame (start+data+parity+stop) on the wire */
    int irq_level;          /* last level driven, -1 unknown */
    bool rx_refused;        /* can_receive() last answered 0 */
    struct fifo rx, tx;
};

static void fifo_reset(struct fifo *f) { f->head = f->num = 0; }

static int rx_room(const struct serial *s)
{
    /* In loopback the receiver is cut from the line: hold host input back
     * (it is not lost; the backend retries later). */
    if (s->mcr & MCR_LOOP)
        return 0;
    if (s->fcr & FCR_FE)
        return FIFO_LEN - (int)s->rx.num;
    return (s->lsr & LSR_DR) ? 0 : 1;
}

/* Room appeared after the backend was told there was none: tell it (QEMU's
 * qemu_chr_fe_accept_input), so typed input does not wait for a re-poll. */
static void check_accept_input(struct serial *s)
{
    if (s->rx_refused && rx_room(s) > 0) {
        s->rx_refused = false;
        chardev_accept_input(s->chr);
    }
}

static bool fifo_push(struct fifo *f, uint8_t v)
{
    if (f->num >= FIFO_LEN)
        return false;
    f->buf[(f->head + f->num) % FIFO_LEN] = v;
    f->num++;
    return true;
}

static uint8_t fifo_pop(struct fifo *f)
{
    if (f->num == 0)
        return 0;
    uint8_t v = f->buf[f->head];
    f->head = (f->head + 1) % FIFO_LEN;
    f->num--;
    return v;
}

static void set_irq(struct serial *s, int level)
{
    if (s->irq_level == level)
        return;
    s->irq_level = level;
    irq_set(s->irq, level);
}

/* IIR priority (data sheet table IV): line status > received data /
 * character timeout > THR empty > modem status. Like QEMU, the timeout
 * indication is masked by IER.RDI, and with FIFOs the data interrupt waits
 * for the trigger level. The line is not gated by MCR.OUT2 (QEMU does not
 * gate it either; on real PCs OUT2 enables the ISA IRQ driver). */
static void update_irq(struct serial *s)
{
    uint8_t id = IIR_NO_INT;

    if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
        id = IIR_RLSI;
    else if ((s->ier & IER_RDI) && s->timeout_ipending)
        id = IIR_CTI;
    else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) &&
             (!(s->fcr & FCR_FE) || s->rx.num >= s->rx_itl))
        id = IIR_RDI;
    else if ((s->ier & IER_THRI) && s->thr_ipending)
        id = IIR_THRI;
    else if ((s->ier & IER_MSI) && (s->msr & MSR_DELTA))
        id = IIR_MSI;

    s->iir = (uint8_t)(id | (s->iir & 0xf0));
    set_irq(s, id != IIR_NO_INT);
}

static void update_parameters(struct serial *s)
{
    /* A zero divisor stops the baud generator; keep the last timing. */
    if (s->divider == 0)
        return;
    unsigned frame = 1 + 5 + (s->lcr & 0x03);   /* start + data bits */
    if (s->lcr & 0x08)
        frame++;                                 /* parity */
    frame += (s->lcr & 0x04) ? 2 : 1;            /* stop bits (1.5 counted as 2) */
    /* frame bits / (BAUD_BASE / divider) seconds */
    s->char_ns = muldiv64((uint64_t)frame * NS_PER_SEC, s->divider, BAUD_BASE);
}

static void arm_timeout(struct serial *s)
{
    if (s->clk)
        timer_mod(&s->fifo_timeout, clock_ns(s->clk) + 4 * s->char_ns);
}

/* Data sheet: the timeout fires when the RX FIFO holds at least one byte and
 * nothing was received or read for four character times. */
static void fifo_timeout_cb(void *opaque)
{
    struct serial *s = opaque;
    if (s->rx.num) {
        s->timeout_ipending = true;
        update_irq(s);
    }
}

static void receive_bytes(struct serial *s, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return;
    if (s->fcr & FCR_FE) {
        for (size_t i = 0; i < len; i++) {
            /* An overrun does not overwrite the FIFO: the new byte is lost. */
            if (!fifo_push(&s->rx, buf[i]))
                s->lsr |= LSR_OE;
        }
        s->lsr |= LSR_DR;
        arm_timeout(s);
    } else {
        for (size_t i = 0; i < len; i++) {
            if (s->lsr & LSR_DR)
                s->lsr |= LSR_OE;
            s->rbr = buf[i];
            s->lsr |= LSR_DR;
        }
    }
    update_irq(s);
}

/* Transmission is immediate (no baud-rate delay), as in QEMU when the
 * backend takes the byte: THR/FIFO -> TSR -> wire, then THRE and TEMT. */
static void xmit(struct serial *s)
{
    for (;;) {
        if (s->fcr & FCR_FE) {
            if (s->tx.num == 0)
                break;
            s->tsr = fifo_pop(&s->tx);
            if (s->tx.num == 0)
                s->lsr |= LSR_THRE;
        } else {
            if (s->lsr & LSR_THRE)
                break;
            s->tsr = s->thr;
            s->lsr |= LSR_THRE;
        }
        if ((s->lsr & LSR_THRE) && !s->thr_ipending) {
            s->thr_ipending = true;
            update_irq(s);
        }
        if (s->mcr & MCR_LOOP)
            receive_bytes(s, &s->tsr, 1);   /* loopback: TX wired to RX */
        else
            chardev_write(s->chr, &s->tsr, 1);
    }
    s->lsr |= LSR_TEMT;
}

static void write_fcr(struct serial *s, uint8_t val)
{
    /* Changing the enable bit empties both FIFOs (data sheet, FCR bit 0). */
    if ((val ^ s->fcr) & FCR_FE)
        val |= FCR_XFR | FCR_RFR;
    if (val & FCR_RFR) {
        s->lsr &= (uint8_t)~(LSR_DR | LSR_BI);
        timer_del(&s->fifo_timeout);
        s->timeout_ipending = false;
        fifo_reset(&s->rx);
    }
    if (val & FCR_XFR) {
        s->lsr |= LSR_THRE;
        s->thr_ipending = true;
        fifo_reset(&s->tx);
    }
    s->fcr = val & FCR_STICKY;
    if (s->fcr & FCR_FE) {
        s->iir |= IIR_FIFO;
        static const unsigned itl[4] = { 1, 4, 8, 14 };
        s->rx_itl = itl[s->fcr >> 6];
    } else {
        s->iir &= (uint8_t)~IIR_FIFO;
    }
    update_irq(s);
    check_accept_input(s);
}

static void write_reg(struct serial *s, unsigned reg, uint8_t val)
{
    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            s->divider = (uint16_t)((s->divider & 0xff00) | val);
            update_parameters(s);
            break;
        }
        s->thr = val;
        if (s->fcr & FCR_FE) {
            /* A full TX FIFO drops its oldest byte (cannot happen while we
             * transmit at once, but the guest is not trusted). */
            if (s->tx.num >= FIFO_LEN)
                fifo_pop(&s->tx);
            fifo_push(&s->tx, val);
        }
        /* Writing THR clears the THRE interrupt; the transmit then empties
         * THR again and re-raises it: the guest sees an edge per byte. */
        s->thr_ipending = false;
        s->lsr &= (uint8_t)~(LSR_THRE | LSR_TEMT);
        update_irq(s);
        xmit(s);
        break;
    case REG_IER: {
        if (s->lcr & LCR_DLAB) {
            s->divider = (uint16_t)((s->divider & 0x00ff) | (val << 8));
            update_parameters(s);
            break;
        }
        uint8_t changed = (s->ier ^ val) & 0x0f;
        s->ier = val & 0x0f;
        /* Enabling ETBEI while THR is empty raises the THRE interrupt even
         * if an IIR read had cleared it (not in the data sheet, but real
         * parts and QEMU do it; Linux's UART_BUG_THRE probe toggles IER and
         * expects IIR to show THRI again, Windows relies on it too). Only
         * the rising edge of IER.THRI resamples, as in QEMU and Bochs. */
        if (changed & IER_THRI)
            s->thr_ipending = (s->ier & IER_THRI) && (s->lsr & LSR_THRE);
        if (changed)
            update_irq(s);
        break;
    }
    case REG_IIR_FCR:
        write_fcr(s, val);
        break;
    case REG_LCR:
        /* LCR bit 6 (set break) would drive the line low; no backend
         * models a line, so it is stored only. */
        s->lcr = val;
        update_parameters(s);
        break;
    case REG_MCR:
        s->mcr = val & 0x1f;
        check_accept_input(s);     /* leaving loopback reconnects the line */
        break;
    case REG_LSR:
    case REG_MSR:
        /* Read-only here (the data sheet's factory-test writes are not
         * modelled, as in QEMU). */
        break;
    case REG_SCR:
        s->scr = val;
        break;
    }
}

static uint8_t read_reg(struct serial *s, unsigned reg)
{
    uint8_t ret = 0;

    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            return (uint8_t)s->divider;
        if (s->fcr & FCR_FE) {
            ret = fifo_pop(&s->rx);
            if (s->rx.num == 0)
                s->lsr &= (uint8_t)~(LSR_DR | LSR_BI);
            else
                arm_timeout(s);   /* a read restarts the 4-character wait */
            s->timeout_ipending = false;
        } else {
            ret = s->rbr;
            s->lsr &= (uint8_t)~(LSR_DR | LSR_BI);
        }
        update_irq(s);
        check_accept_input(s);
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB)
            return (uint8_t)(s->divider >> 8);
        return s->ier;
    case REG_IIR_FCR:
        ret = s->iir;
        /* Reading IIR when THRE is the reported source clears it
         * (data sheet table IV, "reset control"). */
        if ((ret & IIR_ID) == IIR_THRI) {
            s->thr_ipending = false;
            update_irq(s);
        }
        break;
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        ret = s->lsr;
        /* Overrun and break indications clear on read; parity/framing are
         * never set (no line errors are modelled). */
        if (s->lsr & (LSR_BI | LSR_OE)) {
            s->lsr &= (uint8_t)~(LSR_BI | LSR_OE);
            update_irq(s);
        }
        break;
    case REG_MSR:
        if (s->mcr & MCR_LOOP) {
            /* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
            ret = (uint8_t)(((s->mcr & (MCR_OUT1 | MCR_OUT2)) << 4) |
                            ((s->mcr & MCR_RTS) << 3) |
                            ((s->mcr & MCR_DTR) << 5));
        } else {
            ret = s->msr;
            if (s->msr & MSR_DELTA) {
                s->msr &= 0xf0;
                update_irq(s);
            }
        }
        break;
    case REG_SCR:
        return s->scr;
    }
    return ret;
}

/* The UART is a byte device: a wider access is split into byte accesses at
 * consecutive registers, as QEMU does (min = max access size 1). Bytes past
 * the 8 registers read as all-ones and ignore writes. */
static uint64_t serial_io_read(void *opaque, uint64_t addr, unsigned size)
{
    struct serial *s = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        uint8_t b = a < 8 ? read_reg(s, (unsigned)a) : 0xff;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void serial_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct serial *s = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t a = addr + i;
        if (a < 8)
            write_reg(s, (unsigned)a, (uint8_t)(val >> (8 * i)));
    }
}

static int serial_can_receive(void *opaque)
{
    struct serial *s = opaque;
    int room = rx_room(s);
    if (room == 0)
        s->rx_refused = true;
    return room;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct serial *s = opaque;
    if (s->mcr & MCR_LOOP)
        return;
    receive_bytes(s, buf, len);
}

void serial_receive_break(struct serial *s)
{
    /* A break reads as a NUL character with LSR.BI (data sheet, LSR bit 4:
     * "only one zero character is loaded into the FIFO"). */
    if (s->fcr & FCR_FE) {
        if (!fifo_push(&s->rx, 0))
            s->lsr |= LSR_OE;
        arm_timeout(s);
    } else {
        if (s->lsr & LSR_DR)
            s->lsr |= LSR_OE;
        s->rbr = 0;
    }
    s->lsr |= LSR_BI | LSR_DR;
    update_irq(s);
}

static void serial_break_cb(void *opaque)
{
    serial_receive_break(opaque);
}

void serial_set_modem_inputs(struct serial *s, uint8_t msr_high)
{
    uint8_t old = s->msr;
    uint8_t now = (uint8_t)((old & 0x0f) | (msr_high & 0xf0));
    uint8_t diff = (uint8_t)((old ^ now) >> 4);
    /* TERI is set only on the trailing edge of RI (1 -> 0). */
    if (!((old & MSR_RI) && !(now & MSR_RI)))
        diff &= (uint8_t)~MSR_TERI;
    s->msr = (uint8_t)(now | diff);
    if (diff)
        update_irq(s);
}

void serial_reset(struct serial *s)
{
    timer_del(&s->fifo_timeout);
    s->rbr = s->thr = s->tsr = 0;
    s->ier = 0;
    s->iir = IIR_NO_INT;
    s->lcr = 0;
    s->lsr = LSR_TEMT | LSR_THRE;
    s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
    s->divider = 12;            /* 9600 baud, 8N1, as QEMU */
    s->mcr = MCR_OUT2;          /* QEMU's reset value (the data sheet says 0) */
    s->scr = 0;
    s->fcr = 0;                 /* data sheet: FIFOs off after reset */
    s->rx_itl = 1;
    s->thr_ipending = false;
    s->timeout_ipending = false;
    fifo_reset(&s->rx);
    fifo_reset(&s->tx);
    /* QEMU times the first frames as 8N1 although LCR = 0 means 5N1; the
     * next LCR or divisor write recomputes it. */
    s->char_ns = muldiv64(10 * NS_PER_SEC, s->divider, BAUD_BASE);
    s->irq_level = -1;
    set_irq(s, 0);
    check_accept_input(s);
}

static const char *port_name(uint16_t base)
{
    switch (base) {
    case SERIAL_COM1_BASE: return "com1";
    case SERIAL_COM2_BASE: return "com2";
    case SERIAL_COM3_BASE: return "com3";
    case SERIAL_COM4_BASE: return "com4";
    default: return "serial";
    }
}

struct serial *serial_create(struct iomap *pio, uint16_t base, struct irq *irq,
                             struct chardev *chr, struct clock *clk)
{
    struct serial *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->pio = pio;
    s->base = base;
    s->irq = irq;
    s->chr = chr;
    s->clk = clk;
    if (clk)
        timer_init(&s->fifo_timeout, clk, fifo_timeout_cb, s);
    else
        memset(&s->fifo_timeout, 0, sizeof(s->fifo_timeout));
    serial_reset(s);
    if (pio && iomap_register(pio, base, 8, serial_io_read, serial_io_write, s,
                              port_name(base)) < 0) {
        free(s);
        return NULL;
    }
    if (chr) {
        chardev_set_frontend(chr, serial_can_receive, serial_receive, s);
        chr->fe_break = serial_break_cb;
    }
    return s;
}

void serial_free(struct serial *s)
{
    if (!s)
        return;
    timer_del(&s->fifo_timeout);
    if (s->pio)
        iomap_unregister(s->pio, s->base);
    if (s->chr && s->chr->fe_opaque == s) {
        chardev_set_frontend(s->chr, NULL, NULL, NULL);
        s->chr->fe_break = NULL;
    }
    free(s);
}
