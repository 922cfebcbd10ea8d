/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A cJSON tree of bytes the scanner has already found valid, its nodes
 * and strings in one arena (see llm_json.h: llm_json_tree()).
 *
 * cJSON allocates every node, key and string on its own and checks the
 * grammar again: for an agent's request of a thousand nodes that was
 * most of what a translation cost, twice over with the frees.  Here the
 * grammar is known good, so the walk only finds where things end, and
 * the memory is a few blocks, freed at once.
 *
 * The tree means exactly what cJSON_Parse() makes of the same bytes
 * (t/unit/test_json_tree.c, t/fuzz/fuzz_json_tree.c): members in order,
 * duplicates kept, numbers through strtod() with cJSON's valueint.
 *
 * An object or an array also keeps where its bytes are, just before its
 * node (llm_json_arena_raw()): what goes out as it came in (a tool's
 * schema) is copied, not printed.
 */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if (__SSE2__)
#include <emmintrin.h>
#endif

#include "llm_json.h"
#include "llm_json_arena.h"


/* in front of each object's and array's node */

typedef struct {
    const char        *start;
    const char        *end;
} llm_json_raw_t;


typedef struct {
    const char              *p;
    const char              *last;
    llm_json_arena_t        *arena;

    const llm_json_text_t   *texts;      /* strings written as marks */
    int                      ntexts;
    int                      text;       /* the next one */
    llm_json_mark_pt         mark;
    size_t                   mark_len;
} llm_json_tree_t;


static llm_json_t *llm_json_tree_value(llm_json_tree_t *t);


#define llm_json_tree_alloc(t, size)  llm_json_arena_alloc((t)->arena, size)


static void
llm_json_tree_space(llm_json_tree_t *t)
{
    while (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r')
    {
        t->p++;
    }
}


/* the first '"' or '\\' at or after p: the string is known to end */

static const char *
llm_json_tree_skim(const char *p, const char *last)
{
#if (__SSE2__)
    int      mask;
    __m128i  v, quote, backslash;

    quote = _mm_set1_epi8('"');
    backslash = _mm_set1_epi8('\\');

    while (last - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);
        mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                     _mm_cmpeq_epi8(v, backslash)));
        if (mask) {
            return p + __builtin_ctz(mask);
        }

        p += 16;
    }
#endif

    while (*p != '"' && *p != '\\') {
        p++;
    }

    return p;
}


static unsigned
llm_json_tree_hex(const char *p)
{
    int       i;
    char      c;
    unsigned  u;

    u = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];
        u = u * 16 + ((c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    return u;
}


static char *
llm_json_tree_utf8(char *o, unsigned u)
{
    if (u < 0x80) {
        *o++ = (char) u;

    } else if (u < 0x800) {
        *o++ = (char) (0xc0 | (u >> 6));
        *o++ = (char) (0x80 | (u & 0x3f));

    } else if (u < 0x10000) {
        *o++ = (char) (0xe0 | (u >> 12));
        *o++ = (char) (0x80 | ((u >> 6) & 0x3f));
        *o++ = (char) (0x80 | (u & 0x3f));

    } else {
        *o++ = (char) (0xf0 | (u >> 18));
        *o++ = (char) (0x80 | ((u >> 12) & 0x3f));
        *o++ = (char) (0x80 | ((u >> 6) & 0x3f));
        *o++ = (char) (0x80 | (u & 0x3f));
    }

    return o;
}


/*
 * t->p at the opening quote: the string, unescaped and NUL-terminated,
 * in the arena; t->p after the closing quote.  A text of the list is
 * written as its mark.
 */

static char *
llm_json_tree_string(llm_json_tree_t *t)
{
    char        *s, *o;
    unsigned     u;
    const char  *p, *q, *e;

    p = t->p + 1;

    if (t->text < t->ntexts && t->texts[t->text].start == p) {
        s = llm_json_tree_alloc(t, t->mark_len + 1);
        if (s == NULL) {
            return NULL;
        }

        t->mark(s, t->text);
        s[t->mark_len] = '\0';
        t->p = p + t->texts[t->text].len + 1;
        t->text++;

        return s;
    }

    q = llm_json_tree_skim(p, t->last);

    if (*q == '"') {
        /* no escape: the common case, one copy */
        s = llm_json_tree_alloc(t, q - p + 1);
        if (s == NULL) {
            return NULL;
        }

        memcpy(s, p, q - p);
        s[q - p] = '\0';
        t->p = q + 1;

        return s;
    }

    /* escapes only shorten a string: its raw length is room enough */

    for (e = q; *e != '"'; e = llm_json_tree_skim(e + 2, t->last)) {
        /* a backslash and the byte after it */
    }

    s = llm_json_tree_alloc(t, e - p + 1);
    if (s == NULL) {
        return NULL;
    }

    memcpy(s, p, q - p);
    o = s + (q - p);
    p = q;

    while (p < e) {
        if (*p != '\\') {
            /* the run up to the next escape, at once */
            q = llm_json_tree_skim(p, e);
            memcpy(o, p, q - p);
            o += q - p;
            p = q;
            continue;
        }

        p++;

        switch (*p++) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            u = llm_json_tree_hex(p);
            p += 4;

            /* the scanner let only whole surrogate pairs through */
            if (u >= 0xd800 && u <= 0xdbff) {
                u = 0x10000 + ((u - 0xd800) << 10)
                    + (llm_json_tree_hex(p + 2) - 0xdc00);
                p += 6;
            }

            o = llm_json_tree_utf8(o, u);
            break;
        default:
            /* '"', '\\', '/' */
            *o++ = p[-1];
        }
    }

    q = e;
    *o = '\0';
    t->p = q + 1;

    return s;
}


static int
llm_json_tree_number(llm_json_tree_t *t, llm_json_t *j)
{
    int          neg, n;
    char         num[64], *copy;
    double       d;
    long long    v;
    const char  *p, *q;

    p = t->p;
    neg = (*p == '-');
    q = p + neg;
    v = 0;

    /* an integer of up to 15 digits is exact as a double: no strtod */

    for (n = 0; q < t->last && *q >= '0' && *q <= '9'; n++, q++) {
        v = v * 10 + (*q - '0');

        if (n == 15) {
            break;
        }
    }

    if (n < 15
        && (q == t->last || (*q != '.' && *q != 'e' && *q != 'E')))
    {
        d = neg ? -(double) v : (double) v;

    } else {
        while (q < t->last
               && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e'
                   || *q == 'E' || *q == '+' || *q == '-'))
        {
            q++;
        }

        if ((size_t) (q - p) < sizeof(num)) {
            copy = num;

        } else {
            copy = llm_json_tree_alloc(t, q - p + 1);
            if (copy == NULL) {
                return LLM_ERROR;
            }
        }

        memcpy(copy, p, q - p);
        copy[q - p] = '\0';
        d = strtod(copy, NULL);
    }

    t->p = q;

    j->type = cJSON_Number;
    j->valuedouble = d;

    /* as cJSON has it */
    if (d >= INT_MAX) {
        j->valueint = INT_MAX;

    } else if (d <= (double) INT_MIN) {
        j->valueint = INT_MIN;

    } else {
        j->valueint = (int) d;
    }

    return LLM_OK;
}


/* the members or elements of t->p's '{' or '[' */

static int
llm_json_tree_children(llm_json_tree_t *t, llm_json_t *j, int object)
{
    char        *key;
    llm_json_t  *c, *last;

    t->p++;
    llm_json_tree_space(t);

    last = NULL;

    if (*t->p == (object ? '}' : ']')) {
        t->p++;
        return LLM_OK;
    }

    for ( ;; ) {
        key = NULL;

        if (object) {
            key = llm_json_tree_string(t);
            if (key == NULL) {
                return LLM_ERROR;
            }

            llm_json_tree_space(t);
            t->p++;                             /* ':' */
            llm_json_tree_space(t);
        }

        c = llm_json_tree_value(t);
        if (c == NULL) {
            return LLM_ERROR;
        }

        c->string = key;

        if (last) {
            last->next = c;
            c->prev = last;

        } else {
            j->child = c;
        }

        last = c;

        llm_json_tree_space(t);

        if (*t->p++ != ',') {
            /* '}' or ']' */
            break;
        }

        llm_json_tree_space(t);
    }

    /* cJSON keeps the last element in the first one's prev */
    j->child->prev = last;

    return LLM_OK;
}


static llm_json_t *
llm_json_tree_value(llm_json_tree_t *t)
{
    llm_json_t      *j;
    llm_json_raw_t  *raw;

    if (*t->p == '{' || *t->p == '[') {
        raw = llm_json_tree_alloc(t, sizeof(llm_json_raw_t)
                                     + sizeof(llm_json_t));
        if (raw == NULL) {
            return NULL;
        }

        j = (llm_json_t *) (raw + 1);
        memset(j, 0, sizeof(llm_json_t));

        j->type = (*t->p == '{') ? cJSON_Object : cJSON_Array;
        raw->start = t->p;

        if (llm_json_tree_children(t, j, *t->p == '{') != LLM_OK) {
            return NULL;
        }

        raw->end = t->p;

        return j;
    }

    j = llm_json_tree_alloc(t, sizeof(llm_json_t));
    if (j == NULL) {
        return NULL;
    }

    memset(j, 0, sizeof(llm_json_t));

    switch (*t->p) {

    case '"':
        j->type = cJSON_String;
        j->valuestring = llm_json_tree_string(t);

        if (j->valuestring == NULL) {
            return NULL;
        }

        break;

    case 't':
        j->type = cJSON_True;
        j->valueint = 1;
        t->p += 4;
        break;

    case 'f':
        j->type = cJSON_False;
        t->p += 5;
        break;

    case 'n':
        j->type = cJSON_NULL;
        t->p += 4;
        break;

    default:
        if (llm_json_tree_number(t, j) != LLM_OK) {
            return NULL;
        }
    }

    return j;
}


static void
llm_json_tree_init(llm_json_tree_t *t, llm_json_arena_t *a, const char *p,
    size_t n, const llm_json_text_t *texts, int ntexts,
    llm_json_mark_pt mark, size_t mark_len)
{
    t->p = p;
    t->last = p + n;
    t->arena = a;
    t->texts = texts;
    t->ntexts = ntexts;
    t->text = 0;
    t->mark = mark;
    t->mark_len = mark_len;
}


llm_json_t *
llm_json_tree(const char *p, size_t n, const llm_json_text_t *texts,
    int ntexts, llm_json_mark_pt mark, size_t mark_len,
    llm_json_arena_t **arena)
{
    size_t            out;
    llm_json_t       *root;
    llm_json_tree_t   t;

    *arena = NULL;

    /*
     * What goes in is at most the bytes outside the texts; nodes take
     * some four times their bytes: one block, most of the time
     */

    out = n;

    for (t.text = 0; t.text < ntexts; t.text++) {
        out -= texts[t.text].len;
    }

    t.arena = llm_json_arena_create(4 * out);
    if (t.arena == NULL) {
        return NULL;
    }

    llm_json_tree_init(&t, t.arena, p, n, texts, ntexts, mark, mark_len);
    llm_json_tree_space(&t);

    root = llm_json_tree_value(&t);

    if (root == NULL) {
        llm_json_arena_free(t.arena);
        return NULL;
    }

    *arena = t.arena;

    return root;
}


/*
 * A tree of p in an arena that has others (the request's pieces); p
 * NULL: an empty object, without bytes of its own, to add to
 */

llm_json_t *
llm_json_tree_in(llm_json_arena_t *a, const char *p, size_t n)
{
    llm_json_t       *j;
    llm_json_raw_t   *raw;
    llm_json_tree_t   t;

    if (p == NULL) {
        raw = llm_json_arena_alloc(a, sizeof(llm_json_raw_t)
                                      + sizeof(llm_json_t));
        if (raw == NULL) {
            return NULL;
        }

        raw->start = NULL;
        raw->end = NULL;

        j = (llm_json_t *) (raw + 1);
        memset(j, 0, sizeof(llm_json_t));
        j->type = cJSON_Object;

        return j;
    }

    llm_json_tree_init(&t, a, p, n, NULL, 0, NULL, 0);

    return llm_json_tree_value(&t);
}


int
llm_json_arena_raw(llm_json_arena_t *a, llm_json_t *j, const char **start,
    size_t *len)
{
    llm_json_raw_t  *raw;

    if (j == NULL
        || ((j->type & 0xff) != cJSON_Object
            && (j->type & 0xff) != cJSON_Array))
    {
        return 0;
    }

    /* a node of this arena (not, say, a cJSON_Duplicate() of one) */

    if (!llm_json_arena_owns(a, j)) {
        return 0;
    }

    raw = (llm_json_raw_t *) j - 1;

    if (raw->start == NULL) {
        return 0;
    }

    *start = raw->start;
    *len = raw->end - raw->start;

    return 1;
}
