/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The one way in for every operation (llm_chat, llm_embeddings,
 * llm_messages): the request's context, the method, the body's
 * size, the body read whole, parsed by the operation, the model looked
 * up and checked (kind, a usable provider, the client's key when the
 * provider passes it through), then the attempts.  llm_models uses the
 * context and the method check (ngx_http_llm_models.c).
 */

#include "ngx_http_llm_module.h"


static void ngx_http_llm_ingress_body(ngx_http_request_t *r);
static void ngx_http_llm_cleanup(void *data);
static ngx_int_t ngx_http_llm_join_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_http_llm_model_t *ngx_http_llm_find_model(ngx_http_request_t *r,
    ngx_str_t *name);


ngx_http_llm_ctx_t *
ngx_http_llm_create_ctx(ngx_http_request_t *r)
{
    ngx_http_llm_ctx_t  *ctx;
    ngx_pool_cleanup_t  *cln;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* the core's malloc'd memory goes back with the request pool */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_llm_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->body_length = -1;

    ngx_http_set_ctx(r, ctx, ngx_http_llm_module);

    return ctx;
}


static void
ngx_http_llm_cleanup(void *data)
{
    ngx_http_llm_ctx_t  *ctx = data;

    llm_request_free(&ctx->req);
    llm_response_free(&ctx->resp);
    llm_sse_free(&ctx->sse);
    llm_buf_free(&ctx->body);
    llm_buf_free(&ctx->out);
}


/*
 * The method an endpoint takes; anything else is answered 405 with Allow
 * (HEAD goes with GET).  NGX_DECLINED: the method is right; else what
 * the 405 response returned.
 */

ngx_int_t
ngx_http_llm_ingress_method(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t methods)
{
    ngx_int_t  rc;
    ngx_str_t  allow;

    if (methods & NGX_HTTP_GET) {
        methods |= NGX_HTTP_HEAD;
    }

    if (r->method & methods) {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (methods & NGX_HTTP_POST) {
        ngx_str_set(&allow, "POST");

    } else {
        ngx_str_set(&allow, "GET, HEAD");
    }

    if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Allow", &allow)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_llm_reject(r, ctx, 405, NULL, "method_not_allowed",
                               (methods & NGX_HTTP_POST)
                               ? "Only POST is allowed on this endpoint."
                               : "Only GET is allowed on this endpoint.");
}


ngx_int_t
ngx_http_llm_op_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_llm_ctx_t       *ctx;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    ctx = ngx_http_llm_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op = llcf->op;

    if (ctx->op->select) {
        ctx->op = ctx->op->select(r);
    }

    rc = ngx_http_llm_ingress_method(r, ctx, NGX_HTTP_POST);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (llcf->max_body_size
        && r->headers_in.content_length_n > llcf->max_body_size)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        r->keepalive = 0;

        return ngx_http_llm_reject(r, ctx, 413, NULL, "request_too_large",
                                   "The request body is larger than this "
                                   "gateway accepts.");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_llm_ingress_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The body is in: the operation parses it and names the model; the model
 * must exist, be of the operation's kind, and have a usable provider;
 * then the route's candidates are tried (ngx_http_llm_attempt.c).
 */

static void
ngx_http_llm_ingress_body(ngx_http_request_t *r)
{
    char                     *name;
    ngx_int_t                 rc;
    ngx_str_t                 body, model, key;
    llm_error_t               e;
    ngx_http_llm_ctx_t       *ctx;
    ngx_http_llm_model_t     *m;
    ngx_http_llm_loc_conf_t  *llcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (r->connection->error) {
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    if (ngx_http_llm_read_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (llcf->max_body_size && (off_t) body.len > llcf->max_body_size) {
        r->keepalive = 0;
        rc = ngx_http_llm_reject(r, ctx, 413, NULL, "request_too_large",
                                 "The request body is larger than this "
                                 "gateway accepts.");
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ctx->op->parse(r, ctx, &body, &model, &e);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, (rc == NGX_DECLINED)
                                     ? ngx_http_llm_send_error(r, ctx, &e)
                                     : NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    m = ngx_http_llm_find_model(r, &model);

    if (m == NULL) {
        name = ngx_pnalloc(r->pool, model.len + 1);
        if (name == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_cpystrn((u_char *) name, model.data, model.len + 1);

        llm_error_set(&e, 404, "model", "model_not_found",
                      "The model '%s' does not exist or you do not have "
                      "access to it.", name);
        e.type = "invalid_request_error";

        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
        return;
    }

    ctx->route = m;

    if (m->provider) {
        /* a concrete model: the logs name it even if refused here */
        ctx->model = m;
    }

    if (m->embedding != ctx->op->embedding) {
        llm_error_set(&e, 400, "model", "model_not_supported",
                      m->embedding
                      ? "The model '%s' is an embedding model; use the "
                        "embeddings endpoint."
                      : "The model '%s' is a chat model; this endpoint "
                        "takes embedding models.",
                      (char *) m->name.data);
        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
        return;
    }

    if (m->provider && m->provider->disabled) {
        rc = ngx_http_llm_reject(r, ctx, 503, NULL, "provider_unavailable",
                                 "The provider of this model is not "
                                 "configured on this gateway (no API key).");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (m->provider && m->provider->key_passthrough
        && ngx_http_llm_client_key(r, &key) != NGX_OK)
    {
        rc = ngx_http_llm_reject(r, ctx, 401, NULL, "missing_api_key",
                                 "This model needs your provider API key "
                                 "in the Authorization (or x-api-key) "
                                 "header.");
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* llm_budget: reserved, or refused (answered) */

    /* the prompt's size in tokens, roughly: for budgets and headroom */
    ctx->est_prompt = body.len / 4;

    rc = ngx_http_llm_budget_admit(r, ctx);

    if (rc == NGX_DONE) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* llm_cache: answered, or waiting for the same answer, or go on */

    rc = ngx_http_llm_cache_start(r, ctx, &body);

    if (rc == NGX_DONE) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the route's candidates, attempts, retries: ngx_http_llm_attempt.c */

    rc = ngx_http_llm_attempt_first(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The part read with the headers, then the rest in one buffer with room
 * for both (request_body_in_single_buf), maybe as several pieces of it:
 * joined in that buffer, not copied to new memory (a long conversation
 * is hundreds of kilobytes, and new memory is page faults)
 */

static ngx_int_t
ngx_http_llm_join_body(ngx_http_request_t *r)
{
    size_t        len;
    u_char       *start;
    ngx_buf_t    *pre, *b;
    ngx_chain_t  *cl;

    cl = r->request_body->bufs;
    pre = cl->buf;

    if (cl->next == NULL || pre->in_file) {
        return NGX_DECLINED;
    }

    start = cl->next->buf->pos;
    b = NULL;

    for (cl = cl->next; cl; cl = cl->next) {
        if (cl->buf->in_file || (b && b->last != cl->buf->pos)) {
            return NGX_DECLINED;
        }

        b = cl->buf;
    }

    len = pre->last - pre->pos;

    if ((size_t) (b->end - b->last) < len) {
        return NGX_DECLINED;
    }

    ngx_memmove(start + len, start, b->last - start);
    ngx_memcpy(start, pre->pos, len);

    b->pos = start;
    b->last += len;

    cl = r->request_body->bufs;

    while (cl->next->buf != b) {
        cl = cl->next;
    }

    r->request_body->bufs = cl->next;

    return NGX_OK;
}


/* the body as one piece: in memory, or read from its temp file */

static ngx_int_t
ngx_http_llm_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    size_t        len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (ngx_http_llm_join_body(r) == NGX_OK) {
        cl = r->request_body->bufs;
    }

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


static ngx_http_llm_model_t *
ngx_http_llm_find_model(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t                 i;
    ngx_http_llm_model_t      *m;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].name.len == name->len
            && ngx_strncmp(m[i].name.data, name->data, name->len) == 0)
        {
            return &m[i];
        }
    }

    return NULL;
}
