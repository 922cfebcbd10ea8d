/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_cache_lock: identical requests in flight make one provider
 * request.  The first miss holds a lock in the zone (the store's lock)
 * and leads; the others wait.  Those in other workers look again every
 * 100 ms; those in the leader's own worker hang off it (a tree of this
 * worker's leaders, by key) and are woken when it ends, and those that
 * asked for a stream are fed the leader's stream as it arrives, through
 * their own writer, from its record.  A wait ends with the entry, with
 * the lock (when the leader stored nothing, the next waiter leads), or at
 * llm_cache_lock_timeout (then upstream, without the lock).
 */

#include "ngx_http_llm_cache.h"


#define NGX_HTTP_LLM_CACHE_POLL  100


static void ngx_http_llm_cache_wait(ngx_http_request_t *r,
    ngx_http_llm_cache_req_t *cr);
static void ngx_http_llm_cache_wake(ngx_event_t *ev);
static void ngx_http_llm_cache_live(ngx_http_llm_cache_req_t *w,
    ngx_http_llm_cache_req_t *leader, ngx_uint_t final, ngx_uint_t failed);
static void ngx_http_llm_cache_live_write(ngx_http_request_t *r);


/* the leaders of this worker, by key */
static ngx_rbtree_t       ngx_http_llm_cache_leaders;
static ngx_rbtree_node_t  ngx_http_llm_cache_sentinel;


/* not found: lead, wait for the leader, or go upstream */

ngx_int_t
ngx_http_llm_cache_miss(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_req_t *cr)
{
    time_t                     lifetime;
    uint32_t                   hash;
    ngx_str_node_t            *sn;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_cache_req_t  *leader;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (!llcf->cache.lock || !cr->write) {
        goto upstream;
    }

    if (ngx_http_llm_cache_leaders.sentinel == NULL) {
        ngx_rbtree_init(&ngx_http_llm_cache_leaders,
                        &ngx_http_llm_cache_sentinel,
                        ngx_str_rbtree_insert_value);
    }

    lifetime = (llcf->cache.lock_timeout + 999) / 1000;

    if (cr->store->ops->lock(cr->store, &cr->lock_key, lifetime) == NGX_OK) {
        /* the leader: its worker's waiters find it by key */
        cr->leader_of = 1;

        hash = ngx_crc32_short(cr->key.data, cr->key.len);
        sn = ngx_str_rbtree_lookup(&ngx_http_llm_cache_leaders, &cr->key,
                                   hash);

        if (sn == NULL) {
            cr->node.node.key = hash;
            cr->node.str = cr->key;
            ngx_rbtree_insert(&ngx_http_llm_cache_leaders, &cr->node.node);
            cr->in_tree = 1;
        }

        goto upstream;
    }

    /* another has it: wait, with the leader of this worker if here */

    hash = ngx_crc32_short(cr->key.data, cr->key.len);
    sn = ngx_str_rbtree_lookup(&ngx_http_llm_cache_leaders, &cr->key, hash);

    if (sn) {
        leader = (ngx_http_llm_cache_req_t *)
                     ((u_char *) sn - offsetof(ngx_http_llm_cache_req_t,
                                               node));
        cr->leader = leader;
        ngx_queue_insert_tail(&leader->waiters, &cr->queue);
    }

    if (!cr->waited) {
        cr->waited = 1;
        cr->wait_start = ngx_current_msec;
    }

    ngx_http_llm_cache_wait(r, cr);

    (void) ctx;

    return NGX_DONE;

upstream:

    return (ngx_http_llm_cache_status_header(r, cr) == NGX_OK)
           ? NGX_DECLINED : NGX_ERROR;
}


static void
ngx_http_llm_cache_wait(ngx_http_request_t *r, ngx_http_llm_cache_req_t *cr)
{
    ngx_msec_t                 left, elapsed;
    ngx_http_llm_loc_conf_t   *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    elapsed = ngx_current_msec - cr->wait_start;
    left = (elapsed < llcf->cache.lock_timeout)
           ? llcf->cache.lock_timeout - elapsed : 0;

    cr->wait_ev.handler = ngx_http_llm_cache_wake;
    cr->wait_ev.data = r;
    cr->wait_ev.log = r->connection->log;

    /* a client that goes away while waiting ends its request */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    /* the leader of this worker wakes its waiters; others look again */
    ngx_add_timer(&cr->wait_ev, cr->leader
                                ? left
                                : ngx_min(left, NGX_HTTP_LLM_CACHE_POLL));
}


/* a waiter looks again: the entry, the lock, or its time is up */

static void
ngx_http_llm_cache_wake(ngx_event_t *ev)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_cache_req_t  *cr;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    cr = ctx->cache;
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (cr->live) {
        /* a live stream is over */
        if (cr->live_done) {
            ngx_http_finalize_request(r, cr->live_rc);
            ngx_http_run_posted_requests(c);
        }

        return;
    }

    if (cr->leader) {
        ngx_queue_remove(&cr->queue);
        cr->leader = NULL;
    }

    cr->status = NGX_HTTP_LLM_CACHE_COALESCED;

    rc = ngx_http_llm_cache_lookup(r, ctx, cr);

    if (rc == NGX_DONE) {
        ngx_http_run_posted_requests(c);
        return;
    }

    cr->status = NGX_HTTP_LLM_CACHE_MISS;

    if (ngx_current_msec - cr->wait_start < llcf->cache.lock_timeout) {
        /* the leader is gone without an answer, or busy elsewhere */
        rc = ngx_http_llm_cache_miss(r, ctx, cr);

        if (rc == NGX_DONE) {
            /* still waiting (the wait started anew, its time kept) */
            return;
        }

    } else {
        /* waited long enough: upstream, without the lock */
        rc = ngx_http_llm_cache_status_header(r, cr);
        rc = (rc == NGX_OK) ? NGX_DECLINED : NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        r->read_event_handler = ngx_http_block_reading;
        rc = ngx_http_llm_attempt_first(r, ctx);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc == NGX_ERROR
                                     ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc);
    }

    ngx_http_run_posted_requests(c);
}


/* the leader's stream went on: its live waiters get what is new */

void
ngx_http_llm_cache_progress(ngx_http_llm_ctx_t *ctx)
{
    ngx_queue_t               *q, *next;
    ngx_http_llm_ctx_t        *wctx;
    ngx_http_llm_cache_req_t  *cr, *w;

    cr = ctx->cache;

    if (cr == NULL || ngx_queue_empty(&cr->waiters) || !ctx->committed
        || !ctx->stream)
    {
        return;
    }

    for (q = ngx_queue_head(&cr->waiters);
         q != ngx_queue_sentinel(&cr->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_llm_cache_req_t, queue);
        wctx = ngx_http_get_module_ctx(w->request, ngx_http_llm_module);

        if (wctx->stream) {
            ngx_http_llm_cache_live(w, cr, 0, 0);
        }
    }
}


/* a leader is done: the lock goes, its waiters here are woken or fed */

void
ngx_http_llm_cache_release(ngx_http_llm_cache_req_t *cr, ngx_uint_t ok)
{
    ngx_queue_t               *q;
    ngx_http_llm_cache_req_t  *w;

    if (!cr->leader_of) {
        return;
    }

    cr->leader_of = 0;

    cr->store->ops->unlock(cr->store, &cr->lock_key);

    if (cr->in_tree) {
        ngx_rbtree_delete(&ngx_http_llm_cache_leaders, &cr->node.node);
        cr->in_tree = 0;
    }

    while (!ngx_queue_empty(&cr->waiters)) {
        q = ngx_queue_head(&cr->waiters);
        w = ngx_queue_data(q, ngx_http_llm_cache_req_t, queue);

        if (w->live) {
            /* fed the stream so far: its end, or the failure */
            ngx_http_llm_cache_live(w, cr, 1, !ok);
            continue;
        }

        ngx_queue_remove(q);
        w->leader = NULL;

        if (w->wait_ev.timer_set) {
            ngx_del_timer(&w->wait_ev);
        }

        ngx_post_event(&w->wait_ev, &ngx_posted_events);
    }
}


/*
 * A waiter that asked for a stream gets the leader's events as they
 * come, through its own writer; final: the leader ended (failed: badly)
 */

static void
ngx_http_llm_cache_live(ngx_http_llm_cache_req_t *w,
    ngx_http_llm_cache_req_t *leader, ngx_uint_t final, ngx_uint_t failed)
{
    int                  rc;
    char                *model;
    ngx_buf_t           *b;
    ngx_uint_t           last;
    ngx_chain_t          out;
    ngx_http_request_t  *r;
    ngx_http_llm_ctx_t  *wctx;

    r = w->request;
    wctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    if (!w->live) {
        if (w->wait_ev.timer_set) {
            ngx_del_timer(&w->wait_ev);
        }

        w->live = 1;
        w->status = NGX_HTTP_LLM_CACHE_COALESCED;

        /* answered without a provider of its own: no tokens spent */
        wctx->cache_hit = 1;

        model = ngx_http_llm_cache_model(r, wctx, leader->record.buf.data,
                                         leader->record.buf.len);
        if (model == NULL) {
            goto done_error;
        }

        llm_response_init(&wctx->resp, model, wctx->req.include_usage);

        r->headers_out.status = NGX_HTTP_OK;
        r->headers_out.content_length_n = -1;
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;

        if (ngx_http_llm_cache_status_header(r, w) != NGX_OK
            || ngx_http_llm_sse_headers(r) != NGX_OK
            || ngx_http_send_header(r) == NGX_ERROR)
        {
            goto done_error;
        }

        r->write_event_handler = ngx_http_llm_cache_live_write;
    }

    llm_buf_reset(&wctx->out);

    if (failed) {
        rc = llm_response_fail(&wctx->resp, &wctx->out, 502,
                               "upstream_error",
                               "The provider's stream failed before it "
                               "was complete.");
        ngx_http_llm_set_error(wctx, "upstream_error");

    } else {
        rc = llm_record_replay(leader->record.buf.data,
                               leader->record.buf.len, &w->cursor, final,
                               &wctx->resp, &wctx->out, &w->scratch);
    }

    if (rc == LLM_ERROR) {
        goto done_error;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        goto done_error;
    }

    if (wctx->out.len) {
        b->start = ngx_pnalloc(r->pool, wctx->out.len);
        if (b->start == NULL) {
            goto done_error;
        }

        b->pos = b->start;
        b->last = ngx_cpymem(b->start, wctx->out.data, wctx->out.len);
        b->end = b->last;
        b->temporary = 1;
    }

    /* the chunked filter takes last_buf off the buffer: kept apart */
    last = (final || rc == LLM_DONE);

    b->flush = 1;
    b->last_buf = last;

    out.buf = b;
    out.next = NULL;

    if (ngx_http_output_filter(r, &out) == NGX_ERROR) {
        goto done_error;
    }

    if (!last) {
        return;
    }

    w->live_rc = NGX_OK;
    goto done;

done_error:

    w->live_rc = NGX_ERROR;

done:

    /* the waiter's own event ends its request, outside the leader's */

    w->live = 1;
    w->live_done = 1;

    if (w->leader) {
        ngx_queue_remove(&w->queue);
        w->leader = NULL;
    }

    ngx_post_event(&w->wait_ev, &ngx_posted_events);
}


/* a live waiter's client can take more */

static void
ngx_http_llm_cache_live_write(ngx_http_request_t *r)
{
    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}
