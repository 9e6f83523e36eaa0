/* i8042 keyboard controller, PS/2 keyboard and mouse: register level. */
#include "test.h"
#include "hw/i8042.h"
#include <string.h>

struct kfix {
    struct iomap pio;
    struct irq irq1, irq12;
    struct i8042 *k;
    int level[2], raises[2];
    int resets;
    int a20_calls;
    bool a20;
};

static void irq_cb(void *o, int n, int level)
{
    struct kfix *f = o;
    int i = n == 12;
    if (level && !f->level[i])
        f->raises[i]++;
    f->level[i] = level;
}

static void reset_cb(void *o) { ((struct kfix *)o)->resets++; }
static void a20_cb(void *o, bool on) { struct kfix *f = o; f->a20_calls++; f->a20 = on; }

static void kfix_init(struct kfix *f)
{
    memset(f, 0, sizeof(*f));
    iomap_init(&f->pio, "pio", NULL);
    irq_init(&f->irq1, irq_cb, f, 1);
    irq_init(&f->irq12, irq_cb, f, 12);
    f->k = i8042_create(&f->pio, &f->irq1, &f->irq12, reset_cb, f);
    i8042_set_a20_hook(f->k, a20_cb, f);
}

static void kfix_fini(struct kfix *f)
{
    i8042_free(f->k);
    CHECK_EQ(iomap_read(&f->pio, 0x64, 1), 0xff);   /* unregistered */
    iomap_destroy(&f->pio);
}

static uint8_t st(struct kfix *f) { return (uint8_t)iomap_read(&f->pio, 0x64, 1); }
static void cmd(struct kfix *f, uint8_t c) { iomap_write(&f->pio, 0x64, c, 1); }
static void dat(struct kfix *f, uint8_t v) { iomap_write(&f->pio, 0x60, v, 1); }
static uint8_t rdd(struct kfix *f) { return (uint8_t)iomap_read(&f->pio, 0x60, 1); }

/* Expect a byte in the output buffer, from aux or not; returns it. */
#define EXPECT(f, val, aux) do {                                          \
        uint8_t _s = st(f);                                               \
        CHECK_EQ(_s & I8042_STR_OBF, I8042_STR_OBF);                      \
        CHECK_EQ(_s & I8042_STR_AUXB, (aux) ? I8042_STR_AUXB : 0);        \
        CHECK_EQ(rdd(f), (val));                                          \
    } while (0)
#define EXPECT_EMPTY(f) CHECK_EQ(st(f) & I8042_STR_OBF, 0)

TEST(i8042_selftest_and_status)
{
    struct kfix f;
    kfix_init(&f);
    CHECK(f.k != NULL);
    uint8_t s = st(&f);
    CHECK_EQ(s & (I8042_STR_OBF | I8042_STR_IBF | I8042_STR_SYS), 0);
    CHECK_EQ(s & I8042_STR_UNLOCK, I8042_STR_UNLOCK);  /* Linux warns on keylock */
    cmd(&f, 0xaa);
    CHECK_EQ(st(&f) & I8042_STR_A2, I8042_STR_A2);
    CHECK_EQ(st(&f) & I8042_STR_SYS, I8042_STR_SYS);
    EXPECT(&f, 0x55, false);
    EXPECT_EMPTY(&f);
    CHECK_EQ(rdd(&f), 0x55);                          /* empty: last byte again */
    cmd(&f, 0xab);
    EXPECT(&f, 0x00, false);
    cmd(&f, 0xa9);
    EXPECT(&f, 0x00, false);
    cmd(&f, 0xc0);
    EXPECT(&f, 0x80, false);
    cmd(&f, 0xa4);
    EXPECT(&f, 0xf1, false);
    dat(&f, 0xee);                                    /* a data write clears A2 */
    CHECK_EQ(st(&f) & I8042_STR_A2, 0);
    EXPECT(&f, 0xee, false);
    kfix_fini(&f);
}

TEST(i8042_ctr_read_write)
{
    struct kfix f;
    kfix_init(&f);
    cmd(&f, 0x20);
    EXPECT(&f, 0x03, false);                          /* QEMU's reset value */
    cmd(&f, 0x60);
    dat(&f, 0x65);                                    /* XLATE|KBDDIS|SYS|KBDINT */
    CHECK_EQ(i8042_command_byte(f.k), 0x65);
    CHECK_EQ(st(&f) & I8042_STR_SYS, I8042_STR_SYS);  /* set by the CTR SYS bit */
    cmd(&f, 0x20);
    EXPECT(&f, 0x65, false);
    cmd(&f, 0x60);
    dat(&f, 0x61);
    CHECK_EQ(st(&f) & I8042_STR_SYS, I8042_STR_SYS);  /* sticky, as QEMU */
    cmd(&f, 0xa7);
    cmd(&f, 0x20);
    EXPECT(&f, 0x61 | I8042_CTR_AUXDIS, false);
    cmd(&f, 0xa8);
    cmd(&f, 0xae);
    cmd(&f, 0x20);
    EXPECT(&f, 0x41, false);
    cmd(&f, 0xad);
    cmd(&f, 0x20);
    EXPECT(&f, 0x51, false);
    /* Other controller RAM bytes. */
    cmd(&f, 0x65);
    dat(&f, 0x5a);
    cmd(&f, 0x25);
    EXPECT(&f, 0x5a, false);
    /* A command in between abandons a pending data write. */
    cmd(&f, 0x60);
    cmd(&f, 0xab);
    EXPECT(&f, 0x00, false);
    dat(&f, 0x00);                                    /* goes to the keyboard */
    EXPECT(&f, 0xfe, false);                          /* unknown kbd command */
    CHECK_EQ(i8042_command_byte(f.k), 0x41);          /* KBDDIS cleared by the write */
    kfix_fini(&f);
}

TEST(i8042_keyboard_commands)
{
    struct kfix f;
    kfix_init(&f);
    dat(&f, 0xff);                                    /* reset */
    EXPECT(&f, 0xfa, false);
    EXPECT(&f, 0xaa, false);
    EXPECT_EMPTY(&f);
    cmd(&f, 0x60);
    dat(&f, 0x03);                                    /* no translation */
    dat(&f, 0xf2);
    EXPECT(&f, 0xfa, false);
    EXPECT(&f, 0xab, false);
    EXPECT(&f, 0x83, false);
    cmd(&f, 0x60);
    dat(&f, 0x43);                                    /* translated: id 0xab 0x41 */
    dat(&f, 0xf2);
    EXPECT(&f, 0xfa, false);
    EXPECT(&f, 0xab, false);
    EXPECT(&f, 0x41, false);
    dat(&f, 0xf5);
    EXPECT(&f, 0xfa, false);
    i8042_kbd_put(f.k, 0x1e);                         /* not scanning: dropped */
    EXPECT_EMPTY(&f);
    dat(&f, 0xf4);
    EXPECT(&f, 0xfa, false);
    i8042_kbd_put(f.k, 0x1e);
    EXPECT(&f, 0x1e, false);
    dat(&f, 0xed);
    EXPECT(&f, 0xfa, false);
    dat(&f, 0x07);                                    /* LED argument */
    EXPECT(&f, 0xfa, false);
    dat(&f, 0xf3);
    EXPECT(&f, 0xfa, false);
    dat(&f, 0x20);
    EXPECT(&f, 0xfa, false);
    dat(&f, 0xf0);                                    /* scan code set query */
    EXPECT(&f, 0xfa, false);
    dat(&f, 0x00);
    EXPECT(&f, 0xfa, false);
    EXPECT(&f, 0x41, false);                          /* set 2, translated */
    dat(&f, 0xee);
    EXPECT(&f, 0xee, false);
    dat(&f, 0x42);                                    /* unknown */
    EXPECT(&f, 0xfe, false);
    EXPECT_EMPTY(&f);
    kfix_fini(&f);
}

TEST(i8042_irq1_gated_by_command_byte)
{
    struct kfix f;
    kfix_init(&f);
    cmd(&f, 0x60);
    dat(&f, 0x00);                                    /* no interrupts */
    dat(&f, 0xee);
    CHECK_EQ(f.level[0], 0);
    CHECK_EQ(st(&f) & I8042_STR_OBF, I8042_STR_OBF);
    cmd(&f, 0x60);                                    /* enabling with data waiting */
    dat(&f, 0x01);
    CHECK_EQ(f.level[0], 1);
    CHECK_EQ(f.level[1], 0);
    CHECK_EQ(rdd(&f), 0xee);
    CHECK_EQ(f.level[0], 0);                          /* read lowers it */
    /* Each byte of a multi-byte reply is its own edge. */
    int before = f.raises[0];
    dat(&f, 0xff);
    CHECK_EQ(f.level[0], 1);
    CHECK_EQ(rdd(&f), 0xfa);
    CHECK_EQ(f.level[0], 1);
    CHECK_EQ(rdd(&f), 0xaa);
    CHECK_EQ(f.level[0], 0);
    CHECK_EQ(f.raises[0] - before, 2);
    /* Keyboard disabled: its data waits, no IRQ; enabling releases it. */
    dat(&f, 0xf4);
    rdd(&f);
    cmd(&f, 0xad);
    i8042_kbd_put(f.k, 0x9e);
    CHECK_EQ(f.level[0], 0);
    EXPECT_EMPTY(&f);
    cmd(&f, 0xae);
    CHECK_EQ(f.level[0], 1);
    EXPECT(&f, 0x9e, false);
    /* Controller replies raise IRQ 1 too (KBDINT set). */
    cmd(&f, 0x20);
    CHECK_EQ(f.level[0], 1);
    rdd(&f);
    kfix_fini(&f);
}

TEST(i8042_reset_and_a20)
{
    struct kfix f;
    kfix_init(&f);
    cmd(&f, 0xd0);
    uint8_t out = rdd(&f);
    CHECK_EQ(out & 0x03, 0x03);                       /* not in reset, A20 on */
    cmd(&f, 0xd1);
    dat(&f, 0xdd);                                    /* A20 off, bit 0 = 1 */
    CHECK_EQ(f.resets, 0);
    CHECK(f.a20_calls >= 1);
    CHECK(!f.a20);
    cmd(&f, 0xd0);
    EXPECT(&f, 0xcd, false);                          /* bit 4 is the live OBF line */
    cmd(&f, 0xd1);
    dat(&f, 0xdf);
    CHECK(f.a20);
    CHECK_EQ(f.resets, 0);
    cmd(&f, 0xd1);
    dat(&f, 0xde);                                    /* bit 0 = 0: reset */
    CHECK_EQ(f.resets, 1);
    cmd(&f, 0xdd);
    CHECK(!f.a20);
    CHECK_EQ(i8042_output_port(f.k) & 0x02, 0);
    cmd(&f, 0xdf);
    CHECK(f.a20);
    cmd(&f, 0xfe);                                    /* pulse reset line */
    CHECK_EQ(f.resets, 2);
    cmd(&f, 0xf0);                                    /* pulse bits 3-0 incl. bit 0 */
    CHECK_EQ(f.resets, 3);
    cmd(&f, 0xff);                                    /* pulse nothing */
    cmd(&f, 0xf1);                                    /* bit 0 not pulsed */
    CHECK_EQ(f.resets, 3);
    EXPECT_EMPTY(&f);
    kfix_fini(&f);
}

TEST(i8042_aux_commands_and_irq12)
{
    struct kfix f;
    kfix_init(&f);
    cmd(&f, 0xd4);
    dat(&f, 0xff);                                    /* mouse reset */
    CHECK_EQ(f.level[1], 1);
    CHECK_EQ(f.level[0], 0);
    EXPECT(&f, 0xfa, true);
    EXPECT(&f, 0xaa, true);
    EXPECT(&f, 0x00, true);
    CHECK_EQ(f.level[1], 0);
    cmd(&f, 0xd4);
    dat(&f, 0xf2);
    EXPECT(&f, 0xfa, true);
    EXPECT(&f, 0x00, true);
    static const uint8_t simple[] = { 0xf6, 0xe6, 0xe7, 0xea, 0xf5 };
    for (unsigned i = 0; i < sizeof(simple); i++) {
        cmd(&f, 0xd4);
        dat(&f, simple[i]);
        EXPECT(&f, 0xfa, true);
    }
    cmd(&f, 0xd4); dat(&f, 0xf3); EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4); dat(&f, 200);  EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4); dat(&f, 0xe8); EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4); dat(&f, 0x03); EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4); dat(&f, 0xe7); EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4); dat(&f, 0xf4); EXPECT(&f, 0xfa, true);
    cmd(&f, 0xd4);
    dat(&f, 0xe9);                                    /* status */
    EXPECT(&f, 0xfa, true);
    EXPECT(&f, 0x30, true);                           /* enabled, 2:1 */
    EXPECT(&f, 0x03, true);                           /* resolution */
    EXPECT(&f, 200, true);                            /* sample rate */
    i8042_mouse_event(f.k, 5, -3, 1);
    EXPECT(&f, 0x29, true);                           /* left, y negative */
    EXPECT(&f, 0x05, true);
    EXPECT(&f, 0xfd, true);
    cmd(&f, 0xd4); dat(&f, 0x77); EXPECT(&f, 0xfe, true);   /* unknown */
    /* IRQ 12 needs AUXINT. */
    cmd(&f, 0x60);
    dat(&f, 0x01);
    cmd(&f, 0xd4);
    dat(&f, 0xf5);
    CHECK_EQ(f.level[1], 0);
    CHECK_EQ(f.level[0], 0);                          /* aux data never on IRQ 1 */
    EXPECT(&f, 0xfa, true);
    i8042_mouse_event(f.k, 1, 1, 0);                  /* disabled: dropped */
    EXPECT_EMPTY(&f);
    kfix_fini(&f);
}

/* What Linux's i8042 driver does at boot (i8042_controller_check/selftest/
 * init, i8042_check_mux, i8042_check_aux with its IRQ delivery test). */
TEST(i8042_linux_probe_sequence)
{
    struct kfix f;
    kfix_init(&f);
    CHECK(st(&f) != 0xff);                            /* controller present */
    cmd(&f, 0xaa);
    EXPECT(&f, 0x55, false);
    cmd(&f, 0x20);
    uint8_t ctr = rdd(&f);
    ctr |= I8042_CTR_KBDDIS;
    ctr &= ~I8042_CTR_KBDINT;
    cmd(&f, 0x60);
    dat(&f, ctr);
    cmd(&f, 0x20);
    EXPECT(&f, ctr, false);                           /* stable CTR */
    /* MUX probe: loop 0xf0, 0x56, 0xa4 through 0xD3; a plain controller
     * echoes them, which says "no multiplexer". */
    static const uint8_t mux[] = { 0xf0, 0x56, 0xa4 };
    for (unsigned i = 0; i < 3; i++) {
        cmd(&f, 0xd3);
        dat(&f, mux[i]);
        EXPECT(&f, mux[i], true);
    }
    /* AUX loopback with the aux port disabled must still work. */
    cmd(&f, 0xa7);
    cmd(&f, 0xd3);
    dat(&f, 0x5a);
    EXPECT(&f, 0x5a, true);
    cmd(&f, 0xa7);
    cmd(&f, 0x20);
    CHECK(rdd(&f) & I8042_CTR_AUXDIS);
    cmd(&f, 0xa8);
    cmd(&f, 0x20);
    CHECK(!(rdd(&f) & I8042_CTR_AUXDIS));
    /* IRQ 12 delivery test. */
    cmd(&f, 0x20);
    ctr = rdd(&f) | I8042_CTR_AUXINT;
    cmd(&f, 0x60);
    dat(&f, ctr);
    int before = f.raises[1];
    cmd(&f, 0xd3);
    dat(&f, 0xa5);
    CHECK_EQ(f.raises[1], before + 1);
    EXPECT(&f, 0xa5, true);
    CHECK_EQ(f.level[1], 0);
    kfix_fini(&f);
}

TEST(i8042_hostile_and_reset)
{
    struct kfix f;
    kfix_init(&f);
    /* Flood the queues without reading: must not overflow anything. */
    cmd(&f, 0x60);
    dat(&f, 0x00);
    for (int i = 0; i < 1000; i++) {
        cmd(&f, 0xd2);
        dat(&f, (uint8_t)i);
        dat(&f, 0xf2);
        cmd(&f, 0xd4);
        dat(&f, 0xe9);
        i8042_kbd_put(f.k, 0x1c);
        i8042_mouse_event(f.k, 100000, -100000, 7);
    }
    for (int c = 0; c < 256; c++) {
        if (c == 0xd1 || (c & 0xf0) == 0xf0)
            continue;                                 /* those reset the machine */
        cmd(&f, (uint8_t)c);
        dat(&f, (uint8_t)(c * 7));
    }
    int n = 0;
    while ((st(&f) & I8042_STR_OBF) && n < 100000) {
        rdd(&f);
        n++;
    }
    CHECK(n < 100000);
    i8042_reset(f.k);
    CHECK_EQ(f.level[0], 0);
    CHECK_EQ(f.level[1], 0);
    EXPECT_EMPTY(&f);
    CHECK_EQ(i8042_command_byte(f.k), 0x03);
    CHECK_EQ(st(&f) & I8042_STR_SYS, 0);
    kfix_fini(&f);
}

/* The same port sequence run on QEMU 7.2 (-machine pc, after SeaBIOS, from
 * a boot sector printing every byte read): 'O' port,val = out; 'I' port,v =
 * in expecting v; 'R' st,v = wait for OBF and read data, expecting status
 * st and byte v; 'F' = flush. Status is compared on OBF/AUXB only: QEMU
 * keeps A2 and SYS stuck at 1, we implement them. Left out: an unknown
 * mouse command, which QEMU ignores and we answer with 0xFE (resend). */
static const struct { char op; uint8_t a, b; } qemu_seq[] = {
    { 'O', 0x64, 0x60 },
    { 'O', 0x60, 0x00 },
    { 'F', 0, 0 },
    { 'O', 0x64, 0xAA },
    { 'R', 0x1D, 0x55 },
    { 'I', 0x64, 0x1C },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x00 },
    { 'O', 0x64, 0x60 },
    { 'O', 0x60, 0x65 },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x65 },
    { 'I', 0x64, 0x1C },
    { 'O', 0x64, 0x60 },
    { 'O', 0x60, 0x00 },
    { 'I', 0x64, 0x1C },
    { 'O', 0x64, 0xAB },
    { 'R', 0x1D, 0x00 },
    { 'O', 0x64, 0xA9 },
    { 'R', 0x1D, 0x00 },
    { 'O', 0x64, 0xC0 },
    { 'R', 0x1D, 0x80 },
    { 'O', 0x64, 0xD0 },
    { 'R', 0x1D, 0xCF },
    { 'O', 0x64, 0xD3 },
    { 'O', 0x60, 0x5A },
    { 'R', 0x3D, 0x5A },
    { 'I', 0x64, 0x1C },
    { 'O', 0x64, 0xD2 },
    { 'O', 0x60, 0x77 },
    { 'R', 0x1D, 0x77 },
    { 'O', 0x64, 0xA7 },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x20 },
    { 'O', 0x64, 0xA8 },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x00 },
    { 'O', 0x64, 0xAD },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x10 },
    { 'O', 0x64, 0xAE },
    { 'O', 0x64, 0x20 },
    { 'R', 0x1D, 0x00 },
    { 'O', 0x60, 0xFF },
    { 'R', 0x1D, 0xFA },
    { 'R', 0x1D, 0xAA },
    { 'O', 0x60, 0xF2 },
    { 'R', 0x1D, 0xFA },
    { 'R', 0x1D, 0xAB },
    { 'R', 0x1D, 0x83 },
    { 'O', 0x64, 0x60 },
    { 'O', 0x60, 0x40 },
    { 'O', 0x60, 0xF2 },
    { 'R', 0x1D, 0xFA },
    { 'R', 0x1D, 0xAB },
    { 'R', 0x1D, 0x41 },
    { 'O', 0x64, 0x60 },
    { 'O', 0x60, 0x00 },
    { 'O', 0x60, 0xEE },
    { 'R', 0x1D, 0xEE },
    { 'O', 0x60, 0xED },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0x00 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0xF3 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0x00 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0xF0 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0x00 },
    { 'R', 0x1D, 0xFA },
    { 'R', 0x1D, 0x02 },
    { 'O', 0x60, 0xF5 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0xF4 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0xF6 },
    { 'R', 0x1D, 0xFA },
    { 'O', 0x60, 0x42 },
    { 'R', 0x1D, 0xFE },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xFF },
    { 'R', 0x3D, 0xFA },
    { 'R', 0x3D, 0xAA },
    { 'R', 0x3D, 0x00 },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xF2 },
    { 'R', 0x3D, 0xFA },
    { 'R', 0x3D, 0x00 },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xF3 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xC8 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xE8 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0x03 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xE7 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xE9 },
    { 'R', 0x3D, 0xFA },
    { 'R', 0x3D, 0x10 },
    { 'R', 0x3D, 0x03 },
    { 'R', 0x3D, 0xC8 },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xE6 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xF4 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xF5 },
    { 'R', 0x3D, 0xFA },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xEB },
    { 'R', 0x3D, 0xFA },
    { 'R', 0x3D, 0x08 },
    { 'R', 0x3D, 0x00 },
    { 'R', 0x3D, 0x00 },
    { 'O', 0x64, 0xA7 },
    { 'O', 0x64, 0xD4 },
    { 'O', 0x60, 0xF2 },
    { 'O', 0x64, 0x20 },
    { 'R', 0x3D, 0xFA },
    { 'R', 0x1D, 0x00 },
    { 'R', 0x3D, 0x00 },
    { 'F', 0, 0 },
};

TEST(i8042_matches_qemu_sequence)
{
    struct kfix f;
    kfix_init(&f);
    cmd(&f, 0xaa);                                    /* what SeaBIOS leaves */
    rdd(&f);
    cmd(&f, 0x60);
    dat(&f, 0x61);
    const uint8_t mask = I8042_STR_OBF | I8042_STR_AUXB;
    for (unsigned i = 0; i < sizeof(qemu_seq) / sizeof(qemu_seq[0]); i++) {
        uint8_t a = qemu_seq[i].a, b = qemu_seq[i].b;
        switch (qemu_seq[i].op) {
        case 'O':
            iomap_write(&f.pio, a, b, 1);
            break;
        case 'I': {
            uint8_t v = (uint8_t)iomap_read(&f.pio, a, 1);
            if (a == 0x64) {
                v &= mask;
                b &= mask;
            }
            if (v != b)
                test_failf(__FILE__, __LINE__, "step %u: in 0x%x = 0x%x, QEMU 0x%x", i, a, v, b);
            break;
        }
        case 'R': {
            uint8_t s = st(&f);
            uint8_t v = rdd(&f);
            if ((s & mask) != (a & mask) || v != b)
                test_failf(__FILE__, __LINE__, "step %u: status 0x%x data 0x%x, QEMU 0x%x 0x%x",
                           i, s, v, a, b);
            break;
        }
        case 'F':
            for (int n = 0; n < 40 && (st(&f) & I8042_STR_OBF); n++)
                rdd(&f);
            break;
        }
    }
    kfix_fini(&f);
}
