/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * llm_responses: POST /v1/responses, OpenAI's Responses API, as an
 * operation over the shared ingress, attempts and transport.
 *
 * A Responses request is taken into the internal form
 * (core/llm_responses_request.c) and goes as a chat does: templates and
 * decorators, the route's candidates, each in its dialect, the answer
 * rendered by the Responses writer.  An openai candidate whose provider
 * is marked responses=on gets the client's own body instead (the model
 * replaced) at its /responses, and its answer is relayed as it comes:
 * hosted tools, files and OpenAI's own conversation state then work.
 *
 * Conversation state: with llm_responses_store, a complete translated
 * response is kept under its id, scoped by the client's credential, as
 * the conversation so far (the input's messages and the answer, in the
 * internal form, without the instructions).  previous_response_id puts
 * that conversation before the new input.  An id the store does not
 * hold can only go to OpenAI itself; for another candidate it is a 400.
 */

#include "ngx_http_llm_module.h"
#include <ngx_md5.h>
#include <ngx_sha1.h>

#if (NGX_OPENSSL)
#include <openssl/rand.h>
#endif


typedef struct {
    ngx_str_t                  raw;          /* the client's body */
    size_t                     model_start;  /* its model value */
    size_t                     model_end;
    char                      *native;       /* only OpenAI serves */
    char                       id[40];       /* resp_… */
    ngx_str_t                  conversation; /* kept: before the answer */
    llm_responses_conf_t       conf;         /* the writer's */
    unsigned                   rewritten:1;  /* by templates, decorators */
    unsigned                   resolved:1;   /* previous_response_id found */
    unsigned                   unresolved:1; /* ... and not found */
    unsigned                   store_missing:1;
} ngx_http_llm_responses_t;


static ngx_int_t ngx_http_llm_responses_parse(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *model,
    llm_error_t *e);
static ngx_int_t ngx_http_llm_responses_previous(ngx_http_request_t *r,
    ngx_http_llm_responses_t *rd, llm_responses_t *rq, ngx_str_t *chat);
static ngx_int_t ngx_http_llm_responses_check(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_model_t *m, llm_error_t *e);
static ngx_int_t ngx_http_llm_responses_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_responses_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_responses_finished(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_responses_key(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *key);
static void ngx_http_llm_responses_id(char *id, size_t size);


const ngx_http_llm_op_t  ngx_http_llm_responses_op = {
    "responses",
    0,
    ngx_http_llm_responses_parse,
    ngx_http_llm_responses_check,
    ngx_http_llm_responses_request,
    ngx_http_llm_responses_complete,
    &llm_writer_responses,
    NULL,
    NULL,
    NULL,
    ngx_http_llm_responses_finished,
    NULL
};


/* a candidate that takes the client's body to OpenAI's own /responses */

static ngx_uint_t
ngx_http_llm_responses_native(ngx_http_llm_responses_t *rd,
    ngx_http_llm_model_t *m)
{
    return m->provider->responses && !rd->rewritten && !rd->resolved;
}


/* llm_responses_store zone=NAME:SIZE [lifetime=TIME] */

char *
ngx_http_llm_responses_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    return ngx_http_llm_store_conf(cf, 1, &lmcf->responses_store);
}


static ngx_int_t
ngx_http_llm_responses_parse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body, ngx_str_t *model, llm_error_t *e)
{
    ngx_int_t                  rc;
    ngx_str_t                  chat;
    ngx_uint_t                 rewritten;
    llm_responses_t            rq;
    ngx_http_llm_responses_t  *rd;

    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_responses_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    ctx->op_data = rd;

    if (llm_responses_parse(&rq, (char *) body->data, body->len, e)
        != LLM_OK)
    {
        return (e->status == 500) ? NGX_ERROR : NGX_DECLINED;
    }

    rd->raw = *body;
    rd->model_start = rq.model_start;
    rd->model_end = rq.model_end;
    ctx->stream = rq.stream;

    ngx_http_llm_responses_id(rd->id, sizeof(rd->id));

    rc = NGX_ERROR;

    /* what lives as long as the request: the writer's, the model's name */

    rd->conf.id = rd->id;
    rd->conf.echo_len = rq.echo.len;
    rd->conf.echo = ngx_pnalloc(r->pool, rq.echo.len);
    rd->conf.store = rq.store;
    model->len = ngx_strlen(rq.model);
    model->data = ngx_pnalloc(r->pool, model->len + 1);

    if (rd->conf.echo == NULL || model->data == NULL) {
        goto done;
    }

    ngx_memcpy((u_char *) rd->conf.echo, rq.echo.data, rq.echo.len);
    ngx_cpystrn(model->data, (u_char *) rq.model, model->len + 1);

    if (rq.native[0]) {
        rd->native = ngx_http_llm_pstrdup(r->pool, rq.native);
        if (rd->native == NULL) {
            goto done;
        }
    }

    if (ngx_http_llm_responses_previous(r, rd, &rq, &chat) != NGX_OK) {
        goto done;
    }

    rc = ngx_http_llm_internal_form(r, ctx, &chat, &rewritten, e);
    rd->rewritten = rewritten;

done:

    llm_responses_free(&rq);

    return rc;
}


/*
 * The internal form, with the stored conversation of previous_response_id
 * before the input, and the conversation a store keeps of this response
 * (what came before it and its input; the answer is added at the end).
 */

static ngx_int_t
ngx_http_llm_responses_previous(ngx_http_request_t *r,
    ngx_http_llm_responses_t *rd, llm_responses_t *rq, ngx_str_t *chat)
{
    u_char                    *p;
    size_t                     input;
    ngx_str_t                  id, key, prior;
    ngx_int_t                  rc;
    ngx_http_llm_store_t      *store;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    store = lmcf->responses_store;

    ngx_str_null(&prior);
    input = rq->input_end - rq->input_start;

    if (rq->previous) {
        id.data = (u_char *) rq->previous;
        id.len = ngx_strlen(rq->previous);

        rd->conf.previous = ngx_http_llm_pstrdup(r->pool, rq->previous);
        if (rd->conf.previous == NULL) {
            return NGX_ERROR;
        }

        rc = NGX_DECLINED;

        if (store) {
            if (ngx_http_llm_responses_key(r, &id, &key) != NGX_OK) {
                return NGX_ERROR;
            }

            rc = store->ops->get(store, &key, r->pool, &prior, NULL);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }
        }

        rd->resolved = (rc == NGX_OK);
        rd->unresolved = (rc != NGX_OK);
        rd->store_missing = (store == NULL);
    }

    /* before, the input: kept only when a store will want it */

    if (store && rq->store) {
        rd->conversation.len = prior.len + 1 + input;
        rd->conversation.data = ngx_pnalloc(r->pool, rd->conversation.len);

        if (rd->conversation.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(rd->conversation.data, prior.data, prior.len);

        if (prior.len && input) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, rq->chat.data + rq->input_start, input);
        rd->conversation.len = p - rd->conversation.data;
    }

    chat->len = rq->chat.len + prior.len + 2;
    chat->data = ngx_pnalloc(r->pool, chat->len);

    if (chat->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(chat->data, rq->chat.data, rq->input_start);

    if (prior.len) {
        /* after the instructions' message, if there is one */
        if (p[-1] == '}') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, prior.data, prior.len);

        if (input) {
            *p++ = ',';
        }
    }

    p = ngx_cpymem(p, rq->chat.data + rq->input_start,
                   rq->chat.len - rq->input_start);
    chat->len = p - chat->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_responses_check(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_model_t *m, llm_error_t *e)
{
    ngx_http_llm_responses_t  *rd;

    rd = ctx->op_data;

    if (ngx_http_llm_responses_native(rd, m)) {
        return NGX_OK;
    }

    if (rd->unresolved) {
        llm_error_set(e, 400, "previous_response_id",
                      "previous_response_not_found",
                      rd->store_missing
                      ? "Previous response with id '%s' not found: this "
                        "gateway keeps no responses (llm_responses_store "
                        "is not configured), so send the whole "
                        "conversation as input, with store: false."
                      : "Previous response with id '%s' not found.",
                      rd->conf.previous);
        return NGX_DECLINED;
    }

    if (rd->native) {
        llm_error_set(e, 400, NULL, "invalid_request_error",
                      "%s is served only by OpenAI's own Responses API (an "
                      "openai provider with responses=on); the model '%s' "
                      "is not.", rd->native, (char *) m->name.data);
        return NGX_DECLINED;
    }

    return ngx_http_llm_chat_op.check(r, ctx, m, e);
}


static ngx_int_t
ngx_http_llm_responses_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    llm_buf_t                  path;
    ngx_http_llm_provider_t   *p;
    ngx_http_llm_responses_t  *rd;

    rd = ctx->op_data;
    p = ctx->model->provider;

    ctx->resp.wconf = &rd->conf;

    if (!ngx_http_llm_responses_native(rd, ctx->model)) {
        return ngx_http_llm_chat_op.create_request(r, ctx);
    }

    /* OpenAI's own answer comes back: read for usage, relayed */

    ctx->relay = 1;
    ctx->reader = &llm_dialect_responses_relay;
    ctx->resp.writer = &llm_writer_responses_relay;

    ngx_memzero(&path, sizeof(llm_buf_t));

    if (llm_buf_append_cstr(&path, llm_dialect_responses_relay.chat_path)
        != LLM_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_llm_relay_request(r, ctx, &rd->raw, rd->model_start,
                                      rd->model_end, &path,
                                      p->headers.len
                                      ? (char *) p->headers.data
                                      : p->dialect->extra_headers,
                                      ctx->stream);
}


static ngx_int_t
ngx_http_llm_responses_complete(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    return ctx->relay ? ngx_http_llm_relay_complete(r, ctx)
                      : ngx_http_llm_chat_op.complete(r, ctx);
}


/* a complete translated response: its conversation is kept */

static void
ngx_http_llm_responses_finished(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    ngx_str_t                  id, key, value;
    llm_buf_t                  turn;
    ngx_http_llm_store_t      *store;
    ngx_http_llm_main_conf_t  *lmcf;
    ngx_http_llm_responses_t  *rd;

    rd = ctx->op_data;
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    store = lmcf->responses_store;

    if (store == NULL || ctx->relay || !rd->conf.store
        || rd->conversation.data == NULL)
    {
        return;
    }

    ngx_memzero(&turn, sizeof(llm_buf_t));

    id.data = (u_char *) rd->id;
    id.len = ngx_strlen(rd->id);

    if (llm_buf_append(&turn, rd->conversation.data, rd->conversation.len)
        != LLM_OK
        || llm_responses_turn(&ctx->resp, &turn) != LLM_OK
        || ngx_http_llm_responses_key(r, &id, &key) != NGX_OK)
    {
        llm_buf_free(&turn);
        return;
    }

    value.data = (u_char *) turn.data;
    value.len = turn.len;

    /* no conversation before: the turn's leading comma goes */
    if (rd->conversation.len == 0) {
        value.data++;
        value.len--;
    }

    if (store->ops->put(store, &key, &value, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm_responses_store: response \"%s\" not kept "
                      "(%uz bytes)", rd->id, value.len);
    }

    llm_buf_free(&turn);
}


/*
 * A store key: the id and a digest of the client's credential, so that
 * one client never continues another's conversation, id or not.
 */

static ngx_int_t
ngx_http_llm_responses_key(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *key)
{
    u_char      *p;
    ngx_str_t    credential;
    ngx_sha1_t   sha1;
    u_char       digest[20];

    ngx_str_null(&credential);
    (void) ngx_http_llm_client_key(r, &credential);

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, credential.data, credential.len);
    ngx_sha1_final(digest, &sha1);

    key->len = id->len + 1 + 40;
    key->data = ngx_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, id->data, id->len);
    *p++ = ' ';
    ngx_hex_dump(p, digest, 20);

    return NGX_OK;
}


/*
 * "resp_" and 32 hex digits no one can guess: a digest of a key each
 * worker draws once, its pid and a counter (drawing 16 bytes from
 * OpenSSL each time costs more than the rest of a request's parsing)
 */

static void
ngx_http_llm_responses_id(char *id, size_t size)
{
    u_char            digest[16];
    ngx_md5_t         md5;
    ngx_uint_t        i;

    static u_char     key[16];
    static uint64_t   counter;
    static ngx_pid_t  keyed;

    if (keyed != ngx_pid) {
#if (NGX_OPENSSL)
        if (RAND_bytes(key, sizeof(key)) != 1)
#endif
        {
            for (i = 0; i < sizeof(key); i++) {
                key[i] ^= (u_char) ngx_random();
            }
        }

        keyed = ngx_pid;
    }

    counter++;

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, key, sizeof(key));
    ngx_md5_update(&md5, &keyed, sizeof(keyed));
    ngx_md5_update(&md5, &counter, sizeof(counter));
    ngx_md5_final(digest, &md5);

    ngx_memcpy(id, "resp_", 5);
    *ngx_hex_dump((u_char *) id + 5, digest,
                  ngx_min(sizeof(digest), (size - 6) / 2)) = '\0';
}
