/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_models: GET /v1/models and GET /v1/models/{id}, the models this
 * gateway serves (those whose provider has a key), from its
 * configuration.
 */

#include "ngx_http_llm_module.h"


/* GET /v1/models and GET /v1/models/{id} */

ngx_int_t
ngx_http_llm_models_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  id;
    llm_buf_t                  json;
    ngx_uint_t                 i, n;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_model_t      *m;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_llm_main_conf_t  *lmcf;

    ctx = ngx_http_llm_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_llm_ingress_method(r, ctx, NGX_HTTP_GET);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the id is what follows the location prefix: ids may contain '/' */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    id.data = r->uri.data;
    id.len = 0;

    if (!clcf->exact_match && r->uri.len > clcf->name.len) {
        id.data = r->uri.data + clcf->name.len;
        id.len = r->uri.len - clcf->name.len;

        if (id.len && id.data[0] == '/') {
            id.data++;
            id.len--;
        }
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    m = lmcf->models.elts;

    ngx_memzero(&json, sizeof(llm_buf_t));

    if (id.len) {
        for (i = 0; i < lmcf->models.nelts; i++) {
            if (ngx_http_llm_model_enabled(lmcf, &m[i])
                && m[i].name.len == id.len
                && ngx_strncmp(m[i].name.data, id.data, id.len) == 0)
            {
                break;
            }
        }

        if (i == lmcf->models.nelts) {
            return ngx_http_llm_reject(r, ctx, 404, "model",
                                       "model_not_found",
                                       "The model does not exist.");
        }

        m = &m[i];
        n = 1;

    } else {
        n = lmcf->models.nelts;

        if (llm_buf_append_lit(&json, "{\"object\":\"list\",\"data\":[")
            != LLM_OK)
        {
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        if (!ngx_http_llm_model_enabled(lmcf, &m[i])) {
            continue;
        }

        if ((json.len && json.data[json.len - 1] == '}'
             && llm_buf_append_lit(&json, ",") != LLM_OK)
            || llm_buf_append_lit(&json, "{\"id\":") != LLM_OK
            || llm_buf_append_json_string(&json, (char *) m[i].name.data,
                                          m[i].name.len) != LLM_OK
            || llm_buf_append_lit(&json, ",\"object\":\"model\",\"created\":")
               != LLM_OK
            || llm_buf_append_int(&json, lmcf->created) != LLM_OK
            || llm_buf_append_lit(&json, ",\"owned_by\":") != LLM_OK
            || (m[i].provider
                ? llm_buf_append_json_string(&json,
                                         (char *) m[i].provider->name.data,
                                         m[i].provider->name.len)
                /* a route belongs to no one provider */
                : llm_buf_append_lit(&json, "\"gateway\"")) != LLM_OK
            || llm_buf_append_lit(&json, "}") != LLM_OK)
        {
            goto failed;
        }
    }

    if (id.len == 0 && llm_buf_append_lit(&json, "]}") != LLM_OK) {
        goto failed;
    }

    rc = ngx_http_llm_send_json(r, NGX_HTTP_OK, &json);

    llm_buf_free(&json);

    return rc;

failed:

    llm_buf_free(&json);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
