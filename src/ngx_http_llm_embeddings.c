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
 *
 * With llm_cache each input's vector is an entry of its own (the model,
 * dimensions, encoding and the input make its key): the inputs found are
 * left out of the provider requests, and the result is assembled in
 * input order from both; its usage is what the provider counted.
 */

#include "ngx_http_llm_module.h"


struct ngx_http_llm_embed_s {
    llm_embed_request_t            req;
    llm_embed_result_t             res;
    llm_embed_target_t             target;
    int                            next;       /* first input of the batch */
    int                            batch;      /* inputs in the batch */

    /* llm_cache: per input of the client's, its key and a vector found */
    int                            total;
    u_char                        *keys;
    ngx_str_t                     *found;      /* .data NULL: not found */
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
static ngx_int_t ngx_http_llm_embed_cached(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_embed_assemble(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_embed_cleanup(void *data);


const ngx_http_llm_op_t  ngx_http_llm_embeddings_op = {
    "embeddings",
    1,
    ngx_http_llm_embed_parse,
    ngx_http_llm_embed_check,
    ngx_http_llm_embed_create_request,
    ngx_http_llm_embed_complete,
    NULL, NULL, NULL, NULL, NULL,
    ngx_http_llm_embed_cached
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

            if (em->keys && ngx_http_llm_embed_assemble(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

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


/*
 * llm_cache: each input's vector looked up; all found, the answer;
 * else the inputs found are left out of what the provider is asked
 */

static ngx_int_t
ngx_http_llm_embed_cached(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int                    i, hits;
    char                  *text;
    u_char                 params[NGX_INT64_LEN + 8], *keep;
    ngx_int_t              rc;
    ngx_str_t              parts[4];
    llm_json_t            *item;
    ngx_http_llm_embed_t  *em;

    em = ctx->embed;
    em->total = em->req.count;

    em->keys = ngx_pnalloc(r->pool,
                           em->total * NGX_HTTP_LLM_CACHE_KEY_LEN);
    em->found = ngx_pcalloc(r->pool, em->total * sizeof(ngx_str_t));
    keep = ngx_pnalloc(r->pool, em->total);

    if (em->keys == NULL || em->found == NULL || keep == NULL) {
        return NGX_ERROR;
    }

    /* what makes a vector: the model, its size and encoding, the input */

    parts[0] = ctx->route->name;
    parts[1].data = params;
    parts[1].len = ngx_sprintf(params, "%L,%d", em->req.dimensions,
                               (int) em->req.base64) - params;
    hits = 0;
    i = 0;

    for (item = em->req.input->child; item; item = item->next, i++) {

        if (cJSON_IsString(item)) {
            ngx_str_set(&parts[2], "text");
            text = NULL;
            parts[3].data = (u_char *) item->valuestring;

        } else {
            ngx_str_set(&parts[2], "tokens");
            text = cJSON_PrintUnformatted(item);
            if (text == NULL) {
                return NGX_ERROR;
            }

            parts[3].data = (u_char *) text;
        }

        parts[3].len = ngx_strlen(parts[3].data);

        rc = ngx_http_llm_cache_part_key(r, ctx, parts, 4,
                                         em->keys
                                         + i * NGX_HTTP_LLM_CACHE_KEY_LEN);
        cJSON_free(text);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        keep[i] = (ngx_http_llm_cache_part_get(r, ctx,
                                               em->keys
                                               + i * NGX_HTTP_LLM_CACHE_KEY_LEN,
                                               &em->found[i])
                   != NGX_OK);
        hits += !keep[i];
    }

    if (ngx_http_llm_cache_parts(r, ctx, hits, em->total) != NGX_OK) {
        return NGX_ERROR;
    }

    if (hits == 0) {
        return NGX_DECLINED;
    }

    if (hits < em->total) {
        (void) llm_embed_request_keep(&em->req, keep);
        return NGX_DECLINED;
    }

    /* every vector was there: the answer, with no provider's usage */

    if (ngx_http_llm_embed_assemble(r, ctx) != NGX_OK
        || llm_embed_result_finish(&em->res, (char *) ctx->route->name.data,
                                   &ctx->out)
           != LLM_OK)
    {
        return NGX_ERROR;
    }

    ctx->resp.usage.set = 1;

    ngx_http_finalize_request(r, ngx_http_llm_send_json(r, NGX_HTTP_OK,
                                                        &ctx->out));

    return NGX_DONE;
}


/*
 * The vectors the provider made are kept, then the result is made anew
 * in the client's order, with those found in the cache
 */

static ngx_int_t
ngx_http_llm_embed_assemble(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int                    i, k;
    ngx_str_t              v;
    llm_embed_value_t     *made;
    llm_embed_result_t     res;
    ngx_http_llm_embed_t  *em;

    em = ctx->embed;

    made = ngx_palloc(r->pool, (em->res.count + 1) * sizeof(llm_embed_value_t));
    if (made == NULL
        || llm_embed_result_values(&em->res, made, em->res.count) != LLM_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&res, sizeof(llm_embed_result_t));
    res.base64 = em->res.base64;
    res.prompt_tokens = em->res.prompt_tokens;
    res.total_tokens = em->res.total_tokens;

    k = 0;

    for (i = 0; i < em->total; i++) {

        if (em->found[i].data == NULL) {
            if (k == em->res.count) {
                llm_embed_result_free(&res);
                return NGX_ERROR;
            }

            v.data = (u_char *) made[k].p;
            v.len = made[k].n;
            k++;

            ngx_http_llm_cache_part_put(r, ctx,
                                        em->keys
                                        + i * NGX_HTTP_LLM_CACHE_KEY_LEN,
                                        &v);

        } else {
            v = em->found[i];
        }

        if (llm_embed_result_add(&res, (char *) v.data, v.len) != LLM_OK) {
            llm_embed_result_free(&res);
            return NGX_ERROR;
        }
    }

    llm_embed_result_free(&em->res);
    em->res = res;

    return NGX_OK;
}


static void
ngx_http_llm_embed_cleanup(void *data)
{
    ngx_http_llm_embed_t  *em = data;

    llm_embed_request_free(&em->req);
    llm_embed_result_free(&em->res);
}
