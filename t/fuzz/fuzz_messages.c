/*
 * libFuzzer target for the Messages request reader
 * (src/core/llm_messages_request.c) and the count_tokens estimate.
 *
 * Input: a flags byte (bit 0: a count_tokens body), then a Messages API
 * body.  A rejected body must give a 400 (or 500: memory) whose
 * Anthropic envelope is valid JSON naming the error.  An accepted one
 * must give the model's exact bytes in the body, and an internal form
 * that is a valid OpenAI Chat request for the same model, with stream
 * as the body said.  The estimate is never negative for an object.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_messages.h"
#include "llm_request.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_error(llm_error_t *e)
{
    cJSON      *j, *err;
    llm_buf_t   b;

    check(e->status == 400 || e->status == 500);
    check(e->message[0] != '\0');

    memset(&b, 0, sizeof(llm_buf_t));
    check(llm_messages_error_json(e, &b) == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    err = cJSON_GetObjectItemCaseSensitive(j, "error");

    check(strcmp(cJSON_GetStringValue(
                     cJSON_GetObjectItemCaseSensitive(j, "type")), "error")
          == 0);
    check(cJSON_IsObject(err) && cJSON_GetArraySize(err) == 2);
    check(strcmp(cJSON_GetStringValue(
                     cJSON_GetObjectItemCaseSensitive(err, "message")),
                 e->message) == 0);

    cJSON_Delete(j);
    llm_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              flags, rc;
    char            *p;
    cJSON           *model;
    llm_error_t      e;
    llm_request_t    req;
    llm_messages_t   m;

    if (size < 1) {
        return 0;
    }

    flags = (data[0] & 1) ? LLM_MESSAGES_COUNT : 0;

    /* a copy of its own size: reads past the body are caught */
    p = malloc(size - 1 + 1);
    memcpy(p, data + 1, size - 1);

    rc = llm_messages_parse(&m, p, size - 1, flags, &e);

    if (rc != LLM_OK) {
        check_error(&e);
        check(llm_messages_estimate(p, size - 1) < 0 || rc == LLM_ERROR);
        free(p);
        return 0;
    }

    check(llm_messages_estimate(p, size - 1) >= 8);

    /* the model's bytes are a JSON string naming the model */

    check(m.model_end > m.model_start && m.model_end <= size - 1);
    model = cJSON_ParseWithLength(p + m.model_start,
                                  m.model_end - m.model_start);
    check(cJSON_IsString(model) && strcmp(model->valuestring, m.model) == 0);
    cJSON_Delete(model);

    /* the internal form is a chat request for the same model */

    if (!flags) {
        memset(&req, 0, sizeof(llm_request_t));
        rc = llm_request_parse(&req, m.chat.data, m.chat.len, &e);

        /* a NUL inside the model or texts: the chat parser may refuse */
        if (rc == LLM_OK) {
            check(strcmp(req.model, m.model) == 0);
            check(req.stream == m.stream);
            llm_request_free(&req);
        }
    }

    llm_messages_free(&m);
    free(p);

    return 0;
}
