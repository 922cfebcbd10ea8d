/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Models and routes: llm_model (a concrete model: provider + upstream
 * model, its router metadata, its embedding parameters) and llm_alias;
 * a route's name stands for an ordered list of candidates (each a
 * concrete llm_model).
 *
 *   llm_model fast candidates=groq-llama,claude;          fallback chain
 *   llm_model pool candidates=a,b weights=3,1;            load balancing
 *   llm_model cheap candidates=a,b,c strategy=cost;       router
 *   llm_alias gpt gpt-4o;                                 one candidate
 *
 * A candidate must be defined before the route that names it, so routes
 * cannot form cycles; a route naming a route takes its candidates.
 * Per request the candidates are put in order here; the attempts walk
 * that order (ngx_http_llm_attempt.c).
 */

#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_model_embedding(ngx_conf_t *cf,
    ngx_http_llm_model_t *m);
static u_char *ngx_http_llm_task_types(ngx_conf_t *cf,
    const llm_embed_dialect_t *d);
static ngx_int_t ngx_http_llm_cstr(ngx_conf_t *cf, ngx_str_t *s);
static ngx_int_t ngx_http_llm_route_add(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_model_t *m,
    ngx_str_t *name, ngx_uint_t **cands, ngx_uint_t *n);
static ngx_int_t ngx_http_llm_price(ngx_str_t *v);
static ngx_int_t ngx_http_llm_route_key(ngx_http_request_t *r,
    ngx_http_llm_model_t *route, ngx_http_llm_model_t *m);


/* a new model of that name (nginx -t refuses a duplicate), metadata unset */

ngx_http_llm_model_t *
ngx_http_llm_add_model(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_str_t *name)
{
    ngx_uint_t             i;
    ngx_http_llm_model_t  *m;

    m = lmcf->models.elts;
    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].name.len == name->len
            && ngx_strncmp(m[i].name.data, name->data, name->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate llm_model \"%V\"", name);
            return NULL;
        }
    }

    m = ngx_array_push(&lmcf->models);
    if (m == NULL) {
        return NULL;
    }

    ngx_memzero(m, sizeof(ngx_http_llm_model_t));

    /* conf arguments are NUL-terminated: the name is a C string too */
    m->name = *name;
    m->price_in = NGX_HTTP_LLM_UNSET;
    m->price_out = NGX_HTTP_LLM_UNSET;
    m->tier = NGX_HTTP_LLM_UNSET;
    m->context = NGX_HTTP_LLM_UNSET;
    m->ttft = NGX_HTTP_LLM_UNSET;
    m->price_cached = NGX_HTTP_LLM_UNSET;

    return m;
}


/*
 * llm_model NAME provider=P [upstream_model=M] [max_tokens=N]
 *           [price_in=X] [price_out=Y] [price_cached=Z] [tier=N]
 *           [context=N] [ttft=T] [rpm=N] [tpm=N] [type=chat|embedding]
 *           [batch=N] [task_type=T] [dimensions=N]
 * llm_model NAME candidates=A,B,... [weights=W,...]
 *           [strategy=order|weighted|cost|speed|quality]
 */

char *
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
            || type.len || m->batch || m->dimensions || m->task_type.len
            || m->rpm || m->tpm)
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


typedef struct {
    char        *name;
    ngx_uint_t   strategy;
} ngx_http_llm_strategy_t;


static ngx_http_llm_strategy_t  ngx_http_llm_strategies[] = {
    { "order", NGX_HTTP_LLM_ORDER },
    { "weighted", NGX_HTTP_LLM_WEIGHTED },
    { "cost", NGX_HTTP_LLM_COST },
    { "speed", NGX_HTTP_LLM_SPEED },
    { "quality", NGX_HTTP_LLM_QUALITY },
    { NULL, 0 }
};


/*
 * One llm_model parameter beyond provider=, upstream_model= and
 * max_tokens=; NGX_DECLINED: not one of ours.
 */

ngx_int_t
ngx_http_llm_model_param(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m, ngx_str_t *param)
{
    u_char                   *p, *last, *start;
    ngx_int_t                 n, *field;
    ngx_str_t                 v, item;
    ngx_uint_t                i, *cands, ncands, set;
    ngx_http_llm_strategy_t  *st;

    if (ngx_strncmp(param->data, "candidates=", 11) == 0) {
        v.data = param->data + 11;
        v.len = param->len - 11;

        cands = NULL;
        ncands = 0;
        last = v.data + v.len;

        for (start = v.data; start <= last; start = p + 1) {
            p = ngx_strlchr(start, last, ',');
            if (p == NULL) {
                p = last;
            }

            item.data = start;
            item.len = p - start;

            if (ngx_http_llm_route_add(cf, lmcf, m, &item, &cands, &ncands)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        m->cands = cands;
        m->ncands = ncands;

        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "weights=", 8) == 0) {
        v.data = param->data + 8;
        v.len = param->len - 8;
        last = v.data + v.len;

        /* at most one weight a candidate; checked against them later */
        m->weights = ngx_pcalloc(cf->pool, (v.len / 2 + 1)
                                           * sizeof(ngx_uint_t));
        if (m->weights == NULL) {
            return NGX_ERROR;
        }

        i = 0;

        for (start = v.data; start <= last; start = p + 1) {
            p = ngx_strlchr(start, last, ',');
            if (p == NULL) {
                p = last;
            }

            n = ngx_atoi(start, p - start);

            if (n == NGX_ERROR || n == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in llm_model \"%V\"",
                                   param, &m->name);
                return NGX_ERROR;
            }

            m->weights[i++] = n;
        }

        m->nweights = i;
        m->strategy = NGX_HTTP_LLM_WEIGHTED;

        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "strategy=", 9) == 0) {
        for (st = ngx_http_llm_strategies; st->name; st++) {
            if (param->len - 9 == ngx_strlen(st->name)
                && ngx_strncmp(param->data + 9, st->name, param->len - 9)
                   == 0)
            {
                m->strategy = st->strategy;
                return NGX_OK;
            }
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" in llm_model \"%V\" (known: "
                           "order, weighted, cost, speed, quality)",
                           param, &m->name);
        return NGX_ERROR;
    }

    field = NULL;
    set = 0;
    v.len = 0;
    v.data = NULL;

    if (ngx_strncmp(param->data, "price_in=", 9) == 0) {
        field = &m->price_in;
        v.data = param->data + 9;
        v.len = param->len - 9;
        set = 1;

    } else if (ngx_strncmp(param->data, "price_out=", 10) == 0) {
        field = &m->price_out;
        v.data = param->data + 10;
        v.len = param->len - 10;
        set = 1;

    } else if (ngx_strncmp(param->data, "price_cached=", 13) == 0) {
        field = &m->price_cached;
        v.data = param->data + 13;
        v.len = param->len - 13;
        set = 1;

    } else if (ngx_strncmp(param->data, "rpm=", 4) == 0
               || ngx_strncmp(param->data, "tpm=", 4) == 0)
    {
        field = (param->data[0] == 'r') ? &m->rpm : &m->tpm;
        v.data = param->data + 4;
        v.len = param->len - 4;
        set = 3;

    } else if (ngx_strncmp(param->data, "tier=", 5) == 0) {
        field = &m->tier;
        v.data = param->data + 5;
        v.len = param->len - 5;

    } else if (ngx_strncmp(param->data, "context=", 8) == 0) {
        field = &m->context;
        v.data = param->data + 8;
        v.len = param->len - 8;

    } else if (ngx_strncmp(param->data, "ttft=", 5) == 0) {
        field = &m->ttft;
        v.data = param->data + 5;
        v.len = param->len - 5;
        set = 2;
    }

    if (field == NULL) {
        return NGX_DECLINED;
    }

    if (set == 1) {
        n = ngx_http_llm_price(&v);

    } else if (set == 2) {
        n = ngx_parse_time(&v, 0);
        if (n == 0) {
            n = 1;
        }

    } else {
        n = ngx_atoi(v.data, v.len);
    }

    if (n == NGX_ERROR || (set == 3 && n == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" in llm_model \"%V\"",
                           param, &m->name);
        return NGX_ERROR;
    }

    *field = n;

    return NGX_OK;
}


/* a price like "2.50" in units of 1/10000 */

static ngx_int_t
ngx_http_llm_price(ngx_str_t *v)
{
    return ngx_atofp(v->data, v->len, 4);
}


static ngx_int_t
ngx_http_llm_route_add(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m, ngx_str_t *name, ngx_uint_t **cands,
    ngx_uint_t *n)
{
    ngx_uint_t             i, j, k, add, *nc;
    ngx_http_llm_model_t  *models;

    models = lmcf->models.elts;

    /* the last element is m itself: it cannot name itself */
    for (i = 0; i + 1 < lmcf->models.nelts; i++) {
        if (models[i].name.len == name->len
            && ngx_strncmp(models[i].name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (i + 1 >= lmcf->models.nelts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\" names unknown candidate \"%V\" "
                           "(a model must be defined before the routes "
                           "that use it)", &m->name, name);
        return NGX_ERROR;
    }

    /* the first candidate says what the route serves; the others agree */

    if (*n == 0) {
        m->embedding = models[i].embedding;

    } else if (m->embedding != models[i].embedding) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\" mixes chat and embedding "
                           "models: \"%V\" is %s model, the candidates "
                           "before it are not", &m->name, name,
                           models[i].embedding ? "an embedding" : "a chat");
        return NGX_ERROR;
    }

    add = models[i].provider ? 1 : models[i].ncands;

    nc = ngx_palloc(cf->pool, (*n + add) * sizeof(ngx_uint_t));
    if (nc == NULL) {
        return NGX_ERROR;
    }

    if (*n) {
        ngx_memcpy(nc, *cands, *n * sizeof(ngx_uint_t));
    }

    for (j = 0; j < add; j++) {
        k = models[i].provider ? i : models[i].cands[j];

        nc[*n] = k;
        (*n)++;
    }

    *cands = nc;

    return NGX_OK;
}


/* after all parameters of one llm_model */

char *
ngx_http_llm_model_check(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m)
{
    if (m->weights) {
        if (m->ncands == 0) {
            return "has weights= without candidates=";
        }

        if (m->nweights != m->ncands) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\" has %ui weights for %ui "
                               "candidates", &m->name, m->nweights,
                               m->ncands);
            return NGX_CONF_ERROR;
        }
    }

    if (m->ncands && m->provider) {
        return "takes either provider= or candidates=, not both";
    }

    if (m->ncands == 0 && m->strategy != NGX_HTTP_LLM_ORDER) {
        return "has strategy= without candidates=";
    }

    return NGX_CONF_OK;
}


/* llm_alias NAME MODEL: a route with one candidate */

char *
ngx_http_llm_alias(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_str_t             *value;
    ngx_http_llm_model_t  *m;

    value = cf->args->elts;

    m = ngx_http_llm_add_model(cf, lmcf, &value[1]);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_route_add(cf, lmcf, m, &value[2], &m->cands,
                               &m->ncands)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a model can serve: its provider, or one candidate's, has a key */

ngx_uint_t
ngx_http_llm_model_enabled(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m)
{
    ngx_uint_t             i;
    ngx_http_llm_model_t  *models;

    if (m->provider) {
        return !m->provider->disabled;
    }

    models = lmcf->models.elts;

    for (i = 0; i < m->ncands; i++) {
        if (!models[m->cands[i]].provider->disabled) {
            return 1;
        }
    }

    return 0;
}


/*
 * This request's candidates, best first: disabled providers (no key)
 * and pass-through providers without a client key are left out.
 * Strategies sort stably, so ties keep the configured order.
 */

ngx_int_t
ngx_http_llm_route_order(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t                  key, k;
    ngx_str_t                  client_key;
    ngx_uint_t                 i, j, n, w, total, pick, t, *order;
    ngx_http_llm_model_t      *route, *models, *m;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;
    route = ctx->route;

    n = route->provider ? 1 : route->ncands;

    order = ngx_palloc(r->pool, n * sizeof(ngx_uint_t));
    if (order == NULL) {
        return NGX_ERROR;
    }

    ctx->order = order;
    ctx->norder = 0;

    for (i = 0; i < n; i++) {
        m = route->provider ? route : &models[route->cands[i]];

        if (m->provider->disabled
            || (m->provider->key_passthrough
                && ngx_http_llm_client_key(r, &client_key) != NGX_OK))
        {
            continue;
        }

        order[ctx->norder++] = route->provider ? (ngx_uint_t) (m - models)
                                               : route->cands[i];
    }

    n = ctx->norder;

    if (n < 2) {
        return NGX_OK;
    }

    switch (route->strategy) {

    case NGX_HTTP_LLM_WEIGHTED:

        /* a weighted pick goes first; the others follow in order */

        total = 0;

        for (i = 0; i < route->ncands; i++) {
            total += route->weights ? route->weights[i] : 1;
        }

        pick = (ngx_uint_t) ngx_random() % total;

        for (i = 0; i < route->ncands; i++) {
            w = route->weights ? route->weights[i] : 1;

            if (pick < w) {
                break;
            }

            pick -= w;
        }

        for (j = 0; j < n; j++) {
            if (order[j] == route->cands[i]) {
                t = order[j];
                ngx_memmove(&order[1], &order[0], j * sizeof(ngx_uint_t));
                order[0] = t;
                break;
            }
        }

        break;

    case NGX_HTTP_LLM_COST:
    case NGX_HTTP_LLM_SPEED:
    case NGX_HTTP_LLM_QUALITY:

        /* insertion sort: stable, and n is small */

        for (i = 1; i < n; i++) {
            t = order[i];
            key = ngx_http_llm_route_key(r, route, &models[t]);

            for (j = i; j > 0; j--) {
                k = ngx_http_llm_route_key(r, route, &models[order[j - 1]]);

                if (k <= key) {
                    break;
                }

                order[j] = order[j - 1];
            }

            order[j] = t;
        }

        break;

    default:
        break;
    }

    return NGX_OK;
}


/* the sort key of a candidate under the route's strategy: lower first */

static ngx_int_t
ngx_http_llm_route_key(ngx_http_request_t *r, ngx_http_llm_model_t *route,
    ngx_http_llm_model_t *m)
{
    ngx_msec_t  ms;

    switch (route->strategy) {

    case NGX_HTTP_LLM_COST:
        if (m->price_in == NGX_HTTP_LLM_UNSET
            && m->price_out == NGX_HTTP_LLM_UNSET)
        {
            return NGX_MAX_INT_T_VALUE;
        }

        /* the blended price: input and output per million tokens */
        return ngx_max(m->price_in, 0) + ngx_max(m->price_out, 0);

    case NGX_HTTP_LLM_QUALITY:
        return (m->tier == NGX_HTTP_LLM_UNSET) ? 0 : -m->tier;

    default: /* NGX_HTTP_LLM_SPEED */
        ms = ngx_http_llm_ttft_get(r, m);
        return ms ? (ngx_int_t) ms : NGX_MAX_INT_T_VALUE;
    }
}
