/*
 * Unit tests for what the response cache takes from the core
 * (src/core/llm_cache.h): the key's canonical form of a request body,
 * and the record of an answer, made from recorded provider streams
 * replayed through their dialects, then replayed itself as a stream, as
 * a whole object, and live (a record read while it grows), each time
 * meaning what the provider sent.
 *
 * usage: test_cache [repo-root]
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_cache.h"
#include "../../src/core/llm_dialect.h"
#include "events.h"
#include "fixture.h"
#include "tap.h"


static const char  *root = ".";

static const char  *skipped[] = {
    "stream", "stream_options", "user", "metadata", "store", NULL
};

static const char  *avoided[] = { "logprobs", NULL };


static void
feed(void *data, const char *p, size_t n)
{
    llm_buf_append(data, p, n);
}


/* the canonical form of s as a C string (static), or "ERROR" */

static const char *
canon(const char *s)
{
    static char  res[4096];
    int          rc;
    llm_buf_t    b;

    memset(&b, 0, sizeof(llm_buf_t));

    rc = llm_cache_key(s, strlen(s), skipped, avoided, feed, &b);

    if (rc == LLM_OK) {
        snprintf(res, sizeof(res), "%.*s", (int) b.len, b.data);

    } else {
        snprintf(res, sizeof(res), "%s",
                 rc == LLM_DECLINED ? "DECLINED" : "ERROR");
    }

    llm_buf_free(&b);

    return res;
}


static void
test_key(void)
{
    char        big[8192], *p;
    int         i;
    const char  *a;

    a = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi  there\"}],"
        "\"model\":\"m\",\"temperature\":0.5}";

    ok(strcmp(canon(a), a) == 0, "a canonical body is its own form");

    ok(strcmp(canon("{ \"temperature\" : 0.5 ,\n \"model\":\"m\", "
                    "\"messages\": [ {\"role\": \"user\", \"content\": "
                    "\"hi  there\"} ] }"), a) == 0,
       "members reordered and whitespace dropped, not inside strings");

    ok(strcmp(canon("{\"stream\":true,\"model\":\"m\",\"user\":\"u1\","
                    "\"stream_options\":{\"include_usage\":true},"
                    "\"messages\":[{\"role\":\"user\",\"content\":"
                    "\"hi  there\"}],\"metadata\":{\"a\":\"b\"},"
                    "\"store\":false,\"temperature\":0.5}"), a) == 0,
       "stream, stream_options, user, metadata, store left out");

    ok(strcmp(canon("{\"model\":\"m\",\"temperature\":0.7,\"messages\":"
                    "[{\"role\":\"user\",\"content\":\"hi  there\"}]}"),
              a) != 0, "a parameter that changes the answer changes it");

    ok(strcmp(canon("{\"model\":\"m\",\"temperature\":0.5,\"messages\":"
                    "[{\"content\":\"hi  there\",\"role\":\"user\"}]}"),
              a) != 0, "order inside a value is kept");

    ok(strcmp(canon("{\"model\":\"m\",\"temperature\":0.5,\"messages\":"
                    "[{\"role\":\"user\",\"content\":\"hi there\"}]}"),
              a) != 0, "whitespace inside a string counts");

    ok(strcmp(canon("{\"a\":\"x\\\" }\",\"b\":[1, {\"c\" :null}]}"),
              "{\"a\":\"x\\\" }\",\"b\":[1,{\"c\":null}]}") == 0,
       "escaped quotes do not end a string");

    ok(strcmp(canon("{\"model\":\"m\",\"logprobs\":true}"), "DECLINED")
       == 0, "a member the answer cannot carry: not cached");

    ok(strcmp(canon("{}"), "{}") == 0, "an empty object");
    ok(strcmp(canon("[1]"), "ERROR") == 0, "an array is not a request");
    ok(strcmp(canon("{\"a\":1"), "ERROR") == 0, "unterminated");
    ok(strcmp(canon("{\"a\":1} x"), "ERROR") == 0, "trailing bytes");
    ok(strcmp(canon("{\"a\" 1}"), "ERROR") == 0, "no colon");
    ok(strcmp(canon("{\"a\":\"x}"), "ERROR") == 0, "unterminated string");

    p = big;
    p += sprintf(p, "{");

    for (i = 0; i < 200; i++) {
        p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    }

    sprintf(p, "}");

    ok(strcmp(canon(big), "DECLINED") == 0,
       "too many members: not cached, not an error");
}


/* what a client makes of a chat stream or object: the answer's meaning */

typedef struct {
    char        content[8192];
    char        reasoning[8192];
    char        args[4][2048];
    char        names[4][128];
    char        ids[4][128];
    int         ntools;
    char        finish[32];
    long long   prompt, completion, total;
    int         chunks;
    int         finishes;
    int         starts;
    int         done;
} answer_t;


static void
cat(char *dst, size_t size, cJSON *s)
{
    if (cJSON_IsString(s)) {
        strncat(dst, s->valuestring, size - strlen(dst) - 1);
    }
}


static void
answer_usage(answer_t *a, cJSON *u)
{
    if (cJSON_IsObject(u)) {
        a->prompt = (long long) cJSON_GetNumberValue(
                        cJSON_GetObjectItem(u, "prompt_tokens"));
        a->completion = (long long) cJSON_GetNumberValue(
                        cJSON_GetObjectItem(u, "completion_tokens"));
        a->total = (long long) cJSON_GetNumberValue(
                        cJSON_GetObjectItem(u, "total_tokens"));
    }
}


static void
answer_tools(answer_t *a, cJSON *tools, int whole)
{
    int    i, n;
    cJSON *t, *f;

    n = 0;

    cJSON_ArrayForEach(t, tools) {
        i = whole ? n++
                  : (int) cJSON_GetNumberValue(cJSON_GetObjectItem(t,
                                                                   "index"));

        if (i < 0 || i > 3) {
            continue;
        }

        if (i + 1 > a->ntools) {
            a->ntools = i + 1;
        }

        f = cJSON_GetObjectItem(t, "function");
        cat(a->ids[i], sizeof(a->ids[i]), cJSON_GetObjectItem(t, "id"));
        cat(a->names[i], sizeof(a->names[i]), cJSON_GetObjectItem(f, "name"));
        cat(a->args[i], sizeof(a->args[i]),
            cJSON_GetObjectItem(f, "arguments"));
    }
}


static void
answer_stream(answer_t *a, llm_buf_t *out)
{
    int        i;
    cJSON     *c, *d, *fr;
    events_t  *ev;

    memset(a, 0, sizeof(answer_t));

    ev = malloc(sizeof(events_t));
    events_read(ev, out);

    for (i = 0; i < ev->n; i++) {
        if (ev->data[i] == NULL) {
            a->done++;
            continue;
        }

        a->chunks++;
        answer_usage(a, cJSON_GetObjectItem(ev->data[i], "usage"));

        c = cJSON_GetArrayItem(cJSON_GetObjectItem(ev->data[i], "choices"),
                               0);
        d = cJSON_GetObjectItem(c, "delta");
        cat(a->content, sizeof(a->content), cJSON_GetObjectItem(d, "content"));
        cat(a->reasoning, sizeof(a->reasoning),
            cJSON_GetObjectItem(d, "reasoning_content"));
        answer_tools(a, cJSON_GetObjectItem(d, "tool_calls"), 0);

        fr = cJSON_GetObjectItem(c, "finish_reason");
        if (cJSON_IsString(fr)) {
            snprintf(a->finish, sizeof(a->finish), "%s", fr->valuestring);
            a->finishes++;
        }

        if (cJSON_GetObjectItem(d, "role")) {
            a->starts++;
        }
    }

    events_free(ev);
    free(ev);
}


static void
answer_whole(answer_t *a, llm_buf_t *out)
{
    cJSON  *j, *c, *m, *fr;

    memset(a, 0, sizeof(answer_t));

    j = cJSON_ParseWithLength(out->data, out->len);
    if (j == NULL) {
        return;
    }

    c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    m = cJSON_GetObjectItem(c, "message");
    cat(a->content, sizeof(a->content), cJSON_GetObjectItem(m, "content"));
    cat(a->reasoning, sizeof(a->reasoning),
        cJSON_GetObjectItem(m, "reasoning_content"));
    answer_tools(a, cJSON_GetObjectItem(m, "tool_calls"), 1);
    answer_usage(a, cJSON_GetObjectItem(j, "usage"));

    fr = cJSON_GetObjectItem(c, "finish_reason");
    if (cJSON_IsString(fr)) {
        snprintf(a->finish, sizeof(a->finish), "%s", fr->valuestring);
    }

    a->done = 1;

    cJSON_Delete(j);
}


static int
same(const answer_t *a, const answer_t *b, int whole)
{
    int  i;

    if (strcmp(a->content, b->content) || strcmp(a->reasoning, b->reasoning)
        || strcmp(a->finish, b->finish) || a->ntools != b->ntools
        || a->prompt != b->prompt || a->completion != b->completion
        || a->total != b->total)
    {
        diag("content \"%s\" / \"%s\", finish %s / %s, tools %d / %d, "
             "usage %lld / %lld", a->content, b->content, a->finish,
             b->finish, a->ntools, b->ntools, a->total, b->total);
        return 0;
    }

    for (i = 0; i < a->ntools; i++) {
        if (strcmp(a->args[i], b->args[i]) || strcmp(a->names[i], b->names[i])
            || strcmp(a->ids[i], b->ids[i]))
        {
            diag("tool %d: %s(%s) / %s(%s)", i, a->names[i], a->args[i],
                 b->names[i], b->args[i]);
            return 0;
        }
    }

    if (!whole && (a->finishes != b->finishes || a->starts != b->starts)) {
        diag("finish chunks %d / %d, role chunks %d / %d", a->finishes,
             b->finishes, a->starts, b->starts);
        return 0;
    }

    return whole || a->done == b->done;
}


/* the record's bytes replayed live: after each of the provider's events */

typedef struct {
    const llm_dialect_t   *d;
    llm_response_t        *resp;      /* the leader's */
    llm_buf_t             *out;
    llm_record_t          *rec;
    llm_response_t        *live;      /* a waiter's */
    llm_record_cursor_t    cur;
    llm_buf_t             *live_out;
    llm_buf_t              scratch;
    int                    errors;
} live_t;


static int
live_feed(void *data, const char *e, size_t el, const char *p, size_t n)
{
    int      rc;
    live_t  *l = data;

    rc = l->d->stream_event(l->resp, e, el, p, n, l->out);

    if (llm_record_replay(l->rec->buf.data, l->rec->buf.len, &l->cur, 0,
                          l->live, l->live_out, &l->scratch)
        == LLM_ERROR)
    {
        l->errors++;
    }

    return (rc == LLM_DONE) ? LLM_DONE : LLM_OK;
}


static void
test_stream(const llm_dialect_t *d, const char *fixture, int tools,
    int reasoning)
{
    int                  rc;
    size_t               cut;
    answer_t             direct, replayed, whole, live;
    llm_buf_t            body, out, rout, wout, lout, scratch;
    llm_sse_t            sse;
    llm_usage_t          usage;
    llm_record_t         rec;
    llm_response_t       resp, r2, r3, r4;
    llm_record_cursor_t  cur;
    live_t               l;

    memset(&body, 0, sizeof(llm_buf_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&rout, 0, sizeof(llm_buf_t));
    memset(&wout, 0, sizeof(llm_buf_t));
    memset(&lout, 0, sizeof(llm_buf_t));
    memset(&scratch, 0, sizeof(llm_buf_t));
    memset(&rec, 0, sizeof(llm_record_t));
    memset(&resp, 0, sizeof(llm_response_t));
    memset(&r2, 0, sizeof(llm_response_t));
    memset(&r3, 0, sizeof(llm_response_t));
    memset(&r4, 0, sizeof(llm_response_t));

    if (fixture_read(root, fixture, &body) != LLM_OK) {
        ok(0, "%s: read", fixture);
        return;
    }

    /* the provider's stream, as the client gets it, recorded */

    llm_response_init(&resp, "client-model", 1);
    resp.record = &rec;
    events_replay(d, &resp, &body, &out);

    ok(llm_record_complete(&rec), "%s: the record is complete", fixture);
    ok(rec.buf.len < body.len, "%s: the record (%zu bytes) is smaller than "
       "the stream (%zu)", fixture, rec.buf.len, body.len);

    ok(llm_record_usage(rec.buf.data, rec.buf.len, &usage) == LLM_OK
       && usage.total_tokens == resp.usage.total_tokens && usage.set,
       "%s: the record's usage", fixture);

    answer_stream(&direct, &out);
    ok(direct.done == 1 && (tools ? direct.ntools > 0 : direct.ntools == 0)
       && (!reasoning || direct.reasoning[0]),
       "%s: the direct stream has its parts", fixture);

    /* a stream hit */

    llm_response_init(&r2, "client-model", 1);
    memset(&cur, 0, sizeof(cur));
    rc = llm_record_replay(rec.buf.data, rec.buf.len, &cur, 1, &r2, &rout,
                           &scratch);
    ok(rc == LLM_DONE, "%s: a replay ends", fixture);

    answer_stream(&replayed, &rout);
    ok(same(&direct, &replayed, 0), "%s: a stream replay means the same",
       fixture);
    ok(replayed.chunks < direct.chunks || direct.chunks <= 4,
       "%s: in fewer chunks (%d, was %d)", fixture, replayed.chunks,
       direct.chunks);

    /* a non-stream hit */

    llm_response_init(&r3, "client-model", 0);
    llm_response_whole(&r3);
    memset(&cur, 0, sizeof(cur));
    rc = llm_record_replay(rec.buf.data, rec.buf.len, &cur, 1, &r3, &wout,
                           &scratch);
    answer_whole(&whole, &wout);
    ok(rc == LLM_DONE && same(&direct, &whole, 1),
       "%s: a whole replay means the same", fixture);

    /* live: a waiter reads the record after each provider event */

    llm_record_free(&rec);
    llm_buf_reset(&out);
    llm_response_init(&resp, "client-model", 1);
    resp.record = &rec;
    llm_response_init(&r4, "client-model", 1);

    memset(&l, 0, sizeof(live_t));
    l.d = d;
    l.resp = &resp;
    l.out = &out;
    l.rec = &rec;
    l.live = &r4;
    l.live_out = &lout;

    llm_sse_init(&sse, 0);
    llm_sse_feed(&sse, body.data, body.len, live_feed, &l);
    llm_sse_free(&sse);

    if (!resp.done) {
        d->stream_end(&resp, &out);
    }

    ok(l.errors == 0 && lout.len > 0, "%s: live replay as it grows",
       fixture);

    rc = llm_record_replay(rec.buf.data, rec.buf.len, &l.cur, 1, &r4, &lout,
                           &l.scratch);
    answer_stream(&live, &lout);
    ok(rc == LLM_DONE && same(&direct, &live, 0),
       "%s: a live replay means the same", fixture);

    llm_buf_free(&l.scratch);

    /* cut short: never complete */

    cut = body.len / 2;
    llm_record_free(&rec);
    llm_buf_reset(&out);
    llm_response_init(&resp, "client-model", 1);
    resp.record = &rec;
    body.len = cut;
    events_replay(d, &resp, &body, &out);

    ok(!llm_record_complete(&rec) && resp.failed,
       "%s: a truncated stream's record is not complete", fixture);

    llm_response_free(&resp);
    llm_response_free(&r2);
    llm_response_free(&r3);
    llm_response_free(&r4);
    llm_record_free(&rec);
    llm_buf_free(&body);
    llm_buf_free(&out);
    llm_buf_free(&rout);
    llm_buf_free(&wout);
    llm_buf_free(&lout);
    llm_buf_free(&scratch);
}


static void
test_bad_records(void)
{
    char                 junk[64];
    llm_buf_t            out, scratch;
    llm_record_t         rec;
    llm_response_t       resp;
    llm_record_cursor_t  cur;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&scratch, 0, sizeof(llm_buf_t));
    memset(&rec, 0, sizeof(llm_record_t));
    memset(&resp, 0, sizeof(llm_response_t));

    llm_response_init(&resp, "m", 0);
    memset(junk, 0x7f, sizeof(junk));
    memset(&cur, 0, sizeof(cur));

    ok(llm_record_replay(junk, sizeof(junk), &cur, 1, &resp, &out, &scratch)
       == LLM_ERROR, "junk is not a record");

    /* an error finish is not a complete answer */

    llm_response_init(&resp, "m", 0);
    llm_response_whole(&resp);
    resp.record = &rec;
    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"a\"", 3, &out);
    llm_event_finish(&resp, 0, "error", &out);
    llm_event_end(&resp, &out);

    ok(!llm_record_complete(&rec), "a finish of \"error\" is not kept");

    llm_record_reset(&rec);
    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"a\"", 3, &out);
    llm_event_finish(&resp, 0, "stop", &out);

    ok(!llm_record_complete(&rec), "no end: not kept");

    llm_response_free(&resp);
    llm_record_free(&rec);
    llm_buf_free(&out);
    llm_buf_free(&scratch);
}


int
main(int argc, char **argv)
{
    extern const llm_dialect_t  llm_dialect_openai;
    extern const llm_dialect_t  llm_dialect_anthropic;
    extern const llm_dialect_t  llm_dialect_gemini;

    if (argc > 1) {
        root = argv[1];
    }

    test_key();

    test_stream(&llm_dialect_openai, "openai/chat-tool-call.stream.sse", 1,
                0);
    test_stream(&llm_dialect_openai, "openai/chat-text-after-tool.stream.sse",
                0, 0);
    test_stream(&llm_dialect_anthropic,
                "anthropic/messages-thinking.stream.sse", 0, 1);
    test_stream(&llm_dialect_gemini, "google/tool-call.stream.sse", 1, 0);

    test_bad_records();

    return done_testing();
}
