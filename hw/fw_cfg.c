/* fw_cfg: QEMU's firmware configuration device (see hw/fw_cfg.h).
 * Reference: QEMU docs/specs/fw_cfg.rst (register layout, DMA interface,
 * file directory); the table-loader command layout is the one SeaBIOS's
 * src/fw/romfile_loader.h documents. */
#include "hw/fw_cfg.h"
#include <stdlib.h>
#include <string.h>

struct fw_item {
    uint16_t key;
    uint8_t *data;
    uint32_t len;
};

struct fw_file {
    char name[FW_CFG_NAME_LEN];
    uint16_t key;
};

struct fw_cfg {
    struct iomap *pio;
    struct guest_mem mem;
    struct fw_item *items;
    int nitems, cap;
    struct fw_file files[FW_CFG_MAX_FILES];
    int nfiles;
    int cur;                 /* index into items, -1: nothing (or unknown key) */
    uint32_t offset;         /* read position in the current item */
    uint64_t dma_addr;
};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void st_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static void st_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

static int find_item(const struct fw_cfg *f, uint16_t key)
{
    for (int i = 0; i < f->nitems; i++)
        if (f->items[i].key == key)
            return i;
    return -1;
}

const uint8_t *fw_cfg_item(const struct fw_cfg *f, uint16_t key, size_t *len)
{
    int i = find_item(f, key);
    if (i < 0)
        return NULL;
    if (len)
        *len = f->items[i].len;
    return f->items[i].data;
}

const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len)
{
    for (int i = 0; i < f->nfiles; i++)
        if (!strcmp(f->files[i].name, name))
            return fw_cfg_item(f, f->files[i].key, len);
    return NULL;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len)
{
    if ((key & FW_CFG_WRITE_FLAG) || len > FW_CFG_MAX_ITEM)
        return -1;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, data, len);
    int i = find_item(f, key);
    if (i < 0) {
        if (f->nitems == f->cap) {
            int cap = f->cap ? f->cap * 2 : 32;
            struct fw_item *n = realloc(f->items, (size_t)cap * sizeof(*n));
            if (!n) {
                free(copy);
                return -1;
            }
            f->items = n;
            f->cap = cap;
        }
        i = f->nitems++;
        f->items[i].key = key;
    } else {
        free(f->items[i].data);
    }
    f->items[i].data = copy;
    f->items[i].len = (uint32_t)len;
    return 0;
}

int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return fw_cfg_add_bytes(f, key, b, 2);
}

int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(f, key, b, 4);
}

int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(f, key, b, 8);
}

/* The directory item, rebuilt whenever a file is added. */
static int rebuild_dir(struct fw_cfg *f)
{
    size_t len = 4 + (size_t)f->nfiles * 64;
    uint8_t *d = calloc(1, len);
    if (!d)
        return -1;
    st_be32(d, (uint32_t)f->nfiles);
    for (int i = 0; i < f->nfiles; i++) {
        uint8_t *e = d + 4 + 64 * i;
        size_t flen = 0;
        fw_cfg_item(f, f->files[i].key, &flen);
        st_be32(e, (uint32_t)flen);
        st_be16(e + 4, f->files[i].key);
        memcpy(e + 8, f->files[i].name, FW_CFG_NAME_LEN);
    }
    int r = fw_cfg_add_bytes(f, FW_CFG_FILE_DIR, d, len);
    free(d);
    return r;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl >= FW_CFG_NAME_LEN)
        return -1;
    int at;
    for (at = 0; at < f->nfiles; at++) {
        int c = strcmp(f->files[at].name, name);
        if (c == 0) {
            if (fw_cfg_add_bytes(f, f->files[at].key, data, len) < 0)
                return -1;
            return rebuild_dir(f) < 0 ? -1 : f->files[at].key;
        }
        if (c > 0)
            break;
    }
    if (f->nfiles >= FW_CFG_MAX_FILES)
        return -1;
    /* Keys are handed out in order of addition; the directory is sorted by
     * name (QEMU's order), which is what the firmware walks. */
    uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
    if (fw_cfg_add_bytes(f, key, data, len) < 0)
        return -1;
    memmove(&f->files[at + 1], &f->files[at], (size_t)(f->nfiles - at) * sizeof(f->files[0]));
    memset(&f->files[at], 0, sizeof(f->files[at]));
    memcpy(f->files[at].name, name, nl);
    f->files[at].key = key;
    f->nfiles++;
    return rebuild_dir(f) < 0 ? -1 : key;
}

static void select_key(struct fw_cfg *f, uint16_t key)
{
    /* The write flag only asks for write access; the item is the same. */
    f->cur = find_item(f, key & (uint16_t)~FW_CFG_WRITE_FLAG);
    f->offset = 0;
}

static uint8_t read_byte(struct fw_cfg *f)
{
    if (f->cur < 0)
        return 0;
    const struct fw_item *it = &f->items[f->cur];
    if (f->offset >= it->len)
        return 0;
    return it->data[f->offset++];
}

static uint64_t port_read(void *opaque, uint64_t addr, unsigned size)
{
    struct fw_cfg *f = opaque;
    if (addr == 0)              /* the selector reads as nothing useful */
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)read_byte(f) << (8 * i);
    return v;
}

static void port_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct fw_cfg *f = opaque;
    /* Writes to the data port are ignored (deprecated in QEMU since 2.4). */
    if (addr == 0 && size >= 2)
        select_key(f, (uint16_t)val);
}

/* One FWCfgDmaAccess (be32 control, be32 length, be64 address) at f->dma_addr. */
static void dma_transfer(struct fw_cfg *f)
{
    uint64_t at = f->dma_addr;
    f->dma_addr = 0;
    uint8_t *acc = f->mem.ptr(f->mem.opaque, at, 16);
    if (!acc)               /* nowhere to report to: nothing happens */
        return;
    uint32_t control = be32(acc), length = be32(acc + 4);
    uint64_t addr = be64(acc + 8);
    uint32_t status = 0;
    if (control & FW_CFG_DMA_SELECT)
        select_key(f, (uint16_t)(control >> 16));
    if (control & FW_CFG_DMA_READ) {
        /* Past the item's end the device supplies zeros (fw_cfg.rst). */
        uint8_t *dst = length ? f->mem.ptr(f->mem.opaque, addr, length) : NULL;
        if (length && !dst) {
            status = FW_CFG_DMA_ERROR;
        } else if (length) {
            uint32_t n = 0;
            if (f->cur >= 0) {
                const struct fw_item *it = &f->items[f->cur];
                if (f->offset < it->len) {
                    n = it->len - f->offset < length ? it->len - f->offset : length;
                    memcpy(dst, it->data + f->offset, n);
                    f->offset += n;
                }
            }
            memset(dst + n, 0, length - n);
            if (f->mem.written)
                f->mem.written(f->mem.opaque, addr, length);
        }
    } else if (control & FW_CFG_DMA_WRITE) {
        status = FW_CFG_DMA_ERROR;      /* every item is read-only */
    } else if (control & FW_CFG_DMA_SKIP) {
        if (f->cur >= 0) {
            const struct fw_item *it = &f->items[f->cur];
            uint64_t o = (uint64_t)f->offset + length;
            f->offset = o > it->len ? it->len : (uint32_t)o;
        }
    }
    st_be32(acc, status);
    if (f->mem.written)
        f->mem.written(f->mem.opaque, at, 4);
}

static uint64_t dma_read(void *opaque, uint64_t addr, unsigned size)
{
    /* "QEMU CFG" in memory order: bytes of a big-endian register. */
    static const char sig[8] = "QEMU CFG";
    uint64_t v = 0;
    for (unsigned i = 0; i < size && addr + i < 8; i++)
        v |= (uint64_t)(uint8_t)sig[addr + i] << (8 * i);
    return v;
}

static void dma_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct fw_cfg *f = opaque;
    /* The register is big-endian: a 32-bit OUT puts its bytes in memory
     * order, so the value the guest meant is the byte-swapped one. */
    if (size != 4)
        return;
    if (addr == 0) {
        f->dma_addr = (uint64_t)bswap32((uint32_t)val) << 32;
    } else if (addr == 4) {
        f->dma_addr |= bswap32((uint32_t)val);
        dma_transfer(f);
    }
}

struct fw_cfg *fw_cfg_create(struct iomap *pio, const struct guest_mem *mem)
{
    struct fw_cfg *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->pio = pio;
    f->mem = *mem;
    f->cur = -1;
    if (iomap_register(pio, FW_CFG_PORT_SEL, 2, port_read, port_write, f, "fw_cfg") < 0) {
        free(f);
        return NULL;
    }
    if (iomap_register(pio, FW_CFG_PORT_DMA, 8, dma_read, dma_write, f, "fw_cfg-dma") < 0) {
        iomap_unregister(pio, FW_CFG_PORT_SEL);
        free(f);
        return NULL;
    }
    uint32_t id = FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA;
    if (fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, "QEMU", 4) < 0 ||
        fw_cfg_add_u32(f, FW_CFG_ID, id) < 0 || rebuild_dir(f) < 0) {
        fw_cfg_free(f);
        return NULL;
    }
    return f;
}

void fw_cfg_reset(struct fw_cfg *f)
{
    f->cur = -1;
    f->offset = 0;
    f->dma_addr = 0;
}

void fw_cfg_free(struct fw_cfg *f)
{
    if (!f)
        return;
    iomap_unregister(f->pio, FW_CFG_PORT_SEL);
    iomap_unregister(f->pio, FW_CFG_PORT_DMA);
    for (int i = 0; i < f->nitems; i++)
        free(f->items[i].data);
    free(f->items);
    free(f);
}

/* ---- table-loader commands ---- */

static uint8_t *loader_entry(struct fw_loader *l, uint32_t cmd)
{
    if (l->error)
        return NULL;
    if (l->len + FW_LOADER_ENTRY_SIZE > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16 * FW_LOADER_ENTRY_SIZE;
        uint8_t *n = realloc(l->cmds, cap);
        if (!n) {
            l->error = true;
            return NULL;
        }
        l->cmds = n;
        l->cap = cap;
    }
    uint8_t *e = l->cmds + l->len;
    memset(e, 0, FW_LOADER_ENTRY_SIZE);
    for (int i = 0; i < 4; i++)
        e[i] = (uint8_t)(cmd >> (8 * i));
    l->len += FW_LOADER_ENTRY_SIZE;
    return e;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool put_name(struct fw_loader *l, uint8_t *dst, const char *name)
{
    size_t n = strlen(name);
    if (n >= FW_CFG_NAME_LEN) {
        l->error = true;
        return false;
    }
    memcpy(dst, name, n);
    return true;
}

void fw_loader_allocate(struct fw_loader *l, const char *file, uint32_t align, uint8_t zone)
{
    uint8_t *e = loader_entry(l, FW_LOADER_ALLOCATE);
    if (!e || !put_name(l, e + 4, file))
        return;
    put_le32(e + 4 + 56, align);
    e[4 + 60] = zone;
}

void fw_loader_add_pointer(struct fw_loader *l, const char *dest, const char *src,
                           uint32_t offset, uint8_t size)
{
    uint8_t *e = loader_entry(l, FW_LOADER_ADD_POINTER);
    if (!e || !put_name(l, e + 4, dest) || !put_name(l, e + 4 + 56, src))
        return;
    put_le32(e + 4 + 112, offset);
    e[4 + 116] = size;
}

void fw_loader_add_checksum(struct fw_loader *l, const char *file, uint32_t offset,
                            uint32_t start, uint32_t length)
{
    uint8_t *e = loader_entry(l, FW_LOADER_ADD_CHECKSUM);
    if (!e || !put_name(l, e + 4, file))
        return;
    put_le32(e + 4 + 56, offset);
    put_le32(e + 4 + 60, start);
    put_le32(e + 4 + 64, length);
}

void fw_loader_free(struct fw_loader *l)
{
    free(l->cmds);
    *l = (struct fw_loader){0};
}
