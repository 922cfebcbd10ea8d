/*
 * check(cond): a fuzz target's invariant; a failure aborts, so libFuzzer
 * keeps the input that broke it.
 */

#ifndef _FUZZ_CHECK_H_INCLUDED_
#define _FUZZ_CHECK_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>


#define check(cond)  check_at(cond, __LINE__, #cond)


static inline void
check_at(int cond, int line, const char *what)
{
    if (!cond) {
        fprintf(stderr, "check failed at line %d: %s\n", line, what);
        abort();
    }
}


#endif /* _FUZZ_CHECK_H_INCLUDED_ */
