/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect's files: llm_anthropic.c (the table, what the
 * others share), llm_anthropic_request.c (the request),
 * llm_anthropic_check.c (what cannot be sent), llm_anthropic_response.c
 * (a non-stream Message), llm_anthropic_stream.c (the stream).
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


extern const llm_dialect_t  llm_dialect_anthropic;


int llm_anthropic_build_request(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);
int llm_anthropic_check(llm_request_t *req, llm_error_t *e);

/* the response sides, the table's entries */
int llm_anthropic_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out);
int llm_anthropic_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);
int llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out);
void llm_anthropic_error(int status, const char *p, size_t n,
    llm_error_t *e);

/* shared by the dialect's files (llm_anthropic.c) */
const char *llm_anthropic_finish(const char *p, size_t n);
int llm_anthropic_is(const char *s, const char *lit);
int llm_anthropic_is_json_tool(llm_json_t *block);
void llm_anthropic_set_id(llm_response_t *resp, const char *id, size_t len);
void llm_anthropic_error_object(llm_json_t *err, int status,
    llm_error_t *e);

/*
 * Shared by the request side's files; params: the request's members
 * other than the messages (llm_chat_t)
 */
llm_json_t *llm_anthropic_json_format(llm_json_t *params);
int llm_anthropic_tools(llm_request_t *req, llm_json_t *rf, llm_buf_t *b);
int llm_anthropic_tool_choice(llm_request_t *req, llm_json_t *rf,
    llm_buf_t *b);
long long llm_anthropic_budget(llm_json_t *params);
const char *llm_anthropic_named(llm_json_t *choice);
long long llm_anthropic_thinking(llm_request_t *req);
int llm_anthropic_has_tools(llm_json_t *params);
int llm_anthropic_content(llm_json_t *content, int images, llm_buf_t *b);
int llm_anthropic_tool_uses(llm_request_t *req, llm_json_t *calls,
    llm_buf_t *b);
const char *llm_anthropic_image_url(llm_json_t *part);
const char *llm_anthropic_data_url(const char *url, const char **mt,
    size_t *mt_len);
int llm_anthropic_media_ok(const char *mt, size_t n);
int llm_anthropic_str(llm_buf_t *b, const char *s);


#endif /* _LLM_ANTHROPIC_H_INCLUDED_ */
