/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The OpenAI Responses API as a client format: its request taken into
 * the internal form (an OpenAI Chat Completions request, which
 * llm_request_parse() then checks like any other), the writer that
 * renders the neutral response events as a response object or its typed
 * event stream (llm_writer_responses.c), and a reader of OpenAI's own
 * Responses answers for the native passthrough (llm_responses_relay.c).
 */

#ifndef _LLM_RESPONSES_H_INCLUDED_
#define _LLM_RESPONSES_H_INCLUDED_


#include "llm_buf.h"
#include "llm_error.h"
#include "llm_response.h"
#include "llm_dialect.h"


typedef struct {
    llm_buf_t     chat;              /* the internal form */
    size_t        input_start;       /* the input's messages in chat: */
    size_t        input_end;         /* what a response store keeps */
    char         *model;             /* NUL-terminated; owned */
    size_t        model_start;       /* the model in the client's body, */
    size_t        model_end;         /* quotes included */
    char         *previous;          /* previous_response_id, or NULL */
    int           stream;
    int           store;             /* store: not false */

    /* the request members every response object echoes, as a fragment:
     * "instructions":…,"max_output_tokens":…,…,"user":… */
    llm_buf_t     echo;

    /* the first thing only OpenAI's own Responses API serves (a hosted
     * tool, a file): "" when none; other providers refuse with it */
    char          native[128];
} llm_responses_t;


/*
 * Returns LLM_OK, or LLM_ERROR with e filled in (400 with the member as
 * "param", 500 for memory).  Nothing is left to free on error.
 */
int llm_responses_parse(llm_responses_t *rq, const char *p, size_t n,
    llm_error_t *e);
void llm_responses_free(llm_responses_t *rq);


/* what the writer is told of the request: resp->wconf */

typedef struct {
    const char   *id;                /* "resp_…" */
    const char   *echo;              /* llm_responses_t's echo */
    size_t        echo_len;
    const char   *previous;          /* previous_response_id, or NULL */
    int           store;
} llm_responses_conf_t;


/* Responses, rendered from the events: a response object or its stream */
extern const llm_writer_t  llm_writer_responses;

/* OpenAI's own Responses answer relayed: only errors are written */
extern const llm_writer_t  llm_writer_responses_relay;

/* reads OpenAI's own Responses answers: usage, the end, failures */
extern const llm_dialect_t  llm_dialect_responses_relay;

/*
 * After a complete response: the assistant's turn (text and tool calls)
 * as internal-form messages, ",{…}" each, for a response store.
 */
int llm_responses_turn(llm_response_t *resp, llm_buf_t *out);


#endif /* _LLM_RESPONSES_H_INCLUDED_ */
