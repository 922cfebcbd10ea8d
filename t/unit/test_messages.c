/*
 * Unit tests for the Anthropic Messages client format: the request
 * reader (src/core/llm_messages_request.c) against the internal form it
 * must produce, its errors, the count_tokens estimate and the error
 * envelope (llm_messages.c), and the Messages writers
 * (llm_writer_anthropic.c): events by hand, and the recorded OpenAI and
 * Gemini streams replayed through their dialects, rebuilt as the SDK's
 * accumulator would and compared with the same answer made whole.
 *
 * usage: test_messages [repo-root]
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_dialect.h"
#include "../../src/core/llm_messages.h"
#include "../../src/core/llm_sse.h"
#include "events.h"
#include "fixture.h"
#include "tap.h"


static const char  *root = ".";

/* the fixtures under this run's repository root */
#define read_file(rel, b)  fixture_read(root, rel, b)


/* a string member, "" when absent */
static const char *
str(cJSON *obj, const char *name)
{
    const char  *s;

    s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, name));

    return s ? s : "";
}


/* a literal and its length */
#define LIT(s)  s, sizeof(s) - 1


/* 1 if out holds s */
static int
has(llm_buf_t *out, const char *s)
{
    return out->len && memmem(out->data, out->len, s, strlen(s)) != NULL;
}


/* is_str on a printed tree, freed */
static void
is_json(cJSON *j, const char *expected, const char *name)
{
    char  *p;

    p = j ? cJSON_PrintUnformatted(j) : NULL;
    is_str(p ? p : "", p ? strlen(p) : 0, expected, "%s", name);
    free(p);
}


/* --- the reader: the Messages body and the internal form it becomes */

typedef struct {
    const char  *name;
    const char  *in;
    const char  *chat;          /* the internal form, compared as JSON */
    const char  *native;        /* NULL: nothing only Anthropic serves */
} read_case_t;


static const read_case_t  read_cases[] = {

    { "a string message",
      "{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
      "\"content\":\"Hi\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":10}", NULL },

    { "system blocks, parameters, metadata; top_k dropped",
      "{\"model\":\"m\",\"max_tokens\":10,\"system\":[{\"type\":\"text\","
      "\"text\":\"A\",\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":"
      "\"text\",\"text\":\"B\"}],\"temperature\":0.5,\"top_p\":0.9,\"top_k\":"
      "3,\"stop_sequences\":[\"X\",\"Y\"],\"metadata\":{\"user_id\":\"u1\"},"
      "\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
      "\"text\",\"text\":\"Hi\"}]}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
      "\"A\\n\\nB\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":10,"
      "\"temperature\":0.5,\"top_p\":0.9,\"stream\":true,\"stop\":[\"X\","
      "\"Y\"],\"user\":\"u1\"}", NULL },

    /* a number longer than any double's digits, in the body's tree */
    { "a number of 70 digits in metadata",
      "{\"model\":\"m\",\"max_tokens\":10,\"metadata\":{\"user_id\":\"u1\","
      "\"n\":1234567890123456789012345678901234567890123456789012345678901234"
      "567890},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":10,\"user\":\"u1\"}", NULL },

    { "images: base64 and URL, beside text",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
      "\"media_type\":\"image/png\",\"data\":\"AAA=\"}},{\"type\":\"image\","
      "\"source\":{\"type\":\"url\",\"url\":\"https://x/y.png\"}},{\"type\":"
      "\"text\",\"text\":\"What?\"}]}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
      "{\"type\":\"image_url\",\"image_url\":{\"url\":"
      "\"data:image/png;base64,AAA=\"}},{\"type\":\"image_url\",\"image_url\":"
      "{\"url\":\"https://x/y.png\"}},{\"type\":\"text\",\"text\":\"What?\"}]}],"
      "\"max_tokens\":1}", NULL },

    { "a tool round: tool_use, tool_result first, thinking dropped",
      "{\"model\":\"m\",\"max_tokens\":1,\"tools\":[{\"name\":\"f\","
      "\"description\":\"F\",\"input_schema\":{\"type\":\"object\"}}],"
      "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},"
      "\"messages\":[{\"role\":\"user\",\"content\":\"Go\"},{\"role\":"
      "\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\","
      "\"signature\":\"sig\"},{\"type\":\"text\",\"text\":\"Calling.\"},"
      "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{\"a\":"
      "[1,\"x\"]}},{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"f\","
      "\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":"
      "\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"one\"},{\"type\":"
      "\"tool_result\",\"tool_use_id\":\"t2\",\"is_error\":true,\"content\":"
      "[{\"type\":\"text\",\"text\":\"bad\"}]},{\"type\":\"text\",\"text\":"
      "\"Next?\"}]}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Go\"},"
      "{\"role\":\"assistant\",\"content\":\"Calling.\",\"tool_calls\":["
      "{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
      "\"arguments\":\"{\\\"a\\\":[1,\\\"x\\\"]}\"}},{\"id\":\"t2\",\"type\":"
      "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
      "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"one\"},"
      "{\"role\":\"tool\",\"tool_call_id\":\"t2\",\"content\":\"Error: bad\"},"
      "{\"role\":\"user\",\"content\":\"Next?\"}],\"max_tokens\":1,"
      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
      "\"description\":\"F\",\"parameters\":{\"type\":\"object\"}}}],"
      "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}", NULL },

    { "tool_choice tool; thinking becomes an effort",
      "{\"model\":\"m\",\"max_tokens\":9000,\"tools\":[{\"name\":\"f\","
      "\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":"
      "\"tool\",\"name\":\"f\"},\"thinking\":{\"type\":\"enabled\","
      "\"budget_tokens\":8000},\"messages\":[{\"role\":\"user\",\"content\":"
      "\"Hi\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":9000,\"tools\":[{\"type\":\"function\",\"function\":"
      "{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":"
      "{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
      "\"reasoning_effort\":\"medium\"}", NULL },

    { "a server tool and a document: noted, dropped",
      "{\"model\":\"m\",\"max_tokens\":1,\"tools\":[{\"type\":"
      "\"web_search_20250305\",\"name\":\"web_search\"}],\"tool_choice\":"
      "{\"type\":\"auto\"},\"messages\":[{\"role\":\"user\",\"content\":["
      "{\"type\":\"document\",\"source\":{}},{\"type\":\"text\",\"text\":"
      "\"Hi\"}]}],\"template\":{\"name\":\"t\"}}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":1,\"template\":{\"name\":\"t\"}}",
      "the content block type 'document' (messages.0.content.0)" },

    { NULL, NULL, NULL, NULL }
};


typedef struct {
    const char  *name;
    const char  *in;
    int          flags;
    const char  *message;       /* the error's start */
} bad_case_t;


static const bad_case_t  bad_cases[] = {
    { "invalid JSON", "{\"model\":", 0, "Invalid JSON in the request body" },
    { "invalid UTF-8", "{\"model\":\"\xff\"}", 0, "Invalid UTF-8" },
    { "an array", "[]", 0, "The request body must be a JSON object." },
    { "no model", "{\"max_tokens\":1,\"messages\":[]}", 0,
      "model: Field required" },
    { "a model number", "{\"model\":1}", 0, "model: Field required" },
    { "no max_tokens", "{\"model\":\"m\",\"messages\":[]}", 0,
      "max_tokens: Field required" },
    { "max_tokens 0", "{\"model\":\"m\",\"max_tokens\":0}", 0,
      "max_tokens: Input should be between 1 and" },
    { "max_tokens 1.5", "{\"model\":\"m\",\"max_tokens\":1.5}", 0,
      "max_tokens: Input should be a valid integer" },
    { "top_k -1", "{\"model\":\"m\",\"max_tokens\":1,\"top_k\":-1}", 0,
      "top_k: Input should be between 0 and" },
    { "stream a string", "{\"model\":\"m\",\"max_tokens\":1,\"stream\":\"y\"}",
      0, "stream: Input should be a valid boolean" },
    { "a stop sequence number",
      "{\"model\":\"m\",\"max_tokens\":1,\"stop_sequences\":[\"a\",2]}", 0,
      "stop_sequences.1: Input should be a valid string" },
    { "metadata a list",
      "{\"model\":\"m\",\"max_tokens\":1,\"metadata\":[]}", 0,
      "metadata: Input should be a valid dictionary" },
    { "no messages", "{\"model\":\"m\",\"max_tokens\":1}", 0,
      "messages: Field required" },
    { "empty messages", "{\"model\":\"m\",\"messages\":[]}",
      LLM_MESSAGES_COUNT, "messages: at least one message is required" },
    { "a system role",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\","
      "\"content\":\"x\"}]}", 0,
      "messages.0.role: Input should be 'user' or 'assistant'" },
    { "content a number",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":1}]}", 0, "messages.0.content: Input should be" },
    { "a block without type",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":[{\"text\":\"x\"}]}]}", 0,
      "messages.0.content: each content block" },
    { "a tool_use without input",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":\"x\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
      "\"tool_use\",\"id\":\"a\",\"name\":\"f\"}]}]}", 0,
      "messages.1.content.0: a tool_use block needs" },
    { "a tool_result without id",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":[{\"type\":\"tool_result\"}]}]}", 0,
      "messages.0.content.0: tool_use_id: Field required" },
    { "a system number",
      "{\"model\":\"m\",\"max_tokens\":1,\"system\":5,\"messages\":[]}", 0,
      "system: Input should be a valid string or a list of text blocks" },
    { "a tool without schema",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":\"x\"}],\"tools\":[{\"name\":\"f\"}]}", 0,
      "tools.0: a tool needs" },
    { "tool_choice a string",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":\"x\"}],\"tool_choice\":\"auto\"}", 0,
      "tool_choice: Input should be an object" },
    { "a thinking budget of 10",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
      "\"content\":\"x\"}],\"thinking\":{\"type\":\"enabled\","
      "\"budget_tokens\":10}}", 0, "thinking.budget_tokens: Input should be" },
    { NULL, NULL, 0, NULL }
};


static void
test_reader(void)
{
    int                 rc, i;
    cJSON              *got, *want;
    llm_error_t         e;
    llm_messages_t      m;
    const char         *in;
    const read_case_t  *c;
    const bad_case_t   *b;

    for (c = read_cases; c->name; c++) {
        rc = llm_messages_parse(&m, c->in, strlen(c->in), 0, &e);

        if (!ok(rc == LLM_OK, "%s: read", c->name)) {
            diag("%s", e.message);
            continue;
        }

        got = cJSON_ParseWithLength(m.chat.data, m.chat.len);
        want = cJSON_Parse(c->chat);

        if (!ok(want && cJSON_Compare(got, want, 1),
                "%s: the internal form", c->name))
        {
            diag("got %.*s", (int) m.chat.len, m.chat.data);
        }

        is_str(m.native, strlen(m.native), c->native ? c->native : "",
               "%s: what only Anthropic serves", c->name);
        is_str(c->in + m.model_start, m.model_end - m.model_start, "\"m\"",
               "%s: the model's bytes", c->name);

        cJSON_Delete(got);
        cJSON_Delete(want);
        llm_messages_free(&m);
    }

    for (b = bad_cases; b->name; b++) {
        rc = llm_messages_parse(&m, b->in, strlen(b->in), b->flags, &e);

        ok(rc == LLM_ERROR && e.status == 400, "%s: 400", b->name);
        ok(strncmp(e.message, b->message, strlen(b->message)) == 0,
           "%s: \"%s\"", b->name, e.message);
    }

    /* the count body needs no max_tokens and puts nothing in the form */

    in = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    rc = llm_messages_parse(&m, in, strlen(in), LLM_MESSAGES_COUNT, &e);
    ok(rc == LLM_OK, "count_tokens: no max_tokens needed");
    if (rc == LLM_OK) {
        llm_messages_free(&m);
    }

    /* what the reader writes, the internal parser takes */

    for (i = 0; read_cases[i].name; i++) {
        llm_request_t  req;

        c = &read_cases[i];
        if (llm_messages_parse(&m, c->in, strlen(c->in), 0, &e) != LLM_OK) {
            continue;
        }

        memset(&req, 0, sizeof(llm_request_t));
        rc = llm_request_parse(&req, m.chat.data, m.chat.len, &e);
        ok(rc == LLM_OK, "%s: a valid chat request", c->name);
        if (rc != LLM_OK) {
            diag("%s", e.message);
        } else {
            llm_request_free(&req);
        }

        llm_messages_free(&m);
    }
}


static void
test_estimate(void)
{
    long long    n;
    const char  *in;

    in = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"The quick brown fox jumps over the lazy dog.\"}]}";
    n = llm_messages_estimate(in, strlen(in));
    ok(n >= 10 && n <= 60, "nine English words: %lld tokens, above 10", n);

    in = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7\xe3\x81\x99\"}]}";
    n = llm_messages_estimate(in, strlen(in));
    ok(n >= 5, "five Japanese characters: %lld tokens, at least 5", n);

    in = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"image\",\"source\":{\"type\":\"base64\",\"data\":\""
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}]}]}";
    n = llm_messages_estimate(in, strlen(in));
    ok(n >= 1600 && n < 1700, "an image: %lld, its data not counted", n);

    ok(llm_messages_estimate("[1]", 3) == -1, "not an object: -1");
    ok(llm_messages_estimate("{", 1) == -1, "not JSON: -1");
}


static void
test_errors(void)
{
    static const struct {
        int          status;
        const char  *type;
    } types[] = {
        { 400, "invalid_request_error" }, { 401, "authentication_error" },
        { 402, "billing_error" }, { 403, "permission_error" },
        { 404, "not_found_error" }, { 405, "invalid_request_error" },
        { 413, "request_too_large" }, { 429, "rate_limit_error" },
        { 500, "api_error" }, { 502, "api_error" },
        { 503, "overloaded_error" }, { 504, "timeout_error" },
        { 529, "overloaded_error" }, { 0, NULL }
    };

    int          i;
    llm_buf_t    b;
    llm_error_t  e;

    for (i = 0; types[i].type; i++) {
        is_str(llm_messages_error_type(types[i].status),
               strlen(llm_messages_error_type(types[i].status)),
               types[i].type, "%d is %s", types[i].status, types[i].type);
    }

    memset(&b, 0, sizeof(llm_buf_t));
    llm_error_set(&e, 429, "x", "rate_limit_exceeded", "Slow \"down\".");
    llm_messages_error_json(&e, &b);
    is_str(b.data, b.len, "{\"type\":\"error\",\"error\":{\"type\":"
           "\"rate_limit_error\",\"message\":\"Slow \\\"down\\\".\"}}",
           "the envelope");
    llm_buf_free(&b);
}


/* --- the writers */

/* the SSE events of out: names and parsed data */

/*
 * What Anthropic's SDK accumulator makes of a stream: the message of
 * message_start, blocks by index, deltas appended, input_json parsed at
 * the block's end, message_delta's stop_reason and usage.  NULL when
 * the events are not a well-formed Messages stream.
 */

static cJSON *
accumulate(events_t *ev, int *well_formed)
{
    int     i, idx;
    char   *json[16];
    cJSON  *msg, *content, *block, *d, *delta, *v, *usage;

    *well_formed = 0;
    memset(json, 0, sizeof(json));

    if (ev->n < 3 || strcmp(ev->name[0], "message_start") != 0
        || strcmp(ev->name[ev->n - 1], "message_stop") != 0)
    {
        return NULL;
    }

    msg = cJSON_Duplicate(cJSON_GetObjectItem(ev->data[0], "message"), 1);
    content = cJSON_GetObjectItem(msg, "content");

    for (i = 1; i < ev->n; i++) {
        d = ev->data[i];

        if (d == NULL || strcmp(ev->name[i],
                                cJSON_GetStringValue(cJSON_GetObjectItem(d,
                                                                  "type"))
                                ? cJSON_GetStringValue(cJSON_GetObjectItem(d,
                                                                  "type"))
                                : "")
                         != 0)
        {
            cJSON_Delete(msg);
            return NULL;
        }

        idx = (int) cJSON_GetNumberValue(cJSON_GetObjectItem(d, "index"));

        if (strcmp(ev->name[i], "content_block_start") == 0) {
            if (idx != cJSON_GetArraySize(content) || idx >= 16) {
                cJSON_Delete(msg);
                return NULL;
            }

            cJSON_AddItemToArray(content, cJSON_Duplicate(
                cJSON_GetObjectItem(d, "content_block"), 1));

        } else if (strcmp(ev->name[i], "content_block_delta") == 0) {
            block = cJSON_GetArrayItem(content, idx);
            delta = cJSON_GetObjectItem(d, "delta");
            v = cJSON_GetObjectItem(delta, "text");

            if (v == NULL) {
                v = cJSON_GetObjectItem(delta, "thinking");
            }

            if (v && block) {
                const char  *key = cJSON_GetObjectItem(delta, "text")
                                   ? "text" : "thinking";
                const char  *was = cJSON_GetStringValue(
                                       cJSON_GetObjectItem(block, key));
                char        *s = malloc(strlen(was ? was : "")
                                        + strlen(v->valuestring) + 1);

                sprintf(s, "%s%s", was ? was : "", v->valuestring);
                cJSON_ReplaceItemInObject(block, key, cJSON_CreateString(s));
                free(s);
            }

            v = cJSON_GetObjectItem(delta, "partial_json");

            if (v && idx < 16) {
                size_t  len = json[idx] ? strlen(json[idx]) : 0;

                json[idx] = realloc(json[idx], len + strlen(v->valuestring)
                                               + 1);
                strcpy(json[idx] + len, v->valuestring);
            }

        } else if (strcmp(ev->name[i], "content_block_stop") == 0) {
            block = cJSON_GetArrayItem(content, idx);

            if (block && idx < 16 && json[idx]) {
                cJSON_ReplaceItemInObject(block, "input",
                                          cJSON_Parse(json[idx]));
            }

        } else if (strcmp(ev->name[i], "message_delta") == 0) {
            cJSON_ReplaceItemInObject(msg, "stop_reason", cJSON_Duplicate(
                cJSON_GetObjectItem(cJSON_GetObjectItem(d, "delta"),
                                    "stop_reason"), 1));
            usage = cJSON_GetObjectItem(d, "usage");
            cJSON_ReplaceItemInObject(msg, "usage",
                                      cJSON_Duplicate(usage, 1));
        }
    }

    for (i = 0; i < 16; i++) {
        free(json[i]);
    }

    *well_formed = 1;

    return msg;
}


static void
test_writer_events(void)
{
    int               wf;
    cJSON            *msg, *whole, *block;
    events_t          ev;
    llm_buf_t         out;
    llm_response_t    resp;
    llm_tool_event_t  tool = { LIT("\"call_1\""), LIT("\"f\""),
                               LIT("\"{\\\"a\\\"\"") };

    /* a stream */

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, "client-model", 0);
    resp.writer = &llm_writer_anthropic;
    strcpy(resp.id, "chatcmpl-1");

    llm_event_start(&resp, &out);
    ok(out.len == 0, "message_start waits for the first piece");
    resp.usage.prompt_tokens = 12;
    resp.usage.cached_tokens = 2;
    llm_event_text(&resp, 0, LLM_PART_REASONING, "\"Hmm.\"", 6, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, LIT("\"Hi \\\"you\\\"\""),
                   &out);
    llm_event_text(&resp, 1, LLM_PART_CONTENT, "\"other choice\"", 14, &out);
    llm_event_tool(&resp, 0, 0, &tool, &out);
    llm_event_tool_args(&resp, 0, 0, "\":1}\"", 5, &out);
    llm_event_finish(&resp, 0, "tool_calls", &out);
    resp.usage.completion_tokens = 7;
    ok(llm_event_end(&resp, &out) == LLM_DONE, "the stream ends");

    events_read(&ev, &out);
    msg = accumulate(&ev, &wf);
    ok(wf, "a well-formed Messages stream");
    ok(ev.n > 2 && strcmp(ev.name[1], "ping") == 0, "a ping after the start");
    ok(!has(&out, "other choice"), "only choice 0");
    is_json(cJSON_GetObjectItem(ev.data[0], "message"),
           "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
           "\"assistant\",\"model\":\"client-model\",\"content\":[],"
           "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
           "{\"input_tokens\":10,\"cache_creation_input_tokens\":0,"
           "\"cache_read_input_tokens\":2,\"output_tokens\":0}}",
           "message_start: the id, the client's model, input tokens known");

    /* the same events, whole */

    llm_buf_free(&out);
    llm_response_init(&resp, "client-model", 0);
    resp.writer = &llm_writer_anthropic;
    llm_response_whole(&resp);
    strcpy(resp.id, "chatcmpl-1");
    resp.usage.prompt_tokens = 12;
    resp.usage.cached_tokens = 2;
    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_REASONING, "\"Hmm.\"", 6, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, LIT("\"Hi \\\"you\\\"\""),
                   &out);
    llm_event_tool(&resp, 0, 0, &tool, &out);
    llm_event_tool_args(&resp, 0, 0, "\":1}\"", 5, &out);
    llm_event_finish(&resp, 0, "tool_calls", &out);
    resp.usage.completion_tokens = 7;
    llm_event_end(&resp, &out);

    whole = cJSON_ParseWithLength(out.data, out.len);
    if (!ok(whole != NULL, "a whole message is JSON")) {
        diag("%.*s", (int) out.len, out.data);
    }
    ok(msg && whole && cJSON_Compare(msg, whole, 1),
       "the stream, accumulated, is the whole message");
    if (msg && whole && !cJSON_Compare(msg, whole, 1)) {
        diag("stream %s", cJSON_PrintUnformatted(msg));
        diag("whole  %.*s", (int) out.len, out.data);
    }

    block = cJSON_GetArrayItem(cJSON_GetObjectItem(whole, "content"), 2);
    is_json(cJSON_GetObjectItem(block, "input"), "{\"a\":1}",
            "the tool's input, an object");
    is_str(str(whole, "stop_reason"), strlen(str(whole, "stop_reason")),
           "tool_use", "stop_reason tool_use");

    cJSON_Delete(msg);
    cJSON_Delete(whole);
    events_free(&ev);
    llm_response_free(&resp);
    llm_buf_free(&out);

    /* arguments that are not an object are kept, as a string */

    memset(&out, 0, sizeof(llm_buf_t));
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_anthropic;
    llm_response_whole(&resp);
    tool.args = "\"not json\"";
    tool.args_len = 10;
    llm_event_tool(&resp, 0, 0, &tool, &out);
    llm_event_finish(&resp, 0, "length", &out);
    llm_event_end(&resp, &out);
    ok(has(&out, "\"input\":{\"arguments\":\"not json\"}"),
       "arguments that are not an object are kept");
    ok(has(&out, "\"stop_reason\":\"max_tokens\""),
       "length is max_tokens");
    llm_response_free(&resp);
    llm_buf_free(&out);

    /* a failure after the start: an error event, no message_stop */

    memset(&out, 0, sizeof(llm_buf_t));
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_anthropic;
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"a\"", 3, &out);
    llm_response_fail(&resp, &out, 502, "stream_truncated", "Cut.");
    ok(has(&out, "event: error\ndata: {\"type\":\"error\",\"error\":"
                        "{\"type\":\"api_error\",\"message\":\"Cut.\"}}\n\n"), "a failure is an error event");
    ok(!has(&out, "message_stop"), "... and no message_stop");
    llm_response_free(&resp);
    llm_buf_free(&out);

    /* the relay writes nothing but errors */

    memset(&out, 0, sizeof(llm_buf_t));
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_anthropic_relay;
    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"a\"", 3, &out);
    llm_event_tool(&resp, 0, 0, &tool, &out);
    llm_event_tool_args(&resp, 0, 0, "\"x\"", 3, &out);
    llm_event_finish(&resp, 0, "stop", &out);
    llm_event_end(&resp, &out);
    ok(out.len == 0 && resp.first_token && resp.done,
       "the relay: events read, nothing written");
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_anthropic_relay;
    llm_response_fail(&resp, &out, 500, "x", "Broken.");
    ok(out.len && strncmp(out.data, "event: error\n", 13) == 0,
       "... but for the error event");
    llm_response_free(&resp);
    llm_buf_free(&out);
}


/* a provider's recording through its dialect, as Messages */

static cJSON *
replay(const llm_dialect_t *d, const char *rel, int *well_formed)
{
    cJSON           *msg;
    events_t         ev;
    llm_buf_t        body, out;
    llm_response_t   resp;

    memset(&body, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    *well_formed = 0;

    if (read_file(rel, &body) != LLM_OK) {
        return NULL;
    }

    llm_response_init(&resp, "client-model", 0);
    resp.writer = &llm_writer_anthropic;

    events_replay(d, &resp, &body, &out);

    events_read(&ev, &out);
    msg = accumulate(&ev, well_formed);
    if (!*well_formed) {
        diag("%.*s", (int) (out.len > 3000 ? 3000 : out.len), out.data);
    }
    events_free(&ev);

    llm_response_free(&resp);
    llm_buf_free(&out);
    llm_buf_free(&body);

    return msg;
}


static void
test_replays(void)
{
    static const struct {
        const char  *dialect;
        const char  *stream;
        const char  *tool;          /* the tool's name, or NULL */
        const char  *text;          /* the start of the text, or NULL */
    } cases[] = {
        { "openai", "openai/chat-tool-call.stream.sse", "get_capital",
          NULL },
        { "openai", "groq/chat-text-reasoning.stream.sse", NULL, NULL },
        { "openai", "openai/chat-text-after-tool.stream.sse", NULL, NULL },
        { "gemini", "google/tool-call.stream.sse", "get_country", NULL },
        { "gemini", "google/text.stream.sse", NULL,
          "The capital of France is Paris." },
        { "anthropic", "anthropic/messages-thinking.stream.sse", NULL, NULL },
        { NULL, NULL, NULL, NULL }
    };

    int                   i, wf, j;
    cJSON                *msg, *b;
    const char           *t;
    const llm_dialect_t  *d;

    for (i = 0; cases[i].dialect; i++) {
        d = llm_dialect_find(cases[i].dialect, strlen(cases[i].dialect));

        msg = replay(d, cases[i].stream, &wf);
        if (!ok(wf, "%s: a well-formed Messages stream", cases[i].stream)) {
            continue;
        }

        if (cases[i].tool) {
            j = 0;
            cJSON_ArrayForEach(b, cJSON_GetObjectItem(msg, "content")) {
                t = cJSON_GetStringValue(cJSON_GetObjectItem(b, "type"));
                if (t && strcmp(t, "tool_use") == 0
                    && strcmp(str(b, "name"), cases[i].tool) == 0
                    && cJSON_IsObject(cJSON_GetObjectItem(b, "input")))
                {
                    j++;
                }
            }

            ok(j >= 1, "%s: tool_use %s with its input object",
               cases[i].stream, cases[i].tool);
            is_str(str(msg, "stop_reason"), strlen(str(msg, "stop_reason")),
                   "tool_use", "%s: stop_reason", cases[i].stream);
        }

        if (cases[i].text) {
            b = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0);
            t = cJSON_GetStringValue(cJSON_GetObjectItem(b, "text"));
            ok(t && strncmp(t, cases[i].text, strlen(cases[i].text)) == 0,
               "%s: the text", cases[i].stream);
        }

        ok(cJSON_GetNumberValue(cJSON_GetObjectItem(
               cJSON_GetObjectItem(msg, "usage"), "output_tokens")) > 0,
           "%s: output tokens in message_delta", cases[i].stream);

        cJSON_Delete(msg);
    }
}


/* whole answers, fast path and cJSON path, as one message */

static void
test_whole_replays(void)
{
    static const struct {
        const char  *dialect;
        const char  *file;
        const char  *first;         /* the first block's type */
        const char  *stop;
    } cases[] = {
        { "openai", "openai/chat-text.response.json", "text", "end_turn" },
        { "openai", "openai/chat-tool-call.response.json", "tool_use",
          "tool_use" },
        { "openai", "groq/chat-text.response.json", "text", "end_turn" },
        { "gemini", "google/text.response.json", "text", "end_turn" },
        { "gemini", "google/tool-call.response.json", "tool_use",
          "tool_use" },
        { "anthropic", "anthropic/messages-tool-use.response.json",
          "tool_use", "tool_use" },
        { NULL, NULL, NULL, NULL }
    };

    int                   i;
    cJSON                *msg, *b;
    llm_buf_t             body, out;
    llm_response_t        resp;
    const llm_dialect_t  *d;

    for (i = 0; cases[i].dialect; i++) {
        d = llm_dialect_find(cases[i].dialect, strlen(cases[i].dialect));

        memset(&body, 0, sizeof(llm_buf_t));
        memset(&out, 0, sizeof(llm_buf_t));
        memset(&resp, 0, sizeof(llm_response_t));

        if (read_file(cases[i].file, &body) != LLM_OK) {
            ok(0, "%s: read", cases[i].file);
            continue;
        }

        llm_response_init(&resp, "client-model", 0);
        resp.writer = &llm_writer_anthropic;

        ok(d->response(&resp, body.data, body.len, &out) == LLM_OK,
           "%s: translated", cases[i].file);

        msg = cJSON_ParseWithLength(out.data, out.len);
        b = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0);

        is_str(str(msg, "type"), strlen(str(msg, "type")), "message",
               "%s: a message", cases[i].file);
        is_str(str(msg, "model"), strlen(str(msg, "model")), "client-model",
               "%s: the client's model", cases[i].file);
        is_str(str(b, "type"), strlen(str(b, "type")), cases[i].first,
               "%s: the first block", cases[i].file);
        is_str(str(msg, "stop_reason"), strlen(str(msg, "stop_reason")),
               cases[i].stop, "%s: stop_reason", cases[i].file);
        ok(cJSON_GetNumberValue(cJSON_GetObjectItem(
               cJSON_GetObjectItem(msg, "usage"), "output_tokens")) > 0,
           "%s: usage", cases[i].file);

        if (strcmp(cases[i].first, "text") == 0) {
            ok(strlen(str(b, "text")) > 0, "%s: the text", cases[i].file);

        } else {
            ok(cJSON_IsObject(cJSON_GetObjectItem(b, "input")),
               "%s: the tool's input object", cases[i].file);
        }

        cJSON_Delete(msg);
        llm_response_free(&resp);
        llm_buf_free(&out);
        llm_buf_free(&body);
    }
}


int
main(int argc, char **argv)
{
    if (argc > 1) {
        root = argv[1];
    }

    test_reader();
    test_estimate();
    test_errors();
    test_writer_events();
    test_replays();
    test_whole_replays();

    return done_testing();
}
