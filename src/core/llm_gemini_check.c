/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect's check: what Gemini cannot take is refused with
 * a 400 naming the parameter before any upstream request (n > 8,
 * logprobs, a non-empty logit_bias, more than 5 stop sequences, unknown
 * reasoning_effort or response_format types, non-function tools,
 * schemas whose $refs cannot be inlined, bad histories and images).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


/* check: what Gemini cannot take is refused before any upstream request */

/* what llm_gemini_refs_ok() saw of a schema */

typedef struct {
    int       objects;
    unsigned  refs:1;
    unsigned  deep:1;           /* past LLM_GEMINI_SCHEMA_DEPTH */
} llm_gemini_walk_t;


static int
llm_gemini_refs_ok(llm_json_t *root, llm_json_t *s, int depth,
    llm_gemini_walk_t *w)
{
    llm_json_t  *m;
    const char  *ref;

    if (depth > LLM_GEMINI_SCHEMA_DEPTH) {
        w->deep = 1;
        return 1;
    }

    w->objects += cJSON_IsObject(s);

    ref = llm_json_get_str(s, "$ref");

    if (ref) {
        w->refs = 1;

        if (llm_gemini_ref(root, ref) == NULL) {
            return 0;
        }
    }

    cJSON_ArrayForEach(m, s) {
        if ((cJSON_IsObject(m) || cJSON_IsArray(m))
            && !llm_gemini_refs_ok(root, m, depth + 1, w))
        {
            return 0;
        }
    }

    return 1;
}


/* a tool's parameters (tool >= 0), or response_format's schema */

static void
llm_gemini_schema_param(char *param, size_t size, int tool)
{
    if (tool >= 0) {
        snprintf(param, size, "tools[%d].function.parameters", tool);

    } else {
        snprintf(param, size, "response_format.json_schema.schema");
    }
}


/* the parameter's name is written only when refused: tools come with
 * every agent's turn */

static int
llm_gemini_check_schema(llm_json_t *schema, int tool, llm_error_t *e)
{
    char                 param[64];
    llm_json_t          *g;
    llm_gemini_walk_t    w;
    llm_gemini_schema_t  sc;

    if (schema == NULL) {
        return LLM_OK;
    }

    memset(&w, 0, sizeof(llm_gemini_walk_t));

    if (!llm_gemini_refs_ok(schema, schema, 0, &w)) {
        llm_gemini_schema_param(param, sizeof(param), tool);
        llm_error_set(e, 400, param, "unsupported_schema",
                      "Invalid schema for '%s': Gemini takes no $ref, and "
                      "only local references (#/$defs/..., "
                      "#/definitions/...) are inlined by the gateway.",
                      param);
        return LLM_DECLINED;
    }

    /*
     * Without $refs each schema the conversion writes is one of the
     * objects seen, no deeper than they are: within its bounds, so it
     * need not run here (tools come with every agent's turn)
     */

    if (!w.refs && !w.deep && w.objects <= LLM_GEMINI_SCHEMA_NODES) {
        return LLM_OK;
    }

    /* recursive $refs inline without end: refused past a size */

    g = llm_gemini_schema_convert(&sc, schema);

    llm_json_arena_free(sc.arena);

    if (g == NULL) {
        return LLM_ERROR;
    }

    if (sc.nodes < 0) {
        llm_gemini_schema_param(param, sizeof(param), tool);
        llm_error_set(e, 400, param, "unsupported_schema",
                      "Invalid schema for '%s': with its $refs inlined "
                      "(Gemini takes none) it has more than %d schemas; "
                      "recursive schemas cannot be sent to Gemini.", param,
                      LLM_GEMINI_SCHEMA_NODES);
        return LLM_DECLINED;
    }

    return LLM_OK;
}


static int
llm_gemini_check_content(llm_json_t *content, int i, llm_error_t *e)
{
    int                  k;
    char                 param[96];
    llm_json_t          *part;
    const char          *type, *url, *why;
    llm_gemini_image_t   im;

    k = -1;

    cJSON_ArrayForEach(part, content) {
        k++;
        type = llm_json_get_str(part, "type");

        if (cJSON_IsString(part) || type == NULL || strcmp(type, "text") == 0
            || strcmp(type, "input_audio") == 0)
        {
            continue;
        }

        if (strcmp(type, "image_url") != 0) {
            snprintf(param, sizeof(param), "messages[%d].content[%d].type",
                     i, k);
            llm_error_set(e, 400, param, "unsupported_content",
                          "Content parts of type '%s' are not supported by "
                          "the gemini dialect.", type);
            return LLM_DECLINED;
        }

        url = llm_gemini_image_url(part);
        why = url ? llm_gemini_image(url, &im) : "the URL is missing";

        if (why) {
            snprintf(param, sizeof(param),
                     "messages[%d].content[%d].image_url.url", i, k);
            llm_error_set(e, 400, param, "invalid_image_url",
                          "Invalid image URL for '%s': %s.", param, why);
            return LLM_DECLINED;
        }
    }

    return LLM_OK;
}


static int
llm_gemini_check_messages(llm_request_t *req, llm_error_t *e)
{
    int             i, k;
    char            param[96];
    llm_chat_t     *chat;
    llm_json_t     *call;
    llm_message_t  *m;

    chat = req->chat;

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (llm_gemini_check_content(m->parts, i, e) != LLM_OK) {
            return LLM_DECLINED;
        }

        if (m->role == LLM_ROLE_TOOL) {
            if (m->tool_call_id.start == NULL
                || llm_gemini_call_name(chat, i, &m->tool_call_id) == NULL)
            {
                snprintf(param, sizeof(param), "messages[%d].tool_call_id",
                         i);
                llm_error_set(e, 400, param, "invalid_tool_call_id",
                              "Invalid value for '%s': it must be the id of "
                              "a tool call in an earlier assistant message "
                              "(Gemini needs the function's name).", param);
                return LLM_DECLINED;
            }

            continue;
        }

        k = -1;

        cJSON_ArrayForEach(call, m->calls) {
            k++;

            if (llm_json_get_str(llm_json_get_obj(call, "function"), "name")
                == NULL)
            {
                snprintf(param, sizeof(param),
                         "messages[%d].tool_calls[%d].function.name", i, k);
                llm_error_set(e, 400, param, "missing_required_parameter",
                              "Missing required parameter: '%s'.", param);
                return LLM_DECLINED;
            }

            if (llm_request_call_args(req, call) == NULL) {
                snprintf(param, sizeof(param),
                         "messages[%d].tool_calls[%d].function.arguments",
                         i, k);
                llm_error_set(e, 400, param, "invalid_tool_arguments",
                              "Invalid value for '%s': the arguments must "
                              "be a JSON object.", param);
                return LLM_DECLINED;
            }
        }
    }

    return LLM_OK;
}


static int
llm_gemini_declared(llm_json_t *tools, const char *name)
{
    llm_json_t  *tool;
    const char  *s;

    cJSON_ArrayForEach(tool, tools) {
        s = llm_json_get_str(llm_json_get_obj(tool, "function"), "name");

        if (s && strcmp(s, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
llm_gemini_check_n(long long n, llm_error_t *e)
{
    if (n > LLM_GEMINI_MAX_CAND) {
        llm_error_set(e, 400, "n", "unsupported_value",
                      "Invalid value for 'n': Gemini returns at most %d "
                      "candidates.", LLM_GEMINI_MAX_CAND);
        return LLM_DECLINED;
    }

    return LLM_OK;
}


int
llm_gemini_check(llm_request_t *req, llm_error_t *e)
{
    int          i, rc;
    char         param[64];
    llm_json_t  *params, *v, *tool, *rf;
    const char  *s;

    if (llm_request_pieces(req) != LLM_OK) {
        return LLM_ERROR;
    }

    params = req->chat->params;

    if (llm_gemini_check_n(llm_span_int(&req->chat->n), e) != LLM_OK)
    {
        return LLM_DECLINED;
    }

    if (cJSON_IsTrue(llm_json_get(params, "logprobs"))
        || llm_json_get_int(params, "top_logprobs") > 0)
    {
        llm_error_set(e, 400, "logprobs", "unsupported_parameter",
                      "Unsupported parameter: 'logprobs' is not supported "
                      "by the gemini dialect.");
        return LLM_DECLINED;
    }

    if (cJSON_GetArraySize(llm_json_get_obj(params, "logit_bias")) > 0) {
        llm_error_set(e, 400, "logit_bias", "unsupported_parameter",
                      "Unsupported parameter: 'logit_bias' is not supported "
                      "by Gemini.");
        return LLM_DECLINED;
    }

    if (llm_span_count(&req->chat->stop) > LLM_GEMINI_MAX_STOP)
    {
        llm_error_set(e, 400, "stop", "unsupported_value",
                      "Invalid value for 'stop': Gemini takes at most %d "
                      "stop sequences.", LLM_GEMINI_MAX_STOP);
        return LLM_DECLINED;
    }

    s = llm_json_get_str(params, "reasoning_effort");

    if (s && llm_gemini_budget(s) < 0) {
        llm_error_set(e, 400, "reasoning_effort", "invalid_value",
                      "Invalid value for 'reasoning_effort': supported "
                      "values are 'none', 'minimal', 'low', 'medium' and "
                      "'high'.");
        return LLM_DECLINED;
    }

    i = -1;

    cJSON_ArrayForEach(tool, llm_json_get_arr(params, "tools")) {
        i++;
        s = llm_json_get_str(tool, "type");

        if ((s && strcmp(s, "function") != 0)
            || llm_json_get_str(llm_json_get_obj(tool, "function"), "name")
               == NULL)
        {
            snprintf(param, sizeof(param), "tools[%d]", i);
            llm_error_set(e, 400, param, "unsupported_tool",
                          "Invalid value for '%s': the gemini dialect takes "
                          "function tools with a name only.", param);
            return LLM_DECLINED;
        }

        v = llm_json_get_obj(llm_json_get_obj(tool, "function"),
                             "parameters");
        rc = llm_gemini_check_schema(v, i, e);

        if (rc != LLM_OK) {
            return rc;
        }
    }

    /* a named tool_choice must name a declared function */

    s = llm_json_get_str(llm_json_get_obj(llm_json_get_obj(params,
                             "tool_choice"), "function"), "name");

    if (s && !llm_gemini_declared(llm_json_get_arr(params, "tools"), s)) {
        llm_error_set(e, 400, "tool_choice", "invalid_value",
                      "Invalid value for 'tool_choice': no function named "
                      "'%s' is in 'tools'.", s);
        return LLM_DECLINED;
    }

    rf = llm_json_get_obj(params, "response_format");
    s = llm_json_get_str(rf, "type");

    if (rf
        && (s == NULL || (strcmp(s, "text") != 0
                          && strcmp(s, "json_object") != 0
                          && strcmp(s, "json_schema") != 0)))
    {
        llm_error_set(e, 400, "response_format.type", "invalid_value",
                      "Invalid value for 'response_format.type': supported "
                      "values are 'text', 'json_object' and 'json_schema'.");
        return LLM_DECLINED;
    }

    v = llm_json_get_obj(llm_json_get_obj(rf, "json_schema"), "schema");

    rc = llm_gemini_check_schema(v, -1, e);

    if (rc != LLM_OK) {
        return rc;
    }

    if (req->chat->nparts == 0 && req->chat->ncalls == 0
        && req->chat->nresults == 0)
    {
        /* texts only: nothing in the messages to refuse */
        return LLM_OK;
    }

    rc = llm_gemini_check_messages(req, e);

    /* the builders need not look at the arguments again */
    req->args_checked = (rc == LLM_OK);

    return rc;
}
