/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The Responses request reader's own: its state and the helpers its two
 * files share (llm_responses_request.c: the body and its members;
 * llm_responses_items.c: the input's items).
 */

#ifndef _LLM_RESPONSES_READER_H_INCLUDED_
#define _LLM_RESPONSES_READER_H_INCLUDED_


#include <string.h>

#include "llm_json.h"
#include "llm_responses.h"


/*
 * The top-level members whose bytes are copied as the client sent them
 * (into the internal form, and the echo, whose first LLM_RSP_ECHOED they
 * are, in its order): llm_rsp_scan() finds them
 */

#define LLM_RSP_INSTRUCTIONS   0
#define LLM_RSP_MAX_OUTPUT     1
#define LLM_RSP_METADATA       2
#define LLM_RSP_PARALLEL       3
#define LLM_RSP_PREVIOUS       4
#define LLM_RSP_TEMPERATURE    5
#define LLM_RSP_TOOL_CHOICE    6
#define LLM_RSP_TOOLS          7
#define LLM_RSP_TOP_P          8
#define LLM_RSP_TRUNCATION     9
#define LLM_RSP_USER           10
#define LLM_RSP_ECHOED         11
#define LLM_RSP_SAFETY_ID      11
#define LLM_RSP_SPANS          12


typedef struct {
    const char        *base;          /* the client's body */
    llm_responses_t   *rq;
    llm_error_t       *e;
    llm_buf_t         *b;             /* the internal form: rq->chat */
    int                nmsgs;         /* messages written */
    int                assistant;     /* an assistant message is open */
    int                ncalls;        /* its tool calls */

    /* the members' bytes; NULL: absent (or null, or a duplicate after) */
    const char        *span[LLM_RSP_SPANS];
    const char        *span_end[LLM_RSP_SPANS];
    unsigned           seen;          /* bit i: member i came first */
} llm_rsp_ctx_t;


/* appends a C string as a JSON string */
#define llm_rsp_str(b, s)  llm_buf_append_json_string(b, s, strlen(s))

#define llm_rsp_is(s, lit)  ((s) != NULL && strcmp(s, lit) == 0)


/* a 400 with param and code: LLM_ERROR */
int llm_rsp_fail(llm_rsp_ctx_t *c, const char *param, const char *code,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* "input[i][.rest][[j]][.tail]" in buf, formatted only on failure */
const char *llm_rsp_param(char *buf, size_t size, int i, const char *rest,
    int j, const char *tail);

/* notes the first thing only OpenAI's own Responses API serves */
void llm_rsp_native(llm_rsp_ctx_t *c, const char *fmt, const char *name);

/* the input, a string or items: llm_responses_items.c */
int llm_rsp_input(llm_rsp_ctx_t *c, llm_json_t *input);


#endif /* _LLM_RESPONSES_READER_H_INCLUDED_ */
