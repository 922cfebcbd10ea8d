/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The one place that knows the JSON library (cJSON).  Core files use the
 * llm_json_t alias and these helpers; swapping the library later stays
 * local to llm_json.[ch] and the few direct tree walks in the dialects.
 */

#ifndef _LLM_JSON_H_INCLUDED_
#define _LLM_JSON_H_INCLUDED_


#include <cjson/cJSON.h>

#include "llm_buf.h"


typedef cJSON  llm_json_t;


/*
 * Parses exactly n bytes.  On failure returns NULL and sets *err_off to
 * the byte offset where parsing stopped.
 */
llm_json_t *llm_json_parse(const char *p, size_t n, size_t *err_off);

void llm_json_free(llm_json_t *j);


/*
 * The tree of bytes the scanner has found valid, its nodes and strings in
 * an arena (llm_json_tree.c): several times cheaper than cJSON's parse.
 * Read it with cJSON's getters and print it; never change it with cJSON's
 * setters nor cJSON_Delete() it: llm_json_arena_free(*arena) frees it.
 *
 * The strings that start at texts[i].start (between the quotes, in the
 * order of the bytes) are not copied: mark(out, i) writes mark_len bytes
 * in their place.
 */

typedef struct llm_json_arena_s  llm_json_arena_t;

/* llm_json_arena.c: a few blocks, freed at once */
llm_json_arena_t *llm_json_arena_create(size_t size);
int llm_json_arena_owns(llm_json_arena_t *a, const void *p);

/*
 * Trees built in an arena, as cJSON's functions build them; linked with
 * llm_json_arena_add() only.  llm_json_arena_node(): an object, an
 * array, true; _copy(): cJSON_Duplicate(j, 1).
 */
llm_json_t *llm_json_arena_node(llm_json_arena_t *a, int type);
llm_json_t *llm_json_arena_string(llm_json_arena_t *a, const char *s);
llm_json_t *llm_json_arena_copy(llm_json_arena_t *a, llm_json_t *j);
llm_json_t *llm_json_arena_add(llm_json_arena_t *a, llm_json_t *to,
    const char *key, llm_json_t *item);

typedef struct {
    const char   *start;         /* between the quotes */
    size_t        len;
} llm_json_text_t;

typedef void (*llm_json_mark_pt)(char *out, int i);

llm_json_t *llm_json_tree(const char *p, size_t n,
    const llm_json_text_t *texts, int ntexts, llm_json_mark_pt mark,
    size_t mark_len, llm_json_arena_t **arena);
void llm_json_arena_free(llm_json_arena_t *a);

/* the same, in an arena that has others; p NULL: an empty object */
llm_json_t *llm_json_tree_in(llm_json_arena_t *a, const char *p, size_t n);

/* 1 if j is an object or array of the arena's tree: its bytes as given */
int llm_json_arena_raw(llm_json_arena_t *a, llm_json_t *j,
    const char **start, size_t *len);

/* appends the compact serialization of j to b */
int llm_json_print(llm_json_t *j, llm_buf_t *b);

/*
 * Member lookups: NULL when absent or of another type.  The first member
 * of the name, as cJSON_GetObjectItemCaseSensitive() finds it, inline:
 * the translations look up a lot, and keys are short.
 */

static inline int
llm_json_key_is(const char *key, const char *name)
{
    while (*key == *name) {
        if (*key == '\0') {
            return 1;
        }

        key++;
        name++;
    }

    return 0;
}


static inline llm_json_t *
llm_json_get(llm_json_t *obj, const char *name)
{
    llm_json_t  *c;

    if (obj == NULL || (obj->type & 0xff) != cJSON_Object) {
        return NULL;
    }

    for (c = obj->child; c; c = c->next) {
        if (c->string && llm_json_key_is(c->string, name)) {
            return c;
        }
    }

    return NULL;
}


#define llm_json_typed(v, t)                                                 \
    (((v) != NULL && ((v)->type & 0xff) == (t)) ? (v) : NULL)

static inline const char *
llm_json_get_str(llm_json_t *obj, const char *name)
{
    llm_json_t  *v;

    v = llm_json_typed(llm_json_get(obj, name), cJSON_String);

    return v ? v->valuestring : NULL;
}


static inline llm_json_t *
llm_json_get_obj(llm_json_t *obj, const char *name)
{
    return llm_json_typed(llm_json_get(obj, name), cJSON_Object);
}


static inline llm_json_t *
llm_json_get_arr(llm_json_t *obj, const char *name)
{
    return llm_json_typed(llm_json_get(obj, name), cJSON_Array);
}

/* integer member in [0, 1e15], or -1 when absent, not a number or out of
 * that range */
long long llm_json_get_int(llm_json_t *obj, const char *name);

/* a token count: the integer member, 0 when absent or invalid */
long long llm_json_get_count(llm_json_t *obj, const char *name);

/* sets (adds or replaces) a member */
int llm_json_set(llm_json_t *obj, const char *name, llm_json_t *v);
int llm_json_set_str(llm_json_t *obj, const char *name, const char *s);

/* 1-based line and column of a byte offset, for error messages */
void llm_json_position(const char *p, size_t off, size_t *line,
    size_t *col);

const char *llm_json_type_name(llm_json_t *j);


#endif /* _LLM_JSON_H_INCLUDED_ */
