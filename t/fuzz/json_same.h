/*
 * json_same(a, b): 1 if two cJSON trees hold the same, node by node:
 * types, keys, strings, numbers (valuedouble and valueint), members in
 * order (duplicates too, unlike cJSON_Compare()), and cJSON's link of an
 * array's first element to its last.  For llm_json_tree() against
 * cJSON_Parse() (t/unit/test_json_tree.c, t/fuzz/fuzz_json_tree.c).
 */

#ifndef _JSON_SAME_H_INCLUDED_
#define _JSON_SAME_H_INCLUDED_


#include <string.h>

#include <cjson/cJSON.h>


static inline int
json_same_str(const char *a, const char *b)
{
    return (a == NULL) ? (b == NULL) : (b != NULL && strcmp(a, b) == 0);
}


static inline int
json_same(const cJSON *a, const cJSON *b)
{
    const cJSON  *x, *y, *last;

    if ((a->type & 0xff) != (b->type & 0xff)
        || !json_same_str(a->string, b->string)
        || !json_same_str(a->valuestring, b->valuestring)
        || memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0
        || a->valueint != b->valueint)
    {
        return 0;
    }

    last = NULL;

    for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
        if (!json_same(x, y) || (x != a->child && x->prev != last)) {
            return 0;
        }

        last = x;
    }

    return x == NULL && y == NULL
           && (a->child == NULL || a->child->prev == last);
}


#endif /* _JSON_SAME_H_INCLUDED_ */
