/*
 * Unit tests for JSON string escaping (src/core/llm_buf.c), error
 * envelopes and frames (src/core/llm_error.c), llm_response_fail() and
 * the small JSON helpers (src/core/llm_json.c).
 *
 * usage: test_error [repo-root]   (the root is not needed here)
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_dialect.h"
#include "tap.h"


typedef struct {
    const char    *name;
    const char    *in;
    size_t         len;         /* 0: strlen(in) */
    const char    *expect;
} esc_case_t;


static const esc_case_t  esc_cases[] = {
    { "empty", "", 0, "\"\"" },
    { "plain", "hello", 0, "\"hello\"" },
    { "quote", "a\"b", 0, "\"a\\\"b\"" },
    { "backslash", "a\\b", 0, "\"a\\\\b\"" },
    { "slash is not escaped", "a/b", 0, "\"a/b\"" },
    { "short escapes", "\n\r\t\b\f", 0, "\"\\n\\r\\t\\b\\f\"" },
    { "control bytes", "\x01\x1f", 0, "\"\\u0001\\u001f\"" },
    { "NUL", "\0", 1, "\"\\u0000\"" },
    { "NUL in the middle", "a\0b", 3, "\"a\\u0000b\"" },
    { "DEL passes", "\x7f", 0, "\"\x7f\"" },
    { "UTF-8 passes", "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80", 0,
      "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"" },
    { "SSE breaker", "x\n\ndata: [DONE]\n\n", 0,
      "\"x\\n\\ndata: [DONE]\\n\\n\"" },
    { NULL, NULL, 0, NULL }
};


/* pieces of the random strings */
static const char  *pieces[] = {
    "\"", "\\", "\n", "\r", "\t", "\x01", "\x1f", "\x7f", "a",
    " ", "\\u0041", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80",
    "data: ", "}", "{"
};


static unsigned long long  rnd_state = 0x9e3779b97f4a7c15ULL;


/* reproducible pseudo-random numbers below n, from this file's seed */
#define rnd(n)  tap_rnd(&rnd_state, n)


/* the escaped string parses back to the same bytes (no NUL: cJSON stops) */

static int
round_trips(const char *p, size_t n)
{
    int         rc;
    cJSON      *j;
    llm_buf_t   b;

    memset(&b, 0, sizeof(llm_buf_t));

    if (llm_buf_append_json_string(&b, p, n) != LLM_OK) {
        return 0;
    }

    j = cJSON_ParseWithLength(b.data, b.len);

    rc = cJSON_IsString(j)
         && strlen(j->valuestring) == n
         && memcmp(j->valuestring, p, n) == 0;

    /* and there is no raw line end or control byte in the escaped form */
    rc = rc && memchr(b.data, '\n', b.len) == NULL
            && memchr(b.data, '\r', b.len) == NULL;

    cJSON_Delete(j);
    llm_buf_free(&b);

    return rc;
}


static void
test_escaping(void)
{
    int                 i, bad;
    char                s[512], *big;
    size_t              n, k, len;
    llm_buf_t           b;
    const char         *piece;
    const esc_case_t   *c;

    memset(&b, 0, sizeof(llm_buf_t));

    for (c = esc_cases; c->name; c++) {
        b.len = 0;
        n = c->len ? c->len : strlen(c->in);

        ok(llm_buf_append_json_string(&b, c->in, n) == LLM_OK,
           "escape %s: LLM_OK", c->name);
        is_str(b.data, b.len, c->expect, "escape %s", c->name);
    }

    /* appends after what is there */

    b.len = 0;
    llm_buf_append_lit(&b, "{\"k\":");
    llm_buf_append_json_string(&b, "v\"", 2);
    llm_buf_append_lit(&b, "}");
    is_str(b.data, b.len, "{\"k\":\"v\\\"\"}", "escape appends");

    /* the worst case fits: every byte becomes \u00XX */

    b.len = 0;
    llm_buf_append_lit(&b, "x");

    big = malloc(5000);
    memset(big, 1, 5000);

    ok(llm_buf_append_json_string(&b, big, 5000) == LLM_OK
       && b.len == 1 + 5000 * 6 + 2 && b.len <= b.cap,
       "5000 control bytes: 30003 bytes");
    ok(b.data[b.len - 1] == '"'
       && memcmp(b.data + b.len - 7, "\\u0001", 6) == 0,
       "5000 control bytes: ends with \\u0001\"");

    free(big);

    llm_buf_free(&b);

    /* every byte value but NUL, in one string */

    for (k = 0; k < 255; k++) {
        s[k] = (char) (k + 1);
    }

    ok(round_trips(s, 255), "bytes 0x01..0xff round-trip through cJSON");

    /* random strings of quotes, backslashes, controls and UTF-8 */

    bad = 0;

    for (i = 0; i < 2000; i++) {
        n = 0;
        k = rnd(40);

        while (k--) {
            piece = pieces[rnd(sizeof(pieces) / sizeof(char *))];
            len = strlen(piece);

            memcpy(s + n, piece, len);
            n += len;
        }

        if (!round_trips(s, n)) {
            diag("does not round-trip: '%.*s'", (int) n, s);
            bad++;
        }
    }

    is_int(bad, 0, "2000 random strings round-trip through cJSON");
}


static void
test_buf(void)
{
    llm_buf_t  b;

    memset(&b, 0, sizeof(llm_buf_t));

    ok(llm_buf_append(&b, "x", 0) == LLM_OK && b.len == 0,
       "append of 0 bytes");

    llm_buf_append_int(&b, 0);
    llm_buf_append_lit(&b, ",");
    llm_buf_append_int(&b, -1);
    llm_buf_append_lit(&b, ",");
    llm_buf_append_int(&b, 1234567890123LL);
    llm_buf_append_lit(&b, ",");
    llm_buf_append_int(&b, LLONG_MIN);
    llm_buf_append_lit(&b, ",");
    llm_buf_append_int(&b, LLONG_MAX);

    is_str(b.data, b.len, "0,-1,1234567890123,-9223372036854775808,"
           "9223372036854775807", "llm_buf_append_int");

    llm_buf_reset(&b);
    ok(b.len == 0 && b.cap >= 256, "reset keeps the memory");

    llm_buf_append_cstr(&b, "abc");
    is_str(b.data, b.len, "abc", "append_cstr after reset");

    llm_buf_free(&b);
    ok(b.data == NULL && b.len == 0 && b.cap == 0, "free clears");
}


static void
test_error_set(void)
{
    char          big[3000];
    llm_error_t   e;

    llm_error_set(&e, 400, "temperature", "invalid_value", "got %d and %s",
                  5, "x");
    ok(e.status == 400 && strcmp(e.param, "temperature") == 0
       && strcmp(e.code, "invalid_value") == 0
       && strcmp(e.message, "got 5 and x") == 0
       && strcmp(e.type, "invalid_request_error") == 0,
       "llm_error_set fills every field");

    llm_error_set(&e, 401, NULL, NULL, "m");
    ok(e.param[0] == '\0' && e.code[0] == '\0', "NULL param/code are \"\"");

    memset(big, 'p', sizeof(big));
    big[sizeof(big) - 1] = '\0';

    llm_error_set(&e, 400, big, big, "%s", big);
    ok(strlen(e.param) == sizeof(e.param) - 1
       && strlen(e.code) == sizeof(e.code) - 1
       && strlen(e.message) == LLM_ERR_MSG_LEN - 1,
       "long param, code and message are truncated");
}


static void
test_frame(void)
{
    char          *p;
    cJSON         *j;
    llm_buf_t      b;
    llm_error_t    e;

    memset(&b, 0, sizeof(llm_buf_t));

    llm_error_set(&e, 502, NULL, "stream_truncated", "cut");
    ok(llm_error_frame(&e, &b) == LLM_OK, "llm_error_frame: LLM_OK");
    is_str(b.data, b.len,
           "data: {\"error\":{\"message\":\"cut\",\"type\":\"api_error\","
           "\"param\":null,\"code\":\"stream_truncated\"}}\n\n"
           "data: [DONE]\n\n",
           "llm_error_frame: exact bytes");

    /* a message with line ends stays inside its one data line */

    b.len = 0;
    llm_error_set(&e, 400, "p", "c", "a\n\nb\r\nc");
    llm_error_frame(&e, &b);

    ok(b.len > 6 && memcmp(b.data, "data: ", 6) == 0,
       "frame with line ends: starts with data:");

    p = memchr(b.data, '\n', b.len);
    ok(p && p[1] == '\n' && b.data + b.len - (p + 2) == 14
       && memcmp(p + 2, "data: [DONE]\n\n", 14) == 0,
       "frame with line ends: one event, then [DONE]");

    j = p ? cJSON_ParseWithLength(b.data + 6, p - b.data - 6) : NULL;
    ok(j && strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"),
                                       "message")->valuestring,
                   "a\n\nb\r\nc") == 0,
       "frame with line ends: the message parses back");
    cJSON_Delete(j);

    llm_buf_free(&b);
}


static void
test_fail(void)
{
    int              rc;
    llm_buf_t        b;
    llm_response_t   resp;

    memset(&b, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    llm_response_init(&resp, "client-model", 1);

    rc = llm_response_fail(&resp, &b, 529, "overloaded", "busy");
    ok(rc == LLM_DONE && resp.done && resp.failed
       && resp.error.status == 503 && strcmp(resp.error.code, "overloaded")
          == 0,
       "llm_response_fail: LLM_DONE, done, failed, 529 -> 503");
    is_str(b.data, b.len,
           "data: {\"error\":{\"message\":\"busy\",\"type\":\"api_error\","
           "\"param\":null,\"code\":\"overloaded\"}}\n\ndata: [DONE]\n\n",
           "llm_response_fail: the frame");

    b.len = 0;
    rc = llm_response_fail(&resp, &b, 500, "again", "again");
    ok(rc == LLM_DONE && b.len == 0
       && strcmp(resp.error.code, "overloaded") == 0,
       "llm_response_fail after the end: nothing written, error kept");

    /* init keeps the usage buffer's memory, forgets the rest */

    llm_buf_append_lit(&resp.usage_json, "{\"x\":1}");
    llm_response_init(&resp, "m2", 0);
    ok(!resp.done && !resp.failed && resp.usage_json.len == 0
       && resp.usage_json.data != NULL && strcmp(resp.client_model, "m2") == 0,
       "llm_response_init resets the state, keeps memory");

    llm_response_free(&resp);
    llm_buf_free(&b);
}


static void
test_json_helpers(void)
{
    size_t       off, line, col;
    cJSON       *j;
    const char  *s;

    llm_json_position("ab\ncd", 0, &line, &col);
    ok(line == 1 && col == 1, "position of byte 0: 1:1");

    llm_json_position("ab\ncd", 4, &line, &col);
    ok(line == 2 && col == 2, "position of byte 4 in ab\\ncd: 2:2");

    s = "{\"a\":1} \r\n\t";
    j = llm_json_parse(s, strlen(s), &off);
    ok(j != NULL, "trailing whitespace is accepted");
    llm_json_free(j);

    s = "{\"a\":1} x";
    off = 0;
    j = llm_json_parse(s, strlen(s), &off);
    ok(j == NULL && off == 8, "trailing garbage: NULL, offset 8");

    off = 99;
    j = llm_json_parse("", 0, &off);
    ok(j == NULL && off == 0, "empty input: NULL, offset 0");

    s = "{\"i\":5.7,\"neg\":-3,\"s\":\"5\",\"o\":{},\"a\":[],\"n\":null}";
    j = llm_json_parse(s, strlen(s), NULL);

    ok(llm_json_get_int(j, "i") == 5 && llm_json_get_int(j, "neg") == -1
       && llm_json_get_int(j, "s") == -1 && llm_json_get_int(j, "x") == -1,
       "llm_json_get_int");
    ok(llm_json_get_obj(j, "o") != NULL && llm_json_get_obj(j, "a") == NULL
       && llm_json_get_arr(j, "a") != NULL && llm_json_get_arr(j, "o") == NULL
       && llm_json_get_str(j, "s") != NULL && llm_json_get_str(j, "i") == NULL,
       "typed member lookups");
    ok(llm_json_get(llm_json_get(j, "a"), "x") == NULL
       && llm_json_get(NULL, "x") == NULL,
       "lookups in a non-object are NULL");
    ok(strcmp(llm_json_type_name(llm_json_get(j, "n")), "null") == 0
       && strcmp(llm_json_type_name(llm_json_get(j, "a")), "an array") == 0
       && strcmp(llm_json_type_name(llm_json_get(j, "o")), "an object") == 0,
       "type names");

    ok(llm_json_set_str(j, "s", "new") == LLM_OK
       && strcmp(llm_json_get_str(j, "s"), "new") == 0
       && cJSON_GetArraySize(j) == 6,
       "llm_json_set_str replaces");
    ok(llm_json_set_str(j, "added", "v") == LLM_OK
       && cJSON_GetArraySize(j) == 7,
       "llm_json_set_str adds");
    ok(llm_json_set(j, "x", NULL) == LLM_ERROR, "llm_json_set(NULL) fails");

    llm_json_free(j);
}


/* a provider's words with the key it was sent masked */

static void
test_mask(void)
{
    llm_error_t  e;
    const char  *key = "sk-secret-0123456789";

    llm_error_set(&e, 401, key, key, "Incorrect API key provided: %s. "
                  "Again: %s!", key, key);
    llm_error_mask(&e, key, strlen(key));

    is_str(e.message, strlen(e.message), "Incorrect API key provided: "
           LLM_ERR_MASK ". Again: " LLM_ERR_MASK "!", "mask: every copy");
    is_str(e.param, strlen(e.param), LLM_ERR_MASK, "mask: param too");
    is_str(e.code, strlen(e.code), LLM_ERR_MASK, "mask: code too");

    llm_error_set(&e, 401, NULL, NULL, "short key k: kept");
    llm_error_mask(&e, "k", 1);
    is_str(e.message, strlen(e.message), "short key k: kept",
           "mask: a secret under the minimum length is not looked for");

    llm_error_set(&e, 401, NULL, NULL, "no key here");
    llm_error_mask(&e, NULL, 0);
    is_str(e.message, strlen(e.message), "no key here", "mask: no secret");
}


/* a message cut at the buffer's size does not end inside a character */

static void
test_cut_utf8(void)
{
    char          text[LLM_ERR_MSG_LEN + 8];
    size_t        n;
    llm_error_t   e;

    /* "é" (2 bytes) straddles the last byte of the buffer */
    memset(text, 'a', sizeof(text));
    text[LLM_ERR_MSG_LEN - 2] = (char) 0xc3;
    text[LLM_ERR_MSG_LEN - 1] = (char) 0xa9;
    text[sizeof(text) - 1] = '\0';

    llm_error_set(&e, 502, NULL, NULL, "%s", text);
    n = strlen(e.message);

    ok(n == LLM_ERR_MSG_LEN - 2 && e.message[n - 1] == 'a',
       "a 2-byte character cut at the end is dropped whole");

    /* "😀" (4 bytes) fits exactly */
    memset(text, 'a', sizeof(text));
    memcpy(text + LLM_ERR_MSG_LEN - 5, "\xf0\x9f\x98\x80", 4);
    text[LLM_ERR_MSG_LEN - 1] = '\0';

    llm_error_set(&e, 502, NULL, NULL, "%s", text);
    ok(strlen(e.message) == LLM_ERR_MSG_LEN - 1,
       "a character that fits is kept");
}


/* a whole response keeps 16 choices, drops the rest, stays valid JSON */

static void
test_whole_choices(void)
{
    int             i, rc;
    cJSON          *j;
    llm_buf_t       out;
    llm_response_t  resp;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));

    llm_response_init(&resp, "m", 0);
    llm_response_whole(&resp);
    memcpy(resp.id, "chatcmpl-x", sizeof("chatcmpl-x"));

    rc = llm_event_start(&resp, &out);

    for (i = 0; i < 20 && rc == LLM_OK; i++) {
        rc = llm_event_text_copy(&resp, i, LLM_PART_CONTENT, "\"a\"", 3,
                                 &out);
        if (rc == LLM_OK) {
            rc = llm_event_finish(&resp, i, "stop", &out);
        }
    }

    ok(rc == LLM_OK && llm_event_end(&resp, &out) == LLM_DONE,
       "whole: 20 choices written");

    j = cJSON_ParseWithLength(out.data, out.len);

    ok(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")) == 16,
       "whole: 16 choices kept, the rest dropped, valid JSON");

    cJSON_Delete(j);
    llm_buf_free(&out);
    llm_response_free(&resp);
}


int
main(int argc, char **argv)
{
    test_escaping();
    test_buf();
    test_error_set();
    test_frame();
    test_fail();
    test_json_helpers();
    test_mask();
    test_cut_utf8();
    test_whole_choices();

    return done_testing();
}
