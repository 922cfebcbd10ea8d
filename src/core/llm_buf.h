/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Growable byte buffer for the pure-C core (no nginx headers).
 *
 * The core allocates with malloc/realloc; the nginx glue owns each
 * llm_buf_t through a pool cleanup that calls llm_buf_free().  A buffer
 * is reset (len = 0) and reused, so its memory tracks the largest item
 * it ever held, not the number of items.
 */

#ifndef _LLM_BUF_H_INCLUDED_
#define _LLM_BUF_H_INCLUDED_


#include <stddef.h>


#define LLM_OK        0
#define LLM_ERROR    -1
#define LLM_DECLINED -5


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} llm_buf_t;


int llm_buf_reserve(llm_buf_t *b, size_t n);
int llm_buf_append(llm_buf_t *b, const void *p, size_t n);
int llm_buf_append_cstr(llm_buf_t *b, const char *s);
int llm_buf_append_json_string(llm_buf_t *b, const char *p, size_t n);
int llm_buf_append_json_inner(llm_buf_t *b, const char *p, size_t n);
int llm_buf_append_int(llm_buf_t *b, long long v);
int llm_buf_append_number(llm_buf_t *b, double d);
void llm_buf_free(llm_buf_t *b);

#define llm_buf_reset(b)  (b)->len = 0
#define llm_buf_append_lit(b, s)  llm_buf_append(b, s, sizeof(s) - 1)


#if (__SSE2__)

#include <emmintrin.h>

/*
 * The bytes of 16 that a JSON string cannot hold as they are: '"', '\\'
 * and the control characters (max(v, 0x1f) == 0x1f), as a bit mask.
 * The escaper stops at them, the scanner too.
 */

static inline int
llm_json_escapes16(__m128i v)
{
    __m128i  ctl;

    ctl = _mm_set1_epi8(0x1f);

    return _mm_movemask_epi8(
               _mm_or_si128(_mm_or_si128(
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                            _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)));
}

#endif


#endif /* _LLM_BUF_H_INCLUDED_ */
