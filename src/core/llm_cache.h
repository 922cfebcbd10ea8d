/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * What the response cache needs from the core, free of nginx:
 *
 *   - the key's canonical form of a request body (llm_cache_key.c): its
 *     top-level members sorted by name, without the members that cannot
 *     change the answer, with no whitespace outside strings; fed in
 *     pieces to a hash, never built whole;
 *   - the record of an answer (llm_record.c): the neutral events of
 *     llm_response.h, kept compact as they happen (the texts of one part
 *     joined, a tool call's arguments joined), and replayed through any
 *     writer: a whole object or a stream, in the client's format.  A
 *     replay may follow a record that is still growing (a live stream
 *     handed to waiting clients): its cursor says what was replayed.
 */

#ifndef _LLM_CACHE_H_INCLUDED_
#define _LLM_CACHE_H_INCLUDED_


#include "llm_buf.h"
#include "llm_response.h"


/* the canonical form, piece by piece */
typedef void (*llm_key_feed_pt)(void *data, const char *p, size_t n);

/*
 * LLM_OK: the body's canonical form went to feed; skip is a NULL-ended
 * list of member names left out.  LLM_ERROR: not a JSON object.
 * LLM_DECLINED: a member named in avoid is there, or more top-level
 * members than the key takes: not to be cached (nothing was fed).
 */
int llm_cache_key(const char *p, size_t n, const char *const *skip,
    const char *const *avoid, llm_key_feed_pt feed, void *data);

/* JSON text without whitespace outside strings, to feed */
void llm_cache_key_minify(const char *p, size_t n, llm_key_feed_pt feed,
    void *data);


typedef struct llm_record_s {
    llm_buf_t     buf;
    size_t        last;          /* the offset of the last event */
    unsigned      finished:1;    /* a choice finished */
    unsigned      unfinished:1;  /* a choice ended otherwise (an error) */
    unsigned      ended:1;       /* the end, with usage */
    unsigned      bad:1;         /* out of memory: not to be kept */
} llm_record_t;


/* where a replay is: the next event, and how much of a growing one */

typedef struct {
    size_t        off;
    size_t        sent;          /* the event's literal replayed so far */
    unsigned      started:1;     /* the event was replayed in part */
    unsigned      ended:1;       /* the end was replayed */
} llm_record_cursor_t;


void llm_record_reset(llm_record_t *rec);
void llm_record_free(llm_record_t *rec);

/* called by the events (llm_response.c); a failure marks the record bad */
void llm_record_start(llm_record_t *rec, const llm_response_t *resp);
void llm_record_text(llm_record_t *rec, int choice, llm_part_e part,
    const char *s, size_t n);
void llm_record_tool(llm_record_t *rec, int choice, int index,
    const llm_tool_event_t *tool);
void llm_record_tool_args(llm_record_t *rec, int choice, int index,
    const char *s, size_t n);
void llm_record_finish(llm_record_t *rec, int choice, const char *reason);
void llm_record_end(llm_record_t *rec, const llm_usage_t *usage);

/* a complete answer that may be kept: ended, every choice finished well */
int llm_record_complete(const llm_record_t *rec);

/*
 * The events of the record [p, p + n) from cur through resp's writer to
 * out.  With final set the record is whole: every event is replayed and
 * the replay ends; without it the last event may still grow and is
 * replayed as far as it goes.  scratch holds pieces of growing literals.
 * LLM_OK, LLM_DONE (the end was replayed), LLM_ERROR (memory, or not a
 * record).
 */
int llm_record_replay(const char *p, size_t n, llm_record_cursor_t *cur,
    int final, llm_response_t *resp, llm_buf_t *out, llm_buf_t *scratch);

/* the model name its client saw, not NUL-terminated: LLM_OK, LLM_ERROR */
int llm_record_model(const char *p, size_t n, const char **model,
    size_t *len);

/* the usage of a whole record: LLM_OK, LLM_ERROR (no end) */
int llm_record_usage(const char *p, size_t n, llm_usage_t *usage);


#endif /* _LLM_CACHE_H_INCLUDED_ */
