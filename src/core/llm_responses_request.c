/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Responses request reader: a Responses API body checked member by
 * member (errors name the member as OpenAI does, "input[1].content[0]")
 * and rewritten as the internal OpenAI Chat request:
 *
 *   instructions                      a system message, first
 *   input: a string                   one user message
 *   message items                     messages of the same role; parts
 *                                     input_text / output_text → text,
 *                                     input_image → image_url; an
 *                                     assistant's parts joined as text
 *   function_call items               tool_calls of the assistant message
 *                                     before them (one is opened if none)
 *   function_call_output items        tool messages (text parts joined)
 *   reasoning items                   dropped (only OpenAI reads them)
 *   tools (function, flat)            function tools (nested)
 *   tool_choice                       auto / none / required / a function;
 *                                     allowed_tools → its mode
 *   text.format                       response_format
 *   reasoning.effort                  reasoning_effort
 *   max_output_tokens                 max_completion_tokens
 *   temperature, top_p, metadata,     as they are
 *   parallel_tool_calls, store
 *   user, safety_identifier           user
 *
 * Hosted tools, files and hosted tool items are noted in rq->native: only
 * OpenAI's own Responses API serves them.  The input's messages are
 * marked (input_start, input_end) for a response store, which keeps a
 * conversation without its instructions, as OpenAI does.  The input's
 * items are llm_responses_items.c's.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json_scan.h"
#include "llm_responses_reader.h"




static int llm_rsp_scan(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end);
static int llm_rsp_scalars(llm_rsp_ctx_t *c, llm_json_t *root);
static int llm_rsp_params(llm_rsp_ctx_t *c, llm_json_t *root);
static int llm_rsp_tools(llm_rsp_ctx_t *c, llm_json_t *tools);
static int llm_rsp_tool_choice(llm_rsp_ctx_t *c, llm_json_t *choice);
static int llm_rsp_format(llm_rsp_ctx_t *c, llm_json_t *text);
static int llm_rsp_echo(llm_rsp_ctx_t *c, llm_json_t *root);


int
llm_responses_parse(llm_responses_t *rq, const char *p, size_t n,
    llm_error_t *e)
{
    int                rc;
    size_t             off;
    llm_json_t        *root, *v;
    llm_rsp_ctx_t      c;
    llm_json_arena_t  *arena;

    memset(rq, 0, sizeof(llm_responses_t));
    memset(&c, 0, sizeof(llm_rsp_ctx_t));

    c.base = p;
    c.rq = rq;
    c.e = e;
    c.b = &rq->chat;
    rq->store = 1;
    e->message[0] = '\0';

    /* one strict scan: the JSON is valid, and where the model is */

    if (llm_json_scan(p, n, 1, llm_rsp_scan, &c) != LLM_OK) {
        llm_json_valid(p, n, &off);
        llm_error_invalid_json(e, p, n, off);
        return LLM_ERROR;
    }

    /* the scan found it valid: its tree in an arena, read only */
    root = llm_json_tree(p, n, NULL, 0, NULL, 0, &arena);

    if (root == NULL) {
        llm_error_set(e, 500, NULL, "server_error", "Out of memory.");
        return LLM_ERROR;
    }

    rc = LLM_ERROR;

    if (!cJSON_IsObject(root)) {
        llm_rsp_fail(&c, NULL, "invalid_type",
                     "The request body must be a JSON object.");
        goto done;
    }

    if (rq->model_end == 0) {
        llm_rsp_fail(&c, "model", "missing_required_parameter",
                     "Missing required parameter: 'model' (a string).");
        goto done;
    }

    rq->model = strdup(llm_json_get_str(root, "model"));

    if (rq->model == NULL) {
        goto memory;
    }

    if (llm_rsp_scalars(&c, root) != LLM_OK) {
        goto done;
    }

    v = llm_json_get(root, "instructions");

    if (llm_buf_reserve(c.b, n + 256) != LLM_OK
        || llm_buf_append_lit(c.b, "{\"model\":") != LLM_OK
        || llm_rsp_str(c.b, rq->model) != LLM_OK
        || llm_buf_append_lit(c.b, ",\"messages\":[") != LLM_OK)
    {
        goto memory;
    }

    if (cJSON_IsString(v)) {
        if (llm_buf_append_lit(c.b, "{\"role\":\"system\",\"content\":")
            != LLM_OK
            || llm_rsp_str(c.b, v->valuestring) != LLM_OK
            || llm_buf_append_lit(c.b, "}") != LLM_OK)
        {
            goto memory;
        }

        c.nmsgs++;
    }

    rq->input_start = c.b->len;

    if (llm_rsp_input(&c, llm_json_get(root, "input")) != LLM_OK) {
        goto failed;
    }

    rq->input_end = c.b->len;

    /* the span is the messages themselves: not the comma before them */
    if (rq->input_end > rq->input_start
        && c.b->data[rq->input_start] == ',')
    {
        rq->input_start++;
    }

    if (llm_buf_append_lit(c.b, "]") != LLM_OK
        || llm_rsp_params(&c, root) != LLM_OK
        || llm_rsp_tools(&c, llm_json_get(root, "tools")) != LLM_OK
        || llm_rsp_tool_choice(&c, llm_json_get(root, "tool_choice"))
           != LLM_OK
        || llm_rsp_format(&c, llm_json_get(root, "text")) != LLM_OK
        || llm_rsp_echo(&c, root) != LLM_OK)
    {
        goto failed;
    }

    /* the gateway's own member: templates work on the internal form */

    v = llm_json_get(root, "template");

    if (v && (llm_buf_append_lit(c.b, ",\"template\":") != LLM_OK
              || llm_json_print(v, c.b) != LLM_OK))
    {
        goto memory;
    }

    if (llm_buf_append_lit(c.b, "}") != LLM_OK) {
        goto memory;
    }

    rc = LLM_OK;
    goto done;

failed:

    if (e->message[0]) {
        goto done;
    }

memory:

    llm_error_set(e, 500, NULL, "server_error", "Out of memory.");

done:

    llm_json_arena_free(arena);

    if (rc != LLM_OK) {
        llm_responses_free(rq);
    }

    return rc;
}


void
llm_responses_free(llm_responses_t *rq)
{
    llm_buf_free(&rq->chat);
    llm_buf_free(&rq->echo);
    free(rq->model);
    free(rq->previous);
    rq->model = NULL;
    rq->previous = NULL;
}


/* the member names of the spans, in their order */

static const char  *llm_rsp_span_names[LLM_RSP_SPANS] = {
    "instructions", "max_output_tokens", "metadata", "parallel_tool_calls",
    "previous_response_id", "temperature", "tool_choice", "tools", "top_p",
    "truncation", "user", "safety_identifier"
};


static int
llm_rsp_scan(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_rsp_ctx_t  *c = data;

    int  i;

    if (depth != 1) {
        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "model")) {
        if (type == LLM_JSON_STRING && c->rq->model_end == 0) {
            c->rq->model_start = start - c->base;
            c->rq->model_end = end - c->base;
        }

        return LLM_OK;
    }

    for (i = 0; i < LLM_RSP_SPANS; i++) {
        if (path[0].key_len == strlen(llm_rsp_span_names[i])
            && memcmp(path[0].key, llm_rsp_span_names[i], path[0].key_len)
               == 0)
        {
            /* the first, as cJSON reads duplicates */
            if (!(c->seen & (1u << i))) {
                c->seen |= 1u << i;
                c->span[i] = (type == LLM_JSON_NULL) ? NULL : start;
                c->span_end[i] = end;
            }

            break;
        }
    }

    return LLM_OK;
}


/*
 * Appends member i's bytes; on one line: the white space of a pretty
 * printed body holds line breaks (inside strings they are escaped), and
 * an echo goes into SSE data lines
 */

static int
llm_rsp_span(llm_rsp_ctx_t *c, llm_buf_t *b, int i, int one_line)
{
    char    *p, *last;
    size_t   from;

    from = b->len;

    if (llm_buf_append(b, c->span[i], c->span_end[i] - c->span[i])
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (one_line) {
        last = b->data + b->len;

        for (p = b->data + from; p < last; p++) {
            if (*p == '\n' || *p == '\r') {
                *p = ' ';
            }
        }
    }

    return LLM_OK;
}


/* a member's bytes under another name in the internal form */

static int
llm_rsp_copy(llm_rsp_ctx_t *c, int i, const char *to)
{
    if (c->span[i] == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(c->b, ",\"") != LLM_OK
        || llm_buf_append_cstr(c->b, to) != LLM_OK
        || llm_buf_append_lit(c->b, "\":") != LLM_OK
        || llm_rsp_span(c, c->b, i, 0) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


int
llm_rsp_fail(llm_rsp_ctx_t *c, const char *param, const char *code,
    const char *fmt, ...)
{
    char     msg[LLM_ERR_MSG_LEN];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    llm_error_set(c->e, 400, param, code, "%s", msg);

    return LLM_ERROR;
}


/* "input[i]" and more: formatted only when a failure needs it */

const char *
llm_rsp_param(char *buf, size_t size, int i, const char *rest, int j,
    const char *tail)
{
    int  n;

    n = snprintf(buf, size, "input[%d]", i);

    if (rest && n >= 0 && (size_t) n < size) {
        n += snprintf(buf + n, size - n, ".%s", rest);
    }

    if (j >= 0 && n >= 0 && (size_t) n < size) {
        n += snprintf(buf + n, size - n, "[%d]", j);
    }

    if (tail && n >= 0 && (size_t) n < size) {
        snprintf(buf + n, size - n, ".%s", tail);
    }

    return buf;
}


void
llm_rsp_native(llm_rsp_ctx_t *c, const char *fmt, const char *name)
{
    if (c->rq->native[0] == '\0') {
        snprintf(c->rq->native, sizeof(c->rq->native), fmt,
                 name ? name : "");
    }
}


/* the members that are only checked or refused, and the flags */

static int
llm_rsp_scalars(llm_rsp_ctx_t *c, llm_json_t *root)
{
    size_t       i;
    llm_json_t  *v, *s;

    static const char  *bools[] = {
        "stream", "store", "parallel_tool_calls", "background"
    };

    static const char  *strings[] = {
        "instructions", "previous_response_id", "user", "safety_identifier",
        "truncation", "service_tier", "prompt_cache_key"
    };

    for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        v = llm_json_get(root, bools[i]);

        if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
            return llm_rsp_fail(c, bools[i], "invalid_type",
                                "Invalid type for '%s': expected a boolean, "
                                "but got %s instead.", bools[i],
                                llm_json_type_name(v));
        }
    }

    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        v = llm_json_get(root, strings[i]);

        if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
            return llm_rsp_fail(c, strings[i], "invalid_type",
                                "Invalid type for '%s': expected a string, "
                                "but got %s instead.", strings[i],
                                llm_json_type_name(v));
        }
    }

    /* named as the client named it, not as the internal form does */
    v = llm_json_get(root, "max_output_tokens");

    if (v && !cJSON_IsNull(v)
        && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e12
            || v->valuedouble != (double) (long long) v->valuedouble))
    {
        return llm_rsp_fail(c, "max_output_tokens", "invalid_value",
                            "Invalid 'max_output_tokens': expected an "
                            "integer of at least 1.");
    }

    c->rq->stream = cJSON_IsTrue(llm_json_get(root, "stream"));
    c->rq->store = !cJSON_IsFalse(llm_json_get(root, "store"));

    if (cJSON_IsTrue(llm_json_get(root, "background"))) {
        return llm_rsp_fail(c, "background", "unsupported_parameter",
                            "'background' is not supported by this "
                            "gateway: responses are answered while the "
                            "client waits.");
    }

    if (llm_json_get(root, "conversation") != NULL
        && !cJSON_IsNull(llm_json_get(root, "conversation")))
    {
        llm_rsp_native(c, "the 'conversation' parameter%s", NULL);
    }

    if (llm_json_get(root, "prompt") != NULL
        && !cJSON_IsNull(llm_json_get(root, "prompt")))
    {
        llm_rsp_native(c, "a stored 'prompt'%s", NULL);
    }

    v = llm_json_get(root, "previous_response_id");

    if (cJSON_IsString(v)) {
        c->rq->previous = strdup(v->valuestring);
        if (c->rq->previous == NULL) {
            return LLM_ERROR;
        }
    }

    v = llm_json_get(root, "metadata");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return llm_rsp_fail(c, "metadata", "invalid_type",
                                "Invalid type for 'metadata': expected an "
                                "object, but got %s instead.",
                                llm_json_type_name(v));
        }

        i = 0;

        cJSON_ArrayForEach(s, v) {
            if (!cJSON_IsString(s) || ++i > 16) {
                return llm_rsp_fail(c, "metadata", "invalid_value",
                                    "Invalid 'metadata': at most 16 "
                                    "members, each a string.");
            }
        }
    }

    v = llm_json_get(root, "reasoning");

    if (v && !cJSON_IsNull(v)) {
        s = llm_json_get(v, "effort");

        if (!cJSON_IsObject(v) || (s && !cJSON_IsNull(s) && !cJSON_IsString(s)))
        {
            return llm_rsp_fail(c, "reasoning.effort", "invalid_type",
                                "Invalid type for 'reasoning': expected an "
                                "object whose 'effort' is a string.");
        }
    }

    return LLM_OK;
}


static int
llm_rsp_params(llm_rsp_ctx_t *c, llm_json_t *root)
{
    llm_json_t  *effort;

    effort = llm_json_get(llm_json_get_obj(root, "reasoning"), "effort");

    if (llm_rsp_copy(c, LLM_RSP_MAX_OUTPUT, "max_completion_tokens")
        != LLM_OK
        || llm_rsp_copy(c, LLM_RSP_TEMPERATURE, "temperature") != LLM_OK
        || llm_rsp_copy(c, LLM_RSP_TOP_P, "top_p") != LLM_OK
        || llm_rsp_copy(c, LLM_RSP_PARALLEL, "parallel_tool_calls") != LLM_OK
        || llm_rsp_copy(c, c->span[LLM_RSP_SAFETY_ID] ? LLM_RSP_SAFETY_ID
                                                      : LLM_RSP_USER,
                        "user") != LLM_OK
        || (cJSON_IsString(effort)
            && (llm_buf_append_lit(c->b, ",\"reasoning_effort\":") != LLM_OK
                || llm_rsp_str(c->b, effort->valuestring) != LLM_OK))
        || (c->rq->stream
            && llm_buf_append_lit(c->b, ",\"stream\":true,"
                                        "\"stream_options\":"
                                        "{\"include_usage\":true}")
               != LLM_OK))
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* function tools, flat → nested; others only OpenAI runs */

static int
llm_rsp_tools(llm_rsp_ctx_t *c, llm_json_t *tools)
{
    int          i, n;
    char         param[32];
    llm_json_t  *tool, *v;
    const char  *type, *name;

    if (tools == NULL || cJSON_IsNull(tools)) {
        return LLM_OK;
    }

    if (!cJSON_IsArray(tools)) {
        return llm_rsp_fail(c, "tools", "invalid_type",
                            "Invalid type for 'tools': expected an array, "
                            "but got %s instead.", llm_json_type_name(tools));
    }

    i = 0;
    n = 0;

    cJSON_ArrayForEach(tool, tools) {
        type = llm_json_get_str(tool, "type");
        name = llm_json_get_str(tool, "name");

        if (type == NULL) {
            snprintf(param, sizeof(param), "tools[%d].type", i);
            return llm_rsp_fail(c, param, "missing_required_parameter",
                                "Missing required parameter: "
                                "'tools[%d].type'.", i);
        }

        i++;

        if (strcmp(type, "function") != 0) {
            llm_rsp_native(c, "the tool type '%s'", type);
            continue;
        }

        if (name == NULL) {
            snprintf(param, sizeof(param), "tools[%d].name", i - 1);
            return llm_rsp_fail(c, param, "missing_required_parameter",
                                "Missing required parameter: "
                                "'tools[%d].name'.", i - 1);
        }

        if (llm_buf_append_cstr(c->b, n++ ? "," : ",\"tools\":[") != LLM_OK
            || llm_buf_append_lit(c->b, "{\"type\":\"function\","
                                        "\"function\":{\"name\":") != LLM_OK
            || llm_rsp_str(c->b, name) != LLM_OK)
        {
            return LLM_ERROR;
        }

        v = llm_json_get(tool, "description");

        if (cJSON_IsString(v)
            && (llm_buf_append_lit(c->b, ",\"description\":") != LLM_OK
                || llm_json_print(v, c->b) != LLM_OK))
        {
            return LLM_ERROR;
        }

        v = llm_json_get(tool, "parameters");

        if (cJSON_IsObject(v)
            && (llm_buf_append_lit(c->b, ",\"parameters\":") != LLM_OK
                || llm_json_print(v, c->b) != LLM_OK))
        {
            return LLM_ERROR;
        }

        v = llm_json_get(tool, "strict");

        if (cJSON_IsBool(v)
            && (llm_buf_append_lit(c->b, ",\"strict\":") != LLM_OK
                || llm_json_print(v, c->b) != LLM_OK))
        {
            return LLM_ERROR;
        }

        if (llm_buf_append_lit(c->b, "}}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (n && llm_buf_append_lit(c->b, "]") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_tool_choice(llm_rsp_ctx_t *c, llm_json_t *choice)
{
    const char  *type, *name, *mode;

    if (choice == NULL || cJSON_IsNull(choice)) {
        return LLM_OK;
    }

    if (cJSON_IsString(choice)) {
        return llm_rsp_copy(c, LLM_RSP_TOOL_CHOICE, "tool_choice");
    }

    type = llm_json_get_str(choice, "type");

    if (!cJSON_IsObject(choice) || type == NULL) {
        return llm_rsp_fail(c, "tool_choice", "invalid_type",
                            "Invalid type for 'tool_choice': expected "
                            "\"auto\", \"none\", \"required\" or an object "
                            "with a \"type\".");
    }

    if (strcmp(type, "function") == 0) {
        name = llm_json_get_str(choice, "name");

        if (name == NULL) {
            return llm_rsp_fail(c, "tool_choice.name",
                                "missing_required_parameter",
                                "Missing required parameter: "
                                "'tool_choice.name'.");
        }

        if (llm_buf_append_lit(c->b, ",\"tool_choice\":{\"type\":"
                                     "\"function\",\"function\":{\"name\":")
            != LLM_OK
            || llm_rsp_str(c->b, name) != LLM_OK
            || llm_buf_append_lit(c->b, "}}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (strcmp(type, "allowed_tools") == 0) {
        /* every tool stays offered: the mode is what carries over */
        mode = llm_json_get_str(choice, "mode");

        if (!llm_rsp_is(mode, "auto") && !llm_rsp_is(mode, "required")) {
            return llm_rsp_fail(c, "tool_choice.mode", "invalid_value",
                                "Invalid value for 'tool_choice.mode': "
                                "expected \"auto\" or \"required\".");
        }

        return (llm_buf_append_lit(c->b, ",\"tool_choice\":") == LLM_OK
                && llm_rsp_str(c->b, mode) == LLM_OK)
               ? LLM_OK : LLM_ERROR;
    }

    llm_rsp_native(c, "the tool_choice type '%s'", type);

    return LLM_OK;
}


/* text.format → response_format */

static int
llm_rsp_format(llm_rsp_ctx_t *c, llm_json_t *text)
{
    llm_json_t  *format, *v;
    const char  *type;
    size_t       i;

    static const char  *members[] = {
        "name", "schema", "strict", "description"
    };

    format = llm_json_get(text, "format");

    if (format == NULL || cJSON_IsNull(format)) {
        return LLM_OK;
    }

    type = llm_json_get_str(format, "type");

    if (llm_rsp_is(type, "text")) {
        return LLM_OK;
    }

    if (llm_rsp_is(type, "json_object")) {
        return llm_buf_append_lit(c->b, ",\"response_format\":"
                                        "{\"type\":\"json_object\"}");
    }

    if (!llm_rsp_is(type, "json_schema")) {
        return llm_rsp_fail(c, "text.format.type", "invalid_value",
                            "Invalid value for 'text.format.type': expected "
                            "\"text\", \"json_object\" or \"json_schema\".");
    }

    if (!cJSON_IsString(llm_json_get(format, "name"))
        || !cJSON_IsObject(llm_json_get(format, "schema")))
    {
        return llm_rsp_fail(c, "text.format", "missing_required_parameter",
                            "Invalid 'text.format': a json_schema format "
                            "needs a \"name\" and a \"schema\" object.");
    }

    if (llm_buf_append_lit(c->b, ",\"response_format\":{\"type\":"
                                 "\"json_schema\",\"json_schema\":{")
        != LLM_OK)
    {
        return LLM_ERROR;
    }

    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        v = llm_json_get(format, members[i]);

        if (v == NULL || cJSON_IsNull(v)) {
            continue;
        }

        if ((i && llm_buf_append_lit(c->b, ",") != LLM_OK)
            || llm_rsp_str(c->b, members[i]) != LLM_OK
            || llm_buf_append_lit(c->b, ":") != LLM_OK
            || llm_json_print(v, c->b) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    return llm_buf_append_lit(c->b, "}}");
}


/* what the response object echoes: as sent, or OpenAI's defaults */

static int
llm_rsp_echo(llm_rsp_ctx_t *c, llm_json_t *root)
{
    size_t        i;
    llm_buf_t    *b;
    llm_json_t   *v, *reasoning;

    static const char  *absent[LLM_RSP_ECHOED] = {
        "null", "null", "{}", "true", "null", "1.0", "\"auto\"", "[]", "1.0",
        "\"disabled\"", "null"
    };

    b = &c->rq->echo;

    for (i = 0; i < LLM_RSP_ECHOED; i++) {
        if ((i && llm_buf_append_lit(b, ",") != LLM_OK)
            || llm_rsp_str(b, llm_rsp_span_names[i]) != LLM_OK
            || llm_buf_append_lit(b, ":") != LLM_OK
            || (c->span[i] ? llm_rsp_span(c, b, i, 1)
                           : llm_buf_append_cstr(b, absent[i])) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    reasoning = llm_json_get_obj(root, "reasoning");
    v = llm_json_get(reasoning, "effort");

    if (llm_buf_append_lit(b, ",\"reasoning\":{\"effort\":") != LLM_OK
        || (v ? llm_json_print(v, b) : llm_buf_append_lit(b, "null"))
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    v = llm_json_get(reasoning, "summary");

    if (llm_buf_append_lit(b, ",\"summary\":") != LLM_OK
        || (v ? llm_json_print(v, b) : llm_buf_append_lit(b, "null"))
           != LLM_OK
        || llm_buf_append_lit(b, "},\"text\":{\"format\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    v = llm_json_get(llm_json_get_obj(root, "text"), "format");

    if ((cJSON_IsObject(v) ? llm_json_print(v, b)
                           : llm_buf_append_lit(b, "{\"type\":\"text\"}"))
        != LLM_OK
        || llm_buf_append_cstr(b, c->rq->store ? "},\"store\":true"
                                               : "},\"store\":false")
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
