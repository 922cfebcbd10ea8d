/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The tests' oracle for the request path: the builders the "anthropic"
 * and "gemini" dialects had before they read the request's spans
 * (src/core/llm_anthropic_request.c, llm_gemini_request.c), as they
 * were, reading the whole request as a tree.  Kept unchanged, beside
 * the node-level helpers they share with the dialects (content parts,
 * tool calls, images, tools), so that the one path is checked against
 * what it replaced: test_request_path.c and fuzz_request.c compare the
 * two by meaning on every request both take.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_gemini.h"
#include "llm_json_scan.h"
#include "oracle.h"


#define LLM_ANTHROPIC_MIN_BUDGET     1024


/* anthropic */


static int oracle_anthropic_tools(llm_request_t *req, llm_json_t *root,
    llm_json_t *rf, llm_buf_t *b);
static int oracle_anthropic_tool_choice(llm_json_t *root, llm_json_t *rf,
    llm_buf_t *b);


typedef struct {
    llm_request_t  *req;
    const char   *role;         /* of the open turn; NULL: none yet */
    llm_buf_t     lead;         /* its tool_result blocks, each ",{…}" */
    llm_buf_t     rest;         /* its other blocks */
    llm_buf_t     mlead;        /* the same for the message at hand */
    llm_buf_t     mrest;
    int           turns;
} oracle_anthropic_turns_t;


/* a role:"tool" message; its content, when it has any, as text */

static int
oracle_anthropic_tool_result(llm_json_t *m, llm_buf_t *b)
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
oracle_anthropic_flush(oracle_anthropic_turns_t *t, llm_buf_t *b)
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
oracle_anthropic_message(oracle_anthropic_turns_t *t, llm_json_t *m,
    llm_buf_t *b)
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

        if (oracle_anthropic_tool_result(m, &t->mlead) != LLM_OK) {
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
        if (oracle_anthropic_flush(t, b) != LLM_OK) {
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
oracle_anthropic_messages(llm_request_t *req, llm_json_t *msgs, llm_buf_t *b)
{
    int                     rc;
    llm_json_t             *m;
    oracle_anthropic_turns_t   t;

    memset(&t, 0, sizeof(oracle_anthropic_turns_t));
    t.req = req;

    rc = LLM_OK;

    cJSON_ArrayForEach(m, msgs) {
        rc = oracle_anthropic_message(&t, m, b);

        if (rc != LLM_OK) {
            break;
        }
    }

    if (rc == LLM_OK) {
        rc = oracle_anthropic_flush(&t, b);
    }

    llm_buf_free(&t.lead);
    llm_buf_free(&t.rest);
    llm_buf_free(&t.mlead);
    llm_buf_free(&t.mrest);

    return rc;
}


static int
oracle_anthropic_system_part(llm_buf_t *b, const char *text, int *first)
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

    return llm_buf_append_json_inner(b, text, strlen(text));
}


/* system and developer texts, joined with "\n\n", as "system" */

static int
oracle_anthropic_system(llm_json_t *msgs, llm_buf_t *b)
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
            if (oracle_anthropic_system_part(b, content->valuestring, &first)
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

            if (oracle_anthropic_system_part(b, llm_json_get_str(part, "text"),
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

static long long
oracle_anthropic_budget(llm_json_t *root)
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
oracle_anthropic_tool_round(llm_json_t *msgs)
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
oracle_anthropic_thinking(llm_json_t *root)
{
    long long  budget;

    budget = oracle_anthropic_budget(root);

    if (budget && oracle_anthropic_tool_round(llm_json_get_arr(root,
                                                            "messages")))
    {
        return 0;
    }

    return budget;
}


/* the body */


static int
oracle_anthropic_stop(llm_json_t *v, llm_buf_t *b)
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
oracle_anthropic_build(llm_request_t *req, llm_json_t *root,
    const char *upstream_model, llm_buf_t *b)
{
    double       t;
    long long    max, budget;
    llm_json_t  *v, *msgs, *rf;

    msgs = llm_json_get_arr(root, "messages");
    rf = llm_anthropic_json_format(root);
    budget = oracle_anthropic_thinking(root);

    if (llm_buf_append_lit(b, "{\"model\":") != LLM_OK
        || llm_anthropic_str(b, upstream_model) != LLM_OK
        || (msgs && oracle_anthropic_system(msgs, b) != LLM_OK)
        || llm_buf_append_lit(b, ",\"messages\":[") != LLM_OK
        || (msgs && oracle_anthropic_messages(req, msgs, b) != LLM_OK)
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

    if (oracle_anthropic_stop(llm_json_get(root, "stop"), b) != LLM_OK) {
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

    if (oracle_anthropic_tools(req, root, rf, b) != LLM_OK
        || oracle_anthropic_tool_choice(root, rf, b) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (req->stream && llm_buf_append_lit(b, ",\"stream\":true") != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}");
}


static int
oracle_anthropic_json_tool(llm_request_t *req, llm_json_t *rf, llm_buf_t *b)
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
        || (schema ? llm_request_print(req, schema, b)
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
oracle_anthropic_call_name(llm_json_t *call)
{
    return llm_json_get_str(llm_json_get_obj(call, "function"), "name");
}


/* the calls of the history that become tool_use blocks */

#define llm_anthropic_history_call(m, call)                                  \
    (llm_anthropic_is(llm_json_get_str(m, "role"), "assistant")              \
     && oracle_anthropic_call_name(call) && llm_json_get_str(call, "id"))


/*
 * Anthropic refuses tool_use blocks in a request without tools: when the
 * client sent none, the tools its history called are declared (any object
 * as input), and tool_choice "none" keeps the model from calling them.
 * *n: how many.
 */

static int
oracle_anthropic_history_tools(llm_json_t *msgs, llm_buf_t *b, int *n)
{
    int           i, rc;
    void         *p;
    size_t        nalloc;
    llm_json_t   *m, *call;
    const char   *name, **names;

    /* the names declared: a history repeats a few tools many times */
    names = NULL;
    nalloc = 0;
    rc = LLM_OK;

    cJSON_ArrayForEach(m, msgs) {
        cJSON_ArrayForEach(call, llm_json_get_arr(m, "tool_calls")) {
            if (!llm_anthropic_history_call(m, call)) {
                continue;
            }

            name = oracle_anthropic_call_name(call);

            for (i = 0; i < *n && strcmp(names[i], name) != 0; i++) {
                /* void */
            }

            if (i < *n) {
                continue;
            }

            if ((size_t) *n == nalloc) {
                nalloc = nalloc ? 2 * nalloc : 16;
                p = realloc(names, nalloc * sizeof(char *));

                if (p == NULL) {
                    rc = LLM_ERROR;
                    goto done;
                }

                names = p;
            }

            names[(*n)++] = name;

            if (llm_buf_append_cstr(b, *n > 1 ? ",{\"name\":"
                                              : ",\"tools\":[{\"name\":")
                != LLM_OK
                || llm_anthropic_str(b, name) != LLM_OK
                || llm_buf_append_lit(b, ",\"description\":\"Called earlier "
                                         "in this conversation.\","
                                         "\"input_schema\":"
                                         "{\"type\":\"object\"}}")
                   != LLM_OK)
            {
                rc = LLM_ERROR;
                goto done;
            }
        }
    }

done:

    free(names);

    return rc;
}


static int
oracle_anthropic_tools(llm_request_t *req, llm_json_t *root, llm_json_t *rf,
    llm_buf_t *b)
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
            || (params ? llm_request_print(req, params, b)
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

        if (oracle_anthropic_history_tools(llm_json_get_arr(root, "messages"),
                                        b, &n) != LLM_OK)
        {
            return LLM_ERROR;
        }

        first = (n == 0);
    }

    if (rf) {
        if (llm_buf_append_cstr(b, first ? ",\"tools\":[" : ",") != LLM_OK
            || oracle_anthropic_json_tool(req, rf, b) != LLM_OK)
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


/* 1 if the history has a call oracle_anthropic_history_tools() declares */

static int
oracle_anthropic_history_calls(llm_json_t *root)
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


static int
oracle_anthropic_tool_choice(llm_json_t *root, llm_json_t *rf, llm_buf_t *b)
{
    int          tools, no_parallel;
    llm_json_t  *choice, *v;
    const char  *type, *name;

    tools = llm_anthropic_has_tools(root);

    if (!tools && rf == NULL) {
        if (!oracle_anthropic_history_calls(root)) {
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


/* gemini */


/* the turns of "contents": consecutive parts of one role are merged */

typedef struct {
    llm_request_t  *req;
    llm_buf_t      *body;
    const char     *role;       /* the open turn's role, or NULL */
} oracle_gemini_turns_t;


static int
oracle_gemini_part(oracle_gemini_turns_t *t, const char *role)
{
    if (t->role && strcmp(t->role, role) == 0) {
        /* Gemini wants the roles to alternate: merge */
        return llm_buf_append_lit(t->body, ",");
    }

    if ((t->role && llm_buf_append_lit(t->body, "]},") != LLM_OK)
        || llm_buf_append_lit(t->body, "{\"role\":\"") != LLM_OK
        || llm_buf_append_cstr(t->body, role) != LLM_OK
        || llm_buf_append_lit(t->body, "\",\"parts\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    t->role = role;

    return LLM_OK;
}


static int
oracle_gemini_text_part(oracle_gemini_turns_t *t, const char *role,
    llm_buf_t *text)
{
    if (oracle_gemini_part(t, role) != LLM_OK
        || llm_buf_append_lit(t->body, "{\"text\":") != LLM_OK
        || llm_buf_append_json_string(t->body, text->data, text->len)
           != LLM_OK
        || llm_buf_append_lit(t->body, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    llm_buf_reset(text);

    return LLM_OK;
}


static int
oracle_gemini_inline_part(oracle_gemini_turns_t *t, const char *role,
    const char *mime, size_t mime_len, const char *data, size_t data_len,
    int file)
{
    if (oracle_gemini_part(t, role) != LLM_OK
        || llm_buf_append_cstr(t->body,
                               file ? "{\"fileData\":{\"mimeType\":"
                                    : "{\"inlineData\":{\"mimeType\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, mime, mime_len) != LLM_OK
        || llm_buf_append_cstr(t->body, file ? ",\"fileUri\":" : ",\"data\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, data, data_len) != LLM_OK
        || llm_buf_append_lit(t->body, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The parts of one OpenAI content (a string or content parts): adjacent
 * text parts are joined into one text part, images and audio become
 * inlineData / fileData parts in their place.  *found: some part was
 * written; an empty string content still gives an empty text part
 * unless skip_empty.
 */

static int
oracle_gemini_content(oracle_gemini_turns_t *t, const char *role,
    llm_json_t *content, int skip_empty, llm_buf_t *text, int *found)
{
    int                  have;
    llm_json_t          *part, *audio;
    const char          *type, *s, *url, *fmt;
    llm_gemini_image_t   im;

    llm_buf_reset(text);

    if (cJSON_IsString(content)) {
        if (content->valuestring[0] == '\0' && skip_empty) {
            return LLM_OK;
        }

        *found = 1;

        return llm_buf_append_cstr(text, content->valuestring) != LLM_OK
               ? LLM_ERROR : oracle_gemini_text_part(t, role, text);
    }

    if (!cJSON_IsArray(content)) {
        return LLM_OK;
    }

    have = 0;

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");
        s = cJSON_IsString(part) ? part->valuestring
                                 : llm_json_get_str(part, "text");

        if (s && (type == NULL || strcmp(type, "text") == 0)) {
            if (llm_buf_append_cstr(text, s) != LLM_OK) {
                return LLM_ERROR;
            }

            have = 1;
            continue;
        }

        if (type == NULL) {
            continue;
        }

        if (have && (text->len || !skip_empty)) {
            if (oracle_gemini_text_part(t, role, text) != LLM_OK) {
                return LLM_ERROR;
            }

            *found = 1;
        }

        have = 0;

        if (strcmp(type, "image_url") == 0) {
            url = llm_gemini_image_url(part);

            if (url == NULL || llm_gemini_image(url, &im) != NULL) {
                /* refused by the check hook */
                continue;
            }

            if (oracle_gemini_inline_part(t, role, im.mime, im.mime_len,
                                       im.data, im.data_len, im.file)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            *found = 1;

        } else if (strcmp(type, "input_audio") == 0) {
            audio = llm_json_get_obj(part, "input_audio");
            s = llm_json_get_str(audio, "data");
            fmt = llm_json_get_str(audio, "format");

            if (s == NULL || fmt == NULL) {
                continue;
            }

            fmt = (strcmp(fmt, "mp3") == 0) ? "audio/mp3" : "audio/wav";

            if (oracle_gemini_inline_part(t, role, fmt, strlen(fmt), s,
                                       strlen(s), 0)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            *found = 1;
        }
    }

    if (have && (text->len || !skip_empty)) {
        *found = 1;
        return oracle_gemini_text_part(t, role, text);
    }

    return LLM_OK;
}


/*
 * Thought signatures ride in the tool-call ids the gateway mints
 * (llm_gemini.c): "call_<16 hex>_<signature in base64url, no
 * padding>".  Back to standard base64 with padding, as Gemini sent it.
 */

static int
oracle_gemini_id_signature(const char *id, llm_buf_t *sig)
{
    size_t  i, n;
    char    c;

    if (strncmp(id, "call_", 5) != 0 || strlen(id) < 23 || id[21] != '_') {
        return LLM_DECLINED;
    }

    for (i = 5; i < 21; i++) {
        c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return LLM_DECLINED;
        }
    }

    id += 22;
    n = strlen(id);

    for (i = 0; i < n; i++) {
        c = id[i];

        if (c == '-') {
            c = '+';

        } else if (c == '_') {
            c = '/';

        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
                     || (c >= 'A' && c <= 'Z')))
        {
            llm_buf_reset(sig);
            return LLM_DECLINED;
        }

        if (llm_buf_append(sig, &c, 1) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    for ( /* void */ ; n % 4; n++) {
        if (llm_buf_append_lit(sig, "=") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


static int
oracle_gemini_function_calls(oracle_gemini_turns_t *t, llm_json_t *calls,
    llm_buf_t *tmp)
{
    int          rc;
    llm_json_t  *call, *fn;
    const char  *name, *id, *sig, *args;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        /* the object as the client wrote it: valid, no tree needed */

        args = llm_request_call_args(t->req, call);

        if (args == NULL) {
            /* refused by the check hook; never sent */
            args = "{}";
        }

        rc = oracle_gemini_part(t, "model");

        if (rc == LLM_OK
            && (llm_buf_append_lit(t->body, "{\"functionCall\":{\"name\":")
                != LLM_OK
                || llm_buf_append_json_string(t->body, name, strlen(name))
                   != LLM_OK
                || llm_buf_append_lit(t->body, ",\"args\":") != LLM_OK
                || llm_buf_append_cstr(t->body, args) != LLM_OK
                || llm_buf_append_lit(t->body, "}") != LLM_OK))
        {
            rc = LLM_ERROR;
        }

        if (rc != LLM_OK) {
            return LLM_ERROR;
        }

        /* the signature: from the id, or Gemini's own OpenAI field */

        llm_buf_reset(tmp);
        id = llm_json_get_str(call, "id");
        sig = llm_json_get_str(llm_json_get_obj(llm_json_get_obj(call,
                                   "extra_content"), "google"),
                               "thought_signature");

        rc = id ? oracle_gemini_id_signature(id, tmp) : LLM_DECLINED;

        if (rc == LLM_ERROR) {
            return LLM_ERROR;
        }

        if (rc == LLM_DECLINED && sig) {
            llm_buf_reset(tmp);

            if (llm_buf_append_cstr(tmp, sig) != LLM_OK) {
                return LLM_ERROR;
            }
        }

        if (tmp->len
            && (llm_buf_append_lit(t->body, ",\"thoughtSignature\":")
                != LLM_OK
                || llm_buf_append_json_string(t->body, tmp->data, tmp->len)
                   != LLM_OK))
        {
            return LLM_ERROR;
        }

        if (llm_buf_append_lit(t->body, "}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* the name of the function an earlier assistant turn called with id */

static const char *
oracle_gemini_call_name(llm_json_t *messages, llm_json_t *upto, const char *id)
{
    int          found;
    llm_json_t  *first, *msg, *call;
    const char  *s, *name;

    first = messages ? messages->child : NULL;

    if (first == NULL || upto == first) {
        return NULL;
    }

    /*
     * Backwards from the message before upto: the latest call is the
     * nearest (a history of tool rounds would be searched once a result
     * from its start).  cJSON's first element's prev is the last one.
     */

    for (msg = upto ? upto->prev : first->prev; msg; msg = msg->prev) {
        found = 0;
        name = NULL;

        cJSON_ArrayForEach(call, llm_json_get_arr(msg, "tool_calls")) {
            s = llm_json_get_str(call, "id");

            if (s && strcmp(s, id) == 0) {
                /* the latest call with that id, named or not */
                found = 1;
                name = llm_json_get_str(llm_json_get_obj(call, "function"),
                                        "name");
            }
        }

        if (found || msg == first) {
            return name;
        }
    }

    return NULL;
}


static int
oracle_gemini_function_response(oracle_gemini_turns_t *t, const char *name,
    llm_json_t *content, llm_buf_t *text)
{
    llm_json_t  *part;
    const char  *s;

    /* the result's text, wrapped: functionResponse.response is a Struct */

    llm_buf_reset(text);

    if (cJSON_IsString(content)) {
        if (llm_buf_append_cstr(text, content->valuestring) != LLM_OK) {
            return LLM_ERROR;
        }

    } else {
        cJSON_ArrayForEach(part, content) {
            s = llm_json_get_str(part, "text");

            if (s && llm_buf_append_cstr(text, s) != LLM_OK) {
                return LLM_ERROR;
            }
        }
    }

    if (oracle_gemini_part(t, "user") != LLM_OK
        || llm_buf_append_lit(t->body, "{\"functionResponse\":{\"name\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, name, strlen(name)) != LLM_OK
        || llm_buf_append_lit(t->body, ",\"response\":{\"content\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, text->data, text->len)
           != LLM_OK
        || llm_buf_append_lit(t->body, "}}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
oracle_gemini_contents(llm_request_t *req, llm_json_t *messages,
    llm_buf_t *body)
{
    int                  rc, found;
    llm_buf_t            text, sys;
    const char          *role, *name, *id, *s;
    llm_json_t          *msg, *calls, *content, *part;
    oracle_gemini_turns_t   t;

    rc = LLM_ERROR;

    t.req = req;
    t.body = body;
    t.role = NULL;

    memset(&text, 0, sizeof(llm_buf_t));
    memset(&sys, 0, sizeof(llm_buf_t));

    if (llm_buf_append_lit(body, "{\"contents\":[") != LLM_OK) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(msg, messages) {
        role = llm_json_get_str(msg, "role");
        if (role == NULL) {
            continue;
        }

        found = 0;
        content = llm_json_get(msg, "content");

        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            if (sys.len && llm_buf_append_lit(&sys, "\n\n") != LLM_OK) {
                goto done;
            }

            if (cJSON_IsString(content)) {
                if (llm_buf_append_cstr(&sys, content->valuestring)
                    != LLM_OK)
                {
                    goto done;
                }

                continue;
            }

            cJSON_ArrayForEach(part, content) {
                s = cJSON_IsString(part) ? part->valuestring
                                         : llm_json_get_str(part, "text");

                if (s && llm_buf_append_cstr(&sys, s) != LLM_OK) {
                    goto done;
                }
            }

            continue;
        }

        if (strcmp(role, "user") == 0) {
            if (oracle_gemini_content(&t, "user", content, 0, &text, &found)
                != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "assistant") == 0) {
            calls = llm_json_get_arr(msg, "tool_calls");

            if (oracle_gemini_content(&t, "model", content,
                                   cJSON_GetArraySize(calls) > 0, &text,
                                   &found)
                != LLM_OK
                || oracle_gemini_function_calls(&t, calls, &text) != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "tool") == 0) {
            id = llm_json_get_str(msg, "tool_call_id");
            name = id ? oracle_gemini_call_name(messages, msg, id) : NULL;

            if (name
                && oracle_gemini_function_response(&t, name, content, &text)
                   != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "function") == 0) {
            /* the deprecated form names the function itself */
            name = llm_json_get_str(msg, "name");

            if (name
                && oracle_gemini_function_response(&t, name, content, &text)
                   != LLM_OK)
            {
                goto done;
            }
        }
    }

    if ((t.role && llm_buf_append_lit(body, "]}") != LLM_OK)
        || llm_buf_append_lit(body, "]") != LLM_OK)
    {
        goto done;
    }

    if (sys.len) {
        if (llm_buf_append_lit(body, ",\"systemInstruction\":{\"parts\":"
                                     "[{\"text\":") != LLM_OK
            || llm_buf_append_json_string(body, sys.data, sys.len) != LLM_OK
            || llm_buf_append_lit(body, "}]}") != LLM_OK)
        {
            goto done;
        }
    }

    rc = LLM_OK;

done:

    llm_buf_free(&text);
    llm_buf_free(&sys);

    return rc;
}


/* generationConfig */

static int
oracle_gemini_gc_key(llm_buf_t *b, int *first, const char *name)
{
    if (llm_buf_append_cstr(b, *first ? ",\"generationConfig\":{\"" : ",\"")
        != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    *first = 0;

    return LLM_OK;
}


static int
oracle_gemini_copy_number(llm_json_t *from, const char *name, llm_buf_t *b,
    const char *to_name, int *first)
{
    llm_json_t  *v;

    v = llm_json_get(from, name);

    if (!cJSON_IsNumber(v)) {
        return LLM_OK;
    }

    if (oracle_gemini_gc_key(b, first, to_name) != LLM_OK
        || llm_buf_append_number(b, v->valuedouble) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * reasoning_effort → thinkingConfig.thinkingBudget (tokens): the budget
 * works on every thinking model (Gemini 3 takes it for compatibility,
 * beside its thinkingLevel), with the values Gemini's own OpenAI
 * endpoint uses; "none" turns thinking off.
 */



static int
oracle_gemini_generation_config(llm_request_t *req, llm_json_t *tree,
    llm_buf_t *b)
{
    int          first, any;
    long long    max, budget;
    llm_json_t  *v, *s, *rf, *schema;
    const char  *type, *effort;

    first = 1;

    if (oracle_gemini_copy_number(tree, "temperature", b, "temperature",
                                  &first)
        != LLM_OK
        || oracle_gemini_copy_number(tree, "top_p", b, "topP", &first)
           != LLM_OK
        || oracle_gemini_copy_number(tree, "n", b, "candidateCount", &first)
           != LLM_OK
        || oracle_gemini_copy_number(tree, "seed", b, "seed", &first) != LLM_OK
        || oracle_gemini_copy_number(tree, "presence_penalty", b,
                                  "presencePenalty", &first) != LLM_OK
        || oracle_gemini_copy_number(tree, "frequency_penalty", b,
                                  "frequencyPenalty", &first) != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = llm_json_get_int(tree, "max_completion_tokens");

    if (max < 0) {
        max = llm_json_get_int(tree, "max_tokens");
    }

    if (max < 0 && req->max_tokens_default > 0) {
        max = req->max_tokens_default;
    }

    if (max > 0
        && (oracle_gemini_gc_key(b, &first, "maxOutputTokens") != LLM_OK
            || llm_buf_append_int(b, max) != LLM_OK))
    {
        return LLM_ERROR;
    }

    v = llm_json_get(tree, "stop");

    if (cJSON_IsString(v) || cJSON_IsArray(v)) {
        if (oracle_gemini_gc_key(b, &first, "stopSequences") != LLM_OK
            || llm_buf_append_lit(b, "[") != LLM_OK)
        {
            return LLM_ERROR;
        }

        if (cJSON_IsString(v)) {
            if (llm_buf_append_json_string(b, v->valuestring,
                                           strlen(v->valuestring))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

        } else {
            any = 0;

            cJSON_ArrayForEach(s, v) {
                if (!cJSON_IsString(s)) {
                    continue;
                }

                if ((any && llm_buf_append_lit(b, ",") != LLM_OK)
                    || llm_buf_append_json_string(b, s->valuestring,
                                                  strlen(s->valuestring))
                       != LLM_OK)
                {
                    return LLM_ERROR;
                }

                any = 1;
            }
        }

        if (llm_buf_append_lit(b, "]") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    rf = llm_json_get_obj(tree, "response_format");
    type = llm_json_get_str(rf, "type");

    if (type && (strcmp(type, "json_object") == 0
                 || strcmp(type, "json_schema") == 0))
    {
        if (oracle_gemini_gc_key(b, &first, "responseMimeType") != LLM_OK
            || llm_buf_append_lit(b, "\"application/json\"") != LLM_OK)
        {
            return LLM_ERROR;
        }

        schema = llm_json_get_obj(llm_json_get_obj(rf, "json_schema"),
                                  "schema");

        if (schema
            && (oracle_gemini_gc_key(b, &first, "responseSchema") != LLM_OK
                || llm_gemini_schema_print(req, schema, b) != LLM_OK))
        {
            return LLM_ERROR;
        }
    }

    effort = llm_json_get_str(tree, "reasoning_effort");
    budget = effort ? llm_gemini_budget(effort) : -1;

    if (budget >= 0) {
        if (oracle_gemini_gc_key(b, &first, "thinkingConfig") != LLM_OK
            || llm_buf_append_lit(b, "{\"thinkingBudget\":") != LLM_OK
            || llm_buf_append_int(b, budget) != LLM_OK
            || (budget > 0
                && llm_buf_append_lit(b, ",\"includeThoughts\":true")
                   != LLM_OK)
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (!first && llm_buf_append_lit(b, "}") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}




int
oracle_build(const llm_dialect_t *d, llm_request_t *req,
    const char *upstream_model, llm_buf_t *b)
{
    int          rc;
    size_t       len0;
    llm_json_t  *root;

    root = llm_request_tree(req);

    if (root == NULL) {
        return LLM_ERROR;
    }

    len0 = b->len;

    if (strcmp(d->name, "anthropic") == 0) {
        rc = oracle_anthropic_build(req, root, upstream_model, b);

    } else if (strcmp(d->name, "gemini") == 0) {
        rc = oracle_gemini_contents(req, llm_json_get_arr(root, "messages"),
                                    b);

        if (rc == LLM_OK) {
            rc = llm_gemini_tools(req, root, b);
        }

        if (rc == LLM_OK) {
            rc = oracle_gemini_generation_config(req, root, b);
        }

        if (rc == LLM_OK) {
            rc = llm_buf_append_lit(b, "}");
        }

    } else {
        return d->build_request(req, upstream_model, b);
    }

    if (rc != LLM_OK || llm_request_texts_back(req, b, len0) != LLM_OK) {
        b->len = len0;
        return LLM_ERROR;
    }

    return LLM_OK;
}
