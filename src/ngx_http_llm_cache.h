/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The response cache's request state, shared by its two files:
 * ngx_http_llm_cache.c (key, lookup, answers, keeping) and
 * ngx_http_llm_cache_lock.c (llm_cache_lock: leaders, waiters, live
 * streams).
 */

#ifndef _NGX_HTTP_LLM_CACHE_H_INCLUDED_
#define _NGX_HTTP_LLM_CACHE_H_INCLUDED_


#include <openssl/evp.h>

#include "ngx_http_llm_module.h"
#include "llm_cache.h"


struct ngx_http_llm_cache_req_s {
    ngx_http_request_t            *request;
    ngx_http_llm_store_t          *store;
    u_char                         hash[SHA256_DIGEST_LENGTH + 1];
    ngx_str_t                      key;
    ngx_str_t                      lock_key;    /* key + 'L' */
    ngx_uint_t                     status;      /* NGX_HTTP_LLM_CACHE_* */
    time_t                         max_age;     /* -1: any */

    llm_record_t                   record;      /* a miss's answer */

    /* llm_cache_lock */
    ngx_event_t                    wait_ev;
    ngx_msec_t                     wait_start;
    ngx_str_node_t                 node;        /* a leader, in its worker */
    ngx_queue_t                    waiters;     /* a leader's, here */
    ngx_queue_t                    queue;       /* a waiter, in them */
    ngx_http_llm_cache_req_t      *leader;      /* a waiter's */
    llm_record_cursor_t            cursor;      /* a live waiter's */
    llm_buf_t                      scratch;
    ngx_int_t                      live_rc;

    unsigned                       write:1;     /* the answer is kept */
    unsigned                       leader_of:1; /* holds the lock */
    unsigned                       in_tree:1;
    unsigned                       waited:1;   /* wait_start is set */
    unsigned                       live:1;      /* fed a leader's stream */
    unsigned                       live_done:1;
};


/* ngx_http_llm_cache.c */
ngx_int_t ngx_http_llm_cache_lookup(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_req_t *cr);
ngx_int_t ngx_http_llm_cache_status_header(ngx_http_request_t *r,
    ngx_http_llm_cache_req_t *cr);
char *ngx_http_llm_cache_model(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *p, size_t n);

/* ngx_http_llm_cache_lock.c */
ngx_int_t ngx_http_llm_cache_miss(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_req_t *cr);
void ngx_http_llm_cache_release(ngx_http_llm_cache_req_t *cr,
    ngx_uint_t ok);


#endif /* _NGX_HTTP_LLM_CACHE_H_INCLUDED_ */
