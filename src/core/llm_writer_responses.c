/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Responses writer: the neutral events as OpenAI's Responses API.
 *
 *   - output items, in the order the answer makes them: a run of
 *     reasoning is a "reasoning" item with one summary part, a run of
 *     content (or of a refusal) a "message" item with one part, each tool
 *     call a "function_call" item (the tool call's id is its call_id);
 *   - a stream: typed events, each with its sequence_number.
 *     response.created and response.in_progress at the start; each item
 *     added, its deltas, its text done, the item done; then
 *     response.completed, or response.incomplete (length, content filter)
 *     with the whole output and usage.  A failure after the start is
 *     response.failed with the output so far.  No [DONE]: the stream
 *     ends after its terminal event, as OpenAI's does;
 *   - a whole response: the response object, written at the end.
 *
 * Every item's text is kept (the done events and the final response
 * repeat it whole): the memory of a response grows with its answer, as
 * the format requires.  Only choice 0 exists in Responses.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_responses.h"


#define LLM_RSP_MESSAGE    0
#define LLM_RSP_REFUSAL    1            /* a message whose part refuses */
#define LLM_RSP_REASONING  2
#define LLM_RSP_CALL       3


typedef struct {
    int           kind;
    unsigned      done:1;
    char          id[48];
    llm_buf_t     text;     /* the literal's insides: text or arguments */
    llm_buf_t     call;     /* a call: "call_id":…,"name":… */
    llm_buf_t     name;     /* a call: its name, a literal */
} llm_rsp_item_t;


typedef struct {
    unsigned         started:1;
    int              open;         /* the open item, -1: none */
    int              nitems;
    llm_rsp_item_t  *items;
    int             *tool_item;    /* a tool index's item */
    int              ntools;
    long long        seq;          /* the next sequence_number */
    long long        created;
} llm_rsp_state_t;


static int llm_rsp_start(llm_response_t *resp, llm_buf_t *out);
static int llm_rsp_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out);
static int llm_rsp_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out);
static int llm_rsp_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out);
static int llm_rsp_finish(llm_response_t *resp, int choice,
    const char *reason, llm_buf_t *out);
static int llm_rsp_end(llm_response_t *resp, llm_buf_t *out);
static int llm_rsp_error(llm_response_t *resp, llm_buf_t *out);
static void llm_rsp_free(llm_response_t *resp);
static int llm_rsp_relay_error(llm_response_t *resp, llm_buf_t *out);


const llm_writer_t  llm_writer_responses = {
    "openai-responses",
    llm_rsp_start,
    llm_rsp_text,
    llm_rsp_tool,
    llm_rsp_tool_args,
    llm_rsp_finish,
    llm_rsp_end,
    llm_rsp_error,
    llm_rsp_free
};


const llm_writer_t  llm_writer_responses_relay = {
    "openai-responses-relay",
    llm_write_nothing,
    llm_write_no_text,
    llm_write_no_tool,
    llm_write_no_args,
    llm_write_no_finish,
    llm_write_nothing,
    llm_rsp_relay_error,
    NULL
};


static const llm_responses_conf_t  llm_rsp_default_conf = {
    "resp_gateway", "", 0, NULL, 0
};


static const llm_responses_conf_t *
llm_rsp_conf(llm_response_t *resp)
{
    return resp->wconf ? resp->wconf : &llm_rsp_default_conf;
}


static llm_rsp_state_t *
llm_rsp_state(llm_response_t *resp)
{
    llm_rsp_state_t  *st;

    if (resp->wstate == NULL) {
        st = calloc(1, sizeof(llm_rsp_state_t));
        if (st == NULL) {
            return NULL;
        }

        st->open = -1;
        st->created = resp->created ? resp->created : (long long) time(NULL);
        resp->wstate = st;
    }

    return resp->wstate;
}


/* "event: <type>\ndata: {"type":"<type>" — the caller goes on */

static int
llm_rsp_event(llm_buf_t *out, const char *type, size_t len)
{
    if (llm_buf_append_lit(out, "event: ") != LLM_OK
        || llm_buf_append(out, type, len) != LLM_OK
        || llm_buf_append_lit(out, "\ndata: {\"type\":\"") != LLM_OK
        || llm_buf_append(out, type, len) != LLM_OK
        || llm_buf_append_lit(out, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}

#define llm_rsp_event_lit(out, s)  llm_rsp_event(out, s, sizeof(s) - 1)


/* ,"sequence_number":N}\n\n */

static int
llm_rsp_event_end(llm_rsp_state_t *st, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, ",\"sequence_number\":") != LLM_OK
        || llm_buf_append_int(out, st->seq++) != LLM_OK
        || llm_buf_append_lit(out, "}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* ,"item_id":"…","output_index":N */

static int
llm_rsp_item_ref(llm_rsp_state_t *st, int i, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, ",\"item_id\":\"") != LLM_OK
        || llm_buf_append_cstr(out, st->items[i].id) != LLM_OK
        || llm_buf_append_lit(out, "\",\"output_index\":") != LLM_OK
        || llm_buf_append_int(out, i) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_usage(llm_response_t *resp, llm_buf_t *out)
{
    llm_usage_t  *u;

    u = &resp->usage;

    if (llm_buf_append_lit(out, "{\"input_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->prompt_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"input_tokens_details\":"
                                   "{\"cached_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->cached_tokens) != LLM_OK
        || llm_buf_append_lit(out, "},\"output_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->completion_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"output_tokens_details\":"
                                   "{\"reasoning_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->reasoning_tokens) != LLM_OK
        || llm_buf_append_lit(out, "},\"total_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->total_tokens
                                   ? u->total_tokens
                                   : u->prompt_tokens + u->completion_tokens)
           != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the whole text of an item's part, or its arguments, as a literal */

static int
llm_rsp_literal(llm_rsp_item_t *it, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "\"") != LLM_OK
        || llm_buf_append(out, it->text.data, it->text.len) != LLM_OK
        || llm_buf_append_lit(out, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a message's part: {"type":"output_text","text":…} */

static int
llm_rsp_part(llm_rsp_item_t *it, int empty, llm_buf_t *out)
{
    if (it->kind == LLM_RSP_REFUSAL) {
        if (llm_buf_append_lit(out, "{\"type\":\"refusal\",\"refusal\":")
            != LLM_OK
            || (empty ? llm_buf_append_lit(out, "\"\"")
                      : llm_rsp_literal(it, out)) != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_buf_append_lit(out, "{\"type\":\"output_text\",\"text\":")
        != LLM_OK
        || (empty ? llm_buf_append_lit(out, "\"\"")
                  : llm_rsp_literal(it, out)) != LLM_OK
        || llm_buf_append_lit(out, ",\"annotations\":[],\"logprobs\":[]}")
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* an output item: as added (empty), or as it stands */

static int
llm_rsp_item(llm_rsp_item_t *it, int added, llm_buf_t *out)
{
    const char  *status;

    status = added ? "in_progress" : it->done ? "completed" : "incomplete";

    if (llm_buf_append_lit(out, "{\"id\":\"") != LLM_OK
        || llm_buf_append_cstr(out, it->id) != LLM_OK)
    {
        return LLM_ERROR;
    }

    switch (it->kind) {

    case LLM_RSP_REASONING:
        if (llm_buf_append_lit(out, "\",\"type\":\"reasoning\","
                                    "\"summary\":[") != LLM_OK
            || (!added
                && (llm_buf_append_lit(out, "{\"type\":\"summary_text\","
                                            "\"text\":") != LLM_OK
                    || llm_rsp_literal(it, out) != LLM_OK
                    || llm_buf_append_lit(out, "}") != LLM_OK))
            || llm_buf_append_lit(out, "]}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;

    case LLM_RSP_CALL:
        if (llm_buf_append_lit(out, "\",\"type\":\"function_call\","
                                    "\"status\":\"") != LLM_OK
            || llm_buf_append_cstr(out, status) != LLM_OK
            || llm_buf_append_lit(out, "\",") != LLM_OK
            || llm_buf_append(out, it->call.data, it->call.len) != LLM_OK
            || llm_buf_append_lit(out, ",\"arguments\":") != LLM_OK
            || (added ? llm_buf_append_lit(out, "\"\"")
                      : llm_rsp_literal(it, out)) != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_buf_append_lit(out, "\",\"type\":\"message\",\"status\":\"")
        != LLM_OK
        || llm_buf_append_cstr(out, status) != LLM_OK
        || llm_buf_append_lit(out, "\",\"role\":\"assistant\",\"content\":[")
           != LLM_OK
        || (!added && llm_rsp_part(it, 0, out) != LLM_OK)
        || llm_buf_append_lit(out, "]}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the response object: status, its error, the output so far, usage */

static int
llm_rsp_object(llm_response_t *resp, llm_rsp_state_t *st,
    const char *status, llm_buf_t *out)
{
    int                          i, final;
    const llm_responses_conf_t  *conf;

    conf = llm_rsp_conf(resp);
    final = strcmp(status, "in_progress") != 0;

    if (llm_buf_append_lit(out, "{\"id\":") != LLM_OK
        || llm_buf_append_json_string(out, conf->id, strlen(conf->id))
           != LLM_OK
        || llm_buf_append_lit(out, ",\"object\":\"response\","
                                   "\"created_at\":") != LLM_OK
        || llm_buf_append_int(out, st->created) != LLM_OK
        || llm_buf_append_lit(out, ",\"status\":\"") != LLM_OK
        || llm_buf_append_cstr(out, status) != LLM_OK
        || llm_buf_append_lit(out, "\",\"error\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (strcmp(status, "failed") == 0) {
        if (llm_buf_append_lit(out, "{\"code\":") != LLM_OK
            || llm_buf_append_cstr(out, resp->error.status == 429
                                        ? "\"rate_limit_exceeded\""
                                        : "\"server_error\"") != LLM_OK
            || llm_buf_append_lit(out, ",\"message\":") != LLM_OK
            || llm_buf_append_json_string(out, resp->error.message,
                                          strlen(resp->error.message))
               != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_lit(out, "null") != LLM_OK) {
        return LLM_ERROR;
    }

    if (llm_buf_append_lit(out, ",\"incomplete_details\":") != LLM_OK
        || (strcmp(status, "incomplete") == 0
            ? (strcmp(resp->finish_reason, "content_filter") == 0
               ? llm_buf_append_lit(out, "{\"reason\":\"content_filter\"}")
               : llm_buf_append_lit(out, "{\"reason\":"
                                         "\"max_output_tokens\"}"))
            : llm_buf_append_lit(out, "null")) != LLM_OK
        || llm_buf_append_lit(out, ",\"model\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->client_model,
                                      strlen(resp->client_model)) != LLM_OK
        || llm_buf_append_lit(out, ",\"output\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    for (i = 0; final && i < st->nitems; i++) {
        if ((i && llm_buf_append_lit(out, ",") != LLM_OK)
            || llm_rsp_item(&st->items[i], 0, out) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (llm_buf_append_lit(out, "]") != LLM_OK
        || (conf->echo_len
            && (llm_buf_append_lit(out, ",") != LLM_OK
                || llm_buf_append(out, conf->echo, conf->echo_len)
                   != LLM_OK))
        || llm_buf_append_lit(out, ",\"usage\":") != LLM_OK
        || (final ? llm_rsp_usage(resp, out)
                  : llm_buf_append_lit(out, "null")) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* response.created and the like: the object whole */

static int
llm_rsp_lifecycle(llm_response_t *resp, llm_rsp_state_t *st,
    const char *type, const char *status, llm_buf_t *out)
{
    if (llm_rsp_event(out, type, strlen(type)) != LLM_OK
        || llm_buf_append_lit(out, ",\"response\":") != LLM_OK
        || llm_rsp_object(resp, st, status, out) != LLM_OK
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_start(llm_response_t *resp, llm_buf_t *out)
{
    llm_rsp_state_t  *st;

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    if (resp->whole || st->started) {
        return LLM_OK;
    }

    st->started = 1;

    if (llm_rsp_lifecycle(resp, st, "response.created", "in_progress", out)
        != LLM_OK
        || llm_rsp_lifecycle(resp, st, "response.in_progress", "in_progress",
                             out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the open item's done events */

static int
llm_rsp_close(llm_response_t *resp, llm_rsp_state_t *st, llm_buf_t *out)
{
    int              i;
    llm_rsp_item_t  *it;

    i = st->open;

    if (i < 0) {
        return LLM_OK;
    }

    st->open = -1;
    it = &st->items[i];
    it->done = 1;

    if (resp->whole) {
        return LLM_OK;
    }

    switch (it->kind) {

    case LLM_RSP_REASONING:
        if (llm_rsp_event_lit(out, "response.reasoning_summary_text.done")
            != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"summary_index\":0,\"text\":")
               != LLM_OK
            || llm_rsp_literal(it, out) != LLM_OK
            || llm_rsp_event_end(st, out) != LLM_OK
            || llm_rsp_event_lit(out, "response.reasoning_summary_part.done")
               != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"summary_index\":0,\"part\":"
                                       "{\"type\":\"summary_text\","
                                       "\"text\":") != LLM_OK
            || llm_rsp_literal(it, out) != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK
            || llm_rsp_event_end(st, out) != LLM_OK)
        {
            return LLM_ERROR;
        }

        break;

    case LLM_RSP_CALL:
        if (llm_rsp_event_lit(out, "response.function_call_arguments.done")
            != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"name\":") != LLM_OK
            || llm_buf_append(out, it->name.data, it->name.len) != LLM_OK
            || llm_buf_append_lit(out, ",\"arguments\":") != LLM_OK
            || llm_rsp_literal(it, out) != LLM_OK
            || llm_rsp_event_end(st, out) != LLM_OK)
        {
            return LLM_ERROR;
        }

        break;

    default:
        if ((it->kind == LLM_RSP_REFUSAL
             ? llm_rsp_event_lit(out, "response.refusal.done")
             : llm_rsp_event_lit(out, "response.output_text.done")) != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_cstr(out, it->kind == LLM_RSP_REFUSAL
                                        ? ",\"content_index\":0,\"refusal\":"
                                        : ",\"content_index\":0,\"text\":")
               != LLM_OK
            || llm_rsp_literal(it, out) != LLM_OK
            || (it->kind != LLM_RSP_REFUSAL
                && llm_buf_append_lit(out, ",\"logprobs\":[]") != LLM_OK)
            || llm_rsp_event_end(st, out) != LLM_OK
            || llm_rsp_event_lit(out, "response.content_part.done") != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"content_index\":0,\"part\":")
               != LLM_OK
            || llm_rsp_part(it, 0, out) != LLM_OK
            || llm_rsp_event_end(st, out) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (llm_rsp_event_lit(out, "response.output_item.done") != LLM_OK
        || llm_buf_append_lit(out, ",\"output_index\":") != LLM_OK
        || llm_buf_append_int(out, i) != LLM_OK
        || llm_buf_append_lit(out, ",\"item\":") != LLM_OK
        || llm_rsp_item(it, 0, out) != LLM_OK
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a new item, the open one closed; its added events in a stream */

static llm_rsp_item_t *
llm_rsp_open(llm_response_t *resp, llm_rsp_state_t *st, int kind,
    llm_buf_t *out)
{
    const char       *id, *prefix;
    llm_rsp_item_t   *it;

    if ((!resp->whole && llm_rsp_start(resp, out) != LLM_OK)
        || llm_rsp_close(resp, st, out) != LLM_OK)
    {
        return NULL;
    }

    it = realloc(st->items, (st->nitems + 1) * sizeof(llm_rsp_item_t));
    if (it == NULL) {
        return NULL;
    }

    st->items = it;
    it = &st->items[st->nitems];
    memset(it, 0, sizeof(llm_rsp_item_t));
    it->kind = kind;

    /* the item ids: the response's, with the item's place */

    id = llm_rsp_conf(resp)->id;
    id += (strncmp(id, "resp_", 5) == 0) ? 5 : 0;
    prefix = (kind == LLM_RSP_CALL) ? "fc" : (kind == LLM_RSP_REASONING)
             ? "rs" : "msg";

    snprintf(it->id, sizeof(it->id), "%s_%.32s%d", prefix, id, st->nitems);

    st->open = st->nitems++;

    return it;
}


/* the added events of a new item (a call's are its caller's) */

static int
llm_rsp_added(llm_rsp_state_t *st, llm_rsp_item_t *it, llm_buf_t *out)
{
    int  i;

    i = st->open;

    if (llm_rsp_event_lit(out, "response.output_item.added") != LLM_OK
        || llm_buf_append_lit(out, ",\"output_index\":") != LLM_OK
        || llm_buf_append_int(out, i) != LLM_OK
        || llm_buf_append_lit(out, ",\"item\":") != LLM_OK
        || llm_rsp_item(it, 1, out) != LLM_OK
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (it->kind == LLM_RSP_CALL) {
        return LLM_OK;
    }

    if (it->kind == LLM_RSP_REASONING) {
        if (llm_rsp_event_lit(out, "response.reasoning_summary_part.added")
            != LLM_OK
            || llm_rsp_item_ref(st, i, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"summary_index\":0,\"part\":"
                                       "{\"type\":\"summary_text\","
                                       "\"text\":\"\"}") != LLM_OK
            || llm_rsp_event_end(st, out) != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_rsp_event_lit(out, "response.content_part.added") != LLM_OK
        || llm_rsp_item_ref(st, i, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"content_index\":0,\"part\":")
           != LLM_OK
        || llm_rsp_part(it, 1, out) != LLM_OK
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    int               kind;
    llm_rsp_state_t  *st;
    llm_rsp_item_t   *it;

    if (choice != 0) {
        return LLM_OK;
    }

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    kind = (part == LLM_PART_REASONING) ? LLM_RSP_REASONING
           : (part == LLM_PART_REFUSAL) ? LLM_RSP_REFUSAL : LLM_RSP_MESSAGE;

    if (st->open >= 0 && st->items[st->open].kind == kind) {
        it = &st->items[st->open];

    } else {
        it = llm_rsp_open(resp, st, kind, out);

        if (it == NULL || (!resp->whole && llm_rsp_added(st, it, out)
                                           != LLM_OK))
        {
            return LLM_ERROR;
        }
    }

    if (llm_buf_append(&it->text, s + 1, n - 2) != LLM_OK) {
        return LLM_ERROR;
    }

    if (resp->whole) {
        return LLM_OK;
    }

    if (llm_buf_reserve(out, n + 160) != LLM_OK
        || (kind == LLM_RSP_REASONING
            ? llm_rsp_event_lit(out, "response.reasoning_summary_text.delta")
            : kind == LLM_RSP_REFUSAL
              ? llm_rsp_event_lit(out, "response.refusal.delta")
              : llm_rsp_event_lit(out, "response.output_text.delta"))
           != LLM_OK
        || llm_rsp_item_ref(st, st->open, out) != LLM_OK
        || llm_buf_append_cstr(out, kind == LLM_RSP_REASONING
                                    ? ",\"summary_index\":0,\"delta\":"
                                    : ",\"content_index\":0,\"delta\":")
           != LLM_OK
        || llm_buf_append(out, s, n) != LLM_OK
        || (kind == LLM_RSP_MESSAGE
            && llm_buf_append_lit(out, ",\"logprobs\":[]") != LLM_OK)
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_args_delta(llm_rsp_state_t *st, int i, const char *s, size_t n,
    llm_buf_t *out)
{
    if (llm_buf_reserve(out, n + 160) != LLM_OK
        || llm_rsp_event_lit(out, "response.function_call_arguments.delta")
           != LLM_OK
        || llm_rsp_item_ref(st, i, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"delta\":") != LLM_OK
        || llm_buf_append(out, s, n) != LLM_OK
        || llm_rsp_event_end(st, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out)
{
    llm_rsp_state_t  *st;
    llm_rsp_item_t   *it;

    if (choice != 0) {
        return LLM_OK;
    }

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    it = llm_rsp_open(resp, st, LLM_RSP_CALL, out);

    if (it == NULL
        || llm_buf_append_lit(&it->call, "\"call_id\":") != LLM_OK
        || llm_buf_append(&it->call, tool->id, tool->id_len) != LLM_OK
        || llm_buf_append_lit(&it->call, ",\"name\":") != LLM_OK
        || llm_buf_append(&it->call, tool->name, tool->name_len) != LLM_OK
        || llm_buf_append(&it->name, tool->name, tool->name_len) != LLM_OK
        || llm_tool_map_set(&st->tool_item, &st->ntools, index, st->open)
           != LLM_OK
        || (tool->args
            && llm_buf_append(&it->text, tool->args + 1, tool->args_len - 2)
               != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (resp->whole) {
        return LLM_OK;
    }

    /* added with no arguments, which follow as a delta */
    if (llm_rsp_added(st, it, out) != LLM_OK) {
        return LLM_ERROR;
    }

    if (tool->args && tool->args_len > 2) {
        return llm_rsp_args_delta(st, st->open, tool->args, tool->args_len,
                                  out);
    }

    return LLM_OK;
}


static int
llm_rsp_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out)
{
    int               i;
    llm_rsp_state_t  *st;

    st = resp->wstate;

    if (choice != 0 || st == NULL || index < 0 || index >= st->ntools
        || st->tool_item[index] < 0 || n <= 2)
    {
        return LLM_OK;
    }

    i = st->tool_item[index];

    if (llm_buf_append(&st->items[i].text, s + 1, n - 2) != LLM_OK) {
        return LLM_ERROR;
    }

    /* arguments of a call already closed are kept, not streamed */
    if (resp->whole || i != st->open) {
        return LLM_OK;
    }

    return llm_rsp_args_delta(st, i, s, n, out);
}


static int
llm_rsp_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out)
{
    llm_rsp_state_t  *st;

    if (choice != 0) {
        return LLM_OK;
    }

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    return llm_rsp_close(resp, st, out);
}


static const char *
llm_rsp_status(llm_response_t *resp)
{
    if (strcmp(resp->finish_reason, "length") == 0
        || strcmp(resp->finish_reason, "content_filter") == 0)
    {
        return "incomplete";
    }

    return "completed";
}


static int
llm_rsp_end(llm_response_t *resp, llm_buf_t *out)
{
    size_t            mark;
    const char       *status;
    llm_rsp_state_t  *st;

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    mark = out->len;
    status = llm_rsp_status(resp);

    if (resp->whole) {
        if (llm_rsp_close(resp, st, out) != LLM_OK
            || llm_rsp_object(resp, st, status, out) != LLM_OK)
        {
            goto failed;
        }

        return LLM_OK;
    }

    if (llm_rsp_start(resp, out) != LLM_OK
        || llm_rsp_close(resp, st, out) != LLM_OK
        || llm_rsp_lifecycle(resp, st, strcmp(status, "completed") == 0
                                       ? "response.completed"
                                       : "response.incomplete",
                             status, out) != LLM_OK)
    {
        goto failed;
    }

    return LLM_OK;

failed:

    out->len = mark;

    return LLM_ERROR;
}


/* a stream's failure: response.failed with the output so far */

static int
llm_rsp_error(llm_response_t *resp, llm_buf_t *out)
{
    llm_rsp_state_t  *st;

    if (resp->whole) {
        /* the caller answers with the error itself */
        return LLM_OK;
    }

    st = llm_rsp_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    /* the open item stays "incomplete": it is not done */
    st->open = -1;

    if (llm_rsp_start(resp, out) != LLM_OK
        || llm_rsp_lifecycle(resp, st, "response.failed", "failed", out)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static void
llm_rsp_free(llm_response_t *resp)
{
    int               i;
    llm_rsp_state_t  *st;

    st = resp->wstate;

    if (st == NULL) {
        return;
    }

    for (i = 0; st->items && i < st->nitems; i++) {
        llm_buf_free(&st->items[i].text);
        llm_buf_free(&st->items[i].call);
        llm_buf_free(&st->items[i].name);
    }

    free(st->items);
    free(st->tool_item);
    free(st);
    resp->wstate = NULL;
}


/*
 * The assistant's turn as internal-form messages, for a response store:
 * ,{"role":"assistant","content":…,"tool_calls":[…]}
 */

int
llm_responses_turn(llm_response_t *resp, llm_buf_t *out)
{
    int               i, text, calls;
    llm_rsp_item_t   *it;
    llm_rsp_state_t  *st;

    st = resp->wstate;

    if (st == NULL || resp->writer != &llm_writer_responses) {
        return LLM_DECLINED;
    }

    if (llm_buf_append_lit(out, ",{\"role\":\"assistant\",\"content\":")
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    text = 0;

    for (i = 0; i < st->nitems; i++) {
        it = &st->items[i];

        if (it->kind != LLM_RSP_MESSAGE && it->kind != LLM_RSP_REFUSAL) {
            continue;
        }

        if (llm_buf_append_cstr(out, text++ ? "" : "\"") != LLM_OK
            || llm_buf_append(out, it->text.data, it->text.len) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (llm_buf_append_cstr(out, text ? "\"" : "null") != LLM_OK) {
        return LLM_ERROR;
    }

    calls = 0;

    for (i = 0; i < st->nitems; i++) {
        it = &st->items[i];

        if (it->kind != LLM_RSP_CALL) {
            continue;
        }

        /* "call_id":X,"name":Y → "id":X,"type":"function","function":… */
        if (llm_buf_append_cstr(out, calls++ ? ",{\"id\":"
                                             : ",\"tool_calls\":[{\"id\":")
            != LLM_OK
            || llm_buf_append(out, it->call.data + sizeof("\"call_id\":") - 1,
                              it->call.len - (sizeof("\"call_id\":") - 1)
                              - (sizeof(",\"name\":") - 1) - it->name.len)
               != LLM_OK
            || llm_buf_append_lit(out, ",\"type\":\"function\",\"function\":"
                                       "{\"name\":") != LLM_OK
            || llm_buf_append(out, it->name.data, it->name.len) != LLM_OK
            || llm_buf_append_lit(out, ",\"arguments\":") != LLM_OK
            || llm_rsp_literal(it, out) != LLM_OK
            || llm_buf_append_lit(out, "}}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return llm_buf_append_cstr(out, calls ? "]}" : "}");
}


/*
 * The relay's failure: OpenAI's response is not the gateway's to finish,
 * so an "error" event ends it (flat and nested, as clients read both).
 */

static int
llm_rsp_relay_error(llm_response_t *resp, llm_buf_t *out)
{
    size_t  len;

    if (resp->whole) {
        return LLM_OK;
    }

    len = strlen(resp->error.message);

    if (llm_buf_append_lit(out, "event: error\ndata: {\"type\":\"error\","
                                "\"code\":\"") != LLM_OK
        || llm_buf_append_cstr(out, resp->error.code[0] ? resp->error.code
                                                        : "server_error")
           != LLM_OK
        || llm_buf_append_lit(out, "\",\"message\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->error.message, len)
           != LLM_OK
        || llm_buf_append_lit(out, ",\"param\":null,\"error\":"
                                   "{\"type\":\"server_error\",\"code\":\"")
           != LLM_OK
        || llm_buf_append_cstr(out, resp->error.code[0] ? resp->error.code
                                                        : "server_error")
           != LLM_OK
        || llm_buf_append_lit(out, "\",\"message\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->error.message, len)
           != LLM_OK
        || llm_buf_append_lit(out, ",\"param\":null}}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
