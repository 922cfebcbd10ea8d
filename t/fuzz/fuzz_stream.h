/*
 * The libFuzzer harness shared by the stream translators: a target
 * defines FUZZ_DIALECT (an llm_dialect_t) and, when its chunks are all
 * written by the gateway, FUZZ_CHECK_OBJECT; FUZZ_CHECK_CHUNK(j) for its
 * own checks of every chunk, in order; then includes this file.
 *
 * Input: a flags byte, then an upstream SSE body.  Flags bit 0 is the
 * client's include_usage; bits 1-7 choose where the body is cut in two
 * feeds (0: not cut, 127: all in the second).  Each feed is a heap copy
 * freed right after, as the nginx glue gives the framer.
 *
 * Invariants on what the client gets:
 *
 *   - every frame is "data: " + a JSON object or [DONE] + "\n\n", with
 *     no other line end inside;
 *   - after stream_end exactly one [DONE], the last frame;
 *   - a chunk that is not an error has the client's model at the top;
 *   - a failed response ends with an error envelope of four members;
 *   - nothing is written after the end, and everything is freed.
 */

#ifndef _FUZZ_STREAM_H_INCLUDED_
#define _FUZZ_STREAM_H_INCLUDED_


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_dialect.h"
#include "llm_sse.h"
#include "fuzz_check.h"


#define CLIENT_MODEL  "client \"m\""


typedef struct {
    llm_response_t   resp;
    llm_buf_t        out;
} run_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);




static int
on_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    int     rc;
    run_t  *r = data;

    rc = FUZZ_DIALECT.stream_event(&r->resp, event, event_len, payload,
                                         payload_len, &r->out);

    /* LLM_ERROR is memory only */
    check(rc == LLM_OK || rc == LLM_DONE);
    check(rc != LLM_DONE || r->resp.done);

    return rc;
}


static void
feed_copy(llm_sse_t *sse, run_t *r, const uint8_t *p, size_t n)
{
    int    rc;
    char  *copy;

    if (r->resp.done) {
        return;
    }

    copy = malloc(n ? n : 1);
    check(copy != NULL);

    if (n) {
        memcpy(copy, p, n);
    }

    rc = llm_sse_feed(sse, copy, n, on_event, r);

    /* the default limit is far above -max_len */
    check(rc == LLM_OK || rc == LLM_DONE);

    free(copy);
}


/* where a frame is: the last, the one before it, or another */

#define FRAME_OTHER        0
#define FRAME_BEFORE_LAST  1
#define FRAME_LAST         2


static void
check_frame(run_t *r, const char *p, size_t n, int where)
{
    cJSON       *j, *err;
    const char  *model;
#ifdef FUZZ_CHECK_OBJECT
    const char  *object;
#endif

    if (n == 6 && memcmp(p, "[DONE]", 6) == 0) {
        check(where == FRAME_LAST);
        return;
    }

    check(where != FRAME_LAST);

    j = cJSON_ParseWithLength(p, n);
    check(cJSON_IsObject(j));

    if (r->resp.failed && where == FRAME_BEFORE_LAST) {
        err = cJSON_GetObjectItemCaseSensitive(j, "error");

        check(cJSON_GetArraySize(j) == 1);
        check(cJSON_IsObject(err) && cJSON_GetArraySize(err) == 4);
        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err,
                                                              "message")));
        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "type")));

    } else {
        model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j,
                                                                    "model"));
        check(model != NULL && strcmp(model, CLIENT_MODEL) == 0);
#ifdef FUZZ_CHECK_OBJECT
        object = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j,
                                                                  "object"));
        check(object != NULL
              && strcmp(object, "chat.completion.chunk") == 0);
#endif
#ifdef FUZZ_CHECK_CHUNK
        FUZZ_CHECK_CHUNK(j);
#endif
    }

    cJSON_Delete(j);
}


static void
check_output(run_t *r)
{
    int          where;
    size_t       frames;
    const char  *p, *end, *eol;

    p = r->out.data;
    end = p + r->out.len;
    frames = 0;

    check(r->out.len >= 14);
    check(memcmp(end - 14, "data: [DONE]\n\n", 14) == 0);

    while (p < end) {
        check(end - p >= 8 && memcmp(p, "data: ", 6) == 0);
        p += 6;

        eol = memchr(p, '\n', end - p);
        check(eol != NULL && eol + 1 < end && eol[1] == '\n');
        check(memchr(p, '\r', eol - p) == NULL);

        if (eol + 2 == end) {
            where = FRAME_LAST;

        } else if (eol + 2 + 14 == end) {
            where = FRAME_BEFORE_LAST;

        } else {
            where = FRAME_OTHER;
        }

        check_frame(r, p, eol - p, where);

        p = eol + 2;
        frames++;
    }

    if (r->resp.failed) {
        check(frames >= 2);
        check(r->resp.error.status >= 400 && r->resp.error.status < 600);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             include_usage, rc;
    size_t          n, cut, len;
    run_t           r;
    llm_sse_t       sse;
    const uint8_t  *p;

    if (size < 1) {
        return 0;
    }

    include_usage = data[0] & 1;
    p = data + 1;
    n = size - 1;
    cut = (size_t) (data[0] >> 1) * n / 127;

    memset(&r, 0, sizeof(run_t));
    llm_response_init(&r.resp, CLIENT_MODEL, include_usage);
    llm_sse_init(&sse, 0);

    feed_copy(&sse, &r, p, cut);
    feed_copy(&sse, &r, p + cut, n - cut);

    rc = FUZZ_DIALECT.stream_end(&r.resp, &r.out);
    check(rc == LLM_DONE && r.resp.done);

    check_output(&r);

    /* after the end: nothing more */

    len = r.out.len;

    check(FUZZ_DIALECT.stream_end(&r.resp, &r.out) == LLM_DONE);
    check(FUZZ_DIALECT.stream_event(&r.resp, "", 0, "{}", 2, &r.out)
          == LLM_DONE);
    check(FUZZ_DIALECT.stream_event(&r.resp, "", 0, "[DONE]", 6,
                                          &r.out)
          == LLM_DONE);
    check(r.out.len == len);

    if (r.resp.usage.set) {
        check(r.resp.usage.prompt_tokens >= 0
              && r.resp.usage.completion_tokens >= 0
              && r.resp.usage.total_tokens >= 0);
    }

    llm_sse_free(&sse);
    llm_response_free(&r.resp);
    llm_buf_free(&r.out);

    return 0;
}


#endif /* _FUZZ_STREAM_H_INCLUDED_ */
