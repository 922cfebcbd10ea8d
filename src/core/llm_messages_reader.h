/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Messages request reader's own: its state and the helpers its two
 * files share (llm_messages_request.c: the body and its members;
 * llm_messages_blocks.c: the content blocks of a turn).
 */

#ifndef _LLM_MESSAGES_READER_H_INCLUDED_
#define _LLM_MESSAGES_READER_H_INCLUDED_


#include <string.h>

#include "llm_json.h"
#include "llm_messages.h"


/* the top-level numbers whose bytes are copied: llm_messages_scan() */

#define LLM_MSG_MAX_TOKENS   0
#define LLM_MSG_TEMPERATURE  1
#define LLM_MSG_TOP_P        2
#define LLM_MSG_TOP_K        3
#define LLM_MSG_NUMBERS      4


typedef struct {
    const char       *base;         /* the client's body */
    llm_messages_t   *m;
    llm_error_t      *e;
    llm_buf_t        *b;            /* the internal form: m->chat */
    int               nmsgs;        /* messages written */
    int               ntools;       /* function tools written */
    int               count;        /* a count_tokens body */

    /* the numbers' bytes, NULL: absent or not a number */
    const char       *num[LLM_MSG_NUMBERS];
    const char       *num_end[LLM_MSG_NUMBERS];

    /* where a failure would be: at[.i][.rest][.j], formatted on failure */
    const char       *at;           /* NULL: nowhere in particular */
    const char       *rest;
    int               i;
    int               j;
} llm_messages_ctx_t;


/* appends a C string as a JSON string */
#define llm_messages_str(b, s)                                               \
    llm_buf_append_json_string(b, s, strlen(s))


/* the failure at the current member: LLM_ERROR, with c->e filled in */
int llm_messages_fail(llm_messages_ctx_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* where the next failure would be: at[.i][.rest][.j] */
void llm_messages_at(llm_messages_ctx_t *c, const char *at, int i,
    const char *rest, int j);

/* notes the first thing only Anthropic serves */
void llm_messages_native(llm_messages_ctx_t *c, const char *what,
    const char *name);

/* {"role":"<role>","content": and a message of one string */
int llm_messages_open(llm_messages_ctx_t *c, const char *role);
int llm_messages_text_message(llm_messages_ctx_t *c, const char *role,
    const char *s, size_t n);

/* a turn's content blocks: llm_messages_blocks.c */
int llm_messages_user(llm_messages_ctx_t *c, int i, llm_json_t *content);
int llm_messages_assistant(llm_messages_ctx_t *c, int i,
    llm_json_t *content);


#endif /* _LLM_MESSAGES_READER_H_INCLUDED_ */
