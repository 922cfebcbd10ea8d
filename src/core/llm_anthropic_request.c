/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "anthropic" dialect, request side: an OpenAI Chat Completions
 * request becomes an Anthropic Messages request, and llm_anthropic_check()
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
    const char   *role;         /* of the open turn; NULL: none yet */
    llm_buf_t     lead;         /* its tool_result blocks, each ",{…}" */
    llm_buf_t     rest;         /* its other blocks */
    llm_buf_t     mlead;        /* the same for the message at hand */
    llm_buf_t     mrest;
    int           turns;
} llm_anthropic_turns_t;


static int
llm_anthropic_is(const char *s, const char *lit)
{
    return s != NULL && strcmp(s, lit) == 0;
}


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


static int
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

static const char *
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

static const char *
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


static int
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


/* a tool call's arguments as an object: {} when empty or not one */

static int
llm_anthropic_input(llm_buf_t *b, const char *args)
{
    int          rc;
    llm_json_t  *j;

    j = args ? llm_json_parse(args, strlen(args), NULL) : NULL;

    if (!cJSON_IsObject(j)) {
        llm_json_free(j);
        return llm_buf_append_lit(b, "{}");
    }

    rc = llm_json_print(j, b);

    llm_json_free(j);

    return rc;
}


static int
llm_anthropic_tool_uses(llm_json_t *calls, llm_buf_t *b)
{
    llm_json_t  *call, *fn;
    const char  *id, *name;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");
        id = llm_json_get_str(call, "id");
        name = llm_json_get_str(fn, "name");

        if (id == NULL || name == NULL) {
            /* refused by the check */
            continue;
        }

        if (llm_buf_append_lit(b, ",{\"type\":\"tool_use\",\"id\":")
            != LLM_OK
            || llm_anthropic_str(b, id) != LLM_OK
            || llm_buf_append_lit(b, ",\"name\":") != LLM_OK
            || llm_anthropic_str(b, name) != LLM_OK
            || llm_buf_append_lit(b, ",\"input\":") != LLM_OK
            || llm_anthropic_input(b, llm_json_get_str(fn, "arguments"))
               != LLM_OK
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
            || llm_anthropic_tool_uses(llm_json_get_arr(m, "tool_calls"),
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
llm_anthropic_messages(llm_json_t *msgs, llm_buf_t *b)
{
    int                     rc;
    llm_json_t             *m;
    llm_anthropic_turns_t   t;

    memset(&t, 0, sizeof(llm_anthropic_turns_t));

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


/* tools */


/* response_format json_object / json_schema: the JSON tool is added */

static llm_json_t *
llm_anthropic_json_format(llm_json_t *root)
{
    llm_json_t  *rf;
    const char  *type;

    rf = llm_json_get_obj(root, "response_format");
    type = llm_json_get_str(rf, "type");

    if (llm_anthropic_is(type, "json_object")
        || llm_anthropic_is(type, "json_schema"))
    {
        return rf;
    }

    return NULL;
}


/* 1 if the client sent at least one function tool */

static int
llm_anthropic_has_tools(llm_json_t *root)
{
    llm_json_t  *tool;

    cJSON_ArrayForEach(tool, llm_json_get_arr(root, "tools")) {
        if (llm_json_get_str(llm_json_get_obj(tool, "function"), "name")) {
            return 1;
        }
    }

    return 0;
}


static int
llm_anthropic_json_tool(llm_json_t *rf, llm_buf_t *b)
{
    llm_json_t  *js, *schema;
    const char  *desc;

    js = llm_json_get_obj(rf, "json_schema");
    schema = llm_json_get_obj(js, "schema");
    desc = llm_json_get_str(js, "description");

    if (llm_buf_append_lit(b, "{\"name\":\"" LLM_ANTHROPIC_JSON_TOOL
                              "\",\"description\":") != LLM_OK
        || llm_anthropic_str(b, desc ? desc
                                : "Give the answer as this tool's input: "
                                  "a JSON object.") != LLM_OK
        || llm_buf_append_lit(b, ",\"input_schema\":") != LLM_OK
        || (schema ? llm_json_print(schema, b)
                   : llm_buf_append_lit(b, "{\"type\":\"object\"}"))
           != LLM_OK
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the name of a call in the history, or NULL */

static const char *
llm_anthropic_call_name(llm_json_t *call)
{
    return llm_json_get_str(llm_json_get_obj(call, "function"), "name");
}


/* the calls of the history that become tool_use blocks */

#define llm_anthropic_history_call(m, call)                                  \
    (llm_anthropic_is(llm_json_get_str(m, "role"), "assistant")              \
     && llm_anthropic_call_name(call) && llm_json_get_str(call, "id"))


/* 1 if such a call before this one has the same name */

static int
llm_anthropic_called_before(llm_json_t *msgs, llm_json_t *upto,
    const char *name)
{
    llm_json_t  *m, *call;

    cJSON_ArrayForEach(m, msgs) {
        cJSON_ArrayForEach(call, llm_json_get_arr(m, "tool_calls")) {
            if (call == upto) {
                return 0;
            }

            if (llm_anthropic_history_call(m, call)
                && strcmp(llm_anthropic_call_name(call), name) == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * Anthropic refuses tool_use blocks in a request without tools: when the
 * client sent none, the tools its history called are declared (any object
 * as input), and tool_choice "none" keeps the model from calling them.
 * *n: how many.
 */

static int
llm_anthropic_history_tools(llm_json_t *msgs, llm_buf_t *b, int *n)
{
    llm_json_t  *m, *call;
    const char  *name;

    cJSON_ArrayForEach(m, msgs) {
        cJSON_ArrayForEach(call, llm_json_get_arr(m, "tool_calls")) {
            if (!llm_anthropic_history_call(m, call)) {
                continue;
            }

            name = llm_anthropic_call_name(call);

            if (llm_anthropic_called_before(msgs, call, name)) {
                continue;
            }

            if (llm_buf_append_cstr(b, *n ? ",{\"name\":"
                                          : ",\"tools\":[{\"name\":")
                != LLM_OK
                || llm_anthropic_str(b, name) != LLM_OK
                || llm_buf_append_lit(b, ",\"description\":\"Called earlier "
                                         "in this conversation.\","
                                         "\"input_schema\":"
                                         "{\"type\":\"object\"}}")
                   != LLM_OK)
            {
                return LLM_ERROR;
            }

            (*n)++;
        }
    }

    return LLM_OK;
}


static int
llm_anthropic_tools(llm_json_t *root, llm_json_t *rf, llm_buf_t *b)
{
    int          first, n;
    llm_json_t  *tool, *fn, *params;
    const char  *name, *desc;

    first = 1;

    cJSON_ArrayForEach(tool, llm_json_get_arr(root, "tools")) {
        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        desc = llm_json_get_str(fn, "description");
        params = llm_json_get_obj(fn, "parameters");

        if (llm_buf_append_cstr(b, first ? ",\"tools\":[{\"name\":"
                                         : ",{\"name\":") != LLM_OK
            || llm_anthropic_str(b, name) != LLM_OK
            || (desc
                && (llm_buf_append_lit(b, ",\"description\":") != LLM_OK
                    || llm_anthropic_str(b, desc) != LLM_OK))
            || llm_buf_append_lit(b, ",\"input_schema\":") != LLM_OK
            || (params ? llm_json_print(params, b)
                       : llm_buf_append_lit(b, "{\"type\":\"object\","
                                               "\"properties\":{}}"))
               != LLM_OK
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = 0;
    }

    if (first) {
        n = 0;

        if (llm_anthropic_history_tools(llm_json_get_arr(root, "messages"),
                                        b, &n) != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = (n == 0);
    }

    if (rf) {
        if (llm_buf_append_cstr(b, first ? ",\"tools\":[" : ",") != LLM_OK
            || llm_anthropic_json_tool(rf, b) != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = 0;
    }

    if (!first && llm_buf_append_lit(b, "]") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* 1 if the history has a call that llm_anthropic_history_tools() declares */

static int
llm_anthropic_history_calls(llm_json_t *root)
{
    llm_json_t  *m, *call;

    cJSON_ArrayForEach(m, llm_json_get_arr(root, "messages")) {
        cJSON_ArrayForEach(call, llm_json_get_arr(m, "tool_calls")) {
            if (llm_anthropic_history_call(m, call)) {
                return 1;
            }
        }
    }

    return 0;
}


/* the forced tool of a named tool_choice, or NULL */

static const char *
llm_anthropic_named(llm_json_t *choice)
{
    return llm_json_get_str(llm_json_get_obj(choice, "function"), "name");
}


static int
llm_anthropic_tool_choice(llm_json_t *root, llm_json_t *rf, llm_buf_t *b)
{
    int          tools, no_parallel;
    llm_json_t  *choice, *v;
    const char  *type, *name;

    tools = llm_anthropic_has_tools(root);

    if (!tools && rf == NULL) {
        if (!llm_anthropic_history_calls(root)) {
            return LLM_OK;
        }

        /* tools declared for the history only are not to be called */
        return llm_buf_append_lit(b, ",\"tool_choice\":{\"type\":\"none\"}");
    }

    choice = llm_json_get(root, "tool_choice");
    v = llm_json_get(root, "parallel_tool_calls");
    no_parallel = cJSON_IsFalse(v);

    name = NULL;
    type = NULL;

    if (cJSON_IsString(choice)) {
        if (llm_anthropic_is(choice->valuestring, "none")) {
            type = "none";

        } else if (llm_anthropic_is(choice->valuestring, "required")) {
            type = "any";

        } else {
            type = "auto";
        }

    } else if (cJSON_IsObject(choice)) {
        name = llm_anthropic_named(choice);
        type = name ? "tool" : "auto";
    }

    if (rf) {
        /* the answer comes through the JSON tool, maybe after others */

        if (!tools || llm_anthropic_is(type, "none")) {
            type = "tool";
            name = LLM_ANTHROPIC_JSON_TOOL;

        } else if (name == NULL) {
            type = "any";
        }

    } else if (type == NULL) {
        if (!no_parallel) {
            return LLM_OK;
        }

        type = "auto";
    }

    if (llm_buf_append_lit(b, ",\"tool_choice\":{\"type\":\"") != LLM_OK
        || llm_buf_append_cstr(b, type) != LLM_OK
        || llm_buf_append_lit(b, "\"") != LLM_OK
        || (name
            && (llm_buf_append_lit(b, ",\"name\":") != LLM_OK
                || llm_anthropic_str(b, name) != LLM_OK))
        || (no_parallel && strcmp(type, "none") != 0
            && llm_buf_append_lit(b, ",\"disable_parallel_tool_use\":true")
               != LLM_OK)
        || llm_buf_append_lit(b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* reasoning */


/*
 * reasoning_effort → thinking.budget_tokens (Anthropic's minimum is
 * 1024); 0: no thinking ("none", absent)
 */

static long long
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

static long long
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
        || (msgs && llm_anthropic_messages(msgs, b) != LLM_OK)
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

    if (llm_anthropic_tools(root, rf, b) != LLM_OK
        || llm_anthropic_tool_choice(root, rf, b) != LLM_OK)
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

    if (llm_anthropic_build(req, root, upstream_model, body) != LLM_OK) {
        body->len = len0;
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* the check */


/* a 400 for the "param" in scope */

#define llm_anthropic_refuse(e, code, ...)                                   \
    do {                                                                     \
        llm_error_set(e, 400, param, code, __VA_ARGS__);                     \
        return LLM_DECLINED;                                                 \
    } while (0)


static int
llm_anthropic_check_n(long long n, llm_error_t *e)
{
    const char  *param;

    param = "n";

    if (n > 1) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour 'n' "
                             "greater than 1: Anthropic returns one "
                             "choice.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_params(llm_json_t *root, llm_error_t *e)
{
    llm_json_t  *v, *rf, *schema;
    const char  *param, *s;

    if (llm_anthropic_check_n(llm_json_get_int(root, "n"), e) != LLM_OK) {
        return LLM_DECLINED;
    }

    param = "logprobs";

    if (cJSON_IsTrue(llm_json_get(root, "logprobs"))) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour "
                             "'logprobs': Anthropic returns no log "
                             "probabilities.");
    }

    param = "logit_bias";
    v = llm_json_get_obj(root, "logit_bias");

    if (v && v->child) {
        llm_anthropic_refuse(e, "unsupported_parameter",
                             "The anthropic dialect cannot honour "
                             "'logit_bias': Anthropic has no token "
                             "biases.");
    }

    param = "reasoning_effort";
    s = llm_json_get_str(root, "reasoning_effort");

    if (s && !llm_anthropic_is(s, "none") && llm_anthropic_budget(root) == 0)
    {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'reasoning_effort': "
                             "supported values are 'none', 'minimal', "
                             "'low', 'medium', 'high' and 'xhigh'.");
    }

    rf = llm_json_get_obj(root, "response_format");

    if (rf == NULL) {
        return LLM_OK;
    }

    param = "response_format.type";
    s = llm_json_get_str(rf, "type");

    if (!llm_anthropic_is(s, "text") && !llm_anthropic_is(s, "json_object")
        && !llm_anthropic_is(s, "json_schema"))
    {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'response_format.type': "
                             "supported values are 'text', 'json_object' "
                             "and 'json_schema'.");
    }

    param = "response_format.json_schema.schema";
    schema = llm_json_get(llm_json_get_obj(rf, "json_schema"), "schema");

    if (schema && !cJSON_IsObject(schema)) {
        llm_anthropic_refuse(e, "invalid_type",
                             "Invalid type for "
                             "'response_format.json_schema.schema': "
                             "expected an object.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_tools(llm_json_t *root, llm_error_t *e)
{
    int          i;
    char         param[64];
    llm_json_t  *tool, *fn, *choice, *v;
    const char  *name;

    i = 0;

    cJSON_ArrayForEach(tool, llm_json_get_arr(root, "tools")) {
        snprintf(param, sizeof(param), "tools[%d].type", i);

        if (!llm_anthropic_is(llm_json_get_str(tool, "type"), "function")) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': the anthropic "
                                 "dialect supports 'function' tools.",
                                 param);
        }

        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        snprintf(param, sizeof(param), "tools[%d].function.name", i);

        if (name == NULL || name[0] == '\0') {
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (strcmp(name, LLM_ANTHROPIC_JSON_TOOL) == 0) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': the name '"
                                 LLM_ANTHROPIC_JSON_TOOL "' is reserved "
                                 "by the gateway.", param);
        }

        v = llm_json_get(fn, "parameters");

        snprintf(param, sizeof(param), "tools[%d].function.parameters", i);

        if (v && !cJSON_IsObject(v)) {
            llm_anthropic_refuse(e, "invalid_type",
                                 "Invalid type for '%s': expected an "
                                 "object.", param);
        }

        i++;
    }

    choice = llm_json_get(root, "tool_choice");

    snprintf(param, sizeof(param), "tool_choice");

    /* its string values were checked by llm_request_parse() */

    if (cJSON_IsObject(choice) && llm_anthropic_named(choice) == NULL) {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for 'tool_choice': the "
                             "anthropic dialect supports {\"type\": "
                             "\"function\", \"function\": {\"name\": …}}.");
    }

    if (llm_anthropic_thinking(root) == 0) {
        return LLM_OK;
    }

    /* Anthropic refuses forced tools with thinking */

    if ((cJSON_IsObject(choice)
         || (cJSON_IsString(choice)
             && llm_anthropic_is(choice->valuestring, "required")))
        && llm_anthropic_has_tools(root))
    {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour a "
                             "required or named 'tool_choice' together "
                             "with 'reasoning_effort': Anthropic cannot "
                             "force a tool while thinking.");
    }

    snprintf(param, sizeof(param), "response_format");

    if (llm_anthropic_json_format(root)) {
        llm_anthropic_refuse(e, "unsupported_value",
                             "The anthropic dialect cannot honour a JSON "
                             "'response_format' together with "
                             "'reasoning_effort': its JSON output is a "
                             "forced tool, which Anthropic refuses while "
                             "thinking.");
    }

    return LLM_OK;
}


static int
llm_anthropic_check_image(llm_json_t *part, const char *where,
    llm_error_t *e)
{
    char         param[96];
    size_t       mt_len;
    const char  *url, *mt;

    url = llm_anthropic_image_url(part);

    /* where is at most 63 bytes: the result fits the error's param */
    snprintf(param, sizeof(param), "%.48s.image_url.url", where);

    if (url == NULL) {
        llm_anthropic_refuse(e, "missing_required_parameter",
                             "Missing required parameter: '%s'.", param);
    }

    if (strncmp(url, "data:", 5) == 0) {
        if (llm_anthropic_data_url(url, &mt, &mt_len) == NULL) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': a data URL must "
                                 "be base64 (data:<type>;base64,…).",
                                 param);
        }

        if (!llm_anthropic_media_ok(mt, mt_len)) {
            llm_anthropic_refuse(e, "invalid_value",
                                 "Invalid value for '%s': Anthropic takes "
                                 "image/jpeg, image/png, image/gif and "
                                 "image/webp images.", param);
        }

        return LLM_OK;
    }

    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        llm_anthropic_refuse(e, "invalid_value",
                             "Invalid value for '%s': expected a data: or "
                             "http(s) URL.", param);
    }

    return LLM_OK;
}


static int
llm_anthropic_check_content(llm_json_t *content, int i, llm_error_t *e)
{
    int          j, rc;
    char         param[64];
    llm_json_t  *part;
    const char  *type;

    j = 0;

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");

        snprintf(param, sizeof(param), "messages[%d].content[%d]", i, j);

        if (llm_anthropic_is(type, "image_url")) {
            rc = llm_anthropic_check_image(part, param, e);

            if (rc != LLM_OK) {
                return rc;
            }

        } else if (llm_anthropic_is(type, "input_audio")
                   || llm_anthropic_is(type, "file"))
        {
            snprintf(param, sizeof(param), "messages[%d].content[%d].type",
                     i, j);
            llm_anthropic_refuse(e, "unsupported_value",
                                 "The anthropic dialect cannot send '%s' "
                                 "parts ('%s').", type, param);
        }

        j++;
    }

    return LLM_OK;
}


static int
llm_anthropic_check_calls(llm_json_t *calls, int i, llm_error_t *e)
{
    int          j;
    char         param[64];
    llm_json_t  *call, *fn, *args;
    const char  *s;

    j = 0;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");

        snprintf(param, sizeof(param), "messages[%d].tool_calls[%d].id",
                 i, j);

        if (llm_json_get_str(call, "id") == NULL) {
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        snprintf(param, sizeof(param),
                 "messages[%d].tool_calls[%d].function.name", i, j);

        if (llm_json_get_str(fn, "name") == NULL) {
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        snprintf(param, sizeof(param),
                 "messages[%d].tool_calls[%d].function.arguments", i, j);

        s = llm_json_get_str(fn, "arguments");

        if (s && s[strspn(s, " \t\r\n")] != '\0') {
            args = llm_json_parse(s, strlen(s), NULL);

            if (!cJSON_IsObject(args)) {
                llm_json_free(args);
                llm_anthropic_refuse(e, "invalid_value",
                                     "Invalid value for '%s': the "
                                     "arguments must be a JSON object.",
                                     param);
            }

            llm_json_free(args);
        }

        j++;
    }

    return LLM_OK;
}


static int
llm_anthropic_check_messages(llm_json_t *root, llm_error_t *e)
{
    int          i, rc;
    char         param[64];
    llm_json_t  *m, *content;
    const char  *role;

    i = 0;

    cJSON_ArrayForEach(m, llm_json_get_arr(root, "messages")) {
        role = llm_json_get_str(m, "role");
        content = llm_json_get(m, "content");
        rc = LLM_OK;

        if (llm_anthropic_is(role, "user") && cJSON_IsArray(content)) {
            rc = llm_anthropic_check_content(content, i, e);

        } else if (llm_anthropic_is(role, "assistant")) {
            rc = llm_anthropic_check_calls(llm_json_get_arr(m, "tool_calls"),
                                           i, e);

        } else if (llm_anthropic_is(role, "tool")
                   && llm_json_get_str(m, "tool_call_id") == NULL)
        {
            snprintf(param, sizeof(param), "messages[%d].tool_call_id", i);
            llm_anthropic_refuse(e, "missing_required_parameter",
                                 "Missing required parameter: '%s'.",
                                 param);
        }

        if (rc != LLM_OK) {
            return rc;
        }

        i++;
    }

    return LLM_OK;
}


/* 1 if an assistant message has a call with this id */

static int
llm_anthropic_has_call(llm_json_t *a, const char *id)
{
    llm_json_t  *call;

    cJSON_ArrayForEach(call, llm_json_get_arr(a, "tool_calls")) {
        if (llm_anthropic_is(llm_json_get_str(call, "id"), id)) {
            return 1;
        }
    }

    return 0;
}


/* every call of the assistant message a (messages[k]) has its result
 * among the messages after it, up to "to" */

static int
llm_anthropic_check_answered(llm_json_t *a, int k, llm_json_t *to,
    llm_error_t *e)
{
    char         param[64];
    llm_json_t  *call, *m;
    const char  *id;

    cJSON_ArrayForEach(call, llm_json_get_arr(a, "tool_calls")) {
        id = llm_json_get_str(call, "id");

        for (m = a->next; m != to; m = m->next) {
            if (llm_anthropic_is(llm_json_get_str(m, "tool_call_id"), id)) {
                break;
            }
        }

        if (m == to) {
            snprintf(param, sizeof(param), "messages[%d].tool_calls", k);
            llm_anthropic_refuse(e, "invalid_value",
                                 "An assistant message with 'tool_calls' "
                                 "must be followed by tool messages "
                                 "responding to each 'tool_call_id': '%s' "
                                 "has none ('%s').", id, param);
        }
    }

    return LLM_OK;
}


/*
 * As OpenAI wants it, and Anthropic too: the tool messages after an
 * assistant message answer its calls, each of them
 */

static int
llm_anthropic_check_pairs(llm_json_t *root, llm_error_t *e)
{
    int          i, k;
    char         param[64];
    llm_json_t  *m, *a;
    const char  *role;

    a = NULL;
    i = 0;
    k = 0;

    cJSON_ArrayForEach(m, llm_json_get_arr(root, "messages")) {
        role = llm_json_get_str(m, "role");

        if (llm_anthropic_is(role, "tool")) {
            if (a == NULL
                || !llm_anthropic_has_call(a,
                                    llm_json_get_str(m, "tool_call_id")))
            {
                snprintf(param, sizeof(param), "messages[%d].tool_call_id",
                         i);
                llm_anthropic_refuse(e, "invalid_value",
                                     "Invalid value for '%s': a tool "
                                     "message must answer a call of the "
                                     "assistant message before it.", param);
            }

        } else if (!llm_anthropic_is(role, "system")
                   && !llm_anthropic_is(role, "developer"))
        {
            /* system texts go to "system": they may come in between */

            if (a && llm_anthropic_check_answered(a, k, m, e) != LLM_OK) {
                return LLM_DECLINED;
            }

            a = NULL;

            if (llm_anthropic_is(role, "assistant")
                && cJSON_GetArraySize(llm_json_get_arr(m, "tool_calls")))
            {
                a = m;
                k = i;
            }
        }

        i++;
    }

    if (a) {
        return llm_anthropic_check_answered(a, k, NULL, e);
    }

    return LLM_OK;
}


int
llm_anthropic_check(llm_request_t *req, llm_error_t *e)
{
    int          rc;
    llm_json_t  *root;

    if (req->plain) {
        /* text and plain parameters: only n can be refused */
        return llm_anthropic_check_n(req->spans->n.start
                                     ? llm_json_scan_int(req->spans->n.start,
                                                         req->spans->n.end)
                                     : -1, e);
    }

    root = llm_request_tree(req);

    if (root == NULL) {
        return LLM_ERROR;
    }

    rc = llm_anthropic_check_params(root, e);

    if (rc == LLM_OK) {
        rc = llm_anthropic_check_tools(root, e);
    }

    if (rc == LLM_OK) {
        rc = llm_anthropic_check_messages(root, e);
    }

    if (rc == LLM_OK) {
        rc = llm_anthropic_check_pairs(root, e);
    }

    return rc;
}
