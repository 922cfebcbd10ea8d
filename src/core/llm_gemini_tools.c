/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect's tools: OpenAI tools as functionDeclarations,
 * tool_choice as toolConfig, and JSON Schema as Gemini's Schema (for
 * tool parameters and response_format json_schema).
 */

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


static int
llm_gemini_type(llm_json_t *out, const char *type, int *nullable)
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

    return cJSON_AddStringToObject(out, "type", up) ? LLM_OK : LLM_ERROR;
}


static int
llm_gemini_copy(llm_json_t *out, llm_json_t *s, const char *name)
{
    llm_json_t  *v, *d;

    v = llm_json_get(s, name);

    if (v == NULL) {
        return LLM_OK;
    }

    d = cJSON_Duplicate(v, 1);

    if (d == NULL) {
        return LLM_ERROR;
    }

    cJSON_AddItemToObject(out, name, d);

    return LLM_OK;
}


static int
llm_gemini_schema_members(llm_gemini_schema_t *sc, llm_json_t *s,
    llm_json_t *out,
    int depth, int *nullable)
{
    int           i, strings;
    llm_json_t   *v, *m, *o, *arr, *props, *branch;
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
        if (llm_gemini_type(out, v->valuestring, nullable) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(m, v) {
            if (cJSON_IsString(m)
                && llm_gemini_type(out, m->valuestring, nullable) != LLM_OK)
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
            if (cJSON_AddStringToObject(out, "format", f) == NULL) {
                return LLM_ERROR;
            }

            break;
        }
    }

    for (i = 0; copied[i]; i++) {
        /* the schema's few members first: "out" has more */
        if (llm_json_get(s, copied[i]) != NULL
            && llm_json_get(out, copied[i]) == NULL
            && llm_gemini_copy(out, s, copied[i]) != LLM_OK)
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

        if (strings) {
            arr = cJSON_AddArrayToObject(out, "enum");
            if (arr == NULL) {
                return LLM_ERROR;
            }

            cJSON_ArrayForEach(m, v) {
                if (cJSON_IsString(m)) {
                    o = cJSON_CreateString(m->valuestring);
                    if (o == NULL) {
                        return LLM_ERROR;
                    }

                    cJSON_AddItemToArray(arr, o);
                }
            }
        }
    }

    v = llm_json_get(s, "const");

    if (cJSON_IsString(v) && llm_json_get(out, "enum") == NULL) {
        arr = cJSON_AddArrayToObject(out, "enum");
        o = cJSON_CreateString(v->valuestring);

        if (arr == NULL || o == NULL) {
            cJSON_Delete(o);
            return LLM_ERROR;
        }

        cJSON_AddItemToArray(arr, o);

        if (llm_json_get(out, "type") == NULL
            && cJSON_AddStringToObject(out, "type", "STRING") == NULL)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get_obj(s, "properties");

    if (v && llm_json_get(out, "properties") == NULL) {
        props = cJSON_AddObjectToObject(out, "properties");
        if (props == NULL) {
            return LLM_ERROR;
        }

        cJSON_ArrayForEach(m, v) {
            o = llm_gemini_schema(sc, m, depth + 1);
            if (o == NULL) {
                return LLM_ERROR;
            }

            cJSON_AddItemToObject(props, m->string, o);
        }

        v = llm_json_get_arr(s, "required");

        if (v) {
            arr = cJSON_AddArrayToObject(out, "required");
            if (arr == NULL) {
                return LLM_ERROR;
            }

            cJSON_ArrayForEach(m, v) {
                if (!cJSON_IsString(m)
                    || llm_json_get(props, m->valuestring) == NULL)
                {
                    continue;
                }

                o = cJSON_CreateString(m->valuestring);
                if (o == NULL) {
                    return LLM_ERROR;
                }

                cJSON_AddItemToArray(arr, o);
            }
        }
    }

    v = llm_json_get(s, "items");

    if (cJSON_IsArray(v)) {
        v = cJSON_GetArrayItem(v, 0);
    }

    if (cJSON_IsObject(v) && llm_json_get(out, "items") == NULL) {
        o = llm_gemini_schema(sc, v, depth + 1);
        if (o == NULL) {
            return LLM_ERROR;
        }

        cJSON_AddItemToObject(out, "items", o);
    }

    /* anyOf / oneOf: {"type":"null"} branches make it nullable */

    v = llm_json_get_arr(s, "anyOf");
    if (v == NULL) {
        v = llm_json_get_arr(s, "oneOf");
    }

    if (v && llm_json_get(out, "anyOf") == NULL) {
        arr = cJSON_CreateArray();
        if (arr == NULL) {
            return LLM_ERROR;
        }

        cJSON_ArrayForEach(m, v) {
            f = llm_json_get_str(m, "type");

            if (f && strcmp(f, "null") == 0) {
                *nullable = 1;
                continue;
            }

            o = llm_gemini_schema(sc, m, depth + 1);
            if (o == NULL) {
                cJSON_Delete(arr);
                return LLM_ERROR;
            }

            cJSON_AddItemToArray(arr, o);
        }

        if (cJSON_GetArraySize(arr) == 1) {
            /* one branch left: it is the schema */
            branch = cJSON_GetArrayItem(arr, 0);

            cJSON_ArrayForEach(m, branch) {
                if (llm_json_get(out, m->string) == NULL
                    && llm_gemini_copy(out, branch, m->string) != LLM_OK)
                {
                    cJSON_Delete(arr);
                    return LLM_ERROR;
                }
            }

            cJSON_Delete(arr);

        } else if (cJSON_GetArraySize(arr) > 1) {
            cJSON_AddItemToObject(out, "anyOf", arr);

        } else {
            cJSON_Delete(arr);
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

    out = cJSON_CreateObject();

    if (depth > LLM_GEMINI_SCHEMA_DEPTH) {
        /* as deep as only a recursive $ref goes */
        sc->nodes = -1;
    }

    if (out == NULL || !cJSON_IsObject(s) || --sc->nodes < 0) {
        return out;
    }

    nullable = 0;

    /* the referring schema's own members win over the definition's */

    if (llm_gemini_schema_members(sc, s, out, depth, &nullable) != LLM_OK)
    {
        cJSON_Delete(out);
        return NULL;
    }

    ref = llm_json_get_str(s, "$ref");
    def = ref ? llm_gemini_ref(sc->root, ref) : NULL;

    if (def
        && llm_gemini_schema_members(sc, def, out, depth + 1, &nullable)
           != LLM_OK)
    {
        cJSON_Delete(out);
        return NULL;
    }

    if (nullable && cJSON_AddTrueToObject(out, "nullable") == NULL) {
        cJSON_Delete(out);
        return NULL;
    }

    return out;
}


/* a whole schema: converted and printed into b */

int
llm_gemini_schema_print(llm_json_t *schema, llm_buf_t *b)
{
    int                  rc;
    llm_json_t          *g;
    llm_gemini_schema_t  sc;

    sc.root = schema;
    sc.nodes = LLM_GEMINI_SCHEMA_NODES;

    g = llm_gemini_schema(&sc, schema, 0);
    if (g == NULL) {
        return LLM_ERROR;
    }

    rc = llm_json_print(g, b);
    cJSON_Delete(g);

    return rc;
}


int
llm_gemini_tools(llm_json_t *tree, llm_buf_t *b)
{
    int          any;
    llm_json_t  *tools, *tool, *fn, *params, *choice, *v;
    const char  *name, *desc, *mode;

    tools = llm_json_get_arr(tree, "tools");
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
                || llm_gemini_schema_print(params, b) != LLM_OK))
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

    choice = llm_json_get(tree, "tool_choice");
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
