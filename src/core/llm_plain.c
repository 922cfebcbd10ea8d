/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Native requests for plain chats (llm_request.h: llm_plain_t), written
 * from the spans the validating scan left, without a cJSON tree.
 *
 * Text moves as the client escaped it: a valid JSON string's bytes are
 * valid in any other JSON string, so nothing is unescaped and escaped
 * again.  The result means exactly what the dialect's general builder
 * writes for the same request (t/unit/test_plain.c, fuzz_request.c).
 */

#include <string.h>

#include "llm_anthropic.h"
#include "llm_gemini.h"
#include "llm_json_scan.h"


/* a string's bytes between the quotes */

#define llm_plain_inner(s)       ((s)->start + 1)
#define llm_plain_inner_len(s)   ((size_t) ((s)->end - (s)->start - 2))


static int llm_plain_append(llm_buf_t *b, const llm_span_t *s);
static int llm_plain_number(llm_buf_t *b, const char *name,
    const llm_span_t *s);
static int llm_plain_stop(llm_buf_t *b, const char *name,
    const llm_span_t *s, int empty_too);
static long long llm_plain_max_tokens(llm_request_t *req);


/*
 * Anthropic: system and developer texts joined with "\n\n" as "system";
 * consecutive turns of one role merged; empty texts left out.
 */

int
llm_anthropic_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *b)
{
    int           i, system, last, first_block;
    double        t;
    long long     max;
    llm_plain_t  *pl;
    llm_span_t   *c;

    pl = req->spans;
    max = llm_plain_max_tokens(req);

    /* at most the client's bytes and some names: one allocation */

    if (llm_buf_reserve(b, req->raw_len + 256 + 6 * strlen(upstream_model))
        != LLM_OK
        || llm_buf_append_lit(b, "{\"model\":") != LLM_OK
        || llm_buf_append_json_string(b, upstream_model,
                                      strlen(upstream_model)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    system = 0;

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role != LLM_ROLE_SYSTEM
            || llm_plain_inner_len(c) == 0)
        {
            continue;
        }

        if (llm_buf_append_cstr(b, system ? "\\n\\n" : ",\"system\":\"")
            != LLM_OK
            || llm_buf_append(b, llm_plain_inner(c), llm_plain_inner_len(c))
               != LLM_OK)
        {
            return LLM_ERROR;
        }

        system = 1;
    }

    if ((system && llm_buf_append_lit(b, "\"") != LLM_OK)
        || llm_buf_append_lit(b, ",\"messages\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    last = -1;
    first_block = 1;

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role == LLM_ROLE_SYSTEM
            || llm_plain_inner_len(c) == 0)
        {
            continue;
        }

        if ((int) pl->messages[i].role != last) {
            if ((last != -1 && llm_buf_append_lit(b, "]},") != LLM_OK)
                || llm_buf_append_cstr(b,
                       pl->messages[i].role == LLM_ROLE_USER
                       ? "{\"role\":\"user\",\"content\":["
                       : "{\"role\":\"assistant\",\"content\":[")
                   != LLM_OK)
            {
                return LLM_ERROR;
            }

            last = pl->messages[i].role;
            first_block = 1;
        }

        if ((!first_block && llm_buf_append_lit(b, ",") != LLM_OK)
            || llm_buf_append_lit(b, "{\"type\":\"text\",\"text\":") != LLM_OK
            || llm_plain_append(b, c) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        first_block = 0;
    }

    if ((last != -1 && llm_buf_append_lit(b, "]}") != LLM_OK)
        || llm_buf_append_lit(b, "],\"max_tokens\":") != LLM_OK
        || llm_buf_append_int(b, max > 0 ? max : LLM_ANTHROPIC_MAX_TOKENS)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (pl->temperature.start) {
        /* Anthropic's range is 0..1: the client's number, or clamped */
        t = llm_span_number(&pl->temperature);

        if (llm_buf_append_lit(b, ",\"temperature\":") != LLM_OK
            || (t > 1 ? llm_buf_append_lit(b, "1")
                      : llm_plain_append(b, &pl->temperature)) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (llm_plain_number(b, "top_p", &pl->top_p) != LLM_OK
        || llm_plain_stop(b, "stop_sequences", &pl->stop, 0) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (pl->user.start
        && (llm_buf_append_lit(b, ",\"metadata\":{\"user_id\":") != LLM_OK
            || llm_plain_append(b, &pl->user) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (req->stream && llm_buf_append_lit(b, ",\"stream\":true") != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}");
}


/*
 * Gemini: roles user and model, consecutive turns merged as parts;
 * system and developer texts joined with "\n\n" as systemInstruction.
 */

int
llm_gemini_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *b)
{
    int           i, last, system;
    size_t        mark;
    long long     max;
    llm_plain_t  *pl;
    llm_span_t   *c;

    (void) upstream_model;

    pl = req->spans;

    if (llm_buf_reserve(b, req->raw_len + 256) != LLM_OK
        || llm_buf_append_lit(b, "{\"contents\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    last = -1;

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role == LLM_ROLE_SYSTEM) {
            continue;
        }

        if ((int) pl->messages[i].role == last) {
            if (llm_buf_append_lit(b, ",{\"text\":") != LLM_OK) {
                return LLM_ERROR;
            }

        } else if ((last != -1 && llm_buf_append_lit(b, "]},") != LLM_OK)
                   || llm_buf_append_cstr(b,
                          pl->messages[i].role == LLM_ROLE_USER
                          ? "{\"role\":\"user\",\"parts\":[{\"text\":"
                          : "{\"role\":\"model\",\"parts\":[{\"text\":")
                      != LLM_OK)
        {
            return LLM_ERROR;
        }

        if (llm_plain_append(b, c) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        last = pl->messages[i].role;
    }

    if ((last != -1 && llm_buf_append_lit(b, "]}") != LLM_OK)
        || llm_buf_append_lit(b, "]") != LLM_OK)
    {
        return LLM_ERROR;
    }

    mark = b->len;
    system = 0;

    if (llm_buf_append_lit(b, ",\"systemInstruction\":{\"parts\":"
                              "[{\"text\":\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role != LLM_ROLE_SYSTEM) {
            continue;
        }

        /* the separator only after some text, as the general builder */

        if ((system && llm_buf_append_lit(b, "\\n\\n") != LLM_OK)
            || llm_buf_append(b, llm_plain_inner(c), llm_plain_inner_len(c))
               != LLM_OK)
        {
            return LLM_ERROR;
        }

        system |= (llm_plain_inner_len(c) != 0);
    }

    if (!system) {
        b->len = mark;

    } else if (llm_buf_append_lit(b, "\"}]}") != LLM_OK) {
        return LLM_ERROR;
    }

    /* generationConfig: the members in the general builder's order */

    mark = b->len;

    if (llm_buf_append_lit(b, ",\"generationConfig\":{") != LLM_OK
        || llm_plain_number(b, "temperature", &pl->temperature) != LLM_OK
        || llm_plain_number(b, "topP", &pl->top_p) != LLM_OK
        || llm_plain_number(b, "candidateCount", &pl->n) != LLM_OK
        || llm_plain_number(b, "seed", &pl->seed) != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = llm_plain_max_tokens(req);

    if (max > 0
        && (llm_buf_append_lit(b, ",\"maxOutputTokens\":") != LLM_OK
            || llm_buf_append_int(b, max) != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (llm_plain_stop(b, "stopSequences", &pl->stop, 1) != LLM_OK) {
        return LLM_ERROR;
    }

    if (b->len == mark + sizeof(",\"generationConfig\":{") - 1) {
        b->len = mark;

    } else {
        /* the first member's comma opens the object instead */
        b->data[mark + sizeof(",\"generationConfig\":{") - 1] = ' ';

        if (llm_buf_append_lit(b, "}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return llm_buf_append_lit(b, "}");
}


static int
llm_plain_append(llm_buf_t *b, const llm_span_t *s)
{
    return llm_buf_append(b, s->start, (size_t) (s->end - s->start));
}


/* ,"name":<number>, the client's own, when it sent one */

static int
llm_plain_number(llm_buf_t *b, const char *name, const llm_span_t *s)
{
    if (s->start == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",\"") != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK
        || llm_plain_append(b, s) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * ,"name":[...] from a string or an array of strings (validated); an
 * empty array is written only when empty_too.
 */

static int
llm_plain_stop(llm_buf_t *b, const char *name, const llm_span_t *s,
    int empty_too)
{
    const char  *p;

    if (s->start == NULL) {
        return LLM_OK;
    }

    if (s->start[0] == '[' && !empty_too) {
        for (p = s->start + 1;
             *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
             p++)
        {
            /* void */
        }

        if (*p == ']') {
            return LLM_OK;
        }
    }

    if (llm_buf_append_lit(b, ",\"") != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK
        || (s->start[0] != '[' && llm_buf_append_lit(b, "[") != LLM_OK)
        || llm_plain_append(b, s) != LLM_OK
        || (s->start[0] != '[' && llm_buf_append_lit(b, "]") != LLM_OK))
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* max_completion_tokens, else max_tokens, else the configured default */

static long long
llm_plain_max_tokens(llm_request_t *req)
{
    llm_plain_t  *pl;

    pl = req->spans;

    if (pl->max_completion_tokens.start) {
        return llm_json_scan_int(pl->max_completion_tokens.start,
                                 pl->max_completion_tokens.end);
    }

    if (pl->max_tokens.start) {
        return llm_json_scan_int(pl->max_tokens.start, pl->max_tokens.end);
    }

    return req->max_tokens_default;
}
