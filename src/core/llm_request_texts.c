/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The request's cJSON tree, with its long texts kept out of it: a mark
 * stands in their place, and llm_request_texts_back() puts their own
 * escaped bytes back in a dialect's output.  Parsing and writing a
 * conversation's texts again is most of what a tree costs; its
 * structure (tool calls, schemas) is what the dialects need it for.
 */

#include <stdlib.h>
#include <string.h>

#include "llm_request.h"
#include "llm_json_scan.h"


/* texts kept out of the tree: at least this long, in a body this long */
#define LLM_REQUEST_TEXT_MIN     128
#define LLM_REQUEST_TEXTS_BODY   2048
#define LLM_REQUEST_MARK         '\x7f'
#define LLM_REQUEST_MARK_LEN     8


static int llm_request_mark(const char *p, const char *last);
static void llm_request_write_mark(char *p, int i);


llm_json_t *
llm_request_tree(llm_request_t *req)
{
    int  marked;

    if (req->root || req->raw == NULL) {
        return req->root;
    }

    /* a mark could not be told from a client's "\x7f": all in the tree */

    marked = (!req->whole_tree && req->ntexts
              && req->raw_len >= LLM_REQUEST_TEXTS_BODY
              && memchr(req->raw, LLM_REQUEST_MARK, req->raw_len) == NULL);

    /* llm_request_parse() found the body valid */

    req->root = llm_json_tree(req->raw, req->raw_len, req->texts,
                              marked ? req->ntexts : 0,
                              llm_request_write_mark, LLM_REQUEST_MARK_LEN,
                              &req->tree_arena);

    req->marked = (marked && req->root != NULL);

    return req->root;
}


/*
 * A message's content string, kept out of the tree if it is long and
 * starts with a character that is not white space (dialects look at a
 * text's emptiness and white space only)
 */

int
llm_request_text_found(llm_request_t *req, const char *start,
    const char *end)
{
    void                *p;
    llm_request_text_t  *t;

    if ((size_t) (end - start) < LLM_REQUEST_TEXT_MIN + 2
        || start[1] == ' ' || start[1] == '\\' || start[1] == '\t'
        || req->ntexts == 999999)
    {
        return LLM_OK;
    }

    if ((req->ntexts & (req->ntexts + 1)) == 0) {
        /* 0, 1, 3, 7, ...: full, twice the room */
        p = realloc(req->texts,
                    (2 * req->ntexts + 2) * sizeof(llm_request_text_t));
        if (p == NULL) {
            return LLM_ERROR;
        }

        req->texts = p;
    }

    t = &req->texts[req->ntexts++];
    t->start = start + 1;
    t->len = end - start - 2;

    return LLM_OK;
}


const char *
llm_request_call_args(llm_request_t *req, llm_json_t *call)
{
    const char  *s;

    s = llm_json_get_str(llm_json_get_obj(call, "function"), "arguments");

    if (s == NULL || s[strspn(s, " \t\r\n")] == '\0') {
        return "{}";
    }

    return (req->args_checked || llm_json_is_object(s, strlen(s))) ? s
                                                                   : NULL;
}


int
llm_request_print(llm_request_t *req, llm_json_t *j, llm_buf_t *b)
{
    size_t       len;
    const char  *start;

    if (llm_json_arena_raw(req->arena, j, &start, &len)
        || llm_json_arena_raw(req->tree_arena, j, &start, &len))
    {
        return llm_buf_append(b, start, len);
    }

    return llm_json_print(j, b);
}


int
llm_request_texts_back(llm_request_t *req, llm_buf_t *b, size_t from)
{
    int         i;
    char       *p, *last, *m;
    size_t      len;
    llm_buf_t   out;

    if (!req->marked) {
        return LLM_OK;
    }

    /* the size first, then one copy */

    len = b->len;
    last = b->data + b->len;

    for (p = b->data + from;
         (m = memchr(p, LLM_REQUEST_MARK, last - p)) != NULL;
         p = m + LLM_REQUEST_MARK_LEN)
    {
        i = llm_request_mark(m, last);

        if (i < 0 || i >= req->ntexts) {
            return LLM_ERROR;
        }

        len += req->texts[i].len - LLM_REQUEST_MARK_LEN;
    }

    memset(&out, 0, sizeof(llm_buf_t));

    if (llm_buf_reserve(&out, len) != LLM_OK
        || llm_buf_append(&out, b->data, from) != LLM_OK)
    {
        llm_buf_free(&out);
        return LLM_ERROR;
    }

    for (p = b->data + from;
         (m = memchr(p, LLM_REQUEST_MARK, last - p)) != NULL;
         p = m + LLM_REQUEST_MARK_LEN)
    {
        i = llm_request_mark(m, last);

        (void) llm_buf_append(&out, p, m - p);
        (void) llm_buf_append(&out, req->texts[i].start, req->texts[i].len);
    }

    (void) llm_buf_append(&out, p, last - p);

    llm_buf_free(b);
    *b = out;

    return LLM_OK;
}


/* "\x7f" + i in 6 digits + "\x7f" */

static void
llm_request_write_mark(char *p, int i)
{
    int  k;

    p[0] = LLM_REQUEST_MARK;
    p[LLM_REQUEST_MARK_LEN - 1] = LLM_REQUEST_MARK;

    for (k = LLM_REQUEST_MARK_LEN - 2; k > 0; k--) {
        p[k] = (char) ('0' + i % 10);
        i /= 10;
    }
}


/* the text a mark at p stands for; -1: not a mark of this request */

static int
llm_request_mark(const char *p, const char *last)
{
    int  i, k;

    if (last - p < LLM_REQUEST_MARK_LEN
        || p[LLM_REQUEST_MARK_LEN - 1] != LLM_REQUEST_MARK)
    {
        return -1;
    }

    i = 0;

    for (k = 1; k < LLM_REQUEST_MARK_LEN - 1; k++) {
        if (p[k] < '0' || p[k] > '9') {
            return -1;
        }

        i = i * 10 + (p[k] - '0');
    }

    return i;
}
