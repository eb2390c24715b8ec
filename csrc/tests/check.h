/*
 * check.h - the CHECK macro of the C tests: report a failed condition with
 * its place and a message, count it in the including file's `failures`,
 * and go on.
 */
#ifndef SEAMLESS_TESTS_CHECK_H
#define SEAMLESS_TESTS_CHECK_H

#include <stdio.h>

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#endif /* SEAMLESS_TESTS_CHECK_H */
