/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * ngx_http_llm_module: the module, its directives and configuration: the
 * main and location confs and the handler directives; llm_provider is
 * parsed in ngx_http_llm_provider.c, llm_model and llm_alias in
 * ngx_http_llm_route.c.
 *
 *   location = /v1/chat/completions { llm_chat; }
 *   location /v1/models             { llm_models; }
 *   location /v1/messages           { llm_messages; }  (count_tokens too)
 *   location /v1/responses          { llm_responses; }
 */

#include "ngx_http_llm_module.h"

#if (__GLIBC__)
#include <malloc.h>
#endif


static char *ngx_http_llm_handler_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static ngx_int_t ngx_http_llm_preconfiguration(ngx_conf_t *cf);
static void *ngx_http_llm_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_create_loc_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_init_process(ngx_cycle_t *cycle);
static void ngx_http_llm_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_llm_heap_retain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_http_llm_commands[] = {

    { ngx_string("llm_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_provider,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_alias"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_llm_alias,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_health"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_health,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_chat"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_CHAT,
      NULL },

    { ngx_string("llm_models"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_MODELS,
      NULL },

    { ngx_string("llm_embeddings"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_EMBEDDINGS,
      NULL },

    { ngx_string("llm_messages"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_MESSAGES,
      NULL },

    { ngx_string("llm_responses"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_LLM_RESPONSES,
      NULL },

    { ngx_string("llm_responses_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_responses_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_budget_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_budget_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_llm_budget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_valid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.valid),
      NULL },

    { ngx_string("llm_cache_bypass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.bypass),
      NULL },

    { ngx_string("llm_no_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.no_cache),
      NULL },

    { ngx_string("llm_cache_lock"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.lock),
      NULL },

    { ngx_string("llm_cache_lock_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.lock_timeout),
      NULL },

    { ngx_string("llm_cache_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.scope),
      NULL },

    { ngx_string("llm_cache_client_control"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, cache.client_control),
      NULL },

    { ngx_string("llm_metrics"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_metrics,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_heap_retain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_heap_retain,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_budget_info"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_budget_info,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_metrics_export"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_metrics_export,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_debug_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_debug_log,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_template"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_llm_template_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_prepend_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE23,
      ngx_http_llm_message_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, prepend),
      NULL },

    { ngx_string("llm_append_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE23,
      ngx_http_llm_message_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, append),
      NULL },

    { ngx_string("llm_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.connect_timeout),
      NULL },

    { ngx_string("llm_send_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.send_timeout),
      NULL },

    { ngx_string("llm_read_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.read_timeout),
      NULL },

    { ngx_string("llm_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, upstream.buffer_size),
      NULL },

    { ngx_string("llm_retry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_retry,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_retry_after_cap"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, retry_after_cap),
      NULL },

    { ngx_string("llm_deadline"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, deadline),
      NULL },

    { ngx_string("llm_first_token_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, first_token_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_module_ctx = {
    ngx_http_llm_preconfiguration,         /* preconfiguration */
    ngx_http_llm_metrics_init,             /* postconfiguration */

    ngx_http_llm_create_main_conf,         /* create main configuration */
    ngx_http_llm_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_create_loc_conf,          /* create location configuration */
    ngx_http_llm_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_llm_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_module_ctx,              /* module context */
    ngx_http_llm_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_llm_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_exit_process,             /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_llm_handler_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_loc_conf_t *llcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (llcf->handler) {
        return "is duplicate";
    }

    llcf->handler = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cmd->offset == NGX_HTTP_LLM_MODELS) {
        clcf->handler = ngx_http_llm_models_handler;
        return NGX_CONF_OK;
    }

    /* chat, embeddings, messages, responses: operations over one ingress */
    switch (cmd->offset) {

    case NGX_HTTP_LLM_CHAT:
        llcf->op = &ngx_http_llm_chat_op;
        break;

    case NGX_HTTP_LLM_MESSAGES:
        llcf->op = &ngx_http_llm_messages_op;
        break;

    case NGX_HTTP_LLM_RESPONSES:
        llcf->op = &ngx_http_llm_responses_op;
        break;

    default:
        llcf->op = &ngx_http_llm_embeddings_op;
    }

    clcf->handler = ngx_http_llm_op_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_llm_add_variables(cf);
}


static void *
ngx_http_llm_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->providers, cf->pool, 4,
                       sizeof(ngx_http_llm_provider_t *))
        != NGX_OK
        || ngx_array_init(&lmcf->models, cf->pool, 8,
                          sizeof(ngx_http_llm_model_t))
           != NGX_OK)
    {
        return NULL;
    }

    lmcf->created = ngx_time();
    lmcf->heap_retain = NGX_CONF_UNSET_SIZE;

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->health_zone = NULL;
     *     lmcf->peer_inits = { 0 };
     */

    return lmcf;
}


static char *
ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_conf_init_size_value(lmcf->heap_retain, 32 * 1024 * 1024);

    /* the upstream module has set up its peers by now: wrap them */

    if (ngx_http_llm_peer_wrap(cf, lmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_llm_health_check(cf, lmcf);
}


/* llm_heap_retain size | off */

static char *
ngx_http_llm_heap_retain(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_str_t  *value;

    if (lmcf->heap_retain != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lmcf->heap_retain = 0;
        return NGX_CONF_OK;
    }

    lmcf->heap_retain = ngx_parse_size(&value[1]);

    if (lmcf->heap_retain == (size_t) NGX_ERROR
        || lmcf->heap_retain < 1024 * 1024)
    {
        return "takes \"off\" or a size of at least 1m";
    }

    return NGX_CONF_OK;
}


/*
 * Agent requests are hundreds of kilobytes: with glibc's defaults, the
 * memory a request freed goes back to the system at its end and comes
 * back, page by page, at the next one's, which costs more than the
 * request's whole translation.  A worker with LLM providers keeps up to
 * llm_heap_retain of freed heap, and takes allocations under an eighth
 * of it from the heap.
 */

static ngx_int_t
ngx_http_llm_init_process(ngx_cycle_t *cycle)
{
#if (__GLIBC__)
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_llm_module);

    if (lmcf == NULL || lmcf->providers.nelts == 0
        || lmcf->heap_retain == 0)
    {
        return NGX_OK;
    }

    if (mallopt(M_TRIM_THRESHOLD, (int) ngx_min(lmcf->heap_retain,
                                                NGX_MAX_INT32_VALUE)) == 0
        || mallopt(M_MMAP_THRESHOLD,
                   (int) ngx_min(lmcf->heap_retain / 8, 32 * 1024 * 1024))
           == 0)
    {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "llm: llm_heap_retain could not be set");
    }
#endif

    return NGX_OK;
}


static void
ngx_http_llm_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_cache_exit();
    llm_dialects_exit();
}


static void *
ngx_http_llm_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->handler = 0;
     *     conf->provider_confs = NULL;
     *     conf->upstream.* TLS fields: set per provider at merge
     */

    conf->retry_tries = NGX_CONF_UNSET_UINT;
    conf->retry_base = NGX_CONF_UNSET_MSEC;
    conf->retry_cap = NGX_CONF_UNSET_MSEC;
    conf->retry_after_cap = NGX_CONF_UNSET_MSEC;
    conf->deadline = NGX_CONF_UNSET_MSEC;
    conf->first_token_timeout = NGX_CONF_UNSET_MSEC;
    conf->debug_log = NGX_CONF_UNSET_SIZE;

    ngx_http_llm_cache_create_conf(&conf->cache);
    conf->budgets = NGX_CONF_UNSET_PTR;

    conf->upstream.local = NGX_CONF_UNSET_PTR;
    conf->upstream.socket_keepalive = NGX_CONF_UNSET;
    conf->upstream.next_upstream_tries = NGX_CONF_UNSET_UINT;
    conf->upstream.connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.send_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.read_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.next_upstream_timeout = NGX_CONF_UNSET_MSEC;
    conf->upstream.buffer_size = NGX_CONF_UNSET_SIZE;
    conf->upstream.pass_headers = NGX_CONF_UNSET_PTR;

    /* the hardcoded values: streams are never buffered */
    conf->upstream.cyclic_temp_file = 0;
    conf->upstream.buffering = 0;
    conf->upstream.ignore_client_abort = 0;
    conf->upstream.send_lowat = 0;
    conf->upstream.bufs.num = 0;
    conf->upstream.busy_buffers_size = 0;
    conf->upstream.max_temp_file_size = 0;
    conf->upstream.temp_file_write_size = 0;
    conf->upstream.intercept_errors = 0;
    conf->upstream.pass_request_headers = 0;
    conf->upstream.pass_request_body = 0;
    conf->upstream.force_ranges = 0;

    ngx_str_set(&conf->upstream.module, "llm");

    return conf;
}


static char *
ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_loc_conf_t *prev = parent;
    ngx_http_llm_loc_conf_t *conf = child;

    ngx_uint_t                  i, j;
    ngx_flag_t                  reuse;
    ngx_http_upstream_conf_t   *uc;
    ngx_http_llm_provider_t   **pp;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_llm_main_conf_t   *lmcf;

    ngx_conf_merge_uint_value(conf->retry_tries, prev->retry_tries, 3);
    ngx_conf_merge_msec_value(conf->retry_base, prev->retry_base, 250);
    ngx_conf_merge_msec_value(conf->retry_cap, prev->retry_cap, 10000);
    ngx_conf_merge_msec_value(conf->retry_after_cap,
                              prev->retry_after_cap, 30000);
    ngx_conf_merge_msec_value(conf->deadline, prev->deadline, 0);
    ngx_conf_merge_msec_value(conf->first_token_timeout,
                              prev->first_token_timeout, 0);

    ngx_conf_merge_ptr_value(conf->upstream.local,
                              prev->upstream.local, NULL);

    ngx_conf_merge_value(conf->upstream.socket_keepalive,
                              prev->upstream.socket_keepalive, 0);

    ngx_conf_merge_uint_value(conf->upstream.next_upstream_tries,
                              prev->upstream.next_upstream_tries, 0);

    ngx_conf_merge_msec_value(conf->upstream.connect_timeout,
                              prev->upstream.connect_timeout, 10000);

    ngx_conf_merge_msec_value(conf->upstream.send_timeout,
                              prev->upstream.send_timeout, 60000);

    /* a non-stream generation by a reasoning model takes minutes */
    ngx_conf_merge_msec_value(conf->upstream.read_timeout,
                              prev->upstream.read_timeout, 600000);

    ngx_conf_merge_msec_value(conf->upstream.next_upstream_timeout,
                              prev->upstream.next_upstream_timeout, 0);

    ngx_conf_merge_size_value(conf->upstream.buffer_size,
                              prev->upstream.buffer_size, 16384);

    ngx_conf_merge_size_value(conf->debug_log, prev->debug_log, 0);

    if (ngx_http_llm_cache_merge_conf(cf, &prev->cache, &conf->cache)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_ptr_value(conf->budgets, prev->budgets, NULL);

    if (ngx_http_llm_budget_merge(cf, conf->budgets) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* only failures before the request was sent: POST is not idempotent */
    conf->upstream.next_upstream = NGX_CONF_BITMASK_SET
                                   |NGX_HTTP_UPSTREAM_FT_ERROR
                                   |NGX_HTTP_UPSTREAM_FT_TIMEOUT;

    conf->upstream.ignore_headers = NGX_CONF_BITMASK_SET;

    if (conf->prepend == NULL) {
        conf->prepend = prev->prepend;
    }

    if (conf->append == NULL) {
        conf->append = prev->append;
    }

    /* the operations only: not llm_models, not other locations */
    if (conf->op == NULL) {
        return NGX_CONF_OK;
    }

    /*
     * The request body limit is client_max_body_size, enforced here so the
     * client gets a JSON 413: core's check is switched off for llm_chat.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    conf->max_body_size = clcf->client_max_body_size;
    clcf->client_max_body_size = 0;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    if (lmcf->providers.nelts == 0) {
        return NGX_CONF_OK;
    }

    conf->provider_confs = ngx_pcalloc(cf->pool,
                                       lmcf->providers.nelts
                                       * sizeof(ngx_http_upstream_conf_t));
    if (conf->provider_confs == NULL) {
        return NGX_CONF_ERROR;
    }

    pp = lmcf->providers.elts;

    for (i = 0; i < lmcf->providers.nelts; i++) {
        uc = &conf->provider_confs[i];

        /*
         * TLS sessions are cached per upstream server, and a resumed
         * session skips certificate verification: providers sharing an
         * upstream may trust different CAs, so they do not resume.
         */

        reuse = 1;

        for (j = 0; j < lmcf->providers.nelts; j++) {
            if (j != i && pp[j]->upstream == pp[i]->upstream) {
                reuse = 0;
            }
        }


        *uc = conf->upstream;
        uc->upstream = pp[i]->upstream;

#if (NGX_HTTP_SSL)
        uc->ssl = pp[i]->ssl;
        uc->ssl_name = pp[i]->ssl_name;
        uc->ssl_server_name = 1;
        uc->ssl_verify = pp[i]->ssl_verify;
        uc->ssl_session_reuse = reuse;
#endif
    }

    return NGX_CONF_OK;
}
