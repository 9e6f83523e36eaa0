/* A tiny unit-test framework: TEST(name) { CHECK(...); } in any file under
 * tests/unit/ registers itself; the runner prints `N passed, N failed`. */
#ifndef TESTS_UNIT_TEST_H
#define TESTS_UNIT_TEST_H

#include <stdint.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *msg);
void test_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Checks failed so far in the running test. */
int test_failures(void);
/* Marks the running test as skipped (reported separately, never as a pass). */
void test_skip(const char *why);

/* A software CPU for tests, in the JIT mode that TREMU_TEST_JIT names
 * (on, the product's default; off; verify), translating every block at its
 * first run so that straight-line test code goes through the JIT too. */
struct cpu;
struct cpu_bus;
struct cpu *test_cpu_new(const struct cpu_bus *bus);
/* The mode test_cpu_new applies: "on", "off" or "verify". */
const char *test_jit_mode(void);

#define TEST(name)                                                        \
    static void name(void);                                               \
    __attribute__((constructor)) static void name##_register(void)        \
    { test_register(#name, __FILE__, name); }                             \
    static void name(void)

#define CHECK(c) do { if (!(c)) test_fail(__FILE__, __LINE__, #c); } while (0)
#define CHECK_EQ(a, b) do {                                               \
        unsigned long long _a = (unsigned long long)(a);                  \
        unsigned long long _b = (unsigned long long)(b);                  \
        if (_a != _b)                                                     \
            test_failf(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx",  \
                       #a, #b, _a, _b);                                   \
    } while (0)

#endif
