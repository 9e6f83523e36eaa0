/* Fuzz entry for the 9P server (fs/p9.c). */
#ifndef TESTS_FUZZ_P9_FUZZ_H
#define TESTS_FUZZ_P9_FUZZ_H
#include <stddef.h>
#include <stdint.h>
/* Feeds data as a session to a server exporting dir (made once, kept
 * between calls; dir NULL releases it). Returns 0. */
int p9_fuzz_one(const char *dir, const uint8_t *data, size_t len);
#endif
