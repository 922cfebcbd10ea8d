/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect: the Anthropic Messages API (POST /v1/messages)
 * behind the gateway.  Its files: the request and its check
 * (llm_anthropic_request.c, llm_anthropic_check.c), the non-stream
 * response (llm_anthropic_response.c), the stream
 * (llm_anthropic_stream.c); this one holds the table and what they
 * share: the stop_reason mapping, ids, and errors.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"




/* the API version, and the beta features an operator turns on */

static const llm_dialect_param_t  llm_anthropic_params[] = {
    { "anthropic_version", "anthropic-version", "2023-06-01" },
    { "anthropic_beta", "anthropic-beta", NULL },
    { NULL, NULL, NULL }
};


const llm_dialect_t  llm_dialect_anthropic = {
    "anthropic",
    "/messages",
    llm_anthropic_build_request,
    llm_anthropic_response,
    llm_anthropic_stream_event,
    llm_anthropic_stream_end,
    llm_anthropic_error,
    NULL,
    "x-api-key: ",
    "anthropic-version: 2023-06-01\r\n",
    NULL,
    llm_anthropic_check,
    llm_anthropic_params,
    NULL
};


const char *
llm_anthropic_finish(const char *p, size_t n)
{
#define llm_is(s)  (n == sizeof(s) - 1 && memcmp(p, s, n) == 0)

    if (p == NULL) {
        return "stop";
    }

    if (llm_is("max_tokens") || llm_is("model_context_window_exceeded")) {
        return "length";
    }

    if (llm_is("tool_use")) {
        return "tool_calls";
    }

    if (llm_is("refusal")) {
        return "content_filter";
    }

    /* end_turn, stop_sequence, pause_turn, and anything new */
    return "stop";

#undef llm_is
}


int
llm_anthropic_is(const char *s, const char *lit)
{
    return s != NULL && strcmp(s, lit) == 0;
}


/* 1 if a block is a tool_use of the JSON tool */

int
llm_anthropic_is_json_tool(llm_json_t *block)
{
    const char  *name;

    name = llm_json_get_str(block, "name");

    return name && strcmp(name, LLM_ANTHROPIC_JSON_TOOL) == 0;
}


/* the response's id ("chatcmpl-" and the message's) and created, once */

void
llm_anthropic_set_id(llm_response_t *resp, const char *id, size_t len)
{
    if (resp->id[0] != '\0') {
        return;
    }

    memcpy(resp->id, "chatcmpl-", 9);

    if (len > sizeof(resp->id) - 10) {
        len = sizeof(resp->id) - 10;
    }

    if (len) {
        memcpy(resp->id + 9, id, len);
    }

    resp->id[9 + len] = '\0';

    resp->created = (long long) time(NULL);
}


/* errors */


static int
llm_anthropic_error_status(const char *type)
{
    static const struct {
        const char  *type;
        int          status;
    } map[] = {
        { "invalid_request_error", 400 },
        { "authentication_error", 401 },
        { "billing_error", 402 },
        { "permission_error", 403 },
        { "not_found_error", 404 },
        { "request_too_large", 413 },
        { "rate_limit_error", 429 },
        { "api_error", 500 },
        { "timeout_error", 504 },
        { "overloaded_error", 529 },
    };

    size_t  i;

    if (type) {
        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(type, map[i].type) == 0) {
                return map[i].status;
            }
        }
    }

    return 500;
}


/*
 * {"type":…,"message":…}; status 0: from the type (an error in a
 * stream, after the 200)
 */

void
llm_anthropic_error_object(llm_json_t *err, int status, llm_error_t *e)
{
    const char  *type, *message, *code;

    type = llm_json_get_str(err, "type");
    message = llm_json_get_str(err, "message");

    if (status == 0) {
        status = llm_anthropic_error_status(type);
    }

    code = type;

    if (type && strcmp(type, "overloaded_error") == 0) {
        code = "overloaded";
    }

    llm_error_set(e, status, NULL, code, "%s",
                  message ? message : "The provider reported an error.");
}


void
llm_anthropic_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_json_t  *j, *err;

    j = llm_json_parse(p, n, NULL);

    err = llm_json_get_obj(j, "error");

    if (err) {
        llm_anthropic_error_object(err, status, e);

    } else {
        llm_error_no_message(e, status, j != NULL);
    }

    llm_json_free(j);
}
