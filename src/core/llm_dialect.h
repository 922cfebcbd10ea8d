/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A dialect is how one provider family is spoken: a small table of
 * functions over plain buffers.  The nginx glue never knows which dialect
 * it moves; the dialects never know they run inside nginx, nor the
 * client's format: a response becomes the neutral events of
 * llm_response.h, rendered by the client's writer.  The "openai" dialect
 * alone may relay the provider's bytes (model spliced) when the client
 * speaks OpenAI Chat Completions too: the explicit passthrough.
 */

#ifndef _LLM_DIALECT_H_INCLUDED_
#define _LLM_DIALECT_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"
#include "llm_request.h"
#include "llm_response.h"


/* the provider request body for a validated client request */
typedef int (*llm_build_request_pt)(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);

/*
 * The body as pieces when it is mostly the client's own bytes (sent as
 * they are, not copied): LLM_OK with *n pieces, what is new written to
 * own; LLM_DECLINED: build_request writes it whole
 */

#define LLM_PIECES_MAX  5

typedef struct {
    const char            *data;
    size_t                 len;
} llm_piece_t;

typedef int (*llm_request_pieces_pt)(llm_request_t *req,
    const char *upstream_model, llm_buf_t *own, llm_piece_t *pieces,
    int *n);

/*
 * The path after the provider's base when it depends on the request
 * (Gemini: /models/<model>:streamGenerateContent?alt=sse)
 */
typedef int (*llm_request_path_pt)(llm_request_t *req,
    const char *upstream_model, llm_buf_t *path);

/*
 * Refuses, before any upstream request, what the provider cannot honour
 * and the dialect does not drop (e.g. n > 1 on Anthropic): LLM_DECLINED
 * with e filled in (400, naming the parameter)
 */
typedef int (*llm_check_pt)(llm_request_t *req, llm_error_t *e);

/* a complete 2xx non-stream body → events; LLM_ERROR sets resp->error */
typedef int (*llm_response_pt)(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);

/* one SSE event → events: LLM_OK, LLM_DONE or LLM_ERROR (memory) */
typedef int (*llm_stream_event_pt)(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);

/* the provider's body ended: the stream's end, or its truncation */
typedef int (*llm_stream_end_pt)(llm_response_t *resp, llm_buf_t *out);

/* a non-2xx response body → the client's error */
typedef void (*llm_error_pt)(int status, const char *p, size_t n,
    llm_error_t *e);

/* seconds to wait from an error body (Gemini's retryDelay); -1: none */
typedef long long (*llm_retry_after_pt)(const char *p, size_t n);


/*
 * A provider parameter a dialect takes (llm_provider ... NAME=VALUE),
 * sent as one request header; value is sent when the parameter is not
 * given (NULL: nothing).  A NULL name ends the list.
 */

typedef struct {
    const char            *name;
    const char            *header;
    const char            *value;
} llm_dialect_param_t;


typedef struct {
    const char            *name;           /* dialect= */
    const char            *chat_path;      /* after the provider's base */
    llm_build_request_pt   build_request;
    llm_response_pt        response;
    llm_stream_event_pt    stream_event;
    llm_stream_end_pt      stream_end;
    llm_error_pt           error;
    llm_request_path_pt    request_path;   /* NULL: chat_path */
    const char            *auth_prefix;    /* the key's header, up to it */
    const char            *extra_headers;  /* CRLF-ended lines, or NULL */
    llm_retry_after_pt     retry_after;    /* NULL: never in the body */
    llm_check_pt           check;          /* NULL: accepts every request */
    const llm_dialect_param_t  *params;    /* NULL: none */
    llm_request_pieces_pt  request_pieces; /* NULL: build_request */
} llm_dialect_t;


const llm_dialect_t *llm_dialect_find(const char *name, size_t len);
void llm_dialects_exit(void);

/* every dialect, NULL-terminated */
extern const llm_dialect_t  *const llm_dialects[];


#endif /* _LLM_DIALECT_H_INCLUDED_ */
