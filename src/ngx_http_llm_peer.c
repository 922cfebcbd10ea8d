/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The peers of every provider's upstream{}, wrapped (as the keepalive
 * module wraps them), so that a failed attempt is taken over by the next
 * one instead of the core's error page.
 *
 * What this relies on inside nginx, checked against nginx 1.22.1
 * (Debian 12, every test of ./build.sh test):
 *
 *   - ngx_http_upstream_next() calls u->peer.free(pc, data, state) first,
 *     with NGX_PEER_FAILED on a failure, before it decides between
 *     another server and finalizing;
 *   - after our free closed the connection and cleared u->cleanup (and
 *     took a reference on r->main->count), ngx_http_upstream_next()'s
 *     ngx_http_upstream_finalize_request() sees the request as already
 *     finalized ("cleanup NULL") and only drops that reference, so no
 *     error page is sent and the request lives on for the next attempt;
 *   - u->peer.tries = 0 keeps the core from trying another server of the
 *     same upstream{} for this attempt;
 *   - peer.init is called per upstream request with r->upstream set, and
 *     the keepalive module's own wrapper (if configured) is what we wrap.
 *
 * A change to any of these in a later nginx shows in t/60-*.t ... t/67.
 */

#include "ngx_http_llm_module.h"


typedef struct {
    void                            *data;
    ngx_event_get_peer_pt            get;
    ngx_event_free_peer_pt           free;
#if (NGX_HTTP_SSL)
    ngx_event_set_peer_session_pt    set_session;
    ngx_event_save_peer_session_pt   save_session;
#endif
    ngx_http_request_t              *request;
} ngx_http_llm_peer_t;


static ngx_int_t ngx_http_llm_peer_init(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_llm_peer_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_llm_peer_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_llm_peer_set_session(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_llm_peer_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif


/*
 * Wraps peer.init of every provider's upstream{}: by now the upstream
 * module (and keepalive, if configured) has set it up.
 */

ngx_int_t
ngx_http_llm_peer_wrap(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                  i, j;
    ngx_http_llm_provider_t   **pp;
    ngx_http_llm_peer_init_t   *pi;

    if (ngx_array_init(&lmcf->peer_inits, cf->pool, 4,
                       sizeof(ngx_http_llm_peer_init_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    pp = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        if (pp[i]->upstream == NULL) {
            continue;
        }

        pi = lmcf->peer_inits.elts;

        for (j = 0; j < lmcf->peer_inits.nelts; j++) {
            if (pi[j].upstream == pp[i]->upstream) {
                break;
            }
        }

        if (j < lmcf->peer_inits.nelts) {
            continue;
        }

        pi = ngx_array_push(&lmcf->peer_inits);
        if (pi == NULL) {
            return NGX_ERROR;
        }

        pi->upstream = pp[i]->upstream;
        pi->init = pp[i]->upstream->peer.init;

        if (pi->init == NULL) {
            /* an implicit upstream is set up with round robin */
            pi->init = ngx_http_upstream_init_round_robin_peer;
        }

        pp[i]->upstream->peer.init = ngx_http_llm_peer_init;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_peer_init(ngx_http_request_t *r, ngx_http_upstream_srv_conf_t *us)
{
    ngx_uint_t                  i;
    ngx_http_upstream_t        *u;
    ngx_http_llm_peer_t        *lp;
    ngx_http_llm_peer_init_t   *pi;
    ngx_http_llm_main_conf_t   *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    pi = lmcf->peer_inits.elts;

    for (i = 0; i < lmcf->peer_inits.nelts; i++) {
        if (pi[i].upstream == us) {
            break;
        }
    }

    if (i == lmcf->peer_inits.nelts) {
        return NGX_ERROR;
    }

    if (pi[i].init(r, us) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the same upstream{} may serve proxy_pass too: leave that alone */
    if (ngx_http_get_module_ctx(r, ngx_http_llm_module) == NULL) {
        return NGX_OK;
    }

    u = r->upstream;

    lp = ngx_palloc(r->pool, sizeof(ngx_http_llm_peer_t));
    if (lp == NULL) {
        return NGX_ERROR;
    }

    lp->data = u->peer.data;
    lp->get = u->peer.get;
    lp->free = u->peer.free;
    lp->request = r;

    u->peer.data = lp;
    u->peer.get = ngx_http_llm_peer_get;
    u->peer.free = ngx_http_llm_peer_free;

#if (NGX_HTTP_SSL)
    lp->set_session = u->peer.set_session;
    lp->save_session = u->peer.save_session;
    u->peer.set_session = ngx_http_llm_peer_set_session;
    u->peer.save_session = ngx_http_llm_peer_save_session;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_peer_get(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_llm_peer_t  *lp = data;

    return lp->get(pc, lp->data);
}


#if (NGX_HTTP_SSL)

static ngx_int_t
ngx_http_llm_peer_set_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_llm_peer_t  *lp = data;

    return lp->set_session(pc, lp->data);
}


static void
ngx_http_llm_peer_save_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_llm_peer_t  *lp = data;

    lp->save_session(pc, lp->data);
}

#endif


/*
 * Called by ngx_http_upstream_next() on a failure (and by the core's
 * finalization otherwise).  If another attempt is planned, it takes the
 * failure over: see the comment at the top.
 */

static void
ngx_http_llm_peer_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_llm_peer_t  *lp = data;

    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    r = lp->request;
    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    /* ctx->order: a request with attempts (chat and embeddings) */

    if (ctx == NULL || ctx->order == NULL || ctx->committed || ctx->finished
        || r->connection->error || u == NULL || u->cleanup == NULL
        || !(ctx->handover || (state & NGX_PEER_FAILED)))
    {
        lp->free(pc, lp->data, state);
        return;
    }

    if (!ctx->handover) {
        c = pc->connection;

        if (ngx_http_llm_attempt_failed(r, ctx,
                                        (c && (c->read->timedout
                                               || c->write->timedout))
                                        ? "timeout" : "error", -1)
            != NGX_OK)
        {
            /* the last attempt: the core answers, as without retries */
            lp->free(pc, lp->data, state);
            return;
        }
    }

    /*
     * A complete error response (a 429, say) leaves a good connection,
     * and says nothing bad about the server: keep it.  A success that
     * hands over to the next request is no failure either.
     */

    lp->free(pc, lp->data,
             (ctx->handover && (u->keepalive || ctx->next_request))
             ? 0 : state);

    ngx_http_llm_attempt_takeover(r, ctx);
}
