/* Minimal PNG encoder (see ui/png.h). Chunks: IHDR, IDAT..., IEND; each is
 * length, type, data, CRC-32 over type+data (PNG spec §5.3). The image data
 * is the filtered scanlines (filter type 0, "None") deflated by zlib. */
#include "ui/png.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int put_chunk(FILE *f, const char type[4], const uint8_t *data, uint32_t len)
{
    uint8_t hdr[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
                      (uint8_t)type[0], (uint8_t)type[1], (uint8_t)type[2], (uint8_t)type[3]};
    uLong crc = crc32(0L, hdr + 4, 4);
    if (len)
        crc = crc32(crc, data, len);
    uint8_t c[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    if (fwrite(hdr, 1, 8, f) != 8 || (len && fwrite(data, 1, len, f) != len) || fwrite(c, 1, 4, f) != 4)
        return -1;
    return 0;
}

int png_write(FILE *f, const uint32_t *pixels, int width, int height, int stride)
{
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535 || stride < width)
        return -1;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {(uint8_t)(width >> 24), (uint8_t)(width >> 16), (uint8_t)(width >> 8), (uint8_t)width,
                        (uint8_t)(height >> 24), (uint8_t)(height >> 16), (uint8_t)(height >> 8), (uint8_t)height,
                        8 /* bit depth */, 2 /* truecolour RGB */, 0, 0, 0};
    if (fwrite(sig, 1, 8, f) != 8 || put_chunk(f, "IHDR", ihdr, 13) < 0)
        return -1;
    size_t rowlen = 1 + (size_t)width * 3;
    uint8_t *row = malloc(rowlen);
    uint8_t *out = malloc(1 << 16);
    z_stream z;
    memset(&z, 0, sizeof(z));
    int ret = -1;
    if (!row || !out || deflateInit(&z, 6) != Z_OK)
        goto done;
    for (int y = 0; y <= height; y++) {
        int flush = Z_NO_FLUSH;
        if (y < height) {
            const uint32_t *p = pixels + (size_t)y * stride;
            row[0] = 0;                 /* filter: None */
            for (int x = 0; x < width; x++) {
                row[1 + 3 * x] = (uint8_t)(p[x] >> 16);
                row[2 + 3 * x] = (uint8_t)(p[x] >> 8);
                row[3 + 3 * x] = (uint8_t)p[x];
            }
            z.next_in = row;
            z.avail_in = (uInt)rowlen;
        } else {
            z.next_in = NULL;
            z.avail_in = 0;
            flush = Z_FINISH;
        }
        int zr;
        do {
            z.next_out = out;
            z.avail_out = 1 << 16;
            zr = deflate(&z, flush);
            if (zr == Z_STREAM_ERROR)
                goto zdone;
            uint32_t n = (1u << 16) - z.avail_out;
            if (n && put_chunk(f, "IDAT", out, n) < 0)
                goto zdone;
        } while (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    }
    ret = put_chunk(f, "IEND", NULL, 0);
zdone:
    deflateEnd(&z);
done:
    free(row);
    free(out);
    return ret;
}

int png_write_file(const char *path, const uint32_t *pixels, int width, int height, int stride)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int r = png_write(f, pixels, width, height, stride);
    if (fclose(f) != 0)
        r = -1;
    return r;
}

int ppm_write_file(const char *path, const uint32_t *pixels, int width, int height, int stride)
{
    if (width <= 0 || height <= 0 || stride < width)
        return -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint8_t *row = malloc((size_t)width * 3);
    int r = row && fprintf(f, "P6\n%d %d\n255\n", width, height) > 0 ? 0 : -1;
    for (int y = 0; y < height && r == 0; y++) {
        const uint32_t *s = pixels + (size_t)y * stride;
        for (int x = 0; x < width; x++) {
            row[3 * x] = (uint8_t)(s[x] >> 16);
            row[3 * x + 1] = (uint8_t)(s[x] >> 8);
            row[3 * x + 2] = (uint8_t)s[x];
        }
        if (fwrite(row, 3, (size_t)width, f) != (size_t)width)
            r = -1;
    }
    free(row);
    if (fclose(f) != 0)
        r = -1;
    return r;
}
