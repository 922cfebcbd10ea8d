/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Writing from a plain chat's spans (llm_request.h: llm_plain_t), the
 * pieces every dialect's plain builder shares; the builders sit beside
 * their tree twins (llm_anthropic_request.c, llm_gemini_request.c).
 *
 * Text moves as the client escaped it: a valid JSON string's bytes are
 * valid in any other JSON string, so nothing is unescaped and escaped
 * again.  A plain builder means exactly what its dialect's general
 * builder writes for the same request (t/unit/test_plain.c,
 * fuzz_request.c).
 */

#include <string.h>

#include "llm_request.h"
#include "llm_buf.h"
#include "llm_json_scan.h"


int
llm_plain_append(llm_buf_t *b, const llm_span_t *s)
{
    return llm_buf_append(b, s->start, (size_t) (s->end - s->start));
}


/* ,"name":<number>, the client's own, when it sent one */

int
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

int
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

long long
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
