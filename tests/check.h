/* The check macro of the unit tests: counts checks and failures and prints where a check
 * failed, so a test's main ends with its own summary line and a non-zero exit on failure. */
#ifndef ER_TESTS_CHECK_H
#define ER_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                \
    do {                                                \
        checks++;                                       \
        if (!(cond)) {                                  \
            failures++;                                 \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

#endif
