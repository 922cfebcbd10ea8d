/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_chat: POST /v1/chat/completions, OpenAI Chat Completions in and
 * out, as an operation (ngx_http_llm_op_t) over the shared ingress,
 * attempts and transport: the body after templates and decorators,
 * parsed and validated once; each candidate's dialect may refuse it
 * (its check); each attempt's request is built in the candidate's
 * dialect; a whole answer is translated, or handed to the next attempt,
 * or answered as the client's error.  Streams are the transport's
 * (ngx_http_llm_upstream.c).
 */

#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_chat_parse(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *model,
    llm_error_t *e);
static ngx_int_t ngx_http_llm_chat_check(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);
static ngx_int_t ngx_http_llm_chat_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_chat_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);


const ngx_http_llm_op_t  ngx_http_llm_chat_op = {
    "chat",
    0,
    ngx_http_llm_chat_parse,
    ngx_http_llm_chat_check,
    ngx_http_llm_chat_request,
    ngx_http_llm_chat_complete,
    NULL, NULL, NULL, NULL, NULL, NULL
};


static ngx_int_t
ngx_http_llm_chat_parse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body, ngx_str_t *model, llm_error_t *e)
{
    ngx_uint_t  rewritten;

    /* templates and llm_prepend_message: a rewritten body, or none */
    if (ngx_http_llm_internal_form(r, ctx, body, &rewritten, e) != NGX_OK) {
        return NGX_DECLINED;
    }

    ctx->stream = ctx->req.stream;

    model->data = (u_char *) ctx->req.model;
    model->len = ngx_strlen(ctx->req.model);

    return NGX_OK;
}


/* a candidate whose dialect cannot honour the request is none */

static ngx_int_t
ngx_http_llm_chat_check(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, llm_error_t *e)
{
    int                   rc;
    const llm_dialect_t  *d;

    d = m->provider->dialect;

    if (d->check == NULL) {
        return NGX_OK;
    }

    /* as its attempt will see it */
    ctx->req.max_tokens_default = m->max_tokens;

    rc = d->check(&ctx->req, e);

    if (rc == LLM_DECLINED) {
        return NGX_DECLINED;
    }

    return (rc == LLM_OK) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_llm_chat_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int                       rc, n;
    char                     *model;
    const char               *headers;
    llm_buf_t                 body, path;
    llm_piece_t               pieces[LLM_PIECES_MAX];
    ngx_http_llm_model_t     *m;
    const llm_dialect_t      *d;
    ngx_http_llm_provider_t  *p;

    m = ctx->model;
    p = m->provider;
    d = p->dialect;
    model = (char *) m->upstream_model.data;

    ngx_memzero(&body, sizeof(llm_buf_t));
    ngx_memzero(&path, sizeof(llm_buf_t));

    /*
     * The client's bytes as they are where the dialect can (no copy of a
     * long conversation), else the body written whole: the size of the
     * client's, as a start.  The parsed request stays: a retry or
     * fallback builds from it again.
     */

    rc = d->request_pieces ? d->request_pieces(&ctx->req, model, &body,
                                               pieces, &n)
                           : LLM_DECLINED;

    if (rc == LLM_DECLINED) {
        rc = llm_buf_reserve(&body, ctx->req.raw_len + 256);

        if (rc == LLM_OK) {
            rc = d->build_request(&ctx->req, model, &body);
        }

        pieces[0].data = body.data;
        pieces[0].len = body.len;
        n = 1;
    }

    if (rc != LLM_OK
        || (d->request_path ? d->request_path(&ctx->req, model, &path)
                            : llm_buf_append_cstr(&path, d->chat_path))
           != LLM_OK)
    {
        llm_buf_free(&body);
        llm_buf_free(&path);
        return NGX_ERROR;
    }

    /* the provider's own header lines replace the dialect's defaults */

    headers = p->headers.len ? (char *) p->headers.data : d->extra_headers;

    if (ngx_http_llm_request_pieces(r, p, d->auth_prefix, headers,
                                    ctx->stream, &path, pieces, n, &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm request: provider \"%V\", model \"%V\", %ui pieces",
                   &p->name, &m->upstream_model, (ngx_uint_t) n);

    return NGX_OK;
}


/* a whole answer: translated, handed to the next attempt, or an error */

static ngx_int_t
ngx_http_llm_chat_complete(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int                   status;
    llm_error_t           e;
    const llm_dialect_t  *d;

    d = ctx->model->provider->dialect;
    status = ctx->status.code;

    if (status >= 200 && status < 300) {

        if (d->response(&ctx->resp, ctx->body.data, ctx->body.len, &ctx->out)
            == LLM_OK)
        {
            ngx_http_llm_attempt_commit(r, ctx);
            return ngx_http_llm_reply(r, ctx, NGX_HTTP_OK);
        }

        e = ctx->resp.error;
    }

    return ngx_http_llm_answer_failed(r, ctx, d->error, &e);
}
