/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect: the Google Gemini API (generativelanguage v1beta,
 * generateContent and streamGenerateContent?alt=sse) behind the gateway.
 * Its files: the request (llm_gemini_request.c, the tools and schema
 * conversion in llm_gemini_tools.c), the check (llm_gemini_check.c), the
 * non-stream response (llm_gemini_response.c), the stream
 * (llm_gemini_stream.c); this one holds the table and what they share:
 * finishReason mapping, ids, tool calls, refusals, usage, errors.  The
 * whole mapping policy is in the README's "Dialects" section.
 *
 *   - one choice per candidate; text parts are content, parts with
 *     "thought": true reasoning, parts that carry only a
 *     thoughtSignature skipped, functionCall parts tool calls with ids
 *     the gateway mints (stable, and carrying the part's
 *     thoughtSignature: see llm_gemini_call_id);
 *   - finishReason mapped, STOP with function calls → tool_calls; a
 *     blocked prompt is a content_filter choice whose refusal names the
 *     blockReason;
 *   - usageMetadata: promptTokenCount (with toolUsePromptTokenCount) as
 *     prompt tokens, candidates and thoughts as completion tokens,
 *     cachedContentTokenCount as cached.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


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
    llm_gemini_check,
    NULL,
    NULL
};


const char *
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


void
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

void
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


void
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

int
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

int
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

void
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


void
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
