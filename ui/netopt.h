/* The network part of the command line: QEMU's -netdev, -nic, -net and
 * -device virtio-net-pci forms, reduced to a list of user-mode backends and
 * a list of NICs, each NIC connected to at most one backend.
 *
 *   -netdev user,id=n0[,hostfwd=RULE]...  +  -device virtio-net-pci,netdev=n0[,mac=M]
 *   -nic user[,model=virtio-net-pci][,mac=M][,hostfwd=RULE]...
 *   -net nic[,model=...][,macaddr=M][,vlan=N|netdev=ID]  +  -net user[,vlan=N][,hostfwd=RULE]
 *   -net none / -nic none                        (no NIC)
 *
 * RULE is [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport. Unlike QEMU,
 * an empty hostaddr binds 127.0.0.1, not every address: forwarding a guest's
 * sshd to the whole network must be asked for with 0.0.0.0.
 *
 * Only virtio-net-pci is emulated. Another model (e1000, rtl8139, ...) is
 * accepted with a warning and becomes virtio-net-pci: scripts written for
 * QEMU keep working with guests that have virtio drivers (every distribution
 * kernel), and the warning says why a guest without them sees no NIC.
 *
 * Usage: netopt_init, one netopt_parse_* per option in command-line order
 * (any order between backends and NICs), then netopt_finish, which resolves
 * references, checks conflicts and assigns MAC addresses and PCI slots.
 * Functions return 0, or -1 with a message in err (no "tremu: " prefix).
 *
 * Wiring (branch net-wiring has the ui/main.c part, tested by
 * tests/suites/net.sh): -netdev/-nic/-net go to the parsers; -device goes to
 * netopt_parse_device_nic when netopt_device_is_nic(arg); netopt_finish(o,
 * !nodefaults) with the other validation; after machine_init and before the
 * vCPUs start, for each netdevs[i]: net_slirp_new(&user, id, &m->clock, NULL,
 * NULL, log, err) (NULL: print "tremu: <err>", exit 1) and
 * machine_add_poll_hook(m, net_slirp_poll_fill, net_slirp_poll_dispatch, nb);
 * for each nics[j]: a virtio-net-pci at pci_slot (-1: first free) with mac,
 * connected with net_set_client to the backend netdevs[nics[j].netdev] (none
 * when -1). Create NICs before other automatically placed PCI devices, as
 * QEMU does, so the first NIC is 00:03.0 (the guest's ens3). */
#ifndef UI_NETOPT_H
#define UI_NETOPT_H

#include "net/slirp.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NETOPT_MAX_NETDEVS 8
#define NETOPT_MAX_NICS 8
#define NETOPT_ID_LEN 64
#define NETOPT_FIRST_NIC_SLOT 3     /* QEMU pc's first NIC: 00:03.0 */

enum netopt_origin { NETOPT_NETDEV, NETOPT_NIC, NETOPT_NET, NETOPT_DEVICE };

struct netopt_netdev {
    char id[NETOPT_ID_LEN];         /* -netdev id=, or generated (starts with '_') */
    enum netopt_origin origin;
    int hub;                        /* -net user: its vlan (hub); else -1 */
    int nic;                        /* index of the NIC using it, -1: none */
    struct net_user_config user;
};

struct netopt_nic {
    enum netopt_origin origin;
    char id[NETOPT_ID_LEN];         /* -device id= (may be empty) */
    char netdev_id[NETOPT_ID_LEN];  /* netdev= as written (empty: none) */
    int hub;                        /* -net nic without netdev=: its vlan; else -1 */
    int netdev;                     /* after finish: index in netdevs[], -1: unconnected */
    uint8_t mac[6];
    bool mac_set;                   /* given on the command line */
    int pci_slot;                   /* after finish: 0-31, or -1: board's first free slot */
    char model[32];                 /* as asked (for messages); always virtio-net-pci */
};

struct netopt {
    struct netopt_netdev netdevs[NETOPT_MAX_NETDEVS];
    int nnetdevs;
    struct netopt_nic nics[NETOPT_MAX_NICS];
    int nnics;
    bool none;                      /* -net none / -nic none */
    bool any;                       /* some network option was given */
    FILE *warn;                     /* warnings printed here (stderr; NULL: quiet) */
    int nwarnings;
    char last_warning[256];
};

void netopt_init(struct netopt *o);
int netopt_parse_netdev(struct netopt *o, const char *arg, char *err, size_t errlen);
int netopt_parse_nic(struct netopt *o, const char *arg, char *err, size_t errlen);
int netopt_parse_net(struct netopt *o, const char *arg, char *err, size_t errlen);
/* True when -device DRIVER[,...] is a NIC this parser handles (virtio-net-pci
 * and the models it substitutes); ui/main.c dispatches on it. */
bool netopt_device_is_nic(const char *device_arg);
int netopt_parse_device_nic(struct netopt *o, const char *arg, char *err, size_t errlen);
/* Resolves netdev= and the -net hubs, checks every backend has at most one
 * NIC and no two forwards share a host port, assigns default MACs
 * (52:54:00:12:34:56, then :57, ... as QEMU) and PCI slots (the first NIC
 * without addr= gets 00:03.0, later ones -1). default_net: with no network
 * option at all, behave like QEMU's implicit "-net nic -net user" (pass
 * !nodefaults). */
int netopt_finish(struct netopt *o, bool default_net, char *err, size_t errlen);

/* Pieces, public for tests. */
int netopt_parse_hostfwd(const char *rule, struct net_hostfwd *f, char *err, size_t errlen);
int netopt_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen);

#endif
