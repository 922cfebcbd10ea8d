/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Parse and validate an OpenAI Chat Completions request body.
 *
 * Validation runs on the JSON scanner: no tree is built for it.  The
 * same scan records every message and parameter as spans of the client's
 * bytes (llm_chat_t), which the dialects that rewrite the body build
 * from, with trees of the pieces that need one (llm_request_pieces());
 * the openai dialect splices the raw bytes, and reads the whole tree
 * (llm_request_tree()) only for its rare rewrites.
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


/*
 * messages kept in the request itself, more go to the heap: a small
 * chat's llm_chat_t stays within malloc's per-thread cache (1 KB)
 */
#define LLM_CHAT_INLINE_MESSAGES  8

typedef enum {
    LLM_ROLE_SYSTEM = 0,         /* "developer" too */
    LLM_ROLE_USER,
    LLM_ROLE_ASSISTANT,
    LLM_ROLE_TOOL,
    LLM_ROLE_FUNCTION
} llm_role_e;


/*
 * A message as the request scan found it: the spans of the members the
 * dialects read (the first of a name, as cJSON's lookups find it).  Only
 * content parts and tool calls have a tree, made by llm_request_pieces()
 * for the messages that have some: texts move as the client escaped
 * them, and a chat of texts has no tree at all.
 */

typedef struct {
    llm_role_e    role;
    llm_span_t    content;       /* a string or an array; NULL: none, null */
    llm_span_t    tool_calls;    /* an array; NULL: none, or not an array */
    llm_span_t    tool_call_id;  /* a string; NULL: none, or not a string */
    llm_span_t    name;          /* a string; NULL: none, or not a string */
    llm_json_t   *parts;         /* content's tree, when an array */
    llm_json_t   *calls;         /* tool_calls' tree, when an array */
} llm_message_t;


/* a top-level member the spans do not hold, for the params' tree */

typedef struct {
    const char   *key;           /* no escapes: llm_request_parse() */
    size_t        key_len;
    llm_span_t    value;
} llm_member_t;


/*
 * The request as the dialects that rewrite it read it: every message,
 * the parameters they map one to one as spans, and the rest (tools,
 * tool_choice, response_format, reasoning_effort, ...) as a tree of
 * those members only, when there are any.
 */

typedef struct {
    int             nmessages;
    int             nalloc;      /* of a heap array; 0: the inline one */
    llm_message_t  *messages;    /* inline, or on the heap */
    llm_message_t   inline_messages[LLM_CHAT_INLINE_MESSAGES];

    llm_span_t      temperature;
    llm_span_t      top_p;
    llm_span_t      n;
    llm_span_t      seed;
    llm_span_t      max_tokens;
    llm_span_t      max_completion_tokens;
    llm_span_t      stop;
    llm_span_t      user;
    llm_span_t      presence_penalty;
    llm_span_t      frequency_penalty;

    /* the other members (malloc'ed), their tree (llm_request_pieces()) */
    llm_member_t   *members;
    int             nmembers;
    llm_json_t     *params;      /* NULL: no other member */

    /* what the messages have: loops over them for it are skipped */
    int             ncalls;      /* messages with tool_calls */
    int             nparts;      /* messages with content parts */
    int             nresults;    /* messages of role "tool" */

    unsigned        pieces:1;    /* llm_request_pieces() has run */
} llm_chat_t;


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
    llm_json_arena_t  *tree_arena;  /* root's memory; NULL: cJSON's own */
    llm_json_arena_t  *arena;    /* the pieces' (llm_request_pieces()) */
    char         *model;         /* NUL-terminated copy; owned */
    int           stream;
    int           include_usage; /* stream_options.include_usage */

    /* the body as received (the caller keeps it), for splicing */
    const char   *raw;
    size_t        raw_len;
    size_t        model_start;   /* the model value's bytes, quotes too */
    size_t        model_end;
    unsigned      has_stream_options:1;
    unsigned      template:1;    /* a top-level "template": to apply first
                                    (llm_prompt_apply), set even when the
                                    request is refused */

    /* set by the caller before build_request: 0 = the dialect's own */
    long long     max_tokens_default;

    /* max_completion_tokens or max_tokens as the client gave it; 0: none */
    long long     max_output;

    /* the request as the dialects read it (owned): apart, to keep the
     * request small for the rest of a long stream */
    llm_chat_t   *chat;

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


/*
 * The trees of the messages' content parts and tool calls, and of the
 * other members (llm_chat_t), in the request's arena; once.  A text
 * chat has none: inline, to cost it nothing.
 */
int llm_request_pieces_build(llm_request_t *req);

static inline int
llm_request_pieces(llm_request_t *req)
{
    llm_chat_t  *chat;

    chat = req->chat;

    if (chat->pieces
        || (chat->nparts == 0 && chat->ncalls == 0 && chat->nmembers == 0))
    {
        return LLM_OK;
    }

    return llm_request_pieces_build(req);
}


/* spans written out (llm_span.c) */

/* a string's bytes between the quotes */
#define llm_span_inner(s)       ((s)->start + 1)
#define llm_span_inner_len(s)   ((size_t) ((s)->end - (s)->start - 2))

int llm_span_append(llm_buf_t *b, const llm_span_t *s);
int llm_span_member(llm_buf_t *b, const char *name, const llm_span_t *s);
int llm_span_stop(llm_buf_t *b, const char *name, const llm_span_t *s,
    int empty_too);
int llm_span_count(const llm_span_t *s);
int llm_span_cstr(const llm_span_t *s, llm_buf_t *b);
int llm_span_equals(const llm_span_t *s, const char *str);
long long llm_span_int(const llm_span_t *s);
int llm_span_member_int(llm_buf_t *b, const char *name, const llm_span_t *s);
long long llm_chat_max_tokens(llm_request_t *req);

#endif /* _LLM_REQUEST_H_INCLUDED_ */
