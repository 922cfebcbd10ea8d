/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Passive health and time-to-first-token averages, shared by all workers.
 *
 *   llm_health zone=llm_health:1m fails=3 window=10s cooldown=30s;
 *
 * A provider that fails "fails" times within "window" is skipped for
 * "cooldown"; then one request (the probe) may use it: its success ends
 * the cool-down, its failure starts another.  The same zone keeps a moving
 * average of each model's time to first token for strategy=speed.
 *
 * One small table of slots keyed by the crc32 of a name, under the slab
 * mutex: there are as many slots as providers and models, not requests.
 */

#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_HEALTH_SLOTS  256

#define NGX_HTTP_LLM_SLOT_PROVIDER  1
#define NGX_HTTP_LLM_SLOT_MODEL     2


typedef struct {
    uint32_t                 key;
    ngx_uint_t               kind;
    ngx_uint_t               fails;
    ngx_msec_t               window_start;
    ngx_msec_t               cooldown_until;
    ngx_msec_t               probe_start;
    ngx_msec_t               ttft;             /* moving average, ms */
    unsigned                 cooling:1;
    unsigned                 probing:1;
} ngx_http_llm_health_slot_t;


typedef struct {
    ngx_uint_t               n;
    ngx_http_llm_health_slot_t  slots[NGX_HTTP_LLM_HEALTH_SLOTS];
} ngx_http_llm_health_sh_t;


static ngx_http_llm_health_slot_t *ngx_http_llm_health_slot(
    ngx_http_llm_zone_t *z, ngx_str_t *name, ngx_uint_t kind);


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
 * NGX_OK: the provider may be tried (maybe as the one probe after a
 * cool-down); NGX_DECLINED: it is cooling down, *retry says how long.
 */

ngx_int_t
ngx_http_llm_health_usable(ngx_http_request_t *r, ngx_http_llm_provider_t *p,
    ngx_msec_t *retry)
{
    ngx_int_t                    rc;
    ngx_msec_t                   now;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_health_slot_t  *s;
    ngx_http_llm_main_conf_t    *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->health_zone == NULL) {
        return NGX_OK;
    }

    z = lmcf->health_zone;
    now = ngx_current_msec;
    rc = NGX_OK;

    ngx_http_llm_zone_lock(z);

    s = ngx_http_llm_health_slot(z, &p->name,
                                 NGX_HTTP_LLM_SLOT_PROVIDER);

    if (s && s->cooling) {

        if ((ngx_msec_int_t) (s->cooldown_until - now) > 0) {
            *retry = s->cooldown_until - now;
            rc = NGX_DECLINED;

        } else if (s->probing
                   && (ngx_msec_int_t) (now - s->probe_start)
                      < (ngx_msec_int_t) lmcf->health_cooldown)
        {
            /* another request is the probe; it has not answered yet */
            *retry = 1000;
            rc = NGX_DECLINED;

        } else {
            s->probing = 1;
            s->probe_start = now;

            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "llm: probing provider \"%V\" after its "
                          "cool-down", &p->name);
        }
    }

    ngx_http_llm_zone_unlock(z);

    return rc;
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
