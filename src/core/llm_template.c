/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Prompt templates and decorators: see llm_template.h.
 *
 * The values are inserted into decoded strings and the tree is printed
 * by the JSON library, so a value can never break out of its string:
 * quotes, newlines and any unicode are escaped on output.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_template.h"


#define LLM_TEMPLATE_NAME_MAX  128


static int
llm_template_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}


/* a variable's text: strings as they are, numbers and booleans printed */

static int
llm_template_value(llm_json_t *v, llm_buf_t *out)
{
    if (cJSON_IsString(v)) {
        return llm_buf_append_cstr(out, v->valuestring);
    }

    if (cJSON_IsNumber(v)) {
        return llm_buf_append_number(out, v->valuedouble);
    }

    if (cJSON_IsTrue(v)) {
        return llm_buf_append_lit(out, "true");
    }

    return llm_buf_append_lit(out, "false");
}


int
llm_template_expand(const char *s, size_t n, llm_json_t *vars,
    llm_buf_t *out, char *missing, size_t size)
{
    char         name[LLM_TEMPLATE_NAME_MAX + 1];
    size_t       i, j, k, start, end;
    llm_json_t  *v;

    i = 0;

    while (i < n) {

        if (!(s[i] == '{' && i + 1 < n && s[i + 1] == '{')) {
            /* copy up to the next "{{" in one piece */
            for (j = i + 1; j < n; j++) {
                if (s[j] == '{' && j + 1 < n && s[j + 1] == '{') {
                    break;
                }
            }

            if (llm_buf_append(out, s + i, j - i) != LLM_OK) {
                return LLM_ERROR;
            }

            i = j;
            continue;
        }

        /* "{{" [spaces] name [spaces] "}}", or literal text */

        j = i + 2;

        while (j < n && s[j] == ' ') {
            j++;
        }

        start = j;

        while (j < n && llm_template_name_char((unsigned char) s[j])) {
            j++;
        }

        end = j;

        while (j < n && s[j] == ' ') {
            j++;
        }

        if (end == start || end - start > LLM_TEMPLATE_NAME_MAX
            || j + 1 >= n || s[j] != '}' || s[j + 1] != '}')
        {
            if (llm_buf_append(out, s + i, 1) != LLM_OK) {
                return LLM_ERROR;
            }

            i++;
            continue;
        }

        k = end - start;
        memcpy(name, s + start, k);
        name[k] = '\0';

        v = cJSON_GetObjectItemCaseSensitive(vars, name);

        if (v == NULL || !(cJSON_IsString(v) || cJSON_IsNumber(v)
                           || cJSON_IsBool(v)))
        {
            if (size) {
                k = (k < size - 1) ? k : size - 1;
                memcpy(missing, name, k);
                missing[k] = '\0';
            }

            return LLM_DECLINED;
        }

        if (llm_template_value(v, out) != LLM_OK) {
            return LLM_ERROR;
        }

        i = j + 2;
    }

    return LLM_OK;
}


/* replaces the string s (a cJSON string item) with its expansion */

static int
llm_template_expand_item(llm_json_t *s, llm_json_t *vars, char *missing,
    size_t size)
{
    int         rc;
    llm_buf_t   b;

    if (strstr(s->valuestring, "{{") == NULL) {
        return LLM_OK;
    }

    memset(&b, 0, sizeof(llm_buf_t));

    rc = llm_template_expand(s->valuestring, strlen(s->valuestring), vars,
                             &b, missing, size);

    if (rc == LLM_OK) {
        rc = (llm_buf_append(&b, "", 1) == LLM_OK
              && cJSON_SetValuestring(s, b.data) != NULL)
             ? LLM_OK : LLM_ERROR;
    }

    llm_buf_free(&b);

    return rc;
}


/* the strings of one message: content, or the text of content parts */

static int
llm_template_expand_message(llm_json_t *msg, llm_json_t *vars,
    char *missing, size_t size)
{
    int          rc;
    llm_json_t  *c, *part, *t;

    c = llm_json_get(msg, "content");

    if (cJSON_IsString(c)) {
        return llm_template_expand_item(c, vars, missing, size);
    }

    if (!cJSON_IsArray(c)) {
        return LLM_OK;
    }

    cJSON_ArrayForEach(part, c) {
        t = llm_json_get(part, "text");

        if (cJSON_IsString(t)) {
            rc = llm_template_expand_item(t, vars, missing, size);
            if (rc != LLM_OK) {
                return rc;
            }
        }
    }

    return LLM_OK;
}


static int
llm_prompt_add(llm_json_t *to, llm_json_t *from)
{
    llm_json_t  *m, *dup;

    if (from == NULL) {
        return LLM_OK;
    }

    cJSON_ArrayForEach(m, from) {
        dup = cJSON_Duplicate(m, 1);

        if (dup == NULL || !cJSON_AddItemToArray(to, dup)) {
            llm_json_free(dup);
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


int
llm_prompt_apply(const char *p, size_t n, llm_prompt_t *pr, llm_buf_t *out,
    llm_error_t *e)
{
    int           i, rc, decorated;
    char          missing[LLM_TEMPLATE_NAME_MAX + 1];
    llm_json_t   *root, *tpl, *vars, *msgs, *t, *v, *all, *m, *dup;
    llm_json_t   *name;
    const char   *model;

    root = llm_json_parse(p, n, NULL);

    model = llm_json_get_str(root, "model");

    if (!cJSON_IsObject(root) || model == NULL) {
        llm_json_free(root);
        return LLM_DECLINED;
    }

    if (pr->model) {
        pr->model(pr->data, model, pr);
    }

    decorated = 0;

    for (i = 0; i < LLM_PROMPT_LAYERS; i++) {
        if (pr->prepend[i] || pr->append[i]) {
            decorated = 1;
        }
    }

    tpl = cJSON_DetachItemFromObjectCaseSensitive(root, "template");

    if (tpl && llm_json_get(root, "template")) {
        /* the one left would be sent on */
        llm_error_set(e, 400, "template", "invalid_json",
                      "Duplicate key 'template' in the request body.");
        llm_json_free(tpl);
        llm_json_free(root);
        return LLM_ERROR;
    }

    if (tpl == NULL && !decorated) {
        llm_json_free(root);
        return LLM_DECLINED;
    }

    msgs = llm_json_get(root, "messages");

    /*
     * Without a template the request's own messages must be there: the
     * usual validation names the problem, decorators do not hide it.
     */

    if ((msgs && !cJSON_IsArray(msgs) && !cJSON_IsNull(msgs))
        || (tpl == NULL
            && (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)))
    {
        llm_json_free(tpl);
        llm_json_free(root);
        return LLM_DECLINED;
    }

    t = NULL;
    vars = NULL;
    name = NULL;

    if (tpl && !cJSON_IsNull(tpl)) {

        /* "template": "name" or {"name": "...", "variables": {...}} */

        name = cJSON_IsString(tpl) ? tpl : llm_json_get(tpl, "name");

        if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
            llm_error_set(e, 400, "template", "invalid_type",
                          "Invalid 'template': expected a template name, "
                          "or an object with a string 'name' and an "
                          "optional object 'variables'.");
            goto failed;
        }

        if (cJSON_IsObject(tpl)) {
            vars = llm_json_get(tpl, "variables");

            if (vars && !cJSON_IsObject(vars) && !cJSON_IsNull(vars)) {
                llm_error_set(e, 400, "template.variables", "invalid_type",
                              "Invalid type for 'template.variables': "
                              "expected an object, but got %s instead.",
                              llm_json_type_name(vars));
                goto failed;
            }

            cJSON_ArrayForEach(v, vars) {
                if (!cJSON_IsString(v) && !cJSON_IsNumber(v)
                    && !cJSON_IsBool(v))
                {
                    llm_error_set(e, 400, "template.variables",
                                  "invalid_type",
                                  "Invalid type for template variable "
                                  "'%.64s': expected a string, a number or "
                                  "a boolean, but got %s instead.",
                                  v->string, llm_json_type_name(v));
                    goto failed;
                }
            }
        }

        t = pr->find_template ? pr->find_template(pr->data,
                                                  name->valuestring)
                              : NULL;

        if (t == NULL) {
            llm_error_set(e, 404, "template.name", "template_not_found",
                          "The template '%.200s' does not exist.",
                          name->valuestring);
            goto failed;
        }
    }

    all = cJSON_CreateArray();
    if (all == NULL) {
        goto nomem;
    }

    rc = LLM_OK;

    for (i = 0; i < LLM_PROMPT_LAYERS && rc == LLM_OK; i++) {
        rc = llm_prompt_add(all, pr->prepend[i]);
    }

    if (rc != LLM_OK) {
        llm_json_free(all);
        goto nomem;
    }

    if (t) {
        cJSON_ArrayForEach(m, t) {
            dup = cJSON_Duplicate(m, 1);

            if (dup == NULL || !cJSON_AddItemToArray(all, dup)) {
                llm_json_free(dup);
                llm_json_free(all);
                goto nomem;
            }

            rc = llm_template_expand_message(dup, vars, missing,
                                             sizeof(missing));

            if (rc == LLM_DECLINED) {
                llm_json_free(all);
                llm_error_set(e, 400, "template.variables",
                              "missing_template_variable",
                              "Missing variable '%s' for the template "
                              "'%.200s'.", missing, name->valuestring);
                goto failed;
            }

            if (rc != LLM_OK) {
                llm_json_free(all);
                goto nomem;
            }
        }
    }

    if (cJSON_IsArray(msgs)) {
        rc = llm_prompt_add(all, msgs);
    }

    for (i = 0; i < LLM_PROMPT_LAYERS && rc == LLM_OK; i++) {
        rc = llm_prompt_add(all, pr->append[i]);
    }

    if (rc != LLM_OK || llm_json_set(root, "messages", all) != LLM_OK) {
        goto nomem;
    }

    llm_json_free(tpl);

    rc = llm_json_print(root, out);

    llm_json_free(root);

    if (rc != LLM_OK) {
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return LLM_ERROR;
    }

    return LLM_OK;

nomem:

    llm_error_set(e, 500, NULL, NULL, "Out of memory.");

failed:

    llm_json_free(tpl);
    llm_json_free(root);

    return LLM_ERROR;
}


/* [{"role": "...", "content": "..." | [parts]}, ...] */

llm_json_t *
llm_template_parse_messages(const char *p, size_t n, char *msg, size_t size)
{
    int          i;
    size_t       off, line, col;
    llm_json_t  *j, *m, *c;
    const char  *role;

    j = llm_json_parse(p, n, &off);

    if (j == NULL) {
        llm_json_position(p, off, &line, &col);
        snprintf(msg, size, "invalid JSON at line %zu, column %zu", line,
                 col);
        return NULL;
    }

    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0) {
        snprintf(msg, size, "a non-empty JSON array of messages expected");
        llm_json_free(j);
        return NULL;
    }

    i = 0;

    cJSON_ArrayForEach(m, j) {
        role = llm_json_get_str(m, "role");
        c = llm_json_get(m, "content");

        if (role == NULL
            || (strcmp(role, "system") != 0 && strcmp(role, "developer") != 0
                && strcmp(role, "user") != 0
                && strcmp(role, "assistant") != 0)
            || !(cJSON_IsString(c) || cJSON_IsArray(c)))
        {
            snprintf(msg, size, "message %d needs a role (system, "
                     "developer, user or assistant) and a string or "
                     "array content", i);
            llm_json_free(j);
            return NULL;
        }

        i++;
    }

    return j;
}
