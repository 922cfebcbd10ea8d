/*
 * Unit tests for the SSE framer (src/core/llm_sse.c).
 *
 * usage: test_sse [repo-root]   (or LLM_REPO=repo-root); the root is
 * used to find the recorded provider streams under t/fixtures/.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_sse.h"
#include "tap.h"


typedef struct {
    llm_buf_t      log;          /* every event, escaped: "name=payload;" */
    int            count;
    llm_buf_t      last_event;
    llm_buf_t      last_payload;
    int            stop_at;      /* return stop_rc on this event */
    int            stop_rc;
    const char    *in_lo;        /* the input of the current feed */
    const char    *in_hi;
    int            zero_copy;    /* payloads pointing into the input */
} coll_t;


typedef struct {
    const char    *name;
    const char    *in;
    size_t         len;          /* 0: strlen(in) */
    const char    *expect;
    int            pending;
} sse_case_t;


static unsigned long long  rnd_state = 88172645463325252ULL;


/* reproducible pseudo-random numbers below n, from this file's seed */
#define rnd(n)  tap_rnd(&rnd_state, n)


static void
log_escaped(llm_buf_t *b, const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        switch (p[i]) {
        case '\n': llm_buf_append_lit(b, "\\n"); break;
        case '\r': llm_buf_append_lit(b, "\\r"); break;
        case '\0': llm_buf_append_lit(b, "\\0"); break;
        case '\\': llm_buf_append_lit(b, "\\\\"); break;
        case '=':  llm_buf_append_lit(b, "\\="); break;
        case ';':  llm_buf_append_lit(b, "\\;"); break;
        default:   llm_buf_append(b, &p[i], 1);
        }
    }
}


static int
collect(void *data, const char *event, size_t event_len, const char *payload,
    size_t payload_len)
{
    coll_t  *c = data;

    if (event == NULL || payload == NULL) {
        abort();
    }

    c->count++;

    log_escaped(&c->log, event, event_len);
    llm_buf_append_lit(&c->log, "=");
    log_escaped(&c->log, payload, payload_len);
    llm_buf_append_lit(&c->log, ";");

    c->last_event.len = 0;
    llm_buf_append(&c->last_event, event, event_len);
    c->last_payload.len = 0;
    llm_buf_append(&c->last_payload, payload, payload_len);

    if (payload_len && payload >= c->in_lo && payload < c->in_hi) {
        c->zero_copy++;
    }

    if (c->stop_at && c->count == c->stop_at) {
        return c->stop_rc;
    }

    return 0;
}


static void
coll_init(coll_t *c)
{
    memset(c, 0, sizeof(coll_t));
}


static void
coll_reset(coll_t *c)
{
    c->log.len = 0;
    c->count = 0;
    c->zero_copy = 0;
    c->last_event.len = 0;
    c->last_payload.len = 0;
}


static void
coll_free(coll_t *c)
{
    llm_buf_free(&c->log);
    llm_buf_free(&c->last_event);
    llm_buf_free(&c->last_payload);
}


/* feed a copy of each piece, so that refs into freed input are caught */

static int
feed(llm_sse_t *sse, coll_t *c, const char *p, size_t n)
{
    int    rc;
    char  *copy;

    copy = malloc(n ? n : 1);
    if (copy == NULL) {
        abort();
    }

    if (n) {
        memcpy(copy, p, n);
    }

    c->in_lo = copy;
    c->in_hi = copy + n;

    rc = llm_sse_feed(sse, copy, n, collect, c);

    c->in_lo = NULL;
    c->in_hi = NULL;
    free(copy);

    return rc;
}


/* pieces of size chunk, or random sizes 1..-chunk if chunk < 0 */

static int
feed_chunked(llm_sse_t *sse, coll_t *c, const char *p, size_t n, long chunk)
{
    int     rc;
    size_t  off, k;

    for (off = 0; off < n; off += k) {
        k = chunk > 0 ? (size_t) chunk : 1 + rnd((unsigned) -chunk);

        if (k > n - off) {
            k = n - off;
        }

        rc = feed(sse, c, p + off, k);
        if (rc != LLM_OK) {
            return rc;
        }
    }

    return LLM_OK;
}


/* feed in pieces cut at a and b (a <= b), empty pieces included */

static int
feed_cut(llm_sse_t *sse, coll_t *c, const char *p, size_t n, size_t a,
    size_t b)
{
    int  rc;

    rc = feed(sse, c, p, a);
    if (rc != LLM_OK) {
        return rc;
    }

    rc = feed(sse, c, p + a, b - a);
    if (rc != LLM_OK) {
        return rc;
    }

    return feed(sse, c, p + b, n - b);
}


static int
log_is(coll_t *c, const char *expect)
{
    return c->log.len == strlen(expect)
           && (c->log.len == 0
               || memcmp(c->log.data, expect, c->log.len) == 0);
}


static void
test_case(const sse_case_t *tc)
{
    int         bad_pending, rc;
    size_t      n, a, b, bad_a, bad_b;
    coll_t      c;
    llm_sse_t   sse;

    n = tc->len ? tc->len : strlen(tc->in);

    coll_init(&c);
    llm_sse_init(&sse, 0);

    rc = feed(&sse, &c, tc->in, n);
    is_int(rc, LLM_OK, "%s: one feed returns OK", tc->name);
    is_str(c.log.data, c.log.len, tc->expect, "%s: one feed", tc->name);
    is_int(llm_sse_pending(&sse), tc->pending, "%s: pending", tc->name);

    /* every single cut */

    bad_a = (size_t) -1;
    bad_pending = 0;

    for (a = 0; a <= n; a++) {
        llm_sse_reset(&sse);
        coll_reset(&c);

        rc = feed_cut(&sse, &c, tc->in, n, a, a);

        if (rc != LLM_OK || !log_is(&c, tc->expect)) {
            bad_a = a;
            break;
        }

        if (llm_sse_pending(&sse) != tc->pending) {
            bad_pending++;
        }
    }

    ok(bad_a == (size_t) -1 && bad_pending == 0,
       "%s: every split point (%zu)", tc->name, n + 1);

    if (bad_a != (size_t) -1) {
        diag("split at %zu gave '%.*s'", bad_a, (int) c.log.len, c.log.data);
    }

    /* every pair of cuts */

    bad_a = bad_b = (size_t) -1;

    for (a = 0; a <= n && bad_a == (size_t) -1; a++) {
        for (b = a; b <= n; b++) {
            llm_sse_reset(&sse);
            coll_reset(&c);

            rc = feed_cut(&sse, &c, tc->in, n, a, b);

            if (rc != LLM_OK || !log_is(&c, tc->expect)) {
                bad_a = a;
                bad_b = b;
                break;
            }
        }
    }

    ok(bad_a == (size_t) -1, "%s: every pair of split points", tc->name);

    if (bad_a != (size_t) -1) {
        diag("splits at %zu,%zu gave '%.*s'", bad_a, bad_b,
             (int) c.log.len, c.log.data);
    }

    /* byte by byte */

    llm_sse_reset(&sse);
    coll_reset(&c);

    rc = feed_chunked(&sse, &c, tc->in, n, 1);

    ok(rc == LLM_OK && log_is(&c, tc->expect)
       && llm_sse_pending(&sse) == tc->pending,
       "%s: byte by byte", tc->name);

    llm_sse_free(&sse);
    coll_free(&c);
}


static const sse_case_t  cases[] = {

    { "LF", "data: a\n\ndata: b\n\n", 0, "=a;=b;", 0 },
    { "CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", 0, "=a;=b;", 0 },
    { "CR", "data: a\r\rdata: b\r\r", 0, "=a;=b;", 0 },

    { "mixed endings",
      "data: a\r\n\ndata: b\r\r\nevent: x\ndata: c\r\n\r", 0,
      "=a;=b;x=c;", 0 },

    /* a CRLF counted twice would dispatch "a" alone */
    { "CRLF is one line end", "data: a\r\ndata: b\r\n\r\n", 0,
      "=a\\nb;", 0 },

    /* a CRLF counted twice would reset the event name */
    { "CRLF after event", "event: x\r\ndata: y\r\n\r\n", 0, "x=y;", 0 },

    { "CR CR LF", "data: a\r\r\ndata: b\n\n", 0, "=a;=b;", 0 },

    { "comments",
      ": keep-alive\n\ndata: x\n\n:another\n: \n:\ndata: a\n: mid\n"
      "data: b\n\n", 0,
      "=x;=a\\nb;", 0 },

    { "anthropic events",
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"    }\n\n", 0,
      "content_block_delta={\"type\":\"content_block_delta\",\"index\":0};"
      "ping={\"type\": \"ping\"};"
      "message_stop={\"type\":\"message_stop\"    };", 0 },

    { "event name reset after dispatch",
      "event: foo\ndata: 1\n\ndata: 2\n\nevent: bar\n\ndata: 3\n\n", 0,
      "foo=1;=2;=3;", 0 },

    { "last event name wins", "event: a\nevent: b\ndata: x\n\n", 0,
      "b=x;", 0 },

    { "event after data", "data: x\nevent: late\n\n", 0, "late=x;", 0 },

    { "multi-line data", "data: a\ndata: b\ndata: c\n\n", 0,
      "=a\\nb\\nc;", 0 },

    { "no space after colon", "data:x\n\ndata:  y\n\nevent:e\ndata:z\n\n", 0,
      "=x;= y;e=z;", 0 },

    { "empty data", "data:\n\ndata\n\ndata: \n\n", 0, "=;=;=;", 0 },
    { "two empty data lines", "data:\ndata:\n\n", 0, "=\\n;", 0 },
    { "trailing empty data line", "data: a\ndata:\n\n", 0, "=a\\n;", 0 },
    { "leading empty data line", "data\ndata: a\n\n", 0, "=\\na;", 0 },

    { "blank lines only", "\n\n\r\n\r\r\n\n", 0, "", 0 },

    { "field without colon",
      "event\ndata: x\n\nfoo\ndata: y\n\nevent: n\nevent\ndata: z\n\n", 0,
      "=x;=y;=z;", 0 },

    { "ignored fields",
      "id: 5\nretry: 100\nfoo: bar\nDATA: no\ndat: no\ndata : no\n"
      "Event: no\ndata: x\n\nid: 6\n\nretry: 1\n\n", 0,
      "=x;", 0 },

    { "colon in value", "data: {\"a\":1,\"b\":\"c: d\"}\n\n", 0,
      "={\"a\":1,\"b\":\"c: d\"};", 0 },

    { "whitespace kept", "data:\ta\n\ndata: a \n\n", 0, "=\ta;=a ;", 0 },

    { "NUL bytes", "data: a\0b\n\n\0\n\ndata: c\n\n", 23,
      "=a\\0b;=c;", 0 },

    { "DONE", "data: {}\n\ndata: [DONE]\n\n", 0, "={};=[DONE];", 0 },

    { "truncated after data line", "data: a\n\ndata: b\n", 0, "=a;", 1 },
    { "truncated mid line", "data: a\n\ndata: b", 0, "=a;", 1 },
    { "truncated mid line CRLF", "data: a\r\n\r\nda", 0, "=a;", 1 },
    { "truncated after event line", "data: a\n\nevent: x\n", 0, "=a;", 1 },
    { "comment is not pending", "data: a\n\n: ping\n", 0, "=a;", 0 },
    { "id is not pending", "data: a\n\nid: 1\n", 0, "=a;", 0 },
    { "trailing CR", "data: a\n\r", 0, "=a;", 0 },
};


static void
test_split_crlf(void)
{
    coll_t     c;
    llm_sse_t  sse;

    coll_init(&c);
    llm_sse_init(&sse, 0);

    feed(&sse, &c, "data: a\r", 8);
    is_int(c.count, 0, "CR at end of feed: no event yet");
    feed(&sse, &c, "\ndata: b\r\n\r\n", 12);
    is_str(c.log.data, c.log.len, "=a\\nb;", "CR|LF split is one line end");

    llm_sse_reset(&sse);
    coll_reset(&c);

    feed(&sse, &c, "event: x\r", 9);
    feed(&sse, &c, "", 0);
    llm_sse_feed(&sse, NULL, 0, collect, &c);
    feed(&sse, &c, "\n", 1);
    feed(&sse, &c, "data: y\r", 8);
    feed(&sse, &c, "\r", 1);
    is_str(c.log.data, c.log.len, "x=y;",
           "CR, empty feeds, LF is one line end");

    llm_sse_reset(&sse);
    coll_reset(&c);

    feed(&sse, &c, "data: a\r", 8);
    feed(&sse, &c, "data: b\r", 8);
    feed(&sse, &c, "\r", 1);
    is_str(c.log.data, c.log.len, "=a\\nb;",
           "CR at end of feed followed by a line");

    llm_sse_free(&sse);
    coll_free(&c);
}


static void
test_zero_copy(void)
{
    int          rc;
    coll_t       c;
    llm_sse_t    sse;
    const char  *in;

    in = "data: 1\n\nevent: x\ndata: 2\n\n: c\ndata: 3\r\n\r\n"
         "data: a\ndata: b\n\n";

    coll_init(&c);
    llm_sse_init(&sse, 0);

    rc = feed(&sse, &c, in, strlen(in));

    is_int(rc, LLM_OK, "zero copy: feed");
    is_int(c.count, 4, "zero copy: 4 events");
    is_int(c.zero_copy, 3, "single-line events within a chunk not copied");

    llm_sse_free(&sse);
    coll_free(&c);
}


static void
test_large_line(void)
{
    int         rc, i;
    long        chunks[] = { 0, 1, 7, -1000, -70000 };
    char       *in, *p, how[64];
    size_t      n, len, plen;
    coll_t      c;
    llm_sse_t   sse;

    plen = 300 * 1024;
    len = plen + 64;

    in = malloc(len);
    if (in == NULL) {
        abort();
    }

    p = in;
    memcpy(p, "event: big\ndata: ", 17);
    p += 17;

    for (n = 0; n < plen; n++) {
        *p++ = "abcdefghijklmnopqrstuvwxyz0123456789+/"[n % 38];
    }

    memcpy(p, "\r\n\r\ndata: tail\n\n", 16);
    p += 16;
    len = (size_t) (p - in);

    coll_init(&c);
    llm_sse_init(&sse, 0);

    for (i = 0; i < (int) (sizeof(chunks) / sizeof(chunks[0])); i++) {
        llm_sse_reset(&sse);
        coll_reset(&c);

        if (chunks[i] == 0) {
            snprintf(how, sizeof(how), "in one feed");

        } else if (chunks[i] > 0) {
            snprintf(how, sizeof(how), "in %ld-byte pieces", chunks[i]);

        } else {
            snprintf(how, sizeof(how), "in random pieces <= %ld",
                     -chunks[i]);
        }

        if (chunks[i] == 0) {
            rc = feed(&sse, &c, in, len);

        } else {
            rc = feed_chunked(&sse, &c, in, len, chunks[i]);
        }

        is_int(rc, LLM_OK, "300 KB line %s: OK", how);
        is_int(c.count, 2, "300 KB line %s: 2 events", how);

        /* collect() left the big payload in the log: check it there */
        ok(c.log.len == 4 + plen + 7
           && memcmp(c.log.data, "big=", 4) == 0
           && memcmp(c.log.data + 4, in + 17, plen) == 0
           && memcmp(c.log.data + 4 + plen, ";=tail;", 7) == 0,
           "300 KB line %s: payload intact", how);

        if (chunks[i] == 0) {
            is_int(c.zero_copy, 2, "300 KB line in one feed: not copied");
        }
    }

    /* the limit applies: a 300 KB line with a 256 KB max */

    llm_sse_free(&sse);
    llm_sse_init(&sse, 256 * 1024);
    coll_reset(&c);

    rc = feed_chunked(&sse, &c, in, len, 4096);
    is_int(rc, LLM_SSE_TOO_LARGE, "300 KB line over a 256 KB max");
    is_int(c.count, 0, "no event from the oversized line");

    llm_sse_free(&sse);
    coll_free(&c);
    free(in);
}


static void
test_memory_reuse(void)
{
    int         i, rc;
    size_t      caps[3];
    llm_buf_t   in;
    coll_t      c;
    llm_sse_t   sse;

    memset(&in, 0, sizeof(llm_buf_t));

    for (i = 0; i < 2000; i++) {
        llm_buf_append_lit(&in, "event: content_block_delta\ndata: {\"i\":");
        llm_buf_append_int(&in, i % 100);
        llm_buf_append_lit(&in, "}\ndata: {\"more\":true}\n\n");
    }

    coll_init(&c);
    llm_sse_init(&sse, 0);

    /* warm up on the first quarter, then check nothing grows */

    rc = feed_chunked(&sse, &c, in.data, in.len / 4, 13);
    caps[0] = sse.line.cap;
    caps[1] = sse.data.cap;
    caps[2] = sse.event.cap;

    rc |= feed_chunked(&sse, &c, in.data + in.len / 4, in.len - in.len / 4,
                       -97);

    is_int(rc, LLM_OK, "2000 events in pieces: OK");
    is_int(c.count, 2000, "2000 events in pieces: count");
    ok(sse.line.cap == caps[0] && sse.data.cap == caps[1]
       && sse.event.cap == caps[2],
       "buffers do not grow per event (%zu %zu %zu)",
       sse.line.cap, sse.data.cap, sse.event.cap);
    ok(sse.line.cap <= 256 && sse.data.cap <= 256 && sse.event.cap <= 256,
       "buffers stay small");

    llm_sse_free(&sse);
    coll_free(&c);
    llm_buf_free(&in);
}


static void
test_stop(void)
{
    int          rc;
    coll_t       c;
    llm_sse_t    sse;
    const char  *in;

    in = "data: 1\n\ndata: [DONE]\n\ndata: 3\n\n";

    coll_init(&c);
    llm_sse_init(&sse, 0);

    c.stop_at = 2;
    c.stop_rc = 42;

    rc = feed(&sse, &c, in, strlen(in));
    is_int(rc, 42, "handler stop value returned");
    is_int(c.count, 2, "no event after the stop");
    is_str(c.last_payload.data, c.last_payload.len, "[DONE]",
           "stopped on [DONE]");

    llm_sse_reset(&sse);
    coll_reset(&c);
    c.stop_at = 1;
    c.stop_rc = LLM_ERROR;

    rc = feed_chunked(&sse, &c, in, strlen(in), 3);
    is_int(rc, LLM_ERROR, "handler error returned, split input");
    is_int(c.count, 1, "no event after the handler error");

    llm_sse_free(&sse);
    coll_free(&c);
}


static void
fill(llm_buf_t *b, const char *prefix, size_t n, const char *suffix)
{
    llm_buf_append_cstr(b, prefix);

    while (n--) {
        llm_buf_append_lit(b, "x");
    }

    llm_buf_append_cstr(b, suffix);
}


static void
test_too_large(void)
{
    int          rc, i;
    llm_buf_t    in;
    coll_t       c;
    llm_sse_t    sse;
    const char  *how;

    memset(&in, 0, sizeof(llm_buf_t));
    coll_init(&c);

    for (i = 0; i < 2; i++) {
        how = i ? "byte by byte" : "one feed";

        /* line of exactly max bytes */

        llm_sse_init(&sse, 64);
        in.len = 0;
        fill(&in, "data: ", 58, "\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        is_int(rc, LLM_OK, "max 64, 64-byte line, %s: OK", how);

        /* one byte more */

        llm_sse_reset(&sse);
        coll_reset(&c);
        in.len = 0;
        llm_buf_append_lit(&in, "data: a\n\n");
        fill(&in, "data: ", 59, "\n\ndata: b\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        is_int(rc, LLM_SSE_TOO_LARGE, "max 64, 65-byte line, %s", how);
        is_str(c.log.data, c.log.len, "=a;",
               "max 64, events before the big one dispatched, %s", how);

        rc = feed(&sse, &c, "data: c\n\n", 9);
        is_int(rc, LLM_SSE_TOO_LARGE, "error is sticky, %s", how);

        llm_sse_reset(&sse);
        coll_reset(&c);
        rc = feed(&sse, &c, "data: c\n\n", 9);
        ok(rc == LLM_OK && log_is(&c, "=c;"), "works after reset, %s", how);

        /* data accumulated over several lines */

        llm_sse_reset(&sse);
        coll_reset(&c);
        in.len = 0;
        fill(&in, "data: ", 25, "\n");
        fill(&in, "data: ", 25, "\n");
        fill(&in, "data: ", 25, "\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        is_int(rc, LLM_SSE_TOO_LARGE, "max 64, 3 data lines, %s", how);
        is_int(c.count, 0, "max 64, 3 data lines: no event, %s", how);

        llm_sse_reset(&sse);
        coll_reset(&c);
        in.len = 0;
        fill(&in, "event: ", 20, "\n");
        fill(&in, "data: ", 40, "\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        is_int(rc, LLM_SSE_TOO_LARGE, "max 64, event name counts, %s", how);

        /* comments and ignored fields do not accumulate */

        llm_sse_reset(&sse);
        coll_reset(&c);
        in.len = 0;

        while (in.len < 4000) {
            fill(&in, ": ", 50, "\n");
            fill(&in, "id: ", 50, "\n");
        }

        llm_buf_append_lit(&in, "data: ok\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        ok(rc == LLM_OK && log_is(&c, "=ok;"),
           "max 64, many comment lines are fine, %s", how);

        llm_sse_reset(&sse);
        coll_reset(&c);
        in.len = 0;
        fill(&in, ": ", 70, "\ndata: x\n\n");

        rc = i ? feed_chunked(&sse, &c, in.data, in.len, 1)
               : feed(&sse, &c, in.data, in.len);
        is_int(rc, LLM_SSE_TOO_LARGE, "max 64, long comment line, %s", how);

        llm_sse_free(&sse);
        coll_reset(&c);
    }

    /* a partial line is limited before its end arrives */

    llm_sse_init(&sse, 64);
    in.len = 0;
    fill(&in, "data: ", 100, "");

    rc = feed(&sse, &c, in.data, in.len);
    is_int(rc, LLM_SSE_TOO_LARGE, "max 64, unterminated 106-byte line");
    ok(sse.line.cap <= 256, "partial line not buffered past the limit");

    llm_sse_free(&sse);

    /* 0 selects the default */

    llm_sse_init(&sse, 0);
    is_int(sse.max_event, LLM_SSE_DEFAULT_MAX, "max_event 0 is 16 MiB");
    llm_sse_free(&sse);

    llm_buf_free(&in);
    coll_free(&c);
}


static void
test_pending_reset(void)
{
    int         rc;
    size_t      cap;
    coll_t      c;
    llm_sse_t   sse;

    coll_init(&c);
    llm_sse_init(&sse, 0);

    is_int(llm_sse_pending(&sse), 0, "fresh framer: nothing pending");

    feed(&sse, &c, "event: x\ndata: partial", 22);
    is_int(llm_sse_pending(&sse), 1, "truncated event is pending");

    cap = sse.line.cap;
    llm_sse_reset(&sse);
    is_int(llm_sse_pending(&sse), 0, "nothing pending after reset");
    ok(sse.line.cap == cap && cap > 0, "reset keeps memory");

    rc = feed(&sse, &c, "data: y\n\n", 9);
    ok(rc == LLM_OK && log_is(&c, "=y;"),
       "reset forgets event name and partial line");

    coll_reset(&c);
    feed(&sse, &c, "data: a\ndata: b\n", 16);
    is_int(llm_sse_pending(&sse), 1, "two data lines, no blank: pending");
    llm_sse_reset(&sse);
    feed(&sse, &c, "\n", 1);
    is_int(c.count, 0, "reset drops buffered data");

    feed(&sse, &c, "data: a\r", 8);
    llm_sse_free(&sse);
    is_int(llm_sse_pending(&sse), 0, "nothing pending after free");

    coll_reset(&c);
    rc = feed(&sse, &c, "data: z\n\n", 9);
    ok(rc == LLM_OK && log_is(&c, "=z;"), "usable after free");

    llm_sse_free(&sse);
    coll_free(&c);
}


typedef struct {
    const char  *path;
    int          count;
    const char  *last_event;
    const char  *last_payload;     /* prefix */
} fixture_t;


static const fixture_t  fixtures[] = {
    { "openai/chat-tool-call.stream.sse", 9, "", "[DONE]" },
    { "openai/chat-text-after-tool.stream.sse", 12, "", "[DONE]" },
    { "anthropic/messages-text.stream.sse", 7, "message_stop",
      "{\"type\":\"message_stop\"    }" },
    { "anthropic/messages-thinking.stream.sse", 118, "message_stop",
      "{\"type\":\"message_stop\"" },
    { "anthropic/messages-server-and-client-tool.stream.sse", 36,
      "message_stop", "{\"type\":\"message_stop\"" },
    { "google/text.stream.sse", 3, "",
      "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is Paris." },
    { "google/tool-call.stream.sse", 2, "", "{\"candidates\": " },
    { "groq/chat-stream-error-event.sse", 95, "error",
      "{\"error\":{\"message\":\"Tool call validation failed" },
    { "groq/chat-text-reasoning.stream.sse", 51, "", "[DONE]" },
    { "groq/chat-tool-call.stream.sse", 26, "", "[DONE]" },
};


static char *
read_file(const char *path, size_t *len)
{
    long   n;
    char  *p;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    p = malloc((size_t) n + 1);

    if (p == NULL || fread(p, 1, (size_t) n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return NULL;
    }

    fclose(f);
    *len = (size_t) n;

    return p;
}


static void
test_fixture(const char *root, const fixture_t *fx)
{
    int         rc, i, same;
    char        path[4096], *in;
    size_t      len;
    coll_t      c, c2;
    llm_sse_t   sse;

    snprintf(path, sizeof(path), "%s/t/fixtures/%s", root, fx->path);

    in = read_file(path, &len);
    if (in == NULL) {
        skip(5, "fixture not present");
        diag("no %s", path);
        return;
    }

    coll_init(&c);
    coll_init(&c2);
    llm_sse_init(&sse, 0);

    rc = feed(&sse, &c, in, len);
    is_int(rc, LLM_OK, "%s: OK", fx->path);
    is_int(c.count, fx->count, "%s: event count", fx->path);
    is_str(c.last_event.data, c.last_event.len, fx->last_event,
           "%s: last event name", fx->path);
    ok(c.last_payload.len >= strlen(fx->last_payload)
       && memcmp(c.last_payload.data, fx->last_payload,
                 strlen(fx->last_payload)) == 0,
       "%s: last payload", fx->path);

    /* random pieces give the same events */

    same = llm_sse_pending(&sse) == 0;

    for (i = 0; i < 50 && same; i++) {
        llm_sse_reset(&sse);
        coll_reset(&c2);

        rc = feed_chunked(&sse, &c2, in, len, i < 10 ? i + 1 : -(i * 20));

        same = rc == LLM_OK && c2.log.len == c.log.len
               && memcmp(c2.log.data, c.log.data, c.log.len) == 0
               && llm_sse_pending(&sse) == 0;
    }

    ok(same, "%s: same events in 50 kinds of pieces, nothing pending",
       fx->path);

    llm_sse_free(&sse);
    coll_free(&c);
    coll_free(&c2);
    free(in);
}


int
main(int argc, char **argv)
{
    size_t       i;
    const char  *root;

    root = argc > 1 ? argv[1] : getenv("LLM_REPO");
    if (root == NULL) {
        root = ".";
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_case(&cases[i]);
    }

    test_split_crlf();
    test_zero_copy();
    test_large_line();
    test_memory_reuse();
    test_stop();
    test_too_large();
    test_pending_reset();

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        test_fixture(root, &fixtures[i]);
    }

    return done_testing();
}
