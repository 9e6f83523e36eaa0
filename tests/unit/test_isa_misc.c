/* Port 0x92, POST port, isa-debug-exit and the boot stopwatch. */
#include "test.h"
#include "hw/isa_misc.h"
#include "hw/iomap.h"
#include <string.h>

struct rec {
    int resets;
    int a20_calls;
    bool a20;
    int posts;
    uint8_t post;
    int exits;
    int exit_status;
    int marks;
    uint32_t mark;
};

static void h_reset(void *o) { ((struct rec *)o)->resets++; }
static void h_a20(void *o, bool on) { struct rec *r = o; r->a20_calls++; r->a20 = on; }
static void h_post(void *o, uint8_t c) { struct rec *r = o; r->posts++; r->post = c; }
static void h_exit(void *o, int s) { struct rec *r = o; r->exits++; r->exit_status = s; }
static void h_mark(void *o, uint32_t m) { struct rec *r = o; r->marks++; r->mark = m; }

static void setup(struct iomap *m, struct rec *r, struct isa_misc_hooks *h)
{
    memset(r, 0, sizeof(*r));
    iomap_init(m, "pio", NULL);
    h->opaque = r;
    h->reset_request = h_reset;
    h->set_a20 = h_a20;
    h->post_code = h_post;
    h->debug_exit = h_exit;
    h->boot_mark = h_mark;
}

TEST(port92_reset_edge_and_a20)
{
    struct iomap m;
    struct rec r;
    struct isa_misc_hooks h;
    setup(&m, &r, &h);
    CHECK_EQ(port92_create(&m, &h), 0);
    CHECK(port92_create(&m, &h) < 0);               /* port taken */
    CHECK_EQ(iomap_read(&m, 0x92, 1), 0);
    iomap_write(&m, 0x92, 0x02, 1);                  /* A20 on, no reset */
    CHECK_EQ(r.resets, 0);
    CHECK(r.a20_calls >= 1);
    CHECK(r.a20);
    CHECK_EQ(iomap_read(&m, 0x92, 1), 0x02);
    iomap_write(&m, 0x92, 0x03, 1);                  /* 0->1: reset */
    CHECK_EQ(r.resets, 1);
    CHECK(r.a20);
    iomap_write(&m, 0x92, 0x03, 1);                  /* stays 1: nothing */
    CHECK_EQ(r.resets, 1);
    CHECK_EQ(iomap_read(&m, 0x92, 1), 0x03);
    iomap_write(&m, 0x92, 0x00, 1);                  /* A20 off, bit 0 falls */
    CHECK(!r.a20);
    CHECK_EQ(r.resets, 1);
    iomap_write(&m, 0x92, 0x01, 1);                  /* rises again */
    CHECK_EQ(r.resets, 2);
    port92_reset(&m);                                /* machine reset clears bit 0 */
    CHECK_EQ(port92_value(&m), 0x00);
    iomap_write(&m, 0x92, 0x01, 1);
    CHECK_EQ(r.resets, 3);
    port92_destroy(&m);
    CHECK_EQ(iomap_read(&m, 0x92, 1), 0xff);         /* unclaimed again */
    port92_destroy(&m);                              /* harmless twice */
    iomap_destroy(&m);
}

TEST(port92_without_hooks)
{
    struct iomap m;
    iomap_init(&m, "pio", NULL);
    CHECK_EQ(port92_create(&m, NULL), 0);
    iomap_write(&m, 0x92, 0x03, 1);                  /* must not crash */
    CHECK_EQ(iomap_read(&m, 0x92, 1), 0x03);
    port92_destroy(&m);
    iomap_destroy(&m);
}

TEST(post_port_codes)
{
    struct iomap m;
    struct rec r;
    struct isa_misc_hooks h;
    setup(&m, &r, &h);
    CHECK_EQ(post_port_create(&m, &h), 0);
    iomap_write(&m, 0x80, 0x55, 1);
    CHECK_EQ(r.posts, 1);
    CHECK_EQ(r.post, 0x55);
    iomap_write(&m, 0x80, 0x1234, 2);               /* only the low byte is port 0x80 */
    CHECK_EQ(r.posts, 2);
    CHECK_EQ(r.post, 0x34);
    CHECK_EQ(iomap_read(&m, 0x80, 1), 0xff);
    iomap_destroy(&m);
}

TEST(debug_exit_status)
{
    struct iomap m;
    struct rec r;
    struct isa_misc_hooks h;
    setup(&m, &r, &h);
    CHECK(debug_exit_create(&m, 0xfff0, 0x20, &h) < 0);   /* past 0xffff */
    CHECK(debug_exit_create(&m, 0x501, 0, &h) < 0);
    CHECK_EQ(debug_exit_create(&m, 0x501, 2, &h), 0);
    iomap_write(&m, 0x501, 0, 1);
    CHECK_EQ(r.exits, 1);
    CHECK_EQ(r.exit_status, 1);
    iomap_write(&m, 0x501, 0x31, 1);
    CHECK_EQ(r.exit_status, 0x63);
    iomap_write(&m, 0x502, 0x01, 1);                      /* second port of the range */
    CHECK_EQ(r.exit_status, 3);
    iomap_write(&m, 0x501, 0x1ff, 2);                     /* word write */
    CHECK_EQ(r.exit_status, 0x3ff);
    iomap_write(&m, 0x503, 0x1, 1);                       /* outside: unclaimed */
    CHECK_EQ(r.exits, 4);
    CHECK_EQ(iomap_read(&m, 0x501, 1), 0xff);
    iomap_destroy(&m);
}

TEST(stopwatch_marks)
{
    struct iomap m;
    struct rec r;
    struct isa_misc_hooks h;
    setup(&m, &r, &h);
    CHECK_EQ(stopwatch_create(&m, &h), 0);
    iomap_write(&m, STOPWATCH_PORT, 0x12, 1);
    CHECK_EQ(r.marks, 1);
    CHECK_EQ(r.mark, 0x12);
    iomap_write(&m, STOPWATCH_PORT, 0xbeef, 2);
    CHECK_EQ(r.mark, 0xbeef);
    iomap_write(&m, STOPWATCH_PORT, 0xdeadbeef, 4);
    CHECK_EQ(r.mark, 0xdeadbeef);
    CHECK_EQ(r.marks, 3);
    iomap_write(&m, STOPWATCH_PORT + 3, 0x7, 1);
    CHECK_EQ(r.marks, 4);
    iomap_write(&m, STOPWATCH_PORT + 4, 0x7, 1);          /* past the range */
    CHECK_EQ(r.marks, 4);
    iomap_destroy(&m);
}
