/*
 * Reading the recorded provider fixtures (t/fixtures/) in unit tests.
 */

#ifndef _LLM_TEST_FIXTURE_H_INCLUDED_
#define _LLM_TEST_FIXTURE_H_INCLUDED_


#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "llm_buf.h"


/* appends t/fixtures/<rel> under the repository root to b */

static inline int
fixture_read(const char *root, const char *rel, llm_buf_t *b)
{
    int     rc;
    char    path[1024], tmp[4096];
    FILE   *f;
    size_t  n;

    snprintf(path, sizeof(path), "%s/t/fixtures/%s", root, rel);

    f = fopen(path, "rb");
    if (f == NULL) {
        diag("cannot open %s", path);
        return LLM_ERROR;
    }

    rc = LLM_OK;

    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (llm_buf_append(b, tmp, n) != LLM_OK) {
            rc = LLM_ERROR;
            break;
        }
    }

    fclose(f);

    return rc;
}


static inline int
ends_with(const char *s, const char *suffix)
{
    size_t  n, m;

    n = strlen(s);
    m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}


#endif /* _LLM_TEST_FIXTURE_H_INCLUDED_ */
