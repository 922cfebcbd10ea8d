/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect: the Google Gemini API (generativelanguage v1beta,
 * generateContent and streamGenerateContent?alt=sse), spoken to OpenAI
 * Chat Completions clients.  The request side (the body, the path and
 * the check hook) is in llm_gemini_request.c; the whole mapping policy
 * is in the README's "Dialects" section.
 *
 * Response (Gemini → OpenAI):
 *
 *   - one choice per candidate; text parts joined into content, parts
 *     with "thought": true into reasoning_content, parts that carry only
 *     a thoughtSignature skipped, functionCall parts → tool_calls with
 *     ids the gateway mints (stable, and carrying the part's
 *     thoughtSignature: see llm_gemini_call_id);
 *   - finishReason mapped (README, Dialects: gemini), STOP with function
 *     calls → tool_calls; a blocked prompt is a content_filter choice
 *     whose refusal names the blockReason;
 *   - usageMetadata mapped: promptTokenCount (with
 *     toolUsePromptTokenCount) as prompt tokens, candidates and thoughts
 *     as completion tokens, cachedContentTokenCount as cached.
 *
 * Stream: every SSE event is a whole GenerateContentResponse holding only
 * the new parts, and there is no terminator: the finish chunks (one per
 * choice, each with its own reason), the usage chunk and [DONE] are
 * written by stream_end, and a stream that ends without a finishReason
 * is truncated.  A functionCall arrives whole: one complete tool delta.
 * Events are read with the JSON scanner (two passes: validate and
 * collect, then write the parts, the second over the candidates array
 * alone) and chunks written with the buffer appenders, no tree per event
 * (a functionCall's object is scanned once more, alone).  A non-stream
 * response is read the same way (one pass; function calls and the rare
 * shapes fall back to a cJSON tree).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"




static int llm_gemini_response(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);
static int llm_gemini_stream_event(llm_response_t *resp, const char *event,
    size_t event_len, const char *data, size_t n, llm_buf_t *out);
static int llm_gemini_stream_end(llm_response_t *resp, llm_buf_t *out);
static void llm_gemini_error(int status, const char *p, size_t n,
    llm_error_t *e);
static void llm_gemini_error_object(llm_json_t *err, int status,
    int from_body, llm_error_t *e);


const llm_dialect_t  llm_dialect_gemini = {
    "gemini",
    "",
    llm_gemini_build_request,
    llm_gemini_response,
    llm_gemini_stream_event,
    llm_gemini_stream_end,
    llm_gemini_error,
    llm_gemini_request_path,
    "x-goog-api-key: ",
    NULL,
    llm_gemini_retry_delay,
    llm_gemini_check
};


/* response */

static const char *
llm_gemini_finish(const char *r, size_t n)
{
    static const char  *filter[] = {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
        "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
        "LANGUAGE", NULL
    };
    const char        **f;

    if (n == 10 && memcmp(r, "MAX_TOKENS", 10) == 0) {
        return "length";
    }

    for (f = filter; *f; f++) {
        if (strlen(*f) == n && memcmp(*f, r, n) == 0) {
            return "content_filter";
        }
    }

    return "stop";
}


/* a stable id when the provider gave none: FNV-1a of the bytes */

static void
llm_gemini_make_id(llm_response_t *resp, const char *p, size_t n)
{
    size_t              i;
    unsigned long long  h;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char) p[i];
        h *= 0x100000001b3ULL;
    }

    snprintf(resp->id, sizeof(resp->id), "chatcmpl-%016llx", h);
}


static void
llm_gemini_set_id(llm_response_t *resp, const char *rid, size_t rid_len,
    const char *p, size_t n)
{
    if (rid == NULL || rid_len == 0) {
        llm_gemini_make_id(resp, p, n);
        return;
    }

    if (rid_len > sizeof(resp->id) - sizeof("chatcmpl-")) {
        rid_len = sizeof(resp->id) - sizeof("chatcmpl-");
    }

    memcpy(resp->id, "chatcmpl-", 9);
    memcpy(resp->id + 9, rid, rid_len);
    resp->id[9 + rid_len] = '\0';
}


/* the prompt counts the tool-use prompt too */

static void
llm_gemini_usage_done(llm_usage_t *u, long long candidates,
    long long thoughts, long long tool_use)
{
    u->prompt_tokens += tool_use;
    u->completion_tokens = candidates + thoughts;
    u->reasoning_tokens = thoughts;

    if (u->total_tokens <= 0) {
        u->total_tokens = u->prompt_tokens + u->completion_tokens;
    }

    u->set = 1;
}


static void
llm_gemini_invalid(llm_response_t *resp, const char *what)
{
    llm_error_set(&resp->error, 502, NULL, "invalid_upstream_response",
                  "The provider returned a response %s.", what);
}


/*
 * Tool calls.  Gemini gives a functionCall no id: the gateway mints
 * "call_" and 16 hex digits of FNV-1a over the response id, the choice
 * and the call's position, so a replay of one response gives the same
 * ids.  When the part carries a thoughtSignature (Gemini 3 wants it back
 * with the call in the next request), it follows as "_<signature in
 * base64url, no padding>": the id is the one thing every OpenAI client
 * sends back with the call, and llm_gemini_request.c reads it there.
 */

static int
llm_gemini_call_id(llm_response_t *resp, int choice, int k, const char *sig,
    size_t sig_len, llm_buf_t *out)
{
    char                hex[24];
    size_t              i, mark;
    const char         *p;
    unsigned long long  h;

    h = 0xcbf29ce484222325ULL;

    for (p = resp->id; *p; p++) {
        h ^= (unsigned char) *p;
        h *= 0x100000001b3ULL;
    }

    h ^= (unsigned long long) choice << 16 | (unsigned long long) k;
    h *= 0x100000001b3ULL;

    snprintf(hex, sizeof(hex), "call_%016llx", h);

    if (llm_buf_append_cstr(out, hex) != LLM_OK) {
        return LLM_ERROR;
    }

    if (sig == NULL || sig_len == 0) {
        return LLM_OK;
    }

    mark = out->len;

    if (llm_buf_append_lit(out, "_") != LLM_OK) {
        return LLM_ERROR;
    }

    for (i = 0; i < sig_len; i++) {
        hex[0] = sig[i];

        if (hex[0] == '+') {
            hex[0] = '-';

        } else if (hex[0] == '/') {
            hex[0] = '_';

        } else if (hex[0] == '=' || (hex[0] == '\\' && i + 1 < sig_len
                                     && sig[i + 1] == '/'))
        {
            /* padding; a JSON-escaped "\/" */
            continue;

        } else if (!((hex[0] >= '0' && hex[0] <= '9')
                     || (hex[0] >= 'a' && hex[0] <= 'z')
                     || (hex[0] >= 'A' && hex[0] <= 'Z')
                     || hex[0] == '-' || hex[0] == '_'))
        {
            /* not base64: the id goes without it */
            out->len = mark;
            return LLM_OK;
        }

        if (llm_buf_append(out, hex, 1) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


typedef struct {
    const char  *name;           /* the raw string, quotes included */
    const char  *name_end;
    const char  *args;           /* the raw object */
    const char  *args_end;
} llm_gemini_fc_t;


static int
llm_gemini_scan_fc(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_gemini_fc_t  *fc = data;

    if (depth != 1) {
        return LLM_OK;
    }

    /* the first of duplicates, as cJSON */

    if (llm_json_step_is(&path[0], "name") && type == LLM_JSON_STRING
        && fc->name == NULL)
    {
        fc->name = start;
        fc->name_end = end;

    } else if (llm_json_step_is(&path[0], "args") && type == LLM_JSON_OBJECT
               && fc->args == NULL)
    {
        fc->args = start;
        fc->args_end = end;
    }

    return LLM_OK;
}


/*
 * A tool call from a functionCall object's bytes: the id minted, the name
 * as Gemini sent it, the args object as the arguments string (no args:
 * "{}").  The id and arguments literals are written to buf.
 */

static int
llm_gemini_tool_call(llm_response_t *resp, int choice, int k, int index,
    const char *fcp, size_t fcn, const char *sig, size_t sig_len,
    llm_buf_t *buf, llm_buf_t *out)
{
    size_t            id_end;
    llm_gemini_fc_t   fc;
    llm_tool_event_t  tool;

    memset(&fc, 0, sizeof(llm_gemini_fc_t));

    if (llm_json_scan(fcp, fcn, 1, llm_gemini_scan_fc, &fc) != LLM_OK) {
        memset(&fc, 0, sizeof(llm_gemini_fc_t));
    }

    llm_buf_reset(buf);

    if (llm_buf_append_lit(buf, "\"") != LLM_OK
        || llm_gemini_call_id(resp, choice, k, sig, sig_len, buf) != LLM_OK
        || llm_buf_append_lit(buf, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    id_end = buf->len;

    if ((fc.args
         ? llm_buf_append_json_string(buf, fc.args,
                                      (size_t) (fc.args_end - fc.args))
         : llm_buf_append_lit(buf, "\"{}\"")) != LLM_OK)
    {
        return LLM_ERROR;
    }

    tool.id = buf->data;
    tool.id_len = id_end;
    tool.name = fc.name ? fc.name : "\"\"";
    tool.name_len = fc.name ? (size_t) (fc.name_end - fc.name) : 2;
    tool.args = buf->data + id_end;
    tool.args_len = buf->len - id_end;

    return llm_event_tool(resp, choice, index, &tool, out);
}


/* message.refusal for a blocked prompt: the reason is passed on */

static int
llm_gemini_refusal(const char *reason, size_t len, const char *detail,
    llm_buf_t *out)
{
    if (llm_buf_append_lit(out, "The prompt was blocked by the provider "
                                "(promptFeedback.blockReason: ") != LLM_OK
        || llm_buf_append(out, reason, len) != LLM_OK
        || llm_buf_append_lit(out, ")") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (detail && detail[0]
        && (llm_buf_append_lit(out, ": ") != LLM_OK
            || llm_buf_append_cstr(out, detail) != LLM_OK))
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(out, ".");
}


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


static int llm_gemini_response_tree(llm_response_t *resp, const char *p,
    size_t n, llm_buf_t *out);


static int
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


/* stream */

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


static int
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


static int
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


/* errors */

static int
llm_gemini_status_from_name(const char *s)
{
    static const struct {
        const char  *name;
        int          status;
    } map[] = {
        { "INVALID_ARGUMENT", 400 },
        { "FAILED_PRECONDITION", 400 },
        { "UNAUTHENTICATED", 401 },
        { "PERMISSION_DENIED", 403 },
        { "NOT_FOUND", 404 },
        { "RESOURCE_EXHAUSTED", 429 },
        { "INTERNAL", 500 },
        { "UNAVAILABLE", 503 },
        { "DEADLINE_EXCEEDED", 504 },
        { NULL, 0 }
    };
    int  i;

    for (i = 0; map[i].name; i++) {
        if (strcmp(map[i].name, s) == 0) {
            return map[i].status;
        }
    }

    return 0;
}


/* from_body: the status comes from the error's code or status name */

static void
llm_gemini_error_object(llm_json_t *err, int status, int from_body,
    llm_error_t *e)
{
    int          st;
    char         code[64];
    size_t       i;
    llm_json_t  *v;
    const char  *message, *gs;

    if (cJSON_IsString(err)) {
        llm_error_set(e, status, NULL, NULL, "%s", err->valuestring);
        return;
    }

    v = llm_json_get(err, "code");
    gs = llm_json_get_str(err, "status");

    if (!from_body) {
        /* the HTTP status stands: Google's "code" repeats it */

    } else if (cJSON_IsNumber(v) && v->valuedouble >= 400
               && v->valuedouble < 600)
    {
        status = v->valueint;

    } else if (gs && (st = llm_gemini_status_from_name(gs)) != 0) {
        status = st;
    }

    code[0] = '\0';

    if (gs == NULL) {
        /* no code */

    } else if (strcmp(gs, "RESOURCE_EXHAUSTED") == 0) {
        snprintf(code, sizeof(code), "rate_limit_exceeded");

    } else if (strcmp(gs, "NOT_FOUND") == 0) {
        snprintf(code, sizeof(code), "model_not_found");

    } else if (strcmp(gs, "INVALID_ARGUMENT") == 0) {
        snprintf(code, sizeof(code), "invalid_argument");

    } else if (strcmp(gs, "UNAVAILABLE") == 0) {
        snprintf(code, sizeof(code), "overloaded");

    } else if (strcmp(gs, "PERMISSION_DENIED") == 0) {
        snprintf(code, sizeof(code), "permission_denied");

    } else {
        for (i = 0; gs[i] && i < sizeof(code) - 1; i++) {
            code[i] = (gs[i] >= 'A' && gs[i] <= 'Z') ? gs[i] - 'A' + 'a'
                                                     : gs[i];
        }

        code[i] = '\0';
    }

    message = llm_json_get_str(err, "message");

    llm_error_set(e, status, NULL, code, "%s",
                  message ? message : "The provider reported an error.");
}


static void
llm_gemini_error(int status, const char *p, size_t n, llm_error_t *e)
{
    llm_json_t  *j, *err;

    j = llm_json_parse(p, n, NULL);

    err = llm_json_get(j, "error");

    if (err && !cJSON_IsNull(err)) {
        /* the HTTP status stands: Google's "code" repeats it */
        llm_gemini_error_object(err, status, 0, e);

    } else {
        llm_error_no_message(e, status, j != NULL);
    }

    llm_json_free(j);
}


long long
llm_gemini_retry_delay(const char *p, size_t n)
{
    char         *end;
    double        d;
    long long     secs;
    llm_json_t   *j, *details, *item;
    const char   *s;

    j = llm_json_parse(p, n, NULL);
    details = llm_json_get_arr(llm_json_get_obj(j, "error"), "details");

    secs = -1;

    cJSON_ArrayForEach(item, details) {
        s = llm_json_get_str(item, "retryDelay");
        if (s == NULL) {
            continue;
        }

        d = strtod(s, &end);

        if (end == s || (*end != 's' && *end != '\0') || !(d >= 0)
            || d > 1e9)
        {
            continue;
        }

        secs = (long long) d;
        if ((double) secs < d) {
            secs++;
        }

        break;
    }

    llm_json_free(j);

    return secs;
}
