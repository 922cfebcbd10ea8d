/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect: the Anthropic Messages API (POST /v1/messages)
 * spoken to OpenAI Chat Completions clients.  This file holds the dialect
 * table and the response side; the request side (and the check) is
 * llm_anthropic_request.c.
 *
 * Response: a Message becomes a chat.completion: text blocks joined as
 * content, thinking blocks as reasoning_content, tool_use blocks as
 * tool_calls in their order (input printed as the arguments string), the
 * JSON tool's input (see llm_anthropic.h) as content.  Server-tool blocks
 * (server_tool_use, *_tool_result) ran at Anthropic and are none of the
 * client's business: dropped, as are redacted_thinking blocks.
 *
 * Stream: events become chat.completion.chunk frames written directly
 * (no cJSON per event: the JSON scanner finds the few members needed, and
 * text, thinking and partial_json strings are copied as their escaped
 * JSON bytes).  Anthropic opens one content block at a time, so the only
 * per-block state is the open block's (its index, kind, OpenAI tool index
 * and whether it got arguments); OpenAI tool indexes count tool_use
 * blocks only.  A tool_use block starts a tool_calls delta with index,
 * id, type, name and arguments ""; each non-empty input_json_delta adds an
 * arguments fragment; a tool that got none gets "{}" at its block's end.
 * The JSON tool streams as content instead.
 *
 * Stream state kept in llm_response_t: id ("chatcmpl-" + the message id;
 * non-empty once the role chunk is out), created, usage, finish_reason,
 * tool_count (client tool calls so far) and the anthropic block.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


static int llm_anthropic_response(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_anthropic_response_tree(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_anthropic_stream_event(llm_response_t *resp,
    const char *event, size_t event_len, const char *data, size_t n,
    llm_buf_t *out);
static int llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out);
static void llm_anthropic_error(int status, const char *p, size_t n,
    llm_error_t *e);
static void llm_anthropic_error_object(llm_json_t *err, int status,
    llm_error_t *e);


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
    llm_anthropic_check
};


/* response */


static const char *
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


static int
llm_anthropic_is(const char *s, const char *lit)
{
    return s != NULL && strcmp(s, lit) == 0;
}


/* 1 if a block is a tool_use of the JSON tool */

static int
llm_anthropic_is_json_tool(llm_json_t *block)
{
    const char  *name;

    name = llm_json_get_str(block, "name");

    return name && strcmp(name, LLM_ANTHROPIC_JSON_TOOL) == 0;
}


/* the response's id ("chatcmpl-" and the message's) and created, once */

static void
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


/* the text of the blocks of one type, in order */

static int
llm_anthropic_blocks_text(llm_response_t *resp, llm_json_t *content,
    const char *type, const char *field, llm_part_e part, llm_buf_t *out)
{
    llm_json_t  *block;
    const char  *t, *s;

    cJSON_ArrayForEach(block, content) {
        t = llm_json_get_str(block, "type");
        s = llm_json_get_str(block, field);

        if (t == NULL || s == NULL || strcmp(t, type) != 0) {
            continue;
        }

        if (llm_event_text_str(resp, 0, part, s, strlen(s), out) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* a block's "input" printed (none: {}), as a JSON string literal */

static int
llm_anthropic_input(llm_json_t *block, llm_buf_t *tmp, llm_buf_t *lit)
{
    llm_json_t  *input;

    llm_buf_reset(tmp);
    llm_buf_reset(lit);

    input = llm_json_get(block, "input");

    if ((input ? llm_json_print(input, tmp)
               : llm_buf_append_lit(tmp, "{}")) != LLM_OK
        || llm_buf_append_json_string(lit, tmp->data, tmp->len) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The content is the JSON tool's input when it was called (alone, so
 * that it parses), else the text blocks; the client's tool_use blocks
 * are tool calls.  *ncalls: how many.
 */

static int
llm_anthropic_message_events(llm_response_t *resp, llm_json_t *content,
    int *ncalls, llm_buf_t *out)
{
    int               rc, json;
    llm_buf_t         tmp, lit, id, name;
    llm_json_t       *block;
    const char       *s;
    llm_tool_event_t  tool;

    memset(&tmp, 0, sizeof(llm_buf_t));
    memset(&lit, 0, sizeof(llm_buf_t));
    memset(&id, 0, sizeof(llm_buf_t));
    memset(&name, 0, sizeof(llm_buf_t));

    rc = LLM_ERROR;
    json = 0;
    *ncalls = 0;

    cJSON_ArrayForEach(block, content) {
        if (!llm_anthropic_is(llm_json_get_str(block, "type"), "tool_use")) {
            continue;
        }

        if (llm_anthropic_input(block, &tmp, &lit) != LLM_OK) {
            goto done;
        }

        if (llm_anthropic_is_json_tool(block)) {
            if (!json
                && llm_event_text(resp, 0, LLM_PART_CONTENT, lit.data,
                                  lit.len, out) != LLM_OK)
            {
                goto done;
            }

            json = 1;
            continue;
        }

        llm_buf_reset(&id);
        llm_buf_reset(&name);

        s = llm_json_get_str(block, "id");

        if (llm_buf_append_json_string(&id, s ? s : "", s ? strlen(s) : 0)
            != LLM_OK)
        {
            goto done;
        }

        s = llm_json_get_str(block, "name");

        if (llm_buf_append_json_string(&name, s ? s : "", s ? strlen(s) : 0)
            != LLM_OK)
        {
            goto done;
        }

        tool.id = id.data;
        tool.id_len = id.len;
        tool.name = name.data;
        tool.name_len = name.len;
        tool.args = lit.data;
        tool.args_len = lit.len;

        if (llm_event_tool(resp, 0, (*ncalls)++, &tool, out) != LLM_OK) {
            goto done;
        }
    }

    if ((!json
         && llm_anthropic_blocks_text(resp, content, "text", "text",
                                      LLM_PART_CONTENT, out) != LLM_OK)
        || llm_anthropic_blocks_text(resp, content, "thinking", "thinking",
                                     LLM_PART_REASONING, out) != LLM_OK)
    {
        goto done;
    }

    rc = LLM_OK;

done:

    llm_buf_free(&tmp);
    llm_buf_free(&lit);
    llm_buf_free(&id);
    llm_buf_free(&name);

    return rc;
}


static void
llm_anthropic_usage(llm_response_t *resp, llm_json_t *usage)
{
    llm_usage_t  *u;

    u = &resp->usage;

    u->cached_tokens = llm_json_get_count(usage, "cache_read_input_tokens");
    u->prompt_tokens = llm_json_get_count(usage, "input_tokens")
                       + u->cached_tokens
                       + llm_json_get_count(usage,
                                            "cache_creation_input_tokens");
    u->completion_tokens = llm_json_get_count(usage, "output_tokens");
    u->reasoning_tokens = llm_json_get_count(
                            llm_json_get_obj(usage, "output_tokens_details"),
                            "thinking_tokens");
    u->total_tokens = u->prompt_tokens + u->completion_tokens;
    u->set = 1;
}


static int
llm_anthropic_response_build(llm_response_t *resp, llm_json_t *j,
    llm_json_t *content, llm_buf_t *out)
{
    int          ncalls;
    const char  *s;

    llm_anthropic_usage(resp, llm_json_get_obj(j, "usage"));

    s = llm_json_get_str(j, "id");
    llm_anthropic_set_id(resp, s, s ? strlen(s) : 0);

    if (llm_event_start(resp, out) != LLM_OK
        || llm_anthropic_message_events(resp, content, &ncalls, out)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    s = llm_json_get_str(j, "stop_reason");
    s = llm_anthropic_finish(s, s ? strlen(s) : 0);

    if (ncalls == 0 && strcmp(s, "tool_calls") == 0) {
        /* no call for the client: the JSON tool's input is the answer */
        s = "stop";
    }

    if (llm_event_finish(resp, 0, s, out) != LLM_OK
        || llm_event_end(resp, out) == LLM_ERROR)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The fast path of a Message: one validating scan finds the members
 * (first occurrence wins, as with cJSON), and the text and thinking
 * blocks are copied as their escaped JSON bytes.  Anything unusual (an
 * error, not a Message, escapes in names or short strings, a \u0000, a
 * number that is not a plain integer, many blocks) is left to the cJSON
 * path: LLM_DECLINED.
 */

#define LLM_ANT_BLOCKS  32

#define LLM_ANT_S_TYPE      0x0001
#define LLM_ANT_S_ID        0x0002
#define LLM_ANT_S_CONTENT   0x0004
#define LLM_ANT_S_STOP      0x0008
#define LLM_ANT_S_USAGE     0x0010
#define LLM_ANT_S_INPUT     0x0020
#define LLM_ANT_S_CREAD     0x0040
#define LLM_ANT_S_CCREATE   0x0080
#define LLM_ANT_S_OUTPUT    0x0100
#define LLM_ANT_S_DETAILS   0x0200
#define LLM_ANT_S_THINKTOK  0x0400
#define LLM_ANT_S_B_TYPE    0x0800
#define LLM_ANT_S_B_TEXT    0x1000
#define LLM_ANT_S_B_THINK   0x2000


typedef struct {
    const char   *start;            /* a JSON string, quotes too */
    const char   *end;
    int           thinking;
} llm_anthropic_block_t;


typedef struct {
    unsigned      seen;             /* LLM_ANT_S_* */
    unsigned      bad:1;            /* leave it to cJSON */
    unsigned      message:1;        /* type is "message" */
    unsigned      content:1;        /* content is an array */
    const char   *id;               /* bytes, no quotes; NULL: none */
    size_t        id_len;
    const char   *stop;             /* stop_reason, no quotes */
    size_t        stop_len;
    long long     input;            /* usage numbers, -1: none */
    long long     cache_read;
    long long     cache_creation;
    long long     output;
    long long     thinking_tokens;
    const char   *b_type;           /* the current block's, quotes too */
    const char   *b_type_end;
    const char   *b_text;
    const char   *b_text_end;
    const char   *b_think;
    const char   *b_think_end;
    size_t        nblocks;
    llm_anthropic_block_t  blocks[LLM_ANT_BLOCKS];
} llm_anthropic_msg_t;


/* 1 if the first time: marks it seen */

static int
llm_anthropic_first(llm_anthropic_msg_t *sc, unsigned flag)
{
    if (sc->seen & flag) {
        return 0;
    }

    sc->seen |= flag;

    return 1;
}


static long long
llm_anthropic_msg_int(llm_anthropic_msg_t *sc, llm_json_type_e type,
    const char *start, const char *end)
{
    long long  v;

    if (type != LLM_JSON_NUMBER) {
        return -1;
    }

    v = llm_json_scan_int(start, end);

    if (v < 0 || v > 1000000000000000LL) {
        /* a fraction, an exponent, a sign, too big: as cJSON does */
        sc->bad = 1;
    }

    return v;
}


/* 0 if the string's bytes [s, e) hold a \u0000 (cJSON would cut there) */

static int
llm_anthropic_no_nul(const char *s, const char *e)
{
    const char  *p;

    for (p = s; p < e; p += 2) {
        p = memchr(p, '\\', e - p);

        if (p == NULL) {
            return 1;
        }

        if (p[1] == 'u' && memcmp(p + 2, "0000", 4) == 0) {
            return 0;
        }
    }

    return 1;
}


static void
llm_anthropic_msg_block(llm_anthropic_msg_t *sc, llm_json_type_e type)
{
    int           thinking;
    const char   *s, *e;
    size_t        tlen;

    s = NULL;
    e = NULL;
    thinking = 0;

    if (type == LLM_JSON_OBJECT && sc->b_type) {
        tlen = sc->b_type_end - sc->b_type;

        if (tlen == 6 && memcmp(sc->b_type, "\"text\"", 6) == 0) {
            s = sc->b_text;
            e = sc->b_text_end;

        } else if (tlen == 10
                   && memcmp(sc->b_type, "\"thinking\"", 10) == 0)
        {
            s = sc->b_think;
            e = sc->b_think_end;
            thinking = 1;

        } else if (tlen == 10
                   && memcmp(sc->b_type, "\"tool_use\"", 10) == 0)
        {
            /* tool calls: the cJSON path */
            sc->bad = 1;
        }
    }

    if (s) {
        if (sc->nblocks == LLM_ANT_BLOCKS || !llm_anthropic_no_nul(s, e)) {
            sc->bad = 1;

        } else {
            sc->blocks[sc->nblocks].start = s;
            sc->blocks[sc->nblocks].end = e;
            sc->blocks[sc->nblocks].thinking = thinking;
            sc->nblocks++;
        }
    }

    sc->seen &= ~(LLM_ANT_S_B_TYPE | LLM_ANT_S_B_TEXT | LLM_ANT_S_B_THINK);
    sc->b_type = NULL;
    sc->b_text = NULL;
    sc->b_think = NULL;
}


static int
llm_anthropic_msg_value(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_anthropic_msg_t *sc = data;

    const llm_json_step_t  *last;

    if (depth == 0 || sc->bad) {
        return LLM_OK;
    }

    last = &path[depth - 1];

    if (last->key && memchr(last->key, '\\', last->key_len)) {
        /* cJSON would unescape the name */
        sc->bad = 1;
        return LLM_OK;
    }

    if (depth == 1) {
        if (type == LLM_JSON_STRING
            && (llm_json_step_is(last, "type") || llm_json_step_is(last, "id")
                || llm_json_step_is(last, "stop_reason"))
            && memchr(start + 1, '\\', end - start - 2))
        {
            /* a short string that cJSON would unescape */
            sc->bad = 1;
            return LLM_OK;
        }

        if (llm_json_step_is(last, "type")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_TYPE)) {
                sc->message = (type == LLM_JSON_STRING && end - start == 9
                               && memcmp(start, "\"message\"", 9) == 0);
            }

        } else if (llm_json_step_is(last, "content")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_CONTENT)) {
                sc->content = (type == LLM_JSON_ARRAY);
            }

        } else if (llm_json_step_is(last, "id")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_ID)
                && type == LLM_JSON_STRING)
            {
                sc->id = start + 1;
                sc->id_len = end - start - 2;

                if (sc->id_len > 150) {
                    /* the old snprintf() cut it: rare */
                    sc->bad = 1;
                }
            }

        } else if (llm_json_step_is(last, "stop_reason")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_STOP)
                && type == LLM_JSON_STRING)
            {
                sc->stop = start + 1;
                sc->stop_len = end - start - 2;
            }

        } else if (llm_json_step_is(last, "usage")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_USAGE)
                && type != LLM_JSON_OBJECT)
            {
                sc->input = -1;
                sc->cache_read = -1;
                sc->cache_creation = -1;
                sc->output = -1;
                sc->thinking_tokens = -1;
            }
        }

        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "content")) {
        if ((sc->seen & LLM_ANT_S_CONTENT) || path[1].key != NULL) {
            return LLM_OK;
        }

        if (depth == 2) {
            llm_anthropic_msg_block(sc, type);
            return LLM_OK;
        }

        if (depth != 3) {
            return LLM_OK;
        }

        if (llm_json_step_is(last, "type")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_B_TYPE)
                && type == LLM_JSON_STRING)
            {
                if (memchr(start + 1, '\\', end - start - 2)) {
                    sc->bad = 1;
                }

                sc->b_type = start;
                sc->b_type_end = end;
            }

        } else if (llm_json_step_is(last, "text")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_B_TEXT)
                && type == LLM_JSON_STRING)
            {
                sc->b_text = start;
                sc->b_text_end = end;
            }

        } else if (llm_json_step_is(last, "thinking")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_B_THINK)
                && type == LLM_JSON_STRING)
            {
                sc->b_think = start;
                sc->b_think_end = end;
            }
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[0], "usage")
        || (sc->seen & LLM_ANT_S_USAGE))
    {
        return LLM_OK;
    }

    if (depth == 2) {
        if (llm_json_step_is(last, "input_tokens")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_INPUT)) {
                sc->input = llm_anthropic_msg_int(sc, type, start, end);
            }

        } else if (llm_json_step_is(last, "cache_read_input_tokens")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_CREAD)) {
                sc->cache_read = llm_anthropic_msg_int(sc, type, start, end);
            }

        } else if (llm_json_step_is(last, "cache_creation_input_tokens")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_CCREATE)) {
                sc->cache_creation = llm_anthropic_msg_int(sc, type, start,
                                                           end);
            }

        } else if (llm_json_step_is(last, "output_tokens")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_OUTPUT)) {
                sc->output = llm_anthropic_msg_int(sc, type, start, end);
            }

        } else if (llm_json_step_is(last, "output_tokens_details")) {
            if (llm_anthropic_first(sc, LLM_ANT_S_DETAILS)
                && type != LLM_JSON_OBJECT)
            {
                sc->thinking_tokens = -1;
            }
        }

        return LLM_OK;
    }

    if (depth == 3
        && llm_json_step_is(&path[1], "output_tokens_details")
        && !(sc->seen & LLM_ANT_S_DETAILS)
        && llm_json_step_is(last, "thinking_tokens")
        && llm_anthropic_first(sc, LLM_ANT_S_THINKTOK))
    {
        sc->thinking_tokens = llm_anthropic_msg_int(sc, type, start, end);
    }

    return LLM_OK;
}


static int
llm_anthropic_response_fast(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    size_t                i;
    const char           *fr;
    llm_usage_t          *u;
    llm_anthropic_msg_t   sc;

    sc.seen = 0;
    sc.bad = 0;
    sc.message = 0;
    sc.content = 0;
    sc.id = NULL;
    sc.id_len = 0;
    sc.stop = NULL;
    sc.stop_len = 0;
    sc.input = -1;
    sc.cache_read = -1;
    sc.cache_creation = -1;
    sc.output = -1;
    sc.thinking_tokens = -1;
    sc.b_type = NULL;
    sc.b_text = NULL;
    sc.b_think = NULL;
    sc.nblocks = 0;

    if (llm_json_scan(p, n, 3, llm_anthropic_msg_value, &sc) != LLM_OK
        || sc.bad || !sc.message || !sc.content)
    {
        return LLM_DECLINED;
    }

    u = &resp->usage;

    u->cached_tokens = sc.cache_read < 0 ? 0 : sc.cache_read;
    u->prompt_tokens = (sc.input < 0 ? 0 : sc.input) + u->cached_tokens
                       + (sc.cache_creation < 0 ? 0 : sc.cache_creation);
    u->completion_tokens = sc.output < 0 ? 0 : sc.output;
    u->reasoning_tokens = sc.thinking_tokens < 0 ? 0 : sc.thinking_tokens;
    u->total_tokens = u->prompt_tokens + u->completion_tokens;
    u->set = 1;

    llm_anthropic_set_id(resp, sc.id, sc.id_len);

    if (llm_event_start(resp, out) != LLM_OK) {
        return LLM_ERROR;
    }

    /* the blocks' JSON bytes, as the provider escaped them */

    for (i = 0; i < sc.nblocks; i++) {
        if (llm_event_text(resp, 0, sc.blocks[i].thinking
                                    ? LLM_PART_REASONING : LLM_PART_CONTENT,
                           sc.blocks[i].start,
                           sc.blocks[i].end - sc.blocks[i].start, out)
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    fr = llm_anthropic_finish(sc.stop, sc.stop_len);

    if (llm_event_finish(resp, 0, fr, out) != LLM_OK
        || llm_event_end(resp, out) == LLM_ERROR)
    {
        return LLM_ERROR;
    }

    resp->first_token = 1;

    return LLM_OK;
}


static int
llm_anthropic_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int  rc;

    llm_response_whole(resp);

    rc = llm_anthropic_response_fast(resp, p, n, out);

    if (rc != LLM_DECLINED) {
        return rc;
    }

    return llm_anthropic_response_tree(resp, p, n, out);
}


/* the rare shapes (errors, not a Message, ...): a cJSON tree */

static int
llm_anthropic_response_tree(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int          rc;
    llm_json_t  *j, *content;
    const char  *type;

    j = llm_json_parse(p, n, NULL);

    type = llm_json_get_str(j, "type");

    if (type && strcmp(type, "error") == 0) {
        llm_anthropic_error_object(llm_json_get(j, "error"), 0,
                                   &resp->error);
        llm_json_free(j);
        return LLM_ERROR;
    }

    content = llm_json_get_arr(j, "content");

    if (content == NULL || type == NULL || strcmp(type, "message") != 0) {
        llm_json_free(j);
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      "The provider returned a response that is not a "
                      "Message.");
        return LLM_ERROR;
    }

    rc = llm_anthropic_response_build(resp, j, content, out);

    llm_json_free(j);

    if (rc != LLM_OK) {
        return LLM_ERROR;
    }

    resp->first_token = 1;

    return LLM_OK;
}


/* stream */


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


static int
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


static int
llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->done) {
        return LLM_DONE;
    }

    return llm_response_fail(resp, out, 502, "stream_truncated",
                             "The provider's stream ended before it was "
                             "complete.");
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

static void
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


static void
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
