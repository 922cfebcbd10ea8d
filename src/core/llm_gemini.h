/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect's files: the request side and its check
 * (llm_gemini_request.c), the non-stream response
 * (llm_gemini_response.c), the stream (llm_gemini_stream.c), the shared
 * response pieces and the table (llm_dialect_gemini.c).
 */

#ifndef _LLM_GEMINI_H_INCLUDED_
#define _LLM_GEMINI_H_INCLUDED_


#include "llm_dialect.h"


#define LLM_GEMINI_MAX_CAND  8


/* "/models/<model>", percent-encoded: the chat and embedding paths */
int llm_gemini_model_path(const char *upstream_model, llm_buf_t *path);

/* the request side */
int llm_gemini_request_path(llm_request_t *req, const char *upstream_model,
    llm_buf_t *path);
int llm_gemini_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);
int llm_gemini_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);
int llm_gemini_check(llm_request_t *req, llm_error_t *e);

/* seconds from an error body's details[].retryDelay ("13s"), or -1 */
long long llm_gemini_retry_delay(const char *p, size_t n);


#endif /* _LLM_GEMINI_H_INCLUDED_ */
