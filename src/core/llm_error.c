/*
 * OpenAI-style error envelopes: see llm_error.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "llm_error.h"


static void
llm_error_copy(char *dst, size_t size, const char *src)
{
    size_t  n;

    if (src == NULL) {
        dst[0] = '\0';
        return;
    }

    n = strlen(src);
    if (n >= size) {
        n = size - 1;
    }

    memcpy(dst, src, n);
    dst[n] = '\0';
}


void
llm_error_set(llm_error_t *e, int status, const char *param,
    const char *code, const char *fmt, ...)
{
    va_list  args;

    e->status = (status == 529) ? 503 : status;
    e->type = llm_error_type(e->status);

    llm_error_copy(e->param, sizeof(e->param), param);
    llm_error_copy(e->code, sizeof(e->code), code);

    va_start(args, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, args);
    va_end(args);
}


void
llm_error_no_message(llm_error_t *e, int status, int is_json)
{
    llm_error_set(e, status, NULL, "upstream_error",
                  "The provider returned HTTP %d%s.", status,
                  is_json ? " without an error message"
                          : " with a body that is not JSON");
}


const char *
llm_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    }

    if (status >= 500) {
        return "api_error";
    }

    return "invalid_request_error";
}


int
llm_error_json(const llm_error_t *e, llm_buf_t *b)
{
    if (llm_buf_append_lit(b, "{\"error\":{\"message\":") != LLM_OK
        || llm_buf_append_json_string(b, e->message, strlen(e->message))
           != LLM_OK
        || llm_buf_append_lit(b, ",\"type\":") != LLM_OK
        || llm_buf_append_json_string(b, e->type, strlen(e->type)) != LLM_OK
        || llm_buf_append_lit(b, ",\"param\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (e->param[0] == '\0') {
        if (llm_buf_append_lit(b, "null") != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_json_string(b, e->param, strlen(e->param))
               != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (llm_buf_append_lit(b, ",\"code\":") != LLM_OK) {
        return LLM_ERROR;
    }

    if (e->code[0] == '\0') {
        if (llm_buf_append_lit(b, "null") != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (llm_buf_append_json_string(b, e->code, strlen(e->code))
               != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}}");
}


int
llm_error_frame(const llm_error_t *e, llm_buf_t *b)
{
    if (llm_buf_append_lit(b, "data: ") != LLM_OK
        || llm_error_json(e, b) != LLM_OK
        || llm_buf_append_lit(b, "\n\ndata: [DONE]\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}
