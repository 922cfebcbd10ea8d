/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The canonical form of a request body for the cache key: the same
 * request written another way (members in another order, other
 * whitespace, stream or not) has the same form.  Only the top level is
 * reordered: inside a value, order is meaning (messages) or the client's
 * own (a schema).  The scan is its own and strict, since it also meets
 * bodies nothing validated (the fuzz target).
 */

#include <string.h>

#include "llm_cache.h"


#define LLM_KEY_MEMBERS  128


typedef struct {
    const char   *name;        /* the name's literal, quotes included */
    size_t        name_len;
    const char   *value;
    size_t        value_len;
} llm_key_member_t;


static const char *
llm_key_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }

    return p;
}


/*
 * past a string literal at p ('"'); NULL: unterminated.  Strings are most
 * of a request's bytes: memchr finds each quote, and a quote after an odd
 * run of backslashes is escaped.
 */

static const char *
llm_key_string(const char *p, const char *end)
{
    const char  *q, *b;

    for (p++; p < end; p = q + 1) {

        q = memchr(p, '"', end - p);
        if (q == NULL) {
            return NULL;
        }

        for (b = q; b > p && b[-1] == '\\'; b--) { /* void */ }

        if (((q - b) & 1) == 0) {
            return q + 1;
        }
    }

    return NULL;
}


/* past one value at p; NULL: malformed */

static const char *
llm_key_value(const char *p, const char *end)
{
    int  depth;

    if (p >= end) {
        return NULL;
    }

    if (*p == '"') {
        return llm_key_string(p, end);
    }

    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' '
               && *p != '\t' && *p != '\r' && *p != '\n' && *p != '"'
               && *p != '{' && *p != '[' && *p != ':')
        {
            p++;
        }

        return p;
    }

    depth = 0;

    while (p < end) {

        switch (*p) {

        case '"':
            p = llm_key_string(p, end);
            if (p == NULL) {
                return NULL;
            }
            continue;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                return p + 1;
            }
            break;
        }

        p++;
    }

    return NULL;
}


void
llm_cache_key_minify(const char *p, size_t n, llm_key_feed_pt feed,
    void *data)
{
    const char  *end, *run, *q;

    end = p + n;
    run = p;

    while (p < end) {

        if (*p == '"') {
            q = llm_key_string(p, end);
            p = q ? q : end;
            continue;
        }

        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            if (p > run) {
                feed(data, run, p - run);
            }

            run = llm_key_space(p, end);
            p = run;
            continue;
        }

        p++;
    }

    if (p > run) {
        feed(data, run, p - run);
    }
}


/* the member is one of those named */

static int
llm_key_skipped(const llm_key_member_t *m, const char *const *names)
{
    size_t  len;

    for ( /* void */ ; *names; names++) {
        if (m->name[1] != (*names)[0]) {
            continue;
        }

        len = strlen(*names);

        if (m->name_len == len + 2
            && memcmp(m->name + 1, *names, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
llm_key_before(const llm_key_member_t *a, const llm_key_member_t *b)
{
    size_t  len;
    int     rc;

    len = (a->name_len < b->name_len) ? a->name_len : b->name_len;
    rc = memcmp(a->name, b->name, len);

    return rc < 0 || (rc == 0 && a->name_len < b->name_len);
}


int
llm_cache_key(const char *p, size_t n, const char *const *skip,
    const char *const *avoid, llm_key_feed_pt feed, void *data)
{
    int                i, j, count, first;
    const char        *end, *q;
    llm_key_member_t   members[LLM_KEY_MEMBERS], m;

    end = p + n;
    count = 0;

    p = llm_key_space(p, end);

    if (p == end || *p != '{') {
        return LLM_ERROR;
    }

    p = llm_key_space(p + 1, end);

    if (p < end && *p == '}') {
        p++;

    } else {

        for ( ;; ) {
            if (p == end || *p != '"') {
                return LLM_ERROR;
            }

            m.name = p;
            q = llm_key_string(p, end);
            if (q == NULL) {
                return LLM_ERROR;
            }

            m.name_len = q - p;

            p = llm_key_space(q, end);
            if (p == end || *p != ':') {
                return LLM_ERROR;
            }

            p = llm_key_space(p + 1, end);

            q = llm_key_value(p, end);
            if (q == NULL || q == p) {
                return LLM_ERROR;
            }

            m.value = p;
            m.value_len = q - p;

            if (count == LLM_KEY_MEMBERS) {
                return LLM_DECLINED;
            }

            /* in order as they come: a stable insertion */

            for (i = count; i > 0 && llm_key_before(&m, &members[i - 1]);
                 i--)
            {
                members[i] = members[i - 1];
            }

            members[i] = m;
            count++;

            p = llm_key_space(q, end);

            if (p < end && *p == ',') {
                p = llm_key_space(p + 1, end);
                continue;
            }

            if (p < end && *p == '}') {
                p++;
                break;
            }

            return LLM_ERROR;
        }
    }

    if (llm_key_space(p, end) != end) {
        return LLM_ERROR;
    }

    for (j = 0; avoid && j < count; j++) {
        if (llm_key_skipped(&members[j], avoid)) {
            return LLM_DECLINED;
        }
    }

    feed(data, "{", 1);
    first = 1;

    for (j = 0; j < count; j++) {

        if (skip && llm_key_skipped(&members[j], skip)) {
            continue;
        }

        if (!first) {
            feed(data, ",", 1);
        }

        first = 0;

        feed(data, members[j].name, members[j].name_len);
        feed(data, ":", 1);
        llm_cache_key_minify(members[j].value, members[j].value_len, feed,
                             data);
    }

    feed(data, "}", 1);

    return LLM_OK;
}
