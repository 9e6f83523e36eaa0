/* QEMU's firmware configuration device (fw_cfg), the way SeaBIOS and OVMF
 * find out about the machine they run on: RAM layout, CPU count, boot order,
 * ACPI tables, console port. Follows QEMU's docs/specs/fw_cfg.rst.
 *
 * Ports (x86): 0x510 selector (16-bit write), 0x511 data (8-bit reads that
 * walk the selected item; past its end they read 0), 0x514-0x51b the DMA
 * address register (big-endian 64-bit; a 32-bit write of the low half at
 * 0x518 starts the transfer). Reading the DMA register gives "QEMU CFG".
 *
 * Items are byte strings under a 16-bit key. Named files live from key
 * 0x20 up and are listed by the directory item 0x19 (big-endian count, then
 * per file: be32 size, be16 key, be16 reserved, char name[56]), sorted by
 * name as QEMU keeps it. Everything is read-only to the guest: a DMA write
 * request fails with the error bit, as for QEMU's read-only items.
 *
 * The device has no notion of time; a DMA transfer completes inside the
 * port write that starts it, so the guest's status poll sees it done. */
#ifndef HW_FW_CFG_H
#define HW_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/iomap.h"
#include "hw/virtio.h"     /* struct guest_mem: DMA into guest RAM */

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_PORT_DMA   0x514

/* Well-known keys (fw_cfg.rst, "Selector Register"). */
#define FW_CFG_SIGNATURE   0x00
#define FW_CFG_ID          0x01
#define FW_CFG_UUID        0x02
#define FW_CFG_RAM_SIZE    0x03
#define FW_CFG_NOGRAPHIC   0x04
#define FW_CFG_NB_CPUS     0x05
#define FW_CFG_MACHINE_ID  0x06
#define FW_CFG_NUMA        0x0d
#define FW_CFG_BOOT_MENU   0x0e
#define FW_CFG_MAX_CPUS    0x0f
#define FW_CFG_FILE_DIR    0x19
#define FW_CFG_FILE_FIRST  0x20
#define FW_CFG_WRITE_FLAG  0x4000
#define FW_CFG_ARCH_LOCAL  0x8000
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA         0x2

/* FWCfgDmaAccess.control bits. */
#define FW_CFG_DMA_ERROR  0x01
#define FW_CFG_DMA_READ   0x02
#define FW_CFG_DMA_SKIP   0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE  0x10

#define FW_CFG_MAX_FILES  64
#define FW_CFG_NAME_LEN   56
#define FW_CFG_MAX_ITEM   (64u << 20)   /* no single item may be larger */

struct fw_cfg;

/* Registers the ports on pio. mem gives DMA access to guest RAM (copied;
 * its ptr must refuse anything that is not RAM). NULL on failure. */
struct fw_cfg *fw_cfg_create(struct iomap *pio, const struct guest_mem *mem);
void fw_cfg_free(struct fw_cfg *f);
/* Machine reset: no item selected, DMA address cleared. Items are kept. */
void fw_cfg_reset(struct fw_cfg *f);

/* Adds or replaces the item under key (copied). 0, or -1 (bad key, too big). */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v);   /* little-endian */
int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v);
/* Adds or replaces a named file (copied; name < 56 bytes). Returns its key,
 * or -1 (name too long or empty, directory full, too big). */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len);

/* For tests and the board: the item's bytes, or NULL. */
const uint8_t *fw_cfg_item(const struct fw_cfg *f, uint16_t key, size_t *len);
const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len);

/* ---- the table-loader ("etc/table-loader", QEMU's BIOSLinker) ----
 * A list of 128-byte commands the firmware executes to place blobs in
 * guest memory and link them: ALLOCATE a file in a zone, ADD_POINTER (add
 * the address where one file went to a field of another), ADD_CHECKSUM. */
#define FW_LOADER_ENTRY_SIZE 128
#define FW_LOADER_ALLOCATE      1
#define FW_LOADER_ADD_POINTER   2
#define FW_LOADER_ADD_CHECKSUM  3
#define FW_LOADER_ZONE_HIGH     1
#define FW_LOADER_ZONE_FSEG     2

struct fw_loader {
    uint8_t *cmds;
    size_t len, cap;
    bool error;              /* a name too long or out of memory: unusable */
};

void fw_loader_allocate(struct fw_loader *l, const char *file, uint32_t align, uint8_t zone);
void fw_loader_add_pointer(struct fw_loader *l, const char *dest, const char *src,
                           uint32_t offset, uint8_t size);
void fw_loader_add_checksum(struct fw_loader *l, const char *file, uint32_t offset,
                            uint32_t start, uint32_t length);
void fw_loader_free(struct fw_loader *l);

#endif
