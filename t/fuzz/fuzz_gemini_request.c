/*
 * libFuzzer target for the "gemini" dialect's request side
 * (src/core/llm_gemini_request.c): the check hook and build_request.
 *
 * Input: a request body.  A body the parser accepts goes to the check
 * hook; a refusal must be a 400 invalid_request_error naming a param.
 * An accepted one is built: the body must be a JSON object whose
 * "contents" turns have roles user or model, never two of one role in a
 * row, and non-empty parts; the tool schemas come out with none of the
 * keywords Gemini refuses.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_gemini.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_schema(cJSON *s)
{
    cJSON  *m;

    if (!cJSON_IsObject(s) && !cJSON_IsArray(s)) {
        return;
    }

    cJSON_ArrayForEach(m, s) {
        if (cJSON_IsObject(s)
            && strcmp(m->string, "properties") != 0)
        {
            check(strcmp(m->string, "$ref") != 0);
            check(strcmp(m->string, "$defs") != 0);
            check(strcmp(m->string, "additionalProperties") != 0);
            check(strcmp(m->string, "$schema") != 0);
        }

        if (cJSON_IsObject(s) && strcmp(m->string, "properties") == 0) {
            cJSON  *p;

            cJSON_ArrayForEach(p, m) {
                check_schema(p);
            }

            continue;
        }

        check_schema(m);
    }
}


static void
build(llm_request_t *req)
{
    cJSON        *j, *c, *decl;
    llm_buf_t     b;
    const char   *role, *last;

    memset(&b, 0, sizeof(llm_buf_t));

    check(llm_dialect_gemini.build_request(req, "m", &b) == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    check(cJSON_IsObject(j));
    check(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "contents")));

    last = NULL;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "contents")) {
        role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
                                                                 "role"));
        check(role != NULL);
        check(strcmp(role, "user") == 0 || strcmp(role, "model") == 0);
        check(last == NULL || strcmp(last, role) != 0);
        check(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c,
                                                          "parts")) > 0);
        last = role;
    }

    cJSON_ArrayForEach(decl, cJSON_GetObjectItemCaseSensitive(
                           cJSON_GetArrayItem(
                               cJSON_GetObjectItemCaseSensitive(j, "tools"),
                               0), "functionDeclarations"))
    {
        check_schema(cJSON_GetObjectItemCaseSensitive(decl, "parameters"));
    }

    cJSON_Delete(j);
    llm_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    llm_error_t     e;
    llm_request_t   req;

    if (llm_request_parse(&req, (const char *) data, size, &e) != LLM_OK) {
        return 0;
    }

    memset(&e, 0, sizeof(llm_error_t));

    /* "check" is also the invariant macro */
    rc = (*llm_dialect_gemini.check)(&req, &e);
    check(rc == LLM_OK || rc == LLM_DECLINED);

    if (rc == LLM_DECLINED) {
        check(e.status == 400 && e.param[0] != '\0');
        check(strcmp(e.type, "invalid_request_error") == 0);

    } else {
        build(&req);
        req.stream = 1;
        build(&req);
    }

    llm_request_free(&req);

    return 0;
}
