/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * $llm_* variables, for access_log and anything else that reads
 * variables.  They read the request's ctx, so in the log phase they show
 * the final values: tokens, finish reason, time to first token, error.
 */

#include "ngx_http_llm_module.h"


typedef enum {
    ngx_http_llm_var_model = 0,
    ngx_http_llm_var_provider,
    ngx_http_llm_var_upstream_model,
    ngx_http_llm_var_stream,
    ngx_http_llm_var_prompt_tokens,
    ngx_http_llm_var_completion_tokens,
    ngx_http_llm_var_total_tokens,
    ngx_http_llm_var_finish_reason,
    ngx_http_llm_var_ttft,
    ngx_http_llm_var_error,
    ngx_http_llm_var_attempts,
    ngx_http_llm_var_cache_status,
    ngx_http_llm_var_cost,
    ngx_http_llm_var_budget_remaining
} ngx_http_llm_var_e;


static ngx_int_t ngx_http_llm_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_llm_vars[] = {

    { ngx_string("llm_model"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_model, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_provider"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_provider, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_upstream_model"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_upstream_model, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_stream"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_stream, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_prompt_tokens"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_prompt_tokens, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_completion_tokens"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_completion_tokens, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_total_tokens"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_total_tokens, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_finish_reason"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_finish_reason, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_ttft"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_ttft, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_error"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_error, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_attempts"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_attempts, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cache_status"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_cache_status, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cost"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_cost, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_budget_remaining"), NULL, ngx_http_llm_variable,
      ngx_http_llm_var_budget_remaining, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_llm_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char              *p;
    long long            n;
    ngx_int_t            rc;
    ngx_str_t            str;
    const char          *s;
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    v->not_found = 1;

    if (ctx == NULL) {
        return NGX_OK;
    }

    s = NULL;
    n = -1;

    switch (data) {

    case ngx_http_llm_var_model:
        if (ctx->route) {
            s = (char *) ctx->route->name.data;

        } else if (ctx->model) {
            /* llm_embeddings: no route */
            s = (char *) ctx->model->name.data;

        } else if (ctx->req.model) {
            s = ctx->req.model;
        }
        break;

    case ngx_http_llm_var_provider:
        if (ctx->model) {
            v->data = ctx->model->provider->name.data;
            v->len = ctx->model->provider->name.len;
            goto found;
        }
        break;

    case ngx_http_llm_var_upstream_model:
        if (ctx->model) {
            s = (char *) ctx->model->upstream_model.data;
        }
        break;

    case ngx_http_llm_var_stream:
        if (ctx->model) {
            s = ctx->stream ? "1" : "0";
        }
        break;

    case ngx_http_llm_var_prompt_tokens:
        if (ctx->resp.usage.set) {
            n = ctx->resp.usage.prompt_tokens;
        }
        break;

    case ngx_http_llm_var_completion_tokens:
        if (ctx->resp.usage.set) {
            n = ctx->resp.usage.completion_tokens;
        }
        break;

    case ngx_http_llm_var_total_tokens:
        if (ctx->resp.usage.set) {
            n = ctx->resp.usage.total_tokens;
        }
        break;

    case ngx_http_llm_var_finish_reason:
        if (ctx->resp.finish_reason[0]) {
            s = ctx->resp.finish_reason;
        }
        break;

    case ngx_http_llm_var_ttft:
        if (ctx->ttft_set) {
            n = (long long) ctx->ttft;
        }
        break;

    case ngx_http_llm_var_error:
        if (ctx->error.len) {
            v->data = ctx->error.data;
            v->len = ctx->error.len;
            goto found;
        }
        break;

    case ngx_http_llm_var_cost:
    case ngx_http_llm_var_budget_remaining:
        rc = (data == ngx_http_llm_var_cost)
             ? ngx_http_llm_budget_cost(r, ctx, &str)
             : ngx_http_llm_budget_remaining(r, ctx, &str);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            v->data = str.data;
            v->len = str.len;
            goto found;
        }
        break;

    case ngx_http_llm_var_cache_status:
        if (ngx_http_llm_cache_status(ctx) >= 0) {
            s = ngx_http_llm_cache_statuses[ngx_http_llm_cache_status(ctx)];
        }
        break;

    case ngx_http_llm_var_attempts:
        if (ctx->attempt_log.len) {
            v->data = ctx->attempt_log.data;
            v->len = ctx->attempt_log.len;
            goto found;
        }
        break;
    }

    if (s) {
        v->data = (u_char *) s;
        v->len = ngx_strlen(s);
        goto found;
    }

    if (n < 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%L", (int64_t) n) - p;

found:

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
