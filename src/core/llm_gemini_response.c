/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect, non-stream response: a GenerateContentResponse
 * becomes events (see llm_response.h), one choice per candidate.  The
 * usual response takes a fast path: one scan, no tree, the text parts
 * emitted as their JSON bytes; function calls, errors, blocked prompts
 * and the rare shapes take a cJSON tree.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


static int llm_gemini_response_tree(llm_response_t *resp,
    const char *p, size_t n, llm_buf_t *out);


/* one choice for a candidate; returns LLM_ERROR on memory only */

static int
llm_gemini_choice(llm_response_t *resp, llm_json_t *cand, int pos,
    llm_buf_t *out)
{
    int          index, rc, k;
    llm_buf_t    buf, tmp;
    llm_json_t  *parts, *part, *v, *fc;
    const char  *fr, *s, *sig;

    memset(&buf, 0, sizeof(llm_buf_t));
    memset(&tmp, 0, sizeof(llm_buf_t));

    rc = LLM_ERROR;
    k = 0;

    index = pos;
    v = llm_json_get(cand, "index");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 65536) {
        index = v->valueint;
    }

    parts = llm_json_get_arr(llm_json_get_obj(cand, "content"), "parts");

    cJSON_ArrayForEach(part, parts) {
        fc = llm_json_get_obj(part, "functionCall");

        if (fc) {
            sig = llm_json_get_str(part, "thoughtSignature");
            llm_buf_reset(&tmp);

            if (llm_json_print(fc, &tmp) != LLM_OK
                || llm_gemini_tool_call(resp, index, k, k, tmp.data, tmp.len,
                                        sig, sig ? strlen(sig) : 0, &buf,
                                        out) != LLM_OK)
            {
                goto done;
            }

            k++;
            continue;
        }

        s = llm_json_get_str(part, "text");
        if (s == NULL || s[0] == '\0') {
            /* empty text, a lone thoughtSignature... */
            continue;
        }

        if (llm_event_text_str(resp, index,
                               cJSON_IsTrue(llm_json_get(part, "thought"))
                               ? LLM_PART_REASONING : LLM_PART_CONTENT,
                               s, strlen(s), out) != LLM_OK)
        {
            goto done;
        }
    }

    fr = llm_json_get_str(cand, "finishReason");
    fr = fr ? llm_gemini_finish(fr, strlen(fr)) : "stop";

    if (k && strcmp(fr, "stop") == 0) {
        /* Gemini ends a function call with STOP */
        fr = "tool_calls";
    }

    if (pos == 0) {
        llm_response_set_finish(resp, fr);
    }

    rc = llm_event_finish(resp, index, fr, out);

done:

    llm_buf_free(&buf);
    llm_buf_free(&tmp);

    return rc;
}


/*
 * The fast path: one scan, no tree, the chat.completion written with the
 * appenders and the text parts copied as their raw JSON string bytes.
 * Anything unusual (an error, no candidates, a duplicate member, an
 * escape cJSON would decode differently, ...) takes the tree path.
 */

#define LLM_GEMINI_MAX_SPANS  32

/* seen members, to leave duplicates (cJSON takes the first) to the tree */
#define LLM_GEMINI_SEEN_ERROR     0x0001
#define LLM_GEMINI_SEEN_RID       0x0002
#define LLM_GEMINI_SEEN_USAGE     0x0004
#define LLM_GEMINI_SEEN_CANDS     0x0008
#define LLM_GEMINI_SEEN_FB        0x0010
#define LLM_GEMINI_SEEN_PROMPT    0x0020
#define LLM_GEMINI_SEEN_TOTAL     0x0040
#define LLM_GEMINI_SEEN_CACHED    0x0080
#define LLM_GEMINI_SEEN_CTOKENS   0x0100
#define LLM_GEMINI_SEEN_THOUGHTS  0x0200
#define LLM_GEMINI_SEEN_TOOLUSE   0x0400

#define LLM_GEMINI_CSEEN_FINISH   0x01
#define LLM_GEMINI_CSEEN_INDEX    0x02
#define LLM_GEMINI_CSEEN_CONTENT  0x04
#define LLM_GEMINI_CSEEN_PARTS    0x08


typedef struct {
    const char  *start;          /* a JSON string, quotes too */
    const char  *end;
    int          cand;
    int          thought;
} llm_gemini_span_t;


typedef struct {
    const char  *finish;
    size_t       finish_len;
    int          index;
    unsigned     seen;
} llm_gemini_cand_t;


typedef struct {
    llm_json_type_e     top;
    unsigned            seen;
    unsigned            error:1;
    unsigned            has_usage:1;
    unsigned            cands_array:1;
    unsigned            slow:1;
    unsigned            part_text:1;
    unsigned            part_thought_seen:1;
    unsigned            part_thought:1;
    const char         *rid;
    size_t              rid_len;
    long long           prompt;
    long long           total;
    long long           cached;
    long long           ctokens;
    long long           thoughts;
    long long           tool_use;
    const char         *text;
    const char         *text_end;
    int                 ncand;
    int                 nspans;
    llm_gemini_cand_t   cand[LLM_GEMINI_MAX_CAND];
    llm_gemini_span_t   span[LLM_GEMINI_MAX_SPANS];
} llm_gemini_fast_t;


/* 1 if cJSON would decode the string's escapes to what a raw copy keeps */

static int
llm_gemini_raw_ok(const char *s, const char *end)
{
    const char  *q;

    for ( ;; ) {
        q = memchr(s, '\\', (size_t) (end - s));
        if (q == NULL || q + 1 >= end) {
            return 1;
        }

        if (q[1] != 'u') {
            s = q + 2;
            continue;
        }

        if (q + 6 > end) {
            return 0;
        }

        /* \u0000 ends a cJSON string; surrogates are decoded or refused */

        if ((q[2] == '0' && q[3] == '0' && q[4] == '0' && q[5] == '0')
            || ((q[2] == 'd' || q[2] == 'D')
                && ((q[3] >= '8' && q[3] <= '9')
                    || (q[3] >= 'a' && q[3] <= 'f')
                    || (q[3] >= 'A' && q[3] <= 'F'))))
        {
            return 0;
        }

        s = q + 6;
    }
}


static int
llm_gemini_seen(unsigned *seen, unsigned bit)
{
    if (*seen & bit) {
        return 1;
    }

    *seen |= bit;

    return 0;
}


static int
llm_gemini_scan_fast(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    int                 i;
    unsigned            bit;
    long long           v, *to;
    llm_gemini_cand_t  *c;
    llm_gemini_fast_t  *f = data;

    if (f->slow) {
        return LLM_OK;
    }

    if (depth == 0) {
        f->top = type;
        return LLM_OK;
    }

    if (depth == 1) {
        if (llm_json_step_is(&path[0], "candidates")) {
            bit = LLM_GEMINI_SEEN_CANDS;
            f->cands_array = (type == LLM_JSON_ARRAY);

        } else if (llm_json_step_is(&path[0], "usageMetadata")) {
            bit = LLM_GEMINI_SEEN_USAGE;
            f->has_usage = (type == LLM_JSON_OBJECT);

        } else if (llm_json_step_is(&path[0], "responseId")) {
            bit = LLM_GEMINI_SEEN_RID;

            if (type == LLM_JSON_STRING) {
                f->rid = start + 1;
                f->rid_len = (size_t) (end - start - 2);

                if (memchr(f->rid, '\\', f->rid_len) != NULL) {
                    f->slow = 1;
                }
            }

        } else if (llm_json_step_is(&path[0], "error")) {
            bit = LLM_GEMINI_SEEN_ERROR;
            f->error = (type != LLM_JSON_NULL);

        } else if (llm_json_step_is(&path[0], "promptFeedback")) {
            bit = LLM_GEMINI_SEEN_FB;

        } else {
            return LLM_OK;
        }

        if (llm_gemini_seen(&f->seen, bit)) {
            f->slow = 1;
        }

        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "usageMetadata")) {
        if (depth != 2 || path[1].key == NULL) {
            return LLM_OK;
        }

        if (llm_json_step_is(&path[1], "promptTokenCount")) {
            bit = LLM_GEMINI_SEEN_PROMPT;
            to = &f->prompt;

        } else if (llm_json_step_is(&path[1], "candidatesTokenCount")) {
            bit = LLM_GEMINI_SEEN_CTOKENS;
            to = &f->ctokens;

        } else if (llm_json_step_is(&path[1], "totalTokenCount")) {
            bit = LLM_GEMINI_SEEN_TOTAL;
            to = &f->total;

        } else if (llm_json_step_is(&path[1], "thoughtsTokenCount")) {
            bit = LLM_GEMINI_SEEN_THOUGHTS;
            to = &f->thoughts;

        } else if (llm_json_step_is(&path[1], "cachedContentTokenCount")) {
            bit = LLM_GEMINI_SEEN_CACHED;
            to = &f->cached;

        } else if (llm_json_step_is(&path[1], "toolUsePromptTokenCount")) {
            bit = LLM_GEMINI_SEEN_TOOLUSE;
            to = &f->tool_use;

        } else {
            return LLM_OK;
        }

        if (llm_gemini_seen(&f->seen, bit)) {
            f->slow = 1;
            return LLM_OK;
        }

        if (type == LLM_JSON_NUMBER) {
            v = llm_json_scan_int(start, end);

            if (v < 0) {
                /* negative, fractional or huge: as the tree reads it */
                f->slow = 1;
                return LLM_OK;
            }

            *to = v;
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[0], "candidates") || path[1].key != NULL) {
        return LLM_OK;
    }

    i = path[1].index;

    if (i >= LLM_GEMINI_MAX_CAND) {
        f->slow = 1;
        return LLM_OK;
    }

    c = &f->cand[i];

    if (depth == 2) {
        f->ncand = i + 1;
        return LLM_OK;
    }

    if (depth == 3) {
        if (llm_json_step_is(&path[2], "content")) {
            bit = LLM_GEMINI_CSEEN_CONTENT;

        } else if (llm_json_step_is(&path[2], "finishReason")) {
            bit = LLM_GEMINI_CSEEN_FINISH;

            if (type == LLM_JSON_STRING) {
                c->finish = start + 1;
                c->finish_len = (size_t) (end - start - 2);

                if (memchr(c->finish, '\\', c->finish_len) != NULL) {
                    f->slow = 1;
                }
            }

        } else if (llm_json_step_is(&path[2], "index")) {
            bit = LLM_GEMINI_CSEEN_INDEX;

            if (type == LLM_JSON_NUMBER) {
                v = llm_json_scan_int(start, end);

                if (v < 0) {
                    f->slow = 1;

                } else if (v < 65536) {
                    c->index = (int) v;
                }
            }

        } else {
            return LLM_OK;
        }

        if (llm_gemini_seen(&c->seen, bit)) {
            f->slow = 1;
        }

        return LLM_OK;
    }

    if (!llm_json_step_is(&path[2], "content")) {
        return LLM_OK;
    }

    if (depth == 4) {
        if (llm_json_step_is(&path[3], "parts")
            && llm_gemini_seen(&c->seen, LLM_GEMINI_CSEEN_PARTS))
        {
            f->slow = 1;
        }

        return LLM_OK;
    }

    /* candidates[i].content.parts[k](.text|.thought) */

    if (!llm_json_step_is(&path[3], "parts") || path[4].key != NULL) {
        return LLM_OK;
    }

    if (depth == 6) {
        if (llm_json_step_is(&path[5], "text")) {
            if (f->part_text) {
                f->slow = 1;
                return LLM_OK;
            }

            f->part_text = 1;

            if (type == LLM_JSON_STRING) {
                f->text = start;
                f->text_end = end;
            }

        } else if (llm_json_step_is(&path[5], "functionCall")) {
            /* tool calls: the tree path */
            f->slow = 1;

        } else if (llm_json_step_is(&path[5], "thought")) {
            if (f->part_thought_seen) {
                f->slow = 1;
                return LLM_OK;
            }

            f->part_thought_seen = 1;
            f->part_thought = (type == LLM_JSON_TRUE);
        }

        return LLM_OK;
    }

    /* depth 5: the part is complete */

    if (f->text && f->text_end - f->text > 2) {
        if (f->nspans == LLM_GEMINI_MAX_SPANS
            || !llm_gemini_raw_ok(f->text, f->text_end))
        {
            f->slow = 1;
            return LLM_OK;
        }

        f->span[f->nspans].start = f->text;
        f->span[f->nspans].end = f->text_end;
        f->span[f->nspans].cand = i;
        f->span[f->nspans].thought = f->part_thought;
        f->nspans++;
    }

    f->text = NULL;
    f->text_end = NULL;
    f->part_text = 0;
    f->part_thought_seen = 0;
    f->part_thought = 0;

    return LLM_OK;
}


int
llm_gemini_response(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int                 i, k;
    const char         *fr;
    llm_gemini_fast_t   f;

    llm_response_whole(resp);

    f.top = LLM_JSON_NULL;
    f.seen = 0;
    f.error = 0;
    f.has_usage = 0;
    f.cands_array = 0;
    f.slow = 0;
    f.part_text = 0;
    f.part_thought_seen = 0;
    f.part_thought = 0;
    f.rid = NULL;
    f.rid_len = 0;
    f.prompt = 0;
    f.total = 0;
    f.cached = 0;
    f.ctokens = 0;
    f.thoughts = 0;
    f.tool_use = 0;
    f.text = NULL;
    f.text_end = NULL;
    f.ncand = 0;
    f.nspans = 0;

    for (i = 0; i < LLM_GEMINI_MAX_CAND; i++) {
        f.cand[i].finish = NULL;
        f.cand[i].finish_len = 0;
        f.cand[i].index = i;
        f.cand[i].seen = 0;
    }

    if (llm_json_scan(p, n, 6, llm_gemini_scan_fast, &f) != LLM_OK
        || f.slow || f.top != LLM_JSON_OBJECT || f.error || !f.cands_array
        || f.ncand == 0)
    {
        return llm_gemini_response_tree(resp, p, n, out);
    }

    llm_gemini_set_id(resp, f.rid, f.rid_len, p, n);
    resp->created = (long long) time(NULL);

    if (f.has_usage) {
        resp->usage.prompt_tokens = f.prompt;
        resp->usage.total_tokens = f.total;
        resp->usage.cached_tokens = f.cached;
        llm_gemini_usage_done(&resp->usage, f.ctokens, f.thoughts,
                              f.tool_use);
    }

    if (llm_event_start(resp, out) != LLM_OK) {
        return LLM_ERROR;
    }

    /* each candidate's text parts, as their JSON bytes, then its finish */

    for (i = 0; i < f.ncand; i++) {
        for (k = 0; k < f.nspans; k++) {
            if (f.span[k].cand == i
                && llm_event_text(resp, f.cand[i].index,
                                  f.span[k].thought ? LLM_PART_REASONING
                                                    : LLM_PART_CONTENT,
                                  f.span[k].start,
                                  (size_t) (f.span[k].end - f.span[k].start),
                                  out) != LLM_OK)
            {
                return LLM_ERROR;
            }
        }

        fr = f.cand[i].finish
             ? llm_gemini_finish(f.cand[i].finish, f.cand[i].finish_len)
             : "stop";

        if (i == 0) {
            llm_response_set_finish(resp, fr);
        }

        if (llm_event_finish(resp, f.cand[i].index, fr, out) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (llm_event_end(resp, out) == LLM_ERROR) {
        return LLM_ERROR;
    }

    resp->first_token = 1;

    return LLM_OK;
}


/* the tree path: errors, blocked prompts and the rare shapes */

static int
llm_gemini_response_tree(llm_response_t *resp, const char *p, size_t n,
    llm_buf_t *out)
{
    int          rc, pos;
    llm_buf_t    refusal;
    llm_json_t  *j, *err, *cands, *cand, *fb, *um;
    const char  *rid, *reason;

    j = llm_json_parse(p, n, NULL);

    if (j == NULL || !cJSON_IsObject(j)) {
        llm_json_free(j);
        llm_gemini_invalid(resp, "that is not a JSON object");
        return LLM_ERROR;
    }

    err = llm_json_get(j, "error");

    if (err && !cJSON_IsNull(err)) {
        llm_gemini_error_object(err, 502, 1, &resp->error);
        llm_json_free(j);
        return LLM_ERROR;
    }

    cands = llm_json_get_arr(j, "candidates");
    fb = llm_json_get_obj(j, "promptFeedback");

    if (cJSON_GetArraySize(cands) == 0 && fb == NULL) {
        llm_json_free(j);
        llm_gemini_invalid(resp, "without candidates");
        return LLM_ERROR;
    }

    rc = LLM_ERROR;
    memset(&refusal, 0, sizeof(llm_buf_t));

    rid = llm_json_get_str(j, "responseId");
    llm_gemini_set_id(resp, rid, rid ? strlen(rid) : 0, p, n);
    resp->created = (long long) time(NULL);

    um = llm_json_get_obj(j, "usageMetadata");

    if (um) {
        resp->usage.prompt_tokens = llm_json_get_count(um, "promptTokenCount");
        resp->usage.total_tokens = llm_json_get_count(um, "totalTokenCount");
        resp->usage.cached_tokens = llm_json_get_count(um,
                                                 "cachedContentTokenCount");
        llm_gemini_usage_done(&resp->usage,
                              llm_json_get_count(um, "candidatesTokenCount"),
                              llm_json_get_count(um, "thoughtsTokenCount"),
                              llm_json_get_count(um,
                                                 "toolUsePromptTokenCount"));
    }

    if (llm_event_start(resp, out) != LLM_OK) {
        goto done;
    }

    if (cJSON_GetArraySize(cands) == 0) {

        /* the prompt was blocked: its reason is the refusal */

        reason = llm_json_get_str(fb, "blockReason");

        if (llm_gemini_refusal(reason ? reason : "OTHER",
                               reason ? strlen(reason) : 5,
                               llm_json_get_str(fb, "blockReasonMessage"),
                               &refusal) != LLM_OK
            || llm_event_text_str(resp, 0, LLM_PART_REFUSAL, refusal.data,
                                  refusal.len, out) != LLM_OK
            || llm_event_finish(resp, 0, "content_filter", out) != LLM_OK)
        {
            goto done;
        }

    } else {
        pos = 0;

        cJSON_ArrayForEach(cand, cands) {
            if (llm_gemini_choice(resp, cand, pos++, out) != LLM_OK) {
                goto done;
            }
        }
    }

    if (llm_event_end(resp, out) == LLM_ERROR) {
        goto done;
    }

    resp->first_token = 1;

    rc = LLM_OK;

done:

    llm_json_free(j);
    llm_buf_free(&refusal);

    return rc;
}
