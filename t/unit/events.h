/*
 * The named events of a client stream a writer made (Messages,
 * Responses), each decoded, for the unit tests that read them back; and
 * a recorded provider stream replayed through its dialect to make them.
 */

#ifndef _LLM_TEST_EVENTS_H_INCLUDED_
#define _LLM_TEST_EVENTS_H_INCLUDED_


#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llm_buf.h"
#include "llm_dialect.h"
#include "llm_sse.h"


#define EVENTS_MAX  2048


typedef struct {
    int      n;
    char     name[EVENTS_MAX][64];
    cJSON   *data[EVENTS_MAX];     /* NULL: not JSON */
} events_t;


static inline int
events_collect(void *data, const char *event, size_t event_len,
    const char *p, size_t n)
{
    events_t  *ev = data;

    if (ev->n == EVENTS_MAX) {
        return LLM_OK;
    }

    snprintf(ev->name[ev->n], sizeof(ev->name[0]), "%.*s", (int) event_len,
             event);
    ev->data[ev->n++] = cJSON_ParseWithLength(p, n);

    return LLM_OK;
}


static inline void
events_read(events_t *ev, llm_buf_t *out)
{
    llm_sse_t  sse;

    memset(ev, 0, sizeof(events_t));
    llm_sse_init(&sse, 0);
    llm_sse_feed(&sse, out->data, out->len, events_collect, ev);
    llm_sse_free(&sse);
}


static inline void
events_free(events_t *ev)
{
    int  i;

    for (i = 0; i < ev->n; i++) {
        cJSON_Delete(ev->data[i]);
    }
}


/* a provider's recorded stream through its dialect into resp's writer */

typedef struct {
    const llm_dialect_t  *d;
    llm_response_t       *resp;
    llm_buf_t            *out;
} events_feed_t;


static inline int
events_feed(void *data, const char *e, size_t el, const char *p, size_t n)
{
    events_feed_t  *f = data;

    return (f->d->stream_event(f->resp, e, el, p, n, f->out) == LLM_DONE)
           ? LLM_DONE : LLM_OK;
}


static inline void
events_replay(const llm_dialect_t *d, llm_response_t *resp, llm_buf_t *body,
    llm_buf_t *out)
{
    llm_sse_t      sse;
    events_feed_t  f;

    f.d = d;
    f.resp = resp;
    f.out = out;

    llm_sse_init(&sse, 0);
    llm_sse_feed(&sse, body->data, body->len, events_feed, &f);
    llm_sse_free(&sse);

    if (!resp->done) {
        d->stream_end(resp, out);
    }
}


#endif /* _LLM_TEST_EVENTS_H_INCLUDED_ */
