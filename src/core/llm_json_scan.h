/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * A validating JSON scanner that builds nothing: one pass over the bytes,
 * no allocation, a callback for each value up to a depth.  The hot paths
 * (every stream event, every non-stream response) only need to find a
 * few members and check the whole is valid JSON; a cJSON tree costs
 * several times more, in allocations above all.
 */

#ifndef _LLM_JSON_SCAN_H_INCLUDED_
#define _LLM_JSON_SCAN_H_INCLUDED_


#include <stddef.h>


#define LLM_JSON_SCAN_MAX_DEPTH  1000   /* nesting accepted */
#define LLM_JSON_SCAN_MAX_PATH   16     /* max_depth for callbacks */


typedef enum {
    LLM_JSON_OBJECT = 0,
    LLM_JSON_ARRAY,
    LLM_JSON_STRING,
    LLM_JSON_NUMBER,
    LLM_JSON_TRUE,
    LLM_JSON_FALSE,
    LLM_JSON_NULL
} llm_json_type_e;


/* one step of the path to a value: a member name, or an array index */

typedef struct {
    const char  *key;        /* raw bytes between the quotes, or NULL */
    size_t       key_len;
    int          index;      /* array index when key is NULL */
} llm_json_step_t;


/*
 * Called after each value with depth <= max_depth is complete (children
 * first): path[0 .. depth - 1] leads to it, [start, end) are its bytes
 * (with the quotes for a string).  A non-zero return stops the scan and
 * is returned by llm_json_scan().
 */
typedef int (*llm_json_scan_pt)(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end);


/*
 * LLM_OK if p holds exactly one valid JSON value (white space around it
 * allowed), LLM_ERROR otherwise, or the callback's non-zero value.
 */
int llm_json_scan(const char *p, size_t n, int max_depth,
    llm_json_scan_pt handler, void *data);

/* the same, and *nul: 1 if a string escapes a NUL (\u0000) */
int llm_json_scan_nul(const char *p, size_t n, int max_depth,
    llm_json_scan_pt handler, void *data, unsigned *nul);

/* 1 if p holds exactly one valid JSON object (no tree is built) */
int llm_json_is_object(const char *p, size_t n);

/* "a string", "an object", ... for error messages */
const char *llm_json_scan_type_name(llm_json_type_e type);

/* strict validation only; on failure *err_off is where it failed */
int llm_json_valid(const char *p, size_t n, size_t *err_off);

/* 1 if the step is the member named by the literal s */
#define llm_json_step_is(step, s)                                            \
    ((step)->key && (step)->key_len == sizeof(s) - 1                         \
     && memcmp((step)->key, s, sizeof(s) - 1) == 0)

/* a non-negative integer value, or -1 (not an integer, or above 1e15) */
long long llm_json_scan_int(const char *start, const char *end);


#endif /* _LLM_JSON_SCAN_H_INCLUDED_ */
