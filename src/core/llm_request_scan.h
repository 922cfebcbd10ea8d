/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The request scan's state, shared by the files it runs through:
 * llm_request.c (the validation) and llm_request_chat.c (the chat the
 * dialects read, recorded as the scan passes).  Not for the dialects.
 */

#ifndef _LLM_REQUEST_SCAN_H_INCLUDED_
#define _LLM_REQUEST_SCAN_H_INCLUDED_


#include "llm_request.h"
#include "llm_json_scan.h"


#define LLM_REQUEST_MAX_MEMBERS  256


typedef struct {
    const char       *key;
    size_t            key_len;
    llm_json_type_e   type;
    const char       *start;
    const char       *end;
} llm_request_member_t;


typedef struct {
    llm_request_member_t   members[LLM_REQUEST_MAX_MEMBERS];
    int                    nmembers;
    llm_json_type_e        root_type;

    /* the message being scanned; the first bad one goes to *msg_error */
    int                    messages;
    llm_json_type_e        role_type;
    const char            *role;
    size_t                 role_len;
    int                    role_is;      /* llm_role_e, once checked */
    llm_json_type_e        content_type;
    llm_message_t         *msg;          /* its slot in the chat, or NULL */
    llm_error_t           *msg_error;
    llm_chat_t            *chat;
    llm_request_t         *req;          /* its texts, as they are found */

    llm_json_type_e        include_usage_type;

    unsigned               too_many:1;
    unsigned               escaped_key:1;
    unsigned               msg_role:1;
    unsigned               msg_content:1;
    unsigned               msg_failed:1;
    unsigned               stop_bad:1;
    unsigned               has_include_usage:1;
    unsigned               no_room:1;
    unsigned               msg_spans:4;  /* of the message: found, by bit */
} llm_request_scan_t;


/* llm_request_chat.c: a message's member, a message done, the members */
int llm_request_message_span(llm_request_scan_t *sc,
    const llm_json_step_t *step, llm_json_type_e type, const char *start,
    const char *end);
void llm_request_chat_message(llm_request_scan_t *sc);
int llm_request_chat(llm_request_scan_t *sc);


#endif /* _LLM_REQUEST_SCAN_H_INCLUDED_ */
