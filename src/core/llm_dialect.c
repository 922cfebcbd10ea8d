/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The dialect list: a new provider family is its header and one line
 * here, plus its own files.
 */

#include <string.h>

#include "llm_openai.h"
#include "llm_anthropic.h"
#include "llm_gemini.h"


const llm_dialect_t  *const llm_dialects[] = {
    &llm_dialect_openai,
    &llm_dialect_anthropic,
    &llm_dialect_gemini,
    NULL
};


/* what the dialects keep for a process (Gemini's schema memo), freed */

void
llm_dialects_exit(void)
{
    llm_gemini_schema_memo_free();
}


const llm_dialect_t *
llm_dialect_find(const char *name, size_t len)
{
    const llm_dialect_t  *const *d;

    for (d = llm_dialects; *d; d++) {
        if (strlen((*d)->name) == len && memcmp((*d)->name, name, len) == 0) {
            return *d;
        }
    }

    return NULL;
}
