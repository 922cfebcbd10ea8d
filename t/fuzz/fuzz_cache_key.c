/*
 * libFuzzer target for the response cache's key normaliser and records
 * (src/core/llm_cache_key.c, llm_record.c).
 *
 * Input: a request body.  Its canonical form, when it has one, is a JSON
 * object that is its own canonical form, and the left-out members are
 * gone from it.  The same bytes read as a record must replay or be
 * refused, never crash, whole or live.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_cache.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  *skip[] = { "stream", "user", NULL };


static void
feed(void *data, const char *p, size_t n)
{
    check(llm_buf_append(data, p, n) == LLM_OK);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    cJSON               *j;
    llm_buf_t            a, b, out, scratch;
    llm_response_t       resp;
    llm_record_cursor_t  cur;

    memset(&a, 0, sizeof(llm_buf_t));
    memset(&b, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&scratch, 0, sizeof(llm_buf_t));

    rc = llm_cache_key((const char *) data, size, skip, NULL, feed, &a);

    check(rc == LLM_OK || rc == LLM_ERROR || rc == LLM_DECLINED);

    if (rc == LLM_OK) {
        j = cJSON_ParseWithLength(a.data, a.len);

        /* the scan is looser than a parser on scalars only; cJSON's
         * names end at a NUL */
        if (j && memchr(a.data, '\0', a.len) == NULL) {
            check(cJSON_IsObject(j));
            check(cJSON_GetObjectItemCaseSensitive(j, "stream") == NULL);
            check(cJSON_GetObjectItemCaseSensitive(j, "user") == NULL);
        }

        cJSON_Delete(j);

        check(llm_cache_key(a.data, a.len, skip, NULL, feed, &b) == LLM_OK);
        check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }

    /* the bytes as a record: replayed whole, then live in two steps */

    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, "m", 1);
    memset(&cur, 0, sizeof(cur));
    (void) llm_record_replay((const char *) data, size, &cur, 1, &resp, &out,
                             &scratch);

    llm_response_init(&resp, "m", 0);
    llm_response_whole(&resp);
    memset(&cur, 0, sizeof(cur));
    if (llm_record_replay((const char *) data, size / 2, &cur, 0, &resp,
                          &out, &scratch)
        != LLM_ERROR)
    {
        (void) llm_record_replay((const char *) data, size, &cur, 1, &resp,
                                 &out, &scratch);
    }

    llm_response_free(&resp);
    llm_buf_free(&a);
    llm_buf_free(&b);
    llm_buf_free(&out);
    llm_buf_free(&scratch);

    return 0;
}
