/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect's tools: OpenAI tools as functionDeclarations,
 * tool_choice as toolConfig, and JSON Schema as Gemini's Schema (for
 * tool parameters and response_format json_schema).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


/*
 * JSON Schema → Gemini's Schema (an OpenAPI 3.0 subset), for tool
 * parameters and response_format json_schema:
 *
 *   - kept: type (upper-cased), format (date-time, enum, int32, int64,
 *     float, double only), title, description, enum (strings only),
 *     properties, required (names that are in properties), items,
 *     anyOf, minItems, maxItems, minLength, maxLength, minProperties,
 *     maxProperties, minimum, maximum, pattern, propertyOrdering;
 *   - converted: const "x" → enum ["x"]; a type array with "null" and
 *     an anyOf/oneOf branch {"type":"null"} → nullable: true; oneOf →
 *     anyOf; an anyOf left with one branch → that branch; a local $ref
 *     (#/$defs/X, #/definitions/X) → the definition inlined;
 *   - removed: everything else ($schema, $id, $defs, definitions,
 *     additionalProperties, strict, default, examples, allOf, not,
 *     if/then/else, patternProperties, exclusiveMinimum/Maximum,
 *     multipleOf, uniqueItems, a type array's second non-null type...).
 */


llm_json_t *
llm_gemini_ref(llm_json_t *root, const char *ref)
{
    llm_json_t  *defs;

    if (strncmp(ref, "#/$defs/", 8) == 0) {
        defs = llm_json_get_obj(root, "$defs");
        ref += 8;

    } else if (strncmp(ref, "#/definitions/", 14) == 0) {
        defs = llm_json_get_obj(root, "definitions");
        ref += 14;

    } else {
        return NULL;
    }

    return llm_json_get_obj(defs, ref);
}


/* item (NULL: out of memory) as out's member name, or element */

static int
llm_gemini_add(llm_gemini_schema_t *sc, llm_json_t *out, const char *name,
    llm_json_t *item)
{
    return llm_json_arena_add(sc->arena, out, name, item) ? LLM_OK
                                                          : LLM_ERROR;
}


static int
llm_gemini_type(llm_gemini_schema_t *sc, llm_json_t *out, const char *type,
    int *nullable)
{
    char    up[16];
    size_t  i;

    if (strcmp(type, "null") == 0) {
        *nullable = 1;
        return LLM_OK;
    }

    if (llm_json_get(out, "type") != NULL) {
        return LLM_OK;
    }

    for (i = 0; type[i] && i < sizeof(up) - 1; i++) {
        up[i] = (type[i] >= 'a' && type[i] <= 'z') ? type[i] - 'a' + 'A'
                                                   : type[i];
    }

    up[i] = '\0';

    return llm_gemini_add(sc, out, "type", llm_json_arena_string(sc->arena,
                                                                 up));
}


/* s's member name, copied to out */

static int
llm_gemini_copy(llm_gemini_schema_t *sc, llm_json_t *out, llm_json_t *s,
    const char *name)
{
    llm_json_t  *v;

    v = llm_json_get(s, name);

    if (v == NULL) {
        return LLM_OK;
    }

    return llm_gemini_add(sc, out, name, llm_json_arena_copy(sc->arena, v));
}


/* the strings of a, as a new array "name" of out */

static int
llm_gemini_strings(llm_gemini_schema_t *sc, llm_json_t *out,
    const char *name, llm_json_t *a, llm_json_t *props)
{
    llm_json_t  *arr, *m;

    arr = llm_json_arena_node(sc->arena, cJSON_Array);

    if (llm_gemini_add(sc, out, name, arr) != LLM_OK) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(m, a) {
        if (!cJSON_IsString(m)
            || (props && llm_json_get(props, m->valuestring) == NULL))
        {
            continue;
        }

        if (llm_gemini_add(sc, arr, NULL,
                           llm_json_arena_string(sc->arena, m->valuestring))
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
llm_gemini_schema_members(llm_gemini_schema_t *sc, llm_json_t *s,
    llm_json_t *out, int depth, int *nullable)
{
    int           i, strings;
    llm_json_t   *v, *m, *arr, *props, *branch;
    const char   *f;
    static const char  *formats[] = {
        "date-time", "enum", "int32", "int64", "float", "double", NULL
    };
    static const char  *copied[] = {
        "title", "description", "minItems", "maxItems", "minLength",
        "maxLength", "minProperties", "maxProperties", "minimum",
        "maximum", "pattern", "propertyOrdering", NULL
    };

    v = llm_json_get(s, "type");

    if (cJSON_IsString(v)) {
        if (llm_gemini_type(sc, out, v->valuestring, nullable) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(m, v) {
            if (cJSON_IsString(m)
                && llm_gemini_type(sc, out, m->valuestring, nullable)
                   != LLM_OK)
            {
                return LLM_ERROR;
            }
        }
    }

    if (cJSON_IsTrue(llm_json_get(s, "nullable"))) {
        *nullable = 1;
    }

    f = llm_json_get_str(s, "format");

    for (i = 0; f && formats[i]; i++) {
        if (strcmp(f, formats[i]) == 0) {
            if (llm_gemini_add(sc, out, "format",
                               llm_json_arena_string(sc->arena, f))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            break;
        }
    }

    for (i = 0; copied[i]; i++) {
        /* the schema's few members first: "out" has more */
        if (llm_json_get(s, copied[i]) != NULL
            && llm_json_get(out, copied[i]) == NULL
            && llm_gemini_copy(sc, out, s, copied[i]) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get_arr(s, "enum");

    if (v && llm_json_get(out, "enum") == NULL) {
        strings = 1;

        cJSON_ArrayForEach(m, v) {
            if (cJSON_IsNull(m)) {
                *nullable = 1;

            } else if (!cJSON_IsString(m)) {
                strings = 0;
            }
        }

        if (strings && llm_gemini_strings(sc, out, "enum", v, NULL) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get(s, "const");

    if (cJSON_IsString(v) && llm_json_get(out, "enum") == NULL) {
        arr = llm_json_arena_node(sc->arena, cJSON_Array);

        if (llm_gemini_add(sc, out, "enum", arr) != LLM_OK
            || llm_gemini_add(sc, arr, NULL,
                              llm_json_arena_string(sc->arena,
                                                    v->valuestring))
               != LLM_OK)
        {
            return LLM_ERROR;
        }

        if (llm_json_get(out, "type") == NULL
            && llm_gemini_add(sc, out, "type",
                              llm_json_arena_string(sc->arena, "STRING"))
               != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get_obj(s, "properties");

    if (v && llm_json_get(out, "properties") == NULL) {
        props = llm_json_arena_node(sc->arena, cJSON_Object);

        if (llm_gemini_add(sc, out, "properties", props) != LLM_OK) {
            return LLM_ERROR;
        }

        cJSON_ArrayForEach(m, v) {
            if (llm_gemini_add(sc, props, m->string,
                               llm_gemini_schema(sc, m, depth + 1))
                != LLM_OK)
            {
                return LLM_ERROR;
            }
        }

        v = llm_json_get_arr(s, "required");

        /* the names that are properties */
        if (v && llm_gemini_strings(sc, out, "required", v, props) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get(s, "items");

    if (cJSON_IsArray(v)) {
        v = cJSON_GetArrayItem(v, 0);
    }

    if (cJSON_IsObject(v) && llm_json_get(out, "items") == NULL
        && llm_gemini_add(sc, out, "items",
                          llm_gemini_schema(sc, v, depth + 1)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    /* anyOf / oneOf: {"type":"null"} branches make it nullable */

    v = llm_json_get_arr(s, "anyOf");
    if (v == NULL) {
        v = llm_json_get_arr(s, "oneOf");
    }

    if (v == NULL || llm_json_get(out, "anyOf") != NULL) {
        return LLM_OK;
    }

    arr = llm_json_arena_node(sc->arena, cJSON_Array);
    if (arr == NULL) {
        return LLM_ERROR;
    }

    i = 0;

    cJSON_ArrayForEach(m, v) {
        f = llm_json_get_str(m, "type");

        if (f && strcmp(f, "null") == 0) {
            *nullable = 1;
            continue;
        }

        if (llm_gemini_add(sc, arr, NULL, llm_gemini_schema(sc, m, depth + 1))
            != LLM_OK)
        {
            return LLM_ERROR;
        }

        i++;
    }

    if (i == 1) {
        /* one branch left: it is the schema */
        branch = arr->child;

        cJSON_ArrayForEach(m, branch) {
            if (llm_json_get(out, m->string) == NULL
                && llm_gemini_copy(sc, out, branch, m->string) != LLM_OK)
            {
                return LLM_ERROR;
            }
        }

    } else if (i > 1) {
        if (llm_gemini_add(sc, out, "anyOf", arr) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


llm_json_t *
llm_gemini_schema(llm_gemini_schema_t *sc, llm_json_t *s, int depth)
{
    int          nullable;
    llm_json_t  *out, *def;
    const char  *ref;

    out = llm_json_arena_node(sc->arena, cJSON_Object);

    if (depth > LLM_GEMINI_SCHEMA_DEPTH) {
        /* as deep as only a recursive $ref goes */
        sc->nodes = -1;
    }

    if (out == NULL || !cJSON_IsObject(s) || --sc->nodes < 0) {
        return out;
    }

    nullable = 0;

    /* the referring schema's own members win over the definition's */

    if (llm_gemini_schema_members(sc, s, out, depth, &nullable) != LLM_OK) {
        return NULL;
    }

    ref = llm_json_get_str(s, "$ref");
    def = ref ? llm_gemini_ref(sc->root, ref) : NULL;

    if (def
        && llm_gemini_schema_members(sc, def, out, depth + 1, &nullable)
           != LLM_OK)
    {
        return NULL;
    }

    if (nullable
        && llm_gemini_add(sc, out, "nullable",
                          llm_json_arena_node(sc->arena, cJSON_True))
           != LLM_OK)
    {
        return NULL;
    }

    return out;
}


/*
 * Converts schema: in sc->arena, which the caller frees; NULL when out of
 * memory.  sc->nodes < 0 after: past the bounds (a recursive $ref).
 */

llm_json_t *
llm_gemini_schema_convert(llm_gemini_schema_t *sc, llm_json_t *schema)
{
    sc->root = schema;
    sc->nodes = LLM_GEMINI_SCHEMA_NODES;

    /* the output is about as big as the schema's tree */
    sc->arena = llm_json_arena_create(4096);
    if (sc->arena == NULL) {
        return NULL;
    }

    return llm_gemini_schema(sc, schema, 0);
}


/*
 * Agents send the same tools with every turn: the schemas converted last,
 * by the client's bytes, are written again as they were, not converted
 * and printed again (the conversion depends on the schema's bytes only).
 * A worker is one thread.  Bounded: LLM_GEMINI_MEMO entries of at most
 * LLM_GEMINI_MEMO_MAX bytes in and out, replaced in turn.
 */

#define LLM_GEMINI_MEMO      32
#define LLM_GEMINI_MEMO_MAX  16384


typedef struct {
    uint64_t   hash;
    size_t     in_len;
    size_t     out_len;
    char      *bytes;           /* the schema's, then its conversion */
} llm_gemini_memo_t;


static llm_gemini_memo_t  llm_gemini_memo[LLM_GEMINI_MEMO];
static unsigned           llm_gemini_memo_next;
static unsigned long      llm_gemini_memo_hits;


static uint64_t
llm_gemini_memo_hash(const char *p, size_t n)
{
    uint64_t  h, w;

    h = 0x9e3779b97f4a7c15ULL ^ n;

    for ( /* void */ ; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }

    while (n--) {
        h = (h ^ (unsigned char) *p++) * 0x100000001b3ULL;
    }

    return h;
}


static llm_gemini_memo_t *
llm_gemini_memo_find(uint64_t hash, const char *in, size_t len)
{
    int                 i;
    llm_gemini_memo_t  *m;

    for (i = 0; i < LLM_GEMINI_MEMO; i++) {
        m = &llm_gemini_memo[i];

        if (m->bytes && m->hash == hash && m->in_len == len
            && memcmp(m->bytes, in, len) == 0)
        {
            return m;
        }
    }

    return NULL;
}


static void
llm_gemini_memo_keep(uint64_t hash, const char *in, size_t in_len,
    const char *out, size_t out_len)
{
    char               *bytes;
    llm_gemini_memo_t  *m;

    if (in_len > LLM_GEMINI_MEMO_MAX || out_len > LLM_GEMINI_MEMO_MAX) {
        return;
    }

    bytes = malloc(in_len + out_len);
    if (bytes == NULL) {
        return;
    }

    memcpy(bytes, in, in_len);
    memcpy(bytes + in_len, out, out_len);

    m = &llm_gemini_memo[llm_gemini_memo_next++ % LLM_GEMINI_MEMO];

    free(m->bytes);

    m->hash = hash;
    m->in_len = in_len;
    m->out_len = out_len;
    m->bytes = bytes;
}


unsigned long
llm_gemini_schema_memo_hits(void)
{
    return llm_gemini_memo_hits;
}


void
llm_gemini_schema_memo_free(void)
{
    int  i;

    for (i = 0; i < LLM_GEMINI_MEMO; i++) {
        free(llm_gemini_memo[i].bytes);
        llm_gemini_memo[i].bytes = NULL;
    }
}


/* a whole schema of the request's tree: converted and printed into b */

int
llm_gemini_schema_print(llm_request_t *req, llm_json_t *schema,
    llm_buf_t *b)
{
    int                  rc, raw;
    size_t               len, len0;
    uint64_t             hash;
    llm_json_t          *g;
    const char          *in;
    llm_gemini_memo_t   *m;
    llm_gemini_schema_t  sc;

    raw = llm_json_arena_raw(req->arena, schema, &in, &len);
    hash = 0;

    if (raw) {
        hash = llm_gemini_memo_hash(in, len);
        m = llm_gemini_memo_find(hash, in, len);

        if (m) {
            llm_gemini_memo_hits++;
            return llm_buf_append(b, m->bytes + m->in_len, m->out_len);
        }
    }

    len0 = b->len;

    g = llm_gemini_schema_convert(&sc, schema);

    rc = g ? llm_json_print(g, b) : LLM_ERROR;

    llm_json_arena_free(sc.arena);

    if (rc == LLM_OK && raw) {
        llm_gemini_memo_keep(hash, in, len, b->data + len0, b->len - len0);
    }

    return rc;
}


int
llm_gemini_tools(llm_request_t *req, llm_json_t *root, llm_buf_t *b)
{
    int          any;
    llm_json_t  *tools, *tool, *fn, *params, *choice, *v;
    const char  *name, *desc, *mode;

    tools = llm_json_get_arr(root, "tools");
    any = 0;

    cJSON_ArrayForEach(tool, tools) {
        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        if (llm_buf_append_cstr(b, any ? ",{\"name\":"
                                       : ",\"tools\":[{\"functionDeclarations"
                                         "\":[{\"name\":") != LLM_OK
            || llm_buf_append_json_string(b, name, strlen(name)) != LLM_OK)
        {
            return LLM_ERROR;
        }

        any = 1;
        desc = llm_json_get_str(fn, "description");

        if (desc
            && (llm_buf_append_lit(b, ",\"description\":") != LLM_OK
                || llm_buf_append_json_string(b, desc, strlen(desc))
                   != LLM_OK))
        {
            return LLM_ERROR;
        }

        params = llm_json_get_obj(fn, "parameters");

        if (params
            && (llm_buf_append_lit(b, ",\"parameters\":") != LLM_OK
                || llm_gemini_schema_print(req, params, b) != LLM_OK))
        {
            return LLM_ERROR;
        }

        if (llm_buf_append_lit(b, "}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (!any) {
        /* tool_choice without tools means nothing */
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, "]}]") != LLM_OK) {
        return LLM_ERROR;
    }

    choice = llm_json_get(root, "tool_choice");
    name = NULL;
    mode = NULL;

    if (cJSON_IsString(choice)) {
        mode = strcmp(choice->valuestring, "none") == 0 ? "NONE"
               : strcmp(choice->valuestring, "required") == 0 ? "ANY"
               : "AUTO";

    } else if (cJSON_IsObject(choice)) {
        v = llm_json_get_obj(choice, "function");
        name = llm_json_get_str(v, "name");
        mode = name ? "ANY" : NULL;
    }

    if (mode == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                              "{\"mode\":\"") != LLM_OK
        || llm_buf_append_cstr(b, mode) != LLM_OK
        || llm_buf_append_lit(b, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (name
        && (llm_buf_append_lit(b, ",\"allowedFunctionNames\":[") != LLM_OK
            || llm_buf_append_json_string(b, name, strlen(name)) != LLM_OK
            || llm_buf_append_lit(b, "]") != LLM_OK))
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}}");
}
