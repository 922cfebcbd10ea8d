/*
 * The "anthropic" dialect: the Anthropic Messages API (POST /v1/messages)
 * spoken to OpenAI Chat Completions clients.  Text and reasoning only.
 *
 * Request policy (OpenAI → Anthropic):
 *
 *   - system and developer messages, in order, become one top-level
 *     "system" string (texts joined with "\n\n"); their position in the
 *     conversation is lost;
 *   - user and assistant messages become "messages"; consecutive turns of
 *     the same role are merged into one turn whose content is an array of
 *     text blocks; empty texts are skipped (Anthropic rejects empty text
 *     blocks), and a turn left without any block is dropped;
 *   - the conversation is sent as it is: when the first turn is the
 *     assistant's, Anthropic answers its own 400, which the client gets;
 *   - max_tokens (required by Anthropic): max_completion_tokens, else
 *     max_tokens, else the configured default, else 4096;
 *   - temperature is clamped to Anthropic's [0, 1]; top_p as is; stop
 *     (string or array) becomes stop_sequences; user becomes
 *     metadata.user_id; stream as requested;
 *   - dropped, since build_request cannot refuse a request: n,
 *     logprobs, top_logprobs, presence_penalty, frequency_penalty, seed,
 *     logit_bias, response_format (a later issue), and for now tools,
 *     tool_choice, tool messages, assistant tool_calls and image parts
 *     (the next issue adds tools and images; passing OpenAI tools through
 *     unchanged would only earn a 400).
 *
 * Response: a Message becomes a chat.completion; a stream's events become
 * chat.completion.chunk frames written directly (no cJSON per event: the
 * JSON scanner finds the few members needed, and text deltas are copied
 * as their escaped JSON bytes).  Tool-use and server-tool blocks, and
 * their input_json_delta events, are ignored for now.
 *
 * Stream state kept in llm_response_t: id ("chatcmpl-" + the message id;
 * non-empty once the role chunk is out), created, usage, finish_reason.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_dialect.h"
#include "llm_json_scan.h"


#define LLM_ANTHROPIC_MAX_TOKENS  4096


static int llm_anthropic_build_request(llm_request_t *req,
    const char *upstream_model, llm_buf_t *body);
static int llm_anthropic_response(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_anthropic_stream_event(llm_response_t *resp,
    const char *event, size_t event_len, const char *data, size_t n,
    llm_buf_t *out);
static int llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out);
static void llm_anthropic_error(int status, const char *p, size_t n,
    llm_error_t *e);
static void llm_anthropic_error_object(llm_json_t *err, int status,
    llm_error_t *e);


const llm_dialect_t  llm_dialect_anthropic = {
    "anthropic",
    "/messages",
    llm_anthropic_build_request,
    llm_anthropic_response,
    llm_anthropic_stream_event,
    llm_anthropic_stream_end,
    llm_anthropic_error,
    NULL,
    "x-api-key: ",
    "anthropic-version: 2023-06-01\r\n",
    NULL
};


/* request */


static int
llm_anthropic_add_text(llm_json_t *blocks, const char *text)
{
    llm_json_t  *b;

    if (text == NULL || text[0] == '\0') {
        return LLM_OK;
    }

    b = cJSON_CreateObject();

    if (b == NULL) {
        return LLM_ERROR;
    }

    cJSON_AddItemToArray(blocks, b);

    if (llm_json_set_str(b, "type", "text") != LLM_OK
        || llm_json_set_str(b, "text", text) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the text of a message's content: a string, or its text parts */

static int
llm_anthropic_content_blocks(llm_json_t *content, llm_json_t *blocks)
{
    llm_json_t  *part;
    const char  *type;

    if (cJSON_IsString(content)) {
        return llm_anthropic_add_text(blocks, content->valuestring);
    }

    if (!cJSON_IsArray(content)) {
        return LLM_OK;
    }

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");

        if (type && strcmp(type, "text") == 0
            && llm_anthropic_add_text(blocks, llm_json_get_str(part, "text"))
               != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_system_text(llm_json_t *content, llm_buf_t *sys)
{
    llm_json_t  *part;
    const char  *type, *text;

    if (cJSON_IsString(content)) {
        text = content->valuestring;

        if (text[0] == '\0') {
            return LLM_OK;
        }

        if ((sys->len && llm_buf_append_lit(sys, "\n\n") != LLM_OK)
            || llm_buf_append_cstr(sys, text) != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (!cJSON_IsArray(content)) {
        return LLM_OK;
    }

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");
        text = llm_json_get_str(part, "text");

        if (type == NULL || strcmp(type, "text") != 0 || text == NULL
            || text[0] == '\0')
        {
            continue;
        }

        if ((sys->len && llm_buf_append_lit(sys, "\n\n") != LLM_OK)
            || llm_buf_append_cstr(sys, text) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_messages(llm_json_t *msgs, llm_json_t *out, llm_buf_t *sys)
{
    llm_json_t  *m, *blocks, *turn, *b;
    const char  *role, *last;

    last = NULL;
    turn = NULL;

    cJSON_ArrayForEach(m, msgs) {
        role = llm_json_get_str(m, "role");

        if (role == NULL) {
            continue;
        }

        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            if (llm_anthropic_system_text(llm_json_get(m, "content"), sys)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            continue;
        }

        if (strcmp(role, "user") == 0) {
            role = "user";

        } else if (strcmp(role, "assistant") == 0) {
            role = "assistant";

        } else {
            /* "tool" (and "function"): with tools, in the next issue */
            continue;
        }

        blocks = cJSON_CreateArray();

        if (blocks == NULL) {
            return LLM_ERROR;
        }

        if (llm_anthropic_content_blocks(llm_json_get(m, "content"), blocks)
            != LLM_OK)
        {
            cJSON_Delete(blocks);
            return LLM_ERROR;
        }

        if (cJSON_GetArraySize(blocks) == 0) {
            cJSON_Delete(blocks);
            continue;
        }

        if (last == role && turn) {
            /* the same role again: one turn */
            while ((b = cJSON_DetachItemFromArray(blocks, 0)) != NULL) {
                cJSON_AddItemToArray(llm_json_get(turn, "content"), b);
            }

            cJSON_Delete(blocks);
            continue;
        }

        turn = cJSON_CreateObject();

        if (turn == NULL) {
            cJSON_Delete(blocks);
            return LLM_ERROR;
        }

        cJSON_AddItemToArray(out, turn);

        if (llm_json_set_str(turn, "role", role) != LLM_OK
            || llm_json_set(turn, "content", blocks) != LLM_OK)
        {
            return LLM_ERROR;
        }

        last = role;
    }

    return LLM_OK;
}


static int
llm_anthropic_build(llm_request_t *req, llm_json_t *root,
    const char *upstream_model, llm_json_t *a, llm_buf_t *sys)
{
    double        t;
    long long     max;
    llm_json_t   *v, *msgs, *stops, *s, *meta;

    if (llm_json_set_str(a, "model", upstream_model) != LLM_OK) {
        return LLM_ERROR;
    }

    msgs = cJSON_CreateArray();

    if (llm_json_set(a, "messages", msgs) != LLM_OK) {
        return LLM_ERROR;
    }

    v = llm_json_get_arr(root, "messages");

    if (v && llm_anthropic_messages(v, msgs, sys) != LLM_OK) {
        return LLM_ERROR;
    }

    if (sys->len) {
        if (llm_buf_append(sys, "", 1) != LLM_OK
            || llm_json_set_str(a, "system", sys->data) != LLM_OK)
        {
            return LLM_ERROR;
        }

        /* keep "system" before "messages", as people write it */
        v = cJSON_DetachItemFromObjectCaseSensitive(a, "system");
        cJSON_DetachItemViaPointer(a, msgs);
        cJSON_AddItemToObject(a, "system", v);
        cJSON_AddItemToObject(a, "messages", msgs);
    }

    max = llm_json_get_int(root, "max_completion_tokens");

    if (max < 0) {
        max = llm_json_get_int(root, "max_tokens");
    }

    if (max < 0) {
        max = req->max_tokens_default > 0 ? req->max_tokens_default
                                          : LLM_ANTHROPIC_MAX_TOKENS;
    }

    if (llm_json_set(a, "max_tokens", cJSON_CreateNumber((double) max))
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    v = llm_json_get(root, "temperature");

    if (cJSON_IsNumber(v)) {
        t = v->valuedouble;
        t = t < 0 ? 0 : (t > 1 ? 1 : t);

        if (llm_json_set(a, "temperature", cJSON_CreateNumber(t)) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    v = llm_json_get(root, "top_p");

    if (cJSON_IsNumber(v)
        && llm_json_set(a, "top_p", cJSON_CreateNumber(v->valuedouble))
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    v = llm_json_get(root, "stop");

    if (cJSON_IsString(v) || cJSON_IsArray(v)) {
        stops = cJSON_CreateArray();

        if (llm_json_set(a, "stop_sequences", stops) != LLM_OK) {
            return LLM_ERROR;
        }

        if (cJSON_IsString(v)) {
            cJSON_AddItemToArray(stops, cJSON_CreateString(v->valuestring));

        } else {
            cJSON_ArrayForEach(s, v) {
                if (cJSON_IsString(s)) {
                    cJSON_AddItemToArray(stops,
                                         cJSON_CreateString(s->valuestring));
                }
            }
        }

        if (cJSON_GetArraySize(stops) == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(a, "stop_sequences");
        }
    }

    v = llm_json_get(root, "user");

    if (cJSON_IsString(v)) {
        meta = cJSON_CreateObject();

        if (llm_json_set(a, "metadata", meta) != LLM_OK
            || llm_json_set_str(meta, "user_id", v->valuestring) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (req->stream
        && llm_json_set(a, "stream", cJSON_CreateTrue()) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_anthropic_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    int          rc;
    llm_buf_t    sys;
    llm_json_t  *root, *a;

    root = llm_request_tree(req);

    if (root == NULL) {
        return LLM_ERROR;
    }

    a = cJSON_CreateObject();

    if (a == NULL) {
        return LLM_ERROR;
    }

    memset(&sys, 0, sizeof(llm_buf_t));

    rc = llm_anthropic_build(req, root, upstream_model, a, &sys);

    if (rc == LLM_OK) {
        rc = llm_json_print(a, body);
    }

    llm_buf_free(&sys);
    cJSON_Delete(a);

    return rc;
}


/* response */


static const char *
llm_anthropic_finish(const char *p, size_t n)
{
#define llm_is(s)  (n == sizeof(s) - 1 && memcmp(p, s, n) == 0)

    if (p == NULL) {
        return "stop";
    }

    if (llm_is("max_tokens") || llm_is("model_context_window_exceeded")) {
        return "length";
    }

    if (llm_is("tool_use")) {
        return "tool_calls";
    }

    if (llm_is("refusal")) {
        return "content_filter";
    }

    /* end_turn, stop_sequence, pause_turn, and anything new */
    return "stop";

#undef llm_is
}


static void
llm_anthropic_set_finish(llm_response_t *resp, const char *fr)
{
    snprintf(resp->finish_reason, sizeof(resp->finish_reason), "%s", fr);
}


static long long
llm_anthropic_int(llm_json_t *obj, const char *name)
{
    long long  v;

    v = llm_json_get_int(obj, name);

    return v < 0 ? 0 : v;
}


static int
llm_anthropic_join(llm_json_t *content, const char *type, const char *field,
    llm_buf_t *b, int *found)
{
    llm_json_t  *block;
    const char  *t, *s;

    *found = 0;

    cJSON_ArrayForEach(block, content) {
        t = llm_json_get_str(block, "type");
        s = llm_json_get_str(block, field);

        if (t == NULL || s == NULL || strcmp(t, type) != 0) {
            continue;
        }

        *found = 1;

        if (llm_buf_append_cstr(b, s) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return llm_buf_append(b, "", 1);
}


static int
llm_anthropic_usage_object(llm_response_t *resp, llm_json_t *o)
{
    llm_json_t   *u, *d;
    llm_usage_t  *us;

    us = &resp->usage;

    u = cJSON_AddObjectToObject(o, "usage");

    if (u == NULL) {
        return LLM_ERROR;
    }

    cJSON_AddNumberToObject(u, "prompt_tokens", (double) us->prompt_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens",
                            (double) us->completion_tokens);
    cJSON_AddNumberToObject(u, "total_tokens", (double) us->total_tokens);

    d = cJSON_AddObjectToObject(u, "prompt_tokens_details");

    if (d == NULL
        || cJSON_AddNumberToObject(d, "cached_tokens",
                                   (double) us->cached_tokens) == NULL)
    {
        return LLM_ERROR;
    }

    if (us->reasoning_tokens) {
        d = cJSON_AddObjectToObject(u, "completion_tokens_details");

        if (d == NULL
            || cJSON_AddNumberToObject(d, "reasoning_tokens",
                                       (double) us->reasoning_tokens)
               == NULL)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_response_build(llm_response_t *resp, llm_json_t *j,
    llm_json_t *content, llm_buf_t *text, llm_buf_t *thinking,
    llm_buf_t *out)
{
    int          has_text, has_thinking, rc;
    char         id[160];
    llm_json_t  *o, *choices, *choice, *msg, *usage;
    const char  *s;

    if (llm_anthropic_join(content, "text", "text", text, &has_text)
        != LLM_OK
        || llm_anthropic_join(content, "thinking", "thinking", thinking,
                              &has_thinking) != LLM_OK)
    {
        return LLM_ERROR;
    }

    s = llm_json_get_str(j, "stop_reason");
    llm_anthropic_set_finish(resp, llm_anthropic_finish(s, s ? strlen(s)
                                                            : 0));

    usage = llm_json_get_obj(j, "usage");

    resp->usage.cached_tokens = llm_anthropic_int(usage,
                                                  "cache_read_input_tokens");
    resp->usage.prompt_tokens = llm_anthropic_int(usage, "input_tokens")
                         + resp->usage.cached_tokens
                         + llm_anthropic_int(usage,
                                             "cache_creation_input_tokens");
    resp->usage.completion_tokens = llm_anthropic_int(usage,
                                                      "output_tokens");
    resp->usage.reasoning_tokens = llm_anthropic_int(
                            llm_json_get_obj(usage, "output_tokens_details"),
                            "thinking_tokens");
    resp->usage.total_tokens = resp->usage.prompt_tokens
                               + resp->usage.completion_tokens;
    resp->usage.set = 1;

    o = cJSON_CreateObject();

    if (o == NULL) {
        return LLM_ERROR;
    }

    rc = LLM_ERROR;

    s = llm_json_get_str(j, "id");
    snprintf(id, sizeof(id), "chatcmpl-%s", s ? s : "");

    if (cJSON_AddStringToObject(o, "id", id) == NULL
        || cJSON_AddStringToObject(o, "object", "chat.completion") == NULL
        || cJSON_AddNumberToObject(o, "created", (double) time(NULL)) == NULL
        || cJSON_AddStringToObject(o, "model", resp->client_model) == NULL
        || (choices = cJSON_AddArrayToObject(o, "choices")) == NULL
        || (choice = cJSON_CreateObject()) == NULL)
    {
        goto done;
    }

    cJSON_AddItemToArray(choices, choice);

    if (cJSON_AddNumberToObject(choice, "index", 0) == NULL
        || (msg = cJSON_AddObjectToObject(choice, "message")) == NULL
        || cJSON_AddStringToObject(msg, "role", "assistant") == NULL
        || (has_text
            ? cJSON_AddStringToObject(msg, "content", text->data)
            : cJSON_AddNullToObject(msg, "content")) == NULL
        || (has_thinking
            && cJSON_AddStringToObject(msg, "reasoning_content",
                                       thinking->data) == NULL)
        || cJSON_AddNullToObject(choice, "logprobs") == NULL
        || cJSON_AddStringToObject(choice, "finish_reason",
                                   resp->finish_reason) == NULL
        || llm_anthropic_usage_object(resp, o) != LLM_OK)
    {
        goto done;
    }

    rc = llm_json_print(o, out);

done:

    cJSON_Delete(o);

    return rc;
}


static int
llm_anthropic_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int          rc;
    llm_buf_t    text, thinking;
    llm_json_t  *j, *content;
    const char  *type;

    j = llm_json_parse(p, n, NULL);

    type = llm_json_get_str(j, "type");

    if (type && strcmp(type, "error") == 0) {
        llm_anthropic_error_object(llm_json_get(j, "error"), 0,
                                   &resp->error);
        llm_json_free(j);
        return LLM_ERROR;
    }

    content = llm_json_get_arr(j, "content");

    if (content == NULL || type == NULL || strcmp(type, "message") != 0) {
        llm_json_free(j);
        llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                      "The provider returned a response that is not a "
                      "Message.");
        return LLM_ERROR;
    }

    memset(&text, 0, sizeof(llm_buf_t));
    memset(&thinking, 0, sizeof(llm_buf_t));

    rc = llm_anthropic_response_build(resp, j, content, &text, &thinking,
                                      out);

    llm_buf_free(&text);
    llm_buf_free(&thinking);
    llm_json_free(j);

    if (rc != LLM_OK) {
        return LLM_ERROR;
    }

    resp->first_token = 1;
    resp->done = 1;

    return LLM_OK;
}


/* stream */


#define LLM_ANT_T_OTHER        0
#define LLM_ANT_T_MSG_START    1
#define LLM_ANT_T_BLOCK_DELTA  2
#define LLM_ANT_T_MSG_DELTA    3
#define LLM_ANT_T_MSG_STOP     4
#define LLM_ANT_T_ERROR        5
#define LLM_ANT_T_PING         6
#define LLM_ANT_T_NONE         7      /* no "type" member */


typedef struct {
    int           type;
    const char   *id;               /* message.id's bytes, no quotes */
    size_t        id_len;
    const char   *text;             /* delta.text, quotes too */
    const char   *text_end;
    const char   *thinking;         /* delta.thinking, quotes too */
    const char   *thinking_end;
    const char   *stop;             /* delta.stop_reason, no quotes */
    size_t        stop_len;
    long long     input;            /* usage numbers, -1: absent */
    long long     cache_read;
    long long     cache_creation;
    long long     output;
    long long     thinking_tokens;
    unsigned      delta_text:1;     /* delta.type is text_delta */
    unsigned      delta_thinking:1; /* delta.type is thinking_delta */
} llm_anthropic_scan_t;


static int
llm_anthropic_type(const char *p, size_t n)
{
#define llm_is(s)  (n == sizeof(s) - 1 && memcmp(p, s, n) == 0)

    if (llm_is("content_block_delta")) {
        return LLM_ANT_T_BLOCK_DELTA;
    }

    if (llm_is("message_start")) {
        return LLM_ANT_T_MSG_START;
    }

    if (llm_is("message_delta")) {
        return LLM_ANT_T_MSG_DELTA;
    }

    if (llm_is("message_stop")) {
        return LLM_ANT_T_MSG_STOP;
    }

    if (llm_is("error")) {
        return LLM_ANT_T_ERROR;
    }

    if (llm_is("ping")) {
        return LLM_ANT_T_PING;
    }

    return LLM_ANT_T_OTHER;

#undef llm_is
}


static void
llm_anthropic_scan_usage(llm_anthropic_scan_t *sc,
    const llm_json_step_t *step, long long v)
{
    if (llm_json_step_is(step, "input_tokens")) {
        sc->input = v;

    } else if (llm_json_step_is(step, "cache_read_input_tokens")) {
        sc->cache_read = v;

    } else if (llm_json_step_is(step, "cache_creation_input_tokens")) {
        sc->cache_creation = v;

    } else if (llm_json_step_is(step, "output_tokens")) {
        sc->output = v;
    }
}


static int
llm_anthropic_scan_value(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_anthropic_scan_t *sc = data;

    if (depth == 1) {
        if (llm_json_step_is(&path[0], "type") && type == LLM_JSON_STRING) {
            sc->type = llm_anthropic_type(start + 1, end - start - 2);
        }

        return LLM_OK;
    }

    if (depth == 2) {
        if (llm_json_step_is(&path[0], "delta")) {
            if (type != LLM_JSON_STRING) {
                return LLM_OK;
            }

            if (llm_json_step_is(&path[1], "text")) {
                sc->text = start;
                sc->text_end = end;

            } else if (llm_json_step_is(&path[1], "thinking")) {
                sc->thinking = start;
                sc->thinking_end = end;

            } else if (llm_json_step_is(&path[1], "stop_reason")) {
                sc->stop = start + 1;
                sc->stop_len = end - start - 2;

            } else if (llm_json_step_is(&path[1], "type")) {
                sc->delta_text = (end - start == 12
                                  && memcmp(start, "\"text_delta\"", 12)
                                     == 0);
                sc->delta_thinking = (end - start == 16
                                      && memcmp(start, "\"thinking_delta\"",
                                                16) == 0);
            }

        } else if (llm_json_step_is(&path[0], "usage")
                   && type == LLM_JSON_NUMBER)
        {
            llm_anthropic_scan_usage(sc, &path[1],
                                     llm_json_scan_int(start, end));

        } else if (llm_json_step_is(&path[0], "message")
                   && llm_json_step_is(&path[1], "id")
                   && type == LLM_JSON_STRING)
        {
            sc->id = start + 1;
            sc->id_len = end - start - 2;
        }

        return LLM_OK;
    }

    if (depth == 3) {
        if (llm_json_step_is(&path[0], "message")
            && llm_json_step_is(&path[1], "usage")
            && type == LLM_JSON_NUMBER)
        {
            llm_anthropic_scan_usage(sc, &path[2],
                                     llm_json_scan_int(start, end));

        } else if (llm_json_step_is(&path[0], "usage")
                   && llm_json_step_is(&path[1], "output_tokens_details")
                   && llm_json_step_is(&path[2], "thinking_tokens")
                   && type == LLM_JSON_NUMBER)
        {
            sc->thinking_tokens = llm_json_scan_int(start, end);
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_chunk_start(llm_response_t *resp, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "data: {\"id\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->id, strlen(resp->id))
           != LLM_OK
        || llm_buf_append_lit(out, ",\"object\":\"chat.completion.chunk\","
                                   "\"created\":") != LLM_OK
        || llm_buf_append_int(out, resp->created) != LLM_OK
        || llm_buf_append_lit(out, ",\"model\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->client_model,
                                      strlen(resp->client_model)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a chunk with one choice: delta is raw JSON, finish NULL for null */

static int
llm_anthropic_chunk(llm_response_t *resp, const char *delta, size_t len,
    const char *finish, llm_buf_t *out)
{
    if (llm_anthropic_chunk_start(resp, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"choices\":[{\"index\":0,\"delta\":")
           != LLM_OK
        || llm_buf_append(out, delta, len) != LLM_OK
        || llm_buf_append_lit(out, ",\"logprobs\":null,\"finish_reason\":")
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (finish == NULL) {
        if (llm_buf_append_lit(out, "null") != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_json_string(out, finish, strlen(finish))
               != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(out, "}]}\n\n");
}


/* a delta with one string member whose JSON bytes are [s, e) */

static int
llm_anthropic_delta(llm_response_t *resp, const char *name, size_t name_len,
    const char *s, const char *e, llm_buf_t *out)
{
    if (llm_anthropic_chunk_start(resp, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"choices\":[{\"index\":0,\"delta\":{")
           != LLM_OK
        || llm_buf_append(out, name, name_len) != LLM_OK
        || llm_buf_append_lit(out, ":") != LLM_OK
        || llm_buf_append(out, s, e - s) != LLM_OK
        || llm_buf_append_lit(out, "},\"logprobs\":null,"
                                   "\"finish_reason\":null}]}\n\n")
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    resp->first_token = 1;

    return LLM_OK;
}


static int
llm_anthropic_usage_chunk(llm_response_t *resp, llm_buf_t *out)
{
    llm_usage_t  *u;

    u = &resp->usage;

    if (llm_anthropic_chunk_start(resp, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"choices\":[],\"usage\":"
                                   "{\"prompt_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->prompt_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"completion_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->completion_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"total_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->total_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"prompt_tokens_details\":"
                                   "{\"cached_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->cached_tokens) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (u->reasoning_tokens
        && (llm_buf_append_lit(out, ",\"completion_tokens_details\":"
                                    "{\"reasoning_tokens\":") != LLM_OK
            || llm_buf_append_int(out, u->reasoning_tokens) != LLM_OK
            || llm_buf_append_lit(out, "}") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (llm_buf_append_lit(out, "}}\n\n") != LLM_OK) {
        return LLM_ERROR;
    }

    resp->usage_sent = 1;

    return LLM_OK;
}


/* the id, created and the role chunk, once */

static int
llm_anthropic_start(llm_response_t *resp, llm_anthropic_scan_t *sc,
    llm_buf_t *out)
{
    size_t  len;

    if (resp->id[0] != '\0') {
        return LLM_OK;
    }

    memcpy(resp->id, "chatcmpl-", 9);

    len = sc ? sc->id_len : 0;

    if (len > sizeof(resp->id) - 10) {
        len = sizeof(resp->id) - 10;
    }

    if (len) {
        memcpy(resp->id + 9, sc->id, len);
    }

    resp->id[9 + len] = '\0';

    resp->created = (long long) time(NULL);

    return llm_anthropic_chunk(resp, "{\"role\":\"assistant\",\"content\":\"\"}",
                               sizeof("{\"role\":\"assistant\","
                                      "\"content\":\"\"}") - 1,
                               NULL, out);
}


static void
llm_anthropic_stream_usage(llm_response_t *resp, llm_anthropic_scan_t *sc)
{
    long long     prompt;
    llm_usage_t  *u;

    u = &resp->usage;

    if (sc->input >= 0 || sc->cache_read >= 0 || sc->cache_creation >= 0) {
        prompt = (sc->input > 0 ? sc->input : 0)
                 + (sc->cache_read > 0 ? sc->cache_read : 0)
                 + (sc->cache_creation > 0 ? sc->cache_creation : 0);

        /* message_delta may repeat the input counts, maybe only some */
        if (!u->set || prompt >= u->prompt_tokens) {
            u->prompt_tokens = prompt;

            if (sc->cache_read >= 0) {
                u->cached_tokens = sc->cache_read;
            }
        }

        u->set = 1;
    }

    if (sc->output >= 0) {
        /* cumulative: the last one counts */
        u->completion_tokens = sc->output;
        u->set = 1;
    }

    if (sc->thinking_tokens >= 0) {
        u->reasoning_tokens = sc->thinking_tokens;
    }

    u->total_tokens = u->prompt_tokens + u->completion_tokens;
}


static int
llm_anthropic_stream_error(llm_response_t *resp, const char *data, size_t n,
    llm_buf_t *out)
{
    llm_json_t  *j;

    j = llm_json_parse(data, n, NULL);

    /* in a stream, the status comes from the error's type */
    llm_anthropic_error_object(llm_json_get(j, "error"), 0, &resp->error);

    llm_json_free(j);

    resp->failed = 1;
    resp->done = 1;

    if (llm_error_frame(&resp->error, out) != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_DONE;
}


static int
llm_anthropic_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int                    type;
    llm_anthropic_scan_t   sc;

    if (resp->done) {
        return LLM_DONE;
    }

    type = (event_len ? llm_anthropic_type(event, event_len)
                      : LLM_ANT_T_NONE);

    if (type == LLM_ANT_T_PING) {
        return LLM_OK;
    }

    memset(&sc, 0, sizeof(llm_anthropic_scan_t));
    sc.type = LLM_ANT_T_NONE;
    sc.input = -1;
    sc.cache_read = -1;
    sc.cache_creation = -1;
    sc.output = -1;
    sc.thinking_tokens = -1;

    if (llm_json_scan(data, n, 3, llm_anthropic_scan_value, &sc) != LLM_OK) {
        if (type == LLM_ANT_T_ERROR) {
            return llm_anthropic_stream_error(resp, data, n, out);
        }

        return llm_response_fail(resp, out, 502, "invalid_upstream_response",
                                 "The provider sent a malformed stream "
                                 "event.");
    }

    /* the data's own type wins; the event name when it has none */

    if (type == LLM_ANT_T_ERROR || sc.type == LLM_ANT_T_ERROR) {
        return llm_anthropic_stream_error(resp, data, n, out);
    }

    if (sc.type != LLM_ANT_T_NONE) {
        type = sc.type;
    }

    switch (type) {

    case LLM_ANT_T_MSG_START:
        llm_anthropic_stream_usage(resp, &sc);
        return llm_anthropic_start(resp, &sc, out);

    case LLM_ANT_T_BLOCK_DELTA:
        if (sc.delta_text && sc.text && sc.text_end - sc.text > 2) {
            if (llm_anthropic_start(resp, NULL, out) != LLM_OK) {
                return LLM_ERROR;
            }

            return llm_anthropic_delta(resp, "\"content\"", 9, sc.text,
                                       sc.text_end, out);
        }

        if (sc.delta_thinking && sc.thinking
            && sc.thinking_end - sc.thinking > 2)
        {
            if (llm_anthropic_start(resp, NULL, out) != LLM_OK) {
                return LLM_ERROR;
            }

            return llm_anthropic_delta(resp, "\"reasoning_content\"", 19,
                                       sc.thinking, sc.thinking_end, out);
        }

        /* signature, input_json (tools: next issue), citations */
        return LLM_OK;

    case LLM_ANT_T_MSG_DELTA:
        if (sc.stop) {
            llm_anthropic_set_finish(resp,
                                     llm_anthropic_finish(sc.stop,
                                                          sc.stop_len));
        }

        llm_anthropic_stream_usage(resp, &sc);
        return LLM_OK;

    case LLM_ANT_T_MSG_STOP:
        if (resp->finish_reason[0] == '\0') {
            llm_anthropic_set_finish(resp, "stop");
        }

        if (llm_anthropic_start(resp, NULL, out) != LLM_OK
            || llm_anthropic_chunk(resp, "{}", 2, resp->finish_reason, out)
               != LLM_OK
            || (resp->include_usage && !resp->usage_sent
                && llm_anthropic_usage_chunk(resp, out) != LLM_OK))
        {
            return LLM_ERROR;
        }

        resp->done = 1;

        if (llm_buf_append_lit(out, "data: [DONE]\n\n") != LLM_OK) {
            return LLM_ERROR;
        }

        return LLM_DONE;

    default:
        /* content_block_start/stop, ping, and events yet unknown */
        return LLM_OK;
    }
}


static int
llm_anthropic_stream_end(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->done) {
        return LLM_DONE;
    }

    return llm_response_fail(resp, out, 502, "stream_truncated",
                             "The provider's stream ended before it was "
                             "complete.");
}


/* errors */


static int
llm_anthropic_error_status(const char *type)
{
    static const struct {
        const char  *type;
        int          status;
    } map[] = {
        { "invalid_request_error", 400 },
        { "authentication_error", 401 },
        { "billing_error", 402 },
        { "permission_error", 403 },
        { "not_found_error", 404 },
        { "request_too_large", 413 },
        { "rate_limit_error", 429 },
        { "api_error", 500 },
        { "timeout_error", 504 },
        { "overloaded_error", 529 },
    };

    size_t  i;

    if (type) {
        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(type, map[i].type) == 0) {
                return map[i].status;
            }
        }
    }

    return 500;
}


/*
 * {"type":…,"message":…}; status 0: from the type (an error in a
 * stream, after the 200)
 */

static void
llm_anthropic_error_object(llm_json_t *err, int status, llm_error_t *e)
{
    const char  *type, *message, *code;

    type = llm_json_get_str(err, "type");
    message = llm_json_get_str(err, "message");

    if (status == 0) {
        status = llm_anthropic_error_status(type);
    }

    code = type;

    if (type && strcmp(type, "overloaded_error") == 0) {
        code = "overloaded";
    }

    llm_error_set(e, status, NULL, code, "%s",
                  message ? message : "The provider reported an error.");
}


static void
llm_anthropic_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_json_t  *j, *err;

    j = llm_json_parse(p, n, NULL);

    err = llm_json_get_obj(j, "error");

    if (err) {
        llm_anthropic_error_object(err, status, e);

    } else {
        llm_error_set(e, status, NULL, "upstream_error",
                      "The provider returned HTTP %d%s.", status,
                      j ? " without an error message"
                        : " with a body that is not JSON");
    }

    llm_json_free(j);
}
