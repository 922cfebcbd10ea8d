/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect's files: the request
 * (llm_gemini_request.c, tools and schemas in llm_gemini_tools.c), the
 * check (llm_gemini_check.c), the non-stream response
 * (llm_gemini_response.c), the stream (llm_gemini_stream.c), the table
 * and the shared response pieces (llm_gemini.c).
 */

#ifndef _LLM_GEMINI_H_INCLUDED_
#define _LLM_GEMINI_H_INCLUDED_


#include "llm_dialect.h"


#define LLM_GEMINI_MAX_CAND         8    /* candidateCount max */
#define LLM_GEMINI_MAX_STOP         5    /* stopSequences max */
#define LLM_GEMINI_SCHEMA_DEPTH     32   /* $ref inlining, nesting */
#define LLM_GEMINI_SCHEMA_NODES     4096 /* schemas written, $refs inlined */


extern const llm_dialect_t  llm_dialect_gemini;


/* "/models/<model>", percent-encoded: the chat and embedding paths */
int llm_gemini_model_path(const char *upstream_model, llm_buf_t *path);

/* the request side */
int llm_gemini_request_path(llm_request_t *req, const char *upstream_model,
    llm_buf_t *path);
int llm_gemini_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);
int llm_gemini_check(llm_request_t *req, llm_error_t *e);

/* seconds from an error body's details[].retryDelay ("13s"), or -1 */
long long llm_gemini_retry_delay(const char *p, size_t n);

/* the response sides, the table's entries */
int llm_gemini_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out);
int llm_gemini_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);
int llm_gemini_stream_end(llm_response_t *resp, llm_buf_t *out);
void llm_gemini_error(int status, const char *p, size_t n, llm_error_t *e);

/* shared by the response sides (llm_gemini.c) */
const char *llm_gemini_finish(const char *r, size_t n);
void llm_gemini_set_id(llm_response_t *resp, const char *rid, size_t rid_len,
    const char *p, size_t n);
void llm_gemini_usage_done(llm_usage_t *u, long long candidates,
    long long thoughts, long long tool_use);
void llm_gemini_invalid(llm_response_t *resp, const char *what);
int llm_gemini_tool_call(llm_response_t *resp, int choice, int k, int index,
    const char *fcp, size_t fcn, const char *sig, size_t sig_len,
    llm_buf_t *buf, llm_buf_t *out);
int llm_gemini_refusal(const char *reason, size_t len, const char *detail,
    llm_buf_t *out);
void llm_gemini_error_object(llm_json_t *err, int status, int from_body,
    llm_error_t *e);

/* shared by the request side's files */

/* an image_url part as Gemini wants it */
typedef struct {
    const char  *mime;
    size_t       mime_len;
    const char  *data;          /* base64 (inline) or the URL (file) */
    size_t       data_len;
    unsigned     file:1;
} llm_gemini_image_t;


/* the converter's state: the root (for $ref), nodes left to write */
typedef struct {
    llm_json_t        *root;     /* for $ref */
    int                nodes;    /* left to write: $refs may recurse */
    llm_json_arena_t  *arena;    /* what is written */
} llm_gemini_schema_t;


int llm_gemini_schema_print(llm_request_t *req, llm_json_t *schema,
    llm_buf_t *b);
unsigned long llm_gemini_schema_memo_hits(void);
void llm_gemini_schema_memo_free(void);
int llm_gemini_tools(llm_request_t *req, llm_json_t *params, llm_buf_t *b);
long long llm_gemini_budget(const char *effort);
const char *llm_gemini_call_name(llm_chat_t *chat, int upto,
    const llm_span_t *id);
const char *llm_gemini_image(const char *url, llm_gemini_image_t *im);
const char *llm_gemini_image_url(llm_json_t *part);
llm_json_t *llm_gemini_ref(llm_json_t *root, const char *ref);
llm_json_t *llm_gemini_schema(llm_gemini_schema_t *sc, llm_json_t *s,
    int depth);
llm_json_t *llm_gemini_schema_convert(llm_gemini_schema_t *sc,
    llm_json_t *schema);


#endif /* _LLM_GEMINI_H_INCLUDED_ */
