/*
 * libFuzzer target for embeddings (src/core/llm_embed.c).
 *
 * Input: first byte picks the dialect and the client's encoding, the rest
 * is used three ways: as a client request (a rejection is a 400 with a
 * valid envelope; an accepted request builds a valid JSON provider body
 * for every batch), as a provider response for 1..3 inputs (a success
 * gives a valid OpenAI list whose vectors are numbers, or base64 of
 * float32s), and as base64 (decode never writes past n / 4 * 3 bytes, and
 * what decodes re-encodes to the same text).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_embed.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const llm_embed_dialect_t  *dialects[] = {
    &llm_embed_openai, &llm_embed_gemini, &llm_embed_voyage
};


static void
check_error(llm_error_t *e, int status)
{
    cJSON      *j;
    llm_buf_t   b;

    check(e->status == status || status == 0);
    check(e->status >= 400 && e->status < 600);
    check(e->type != NULL && e->message[0] != '\0');

    memset(&b, 0, sizeof(llm_buf_t));
    check(llm_error_json(e, &b) == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    check(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "error")));

    cJSON_Delete(j);
    llm_buf_free(&b);
}


static void
fuzz_request(const llm_embed_dialect_t *d, const char *p, size_t n)
{
    int                   from, k;
    cJSON                *j;
    llm_buf_t             b;
    llm_error_t           e;
    llm_embed_target_t    t;
    llm_embed_request_t   req;

    if (llm_embed_request_parse(&req, p, n, &e) != LLM_OK) {
        check(req.root == NULL);
        check_error(&e, 400);
        return;
    }

    check(req.count > 0 && req.model && req.model[0]);

    if (req.tokens && !d->tokens) {
        llm_embed_request_free(&req);
        return;
    }

    memset(&t, 0, sizeof(t));
    t.upstream_model = "up/\"model\"";
    t.task_type = d->task_types ? d->task_types[0] : NULL;

    for (from = 0; from < req.count; from += k) {
        k = req.count - from < 2 ? req.count - from : 2;

        memset(&b, 0, sizeof(llm_buf_t));
        check(d->build(&req, &t, from, k, &b) == LLM_OK);

        j = cJSON_ParseWithLength(b.data, b.len);
        check(cJSON_IsObject(j));
        cJSON_Delete(j);
        llm_buf_free(&b);
    }

    llm_embed_request_free(&req);
}


static void
fuzz_response(const llm_embed_dialect_t *d, int base64, int count,
    const char *p, size_t n)
{
    cJSON               *j, *data, *item, *v, *x;
    size_t               len, rn;
    llm_buf_t            out;
    llm_error_t          e;
    unsigned char       *raw;
    llm_embed_result_t   res;

    memset(&res, 0, sizeof(res));
    res.base64 = base64;

    if (d->response(&res, count, p, n, &e) != LLM_OK) {
        check_error(&e, 0);
        llm_embed_result_free(&res);
        return;
    }

    check(res.count == count);

    memset(&out, 0, sizeof(llm_buf_t));
    check(llm_embed_result_finish(&res, "m", &out) == LLM_OK);

    j = cJSON_ParseWithLength(out.data, out.len);
    data = cJSON_GetObjectItemCaseSensitive(j, "data");
    check(cJSON_GetArraySize(data) == count);

    cJSON_ArrayForEach(item, data) {
        v = cJSON_GetObjectItemCaseSensitive(item, "embedding");

        if (base64) {
            check(cJSON_IsString(v));
            len = strlen(v->valuestring);
            raw = malloc(len / 4 * 3 + 1);
            check(raw != NULL);
            check(llm_base64_decode(v->valuestring, len, raw, &rn) == LLM_OK);
            check(rn % 4 == 0);
            free(raw);

        } else {
            check(cJSON_IsArray(v));
            cJSON_ArrayForEach(x, v) {
                check(cJSON_IsNumber(x) || cJSON_IsNull(x));
            }
        }
    }

    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_embed_result_free(&res);
}


static void
fuzz_base64(const char *p, size_t n)
{
    size_t          rn;
    llm_buf_t       b;
    unsigned char  *raw;

    raw = malloc(n / 4 * 3 + 1);
    check(raw != NULL);

    if (llm_base64_decode(p, n, raw, &rn) == LLM_OK) {
        check(rn <= n / 4 * 3);

        memset(&b, 0, sizeof(llm_buf_t));
        check(llm_base64_encode(&b, raw, rn) == LLM_OK);

        /* canonical input only: non-zero bits in the padding differ */
        check(b.len == n);
        llm_buf_free(&b);
    }

    free(raw);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char                 *p;
    const llm_embed_dialect_t  *d;

    if (size < 1) {
        return 0;
    }

    d = dialects[data[0] % 3];
    p = (const char *) data + 1;

    fuzz_request(d, p, size - 1);
    fuzz_response(d, (data[0] >> 2) & 1, 1 + (data[0] >> 3) % 3, p,
                  size - 1);
    fuzz_base64(p, size - 1);

    return 0;
}
