/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A validating JSON scanner: see llm_json_scan.h.  The grammar is RFC
 * 8259's; nesting is limited like cJSON's so a hostile body cannot
 * exhaust the stack.
 */

#include <stdint.h>
#include <string.h>

#if (__SSE2__)
#include <emmintrin.h>
#endif

#if (__x86_64__ && (__GNUC__ >= 5 || __clang__))
#include <immintrin.h>
#define LLM_JSON_AVX2  1
#endif

#include "llm_buf.h"
#include "llm_json_scan.h"


typedef struct {
    const char        *p;
    const char        *last;
    int                max_depth;
    llm_json_scan_pt   handler;
    void              *data;
    llm_json_step_t    path[LLM_JSON_SCAN_MAX_PATH + 1];
    llm_json_step_t    deep;          /* written for deeper levels */
    unsigned           nul;           /* a string escapes a NUL */
} llm_json_scanner_t;


#define llm_json_scan_depth(d)                                               \
    (((d) < 0) ? 0 : ((d) < LLM_JSON_SCAN_MAX_PATH) ? (d)                    \
                                                    : LLM_JSON_SCAN_MAX_PATH)


static int llm_json_scan_value(llm_json_scanner_t *s, int depth);


static void
llm_json_scan_space(llm_json_scanner_t *s)
{
    while (s->p < s->last
           && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n'
               || *s->p == '\r'))
    {
        s->p++;
    }
}


static int
llm_json_scan_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


/* the bytes that end a run of plain string content */

static const unsigned char  llm_json_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x00 - 0x0f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x10 - 0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,    /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x80 - 0xff: */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* UTF-8, checked */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};


/*
 * Non-zero if one of 8 bytes is special: below 0x20, '"', '\\' or not
 * ASCII (a UTF-8 sequence, checked byte by byte).
 * A zero byte of x ^ c is a byte equal to c; (y - 0x01..) & ~y & 0x80..
 * marks the bytes of y below 1, the classic word-at-a-time test.
 */

#define LLM_JSON_ONES   0x0101010101010101ULL
#define LLM_JSON_HIGHS  0x8080808080808080ULL

#define llm_json_word_below(y, n)                                            \
    (((y) - LLM_JSON_ONES * (n)) & ~(y) & LLM_JSON_HIGHS)

#define llm_json_word_special(w)                                             \
    (((w) & LLM_JSON_HIGHS)                                                  \
     | llm_json_word_below(w, 0x20)                                          \
     | llm_json_word_below((w) ^ (LLM_JSON_ONES * '"'), 1)                   \
     | llm_json_word_below((w) ^ (LLM_JSON_ONES * '\\'), 1))


#if (LLM_JSON_AVX2)

/*
 * 32 bytes a step where the CPU has AVX2 (chosen when the program runs:
 * the build targets any x86-64); *found: p is a special byte, else fewer
 * than 32 bytes are left from p
 */

__attribute__((target("avx2")))
static const char *
llm_json_skim32(const char *p, const char *last, int *found)
{
    unsigned  mask;
    __m256i   v, w, quote, backslash, ctl;

    quote = _mm256_set1_epi8('"');
    backslash = _mm256_set1_epi8('\\');
    ctl = _mm256_set1_epi8(0x1f);

    while (last - p >= 32) {
        v = _mm256_loadu_si256((const __m256i *) p);

        w = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote),
                                            _mm256_cmpeq_epi8(v, backslash)),
                            _mm256_cmpeq_epi8(_mm256_max_epu8(v, ctl), ctl));

        mask = (unsigned) _mm256_movemask_epi8(w)
               | (unsigned) _mm256_movemask_epi8(v);

        if (mask) {
            *found = 1;
            return p + __builtin_ctz(mask);
        }

        p += 32;
    }

    *found = 0;

    return p;
}


static int
llm_json_has_avx2(void)
{
    static int  avx2 = -1;

    if (avx2 < 0) {
        __builtin_cpu_init();
        avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }

    return avx2;
}

#endif


/*
 * The first byte at or after p, within 16 * k bytes before last, that
 * ends a run of plain string content: 16 bytes a step where SSE2 is
 * (every x86-64), then 32 where AVX2 is too, 8 (a word) elsewhere; the
 * bytes after are the byte loop's.
 */

static const char *
llm_json_skim(const char *p, const char *last)
{
    uint64_t  word;
#if (LLM_JSON_AVX2)
    int       found;
#endif
#if (__SSE2__)
    int       mask;
    __m128i   v;

    while (last - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        /* what needs escaping, and a byte of UTF-8 beyond ASCII (its
         * high bit): checked byte by byte */
        mask = llm_json_escapes16(v) | _mm_movemask_epi8(v);

        if (mask) {
            return p + __builtin_ctz(mask);
        }

        p += 16;

#if (LLM_JSON_AVX2)
        /* past a key's or an id's length: a long text, 32 bytes a step */

        if (last - p >= 32 && llm_json_has_avx2()) {
            p = llm_json_skim32(p, last, &found);

            if (found) {
                return p;
            }
        }
#endif
    }
#endif

    while (last - p >= 8) {
        memcpy(&word, p, 8);

        if (llm_json_word_special(word)) {
            break;
        }

        p += 8;
    }

    return p;
}


/* the 4 hex digits of a \u escape, or -1 */

static long
llm_json_scan_u(llm_json_scanner_t *s)
{
    int   i;
    long  u;
    char  c;

    u = 0;

    for (i = 0; i < 4; i++) {
        if (s->p >= s->last || !llm_json_scan_hex(*s->p)) {
            return -1;
        }

        c = *s->p++;
        u = u * 16 + ((c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    return u;
}


/*
 * s->p after the lead byte c (>= 0x80) of a UTF-8 sequence: RFC 3629's
 * well-formed sequences only (no overlong forms, no surrogates, nothing
 * above U+10FFFF), as JSON text must be.  On failure s->p is left at the
 * lead byte, so the error offset names it.
 */

static int
llm_json_scan_utf8(llm_json_scanner_t *s, unsigned char c)
{
    int            n;
    unsigned char  lo, hi, b;
    const char    *p;

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        s->p--;
        return LLM_ERROR;
    }

    p = s->p;

    if (s->last - p < n) {
        s->p--;
        return LLM_ERROR;
    }

    /* the second byte's range is the lead's; the rest are 0x80 - 0xbf */

    b = (unsigned char) *p++;

    if (b < lo || b > hi) {
        s->p--;
        return LLM_ERROR;
    }

    while (--n) {
        b = (unsigned char) *p++;

        if (b < 0x80 || b > 0xbf) {
            s->p--;
            return LLM_ERROR;
        }
    }

    s->p = p;

    return LLM_OK;
}


/* s->p at the opening quote; leaves it after the closing one */

static int
llm_json_scan_string(llm_json_scanner_t *s)
{
    long           u;
    unsigned char  c;

    s->p++;

    while (s->p < s->last) {

        /* the hot loops: most string bytes need no look */

        s->p = llm_json_skim(s->p, s->last);

        while (s->p < s->last && !llm_json_special[(unsigned char) *s->p]) {
            s->p++;
        }

        if (s->p >= s->last) {
            break;
        }

        c = (unsigned char) *s->p++;

        if (c == '"') {
            return LLM_OK;
        }

        if (c < 0x20) {
            return LLM_ERROR;
        }

        if (c >= 0x80) {

            /* text with many non-ASCII letters: stay in this loop */

            for ( ;; ) {
                if (llm_json_scan_utf8(s, c) != LLM_OK) {
                    return LLM_ERROR;
                }

                while (s->p < s->last
                       && !llm_json_special[(unsigned char) *s->p])
                {
                    s->p++;
                }

                if (s->p >= s->last || (unsigned char) *s->p < 0x80) {
                    break;
                }

                c = (unsigned char) *s->p++;
            }

            continue;
        }

        if (c != '\\') {
            continue;
        }

        if (s->p >= s->last) {
            return LLM_ERROR;
        }

        c = (unsigned char) *s->p++;

        switch (c) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            break;

        case 'u':
            u = llm_json_scan_u(s);

            s->nul |= (u == 0);

            /* surrogates must pair up, as cJSON and providers require */

            if (u >= 0xdc00 && u <= 0xdfff) {
                return LLM_ERROR;
            }

            if (u >= 0xd800 && u <= 0xdbff) {
                if (s->last - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') {
                    return LLM_ERROR;
                }

                s->p += 2;
                u = llm_json_scan_u(s);

                if (u < 0xdc00 || u > 0xdfff) {
                    return LLM_ERROR;
                }
            }

            if (u < 0) {
                return LLM_ERROR;
            }

            break;

        default:
            return LLM_ERROR;
        }
    }

    return LLM_ERROR;
}


static int
llm_json_scan_digits(llm_json_scanner_t *s)
{
    const char  *start;

    start = s->p;

    while (s->p < s->last && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }

    return (s->p > start) ? LLM_OK : LLM_ERROR;
}


static int
llm_json_scan_number(llm_json_scanner_t *s)
{
    if (*s->p == '-') {
        s->p++;
    }

    if (s->p < s->last && *s->p == '0') {
        s->p++;

    } else if (llm_json_scan_digits(s) != LLM_OK) {
        return LLM_ERROR;
    }

    if (s->p < s->last && *s->p == '.') {
        s->p++;

        if (llm_json_scan_digits(s) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (s->p < s->last && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;

        if (s->p < s->last && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }

        if (llm_json_scan_digits(s) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
llm_json_scan_literal(llm_json_scanner_t *s, const char *lit, size_t len)
{
    if ((size_t) (s->last - s->p) < len || memcmp(s->p, lit, len) != 0) {
        return LLM_ERROR;
    }

    s->p += len;

    return LLM_OK;
}


static int
llm_json_scan_object(llm_json_scanner_t *s, int depth)
{
    int               rc;
    const char       *key;
    llm_json_step_t  *step;

    s->p++;
    llm_json_scan_space(s);

    if (s->p < s->last && *s->p == '}') {
        s->p++;
        return LLM_OK;
    }

    step = (depth <= LLM_JSON_SCAN_MAX_PATH) ? &s->path[depth] : &s->deep;

    for ( ;; ) {
        if (s->p >= s->last || *s->p != '"') {
            return LLM_ERROR;
        }

        key = s->p + 1;

        if (llm_json_scan_string(s) != LLM_OK) {
            return LLM_ERROR;
        }

        step->key = key;
        step->key_len = (size_t) (s->p - 1 - key);
        step->index = -1;

        llm_json_scan_space(s);

        if (s->p >= s->last || *s->p != ':') {
            return LLM_ERROR;
        }

        s->p++;

        rc = llm_json_scan_value(s, depth + 1);
        if (rc != LLM_OK) {
            return rc;
        }

        llm_json_scan_space(s);

        if (s->p < s->last && *s->p == ',') {
            s->p++;
            llm_json_scan_space(s);
            continue;
        }

        if (s->p < s->last && *s->p == '}') {
            s->p++;
            return LLM_OK;
        }

        return LLM_ERROR;
    }
}


static int
llm_json_scan_array(llm_json_scanner_t *s, int depth)
{
    int               rc;
    llm_json_step_t  *step;

    s->p++;
    llm_json_scan_space(s);

    if (s->p < s->last && *s->p == ']') {
        s->p++;
        return LLM_OK;
    }

    step = (depth <= LLM_JSON_SCAN_MAX_PATH) ? &s->path[depth] : &s->deep;
    step->key = NULL;
    step->key_len = 0;
    step->index = 0;

    for ( ;; ) {
        rc = llm_json_scan_value(s, depth + 1);
        if (rc != LLM_OK) {
            return rc;
        }

        llm_json_scan_space(s);

        if (s->p < s->last && *s->p == ',') {
            s->p++;
            step->index++;
            continue;
        }

        if (s->p < s->last && *s->p == ']') {
            s->p++;
            return LLM_OK;
        }

        return LLM_ERROR;
    }
}


/* depth is the value's: the number of steps in s->path leading to it */

static int
llm_json_scan_value(llm_json_scanner_t *s, int depth)
{
    int               rc;
    const char       *start;
    llm_json_type_e   type;

    llm_json_scan_space(s);

    if (s->p >= s->last || depth >= LLM_JSON_SCAN_MAX_DEPTH) {
        return LLM_ERROR;
    }

    start = s->p;

    switch (*s->p) {

    case '{':
        type = LLM_JSON_OBJECT;
        rc = llm_json_scan_object(s, depth);
        break;

    case '[':
        type = LLM_JSON_ARRAY;
        rc = llm_json_scan_array(s, depth);
        break;

    case '"':
        type = LLM_JSON_STRING;
        rc = llm_json_scan_string(s);
        break;

    case 't':
        type = LLM_JSON_TRUE;
        rc = llm_json_scan_literal(s, "true", 4);
        break;

    case 'f':
        type = LLM_JSON_FALSE;
        rc = llm_json_scan_literal(s, "false", 5);
        break;

    case 'n':
        type = LLM_JSON_NULL;
        rc = llm_json_scan_literal(s, "null", 4);
        break;

    default:
        if (*s->p != '-' && (*s->p < '0' || *s->p > '9')) {
            return LLM_ERROR;
        }

        type = LLM_JSON_NUMBER;
        rc = llm_json_scan_number(s);
        break;
    }

    if (rc != LLM_OK) {
        return rc;
    }

    if (depth <= s->max_depth) {
        return s->handler(s->data, s->path, depth, type, start, s->p);
    }

    return LLM_OK;
}


static int
llm_json_scan_none(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    return LLM_OK;
}


static int
llm_json_scan_run(llm_json_scanner_t *s, const char *p, size_t n,
    size_t *err_off)
{
    int  rc;

    s->p = p;
    s->last = p + n;

    rc = llm_json_scan_value(s, 0);

    if (rc == LLM_OK) {
        llm_json_scan_space(s);
        rc = (s->p == s->last) ? LLM_OK : LLM_ERROR;
    }

    if (err_off) {
        *err_off = (size_t) (s->p - p);
    }

    return rc;
}


int
llm_json_valid(const char *p, size_t n, size_t *err_off)
{
    llm_json_scanner_t  s;

    s.max_depth = -1;
    s.handler = llm_json_scan_none;
    s.data = NULL;
    s.nul = 0;

    return llm_json_scan_run(&s, p, n, err_off);
}


int
llm_json_scan(const char *p, size_t n, int max_depth,
    llm_json_scan_pt handler, void *data)
{
    unsigned  nul;

    return llm_json_scan_nul(p, n, max_depth, handler, data, &nul);
}


int
llm_json_scan_nul(const char *p, size_t n, int max_depth,
    llm_json_scan_pt handler, void *data, unsigned *nul)
{
    int                 rc;
    llm_json_scanner_t  s;

    s.max_depth = llm_json_scan_depth(max_depth);
    s.handler = handler;
    s.data = data;
    s.nul = 0;

    /* a handler looking one step too far must find nothing stale */
    memset(s.path, 0, (s.max_depth + 1) * sizeof(llm_json_step_t));

    rc = llm_json_scan_run(&s, p, n, NULL);

    *nul = s.nul;

    return rc;
}


static int
llm_json_scan_root(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_json_type_e  *root = data;

    if (depth == 0) {
        *root = type;
    }

    return LLM_OK;
}


int
llm_json_is_object(const char *p, size_t n)
{
    llm_json_type_e  root;

    root = LLM_JSON_NULL;

    return llm_json_scan(p, n, 0, llm_json_scan_root, &root) == LLM_OK
           && root == LLM_JSON_OBJECT;
}


long long
llm_json_scan_int(const char *start, const char *end)
{
    long long  v;

    v = 0;

    if (start == end) {
        return -1;
    }

    for ( /* void */ ; start < end; start++) {
        if (*start < '0' || *start > '9' || v > 100000000000000LL) {
            return -1;
        }

        v = v * 10 + (*start - '0');
    }

    return v;
}


const char *
llm_json_scan_type_name(llm_json_type_e type)
{
    static const char  *names[] = {
        "an object", "an array", "a string", "a number", "a boolean",
        "a boolean", "null"
    };

    return names[type];
}
