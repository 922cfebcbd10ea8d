/*
 * libFuzzer target for the Responses request reader
 * (src/core/llm_responses_request.c).
 *
 * Input: a Responses API body.  A rejected body must give a 400 (or 500:
 * memory) with a message, and an OpenAI error envelope that is valid
 * JSON.  An accepted one must give the model's exact bytes in the body;
 * an internal form that is a valid OpenAI Chat request for the same
 * model (or one the chat parser refuses for what it refuses anyway);
 * input messages that are a JSON array's elements, as a response store
 * keeps them; an echo that is an object's members.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_responses.h"
#include "llm_request.h"
#include "llm_json_scan.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* open + b's [start, end) + close is valid JSON */
static void
check_wrapped(const char *open, const char *p, size_t n, const char *close)
{
    llm_buf_t  b;

    memset(&b, 0, sizeof(llm_buf_t));

    check(llm_buf_append_cstr(&b, open) == LLM_OK
          && llm_buf_append(&b, p, n) == LLM_OK
          && llm_buf_append_cstr(&b, close) == LLM_OK);
    check(llm_json_valid(b.data, b.len, NULL) == LLM_OK);

    llm_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc;
    char             *p;
    cJSON            *model;
    llm_buf_t         b;
    llm_error_t       e;
    llm_request_t     req;
    llm_responses_t   rq;

    /* a copy of its own size: reads past the body are caught */
    p = malloc(size + 1);
    memcpy(p, data, size);

    rc = llm_responses_parse(&rq, p, size, &e);

    if (rc != LLM_OK) {
        check(e.status == 400 || e.status == 500);
        check(e.message[0] != '\0');

        memset(&b, 0, sizeof(llm_buf_t));
        check(llm_error_json(&e, &b) == LLM_OK);
        check(llm_json_valid(b.data, b.len, NULL) == LLM_OK);
        llm_buf_free(&b);

        free(p);
        return 0;
    }

    check(rq.model_end > rq.model_start && rq.model_end <= size);
    model = cJSON_ParseWithLength(p + rq.model_start,
                                  rq.model_end - rq.model_start);
    check(cJSON_IsString(model) && strcmp(model->valuestring, rq.model) == 0);
    cJSON_Delete(model);

    check(rq.input_start <= rq.input_end && rq.input_end <= rq.chat.len);
    check_wrapped("[", rq.chat.data + rq.input_start,
                  rq.input_end - rq.input_start, "]");
    check_wrapped("{", rq.echo.data, rq.echo.len, "}");

    memset(&req, 0, sizeof(llm_request_t));
    rc = llm_request_parse(&req, rq.chat.data, rq.chat.len, &e);

    /* a NUL inside the model or texts: the chat parser may refuse */
    if (rc == LLM_OK) {
        check(strcmp(req.model, rq.model) == 0);
        check(req.stream == rq.stream);
        llm_request_free(&req);

    } else {
        check(e.status == 400);
    }

    llm_responses_free(&rq);
    free(p);

    return 0;
}
