/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect's tools: OpenAI tools, tool_choice and
 * parallel_tool_calls as Anthropic tools and tool_choice; the JSON tool
 * a response_format asks through (see llm_anthropic.h); the tools a
 * history calls declared when the request has none.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


/* response_format json_object / json_schema: the JSON tool is added */

llm_json_t *
llm_anthropic_json_format(llm_json_t *params)
{
    llm_json_t  *rf;
    const char  *type;

    rf = llm_json_get_obj(params, "response_format");
    type = llm_json_get_str(rf, "type");

    if (llm_anthropic_is(type, "json_object")
        || llm_anthropic_is(type, "json_schema"))
    {
        return rf;
    }

    return NULL;
}


/* 1 if the client sent at least one function tool */

int
llm_anthropic_has_tools(llm_json_t *params)
{
    llm_json_t  *tool;

    cJSON_ArrayForEach(tool, llm_json_get_arr(params, "tools")) {
        if (llm_json_get_str(llm_json_get_obj(tool, "function"), "name")) {
            return 1;
        }
    }

    return 0;
}


static int
llm_anthropic_json_tool(llm_request_t *req, llm_json_t *rf, llm_buf_t *b)
{
    llm_json_t  *js, *schema;
    const char  *desc;

    js = llm_json_get_obj(rf, "json_schema");
    schema = llm_json_get_obj(js, "schema");
    desc = llm_json_get_str(js, "description");

    if (llm_buf_append_lit(b, "{\"name\":\"" LLM_ANTHROPIC_JSON_TOOL
                              "\",\"description\":") != LLM_OK
        || llm_anthropic_str(b, desc ? desc
                                : "Give the answer as this tool's input: "
                                  "a JSON object.") != LLM_OK
        || llm_buf_append_lit(b, ",\"input_schema\":") != LLM_OK
        || (schema ? llm_request_print(req, schema, b)
                   : llm_buf_append_lit(b, "{\"type\":\"object\"}"))
           != LLM_OK
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the name of a call in the history, or NULL */

static const char *
llm_anthropic_call_name(llm_json_t *call)
{
    return llm_json_get_str(llm_json_get_obj(call, "function"), "name");
}


/* the calls of the history that become tool_use blocks */

#define llm_anthropic_history_call(m, call)                                  \
    ((m)->role == LLM_ROLE_ASSISTANT                                         \
     && llm_anthropic_call_name(call) && llm_json_get_str(call, "id"))


/*
 * Anthropic refuses tool_use blocks in a request without tools: when the
 * client sent none, the tools its history called are declared (any object
 * as input), and tool_choice "none" keeps the model from calling them.
 * *n: how many.
 */

static int
llm_anthropic_history_tools(llm_chat_t *chat, llm_buf_t *b, int *n)
{
    int             i, k, rc;
    void           *p;
    size_t          nalloc;
    llm_json_t     *call;
    const char     *name, **names;
    llm_message_t  *m;

    /* the names declared: a history repeats a few tools many times */
    names = NULL;
    nalloc = 0;
    rc = LLM_OK;

    for (k = 0; k < chat->nmessages; k++) {
        m = &chat->messages[k];

        cJSON_ArrayForEach(call, m->calls) {
            if (!llm_anthropic_history_call(m, call)) {
                continue;
            }

            name = llm_anthropic_call_name(call);

            for (i = 0; i < *n && strcmp(names[i], name) != 0; i++) {
                /* void */
            }

            if (i < *n) {
                continue;
            }

            if ((size_t) *n == nalloc) {
                nalloc = nalloc ? 2 * nalloc : 16;
                p = realloc(names, nalloc * sizeof(char *));

                if (p == NULL) {
                    rc = LLM_ERROR;
                    goto done;
                }

                names = p;
            }

            names[(*n)++] = name;

            if (llm_buf_append_cstr(b, *n > 1 ? ",{\"name\":"
                                              : ",\"tools\":[{\"name\":")
                != LLM_OK
                || llm_anthropic_str(b, name) != LLM_OK
                || llm_buf_append_lit(b, ",\"description\":\"Called earlier "
                                         "in this conversation.\","
                                         "\"input_schema\":"
                                         "{\"type\":\"object\"}}")
                   != LLM_OK)
            {
                rc = LLM_ERROR;
                goto done;
            }
        }
    }

done:

    free(names);

    return rc;
}


int
llm_anthropic_tools(llm_request_t *req, llm_json_t *rf, llm_buf_t *b)
{
    int          first, n;
    llm_json_t  *tool, *fn, *params;
    const char  *name, *desc;

    first = 1;

    cJSON_ArrayForEach(tool, llm_json_get_arr(req->chat->params, "tools")) {
        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        desc = llm_json_get_str(fn, "description");
        params = llm_json_get_obj(fn, "parameters");

        if (llm_buf_append_cstr(b, first ? ",\"tools\":[{\"name\":"
                                         : ",{\"name\":") != LLM_OK
            || llm_anthropic_str(b, name) != LLM_OK
            || (desc
                && (llm_buf_append_lit(b, ",\"description\":") != LLM_OK
                    || llm_anthropic_str(b, desc) != LLM_OK))
            || llm_buf_append_lit(b, ",\"input_schema\":") != LLM_OK
            || (params ? llm_request_print(req, params, b)
                       : llm_buf_append_lit(b, "{\"type\":\"object\","
                                               "\"properties\":{}}"))
               != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = 0;
    }

    if (first && req->chat->ncalls) {
        n = 0;

        if (llm_anthropic_history_tools(req->chat, b, &n) != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = (n == 0);
    }

    if (rf) {
        if (llm_buf_append_cstr(b, first ? ",\"tools\":[" : ",") != LLM_OK
            || llm_anthropic_json_tool(req, rf, b) != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = 0;
    }

    if (!first && llm_buf_append_lit(b, "]") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* 1 if the history has a call that llm_anthropic_history_tools() declares */

static int
llm_anthropic_history_calls(llm_chat_t *chat)
{
    int             k;
    llm_json_t     *call;
    llm_message_t  *m;

    for (k = 0; k < chat->nmessages; k++) {
        m = &chat->messages[k];

        cJSON_ArrayForEach(call, m->calls) {
            if (llm_anthropic_history_call(m, call)) {
                return 1;
            }
        }
    }

    return 0;
}


/* the forced tool of a named tool_choice, or NULL */

const char *
llm_anthropic_named(llm_json_t *choice)
{
    return llm_json_get_str(llm_json_get_obj(choice, "function"), "name");
}


int
llm_anthropic_tool_choice(llm_request_t *req, llm_json_t *rf, llm_buf_t *b)
{
    int          tools, no_parallel;
    llm_json_t  *params, *choice, *v;
    const char  *type, *name;

    params = req->chat->params;
    tools = llm_anthropic_has_tools(params);

    if (!tools && rf == NULL) {
        if (req->chat->ncalls == 0 || !llm_anthropic_history_calls(req->chat))
        {
            return LLM_OK;
        }

        /* tools declared for the history only are not to be called */
        return llm_buf_append_lit(b, ",\"tool_choice\":{\"type\":\"none\"}");
    }

    choice = llm_json_get(params, "tool_choice");
    v = llm_json_get(params, "parallel_tool_calls");
    no_parallel = cJSON_IsFalse(v);

    name = NULL;
    type = NULL;

    if (cJSON_IsString(choice)) {
        if (llm_anthropic_is(choice->valuestring, "none")) {
            type = "none";

        } else if (llm_anthropic_is(choice->valuestring, "required")) {
            type = "any";

        } else {
            type = "auto";
        }

    } else if (cJSON_IsObject(choice)) {
        name = llm_anthropic_named(choice);
        type = name ? "tool" : "auto";
    }

    if (rf) {
        /* the answer comes through the JSON tool, maybe after others */

        if (!tools || llm_anthropic_is(type, "none")) {
            type = "tool";
            name = LLM_ANTHROPIC_JSON_TOOL;

        } else if (name == NULL) {
            type = "any";
        }

    } else if (type == NULL) {
        if (!no_parallel) {
            return LLM_OK;
        }

        type = "auto";
    }

    if (llm_buf_append_lit(b, ",\"tool_choice\":{\"type\":\"") != LLM_OK
        || llm_buf_append_cstr(b, type) != LLM_OK
        || llm_buf_append_lit(b, "\"") != LLM_OK
        || (name
            && (llm_buf_append_lit(b, ",\"name\":") != LLM_OK
                || llm_anthropic_str(b, name) != LLM_OK))
        || (no_parallel && strcmp(type, "none") != 0
            && llm_buf_append_lit(b, ",\"disable_parallel_tool_use\":true")
               != LLM_OK)
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
