/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * What the budgets' files share: a zone's limits and a key's counters
 * (ngx_http_llm_budget.c counts, ngx_http_llm_budget_info.c reports).
 */

#ifndef _NGX_HTTP_LLM_BUDGET_H_INCLUDED_
#define _NGX_HTTP_LLM_BUDGET_H_INCLUDED_


#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_BUDGET_LIMITS  8


enum {
    NGX_HTTP_LLM_BUDGET_REQUESTS = 0,
    NGX_HTTP_LLM_BUDGET_TOKENS,
    NGX_HTTP_LLM_BUDGET_PROMPT,
    NGX_HTTP_LLM_BUDGET_COMPLETION,
    NGX_HTTP_LLM_BUDGET_SPEND
};


extern const char  *ngx_http_llm_budget_kinds[];


typedef struct {
    ngx_uint_t                     kind;
    int64_t                        max;        /* spend: in 1e-10 USD */
    time_t                         period;     /* 0: a calendar month */
} ngx_http_llm_budget_limit_t;


struct ngx_http_llm_budget_zone_s {
    ngx_str_t                      name;
    ngx_http_complex_value_t       key;
    ngx_http_llm_zone_t           *zone;
    ngx_http_llm_budget_limit_t    limits[NGX_HTTP_LLM_BUDGET_LIMITS];
    ngx_uint_t                     nlimits;
};


/* a key's counters, one per limit: a record of a store zone */

typedef struct {
    int64_t                        window;
    int64_t                        used;
    int64_t                        reserved;
} ngx_http_llm_budget_counter_t;



/* the key of a zone's refusal counts */
extern ngx_str_t  ngx_http_llm_budget_refusals;

/* the window a limit is in now, and the seconds to its end */
int64_t ngx_http_llm_budget_window(ngx_http_llm_budget_limit_t *l,
    time_t now, time_t *left);


#endif /* _NGX_HTTP_LLM_BUDGET_H_INCLUDED_ */
