/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Passive health, provider headroom and time-to-first-token averages,
 * shared by all workers.
 *
 *   llm_health zone=llm_health:1m fails=3 window=10s cooldown=30s;
 *
 * A provider that fails "fails" times within "window" is skipped for
 * "cooldown"; then one request (the probe) may use it: its success ends
 * the cool-down, its failure starts another.  The same zone keeps a moving
 * average of each model's time to first token for strategy=speed.
 *
 * Headroom: a candidate is busy while what its provider's last answer
 * said is left (x-ratelimit-remaining-*, anthropic-ratelimit-*) is less
 * than the request needs, until that answer's reset, or while its
 * configured rpm= / tpm= (of the provider, of the model) are used up.
 * An attempt holds what it needs from the moment it is chosen until it
 * ends, so concurrent requests see each other.
 *
 * One small table of slots keyed by the crc32 of a name, under the slab
 * mutex: there are as many slots as providers and models, not requests.
 */

#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_HEALTH_SLOTS  256

#define NGX_HTTP_LLM_SLOT_PROVIDER  1
#define NGX_HTTP_LLM_SLOT_MODEL     2


#define NGX_HTTP_LLM_MINUTE  60000

#define NGX_HTTP_LLM_RATE_REQUESTS  0
#define NGX_HTTP_LLM_RATE_TOKENS    1


/*
 * rpm= and tpm= as buckets that drain continuously at the limit per
 * minute, as providers replenish theirs: the levels are in units of
 * 1/60000, so that a limit of N drains N units every ms.  Tokens held by
 * attempts in flight count until their real usage replaces them.
 */

typedef struct {
    ngx_msec_t               last;
    int64_t                  level[2];
    int64_t                  held;
} ngx_http_llm_rate_t;


typedef struct {
    uint32_t                 key;
    ngx_uint_t               kind;
    ngx_uint_t               fails;
    ngx_msec_t               window_start;
    ngx_msec_t               cooldown_until;
    ngx_msec_t               probe_start;
    ngx_msec_t               ttft;             /* moving average, ms */

    /* a model's: what its provider's last answer said is left, by family,
     * less what was sent since; valid until the reset (0: not known) */
    int64_t                  left[NGX_HTTP_LLM_HEADROOM_FAMILIES];
    ngx_msec_t               left_until[NGX_HTTP_LLM_HEADROOM_FAMILIES];

    ngx_http_llm_rate_t      rate;
    unsigned                 cooling:1;
    unsigned                 probing:1;
} ngx_http_llm_health_slot_t;


typedef struct {
    ngx_uint_t               n;
    ngx_http_llm_health_slot_t  slots[NGX_HTTP_LLM_HEALTH_SLOTS];
} ngx_http_llm_health_sh_t;


static ngx_http_llm_health_slot_t *ngx_http_llm_health_slot(
    ngx_http_llm_zone_t *z, ngx_str_t *name, ngx_uint_t kind);
static void ngx_http_llm_health_need(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, int64_t *need);
static ngx_msec_t ngx_http_llm_health_left(ngx_http_llm_health_slot_t *s,
    int64_t *need, ngx_msec_t now);
static ngx_msec_t ngx_http_llm_rate_wait(ngx_http_llm_rate_t *w,
    ngx_int_t rpm, ngx_int_t tpm, int64_t tokens, ngx_msec_t now);
static ngx_msec_t ngx_http_llm_rate_over(int64_t level, int64_t a,
    ngx_int_t limit);
static void ngx_http_llm_rate_drain(ngx_http_llm_rate_t *w, ngx_int_t rpm,
    ngx_int_t tpm, ngx_msec_t now);
static void ngx_http_llm_rate_take(ngx_http_llm_rate_t *w, ngx_int_t rpm,
    ngx_int_t tpm, int64_t tokens);


/* llm_health zone=NAME:SIZE [fails=N] [window=T] [cooldown=T] */

char *
ngx_http_llm_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ssize_t                     size;
    ngx_str_t                  *value, name, s;
    ngx_int_t                   n;
    ngx_uint_t                  i;

    if (lmcf->health_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_null(&name);
    size = 0;
    lmcf->health_fails = 3;
    lmcf->health_window = 10000;
    lmcf->health_cooldown = 30000;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            /* the table is 16k; the slab allocator needs some pages */
            if (ngx_http_llm_zone_parse(cf, &s, &name, &size,
                                        16 * ngx_pagesize)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "fails=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            lmcf->health_fails = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "window=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            lmcf->health_window = ngx_parse_time(&s, 0);
            if (lmcf->health_window == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "cooldown=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            lmcf->health_cooldown = ngx_parse_time(&s, 0);
            if (lmcf->health_cooldown == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        return "needs zone=NAME:SIZE";
    }

    lmcf->health_zone = ngx_http_llm_zone_add(cf, "llm_health", &name, size,
                                              sizeof(ngx_http_llm_health_sh_t));
    if (lmcf->health_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in llm_health", &value[i]);

    return NGX_CONF_ERROR;
}


/* rpm= and tpm= are counted in the llm_health zone: one must be set */

char *
ngx_http_llm_health_check(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                 i;
    ngx_http_llm_model_t      *m;
    ngx_http_llm_provider_t  **p;

    if (lmcf->health_zone) {
        return NGX_CONF_OK;
    }

    p = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        if (p[i]->rpm || p[i]->tpm) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_provider \"%V\" has rpm= or tpm=, "
                               "which need an llm_health zone to be counted "
                               "in", &p[i]->name);
            return NGX_CONF_ERROR;
        }
    }

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].rpm || m[i].tpm) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\" has rpm= or tpm=, which "
                               "need an llm_health zone to be counted in",
                               &m[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* the slot of a name, made on first use; NULL when the table is full */

static ngx_http_llm_health_slot_t *
ngx_http_llm_health_slot(ngx_http_llm_zone_t *z, ngx_str_t *name,
    ngx_uint_t kind)
{
    uint32_t                     key;
    ngx_uint_t                   i;
    ngx_http_llm_health_sh_t    *sh;
    ngx_http_llm_health_slot_t  *s;

    sh = z->state;

    key = ngx_crc32_short(name->data, name->len);

    for (i = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->key == key && s->kind == kind) {
            return s;
        }
    }

    if (sh->n == NGX_HTTP_LLM_HEALTH_SLOTS) {
        return NULL;
    }

    s = &sh->slots[sh->n++];

    ngx_memzero(s, sizeof(ngx_http_llm_health_slot_t));
    s->key = key;
    s->kind = kind;

    return s;
}


/*
 * NGX_OK: the candidate may be tried now (maybe as the one probe after
 * its provider's cool-down), and the attempt holds what it needs;
 * NGX_BUSY: it has no headroom for this request, NGX_DECLINED: its
 * provider cools down; *retry says for how long.
 */

ngx_int_t
ngx_http_llm_health_usable(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, ngx_msec_t *retry)
{
    int64_t                      need[NGX_HTTP_LLM_HEADROOM_FAMILIES];
    ngx_uint_t                   i, probe;
    ngx_msec_t                   now, wait;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_provider_t     *p;
    ngx_http_llm_health_slot_t  *ps, *ms;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->health_zone == NULL) {
        return NGX_OK;
    }

    z = lmcf->health_zone;
    p = m->provider;
    now = ngx_current_msec;
    probe = 0;

    ngx_http_llm_health_need(ctx, m, need);

    ngx_http_llm_zone_lock(z);

    ps = ngx_http_llm_health_slot(z, &p->name, NGX_HTTP_LLM_SLOT_PROVIDER);
    ms = ngx_http_llm_health_slot(z, &m->name, NGX_HTTP_LLM_SLOT_MODEL);

    if (ps && ps->cooling) {

        if ((ngx_msec_int_t) (ps->cooldown_until - now) > 0) {
            *retry = ps->cooldown_until - now;
            goto declined;
        }

        if (ps->probing
            && (ngx_msec_int_t) (now - ps->probe_start)
               < (ngx_msec_int_t) lmcf->health_cooldown)
        {
            /* another request is the probe; it has not answered yet */
            *retry = 1000;
            goto declined;
        }

        probe = 1;
    }

    wait = 0;

    if (ms) {
        wait = ngx_http_llm_health_left(ms, need, now);
        wait = ngx_max(wait, ngx_http_llm_rate_wait(&ms->rate, m->rpm,
                                                    m->tpm, need[1], now));
    }

    if (ps) {
        wait = ngx_max(wait, ngx_http_llm_rate_wait(&ps->rate, p->rpm,
                                                    p->tpm, need[1], now));
    }

    if (wait) {
        ngx_http_llm_zone_unlock(z);
        *retry = wait;
        return NGX_BUSY;
    }

    if (probe) {
        ps->probing = 1;
        ps->probe_start = now;
    }

    /* the attempt holds its request and tokens until it ends */

    for (i = 0; ms && i < NGX_HTTP_LLM_HEADROOM_FAMILIES; i++) {
        if (ms->left_until[i]) {
            ms->left[i] -= need[i];
        }
    }

    if (ms) {
        ngx_http_llm_rate_take(&ms->rate, m->rpm, m->tpm, need[1]);
    }

    if (ps) {
        ngx_http_llm_rate_take(&ps->rate, p->rpm, p->tpm, need[1]);
    }

    ngx_http_llm_zone_unlock(z);

    ctx->held = m;
    ctx->held_tokens = need[1];

    if (probe) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "llm: probing provider \"%V\" after its cool-down",
                      &p->name);
    }

    return NGX_OK;

declined:

    ngx_http_llm_zone_unlock(z);

    return NGX_DECLINED;
}


/*
 * What a request needs, by headroom family: one request; its prompt (the
 * body's bytes / 4) and the answer's ceiling when the client set one, as
 * tokens, input tokens and output tokens
 */

static void
ngx_http_llm_health_need(ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m,
    int64_t *need)
{
    int64_t  out;

    out = ctx->committed ? 0 : ctx->req.max_output;

    need[0] = 1;
    need[1] = ctx->est_prompt + out;
    need[2] = ctx->est_prompt;
    need[3] = out;

    /* more than a whole minute's worth could never go: it goes when idle */
    if (m->tpm > 0) {
        need[1] = ngx_min(need[1], m->tpm);
    }

    if (m->provider->tpm > 0) {
        need[1] = ngx_min(need[1], m->provider->tpm);
    }
}


/* ms until the provider's last answer leaves room for need; 0: it does */

static ngx_msec_t
ngx_http_llm_health_left(ngx_http_llm_health_slot_t *s, int64_t *need,
    ngx_msec_t now)
{
    ngx_uint_t  i;
    ngx_msec_t  wait;

    wait = 0;

    for (i = 0; i < NGX_HTTP_LLM_HEADROOM_FAMILIES; i++) {

        if (s->left_until[i] == 0) {
            continue;
        }

        if ((ngx_msec_int_t) (s->left_until[i] - now) <= 0) {
            /* its reset passed: what it said no longer holds */
            s->left_until[i] = 0;
            continue;
        }

        if (need[i] && s->left[i] < need[i]) {
            wait = ngx_max(wait, s->left_until[i] - now);
        }
    }

    return wait;
}


/* ms until one more request and tokens more fit; 0: they do now */

static ngx_msec_t
ngx_http_llm_rate_wait(ngx_http_llm_rate_t *w, ngx_int_t rpm, ngx_int_t tpm,
    int64_t tokens, ngx_msec_t now)
{
    ngx_msec_t  wait;

    ngx_http_llm_rate_drain(w, rpm, tpm, now);

    wait = 0;

    if (rpm > 0) {
        wait = ngx_http_llm_rate_over(w->level[NGX_HTTP_LLM_RATE_REQUESTS],
                                      1, rpm);
    }

    if (tpm > 0) {
        wait = ngx_max(wait, ngx_http_llm_rate_over(
                                 w->level[NGX_HTTP_LLM_RATE_TOKENS]
                                 + w->held * NGX_HTTP_LLM_MINUTE,
                                 ngx_min(tokens, tpm), tpm));
    }

    return wait;
}


/* ms until a more fit in a bucket at level; 0: they do */

static ngx_msec_t
ngx_http_llm_rate_over(int64_t level, int64_t a, ngx_int_t limit)
{
    int64_t  over;

    over = level + (a - limit) * NGX_HTTP_LLM_MINUTE;

    return (over > 0) ? (ngx_msec_t) (over / limit + 1) : 0;
}


static void
ngx_http_llm_rate_drain(ngx_http_llm_rate_t *w, ngx_int_t rpm, ngx_int_t tpm,
    ngx_msec_t now)
{
    int64_t  ms;

    ms = (int64_t) (ngx_msec_int_t) (now - w->last);
    w->last = now;

    if (ms <= 0) {
        return;
    }

    if (rpm > 0) {
        w->level[0] = ngx_max(w->level[0] - ms * rpm, 0);
    }

    if (tpm > 0) {
        w->level[1] = ngx_max(w->level[1] - ms * tpm, 0);
    }
}


/* an attempt takes its request and holds its tokens */

static void
ngx_http_llm_rate_take(ngx_http_llm_rate_t *w, ngx_int_t rpm, ngx_int_t tpm,
    int64_t tokens)
{
    if (rpm > 0) {
        w->level[NGX_HTTP_LLM_RATE_REQUESTS] += NGX_HTTP_LLM_MINUTE;
    }

    if (tpm > 0) {
        w->held += tokens;
    }
}


/*
 * The attempt that held headroom ends: what it held goes, the tokens it
 * really used are counted
 */

void
ngx_http_llm_health_release(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    int64_t tokens)
{
    ngx_uint_t                   i;
    ngx_int_t                    tpm[2];
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_model_t        *m;
    ngx_http_llm_rate_t         *w;
    ngx_http_llm_health_slot_t  *s[2];
    ngx_http_llm_main_conf_t    *lmcf;

    m = ctx->held;

    if (m == NULL) {
        return;
    }

    ctx->held = NULL;

    if (m->provider->tpm <= 0 && m->tpm <= 0) {
        return;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->health_zone;

    tpm[0] = m->provider->tpm;
    tpm[1] = m->tpm;

    ngx_http_llm_zone_lock(z);

    s[0] = ngx_http_llm_health_slot(z, &m->provider->name,
                                    NGX_HTTP_LLM_SLOT_PROVIDER);
    s[1] = ngx_http_llm_health_slot(z, &m->name, NGX_HTTP_LLM_SLOT_MODEL);

    for (i = 0; i < 2; i++) {
        if (s[i] == NULL || tpm[i] <= 0) {
            continue;
        }

        w = &s[i]->rate;

        ngx_http_llm_rate_drain(w, 0, tpm[i], ngx_current_msec);

        w->held = ngx_max(w->held - ctx->held_tokens, 0);
        w->level[NGX_HTTP_LLM_RATE_TOKENS] += tokens * NGX_HTTP_LLM_MINUTE;
    }

    ngx_http_llm_zone_unlock(z);
}


void
ngx_http_llm_health_report(ngx_http_request_t *r, ngx_http_llm_provider_t *p,
    ngx_uint_t ok)
{
    ngx_msec_t                   now;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->health_zone == NULL) {
        return;
    }

    z = lmcf->health_zone;
    now = ngx_current_msec;

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &p->name,
                                 NGX_HTTP_LLM_SLOT_PROVIDER);
    if (s == NULL) {
        goto done;
    }

    if (ok) {
        s->fails = 0;
        s->cooling = 0;
        s->probing = 0;
        goto done;
    }

    if (s->cooling) {
        /* the probe failed, or a request started before the cool-down */
        s->cooldown_until = now + lmcf->health_cooldown;
        s->probing = 0;
        goto done;
    }

    if (s->fails == 0
        || (ngx_msec_int_t) (now - s->window_start)
           > (ngx_msec_int_t) lmcf->health_window)
    {
        s->window_start = now;
        s->fails = 0;
    }

    if (++s->fails >= lmcf->health_fails) {
        s->cooling = 1;
        s->probing = 0;
        s->fails = 0;
        s->cooldown_until = now + lmcf->health_cooldown;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: provider \"%V\" failed %ui times within %M ms, "
                      "cooling down for %M ms", &p->name,
                      lmcf->health_fails, lmcf->health_window,
                      lmcf->health_cooldown);
    }

done:

    ngx_http_llm_zone_unlock(z);
}


/* the model's TTFT average, or its configured seed; 0: unknown */

ngx_msec_t
ngx_http_llm_ttft_get(ngx_http_request_t *r, ngx_http_llm_model_t *m)
{
    ngx_msec_t                   ms;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    ms = (m->ttft == NGX_HTTP_LLM_UNSET) ? 0 : (ngx_msec_t) m->ttft;

    if (lmcf->health_zone == NULL) {
        return ms;
    }

    z = lmcf->health_zone;

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &m->name, NGX_HTTP_LLM_SLOT_MODEL);

    if (s && s->ttft) {
        ms = s->ttft;
    }

    ngx_http_llm_zone_unlock(z);

    return ms;
}


/* an exponential moving average, weight 1/4 for the new sample */

void
ngx_http_llm_ttft_report(ngx_http_request_t *r, ngx_http_llm_model_t *m,
    ngx_msec_t ms)
{
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->health_zone == NULL) {
        return;
    }

    z = lmcf->health_zone;

    if (ms == 0) {
        ms = 1;
    }

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &m->name, NGX_HTTP_LLM_SLOT_MODEL);

    if (s) {
        if (s->ttft == 0) {
            /* the first sample starts from the configured seed */
            s->ttft = (m->ttft == NGX_HTTP_LLM_UNSET) ? ms
                                                     : (ngx_msec_t) m->ttft;
        }

        s->ttft = (3 * s->ttft + ms) / 4;

        if (s->ttft == 0) {
            s->ttft = 1;
        }
    }

    ngx_http_llm_zone_unlock(z);
}


/* 1 while the provider cools down (nothing changes: for the metrics) */

ngx_uint_t
ngx_http_llm_health_cooling(ngx_http_request_t *r, ngx_http_llm_provider_t *p)
{
    ngx_uint_t                   cooling;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->health_zone;

    if (z == NULL) {
        return 0;
    }

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &p->name, NGX_HTTP_LLM_SLOT_PROVIDER);

    cooling = (s && s->cooling
               && (ngx_msec_int_t) (s->cooldown_until - ngx_current_msec)
                  > 0);

    ngx_http_llm_zone_unlock(z);

    return cooling;
}


/* "6s", "1m0s", "12ms", "2m59.56s": a Go duration, in ms; -1: not one */

static ngx_msec_int_t
ngx_http_llm_headroom_duration(u_char *p, u_char *end)
{
    double      n, frac, ms;
    ngx_uint_t  digits;

    ms = 0;
    digits = 0;

    while (p < end) {
        n = 0;
        frac = 0.1;

        if (*p < '0' || *p > '9') {
            return -1;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            n = n * 10 + (*p++ - '0');
            digits++;
        }

        if (p < end && *p == '.') {
            for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
                n += (*p - '0') * frac;
                frac /= 10;
            }
        }

        if (end - p >= 2 && p[0] == 'm' && p[1] == 's') {
            ms += n;
            p += 2;

        } else if (p < end && *p == 'h') {
            ms += n * 3600000;
            p++;

        } else if (p < end && *p == 'm') {
            ms += n * 60000;
            p++;

        } else if (p < end && *p == 's') {
            ms += n * 1000;
            p++;

        } else {
            return -1;
        }
    }

    return (digits && ms < 86400000.0 * 31) ? (ngx_msec_int_t) ms : -1;
}


/* "2025-08-21T12:40:59Z": RFC 3339, UTC, in ms from now; -1: not one */

static ngx_msec_int_t
ngx_http_llm_headroom_time(u_char *p, u_char *end)
{
    time_t      t, now;
    struct tm   tm;
    ngx_int_t   v[6];
    ngx_uint_t  i;

    static const size_t  at[6] = { 0, 5, 8, 11, 14, 17 };
    static const size_t  len[6] = { 4, 2, 2, 2, 2, 2 };

    if (end - p < 20) {
        return -1;
    }

    for (i = 0; i < 6; i++) {
        v[i] = ngx_atoi(p + at[i], len[i]);
        if (v[i] == NGX_ERROR) {
            return -1;
        }
    }

    ngx_memzero(&tm, sizeof(struct tm));
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];

    t = timegm(&tm);
    now = ngx_time();

    return (t > now) ? (ngx_msec_int_t) (t - now) * 1000 : 0;
}


/* one header of an answer: a family's remaining count, or its reset */

void
ngx_http_llm_headroom_header(ngx_http_llm_headroom_t *h, u_char *name,
    size_t len, ngx_str_t *value)
{
    u_char         *fam;
    size_t          flen;
    ngx_int_t       n, what;
    ngx_uint_t      i;
    ngx_msec_int_t  ms;

    static ngx_str_t  families[] = {
        ngx_string("requests"), ngx_string("tokens"),
        ngx_string("input-tokens"), ngx_string("output-tokens")
    };

    if (len > 22 && ngx_strncasecmp(name, (u_char *) "x-ratelimit-remaining-",
                                    22) == 0)
    {
        fam = name + 22;
        flen = len - 22;
        what = NGX_HTTP_LLM_HEADROOM_REMAINING;

    } else if (len > 18
               && ngx_strncasecmp(name, (u_char *) "x-ratelimit-reset-", 18)
                  == 0)
    {
        fam = name + 18;
        flen = len - 18;
        what = NGX_HTTP_LLM_HEADROOM_RESET;

    } else if (len > 20
               && ngx_strncasecmp(name, (u_char *) "anthropic-ratelimit-", 20)
                  == 0)
    {
        fam = name + 20;

        if (len > 30 && ngx_strncasecmp(name + len - 10,
                                        (u_char *) "-remaining", 10) == 0)
        {
            flen = len - 30;
            what = NGX_HTTP_LLM_HEADROOM_REMAINING;

        } else if (len > 26 && ngx_strncasecmp(name + len - 6,
                                               (u_char *) "-reset", 6) == 0)
        {
            flen = len - 26;
            what = NGX_HTTP_LLM_HEADROOM_RESET;

        } else {
            return;
        }

    } else {
        return;
    }

    for (i = 0; i < NGX_HTTP_LLM_HEADROOM_FAMILIES; i++) {
        if (families[i].len == flen
            && ngx_strncasecmp(fam, families[i].data, flen) == 0)
        {
            break;
        }
    }

    if (i == NGX_HTTP_LLM_HEADROOM_FAMILIES) {
        return;
    }

    if (what == NGX_HTTP_LLM_HEADROOM_REMAINING) {
        /* a negative count (Azure's -1) says nothing */
        n = ngx_atoi(value->data, value->len);
        if (n != NGX_ERROR) {
            h->remaining[i] = n;
            h->known[i] |= NGX_HTTP_LLM_HEADROOM_REMAINING;
        }

        return;
    }

    ms = (name[0] == 'x' || name[0] == 'X')
         ? ngx_http_llm_headroom_duration(value->data,
                                          value->data + value->len)
         : ngx_http_llm_headroom_time(value->data, value->data + value->len);

    if (ms >= 0) {
        h->reset[i] = (ngx_msec_t) ms;
        h->known[i] |= NGX_HTTP_LLM_HEADROOM_RESET;
    }
}


/*
 * The answer's headers are read: what they say is left is the model's
 * headroom until their reset, so the router steers away before a 429
 */

void
ngx_http_llm_headroom_done(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_uint_t                   i, none;
    ngx_msec_t                   now, reset;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_headroom_t     *h;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    static const u_char  both = NGX_HTTP_LLM_HEADROOM_REMAINING
                                |NGX_HTTP_LLM_HEADROOM_RESET;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    z = lmcf->health_zone;
    h = &ctx->headroom;

    if (z == NULL || (h->known[0] | h->known[1] | h->known[2] | h->known[3])
                     == 0)
    {
        return;
    }

    now = ngx_current_msec;
    none = 0;
    reset = 0;

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &ctx->model->name,
                                 NGX_HTTP_LLM_SLOT_MODEL);

    for (i = 0; s && i < NGX_HTTP_LLM_HEADROOM_FAMILIES; i++) {

        if (h->known[i] != both || h->reset[i] == 0) {
            continue;
        }

        s->left[i] = h->remaining[i];
        s->left_until[i] = now + h->reset[i];

        if (h->remaining[i] == 0) {
            none = 1;
            reset = ngx_max(reset, h->reset[i]);
        }
    }

    ngx_http_llm_zone_unlock(z);

    ngx_memzero(h, sizeof(ngx_http_llm_headroom_t));

    if (none) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm: provider \"%V\" has no headroom left for model "
                      "\"%V\" for %M ms", &ctx->model->provider->name,
                      &ctx->model->name, reset);
    }
}
