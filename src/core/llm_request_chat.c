/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The request as the dialects that rewrite it read it (llm_request.h:
 * llm_chat_t): every message and parameter recorded as spans while the
 * request scan passes (llm_request.c calls in), and the trees of its
 * pieces, made once when a dialect first asks (llm_request_pieces()).
 */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "llm_request_scan.h"
#include "llm_json_arena.h"


static inline int llm_request_message_slot(llm_request_scan_t *sc);
static int llm_request_chat_grow(llm_chat_t *chat);


/*
 * A member of the message being scanned: the first of each name, as
 * cJSON's lookups find it, into the message's slot in the chat; the
 * role and content also for the checks.  Every content string is noted
 * for the whole tree too (llm_request_text_found()).
 */

int
llm_request_message_span(llm_request_scan_t *sc, const llm_json_step_t *step,
    llm_json_type_e type, const char *start, const char *end)
{
    unsigned          bit;
    llm_span_t       *span;
    llm_json_type_e   want;

    /*
     * The key's length first: one comparison of its bytes at most.  A
     * key with an escape never matches: "r\u006fle" is refused, as
     * providers would read it as "role".
     */

    switch (step->key_len) {

    case 4:
        if (memcmp(step->key, "role", 4) == 0) {
            if (!sc->msg_role) {
                sc->msg_role = 1;
                sc->role_type = type;
                sc->role = start + 1;
                sc->role_len = (size_t) (end - start - 2);
            }

            return LLM_OK;
        }

        if (memcmp(step->key, "name", 4) != 0) {
            goto other;
        }

        bit = 8;
        want = LLM_JSON_STRING;
        break;

    case 7:
        if (memcmp(step->key, "content", 7) != 0) {
            goto other;
        }

        if (type == LLM_JSON_STRING
            && llm_request_text_found(sc->req, start, end) != LLM_OK)
        {
            return LLM_ERROR;
        }

        bit = 1;
        want = (type == LLM_JSON_ARRAY) ? LLM_JSON_ARRAY : LLM_JSON_STRING;

        if (!sc->msg_content) {
            sc->msg_content = 1;
            sc->content_type = type;
        }

        break;

    case 10:
        if (memcmp(step->key, "tool_calls", 10) != 0) {
            goto other;
        }

        bit = 2;
        want = LLM_JSON_ARRAY;
        break;

    case 12:
        if (memcmp(step->key, "tool_call_id", 12) != 0) {
            goto other;
        }

        bit = 4;
        want = LLM_JSON_STRING;
        break;

    default:
        goto other;
    }

    /* a later member of the same name is not the one that counts */

    if (sc->msg_spans & bit) {
        return LLM_OK;
    }

    if (sc->msg == NULL && llm_request_message_slot(sc) != LLM_OK) {
        /* no room: the parse fails once the scan is done */
        return LLM_OK;
    }

    sc->msg_spans |= bit;

    span = (bit == 1) ? &sc->msg->content
           : (bit == 2) ? &sc->msg->tool_calls
           : (bit == 4) ? &sc->msg->tool_call_id
           : &sc->msg->name;

    if (type == want) {
        span->start = start;
        span->end = end;

    } else {
        span->start = NULL;
        span->end = NULL;
    }

    return LLM_OK;

other:

    if (memchr(step->key, '\\', step->key_len)) {
        sc->escaped_key = 1;
    }

    return LLM_OK;
}


/* a valid message, to the chat */

void
llm_request_chat_message(llm_request_scan_t *sc)
{
    llm_chat_t     *chat;
    llm_message_t  *m;

    chat = sc->chat;

    /* none of its members may have had a span: only a role */

    if (sc->msg == NULL && llm_request_message_slot(sc) != LLM_OK) {
        return;
    }

    m = sc->msg;
    chat->nmessages++;

    m->role = sc->role_is;
    chat->nresults += (m->role == LLM_ROLE_TOOL);

    /* the members it does not have */

    if (!(sc->msg_spans & 1)) {
        m->content.start = NULL;
    }

    chat->nparts += (m->content.start && m->content.start[0] == '[');

    if (!(sc->msg_spans & 2)) {
        m->tool_calls.start = NULL;
    }

    chat->ncalls += (m->tool_calls.start != NULL);

    if (!(sc->msg_spans & 4)) {
        m->tool_call_id.start = NULL;
    }

    if (!(sc->msg_spans & 8)) {
        m->name.start = NULL;
    }

    m->parts = NULL;
    m->calls = NULL;
}


/* the next message's place in the chat: the one being scanned */

static inline int
llm_request_message_slot(llm_request_scan_t *sc)
{
    llm_chat_t  *chat;

    chat = sc->chat;

    if (chat->nmessages == (chat->nalloc ? chat->nalloc
                                         : LLM_CHAT_INLINE_MESSAGES)
        && llm_request_chat_grow(chat) != LLM_OK)
    {
        sc->no_room = 1;
        return LLM_ERROR;
    }

    sc->msg = &chat->messages[chat->nmessages];

    return LLM_OK;
}


/* room for four times as many messages, on the heap: few reallocs */

static int
llm_request_chat_grow(llm_chat_t *chat)
{
    int             n;
    llm_message_t  *m;

    n = 4 * chat->nmessages;

    m = chat->nalloc ? realloc(chat->messages, n * sizeof(llm_message_t))
                     : malloc(n * sizeof(llm_message_t));
    if (m == NULL) {
        return LLM_ERROR;
    }

    if (chat->nalloc == 0) {
        memcpy(m, chat->inline_messages,
               chat->nmessages * sizeof(llm_message_t));
    }

    chat->messages = m;
    chat->nalloc = n;

    return LLM_OK;
}


/*
 * The top-level members: the parameters mapped one to one as spans, the
 * others kept for their tree (llm_request_pieces())
 */

int
llm_request_chat(llm_request_scan_t *sc)
{
    int                    i;
    llm_span_t            *span;
    llm_chat_t            *chat;
    llm_member_t          *o;
    llm_request_member_t  *m;

    chat = sc->chat;

    memset(&chat->temperature, 0,
           offsetof(llm_chat_t, members) - offsetof(llm_chat_t, temperature));

    chat->params = NULL;
    chat->pieces = 0;

    for (i = 0; i < sc->nmembers; i++) {
        m = &sc->members[i];

#define llm_request_is(name)                                                 \
        (m->key_len == sizeof(name) - 1                                      \
         && memcmp(m->key, name, sizeof(name) - 1) == 0)

        if (llm_request_is("model") || llm_request_is("messages")
            || llm_request_is("stream") || llm_request_is("stream_options"))
        {
            continue;
        }

        if (llm_request_is("temperature")) {
            span = &chat->temperature;

        } else if (llm_request_is("top_p")) {
            span = &chat->top_p;

        } else if (llm_request_is("n")) {
            span = &chat->n;

        } else if (llm_request_is("seed")) {
            span = &chat->seed;

        } else if (llm_request_is("max_tokens")) {
            span = &chat->max_tokens;

        } else if (llm_request_is("max_completion_tokens")) {
            span = &chat->max_completion_tokens;

        } else if (llm_request_is("stop")) {
            span = &chat->stop;

        } else if (llm_request_is("user")) {
            span = &chat->user;

        } else if (llm_request_is("presence_penalty")) {
            span = &chat->presence_penalty;

        } else if (llm_request_is("frequency_penalty")) {
            span = &chat->frequency_penalty;

        } else {
            span = NULL;
        }

#undef llm_request_is

        if (span) {
            if (m->type != LLM_JSON_NULL) {
                span->start = m->start;
                span->end = m->end;
            }

            continue;
        }

        if (chat->members == NULL) {
            chat->members = malloc(sc->nmembers * sizeof(llm_member_t));

            if (chat->members == NULL) {
                return LLM_ERROR;
            }
        }

        o = &chat->members[chat->nmembers++];
        o->key = m->key;
        o->key_len = m->key_len;
        o->value.start = m->start;
        o->value.end = m->end;
    }

    return LLM_OK;
}


int
llm_request_pieces_build(llm_request_t *req)
{
    int             i;
    char           *key;
    size_t          size;
    llm_chat_t     *chat;
    llm_json_t     *v;
    llm_member_t   *o;
    llm_message_t  *m;

    chat = req->chat;

    /* what the trees are of: an arena of some four times that */

    size = 0;

    for (i = 0; (chat->nparts || chat->ncalls) && i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->content.start && m->content.start[0] == '[') {
            size += m->content.end - m->content.start;
        }

        if (m->tool_calls.start) {
            size += m->tool_calls.end - m->tool_calls.start;
        }
    }

    for (i = 0; i < chat->nmembers; i++) {
        size += chat->members[i].value.end - chat->members[i].value.start
                + chat->members[i].key_len + 64;
    }

    if (size == 0) {
        chat->pieces = 1;
        return LLM_OK;
    }

    if (req->arena == NULL) {
        req->arena = llm_json_arena_create(4 * size);

        if (req->arena == NULL) {
            return LLM_ERROR;
        }
    }

    for (i = 0; (chat->nparts || chat->ncalls) && i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->content.start && m->content.start[0] == '[') {
            m->parts = llm_json_tree_in(req->arena, m->content.start,
                                        m->content.end - m->content.start);
            if (m->parts == NULL) {
                return LLM_ERROR;
            }
        }

        if (m->tool_calls.start) {
            m->calls = llm_json_tree_in(req->arena, m->tool_calls.start,
                                        m->tool_calls.end
                                        - m->tool_calls.start);
            if (m->calls == NULL) {
                return LLM_ERROR;
            }
        }
    }

    if (chat->nmembers) {
        chat->params = llm_json_tree_in(req->arena, NULL, 0);

        if (chat->params == NULL) {
            return LLM_ERROR;
        }

        for (i = 0; i < chat->nmembers; i++) {
            o = &chat->members[i];

            v = llm_json_tree_in(req->arena, o->value.start,
                                 o->value.end - o->value.start);
            key = llm_json_arena_alloc(req->arena, o->key_len + 1);

            if (v == NULL || key == NULL
                || llm_json_arena_add(req->arena, chat->params, NULL, v)
                   == NULL)
            {
                return LLM_ERROR;
            }

            memcpy(key, o->key, o->key_len);
            key[o->key_len] = '\0';
            v->string = key;
        }
    }

    chat->pieces = 1;

    return LLM_OK;
}
