/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The upstream side, on nginx's upstream machinery (the grpc module is
 * the model): build the provider request, parse the status line and
 * headers, then either
 *
 *   - a stream (2xx to a stream request): de-chunk → SSE framer →
 *     dialect → OpenAI chunks, each read flushed to the client at once,
 *     but only from the first content token on: before it (the prelude)
 *     process_header keeps reading, so nothing is sent and a failure can
 *     still be retried (ngx_http_llm_attempt.c);
 *   - anything else (non-stream 2xx, or an error status): read the whole
 *     body inside process_header, translate it, and only then let nginx
 *     send the response, so a broken body becomes a clean JSON error
 *     instead of a truncated 200.
 *
 * Failures after the stream started end it with an OpenAI error frame,
 * "data: [DONE]" and a proper end of the chunked body.
 */

#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_MAX_BODY  (64 * 1024 * 1024)


static ngx_int_t ngx_http_llm_create_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_complete_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_reinit_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_process_status_line(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_process_header(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_process_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_prelude(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_stream_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_filter_init(void *data);
static ngx_int_t ngx_http_llm_filter(void *data, ssize_t bytes);
static ngx_int_t ngx_http_llm_body_data(ngx_http_llm_ctx_t *ctx,
    u_char *p, size_t n);
static ngx_int_t ngx_http_llm_feed(ngx_http_llm_ctx_t *ctx, u_char *p,
    size_t n);
static int ngx_http_llm_sse_event(void *data, const char *event,
    size_t event_len, const char *payload, size_t payload_len);
static ngx_int_t ngx_http_llm_output(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_abort_request(ngx_http_request_t *r);
static void ngx_http_llm_finalize_request(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_llm_stream_failed(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);


ngx_int_t
ngx_http_llm_start_upstream(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_upstream_t      *u;
    ngx_http_llm_provider_t  *p;
    ngx_http_llm_loc_conf_t  *llcf;

    if (ngx_http_upstream_create(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = r->upstream;
    p = ctx->model->provider;
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    u->conf = &llcf->provider_confs[p->index];

    if (p->ssl) {
        ngx_str_set(&u->schema, "https://");
#if (NGX_HTTP_SSL)
        u->ssl = 1;
#endif

    } else {
        ngx_str_set(&u->schema, "http://");
    }

    u->output.tag = (ngx_buf_tag_t) &ngx_http_llm_module;

    u->create_request = ngx_http_llm_create_request;
    u->reinit_request = ngx_http_llm_reinit_request;
    u->process_header = ngx_http_llm_process_status_line;
    u->abort_request = ngx_http_llm_abort_request;
    u->finalize_request = ngx_http_llm_finalize_request;

    u->input_filter_init = ngx_http_llm_filter_init;
    u->input_filter = ngx_http_llm_filter;
    u->input_filter_ctx = ctx;

    u->buffering = 0;

    llm_response_init(&ctx->resp, (char *) ctx->model->name.data,
                      ctx->req.include_usage);

    /* the client's format; the operation's create_request may relay */
    if (ctx->op->writer) {
        ctx->resp.writer = ctx->op->writer;
    }

    /* a miss the cache keeps records the events */
    ngx_http_llm_cache_attempt(ctx);

    ngx_http_upstream_init(r);

    return NGX_OK;
}


/* this attempt's provider request is the operation's */

static ngx_int_t
ngx_http_llm_create_request(ngx_http_request_t *r)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    return ctx->op->create_request(r, ctx);
}


/* a whole body (non-stream, or an error) is the operation's to answer */

static ngx_int_t
ngx_http_llm_complete_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    r->upstream->keepalive = !ctx->connection_close;

    ngx_http_llm_debug_answer(r, ctx, (u_char *) ctx->body.data,
                              ctx->body.len, 1);

    llm_buf_reset(&ctx->out);

    return ctx->op->complete(r, ctx);
}


static ngx_int_t
ngx_http_llm_reinit_request(ngx_http_request_t *r)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    if (ctx == NULL) {
        return NGX_OK;
    }

    ctx->state = ngx_http_llm_st_status;
    ctx->status.code = 0;
    ctx->status.count = 0;
    ctx->status.start = NULL;
    ctx->status.end = NULL;
    ctx->body_length = -1;
    ctx->body_received = 0;
    ctx->chunked_body = 0;
    ctx->body_done = 0;
    ctx->connection_close = 0;
    ngx_str_null(&ctx->retry_after);
    ngx_memzero(&ctx->headroom, sizeof(ngx_http_llm_headroom_t));
    ngx_memzero(&ctx->chunked, sizeof(ngx_http_chunked_t));
    llm_buf_reset(&ctx->body);
    llm_buf_reset(&ctx->out);

    r->upstream->process_header = ngx_http_llm_process_status_line;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_process_status_line(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    u = r->upstream;

    rc = ngx_http_parse_status_line(r, &u->buffer, &ctx->status);

    if (rc == NGX_AGAIN) {
        return rc;
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider sent an invalid status line");
        ngx_http_llm_set_error(ctx, "invalid_upstream_response");
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (u->state && u->state->status == 0) {
        u->state->status = ctx->status.code;
    }

    /*
     * An API answers 2xx, 4xx or 5xx.  A redirect, an interim 1xx (we
     * send no Expect) or a status outside 100-599 is a provider fault,
     * retried and reported like a broken response, never passed on.
     */

    if (ctx->status.code < 200
        || (ctx->status.code >= 300 && ctx->status.code < 400)
        || ctx->status.code > 599)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider answered with status %ui",
                      ctx->status.code);
        ngx_http_llm_set_error(ctx, "invalid_upstream_response");
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    u->process_header = ngx_http_llm_process_header;

    return ngx_http_llm_process_header(r);
}


static ngx_int_t
ngx_http_llm_process_header(ngx_http_request_t *r)
{
    u_char               *name;
    size_t                len;
    ngx_int_t             rc;
    ngx_str_t             value;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    u = r->upstream;

    if (ctx->state == ngx_http_llm_st_body
        || ctx->state == ngx_http_llm_st_prelude)
    {
        return ngx_http_llm_process_body(r, ctx);
    }

    for ( ;; ) {

        rc = ngx_http_parse_header_line(r, &u->buffer, 1);

        if (rc == NGX_OK) {
            name = r->header_name_start;
            len = r->header_name_end - r->header_name_start;

            value.data = r->header_start;
            value.len = r->header_end - r->header_start;

            if (len == 14
                && ngx_strncasecmp(name, (u_char *) "content-length", 14)
                   == 0)
            {
                ctx->body_length = ngx_atoof(value.data, value.len);

                if (ctx->body_length == NGX_ERROR) {
                    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                  "llm: provider sent an invalid "
                                  "Content-Length");
                    ngx_http_llm_set_error(ctx, "invalid_upstream_response");
                    return NGX_HTTP_UPSTREAM_INVALID_HEADER;
                }

            } else if (len == 17
                       && ngx_strncasecmp(name,
                                          (u_char *) "transfer-encoding", 17)
                          == 0)
            {
                if (ngx_strlcasestrn(value.data, value.data + value.len,
                                     (u_char *) "chunked", 7 - 1)
                    != NULL)
                {
                    ctx->chunked_body = 1;
                }

            } else if (len == 10
                       && ngx_strncasecmp(name, (u_char *) "connection", 10)
                          == 0)
            {
                if (ngx_strlcasestrn(value.data, value.data + value.len,
                                     (u_char *) "close", 5 - 1)
                    != NULL)
                {
                    ctx->connection_close = 1;
                }

            } else if (len == 11
                       && ngx_strncasecmp(name, (u_char *) "retry-after", 11)
                          == 0)
            {
                /* headers point into u->buffer, which is reused: copy */
                ctx->retry_after.len = value.len;
                ctx->retry_after.data = ngx_pstrdup(r->pool, &value);
                if (ctx->retry_after.data == NULL) {
                    return NGX_ERROR;
                }

            } else if (len == 14
                       && ngx_strncasecmp(name, (u_char *) "retry-after-ms",
                                          14)
                          == 0)
            {
                /* OpenAI's, in milliseconds */
                ctx->retry_wait = ngx_atoi(value.data, value.len);

            } else if (len > 18) {
                /* what is left of the provider's rate limits */
                ngx_http_llm_headroom_header(&ctx->headroom, name, len,
                                             &value);
            }

            continue;
        }

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            break;
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider sent an invalid header");
        ngx_http_llm_set_error(ctx, "invalid_upstream_response");

        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (ctx->chunked_body) {
        ctx->body_length = -1;
    }

    ngx_http_llm_headroom_done(r, ctx);

    if (ctx->stream && ctx->status.code >= 200 && ctx->status.code < 300) {

        /*
         * A stream: nothing goes to the client before the first token, so
         * a stream that fails before it can still be retried.
         */

        ctx->state = ngx_http_llm_st_prelude;
        llm_sse_init(&ctx->sse, 0);

        return ngx_http_llm_process_body(r, ctx);
    }

    /* an answer that is not a stream has begun: no longer silent */
    ngx_http_llm_attempt_silence_over(ctx);

    ctx->state = ngx_http_llm_st_body;

    return ngx_http_llm_process_body(r, ctx);
}


/* the client's headers of a stream, sent at the commit point */

static ngx_int_t
ngx_http_llm_stream_headers(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    u->headers_in.status_n = 200;
    u->headers_in.content_length_n = -1;

    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_llm_sse_headers(r);
}


/*
 * A non-stream body or an error body: accumulated whole, then translated.
 * The bytes are moved out of u->buffer so it never fills up.
 */

static ngx_int_t
ngx_http_llm_process_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    u_char               *p;
    size_t                n;
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_http_upstream_t  *u;

    u = r->upstream;
    b = &u->buffer;

    if (ctx->body_length == 0) {
        ctx->body_done = 1;
    }

    while (b->pos < b->last && !ctx->body_done) {

        if (!ctx->chunked_body) {
            n = b->last - b->pos;

            if (ctx->body_length >= 0
                && (off_t) n > ctx->body_length - ctx->body_received)
            {
                n = (size_t) (ctx->body_length - ctx->body_received);
            }

            if (ngx_http_llm_body_data(ctx, b->pos, n) != NGX_OK) {
                return NGX_ERROR;
            }

            b->pos += n;
            ctx->body_received += n;

            if (ctx->body_received == ctx->body_length) {
                ctx->body_done = 1;
            }

            break;
        }

        rc = ngx_http_llm_parse_chunked(r, b, &ctx->chunked);

        if (rc == NGX_OK) {
            p = b->pos;
            n = ngx_min((off_t) (b->last - b->pos), ctx->chunked.size);

            if (ngx_http_llm_body_data(ctx, p, n) != NGX_OK) {
                return NGX_ERROR;
            }

            b->pos += n;
            ctx->chunked.size -= n;

            continue;
        }

        if (rc == NGX_DONE) {
            ctx->body_done = 1;
            break;
        }

        if (rc == NGX_AGAIN) {
            break;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider sent invalid chunked body");
        ngx_http_llm_set_error(ctx, "invalid_upstream_response");

        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (ctx->body.len > NGX_HTTP_LLM_MAX_BODY
        || ctx->out.len > NGX_HTTP_LLM_MAX_BODY)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider response is too large");
        ngx_http_llm_set_error(ctx, "upstream_response_too_large");
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    /* all of u->buffer is consumed: let the next read start afresh */
    b->pos = b->start;
    b->last = b->start;

    if (ctx->state == ngx_http_llm_st_prelude) {
        return ngx_http_llm_prelude(r, ctx);
    }

    if (!ctx->body_done) {
        if (ctx->body_length < 0 && !ctx->chunked_body) {
            /* delimited by close: the core sees EOF as an error here */
            ctx->connection_close = 1;
            ngx_http_llm_set_error(ctx, "invalid_upstream_response");
        }

        return NGX_AGAIN;
    }

    /*
     * With an empty u->buffer the core flushes the response header alone:
     * one byte left there (the filter ignores it) makes it write the
     * header and the body together.
     */
    b->last++;

    return ngx_http_llm_complete_body(r, ctx);
}


/*
 * A stream before its first token: wait for more, hand a failure over to
 * the next attempt, or commit (the first token, or the stream's end).
 */

static ngx_int_t
ngx_http_llm_prelude(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_uint_t            status;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (ctx->body_done) {
        u->keepalive = !ctx->connection_close;
    }

    if (!ctx->resp.first_token) {

        if (!ctx->resp.done && !ctx->resp.failed && !ctx->body_done) {
            return NGX_AGAIN;
        }

        if (ctx->resp.failed || !ctx->resp.done) {
            /* an error event, or the body ended, before any token */
            status = ctx->resp.failed ? (ngx_uint_t) ctx->resp.error.status
                                      : 0;

            if (ngx_http_llm_attempt_retryable(r, ctx, status, -1)
                == NGX_OK)
            {
                u->keepalive = 0;
                return NGX_HTTP_UPSTREAM_INVALID_HEADER;
            }
        }
    }

    if (ctx->body_done && !ctx->resp.done
        && ngx_http_llm_reader(ctx)->stream_end(&ctx->resp, &ctx->out)
           == LLM_ERROR)
    {
        return NGX_ERROR;
    }

    ngx_http_llm_attempt_commit(r, ctx);

    /* one byte left makes the core send the header with the first data */
    u->buffer.last++;
    ctx->skip_byte = 1;

    /* a stream in flight, until the log phase counts it done */
    ngx_http_llm_metrics_stream(r, ctx);

    return ngx_http_llm_stream_headers(r);
}


static ngx_int_t
ngx_http_llm_body_data(ngx_http_llm_ctx_t *ctx, u_char *p, size_t n)
{
    if (ctx->state == ngx_http_llm_st_prelude) {
        if (ngx_http_llm_feed(ctx, p, n) != NGX_OK) {
            /* an oversized event: the stream ends with an error frame */
            if (llm_response_fail(&ctx->resp, &ctx->out, 502,
                                  "invalid_upstream_response",
                                  "The provider sent an oversized stream "
                                  "event.")
                == LLM_ERROR)
            {
                return NGX_ERROR;
            }

            ctx->body_done = 1;
            ctx->connection_close = 1;
        }

        return NGX_OK;
    }

    if (llm_buf_append(&ctx->body, p, n) != LLM_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_filter_init(void *data)
{
    ngx_http_llm_ctx_t  *ctx = data;

    ngx_http_upstream_t  *u;

    u = ctx->request->upstream;

    if (ctx->state == ngx_http_llm_st_body) {
        /* the translated body is ready: it is all there is to send */
        u->length = 0;

        return ngx_http_llm_output(ctx->request, ctx);
    }

    /*
     * A committed stream: what the prelude translated goes first.  It
     * ends when we say so: [DONE], the body's end, or a failure.
     */

    u->length = -1;

    if (ctx->resp.failed) {
        ngx_http_llm_stream_failed(ctx->request, ctx);

        if (!ctx->body_done) {
            u->keepalive = 0;
            ctx->body_done = 1;
        }
    }

    if (ctx->body_done) {
        u->length = 0;
    }

    return ngx_http_llm_output(ctx->request, ctx);
}


static ngx_int_t
ngx_http_llm_filter(void *data, ssize_t bytes)
{
    ngx_http_llm_ctx_t  *ctx = data;

    size_t                n;
    ngx_int_t             prc;
    ngx_buf_t             in;
    ngx_http_request_t   *r;
    ngx_http_upstream_t  *u;
    const llm_dialect_t  *d;

    r = ctx->request;
    u = r->upstream;
    d = ngx_http_llm_reader(ctx);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm filter %z", bytes);

    /*
     * The bytes are consumed here, yet they keep their room in u->buffer,
     * as proxy's own filter does: the core empties u->buffer only once
     * the client has taken all that was sent to it (u->busy_bufs), and
     * stops reading the provider while it is full.  So a client that
     * reads slower than the provider writes holds at most the output of
     * one buffer of input, not the whole answer.
     */

    ngx_memzero(&in, sizeof(ngx_buf_t));
    in.pos = u->buffer.last;
    in.last = u->buffer.last + bytes;

    u->buffer.last = in.last;

    if (ctx->skip_byte && bytes > 0) {
        /* the byte the prelude left to have the header sent with data */
        ctx->skip_byte = 0;
        in.pos++;
    }

    if (ctx->body_done) {
        return NGX_OK;
    }

    while (in.pos < in.last) {

        if (!ctx->chunked_body) {
            n = in.last - in.pos;

            if (ctx->body_length >= 0
                && (off_t) n > ctx->body_length - ctx->body_received)
            {
                n = (size_t) (ctx->body_length - ctx->body_received);
            }

            ctx->body_received += n;

            if (ctx->body_received == ctx->body_length) {
                ctx->body_done = 1;
                u->keepalive = !ctx->connection_close;
            }

            if (ngx_http_llm_feed(ctx, in.pos, n) != NGX_OK) {
                goto framing_error;
            }

            in.pos += n;

            break;
        }

        prc = ngx_http_llm_parse_chunked(r, &in, &ctx->chunked);

        if (prc == NGX_OK) {
            n = ngx_min((off_t) (in.last - in.pos), ctx->chunked.size);

            if (ngx_http_llm_feed(ctx, in.pos, n) != NGX_OK) {
                goto framing_error;
            }

            in.pos += n;
            ctx->chunked.size -= n;

            continue;
        }

        if (prc == NGX_DONE) {
            ctx->body_done = 1;
            u->keepalive = !ctx->connection_close;
            break;
        }

        if (prc == NGX_AGAIN) {
            break;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: provider sent invalid chunked stream");
        ngx_http_llm_set_error(ctx, "invalid_upstream_response");

        if (llm_response_fail(&ctx->resp, &ctx->out, 502,
                              "invalid_upstream_response",
                              "The provider's stream had broken framing.")
            == LLM_ERROR)
        {
            return NGX_ERROR;
        }

        u->keepalive = 0;
        ctx->body_done = 1;
        break;
    }

    if (ctx->body_done && !ctx->resp.done) {
        /* the provider's body ended without the stream's end */
        if (d->stream_end(&ctx->resp, &ctx->out) == LLM_ERROR) {
            return NGX_ERROR;
        }
    }

    goto output;

framing_error:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "llm: provider sent an oversized or unusable stream event");

    if (llm_response_fail(&ctx->resp, &ctx->out, 502,
                          "invalid_upstream_response",
                          "The provider sent an oversized stream event.")
        == LLM_ERROR)
    {
        return NGX_ERROR;
    }

    u->keepalive = 0;
    ctx->body_done = 1;

output:

    if (ctx->resp.failed) {
        ngx_http_llm_stream_failed(r, ctx);

        /* whatever the provider sends after a failure is not read */
        if (!ctx->body_done) {
            u->keepalive = 0;
            ctx->body_done = 1;
        }
    }

    /*
     * After [DONE] reading goes on to the end of the provider's body, so
     * the connection can be kept alive; the client already has [DONE].
     */

    if (ctx->body_done) {
        u->length = 0;
    }

    return ngx_http_llm_output(r, ctx);
}


/* body bytes → SSE framer → dialect; nothing after the stream's end */

static ngx_int_t
ngx_http_llm_feed(ngx_http_llm_ctx_t *ctx, u_char *p, size_t n)
{
    if (ctx->resp.done) {
        return NGX_OK;
    }

    ngx_http_llm_debug_answer(ctx->request, ctx, p, n, 0);

    if (llm_sse_feed(&ctx->sse, (char *) p, n, ngx_http_llm_sse_event, ctx)
        < 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static int
ngx_http_llm_sse_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    ngx_http_llm_ctx_t *ctx = data;

    int  rc;

    rc = ngx_http_llm_reader(ctx)->stream_event(&ctx->resp, event,
                                                     event_len, payload,
                                                     payload_len, &ctx->out);

    if (rc == LLM_ERROR) {
        return LLM_ERROR;
    }

    /* a relay: the frame goes as it came, once the dialect found it good */
    if (ctx->relay && !ctx->resp.failed
        && llm_sse_frame(&ctx->out, event, event_len, payload, payload_len)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    /* stop framing after the stream's end */
    return (rc == LLM_DONE) ? LLM_DONE : LLM_OK;
}


/* ctx->out → one flushed buffer, recycled through u->free_bufs */

/* the translated bytes' buffer is kept between reads up to this size */
#define NGX_HTTP_LLM_OUT_KEEP  2048


static ngx_int_t
ngx_http_llm_output(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    size_t                size;
    ngx_buf_t            *b;
    ngx_chain_t          *cl, **ll;
    ngx_http_upstream_t  *u;

    if (ctx->out.len == 0) {
        return NGX_OK;
    }

    /* waiting clients of the same answer get theirs too */
    ngx_http_llm_cache_progress(ctx);

    u = r->upstream;

    cl = ngx_chain_get_free_buf(r->pool, &u->free_bufs);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;

    if (b->start == NULL || (size_t) (b->end - b->start) < ctx->out.len) {
        /* a read is usually one event: start small, grow as needed */
        size = ngx_max(ctx->out.len, 1024);

        b->start = ngx_palloc(r->pool, size);
        if (b->start == NULL) {
            return NGX_ERROR;
        }

        b->end = b->start + size;
    }

    b->pos = b->start;
    b->last = ngx_cpymem(b->start, ctx->out.data, ctx->out.len);
    b->temporary = 1;
    b->flush = 1;
    b->tag = u->output.tag;

    /*
     * A large piece (a Responses stream's first events, a whole answer)
     * is not the rule: its room goes back, so that a thousand open
     * streams do not each keep it.
     */
    if (ctx->out.cap > NGX_HTTP_LLM_OUT_KEEP) {
        llm_buf_free(&ctx->out);

    } else {
        llm_buf_reset(&ctx->out);
    }

    for (ll = &u->out_bufs; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = cl;

    return NGX_OK;
}


static void
ngx_http_llm_abort_request(ngx_http_request_t *r)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "abort llm request");
}


/*
 * The last word on every upstream request.  Before the response started,
 * nginx would answer a failure with an HTML page: answer JSON instead and
 * mark the header sent.  After a stream started, close it properly.
 */

static void
ngx_http_llm_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
    int                   status;
    llm_error_t           e;
    const char           *code, *message;
    ngx_chain_t           out;
    ngx_buf_t            *b;
    ngx_http_upstream_t  *u;
    ngx_http_llm_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    u = r->upstream;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "finalize llm request: %i", rc);

    if (ctx == NULL) {
        return;
    }

    ngx_http_llm_attempt_end(r, ctx, rc);

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST) {
        ngx_http_llm_set_error(ctx, "client_closed");
        return;
    }

    if (!u->header_sent) {

        if (rc < NGX_HTTP_SPECIAL_RESPONSE || r->header_sent) {
            return;
        }

        if (rc == NGX_HTTP_GATEWAY_TIME_OUT) {
            status = 504;
            code = "upstream_timeout";
            message = "The provider did not answer in time.";

        } else if (ctx->state == ngx_http_llm_st_prelude) {
            status = 502;
            code = "upstream_error";
            message = "The provider's stream broke before its first token.";

        } else if (ctx->error.len || ctx->state == ngx_http_llm_st_body) {
            /* a body cut short of its length is a broken response too */
            status = 502;
            code = "invalid_upstream_response";
            message = "The provider sent a response that could not be "
                      "read.";

        } else if (rc == NGX_HTTP_BAD_GATEWAY) {
            status = 502;
            code = "upstream_unreachable";
            message = "The gateway could not reach the provider.";

        } else {
            status = rc;
            code = "gateway_error";
            message = "The gateway could not complete the request.";
        }

        llm_error_set(&e, status, NULL, code, "%s", message);

        (void) ngx_http_llm_send_error(r, ctx, &e);

        /* tells the core the response is done: no HTML error page */
        u->header_sent = 1;

        return;
    }

    if (!ctx->stream || rc == NGX_ERROR) {
        return;
    }

    /* a stream that did not finish: an error frame, then [DONE] */

    llm_buf_reset(&ctx->out);

    if (!ctx->resp.done) {

        if (rc == NGX_HTTP_GATEWAY_TIME_OUT) {
            (void) llm_response_fail(&ctx->resp, &ctx->out, 504,
                                     "upstream_timeout",
                                     "The provider stopped sending before "
                                     "the stream was complete.");

        } else if (rc == 0) {
            (void) ngx_http_llm_reader(ctx)->stream_end(&ctx->resp,
                                                             &ctx->out);

        } else {
            (void) llm_response_fail(&ctx->resp, &ctx->out, 502,
                                     "upstream_error",
                                     "The connection to the provider "
                                     "failed before the stream was "
                                     "complete.");
        }

        ngx_http_llm_stream_failed(r, ctx);
    }

    if (ctx->out.len == 0 && rc == 0) {
        return;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return;
    }

    if (ctx->out.len) {
        b->start = ngx_palloc(r->pool, ctx->out.len);
        if (b->start == NULL) {
            return;
        }

        b->pos = b->start;
        b->last = ngx_cpymem(b->start, ctx->out.data, ctx->out.len);
        b->end = b->last;
        b->temporary = 1;
    }

    b->flush = 1;

    /* the core ends a failed stream without the last chunk: add it */
    if (rc != 0) {
        b->last_buf = 1;
    }

    out.buf = b;
    out.next = NULL;

    (void) ngx_http_output_filter(r, &out);
}


/* a stream ended with an error frame: say why, once */

static void
ngx_http_llm_stream_failed(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    if (ctx->failure_logged) {
        return;
    }

    ctx->failure_logged = 1;

    ngx_http_llm_set_error(ctx, ctx->resp.error.code[0]
                                ? ctx->resp.error.code
                                : ctx->resp.error.type);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "llm: stream from provider \"%V\" failed: %s",
                  &ctx->model->provider->name, ctx->resp.error.message);
}


