/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Messages API's answers the gateway writes itself: count_tokens'
 * estimate when no Anthropic provider counts, and errors in Anthropic's
 * envelope.  The request reader is llm_messages_request.c, the writers
 * llm_writer_anthropic.c.
 */

#include <string.h>

#include "llm_json.h"
#include "llm_json_scan.h"
#include "llm_messages.h"


/*
 * count_tokens without Anthropic.  Errs high: a token for every 3 bytes
 * of ASCII text (English runs near 4), one for every other character,
 * keys and JSON schemas counted as text, 4 per message or block, 1,600
 * per image (Anthropic's largest) with its data not counted.
 */

static long long
llm_messages_count_text(const char *s)
{
    long long  ascii, other;

    ascii = 0;
    other = 0;

    for ( /* void */ ; *s; s++) {
        if ((unsigned char) *s < 0x80) {
            ascii++;

        } else if (((unsigned char) *s & 0xc0) != 0x80) {
            other++;
        }
    }

    return (ascii + 2) / 3 + other;
}


static long long
llm_messages_count(llm_json_t *v)
{
    long long    n;
    llm_json_t  *item;
    const char  *type;

    if (cJSON_IsString(v)) {
        return llm_messages_count_text(v->valuestring);
    }

    if (cJSON_IsNumber(v) || cJSON_IsBool(v)) {
        return 1;
    }

    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
        return 0;
    }

    type = llm_json_get_str(v, "type");

    if (type && (strcmp(type, "image") == 0 || strcmp(type, "document") == 0))
    {
        return 1600;
    }

    n = 4;

    cJSON_ArrayForEach(item, v) {
        if (item->string) {
            n += llm_messages_count_text(item->string);
        }

        n += llm_messages_count(item);
    }

    return n;
}


long long
llm_messages_estimate(const char *p, size_t n)
{
    long long          tokens;
    llm_json_t        *root;
    llm_json_arena_t  *arena;

    if (llm_json_valid(p, n, NULL) != LLM_OK) {
        return -1;
    }

    root = llm_json_tree(p, n, NULL, 0, NULL, 0, &arena);

    tokens = -1;

    if (cJSON_IsObject(root)) {
        tokens = 8 + llm_messages_count(llm_json_get(root, "system"))
                 + llm_messages_count(llm_json_get(root, "messages"))
                 + llm_messages_count(llm_json_get(root, "tools"));
    }

    llm_json_arena_free(arena);

    return tokens;
}


/* errors as Anthropic writes them */

const char *
llm_messages_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 504:
        return "timeout_error";
    case 503:
    case 529:
        return "overloaded_error";
    }

    return (status >= 500) ? "api_error" : "invalid_request_error";
}


int
llm_messages_error_json(const llm_error_t *e, llm_buf_t *b)
{
    const char  *type;

    type = llm_messages_error_type(e->status);

    if (llm_buf_append_lit(b, "{\"type\":\"error\",\"error\":{\"type\":")
        != LLM_OK
        || llm_buf_append_json_string(b, type, strlen(type)) != LLM_OK
        || llm_buf_append_lit(b, ",\"message\":") != LLM_OK
        || llm_buf_append_json_string(b, e->message, strlen(e->message))
           != LLM_OK
        || llm_buf_append_lit(b, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
