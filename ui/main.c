/* tremu: the command line (the qemu-system-x86_64 subset course scripts use). */
#include "hw/machine.h"
#include "ui/char.h"
#include "ui/netopt.h"
#include "ui/drive.h"
#include "ui/display.h"
#include "ui/firmware.h"
#include "ui/idedrive.h"
#include "ui/chardev_opt.h"
#include "ui/fsdev_opt.h"
#include "ui/compat_opt.h"
#include "ui/monitor.h"
#include "hw/pc_pci.h"
#include "hw/stats_report.h"
#include "block/block.h"
#include "net/slirp.h"
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TREMU_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
"usage: tremu [options]\n"
"tremu " TREMU_VERSION ": an x86-64 PC emulator (qemu-system-x86_64 compatible subset)\n\n"
"Machine:\n"
"  -m SIZE              guest RAM: 512, 512M, 2G (default 512 MiB)\n"
"  -smp N               number of CPUs (N>1 runs 1 vCPU for now, with a warning)\n"
"  -M, -machine pc[,accel=A]  the PC machine\n"
"  -accel A[,opts]      kvm, tcg, auto (default) or kvm:tcg;\n"
"                       kvm options: kernel-irqchip=on|off, fallback=on|off\n"
"                       tcg options: jit=on|off|verify, tb-size=MiB, pg=off|log|naive,\n"
"                       pg-timeout=SECONDS (docs/popek-goldberg.md)\n"
"  -enable-kvm          same as -accel kvm (falls back to tcg with a warning)\n"
"Boot:\n"
"  -kernel FILE         bzImage, PVH ELF vmlinux, or multiboot image\n"
"  -initrd FILE[,FILE]  initrd (multiboot: modules, comma-separated)\n"
"  -append CMDLINE      kernel command line\n"
"  -bios FILE           raw firmware image (starts at F000:FFF0); without -kernel\n"
"                       and -bios, SeaBIOS (bios-256k.bin) boots the disks\n"
"  -L DIR               directory searched first for bios-256k.bin\n"
"  -debugcon file:PATH|stdio  port 0x402 (SeaBIOS's debug log)\n"
"  -boot [order=]cdn[,menu=on|off][,reboot-timeout=MS]   firmware boot order\n"
"  -no-reboot           exit instead of rebooting\n"
"Devices and display:\n"
"  -serial DEV          stdio, mon:stdio, pty, null, none, file:PATH, pipe:PATH,\n"
"                       tcp:HOST:PORT[,server=on,wait=off], telnet:, unix:PATH, udp:,\n"
"                       chardev:ID, /dev/ttyS0 (repeat for COM2-4)\n"
"  -chardev socket,id=ID,host=H,port=P[,server=on,wait=off][,reconnect=N][,ipv4=on]\n"
"           (also path= for unix sockets; udp, pty, file, pipe, serial, stdio, null,\n"
"           ringbuf; mux=on with stdio)\n"
"  -device isa-serial,chardev=ID[,index=N][,iobase=,irq=]   another COM port\n"
"  -fsdev local,id=ID,path=DIR,security_model=none|passthrough|mapped-xattr[,readonly=on]\n"
"  -device virtio-9p-pci,fsdev=ID,mount_tag=TAG   -virtfs local,path=,mount_tag=,...\n"
"  -nographic           no display; serial on the terminal (Ctrl-A H for keys)\n"
"  -display none|sdl    no display, or an SDL2 window (default when $DISPLAY is set)\n"
"  -vga std|none        QEMU's standard VGA (default with a display, -vnc or -screendump)\n"
"  -vnc [HOST]:N[,password=on]  VNC server on port 5900+N (no HOST: 127.0.0.1 only);\n"
"                       -vnc unix:PATH, -vnc none; password from $TREMU_VNC_PASSWORD\n"
"                       or the monitor (change vnc password, set_password vnc PW)\n"
"  -screendump FILE     at exit write the screen to FILE (.png, or .txt: text-mode chars)\n"
"  -monitor DEV         stdio, none, /dev/null, tcp:, telnet:, unix: (HMP; Ctrl-A C\n"
"                       switches to it under -nographic); -qmp DEV (QMP)\n"
"  -device isa-debug-exit[,iobase=0xf4,iosize=0x04]\n"
"  -device virtio-tablet-pci   absolute pointer for VNC/SDL (usb-tablet becomes one)\n"
"Disks (IDE or virtio-blk; raw or qcow2 with backing files):\n"
"  -drive file=F[,if=ide|virtio|none][,format=raw|qcow2][,readonly=on][,snapshot=on]\n"
"         [,media=disk|cdrom][,index=N]\n"
"         [,cache=writeback|none|writethrough|directsync|unsafe][,id=ID]\n"
"  -hda F ... -hdd F    IDE disks (PIIX3; -drive default interface too)\n"
"  -cdrom F             IDE CD-ROM (secondary master), bootable with -boot d\n"
"  -snapshot            write to temporary overlays; images stay untouched\n"
"  -device virtio-blk-pci,drive=ID   -device virtio-rng-pci\n"
"Network (user-mode, virtio-net-pci NICs):\n"
"  -netdev user,id=ID[,hostfwd=[tcp|udp]:[haddr]:hport-[gaddr]:gport]...\n"
"  -device virtio-net-pci,netdev=ID[,mac=52:54:00:..][,addr=SLOT]\n"
"  -nic user[,model=virtio][,mac=M][,hostfwd=...]   -nic none\n"
"  -net nic[,model=M][,macaddr=M]  -net user[,hostfwd=...]  -net none\n"
"                       hostfwd without haddr listens on 127.0.0.1 only\n"
"  -nodefaults, -no-user-config\n"
"Debugging:\n"
"  -d ITEMS             comma-separated: stats, unimp, int, in_asm, exec, cpu,\n"
"                       guest_errors, post, boot (-d help lists them)\n"
"  -d stats[,interval=N][,format=text|json|csv][,file=PATH]\n"
"                       exits and traps by cause at exit (both engines, same\n"
"                       names); a line of per-second rates every N s; the\n"
"                       table as JSON or CSV into PATH (docs/stats.md)\n"
"  -D FILE              log to FILE instead of stderr\n"
"  -name NAME, -pidfile FILE, -version, -h\n");
    compat_print_help(f);
}

static const char *pidfile_path;
static void remove_pidfile(void)
{
    if (pidfile_path)
        unlink(pidfile_path);
}

static void on_fatal_signal(int sig)
{
    chardev_restore_terminal();
    remove_pidfile();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int die(const char *fmt, const char *arg)
{
    fprintf(stderr, "tremu: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 1;
}

/* QEMU's size syntax: a number, MiB by default, with k/M/G/T suffix. */
static int parse_mem_size(const char *s, uint64_t *out)
{
    if (!strncmp(s, "size=", 5))
        s += 5;
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    double v = strtod(s, &end);
    if (errno || end == s || v <= 0)
        return -1;
    uint64_t mul = 1ULL << 20;
    switch (*end) {
    case 0: break;
    case 'b': case 'B': mul = 1; end++; break;
    case 'k': case 'K': mul = 1ULL << 10; end++; break;
    case 'm': case 'M': mul = 1ULL << 20; end++; break;
    case 'g': case 'G': mul = 1ULL << 30; end++; break;
    case 't': case 'T': mul = 1ULL << 40; end++; break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'B')   /* tolerate MiB / MB spellings */
        end++;
    if (*end == 'B')
        end++;
    if (*end && *end != ',')
        return -1;
    double bytes = v * (double)mul;
    if (bytes > (double)(1ULL << 40))
        return -1;
    *out = (uint64_t)bytes;
    return 0;
}

struct dbg_item { const char *name; unsigned bit; const char *help; };
static const struct dbg_item dbg_items[] = {
    {"stats", DBG_STATS, "print event counters by cause at exit"},
    {"unimp", DBG_UNIMP, "log accesses to unclaimed ports and MMIO"},
    {"int", DBG_INT, "log interrupts and exceptions"},
    {"in_asm", DBG_IN_ASM, "show guest code as it is translated (tcg)"},
    {"out_asm", DBG_OUT_ASM, "show the host code the JIT made of each block (tcg)"},
    {"exec", DBG_EXEC, "trace each executed block (tcg)"},
    {"cpu", DBG_CPU, "show CPU state before each block (tcg)"},
    {"guest_errors", DBG_GUEST_ERRORS, "log guest mistakes (bad register values)"},
    {"post", DBG_POST, "log port 0x80 POST codes"},
    {"boot", DBG_BOOT, "log boot stopwatch marks with elapsed time"},
};

static int parse_debug(const char *arg, unsigned *mask, struct stats_config *sc)
{
    char buf[1024];
    if (strlen(arg) >= sizeof(buf)) {
        fprintf(stderr, "tremu: -d: argument too long\n");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "help")) {
            printf("Log items (comma separated):\n");
            for (size_t i = 0; i < sizeof(dbg_items) / sizeof(dbg_items[0]); i++)
                printf("%-13s %s\n", dbg_items[i].name, dbg_items[i].help);
            printf("stats options: interval=N (a line of per-second rates every N s), "
                   "format=text|json|csv, file=PATH (docs/stats.md)\n");
            exit(0);
        }
        if (strchr(t, '=')) {           /* stats,interval=1,format=json,file=PATH */
            char err[256];
            if (stats_config_item(sc, t, err, sizeof(err)) < 0) {
                fprintf(stderr, "tremu: %s\n", err);
                return -1;
            }
            *mask |= DBG_STATS;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof(dbg_items) / sizeof(dbg_items[0]); i++)
            if (!strcmp(t, dbg_items[i].name)) {
                *mask |= dbg_items[i].bit;
                break;
            }
        if (i == sizeof(dbg_items) / sizeof(dbg_items[0])) {
            fprintf(stderr, "tremu: -d: unknown log item '%s' (try -d help)\n", t);
            return -1;
        }
    }
    return 0;
}

/* key=value lists: returns the value of key in "a,k=v,..." or NULL. */
static const char *opt_get(const char *list, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t vl = len - kl - 1;
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return out;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static int parse_device(struct machine_config *cfg, const char *arg)
{
    char driver[64];
    size_t n = strcspn(arg, ",");
    if (n >= sizeof(driver))
        return die("-device: driver name too long: %s", arg);
    memcpy(driver, arg, n);
    driver[n] = 0;
    if (!strcmp(driver, "isa-debug-exit")) {
        char v[32];
        cfg->debug_exit = true;
        cfg->debug_exit_base = 0x501;   /* QEMU's default iobase */
        cfg->debug_exit_size = 2;
        /* Reject keys we do not know, as QEMU does. */
        const char *p = arg + n;
        while (*p == ',') {
            p++;
            size_t kl = strcspn(p, "=,");
            if (!((kl == 6 && !strncmp(p, "iobase", 6)) || (kl == 6 && !strncmp(p, "iosize", 6)) ||
                  (kl == 2 && !strncmp(p, "id", 2))))
                return die("-device isa-debug-exit: unknown property in '%s'", arg);
            p += strcspn(p, ",");
        }
        if (opt_get(arg, "iobase", v, sizeof(v))) {
            char *e;
            unsigned long b = strtoul(v, &e, 0);
            if (*e || b > 0xffff)
                return die("-device isa-debug-exit: bad iobase '%s'", v);
            cfg->debug_exit_base = (uint16_t)b;
        }
        if (opt_get(arg, "iosize", v, sizeof(v))) {
            char *e;
            unsigned long s = strtoul(v, &e, 0);
            if (*e || s == 0 || s > 8)
                return die("-device isa-debug-exit: bad iosize '%s' (1-8)", v);
            cfg->debug_exit_size = (uint16_t)s;
        }
        if ((unsigned)cfg->debug_exit_base + cfg->debug_exit_size > 0x10000)
            return die("-device isa-debug-exit: range past port 0xffff%s", "");
        return 0;
    }
    if (!strcmp(driver, "virtio-rng-pci") || !strcmp(driver, "virtio-rng")) {
        cfg->pci->rng = true;
        return 0;
    }
    if (display_tablet_device(driver, &cfg->pci->tablet))
        return 0;
    if (!strcmp(driver, "help"))
        return die("available devices: isa-debug-exit, virtio-blk-pci, virtio-net-pci, "
                   "virtio-rng-pci, virtio-tablet-pci%s", "");
    return die("-device: unsupported device '%s'", driver);
}

static int check_readable(const char *what, const char *path)
{
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "tremu: %s: cannot open '%s': %s\n", what, path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct machine_config cfg;
    static struct machine m;
    static struct chardev_cmdline chardevs;
    static struct fsdev_cmdline fsdevs;
    static struct compat_opts compat;
    bool nographic = false, nodefaults = false, display_none = false;
    const char *logfile = NULL;
    char err[256];
    static struct netopt net;
    netopt_init(&net);
    static struct pci_devices_config pcicfg;
    static struct drive_config drives[PC_PCI_MAX_DISKS];
    static char blk_devices[PC_PCI_MAX_DISKS][64];   /* -device virtio-blk-pci,drive=ID */
    int ndrives = 0, nblk_devices = 0;
    bool snapshot_all = false;
    static struct display_opts dopts = {.vga = -1};
    cfg.pci = &pcicfg;

    cfg.ram_size = 512ULL << 20;
    cfg.smp = 1;
    cfg.accel.fallback = true;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (opt[0] != '-')
            return die("unexpected argument '%s' (options start with -)", opt);
        if (opt[1] == '-')
            opt++;    /* --option == -option, as in QEMU */
        const char *arg = NULL;
#define NEEDARG() do { if (i + 1 >= argc) return die("option %s needs an argument", opt); arg = argv[++i]; } while (0)
        if (!strcmp(opt, "-h") || !strcmp(opt, "-help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(opt, "-version")) {
            printf("tremu version " TREMU_VERSION " (qemu-system-x86_64 compatible subset)\n");
            return 0;
        } else if (!strcmp(opt, "-m")) {
            NEEDARG();
            if (parse_mem_size(arg, &cfg.ram_size) < 0)
                return die("-m: invalid RAM size '%s' (examples: 512, 512M, 2G)", arg);
            if (cfg.ram_size < (2ULL << 20))
                return die("-m: %s is too small (at least 2 MiB)", arg);
            cfg.ram_size &= ~0xfffULL;
        } else if (!strcmp(opt, "-smp")) {
            NEEDARG();
            char v[32];
            const char *n = isdigit((unsigned char)arg[0]) ? arg : opt_get(arg, "cpus", v, sizeof(v));
            char *e;
            long c = n ? strtol(n, &e, 10) : 0;
            if (!n || c < 1 || (*e && *e != ','))
                return die("-smp: invalid value '%s'", arg);
            /* QEMU's pc machine accepts up to 288 CPUs; beyond that is an
             * error in either emulator. Within it, scripts written for QEMU
             * (the course launcher passes -smp 2) must run: the guest gets
             * fewer CPUs than asked, which it copes with, and we say so. */
            if (c > 288)
                return die("-smp %s: at most 288 CPUs", arg);
            if (c > MAX_VCPUS) {
                fprintf(stderr, "tremu: -smp %ld: SMP is not implemented yet; running %d vCPU\n",
                        c, MAX_VCPUS);
                c = MAX_VCPUS;
            }
            cfg.smp = (int)c;
        } else if (!strcmp(opt, "-kernel")) {
            NEEDARG(); cfg.kernel = arg;
        } else if (!strcmp(opt, "-initrd")) {
            NEEDARG(); cfg.initrd = arg;
        } else if (!strcmp(opt, "-append")) {
            NEEDARG(); cfg.append = arg;
        } else if (!strcmp(opt, "-bios")) {
            NEEDARG(); cfg.bios = arg;
        } else if (!strcmp(opt, "-boot")) {
            NEEDARG();
            if (firmware_parse_boot(&cfg, arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-debugcon")) {
            NEEDARG();
            /* QEMU's chardev syntax, the useful subset: file:PATH, stdio */
            if (!strcmp(arg, "stdio"))
                cfg.debugcon = stdout;
            else if (!strncmp(arg, "file:", 5) && arg[5]) {
                if (!(cfg.debugcon = fopen(arg + 5, "w")))
                    return die("-debugcon: cannot write '%s'", arg + 5);
            } else if (strcmp(arg, "none") && strcmp(arg, "null"))
                return die("-debugcon %s: use file:PATH, stdio or none", arg);
        } else if (!strcmp(opt, "-L")) {
            NEEDARG();
            if (firmware_add_dir(arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-fsdev") || !strcmp(opt, "-virtfs")) {
            NEEDARG();
            if (fsdev_cmdline_option(&fsdevs, opt, arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-serial") || !strcmp(opt, "-chardev") ||
                   !strcmp(opt, "-monitor") || !strcmp(opt, "-qmp") ||
                   !strcmp(opt, "-qmp-pretty")) {
            NEEDARG();
            if (chardev_cmdline_option(&chardevs, opt, arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-nographic")) {
            nographic = true;
        } else if (display_is_option(opt)) {       /* -display -vga -vnc -screendump */
            NEEDARG();
            if (display_option(&dopts, opt, arg) < 0)
                return 1;
            display_none = dopts.kind == DISPLAY_NONE;
        } else if (!strcmp(opt, "-accel")) {
            NEEDARG();
            if (accel_parse(&cfg.accel, arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-enable-kvm")) {
            if (accel_parse(&cfg.accel, "kvm", err, sizeof(err)) < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-M") || !strcmp(opt, "-machine")) {
            NEEDARG();
            char type[64];
            size_t n = strcspn(arg, ",");
            snprintf(type, sizeof(type), "%.*s", (int)(n < 63 ? n : 63), arg);
            const char *rest = arg;
            if (strchr(type, '=')) {
                /* -machine accel=kvm with no type */
                type[0] = 0;
            } else {
                rest = arg + n + (arg[n] == ',');
            }
            if (type[0] && strcmp(type, "pc") && strncmp(type, "pc-i440fx", 9))
                return die("-machine %s: only the 'pc' machine is supported", type);
            char v[64];
            if (opt_get(rest, "accel", v, sizeof(v)) &&
                accel_parse(&cfg.accel, v, err, sizeof(err)) < 0)
                return die("%s", err);
            /* Check the remaining keys: accel is the one we act on; a few
             * harmless QEMU ones are accepted. */
            for (const char *p = rest; p && *p;) {
                size_t kl = strcspn(p, "=,");
                static const char *ok[] = {"accel", "type", "usb", "vmport", "dump-guest-core",
                                           "mem-merge", "kernel-irqchip", NULL};
                int good = 0;
                for (int k = 0; ok[k]; k++)
                    if (strlen(ok[k]) == kl && !strncmp(p, ok[k], kl))
                        good = 1;
                if (!good)
                    return die("-machine: unsupported property in '%s'", arg);
                if (kl == 14 && !strncmp(p, "kernel-irqchip", 14) &&
                    opt_get(rest, "kernel-irqchip", v, sizeof(v))) {
                    char a[128];
                    snprintf(a, sizeof(a), "kvm,kernel-irqchip=%s", v);
                    if (accel_parse(&cfg.accel, a, err, sizeof(err)) < 0)
                        return die("%s", err);
                }
                const char *c = strchr(p, ',');
                p = c ? c + 1 : NULL;
            }
        } else if (!strcmp(opt, "-no-reboot")) {
            cfg.no_reboot = true;
        } else if (!strcmp(opt, "-nodefaults")) {
            nodefaults = true;
        } else if (!strcmp(opt, "-no-user-config")) {
            /* tremu reads no config files */
        } else if (!strcmp(opt, "-drive")) {
            NEEDARG();
            if (ndrives >= PC_PCI_MAX_DISKS)
                return die("too many drives (at most %s)", "8");
            if (drive_parse(arg, &drives[ndrives], err, sizeof(err)) < 0)
                return die("-drive: %s", err);
            ndrives++;
        } else if (!strcmp(opt, "-hda") || !strcmp(opt, "-hdb") || !strcmp(opt, "-hdc") ||
                   !strcmp(opt, "-hdd")) {
            NEEDARG();
            if (ndrives >= PC_PCI_MAX_DISKS)
                return die("too many drives (at most %s)", "8");
            if (drive_from_hd(arg, opt[3] - 'a', &drives[ndrives], err, sizeof(err)) < 0)
                return die("%s", err);
            ndrives++;
        } else if (!strcmp(opt, "-cdrom")) {
            NEEDARG();
            if (ndrives >= PC_PCI_MAX_DISKS)
                return die("too many drives (at most %s)", "8");
            /* QEMU: -drive file=F,index=2,media=cdrom (secondary master) */
            if (drive_from_hd(arg, 2, &drives[ndrives], err, sizeof(err)) < 0)
                return die("-cdrom: %s", err);
            drives[ndrives].media = DRIVE_MEDIA_CDROM;
            drives[ndrives].opts.readonly = true;
            ndrives++;
        } else if (!strcmp(opt, "-snapshot")) {
            snapshot_all = true;
        } else if (!strcmp(opt, "-device") && !strncmp(argv[i + 1 < argc ? i + 1 : i], "virtio-blk-pci", 14)) {
            NEEDARG();
            char id[64];
            if (arg[14] != ',' || !opt_get(arg + 15, "drive", id, sizeof(id)))
                return die("-device virtio-blk-pci: needs drive=ID (of a -drive if=none,id=ID)%s", "");
            if (nblk_devices >= PC_PCI_MAX_DISKS)
                return die("too many virtio-blk devices%s", "");
            snprintf(blk_devices[nblk_devices++], sizeof(blk_devices[0]), "%s", id);
        } else if (!strcmp(opt, "-device")) {
            NEEDARG();
            int cr = chardev_cmdline_device(&chardevs, arg, err, sizeof(err));
            if (cr == 0)
                cr = fsdev_cmdline_device(&fsdevs, arg, err, sizeof(err));
            if (cr == 0)
                cr = compat_device(arg);
            if (cr < 0)
                return die("%s", err);
            if (cr > 0)
                continue;
            if (netopt_device_is_nic(arg)) {
                if (netopt_parse_device_nic(&net, arg, err, sizeof(err)) < 0)
                    return die("%s", err);
            } else if (parse_device(&cfg, arg))
                return 1;
        } else if (!strcmp(opt, "-netdev") || !strcmp(opt, "-nic") || !strcmp(opt, "-net")) {
            NEEDARG();
            int r = !strcmp(opt, "-netdev") ? netopt_parse_netdev(&net, arg, err, sizeof(err))
                  : !strcmp(opt, "-nic") ? netopt_parse_nic(&net, arg, err, sizeof(err))
                  : netopt_parse_net(&net, arg, err, sizeof(err));
            if (r < 0)
                return die("%s", err);
        } else if (!strcmp(opt, "-name")) {
            NEEDARG();
            dopts.name = arg;
        } else if (!strcmp(opt, "-pidfile")) {
            NEEDARG(); pidfile_path = arg;
        } else if (!strcmp(opt, "-D")) {
            NEEDARG(); logfile = arg;
        } else if (!strcmp(opt, "-d")) {
            NEEDARG();
            if (parse_debug(arg, &cfg.debug_mask, &cfg.stats) < 0)
                return 1;
        } else if (compat_option_known(opt)) {
            if (compat_option_takes_arg(opt))
                NEEDARG();
            if (compat_option(&compat, opt, arg, err, sizeof(err)) < 0)
                return die("%s", err);
        } else {
            return die("unsupported or unknown option '%s' (see tremu -h)", argv[i]);
        }
    }

    /* Validate everything before anything starts. */
    if (netopt_finish(&net, !nodefaults, err, sizeof(err)) < 0)
        return die("%s", err);
    if (snapshot_all)
        drive_apply_snapshot(drives, (size_t)ndrives);
    /* Disks: if=ide (or no if=, as in QEMU) go to the IDE controller; if=virtio
     * become virtio-blk in command-line order after any -device disks;
     * if=none ones only through -device virtio-blk-pci,drive=ID. */
    static struct block_dev *bds[PC_PCI_MAX_DISKS];
    bool used[PC_PCI_MAX_DISKS] = {false};
    for (int k = 0; k < nblk_devices + ndrives; k++) {
        int d = -1;
        if (k < nblk_devices) {
            for (int j = 0; j < ndrives; j++)
                if (drives[j].id[0] && !strcmp(drives[j].id, blk_devices[k]))
                    d = j;
            if (d < 0)
                return die("-device virtio-blk-pci: no -drive with id '%s'", blk_devices[k]);
            if (used[d])
                return die("-device virtio-blk-pci: drive '%s' is used twice", blk_devices[k]);
        } else {
            d = k - nblk_devices;
            if (used[d])
                continue;
            enum drive_if di = drive_effective_if(&drives[d], true);
            if (di == DRIVE_IF_NONE)
                continue;
            if (di == DRIVE_IF_IDE) {       /* QEMU pc's default interface */
                if (ide_drive_attach(&pcicfg, &drives[d], &bds[d], err, sizeof(err)) < 0)
                    return die("%s", err);
                used[d] = true;
                continue;
            }
        }
        if (drives[d].media == DRIVE_MEDIA_CDROM)
            return die("-drive %s: media=cdrom needs an IDE/SATA controller, which tremu lacks",
                       drives[d].file);
        used[d] = true;
        char berr2[512];
        bds[d] = block_open(drives[d].file, &drives[d].opts, berr2, sizeof(berr2));
        if (!bds[d])
            return die("%s", berr2);
        int n = pcicfg.ndisks++;
        pc_pci_disk_from_block(&pcicfg.disks[n].be, bds[d], drives[d].opts.readonly);
    }
    /* No -kernel and no -bios: SeaBIOS boots the disks, as in QEMU. */
    if (!cfg.kernel && !cfg.bios && !(cfg.bios = firmware_default_bios(err, sizeof(err))))
        return die("%s", err);
    if (cfg.kernel && check_readable("-kernel", cfg.kernel) < 0)
        return 1;
    if (cfg.bios && check_readable("-bios", cfg.bios) < 0)
        return 1;
    if (cfg.initrd && !cfg.kernel)
        return die("-initrd needs -kernel%s", "");
    if (cfg.append && !cfg.kernel)
        return die("-append needs -kernel%s", "");
    if (cfg.initrd) {
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", cfg.initrd);
        char *save = NULL;
        for (char *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
            /* multiboot modules may carry arguments after a space */
            char *sp = strchr(f, ' ');
            if (sp) *sp = 0;
            if (check_readable("-initrd", f) < 0)
                return 1;
        }
    }

    if (logfile) {
        cfg.log = fopen(logfile, "w");
        if (!cfg.log) {
            fprintf(stderr, "tremu: -D: cannot open '%s': %s\n", logfile, strerror(errno));
            return 1;
        }
        setvbuf(cfg.log, NULL, _IOLBF, 0);
    }

    /* Host folders (ui/fsdev_opt.c), then character devices, serial
     * ports, monitors (ui/chardev_opt.c). */
    if (fsdev_cmdline_finish(&fsdevs, &pcicfg, err, sizeof(err)) < 0)
        return die("%s", err);
    if (chardev_cmdline_finish(&chardevs, &cfg, nographic, nodefaults, display_none,
                               err, sizeof(err)) < 0)
        return die("%s", err);

    cfg.accel.cpu_features = compat.cpu_features;
    const struct accel_ops *ops = accel_select(&cfg.accel, false);
    if (!ops)
        return 1;

    if (compat.daemonize) {
        if (nographic)
            return die("-nographic cannot be used with -daemonize%s", "");
        if (compat_daemonize(err, sizeof(err)) < 0)
            return die("%s", err);
    }
    if (pidfile_path) {
        FILE *pf = fopen(pidfile_path, "w");
        if (!pf)
            return die("-pidfile: cannot write '%s'", pidfile_path);
        fprintf(pf, "%d\n", (int)getpid());
        fclose(pf);
        atexit(remove_pidfile);
    }
    atexit(chardev_restore_terminal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
    signal(SIGINT, on_fatal_signal);
    signal(SIGQUIT, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);

    cfg.vga = display_configure(&dopts, nographic, nodefaults);
    if (machine_init(&m, &cfg, ops) < 0)
        return 1;
    /* Images first: the engine maps the firmware when it creates the VM. */
    struct x86_state st;
    char berr[512];
    if (boot_load(&m, &st, berr, sizeof(berr)) < 0) {
        fprintf(stderr, "tremu: %s\n", berr);
        return 1;
    }
    if (ops->init(&m) < 0)
        return 1;
    /* Backends before the devices: a taken host port stops us here. */
    struct net_backend *backends[NETOPT_MAX_NETDEVS] = {0};
    for (int i = 0; i < net.nnetdevs; i++) {
        char nerr[512];
        backends[i] = net_slirp_new(&net.netdevs[i].user, net.netdevs[i].id,
                                    &m.clock, NULL, NULL,
                                    (cfg.debug_mask & DBG_GUEST_ERRORS) ? m.log : NULL,
                                    nerr, sizeof(nerr));
        if (!backends[i]) {
            fprintf(stderr, "tremu: %s\n", nerr);
            return 1;
        }
        machine_add_poll_hook(&m, net_slirp_poll_fill, net_slirp_poll_dispatch, backends[i]);
    }
    static const char *netdev_ids[NETOPT_MAX_NETDEVS];
    for (int i = 0; i < net.nnetdevs; i++)
        netdev_ids[i] = net.netdevs[i].id;
    monitor_set_netdevs(netdev_ids, backends, net.nnetdevs);
    monitor_set_display(&dopts);
    if (net.nnics > PC_PCI_MAX_NICS)
        return die("too many NICs (at most %s)", "4");
    for (int j = 0; j < net.nnics; j++) {
        const struct netopt_nic *nic = &net.nics[j];
        pcicfg.nics[j].nb = nic->netdev >= 0 ? backends[nic->netdev] : NULL;
        memcpy(pcicfg.nics[j].mac, nic->mac, 6);
        pcicfg.nics[j].mac_set = true;
        pcicfg.nics[j].slot = nic->pci_slot;
    }
    pcicfg.nnics = net.nnics;
    if (pc_init(&m) < 0)
        return 1;
    if (chardev_cmdline_attach(&chardevs, &m) < 0)
        return 1;
    if (display_start(&m, &dopts) < 0)
        return 1;
    m.nvcpus = cfg.smp;
    for (int i = 0; i < m.nvcpus; i++) {
        struct vcpu *v = &m.vcpu[i];
        v->m = &m;
        v->index = i;
        pthread_mutex_init(&v->halt_lock, NULL);
        pthread_cond_init(&v->halt_cond, NULL);
        if (ops->vcpu_init(v) < 0)
            return 1;
    }
    for (int i = 0; i < m.nvcpus; i++)
        if (ops->set_state(&m.vcpu[i], &st) < 0)
            return 1;

    if (compat.start_paused)
        machine_set_paused(&m, true);      /* -S: 'cont' starts the CPU */
    struct stats_reporter *stats;
    if (stats_report_start(&m, &stats) < 0)
        return 1;
    if (sandbox_install(&compat.sandbox, err, sizeof(err)) < 0)
        return die("%s", err);
    int status = machine_run(&m);
    display_finish(&m, &dopts);
    monitor_event_shutdown(true);
    if (stats_report_finish(stats) < 0 && status == 0)
        status = 1;
    chardev_restore_terminal();
    machine_destroy(&m);
    chardev_set_close_all(&chardevs.set);
    fsdev_cmdline_close(&fsdevs);
    for (int d = 0; d < PC_PCI_MAX_DISKS; d++)
        if (bds[d])
            block_close(bds[d]);
    if (cfg.log)
        fclose(cfg.log);
    return status;
}
