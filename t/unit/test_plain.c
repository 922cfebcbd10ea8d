/*
 * Unit tests for plain requests (src/core/llm_plain.c): which requests
 * are plain, and that the native request built from the spans means the
 * same as the one the dialect's general builder writes from the tree.
 *
 * usage: test_plain [repo-root]   (the root is not needed here)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_dialect.h"
#include "tap.h"


#define USER  "{\"role\":\"user\",\"content\":\"hi\"}"


static const char  *plain_bodies[] = {
    "{\"model\":\"m\",\"messages\":[" USER "]}",
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":"
        "{\"include_usage\":true},\"messages\":[" USER "]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
        "\"Be brief.\"},{\"role\":\"developer\",\"content\":\"\"},"
        "{\"role\":\"developer\",\"content\":\"Quote \\\"exactly\\\"\\n"
        "\\u00e9\\ud83d\\ude00\"}," USER "],\"temperature\":0.7,"
        "\"max_tokens\":256}",
    "{\"model\":\"m\",\"messages\":[" USER "," USER ",{\"role\":"
        "\"assistant\",\"content\":\"a\"},{\"role\":\"assistant\","
        "\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"b\","
        "\"name\":\"bot\"}," USER "],\"temperature\":1.8,\"top_p\":0.5,"
        "\"n\":1,\"seed\":42,\"max_completion_tokens\":7,\"max_tokens\":9}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
        "\"only a system prompt\"}],\"stop\":\"END\",\"user\":\"u-1\"}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"stop\":[ ],"
        "\"temperature\":null,\"user\":null}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"stop\":[\"a\",\n\"b\\t\"],"
        "\"temperature\":0,\"top_p\":1e0}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\"},"
        "{\"role\":\"system\",\"content\":\"late system\"}],\"n\":3}",
    NULL
};


static const char  *not_plain_bodies[] = {
    /* content parts */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
    /* tools and their history */
    "{\"model\":\"m\",\"messages\":[" USER "],\"tools\":[]}",
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[]}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\","
        "\"tool_call_id\":\"c\"}]}",
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"tool\","
        "\"content\":\"x\"}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"function\","
        "\"content\":\"x\"}]}",
    /* an assistant turn without content */
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\"}]}",
    /* parameters a dialect maps or refuses */
    "{\"model\":\"m\",\"messages\":[" USER "],\"response_format\":"
        "{\"type\":\"json_object\"}}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"reasoning_effort\":\"low\"}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"logprobs\":true}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"x_unknown\":1}",
    NULL
};


static const llm_dialect_t  *dialects[2];


/* builds req with the plain path or the tree; the body parsed */

static llm_json_t *
build(const llm_dialect_t *d, llm_request_t *req, int plain, long long max)
{
    unsigned     saved;
    llm_buf_t    b;
    llm_json_t  *j;

    memset(&b, 0, sizeof(llm_buf_t));

    saved = req->plain;
    req->plain = plain;
    req->max_tokens_default = max;

    j = NULL;

    if (d->build_request(req, "up-model", &b) == LLM_OK) {
        j = llm_json_parse(b.data, b.len, NULL);

        if (j == NULL) {
            diag("not JSON: %.*s", (int) b.len, b.data);
        }
    }

    req->plain = saved;
    llm_buf_free(&b);

    return j;
}


static void
same_meaning(const char *body, int i)
{
    int             k, same;
    char           *a, *t;
    llm_error_t     e;
    llm_json_t     *plain, *tree;
    llm_request_t   req;
    long long       max;

    if (llm_request_parse(&req, body, strlen(body), &e) != LLM_OK) {
        ok(0, "plain %d parses: %s", i, e.message);
        return;
    }

    ok(req.plain, "plain %d is plain", i);

    for (k = 0; k < 2; k++) {
        for (max = 0; max <= 1000; max += 1000) {
            plain = build(dialects[k], &req, 1, max);
            tree = build(dialects[k], &req, 0, max);

            same = plain && tree && cJSON_Compare(plain, tree, 1);

            ok(same, "plain %d, %s, default max %lld: same request", i,
               dialects[k]->name, max);

            if (!same && plain && tree) {
                a = cJSON_PrintUnformatted(plain);
                t = cJSON_PrintUnformatted(tree);
                diag("plain: %s", a);
                diag("tree:  %s", t);
                free(a);
                free(t);
            }

            llm_json_free(plain);
            llm_json_free(tree);
        }
    }

    llm_request_free(&req);
}


/*
 * A conversation with tool calls, tool results, content parts, a system
 * prompt, escapes and non-ASCII text, long enough that its texts are kept
 * out of the tree: built with them out and with them in, each dialect
 * writes the same request.
 */

static const char *
long_text(llm_buf_t *b, int i)
{
    int  k;

    b->len = 0;

    /* starts with a letter, or with what is never kept out */
    llm_buf_append_cstr(b, (i % 5 == 4) ? "  lead" : (i % 5 == 3)
                                               ? "\\nlead" : "Lead");

    for (k = 0; k < 20; k++) {
        llm_buf_append_cstr(b, (k + i) % 3 ? " caf\u00e9 \\\"q\\\" word"
                                           : " \\n\u65e5\u672c words");
    }

    llm_buf_append(b, "", 1);

    return b->data;
}


static void
same_without_texts(void)
{
    int             i, k, stream, same;
    char           *a, *t;
    llm_buf_t       b, text;
    llm_json_t     *out[2];
    llm_error_t     e;
    llm_request_t   req;
    const llm_dialect_t  *all[3];

    all[0] = dialects[0];
    all[1] = dialects[1];
    all[2] = llm_dialect_find("openai", 6);

    memset(&text, 0, sizeof(llm_buf_t));

    for (stream = 0; stream < 2; stream++) {
        memset(&b, 0, sizeof(llm_buf_t));

        llm_buf_append_cstr(&b, stream
                            ? "{\"model\":\"m\",\"stream\":true,"
                              "\"stream_options\":{\"include_usage\":false},"
                            : "{\"model\":\"m\",");
        llm_buf_append_cstr(&b, "\"tools\":[{\"type\":\"function\","
            "\"function\":{\"name\":\"read\",\"description\":\"Read.\","
            "\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":"
            "{\"type\":\"string\"}},\"required\":[\"path\"]}}}],"
            "\"messages\":[{\"role\":\"system\",\"content\":\"");
        llm_buf_append_cstr(&b, long_text(&text, 0));
        llm_buf_append_cstr(&b, "\"}");

        for (i = 1; i < 12; i++) {
            llm_buf_append_cstr(&b, ",{\"role\":\"user\",\"content\":");

            if (i % 2) {
                llm_buf_append_cstr(&b, "\"");
                llm_buf_append_cstr(&b, long_text(&text, i));
                llm_buf_append_cstr(&b, "\"}");

            } else {
                llm_buf_append_cstr(&b, "[{\"type\":\"text\",\"text\":\"");
                llm_buf_append_cstr(&b, long_text(&text, i));
                llm_buf_append_cstr(&b, "\"},{\"type\":\"text\",\"text\":"
                                    "\"short\"}]}");
            }

            llm_buf_append_cstr(&b, ",{\"role\":\"assistant\",\"content\":"
                "null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
                "\"function\",\"function\":{\"name\":\"read\","
                "\"arguments\":\"{\\\"path\\\":\\\"a.c\\\"}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                "\"content\":\"");
            llm_buf_append_cstr(&b, long_text(&text, i + 1));
            llm_buf_append_cstr(&b, "\"}");
        }

        llm_buf_append_cstr(&b, "]}");

        for (k = 0; k < 3; k++) {
            if (llm_request_parse(&req, b.data, b.len, &e) != LLM_OK) {
                ok(0, "long texts parse: %s", e.message);
                continue;
            }

            for (i = 0; i < 2; i++) {
                llm_buf_t  o;

                llm_request_free(&req);
                (void) llm_request_parse(&req, b.data, b.len, &e);
                req.whole_tree = i;

                memset(&o, 0, sizeof(llm_buf_t));
                out[i] = NULL;

                if (all[k]->build_request(&req, "up", &o) == LLM_OK) {
                    out[i] = llm_json_parse(o.data, o.len, NULL);
                }

                if (i == 0) {
                    ok(req.ntexts > 10, "%s, stream %d: %d texts kept out",
                       all[k]->name, stream, req.ntexts);
                    ok(o.len && memchr(o.data, 0x7f, o.len) == NULL,
                       "%s, stream %d: no mark left", all[k]->name, stream);
                }

                llm_buf_free(&o);
            }

            same = out[0] && out[1] && cJSON_Compare(out[0], out[1], 1);

            ok(same, "%s, stream %d: the same request with the texts out",
               all[k]->name, stream);

            if (!same && out[0] && out[1]) {
                a = cJSON_PrintUnformatted(out[0]);
                t = cJSON_PrintUnformatted(out[1]);
                diag("out: %s", a);
                diag("in:  %s", t);
                free(a);
                free(t);
            }

            llm_json_free(out[0]);
            llm_json_free(out[1]);
            llm_request_free(&req);
        }

        llm_buf_free(&b);
    }

    llm_buf_free(&text);
}


int
main(void)
{
    int             i;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    dialects[0] = llm_dialect_find("anthropic", 9);
    dialects[1] = llm_dialect_find("gemini", 6);

    for (i = 0; plain_bodies[i]; i++) {
        same_meaning(plain_bodies[i], i);
    }

    for (i = 0; not_plain_bodies[i]; i++) {
        if (llm_request_parse(&req, not_plain_bodies[i],
                              strlen(not_plain_bodies[i]), &e) != LLM_OK)
        {
            ok(0, "not plain %d parses: %s", i, e.message);
            continue;
        }

        ok(!req.plain, "not plain %d", i);
        llm_request_free(&req);
    }

    /* more messages than the request holds inline: still plain, the
     * same request */

    memset(&b, 0, sizeof(llm_buf_t));
    llm_buf_append_lit(&b, "{\"model\":\"m\",\"messages\":[{\"role\":"
                       "\"system\",\"content\":\"s\"}");

    for (i = 0; i < 5 * LLM_PLAIN_INLINE_MESSAGES; i++) {
        llm_buf_append_cstr(&b, (i % 3 == 2)
                                ? ",{\"role\":\"assistant\",\"content\":\"a\"}"
                                : "," USER);
    }

    llm_buf_append_lit(&b, "],\"max_tokens\":50}");
    llm_buf_append(&b, "", 1);

    same_meaning(b.data, 99);

    llm_buf_free(&b);

    /* long texts kept out of the tree: the same request as with them in */

    same_without_texts();

    /* the exact bytes of the common case */

    if (llm_request_parse(&req, plain_bodies[2], strlen(plain_bodies[2]), &e)
        == LLM_OK)
    {
        memset(&b, 0, sizeof(llm_buf_t));
        dialects[0]->build_request(&req, "claude", &b);
        is_str(b.data, b.len,
               "{\"model\":\"claude\",\"system\":\"Be brief.\\n\\nQuote "
               "\\\"exactly\\\"\\n\\u00e9\\ud83d\\ude00\",\"messages\":"
               "[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
               "\"text\":\"hi\"}]}],\"max_tokens\":256,\"temperature\":0.7}",
               "anthropic plain bytes");
        llm_buf_free(&b);
        llm_request_free(&req);
    }

    return done_testing();
}
