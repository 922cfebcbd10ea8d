/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Prometheus metrics, counted in shared memory by all workers and kept
 * over reloads:
 *
 *   llm_metrics zone=llm_metrics:1m;            (http)
 *   location = /metrics { llm_metrics_export; }
 *
 * One slot per configured model and per provider, keyed by name: label
 * values come only from the configuration (model and provider names,
 * status classes, fixed outcome words), so no client can add a series.
 * A request is counted once, in the log phase, under the model that
 * served it (the last one tried); a request no model was chosen for
 * (an unknown model, a bad body) is counted by its status class alone.
 * Each attempt is counted under its provider with its outcome.  Times
 * are kept in milliseconds and exported in seconds; the histograms'
 * buckets run from milliseconds to minutes, the token histogram's from
 * 1 to 64M in powers of 4, as OpenTelemetry's GenAI conventions advise.
 * The status page and its JSON view are ngx_http_llm_status.c's.
 */

#include "ngx_http_llm_metrics.h"


/* status classes of requests */
const char  *ngx_http_llm_status_names[NGX_HTTP_LLM_STATUSES] = {
    "2xx", "3xx", "4xx", "5xx", "499"
};

/* the label values of NGX_HTTP_LLM_CACHE_*, as Prometheus writes them */
const char  *ngx_http_llm_cache_metric_names[NGX_HTTP_LLM_CACHE_STATUSES] = {
    "hit", "coalesced", "miss", "expired", "refresh", "bypass"
};


/* outcomes of attempts, as $llm_attempts words them */
const char  *ngx_http_llm_outcome_names[NGX_HTTP_LLM_OUTCOMES] = {
    "ok", "4xx", "429", "5xx", "error", "timeout", "first_token_timeout",
    "deadline", "stream_error", "client_closed"
};


/* seconds, as milliseconds */
const ngx_msec_t  ngx_http_llm_time_buckets[NGX_HTTP_LLM_TIME_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    120000, 300000
};


/* time per output token, in microseconds */
const ngx_msec_t  ngx_http_llm_tpot_buckets[NGX_HTTP_LLM_TPOT_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000
};


/* the GenAI conventions' histograms: where each is in a slot */

static const struct {
    const char        *name;
    const char        *help;
    size_t             offset;        /* of its ngx_http_llm_histogram_t */
    const ngx_msec_t  *bounds;
    ngx_uint_t         n;
    ngx_uint_t         micro;         /* µs, else ms */
} ngx_http_llm_families[] = {
    { "gen_ai_server_request_duration_seconds",
      "Time from the request to the end of its answer, answered requests.",
      offsetof(ngx_http_llm_metrics_slot_t, duration),
      ngx_http_llm_time_buckets, NGX_HTTP_LLM_TIME_BUCKETS, 0 },
    { "gen_ai_server_time_to_first_token_seconds",
      "Time from the request to the first token of a stream.",
      offsetof(ngx_http_llm_metrics_slot_t, ttft),
      ngx_http_llm_time_buckets, NGX_HTTP_LLM_TIME_BUCKETS, 0 },
    { "gen_ai_server_time_per_output_token_seconds",
      "Time per output token after the first, for streams.",
      offsetof(ngx_http_llm_metrics_slot_t, tpot),
      ngx_http_llm_tpot_buckets, NGX_HTTP_LLM_TPOT_BUCKETS, 1 },
};

#define NGX_HTTP_LLM_FAMILIES                                                \
    (sizeof(ngx_http_llm_families) / sizeof(ngx_http_llm_families[0]))


static ngx_int_t ngx_http_llm_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_metrics_handler(ngx_http_request_t *r);



/* llm_metrics zone=NAME:SIZE */

char *
ngx_http_llm_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (lmcf->metrics_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "zone=", 5) != 0) {
        return "needs zone=NAME:SIZE";
    }

    s.data = value[1].data + 5;
    s.len = value[1].len - 5;

    if (ngx_http_llm_zone_parse(cf, &s, &name, &size,
                                sizeof(ngx_http_llm_metrics_sh_t)
                                + 8 * ngx_pagesize)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in llm_metrics (at "
                           "least %uzk)", &value[1],
                           (sizeof(ngx_http_llm_metrics_sh_t)
                            + 8 * ngx_pagesize) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    lmcf->metrics_zone = ngx_http_llm_zone_add(cf, "llm_metrics", &name, size,
                                     sizeof(ngx_http_llm_metrics_sh_t));
    if (lmcf->metrics_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* llm_metrics_export */

char *
ngx_http_llm_metrics_export(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_llm_main_conf_t  *lmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_metrics_handler;

    /* that llm_metrics is there is checked once the http block is read */
    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);
    lmcf->metrics_shown = 1;

    return NGX_CONF_OK;
}


/* the log phase counts every request of an llm location */

ngx_int_t
ngx_http_llm_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_llm_main_conf_t   *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    if (lmcf->metrics_zone == NULL) {

        if (lmcf->metrics_shown) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_metrics_export and llm_status need "
                          "\"llm_metrics zone=NAME:SIZE\" in the http "
                          "block");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_llm_metrics_log;

    return NGX_OK;
}


/* the slot of a name, made on first use; NULL when the table is full */

static ngx_http_llm_metrics_slot_t *
ngx_http_llm_metrics_slot(ngx_http_llm_metrics_sh_t *sh, ngx_str_t *name,
    ngx_uint_t kind)
{
    uint32_t                      key;
    ngx_uint_t                    i;
    ngx_http_llm_metrics_slot_t  *s;

    key = ngx_crc32_short(name->data, name->len);

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->key == key && s->kind == kind && s->name_len == name->len
            && ngx_memcmp(s->name, name->data, name->len) == 0)
        {
            return s;
        }
    }

    if (sh->n == NGX_HTTP_LLM_METRICS_SLOTS || name->len > sizeof(s->name)) {
        return NULL;
    }

    s = &sh->slots[sh->n++];

    ngx_memzero(s, sizeof(ngx_http_llm_metrics_slot_t));
    s->key = key;
    s->kind = kind;
    s->name_len = name->len;
    ngx_memcpy(s->name, name->data, name->len);

    return s;
}


static void
ngx_http_llm_histogram_add(ngx_http_llm_histogram_t *h,
    const ngx_msec_t *bounds, ngx_uint_t n, ngx_msec_t v)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (v <= bounds[i]) {
            h->buckets[i]++;
            break;
        }
    }

    h->count++;
    h->sum += v;
}


static void
ngx_http_llm_tokens_add(ngx_http_llm_token_histogram_t *h, long long v)
{
    ngx_uint_t  i;
    uint64_t    bound;

    if (v < 0) {
        return;
    }

    for (i = 0, bound = 1; i < NGX_HTTP_LLM_TOKEN_BUCKETS; i++, bound *= 4) {
        if ((uint64_t) v <= bound) {
            h->buckets[i]++;
            break;
        }
    }

    h->count++;
    h->sum += v;
}


/* an attempt's outcome, as $llm_attempts has it */

void
ngx_http_llm_metrics_attempt(ngx_http_request_t *r,
    ngx_http_llm_provider_t *p, ngx_str_t *what)
{
    ngx_int_t                     status;
    ngx_uint_t                    i, o;
    ngx_http_llm_zone_t          *z;
    ngx_http_llm_metrics_slot_t  *s;
    ngx_http_llm_main_conf_t     *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->metrics_zone;

    if (z == NULL) {
        return;
    }

    status = ngx_atoi(what->data, what->len);

    if (status == 499) {
        o = 9;

    } else if (status >= 200 && status < 400) {
        o = 0;

    } else if (status == 429) {
        o = 2;

    } else if (status >= 400 && status < 500) {
        o = 1;

    } else if (status >= 500) {
        o = 3;

    } else {
        o = 4;

        for (i = 4; i < NGX_HTTP_LLM_OUTCOMES; i++) {
            if (what->len == ngx_strlen(ngx_http_llm_outcome_names[i])
                && ngx_strncmp(what->data, ngx_http_llm_outcome_names[i],
                               what->len) == 0)
            {
                o = i;
                break;
            }
        }
    }

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_metrics_slot(z->state, &p->name,
                                  NGX_HTTP_LLM_MSLOT_PROVIDER);
    if (s) {
        s->attempts[o]++;
    }

    ngx_http_llm_zone_unlock(z);
}


/* a failed attempt: the same provider again, or the next candidate */

void
ngx_http_llm_metrics_next(ngx_http_request_t *r, ngx_http_llm_provider_t *p,
    ngx_uint_t fallback)
{
    ngx_http_llm_zone_t          *z;
    ngx_http_llm_metrics_slot_t  *s;
    ngx_http_llm_main_conf_t     *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->metrics_zone;

    if (z == NULL) {
        return;
    }

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_metrics_slot(z->state, &p->name,
                                  NGX_HTTP_LLM_MSLOT_PROVIDER);
    if (s) {
        if (fallback) {
            s->fallbacks++;

        } else {
            s->retries++;
        }
    }

    ngx_http_llm_zone_unlock(z);
}


/* a stream that started: the gauge of streams in flight, once */

void
ngx_http_llm_metrics_stream(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_zone_t          *z;
    ngx_http_llm_metrics_slot_t  *s;
    ngx_http_llm_main_conf_t     *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->metrics_zone;

    if (z == NULL || ctx->model == NULL || ctx->metrics_stream) {
        return;
    }

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_metrics_slot(z->state, &ctx->model->name,
                                  NGX_HTTP_LLM_MSLOT_MODEL);
    if (s) {
        s->streams++;
        ctx->metrics_stream = 1;
    }

    ngx_http_llm_zone_unlock(z);
}


static ngx_int_t
ngx_http_llm_metrics_log(ngx_http_request_t *r)
{
    ngx_str_t                     what;
    ngx_uint_t                    cls;
    ngx_msec_t                    ms;
    ngx_time_t                   *tp;
    llm_usage_t                  *u;
    ngx_http_llm_ctx_t           *ctx;
    ngx_http_llm_zone_t          *z;
    ngx_http_llm_model_t         *m;
    ngx_http_llm_metrics_sh_t    *sh;
    ngx_http_llm_metrics_slot_t  *s;
    ngx_http_llm_main_conf_t     *lmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    /* the operations' requests only (not /v1/models) */
    if (ctx == NULL || ctx->op == NULL || r != r->main) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->metrics_zone;

    if (ctx->error.len == sizeof("client_closed") - 1
        && ngx_strncmp(ctx->error.data, "client_closed",
                       sizeof("client_closed") - 1) == 0)
    {
        cls = 4;

    } else {
        cls = (r->headers_out.status >= 200 && r->headers_out.status < 600)
              ? r->headers_out.status / 100 - 2 : 3;
    }

    tp = ngx_timeofday();
    ms = (ngx_msec_t) ((tp->sec - r->start_sec) * 1000
                       + (tp->msec - r->start_msec));

    /* a cache hit is the route's answer, with no provider behind it */
    m = ctx->cache_hit ? ctx->route : ctx->model;
    u = &ctx->resp.usage;

    /* the last attempt of a stream, now that it is over */
    if (ctx->metrics_attempt && m) {
        ctx->metrics_attempt = 0;

        if (cls == 4) {
            ngx_str_set(&what, "499");

        } else if (ctx->resp.failed) {
            ngx_str_set(&what, "stream_error");

        } else {
            ngx_str_set(&what, "200");
        }

        ngx_http_llm_metrics_attempt(r, m->provider, &what);
    }

    ngx_http_llm_zone_lock(z);

    sh = z->state;

    if (m == NULL) {
        sh->rejected[cls]++;
        goto done;
    }

    s = ngx_http_llm_metrics_slot(sh, &m->name, NGX_HTTP_LLM_MSLOT_MODEL);
    if (s == NULL) {
        goto done;
    }

    s->requests[cls]++;

    if (ngx_http_llm_cache_status(ctx) >= 0) {
        s->cache[ngx_http_llm_cache_status(ctx)]++;
    }

    if (ctx->metrics_stream) {
        s->streams--;
        ctx->metrics_stream = 0;
    }

    if (cls != 0) {
        goto done;
    }

    ngx_http_llm_histogram_add(&s->duration, ngx_http_llm_time_buckets,
                               NGX_HTTP_LLM_TIME_BUCKETS, ms);

    if (ctx->stream && ctx->ttft_set) {
        ngx_http_llm_histogram_add(&s->ttft, ngx_http_llm_time_buckets,
                                   NGX_HTTP_LLM_TIME_BUCKETS, ctx->ttft);

        if (u->set && u->completion_tokens > 1 && ms > ctx->ttft) {
            ngx_http_llm_histogram_add(&s->tpot, ngx_http_llm_tpot_buckets,
                                       NGX_HTTP_LLM_TPOT_BUCKETS,
                                       (ms - ctx->ttft) * 1000
                                       / (u->completion_tokens - 1));
        }
    }

    if (u->set && !ctx->cache_hit) {
        ngx_http_llm_tokens_add(&s->tokens[0], u->prompt_tokens);
        ngx_http_llm_tokens_add(&s->tokens[1], u->completion_tokens);

        /* prices are per 1M tokens, x10000: the product is 1e-10 USD */
        s->spend += (uint64_t) ngx_max(m->price_in, 0) * u->prompt_tokens
                    + (uint64_t) ngx_max(m->price_out, 0)
                      * u->completion_tokens;
    }

done:

    ngx_http_llm_zone_unlock(z);

    return NGX_OK;
}


/* --- the export */

void
ngx_http_llm_text(ngx_http_llm_text_t *t, const char *fmt, ...)
{
    u_char   buf[512], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    if (llm_buf_append(&t->b, buf, p - buf) != LLM_OK) {
        t->failed = 1;
    }
}


static void
ngx_http_llm_head(ngx_http_llm_text_t *t, const char *name, const char *type,
    const char *help)
{
    ngx_http_llm_text(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                      type);
}


/*
 * a histogram's series; labels: k="v",...; the values are milliseconds,
 * or microseconds (micro), written as seconds
 */

static void
ngx_http_llm_histogram_text(ngx_http_llm_text_t *t, const char *name,
    ngx_str_t *labels, ngx_http_llm_histogram_t *h, const ngx_msec_t *bounds,
    ngx_uint_t n, ngx_uint_t micro)
{
    uint64_t    cum;
    ngx_uint_t  i;

    cum = 0;

    for (i = 0; i < n; i++) {
        cum += h->buckets[i];

        if (micro) {
            ngx_http_llm_text(t, "%s_bucket{%V,le=\"%ui.%06ui\"} %uL\n",
                              name, labels, bounds[i] / 1000000,
                              bounds[i] % 1000000, cum);
        } else {
            ngx_http_llm_text(t, "%s_bucket{%V,le=\"%ui.%03ui\"} %uL\n",
                              name, labels, bounds[i] / 1000,
                              bounds[i] % 1000, cum);
        }
    }

    ngx_http_llm_text(t, "%s_bucket{%V,le=\"+Inf\"} %uL\n", name, labels,
                      h->count);

    if (micro) {
        ngx_http_llm_text(t, "%s_sum{%V} %uL.%06uL\n", name, labels,
                          h->sum / 1000000, h->sum % 1000000);
    } else {
        ngx_http_llm_text(t, "%s_sum{%V} %uL.%03uL\n", name, labels,
                          h->sum / 1000, h->sum % 1000);
    }

    ngx_http_llm_text(t, "%s_count{%V} %uL\n", name, labels, h->count);
}


static void
ngx_http_llm_tokens_text(ngx_http_llm_text_t *t, ngx_str_t *labels,
    const char *type, ngx_http_llm_token_histogram_t *h)
{
    uint64_t    cum, bound;
    ngx_uint_t  i;

    cum = 0;

    for (i = 0, bound = 1; i < NGX_HTTP_LLM_TOKEN_BUCKETS; i++, bound *= 4) {
        cum += h->buckets[i];
        ngx_http_llm_text(t, "gen_ai_client_token_usage_bucket{%V,"
                          "gen_ai_token_type=\"%s\",le=\"%uL\"} %uL\n",
                          labels, type, bound, cum);
    }

    ngx_http_llm_text(t, "gen_ai_client_token_usage_bucket{%V,"
                      "gen_ai_token_type=\"%s\",le=\"+Inf\"} %uL\n"
                      "gen_ai_client_token_usage_sum{%V,"
                      "gen_ai_token_type=\"%s\"} %uL\n"
                      "gen_ai_client_token_usage_count{%V,"
                      "gen_ai_token_type=\"%s\"} %uL\n",
                      labels, type, h->count, labels, type, h->sum, labels,
                      type, h->count);
}


/* a counter of each provider: the slots' uint64_t at offset */

static void
ngx_http_llm_provider_counter(ngx_http_llm_text_t *t,
    ngx_http_llm_metrics_sh_t *sh, const char *name, const char *help,
    size_t offset)
{
    ngx_uint_t                    i;
    ngx_http_llm_metrics_slot_t  *s;

    ngx_http_llm_head(t, name, "counter", help);

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind == NGX_HTTP_LLM_MSLOT_PROVIDER) {
            ngx_http_llm_text(t, "%s{provider=\"%*s\"} %uL\n", name,
                              s->name_len, s->name,
                              *(uint64_t *) ((u_char *) s + offset));
        }
    }
}


/* the configured provider of a model slot's name, for its labels */

ngx_str_t *
ngx_http_llm_metrics_provider(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_metrics_slot_t *s)
{
    ngx_uint_t             i;
    ngx_http_llm_model_t  *m;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].provider && m[i].name.len == s->name_len
            && ngx_memcmp(m[i].name.data, s->name, s->name_len) == 0)
        {
            return &m[i].provider->name;
        }
    }

    return NULL;
}


/*
 * A copy of the counters, so that the lock is not held while they are
 * written out; every configured model and provider has its slot first.
 * NULL: no memory.
 */

ngx_http_llm_metrics_sh_t *
ngx_http_llm_metrics_snapshot(ngx_http_request_t *r,
    ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                  i;
    ngx_http_llm_zone_t        *z;
    ngx_http_llm_model_t       *m;
    ngx_http_llm_provider_t   **pp;
    ngx_http_llm_metrics_sh_t  *sh, *copy;

    z = lmcf->metrics_zone;

    copy = ngx_palloc(r->pool, sizeof(ngx_http_llm_metrics_sh_t));
    if (copy == NULL) {
        return NULL;
    }

    ngx_http_llm_zone_lock(z);
    sh = z->state;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].provider) {
            (void) ngx_http_llm_metrics_slot(sh, &m[i].name,
                                             NGX_HTTP_LLM_MSLOT_MODEL);
        }
    }

    pp = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        (void) ngx_http_llm_metrics_slot(sh, &pp[i]->name,
                                         NGX_HTTP_LLM_MSLOT_PROVIDER);
    }

    ngx_memcpy(copy, sh, offsetof(ngx_http_llm_metrics_sh_t, slots)
                         + sh->n * sizeof(ngx_http_llm_metrics_slot_t));
    ngx_http_llm_zone_unlock(z);

    return copy;
}


/* GET, the body discarded, a zone: NGX_OK, or the status to answer */

ngx_int_t
ngx_http_llm_metrics_request(ngx_http_request_t *r,
    ngx_http_llm_main_conf_t *lmcf)
{
    ngx_int_t  rc;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return lmcf->metrics_zone ? NGX_OK : NGX_HTTP_NOT_FOUND;
}


/* 1 unless the provider of a slot cools down */

ngx_uint_t
ngx_http_llm_provider_up(ngx_http_request_t *r,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_metrics_slot_t *s)
{
    ngx_uint_t                 i;
    ngx_http_llm_provider_t  **pp;

    pp = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        if (pp[i]->name.len == s->name_len
            && ngx_memcmp(pp[i]->name.data, s->name, s->name_len) == 0)
        {
            return !ngx_http_llm_health_cooling(r, pp[i]);
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_llm_metrics_handler(ngx_http_request_t *r)
{
    u_char                        lbuf[256];
    ngx_int_t                     rc;
    ngx_str_t                     labels, none, *provider;
    ngx_uint_t                    i, j;
    ngx_http_llm_text_t           t;
    ngx_http_llm_metrics_sh_t    *sh;
    ngx_http_llm_metrics_slot_t  *s;
    ngx_http_llm_main_conf_t     *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    rc = ngx_http_llm_metrics_request(r, lmcf);
    if (rc != NGX_OK) {
        return rc;
    }

    sh = ngx_http_llm_metrics_snapshot(r, lmcf);
    if (sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&t, sizeof(ngx_http_llm_text_t));

    /* a model no longer configured: its provider is not known */
    ngx_str_set(&none, "");

    ngx_http_llm_head(&t, "llm_requests_total", "counter",
                      "Requests answered, by the model that served (the "
                      "last one tried) and the status class.");

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind != NGX_HTTP_LLM_MSLOT_MODEL) {
            continue;
        }

        provider = ngx_http_llm_metrics_provider(lmcf, s);

        for (j = 0; j < NGX_HTTP_LLM_STATUSES; j++) {
            ngx_http_llm_text(&t, "llm_requests_total{model=\"%*s\","
                              "provider=\"%V\",status=\"%s\"} %uL\n",
                              s->name_len, s->name,
                              provider ? provider : &none,
                              ngx_http_llm_status_names[j], s->requests[j]);
        }
    }

    if (lmcf->caches) {
        ngx_http_llm_head(&t, "llm_cache_requests_total", "counter",
                          "Requests of llm_cache locations, by model and "
                          "cache status (hit, coalesced: no provider "
                          "request).");

        for (i = 0; i < sh->n; i++) {
            s = &sh->slots[i];

            if (s->kind != NGX_HTTP_LLM_MSLOT_MODEL) {
                continue;
            }

            for (j = 0; j < NGX_HTTP_LLM_CACHE_STATUSES; j++) {
                ngx_http_llm_text(&t, "llm_cache_requests_total{model=\"%*s\","
                                  "status=\"%s\"} %uL\n", s->name_len,
                                  s->name, ngx_http_llm_cache_metric_names[j],
                                  s->cache[j]);
            }
        }
    }

    if (lmcf->budgets) {
        ngx_http_llm_head(&t, "llm_budget_refused_total", "counter",
                          "Requests over an llm_budget limit, by zone and "
                          "limit: refused, or served in dry run.");
        ngx_http_llm_budget_metrics(lmcf, &t);
    }

    ngx_http_llm_head(&t, "llm_rejected_requests_total", "counter",
                      "Requests answered before any model was chosen (an "
                      "unknown model, a bad body), by status class.");

    for (j = 0; j < NGX_HTTP_LLM_STATUSES; j++) {
        ngx_http_llm_text(&t, "llm_rejected_requests_total{status=\"%s\"} "
                          "%uL\n", ngx_http_llm_status_names[j],
                          sh->rejected[j]);
    }

    ngx_http_llm_head(&t, "llm_attempts_total", "counter",
                      "Provider requests, by provider and outcome.");

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind != NGX_HTTP_LLM_MSLOT_PROVIDER) {
            continue;
        }

        for (j = 0; j < NGX_HTTP_LLM_OUTCOMES; j++) {
            ngx_http_llm_text(&t, "llm_attempts_total{provider=\"%*s\","
                              "outcome=\"%s\"} %uL\n", s->name_len, s->name,
                              ngx_http_llm_outcome_names[j], s->attempts[j]);
        }
    }

    ngx_http_llm_provider_counter(&t, sh, "llm_retries_total",
                                  "Failed attempts tried again on the same "
                                  "provider.",
                                  offsetof(ngx_http_llm_metrics_slot_t,
                                           retries));

    ngx_http_llm_provider_counter(&t, sh, "llm_fallbacks_total",
                                  "Failed attempts after which the next "
                                  "candidate was tried, by the provider "
                                  "that failed.",
                                  offsetof(ngx_http_llm_metrics_slot_t,
                                           fallbacks));

    ngx_http_llm_head(&t, "llm_streams_in_flight", "gauge",
                      "Streams being answered, by model.");

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind == NGX_HTTP_LLM_MSLOT_MODEL) {
            ngx_http_llm_text(&t, "llm_streams_in_flight{model=\"%*s\"} %L\n",
                              s->name_len, s->name,
                              (int64_t) ngx_max(s->streams, 0));
        }
    }

    ngx_http_llm_head(&t, "llm_spend_usd_total", "counter",
                      "What the answered tokens cost at the model's "
                      "price_in and price_out, in US dollars.");

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind == NGX_HTTP_LLM_MSLOT_MODEL) {
            ngx_http_llm_text(&t, "llm_spend_usd_total{model=\"%*s\"} "
                              "%uL.%010uL\n", s->name_len, s->name,
                              s->spend / 10000000000ULL,
                              s->spend % 10000000000ULL);
        }
    }

    ngx_http_llm_head(&t, "llm_provider_up", "gauge",
                      "1 when the provider may be tried, 0 while its "
                      "passive health cools it down.");

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind == NGX_HTTP_LLM_MSLOT_PROVIDER) {
            ngx_http_llm_text(&t, "llm_provider_up{provider=\"%*s\"} %ui\n",
                              s->name_len, s->name,
                              ngx_http_llm_provider_up(r, lmcf, s));
        }
    }

    /* the GenAI conventions' histograms: a family's series together */

    for (j = 0; j < NGX_HTTP_LLM_FAMILIES + 1; j++) {
        ngx_http_llm_head(&t, j < NGX_HTTP_LLM_FAMILIES
                              ? ngx_http_llm_families[j].name
                              : "gen_ai_client_token_usage",
                          "histogram",
                          j < NGX_HTTP_LLM_FAMILIES
                          ? ngx_http_llm_families[j].help
                          : "Tokens per answered request, by type.");

        for (i = 0; i < sh->n; i++) {
            s = &sh->slots[i];

            if (s->kind != NGX_HTTP_LLM_MSLOT_MODEL) {
                continue;
            }

            provider = ngx_http_llm_metrics_provider(lmcf, s);

            labels.data = lbuf;
            labels.len = ngx_snprintf(lbuf, sizeof(lbuf),
                                      "gen_ai_request_model=\"%*s\","
                                      "gen_ai_provider_name=\"%V\"",
                                      s->name_len, s->name,
                                      provider ? provider : &none)
                         - lbuf;

            if (j == NGX_HTTP_LLM_FAMILIES) {
                ngx_http_llm_tokens_text(&t, &labels, "input", &s->tokens[0]);
                ngx_http_llm_tokens_text(&t, &labels, "output",
                                         &s->tokens[1]);
                continue;
            }

            ngx_http_llm_histogram_text(&t, ngx_http_llm_families[j].name,
                &labels,
                (ngx_http_llm_histogram_t *)
                    ((u_char *) s + ngx_http_llm_families[j].offset),
                ngx_http_llm_families[j].bounds, ngx_http_llm_families[j].n,
                ngx_http_llm_families[j].micro);
        }
    }

    if (t.failed) {
        llm_buf_free(&t.b);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_send_body(r, NGX_HTTP_OK,
                                "text/plain; version=0.0.4; charset=utf-8",
                                &t.b);

    llm_buf_free(&t.b);

    return rc;
}
