/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Parse and validate an OpenAI Chat Completions request body.
 *
 * Validation is what OpenAI itself enforces on types and ranges, so a
 * mistake is reported by the gateway, naming the parameter, instead of
 * costing a provider round trip.  Fields not listed are passed through.
 * The same scan records the chat the dialects read (llm_request_chat.c).
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_request.h"
#include "llm_request_scan.h"
#include "llm_json_scan.h"


typedef enum {
    LLM_T_NUMBER,
    LLM_T_INTEGER,
    LLM_T_BOOL,
    LLM_T_STRING,
    LLM_T_OBJECT,
    LLM_T_ARRAY,
    LLM_T_STOP,          /* string or array of strings */
    LLM_T_TOOL_CHOICE    /* string or object */
} llm_param_type_e;


typedef struct {
    const char        *name;
    size_t             len;
    llm_param_type_e   type;
    double             min;
    double             max;
} llm_param_rule_t;


#define llm_rule(name, type, min, max)                                       \
    { name, sizeof(name) - 1, type, min, max }


static const llm_param_rule_t  llm_request_rules[] = {
    llm_rule("temperature",           LLM_T_NUMBER,           0,     2),
    llm_rule("top_p",                 LLM_T_NUMBER,           0,     1),
    llm_rule("presence_penalty",      LLM_T_NUMBER,          -2,     2),
    llm_rule("frequency_penalty",     LLM_T_NUMBER,          -2,     2),
    llm_rule("n",                     LLM_T_INTEGER,          1,   128),
    llm_rule("max_tokens",            LLM_T_INTEGER,          1,  1e12),
    llm_rule("max_completion_tokens", LLM_T_INTEGER,          1,  1e12),
    llm_rule("seed",                  LLM_T_INTEGER,      -1e18,  1e18),
    llm_rule("top_logprobs",          LLM_T_INTEGER,          0,    20),
    llm_rule("logprobs",              LLM_T_BOOL,             0,     0),
    llm_rule("parallel_tool_calls",   LLM_T_BOOL,             0,     0),
    llm_rule("store",                 LLM_T_BOOL,             0,     0),
    llm_rule("user",                  LLM_T_STRING,           0,     0),
    llm_rule("reasoning_effort",      LLM_T_STRING,           0,     0),
    llm_rule("stop",                  LLM_T_STOP,             0,     0),
    llm_rule("tools",                 LLM_T_ARRAY,            0,     0),
    llm_rule("tool_choice",           LLM_T_TOOL_CHOICE,      0,     0),
    llm_rule("response_format",       LLM_T_OBJECT,           0,     0),
    llm_rule("metadata",              LLM_T_OBJECT,           0,     0),
    llm_rule("logit_bias",            LLM_T_OBJECT,           0,     0),
    { NULL, 0, LLM_T_NUMBER, 0, 0 }
};


/* the six roles by their bytes: -1 for any other */

static int
llm_request_role(const char *p, size_t len)
{
    switch (len) {

    case 4:
        return memcmp(p, "user", 4) == 0 ? LLM_ROLE_USER
               : memcmp(p, "tool", 4) == 0 ? LLM_ROLE_TOOL : -1;

    case 6:
        return memcmp(p, "system", 6) == 0 ? LLM_ROLE_SYSTEM : -1;

    case 8:
        return memcmp(p, "function", 8) == 0 ? LLM_ROLE_FUNCTION : -1;

    case 9:
        return memcmp(p, "assistant", 9) == 0 ? LLM_ROLE_ASSISTANT
               : memcmp(p, "developer", 9) == 0 ? LLM_ROLE_SYSTEM : -1;
    }

    return -1;
}




static int llm_request_scan(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end);
static void llm_request_check_message(llm_request_scan_t *sc, int i,
    llm_json_type_e type);
static int llm_request_check_param(llm_request_scan_t *sc,
    const llm_param_rule_t *rule, llm_error_t *e);
static llm_request_member_t *llm_request_member(llm_request_scan_t *sc,
    const char *name, size_t len);

#define llm_request_member_lit(sc, name)                                     \
    llm_request_member(sc, name, sizeof(name) - 1)
static int llm_request_tool_choice(llm_request_member_t *m, llm_error_t *e);
static int llm_request_model(llm_request_t *req,
    llm_request_member_t *m);
static int llm_request_scan_body(llm_request_t *req, const char *p,
    size_t n, llm_error_t *e, llm_chat_t *chat);


int
llm_request_parse(llm_request_t *req, const char *p, size_t n,
    llm_error_t *e)
{
    int          rc;
    llm_chat_t  *chat;

    memset(req, 0, sizeof(llm_request_t));

    /* the messages are written here as they are found */

    chat = malloc(sizeof(llm_chat_t));

    if (chat == NULL) {
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return LLM_ERROR;
    }

    chat->nmessages = 0;
    chat->nalloc = 0;
    chat->messages = chat->inline_messages;
    chat->members = NULL;
    chat->nmembers = 0;
    chat->ncalls = 0;
    chat->nparts = 0;
    chat->nresults = 0;
    req->chat = chat;

    rc = llm_request_scan_body(req, p, n, e, chat);

    if (rc != LLM_OK) {
        llm_request_free(req);
    }

    return rc;
}


static int
llm_request_scan_body(llm_request_t *req, const char *p, size_t n,
    llm_error_t *e, llm_chat_t *chat)
{
    int                      i, j;
    size_t                   off;
    unsigned                 nul;
    llm_span_t               span;
    llm_request_scan_t       sc;
    llm_request_member_t    *m;
    const llm_param_rule_t  *rule;

    if (n == 0) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body is empty; expected a JSON object.");
        return LLM_ERROR;
    }

    /* the members are filled as they are found: clear the rest only */
    memset((char *) &sc + sizeof(sc.members), 0,
           sizeof(sc) - sizeof(sc.members));
    sc.msg_error = e;
    sc.chat = chat;
    sc.req = req;

    if (llm_json_scan_nul(p, n, 3, llm_request_scan, &sc, &nul) != LLM_OK) {
        (void) llm_json_valid(p, n, &off);
        llm_error_invalid_json(e, p, n, off);
        return LLM_ERROR;
    }

    if (sc.root_type != LLM_JSON_OBJECT) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body must be a JSON object, not %s.",
                      llm_json_scan_type_name(sc.root_type));
        return LLM_ERROR;
    }

    req->template = (llm_request_member_lit(&sc, "template") != NULL);

    /*
     * Names, texts and keys are C strings further on (cJSON's too), and
     * providers differ on NUL: a NUL would be cut, or worse, turn a key
     * into another ("content\u0000x" into "content").
     */

    if (nul) {
        llm_error_set(e, 400, NULL, "invalid_value",
                      "The request body contains a NUL character "
                      "(\\u0000), which this gateway does not accept.");
        return LLM_ERROR;
    }

    if (sc.too_many) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body has more than %d top-level "
                      "members.", LLM_REQUEST_MAX_MEMBERS);
        return LLM_ERROR;
    }

    /*
     * "mod\u0065l" is "model" to a provider: such keys are refused, at
     * the top and in messages
     */
    if (sc.escaped_key) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "Escape sequences in the keys of the request and of "
                      "its messages are not supported.");
        return LLM_ERROR;
    }

    /*
     * A duplicate key would route by one value while a provider that
     * keeps the last one reads another: refuse the ambiguity.
     */

    for (i = 0; i < sc.nmembers; i++) {
        for (j = i + 1; j < sc.nmembers; j++) {
            if (sc.members[i].key_len == sc.members[j].key_len
                && memcmp(sc.members[i].key, sc.members[j].key,
                          sc.members[i].key_len) == 0)
            {
                llm_error_set(e, 400, NULL, "invalid_json",
                              "Duplicate key '%.*s' in the request body.",
                              (int) (sc.members[i].key_len < 64
                                     ? sc.members[i].key_len : 64),
                              sc.members[i].key);
                snprintf(e->param, sizeof(e->param), "%.*s",
                         (int) sc.members[i].key_len, sc.members[i].key);
                return LLM_ERROR;
            }
        }
    }

    m = llm_request_member_lit(&sc, "model");

    if (m == NULL || m->type == LLM_JSON_NULL) {
        llm_error_set(e, 400, "model", "missing_required_parameter",
                      "Missing required parameter: 'model'.");
        return LLM_ERROR;
    }

    if (m->type != LLM_JSON_STRING || m->end - m->start == 2) {
        llm_error_set(e, 400, "model", "invalid_type",
                      "Invalid type for 'model': expected a non-empty "
                      "string, but got %s instead.",
                      (m->type == LLM_JSON_STRING)
                      ? "an empty string"
                      : llm_json_scan_type_name(m->type));
        return LLM_ERROR;
    }

    m = llm_request_member_lit(&sc, "messages");

    if (m == NULL || m->type == LLM_JSON_NULL) {
        llm_error_set(e, 400, "messages", "missing_required_parameter",
                      "Missing required parameter: 'messages'.");
        return LLM_ERROR;
    }

    if (m->type != LLM_JSON_ARRAY) {
        llm_error_set(e, 400, "messages", "invalid_type",
                      "Invalid type for 'messages': expected an array, "
                      "but got %s instead.",
                      llm_json_scan_type_name(m->type));
        return LLM_ERROR;
    }

    if (sc.messages == 0) {
        llm_error_set(e, 400, "messages", "empty_array",
                      "Invalid 'messages': empty array. Expected an array "
                      "with minimum length 1, but got an empty array "
                      "instead.");
        return LLM_ERROR;
    }

    if (sc.msg_failed) {
        /* e was filled by the scan */
        return LLM_ERROR;
    }

    m = llm_request_member_lit(&sc, "stream");

    if (m && m->type != LLM_JSON_NULL) {
        if (m->type != LLM_JSON_TRUE && m->type != LLM_JSON_FALSE) {
            llm_error_set(e, 400, "stream", "invalid_type",
                          "Invalid type for 'stream': expected a boolean, "
                          "but got %s instead.",
                          llm_json_scan_type_name(m->type));
            return LLM_ERROR;
        }

        req->stream = (m->type == LLM_JSON_TRUE);
    }

    m = llm_request_member_lit(&sc, "stream_options");

    if (m) {
        req->has_stream_options = 1;
    }

    if (m && m->type != LLM_JSON_NULL) {
        if (m->type != LLM_JSON_OBJECT) {
            llm_error_set(e, 400, "stream_options", "invalid_type",
                          "Invalid type for 'stream_options': expected an "
                          "object, but got %s instead.",
                          llm_json_scan_type_name(m->type));
            return LLM_ERROR;
        }

        if (!req->stream) {
            llm_error_set(e, 400, "stream_options", "invalid_value",
                          "The 'stream_options' parameter is only allowed "
                          "when 'stream' is enabled.");
            return LLM_ERROR;
        }

        if (sc.has_include_usage
            && sc.include_usage_type != LLM_JSON_NULL)
        {
            if (sc.include_usage_type != LLM_JSON_TRUE
                && sc.include_usage_type != LLM_JSON_FALSE)
            {
                llm_error_set(e, 400, "stream_options.include_usage",
                              "invalid_type",
                              "Invalid type for "
                              "'stream_options.include_usage': expected a "
                              "boolean, but got %s instead.",
                              llm_json_scan_type_name(
                                  sc.include_usage_type));
                return LLM_ERROR;
            }

            req->include_usage = (sc.include_usage_type == LLM_JSON_TRUE);
        }
    }

    for (rule = llm_request_rules; rule->name; rule++) {
        if (llm_request_check_param(&sc, rule, e) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    req->raw = p;
    req->raw_len = n;

    /* the answer's ceiling the client set, for budgets' estimates */
    m = llm_request_member_lit(&sc, "max_completion_tokens");
    if (m == NULL || m->type != LLM_JSON_NUMBER) {
        m = llm_request_member_lit(&sc, "max_tokens");
    }

    if (m && m->type == LLM_JSON_NUMBER) {
        span.start = m->start;
        span.end = m->end;
        req->max_output = llm_span_int(&span);
    }

    if (sc.no_room || llm_request_chat(&sc) != LLM_OK) {
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return LLM_ERROR;
    }

    if (llm_request_model(req, llm_request_member_lit(&sc, "model"))
        != LLM_OK)
    {
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_request_scan(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_request_scan_t *sc = data;

    llm_request_member_t  *m;

    if (depth == 0) {
        sc->root_type = type;
        return LLM_OK;
    }

    if (depth == 1) {
        if (path[0].key == NULL) {
            /* the root is an array: refused once the scan is done */
            return LLM_OK;
        }

        if (sc->nmembers == LLM_REQUEST_MAX_MEMBERS) {
            sc->too_many = 1;
            return LLM_OK;
        }

        if (memchr(path[0].key, '\\', path[0].key_len)) {
            sc->escaped_key = 1;
        }

        m = &sc->members[sc->nmembers++];

        m->key = path[0].key;
        m->key_len = path[0].key_len;
        m->type = type;
        m->start = start;
        m->end = end;

        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "messages") && path[1].key == NULL) {

        if (depth == 3) {
            if (path[2].key == NULL) {
                /* a message that is an array: refused once it ends */
                return LLM_OK;
            }

            return llm_request_message_span(sc, &path[2], type, start, end);
        }

        /* a message is complete: its members came first */

        sc->messages = path[1].index + 1;

        if (!sc->msg_failed) {
            llm_request_check_message(sc, path[1].index, type);
        }

        if (!sc->msg_failed) {
            llm_request_chat_message(sc);
        }

        sc->msg_role = 0;
        sc->msg_content = 0;
        sc->msg_spans = 0;
        sc->msg = NULL;

        return LLM_OK;
    }

    if (depth == 2 && llm_json_step_is(&path[0], "stop")
        && path[1].key == NULL && type != LLM_JSON_STRING)
    {
        sc->stop_bad = 1;

    } else if (depth == 2 && llm_json_step_is(&path[0], "stream_options")
               && llm_json_step_is(&path[1], "include_usage"))
    {
        sc->has_include_usage = 1;
        sc->include_usage_type = type;
    }

    return LLM_OK;
}


static void
llm_request_check_message(llm_request_scan_t *sc, int i,
    llm_json_type_e type)
{
    char          param[64];
    llm_error_t  *e;

    e = sc->msg_error;

    if (type != LLM_JSON_OBJECT) {
        snprintf(param, sizeof(param), "messages[%d]", i);
        llm_error_set(e, 400, param, "invalid_type",
                      "Invalid type for '%s': expected an object, but got "
                      "%s instead.", param, llm_json_scan_type_name(type));
        goto failed;
    }

    if (!sc->msg_role) {
        snprintf(param, sizeof(param), "messages[%d].role", i);
        llm_error_set(e, 400, param, "missing_required_parameter",
                      "Missing required parameter: '%s'.", param);
        goto failed;
    }

    if (sc->role_type != LLM_JSON_STRING) {
        snprintf(param, sizeof(param), "messages[%d].role", i);
        llm_error_set(e, 400, param, "invalid_type",
                      "Invalid type for '%s': expected a string, but got "
                      "%s instead.", param,
                      llm_json_scan_type_name(sc->role_type));
        goto failed;
    }

    sc->role_is = llm_request_role(sc->role, sc->role_len);

    if (sc->role_is < 0) {
        snprintf(param, sizeof(param), "messages[%d].role", i);
        llm_error_set(e, 400, param, "invalid_value",
                      "Invalid value for '%s': supported values are "
                      "'system', 'developer', 'user', 'assistant', 'tool' "
                      "and 'function'.", param);
        goto failed;
    }

    if (sc->msg_content && sc->content_type != LLM_JSON_STRING
        && sc->content_type != LLM_JSON_ARRAY
        && sc->content_type != LLM_JSON_NULL)
    {
        snprintf(param, sizeof(param), "messages[%d].content", i);
        llm_error_set(e, 400, param, "invalid_type",
                      "Invalid type for '%s': expected a string or an "
                      "array of content parts, but got %s instead.",
                      param, llm_json_scan_type_name(sc->content_type));
        goto failed;
    }

    if (!sc->msg_content && sc->role_is != LLM_ROLE_ASSISTANT) {
        snprintf(param, sizeof(param), "messages[%d].content", i);
        llm_error_set(e, 400, param, "missing_required_parameter",
                      "Missing required parameter: '%s'.", param);
        goto failed;
    }

    return;

failed:

    sc->msg_failed = 1;
}


static int
llm_request_check_param(llm_request_scan_t *sc, const llm_param_rule_t *rule,
    llm_error_t *e)
{
    double                 d;
    llm_span_t             span;
    const char            *want;
    llm_request_member_t  *m;

    m = llm_request_member(sc, rule->name, rule->len);

    if (m == NULL || m->type == LLM_JSON_NULL) {
        return LLM_OK;
    }

    want = NULL;

    switch (rule->type) {

    case LLM_T_NUMBER:
    case LLM_T_INTEGER:
        if (m->type != LLM_JSON_NUMBER) {
            want = (rule->type == LLM_T_NUMBER) ? "a number" : "an integer";
            break;
        }

        span.start = m->start;
        span.end = m->end;
        d = llm_span_number(&span);

        /* the cast is defined only in range: |d| <= 1e18 */

        if (rule->type == LLM_T_INTEGER && d >= -1e18 && d <= 1e18
            && d != (double) (long long) d)
        {
            want = "an integer";
            break;
        }

        if (!(d >= rule->min && d <= rule->max)) {
            llm_error_set(e, 400, rule->name, "invalid_value",
                          "Invalid value for '%s': expected a value "
                          "between %g and %g, but got %g instead.",
                          rule->name, rule->min, rule->max, d);
            return LLM_ERROR;
        }

        return LLM_OK;

    case LLM_T_BOOL:
        if (m->type != LLM_JSON_TRUE && m->type != LLM_JSON_FALSE) {
            want = "a boolean";
        }
        break;

    case LLM_T_STRING:
        if (m->type != LLM_JSON_STRING) {
            want = "a string";
        }
        break;

    case LLM_T_OBJECT:
        if (m->type != LLM_JSON_OBJECT) {
            want = "an object";
        }
        break;

    case LLM_T_ARRAY:
        if (m->type != LLM_JSON_ARRAY) {
            want = "an array";
        }
        break;

    case LLM_T_STOP:
        if (m->type != LLM_JSON_STRING
            && (m->type != LLM_JSON_ARRAY || sc->stop_bad))
        {
            want = "a string or an array of strings";
        }
        break;

    case LLM_T_TOOL_CHOICE:
        if (m->type != LLM_JSON_STRING && m->type != LLM_JSON_OBJECT) {
            want = "a string or an object";
            break;
        }

        return llm_request_tool_choice(m, e);
    }

    if (want) {
        llm_error_set(e, 400, rule->name, "invalid_type",
                      "Invalid type for '%s': expected %s, but got %s "
                      "instead.", rule->name, want,
                      llm_json_scan_type_name(m->type));
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * tool_choice, checked once for every dialect: "none", "auto",
 * "required", or an object with a "type" (a "function" one naming it).
 * What a dialect cannot honour of a valid one is its check's business.
 */

typedef struct {
    llm_json_type_e   type_type;
    const char       *type;             /* "type", quotes too */
    const char       *type_end;
    llm_json_type_e   name_type;        /* function.name */
    const char       *name;
    const char       *name_end;
    unsigned          has_type:1;
    unsigned          has_name:1;
} llm_tool_choice_scan_t;


static int
llm_request_tool_choice_value(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end)
{
    llm_tool_choice_scan_t *tc = data;

    if (depth == 1 && llm_json_step_is(&path[0], "type")) {
        tc->has_type = 1;
        tc->type_type = type;
        tc->type = start;
        tc->type_end = end;

    } else if (depth == 2 && llm_json_step_is(&path[0], "function")
               && llm_json_step_is(&path[1], "name"))
    {
        tc->has_name = 1;
        tc->name_type = type;
        tc->name = start;
        tc->name_end = end;
    }

    return LLM_OK;
}


#define llm_span_is(start, end, lit)                                         \
    ((size_t) ((end) - (start)) == sizeof(lit) - 1                           \
     && memcmp(start, lit, sizeof(lit) - 1) == 0)


static int
llm_request_tool_choice(llm_request_member_t *m, llm_error_t *e)
{
    llm_tool_choice_scan_t  tc;

    if (m->type == LLM_JSON_STRING) {
        if (llm_span_is(m->start, m->end, "\"none\"")
            || llm_span_is(m->start, m->end, "\"auto\"")
            || llm_span_is(m->start, m->end, "\"required\""))
        {
            return LLM_OK;
        }

        llm_error_set(e, 400, "tool_choice", "invalid_value",
                      "Invalid value for 'tool_choice': %.*s. Supported "
                      "values are: 'none', 'auto', and 'required', or an "
                      "object naming a function.",
                      (int) ((m->end - m->start < 64) ? m->end - m->start
                                                       : 64),
                      m->start);
        return LLM_ERROR;
    }

    memset(&tc, 0, sizeof(llm_tool_choice_scan_t));

    (void) llm_json_scan(m->start, m->end - m->start, 2,
                         llm_request_tool_choice_value, &tc);

    if (!tc.has_type || tc.type_type != LLM_JSON_STRING) {
        llm_error_set(e, 400, "tool_choice.type",
                      tc.has_type ? "invalid_type"
                                  : "missing_required_parameter",
                      "Invalid 'tool_choice': an object needs a string "
                      "'type' (e.g. \"function\").");
        return LLM_ERROR;
    }

    if (llm_span_is(tc.type, tc.type_end, "\"function\"")
        && (!tc.has_name || tc.name_type != LLM_JSON_STRING
            || tc.name_end - tc.name == 2))
    {
        llm_error_set(e, 400, "tool_choice.function.name",
                      tc.has_name ? "invalid_type"
                                  : "missing_required_parameter",
                      "Invalid 'tool_choice': a function tool_choice "
                      "needs 'function.name', a non-empty string.");
        return LLM_ERROR;
    }

    return LLM_OK;
}


static llm_request_member_t *
llm_request_member(llm_request_scan_t *sc, const char *name, size_t len)
{
    int  i;

    for (i = 0; i < sc->nmembers; i++) {
        if (sc->members[i].key_len == len
            && sc->members[i].key[0] == name[0]
            && memcmp(sc->members[i].key, name, len) == 0)
        {
            return &sc->members[i];
        }
    }

    return NULL;
}


/* the model name as a C string, unescaped if it has to be */

static int
llm_request_model(llm_request_t *req, llm_request_member_t *m)
{
    size_t       len;
    llm_json_t  *j;
    const char  *s;

    req->model_start = (size_t) (m->start - req->raw);
    req->model_end = (size_t) (m->end - req->raw);

    s = m->start + 1;
    len = (size_t) (m->end - m->start - 2);
    j = NULL;

    if (memchr(s, '\\', len)) {
        j = llm_json_parse(m->start, (size_t) (m->end - m->start), NULL);
        if (!cJSON_IsString(j)) {
            llm_json_free(j);
            return LLM_ERROR;
        }

        s = j->valuestring;
        len = strlen(s);
    }

    req->model = malloc(len + 1);

    if (req->model != NULL) {
        memcpy(req->model, s, len);
        req->model[len] = '\0';
    }

    llm_json_free(j);

    return (req->model != NULL) ? LLM_OK : LLM_ERROR;
}


void
llm_request_free(llm_request_t *req)
{
    if (req->tree_arena == NULL) {
        /* a tree of cJSON's own (a test's edited copy) */
        llm_json_free(req->root);
    }

    llm_json_arena_free(req->tree_arena);
    req->tree_arena = NULL;
    req->root = NULL;
    llm_json_arena_free(req->arena);
    req->arena = NULL;

    free(req->model);
    req->model = NULL;

    if (req->chat) {
        if (req->chat->nalloc) {
            free(req->chat->messages);
        }

        free(req->chat->members);
        free(req->chat);
        req->chat = NULL;
    }

    free(req->texts);
    req->texts = NULL;
    req->ntexts = 0;
    req->marked = 0;
}
