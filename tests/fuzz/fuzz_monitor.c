/* libFuzzer: the monitor's input path (ui/monitor.c): the HMP line editor
 * and command parser (info, x/xp with their /fmt and address expressions,
 * hostfwd_add/remove, stop/cont, system_reset, quit...) and the QMP JSON
 * reader (objects split across reads, strings with escapes, execute and
 * arguments, human-monitor-command). One machine with 4 MiB of RAM and no
 * vCPU thread stands behind both monitors: commands that need the CPU
 * stopped run from the harness as the main loop would run them, with a CPU
 * state (paging modes, CR3) and RAM contents (page tables) from the input,
 * so x walks hostile page tables. Monitor output goes nowhere.
 *
 * Input: byte 0 bit 0 picks HMP or QMP; bytes 1..32 are cr0, cr3, cr4,
 * efer (little-endian u64); the next 4 KiB land at guest physical 0x1000;
 * the rest is typed into the monitor. */
#include "accel/accel.h"
#include "cpu/state.h"
#include "hw/machine.h"
#include "ui/monitor.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct x86_state fz_state;

static int fz_get_state(struct vcpu *v, struct x86_state *s)
{
    (void)v;
    *s = fz_state;
    return 0;
}

static const struct accel_ops fz_ops = {.name = "fuzz", .get_state = fz_get_state};

static void fz_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    (void)chr;
    (void)buf;
    (void)len;
}

static void fz_close(struct chardev *chr)
{
    (void)chr;
}

static struct machine fz_m;
static struct machine_config fz_cfg;
static struct chardev fz_hmp_chr = {.write = fz_write, .close = fz_close, .in_fd = -1,
                                    .label = "hmp"};
static struct chardev fz_qmp_chr = {.write = fz_write, .close = fz_close, .in_fd = -1,
                                    .label = "qmp"};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* What the main loop does between turns for the monitor. */
static void fz_main_loop_turn(void)
{
    if (fz_m.paused_call) {
        void (*fn)(void *) = fz_m.paused_call;
        fz_m.paused_call = NULL;
        fn(fz_m.paused_opaque);
    }
}

static void fz_type(struct chardev *chr, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = chardev_feed(chr, p, n);
        fz_main_loop_turn();
        if (!k)
            break;
        p += k;
        n -= k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_m.ram) {
        fz_cfg.ram_size = 4 << 20;
        if (machine_init(&fz_m, &fz_cfg, &fz_ops) < 0)
            abort();
        fz_m.nvcpus = 1;
        if (!monitor_new(&fz_m, &fz_hmp_chr, false, false, NULL) ||
            !monitor_new(&fz_m, &fz_qmp_chr, true, false, NULL))
            abort();
        static const uint8_t caps[] = "{\"execute\": \"qmp_capabilities\"}\n";
        fz_type(&fz_qmp_chr, caps, sizeof(caps) - 1);
    }
    if (size < 33)
        return 0;
    struct chardev *chr = (data[0] & 1) ? &fz_qmp_chr : &fz_hmp_chr;
    memset(&fz_state, 0, sizeof(fz_state));
    fz_state.cr0 = le64(data + 1);
    fz_state.cr3 = le64(data + 9);
    fz_state.cr4 = le64(data + 17);
    fz_state.efer = le64(data + 25);
    data += 33;
    size -= 33;
    size_t ram = size < 4096 ? size : 4096;
    memcpy(fz_m.ram + 0x1000, data, ram);
    data += ram;
    size -= ram;
    fz_type(chr, data, size);
    /* end the line (HMP) or object (QMP) so each input stands mostly alone */
    static const uint8_t end_hmp[] = "\n", end_qmp[] = "\"}]}]}\n";
    if (chr == &fz_hmp_chr)
        fz_type(chr, end_hmp, 1);
    else
        fz_type(chr, end_qmp, sizeof(end_qmp) - 1);
    /* undo what a command asked of the machine */
    fz_m.request = REQ_NONE;
    fz_m.pause_req = false;
    fz_m.paused = false;
    memset(fz_m.ram + 0x1000, 0, 4096);
    return 0;
}
