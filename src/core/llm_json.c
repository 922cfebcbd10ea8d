/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * JSON facade over cJSON: see llm_json.h.
 */

#include <stdlib.h>
#include <string.h>

#include "llm_json.h"
#include "llm_json_scan.h"


llm_json_t *
llm_json_parse(const char *p, size_t n, size_t *err_off)
{
    const char  *end;
    llm_json_t  *j;

    /*
     * The scanner's bar first: cJSON lets invalid UTF-8 and lone
     * surrogates through, which must reach neither a provider nor a client.
     */

    if (llm_json_valid(p, n, err_off) != LLM_OK) {
        return NULL;
    }

    end = NULL;

    j = cJSON_ParseWithLengthOpts(p, n, &end, 0);

    if (j == NULL) {
        if (err_off) {
            *err_off = (end && end >= p && end <= p + n) ? (size_t) (end - p)
                                                         : 0;
        }

        return NULL;
    }

    /* cJSON stops at the end of the first value: reject trailing bytes */

    while (end < p + n
           && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
    {
        end++;
    }

    if (end != p + n) {
        if (err_off) {
            *err_off = (size_t) (end - p);
        }

        cJSON_Delete(j);
        return NULL;
    }

    return j;
}


void
llm_json_free(llm_json_t *j)
{
    cJSON_Delete(j);
}


int
llm_json_print(llm_json_t *j, llm_buf_t *b)
{
    int    rc;
    char  *s;

    s = cJSON_PrintUnformatted(j);
    if (s == NULL) {
        return LLM_ERROR;
    }

    rc = llm_buf_append(b, s, strlen(s));

    free(s);

    return rc;
}


long long
llm_json_get_int(llm_json_t *obj, const char *name)
{
    llm_json_t  *v;

    v = llm_json_get(obj, name);

    /* bounded so the cast is defined and sums cannot overflow */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)
        || v->valuedouble > 1e15)
    {
        return -1;
    }

    return (long long) v->valuedouble;
}


long long
llm_json_get_count(llm_json_t *obj, const char *name)
{
    long long  v;

    v = llm_json_get_int(obj, name);

    return v < 0 ? 0 : v;
}


int
llm_json_set(llm_json_t *obj, const char *name, llm_json_t *v)
{
    if (v == NULL) {
        return LLM_ERROR;
    }

    if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL) {
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v)
               ? LLM_OK : LLM_ERROR;
    }

    return cJSON_AddItemToObject(obj, name, v) ? LLM_OK : LLM_ERROR;
}


int
llm_json_set_str(llm_json_t *obj, const char *name, const char *s)
{
    return llm_json_set(obj, name, cJSON_CreateString(s));
}


void
llm_json_position(const char *p, size_t off, size_t *line, size_t *col)
{
    size_t  i;

    *line = 1;
    *col = 1;

    for (i = 0; i < off; i++) {
        if (p[i] == '\n') {
            (*line)++;
            *col = 1;

        } else {
            (*col)++;
        }
    }
}


const char *
llm_json_type_name(llm_json_t *j)
{
    if (cJSON_IsString(j)) {
        return "a string";
    }

    if (cJSON_IsNumber(j)) {
        return "a number";
    }

    if (cJSON_IsBool(j)) {
        return "a boolean";
    }

    if (cJSON_IsNull(j)) {
        return "null";
    }

    if (cJSON_IsArray(j)) {
        return "an array";
    }

    return "an object";
}
