/*
 * The "openai" dialect: OpenAI and every OpenAI-compatible provider
 * (xAI, Groq, Mistral, DeepSeek, Together, vLLM, Ollama).
 *
 * The body goes upstream as the client sent it, with the upstream model
 * name and, for streams, stream_options.include_usage forced on so usage
 * is always known.  Provider quirks are normalized on the way back:
 *
 *   - usage is reported once, in a final "choices":[] chunk, and only
 *     when the client asked for it (Groq and Mistral put it on the finish
 *     chunk, Groq also in x_groq.usage);
 *   - tool-call deltas without "index" get one (Mistral);
 *   - delta.reasoning becomes delta.reasoning_content (Groq);
 *   - SSE comments are dropped by the framer (DeepSeek keep-alives);
 *   - an in-band error (OpenAI "data: {error}", Groq "event: error")
 *     becomes an OpenAI error frame followed by [DONE].
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_dialect.h"


static int llm_openai_build_request(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);
static int llm_openai_response(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_openai_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);
static int llm_openai_stream_end(llm_response_t *resp, llm_buf_t *out);
static void llm_openai_error(int status, const char *p, size_t n,
    llm_error_t *e);
static void llm_openai_error_object(llm_json_t *err, int status,
    llm_error_t *e);


const llm_dialect_t  llm_dialect_openai = {
    "openai",
    "/chat/completions",
    llm_openai_build_request,
    llm_openai_response,
    llm_openai_stream_event,
    llm_openai_stream_end,
    llm_openai_error
};


static int
llm_openai_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    llm_json_t  *opts;

    if (llm_json_set_str(req->root, "model", upstream_model) != LLM_OK) {
        return LLM_ERROR;
    }

    if (req->stream) {
        opts = llm_json_get_obj(req->root, "stream_options");

        if (opts == NULL) {
            opts = cJSON_CreateObject();
            if (llm_json_set(req->root, "stream_options", opts) != LLM_OK) {
                return LLM_ERROR;
            }
        }

        if (llm_json_set(opts, "include_usage", cJSON_CreateTrue())
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return llm_json_print(req->root, body);
}


static void
llm_openai_finish_reason(llm_response_t *resp, llm_json_t *choice)
{
    size_t       n;
    const char  *fr;

    fr = llm_json_get_str(choice, "finish_reason");

    if (fr == NULL) {
        return;
    }

    n = strlen(fr);
    if (n >= sizeof(resp->finish_reason)) {
        n = sizeof(resp->finish_reason) - 1;
    }

    memcpy(resp->finish_reason, fr, n);
    resp->finish_reason[n] = '\0';
}


static llm_json_t *
llm_openai_usage_object(llm_json_t *j)
{
    llm_json_t  *usage;

    usage = llm_json_get_obj(j, "usage");

    if (usage == NULL) {
        /* Groq */
        usage = llm_json_get_obj(llm_json_get_obj(j, "x_groq"), "usage");
    }

    return usage;
}


static int
llm_openai_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int          rc;
    llm_json_t  *j, *usage, *choices, *err;

    j = llm_json_parse(p, n, NULL);

    if (j == NULL || !cJSON_IsObject(j)) {
        llm_json_free(j);
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      "The provider returned a response that is not a "
                      "JSON object.");
        return LLM_ERROR;
    }

    err = llm_json_get(j, "error");

    if (err && !cJSON_IsNull(err)) {
        llm_openai_error_object(err, 502, &resp->error);
        llm_json_free(j);
        return LLM_ERROR;
    }

    choices = llm_json_get_arr(j, "choices");

    if (choices == NULL) {
        llm_json_free(j);
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      "The provider returned a response without "
                      "\"choices\".");
        return LLM_ERROR;
    }

    llm_openai_finish_reason(resp, cJSON_GetArrayItem(choices, 0));

    usage = llm_openai_usage_object(j);

    if (usage && llm_response_usage(resp, usage) != LLM_OK) {
        llm_json_free(j);
        return LLM_ERROR;
    }

    rc = llm_response_emit_json(j, p, n, resp->client_model, 0, 0, out);

    resp->first_token = 1;
    resp->done = 1;

    llm_json_free(j);

    return rc;
}


static int
llm_openai_usage_chunk(llm_response_t *resp, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "data: {\"id\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->id, strlen(resp->id))
           != LLM_OK
        || llm_buf_append_lit(out, ",\"object\":\"chat.completion.chunk\","
                                   "\"created\":") != LLM_OK
        || llm_buf_append_int(out, resp->created) != LLM_OK
        || llm_buf_append_lit(out, ",\"model\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->client_model,
                                      strlen(resp->client_model)) != LLM_OK
        || llm_buf_append_lit(out, ",\"choices\":[],\"usage\":") != LLM_OK
        || llm_buf_append(out, resp->usage_json.data, resp->usage_json.len)
           != LLM_OK
        || llm_buf_append_lit(out, "}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    resp->usage_sent = 1;

    return LLM_OK;
}


/* normalizes one choice's delta; returns 1 if the tree was changed */

static int
llm_openai_delta(llm_response_t *resp, llm_json_t *delta)
{
    int          modified, index;
    llm_json_t  *v, *calls, *call;

    modified = 0;

    v = llm_json_get(delta, "content");
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        resp->first_token = 1;
    }

    v = llm_json_get(delta, "refusal");
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        resp->first_token = 1;
    }

    v = llm_json_get(delta, "reasoning_content");
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        resp->first_token = 1;
    }

    /* Groq streams reasoning as "reasoning" */

    v = llm_json_get(delta, "reasoning");
    if (cJSON_IsString(v) && llm_json_get(delta, "reasoning_content") == NULL)
    {
        if (v->valuestring[0] != '\0') {
            resp->first_token = 1;
        }

        v = cJSON_DetachItemViaPointer(delta, v);
        cJSON_AddItemToObject(delta, "reasoning_content", v);
        modified = 1;
    }

    calls = llm_json_get_arr(delta, "tool_calls");

    if (calls == NULL) {
        return modified;
    }

    resp->first_token = 1;

    cJSON_ArrayForEach(call, calls) {

        v = llm_json_get(call, "index");

        if (cJSON_IsNumber(v)) {
            index = v->valueint;

            /* only a count for calls without index: keep it sane */
            if (index >= resp->tool_count && index < 65536) {
                resp->tool_count = index + 1;
            }

            continue;
        }

        if (!cJSON_IsObject(call)) {
            continue;
        }

        /* Mistral: a call with an id is a new call; without, a fragment */

        if (llm_json_get(call, "id")) {
            index = resp->tool_count++;

            if (llm_json_get(call, "type") == NULL) {
                cJSON_AddStringToObject(call, "type", "function");
            }

        } else {
            index = resp->tool_count ? resp->tool_count - 1 : 0;
        }

        cJSON_AddNumberToObject(call, "index", index);
        modified = 1;
    }

    return modified;
}


static int
llm_openai_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int          rc, modified;
    size_t       len;
    llm_json_t  *j, *v, *usage, *choices, *choice, *delta;
    const char  *id;

    if (resp->done) {
        return LLM_DONE;
    }

    if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {

        if (resp->include_usage && resp->usage.set && !resp->usage_sent
            && llm_openai_usage_chunk(resp, out) != LLM_OK)
        {
            return LLM_ERROR;
        }

        resp->done = 1;

        if (llm_buf_append_lit(out, "data: [DONE]\n\n") != LLM_OK) {
            return LLM_ERROR;
        }

        return LLM_DONE;
    }

    j = llm_json_parse(data, n, NULL);

    if (j == NULL || !cJSON_IsObject(j)) {
        llm_json_free(j);
        return llm_response_fail(resp, out, 502, "invalid_upstream_response",
                                 "The provider sent a malformed stream "
                                 "event.");
    }

    v = llm_json_get(j, "error");

    if ((v && !cJSON_IsNull(v))
        || (event_len == 5 && memcmp(event, "error", 5) == 0))
    {
        llm_openai_error_object(v, 500, &resp->error);
        llm_json_free(j);

        resp->failed = 1;
        resp->done = 1;

        if (llm_error_frame(&resp->error, out) != LLM_OK) {
            return LLM_ERROR;
        }

        return LLM_DONE;
    }

    if (resp->id[0] == '\0') {
        id = llm_json_get_str(j, "id");

        if (id) {
            len = strlen(id);
            if (len >= sizeof(resp->id)) {
                len = sizeof(resp->id) - 1;
            }

            memcpy(resp->id, id, len);
            resp->id[len] = '\0';
        }

        resp->created = llm_json_get_int(j, "created");

        if (resp->created < 0) {
            resp->created = (long long) time(NULL);
        }
    }

    modified = 0;

    usage = llm_openai_usage_object(j);

    if (usage && llm_response_usage(resp, usage) != LLM_OK) {
        llm_json_free(j);
        return LLM_ERROR;
    }

    choices = llm_json_get_arr(j, "choices");

    if (choices == NULL || cJSON_GetArraySize(choices) == 0) {

        if (usage && llm_json_get_obj(j, "usage")) {

            /* the usage chunk, sent because we always ask for it */

            if (!resp->include_usage || resp->usage_sent) {
                llm_json_free(j);
                return LLM_OK;
            }

            resp->usage_sent = 1;
        }

    } else {
        cJSON_ArrayForEach(choice, choices) {
            llm_openai_finish_reason(resp, choice);

            delta = llm_json_get_obj(choice, "delta");

            if (delta && llm_openai_delta(resp, delta)) {
                modified = 1;
            }
        }

        /* usage on a content chunk moves to the final usage chunk */

        if (llm_json_get_obj(j, "usage")) {
            cJSON_DeleteItemFromObjectCaseSensitive(j, "usage");
            modified = 1;
        }
    }

    rc = LLM_ERROR;

    if (llm_buf_append_lit(out, "data: ") == LLM_OK
        && llm_response_emit_json(j, data, n, resp->client_model, modified,
                                  1, out) == LLM_OK
        && llm_buf_append_lit(out, "\n\n") == LLM_OK)
    {
        rc = LLM_OK;
    }

    llm_json_free(j);

    return rc;
}


static int
llm_openai_stream_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->done) {
        return LLM_DONE;
    }

    return llm_response_fail(resp, out, 502, "stream_truncated",
                             "The provider's stream ended before it was "
                             "complete.");
}


static void
llm_openai_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_json_t  *j, *err;
    const char  *s;

    j = llm_json_parse(p, n, NULL);

    err = llm_json_get(j, "error");

    if (err && !cJSON_IsNull(err)) {
        llm_openai_error_object(err, status, e);

    } else if ((s = llm_json_get_str(j, "message")) != NULL
               || (s = llm_json_get_str(j, "detail")) != NULL)
    {
        /* vLLM, FastAPI-style servers */
        llm_error_set(e, status, NULL, NULL, "%s", s);

    } else {
        llm_error_set(e, status, NULL, "upstream_error",
                      "The provider returned HTTP %d%s.", status,
                      j ? " without an error message"
                        : " with a body that is not JSON");
    }

    llm_json_free(j);
}


/* {"message","type","param","code"} or a bare string, provider's words */

static void
llm_openai_error_object(llm_json_t *err, int status, llm_error_t *e)
{
    char         code[64];
    llm_json_t  *v;
    const char  *message, *type, *param;

    if (cJSON_IsString(err)) {
        llm_error_set(e, status, NULL, NULL, "%s", err->valuestring);
        return;
    }

    v = llm_json_get(err, "status_code");

    if (cJSON_IsNumber(v) && v->valueint >= 400 && v->valueint < 600) {
        status = v->valueint;
    }

    message = llm_json_get_str(err, "message");
    type = llm_json_get_str(err, "type");
    param = llm_json_get_str(err, "param");

    code[0] = '\0';
    v = llm_json_get(err, "code");

    if (cJSON_IsString(v)) {
        snprintf(code, sizeof(code), "%s", v->valuestring);

    } else if (cJSON_IsNumber(v)) {
        snprintf(code, sizeof(code), "%d", v->valueint);

    } else if (type && strcmp(type, llm_error_type(status)) != 0) {
        /* e.g. "insufficient_quota": keep the provider's precise word */
        snprintf(code, sizeof(code), "%s", type);
    }

    llm_error_set(e, status, param, code, "%s",
                  message ? message : "The provider reported an error.");
}
