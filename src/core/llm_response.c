/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The response seam (see llm_response.h): response state, the events
 * every dialect emits, and the openai passthrough's helpers (usage, a
 * provider object written back with the client's model name).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_response.h"
#include "llm_cache.h"


static void llm_response_free_state(llm_response_t *resp);


void
llm_response_init(llm_response_t *resp, const char *client_model,
    int include_usage)
{
    llm_buf_t  keep;

    /* what a previous use left is released, the usage buffer kept */
    llm_response_free_state(resp);

    keep = resp->usage_json;
    memset(resp, 0, sizeof(llm_response_t));
    resp->usage_json = keep;
    llm_buf_reset(&resp->usage_json);

    resp->client_model = client_model;
    resp->include_usage = include_usage;
    resp->writer = &llm_writer_openai_chat;
}


void
llm_response_free(llm_response_t *resp)
{
    llm_response_free_state(resp);
    llm_buf_free(&resp->usage_json);
}


static void
llm_response_free_state(llm_response_t *resp)
{
    if (resp->wstate && resp->writer && resp->writer->free) {
        resp->writer->free(resp);
    }

    resp->wstate = NULL;

    free(resp->state);
    resp->state = NULL;
}


void *
llm_response_state(llm_response_t *resp, size_t size)
{
    if (resp->state == NULL) {
        resp->state = calloc(1, size);
    }

    return resp->state;
}


void
llm_response_whole(llm_response_t *resp)
{
    resp->whole = 1;
}


/*
 * The events: what every writer shares (the commit point's first token,
 * the end) is kept here, the rendering is the writer's.
 */

int
llm_event_start(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->record) {
        llm_record_start(resp->record, resp);
    }

    return resp->writer->start(resp, out);
}


int
llm_event_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    if (n <= 2) {
        /* "": nothing to say */
        return LLM_OK;
    }

    resp->first_token = 1;
    resp->text_bytes += n - 2;

    if (resp->record) {
        llm_record_text(resp->record, choice, part, s, n);
    }

    return resp->writer->text(resp, choice, part, s, n, out);
}


/* a literal the caller frees: a writer keeping it makes its own copy */

int
llm_event_text_copy(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    int  rc;

    resp->transient = 1;
    rc = llm_event_text(resp, choice, part, s, n, out);
    resp->transient = 0;

    return rc;
}


int
llm_event_text_str(llm_response_t *resp, int choice, llm_part_e part,
    const char *text, size_t len, llm_buf_t *out)
{
    int        rc;
    llm_buf_t  lit;

    if (len == 0) {
        return LLM_OK;
    }

    memset(&lit, 0, sizeof(llm_buf_t));

    rc = llm_buf_append_json_string(&lit, text, len);

    if (rc == LLM_OK) {
        rc = llm_event_text_copy(resp, choice, part, lit.data, lit.len, out);
    }

    llm_buf_free(&lit);

    return rc;
}


int
llm_event_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out)
{
    resp->first_token = 1;

    if (resp->record) {
        llm_record_tool(resp->record, choice, index, tool);
    }

    return resp->writer->tool(resp, choice, index, tool, out);
}


int
llm_event_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out)
{
    resp->first_token = 1;
    resp->text_bytes += n;

    if (resp->record) {
        llm_record_tool_args(resp->record, choice, index, s, n);
    }

    return resp->writer->tool_args(resp, choice, index, s, n, out);
}


int
llm_event_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out)
{
    if (choice == 0 && reason != resp->finish_reason) {
        llm_response_set_finish(resp, reason);
    }

    if (resp->record) {
        llm_record_finish(resp->record, choice, reason);
    }

    return resp->writer->finish(resp, choice, reason, out);
}


int
llm_event_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->record) {
        llm_record_end(resp->record, &resp->usage);
    }

    if (resp->writer->end(resp, out) != LLM_OK) {
        return LLM_ERROR;
    }

    resp->done = 1;

    return LLM_DONE;
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

    if (resp->writer->error(resp, out) != LLM_OK) {
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


int
llm_tool_map_set(int **map, int *n, int index, int value)
{
    int  *m;

    if (index < 0 || index > 4096) {
        return LLM_OK;
    }

    if (index >= *n) {
        m = realloc(*map, (index + 1) * sizeof(int));
        if (m == NULL) {
            return LLM_ERROR;
        }

        memset(m + *n, 0xff, (index + 1 - *n) * sizeof(int));
        *map = m;
        *n = index + 1;
    }

    (*map)[index] = value;

    return LLM_OK;
}


int
llm_write_nothing(llm_response_t *resp, llm_buf_t *out)
{
    return LLM_OK;
}


int
llm_write_no_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    return LLM_OK;
}


int
llm_write_no_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out)
{
    return LLM_OK;
}


int
llm_write_no_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out)
{
    return LLM_OK;
}


int
llm_write_no_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out)
{
    return LLM_OK;
}
