/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/* The request builders the one path replaced, as the tests' oracle */

#ifndef _ORACLE_H_INCLUDED_
#define _ORACLE_H_INCLUDED_


#include "llm_dialect.h"


/* the native request the dialect wrote from the whole tree; other
 * dialects: their own builder */
int oracle_build(const llm_dialect_t *d, llm_request_t *req,
    const char *upstream_model, llm_buf_t *b);


#endif /* _ORACLE_H_INCLUDED_ */
