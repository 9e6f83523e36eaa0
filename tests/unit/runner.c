/* Runs every registered unit test (optionally those whose name contains
 * argv[1]) and prints the closing line `N passed, N failed[, N skipped]`. */
#include "test.h"
#include "cpu/cpu.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct test_entry { const char *name, *file; test_fn fn; };
static struct test_entry *tests;
static int ntests, cap;
static int cur_failed, cur_skipped;
static const char *cur_name;

void test_register(const char *name, const char *file, test_fn fn)
{
    if (ntests == cap) {
        cap = cap ? cap * 2 : 64;
        tests = realloc(tests, (size_t)cap * sizeof(*tests));
        if (!tests) abort();
    }
    tests[ntests++] = (struct test_entry){name, file, fn};
}

void test_fail(const char *file, int line, const char *msg)
{
    if (cur_failed < 5)
        printf("  FAIL %s: %s:%d: %s\n", cur_name, file, line, msg);
    cur_failed++;
}

void test_failf(const char *file, int line, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    test_fail(file, line, buf);
}

int test_failures(void)
{
    return cur_failed;
}

void test_skip(const char *why)
{
    printf("  SKIP %s: %s\n", cur_name, why);
    cur_skipped = 1;
}

const char *test_jit_mode(void)
{
    const char *m = getenv("TREMU_TEST_JIT");
    if (!m || !*m)
        return "on";
    return m;
}

struct cpu *test_cpu_new(const struct cpu_bus *bus)
{
    struct cpu *c = cpu_new(bus);
    if (!c)
        return NULL;
    const char *m = test_jit_mode();
    enum cpu_jit_mode jm = !strcmp(m, "off") ? CPU_JIT_OFF
                         : !strcmp(m, "verify") ? CPU_JIT_VERIFY : CPU_JIT_ON;
    /* Hosts without a backend run the interpreter: the same results. */
    if (jm != CPU_JIT_OFF && cpu_jit_available()) {
        cpu_set_jit(c, jm, 4u << 20);
        cpu_set_jit_threshold(c, 1);
    }
    return c;
}

static int cmp(const void *a, const void *b)
{
    const struct test_entry *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    qsort(tests, (size_t)ntests, sizeof(*tests), cmp);
    if (strcmp(test_jit_mode(), "on") != 0)
        printf("(software CPU tests with jit=%s)\n", test_jit_mode());
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]) && !strstr(tests[i].file, argv[1]))
            continue;
        cur_name = tests[i].name;
        cur_failed = cur_skipped = 0;
        tests[i].fn();
        if (cur_failed) {
            failed++;
            printf("not ok %s (%d check%s failed)\n", cur_name, cur_failed, cur_failed > 1 ? "s" : "");
        } else if (cur_skipped) {
            skipped++;
        } else {
            passed++;
            printf("ok %s\n", cur_name);
        }
    }
    if (skipped)
        printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
