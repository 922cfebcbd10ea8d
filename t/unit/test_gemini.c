/*
 * Unit tests for the "gemini" dialect (src/core/llm_gemini*.c),
 * replaying the real Gemini recordings in t/fixtures/google.
 *
 * usage: test_gemini [repo-root]   (or LLM_REPO=repo-root)
 */

#define _GNU_SOURCE      /* memmem() */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_gemini.h"
#include "../../src/core/llm_sse.h"
#include "tap.h"
#include "fixture.h"


/* a name that needs escaping, to catch raw splicing */
#define CLIENT_MODEL  "client/model \"q\""


long long llm_gemini_retry_delay(const char *p, size_t n);


static const char  *root = ".";


/* the fixtures under this run's repository root */
#define read_file(rel, b)  fixture_read(root, rel, b)


static cJSON *
get(cJSON *j, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(j, name);
}


static const char *
str(cJSON *j, const char *name)
{
    const char  *s;

    s = cJSON_GetStringValue(get(j, name));

    return s ? s : "";
}


static cJSON *
fixture_json(const char *rel)
{
    cJSON      *j;
    llm_buf_t   b;

    memset(&b, 0, sizeof(llm_buf_t));

    if (read_file(rel, &b) != LLM_OK) {
        llm_buf_free(&b);
        return NULL;
    }

    j = cJSON_ParseWithLength(b.data, b.len);
    llm_buf_free(&b);

    return j;
}


/* request_path and build_request */

static int
parse_request(llm_request_t *req, const char *body)
{
    llm_error_t  e;

    if (llm_request_parse(req, body, strlen(body), &e) != LLM_OK) {
        diag("request: %s", e.message);
        return LLM_ERROR;
    }

    return LLM_OK;
}


static void
test_request_path(void)
{
    llm_buf_t      b;
    llm_request_t  req;

    memset(&b, 0, sizeof(llm_buf_t));

    if (!ok(parse_request(&req, "{\"model\":\"m\",\"messages\":"
                          "[{\"role\":\"user\",\"content\":\"hi\"}]}")
            == LLM_OK, "path: request parses"))
    {
        return;
    }

    llm_dialect_gemini.request_path(&req, "gemini-2.0-flash", &b);
    is_str(b.data, b.len, "/models/gemini-2.0-flash:generateContent",
           "path: non-stream");

    req.stream = 1;
    llm_buf_reset(&b);
    llm_dialect_gemini.request_path(&req, "gemini-2.0-flash", &b);
    is_str(b.data, b.len,
           "/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
           "path: stream");

    req.stream = 0;
    llm_buf_reset(&b);
    llm_dialect_gemini.request_path(&req, "models/a b?", &b);
    is_str(b.data, b.len, "/models/a%20b%3F:generateContent",
           "path: models/ prefix dropped, escaped");

    ok(strcmp(llm_dialect_gemini.name, "gemini") == 0
       && strcmp(llm_dialect_gemini.auth_prefix, "x-goog-api-key: ") == 0
       && llm_dialect_gemini.extra_headers == NULL
       && llm_dialect_gemini.chat_path != NULL,
       "dialect table: name, auth header");

    llm_buf_free(&b);
    llm_request_free(&req);
}


/* builds the request and compares it with the expected JSON */

static void
build_check(const char *name, const char *body, long long max_default,
    const char *expected)
{
    int             rc;
    cJSON          *want, *got;
    llm_buf_t       b;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));

    if (!ok(parse_request(&req, body) == LLM_OK, "build %s: parses", name)) {
        return;
    }

    req.max_tokens_default = max_default;

    rc = llm_dialect_gemini.build_request(&req, "gemini-up", &b);
    got = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
    want = cJSON_Parse(expected);

    if (!ok(rc == LLM_OK && got && want && cJSON_Compare(want, got, 1),
            "build %s", name))
    {
        diag("got:  %.*s", (int) b.len, b.data);
        diag("want: %s", expected);
    }

    cJSON_Delete(got);
    cJSON_Delete(want);
    llm_buf_free(&b);
    llm_request_free(&req);
}


static void
test_build_request(void)
{
    cJSON          *meta, *nat, *si, *gc;
    llm_buf_t       b;
    cJSON          *got;
    llm_request_t   req;

    build_check("simple",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}]}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");

    build_check("system, roles, merge, config",
        "{\"model\":\"m\",\"stream\":true,\"messages\":["
        "{\"role\":\"system\",\"content\":\"S1\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
        "\"text\":\"S2\"}]},"
        "{\"role\":\"user\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b\"},"
        "{\"type\":\"text\",\"text\":\"c\"}]},"
        "{\"role\":\"assistant\",\"content\":\"d\"},"
        "{\"role\":\"user\",\"content\":\"e\"}],"
        "\"temperature\":0.5,\"top_p\":0.9,\"max_tokens\":100,"
        "\"stop\":\"END\",\"n\":2,\"seed\":7,\"presence_penalty\":1,"
        "\"frequency_penalty\":1,\"user\":\"u\",\"logprobs\":true,"
        "\"stream_options\":{\"include_usage\":true}}", 0,
        "{\"contents\":["
        "{\"role\":\"user\",\"parts\":[{\"text\":\"a\"},{\"text\":\"bc\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"d\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"text\":\"e\"}]}],"
        "\"systemInstruction\":{\"parts\":[{\"text\":\"S1\\n\\nS2\"}]},"
        "\"generationConfig\":{\"temperature\":0.5,\"topP\":0.9,"
        "\"maxOutputTokens\":100,\"stopSequences\":[\"END\"],"
        "\"candidateCount\":2,\"seed\":7,\"presencePenalty\":1,"
        "\"frequencyPenalty\":1}}");

    build_check("max_completion_tokens wins, stop array",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}],\"max_tokens\":5,"
        "\"max_completion_tokens\":9,\"stop\":[\"x\",\"y\"]}", 77,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"generationConfig\":{\"maxOutputTokens\":9,"
        "\"stopSequences\":[\"x\",\"y\"]}}");

    build_check("max_tokens default",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}]}", 77,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"generationConfig\":{\"maxOutputTokens\":77}}");

    /* the native request pydantic-ai recorded for text.stream.sse */

    memset(&b, 0, sizeof(llm_buf_t));
    meta = fixture_json("google/text.stream.sse.meta.json");
    nat = get(get(meta, "request"), "body");

    if (!ok(nat != NULL, "meta: native request read")) {
        cJSON_Delete(meta);
        return;
    }

    /* systemInstruction.role is optional: we send none */
    cJSON_DeleteItemFromObjectCaseSensitive(get(nat, "systemInstruction"),
                                            "role");

    if (parse_request(&req, "{\"model\":\"gemini-2.0-flash-exp\","
                      "\"stream\":true,\"temperature\":0.0,\"messages\":["
                      "{\"role\":\"system\",\"content\":"
                      "\"You are a helpful chatbot.\"},"
                      "{\"role\":\"user\",\"content\":"
                      "\"What is the capital of France?\"}]}") == LLM_OK)
    {
        llm_dialect_gemini.build_request(&req, "gemini-2.0-flash-exp", &b);
        got = cJSON_ParseWithLength(b.data ? b.data : "", b.len);

        if (!ok(cJSON_Compare(nat, got, 1),
                "build: equals the native request of text.stream.sse"))
        {
            diag("got: %.*s", (int) b.len, b.data);
        }

        si = get(got, "systemInstruction");
        gc = get(got, "generationConfig");
        ok(si && gc && get(got, "model") == NULL
           && get(got, "messages") == NULL && get(got, "stream") == NULL,
           "build: no OpenAI-only fields");

        cJSON_Delete(got);
        llm_request_free(&req);
    }

    cJSON_Delete(meta);
    llm_buf_free(&b);
}


/* response() */

static void
test_response_fixture(const char *rel, const char *content,
    const char *finish, long long prompt, long long completion,
    long long total, long long reasoning, const char *id)
{
    int              rc;
    cJSON           *j, *choice, *msg, *u;
    llm_buf_t        in, out;
    llm_response_t   resp;

    memset(&in, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    if (!ok(read_file(rel, &in) == LLM_OK, "%s: read", rel)) {
        return;
    }

    rc = llm_dialect_gemini.response(&resp, in.data, in.len, &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);

    ok(rc == LLM_OK && cJSON_IsObject(j), "%s: response is JSON", rel);

    choice = cJSON_GetArrayItem(get(j, "choices"), 0);
    msg = get(choice, "message");
    u = get(j, "usage");

    ok(strcmp(str(j, "object"), "chat.completion") == 0
       && strcmp(str(j, "model"), CLIENT_MODEL) == 0
       && strcmp(str(j, "id"), id) == 0
       && cJSON_IsNumber(get(j, "created"))
       && strcmp(str(msg, "role"), "assistant") == 0,
       "%s: envelope", rel);

    if (content) {
        is_str(str(msg, "content"), strlen(str(msg, "content")), content,
               "%s: content", rel);

    } else {
        ok(cJSON_IsNull(get(msg, "content")), "%s: content null", rel);
    }

    ok(get(msg, "reasoning_content") == NULL, "%s: no reasoning", rel);
    ok(strcmp(str(choice, "finish_reason"), finish) == 0
       && strcmp(resp.finish_reason, finish) == 0, "%s: finish_reason %s",
       rel, finish);

    ok(resp.usage.set && resp.usage.prompt_tokens == prompt
       && resp.usage.completion_tokens == completion
       && resp.usage.total_tokens == total
       && resp.usage.reasoning_tokens == reasoning,
       "%s: resp->usage", rel);

    ok(get(u, "prompt_tokens")->valuedouble == prompt
       && get(u, "completion_tokens")->valuedouble == completion
       && get(u, "total_tokens")->valuedouble == total
       && get(get(u, "completion_tokens_details"),
              "reasoning_tokens")->valuedouble == reasoning,
       "%s: usage object", rel);

    ok(resp.done && resp.first_token, "%s: done", rel);

    cJSON_Delete(j);
    llm_buf_free(&in);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


static void
response_inline(const char *name, const char *body, int want_rc,
    int status, const char *code, const char *finish)
{
    int              rc;
    cJSON           *j, *choice;
    llm_buf_t        out;
    llm_response_t   resp;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_gemini.response(&resp, body, strlen(body), &out);

    if (want_rc != LLM_OK) {
        ok(rc == LLM_ERROR && resp.error.status == status
           && strcmp(resp.error.code, code) == 0,
           "response %s: error %d %s", name, status, code);

        if (rc != LLM_ERROR || resp.error.status != status) {
            diag("got %d %d %s", rc, resp.error.status, resp.error.code);
        }

    } else {
        j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
        choice = cJSON_GetArrayItem(get(j, "choices"), 0);

        ok(rc == LLM_OK && j
           && strcmp(str(choice, "finish_reason"), finish) == 0,
           "response %s: finish_reason %s", name, finish);

        cJSON_Delete(j);
    }

    llm_buf_free(&out);
    llm_response_free(&resp);
}


/* the first choice's content (NULL: null) for a body on either path */

static void
content_check(const char *name, const char *body, const char *content)
{
    int              rc;
    cJSON           *j, *c;
    llm_buf_t        out;
    llm_response_t   resp;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_gemini.response(&resp, body, strlen(body), &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
    c = get(get(cJSON_GetArrayItem(get(j, "choices"), 0), "message"),
            "content");

    if (!ok(rc == LLM_OK && j && strcmp(str(j, "model"), CLIENT_MODEL) == 0
            && (content ? cJSON_IsString(c)
                          && strcmp(c->valuestring, content) == 0
                        : cJSON_IsNull(c)),
            "response %s", name))
    {
        diag("got: %.*s", (int) out.len, out.data);
    }

    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


static void
test_responses(void)
{
    cJSON           *j, *choices, *msg;
    llm_buf_t        out;
    llm_response_t   resp;
    const char      *body;

    test_response_fixture("google/text.response.json",
        "There are **3** r's in strawberry.\n\nHere is the breakdown: "
        "st**r**awbe**rr**y.", "stop", 9, 28 + 244, 281, 244,
        "chatcmpl-Un6LacrVMcjUxs0PmJfWoQc");

    /* functionCall parts: tool_calls, finish_reason inferred */
    test_response_fixture("google/tool-call.response.json", NULL,
        "tool_calls", 29, 15 + 893, 937, 893,
        "chatcmpl-m36LaZGyCLz1xs0PtNSB-QU");

    test_response_fixture("google/function-response-roundtrip.response.json",
        NULL, "tool_calls", 47, 8, 55, 0, "chatcmpl-LlteaOzCOPOdnvgPrJbnoQg");

    response_inline("not JSON", "<html>", LLM_ERROR, 502,
                    "invalid_upstream_response", NULL);
    response_inline("no candidates", "{\"usageMetadata\":{}}", LLM_ERROR, 502,
                    "invalid_upstream_response", NULL);
    response_inline("error body", "{\"error\":{\"code\":429,\"message\":"
                    "\"slow\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
                    LLM_ERROR, 429, "rate_limit_exceeded", NULL);
    response_inline("blocked", "{\"promptFeedback\":{\"blockReason\":"
                    "\"SAFETY\"}}", LLM_OK, 0, NULL, "content_filter");
    response_inline("max tokens", "{\"candidates\":[{\"content\":{\"parts\":"
                    "[{\"text\":\"x\"}]},\"finishReason\":\"MAX_TOKENS\"}]}",
                    LLM_OK, 0, NULL, "length");
    response_inline("recitation", "{\"candidates\":[{\"finishReason\":"
                    "\"RECITATION\"}]}", LLM_OK, 0, NULL, "content_filter");
    response_inline("other", "{\"candidates\":[{\"finishReason\":"
                    "\"OTHER\"}]}", LLM_OK, 0, NULL, "stop");

    /* raw string bytes spliced across parts, and shapes for the tree */

    content_check("escapes joined",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\\\"b\"},"
        "{\"text\":\"\\u00e9\\n\\\\\"}]}}],\"responseId\":\"r\"}",
        "a\"b\xc3\xa9\n\\");
    content_check("duplicate text member",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"first\","
        "\"text\":\"second\"}]}}]}", "first");
    content_check("NUL escape",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\\u0000x\"},"
        "{\"text\":\"y\"}]}}]}", "y");
    content_check("only empty text",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},"
        "\"index\":1.5}],\"usageMetadata\":{\"promptTokenCount\":-1}}",
        NULL);

    /* thoughts and two candidates */

    body = "{\"candidates\":[{\"content\":{\"parts\":["
           "{\"text\":\"think\",\"thought\":true},{\"text\":\"A\"},"
           "{\"text\":\"B\"},{\"thoughtSignature\":\"sig\"}]},"
           "\"finishReason\":\"STOP\"},{\"index\":1,\"content\":{\"parts\":"
           "[{\"text\":\"C\"}]},\"finishReason\":\"MAX_TOKENS\"}],"
           "\"usageMetadata\":{\"promptTokenCount\":3,"
           "\"candidatesTokenCount\":4,\"thoughtsTokenCount\":5,"
           "\"cachedContentTokenCount\":2,\"toolUsePromptTokenCount\":1}}";

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    llm_dialect_gemini.response(&resp, body, strlen(body), &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
    choices = get(j, "choices");
    msg = get(cJSON_GetArrayItem(choices, 0), "message");

    ok(cJSON_GetArraySize(choices) == 2
       && strcmp(str(msg, "content"), "AB") == 0
       && strcmp(str(msg, "reasoning_content"), "think") == 0
       && strcmp(str(cJSON_GetArrayItem(choices, 1), "finish_reason"),
                 "length") == 0
       && get(cJSON_GetArrayItem(choices, 1), "index")->valueint == 1,
       "response: thoughts → reasoning_content, two candidates");

    ok(resp.usage.prompt_tokens == 4 && resp.usage.completion_tokens == 9
       && resp.usage.total_tokens == 13 && resp.usage.cached_tokens == 2
       && resp.usage.reasoning_tokens == 5
       && strncmp(resp.id, "chatcmpl-", 9) == 0 && strlen(resp.id) > 9,
       "response: usage sums (tool-use prompt counted), generated id");

    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


/* streams */

typedef struct {
    llm_response_t   resp;
    llm_buf_t        out;
} run_t;


static int
on_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    run_t  *r = data;

    return llm_dialect_gemini.stream_event(&r->resp, event, event_len,
                                           payload, payload_len, &r->out);
}


/* feeds body in pieces of step bytes (0: whole), then ends the stream */

static void
run_stream(run_t *r, const char *p, size_t n, size_t step, int usage)
{
    size_t     off, len;
    llm_sse_t  sse;

    memset(r, 0, sizeof(run_t));
    llm_response_init(&r->resp, CLIENT_MODEL, usage);
    llm_sse_init(&sse, 0);

    for (off = 0; off < n && !r->resp.done; off += len) {
        len = (step == 0 || n - off < step) ? n - off : step;
        llm_sse_feed(&sse, p + off, len, on_event, r);
    }

    llm_dialect_gemini.stream_end(&r->resp, &r->out);
    llm_sse_free(&sse);
}


static void
run_free(run_t *r)
{
    llm_buf_free(&r->out);
    llm_response_free(&r->resp);
}


/* what a client makes of the output */

typedef struct {
    llm_buf_t    content;
    llm_buf_t    reasoning;
    int          frames;
    int          bad;
    int          done;          /* [DONE] frames */
    int          done_last;
    int          role_first;
    int          finish_at;     /* frame number of the finish chunk */
    int          usage_at;
    int          error_at;
    char         finish[32];
    cJSON       *usage;

    /* choice 0's tool calls, accumulated as the OpenAI SDK does */
    int          ntools;
    int          tool_frames;   /* frames with tool_calls */
    llm_buf_t    tool_id[8];
    llm_buf_t    tool_name[8];
    llm_buf_t    tool_args[8];
    char         tool_type[8][16];
    llm_buf_t    refusal;
} client_t;


/* the SDK's accumulator: strings concatenated per index, type set */

static void
client_tools(client_t *c, cJSON *calls)
{
    int          k;
    cJSON       *call, *fn, *v;

    cJSON_ArrayForEach(call, calls) {
        v = get(call, "index");
        if (!cJSON_IsNumber(v) || v->valueint < 0 || v->valueint >= 8) {
            c->bad++;
            continue;
        }

        k = v->valueint;

        if (k + 1 > c->ntools) {
            c->ntools = k + 1;
        }

        fn = get(call, "function");

        if (cJSON_IsString(get(call, "id"))) {
            llm_buf_append_cstr(&c->tool_id[k], str(call, "id"));
        }

        if (cJSON_IsString(get(call, "type"))) {
            snprintf(c->tool_type[k], 16, "%s", str(call, "type"));
        }

        if (cJSON_IsString(get(fn, "name"))) {
            llm_buf_append_cstr(&c->tool_name[k], str(fn, "name"));
        }

        if (cJSON_IsString(get(fn, "arguments"))) {
            llm_buf_append_cstr(&c->tool_args[k], str(fn, "arguments"));
        }
    }
}


static void
client_read(client_t *c, const char *p, size_t n)
{
    cJSON        *j, *choice, *delta, *v;
    const char   *end, *eol;

    memset(c, 0, sizeof(client_t));
    c->finish_at = c->usage_at = c->error_at = -1;

    end = p + n;

    while (p < end) {
        if (end - p < 8 || memcmp(p, "data: ", 6) != 0) {
            c->bad++;
            break;
        }

        p += 6;
        eol = memchr(p, '\n', end - p);

        if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
            c->bad++;
            break;
        }

        if (eol - p == 6 && memcmp(p, "[DONE]", 6) == 0) {
            c->done++;
            c->done_last = (eol + 2 == end);
            c->frames++;
            p = eol + 2;
            continue;
        }

        j = cJSON_ParseWithLength(p, eol - p);

        if (!cJSON_IsObject(j)) {
            c->bad++;

        } else if (get(j, "error")) {
            c->error_at = c->frames;

        } else {
            if (strcmp(str(j, "model"), CLIENT_MODEL) != 0
                || strcmp(str(j, "object"), "chat.completion.chunk") != 0)
            {
                c->bad++;
            }

            choice = cJSON_GetArrayItem(get(j, "choices"), 0);
            delta = get(choice, "delta");

            if (c->frames == 0
                && strcmp(str(delta, "role"), "assistant") == 0)
            {
                c->role_first = 1;
            }

            v = get(delta, "content");
            if (cJSON_IsString(v)) {
                llm_buf_append_cstr(&c->content, v->valuestring);
            }

            v = get(delta, "reasoning_content");
            if (cJSON_IsString(v)) {
                llm_buf_append_cstr(&c->reasoning, v->valuestring);
            }

            v = get(delta, "refusal");
            if (cJSON_IsString(v)) {
                llm_buf_append_cstr(&c->refusal, v->valuestring);
            }

            if (get(delta, "tool_calls")
                && get(choice, "index")->valueint == 0)
            {
                c->tool_frames++;
                client_tools(c, get(delta, "tool_calls"));
            }

            v = get(choice, "finish_reason");
            if (cJSON_IsString(v)) {
                c->finish_at = c->frames;
                snprintf(c->finish, sizeof(c->finish), "%s", v->valuestring);
            }

            if (get(j, "usage")) {
                c->usage_at = c->frames;
                cJSON_Delete(c->usage);
                c->usage = cJSON_Duplicate(get(j, "usage"), 1);
            }
        }

        cJSON_Delete(j);
        c->frames++;
        p = eol + 2;
    }
}


static void
client_free(client_t *c)
{
    int  k;

    for (k = 0; k < 8; k++) {
        llm_buf_free(&c->tool_id[k]);
        llm_buf_free(&c->tool_name[k]);
        llm_buf_free(&c->tool_args[k]);
    }

    llm_buf_free(&c->content);
    llm_buf_free(&c->reasoning);
    llm_buf_free(&c->refusal);
    cJSON_Delete(c->usage);
}


/* the client's tool calls equal the functionCall parts in calls */

static int
client_tools_match(client_t *c, cJSON *calls, const char *what)
{
    int     k, n;
    cJSON  *fc, *args, *want;

    n = cJSON_GetArraySize(calls);

    if (c->ntools != n) {
        diag("%s: %d tool calls, want %d", what, c->ntools, n);
        return 0;
    }

    for (k = 0; k < n; k++) {
        fc = get(cJSON_GetArrayItem(calls, k), "functionCall");
        want = get(fc, "args");
        args = cJSON_ParseWithLength(c->tool_args[k].data
                                     ? c->tool_args[k].data : "",
                                     c->tool_args[k].len);

        if (args == NULL || (want ? !cJSON_Compare(args, want, 1)
                                  : cJSON_GetArraySize(args) != 0)
            || c->tool_name[k].len != strlen(str(fc, "name"))
            || memcmp(c->tool_name[k].data, str(fc, "name"),
                      c->tool_name[k].len) != 0
            || strcmp(c->tool_type[k], "function") != 0
            || c->tool_id[k].len < 21
            || memcmp(c->tool_id[k].data, "call_", 5) != 0)
        {
            diag("%s: tool %d differs: %.*s %.*s", what, k,
                 (int) c->tool_name[k].len, c->tool_name[k].data,
                 (int) c->tool_args[k].len, c->tool_args[k].data);
            cJSON_Delete(args);
            return 0;
        }

        cJSON_Delete(args);
    }

    return 1;
}


/* the fixture's own view: events, text, thoughts, last usage */

typedef struct {
    llm_buf_t    body;          /* as the provider sends it */
    llm_buf_t    text;
    llm_buf_t    thoughts;
    cJSON       *calls;         /* the functionCall parts, in order */
    cJSON       *usage;
    const char  *finish;
    char         finish_buf[32];
} upstream_t;


static void
upstream_event(upstream_t *u, const char *p, size_t n)
{
    cJSON       *j, *part, *cand;
    const char  *s;

    j = cJSON_ParseWithLength(p, n);
    cand = cJSON_GetArrayItem(get(j, "candidates"), 0);

    cJSON_ArrayForEach(part, get(get(cand, "content"), "parts")) {
        s = cJSON_GetStringValue(get(part, "text"));

        if (s) {
            llm_buf_append_cstr(cJSON_IsTrue(get(part, "thought"))
                                ? &u->thoughts : &u->text, s);
        }

        if (get(part, "functionCall")) {
            cJSON_AddItemToArray(u->calls, cJSON_Duplicate(part, 1));
        }
    }

    if (get(cand, "finishReason")) {
        snprintf(u->finish_buf, sizeof(u->finish_buf), "%s",
                 str(cand, "finishReason"));
    }

    if (get(j, "usageMetadata")) {
        cJSON_Delete(u->usage);
        u->usage = cJSON_Duplicate(get(j, "usageMetadata"), 1);
    }

    cJSON_Delete(j);
}


static int
upstream_read(upstream_t *u, const char *rel)
{
    char        *p, *end, *eol;
    llm_buf_t    raw;

    memset(u, 0, sizeof(upstream_t));
    memset(&raw, 0, sizeof(llm_buf_t));
    u->calls = cJSON_CreateArray();

    if (read_file(rel, &raw) != LLM_OK) {
        llm_buf_free(&raw);
        return LLM_ERROR;
    }

    p = raw.data;
    end = raw.data + raw.len;

    if (ends_with(rel, ".jsonl")) {
        while (p < end) {
            eol = memchr(p, '\n', end - p);
            if (eol == NULL) {
                eol = end;
            }

            if (eol > p) {
                llm_buf_append_lit(&u->body, "data: ");
                llm_buf_append(&u->body, p, eol - p);
                llm_buf_append_lit(&u->body, "\r\n\r\n");
                upstream_event(u, p, eol - p);
            }

            p = eol + 1;
        }

    } else {
        llm_buf_append(&u->body, raw.data, raw.len);

        /* one "data: " line per event, CRLF CRLF between */

        while (p < end) {
            eol = memmem(p, end - p, "\r\n", 2);
            if (eol == NULL) {
                eol = end;
            }

            if (eol - p > 6 && memcmp(p, "data: ", 6) == 0) {
                upstream_event(u, p + 6, eol - p - 6);
            }

            p = eol + 2;
        }
    }

    llm_buf_free(&raw);

    /* NUL-terminated for is_str() */
    llm_buf_append_lit(&u->text, "\0");
    llm_buf_append_lit(&u->thoughts, "\0");
    u->text.len--;
    u->thoughts.len--;

    return LLM_OK;
}


static long long
num(cJSON *j, const char *name)
{
    cJSON  *v;

    v = get(j, name);

    return cJSON_IsNumber(v) ? (long long) v->valuedouble : 0;
}


static void
test_stream_fixture(const char *rel)
{
    int          usage;
    run_t        r, r1;
    client_t     c;
    upstream_t   u;
    long long    want_completion;

    if (!ok(upstream_read(&u, rel) == LLM_OK, "%s: read", rel)) {
        return;
    }

    for (usage = 0; usage <= 1; usage++) {
        run_stream(&r, u.body.data, u.body.len, 0, usage);
        client_read(&c, r.out.data, r.out.len);

        ok(c.bad == 0 && c.frames > 0 && c.error_at < 0 && !r.resp.failed,
           "%s usage=%d: every frame parses", rel, usage);
        ok(c.role_first, "%s usage=%d: role chunk first", rel, usage);
        ok(c.done == 1 && c.done_last && r.resp.done,
           "%s usage=%d: one [DONE], last", rel, usage);

        is_str(c.content.data ? c.content.data : "", c.content.len,
               u.text.data,
               "%s usage=%d: text", rel, usage);

        ok(c.reasoning.len == u.thoughts.len
           && (c.reasoning.len == 0
               || memcmp(c.reasoning.data, u.thoughts.data,
                         c.reasoning.len) == 0),
           "%s usage=%d: thoughts → reasoning_content", rel, usage);

        ok(strcmp(c.finish, cJSON_GetArraySize(u.calls) ? "tool_calls"
                                                         : "stop") == 0
           && c.finish_at == c.frames - 2 - usage,
           "%s usage=%d: finish chunk last before usage and [DONE]", rel,
           usage);

        /* each whole functionCall: one complete delta */
        ok(client_tools_match(&c, u.calls, rel)
           && c.tool_frames == cJSON_GetArraySize(u.calls),
           "%s usage=%d: %d tool calls rebuilt as the SDK does", rel, usage,
           cJSON_GetArraySize(u.calls));

        want_completion = num(u.usage, "candidatesTokenCount")
                          + num(u.usage, "thoughtsTokenCount");

        ok(r.resp.usage.set
           && r.resp.usage.prompt_tokens == num(u.usage, "promptTokenCount")
           && r.resp.usage.completion_tokens == want_completion
           && r.resp.usage.total_tokens == num(u.usage, "totalTokenCount"),
           "%s usage=%d: the last chunk's usage", rel, usage);

        if (usage) {
            ok(c.usage_at == c.frames - 2
               && num(c.usage, "prompt_tokens")
                  == num(u.usage, "promptTokenCount")
               && num(c.usage, "completion_tokens") == want_completion
               && num(c.usage, "total_tokens")
                  == num(u.usage, "totalTokenCount"),
               "%s: usage chunk", rel);

        } else {
            ok(c.usage_at < 0, "%s: no usage chunk", rel);
        }

        /* 1-byte splits: the same output (unless time(NULL) ticked) */

        run_stream(&r1, u.body.data, u.body.len, 1, usage);

        ok(r1.out.len == r.out.len
           && (r.resp.created != r1.resp.created
               || memcmp(r1.out.data, r.out.data, r.out.len) == 0),
           "%s usage=%d: 1-byte splits give the same output", rel, usage);

        run_free(&r1);
        client_free(&c);
        run_free(&r);
    }

    llm_buf_free(&u.body);
    llm_buf_free(&u.text);
    llm_buf_free(&u.thoughts);
    cJSON_Delete(u.calls);
    cJSON_Delete(u.usage);
}


static void
test_stream_fixtures(void)
{
    int             n;
    DIR            *d;
    char            path[1024], rel[1024];
    struct dirent  *de;

    snprintf(path, sizeof(path), "%s/t/fixtures/google", root);

    d = opendir(path);
    if (!ok(d != NULL, "open %s", path)) {
        return;
    }

    n = 0;

    while ((de = readdir(d)) != NULL) {
        if (!ends_with(de->d_name, ".stream.sse")
            && !ends_with(de->d_name, ".stream.jsonl"))
        {
            continue;
        }

        snprintf(rel, sizeof(rel), "google/%s", de->d_name);
        test_stream_fixture(rel);
        n++;
    }

    closedir(d);

    ok(n >= 4, "replayed %d google stream fixtures", n);
}


static void
test_stream_edges(void)
{
    run_t        r;
    client_t     c;
    const char  *body;

    /* no finishReason at all */

    body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}"
           "\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 1);
    client_read(&c, r.out.data, r.out.len);

    ok(r.resp.failed && strcmp(r.resp.error.code, "stream_truncated") == 0
       && c.error_at == c.frames - 2 && c.done == 1 && c.done_last
       && c.bad == 0 && c.content.len == 1,
       "no finishReason: content, then stream_truncated and [DONE]");

    client_free(&c);
    run_free(&r);

    /* empty body */

    run_stream(&r, "", 0, 0, 0);
    ok(r.resp.failed && strcmp(r.resp.error.code, "stream_truncated") == 0
       && r.out.len > 14 && memcmp(r.out.data + r.out.len - 14,
                                   "data: [DONE]\n\n", 14) == 0,
       "empty stream: stream_truncated");
    run_free(&r);

    /* in-band error */

    body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}"
           "\r\n\r\n"
           "data: {\"error\":{\"code\":503,\"message\":\"The model is "
           "overloaded.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 1);
    client_read(&c, r.out.data, r.out.len);

    ok(r.resp.failed && r.resp.error.status == 503
       && strcmp(r.resp.error.code, "overloaded") == 0
       && strcmp(r.resp.error.message, "The model is overloaded.") == 0
       && c.error_at == c.frames - 2 && c.done == 1 && c.done_last
       && c.bad == 0,
       "in-band error: error frame and one [DONE]");

    client_free(&c);
    run_free(&r);

    /* malformed JSON */

    body = "data: {\"candidates\":[\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 0);
    ok(r.resp.failed
       && strcmp(r.resp.error.code, "invalid_upstream_response") == 0
       && r.resp.error.status == 502, "malformed event: 502");
    run_free(&r);

    /* blocked prompt */

    body = "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
           "\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4}}"
           "\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 1);
    client_read(&c, r.out.data, r.out.len);

    ok(!r.resp.failed && strcmp(c.finish, "content_filter") == 0
       && c.done == 1 && c.done_last && c.bad == 0
       && num(c.usage, "prompt_tokens") == 4,
       "blocked prompt: content_filter");

    client_free(&c);
    run_free(&r);

    /* thoughts, MAX_TOKENS, text with escapes */

    body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"thought\":true,"
           "\"text\":\"hm\\n\"},{\"text\":\"\\u00e9\\\"x\"}]}}]}\r\n\r\n"
           "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"y\"}]},"
           "\"finishReason\":\"MAX_TOKENS\"}]}\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 0);
    client_read(&c, r.out.data, r.out.len);

    is_str(c.content.data, c.content.len, "\xc3\xa9\"xy", "escapes kept");
    ok(c.reasoning.len == 3 && memcmp(c.reasoning.data, "hm\n", 3) == 0
       && strcmp(c.finish, "length") == 0 && c.bad == 0,
       "thought → reasoning_content, MAX_TOKENS → length");

    client_free(&c);
    run_free(&r);
}


/* tools, history, images, structured output, reasoning: the request */

static void
test_build_tools(void)
{
    build_check("tools, schema conversion, named tool_choice",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"parallel_tool_calls\":false,\"tools\":["
        "{\"type\":\"function\",\"function\":{\"name\":\"weather\","
        "\"description\":\"d\",\"strict\":true,\"parameters\":{"
        "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
        "\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{"
        "\"city\":{\"type\":[\"string\",\"null\"],\"description\":\"c\"},"
        "\"unit\":{\"const\":\"c\",\"default\":\"c\"},"
        "\"days\":{\"type\":\"integer\",\"format\":\"uint8\","
        "\"minimum\":1,\"exclusiveMaximum\":9},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Tag\"}},"
        "\"when\":{\"anyOf\":[{\"type\":\"string\",\"format\":"
        "\"date-time\"},{\"type\":\"null\"}]},"
        "\"pick\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}"
        "},\"required\":[\"city\",\"nope\"],"
        "\"$defs\":{\"Tag\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"noargs\"}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
        "\"weather\"}}}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"tools\":[{\"functionDeclarations\":["
        "{\"name\":\"weather\",\"description\":\"d\",\"parameters\":{"
        "\"type\":\"OBJECT\",\"properties\":{"
        "\"city\":{\"type\":\"STRING\",\"description\":\"c\","
        "\"nullable\":true},"
        "\"unit\":{\"type\":\"STRING\",\"enum\":[\"c\"]},"
        "\"days\":{\"type\":\"INTEGER\",\"minimum\":1},"
        "\"tags\":{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\","
        "\"enum\":[\"a\",\"b\"]}},"
        "\"when\":{\"type\":\"STRING\",\"format\":\"date-time\","
        "\"nullable\":true},"
        "\"pick\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"NUMBER\"}]}"
        "},\"required\":[\"city\"]}},"
        "{\"name\":\"noargs\"}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\","
        "\"allowedFunctionNames\":[\"weather\"]}}}");

    build_check("tool_choice none",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
        "\"tool_choice\":\"none\"}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\","
        "\"parameters\":{\"type\":\"OBJECT\",\"properties\":{}}}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"NONE\"}}}");

    build_check("tool_choice required, auto",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\"}}],\"tool_choice\":\"required\"}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\"}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\"}}}");

    build_check("tool_choice auto",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\"}}],\"tool_choice\":\"auto\"}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\"}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}}");

    build_check("history: calls, results in one user turn, images",
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"q\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        "{\"id\":\"call_0123456789abcdef_AbC-_x\",\"type\":\"function\","
        "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\":1}\"}},"
        "{\"id\":\"x2\",\"type\":\"function\",\"function\":{\"name\":"
        "\"put\",\"arguments\":\"\"},\"extra_content\":{\"google\":"
        "{\"thought_signature\":\"U2ln\"}}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"x2\",\"content\":\"r2\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_0123456789abcdef_AbC-_x\","
        "\"content\":[{\"type\":\"text\",\"text\":\"r1\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"look\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBOR\"}},{\"type\":\"image_url\","
        "\"image_url\":{\"url\":\"https://x.test/a.JPG?x=1\",\"detail\":"
        "\"low\"}},{\"type\":\"text\",\"text\":\"end\"}]},"
        "{\"role\":\"assistant\",\"content\":\"ok\"}]}", 0,
        "{\"contents\":["
        "{\"role\":\"user\",\"parts\":[{\"text\":\"q\"}]},"
        "{\"role\":\"model\",\"parts\":["
        "{\"functionCall\":{\"name\":\"get\",\"args\":{\"a\":1}},"
        "\"thoughtSignature\":\"AbC+/x==\"},"
        "{\"functionCall\":{\"name\":\"put\",\"args\":{}},"
        "\"thoughtSignature\":\"U2ln\"}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"functionResponse\":{\"name\":\"put\",\"response\":"
        "{\"content\":\"r2\"}}},"
        "{\"functionResponse\":{\"name\":\"get\",\"response\":"
        "{\"content\":\"r1\"}}},"
        "{\"text\":\"look\"},"
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBOR\"}},"
        "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":"
        "\"https://x.test/a.JPG?x=1\"}},{\"text\":\"end\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"}]}]}");

    build_check("audio parts",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAAA\","
        "\"format\":\"mp3\"}},{\"type\":\"input_audio\",\"input_audio\":"
        "{\"data\":\"BBBB\",\"format\":\"wav\"}}]}]}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":["
        "{\"inlineData\":{\"mimeType\":\"audio/mp3\",\"data\":\"AAAA\"}},"
        "{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"BBBB\"}}"
        "]}]}");

    build_check("json_schema, reasoning_effort low",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"reasoning_effort\":\"low\",\"response_format\":{"
        "\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\","
        "\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":"
        "{\"a\":{\"type\":\"number\"}},\"additionalProperties\":false}}}}",
        0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"generationConfig\":{\"responseMimeType\":\"application/json\","
        "\"responseSchema\":{\"type\":\"OBJECT\",\"properties\":{\"a\":"
        "{\"type\":\"NUMBER\"}}},\"thinkingConfig\":{\"thinkingBudget\":1024,"
        "\"includeThoughts\":true}}}");

    build_check("json_object, reasoning_effort none",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"reasoning_effort\":\"none\",\"response_format\":{"
        "\"type\":\"json_object\"}}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"generationConfig\":{\"responseMimeType\":\"application/json\","
        "\"thinkingConfig\":{\"thinkingBudget\":0}}}");

    build_check("response_format text, reasoning_effort high",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"reasoning_effort\":\"high\",\"response_format\":{"
        "\"type\":\"text\"}}", 0,
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
        "\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":24576,"
        "\"includeThoughts\":true}}}");
}


/* the check hook */

static void
check_case(const char *name, const char *body, const char *param)
{
    int             rc;
    llm_error_t     e;
    llm_request_t   req;

    if (!ok(parse_request(&req, body) == LLM_OK, "check %s: parses", name)) {
        return;
    }

    memset(&e, 0, sizeof(llm_error_t));
    rc = llm_dialect_gemini.check(&req, &e);

    if (param == NULL) {
        ok(rc == LLM_OK, "check %s: accepted", name);

    } else if (!ok(rc == LLM_DECLINED && e.status == 400
                   && e.param[0] && strcmp(e.param, param) == 0
                   && strcmp(e.type, "invalid_request_error") == 0,
                   "check %s: 400 naming %s", name, param))
    {
        diag("got rc %d status %d param '%s': %s", rc, e.status, e.param,
             e.message);
    }

    llm_request_free(&req);
}


#define CHECK_MSG  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"


/*
 * Without $refs the check does not convert a schema (its objects bound
 * the conversion): one past the bounds, deep or wide, is still refused
 */

static void
check_schema_bounds(void)
{
    int        i;
    llm_buf_t  b;

    static const struct {
        const char  *name;
        int          depth;     /* nested "items" */
        int          props;     /* properties at the top */
        const char  *param;
    } cases[] = {
        { "100 properties, no $ref", 1, 100, NULL },
        { "32 levels, no $ref", 31, 1, NULL },
        { "40 levels, no $ref", 40, 1, "tools[0].function.parameters" },
        { "5000 properties, no $ref", 1, 5000,
          "tools[0].function.parameters" },
    };

    memset(&b, 0, sizeof(llm_buf_t));

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        llm_buf_reset(&b);
        llm_buf_append_cstr(&b, "{\"model\":\"m\"," CHECK_MSG
                            ",\"tools\":[{\"type\":\"function\","
                            "\"function\":{\"name\":\"x\",\"parameters\":"
                            "{\"type\":\"object\",\"properties\":{");

        for (i = 0; i < cases[k].props; i++) {
            llm_buf_append_cstr(&b, i ? "," : "");
            llm_buf_append_cstr(&b, "\"p");
            llm_buf_append_int(&b, i);
            llm_buf_append_cstr(&b, "\":");

            if (i == 0) {
                for (int d = 0; d < cases[k].depth; d++) {
                    llm_buf_append_cstr(&b, "{\"type\":\"array\",\"items\":");
                }
            }

            llm_buf_append_cstr(&b, "{\"type\":\"string\"}");

            if (i == 0) {
                for (int d = 0; d < cases[k].depth; d++) {
                    llm_buf_append_cstr(&b, "}");
                }
            }
        }

        llm_buf_append_cstr(&b, "}}}}]}");
        llm_buf_append_lit(&b, "\0");
        check_case(cases[k].name, b.data, cases[k].param);
    }

    llm_buf_free(&b);
}


/* the body build_request writes for body, or NULL */

static char *
build_body(const char *body)
{
    char           *out;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));
    out = NULL;

    if (parse_request(&req, body) == LLM_OK
        && llm_dialect_gemini.check(&req, &e) == LLM_OK
        && llm_dialect_gemini.build_request(&req, "g", &b) == LLM_OK
        && llm_buf_append(&b, "", 1) == LLM_OK)
    {
        out = strdup(b.data);
    }

    llm_request_free(&req);
    llm_buf_free(&b);

    return out;
}


/*
 * Schemas converted once are written again from the memo: the same
 * bytes as converted, and a schema that differs by a byte is converted
 */

static void
test_schema_memo(void)
{
    int             i, same;
    char           *first, *again, *other, body[1024], name[32];
    unsigned long   hits;

    static const char  *fmt =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":"
        "{\"name\":\"read\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"%s\":{\"type\":\"string\",\"format\":"
        "\"date-time\"},\"n\":{\"anyOf\":[{\"type\":\"integer\"},"
        "{\"type\":\"null\"}]}},\"required\":[\"%s\"]}}}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
        "{\"name\":\"r\",\"schema\":{\"type\":\"object\",\"properties\":"
        "{\"%s\":{\"const\":\"x\"}}}}}}";

    snprintf(body, sizeof(body), fmt, "path", "path", "path");

    hits = llm_gemini_schema_memo_hits();
    first = build_body(body);
    again = build_body(body);

    ok(first && again && strcmp(first, again) == 0
       && strstr(first, "\"path\":{\"type\":\"STRING\",\"format\":"
                        "\"date-time\"}") != NULL,
       "memo: the same request, the same body");
    ok(llm_gemini_schema_memo_hits() >= hits + 2,
       "memo: the tool's and the response's schemas written from it");

    snprintf(body, sizeof(body), fmt, "pith", "pith", "pith");
    other = build_body(body);

    ok(other && strstr(other, "\"pith\":{\"type\":\"STRING\"") != NULL
       && strstr(other, "\"required\":[\"pith\"]") != NULL
       && strstr(other, "path") == NULL,
       "memo: a schema a byte apart is its own");

    /* more schemas than the memo holds: each still its own */
    same = 1;

    for (i = 0; i < 80; i++) {
        free(again);
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(body, sizeof(body), fmt, name, name, name);
        again = build_body(body);
        snprintf(name, sizeof(name), "\"p%d\":{", i);
        same &= (again != NULL && strstr(again, name) != NULL);
    }

    snprintf(body, sizeof(body), fmt, "path", "path", "path");
    free(again);
    again = build_body(body);
    ok(same && again && first && strcmp(first, again) == 0,
       "memo: 80 schemas more, each its own, the first again the same");

    free(first);
    free(again);
    free(other);
}


static void
test_check(void)
{
    ok(llm_dialect_gemini.check != NULL, "check hook set");

    check_case("plain", "{\"model\":\"m\"," CHECK_MSG ",\"n\":8,"
               "\"logprobs\":false,\"logit_bias\":{},\"presence_penalty\":1,"
               "\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"user\":\"u\","
               "\"parallel_tool_calls\":false,\"seed\":1}", NULL);
    check_case("n 9", "{\"model\":\"m\"," CHECK_MSG ",\"n\":9}", "n");
    check_case("logprobs", "{\"model\":\"m\"," CHECK_MSG
               ",\"logprobs\":true}", "logprobs");
    check_case("top_logprobs", "{\"model\":\"m\"," CHECK_MSG
               ",\"top_logprobs\":2}", "logprobs");
    check_case("logit_bias", "{\"model\":\"m\"," CHECK_MSG
               ",\"logit_bias\":{\"1\":2}}", "logit_bias");
    check_case("6 stops", "{\"model\":\"m\"," CHECK_MSG
               ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", "stop");
    check_case("reasoning_effort", "{\"model\":\"m\"," CHECK_MSG
               ",\"reasoning_effort\":\"max\"}", "reasoning_effort");
    check_case("custom tool", "{\"model\":\"m\"," CHECK_MSG
               ",\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":"
               "\"x\"}}]}", "tools[0]");
    check_case("remote $ref", "{\"model\":\"m\"," CHECK_MSG
               ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
               "\"x\",\"parameters\":{\"type\":\"object\",\"properties\":"
               "{\"a\":{\"$ref\":\"https://x/s.json\"}}}}}]}",
               "tools[0].function.parameters");
    check_case("local $ref", "{\"model\":\"m\"," CHECK_MSG
               ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
               "\"x\",\"parameters\":{\"type\":\"object\",\"properties\":"
               "{\"a\":{\"$ref\":\"#/definitions/A\"}},\"definitions\":"
               "{\"A\":{\"type\":\"string\"}}}}}]}", NULL);
    check_case("recursive $ref", "{\"model\":\"m\"," CHECK_MSG
               ",\"response_format\":{\"type\":\"json_schema\","
               "\"json_schema\":{\"name\":\"t\",\"schema\":{\"$ref\":"
               "\"#/$defs/N\",\"$defs\":{\"N\":{\"type\":\"object\","
               "\"properties\":{\"a\":{\"$ref\":\"#/$defs/N\"},\"b\":"
               "{\"$ref\":\"#/$defs/N\"}}}}}}}}",
               "response_format.json_schema.schema");
    check_schema_bounds();
    check_case("tool_choice names no tool", "{\"model\":\"m\"," CHECK_MSG
               ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
               "\"x\"}}],\"tool_choice\":{\"type\":\"function\","
               "\"function\":{\"name\":\"y\"}}}", "tool_choice");
    check_case("response_format type", "{\"model\":\"m\"," CHECK_MSG
               ",\"response_format\":{\"type\":\"xml\"}}",
               "response_format.type");
    check_case("arguments not JSON", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":\"hi\"},"
               "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
               "\"type\":\"function\",\"function\":{\"name\":\"f\","
               "\"arguments\":\"{}\"}},{\"id\":\"b\",\"type\":\"function\","
               "\"function\":{\"name\":\"f\",\"arguments\":\"{a\"}}]}]}",
               "messages[1].tool_calls[1].function.arguments");
    check_case("arguments not an object", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":\"hi\"},"
               "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
               "\"type\":\"function\",\"function\":{\"name\":\"f\","
               "\"arguments\":\"[1]\"}}]}]}",
               "messages[1].tool_calls[0].function.arguments");
    check_case("unknown tool_call_id", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":\"hi\"},"
               "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
               "\"type\":\"function\",\"function\":{\"name\":\"f\","
               "\"arguments\":\"{}\"}}]},"
               "{\"role\":\"tool\",\"tool_call_id\":\"b\",\"content\":\"r\"}]}",
               "messages[2].tool_call_id");
    check_case("ftp image", "{\"model\":\"m\",\"messages\":[{\"role\":"
               "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
               "{\"type\":\"image_url\",\"image_url\":{\"url\":"
               "\"ftp://x/a.png\"}}]}]}",
               "messages[0].content[1].image_url.url");
    check_case("image URL without a type", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
               "\"image_url\":{\"url\":\"https://x/img?id=3\"}}]}]}",
               "messages[0].content[0].image_url.url");
    check_case("data URL not base64", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
               "\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
               "messages[0].content[0].image_url.url");
    check_case("file part", "{\"model\":\"m\",\"messages\":["
               "{\"role\":\"user\",\"content\":[{\"type\":\"file\","
               "\"file\":{\"file_id\":\"f\"}}]}]}",
               "messages[0].content[0].type");
}


/* a client's tool call id brings the thought signature back */

static void
signature_round_trip(const char *name, const char *id, const char *want_sig)
{
    char            body[8192];
    cJSON          *got, *part;
    llm_buf_t       b;
    llm_request_t   req;
    llm_error_t     e;

    memset(&b, 0, sizeof(llm_buf_t));

    snprintf(body, sizeof(body),
             "{\"model\":\"m\",\"messages\":["
             "{\"role\":\"user\",\"content\":\"q\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
             "\"id\":\"%s\",\"type\":\"function\",\"function\":{\"name\":"
             "\"f\",\"arguments\":\"{}\"}}]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":"
             "\"Mexico\"}]}", id, id);

    if (!ok(parse_request(&req, body) == LLM_OK
            && llm_dialect_gemini.check(&req, &e) == LLM_OK,
            "%s: the next request is accepted", name))
    {
        return;
    }

    llm_dialect_gemini.build_request(&req, "gemini-3", &b);
    got = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
    part = cJSON_GetArrayItem(get(cJSON_GetArrayItem(get(got, "contents"),
                                                      1), "parts"), 0);

    if (!ok(get(part, "functionCall")
            && strcmp(str(part, "thoughtSignature"), want_sig) == 0,
            "%s: the functionCall part carries the same thoughtSignature",
            name))
    {
        diag("got: %.*s", (int) b.len, b.data);
    }

    cJSON_Delete(got);
    llm_buf_free(&b);
    llm_request_free(&req);
}


static void
test_signatures(void)
{
    char            id[4096];
    cJSON          *fx, *j, *tc, *part;
    llm_buf_t       in, out, out2;
    llm_response_t  resp;
    run_t           r;
    client_t        c;
    upstream_t      u;

    memset(&in, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&out2, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    /* non-stream */

    read_file("google/tool-call.response.json", &in);
    fx = cJSON_ParseWithLength(in.data, in.len);
    part = cJSON_GetArrayItem(get(get(cJSON_GetArrayItem(get(fx,
                                  "candidates"), 0), "content"), "parts"), 0);

    llm_response_init(&resp, CLIENT_MODEL, 0);
    llm_dialect_gemini.response(&resp, in.data, in.len, &out);
    llm_response_free(&resp);
    llm_response_init(&resp, CLIENT_MODEL, 0);
    llm_dialect_gemini.response(&resp, in.data, in.len, &out2);
    llm_response_free(&resp);

    j = cJSON_ParseWithLength(out.data, out.len);
    tc = cJSON_GetArrayItem(get(get(cJSON_GetArrayItem(get(j, "choices"), 0),
                                    "message"), "tool_calls"), 0);

    ok(strcmp(str(get(tc, "function"), "name"), "weather") == 0
       && strcmp(str(get(tc, "function"), "arguments"),
                 "{\"location\":\"San Francisco\"}") == 0
       && strcmp(str(tc, "type"), "function") == 0,
       "tool-call.response.json: name, arguments as a JSON string");

    ok(strncmp(str(tc, "id"), "call_", 5) == 0
       && out.len == out2.len && strstr(out2.data, str(tc, "id")) != NULL,
       "tool-call.response.json: the id is stable across replays");

    snprintf(id, sizeof(id), "%s", str(tc, "id"));
    signature_round_trip("response → request", id,
                         str(part, "thoughtSignature"));

    cJSON_Delete(j);
    cJSON_Delete(fx);

    /* stream */

    upstream_read(&u, "google/tool-call.stream.sse");
    run_stream(&r, u.body.data, u.body.len, 0, 0);
    client_read(&c, r.out.data, r.out.len);

    part = cJSON_GetArrayItem(u.calls, 0);

    if (ok(c.ntools == 1, "tool-call.stream.sse: one tool call")) {
        snprintf(id, sizeof(id), "%.*s", (int) c.tool_id[0].len,
                 c.tool_id[0].data);
        signature_round_trip("stream → request", id,
                             str(part, "thoughtSignature"));
    }

    client_free(&c);
    run_free(&r);
    llm_buf_free(&u.body);
    llm_buf_free(&u.text);
    llm_buf_free(&u.thoughts);
    cJSON_Delete(u.calls);
    cJSON_Delete(u.usage);

    /* no signature: a plain id, no thoughtSignature sent */

    signature_round_trip("plain id", "call_abc", "");

    llm_buf_free(&in);
    llm_buf_free(&out);
    llm_buf_free(&out2);
}


/* the output's finish_reason per choice index, and tool indexes */

static void
test_stream_choices(void)
{
    run_t        r;
    client_t     c;
    const char  *body;

    /* two candidates end differently; choice 1 called a tool */

    body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
           "\"index\":0},{\"content\":{\"parts\":[{\"functionCall\":{\"name\":"
           "\"f\",\"args\":{\"x\":[1,2]}}}]},\"index\":1}]}\r\n\r\n"
           "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},"
           "\"finishReason\":\"MAX_TOKENS\",\"index\":0},{\"content\":"
           "{\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\","
           "\"index\":1}]}\r\n\r\n";

    run_stream(&r, body, strlen(body), 0, 0);

    ok(strstr(r.out.data, "{\"index\":0,\"delta\":{},\"logprobs\":null,"
                          "\"finish_reason\":\"length\"}") != NULL
       && strstr(r.out.data, "{\"index\":1,\"delta\":{},\"logprobs\":null,"
                             "\"finish_reason\":\"tool_calls\"}") != NULL
       && strstr(r.out.data, "\"choices\":[{\"index\":1,\"delta\":"
                             "{\"tool_calls\":[{\"index\":0,") != NULL
       && strcmp(r.resp.finish_reason, "length") == 0,
       "n=2 stream: each choice its own finish chunk and tool index");

    run_free(&r);

    /* calls in two events: consecutive indexes, distinct ids */

    body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"t\"},"
           "{\"functionCall\":{\"name\":\"a\",\"args\":{\"s\":\"\\\"q\\\"\"}}}"
           "]}}],\"responseId\":\"R\"}\r\n\r\n"
           "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":"
           "{\"name\":\"b\"}},{\"text\":\"u\"}]},\"finishReason\":\"STOP\"}],"
           "\"responseId\":\"R\"}\r\n\r\n";

    run_stream(&r, body, strlen(body), 0, 0);
    client_read(&c, r.out.data, r.out.len);

    ok(c.ntools == 2 && c.tool_frames == 2
       && strcmp(c.finish, "tool_calls") == 0
       && c.tool_name[0].len == 1 && c.tool_name[0].data[0] == 'a'
       && c.tool_name[1].len == 1 && c.tool_name[1].data[0] == 'b'
       && c.tool_args[0].len == 13
       && memcmp(c.tool_args[0].data, "{\"s\":\"\\\"q\\\"\"}", 13) == 0
       && c.tool_args[1].len == 2
       && memcmp(c.tool_args[1].data, "{}", 2) == 0
       && c.tool_id[0].len == 21 && c.tool_id[1].len == 21
       && memcmp(c.tool_id[0].data, c.tool_id[1].data, 21) != 0
       && c.content.len == 2 && memcmp(c.content.data, "tu", 2) == 0,
       "tool calls across events: indexes 0, 1; no args → {}; text kept");

    client_free(&c);
    run_free(&r);

    /* a blocked prompt: the reason reaches the client */

    body = "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"}}"
           "\r\n\r\n";
    run_stream(&r, body, strlen(body), 0, 0);
    client_read(&c, r.out.data, r.out.len);

    ok(strcmp(c.finish, "content_filter") == 0 && c.refusal.len
       && strstr(c.refusal.data, "PROHIBITED_CONTENT") != NULL
       && c.done == 1 && c.bad == 0,
       "blocked prompt stream: refusal names the reason, content_filter");

    client_free(&c);
    run_free(&r);
}


static void
test_tool_response(void)
{
    cJSON           *j, *c, *msg, *tc, *args, *want;
    llm_buf_t        out;
    llm_response_t   resp;
    const char      *body;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    body = "{\"candidates\":[{\"content\":{\"parts\":["
           "{\"text\":\"hm\",\"thought\":true},{\"text\":\"Let me check.\"},"
           "{\"functionCall\":{\"name\":\"get\",\"args\":{\"a\":[1,{\"b\":"
           "null}],\"u\":\"\\u00e9\\n\"}},\"thoughtSignature\":\"c2ln\"},"
           "{\"functionCall\":{\"name\":\"put\"}}]},\"finishReason\":\"STOP\"},"
           "{\"index\":1,\"content\":{\"parts\":[{\"functionCall\":"
           "{\"name\":\"get\",\"args\":{}}}]},\"finishReason\":\"MAX_TOKENS\"}],"
           "\"responseId\":\"r1\"}";

    ok(llm_dialect_gemini.response(&resp, body, strlen(body), &out)
       == LLM_OK, "text, thought and two calls: translated");

    j = cJSON_ParseWithLength(out.data, out.len);
    c = cJSON_GetArrayItem(get(j, "choices"), 0);
    msg = get(c, "message");
    tc = get(msg, "tool_calls");
    args = cJSON_Parse(str(get(cJSON_GetArrayItem(tc, 0), "function"),
                           "arguments"));
    want = cJSON_Parse("{\"a\":[1,{\"b\":null}],\"u\":\"\xc3\xa9\\n\"}");

    ok(strcmp(str(msg, "content"), "Let me check.") == 0
       && strcmp(str(msg, "reasoning_content"), "hm") == 0
       && cJSON_GetArraySize(tc) == 2
       && cJSON_Compare(args, want, 1)
       && strcmp(str(get(cJSON_GetArrayItem(tc, 1), "function"),
                     "arguments"), "{}") == 0
       && strcmp(str(get(cJSON_GetArrayItem(tc, 1), "function"), "name"),
                 "put") == 0
       && strstr(str(cJSON_GetArrayItem(tc, 0), "id"), "_c2ln") != NULL
       && strchr(str(cJSON_GetArrayItem(tc, 1), "id"), '_') != NULL
       && strlen(str(cJSON_GetArrayItem(tc, 1), "id")) == 21
       && strcmp(str(c, "finish_reason"), "tool_calls") == 0
       && strcmp(resp.finish_reason, "tool_calls") == 0,
       "content, reasoning, calls in order, args exact, signature in id");

    c = cJSON_GetArrayItem(get(j, "choices"), 1);

    ok(strcmp(str(c, "finish_reason"), "length") == 0
       && cJSON_GetArraySize(get(get(c, "message"), "tool_calls")) == 1
       && strcmp(str(cJSON_GetArrayItem(get(get(c, "message"), "tool_calls"),
                                        0), "id"),
                 str(cJSON_GetArrayItem(tc, 0), "id")) != 0,
       "a call cut by MAX_TOKENS stays length; ids differ per choice");

    cJSON_Delete(args);
    cJSON_Delete(want);
    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


static void
test_blocked_response(void)
{
    cJSON           *j, *msg;
    llm_buf_t        out;
    llm_response_t   resp;
    const char      *body;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    body = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\","
           "\"blockReasonMessage\":\"unsafe\"},\"usageMetadata\":"
           "{\"promptTokenCount\":4,\"totalTokenCount\":4}}";

    llm_dialect_gemini.response(&resp, body, strlen(body), &out);
    j = cJSON_ParseWithLength(out.data, out.len);
    msg = get(cJSON_GetArrayItem(get(j, "choices"), 0), "message");

    ok(cJSON_IsNull(get(msg, "content"))
       && strstr(str(msg, "refusal"), "blockReason: SAFETY") != NULL
       && strstr(str(msg, "refusal"), "unsafe") != NULL
       && strcmp(resp.finish_reason, "content_filter") == 0
       && resp.usage.prompt_tokens == 4,
       "blocked prompt: refusal names the reason, content_filter");

    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


/* error() */

static void
test_errors(void)
{
    llm_buf_t    b;
    llm_error_t  e;
    const char  *s;

    memset(&b, 0, sizeof(llm_buf_t));

    read_file("google/error-429-resource-exhausted.json", &b);
    llm_dialect_gemini.error(429, b.data, b.len, &e);

    ok(e.status == 429 && strcmp(e.code, "rate_limit_exceeded") == 0
       && strcmp(e.message, "You exceeded your current quota, please check "
                 "your plan.") == 0,
       "error 429: rate_limit_exceeded, message kept");
    is_int(llm_gemini_retry_delay(b.data, b.len), 35,
           "retryDelay 34.4s → 35 s");

    llm_buf_reset(&b);
    read_file("google/error-404-not-found.json", &b);
    llm_dialect_gemini.error(404, b.data, b.len, &e);

    ok(e.status == 404 && strcmp(e.code, "model_not_found") == 0
       && strncmp(e.message, "models/nonexistent-model is not found", 37)
          == 0,
       "error 404: model_not_found");
    is_int(llm_gemini_retry_delay(b.data, b.len), -1, "no retryDelay: -1");
    llm_buf_free(&b);

    s = "{\"error\":{\"code\":400,\"message\":\"m\","
        "\"status\":\"FAILED_PRECONDITION\"}}";
    llm_dialect_gemini.error(400, s, strlen(s), &e);
    ok(e.status == 400 && strcmp(e.code, "failed_precondition") == 0,
       "error: other status lowercased");

    llm_dialect_gemini.error(503, "<html>", 6, &e);
    ok(e.status == 503 && strcmp(e.code, "upstream_error") == 0,
       "error: not JSON");

    s = "{\"error\":{\"details\":[{\"retryDelay\":\"13s\"}]}}";
    is_int(llm_gemini_retry_delay(s, strlen(s)), 13, "retryDelay 13s");
}


int
main(int argc, char **argv)
{
    const char  *env;

    env = getenv("LLM_REPO");

    if (argc > 1) {
        root = argv[1];

    } else if (env && env[0]) {
        root = env;
    }

    test_request_path();
    test_build_request();
    test_responses();
    test_errors();
    test_stream_fixtures();
    test_stream_edges();
    test_build_tools();
    test_check();
    test_schema_memo();
    test_signatures();
    test_stream_choices();
    test_blocked_response();
    test_tool_response();

    return done_testing();
}
