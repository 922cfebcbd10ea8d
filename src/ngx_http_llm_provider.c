/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_provider: one provider, its dialect (and the dialect's own
 * parameters), where it is (url= or an upstream{}), its key (from the
 * environment or a file, read here, never logged) and its TLS.
 *
 *   llm_provider NAME dialect=openai url=https://api.openai.com/v1
 *                api_key=env:OPENAI_API_KEY;
 */

#include "ngx_http_llm_module.h"
#include "llm_openai.h"


#define NGX_HTTP_LLM_DEFAULT_CA  "/etc/ssl/certs/ca-certificates.crt"


static ngx_int_t ngx_http_llm_provider_params(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_array_t *given);
static ngx_uint_t ngx_http_llm_param_is(const llm_dialect_param_t *dp,
    ngx_str_t *key);
static void ngx_http_llm_provider_param_error(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_keyval_t *kv);
static u_char *ngx_http_llm_known_dialects(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_provider_url(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *url);
static ngx_int_t ngx_http_llm_provider_key(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *spec, ngx_uint_t optional);
static ngx_int_t ngx_http_llm_provider_ssl(ngx_conf_t *cf,
    ngx_http_llm_provider_t *p, ngx_str_t *ca);


/*
 * llm_provider NAME dialect=D
 *              (url=URL | upstream=NAME [tls] [host=H] [path=P])
 *              [api_key=env:VAR | api_key=file:PATH | api_key=passthrough]
 *              [optional] [ssl_verify=on|off] [ssl_trusted_certificate=F]
 *              [rpm=N] [tpm=N]
 *              [the dialect's own: anthropic_version=V anthropic_beta=B]
 */

char *
ngx_http_llm_provider(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    u_char                     *eq;
    ngx_str_t                  *value, s, url, upstream, key, host, ca,
                                path;
    ngx_url_t                   u;
    ngx_int_t                   n;
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

        if (ngx_strcmp(value[i].data, "responses=on") == 0) {
            p->responses = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "responses=off") == 0) {
            p->responses = 0;
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

        if (ngx_strncmp(value[i].data, "rpm=", 4) == 0
            || ngx_strncmp(value[i].data, "tpm=", 4) == 0)
        {
            n = ngx_atoi(value[i].data + 4, value[i].len - 4);

            if (n == NGX_ERROR || n == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_provider \"%V\"",
                                   &value[i], &p->name);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 'r') {
                p->rpm = n;

            } else {
                p->tpm = n;
            }

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

    if (p->responses && p->dialect != &llm_dialect_openai) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_provider \"%V\": responses=on needs "
                           "dialect=openai", &p->name);
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


/* 1 if key names the dialect parameter dp */

static ngx_uint_t
ngx_http_llm_param_is(const llm_dialect_param_t *dp, ngx_str_t *key)
{
    return ngx_strlen(dp->name) == key->len
           && ngx_strncmp(dp->name, key->data, key->len) == 0;
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
            if (ngx_http_llm_param_is(&dp[k], &kv[i].key)) {
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
                if (ngx_http_llm_param_is(&dp[k], &kv[i].key)) {
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
            if (ngx_http_llm_param_is(&dp[k], &kv->key)) {
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
