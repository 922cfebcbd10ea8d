/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Shared-memory zones, one way for every feature that counts across
 * workers (health now; metrics, budgets and the cache next): the
 * "zone=NAME:SIZE" parameter, the zone itself, and the feature's state
 * in it, zeroed when the zone is new and kept over a reload, as
 * limit_req keeps its own.  A feature reads and writes its state under
 * ngx_http_llm_zone_lock(); where state outgrows one machine, this is
 * the place a shared backend (Redis) would go.
 */

#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);


/* "NAME:SIZE", at least min bytes */

ngx_int_t
ngx_http_llm_zone_parse(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *name,
    ssize_t *size, size_t min)
{
    u_char     *p;
    ngx_str_t   s;

    p = (u_char *) ngx_strchr(value->data, ':');

    if (p == NULL) {
        return NGX_ERROR;
    }

    name->data = value->data;
    name->len = p - value->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    *size = ngx_parse_size(&s);

    if (name->len == 0 || *size == NGX_ERROR) {
        return NGX_ERROR;
    }

    if ((size_t) *size < min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", value);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A zone holding a feature's state of state_size bytes; directive names
 * the feature in messages.  NULL: the error was logged.
 */

ngx_http_llm_zone_t *
ngx_http_llm_zone_add(ngx_conf_t *cf, const char *directive, ngx_str_t *name,
    ssize_t size, size_t state_size)
{
    ngx_shm_zone_t       *shm_zone;
    ngx_http_llm_zone_t  *zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, &ngx_http_llm_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NULL;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->directive = directive;
    zone->state_size = state_size;

    shm_zone->init = ngx_http_llm_zone_init;
    shm_zone->data = zone;

    return zone;
}


/* a reload keeps the old zone's state; a new zone gets it zeroed */

static ngx_int_t
ngx_http_llm_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_zone_t  *ozone = data;

    ngx_http_llm_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->shpool = ozone->shpool;
        zone->state = ozone->state;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->state = zone->shpool->data;
        return NGX_OK;
    }

    zone->state = ngx_slab_calloc(zone->shpool, zone->state_size);
    if (zone->state == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "%s zone \"%V\" is too small", zone->directive,
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    zone->shpool->data = zone->state;

    return NGX_OK;
}
