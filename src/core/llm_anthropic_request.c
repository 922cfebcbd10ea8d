/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect, request side: an OpenAI Chat Completions
 * request becomes an Anthropic Messages request (tools in
 * llm_anthropic_tools.c); llm_anthropic_check() (llm_anthropic_check.c)
 * refuses, before anything goes upstream, what cannot be translated.
 *
 * Policy (README "Dialects" has the table):
 *
 *   - system and developer messages, in order, become one top-level
 *     "system" string (texts joined with "\n\n");
 *   - user, assistant and tool messages become "messages" whose roles
 *     alternate: consecutive turns of one role are merged, and tool
 *     results go into a user turn as tool_result blocks, ahead of any
 *     user text of that turn (Anthropic wants them first); empty texts
 *     are skipped and a message left without any block adds nothing;
 *   - assistant tool_calls become tool_use blocks, their arguments parsed
 *     (the check refuses arguments that are not a JSON object, and tool
 *     messages that do not pair with the calls before them);
 *   - image_url parts: data:…;base64 URLs become base64 image sources,
 *     http(s) URLs url sources;
 *   - tools become tools[].input_schema ("strict" is dropped: not every
 *     Claude model takes it); tool_choice auto / none / required / named
 *     become auto / none / any / tool; parallel_tool_calls: false becomes
 *     disable_parallel_tool_use; without tools no tool_choice is sent,
 *     but when the history has calls, the called tools are declared with
 *     tool_choice "none" (Anthropic refuses tool_use blocks without
 *     tools);
 *   - response_format json_object / json_schema: one more tool,
 *     LLM_ANTHROPIC_JSON_TOOL, whose input_schema is the schema (any
 *     object for json_object), forced with tool_choice (or "any" when the
 *     client's own tools may be called first); its input comes back as
 *     message content;
 *   - reasoning_effort becomes thinking.budget_tokens (see the table in
 *     llm_anthropic_budget()); max_tokens is kept above the budget, and
 *     temperature and top_p are not sent (Anthropic refuses them with
 *     thinking); no thinking when the conversation ends in a tool round
 *     (an assistant tool call answered by tool results): Anthropic then
 *     wants the turn's signed thinking block back, which OpenAI clients
 *     do not keep;
 *   - max_tokens: max_completion_tokens, else max_tokens, else the
 *     configured default, else 4096; temperature clamped to [0, 1];
 *     stop → stop_sequences; user → metadata.user_id;
 *   - dropped: presence_penalty, frequency_penalty, seed, top_logprobs,
 *     store, metadata, n = 1; refused (400) by the check: n > 1,
 *     logprobs: true, a non-empty logit_bias.
 */

#include <stdio.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


#define LLM_ANTHROPIC_MIN_BUDGET     1024


typedef struct {
    llm_request_t  *req;
    const char   *role;         /* of the open turn; NULL: none yet */
    llm_buf_t     lead;         /* its tool_result blocks, each ",{…}" */
    llm_buf_t     rest;         /* its other blocks */
    llm_buf_t     mlead;        /* the same for the message at hand */
    llm_buf_t     mrest;
    int           turns;
} llm_anthropic_turns_t;


/* the JSON escape of s, without the quotes */

static int
llm_anthropic_append_escaped(llm_buf_t *b, const char *s)
{
    size_t  len0;

    len0 = b->len;

    if (llm_buf_append_json_string(b, s, strlen(s)) != LLM_OK) {
        return LLM_ERROR;
    }

    memmove(b->data + len0, b->data + len0 + 1, b->len - len0 - 2);
    b->len -= 2;

    return LLM_OK;
}


int
llm_anthropic_str(llm_buf_t *b, const char *s)
{
    return llm_buf_append_json_string(b, s, strlen(s));
}


/* blocks */


static int
llm_anthropic_text_block(llm_buf_t *b, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",{\"type\":\"text\",\"text\":") != LLM_OK
        || llm_anthropic_str(b, text) != LLM_OK
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* an image_url part's URL: {"url":…} or, from some clients, a string */

const char *
llm_anthropic_image_url(llm_json_t *part)
{
    llm_json_t  *v;

    v = llm_json_get(part, "image_url");

    if (cJSON_IsString(v)) {
        return v->valuestring;
    }

    return llm_json_get_str(v, "url");
}


/*
 * "data:<media type>;base64,<data>": the media type's bounds and the
 * data, or NULL when the URL is not one (the check refuses those)
 */

const char *
llm_anthropic_data_url(const char *url, const char **mt, size_t *mt_len)
{
    const char  *semi;

    if (strncmp(url, "data:", 5) != 0) {
        return NULL;
    }

    semi = strstr(url + 5, ";base64,");

    if (semi == NULL || semi == url + 5 || memchr(url, ',', semi - url)) {
        return NULL;
    }

    *mt = url + 5;
    *mt_len = semi - *mt;

    return semi + 8;
}


int
llm_anthropic_media_ok(const char *mt, size_t n)
{
    static const char  *types[] = {
        "image/jpeg", "image/png", "image/gif", "image/webp", NULL
    };

    const char  **t;

    for (t = types; *t; t++) {
        if (strlen(*t) == n && memcmp(*t, mt, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
llm_anthropic_image_block(llm_buf_t *b, llm_json_t *part)
{
    size_t       mt_len;
    const char  *url, *data, *mt;

    url = llm_anthropic_image_url(part);

    if (url == NULL) {
        return LLM_OK;
    }

    data = llm_anthropic_data_url(url, &mt, &mt_len);

    if (data) {
        if (llm_buf_append_lit(b, ",{\"type\":\"image\",\"source\":"
                                  "{\"type\":\"base64\",\"media_type\":")
            != LLM_OK
            || llm_buf_append_json_string(b, mt, mt_len) != LLM_OK
            || llm_buf_append_lit(b, ",\"data\":") != LLM_OK
            || llm_anthropic_str(b, data) != LLM_OK
            || llm_buf_append_lit(b, "}}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",{\"type\":\"image\",\"source\":"
                              "{\"type\":\"url\",\"url\":") != LLM_OK
        || llm_anthropic_str(b, url) != LLM_OK
        || llm_buf_append_lit(b, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a message's content: text parts, and image parts when images is set */

static int
llm_anthropic_content(llm_json_t *content, int images, llm_buf_t *b)
{
    llm_json_t  *part;
    const char  *type;

    if (cJSON_IsString(content)) {
        return llm_anthropic_text_block(b, content->valuestring);
    }

    if (!cJSON_IsArray(content)) {
        return LLM_OK;
    }

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");

        if (llm_anthropic_is(type, "text")) {
            if (llm_anthropic_text_block(b, llm_json_get_str(part, "text"))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

        } else if (images && llm_anthropic_is(type, "image_url")) {
            if (llm_anthropic_image_block(b, part) != LLM_OK) {
                return LLM_ERROR;
            }
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_tool_uses(llm_request_t *req, llm_json_t *calls, llm_buf_t *b)
{
    llm_json_t  *call, *fn;
    const char  *id, *name, *args;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");
        id = llm_json_get_str(call, "id");
        name = llm_json_get_str(fn, "name");

        /* the object as the client wrote it: no tree needed */
        args = llm_request_call_args(req, call);

        if (id == NULL || name == NULL || args == NULL) {
            /* refused by the check */
            continue;
        }

        if (llm_buf_append_lit(b, ",{\"type\":\"tool_use\",\"id\":")
            != LLM_OK
            || llm_anthropic_str(b, id) != LLM_OK
            || llm_buf_append_lit(b, ",\"name\":") != LLM_OK
            || llm_anthropic_str(b, name) != LLM_OK
            || llm_buf_append_lit(b, ",\"input\":") != LLM_OK
            || llm_buf_append_cstr(b, args) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* a role:"tool" message; its content, when it has any, as text */

static int
llm_anthropic_tool_result(llm_json_t *m, llm_buf_t *b)
{
    size_t       len0;
    const char  *id;
    llm_json_t  *content;

    id = llm_json_get_str(m, "tool_call_id");

    if (id == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",{\"type\":\"tool_result\",\"tool_use_id\":")
        != LLM_OK
        || llm_anthropic_str(b, id) != LLM_OK)
    {
        return LLM_ERROR;
    }

    content = llm_json_get(m, "content");

    if (cJSON_IsString(content)) {
        if (content->valuestring[0] != '\0'
            && (llm_buf_append_lit(b, ",\"content\":") != LLM_OK
                || llm_anthropic_str(b, content->valuestring) != LLM_OK))
        {
            return LLM_ERROR;
        }

        return llm_buf_append_lit(b, "}");
    }

    /* text parts: ",{…}" blocks whose first comma becomes the "[" */

    if (llm_buf_append_lit(b, ",\"content\":") != LLM_OK) {
        return LLM_ERROR;
    }

    len0 = b->len;

    if (llm_anthropic_content(content, 0, b) != LLM_OK) {
        return LLM_ERROR;
    }

    if (b->len == len0) {
        /* none: no content */
        b->len -= sizeof(",\"content\":") - 1;
        return llm_buf_append_lit(b, "}");
    }

    b->data[len0] = '[';

    return llm_buf_append_lit(b, "]}");
}


/* turns */


static int
llm_anthropic_flush(llm_anthropic_turns_t *t, llm_buf_t *b)
{
    if (t->role == NULL || (t->lead.len == 0 && t->rest.len == 0)) {
        return LLM_OK;
    }

    /* tool results first; each block is ",{…}": the first comma goes */

    if (llm_buf_append(&t->lead, t->rest.data, t->rest.len) != LLM_OK
        || (t->turns && llm_buf_append_lit(b, ",") != LLM_OK)
        || llm_buf_append_lit(b, "{\"role\":\"") != LLM_OK
        || llm_buf_append_cstr(b, t->role) != LLM_OK
        || llm_buf_append_lit(b, "\",\"content\":[") != LLM_OK
        || llm_buf_append(b, t->lead.data + 1, t->lead.len - 1) != LLM_OK
        || llm_buf_append_lit(b, "]}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    t->turns++;
    llm_buf_reset(&t->lead);
    llm_buf_reset(&t->rest);

    return LLM_OK;
}


static int
llm_anthropic_message(llm_anthropic_turns_t *t, llm_json_t *m, llm_buf_t *b)
{
    const char  *role;
    llm_json_t  *content;

    role = llm_json_get_str(m, "role");
    content = llm_json_get(m, "content");

    llm_buf_reset(&t->mlead);
    llm_buf_reset(&t->mrest);

    if (llm_anthropic_is(role, "user")) {
        role = "user";

        if (llm_anthropic_content(content, 1, &t->mrest) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_anthropic_is(role, "assistant")) {
        role = "assistant";

        if (llm_anthropic_content(content, 0, &t->mrest) != LLM_OK
            || llm_anthropic_tool_uses(t->req,
                                       llm_json_get_arr(m, "tool_calls"),
                                       &t->mrest) != LLM_OK)
        {
            return LLM_ERROR;
        }

    } else if (llm_anthropic_is(role, "tool")) {
        role = "user";

        if (llm_anthropic_tool_result(m, &t->mlead) != LLM_OK) {
            return LLM_ERROR;
        }

    } else {
        /* system and developer: "system"; the legacy "function" role */
        return LLM_OK;
    }

    if (t->mlead.len == 0 && t->mrest.len == 0) {
        /* an empty message does not open a turn */
        return LLM_OK;
    }

    if (t->role != role) {
        if (llm_anthropic_flush(t, b) != LLM_OK) {
            return LLM_ERROR;
        }

        t->role = role;
    }

    if (llm_buf_append(&t->lead, t->mlead.data, t->mlead.len) != LLM_OK
        || llm_buf_append(&t->rest, t->mrest.data, t->mrest.len) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_anthropic_messages(llm_request_t *req, llm_json_t *msgs, llm_buf_t *b)
{
    int                     rc;
    llm_json_t             *m;
    llm_anthropic_turns_t   t;

    memset(&t, 0, sizeof(llm_anthropic_turns_t));
    t.req = req;

    rc = LLM_OK;

    cJSON_ArrayForEach(m, msgs) {
        rc = llm_anthropic_message(&t, m, b);

        if (rc != LLM_OK) {
            break;
        }
    }

    if (rc == LLM_OK) {
        rc = llm_anthropic_flush(&t, b);
    }

    llm_buf_free(&t.lead);
    llm_buf_free(&t.rest);
    llm_buf_free(&t.mlead);
    llm_buf_free(&t.mrest);

    return rc;
}


static int
llm_anthropic_system_part(llm_buf_t *b, const char *text, int *first)
{
    if (text == NULL || text[0] == '\0') {
        return LLM_OK;
    }

    if (*first) {
        if (llm_buf_append_lit(b, ",\"system\":\"") != LLM_OK) {
            return LLM_ERROR;
        }

        *first = 0;

    } else if (llm_buf_append_lit(b, "\\n\\n") != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_anthropic_append_escaped(b, text);
}


/* system and developer texts, joined with "\n\n", as "system" */

static int
llm_anthropic_system(llm_json_t *msgs, llm_buf_t *b)
{
    int          first;
    llm_json_t  *m, *content, *part;
    const char  *role;

    first = 1;

    cJSON_ArrayForEach(m, msgs) {
        role = llm_json_get_str(m, "role");

        if (!llm_anthropic_is(role, "system")
            && !llm_anthropic_is(role, "developer"))
        {
            continue;
        }

        content = llm_json_get(m, "content");

        if (cJSON_IsString(content)) {
            if (llm_anthropic_system_part(b, content->valuestring, &first)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            continue;
        }

        if (!cJSON_IsArray(content)) {
            continue;
        }

        cJSON_ArrayForEach(part, content) {
            if (!llm_anthropic_is(llm_json_get_str(part, "type"), "text")) {
                continue;
            }

            if (llm_anthropic_system_part(b, llm_json_get_str(part, "text"),
                                          &first) != LLM_OK)
            {
                return LLM_ERROR;
            }
        }
    }

    if (!first && llm_buf_append_lit(b, "\"") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* reasoning */


/*
 * reasoning_effort → thinking.budget_tokens (Anthropic's minimum is
 * 1024); 0: no thinking ("none", absent)
 */

long long
llm_anthropic_budget(llm_json_t *root)
{
    static const struct {
        const char  *effort;
        long long    budget;
    } map[] = {
        { "minimal", 1024 },
        { "low", 2048 },
        { "medium", 8192 },
        { "high", 16384 },
        { "xhigh", 24576 },
    };

    size_t       i;
    const char  *effort;

    effort = llm_json_get_str(root, "reasoning_effort");

    if (effort == NULL) {
        return 0;
    }

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(effort, map[i].effort) == 0) {
            return map[i].budget;
        }
    }

    return 0;
}


/*
 * 1 if the conversation ends in a tool round: after the last user
 * message, an assistant message with tool_calls
 */

static int
llm_anthropic_tool_round(llm_json_t *msgs)
{
    int          round;
    llm_json_t  *m;
    const char  *role;

    round = 0;

    cJSON_ArrayForEach(m, msgs) {
        role = llm_json_get_str(m, "role");

        if (llm_anthropic_is(role, "user")) {
            round = 0;

        } else if (llm_anthropic_is(role, "assistant")
                   && cJSON_GetArraySize(llm_json_get_arr(m, "tool_calls")))
        {
            round = 1;
        }
    }

    return round;
}


/* the thinking budget this request gets; 0: none */

long long
llm_anthropic_thinking(llm_json_t *root)
{
    long long  budget;

    budget = llm_anthropic_budget(root);

    if (budget && llm_anthropic_tool_round(llm_json_get_arr(root,
                                                            "messages")))
    {
        return 0;
    }

    return budget;
}


/* the body */


static int
llm_anthropic_stop(llm_json_t *v, llm_buf_t *b)
{
    int          first;
    size_t       len0;
    llm_json_t  *s;

    if (!cJSON_IsString(v) && !cJSON_IsArray(v)) {
        return LLM_OK;
    }

    len0 = b->len;
    first = 1;

    if (llm_buf_append_lit(b, ",\"stop_sequences\":[") != LLM_OK) {
        return LLM_ERROR;
    }

    if (cJSON_IsString(v)) {
        if (llm_anthropic_str(b, v->valuestring) != LLM_OK) {
            return LLM_ERROR;
        }

        first = 0;

    } else {
        cJSON_ArrayForEach(s, v) {
            if (!cJSON_IsString(s)) {
                continue;
            }

            if ((!first && llm_buf_append_lit(b, ",") != LLM_OK)
                || llm_anthropic_str(b, s->valuestring) != LLM_OK)
            {
                return LLM_ERROR;
            }

            first = 0;
        }
    }

    if (first) {
        /* no string: no stop_sequences */
        b->len = len0;
        return LLM_OK;
    }

    return llm_buf_append_lit(b, "]");
}


static int
llm_anthropic_build(llm_request_t *req, llm_json_t *root,
    const char *upstream_model, llm_buf_t *b)
{
    double       t;
    long long    max, budget;
    llm_json_t  *v, *msgs, *rf;

    msgs = llm_json_get_arr(root, "messages");
    rf = llm_anthropic_json_format(root);
    budget = llm_anthropic_thinking(root);

    if (llm_buf_append_lit(b, "{\"model\":") != LLM_OK
        || llm_anthropic_str(b, upstream_model) != LLM_OK
        || (msgs && llm_anthropic_system(msgs, b) != LLM_OK)
        || llm_buf_append_lit(b, ",\"messages\":[") != LLM_OK
        || (msgs && llm_anthropic_messages(req, msgs, b) != LLM_OK)
        || llm_buf_append_lit(b, "]") != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = llm_json_get_int(root, "max_completion_tokens");

    if (max < 0) {
        max = llm_json_get_int(root, "max_tokens");
    }

    if (max < 0) {
        max = req->max_tokens_default > 0 ? req->max_tokens_default
                                          : LLM_ANTHROPIC_MAX_TOKENS;
        /* the default is for the answer: the thinking comes on top */
        max += budget;

    } else if (budget && max <= budget) {
        /* the client's limit counts thinking too, as OpenAI's does */
        budget = max / 2;

        if (budget < LLM_ANTHROPIC_MIN_BUDGET) {
            budget = LLM_ANTHROPIC_MIN_BUDGET;
        }

        if (max <= budget) {
            max += budget;
        }
    }

    if (llm_buf_append_lit(b, ",\"max_tokens\":") != LLM_OK
        || llm_buf_append_int(b, max) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (budget) {
        if (llm_buf_append_lit(b, ",\"thinking\":{\"type\":\"enabled\","
                                  "\"budget_tokens\":") != LLM_OK
            || llm_buf_append_int(b, budget) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

    } else {
        /* with thinking Anthropic takes neither */

        v = llm_json_get(root, "temperature");

        if (cJSON_IsNumber(v)) {
            t = v->valuedouble;
            t = t < 0 ? 0 : (t > 1 ? 1 : t);

            if (llm_buf_append_lit(b, ",\"temperature\":") != LLM_OK
                || llm_buf_append_number(b, t) != LLM_OK)
            {
                return LLM_ERROR;
            }
        }

        v = llm_json_get(root, "top_p");

        if (cJSON_IsNumber(v)
            && (llm_buf_append_lit(b, ",\"top_p\":") != LLM_OK
                || llm_buf_append_number(b, v->valuedouble) != LLM_OK))
        {
            return LLM_ERROR;
        }
    }

    if (llm_anthropic_stop(llm_json_get(root, "stop"), b) != LLM_OK) {
        return LLM_ERROR;
    }

    v = llm_json_get(root, "user");

    if (cJSON_IsString(v)
        && (llm_buf_append_lit(b, ",\"metadata\":{\"user_id\":") != LLM_OK
            || llm_anthropic_str(b, v->valuestring) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (llm_anthropic_tools(req, root, rf, b) != LLM_OK
        || llm_anthropic_tool_choice(root, rf, b) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (req->stream && llm_buf_append_lit(b, ",\"stream\":true") != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}");
}


/*
 * Anthropic: system and developer texts joined with "\n\n" as "system";
 * consecutive turns of one role merged; empty texts left out.
 */

int
llm_anthropic_build_plain(llm_request_t *req, const char *upstream_model,
    llm_buf_t *b)
{
    int           i, system, last, first_block;
    double        t;
    long long     max;
    llm_plain_t  *pl;
    llm_span_t   *c;

    pl = req->spans;
    max = llm_plain_max_tokens(req);

    /* at most the client's bytes and some names: one allocation */

    if (llm_buf_reserve(b, req->raw_len + 256 + 6 * strlen(upstream_model))
        != LLM_OK
        || llm_buf_append_lit(b, "{\"model\":") != LLM_OK
        || llm_buf_append_json_string(b, upstream_model,
                                      strlen(upstream_model)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    system = 0;

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role != LLM_ROLE_SYSTEM
            || llm_plain_inner_len(c) == 0)
        {
            continue;
        }

        if (llm_buf_append_cstr(b, system ? "\\n\\n" : ",\"system\":\"")
            != LLM_OK
            || llm_buf_append(b, llm_plain_inner(c), llm_plain_inner_len(c))
               != LLM_OK)
        {
            return LLM_ERROR;
        }

        system = 1;
    }

    if ((system && llm_buf_append_lit(b, "\"") != LLM_OK)
        || llm_buf_append_lit(b, ",\"messages\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    last = -1;
    first_block = 1;

    for (i = 0; i < pl->nmessages; i++) {
        c = &pl->messages[i].content;

        if (pl->messages[i].role == LLM_ROLE_SYSTEM
            || llm_plain_inner_len(c) == 0)
        {
            continue;
        }

        if ((int) pl->messages[i].role != last) {
            if ((last != -1 && llm_buf_append_lit(b, "]},") != LLM_OK)
                || llm_buf_append_cstr(b,
                       pl->messages[i].role == LLM_ROLE_USER
                       ? "{\"role\":\"user\",\"content\":["
                       : "{\"role\":\"assistant\",\"content\":[")
                   != LLM_OK)
            {
                return LLM_ERROR;
            }

            last = pl->messages[i].role;
            first_block = 1;
        }

        if ((!first_block && llm_buf_append_lit(b, ",") != LLM_OK)
            || llm_buf_append_lit(b, "{\"type\":\"text\",\"text\":") != LLM_OK
            || llm_plain_append(b, c) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        first_block = 0;
    }

    if ((last != -1 && llm_buf_append_lit(b, "]}") != LLM_OK)
        || llm_buf_append_lit(b, "],\"max_tokens\":") != LLM_OK
        || llm_buf_append_int(b, max > 0 ? max : LLM_ANTHROPIC_MAX_TOKENS)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (pl->temperature.start) {
        /* Anthropic's range is 0..1: the client's number, or clamped */
        t = llm_span_number(&pl->temperature);

        if (llm_buf_append_lit(b, ",\"temperature\":") != LLM_OK
            || (t > 1 ? llm_buf_append_lit(b, "1")
                      : llm_plain_append(b, &pl->temperature)) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (llm_plain_number(b, "top_p", &pl->top_p) != LLM_OK
        || llm_plain_stop(b, "stop_sequences", &pl->stop, 0) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (pl->user.start
        && (llm_buf_append_lit(b, ",\"metadata\":{\"user_id\":") != LLM_OK
            || llm_plain_append(b, &pl->user) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (req->stream && llm_buf_append_lit(b, ",\"stream\":true") != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}");
}


int
llm_anthropic_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    size_t       len0;
    llm_json_t  *root;

    if (req->plain) {
        return llm_anthropic_build_plain(req, upstream_model, body);
    }

    root = llm_request_tree(req);

    if (root == NULL) {
        return LLM_ERROR;
    }

    len0 = body->len;

    if (llm_anthropic_build(req, root, upstream_model, body) != LLM_OK
        || llm_request_texts_back(req, body, len0) != LLM_OK)
    {
        body->len = len0;
        return LLM_ERROR;
    }

    return LLM_OK;
}


