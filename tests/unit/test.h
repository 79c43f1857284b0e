/* A small unit-test harness: tests register themselves at load time; the
 * runner (tests/unit/main.c) runs one by name so ctest lists each apart.
 *
 *   BERTH_TEST(quantity_parses_binary_suffixes) {
 *       CHECK_INT(berth_quantity_parse("1Ki", &v), 0);
 *   }
 *
 * CMake finds the names with a regex over tests/unit/test-*.c, so keep the
 * macro and the name on one line. */
#ifndef BERTH_TEST_H
#define BERTH_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef void (*berth_test_fn)(void);
void berth_test_register(const char *name, berth_test_fn fn);
void berth_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How many checks have failed so far in this process: a test that checks
 * in a forked child reports whether the count grew there. */
int berth_test_failures(void);
/* A fresh empty directory for this test, removed after it; owned by the
 * harness. */
const char *berth_test_tmpdir(void);
/* JSON written with ' for " (readable fixtures in C strings); a parse
 * error fails the calling test and returns NULL. The caller frees it. */
cJSON *berth_test_json_at(const char *file, int line, const char *text);
#define berth_test_json(text) berth_test_json_at(__FILE__, __LINE__, (text))

#define BERTH_TEST(name)                                               \
    static void test_##name(void);                                     \
    __attribute__((constructor)) static void register_##name(void)     \
    {                                                                  \
        berth_test_register(#name, test_##name);                       \
    }                                                                  \
    static void test_##name(void)

#define CHECK(cond)                                                    \
    do {                                                               \
        if (!(cond))                                                   \
            berth_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
    } while (0)

#define CHECK_INT(actual, expected)                                    \
    do {                                                               \
        long long a_ = (long long)(actual), e_ = (long long)(expected); \
        if (a_ != e_)                                                  \
            berth_test_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", \
                            #actual, a_, e_);                          \
    } while (0)

#define CHECK_STR(actual, expected)                                    \
    do {                                                               \
        const char *a_ = (actual), *e_ = (expected);                   \
        if (!a_ || !e_ ? a_ != e_ : strcmp(a_, e_) != 0)               \
            berth_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
                            #actual, a_ ? a_ : "(null)", e_ ? e_ : "(null)"); \
    } while (0)

#endif
