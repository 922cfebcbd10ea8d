/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Writing from the request's spans (llm_request.h: llm_chat_t), what
 * the dialects' builders share (llm_anthropic_request.c,
 * llm_gemini_request.c).
 *
 * Text moves as the client escaped it: a valid JSON string's bytes are
 * valid in any other JSON string, so nothing is unescaped and escaped
 * again.  The builders mean exactly what the tree builders they replaced
 * wrote for the same request: those are kept as the tests' oracle
 * (t/unit/oracle.c; test_request_path.c, fuzz_request.c).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_request.h"
#include "llm_buf.h"
#include "llm_json_scan.h"


int
llm_span_append(llm_buf_t *b, const llm_span_t *s)
{
    return llm_buf_append(b, s->start, (size_t) (s->end - s->start));
}


/* ,"name":<number>, the client's own, when it sent one */

int
llm_span_member(llm_buf_t *b, const char *name, const llm_span_t *s)
{
    if (s->start == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",\"") != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK
        || llm_span_append(b, s) != LLM_OK)
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
llm_span_stop(llm_buf_t *b, const char *name, const llm_span_t *s,
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
        || llm_span_append(b, s) != LLM_OK
        || (s->start[0] != '[' && llm_buf_append_lit(b, "]") != LLM_OK))
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * A valid JSON number's value, as strtod() reads it.  Most are short
 * decimals (0.7, 256): a mantissa of at most 15 digits and a power of ten
 * up to 10^15 are exact doubles, and their quotient is rounded once, as
 * strtod() rounds, so it is the same value without strtod()'s cost.
 */

double
llm_span_number(const llm_span_t *s)
{
    char          num[64];
    size_t        len;
    uint64_t      m;
    const char   *p;
    int           digits, frac, neg, dot;

    static const double  pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15
    };

    p = s->start;
    neg = (*p == '-');
    p += neg;
    m = 0;
    digits = 0;
    frac = 0;
    dot = 0;

    for ( /* void */ ; p < s->end; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t) (*p - '0');
            digits++;
            frac += dot;

        } else if (*p == '.' && !dot) {
            dot = 1;

        } else {
            /* an exponent */
            break;
        }
    }

    if (p == s->end && digits <= 15) {
        return neg ? -((double) m / pow10[frac]) : (double) m / pow10[frac];
    }

    len = (size_t) (s->end - s->start);

    if (len >= sizeof(num)) {
        /* a valid number this long is out of every range checked */
        return (s->start[0] == '-') ? -1e300 : 1e300;
    }

    memcpy(num, s->start, len);
    num[len] = '\0';

    return strtod(num, NULL);
}


/* the elements of a (valid) array */

static int
llm_span_element(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    (void) path;
    (void) type;
    (void) start;
    (void) end;

    *(int *) data += (depth == 1);

    return LLM_OK;
}


int
llm_span_count(const llm_span_t *s)
{
    int  n;

    n = 0;

    if (s->start && s->start[0] == '[') {
        (void) llm_json_scan(s->start, s->end - s->start, 1,
                             llm_span_element, &n);
    }

    return n;
}


/* a string's text, unescaped, NUL-terminated, in b (reset first) */

int
llm_span_cstr(const llm_span_t *s, llm_buf_t *b)
{
    llm_json_t  *j;

    llm_buf_reset(b);

    if (memchr(llm_span_inner(s), '\\', llm_span_inner_len(s)) == NULL) {
        return (llm_buf_append(b, llm_span_inner(s), llm_span_inner_len(s))
                != LLM_OK
                || llm_buf_append(b, "", 1) != LLM_OK) ? LLM_ERROR : LLM_OK;
    }

    j = llm_json_parse(s->start, s->end - s->start, NULL);

    if (!cJSON_IsString(j)
        || llm_buf_append(b, j->valuestring, strlen(j->valuestring) + 1)
           != LLM_OK)
    {
        llm_json_free(j);
        return LLM_ERROR;
    }

    llm_json_free(j);

    return LLM_OK;
}


/* 1 if a string span's text is str's (NULL: never) */

int
llm_span_equals(const llm_span_t *s, const char *str)
{
    int        eq;
    size_t     len;
    llm_buf_t  b;

    if (s->start == NULL || str == NULL) {
        return 0;
    }

    len = llm_span_inner_len(s);

    if (memchr(llm_span_inner(s), '\\', len) == NULL) {
        return strlen(str) == len && memcmp(llm_span_inner(s), str, len) == 0;
    }

    memset(&b, 0, sizeof(llm_buf_t));

    eq = (llm_span_cstr(s, &b) == LLM_OK && strcmp(b.data, str) == 0);

    llm_buf_free(&b);

    return eq;
}


/*
 * A number span's integer in [0, 1e15], as cJSON's reading of it gives
 * (llm_json_get_int()): 2.0 and 2e0 are 2, which the request's rules
 * accept for an integer; -1 when absent, negative or too large
 */

long long
llm_span_int(const llm_span_t *s)
{
    long long  v;
    double     d;

    if (s->start == NULL) {
        return -1;
    }

    v = llm_json_scan_int(s->start, s->end);

    if (v >= 0) {
        return v;
    }

    d = llm_span_number(s);

    return (d >= 0 && d <= 1e15) ? (long long) d : -1;
}


/* ,"name":<integer>: the client's bytes when they are one, else its value */

int
llm_span_member_int(llm_buf_t *b, const char *name, const llm_span_t *s)
{
    const char  *p;

    if (s->start == NULL) {
        return LLM_OK;
    }

    for (p = s->start; p < s->end; p++) {
        if (*p == '.' || *p == 'e' || *p == 'E') {
            break;
        }
    }

    if (p == s->end) {
        return llm_span_member(b, name, s);
    }

    if (llm_buf_append_lit(b, ",\"") != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK
        || llm_buf_append_int(b, (long long) llm_span_number(s)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* max_completion_tokens, else max_tokens, else the configured default */

long long
llm_chat_max_tokens(llm_request_t *req)
{
    llm_chat_t  *chat;

    chat = req->chat;

    if (chat->max_completion_tokens.start) {
        return llm_span_int(&chat->max_completion_tokens);
    }

    if (chat->max_tokens.start) {
        return llm_span_int(&chat->max_tokens);
    }

    return req->max_tokens_default;
}
