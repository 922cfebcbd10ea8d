/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Messages request reader, a turn's content blocks (the mapping is
 * in llm_messages_request.c's head): a user turn's tool results become
 * tool messages and its text and images one user message; an assistant
 * turn's text is its content and its tool_use blocks its tool calls.
 * Thinking blocks stay Claude's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_messages_reader.h"


static int llm_messages_image(llm_messages_ctx_t *c, llm_json_t *block,
    llm_buf_t *parts);
static int llm_messages_tool_result(llm_messages_ctx_t *c,
    llm_json_t *block);


/*
 * A user turn: its tool results are tool messages, written first; its
 * text and images are one user message after them (a string when it is
 * one text block).
 */

int
llm_messages_user(llm_messages_ctx_t *c, int i, llm_json_t *content)
{
    int          j, nparts, rc;
    llm_buf_t    parts;
    llm_json_t  *block, *text, *only;
    const char  *type;

    memset(&parts, 0, sizeof(llm_buf_t));

    nparts = 0;
    only = NULL;
    j = 0;
    rc = LLM_ERROR;

    cJSON_ArrayForEach(block, content) {
        llm_messages_at(c, "messages", i, "content", j++);

        type = llm_json_get_str(block, "type");

        if (strcmp(type, "text") == 0) {
            text = llm_json_get(block, "text");

            if (!cJSON_IsString(text)) {
                llm_messages_fail(c, "text: Input should be a valid string");
                goto done;
            }

            if ((nparts++ && llm_buf_append_lit(&parts, ",") != LLM_OK)
                || llm_buf_append_lit(&parts, "{\"type\":\"text\",\"text\":")
                   != LLM_OK
                || llm_messages_str(&parts, text->valuestring) != LLM_OK
                || llm_buf_append_lit(&parts, "}") != LLM_OK)
            {
                goto done;
            }

            only = (nparts == 1) ? text : NULL;

        } else if (strcmp(type, "image") == 0) {
            if ((nparts++ && llm_buf_append_lit(&parts, ",") != LLM_OK)
                || llm_messages_image(c, block, &parts) != LLM_OK)
            {
                goto done;
            }

            only = NULL;

        } else if (strcmp(type, "tool_result") == 0) {
            if (llm_messages_tool_result(c, block) != LLM_OK) {
                goto done;
            }

        } else if (strcmp(type, "thinking") == 0
                   || strcmp(type, "redacted_thinking") == 0)
        {
            /* Claude's own: it reads them in the client's body */

        } else {
            llm_messages_native(c, "the content block type", type);
        }
    }

    rc = LLM_OK;

    if (nparts == 0) {
        goto done;
    }

    /* one text block: a string, the internal form's fast shape */

    if (only) {
        rc = llm_messages_text_message(c, "user", only->valuestring,
                                       strlen(only->valuestring));
        goto done;
    }

    if (llm_messages_open(c, "user") != LLM_OK
        || llm_buf_append_lit(c->b, "[") != LLM_OK
        || llm_buf_append(c->b, parts.data, parts.len) != LLM_OK
        || llm_buf_append_lit(c->b, "]}") != LLM_OK)
    {
        rc = LLM_ERROR;
    }

done:

    llm_buf_free(&parts);

    return rc;
}


/* {"type":"image_url","image_url":{"url":…}}: data: URL, or the URL */

static int
llm_messages_image(llm_messages_ctx_t *c, llm_json_t *block,
    llm_buf_t *parts)
{
    int          rc;
    llm_buf_t    url;
    llm_json_t  *src;
    const char  *type, *media, *data;

    memset(&url, 0, sizeof(llm_buf_t));

    src = llm_json_get_obj(block, "source");
    type = llm_json_get_str(src, "type");

    if (type && strcmp(type, "base64") == 0) {
        media = llm_json_get_str(src, "media_type");
        data = llm_json_get_str(src, "data");

        if (media == NULL || data == NULL) {
            return llm_messages_fail(c, "source: a base64 image needs "
                                        "\"media_type\" and \"data\"");
        }

        if (llm_buf_append_lit(&url, "data:") != LLM_OK
            || llm_buf_append_cstr(&url, media) != LLM_OK
            || llm_buf_append_lit(&url, ";base64,") != LLM_OK
            || llm_buf_append_cstr(&url, data) != LLM_OK)
        {
            llm_buf_free(&url);
            return LLM_ERROR;
        }

    } else if (type && strcmp(type, "url") == 0
               && llm_json_get_str(src, "url"))
    {
        if (llm_buf_append_cstr(&url, llm_json_get_str(src, "url"))
            != LLM_OK)
        {
            llm_buf_free(&url);
            return LLM_ERROR;
        }

    } else {
        return llm_messages_fail(c, "source: Input should be a base64 or url "
                                    "image source");
    }

    rc = (llm_buf_append_lit(parts, "{\"type\":\"image_url\",\"image_url\":"
                                    "{\"url\":") == LLM_OK
          && llm_buf_append_json_string(parts, url.data, url.len) == LLM_OK
          && llm_buf_append_lit(parts, "}}") == LLM_OK)
         ? LLM_OK : LLM_ERROR;

    llm_buf_free(&url);

    return rc;
}


/* a tool's answer: a tool message (text; an error says so) */

static int
llm_messages_tool_result(llm_messages_ctx_t *c, llm_json_t *block)
{
    int          rc;
    size_t       start;
    llm_buf_t    text;
    llm_json_t  *content, *b;
    const char  *id, *type;

    id = llm_json_get_str(block, "tool_use_id");

    if (id == NULL) {
        return llm_messages_fail(c, "tool_use_id: Field required");
    }

    content = llm_json_get(block, "content");

    if (content && !cJSON_IsNull(content) && !cJSON_IsString(content)
        && !cJSON_IsArray(content))
    {
        return llm_messages_fail(c, "content: Input should be a valid "
                                    "string or list of blocks");
    }

    memset(&text, 0, sizeof(llm_buf_t));

    rc = LLM_ERROR;

    if (cJSON_IsTrue(llm_json_get(block, "is_error"))
        && llm_buf_append_lit(&text, "Error: ") != LLM_OK)
    {
        goto done;
    }

    if (cJSON_IsString(content)
        && llm_buf_append_cstr(&text, content->valuestring) != LLM_OK)
    {
        goto done;
    }

    start = text.len;

    if (!cJSON_IsArray(content)) {
        content = NULL;
    }

    cJSON_ArrayForEach(b, content) {
        type = llm_json_get_str(b, "type");

        if (type && strcmp(type, "text") == 0 && llm_json_get_str(b, "text"))
        {
            if ((text.len > start
                 && llm_buf_append_lit(&text, "\n") != LLM_OK)
                || llm_buf_append_cstr(&text, llm_json_get_str(b, "text"))
                   != LLM_OK)
            {
                goto done;
            }

        } else {
            llm_messages_native(c, "a tool result's block type",
                                type ? type : "(none)");
        }
    }

    if ((c->nmsgs++ && llm_buf_append_lit(c->b, ",") != LLM_OK)
        || llm_buf_append_lit(c->b, "{\"role\":\"tool\",\"tool_call_id\":")
           != LLM_OK
        || llm_messages_str(c->b, id) != LLM_OK
        || llm_buf_append_lit(c->b, ",\"content\":") != LLM_OK
        || llm_buf_append_json_string(c->b, text.data, text.len) != LLM_OK
        || llm_buf_append_lit(c->b, "}") != LLM_OK)
    {
        goto done;
    }

    rc = LLM_OK;

done:

    llm_buf_free(&text);

    return rc;
}


/* an assistant turn: its text is the content, its tool_use the calls */

int
llm_messages_assistant(llm_messages_ctx_t *c, int i, llm_json_t *content)
{
    int          j, ncalls, rc;
    char        *args;
    llm_buf_t    text, calls;
    llm_json_t  *block, *input;
    const char  *type, *id, *name;

    memset(&text, 0, sizeof(llm_buf_t));
    memset(&calls, 0, sizeof(llm_buf_t));

    ncalls = 0;
    j = 0;
    rc = LLM_ERROR;

    cJSON_ArrayForEach(block, content) {
        llm_messages_at(c, "messages", i, "content", j++);

        type = llm_json_get_str(block, "type");

        if (strcmp(type, "text") == 0) {
            if (!cJSON_IsString(llm_json_get(block, "text"))) {
                llm_messages_fail(c, "text: Input should be a valid string");
                goto done;
            }

            if (llm_buf_append_cstr(&text, llm_json_get_str(block, "text"))
                != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(type, "tool_use") == 0) {
            id = llm_json_get_str(block, "id");
            name = llm_json_get_str(block, "name");
            input = llm_json_get(block, "input");

            if (id == NULL || name == NULL || !cJSON_IsObject(input)) {
                llm_messages_fail(c, "a tool_use block needs a string "
                                     "\"id\" and \"name\" and an object "
                                     "\"input\"");
                goto done;
            }

            args = cJSON_PrintUnformatted(input);
            if (args == NULL) {
                goto done;
            }

            if ((ncalls++ && llm_buf_append_lit(&calls, ",") != LLM_OK)
                || llm_buf_append_lit(&calls, "{\"id\":") != LLM_OK
                || llm_messages_str(&calls, id) != LLM_OK
                || llm_buf_append_lit(&calls, ",\"type\":\"function\","
                                              "\"function\":{\"name\":")
                   != LLM_OK
                || llm_messages_str(&calls, name) != LLM_OK
                || llm_buf_append_lit(&calls, ",\"arguments\":") != LLM_OK
                || llm_messages_str(&calls, args) != LLM_OK
                || llm_buf_append_lit(&calls, "}}") != LLM_OK)
            {
                cJSON_free(args);
                goto done;
            }

            cJSON_free(args);

        } else if (strcmp(type, "thinking") == 0
                   || strcmp(type, "redacted_thinking") == 0)
        {
            /* signed for Claude only: other providers never see them */

        } else {
            llm_messages_native(c, "the content block type", type);
        }
    }

    if (llm_messages_open(c, "assistant") != LLM_OK
        || (text.len
            ? llm_buf_append_json_string(c->b, text.data, text.len)
            : llm_buf_append_lit(c->b, "null")) != LLM_OK
        || (ncalls
            && (llm_buf_append_lit(c->b, ",\"tool_calls\":[") != LLM_OK
                || llm_buf_append(c->b, calls.data, calls.len) != LLM_OK
                || llm_buf_append_lit(c->b, "]") != LLM_OK))
        || llm_buf_append_lit(c->b, "}") != LLM_OK)
    {
        goto done;
    }

    rc = LLM_OK;

done:

    llm_buf_free(&text);
    llm_buf_free(&calls);

    return rc;
}
