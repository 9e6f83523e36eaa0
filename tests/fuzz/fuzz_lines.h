/* Shared by the option-parser harnesses: the input as text, split at
 * newlines; each non-empty line goes to fn with its first byte (which
 * parser) apart from the rest (the option string). */
#ifndef TESTS_FUZZ_FUZZ_LINES_H
#define TESTS_FUZZ_FUZZ_LINES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void fz_lines(const uint8_t *data, size_t size,
                            void (*fn)(void *opaque, char kind, char *line), void *opaque)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = 0;
    for (char *line = s, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (*line)
            fn(opaque, line[0], line + 1);
    }
    free(s);
}

#endif
