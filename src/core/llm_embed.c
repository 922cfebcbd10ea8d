/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Embeddings: the OpenAI request, the provider requests and responses,
 * and base64 of little-endian float32 vectors.  See llm_embed.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "llm_embed.h"
#include "llm_gemini.h"


int
llm_embed_task_valid(const llm_embed_dialect_t *d, const char *task,
    size_t len)
{
    const char *const  *t;

    if (d->task_types == NULL) {
        return 0;
    }

    for (t = d->task_types; *t; t++) {
        if (strlen(*t) == len && memcmp(*t, task, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the client's request */

static int
llm_embed_token_array(llm_json_t *a)
{
    llm_json_t  *t;

    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) {
        return 0;
    }

    cJSON_ArrayForEach(t, a) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0
            || t->valuedouble > 1e9
            || t->valuedouble != (double) (long long) t->valuedouble)
        {
            return 0;
        }
    }

    return 1;
}


int
llm_embed_request_parse(llm_embed_request_t *req, const char *p, size_t n,
    llm_error_t *e)
{
    int           i, kind, k;
    size_t        off;
    llm_json_t   *root, *in, *item, *arr, *v;
    const char   *s;

    memset(req, 0, sizeof(llm_embed_request_t));

    if (n == 0) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body is empty; expected a JSON object.");
        return LLM_ERROR;
    }

    root = llm_json_parse(p, n, &off);

    if (root == NULL) {
        llm_error_invalid_json(e, p, n, off);
        return LLM_ERROR;
    }

    req->root = root;

    if (!cJSON_IsObject(root)) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body must be a JSON object, not %s.",
                      llm_json_type_name(root));
        goto failed;
    }

    v = llm_json_get(root, "model");

    if (v == NULL || cJSON_IsNull(v)) {
        llm_error_set(e, 400, "model", "missing_required_parameter",
                      "Missing required parameter: 'model'.");
        goto failed;
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        llm_error_set(e, 400, "model", "invalid_type",
                      "Invalid type for 'model': expected a non-empty "
                      "string, but got %s instead.",
                      cJSON_IsString(v) ? "an empty string"
                                        : llm_json_type_name(v));
        goto failed;
    }

    req->model = v->valuestring;

    in = llm_json_get(root, "input");

    if (in == NULL || cJSON_IsNull(in)) {
        llm_error_set(e, 400, "input", "missing_required_parameter",
                      "Missing required parameter: 'input'.");
        goto failed;
    }

    if (cJSON_IsString(in) || llm_embed_token_array(in)) {
        /* one input: the batches take an array */
        arr = cJSON_CreateArray();
        item = cJSON_Duplicate(in, 1);

        if (arr == NULL || item == NULL
            || !cJSON_AddItemToArray(arr, item)
            || !cJSON_ReplaceItemInObject(root, "input", arr))
        {
            llm_json_free(arr);
            llm_json_free(item);
            llm_error_set(e, 500, NULL, NULL, "Out of memory.");
            goto failed;
        }

        in = arr;

    } else if (!cJSON_IsArray(in)) {
        llm_error_set(e, 400, "input", "invalid_type",
                      "Invalid type for 'input': expected a string, an "
                      "array of strings, or an array of token arrays, but "
                      "got %s instead.", llm_json_type_name(in));
        goto failed;
    }

    req->input = in;
    req->count = cJSON_GetArraySize(in);

    if (req->count == 0) {
        llm_error_set(e, 400, "input", "empty_array",
                      "Invalid 'input': empty array. Expected at least one "
                      "input.");
        goto failed;
    }

    /* all strings, or all token arrays: 1 string, 2 tokens */

    kind = 0;
    i = 0;

    cJSON_ArrayForEach(item, in) {
        if (cJSON_IsString(item)) {
            k = 1;

            if (item->valuestring[0] == '\0') {
                llm_error_set(e, 400, "input", "invalid_value",
                              "Invalid 'input[%d]': empty string. Each "
                              "input must be non-empty.", i);
                goto failed;
            }

        } else if (llm_embed_token_array(item)) {
            k = 2;

        } else {
            llm_error_set(e, 400, "input", "invalid_type",
                          "Invalid type for 'input[%d]': expected a "
                          "non-empty string or a non-empty array of token "
                          "ids, but got %s instead.", i,
                          llm_json_type_name(item));
            goto failed;
        }

        if (kind && k != kind) {
            llm_error_set(e, 400, "input", "invalid_type",
                          "Invalid 'input': strings and token arrays "
                          "cannot be mixed.");
            goto failed;
        }

        kind = k;
        i++;
    }

    req->tokens = (kind == 2);

    v = llm_json_get(root, "encoding_format");

    if (v && !cJSON_IsNull(v)) {
        s = cJSON_IsString(v) ? v->valuestring : "";

        if (strcmp(s, "base64") == 0) {
            req->base64 = 1;

        } else if (strcmp(s, "float") != 0) {
            llm_error_set(e, 400, "encoding_format", "invalid_value",
                          "Invalid value for 'encoding_format': supported "
                          "values are 'float' and 'base64'.");
            goto failed;
        }
    }

    v = llm_json_get(root, "dimensions");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1
            || v->valuedouble > 1e6
            || v->valuedouble != (double) (long long) v->valuedouble)
        {
            llm_error_set(e, 400, "dimensions", "invalid_value",
                          "Invalid value for 'dimensions': expected a "
                          "positive integer.");
            goto failed;
        }

        req->dimensions = (long long) v->valuedouble;
    }

    v = llm_json_get(root, "user");

    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
        llm_error_set(e, 400, "user", "invalid_type",
                      "Invalid type for 'user': expected a string, but got "
                      "%s instead.", llm_json_type_name(v));
        goto failed;
    }

    return LLM_OK;

failed:

    llm_json_free(root);
    memset(req, 0, sizeof(llm_embed_request_t));

    return LLM_ERROR;
}


void
llm_embed_request_free(llm_embed_request_t *req)
{
    llm_json_free(req->root);
    memset(req, 0, sizeof(llm_embed_request_t));
}


/* inputs [from, from + n) as a new array */

llm_json_t *
llm_embed_slice(llm_embed_request_t *req, int from, int n)
{
    int          i;
    llm_json_t  *arr, *item, *dup;

    arr = cJSON_CreateArray();
    if (arr == NULL) {
        return NULL;
    }

    /* from the cursor when the batch starts at or after it */

    if (req->cursor && req->cursor_index <= from) {
        item = req->cursor;
        i = req->cursor_index;

    } else {
        item = req->input->child;
        i = 0;
    }

    for ( /* void */ ; item && i < from; item = item->next, i++) {
        /* void */
    }

    req->cursor = item;
    req->cursor_index = i;

    for ( /* void */ ; item && i < from + n; item = item->next, i++) {
        dup = cJSON_Duplicate(item, 1);

        if (dup == NULL || !cJSON_AddItemToArray(arr, dup)) {
            llm_json_free(dup);
            llm_json_free(arr);
            return NULL;
        }
    }

    return arr;
}


int
llm_embed_print(llm_json_t *j, llm_buf_t *body)
{
    int  rc;

    if (j == NULL) {
        return LLM_ERROR;
    }

    rc = llm_json_print(j, body);
    llm_json_free(j);

    return rc;
}


long long
llm_embed_dimensions(llm_embed_request_t *req,
    const llm_embed_target_t *t)
{
    return req->dimensions ? req->dimensions : t->dimensions;
}


int
llm_embed_bad(llm_error_t *e, const char *what)
{
    llm_error_set(e, 502, NULL, "invalid_upstream_response",
                  "The provider's embeddings response could not be read: "
                  "%s.", what);
    return LLM_ERROR;
}


/* vectors */

static void
llm_embed_put_le32(unsigned char *q, float f)
{
    uint32_t  u;

    memcpy(&u, &f, 4);

    q[0] = (unsigned char) (u & 0xff);
    q[1] = (unsigned char) ((u >> 8) & 0xff);
    q[2] = (unsigned char) ((u >> 16) & 0xff);
    q[3] = (unsigned char) ((u >> 24) & 0xff);
}


static float
llm_embed_get_le32(const unsigned char *q)
{
    float     f;
    uint32_t  u;

    u = (uint32_t) q[0] | ((uint32_t) q[1] << 8) | ((uint32_t) q[2] << 16)
        | ((uint32_t) q[3] << 24);

    memcpy(&f, &u, 4);

    return f;
}


/* the shortest text that reads back as the same float32 */

static int
llm_embed_append_float(llm_buf_t *b, float f)
{
    int   n, prec;
    char  tmp[64];

    if (f != f || f > 3.4028235e38f || f < -3.4028235e38f) {
        return llm_buf_append_lit(b, "null");
    }

    n = 0;

    for (prec = 6; prec <= 9; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, (double) f);

        if (strtof(tmp, NULL) == f) {
            break;
        }
    }

    return llm_buf_append(b, tmp, (size_t) n);
}


/*
 * One vector, as the client asked: floats are written as they were
 * read, or encoded; base64 is kept, or decoded to floats.
 */

int
llm_embed_vector(llm_embed_result_t *res, llm_json_t *v, llm_error_t *e)
{
    int             first;
    size_t          i, len, n;
    llm_buf_t      *b;
    llm_json_t     *x;
    unsigned char  *raw, *q;

    b = &res->data;

    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(x, v) {
            if (!cJSON_IsNumber(x)) {
                return llm_embed_bad(e, "a vector holds a non-number");
            }
        }

    } else if (cJSON_IsString(v)) {
        len = strlen(v->valuestring);

        if (len % 4) {
            return llm_embed_bad(e, "a base64 vector has a bad length");
        }

    } else {
        return llm_embed_bad(e, "a vector is neither an array nor base64");
    }

    if ((b->len && llm_buf_append_lit(b, ",") != LLM_OK)
        || llm_buf_append_lit(b, "{\"object\":\"embedding\",\"index\":")
           != LLM_OK
        || llm_buf_append_int(b, res->count) != LLM_OK
        || llm_buf_append_lit(b, ",\"embedding\":") != LLM_OK)
    {
        goto nomem;
    }

    if (cJSON_IsArray(v) && !res->base64) {
        if (llm_buf_append_lit(b, "[") != LLM_OK) {
            goto nomem;
        }

        first = 1;

        cJSON_ArrayForEach(x, v) {
            if ((!first && llm_buf_append_lit(b, ",") != LLM_OK)
                || llm_buf_append_number(b, x->valuedouble) != LLM_OK)
            {
                goto nomem;
            }

            first = 0;
        }

        if (llm_buf_append_lit(b, "]") != LLM_OK) {
            goto nomem;
        }

    } else if (cJSON_IsArray(v)) {
        n = (size_t) cJSON_GetArraySize(v);

        raw = malloc(n * 4 + 1);
        if (raw == NULL) {
            goto nomem;
        }

        q = raw;

        cJSON_ArrayForEach(x, v) {
            llm_embed_put_le32(q, (float) x->valuedouble);
            q += 4;
        }

        if (llm_buf_append_lit(b, "\"") != LLM_OK
            || llm_base64_encode(b, raw, n * 4) != LLM_OK
            || llm_buf_append_lit(b, "\"") != LLM_OK)
        {
            free(raw);
            goto nomem;
        }

        free(raw);

    } else {
        len = strlen(v->valuestring);

        raw = malloc(len / 4 * 3 + 1);
        if (raw == NULL) {
            goto nomem;
        }

        if (llm_base64_decode(v->valuestring, len, raw, &n) != LLM_OK
            || n % 4)
        {
            free(raw);
            return llm_embed_bad(e, "a vector is not base64 of float32");
        }

        if (res->base64) {
            /* re-encoded: the provider's padding may differ, ours not */
            if (llm_buf_append_lit(b, "\"") != LLM_OK
                || llm_base64_encode(b, raw, n) != LLM_OK
                || llm_buf_append_lit(b, "\"") != LLM_OK)
            {
                free(raw);
                goto nomem;
            }

        } else {
            if (llm_buf_append_lit(b, "[") != LLM_OK) {
                free(raw);
                goto nomem;
            }

            for (i = 0; i < n; i += 4) {
                if ((i && llm_buf_append_lit(b, ",") != LLM_OK)
                    || llm_embed_append_float(b, llm_embed_get_le32(raw + i))
                       != LLM_OK)
                {
                    free(raw);
                    goto nomem;
                }
            }

            if (llm_buf_append_lit(b, "]") != LLM_OK) {
                free(raw);
                goto nomem;
            }
        }

        free(raw);
    }

    if (llm_buf_append_lit(b, "}") != LLM_OK) {
        goto nomem;
    }

    res->count++;

    return LLM_OK;

nomem:

    llm_error_set(e, 500, NULL, NULL, "Out of memory.");

    return LLM_ERROR;
}


int
llm_embed_result_finish(llm_embed_result_t *res, const char *model,
    llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "{\"object\":\"list\",\"data\":[") != LLM_OK
        || llm_buf_append(out, res->data.data, res->data.len) != LLM_OK
        || llm_buf_append_lit(out, "],\"model\":") != LLM_OK
        || llm_buf_append_json_string(out, model, strlen(model)) != LLM_OK
        || llm_buf_append_lit(out, ",\"usage\":{\"prompt_tokens\":")
           != LLM_OK
        || llm_buf_append_int(out, res->prompt_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"total_tokens\":") != LLM_OK
        || llm_buf_append_int(out, res->total_tokens) != LLM_OK
        || llm_buf_append_lit(out, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


void
llm_embed_result_free(llm_embed_result_t *res)
{
    llm_buf_free(&res->data);
}


int
llm_embed_request_keep(llm_embed_request_t *req, const unsigned char *keep)
{
    int          i, n;
    llm_json_t  *item, *next;

    n = 0;
    i = 0;

    for (item = req->input->child; item; item = next, i++) {
        next = item->next;

        if (keep[i]) {
            n++;
            continue;
        }

        cJSON_Delete(cJSON_DetachItemViaPointer(req->input, item));
    }

    req->count = n;
    req->cursor = NULL;
    req->cursor_index = 0;

    return n;
}


static const char *
llm_embed_find(const char *p, const char *end, const char *s, size_t n)
{
    for ( ;; ) {
        p = memchr(p, s[0], end - p);

        if (p == NULL || (size_t) (end - p) < n) {
            return NULL;
        }

        if (memcmp(p, s, n) == 0) {
            return p;
        }

        p++;
    }
}


/*
 * The items are ours (llm_embed_vector): {"object":"embedding","index":N,
 * "embedding":V} joined by commas, V an array of numbers or a string
 */

int
llm_embed_result_values(const llm_embed_result_t *res,
    llm_embed_value_t *values, int n)
{
    int          i;
    const char  *p, *end, *v;

    static const char  field[] = "\"embedding\":";

    p = res->data.data;
    end = p + res->data.len;

    for (i = 0; i < n; i++) {
        v = p ? llm_embed_find(p, end, field, sizeof(field) - 1) : NULL;
        if (v == NULL) {
            return LLM_ERROR;
        }

        v += sizeof(field) - 1;

        p = memchr(v, '}', end - v);
        if (p == NULL) {
            return LLM_ERROR;
        }

        values[i].p = v;
        values[i].n = p - v;
    }

    return LLM_OK;
}


int
llm_embed_result_add(llm_embed_result_t *res, const char *p, size_t n)
{
    llm_buf_t  *b;

    b = &res->data;

    if ((b->len && llm_buf_append_lit(b, ",") != LLM_OK)
        || llm_buf_append_lit(b, "{\"object\":\"embedding\",\"index\":")
           != LLM_OK
        || llm_buf_append_int(b, res->count) != LLM_OK
        || llm_buf_append_lit(b, ",\"embedding\":") != LLM_OK
        || llm_buf_append(b, p, n) != LLM_OK
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    res->count++;

    return LLM_OK;
}


/* base64 */

static const char  llm_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
llm_base64_encode(llm_buf_t *b, const unsigned char *p, size_t n)
{
    char     *q;
    size_t    i;
    uint32_t  v;

    if (n == 0) {
        return LLM_OK;
    }

    if (llm_buf_reserve(b, (n + 2) / 3 * 4) != LLM_OK) {
        return LLM_ERROR;
    }

    q = b->data + b->len;

    for (i = 0; i + 2 < n; i += 3) {
        v = ((uint32_t) p[i] << 16) | ((uint32_t) p[i + 1] << 8) | p[i + 2];
        *q++ = llm_b64[(v >> 18) & 63];
        *q++ = llm_b64[(v >> 12) & 63];
        *q++ = llm_b64[(v >> 6) & 63];
        *q++ = llm_b64[v & 63];
    }

    if (i < n) {
        v = (uint32_t) p[i] << 16;

        if (i + 1 < n) {
            v |= (uint32_t) p[i + 1] << 8;
        }

        *q++ = llm_b64[(v >> 18) & 63];
        *q++ = llm_b64[(v >> 12) & 63];
        *q++ = (i + 1 < n) ? llm_b64[(v >> 6) & 63] : '=';
        *q++ = '=';
    }

    b->len = (size_t) (q - b->data);

    return LLM_OK;
}


static int
llm_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;
}


int
llm_base64_decode(const char *s, size_t n, unsigned char *out,
    size_t *out_len)
{
    int       c;
    size_t    i, pad, o;
    uint32_t  v;

    if (n % 4) {
        return LLM_ERROR;
    }

    pad = 0;

    if (n && s[n - 1] == '=') {
        pad++;
        if (s[n - 2] == '=') {
            pad++;
        }
    }

    o = 0;

    for (i = 0; i < n; i += 4) {
        v = 0;

        for (c = 0; c < 4; c++) {
            int  x;

            if (i + c >= n - pad) {
                x = 0;

            } else {
                x = llm_b64_value((unsigned char) s[i + c]);
                if (x < 0) {
                    return LLM_ERROR;
                }
            }

            v = (v << 6) | (uint32_t) x;
        }

        /* the padding's bytes are not written */
        out[o++] = (unsigned char) (v >> 16);

        if (i + 4 < n || pad < 2) {
            out[o++] = (unsigned char) (v >> 8);
        }

        if (i + 4 < n || pad < 1) {
            out[o++] = (unsigned char) v;
        }
    }

    *out_len = o;

    return LLM_OK;
}
