/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A provider, asked and answered, for every operation: the upstream
 * request's bytes (where the key goes, and only there), a non-2xx answer
 * handed to the next attempt or turned into the client's error (the
 * provider's wait honoured, its echo of the key masked), and a whole JSON
 * body as the response.
 */

#include "ngx_http_llm_module.h"


static void ngx_http_llm_free_own(void *data);
static void ngx_http_llm_request_key(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, ngx_str_t *key);
static ngx_msec_int_t ngx_http_llm_retry_wait(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_mask_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, llm_error_t *e);
static ngx_int_t ngx_http_llm_provider_error(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, int status, void (*error)(int status,
    const char *p, size_t n, llm_error_t *e), llm_error_t *e);
static ngx_int_t ngx_http_llm_reply_error(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, llm_error_t *e);


/* the key this request sends to the provider, or an empty string */

static void
ngx_http_llm_request_key(ngx_http_request_t *r, ngx_http_llm_provider_t *p,
    ngx_str_t *key)
{
    if (!p->key_passthrough) {
        *key = p->api_key;
        return;
    }

    /* the client's key, in the header the provider wants */

    (void) ngx_http_llm_client_key(r, key);
}


/* a provider's words about its failure, with its key masked */

static void
ngx_http_llm_mask_key(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    llm_error_t *e)
{
    ngx_str_t  key;

    ngx_http_llm_request_key(r, ctx->model->provider, &key);

    llm_error_mask(e, (char *) key.data, key.len);
}


/* the request line and headers in one buffer, the body after it */

ngx_int_t
ngx_http_llm_request_bufs(ngx_http_request_t *r, ngx_http_llm_provider_t *p,
    const char *auth_prefix, const char *headers, ngx_uint_t stream,
    llm_buf_t *path, llm_buf_t *body)
{
    llm_piece_t  piece;

    piece.data = body->data;
    piece.len = body->len;

    return ngx_http_llm_request_pieces(r, p, auth_prefix, headers, stream,
                                       path, &piece, 1, body);
}


/*
 * The request line and headers in one buffer, then the body's pieces as
 * they are, not copied: the client's own bytes, and own's, which lives
 * as long as the request.  path is freed.  The header block holds the
 * API key, so nothing here logs it (proxy does, at debug level).
 */

ngx_int_t
ngx_http_llm_request_pieces(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, const char *auth_prefix, const char *headers,
    ngx_uint_t stream, llm_buf_t *path, llm_piece_t *pieces, ngx_uint_t n,
    llm_buf_t *own)
{
    size_t               len, size;
    ngx_buf_t           *b;
    ngx_str_t            auth, line;
    ngx_uint_t           i;
    ngx_chain_t         *cl, **last;
    ngx_pool_cleanup_t  *cln;
    ngx_http_llm_ctx_t  *ctx;

    /* own's bytes go when the request does */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        goto failed;
    }

    cln->handler = ngx_http_llm_free_own;
    cln->data = own->data;
    ngx_memzero(own, sizeof(llm_buf_t));

    ngx_http_llm_request_key(r, p, &auth);

    /* the provider's error words will be masked with it */
    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    ctx->resp.secret = (char *) auth.data;
    ctx->resp.secret_len = auth.len;

    size = 0;

    for (i = 0; i < n; i++) {
        size += pieces[i].len;
    }

    len = sizeof("POST  HTTP/1.1" CRLF) - 1 + p->base_path.len + path->len
          + sizeof("Host: " CRLF) - 1 + p->host.len
          + sizeof("Content-Type: application/json" CRLF) - 1
          + sizeof("Accept: text/event-stream" CRLF) - 1
          + sizeof("User-Agent: ngx_http_llm_module" CRLF) - 1
          + sizeof("Content-Length: " CRLF) - 1 + NGX_SIZE_T_LEN
          + sizeof(CRLF) - 1;

    if (auth.len) {
        len += ngx_strlen(auth_prefix) + auth.len + sizeof(CRLF) - 1;
    }

    if (headers) {
        len += ngx_strlen(headers);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        goto failed;
    }

    b->last = ngx_cpymem(b->last, "POST ", sizeof("POST ") - 1);
    b->last = ngx_cpymem(b->last, p->base_path.data, p->base_path.len);
    b->last = ngx_cpymem(b->last, path->data, path->len);

    /* the request line and the body, never the headers (the key) */
    line.data = b->pos;
    line.len = b->last - b->pos;
    ngx_http_llm_debug_request(r, ctx, &line, pieces, n, size);

    b->last = ngx_sprintf(b->last, " HTTP/1.1" CRLF "Host: %V" CRLF,
                          &p->host);

    b->last = ngx_cpymem(b->last, "Content-Type: application/json" CRLF,
                         sizeof("Content-Type: application/json" CRLF) - 1);

    if (stream) {
        b->last = ngx_cpymem(b->last, "Accept: text/event-stream" CRLF,
                             sizeof("Accept: text/event-stream" CRLF) - 1);

    } else {
        b->last = ngx_cpymem(b->last, "Accept: application/json" CRLF,
                             sizeof("Accept: application/json" CRLF) - 1);
    }

    b->last = ngx_cpymem(b->last, "User-Agent: ngx_http_llm_module" CRLF,
                         sizeof("User-Agent: ngx_http_llm_module" CRLF) - 1);

    if (auth.len) {
        b->last = ngx_cpymem(b->last, auth_prefix, ngx_strlen(auth_prefix));
        b->last = ngx_cpymem(b->last, auth.data, auth.len);
        *b->last++ = CR; *b->last++ = LF;
    }

    if (headers) {
        b->last = ngx_cpymem(b->last, headers, ngx_strlen(headers));
    }

    b->last = ngx_sprintf(b->last, "Content-Length: %uz" CRLF CRLF, size);

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        goto failed;
    }

    cl->buf = b;
    r->upstream->request_bufs = cl;
    last = &cl->next;

    for (i = 0; i < n; i++) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);

        if (b == NULL || cl == NULL) {
            goto failed;
        }

        b->start = (u_char *) pieces[i].data;
        b->pos = b->start;
        b->end = b->start + pieces[i].len;
        b->last = b->end;
        b->memory = 1;

        cl->buf = b;
        *last = cl;
        last = &cl->next;
    }

    *last = NULL;

    /* TLS output is buffered: the request must not wait in the buffer */
    b->flush = 1;

    llm_buf_free(path);

    return NGX_OK;

failed:

    llm_buf_free(path);
    llm_buf_free(own);

    return NGX_ERROR;
}


static void
ngx_http_llm_free_own(void *data)
{
    free(data);
}


/* the provider's wait: retry-after-ms, Retry-After, a dialect's own */

static ngx_msec_int_t
ngx_http_llm_retry_wait(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    time_t                t;
    ngx_int_t             n;
    long long             wait;
    const llm_dialect_t  *d;

    if (ctx->retry_wait >= 0) {
        return ctx->retry_wait;
    }

    if (ctx->retry_after.len) {
        n = ngx_atoi(ctx->retry_after.data, ctx->retry_after.len);

        if (n != NGX_ERROR) {
            return (ngx_msec_int_t) ngx_min(n, 86400) * 1000;
        }

        t = ngx_parse_http_time(ctx->retry_after.data, ctx->retry_after.len);

        if (t != NGX_ERROR) {
            t -= ngx_time();
            return (t > 0) ? (ngx_msec_int_t) ngx_min(t, 86400) * 1000 : 0;
        }
    }

    /* an embeddings-only provider (voyage) has no chat dialect */
    d = ctx->model->provider->dialect;

    if (d && d->retry_after) {
        wait = d->retry_after(ctx->body.data, ctx->body.len);

        if (wait >= 0) {
            return (ngx_msec_int_t) ngx_min(wait, 86400) * 1000;
        }
    }

    return -1;
}


/*
 * A provider's non-2xx answer: NGX_DECLINED when another attempt takes
 * over, else NGX_OK with e, the OpenAI error made from its body.
 */

static ngx_int_t
ngx_http_llm_provider_error(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    int status, void (*error)(int status, const char *p, size_t n,
    llm_error_t *e), llm_error_t *e)
{
    if (ngx_http_llm_attempt_retryable(r, ctx, status,
                                       ngx_http_llm_retry_wait(r, ctx))
        == NGX_OK)
    {
        return NGX_DECLINED;
    }

    error(status, ctx->body.data, ctx->body.len, e);
    ngx_http_llm_mask_key(r, ctx, e);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llm: provider \"%V\" answered %d",
                  &ctx->model->provider->name, status);

    return NGX_OK;
}


/*
 * A whole body the operation could not take: a 2xx it could not use (e
 * says why) or a non-2xx answer (e made from it by error()).  The next
 * attempt takes over, or the client gets e.
 */

ngx_int_t
ngx_http_llm_answer_failed(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    llm_error_pt error, llm_error_t *e)
{
    int  status;

    status = ctx->status.code;

    if (status >= 200 && status < 300) {
        ngx_http_llm_mask_key(r, ctx, e);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider \"%V\" sent an unusable %s response: "
                      "%s", &ctx->model->provider->name, ctx->op->name,
                      e->message);

    } else if (ngx_http_llm_provider_error(r, ctx, status, error, e)
               == NGX_DECLINED)
    {
        /* the next attempt takes over, see ngx_http_llm_attempt.c */
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    return ngx_http_llm_reply_error(r, ctx, e);
}


/*
 * A provider's failure as the client's answer: the error e, with
 * the Retry-After the provider gave in a header or, Gemini, in the body.
 */

static ngx_int_t
ngx_http_llm_reply_error(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    llm_error_t *e)
{
    int                   status;
    long long             wait;
    const llm_dialect_t  *d;

    ngx_http_llm_set_error(ctx, e->code[0] ? e->code : e->type);

    status = e->status;

    llm_buf_reset(&ctx->out);

    if (ngx_http_llm_error_body(ctx, e, &ctx->out) != NGX_OK) {
        return NGX_ERROR;
    }

    /* an embeddings-only provider (voyage) has no chat dialect */
    d = ctx->model->provider->dialect;

    if (ctx->retry_after.len == 0 && (status == 429 || status == 503)
        && d && d->retry_after)
    {
        wait = d->retry_after(ctx->body.data, ctx->body.len);

        if (wait >= 0) {
            ctx->retry_after.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
            if (ctx->retry_after.data == NULL) {
                return NGX_ERROR;
            }

            ctx->retry_after.len = ngx_sprintf(ctx->retry_after.data, "%L",
                                               (int64_t) wait)
                                   - ctx->retry_after.data;
        }
    }

    /* Retry-After only means something with 429 and 503 */
    if (ctx->retry_after.len && (status == 429 || status == 503)
        && ngx_http_llm_add_header(r, &r->headers_out.headers,
                                   "Retry-After", &ctx->retry_after)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_llm_reply(r, ctx, status);
}


/* ctx->out, a whole JSON body, is the response with this status */

ngx_int_t
ngx_http_llm_reply(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t status)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (llm_buf_append_lit(&ctx->out, "\n") != LLM_OK) {
        return NGX_ERROR;
    }

    u->headers_in.status_n = status;
    u->headers_in.content_length_n = ctx->out.len;

    if (u->state) {
        u->state->status = ctx->status.code;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    llm_buf_free(&ctx->body);

    return NGX_OK;
}


/*
 * A provider that speaks the client's own format gets the client's body,
 * its model replaced by the provider's name for it; its answer is relayed.
 */

ngx_int_t
ngx_http_llm_relay_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *raw, size_t model_start, size_t model_end, llm_buf_t *path,
    const char *headers, ngx_uint_t stream)
{
    llm_buf_t                 body;
    ngx_http_llm_model_t     *m;
    ngx_http_llm_provider_t  *p;

    m = ctx->model;
    p = m->provider;

    ngx_memzero(&body, sizeof(llm_buf_t));

    if (llm_response_splice_model((char *) raw->data, raw->len, model_start,
                                  model_end, (char *) m->upstream_model.data,
                                  &body)
        != LLM_OK)
    {
        llm_buf_free(&body);
        llm_buf_free(path);
        return NGX_ERROR;
    }

    return ngx_http_llm_request_bufs(r, p, p->dialect->auth_prefix, headers,
                                     stream, path, &body);
}


/*
 * A relayed whole answer: read (usage, a failure) by the attempt's reader
 * and, if good, sent as it came; else the provider's failure.
 */

ngx_int_t
ngx_http_llm_relay_complete(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    llm_error_t           e;
    const llm_dialect_t  *d;

    d = ngx_http_llm_reader(ctx);

    if (ctx->status.code >= 200 && ctx->status.code < 300) {

        if (d->response(&ctx->resp, ctx->body.data, ctx->body.len, &ctx->out)
            == LLM_OK)
        {
            return ngx_http_llm_relay_body(r, ctx);
        }

        e = ctx->resp.error;
    }

    return ngx_http_llm_answer_failed(r, ctx, d->error, &e);
}


/* a relayed whole answer, read and checked by the caller, as it came */

ngx_int_t
ngx_http_llm_relay_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    llm_buf_reset(&ctx->out);

    if (llm_buf_append(&ctx->out, ctx->body.data, ctx->body.len) != LLM_OK) {
        return NGX_ERROR;
    }

    ngx_http_llm_attempt_commit(r, ctx);

    return ngx_http_llm_reply(r, ctx, NGX_HTTP_OK);
}
