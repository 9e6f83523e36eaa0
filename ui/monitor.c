/* The monitor on a chardev: HMP (QEMU's human monitor: the commands and
 * the output formats people and course scripts use) and QMP (JSON, enough
 * for qmp-shell style clients, with STOP/RESUME/SHUTDOWN events).
 *
 * Runs in the main loop with the device lock held (it is the chardev's
 * frontend). Commands that read CPU state run through machine_call_paused,
 * with every vCPU stopped and the lock released. */
#include "ui/monitor.h"
#include "ui/chardev_be.h"
#include "ui/char.h"
#include "hw/machine.h"
#include "hw/pc_pci.h"
#include "hw/stats_report.h"
#include "hw/vga.h"
#include "cpu/state.h"
#include "net/slirp.h"
#include "ui/netopt.h"
#include "ui/display.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define LINE_MAX_MON 1024
#define QMP_MAX (64 * 1024)
#define TREMU_MON_VERSION "7.2.0"

struct monitor {
    struct machine *m;
    struct chardev *chr;
    struct chardev_set *set;
    bool qmp, pretty, echo;
    bool qmp_ready;                 /* qmp_capabilities done */
    bool was_connected;
    char line[LINE_MAX_MON];
    size_t len;
    char *qbuf;                     /* QMP: bytes of the object being read */
    size_t qlen;
    int qdepth;
    bool qstr, qesc;
    char *cap;                      /* human-monitor-command output capture */
    size_t cap_len, cap_size;
    char pending[LINE_MAX_MON];     /* a command waiting for stopped vCPUs */
    bool pw_prompt;                 /* the next line is a VNC password (not echoed) */
    struct monitor *next;
};

static struct monitor *all_monitors;   /* for events: every QMP monitor */
static void mprintf(struct monitor *mon, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *const *net_ids;      /* monitor_set_netdevs */
static struct net_backend *const *net_nbs;
static int net_n;
static struct display_opts *mon_display;   /* monitor_set_display */

void monitor_set_display(struct display_opts *d)
{
    mon_display = d;
}

void monitor_set_netdevs(const char *const *ids, struct net_backend *const *nbs, int n)
{
    net_ids = ids;
    net_nbs = nbs;
    net_n = n;
}

/* "[netdev_id] RULE": the netdev named, or the only one. */
static struct net_backend *hostfwd_target(struct monitor *mon, const char *cmd, const char **arg)
{
    const char *a = *arg;
    size_t l = strcspn(a, " ");
    if (a[l] == ' ') {
        /* QEMU also takes "hub_id name"; a netdev id is what tremu has. */
        const char *rule = a + l + strspn(a + l, " ");
        for (int i = 0; i < net_n; i++)
            if (strlen(net_ids[i]) == l && !strncmp(net_ids[i], a, l)) {
                *arg = rule;
                return net_nbs[i];
            }
        mprintf(mon, "%s: unknown netdev '%.*s'\n", cmd, (int)l, a);
        return NULL;
    }
    if (net_n == 1)
        return net_nbs[0];
    mprintf(mon, "%s: %s\n", cmd, net_n ? "name the netdev: hostfwd_add NETDEV_ID RULE"
                                       : "no user-mode network (-netdev user)");
    return NULL;
}

static void do_hostfwd(struct monitor *mon, const char *cmd, const char *arg, bool add)
{
    struct net_backend *nb = hostfwd_target(mon, cmd, &arg);
    if (!nb)
        return;
    char err[512];
    struct net_hostfwd f;
    if (add) {
        if (netopt_parse_hostfwd(arg, &f, err, sizeof(err)) < 0 ||
            net_slirp_hostfwd_add(nb, &f, err, sizeof(err)) < 0)
            mprintf(mon, "Could not set up host forwarding rule '%s': %s\n", arg, err);
        return;
    }
    /* [tcp|udp]:[hostaddr]:hostport: complete it into a full rule to parse. */
    char rule[256];
    snprintf(rule, sizeof(rule), "%s-:1", arg);
    if (netopt_parse_hostfwd(rule, &f, err, sizeof(err)) < 0) {
        mprintf(mon, "invalid format\n");
        return;
    }
    if (net_slirp_hostfwd_remove(nb, f.udp, f.host_addr, f.host_port) == 0)
        mprintf(mon, "host forwarding rule for %s removed\n", arg);
    else
        mprintf(mon, "host forwarding rule for %s not found\n", arg);
}

static void out(struct monitor *mon, const char *s, size_t n)
{
    if (mon->cap) {
        if (mon->cap_len + n + 1 > mon->cap_size) {
            size_t ns = (mon->cap_len + n + 1) * 2;
            char *p = realloc(mon->cap, ns);
            if (!p)
                return;
            mon->cap = p;
            mon->cap_size = ns;
        }
        memcpy(mon->cap + mon->cap_len, s, n);
        mon->cap_len += n;
        mon->cap[mon->cap_len] = 0;
        return;
    }
    /* HMP on a raw terminal: \n alone would not return the carriage. */
    if (mon->echo) {
        size_t st = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\n') {
                chardev_write(mon->chr, (const uint8_t *)s + st, i - st);
                chardev_write(mon->chr, (const uint8_t *)"\r\n", 2);
                st = i + 1;
            }
        }
        chardev_write(mon->chr, (const uint8_t *)s + st, n - st);
        return;
    }
    chardev_write(mon->chr, (const uint8_t *)s, n);
}

static void mprintf(struct monitor *mon, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mprintf(struct monitor *mon, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        out(mon, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void prompt(struct monitor *mon)
{
    if (!mon->qmp)
        mprintf(mon, "(qemu) ");
}

/* ---- QMP output ---- */

static void json_str(struct monitor *mon, const char *s)
{
    out(mon, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            mprintf(mon, "\\%c", c);
        else if (c == '\n')
            out(mon, "\\n", 2);
        else if (c == '\r')
            out(mon, "\\r", 2);
        else if (c == '\t')
            out(mon, "\\t", 2);
        else if (c < 0x20)
            mprintf(mon, "\\u%04x", c);
        else
            out(mon, (const char *)&c, 1);
    }
    out(mon, "\"", 1);
}

static void qmp_event(const char *event, const char *data)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    for (struct monitor *mon = all_monitors; mon; mon = mon->next) {
        if (!mon->qmp || !mon->qmp_ready)
            continue;
        mprintf(mon, "{\"timestamp\": {\"seconds\": %ld, \"microseconds\": %ld}, "
                "\"event\": \"%s\"%s%s}\r\n", (long)tv.tv_sec, (long)tv.tv_usec, event,
                data ? ", \"data\": " : "", data ? data : "");
    }
}

void monitor_event_shutdown(bool guest)
{
    static bool sent;               /* once: a quit already said it */
    if (sent)
        return;
    sent = true;
    qmp_event("SHUTDOWN", guest ? "{\"guest\": true, \"reason\": \"guest-shutdown\"}"
                                : "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
}

/* ---- HMP commands ---- */

static const char *const hmp_help[] = {
    "cont|c -- resume emulation",
    "help|? [cmd] -- show the help",
    "hostfwd_add [netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport -- "
    "redirect TCP or UDP connections from host to guest",
    "hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport -- remove host-to-guest "
    "TCP or UDP redirection",
    "info status|registers|cpus|block|network|pci|chardev|version|usernet|mtree|qtree|display -- "
    "show information",
    "quit|q -- quit the emulator",
    "screendump [-f ppm|png] filename -- save the screen as an image (PPM unless -f png or a "
    ".png name; a .txt name writes the text-mode characters)",
    "change vnc password [password] -- change the VNC password (asks for it when not given)",
    "set_password vnc password [keep] -- set the VNC password",
    "stop|s -- stop emulation",
    "system_powerdown -- send the system power down event (ACPI power button)",
    "system_reset -- reset the system",
    "x /fmt addr -- virtual memory dump starting at addr",
    "xp /fmt addr -- physical memory dump starting at addr",
    "commit all -- commit changes to the disk images (with -snapshot)",
};

static void do_stop(struct monitor *mon)
{
    (void)mon;
    if (!atomic_load(&mon->m->pause_req)) {
        machine_set_paused(mon->m, true);
        qmp_event("STOP", NULL);
    }
}

static void do_cont(struct monitor *mon)
{
    if (atomic_load(&mon->m->pause_req)) {
        machine_set_paused(mon->m, false);
        qmp_event("RESUME", NULL);
    }
}

static void info_registers(struct monitor *mon)
{
    struct machine *m = mon->m;
    for (int i = 0; i < m->nvcpus; i++) {
        struct x86_state st;
        memset(&st, 0, sizeof(st));
        if (!m->accel->get_state || m->accel->get_state(&m->vcpu[i], &st) < 0) {
            mprintf(mon, "CPU#%d: state not available\n", i);
            continue;
        }
        static const char *const names[16] = {"RAX", "RBX", "RCX", "RDX", "RSI", "RDI",
            "RBP", "RSP", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"};
        static const int order[16] = {0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15};
        if (m->nvcpus > 1)
            mprintf(mon, "CPU#%d\n", i);
        for (int k = 0; k < 16; k++)
            mprintf(mon, "%s=%016" PRIx64 "%s", names[k], st.gpr[order[k]],
                    k % 4 == 3 ? "\n" : " ");
        mprintf(mon, "RIP=%016" PRIx64 " RFL=%08" PRIx64 "\n", st.rip, st.rflags);
        static const char *const sn[6] = {"ES", "CS", "SS", "DS", "FS", "GS"};
        for (int k = 0; k < 6 && k < SEG_COUNT; k++)
            mprintf(mon, "%s =%04x %016" PRIx64 " %08x %04x\n", sn[k], st.seg[k].sel,
                    st.seg[k].base, st.seg[k].limit, st.seg[k].attr);
        mprintf(mon, "LDT=%04x %016" PRIx64 " %08x\n", st.ldtr.sel, st.ldtr.base, st.ldtr.limit);
        mprintf(mon, "TR =%04x %016" PRIx64 " %08x\n", st.tr.sel, st.tr.base, st.tr.limit);
        mprintf(mon, "GDT=     %016" PRIx64 " %08x\n", st.gdtr.base, (unsigned)st.gdtr.limit);
        mprintf(mon, "IDT=     %016" PRIx64 " %08x\n", st.idtr.base, (unsigned)st.idtr.limit);
        mprintf(mon, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64
                "\n", st.cr0, st.cr2, st.cr3, st.cr4);
        mprintf(mon, "EFER=%016" PRIx64 "\n", st.efer);
    }
}

/* Guest-virtual to physical through the page tables (4-level or 2/3-level
 * with PAE), for x: -1 when not mapped. */
static int64_t virt_to_phys(struct machine *m, const struct x86_state *st, uint64_t va)
{
    if (!(st->cr0 & 0x80000000u))
        return (int64_t)(va & 0xffffffffu);
    uint64_t e;
    if (st->cr4 & 0x20) {       /* PAE (and long mode) */
        bool lm = st->efer & 0x400;
        uint64_t table = st->cr3 & (lm ? 0x000ffffffffff000ULL : 0xffffffe0ULL);
        int levels = lm ? 4 : 3;
        for (int l = levels; l >= 1; l--) {
            int shift = 12 + 9 * (l - 1);
            unsigned idx = (unsigned)((va >> shift) & (l == 3 && !lm ? 3 : 511));
            if (machine_phys_read(m, table + idx * 8, &e, 8) < 0 || !(e & 1))
                return -1;
            if (l <= 3 && l >= 2 && (e & 0x80) && (lm || l == 2)) {
                uint64_t mask = (1ULL << shift) - 1;
                return (int64_t)((e & 0x000fffffffffffffULL & ~mask) | (va & mask));
            }
            table = e & 0x000ffffffffff000ULL;
        }
        return (int64_t)(table | (va & 0xfff));
    }
    uint32_t pde, pte;
    if (machine_phys_read(m, (st->cr3 & 0xfffff000u) + ((va >> 22) & 1023) * 4, &pde, 4) < 0 ||
        !(pde & 1))
        return -1;
    if ((pde & 0x80) && (st->cr4 & 0x10))
        return (int64_t)((pde & 0xffc00000u) | (va & 0x3fffff));
    if (machine_phys_read(m, (pde & 0xfffff000u) + ((va >> 12) & 1023) * 4, &pte, 4) < 0 ||
        !(pte & 1))
        return -1;
    return (int64_t)((pte & 0xfffff000u) | (va & 0xfff));
}

/* x/xp: "/[count][format][size] addr", format x d u o c, size b h w g. */
static void do_memdump(struct monitor *mon, const char *args, bool phys, const struct x86_state *st)
{
    unsigned count = 1, size = 4;
    char fmt = 'x';
    while (*args == ' ')
        args++;
    if (*args == '/') {
        args++;
        if (isdigit((unsigned char)*args))
            count = (unsigned)strtoul(args, (char **)&args, 10);
        for (; *args && *args != ' '; args++) {
            switch (*args) {
            case 'x': case 'd': case 'u': case 'o': case 'c': fmt = *args; break;
            case 'b': size = 1; break;
            case 'h': size = 2; break;
            case 'w': size = 4; break;
            case 'g': size = 8; break;
            case 'i': fmt = 'x'; break;     /* no disassembler here: hex */
            default:
                mprintf(mon, "invalid char in format: '%c'\n", *args);
                return;
            }
        }
    }
    if (fmt == 'c')
        size = 1;
    while (*args == ' ')
        args++;
    char *end;
    uint64_t addr = strtoull(args, &end, 0);
    if (end == args) {
        mprintf(mon, "%s: address expected\n", phys ? "xp" : "x");
        return;
    }
    if (count > 4096)
        count = 4096;
    unsigned per_line = fmt == 'c' ? 16 : 16 / size;
    for (unsigned i = 0; i < count; i++) {
        uint64_t a = addr + (uint64_t)i * size;
        if (i % per_line == 0)
            mprintf(mon, "%s%016" PRIx64 ":", i ? "\n" : "", a);
        uint64_t v = 0;
        int64_t pa = phys ? (int64_t)a : virt_to_phys(mon->m, st, a);
        if (pa < 0 || machine_phys_read(mon->m, (uint64_t)pa, &v, size) < 0) {
            mprintf(mon, "\nCannot access memory\n");
            return;
        }
        switch (fmt) {
        case 'x': mprintf(mon, " 0x%0*" PRIx64, (int)size * 2, v); break;
        case 'o': mprintf(mon, " %#" PRIo64, v); break;
        case 'u': mprintf(mon, " %" PRIu64, v); break;
        case 'd': {
            int64_t sv = size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : size == 4 ? (int32_t)v
                                                                                   : (int64_t)v;
            mprintf(mon, " %" PRId64, sv);
            break;
        }
        case 'c':
            if (v >= 32 && v < 127)
                mprintf(mon, " '%c'", (char)v);
            else
                mprintf(mon, " \\x%02x", (unsigned)v);
            break;
        }
    }
    mprintf(mon, "\n");
}

/* ---- display commands (ui/display.c does the work) ---- */

/* screendump [-f ppm|png] FILE [device [head]]: QEMU 7.2's HMP syntax; -f
 * may also follow the name (QEMU's parser takes it there too). */
static void do_screendump(struct monitor *mon, const char *arg)
{
    char buf[LINE_MAX_MON], *file = NULL, *fmt = NULL, *save = NULL, err[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (!strcmp(t, "-f")) {
            if (!(fmt = strtok_r(NULL, " ", &save))) {
                mprintf(mon, "screendump: -f needs a format (ppm or png)\n");
                return;
            }
        } else if (!file) {
            file = t;
        }                           /* device and head: one screen here */
    }
    if (!file) {
        mprintf(mon, "screendump: filename expected\n");
        return;
    }
    if (display_screendump_as(mon->m, file, fmt, err, sizeof(err)) < 0)
        mprintf(mon, "screendump: %s\n", err);
}

static void set_vnc_password(struct monitor *mon, const char *pw)
{
    char err[256];
    if (display_vnc_password(mon_display, pw, err, sizeof(err)) < 0)
        mprintf(mon, "%s\n", err);
}

/* change vnc password [PW]: without PW, QEMU asks "Password: " and takes
 * the next line, not echoed. */
static void do_change(struct monitor *mon, const char *arg)
{
    char dev[32] = "", what[32] = "";
    int n = 0;
    sscanf(arg, "%31s %31s %n", dev, what, &n);
    if (strcmp(dev, "vnc") || (strcmp(what, "password") && strcmp(what, "passwd"))) {
        mprintf(mon, "change: only 'change vnc password [password]' is available here "
                "(media changes: not in tremu)\n");
        return;
    }
    if (n && arg[n]) {
        set_vnc_password(mon, arg + n);
        return;
    }
    mon->pw_prompt = true;
    mon->len = 0;
    mprintf(mon, "Password: ");
}

/* set_password [vnc|spice] PASSWORD [keep|fail|disconnect] (QEMU 7.2). */
static void do_set_password(struct monitor *mon, const char *arg)
{
    char proto[16] = "", pw[LINE_MAX_MON] = "", conn[16] = "";
    sscanf(arg, "%15s %1023s %15s", proto, pw, conn);
    if (strcmp(proto, "vnc")) {
        mprintf(mon, "set_password: protocol '%s' is not available (vnc only)\n", proto);
        return;
    }
    if (conn[0] && strcmp(conn, "keep")) {
        mprintf(mon, "set_password: parameter 'connected' must be 'keep' when 'protocol' is "
                "'vnc'\n");
        return;
    }
    set_vnc_password(mon, pw);
}

static void info_display(struct monitor *mon)
{
    struct machine *m = mon->m;
    mprintf(mon, "VGA: %s\n", m->vga ? vga_mode_name(m->vga) : "none");
    mprintf(mon, "renderer runs: %lu\n", m->vga ? vga_update_count(m->vga) : 0UL);
    mprintf(mon, "frames for viewers: %lu\n", display_frames(mon_display));
}

static void run_line(struct monitor *mon, char *line, bool cpu_stopped);

/* Commands that read CPU state run here, every vCPU stopped. */
static void paused_cmd(void *opaque)
{
    struct monitor *mon = opaque;
    pthread_mutex_lock(&mon->m->lock);
    char line[LINE_MAX_MON];
    snprintf(line, sizeof(line), "%s", mon->pending);
    mon->pending[0] = 0;
    run_line(mon, line, true);
    if (!mon->qmp)
        prompt(mon);
    pthread_mutex_unlock(&mon->m->lock);
}

/* info exits [text|json|csv]: the -d stats table, now (hw/stats_report.h). */
static void info_exits(struct monitor *mon, const char *arg)
{
    while (*arg == ' ')
        arg++;
    enum stats_format f = STATS_TEXT;
    if (!strcmp(arg, "json"))
        f = STATS_JSON;
    else if (!strcmp(arg, "csv"))
        f = STATS_CSV;
    else if (*arg && strcmp(arg, "text")) {
        mprintf(mon, "info exits: format is text, json or csv\n");
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (!mf) {
        mprintf(mon, "info exits: out of memory\n");
        return;
    }
    struct stats_snapshot s;
    stats_collect(mon->m, &s);
    stats_write(&s, f, mf);
    stats_snapshot_free(&s);
    fclose(mf);
    out(mon, buf, len);     /* mprintf would cut it at 4 KiB */
    free(buf);
}

static void info(struct monitor *mon, const char *what)
{
    struct machine *m = mon->m;
    const struct pci_devices_config *pc = m->cfg->pci;
    if (!strcmp(what, "status")) {
        mprintf(mon, "VM status: %s\n", atomic_load(&m->pause_req) ? "paused" : "running");
    } else if (!strcmp(what, "version")) {
        mprintf(mon, TREMU_MON_VERSION " (tremu)\n");
    } else if (!strcmp(what, "cpus")) {
        for (int i = 0; i < m->nvcpus; i++)
            mprintf(mon, "%c CPU #%d: thread_id=%d\n", i == 0 ? '*' : ' ', i, (int)getpid());
    } else if (!strcmp(what, "block")) {
        for (int i = 0; pc && i < pc->ndisks; i++)
            mprintf(mon, "virtio%d: %" PRIu64 " bytes%s (virtio-blk-pci)\n", i,
                    pc->disks[i].be.size, pc->disks[i].be.readonly ? ", read-only" : "");
        for (int i = 0; pc && i < pc->np9; i++)
            mprintf(mon, "9p %s: shared folder (virtio-9p-pci)\n", pc->p9[i].tag);
        if (!pc || (!pc->ndisks && !pc->np9))
            mprintf(mon, "(no block devices)\n");
    } else if (!strcmp(what, "network")) {
        for (int i = 0; pc && i < pc->nnics; i++)
            mprintf(mon, "virtio-net-pci.%d: model=virtio-net-pci,macaddr=%02x:%02x:%02x:%02x:"
                    "%02x:%02x%s\n", i, pc->nics[i].mac[0], pc->nics[i].mac[1],
                    pc->nics[i].mac[2], pc->nics[i].mac[3], pc->nics[i].mac[4],
                    pc->nics[i].mac[5], pc->nics[i].nb ? " (user)" : " (no backend)");
        if (!pc || !pc->nnics)
            mprintf(mon, "(no network devices)\n");
    } else if (!strcmp(what, "pci")) {
        mprintf(mon, "  Bus  0, device   0, function 0:\n    Host bridge: PCI device 8086:1237\n");
        mprintf(mon, "  Bus  0, device   1, function 0:\n    ISA bridge: PCI device 8086:7000\n");
        int n = 0;
        for (int i = 0; pc && i < pc->nnics; i++, n++)
            mprintf(mon, "  virtio-net-pci (PCI device 1af4:1000)\n");
        for (int i = 0; pc && i < pc->ndisks; i++, n++)
            mprintf(mon, "  virtio-blk-pci (PCI device 1af4:1001)\n");
        for (int i = 0; pc && i < pc->np9; i++, n++)
            mprintf(mon, "  virtio-9p-pci (PCI device 1af4:1009)\n");
        if (pc && pc->rng)
            mprintf(mon, "  virtio-rng-pci (PCI device 1af4:1005)\n");
    } else if (!strcmp(what, "chardev")) {
        for (int i = 0; mon->set && i < mon->set->n; i++) {
            char d[256];
            chardev_be_describe(mon->set->e[i].chr, d, sizeof(d));
            mprintf(mon, "%s: filename=%s\n", mon->set->e[i].id, d);
        }
    } else if (!strcmp(what, "usernet")) {
        mprintf(mon, "user-mode networking: see -netdev user (details not available here)\n");
    } else if (!strcmp(what, "mtree") || !strcmp(what, "qtree")) {
        mprintf(mon, "memory: RAM 0-%#" PRIx64 ", above 4G %#" PRIx64 " bytes; "
                "PCI hole up to 0xfec00000; IOAPIC 0xfec00000; BIOS below 4G\n",
                m->lowmem, m->highmem);
    } else if (!strcmp(what, "registers")) {
        info_registers(mon);
    } else if (!strncmp(what, "exits", 5) && (!what[5] || what[5] == ' ')) {
        info_exits(mon, what + 5);
    } else if (!strcmp(what, "display")) {
        info_display(mon);
    } else {
        mprintf(mon, "info: unknown or unsupported item '%s' (try 'help info')\n", what);
    }
}

static bool needs_cpu(const char *cmd, const char *arg)
{
    return !strcmp(cmd, "x") || (!strcmp(cmd, "info") && arg && !strncmp(arg, "registers", 9));
}

/* Returns after printing the command's output (not the prompt). */
static void run_line(struct monitor *mon, char *line, bool cpu_stopped)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t l = strlen(line);
    while (l && (line[l - 1] == ' ' || line[l - 1] == '\r' || line[l - 1] == '\n'))
        line[--l] = 0;
    if (!*line)
        return;
    char cmd[64];
    size_t cl = strcspn(line, " /");
    snprintf(cmd, sizeof(cmd), "%.*s", (int)(cl < 63 ? cl : 63), line);
    const char *arg = line + cl;
    while (*arg == ' ')
        arg++;
    if (needs_cpu(cmd, arg) && !cpu_stopped) {
        snprintf(mon->pending, sizeof(mon->pending), "%s", line);
        machine_call_paused(mon->m, paused_cmd, mon);
        return;
    }
    struct machine *m = mon->m;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "?")) {
        for (size_t i = 0; i < sizeof(hmp_help) / sizeof(hmp_help[0]); i++)
            if (!*arg || !strncmp(hmp_help[i], arg, strlen(arg)))
                mprintf(mon, "%s\n", hmp_help[i]);
    } else if (!strcmp(cmd, "info")) {
        if (!*arg)
            mprintf(mon, "info status|registers|cpus|block|network|pci|chardev|version|usernet"
                    "|mtree|qtree|exits\n");
        else
            info(mon, arg);
    } else if (!strcmp(cmd, "stop") || !strcmp(cmd, "s")) {
        do_stop(mon);
    } else if (!strcmp(cmd, "cont") || !strcmp(cmd, "c")) {
        do_cont(mon);
    } else if (!strcmp(cmd, "system_reset")) {
        machine_request(m, REQ_RESET, 0);
        qmp_event("RESET", "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
    } else if (!strcmp(cmd, "system_powerdown")) {
        pc_power_button(m);
        qmp_event("POWERDOWN", NULL);
    } else if (!strcmp(cmd, "quit") || !strcmp(cmd, "q")) {
        monitor_event_shutdown(false);
        machine_request(m, REQ_SHUTDOWN, 0);
        if (m->paused)
            machine_set_paused(m, false);
    } else if (!strcmp(cmd, "xp") || !strcmp(cmd, "x")) {
        struct x86_state st;
        memset(&st, 0, sizeof(st));
        if (cmd[0] == 'x' && cmd[1] == 0 && m->accel->get_state)
            m->accel->get_state(&m->vcpu[0], &st);
        do_memdump(mon, arg, cmd[1] == 'p', &st);
    } else if (!strcmp(cmd, "commit")) {
        mprintf(mon, "commit: tremu writes disk images directly (no -snapshot overlay to "
                "commit)\n");
    } else if (!strcmp(cmd, "hostfwd_add") || !strcmp(cmd, "hostfwd_remove")) {
        do_hostfwd(mon, cmd, arg, cmd[8] == 'a');
    } else if (!strcmp(cmd, "screendump")) {
        do_screendump(mon, arg);
    } else if (!strcmp(cmd, "change")) {
        do_change(mon, arg);
    } else if (!strcmp(cmd, "set_password")) {
        do_set_password(mon, arg);
    } else if (!strcmp(cmd, "sendkey") || !strcmp(cmd, "drive_add")) {
        mprintf(mon, "%s: not available in tremu (no display/keyboard injection)\n", cmd);
    } else {
        mprintf(mon, "unknown command: '%s'\n", cmd);
    }
}

/* ---- QMP input ---- */

/* A minimal JSON reader: finds top-level members of one object. */
static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *json_skip(const char *p)
{
    p = json_ws(p);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        bool str = false;
        for (; *p; p++) {
            if (str) {
                if (*p == '\\' && p[1])
                    p++;
                else if (*p == '"')
                    str = false;
            } else if (*p == '"') {
                str = true;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return NULL;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
        p++;
    return p;
}

/* Copies the member `key` of the object at obj as raw JSON into out. */
static bool json_member(const char *obj, const char *key, char *out, size_t outlen)
{
    const char *p = json_ws(obj);
    if (*p != '{')
        return false;
    p++;
    for (;;) {
        p = json_ws(p);
        if (*p != '"')
            return false;
        const char *ks = p + 1;
        const char *ke = json_skip(p);
        if (!ke)
            return false;
        size_t kl = (size_t)(ke - 1 - ks);
        p = json_ws(ke);
        if (*p != ':')
            return false;
        const char *vs = json_ws(p + 1);
        const char *ve = json_skip(vs);
        if (!ve)
            return false;
        if (kl == strlen(key) && !strncmp(ks, key, kl)) {
            size_t vl = (size_t)(ve - vs);
            if (vl >= outlen)
                return false;
            memcpy(out, vs, vl);
            out[vl] = 0;
            return true;
        }
        p = json_ws(ve);
        if (*p != ',')
            return false;
        p++;
    }
}

/* A JSON string value (raw, with quotes) decoded in place. */
static bool json_unquote(char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return false;
    char *o = s;
    for (size_t i = 1; i < n - 1; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n - 1) {
            c = s[++i];
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                if (i + 4 < n - 1) {
                    char hex[5] = {s[i + 1], s[i + 2], s[i + 3], s[i + 4], 0};
                    unsigned long u = strtoul(hex, NULL, 16);
                    c = u < 128 ? (char)u : '?';
                    i += 4;
                }
                break;
            default: break;
            }
        }
        *o++ = c;
    }
    *o = 0;
    return true;
}

static void qmp_reply(struct monitor *mon, const char *id, const char *ret_json)
{
    mprintf(mon, "{\"return\": %s%s%s}\r\n", ret_json, id[0] ? ", \"id\": " : "", id);
}

static void qmp_error(struct monitor *mon, const char *id, const char *cls, const char *desc)
{
    mprintf(mon, "{\"error\": {\"class\": \"%s\", \"desc\": ", cls);
    json_str(mon, desc);
    mprintf(mon, "}%s%s}\r\n", id[0] ? ", \"id\": " : "", id);
}

/* A string argument of a QMP command, decoded; false when absent. */
static bool qmp_str_arg(const char *args, const char *key, char *out, size_t outlen)
{
    return json_member(args, key, out, outlen) && json_unquote(out);
}

/* screendump, set_password, change-vnc-password. False: not one of them. */
static bool qmp_display(struct monitor *mon, const char *exec, const char *id, const char *args)
{
    char a[LINE_MAX_MON], b[64], err[256];
    int r;
    if (!strcmp(exec, "screendump")) {
        if (!qmp_str_arg(args, "filename", a, sizeof(a))) {
            qmp_error(mon, id, "GenericError", "Parameter 'filename' is missing");
            return true;
        }
        bool has_fmt = qmp_str_arg(args, "format", b, sizeof(b));
        /* QMP's default is ppm whatever the name (QEMU 7.2). */
        r = display_screendump_as(mon->m, a, has_fmt ? b : "ppm", err, sizeof(err));
    } else if (!strcmp(exec, "set_password") || !strcmp(exec, "change-vnc-password")) {
        bool setpw = exec[0] == 's';
        if (setpw && (!qmp_str_arg(args, "protocol", b, sizeof(b)) || strcmp(b, "vnc"))) {
            qmp_error(mon, id, "GenericError", "Parameter 'protocol' must be 'vnc' here");
            return true;
        }
        if (!qmp_str_arg(args, "password", a, sizeof(a))) {
            qmp_error(mon, id, "GenericError", "Parameter 'password' is missing");
            return true;
        }
        r = display_vnc_password(mon_display, a, err, sizeof(err));
    } else {
        return false;
    }
    if (r < 0)
        qmp_error(mon, id, "GenericError", err);
    else
        qmp_reply(mon, id, "{}");
    return true;
}

static void qmp_command(struct monitor *mon, const char *obj)
{
    char exec[128] = "", id[256] = "", args[LINE_MAX_MON] = "{}";
    json_member(obj, "id", id, sizeof(id));
    if (!json_member(obj, "execute", exec, sizeof(exec)) || !json_unquote(exec)) {
        qmp_error(mon, id, "GenericError", "QMP input lacks member 'execute'");
        return;
    }
    json_member(obj, "arguments", args, sizeof(args));
    struct machine *m = mon->m;
    if (!strcmp(exec, "qmp_capabilities")) {
        mon->qmp_ready = true;
        qmp_reply(mon, id, "{}");
        return;
    }
    if (!mon->qmp_ready) {
        qmp_error(mon, id, "CommandNotFound",
                  "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    if (!strcmp(exec, "query-status")) {
        bool p = atomic_load(&m->pause_req);
        char r[128];
        snprintf(r, sizeof(r), "{\"status\": \"%s\", \"singlestep\": false, \"running\": %s}",
                 p ? "paused" : "running", p ? "false" : "true");
        qmp_reply(mon, id, r);
    } else if (!strcmp(exec, "stop")) {
        qmp_reply(mon, id, "{}");
        do_stop(mon);
    } else if (!strcmp(exec, "cont")) {
        qmp_reply(mon, id, "{}");
        do_cont(mon);
    } else if (!strcmp(exec, "system_powerdown")) {
        qmp_reply(mon, id, "{}");
        pc_power_button(m);
        qmp_event("POWERDOWN", NULL);
    } else if (!strcmp(exec, "system_reset")) {
        qmp_reply(mon, id, "{}");
        machine_request(m, REQ_RESET, 0);
        qmp_event("RESET", "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
    } else if (!strcmp(exec, "quit")) {
        qmp_reply(mon, id, "{}");
        monitor_event_shutdown(false);
        machine_request(m, REQ_SHUTDOWN, 0);
        if (m->paused)
            machine_set_paused(m, false);
    } else if (!strcmp(exec, "query-version")) {
        qmp_reply(mon, id, "{\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                  "\"package\": \" (tremu)\"}");
    } else if (!strcmp(exec, "query-commands")) {
        qmp_reply(mon, id, "[{\"name\": \"qmp_capabilities\"}, {\"name\": \"query-status\"}, "
                  "{\"name\": \"stop\"}, {\"name\": \"cont\"}, {\"name\": \"system_powerdown\"}, "
                  "{\"name\": \"system_reset\"}, {\"name\": \"quit\"}, "
                  "{\"name\": \"human-monitor-command\"}, {\"name\": \"query-version\"}, "
                  "{\"name\": \"query-commands\"}]");
    } else if (!strcmp(exec, "human-monitor-command")) {
        char cl[LINE_MAX_MON];
        if (!json_member(args, "command-line", cl, sizeof(cl)) || !json_unquote(cl)) {
            qmp_error(mon, id, "GenericError", "Parameter 'command-line' is missing");
            return;
        }
        char line[LINE_MAX_MON];
        snprintf(line, sizeof(line), "%s", cl);
        char tmp[128];
        size_t c = strcspn(line, " /");
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(c < 100 ? c : 100), line);
        if (needs_cpu(tmp, line + c + strspn(line + c, " "))) {
            /* State reads need stopped vCPUs, which this turn of the loop
             * cannot wait for: say so rather than block. */
            qmp_error(mon, id, "GenericError", "this command needs the VM stopped in tremu's "
                      "QMP: use it over HMP, or 'stop' first");
            if (!m->paused)
                return;
        }
        mon->cap = malloc(256);
        mon->cap_size = mon->cap ? 256 : 0;
        mon->cap_len = 0;
        if (mon->cap)
            mon->cap[0] = 0;
        run_line(mon, line, m->paused);
        char *res = mon->cap;
        mon->cap = NULL;
        out(mon, "{\"return\": ", 11);
        json_str(mon, res ? res : "");
        mprintf(mon, "%s%s}\r\n", id[0] ? ", \"id\": " : "", id);
        free(res);
    } else if (!qmp_display(mon, exec, id, args)) {
        char d[200];
        snprintf(d, sizeof(d), "The command %s has not been found", exec);
        qmp_error(mon, id, "CommandNotFound", d);
    }
}

static void qmp_greet(struct monitor *mon)
{
    mon->qmp_ready = false;
    mon->qlen = 0;
    mon->qdepth = 0;
    mon->qstr = mon->qesc = false;
    mprintf(mon, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
            "\"major\": 7}, \"package\": \" (tremu)\"}, \"capabilities\": [\"oob\"]}}\r\n");
}

static void qmp_input(struct monitor *mon, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = (char)buf[i];
        if (mon->qdepth == 0 && c != '{')
            continue;               /* whitespace between objects */
        if (mon->qlen + 2 >= QMP_MAX) {
            qmp_error(mon, "", "GenericError", "JSON object too large");
            mon->qlen = 0;
            mon->qdepth = 0;
            continue;
        }
        mon->qbuf[mon->qlen++] = c;
        if (mon->qstr) {
            if (mon->qesc)
                mon->qesc = false;
            else if (c == '\\')
                mon->qesc = true;
            else if (c == '"')
                mon->qstr = false;
        } else if (c == '"') {
            mon->qstr = true;
        } else if (c == '{' || c == '[') {
            mon->qdepth++;
        } else if (c == '}' || c == ']') {
            if (--mon->qdepth == 0) {
                mon->qbuf[mon->qlen] = 0;
                qmp_command(mon, mon->qbuf);
                mon->qlen = 0;
            }
        }
    }
}

/* ---- HMP input ---- */

static void hmp_input(struct monitor *mon, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = (char)buf[i];
        if (c == '\r' || c == '\n') {
            if (c == '\n' && i > 0 && buf[i - 1] == '\r')
                continue;
            if (mon->echo)
                out(mon, "\n", 1);
            mon->line[mon->len] = 0;
            mon->len = 0;
            if (mon->pw_prompt) {
                mon->pw_prompt = false;
                set_vnc_password(mon, mon->line);
                prompt(mon);
                continue;
            }
            if (mon->pending[0]) {
                mprintf(mon, "(busy)\n");
                continue;
            }
            char line[LINE_MAX_MON];
            snprintf(line, sizeof(line), "%s", mon->line);
            run_line(mon, line, false);
            if (!mon->pending[0] && !mon->pw_prompt)
                prompt(mon);
        } else if (c == 0x7f || c == 0x08) {
            if (mon->len) {
                mon->len--;
                if (mon->echo && !mon->pw_prompt)
                    out(mon, "\b \b", 3);
            }
        } else if ((unsigned char)c >= 0x20 && mon->len + 1 < sizeof(mon->line)) {
            mon->line[mon->len++] = c;
            if (mon->echo && !mon->pw_prompt)
                out(mon, &c, 1);
        }
    }
}

static int mon_can_receive(void *opaque)
{
    struct monitor *mon = opaque;
    return mon->pending[0] ? 0 : 256;
}

static void mon_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct monitor *mon = opaque;
    if (mon->qmp)
        qmp_input(mon, buf, len);
    else
        hmp_input(mon, buf, len);
}

/* A socket client connected: greet it as QEMU does. */
static void mon_connected(void *opaque)
{
    struct monitor *mon = opaque;
    if (mon->qmp) {
        qmp_greet(mon);
    } else {
        mon->len = 0;
        mprintf(mon, "QEMU " TREMU_MON_VERSION " monitor (tremu) - type 'help' for more "
                "information\n");
        prompt(mon);
    }
}

static void mon_focus(void *opaque)
{
    struct monitor *mon = opaque;
    mon->len = 0;
    mprintf(mon, "QEMU " TREMU_MON_VERSION " monitor (tremu) - type 'help' for more "
            "information\n");
    prompt(mon);
}

struct monitor *monitor_new(struct machine *m, struct chardev *chr, bool qmp, bool pretty,
                            struct chardev_set *set)
{
    struct monitor *mon = calloc(1, sizeof(*mon));
    if (!mon)
        return NULL;
    mon->m = m;
    mon->chr = chr;
    mon->qmp = qmp;
    mon->pretty = pretty;
    mon->set = set;
    if (qmp && !(mon->qbuf = malloc(QMP_MAX))) {
        free(mon);
        return NULL;
    }
    mon->next = all_monitors;
    all_monitors = mon;
    /* On the stdio mux the monitor is the second frontend (Ctrl-A C);
     * elsewhere it owns the chardev. */
    if (!qmp && chardev_mux_attach(chr, mon_receive, mon_focus, mon)) {
        mon->echo = true;
        return mon;
    }
    chardev_set_frontend(chr, mon_can_receive, mon_receive, mon);
    if (chardev_be_on_connect(chr, mon_connected, mon))
        return mon;               /* greeted when a client comes */
    mon_connected(mon);
    return mon;
}
