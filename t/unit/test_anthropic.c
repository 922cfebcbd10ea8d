/*
 * Unit tests for the "anthropic" dialect (src/core/llm_anthropic*.c),
 * replaying the recordings in t/fixtures/anthropic.
 *
 * usage: test_anthropic [repo-root]   (or LLM_REPO=repo-root)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_anthropic.h"
#include "../../src/core/llm_sse.h"
#include "tap.h"
#include "fixture.h"


/* a name that needs escaping, to catch raw splicing */
#define CLIENT_MODEL  "client/model \"q\""


static const char  *root = ".";


typedef struct {
    llm_response_t  resp;
    llm_buf_t       out;
    int             errors;
    int             end_rc;
} run_t;


/* what the provider's events say */

#define MAX_TOOLS  8


/* one tool call: as recorded, or as the client rebuilt it */

typedef struct {
    char            id[64];
    char            name[64];
    llm_buf_t       args;
    long long       block;        /* the Anthropic block index */
} tool_t;


typedef struct {
    llm_buf_t       text;
    llm_buf_t       thinking;
    tool_t          tools[MAX_TOOLS];
    int             ntools;
    char            stop_reason[64];
    long long       input;
    long long       cached;
    long long       creation;
    long long       output;
} up_t;


/* what the client sees */

typedef struct {
    llm_buf_t       content;
    llm_buf_t       reasoning;
    tool_t          tools[MAX_TOOLS];
    int             ntools;
    char            finish[32];
    int             frames;
    int             bad;          /* not data: JSON, or a bad chunk */
    int             done;         /* [DONE] frames */
    int             done_last;    /* the last frame is [DONE] */
    int             usage_chunks;
    int             roles;
    cJSON          *usage;
    cJSON          *error;
} acc_t;


/* the fixtures under this run's repository root */
#define read_file(rel, b)  fixture_read(root, rel, b)


static const char *
str(cJSON *obj, const char *name)
{
    const char  *s;

    s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));

    return s ? s : "";
}


static cJSON *
obj(cJSON *j, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(j, name);
}


static long long
num(cJSON *j, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(j, name);

    return cJSON_IsNumber(v) ? (long long) v->valuedouble : -1;
}


/* .jsonl: one event a line, framed as "event: <type>\ndata: <line>" */

static int
frame_fixture(const char *rel, llm_buf_t *body)
{
    char       *p, *end, *eol;
    cJSON      *j;
    llm_buf_t   raw;

    if (strstr(rel, ".jsonl") == NULL) {
        return read_file(rel, body);
    }

    memset(&raw, 0, sizeof(llm_buf_t));

    if (read_file(rel, &raw) != LLM_OK) {
        llm_buf_free(&raw);
        return LLM_ERROR;
    }

    p = raw.data;
    end = raw.data + raw.len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if (eol > p) {
            j = cJSON_ParseWithLength(p, eol - p);
            llm_buf_append_lit(body, "event: ");
            llm_buf_append_cstr(body, str(j, "type"));
            llm_buf_append_lit(body, "\ndata: ");
            llm_buf_append(body, p, eol - p);
            llm_buf_append_lit(body, "\n\n");
            cJSON_Delete(j);
        }

        p = eol + 1;
    }

    llm_buf_free(&raw);

    return LLM_OK;
}


/* the provider's events, read with llm_sse and cJSON */

static int
up_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    int           i;
    up_t         *u = data;
    cJSON        *j, *d, *us;
    tool_t       *t;
    const char   *type;

    j = cJSON_ParseWithLength(payload, payload_len);
    type = str(j, "type");

    if (strcmp(type, "message_start") == 0) {
        us = obj(obj(j, "message"), "usage");
        u->input = num(us, "input_tokens");
        u->cached = num(us, "cache_read_input_tokens");
        u->creation = num(us, "cache_creation_input_tokens");
        u->output = num(us, "output_tokens");

    } else if (strcmp(type, "content_block_start") == 0) {
        d = obj(j, "content_block");

        /* client tools only: server tools ran at Anthropic */
        if (strcmp(str(d, "type"), "tool_use") == 0
            && u->ntools < MAX_TOOLS)
        {
            t = &u->tools[u->ntools++];
            snprintf(t->id, sizeof(t->id), "%s", str(d, "id"));
            snprintf(t->name, sizeof(t->name), "%s", str(d, "name"));
            t->block = num(j, "index");
        }

    } else if (strcmp(type, "content_block_delta") == 0) {
        d = obj(j, "delta");

        if (strcmp(str(d, "type"), "input_json_delta") == 0) {
            for (i = 0; i < u->ntools; i++) {
                if (u->tools[i].block == num(j, "index")) {
                    llm_buf_append_cstr(&u->tools[i].args,
                                        str(d, "partial_json"));
                }
            }
        }

        if (strcmp(str(d, "type"), "text_delta") == 0) {
            llm_buf_append_cstr(&u->text, str(d, "text"));

        } else if (strcmp(str(d, "type"), "thinking_delta") == 0) {
            llm_buf_append_cstr(&u->thinking, str(d, "thinking"));
        }

    } else if (strcmp(type, "message_delta") == 0) {
        snprintf(u->stop_reason, sizeof(u->stop_reason), "%s",
                 str(obj(j, "delta"), "stop_reason"));

        us = obj(j, "usage");

        if (num(us, "output_tokens") >= 0) {
            u->output = num(us, "output_tokens");
        }

        /* recent streams repeat the input counts, updated for server tools */
        if (num(us, "input_tokens") >= 0) {
            u->input = num(us, "input_tokens");
            u->cached = num(us, "cache_read_input_tokens");
            u->creation = num(us, "cache_creation_input_tokens");
        }
    }

    cJSON_Delete(j);

    return 0;
}


static void
up_read(up_t *u, llm_buf_t *body)
{
    llm_sse_t  sse;

    memset(u, 0, sizeof(up_t));
    llm_sse_init(&sse, 0);
    llm_sse_feed(&sse, body->data, body->len, up_event, u);
    llm_sse_free(&sse);

    llm_buf_append(&u->text, "", 1);
    llm_buf_append(&u->thinking, "", 1);
    u->text.len--;
    u->thinking.len--;
}


static void
tools_free(tool_t *tools, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        llm_buf_free(&tools[i].args);
    }
}


static void
up_free(up_t *u)
{
    llm_buf_free(&u->text);
    llm_buf_free(&u->thinking);
    tools_free(u->tools, u->ntools);
}


/*
 * delta.tool_calls as the OpenAI SDK accumulates them: an entry with a
 * new index opens a call (ours must carry id, type and name then), the
 * others add arguments
 */

static void
acc_tools(acc_t *a, cJSON *calls)
{
    int          k;
    cJSON       *c, *fn, *v;
    tool_t      *t;

    cJSON_ArrayForEach(c, calls) {
        k = (int) num(c, "index");
        fn = obj(c, "function");

        if (k == a->ntools && k < MAX_TOOLS) {
            t = &a->tools[a->ntools++];

            if (!cJSON_IsString(obj(c, "id"))
                || strcmp(str(c, "type"), "function") != 0
                || !cJSON_IsString(obj(fn, "name")))
            {
                a->bad++;
            }

            snprintf(t->id, sizeof(t->id), "%s", str(c, "id"));
            snprintf(t->name, sizeof(t->name), "%s", str(fn, "name"));

        } else if (k < 0 || k >= a->ntools) {
            a->bad++;
            continue;

        } else {
            t = &a->tools[k];

            if (obj(c, "id") || obj(fn, "name")) {
                /* only the first delta names the call */
                a->bad++;
            }
        }

        v = obj(fn, "arguments");

        if (cJSON_IsString(v)) {
            llm_buf_append_cstr(&t->args, v->valuestring);
        }
    }
}


/* the client's calls are the recorded ones: ids, names, parsed input */

static void
tools_compare(const char *what, tool_t *got, int ngot, tool_t *want,
    int nwant)
{
    int     i, same;
    cJSON  *g, *w;

    is_int(ngot, nwant, "%s: %d tool calls", what, nwant);

    for (i = 0; i < ngot && i < nwant; i++) {
        llm_buf_append(&got[i].args, "", 1);
        got[i].args.len--;
        llm_buf_append(&want[i].args, "", 1);
        want[i].args.len--;

        g = cJSON_Parse(got[i].args.data);
        /* no partial_json at all: the input is {} */
        w = cJSON_Parse(want[i].args.len ? want[i].args.data : "{}");

        same = cJSON_IsObject(g) && cJSON_Compare(g, w, 1);

        ok(strcmp(got[i].id, want[i].id) == 0
           && strcmp(got[i].name, want[i].name) == 0,
           "%s: call %d id %s, name %s", what, i, want[i].id, want[i].name);

        if (!ok(same, "%s: call %d arguments parse to the recorded input",
                what, i))
        {
            diag("got '%s'", got[i].args.data);
        }

        cJSON_Delete(g);
        cJSON_Delete(w);
    }
}


static int
on_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    int     rc;
    run_t  *r = data;

    rc = llm_dialect_anthropic.stream_event(&r->resp, event, event_len,
                                            payload, payload_len, &r->out);

    if (rc == LLM_ERROR) {
        r->errors++;
        return 0;
    }

    return rc == LLM_DONE ? LLM_DONE : 0;
}


/* feeds p in pieces of step bytes (0: at once), each a heap copy */

static void
run_stream(run_t *r, const char *p, size_t n, size_t step,
    int include_usage)
{
    char       *copy;
    size_t      off, len;
    llm_sse_t   sse;

    memset(r, 0, sizeof(run_t));
    llm_response_init(&r->resp, CLIENT_MODEL, include_usage);
    llm_sse_init(&sse, 0);

    for (off = 0; off < n && !r->resp.done; off += len) {
        len = (step == 0 || n - off < step) ? n - off : step;

        copy = malloc(len);
        memcpy(copy, p + off, len);

        if (llm_sse_feed(&sse, copy, len, on_event, r) < 0) {
            r->errors++;
        }

        free(copy);
    }

    r->end_rc = llm_dialect_anthropic.stream_end(&r->resp, &r->out);

    llm_sse_free(&sse);
}


static void
run_free(run_t *r)
{
    llm_response_free(&r->resp);
    llm_buf_free(&r->out);
}


static void
acc_chunk(acc_t *a, cJSON *j)
{
    cJSON       *choices, *c, *delta, *v;
    const char  *fr;

    if (obj(j, "error")) {
        if (a->error == NULL) {
            a->error = cJSON_Duplicate(obj(j, "error"), 1);
        }

        return;
    }

    if (strcmp(str(j, "model"), CLIENT_MODEL) != 0
        || strcmp(str(j, "object"), "chat.completion.chunk") != 0
        || strncmp(str(j, "id"), "chatcmpl-", 9) != 0
        || num(j, "created") <= 0)
    {
        a->bad++;
    }

    choices = obj(j, "choices");

    if (!cJSON_IsArray(choices)) {
        a->bad++;
        return;
    }

    if (cJSON_GetArraySize(choices) == 0) {
        a->usage_chunks++;
        cJSON_Delete(a->usage);
        a->usage = cJSON_Duplicate(obj(j, "usage"), 1);
        return;
    }

    if (obj(j, "usage")) {
        a->bad++;
    }

    cJSON_ArrayForEach(c, choices) {
        delta = obj(c, "delta");

        if (num(c, "index") != 0 || !cJSON_IsObject(delta)
            || !cJSON_IsNull(obj(c, "logprobs")))
        {
            a->bad++;
        }

        if (cJSON_IsString(obj(delta, "role"))) {
            a->roles++;
        }

        v = obj(delta, "content");
        if (cJSON_IsString(v)) {
            llm_buf_append_cstr(&a->content, v->valuestring);
        }

        v = obj(delta, "reasoning_content");
        if (cJSON_IsString(v)) {
            llm_buf_append_cstr(&a->reasoning, v->valuestring);
        }

        v = obj(delta, "tool_calls");
        if (v) {
            if (!cJSON_IsArray(v)) {
                a->bad++;
            }

            acc_tools(a, v);
        }

        fr = cJSON_GetStringValue(obj(c, "finish_reason"));
        if (fr) {
            if (a->finish[0]) {
                a->bad++;
            }

            snprintf(a->finish, sizeof(a->finish), "%s", fr);
        }
    }
}


static void
acc_parse(acc_t *a, llm_buf_t *out)
{
    char   *p, *end, *eol;
    cJSON  *j;

    memset(a, 0, sizeof(acc_t));

    p = out->data;
    end = p + out->len;

    while (p < end) {
        a->frames++;
        a->done_last = 0;

        eol = strstr(p, "\n\n");

        if (eol == NULL || eol >= end || strncmp(p, "data: ", 6) != 0
            || memchr(p, '\n', eol - p) || memchr(p, '\r', eol - p))
        {
            a->bad++;
            break;
        }

        p += 6;

        if (eol - p == 6 && memcmp(p, "[DONE]", 6) == 0) {
            a->done++;
            a->done_last = 1;

        } else {
            j = cJSON_ParseWithLength(p, eol - p);

            if (!cJSON_IsObject(j)) {
                a->bad++;

            } else {
                acc_chunk(a, j);
            }

            cJSON_Delete(j);
        }

        p = eol + 2;
    }

    llm_buf_append(&a->content, "", 1);
    llm_buf_append(&a->reasoning, "", 1);
    a->content.len--;
    a->reasoning.len--;
}


static void
acc_free(acc_t *a)
{
    llm_buf_free(&a->content);
    llm_buf_free(&a->reasoning);
    tools_free(a->tools, a->ntools);
    cJSON_Delete(a->usage);
    cJSON_Delete(a->error);
}


static const char *
map_finish(const char *s)
{
    if (strcmp(s, "max_tokens") == 0) {
        return "length";
    }

    if (strcmp(s, "tool_use") == 0) {
        return "tool_calls";
    }

    if (strcmp(s, "refusal") == 0) {
        return "content_filter";
    }

    return "stop";
}


/* "created":<digits> → "created":0, for comparing two runs */

static void
normalize(llm_buf_t *b)
{
    char    *p, *q, *end;
    size_t   k;

    p = b->data;
    end = b->data + b->len;
    q = p;

    while (p < end) {
        k = sizeof("\"created\":") - 1;

        if ((size_t) (end - p) > k && memcmp(p, "\"created\":", k) == 0) {
            memmove(q, p, k);
            q += k;
            p += k;
            *q++ = '0';

            while (p < end && *p >= '0' && *p <= '9') {
                p++;
            }

            continue;
        }

        *q++ = *p++;
    }

    b->len = q - b->data;
}


static void
test_stream_fixture(const char *rel, int include_usage)
{
    up_t        up;
    acc_t       a;
    run_t       r, r1;
    cJSON      *u;
    llm_buf_t   body;
    long long   prompt;

    memset(&body, 0, sizeof(llm_buf_t));

    if (frame_fixture(rel, &body) != LLM_OK) {
        ok(0, "%s: read", rel);
        return;
    }

    up_read(&up, &body);

    run_stream(&r, body.data, body.len, 0, include_usage);
    acc_parse(&a, &r.out);

    ok(r.errors == 0 && r.end_rc == LLM_DONE && r.resp.done
       && !r.resp.failed,
       "%s usage=%d: complete, no failure", rel, include_usage);
    ok(a.bad == 0 && a.error == NULL,
       "%s usage=%d: every frame is a well-formed chunk", rel,
       include_usage);
    ok(a.done == 1 && a.done_last, "%s usage=%d: one [DONE], the last",
       rel, include_usage);
    is_int(a.roles, 1, "%s usage=%d: one role chunk", rel, include_usage);
    is_str(a.content.data, a.content.len, up.text.data,
           "%s usage=%d: content is the text deltas", rel, include_usage);
    is_str(a.reasoning.data, a.reasoning.len, up.thinking.data,
           "%s usage=%d: reasoning_content is the thinking deltas", rel,
           include_usage);
    is_str(a.finish, strlen(a.finish), map_finish(up.stop_reason),
           "%s usage=%d: finish_reason", rel, include_usage);
    is_str(r.resp.finish_reason, strlen(r.resp.finish_reason),
           map_finish(up.stop_reason), "%s usage=%d: resp finish_reason",
           rel, include_usage);
    ok(r.resp.first_token == (up.text.len || up.thinking.len
                              || up.ntools),
       "%s usage=%d: first_token", rel, include_usage);
    tools_compare(rel, a.tools, a.ntools, up.tools, up.ntools);

    prompt = up.input + up.cached + up.creation;

    ok(r.resp.usage.set && r.resp.usage.prompt_tokens == prompt
       && r.resp.usage.completion_tokens == up.output
       && r.resp.usage.total_tokens == prompt + up.output
       && r.resp.usage.cached_tokens == up.cached,
       "%s usage=%d: resp->usage %lld/%lld", rel, include_usage,
       r.resp.usage.prompt_tokens, r.resp.usage.completion_tokens);

    if (include_usage) {
        u = a.usage;

        ok(a.usage_chunks == 1
           && num(u, "prompt_tokens") == prompt
           && num(u, "completion_tokens") == up.output
           && num(u, "total_tokens") == prompt + up.output
           && num(obj(u, "prompt_tokens_details"), "cached_tokens")
              == up.cached,
           "%s usage=1: one usage chunk with the recorded numbers", rel);

    } else {
        is_int(a.usage_chunks, 0, "%s usage=0: no usage chunk", rel);
    }

    /* 1-byte feeds: the same output */

    run_stream(&r1, body.data, body.len, 1, include_usage);
    normalize(&r.out);
    normalize(&r1.out);

    ok(r1.out.len == r.out.len
       && memcmp(r1.out.data, r.out.data, r.out.len) == 0,
       "%s usage=%d: 1-byte feeds give the same output", rel,
       include_usage);

    run_free(&r1);
    run_free(&r);
    acc_free(&a);
    up_free(&up);
    llm_buf_free(&body);
}


static void
test_streams(void)
{
    int           i, u;
    const char   *files[] = {
        "anthropic/messages-text.stream.sse",
        "anthropic/messages-text.stream.jsonl",
        "anthropic/messages-thinking.stream.sse",
        "anthropic/messages-server-and-client-tool.stream.sse",
        "anthropic/messages-text-then-tool-use.stream.jsonl",
        "anthropic/messages-tool-no-args.stream.jsonl",
        NULL
    };

    for (i = 0; files[i]; i++) {
        for (u = 0; u < 2; u++) {
            test_stream_fixture(files[i], u);
        }
    }
}


static void
test_stream_thinking(void)
{
    acc_t       a;
    run_t       r;
    llm_buf_t   body;

    memset(&body, 0, sizeof(llm_buf_t));
    read_file("anthropic/messages-thinking.stream.sse", &body);

    run_stream(&r, body.data, body.len, 0, 0);
    acc_parse(&a, &r.out);

    ok(a.reasoning.len > 50 && a.content.len > 0,
       "thinking: reasoning and content both present");

    run_free(&r);
    acc_free(&a);
    llm_buf_free(&body);
}


static void
test_stream_cut(void)
{
    acc_t       a;
    run_t       r;
    llm_buf_t   body;

    memset(&body, 0, sizeof(llm_buf_t));
    read_file("anthropic/messages-text.stream.sse", &body);

    run_stream(&r, body.data, body.len / 2, 0, 1);
    acc_parse(&a, &r.out);

    ok(r.resp.failed && r.resp.done && r.end_rc == LLM_DONE,
       "cut stream: failed");
    ok(a.error && strcmp(str(a.error, "code"), "stream_truncated") == 0,
       "cut stream: stream_truncated error frame");
    ok(a.done == 1 && a.done_last && a.bad == 0,
       "cut stream: one [DONE], the last");

    run_free(&r);
    acc_free(&a);
    llm_buf_free(&body);
}


static void
test_stream_error(void)
{
    acc_t        a;
    run_t        r;
    const char  *body;

    body = "event: message_start\n"
           "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
           "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
           "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
           "event: content_block_delta\n"
           "data: {\"type\":\"content_block_delta\",\"index\":0,"
           "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
           "event: error\n"
           "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
           "\"message\":\"Overloaded\"}}\n\n";

    run_stream(&r, body, strlen(body), 0, 1);
    acc_parse(&a, &r.out);

    ok(r.resp.failed && r.resp.done, "error event: failed");
    is_int(r.resp.error.status, 503, "error event: status 503");
    ok(a.error && strcmp(str(a.error, "code"), "overloaded") == 0
       && strcmp(str(a.error, "message"), "Overloaded") == 0,
       "error event: code overloaded, the provider's message");
    ok(a.done == 1 && a.done_last && a.bad == 0,
       "error event: one [DONE], the last");
    is_str(a.content.data, a.content.len, "Hi",
           "error event: the text before it");

    run_free(&r);
    acc_free(&a);

    /* malformed JSON */

    body = "event: content_block_delta\ndata: {\"type\":\n\n";

    run_stream(&r, body, strlen(body), 0, 0);
    acc_parse(&a, &r.out);

    ok(r.resp.failed && a.error
       && strcmp(str(a.error, "code"), "invalid_upstream_response") == 0
       && a.done == 1 && a.done_last,
       "malformed event: invalid_upstream_response");

    run_free(&r);
    acc_free(&a);

    /* ping anywhere, and a stream with no block (refusal) */

    body = "event: ping\ndata: {\"type\": \"ping\"}\n\n"
           "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\","
           "\"usage\":{\"input_tokens\":3,\"cache_read_input_tokens\":4,"
           "\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}\n\n"
           "event: ping\ndata: {\"type\": \"ping\"}\n\n"
           "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
           "\"refusal\"},\"usage\":{\"output_tokens\":7}}\n\n"
           "data: {\"type\":\"message_stop\"}\n\n";

    run_stream(&r, body, strlen(body), 0, 1);
    acc_parse(&a, &r.out);

    ok(!r.resp.failed && a.bad == 0 && a.done == 1 && a.done_last,
       "refusal: complete");
    is_str(a.finish, strlen(a.finish), "content_filter",
           "refusal: content_filter");
    ok(a.usage && num(a.usage, "prompt_tokens") == 12
       && num(a.usage, "completion_tokens") == 7
       && num(a.usage, "total_tokens") == 19
       && num(obj(a.usage, "prompt_tokens_details"), "cached_tokens") == 4,
       "refusal: usage with cache fields");
    ok(a.roles == 1 && strcmp(r.resp.id, "chatcmpl-msg_2") == 0,
       "refusal: role chunk, id");

    run_free(&r);
    acc_free(&a);
}


static void
test_response(void)
{
    int           rc;
    cJSON        *j, *m, *u, *c, *args, *want;
    llm_buf_t     body, out;
    llm_response_t  resp;

    memset(&body, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    read_file("anthropic/messages-text.response.json", &body);
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_anthropic.response(&resp, body.data, body.len, &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");
    u = obj(j, "usage");

    ok(rc == LLM_OK && cJSON_IsObject(j), "response text: JSON");
    is_str(str(j, "id"), strlen(str(j, "id")),
           "chatcmpl-msg_01VdEjxAP5ahtHKrrRdNBteQ", "response text: id");
    ok(strcmp(str(j, "object"), "chat.completion") == 0
       && strcmp(str(j, "model"), CLIENT_MODEL) == 0
       && num(j, "created") > 0,
       "response text: object, model, created");
    ok(strcmp(str(m, "role"), "assistant") == 0
       && strncmp(str(m, "content"), "Hello! I'm doing well", 21) == 0
       && obj(m, "reasoning_content") == NULL,
       "response text: message");
    ok(strcmp(str(cJSON_GetArrayItem(obj(j, "choices"), 0),
                  "finish_reason"), "stop") == 0
       && strcmp(resp.finish_reason, "stop") == 0,
       "response text: finish_reason stop");
    ok(num(u, "prompt_tokens") == 12 && num(u, "completion_tokens") == 29
       && num(u, "total_tokens") == 41
       && num(obj(u, "prompt_tokens_details"), "cached_tokens") == 0,
       "response text: usage");
    ok(resp.usage.set && resp.usage.prompt_tokens == 12
       && resp.usage.completion_tokens == 29
       && resp.usage.total_tokens == 41 && resp.done && resp.first_token,
       "response text: resp->usage, done");

    cJSON_Delete(j);
    llm_buf_reset(&body);
    llm_buf_reset(&out);

    read_file("anthropic/messages-tool-use.response.json", &body);
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_anthropic.response(&resp, body.data, body.len, &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");

    ok(rc == LLM_OK && cJSON_IsNull(obj(m, "content")),
       "response tool use: content null");
    ok(strcmp(resp.finish_reason, "tool_calls") == 0
       && strcmp(str(cJSON_GetArrayItem(obj(j, "choices"), 0),
                     "finish_reason"), "tool_calls") == 0,
       "response tool use: finish_reason tool_calls");
    ok(resp.usage.prompt_tokens == 497 && resp.usage.completion_tokens == 56
       && resp.usage.total_tokens == 553,
       "response tool use: usage");

    c = cJSON_GetArrayItem(obj(m, "tool_calls"), 0);
    args = cJSON_Parse(str(obj(c, "function"), "arguments"));
    want = cJSON_Parse("{\"city\":\"Mexico City\",\"country\":\"Mexico\"}");

    ok(cJSON_GetArraySize(obj(m, "tool_calls")) == 1
       && strcmp(str(c, "id"), "toolu_01LZABsgreMefH2Go8D5PQbW") == 0
       && strcmp(str(c, "type"), "function") == 0
       && strcmp(str(obj(c, "function"), "name"), "final_result") == 0,
       "response tool use: one tool call, id, type, name");
    ok(cJSON_Compare(args, want, 1),
       "response tool use: arguments, a string, parse to the input");

    cJSON_Delete(args);
    cJSON_Delete(want);

    cJSON_Delete(j);
    llm_buf_reset(&out);

    /* thinking and cache */

    body.len = 0;
    llm_buf_append_cstr(&body,
        "{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\","
        "\"signature\":\"x\"},{\"type\":\"text\",\"text\":\"A\"},"
        "{\"type\":\"text\",\"text\":\"B\"}],\"stop_reason\":\"max_tokens\","
        "\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":100,"
        "\"cache_creation_input_tokens\":20,\"output_tokens\":5}}");
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_anthropic.response(&resp, body.data, body.len, &out);
    j = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");
    u = obj(j, "usage");

    ok(rc == LLM_OK && strcmp(str(m, "content"), "AB") == 0
       && strcmp(str(m, "reasoning_content"), "Hmm.") == 0,
       "response thinking: content and reasoning_content");
    ok(strcmp(resp.finish_reason, "length") == 0,
       "response: max_tokens → length");
    ok(num(u, "prompt_tokens") == 130 && num(u, "completion_tokens") == 5
       && num(u, "total_tokens") == 135
       && num(obj(u, "prompt_tokens_details"), "cached_tokens") == 100
       && resp.usage.cached_tokens == 100,
       "response: cache tokens in prompt_tokens and cached_tokens");

    cJSON_Delete(j);
    llm_buf_reset(&out);

    /* not a Message */

    llm_response_init(&resp, CLIENT_MODEL, 0);
    rc = llm_dialect_anthropic.response(&resp, "oops", 4, &out);
    ok(rc == LLM_ERROR && resp.error.status == 502
       && strcmp(resp.error.code, "invalid_upstream_response") == 0,
       "response: not JSON → 502 invalid_upstream_response");

    llm_response_init(&resp, CLIENT_MODEL, 0);
    rc = llm_dialect_anthropic.response(&resp, "{\"type\":\"message\"}", 18,
                                        &out);
    ok(rc == LLM_ERROR && resp.error.status == 502,
       "response: no content → 502");

    llm_response_init(&resp, CLIENT_MODEL, 0);
    llm_buf_reset(&body);
    llm_buf_append_cstr(&body, "{\"type\":\"error\",\"error\":{\"type\":"
                        "\"overloaded_error\",\"message\":\"Overloaded\"}}");
    rc = llm_dialect_anthropic.response(&resp, body.data, body.len, &out);
    ok(rc == LLM_ERROR && resp.error.status == 503
       && strcmp(resp.error.code, "overloaded") == 0
       && strcmp(resp.error.message, "Overloaded") == 0,
       "response: an error body → its error");
    is_int(out.len, 0, "response: nothing written on error");

    llm_response_free(&resp);
    llm_buf_free(&body);
    llm_buf_free(&out);
}


static cJSON *
build(const char *name, const char *body, long long max_default)
{
    int             rc;
    cJSON          *out;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));

    rc = llm_request_parse(&req, body, strlen(body), &e);

    if (!ok(rc == LLM_OK, "build %s: request parses", name)) {
        diag("%s", e.message);
        return NULL;
    }

    req.max_tokens_default = max_default;

    rc = llm_dialect_anthropic.build_request(&req, "claude-up", &b);
    out = cJSON_ParseWithLength(b.data ? b.data : "", b.len);

    ok(rc == LLM_OK && cJSON_IsObject(out)
       && strcmp(str(out, "model"), "claude-up") == 0,
       "build %s: JSON, upstream model", name);

    llm_buf_free(&b);
    llm_request_free(&req);

    return out;
}


static void
test_build_request(void)
{
    int          i;
    char        *s;
    cJSON       *j, *want, *meta;
    llm_buf_t    fx;
    const char  *openai_only[] = {
        "n", "logprobs", "top_logprobs", "presence_penalty",
        "frequency_penalty", "seed", "logit_bias", "response_format",
        "stop", "user", "max_completion_tokens", "stream_options", "tools",
        "tool_choice", NULL
    };

    j = build("full",
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
        "\"text\":\"One\"},{\"type\":\"text\",\"text\":\"Two\"}]},"
        "{\"role\":\"user\",\"content\":\"Hi\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\"},"
        "{\"type\":\"text\",\"text\":\"there\"}]},"
        "{\"role\":\"assistant\",\"content\":\"Hello\"},"
        "{\"role\":\"user\",\"content\":\"Bye\"}],"
        "\"max_completion_tokens\":100,\"max_tokens\":50,"
        "\"temperature\":1.7,\"top_p\":0.5,\"stop\":\"END\","
        "\"user\":\"u-1\",\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},"
        "\"n\":1,\"seed\":3,\"presence_penalty\":0.1,"
        "\"frequency_penalty\":0.1,\"logprobs\":true,\"top_logprobs\":2,"
        "\"logit_bias\":{\"1\":1},"
        "\"response_format\":{\"type\":\"text\"}}", 0);

    is_str(str(j, "system"), strlen(str(j, "system")),
           "Be brief.\n\nOne\n\nTwo", "build: system and developer joined");

    want = cJSON_Parse(
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"},"
        "{\"type\":\"text\",\"text\":\"there\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
        "\"text\":\"Hello\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"Bye\"}]}]");

    if (!ok(cJSON_Compare(obj(j, "messages"), want, 1),
            "build: user turns merged, text blocks, empty text skipped"))
    {
        s = cJSON_PrintUnformatted(obj(j, "messages"));
        diag("got: %s", s);
        free(s);
    }

    cJSON_Delete(want);

    is_int(num(j, "max_tokens"), 100, "build: max_completion_tokens wins");
    ok(cJSON_IsNumber(obj(j, "temperature"))
       && obj(j, "temperature")->valuedouble == 1.0,
       "build: temperature clamped to 1");
    ok(cJSON_IsNumber(obj(j, "top_p"))
       && obj(j, "top_p")->valuedouble == 0.5, "build: top_p");
    ok(cJSON_GetArraySize(obj(j, "stop_sequences")) == 1
       && strcmp(cJSON_GetStringValue(
                     cJSON_GetArrayItem(obj(j, "stop_sequences"), 0)),
                 "END") == 0,
       "build: stop string → stop_sequences");

    meta = obj(j, "metadata");
    ok(strcmp(str(meta, "user_id"), "u-1") == 0,
       "build: user → metadata.user_id");
    ok(cJSON_IsTrue(obj(j, "stream")), "build: stream true");

    for (i = 0; openai_only[i]; i++) {
        ok(obj(j, openai_only[i]) == NULL, "build: no \"%s\"",
           openai_only[i]);
    }

    cJSON_Delete(j);

    j = build("max_tokens", "{\"model\":\"m\",\"max_tokens\":50,"
              "\"temperature\":0.25,"
              "\"stop\":[\"a\",\"b\"],"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 0);
    is_int(num(j, "max_tokens"), 50, "build: max_tokens");
    ok(cJSON_IsNumber(obj(j, "temperature"))
       && obj(j, "temperature")->valuedouble == 0.25,
       "build: temperature in range kept");
    is_int(cJSON_GetArraySize(obj(j, "stop_sequences")), 2,
           "build: stop array");
    ok(obj(j, "system") == NULL && obj(j, "stream") == NULL
       && obj(j, "metadata") == NULL,
       "build: no system, no stream, no metadata");
    cJSON_Delete(j);

    j = build("default", "{\"model\":\"m\","
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 777);
    is_int(num(j, "max_tokens"), 777, "build: the configured default");
    cJSON_Delete(j);

    j = build("4096", "{\"model\":\"m\","
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 0);
    is_int(num(j, "max_tokens"), 4096, "build: 4096 without a default");
    cJSON_Delete(j);

    /* the recorded native request of messages-text.stream.sse */

    memset(&fx, 0, sizeof(llm_buf_t));
    read_file("anthropic/messages-text.stream.sse.meta.json", &fx);
    meta = cJSON_ParseWithLength(fx.data ? fx.data : "", fx.len);
    want = obj(obj(meta, "request"), "body");

    j = build("fixture",
              "{\"model\":\"gpt\",\"max_tokens\":32000,\"stream\":true,"
              "\"messages\":[{\"role\":\"user\",\"content\":"
              "\"What is 1+1? Answer with just the number.\"}]}", 0);

    if (want) {
        cJSON_ReplaceItemInObjectCaseSensitive(want, "model",
                                            cJSON_CreateString("claude-up"));
    }

    if (!ok(want && cJSON_Compare(j, want, 1),
            "build: the recorded native request"))
    {
        s = cJSON_PrintUnformatted(j);
        diag("got: %s", s);
        free(s);
    }

    cJSON_Delete(j);
    cJSON_Delete(meta);
    llm_buf_free(&fx);
}


static void
error_fixture(const char *rel, int status, const char *code,
    const char *prefix)
{
    llm_buf_t     b;
    llm_error_t   e;

    memset(&b, 0, sizeof(llm_buf_t));
    read_file(rel, &b);

    llm_dialect_anthropic.error(status, b.data, b.len, &e);

    is_int(e.status, status, "%s: status", rel);
    is_str(e.code, strlen(e.code), code, "%s: code", rel);
    ok(strncmp(e.message, prefix, strlen(prefix)) == 0, "%s: message", rel);

    llm_buf_free(&b);
}


static void
test_errors(void)
{
    const char   *body;
    llm_buf_t     b;
    llm_error_t   e;
    cJSON        *j;

    error_fixture("anthropic/error-400-invalid-request.json", 400,
                  "invalid_request_error", "This model does not support");
    error_fixture("anthropic/error-404-not-found.json", 404,
                  "not_found_error", "model: claude-does-not-exist");

    body = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
           "\"message\":\"Overloaded\"},\"request_id\":\"req_1\"}";

    llm_dialect_anthropic.error(529, body, strlen(body), &e);

    is_int(e.status, 503, "529 overloaded: status 503");
    is_str(e.code, strlen(e.code), "overloaded", "529 overloaded: code");
    is_str(e.message, strlen(e.message), "Overloaded",
           "529 overloaded: message");

    memset(&b, 0, sizeof(llm_buf_t));
    llm_error_json(&e, &b);
    j = cJSON_ParseWithLength(b.data, b.len);
    ok(cJSON_IsObject(obj(j, "error")), "529 overloaded: envelope");
    cJSON_Delete(j);
    llm_buf_free(&b);

    llm_dialect_anthropic.error(502, "<html>bad gateway</html>", 24, &e);
    ok(e.status == 502 && strstr(e.message, "not JSON") != NULL,
       "non-JSON error body: says so");
}


/* the scanned response: escapes copied, first member wins, odd shapes */

static cJSON *
respond(const char *body, llm_response_t *resp)
{
    int         rc;
    cJSON      *j;
    llm_buf_t   out;

    memset(&out, 0, sizeof(llm_buf_t));
    llm_response_init(resp, CLIENT_MODEL, 0);

    rc = llm_dialect_anthropic.response(resp, body, strlen(body), &out);
    j = (rc == LLM_OK) ? cJSON_ParseWithLength(out.data, out.len) : NULL;

    llm_buf_free(&out);

    return j;
}


static void
test_response_scan(void)
{
    cJSON           *j, *m, *u;
    const char      *s;
    llm_response_t   resp;

    memset(&resp, 0, sizeof(llm_response_t));

    j = respond("{\"type\":\"message\",\"id\":\"m1\",\"content\":["
                "{\"type\":\"text\",\"text\":\"a\\\"b\\\\\"},"
                "{\"type\":\"text\",\"text\":\"\\u00e9\\n\"},"
                "{\"type\":\"thinking\",\"thinking\":\"t\\t\"}],"
                "\"usage\":{\"output_tokens_details\":"
                "{\"thinking_tokens\":3},\"output_tokens\":4}}", &resp);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");
    u = obj(j, "usage");
    s = str(m, "content");

    ok(j && s && strcmp(s, "a\"b\\\xc3\xa9\n") == 0
       && strcmp(str(m, "reasoning_content"), "t\t") == 0,
       "response scan: escaped texts joined");
    ok(num(u, "completion_tokens") == 4
       && num(obj(u, "completion_tokens_details"), "reasoning_tokens") == 3
       && strcmp(str(j, "id"), "chatcmpl-m1") == 0,
       "response scan: reasoning tokens, id");
    cJSON_Delete(j);

    j = respond("{\"type\":\"message\",\"type\":\"error\",\"content\":["
                "{\"type\":\"text\",\"text\":\"x\",\"text\":\"y\"},"
                "{\"type\":\"text\",\"text\":5},\"s\",[1]],"
                "\"content\":[{\"type\":\"text\",\"text\":\"z\"}],"
                "\"usage\":{\"output_tokens\":1,\"output_tokens\":2},"
                "\"usage\":{\"output_tokens\":3}}", &resp);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");

    ok(j && strcmp(str(m, "content"), "x") == 0
       && resp.usage.completion_tokens == 1,
       "response scan: the first of repeated members counts");
    cJSON_Delete(j);

    /* left to cJSON: \u0000 cuts the text, escaped names, fractions */

    j = respond("{\"type\":\"message\",\"content\":[{\"type\":\"te\\u0078t\","
                "\"text\":\"a\\u0000b\"}],\"usage\":{\"input_tokens\":5.0,"
                "\"output_tokens\":2.7}}", &resp);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");

    ok(j && strcmp(str(m, "content"), "a") == 0
       && resp.usage.prompt_tokens == 5
       && resp.usage.completion_tokens == 2,
       "response scan: unusual shapes as cJSON reads them");
    cJSON_Delete(j);

    j = respond("{\"type\":\"message\",\"content\":{}}", &resp);

    ok(j == NULL && resp.error.status == 502
       && strcmp(resp.error.code, "invalid_upstream_response") == 0,
       "response scan: content not an array");

    llm_response_free(&resp);
}


/* issue 4: tools, images, JSON output, thinking */


static void
diag_json(cJSON *j)
{
    char  *s;

    s = cJSON_PrintUnformatted(j);
    diag("got: %s", s ? s : "(null)");
    free(s);
}


/* j's member name equals the JSON text want */

static int
is_json(cJSON *j, const char *name, const char *want, const char *what)
{
    int     same;
    cJSON  *w, *g;

    w = cJSON_Parse(want);
    g = name ? obj(j, name) : j;
    same = (w != NULL && cJSON_Compare(g, w, 1));

    if (!ok(same, "%s", what)) {
        diag_json(g);
    }

    cJSON_Delete(w);

    return same;
}


/*
 * A long history of calls to 20 tools, each called 3 times, and no
 * tools: each declared once, in the order of its first call
 */

static void
history_many_tools(void)
{
    int          i, k, ok_all;
    char         item[256];
    cJSON       *j, *t;
    llm_buf_t    b;

    memset(&b, 0, sizeof(llm_buf_t));
    llm_buf_append_cstr(&b, "{\"model\":\"m\",\"messages\":["
                        "{\"role\":\"user\",\"content\":\"a\"}");

    for (k = 0; k < 3; k++) {
        for (i = 0; i < 20; i++) {
            snprintf(item, sizeof(item),
                     ",{\"role\":\"assistant\",\"tool_calls\":[{\"id\":"
                     "\"c%d_%d\",\"type\":\"function\",\"function\":"
                     "{\"name\":\"tool%d\",\"arguments\":\"{}\"}}]},"
                     "{\"role\":\"tool\",\"tool_call_id\":\"c%d_%d\","
                     "\"content\":\"r\"}", k, i, (i * 7) % 20, k, i);
            llm_buf_append_cstr(&b, item);
        }
    }

    llm_buf_append_cstr(&b, "]}");
    llm_buf_append(&b, "", 1);

    j = build("history of 20 tools", b.data, 0);
    t = j ? cJSON_GetObjectItem(j, "tools") : NULL;

    ok_all = (cJSON_GetArraySize(t) == 20);

    for (i = 0; ok_all && i < 20; i++) {
        snprintf(item, sizeof(item), "tool%d", (i * 7) % 20);
        ok_all = (strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(t, i),
                                             "name")->valuestring, item)
                  == 0);
    }

    ok(ok_all, "a history of 60 calls to 20 tools: 20 declared, in order");

    cJSON_Delete(j);
    llm_buf_free(&b);
}


static void
test_build_tools(void)
{
    cJSON  *j;

    j = build("tools",
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBORw0KGgo=\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"https://example.com/a.jpg\",\"detail\":\"high\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
        "{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}},"
        "{\"id\":\"toolu_2\",\"type\":\"function\",\"function\":{\"name\":"
        "\"time\",\"arguments\":\"\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"rain\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_2\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"noon\"}]},"
        "{\"role\":\"user\",\"content\":\"Thanks; and tomorrow?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"toolu_3\",\"type\":\"function\",\"function\":{\"name\":"
        "\"weather\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_3\",\"content\":\"\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\","
        "\"description\":\"The weather\",\"strict\":true,\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
        "\"required\":[\"city\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"time\"}}],"
        "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}", 0);

    is_json(j, "messages",
        "[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"Look\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
        "\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"url\","
        "\"url\":\"https://example.com/a.jpg\"}}]},"
        "{\"role\":\"assistant\",\"content\":["
        "{\"type\":\"text\",\"text\":\"Checking.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"weather\","
        "\"input\":{\"city\":\"Paris\"}},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"time\","
        "\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
        "\"content\":\"rain\"},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\","
        "\"content\":[{\"type\":\"text\",\"text\":\"noon\"}]},"
        "{\"type\":\"text\",\"text\":\"Thanks; and tomorrow?\"}]},"
        "{\"role\":\"assistant\",\"content\":["
        "{\"type\":\"tool_use\",\"id\":\"toolu_3\",\"name\":\"weather\","
        "\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_3\"}]}]",
        "build tools: images, tool_use with parsed input, tool results "
        "grouped in one user turn ahead of its text, roles alternate");

    is_json(j, "tools",
        "[{\"name\":\"weather\",\"description\":\"The weather\","
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":"
        "{\"type\":\"string\"}},\"required\":[\"city\"]}},"
        "{\"name\":\"time\",\"input_schema\":{\"type\":\"object\","
        "\"properties\":{}}}]",
        "build tools: input_schema, no strict, an empty schema by default");
    is_json(j, "tool_choice",
        "{\"type\":\"any\",\"disable_parallel_tool_use\":true}",
        "build tools: required → any, parallel_tool_calls false");
    cJSON_Delete(j);

    /* tool_choice, one by one */

#define CHOICE(choice, extra, want, what)                                    \
    j = build(what, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","     \
              "\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","       \
              "\"function\":{\"name\":\"f\"}}]" choice extra "}", 0);        \
    is_json(j, "tool_choice", want, what);                                   \
    cJSON_Delete(j)

    CHOICE(",\"tool_choice\":\"auto\"", "", "{\"type\":\"auto\"}",
           "tool_choice auto");
    CHOICE(",\"tool_choice\":\"none\"", "", "{\"type\":\"none\"}",
           "tool_choice none");
    CHOICE(",\"tool_choice\":\"none\"", ",\"parallel_tool_calls\":false",
           "{\"type\":\"none\"}",
           "tool_choice none: no disable_parallel_tool_use");
    CHOICE(",\"tool_choice\":{\"type\":\"function\",\"function\":"
           "{\"name\":\"f\"}}", "", "{\"type\":\"tool\",\"name\":\"f\"}",
           "tool_choice named → tool");
    CHOICE("", ",\"parallel_tool_calls\":false",
           "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
           "no tool_choice, parallel_tool_calls false → auto, disabled");

    j = build("no choice", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":"
              "\"function\",\"function\":{\"name\":\"f\"}}]}", 0);
    ok(obj(j, "tool_choice") == NULL, "no tool_choice: none sent");
    cJSON_Delete(j);

    j = build("choice without tools", "{\"model\":\"m\",\"messages\":"
              "[{\"role\":\"user\",\"content\":\"x\"}],"
              "\"tool_choice\":\"auto\"}", 0);
    ok(obj(j, "tool_choice") == NULL && obj(j, "tools") == NULL,
       "tool_choice without tools: neither sent");
    cJSON_Delete(j);

    /* a history with calls but no tools: the called tools declared once,
     * not to be called */

    j = build("history tools", "{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"a\"},"
              "{\"role\":\"assistant\",\"tool_calls\":["
              "{\"id\":\"1\",\"type\":\"function\",\"function\":"
              "{\"name\":\"f\",\"arguments\":\"{}\"}},"
              "{\"id\":\"2\",\"type\":\"function\",\"function\":"
              "{\"name\":\"g\",\"arguments\":\"{}\"}},"
              "{\"id\":\"3\",\"type\":\"function\",\"function\":"
              "{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"1\",\"content\":\"r\"},"
              "{\"role\":\"tool\",\"tool_call_id\":\"2\",\"content\":\"r\"},"
              "{\"role\":\"tool\",\"tool_call_id\":\"3\",\"content\":\"r\"}"
              "]}", 0);
    is_json(j, "tools",
            "[{\"name\":\"f\",\"description\":\"Called earlier in this "
            "conversation.\",\"input_schema\":{\"type\":\"object\"}},"
            "{\"name\":\"g\",\"description\":\"Called earlier in this "
            "conversation.\",\"input_schema\":{\"type\":\"object\"}}]",
            "history without tools: the called tools declared, once each");
    is_json(j, "tool_choice", "{\"type\":\"none\"}",
            "history without tools: tool_choice none");
    cJSON_Delete(j);

    history_many_tools();

    /* an assistant message that is only empty: no turn of its own */

    j = build("empty assistant", "{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"a\"},"
              "{\"role\":\"assistant\",\"content\":\"\"},"
              "{\"role\":\"user\",\"content\":\"b\"}]}", 0);
    is_json(j, "messages",
            "[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
            "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}]",
            "an empty assistant message: the user turns still merge");
    cJSON_Delete(j);
}


/*
 * What the OpenAI form of a recorded request builds into: the recording,
 * without its "stream": false and the text drop (what OpenAI has no word
 * for)
 */

static void
build_recorded(const char *meta_rel, const char *openai, const char *drop)
{
    char       *s, *p;
    cJSON      *j, *meta, *want;
    llm_buf_t   fx;

    memset(&fx, 0, sizeof(llm_buf_t));
    read_file(meta_rel, &fx);
    meta = cJSON_ParseWithLength(fx.data ? fx.data : "", fx.len);
    llm_buf_free(&fx);

    want = obj(obj(meta, "request"), "body");

    cJSON_ReplaceItemInObjectCaseSensitive(want, "model",
                                           cJSON_CreateString("claude-up"));

    if (cJSON_IsFalse(obj(want, "stream"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(want, "stream");
    }

    s = cJSON_PrintUnformatted(want);
    cJSON_Delete(meta);

    while (s && drop && (p = strstr(s, drop)) != NULL) {
        memmove(p, p + strlen(drop), strlen(p + strlen(drop)) + 1);
    }

    want = cJSON_Parse(s ? s : "");
    free(s);

    j = build(meta_rel, openai, 0);

    if (!ok(want && cJSON_Compare(j, want, 1),
            "build: the recorded native request of %s", meta_rel))
    {
        diag_json(j);
    }

    cJSON_Delete(j);
    cJSON_Delete(want);
}


static void
test_build_recorded(void)
{
    build_recorded("anthropic/messages-tool-use.response.json.meta.json",
        "{\"model\":\"gpt\",\"max_tokens\":4096,\"messages\":["
        "{\"role\":\"user\",\"content\":\"What is the largest city in "
        "the user country?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"toolu_01X9wcHKKAZD9tBC711xipPa\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_user_country\",\"arguments\":"
        "\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":"
        "\"toolu_01X9wcHKKAZD9tBC711xipPa\",\"content\":\"Mexico\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"get_user_country\",\"description\":\"\",\"parameters\":"
        "{\"additionalProperties\":false,\"properties\":{},\"type\":"
        "\"object\"}}},{\"type\":\"function\",\"function\":{\"name\":"
        "\"final_result\",\"description\":\"The final response which ends "
        "this conversation\",\"parameters\":{\"properties\":{\"city\":"
        "{\"type\":\"string\"},\"country\":{\"type\":\"string\"}},"
        "\"required\":[\"city\",\"country\"],\"title\":\"CityLocation\","
        "\"type\":\"object\"}}}],\"tool_choice\":\"required\"}",
        ",\"is_error\":false");

    build_recorded("anthropic/messages-thinking.stream.sse.meta.json",
        "{\"model\":\"gpt\",\"max_tokens\":4096,\"stream\":true,"
        "\"reasoning_effort\":\"minimal\",\"messages\":[{\"role\":"
        "\"user\",\"content\":\"How do I cross the street?\"}]}", NULL);
}


static void
test_build_json(void)
{
    cJSON  *j;

    j = build("json_schema", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":"
              "\"json_schema\",\"json_schema\":{\"name\":\"city\",\"schema\":"
              "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
              "\"string\"}}}}}}", 0);
    is_json(j, "tools",
            "[{\"name\":\"llm_json_response\",\"description\":\"Give the "
            "answer as this tool's input: a JSON object.\",\"input_schema\":"
            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
            "\"string\"}}}}]", "json_schema: the JSON tool with the schema");
    is_json(j, "tool_choice",
            "{\"type\":\"tool\",\"name\":\"llm_json_response\"}",
            "json_schema: the JSON tool forced");
    cJSON_Delete(j);

    j = build("json_object", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":"
              "\"function\",\"function\":{\"name\":\"f\"}}],"
              "\"response_format\":{\"type\":\"json_object\"}}", 0);
    ok(cJSON_GetArraySize(obj(j, "tools")) == 2
       && is_json(cJSON_GetArrayItem(obj(j, "tools"), 1), "input_schema",
                  "{\"type\":\"object\"}", "json_object: any object"),
       "json_object: the client's tool, then the JSON tool");
    is_json(j, "tool_choice", "{\"type\":\"any\"}",
            "json_object with tools: any (a tool, or the answer)");
    cJSON_Delete(j);
}


static void
test_build_thinking(void)
{
    cJSON  *j;

    j = build("effort", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"medium\","
              "\"temperature\":0.2,\"top_p\":0.5}", 0);
    is_json(j, "thinking", "{\"type\":\"enabled\",\"budget_tokens\":8192}",
            "medium: 8192 thinking tokens");
    is_int(num(j, "max_tokens"), 8192 + 4096,
           "no max tokens: the budget plus the default");
    ok(obj(j, "temperature") == NULL && obj(j, "top_p") == NULL,
       "thinking: no temperature, no top_p");
    cJSON_Delete(j);

    j = build("effort max", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"high\","
              "\"max_completion_tokens\":10000}", 0);
    is_json(j, "thinking", "{\"type\":\"enabled\",\"budget_tokens\":5000}",
            "a limit under the budget: half of it thinks");
    is_int(num(j, "max_tokens"), 10000, "the client's limit kept");
    cJSON_Delete(j);

    j = build("effort small", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"low\","
              "\"max_tokens\":100}", 0);
    ok(num(obj(j, "thinking"), "budget_tokens") == 1024
       && num(j, "max_tokens") == 1124,
       "a limit under the minimum budget: 1024 + the limit");
    cJSON_Delete(j);

    j = build("effort none", "{\"model\":\"m\",\"messages\":[{\"role\":"
              "\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"none\"}",
              0);
    ok(obj(j, "thinking") == NULL && num(j, "max_tokens") == 4096,
       "none: no thinking");
    cJSON_Delete(j);

    j = build("effort tool round", "{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"t1\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"1\"}],"
              "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
              "\"f\"}}],\"reasoning_effort\":\"low\"}", 0);
    ok(obj(j, "thinking") == NULL,
       "a tool round: no thinking (its signed block is gone)");
    cJSON_Delete(j);
}


/* the check: 400s naming the parameter; LLM_OK otherwise */

static void
check_one(const char *body, int want_rc, const char *param,
    const char *what)
{
    int            rc;
    llm_error_t    e;
    llm_request_t  req;

    memset(&e, 0, sizeof(llm_error_t));

    rc = llm_request_parse(&req, body, strlen(body), &e);

    if (!ok(rc == LLM_OK, "check %s: parses", what)) {
        diag("%s", e.message);
        return;
    }

    rc = llm_dialect_anthropic.check(&req, &e);

    if (want_rc == LLM_OK) {
        ok(rc == LLM_OK, "check %s: accepted", what);

    } else if (!ok(rc == LLM_DECLINED && e.status == 400
                   && strcmp(e.param, param) == 0
                   && strcmp(e.type, "invalid_request_error") == 0,
                   "check %s: 400 naming %s", what, param))
    {
        diag("rc %d status %d param '%s': %s", rc, e.status, e.param,
             e.message);
    }

    llm_request_free(&req);
}


#define MSG  "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
#define TOOL "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"

static void
test_check(void)
{
    check_one("{\"model\":\"m\"," MSG ",\"n\":1,\"seed\":1,"
              "\"presence_penalty\":1,\"frequency_penalty\":1,"
              "\"top_logprobs\":2,\"logprobs\":false,\"logit_bias\":{}}",
              LLM_OK, NULL, "dropped parameters");
    check_one("{\"model\":\"m\"," MSG ",\"n\":2}", LLM_DECLINED, "n", "n 2");
    check_one("{\"model\":\"m\"," MSG ",\"logprobs\":true}", LLM_DECLINED,
              "logprobs", "logprobs");
    check_one("{\"model\":\"m\"," MSG ",\"logit_bias\":{\"5\":10}}",
              LLM_DECLINED, "logit_bias", "logit_bias");
    check_one("{\"model\":\"m\"," MSG ",\"reasoning_effort\":\"max\"}",
              LLM_DECLINED, "reasoning_effort", "reasoning_effort max");
    check_one("{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":"
              "\"yaml\"}}", LLM_DECLINED, "response_format.type",
              "response_format yaml");
    check_one("{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":"
              "\"json_schema\",\"json_schema\":{\"schema\":[]}}}",
              LLM_DECLINED, "response_format.json_schema.schema",
              "json_schema schema not an object");
    check_one("{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":"
              "\"json_object\"},\"reasoning_effort\":\"low\"}",
              LLM_DECLINED, "response_format", "JSON with thinking");
    check_one("{\"model\":\"m\"," MSG "," TOOL ",\"tool_choice\":"
              "\"required\",\"reasoning_effort\":\"low\"}",
              LLM_DECLINED, "tool_choice", "required with thinking");
    check_one("{\"model\":\"m\"," MSG "," TOOL ",\"tool_choice\":"
              "\"auto\",\"reasoning_effort\":\"low\"}",
              LLM_OK, NULL, "auto with thinking");
    check_one("{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"custom\"}]}",
              LLM_DECLINED, "tools[0].type", "a custom tool");
    check_one("{\"model\":\"m\"," MSG "," "\"tools\":[{\"type\":"
              "\"function\",\"function\":{\"name\":\"f\"}},{\"type\":"
              "\"function\",\"function\":{}}]}", LLM_DECLINED,
              "tools[1].function.name", "a tool without a name");
    check_one("{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"llm_json_response\"}}]}",
              LLM_DECLINED, "tools[0].function.name", "the reserved name");
    check_one("{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]}",
              LLM_DECLINED, "tools[0].function.parameters",
              "parameters not an object");
    check_one("{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"content\":\"y\"},"
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{}\"}},{\"id\":\"b\",\"type\":\"function\","
              "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]}"
              "]}", LLM_DECLINED,
              "messages[3].tool_calls[1].function.arguments",
              "arguments not JSON");
    check_one("{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"[1]\"}}]}]}", LLM_DECLINED,
              "messages[1].tool_calls[0].function.arguments",
              "arguments not an object");
    check_one("{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"tool_calls\":[{"
              "\"type\":\"function\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{}\"}}]}]}", LLM_DECLINED,
              "messages[1].tool_calls[0].id", "a call without an id");
    check_one("{\"model\":\"m\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"tool\",\"content\":\"r\"}]}", LLM_DECLINED,
              "messages[1].tool_call_id", "a tool result without an id");

#define CALLS(ids)                                                           \
    "{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\","         \
    "\"tool_calls\":[" ids "]}"
#define CALL(id)                                                             \
    "{\"id\":\"" id "\",\"type\":\"function\",\"function\":{\"name\":"       \
    "\"f\",\"arguments\":\"{}\"}}"
#define RESULT(id)                                                           \
    ",{\"role\":\"tool\",\"tool_call_id\":\"" id "\",\"content\":\"r\"}"

    check_one("{\"model\":\"m\",\"messages\":[" CALLS(CALL("a") "," CALL("b"))
              RESULT("b") RESULT("a") ",{\"role\":\"user\",\"content\":\"y\"}"
              "]}", LLM_OK, NULL, "two calls, two results");
    check_one("{\"model\":\"m\",\"messages\":[" CALLS(CALL("a"))
              ",{\"role\":\"system\",\"content\":\"s\"}" RESULT("a") "]}",
              LLM_OK, NULL, "a system message in between");
    check_one("{\"model\":\"m\",\"messages\":[" CALLS(CALL("a"))
              RESULT("z") "]}", LLM_DECLINED, "messages[2].tool_call_id",
              "a result for no call");
    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":\"x\"}" RESULT("a") "]}", LLM_DECLINED,
              "messages[1].tool_call_id", "a result without an assistant");
    check_one("{\"model\":\"m\",\"messages\":[" CALLS(CALL("a") "," CALL("b"))
              RESULT("a") ",{\"role\":\"user\",\"content\":\"y\"}]}",
              LLM_DECLINED, "messages[1].tool_calls", "a call unanswered");
    check_one("{\"model\":\"m\",\"messages\":[" CALLS(CALL("a")) "]}",
              LLM_DECLINED, "messages[1].tool_calls",
              "calls at the end, unanswered");

    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
              "\"ftp://x/a.png\"}}]}]}", LLM_DECLINED,
              "messages[0].content[0].image_url.url", "an ftp image");
    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
              "{\"type\":\"image_url\",\"image_url\":{\"url\":"
              "\"data:image/tiff;base64,AAAA\"}}]}]}", LLM_DECLINED,
              "messages[0].content[1].image_url.url", "a tiff image");
    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
              "\"data:image/png,AAAA\"}}]}]}", LLM_DECLINED,
              "messages[0].content[0].image_url.url", "not base64");
    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]}",
              LLM_DECLINED, "messages[0].content[0].type", "audio");
    check_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
              "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
              "\"data:image/webp;base64,AAAA\"}},{\"type\":\"image_url\","
              "\"image_url\":{\"url\":\"http://x/a.gif\"}}]}]}",
              LLM_OK, NULL, "webp and http images");
}


/* a recorded-shape stream that calls the JSON tool: content, stop */

static void
test_stream_json_tool(void)
{
    acc_t        a;
    run_t        r;
    const char  *body;

    body = "event: message_start\n"
           "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_j\","
           "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
           "event: content_block_start\n"
           "data: {\"type\":\"content_block_start\",\"index\":0,"
           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_j\","
           "\"name\":\"llm_json_response\",\"input\":{}}}\n\n"
           "event: content_block_delta\n"
           "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
           "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
           "event: content_block_delta\n"
           "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
           "{\"type\":\"input_json_delta\",\"partial_json\":"
           "\"{\\\"name\\\": \\\"Li\"}}\n\n"
           "event: content_block_delta\n"
           "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
           "{\"type\":\"input_json_delta\",\"partial_json\":\"ma\\\"}\"}}\n\n"
           "event: content_block_stop\n"
           "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
           "event: message_delta\n"
           "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
           "\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n"
           "event: message_stop\n"
           "data: {\"type\":\"message_stop\"}\n\n";

    run_stream(&r, body, strlen(body), 0, 0);
    acc_parse(&a, &r.out);

    ok(a.bad == 0 && a.done == 1 && a.done_last && !r.resp.failed,
       "JSON tool stream: complete");
    is_str(a.content.data, a.content.len, "{\"name\": \"Lima\"}",
           "JSON tool stream: its input is the content");
    ok(a.ntools == 0 && strcmp(a.finish, "stop") == 0,
       "JSON tool stream: no tool call, finish_reason stop");

    run_free(&r);
    acc_free(&a);

    /* a JSON tool, then text, then a client tool with no arguments,
     * interleaved with pings; the text block has no stop */

    body = "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
           "data: {\"type\":\"content_block_start\",\"index\":0,"
           "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
           "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
           "{\"type\":\"text_delta\",\"text\":\"A\"}}\n\n"
           "data: {\"type\":\"content_block_start\",\"index\":1,"
           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","
           "\"name\":\"one\",\"input\":{}}}\n\n"
           "event: ping\ndata: {\"type\": \"ping\"}\n\n"
           "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
           "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"x\\\"\"}}"
           "\n\n"
           "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
           "{\"type\":\"input_json_delta\",\"partial_json\":\": 1}\"}}\n\n"
           "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
           "data: {\"type\":\"content_block_start\",\"index\":2,"
           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t2\","
           "\"name\":\"two\",\"input\":{}}}\n\n"
           "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
           "\"tool_use\"}}\n\n"
           "data: {\"type\":\"message_stop\"}\n\n";

    run_stream(&r, body, strlen(body), 0, 0);
    acc_parse(&a, &r.out);

    llm_buf_append(&a.tools[0].args, "", 1);
    llm_buf_append(&a.tools[1].args, "", 1);

    ok(a.bad == 0 && a.done == 1 && !r.resp.failed && a.ntools == 2,
       "two tools: complete, two calls");
    ok(strcmp(a.tools[0].id, "t1") == 0
       && strcmp(a.tools[0].args.data, "{\"x\": 1}") == 0
       && strcmp(a.tools[1].id, "t2") == 0
       && strcmp(a.tools[1].args.data, "{}") == 0,
       "two tools: indexes 0 and 1, arguments; an unclosed empty one {}");
    ok(strcmp(a.content.data, "A") == 0
       && strcmp(a.finish, "tool_calls") == 0,
       "two tools: the text, finish_reason tool_calls");

    run_free(&r);
    acc_free(&a);
}


static void
test_response_mixed(void)
{
    cJSON           *j, *m, *calls;
    llm_response_t   resp;

    memset(&resp, 0, sizeof(llm_response_t));

    j = respond("{\"id\":\"msg_m\",\"type\":\"message\",\"content\":["
                "{\"type\":\"thinking\",\"thinking\":\"T\","
                "\"signature\":\"s\"},"
                "{\"type\":\"text\",\"text\":\"Let me.\"},"
                "{\"type\":\"server_tool_use\",\"id\":\"srv\",\"name\":"
                "\"web_search\",\"input\":{\"q\":1}},"
                "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"a\","
                "\"input\":{\"k\":[1,2]}},"
                "{\"type\":\"text\",\"text\":\" More.\"},"
                "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"b\","
                "\"input\":{}}],\"stop_reason\":\"tool_use\","
                "\"usage\":{\"input_tokens\":1,\"output_tokens\":2,"
                "\"output_tokens_details\":{\"thinking_tokens\":1}}}", &resp);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");
    calls = obj(m, "tool_calls");

    ok(strcmp(str(m, "content"), "Let me. More.") == 0
       && strcmp(str(m, "reasoning_content"), "T") == 0,
       "mixed response: text joined, thinking as reasoning_content");
    ok(cJSON_GetArraySize(calls) == 2
       && strcmp(str(cJSON_GetArrayItem(calls, 0), "id"), "t1") == 0
       && strcmp(str(obj(cJSON_GetArrayItem(calls, 0), "function"),
                     "arguments"), "{\"k\":[1,2]}") == 0
       && strcmp(str(obj(cJSON_GetArrayItem(calls, 1), "function"),
                     "arguments"), "{}") == 0,
       "mixed response: client tools in order, the server tool dropped");
    ok(strcmp(resp.finish_reason, "tool_calls") == 0
       && num(obj(obj(j, "usage"), "completion_tokens_details"),
              "reasoning_tokens") == 1,
       "mixed response: tool_calls, reasoning tokens");
    cJSON_Delete(j);
    llm_response_free(&resp);
    memset(&resp, 0, sizeof(llm_response_t));

    j = respond("{\"id\":\"msg_j\",\"type\":\"message\",\"content\":["
                "{\"type\":\"text\",\"text\":\"Here:\"},"
                "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":"
                "\"llm_json_response\",\"input\":{\"city\":\"Lima\"}}],"
                "\"stop_reason\":\"tool_use\",\"usage\":{}}", &resp);
    m = obj(cJSON_GetArrayItem(obj(j, "choices"), 0), "message");

    ok(strcmp(str(m, "content"), "{\"city\":\"Lima\"}") == 0
       && obj(m, "tool_calls") == NULL
       && strcmp(resp.finish_reason, "stop") == 0,
       "JSON tool response: its input alone as content, finish_reason "
       "stop");
    cJSON_Delete(j);
    llm_response_free(&resp);
}


static void
test_table(void)
{
    const llm_dialect_t  *d = &llm_dialect_anthropic;

    ok(strcmp(d->name, "anthropic") == 0
       && strcmp(d->chat_path, "/messages") == 0
       && d->request_path == NULL
       && strcmp(d->auth_prefix, "x-api-key: ") == 0
       && strcmp(d->extra_headers, "anthropic-version: 2023-06-01\r\n") == 0
       && d->build_request && d->response && d->stream_event
       && d->stream_end && d->error,
       "dialect table");
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

    test_table();
    test_build_request();
    test_response();
    test_response_scan();
    test_errors();
    test_streams();
    test_stream_thinking();
    test_stream_cut();
    test_stream_error();
    test_build_tools();
    test_build_json();
    test_build_recorded();
    test_build_thinking();
    test_check();
    test_stream_json_tool();
    test_response_mixed();

    return done_testing();
}
