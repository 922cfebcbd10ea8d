/*
 * The validating JSON scanner: what it accepts and refuses (RFC 8259,
 * plus paired surrogates like cJSON), and the paths it reports.
 *
 * usage: test_json_scan [repo-root]   (the root is not needed here)
 */

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "llm_buf.h"
#include "llm_json_scan.h"


typedef struct {
    char  seen[1024];
    int   calls;
} trace_t;


/* records "depth:path=type" for every value, path steps joined by '.' */

static int
trace(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    int       i;
    size_t    len;
    trace_t  *t = data;

    len = strlen(t->seen);

    for (i = 0; i < depth; i++) {
        if (path[i].key) {
            len += snprintf(t->seen + len, sizeof(t->seen) - len, "%s%.*s",
                            i ? "." : "", (int) path[i].key_len, path[i].key);

        } else {
            len += snprintf(t->seen + len, sizeof(t->seen) - len, "%s[%d]",
                            i ? "." : "", path[i].index);
        }
    }

    snprintf(t->seen + len, sizeof(t->seen) - len, "=%d ", (int) type);

    t->calls++;

    return LLM_OK;
}


/*
 * Strings are skimmed 32, 16 or 8 bytes at a time: each kind of byte at
 * each position of two 32-byte steps must still be seen.  Content
 * bytes: 'a' (plain), 0x7f (plain, the edge of the word test), 0xff
 * (never in UTF-8: invalid), 0xc3 starting "\xc3\xa9" (valid UTF-8),
 * 0x1f and 0x00 (a raw control byte: invalid), '\\' starting "\\n"
 * (valid), '"' ending the string early (trailing bytes: invalid).
 */

static void
string_positions(void)
{
    int             pos, k, bad;
    char            buf[80];
    size_t          len;
    unsigned char   special[] = { 0x7f, 0xff, 0xc3, 0x1f, 0x00, '\\', '"' };
    int             valid[] = { 1, 0, 1, 0, 0, 1, 0 };

    bad = 0;

    for (k = 0; k < (int) sizeof(special); k++) {
        for (pos = 0; pos < 70; pos++) {
            memset(buf, 'a', sizeof(buf));
            buf[0] = '"';
            buf[1 + pos] = (char) special[k];

            if (special[k] == '\\') {
                buf[2 + pos] = 'n';
            }

            if (special[k] == 0xc3) {
                buf[2 + pos] = (char) 0xa9;
            }

            len = 75;
            buf[len - 1] = '"';

            if ((llm_json_valid(buf, len, NULL) == LLM_OK) != valid[k]) {
                diag("byte 0x%02x at %d", special[k], pos);
                bad++;
            }
        }
    }

    ok(bad == 0, "each special byte at each word position");
}


/* llm_buf_append_json_string() against a byte-by-byte reference */

static void
escape_reference(llm_buf_t *b, const unsigned char *p, size_t n)
{
    size_t  i;
    char    tmp[8];

    llm_buf_append_lit(b, "\"");

    for (i = 0; i < n; i++) {
        switch (p[i]) {
        case '"':  llm_buf_append_lit(b, "\\\""); break;
        case '\\': llm_buf_append_lit(b, "\\\\"); break;
        case '\n': llm_buf_append_lit(b, "\\n"); break;
        case '\r': llm_buf_append_lit(b, "\\r"); break;
        case '\t': llm_buf_append_lit(b, "\\t"); break;
        case '\b': llm_buf_append_lit(b, "\\b"); break;
        case '\f': llm_buf_append_lit(b, "\\f"); break;
        default:
            if (p[i] < 0x20) {
                snprintf(tmp, sizeof(tmp), "\\u%04x", p[i]);
                llm_buf_append_cstr(b, tmp);

            } else {
                llm_buf_append(b, (const char *) &p[i], 1);
            }
        }
    }

    llm_buf_append_lit(b, "\"");
}


static void
escapes(void)
{
    int             k, bad;
    size_t          n, i;
    unsigned char   s[200];
    unsigned int    seed;
    llm_buf_t       got, want;

    memset(&got, 0, sizeof(llm_buf_t));
    memset(&want, 0, sizeof(llm_buf_t));

    seed = 1;
    bad = 0;

    /* every length to 200, bytes of all kinds, rare or dense specials */

    for (k = 0; k < 2000; k++) {
        n = (size_t) k % 200;

        for (i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            s[i] = (k & 1) ? (unsigned char) (seed >> 16)
                           : (unsigned char) ((seed >> 16) % 97 == 0
                                              ? (seed >> 8) % 40 : 'a' + i % 26);
        }

        llm_buf_reset(&got);
        llm_buf_reset(&want);
        llm_buf_append_json_string(&got, (const char *) s, n);
        escape_reference(&want, s, n);

        if (got.len != want.len || memcmp(got.data, want.data, got.len)) {
            bad++;
        }
    }

    ok(bad == 0, "escaping, 16 bytes a step, as byte by byte (%d differ)",
       bad);

    llm_buf_free(&got);
    llm_buf_free(&want);
}


int
main(int argc, char **argv)
{
    size_t        i, off;
    trace_t       t;
    const char   *p;

    static const char  *valid[] = {
        "{}", "[]", " {\"a\" : [1, -2.5e+3, true, false, null]} ",
        "\"\\u00e9\\ud83d\\ude00\\n\"", "0", "-0.0", "1E9",
        "{\"a\":{\"b\":{\"c\":[[]]}}}"
    };

    static const char  *invalid[] = {
        "", " ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "01",
        "1.", ".5", "-", "1e", "tru", "nul", "\"abc", "\"a\tb\"",
        "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "{} {}", "{'a':1}", "[1 2]", "{\"a\" 1}"
    };

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        ok(llm_json_valid(valid[i], strlen(valid[i]), NULL) == LLM_OK,
           "valid: %s", valid[i]);
    }

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        ok(llm_json_valid(invalid[i], strlen(invalid[i]), NULL) == LLM_ERROR,
           "invalid: %s", invalid[i]);
    }

    p = "{\n  \"a\": [1, 2,, 3]\n}";
    ok(llm_json_valid(p, strlen(p), &off) == LLM_ERROR && off == 15,
       "the error offset points at the second comma (got %zu)", off);

    /* nesting is bounded: a hostile body cannot exhaust the stack */
    {
        static char  deep[4 * LLM_JSON_SCAN_MAX_DEPTH];

        memset(deep, '[', sizeof(deep));
        ok(llm_json_valid(deep, sizeof(deep), NULL) == LLM_ERROR,
           "nesting deeper than %d is refused", LLM_JSON_SCAN_MAX_DEPTH);
    }

    memset(&t, 0, sizeof(t));
    p = "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}],"
        "\"n\":[[1]]}";

    ok(llm_json_scan(p, strlen(p), 3, trace, &t) == LLM_OK, "scan OK");
    is_str(t.seen, strlen(t.seen),
           "id=2 choices.[0].delta=0 choices.[0]=0 choices=1 n.[0].[0]=3 "
           "n.[0]=1 n=1 =0 ",
           "paths, children first, up to depth 3");

    memset(&t, 0, sizeof(t));
    ok(llm_json_scan(p, strlen(p), 0, trace, &t) == LLM_OK && t.calls == 1,
       "depth 0: the root only");

    is_int(llm_json_scan_int("123", "123" + 3), 123, "scan_int 123");
    is_int(llm_json_scan_int("1.5", "1.5" + 3), -1, "scan_int 1.5 is -1");
    is_int(llm_json_scan_int("-1", "-1" + 2), -1, "scan_int -1 is -1");
    is_int(llm_json_scan_int("99999999999999999999", "99999999999999999999"
                             + 20), -1, "scan_int above 1e15 is -1");

    string_positions();
    escapes();

    (void) argc;
    (void) argv;

    return done_testing();
}
