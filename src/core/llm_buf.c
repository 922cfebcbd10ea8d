/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Growable byte buffer: see llm_buf.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_buf.h"


int
llm_buf_reserve(llm_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->cap - b->len >= n) {
        return LLM_OK;
    }

    if (n > (size_t) -1 / 2 - b->len) {
        return LLM_ERROR;
    }

    cap = b->cap ? b->cap : 256;

    while (cap - b->len < n) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return LLM_ERROR;
    }

    b->data = p;
    b->cap = cap;

    return LLM_OK;
}


int
llm_buf_append(llm_buf_t *b, const void *p, size_t n)
{
    if (n == 0) {
        return LLM_OK;
    }

    if (llm_buf_reserve(b, n) != LLM_OK) {
        return LLM_ERROR;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;

    return LLM_OK;
}


int
llm_buf_append_cstr(llm_buf_t *b, const char *s)
{
    return llm_buf_append(b, s, strlen(s));
}


/* the same escape without the quotes: a part of a string written on */

int
llm_buf_append_json_inner(llm_buf_t *b, const char *p, size_t n)
{
    size_t  len0;

    len0 = b->len;

    if (llm_buf_append_json_string(b, p, n) != LLM_OK) {
        return LLM_ERROR;
    }

    memmove(b->data + len0, b->data + len0 + 1, b->len - len0 - 2);
    b->len -= 2;

    return LLM_OK;
}


/* JSON string with quotes; invalid control bytes are \u-escaped */

int
llm_buf_append_json_string(llm_buf_t *b, const char *p, size_t n)
{
    char                  *d;
    size_t                 i;
    unsigned char          c;
    static const char      hex[] = "0123456789abcdef";
#if (__SSE2__)
    int                    mask;
    __m128i                v;
#endif

    /* worst case: every byte becomes \u00XX */
    if (llm_buf_reserve(b, n * 6 + 2) != LLM_OK) {
        return LLM_ERROR;
    }

    d = b->data + b->len;
    *d++ = '"';

    for (i = 0; i < n; i++) {

#if (__SSE2__)
        /*
         * A run of bytes that go as they are, 16 at a time: stored whole
         * (the room is there), kept up to the first that does not
         */

        while (n - i >= 16) {
            v = _mm_loadu_si128((const __m128i *) (p + i));
            mask = llm_json_escapes16(v);

            _mm_storeu_si128((__m128i *) d, v);

            if (mask) {
                d += __builtin_ctz(mask);
                i += __builtin_ctz(mask);
                break;
            }

            d += 16;
            i += 16;
        }

        if (i == n) {
            break;
        }
#endif

        c = (unsigned char) p[i];

        /* the usual byte, one well-predicted test */
        if (c >= 0x20 && c != '"' && c != '\\') {
            *d++ = (char) c;
            continue;
        }

        switch (c) {
        case '"':  *d++ = '\\'; *d++ = '"'; break;
        case '\\': *d++ = '\\'; *d++ = '\\'; break;
        case '\n': *d++ = '\\'; *d++ = 'n'; break;
        case '\r': *d++ = '\\'; *d++ = 'r'; break;
        case '\t': *d++ = '\\'; *d++ = 't'; break;
        case '\b': *d++ = '\\'; *d++ = 'b'; break;
        case '\f': *d++ = '\\'; *d++ = 'f'; break;

        default:
            if (c < 0x20) {
                *d++ = '\\'; *d++ = 'u'; *d++ = '0'; *d++ = '0';
                *d++ = hex[c >> 4];
                *d++ = hex[c & 0xf];

            } else {
                *d++ = (char) c;
            }
        }
    }

    *d++ = '"';
    b->len = d - b->data;

    return LLM_OK;
}


/* by hand: snprintf costs twenty times more, on every response */

int
llm_buf_append_int(llm_buf_t *b, long long v)
{
    char                 tmp[24], *p;
    unsigned long long   u;

    p = tmp + sizeof(tmp);
    u = (v < 0) ? 0 - (unsigned long long) v : (unsigned long long) v;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (v < 0) {
        *--p = '-';
    }

    return llm_buf_append(b, p, (size_t) (tmp + sizeof(tmp) - p));
}


/*
 * A JSON number as cJSON writes it: integers exactly, else the shortest
 * of %.15g / %.17g that reads back the same; NaN and infinities as null.
 */

int
llm_buf_append_number(llm_buf_t *b, double d)
{
    int   n;
    char  tmp[64];

    if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
    {
        return llm_buf_append_lit(b, "null");
    }

    if (d >= -1e15 && d <= 1e15 && d == (double) (long long) d) {
        return llm_buf_append_int(b, (long long) d);
    }

    n = snprintf(tmp, sizeof(tmp), "%1.15g", d);

    if (strtod(tmp, NULL) != d) {
        n = snprintf(tmp, sizeof(tmp), "%1.17g", d);
    }

    return llm_buf_append(b, tmp, (size_t) n);
}


void
llm_buf_free(llm_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
