/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * cJSON trees in an arena (see llm_json.h): a few blocks, freed at once,
 * instead of an allocation for each node, key and string and a walk to
 * free them.  The request's tree (llm_json_tree.c) lives in one, and so
 * do the trees the dialects build to print (Gemini's schemas).
 *
 * The nodes are cJSON's: read and print them with cJSON; link them with
 * llm_json_arena_add() only (cJSON's setters would mix in its own
 * allocations).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json.h"
#include "llm_json_arena.h"


#define LLM_JSON_ARENA_MIN    4096


llm_json_arena_t *
llm_json_arena_create(size_t size)
{
    llm_json_arena_t  *a;

    size += sizeof(llm_json_arena_t);

    if (size < LLM_JSON_ARENA_MIN) {
        size = LLM_JSON_ARENA_MIN;
    }

    a = malloc(size);
    if (a == NULL) {
        return NULL;
    }

    a->next = NULL;
    a->current = a;
    a->grow = size;
    a->pos = (char *) (a + 1);
    a->last = (char *) a + size;

    return a;
}


/* a new block for what does not fit in the current one */

void *
llm_json_arena_grow(llm_json_arena_t *first, size_t size)
{
    char              *p;
    size_t             n;
    llm_json_arena_t  *a;

    n = first->grow > size + sizeof(llm_json_arena_t) + 8
        ? first->grow : size + sizeof(llm_json_arena_t) + 8;

    a = malloc(n);
    if (a == NULL) {
        return NULL;
    }

    a->next = NULL;
    a->last = (char *) a + n;

    first->current->next = a;
    first->current = a;
    first->grow *= 2;

    p = (char *) (((uintptr_t) (a + 1) + 7) & ~(uintptr_t) 7);
    a->pos = p + size;

    return p;
}


/* 1 if p is in one of the arena's blocks */

int
llm_json_arena_owns(llm_json_arena_t *a, const void *p)
{
    for ( /* void */ ; a; a = a->next) {
        if ((const char *) p >= (const char *) (a + 1)
            && (const char *) p < a->last)
        {
            return 1;
        }
    }

    return 0;
}


void
llm_json_arena_free(llm_json_arena_t *a)
{
    llm_json_arena_t  *next;

    while (a) {
        next = a->next;
        free(a);
        a = next;
    }
}


/* building */


llm_json_t *
llm_json_arena_node(llm_json_arena_t *a, int type)
{
    llm_json_t  *j;

    j = llm_json_arena_alloc(a, sizeof(llm_json_t));

    if (j != NULL) {
        memset(j, 0, sizeof(llm_json_t));
        j->type = type;
        j->valueint = (type == cJSON_True);
    }

    return j;
}


static char *
llm_json_arena_strdup(llm_json_arena_t *a, const char *s)
{
    char    *d;
    size_t   n;

    n = strlen(s) + 1;

    d = llm_json_arena_alloc(a, n);

    if (d != NULL) {
        memcpy(d, s, n);
    }

    return d;
}


llm_json_t *
llm_json_arena_string(llm_json_arena_t *a, const char *s)
{
    llm_json_t  *j;

    j = llm_json_arena_node(a, cJSON_String);

    if (j == NULL) {
        return NULL;
    }

    j->valuestring = llm_json_arena_strdup(a, s);

    return j->valuestring ? j : NULL;
}


/* item as the last member (key) or element (key NULL) of to */

llm_json_t *
llm_json_arena_add(llm_json_arena_t *a, llm_json_t *to, const char *key,
    llm_json_t *item)
{
    if (to == NULL || item == NULL) {
        return NULL;
    }

    item->string = NULL;

    if (key) {
        item->string = llm_json_arena_strdup(a, key);
        if (item->string == NULL) {
            return NULL;
        }
    }

    item->next = NULL;

    /* cJSON keeps the last element in the first one's prev */

    if (to->child == NULL) {
        to->child = item;
        item->prev = item;

    } else {
        item->prev = to->child->prev;
        to->child->prev->next = item;
        to->child->prev = item;
    }

    return item;
}


/* a deep copy of j (its key not included), as cJSON_Duplicate(j, 1) */

llm_json_t *
llm_json_arena_copy(llm_json_arena_t *a, llm_json_t *j)
{
    llm_json_t  *d, *c, *dc;

    d = llm_json_arena_node(a, j->type & 0xff);
    if (d == NULL) {
        return NULL;
    }

    d->valueint = j->valueint;
    d->valuedouble = j->valuedouble;

    if (j->valuestring) {
        d->valuestring = llm_json_arena_strdup(a, j->valuestring);
        if (d->valuestring == NULL) {
            return NULL;
        }
    }

    for (c = j->child; c; c = c->next) {
        dc = llm_json_arena_copy(a, c);

        if (dc == NULL || llm_json_arena_add(a, d, c->string, dc) == NULL) {
            return NULL;
        }
    }

    return d;
}
