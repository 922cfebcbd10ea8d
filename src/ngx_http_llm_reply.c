/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Replies the gateway writes itself: a JSON body, an error in the
 * client's format (and $llm_error), a response header; and the client's
 * request headers it reads (its key).  They depend on nothing else here.
 */

#include "ngx_http_llm_module.h"


ngx_int_t
ngx_http_llm_send_json(ngx_http_request_t *r, ngx_uint_t status,
    llm_buf_t *json)
{
    return ngx_http_llm_send_body(r, status, "application/json", json);
}


static ngx_int_t ngx_http_llm_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, llm_buf_t *body, ngx_uint_t line);


/* a whole body of the gateway's own, a line */

ngx_int_t
ngx_http_llm_send_body(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, llm_buf_t *body)
{
    return ngx_http_llm_send(r, status, type, body, 1);
}


/* a whole event stream (a cached answer's): its frames as they are */

ngx_int_t
ngx_http_llm_send_events(ngx_http_request_t *r, llm_buf_t *frames)
{
    if (ngx_http_llm_sse_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_llm_send(r, NGX_HTTP_OK, "text/event-stream", frames, 0);
}


static ngx_int_t
ngx_http_llm_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
    llm_buf_t *body, ngx_uint_t line)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_create_temp_buf(r->pool, body->len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, body->data, body->len);

    if (line) {
        *b->last++ = '\n';
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
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


ngx_int_t
ngx_http_llm_send_error(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    llm_error_t *e)
{
    ngx_int_t  rc;
    llm_buf_t  json;

    ngx_http_llm_set_error(ctx, e->code[0] ? e->code : e->type);

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (ngx_http_llm_error_body(ctx, e, &json) != NGX_OK) {
        llm_buf_free(&json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_send_json(r, e->status, &json);

    llm_buf_free(&json);

    return rc;
}


ngx_int_t
ngx_http_llm_reject(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    int status, const char *param, const char *code, const char *message)
{
    llm_error_t  e;

    llm_error_set(&e, status, param, code, "%s", message);

    return ngx_http_llm_send_error(r, ctx, &e);
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


ngx_int_t
ngx_http_llm_add_header(ngx_http_request_t *r, ngx_list_t *headers,
    char *key, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;
    h->lowcase_key = NULL;

    return NGX_OK;
}


/* an error body in the client's format: OpenAI's unless the op says */

ngx_int_t
ngx_http_llm_error_body(ngx_http_llm_ctx_t *ctx, llm_error_t *e,
    llm_buf_t *b)
{
    ngx_http_llm_op_error_pt  error;

    error = (ctx && ctx->op && ctx->op->error) ? ctx->op->error
                                               : llm_error_json;

    return (error(e, b) == LLM_OK) ? NGX_OK : NGX_ERROR;
}


ngx_table_elt_t *
ngx_http_llm_header_in(ngx_http_request_t *r, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/*
 * The client's own key: "Authorization: Bearer …", as OpenAI clients
 * send it, or x-api-key, as Anthropic's do.  NGX_DECLINED: none.
 */

ngx_int_t
ngx_http_llm_client_key(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        h = ngx_http_llm_header_in(r, "x-api-key", sizeof("x-api-key") - 1);
    }

    if (h == NULL || h->value.len == 0) {
        ngx_str_null(key);
        return NGX_DECLINED;
    }

    *key = h->value;

    if (h == r->headers_in.authorization && key->len > 7
        && ngx_strncasecmp(key->data, (u_char *) "Bearer ", 7) == 0)
    {
        key->data += 7;
        key->len -= 7;
    }

    return NGX_OK;
}


/* a stream's own headers: never cached, never buffered on the way */

ngx_int_t
ngx_http_llm_sse_headers(ngx_http_request_t *r)
{
    ngx_str_t  value;

    ngx_str_set(&value, "no-cache");
    if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Cache-Control",
                                &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "no");

    return ngx_http_llm_add_header(r, &r->headers_out.headers,
                                   "X-Accel-Buffering", &value);
}


/* a C string copied into the pool; NULL: no memory */

char *
ngx_http_llm_pstrdup(ngx_pool_t *pool, const char *s)
{
    size_t   n;
    u_char  *p;

    n = ngx_strlen(s) + 1;

    p = ngx_pnalloc(pool, n);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, n);

    return (char *) p;
}
