/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Incremental SSE framer: see llm_sse.h.
 */

#include <string.h>

#include "llm_sse.h"


static const char *llm_sse_find_eol(const char *p, const char *end);
static size_t llm_sse_size(llm_sse_t *sse);
static int llm_sse_line(llm_sse_t *sse, const char *p, size_t n,
    int in_input, llm_sse_event_pt handler, void *data);
static int llm_sse_add_data(llm_sse_t *sse, const char *p, size_t n,
    int in_input);
static int llm_sse_set_event(llm_sse_t *sse, const char *p, size_t n,
    int in_input);
static int llm_sse_dispatch(llm_sse_t *sse, llm_sse_event_pt handler,
    void *data);
static int llm_sse_stash(llm_sse_t *sse);
static void llm_sse_clear_event(llm_sse_t *sse);
static int llm_sse_fail(llm_sse_t *sse, int rc);


void
llm_sse_init(llm_sse_t *sse, size_t max_event)
{
    memset(sse, 0, sizeof(llm_sse_t));

    sse->max_event = max_event ? max_event : LLM_SSE_DEFAULT_MAX;
}


int
llm_sse_feed(llm_sse_t *sse, const char *p, size_t n,
    llm_sse_event_pt handler, void *data)
{
    int          rc;
    size_t       len;
    const char  *end, *eol, *line;

    if (sse->error) {
        return sse->error;
    }

    if (n == 0) {
        return LLM_OK;
    }

    end = p + n;

    /* the LF of a CRLF split across feeds */
    if (sse->cr) {
        sse->cr = 0;

        if (*p == '\n') {
            p++;
        }
    }

    while (p < end) {

        eol = llm_sse_find_eol(p, end);

        if (eol == NULL) {
            len = (size_t) (end - p);

            if (sse->line.len + len > sse->max_event - llm_sse_size(sse)) {
                return llm_sse_fail(sse, LLM_SSE_TOO_LARGE);
            }

            if (llm_buf_append(&sse->line, p, len) != LLM_OK) {
                return llm_sse_fail(sse, LLM_ERROR);
            }

            break;
        }

        line = p;
        len = (size_t) (eol - p);

        if (*eol == '\n') {
            p = eol + 1;

        } else if (eol + 1 < end) {
            p = eol + (eol[1] == '\n' ? 2 : 1);

        } else {
            p = end;
            sse->cr = 1;
        }

        if (sse->line.len + len > sse->max_event - llm_sse_size(sse)) {
            return llm_sse_fail(sse, LLM_SSE_TOO_LARGE);
        }

        if (sse->line.len == 0) {
            rc = llm_sse_line(sse, line, len, 1, handler, data);

        } else {
            if (llm_buf_append(&sse->line, line, len) != LLM_OK) {
                return llm_sse_fail(sse, LLM_ERROR);
            }

            /* nothing writes sse->line while the line is parsed */
            len = sse->line.len;
            sse->line.len = 0;

            rc = llm_sse_line(sse, sse->line.data, len, 0, handler, data);
        }

        if (rc != LLM_OK) {
            if (sse->error) {
                return llm_sse_fail(sse, sse->error);
            }

            /* handler stop: the rest of the input is dropped */
            return rc;
        }
    }

    /* the input goes away after this call */
    if (llm_sse_stash(sse) != LLM_OK) {
        return llm_sse_fail(sse, LLM_ERROR);
    }

    return LLM_OK;
}


int
llm_sse_pending(llm_sse_t *sse)
{
    return sse->line.len || sse->has_data || llm_sse_size(sse);
}


void
llm_sse_reset(llm_sse_t *sse)
{
    sse->line.len = 0;
    llm_sse_clear_event(sse);
    sse->error = 0;
    sse->cr = 0;
}


void
llm_sse_free(llm_sse_t *sse)
{
    llm_buf_free(&sse->line);
    llm_buf_free(&sse->data);
    llm_buf_free(&sse->event);
    llm_sse_reset(sse);
}


/* first CR or LF; memchr() is much faster than a byte loop */

static const char *
llm_sse_find_eol(const char *p, const char *end)
{
    const char  *lf, *cr;

    lf = memchr(p, '\n', (size_t) (end - p));
    cr = memchr(p, '\r', (size_t) ((lf ? lf : end) - p));

    return cr ? cr : lf;
}


/* bytes held by the event being built, not counting the current line */

static size_t
llm_sse_size(llm_sse_t *sse)
{
    size_t  n;

    n = sse->data_ref ? sse->data_ref_len : sse->data.len;
    n += sse->event_ref ? sse->event_ref_len : sse->event.len;

    return n;
}


static int
llm_sse_line(llm_sse_t *sse, const char *p, size_t n, int in_input,
    llm_sse_event_pt handler, void *data)
{
    size_t       flen, vlen;
    const char  *colon, *value;

    if (n == 0) {
        if (sse->has_data) {
            return llm_sse_dispatch(sse, handler, data);
        }

        llm_sse_clear_event(sse);
        return LLM_OK;
    }

    if (p[0] == ':') {
        return LLM_OK;
    }

    colon = memchr(p, ':', n);

    if (colon) {
        flen = (size_t) (colon - p);
        value = colon + 1;
        vlen = n - flen - 1;

        if (vlen && value[0] == ' ') {
            value++;
            vlen--;
        }

    } else {
        flen = n;
        value = p + n;
        vlen = 0;
    }

    if (flen == 4 && memcmp(p, "data", 4) == 0) {
        return llm_sse_add_data(sse, value, vlen, in_input);
    }

    if (flen == 5 && memcmp(p, "event", 5) == 0) {
        return llm_sse_set_event(sse, value, vlen, in_input);
    }

    /* id, retry and unknown fields */

    return LLM_OK;
}


static int
llm_sse_add_data(llm_sse_t *sse, const char *p, size_t n, int in_input)
{
    if (!sse->has_data) {
        sse->has_data = 1;

        if (in_input) {
            /* the common case: refer to the input, copy nothing */
            sse->data_ref = p;
            sse->data_ref_len = n;
            return LLM_OK;
        }

        sse->data.len = 0;

        if (llm_buf_append(&sse->data, p, n) != LLM_OK) {
            sse->error = LLM_ERROR;
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (sse->data_ref) {
        sse->data.len = 0;

        if (llm_buf_append(&sse->data, sse->data_ref, sse->data_ref_len)
            != LLM_OK)
        {
            sse->error = LLM_ERROR;
            return LLM_ERROR;
        }

        sse->data_ref = NULL;
    }

    if (llm_buf_reserve(&sse->data, n + 1) != LLM_OK) {
        sse->error = LLM_ERROR;
        return LLM_ERROR;
    }

    sse->data.data[sse->data.len++] = '\n';
    (void) llm_buf_append(&sse->data, p, n);

    return LLM_OK;
}


static int
llm_sse_set_event(llm_sse_t *sse, const char *p, size_t n, int in_input)
{
    sse->event.len = 0;

    if (in_input) {
        sse->event_ref = p;
        sse->event_ref_len = n;
        return LLM_OK;
    }

    sse->event_ref = NULL;

    if (llm_buf_append(&sse->event, p, n) != LLM_OK) {
        sse->error = LLM_ERROR;
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_sse_dispatch(llm_sse_t *sse, llm_sse_event_pt handler, void *data)
{
    int          rc;
    size_t       elen, plen;
    const char  *ev, *pl;

    if (sse->event_ref) {
        ev = sse->event_ref;
        elen = sse->event_ref_len;

    } else {
        ev = sse->event.data;
        elen = sse->event.len;
    }

    if (sse->data_ref) {
        pl = sse->data_ref;
        plen = sse->data_ref_len;

    } else {
        pl = sse->data.data;
        plen = sse->data.len;
    }

    /* never hand out NULL, even for empty strings */

    if (elen == 0) {
        ev = "";
    }

    if (plen == 0) {
        pl = "";
    }

    rc = handler(data, ev, elen, pl, plen);

    llm_sse_clear_event(sse);

    return rc;
}


/* copy what still refers to the input into our own buffers */

static int
llm_sse_stash(llm_sse_t *sse)
{
    if (sse->data_ref) {
        sse->data.len = 0;

        if (llm_buf_append(&sse->data, sse->data_ref, sse->data_ref_len)
            != LLM_OK)
        {
            return LLM_ERROR;
        }

        sse->data_ref = NULL;
    }

    if (sse->event_ref) {
        sse->event.len = 0;

        if (llm_buf_append(&sse->event, sse->event_ref, sse->event_ref_len)
            != LLM_OK)
        {
            return LLM_ERROR;
        }

        sse->event_ref = NULL;
    }

    return LLM_OK;
}


static void
llm_sse_clear_event(llm_sse_t *sse)
{
    sse->data.len = 0;
    sse->event.len = 0;
    sse->data_ref = NULL;
    sse->data_ref_len = 0;
    sse->event_ref = NULL;
    sse->event_ref_len = 0;
    sse->has_data = 0;
}


/* the error sticks until llm_sse_reset(); drop refs into the input */

static int
llm_sse_fail(llm_sse_t *sse, int rc)
{
    sse->line.len = 0;
    llm_sse_clear_event(sse);
    sse->error = rc;

    return rc;
}


int
llm_sse_frame(llm_buf_t *out, const char *event, size_t event_len,
    const char *data, size_t n)
{
    const char  *nl, *end;

    if (llm_buf_reserve(out, event_len + n + 32) != LLM_OK
        || (event_len
            && (llm_buf_append_lit(out, "event: ") != LLM_OK
                || llm_buf_append(out, event, event_len) != LLM_OK
                || llm_buf_append_lit(out, "\n") != LLM_OK)))
    {
        return LLM_ERROR;
    }

    /* the data lines were joined with LF: each is a data line again */

    end = data + n;

    for ( ;; ) {
        nl = memchr(data, '\n', end - data);

        if (llm_buf_append_lit(out, "data: ") != LLM_OK
            || llm_buf_append(out, data, (nl ? nl : end) - data) != LLM_OK
            || llm_buf_append_lit(out, "\n") != LLM_OK)
        {
            return LLM_ERROR;
        }

        if (nl == NULL) {
            break;
        }

        data = nl + 1;
    }

    return llm_buf_append_lit(out, "\n");
}
