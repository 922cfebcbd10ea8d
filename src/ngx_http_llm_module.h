/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * ngx_http_llm_module: an OpenAI-compatible LLM gateway inside nginx.
 *
 * Shared types of the nginx glue.  The translation work is done by the
 * pure-C core in src/core (no nginx headers there).
 */

#ifndef _NGX_HTTP_LLM_MODULE_H_INCLUDED_
#define _NGX_HTTP_LLM_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "llm_buf.h"
#include "llm_sse.h"
#include "llm_request.h"
#include "llm_dialect.h"
#include "llm_embed.h"
#include "llm_messages.h"
#include "llm_responses.h"


/* 1.27.2 added the trailers flag; we never keep provider trailers */
#if (nginx_version >= 1027002)
#define ngx_http_llm_parse_chunked(r, b, ctx)                                \
    ngx_http_parse_chunked(r, b, ctx, 0)
#else
#define ngx_http_llm_parse_chunked(r, b, ctx)                                \
    ngx_http_parse_chunked(r, b, ctx)
#endif


#define NGX_HTTP_LLM_CHAT    1
#define NGX_HTTP_LLM_MODELS  2
#define NGX_HTTP_LLM_EMBEDDINGS  3
#define NGX_HTTP_LLM_MESSAGES  4
#define NGX_HTTP_LLM_RESPONSES  5


typedef struct {
    ngx_str_t                      name;
    ngx_uint_t                     index;
    const llm_dialect_t           *dialect;      /* NULL: no chat */
    const llm_embed_dialect_t     *embed;        /* NULL: no embeddings */

    ngx_str_t                      api_key;      /* never logged */
    unsigned                       key_passthrough:1;
    unsigned                       disabled:1;   /* optional, no key */
    unsigned                       responses:1;  /* serves /responses */

    ngx_str_t                      host;         /* Host and TLS SNI */
    ngx_str_t                      headers;      /* dialect's, set here */
    ngx_str_t                      base_path;    /* e.g. /v1 */
    ngx_http_upstream_srv_conf_t  *upstream;

    ngx_ssl_t                     *ssl;          /* NULL: plain http */
    ngx_flag_t                     ssl_verify;
    ngx_http_complex_value_t      *ssl_name;

    ngx_int_t                      rpm;          /* 0: no limit set */
    ngx_int_t                      tpm;
} ngx_http_llm_provider_t;


#define NGX_HTTP_LLM_ORDER     0     /* fallback in the order given */
#define NGX_HTTP_LLM_WEIGHTED  1
#define NGX_HTTP_LLM_COST      2
#define NGX_HTTP_LLM_SPEED     3
#define NGX_HTTP_LLM_QUALITY   4

#define NGX_HTTP_LLM_UNSET     -1


typedef struct {
    ngx_str_t                      name;         /* what clients ask */
    ngx_str_t                      upstream_model;
    ngx_http_llm_provider_t       *provider;     /* NULL: a route */
    ngx_int_t                      max_tokens;   /* 0: the dialect's */

    /* a route: concrete models, indexes into the models array */
    ngx_uint_t                    *cands;
    ngx_uint_t                    *weights;
    ngx_uint_t                     nweights;
    ngx_uint_t                     ncands;
    ngx_uint_t                     strategy;

    /* router metadata; NGX_HTTP_LLM_UNSET when not given */
    ngx_int_t                      price_in;     /* per 1M tokens, x10000 */
    ngx_int_t                      price_out;
    ngx_int_t                      tier;         /* higher is better */
    ngx_int_t                      context;
    ngx_int_t                      ttft;         /* ms, the speed seed */
    ngx_int_t                      price_cached; /* cached prompt tokens */
    ngx_int_t                      rpm;          /* 0: no limit set */
    ngx_int_t                      tpm;
    /* type=embedding */
    unsigned                       embedding:1;
    ngx_uint_t                     batch;        /* 0: the provider's */
    ngx_str_t                      task_type;
    ngx_int_t                      dimensions;   /* 0: the client's */
} ngx_http_llm_model_t;


typedef struct {
    ngx_http_upstream_srv_conf_t  *upstream;
    ngx_http_upstream_init_peer_pt init;
} ngx_http_llm_peer_init_t;


/*
 * A key-value store with a lifetime (ngx_http_llm_store.c): shared
 * memory today; a store shared by several nodes (Redis: GET, SET EX,
 * SET NX EX, DEL) implements the same ops.
 * get: NGX_OK (value in pool; *age, when asked, its age in seconds),
 *      NGX_DECLINED (none), NGX_DONE (there, but expired: dropped),
 *      NGX_ERROR;
 * put: NGX_OK, NGX_DECLINED (not kept: too large); lifetime 0: the
 *      store's own;
 * lock: NGX_OK (the key was free and is now held for lifetime seconds),
 *      NGX_BUSY (held); unlock frees it.
 */

typedef struct ngx_http_llm_store_s  ngx_http_llm_store_t;

typedef struct {
    const char                    *name;
    ngx_int_t                    (*get)(ngx_http_llm_store_t *s,
                                        ngx_str_t *key, ngx_pool_t *pool,
                                        ngx_str_t *value, time_t *age);
    ngx_int_t                    (*put)(ngx_http_llm_store_t *s,
                                        ngx_str_t *key, ngx_str_t *value,
                                        time_t lifetime);
    ngx_int_t                    (*lock)(ngx_http_llm_store_t *s,
                                         ngx_str_t *key, time_t lifetime);
    void                         (*unlock)(ngx_http_llm_store_t *s,
                                           ngx_str_t *key);
} ngx_http_llm_store_ops_t;

struct ngx_http_llm_store_s {
    const ngx_http_llm_store_ops_t  *ops;
    void                          *data;       /* the zone, for shm */
    ngx_str_t                      name;       /* the zone's */
    time_t                         lifetime;
    size_t                         max_entry;
};


/* a feature's shared memory: ngx_http_llm_zone.c */

typedef struct {
    ngx_slab_pool_t               *shpool;
    void                          *state;      /* the feature's, shared */
    size_t                         state_size;
    const char                    *directive;  /* for messages */
} ngx_http_llm_zone_t;


typedef struct {
    ngx_array_t                    providers;  /* ngx_http_llm_provider_t * */

    /* llm_cache_zone: the caches, by name (ngx_http_llm_store_t *) */
    ngx_array_t                   *caches;

    /* llm_budget_zone: ngx_http_llm_budget_zone_t * */
    ngx_array_t                   *budgets;

    ngx_array_t                    models;     /* ngx_http_llm_model_t */
    time_t                         created;

    /* passive health and the TTFT averages: llm_health */
    ngx_http_llm_zone_t           *health_zone;
    ngx_uint_t                     health_fails;
    ngx_msec_t                     health_window;
    ngx_msec_t                     health_cooldown;

    /* llm_metrics; llm_metrics_export, llm_status are somewhere */
    ngx_http_llm_zone_t           *metrics_zone;
    ngx_uint_t                     metrics_shown;

    /* llm_responses_store: Responses conversations */
    ngx_http_llm_store_t          *responses_store;

    size_t                         heap_retain; /* llm_heap_retain; 0: off */

    ngx_array_t                    peer_inits; /* ngx_http_llm_peer_init_t */
    ngx_array_t                   *templates;  /* ngx_http_llm_template_t */
    ngx_array_t                   *model_prompts;
                                           /* ngx_http_llm_model_prompt_t */
} ngx_http_llm_main_conf_t;


typedef struct ngx_http_llm_ctx_s  ngx_http_llm_ctx_t;


/*
 * An operation: what one endpoint does between the shared ingress
 * (ngx_http_llm_ingress.c) and the shared attempts and transport, which
 * never name an endpoint.  A new endpoint is a new operation.
 */

/* the body → ctx, the model it asks for; NGX_DECLINED: e is the answer */
typedef ngx_int_t (*ngx_http_llm_op_parse_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *model,
    llm_error_t *e);

/* NGX_DECLINED (e says why): the candidate m cannot take this request */
typedef ngx_int_t (*ngx_http_llm_op_check_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);

/* this attempt's provider request: r->upstream->request_bufs */
typedef ngx_int_t (*ngx_http_llm_op_request_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* a whole provider body is in ctx->body: the answer, or the next attempt */
typedef ngx_int_t (*ngx_http_llm_op_complete_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);


/* answers for candidate m without it: NGX_DECLINED when it must ask */
typedef ngx_int_t (*ngx_http_llm_op_local_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m);

/* the answer went out whole and complete: it may be kept */
typedef void (*ngx_http_llm_op_finished_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* an error as the client's format writes it */
typedef int (*ngx_http_llm_op_error_pt)(const llm_error_t *e, llm_buf_t *b);

/*
 * llm_cache for an operation that keeps its answers in parts (the
 * vectors of embeddings): NGX_DONE (answered), NGX_DECLINED (go on, the
 * request cut to what was not found), NGX_ERROR
 */
typedef ngx_int_t (*ngx_http_llm_op_cached_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

typedef struct ngx_http_llm_op_s  ngx_http_llm_op_t;

/* the operation for this request, when one location serves several */
typedef const ngx_http_llm_op_t *(*ngx_http_llm_op_select_pt)(
    ngx_http_request_t *r);


struct ngx_http_llm_op_s {
    const char                    *name;
    ngx_uint_t                     embedding;  /* takes type=embedding */
    ngx_http_llm_op_parse_pt       parse;
    ngx_http_llm_op_check_pt       check;
    ngx_http_llm_op_request_pt     create_request;
    ngx_http_llm_op_complete_pt    complete;

    /* optional: NULL is OpenAI's format, no local answer, one op */
    const llm_writer_t            *writer;
    ngx_http_llm_op_error_pt       error;
    ngx_http_llm_op_local_pt       local;
    ngx_http_llm_op_select_pt      select;
    ngx_http_llm_op_finished_pt    finished;
    ngx_http_llm_op_cached_pt      cached;
};


/* llm_budget: a zone's use in a location (ngx_http_llm_budget.c) */

typedef struct ngx_http_llm_budget_zone_s  ngx_http_llm_budget_zone_t;
typedef struct ngx_http_llm_budget_req_s  ngx_http_llm_budget_req_t;

typedef struct {
    ngx_str_t                      name;
    ngx_http_llm_budget_zone_t    *zone;
    ngx_uint_t                     dry_run;
} ngx_http_llm_budget_use_t;


/* llm_cache and its companions: ngx_http_llm_cache.c */

typedef struct {
    ngx_str_t                      zone;       /* llm_cache NAME; "": off */
    ngx_http_llm_store_t          *store;      /* the zone's, at merge */
    time_t                         valid;
    ngx_array_t                   *bypass;     /* predicates */
    ngx_array_t                   *no_cache;
    ngx_flag_t                     lock;
    ngx_msec_t                     lock_timeout;
    ngx_http_complex_value_t      *scope;      /* NULL: the credential */
    ngx_flag_t                     client_control;
    ngx_uint_t                     set;        /* llm_cache was given */
} ngx_http_llm_cache_conf_t;


typedef struct {
    ngx_uint_t                     handler;
    const ngx_http_llm_op_t       *op;         /* llm_chat, llm_embeddings */
    ngx_http_upstream_conf_t       upstream;

    /* one upstream conf per provider: TLS and upstream{} differ */
    ngx_http_upstream_conf_t      *provider_confs;

    off_t                          max_body_size;

    /* attempts: llm_retry, llm_retry_after_cap, llm_deadline, ... */
    ngx_uint_t                     retry_tries;
    ngx_msec_t                     retry_base;
    ngx_msec_t                     retry_cap;
    ngx_msec_t                     retry_after_cap;
    ngx_msec_t                     deadline;
    ngx_msec_t                     first_token_timeout;
    /* llm_prepend_message, llm_append_message: arrays of messages */
    llm_json_t                    *prepend;
    llm_json_t                    *append;

    /* llm_debug_log: bytes of each provider request and answer, 0: off */
    size_t                         debug_log;

    ngx_http_llm_cache_conf_t      cache;

    /* llm_budget: ngx_http_llm_budget_use_t, NULL: none */
    ngx_array_t                   *budgets;
} ngx_http_llm_loc_conf_t;


typedef enum {
    ngx_http_llm_st_status = 0,
    ngx_http_llm_st_headers,
    ngx_http_llm_st_body,
    ngx_http_llm_st_prelude          /* a stream before its first token */
} ngx_http_llm_state_e;


typedef struct ngx_http_llm_embed_s  ngx_http_llm_embed_t;


/*
 * What a provider's answer says is left of its rate limits, per family
 * (requests, tokens, input tokens, output tokens): OpenAI's, Groq's and
 * xAI's x-ratelimit-*, Anthropic's anthropic-ratelimit-*
 */

#define NGX_HTTP_LLM_HEADROOM_FAMILIES  4

typedef struct {
    int64_t                        remaining[NGX_HTTP_LLM_HEADROOM_FAMILIES];
    ngx_msec_t                     reset[NGX_HTTP_LLM_HEADROOM_FAMILIES];
    u_char                         known[NGX_HTTP_LLM_HEADROOM_FAMILIES];
} ngx_http_llm_headroom_t;

#define NGX_HTTP_LLM_HEADROOM_REMAINING  1
#define NGX_HTTP_LLM_HEADROOM_RESET      2
typedef struct ngx_http_llm_cache_req_s  ngx_http_llm_cache_req_t;


struct ngx_http_llm_ctx_s {
    ngx_http_request_t            *request;
    const ngx_http_llm_op_t       *op;
    ngx_http_llm_model_t          *model;          /* this attempt's */
    ngx_http_llm_model_t          *route;          /* what was asked */
    llm_request_t                  req;
    llm_response_t                 resp;

    /* upstream response parsing */
    ngx_http_llm_state_e           state;
    ngx_http_status_t              status;
    ngx_http_chunked_t             chunked;
    off_t                          body_length;    /* -1: not known */
    off_t                          body_received;
    ngx_str_t                      retry_after;
    ngx_http_llm_headroom_t        headroom;       /* the answer's
                                                      rate-limit headers */
    llm_buf_t                      body;           /* non-stream, errors */
    llm_sse_t                      sse;
    llm_buf_t                      out;            /* translated bytes */

    ngx_msec_t                     ttft;
    ngx_str_t                      error;          /* for $llm_error */

    /* attempts (ngx_http_llm_attempt.c) */
    ngx_uint_t                    *order;          /* candidates to try */
    ngx_uint_t                     norder;
    ngx_uint_t                     cand;           /* index in order */
    ngx_uint_t                     tries;          /* on this candidate */
    ngx_uint_t                     attempts;
    ngx_uint_t                     next_cand;
    ngx_msec_t                     delay;          /* before next_cand */
    ngx_msec_t                     attempt_start;
    ngx_msec_t                     deadline;       /* 0: none */
    ngx_msec_int_t                 retry_wait;     /* provider's, -1 */
    ngx_uint_t                     reselect;       /* 1 + the candidate to
                                                      choose from after a
                                                      wait for headroom */
    ngx_msec_t                     wait_start;     /* for headroom */
    int64_t                        est_prompt;     /* tokens, bytes / 4 */
    ngx_http_llm_model_t          *held;           /* headroom held */
    int64_t                        held_tokens;
    ngx_str_t                      attempt_log;    /* $llm_attempts */
    size_t                         attempt_log_size;
    ngx_event_t                    wait_ev;        /* back-off */
    ngx_event_t                    ftt_ev;         /* first token */
    ngx_event_t                    deadline_ev;
    ngx_http_llm_embed_t          *embed;          /* llm_embeddings */
    void                          *op_data;        /* the operation's */
    ngx_http_llm_cache_req_t      *cache;          /* llm_cache */
    ngx_http_llm_budget_req_t     *budget;         /* llm_budget */

    unsigned                       stream:1;
    unsigned                       chunked_body:1;
    unsigned                       body_done:1;
    unsigned                       connection_close:1;
    unsigned                       ttft_set:1;
    unsigned                       failure_logged:1;
    unsigned                       committed:1;    /* client has bytes */
    unsigned                       handover:1;     /* retry this failure */
    unsigned                       next_request:1; /* a success: go on */
    unsigned                       recorded:1;     /* attempt logged */
    unsigned                       health_reported:1;
    unsigned                       skip_byte:1;
    unsigned                       finished:1;
    unsigned                       relay:1;        /* frames go as they
                                                      are, events only
                                                      read */

    /* what reads this attempt's answer, NULL: its provider's dialect */
    const llm_dialect_t           *reader;

    /* llm_debug_log: the start of this attempt's answer */
    ngx_str_t                      debug_answer;
    unsigned                       debug_logged:1;
    unsigned                       debug_more:1;
    unsigned                       metrics_stream:1; /* counted in flight */
    unsigned                       metrics_attempt:1; /* its end counts it */
    unsigned                       cache_hit:1;    /* answered by llm_cache */
};


#define ngx_http_llm_reader(ctx)                                             \
    ((ctx)->reader ? (ctx)->reader : (ctx)->model->provider->dialect)


/*
 * The glue's files, each using only those listed before it, but for the
 * one callback pair: attempts start the transport
 * (ngx_http_llm_start_upstream), the transport reports back
 * (ngx_http_llm_attempt_commit, _retryable, _silence_over, _end).
 */

/* replies the gateway writes itself: ngx_http_llm_reply.c */
ngx_int_t ngx_http_llm_send_json(ngx_http_request_t *r, ngx_uint_t status,
    llm_buf_t *json);
ngx_int_t ngx_http_llm_send_body(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, llm_buf_t *body);
ngx_int_t ngx_http_llm_send_events(ngx_http_request_t *r, llm_buf_t *frames);
ngx_int_t ngx_http_llm_send_error(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, llm_error_t *e);
ngx_int_t ngx_http_llm_reject(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    int status, const char *param, const char *code, const char *message);
void ngx_http_llm_set_error(ngx_http_llm_ctx_t *ctx, const char *reason);
ngx_int_t ngx_http_llm_add_header(ngx_http_request_t *r, ngx_list_t *headers,
    char *key, ngx_str_t *value);
ngx_int_t ngx_http_llm_error_body(ngx_http_llm_ctx_t *ctx, llm_error_t *e,
    llm_buf_t *b);
ngx_table_elt_t *ngx_http_llm_header_in(ngx_http_request_t *r,
    const char *name, size_t len);
ngx_int_t ngx_http_llm_sse_headers(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_client_key(ngx_http_request_t *r, ngx_str_t *key);
char *ngx_http_llm_pstrdup(ngx_pool_t *pool, const char *s);

/* llm_debug_log: ngx_http_llm_debug.c */
char *ngx_http_llm_debug_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_llm_debug_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *line, llm_piece_t *pieces,
    ngx_uint_t n, size_t size);
void ngx_http_llm_debug_answer(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *p, size_t n, ngx_uint_t last);
void ngx_http_llm_debug_answer_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* shared memory zones: ngx_http_llm_zone.c */
ngx_int_t ngx_http_llm_zone_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name, ssize_t *size, size_t min);
ngx_http_llm_zone_t *ngx_http_llm_zone_add(ngx_conf_t *cf,
    const char *directive, ngx_str_t *name, ssize_t size, size_t state_size);

#define ngx_http_llm_zone_lock(z)    ngx_shmtx_lock(&(z)->shpool->mutex)
#define ngx_http_llm_zone_unlock(z)  ngx_shmtx_unlock(&(z)->shpool->mutex)

/* the stores: ngx_http_llm_store.c */
char *ngx_http_llm_store_conf(ngx_conf_t *cf, ngx_uint_t first,
    ngx_http_llm_store_t **sp);
ngx_http_llm_zone_t *ngx_http_llm_store_zone(ngx_conf_t *cf,
    const char *directive, ngx_str_t *name, ssize_t size);
void *ngx_http_llm_store_record(ngx_http_llm_zone_t *z, ngx_str_t *key,
    size_t size, ngx_uint_t create);

/* the response cache: ngx_http_llm_cache.c */
#define NGX_HTTP_LLM_CACHE_HIT        0
#define NGX_HTTP_LLM_CACHE_COALESCED  1
#define NGX_HTTP_LLM_CACHE_MISS       2
#define NGX_HTTP_LLM_CACHE_EXPIRED    3
#define NGX_HTTP_LLM_CACHE_REFRESH    4
#define NGX_HTTP_LLM_CACHE_BYPASS     5
#define NGX_HTTP_LLM_CACHE_STATUSES   6

extern const char  *ngx_http_llm_cache_statuses[];

char *ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_llm_cache_create_conf(ngx_http_llm_cache_conf_t *conf);
void ngx_http_llm_cache_exit(void);
char *ngx_http_llm_cache_merge_conf(ngx_conf_t *cf,
    ngx_http_llm_cache_conf_t *prev, ngx_http_llm_cache_conf_t *conf);
ngx_int_t ngx_http_llm_cache_start(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body);
void ngx_http_llm_cache_attempt(ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_cache_progress(ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_cache_end(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_int_t rc);
ngx_int_t ngx_http_llm_cache_status(ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_cache_part_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *parts, ngx_uint_t n, u_char *key);
ngx_int_t ngx_http_llm_cache_part_get(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *key, ngx_str_t *value);
void ngx_http_llm_cache_part_put(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *key, ngx_str_t *value);
ngx_int_t ngx_http_llm_cache_parts(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t hits, ngx_uint_t total);

#define NGX_HTTP_LLM_CACHE_KEY_LEN  32

/* client budgets: ngx_http_llm_budget.c */
char *ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_llm_budget_info(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_budget_merge(ngx_conf_t *cf, ngx_array_t *budgets);
ngx_int_t ngx_http_llm_budget_admit(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_budget_cost(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *v);
ngx_int_t ngx_http_llm_budget_remaining(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *v);
void ngx_http_llm_tokens_used(ngx_http_llm_ctx_t *ctx, int64_t *prompt,
    int64_t *completion);

/* passive health and TTFT averages in shared memory: ngx_http_llm_health.c */
char *ngx_http_llm_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_llm_health_check(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf);
ngx_int_t ngx_http_llm_health_usable(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, ngx_msec_t *retry);
void ngx_http_llm_health_release(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, int64_t tokens);
void ngx_http_llm_health_report(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, ngx_uint_t ok);
ngx_msec_t ngx_http_llm_ttft_get(ngx_http_request_t *r,
    ngx_http_llm_model_t *m);
void ngx_http_llm_ttft_report(ngx_http_request_t *r,
    ngx_http_llm_model_t *m, ngx_msec_t ms);
ngx_uint_t ngx_http_llm_health_cooling(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p);
void ngx_http_llm_headroom_header(ngx_http_llm_headroom_t *h, u_char *name,
    size_t len, ngx_str_t *value);
void ngx_http_llm_headroom_done(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* Prometheus metrics: ngx_http_llm_metrics.c */
char *ngx_http_llm_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_llm_metrics_export(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_llm_metrics_init(ngx_conf_t *cf);
void ngx_http_llm_metrics_attempt(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, ngx_str_t *what);
void ngx_http_llm_metrics_stream(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_metrics_next(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, ngx_uint_t fallback);

/* llm_provider: ngx_http_llm_provider.c */
char *ngx_http_llm_provider(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* models, routes, the router: ngx_http_llm_route.c */
char *ngx_http_llm_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_http_llm_model_t *ngx_http_llm_add_model(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_str_t *name);
ngx_int_t ngx_http_llm_model_param(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_model_t *m,
    ngx_str_t *param);
char *ngx_http_llm_model_check(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_model_t *m);
char *ngx_http_llm_alias(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_uint_t ngx_http_llm_model_enabled(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m);
ngx_int_t ngx_http_llm_route_order(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* the transport, on nginx's upstream: ngx_http_llm_upstream.c */
ngx_int_t ngx_http_llm_start_upstream(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* attempts, back-off, commit point: ngx_http_llm_attempt.c */
char *ngx_http_llm_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_llm_attempt_first(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_attempt_retryable(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t status, ngx_msec_int_t wait);
ngx_int_t ngx_http_llm_attempt_failed(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const char *what, ngx_msec_int_t wait);
void ngx_http_llm_attempt_takeover(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_attempt_next(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_attempt_commit(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_attempt_silence_over(ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_attempt_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_int_t rc);

/* the peers of the providers' upstream{}s: ngx_http_llm_peer.c */
ngx_int_t ngx_http_llm_peer_wrap(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf);

/* a provider asked and answered, for every operation: _answer.c */
ngx_int_t ngx_http_llm_request_bufs(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, const char *auth_prefix, const char *headers,
    ngx_uint_t stream, llm_buf_t *path, llm_buf_t *body);
ngx_int_t ngx_http_llm_request_pieces(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, const char *auth_prefix, const char *headers,
    ngx_uint_t stream, llm_buf_t *path, llm_piece_t *pieces, ngx_uint_t n,
    llm_buf_t *own);
ngx_int_t ngx_http_llm_answer_failed(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, llm_error_pt error, llm_error_t *e);
ngx_int_t ngx_http_llm_reply(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t status);
ngx_int_t ngx_http_llm_relay_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *raw, size_t model_start,
    size_t model_end, llm_buf_t *path, const char *headers,
    ngx_uint_t stream);
ngx_int_t ngx_http_llm_relay_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_relay_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

/* templates and decorators: ngx_http_llm_prompt.c */
ngx_int_t ngx_http_llm_internal_form(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *chat, ngx_uint_t *rewritten,
    llm_error_t *e);
char *ngx_http_llm_template_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_message_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the operations: ngx_http_llm_chat.c, _embeddings.c, _messages.c,
 * _responses.c */
extern const ngx_http_llm_op_t  ngx_http_llm_chat_op;
extern const ngx_http_llm_op_t  ngx_http_llm_embeddings_op;
extern const ngx_http_llm_op_t  ngx_http_llm_messages_op;
extern const ngx_http_llm_op_t  ngx_http_llm_responses_op;
char *ngx_http_llm_responses_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the one way in: ngx_http_llm_ingress.c; llm_models: _models.c */
ngx_http_llm_ctx_t *ngx_http_llm_create_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_ingress_method(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t methods);
ngx_int_t ngx_http_llm_op_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_models_handler(ngx_http_request_t *r);

/* $llm_* variables: ngx_http_llm_variables.c */
ngx_int_t ngx_http_llm_add_variables(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_llm_module;


#endif /* _NGX_HTTP_LLM_MODULE_H_INCLUDED_ */
