/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A dialect is how one provider family is spoken: a small table of
 * functions over plain buffers.  The nginx glue never knows which dialect
 * it moves; the dialects never know they run inside nginx.
 *
 * Everything a dialect writes for the client is OpenAI Chat Completions:
 * a chat.completion object, or SSE "data: <chunk>\n\n" frames ending in
 * "data: [DONE]\n\n".
 */

#ifndef _LLM_DIALECT_H_INCLUDED_
#define _LLM_DIALECT_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"
#include "llm_request.h"


#define LLM_DONE  1

/* Anthropic requires max_tokens: this when neither client nor config says */
#define LLM_ANTHROPIC_MAX_TOKENS  4096


typedef struct {
    long long    prompt_tokens;
    long long    completion_tokens;
    long long    total_tokens;
    long long    cached_tokens;
    long long    reasoning_tokens;
    int          set;
} llm_usage_t;


/* the state of one response, stream or not */

typedef struct {
    /* set by the caller */
    const char   *client_model;     /* the model name the client sees */
    int           include_usage;    /* the client asked for usage chunk */
    const char   *secret;           /* the provider key, masked in the */
    size_t        secret_len;       /* provider's error words */

    /* results, read by the caller */
    llm_usage_t   usage;
    char          finish_reason[32];
    unsigned      first_token:1;    /* a content delta was produced */
    unsigned      done:1;           /* the stream is complete */
    unsigned      failed:1;         /* ended with an error frame */
    llm_error_t   error;            /* valid when failed */

    /* dialect state */
    char          id[128];
    long long     created;
    int           tool_count;
    unsigned      usage_sent:1;
    llm_buf_t     usage_json;       /* last usage object seen */

    /* gemini stream state: per choice (candidate index < 8) */
    int           gemini_choices;     /* choices seen */
    short         gemini_tools[8];    /* tool calls sent */
    const char   *gemini_finish[8];   /* mapped finishReason, or NULL */

    /* anthropic stream state: the open content block */
    long long     ant_block;        /* its index */
    int           ant_tool;         /* its OpenAI tool index */
    unsigned      ant_kind:2;       /* 0 other, 1 tool_use, 2 JSON tool */
    unsigned      ant_args:1;       /* it got an arguments fragment */
    unsigned      ant_json:1;       /* the JSON tool was called */
} llm_response_t;


typedef struct {
    const char   *name;
    const char   *chat_path;        /* appended to the provider's base */

    /* the provider request body for a validated client request */
    int         (*build_request)(llm_request_t *req,
                                 const char *upstream_model,
                                 llm_buf_t *body);

    /* a complete 2xx non-stream body; LLM_ERROR sets resp->error */
    int         (*response)(llm_response_t *resp, const char *p, size_t n,
                            llm_buf_t *out);

    /* one SSE event; returns LLM_OK, LLM_DONE or LLM_ERROR (memory) */
    int         (*stream_event)(llm_response_t *resp, const char *event,
                                size_t event_len, const char *data,
                                size_t n, llm_buf_t *out);

    /* the provider's body ended; closes the client stream */
    int         (*stream_end)(llm_response_t *resp, llm_buf_t *out);

    /* a non-2xx response body → OpenAI error */
    void        (*error)(int status, const char *p, size_t n,
                         llm_error_t *e);

    /*
     * The request path after the provider's base when it depends on the
     * request (Gemini: /models/<model>:streamGenerateContent?alt=sse);
     * NULL: chat_path.
     */
    int         (*request_path)(llm_request_t *req,
                                const char *upstream_model,
                                llm_buf_t *path);

    /* how the key is sent: the header up to the key itself */
    const char   *auth_prefix;

    /* more request header lines, each ending in CRLF, or NULL */
    const char   *extra_headers;

    /*
     * Seconds to wait, from an error body, when the provider says it
     * there rather than in Retry-After (Gemini's retryDelay); -1: none.
     * NULL: never.
     */
    long long   (*retry_after)(const char *p, size_t n);

    /*
     * Refuses, before any upstream request, what the provider cannot
     * honour and the dialect does not drop (e.g. n > 1 on Anthropic):
     * LLM_DECLINED with e filled in (400, naming the parameter).
     * NULL: every valid request is accepted.
     */
    int         (*check)(llm_request_t *req, llm_error_t *e);
} llm_dialect_t;


const llm_dialect_t *llm_dialect_find(const char *name, size_t len);

void llm_response_init(llm_response_t *resp, const char *client_model,
    int include_usage);
void llm_response_free(llm_response_t *resp);

/* ends the client stream with an error frame and [DONE] */
int llm_response_fail(llm_response_t *resp, llm_buf_t *out, int status,
    const char *code, const char *message);

/* copies a finish_reason, cut to the field's size */
void llm_response_set_finish(llm_response_t *resp, const char *reason);

/* the same, for an error already in resp->error (a provider's own) */
int llm_response_end_error(llm_response_t *resp, llm_buf_t *out);

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


/* "/models/<model>", percent-encoded: Gemini's chat and embedding paths */
int llm_gemini_model_path(const char *upstream_model, llm_buf_t *path);

/* build_request for a plain request (req->plain), from its spans */
int llm_anthropic_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);
int llm_gemini_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);


extern const llm_dialect_t  llm_dialect_openai;
extern const llm_dialect_t  llm_dialect_anthropic;
extern const llm_dialect_t  llm_dialect_gemini;


#endif /* _LLM_DIALECT_H_INCLUDED_ */
