/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * ngx_http_llm_module: module definition, directives, configuration.
 *
 *   llm_provider NAME dialect=openai url=https://api.openai.com/v1
 *                api_key=env:OPENAI_API_KEY;
 *   llm_model    gpt-4o provider=NAME upstream_model=gpt-4o-2024-08-06;
 *
 *   location = /v1/chat/completions { llm_chat; }
 *   location /v1/models             { llm_models; }
 */

#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_DEFAULT_CA  "/etc/ssl/certs/ca-certificates.crt"


static char *ngx_http_llm_provider(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_llm_provider_params(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_array_t *given);
static void ngx_http_llm_provider_param_error(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_keyval_t *kv);
static u_char *ngx_http_llm_known_dialects(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_provider_url(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *url);
static ngx_int_t ngx_http_llm_provider_key(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *spec, ngx_uint_t optional);
static ngx_int_t ngx_http_llm_provider_ssl(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *ca);
static char *ngx_http_llm_model(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_llm_model_embedding(ngx_conf_t *cf,
    ngx_http_llm_model_t *m);
static u_char *ngx_http_llm_task_types(ngx_conf_t *cf,
    const llm_embed_dialect_t *d);
static ngx_int_t ngx_http_llm_cstr(ngx_conf_t *cf, ngx_str_t *s);
static char *ngx_http_llm_handler_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static ngx_int_t ngx_http_llm_preconfiguration(ngx_conf_t *cf);
static void *ngx_http_llm_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_http_llm_commands[] = {

    { ngx_string("llm_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_provider,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_alias"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_llm_alias,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_health"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_health,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_chat"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_CHAT,
      NULL },

    { ngx_string("llm_models"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_MODELS,
      NULL },

    { ngx_string("llm_embeddings"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_EMBEDDINGS,
      NULL },

    { ngx_string("llm_template"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_llm_template_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_prepend_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE23,
      ngx_http_llm_message_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, prepend),
      NULL },

    { ngx_string("llm_append_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE23,
      ngx_http_llm_message_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, append),
      NULL },

    { ngx_string("llm_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.connect_timeout),
      NULL },

    { ngx_string("llm_send_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.send_timeout),
      NULL },

    { ngx_string("llm_read_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.read_timeout),
      NULL },

    { ngx_string("llm_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.buffer_size),
      NULL },

    { ngx_string("llm_retry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_retry,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_retry_after_cap"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, retry_after_cap),
      NULL },

    { ngx_string("llm_deadline"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, deadline),
      NULL },

    { ngx_string("llm_first_token_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, first_token_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_module_ctx = {
    ngx_http_llm_preconfiguration,         /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_llm_create_main_conf,         /* create main configuration */
    ngx_http_llm_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_create_loc_conf,          /* create location configuration */
    ngx_http_llm_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_llm_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_module_ctx,              /* module context */
    ngx_http_llm_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * llm_provider NAME dialect=D
 *              (url=URL | upstream=NAME [tls] [host=H] [path=P])
 *              [api_key=env:VAR | api_key=file:PATH | api_key=passthrough]
 *              [optional] [ssl_verify=on|off] [ssl_trusted_certificate=F]
 *              [the dialect's own: anthropic_version=V anthropic_beta=B]
 */

static char *
ngx_http_llm_provider(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    u_char                     *eq;
    ngx_str_t                  *value, s, url, upstream, key, host, ca,
                                path;
    ngx_url_t                   u;
    ngx_uint_t                  i, tls, optional;
    ngx_array_t                 given;
    ngx_keyval_t               *kv;
    ngx_http_llm_provider_t    *p, **pp;
    ngx_http_compile_complex_value_t  ccv;

    value = cf->args->elts;

    pp = lmcf->providers.elts;
    for (i = 0; i < lmcf->providers.nelts; i++) {
        if (pp[i]->name.len == value[1].len
            && ngx_strncmp(pp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate llm_provider \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_provider_t));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    p->name = value[1];
    p->index = lmcf->providers.nelts;
    p->ssl_verify = 1;

    ngx_str_null(&url);
    ngx_str_null(&upstream);
    ngx_str_null(&key);
    ngx_str_null(&host);
    ngx_str_null(&path);
    ngx_str_set(&ca, NGX_HTTP_LLM_DEFAULT_CA);
    tls = 0;
    optional = 0;

    if (ngx_array_init(&given, cf->temp_pool, 2, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "dialect=", 8) == 0) {
            p->dialect = llm_dialect_find((char *) value[i].data + 8,
                                          value[i].len - 8);
            p->embed = llm_embed_dialect_find((char *) value[i].data + 8,
                                              value[i].len - 8);
            if (p->dialect == NULL && p->embed == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "unknown dialect \"%V\" in llm_provider "
                                   "\"%V\" (known: %s)", &value[i],
                                   &p->name, ngx_http_llm_known_dialects(cf));
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "url=", 4) == 0) {
            url.data = value[i].data + 4;
            url.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "upstream=", 9) == 0) {
            upstream.data = value[i].data + 9;
            upstream.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "host=", 5) == 0) {
            host.data = value[i].data + 5;
            host.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            path.data = value[i].data + 5;
            path.len = value[i].len - 5;

            if (path.len == 0 || path.data[0] != '/') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_provider \"%V\": "
                                   "an absolute path expected",
                                   &value[i], &p->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "api_key=", 8) == 0) {
            key.data = value[i].data + 8;
            key.len = value[i].len - 8;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ssl_trusted_certificate=", 24) == 0)
        {
            ca.data = value[i].data + 24;
            ca.len = value[i].len - 24;
            continue;
        }

        if (ngx_strcmp(value[i].data, "ssl_verify=on") == 0) {
            p->ssl_verify = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "ssl_verify=off") == 0) {
            p->ssl_verify = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "tls") == 0) {
            tls = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "optional") == 0) {
            optional = 1;
            continue;
        }

        eq = (u_char *) ngx_strchr(value[i].data, '=');

        if (eq) {
            /* maybe the dialect's own: checked once the dialect is known */
            kv = ngx_array_push(&given);
            if (kv == NULL) {
                return NGX_CONF_ERROR;
            }

            kv->key.data = value[i].data;
            kv->key.len = eq - value[i].data;
            kv->value.data = eq + 1;
            kv->value.len = value[i].data + value[i].len - (eq + 1);
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in llm_provider \"%V\"",
                           &value[i], &p->name);
        return NGX_CONF_ERROR;
    }

    if (p->dialect == NULL && p->embed == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_provider \"%V\" needs dialect=", &p->name);
        return NGX_CONF_ERROR;
    }

    if (given.nelts
        && ngx_http_llm_provider_params(cf, p, &given) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if ((url.len == 0) == (upstream.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_provider \"%V\" needs exactly one of url= "
                           "or upstream=", &p->name);
        return NGX_CONF_ERROR;
    }

    if (path.len && url.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "path= goes with upstream= in llm_provider "
                           "\"%V\" (url= has its own path)", &p->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_provider_key(cf, p, &key, optional) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    pp = ngx_array_push(&lmcf->providers);
    if (pp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pp = p;

    if (p->disabled) {
        /* no key: no upstream either, so a missing DNS name is no error */
        return NGX_CONF_OK;
    }

    if (url.len) {
        if (ngx_http_llm_provider_url(cf, p, &url) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        tls = (p->ssl != NULL);

    } else {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = upstream;
        u.no_resolve = 1;

        p->upstream = ngx_http_upstream_add(cf, &u, 0);
        if (p->upstream == NULL) {
            return NGX_CONF_ERROR;
        }

        p->host = upstream;

        if (path.len) {
            p->base_path = path;

            while (p->base_path.len > 1
                   && p->base_path.data[p->base_path.len - 1] == '/')
            {
                p->base_path.len--;
            }

        } else {
            ngx_str_set(&p->base_path, "/v1");
        }
    }

    if (host.len) {
        p->host = host;
    }

    if (tls) {
        if (ngx_http_llm_provider_ssl(cf, p, &ca) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        /* SNI and certificate name: the host without a port */

        s = p->host;

        for (i = 0; i < s.len; i++) {
            if (s.data[i] == ':') {
                s.len = i;
                break;
            }
        }

        p->ssl_name = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (p->ssl_name == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &s;
        ccv.complex_value = p->ssl_name;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * The dialect's own parameters (anthropic_version=, anthropic_beta=, ...)
 * become its header lines: each parameter given, or its default.
 */

static ngx_int_t
ngx_http_llm_provider_params(ngx_conf_t *cf, ngx_http_llm_provider_t *p,
    ngx_array_t *given)
{
    size_t                      len;
    u_char                     *h;
    ngx_str_t                   v;
    ngx_uint_t                  i, k;
    ngx_keyval_t               *kv;
    const llm_dialect_param_t  *dp;

    kv = given->elts;
    dp = p->dialect ? p->dialect->params : NULL;

    for (i = 0; i < given->nelts; i++) {
        for (k = 0; dp && dp[k].name; k++) {
            if (ngx_strlen(dp[k].name) == kv[i].key.len
                && ngx_strncmp(dp[k].name, kv[i].key.data, kv[i].key.len)
                   == 0)
            {
                break;
            }
        }

        if (dp == NULL || dp[k].name == NULL) {
            ngx_http_llm_provider_param_error(cf, p, &kv[i]);
            return NGX_ERROR;
        }
    }

    /* two passes: the length, then the lines */

    len = 0;
    h = NULL;

    for ( ;; ) {
        for (k = 0; dp[k].name; k++) {
            v.data = (u_char *) dp[k].value;
            v.len = v.data ? ngx_strlen(v.data) : 0;

            for (i = 0; i < given->nelts; i++) {
                if (ngx_strlen(dp[k].name) == kv[i].key.len
                    && ngx_strncmp(dp[k].name, kv[i].key.data,
                                   kv[i].key.len) == 0)
                {
                    v = kv[i].value;
                }
            }

            if (v.len == 0) {
                continue;
            }

            if (h == NULL) {
                len += ngx_strlen(dp[k].header) + sizeof(": " CRLF) - 1
                       + v.len;

            } else {
                h = ngx_sprintf(h, "%s: %V" CRLF, dp[k].header, &v);
            }
        }

        if (h) {
            *h = '\0';
            return NGX_OK;
        }

        h = ngx_pnalloc(cf->pool, len + 1);
        if (h == NULL) {
            return NGX_ERROR;
        }

        p->headers.data = h;
        p->headers.len = len;
    }
}


/* a parameter the provider's dialect does not take: whose is it? */

static void
ngx_http_llm_provider_param_error(ngx_conf_t *cf, ngx_http_llm_provider_t *p,
    ngx_keyval_t *kv)
{
    ngx_uint_t                  k;
    const llm_dialect_t        *const *d;
    const llm_dialect_param_t  *dp;

    for (d = llm_dialects; *d; d++) {
        for (dp = (*d)->params, k = 0; dp && dp[k].name; k++) {
            if (ngx_strlen(dp[k].name) == kv->key.len
                && ngx_strncmp(dp[k].name, kv->key.data, kv->key.len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V=\" and the other parameters of the "
                                   "%s dialect need dialect=%s in "
                                   "llm_provider \"%V\"", &kv->key,
                                   (*d)->name, (*d)->name, &p->name);
                return;
            }
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V=%V\" in llm_provider \"%V\"",
                       &kv->key, &kv->value, &p->name);
}


/* "openai, anthropic, ...": every dialect name, for messages */

static u_char *
ngx_http_llm_known_dialects(ngx_conf_t *cf)
{
    u_char                      *s, *q;
    size_t                       len;
    ngx_uint_t                   i;
    const llm_dialect_t         *const *d;
    const llm_embed_dialect_t   *const *e;

    len = 1;

    for (d = llm_dialects; *d; d++) {
        len += ngx_strlen((*d)->name) + 2;
    }

    for (e = llm_embed_dialects; *e; e++) {
        len += ngx_strlen((*e)->name) + 2;
    }

    s = ngx_pnalloc(cf->temp_pool, len);
    if (s == NULL) {
        return (u_char *) "";
    }

    q = s;

    for (d = llm_dialects; *d; d++) {
        q = ngx_sprintf(q, "%s%s", (q == s) ? "" : ", ", (*d)->name);
    }

    for (e = llm_embed_dialects; *e; e++) {

        /* openai does both */
        for (i = 0, d = llm_dialects; *d; d++) {
            if (ngx_strcmp((*d)->name, (*e)->name) == 0) {
                i = 1;
            }
        }

        if (!i) {
            q = ngx_sprintf(q, ", %s", (*e)->name);
        }
    }

    *q = '\0';

    return s;
}


static ngx_int_t
ngx_http_llm_provider_url(ngx_conf_t *cf, ngx_http_llm_provider_t *p,
    ngx_str_t *url)
{
    size_t      add;
    u_char     *h;
    ngx_url_t   u;

    if (ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0) {
        add = 8;

        p->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (p->ssl == NULL) {
            return NGX_ERROR;
        }

    } else if (ngx_strncasecmp(url->data, (u_char *) "http://", 7) == 0) {
        add = 7;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid url \"%V\" in llm_provider \"%V\": "
                           "http:// or https:// expected", url, &p->name);
        return NGX_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = url->data + add;
    u.url.len = url->len - add;
    u.default_port = p->ssl ? 443 : 80;
    u.uri_part = 1;
    u.no_resolve = 0;

    p->upstream = ngx_http_upstream_add(cf, &u, 0);
    if (p->upstream == NULL) {
        return NGX_ERROR;
    }

    /* Host: the authority as written, so a non-default port is kept */

    p->host.len = u.host.len;

    if (u.port != u.default_port) {
        p->host.len += 1 + NGX_INT_T_LEN;
    }

    h = ngx_pnalloc(cf->pool, p->host.len);
    if (h == NULL) {
        return NGX_ERROR;
    }

    p->host.data = h;

    if (u.port != u.default_port) {
        p->host.len = ngx_sprintf(h, "%V:%d", &u.host, (int) u.port) - h;

    } else {
        ngx_memcpy(h, u.host.data, u.host.len);
    }

    p->base_path = u.uri;

    while (p->base_path.len
           && p->base_path.data[p->base_path.len - 1] == '/')
    {
        p->base_path.len--;
    }

    return NGX_OK;
}


/*
 * The key is read now, in the master, where the environment is complete
 * (workers keep only TZ).  Its value never goes to a log or a message.
 */

static ngx_int_t
ngx_http_llm_provider_key(ngx_conf_t *cf, ngx_http_llm_provider_t *p,
    ngx_str_t *spec, ngx_uint_t optional)
{
    u_char           *name, *v;
    size_t            len;
    ssize_t           n;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (spec->len == 0) {
        return NGX_OK;
    }

    if (spec->len == 11 && ngx_strncmp(spec->data, "passthrough", 11) == 0) {
        p->key_passthrough = 1;
        return NGX_OK;
    }

    if (spec->len > 4 && ngx_strncmp(spec->data, "env:", 4) == 0) {
        name = ngx_pnalloc(cf->pool, spec->len - 4 + 1);
        if (name == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(name, spec->data + 4, spec->len - 4 + 1);

        v = (u_char *) getenv((char *) name);

        if (v == NULL || *v == '\0') {
            if (optional) {
                p->disabled = 1;
                ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                                   "llm_provider \"%V\" disabled: "
                                   "environment variable \"%s\" is not set",
                                   &p->name, name);
                return NGX_OK;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "environment variable \"%s\" for the "
                               "api_key of llm_provider \"%V\" is not set",
                               name, &p->name);
            return NGX_ERROR;
        }

        len = ngx_strlen(v);

        p->api_key.data = ngx_pnalloc(cf->pool, len);
        if (p->api_key.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p->api_key.data, v, len);
        p->api_key.len = len;

        return NGX_OK;
    }

    if (spec->len > 5 && ngx_strncmp(spec->data, "file:", 5) == 0) {
        ngx_memzero(&file, sizeof(ngx_file_t));

        file.name.len = spec->len - 5;
        file.name.data = spec->data + 5;
        file.log = cf->log;

        if (ngx_conf_full_name(cf->cycle, &file.name, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY,
                                NGX_FILE_OPEN, 0);

        if (file.fd == NGX_INVALID_FILE) {
            if (optional) {
                p->disabled = 1;
                return NGX_OK;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "cannot open the api_key file \"%V\" of "
                               "llm_provider \"%V\"", &file.name, &p->name);
            return NGX_ERROR;
        }

        if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
            || ngx_file_size(&fi) > 65536)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid api_key file \"%V\" of "
                               "llm_provider \"%V\"", &file.name, &p->name);
            ngx_close_file(file.fd);
            return NGX_ERROR;
        }

        len = (size_t) ngx_file_size(&fi);

        p->api_key.data = ngx_pnalloc(cf->pool, len + 1);
        if (p->api_key.data == NULL) {
            ngx_close_file(file.fd);
            return NGX_ERROR;
        }

        n = ngx_read_file(&file, p->api_key.data, len, 0);

        ngx_close_file(file.fd);

        if (n != (ssize_t) len) {
            return NGX_ERROR;
        }

        /* a trailing newline is not part of the key */

        while (len && (p->api_key.data[len - 1] == '\n'
                       || p->api_key.data[len - 1] == '\r'
                       || p->api_key.data[len - 1] == ' '))
        {
            len--;
        }

        if (len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the api_key file \"%V\" of llm_provider "
                               "\"%V\" is empty", &file.name, &p->name);
            return NGX_ERROR;
        }

        p->api_key.len = len;

        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid api_key in llm_provider \"%V\": expected "
                       "env:VAR, file:PATH or passthrough", &p->name);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_llm_provider_ssl(ngx_conf_t *cf, ngx_http_llm_provider_t *p,
    ngx_str_t *ca)
{
    ngx_str_t            ciphers;
    ngx_pool_cleanup_t  *cln;

    if (p->ssl == NULL) {
        p->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (p->ssl == NULL) {
            return NGX_ERROR;
        }
    }

    p->ssl->log = cf->log;

    if (ngx_ssl_create(p->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(p->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = p->ssl;

    ngx_str_set(&ciphers, "DEFAULT");

    if (ngx_ssl_ciphers(cf, p->ssl, &ciphers, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (p->ssl_verify) {
        if (ngx_ssl_trusted_certificate(cf, p->ssl, ca, 4) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_ssl_client_session_cache(cf, p->ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * llm_model NAME provider=P [upstream_model=M] [max_tokens=N]
 *           [price_in=X] [price_out=Y] [tier=N] [context=N] [ttft=T]
 *           [type=chat|embedding] [batch=N] [task_type=T] [dimensions=N]
 * llm_model NAME candidates=A,B,... [weights=W,...]
 *           [strategy=order|weighted|cost|speed|quality]
 */

static char *
ngx_http_llm_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    char                      *rv;
    ngx_int_t                  rc, n;
    ngx_str_t                 *value, provider, type;
    ngx_uint_t                 i;
    ngx_http_llm_model_t      *m;
    ngx_http_llm_provider_t  **pp;

    value = cf->args->elts;

    m = ngx_http_llm_add_model(cf, lmcf, &value[1]);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&provider);
    ngx_str_null(&type);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "provider=", 9) == 0) {
            provider.data = value[i].data + 9;
            provider.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "upstream_model=", 15) == 0) {
            m->upstream_model.data = value[i].data + 15;
            m->upstream_model.len = value[i].len - 15;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_tokens=", 11) == 0) {
            m->max_tokens = ngx_atoi(value[i].data + 11, value[i].len - 11);

            if (m->max_tokens == NGX_ERROR || m->max_tokens == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_model \"%V\"",
                                   &value[i], &m->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "type=", 5) == 0) {
            type.data = value[i].data + 5;
            type.len = value[i].len - 5;

            if (ngx_strcmp(type.data, "embedding") == 0) {
                m->embedding = 1;

            } else if (ngx_strcmp(type.data, "chat") != 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_model \"%V\": "
                                   "chat or embedding expected",
                                   &value[i], &m->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "batch=", 6) == 0
            || ngx_strncmp(value[i].data, "dimensions=", 11) == 0)
        {
            n = (value[i].data[0] == 'b')
                ? ngx_atoi(value[i].data + 6, value[i].len - 6)
                : ngx_atoi(value[i].data + 11, value[i].len - 11);

            if (n == NGX_ERROR || n == 0 || n > 1000000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_model \"%V\"",
                                   &value[i], &m->name);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 'b') {
                m->batch = n;

            } else {
                m->dimensions = n;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "task_type=", 10) == 0) {
            m->task_type.data = value[i].data + 10;
            m->task_type.len = value[i].len - 10;
            continue;
        }

        rc = ngx_http_llm_model_param(cf, lmcf, m, &value[i]);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in llm_model "
                               "\"%V\"", &value[i], &m->name);
        }

        return NGX_CONF_ERROR;
    }

    if (m->ncands) {
        if (provider.len || m->upstream_model.len || m->max_tokens
            || type.len || m->batch || m->dimensions || m->task_type.len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\" takes either provider= "
                               "or candidates=, not both", &m->name);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_llm_cstr(cf, &m->name) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        return ngx_http_llm_model_check(cf, lmcf, m);
    }

    rv = ngx_http_llm_model_check(cf, lmcf, m);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (provider.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\" needs provider= or "
                           "candidates=", &m->name);
        return NGX_CONF_ERROR;
    }

    pp = lmcf->providers.elts;
    for (i = 0; i < lmcf->providers.nelts; i++) {
        if (pp[i]->name.len == provider.len
            && ngx_strncmp(pp[i]->name.data, provider.data, provider.len)
               == 0)
        {
            m->provider = pp[i];
            break;
        }
    }

    if (m->provider == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\" names unknown provider \"%V\" "
                           "(an llm_provider must be defined before the "
                           "models that use it)", &m->name, &provider);
        return NGX_CONF_ERROR;
    }

    if (m->upstream_model.len == 0) {
        m->upstream_model = m->name;
    }

    if (ngx_http_llm_model_embedding(cf, m) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the core wants NUL-terminated names */

    if (ngx_http_llm_cstr(cf, &m->name) != NGX_OK
        || ngx_http_llm_cstr(cf, &m->upstream_model) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* what a provider can serve: chat, embeddings, and their parameters */

static ngx_int_t
ngx_http_llm_model_embedding(ngx_conf_t *cf, ngx_http_llm_model_t *m)
{
    ngx_http_llm_provider_t  *p;

    p = m->provider;

    if (!m->embedding) {
        if (m->batch || m->dimensions || m->task_type.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "batch=, dimensions= and task_type= need "
                               "type=embedding in llm_model \"%V\"",
                               &m->name);
            return NGX_ERROR;
        }

        if (p->dialect == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\": the %s dialect of "
                               "provider \"%V\" serves embeddings only "
                               "(add type=embedding)", &m->name,
                               p->embed->name, &p->name);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (p->embed == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\": the %s dialect of provider "
                           "\"%V\" has no embeddings", &m->name,
                           p->dialect->name, &p->name);
        return NGX_ERROR;
    }

    if (m->max_tokens) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "max_tokens= is for chat models, not the "
                           "embedding model \"%V\"", &m->name);
        return NGX_ERROR;
    }

    if (m->task_type.len
        && !llm_embed_task_valid(p->embed, (char *) m->task_type.data,
                                 m->task_type.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid task_type \"%V\" in llm_model \"%V\" "
                           "for the %s dialect (%s%s)", &m->task_type,
                           &m->name, p->embed->name,
                           p->embed->task_types ? "one of: " : "it has none",
                           ngx_http_llm_task_types(cf, p->embed));
        return NGX_ERROR;
    }

    if (m->batch && (ngx_int_t) m->batch > p->embed->max_batch) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "batch=%ui in llm_model \"%V\" is above the "
                           "%s limit of %d inputs per request",
                           m->batch, &m->name, p->embed->name,
                           p->embed->max_batch);
        return NGX_ERROR;
    }

    return ngx_http_llm_cstr(cf, &m->task_type);
}


/* a dialect's task types, ", "-separated, for messages */

static u_char *
ngx_http_llm_task_types(ngx_conf_t *cf, const llm_embed_dialect_t *d)
{
    u_char              *s, *q;
    size_t               len;
    const char *const   *t;

    len = 1;

    for (t = d->task_types; t && *t; t++) {
        len += ngx_strlen(*t) + 2;
    }

    s = ngx_pnalloc(cf->temp_pool, len);
    if (s == NULL) {
        return (u_char *) "";
    }

    q = s;

    for (t = d->task_types; t && *t; t++) {
        q = ngx_sprintf(q, "%s%s", (q == s) ? "" : ", ", *t);
    }

    *q = '\0';

    return s;
}


static ngx_int_t
ngx_http_llm_cstr(ngx_conf_t *cf, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(cf->pool, s->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    s->data = p;

    return NGX_OK;
}


static char *
ngx_http_llm_handler_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (llcf->handler) {
        return "is duplicate";
    }

    llcf->handler = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cmd->offset == NGX_HTTP_LLM_MODELS) {
        clcf->handler = ngx_http_llm_models_handler;
        return NGX_CONF_OK;
    }

    /* chat and embeddings: operations over the one ingress */
    llcf->op = (cmd->offset == NGX_HTTP_LLM_CHAT) ? &ngx_http_llm_chat_op
                                                  : &ngx_http_llm_embeddings_op;
    clcf->handler = ngx_http_llm_op_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_llm_add_variables(cf);
}


static void *
ngx_http_llm_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->providers, cf->pool, 4,
                       sizeof(ngx_http_llm_provider_t *))
        != NGX_OK
        || ngx_array_init(&lmcf->models, cf->pool, 8,
                          sizeof(ngx_http_llm_model_t))
           != NGX_OK)
    {
        return NULL;
    }

    lmcf->created = ngx_time();

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->health_zone = NULL;
     *     lmcf->peer_inits = { 0 };
     */

    return lmcf;
}


static char *
ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    /* the upstream module has set up its peers by now: wrap them */

    if (ngx_http_llm_peer_wrap(cf, lmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_llm_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->handler = 0;
     *     conf->provider_confs = NULL;
     *     conf->upstream.* TLS fields: set per provider at merge
     */

    conf->retry_tries = NGX_CONF_UNSET_UINT;
    conf->retry_base = NGX_CONF_UNSET_MSEC;
    conf->retry_cap = NGX_CONF_UNSET_MSEC;
    conf->retry_after_cap = NGX_CONF_UNSET_MSEC;
    conf->deadline = NGX_CONF_UNSET_MSEC;
    conf->first_token_timeout = NGX_CONF_UNSET_MSEC;

    conf->upstream.local = NGX_CONF_UNSET_PTR;
    conf->upstream.socket_keepalive = NGX_CONF_UNSET;
    conf->upstream.next_upstream_tries = NGX_CONF_UNSET_UINT;
    conf->upstream.connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.send_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.read_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.next_upstream_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.buffer_size = NGX_CONF_UNSET_SIZE;
    conf->upstream.pass_headers = NGX_CONF_UNSET_PTR;

    /* the hardcoded values: streams are never buffered */
    conf->upstream.cyclic_temp_file = 0;
    conf->upstream.buffering = 0;
    conf->upstream.ignore_client_abort = 0;
    conf->upstream.send_lowat = 0;
    conf->upstream.bufs.num = 0;
    conf->upstream.busy_buffers_size = 0;
    conf->upstream.max_temp_file_size = 0;
    conf->upstream.temp_file_write_size = 0;
    conf->upstream.intercept_errors = 0;
    conf->upstream.pass_request_headers = 0;
    conf->upstream.pass_request_body = 0;
    conf->upstream.force_ranges = 0;

    ngx_str_set(&conf->upstream.module, "llm");

    return conf;
}


static char *
ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_loc_conf_t *prev = parent;
    ngx_http_llm_loc_conf_t *conf = child;

    ngx_uint_t                  i, j;
    ngx_flag_t                  reuse;
    ngx_http_upstream_conf_t   *uc;
    ngx_http_llm_provider_t   **pp;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_llm_main_conf_t   *lmcf;

    ngx_conf_merge_uint_value(conf->retry_tries, prev->retry_tries, 3);
    ngx_conf_merge_msec_value(conf->retry_base, prev->retry_base, 250);
    ngx_conf_merge_msec_value(conf->retry_cap, prev->retry_cap, 10000);
    ngx_conf_merge_msec_value(conf->retry_after_cap,
                              prev->retry_after_cap, 30000);
    ngx_conf_merge_msec_value(conf->deadline, prev->deadline, 0);
    ngx_conf_merge_msec_value(conf->first_token_timeout,
                              prev->first_token_timeout, 0);

    ngx_conf_merge_ptr_value(conf->upstream.local,
                              prev->upstream.local, NULL);

    ngx_conf_merge_value(conf->upstream.socket_keepalive,
                              prev->upstream.socket_keepalive, 0);

    ngx_conf_merge_uint_value(conf->upstream.next_upstream_tries,
                              prev->upstream.next_upstream_tries, 0);

    ngx_conf_merge_msec_value(conf->upstream.connect_timeout,
                              prev->upstream.connect_timeout, 10000);

    ngx_conf_merge_msec_value(conf->upstream.send_timeout,
                              prev->upstream.send_timeout, 60000);

    /* a non-stream generation by a reasoning model takes minutes */
    ngx_conf_merge_msec_value(conf->upstream.read_timeout,
                              prev->upstream.read_timeout, 600000);

    ngx_conf_merge_msec_value(conf->upstream.next_upstream_timeout,
                              prev->upstream.next_upstream_timeout, 0);

    ngx_conf_merge_size_value(conf->upstream.buffer_size,
                              prev->upstream.buffer_size, 16384);

    /* only failures before the request was sent: POST is not idempotent */
    conf->upstream.next_upstream = NGX_CONF_BITMASK_SET
                                   |NGX_HTTP_UPSTREAM_FT_ERROR
                                   |NGX_HTTP_UPSTREAM_FT_TIMEOUT;

    conf->upstream.ignore_headers = NGX_CONF_BITMASK_SET;

    if (conf->prepend == NULL) {
        conf->prepend = prev->prepend;
    }

    if (conf->append == NULL) {
        conf->append = prev->append;
    }

    if (conf->handler != NGX_HTTP_LLM_CHAT
        && conf->handler != NGX_HTTP_LLM_EMBEDDINGS)
    {
        return NGX_CONF_OK;
    }

    /*
     * The request body limit is client_max_body_size, enforced here so the
     * client gets a JSON 413: core's check is switched off for llm_chat.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    conf->max_body_size = clcf->client_max_body_size;
    clcf->client_max_body_size = 0;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    if (lmcf->providers.nelts == 0) {
        return NGX_CONF_OK;
    }

    conf->provider_confs = ngx_pcalloc(cf->pool,
                                       lmcf->providers.nelts
                                       * sizeof(ngx_http_upstream_conf_t));
    if (conf->provider_confs == NULL) {
        return NGX_CONF_ERROR;
    }

    pp = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        uc = &conf->provider_confs[i];

        /*
         * TLS sessions are cached per upstream server, and a resumed
         * session skips certificate verification: providers sharing an
         * upstream may trust different CAs, so they do not resume.
         */

        reuse = 1;

        for (j = 0; j < lmcf->providers.nelts; j++) {
            if (j != i && pp[j]->upstream == pp[i]->upstream) {
                reuse = 0;
            }
        }


        *uc = conf->upstream;
        uc->upstream = pp[i]->upstream;

#if (NGX_HTTP_SSL)
        uc->ssl = pp[i]->ssl;
        uc->ssl_name = pp[i]->ssl_name;
        uc->ssl_server_name = 1;
        uc->ssl_verify = pp[i]->ssl_verify;
        uc->ssl_session_reuse = reuse;
#endif
    }

    return NGX_CONF_OK;
}
