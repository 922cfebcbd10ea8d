/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The input of a Responses request: its items, taken into internal-form
 * messages (the table is in llm_responses_request.c).  A turn of the
 * assistant stays open while function calls follow it, so that they
 * become its tool_calls.
 */

#include <stdlib.h>
#include <string.h>

#include "llm_responses_reader.h"


static int llm_rsp_item(llm_rsp_ctx_t *c, int i, llm_json_t *item);
static int llm_rsp_message(llm_rsp_ctx_t *c, int i, llm_json_t *item);
static int llm_rsp_call(llm_rsp_ctx_t *c, int i, llm_json_t *item);
static int llm_rsp_output(llm_rsp_ctx_t *c, int i, llm_json_t *item);


int
llm_rsp_input(llm_rsp_ctx_t *c, llm_json_t *input)
{
    int          i;
    llm_json_t  *item;

    if (input == NULL || cJSON_IsNull(input)) {
        return llm_rsp_fail(c, "input", "missing_required_parameter",
                            "Missing required parameter: 'input'.");
    }

    if (cJSON_IsString(input)) {
        if ((c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
            || llm_buf_append_lit(c->b, "{\"role\":\"user\",\"content\":")
               != LLM_OK
            || llm_rsp_str(c->b, input->valuestring) != LLM_OK
            || llm_buf_append_lit(c->b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }

        return LLM_OK;
    }

    if (!cJSON_IsArray(input)) {
        return llm_rsp_fail(c, "input", "invalid_type",
                            "Invalid type for 'input': expected a string or "
                            "an array of input items, but got %s instead.",
                            llm_json_type_name(input));
    }

    i = 0;

    cJSON_ArrayForEach(item, input) {
        if (llm_rsp_item(c, i++, item) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (c->assistant && llm_buf_append_cstr(c->b, c->ncalls ? "]}" : "}")
                        != LLM_OK)
    {
        return LLM_ERROR;
    }

    c->assistant = 0;

    return LLM_OK;
}


/* closes an open assistant message unless a function call continues it */

static int
llm_rsp_close(llm_rsp_ctx_t *c)
{
    if (!c->assistant) {
        return LLM_OK;
    }

    c->assistant = 0;

    return llm_buf_append_cstr(c->b, c->ncalls ? "]}" : "}");
}


static int
llm_rsp_item(llm_rsp_ctx_t *c, int i, llm_json_t *item)
{
    char         param[64];
    const char  *type;

    if (!cJSON_IsObject(item)) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, NULL),
                            "invalid_type",
                            "Invalid type for 'input[%d]': expected an "
                            "object, but got %s instead.", i,
                            llm_json_type_name(item));
    }

    type = llm_json_get_str(item, "type");

    if (type == NULL && llm_json_get(item, "type") != NULL) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, "type"),
                            "invalid_type",
                            "Invalid type for 'input[%d].type': expected a "
                            "string.", i);
    }

    if (type == NULL || strcmp(type, "message") == 0) {
        return llm_rsp_message(c, i, item);
    }

    if (strcmp(type, "function_call") == 0) {
        return llm_rsp_call(c, i, item);
    }

    if (llm_rsp_close(c) != LLM_OK) {
        return LLM_ERROR;
    }

    if (strcmp(type, "function_call_output") == 0) {
        return llm_rsp_output(c, i, item);
    }

    if (strcmp(type, "reasoning") == 0) {
        return LLM_OK;
    }

    if (strcmp(type, "item_reference") == 0) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, NULL),
                            "invalid_value",
                            "Invalid 'input[%d]': item_reference needs the "
                            "items OpenAI stored; send the items "
                            "themselves.", i);
    }

    /* hosted tools' calls and outputs: computer, web search, MCP, ... */
    llm_rsp_native(c, "an input item of type '%s'", type);

    return LLM_OK;
}


/* a message's parts: text, image, file */

static int
llm_rsp_parts(llm_rsp_ctx_t *c, int i, llm_json_t *content)
{
    int          j, n;
    char         param[64];
    llm_json_t  *part, *text, *url;
    const char  *type, *detail;

    j = 0;
    n = 0;

    if (llm_buf_append_lit(c->b, "[") != LLM_OK) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");
        text = llm_json_get(part, "text");

        if (llm_rsp_is(type, "input_text") || llm_rsp_is(type, "output_text"))
        {
            if (!cJSON_IsString(text)) {
                goto invalid;
            }

            if ((n++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
                || llm_buf_append_lit(c->b, "{\"type\":\"text\",\"text\":")
                   != LLM_OK
                || llm_rsp_str(c->b, text->valuestring) != LLM_OK
                || llm_buf_append_lit(c->b, "}") != LLM_OK)
            {
                return LLM_ERROR;
            }

        } else if (llm_rsp_is(type, "input_image")) {
            url = llm_json_get(part, "image_url");
            detail = llm_json_get_str(part, "detail");

            if (!cJSON_IsString(url)) {
                if (llm_json_get(part, "file_id")) {
                    llm_rsp_native(c, "an input_image by file_id%s", NULL);
                    j++;
                    continue;
                }

                goto invalid;
            }

            if ((n++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
                || llm_buf_append_lit(c->b, "{\"type\":\"image_url\","
                                            "\"image_url\":{\"url\":")
                   != LLM_OK
                || llm_rsp_str(c->b, url->valuestring) != LLM_OK
                || (detail && strcmp(detail, "original") != 0
                    && (llm_buf_append_lit(c->b, ",\"detail\":") != LLM_OK
                        || llm_rsp_str(c->b, detail) != LLM_OK))
                || llm_buf_append_lit(c->b, "}}") != LLM_OK)
            {
                return LLM_ERROR;
            }

        } else if (llm_rsp_is(type, "input_file")) {
            llm_rsp_native(c, "an input_file part%s", NULL);

        } else {
            goto invalid;
        }

        j++;
    }

    return llm_buf_append_lit(c->b, "]");

invalid:

    return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, "content",
                                         j, NULL),
                        "invalid_value",
                        "Invalid 'input[%d].content[%d]': expected an "
                        "input_text (with its text), input_image (with its "
                        "image_url) or input_file part.", i, j);
}


/* an assistant's parts: its text, joined */

static int
llm_rsp_assistant_text(llm_rsp_ctx_t *c, int i, llm_json_t *content)
{
    int          j;
    char         param[64];
    llm_buf_t    text;
    llm_json_t  *part, *s;
    const char  *type;

    if (cJSON_IsString(content)) {
        return llm_rsp_str(c->b, content->valuestring);
    }

    memset(&text, 0, sizeof(llm_buf_t));
    j = 0;

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");
        s = llm_json_get(part, llm_rsp_is(type, "refusal") ? "refusal"
                                                           : "text");

        if (!(llm_rsp_is(type, "output_text") || llm_rsp_is(type, "input_text")
              || llm_rsp_is(type, "refusal"))
            || !cJSON_IsString(s))
        {
            llm_buf_free(&text);
            return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i,
                                                 "content", j, NULL),
                                "invalid_value",
                                "Invalid 'input[%d].content[%d]': an "
                                "assistant message holds output_text and "
                                "refusal parts.", i, j);
        }

        if (llm_buf_append_cstr(&text, s->valuestring) != LLM_OK) {
            llm_buf_free(&text);
            return LLM_ERROR;
        }

        j++;
    }

    j = llm_buf_append_json_string(c->b, text.data ? text.data : "",
                                   text.len);
    llm_buf_free(&text);

    return j;
}


static int
llm_rsp_message(llm_rsp_ctx_t *c, int i, llm_json_t *item)
{
    char         param[64];
    llm_json_t  *content;
    const char  *role;

    role = llm_json_get_str(item, "role");
    content = llm_json_get(item, "content");

    if (!(llm_rsp_is(role, "user") || llm_rsp_is(role, "assistant")
          || llm_rsp_is(role, "system") || llm_rsp_is(role, "developer")))
    {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, "role"),
                            "invalid_value",
                            "Invalid value for 'input[%d].role': expected "
                            "one of 'user', 'assistant', 'system' or "
                            "'developer'.", i);
    }

    if (!cJSON_IsString(content) && !cJSON_IsArray(content)) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, "content"),
                            "invalid_type",
                            "Invalid type for 'input[%d].content': expected "
                            "a string or an array of parts.", i);
    }

    if (llm_rsp_close(c) != LLM_OK
        || (c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
        || llm_buf_append_lit(c->b, "{\"role\":\"") != LLM_OK
        || llm_buf_append_cstr(c->b, role) != LLM_OK
        || llm_buf_append_lit(c->b, "\",\"content\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (strcmp(role, "assistant") == 0) {
        /* left open: function calls that follow join it */
        c->assistant = 1;
        c->ncalls = 0;
        return llm_rsp_assistant_text(c, i, content);
    }

    if (cJSON_IsString(content)) {
        if (llm_rsp_str(c->b, content->valuestring) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_rsp_parts(c, i, content) != LLM_OK) {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(c->b, "}");
}


static int
llm_rsp_call(llm_rsp_ctx_t *c, int i, llm_json_t *item)
{
    char         param[64];
    const char  *call_id, *name, *args, *bad;

    call_id = llm_json_get_str(item, "call_id");
    name = llm_json_get_str(item, "name");
    args = llm_json_get_str(item, "arguments");

    bad = (call_id == NULL) ? "call_id" : (name == NULL) ? "name"
          : (args == NULL) ? "arguments" : NULL;

    if (bad) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, bad),
                            "missing_required_parameter",
                            "Missing required parameter: 'input[%d].%s' (a "
                            "string).", i, bad);
    }

    if (!c->assistant) {
        if ((c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
            || llm_buf_append_lit(c->b, "{\"role\":\"assistant\","
                                        "\"content\":null") != LLM_OK)
        {
            return LLM_ERROR;
        }

        c->assistant = 1;
        c->ncalls = 0;
    }

    if (llm_buf_append_cstr(c->b, c->ncalls++ ? "," : ",\"tool_calls\":[")
        != LLM_OK
        || llm_buf_append_lit(c->b, "{\"id\":") != LLM_OK
        || llm_rsp_str(c->b, call_id) != LLM_OK
        || llm_buf_append_lit(c->b, ",\"type\":\"function\",\"function\":"
                                    "{\"name\":") != LLM_OK
        || llm_rsp_str(c->b, name) != LLM_OK
        || llm_buf_append_lit(c->b, ",\"arguments\":") != LLM_OK
        || llm_rsp_str(c->b, args) != LLM_OK
        || llm_buf_append_lit(c->b, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_rsp_output(llm_rsp_ctx_t *c, int i, llm_json_t *item)
{
    int          j;
    char         param[64];
    llm_buf_t    text;
    llm_json_t  *output, *part, *s;
    const char  *call_id;

    call_id = llm_json_get_str(item, "call_id");
    output = llm_json_get(item, "output");

    if (call_id == NULL) {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, "call_id"),
                            "missing_required_parameter",
                            "Missing required parameter: "
                            "'input[%d].call_id' (a string).", i);
    }

    memset(&text, 0, sizeof(llm_buf_t));

    if (cJSON_IsString(output)) {
        if (llm_buf_append_cstr(&text, output->valuestring) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (cJSON_IsArray(output)) {
        j = 0;

        cJSON_ArrayForEach(part, output) {
            s = llm_json_get(part, "text");

            if (!llm_rsp_is(llm_json_get_str(part, "type"), "input_text")
                || !cJSON_IsString(s))
            {
                llm_buf_free(&text);
                return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i,
                                                     "output", j, NULL),
                                    "invalid_value",
                                    "Invalid 'input[%d].output[%d]': only "
                                    "input_text parts can be sent to "
                                    "this model as a tool's output.", i, j);
            }

            if (llm_buf_append_cstr(&text, s->valuestring) != LLM_OK) {
                llm_buf_free(&text);
                return LLM_ERROR;
            }

            j++;
        }

    } else {
        return llm_rsp_fail(c, llm_rsp_param(param, sizeof(param), i, NULL,
                                             -1, "output"),
                            "invalid_type",
                            "Invalid type for 'input[%d].output': expected "
                            "a string or an array of parts.", i);
    }

    j = ((c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
         || llm_buf_append_lit(c->b, "{\"role\":\"tool\",\"tool_call_id\":")
            != LLM_OK
         || llm_rsp_str(c->b, call_id) != LLM_OK
         || llm_buf_append_lit(c->b, ",\"content\":") != LLM_OK
         || llm_buf_append_json_string(c->b, text.data ? text.data : "",
                                       text.len) != LLM_OK
         || llm_buf_append_lit(c->b, "}") != LLM_OK)
        ? LLM_ERROR : LLM_OK;

    llm_buf_free(&text);

    return j;
}
