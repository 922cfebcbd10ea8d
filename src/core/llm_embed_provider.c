/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Embeddings, the providers' side: the dialect table (openai, gemini,
 * voyage), each provider's request for a batch, its response read into
 * the result, its errors.  The client's side (the request, vectors,
 * base64) is llm_embed.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_embed.h"
#include "llm_gemini.h"
#include "llm_openai.h"


static int llm_embed_openai_path(const char *upstream_model,
    llm_buf_t *path);
static int llm_embed_openai_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body);
static int llm_embed_voyage_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body);
static int llm_embed_list_response(llm_embed_result_t *res, int n,
    const char *p, size_t len, llm_error_t *e);
static void llm_embed_openai_error(int status, const char *p, size_t n,
    llm_error_t *e);
static void llm_embed_voyage_error(int status, const char *p, size_t n,
    llm_error_t *e);
static int llm_embed_gemini_path(const char *upstream_model,
    llm_buf_t *path);
static int llm_embed_gemini_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body);
static int llm_embed_gemini_response(llm_embed_result_t *res, int n,
    const char *p, size_t len, llm_error_t *e);
static void llm_embed_gemini_error(int status, const char *p, size_t n,
    llm_error_t *e);

static const char *const  llm_embed_gemini_tasks[] = {
    "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
    "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING",
    "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY", NULL
};

static const char *const  llm_embed_voyage_tasks[] = {
    "query", "document", NULL
};


/*
 * Batch limits: OpenAI 2048 inputs, Gemini 100 requests, Voyage 1000.
 * OpenAI's default is half its limit: 2048 vectors of 3072 floats as JSON
 * text would pass the gateway's 64 MB limit on a provider response.
 */

const llm_embed_dialect_t  llm_embed_openai = {
    "openai", 2048, 1024, 1, "Authorization: Bearer ",
    llm_embed_openai_path, llm_embed_openai_build,
    llm_embed_list_response, llm_embed_openai_error, NULL
};

const llm_embed_dialect_t  llm_embed_gemini = {
    "gemini", 100, 100, 0, "x-goog-api-key: ",
    llm_embed_gemini_path, llm_embed_gemini_build,
    llm_embed_gemini_response, llm_embed_gemini_error,
    llm_embed_gemini_tasks
};

const llm_embed_dialect_t  llm_embed_voyage = {
    "voyage", 1000, 1000, 0, "Authorization: Bearer ",
    llm_embed_openai_path, llm_embed_voyage_build,
    llm_embed_list_response, llm_embed_voyage_error,
    llm_embed_voyage_tasks
};


const llm_embed_dialect_t  *const llm_embed_dialects[] = {
    &llm_embed_openai, &llm_embed_gemini, &llm_embed_voyage, NULL
};


const llm_embed_dialect_t *
llm_embed_dialect_find(const char *name, size_t len)
{
    const llm_embed_dialect_t  *const *d;

    for (d = llm_embed_dialects; *d; d++) {
        if (strlen((*d)->name) == len && memcmp((*d)->name, name, len) == 0) {
            return *d;
        }
    }

    return NULL;
}


/* openai dialect */

static int
llm_embed_openai_path(const char *upstream_model, llm_buf_t *path)
{
    return llm_buf_append_lit(path, "/embeddings");
}


/*
 * Members the gateway does not know are passed through (a compatible
 * server's own options); floats are always asked for, since not every
 * compatible server has base64, and the gateway encodes it itself.
 */

static int
llm_embed_openai_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body)
{
    long long    dims;
    llm_json_t  *j, *m, *dup, *in;

    j = cJSON_CreateObject();
    if (j == NULL) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(m, req->root) {
        if (strcmp(m->string, "model") == 0
            || strcmp(m->string, "input") == 0
            || strcmp(m->string, "encoding_format") == 0
            || strcmp(m->string, "dimensions") == 0)
        {
            continue;
        }

        dup = cJSON_Duplicate(m, 1);

        if (dup == NULL) {
            goto failed;
        }

        cJSON_AddItemToObject(j, m->string, dup);
    }

    in = llm_embed_slice(req, from, n);

    if (llm_json_set_str(j, "model", t->upstream_model) != LLM_OK
        || in == NULL
        || llm_json_set(j, "input", in) != LLM_OK)
    {
        goto failed;
    }

    dims = llm_embed_dimensions(req, t);

    if (dims && llm_json_set(j, "dimensions", cJSON_CreateNumber(dims))
                != LLM_OK)
    {
        goto failed;
    }

    return llm_embed_print(j, body);

failed:

    llm_json_free(j);

    return LLM_ERROR;
}


static int
llm_embed_voyage_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body)
{
    long long    dims;
    llm_json_t  *j, *in;

    j = cJSON_CreateObject();
    in = llm_embed_slice(req, from, n);

    if (j == NULL || in == NULL
        || llm_json_set(j, "input", in) != LLM_OK
        || llm_json_set_str(j, "model", t->upstream_model) != LLM_OK)
    {
        llm_json_free(j);
        return LLM_ERROR;
    }

    if (t->task_type && llm_json_set_str(j, "input_type", t->task_type)
                        != LLM_OK)
    {
        llm_json_free(j);
        return LLM_ERROR;
    }

    dims = llm_embed_dimensions(req, t);

    if (dims
        && llm_json_set(j, "output_dimension", cJSON_CreateNumber(dims))
           != LLM_OK)
    {
        llm_json_free(j);
        return LLM_ERROR;
    }

    return llm_embed_print(j, body);
}


/* {"data":[{"embedding":[...] | "base64","index":i}],"usage":{...}} */

static int
llm_embed_list_response(llm_embed_result_t *res, int n, const char *p,
    size_t len, llm_error_t *e)
{
    int           i, rc;
    long long     idx;
    llm_json_t   *j, *data, *item, *u, **slot;

    j = llm_json_parse(p, len, NULL);

    if (!cJSON_IsObject(j)) {
        llm_json_free(j);
        return llm_embed_bad(e, "not a JSON object");
    }

    data = llm_json_get_arr(j, "data");

    if (data == NULL || cJSON_GetArraySize(data) != n) {
        llm_json_free(j);
        return llm_embed_bad(e, "\"data\" does not hold one embedding "
                                "per input");
    }

    slot = calloc((size_t) n, sizeof(llm_json_t *));
    if (slot == NULL) {
        llm_json_free(j);
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return LLM_ERROR;
    }

    /* by "index": the position when absent */

    i = 0;
    rc = LLM_OK;

    cJSON_ArrayForEach(item, data) {
        idx = llm_json_get_int(item, "index");

        if (llm_json_get(item, "index") == NULL) {
            idx = i;
        }

        if (idx < 0 || idx >= n || slot[idx] != NULL) {
            rc = llm_embed_bad(e, "bad or repeated \"index\"");
            goto done;
        }

        slot[idx] = llm_json_get(item, "embedding");

        if (slot[idx] == NULL) {
            rc = llm_embed_bad(e, "an item has no \"embedding\"");
            goto done;
        }

        i++;
    }

    for (i = 0; i < n; i++) {
        if (llm_embed_vector(res, slot[i], e) != LLM_OK) {
            rc = LLM_ERROR;
            goto done;
        }
    }

    u = llm_json_get_obj(j, "usage");

    if (u) {
        /* Voyage counts only total_tokens: it is all prompt */
        res->total_tokens += llm_json_get_count(u, "total_tokens");
        res->prompt_tokens += llm_json_get(u, "prompt_tokens")
                              ? llm_json_get_count(u, "prompt_tokens")
                              : llm_json_get_count(u, "total_tokens");
    }

done:

    free(slot);
    llm_json_free(j);

    return rc;
}


static void
llm_embed_openai_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_dialect_openai.error(status, p, n, e);
}


/* Voyage (FastAPI): {"detail":"..."} or {"detail":[{"msg":"..."}]} */

static void
llm_embed_voyage_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_json_t  *j, *d, *first;
    const char  *msg;

    j = llm_json_parse(p, n, NULL);
    d = llm_json_get(j, "detail");
    msg = NULL;

    if (cJSON_IsString(d)) {
        msg = d->valuestring;

    } else if (cJSON_IsArray(d)) {
        first = cJSON_GetArrayItem(d, 0);
        msg = llm_json_get_str(first, "msg");
    }

    if (msg == NULL) {
        llm_json_free(j);
        llm_dialect_openai.error(status, p, n, e);
        return;
    }

    llm_error_set(e, (status >= 400 && status < 600) ? status : 502, NULL,
                  NULL, "%s", msg);

    if (status == 422) {
        /* FastAPI's validation failure is a bad request to a client */
        e->status = 400;
        e->type = llm_error_type(400);
    }

    llm_json_free(j);
}


/* gemini */

static int
llm_embed_gemini_path(const char *upstream_model, llm_buf_t *path)
{
    if (llm_gemini_model_path(upstream_model, path) != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(path, ":batchEmbedContents");
}


static int
llm_embed_gemini_build(llm_embed_request_t *req,
    const llm_embed_target_t *t, int from, int n, llm_buf_t *body)
{
    int          rc;
    long long    dims;
    llm_buf_t    name;
    llm_json_t  *j, *reqs, *in, *item, *r, *content, *parts, *part;

    memset(&name, 0, sizeof(llm_buf_t));

    /* "models/<model>" as in the path, NUL-terminated */

    if ((strncmp(t->upstream_model, "models/", 7) != 0
         && llm_buf_append_lit(&name, "models/") != LLM_OK)
        || llm_buf_append(&name, t->upstream_model,
                          strlen(t->upstream_model) + 1) != LLM_OK)
    {
        llm_buf_free(&name);
        return LLM_ERROR;
    }

    dims = llm_embed_dimensions(req, t);

    j = cJSON_CreateObject();
    reqs = cJSON_AddArrayToObject(j, "requests");
    in = llm_embed_slice(req, from, n);

    if (j == NULL || reqs == NULL || in == NULL) {
        goto failed;
    }

    cJSON_ArrayForEach(item, in) {
        r = cJSON_CreateObject();
        if (r == NULL || !cJSON_AddItemToArray(reqs, r)) {
            llm_json_free(r);
            goto failed;
        }

        content = cJSON_AddObjectToObject(r, "content");
        parts = content ? cJSON_AddArrayToObject(content, "parts") : NULL;
        part = cJSON_CreateObject();

        if (cJSON_AddStringToObject(r, "model", name.data) == NULL
            || parts == NULL || part == NULL
            || !cJSON_AddItemToArray(parts, part)
            || cJSON_AddStringToObject(part, "text", item->valuestring)
               == NULL)
        {
            llm_json_free(part);
            goto failed;
        }

        if (t->task_type
            && cJSON_AddStringToObject(r, "taskType", t->task_type) == NULL)
        {
            goto failed;
        }

        if (dims
            && cJSON_AddNumberToObject(r, "outputDimensionality",
                                       (double) dims) == NULL)
        {
            goto failed;
        }
    }

    llm_json_free(in);
    llm_buf_free(&name);

    rc = llm_json_print(j, body);
    llm_json_free(j);

    return rc;

failed:

    llm_json_free(in);
    llm_json_free(j);
    llm_buf_free(&name);

    return LLM_ERROR;
}


/* {"embeddings":[{"values":[...]}]}, in request order, no usage */

static int
llm_embed_gemini_response(llm_embed_result_t *res, int n, const char *p,
    size_t len, llm_error_t *e)
{
    int          rc;
    llm_json_t  *j, *embs, *item;

    j = llm_json_parse(p, len, NULL);
    embs = llm_json_get_arr(j, "embeddings");

    if (embs == NULL || cJSON_GetArraySize(embs) != n) {
        llm_json_free(j);
        return llm_embed_bad(e, "\"embeddings\" does not hold one vector "
                                "per input");
    }

    rc = LLM_OK;

    cJSON_ArrayForEach(item, embs) {
        if (llm_embed_vector(res, llm_json_get(item, "values"), e)
            != LLM_OK)
        {
            rc = LLM_ERROR;
            break;
        }
    }

    llm_json_free(j);

    return rc;
}


static void
llm_embed_gemini_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_dialect_gemini.error(status, p, n, e);
}
