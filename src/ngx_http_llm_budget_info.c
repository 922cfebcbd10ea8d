/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * What budgets have left, read without counting: llm_budget_info for a
 * client, llm_budget_refused_total for Prometheus.
 */

#include "ngx_http_llm_module.h"
#include "ngx_http_llm_metrics.h"
#include "ngx_http_llm_budget.h"


static ngx_int_t ngx_http_llm_budget_info_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_budget_info_zone(ngx_http_request_t *r,
    ngx_http_llm_budget_use_t *u, llm_buf_t *json);
static u_char *ngx_http_llm_budget_number(u_char *p, ngx_uint_t kind,
    int64_t v);


/*
 * llm_budget_info: what the client asking has left of each llm_budget of
 * the location, as JSON; its key is never shown
 */

char *
ngx_http_llm_budget_info(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_budget_info_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_budget_info_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    llm_buf_t                   json;
    ngx_uint_t                  i;
    ngx_http_llm_loc_conf_t    *llcf;
    ngx_http_llm_budget_use_t  *u;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (llm_buf_append_lit(&json, "{\"object\":\"budget\",\"budgets\":[")
        != LLM_OK)
    {
        goto failed;
    }

    for (i = 0; llcf->budgets && i < llcf->budgets->nelts; i++) {
        u = &((ngx_http_llm_budget_use_t *) llcf->budgets->elts)[i];

        rc = ngx_http_llm_budget_info_zone(r, u, &json);

        if (rc == NGX_ERROR) {
            goto failed;
        }
    }

    if (llm_buf_append_lit(&json, "]}") != LLM_OK) {
        goto failed;
    }

    rc = ngx_http_llm_send_json(r, NGX_HTTP_OK, &json);

    llm_buf_free(&json);

    return rc;

failed:

    llm_buf_free(&json);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* one budget of the client's: NGX_DECLINED, the client has no key in it */

static ngx_int_t
ngx_http_llm_budget_info_zone(ngx_http_request_t *r,
    ngx_http_llm_budget_use_t *u, llm_buf_t *json)
{
    u_char                          *p, buf[256];
    time_t                           now, left;
    int64_t                          window, used, reserved;
    ngx_str_t                        key;
    ngx_uint_t                       i;
    ngx_http_llm_budget_zone_t      *bz;
    ngx_http_llm_budget_limit_t     *l;
    ngx_http_llm_budget_counter_t    c[NGX_HTTP_LLM_BUDGET_LIMITS], *rec;

    bz = u->zone;

    if (ngx_http_complex_value(r, &bz->key, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (key.len == 0 || key.len > 65535) {
        return NGX_DECLINED;
    }

    ngx_http_llm_zone_lock(bz->zone);

    rec = ngx_http_llm_store_record(bz->zone, &key,
                                    bz->nlimits * sizeof(*rec), 0);
    if (rec) {
        ngx_memcpy(c, rec, bz->nlimits * sizeof(*rec));

    } else {
        ngx_memzero(c, sizeof(c));
    }

    ngx_http_llm_zone_unlock(bz->zone);

    now = ngx_time();

    if ((json->data[json->len - 1] == '}'
         && llm_buf_append_lit(json, ",") != LLM_OK)
        || llm_buf_append_lit(json, "{\"name\":") != LLM_OK
        || llm_buf_append_json_string(json, (char *) u->name.data,
                                      u->name.len) != LLM_OK
        || llm_buf_append_cstr(json, u->dry_run ? ",\"dry_run\":true"
                                                : ",\"dry_run\":false")
           != LLM_OK
        || llm_buf_append_lit(json, ",\"limits\":[") != LLM_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < bz->nlimits; i++) {
        l = &bz->limits[i];

        window = ngx_http_llm_budget_window(l, now, &left);

        used = (c[i].window == window) ? c[i].used : 0;
        reserved = c[i].reserved;

        p = ngx_sprintf(buf, "%s{\"type\":\"%s\",\"window\":\"",
                        i ? "," : "", ngx_http_llm_budget_kinds[l->kind]);

        if (l->period == 0) {
            p = ngx_sprintf(p, "month");

        } else if (l->period % 86400 == 0) {
            p = ngx_sprintf(p, "%Td", l->period / 86400);

        } else if (l->period % 3600 == 0) {
            p = ngx_sprintf(p, "%Th", l->period / 3600);

        } else if (l->period % 60 == 0) {
            p = ngx_sprintf(p, "%Tm", l->period / 60);

        } else {
            p = ngx_sprintf(p, "%Ts", l->period);
        }

        p = ngx_sprintf(p, "\",\"reset_seconds\":%T,\"limit\":", left);
        p = ngx_http_llm_budget_number(p, l->kind, l->max);
        p = ngx_sprintf(p, ",\"used\":");
        p = ngx_http_llm_budget_number(p, l->kind, used);
        p = ngx_sprintf(p, ",\"reserved\":");
        p = ngx_http_llm_budget_number(p, l->kind, reserved);
        p = ngx_sprintf(p, ",\"remaining\":");
        p = ngx_http_llm_budget_number(p, l->kind,
                                       ngx_max(l->max - used - reserved, 0));
        *p++ = '}';

        if (llm_buf_append(json, buf, p - buf) != LLM_OK) {
            return NGX_ERROR;
        }
    }

    return (llm_buf_append_lit(json, "]}") == LLM_OK) ? NGX_OK : NGX_ERROR;
}


/* a count, or a spend in USD (kept in 1e-10 USD) */

static u_char *
ngx_http_llm_budget_number(u_char *p, ngx_uint_t kind, int64_t v)
{
    if (kind != NGX_HTTP_LLM_BUDGET_SPEND) {
        return ngx_sprintf(p, "%L", v);
    }

    return ngx_sprintf(p, "%L.%010L", v / 10000000000LL, v % 10000000000LL);
}


/* llm_budget_refused_total, for llm_metrics_export */

void
ngx_http_llm_budget_metrics(ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_text_t *t)
{
    int64_t                      *counts, copy[2 * NGX_HTTP_LLM_BUDGET_LIMITS];
    ngx_uint_t                    i, j, m;
    ngx_http_llm_budget_zone_t  **bz;

    static const char  *modes[] = { "refused", "dry_run" };

    bz = lmcf->budgets->elts;

    for (i = 0; i < lmcf->budgets->nelts; i++) {
        ngx_http_llm_zone_lock(bz[i]->zone);

        counts = ngx_http_llm_store_record(bz[i]->zone,
                                           &ngx_http_llm_budget_refusals,
                                           sizeof(copy), 0);
        if (counts) {
            ngx_memcpy(copy, counts, sizeof(copy));

        } else {
            ngx_memzero(copy, sizeof(copy));
        }

        ngx_http_llm_zone_unlock(bz[i]->zone);

        for (j = 0; j < bz[i]->nlimits; j++) {
            for (m = 0; m < 2; m++) {
                ngx_http_llm_text(t, "llm_budget_refused_total{zone=\"%V\","
                                  "limit=\"%s\",mode=\"%s\"} %L\n",
                                  &bz[i]->name,
                                  ngx_http_llm_budget_kinds[
                                      bz[i]->limits[j].kind],
                                  modes[m], copy[2 * j + m]);
            }
        }
    }
}
