/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Helpers shared by the dialects: response state, usage, error frames,
 * and writing a provider JSON object back with the client's model name.
 */

#include <stdio.h>
#include <string.h>

#include "llm_dialect.h"


static const llm_dialect_t  *llm_dialects[] = {
    &llm_dialect_openai,
    &llm_dialect_anthropic,
    &llm_dialect_gemini,
    NULL
};


const llm_dialect_t *
llm_dialect_find(const char *name, size_t len)
{
    const llm_dialect_t  **d;

    for (d = llm_dialects; *d; d++) {
        if (strlen((*d)->name) == len && memcmp((*d)->name, name, len) == 0) {
            return *d;
        }
    }

    return NULL;
}


void
llm_response_init(llm_response_t *resp, const char *client_model,
    int include_usage)
{
    llm_buf_t  keep;

    /* keep the usage buffer's memory across reuse */
    keep = resp->usage_json;
    memset(resp, 0, sizeof(llm_response_t));
    resp->usage_json = keep;
    llm_buf_reset(&resp->usage_json);

    resp->client_model = client_model;
    resp->include_usage = include_usage;
}


void
llm_response_free(llm_response_t *resp)
{
    llm_buf_free(&resp->usage_json);
}


int
llm_response_fail(llm_response_t *resp, llm_buf_t *out, int status,
    const char *code, const char *message)
{
    if (resp->done) {
        return LLM_DONE;
    }

    llm_error_set(&resp->error, status, NULL, code, "%s", message);

    return llm_response_end_error(resp, out);
}


int
llm_response_end_error(llm_response_t *resp, llm_buf_t *out)
{
    resp->failed = 1;
    resp->done = 1;

    llm_error_mask(&resp->error, resp->secret, resp->secret_len);

    if (llm_error_frame(&resp->error, out) != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_DONE;
}


int
llm_response_usage(llm_response_t *resp, llm_json_t *usage)
{
    llm_usage_t  *u;

    u = &resp->usage;

    u->prompt_tokens = llm_json_get_count(usage, "prompt_tokens");
    u->completion_tokens = llm_json_get_count(usage, "completion_tokens");
    u->total_tokens = llm_json_get_count(usage, "total_tokens");
    u->cached_tokens = llm_json_get_count(
                         llm_json_get_obj(usage, "prompt_tokens_details"),
                         "cached_tokens");
    u->reasoning_tokens = llm_json_get_count(
                        llm_json_get_obj(usage, "completion_tokens_details"),
                        "reasoning_tokens");

    if (u->total_tokens == 0) {
        u->total_tokens = u->prompt_tokens + u->completion_tokens;
    }

    u->set = 1;

    return LLM_OK;
}


int
llm_response_usage_json(llm_response_t *resp, llm_json_t *usage)
{
    llm_buf_reset(&resp->usage_json);

    return llm_json_print(usage, &resp->usage_json);
}


int
llm_response_splice_model(const char *raw, size_t n, size_t start,
    size_t end, const char *model, llm_buf_t *out)
{
    if (llm_buf_append(out, raw, start) != LLM_OK
        || llm_buf_append_json_string(out, model, strlen(model)) != LLM_OK
        || llm_buf_append(out, raw + end, n - end) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The cJSON path: rare (errors, usage moved, fixed deltas), so the tree
 * is simply printed again with the client's model.
 */

int
llm_response_emit_json(llm_json_t *j, const char *model, llm_buf_t *out)
{
    /* every "model" goes: a provider's duplicate must not leak its name */
    while (llm_json_get(j, "model")) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "model");
    }

    if (llm_json_set_str(j, "model", model) != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_json_print(j, out);
}


void
llm_response_set_finish(llm_response_t *resp, const char *reason)
{
    snprintf(resp->finish_reason, sizeof(resp->finish_reason), "%s",
             reason);
}
