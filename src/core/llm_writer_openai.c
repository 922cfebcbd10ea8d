/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The OpenAI Chat Completions writer: the one place that knows that
 * format, for the responses the gateway translates.
 *
 *   - a stream: each event is one "data: <chat.completion.chunk>\n\n"
 *     frame (a role chunk first; text as delta.content,
 *     reasoning_content or refusal; a tool call's first delta carries
 *     index, id, type, name and its arguments so far; a choice's finish
 *     chunk), then the usage chunk ("choices": []) when the client asked
 *     for it, and "data: [DONE]\n\n"; an error is one error frame, then
 *     [DONE];
 *   - a whole response: the events are gathered per choice and end
 *     writes one chat.completion object.
 */

#include <stdlib.h>
#include <string.h>

#include "llm_response.h"


#define LLM_OPENAI_CHOICES  16


typedef struct {
    int           index;            /* the client's choice index */
    const char   *ref[3];           /* per llm_part_e: its only piece, */
    size_t        ref_len[3];       /* borrowed, or NULL */
    llm_buf_t     text[3];          /* or the literals' insides, joined */
    unsigned      has[3];
    llm_buf_t     tools;            /* the tool_calls array's elements */
    int           ntools;
    unsigned      tool_open:1;      /* its arguments may grow */
    char          finish[32];
} llm_openai_choice_t;


/* the choices as they come: one, nearly always */

typedef struct {
    int                   nchoices;
    llm_openai_choice_t  *choice;
} llm_openai_whole_t;


static int llm_openai_write_start(llm_response_t *resp, llm_buf_t *out);
static int llm_openai_write_text(llm_response_t *resp, int choice,
    llm_part_e part, const char *s, size_t n, llm_buf_t *out);
static int llm_openai_write_tool(llm_response_t *resp, int choice,
    int index, const llm_tool_event_t *tool, llm_buf_t *out);
static int llm_openai_write_tool_args(llm_response_t *resp, int choice,
    int index, const char *s, size_t n, llm_buf_t *out);
static int llm_openai_write_finish(llm_response_t *resp, int choice,
    const char *reason, llm_buf_t *out);
static int llm_openai_write_end(llm_response_t *resp, llm_buf_t *out);
static int llm_openai_write_error(llm_response_t *resp, llm_buf_t *out);
static void llm_openai_write_free(llm_response_t *resp);


const llm_writer_t  llm_writer_openai_chat = {
    "openai-chat",
    llm_openai_write_start,
    llm_openai_write_text,
    llm_openai_write_tool,
    llm_openai_write_tool_args,
    llm_openai_write_finish,
    llm_openai_write_end,
    llm_openai_write_error,
    llm_openai_write_free
};


static const char  *llm_openai_part_names[] = {
    "\"content\"", "\"reasoning_content\"", "\"refusal\""
};


/* a delta of one part: its opening, and the opening's length */

static const struct {
    const char  *open;
    size_t       len;
}  llm_openai_deltas[] = {
    { "{\"content\":", sizeof("{\"content\":") - 1 },
    { "{\"reasoning_content\":", sizeof("{\"reasoning_content\":") - 1 },
    { "{\"refusal\":", sizeof("{\"refusal\":") - 1 }
};


/* the parts every object and chunk share: id, object, created, model */

static int
llm_openai_head(llm_response_t *resp, int chunk, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "{\"id\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->id, strlen(resp->id))
           != LLM_OK
        || (chunk
            ? llm_buf_append_lit(out, ",\"object\":\"chat.completion.chunk\","
                                      "\"created\":")
            : llm_buf_append_lit(out, ",\"object\":\"chat.completion\","
                                      "\"created\":")) != LLM_OK
        || llm_buf_append_int(out, resp->created) != LLM_OK
        || llm_buf_append_lit(out, ",\"model\":") != LLM_OK
        || llm_buf_append_json_string(out, resp->client_model,
                                      strlen(resp->client_model)) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_openai_usage(llm_usage_t *u, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "{\"prompt_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->prompt_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"completion_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->completion_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"total_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->total_tokens) != LLM_OK
        || llm_buf_append_lit(out, ",\"prompt_tokens_details\":"
                                   "{\"cached_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->cached_tokens) != LLM_OK
        || llm_buf_append_lit(out, "},\"completion_tokens_details\":"
                                   "{\"reasoning_tokens\":") != LLM_OK
        || llm_buf_append_int(out, u->reasoning_tokens) != LLM_OK
        || llm_buf_append_lit(out, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* stream: "data: {head,"choices":[{"index":i,"delta":" ... */

static int
llm_openai_chunk_open(llm_response_t *resp, int choice, size_t more,
    llm_buf_t *out)
{
    /* one reservation for the whole frame: the appends only copy */

    if (llm_buf_reserve(out, 256 + strlen(resp->id) * 6
                             + strlen(resp->client_model) * 6 + more)
        != LLM_OK
        || llm_buf_append_lit(out, "data: ") != LLM_OK
        || llm_openai_head(resp, 1, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (choice == 0) {
        return llm_buf_append_lit(out, ",\"choices\":[{\"index\":0,"
                                       "\"delta\":");
    }

    if (llm_buf_append_lit(out, ",\"choices\":[{\"index\":") != LLM_OK
        || llm_buf_append_int(out, choice) != LLM_OK
        || llm_buf_append_lit(out, ",\"delta\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* ... ,"logprobs":null,"finish_reason":null|"reason"}]}\n\n */

static int
llm_openai_chunk_close(const char *finish, llm_buf_t *out)
{
    if (finish == NULL) {
        return llm_buf_append_lit(out, ",\"logprobs\":null,"
                                       "\"finish_reason\":null}]}\n\n");
    }

    if (llm_buf_append_lit(out, ",\"logprobs\":null,\"finish_reason\":")
        != LLM_OK
        || (finish
            ? llm_buf_append_json_string(out, finish, strlen(finish))
            : llm_buf_append_lit(out, "null")) != LLM_OK
        || llm_buf_append_lit(out, "}]}\n\n") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * whole: the choice with this index, added on first use; NULL with *rc
 * the event's answer: LLM_OK for one more choice than a client asks for
 * (not kept), LLM_ERROR for memory
 */

static llm_openai_choice_t *
llm_openai_choice(llm_response_t *resp, int index, int *rc)
{
    int                   i;
    llm_openai_whole_t   *w;
    llm_openai_choice_t  *c;

    *rc = LLM_ERROR;

    w = resp->wstate;

    if (w == NULL) {
        w = calloc(1, sizeof(llm_openai_whole_t));
        if (w == NULL) {
            return NULL;
        }

        resp->wstate = w;
    }

    for (i = 0; i < w->nchoices; i++) {
        if (w->choice[i].index == index) {
            return &w->choice[i];
        }
    }

    if (w->nchoices == LLM_OPENAI_CHOICES) {
        *rc = LLM_OK;
        return NULL;
    }

    c = realloc(w->choice, (w->nchoices + 1) * sizeof(llm_openai_choice_t));
    if (c == NULL) {
        return NULL;
    }

    w->choice = c;

    c = &w->choice[w->nchoices++];
    memset(c, 0, sizeof(llm_openai_choice_t));
    c->index = index;

    return c;
}


static int
llm_openai_write_start(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->whole) {
        return LLM_OK;
    }

    if (llm_openai_chunk_open(resp, 0, 0, out) != LLM_OK
        || llm_buf_append_lit(out, "{\"role\":\"assistant\","
                                   "\"content\":\"\"}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_openai_chunk_close(NULL, out);
}


static int
llm_openai_write_text(llm_response_t *resp, int choice, llm_part_e part,
    const char *s, size_t n, llm_buf_t *out)
{
    int                   rc;
    llm_openai_choice_t  *c;

    if (resp->whole) {
        c = llm_openai_choice(resp, choice, &rc);
        if (c == NULL) {
            return rc;
        }

        /*
         * The literals' insides join into one string; a first piece is
         * only pointed at (the provider's body outlives the response),
         * unless it is the caller's own (resp->transient).
         */

        if (!c->has[part] && !resp->transient) {
            c->has[part] = 1;
            c->ref[part] = s + 1;
            c->ref_len[part] = n - 2;
            return LLM_OK;
        }

        c->has[part] = 1;

        if (c->ref[part]) {
            if (llm_buf_append(&c->text[part], c->ref[part],
                               c->ref_len[part]) != LLM_OK)
            {
                return LLM_ERROR;
            }

            c->ref[part] = NULL;
        }

        return llm_buf_append(&c->text[part], s + 1, n - 2);
    }

    if (llm_openai_chunk_open(resp, choice, n, out) != LLM_OK
        || llm_buf_append(out, llm_openai_deltas[part].open,
                          llm_openai_deltas[part].len) != LLM_OK
        || llm_buf_append(out, s, n) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_openai_chunk_close(NULL, out);
}


/* {"id":…,"type":"function","function":{"name":…,"arguments": */

static int
llm_openai_tool_head(const llm_tool_event_t *tool, llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "\"id\":") != LLM_OK
        || llm_buf_append(out, tool->id, tool->id_len) != LLM_OK
        || llm_buf_append_lit(out, ",\"type\":\"function\",\"function\":"
                                   "{\"name\":") != LLM_OK
        || llm_buf_append(out, tool->name, tool->name_len) != LLM_OK
        || llm_buf_append_lit(out, ",\"arguments\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_openai_tool_close(llm_openai_choice_t *c)
{
    if (!c->tool_open) {
        return LLM_OK;
    }

    c->tool_open = 0;

    return llm_buf_append_lit(&c->tools, "\"}}");
}


static int
llm_openai_write_tool(llm_response_t *resp, int choice, int index,
    const llm_tool_event_t *tool, llm_buf_t *out)
{
    int                   rc;
    llm_openai_choice_t  *c;

    if (resp->whole) {
        c = llm_openai_choice(resp, choice, &rc);
        if (c == NULL) {
            return rc;
        }

        if (llm_openai_tool_close(c) != LLM_OK
            || (c->ntools && llm_buf_append_lit(&c->tools, ",") != LLM_OK)
            || llm_buf_append_lit(&c->tools, "{") != LLM_OK
            || llm_openai_tool_head(tool, &c->tools) != LLM_OK
            || llm_buf_append_lit(&c->tools, "\"") != LLM_OK
            || (tool->args
                && llm_buf_append(&c->tools, tool->args + 1,
                                  tool->args_len - 2) != LLM_OK))
        {
            return LLM_ERROR;
        }

        c->ntools++;
        c->tool_open = 1;

        return LLM_OK;
    }

    if (llm_openai_chunk_open(resp, choice,
                              tool->id_len + tool->name_len + tool->args_len,
                              out) != LLM_OK
        || llm_buf_append_lit(out, "{\"tool_calls\":[{\"index\":") != LLM_OK
        || llm_buf_append_int(out, index) != LLM_OK
        || llm_buf_append_lit(out, ",") != LLM_OK
        || llm_openai_tool_head(tool, out) != LLM_OK
        || (tool->args
            ? llm_buf_append(out, tool->args, tool->args_len)
            : llm_buf_append_lit(out, "\"\"")) != LLM_OK
        || llm_buf_append_lit(out, "}}]}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_openai_chunk_close(NULL, out);
}


static int
llm_openai_write_tool_args(llm_response_t *resp, int choice, int index,
    const char *s, size_t n, llm_buf_t *out)
{
    int                   rc;
    llm_openai_choice_t  *c;

    if (resp->whole) {
        c = llm_openai_choice(resp, choice, &rc);
        if (c == NULL) {
            return rc;
        }

        /* only the open call's arguments can grow */
        return c->tool_open ? llm_buf_append(&c->tools, s + 1, n - 2)
                            : LLM_OK;
    }

    if (llm_openai_chunk_open(resp, choice, n, out) != LLM_OK
        || llm_buf_append_lit(out, "{\"tool_calls\":[{\"index\":") != LLM_OK
        || llm_buf_append_int(out, index) != LLM_OK
        || llm_buf_append_lit(out, ",\"function\":{\"arguments\":") != LLM_OK
        || llm_buf_append(out, s, n) != LLM_OK
        || llm_buf_append_lit(out, "}}]}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_openai_chunk_close(NULL, out);
}


static int
llm_openai_write_finish(llm_response_t *resp, int choice, const char *reason,
    llm_buf_t *out)
{
    int                   rc;
    size_t                len;
    llm_openai_choice_t  *c;

    if (resp->whole) {
        c = llm_openai_choice(resp, choice, &rc);
        if (c == NULL) {
            return rc;
        }

        len = strlen(reason);
        if (len >= sizeof(c->finish)) {
            len = sizeof(c->finish) - 1;
        }

        memcpy(c->finish, reason, len);
        c->finish[len] = '\0';

        return LLM_OK;
    }

    if (llm_openai_chunk_open(resp, choice, 0, out) != LLM_OK
        || llm_buf_append_lit(out, "{}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_openai_chunk_close(reason, out);
}


/* one part of a message: "name":"text" or, for content and refusal, null */

static int
llm_openai_message_part(llm_openai_choice_t *c, llm_part_e part,
    llm_buf_t *out)
{
    if (!c->has[part] && part == LLM_PART_REASONING) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(out, ",") != LLM_OK
        || llm_buf_append_cstr(out, llm_openai_part_names[part]) != LLM_OK
        || llm_buf_append_lit(out, ":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (!c->has[part]) {
        return llm_buf_append_lit(out, "null");
    }

    if (llm_buf_append_lit(out, "\"") != LLM_OK
        || (c->ref[part]
            ? llm_buf_append(out, c->ref[part], c->ref_len[part])
            : llm_buf_append(out, c->text[part].data, c->text[part].len))
           != LLM_OK
        || llm_buf_append_lit(out, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_openai_whole_choice(llm_response_t *resp, llm_openai_choice_t *c,
    llm_buf_t *out)
{
    const char  *finish;

    finish = c->finish[0] ? c->finish
                          : resp->finish_reason[0] ? resp->finish_reason
                                                   : "stop";

    if (llm_openai_tool_close(c) != LLM_OK
        || llm_buf_append_lit(out, "{\"index\":") != LLM_OK
        || llm_buf_append_int(out, c->index) != LLM_OK
        || llm_buf_append_lit(out, ",\"message\":{\"role\":\"assistant\"")
           != LLM_OK
        || llm_openai_message_part(c, LLM_PART_CONTENT, out) != LLM_OK
        || llm_openai_message_part(c, LLM_PART_REASONING, out) != LLM_OK
        || llm_openai_message_part(c, LLM_PART_REFUSAL, out) != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (c->ntools
        && (llm_buf_append_lit(out, ",\"tool_calls\":[") != LLM_OK
            || llm_buf_append(out, c->tools.data, c->tools.len) != LLM_OK
            || llm_buf_append_lit(out, "]") != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (llm_buf_append_lit(out, "},\"logprobs\":null,\"finish_reason\":")
        != LLM_OK
        || llm_buf_append_json_string(out, finish, strlen(finish)) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_openai_write_end(llm_response_t *resp, llm_buf_t *out)
{
    int                   i, k;
    size_t                mark, len;
    llm_openai_whole_t   *w;
    llm_openai_choice_t   empty;

    mark = out->len;

    if (!resp->whole) {
        if (resp->include_usage && !resp->usage_sent) {
            if (llm_buf_append_lit(out, "data: ") != LLM_OK
                || llm_openai_head(resp, 1, out)
                   != LLM_OK
                || llm_buf_append_lit(out, ",\"choices\":[],\"usage\":")
                   != LLM_OK
                || llm_openai_usage(&resp->usage, out) != LLM_OK
                || llm_buf_append_lit(out, "}\n\n") != LLM_OK)
            {
                goto failed;
            }

            resp->usage_sent = 1;
        }

        if (llm_buf_append_lit(out, "data: [DONE]\n\n") != LLM_OK) {
            goto failed;
        }

        return LLM_OK;
    }

    w = resp->wstate;

    /* one allocation for the object: its frame, the model, the texts */

    len = 512 + strlen(resp->id) + 6 * strlen(resp->client_model);

    for (i = 0; w && i < w->nchoices; i++) {
        len += 256 + w->choice[i].tools.len;

        for (k = 0; k < 3; k++) {
            len += w->choice[i].ref_len[k] + w->choice[i].text[k].len;
        }
    }

    if (llm_buf_reserve(out, len) != LLM_OK
        || llm_openai_head(resp, 0, out) != LLM_OK
        || llm_buf_append_lit(out, ",\"choices\":[") != LLM_OK)
    {
        goto failed;
    }

    if (w == NULL || w->nchoices == 0) {
        /* nothing was said: one empty choice */
        memset(&empty, 0, sizeof(llm_openai_choice_t));

        if (llm_openai_whole_choice(resp, &empty, out) != LLM_OK) {
            goto failed;
        }

    } else {
        for (i = 0; i < w->nchoices; i++) {
            if ((i && llm_buf_append_lit(out, ",") != LLM_OK)
                || llm_openai_whole_choice(resp, &w->choice[i], out)
                   != LLM_OK)
            {
                goto failed;
            }
        }
    }

    if (llm_buf_append_lit(out, "],\"usage\":") != LLM_OK
        || llm_openai_usage(&resp->usage, out) != LLM_OK
        || llm_buf_append_lit(out, "}") != LLM_OK)
    {
        goto failed;
    }

    return LLM_OK;

failed:

    out->len = mark;

    return LLM_ERROR;
}


static int
llm_openai_write_error(llm_response_t *resp, llm_buf_t *out)
{
    if (resp->whole) {
        /* the caller answers with the error itself */
        return LLM_OK;
    }

    return llm_error_frame(&resp->error, out);
}


static void
llm_openai_write_free(llm_response_t *resp)
{
    int                   i, k;
    llm_openai_whole_t   *w;

    w = resp->wstate;

    if (w == NULL) {
        return;
    }

    for (i = 0; i < w->nchoices; i++) {
        for (k = 0; k < 3; k++) {
            llm_buf_free(&w->choice[i].text[k]);
        }

        llm_buf_free(&w->choice[i].tools);
    }

    free(w->choice);
    free(w);
    resp->wstate = NULL;
}
