/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_embeddings: POST /v1/embeddings, OpenAI format in and out.
 *
 * An operation (ngx_http_llm_op_t) over the shared ingress, attempts and
 * transport.  The inputs go to the provider in batches, one after the
 * other: batch k + 1 starts once batch k's body is in hand, its vectors
 * appended to one result in input order.
 *
 * Each batch is an attempt sequence of its own (ngx_http_llm_attempt.c):
 * retried with back-off, then the next candidate of the route, each
 * attempt a fresh upstream request whose provider request (in the
 * candidate's dialect, at most the candidate's batch size) and answer
 * are this operation's.  A batch done is never sent again; the next one
 * starts on the candidate that served it, with a fresh tries count.
 */

#include "ngx_http_llm_module.h"


struct ngx_http_llm_embed_s {
    llm_embed_request_t            req;
    llm_embed_result_t             res;
    llm_embed_target_t             target;
    int                            next;       /* first input of the batch */
    int                            batch;      /* inputs in the batch */
};


static ngx_int_t ngx_http_llm_embed_parse(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *model,
    llm_error_t *e);
static ngx_int_t ngx_http_llm_embed_check(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);
static ngx_int_t ngx_http_llm_embed_create_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_embed_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_embed_cleanup(void *data);


const ngx_http_llm_op_t  ngx_http_llm_embeddings_op = {
    "embeddings",
    1,
    ngx_http_llm_embed_parse,
    ngx_http_llm_embed_check,
    ngx_http_llm_embed_create_request,
    ngx_http_llm_embed_complete,
    NULL, NULL, NULL, NULL, NULL
};


/* the body, parsed and validated; the inputs go in batches from 0 */

static ngx_int_t
ngx_http_llm_embed_parse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body, ngx_str_t *model, llm_error_t *e)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_llm_embed_t  *em;

    em = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_embed_t));
    if (em == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_embed_cleanup;
    cln->data = em;

    ctx->embed = em;
    ctx->stream = 0;

    if (llm_embed_request_parse(&em->req, (char *) body->data, body->len, e)
        != LLM_OK)
    {
        return NGX_DECLINED;
    }

    em->res.base64 = em->req.base64;
    em->next = 0;

    model->data = (u_char *) em->req.model;
    model->len = ngx_strlen(em->req.model);

    return NGX_OK;
}


/* a candidate that cannot serve this request is left out of the route */

static ngx_int_t
ngx_http_llm_embed_check(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, llm_error_t *e)
{
    if (ctx->embed->req.tokens && !m->provider->embed->tokens) {
        llm_error_set(e, 400, "input", "invalid_value",
                      "This model's provider takes text inputs only, not "
                      "token arrays.");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the provider request for the current batch; it holds the API key */

static ngx_int_t
ngx_http_llm_embed_create_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    int                          max;
    llm_buf_t                    body, path;
    ngx_http_llm_model_t        *m;
    ngx_http_llm_embed_t        *em;
    ngx_http_llm_provider_t     *p;
    const llm_embed_dialect_t   *d;

    em = ctx->embed;
    m = ctx->model;
    p = m->provider;
    d = p->embed;

    /* this attempt's candidate: its batch size, model and parameters */

    max = m->batch ? (int) m->batch : d->batch;
    em->batch = ngx_min(max, em->req.count - em->next);

    em->target.upstream_model = (char *) m->upstream_model.data;
    em->target.task_type = m->task_type.len ? (char *) m->task_type.data
                                            : NULL;
    em->target.dimensions = m->dimensions;

    ngx_memzero(&body, sizeof(llm_buf_t));
    ngx_memzero(&path, sizeof(llm_buf_t));

    if (d->build(&em->req, &em->target, em->next, em->batch, &body)
        != LLM_OK
        || d->path((char *) m->upstream_model.data, &path) != LLM_OK)
    {
        llm_buf_free(&body);
        llm_buf_free(&path);
        return NGX_ERROR;
    }

    if (ngx_http_llm_request_bufs(r, p, d->auth_prefix, NULL, 0, &path,
                                  &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm embeddings request: provider \"%V\", model \"%V\", "
                   "inputs %d+%d, %uz bytes", &p->name, &m->upstream_model,
                   em->next, em->batch,
                   ngx_buf_size(r->upstream->request_bufs->buf));

    return NGX_OK;
}


/*
 * A complete provider body (process_header): a batch's vectors join the
 * result, then the next batch starts or the result goes to the client.
 * A retryable failure goes to the next attempt of this batch.
 */

static ngx_int_t
ngx_http_llm_embed_complete(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int                          status;
    llm_error_t                  e;
    ngx_http_llm_embed_t        *em;
    const llm_embed_dialect_t   *d;

    em = ctx->embed;
    d = ctx->model->provider->embed;
    status = ctx->status.code;

    if (status >= 200 && status < 300) {

        if (d->response(&em->res, em->batch, ctx->body.data, ctx->body.len,
                        &e)
            == LLM_OK)
        {
            if (em->next + em->batch < em->req.count) {
                em->next += em->batch;
                return ngx_http_llm_attempt_next(r, ctx);
            }

            ngx_http_llm_attempt_commit(r, ctx);

            ctx->resp.usage.prompt_tokens = em->res.prompt_tokens;
            ctx->resp.usage.total_tokens = em->res.total_tokens;
            ctx->resp.usage.set = 1;

            /* the client's name: batches may come from several models */

            if (llm_embed_result_finish(&em->res,
                                        (char *) ctx->route->name.data,
                                        &ctx->out)
                != LLM_OK)
            {
                return NGX_ERROR;
            }

            /* the vectors are in ctx->out: give the rest back now */
            llm_embed_result_free(&em->res);
            llm_embed_request_free(&em->req);

            return ngx_http_llm_reply(r, ctx, NGX_HTTP_OK);
        }
    }

    return ngx_http_llm_answer_failed(r, ctx, d->error, &e);
}


static void
ngx_http_llm_embed_cleanup(void *data)
{
    ngx_http_llm_embed_t  *em = data;

    llm_embed_request_free(&em->req);
    llm_embed_result_free(&em->res);
}
