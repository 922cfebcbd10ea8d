/*
 * mock_upstream: a fast mock OpenAI chat completions provider for the
 * benchmark (bench/run.sh).  Single-threaded, epoll, HTTP/1.1 keep-alive,
 * Content-Length request bodies.
 *
 *   mock_upstream [PORT]      PORT 0 (default): any free port
 *
 * It prints "PORT <n>" on stdout once it listens, then serves until it gets
 * SIGTERM/SIGINT.
 *
 * POST .../chat/completions:
 *   - body contains "stream":true  ->  200 text/event-stream, chunked:
 *     N SSE events in all (a role chunk, N-4 content chunks "tok ", a
 *     finish chunk with finish_reason "stop", a usage chunk with
 *     "choices":[] and usage, then "data: [DONE]"), ONE write() per event,
 *     each event its own HTTP chunk (the last one also carries the
 *     terminating 0-size chunk), D ms between events (an epoll timeout on
 *     a timer heap, never a sleep).
 *   - else: a non-stream chat.completion JSON (~600 bytes, compact) with
 *     Content-Length.
 *   The "model" field gives N and D: "bench-n100-d50" -> N=100, D=50 ms
 *   (defaults N=100, D=0; N is at least 4).  The model is echoed back.
 * POST .../messages (Anthropic Messages API), the same N and D from the body's
 * "model":
 *   - "stream":true -> N SSE events with "event:" lines: message_start,
 *     content_block_start, ping, N-6 content_block_delta (text_delta "tok "),
 *     content_block_stop, message_delta (stop_reason, usage), message_stop;
 *     one write() and one HTTP chunk per event (N is at least 7).
 *   - else: a compact Message JSON with Content-Length.
 * POST .../models/<model>:streamGenerateContent[?alt=sse] (Gemini): N events
 *   "data: <GenerateContentResponse>\r\n\r\n", text "tok " in each, the
 *   last with finishReason and full usageMetadata, no terminator; the model
 *   (N, D) comes from the URL path.
 * POST .../models/<model>:generateContent: a compact GenerateContentResponse.
 * Anything else gets a 404.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define MAX_EVENTS     512
#define MAX_REQUEST    (4 * 1024 * 1024)
#define MODEL_MAX      128
#define EVENT_MAX      2048

#define K_OPENAI       0
#define K_ANTHROPIC    1
#define K_GEMINI       2


typedef struct {
    int        fd;
    unsigned   gen;

    char      *rbuf;
    size_t     rlen, rcap;

    char      *wbuf;               /* bytes a write could not take */
    size_t     wlen, woff, wcap;
    int        want_out;

    int        close_after;

    /* the stream being sent */
    int        streaming;
    int        kind;               /* K_OPENAI, K_ANTHROPIC, K_GEMINI */
    int        n_events, sent, delay_ms;
    int        in_heap;
    char       model[MODEL_MAX];
    size_t     model_len;
    unsigned long  stream_id;
    char       content_ev[EVENT_MAX];   /* framed content event, reused */
    size_t     content_len;
} conn_t;


typedef struct {
    uint64_t   at;
    int        fd;
    unsigned   gen;
} timer_t_;


static int          ep;
static conn_t     **conns;
static int          nconns;
static timer_t_    *heap;
static size_t       heap_len, heap_cap;
static unsigned     gen_counter;
static volatile sig_atomic_t  quit;
static unsigned long  req_id;


static uint64_t
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
on_signal(int sig)
{
    (void) sig;
    quit = 1;
}


/* timer heap (min on .at) */

static void
heap_push(uint64_t at, int fd, unsigned gen)
{
    size_t     i, p;
    timer_t_   t;

    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        heap = realloc(heap, heap_cap * sizeof(timer_t_));
        if (heap == NULL) {
            perror("realloc");
            exit(1);
        }
    }

    t.at = at;
    t.fd = fd;
    t.gen = gen;

    i = heap_len++;

    while (i > 0) {
        p = (i - 1) / 2;
        if (heap[p].at <= at) {
            break;
        }
        heap[i] = heap[p];
        i = p;
    }

    heap[i] = t;
}


static timer_t_
heap_pop(void)
{
    size_t     i, c;
    timer_t_   top, last;

    top = heap[0];
    last = heap[--heap_len];

    i = 0;

    for ( ;; ) {
        c = 2 * i + 1;
        if (c >= heap_len) {
            break;
        }
        if (c + 1 < heap_len && heap[c + 1].at < heap[c].at) {
            c++;
        }
        if (heap[c].at >= last.at) {
            break;
        }
        heap[i] = heap[c];
        i = c;
    }

    if (heap_len) {
        heap[i] = last;
    }

    return top;
}


static void
conn_close(conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}


static void
set_out(conn_t *c, int on)
{
    struct epoll_event  ev;

    if (c->want_out == on) {
        return;
    }

    c->want_out = on;
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);
    ev.data.fd = c->fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}


/* one write(); what it does not take waits in wbuf for EPOLLOUT */

static int
send_bytes(conn_t *c, const char *p, size_t n)
{
    ssize_t  w;

    if (c->wlen == c->woff) {
        c->wlen = c->woff = 0;

        w = write(c->fd, p, n);

        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                return -1;
            }
            w = 0;
        }

        if ((size_t) w == n) {
            return 0;
        }

        p += w;
        n -= w;
    }

    if (c->wlen + n > c->wcap) {
        c->wcap = (c->wlen + n) * 2;
        c->wbuf = realloc(c->wbuf, c->wcap);
        if (c->wbuf == NULL) {
            perror("realloc");
            exit(1);
        }
    }

    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;

    set_out(c, 1);

    return 0;
}


static int
flush_out(conn_t *c)
{
    ssize_t  w;

    while (c->woff < c->wlen) {
        w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);

        if (w < 0) {
            if (errno == EAGAIN) {
                return 1;
            }
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }

        c->woff += w;
    }

    c->woff = c->wlen = 0;
    set_out(c, 0);

    return 0;
}


/* frame payload p (n bytes) as one HTTP chunk into dst */

static size_t
frame_chunk(char *dst, const char *p, size_t n, int last)
{
    size_t  k;

    k = sprintf(dst, "%zx\r\n", n);
    memcpy(dst + k, p, n);
    k += n;
    memcpy(dst + k, "\r\n", 2);
    k += 2;

    if (last) {
        memcpy(dst + k, "0\r\n\r\n", 5);
        k += 5;
    }

    return k;
}


#define EV_HEAD  "data: {\"id\":\"chatcmpl-bench%08lu\",\"object\":" \
                 "\"chat.completion.chunk\",\"created\":1700000000," \
                 "\"model\":\"%.*s\",\"service_tier\":\"default\"," \
                 "\"system_fingerprint\":\"fp_bench01\",\"choices\":"

static size_t build_event_anthropic(conn_t *c, int k, char *out);
static size_t build_event_gemini(conn_t *c, int k, char *out);

static size_t
build_event(conn_t *c, int k, char *out)
{
    int     n;
    char    payload[EVENT_MAX];
    int     last = 0;

    if (c->kind == K_ANTHROPIC) {
        return build_event_anthropic(c, k, out);
    }

    if (c->kind == K_GEMINI) {
        return build_event_gemini(c, k, out);
    }

    if (k == c->n_events - 1) {
        n = sprintf(payload, "data: [DONE]\n\n");
        last = 1;

    } else if (k == 0) {
        n = sprintf(payload, EV_HEAD
                    "[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                    "\"content\":\"\",\"refusal\":null},\"logprobs\":null,"
                    "\"finish_reason\":null}],\"usage\":null,"
                    "\"obfuscation\":\"HM7mrUsjk\"}\n\n",
                    c->stream_id, (int) c->model_len, c->model);

    } else if (k == c->n_events - 3) {
        n = sprintf(payload, EV_HEAD
                    "[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                    "\"finish_reason\":\"stop\"}],\"usage\":null,"
                    "\"obfuscation\":\"RTaww\"}\n\n",
                    c->stream_id, (int) c->model_len, c->model);

    } else if (k == c->n_events - 2) {
        n = sprintf(payload, EV_HEAD
                    "[],\"usage\":{\"prompt_tokens\":31,"
                    "\"completion_tokens\":%d,\"total_tokens\":%d,"
                    "\"prompt_tokens_details\":{\"cached_tokens\":0,"
                    "\"audio_tokens\":0},\"completion_tokens_details\":"
                    "{\"reasoning_tokens\":0,\"audio_tokens\":0,"
                    "\"accepted_prediction_tokens\":0,"
                    "\"rejected_prediction_tokens\":0}},"
                    "\"obfuscation\":\"dhWUdLZO659\"}\n\n",
                    c->stream_id, (int) c->model_len, c->model,
                    c->n_events - 4, 31 + c->n_events - 4);

    } else {
        /* content chunks are all alike: framed once per stream */
        memcpy(out, c->content_ev, c->content_len);
        return c->content_len;
    }

    return frame_chunk(out, payload, n, last);
}


/* Anthropic Messages API events, compact, as in t/fixtures/anthropic */

#define AN_DELTA  "event: content_block_delta\ndata: {\"type\":" \
                  "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":" \
                  "\"text_delta\",\"text\":\"tok \"}}\n\n"

static size_t
build_event_anthropic(conn_t *c, int k, char *out)
{
    int     n, N = c->n_events;
    char    payload[EVENT_MAX];

    if (k == 0) {
        n = sprintf(payload, "event: message_start\ndata: {\"type\":"
                    "\"message_start\",\"message\":{\"model\":\"%.*s\","
                    "\"id\":\"msg_bench%08lu\",\"type\":\"message\","
                    "\"role\":\"assistant\",\"content\":[],"
                    "\"stop_reason\":null,\"stop_sequence\":null,"
                    "\"usage\":{\"input_tokens\":31,"
                    "\"cache_creation_input_tokens\":0,"
                    "\"cache_read_input_tokens\":0,\"cache_creation\":"
                    "{\"ephemeral_5m_input_tokens\":0,"
                    "\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,"
                    "\"service_tier\":\"standard\"}}}\n\n",
                    (int) c->model_len, c->model, c->stream_id);

    } else if (k == 1) {
        n = sprintf(payload, "event: content_block_start\ndata: {\"type\":"
                    "\"content_block_start\",\"index\":0,\"content_block\":"
                    "{\"type\":\"text\",\"text\":\"\"}}\n\n");

    } else if (k == 2) {
        n = sprintf(payload, "event: ping\ndata: {\"type\": \"ping\"}\n\n");

    } else if (k == N - 3) {
        n = sprintf(payload, "event: content_block_stop\ndata: {\"type\":"
                    "\"content_block_stop\",\"index\":0}\n\n");

    } else if (k == N - 2) {
        n = sprintf(payload, "event: message_delta\ndata: {\"type\":"
                    "\"message_delta\",\"delta\":{\"stop_reason\":"
                    "\"end_turn\",\"stop_sequence\":null},\"usage\":"
                    "{\"input_tokens\":31,\"cache_creation_input_tokens\":0,"
                    "\"cache_read_input_tokens\":0,\"output_tokens\":%d}}"
                    "\n\n", N - 6);

    } else if (k == N - 1) {
        n = sprintf(payload, "event: message_stop\ndata: {\"type\":"
                    "\"message_stop\"}\n\n");
        return frame_chunk(out, payload, n, 1);

    } else {
        memcpy(out, c->content_ev, c->content_len);
        return c->content_len;
    }

    return frame_chunk(out, payload, n, 0);
}


/* Gemini streamGenerateContent?alt=sse events, compact, as in
 * t/fixtures/google; no terminator after the last */

#define GE_USAGE_PART  "\"usageMetadata\":{\"promptTokenCount\":31," \
                       "\"totalTokenCount\":31,\"promptTokensDetails\":" \
                       "[{\"modality\":\"TEXT\",\"tokenCount\":31}]}"

static size_t
build_event_gemini(conn_t *c, int k, char *out)
{
    int     n, N = c->n_events;
    char    payload[EVENT_MAX];

    if (k < N - 1) {
        memcpy(out, c->content_ev, c->content_len);
        return c->content_len;
    }

    n = sprintf(payload, "data: {\"candidates\":[{\"content\":{\"parts\":"
                "[{\"text\":\"tok \"}],\"role\":\"model\"},"
                "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":"
                "{\"promptTokenCount\":31,\"candidatesTokenCount\":%d,"
                "\"totalTokenCount\":%d,\"promptTokensDetails\":[{\"modality\":"
                "\"TEXT\",\"tokenCount\":31}],\"candidatesTokensDetails\":"
                "[{\"modality\":\"TEXT\",\"tokenCount\":%d}]},"
                "\"modelVersion\":\"%.*s\",\"responseId\":"
                "\"bench%08lu\"}\r\n\r\n",
                N, 31 + N, N, (int) c->model_len, c->model, c->stream_id);

    return frame_chunk(out, payload, n, 1);
}


static void
stream_done(conn_t *c)
{
    c->streaming = 0;
}


/* send events while they are due; returns -1 on a write error */

static int
stream_pump(conn_t *c)
{
    size_t  n;
    char    ev[EVENT_MAX + 32];

    while (c->sent < c->n_events) {

        n = build_event(c, c->sent, ev);

        if (send_bytes(c, ev, n) != 0) {
            return -1;
        }

        c->sent++;

        if (c->delay_ms > 0) {
            break;
        }

        if (c->wlen) {
            /* back-pressure: continue on EPOLLOUT */
            return 0;
        }
    }

    if (c->sent == c->n_events) {
        stream_done(c);
        return 0;
    }

    if (c->delay_ms > 0) {
        heap_push(now_ms() + c->delay_ms, c->fd, c->gen);
        c->in_heap = 1;
    }

    return 0;
}


/* compact, as most OpenAI-compatible providers send it (OpenAI indents) */
static const char  *nonstream_fmt =
    "{\"id\":\"chatcmpl-bench%08lu\",\"object\":\"chat.completion\","
    "\"created\":1700000000,\"model\":\"%.*s\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"A load balancer "
    "spreads requests across servers so no single one is overwhelmed.\","
    "\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":31,"
    "\"completion_tokens\":17,\"total_tokens\":48,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,"
    "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
    "\"rejected_prediction_tokens\":0}},\"service_tier\":\"default\","
    "\"system_fingerprint\":\"fp_bench01\"}\n";

/* an Anthropic Message, compact (the same text) */
static const char  *nonstream_anthropic_fmt =
    "{\"model\":\"%.*s\",\"id\":\"msg_bench%08lu\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"A load balancer spreads requests across servers so no single one is "
    "overwhelmed.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":31,\"cache_creation_input_tokens\":0,"
    "\"cache_read_input_tokens\":0,\"cache_creation\":"
    "{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},"
    "\"output_tokens\":17,\"service_tier\":\"standard\"}}";

/* a Gemini GenerateContentResponse, compact (the same text) */
static const char  *nonstream_gemini_fmt =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A load "
    "balancer spreads requests across servers so no single one is "
    "overwhelmed.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\","
    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":31,"
    "\"candidatesTokenCount\":17,\"totalTokenCount\":48,"
    "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":31}]},"
    "\"modelVersion\":\"%.*s\",\"responseId\":\"bench%08lu\"}";


static const char *
memmem_ci_header(const char *p, size_t n, const char *name)
{
    size_t       nl;
    const char  *end, *line;

    nl = strlen(name);
    end = p + n;

    for (line = p; line < end; ) {
        const char  *eol = memchr(line, '\n', end - line);

        if (eol == NULL) {
            break;
        }

        if ((size_t) (eol - line) > nl && strncasecmp(line, name, nl) == 0
            && line[nl] == ':')
        {
            return line + nl + 1;
        }

        line = eol + 1;
    }

    return NULL;
}


/* the value of a JSON string member "key" in body, or NULL */

static const char *
json_str(const char *body, size_t n, const char *key, size_t *len)
{
    const char  *p, *end, *q;
    size_t       kl;

    kl = strlen(key);
    end = body + n;

    for (p = body; p < end; p++) {
        p = memmem(p, end - p, key, kl);
        if (p == NULL) {
            return NULL;
        }

        q = p + kl;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n'
                           || *q == '\r')) q++;
        if (q >= end || *q != ':') continue;
        q++;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n'
                           || *q == '\r')) q++;
        if (q >= end) return NULL;

        if (*q == '"') {
            const char *s = ++q;
            while (q < end && *q != '"') q++;
            if (q >= end) return NULL;
            *len = q - s;
            return s;
        }

        *len = 0;
        return q;            /* a non-string value: where it starts */
    }

    return NULL;
}


static int
handle_request(conn_t *c, const char *req, size_t hlen, const char *body,
    size_t blen)
{
    const char  *v, *m, *sp;
    size_t       mlen, vlen;
    int          stream, n, d, kind, gstream;
    char         hdr[512], resp[4096], *bodyp;
    size_t       hl, bl;

    req_id++;

    v = memmem_ci_header(req, hlen, "connection");
    if (v) {
        const char *eol = memchr(v, '\n', req + hlen - v);
        if (eol && memmem(v, eol - v, "close", 5)) {
            c->close_after = 1;
        }
    }

    sp = memchr(req, '\n', hlen);     /* the end of the request line */

    kind = -1;
    gstream = 0;
    m = NULL;
    mlen = 0;

    if (hlen >= 5 && memcmp(req, "POST ", 5) == 0 && sp != NULL) {
        if (memmem(req, sp - req, "/chat/completions ", 18)) {
            kind = K_OPENAI;

        } else if (memmem(req, sp - req, "/messages ", 10)) {
            kind = K_ANTHROPIC;

        } else if ((v = memmem(req, sp - req, "/models/", 8)) != NULL) {
            const char  *colon, *end = sp;

            v += 8;
            colon = memchr(v, ':', end - v);
            if (colon && (size_t) (end - colon) > 16) {
                if (memcmp(colon, ":streamGenerateContent", 22) == 0) {
                    kind = K_GEMINI;
                    gstream = 1;
                } else if (memcmp(colon, ":generateContent", 16) == 0) {
                    kind = K_GEMINI;
                }
                m = v;
                mlen = colon - v;
            }
        }
    }

    if (kind < 0) {
        static const char nf[] = "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json\r\nContent-Length: 21\r\n\r\n"
            "{\"error\":\"not found\"}";
        return send_bytes(c, nf, sizeof(nf) - 1);
    }

    if (kind != K_GEMINI) {
        m = json_str(body, blen, "\"model\"", &mlen);
    }
    if (m == NULL || mlen >= MODEL_MAX) {
        m = "bench";
        mlen = 5;
    }

    memcpy(c->model, m, mlen);
    c->model_len = mlen;
    c->model[mlen] = '\0';

    n = 100;
    d = 0;

    {
        const char *q = strstr(c->model, "-n");
        if (q && q[2] >= '0' && q[2] <= '9') n = atoi(q + 2);
        q = strstr(c->model, "-d");
        if (q && q[2] >= '0' && q[2] <= '9') d = atoi(q + 2);
    }

    if (n < 4) {
        n = 4;
    }

    if (kind == K_ANTHROPIC && n < 7) {
        n = 7;
    }

    if (kind == K_GEMINI) {
        stream = gstream;

    } else {
        v = json_str(body, blen, "\"stream\"", &vlen);
        stream = (v && vlen == 0 && (size_t) (body + blen - v) >= 4
                  && memcmp(v, "true", 4) == 0);
    }

    if (!stream) {
        bodyp = resp + 256;
        if (kind == K_ANTHROPIC) {
            bl = sprintf(bodyp, nonstream_anthropic_fmt, (int) mlen, m,
                         req_id);
        } else if (kind == K_GEMINI) {
            bl = sprintf(bodyp, nonstream_gemini_fmt, (int) mlen, m, req_id);
        } else {
            bl = sprintf(bodyp, nonstream_fmt, req_id, (int) mlen, m);
        }
        hl = sprintf(hdr, "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: keep-alive\r\n"
                     "%s: req_bench%08lu\r\n"
                     "%s"
                     "\r\n", bl,
                     kind == K_ANTHROPIC ? "request-id" : "x-request-id",
                     req_id,
                     kind == K_OPENAI ? "openai-processing-ms: 321\r\n"
                     : kind == K_GEMINI ? "server-timing: gfet4t7; dur=321\r\n"
                     : "anthropic-organization-id: bench\r\n");
        /* headers and body in one write */
        memcpy(bodyp - hl, hdr, hl);
        return send_bytes(c, bodyp - hl, hl + bl);
    }

    c->stream_id = req_id;

    c->streaming = 1;
    c->kind = kind;
    c->n_events = n;
    c->delay_ms = d;
    c->sent = 0;

    {
        char    payload[EVENT_MAX];
        int     pn;

        if (kind == K_ANTHROPIC) {
            pn = sprintf(payload, "%s", AN_DELTA);
        } else if (kind == K_GEMINI) {
            pn = sprintf(payload, "data: {\"candidates\":[{\"content\":"
                         "{\"parts\":[{\"text\":\"tok \"}],\"role\":"
                         "\"model\"},\"index\":0}]," GE_USAGE_PART ","
                         "\"modelVersion\":\"%.*s\",\"responseId\":"
                         "\"bench%08lu\"}\r\n\r\n",
                         (int) c->model_len, c->model, c->stream_id);
        } else {
        pn = sprintf(payload, EV_HEAD
                     "[{\"index\":0,\"delta\":{\"content\":\"tok \"},"
                     "\"logprobs\":null,\"finish_reason\":null}],"
                     "\"usage\":null,\"obfuscation\":\"CduGPpSo\"}\n\n",
                     c->stream_id, (int) c->model_len, c->model);
        }
        c->content_len = frame_chunk(c->content_ev, payload, pn, 0);
    }

    hl = sprintf(hdr, "HTTP/1.1 200 OK\r\n"
                 "Content-Type: text/event-stream; charset=utf-8\r\n"
                 "Transfer-Encoding: chunked\r\n"
                 "Connection: keep-alive\r\n"
                 "Cache-Control: no-cache\r\n"
                 "%s: req_bench%08lu\r\n"
                 "%s"
                 "\r\n",
                 kind == K_ANTHROPIC ? "request-id" : "x-request-id", req_id,
                 kind == K_OPENAI ? "openai-processing-ms: 87\r\n"
                 : kind == K_GEMINI ? "server-timing: gfet4t7; dur=87\r\n"
                 : "anthropic-organization-id: bench\r\n");

    if (send_bytes(c, hdr, hl) != 0) {
        return -1;
    }

    if (d > 0) {
        heap_push(now_ms() + d, c->fd, c->gen);
        c->in_heap = 1;
        return 0;
    }

    return stream_pump(c);
}


/* parse and answer complete requests in rbuf while the conn is idle */

static int
process_input(conn_t *c)
{
    char        *he;
    const char  *cl;
    size_t       hlen, blen, total;

    while (!c->streaming && c->wlen == 0 && c->rlen) {

        he = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);

        if (he == NULL) {
            if (c->rlen > 65536) {
                return -1;
            }
            return 0;
        }

        hlen = he + 4 - c->rbuf;
        blen = 0;

        cl = memmem_ci_header(c->rbuf, hlen, "content-length");
        if (cl) {
            blen = strtoul(cl, NULL, 10);
        }

        if (blen > MAX_REQUEST) {
            return -1;
        }

        total = hlen + blen;

        if (c->rlen < total) {
            return 0;
        }

        if (handle_request(c, c->rbuf, hlen, c->rbuf + hlen, blen) != 0) {
            return -1;
        }

        memmove(c->rbuf, c->rbuf + total, c->rlen - total);
        c->rlen -= total;

        if (c->close_after && !c->streaming && c->wlen == 0) {
            return -1;
        }
    }

    return 0;
}


static void
on_read(conn_t *c)
{
    ssize_t  n;

    for ( ;; ) {
        if (c->rcap - c->rlen < 16384) {
            c->rcap = c->rcap ? c->rcap * 2 : 32768;
            if (c->rcap > MAX_REQUEST + 65536) {
                conn_close(c);
                return;
            }
            c->rbuf = realloc(c->rbuf, c->rcap);
            if (c->rbuf == NULL) {
                perror("realloc");
                exit(1);
            }
        }

        n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);

        if (n > 0) {
            size_t  asked = c->rcap - c->rlen;

            c->rlen += n;

            if ((size_t) n < asked) {
                break;      /* short read: the socket is drained */
            }

            continue;
        }

        if (n == 0) {
            conn_close(c);
            return;
        }

        if (errno == EAGAIN) {
            break;
        }

        if (errno == EINTR) {
            continue;
        }

        conn_close(c);
        return;
    }

    if (process_input(c) != 0) {
        conn_close(c);
    }
}


static void
on_write(conn_t *c)
{
    int  rc;

    rc = flush_out(c);

    if (rc < 0) {
        conn_close(c);
        return;
    }

    if (rc > 0) {
        return;
    }

    if (c->streaming && c->delay_ms == 0) {
        if (stream_pump(c) != 0) {
            conn_close(c);
            return;
        }
    }

    if (!c->streaming && c->wlen == 0) {
        if (c->close_after) {
            conn_close(c);
            return;
        }

        if (process_input(c) != 0) {
            conn_close(c);
        }
    }
}


static void
on_timer(timer_t_ t)
{
    conn_t  *c;

    if (t.fd < 0 || t.fd >= nconns) {
        return;
    }

    c = conns[t.fd];

    if (c == NULL || c->gen != t.gen || !c->streaming) {
        return;
    }

    c->in_heap = 0;

    if (stream_pump(c) != 0) {
        conn_close(c);
        return;
    }

    if (!c->streaming && c->wlen == 0) {
        if (c->close_after || process_input(c) != 0) {
            conn_close(c);
        }
    }
}


static void
on_accept(int lfd)
{
    int                  fd, one = 1;
    conn_t              *c;
    struct epoll_event   ev;

    for ( ;; ) {
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }

        if (fd >= nconns) {
            close(fd);
            continue;
        }

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        c = calloc(1, sizeof(conn_t));
        if (c == NULL) {
            perror("calloc");
            exit(1);
        }

        c->fd = fd;
        c->gen = ++gen_counter;
        conns[fd] = c;

        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
}


int
main(int argc, char **argv)
{
    int                  lfd, one = 1, n, i, timeout;
    uint64_t             now;
    socklen_t            sl;
    struct rlimit        rl;
    struct sockaddr_in   sa;
    struct epoll_event   evs[MAX_EVENTS], ev;
    struct sigaction     sigact;

    signal(SIGPIPE, SIG_IGN);

    memset(&sigact, 0, sizeof(sigact));
    sigact.sa_handler = on_signal;
    sigaction(SIGTERM, &sigact, NULL);
    sigaction(SIGINT, &sigact, NULL);

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        nconns = (int) (rl.rlim_cur > 1048576 ? 1048576 : rl.rlim_cur);

    } else {
        nconns = 1024;
    }

    conns = calloc(nconns, sizeof(conn_t *));

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);

    if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || listen(lfd, 4096) != 0)
    {
        perror("bind/listen");
        return 1;
    }

    sl = sizeof(sa);
    getsockname(lfd, (struct sockaddr *) &sa, &sl);
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    ep = epoll_create1(EPOLL_CLOEXEC);

    ev.events = EPOLLIN;
    ev.data.fd = -1;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    while (!quit) {

        timeout = -1;

        if (heap_len) {
            now = now_ms();
            timeout = heap[0].at > now ? (int) (heap[0].at - now) : 0;
        }

        n = epoll_wait(ep, evs, MAX_EVENTS, timeout);

        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }

        for (i = 0; i < n; i++) {
            int      fd = evs[i].data.fd;
            conn_t  *c;

            if (fd == -1) {
                on_accept(lfd);
                continue;
            }

            c = conns[fd];
            if (c == NULL) {
                continue;
            }

            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                conn_close(c);
                continue;
            }

            if (evs[i].events & EPOLLOUT) {
                on_write(c);
                c = conns[fd];
                if (c == NULL) {
                    continue;
                }
            }

            if (evs[i].events & (EPOLLIN | EPOLLRDHUP)) {
                on_read(c);
            }
        }

        if (heap_len) {
            now = now_ms();

            while (heap_len && heap[0].at <= now) {
                on_timer(heap_pop());
            }
        }
    }

    return 0;
}
