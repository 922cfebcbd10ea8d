/*
 * libFuzzer target for llm_json_tree() (src/core/llm_json_tree.c).
 *
 * Input: a JSON text.  When the scanner finds it valid:
 *
 *   - the arena tree is cJSON's tree of the same bytes, node by node
 *     (json_same.h), unless cJSON refuses them;
 *   - each object's and array's bytes (llm_json_arena_raw()) are that
 *     value's: cJSON makes the same of them, and a copy of a node is
 *     not taken for one of the arena's;
 *   - with every other string value given as a text, the tree is
 *     cJSON's tree of the bytes with a mark written in each text's
 *     place: texts are skipped whole, nothing else.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json.h"
#include "llm_json_scan.h"
#include "fuzz_check.h"
#include "json_same.h"


#define MARK_LEN  8
#define MAX_TEXTS 4096


typedef struct {
    llm_json_text_t  texts[MAX_TEXTS];
    int              n;
    int              seen;
} texts_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
mark(char *out, int i)
{
    snprintf(out, MARK_LEN + 1, "<%06d>", i);
}


/* every other string value, in the order of the bytes */

static int
collect(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    texts_t  *t = data;

    if (type == LLM_JSON_STRING && (t->seen++ & 1) == 0 && t->n < MAX_TEXTS)
    {
        t->texts[t->n].start = start + 1;
        t->texts[t->n].len = end - start - 2;
        t->n++;
    }

    return LLM_OK;
}


/* every container of the tree against its own bytes */

static void
raw_same(llm_json_arena_t *arena, llm_json_t *j, int *budget)
{
    size_t        len;
    cJSON        *ref, *dup;
    llm_json_t   *c;
    const char   *start;

    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        check(!llm_json_arena_raw(arena, j, &start, &len));
        return;
    }

    check(llm_json_arena_raw(arena, j, &start, &len));

    if ((*budget)-- > 0) {
        ref = cJSON_ParseWithLength(start, len);

        if (ref) {
            /* the member's key is its parent's bytes, not its own */
            ref->string = j->string;
            check(json_same(j, ref));
            ref->string = NULL;
        }

        cJSON_Delete(ref);

        dup = cJSON_Duplicate(j, 0);
        check(!llm_json_arena_raw(arena, dup, &start, &len));
        cJSON_Delete(dup);
    }

    for (c = j->child; c; c = c->next) {
        raw_same(arena, c, budget);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                i, budget;
    char              *body, *o;
    cJSON             *ref;
    texts_t           *t;
    llm_json_t        *tree;
    const char        *p, *from;
    llm_json_arena_t  *arena;

    p = (const char *) data;

    if (llm_json_valid(p, size, NULL) != LLM_OK) {
        return 0;
    }

    tree = llm_json_tree(p, size, NULL, 0, NULL, 0, &arena);
    check(tree != NULL);

    ref = cJSON_ParseWithLength(p, size);

    if (ref) {
        check(json_same(tree, ref));
    }

    budget = 64;
    raw_same(arena, tree, &budget);

    cJSON_Delete(ref);
    llm_json_arena_free(arena);

    /* with marks */

    t = calloc(1, sizeof(texts_t));
    check(t != NULL);
    check(llm_json_scan(p, size, LLM_JSON_SCAN_MAX_PATH, collect, t)
          == LLM_OK);

    /* a mark may be longer than its text: room for all of them */
    body = malloc(size + (size_t) t->n * MARK_LEN + 1);
    check(body != NULL);

    o = body;
    from = p;

    for (i = 0; i < t->n; i++) {
        memcpy(o, from, t->texts[i].start - from);
        o += t->texts[i].start - from;
        mark(o, i);
        o += MARK_LEN;
        from = t->texts[i].start + t->texts[i].len;
    }

    memcpy(o, from, p + size - from);
    o += p + size - from;

    tree = llm_json_tree(p, size, t->texts, t->n, mark, MARK_LEN, &arena);
    check(tree != NULL);

    ref = cJSON_ParseWithLength(body, o - body);

    if (ref) {
        check(json_same(tree, ref));
    }

    cJSON_Delete(ref);
    llm_json_arena_free(arena);
    free(body);
    free(t);

    return 0;
}
