/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Anthropic Messages API as a client format: its request taken into
 * the gateway's internal form (an OpenAI Chat Completions request, which
 * llm_request_parse() then checks like any other), a token estimate for
 * count_tokens, and the writers that render the neutral response events
 * as Messages (llm_writer_anthropic.c).
 */

#ifndef _LLM_MESSAGES_H_INCLUDED_
#define _LLM_MESSAGES_H_INCLUDED_


#include "llm_buf.h"
#include "llm_error.h"
#include "llm_response.h"


#define LLM_MESSAGES_COUNT  1        /* a count_tokens body: no max_tokens */


typedef struct {
    llm_buf_t     chat;              /* the internal form */
    char         *model;             /* NUL-terminated; owned */
    size_t        model_start;       /* the model in the client's body, */
    size_t        model_end;         /* quotes included */
    int           stream;

    /* the first thing only Anthropic serves (a server tool, a document):
     * "" when none; other providers refuse the request with this */
    char          native[128];
} llm_messages_t;


/*
 * Returns LLM_OK, or LLM_ERROR with e filled in (400, the member's path
 * in the message).  Nothing is left to free on error.
 */
int llm_messages_parse(llm_messages_t *m, const char *p, size_t n,
    int flags, llm_error_t *e);
void llm_messages_free(llm_messages_t *m);

/*
 * count_tokens without Anthropic: an estimate that errs high (see the
 * README); -1 if p is not a JSON object.
 */
long long llm_messages_estimate(const char *p, size_t n);

/* an error as Anthropic writes it: {"type":"error","error":{...}} */
const char *llm_messages_error_type(int status);
int llm_messages_error_json(const llm_error_t *e, llm_buf_t *b);


/* Messages, rendered from the events: a message object or its stream */
extern const llm_writer_t  llm_writer_anthropic;

/* an Anthropic provider's own bytes relayed: only errors are written */
extern const llm_writer_t  llm_writer_anthropic_relay;


#endif /* _LLM_MESSAGES_H_INCLUDED_ */
