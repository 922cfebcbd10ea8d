/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The counters of llm_metrics in shared memory, shared by their
 * Prometheus export (ngx_http_llm_metrics.c) and the status page with its
 * JSON view (ngx_http_llm_status.c).
 */

#ifndef _NGX_HTTP_LLM_METRICS_H_INCLUDED_
#define _NGX_HTTP_LLM_METRICS_H_INCLUDED_


#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_METRICS_SLOTS  256

#define NGX_HTTP_LLM_MSLOT_MODEL     1
#define NGX_HTTP_LLM_MSLOT_PROVIDER  2

#define NGX_HTTP_LLM_STATUSES       5       /* 2xx 3xx 4xx 5xx 499 */
#define NGX_HTTP_LLM_OUTCOMES       10
#define NGX_HTTP_LLM_TIME_BUCKETS   15
#define NGX_HTTP_LLM_TPOT_BUCKETS   11
#define NGX_HTTP_LLM_TOKEN_BUCKETS  14      /* 1, 4, 16, ... 4^13 */


typedef struct {
    uint64_t                 buckets[NGX_HTTP_LLM_TIME_BUCKETS];
    uint64_t                 count;
    uint64_t                 sum;           /* ms, or µs for tpot */
} ngx_http_llm_histogram_t;


typedef struct {
    uint64_t                 buckets[NGX_HTTP_LLM_TOKEN_BUCKETS];
    uint64_t                 count;
    uint64_t                 sum;
} ngx_http_llm_token_histogram_t;


typedef struct {
    uint32_t                 key;
    ngx_uint_t               kind;
    u_char                   name[64];
    size_t                   name_len;

    /* a model's */
    uint64_t                 requests[NGX_HTTP_LLM_STATUSES];
    int64_t                  streams;       /* in flight */
    uint64_t                 spend;         /* 1e-10 USD */
    ngx_http_llm_histogram_t duration;
    ngx_http_llm_histogram_t ttft;
    ngx_http_llm_histogram_t tpot;
    ngx_http_llm_token_histogram_t  tokens[2];   /* input, output */
    uint64_t                 cache[NGX_HTTP_LLM_CACHE_STATUSES];

    /* a provider's */
    uint64_t                 attempts[NGX_HTTP_LLM_OUTCOMES];
    uint64_t                 retries;       /* a failure tried again */
    uint64_t                 fallbacks;     /* ... or left for the next */
} ngx_http_llm_metrics_slot_t;


typedef struct {
    ngx_uint_t               n;
    uint64_t                 rejected[NGX_HTTP_LLM_STATUSES];
    ngx_http_llm_metrics_slot_t  slots[NGX_HTTP_LLM_METRICS_SLOTS];
} ngx_http_llm_metrics_sh_t;


/* text built in a buffer; failed: no memory */
typedef struct {
    llm_buf_t     b;
    ngx_int_t     failed;
} ngx_http_llm_text_t;


extern const char        *ngx_http_llm_status_names[];
extern const char        *ngx_http_llm_cache_metric_names[];
extern const char        *ngx_http_llm_outcome_names[];
extern const ngx_msec_t   ngx_http_llm_time_buckets[];
extern const ngx_msec_t   ngx_http_llm_tpot_buckets[];


void ngx_http_llm_text(ngx_http_llm_text_t *t, const char *fmt, ...);

/* llm_budget_refused_total: ngx_http_llm_budget.c */
void ngx_http_llm_budget_metrics(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_text_t *t);

/* GET, the body discarded, the zone there: NGX_OK, or a status */
ngx_int_t ngx_http_llm_metrics_request(ngx_http_request_t *r,
    ngx_http_llm_main_conf_t *lmcf);

/* a copy of the counters, every configured name in it; NULL: memory */
ngx_http_llm_metrics_sh_t *ngx_http_llm_metrics_snapshot(
    ngx_http_request_t *r, ngx_http_llm_main_conf_t *lmcf);

/* a model slot's provider name, NULL if no longer configured */
ngx_str_t *ngx_http_llm_metrics_provider(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_metrics_slot_t *s);

/* 1 unless the provider of a slot cools down */
ngx_uint_t ngx_http_llm_provider_up(ngx_http_request_t *r,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_metrics_slot_t *s);


#endif /* _NGX_HTTP_LLM_METRICS_H_INCLUDED_ */
