/* A minimal PNG writer (PNG spec 2nd ed., ISO/IEC 15948): 8-bit RGB,
 * no interlace, one zlib stream split into IDAT chunks. For screendumps. */
#ifndef UI_PNG_H
#define UI_PNG_H

#include <stdint.h>
#include <stdio.h>

/* pixels: 0x00RRGGBB, stride in pixels. Returns 0, or -1 (I/O or memory). */
int png_write(FILE *f, const uint32_t *pixels, int width, int height, int stride);
int png_write_file(const char *path, const uint32_t *pixels, int width, int height, int stride);
/* The same pixels as binary PPM (netpbm "P6", maxval 255): QEMU's default
 * screendump format. 0 or -1. */
int ppm_write_file(const char *path, const uint32_t *pixels, int width, int height, int stride);

#endif
