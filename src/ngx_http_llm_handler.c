/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The llm_chat and llm_models content handlers: method and body checks,
 * request validation, model lookup, and OpenAI-style error responses.
 */

#include "ngx_http_llm_module.h"


static void ngx_http_llm_chat_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_llm_send_json(ngx_http_request_t *r,
    ngx_uint_t status, llm_buf_t *json);
static ngx_int_t ngx_http_llm_reject(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, int status, const char *param,
    const char *code, const char *message);
static void ngx_http_llm_cleanup(void *data);
static ngx_http_llm_model_t *ngx_http_llm_find_model(ngx_http_request_t *r,
    ngx_str_t *name);


static ngx_http_llm_ctx_t *
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


ngx_int_t
ngx_http_llm_chat_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 allow;
    ngx_http_llm_ctx_t       *ctx;
    ngx_http_llm_loc_conf_t  *llcf;

    ctx = ngx_http_llm_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_str_set(&allow, "POST");

        if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Allow",
                                    &allow)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_reject(r, ctx, 405, NULL, "method_not_allowed",
                                   "Only POST is allowed on this endpoint.");
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

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

    rc = ngx_http_read_client_request_body(r, ngx_http_llm_chat_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_llm_chat_body(ngx_http_request_t *r)
{
    char                     *name;
    ngx_int_t                 rc;
    ngx_str_t                 body, model;
    llm_error_t               e;
    ngx_http_llm_ctx_t       *ctx;
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

    if (llcf->handler == NGX_HTTP_LLM_EMBEDDINGS) {
        ngx_http_llm_embeddings_body(r, ctx, &body);
        return;
    }

    /* templates and llm_prepend_message: a rewritten body, or none */
    if (ngx_http_llm_prompt(r, &body, &e) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
        return;
    }

    if (llm_request_parse(&ctx->req, (char *) body.data, body.len, &e)
        != LLM_OK)
    {
        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
        return;
    }

    ctx->stream = ctx->req.stream;

    model.data = (u_char *) ctx->req.model;
    model.len = ngx_strlen(ctx->req.model);

    ctx->route = ngx_http_llm_find_model(r, &model);

    if (ctx->route == NULL) {
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

    if (ctx->route->embedding) {
        llm_error_set(&e, 400, "model", "model_not_supported",
                      "The model '%s' is an embedding model; use the "
                      "embeddings endpoint.", ctx->req.model);
        ngx_http_finalize_request(r, ngx_http_llm_send_error(r, ctx, &e));
        return;
    }

    if (ctx->route->provider && ctx->route->provider->disabled) {
        rc = ngx_http_llm_reject(r, ctx, 503, NULL, "provider_unavailable",
                                 "The provider of this model is not "
                                 "configured on this gateway (no API key).");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ctx->route->provider && ctx->route->provider->key_passthrough
        && r->headers_in.authorization == NULL)
    {
        rc = ngx_http_llm_reject(r, ctx, 401, NULL, "missing_api_key",
                                 "This model needs your provider API key "
                                 "in the Authorization header.");
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the route's candidates, attempts, retries: ngx_http_llm_attempt.c */

    rc = ngx_http_llm_attempt_first(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
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


/* GET /v1/models and GET /v1/models/{id} */

ngx_int_t
ngx_http_llm_models_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  id, allow;
    llm_buf_t                  json;
    ngx_uint_t                 i, n;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_model_t      *m;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_llm_main_conf_t  *lmcf;

    ctx = ngx_http_llm_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_str_set(&allow, "GET, HEAD");

        if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Allow",
                                    &allow)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_reject(r, ctx, 405, NULL, "method_not_allowed",
                                   "Only GET is allowed on this endpoint.");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the id is what follows the location prefix: ids may contain '/' */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    id.data = r->uri.data;
    id.len = 0;

    if (!clcf->exact_match && r->uri.len > clcf->name.len) {
        id.data = r->uri.data + clcf->name.len;
        id.len = r->uri.len - clcf->name.len;

        if (id.len && id.data[0] == '/') {
            id.data++;
            id.len--;
        }
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    m = lmcf->models.elts;

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (id.len) {
        for (i = 0; i < lmcf->models.nelts; i++) {
            if (ngx_http_llm_model_enabled(lmcf, &m[i])
                && m[i].name.len == id.len
                && ngx_strncmp(m[i].name.data, id.data, id.len) == 0)
            {
                break;
            }
        }

        if (i == lmcf->models.nelts) {
            return ngx_http_llm_reject(r, ctx, 404, "model",
                                       "model_not_found",
                                       "The model does not exist.");
        }

        m = &m[i];
        n = 1;

    } else {
        n = lmcf->models.nelts;

        if (llm_buf_append_lit(&json, "{\"object\":\"list\",\"data\":[")
            != LLM_OK)
        {
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        if (!ngx_http_llm_model_enabled(lmcf, &m[i])) {
            continue;
        }

        if ((json.len && json.data[json.len - 1] == '}'
             && llm_buf_append_lit(&json, ",") != LLM_OK)
            || llm_buf_append_lit(&json, "{\"id\":") != LLM_OK
            || llm_buf_append_json_string(&json, (char *) m[i].name.data,
                                          m[i].name.len) != LLM_OK
            || llm_buf_append_lit(&json, ",\"object\":\"model\",\"created\":")
               != LLM_OK
            || llm_buf_append_int(&json, lmcf->created) != LLM_OK
            || llm_buf_append_lit(&json, ",\"owned_by\":") != LLM_OK
            || (m[i].provider
                ? llm_buf_append_json_string(&json,
                                         (char *) m[i].provider->name.data,
                                         m[i].provider->name.len)
                /* a route belongs to no one provider */
                : llm_buf_append_lit(&json, "\"gateway\"")) != LLM_OK
            || llm_buf_append_lit(&json, "}") != LLM_OK)
        {
            goto failed;
        }
    }

    if (id.len == 0 && llm_buf_append_lit(&json, "]}") != LLM_OK) {
        goto failed;
    }

    rc = ngx_http_llm_send_json(r, NGX_HTTP_OK, &json);

    llm_buf_free(&json);

    return rc;

failed:

    llm_buf_free(&json);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_llm_reject(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    int status, const char *param, const char *code, const char *message)
{
    llm_error_t  e;

    llm_error_set(&e, status, param, code, "%s", message);

    return ngx_http_llm_send_error(r, ctx, &e);
}


ngx_int_t
ngx_http_llm_send_error(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    llm_error_t *e)
{
    ngx_int_t  rc;
    llm_buf_t  json;

    ngx_http_llm_set_error(ctx, e->code[0] ? e->code : e->type);

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (llm_error_json(e, &json) != LLM_OK) {
        llm_buf_free(&json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_send_json(r, e->status, &json);

    llm_buf_free(&json);

    return rc;
}


void
ngx_http_llm_set_error(ngx_http_llm_ctx_t *ctx, const char *reason)
{
    if (ctx == NULL || ctx->error.len) {
        return;
    }

    ctx->error.len = ngx_strlen(reason);
    ctx->error.data = ngx_pnalloc(ctx->request->pool, ctx->error.len);

    if (ctx->error.data == NULL) {
        ctx->error.len = 0;
        return;
    }

    ngx_memcpy(ctx->error.data, reason, ctx->error.len);
}


static ngx_int_t
ngx_http_llm_send_json(ngx_http_request_t *r, ngx_uint_t status,
    llm_buf_t *json)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_create_temp_buf(r->pool, json->len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, json->data, json->len);
    *b->last++ = '\n';
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
