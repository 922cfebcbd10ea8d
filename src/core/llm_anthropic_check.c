/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect's check: what an OpenAI request may say that
 * Anthropic cannot honour is refused with a 400 naming the parameter,
 * before anything goes upstream (n > 1, logprobs, a non-empty
 * logit_bias, tools and histories Anthropic would refuse, images it
 * cannot fetch, a forced tool or JSON output with thinking).
 */

#include <stdio.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


/* a 400 for the "param" in scope */

#define llm_anthropic_refuse(e, code, ...)                                   \
    do {                                                                     \
        llm_error_set(e, 400, param, code, __VA_ARGS__);                     \
        return LLM_DECLINED;                                                 \
    } while (0)


static int
llm_anthropic_check_n(long long n, llm_error_t *e)
{
    const char  *param;

    param = "n";

    if (n > 1) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour 'n' "
                             "greater than 1: Anthropic returns one "
                             "choice.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_params(llm_request_t *req, llm_error_t *e)
{
    llm_json_t  *root, *v, *rf, *schema;
    const char  *param, *s;

    root = req->chat->params;

    if (llm_anthropic_check_n(llm_span_int(&req->chat->n), e) != LLM_OK)
    {
        return LLM_DECLINED;
    }

    param = "logprobs";

    if (cJSON_IsTrue(llm_json_get(root, "logprobs"))) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour "
                             "'logprobs': Anthropic returns no log "
                             "probabilities.");
    }

    param = "logit_bias";
    v = llm_json_get_obj(root, "logit_bias");

    if (v && v->child) {
        llm_anthropic_refuse(e, "unsupported_parameter",
                             "The anthropic dialect cannot honour "
                             "'logit_bias': Anthropic has no token "
                             "biases.");
    }

    param = "reasoning_effort";
    s = llm_json_get_str(root, "reasoning_effort");

    if (s && !llm_anthropic_is(s, "none") && llm_anthropic_budget(root) == 0)
    {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'reasoning_effort': "
                             "supported values are 'none', 'minimal', "
                             "'low', 'medium', 'high' and 'xhigh'.");
    }

    rf = llm_json_get_obj(root, "response_format");

    if (rf == NULL) {
        return LLM_OK;
    }

    param = "response_format.type";
    s = llm_json_get_str(rf, "type");

    if (!llm_anthropic_is(s, "text") && !llm_anthropic_is(s, "json_object")
        && !llm_anthropic_is(s, "json_schema"))
    {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'response_format.type': "
                             "supported values are 'text', 'json_object' "
                             "and 'json_schema'.");
    }

    param = "response_format.json_schema.schema";
    schema = llm_json_get(llm_json_get_obj(rf, "json_schema"), "schema");

    if (schema && !cJSON_IsObject(schema)) {
        llm_anthropic_refuse(e, "invalid_type",
                             "Invalid type for "
                             "'response_format.json_schema.schema': "
                             "expected an object.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_tools(llm_request_t *req, llm_error_t *e)
{
    int          i;
    char         param[64];
    llm_json_t  *root, *tool, *fn, *choice, *v;
    const char  *name;

    root = req->chat->params;
    i = 0;

    /* the parameter's name only when refused: agents send tools each turn */

    cJSON_ArrayForEach(tool, llm_json_get_arr(root, "tools")) {

        if (!llm_anthropic_is(llm_json_get_str(tool, "type"), "function")) {
            snprintf(param, sizeof(param), "tools[%d].type", i);
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': the anthropic "
                                 "dialect supports 'function' tools.",
                                 param);
        }

        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL || name[0] == '\0') {
            snprintf(param, sizeof(param), "tools[%d].function.name", i);
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (strcmp(name, LLM_ANTHROPIC_JSON_TOOL) == 0) {
            snprintf(param, sizeof(param), "tools[%d].function.name", i);
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': the name '"
                                 LLM_ANTHROPIC_JSON_TOOL "' is reserved "
                                 "by the gateway.", param);
        }

        v = llm_json_get(fn, "parameters");

        if (v && !cJSON_IsObject(v)) {
            snprintf(param, sizeof(param), "tools[%d].function.parameters",
                     i);
            llm_anthropic_refuse(e, "invalid_type",
                                 "Invalid type for '%s': expected an "
                                 "object.", param);
        }

        i++;
    }

    choice = llm_json_get(root, "tool_choice");

    snprintf(param, sizeof(param), "tool_choice");

    /* its string values were checked by llm_request_parse() */

    if (cJSON_IsObject(choice) && llm_anthropic_named(choice) == NULL) {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'tool_choice': the "
                             "anthropic dialect supports {\"type\": "
                             "\"function\", \"function\": {\"name\": …}}.");
    }

    if (llm_anthropic_thinking(req) == 0) {
        return LLM_OK;
    }

    /* Anthropic refuses forced tools with thinking */

    if ((cJSON_IsObject(choice)
         || (cJSON_IsString(choice)
             && llm_anthropic_is(choice->valuestring, "required")))
        && llm_anthropic_has_tools(root))
    {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour a "
                             "required or named 'tool_choice' together "
                             "with 'reasoning_effort': Anthropic cannot "
                             "force a tool while thinking.");
    }

    snprintf(param, sizeof(param), "response_format");

    if (llm_anthropic_json_format(root)) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour a JSON "
                             "'response_format' together with "
                             "'reasoning_effort': its JSON output is a "
                             "forced tool, which Anthropic refuses while "
                             "thinking.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_image(llm_json_t *part, const char *where,
    llm_error_t *e)
{
    char         param[96];
    size_t       mt_len;
    const char  *url, *mt;

    url = llm_anthropic_image_url(part);

    /* where is at most 63 bytes: the result fits the error's param */
    snprintf(param, sizeof(param), "%.48s.image_url.url", where);

    if (url == NULL) {
        llm_anthropic_refuse(e, "missing_required_parameter",
                             "Missing required parameter: '%s'.", param);
    }

    if (strncmp(url, "data:", 5) == 0) {
        if (llm_anthropic_data_url(url, &mt, &mt_len) == NULL) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': a data URL must "
                                 "be base64 (data:<type>;base64,…).",
                                 param);
        }

        if (!llm_anthropic_media_ok(mt, mt_len)) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': Anthropic takes "
                                 "image/jpeg, image/png, image/gif and "
                                 "image/webp images.", param);
        }

        return LLM_OK;
    }

    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for '%s': expected a data: or "
                             "http(s) URL.", param);
    }

    return LLM_OK;
}


static int
llm_anthropic_check_content(llm_json_t *content, int i, llm_error_t *e)
{
    int          j, rc;
    char         param[64];
    llm_json_t  *part;
    const char  *type;

    j = 0;

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");

        if (llm_anthropic_is(type, "image_url")) {
            snprintf(param, sizeof(param), "messages[%d].content[%d]", i, j);
            rc = llm_anthropic_check_image(part, param, e);

            if (rc != LLM_OK) {
                return rc;
            }

        } else if (llm_anthropic_is(type, "input_audio")
                   || llm_anthropic_is(type, "file"))
        {
            snprintf(param, sizeof(param), "messages[%d].content[%d].type",
                     i, j);
            llm_anthropic_refuse(e, "unsupported_value",
                                 "The anthropic dialect cannot send '%s' "
                                 "parts ('%s').", type, param);
        }

        j++;
    }

    return LLM_OK;
}


static int
llm_anthropic_check_calls(llm_request_t *req, llm_json_t *calls, int i,
    llm_error_t *e)
{
    int          j;
    char         param[64];
    llm_json_t  *call, *fn;

    j = 0;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");

        /* the parameter's name only when refused: histories are long */

        if (llm_json_get_str(call, "id") == NULL) {
            snprintf(param, sizeof(param), "messages[%d].tool_calls[%d].id",
                     i, j);
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (llm_json_get_str(fn, "name") == NULL) {
            snprintf(param, sizeof(param),
                     "messages[%d].tool_calls[%d].function.name", i, j);
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (llm_request_call_args(req, call) == NULL) {
            snprintf(param, sizeof(param),
                     "messages[%d].tool_calls[%d].function.arguments", i, j);
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': the "
                                 "arguments must be a JSON object.",
                                 param);
        }

        j++;
    }

    return LLM_OK;
}


static int
llm_anthropic_check_messages(llm_request_t *req, llm_error_t *e)
{
    int             i, rc;
    char            param[64];
    llm_chat_t     *chat;
    llm_message_t  *m;

    chat = req->chat;

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];
        rc = LLM_OK;

        if (m->role == LLM_ROLE_USER && m->parts) {
            rc = llm_anthropic_check_content(m->parts, i, e);

        } else if (m->role == LLM_ROLE_ASSISTANT) {
            rc = llm_anthropic_check_calls(req, m->calls, i, e);

        } else if (m->role == LLM_ROLE_TOOL && m->tool_call_id.start == NULL)
        {
            snprintf(param, sizeof(param), "messages[%d].tool_call_id", i);
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (rc != LLM_OK) {
            return rc;
        }
    }

    return LLM_OK;
}


/* 1 if an assistant message has a call with the id of a tool message */

static int
llm_anthropic_has_call(llm_message_t *a, llm_message_t *tool)
{
    llm_json_t  *call;

    cJSON_ArrayForEach(call, a->calls) {
        if (llm_span_equals(&tool->tool_call_id,
                            llm_json_get_str(call, "id")))
        {
            return 1;
        }
    }

    return 0;
}


/* every call of the assistant message messages[k] has its result among
 * the messages after it, up to messages[to] */

static int
llm_anthropic_check_answered(llm_chat_t *chat, int k, int to,
    llm_error_t *e)
{
    int          i;
    char         param[64];
    llm_json_t  *call;
    const char  *id;

    cJSON_ArrayForEach(call, chat->messages[k].calls) {
        id = llm_json_get_str(call, "id");

        for (i = k + 1; i < to; i++) {
            if (llm_span_equals(&chat->messages[i].tool_call_id, id)) {
                break;
            }
        }

        if (i == to) {
            snprintf(param, sizeof(param), "messages[%d].tool_calls", k);
            llm_anthropic_refuse(e, "invalid_value",
                                 "An assistant message with 'tool_calls' "
                                 "must be followed by tool messages "
                                 "responding to each 'tool_call_id': '%s' "
                                 "has none ('%s').", id, param);
        }
    }

    return LLM_OK;
}


/*
 * As OpenAI wants it, and Anthropic too: the tool messages after an
 * assistant message answer its calls, each of them
 */

static int
llm_anthropic_check_pairs(llm_chat_t *chat, llm_error_t *e)
{
    int             i, k;
    char            param[64];
    llm_message_t  *m;

    k = -1;

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->role == LLM_ROLE_TOOL) {
            if (k < 0 || !llm_anthropic_has_call(&chat->messages[k], m)) {
                snprintf(param, sizeof(param), "messages[%d].tool_call_id",
                         i);
                llm_anthropic_refuse(e, "invalid_value",
                                     "Invalid value for '%s': a tool "
                                     "message must answer a call of the "
                                     "assistant message before it.", param);
            }

        } else if (m->role != LLM_ROLE_SYSTEM) {
            /* system texts go to "system": they may come in between */

            if (k >= 0 && llm_anthropic_check_answered(chat, k, i, e)
                          != LLM_OK)
            {
                return LLM_DECLINED;
            }

            k = -1;

            if (m->role == LLM_ROLE_ASSISTANT && m->calls
                && m->calls->child)
            {
                k = i;
            }
        }
    }

    if (k >= 0) {
        return llm_anthropic_check_answered(chat, k, chat->nmessages, e);
    }

    return LLM_OK;
}


int
llm_anthropic_check(llm_request_t *req, llm_error_t *e)
{
    int  rc;

    if (llm_request_pieces(req) != LLM_OK) {
        return LLM_ERROR;
    }

    rc = llm_anthropic_check_params(req, e);

    if (rc == LLM_OK) {
        rc = llm_anthropic_check_tools(req, e);
    }

    if (req->chat->nparts == 0 && req->chat->ncalls == 0
        && req->chat->nresults == 0)
    {
        /* texts only: nothing in the messages to refuse */
        return rc;
    }

    if (rc == LLM_OK) {
        rc = llm_anthropic_check_messages(req, e);
    }

    if (rc == LLM_OK) {
        /* the builders need not look at the arguments again */
        req->args_checked = 1;
        rc = llm_anthropic_check_pairs(req->chat, e);
    }

    return rc;
}
