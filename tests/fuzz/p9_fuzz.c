/* The 9P parser under a fuzzer. data is a session: a negotiated version and
 * an attached root fid first (so walks, creates and opens are reachable),
 * then messages, each as len[2] + body, whose size field is made to agree
 * with the length half of the time (so the parser goes past the header).
 *
 * libFuzzer: clang -g -fsanitize=fuzzer,address -DP9_LIBFUZZER -I. \
 *   tests/fuzz/p9_fuzz.c fs/p9.c fs/fs_local.c -o p9-fuzz && ./p9-fuzz
 * The unit tests (tests/unit/test_p9.c) run it over random inputs too. */
#include "tests/fuzz/p9_fuzz.h"
#include "fs/p9.h"
#include <stdlib.h>
#include <string.h>

static struct fs_export *fz_e;
static struct p9_server *fz_s;
static uint8_t fz_rep[P9_MAX_MSIZE];

static void fz_send(const uint8_t *m, size_t n)
{
    p9_handle(fz_s, m, n, fz_rep, sizeof(fz_rep));
}

static void fz_start(void)
{
    static const uint8_t ver[] = {19, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0, 0, 1, 0,
                                  8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'};
    static const uint8_t att[] = {23, 0, 0, 0, P9_TATTACH, 1, 0, 0, 0, 0, 0,
                                  0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t v[sizeof(ver)];
    memcpy(v, ver, sizeof(v));
    v[0] = sizeof(ver);
    fz_send(v, sizeof(v));
    fz_send(att, sizeof(att));
}

int p9_fuzz_one(const char *dir, const uint8_t *data, size_t len)
{
    if (!dir) {
        p9_server_free(fz_s);
        fs_export_close(fz_e);
        fz_s = NULL;
        fz_e = NULL;
        return 0;
    }
    if (!fz_s) {
        char err[256];
        fz_e = fs_local_open(dir, FS_SM_NONE, false, err, sizeof(err));
        if (!fz_e)
            abort();
        fz_s = p9_server_new(fz_e);
        if (!fz_s)
            abort();
    }
    fz_start();
    uint8_t m[4096];
    while (len >= 2) {
        size_t n = (size_t)(data[0] | data[1] << 8) % sizeof(m);
        bool fix = data[0] & 1;
        data += 2;
        len -= 2;
        if (n > len)
            n = len;
        memcpy(m, data, n);
        data += n;
        len -= n;
        if (fix && n >= 4) {
            m[0] = (uint8_t)n;
            m[1] = (uint8_t)(n >> 8);
            m[2] = 0;
            m[3] = 0;
        }
        fz_send(m, n);
    }
    p9_server_reset(fz_s);
    return 0;
}

#ifdef P9_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/tremu-p9-libfuzzer-XXXXXX";
    static bool made;
    if (!made) {
        if (!mkdtemp(dir))
            abort();
        made = true;
    }
    return p9_fuzz_one(dir, data, size);
}
#endif
