/* A scripted VNC viewer for tests (libvncclient, Debian's libvncserver-dev):
 * connects like any viewer, reads the screen back as text by matching each
 * 9x16 (or 8x16) cell of the framebuffer against the VGA BIOS font (the
 * glyphs the guest's text mode uses), and types through RFB key events.
 *
 *   vncclient [-p PASSWORD] [-f FILE] HOST:PORT|/path/to/unix.sock COMMAND...
 *     -f FILE          also match against the 8x16 font found inside FILE
 *                      (e.g. the guest's vmlinux, whose fbcon font differs
 *                      from the BIOS's in a few glyphs)
 *     wait TEXT SECS   read the screen until it shows TEXT (exit 1 on timeout,
 *                      printing the screen)
 *     type TEXT        type TEXT ('\n' in the argument = Return)
 *     dump FILE        write the screen text to FILE ("-": stdout)
 *     click X Y        move the pointer to (X, Y) and click the left button
 *     size             print WIDTHxHEIGHT
 * Exit: 0 done, 1 a wait failed, 2 cannot connect or authenticate. */
#include "hw/vga.h"
#include <rfb/rfbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const uint8_t *fonts[2];     /* the VGA BIOS font, and -f FILE's */
static int nfonts;
static const char *password;

static char *get_password(rfbClient *c)
{
    return strdup(password ? password : "");
}

static void quiet(const char *fmt, ...) { (void)fmt; }

/* The screen as text: rows of cols characters, '?' for a cell that matches
 * no glyph (e.g. under the cursor). */
static void screen_text(rfbClient *c, char *out, size_t len)
{
    int w = c->width, h = c->height;
    int cw = (w % 9 == 0 && w / 9 <= 132) ? 9 : 8, ch = 16;
    int cols = w / cw, rows = h / ch;
    const uint32_t *fb = (const uint32_t *)c->frameBuffer;
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        for (int col = 0; col < cols && n + 2 < len; col++) {
            const uint32_t *cell = fb + (size_t)r * ch * w + col * cw;
            /* Background: the colour of the 9th column (or the top-left
             * pixel); a glyph's rows are the pixels that differ from it. */
            uint32_t bg = cw == 9 ? cell[8] : cell[0];
            uint8_t bits[16];
            for (int y = 0; y < ch; y++) {
                bits[y] = 0;
                for (int x = 0; x < 8; x++)
                    if ((cell[(size_t)y * w + x] & 0xffffff) != (bg & 0xffffff))
                        bits[y] |= (uint8_t)(0x80 >> x);
            }
            /* Nearest glyph by differing pixels, normal or inverse video:
             * the kernel's fbcon font is the IBM one with a few glyphs
             * redrawn ('m' differs in ~20 pixels), so the nearest glyph still names it. */
            char found = '?';
            int best = 9;           /* at most 8 of 128 pixels may differ */
            for (int fi = 0; fi < nfonts && best; fi++)
                for (int inv = 0; inv < 2 && best; inv++)
                    for (int g = 0x20; g < 0x7f && best; g++) {
                        int d = 0;
                        for (int y = 0; y < 16; y++)
                            d += __builtin_popcount((uint8_t)((inv ? ~bits[y] : bits[y]) ^ fonts[fi][g * 16 + y]));
                        if (d < best) {
                            best = d;
                            found = (char)g;
                        }
                    }
            out[n++] = found;
        }
        if (n + 1 < len)
            out[n++] = '\n';
    }
    out[n] = 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int pump(rfbClient *c, int usec)
{
    int r = WaitForMessage(c, (unsigned)usec);
    if (r < 0)
        return -1;
    if (r > 0 && !HandleRFBServerMessage(c))
        return -1;
    return 0;
}

static void key(rfbClient *c, uint32_t ks, bool shift)
{
    if (shift)
        SendKeyEvent(c, 0xffe1, TRUE);
    SendKeyEvent(c, ks, TRUE);
    SendKeyEvent(c, ks, FALSE);
    if (shift)
        SendKeyEvent(c, 0xffe1, FALSE);
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *fontfile = NULL;
    while (i + 1 < argc && (!strcmp(argv[i], "-p") || !strcmp(argv[i], "-f"))) {
        if (argv[i][1] == 'p')
            password = argv[i + 1];
        else
            fontfile = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: vncclient [-p PW] HOST:PORT|SOCKET COMMAND...\n");
        return 2;
    }
    size_t romlen;
    uint8_t *rom = vga_load_bios(&romlen, NULL);
    if (!rom || vga_find_fonts(rom, romlen, &fonts[nfonts++], NULL) < 0) {
        fprintf(stderr, "vncclient: no VGA BIOS font to read the screen with\n");
        return 2;
    }
    if (fontfile) {
        FILE *ff = fopen(fontfile, "rb");
        static uint8_t *blob;
        long bl = 0;
        if (ff && fseek(ff, 0, SEEK_END) == 0 && (bl = ftell(ff)) > 0 && fseek(ff, 0, SEEK_SET) == 0 &&
            (blob = malloc((size_t)bl)) && fread(blob, 1, (size_t)bl, ff) == (size_t)bl &&
            vga_find_fonts(blob, (size_t)bl, &fonts[nfonts], NULL) == 0) {
            nfonts++;
        } else {
            fprintf(stderr, "vncclient: no 8x16 font in %s\n", fontfile);
            return 2;
        }
        fclose(ff);
    }
    rfbClientLog = quiet;
    rfbClient *c = rfbGetClient(8, 3, 4);
    c->format.redShift = 16;
    c->format.greenShift = 8;
    c->format.blueShift = 0;
    c->GetPassword = get_password;
    c->canHandleNewFBSize = TRUE;
    char *target = strdup(argv[i++]);
    char *colon = target[0] == '/' ? NULL : strrchr(target, ':');
    if (colon) {
        *colon = 0;
        c->serverHost = strdup(target);
        c->serverPort = atoi(colon + 1);
    } else {
        c->serverHost = strdup(target);
        c->serverPort = 0;
    }
    free(target);
    int ac = 0;
    if (!rfbInitClient(c, &ac, NULL)) {
        fprintf(stderr, "vncclient: cannot connect or authenticate\n");
        return 2;
    }
    static char text[132 * 60 + 64];
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "wait") && i + 2 < argc) {
            const char *want = argv[i + 1];
            double end = now() + atof(argv[i + 2]);
            i += 2;
            bool ok = false;
            while (now() < end) {
                if (pump(c, 100000) < 0)
                    break;
                screen_text(c, text, sizeof(text));
                if (strstr(text, want)) {
                    ok = true;
                    break;
                }
            }
            if (!ok) {
                screen_text(c, text, sizeof(text));
                fprintf(stderr, "vncclient: screen does not show '%s':\n%s", want, text);
                return 1;
            }
        } else if (!strcmp(argv[i], "type") && i + 1 < argc) {
            for (const char *p = argv[++i]; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch == '\n')
                    key(c, 0xff0d, false);
                else
                    key(c, ch, (ch >= 'A' && ch <= 'Z') || strchr("!@#$%^&*()_+{}|:\"<>?~", ch));
                pump(c, 1000);
            }
        } else if (!strcmp(argv[i], "dump") && i + 1 < argc) {
            for (int k = 0; k < 5; k++)
                pump(c, 100000);
            screen_text(c, text, sizeof(text));
            const char *path = argv[++i];
            FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
            if (!f)
                return 1;
            fputs(text, f);
            if (f != stdout)
                fclose(f);
        } else if (!strcmp(argv[i], "click") && i + 2 < argc) {
            /* Pointer to (X, Y), left button down and up (RFB PointerEvent). */
            int x = atoi(argv[i + 1]), y = atoi(argv[i + 2]);
            i += 2;
            SendPointerEvent(c, x, y, 1);
            pump(c, 20000);
            SendPointerEvent(c, x, y, 0);
            pump(c, 20000);
        } else if (!strcmp(argv[i], "size")) {
            pump(c, 200000);
            printf("%dx%d\n", c->width, c->height);
        } else {
            fprintf(stderr, "vncclient: bad command '%s'\n", argv[i]);
            return 2;
        }
    }
    rfbClientCleanup(c);
    free(rom);
    return 0;
}
