/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Client budgets: llm_budget_zone and llm_budget, in the manner of
 * limit_req_zone and limit_req.
 *
 * A zone counts, per value of its key (an API key, a team, a key and a
 * model), requests, tokens or spend in fixed windows (a second, minute,
 * hour, day, or calendar month).  Before a request goes upstream it
 * reserves an estimate in every limit of every llm_budget of its
 * location (its prompt: the body's bytes / 4; its answer: max_tokens, or
 * the model's, or 4096) and is refused, 429, if one would go over: so
 * concurrent requests cannot overshoot by more than the estimate's error.
 * When the request ends, the reservation goes and the real usage is
 * counted: the provider's usage, nothing for a cache hit or a failure
 * before any token, the prompt's estimate and what was produced (its
 * bytes / 4) for a stream cut short.  Every answer carries OpenAI's
 * x-ratelimit-* headers of the tightest requests and tokens limits.
 */

#include "ngx_http_llm_module.h"
#include "ngx_http_llm_budget.h"


#define NGX_HTTP_LLM_BUDGET_OUTPUT  4096   /* an answer's estimate, unset */


const char  *ngx_http_llm_budget_kinds[] = {
    "requests", "tokens", "prompt_tokens", "completion_tokens", "spend", NULL
};


/* per 1M tokens, x10000: a spend in 1e-10 USD */

typedef struct {
    int64_t                        in;
    int64_t                        out;
    int64_t                        cached;     /* cached prompt tokens */
} ngx_http_llm_prices_t;


/* what one request holds in one zone */

typedef struct {
    ngx_http_llm_budget_zone_t    *bz;
    ngx_str_t                      key;
    int64_t                        est[NGX_HTTP_LLM_BUDGET_LIMITS];
} ngx_http_llm_budget_hold_t;


struct ngx_http_llm_budget_req_s {
    ngx_http_request_t            *request;
    ngx_http_llm_ctx_t            *ctx;
    ngx_http_llm_budget_hold_t    *holds;
    ngx_uint_t                     nholds;
    int64_t                        prompt;     /* the estimates */
    int64_t                        output;
    ngx_http_llm_prices_t          price;

    /* the tightest requests and tokens limits, for the headers */
    int64_t                        limit[2];
    int64_t                        remaining[2];
    time_t                         reset[2];
    unsigned                       settled:1;
};


static void ngx_http_llm_budget_settle(void *data);
static int64_t ngx_http_llm_spend(ngx_http_llm_prices_t *price,
    int64_t prompt, int64_t completion, int64_t cached);
static int64_t ngx_http_llm_cached_tokens(ngx_http_llm_ctx_t *ctx,
    int64_t prompt);
static void ngx_http_llm_budget_refused(ngx_http_llm_budget_zone_t *bz,
    ngx_uint_t limit, ngx_uint_t dry_run);


/* a zone's refusals, per limit and mode: a record under a key no client
 * value can be (header values hold no NUL) */

ngx_str_t  ngx_http_llm_budget_refusals = ngx_string("\0refused");


/* "N/PERIOD": PERIOD s, m, h, d or month; spend is in USD */

static ngx_int_t
ngx_http_llm_budget_parse_limit(ngx_str_t *v, ngx_uint_t kind,
    ngx_http_llm_budget_limit_t *l)
{
    u_char     *slash, *p;
    int64_t     units, frac;
    ngx_str_t   per;
    ngx_uint_t  digits;

    slash = ngx_strlchr(v->data, v->data + v->len, '/');
    if (slash == NULL || slash == v->data) {
        return NGX_ERROR;
    }

    per.data = slash + 1;
    per.len = v->data + v->len - per.data;

    if (per.len == 5 && ngx_strncmp(per.data, "month", 5) == 0) {
        l->period = 0;

    } else if (per.len == 1) {
        switch (per.data[0]) {
        case 's': l->period = 1; break;
        case 'm': l->period = 60; break;
        case 'h': l->period = 3600; break;
        case 'd': l->period = 86400; break;
        default: return NGX_ERROR;
        }

    } else {
        return NGX_ERROR;
    }

    /* a decimal: spend in 1e-10 USD, counts whole */

    units = 0;
    frac = 0;
    digits = 0;

    for (p = v->data; p < slash && *p >= '0' && *p <= '9'; p++) {
        units = units * 10 + (*p - '0');
        if (units > 1000000000000LL) {
            return NGX_ERROR;
        }
    }

    if (p < slash && *p == '.' && kind == NGX_HTTP_LLM_BUDGET_SPEND) {
        for (p++; p < slash && *p >= '0' && *p <= '9'; p++) {
            if (digits < 10) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
        }

        for ( /* void */ ; digits < 10; digits++) {
            frac *= 10;
        }
    }

    if (p != slash) {
        return NGX_ERROR;
    }

    l->kind = kind;
    l->max = (kind == NGX_HTTP_LLM_BUDGET_SPEND)
             ? units * 10000000000LL + frac : units;

    return (l->max > 0) ? NGX_OK : NGX_ERROR;
}


/* llm_budget_zone KEY zone=NAME:SIZE LIMIT=N/PERIOD ... */

char *
ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    size_t                             len;
    ssize_t                            size;
    ngx_str_t                         *value, name, s;
    ngx_uint_t                         i, k;
    ngx_http_llm_budget_zone_t        *bz, **bzp;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    bz = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_budget_zone_t));
    if (bz == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &bz->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&name);
    size = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (ngx_http_llm_zone_parse(cf, &s, &name, &size, 8 * ngx_pagesize)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        for (k = 0; ngx_http_llm_budget_kinds[k]; k++) {
            len = ngx_strlen(ngx_http_llm_budget_kinds[k]);

            if (value[i].len > len + 1
                && ngx_strncmp(value[i].data, ngx_http_llm_budget_kinds[k],
                               len) == 0
                && value[i].data[len] == '=')
            {
                break;
            }
        }

        if (ngx_http_llm_budget_kinds[k] == NULL
            || bz->nlimits == NGX_HTTP_LLM_BUDGET_LIMITS)
        {
            goto invalid;
        }

        s.data = value[i].data + len + 1;
        s.len = value[i].len - len - 1;

        if (ngx_http_llm_budget_parse_limit(&s, k, &bz->limits[bz->nlimits])
            != NGX_OK)
        {
            goto invalid;
        }

        bz->nlimits++;
    }

    if (name.len == 0) {
        return "needs zone=NAME:SIZE";
    }

    if (bz->nlimits == 0) {
        return "needs a limit (requests=, tokens=, prompt_tokens=, "
               "completion_tokens= or spend=)";
    }

    bz->name = name;
    bz->zone = ngx_http_llm_store_zone(cf, "llm_budget_zone", &name, size);
    if (bz->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lmcf->budgets == NULL) {
        lmcf->budgets = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_llm_budget_zone_t *));
        if (lmcf->budgets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    bzp = ngx_array_push(lmcf->budgets);
    if (bzp == NULL) {
        return NGX_CONF_ERROR;
    }

    *bzp = bz;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* llm_budget NAME [dry_run] */

char *
ngx_http_llm_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ngx_str_t                  *value;
    ngx_http_llm_budget_use_t  *u;

    value = cf->args->elts;

    if (cf->args->nelts == 3 && ngx_strcmp(value[2].data, "dry_run") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (llcf->budgets == NGX_CONF_UNSET_PTR) {
        llcf->budgets = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_llm_budget_use_t));
        if (llcf->budgets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    u = ngx_array_push(llcf->budgets);
    if (u == NULL) {
        return NGX_CONF_ERROR;
    }

    u->name = value[1];
    u->zone = NULL;
    u->dry_run = (cf->args->nelts == 3);

    return NGX_CONF_OK;
}


/* at merge: each llm_budget's zone, by name */

char *
ngx_http_llm_budget_merge(ngx_conf_t *cf, ngx_array_t *budgets)
{
    ngx_uint_t                   i, j;
    ngx_http_llm_budget_use_t   *u;
    ngx_http_llm_budget_zone_t **bz;
    ngx_http_llm_main_conf_t    *lmcf;

    if (budgets == NULL) {
        return NGX_CONF_OK;
    }

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    u = budgets->elts;

    for (i = 0; i < budgets->nelts; i++) {
        bz = lmcf->budgets ? lmcf->budgets->elts : NULL;

        for (j = 0; bz && j < lmcf->budgets->nelts; j++) {
            if (bz[j]->name.len == u[i].name.len
                && ngx_strncmp(bz[j]->name.data, u[i].name.data,
                               u[i].name.len) == 0)
            {
                u[i].zone = bz[j];
                break;
            }
        }

        if (u[i].zone == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_budget \"%V\": no llm_budget_zone of "
                               "that name", &u[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* the window a limit is in now, and the seconds to its end */

int64_t
ngx_http_llm_budget_window(ngx_http_llm_budget_limit_t *l, time_t now,
    time_t *left)
{
    time_t     next;
    struct tm  tm;

    if (l->period) {
        *left = l->period - now % l->period;
        return now / l->period;
    }

    /* a calendar month, UTC */
    (void) gmtime_r(&now, &tm);

    tm.tm_mday = 1;
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;

    if (++tm.tm_mon > 11) {
        tm.tm_mon = 0;
        tm.tm_year++;
    }

    next = timegm(&tm);
    *left = (next > now) ? next - now : 1;

    return (int64_t) tm.tm_year * 12 + tm.tm_mon;
}


/* what a request counts against a limit, from its token counts */

static int64_t
ngx_http_llm_budget_amount(ngx_http_llm_budget_req_t *br, ngx_uint_t kind,
    int64_t prompt, int64_t completion, int64_t cached)
{
    switch (kind) {

    case NGX_HTTP_LLM_BUDGET_REQUESTS:
        return 1;

    case NGX_HTTP_LLM_BUDGET_TOKENS:
        return prompt + completion;

    case NGX_HTTP_LLM_BUDGET_PROMPT:
        return prompt;

    case NGX_HTTP_LLM_BUDGET_COMPLETION:
        return completion;

    default:
        return ngx_http_llm_spend(&br->price, prompt, completion, cached);
    }
}


static int64_t
ngx_http_llm_spend(ngx_http_llm_prices_t *price, int64_t prompt,
    int64_t completion, int64_t cached)
{
    return (prompt - cached) * price->in + cached * price->cached
           + completion * price->out;
}


/* the prices a request's spend is counted at: its model's, or its route's
 * dearest candidate's; cached prompt tokens at price_cached=, or price_in */

static void
ngx_http_llm_budget_prices(ngx_http_request_t *r, ngx_http_llm_model_t *m,
    ngx_http_llm_prices_t *price)
{
    ngx_uint_t                 i;
    ngx_http_llm_model_t      *models;
    ngx_http_llm_prices_t      c;
    ngx_http_llm_main_conf_t  *lmcf;

    if (m->provider) {
        price->in = ngx_max(m->price_in, 0);
        price->out = ngx_max(m->price_out, 0);
        price->cached = (m->price_cached == NGX_HTTP_LLM_UNSET)
                        ? price->in : m->price_cached;
        return;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    models = lmcf->models.elts;

    ngx_memzero(price, sizeof(ngx_http_llm_prices_t));

    for (i = 0; i < m->ncands; i++) {
        ngx_http_llm_budget_prices(r, &models[m->cands[i]], &c);

        price->in = ngx_max(price->in, c.in);
        price->out = ngx_max(price->out, c.out);
        price->cached = ngx_max(price->cached, c.cached);
    }
}


/* the cached prompt tokens of the usage counted */

static int64_t
ngx_http_llm_cached_tokens(ngx_http_llm_ctx_t *ctx, int64_t prompt)
{
    llm_usage_t  *u;

    u = &ctx->resp.usage;

    if (ctx->cache_hit || !u->set || u->cached_tokens <= 0) {
        return 0;
    }

    return ngx_min(u->cached_tokens, prompt);
}


/* the tightest requests and tokens limits so far, for the headers */

static void
ngx_http_llm_budget_tightest(ngx_http_llm_budget_req_t *br,
    ngx_http_llm_budget_zone_t *bz, ngx_http_llm_budget_counter_t *counters,
    time_t now)
{
    int64_t                         remaining;
    ngx_uint_t                      i, k;
    ngx_http_llm_budget_limit_t    *l;
    ngx_http_llm_budget_counter_t  *c;

    for (i = 0; i < bz->nlimits; i++) {
        l = &bz->limits[i];
        c = &counters[i];

        if (l->kind == NGX_HTTP_LLM_BUDGET_REQUESTS) {
            k = 0;

        } else if (l->kind == NGX_HTTP_LLM_BUDGET_TOKENS) {
            k = 1;

        } else {
            continue;
        }

        remaining = ngx_max(l->max - c->used - c->reserved, 0);

        if (br->limit[k] == 0 || remaining < br->remaining[k]) {
            (void) ngx_http_llm_budget_window(l, now, &br->reset[k]);
            br->limit[k] = l->max;
            br->remaining[k] = remaining;
        }
    }
}


/* one zone: NGX_OK (reserved), NGX_DECLINED (limit *over would go over) */

static ngx_int_t
ngx_http_llm_budget_reserve(ngx_http_llm_budget_req_t *br,
    ngx_http_llm_budget_hold_t *h, ngx_uint_t *over, time_t *wait)
{
    time_t                          now, left;
    int64_t                         window;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_llm_budget_zone_t     *bz;
    ngx_http_llm_budget_limit_t    *l;
    ngx_http_llm_budget_counter_t  *c, *counters;

    bz = h->bz;
    now = ngx_time();
    rc = NGX_OK;

    ngx_http_llm_zone_lock(bz->zone);

    counters = ngx_http_llm_store_record(bz->zone, &h->key,
                                         bz->nlimits * sizeof(*counters), 1);
    if (counters == NULL) {
        /* no room for the key: not counted, never refused for it */
        ngx_http_llm_zone_unlock(bz->zone);
        h->bz = NULL;
        return NGX_OK;
    }

    for (i = 0; i < bz->nlimits; i++) {
        l = &bz->limits[i];
        c = &counters[i];

        window = ngx_http_llm_budget_window(l, now, &left);

        if (c->window != window) {
            c->window = window;
            c->used = 0;
        }

        h->est[i] = ngx_http_llm_budget_amount(br, l->kind, br->prompt,
                                               br->output, 0);

        if (c->used + c->reserved + h->est[i] > l->max) {
            *over = i;
            *wait = left;
            rc = NGX_DECLINED;
            break;
        }
    }

    for (i = 0; rc == NGX_OK && i < bz->nlimits; i++) {
        counters[i].reserved += h->est[i];
    }

    ngx_http_llm_budget_tightest(br, bz, counters, now);

    ngx_http_llm_zone_unlock(bz->zone);

    return rc;
}


/* gives a hold back, and counts what the request really used */

static void
ngx_http_llm_budget_release(ngx_http_llm_budget_req_t *br,
    ngx_http_llm_budget_hold_t *h, int64_t prompt, int64_t completion,
    int64_t cached, ngx_uint_t count)
{
    time_t                          left;
    int64_t                         window;
    ngx_uint_t                      i;
    ngx_http_llm_budget_zone_t     *bz;
    ngx_http_llm_budget_counter_t  *c, *counters;

    bz = h->bz;

    if (bz == NULL) {
        return;
    }

    ngx_http_llm_zone_lock(bz->zone);

    counters = ngx_http_llm_store_record(bz->zone, &h->key,
                                         bz->nlimits * sizeof(*counters), 0);

    for (i = 0; counters && i < bz->nlimits; i++) {
        c = &counters[i];

        c->reserved = ngx_max(c->reserved - h->est[i], 0);

        if (!count) {
            continue;
        }

        window = ngx_http_llm_budget_window(&bz->limits[i], ngx_time(),
                                            &left);
        if (c->window != window) {
            c->window = window;
            c->used = 0;
        }

        c->used += ngx_http_llm_budget_amount(br, bz->limits[i].kind, prompt,
                                              completion, cached);
    }

    ngx_http_llm_zone_unlock(bz->zone);
}


/* a count's digits: cheaper than ngx_sprintf(), on every answer */

static u_char *
ngx_http_llm_budget_int(u_char *p, int64_t v)
{
    u_char   digits[NGX_INT64_LEN], *d;

    d = digits + NGX_INT64_LEN;

    do {
        *--d = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v > 0);

    return ngx_cpymem(p, d, digits + NGX_INT64_LEN - d);
}


/* "6s", "1m0s", "1h2m3s": OpenAI's durations */

static u_char *
ngx_http_llm_budget_duration(u_char *p, time_t t)
{
    if (t >= 3600) {
        p = ngx_http_llm_budget_int(p, t / 3600);
        *p++ = 'h';
        t %= 3600;
    }

    if (t >= 60 || p[-1] == 'h') {
        p = ngx_http_llm_budget_int(p, t / 60);
        *p++ = 'm';
        t %= 60;
    }

    p = ngx_http_llm_budget_int(p, t);
    *p++ = 's';

    return p;
}


/* x-ratelimit-{limit,remaining,reset}-{requests,tokens} */

static ngx_int_t
ngx_http_llm_budget_headers(ngx_http_request_t *r,
    ngx_http_llm_budget_req_t *br)
{
    u_char      *p;
    ngx_str_t    v;
    ngx_uint_t   k, j;

    static char  *names[2][3] = {
        { "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
          "x-ratelimit-reset-requests" },
        { "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
          "x-ratelimit-reset-tokens" }
    };

    p = ngx_pnalloc(r->pool, 6 * (NGX_INT64_LEN + 3));
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (k = 0; k < 2; k++) {
        if (br->limit[k] == 0) {
            continue;
        }

        for (j = 0; j < 3; j++) {
            v.data = p;

            p = (j == 0) ? ngx_http_llm_budget_int(p, br->limit[k])
                : (j == 1) ? ngx_http_llm_budget_int(p, br->remaining[k])
                : ngx_http_llm_budget_duration(p, br->reset[k]);

            v.len = p - v.data;

            if (ngx_http_llm_add_header(r, &r->headers_out.headers,
                                        names[k][j], &v)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* over a limit: 429, as OpenAI words it, with Retry-After */

static ngx_int_t
ngx_http_llm_budget_refuse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_budget_zone_t *bz, ngx_uint_t over, time_t wait)
{
    u_char                        *p;
    ngx_str_t                      v;
    llm_error_t                    e;
    ngx_http_llm_budget_limit_t   *l;

    l = &bz->limits[over];

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "%T", wait) - p;

    if (ngx_http_llm_add_header(r, &r->headers_out.headers, "Retry-After", &v)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (l->kind == NGX_HTTP_LLM_BUDGET_SPEND) {
        llm_error_set(&e, 429, NULL, "insufficient_quota",
                      "You exceeded the spend budget of this key: $%lld.%04lld "
                      "per window, which ends in %lld s.",
                      (long long) (l->max / 10000000000LL),
                      (long long) (l->max % 10000000000LL / 1000000),
                      (long long) wait);
        e.type = "insufficient_quota";

    } else {
        llm_error_set(&e, 429, NULL, "rate_limit_exceeded",
                      "Rate limit reached for %s: limit %lld per window, "
                      "which ends in %lld s. Please try again later.",
                      ngx_http_llm_budget_kinds[l->kind],
                      (long long) l->max, (long long) wait);
        e.type = (l->kind == NGX_HTTP_LLM_BUDGET_REQUESTS) ? "requests"
                                                            : "tokens";
    }

    return ngx_http_llm_send_error(r, ctx, &e);
}


/*
 * Before the attempts: NGX_OK (go on), NGX_DONE (refused: answered),
 * NGX_ERROR
 */

ngx_int_t
ngx_http_llm_budget_admit(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    time_t                      wait;
    ngx_int_t                   rc;
    ngx_uint_t                  i, j, over;
    ngx_pool_cleanup_t         *cln;
    ngx_http_llm_model_t       *m;
    ngx_http_llm_loc_conf_t    *llcf;
    ngx_http_llm_budget_use_t  *u;
    ngx_http_llm_budget_req_t  *br;
    ngx_http_llm_budget_hold_t *h;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    if (llcf->budgets == NULL) {
        return NGX_OK;
    }

    br = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_budget_req_t));
    if (br == NULL) {
        return NGX_ERROR;
    }

    br->holds = ngx_pcalloc(r->pool, llcf->budgets->nelts
                                     * sizeof(ngx_http_llm_budget_hold_t));
    if (br->holds == NULL) {
        return NGX_ERROR;
    }

    br->request = r;
    br->ctx = ctx;
    ctx->budget = br;

    m = ctx->route;

    /* the estimate: the prompt from the body's size, the answer's ceiling */

    br->prompt = ctx->est_prompt;
    br->output = ctx->op->embedding ? 0
                 : ctx->req.max_output ? ctx->req.max_output
                 : m->max_tokens ? m->max_tokens : NGX_HTTP_LLM_BUDGET_OUTPUT;

    ngx_http_llm_budget_prices(r, m, &br->price);

    u = llcf->budgets->elts;

    for (i = 0; i < llcf->budgets->nelts; i++) {
        h = &br->holds[br->nholds];

        if (ngx_http_complex_value(r, &u[i].zone->key, &h->key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (h->key.len == 0 || h->key.len > 65535) {
            /* no key, no count: as limit_req */
            continue;
        }

        h->bz = u[i].zone;

        if (ngx_http_llm_budget_reserve(br, h, &over, &wait) == NGX_OK) {
            br->nholds++;
            continue;
        }

        ngx_http_llm_budget_refused(h->bz, over, u[i].dry_run);

        if (u[i].dry_run) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "llm: llm_budget \"%V\" would refuse this request "
                          "(%s over its limit, dry run)", &u[i].name,
                          ngx_http_llm_budget_kinds[h->bz->limits[over].kind]);
            continue;
        }

        /* refused: what the zones before held goes back */

        for (j = 0; j < br->nholds; j++) {
            ngx_http_llm_budget_release(br, &br->holds[j], 0, 0, 0, 0);
        }

        br->nholds = 0;
        br->settled = 1;

        if (ngx_http_llm_budget_headers(r, br) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_llm_budget_refuse(r, ctx, u[i].zone, over, wait);

        ngx_http_finalize_request(r, rc);

        return NGX_DONE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_budget_settle;
    cln->data = br;

    return (ngx_http_llm_budget_headers(r, br) == NGX_OK) ? NGX_OK
                                                           : NGX_ERROR;
}


/*
 * The request is over: its holds go, what it used is counted.  Used: the
 * provider's usage; nothing for a cache hit or an answer that never
 * began; the prompt's estimate and what was produced for a cut stream.
 */

static void
ngx_http_llm_budget_settle(void *data)
{
    ngx_http_llm_budget_req_t *br = data;

    int64_t      prompt, completion, cached;
    ngx_uint_t   i;

    if (br->settled) {
        return;
    }

    br->settled = 1;

    ngx_http_llm_tokens_used(br->ctx, &prompt, &completion);

    cached = ngx_http_llm_cached_tokens(br->ctx, prompt);

    if (br->ctx->model) {
        /* reserved at the route's dearest, spent at the one that served */
        ngx_http_llm_budget_prices(br->request, br->ctx->model, &br->price);
    }

    for (i = 0; i < br->nholds; i++) {
        ngx_http_llm_budget_release(br, &br->holds[i], prompt, completion,
                                    cached, 1);
    }
}


/*
 * What a request (or its last attempt) used: the provider's usage;
 * nothing for a cache hit or an answer that never began; the prompt's
 * estimate and what was produced for a stream cut short
 */

void
ngx_http_llm_tokens_used(ngx_http_llm_ctx_t *ctx, int64_t *prompt,
    int64_t *completion)
{
    llm_usage_t  *u;

    u = &ctx->resp.usage;

    *prompt = 0;
    *completion = 0;

    if (ctx->cache_hit) {
        /* no provider asked: no tokens */

    } else if (u->set) {
        *prompt = u->prompt_tokens;
        *completion = u->completion_tokens;

        if (*prompt + *completion == 0) {
            *completion = u->total_tokens;
        }

    } else if (ctx->resp.first_token) {
        *prompt = ctx->est_prompt;
        *completion = (ctx->resp.text_bytes + 3) / 4;
    }
}


/* $llm_cost: this request's spend in USD, at its model's prices */

ngx_int_t
ngx_http_llm_budget_cost(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *v)
{
    u_char                 *p;
    int64_t                 cost;
    llm_usage_t            *u;
    ngx_http_llm_model_t   *m;
    ngx_http_llm_prices_t   price;

    u = &ctx->resp.usage;
    m = ctx->model ? ctx->model : ctx->route;

    if (m == NULL || (!u->set && !ctx->cache_hit)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_budget_prices(r, m, &price);

    cost = ctx->cache_hit ? 0
           : ngx_http_llm_spend(&price, u->prompt_tokens,
                                u->completion_tokens,
                                ngx_http_llm_cached_tokens(ctx,
                                                           u->prompt_tokens));

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 12);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%L.%010L", cost / 10000000000LL,
                         cost % 10000000000LL) - p;

    return NGX_OK;
}


/* $llm_budget_remaining: "requests=N,tokens=N" of the tightest limits */

ngx_int_t
ngx_http_llm_budget_remaining(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *v)
{
    u_char                     *p;
    ngx_http_llm_budget_req_t  *br;

    br = ctx->budget;

    if (br == NULL || (br->limit[0] == 0 && br->limit[1] == 0)) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN + 20);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    if (br->limit[0]) {
        p = ngx_sprintf(p, "requests=%L", br->remaining[0]);
    }

    if (br->limit[1]) {
        p = ngx_sprintf(p, "%stokens=%L", br->limit[0] ? "," : "",
                        br->remaining[1]);
    }

    v->len = p - v->data;

    return NGX_OK;
}


static void
ngx_http_llm_budget_refused(ngx_http_llm_budget_zone_t *bz, ngx_uint_t limit,
    ngx_uint_t dry_run)
{
    int64_t  *counts;

    ngx_http_llm_zone_lock(bz->zone);

    counts = ngx_http_llm_store_record(bz->zone, &ngx_http_llm_budget_refusals,
                                       2 * NGX_HTTP_LLM_BUDGET_LIMITS
                                       * sizeof(int64_t), 1);
    if (counts) {
        counts[2 * limit + (dry_run ? 1 : 0)]++;
    }

    ngx_http_llm_zone_unlock(bz->zone);
}
