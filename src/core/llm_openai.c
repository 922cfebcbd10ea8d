/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

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

#include "llm_openai.h"
#include "llm_json_scan.h"


static int llm_openai_request_pieces(llm_request_t *req,
    const char *upstream_model, llm_buf_t *own, llm_piece_t *pieces,
    int *n);
static int llm_openai_rewrite(llm_request_t *req, llm_json_t *root,
    const char *upstream_model, llm_buf_t *body);
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
    llm_openai_error,
    NULL,
    "Authorization: Bearer ",
    NULL,
    NULL,
    NULL,
    NULL,
    llm_openai_request_pieces
};


/*
 * Usually the body goes as it came, the model's bytes replaced and, for a
 * stream, stream_options put first: the client's bytes around those.  The
 * tree is printed again only when the client's own stream_options must
 * change.
 */

static int
llm_openai_request_pieces(llm_request_t *req, const char *upstream_model,
    llm_buf_t *own, llm_piece_t *pieces, int *n)
{
    int     i, k;
    size_t  brace, insert;

    if (req->raw == NULL || req->model_end == 0
        || (req->stream && req->has_stream_options && !req->include_usage))
    {
        return LLM_DECLINED;
    }

    brace = 0;

    if (req->stream && !req->has_stream_options) {
        while (req->raw[brace] != '{') {
            brace++;
        }

        brace++;

        if (llm_buf_append_lit(own, "\"stream_options\":"
                               "{\"include_usage\":true},")
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    insert = own->len;

    if (llm_buf_append_json_string(own, upstream_model,
                                   strlen(upstream_model))
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    /* own is written: its bytes stay where they are now */

    pieces[0].data = req->raw;
    pieces[0].len = brace;
    pieces[1].data = own->data;
    pieces[1].len = insert;
    pieces[2].data = req->raw + brace;
    pieces[2].len = req->model_start - brace;
    pieces[3].data = own->data + insert;
    pieces[3].len = own->len - insert;
    pieces[4].data = req->raw + req->model_end;
    pieces[4].len = req->raw_len - req->model_end;

    for (i = 0, k = 0; i < LLM_PIECES_MAX; i++) {
        if (pieces[i].len) {
            pieces[k++] = pieces[i];
        }
    }

    *n = k;

    return LLM_OK;
}


/*
 * The fast path.  Most provider JSON (every content chunk of a stream,
 * the usual non-stream response) needs no change but the model name: one
 * scan finds what the gateway records and the model's bytes, which are
 * then spliced.  Anything unusual (an error, usage on a content chunk, a
 * tool call without index, Groq's reasoning) takes the cJSON path.
 */

typedef struct {
    llm_usage_t   usage;
    const char   *id;
    size_t        id_len;
    long long     created;
    const char   *model;          /* the model value's bytes, quotes too */
    const char   *model_end;
    const char   *finish;         /* a finish_reason, without quotes */
    size_t        finish_len;
    int           choices;        /* number of choices, -1: no array */
    long long     choice0;        /* choices[0]'s "index" */
    const char   *text[3];        /* choices[0].delta's texts, by */
    const char   *text_end[3];    /* llm_part_e, quotes included */
    unsigned      error:1;
    unsigned      has_choices:1;  /* a "choices" member of any type */
    unsigned      null_choices:1;
    unsigned      shape:1;        /* valid JSON, not a chat completion */
    unsigned      has_usage:1;
    unsigned      slow:1;         /* a stream chunk needs cJSON */
    unsigned      dup_model:1;
    unsigned      first_token:1;
    unsigned      tool_index:1;
    unsigned      first_choice:1; /* finish_reason of choices[0] only */
    unsigned      tools:1;        /* tool calls or Groq's reasoning: the
                                     events take the cJSON path */
} llm_openai_scan_t;


static int llm_openai_events_whole_fast(llm_response_t *resp,
    llm_openai_scan_t *sc, llm_buf_t *out);


static void
llm_openai_scan_usage(llm_usage_t *u, const llm_json_step_t *step,
    long long v)
{
    if (v < 0) {
        return;
    }

    if (llm_json_step_is(step, "prompt_tokens")) {
        u->prompt_tokens = v;

    } else if (llm_json_step_is(step, "completion_tokens")) {
        u->completion_tokens = v;

    } else if (llm_json_step_is(step, "total_tokens")) {
        u->total_tokens = v;
    }
}


static int
llm_openai_scan_value(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_openai_scan_t *sc = data;

    int  part;

    if (depth == 0) {
        return LLM_OK;
    }

    if (depth == 1) {
        if (llm_json_step_is(&path[0], "error")) {
            sc->error = (type != LLM_JSON_NULL);

        } else if (llm_json_step_is(&path[0], "choices")) {
            sc->has_choices = 1;
            sc->null_choices = (type == LLM_JSON_NULL);

            if (type == LLM_JSON_ARRAY && sc->choices < 0) {
                sc->choices = 0;
            }

        } else if (llm_json_step_is(&path[0], "usage")) {
            sc->has_usage = (type == LLM_JSON_OBJECT);

        } else if (llm_json_step_is(&path[0], "model")) {
            if (sc->model || type != LLM_JSON_STRING) {
                /* a second "model", or an odd one: cJSON rewrites it */
                sc->dup_model = 1;

            } else {
                sc->model = start;
                sc->model_end = end;
            }

        } else if (llm_json_step_is(&path[0], "id")) {
            if (type == LLM_JSON_STRING) {
                sc->id = start + 1;
                sc->id_len = (size_t) (end - start - 2);
            }

        } else if (llm_json_step_is(&path[0], "created")) {
            sc->created = llm_json_scan_int(start, end);
        }

        return LLM_OK;
    }

    if (depth == 2 && llm_json_step_is(&path[0], "x_groq")
        && llm_json_step_is(&path[1], "usage") && type == LLM_JSON_OBJECT)
    {
        /* Groq's second copy of usage: the cJSON path sorts it out */
        sc->slow = 1;
        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "usage")) {
        if (depth == 2 && type == LLM_JSON_NUMBER) {
            llm_openai_scan_usage(&sc->usage, &path[1],
                                  llm_json_scan_int(start, end));

        } else if (depth == 3 && type == LLM_JSON_NUMBER) {
            if (llm_json_step_is(&path[1], "prompt_tokens_details")
                && llm_json_step_is(&path[2], "cached_tokens"))
            {
                sc->usage.cached_tokens = llm_json_scan_int(start, end);

            } else if (llm_json_step_is(&path[1],
                                        "completion_tokens_details")
                       && llm_json_step_is(&path[2], "reasoning_tokens"))
            {
                sc->usage.reasoning_tokens = llm_json_scan_int(start, end);
            }
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[0], "choices") || path[1].key != NULL) {
        return LLM_OK;
    }

    /* choices[i]... */

    if (depth == 2) {
        sc->choices = path[1].index + 1;

        if (type != LLM_JSON_OBJECT) {
            sc->shape = 1;
        }

        return LLM_OK;
    }

    if (depth == 3) {
        if ((llm_json_step_is(&path[2], "delta")
             || llm_json_step_is(&path[2], "message"))
            && type != LLM_JSON_OBJECT)
        {
            sc->shape = 1;
        }

        if (llm_json_step_is(&path[2], "finish_reason")
            && type == LLM_JSON_STRING
            && (path[1].index == 0 || !sc->first_choice))
        {
            sc->finish = start + 1;
            sc->finish_len = (size_t) (end - start - 2);

        } else if (llm_json_step_is(&path[2], "index") && path[1].index == 0)
        {
            sc->choice0 = (type == LLM_JSON_NUMBER)
                          ? llm_json_scan_int(start, end) : -1;
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[2], "delta")
        && !llm_json_step_is(&path[2], "message"))
    {
        return LLM_OK;
    }

    /* choices[i].delta... or choices[i].message... */

    if (depth == 4) {
        if (llm_json_step_is(&path[3], "reasoning")) {
            sc->slow = 1;
            sc->tools = 1;

        } else if (llm_json_step_is(&path[3], "tool_calls")) {
            sc->first_token = 1;
            sc->tools = 1;

        } else if (type == LLM_JSON_STRING && end - start > 2) {
            part = llm_json_step_is(&path[3], "content") ? LLM_PART_CONTENT
                   : llm_json_step_is(&path[3], "reasoning_content")
                     ? LLM_PART_REASONING
                   : llm_json_step_is(&path[3], "refusal") ? LLM_PART_REFUSAL
                   : -1;

            if (part >= 0) {
                sc->first_token = 1;

                if (path[1].index == 0) {
                    sc->text[part] = start;
                    sc->text_end[part] = end;
                }
            }
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[3], "tool_calls") || path[4].key != NULL
        || !llm_json_step_is(&path[2], "delta"))
    {
        return LLM_OK;
    }

    /* choices[i].delta.tool_calls[k]: children come before the element */

    if (depth == 6 && llm_json_step_is(&path[5], "index")) {
        sc->tool_index = 1;

    } else if (depth == 5) {
        if (!sc->tool_index) {
            sc->slow = 1;
        }

        sc->tool_index = 0;
    }

    return LLM_OK;
}


/*
 * LLM_OK: sc is filled and the fast path applies; LLM_DECLINED: valid,
 * but the cJSON path must handle it; LLM_ERROR: not valid JSON, or
 * (sc->shape) not the shape of a chat completion or chunk: what is
 * relayed meets the bar of what is translated.
 */

static int
llm_openai_scan(llm_openai_scan_t *sc, const char *p, size_t n, int sse,
    int first_choice)
{
    memset(sc, 0, sizeof(llm_openai_scan_t));
    sc->choices = -1;
    sc->created = -1;
    sc->first_choice = first_choice;

    /* strict JSON only: what cJSON would let through is refused here */
    if (llm_json_scan(p, n, 6, llm_openai_scan_value, sc) != LLM_OK) {
        return LLM_ERROR;
    }

    /*
     * "choices" is an array of objects (with object deltas or messages);
     * only an error, or a stream's usage chunk, may go without it.
     */

    if (!sc->error && sc->choices < 0
        && (sse ? !(sc->has_usage && (!sc->has_choices || sc->null_choices))
                : sc->has_choices))
    {
        sc->shape = 1;
    }

    if (sc->shape && !sc->error) {
        return LLM_ERROR;
    }

    sc->shape = 0;

    /* in a stream, usage on a content chunk is moved by the cJSON path */

    if (sc->error || sc->dup_model || (sse && sc->slow) || sc->model == NULL
        || sc->choices < 0 || (sse && sc->has_usage && sc->choices > 0))
    {
        return LLM_DECLINED;
    }

    /* an SSE frame must stay on one line */
    if (sse && (memchr(p, '\n', n) || memchr(p, '\r', n))) {
        return LLM_DECLINED;
    }

    return LLM_OK;
}


static void
llm_openai_scan_result(llm_response_t *resp, llm_openai_scan_t *sc)
{
    size_t  len;

    if (sc->has_usage) {
        resp->usage = sc->usage;

        if (resp->usage.total_tokens == 0) {
            resp->usage.total_tokens = resp->usage.prompt_tokens
                                       + resp->usage.completion_tokens;
        }

        resp->usage.set = 1;
    }

    if (sc->finish) {
        len = sc->finish_len;
        if (len >= sizeof(resp->finish_reason)) {
            len = sizeof(resp->finish_reason) - 1;
        }

        memcpy(resp->finish_reason, sc->finish, len);
        resp->finish_reason[len] = '\0';
    }

    if (sc->first_token) {
        resp->first_token = 1;
    }

    /* what a relay produced, for a budget's settling of a cut stream (the
     * events count their own) */
    for (len = 0; len < 3 && llm_openai_relayed(resp); len++) {
        if (sc->text[len]) {
            resp->text_bytes += sc->text_end[len] - sc->text[len] - 2;
        }
    }
}


static int
llm_openai_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    int           i, n, rc;
    llm_buf_t     own;
    llm_json_t   *root;
    llm_piece_t   pieces[LLM_PIECES_MAX];

    memset(&own, 0, sizeof(llm_buf_t));
    n = 0;

    rc = llm_openai_request_pieces(req, upstream_model, &own, pieces, &n);

    for (i = 0; rc == LLM_OK && i < n; i++) {
        rc = llm_buf_append(body, pieces[i].data, pieces[i].len);
    }

    llm_buf_free(&own);

    if (rc != LLM_DECLINED) {
        return rc;
    }

    /* the request's tree is read-only (an arena): a copy to change */

    root = cJSON_Duplicate(llm_request_tree(req), 1);

    rc = llm_openai_rewrite(req, root, upstream_model, body);

    llm_json_free(root);

    return rc;
}


static int
llm_openai_rewrite(llm_request_t *req, llm_json_t *root,
    const char *upstream_model, llm_buf_t *body)
{
    size_t       len0;
    llm_json_t  *opts;

    if (root == NULL
        || llm_json_set_str(root, "model", upstream_model) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (req->stream) {
        opts = llm_json_get_obj(root, "stream_options");

        if (opts == NULL) {
            opts = cJSON_CreateObject();
            if (llm_json_set(root, "stream_options", opts) != LLM_OK) {
                return LLM_ERROR;
            }
        }

        if (llm_json_set(opts, "include_usage", cJSON_CreateTrue())
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    len0 = body->len;

    if (llm_json_print(root, body) != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_request_texts_back(req, body, len0);
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
    int                 rc;
    llm_json_t         *j, *usage, *choices, *err;
    llm_openai_scan_t   sc;

    rc = llm_openai_scan(&sc, p, n, 0, 1);

    if (rc == LLM_ERROR) {
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      sc.shape ? "The provider returned a response whose "
                                 "\"choices\" is not an array of "
                                 "objects."
                               : "The provider returned a response that "
                                 "is not a JSON object.");
        return LLM_ERROR;
    }

    if (rc == LLM_OK && !llm_openai_relayed(resp) && !sc.tools
        && sc.choices <= 1 && sc.choice0 == 0)
    {
        return llm_openai_events_whole_fast(resp, &sc, out);
    }

    if (rc == LLM_OK && llm_openai_relayed(resp)) {
        llm_openai_scan_result(resp, &sc);

        resp->first_token = 1;
        resp->done = 1;

        return llm_response_splice_model(p, n, sc.model - p,
                                         sc.model_end - p,
                                         resp->client_model, out);
    }

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

    rc = llm_openai_relayed(resp)
         ? llm_response_emit_json(j, resp->client_model, out)
         : llm_openai_events_whole(resp, j, out);

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


/* the stream's own state: tool calls so far, for deltas without index */

typedef struct {
    int           tool_count;
    unsigned      started:1;        /* events: the start is out */
} llm_openai_state_t;


/* normalizes one choice's delta for the client */

static void
llm_openai_delta(llm_response_t *resp, llm_openai_state_t *st,
    llm_json_t *delta)
{
    int          index;
    llm_json_t  *v, *calls, *call;

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
    }

    calls = llm_json_get_arr(delta, "tool_calls");

    if (calls == NULL) {
        return;
    }

    resp->first_token = 1;

    cJSON_ArrayForEach(call, calls) {

        v = llm_json_get(call, "index");

        if (cJSON_IsNumber(v)) {
            index = v->valueint;

            /* only a count for calls without index: keep it sane */
            if (index >= st->tool_count && index < 65536) {
                st->tool_count = index + 1;
            }

            continue;
        }

        if (!cJSON_IsObject(call)) {
            continue;
        }

        /* Mistral: a call with an id is a new call; without, a fragment */

        if (llm_json_get(call, "id")) {
            index = st->tool_count++;

            if (llm_json_get(call, "type") == NULL) {
                cJSON_AddStringToObject(call, "type", "function");
            }

        } else {
            index = st->tool_count ? st->tool_count - 1 : 0;
        }

        cJSON_AddNumberToObject(call, "index", index);
    }

}


/* the stream's id and time, from its first chunk */

static void
llm_openai_stream_id(llm_response_t *resp, llm_openai_scan_t *sc)
{
    size_t  len;

    if (resp->id[0] != '\0') {
        return;
    }

    len = sc->id_len;
    if (len >= sizeof(resp->id)) {
        len = sizeof(resp->id) - 1;
    }

    if (sc->id) {
        memcpy(resp->id, sc->id, len);
        resp->id[len] = '\0';
    }

    resp->created = (sc->created >= 0) ? sc->created : (long long) time(NULL);
}


static int
llm_openai_stream_fast(llm_response_t *resp, llm_openai_scan_t *sc,
    const char *data, size_t n, llm_buf_t *out)
{
    llm_openai_stream_id(resp, sc);
    llm_openai_scan_result(resp, sc);

    if (sc->has_usage) {

        /* the usage chunk, sent because we always ask for it */

        if (!resp->include_usage || resp->usage_sent) {
            return LLM_OK;
        }

        resp->usage_sent = 1;
    }

    if (llm_buf_append_lit(out, "data: ") != LLM_OK
        || llm_response_splice_model(data, n, sc->model - data,
                                     sc->model_end - data,
                                     resp->client_model, out) != LLM_OK
        || llm_buf_append_lit(out, "\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The fast path for another client format: a chunk of one choice without
 * tool calls (nearly all) becomes events straight from the scan, its
 * texts passed as the provider escaped them.
 */

static int
llm_openai_events_fast(llm_response_t *resp, llm_openai_scan_t *sc,
    llm_buf_t *out)
{
    char                 finish[32];
    size_t               len;
    llm_openai_state_t  *st;

    static const llm_part_e  order[] = {
        LLM_PART_REASONING, LLM_PART_CONTENT, LLM_PART_REFUSAL
    };

    st = llm_response_state(resp, sizeof(llm_openai_state_t));
    if (st == NULL) {
        return LLM_ERROR;
    }

    llm_openai_stream_id(resp, sc);
    llm_openai_scan_result(resp, sc);

    if (!st->started) {
        st->started = 1;

        if (llm_event_start(resp, out) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    for (len = 0; len < 3; len++) {
        if (sc->text[order[len]]
            && llm_event_text(resp, 0, order[len], sc->text[order[len]],
                              sc->text_end[order[len]] - sc->text[order[len]],
                              out)
               != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (sc->finish == NULL) {
        return LLM_OK;
    }

    len = (sc->finish_len < sizeof(finish)) ? sc->finish_len
                                            : sizeof(finish) - 1;
    memcpy(finish, sc->finish, len);
    finish[len] = '\0';

    return llm_event_finish(resp, 0, finish, out);
}


/* a whole response of one choice without tool calls, likewise */

static int
llm_openai_events_whole_fast(llm_response_t *resp, llm_openai_scan_t *sc,
    llm_buf_t *out)
{
    llm_response_whole(resp);

    if (llm_openai_events_fast(resp, sc, out) != LLM_OK
        || llm_event_end(resp, out) != LLM_DONE)
    {
        return LLM_ERROR;
    }

    resp->first_token = 1;

    return LLM_OK;
}


static int
llm_openai_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int                 rc;
    size_t              len;
    llm_json_t          *j, *v, *usage, *choices, *choice, *delta;
    const char          *id;
    llm_openai_scan_t    sc;
    llm_openai_state_t  *st;

    if (resp->done) {
        return LLM_DONE;
    }

    if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {

        if (!llm_openai_relayed(resp)) {
            return llm_event_end(resp, out);
        }

        if (resp->include_usage && resp->usage_json.len && !resp->usage_sent
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

    if (!(event_len == 5 && memcmp(event, "error", 5) == 0)) {
        rc = llm_openai_scan(&sc, data, n, 1, 0);

        if (rc == LLM_OK && llm_openai_relayed(resp)) {
            return llm_openai_stream_fast(resp, &sc, data, n, out);
        }

        if (rc == LLM_OK && !sc.tools && sc.choices <= 1 && sc.choice0 == 0)
        {
            return llm_openai_events_fast(resp, &sc, out);
        }

        if (rc == LLM_ERROR) {
            return llm_response_fail(resp, out, 502,
                                     "invalid_upstream_response",
                                     sc.shape
                                     ? "The provider sent a stream event "
                                       "without \"choices\" as an array "
                                       "of objects."
                                     : "The provider sent a malformed "
                                       "stream event.");
        }
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

        return llm_response_end_error(resp, out);
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

    usage = llm_openai_usage_object(j);

    if (usage
        && (llm_response_usage(resp, usage) != LLM_OK
            || (resp->include_usage
                && llm_response_usage_json(resp, usage) != LLM_OK)))
    {
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

            if (delta) {
                st = llm_response_state(resp, sizeof(llm_openai_state_t));
                if (st == NULL) {
                    llm_json_free(j);
                    return LLM_ERROR;
                }

                llm_openai_delta(resp, st, delta);
            }
        }

        /* usage on a content chunk moves to the final usage chunk */

        if (llm_json_get_obj(j, "usage")) {
            cJSON_DeleteItemFromObjectCaseSensitive(j, "usage");
        }
    }

    if (!llm_openai_relayed(resp)) {
        st = llm_response_state(resp, sizeof(llm_openai_state_t));
        rc = (st == NULL) ? LLM_ERROR : LLM_OK;

        if (rc == LLM_OK && !st->started) {
            st->started = 1;
            rc = llm_event_start(resp, out);
        }

        if (rc == LLM_OK) {
            rc = llm_openai_events_chunk(resp, j, out);
        }

        llm_json_free(j);

        return rc;
    }

    rc = LLM_ERROR;

    if (llm_buf_append_lit(out, "data: ") == LLM_OK
        && llm_response_emit_json(j, resp->client_model, out) == LLM_OK
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
        llm_error_no_message(e, status, j != NULL);
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
