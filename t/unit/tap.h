/*
 * Minimal TAP producer for the unit tests, header only.
 *
 *     ok(cond, "name %d", i);
 *     is_int(got, expected, "name");
 *     is_str(got, got_len, "expected", "name");
 *     skip(n, "why");
 *     return done_testing();
 *
 * plan(n) is optional: without it done_testing() prints "1..N" at the
 * end, so a test that crashes half way never reports a complete plan.
 */

#ifndef _LLM_TAP_H_INCLUDED_
#define _LLM_TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


static int  tap_planned = -1;
static int  tap_run;
static int  tap_failed;


static inline void
plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}


static inline void
diag(const char *fmt, ...)
{
    va_list  args;

    fflush(stdout);
    fputs("# ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}


static inline int
tap_vok(const char *file, int line, int cond, const char *fmt, va_list args)
{
    tap_run++;

    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    vprintf(fmt, args);
    printf("\n");

    if (!cond) {
        tap_failed++;
        fflush(stdout);
        fprintf(stderr, "#   Failed test at %s line %d\n", file, line);
    }

    fflush(stdout);

    return cond;
}


static inline int
tap_ok(const char *file, int line, int cond, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = tap_vok(file, line, cond, fmt, args);
    va_end(args);

    return rc;
}


static inline int
tap_is_int(const char *file, int line, long long got, long long expected,
    const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = tap_vok(file, line, got == expected, fmt, args);
    va_end(args);

    if (!rc) {
        diag("       got: %lld", got);
        diag("  expected: %lld", expected);
    }

    return rc;
}


/* got need not be NUL-terminated, hence got_len */

static inline int
tap_is_str(const char *file, int line, const char *got, size_t got_len,
    const char *expected, const char *fmt, ...)
{
    int      rc;
    size_t   elen;
    va_list  args;

    elen = strlen(expected);

    va_start(args, fmt);
    /* an empty llm_buf_t has data == NULL: that is "" */
    rc = tap_vok(file, line,
                 got_len == elen
                 && (elen == 0
                     || (got != NULL && memcmp(got, expected, elen) == 0)),
                 fmt, args);
    va_end(args);

    if (!rc) {
        if (got == NULL) {
            diag("       got: NULL");

        } else {
            diag("       got: '%.*s' (%zu bytes)",
                 got_len > 200 ? 200 : (int) got_len, got, got_len);
        }

        diag("  expected: '%.200s' (%zu bytes)", expected, elen);
    }

    return rc;
}


static inline void
skip(int n, const char *why)
{
    while (n-- > 0) {
        tap_run++;
        printf("ok %d # skip %s\n", tap_run, why);
    }

    fflush(stdout);
}


/* returns the exit status for main() */

static inline int
done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);

    } else if (tap_planned != tap_run) {
        diag("planned %d tests but ran %d", tap_planned, tap_run);
        tap_failed++;
    }

    fflush(stdout);

    if (tap_failed) {
        diag("failed %d of %d tests", tap_failed, tap_run);
    }

    return tap_failed ? 1 : 0;
}


/* xorshift64: reproducible pseudo-random numbers below n */

static inline unsigned
tap_rnd(unsigned long long *state, unsigned n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;

    return (unsigned) (*state % n);
}


#define ok(cond, ...)                                                        \
    tap_ok(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)

#define is_int(got, expected, ...)                                           \
    tap_is_int(__FILE__, __LINE__, (long long) (got), (long long) (expected), \
               __VA_ARGS__)

#define is_str(got, got_len, expected, ...)                                  \
    tap_is_str(__FILE__, __LINE__, got, got_len, expected, __VA_ARGS__)


#endif /* _LLM_TAP_H_INCLUDED_ */
