/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect, non-stream response: a Message becomes events
 * (see llm_response.h): text blocks as content, thinking blocks as
 * reasoning, tool_use blocks as tool calls in their order (input printed
 * as the arguments string), the JSON tool's input (see llm_anthropic.h)
 * as content.  Server-tool blocks (server_tool_use, *_tool_result) ran
 * at Anthropic and are none of the client's business: dropped, as are
 * redacted_thinking blocks.
 *
 * The usual Message takes a fast path: one validating scan, and the text
 * and thinking blocks emitted as their escaped JSON bytes.  Anything
 * unusual takes the cJSON tree.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


static int llm_anthropic_response_tree(llm_response_t *resp,
    const char *p, size_t n, llm_buf_t *out);


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
                && llm_event_text_copy(resp, 0, LLM_PART_CONTENT, lit.data,
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


int
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
