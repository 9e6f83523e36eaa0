/* 16550A UART: every register through the port map, a manual clock, a
 * capturing chardev and an IRQ probe. */
#include "test.h"
#include "hw/serial.h"
#include "hw/iomap.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "hw/chardev.h"
#include <string.h>

#define B 0x3f8
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
       LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct cap_chr {
    struct chardev chr;
    uint8_t out[4096];
    size_t n;
};

struct fx {
    struct iomap pio;
    struct clock clk;
    struct irq irq;
    int level, rises, falls;
    struct cap_chr cc;
    struct serial *s;
};

static void cap_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct cap_chr *c = (struct cap_chr *)chr;
    for (size_t i = 0; i < len && c->n < sizeof(c->out); i++)
        c->out[c->n++] = buf[i];
}

static void probe(void *opaque, int n, int level)
{
    struct fx *f = opaque;
    (void)n;
    if (level && !f->level)
        f->rises++;
    if (!level && f->level)
        f->falls++;
    f->level = level;
}

static struct fx *fx_new(void)
{
    static struct fx f;
    memset(&f, 0, sizeof(f));
    iomap_init(&f.pio, "pio", NULL);
    clock_init(&f.clk, true);
    irq_init(&f.irq, probe, &f, 4);
    f.cc.chr.write = cap_write;
    f.cc.chr.in_fd = -1;
    f.s = serial_create(&f.pio, B, &f.irq, &f.cc.chr, &f.clk);
    return &f;
}

static void fx_free(struct fx *f)
{
    serial_free(f->s);
    iomap_destroy(&f->pio);
}

static uint8_t in(struct fx *f, int reg) { return (uint8_t)iomap_read(&f->pio, B + reg, 1); }
static void out(struct fx *f, int reg, uint8_t v) { iomap_write(&f->pio, B + reg, v, 1); }
static size_t feed(struct fx *f, const char *s) { return chardev_feed(&f->cc.chr, (const uint8_t *)s, strlen(s)); }

/* One frame's duration, computed independently of the model. */
static uint64_t char_ns(unsigned bits, unsigned divisor)
{
    return (uint64_t)bits * divisor * 1000000000ULL / 115200;
}

TEST(serial_reset_values)
{
    struct fx *f = fx_new();
    CHECK(f->s != NULL);
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(in(f, IER), 0x00);
    CHECK_EQ(in(f, LCR), 0x00);
    CHECK_EQ(in(f, MCR), 0x08);     /* QEMU: OUT2 after reset */
    CHECK_EQ(in(f, MSR), 0xb0);     /* DCD, DSR, CTS */
    CHECK_EQ(in(f, SCR), 0x00);
    CHECK_EQ(f->level, 0);
    out(f, LCR, 0x80);
    CHECK_EQ(in(f, DLL), 12);       /* 9600 baud */
    CHECK_EQ(in(f, DLM), 0);
    /* Dirty everything, then reset. */
    out(f, DLL, 1);
    out(f, LCR, 0x03);
    out(f, FCR, 0x07);
    out(f, IER, 0x0f);
    out(f, SCR, 0x5a);
    out(f, MCR, 0x1f);
    CHECK_EQ(f->level, 1);
    serial_reset(f->s);
    CHECK_EQ(f->level, 0);
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(in(f, IER), 0);
    CHECK_EQ(in(f, SCR), 0);
    CHECK_EQ(in(f, MCR), 0x08);
    out(f, LCR, 0x80);
    CHECK_EQ(in(f, DLL), 12);
    fx_free(f);
}

TEST(serial_divisor_latch_and_lcr)
{
    struct fx *f = fx_new();
    out(f, LCR, 0x83);              /* DLAB, 8N1 */
    CHECK_EQ(in(f, LCR), 0x83);
    out(f, DLL, 0x01);
    out(f, DLM, 0x02);
    CHECK_EQ(in(f, DLL), 0x01);
    CHECK_EQ(in(f, DLM), 0x02);
    CHECK_EQ(in(f, IER), 0x02);     /* DLAB: offset 1 is DLM */
    CHECK_EQ(f->cc.n, 0);           /* DLL write did not transmit */
    out(f, LCR, 0x03);
    CHECK_EQ(in(f, IER), 0x00);     /* the real IER was untouched */
    out(f, IER, 0xff);
    CHECK_EQ(in(f, IER), 0x0f);     /* upper bits do not exist */
    out(f, LCR, 0x80);
    CHECK_EQ(in(f, DLM), 0x02);
    CHECK_EQ(in(f, DLL), 0x01);
    out(f, LCR, 0x03);
    out(f, THR, 'A');
    CHECK_EQ(f->cc.n, 1);
    CHECK_EQ(f->cc.out[0], 'A');
    fx_free(f);
}

TEST(serial_transmit_and_lsr)
{
    struct fx *f = fx_new();
    const char *msg = "hello\r\n";
    for (const char *p = msg; *p; p++) {
        CHECK(in(f, LSR) & 0x20);
        out(f, THR, (uint8_t)*p);
    }
    CHECK_EQ(f->cc.n, strlen(msg));
    CHECK(!memcmp(f->cc.out, msg, strlen(msg)));
    CHECK_EQ(in(f, LSR), 0x60);     /* THRE and TEMT: sent at once */
    /* Same with FIFOs on. */
    out(f, FCR, 0x07);
    out(f, THR, 'x');
    CHECK_EQ(f->cc.n, strlen(msg) + 1);
    CHECK_EQ(in(f, LSR), 0x60);
    fx_free(f);
}

TEST(serial_scratch)
{
    struct fx *f = fx_new();
    for (unsigned v = 0; v < 256; v += 51) {
        out(f, SCR, (uint8_t)v);
        CHECK_EQ(in(f, SCR), v);
    }
    fx_free(f);
}

TEST(serial_thre_interrupt)
{
    struct fx *f = fx_new();
    out(f, IER, 0x02);              /* enabling ETBEI with THR empty raises it */
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, IIR), 0x02);
    CHECK_EQ(f->level, 0);          /* reading IIR with THRI as source clears it */
    CHECK_EQ(in(f, IIR), 0x01);
    /* Each THR write: the line drops, and rises again once sent. */
    int rises = f->rises;
    out(f, THR, 'a');
    CHECK_EQ(f->level, 1);
    CHECK_EQ(f->rises, rises + 1);
    out(f, THR, 'b');
    CHECK_EQ(f->rises, rises + 2);
    CHECK_EQ(in(f, IIR), 0x02);
    /* Writing THR also clears a pending THRI before it is re-raised. */
    out(f, IER, 0x00);
    CHECK_EQ(f->level, 0);
    CHECK_EQ(in(f, IIR), 0x01);
    out(f, THR, 'c');               /* THRI disabled: no interrupt */
    CHECK_EQ(f->level, 0);
    /* Rewriting the same IER value does not resample THRE. */
    out(f, IER, 0x02);
    CHECK_EQ(in(f, IIR), 0x02);
    out(f, IER, 0x02);
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(f->level, 0);
    fx_free(f);
}

/* Linux 8250 serial8250_do_startup: the UART_BUG_THRE probe. A UART that does
 * not re-assert THRI on IER 0 -> THRI gets the bug flag (and a timer-driven
 * transmit). Ours must look like a real 16550A. */
TEST(serial_linux_bug_thre_probe)
{
    struct fx *f = fx_new();
    out(f, IER, 0x02);
    uint8_t iir1 = in(f, IIR);
    out(f, IER, 0x00);
    out(f, IER, 0x02);
    uint8_t iir = in(f, IIR);
    out(f, IER, 0x00);
    CHECK_EQ(iir1 & 0x01, 0);
    CHECK_EQ(iir & 0x01, 0);
    CHECK_EQ(iir & 0x0e, 0x02);
    CHECK(in(f, LSR) & 0x40);
    fx_free(f);
}

TEST(serial_loopback)
{
    struct fx *f = fx_new();
    out(f, MCR, 0x10);
    CHECK_EQ(in(f, MSR), 0x00);     /* inputs follow the (clear) outputs */
    out(f, MCR, 0x11);
    CHECK_EQ(in(f, MSR), 0x20);     /* DTR -> DSR */
    out(f, MCR, 0x12);
    CHECK_EQ(in(f, MSR), 0x10);     /* RTS -> CTS */
    out(f, MCR, 0x14);
    CHECK_EQ(in(f, MSR), 0x40);     /* OUT1 -> RI */
    out(f, MCR, 0x18);
    CHECK_EQ(in(f, MSR), 0x80);     /* OUT2 -> DCD */
    out(f, MCR, 0x1f);
    CHECK_EQ(in(f, MSR), 0xf0);
    CHECK_EQ(in(f, MCR), 0x1f);
    out(f, IER, 0x01);
    out(f, THR, 0x5a);
    CHECK_EQ(f->cc.n, 0);           /* nothing on the wire */
    CHECK_EQ(in(f, LSR), 0x61);
    CHECK_EQ(in(f, IIR), 0x04);
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, RBR), 0x5a);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(f->level, 0);
    /* Host input is held back in loopback (not lost), and taken after. */
    CHECK_EQ(feed(f, "z"), 0);
    out(f, FCR, 0x01);
    for (int i = 0; i < 5; i++)
        out(f, THR, (uint8_t)('0' + i));
    for (int i = 0; i < 5; i++)
        CHECK_EQ(in(f, RBR), '0' + i);
    CHECK_EQ(in(f, LSR) & 1, 0);
    out(f, MCR, 0x0b);
    CHECK_EQ(in(f, MSR) & 0xf0, 0xb0);
    CHECK_EQ(feed(f, "z"), 1);
    CHECK_EQ(in(f, RBR), 'z');
    out(f, THR, 'q');
    CHECK_EQ(f->cc.n, 1);
    fx_free(f);
}

TEST(serial_receive_no_fifo_and_overrun)
{
    struct fx *f = fx_new();
    CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 1);
    out(f, IER, 0x01);
    CHECK_EQ(feed(f, "ab"), 1);     /* one byte of room without FIFO */
    CHECK_EQ(in(f, LSR), 0x61);
    CHECK_EQ(in(f, IIR), 0x04);
    CHECK_EQ(f->level, 1);
    CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 0);
    /* A second byte before the read: overrun, the new byte replaces RBR. */
    f->cc.chr.receive(f->cc.chr.fe_opaque, (const uint8_t *)"b", 1);
    out(f, IER, 0x05);
    CHECK_EQ(in(f, IIR), 0x06);     /* line status outranks data */
    CHECK_EQ(in(f, LSR), 0x63);     /* OE reported once ... */
    CHECK_EQ(in(f, LSR), 0x61);     /* ... and cleared by the read */
    CHECK_EQ(in(f, IIR), 0x04);
    CHECK_EQ(in(f, RBR), 'b');
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(f->level, 0);
    CHECK_EQ(in(f, LSR), 0x60);
    fx_free(f);
}

TEST(serial_fifo_trigger_levels)
{
    static const struct { uint8_t fcr; unsigned level; } t[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };
    struct fx *f = fx_new();
    out(f, IER, 0x01);
    for (unsigned k = 0; k < 4; k++) {
        out(f, FCR, t[k].fcr | 0x02);
        CHECK_EQ(in(f, IIR), 0xc1);
        CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 16);
        for (unsigned i = 0; i + 1 < t[k].level; i++)
            CHECK_EQ(feed(f, "x"), 1);
        CHECK_EQ(in(f, IIR), 0xc1);
        CHECK_EQ(f->level, 0);
        CHECK_EQ(feed(f, "y"), 1);
        CHECK_EQ(in(f, IIR), 0xc4);
        CHECK_EQ(f->level, 1);
        CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 16 - (int)t[k].level);
        in(f, RBR);                  /* below the level again */
        CHECK_EQ(in(f, IIR), 0xc1);
        CHECK_EQ(f->level, 0);
    }
    fx_free(f);
}

TEST(serial_fifo_overrun_keeps_contents)
{
    struct fx *f = fx_new();
    out(f, FCR, 0x01);
    char buf[20];
    for (int i = 0; i < 20; i++)
        buf[i] = (char)('A' + i);
    CHECK_EQ(chardev_feed(&f->cc.chr, (const uint8_t *)buf, 20), 16);
    CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 0);
    CHECK_EQ(in(f, LSR), 0x61);      /* full, no overrun yet */
    f->cc.chr.receive(f->cc.chr.fe_opaque, (const uint8_t *)"!", 1);
    CHECK_EQ(in(f, LSR), 0x63);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(in(f, RBR), 'A' + i);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(in(f, RBR), 0);         /* empty FIFO reads 0 */
    fx_free(f);
}

TEST(serial_fcr_resets_and_enable)
{
    struct fx *f = fx_new();
    out(f, FCR, 0x01);
    CHECK_EQ(in(f, IIR), 0xc1);
    feed(f, "abc");
    CHECK_EQ(in(f, LSR) & 1, 1);
    out(f, FCR, 0x03);               /* RX FIFO reset */
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(in(f, IIR), 0xc1);      /* reset bits do not stick */
    feed(f, "abc");
    out(f, FCR, 0x00);               /* disabling empties the FIFOs */
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(f->cc.chr.can_receive(f->cc.chr.fe_opaque), 1);
    feed(f, "d");
    out(f, FCR, 0x01);               /* enabling empties too */
    CHECK_EQ(in(f, LSR), 0x60);
    /* TX FIFO reset with THRI enabled re-raises THRE. */
    out(f, IER, 0x02);
    CHECK_EQ(in(f, IIR), 0xc2);
    CHECK_EQ(in(f, IIR), 0xc1);
    out(f, FCR, 0x05);
    CHECK_EQ(in(f, IIR), 0xc2);
    fx_free(f);
}

TEST(serial_char_timeout)
{
    struct fx *f = fx_new();
    out(f, FCR, 0xc1);               /* trigger at 14 */
    out(f, IER, 0x01);
    CHECK_EQ(feed(f, "abc"), 3);
    CHECK_EQ(in(f, IIR), 0xc1);
    uint64_t ct = char_ns(10, 12);   /* 8N1 at 9600 */
    clock_advance(&f->clk, 4 * ct - 1000);
    CHECK_EQ(in(f, IIR), 0xc1);
    CHECK_EQ(f->level, 0);
    clock_advance(&f->clk, 1000);
    CHECK_EQ(in(f, IIR), 0xcc);
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, RBR), 'a');       /* a read clears it and restarts the wait */
    CHECK_EQ(in(f, IIR), 0xc1);
    CHECK_EQ(f->level, 0);
    clock_advance(&f->clk, 4 * ct);
    CHECK_EQ(in(f, IIR), 0xcc);
    in(f, RBR);
    in(f, RBR);
    clock_advance(&f->clk, 100 * ct); /* empty: no timeout */
    CHECK_EQ(in(f, IIR), 0xc1);
    /* A new byte restarts the wait too; IER.RDI masks the indication. */
    feed(f, "d");
    clock_advance(&f->clk, 2 * ct);
    feed(f, "e");
    clock_advance(&f->clk, 2 * ct + ct / 2);
    CHECK_EQ(in(f, IIR), 0xc1);
    clock_advance(&f->clk, 2 * ct);
    CHECK_EQ(in(f, IIR), 0xcc);
    out(f, IER, 0x00);
    CHECK_EQ(in(f, IIR), 0xc1);
    CHECK_EQ(f->level, 0);
    fx_free(f);
}

TEST(serial_timeout_follows_divisor_and_lcr)
{
    struct fx *f = fx_new();
    out(f, LCR, 0x80);
    out(f, DLL, 1);                  /* 115200 baud */
    out(f, DLM, 0);
    out(f, LCR, 0x0f);               /* 8 data, parity, 2 stop: 12-bit frames */
    out(f, FCR, 0xc1);
    out(f, IER, 0x01);
    feed(f, "a");
    uint64_t ct = char_ns(12, 1);
    clock_advance(&f->clk, 4 * ct - 100);
    CHECK_EQ(in(f, IIR), 0xc1);
    clock_advance(&f->clk, 100);
    CHECK_EQ(in(f, IIR), 0xcc);
    /* 5 data bits, 1 stop, divisor 0x180 (300 baud). */
    in(f, RBR);
    out(f, LCR, 0x80);
    out(f, DLL, 0x80);
    out(f, DLM, 0x01);
    out(f, LCR, 0x00);
    feed(f, "b");
    ct = char_ns(7, 0x180);
    clock_advance(&f->clk, 4 * ct - 100);
    CHECK_EQ(in(f, IIR), 0xc1);
    clock_advance(&f->clk, 100);
    CHECK_EQ(in(f, IIR), 0xcc);
    fx_free(f);
}

TEST(serial_iir_priority)
{
    struct fx *f = fx_new();
    out(f, FCR, 0x01);
    out(f, IER, 0x0f);               /* THRI pending at once */
    CHECK_EQ(in(f, IIR), 0xc2);      /* read clears THRI */
    out(f, IER, 0x0d);
    out(f, IER, 0x0f);               /* THRI pending again */
    serial_set_modem_inputs(f->s, 0x30);   /* DCD drops: DDCD */
    char buf[17];
    memset(buf, 'r', sizeof(buf));
    chardev_feed(&f->cc.chr, (const uint8_t *)buf, 16);
    f->cc.chr.receive(f->cc.chr.fe_opaque, (const uint8_t *)"o", 1); /* overrun */
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, IIR), 0xc6);      /* line status first */
    CHECK_EQ(in(f, LSR), 0x63);
    CHECK_EQ(in(f, IIR), 0xc4);      /* then received data */
    clock_advance(&f->clk, NS_PER_SEC);
    CHECK_EQ(in(f, IIR), 0xcc);      /* the timeout takes the same rank */
    for (int i = 0; i < 16; i++)
        in(f, RBR);
    CHECK_EQ(in(f, IIR), 0xc2);      /* then THR empty (cleared by this read) */
    CHECK_EQ(in(f, IIR), 0xc0);      /* then modem status */
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, MSR), 0x38);      /* DSR|CTS and delta DCD */
    CHECK_EQ(in(f, IIR), 0xc1);
    CHECK_EQ(f->level, 0);
    fx_free(f);
}

TEST(serial_modem_status_deltas)
{
    struct fx *f = fx_new();
    out(f, IER, 0x08);
    CHECK_EQ(f->level, 0);
    serial_set_modem_inputs(f->s, 0xf0);   /* RI rises: no TERI */
    CHECK_EQ(in(f, MSR), 0xf0);
    CHECK_EQ(f->level, 0);
    serial_set_modem_inputs(f->s, 0xb0);   /* RI falls: TERI */
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, IIR), 0x00);
    CHECK_EQ(in(f, MSR), 0xb4);
    CHECK_EQ(in(f, MSR), 0xb0);
    CHECK_EQ(f->level, 0);
    serial_set_modem_inputs(f->s, 0x00);   /* DCD, DSR, CTS drop */
    CHECK_EQ(in(f, MSR), 0x0b);
    serial_set_modem_inputs(f->s, 0x00);   /* no change: no delta */
    CHECK_EQ(in(f, MSR), 0x00);
    CHECK_EQ(in(f, IIR), 0x01);
    fx_free(f);
}

TEST(serial_break)
{
    struct fx *f = fx_new();
    out(f, IER, 0x05);
    CHECK(f->cc.chr.fe_break != NULL);
    f->cc.chr.fe_break(f->cc.chr.fe_opaque);
    CHECK_EQ(f->level, 1);
    CHECK_EQ(in(f, IIR), 0x06);
    CHECK_EQ(in(f, LSR), 0x71);      /* BI with the NUL byte */
    CHECK_EQ(in(f, IIR), 0x04);
    CHECK_EQ(in(f, RBR), 0x00);
    CHECK_EQ(in(f, LSR), 0x60);
    out(f, FCR, 0x01);
    serial_receive_break(f->s);
    CHECK_EQ(in(f, LSR), 0x71);
    CHECK_EQ(in(f, RBR), 0x00);
    CHECK_EQ(in(f, LSR), 0x60);
    fx_free(f);
}

TEST(serial_wide_access_and_free)
{
    struct fx *f = fx_new();
    out(f, SCR, 0xa5);
    out(f, LCR, 0x03);
    /* A 16-bit read at offset 6 returns MSR | SCR << 8; at 2, IIR | LCR << 8. */
    CHECK_EQ(iomap_read(&f->pio, B + 6, 2), 0xa5b0);
    CHECK_EQ(iomap_read(&f->pio, B + 2, 2), 0x0301);
    /* A 16-bit write to LCR/MCR sets both. */
    iomap_write(&f->pio, B + 3, 0x0b03, 2);
    CHECK_EQ(in(f, MCR), 0x0b);
    CHECK_EQ(in(f, LCR), 0x03);
    /* A dword at offset 6 runs off the end: the missing bytes read as ones. */
    CHECK_EQ(iomap_read(&f->pio, B + 6, 4), 0xffffa5b0u);
    serial_free(f->s);
    f->s = NULL;
    CHECK_EQ(iomap_read(&f->pio, B + 5, 1), 0xff);   /* unregistered */
    CHECK(f->cc.chr.receive == NULL);
    CHECK_EQ(chardev_feed(&f->cc.chr, (const uint8_t *)"x", 1), 0);
    iomap_destroy(&f->pio);
}

TEST(serial_create_rejects_taken_range)
{
    struct fx *f = fx_new();
    struct chardev other = { .in_fd = -1 };
    CHECK(serial_create(&f->pio, B + 4, NULL, &other, &f->clk) == NULL);
    CHECK(other.receive == NULL);    /* no frontend left behind */
    struct serial *s2 = serial_create(&f->pio, 0x2f8, NULL, NULL, &f->clk);
    CHECK(s2 != NULL);
    CHECK_EQ(iomap_read(&f->pio, 0x2f8 + 5, 1), 0x60);
    iomap_write(&f->pio, 0x2f8, 'x', 1);   /* no chardev: discarded */
    serial_free(s2);
    fx_free(f);
}

/* Differential check against QEMU 7.2 (Debian's qemu-system-x86_64, the
 * reference). A tiny firmware (-bios, so no BIOS touched the UART first)
 * interpreted the op list below on QEMU's COM1 (-serial null) and wrote
 * every value read to port 0xe9 (-debugcon); the bytes it produced are
 * qemu_out[]. Here the same list runs on our model.
 * Ops, 3 bytes each: 1 reg val = write; 2 reg 0 = read; 3 reg val = read
 * until it equals val (time passes: on QEMU a busy loop, here 10 us clock
 * steps, at most 1 s); 4 reg 0 = 16-bit read (low byte first); 0 = end.
 * The list covers power-on values, divisor latch, THRE interrupt on/off
 * sequences, loopback MSR mapping, non-FIFO overrun, FIFO trigger levels
 * 4/8/14, the character timeout, FIFO overrun, IIR priority, wide reads.
 * To regenerate: assemble the interpreter at the end of this file into a
 * 64 KiB image (ops at offset 0x1000) and run
 *   qemu-system-x86_64 -nodefaults -display none -bios bios.bin -serial null
 *     -debugcon file:out.bin -device isa-debug-exit,iobase=0xf4
 */
static const uint8_t qemu_ops[] = {
    0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0x02, 0x03, 0x00, 0x02, 0x04, 0x00,
    0x02, 0x05, 0x00, 0x02, 0x06, 0x00, 0x02, 0x07, 0x00, 0x01, 0x03, 0x80,
    0x02, 0x00, 0x00, 0x02, 0x01, 0x00, 0x01, 0x03, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x02, 0x00, 0x01, 0x01, 0x00, 0x01, 0x03, 0x80, 0x01, 0x00, 0x01,
    0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x02, 0x01, 0x00, 0x01, 0x03, 0x03,
    0x02, 0x03, 0x00, 0x01, 0x02, 0x00, 0x01, 0x04, 0x08, 0x02, 0x02, 0x00,
    0x02, 0x05, 0x00, 0x02, 0x06, 0x00, 0x01, 0x07, 0x5a, 0x02, 0x07, 0x00,
    0x01, 0x01, 0x02, 0x02, 0x02, 0x00, 0x02, 0x02, 0x00, 0x01, 0x01, 0x00,
    0x02, 0x02, 0x00, 0x01, 0x01, 0x02, 0x02, 0x02, 0x00, 0x01, 0x01, 0x02,
    0x02, 0x02, 0x00, 0x01, 0x00, 0x41, 0x02, 0x02, 0x00, 0x02, 0x02, 0x00,
    0x02, 0x05, 0x00, 0x01, 0x01, 0x00, 0x02, 0x02, 0x00, 0x01, 0x04, 0x1f,
    0x02, 0x06, 0x00, 0x01, 0x04, 0x10, 0x02, 0x06, 0x00, 0x01, 0x04, 0x11,
    0x02, 0x06, 0x00, 0x01, 0x04, 0x12, 0x02, 0x06, 0x00, 0x01, 0x04, 0x14,
    0x02, 0x06, 0x00, 0x01, 0x04, 0x18, 0x02, 0x06, 0x00, 0x02, 0x04, 0x00,
    0x01, 0x04, 0x10, 0x01, 0x01, 0x01, 0x02, 0x02, 0x00, 0x01, 0x00, 0x41,
    0x02, 0x05, 0x00, 0x02, 0x02, 0x00, 0x01, 0x00, 0x42, 0x01, 0x01, 0x05,
    0x02, 0x02, 0x00, 0x02, 0x05, 0x00, 0x02, 0x05, 0x00, 0x02, 0x02, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x05, 0x00, 0x01, 0x02, 0x01,
    0x02, 0x02, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x78, 0x01, 0x00, 0x79,
    0x01, 0x00, 0x7a, 0x02, 0x02, 0x00, 0x02, 0x05, 0x00, 0x01, 0x02, 0x03,
    0x02, 0x05, 0x00, 0x02, 0x02, 0x00, 0x01, 0x02, 0x43, 0x01, 0x00, 0x30,
    0x01, 0x00, 0x31, 0x01, 0x00, 0x32, 0x02, 0x02, 0x00, 0x01, 0x00, 0x61,
    0x02, 0x02, 0x00, 0x01, 0x02, 0x83, 0x01, 0x00, 0x30, 0x01, 0x00, 0x31,
    0x01, 0x00, 0x32, 0x01, 0x00, 0x33, 0x01, 0x00, 0x34, 0x01, 0x00, 0x35,
    0x01, 0x00, 0x36, 0x02, 0x02, 0x00, 0x01, 0x00, 0x61, 0x02, 0x02, 0x00,
    0x01, 0x02, 0xc3, 0x01, 0x00, 0x30, 0x01, 0x00, 0x31, 0x01, 0x00, 0x32,
    0x01, 0x00, 0x33, 0x01, 0x00, 0x34, 0x01, 0x00, 0x35, 0x01, 0x00, 0x36,
    0x01, 0x00, 0x37, 0x01, 0x00, 0x38, 0x01, 0x00, 0x39, 0x01, 0x00, 0x3a,
    0x01, 0x00, 0x3b, 0x01, 0x00, 0x3c, 0x02, 0x02, 0x00, 0x01, 0x00, 0x61,
    0x02, 0x02, 0x00, 0x02, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x05, 0x00,
    0x03, 0x02, 0xcc, 0x02, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x05, 0x00,
    0x02, 0x02, 0x00, 0x01, 0x02, 0xc3, 0x01, 0x00, 0x40, 0x01, 0x00, 0x41,
    0x01, 0x00, 0x42, 0x01, 0x00, 0x43, 0x01, 0x00, 0x44, 0x01, 0x00, 0x45,
    0x01, 0x00, 0x46, 0x01, 0x00, 0x47, 0x01, 0x00, 0x48, 0x01, 0x00, 0x49,
    0x01, 0x00, 0x4a, 0x01, 0x00, 0x4b, 0x01, 0x00, 0x4c, 0x01, 0x00, 0x4d,
    0x01, 0x00, 0x4e, 0x01, 0x00, 0x4f, 0x01, 0x00, 0x50, 0x02, 0x05, 0x00,
    0x02, 0x05, 0x00, 0x02, 0x02, 0x00, 0x01, 0x01, 0x05, 0x02, 0x02, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x05, 0x00, 0x02, 0x02, 0x00, 0x01, 0x02, 0x07, 0x01, 0x01, 0x0f,
    0x02, 0x02, 0x00, 0x02, 0x02, 0x00, 0x01, 0x01, 0x0d, 0x01, 0x01, 0x0f,
    0x01, 0x00, 0x50, 0x01, 0x00, 0x51, 0x01, 0x00, 0x52, 0x01, 0x00, 0x53,
    0x01, 0x00, 0x54, 0x01, 0x00, 0x55, 0x01, 0x00, 0x56, 0x01, 0x00, 0x57,
    0x01, 0x00, 0x58, 0x01, 0x00, 0x59, 0x01, 0x00, 0x5a, 0x01, 0x00, 0x5b,
    0x01, 0x00, 0x5c, 0x01, 0x00, 0x5d, 0x01, 0x00, 0x5e, 0x01, 0x00, 0x5f,
    0x01, 0x00, 0x60, 0x02, 0x02, 0x00, 0x02, 0x05, 0x00, 0x02, 0x02, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x02, 0x02, 0x00, 0x02, 0x02, 0x00, 0x01, 0x07, 0xa5, 0x04, 0x06, 0x00,
    0x04, 0x02, 0x00, 0x01, 0x04, 0x08, 0x02, 0x06, 0x00, 0x02, 0x04, 0x00,
    0x01, 0x01, 0x00, 0x01, 0x02, 0x00, 0x02, 0x02, 0x00, 0x00
};

static const uint8_t qemu_out[] = {
    0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x01,
    0x00, 0x03, 0x01, 0x60, 0xb0, 0x5a, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02,
    0x01, 0x60, 0x01, 0xf0, 0x00, 0x20, 0x10, 0x40, 0x80, 0x18, 0x01, 0x61,
    0x04, 0x06, 0x63, 0x61, 0x04, 0x42, 0x01, 0x60, 0xc1, 0xc4, 0x61, 0x60,
    0xc1, 0xc1, 0xc4, 0xc1, 0xc4, 0xc1, 0xc4, 0x30, 0xc1, 0x31, 0x32, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0xc1, 0x61, 0xcc, 0x3c,
    0xc1, 0x61, 0xc1, 0x63, 0x61, 0xc4, 0xc4, 0x40, 0x41, 0x42, 0x43, 0x44,
    0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x60,
    0xc1, 0xc2, 0xc1, 0xc6, 0x63, 0xc4, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
    0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0xc2, 0xc1,
    0x00, 0xa5, 0xc1, 0x03, 0xb0, 0x08, 0x01
};

TEST(serial_matches_qemu_trace)
{
    struct fx *f = fx_new();
    uint8_t got[sizeof(qemu_out) + 16];
    size_t n = 0;
    for (size_t i = 0; i + 2 < sizeof(qemu_ops) && qemu_ops[i]; i += 3) {
        uint8_t op = qemu_ops[i], reg = qemu_ops[i + 1], val = qemu_ops[i + 2];
        if (n + 2 > sizeof(got))
            break;
        if (op == 1) {
            out(f, reg, val);
        } else if (op == 2) {
            got[n++] = in(f, reg);
        } else if (op == 3) {
            uint8_t v = in(f, reg);
            for (int k = 0; k < 100000 && v != val; k++) {
                clock_advance(&f->clk, 10000);
                v = in(f, reg);
            }
            got[n++] = v;
        } else if (op == 4) {
            uint16_t v = (uint16_t)iomap_read(&f->pio, B + reg, 2);
            got[n++] = (uint8_t)v;
            got[n++] = (uint8_t)(v >> 8);
        }
    }
    CHECK_EQ(n, sizeof(qemu_out));
    for (size_t i = 0; i < n && i < sizeof(qemu_out); i++)
        if (got[i] != qemu_out[i]) {
            test_failf(__FILE__, __LINE__, "read #%zu: 0x%02x, QEMU 0x%02x", i, got[i], qemu_out[i]);
            break;
        }
    fx_free(f);
}

/* The interpreter used for qemu_out[] (GNU as --32, ld -Ttext 0
 * --oformat binary; ops.inc holds qemu_ops[] as .byte lines):
 *
 *   .code16
 *   .globl _start
 *   _start:
 *       cli
 *       mov $0xf000, %ax
 *       mov %ax, %ds
 *       xor %ax, %ax
 *       mov %ax, %ss
 *       mov $0x7000, %sp
 *       mov $0x1000, %si
 *   next:
 *       lodsb
 *       cmp $0, %al
 *       je done
 *       mov %al, %bl
 *       lodsb
 *       xor %ah, %ah
 *       mov %ax, %dx
 *       add $0x3f8, %dx
 *       lodsb
 *       mov %al, %cl
 *       cmp $1, %bl
 *       jne 1f
 *       mov %cl, %al
 *       out %al, (%dx)
 *       jmp next
 *   1:  cmp $2, %bl
 *       jne 2f
 *       in (%dx), %al
 *       call emit
 *       jmp next
 *   2:  cmp $3, %bl
 *       jne 3f
 *       mov $20000000, %edi
 *   4:  in (%dx), %al
 *       cmp %cl, %al
 *       je 5f
 *       dec %edi
 *       jnz 4b
 *   5:  call emit
 *       jmp next
 *   3:  in (%dx), %ax
 *       call emit
 *       mov %ah, %al
 *       call emit
 *       jmp next
 *   emit:
 *       push %dx
 *       mov $0xe9, %dx
 *       out %al, (%dx)
 *       pop %dx
 *       ret
 *   done:
 *       mov $0xf4, %dx
 *       xor %al, %al
 *       out %al, (%dx)
 *       hlt
 *       jmp done
 *   .org 0x1000
 *   .include "ops.inc"
 *   .org 0xfff0
 *       ljmp $0xf000, $0x0000
 *   .org 0x10000
 */

/* Hostile guest: random accesses of every size, input, breaks and time. The
 * model must not crash, the line must always agree with IIR, and the
 * frontend must never be offered more room than the FIFO has. */
TEST(serial_random_access_invariants)
{
    struct fx *f = fx_new();
    uint32_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        unsigned reg = (x >> 8) & 7, val = (x >> 16) & 0xff;
        unsigned size = 1u << ((x >> 24) & 3);
        switch (x & 7) {
        case 0: case 1: case 2:
            iomap_write(&f->pio, B + reg, val, size);
            break;
        case 3: case 4:
            iomap_read(&f->pio, B + reg, size);
            break;
        case 5: {
            uint8_t buf[20];
            memset(buf, (int)val, sizeof(buf));
            chardev_feed(&f->cc.chr, buf, (x >> 27) % 20);
            break;
        }
        case 6:
            clock_advance(&f->clk, (x >> 12) & 0xfffff);
            break;
        case 7:
            if ((x >> 11) & 1)
                serial_receive_break(f->s);
            else
                serial_set_modem_inputs(f->s, (uint8_t)val);
            break;
        }
        int room = f->cc.chr.can_receive(f->cc.chr.fe_opaque);
        CHECK(room >= 0 && room <= 16);
        /* The line must agree with IIR bit 0 ("no interrupt"). Reading IIR
         * only has a side effect when it reports THRI (it clears it). */
        int before = f->level;
        uint8_t iir = in(f, IIR);
        CHECK_EQ(before, !(iir & 1));
        if ((iir & 0x0f) != 0x02)
            CHECK_EQ(f->level, before);
        CHECK(iir == 0x01 || (iir & 0x30) == 0);
        if (f->cc.n > 4000)
            f->cc.n = 0;
    }
    /* After all that, a reset gives a sane UART. */
    serial_reset(f->s);
    CHECK_EQ(in(f, IIR), 0x01);
    CHECK_EQ(in(f, LSR), 0x60);
    CHECK_EQ(f->level, 0);
    fx_free(f);
}

static int accept_calls;
static void on_accept(void *opaque) { (void)opaque; accept_calls++; }

TEST(serial_accept_input_when_room_returns)
{
    struct fx *f = fx_new();
    f->cc.chr.accept_input = on_accept;
    accept_calls = 0;
    CHECK_EQ(feed(f, "a"), 1);
    in(f, RBR);
    CHECK_EQ(accept_calls, 0);        /* never refused: no call */
    CHECK_EQ(feed(f, "bc"), 1);
    CHECK_EQ(feed(f, "c"), 0);        /* refused */
    CHECK_EQ(in(f, RBR), 'b');
    CHECK_EQ(accept_calls, 1);
    CHECK_EQ(feed(f, "c"), 1);
    in(f, RBR);
    CHECK_EQ(accept_calls, 1);
    /* Loopback refuses; leaving it calls back. */
    out(f, MCR, 0x10);
    CHECK_EQ(feed(f, "d"), 0);
    out(f, MCR, 0x08);
    CHECK_EQ(accept_calls, 2);
    /* A full FIFO emptied by an RX reset calls back too. */
    out(f, FCR, 0x01);
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(chardev_feed(&f->cc.chr, (const uint8_t *)buf, 16), 16);
    CHECK_EQ(feed(f, "y"), 0);
    out(f, FCR, 0x03);
    CHECK_EQ(accept_calls, 3);
    fx_free(f);
}
