/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * OpenAI's own Responses answers, read for the native passthrough: the
 * client gets OpenAI's bytes as they come, the gateway reads from them
 * only what it records and acts on.
 *
 *   - the first output (an item added, a delta) is the first token: the
 *     commit point and the time to first token;
 *   - response.completed / response.incomplete end the stream, with the
 *     usage and a finish reason (stop, tool_calls, length,
 *     content_filter);
 *   - response.failed or an error event before the first output is a
 *     failure another candidate may take; after it, the end, relayed as
 *     OpenAI sent it;
 *   - a stream that ends before its terminal event is truncated.
 */

#include <string.h>

#include "llm_json.h"
#include "llm_openai.h"
#include "llm_responses.h"


static int llm_rsp_relay_response(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_rsp_relay_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);
static int llm_rsp_relay_end(llm_response_t *resp, llm_buf_t *out);
static void llm_rsp_relay_error(int status, const char *p, size_t n,
    llm_error_t *e);


const llm_dialect_t  llm_dialect_responses_relay = {
    "openai-responses",
    "/responses",
    NULL,
    llm_rsp_relay_response,
    llm_rsp_relay_event,
    llm_rsp_relay_end,
    llm_rsp_relay_error,
    NULL,
    "Authorization: Bearer ",
    NULL,
    NULL,
    NULL,
    NULL,
    NULL
};


static int
llm_rsp_relay_str_is(llm_json_t *obj, const char *name, const char *value)
{
    const char  *s;

    s = llm_json_get_str(obj, name);

    return s != NULL && strcmp(s, value) == 0;
}


/* a response object's status, usage and failure → resp */

static int
llm_rsp_relay_object(llm_response_t *resp, llm_json_t *r)
{
    llm_json_t  *u, *item, *err;
    const char  *status, *reason, *msg;

    status = llm_json_get_str(r, "status");

    if (status == NULL) {
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      "The provider's answer is not a response object.");
        return LLM_ERROR;
    }

    if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
        err = llm_json_get_obj(r, "error");
        msg = llm_json_get_str(err, "message");

        llm_error_set(&resp->error, 502, NULL, "upstream_error", "%s",
                      msg ? msg : "The provider's response failed.");
        return LLM_ERROR;
    }

    u = llm_json_get_obj(r, "usage");

    if (u) {
        resp->usage.prompt_tokens = llm_json_get_count(u, "input_tokens");
        resp->usage.completion_tokens = llm_json_get_count(u,
                                                           "output_tokens");
        resp->usage.total_tokens = llm_json_get_count(u, "total_tokens");
        resp->usage.cached_tokens = llm_json_get_count(
            llm_json_get_obj(u, "input_tokens_details"), "cached_tokens");
        resp->usage.reasoning_tokens = llm_json_get_count(
            llm_json_get_obj(u, "output_tokens_details"), "reasoning_tokens");
        resp->usage.set = 1;
    }

    reason = "stop";

    if (strcmp(status, "incomplete") == 0) {
        reason = llm_rsp_relay_str_is(llm_json_get_obj(r,
                                          "incomplete_details"),
                                      "reason", "content_filter")
                 ? "content_filter" : "length";

    } else {
        cJSON_ArrayForEach(item, llm_json_get_arr(r, "output")) {
            if (llm_rsp_relay_str_is(item, "type", "function_call")) {
                reason = "tool_calls";
            }
        }
    }

    llm_response_set_finish(resp, reason);

    return LLM_OK;
}


static int
llm_rsp_relay_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int          rc;
    llm_json_t  *r;

    r = llm_json_parse(p, n, NULL);

    rc = llm_rsp_relay_object(resp, r);

    llm_json_free(r);

    if (rc != LLM_OK) {
        resp->failed = 1;
        return LLM_ERROR;
    }

    resp->first_token = 1;
    resp->done = 1;

    return LLM_OK;
}


#define llm_rsp_relay_is(e, n, lit)                                          \
    ((n) == sizeof(lit) - 1 && memcmp(e, lit, sizeof(lit) - 1) == 0)

#define llm_rsp_relay_prefix(e, n, lit)                                      \
    ((n) >= sizeof(lit) - 1 && memcmp(e, lit, sizeof(lit) - 1) == 0)


static int
llm_rsp_relay_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int          rc;
    llm_json_t  *j, *err;
    const char  *type, *msg;

    /* OpenAI names every event: most are relayed unread */

    if (event_len && !llm_rsp_relay_is(event, event_len, "error")
        && !llm_rsp_relay_prefix(event, event_len, "response.completed")
        && !llm_rsp_relay_prefix(event, event_len, "response.incomplete")
        && !llm_rsp_relay_prefix(event, event_len, "response.failed"))
    {
        if (!resp->first_token
            && (llm_rsp_relay_prefix(event, event_len, "response.output_")
                || llm_rsp_relay_prefix(event, event_len,
                                        "response.function_call")
                || llm_rsp_relay_prefix(event, event_len,
                                        "response.reasoning")))
        {
            resp->first_token = 1;
        }

        return LLM_OK;
    }

    j = llm_json_parse(data, n, NULL);
    type = llm_json_get_str(j, "type");

    if (type == NULL) {
        llm_json_free(j);

        if (event_len) {
            return llm_response_fail(resp, out, 502,
                                     "invalid_upstream_response",
                                     "The provider sent an event that is "
                                     "not JSON.");
        }

        /* an unnamed frame that is not JSON ([DONE], a comment) */
        return LLM_OK;
    }

    if (strcmp(type, "response.completed") == 0
        || strcmp(type, "response.incomplete") == 0)
    {
        rc = llm_rsp_relay_object(resp, llm_json_get_obj(j, "response"));
        llm_json_free(j);

        if (rc != LLM_OK) {
            return llm_response_end_error(resp, out);
        }

        resp->first_token = 1;
        resp->done = 1;

        return LLM_DONE;
    }

    if (strcmp(type, "response.failed") == 0 || strcmp(type, "error") == 0) {
        err = llm_json_get_obj(j, "error");

        if (err == NULL) {
            err = llm_json_get_obj(llm_json_get_obj(j, "response"), "error");
        }

        msg = llm_json_get_str(err, "message");

        if (msg == NULL) {
            msg = llm_json_get_str(j, "message");
        }

        llm_error_set(&resp->error, 502, NULL, "upstream_error", "%s",
                      msg ? msg : "The provider's response failed.");
        llm_json_free(j);

        if (!resp->first_token) {
            /* nothing went out: another candidate may take it */
            return llm_response_end_error(resp, out);
        }

        /* OpenAI's own end of the stream goes to the client */
        llm_response_set_finish(resp, "error");
        resp->done = 1;

        return LLM_DONE;
    }

    if (!resp->first_token
        && (strncmp(type, "response.output_", 16) == 0
            || strncmp(type, "response.function_call", 22) == 0
            || strncmp(type, "response.reasoning", 18) == 0))
    {
        resp->first_token = 1;
    }

    llm_json_free(j);

    return LLM_OK;
}


static int
llm_rsp_relay_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->done) {
        return LLM_DONE;
    }

    return llm_response_fail(resp, out, 502, "stream_truncated",
                             "The provider's stream ended before it was "
                             "complete.");
}


static void
llm_rsp_relay_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_dialect_openai.error(status, p, n, e);
}
