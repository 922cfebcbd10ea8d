/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The arena's blocks, for the files that fill one a node at a time
 * (llm_json_arena.c, llm_json_tree.c): the allocation inline, a new block
 * out of line.
 */

#ifndef _LLM_JSON_ARENA_H_INCLUDED_
#define _LLM_JSON_ARENA_H_INCLUDED_


#include <stdint.h>

#include "llm_json.h"


struct llm_json_arena_s {
    llm_json_arena_t  *next;
    llm_json_arena_t  *current;     /* the first block's: being filled */
    size_t             grow;        /* the first block's: the next size */
    char              *pos;
    char              *last;
};


void *llm_json_arena_grow(llm_json_arena_t *first, size_t size);


/* size bytes, 8-aligned */

static inline void *
llm_json_arena_alloc(llm_json_arena_t *first, size_t size)
{
    char              *p;
    llm_json_arena_t  *a;

    a = first->current;
    p = (char *) (((uintptr_t) a->pos + 7) & ~(uintptr_t) 7);

    /* aligning may have gone past the end */
    if (p <= a->last && (size_t) (a->last - p) >= size) {
        a->pos = p + size;
        return p;
    }

    return llm_json_arena_grow(first, size);
}


#endif /* _LLM_JSON_ARENA_H_INCLUDED_ */
