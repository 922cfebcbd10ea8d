/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * OpenAI-style error envelopes: see llm_error.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "llm_error.h"
#include "llm_json.h"


static void llm_error_trim_utf8(char *s);


static void
llm_error_copy(char *dst, size_t size, const char *src)
{
    size_t  n;

    if (src == NULL) {
        dst[0] = '\0';
        return;
    }

    n = strlen(src);
    if (n >= size) {
        n = size - 1;
    }

    memcpy(dst, src, n);
    dst[n] = '\0';
}


void
llm_error_set(llm_error_t *e, int status, const char *param,
    const char *code, const char *fmt, ...)
{
    va_list  args;

    e->status = (status == 529) ? 503 : status;
    e->type = llm_error_type(e->status);

    llm_error_copy(e->param, sizeof(e->param), param);
    llm_error_copy(e->code, sizeof(e->code), code);

    va_start(args, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, args);
    va_end(args);

    llm_error_trim_utf8(e->message);
}


/* a message cut at its buffer's size must not end inside a character */

static void
llm_error_trim_utf8(char *s)
{
    size_t          n, i, need;
    unsigned char   c;

    n = strlen(s);

    /* back to the last lead byte, at most 3 continuation bytes away */

    for (i = n; i > 0 && n - i < 4; i--) {
        c = (unsigned char) s[i - 1];

        if ((c & 0xc0) == 0x80) {
            continue;
        }

        need = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 1;

        if (n - (i - 1) < need) {
            s[i - 1] = '\0';
        }

        return;
    }
}


/* replaces each copy of secret in s (of size bytes) by the mask */

static void
llm_error_mask_field(char *s, const char *secret, size_t len)
{
    char    *p;
    size_t   n, mlen, tail;

    mlen = sizeof(LLM_ERR_MASK) - 1;

    for (p = s; (p = strstr(p, secret)) != NULL; p += mlen) {
        n = strlen(s);
        tail = n - (size_t) (p - s) - len;

        /* the mask is shorter than any secret masked: it always fits */
        memmove(p + mlen, p + len, tail + 1);
        memcpy(p, LLM_ERR_MASK, mlen);
    }
}


void
llm_error_mask(llm_error_t *e, const char *secret, size_t len)
{
    char  key[LLM_ERR_MSG_LEN];

    /* a short "key" would mask ordinary words: real keys are long */

    if (secret == NULL || len < LLM_ERR_MASK_MIN || len >= sizeof(key)) {
        return;
    }

    memcpy(key, secret, len);
    key[len] = '\0';

    llm_error_mask_field(e->message, key, len);
    llm_error_mask_field(e->param, key, len);
    llm_error_mask_field(e->code, key, len);
}


void
llm_error_invalid_json(llm_error_t *e, const char *p, size_t n, size_t off)
{
    size_t  line, col;

    llm_json_position(p, off, &line, &col);

    llm_error_set(e, 400, NULL, "invalid_json",
                  "Invalid %s in the request body at line %zu, column %zu "
                  "(byte %zu).",
                  (off < n && (unsigned char) p[off] >= 0x80) ? "UTF-8"
                                                              : "JSON",
                  line, col, off);
}


void
llm_error_no_message(llm_error_t *e, int status, int is_json)
{
    llm_error_set(e, status, NULL, "upstream_error",
                  "The provider returned HTTP %d%s.", status,
                  is_json ? " without an error message"
                          : " with a body that is not JSON");
}


const char *
llm_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    }

    if (status >= 500) {
        return "api_error";
    }

    return "invalid_request_error";
}


int
llm_error_json(const llm_error_t *e, llm_buf_t *b)
{
    if (llm_buf_append_lit(b, "{\"error\":{\"message\":") != LLM_OK
        || llm_buf_append_json_string(b, e->message, strlen(e->message))
           != LLM_OK
        || llm_buf_append_lit(b, ",\"type\":") != LLM_OK
        || llm_buf_append_json_string(b, e->type, strlen(e->type)) != LLM_OK
        || llm_buf_append_lit(b, ",\"param\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (e->param[0] == '\0') {
        if (llm_buf_append_lit(b, "null") != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_json_string(b, e->param, strlen(e->param))
               != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (llm_buf_append_lit(b, ",\"code\":") != LLM_OK) {
        return LLM_ERROR;
    }

    if (e->code[0] == '\0') {
        if (llm_buf_append_lit(b, "null") != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_json_string(b, e->code, strlen(e->code))
               != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}}");
}


int
llm_error_frame(const llm_error_t *e, llm_buf_t *b)
{
    if (llm_buf_append_lit(b, "data: ") != LLM_OK
        || llm_error_json(e, b) != LLM_OK
        || llm_buf_append_lit(b, "\n\ndata: [DONE]\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
