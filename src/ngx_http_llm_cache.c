/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The response cache: llm_cache_zone, llm_cache and its companions, in
 * the manner of proxy_cache.
 *
 * The key is a SHA-256 of the operation, the scope (the client's
 * credential unless llm_cache_scope says otherwise) and the request body
 * as it will be answered (after templates and decorators) in its
 * canonical form (src/core/llm_cache_key.c): no prompt text is kept.
 * What is kept is the record of a complete answer's events
 * (src/core/llm_record.c), replayed through the client's writer: one
 * entry answers a stream and a whole object alike, with the client's
 * model name and the original usage.
 *
 * A miss records its events as they go to the client and stores them
 * when the answer ended well; with llm_cache_lock, identical requests in
 * flight wait for it (ngx_http_llm_cache_lock.c).
 *
 * Embeddings are cached per input (ngx_http_llm_embeddings.c asks here):
 * the inputs found are left out of the provider request.
 */

#include "ngx_http_llm_cache.h"


static ngx_int_t ngx_http_llm_cache_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_req_t *cr, ngx_str_t *body);
static ngx_int_t ngx_http_llm_cache_client(ngx_http_request_t *r,
    ngx_http_llm_cache_req_t *cr);
static ngx_int_t ngx_http_llm_cache_send(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *entry, time_t age);
static void ngx_http_llm_cache_cleanup(void *data);


/* members that cannot change the answer, and those it cannot keep */

static const char  *ngx_http_llm_cache_skip[] = {
    "stream", "stream_options", "user", "metadata", "store",
    "service_tier", "prompt_cache_key", "safety_identifier", NULL
};

static const char  *ngx_http_llm_cache_avoid[] = {
    "logprobs", "top_logprobs", "audio", "modalities", "prediction", NULL
};


const char  *ngx_http_llm_cache_statuses[] = {
    "HIT", "COALESCED", "MISS", "EXPIRED", "REFRESH", "BYPASS"
};


/* llm_cache_zone zone=NAME:SIZE [max_entry=SIZE] */

char *
ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    char                   *rv;
    ngx_str_t              *value;
    ngx_uint_t              i;
    ngx_http_llm_store_t   *store, **sp;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "lifetime=", 9) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": the lifetime is "
                               "llm_cache_valid's", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    store = NULL;

    rv = ngx_http_llm_store_conf(cf, 1, &store);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (lmcf->caches == NULL) {
        lmcf->caches = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_llm_store_t *));
        if (lmcf->caches == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    sp = lmcf->caches->elts;

    for (i = 0; i < lmcf->caches->nelts; i++) {
        if (sp[i]->name.len == store->name.len
            && ngx_strncmp(sp[i]->name.data, store->name.data,
                           store->name.len) == 0)
        {
            return "is duplicate";
        }
    }

    sp = ngx_array_push(lmcf->caches);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    *sp = store;

    return NGX_CONF_OK;
}


/* llm_cache NAME | off */

char *
ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ngx_str_t  *value;

    if (llcf->cache.set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    llcf->cache.set = 1;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_null(&llcf->cache.zone);
        return NGX_CONF_OK;
    }

    llcf->cache.zone = value[1];

    return NGX_CONF_OK;
}


void
ngx_http_llm_cache_create_conf(ngx_http_llm_cache_conf_t *conf)
{
    conf->valid = NGX_CONF_UNSET;
    conf->bypass = NGX_CONF_UNSET_PTR;
    conf->no_cache = NGX_CONF_UNSET_PTR;
    conf->lock = NGX_CONF_UNSET;
    conf->lock_timeout = NGX_CONF_UNSET_MSEC;
    conf->scope = NGX_CONF_UNSET_PTR;
    conf->client_control = NGX_CONF_UNSET;
}


char *
ngx_http_llm_cache_merge_conf(ngx_conf_t *cf, ngx_http_llm_cache_conf_t *prev,
    ngx_http_llm_cache_conf_t *conf)
{
    ngx_uint_t                 i;
    ngx_http_llm_store_t     **sp;
    ngx_http_llm_main_conf_t  *lmcf;

    if (!conf->set) {
        conf->set = prev->set;
        conf->zone = prev->zone;
    }

    ngx_conf_merge_value(conf->valid, prev->valid, 3600);
    ngx_conf_merge_ptr_value(conf->bypass, prev->bypass, NULL);
    ngx_conf_merge_ptr_value(conf->no_cache, prev->no_cache, NULL);
    ngx_conf_merge_value(conf->lock, prev->lock, 0);
    ngx_conf_merge_msec_value(conf->lock_timeout, prev->lock_timeout, 30000);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);
    ngx_conf_merge_value(conf->client_control, prev->client_control, 1);

    conf->store = NULL;

    if (conf->zone.len == 0) {
        return NGX_CONF_OK;
    }

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    sp = lmcf->caches ? lmcf->caches->elts : NULL;

    for (i = 0; sp && i < lmcf->caches->nelts; i++) {
        if (sp[i]->name.len == conf->zone.len
            && ngx_strncmp(sp[i]->name.data, conf->zone.data,
                           conf->zone.len) == 0)
        {
            conf->store = sp[i];
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_cache \"%V\": no llm_cache_zone of that name",
                       &conf->zone);

    return NGX_CONF_ERROR;
}


/* the request's cache state, with its cleanup */

static ngx_http_llm_cache_req_t *
ngx_http_llm_cache_req(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_store_t *store)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_llm_cache_req_t  *cr;

    cr = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_cache_req_t));
    if (cr == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_llm_cache_cleanup;
    cln->data = cr;

    cr->request = r;
    cr->store = store;
    cr->max_age = -1;
    ngx_queue_init(&cr->waiters);

    ctx->cache = cr;

    return cr;
}


/*
 * Before the attempts: NGX_DECLINED (go upstream), NGX_DONE (answered
 * from the cache, or waiting for the leader), NGX_ERROR.
 */

ngx_int_t
ngx_http_llm_cache_start(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t                  rc;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_cache_req_t  *cr;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->cache.store == NULL
        || (ctx->op != &ngx_http_llm_chat_op && ctx->op->cached == NULL))
    {
        return NGX_DECLINED;
    }

    cr = ngx_http_llm_cache_req(r, ctx, llcf->cache.store);
    if (cr == NULL) {
        return NGX_ERROR;
    }

    cr->write = 1;
    cr->status = NGX_HTTP_LLM_CACHE_MISS;

    rc = ngx_http_llm_cache_client(r, cr);

    if (rc == NGX_OK && ctx->op->cached) {
        /* the operation keeps its answers in parts */
        return ctx->op->cached(r, ctx);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_llm_cache_key(r, ctx, cr, body);
    }

    if (rc == NGX_DECLINED) {
        /* bypassed: neither read nor written */
        cr->status = NGX_HTTP_LLM_CACHE_BYPASS;
        cr->write = 0;

        return (ngx_http_llm_cache_status_header(r, cr) == NGX_OK)
               ? NGX_DECLINED : NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (cr->status != NGX_HTTP_LLM_CACHE_REFRESH) {
        rc = ngx_http_llm_cache_lookup(r, ctx, cr);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_llm_cache_miss(r, ctx, cr);
}


/*
 * The operator's conditions and the client's Cache-Control: NGX_OK,
 * NGX_DECLINED (bypass); cr->status REFRESH skips the lookup
 */

static ngx_int_t
ngx_http_llm_cache_client(ngx_http_request_t *r, ngx_http_llm_cache_req_t *cr)
{
    u_char                   *p, *end;
    ngx_int_t                 n;
    ngx_table_elt_t          *h;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (ngx_http_test_predicates(r, llcf->cache.bypass) == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    if (ngx_http_test_predicates(r, llcf->cache.no_cache) == NGX_DECLINED) {
        cr->write = 0;
    }

    if (!llcf->cache.client_control) {
        return NGX_OK;
    }

    h = ngx_http_llm_header_in(r, "cache-control",
                               sizeof("cache-control") - 1);
    if (h == NULL) {
        return NGX_OK;
    }

    p = h->value.data;
    end = p + h->value.len;

    if (ngx_strlcasestrn(p, end, (u_char *) "no-store", 8 - 1)) {
        return NGX_DECLINED;
    }

    if (ngx_strlcasestrn(p, end, (u_char *) "no-cache", 8 - 1)) {
        cr->status = NGX_HTTP_LLM_CACHE_REFRESH;
    }

    p = ngx_strlcasestrn(p, end, (u_char *) "max-age=", 8 - 1);

    if (p) {
        p += 8;

        for (end = p; end < h->value.data + h->value.len
                      && *end >= '0' && *end <= '9'; end++)
        {
            /* void */
        }

        n = ngx_atoi(p, end - p);

        if (n != NGX_ERROR) {
            cr->max_age = n;
        }
    }

    return NGX_OK;
}


/* SHA-256 as the canonical form is fed */

static void
ngx_http_llm_cache_feed(void *data, const char *p, size_t n)
{
    (void) EVP_DigestUpdate(data, p, n);
}


/*
 * SHA-256, fetched once per worker: OpenSSL 3 looks the implementation
 * up at every EVP_DigestInit_ex() of EVP_sha256(), a third of a key's cost
 */

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
static EVP_MD      *ngx_http_llm_cache_evp;
#endif

/* one digest at a time in a worker: its context is kept */
static EVP_MD_CTX  *ngx_http_llm_cache_evp_ctx;


static const EVP_MD *
ngx_http_llm_cache_sha256(void)
{
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    if (ngx_http_llm_cache_evp == NULL) {
        ngx_http_llm_cache_evp = EVP_MD_fetch(NULL, "SHA256", NULL);
    }

    if (ngx_http_llm_cache_evp) {
        return ngx_http_llm_cache_evp;
    }
#endif

    return EVP_sha256();
}


/* the process ends: what the digests kept goes */

void
ngx_http_llm_cache_exit(void)
{
    EVP_MD_CTX_free(ngx_http_llm_cache_evp_ctx);
    ngx_http_llm_cache_evp_ctx = NULL;

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MD_free(ngx_http_llm_cache_evp);
    ngx_http_llm_cache_evp = NULL;
#endif
}


/*
 * A key's digest begun: the operation and the scope, each apart, so that
 * no scope can pass for another's; NULL: no memory
 */

static EVP_MD_CTX *
ngx_http_llm_cache_md(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_str_t                 scope;
    EVP_MD_CTX               *md;
    ngx_http_llm_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->cache.scope) {
        if (ngx_http_complex_value(r, llcf->cache.scope, &scope) != NGX_OK) {
            return NULL;
        }

    } else {
        (void) ngx_http_llm_client_key(r, &scope);
    }

    if (ngx_http_llm_cache_evp_ctx == NULL) {
        ngx_http_llm_cache_evp_ctx = EVP_MD_CTX_new();
        if (ngx_http_llm_cache_evp_ctx == NULL) {
            return NULL;
        }
    }

    md = ngx_http_llm_cache_evp_ctx;

    if (EVP_DigestInit_ex(md, ngx_http_llm_cache_sha256(), NULL) != 1) {
        return NULL;
    }

    ngx_http_llm_cache_feed(md, ctx->op->name, ngx_strlen(ctx->op->name) + 1);
    ngx_http_llm_cache_feed(md, (char *) &scope.len, sizeof(size_t));
    ngx_http_llm_cache_feed(md, (char *) scope.data, scope.len);

    return md;
}


/* the key: NGX_OK, NGX_DECLINED (the request is not one to keep) */

static ngx_int_t
ngx_http_llm_cache_key(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_req_t *cr, ngx_str_t *body)
{
    int          rc;
    EVP_MD_CTX  *md;

    md = ngx_http_llm_cache_md(r, ctx);
    if (md == NULL) {
        return NGX_ERROR;
    }

    /* what the answer cannot carry (logprobs) is not kept: declined */
    rc = llm_cache_key((char *) body->data, body->len,
                       ngx_http_llm_cache_skip, ngx_http_llm_cache_avoid,
                       ngx_http_llm_cache_feed, md);

    rc = (rc == LLM_OK && EVP_DigestFinal_ex(md, cr->hash, NULL) == 1)
         ? NGX_OK : (rc == LLM_DECLINED ? NGX_DECLINED : NGX_ERROR);

    if (rc != NGX_OK) {
        return rc;
    }

    cr->key.data = cr->hash;
    cr->key.len = SHA256_DIGEST_LENGTH;

    cr->hash[SHA256_DIGEST_LENGTH] = 'L';
    cr->lock_key.data = cr->hash;
    cr->lock_key.len = SHA256_DIGEST_LENGTH + 1;

    return NGX_OK;
}


/*
 * Entries for parts of an answer (the vectors of embeddings, each input
 * its own): a part's key from what makes it, its entry, its keeping.
 */

ngx_int_t
ngx_http_llm_cache_part_key(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *parts, ngx_uint_t n, u_char *key)
{
    ngx_uint_t   i;
    EVP_MD_CTX  *md;

    md = ngx_http_llm_cache_md(r, ctx);
    if (md == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        ngx_http_llm_cache_feed(md, (char *) &parts[i].len, sizeof(size_t));
        ngx_http_llm_cache_feed(md, (char *) parts[i].data, parts[i].len);
    }

    return (EVP_DigestFinal_ex(md, key, NULL) == 1) ? NGX_OK : NGX_ERROR;
}


/* NGX_OK: the part's entry is in value; NGX_DECLINED: none to use */

ngx_int_t
ngx_http_llm_cache_part_get(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *key, ngx_str_t *value)
{
    time_t                     age;
    ngx_int_t                  rc;
    ngx_str_t                  k;
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    if (cr->status == NGX_HTTP_LLM_CACHE_REFRESH) {
        return NGX_DECLINED;
    }

    k.data = key;
    k.len = SHA256_DIGEST_LENGTH;

    rc = cr->store->ops->get(cr->store, &k, r->pool, value, &age);

    if (rc != NGX_OK || (cr->max_age >= 0 && age > cr->max_age)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


void
ngx_http_llm_cache_part_put(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *key, ngx_str_t *value)
{
    ngx_str_t                  k;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    if (!cr->write) {
        return;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    k.data = key;
    k.len = SHA256_DIGEST_LENGTH;

    (void) cr->store->ops->put(cr->store, &k, value, llcf->cache.valid);
}


/* hits of total parts were found: the status, X-LLM-Cache-Parts */

ngx_int_t
ngx_http_llm_cache_parts(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t hits, ngx_uint_t total)
{
    u_char                    *p;
    ngx_str_t                  value;
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    if (hits == total) {
        cr->status = NGX_HTTP_LLM_CACHE_HIT;
        ctx->cache_hit = 1;

    } else if (cr->status != NGX_HTTP_LLM_CACHE_REFRESH) {
        cr->status = NGX_HTTP_LLM_CACHE_MISS;
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%ui/%ui", hits, total) - p;

    if (ngx_http_llm_add_header(r, &r->headers_out.headers,
                                "X-LLM-Cache-Parts", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_llm_cache_status_header(r, cr);
}


/* X-LLM-Cache on the answer, whichever it is */

ngx_int_t
ngx_http_llm_cache_status_header(ngx_http_request_t *r,
    ngx_http_llm_cache_req_t *cr)
{
    ngx_str_t  value;

    value.data = (u_char *) ngx_http_llm_cache_statuses[cr->status];
    value.len = ngx_strlen(value.data);

    return ngx_http_llm_add_header(r, &r->headers_out.headers, "X-LLM-Cache",
                                   &value);
}


/* NGX_DONE: answered; NGX_DECLINED: none, or too old (cr->status says) */

ngx_int_t
ngx_http_llm_cache_lookup(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_req_t *cr)
{
    time_t     age;
    ngx_int_t  rc;
    ngx_str_t  entry;

    rc = cr->store->ops->get(cr->store, &cr->key, r->pool, &entry, &age);

    if (rc == NGX_ERROR) {
        /* the cache never fails a request: go without it */
        return NGX_DECLINED;
    }

    if (rc == NGX_DONE) {
        cr->status = NGX_HTTP_LLM_CACHE_EXPIRED;
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return NGX_DECLINED;
    }

    if (cr->max_age >= 0 && age > cr->max_age) {
        cr->status = NGX_HTTP_LLM_CACHE_EXPIRED;
        return NGX_DECLINED;
    }

    if (cr->status == NGX_HTTP_LLM_CACHE_MISS) {
        cr->status = NGX_HTTP_LLM_CACHE_HIT;
    }

    rc = ngx_http_llm_cache_send(r, ctx, &entry, age);

    if (rc == NGX_DECLINED) {
        /* an entry this build cannot read: answered afresh */
        cr->status = NGX_HTTP_LLM_CACHE_MISS;
        return NGX_DECLINED;
    }

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * The model name an answer was given with (a route's answers name the
 * model that served), copied: the record may move as it grows
 */

char *
ngx_http_llm_cache_model(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *p, size_t n)
{
    u_char      *name;
    size_t       len;
    const char  *model;

    if (llm_record_model(p, n, &model, &len) != LLM_OK) {
        return (char *) ctx->route->name.data;
    }

    name = ngx_pnalloc(r->pool, len + 1);
    if (name == NULL) {
        return NULL;
    }

    *ngx_cpymem(name, model, len) = '\0';

    return (char *) name;
}


/*
 * An entry as the client's answer, stream or not: NGX_DECLINED when it
 * cannot be read, else what sending returned
 */

static ngx_int_t
ngx_http_llm_cache_send(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *entry, time_t age)
{
    char                      *model;
    u_char                    *p;
    ngx_str_t                  value;
    llm_record_cursor_t        cur;
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    model = ngx_http_llm_cache_model(r, ctx, (char *) entry->data,
                                     entry->len);
    if (model == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    llm_response_init(&ctx->resp, model, ctx->req.include_usage);

    if (ctx->op->writer) {
        ctx->resp.writer = ctx->op->writer;
    }

    if (!ctx->stream) {
        llm_response_whole(&ctx->resp);
    }

    llm_buf_reset(&ctx->out);
    ngx_memzero(&cur, sizeof(llm_record_cursor_t));

    if (llm_record_replay(entry->data ? (char *) entry->data : "", entry->len,
                          &cur, 1, &ctx->resp, &ctx->out, &cr->scratch)
        != LLM_DONE)
    {
        llm_response_init(&ctx->resp, NULL, 0);
        return NGX_DECLINED;
    }

    ctx->cache_hit = 1;

    if (ngx_http_llm_cache_status_header(r, cr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%T", age) - p;

    if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Age", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->stream) {
        return ngx_http_llm_send_json(r, NGX_HTTP_OK, &ctx->out);
    }

    return ngx_http_llm_send_events(r, &ctx->out);
}


/* an attempt starts: a miss to keep records its events, afresh */

void
ngx_http_llm_cache_attempt(ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    if (cr == NULL || !cr->write) {
        return;
    }

    llm_record_reset(&cr->record);
    ctx->resp.record = &cr->record;
}


/* the leader's last attempt ended with rc: the answer kept if it may be */

void
ngx_http_llm_cache_end(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_str_t                  value;
    ngx_uint_t                 answered;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_cache_req_t  *cr;

    cr = ctx->cache;

    if (cr == NULL || ctx->resp.record == NULL) {
        return;
    }

    ctx->resp.record = NULL;

    answered = ctx->resp.done && !ctx->resp.failed
               && rc != NGX_HTTP_CLIENT_CLOSED_REQUEST
               && rc < NGX_HTTP_SPECIAL_RESPONSE && rc != NGX_ERROR
               && llm_record_complete(&cr->record);

    if (answered && cr->write) {
        llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

        value.data = (u_char *) cr->record.buf.data;
        value.len = cr->record.buf.len;

        if (cr->store->ops->put(cr->store, &cr->key, &value,
                                llcf->cache.valid)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm: an answer of %uz bytes was not cached: "
                          "over max_entry or no room in \"%V\"",
                          value.len, &cr->store->name);
        }
    }

    ngx_http_llm_cache_release(cr, answered);
}


static void
ngx_http_llm_cache_cleanup(void *data)
{
    ngx_http_llm_cache_req_t  *cr = data;

    if (cr->wait_ev.timer_set) {
        ngx_del_timer(&cr->wait_ev);
    }

    if (cr->wait_ev.posted) {
        ngx_delete_posted_event(&cr->wait_ev);
    }

    if (cr->leader) {
        ngx_queue_remove(&cr->queue);
        cr->leader = NULL;
    }

    /* a leader that went without an end: its waiters go on without it */
    ngx_http_llm_cache_release(cr, 0);

    llm_record_free(&cr->record);
    llm_buf_free(&cr->scratch);
}


/* $llm_cache_status, the metrics: NGX_HTTP_LLM_CACHE_*, or -1 (none) */

ngx_int_t
ngx_http_llm_cache_status(ngx_http_llm_ctx_t *ctx)
{
    return ctx->cache ? (ngx_int_t) ctx->cache->status : -1;
}
