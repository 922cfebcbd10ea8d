/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The response seam.  A provider dialect turns what its provider sends
 * into a few neutral events (the response starts; text, reasoning or a
 * refusal; a tool call begins, its arguments follow; a choice finishes;
 * the response ends, with its usage; an error) and knows nothing of the
 * client's format.  A writer (llm_writer_t) renders those events in one
 * client format: today OpenAI Chat Completions (llm_writer_openai.c),
 * as chunks of a stream or, for a non-stream response, as one object
 * assembled from the events.  The same events are what a cache stores
 * and what another client format renders.
 *
 * Text and arguments travel as JSON string literals, quotes included,
 * exactly as the provider escaped them: most events are copied, never
 * decoded and encoded again.  In a whole response, what llm_event_text()
 * is given must stay valid until llm_event_end() (it is the provider's
 * body: a writer may point at it); llm_event_text_copy() takes a literal
 * the caller frees, llm_event_text_str() a C string.
 */

#ifndef _LLM_RESPONSE_H_INCLUDED_
#define _LLM_RESPONSE_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"


#define LLM_DONE  1


typedef struct {
    long long    prompt_tokens;
    long long    completion_tokens;
    long long    total_tokens;
    long long    cached_tokens;
    long long    reasoning_tokens;
    int          set;
} llm_usage_t;


/* the kinds of text a choice carries */

typedef enum {
    LLM_PART_CONTENT = 0,
    LLM_PART_REASONING,
    LLM_PART_REFUSAL
} llm_part_e;


/* a tool call's first event: JSON string literals; args may be empty */

typedef struct {
    const char   *id;
    size_t        id_len;
    const char   *name;
    size_t        name_len;
    const char   *args;             /* NULL: no arguments yet ("") */
    size_t        args_len;
} llm_tool_event_t;


typedef struct llm_response_s  llm_response_t;


typedef int (*llm_write_start_pt)(llm_response_t *resp, llm_buf_t *out);
typedef int (*llm_write_text_pt)(llm_response_t *resp, int choice,
    llm_part_e part, const char *s, size_t n, llm_buf_t *out);
typedef int (*llm_write_tool_pt)(llm_response_t *resp, int choice,
    int index, const llm_tool_event_t *tool, llm_buf_t *out);
typedef int (*llm_write_tool_args_pt)(llm_response_t *resp, int choice,
    int index, const char *s, size_t n, llm_buf_t *out);
typedef int (*llm_write_finish_pt)(llm_response_t *resp, int choice,
    const char *reason, llm_buf_t *out);
typedef int (*llm_write_end_pt)(llm_response_t *resp, llm_buf_t *out);
typedef int (*llm_write_error_pt)(llm_response_t *resp, llm_buf_t *out);
typedef void (*llm_write_free_pt)(llm_response_t *resp);


/*
 * A client format.  Each slot renders one event into out (a stream: its
 * frames; a whole response: nothing until end, which writes the object).
 */

typedef struct {
    const char               *name;
    llm_write_start_pt        start;       /* the response begins */
    llm_write_text_pt         text;        /* a piece of one part's text */
    llm_write_tool_pt         tool;        /* a tool call begins */
    llm_write_tool_args_pt    tool_args;   /* more of its arguments */
    llm_write_finish_pt       finish;      /* a choice is finished */
    llm_write_end_pt          end;         /* usage, then the end */
    llm_write_error_pt        error;       /* a stream ends in resp->error */
    llm_write_free_pt         free;        /* releases the writer's state */
} llm_writer_t;


/* the state of one response, stream or not */

struct llm_response_s {
    /* set by the caller */
    const char          *client_model;  /* the model name the client sees */
    int                  include_usage; /* the client asked for usage */
    const char          *secret;        /* the provider key, masked in */
    size_t               secret_len;    /* the provider's error words */
    const llm_writer_t  *writer;        /* the client's format */
    const void          *wconf;         /* the writer's request data */

    /* results, read by the caller */
    llm_usage_t          usage;
    long long            text_bytes;    /* of text and arguments so far */
    char                 finish_reason[32];  /* choice 0's */
    unsigned             first_token:1; /* text or a tool call came */
    unsigned             done:1;        /* the response is complete */
    unsigned             failed:1;      /* ended with an error */
    unsigned             whole:1;       /* not a stream: one object */
    unsigned             transient:1;   /* the event's text is not kept */
    llm_error_t          error;         /* valid when failed */

    /* the response's identity, set by the dialect before start */
    char                 id[128];
    long long            created;

    /* the writer's: usage already written, its own state */
    unsigned             usage_sent:1;
    void                *wstate;

    /* the openai passthrough's copy of the last usage object */
    llm_buf_t            usage_json;

    /* the cache's record of the events (llm_cache.h); NULL: none */
    struct llm_record_s *record;

    /* the dialect's own state: llm_response_state() */
    void                *state;
};


void llm_response_init(llm_response_t *resp, const char *client_model,
    int include_usage);
void llm_response_free(llm_response_t *resp);

/*
 * The dialect's state, size bytes zeroed on first use and kept until
 * llm_response_init() or llm_response_free(); NULL: out of memory.
 */
void *llm_response_state(llm_response_t *resp, size_t size);

/* the events; each returns LLM_OK or LLM_ERROR (memory) */
int llm_event_start(llm_response_t *resp, llm_buf_t *out);
int llm_event_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out);
int llm_event_text_copy(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out);
int llm_event_text_str(llm_response_t *resp, int choice, llm_part_e part,
    const char *text, size_t len, llm_buf_t *out);
int llm_event_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out);
int llm_event_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out);
int llm_event_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out);

/* the end, with resp->usage: LLM_DONE, or LLM_ERROR */
int llm_event_end(llm_response_t *resp, llm_buf_t *out);

/* a non-stream response is one object: call before its first event */
void llm_response_whole(llm_response_t *resp);

/* ends the client stream with an error (resp->error): LLM_DONE */
int llm_response_fail(llm_response_t *resp, llm_buf_t *out, int status,
    const char *code, const char *message);
int llm_response_end_error(llm_response_t *resp, llm_buf_t *out);

/* copies a finish_reason, cut to the field's size */
void llm_response_set_finish(llm_response_t *resp, const char *reason);

/* OpenAI-shaped usage object → resp->usage */
int llm_response_usage(llm_response_t *resp, llm_json_t *usage);

/* keeps a printed copy, for a usage chunk the gateway writes itself */
int llm_response_usage_json(llm_response_t *resp, llm_json_t *usage);

/* appends raw with the bytes [start, end) replaced by model as a string */
int llm_response_splice_model(const char *raw, size_t n, size_t start,
    size_t end, const char *model, llm_buf_t *out);

/* appends j printed, with the client's model as its only "model" */
int llm_response_emit_json(llm_json_t *j, const char *model,
    llm_buf_t *out);


/*
 * The slots of a relay's writer: the provider's own frames go out, the
 * events write nothing (its error slot is its format's own)
 */
int llm_write_nothing(llm_response_t *resp, llm_buf_t *out);
int llm_write_no_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out);
int llm_write_no_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out);
int llm_write_no_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out);
int llm_write_no_finish(llm_response_t *resp, int choice,
    const char *reason, llm_buf_t *out);

/*
 * A writer's map from tool indexes to its own places: (*map)[index] =
 * value, the map grown (new entries -1); an index outside 0..4096 is
 * ignored.  LLM_ERROR: no memory.
 */
int llm_tool_map_set(int **map, int *n, int index, int value);


extern const llm_writer_t  llm_writer_openai_chat;


#endif /* _LLM_RESPONSE_H_INCLUDED_ */
