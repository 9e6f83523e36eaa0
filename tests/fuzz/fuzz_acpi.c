/* libFuzzer: the ACPI table builder (hw/acpi.c) with any configuration a
 * board could pass, into areas of any size; the tables it returns must walk
 * and checksum. */
#include "hw/acpi.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acpi_config cfg;
    uint8_t raw[24] = {0};
    memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
    acpi_config_default(&cfg, (uint64_t)(raw[0] | raw[1] << 8) << 16);
    if (raw[2] & 1) {
        cfg.pm_base = (uint16_t)(raw[3] | raw[4] << 8);
        cfg.sci_irq = raw[5];
        memcpy(cfg.pirq_irq, raw + 6, 4);
        cfg.serial_mask = raw[10];
        cfg.pci_mem_base = (uint64_t)(raw[11] | raw[12] << 8 | raw[13] << 16) << 8;
    }
    size_t len = (size_t)(raw[14] | raw[15] << 8) << 2;
    if (len > 0x10000)
        len = 0x10000;
    uint8_t *area = malloc(len ? len : 1);
    if (!area)
        return 0;
    uint64_t rsdp = acpi_build_tables(area, len, 0xe0000, &cfg);
    if (rsdp) {
        struct acpi_table_ref t[16];
        int n = acpi_list_tables(area, len, 0xe0000, t, 16);
        for (int i = 0; i < n; i++)
            /* (the FACS has no checksum; the RSDP's covers its first 20/36 bytes) */
            if (strcmp(t[i].sig, "FACS") && strcmp(t[i].sig, "RSDP") &&
                t[i].addr >= 0xe0000 && t[i].addr - 0xe0000 + t[i].len <= len &&
                acpi_sum(area + (t[i].addr - 0xe0000), t[i].len) != 0)
                abort();        /* a table we built does not checksum */
    }
    free(area);
    return 0;
}
