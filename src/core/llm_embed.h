/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * OpenAI embeddings (POST /v1/embeddings) in and out, spoken to the
 * providers that embed: the openai dialect (OpenAI, Mistral, any
 * compatible server), Gemini (:batchEmbedContents) and Voyage.
 *
 * The client's inputs are sent in batches (from, n); each provider
 * response appends its vectors to one result, renumbered in input order,
 * and the result is written once as an OpenAI "list" object.
 */

#ifndef _LLM_EMBED_H_INCLUDED_
#define _LLM_EMBED_H_INCLUDED_


#include "llm_buf.h"
#include "llm_json.h"
#include "llm_error.h"


typedef struct {
    llm_json_t   *root;         /* the client's body; owned */
    llm_json_t   *input;        /* an array of inputs (root's, or made) */
    char         *model;        /* NUL-terminated; points into root */
    int           count;        /* number of inputs */
    long long     dimensions;   /* 0: not given */
    unsigned      tokens:1;     /* inputs are token arrays */
    unsigned      base64:1;     /* encoding_format "base64" */

    /* where the last batch ended: batches go forward, lists are linked */
    llm_json_t   *cursor;
    int           cursor_index;
} llm_embed_request_t;


/* what the gateway's configuration adds for one model */

typedef struct {
    const char   *upstream_model;
    const char   *task_type;    /* Gemini taskType, Voyage input_type */
    long long     dimensions;   /* when the client gives none; 0: none */
} llm_embed_target_t;


typedef struct {
    llm_buf_t     data;         /* the items so far, comma-separated */
    int           count;        /* items so far */
    long long     prompt_tokens;
    long long     total_tokens;
    unsigned      base64:1;     /* the client's encoding */
} llm_embed_result_t;


typedef struct {
    const char   *name;
    int           max_batch;    /* the provider's inputs per request */
    int           batch;        /* the default */
    unsigned      tokens:1;     /* takes token arrays */
    const char   *auth_prefix;

    /* the path after the provider's base */
    int         (*path)(const char *upstream_model, llm_buf_t *path);

    /* the provider body for inputs [from, from + n) */
    int         (*build)(llm_embed_request_t *req,
                         const llm_embed_target_t *t, int from, int n,
                         llm_buf_t *body);

    /* a 2xx body holding n vectors → appended to res; LLM_ERROR sets e */
    int         (*response)(llm_embed_result_t *res, int n, const char *p,
                            size_t len, llm_error_t *e);

    /* a non-2xx body → OpenAI error */
    void        (*error)(int status, const char *p, size_t n,
                         llm_error_t *e);

    /* NULL: task_type is not taken */
    const char *const  *task_types;
} llm_embed_dialect_t;


/* every embeddings dialect, NULL-terminated */
extern const llm_embed_dialect_t  *const llm_embed_dialects[];

const llm_embed_dialect_t *llm_embed_dialect_find(const char *name,
    size_t len);

/* 1 if task is one of the dialect's task types */
int llm_embed_task_valid(const llm_embed_dialect_t *d, const char *task,
    size_t len);

/* LLM_OK, or LLM_ERROR with e filled in (400 naming the param) */
int llm_embed_request_parse(llm_embed_request_t *req, const char *p,
    size_t n, llm_error_t *e);
void llm_embed_request_free(llm_embed_request_t *req);

/* {"object":"list","data":[...],"model":...,"usage":{...}} */
int llm_embed_result_finish(llm_embed_result_t *res, const char *model,
    llm_buf_t *out);
void llm_embed_result_free(llm_embed_result_t *res);


/*
 * A cache of vectors per input: the inputs it has are left out of the
 * request (keep[i] = 0), the vectors of those sent are read out of the
 * result, and a result is assembled in input order from both.
 */

typedef struct {
    const char   *p;            /* a vector as the client gets it */
    size_t        n;
} llm_embed_value_t;

/* only the inputs i with keep[i] stay; the count of those left */
int llm_embed_request_keep(llm_embed_request_t *req,
    const unsigned char *keep);

/* the result's n vectors, in order: LLM_OK, LLM_ERROR (not n of them) */
int llm_embed_result_values(const llm_embed_result_t *res,
    llm_embed_value_t *values, int n);

/* one more item, the vector given */
int llm_embed_result_add(llm_embed_result_t *res, const char *p, size_t n);

/* standard base64, with '=' padding */
int llm_base64_encode(llm_buf_t *b, const unsigned char *p, size_t n);

/* LLM_ERROR on a bad character or length; *out_len <= n / 4 * 3 */
int llm_base64_decode(const char *s, size_t n, unsigned char *out,
    size_t *out_len);


extern const llm_embed_dialect_t  llm_embed_openai;
extern const llm_embed_dialect_t  llm_embed_gemini;
extern const llm_embed_dialect_t  llm_embed_voyage;


/* shared by llm_embed.c and llm_embed_provider.c */
llm_json_t *llm_embed_slice(llm_embed_request_t *req, int from, int n);
int llm_embed_print(llm_json_t *j, llm_buf_t *body);
long long llm_embed_dimensions(llm_embed_request_t *req,
    const llm_embed_target_t *t);
int llm_embed_bad(llm_error_t *e, const char *what);
int llm_embed_vector(llm_embed_result_t *res, llm_json_t *v, llm_error_t *e);


#endif /* _LLM_EMBED_H_INCLUDED_ */
