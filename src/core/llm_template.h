/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Prompt templates and prompt decorators: a chat request body rewritten
 * before it is validated and translated, so that every dialect, stream
 * or not, sees plain OpenAI messages.
 *
 * Request shape (the OpenAI SDKs send it with extra_body):
 *
 *   {"model": "...",
 *    "template": {"name": "support", "variables": {"product": "X"}},
 *    "messages": [...]}                       (optional, come after)
 *
 * The result's messages are: the prepended messages (each layer in
 * order), the template's messages with {{variable}} replaced, the
 * request's messages, then the appended messages.  "template" is removed.
 */

#ifndef _LLM_TEMPLATE_H_INCLUDED_
#define _LLM_TEMPLATE_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"


#define LLM_PROMPT_LAYERS  4


typedef struct llm_prompt_s  llm_prompt_t;

struct llm_prompt_s {
    /* arrays of {"role","content"} messages; NULL: none */
    llm_json_t   *prepend[LLM_PROMPT_LAYERS];
    llm_json_t   *append[LLM_PROMPT_LAYERS];

    /* the messages of a template, or NULL when there is none so named */
    llm_json_t *(*find_template)(void *data, const char *name);

    /* may add the model's decorators to pr once the model is known */
    void        (*model)(void *data, const char *model, llm_prompt_t *pr);

    void         *data;
};


/*
 * LLM_DECLINED: nothing to change (the body is not an object with a
 * string model, or no template and no decorator applies: the usual
 * validation takes it from there); LLM_OK: out holds the new body;
 * LLM_ERROR: e is set (400, 404 template_not_found, 500).
 */
int llm_prompt_apply(const char *p, size_t n, llm_prompt_t *pr,
    llm_buf_t *out, llm_error_t *e);

/*
 * {{name}} (spaces inside the braces allowed) replaced by the string
 * value of vars' member "name".  Returns LLM_OK, LLM_DECLINED with the
 * first missing name in missing (NUL-terminated, cut to size), or
 * LLM_ERROR (memory).  Anything not a placeholder is copied as is.
 */
int llm_template_expand(const char *s, size_t n, llm_json_t *vars,
    llm_buf_t *out, char *missing, size_t size);

/* a JSON messages array from a template file; NULL and msg on error */
llm_json_t *llm_template_parse_messages(const char *p, size_t n,
    char *msg, size_t size);


#endif /* _LLM_TEMPLATE_H_INCLUDED_ */
