/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "openai" dialect (llm_openai.c): OpenAI and every OpenAI-compatible
 * provider, and the passthrough when the client speaks OpenAI Chat too.
 */

#ifndef _LLM_OPENAI_H_INCLUDED_
#define _LLM_OPENAI_H_INCLUDED_


#include "llm_dialect.h"


extern const llm_dialect_t  llm_dialect_openai;


/* as events, for other client formats: llm_openai_events.c */
int llm_openai_events_chunk(llm_response_t *resp, llm_json_t *j,
    llm_buf_t *out);
int llm_openai_events_whole(llm_response_t *resp, llm_json_t *j,
    llm_buf_t *out);

/*
 * The client speaks OpenAI Chat: the provider's bytes are relayed, unless
 * the cache records the events
 */
#define llm_openai_relayed(resp)                                             \
    ((resp)->writer == &llm_writer_openai_chat && (resp)->record == NULL)


#endif /* _LLM_OPENAI_H_INCLUDED_ */
