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
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json.h"
#include "llm_json_scan.h"
#include "llm_messages.h"


typedef struct {
    const char       *base;         /* the client's body */
    llm_messages_t   *m;
    llm_error_t      *e;
    llm_json_t       *out;          /* the OpenAI request */
    llm_json_t       *msgs;         /* its messages */
    char              path[64];     /* where a failure is */
} llm_messages_ctx_t;


static int llm_messages_model(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end);
static int llm_messages_fail(llm_messages_ctx_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int llm_messages_params(llm_messages_ctx_t *c, llm_json_t *root,
    int flags);
static int llm_messages_system(llm_messages_ctx_t *c, llm_json_t *system);
static int llm_messages_turns(llm_messages_ctx_t *c, llm_json_t *messages);
static int llm_messages_user(llm_messages_ctx_t *c, int i,
    llm_json_t *content);
static int llm_messages_assistant(llm_messages_ctx_t *c, int i,
    llm_json_t *content);
static llm_json_t *llm_messages_image(llm_messages_ctx_t *c,
    llm_json_t *block);
static int llm_messages_tool_result(llm_messages_ctx_t *c,
    llm_json_t *block);
static int llm_messages_tools(llm_messages_ctx_t *c, llm_json_t *tools);
static int llm_messages_tool_choice(llm_messages_ctx_t *c,
    llm_json_t *choice);
static int llm_messages_thinking(llm_messages_ctx_t *c,
    llm_json_t *thinking);
static void llm_messages_native(llm_messages_ctx_t *c, const char *what,
    const char *name);


int
llm_messages_parse(llm_messages_t *m, const char *p, size_t n, int flags,
    llm_error_t *e)
{
    int                  rc;
    size_t               off;
    llm_json_t          *root, *v;
    llm_messages_ctx_t   c;

    memset(m, 0, sizeof(llm_messages_t));
    memset(&c, 0, sizeof(llm_messages_ctx_t));

    c.base = p;
    c.m = m;
    c.e = e;

    root = llm_json_parse(p, n, &off);

    if (root == NULL) {
        llm_error_invalid_json(e, p, n, off);
        return LLM_ERROR;
    }

    rc = LLM_ERROR;

    if (!cJSON_IsObject(root)) {
        llm_error_set(e, 400, NULL, "invalid_request_error",
                      "The request body must be a JSON object.");
        goto done;
    }

    /* the model's bytes, for the body sent to Anthropic as it is */

    if (llm_json_scan(p, n, 1, llm_messages_model, &c) == LLM_ERROR
        || m->model_end == 0)
    {
        llm_error_set(e, 400, "model", "invalid_request_error",
                      "model: Field required (a string).");
        goto done;
    }

    m->model = strdup(llm_json_get_str(root, "model"));

    c.out = cJSON_CreateObject();
    c.msgs = cJSON_CreateArray();

    if (m->model == NULL || c.out == NULL || c.msgs == NULL
        || !cJSON_AddStringToObject(c.out, "model", m->model))
    {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        cJSON_Delete(c.msgs);
        goto done;
    }

    cJSON_AddItemToObject(c.out, "messages", c.msgs);

    v = llm_json_get(root, "system");

    if (llm_messages_params(&c, root, flags) != LLM_OK
        || (v && !cJSON_IsNull(v) && llm_messages_system(&c, v) != LLM_OK)
        || llm_messages_turns(&c, llm_json_get(root, "messages")) != LLM_OK
        || llm_messages_tools(&c, llm_json_get(root, "tools")) != LLM_OK
        || llm_messages_tool_choice(&c, llm_json_get(root, "tool_choice"))
           != LLM_OK
        || llm_messages_thinking(&c, llm_json_get(root, "thinking"))
           != LLM_OK)
    {
        goto done;
    }

    /* the gateway's own member: templates work on the internal form */

    v = llm_json_get(root, "template");

    if (v) {
        cJSON_AddItemToObject(c.out, "template",
                              cJSON_Duplicate(v, 1));
    }

    if (llm_json_print(c.out, &m->chat) != LLM_OK) {
        llm_error_set(e, 500, NULL, "api_error", "Out of memory.");
        goto done;
    }

    rc = LLM_OK;

done:

    cJSON_Delete(c.out);
    llm_json_free(root);

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
llm_messages_model(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_messages_ctx_t  *c = data;

    if (depth == 1 && llm_json_step_is(&path[0], "model")
        && type == LLM_JSON_STRING && c->m->model_end == 0)
    {
        c->m->model_start = start - c->base;
        c->m->model_end = end - c->base;
    }

    return LLM_OK;
}


static int
llm_messages_fail(llm_messages_ctx_t *c, const char *fmt, ...)
{
    char     msg[LLM_ERR_MSG_LEN / 2];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    llm_error_set(c->e, 400, c->path[0] ? c->path : NULL,
                  "invalid_request_error", "%s%s%s",
                  c->path, c->path[0] ? ": " : "", msg);

    return LLM_ERROR;
}


#define llm_messages_at(c, ...)                                               \
    snprintf((c)->path, sizeof((c)->path), __VA_ARGS__)


/* the scalar members: checked as Anthropic does, then carried over */

static int
llm_messages_params(llm_messages_ctx_t *c, llm_json_t *root, int flags)
{
    static const struct {
        const char  *name;
        const char  *to;             /* NULL: checked, not carried */
        double       min;
        double       max;
        int          integer;
    } nums[] = {
        { "max_tokens", "max_tokens", 1, 1e9, 1 },
        { "temperature", "temperature", 0, 1, 0 },
        { "top_p", "top_p", 0, 1, 0 },
        { "top_k", NULL, 0, 1e9, 1 },
    };

    size_t       i, k;
    llm_json_t  *v, *s, *stop;
    const char  *user;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        v = llm_json_get(root, nums[i].name);
        llm_messages_at(c, "%s", nums[i].name);

        if (v == NULL || cJSON_IsNull(v)) {
            if (i == 0 && !(flags & LLM_MESSAGES_COUNT)) {
                return llm_messages_fail(c, "Field required");
            }

            continue;
        }

        if (!cJSON_IsNumber(v)) {
            return llm_messages_fail(c, "Input should be a valid %s",
                                     nums[i].integer ? "integer" : "number");
        }

        if (v->valuedouble < nums[i].min || v->valuedouble > nums[i].max) {
            return llm_messages_fail(c, "Input should be between %g and %g",
                                     nums[i].min, nums[i].max);
        }

        /* in range: the cast is defined */
        if (nums[i].integer
            && v->valuedouble != (double) (long long) v->valuedouble)
        {
            return llm_messages_fail(c, "Input should be a valid integer");
        }

        if (nums[i].to && !(flags & LLM_MESSAGES_COUNT)
            && cJSON_AddItemToObject(c->out, nums[i].to,
                                     cJSON_CreateNumber(v->valuedouble))
               == 0)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get(root, "stream");
    llm_messages_at(c, "stream");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) {
            return llm_messages_fail(c, "Input should be a valid boolean");
        }

        c->m->stream = cJSON_IsTrue(v);

        if (c->m->stream && !(flags & LLM_MESSAGES_COUNT)) {
            cJSON_AddTrueToObject(c->out, "stream");
        }
    }

    stop = llm_json_get(root, "stop_sequences");
    llm_messages_at(c, "stop_sequences");

    if (stop && !cJSON_IsNull(stop)) {
        if (!cJSON_IsArray(stop)) {
            return llm_messages_fail(c, "Input should be a valid list");
        }

        k = 0;

        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s)) {
                llm_messages_at(c, "stop_sequences.%zu", k);
                return llm_messages_fail(c, "Input should be a valid string");
            }

            k++;
        }

        if (k && !(flags & LLM_MESSAGES_COUNT)) {
            cJSON_AddItemToObject(c->out, "stop", cJSON_Duplicate(stop, 1));
        }
    }

    v = llm_json_get(root, "metadata");
    llm_messages_at(c, "metadata");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return llm_messages_fail(c, "Input should be a valid dictionary");
        }

        s = llm_json_get(v, "user_id");
        user = cJSON_IsString(s) ? s->valuestring : NULL;

        if (s && !cJSON_IsNull(s) && user == NULL) {
            llm_messages_at(c, "metadata.user_id");
            return llm_messages_fail(c, "Input should be a valid string");
        }

        if (user && user[0] && !(flags & LLM_MESSAGES_COUNT)) {
            cJSON_AddStringToObject(c->out, "user", user);
        }
    }

    c->path[0] = '\0';

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
        llm_messages_at(c, "%s", where);
        return llm_messages_fail(c, "Input should be a valid string or a "
                                    "list of text blocks");
    }

    i = 0;

    cJSON_ArrayForEach(block, v) {
        llm_messages_at(c, "%s.%d", where, i++);

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


static int
llm_messages_add(llm_messages_ctx_t *c, const char *role, llm_json_t *content)
{
    llm_json_t  *msg;

    msg = cJSON_CreateObject();
    if (msg == NULL) {
        cJSON_Delete(content);
        return LLM_ERROR;
    }

    cJSON_AddStringToObject(msg, "role", role);

    if (content) {
        cJSON_AddItemToObject(msg, "content", content);
    }

    cJSON_AddItemToArray(c->msgs, msg);

    return LLM_OK;
}


static llm_json_t *
llm_messages_string(llm_buf_t *b)
{
    llm_json_t  *s;

    if (llm_buf_append_lit(b, "\0") != LLM_OK) {
        return NULL;
    }

    s = cJSON_CreateString(b->data);
    llm_buf_free(b);

    return s;
}


static int
llm_messages_system(llm_messages_ctx_t *c, llm_json_t *system)
{
    llm_buf_t  text;

    memset(&text, 0, sizeof(llm_buf_t));

    if (llm_messages_text_of(c, system, &text, "system") != LLM_OK) {
        llm_buf_free(&text);
        return LLM_ERROR;
    }

    if (text.len == 0) {
        llm_buf_free(&text);
        return LLM_OK;
    }

    return llm_messages_add(c, "system", llm_messages_string(&text));
}


static int
llm_messages_turns(llm_messages_ctx_t *c, llm_json_t *messages)
{
    int          i;
    llm_json_t  *msg, *content, *block;
    const char  *role;

    llm_messages_at(c, "messages");

    if (!cJSON_IsArray(messages)) {
        return llm_messages_fail(c, "Field required (a list of messages)");
    }

    if (cJSON_GetArraySize(messages) == 0) {
        return llm_messages_fail(c, "at least one message is required");
    }

    i = 0;

    cJSON_ArrayForEach(msg, messages) {
        llm_messages_at(c, "messages.%d", i);

        if (!cJSON_IsObject(msg)) {
            return llm_messages_fail(c, "Input should be a valid dictionary");
        }

        role = llm_json_get_str(msg, "role");
        content = llm_json_get(msg, "content");

        if (role == NULL
            || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
        {
            llm_messages_at(c, "messages.%d.role", i);
            return llm_messages_fail(c, "Input should be 'user' or "
                                        "'assistant'");
        }

        if (cJSON_IsString(content)) {
            if (llm_messages_add(c, role,
                                 cJSON_CreateString(content->valuestring))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            i++;
            continue;
        }

        llm_messages_at(c, "messages.%d.content", i);

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

    c->path[0] = '\0';

    return LLM_OK;
}


static int
llm_messages_user(llm_messages_ctx_t *c, int i, llm_json_t *content)
{
    int          j, ntext;
    llm_json_t  *block, *parts, *part, *text, *only;
    const char  *type;

    parts = cJSON_CreateArray();
    if (parts == NULL) {
        return LLM_ERROR;
    }

    ntext = 0;
    only = NULL;
    j = 0;

    cJSON_ArrayForEach(block, content) {
        llm_messages_at(c, "messages.%d.content.%d", i, j++);

        type = llm_json_get_str(block, "type");
        part = NULL;

        if (strcmp(type, "text") == 0) {
            text = llm_json_get(block, "text");

            if (!cJSON_IsString(text)) {
                cJSON_Delete(parts);
                return llm_messages_fail(c, "text: Input should be a valid "
                                            "string");
            }

            part = cJSON_CreateObject();
            cJSON_AddStringToObject(part, "type", "text");
            cJSON_AddStringToObject(part, "text", text->valuestring);
            only = text;
            ntext++;

        } else if (strcmp(type, "image") == 0) {
            part = llm_messages_image(c, block);

            if (part == NULL) {
                cJSON_Delete(parts);
                return LLM_ERROR;
            }

        } else if (strcmp(type, "tool_result") == 0) {
            if (llm_messages_tool_result(c, block) != LLM_OK) {
                cJSON_Delete(parts);
                return LLM_ERROR;
            }

        } else if (strcmp(type, "thinking") == 0
                   || strcmp(type, "redacted_thinking") == 0)
        {
            /* Claude's own: it reads them in the client's body */

        } else {
            llm_messages_native(c, "the content block type", type);
        }

        if (part) {
            cJSON_AddItemToArray(parts, part);
        }
    }

    if (cJSON_GetArraySize(parts) == 0) {
        cJSON_Delete(parts);
        return LLM_OK;
    }

    /* one text block: a string, the internal form's fast shape */

    if (ntext == 1 && cJSON_GetArraySize(parts) == 1) {
        cJSON_Delete(parts);
        return llm_messages_add(c, "user",
                                cJSON_CreateString(only->valuestring));
    }

    return llm_messages_add(c, "user", parts);
}


static llm_json_t *
llm_messages_image(llm_messages_ctx_t *c, llm_json_t *block)
{
    llm_buf_t    url;
    llm_json_t  *src, *part, *image;
    const char  *type, *media, *data;

    memset(&url, 0, sizeof(llm_buf_t));

    src = llm_json_get_obj(block, "source");
    type = llm_json_get_str(src, "type");

    if (type && strcmp(type, "base64") == 0) {
        media = llm_json_get_str(src, "media_type");
        data = llm_json_get_str(src, "data");

        if (media == NULL || data == NULL) {
            llm_messages_fail(c, "source: a base64 image needs "
                                 "\"media_type\" and \"data\"");
            return NULL;
        }

        if (llm_buf_append_lit(&url, "data:") != LLM_OK
            || llm_buf_append_cstr(&url, media) != LLM_OK
            || llm_buf_append_lit(&url, ";base64,") != LLM_OK
            || llm_buf_append_cstr(&url, data) != LLM_OK)
        {
            llm_buf_free(&url);
            return NULL;
        }

    } else if (type && strcmp(type, "url") == 0
               && llm_json_get_str(src, "url"))
    {
        if (llm_buf_append_cstr(&url, llm_json_get_str(src, "url"))
            != LLM_OK)
        {
            return NULL;
        }

    } else {
        llm_messages_fail(c, "source: Input should be a base64 or url "
                             "image source");
        return NULL;
    }

    part = cJSON_CreateObject();
    image = cJSON_CreateObject();

    if (part == NULL || image == NULL) {
        cJSON_Delete(part);
        cJSON_Delete(image);
        llm_buf_free(&url);
        return NULL;
    }

    cJSON_AddStringToObject(part, "type", "image_url");
    cJSON_AddItemToObject(image, "url", llm_messages_string(&url));
    cJSON_AddItemToObject(part, "image_url", image);

    return part;
}


/* a tool's answer: a tool message (text; an error says so) */

static int
llm_messages_tool_result(llm_messages_ctx_t *c, llm_json_t *block)
{
    size_t       start;
    llm_buf_t    text;
    llm_json_t  *msg, *content, *b;
    const char  *id, *type;

    id = llm_json_get_str(block, "tool_use_id");

    if (id == NULL) {
        return llm_messages_fail(c, "tool_use_id: Field required");
    }

    memset(&text, 0, sizeof(llm_buf_t));

    if (cJSON_IsTrue(llm_json_get(block, "is_error"))
        && llm_buf_append_lit(&text, "Error: ") != LLM_OK)
    {
        return LLM_ERROR;
    }

    content = llm_json_get(block, "content");

    if (cJSON_IsString(content)) {
        if (llm_buf_append_cstr(&text, content->valuestring) != LLM_OK) {
            llm_buf_free(&text);
            return LLM_ERROR;
        }

    } else if (cJSON_IsArray(content)) {
        start = text.len;

        cJSON_ArrayForEach(b, content) {
            type = llm_json_get_str(b, "type");

            if (type && strcmp(type, "text") == 0
                && llm_json_get_str(b, "text"))
            {
                if ((text.len > start
                     && llm_buf_append_lit(&text, "\n") != LLM_OK)
                    || llm_buf_append_cstr(&text, llm_json_get_str(b, "text"))
                       != LLM_OK)
                {
                    llm_buf_free(&text);
                    return LLM_ERROR;
                }

            } else {
                llm_messages_native(c, "a tool result's block type",
                                    type ? type : "(none)");
            }
        }

    } else if (content && !cJSON_IsNull(content)) {
        llm_buf_free(&text);
        return llm_messages_fail(c, "content: Input should be a valid "
                                    "string or list of blocks");
    }

    msg = cJSON_CreateObject();
    if (msg == NULL) {
        llm_buf_free(&text);
        return LLM_ERROR;
    }

    cJSON_AddStringToObject(msg, "role", "tool");
    cJSON_AddStringToObject(msg, "tool_call_id", id);
    cJSON_AddItemToObject(msg, "content", llm_messages_string(&text));
    cJSON_AddItemToArray(c->msgs, msg);

    return LLM_OK;
}


static int
llm_messages_assistant(llm_messages_ctx_t *c, int i, llm_json_t *content)
{
    int          j;
    char        *args;
    llm_buf_t    text;
    llm_json_t  *block, *msg, *calls, *call, *fn, *input;
    const char  *type, *id, *name;

    memset(&text, 0, sizeof(llm_buf_t));

    calls = cJSON_CreateArray();
    if (calls == NULL) {
        return LLM_ERROR;
    }

    j = 0;

    cJSON_ArrayForEach(block, content) {
        llm_messages_at(c, "messages.%d.content.%d", i, j++);

        type = llm_json_get_str(block, "type");

        if (strcmp(type, "text") == 0) {
            if (!cJSON_IsString(llm_json_get(block, "text"))) {
                llm_messages_fail(c, "text: Input should be a valid string");
                goto failed;
            }

            if (llm_buf_append_cstr(&text, llm_json_get_str(block, "text"))
                != LLM_OK)
            {
                goto failed;
            }

        } else if (strcmp(type, "tool_use") == 0) {
            id = llm_json_get_str(block, "id");
            name = llm_json_get_str(block, "name");
            input = llm_json_get(block, "input");

            if (id == NULL || name == NULL || !cJSON_IsObject(input)) {
                llm_messages_fail(c, "a tool_use block needs a string "
                                     "\"id\" and \"name\" and an object "
                                     "\"input\"");
                goto failed;
            }

            args = cJSON_PrintUnformatted(input);
            call = cJSON_CreateObject();
            fn = cJSON_CreateObject();

            if (args == NULL || call == NULL || fn == NULL) {
                cJSON_free(args);
                cJSON_Delete(call);
                cJSON_Delete(fn);
                goto failed;
            }

            cJSON_AddStringToObject(call, "id", id);
            cJSON_AddStringToObject(call, "type", "function");
            cJSON_AddStringToObject(fn, "name", name);
            cJSON_AddStringToObject(fn, "arguments", args);
            cJSON_AddItemToObject(call, "function", fn);
            cJSON_AddItemToArray(calls, call);
            cJSON_free(args);

        } else if (strcmp(type, "thinking") == 0
                   || strcmp(type, "redacted_thinking") == 0)
        {
            /* signed for Claude only: other providers never see them */

        } else {
            llm_messages_native(c, "the content block type", type);
        }
    }

    msg = cJSON_CreateObject();
    if (msg == NULL) {
        goto failed;
    }

    cJSON_AddStringToObject(msg, "role", "assistant");

    if (text.len) {
        cJSON_AddItemToObject(msg, "content", llm_messages_string(&text));

    } else {
        cJSON_AddNullToObject(msg, "content");
    }

    if (cJSON_GetArraySize(calls)) {
        cJSON_AddItemToObject(msg, "tool_calls", calls);

    } else {
        cJSON_Delete(calls);
    }

    cJSON_AddItemToArray(c->msgs, msg);

    return LLM_OK;

failed:

    llm_buf_free(&text);
    cJSON_Delete(calls);

    return LLM_ERROR;
}


static int
llm_messages_tools(llm_messages_ctx_t *c, llm_json_t *tools)
{
    int          i;
    llm_json_t  *tool, *out, *t, *fn, *schema;
    const char  *name, *type, *desc;

    if (tools == NULL || cJSON_IsNull(tools)) {
        return LLM_OK;
    }

    llm_messages_at(c, "tools");

    if (!cJSON_IsArray(tools)) {
        return llm_messages_fail(c, "Input should be a valid list");
    }

    out = cJSON_CreateArray();
    if (out == NULL) {
        return LLM_ERROR;
    }

    i = 0;

    cJSON_ArrayForEach(tool, tools) {
        llm_messages_at(c, "tools.%d", i++);

        type = llm_json_get_str(tool, "type");

        if (type && strcmp(type, "custom") != 0) {
            /* a server tool (web search, code execution, ...) */
            llm_messages_native(c, "the tool type", type);
            continue;
        }

        name = llm_json_get_str(tool, "name");
        schema = llm_json_get_obj(tool, "input_schema");

        if (name == NULL || schema == NULL) {
            cJSON_Delete(out);
            return llm_messages_fail(c, "a tool needs a string \"name\" and "
                                        "an object \"input_schema\"");
        }

        t = cJSON_CreateObject();
        fn = cJSON_CreateObject();

        if (t == NULL || fn == NULL) {
            cJSON_Delete(t);
            cJSON_Delete(fn);
            cJSON_Delete(out);
            return LLM_ERROR;
        }

        cJSON_AddStringToObject(t, "type", "function");
        cJSON_AddStringToObject(fn, "name", name);

        desc = llm_json_get_str(tool, "description");
        if (desc) {
            cJSON_AddStringToObject(fn, "description", desc);
        }

        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(schema, 1));
        cJSON_AddItemToObject(t, "function", fn);
        cJSON_AddItemToArray(out, t);
    }

    c->path[0] = '\0';

    if (cJSON_GetArraySize(out) == 0) {
        cJSON_Delete(out);
        return LLM_OK;
    }

    cJSON_AddItemToObject(c->out, "tools", out);

    return LLM_OK;
}


static int
llm_messages_tool_choice(llm_messages_ctx_t *c, llm_json_t *choice)
{
    llm_json_t  *fn, *obj;
    const char  *type, *name;

    if (choice == NULL || cJSON_IsNull(choice)) {
        return LLM_OK;
    }

    llm_messages_at(c, "tool_choice");

    type = llm_json_get_str(choice, "type");

    if (!cJSON_IsObject(choice) || type == NULL) {
        return llm_messages_fail(c, "Input should be an object with a "
                                    "\"type\"");
    }

    if (strcmp(type, "tool") == 0) {
        name = llm_json_get_str(choice, "name");

        if (name == NULL) {
            return llm_messages_fail(c, "name: Field required");
        }

        obj = cJSON_CreateObject();
        fn = cJSON_CreateObject();

        if (obj == NULL || fn == NULL) {
            cJSON_Delete(obj);
            cJSON_Delete(fn);
            return LLM_ERROR;
        }

        cJSON_AddStringToObject(obj, "type", "function");
        cJSON_AddStringToObject(fn, "name", name);
        cJSON_AddItemToObject(obj, "function", fn);

    } else if (strcmp(type, "auto") == 0 || strcmp(type, "any") == 0
               || strcmp(type, "none") == 0)
    {
        obj = cJSON_CreateString(type[0] == 'a' && type[1] == 'n'
                                 ? "required" : type);

    } else {
        return llm_messages_fail(c, "type: Input should be 'auto', 'any', "
                                    "'tool' or 'none'");
    }

    c->path[0] = '\0';

    /* no tools left for the internal form: the choice means nothing */

    if (llm_json_get(c->out, "tools") == NULL) {
        cJSON_Delete(obj);
        return LLM_OK;
    }

    cJSON_AddItemToObject(c->out, "tool_choice", obj);

    if (cJSON_IsTrue(llm_json_get(choice, "disable_parallel_tool_use"))) {
        cJSON_AddFalseToObject(c->out, "parallel_tool_calls");
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

    llm_messages_at(c, "thinking");

    type = llm_json_get_str(thinking, "type");

    if (!cJSON_IsObject(thinking) || type == NULL) {
        return llm_messages_fail(c, "Input should be an object with a "
                                    "\"type\"");
    }

    if (strcmp(type, "disabled") == 0) {
        c->path[0] = '\0';
        return LLM_OK;
    }

    if (strcmp(type, "enabled") == 0) {
        budget = llm_json_get_int(thinking, "budget_tokens");

        if (budget < 1024) {
            llm_messages_at(c, "thinking.budget_tokens");
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

    c->path[0] = '\0';

    if (!cJSON_AddStringToObject(c->out, "reasoning_effort", effort)) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static void
llm_messages_native(llm_messages_ctx_t *c, const char *what,
    const char *name)
{
    if (c->m->native[0]) {
        return;
    }

    snprintf(c->m->native, sizeof(c->m->native), "%s '%s' (%s)", what,
             name, c->path);
}
