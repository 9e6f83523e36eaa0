/* Intel 8042 keyboard controller ("KBC") with a PS/2 keyboard and mouse.
 *
 * One output buffer (port 0x60) is fed, in priority order, by the
 * controller's own replies, the keyboard and the mouse; a port disabled in
 * the command byte holds its data back (its clock line is inhibited), like
 * current QEMU (hw/input/pckbd.c) and real controllers. IRQ 1/12 follow
 * "output buffer full" for keyboard/aux data when enabled in the command
 * byte; reading the data port drops the line before the next byte is
 * loaded, so an edge-triggered PIC sees one edge per byte.
 *
 * Behaviour checked against what Linux's drivers/input/serio/i8042.c,
 * atkbd.c and psmouse probe at boot, and SeaBIOS's ps2port.c. */
#include "hw/i8042.h"
#include <stdlib.h>
#include <string.h>

#define QSIZE 64

#define KBD_ACK    0xfa
#define KBD_RESEND 0xfe
#define KBD_BAT_OK 0xaa

/* Output port bits (0xD0/0xD1). */
#define OUT_RESET  0x01   /* 0 = hold the CPU in reset */
#define OUT_A20    0x02
#define OUT_OBF    0x10
#define OUT_AUXOBF 0x20
/* Unused/keyboard clock+data lines read as 1 (QEMU KBD_OUT_ONES). */
#define OUT_ONES   0xcc

struct byteq {
    uint8_t buf[QSIZE];
    bool aux[QSIZE];      /* controller queue only: reply "from" the aux port */
    int rd, count;
};

struct i8042 {
    struct iomap *pio;
    struct irq *kbd_irq, *aux_irq;
    void (*reset_request)(void *opaque);
    void *opaque;
    void (*set_a20)(void *opaque, bool on);
    void *a20_opaque;

    uint8_t status;       /* SYS, A2, UNLOCK; OBF/AUXB derived from the buffer */
    uint8_t ram[32];      /* controller RAM; byte 0 is the command byte */
    uint8_t outport;
    uint8_t write_cmd;    /* command waiting for its data byte, 0 if none */

    bool obf, ob_aux;
    uint8_t obdata;
    int kbd_level, aux_level;

    struct byteq ctrl, kbd, aux;

    /* keyboard */
    bool kbd_scan;
    uint8_t kbd_arg_cmd;  /* 0xED/0xF3/0xF0 waiting for its argument */
    uint8_t kbd_set;      /* scan code set 1..3 */
    uint8_t kbd_last;     /* for 0xFE resend */

    /* mouse */
    bool aux_enabled, aux_remote, aux_wrap, aux_scale21;
    uint8_t aux_arg_cmd;  /* 0xE8/0xF3 waiting for its argument */
    uint8_t aux_rate, aux_res;
    uint8_t aux_buttons;
};

#define CTR(k) ((k)->ram[0])

static void q_clear(struct byteq *q)
{
    q->rd = q->count = 0;
}

static bool q_push(struct byteq *q, uint8_t b, bool aux)
{
    if (q->count >= QSIZE)
        return false;     /* overrun: drop, as a full device buffer does */
    int i = (q->rd + q->count) % QSIZE;
    q->buf[i] = b;
    q->aux[i] = aux;
    q->count++;
    return true;
}

static uint8_t q_pop(struct byteq *q, bool *aux)
{
    uint8_t b = q->buf[q->rd];
    if (aux)
        *aux = q->aux[q->rd];
    q->rd = (q->rd + 1) % QSIZE;
    q->count--;
    return b;
}

static void set_line(struct irq *irq, int *cur, int level)
{
    if (*cur != level) {
        *cur = level;
        irq_set(irq, level);
    }
}

static void update_irq(struct i8042 *k)
{
    int kl = 0, al = 0;
    if (k->obf) {
        if (k->ob_aux)
            al = (CTR(k) & I8042_CTR_AUXINT) != 0;
        else
            /* QEMU also gates IRQ 1 with the keyboard disable bit. */
            kl = (CTR(k) & I8042_CTR_KBDINT) && !(CTR(k) & I8042_CTR_KBDDIS);
    }
    set_line(k->kbd_irq, &k->kbd_level, kl);
    set_line(k->aux_irq, &k->aux_level, al);
}

/* Load the next byte into an empty output buffer. */
static void refill(struct i8042 *k)
{
    if (!k->obf) {
        bool aux = false;
        if (k->ctrl.count) {
            k->obdata = q_pop(&k->ctrl, &aux);
            k->obf = true;
            k->ob_aux = aux;
        } else if (k->kbd.count && !(CTR(k) & I8042_CTR_KBDDIS)) {
            k->obdata = q_pop(&k->kbd, NULL);
            k->obf = true;
            k->ob_aux = false;
        } else if (k->aux.count && !(CTR(k) & I8042_CTR_AUXDIS)) {
            k->obdata = q_pop(&k->aux, NULL);
            k->obf = true;
            k->ob_aux = true;
        }
    }
    update_irq(k);
}

static void ctrl_reply(struct i8042 *k, uint8_t b, bool aux)
{
    q_push(&k->ctrl, b, aux);
    refill(k);
}

static void kbd_send(struct i8042 *k, uint8_t b)
{
    k->kbd_last = b;
    q_push(&k->kbd, b, false);
}

static void aux_send(struct i8042 *k, uint8_t b)
{
    q_push(&k->aux, b, true);
}

/* ---- the PS/2 keyboard ---- */

static void kbd_defaults(struct i8042 *k)
{
    k->kbd_arg_cmd = 0;
    k->kbd_set = 2;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
    if (k->kbd_arg_cmd) {
        uint8_t cmd = k->kbd_arg_cmd;
        k->kbd_arg_cmd = 0;
        if (cmd == 0xf0) {                 /* scan code set: 0 = query */
            if (v == 0) {
                static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };
                kbd_send(k, KBD_ACK);
                kbd_send(k, (CTR(k) & I8042_CTR_XLATE) ? xlated[k->kbd_set] : k->kbd_set);
            } else if (v <= 3) {
                k->kbd_set = v;
                kbd_send(k, KBD_ACK);
            } else {
                kbd_send(k, KBD_RESEND);
            }
        } else {
            kbd_send(k, KBD_ACK);          /* LEDs / typematic: accepted */
        }
        return;
    }
    switch (v) {
    case 0xed:                             /* set LEDs */
    case 0xf3:                             /* typematic rate */
    case 0xf0:                             /* scan code set */
        kbd_send(k, KBD_ACK);
        k->kbd_arg_cmd = v;
        break;
    case 0xee:                             /* echo */
        kbd_send(k, 0xee);
        break;
    case 0xf2:                             /* identify: MF2 keyboard */
        kbd_send(k, KBD_ACK);
        kbd_send(k, 0xab);
        /* Through the controller's translation the second byte reads 0x41
         * (what Linux atkbd expects to see when translated, as QEMU). */
        kbd_send(k, (CTR(k) & I8042_CTR_XLATE) ? 0x41 : 0x83);
        break;
    case 0xf4:                             /* enable scanning */
        q_clear(&k->kbd);
        kbd_send(k, KBD_ACK);
        k->kbd_scan = true;
        break;
    case 0xf5:                             /* disable + defaults */
        q_clear(&k->kbd);
        kbd_defaults(k);
        kbd_send(k, KBD_ACK);
        k->kbd_scan = false;
        break;
    case 0xf6:                             /* defaults, keep scanning */
        q_clear(&k->kbd);
        kbd_defaults(k);
        kbd_send(k, KBD_ACK);
        k->kbd_scan = true;
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa:   /* set-3 key types */
        kbd_send(k, KBD_ACK);
        break;
    case 0xfe:                             /* resend the last byte */
        kbd_send(k, k->kbd_last);
        break;
    case 0xff:                             /* reset + self test (BAT) */
        q_clear(&k->kbd);
        kbd_defaults(k);
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_BAT_OK);
        k->kbd_scan = true;
        break;
    default:
        kbd_send(k, KBD_RESEND);
        break;
    }
}

/* ---- the PS/2 mouse ---- */

static void aux_defaults(struct i8042 *k)
{
    k->aux_enabled = false;
    k->aux_remote = false;
    k->aux_wrap = false;
    k->aux_scale21 = false;
    k->aux_arg_cmd = 0;
    k->aux_rate = 100;
    k->aux_res = 2;
}

static void aux_packet(struct i8042 *k, int dx, int dy)
{
    if (dx > 255) dx = 255;
    if (dx < -256) dx = -256;
    if (dy > 255) dy = 255;
    if (dy < -256) dy = -256;
    uint8_t b0 = 0x08 | (k->aux_buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0);
    aux_send(k, b0);
    aux_send(k, (uint8_t)dx);
    aux_send(k, (uint8_t)dy);
}

static void aux_write(struct i8042 *k, uint8_t v)
{
    if (k->aux_wrap && v != 0xec && v != 0xff) {
        aux_send(k, v);                    /* wrap mode echoes everything */
        return;
    }
    if (k->aux_arg_cmd) {
        if (k->aux_arg_cmd == 0xe8)
            k->aux_res = v & 3;
        else
            k->aux_rate = v;
        k->aux_arg_cmd = 0;
        aux_send(k, KBD_ACK);
        return;
    }
    switch (v) {
    case 0xe6: k->aux_scale21 = false; aux_send(k, KBD_ACK); break;
    case 0xe7: k->aux_scale21 = true; aux_send(k, KBD_ACK); break;
    case 0xe8:                             /* resolution */
    case 0xf3:                             /* sample rate */
        k->aux_arg_cmd = v;
        aux_send(k, KBD_ACK);
        break;
    case 0xe9:                             /* status request */
        aux_send(k, KBD_ACK);
        aux_send(k, (uint8_t)((k->aux_remote ? 0x40 : 0) | (k->aux_enabled ? 0x20 : 0) |
                              (k->aux_scale21 ? 0x10 : 0) |
                              /* wire order of the buttons: left, middle, right */
                              ((k->aux_buttons & 1) ? 0x04 : 0) |
                              ((k->aux_buttons & 4) ? 0x02 : 0) |
                              ((k->aux_buttons & 2) ? 0x01 : 0)));
        aux_send(k, k->aux_res);
        aux_send(k, k->aux_rate);
        break;
    case 0xea: k->aux_remote = false; aux_send(k, KBD_ACK); break;
    case 0xeb:                             /* read data (remote mode poll) */
        aux_send(k, KBD_ACK);
        aux_packet(k, 0, 0);
        break;
    case 0xec: k->aux_wrap = false; aux_send(k, KBD_ACK); break;
    case 0xee: k->aux_wrap = true; aux_send(k, KBD_ACK); break;
    case 0xf0: k->aux_remote = true; aux_send(k, KBD_ACK); break;
    case 0xf2:                             /* device id: plain PS/2 mouse */
        aux_send(k, KBD_ACK);
        aux_send(k, 0x00);
        break;
    case 0xf4: k->aux_enabled = true; aux_send(k, KBD_ACK); break;
    case 0xf5: k->aux_enabled = false; aux_send(k, KBD_ACK); break;
    case 0xf6:
        aux_defaults(k);
        aux_send(k, KBD_ACK);
        break;
    case 0xff:                             /* reset: ACK, BAT ok, id 0 */
        q_clear(&k->aux);
        aux_defaults(k);
        aux_send(k, KBD_ACK);
        aux_send(k, KBD_BAT_OK);
        aux_send(k, 0x00);
        break;
    default:
        aux_send(k, KBD_RESEND);
        break;
    }
}

/* ---- the controller ---- */

static void outport_write(struct i8042 *k, uint8_t v)
{
    k->outport = v;
    if (k->set_a20)
        k->set_a20(k->a20_opaque, (v & OUT_A20) != 0);
    if (!(v & OUT_RESET) && k->reset_request)
        k->reset_request(k->opaque);
}

static uint8_t outport_read(struct i8042 *k)
{
    uint8_t v = k->outport & ~(OUT_OBF | OUT_AUXOBF);
    if (k->obf)
        v |= k->ob_aux ? OUT_AUXOBF : OUT_OBF;
    return v;
}

static void set_a20(struct i8042 *k, bool on)
{
    k->outport = on ? (k->outport | OUT_A20) : (k->outport & ~OUT_A20);
    if (k->set_a20)
        k->set_a20(k->a20_opaque, on);
}

static void write_command(struct i8042 *k, uint8_t cmd)
{
    k->status |= I8042_STR_A2;
    k->write_cmd = 0;             /* a new command abandons a pending one */

    /* 0xF0-0xFF pulse output-port bits 3-0 that are 0 in the command;
     * only bit 0 (CPU reset) does anything on a PC. */
    if ((cmd & 0xf0) == 0xf0) {
        if (!(cmd & 1) && k->reset_request)
            k->reset_request(k->opaque);
        return;
    }
    if (cmd >= 0x20 && cmd <= 0x3f) {     /* read controller RAM (0x20: CTR) */
        ctrl_reply(k, k->ram[cmd & 0x1f], false);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {     /* write controller RAM */
        k->write_cmd = cmd;
        return;
    }
    switch (cmd) {
    case 0xa4:                            /* password installed? no */
        ctrl_reply(k, 0xf1, false);
        break;
    case 0xa7:
        CTR(k) |= I8042_CTR_AUXDIS;
        update_irq(k);
        break;
    case 0xa8:
        CTR(k) &= ~I8042_CTR_AUXDIS;
        refill(k);
        break;
    case 0xa9:                            /* aux interface test: ok */
    case 0xab:                            /* kbd interface test: ok */
        ctrl_reply(k, 0x00, false);
        break;
    case 0xaa:                            /* self test */
        k->status |= I8042_STR_SYS;
        ctrl_reply(k, 0x55, false);
        break;
    case 0xad:
        CTR(k) |= I8042_CTR_KBDDIS;
        update_irq(k);
        break;
    case 0xae:
        CTR(k) &= ~I8042_CTR_KBDDIS;
        refill(k);
        break;
    case 0xc0:                            /* input port: keyboard not inhibited */
        ctrl_reply(k, 0x80, false);
        break;
    case 0xd0:
        ctrl_reply(k, outport_read(k), false);
        break;
    case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        k->write_cmd = cmd;
        break;
    case 0xdd:
        set_a20(k, false);
        break;
    case 0xdf:
        set_a20(k, true);
        break;
    default:
        break;                            /* unsupported: ignored, like QEMU */
    }
}

static void write_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->write_cmd;
    k->status &= ~I8042_STR_A2;
    k->write_cmd = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        k->ram[cmd & 0x1f] = v;
        if ((cmd & 0x1f) == 0) {
            /* The command byte's SYS bit sets the status flag. Clearing it
             * does not clear the flag: QEMU never does, and SeaBIOS writes
             * a command byte without SYS after its self-test. */
            k->status |= v & I8042_CTR_SYS;
            refill(k);                    /* enables/disables changed */
        }
        return;
    }
    switch (cmd) {
    case 0xd1:
        outport_write(k, v);
        break;
    case 0xd2:
        ctrl_reply(k, v, false);
        break;
    case 0xd3:
        ctrl_reply(k, v, true);
        break;
    case 0xd4:
        /* Talking to a device re-enables its port (as QEMU). */
        CTR(k) &= ~I8042_CTR_AUXDIS;
        aux_write(k, v);
        refill(k);
        break;
    default:
        CTR(k) &= ~I8042_CTR_KBDDIS;
        kbd_write(k, v);
        refill(k);
        break;
    }
}

static uint8_t read_data(struct i8042 *k)
{
    uint8_t v = k->obdata;                /* empty buffer: the last byte again */
    if (k->obf) {
        k->obf = false;
        update_irq(k);                    /* line down ... */
        refill(k);                        /* ... and up again for the next byte */
        if (!k->obf)
            k->obdata = v;
    }
    return v;
}

static uint8_t read_status(struct i8042 *k)
{
    uint8_t v = k->status & (I8042_STR_SYS | I8042_STR_A2 | I8042_STR_UNLOCK);
    if (k->obf)
        v |= I8042_STR_OBF | (k->ob_aux ? I8042_STR_AUXB : 0);
    return v;
}

static uint64_t data_io_read(void *opaque, uint64_t addr, unsigned size)
{
    return addr == 0 ? read_data(opaque) : 0xff;
}

static void data_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    if (addr == 0)
        write_data(opaque, (uint8_t)val);
}

static uint64_t cmd_io_read(void *opaque, uint64_t addr, unsigned size)
{
    return addr == 0 ? read_status(opaque) : 0xff;
}

static void cmd_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    if (addr == 0)
        write_command(opaque, (uint8_t)val);
}

void i8042_reset(struct i8042 *k)
{
    memset(k->ram, 0, sizeof(k->ram));
    CTR(k) = I8042_CTR_KBDINT | I8042_CTR_AUXINT;
    k->status = I8042_STR_A2 | I8042_STR_UNLOCK;
    k->outport = OUT_RESET | OUT_A20 | OUT_ONES;
    k->write_cmd = 0;
    k->obf = k->ob_aux = false;
    k->obdata = 0;
    q_clear(&k->ctrl);
    q_clear(&k->kbd);
    q_clear(&k->aux);
    kbd_defaults(k);
    k->kbd_scan = true;
    k->kbd_last = 0;
    aux_defaults(k);
    k->aux_buttons = 0;
    update_irq(k);
}

struct i8042 *i8042_create(struct iomap *pio, struct irq *kbd_irq, struct irq *aux_irq,
                           void (*reset_request)(void *opaque), void *opaque)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->pio = pio;
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    k->reset_request = reset_request;
    k->opaque = opaque;
    if (iomap_register(pio, I8042_DATA_PORT, 1, data_io_read, data_io_write, k, "i8042") < 0) {
        free(k);
        return NULL;
    }
    if (iomap_register(pio, I8042_CMD_PORT, 1, cmd_io_read, cmd_io_write, k, "i8042") < 0) {
        iomap_unregister(pio, I8042_DATA_PORT);
        free(k);
        return NULL;
    }
    i8042_reset(k);
    return k;
}

void i8042_set_a20_hook(struct i8042 *k, void (*set_a20_fn)(void *opaque, bool on), void *opaque)
{
    k->set_a20 = set_a20_fn;
    k->a20_opaque = opaque;
}

void i8042_free(struct i8042 *k)
{
    if (!k)
        return;
    const struct io_region *r = iomap_find(k->pio, I8042_DATA_PORT);
    if (r && r->opaque == k)
        iomap_unregister(k->pio, I8042_DATA_PORT);
    r = iomap_find(k->pio, I8042_CMD_PORT);
    if (r && r->opaque == k)
        iomap_unregister(k->pio, I8042_CMD_PORT);
    free(k);
}

void i8042_kbd_put(struct i8042 *k, uint8_t byte)
{
    if (!k->kbd_scan)
        return;
    q_push(&k->kbd, byte, false);
    refill(k);
}

void i8042_mouse_event(struct i8042 *k, int dx, int dy, unsigned buttons)
{
    k->aux_buttons = (uint8_t)(buttons & 7);
    if (!k->aux_enabled || k->aux_remote || k->aux_wrap)
        return;
    if (k->aux.count > QSIZE - 3)
        return;                           /* never split a packet */
    aux_packet(k, dx, dy);
    refill(k);
}

uint8_t i8042_command_byte(struct i8042 *k)
{
    return CTR(k);
}

uint8_t i8042_output_port(struct i8042 *k)
{
    return outport_read(k);
}
