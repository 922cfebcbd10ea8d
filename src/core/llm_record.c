/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The record of an answer (llm_cache.h): its events, each a fixed head
 * and its literals, one after the other.  A text that follows a text of
 * the same choice and part joins it (the first literal's closing quote
 * and the second's opening quote go), and so do a tool call's arguments:
 * a record is about the size of the answer, and a replay writes one
 * piece per part.  Only the last event grows, and only at the record's
 * end, which is what lets a replay follow a record still being written.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_cache.h"


enum {
    LLM_REC_START = 1,
    LLM_REC_TEXT,
    LLM_REC_TOOL,
    LLM_REC_ARGS,
    LLM_REC_FINISH,
    LLM_REC_END
};


/*
 * len[]: the literals that follow, in order (START: created, the id, the
 * model name the client saw)
 */

typedef struct {
    uint8_t       type;
    uint8_t       part;
    uint16_t      reserved;
    int32_t       choice;
    int32_t       index;
    uint32_t      len[3];
} llm_rec_head_t;


/* END's payload */

typedef struct {
    int64_t       n[5];
    int64_t       set;
} llm_rec_usage_t;


static void
llm_record_event(llm_record_t *rec, int type, int choice, int index,
    int part, const char *a, size_t na, const char *b, size_t nb,
    const char *c, size_t nc)
{
    llm_rec_head_t  h;

    if (rec->bad) {
        return;
    }

    memset(&h, 0, sizeof(llm_rec_head_t));
    h.type = (uint8_t) type;
    h.part = (uint8_t) part;
    h.choice = choice;
    h.index = index;
    h.len[0] = (uint32_t) na;
    h.len[1] = (uint32_t) nb;
    h.len[2] = (uint32_t) nc;

    if (llm_buf_reserve(&rec->buf, sizeof(h) + na + nb + nc) != LLM_OK) {
        rec->bad = 1;
        return;
    }

    rec->last = rec->buf.len;

    memcpy(rec->buf.data + rec->buf.len, &h, sizeof(h));
    rec->buf.len += sizeof(h);

    (void) llm_buf_append(&rec->buf, a, na);
    (void) llm_buf_append(&rec->buf, b, nb);
    (void) llm_buf_append(&rec->buf, c, nc);
}


/* the last event, when it may grow by a literal of this kind */

static llm_rec_head_t *
llm_record_growing(llm_record_t *rec, int type, int choice, int index,
    int part, llm_rec_head_t *h)
{
    if (rec->bad || rec->buf.len == 0) {
        return NULL;
    }

    memcpy(h, rec->buf.data + rec->last, sizeof(llm_rec_head_t));

    if (h->choice != choice) {
        return NULL;
    }

    if (type == LLM_REC_TEXT) {
        return (h->type == LLM_REC_TEXT && h->part == part) ? h : NULL;
    }

    /* arguments: a tool call's, or more of them */
    return ((h->type == LLM_REC_TOOL || h->type == LLM_REC_ARGS)
            && h->index == index) ? h : NULL;
}


/* the literal s joins the record's last literal, of length *len */

static void
llm_record_join(llm_record_t *rec, uint32_t *len, const char *s, size_t n)
{
    if (*len == 0) {
        if (llm_buf_append(&rec->buf, s, n) != LLM_OK) {
            rec->bad = 1;
            return;
        }

        *len = (uint32_t) n;
        return;
    }

    /* "ab" "cd" → "abcd": both are whole literals */

    rec->buf.len--;

    if (llm_buf_append(&rec->buf, s + 1, n - 1) != LLM_OK) {
        rec->bad = 1;
        return;
    }

    *len += (uint32_t) (n - 2);
}


void
llm_record_reset(llm_record_t *rec)
{
    llm_buf_t  keep;

    keep = rec->buf;
    memset(rec, 0, sizeof(llm_record_t));
    rec->buf = keep;
    llm_buf_reset(&rec->buf);
}


void
llm_record_free(llm_record_t *rec)
{
    llm_buf_free(&rec->buf);
    memset(rec, 0, sizeof(llm_record_t));
}


void
llm_record_start(llm_record_t *rec, const llm_response_t *resp)
{
    int64_t  created;

    created = resp->created;

    llm_record_event(rec, LLM_REC_START, 0, 0, 0, (char *) &created,
                     sizeof(created), resp->id, strlen(resp->id),
                     resp->client_model,
                     resp->client_model ? strlen(resp->client_model) : 0);
}


void
llm_record_text(llm_record_t *rec, int choice, llm_part_e part,
    const char *s, size_t n)
{
    llm_rec_head_t  h;

    if (n < 2) {
        return;
    }

    if (llm_record_growing(rec, LLM_REC_TEXT, choice, 0, part, &h)) {
        llm_record_join(rec, &h.len[0], s, n);
        memcpy(rec->buf.data + rec->last, &h, sizeof(h));
        return;
    }

    llm_record_event(rec, LLM_REC_TEXT, choice, 0, part, s, n, NULL, 0,
                     NULL, 0);
}


void
llm_record_tool(llm_record_t *rec, int choice, int index,
    const llm_tool_event_t *tool)
{
    llm_record_event(rec, LLM_REC_TOOL, choice, index, 0, tool->id,
                     tool->id_len, tool->name, tool->name_len,
                     tool->args, tool->args ? tool->args_len : 0);
}


void
llm_record_tool_args(llm_record_t *rec, int choice, int index,
    const char *s, size_t n)
{
    uint32_t       *len;
    llm_rec_head_t  h;

    if (n < 2) {
        return;
    }

    if (llm_record_growing(rec, LLM_REC_ARGS, choice, index, 0, &h)) {
        len = (h.type == LLM_REC_TOOL) ? &h.len[2] : &h.len[0];
        llm_record_join(rec, len, s, n);
        memcpy(rec->buf.data + rec->last, &h, sizeof(h));
        return;
    }

    llm_record_event(rec, LLM_REC_ARGS, choice, index, 0, s, n, NULL, 0,
                     NULL, 0);
}


void
llm_record_finish(llm_record_t *rec, int choice, const char *reason)
{
    static const char  *good[] = {
        "stop", "length", "tool_calls", "content_filter", NULL
    };

    const char  **g;

    for (g = good; *g; g++) {
        if (strcmp(reason, *g) == 0) {
            break;
        }
    }

    if (*g) {
        rec->finished = 1;

    } else {
        rec->unfinished = 1;
    }

    llm_record_event(rec, LLM_REC_FINISH, choice, 0, 0, reason,
                     strlen(reason), NULL, 0, NULL, 0);
}


void
llm_record_end(llm_record_t *rec, const llm_usage_t *usage)
{
    llm_rec_usage_t  u;

    u.n[0] = usage->prompt_tokens;
    u.n[1] = usage->completion_tokens;
    u.n[2] = usage->total_tokens;
    u.n[3] = usage->cached_tokens;
    u.n[4] = usage->reasoning_tokens;
    u.set = usage->set;

    llm_record_event(rec, LLM_REC_END, 0, 0, 0, (char *) &u, sizeof(u),
                     NULL, 0, NULL, 0);

    rec->ended = 1;
}


int
llm_record_complete(const llm_record_t *rec)
{
    return rec->ended && rec->finished && !rec->unfinished && !rec->bad;
}


/* the event at off: its head, its literals; 0: not a whole event */

static size_t
llm_record_read(const char *p, size_t n, size_t off, llm_rec_head_t *h,
    const char **lit)
{
    size_t  size;

    if (n - off < sizeof(llm_rec_head_t)) {
        return 0;
    }

    memcpy(h, p + off, sizeof(llm_rec_head_t));

    size = (size_t) h->len[0] + h->len[1] + h->len[2];

    if (size > n - off - sizeof(llm_rec_head_t)) {
        return 0;
    }

    *lit = p + off + sizeof(llm_rec_head_t);

    return sizeof(llm_rec_head_t) + size;
}


/* a string literal from a record: at least its two quotes */

static int
llm_record_literal(const char *s, size_t n)
{
    return n >= 2 && s[0] == '"' && s[n - 1] == '"';
}


/* the part of a growing literal not yet replayed, as a literal */

static int
llm_record_rest(const char *s, size_t n, size_t sent, llm_buf_t *scratch)
{
    llm_buf_reset(scratch);

    if (llm_buf_append_lit(scratch, "\"") != LLM_OK
        || llm_buf_append(scratch, s + sent - 1, n - sent + 1) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_record_usage_read(const char *lit, size_t n, llm_usage_t *usage)
{
    llm_rec_usage_t  u;

    if (n != sizeof(u)) {
        return LLM_ERROR;
    }

    memcpy(&u, lit, sizeof(u));

    usage->prompt_tokens = u.n[0];
    usage->completion_tokens = u.n[1];
    usage->total_tokens = u.n[2];
    usage->cached_tokens = u.n[3];
    usage->reasoning_tokens = u.n[4];
    usage->set = (int) u.set;

    return LLM_OK;
}


int
llm_record_replay(const char *p, size_t n, llm_record_cursor_t *cur,
    int final, llm_response_t *resp, llm_buf_t *out, llm_buf_t *scratch)
{
    int               rc, last;
    char              reason[32];
    size_t            size, len, *grow;
    const char       *lit, *s;
    llm_rec_head_t    h;
    llm_tool_event_t  tool;

    while (cur->off < n && !cur->ended) {

        size = llm_record_read(p, n, cur->off, &h, &lit);
        if (size == 0) {
            return LLM_ERROR;
        }

        last = (cur->off + size == n);
        rc = LLM_OK;

        switch (h.type) {

        case LLM_REC_START:
            if (h.len[0] != sizeof(int64_t)
                || h.len[1] >= sizeof(resp->id))
            {
                return LLM_ERROR;
            }

            if (resp->id[0] == '\0') {
                memcpy(resp->id, lit + h.len[0], h.len[1]);
                resp->id[h.len[1]] = '\0';
            }

            memcpy(&resp->created, lit, sizeof(int64_t));

            rc = llm_event_start(resp, out);
            break;

        case LLM_REC_TEXT:
        case LLM_REC_ARGS:
            if (!llm_record_literal(lit, h.len[0]) || h.part > 2) {
                return LLM_ERROR;
            }

            len = h.len[0];

            if (!cur->started) {
                /* the whole literal as it stands */
                if (h.type == LLM_REC_ARGS) {
                    rc = llm_event_tool_args(resp, h.choice, h.index, lit,
                                             len, out);

                } else if (final) {
                    /* a whole record stays until the end: borrowed */
                    rc = llm_event_text(resp, h.choice, (llm_part_e) h.part,
                                        lit, len, out);

                } else {
                    rc = llm_event_text_copy(resp, h.choice,
                                             (llm_part_e) h.part, lit, len,
                                             out);
                }
                cur->sent = len;
                cur->started = 1;

            } else if (len > cur->sent) {
                rc = llm_record_rest(lit, len, cur->sent, scratch);

                if (rc == LLM_OK) {
                    rc = (h.type == LLM_REC_TEXT)
                         ? llm_event_text_copy(resp, h.choice,
                                               (llm_part_e) h.part,
                                               scratch->data, scratch->len,
                                               out)
                         : llm_event_tool_args(resp, h.choice, h.index,
                                               scratch->data, scratch->len,
                                               out);
                }

                cur->sent = len;
            }

            break;

        case LLM_REC_TOOL:
            s = lit + h.len[0] + h.len[1];
            len = h.len[2];

            if (!llm_record_literal(lit, h.len[0])
                || !llm_record_literal(lit + h.len[0], h.len[1])
                || (len && !llm_record_literal(s, len)))
            {
                return LLM_ERROR;
            }

            grow = &cur->sent;

            if (!cur->started) {
                tool.id = lit;
                tool.id_len = h.len[0];
                tool.name = lit + h.len[0];
                tool.name_len = h.len[1];
                tool.args = len ? s : NULL;
                tool.args_len = len;

                rc = llm_event_tool(resp, h.choice, h.index, &tool, out);
                *grow = len;
                cur->started = 1;

            } else if (len > *grow) {
                rc = (*grow == 0)
                     ? llm_event_tool_args(resp, h.choice, h.index, s, len,
                                           out)
                     : llm_record_rest(s, len, *grow, scratch);

                if (rc == LLM_OK && *grow) {
                    rc = llm_event_tool_args(resp, h.choice, h.index,
                                             scratch->data, scratch->len,
                                             out);
                }

                *grow = len;
            }

            break;

        case LLM_REC_FINISH:
            len = h.len[0] < sizeof(reason) ? h.len[0] : sizeof(reason) - 1;
            memcpy(reason, lit, len);
            reason[len] = '\0';

            rc = llm_event_finish(resp, h.choice, reason, out);
            break;

        case LLM_REC_END:
            if (llm_record_usage_read(lit, h.len[0], &resp->usage)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            if (llm_event_end(resp, out) != LLM_DONE) {
                return LLM_ERROR;
            }

            cur->ended = 1;
            break;

        default:
            return LLM_ERROR;
        }

        if (rc != LLM_OK) {
            return LLM_ERROR;
        }

        if (last && !final
            && (h.type == LLM_REC_TEXT || h.type == LLM_REC_TOOL
                || h.type == LLM_REC_ARGS))
        {
            /* it may grow yet: the cursor stays on it */
            break;
        }

        cur->off += size;
        cur->started = 0;
        cur->sent = 0;
    }

    return cur->ended ? LLM_DONE : LLM_OK;
}


int
llm_record_model(const char *p, size_t n, const char **model, size_t *len)
{
    const char      *lit;
    llm_rec_head_t   h;

    if (llm_record_read(p, n, 0, &h, &lit) == 0 || h.type != LLM_REC_START
        || h.len[2] == 0)
    {
        return LLM_ERROR;
    }

    *model = lit + h.len[0] + h.len[1];
    *len = h.len[2];

    return LLM_OK;
}


int
llm_record_usage(const char *p, size_t n, llm_usage_t *usage)
{
    size_t           off, size;
    const char      *lit;
    llm_rec_head_t   h;

    for (off = 0; off < n; off += size) {
        size = llm_record_read(p, n, off, &h, &lit);
        if (size == 0) {
            return LLM_ERROR;
        }

        if (h.type == LLM_REC_END) {
            return llm_record_usage_read(lit, h.len[0], usage);
        }
    }

    return LLM_ERROR;
}
