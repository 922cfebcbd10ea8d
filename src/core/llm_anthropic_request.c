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
#include <stdlib.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_json_scan.h"


#define LLM_ANTHROPIC_MIN_BUDGET     1024


/*
 * The turns, written where they go: each block is ",{…}", and a turn's
 * first comma becomes its "[" when the turn closes.  A tool result that
 * comes after texts of its user turn moves in front of them.
 */

typedef struct {
    llm_request_t  *req;
    llm_buf_t      *b;
    int             role;       /* of the open turn; -1: none yet */
    size_t          open;       /* its first block's comma */
    size_t          lead_end;   /* where its tool_result blocks end */
} llm_anthropic_turns_t;


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

int
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


int
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
llm_anthropic_tool_result(llm_message_t *m, llm_buf_t *b)
{
    size_t  len0;

    if (m->tool_call_id.start == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",{\"type\":\"tool_result\",\"tool_use_id\":")
        != LLM_OK
        || llm_span_append(b, &m->tool_call_id) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (m->parts == NULL) {
        if (m->content.start && llm_span_inner_len(&m->content)
            && (llm_buf_append_lit(b, ",\"content\":") != LLM_OK
                || llm_span_append(b, &m->content) != LLM_OK))
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

    if (llm_anthropic_content(m->parts, 0, b) != LLM_OK) {
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


/* a message's content: a string as the client escaped it, or parts */

static int
llm_anthropic_message_content(llm_message_t *m, int images, llm_buf_t *b)
{
    if (m->parts) {
        return llm_anthropic_content(m->parts, images, b);
    }

    if (m->content.start == NULL || llm_span_inner_len(&m->content) == 0) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",{\"type\":\"text\",\"text\":") != LLM_OK
        || llm_span_append(b, &m->content) != LLM_OK
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* turns */


/* moves b's bytes [to, from) behind [from, len) */

static int
llm_anthropic_rotate(llm_buf_t *b, size_t to, size_t from)
{
    char    *tmp;
    size_t   n;

    n = b->len - from;

    tmp = malloc(n);
    if (tmp == NULL) {
        return LLM_ERROR;
    }

    memcpy(tmp, b->data + from, n);
    memmove(b->data + to + n, b->data + to, from - to);
    memcpy(b->data + to, tmp, n);

    free(tmp);

    return LLM_OK;
}


/* the open turn closes (its first comma becomes "["), one of role opens */

static int
llm_anthropic_turn(llm_anthropic_turns_t *t, int role)
{
    llm_buf_t  *b;

    b = t->b;

    if (t->role != -1) {
        b->data[t->open] = '[';
    }

    if (llm_buf_append_cstr(b,
            t->role == -1
            ? (role == LLM_ROLE_USER
               ? "{\"role\":\"user\",\"content\":"
               : "{\"role\":\"assistant\",\"content\":")
            : (role == LLM_ROLE_USER
               ? "]},{\"role\":\"user\",\"content\":"
               : "]},{\"role\":\"assistant\",\"content\":"))
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    t->role = role;
    t->open = b->len;
    t->lead_end = b->len;

    return LLM_OK;
}


static int
llm_anthropic_message(llm_anthropic_turns_t *t, llm_message_t *m)
{
    int                     role, lead;
    size_t                  len0, blocks;
    llm_buf_t              *b;
    llm_anthropic_turns_t   was;

    b = t->b;
    lead = 0;

    switch (m->role) {

    case LLM_ROLE_USER:
        role = LLM_ROLE_USER;
        break;

    case LLM_ROLE_ASSISTANT:
        role = LLM_ROLE_ASSISTANT;
        break;

    case LLM_ROLE_TOOL:
        role = LLM_ROLE_USER;
        lead = 1;
        break;

    default:
        /* system and developer: "system"; the legacy "function" role */
        return LLM_OK;
    }

    if (m->parts == NULL && !lead
        && (m->calls == NULL || role != LLM_ROLE_ASSISTANT))
    {
        /* a text, as most messages are: a block or nothing */

        if (m->content.start == NULL
            || llm_span_inner_len(&m->content) == 0)
        {
            return LLM_OK;
        }

        if (role != t->role && llm_anthropic_turn(t, role) != LLM_OK) {
            return LLM_ERROR;
        }

        return llm_anthropic_message_content(m, 0, b);
    }

    /* a turn opened for the message is undone if it writes no block */

    len0 = b->len;
    was = *t;

    if (role != t->role && llm_anthropic_turn(t, role) != LLM_OK) {
        return LLM_ERROR;
    }

    blocks = b->len;

    if (m->role == LLM_ROLE_TOOL) {
        if (llm_anthropic_tool_result(m, b) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_anthropic_message_content(m, m->role == LLM_ROLE_USER, b)
               != LLM_OK
               || (m->calls && role == LLM_ROLE_ASSISTANT
                   && llm_anthropic_tool_uses(t->req, m->calls, b)
                      != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (b->len == blocks) {
        /* an empty message does not open a turn */

        if (was.role != t->role && was.role != -1) {
            b->data[was.open] = ',';
        }

        *t = was;
        b->len = len0;

        return LLM_OK;
    }

    if (lead) {
        /* tool results first: Anthropic wants them so */

        if (t->lead_end != blocks
            && llm_anthropic_rotate(b, t->lead_end, blocks) != LLM_OK)
        {
            return LLM_ERROR;
        }

        t->lead_end += b->len - blocks;
    }

    return LLM_OK;
}


static int
llm_anthropic_messages(llm_request_t *req, llm_buf_t *b)
{
    int                     i;
    llm_chat_t             *chat;
    llm_anthropic_turns_t   t;

    chat = req->chat;

    t.req = req;
    t.b = b;
    t.role = -1;
    t.open = 0;
    t.lead_end = 0;

    for (i = 0; i < chat->nmessages; i++) {
        if (llm_anthropic_message(&t, &chat->messages[i]) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (t.role != -1) {
        b->data[t.open] = '[';
        return llm_buf_append_lit(b, "]}");
    }

    return LLM_OK;
}


/* one text of "system": as the client escaped it, or escaped here */

static int
llm_anthropic_system_text(llm_buf_t *b, const char *text, size_t len,
    int escaped, int *first)
{
    if (len == 0) {
        return LLM_OK;
    }

    if (llm_buf_append_cstr(b, *first ? ",\"system\":\"" : "\\n\\n") != LLM_OK
        || (escaped ? llm_buf_append(b, text, len)
                    : llm_buf_append_json_inner(b, text, len)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    *first = 0;

    return LLM_OK;
}


/* system and developer texts, joined with "\n\n", as "system" */

static int
llm_anthropic_system(llm_chat_t *chat, llm_buf_t *b)
{
    int             i, first;
    llm_json_t     *part;
    const char     *text;
    llm_message_t  *m;

    first = 1;

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->role != LLM_ROLE_SYSTEM || m->content.start == NULL) {
            continue;
        }

        if (m->parts == NULL) {
            if (llm_anthropic_system_text(b, llm_span_inner(&m->content),
                                          llm_span_inner_len(&m->content), 1,
                                          &first) != LLM_OK)
            {
                return LLM_ERROR;
            }

            continue;
        }

        cJSON_ArrayForEach(part, m->parts) {
            if (!llm_anthropic_is(llm_json_get_str(part, "type"), "text")) {
                continue;
            }

            text = llm_json_get_str(part, "text");

            if (text
                && llm_anthropic_system_text(b, text, strlen(text), 0, &first)
                   != LLM_OK)
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
llm_anthropic_budget(llm_json_t *params)
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

    effort = llm_json_get_str(params, "reasoning_effort");

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
llm_anthropic_tool_round(llm_chat_t *chat)
{
    int             i, round;
    llm_message_t  *m;

    round = 0;

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->role == LLM_ROLE_USER) {
            round = 0;

        } else if (m->role == LLM_ROLE_ASSISTANT && m->calls
                   && m->calls->child)
        {
            round = 1;
        }
    }

    return round;
}


/* the thinking budget this request gets; 0: none */

long long
llm_anthropic_thinking(llm_request_t *req)
{
    long long  budget;

    budget = llm_anthropic_budget(req->chat->params);

    if (budget && req->chat->ncalls && llm_anthropic_tool_round(req->chat)) {
        return 0;
    }

    return budget;
}


/* the body */


/*
 * Anthropic: system and developer texts joined with "\n\n" as "system";
 * consecutive turns of one role merged; empty texts left out.
 */

static int
llm_anthropic_build(llm_request_t *req, const char *upstream_model,
    llm_buf_t *b)
{
    double        t;
    long long     max, budget;
    llm_chat_t   *chat;
    llm_json_t   *rf;

    chat = req->chat;

    /* a text chat has no other members: none of their mappings */
    rf = chat->params ? llm_anthropic_json_format(chat->params) : NULL;
    budget = chat->params ? llm_anthropic_thinking(req) : 0;

    /* at most the client's bytes and some names: one allocation */

    if (llm_buf_reserve(b, req->raw_len + 256 + 6 * strlen(upstream_model))
        != LLM_OK
        || llm_buf_append_lit(b, "{\"model\":") != LLM_OK
        || llm_anthropic_str(b, upstream_model) != LLM_OK
        || llm_anthropic_system(chat, b) != LLM_OK
        || llm_buf_append_lit(b, ",\"messages\":[") != LLM_OK
        || llm_anthropic_messages(req, b) != LLM_OK
        || llm_buf_append_lit(b, "]") != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = (chat->max_completion_tokens.start || chat->max_tokens.start)
          ? llm_chat_max_tokens(req) : -1;

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

        if (chat->temperature.start) {
            /* Anthropic's range is 0..1: the client's number, or 1 */
            t = llm_span_number(&chat->temperature);

            if (llm_buf_append_lit(b, ",\"temperature\":") != LLM_OK
                || (t > 1 ? llm_buf_append_lit(b, "1")
                          : llm_span_append(b, &chat->temperature))
                   != LLM_OK)
            {
                return LLM_ERROR;
            }
        }

        if (llm_span_member(b, "top_p", &chat->top_p) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (llm_span_stop(b, "stop_sequences", &chat->stop, 0) != LLM_OK) {
        return LLM_ERROR;
    }

    if (chat->user.start
        && (llm_buf_append_lit(b, ",\"metadata\":{\"user_id\":") != LLM_OK
            || llm_span_append(b, &chat->user) != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if ((chat->params || chat->ncalls)
        && (llm_anthropic_tools(req, rf, b) != LLM_OK
            || llm_anthropic_tool_choice(req, rf, b) != LLM_OK))
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
    size_t  len0;

    len0 = body->len;

    if (llm_request_pieces(req) != LLM_OK
        || llm_anthropic_build(req, upstream_model, body) != LLM_OK)
    {
        body->len = len0;
        return LLM_ERROR;
    }

    return LLM_OK;
}
