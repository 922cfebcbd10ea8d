/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Incremental Server-Sent Events framer (pure C, no nginx headers).
 *
 * Feed it the upstream body as it arrives, split anywhere; it calls the
 * handler once per complete event.  Line ends are LF, CRLF or CR (a CRLF
 * split across two feeds is one line end).  Comments (":...") and fields
 * other than "event" and "data" are ignored; data lines are joined with
 * LF.  A blank line dispatches the event if at least one data line was
 * seen, even an empty one.
 *
 * An event that lies within one input chunk and has a single data line
 * is passed to the handler as pointers into that chunk; only events or
 * lines spanning feeds are copied.  The pointers are valid only during
 * the handler call.  Buffers are reused, so memory tracks the largest
 * event, not the number of events.
 *
 * After LLM_ERROR or LLM_SSE_TOO_LARGE the framer refuses further input
 * (returns the same error) until llm_sse_reset().
 */

#ifndef _LLM_SSE_H_INCLUDED_
#define _LLM_SSE_H_INCLUDED_


#include <stddef.h>

#include "llm_buf.h"


#define LLM_SSE_TOO_LARGE        -2
#define LLM_SSE_DEFAULT_MAX      (16 * 1024 * 1024)


/* non-zero return stops llm_sse_feed(), which then returns that value */
typedef int (*llm_sse_event_pt)(void *data, const char *event,
    size_t event_len, const char *payload, size_t payload_len);


typedef struct {
    llm_buf_t      line;          /* partial line left by the last feed */
    llm_buf_t      data;          /* data lines joined, when copied */
    llm_buf_t      event;         /* event name, when copied */

    /* data/event still pointing into the current input, or NULL */
    const char    *data_ref;
    size_t         data_ref_len;
    const char    *event_ref;
    size_t         event_ref_len;

    size_t         max_event;
    int            error;

    unsigned       cr:1;          /* last feed ended with CR */
    unsigned       has_data:1;    /* a data line was seen */
} llm_sse_t;


/* max_event: max bytes of one event (data + name + current line), 0: 16M */
void llm_sse_init(llm_sse_t *sse, size_t max_event);

/* LLM_OK, LLM_ERROR, LLM_SSE_TOO_LARGE or the handler's non-zero value */
int llm_sse_feed(llm_sse_t *sse, const char *p, size_t n,
    llm_sse_event_pt handler, void *data);

/* 1: a partial line, data or an event name awaits a blank line */
int llm_sse_pending(llm_sse_t *sse);

/* appends one event as it is framed again: event (if any), data lines */
int llm_sse_frame(llm_buf_t *out, const char *event, size_t event_len,
    const char *data, size_t n);

/* forget the stream and any error, keep the memory */
void llm_sse_reset(llm_sse_t *sse);
void llm_sse_free(llm_sse_t *sse);


#endif /* _LLM_SSE_H_INCLUDED_ */
