/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_debug_log: what went to a provider and what came back, in the
 * error log at "info", for a location that asks for it.  Each attempt
 * logs its request line and the first SIZE bytes of the body it sent,
 * then the provider's status and the first SIZE bytes of its answer (a
 * stream's first bytes as they arrive, logged once SIZE are in or when
 * the attempt is recorded in $llm_attempts).  Headers are never logged:
 * they hold the key.  The key is masked wherever it appears in what is
 * logged (a provider may echo it in an error), and so is its start where
 * the size cuts it.  Bytes that are not printable ASCII are written as
 * \n, \r, \t or \xNN, so that a line stays a line.
 */

#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_DEBUG_MASK  "[redacted]"


static u_char *ngx_http_llm_debug_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *p, size_t n, size_t *len);


/* llm_debug_log off | SIZE */

char *
ngx_http_llm_debug_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (llcf->debug_log != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        llcf->debug_log = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size == 0 || size > 1024 * 1024) {
        return "takes \"off\" or a size up to 1m";
    }

    llcf->debug_log = size;

    return NGX_CONF_OK;
}


/* the request this attempt sends: its line, the start of its body */

void
ngx_http_llm_debug_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *line, llm_piece_t *pieces, ngx_uint_t npieces, size_t n)
{
    u_char                   *text, *body, *p;
    size_t                    len, want;
    ngx_uint_t                i;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->debug_log == 0) {
        return;
    }

    ctx->debug_answer.len = 0;
    ctx->debug_logged = 0;
    ctx->debug_more = 0;

    /* the start of the body, gathered from its pieces */

    want = ngx_min(n, llcf->debug_log);

    body = ngx_pnalloc(r->pool, want + 1);
    if (body == NULL) {
        return;
    }

    p = body;

    for (i = 0; i < npieces && (size_t) (p - body) < want; i++) {
        len = ngx_min(pieces[i].len, want - (p - body));
        p = ngx_cpymem(p, pieces[i].data, len);
    }

    text = ngx_http_llm_debug_text(r, ctx, body, want, &len);
    if (text == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm debug: attempt %ui to provider \"%V\": %V, %uz bytes: "
                  "%*s%s", ctx->attempts, &ctx->model->provider->name, line,
                  n, len, text, n > llcf->debug_log ? "..." : "");
}


/* bytes of the answer, after de-chunking: gathered up to the cap */

void
ngx_http_llm_debug_answer(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *p, size_t n, ngx_uint_t last)
{
    size_t                    room;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->debug_log == 0 || ctx->debug_logged) {
        return;
    }

    if (ctx->debug_answer.data == NULL) {
        ctx->debug_answer.data = ngx_pnalloc(r->pool, llcf->debug_log);
        if (ctx->debug_answer.data == NULL) {
            return;
        }
    }

    room = llcf->debug_log - ctx->debug_answer.len;

    if (n > room) {
        ctx->debug_more = 1;
        n = room;
    }

    ngx_memcpy(ctx->debug_answer.data + ctx->debug_answer.len, p, n);
    ctx->debug_answer.len += n;

    if (last || ctx->debug_answer.len == llcf->debug_log) {
        ngx_http_llm_debug_answer_end(r, ctx);
    }
}


/* the answer's start, logged once per attempt */

void
ngx_http_llm_debug_answer_end(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    u_char                   *text;
    size_t                    len;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->debug_log == 0 || ctx->debug_logged || ctx->model == NULL) {
        return;
    }

    ctx->debug_logged = 1;

    text = ngx_http_llm_debug_text(r, ctx, ctx->debug_answer.data,
                                   ctx->debug_answer.len, &len);
    if (text == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm debug: answer of provider \"%V\": status %ui, "
                  "%*s%s", &ctx->model->provider->name, ctx->status.code,
                  len, text, ctx->debug_more ? "..." : "");

    ctx->debug_more = 0;
}


/*
 * p as one printable line, the attempt's key masked: in the pool; NULL
 * on no memory
 */

static u_char *
ngx_http_llm_debug_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *p, size_t n, size_t *len)
{
    u_char  *text, *t, *last, *key;
    size_t   klen;

    static u_char  hex[] = "0123456789abcdef";

    key = (u_char *) ctx->resp.secret;
    klen = ctx->resp.secret_len;

    text = ngx_pnalloc(r->pool, n * 4 + 1);
    if (text == NULL) {
        return NULL;
    }

    t = text;
    last = p + n;

    while (p < last) {

        /* the key, or the start of it that the size cut */
        if (klen >= LLM_ERR_MASK_MIN && *p == *key
            && ngx_memcmp(p, key, ngx_min(klen, (size_t) (last - p))) == 0
            && ((size_t) (last - p) >= klen || last - p >= 3))
        {
            t = ngx_cpymem(t, NGX_HTTP_LLM_DEBUG_MASK,
                           sizeof(NGX_HTTP_LLM_DEBUG_MASK) - 1);
            p += ngx_min(klen, (size_t) (last - p));
            continue;
        }

        switch (*p) {
        case '\n':
            *t++ = '\\'; *t++ = 'n';
            break;
        case '\r':
            *t++ = '\\'; *t++ = 'r';
            break;
        case '\t':
            *t++ = '\\'; *t++ = 't';
            break;
        default:
            if (*p < 0x20 || *p >= 0x7f) {
                *t++ = '\\'; *t++ = 'x';
                *t++ = hex[*p >> 4];
                *t++ = hex[*p & 0xf];

            } else {
                *t++ = *p;
            }
        }

        p++;
    }

    *len = t - text;

    return text;
}
