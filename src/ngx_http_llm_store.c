/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A key-value store with a lifetime, behind a small interface
 * (ngx_http_llm_store_ops_t: get and put), so that a tier shared by
 * several nginx nodes (Redis) can plug in beside the shared-memory one
 * here.  The Responses API keeps its conversations in it
 * (llm_responses_store), the response cache its answers and its locks
 * (llm_cache_zone).
 *
 * The shared-memory store: a red-black tree of entries by the CRC32 of
 * their key (the whole key compared on a match) and a queue from the most
 * to the least recently used.  A lookup drops an expired entry; when the
 * zone is full, expired entries near the least recently used end go
 * first, then the least recently used ones, until the new one fits.  An
 * entry larger than max_entry (an eighth of the zone unless told) is not
 * stored.  The tree lives in the zone: entries survive a reload.
 */

#include "ngx_http_llm_module.h"


typedef struct {
    ngx_rbtree_t           rbtree;
    ngx_rbtree_node_t      sentinel;
    ngx_queue_t            lru;          /* most recently used first */
    ngx_uint_t             ready;        /* the tree is initialised */
    size_t                 max_entry;
} ngx_http_llm_store_sh_t;


typedef struct {
    ngx_rbtree_node_t      node;         /* key: the key's CRC32 */
    ngx_queue_t            queue;
    time_t                 stored;
    time_t                 expires;
    size_t                 key_len;
    size_t                 value_len;
    u_char                 data[1];      /* key, then value */
} ngx_http_llm_store_entry_t;


static ngx_int_t ngx_http_llm_shm_get(ngx_http_llm_store_t *s,
    ngx_str_t *key, ngx_pool_t *pool, ngx_str_t *value, time_t *age);
static ngx_int_t ngx_http_llm_shm_put(ngx_http_llm_store_t *s,
    ngx_str_t *key, ngx_str_t *value, time_t lifetime);
static ngx_int_t ngx_http_llm_shm_lock(ngx_http_llm_store_t *s,
    ngx_str_t *key, time_t lifetime);
static void ngx_http_llm_shm_unlock(ngx_http_llm_store_t *s,
    ngx_str_t *key);
static void ngx_http_llm_store_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static const ngx_http_llm_store_ops_t  ngx_http_llm_shm_store = {
    "shared memory",
    ngx_http_llm_shm_get,
    ngx_http_llm_shm_put,
    ngx_http_llm_shm_lock,
    ngx_http_llm_shm_unlock
};


/*
 * "zone=NAME:SIZE [lifetime=TIME] [max_entry=SIZE]": the directive's
 * arguments from first
 */

char *
ngx_http_llm_store_conf(ngx_conf_t *cf, ngx_uint_t first,
    ngx_http_llm_store_t **sp)
{
    ssize_t                size, max;
    ngx_str_t             *value, name, s;
    ngx_uint_t             i;
    ngx_http_llm_store_t  *store;

    if (*sp) {
        return "is duplicate";
    }

    value = cf->args->elts;

    store = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_store_t));
    if (store == NULL) {
        return NGX_CONF_ERROR;
    }

    store->ops = &ngx_http_llm_shm_store;
    store->lifetime = 3600;
    ngx_str_null(&name);
    size = 0;
    max = 0;

    for (i = first; i < cf->args->nelts; i++) {

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

        if (ngx_strncmp(value[i].data, "lifetime=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            store->lifetime = ngx_parse_time(&s, 1);
            if (store->lifetime == (time_t) NGX_ERROR
                || store->lifetime == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_entry=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            max = ngx_parse_size(&s);
            if (max == NGX_ERROR || max == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        return "needs zone=NAME:SIZE";
    }

    if (max > size / 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "max_entry=%z is more than half the zone", max);
        return NGX_CONF_ERROR;
    }

    store->data = ngx_http_llm_store_zone(cf, (char *) value[0].data, &name,
                                          size);
    if (store->data == NULL) {
        return NGX_CONF_ERROR;
    }

    store->name = name;
    store->max_entry = max ? (size_t) max : (size_t) size / 8;
    *sp = store;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* a zone of keyed entries: a store's, or a feature's records */

ngx_http_llm_zone_t *
ngx_http_llm_store_zone(ngx_conf_t *cf, const char *directive,
    ngx_str_t *name, ssize_t size)
{
    return ngx_http_llm_zone_add(cf, directive, name, size,
                                 sizeof(ngx_http_llm_store_sh_t));
}


/* the tree is made on first use, in the zone, under its lock */

static ngx_http_llm_store_sh_t *
ngx_http_llm_store_sh(ngx_http_llm_zone_t *z)
{
    ngx_http_llm_store_sh_t  *sh;

    sh = z->state;

    if (!sh->ready) {
        ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                        ngx_http_llm_store_rbtree_insert);
        ngx_queue_init(&sh->lru);
        sh->ready = 1;

        /* a full zone is the rule, not an alert: entries make room */
        z->shpool->log_nomem = 0;
    }

    return sh;
}


static ngx_http_llm_store_entry_t *
ngx_http_llm_store_find(ngx_http_llm_store_sh_t *sh, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                    rc;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_llm_store_entry_t  *e;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        e = (ngx_http_llm_store_entry_t *) node;

        rc = ngx_memn2cmp(key->data, e->data, key->len, e->key_len);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_llm_store_drop(ngx_http_llm_zone_t *z, ngx_http_llm_store_sh_t *sh,
    ngx_http_llm_store_entry_t *e)
{
    ngx_queue_remove(&e->queue);
    ngx_rbtree_delete(&sh->rbtree, &e->node);
    ngx_slab_free_locked(z->shpool, e);
}


static ngx_int_t
ngx_http_llm_shm_get(ngx_http_llm_store_t *s, ngx_str_t *key,
    ngx_pool_t *pool, ngx_str_t *value, time_t *age)
{
    uint32_t                     hash;
    ngx_int_t                    rc;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_store_sh_t     *sh;
    ngx_http_llm_store_entry_t  *e;

    z = s->data;
    hash = ngx_crc32_short(key->data, key->len);
    rc = NGX_DECLINED;

    ngx_http_llm_zone_lock(z);

    sh = ngx_http_llm_store_sh(z);
    e = ngx_http_llm_store_find(sh, key, hash);

    if (e && e->expires <= ngx_time()) {
        ngx_http_llm_store_drop(z, sh, e);
        e = NULL;
        rc = NGX_DONE;
    }

    if (e) {
        if (age) {
            *age = ngx_max(ngx_time() - e->stored, 0);
        }

        value->data = ngx_pnalloc(pool, e->value_len);

        if (value->data == NULL) {
            rc = NGX_ERROR;

        } else {
            value->len = e->value_len;
            ngx_memcpy(value->data, e->data + e->key_len, e->value_len);

            ngx_queue_remove(&e->queue);
            ngx_queue_insert_head(&sh->lru, &e->queue);
            rc = NGX_OK;
        }
    }

    ngx_http_llm_zone_unlock(z);

    return rc;
}


/* the expired among the least recently used n entries go */

static ngx_uint_t
ngx_http_llm_store_expire(ngx_http_llm_zone_t *z,
    ngx_http_llm_store_sh_t *sh, ngx_uint_t n)
{
    time_t                       now;
    ngx_uint_t                   dropped;
    ngx_queue_t                 *q, *prev;
    ngx_http_llm_store_entry_t  *e;

    now = ngx_time();
    dropped = 0;

    for (q = ngx_queue_last(&sh->lru);
         q != ngx_queue_sentinel(&sh->lru) && n--;
         q = prev)
    {
        prev = ngx_queue_prev(q);
        e = ngx_queue_data(q, ngx_http_llm_store_entry_t, queue);

        if (e->expires <= now) {
            ngx_http_llm_store_drop(z, sh, e);
            dropped++;
        }
    }

    return dropped;
}


/* an entry of size bytes, room made if need be; NULL: none */

static ngx_http_llm_store_entry_t *
ngx_http_llm_store_alloc(ngx_http_llm_zone_t *z, ngx_http_llm_store_sh_t *sh,
    size_t size)
{
    ngx_queue_t                 *q;
    ngx_http_llm_store_entry_t  *e;

    /* a little housekeeping on every write, as limit_req does */
    (void) ngx_http_llm_store_expire(z, sh, 2);

    e = ngx_slab_alloc_locked(z->shpool, size);

    if (e == NULL && ngx_http_llm_store_expire(z, sh, 16)) {
        e = ngx_slab_alloc_locked(z->shpool, size);
    }

    /* then room made from the least recently used end */

    while (e == NULL && !ngx_queue_empty(&sh->lru)) {
        q = ngx_queue_last(&sh->lru);
        ngx_http_llm_store_drop(z, sh, ngx_queue_data(q,
                                    ngx_http_llm_store_entry_t, queue));

        e = ngx_slab_alloc_locked(z->shpool, size);
    }

    return e;
}


/* under the zone's lock: key's entry is value now; NGX_DECLINED: no room */

static ngx_int_t
ngx_http_llm_store_set(ngx_http_llm_zone_t *z, ngx_http_llm_store_sh_t *sh,
    ngx_str_t *key, uint32_t hash, ngx_str_t *value, time_t lifetime)
{
    ngx_http_llm_store_entry_t  *e;

    e = ngx_http_llm_store_find(sh, key, hash);

    if (e) {
        ngx_http_llm_store_drop(z, sh, e);
    }

    e = ngx_http_llm_store_alloc(z, sh, offsetof(ngx_http_llm_store_entry_t,
                                                 data)
                                        + key->len + value->len);
    if (e == NULL) {
        return NGX_DECLINED;
    }

    e->node.key = hash;
    e->stored = ngx_time();
    e->expires = e->stored + lifetime;
    e->key_len = key->len;
    e->value_len = value->len;
    ngx_memcpy(e->data, key->data, key->len);
    if (value->len) {
        ngx_memcpy(e->data + key->len, value->data, value->len);
    }

    ngx_rbtree_insert(&sh->rbtree, &e->node);
    ngx_queue_insert_head(&sh->lru, &e->queue);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_shm_put(ngx_http_llm_store_t *s, ngx_str_t *key,
    ngx_str_t *value, time_t lifetime)
{
    uint32_t                  hash;
    ngx_int_t                 rc;
    ngx_http_llm_zone_t      *z;

    if (offsetof(ngx_http_llm_store_entry_t, data) + key->len + value->len
        > s->max_entry)
    {
        return NGX_DECLINED;
    }

    z = s->data;
    hash = ngx_crc32_short(key->data, key->len);

    ngx_http_llm_zone_lock(z);

    rc = ngx_http_llm_store_set(z, ngx_http_llm_store_sh(z), key, hash, value,
                                lifetime ? lifetime : s->lifetime);

    ngx_http_llm_zone_unlock(z);

    return rc;
}


/* a lock is an empty entry: taken when none is there, or it expired */

static ngx_int_t
ngx_http_llm_shm_lock(ngx_http_llm_store_t *s, ngx_str_t *key,
    time_t lifetime)
{
    uint32_t                     hash;
    ngx_str_t                    none;
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_store_sh_t     *sh;
    ngx_http_llm_store_entry_t  *e;

    z = s->data;
    hash = ngx_crc32_short(key->data, key->len);
    ngx_str_null(&none);

    ngx_http_llm_zone_lock(z);

    sh = ngx_http_llm_store_sh(z);
    e = ngx_http_llm_store_find(sh, key, hash);

    if (e && e->expires > ngx_time()) {
        ngx_http_llm_zone_unlock(z);
        return NGX_BUSY;
    }

    /* no room even for a lock: go without one */
    (void) ngx_http_llm_store_set(z, sh, key, hash, &none, lifetime);

    ngx_http_llm_zone_unlock(z);

    return NGX_OK;
}


/*
 * A feature's own record under key (budgets' counters), read and written
 * in place under ngx_http_llm_zone_lock(): NULL when there is none and
 * create is not set, or no room; a new one is zeroed, 8-byte aligned,
 * never expires, and goes first when the zone is full and it is the
 * least recently used.
 */

void *
ngx_http_llm_store_record(ngx_http_llm_zone_t *z, ngx_str_t *key,
    size_t size, ngx_uint_t create)
{
    size_t                       off;
    uint32_t                     hash;
    ngx_http_llm_store_sh_t     *sh;
    ngx_http_llm_store_entry_t  *e;

    sh = ngx_http_llm_store_sh(z);
    hash = ngx_crc32_short(key->data, key->len);
    off = ngx_align(key->len, 8);

    e = ngx_http_llm_store_find(sh, key, hash);

    if (e) {
        ngx_queue_remove(&e->queue);
        ngx_queue_insert_head(&sh->lru, &e->queue);
        return e->data + off;
    }

    if (!create) {
        return NULL;
    }

    e = ngx_http_llm_store_alloc(z, sh, offsetof(ngx_http_llm_store_entry_t,
                                                 data)
                                        + off + size);
    if (e == NULL) {
        return NULL;
    }

    e->node.key = hash;
    e->stored = ngx_time();
    e->expires = NGX_MAX_TIME_T_VALUE;
    e->key_len = key->len;
    e->value_len = off - key->len + size;
    ngx_memcpy(e->data, key->data, key->len);
    ngx_memzero(e->data + key->len, off - key->len + size);

    ngx_rbtree_insert(&sh->rbtree, &e->node);
    ngx_queue_insert_head(&sh->lru, &e->queue);

    return e->data + off;
}


static void
ngx_http_llm_shm_unlock(ngx_http_llm_store_t *s, ngx_str_t *key)
{
    ngx_http_llm_zone_t         *z;
    ngx_http_llm_store_sh_t     *sh;
    ngx_http_llm_store_entry_t  *e;

    z = s->data;

    ngx_http_llm_zone_lock(z);

    sh = ngx_http_llm_store_sh(z);
    e = ngx_http_llm_store_find(sh, key, ngx_crc32_short(key->data,
                                                         key->len));
    if (e) {
        ngx_http_llm_store_drop(z, sh, e);
    }

    ngx_http_llm_zone_unlock(z);
}


static void
ngx_http_llm_store_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t           **p;
    ngx_http_llm_store_entry_t   *e, *et;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            e = (ngx_http_llm_store_entry_t *) node;
            et = (ngx_http_llm_store_entry_t *) temp;

            p = (ngx_memn2cmp(e->data, et->data, e->key_len, et->key_len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
