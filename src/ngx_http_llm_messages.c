/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_messages: POST /v1/messages, the Anthropic Messages API, and
 * POST /v1/messages/count_tokens, as two operations over the shared
 * ingress, attempts and transport.
 *
 * A Messages request is taken into the internal form (core/llm_messages.c)
 * and then goes as a chat does: templates and decorators, the route's
 * candidates, each in its dialect, the answer rendered by the Messages
 * writer.  An anthropic candidate gets the client's own body instead (the
 * model replaced, the client's anthropic-version and anthropic-beta
 * forwarded) and its answer is relayed as it comes, read only for usage
 * and checked like any other: every Anthropic feature works.  A request
 * that templates or decorators rewrote goes translated to every
 * candidate, so that all of them see the same conversation.
 *
 * count_tokens is forwarded to an anthropic first candidate, and answered
 * with an estimate that errs high for any other (llm_messages_estimate).
 */

#include "ngx_http_llm_module.h"
#include "llm_anthropic.h"


typedef struct {
    ngx_str_t                  raw;          /* the client's body */
    size_t                     model_start;  /* its model value */
    size_t                     model_end;
    char                      *native;       /* only Anthropic serves */
    unsigned                   rewritten:1;  /* by templates, decorators */
} ngx_http_llm_messages_t;


static const ngx_http_llm_op_t *ngx_http_llm_messages_select(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_messages_parse(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *model,
    llm_error_t *e);
static ngx_int_t ngx_http_llm_messages_check(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);
static ngx_int_t ngx_http_llm_messages_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_messages_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_count_check(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);
static ngx_int_t ngx_http_llm_count_local(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m);
static ngx_int_t ngx_http_llm_count_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_count_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_native_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const char *suffix, ngx_uint_t stream);
static ngx_int_t ngx_http_llm_native_headers(ngx_http_request_t *r,
    const char *base, ngx_str_t *out);


const ngx_http_llm_op_t  ngx_http_llm_messages_op = {
    "messages",
    0,
    ngx_http_llm_messages_parse,
    ngx_http_llm_messages_check,
    ngx_http_llm_messages_request,
    ngx_http_llm_messages_complete,
    &llm_writer_anthropic,
    llm_messages_error_json,
    NULL,
    ngx_http_llm_messages_select,
    NULL,
    NULL
};


static const ngx_http_llm_op_t  ngx_http_llm_count_op = {
    "count_tokens",
    0,
    ngx_http_llm_messages_parse,
    ngx_http_llm_count_check,
    ngx_http_llm_count_request,
    ngx_http_llm_count_complete,
    &llm_writer_anthropic,
    llm_messages_error_json,
    ngx_http_llm_count_local,
    NULL,
    NULL,
    NULL
};


#define ngx_http_llm_is_anthropic(m)                                         \
    ((m)->provider->dialect == &llm_dialect_anthropic)


/* one location serves both: the path says which (a query is ignored) */

static const ngx_http_llm_op_t *
ngx_http_llm_messages_select(ngx_http_request_t *r)
{
    static const ngx_str_t  count = ngx_string("/count_tokens");

    if (r->uri.len >= count.len
        && ngx_strncmp(r->uri.data + r->uri.len - count.len, count.data,
                       count.len) == 0)
    {
        return &ngx_http_llm_count_op;
    }

    return &ngx_http_llm_messages_op;
}


static ngx_int_t
ngx_http_llm_messages_parse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body, ngx_str_t *model, llm_error_t *e)
{
    ngx_int_t                 rc;
    ngx_str_t                 chat;
    ngx_uint_t                rewritten;
    llm_messages_t            msg;
    ngx_http_llm_messages_t  *md;

    md = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_messages_t));
    if (md == NULL) {
        return NGX_ERROR;
    }

    ctx->op_data = md;

    if (llm_messages_parse(&msg, (char *) body->data, body->len,
                           (ctx->op == &ngx_http_llm_count_op)
                           ? LLM_MESSAGES_COUNT : 0, e)
        != LLM_OK)
    {
        return (e->status == 500) ? NGX_ERROR : NGX_DECLINED;
    }

    md->raw = *body;
    md->model_start = msg.model_start;
    md->model_end = msg.model_end;
    ctx->stream = (ctx->op == &ngx_http_llm_count_op) ? 0 : msg.stream;

    rc = NGX_ERROR;

    /* the internal form and the model's name live as long as the request */

    chat.len = msg.chat.len;
    chat.data = ngx_pnalloc(r->pool, chat.len);
    model->len = ngx_strlen(msg.model);
    model->data = ngx_pnalloc(r->pool, model->len);

    if (chat.data == NULL || model->data == NULL) {
        goto done;
    }

    ngx_memcpy(chat.data, msg.chat.data, chat.len);
    ngx_memcpy(model->data, msg.model, model->len);

    if (msg.native[0]) {
        md->native = ngx_http_llm_pstrdup(r->pool, msg.native);
        if (md->native == NULL) {
            goto done;
        }
    }

    if (ctx->op == &ngx_http_llm_count_op) {
        rc = NGX_OK;
        goto done;
    }

    rc = ngx_http_llm_internal_form(r, ctx, &chat, &rewritten, e);
    md->rewritten = rewritten;

done:

    llm_messages_free(&msg);

    return rc;
}


/*
 * An anthropic candidate takes the client's body as it is; another one
 * the internal form, unless the request holds what only Anthropic serves.
 */

static ngx_int_t
ngx_http_llm_messages_check(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, llm_error_t *e)
{
    ngx_http_llm_messages_t  *md;

    md = ctx->op_data;

    if (ngx_http_llm_is_anthropic(m) && !md->rewritten) {
        return NGX_OK;
    }

    if (md->native) {
        llm_error_set(e, 400, NULL, "invalid_request_error",
                      "%s is served only by Anthropic providers; the "
                      "model '%s' is not.", md->native,
                      (char *) m->name.data);
        return NGX_DECLINED;
    }

    return ngx_http_llm_chat_op.check(r, ctx, m, e);
}


static ngx_int_t
ngx_http_llm_messages_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_messages_t  *md;

    md = ctx->op_data;

    if (!ngx_http_llm_is_anthropic(ctx->model) || md->rewritten) {
        return ngx_http_llm_chat_op.create_request(r, ctx);
    }

    /* the provider's own bytes come back: checked, read, relayed */

    ctx->relay = 1;
    ctx->resp.writer = &llm_writer_anthropic_relay;

    return ngx_http_llm_native_request(r, ctx, "", ctx->stream);
}


static ngx_int_t
ngx_http_llm_messages_complete(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    return ctx->relay ? ngx_http_llm_relay_complete(r, ctx)
                      : ngx_http_llm_chat_op.complete(r, ctx);
}


/* count_tokens: every candidate can answer, one way or the other */

static ngx_int_t
ngx_http_llm_count_check(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, llm_error_t *e)
{
    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_count_local(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m)
{
    long long                 tokens;
    llm_buf_t                 json;
    ngx_int_t                 rc;
    ngx_str_t                 estimate = ngx_string("estimate");
    ngx_http_llm_messages_t  *md;

    if (ngx_http_llm_is_anthropic(m)) {
        return NGX_DECLINED;
    }

    md = ctx->op_data;

    tokens = llm_messages_estimate((char *) md->raw.data, md->raw.len);

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (tokens < 0
        || llm_buf_append_lit(&json, "{\"input_tokens\":") != LLM_OK
        || llm_buf_append_int(&json, tokens) != LLM_OK
        || llm_buf_append_lit(&json, "}") != LLM_OK
        || ngx_http_llm_add_header(r, &r->headers_out.headers,
                                   "X-LLM-Token-Count", &estimate)
           != NGX_OK)
    {
        llm_buf_free(&json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_send_json(r, NGX_HTTP_OK, &json);

    llm_buf_free(&json);

    return rc;
}


static ngx_int_t
ngx_http_llm_count_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    return ngx_http_llm_native_request(r, ctx, "/count_tokens", 0);
}


static ngx_int_t
ngx_http_llm_count_complete(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    llm_json_t           *j;
    llm_error_t           e;
    const llm_dialect_t  *d;

    d = ctx->model->provider->dialect;

    if (ctx->status.code >= 200 && ctx->status.code < 300) {
        j = llm_json_parse(ctx->body.data, ctx->body.len, NULL);

        if (cJSON_IsNumber(llm_json_get(j, "input_tokens"))) {
            llm_json_free(j);
            return ngx_http_llm_relay_body(r, ctx);
        }

        llm_json_free(j);

        llm_error_set(&e, 502, NULL, "invalid_upstream_response",
                      "The provider's token count is not an object with "
                      "\"input_tokens\".");
    }

    return ngx_http_llm_answer_failed(r, ctx, d->error, &e);
}


/* the client's body to an Anthropic provider, its model replaced */

static ngx_int_t
ngx_http_llm_native_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *suffix, ngx_uint_t stream)
{
    ngx_str_t                 headers;
    llm_buf_t                 path;
    ngx_http_llm_provider_t  *p;
    ngx_http_llm_messages_t  *md;

    md = ctx->op_data;
    p = ctx->model->provider;

    ngx_memzero(&path, sizeof(llm_buf_t));

    if (llm_buf_append_cstr(&path, p->dialect->chat_path) != LLM_OK
        || llm_buf_append_cstr(&path, suffix) != LLM_OK
        || ngx_http_llm_native_headers(r, p->headers.len
                                          ? (char *) p->headers.data
                                          : p->dialect->extra_headers,
                                       &headers)
           != NGX_OK)
    {
        llm_buf_free(&path);
        return NGX_ERROR;
    }

    return ngx_http_llm_relay_request(r, ctx, &md->raw, md->model_start,
                                      md->model_end, &path,
                                      (char *) headers.data, stream);
}


/*
 * The provider's header lines, with the client's anthropic-version in
 * place of the provider's, and the client's anthropic-beta added to the
 * provider's own: the client asked for that API.
 */

static ngx_int_t
ngx_http_llm_native_headers(ngx_http_request_t *r, const char *base,
    ngx_str_t *out)
{
    size_t            len;
    u_char           *p;
    const char       *line, *eol;
    ngx_table_elt_t  *version, *beta;

    version = ngx_http_llm_header_in(r, "anthropic-version",
                                     sizeof("anthropic-version") - 1);
    beta = ngx_http_llm_header_in(r, "anthropic-beta",
                                  sizeof("anthropic-beta") - 1);

    len = ngx_strlen(base)
          + sizeof("anthropic-version: " CRLF) - 1
          + (version ? version->value.len : 0)
          + sizeof("anthropic-beta: ," CRLF) - 1
          + (beta ? beta->value.len : 0) + 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for (line = base; *line; line = eol) {
        eol = ngx_strstr(line, CRLF);
        eol = eol ? eol + 2 : line + ngx_strlen(line);

        if (version
            && ngx_strncasecmp((u_char *) line,
                               (u_char *) "anthropic-version:",
                               sizeof("anthropic-version:") - 1) == 0)
        {
            continue;
        }

        if (beta
            && ngx_strncasecmp((u_char *) line, (u_char *) "anthropic-beta:",
                               sizeof("anthropic-beta:") - 1) == 0)
        {
            /* the provider's betas, then the client's */
            p = ngx_cpymem(p, line, eol - line - 2);
            p = ngx_sprintf(p, ",%V" CRLF, &beta->value);
            beta = NULL;
            continue;
        }

        p = ngx_cpymem(p, line, eol - line);
    }

    if (version) {
        p = ngx_sprintf(p, "anthropic-version: %V" CRLF, &version->value);
    }

    if (beta) {
        p = ngx_sprintf(p, "anthropic-beta: %V" CRLF, &beta->value);
    }

    *p = '\0';
    out->len = p - out->data;

    return NGX_OK;
}
