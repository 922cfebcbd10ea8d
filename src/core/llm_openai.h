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


#endif /* _LLM_OPENAI_H_INCLUDED_ */
