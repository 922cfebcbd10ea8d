/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect, stream: every SSE event is a whole
 * GenerateContentResponse holding only the new parts, and there is no
 * terminator: the finishes (one per choice, each with its own reason)
 * and the end come from stream_end, and a stream that ends without a
 * finishReason is truncated.  A functionCall arrives whole: one tool
 * call event with all its arguments.  Events are read with the JSON
 * scanner (two passes: validate and collect, then emit the parts, the
 * second over the candidates array alone), no tree per event (a
 * functionCall's object is scanned once more, alone).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


typedef struct {
    llm_usage_t        usage;
    long long          candidates_tokens;
    long long          thoughts_tokens;
    long long          tool_use_tokens;
    const char        *rid;
    size_t             rid_len;
    const char        *finish[LLM_GEMINI_MAX_CAND];
    size_t             finish_len[LLM_GEMINI_MAX_CAND];
    const char        *block;        /* blockReason's raw bytes */
    size_t             block_len;
    int                ncand;
    int                cand_index[LLM_GEMINI_MAX_CAND];
    const char        *cands;        /* the candidates array's bytes */
    const char        *cands_end;
    int                ncands_key;
    llm_json_type_e    top;
    unsigned           error:1;
    unsigned           has_usage:1;
    unsigned           blocked:1;
} llm_gemini_meta_t;


static int
llm_gemini_scan_meta(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    int                 i;
    long long           v;
    llm_gemini_meta_t  *m = data;

    if (depth == 0) {
        m->top = type;
        return LLM_OK;
    }

    if (depth == 1) {
        if (llm_json_step_is(&path[0], "error")) {
            m->error = (type != LLM_JSON_NULL);

        } else if (llm_json_step_is(&path[0], "responseId")) {
            if (type == LLM_JSON_STRING) {
                m->rid = start + 1;
                m->rid_len = (size_t) (end - start - 2);
            }

        } else if (llm_json_step_is(&path[0], "usageMetadata")) {
            m->has_usage = (type == LLM_JSON_OBJECT);

        } else if (llm_json_step_is(&path[0], "candidates")) {
            m->ncands_key++;

            if (type == LLM_JSON_ARRAY) {
                m->cands = start;
                m->cands_end = end;
            }
        }

        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "usageMetadata")) {
        if (depth != 2 || type != LLM_JSON_NUMBER) {
            return LLM_OK;
        }

        v = llm_json_scan_int(start, end);
        if (v < 0) {
            return LLM_OK;
        }

        if (llm_json_step_is(&path[1], "promptTokenCount")) {
            m->usage.prompt_tokens = v;

        } else if (llm_json_step_is(&path[1], "totalTokenCount")) {
            m->usage.total_tokens = v;

        } else if (llm_json_step_is(&path[1], "cachedContentTokenCount")) {
            m->usage.cached_tokens = v;

        } else if (llm_json_step_is(&path[1], "candidatesTokenCount")) {
            m->candidates_tokens = v;

        } else if (llm_json_step_is(&path[1], "thoughtsTokenCount")) {
            m->thoughts_tokens = v;

        } else if (llm_json_step_is(&path[1], "toolUsePromptTokenCount")) {
            m->tool_use_tokens = v;
        }

        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "promptFeedback")) {
        if (depth == 2 && llm_json_step_is(&path[1], "blockReason")
            && type == LLM_JSON_STRING)
        {
            m->blocked = 1;
            m->block = start + 1;
            m->block_len = (size_t) (end - start - 2);
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[0], "candidates") || path[1].key != NULL) {
        return LLM_OK;
    }

    i = path[1].index;

    if (depth == 2) {
        if (i + 1 > m->ncand) {
            m->ncand = i + 1;
        }

        return LLM_OK;
    }

    if (depth != 3) {
        return LLM_OK;
    }

    if (llm_json_step_is(&path[2], "finishReason")
        && type == LLM_JSON_STRING && i < LLM_GEMINI_MAX_CAND)
    {
        m->finish[i] = start + 1;
        m->finish_len[i] = (size_t) (end - start - 2);

    } else if (llm_json_step_is(&path[2], "index")
               && type == LLM_JSON_NUMBER && i < LLM_GEMINI_MAX_CAND)
    {
        v = llm_json_scan_int(start, end);

        if (v >= 0 && v < 65536) {
            m->cand_index[i] = (int) v;
        }
    }

    return LLM_OK;
}


typedef struct llm_gemini_state_s  llm_gemini_state_t;


typedef struct {
    llm_response_t     *resp;
    llm_gemini_state_t *st;
    llm_buf_t          *out;
    llm_gemini_meta_t  *meta;
    const char         *text;
    const char         *text_end;
    const char         *fc;          /* a functionCall object's bytes */
    const char         *fc_end;
    const char         *sig;         /* its thoughtSignature, unquoted */
    const char         *sig_end;
    llm_buf_t           tool;
    unsigned            thought:1;
    unsigned            sub:1;       /* scanning the candidates array only */
} llm_gemini_emit_t;


/* the stream's own state: per choice (candidate index < 8) */

struct llm_gemini_state_s {
    int           choices;                      /* choices seen */
    short         tools[LLM_GEMINI_MAX_CAND];   /* tool calls sent */
    const char   *finish[LLM_GEMINI_MAX_CAND];  /* mapped, or NULL */
};


/*
 * A whole functionCall is one tool call event: index (consecutive per
 * choice, across events), id, name and all the arguments.
 */

static int
llm_gemini_tool_delta(llm_gemini_emit_t *em, int index)
{
    int  k;

    k = 0;

    if (index < LLM_GEMINI_MAX_CAND) {
        k = em->st->tools[index]++;
    }

    return llm_gemini_tool_call(em->resp, index, k, k, em->fc,
                                (size_t) (em->fc_end - em->fc), em->sig,
                                em->sig ? (size_t) (em->sig_end - em->sig)
                                        : 0,
                                &em->tool, em->out);
}


static int
llm_gemini_scan_emit(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    int                      i, index;
    llm_gemini_emit_t       *em = data;
    const llm_json_step_t   *cand;

    /*
     * candidates[i].content.parts[k](.text|.thought); when only the
     * candidates array is scanned, its path starts at [i]
     */

    if (em->sub) {
        if (depth < 4) {
            return LLM_OK;
        }

        cand = &path[0];
        depth++;

    } else {
        if (depth < 5 || !llm_json_step_is(&path[0], "candidates")) {
            return LLM_OK;
        }

        cand = &path[1];
    }

    if (cand[0].key != NULL || !llm_json_step_is(&cand[1], "content")
        || !llm_json_step_is(&cand[2], "parts") || cand[3].key != NULL)
    {
        return LLM_OK;
    }

    if (depth == 6) {
        if (llm_json_step_is(&cand[4], "text") && type == LLM_JSON_STRING) {
            em->text = start;
            em->text_end = end;

        } else if (llm_json_step_is(&cand[4], "thought")) {
            em->thought = (type == LLM_JSON_TRUE);

        } else if (llm_json_step_is(&cand[4], "functionCall")
                   && type == LLM_JSON_OBJECT && em->fc == NULL)
        {
            em->fc = start;
            em->fc_end = end;

        } else if (llm_json_step_is(&cand[4], "thoughtSignature")
                   && type == LLM_JSON_STRING && em->sig == NULL)
        {
            em->sig = start + 1;
            em->sig_end = end - 1;
        }

        return LLM_OK;
    }

    /* depth 5: the part is complete */

    i = cand[0].index;
    index = (i < LLM_GEMINI_MAX_CAND) ? em->meta->cand_index[i] : i;

    if (type == LLM_JSON_OBJECT && em->fc) {
        if (llm_gemini_tool_delta(em, index) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (type == LLM_JSON_OBJECT && em->text
               && em->text_end - em->text > 2)
    {
        if (llm_event_text(em->resp, index,
                           em->thought ? LLM_PART_REASONING
                                       : LLM_PART_CONTENT,
                           em->text, (size_t) (em->text_end - em->text),
                           em->out)
            != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    em->text = NULL;
    em->text_end = NULL;
    em->fc = NULL;
    em->sig = NULL;
    em->thought = 0;

    return LLM_OK;
}


static int
llm_gemini_stream_error(llm_response_t *resp, const char *data, size_t n,
    llm_buf_t *out)
{
    llm_json_t  *j;

    j = llm_json_parse(data, n, NULL);

    llm_gemini_error_object(llm_json_get(j, "error"), 500, 1,
                            &resp->error);

    llm_json_free(j);

    return llm_response_end_error(resp, out);
}


int
llm_gemini_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out)
{
    int                  i, c, rc;
    size_t               mark;
    const char          *fr;
    llm_buf_t            refusal;
    llm_gemini_meta_t    m;
    llm_gemini_emit_t    em;
    llm_gemini_state_t  *st;

    if (resp->done) {
        return LLM_DONE;
    }

    st = llm_response_state(resp, sizeof(llm_gemini_state_t));
    if (st == NULL) {
        return LLM_ERROR;
    }

    memset(&m, 0, sizeof(llm_gemini_meta_t));

    for (i = 0; i < LLM_GEMINI_MAX_CAND; i++) {
        m.cand_index[i] = i;
    }

    if (llm_json_scan(data, n, 3, llm_gemini_scan_meta, &m) != LLM_OK
        || m.top != LLM_JSON_OBJECT)
    {
        return llm_response_fail(resp, out, 502, "invalid_upstream_response",
                                 "The provider sent a malformed stream "
                                 "event.");
    }

    if (m.error) {
        return llm_gemini_stream_error(resp, data, n, out);
    }

    mark = out->len;

    if (resp->id[0] == '\0') {
        llm_gemini_set_id(resp, m.rid, m.rid_len, data, n);
        resp->created = (long long) time(NULL);

        if (llm_event_start(resp, out) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (m.has_usage) {
        resp->usage = m.usage;
        llm_gemini_usage_done(&resp->usage, m.candidates_tokens,
                              m.thoughts_tokens, m.tool_use_tokens);
    }

    /* every choice keeps its own finish reason */

    for (i = 0; i < m.ncand && i < LLM_GEMINI_MAX_CAND; i++) {
        c = m.cand_index[i];

        if (c >= LLM_GEMINI_MAX_CAND) {
            continue;
        }

        if (c + 1 > st->choices) {
            st->choices = c + 1;
        }

        if (m.finish[i]) {
            fr = llm_gemini_finish(m.finish[i], m.finish_len[i]);
            st->finish[c] = fr;

            if (c == 0 || resp->finish_reason[0] == '\0') {
                llm_response_set_finish(resp, fr);
            }
        }
    }

    if (m.blocked && m.ncand == 0 && st->finish[0] == NULL) {

        /* a blocked prompt: the reason goes to the client as a refusal */

        st->choices = 1;
        st->finish[0] = "content_filter";
        llm_response_set_finish(resp, "content_filter");

        memset(&refusal, 0, sizeof(llm_buf_t));

        rc = llm_gemini_refusal(m.block, m.block_len, NULL, &refusal);

        if (rc == LLM_OK) {
            rc = llm_event_text_str(resp, 0, LLM_PART_REFUSAL, refusal.data,
                                    refusal.len, out);
        }

        llm_buf_free(&refusal);

        return rc;
    }

    if (m.ncand == 0) {
        return LLM_OK;
    }

    memset(&em, 0, sizeof(llm_gemini_emit_t));
    em.resp = resp;
    em.st = st;
    em.out = out;
    em.meta = &m;

    /* the second pass reads the candidates array alone when it can */

    if (m.ncands_key == 1 && m.cands) {
        em.sub = 1;
        data = m.cands;
        n = (size_t) (m.cands_end - m.cands);
    }

    rc = llm_json_scan(data, n, em.sub ? 5 : 6, llm_gemini_scan_emit, &em);

    llm_buf_free(&em.tool);

    if (rc != LLM_OK) {
        /* memory only: the bytes were valid a moment ago */
        out->len = mark;
        return LLM_ERROR;
    }

    return LLM_OK;
}


int
llm_gemini_stream_end(llm_response_t *resp, llm_buf_t *out)
{
    int                  i, n;
    const char          *fr;
    llm_gemini_state_t  *st;

    if (resp->done) {
        return LLM_DONE;
    }

    if (resp->finish_reason[0] == '\0') {
        return llm_response_fail(resp, out, 502, "stream_truncated",
                                 "The provider's stream ended before it was "
                                 "complete.");
    }

    st = llm_response_state(resp, sizeof(llm_gemini_state_t));
    if (st == NULL) {
        return LLM_ERROR;
    }

    /* one finish per choice, each with its own reason */

    n = st->choices > 0 ? st->choices : 1;

    for (i = 0; i < n; i++) {
        fr = st->finish[i] ? st->finish[i] : resp->finish_reason;

        if (st->tools[i] && strcmp(fr, "stop") == 0) {
            /* Gemini ends a function call with STOP */
            fr = "tool_calls";
        }

        if (llm_event_finish(resp, i, fr, out) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return llm_event_end(resp, out);
}
