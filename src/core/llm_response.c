/*
 * Helpers shared by the dialects: response state, usage, error frames,
 * and writing a provider JSON object back with the client's model name.
 */

#include <stdio.h>
#include <string.h>

#include "llm_dialect.h"


static const llm_dialect_t  *llm_dialects[] = {
    &llm_dialect_openai,
    NULL
};


const llm_dialect_t *
llm_dialect_find(const char *name, size_t len)
{
    const llm_dialect_t  **d;

    for (d = llm_dialects; *d; d++) {
        if (strlen((*d)->name) == len && memcmp((*d)->name, name, len) == 0) {
            return *d;
        }
    }

    return NULL;
}


void
llm_response_init(llm_response_t *resp, const char *client_model,
    int include_usage)
{
    llm_buf_t  keep;

    /* keep the usage buffer's memory across reuse */
    keep = resp->usage_json;
    memset(resp, 0, sizeof(llm_response_t));
    resp->usage_json = keep;
    llm_buf_reset(&resp->usage_json);

    resp->client_model = client_model;
    resp->include_usage = include_usage;
}


void
llm_response_free(llm_response_t *resp)
{
    llm_buf_free(&resp->usage_json);
}


int
llm_response_fail(llm_response_t *resp, llm_buf_t *out, int status,
    const char *code, const char *message)
{
    if (resp->done) {
        return LLM_DONE;
    }

    llm_error_set(&resp->error, status, NULL, code, "%s", message);

    resp->failed = 1;
    resp->done = 1;

    if (llm_error_frame(&resp->error, out) != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_DONE;
}


static long long
llm_usage_int(llm_json_t *obj, const char *name)
{
    long long  v;

    v = llm_json_get_int(obj, name);

    return v < 0 ? 0 : v;
}


int
llm_response_usage(llm_response_t *resp, llm_json_t *usage)
{
    llm_usage_t  *u;

    u = &resp->usage;

    u->prompt_tokens = llm_usage_int(usage, "prompt_tokens");
    u->completion_tokens = llm_usage_int(usage, "completion_tokens");
    u->total_tokens = llm_usage_int(usage, "total_tokens");
    u->cached_tokens = llm_usage_int(
                         llm_json_get_obj(usage, "prompt_tokens_details"),
                         "cached_tokens");
    u->reasoning_tokens = llm_usage_int(
                        llm_json_get_obj(usage, "completion_tokens_details"),
                        "reasoning_tokens");

    if (u->total_tokens == 0) {
        u->total_tokens = u->prompt_tokens + u->completion_tokens;
    }

    u->set = 1;

    llm_buf_reset(&resp->usage_json);

    return llm_json_print(usage, &resp->usage_json);
}


/*
 * The bytes of the top-level "model" member's value in raw, when that
 * value is written as the plain string model (no escapes).  Strings are
 * skipped whole and nesting is tracked, so a nested "model" or one inside
 * a string never matches.
 */

static int
llm_response_find_model(const char *raw, size_t n, const char *model,
    size_t *start, size_t *end)
{
    int     depth, key;
    char    c;
    size_t  i, j, ks, mlen;

    mlen = strlen(model);
    depth = 0;
    key = 0;

    for (i = 0; i < n; i++) {
        c = raw[i];

        if (c == '"') {
            ks = i;

            for (i++; i < n && raw[i] != '"'; i++) {
                if (raw[i] == '\\') {
                    i++;
                }
            }

            if (i >= n) {
                return LLM_ERROR;
            }

            if (!(depth == 1 && key && i - ks - 1 == 5
                  && memcmp(raw + ks + 1, "model", 5) == 0))
            {
                key = 0;
                continue;
            }

            for (j = i + 1; j < n && (raw[j] == ' ' || raw[j] == '\t'); j++) {
                /* void */
            }

            if (j >= n || raw[j] != ':') {
                return LLM_ERROR;
            }

            for (j++; j < n && (raw[j] == ' ' || raw[j] == '\t'); j++) {
                /* void */
            }

            if (j + mlen + 1 >= n || raw[j] != '"' || raw[j + 1 + mlen] != '"'
                || memcmp(raw + j + 1, model, mlen) != 0)
            {
                return LLM_ERROR;
            }

            *start = j;
            *end = j + mlen + 2;

            return LLM_OK;
        }

        switch (c) {

        case '{':
        case '[':
            depth++;
            key = (c == '{' && depth == 1);
            break;

        case '}':
        case ']':
            depth--;
            break;

        case ',':
            key = (depth == 1);
            break;

        case ':':
            key = 0;
            break;
        }
    }

    return LLM_ERROR;
}


int
llm_response_emit_json(llm_json_t *j, const char *raw, size_t n,
    const char *model, int modified, int sse, llm_buf_t *out)
{
    size_t       start, end;
    const char  *old;

    old = llm_json_get_str(j, "model");

    /* in an SSE frame the bytes must stay on one line: no splice then */

    if (!modified && old
        && !(sse && (memchr(raw, '\n', n) || memchr(raw, '\r', n)))
        && llm_response_find_model(raw, n, old, &start, &end) == LLM_OK)
    {
        if (llm_buf_append(out, raw, start) != LLM_OK
            || llm_buf_append_json_string(out, model, strlen(model))
               != LLM_OK
            || llm_buf_append(out, raw + end, n - end) != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_json_set_str(j, "model", model) != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_json_print(j, out);
}
