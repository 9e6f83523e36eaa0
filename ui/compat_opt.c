/* See ui/compat_opt.h. */
#include "ui/compat_opt.h"
#include "cpu/cpu.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opt_info {
    const char *name;
    bool arg;
};

/* Options handled here. */
static const struct opt_info ours[] = {
    {"-daemonize", false}, {"-S", false}, {"-usb", false}, {"-rtc", true}, {"-cpu", true},
    {"-global", true}, {"-boot", true}, {"-k", true}, {"-vga", true}, {"-no-hpet", false},
    {"-no-acpi", false}, {"-msg", true}, {"-overcommit", true}, {"-sandbox", true},
    {"-no-shutdown", false}, {"-uuid", true}, {"-smbios", true}, {"-parallel", true},
    {"-usbdevice", true}, {"-soundhw", true}, {"-audiodev", true}, {"-object", true},
    {"-gdb", true}, {"-s", false}, {"-L", true}, {"-full-screen", false},
};

bool compat_option_known(const char *opt)
{
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (!strcmp(opt, ours[i].name))
            return true;
    return false;
}

bool compat_option_takes_arg(const char *opt)
{
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (!strcmp(opt, ours[i].name))
            return ours[i].arg;
    return false;
}

static void warn_ignored(const char *opt, const char *arg, const char *why)
{
    fprintf(stderr, "tremu: warning: %s%s%s ignored: %s\n", opt, arg ? " " : "", arg ? arg : "",
            why);
}

int compat_option(struct compat_opts *c, const char *opt, const char *arg, char *err,
                  size_t errlen)
{
    if (!compat_option_known(opt))
        return 0;
    if (!strcmp(opt, "-daemonize")) {
        c->daemonize = true;
    } else if (!strcmp(opt, "-S")) {
        c->start_paused = true;
    } else if (!strcmp(opt, "-usb") || !strcmp(opt, "-usbdevice")) {
        warn_ignored(opt, arg, "tremu has no USB controller (the guest gets PS/2 devices)");
    } else if (!strcmp(opt, "-rtc")) {
        /* base=utc is what tremu's RTC does; clock= and driftfix= change
         * nothing a guest can rely on. */
        const char *b = strstr(arg, "base=");
        if (b && strncmp(b + 5, "utc", 3) && strncmp(b + 5, "localtime", 9)) {
            warn_ignored(opt, arg, "the RTC starts at the host's UTC time");
        } else if (b && !strncmp(b + 5, "localtime", 9)) {
            warn_ignored(opt, arg, "the RTC runs in UTC (set the guest's timezone instead)");
        }
    } else if (!strcmp(opt, "-cpu")) {
        size_t n = strcspn(arg, ",");
        static const char *const models[] = {"host", "max", "qemu64", "kvm64", "base",
                                             "qemu32", "kvm32", NULL};
        bool ok = false;
        for (int i = 0; models[i]; i++)
            if (strlen(models[i]) == n && !strncmp(arg, models[i], n))
                ok = true;
        if (!ok) {
            snprintf(err, errlen, "-cpu %s: unsupported CPU model (tremu offers one x86-64 "
                     "CPU: use host, max or qemu64)", arg);
            return -1;
        }
        /* The software CPU's optional features, QEMU's spelling: "max" and
         * "host" offer all of them, "+umip"/"-umip" (or umip=on|off) one. */
        c->cpu_features = (n == 3 && !strncmp(arg, "max", 3)) ||
                          (n == 4 && !strncmp(arg, "host", 4)) ? CPU_FEAT_UMIP : 0;
        bool ignored = false;
        for (const char *f = arg + n; *f; ) {
            f += *f == ',';
            size_t k = strcspn(f, ",");
            if ((k == 5 && !strncmp(f, "+umip", 5)) || (k == 7 && !strncmp(f, "umip=on", 7)))
                c->cpu_features |= CPU_FEAT_UMIP;
            else if ((k == 5 && !strncmp(f, "-umip", 5)) || (k == 8 && !strncmp(f, "umip=off", 8)))
                c->cpu_features &= ~CPU_FEAT_UMIP;
            else if (k)
                ignored = true;
            f += k;
        }
        if (ignored)
            warn_ignored("-cpu", arg, "CPU feature flags are fixed in tremu (but umip)");
    } else if (!strcmp(opt, "-global")) {
        warn_ignored(opt, arg, "device properties cannot be set globally in tremu");
    } else if (!strcmp(opt, "-boot")) {
        /* Boot order and menus are the firmware's business: direct boots
         * ignore them, and the firmware tries the disk first anyway. */
        if (strstr(arg, "d") && !strchr(arg, '=') )
            warn_ignored(opt, arg, "there is no CD-ROM drive");
    } else if (!strcmp(opt, "-k")) {
        warn_ignored(opt, arg, "no display keymaps here");
    } else if (!strcmp(opt, "-vga")) {
        if (strcmp(arg, "std") && strcmp(arg, "none") && strcmp(arg, "virtio") &&
            strcmp(arg, "cirrus") && strcmp(arg, "qxl") && strcmp(arg, "vmware")) {
            snprintf(err, errlen, "-vga %s: unknown VGA type (std, none)", arg);
            return -1;
        }
        if (strcmp(arg, "std") && strcmp(arg, "none"))
            warn_ignored(opt, arg, "only the standard VGA (std) or none exist in tremu");
    } else if (!strcmp(opt, "-sandbox")) {
        return sandbox_parse(&c->sandbox, arg, err, errlen) < 0 ? -1 : 1;
    } else if (!strcmp(opt, "-no-hpet") || !strcmp(opt, "-msg") || !strcmp(opt, "-L") ||
               !strcmp(opt, "-overcommit") ||
               !strcmp(opt, "-uuid") || !strcmp(opt, "-full-screen")) {
        /* nothing to do: tremu has no HPET, no ROM search path */
    } else if (!strcmp(opt, "-no-acpi") || !strcmp(opt, "-no-shutdown") ||
               !strcmp(opt, "-smbios") || !strcmp(opt, "-soundhw") ||
               !strcmp(opt, "-audiodev") || !strcmp(opt, "-parallel")) {
        if (!(!strcmp(opt, "-parallel") && !strcmp(arg, "none")))
            warn_ignored(opt, arg, "not available in tremu");
    } else if (!strcmp(opt, "-object") || !strcmp(opt, "-gdb") || !strcmp(opt, "-s")) {
        snprintf(err, errlen, "%s: not supported by tremu (%s)", opt,
                 strcmp(opt, "-object") ? "no gdb stub yet" : "no QOM objects");
        return -1;
    }
    return 1;
}

int compat_device(const char *arg)
{
    /* usb-tablet is not here: ui/main.c makes it a virtio tablet. */
    static const char *const usb[] = {"usb-mouse", "usb-kbd", "usb-ehci",
        "qemu-xhci", "nec-usb-xhci", "piix3-usb-uhci", "ich9-usb-ehci1", "usb-hub", NULL};
    size_t n = strcspn(arg, ",");
    for (int i = 0; usb[i]; i++)
        if (strlen(usb[i]) == n && !strncmp(arg, usb[i], n)) {
            warn_ignored("-device", arg, "tremu has no USB (the guest gets a PS/2 mouse and "
                         "keyboard)");
            return 1;
        }
    return 0;
}

void compat_print_help(FILE *f)
{
    fprintf(f,
"\nQEMU options and what tremu does with them:\n"
"  accepted:  -m -smp -M/-machine pc[,accel=] -accel -enable-kvm -kernel -initrd -append\n"
"             -bios -no-reboot -drive -hda..-hdd -snapshot -netdev -nic -net -device\n"
"             (virtio-blk-pci virtio-net-pci virtio-rng-pci virtio-9p-pci isa-serial\n"
"             virtio-tablet-pci\n"
"             virtio-serial-pci virtconsole virtserialport isa-debug-exit) -chardev (socket udp pty file pipe serial stdio null\n"
"             ringbuf; mux=on on stdio) -serial (stdio mon:stdio pty null none file:\n"
"             pipe: tcp: telnet: unix: udp: chardev: /dev/...) -monitor -qmp -qmp-pretty\n"
"             -fsdev local -virtfs local -nographic -display none -nodefaults\n"
"             -no-user-config -name -pidfile -daemonize -S -cpu host|max|qemu64|kvm64\n"
"             (max/host and +umip|-umip: UMIP on the software CPU)\n"
"             -vga std|none -rtc base=utc -boot -d -D -version -h\n"
"             -sandbox on|off[,obsolete=,elevateprivileges=,spawn=,resourcecontrol=]\n"
"  accepted and ignored (one warning line when used):\n"
"             -usb -usbdevice -device usb-mouse|usb-kbd|qemu-xhci|usb-ehci\n"
"  replaced (one notice line): -device usb-tablet by virtio-tablet-pci\n"
"             -global -k -rtc base=localtime|DATE -cpu MODEL,+flags (but umip) -vga virtio|cirrus|qxl\n"
"             -no-acpi -no-shutdown -smbios -soundhw -audiodev -parallel\n"
"             (silently: -no-hpet -msg -overcommit -uuid -L -full-screen)\n"
"  refused with a reason: -object -gdb -s -M q35|isapc|... -cpu other models,\n"
"             -chardev vc|spice*|msmouse|braille, -fsdev proxy|synth, security_model=mapped-file,\n"
"             every option not listed here\n");
}

int compat_daemonize(char *err, size_t errlen)
{
    int p[2];
    if (pipe(p) < 0) {
        snprintf(err, errlen, "-daemonize: pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "-daemonize: fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        /* The parent leaves once the child is on its own, as QEMU's does. */
        close(p[1]);
        char c;
        ssize_t r = read(p[0], &c, 1);
        _exit(r == 1 ? 0 : 1);
    }
    close(p[0]);
    if (setsid() < 0) {
        snprintf(err, errlen, "-daemonize: setsid: %s", strerror(errno));
        return -1;
    }
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        if (nul > 2)
            close(nul);
    }
    ssize_t w = write(p[1], "y", 1);
    (void)w;
    close(p[1]);
    return 0;
}
