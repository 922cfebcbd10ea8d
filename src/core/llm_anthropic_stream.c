/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect, stream: Messages events become events (see
 * llm_response.h) with no cJSON per event: the JSON scanner finds the
 * few members needed, and text, thinking and partial_json strings pass
 * as their escaped JSON bytes.  Anthropic opens one content block at a
 * time, so the stream's own state is the open block's (its index, kind,
 * tool index, whether it got arguments) and the tool count; tool indexes
 * count tool_use blocks only.  A tool_use block begins a tool call (id,
 * name, no arguments yet); each non-empty input_json_delta adds an
 * arguments fragment; a tool that got none gets "{}" at its block's end.
 * The JSON tool streams as content instead.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


#define LLM_ANT_T_OTHER        0
#define LLM_ANT_T_MSG_START    1
#define LLM_ANT_T_BLOCK_DELTA  2
#define LLM_ANT_T_MSG_DELTA    3
#define LLM_ANT_T_MSG_STOP     4
#define LLM_ANT_T_ERROR        5
#define LLM_ANT_T_PING         6
#define LLM_ANT_T_NONE         7      /* no "type" member */
#define LLM_ANT_T_BLOCK_START  8
#define LLM_ANT_T_BLOCK_STOP   9

#define LLM_ANT_K_OTHER        0      /* the open block's kind */
#define LLM_ANT_K_TOOL         1
#define LLM_ANT_K_JSON         2


typedef struct {
    int           type;
    const char   *id;               /* message.id's bytes, no quotes */
    size_t        id_len;
    const char   *text;             /* delta.text, quotes too */
    const char   *text_end;
    const char   *thinking;         /* delta.thinking, quotes too */
    const char   *thinking_end;
    const char   *stop;             /* delta.stop_reason, no quotes */
    size_t        stop_len;
    const char   *partial;          /* delta.partial_json, quotes too */
    const char   *partial_end;
    const char   *cb_type;          /* content_block's, quotes too */
    const char   *cb_type_end;
    const char   *cb_id;
    const char   *cb_id_end;
    const char   *cb_name;
    const char   *cb_name_end;
    long long     index;            /* the block's index, -1: absent */
    long long     input;            /* usage numbers, -1: absent */
    long long     cache_read;
    long long     cache_creation;
    long long     output;
    long long     thinking_tokens;
    unsigned      delta_text:1;     /* delta.type is text_delta */
    unsigned      delta_thinking:1; /* delta.type is thinking_delta */
    unsigned      delta_input:1;    /* delta.type is input_json_delta */
} llm_anthropic_scan_t;


static int llm_anthropic_start(llm_response_t *resp,
    llm_anthropic_scan_t *sc, llm_buf_t *out);


static int
llm_anthropic_type(const char *p, size_t n)
{
#define llm_is(s)  (n == sizeof(s) - 1 && memcmp(p, s, n) == 0)

    if (llm_is("content_block_delta")) {
        return LLM_ANT_T_BLOCK_DELTA;
    }

    if (llm_is("message_start")) {
        return LLM_ANT_T_MSG_START;
    }

    if (llm_is("content_block_start")) {
        return LLM_ANT_T_BLOCK_START;
    }

    if (llm_is("content_block_stop")) {
        return LLM_ANT_T_BLOCK_STOP;
    }

    if (llm_is("message_delta")) {
        return LLM_ANT_T_MSG_DELTA;
    }

    if (llm_is("message_stop")) {
        return LLM_ANT_T_MSG_STOP;
    }

    if (llm_is("error")) {
        return LLM_ANT_T_ERROR;
    }

    if (llm_is("ping")) {
        return LLM_ANT_T_PING;
    }

    return LLM_ANT_T_OTHER;

#undef llm_is
}


static void
llm_anthropic_scan_usage(llm_anthropic_scan_t *sc,
    const llm_json_step_t *step, long long v)
{
    if (llm_json_step_is(step, "input_tokens")) {
        sc->input = v;

    } else if (llm_json_step_is(step, "cache_read_input_tokens")) {
        sc->cache_read = v;

    } else if (llm_json_step_is(step, "cache_creation_input_tokens")) {
        sc->cache_creation = v;

    } else if (llm_json_step_is(step, "output_tokens")) {
        sc->output = v;
    }
}


static int
llm_anthropic_scan_value(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_anthropic_scan_t *sc = data;

    if (depth == 1) {
        if (llm_json_step_is(&path[0], "type") && type == LLM_JSON_STRING) {
            sc->type = llm_anthropic_type(start + 1, end - start - 2);

        } else if (llm_json_step_is(&path[0], "index")
                   && type == LLM_JSON_NUMBER)
        {
            sc->index = llm_json_scan_int(start, end);
        }

        return LLM_OK;
    }

    if (depth == 2 && llm_json_step_is(&path[0], "content_block")) {
        if (type != LLM_JSON_STRING) {
            return LLM_OK;
        }

        if (llm_json_step_is(&path[1], "type")) {
            sc->cb_type = start;
            sc->cb_type_end = end;

        } else if (llm_json_step_is(&path[1], "id")) {
            sc->cb_id = start;
            sc->cb_id_end = end;

        } else if (llm_json_step_is(&path[1], "name")) {
            sc->cb_name = start;
            sc->cb_name_end = end;
        }

        return LLM_OK;
    }

    if (depth == 2) {
        if (llm_json_step_is(&path[0], "delta")) {
            if (type != LLM_JSON_STRING) {
                return LLM_OK;
            }

            if (llm_json_step_is(&path[1], "text")) {
                sc->text = start;
                sc->text_end = end;

            } else if (llm_json_step_is(&path[1], "thinking")) {
                sc->thinking = start;
                sc->thinking_end = end;

            } else if (llm_json_step_is(&path[1], "partial_json")) {
                sc->partial = start;
                sc->partial_end = end;

            } else if (llm_json_step_is(&path[1], "stop_reason")) {
                sc->stop = start + 1;
                sc->stop_len = end - start - 2;

            } else if (llm_json_step_is(&path[1], "type")) {
                sc->delta_text = (end - start == 12
                                  && memcmp(start, "\"text_delta\"", 12)
                                     == 0);
                sc->delta_thinking = (end - start == 16
                                      && memcmp(start, "\"thinking_delta\"",
                                                16) == 0);
                sc->delta_input = (end - start == 18
                                   && memcmp(start, "\"input_json_delta\"",
                                             18) == 0);
            }

        } else if (llm_json_step_is(&path[0], "usage")
                   && type == LLM_JSON_NUMBER)
        {
            llm_anthropic_scan_usage(sc, &path[1],
                                     llm_json_scan_int(start, end));

        } else if (llm_json_step_is(&path[0], "message")
                   && llm_json_step_is(&path[1], "id")
                   && type == LLM_JSON_STRING)
        {
            sc->id = start + 1;
            sc->id_len = end - start - 2;
        }

        return LLM_OK;
    }

    if (depth == 3) {
        if (llm_json_step_is(&path[0], "message")
            && llm_json_step_is(&path[1], "usage")
            && type == LLM_JSON_NUMBER)
        {
            llm_anthropic_scan_usage(sc, &path[2],
                                     llm_json_scan_int(start, end));

        } else if (llm_json_step_is(&path[0], "usage")
                   && llm_json_step_is(&path[1], "output_tokens_details")
                   && llm_json_step_is(&path[2], "thinking_tokens")
                   && type == LLM_JSON_NUMBER)
        {
            sc->thinking_tokens = llm_json_scan_int(start, end);
        }
    }

    return LLM_OK;
}


/* the stream's own state: the open content block */

typedef struct {
    long long     block;            /* its index */
    int           tool;             /* its tool call's index */
    int           tools;            /* tool calls so far */
    unsigned      kind:2;           /* LLM_ANT_K_* */
    unsigned      args:1;           /* it got an arguments fragment */
} llm_anthropic_state_t;


/* an arguments fragment of the open block; [s, e) a JSON string */

static int
llm_anthropic_tool_args(llm_response_t *resp, llm_anthropic_state_t *st,
    const char *s, const char *e, llm_buf_t *out)
{
    st->args = 1;

    if (st->kind == LLM_ANT_K_JSON) {
        /* the JSON tool's input is the answer */
        return llm_event_text(resp, 0, LLM_PART_CONTENT, s, e - s, out);
    }

    return llm_event_tool_args(resp, 0, st->tool, s, e - s, out);
}


/*
 * content_block_start: a tool_use block begins a tool call (id, name,
 * no arguments yet); any other block is only remembered as open
 */

static int
llm_anthropic_block_start(llm_response_t *resp, llm_anthropic_state_t *st,
    llm_anthropic_scan_t *sc, llm_buf_t *out)
{
    char              id[32];
    llm_tool_event_t  tool;

    st->block = sc->index;
    st->kind = LLM_ANT_K_OTHER;
    st->args = 0;

    if (sc->cb_type == NULL || sc->cb_type_end - sc->cb_type != 10
        || memcmp(sc->cb_type, "\"tool_use\"", 10) != 0)
    {
        /* text, thinking, and server tools: not the client's to run */
        return LLM_OK;
    }

    if (llm_anthropic_start(resp, NULL, out) != LLM_OK) {
        return LLM_ERROR;
    }

    if (sc->cb_name
        && (size_t) (sc->cb_name_end - sc->cb_name)
           == sizeof(LLM_ANTHROPIC_JSON_TOOL) + 1
        && memcmp(sc->cb_name + 1, LLM_ANTHROPIC_JSON_TOOL,
                  sizeof(LLM_ANTHROPIC_JSON_TOOL) - 1) == 0)
    {
        st->kind = LLM_ANT_K_JSON;
        return LLM_OK;
    }

    st->kind = LLM_ANT_K_TOOL;
    st->tool = st->tools++;

    if (sc->cb_id) {
        tool.id = sc->cb_id;
        tool.id_len = sc->cb_id_end - sc->cb_id;

    } else {
        tool.id = id;
        tool.id_len = snprintf(id, sizeof(id), "\"toolu_gateway_%d\"",
                               st->tool);
    }

    tool.name = sc->cb_name ? sc->cb_name : "\"\"";
    tool.name_len = sc->cb_name ? (size_t) (sc->cb_name_end - sc->cb_name)
                                : 2;
    tool.args = NULL;
    tool.args_len = 0;

    return llm_event_tool(resp, 0, st->tool, &tool, out);
}


/* the open block ends: a tool that got no arguments gets "{}" */

static int
llm_anthropic_block_stop(llm_response_t *resp, llm_anthropic_state_t *st,
    llm_buf_t *out)
{
    static const char  empty[] = "\"{}\"";

    if (st->kind != LLM_ANT_K_OTHER && !st->args
        && llm_anthropic_tool_args(resp, st, empty,
                                   empty + sizeof(empty) - 1, out)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    st->kind = LLM_ANT_K_OTHER;

    return LLM_OK;
}


/* 1 if an event with this index belongs to the open block */

static int
llm_anthropic_open_block(llm_anthropic_state_t *st, llm_anthropic_scan_t *sc)
{
    return st->kind != LLM_ANT_K_OTHER
           && (sc->index < 0 || sc->index == st->block);
}


/* the id, created and the start, once */

static int
llm_anthropic_start(llm_response_t *resp, llm_anthropic_scan_t *sc,
    llm_buf_t *out)
{
    if (resp->id[0] != '\0') {
        return LLM_OK;
    }

    llm_anthropic_set_id(resp, sc ? sc->id : NULL, sc ? sc->id_len : 0);

    return llm_event_start(resp, out);
}


static void
llm_anthropic_stream_usage(llm_response_t *resp, llm_anthropic_scan_t *sc)
{
    long long     prompt;
    llm_usage_t  *u;

    u = &resp->usage;

    if (sc->input >= 0 || sc->cache_read >= 0 || sc->cache_creation >= 0) {
        prompt = (sc->input > 0 ? sc->input : 0)
                 + (sc->cache_read > 0 ? sc->cache_read : 0)
                 + (sc->cache_creation > 0 ? sc->cache_creation : 0);

        /* message_delta may repeat the input counts, maybe only some */
        if (!u->set || prompt >= u->prompt_tokens) {
            u->prompt_tokens = prompt;

            if (sc->cache_read >= 0) {
                u->cached_tokens = sc->cache_read;
            }
        }

        u->set = 1;
    }

    if (sc->output >= 0) {
        /* cumulative: the last one counts */
        u->completion_tokens = sc->output;
        u->set = 1;
    }

    if (sc->thinking_tokens >= 0) {
        u->reasoning_tokens = sc->thinking_tokens;
    }

    u->total_tokens = u->prompt_tokens + u->completion_tokens;
}


static int
llm_anthropic_stream_error(llm_response_t *resp, const char *data, size_t n,
    llm_buf_t *out)
{
    llm_json_t  *j;

    j = llm_json_parse(data, n, NULL);

    /* in a stream, the status comes from the error's type */
    llm_anthropic_error_object(llm_json_get(j, "error"), 0, &resp->error);

    llm_json_free(j);

    return llm_response_end_error(resp, out);
}


int
llm_anthropic_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int                     type;
    llm_anthropic_scan_t    sc;
    llm_anthropic_state_t  *st;

    if (resp->done) {
        return LLM_DONE;
    }

    type = (event_len ? llm_anthropic_type(event, event_len)
                      : LLM_ANT_T_NONE);

    if (type == LLM_ANT_T_PING) {
        return LLM_OK;
    }

    memset(&sc, 0, sizeof(llm_anthropic_scan_t));
    sc.type = LLM_ANT_T_NONE;
    sc.input = -1;
    sc.cache_read = -1;
    sc.cache_creation = -1;
    sc.output = -1;
    sc.thinking_tokens = -1;
    sc.index = -1;

    if (llm_json_scan(data, n, 3, llm_anthropic_scan_value, &sc) != LLM_OK) {
        if (type == LLM_ANT_T_ERROR) {
            return llm_anthropic_stream_error(resp, data, n, out);
        }

        return llm_response_fail(resp, out, 502, "invalid_upstream_response",
                                 "The provider sent a malformed stream "
                                 "event.");
    }

    /* the data's own type wins; the event name when it has none */

    if (type == LLM_ANT_T_ERROR || sc.type == LLM_ANT_T_ERROR) {
        return llm_anthropic_stream_error(resp, data, n, out);
    }

    if (sc.type != LLM_ANT_T_NONE) {
        type = sc.type;
    }

    st = llm_response_state(resp, sizeof(llm_anthropic_state_t));
    if (st == NULL) {
        return LLM_ERROR;
    }

    switch (type) {

    case LLM_ANT_T_MSG_START:
        llm_anthropic_stream_usage(resp, &sc);
        return llm_anthropic_start(resp, &sc, out);

    case LLM_ANT_T_BLOCK_DELTA:
        if (sc.delta_text && sc.text && sc.text_end - sc.text > 2) {
            if (llm_anthropic_start(resp, NULL, out) != LLM_OK) {
                return LLM_ERROR;
            }

            return llm_event_text(resp, 0, LLM_PART_CONTENT, sc.text,
                                  sc.text_end - sc.text, out);
        }

        if (sc.delta_thinking && sc.thinking
            && sc.thinking_end - sc.thinking > 2)
        {
            if (llm_anthropic_start(resp, NULL, out) != LLM_OK) {
                return LLM_ERROR;
            }

            return llm_event_text(resp, 0, LLM_PART_REASONING, sc.thinking,
                                  sc.thinking_end - sc.thinking, out);
        }

        if (sc.delta_input && sc.partial && sc.partial_end - sc.partial > 2
            && llm_anthropic_open_block(st, &sc))
        {
            return llm_anthropic_tool_args(resp, st, sc.partial,
                                           sc.partial_end, out);
        }

        /* signature, citations, a server tool's input */
        return LLM_OK;

    case LLM_ANT_T_BLOCK_START:
        /* a block left open (no content_block_stop) ends here */
        if (llm_anthropic_block_stop(resp, st, out) != LLM_OK) {
            return LLM_ERROR;
        }

        return llm_anthropic_block_start(resp, st, &sc, out);

    case LLM_ANT_T_BLOCK_STOP:
        if (llm_anthropic_open_block(st, &sc)) {
            return llm_anthropic_block_stop(resp, st, out);
        }

        return LLM_OK;

    case LLM_ANT_T_MSG_DELTA:
        if (sc.stop) {
            llm_response_set_finish(resp,
                                     llm_anthropic_finish(sc.stop,
                                                          sc.stop_len));

            if (st->tools == 0
                && strcmp(resp->finish_reason, "tool_calls") == 0)
            {
                /* no call for the client (the JSON tool's input was
                 * the answer) */
                llm_response_set_finish(resp, "stop");
            }
        }

        llm_anthropic_stream_usage(resp, &sc);
        return LLM_OK;

    case LLM_ANT_T_MSG_STOP:
        if (resp->finish_reason[0] == '\0') {
            llm_response_set_finish(resp, "stop");
        }

        if (llm_anthropic_start(resp, NULL, out) != LLM_OK
            || llm_anthropic_block_stop(resp, st, out) != LLM_OK
            || llm_event_finish(resp, 0, resp->finish_reason, out)
               != LLM_OK)
        {
            return LLM_ERROR;
        }

        return llm_event_end(resp, out);

    default:
        /* ping, and events yet unknown */
        return LLM_OK;
    }
}


int
llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->done) {
        return LLM_DONE;
    }

    return llm_response_fail(resp, out, 502, "stream_truncated",
                             "The provider's stream ended before it was "
                             "complete.");
}
