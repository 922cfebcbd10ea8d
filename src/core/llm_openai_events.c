/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "openai" dialect as events, for a client that does not speak
 * OpenAI Chat (Anthropic Messages): a chunk's deltas or a response's
 * messages, already checked and normalized by llm_openai.c (tool calls
 * indexed, Groq's "reasoning" renamed), become text, tool and finish
 * events.  cJSON strings are decoded, so each piece is written again as
 * a literal.
 */

#include <stdio.h>
#include <string.h>

#include "llm_openai.h"


static int llm_openai_events_tools(llm_response_t *resp, int choice,
    llm_json_t *calls, llm_buf_t *out);


static int
llm_openai_events_part(llm_response_t *resp, int choice, llm_json_t *msg,
    const char *name, llm_part_e part, llm_buf_t *out)
{
    llm_json_t  *v;

    v = llm_json_get(msg, name);

    if (!cJSON_IsString(v)) {
        return LLM_OK;
    }

    return llm_event_text_str(resp, choice, part, v->valuestring,
                              strlen(v->valuestring), out);
}


/* a delta of a stream, or a whole message: its events */

static int
llm_openai_events_message(llm_response_t *resp, llm_json_t *choice,
    const char *member, llm_buf_t *out)
{
    int          index;
    llm_json_t  *msg;
    const char  *finish;

    index = (int) llm_json_get_int(choice, "index");
    if (index < 0) {
        index = 0;
    }

    msg = llm_json_get_obj(choice, member);

    if (msg
        && (llm_openai_events_part(resp, index, msg, "reasoning_content",
                                   LLM_PART_REASONING, out) != LLM_OK
            || llm_openai_events_part(resp, index, msg, "content",
                                      LLM_PART_CONTENT, out) != LLM_OK
            || llm_openai_events_part(resp, index, msg, "refusal",
                                      LLM_PART_REFUSAL, out) != LLM_OK
            || llm_openai_events_tools(resp, index,
                                       llm_json_get_arr(msg, "tool_calls"),
                                       out) != LLM_OK))
    {
        return LLM_ERROR;
    }

    finish = llm_json_get_str(choice, "finish_reason");

    if (finish && llm_event_finish(resp, index, finish, out) != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a call with an id or a name begins; without, its arguments go on */

static int
llm_openai_events_tools(llm_response_t *resp, int choice, llm_json_t *calls,
    llm_buf_t *out)
{
    int                rc, n;
    llm_buf_t          id, name, args;
    llm_json_t        *call, *fn;
    const char        *s;
    llm_tool_event_t   tool;

    if (calls == NULL) {
        return LLM_OK;
    }

    memset(&id, 0, sizeof(llm_buf_t));
    memset(&name, 0, sizeof(llm_buf_t));
    memset(&args, 0, sizeof(llm_buf_t));

    rc = LLM_OK;
    n = 0;

    cJSON_ArrayForEach(call, calls) {
        llm_buf_reset(&id);
        llm_buf_reset(&name);
        llm_buf_reset(&args);

        fn = llm_json_get_obj(call, "function");
        s = llm_json_get_str(fn, "arguments");

        if (s && llm_buf_append_json_string(&args, s, strlen(s)) != LLM_OK) {
            rc = LLM_ERROR;
            break;
        }

        if (llm_json_get_str(call, "id") || llm_json_get_str(fn, "name")) {
            s = llm_json_get_str(call, "id");

            if (llm_buf_append_json_string(&id, s ? s : "",
                                           s ? strlen(s) : 0) != LLM_OK)
            {
                rc = LLM_ERROR;
                break;
            }

            s = llm_json_get_str(fn, "name");

            if (llm_buf_append_json_string(&name, s ? s : "",
                                           s ? strlen(s) : 0) != LLM_OK)
            {
                rc = LLM_ERROR;
                break;
            }

            tool.id = id.data;
            tool.id_len = id.len;
            tool.name = name.data;
            tool.name_len = name.len;
            tool.args = args.len ? args.data : NULL;
            tool.args_len = args.len;

            rc = llm_event_tool(resp, choice,
                                cJSON_IsNumber(llm_json_get(call, "index"))
                                ? (int) llm_json_get_int(call, "index") : n,
                                &tool, out);

        } else if (args.len > 2) {
            rc = llm_event_tool_args(resp, choice,
                                     (int) llm_json_get_int(call, "index"),
                                     args.data, args.len, out);
        }

        if (rc != LLM_OK) {
            break;
        }

        n++;
    }

    llm_buf_free(&id);
    llm_buf_free(&name);
    llm_buf_free(&args);

    return rc;
}


int
llm_openai_events_chunk(llm_response_t *resp, llm_json_t *j,
    llm_buf_t *out)
{
    llm_json_t  *choice;

    cJSON_ArrayForEach(choice, llm_json_get_arr(j, "choices")) {
        if (llm_openai_events_message(resp, choice, "delta", out) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


int
llm_openai_events_whole(llm_response_t *resp, llm_json_t *j,
    llm_buf_t *out)
{
    const char  *id;
    llm_json_t  *choice;

    id = llm_json_get_str(j, "id");

    if (id) {
        snprintf(resp->id, sizeof(resp->id), "%s", id);
    }

    resp->created = llm_json_get_int(j, "created");

    llm_response_whole(resp);

    if (llm_event_start(resp, out) != LLM_OK) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(choice, llm_json_get_arr(j, "choices")) {
        if (llm_openai_events_message(resp, choice, "message", out)
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return (llm_event_end(resp, out) == LLM_DONE) ? LLM_OK : LLM_ERROR;
}
