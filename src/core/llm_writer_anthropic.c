/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Anthropic Messages writer: the neutral events as Messages.
 *
 *   - a stream: named events, as the SDKs require.  message_start (with
 *     the input tokens when the provider said them by the first piece of
 *     the answer, else 0) and a ping; each run of one kind of text is a
 *     content block (content and refusals as "text", reasoning as
 *     "thinking"), each tool call a "tool_use" block whose arguments go
 *     as input_json_delta, exactly the provider's escaped bytes; then
 *     message_delta with stop_reason and the whole usage (input tokens
 *     repeated: the SDKs overwrite with it), message_stop.  A failure is
 *     "event: error" and the end of the stream, as Anthropic does.
 *   - a whole response: the blocks are gathered in order and end writes
 *     one "message" object; a tool's arguments become its "input" object.
 *
 * Only choice 0 exists in Messages: other choices are not rendered.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json.h"
#include "llm_messages.h"


#define LLM_ANT_NONE      0             /* the open block's kind */
#define LLM_ANT_TEXT      1
#define LLM_ANT_THINKING  2
#define LLM_ANT_TOOL      3


typedef struct {
    int           kind;
    llm_buf_t     text;       /* text: the literals' insides; tool: args */
    llm_buf_t     head;       /* tool: "id":…,"name":… */
} llm_ant_block_t;


typedef struct {
    unsigned          started:1;    /* message_start is written */
    int               open;         /* the open block's kind */
    int               nblocks;      /* blocks so far */
    int              *tool_block;   /* a tool index's block */
    int               ntools;

    /* whole */
    llm_ant_block_t  *blocks;
} llm_ant_state_t;


static int llm_ant_start(llm_response_t *resp, llm_buf_t *out);
static int llm_ant_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out);
static int llm_ant_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out);
static int llm_ant_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out);
static int llm_ant_finish(llm_response_t *resp, int choice,
    const char *reason, llm_buf_t *out);
static int llm_ant_end(llm_response_t *resp, llm_buf_t *out);
static int llm_ant_error(llm_response_t *resp, llm_buf_t *out);
static void llm_ant_free(llm_response_t *resp);


const llm_writer_t  llm_writer_anthropic = {
    "anthropic-messages",
    llm_ant_start,
    llm_ant_text,
    llm_ant_tool,
    llm_ant_tool_args,
    llm_ant_finish,
    llm_ant_end,
    llm_ant_error,
    llm_ant_free
};


const llm_writer_t  llm_writer_anthropic_relay = {
    "anthropic-relay",
    llm_write_nothing,
    llm_write_no_text,
    llm_write_no_tool,
    llm_write_no_args,
    llm_write_no_finish,
    llm_write_nothing,
    llm_ant_error,
    NULL
};


static llm_ant_state_t *
llm_ant_state(llm_response_t *resp)
{
    if (resp->wstate == NULL) {
        resp->wstate = calloc(1, sizeof(llm_ant_state_t));
    }

    return resp->wstate;
}


/* Anthropic's stop reasons for the finish reasons */

static const char *
llm_ant_stop_reason(const char *finish)
{
    if (strcmp(finish, "length") == 0) {
        return "max_tokens";
    }

    if (strcmp(finish, "tool_calls") == 0) {
        return "tool_use";
    }

    if (strcmp(finish, "content_filter") == 0) {
        return "refusal";
    }

    return "end_turn";
}


/* "input_tokens":…,"cache_read_input_tokens":…,"output_tokens":… */

static int
llm_ant_usage(llm_response_t *resp, int output, llm_buf_t *out)
{
    long long     input;
    llm_usage_t  *u;

    u = &resp->usage;

    /* OpenAI counts cached tokens in the prompt, Anthropic apart */
    input = u->prompt_tokens - u->cached_tokens;

    if (llm_buf_append_lit(out, "{\"input_tokens\":") != LLM_OK
        || llm_buf_append_int(out, input > 0 ? input : 0) != LLM_OK
        || llm_buf_append_lit(out, ",\"cache_creation_input_tokens\":0,"
                                   "\"cache_read_input_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->cached_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"output_tokens\":") != LLM_OK
        || llm_buf_append_int(out, output ? u->completion_tokens : 0)
           != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* {"id":"msg_…","type":"message","role":"assistant","model":… */

static int
llm_ant_head(llm_response_t *resp, llm_buf_t *out)
{
    char         id[sizeof(resp->id) + 4];
    const char  *p;

    /* Anthropic's ids begin "msg_": the dialects' "chatcmpl-" goes */

    p = resp->id;

    if (strncmp(p, "chatcmpl-", 9) == 0) {
        p += 9;
    }

    snprintf(id, sizeof(id), "%s%s", strncmp(p, "msg_", 4) == 0 ? "" : "msg_",
             p);

    if (llm_buf_append_lit(out, "{\"id\":") != LLM_OK
        || llm_buf_append_json_string(out, id, strlen(id)) != LLM_OK
        || llm_buf_append_lit(out, ",\"type\":\"message\","
                                   "\"role\":\"assistant\",\"model\":")
           != LLM_OK
        || llm_buf_append_json_string(out, resp->client_model,
                                      strlen(resp->client_model)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_ant_event(llm_buf_t *out, const char *name, size_t len)
{
    if (llm_buf_append_lit(out, "event: ") != LLM_OK
        || llm_buf_append(out, name, len) != LLM_OK
        || llm_buf_append_lit(out, "\ndata: ") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}

#define llm_ant_event_lit(out, s)  llm_ant_event(out, s, sizeof(s) - 1)


static int
llm_ant_message_start(llm_response_t *resp, llm_ant_state_t *st,
    llm_buf_t *out)
{
    if (st->started) {
        return LLM_OK;
    }

    st->started = 1;

    if (llm_ant_event_lit(out, "message_start") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"message_start\","
                                   "\"message\":") != LLM_OK
        || llm_ant_head(resp, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"content\":[],\"stop_reason\":null,"
                                   "\"stop_sequence\":null,\"usage\":")
           != LLM_OK
        || llm_ant_usage(resp, 0, out) != LLM_OK
        || llm_buf_append_lit(out, "}}\n\n") != LLM_OK
        || llm_ant_event_lit(out, "ping") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"ping\"}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_ant_start(llm_response_t *resp, llm_buf_t *out)
{
    /* message_start waits for the first piece: the usage may come first */

    return llm_ant_state(resp) ? LLM_OK : LLM_ERROR;
}


static int
llm_ant_block_stop(llm_ant_state_t *st, llm_buf_t *out)
{
    if (st->open == LLM_ANT_NONE) {
        return LLM_OK;
    }

    st->open = LLM_ANT_NONE;

    if (llm_ant_event_lit(out, "content_block_stop") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"content_block_stop\","
                                   "\"index\":") != LLM_OK
        || llm_buf_append_int(out, st->nblocks - 1) != LLM_OK
        || llm_buf_append_lit(out, "}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * content_block_delta of a block: delta is the delta's opening, up to its
 * string member's name; s the provider's literal
 */

static int
llm_ant_delta(llm_buf_t *out, int block, const char *delta, size_t len,
    const char *s, size_t n)
{
    if (llm_buf_reserve(out, n + len + 96) != LLM_OK
        || llm_ant_event_lit(out, "content_block_delta") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"content_block_delta\","
                                   "\"index\":") != LLM_OK
        || llm_buf_append_int(out, block) != LLM_OK
        || llm_buf_append(out, delta, len) != LLM_OK
        || llm_buf_append(out, s, n) != LLM_OK
        || llm_buf_append_lit(out, "}}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}

#define llm_ant_delta_lit(out, block, delta, s, n)                           \
    llm_ant_delta(out, block, delta, sizeof(delta) - 1, s, n)

#define llm_ant_args_delta(out, block, s, n)                                 \
    llm_ant_delta_lit(out, block, ",\"delta\":{\"type\":\"input_json_delta\","   \
                      "\"partial_json\":", s, n)


/* content_block_start of a block, up to its "content_block": */

static int
llm_ant_block_start(llm_buf_t *out, int block)
{
    if (llm_ant_event_lit(out, "content_block_start") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"content_block_start\","
                                   "\"index\":") != LLM_OK
        || llm_buf_append_int(out, block) != LLM_OK
        || llm_buf_append_lit(out, ",\"content_block\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a new block: the stream's content_block_start, or the whole's slot */

static llm_ant_block_t *
llm_ant_block_new(llm_response_t *resp, llm_ant_state_t *st, int kind,
    llm_buf_t *out, int *rc)
{
    llm_ant_block_t  *b;

    *rc = LLM_ERROR;

    if (!resp->whole) {
        if (llm_ant_block_stop(st, out) != LLM_OK) {
            return NULL;
        }

        st->open = kind;
        st->nblocks++;
        *rc = LLM_OK;

        return NULL;
    }

    b = realloc(st->blocks, (st->nblocks + 1) * sizeof(llm_ant_block_t));
    if (b == NULL) {
        return NULL;
    }

    st->blocks = b;
    b = &st->blocks[st->nblocks++];
    memset(b, 0, sizeof(llm_ant_block_t));
    b->kind = kind;
    st->open = kind;
    *rc = LLM_OK;

    return b;
}


static int
llm_ant_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    int               kind, rc;
    llm_ant_state_t  *st;
    llm_ant_block_t  *b;

    if (choice != 0) {
        return LLM_OK;
    }

    st = llm_ant_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    kind = (part == LLM_PART_REASONING) ? LLM_ANT_THINKING : LLM_ANT_TEXT;

    if (resp->whole) {
        if (st->open != kind) {
            if (llm_ant_block_new(resp, st, kind, out, &rc) == NULL) {
                return rc;
            }
        }

        b = &st->blocks[st->nblocks - 1];

        return llm_buf_append(&b->text, s + 1, n - 2);
    }

    if (llm_ant_message_start(resp, st, out) != LLM_OK) {
        return LLM_ERROR;
    }

    if (st->open != kind) {
        llm_ant_block_new(resp, st, kind, out, &rc);

        if (rc != LLM_OK
            || llm_ant_block_start(out, st->nblocks - 1) != LLM_OK
            || (kind == LLM_ANT_TEXT
                ? llm_buf_append_lit(out, "{\"type\":\"text\",\"text\":\"\"}}"
                                          "\n\n")
                : llm_buf_append_lit(out, "{\"type\":\"thinking\","
                                          "\"thinking\":\"\","
                                          "\"signature\":\"\"}}\n\n"))
               != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return (kind == LLM_ANT_TEXT)
           ? llm_ant_delta_lit(out, st->nblocks - 1,
                               ",\"delta\":{\"type\":\"text_delta\",\"text\":",
                               s, n)
           : llm_ant_delta_lit(out, st->nblocks - 1,
                               ",\"delta\":{\"type\":\"thinking_delta\","
                               "\"thinking\":", s, n);
}


static int
llm_ant_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out)
{
    int               rc;
    llm_ant_state_t  *st;
    llm_ant_block_t  *b;

    if (choice != 0) {
        return LLM_OK;
    }

    st = llm_ant_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    if (resp->whole) {
        b = llm_ant_block_new(resp, st, LLM_ANT_TOOL, out, &rc);

        if (b == NULL
            || llm_buf_append_lit(&b->head, "\"id\":") != LLM_OK
            || llm_buf_append(&b->head, tool->id, tool->id_len) != LLM_OK
            || llm_buf_append_lit(&b->head, ",\"name\":") != LLM_OK
            || llm_buf_append(&b->head, tool->name, tool->name_len)
               != LLM_OK
            || (tool->args
                && llm_buf_append(&b->text, tool->args + 1,
                                  tool->args_len - 2) != LLM_OK)
            || llm_tool_map_set(&st->tool_block, &st->ntools, index,
                                st->nblocks - 1) != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_ant_message_start(resp, st, out) != LLM_OK) {
        return LLM_ERROR;
    }

    llm_ant_block_new(resp, st, LLM_ANT_TOOL, out, &rc);

    if (rc != LLM_OK
        || llm_tool_map_set(&st->tool_block, &st->ntools, index,
                                st->nblocks - 1) != LLM_OK
        || llm_buf_reserve(out, tool->id_len + tool->name_len + 160)
           != LLM_OK
        || llm_ant_block_start(out, st->nblocks - 1) != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"tool_use\",\"id\":")
           != LLM_OK
        || llm_buf_append(out, tool->id, tool->id_len) != LLM_OK
        || llm_buf_append_lit(out, ",\"name\":") != LLM_OK
        || llm_buf_append(out, tool->name, tool->name_len) != LLM_OK
        || llm_buf_append_lit(out, ",\"input\":{}}}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (tool->args && tool->args_len > 2) {
        return llm_ant_args_delta(out, st->nblocks - 1, tool->args,
                                  tool->args_len);
    }

    return LLM_OK;
}


static int
llm_ant_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out)
{
    int               block;
    llm_ant_state_t  *st;

    st = resp->wstate;

    if (choice != 0 || st == NULL || index < 0 || index >= st->ntools
        || st->tool_block[index] < 0 || n <= 2)
    {
        return LLM_OK;
    }

    block = st->tool_block[index];

    if (resp->whole) {
        return llm_buf_append(&st->blocks[block].text, s + 1, n - 2);
    }

    return llm_ant_args_delta(out, block, s, n);
}


static int
llm_ant_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out)
{
    /* kept in resp->finish_reason, written at the end */
    return LLM_OK;
}


/* a whole tool's "input": its arguments when they are an object */

static int
llm_ant_input(llm_ant_block_t *b, llm_buf_t *out)
{
    int          rc;
    llm_buf_t    lit;
    llm_json_t  *s, *args;

    if (b->text.len == 0) {
        return llm_buf_append_lit(out, "{}");
    }

    memset(&lit, 0, sizeof(llm_buf_t));

    if (llm_buf_append_lit(&lit, "\"") != LLM_OK
        || llm_buf_append(&lit, b->text.data, b->text.len) != LLM_OK
        || llm_buf_append_lit(&lit, "\"") != LLM_OK)
    {
        llm_buf_free(&lit);
        return LLM_ERROR;
    }

    s = llm_json_parse(lit.data, lit.len, NULL);
    args = cJSON_IsString(s) ? llm_json_parse(s->valuestring,
                                              strlen(s->valuestring), NULL)
                             : NULL;

    if (cJSON_IsObject(args)) {
        rc = llm_buf_append_cstr(out, s->valuestring);

    } else {
        /* not an object: kept whole, as a string, rather than lost */
        rc = (llm_buf_append_lit(out, "{\"arguments\":") == LLM_OK
              && llm_buf_append(out, lit.data, lit.len) == LLM_OK
              && llm_buf_append_lit(out, "}") == LLM_OK)
             ? LLM_OK : LLM_ERROR;
    }

    llm_json_free(args);
    llm_json_free(s);
    llm_buf_free(&lit);

    return rc;
}


static int
llm_ant_whole_block(llm_ant_block_t *b, llm_buf_t *out)
{
    switch (b->kind) {

    case LLM_ANT_TEXT:
        if (llm_buf_append_lit(out, "{\"type\":\"text\",\"text\":\"")
            != LLM_OK
            || llm_buf_append(out, b->text.data, b->text.len) != LLM_OK
            || llm_buf_append_lit(out, "\"}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;

    case LLM_ANT_THINKING:
        if (llm_buf_append_lit(out, "{\"type\":\"thinking\",\"thinking\":\"")
            != LLM_OK
            || llm_buf_append(out, b->text.data, b->text.len) != LLM_OK
            || llm_buf_append_lit(out, "\",\"signature\":\"\"}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_buf_append_lit(out, "{\"type\":\"tool_use\",") != LLM_OK
        || llm_buf_append(out, b->head.data, b->head.len) != LLM_OK
        || llm_buf_append_lit(out, ",\"input\":") != LLM_OK
        || llm_ant_input(b, out) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_ant_end(llm_response_t *resp, llm_buf_t *out)
{
    int               i;
    size_t            mark;
    const char       *stop;
    llm_ant_state_t  *st;

    st = llm_ant_state(resp);
    if (st == NULL) {
        return LLM_ERROR;
    }

    mark = out->len;
    stop = llm_ant_stop_reason(resp->finish_reason);

    if (resp->whole) {
        if (llm_ant_head(resp, out) != LLM_OK
            || llm_buf_append_lit(out, ",\"content\":[") != LLM_OK)
        {
            goto failed;
        }

        for (i = 0; i < st->nblocks; i++) {
            if ((i && llm_buf_append_lit(out, ",") != LLM_OK)
                || llm_ant_whole_block(&st->blocks[i], out) != LLM_OK)
            {
                goto failed;
            }
        }

        if (llm_buf_append_lit(out, "],\"stop_reason\":\"") != LLM_OK
            || llm_buf_append_cstr(out, stop) != LLM_OK
            || llm_buf_append_lit(out, "\",\"stop_sequence\":null,"
                                       "\"usage\":") != LLM_OK
            || llm_ant_usage(resp, 1, out) != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK)
        {
            goto failed;
        }

        return LLM_OK;
    }

    if (llm_ant_message_start(resp, st, out) != LLM_OK
        || llm_ant_block_stop(st, out) != LLM_OK
        || llm_ant_event_lit(out, "message_delta") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"message_delta\",\"delta\":"
                                   "{\"stop_reason\":\"") != LLM_OK
        || llm_buf_append_cstr(out, stop) != LLM_OK
        || llm_buf_append_lit(out, "\",\"stop_sequence\":null},\"usage\":")
           != LLM_OK
        || llm_ant_usage(resp, 1, out) != LLM_OK
        || llm_buf_append_lit(out, "}\n\n") != LLM_OK
        || llm_ant_event_lit(out, "message_stop") != LLM_OK
        || llm_buf_append_lit(out, "{\"type\":\"message_stop\"}\n\n")
           != LLM_OK)
    {
        goto failed;
    }

    return LLM_OK;

failed:

    out->len = mark;

    return LLM_ERROR;
}


/* a stream's failure: "event: error", and the stream ends */

static int
llm_ant_error(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->whole) {
        /* the caller answers with the error itself */
        return LLM_OK;
    }

    if (llm_ant_event_lit(out, "error") != LLM_OK
        || llm_messages_error_json(&resp->error, out) != LLM_OK
        || llm_buf_append_lit(out, "\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static void
llm_ant_free(llm_response_t *resp)
{
    int               i;
    llm_ant_state_t  *st;

    st = resp->wstate;

    if (st == NULL) {
        return;
    }

    for (i = 0; st->blocks && i < st->nblocks; i++) {
        llm_buf_free(&st->blocks[i].text);
        llm_buf_free(&st->blocks[i].head);
    }

    free(st->blocks);
    free(st->tool_block);
    free(st);
    resp->wstate = NULL;
}
