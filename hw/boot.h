/* Boot loaders, internal interface (hw/boot.c, hw/boot_linux.c,
 * hw/boot_multiboot.c). The board only calls boot_load() (hw/machine.h).
 *
 * Low guest memory while a kernel is loaded directly (no firmware runs, so
 * everything below 1 MiB is ours; kernels are never loaded below 1 MiB):
 *   0x00500  GDT: 0x10 flat code (64-bit for the 64-bit entry), 0x18 flat data
 *   0x07000  zero page (bzImage) / hvm_start_info (PVH) / multiboot info
 *   0x08ff0  initial stack pointer (kernels set their own; this one is harmless)
 *   0x09000  page tables for the 64-bit entry: PML4, PDPT, 4 PDs (to 0x0f000)
 *   0x20000  command line(s), up to 64 KiB
 * Initrds and modules go high (bzImage, PVH) or right after the kernel
 * (multiboot, like QEMU and GRUB). */
#ifndef HW_BOOT_H
#define HW_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hw/machine.h"

#define BOOT_GDT_ADDR      0x500ULL
#define BOOT_INFO_ADDR     0x7000ULL
#define BOOT_STACK_TOP     0x8ff0ULL
#define BOOT_PML4_ADDR     0x9000ULL
#define BOOT_PDPT_ADDR     0xa000ULL
#define BOOT_PD_ADDR       0xb000ULL    /* 4 pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR  0x20000ULL
#define BOOT_CMDLINE_MAX   0x10000ULL
#define BOOT_KERNEL_MIN    0x100000ULL  /* kernels load at or above 1 MiB */

#define BOOT_CS 0x10
#define BOOT_DS 0x18

/* A whole file in host memory. */
struct boot_file {
    const char *path;
    uint8_t *data;
    size_t size;
};

/* Reads a whole file (at most max bytes); on error fills err. */
int boot_read_file(const char *path, uint64_t max, struct boot_file *f,
                   char *err, size_t errlen);
void boot_free_file(struct boot_file *f);

/* Each loader: 1 = loaded (st is the entry state), 0 = not this format,
 * -1 = this format but unusable (err says why). */
int boot_bzimage(struct machine *m, struct x86_state *st, const struct boot_file *k,
                 char *err, size_t errlen);
int boot_pvh(struct machine *m, struct x86_state *st, const struct boot_file *k,
             char *err, size_t errlen);
int boot_multiboot(struct machine *m, struct x86_state *st, const struct boot_file *k,
                   char *err, size_t errlen);

/* -bios: (re)loads the firmware into m->bios (allocated once, same buffer on
 * every reset), its low copy below 1 MiB and its e820 range. Called by
 * boot_load(); a board may call it earlier (idempotent), e.g. before an
 * engine maps guest memory. */
int boot_bios_load(struct machine *m, char *err, size_t errlen);

/* Shared helpers (hw/boot.c). */
/* GDT at BOOT_GDT_ADDR; 0x10 is 64-bit code when long_mode, else 32-bit. */
void boot_write_gdt(struct machine *m, int long_mode);
/* Flat 32-bit protected mode, paging and interrupts off, GDTR set. */
void boot_state_flat32(struct x86_state *st, uint32_t eip);
/* Long mode with the identity map of the first 4 GiB written to RAM. */
void boot_state_long64(struct machine *m, struct x86_state *st, uint64_t rip);
/* Host pointer to guest RAM [paddr, paddr+len) (not the firmware window), or NULL. */
uint8_t *boot_ram_ptr(struct machine *m, uint64_t paddr, uint64_t len);
/* Writes the command line at BOOT_CMDLINE_ADDR (NUL-terminated);
 * -1 with err if longer than max bytes (without the NUL). */
int boot_write_cmdline(struct machine *m, const char *s, uint64_t max,
                       char *err, size_t errlen);
/* Highest 4 KiB-aligned address a with [a, a+size) inside one E820 RAM range,
 * a >= lo and a + size <= hi; 0 if none. */
uint64_t boot_place_high(struct machine *m, uint64_t size, uint64_t lo, uint64_t hi);
/* Loads an ELF file's PT_LOAD segments at their physical addresses.
 * Returns 0 and the end of the highest segment (memsz) in *end, or -1. */
int boot_elf_load(struct machine *m, const struct boot_file *k, uint64_t *lowest,
                  uint64_t *end, char *err, size_t errlen);
/* Is this a little-endian x86 ELF executable with a sane program header
 * table? Fills class (1: ELF32, 2: ELF64). */
int boot_elf_check(const struct boot_file *k, int *elfclass, char *err, size_t errlen);
/* Translates a virtual address through the PT_LOAD segments (for entry points);
 * returns addr unchanged when no segment covers it. */
uint64_t boot_elf_vaddr_to_paddr(const struct boot_file *k, uint64_t addr);

/* Little-endian accessors for image and guest structures. */
static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static inline void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void st32(uint8_t *p, uint32_t v) { st16(p, (uint16_t)v); st16(p + 2, (uint16_t)(v >> 16)); }
static inline void st64(uint8_t *p, uint64_t v) { st32(p, (uint32_t)v); st32(p + 4, (uint32_t)(v >> 32)); }

/* ELF program headers and notes, for both ELF32 and ELF64 (after boot_elf_check). */
struct elf_seg {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};
#define PT_LOAD_ 1
#define PT_NOTE_ 4
#define SHT_NOTE_ 7
unsigned boot_elf_nphdr(const struct boot_file *k);
void boot_elf_phdr(const struct boot_file *k, unsigned i, struct elf_seg *s);
uint64_t boot_elf_entry(const struct boot_file *k);
/* Finds note (name, type) in PT_NOTE segments, else SHT_NOTE sections; returns
 * 1 with its descriptor, 0 if absent. Every length is checked against the file. */
int boot_elf_find_note(const struct boot_file *k, const char *name, uint32_t type,
                       const uint8_t **desc, uint32_t *descsz);

#endif
