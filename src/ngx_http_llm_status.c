/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_status: a live status page of the llm_metrics counters, one
 * self-contained page (ngx_http_llm_status_page.h) that polls the same
 * location's "?format=json", the counters as JSON.
 */

#include "ngx_http_llm_metrics.h"
#include "ngx_http_llm_status_page.h"


static ngx_int_t ngx_http_llm_status_handler(ngx_http_request_t *r);


static void
ngx_http_llm_json_histogram(ngx_http_llm_text_t *t, const char *name,
    ngx_http_llm_histogram_t *h, const ngx_msec_t *bounds, ngx_uint_t n,
    ngx_uint_t micro)
{
    ngx_uint_t  i;

    ngx_http_llm_text(t, ",\"%s\":{\"le\":[", name);

    for (i = 0; i < n; i++) {
        if (micro) {
            ngx_http_llm_text(t, "%s%ui.%06ui", i ? "," : "",
                              bounds[i] / 1000000, bounds[i] % 1000000);
        } else {
            ngx_http_llm_text(t, "%s%ui.%03ui", i ? "," : "",
                              bounds[i] / 1000, bounds[i] % 1000);
        }
    }

    ngx_http_llm_text(t, "],\"buckets\":[");

    for (i = 0; i < n; i++) {
        ngx_http_llm_text(t, "%s%uL", i ? "," : "", h->buckets[i]);
    }

    if (micro) {
        ngx_http_llm_text(t, "],\"sum\":%uL.%06uL,\"count\":%uL}",
                          h->sum / 1000000, h->sum % 1000000, h->count);
    } else {
        ngx_http_llm_text(t, "],\"sum\":%uL.%03uL,\"count\":%uL}",
                          h->sum / 1000, h->sum % 1000, h->count);
    }
}


static ngx_int_t
ngx_http_llm_status_json(ngx_http_request_t *r, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_metrics_sh_t *sh)
{
    ngx_int_t                     rc;
    ngx_str_t                     none, *provider;
    ngx_uint_t                    i, j, n;
    ngx_time_t                   *tp;
    ngx_http_llm_text_t           t;
    ngx_http_llm_metrics_slot_t  *s;

    ngx_memzero(&t, sizeof(ngx_http_llm_text_t));
    ngx_str_set(&none, "");

    tp = ngx_timeofday();

    ngx_http_llm_text(&t, "{\"time\":%T%03M,\"rejected\":{", tp->sec,
                      tp->msec);

    for (j = 0; j < NGX_HTTP_LLM_STATUSES; j++) {
        ngx_http_llm_text(&t, "%s\"%s\":%uL", j ? "," : "",
                          ngx_http_llm_status_names[j], sh->rejected[j]);
    }

    ngx_http_llm_text(&t, "},\"models\":[");

    for (i = 0, n = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind != NGX_HTTP_LLM_MSLOT_MODEL) {
            continue;
        }

        provider = ngx_http_llm_metrics_provider(lmcf, s);

        ngx_http_llm_text(&t, "%s{\"model\":\"%*s\",\"provider\":\"%V\","
                          "\"requests\":{", n++ ? "," : "", s->name_len,
                          s->name, provider ? provider : &none);

        for (j = 0; j < NGX_HTTP_LLM_STATUSES; j++) {
            ngx_http_llm_text(&t, "%s\"%s\":%uL", j ? "," : "",
                              ngx_http_llm_status_names[j], s->requests[j]);
        }

        ngx_http_llm_text(&t, "},\"streams\":%L,\"spend\":%uL.%010uL",
                          (int64_t) ngx_max(s->streams, 0),
                          s->spend / 10000000000ULL,
                          s->spend % 10000000000ULL);

        ngx_http_llm_json_histogram(&t, "duration", &s->duration,
                                    ngx_http_llm_time_buckets,
                                    NGX_HTTP_LLM_TIME_BUCKETS, 0);
        ngx_http_llm_json_histogram(&t, "ttft", &s->ttft,
                                    ngx_http_llm_time_buckets,
                                    NGX_HTTP_LLM_TIME_BUCKETS, 0);
        ngx_http_llm_json_histogram(&t, "tpot", &s->tpot,
                                    ngx_http_llm_tpot_buckets,
                                    NGX_HTTP_LLM_TPOT_BUCKETS, 1);

        ngx_http_llm_text(&t, ",\"tokens\":{\"input\":%uL,\"output\":%uL},"
                          "\"cache\":{", s->tokens[0].sum, s->tokens[1].sum);

        for (j = 0; j < NGX_HTTP_LLM_CACHE_STATUSES; j++) {
            ngx_http_llm_text(&t, "%s\"%s\":%uL", j ? "," : "",
                              ngx_http_llm_cache_metric_names[j],
                              s->cache[j]);
        }

        ngx_http_llm_text(&t, "}}");
    }

    ngx_http_llm_text(&t, "],\"providers\":[");

    for (i = 0, n = 0; i < sh->n; i++) {
        s = &sh->slots[i];

        if (s->kind != NGX_HTTP_LLM_MSLOT_PROVIDER) {
            continue;
        }

        ngx_http_llm_text(&t, "%s{\"provider\":\"%*s\",\"up\":%ui,"
                          "\"retries\":%uL,\"fallbacks\":%uL,"
                          "\"attempts\":{", n++ ? "," : "", s->name_len,
                          s->name, ngx_http_llm_provider_up(r, lmcf, s),
                          s->retries, s->fallbacks);

        for (j = 0; j < NGX_HTTP_LLM_OUTCOMES; j++) {
            ngx_http_llm_text(&t, "%s\"%s\":%uL", j ? "," : "",
                              ngx_http_llm_outcome_names[j], s->attempts[j]);
        }

        ngx_http_llm_text(&t, "}}");
    }

    ngx_http_llm_text(&t, "]}");

    if (t.failed) {
        llm_buf_free(&t.b);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_send_json(r, NGX_HTTP_OK, &t.b);

    llm_buf_free(&t.b);

    return rc;
}


/* llm_status: the page, or with ?format=json its figures */

static ngx_int_t
ngx_http_llm_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   format;
    llm_buf_t                   page;
    ngx_http_llm_metrics_sh_t  *sh;
    ngx_http_llm_main_conf_t   *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    rc = ngx_http_llm_metrics_request(r, lmcf);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
        && format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0)
    {
        sh = ngx_http_llm_metrics_snapshot(r, lmcf);
        if (sh == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_status_json(r, lmcf, sh);
    }

    page.data = (char *) ngx_http_llm_status_page;
    page.len = sizeof(ngx_http_llm_status_page) - 1;
    page.cap = 0;

    return ngx_http_llm_send_body(r, NGX_HTTP_OK, "text/html; charset=utf-8",
                                  &page);
}


/* llm_status */

char *
ngx_http_llm_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_llm_main_conf_t  *lmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_status_handler;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);
    lmcf->metrics_shown = 1;

    return NGX_CONF_OK;
}
