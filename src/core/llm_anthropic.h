/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect's halves: request translation
 * (llm_anthropic_request.c) and the dialect table with the response and
 * stream translation (llm_dialect_anthropic.c).
 */

#ifndef _LLM_ANTHROPIC_H_INCLUDED_
#define _LLM_ANTHROPIC_H_INCLUDED_


#include "llm_dialect.h"


/*
 * The tool a response_format is asked through: its input is the JSON
 * the client wants, returned as message content, never as a tool call.
 * A client tool of this name is refused.
 */
#define LLM_ANTHROPIC_JSON_TOOL  "llm_json_response"

/* Anthropic requires max_tokens: this when neither client nor config says */
#define LLM_ANTHROPIC_MAX_TOKENS  4096


int llm_anthropic_build_request(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);
int llm_anthropic_build_plain(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);
int llm_anthropic_check(llm_request_t *req, llm_error_t *e);


#endif /* _LLM_ANTHROPIC_H_INCLUDED_ */
