/* The network command line (ui/netopt.c): every QEMU form the courses use,
 * and the malformed ones, which must fail with a message naming the problem. */
#include "test.h"
#include "ui/netopt.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

static char err[512];

/* Runs a command line given as pairs "-opt", "arg", ..., NULL, then finish.
 * Returns 0 or -1 (err holds the message). */
static int run_default(struct netopt *o, bool default_net, ...)
{
    netopt_init(o);
    o->warn = NULL;
    err[0] = 0;
    va_list ap;
    va_start(ap, default_net);
    int rc = 0;
    for (;;) {
        const char *opt = va_arg(ap, const char *);
        if (!opt)
            break;
        const char *arg = va_arg(ap, const char *);
        if (!strcmp(opt, "-netdev"))
            rc = netopt_parse_netdev(o, arg, err, sizeof(err));
        else if (!strcmp(opt, "-nic"))
            rc = netopt_parse_nic(o, arg, err, sizeof(err));
        else if (!strcmp(opt, "-net"))
            rc = netopt_parse_net(o, arg, err, sizeof(err));
        else if (!strcmp(opt, "-device"))
            rc = netopt_device_is_nic(arg) ? netopt_parse_device_nic(o, arg, err, sizeof(err))
                                           : (snprintf(err, sizeof(err), "not a nic"), -1);
        else
            rc = -1;
        if (rc < 0)
            break;
    }
    va_end(ap);
    if (rc == 0)
        rc = netopt_finish(o, default_net, err, sizeof(err));
    return rc;
}
#define run(o, ...) run_default(o, false, __VA_ARGS__, NULL)

/* The command fails and the message contains `want`. */
#define CHECK_ERR(want, ...) do {                                          \
        struct netopt _o;                                                  \
        int _rc = run(&_o, __VA_ARGS__);                                   \
        if (_rc == 0 || !strstr(err, want))                                \
            test_failf(__FILE__, __LINE__, "expected error '%s', got rc %d '%s'", \
                       want, _rc, err);                                    \
    } while (0)

static uint32_t haddr(const struct net_hostfwd *f) { return ntohl(f->host_addr.s_addr); }
static uint32_t a4(int a, int b, int c, int d) { return (uint32_t)a << 24 | b << 16 | c << 8 | d; }
static const uint8_t mac56[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

TEST(netopt_netdev_and_device_acceptance_form)
{
    struct netopt o;
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,hostfwd=tcp::22223-:22",
                 "-device", "virtio-net-pci,netdev=n0"), 0);
    CHECK_EQ(o.nnetdevs, 1);
    CHECK_EQ(o.nnics, 1);
    CHECK(!strcmp(o.netdevs[0].id, "n0"));
    const struct net_user_config *u = &o.netdevs[0].user;
    CHECK_EQ(u->nfwd, 1);
    CHECK(!u->fwd[0].udp);
    CHECK_EQ(haddr(&u->fwd[0]), a4(127, 0, 0, 1));      /* loopback by default */
    CHECK_EQ(u->fwd[0].host_port, 22223);
    CHECK_EQ(u->fwd[0].guest_addr.s_addr, 0);           /* = first DHCP address */
    CHECK_EQ(u->fwd[0].guest_port, 22);
    CHECK(!strcmp(u->fwd[0].spec, "tcp::22223-:22"));
    CHECK_EQ(ntohl(u->net.s_addr), a4(10, 0, 2, 0));
    CHECK_EQ(ntohl(u->host.s_addr), a4(10, 0, 2, 2));
    CHECK_EQ(ntohl(u->dns.s_addr), a4(10, 0, 2, 3));
    CHECK_EQ(ntohl(u->dhcp_start.s_addr), a4(10, 0, 2, 15));
    CHECK(u->ipv4 && u->ipv6 && !u->restricted);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK_EQ(o.netdevs[0].nic, 0);
    CHECK_EQ(o.nics[0].pci_slot, 3);
    CHECK(!memcmp(o.nics[0].mac, mac56, 6));
    CHECK_EQ(o.nwarnings, 0);

    /* -device may come first: references resolve at the end, as in QEMU. */
    CHECK_EQ(run(&o, "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:ab:cd:ef,id=nic0",
                 "-netdev", "user,id=n0"), 0);
    CHECK_EQ(o.nics[0].netdev, 0);
    static const uint8_t m[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    CHECK(!memcmp(o.nics[0].mac, m, 6));
    CHECK(!strcmp(o.nics[0].id, "nic0"));
}

TEST(netopt_hostfwd_forms)
{
    struct net_hostfwd f;
    CHECK_EQ(netopt_parse_hostfwd("tcp::22223-:22", &f, err, sizeof(err)), 0);
    CHECK(!f.udp && f.host_port == 22223 && f.guest_port == 22);
    CHECK_EQ(netopt_parse_hostfwd("::8080-:80", &f, err, sizeof(err)), 0);   /* tcp */
    CHECK(!f.udp && haddr(&f) == a4(127, 0, 0, 1) && f.host_port == 8080);
    CHECK_EQ(netopt_parse_hostfwd("udp:0.0.0.0:5353-10.0.2.20:53", &f, err, sizeof(err)), 0);
    CHECK(f.udp && haddr(&f) == 0 && f.host_port == 5353 && f.guest_port == 53);
    CHECK_EQ(ntohl(f.guest_addr.s_addr), a4(10, 0, 2, 20));
    CHECK_EQ(netopt_parse_hostfwd("tcp:192.168.1.5:2222-:22", &f, err, sizeof(err)), 0);
    CHECK_EQ(haddr(&f), a4(192, 168, 1, 5));

    static const struct { const char *rule, *want; } bad[] = {
        {"tcp::0-:22", "bad host port '0'"},
        {"tcp::65536-:22", "bad host port '65536'"},
        {"tcp::abc-:22", "bad host port 'abc'"},
        {"tcp::-:22", "bad host port ''"},
        {"tcp::22x-:22", "bad host port '22x'"},
        {"tcp::+22-:22", "bad host port '+22'"},
        {"tcp::2222-:", "bad guest port ''"},
        {"tcp::2222-:99999", "bad guest port '99999'"},
        {"tcp::2222-:-1", "bad guest port '-1'"},
        {"sctp::2222-:22", "protocol 'sctp'"},
        {"tcp:1.2.3:2222-:22", "bad host address '1.2.3'"},
        {"tcp:localhost:2222-:22", "bad host address 'localhost'"},
        {"tcp::2222-10.0.2:22", "bad guest address '10.0.2'"},
        {"tcp::2222-0.0.0.0:22", "bad guest address"},
        {"tcp::2222:22", "expected [tcp|udp]"},
        {"tcp:2222-:22", "expected [tcp|udp]"},
        {"2222", "expected [tcp|udp]"},
        {"", "expected [tcp|udp]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        int rc = netopt_parse_hostfwd(bad[i].rule, &f, err, sizeof(err));
        if (rc == 0 || !strstr(err, bad[i].want) || !strstr(err, bad[i].rule))
            test_failf(__FILE__, __LINE__, "'%s': rc %d '%s'", bad[i].rule, rc, err);
    }
}

TEST(netopt_several_hostfwd_and_user_options)
{
    struct netopt o;
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,hostfwd=tcp::22223-:22,hostfwd=udp::5353-:53,"
                 "hostfwd=tcp:0.0.0.0:8080-10.0.2.15:80,restrict=off,ipv6=off,"
                 "hostname=lab,,vm,domainname=example.org",
                 "-device", "virtio-net-pci,netdev=n0"), 0);
    const struct net_user_config *u = &o.netdevs[0].user;
    CHECK_EQ(u->nfwd, 3);
    CHECK(u->fwd[1].udp && u->fwd[1].host_port == 5353);
    CHECK_EQ(haddr(&u->fwd[2]), 0);
    CHECK(!u->ipv6 && !u->restricted);
    CHECK(!strcmp(u->hostname, "lab,vm"));          /* ",," is a comma */
    CHECK(!strcmp(u->domainname, "example.org"));

    CHECK_EQ(run(&o, "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"), 0);
    CHECK(o.netdevs[0].user.restricted);
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,restrict", "-device", "virtio-net-pci,netdev=n0"), 0);
    CHECK(o.netdevs[0].user.restricted);
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,restrict=y", "-device", "virtio-net-pci,netdev=n0"), 0);
    CHECK(o.netdevs[0].user.restricted);
    CHECK_EQ(run(&o, "-netdev", "type=user,id=n0", "-device", "virtio-net-pci,netdev=n0"), 0);

    /* net= moves host, DNS and DHCP with it unless they are given. */
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,net=192.168.76.0/24,dhcpstart=192.168.76.9",
                 "-device", "virtio-net-pci,netdev=n0"), 0);
    u = &o.netdevs[0].user;
    CHECK_EQ(ntohl(u->net.s_addr), a4(192, 168, 76, 0));
    CHECK_EQ(ntohl(u->mask.s_addr), a4(255, 255, 255, 0));
    CHECK_EQ(ntohl(u->host.s_addr), a4(192, 168, 76, 2));
    CHECK_EQ(ntohl(u->dns.s_addr), a4(192, 168, 76, 3));
    CHECK_EQ(ntohl(u->dhcp_start.s_addr), a4(192, 168, 76, 9));
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,net=10.1.0.0/255.255.0.0,host=10.1.0.1,dns=10.1.0.53",
                 "-device", "virtio-net-pci,netdev=n0"), 0);
    u = &o.netdevs[0].user;
    CHECK_EQ(ntohl(u->mask.s_addr), a4(255, 255, 0, 0));
    CHECK_EQ(ntohl(u->host.s_addr), a4(10, 1, 0, 1));
    CHECK_EQ(ntohl(u->dns.s_addr), a4(10, 1, 0, 53));
    CHECK_EQ(ntohl(u->dhcp_start.s_addr), a4(10, 1, 0, 15));
}

TEST(netopt_netdev_errors)
{
    CHECK_ERR("missing id=", "-netdev", "user");
    CHECK_ERR("missing id=", "-netdev", "user,hostfwd=tcp::2222-:22");
    CHECK_ERR("bad id '9n'", "-netdev", "user,id=9n");
    CHECK_ERR("bad id ''", "-netdev", "user,id=");
    CHECK_ERR("duplicate id 'n0'", "-netdev", "user,id=n0", "-netdev", "user,id=n0");
    CHECK_ERR("duplicate id 'n0'", "-netdev", "user,id=n0", "-nic", "user,id=n0");
    CHECK_ERR("unknown option 'frob'", "-netdev", "user,id=n0,frob=1");
    CHECK_ERR("unknown option 'model'", "-netdev", "user,id=n0,model=virtio");
    CHECK_ERR("'tap' is not supported", "-netdev", "tap,id=t0,ifname=tap0");
    CHECK_ERR("'bridge' is not supported", "-netdev", "bridge,id=b0,br=br0");
    CHECK_ERR("'socket' is not supported", "-netdev", "socket,id=s0,listen=:1234");
    CHECK_ERR("unknown network backend type 'usr'", "-netdev", "usr,id=n0");
    CHECK_ERR("missing the backend type", "-netdev", "id=n0");
    CHECK_ERR("'guestfwd' is not supported", "-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:80-cmd:x");
    CHECK_ERR("'smb' is not supported", "-netdev", "user,id=n0,smb=/tmp");
    CHECK_ERR("restrict='maybe' must be on or off", "-netdev", "user,id=n0,restrict=maybe");
    CHECK_ERR("ipv4=off is not supported", "-netdev", "user,id=n0,ipv4=off");
    CHECK_ERR("option 'hostfwd' needs a value", "-netdev", "user,id=n0,hostfwd");
    CHECK_ERR("bad host port '99999'", "-netdev", "user,id=n0,hostfwd=tcp::99999-:22");
    CHECK_ERR("bad net address '10.0.2.0/33'", "-netdev", "user,id=n0,net=10.0.2.0/33");
    CHECK_ERR("bad dns address 'x'", "-netdev", "user,id=n0,dns=x");
    CHECK_ERR("DHCP start address 10.0.3.15 is outside", "-netdev", "user,id=n0,dhcpstart=10.0.3.15");
    CHECK_ERR("host bits set", "-netdev", "user,id=n0,net=10.0.2.5/24,host=10.0.2.2,dns=10.0.2.3,dhcpstart=10.0.2.15");
    CHECK_ERR("guest address 10.9.9.9 is outside", "-netdev", "user,id=n0,hostfwd=tcp::2222-10.9.9.9:22");
    CHECK_ERR("empty option", "-netdev", "user,id=n0,");
    CHECK_ERR("empty option", "-netdev", ",user,id=n0");
    CHECK_ERR("missing the backend type", "-netdev", "user,,id=n0");   /* one key: "user,id" */
    CHECK_ERR("hostname= is too long", "-netdev",
              "user,id=n0,hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    /* Seventeen rules: more than the table holds, and said so. */
    CHECK_ERR("too many hostfwd rules", "-netdev",
              "user,id=n0,hostfwd=::1-:1,hostfwd=::2-:1,hostfwd=::3-:1,hostfwd=::4-:1,"
              "hostfwd=::5-:1,hostfwd=::6-:1,hostfwd=::7-:1,hostfwd=::8-:1,hostfwd=::9-:1,"
              "hostfwd=::10-:1,hostfwd=::11-:1,hostfwd=::12-:1,hostfwd=::13-:1,"
              "hostfwd=::14-:1,hostfwd=::15-:1,hostfwd=::16-:1,hostfwd=::17-:1");
    /* Two rules on one host port (or one on all addresses). */
    CHECK_ERR("both use host TCP port 2222", "-netdev",
              "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23");
    CHECK_ERR("both use host TCP port 2222", "-netdev", "user,id=n0,hostfwd=tcp::2222-:22",
              "-netdev", "user,id=n1,hostfwd=tcp:0.0.0.0:2222-:22",
              "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-net-pci,netdev=n1");
    struct netopt o;
    CHECK_EQ(run(&o, "-netdev", "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp::2222-:22",
                 "-device", "virtio-net-pci,netdev=n0"), 0);
}

TEST(netopt_device_errors)
{
    CHECK_ERR("netdev 'n1' not found", "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n1");
    CHECK_ERR("already used by another NIC", "-netdev", "user,id=n0",
              "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-net-pci,netdev=n0");
    CHECK_ERR("unknown property 'frob'", "-device", "virtio-net-pci,netdev=n0,frob=1");
    CHECK_ERR("multicast", "-device", "virtio-net-pci,mac=01:00:5e:00:00:01");
    CHECK_ERR("bad MAC address '52:54:00:12:34'", "-device", "virtio-net-pci,mac=52:54:00:12:34");
    CHECK_ERR("slot 0 is taken", "-device", "virtio-net-pci,addr=0");
    CHECK_ERR("only function 0", "-device", "virtio-net-pci,addr=3.1");
    CHECK_ERR("bad PCI address addr=20", "-device", "virtio-net-pci,addr=20");
    CHECK_ERR("two NICs at PCI slot 05", "-netdev", "user,id=a", "-netdev", "user,id=b",
              "-device", "virtio-net-pci,netdev=a,addr=5", "-device", "virtio-net-pci,netdev=b,addr=05.0");
    CHECK_ERR("bus 'pci.1' does not exist", "-device", "virtio-net-pci,bus=pci.1");
    CHECK_ERR("not a nic", "-device", "virtio-blk-pci,drive=d0");
    CHECK(netopt_device_is_nic("virtio-net-pci,netdev=n0"));
    CHECK(netopt_device_is_nic("virtio-net-pci"));
    CHECK(netopt_device_is_nic("e1000,netdev=n0"));
    CHECK(!netopt_device_is_nic("virtio"));
    CHECK(!netopt_device_is_nic("isa-debug-exit,iobase=0xf4"));
    CHECK(!netopt_device_is_nic("virtio-net-pcix"));

    /* Properties scripts pass that change nothing here are accepted. */
    struct netopt o;
    CHECK_EQ(run(&o, "-netdev", "user,id=n0",
                 "-device", "virtio-net-pci,netdev=n0,romfile=,bus=pci.0,addr=0x4"), 0);
    CHECK_EQ(o.nics[0].pci_slot, 4);
    /* A NIC with no netdev is allowed (QEMU too), unconnected, with a warning. */
    CHECK_EQ(run(&o, "-device", "virtio-net-pci"), 0);
    CHECK_EQ(o.nics[0].netdev, -1);
    CHECK(strstr(o.last_warning, "not connected"));
}

TEST(netopt_nic_forms)
{
    struct netopt o;
    CHECK_EQ(run(&o, "-nic", "user,hostfwd=tcp::22223-:22"), 0);
    CHECK_EQ(o.nnetdevs, 1);
    CHECK_EQ(o.nnics, 1);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK_EQ(o.nics[0].pci_slot, 3);                /* QEMU pc's NIC slot */
    CHECK(!strcmp(o.nics[0].model, "virtio-net-pci"));
    CHECK(!memcmp(o.nics[0].mac, mac56, 6));
    CHECK_EQ(o.netdevs[0].user.nfwd, 1);
    CHECK_EQ(o.nwarnings, 0);

    CHECK_EQ(run(&o, "-nic", "user,id=u1,model=virtio,mac=52-54-00-00-00-02,hostfwd=udp::6000-:6000",
                 "-nic", "user,model=virtio-net-pci"), 0);
    CHECK_EQ(o.nnics, 2);
    CHECK(!strcmp(o.netdevs[0].id, "u1"));
    CHECK_EQ(o.nics[0].mac[5], 2);
    CHECK_EQ(o.nics[1].netdev, 1);
    CHECK_EQ(o.nics[0].pci_slot, 3);
    CHECK_EQ(o.nics[1].pci_slot, -1);               /* the board's next free slot */
    CHECK(!memcmp(o.nics[1].mac, mac56, 6));

    CHECK_EQ(run(&o, "-nic", "user,model=e1000"), 0);
    CHECK_EQ(o.nwarnings, 1);
    CHECK(strstr(o.last_warning, "e1000 is not emulated, using virtio-net-pci"));
    CHECK_EQ(run(&o, "-nic", "none"), 0);
    CHECK_EQ(o.nnics, 0);
    CHECK(o.none);

    CHECK_ERR("'tap' is not supported", "-nic", "tap,ifname=tap0");
    CHECK_ERR("unknown NIC model 'frob'", "-nic", "user,model=frob");
    CHECK_ERR("available NIC models: virtio-net-pci", "-nic", "user,model=help");
    CHECK_ERR("is all zeros", "-nic", "user,mac=00:00:00:00:00:00");
    CHECK_ERR("bad MAC address '52:54:00:12:34:5g'", "-nic", "user,mac=52:54:00:12:34:5g");
    CHECK_ERR("bad MAC address '52:54-00:12:34:56'", "-nic", "user,mac=52:54-00:12:34:56");
    CHECK_ERR("unknown option 'netdev'", "-nic", "user,netdev=n0");
    CHECK_ERR("missing the backend type", "-nic", "model=virtio");
    CHECK_ERR("-nic none takes no options", "-nic", "none,model=virtio");
}

TEST(netopt_legacy_net_forms)
{
    struct netopt o;
    /* The course launcher: -net nic -net user,hostfwd=... */
    CHECK_EQ(run(&o, "-net", "nic", "-net", "user,hostfwd=tcp::22223-:22"), 0);
    CHECK_EQ(o.nnics, 1);
    CHECK_EQ(o.nnetdevs, 1);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK_EQ(o.nics[0].pci_slot, 3);
    CHECK(!memcmp(o.nics[0].mac, mac56, 6));
    CHECK_EQ(o.netdevs[0].user.fwd[0].host_port, 22223);
    CHECK_EQ(o.nwarnings, 0);
    /* Either order. */
    CHECK_EQ(run(&o, "-net", "user", "-net", "nic,model=virtio,macaddr=52:54:00:00:00:09"), 0);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK_EQ(o.nics[0].mac[5], 9);
    /* vlan= picks the hub; netdev= skips it. */
    CHECK_EQ(run(&o, "-net", "user,vlan=1,id=u1", "-net", "nic,vlan=1",
                 "-netdev", "user,id=n0", "-net", "nic,netdev=n0"), 0);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK(!strcmp(o.netdevs[o.nics[1].netdev].id, "n0"));
    /* QEMU's default NIC model for pc is e1000: substituted, with a word. */
    CHECK_EQ(run(&o, "-net", "nic,model=e1000", "-net", "user"), 0);
    CHECK_EQ(o.nwarnings, 1);
    CHECK(strstr(o.last_warning, "-net nic: model e1000 is not emulated"));
    /* A NIC with no backend on its hub: allowed, warned. */
    CHECK_EQ(run(&o, "-net", "nic"), 0);
    CHECK_EQ(o.nics[0].netdev, -1);
    CHECK(strstr(o.last_warning, "vlan 0 has no -net user"));
    CHECK_EQ(run(&o, "-net", "none"), 0);
    CHECK_EQ(o.nnics, 0);

    CHECK_ERR("a second -net user on vlan 0", "-net", "user", "-net", "user");
    CHECK_ERR("already used by another NIC", "-net", "nic", "-net", "nic", "-net", "user");
    CHECK_ERR("'socket' is not supported", "-net", "socket,listen=:1234");
    CHECK_ERR("'tap' is not supported", "-net", "tap");
    CHECK_ERR("unknown network backend type 'bogus'", "-net", "bogus");
    CHECK_ERR("unknown option 'hostfwd'", "-net", "nic,hostfwd=tcp::1-:1");
    CHECK_ERR("unknown option 'macaddr'", "-net", "user,macaddr=52:54:00:00:00:01");
    CHECK_ERR("bad vlan 'x'", "-net", "nic,vlan=x");
    CHECK_ERR("mutually exclusive", "-netdev", "user,id=n0", "-net", "nic,vlan=0,netdev=n0");
    CHECK_ERR("netdev 'n9' not found", "-net", "nic,netdev=n9");
    CHECK_ERR("multicast", "-net", "nic,macaddr=03:00:00:00:00:01");
    CHECK_ERR("-net none takes no options", "-net", "none,vlan=0");
    CHECK_ERR("bad host port 'x'", "-net", "user,hostfwd=tcp::x-:22");
}

TEST(netopt_defaults_macs_and_slots)
{
    struct netopt o;
    /* Nothing given: QEMU's implicit -net nic -net user, unless -nodefaults. */
    CHECK_EQ(run_default(&o, true, NULL), 0);
    CHECK_EQ(o.nnics, 1);
    CHECK_EQ(o.nnetdevs, 1);
    CHECK_EQ(o.nics[0].netdev, 0);
    CHECK_EQ(o.nics[0].pci_slot, 3);
    CHECK_EQ(run_default(&o, false, NULL), 0);
    CHECK_EQ(o.nnics, 0);
    CHECK_EQ(run_default(&o, true, "-net", "none", NULL), 0);
    CHECK_EQ(o.nnics, 0);
    CHECK_EQ(o.nnetdevs, 0);

    /* Default MACs count up and step over explicit ones; -nic/-net NICs
     * are created (and numbered, and placed) before -device ones. */
    CHECK_EQ(run(&o, "-netdev", "user,id=a", "-device", "virtio-net-pci,netdev=a",
                 "-nic", "user,mac=52:54:00:12:34:57", "-nic", "user"), 0);
    CHECK_EQ(o.nnics, 3);
    CHECK_EQ(o.nics[1].mac[5], 0x57);           /* explicit */
    CHECK_EQ(o.nics[2].mac[5], 0x56);           /* first default */
    CHECK_EQ(o.nics[0].mac[5], 0x58);           /* :57 is taken */
    CHECK_EQ(o.nics[1].pci_slot, 3);            /* first -nic NIC */
    CHECK_EQ(o.nics[2].pci_slot, -1);
    CHECK_EQ(o.nics[0].pci_slot, -1);
    /* An explicit addr=3 elsewhere keeps slot 3 for itself. */
    CHECK_EQ(run(&o, "-nic", "user", "-netdev", "user,id=a",
                 "-device", "virtio-net-pci,netdev=a,addr=03.0"), 0);
    CHECK_EQ(o.nics[0].pci_slot, -1);
    CHECK_EQ(o.nics[1].pci_slot, 3);
    /* A backend nobody uses is allowed (QEMU warns too). */
    CHECK_EQ(run(&o, "-netdev", "user,id=lonely"), 0);
    CHECK(strstr(o.last_warning, "-netdev user,id=lonely is not connected"));
}

TEST(netopt_mac_parse)
{
    uint8_t m[6];
    CHECK_EQ(netopt_parse_mac("52:54:00:AB:cd:0f", m, err, sizeof(err)), 0);
    CHECK(m[0] == 0x52 && m[3] == 0xab && m[4] == 0xcd && m[5] == 0x0f);
    CHECK_EQ(netopt_parse_mac("02-00-00-00-00-01", m, err, sizeof(err)), 0);
    CHECK_EQ(m[5], 1);
    static const char *const bad[] = {
        "", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:12:34:5", "52:54:00:12:34:567",
        "5:254:00:12:34:56", "52.54.00.12.34.56", "zz:54:00:12:34:56", "ff:ff:ff:ff:ff:ff",
        "01:00:00:00:00:00", "00:00:00:00:00:00", " 52:54:00:12:34:5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (netopt_parse_mac(bad[i], m, err, sizeof(err)) == 0)
            test_failf(__FILE__, __LINE__, "'%s' accepted", bad[i]);
}
