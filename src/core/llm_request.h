/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Parse and validate an OpenAI Chat Completions request body.
 *
 * Validation runs on the JSON scanner: no tree is built for it.  A
 * dialect that needs the tree (to rewrite the body) asks for it with
 * llm_request_tree(); the openai dialect usually splices the raw bytes.
 */

#ifndef _LLM_REQUEST_H_INCLUDED_
#define _LLM_REQUEST_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"


/* the bytes of one value, quotes included; start == NULL: absent or null */

typedef struct {
    const char   *start;
    const char   *end;
} llm_span_t;


/* messages kept in the request itself; more go to the heap */
#define LLM_PLAIN_INLINE_MESSAGES  32

typedef enum {
    LLM_ROLE_SYSTEM = 0,         /* "developer" too */
    LLM_ROLE_USER,
    LLM_ROLE_ASSISTANT
} llm_role_e;


/*
 * A plain chat: text messages with string contents, any number of them,
 * and only the parameters listed here.  Most requests are; the dialects
 * that rewrite the body build it from these spans, without a tree.
 */

typedef struct {
    llm_role_e    role;
    llm_span_t    content;       /* a JSON string */
} llm_plain_message_t;


typedef struct {
    int                   nmessages;
    int                   nalloc;    /* of a heap array; 0: the inline one */
    llm_plain_message_t  *messages;  /* inline, or on the heap */
    llm_plain_message_t   inline_messages[LLM_PLAIN_INLINE_MESSAGES];

    llm_span_t    temperature;
    llm_span_t    top_p;
    llm_span_t    n;
    llm_span_t    seed;
    llm_span_t    max_tokens;
    llm_span_t    max_completion_tokens;
    llm_span_t    stop;
    llm_span_t    user;
} llm_plain_t;


/*
 * A message's long text, kept out of the tree: the tree holds a
 * mark in its place ("\x7f" + 6 digits + "\x7f"), which the dialects'
 * output carries through and llm_request_texts_back() replaces with the
 * text's own escaped bytes.  Parsing and writing a conversation's texts
 * again is most of what a tree costs.
 */

typedef llm_json_text_t  llm_request_text_t;


typedef struct {
    llm_json_t   *root;          /* llm_request_tree(); owned */
    llm_json_arena_t  *arena;    /* root's memory; NULL: cJSON's own */
    char         *model;         /* NUL-terminated copy; owned */
    int           stream;
    int           include_usage; /* stream_options.include_usage */

    /* the body as received (the caller keeps it), for splicing */
    const char   *raw;
    size_t        raw_len;
    size_t        model_start;   /* the model value's bytes, quotes too */
    size_t        model_end;
    unsigned      has_stream_options:1;
    unsigned      plain:1;       /* spans hold the whole request */
    unsigned      template:1;    /* a top-level "template": to apply first
                                    (llm_prompt_apply), set even when the
                                    request is refused */

    /* set by the caller before build_request: 0 = the dialect's own */
    long long     max_tokens_default;

    /* max_completion_tokens or max_tokens as the client gave it; 0: none */
    long long     max_output;

    /* a plain request's spans (owned; NULL: not plain): apart, to keep
     * the request small for the rest of a long stream */
    llm_plain_t  *spans;

    /* the texts the tree holds marks for (owned) */
    llm_request_text_t  *texts;
    int                  ntexts;
    unsigned             whole_tree:1;  /* no marks: every text in it */
    unsigned             marked:1;      /* the tree has marks */
    unsigned             args_checked:1; /* llm_request_call_args() found
                                            every call's arguments good */
} llm_request_t;


/*
 * Returns LLM_OK, or LLM_ERROR with e filled in (status 400 and the
 * offending param).  Nothing is left to free on error.
 */
int llm_request_parse(llm_request_t *req, const char *p, size_t n,
    llm_error_t *e);

/* the body as a cJSON tree, parsed on first use; NULL on failure */
llm_json_t *llm_request_tree(llm_request_t *req);

/* the long texts back in a dialect's output, from offset from on */
int llm_request_texts_back(llm_request_t *req, llm_buf_t *b, size_t from);

/*
 * A tool call's arguments, the object as the client wrote it: "{}" when
 * blank or absent; NULL when not an object (the checks refuse those).
 * Once a check has found them all good (args_checked), not again.
 */
const char *llm_request_call_args(llm_request_t *req, llm_json_t *call);

/* a value of the tree as JSON: the client's own bytes where the tree
 * keeps them (objects, arrays), else printed */
int llm_request_print(llm_request_t *req, llm_json_t *j, llm_buf_t *b);

/* a message's content string the scan found (llm_request_texts.c) */
int llm_request_text_found(llm_request_t *req, const char *start,
    const char *end);

void llm_request_free(llm_request_t *req);

/* a span's number (strtod) */
double llm_span_number(const llm_span_t *s);


/* a plain request's spans written out (llm_plain.c) */

/* a string's bytes between the quotes */
#define llm_plain_inner(s)       ((s)->start + 1)
#define llm_plain_inner_len(s)   ((size_t) ((s)->end - (s)->start - 2))

int llm_plain_append(llm_buf_t *b, const llm_span_t *s);
int llm_plain_number(llm_buf_t *b, const char *name, const llm_span_t *s);
int llm_plain_stop(llm_buf_t *b, const char *name, const llm_span_t *s,
    int empty_too);
long long llm_plain_max_tokens(llm_request_t *req);

#endif /* _LLM_REQUEST_H_INCLUDED_ */
