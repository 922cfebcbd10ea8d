/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Attempts: one client request, several upstream requests.
 *
 * Each attempt is a fresh ngx_http_upstream for one candidate (provider +
 * upstream model), its body built by that candidate's dialect.  The same
 * way starts the next batch of an embeddings request after a success
 * (ngx_http_llm_attempt_next()): one piece of code starts every upstream
 * request after the first, from a timer, never from inside one.  Until the
 * commit point (the first content token of a stream, the whole body
 * otherwise) a failure is retried: the same candidate after a back-off
 * (exponential, jittered, or the provider's Retry-After up to a cap), then
 * the next candidate.  The wait is an nginx timer; the worker never blocks.
 *
 * Failures reach us two ways: statuses and broken streams, seen by our
 * process_header, which asks ngx_http_llm_attempt_retryable() and on
 * NGX_OK returns NGX_HTTP_UPSTREAM_INVALID_HEADER; connect errors and
 * timeouts, seen by the core.  Both end in ngx_http_upstream_next(),
 * whose first step frees the peer: ngx_http_llm_peer.c steps in there
 * and hands the failure over (ngx_http_llm_attempt_failed(),
 * ngx_http_llm_attempt_takeover()).  Our own aborts (first token
 * timeout, deadline) detach through u->cleanup, as
 * ngx_http_upstream_create() does.
 */

#include "ngx_http_llm_module.h"


static void ngx_http_llm_attempt_record(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *what);
static void ngx_http_llm_attempt_cleanup(ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_mark_ttft(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);

static ngx_int_t ngx_http_llm_attempt_select(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t from, ngx_uint_t again,
    ngx_msec_t busy, ngx_uint_t *limited);
static void ngx_http_llm_attempt_none(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t limited);
static ngx_int_t ngx_http_llm_attempt_start(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_attempt_plan(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_msec_int_t wait);
static void ngx_http_llm_attempt_wait(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_attempt_detach(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_attempt_abort(ngx_http_request_t *r);
static void ngx_http_llm_attempt_resume(ngx_event_t *ev);
static void ngx_http_llm_first_token_timeout(ngx_event_t *ev);
static void ngx_http_llm_deadline_handler(ngx_event_t *ev);
static void ngx_http_llm_attempt_fail_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, int status, const char *code,
    const char *message, ngx_msec_t retry);
static void ngx_http_llm_attempt_request_cleanup(void *data);
static ngx_uint_t ngx_http_llm_status_retryable(ngx_uint_t status);


/* llm_retry [tries=N] [base=T] [cap=T] | off */

char *
ngx_http_llm_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ngx_str_t   *value, s;
    ngx_int_t    n;
    ngx_uint_t   i;
    ngx_msec_t   ms;

    if (llcf->retry_tries != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        llcf->retry_tries = 1;
        llcf->retry_base = 0;
        llcf->retry_cap = 0;
        return NGX_CONF_OK;
    }

    /* like any directive, it replaces the whole setting inherited */
    llcf->retry_tries = 3;
    llcf->retry_base = 250;
    llcf->retry_cap = 10000;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "tries=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            llcf->retry_tries = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "base=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            llcf->retry_base = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "cap=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            llcf->retry_cap = ms;
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in llm_retry", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * The peer of a failed (or handed-over) attempt was freed: this upstream
 * lets go of the request, and the next attempt waits for its timer.
 */

void
ngx_http_llm_attempt_takeover(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ctx->handover = 0;
    ctx->next_request = 0;

    ngx_http_llm_attempt_detach(r, ctx);

    ngx_http_llm_attempt_wait(r, ctx);
}


/* this attempt's upstream lets go of the request; the request lives on */

static void
ngx_http_llm_attempt_detach(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    u = r->upstream;
    c = u->peer.connection;

    if (c) {
#if (NGX_HTTP_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        if (c->pool) {
            ngx_destroy_pool(c->pool);
        }

        ngx_close_connection(c);
        u->peer.connection = NULL;
    }

    /* nothing more to try in this upstream{} for this attempt */
    u->peer.tries = 0;
    u->peer.cached = 0;

    if (u->state && u->state->response_time == (ngx_msec_t) -1) {
        u->state->response_time = ngx_current_msec - u->start_time;
    }

    /* the core's "already finalized" path will drop this reference */
    r->main->count++;

    *u->cleanup = NULL;
    u->cleanup = NULL;

    if (ctx->ftt_ev.timer_set) {
        ngx_del_timer(&ctx->ftt_ev);
    }
}


/*
 * Our own end of an attempt (first token timeout, deadline): the core's
 * teardown, as ngx_http_upstream_create() does it, keeping the request.
 */

static void
ngx_http_llm_attempt_abort(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    r->main->count++;

    (*u->cleanup)(r);
}


/* the first attempt, once the client request is parsed */

ngx_int_t
ngx_http_llm_attempt_first(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_uint_t                i, n, declined, limited;
    llm_error_t               e;
    ngx_http_cleanup_t       *cln;
    ngx_http_llm_model_t     *models;
    ngx_http_llm_loc_conf_t  *llcf;
    ngx_http_llm_main_conf_t *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;

    if (ngx_http_llm_route_order(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->norder == 0) {
        llm_error_set(&e, 503, NULL, "provider_unavailable",
                      "No provider of this model is available on this "
                      "gateway (no API key).");
        return ngx_http_llm_send_error(r, ctx, &e);
    }

    /* a candidate the operation cannot send this request to is none */

    n = 0;
    declined = 0;

    for (i = 0; i < ctx->norder; i++) {

        rc = ctx->op->check(r, ctx, &models[ctx->order[i]], &e);

        if (rc == NGX_DECLINED) {
            declined = 1;
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->order[n++] = ctx->order[i];
    }

    ctx->norder = n;

    if (n == 0 && declined) {
        /* the last refusal says why */
        return ngx_http_llm_send_error(r, ctx, &e);
    }

    /* an operation may answer for the first candidate itself */

    if (ctx->op->local && n) {
        ctx->model = &models[ctx->order[0]];

        rc = ctx->op->local(r, ctx, ctx->model);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_llm_attempt_request_cleanup;
    cln->data = ctx;

    ctx->retry_wait = -1;

    ctx->wait_ev.handler = ngx_http_llm_attempt_resume;
    ctx->wait_ev.data = r;
    ctx->wait_ev.log = r->connection->log;

    ctx->ftt_ev.handler = ngx_http_llm_first_token_timeout;
    ctx->ftt_ev.data = r;
    ctx->ftt_ev.log = r->connection->log;

    ctx->deadline_ev.handler = ngx_http_llm_deadline_handler;
    ctx->deadline_ev.data = r;
    ctx->deadline_ev.log = r->connection->log;

    if (llcf->deadline) {
        ctx->deadline = ngx_current_msec + llcf->deadline;
        ngx_add_timer(&ctx->deadline_ev, llcf->deadline);
    }

    /* the first candidate that is not cooling down and has headroom */

    rc = ngx_http_llm_attempt_select(r, ctx, 0, 0, 0, &limited);

    if (rc == NGX_OK) {
        rc = ngx_http_llm_attempt_start(r, ctx);
        return (rc == NGX_OK) ? NGX_DONE : rc;
    }

    if (rc == NGX_BUSY) {
        ngx_http_llm_attempt_wait(r, ctx);

    } else {
        ngx_http_llm_attempt_none(r, ctx, limited);
    }

    return NGX_DONE;
}


/*
 * The first candidate from "from" on that may be tried now: NGX_OK, it is
 * ctx->next_cand and holds its headroom.  Else, when one only lacks
 * headroom (or "busy", the wait of one before "from") and the deadline
 * (or llm_retry_after_cap without one) allows, NGX_BUSY: choose again
 * from "again" after ctx->delay.  Else NGX_DECLINED: *limited when rate
 * limits stand in the way, not cool-downs; ctx->delay is how long.
 */

static ngx_int_t
ngx_http_llm_attempt_select(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t from, ngx_uint_t again, ngx_msec_t busy, ngx_uint_t *limited)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_msec_t                 now, retry, cooling;
    ngx_http_llm_model_t      *models;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;
    cooling = NGX_MAX_INT32_VALUE;

    for (i = from; i < ctx->norder; i++) {

        rc = ngx_http_llm_health_usable(r, ctx, &models[ctx->order[i]],
                                        &retry);

        if (rc == NGX_OK) {
            ctx->next_cand = i;
            ctx->delay = 0;
            ctx->wait_start = 0;
            return NGX_OK;
        }

        if (rc == NGX_BUSY) {
            busy = busy ? ngx_min(busy, retry) : retry;

        } else {
            cooling = ngx_min(cooling, retry);
        }
    }

    now = ngx_current_msec;

    if (ctx->wait_start == 0) {
        ctx->wait_start = now;
    }

    if (busy
        && (ctx->deadline
            ? (ngx_msec_int_t) (ctx->deadline - now - busy) > 0
            : now + busy - ctx->wait_start <= llcf->retry_after_cap))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm: no provider of model \"%V\" has headroom for "
                      "this request, waiting %M ms", &ctx->route->name,
                      busy);

        ctx->reselect = again + 1;
        ctx->delay = busy;
        return NGX_BUSY;
    }

    *limited = (busy != 0);
    ctx->delay = busy ? busy : cooling;

    return NGX_DECLINED;
}


/* no candidate can be tried: 429 for rate limits, 503 for cool-downs */

static void
ngx_http_llm_attempt_none(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t limited)
{
    ngx_http_llm_model_t      *models;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;

    if (ctx->model == NULL) {
        ctx->model = &models[ctx->order[0]];
    }

    if (limited) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: every provider of model \"%V\" is at its rate "
                      "limit", &ctx->route->name);

        ngx_http_llm_attempt_fail_request(r, ctx, 429, "rate_limit_exceeded",
                                          "Every provider of this model is "
                                          "at its rate limit; try again "
                                          "later.", ctx->delay);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llm: every provider of model \"%V\" is cooling down",
                  &ctx->route->name);

    ngx_http_llm_attempt_fail_request(r, ctx, 503, "providers_cooling_down",
                                      "Every provider of this model is "
                                      "failing; try again later.",
                                      ctx->delay);
}


static ngx_int_t
ngx_http_llm_attempt_start(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_upstream_state_t *st;
    ngx_http_llm_model_t      *models;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;

    if (ctx->attempts == 0 || ctx->next_cand != ctx->cand) {
        ctx->tries = 0;
    }

    /* $upstream_status: the provider's status, not the core's 502 */
    if (r->upstream_states && r->upstream_states->nelts && ctx->status.code) {
        st = r->upstream_states->elts;
        st[r->upstream_states->nelts - 1].status = ctx->status.code;
    }

    ctx->cand = ctx->next_cand;
    ctx->tries++;
    ctx->attempts++;
    ctx->model = &models[ctx->order[ctx->cand]];
    ctx->attempt_start = ngx_current_msec;

    /* this attempt's parsing state starts afresh */

    ctx->state = ngx_http_llm_st_status;
    ngx_memzero(&ctx->status, sizeof(ngx_http_status_t));
    ngx_memzero(&ctx->chunked, sizeof(ngx_http_chunked_t));
    ctx->body_length = -1;
    ctx->body_received = 0;
    ngx_str_null(&ctx->retry_after);
    ngx_str_null(&ctx->error);
    ctx->retry_wait = -1;
    llm_buf_reset(&ctx->body);
    llm_buf_reset(&ctx->out);
    llm_sse_free(&ctx->sse);
    llm_response_free(&ctx->resp);

    ctx->chunked_body = 0;
    ctx->body_done = 0;
    ctx->connection_close = 0;
    ctx->failure_logged = 0;
    ctx->handover = 0;
    ctx->next_request = 0;
    ctx->recorded = 0;
    ctx->health_reported = 0;
    ctx->skip_byte = 0;
    ctx->relay = 0;
    ctx->reader = NULL;

    /* the dialect fills in max_tokens where the provider requires it */
    ctx->req.max_tokens_default = ctx->model->max_tokens;

    if (llcf->first_token_timeout) {
        ngx_add_timer(&ctx->ftt_ev, llcf->first_token_timeout);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm attempt %ui: provider \"%V\", model \"%V\", try %ui",
                   ctx->attempts, &ctx->model->provider->name,
                   &ctx->model->upstream_model, ctx->tries);

    return ngx_http_llm_start_upstream(r, ctx);
}


/*
 * A failure with a provider's status (or 0: a stream that broke before
 * its first token), seen by process_header.  NGX_OK: another attempt is
 * planned, hand the failure over; NGX_DECLINED: answer the client.
 */

ngx_int_t
ngx_http_llm_attempt_retryable(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t status, ngx_msec_int_t wait)
{
    u_char  buf[NGX_INT_T_LEN + 1];

    if (ctx->order == NULL || ctx->committed || r->connection->error
        || (status && !ngx_http_llm_status_retryable(status)))
    {
        return NGX_DECLINED;
    }

    if (status) {
        ngx_sprintf(buf, "%ui%Z", status);

    } else {
        ngx_cpystrn(buf, (u_char *) "stream_error", sizeof(buf));
    }

    if (ngx_http_llm_attempt_failed(r, ctx, (char *) buf, wait) != NGX_OK) {
        return NGX_DECLINED;
    }

    ctx->handover = 1;

    return NGX_OK;
}


/*
 * This attempt succeeded but the client request needs another upstream
 * request (the next batch of embeddings).  It goes the way of a retried
 * failure: process_header returns NGX_HTTP_UPSTREAM_INVALID_HEADER, our
 * peer free keeps the connection (u->keepalive) and detaches, a timer
 * starts the next request on the same candidate with a fresh tries count.
 */

ngx_int_t
ngx_http_llm_attempt_next(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    u_char      buf[NGX_INT_T_LEN];
    ngx_str_t   s;
    ngx_msec_t  retry;

    s.data = buf;
    s.len = ngx_sprintf(buf, "%ui", ctx->status.code) - buf;

    ngx_http_llm_attempt_record(r, ctx, &s);

    ngx_http_llm_health_report(r, ctx->model->provider, 1);
    ctx->health_reported = 1;

    /* the next batch holds headroom of its own, when there is some */
    ngx_http_llm_health_release(r, ctx, 0);
    (void) ngx_http_llm_health_usable(r, ctx, ctx->model, &retry);

    ctx->next_cand = ctx->cand;
    ctx->tries = 0;
    ctx->delay = 0;
    ctx->handover = 1;
    ctx->next_request = 1;

    return NGX_HTTP_UPSTREAM_INVALID_HEADER;
}


static ngx_uint_t
ngx_http_llm_status_retryable(ngx_uint_t status)
{
    switch (status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
    case 529:
        return 1;
    default:
        return 0;
    }
}


/*
 * A failed attempt: record it, tell the health table, plan the next one.
 * NGX_OK: planned (ctx->next_cand after ctx->delay); NGX_DECLINED: none
 * left, and the attempt is recorded only when one is planned (the last
 * one is recorded by ngx_http_llm_attempt_end() with its outcome).
 */

ngx_int_t
ngx_http_llm_attempt_failed(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *what, ngx_msec_int_t wait)
{
    ngx_str_t                  s;
    ngx_int_t                  rc;
    ngx_http_llm_model_t      *models, *next;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;

    ngx_http_llm_health_report(r, ctx->model->provider, 0);
    ctx->health_reported = 1;

    /* the provider said no: nothing was used */
    ngx_http_llm_health_release(r, ctx, 0);

    rc = ngx_http_llm_attempt_plan(r, ctx, wait);

    if (rc != NGX_OK) {
        return rc;
    }

    s.data = (u_char *) what;
    s.len = ngx_strlen(what);

    ngx_http_llm_attempt_record(r, ctx, &s);

    ngx_http_llm_metrics_next(r, ctx->model->provider,
                              !ctx->reselect && ctx->next_cand != ctx->cand);

    if (ctx->reselect) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: attempt %ui to provider \"%V\" (model \"%V\") "
                      "failed: %s; waiting %M ms for provider headroom",
                      ctx->attempts, &ctx->model->provider->name,
                      &ctx->model->upstream_model, what, ctx->delay);

    } else if (ctx->next_cand == ctx->cand) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: attempt %ui to provider \"%V\" (model \"%V\") "
                      "failed: %s; retrying in %M ms", ctx->attempts,
                      &ctx->model->provider->name,
                      &ctx->model->upstream_model, what, ctx->delay);

    } else {
        next = &models[ctx->order[ctx->next_cand]];

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: attempt %ui to provider \"%V\" (model \"%V\") "
                      "failed: %s; trying provider \"%V\" (model \"%V\")",
                      ctx->attempts, &ctx->model->provider->name,
                      &ctx->model->upstream_model, what,
                      &next->provider->name, &next->upstream_model);
    }

    return NGX_OK;
}


/*
 * The next attempt: the same candidate after a back-off while it has
 * tries left and its Retry-After is within the cap, else the next
 * candidate that is not cooling down, at once.  The deadline bounds it.
 */

static ngx_int_t
ngx_http_llm_attempt_plan(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_msec_int_t wait)
{
    ngx_int_t                 rc;
    ngx_uint_t                n, limited;
    ngx_msec_t                delay, exp, now, retry, busy;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);
    now = ngx_current_msec;
    busy = 0;

    if (ctx->deadline && (ngx_msec_int_t) (ctx->deadline - now) <= 0) {
        return NGX_DECLINED;
    }

    if (ctx->tries < llcf->retry_tries
        && (wait < 0 || (ngx_msec_t) wait <= llcf->retry_after_cap))
    {
        if (wait >= 0) {
            delay = (ngx_msec_t) wait;

        } else {
            /* base * 2^(tries-1), capped; "equal jitter": half of it fixed */

            exp = llcf->retry_base;

            for (n = 1; n < ctx->tries && exp < llcf->retry_cap; n++) {
                exp *= 2;
            }

            exp = ngx_min(exp, llcf->retry_cap);

            delay = exp / 2 + (ngx_msec_t) ngx_random() % (exp / 2 + 1);
        }

        if (ctx->deadline == 0
            || (ngx_msec_int_t) (ctx->deadline - now - delay) > 0)
        {
            rc = ngx_http_llm_health_usable(r, ctx, ctx->model, &retry);

            if (rc == NGX_OK) {
                ctx->next_cand = ctx->cand;
                ctx->delay = delay;
                return NGX_OK;
            }

            if (rc == NGX_BUSY) {
                /* the same again once it has headroom, or the next now */
                busy = ngx_max(retry, delay);
            }
        }
    }

    rc = ngx_http_llm_attempt_select(r, ctx, ctx->cand + 1,
                                     busy ? ctx->cand : ctx->cand + 1, busy,
                                     &limited);

    /* none: the failed attempt's answer is the last word */
    return (rc == NGX_DECLINED) ? NGX_DECLINED : NGX_OK;
}


/* waits for the planned attempt; a client going away ends it all */

static void
ngx_http_llm_attempt_wait(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    /* a timer, even for no delay: never a new upstream from inside one */
    ngx_add_timer(&ctx->wait_ev, ngx_max(ctx->delay, 1));
}


static void
ngx_http_llm_attempt_resume(ngx_event_t *ev)
{
    ngx_int_t            rc;
    ngx_uint_t           from, limited;
    llm_error_t          e;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_llm_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    ngx_http_set_log_request(c->log, r);

    if (c->error) {
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        ngx_http_run_posted_requests(c);
        return;
    }

    if (ctx->reselect) {
        /* waited for headroom: choose again */
        from = ctx->reselect - 1;
        ctx->reselect = 0;

        rc = ngx_http_llm_attempt_select(r, ctx, from, from, 0, &limited);

        if (rc == NGX_BUSY) {
            ngx_http_llm_attempt_wait(r, ctx);
            goto done;
        }

        if (rc == NGX_DECLINED) {
            ngx_http_llm_attempt_none(r, ctx, limited);
            goto done;
        }
    }

    rc = ngx_http_llm_attempt_start(r, ctx);

    if (rc != NGX_OK) {
        llm_error_set(&e, 500, NULL, "gateway_error",
                      "The gateway could not start the request.");
        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
    }

done:

    ngx_http_run_posted_requests(c);
}


/* a provider that accepted the request but says nothing */

static void
ngx_http_llm_first_token_timeout(ngx_event_t *ev)
{
    ngx_str_t             s;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    r = ev->data;
    c = r->connection;
    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    ngx_http_set_log_request(c->log, r);

    if (ctx->committed || ctx->finished || u == NULL || u->cleanup == NULL) {
        return;
    }

    ngx_str_set(&s, "first_token_timeout");

    if (ngx_http_llm_attempt_failed(r, ctx, (char *) s.data, -1) != NGX_OK) {
        ngx_http_llm_attempt_record(r, ctx, &s);
        ngx_http_llm_attempt_abort(r);

        ngx_http_llm_attempt_fail_request(r, ctx, 504, "first_token_timeout",
                                          "The provider did not start "
                                          "answering in time.", 0);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_http_llm_attempt_abort(r);

    ngx_http_llm_attempt_wait(r, ctx);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_llm_deadline_handler(ngx_event_t *ev)
{
    ngx_str_t             s;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    r = ev->data;
    c = r->connection;
    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    ngx_http_set_log_request(c->log, r);

    if (ctx->committed || ctx->finished) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "llm: the request's deadline passed after %ui attempts",
                  ctx->attempts);

    if (ctx->wait_ev.timer_set) {
        ngx_del_timer(&ctx->wait_ev);

    } else if (u && u->cleanup) {
        ngx_str_set(&s, "deadline");
        ngx_http_llm_attempt_record(r, ctx, &s);
        ngx_http_llm_health_report(r, ctx->model->provider, 0);
        ngx_http_llm_attempt_abort(r);
    }

    ngx_http_llm_attempt_fail_request(r, ctx, 504, "deadline_exceeded",
                                      "The request did not complete within "
                                      "the gateway's deadline.", 0);

    ngx_http_run_posted_requests(c);
}


/* the last word when no attempt is left to make */

static void
ngx_http_llm_attempt_fail_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, int status, const char *code,
    const char *message, ngx_msec_t retry)
{
    u_char       *p;
    ngx_str_t     v;
    llm_error_t   e;

    ctx->finished = 1;

    ngx_http_llm_attempt_cleanup(ctx);

    ngx_http_llm_health_release(r, ctx, 0);

    if (retry) {
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p != NULL) {
            v.data = p;
            v.len = ngx_sprintf(p, "%T", (time_t) ((retry + 999) / 1000)) - p;

            (void) ngx_http_llm_add_header(r, &r->headers_out.headers,
                                           "Retry-After", &v);
        }
    }

    llm_error_set(&e, status, NULL, code, "%s", message);

    ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
}


/* one entry of $llm_attempts: "provider:what", once an attempt */

static void
ngx_http_llm_attempt_record(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *what)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *name;

    if (ctx->recorded || ctx->model == NULL) {
        return;
    }

    ctx->recorded = 1;

    /* llm_debug_log: a stream's start that did not fill its size */
    ngx_http_llm_debug_answer_end(r, ctx);

    /* a stream that started is counted when it ends: it may yet break */
    if (ctx->committed && ctx->stream) {
        ctx->metrics_attempt = 1;

    } else {
        ngx_http_llm_metrics_attempt(r, ctx->model->provider, what);
    }

    name = &ctx->model->provider->name;
    len = ctx->attempt_log.len + 1 + name->len + 1 + what->len;

    if (len > ctx->attempt_log_size) {
        ctx->attempt_log_size = ngx_max(len, 2 * ctx->attempt_log_size);

        p = ngx_pnalloc(r->pool, ctx->attempt_log_size);
        if (p == NULL) {
            return;
        }

        ngx_memcpy(p, ctx->attempt_log.data, ctx->attempt_log.len);
        ctx->attempt_log.data = p;
    }

    p = ctx->attempt_log.data + ctx->attempt_log.len;

    if (ctx->attempt_log.len) {
        *p++ = ',';
    }

    p = ngx_sprintf(p, "%V:%V", name, what);

    ctx->attempt_log.len = p - ctx->attempt_log.data;
}


/* the commit point: from here on the client has what this attempt sent */

void
ngx_http_llm_attempt_commit(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_mark_ttft(r, ctx);

    ctx->committed = 1;

    /* no more attempts to build: the parsed request can go now */
    llm_request_free(&ctx->req);

    if (ctx->ftt_ev.timer_set) {
        ngx_del_timer(&ctx->ftt_ev);
    }

    if (ctx->deadline_ev.timer_set) {
        ngx_del_timer(&ctx->deadline_ev);
    }

    ngx_http_llm_health_report(r, ctx->model->provider, 1);

    if (ctx->stream) {
        ngx_http_llm_ttft_report(r, ctx->model,
                                 ngx_current_msec - ctx->attempt_start);
    }
}


/* time to first token, measured like $request_time */

static void
ngx_http_llm_mark_ttft(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_time_t      *tp;
    ngx_msec_int_t   ms;

    if (ctx->ttft_set) {
        return;
    }

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    ctx->ttft = ngx_max(ms, 0);
    ctx->ttft_set = 1;
}


/* a non-stream answer (or an error status) arrived: no longer silent */

void
ngx_http_llm_attempt_silence_over(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->ftt_ev.timer_set) {
        ngx_del_timer(&ctx->ftt_ev);
    }
}


/* the upstream of the last attempt is finalized with rc */

void
ngx_http_llm_attempt_end(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_int_t rc)
{
    u_char     buf[NGX_INT_T_LEN];
    int64_t    prompt, completion;
    ngx_str_t  s;

    if (ctx->finished || rc == NGX_DONE) {
        return;
    }

    ctx->finished = 1;

    ngx_http_llm_attempt_cleanup(ctx);

    ngx_http_llm_tokens_used(ctx, &prompt, &completion);
    ngx_http_llm_health_release(r, ctx, prompt + completion);

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST) {
        ngx_str_set(&s, "499");

    } else if (ctx->status.code) {
        s.data = buf;
        s.len = ngx_sprintf(buf, "%ui", ctx->status.code) - buf;

    } else if (rc == NGX_HTTP_GATEWAY_TIME_OUT) {
        ngx_str_set(&s, "timeout");

    } else {
        ngx_str_set(&s, "error");
    }

    if (!ctx->committed && !ctx->health_reported
        && rc != NGX_HTTP_CLIENT_CLOSED_REQUEST
        && (ctx->status.code == 0
            || ngx_http_llm_status_retryable(ctx->status.code)))
    {
        ngx_http_llm_health_report(r, ctx->model->provider, 0);
    }

    ngx_http_llm_attempt_record(r, ctx, &s);

    /* a complete answer is kept, the cache's waiters told */
    ngx_http_llm_cache_end(r, ctx, rc);

    if (ctx->op->finished && ctx->resp.done && !ctx->resp.failed
        && rc != NGX_HTTP_CLIENT_CLOSED_REQUEST
        && rc < NGX_HTTP_SPECIAL_RESPONSE && rc != NGX_ERROR)
    {
        ctx->op->finished(r, ctx);
    }
}


static void
ngx_http_llm_attempt_cleanup(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->wait_ev.timer_set) {
        ngx_del_timer(&ctx->wait_ev);
    }

    if (ctx->ftt_ev.timer_set) {
        ngx_del_timer(&ctx->ftt_ev);
    }

    if (ctx->deadline_ev.timer_set) {
        ngx_del_timer(&ctx->deadline_ev);
    }
}


/* the request ends (a client that went away, say): no timer outlives it */

static void
ngx_http_llm_attempt_request_cleanup(void *data)
{
    ngx_http_llm_ctx_t  *ctx = data;

    if (!ctx->finished && ctx->wait_ev.timer_set) {
        /* it went away during a back-off wait */
        ngx_str_null(&ctx->error);
        ngx_http_llm_set_error(ctx, "client_closed");
    }

    ctx->finished = 1;

    ngx_http_llm_attempt_cleanup(ctx);

    ngx_http_llm_health_release(ctx->request, ctx, 0);
}
