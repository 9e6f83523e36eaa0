/* libFuzzer: the command-line option parsers a user (or a script) feeds:
 * -drive (ui/drive.c), -netdev/-nic/-net/-device virtio-net-pci and their
 * hostfwd= and mac= values (ui/netopt.c). The input is split at newlines;
 * the first byte of each line picks the option. */
#include "ui/drive.h"
#include "ui/netopt.h"
#include "tests/fuzz/fuzz_lines.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void one_line(void *opaque, char kind, char *line)
{
    struct netopt *no = opaque;
    char err[512];
    switch (kind % 8) {
    case 0: { static struct drive_config d; drive_parse(line, &d, err, sizeof(err)); break; }
    case 1: netopt_parse_netdev(no, line, err, sizeof(err)); break;
    case 2: netopt_parse_nic(no, line, err, sizeof(err)); break;
    case 3: netopt_parse_net(no, line, err, sizeof(err)); break;
    case 4:
        if (netopt_device_is_nic(line))
            netopt_parse_device_nic(no, line, err, sizeof(err));
        break;
    case 5: { struct net_hostfwd f; netopt_parse_hostfwd(line, &f, err, sizeof(err)); break; }
    case 6: { uint8_t mac[6]; netopt_parse_mac(line, mac, err, sizeof(err)); break; }
    default: { static struct drive_config d; drive_from_hd(line, kind & 3, &d, err, sizeof(err)); break; }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct netopt no;
    netopt_init(&no);
    fz_lines(data, size, one_line, &no);
    char err[512];
    netopt_finish(&no, size & 1, err, sizeof(err));
    return 0;
}
