/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Messages request reader: a Messages API body checked member by
 * member (the errors name the member as Anthropic does,
 * "messages.1.content.0.type: ...") and rewritten as the internal OpenAI
 * Chat request:
 *
 *   system (string or text blocks)    a system message
 *   user text and image blocks        a user message (a string when it
 *                                     is one text block)
 *   tool_result blocks                tool messages, before the user's
 *                                     other blocks
 *   assistant text, tool_use          content and tool_calls
 *   thinking, redacted_thinking       dropped: only Anthropic reads them,
 *                                     and it gets the client's own body
 *   tools, tool_choice                function tools, auto / required /
 *                                     a function / none;
 *                                     disable_parallel_tool_use →
 *                                     parallel_tool_calls false
 *   stop_sequences, metadata.user_id  stop, user
 *   thinking.budget_tokens            reasoning_effort (low ≤ 4096 <
 *                                     medium ≤ 12288 < high)
 *   max_tokens, temperature, top_p,   as they are; top_k only Anthropic
 *   stream, template                  honours (it is dropped)
 *
 * What only Anthropic serves (server tools, documents, search results)
 * is noted in m->native: another provider refuses the request with it.
 *
 * The internal form is written straight into m->chat as the body is
 * walked (no second tree); numbers go as the client wrote them.  The
 * content blocks of a turn are llm_messages_blocks.c's.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json_scan.h"
#include "llm_messages_reader.h"


static int llm_messages_scan(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end);
static int llm_messages_check(llm_messages_ctx_t *c, llm_json_t *root);
static int llm_messages_params(llm_messages_ctx_t *c, llm_json_t *root);
static int llm_messages_system(llm_messages_ctx_t *c, llm_json_t *system);
static int llm_messages_turns(llm_messages_ctx_t *c, llm_json_t *messages);
static int llm_messages_tools(llm_messages_ctx_t *c, llm_json_t *tools);
static int llm_messages_tool_choice(llm_messages_ctx_t *c,
    llm_json_t *choice);
static int llm_messages_thinking(llm_messages_ctx_t *c,
    llm_json_t *thinking);


int
llm_messages_parse(llm_messages_t *m, const char *p, size_t n, int flags,
    llm_error_t *e)
{
    int                  rc;
    size_t               off;
    llm_json_t          *root, *v;
    llm_json_arena_t    *arena;
    llm_messages_ctx_t   c;

    memset(m, 0, sizeof(llm_messages_t));
    memset(&c, 0, sizeof(llm_messages_ctx_t));

    c.base = p;
    c.m = m;
    c.e = e;
    c.b = &m->chat;
    c.count = (flags & LLM_MESSAGES_COUNT) != 0;

    /* one strict scan: the JSON is valid, the model's and numbers' bytes */

    if (llm_json_scan(p, n, 1, llm_messages_scan, &c) != LLM_OK) {
        llm_json_valid(p, n, &off);
        llm_error_invalid_json(e, p, n, off);
        return LLM_ERROR;
    }

    /* the scan found it valid: its tree in an arena, read only */
    root = llm_json_tree(p, n, NULL, 0, NULL, 0, &arena);

    if (root == NULL) {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        return LLM_ERROR;
    }

    rc = LLM_ERROR;

    if (!cJSON_IsObject(root)) {
        llm_error_set(e, 400, NULL, "invalid_request_error",
                      "The request body must be a JSON object.");
        goto done;
    }

    if (m->model_end == 0) {
        llm_error_set(e, 400, "model", "invalid_request_error",
                      "model: Field required (a string).");
        goto done;
    }

    m->model = strdup(llm_json_get_str(root, "model"));

    if (m->model == NULL) {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        goto done;
    }

    v = llm_json_get(root, "system");

    if (llm_messages_check(&c, root) != LLM_OK
        || llm_buf_reserve(c.b, n + 256) != LLM_OK
        || llm_buf_append_lit(c.b, "{\"model\":") != LLM_OK
        || llm_messages_str(c.b, m->model) != LLM_OK
        || llm_buf_append_lit(c.b, ",\"messages\":[") != LLM_OK
        || (v && !cJSON_IsNull(v) && llm_messages_system(&c, v) != LLM_OK)
        || llm_messages_turns(&c, llm_json_get(root, "messages")) != LLM_OK
        || llm_buf_append_lit(c.b, "]") != LLM_OK
        || llm_messages_params(&c, root) != LLM_OK
        || llm_messages_tools(&c, llm_json_get(root, "tools")) != LLM_OK
        || llm_messages_tool_choice(&c, llm_json_get(root, "tool_choice"))
           != LLM_OK
        || llm_messages_thinking(&c, llm_json_get(root, "thinking"))
           != LLM_OK)
    {
        if (e->message[0] == '\0') {
            llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        }

        goto done;
    }

    /* the gateway's own member: templates work on the internal form */

    v = llm_json_get(root, "template");

    if (v && (llm_buf_append_lit(c.b, ",\"template\":") != LLM_OK
              || llm_json_print(v, c.b) != LLM_OK))
    {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        goto done;
    }

    if (llm_buf_append_lit(c.b, "}") != LLM_OK) {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        goto done;
    }

    rc = LLM_OK;

done:

    llm_json_arena_free(arena);

    if (rc != LLM_OK) {
        llm_messages_free(m);
    }

    return rc;
}


void
llm_messages_free(llm_messages_t *m)
{
    llm_buf_free(&m->chat);
    free(m->model);
    m->model = NULL;
}


static int
llm_messages_scan(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_messages_ctx_t  *c = data;

    int  i;

    static const char  *names[] = {
        "max_tokens", "temperature", "top_p", "top_k"
    };

    if (depth != 1) {
        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "model")) {
        if (type == LLM_JSON_STRING && c->m->model_end == 0) {
            c->m->model_start = start - c->base;
            c->m->model_end = end - c->base;
        }

        return LLM_OK;
    }

    for (i = 0; i < LLM_MSG_NUMBERS; i++) {
        if (path[0].key_len == strlen(names[i])
            && memcmp(path[0].key, names[i], path[0].key_len) == 0)
        {
            /* the first, as cJSON reads duplicates */
            if (c->num[i] == NULL) {
                c->num[i] = (type == LLM_JSON_NUMBER) ? start : NULL;
                c->num_end[i] = end;
            }

            break;
        }
    }

    return LLM_OK;
}


/* the member a failure is about, as Anthropic names it */

static void
llm_messages_path(llm_messages_ctx_t *c, char *buf, size_t size)
{
    int  n;

    buf[0] = '\0';

    if (c->at == NULL) {
        return;
    }

    n = snprintf(buf, size, "%s", c->at);

    if (c->i >= 0 && n >= 0 && (size_t) n < size) {
        n += snprintf(buf + n, size - n, ".%d", c->i);
    }

    if (c->rest && n >= 0 && (size_t) n < size) {
        n += snprintf(buf + n, size - n, ".%s", c->rest);
    }

    if (c->j >= 0 && n >= 0 && (size_t) n < size) {
        snprintf(buf + n, size - n, ".%d", c->j);
    }
}


int
llm_messages_fail(llm_messages_ctx_t *c, const char *fmt, ...)
{
    char     msg[LLM_ERR_MSG_LEN / 2], path[64];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    llm_messages_path(c, path, sizeof(path));

    llm_error_set(c->e, 400, path[0] ? path : NULL,
                  "invalid_request_error", "%s%s%s",
                  path, path[0] ? ": " : "", msg);

    return LLM_ERROR;
}


/* where the next failure would be: cheap, as it runs for every member */

void
llm_messages_at(llm_messages_ctx_t *c, const char *at, int i,
    const char *rest, int j)
{
    c->at = at;
    c->i = i;
    c->rest = rest;
    c->j = j;
}


static const struct {
    const char  *name;
    const char  *to;                 /* NULL: checked, not carried */
    double       min;
    double       max;
    int          integer;
} llm_messages_numbers[] = {
    { "max_tokens", "max_tokens", 1, 1e9, 1 },
    { "temperature", "temperature", 0, 1, 0 },
    { "top_p", "top_p", 0, 1, 0 },
    { "top_k", NULL, 0, 1e9, 1 },
};


/* the scalar members, checked as Anthropic does, before anything else */

static int
llm_messages_check(llm_messages_ctx_t *c, llm_json_t *root)
{
    size_t       i, k;
    llm_json_t  *v, *s;

    for (i = 0; i < LLM_MSG_NUMBERS; i++) {
        v = llm_json_get(root, llm_messages_numbers[i].name);
        llm_messages_at(c, llm_messages_numbers[i].name, -1, NULL, -1);

        if (v == NULL || cJSON_IsNull(v)) {
            if (i == LLM_MSG_MAX_TOKENS && !c->count) {
                return llm_messages_fail(c, "Field required");
            }

            c->num[i] = NULL;
            continue;
        }

        if (!cJSON_IsNumber(v)) {
            return llm_messages_fail(c, "Input should be a valid %s",
                                     llm_messages_numbers[i].integer
                                     ? "integer" : "number");
        }

        if (v->valuedouble < llm_messages_numbers[i].min
            || v->valuedouble > llm_messages_numbers[i].max)
        {
            return llm_messages_fail(c, "Input should be between %g and %g",
                                     llm_messages_numbers[i].min,
                                     llm_messages_numbers[i].max);
        }

        /* in range: the cast is defined */
        if (llm_messages_numbers[i].integer
            && v->valuedouble != (double) (long long) v->valuedouble)
        {
            return llm_messages_fail(c, "Input should be a valid integer");
        }
    }

    v = llm_json_get(root, "stream");
    llm_messages_at(c, "stream", -1, NULL, -1);

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) {
            return llm_messages_fail(c, "Input should be a valid boolean");
        }

        c->m->stream = cJSON_IsTrue(v);
    }

    v = llm_json_get(root, "stop_sequences");
    llm_messages_at(c, "stop_sequences", -1, NULL, -1);

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsArray(v)) {
            return llm_messages_fail(c, "Input should be a valid list");
        }

        k = 0;

        cJSON_ArrayForEach(s, v) {
            if (!cJSON_IsString(s)) {
                llm_messages_at(c, "stop_sequences", (int) k, NULL, -1);
                return llm_messages_fail(c, "Input should be a valid string");
            }

            k++;
        }
    }

    v = llm_json_get(root, "metadata");
    llm_messages_at(c, "metadata", -1, NULL, -1);

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return llm_messages_fail(c, "Input should be a valid dictionary");
        }

        s = llm_json_get(v, "user_id");

        if (s && !cJSON_IsNull(s) && !cJSON_IsString(s)) {
            llm_messages_at(c, "metadata.user_id", -1, NULL, -1);
            return llm_messages_fail(c, "Input should be a valid string");
        }
    }

    c->at = NULL;

    return LLM_OK;
}


/* the scalar members, checked before, written after the messages */

static int
llm_messages_params(llm_messages_ctx_t *c, llm_json_t *root)
{
    int          i, k;
    llm_buf_t   *b;
    llm_json_t  *v, *s;
    const char  *user;

    if (c->count) {
        return LLM_OK;
    }

    b = c->b;

    for (i = 0; i < LLM_MSG_NUMBERS; i++) {
        if (c->num[i] == NULL || llm_messages_numbers[i].to == NULL) {
            continue;
        }

        if (llm_buf_append_lit(b, ",\"") != LLM_OK
            || llm_buf_append_cstr(b, llm_messages_numbers[i].to) != LLM_OK
            || llm_buf_append_lit(b, "\":") != LLM_OK
            || llm_buf_append(b, c->num[i], c->num_end[i] - c->num[i])
               != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (c->m->stream && llm_buf_append_lit(b, ",\"stream\":true") != LLM_OK) {
        return LLM_ERROR;
    }

    v = llm_json_get(root, "stop_sequences");
    k = 0;

    if (!cJSON_IsArray(v)) {
        v = NULL;
    }

    cJSON_ArrayForEach(s, v) {
        if (llm_buf_append_cstr(b, k++ ? "," : ",\"stop\":[") != LLM_OK
            || llm_messages_str(b, s->valuestring) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (k && llm_buf_append_lit(b, "]") != LLM_OK) {
        return LLM_ERROR;
    }

    user = llm_json_get_str(llm_json_get_obj(root, "metadata"), "user_id");

    if (user && user[0]
        && (llm_buf_append_lit(b, ",\"user\":") != LLM_OK
            || llm_messages_str(b, user) != LLM_OK))
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* text blocks joined, or a string */

static int
llm_messages_text_of(llm_messages_ctx_t *c, llm_json_t *v, llm_buf_t *b,
    const char *where)
{
    int          i;
    llm_json_t  *block, *text;
    const char  *type;

    if (cJSON_IsString(v)) {
        return llm_buf_append_cstr(b, v->valuestring);
    }

    if (!cJSON_IsArray(v)) {
        llm_messages_at(c, where, -1, NULL, -1);
        return llm_messages_fail(c, "Input should be a valid string or a "
                                    "list of text blocks");
    }

    i = 0;

    cJSON_ArrayForEach(block, v) {
        llm_messages_at(c, where, i++, NULL, -1);

        type = llm_json_get_str(block, "type");
        text = llm_json_get(block, "text");

        if (type == NULL || strcmp(type, "text") != 0 || !cJSON_IsString(text))
        {
            return llm_messages_fail(c, "Input should be a text block");
        }

        if ((b->len && llm_buf_append_lit(b, "\n\n") != LLM_OK)
            || llm_buf_append_cstr(b, text->valuestring) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* {"role":"<role>","content": — the caller writes the content */

int
llm_messages_open(llm_messages_ctx_t *c, const char *role)
{
    if ((c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
        || llm_buf_append_lit(c->b, "{\"role\":\"") != LLM_OK
        || llm_buf_append_cstr(c->b, role) != LLM_OK
        || llm_buf_append_lit(c->b, "\",\"content\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* a message whose content is the string s, n bytes */

int
llm_messages_text_message(llm_messages_ctx_t *c, const char *role,
    const char *s, size_t n)
{
    if (llm_messages_open(c, role) != LLM_OK
        || llm_buf_append_json_string(c->b, s, n) != LLM_OK
        || llm_buf_append_lit(c->b, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_messages_system(llm_messages_ctx_t *c, llm_json_t *system)
{
    int        rc;
    llm_buf_t  text;

    memset(&text, 0, sizeof(llm_buf_t));

    rc = llm_messages_text_of(c, system, &text, "system");

    if (rc == LLM_OK && text.len) {
        rc = llm_messages_text_message(c, "system", text.data, text.len);
    }

    llm_buf_free(&text);

    return rc;
}


static int
llm_messages_turns(llm_messages_ctx_t *c, llm_json_t *messages)
{
    int          i;
    llm_json_t  *msg, *content, *block;
    const char  *role;

    llm_messages_at(c, "messages", -1, NULL, -1);

    if (!cJSON_IsArray(messages)) {
        return llm_messages_fail(c, "Field required (a list of messages)");
    }

    if (cJSON_GetArraySize(messages) == 0) {
        return llm_messages_fail(c, "at least one message is required");
    }

    i = 0;

    cJSON_ArrayForEach(msg, messages) {
        llm_messages_at(c, "messages", i, NULL, -1);

        if (!cJSON_IsObject(msg)) {
            return llm_messages_fail(c, "Input should be a valid dictionary");
        }

        role = llm_json_get_str(msg, "role");
        content = llm_json_get(msg, "content");

        if (role == NULL
            || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
        {
            llm_messages_at(c, "messages", i, "role", -1);
            return llm_messages_fail(c, "Input should be 'user' or "
                                        "'assistant'");
        }

        if (cJSON_IsString(content)) {
            if (llm_messages_text_message(c, role, content->valuestring,
                                          strlen(content->valuestring))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            i++;
            continue;
        }

        llm_messages_at(c, "messages", i, "content", -1);

        if (!cJSON_IsArray(content)) {
            return llm_messages_fail(c, "Input should be a valid string or "
                                        "list of content blocks");
        }

        cJSON_ArrayForEach(block, content) {
            if (!cJSON_IsObject(block)
                || !cJSON_IsString(llm_json_get(block, "type")))
            {
                return llm_messages_fail(c, "each content block must be an "
                                            "object with a \"type\"");
            }
        }

        if ((role[0] == 'u' ? llm_messages_user(c, i, content)
                            : llm_messages_assistant(c, i, content))
            != LLM_OK)
        {
            return LLM_ERROR;
        }

        i++;
    }

    c->at = NULL;

    return LLM_OK;
}


static int
llm_messages_tools(llm_messages_ctx_t *c, llm_json_t *tools)
{
    int          i;
    llm_buf_t   *b;
    llm_json_t  *tool, *schema;
    const char  *name, *type, *desc;

    if (tools == NULL || cJSON_IsNull(tools)) {
        return LLM_OK;
    }

    llm_messages_at(c, "tools", -1, NULL, -1);

    if (!cJSON_IsArray(tools)) {
        return llm_messages_fail(c, "Input should be a valid list");
    }

    b = c->b;
    i = 0;

    cJSON_ArrayForEach(tool, tools) {
        llm_messages_at(c, "tools", i++, NULL, -1);

        type = llm_json_get_str(tool, "type");

        if (type && strcmp(type, "custom") != 0) {
            /* a server tool (web search, code execution, ...) */
            llm_messages_native(c, "the tool type", type);
            continue;
        }

        name = llm_json_get_str(tool, "name");
        schema = llm_json_get_obj(tool, "input_schema");

        if (name == NULL || schema == NULL) {
            return llm_messages_fail(c, "a tool needs a string \"name\" and "
                                        "an object \"input_schema\"");
        }

        if (c->count) {
            continue;
        }

        desc = llm_json_get_str(tool, "description");

        if (llm_buf_append_cstr(b, c->ntools++ ? ",{" : ",\"tools\":[{")
            != LLM_OK
            || llm_buf_append_lit(b, "\"type\":\"function\",\"function\":"
                                     "{\"name\":") != LLM_OK
            || llm_messages_str(b, name) != LLM_OK
            || (desc
                && (llm_buf_append_lit(b, ",\"description\":") != LLM_OK
                    || llm_messages_str(b, desc) != LLM_OK))
            || llm_buf_append_lit(b, ",\"parameters\":") != LLM_OK
            || llm_json_print(schema, b) != LLM_OK
            || llm_buf_append_lit(b, "}}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    c->at = NULL;

    if (c->ntools && llm_buf_append_lit(b, "]") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_messages_tool_choice(llm_messages_ctx_t *c, llm_json_t *choice)
{
    llm_buf_t   *b;
    const char  *type, *name;

    if (choice == NULL || cJSON_IsNull(choice)) {
        return LLM_OK;
    }

    llm_messages_at(c, "tool_choice", -1, NULL, -1);

    type = llm_json_get_str(choice, "type");

    if (!cJSON_IsObject(choice) || type == NULL) {
        return llm_messages_fail(c, "Input should be an object with a "
                                    "\"type\"");
    }

    name = llm_json_get_str(choice, "name");

    if (strcmp(type, "tool") == 0) {
        if (name == NULL) {
            return llm_messages_fail(c, "name: Field required");
        }

    } else if (strcmp(type, "auto") != 0 && strcmp(type, "any") != 0
               && strcmp(type, "none") != 0)
    {
        return llm_messages_fail(c, "type: Input should be 'auto', 'any', "
                                    "'tool' or 'none'");
    }

    c->at = NULL;

    /* no tools left for the internal form: the choice means nothing */

    if (c->ntools == 0) {
        return LLM_OK;
    }

    b = c->b;

    if (llm_buf_append_lit(b, ",\"tool_choice\":") != LLM_OK
        || (strcmp(type, "tool") == 0
            ? (llm_buf_append_lit(b, "{\"type\":\"function\",\"function\":"
                                     "{\"name\":") != LLM_OK
               || llm_messages_str(b, name) != LLM_OK
               || llm_buf_append_lit(b, "}}") != LLM_OK)
            : llm_messages_str(b, strcmp(type, "any") == 0 ? "required"
                                                            : type)
              != LLM_OK)
        || (cJSON_IsTrue(llm_json_get(choice, "disable_parallel_tool_use"))
            && llm_buf_append_lit(b, ",\"parallel_tool_calls\":false")
               != LLM_OK))
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_messages_thinking(llm_messages_ctx_t *c, llm_json_t *thinking)
{
    long long    budget;
    const char  *type, *effort;

    if (thinking == NULL || cJSON_IsNull(thinking)) {
        return LLM_OK;
    }

    llm_messages_at(c, "thinking", -1, NULL, -1);

    type = llm_json_get_str(thinking, "type");

    if (!cJSON_IsObject(thinking) || type == NULL) {
        return llm_messages_fail(c, "Input should be an object with a "
                                    "\"type\"");
    }

    if (strcmp(type, "disabled") == 0) {
        c->at = NULL;
        return LLM_OK;
    }

    if (strcmp(type, "enabled") == 0) {
        budget = llm_json_get_int(thinking, "budget_tokens");

        if (budget < 1024) {
            llm_messages_at(c, "thinking.budget_tokens", -1, NULL, -1);
            return llm_messages_fail(c, "Input should be greater than or "
                                        "equal to 1024");
        }

        effort = (budget <= 4096) ? "low"
                                  : (budget <= 12288) ? "medium" : "high";

    } else if (strcmp(type, "adaptive") == 0) {
        effort = "medium";

    } else {
        return llm_messages_fail(c, "type: Input should be 'enabled', "
                                    "'adaptive' or 'disabled'");
    }

    c->at = NULL;

    if (c->count) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(c->b, ",\"reasoning_effort\":\"") != LLM_OK
        || llm_buf_append_cstr(c->b, effort) != LLM_OK
        || llm_buf_append_lit(c->b, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


void
llm_messages_native(llm_messages_ctx_t *c, const char *what,
    const char *name)
{
    char  path[64];

    if (c->m->native[0]) {
        return;
    }

    llm_messages_path(c, path, sizeof(path));

    snprintf(c->m->native, sizeof(c->m->native), "%s '%s' (%s)", what,
             name, path);
}
