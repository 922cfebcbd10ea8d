/*
 * libFuzzer target for the SSE framer (src/core/llm_sse.c).
 *
 * Input: flags byte, cut count byte, 2 bytes per cut, then the stream.
 * The stream is framed three ways and the results must be identical:
 *
 *   - fed in one piece;
 *   - fed in pieces cut at the chosen offsets (or byte by byte), each
 *     piece in its own heap copy freed right after the feed, so a
 *     pointer kept into old input is a use-after-free under ASan;
 *   - with the default limit, a naive reference parser of the whole
 *     stream (WHATWG rules, no zero copy).
 *
 * Compared: every (event, payload), the return code, llm_sse_pending().
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_sse.h"


#define MAX_CUTS  32


typedef struct {
    llm_buf_t    log;
    size_t       count;
    size_t       stop_at;
    size_t       max;
} run_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}


/* length-prefixed records, so that any bytes compare unambiguously */

static void
log_record(llm_buf_t *log, const char *e, size_t elen, const char *p,
    size_t plen)
{
    check(llm_buf_append(log, &elen, sizeof(size_t)) == LLM_OK);
    check(llm_buf_append(log, e, elen) == LLM_OK);
    check(llm_buf_append(log, &plen, sizeof(size_t)) == LLM_OK);
    check(llm_buf_append(log, p, plen) == LLM_OK);
}


static int
on_event(void *data, const char *event, size_t event_len,
    const char *payload, size_t payload_len)
{
    run_t  *r = data;

    check(event != NULL && payload != NULL);

    /* line ends never leak into names or payloads */
    check(memchr(event, '\r', event_len) == NULL);
    check(memchr(event, '\n', event_len) == NULL);
    check(memchr(payload, '\r', payload_len) == NULL);
    check(payload_len + event_len <= r->max);

    log_record(&r->log, event, event_len, payload, payload_len);

    if (++r->count == r->stop_at) {
        return 7;
    }

    return 0;
}


static int
feed_copy(llm_sse_t *sse, run_t *r, const char *p, size_t n)
{
    int    rc;
    char  *copy;

    copy = malloc(n ? n : 1);
    check(copy != NULL);

    if (n) {
        memcpy(copy, p, n);
    }

    rc = llm_sse_feed(sse, copy, n, on_event, r);

    free(copy);

    return rc;
}


/* the obvious parser, straight from the spec */

static int
reference(run_t *r, const char *p, size_t n, int *pending)
{
    int          rc, has_data;
    size_t       i, j, flen;
    llm_buf_t    ev, dt;
    const char  *line, *colon, *v;

    memset(&ev, 0, sizeof(llm_buf_t));
    memset(&dt, 0, sizeof(llm_buf_t));
    has_data = 0;
    rc = LLM_OK;
    i = 0;

    for ( ;; ) {
        for (j = i; j < n && p[j] != '\r' && p[j] != '\n'; j++) {
            /* void */
        }

        if (j == n) {
            break;
        }

        line = p + i;
        flen = j - i;

        i = j + 1;
        if (p[j] == '\r' && i < n && p[i] == '\n') {
            i++;
        }

        if (flen == 0) {
            if (has_data) {
                rc = on_event(r, ev.len ? ev.data : "", ev.len,
                              dt.len ? dt.data : "", dt.len);
            }

            ev.len = 0;
            dt.len = 0;
            has_data = 0;

            if (rc != 0) {
                break;
            }

            continue;
        }

        if (line[0] == ':') {
            continue;
        }

        colon = memchr(line, ':', flen);
        v = colon ? colon + 1 : p + j;

        if (colon) {
            flen = (size_t) (colon - line);

            if (v < p + j && *v == ' ') {
                v++;
            }
        }

        if (flen == 4 && memcmp(line, "data", 4) == 0) {
            if (has_data) {
                check(llm_buf_append(&dt, "\n", 1) == LLM_OK);
            }

            has_data = 1;
            check(llm_buf_append(&dt, v, (size_t) (p + j - v)) == LLM_OK);

        } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
            ev.len = 0;
            check(llm_buf_append(&ev, v, (size_t) (p + j - v)) == LLM_OK);
        }
    }

    *pending = (rc == 0) && (i < n || has_data || ev.len > 0);

    llm_buf_free(&ev);
    llm_buf_free(&dt);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc1, rc2, rc3, pend1, pend2, pend3, bytewise;
    char        *whole;
    size_t       ncuts, cuts[MAX_CUTS + 2], i, j, t, n, max;
    run_t        r1, r2, r3;
    llm_sse_t    sse;
    const char  *p;

    if (size < 2) {
        return 0;
    }

    switch (data[0] & 3) {
    case 0:  max = 0; break;
    case 1:  max = 1 + data[1]; break;
    case 2:  max = 64; break;
    default: max = 4096;
    }

    bytewise = (data[0] & 0x0c) == 0x0c;
    ncuts = (data[1] >> 3) % (MAX_CUTS + 1);

    if (size < 2 + 2 * ncuts) {
        return 0;
    }

    p = (const char *) data + 2 + 2 * ncuts;
    n = size - 2 - 2 * ncuts;

    /* cut offsets, sorted (insertion sort, there are few) */

    cuts[0] = 0;

    for (i = 0; i < ncuts; i++) {
        t = ((size_t) data[2 + 2 * i] << 8 | data[3 + 2 * i]) % (n + 1);

        for (j = i + 1; j > 1 && cuts[j - 1] > t; j--) {
            cuts[j] = cuts[j - 1];
        }

        cuts[j] = t;
    }

    cuts[ncuts + 1] = n;

    memset(&r1, 0, sizeof(run_t));
    memset(&r2, 0, sizeof(run_t));
    memset(&r3, 0, sizeof(run_t));

    /* stop on some event now and then */
    r1.stop_at = (data[0] & 0x30) == 0x30 ? 1 + (data[0] >> 6) : 0;
    r2.stop_at = r1.stop_at;
    r3.stop_at = r1.stop_at;

    r1.max = r2.max = r3.max = max ? max : LLM_SSE_DEFAULT_MAX;

    /* one feed, from an exactly sized copy */

    whole = malloc(n ? n : 1);
    check(whole != NULL);

    if (n) {
        memcpy(whole, p, n);
    }

    llm_sse_init(&sse, max);
    rc1 = llm_sse_feed(&sse, whole, n, on_event, &r1);
    pend1 = llm_sse_pending(&sse);
    free(whole);

    /* pieces; reuse the framer after reset */

    llm_sse_reset(&sse);
    rc2 = LLM_OK;

    if (bytewise) {
        for (i = 0; i < n && rc2 == LLM_OK; i++) {
            rc2 = feed_copy(&sse, &r2, p + i, 1);
        }

    } else {
        for (i = 0; i <= ncuts && rc2 == LLM_OK; i++) {
            rc2 = feed_copy(&sse, &r2, p + cuts[i], cuts[i + 1] - cuts[i]);
        }
    }

    pend2 = llm_sse_pending(&sse);

    if (rc2 == LLM_SSE_TOO_LARGE) {
        /* the error sticks */
        check(feed_copy(&sse, &r2, "data: x\n\n", 9) == LLM_SSE_TOO_LARGE);
    }

    llm_sse_free(&sse);

    check(rc1 == rc2);
    check(r1.count == r2.count);
    check(r1.log.len == r2.log.len);
    check(r1.log.len == 0
          || memcmp(r1.log.data, r2.log.data, r1.log.len) == 0);

    if (rc1 == LLM_OK) {
        check(pend1 == pend2);
    }

    /* the limit is far above max_len: no TOO_LARGE, compare to the spec */

    if (max == 0) {
        rc3 = reference(&r3, p, n, &pend3);

        check(rc1 == rc3);
        check(r1.log.len == r3.log.len);
        check(r1.log.len == 0
              || memcmp(r1.log.data, r3.log.data, r1.log.len) == 0);

        if (rc1 == LLM_OK) {
            check(pend1 == pend3);
        }
    }

    llm_buf_free(&r1.log);
    llm_buf_free(&r2.log);
    llm_buf_free(&r3.log);

    return 0;
}
