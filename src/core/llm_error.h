/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * OpenAI-style errors: {"error":{"message","type","param","code"}}.
 */

#ifndef _LLM_ERROR_H_INCLUDED_
#define _LLM_ERROR_H_INCLUDED_


#include "llm_buf.h"


#define LLM_ERR_MSG_LEN  1024


typedef struct {
    int          status;        /* HTTP status for the client */
    const char  *type;          /* static string */
    char         param[64];     /* "" = null */
    char         code[64];      /* "" = null */
    char         message[LLM_ERR_MSG_LEN];
} llm_error_t;


void llm_error_set(llm_error_t *e, int status, const char *param,
    const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/*
 * 400 invalid_json for a body that failed at byte off: "Invalid UTF-8"
 * when that byte is not ASCII, else "Invalid JSON", with line and column
 */
void llm_error_invalid_json(llm_error_t *e, const char *p, size_t n,
    size_t off);

/*
 * Replaces every copy of a secret (the provider key) in e's words by
 * LLM_ERR_MASK: a provider may echo the key it was sent in its error.
 * Secrets shorter than LLM_ERR_MASK_MIN bytes are left alone.
 */
#define LLM_ERR_MASK      "[redacted]"
#define LLM_ERR_MASK_MIN  12

void llm_error_mask(llm_error_t *e, const char *secret, size_t len);

/* the OpenAI error type for an HTTP status (529 counts as 503) */
const char *llm_error_type(int status);

/* a provider's error status whose body says nothing usable */
void llm_error_no_message(llm_error_t *e, int status, int is_json);

/* appends the JSON envelope */
int llm_error_json(const llm_error_t *e, llm_buf_t *b);

/* appends "data: <envelope>\n\ndata: [DONE]\n\n" */
int llm_error_frame(const llm_error_t *e, llm_buf_t *b);


#endif /* _LLM_ERROR_H_INCLUDED_ */
