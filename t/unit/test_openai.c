/*
 * Unit tests for the "openai" dialect (src/core/llm_openai.c,
 * src/core/llm_response.c), replaying the real provider recordings in
 * t/fixtures/{openai,groq,xai,mistral,deepseek}.
 *
 * Streams are checked the way a client sees them: the output SSE is
 * accumulated like the OpenAI Python SDK does (content and reasoning
 * concatenated, tool calls merged by index) and compared to the same
 * accumulation of the provider's own chunks; every output chunk is also
 * compared to its provider chunk, normalized as the dialect promises.
 *
 * usage: test_openai [repo-root]   (or LLM_REPO=repo-root)
 */

#define _GNU_SOURCE      /* memmem() */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/llm_openai.h"
#include "../../src/core/llm_sse.h"
#include "tap.h"
#include "fixture.h"


/* a name that needs escaping, to catch raw splicing */
#define CLIENT_MODEL  "client/model \"q\""
#define MAX_TOOLS     8


static const char  *root = ".";

static unsigned long long  rnd_state = 0x2545f4914f6cdd1dULL;


/* one upstream event as the provider meant it */

typedef struct {
    cJSON         *json;        /* NULL for [DONE] or unparsable data */
    int            done;
    int            error;       /* "event: error" */
} up_event_t;


typedef struct {
    up_event_t    *ev;
    int            n;
} up_t;


/* the client's view of the output: one entry per SSE frame */

typedef struct {
    cJSON        **json;        /* NULL for [DONE] */
    int            n;
    int            done;        /* [DONE] frames */
    int            bad;         /* frames that are not data: <JSON>\n\n */
} frames_t;


/* what the OpenAI SDK builds from a stream */

typedef struct {
    int            seen;
    llm_buf_t      id;
    llm_buf_t      type;
    llm_buf_t      name;
    llm_buf_t      args;
} acc_tool_t;


typedef struct {
    llm_buf_t      content;
    llm_buf_t      reasoning;
    acc_tool_t     tools[MAX_TOOLS];
    int            ntools;
    int            bad_index;      /* tool call deltas without index */
    int            reasoning_key;  /* deltas with Groq's "reasoning" */
    char           finish_reason[32];
    cJSON         *usage;          /* the last one */
    int            usage_chunks;   /* chunks with a non-null usage */
    int            bad_model;      /* chunks with another model */
    int            chunks;
} acc_t;


/* a dialect run */

typedef struct {
    llm_response_t  resp;
    llm_buf_t       out;
    int             errors;     /* stream_event returned LLM_ERROR */
    int             end_rc;
} run_t;


/* reproducible pseudo-random numbers below n, from this file's seed */
#define rnd(n)  tap_rnd(&rnd_state, n)


/* the fixtures under this run's repository root */
#define read_file(rel, b)  fixture_read(root, rel, b)


/* the body as the provider sends it: .sse as is, .jsonl framed */

static int
frame_fixture(const char *rel, llm_buf_t *body)
{
    char       *p, *end, *eol;
    llm_buf_t   raw;

    if (!ends_with(rel, ".jsonl")) {
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
            llm_buf_append_lit(body, "data: ");
            llm_buf_append(body, p, eol - p);
            llm_buf_append_lit(body, "\n\n");
        }

        p = eol + 1;
    }

    llm_buf_append_lit(body, "data: [DONE]\n\n");
    llm_buf_free(&raw);

    return LLM_OK;
}


/*
 * The provider's events, read independently of llm_sse: these fixtures
 * have LF line ends and one data line per event.
 */

static void
up_parse(up_t *u, const char *p, size_t n)
{
    int          is_error;
    const char  *end, *eol;
    up_event_t  *e;

    memset(u, 0, sizeof(up_t));

    u->ev = calloc(n / 8 + 1, sizeof(up_event_t));
    end = p + n;
    is_error = 0;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if (eol - p > 7 && memcmp(p, "event: ", 7) == 0) {
            is_error = (eol - p == 12 && memcmp(p + 7, "error", 5) == 0);

        } else if (eol - p >= 6 && memcmp(p, "data: ", 6) == 0) {
            e = &u->ev[u->n++];
            e->error = is_error;
            e->done = (eol - p == 12 && memcmp(p + 6, "[DONE]", 6) == 0);

            if (!e->done) {
                e->json = cJSON_ParseWithLength(p + 6, eol - p - 6);
            }

        } else if (eol == p) {
            is_error = 0;
        }

        p = eol + 1;
    }
}


static void
up_free(up_t *u)
{
    int  i;

    for (i = 0; i < u->n; i++) {
        cJSON_Delete(u->ev[i].json);
    }

    free(u->ev);
}


static void
frames_parse(frames_t *f, const char *p, size_t n)
{
    cJSON       *j;
    const char  *end, *eol;

    memset(f, 0, sizeof(frames_t));

    f->json = calloc(n / 8 + 1, sizeof(cJSON *));
    end = p + n;

    while (p < end) {
        if (end - p < 8 || memcmp(p, "data: ", 6) != 0) {
            f->bad++;
            return;
        }

        p += 6;
        eol = memchr(p, '\n', end - p);

        if (eol == NULL || eol + 1 >= end || eol[1] != '\n'
            || memchr(p, '\r', eol - p) != NULL)
        {
            f->bad++;
            return;
        }

        if (eol - p == 6 && memcmp(p, "[DONE]", 6) == 0) {
            f->json[f->n++] = NULL;
            f->done++;

        } else {
            j = cJSON_ParseWithLength(p, eol - p);

            if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                f->bad++;

            } else {
                f->json[f->n++] = j;
            }
        }

        p = eol + 2;
    }
}


static void
frames_free(frames_t *f)
{
    int  i;

    for (i = 0; i < f->n; i++) {
        cJSON_Delete(f->json[i]);
    }

    free(f->json);
}


/* the frame is {"error":{...}} */

static cJSON *
frame_error(cJSON *j)
{
    return cJSON_GetObjectItemCaseSensitive(j, "error");
}


static const char *
str(cJSON *obj, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


static cJSON *
obj(cJSON *j, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(j, name);

    return cJSON_IsObject(v) ? v : NULL;
}


static long long
num(cJSON *j, const char *name)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(j, name);

    return cJSON_IsNumber(v) ? (long long) v->valuedouble : 0;
}


/* the usage object of a provider chunk: top level, else Groq's x_groq */

static cJSON *
up_usage(cJSON *j)
{
    cJSON  *u;

    u = obj(j, "usage");

    return u ? u : obj(obj(j, "x_groq"), "usage");
}


static void
buf_set(llm_buf_t *b, const char *s)
{
    b->len = 0;
    llm_buf_append_cstr(b, s);
}


/*
 * One chunk into the accumulator.  provider: the chunk is the provider's
 * own, so Mistral's missing tool call index is filled in by order and
 * Groq's delta.reasoning counts as reasoning_content.
 */

static void
acc_chunk(acc_t *a, cJSON *j, int provider)
{
    int          idx;
    cJSON       *choice, *delta, *call, *fn, *v, *usage;
    acc_tool_t  *t;
    const char  *s, *model;

    a->chunks++;

    model = str(j, "model");
    if (!provider && (model == NULL || strcmp(model, CLIENT_MODEL) != 0)) {
        a->bad_model++;
    }

    usage = provider ? up_usage(j) : obj(j, "usage");

    if (usage) {
        cJSON_Delete(a->usage);
        a->usage = cJSON_Duplicate(usage, 1);
        a->usage_chunks++;
    }

    cJSON_ArrayForEach(choice, cJSON_GetObjectItemCaseSensitive(j,
                                                                "choices"))
    {
        s = str(choice, "finish_reason");
        if (s) {
            snprintf(a->finish_reason, sizeof(a->finish_reason), "%s", s);
        }

        delta = obj(choice, "delta");
        if (delta == NULL) {
            continue;
        }

        if ((s = str(delta, "content")) != NULL) {
            llm_buf_append_cstr(&a->content, s);
        }

        if ((s = str(delta, "reasoning_content")) != NULL) {
            llm_buf_append_cstr(&a->reasoning, s);

        } else if ((s = str(delta, "reasoning")) != NULL) {
            if (provider) {
                llm_buf_append_cstr(&a->reasoning, s);
            }
        }

        if (cJSON_GetObjectItemCaseSensitive(delta, "reasoning")) {
            a->reasoning_key++;
        }

        cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(delta,
                                                               "tool_calls"))
        {
            v = cJSON_GetObjectItemCaseSensitive(call, "index");

            if (cJSON_IsNumber(v)) {
                idx = v->valueint;

            } else if (provider) {
                /* Mistral: an id starts a call, no id continues it */
                idx = cJSON_GetObjectItemCaseSensitive(call, "id")
                      ? a->ntools : a->ntools - 1;

            } else {
                a->bad_index++;
                continue;
            }

            if (idx < 0 || idx >= MAX_TOOLS) {
                a->bad_index++;
                continue;
            }

            if (idx >= a->ntools) {
                a->ntools = idx + 1;
            }

            t = &a->tools[idx];
            fn = obj(call, "function");

            if (!t->seen) {
                t->seen = 1;

                if ((s = str(call, "id")) != NULL) {
                    buf_set(&t->id, s);
                }

                if ((s = str(call, "type")) != NULL) {
                    buf_set(&t->type, s);
                }

                if ((s = str(fn, "name")) != NULL) {
                    buf_set(&t->name, s);
                }
            }

            if ((s = str(fn, "arguments")) != NULL) {
                llm_buf_append_cstr(&t->args, s);
            }
        }
    }
}


static void
acc_free(acc_t *a)
{
    int  i;

    llm_buf_free(&a->content);
    llm_buf_free(&a->reasoning);

    for (i = 0; i < MAX_TOOLS; i++) {
        llm_buf_free(&a->tools[i].id);
        llm_buf_free(&a->tools[i].type);
        llm_buf_free(&a->tools[i].name);
        llm_buf_free(&a->tools[i].args);
    }

    cJSON_Delete(a->usage);
}


static int
buf_eq(llm_buf_t *a, llm_buf_t *b)
{
    return a->len == b->len && (a->len == 0
                                || memcmp(a->data, b->data, a->len) == 0);
}


/* arguments that parse compare as JSON, the rest byte for byte */

static int
args_eq(llm_buf_t *a, llm_buf_t *b)
{
    int     rc;
    cJSON  *ja, *jb;

    ja = cJSON_ParseWithLength(a->data ? a->data : "", a->len);
    jb = cJSON_ParseWithLength(b->data ? b->data : "", b->len);

    rc = (ja && jb) ? cJSON_Compare(ja, jb, 1) : buf_eq(a, b);

    cJSON_Delete(ja);
    cJSON_Delete(jb);

    return rc;
}


/* the tool calls of the output equal the provider's, type "function" */

static int
tools_eq(acc_t *out, acc_t *up)
{
    int          i;
    acc_tool_t  *o, *u;

    if (out->ntools != up->ntools) {
        diag("tool calls: %d, expected %d", out->ntools, up->ntools);
        return 0;
    }

    for (i = 0; i < out->ntools; i++) {
        o = &out->tools[i];
        u = &up->tools[i];

        if (!buf_eq(&o->id, &u->id) || !buf_eq(&o->name, &u->name)
            || !args_eq(&o->args, &u->args)
            || o->type.len != 8 || memcmp(o->type.data, "function", 8) != 0
            || (u->type.len && !buf_eq(&o->type, &u->type)))
        {
            diag("tool call %d: id '%.*s' name '%.*s' type '%.*s' "
                 "args '%.*s'", i, (int) o->id.len, o->id.data,
                 (int) o->name.len, o->name.data, (int) o->type.len,
                 o->type.data, (int) o->args.len, o->args.data);
            diag("  expected: id '%.*s' name '%.*s' args '%.*s'",
                 (int) u->id.len, u->id.data, (int) u->name.len,
                 u->name.data, (int) u->args.len, u->args.data);
            return 0;
        }
    }

    return 1;
}


/*
 * What the dialect promises for a provider chunk: the client's model, no
 * usage on chunks with choices, delta.reasoning as reasoning_content,
 * tool calls with an index and a type.
 */

static void
normalize_delta(cJSON *delta, int *ntools)
{
    int     idx;
    cJSON  *v, *call;

    v = cJSON_GetObjectItemCaseSensitive(delta, "reasoning");

    if (cJSON_IsString(v)
        && cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content")
           == NULL)
    {
        cJSON_AddStringToObject(delta, "reasoning_content", v->valuestring);
        cJSON_DeleteItemFromObjectCaseSensitive(delta, "reasoning");
    }

    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(delta,
                                                              "tool_calls"))
    {
        v = cJSON_GetObjectItemCaseSensitive(call, "index");

        if (cJSON_IsNumber(v)) {
            if (v->valueint >= *ntools) {
                *ntools = v->valueint + 1;
            }

            continue;
        }

        if (cJSON_GetObjectItemCaseSensitive(call, "id")) {
            idx = (*ntools)++;

            if (cJSON_GetObjectItemCaseSensitive(call, "type") == NULL) {
                cJSON_AddStringToObject(call, "type", "function");
            }

        } else {
            idx = *ntools ? *ntools - 1 : 0;
        }

        cJSON_AddNumberToObject(call, "index", idx);
    }
}


/* the expected output frames; NULL is [DONE], {"error":..} an error */

static int
expect_build(up_t *u, int include_usage, cJSON **x, int max)
{
    int          i, n, ntools, usage_sent;
    cJSON       *j, *choices, *choice, *usage, *last_usage, *first;

    n = 0;
    ntools = 0;
    usage_sent = 0;
    last_usage = NULL;
    first = NULL;

    for (i = 0; i < u->n && n < max - 2; i++) {

        if (u->ev[i].done) {
            break;
        }

        j = u->ev[i].json;

        if (j == NULL || u->ev[i].error
            || (cJSON_GetObjectItemCaseSensitive(j, "error")
                && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
                                                                  "error"))))
        {
            x[n++] = cJSON_Duplicate(j, 1);
            x[n++] = NULL;
            return n;
        }

        if (first == NULL && str(j, "id")) {
            first = j;
        }

        usage = up_usage(j);
        if (usage) {
            last_usage = usage;
        }

        j = cJSON_Duplicate(j, 1);
        choices = cJSON_GetObjectItemCaseSensitive(j, "choices");

        if (cJSON_GetArraySize(choices) == 0) {
            if (obj(j, "usage")) {
                if (!include_usage || usage_sent) {
                    cJSON_Delete(j);
                    continue;
                }

                usage_sent = 1;
            }

        } else {
            cJSON_ArrayForEach(choice, choices) {
                normalize_delta(obj(choice, "delta"), &ntools);
            }

            if (obj(j, "usage")) {
                cJSON_DeleteItemFromObjectCaseSensitive(j, "usage");
            }
        }

        if (cJSON_GetObjectItemCaseSensitive(j, "model")) {
            cJSON_ReplaceItemInObjectCaseSensitive(j, "model",
                                            cJSON_CreateString(CLIENT_MODEL));
        } else {
            cJSON_AddStringToObject(j, "model", CLIENT_MODEL);
        }

        x[n++] = j;
    }

    if (i == u->n) {
        /* no [DONE]: the caller expects the truncation error */
        return n;
    }

    if (include_usage && last_usage && !usage_sent) {
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", first ? str(first, "id") : "");
        cJSON_AddStringToObject(j, "object", "chat.completion.chunk");
        cJSON_AddNumberToObject(j, "created", first ? num(first, "created")
                                                    : -1);
        cJSON_AddStringToObject(j, "model", CLIENT_MODEL);
        cJSON_AddItemToObject(j, "choices", cJSON_CreateArray());
        cJSON_AddItemToObject(j, "usage", cJSON_Duplicate(last_usage, 1));
        x[n++] = j;
    }

    x[n++] = NULL;

    return n;
}


static int
on_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    int     rc;
    run_t  *r = data;

    rc = llm_dialect_openai.stream_event(&r->resp, event, event_len, payload,
                                         payload_len, &r->out);

    if (rc == LLM_ERROR) {
        r->errors++;
        return LLM_ERROR;
    }

    return (rc == LLM_DONE) ? LLM_DONE : LLM_OK;
}


/*
 * Feeds p[0..limit) in pieces (step 0: one piece, step -1: random sizes),
 * each a heap copy freed after the feed, as the nginx glue does: nothing
 * more once the response is done.  Then stream_end.
 */

static void
run_stream(run_t *r, const char *p, size_t limit, long step,
    int include_usage)
{
    char       *copy;
    size_t      off, len;
    llm_sse_t   sse;

    memset(r, 0, sizeof(run_t));
    llm_response_init(&r->resp, CLIENT_MODEL, include_usage);
    llm_sse_init(&sse, 0);

    for (off = 0; off < limit && !r->resp.done; off += len) {

        if (step == 0) {
            len = limit;

        } else if (step < 0) {
            len = 1 + rnd(300);

        } else {
            len = (size_t) step;
        }

        if (len > limit - off) {
            len = limit - off;
        }

        copy = malloc(len);
        memcpy(copy, p + off, len);

        if (llm_sse_feed(&sse, copy, len, on_event, r) < 0) {
            r->errors++;
        }

        free(copy);
    }

    r->end_rc = llm_dialect_openai.stream_end(&r->resp, &r->out);

    llm_sse_free(&sse);
}


static void
run_free(run_t *r)
{
    llm_response_free(&r->resp);
    llm_buf_free(&r->out);
}


static int
out_eq(run_t *a, run_t *b)
{
    return buf_eq(&a->out, &b->out);
}


/* the frames end with one error frame of this code, then [DONE] */

static int
ends_with_error(frames_t *f, const char *code)
{
    const char  *c;

    if (f->bad || f->done != 1 || f->n < 2 || f->json[f->n - 1] != NULL) {
        return 0;
    }

    c = str(frame_error(f->json[f->n - 2]), "code");

    return c != NULL && strcmp(c, code) == 0
           && cJSON_GetArraySize(f->json[f->n - 2]) == 1
           && cJSON_GetArraySize(frame_error(f->json[f->n - 2])) == 4;
}


static void
diag_json(const char *what, cJSON *j)
{
    char  *s;

    s = j ? cJSON_PrintUnformatted(j) : NULL;
    diag("%s: %.600s", what, s ? s : "[DONE]");
    free(s);
}


/* the last 400 bytes of a buffer, line ends shown as \n */

static void
diag_tail(const char *what, llm_buf_t *b)
{
    char    tmp[1000], *d;
    size_t  n, i;

    n = b->len > 400 ? 400 : b->len;
    d = tmp;

    for (i = b->len - n; i < b->len; i++) {
        if (b->data[i] == '\n') {
            *d++ = '\\';
            *d++ = 'n';

        } else {
            *d++ = b->data[i];
        }
    }

    diag("%s: ...%.*s", what, (int) (d - tmp), tmp);
}


static int
usage_eq(llm_usage_t *got, cJSON *u)
{
    long long  total;

    total = num(u, "total_tokens");
    if (total == 0) {
        total = num(u, "prompt_tokens") + num(u, "completion_tokens");
    }

    if (got->set
        && got->prompt_tokens == num(u, "prompt_tokens")
        && got->completion_tokens == num(u, "completion_tokens")
        && got->total_tokens == total
        && got->cached_tokens == num(obj(u, "prompt_tokens_details"),
                                     "cached_tokens")
        && got->reasoning_tokens == num(obj(u, "completion_tokens_details"),
                                        "reasoning_tokens"))
    {
        return 1;
    }

    diag("usage: set %d, %lld/%lld/%lld cached %lld reasoning %lld",
         got->set, got->prompt_tokens, got->completion_tokens,
         got->total_tokens, got->cached_tokens, got->reasoning_tokens);
    diag_json("expected", u);

    return 0;
}


/* one fixture, one include_usage setting */

static void
test_stream_fixture(const char *rel, int include_usage)
{
    int          i, n, bad, usage_at, errors;
    cJSON      **x, *u, *err, *c;
    up_t         up;
    acc_t        acc_out, acc_up;
    run_t        whole, bytes, rnds, half;
    frames_t     f, fh;
    llm_buf_t    body;
    const char  *tag;

    memset(&body, 0, sizeof(llm_buf_t));

    if (frame_fixture(rel, &body) != LLM_OK) {
        ok(0, "%s: read", rel);
        llm_buf_free(&body);
        return;
    }

    tag = include_usage ? "usage" : "no usage";

    up_parse(&up, body.data, body.len);

    if (!ok(up.n > 0, "%s (%s): %d provider events", rel, tag, up.n)) {
        up_free(&up);
        llm_buf_free(&body);
        return;
    }

    run_stream(&whole, body.data, body.len, 0, include_usage);
    frames_parse(&f, whole.out.data, whole.out.len);

    /* the SSE is well formed and ends with one [DONE] */

    if (!ok(f.bad == 0 && f.done == 1 && f.n > 0
            && f.json[f.n - 1] == NULL && whole.errors == 0
            && whole.end_rc == LLM_DONE && whole.resp.done,
            "%s (%s): frames are data: JSON, one [DONE] at the end",
            rel, tag))
    {
        diag("bad %d, done %d, frames %d, errors %d, end_rc %d", f.bad,
             f.done, f.n, whole.errors, whole.end_rc);
        diag_tail("output", &whole.out);
    }

    /* chunk by chunk */

    x = calloc(up.n + 2, sizeof(cJSON *));
    n = expect_build(&up, include_usage, x, up.n + 2);
    bad = (n != f.n);

    for (i = 0; i < n && i < f.n; i++) {

        if (x[i] && frame_error(x[i])) {
            /* compared below */
            err = frame_error(f.json[i]);
            bad += (f.json[i] == NULL || err == NULL);
            continue;
        }

        if ((x[i] == NULL) != (f.json[i] == NULL)
            || (x[i] && !cJSON_Compare(x[i], f.json[i], 1)))
        {
            if (bad++ == 0) {
                diag("frame %d differs", i);
                diag_json("     got", f.json[i]);
                diag_json("expected", x[i]);
            }
        }
    }

    if (!ok(bad == 0, "%s (%s): every chunk is the provider's, "
            "normalized", rel, tag))
    {
        diag("frames %d, expected %d", f.n, n);
    }

    /* accumulated like the SDK */

    memset(&acc_out, 0, sizeof(acc_t));
    memset(&acc_up, 0, sizeof(acc_t));

    for (i = 0; i < f.n; i++) {
        if (f.json[i] && !frame_error(f.json[i])) {
            acc_chunk(&acc_out, f.json[i], 0);
        }
    }

    for (i = 0; i < up.n && !up.ev[i].done; i++) {
        if (up.ev[i].json && !up.ev[i].error
            && !frame_error(up.ev[i].json))
        {
            acc_chunk(&acc_up, up.ev[i].json, 1);
        }
    }

    ok(acc_out.bad_model == 0 && acc_out.chunks > 0,
       "%s (%s): every chunk has the client's model", rel, tag);

    if (!ok(buf_eq(&acc_out.content, &acc_up.content),
            "%s (%s): content", rel, tag))
    {
        diag("got '%.*s'", (int) acc_out.content.len, acc_out.content.data);
        diag("expected '%.*s'", (int) acc_up.content.len,
             acc_up.content.data);
    }

    ok(buf_eq(&acc_out.reasoning, &acc_up.reasoning)
       && acc_out.reasoning_key == 0,
       "%s (%s): reasoning_content (%zu bytes)", rel, tag,
       acc_up.reasoning.len);

    ok(acc_out.bad_index == 0 && tools_eq(&acc_out, &acc_up),
       "%s (%s): %d tool call(s)", rel, tag, acc_up.ntools);

    if (!ok(strcmp(acc_out.finish_reason, acc_up.finish_reason) == 0
            && strcmp(whole.resp.finish_reason, acc_up.finish_reason) == 0,
            "%s (%s): finish_reason '%s'", rel, tag, acc_up.finish_reason))
    {
        diag("got '%s' in the stream, '%s' in resp",
             acc_out.finish_reason, whole.resp.finish_reason);
    }

    /* usage: one chunk with choices [] just before [DONE], or none */

    usage_at = -1;

    for (i = 0; i < f.n; i++) {
        if (f.json[i] && obj(f.json[i], "usage")) {
            usage_at = i;
        }
    }

    if (include_usage && acc_up.usage) {
        u = usage_at >= 0 ? f.json[usage_at] : NULL;
        c = cJSON_GetObjectItemCaseSensitive(u, "choices");

        if (!ok(acc_out.usage_chunks == 1 && usage_at == f.n - 2
                && cJSON_IsArray(c) && cJSON_GetArraySize(c) == 0
                && cJSON_Compare(obj(u, "usage"), acc_up.usage, 1),
                "%s (%s): one usage chunk, choices [], before [DONE], "
                "the provider's numbers", rel, tag))
        {
            diag("usage chunks %d, at %d of %d", acc_out.usage_chunks,
                 usage_at, f.n);
            diag_json("got", u);
            diag_json("expected usage", acc_up.usage);
        }

    } else {
        ok(acc_out.usage_chunks == 0, "%s (%s): no usage chunk", rel, tag);
    }

    if (acc_up.usage) {
        ok(usage_eq(&whole.resp.usage, acc_up.usage),
           "%s (%s): resp->usage", rel, tag);

    } else {
        ok(!whole.resp.usage.set, "%s (%s): resp->usage not set", rel, tag);
    }

    ok(whole.resp.first_token
       == (acc_up.content.len || acc_up.reasoning.len || acc_up.ntools),
       "%s (%s): resp->first_token", rel, tag);

    /* an in-band error ends the stream with the provider's words */

    err = (n >= 2 && x[n - 2]) ? frame_error(x[n - 2]) : NULL;

    if (err || up.ev[up.n - 1].error) {
        ok(ends_with_error(&f, str(err, "code") ? str(err, "code") : "")
           && whole.resp.failed
           && strcmp(str(frame_error(f.json[f.n - 2]), "message"),
                     str(err, "message")) == 0,
           "%s (%s): error frame with the provider's message and code, "
           "[DONE]", rel, tag);

    } else {
        ok(!whole.resp.failed, "%s (%s): not failed", rel, tag);
    }

    /* any split of the input gives the same bytes */

    run_stream(&bytes, body.data, body.len, 1, include_usage);
    run_stream(&rnds, body.data, body.len, -1, include_usage);

    ok(out_eq(&whole, &bytes) && out_eq(&whole, &rnds)
       && bytes.errors == 0 && rnds.errors == 0,
       "%s (%s): byte by byte and random pieces give the same output",
       rel, tag);

    /* cut in the middle */

    run_stream(&half, body.data, body.len / 2, 0, include_usage);
    frames_parse(&fh, half.out.data, half.out.len);

    errors = half.errors;

    if (!ok(ends_with_error(&fh, "stream_truncated") && errors == 0
            && half.resp.failed && half.resp.error.status == 502,
            "%s (%s): cut in half: stream_truncated error, [DONE]",
            rel, tag))
    {
        diag_tail("output", &half.out);
    }

    frames_free(&fh);
    run_free(&half);
    run_free(&bytes);
    run_free(&rnds);

    for (i = 0; i < n; i++) {
        cJSON_Delete(x[i]);
    }

    free(x);
    acc_free(&acc_out);
    acc_free(&acc_up);
    frames_free(&f);
    run_free(&whole);
    up_free(&up);
    llm_buf_free(&body);
}


static int
fixture_filter(const struct dirent *d)
{
    return ends_with(d->d_name, ".sse") || ends_with(d->d_name, ".jsonl");
}


static void
test_stream_fixtures(void)
{
    int              i, k, n, total;
    char             dir[1024], rel[512];
    struct dirent  **names;

    static const char  *providers[] = {
        "openai", "groq", "xai", "mistral", "deepseek", NULL
    };

    total = 0;

    for (k = 0; providers[k]; k++) {
        snprintf(dir, sizeof(dir), "%s/t/fixtures/%s", root, providers[k]);

        n = scandir(dir, &names, fixture_filter, alphasort);
        if (n < 0) {
            ok(0, "scandir %s", dir);
            continue;
        }

        for (i = 0; i < n; i++) {
            snprintf(rel, sizeof(rel), "%s/%s", providers[k],
                     names[i]->d_name);

            test_stream_fixture(rel, 1);
            test_stream_fixture(rel, 0);

            free(names[i]);
            total++;
        }

        free(names);
    }

    ok(total >= 11, "%d stream fixtures replayed", total);
}


/* a body in one piece */

static void
run_body(run_t *r, const char *body, int include_usage)
{
    run_stream(r, body, strlen(body), 0, include_usage);
}


static void
test_groq_error_event(void)
{
    run_t        r;
    cJSON       *err;
    frames_t     f;
    llm_buf_t    body;

    memset(&body, 0, sizeof(llm_buf_t));

    if (read_file("groq/chat-stream-error-event.sse", &body) != LLM_OK) {
        ok(0, "read groq/chat-stream-error-event.sse");
        return;
    }

    run_stream(&r, body.data, body.len, 0, 1);
    frames_parse(&f, r.out.data, r.out.len);

    err = f.n >= 2 ? frame_error(f.json[f.n - 2]) : NULL;

    ok(ends_with_error(&f, "tool_use_failed"),
       "groq error event: error frame, code tool_use_failed, [DONE]");
    ok(str(err, "message")
       && strncmp(str(err, "message"), "Tool call validation failed: tool "
                  "call validation failed: parameters for tool "
                  "get_something_by_name did not match schema", 100) == 0,
       "groq error event: Groq's message");
    ok(str(err, "type") && strcmp(str(err, "type"),
                                  "invalid_request_error") == 0
       && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(err, "param")),
       "groq error event: status_code 400 -> invalid_request_error");
    ok(r.resp.failed && r.resp.done && r.resp.error.status == 400
       && strcmp(r.resp.error.code, "tool_use_failed") == 0,
       "groq error event: resp->failed, status 400");
    ok(r.resp.first_token, "groq error event: reasoning came first");

    frames_free(&f);
    run_free(&r);
    llm_buf_free(&body);
}


/* choices[0].delta.tool_calls[0] of a chunk */

static cJSON *
first_call(cJSON *chunk)
{
    cJSON  *choice, *delta;

    choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(chunk,
                                                                 "choices"),
                                0);
    delta = obj(choice, "delta");

    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(delta,
                                                               "tool_calls"),
                              0);
}


#define CHUNK(id, delta)                                                     \
    "data: {\"id\":\"" id "\",\"object\":\"chat.completion.chunk\","         \
    "\"created\":7,\"model\":\"up\",\"choices\":[{\"index\":0,"              \
    "\"delta\":" delta ",\"finish_reason\":null}]}\n\n"


static void
test_stream_unfit(void)
{
    size_t     i;
    run_t      r;
    char       body[512];
    frames_t   f;

    static const struct {
        const char  *what;
        const char  *event;
    }  unfit[] = {
        { "choices a string", "data: {\"id\":\"a\",\"model\":\"m\","
          "\"choices\":\"nope\"}\n\n" },
        { "choices of numbers", "data: {\"id\":\"a\",\"model\":\"m\","
          "\"choices\":[1]}\n\n" },
        { "a delta not an object", "data: {\"id\":\"a\",\"model\":"
          "\"m\",\"choices\":[{\"index\":0,\"delta\":\"x\"}]}\n\n" },
        { "no choices, no usage", "data: {\"id\":\"a\",\"model\":"
          "\"m\"}\n\n" },
        { "invalid UTF-8", CHUNK("a", "{\"content\":\"\xff\xfe\"}") },
        { "invalid UTF-8 on the slow path", "data: {\"id\":\"a\",\"model\":"
          "\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":"
          "\"\xc0\xaf\"}}]}\n\n" },
        { "invalid UTF-8 in an error event", "event: error\ndata: "
          "{\"error\":{\"message\":\"\xed\xa0\x80\"}}\n\n" },
    };

    for (i = 0; i < sizeof(unfit) / sizeof(unfit[0]); i++) {
        snprintf(body, sizeof(body), "%s%s%s",
                 CHUNK("a", "{\"content\":\"hi\"}"), unfit[i].event,
                 CHUNK("a", "{\"content\":\" there\"}") "data: [DONE]\n\n");

        run_body(&r, body, 1);
        frames_parse(&f, r.out.data, r.out.len);

        if (!ok(f.n == 3 && f.json[0]
                && ends_with_error(&f, "invalid_upstream_response")
                && r.resp.failed && r.resp.error.status == 502
                && memchr(r.out.data, 0xff, r.out.len) == NULL
                && memchr(r.out.data, 0xc0, r.out.len) == NULL
                && memchr(r.out.data, 0xed, r.out.len) == NULL,
                "%s: the chunk before, error frame, [DONE], no more",
                unfit[i].what))
        {
            diag("%.*s", (int) r.out.len, r.out.data);
        }

        frames_free(&f);
        run_free(&r);
    }

    /* a usage chunk may have no choices, or null ones */

    run_body(&r, "data: {\"id\":\"a\",\"model\":\"m\",\"choices\":null,"
                 "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,"
                 "\"total_tokens\":3}}\n\ndata: [DONE]\n\n", 1);
    ok(!r.resp.failed && r.resp.usage.total_tokens == 3,
       "usage chunk with null choices: accepted");
    run_free(&r);

    run_body(&r, "data: {\"id\":\"a\",\"model\":\"m\",\"usage\":"
                 "{\"prompt_tokens\":1,\"completion_tokens\":2,"
                 "\"total_tokens\":3}}\n\ndata: [DONE]\n\n", 1);
    ok(!r.resp.failed && r.resp.usage.total_tokens == 3,
       "usage chunk without choices: accepted");
    run_free(&r);
}


static void
test_stream_edges(void)
{
    run_t        r;
    cJSON       *err, *call;
    frames_t     f;
    const char  *s;

    /* a malformed event */

    run_body(&r, CHUNK("a", "{\"content\":\"hi\"}")
                 "data: {not json\n\n"
                 CHUNK("a", "{\"content\":\" there\"}")
                 "data: [DONE]\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);

    ok(f.n == 3 && f.json[0] && ends_with_error(&f,
                                                "invalid_upstream_response")
       && r.resp.failed && r.resp.error.status == 502 && r.errors == 0,
       "malformed event: the chunk before, error frame, [DONE], no more");

    frames_free(&f);
    run_free(&r);

    /* a data payload that is JSON but not an object */

    run_body(&r, "data: [1,2]\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 2 && ends_with_error(&f, "invalid_upstream_response"),
       "array event: error frame, [DONE]");
    frames_free(&f);
    run_free(&r);

    /*
     * What is relayed meets the bar of what is translated: valid UTF-8
     * and the shape of a chunk, else an error frame ends the stream.
     */

    test_stream_unfit();

    /* an empty data line */

    run_body(&r, "data:\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 2 && ends_with_error(&f, "invalid_upstream_response"),
       "empty event: error frame, [DONE]");
    frames_free(&f);
    run_free(&r);

    /* nothing at all */

    run_body(&r, "", 1);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 2 && ends_with_error(&f, "stream_truncated")
       && r.end_rc == LLM_DONE && r.resp.failed,
       "empty body: stream_truncated, [DONE]");
    frames_free(&f);
    run_free(&r);

    /* [DONE] only */

    run_body(&r, "data: [DONE]\n\n", 1);
    is_str(r.out.data, r.out.len, "data: [DONE]\n\n", "[DONE] only");
    ok(r.resp.done && !r.resp.failed && !r.resp.usage.set,
       "[DONE] only: done, no usage");
    run_free(&r);

    /* everything after [DONE] is ignored, stream_end adds nothing */

    run_body(&r, "data: [DONE]\n\n" CHUNK("a", "{\"content\":\"x\"}")
                 "data: [DONE]\n\n", 1);
    is_str(r.out.data, r.out.len, "data: [DONE]\n\n",
           "events after [DONE] are ignored");
    ok(r.end_rc == LLM_DONE && llm_dialect_openai.stream_end(&r.resp, &r.out)
       == LLM_DONE && r.out.len == 14, "stream_end after [DONE]: nothing");
    run_free(&r);

    /* OpenAI in-band error */

    run_body(&r, CHUNK("a", "{\"content\":\"x\"}")
                 "data: {\"error\":{\"message\":\"The server had an error\","
                 "\"type\":\"server_error\",\"param\":null,"
                 "\"code\":null}}\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    err = f.n >= 2 ? frame_error(f.json[f.n - 2]) : NULL;

    ok(ends_with_error(&f, "server_error")
       && strcmp(str(err, "message"), "The server had an error") == 0
       && strcmp(str(err, "type"), "api_error") == 0
       && r.resp.failed && r.resp.error.status == 500,
       "OpenAI in-band error: api_error, code server_error, [DONE]");
    frames_free(&f);
    run_free(&r);

    /* event: error without an error object */

    run_body(&r, "event: error\ndata: {\"oops\":1}\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    err = f.n >= 2 ? frame_error(f.json[f.n - 2]) : NULL;
    ok(f.n == 2 && f.json[1] == NULL && err && str(err, "message")
       && r.resp.failed,
       "event: error with no error object: a generic error frame");
    frames_free(&f);
    run_free(&r);

    /* comments (DeepSeek keep-alives) and other event names */

    run_body(&r, ": keep-alive\n\n"
                 "event: message\n" CHUNK("a", "{\"content\":\"x\"}")
                 ": keep-alive\n\n"
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 2 && f.bad == 0 && f.json[0]
       && strcmp(str(f.json[0], "model"), CLIENT_MODEL) == 0,
       "comments dropped, event: message passed through");
    frames_free(&f);
    run_free(&r);

    /* a chunk without model gets one; spaces around the colon */

    run_body(&r, "data: {\"id\":\"a\",\"choices\":[]}\n\n"
                 "data: {\"id\":\"a\",\"model\" : \"up\",\"choices\":[]}\n\n"
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 3 && f.bad == 0
       && strcmp(str(f.json[0], "model"), CLIENT_MODEL) == 0
       && strcmp(str(f.json[1], "model"), CLIENT_MODEL) == 0,
       "model added when missing, replaced with spaces around ':'");
    frames_free(&f);
    run_free(&r);

    /* Mistral: a call without index gets index 0 and type function */

    run_body(&r, CHUNK("m", "{\"tool_calls\":[{\"id\":\"c1\",\"function\":"
                            "{\"name\":\"f\",\"arguments\":\"{}\"}}]}")
                 CHUNK("m", "{\"tool_calls\":[{\"id\":\"c2\",\"function\":"
                            "{\"name\":\"g\",\"arguments\":\"{\\\"a\\\"\"}}]}")
                 CHUNK("m", "{\"tool_calls\":[{\"function\":"
                            "{\"arguments\":\":1}\"}}]}")
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);

    call = f.n == 4 ? first_call(f.json[0]) : NULL;

    ok(call && num(call, "index") == 0 && str(call, "type")
       && strcmp(str(call, "type"), "function") == 0,
       "Mistral tool call: index 0, type function");

    call = f.n == 4 ? first_call(f.json[2]) : NULL;

    ok(call && num(call, "index") == 1 && str(call, "type") == NULL,
       "Mistral: a fragment continues the last call (index 1)");

    frames_free(&f);
    run_free(&r);

    /* Groq's usage in x_groq only */

    run_body(&r, "data: {\"id\":\"g\",\"model\":\"up\",\"choices\":[{"
                 "\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                 "\"x_groq\":{\"usage\":{\"prompt_tokens\":5,"
                 "\"completion_tokens\":6,\"total_tokens\":11}}}\n\n"
                 "data: [DONE]\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 3 && r.resp.usage.set && r.resp.usage.prompt_tokens == 5
       && r.resp.usage.total_tokens == 11 && f.json[1]
       && num(obj(f.json[1], "usage"), "completion_tokens") == 6,
       "usage from x_groq.usage only: counted and sent");
    frames_free(&f);
    run_free(&r);

    /* usage with include_usage=0 is not sent, but is counted */

    run_body(&r, CHUNK("u", "{\"content\":\"x\"}")
                 "data: {\"id\":\"u\",\"model\":\"up\",\"choices\":[],"
                 "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"
                 "\n\n"
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);
    ok(f.n == 2 && r.resp.usage.set && r.resp.usage.total_tokens == 7,
       "usage chunk dropped without include_usage; total = 3 + 4");
    frames_free(&f);
    run_free(&r);

    /* the synthetic usage chunk carries the first id and created */

    run_body(&r, CHUNK("first", "{\"content\":\"x\"}")
                 "data: {\"id\":\"first\",\"created\":7,\"model\":\"up\","
                 "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                 "\"length\"}],\"usage\":{\"prompt_tokens\":1,"
                 "\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
                 "data: [DONE]\n\n", 1);
    frames_parse(&f, r.out.data, r.out.len);
    s = f.n == 4 ? str(f.json[2], "id") : NULL;
    ok(s && strcmp(s, "first") == 0 && num(f.json[2], "created") == 7
       && obj(f.json[1], "usage") == NULL
       && strcmp(r.resp.finish_reason, "length") == 0,
       "usage moved from the finish chunk to its own chunk");
    frames_free(&f);
    run_free(&r);
}


/*
 * Cases where the provider's chunk is unusual but valid; each found a
 * problem in the dialect, see the comments.
 */

static void
test_stream_unusual(void)
{
    run_t      r;
    frames_t   f;

    /*
     * A nested "model" member with the same value as the top-level one
     * comes first in the bytes: only the top-level one may change.
     */

    run_body(&r, "data: {\"id\":\"a\",\"meta\":{\"model\":\"up\"},"
                 "\"model\":\"up\",\"choices\":[]}\n\n"
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);

    if (!ok(f.n == 2 && f.json[0] && str(f.json[0], "model")
            && strcmp(str(f.json[0], "model"), CLIENT_MODEL) == 0,
            "nested \"model\" before the top-level one: top-level replaced"))
    {
        diag_tail("output", &r.out);
    }

    frames_free(&f);
    run_free(&r);

    /* an event of several data lines is one line in the output */

    run_body(&r, "data: {\"id\":\"a\",\"model\":\"up\",\n"
                 "data: \"choices\":[]}\n\n"
                 "data: [DONE]\n\n", 0);
    frames_parse(&f, r.out.data, r.out.len);

    if (!ok(f.n == 2 && f.bad == 0 && f.json[0],
            "multi-line data event: one well-formed output frame"))
    {
        diag_tail("output", &r.out);
    }

    frames_free(&f);
    run_free(&r);
}


/*
 * Numbers at the edges of int and long long, each in a child process so
 * that a sanitizer abort fails one test, not the whole file.
 */

static void
test_stream_numbers(void)
{
    int        i, status;
    pid_t      pid;
    run_t      r;
    frames_t   f;

    static const struct {
        const char  *name;
        const char  *body;
    } cases[] = {
        { "tool call index 2147483647",
          CHUNK("t", "{\"tool_calls\":[{\"index\":2147483647,\"id\":\"c\","
                     "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}")
          "data: [DONE]\n\n" },
        { "tool call index 1e300",
          CHUNK("t", "{\"tool_calls\":[{\"index\":1e300}]}")
          "data: [DONE]\n\n" },
        { "usage tokens 9e18 + 9e18",
          "data: {\"id\":\"u\",\"choices\":[],\"usage\":"
          "{\"prompt_tokens\":9e18,\"completion_tokens\":9e18}}\n\n"
          "data: [DONE]\n\n" },
        { "usage tokens 1e300",
          "data: {\"id\":\"u\",\"choices\":[],\"usage\":"
          "{\"prompt_tokens\":1e300}}\n\n"
          "data: [DONE]\n\n" },
        { "created 1e300",
          "data: {\"id\":\"c\",\"created\":1e300,\"choices\":[{\"index\":0,"
          "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":"
          "{\"prompt_tokens\":1}}\n\n"
          "data: [DONE]\n\n" },
    };

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        fflush(stdout);
        fflush(stderr);

        pid = fork();

        if (pid == 0) {
            run_body(&r, cases[i].body, 1);
            frames_parse(&f, r.out.data, r.out.len);
            _exit(f.bad == 0 && f.done == 1 && r.errors == 0 ? 0 : 1);
        }

        status = -1;

        if (pid > 0) {
            waitpid(pid, &status, 0);
        }

        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "%s: no undefined behaviour, well-formed output", cases[i].name);
    }
}


static void
test_response_fixture(const char *rel)
{
    int           rc;
    cJSON        *in, *out, *u, *choice;
    llm_buf_t     body, o;
    const char   *fr;
    llm_response_t   resp;

    memset(&body, 0, sizeof(llm_buf_t));
    memset(&o, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    if (read_file(rel, &body) != LLM_OK) {
        ok(0, "%s: read", rel);
        return;
    }

    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_openai.response(&resp, body.data, body.len, &o);

    in = cJSON_ParseWithLength(body.data, body.len);
    out = cJSON_ParseWithLength(o.data ? o.data : "", o.len);

    ok(rc == LLM_OK && out != NULL && resp.done && resp.first_token,
       "%s: LLM_OK, output parses", rel);

    ok(str(out, "model") && strcmp(str(out, "model"), CLIENT_MODEL) == 0,
       "%s: model is the client's", rel);

    cJSON_ReplaceItemInObjectCaseSensitive(in, "model",
                                           cJSON_CreateString(CLIENT_MODEL));

    if (!ok(in && out && cJSON_Compare(in, out, 1),
            "%s: everything else is the provider's", rel))
    {
        diag("output: %.*s", (int) o.len, o.data);
    }

    u = up_usage(in);

    if (u) {
        ok(usage_eq(&resp.usage, u), "%s: usage", rel);

    } else {
        ok(!resp.usage.set, "%s: no usage", rel);
    }

    choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(in,
                                                                 "choices"),
                                0);
    fr = str(choice, "finish_reason");

    ok(fr && strcmp(resp.finish_reason, fr) == 0,
       "%s: finish_reason '%s'", rel, fr ? fr : "(none)");

    cJSON_Delete(in);
    cJSON_Delete(out);
    llm_response_free(&resp);
    llm_buf_free(&o);
    llm_buf_free(&body);
}


static void
response_bad(const char *name, const char *body, int status,
    const char *message)
{
    int              rc;
    llm_buf_t        o;
    llm_response_t   resp;

    memset(&o, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, CLIENT_MODEL, 0);

    rc = llm_dialect_openai.response(&resp, body, strlen(body), &o);

    if (!ok(rc == LLM_ERROR && resp.error.status == status
            && (message == NULL || strstr(resp.error.message, message)),
            "response %s: LLM_ERROR, status %d", name, status))
    {
        diag("rc %d, status %d, message '%s'", rc, resp.error.status,
             resp.error.message);
    }

    llm_response_free(&resp);
    llm_buf_free(&o);
}


static void
test_responses(void)
{
    static const char  *fixtures[] = {
        "openai/chat-text.response.json",
        "openai/chat-tool-call.response.json",
        "openai/chat-after-tool-result.response.json",
        "groq/chat-text.response.json",
        "groq/chat-tool-call.response.json",
        "xai/chat-text.response.json",
        "xai/chat-tool-call.response.json",
        "deepseek/chat-text.response.json",
        "google/openai-compat-tool-call.response.json",
        NULL
    };

    const char  **p;

    for (p = fixtures; *p; p++) {
        test_response_fixture(*p);
    }

    response_bad("array", "[1,2]", 502, "not a JSON object");
    response_bad("HTML", "<html>502 Bad Gateway</html>", 502,
                 "not a JSON object");
    response_bad("empty", "", 502, NULL);
    response_bad("without choices", "{\"id\":\"x\",\"model\":\"m\"}", 502,
                 "choices");
    response_bad("choices not array", "{\"choices\":{}}", 502, "choices");
    response_bad("choices of strings", "{\"id\":\"x\",\"model\":\"m\","
                 "\"choices\":[\"a\"]}", 502, "choices");
    response_bad("message a string", "{\"id\":\"x\",\"model\":\"m\","
                 "\"choices\":[{\"index\":0,\"message\":\"hi\"}]}", 502,
                 "choices");
    response_bad("invalid UTF-8", "{\"id\":\"x\",\"model\":\"m\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                 "\"assistant\",\"content\":\"\xff\xfe\"}}]}", 502,
                 "not a JSON object");
    response_bad("invalid UTF-8 in an error", "{\"error\":{\"message\":"
                 "\"\xe2\x82\"}}", 502, "not a JSON object");
    response_bad("error object", "{\"error\":{\"message\":\"boom\","
                 "\"type\":\"server_error\"}}", 502, "boom");
    response_bad("error with status_code",
                 "{\"error\":{\"message\":\"slow down\","
                 "\"status_code\":429}}", 429, "slow down");
}


/* the request the provider gets */

static void
build(const char *name, const char *body, const char *upstream,
    int want_stream)
{
    int             rc;
    cJSON          *in, *out, *opts, *v;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));

    rc = llm_request_parse(&req, body, strlen(body), &e);

    if (!ok(rc == LLM_OK, "build %s: request parses", name)) {
        diag("%s", e.message);
        return;
    }

    rc = llm_dialect_openai.build_request(&req, upstream, &b);
    out = cJSON_ParseWithLength(b.data ? b.data : "", b.len);

    ok(rc == LLM_OK && cJSON_IsObject(out)
       && strcmp(str(out, "model"), upstream) == 0,
       "build %s: JSON, model is the upstream name", name);

    opts = cJSON_GetObjectItemCaseSensitive(out, "stream_options");
    v = cJSON_GetObjectItemCaseSensitive(opts, "include_usage");

    if (want_stream) {
        ok(cJSON_IsObject(opts) && cJSON_IsTrue(v),
           "build %s: stream_options.include_usage true", name);

    } else {
        ok(opts == NULL, "build %s: no stream_options", name);
    }

    /* the rest is the client's, byte-equivalent as JSON */

    in = cJSON_Parse(body);
    cJSON_ReplaceItemInObjectCaseSensitive(in, "model",
                                           cJSON_CreateString(upstream));

    if (want_stream) {
        opts = cJSON_GetObjectItemCaseSensitive(in, "stream_options");

        if (!cJSON_IsObject(opts)) {
            cJSON_DeleteItemFromObjectCaseSensitive(in, "stream_options");
            opts = cJSON_AddObjectToObject(in, "stream_options");
        }

        cJSON_DeleteItemFromObjectCaseSensitive(opts, "include_usage");
        cJSON_AddTrueToObject(opts, "include_usage");
    }

    if (!ok(cJSON_Compare(in, out, 1), "build %s: the rest unchanged", name))
    {
        diag("got: %.*s", (int) b.len, b.data);
    }

    cJSON_Delete(in);
    cJSON_Delete(out);
    llm_buf_free(&b);
    llm_request_free(&req);
}


static int
count_members(cJSON *j, const char *name)
{
    int     n;
    cJSON  *v;

    n = 0;

    cJSON_ArrayForEach(v, j) {
        if (v->string && strcmp(v->string, name) == 0) {
            n++;
        }
    }

    return n;
}


/*
 * A member given twice: the gateway validates and routes on the first,
 * but many JSON parsers (Python's, Go's) keep the last one, so the
 * provider must not get the second.
 */

static void
build_duplicate(const char *name, const char *body, const char *member,
    const char *upstream)
{
    int             rc;
    cJSON          *out;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));

    rc = llm_request_parse(&req, body, strlen(body), &e);

    if (rc != LLM_OK) {
        /* rejecting the request is fine too */
        ok(1, "build %s: rejected (%s)", name, e.message);
        return;
    }

    rc = llm_dialect_openai.build_request(&req, upstream, &b);
    out = cJSON_ParseWithLength(b.data ? b.data : "", b.len);

    if (!ok(rc == LLM_OK && count_members(out, member) == 1,
            "build %s: the provider sees one \"%s\"", name, member))
    {
        diag("got: %.*s", (int) b.len, b.data);
    }

    cJSON_Delete(out);
    llm_buf_free(&b);
    llm_request_free(&req);
}


static void
test_build_request(void)
{
    ok(llm_dialect_find("openai", 6) == &llm_dialect_openai
       && llm_dialect_find("open", 4) == NULL
       && llm_dialect_find("openai2", 7) == NULL
       && strcmp(llm_dialect_openai.chat_path, "/chat/completions") == 0,
       "llm_dialect_find, chat_path");

    build("non-stream",
          "{\"model\":\"alias\",\"messages\":[{\"role\":\"user\","
          "\"content\":\"hi \\u00e9 \\\"q\\\"\"}],\"temperature\":0.25,"
          "\"max_tokens\":100,\"x_custom\":{\"a\":[1,2.5,null,true]}}",
          "gpt-4o-2024-08-06", 0);

    build("stream=false",
          "{\"model\":\"alias\",\"stream\":false,\"messages\":[{\"role\":"
          "\"user\",\"content\":\"hi\"}]}", "up", 0);

    build("stream",
          "{\"model\":\"alias\",\"stream\":true,\"messages\":[{\"role\":"
          "\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":"
          "\"object\"}}}],\"tool_choice\":\"auto\",\"seed\":42}",
          "llama-3.3-70b-versatile", 1);

    build("stream, include_usage false",
          "{\"model\":\"alias\",\"stream\":true,\"stream_options\":"
          "{\"include_usage\":false},\"messages\":[{\"role\":\"user\","
          "\"content\":\"hi\"}]}", "up", 1);

    build("stream, include_usage true, other option kept",
          "{\"model\":\"alias\",\"stream\":true,\"stream_options\":"
          "{\"include_usage\":true,\"continuous_usage_stats\":true},"
          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "up", 1);

    build("stream, stream_options null",
          "{\"model\":\"alias\",\"stream\":true,\"stream_options\":null,"
          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "up", 1);

    build("upstream name with a quote",
          "{\"model\":\"alias\",\"messages\":[{\"role\":\"user\","
          "\"content\":\"hi\"}]}", "we\"ird\\name", 0);

    build_duplicate("duplicate model",
                    "{\"model\":\"cheap\",\"messages\":[{\"role\":\"user\","
                    "\"content\":\"hi\"}],\"model\":\"expensive\"}",
                    "model", "cheap-upstream");

    build_duplicate("duplicate stream_options",
                    "{\"model\":\"m\",\"stream\":true,\"stream_options\":"
                    "{\"include_usage\":false},\"messages\":[{\"role\":"
                    "\"user\",\"content\":\"hi\"}],\"stream_options\":5}",
                    "stream_options", "up");
}


static void
error_fixture(const char *rel, int status, int want_status,
    const char *type, const char *param, const char *code,
    const char *message)
{
    llm_buf_t     body;
    llm_error_t   e;

    memset(&body, 0, sizeof(llm_buf_t));
    memset(&e, 0, sizeof(llm_error_t));

    if (rel[0] == '=') {
        llm_buf_append_cstr(&body, rel + 1);

    } else if (read_file(rel, &body) != LLM_OK) {
        ok(0, "read %s", rel);
        return;
    }

    llm_dialect_openai.error(status, body.data ? body.data : "", body.len,
                             &e);

    if (!ok(e.status == want_status && strcmp(e.type, type) == 0
            && strcmp(e.param, param) == 0 && strcmp(e.code, code) == 0
            && strstr(e.message, message) != NULL,
            "error %s (%d): %d %s, param '%s', code '%s'",
            rel[0] == '=' ? rel + 1 : rel, status, want_status, type, param,
            code))
    {
        diag("got %d %s, param '%s', code '%s', message '%s'", e.status,
             e.type, e.param, e.code, e.message);
    }

    llm_buf_free(&body);
}


static void
test_errors(void)
{
    error_fixture("openai/error-400-unsupported-value.json", 400, 400,
                  "invalid_request_error", "messages[0].role",
                  "unsupported_value",
                  "Unsupported value: 'messages[0].role' does not support "
                  "'developer' with this model.");

    error_fixture("openai/error-insufficient-quota.json", 429, 429,
                  "rate_limit_error", "", "insufficient_quota",
                  "You exceeded your current quota");

    error_fixture("openai/error-400-param-null-code.json", 400, 400,
                  "invalid_request_error", "web_search_options", "",
                  "Web search options not supported with this model.");

    error_fixture("openai/error-unsupported-parameter-max-tokens.json", 400,
                  400, "invalid_request_error", "max_tokens",
                  "unsupported_parameter", "max_completion_tokens");

    error_fixture("openai/embeddings-error-404.json", 404, 404,
                  "not_found_error", "", "model_not_found", "");

    error_fixture("groq/error-404-model-not-found.json", 404, 404,
                  "not_found_error", "", "model_not_found",
                  "The model `non-existent` does not exist");

    error_fixture("groq/error-400-tool-use-failed.json", 400, 400,
                  "invalid_request_error", "", "tool_use_failed", "");

    error_fixture("=<html><body>502 Bad Gateway</body></html>", 502, 502,
                  "api_error", "", "upstream_error", "not JSON");

    error_fixture("=", 500, 500, "api_error", "", "upstream_error",
                  "not JSON");

    error_fixture("={\"error\":{\"type\":\"overloaded_error\","
                  "\"message\":\"Overloaded\"}}", 529, 503, "api_error", "",
                  "overloaded_error", "Overloaded");

    error_fixture("={}", 529, 503, "api_error", "", "upstream_error",
                  "HTTP 529 without an error message");

    error_fixture("={\"detail\":\"Model not loaded\"}", 500, 500,
                  "api_error", "", "", "Model not loaded");

    error_fixture("={\"message\":\"Bad thing\"}", 400, 400,
                  "invalid_request_error", "", "", "Bad thing");

    error_fixture("={\"error\":\"plain words\"}", 403, 403,
                  "permission_error", "", "", "plain words");

    error_fixture("={\"error\":{\"message\":\"m\",\"code\":1234}}", 401, 401,
                  "authentication_error", "", "1234", "m");

    error_fixture("={\"error\":{\"message\":\"m\",\"status_code\":422}}", 400,
                  422, "invalid_request_error", "", "", "m");
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

    test_build_request();
    test_responses();
    test_errors();
    test_stream_fixtures();
    test_groq_error_event();
    test_stream_edges();
    test_stream_unusual();
    test_stream_numbers();

    return done_testing();
}
