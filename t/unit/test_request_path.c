/*
 * Unit tests for the one request path of the dialects that rewrite the
 * body (src/core/llm_span.c, llm_request_pieces()): every request, text
 * chat or agent turn, is built from the request's spans and pieces, and
 * means the same as what the tree builders it replaced wrote
 * (t/unit/oracle.c); a text chat builds no tree at all, a tool history
 * only its pieces' trees.
 *
 * usage: test_request_path [repo-root]   (the root is not needed here)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_dialect.h"
#include "tap.h"
#include "oracle.h"


#define USER  "{\"role\":\"user\",\"content\":\"hi\"}"


/* text chats: no tree */

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
    /* integers written as decimals: the same integers */
    "{\"model\":\"m\",\"messages\":[" USER "],\"max_tokens\":2.0,"
        "\"seed\":4e0,\"n\":1.0}",
    /* the legacy function role (no name: nothing); no content */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"function\","
        "\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\"}]}",
    NULL
};


/* requests with pieces: the trees of those only */

static const char  *piece_bodies[] = {
    /* content parts */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
    /* tools and their history */
    "{\"model\":\"m\",\"messages\":[" USER "],\"tools\":[]}",
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[]}]}",
    /* parameters a dialect maps or refuses */
    "{\"model\":\"m\",\"messages\":[" USER "],\"response_format\":"
        "{\"type\":\"json_object\"}}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"reasoning_effort\":\"low\"}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"logprobs\":true}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"x_unknown\":1}",
    /* a tool round, results in parts and as text, a call of another turn */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"Be \\u0062rief.\"},"
        "{\"type\":\"text\",\"text\":\"\"}]}," USER ",{\"role\":"
        "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":"
        "\"c\\u00311\",\"type\":\"function\",\"function\":{\"name\":"
        "\"read\",\"arguments\":\"{\\\"p\\\":1}\"}},{\"id\":\"c2\","
        "\"type\":\"function\",\"function\":{\"name\":\"list\","
        "\"arguments\":\"\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
        "\"c11\",\"content\":\"one\"},{\"role\":\"system\",\"content\":"
        "\"late\"},{\"role\":\"tool\",\"tool_call_id\":\"c2\","
        "\"content\":[{\"type\":\"text\",\"text\":\"two\"},{\"type\":"
        "\"text\",\"text\":\" parts\"}]}," USER "],\"tools\":[{\"type\":"
        "\"function\",\"function\":{\"name\":\"read\",\"description\":"
        "\"Read.\",\"parameters\":{\"type\":\"object\",\"properties\":"
        "{\"p\":{\"type\":\"integer\"}}}}},{\"type\":\"function\","
        "\"function\":{\"name\":\"list\"}}],\"tool_choice\":\"auto\","
        "\"parallel_tool_calls\":false,\"temperature\":0.25,"
        "\"presence_penalty\":0.5,\"stop\":[\"x\"],\"user\":\"u\"}",
    /* a history with calls and no tools; a tool message last */
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"\"}]}",
    /* images, a named tool_choice, JSON output, reasoning */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"what is it?\"},{\"type\":"
        "\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
        "iVBORw0KGgo=\"}},{\"type\":\"image_url\",\"image_url\":"
        "\"https://example.com/a.jpg\"}]}],\"response_format\":{\"type\":"
        "\"json_schema\",\"json_schema\":{\"name\":\"o\",\"schema\":"
        "{\"type\":\"object\",\"properties\":{\"k\":{\"type\":"
        "\"string\"}}}}},\"max_tokens\":100}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"reasoning_effort\":"
        "\"high\",\"max_completion_tokens\":3000,\"temperature\":0.5,"
        "\"top_p\":0.9}",
    "{\"model\":\"m\",\"messages\":[" USER "],\"tools\":[{\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
        "{\"type\":\"object\"}}}],\"tool_choice\":{\"type\":"
        "\"function\",\"function\":{\"name\":\"f\"}}}",
    /* the legacy function role; a user message with a call (ignored) */
    "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":\"assistant\","
        "\"content\":\"x\",\"function_call\":{\"name\":\"g\","
        "\"arguments\":\"{}\"}},{\"role\":\"function\",\"name\":"
        "\"g\",\"content\":\"42\"},{\"role\":\"user\",\"content\":"
        "\"y\",\"tool_calls\":[{\"id\":\"u\",\"type\":\"function\","
        "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}]}",
    NULL
};


static const llm_dialect_t  *dialects[2];


/* the request by the dialect or by the oracle, parsed */

static llm_json_t *
build(const llm_dialect_t *d, const char *body, int oracle, long long max,
    int whole_tree, int *trees)
{
    int             rc;
    llm_buf_t       b;
    llm_json_t     *j;
    llm_error_t     e;
    llm_request_t   req;

    if (llm_request_parse(&req, body, strlen(body), &e) != LLM_OK) {
        diag("refused: %s", e.message);
        return NULL;
    }

    memset(&b, 0, sizeof(llm_buf_t));

    req.max_tokens_default = max;
    req.whole_tree = whole_tree;

    j = NULL;
    rc = d->check(&req, &e);

    if (rc != LLM_OK) {
        /* the same check before either builder: nothing to compare */
        j = llm_json_parse("\"refused\"", 9, NULL);

    } else if ((oracle ? oracle_build(d, &req, "up-model", &b)
                       : d->build_request(&req, "up-model", &b)) == LLM_OK)
    {
        j = llm_json_parse(b.data, b.len, NULL);

        if (j == NULL) {
            diag("not JSON: %.*s", (int) b.len, b.data);
        }
    }

    if (trees) {
        /* 1: the pieces' arena, 2: the whole tree too */
        *trees = (req.arena != NULL) + 2 * (req.root != NULL);
    }

    llm_buf_free(&b);
    llm_request_free(&req);

    return j;
}


static void
same_meaning(const char *body, const char *what, int i, int text_chat)
{
    int          k, same, trees;
    char        *a, *t;
    llm_json_t  *one, *tree;
    long long    max;

    for (k = 0; k < 2; k++) {
        for (max = 0; max <= 1000; max += 1000) {
            one = build(dialects[k], body, 0, max, 0, &trees);
            tree = build(dialects[k], body, 1, max, 0, NULL);

            same = one && tree && cJSON_Compare(one, tree, 1);

            ok(same, "%s %d, %s, default max %lld: the oracle's request",
               what, i, dialects[k]->name, max);

            if (max == 0) {
                ok(text_chat ? trees == 0 : trees == 1,
                   "%s %d, %s: %s", what, i, dialects[k]->name,
                   text_chat ? "no tree" : "the pieces' trees only");
            }

            if (!same && one && tree) {
                a = cJSON_PrintUnformatted(one);
                t = cJSON_PrintUnformatted(tree);
                diag("one:    %s", a);
                diag("oracle: %s", t);
                free(a);
                free(t);
            }

            llm_json_free(one);
            llm_json_free(tree);
        }
    }
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
    int             i, k, stream, trees;
    llm_buf_t       b, text;
    llm_json_t     *one, *out[2];
    llm_error_t     e;
    llm_request_t   req;

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
        llm_buf_append(&b, "", 1);

        if (llm_request_parse(&req, b.data, b.len - 1, &e) == LLM_OK) {
            ok(req.ntexts > 10, "stream %d: %d long texts", stream,
               req.ntexts);
            llm_request_free(&req);
        }

        for (k = 0; k < 2; k++) {
            one = build(dialects[k], b.data, 0, 0, 0, &trees);
            out[0] = build(dialects[k], b.data, 1, 0, 0, NULL);
            out[1] = build(dialects[k], b.data, 1, 0, 1, NULL);

            ok(one && out[0] && cJSON_Compare(one, out[0], 1),
               "%s, stream %d: the oracle's request, its texts kept out of "
               "its tree", dialects[k]->name, stream);
            ok(one && out[1] && cJSON_Compare(one, out[1], 1),
               "%s, stream %d: the oracle's request, from its whole tree",
               dialects[k]->name, stream);
            ok(trees == 1, "%s, stream %d: the pieces' trees only",
               dialects[k]->name, stream);

            llm_json_free(one);
            llm_json_free(out[0]);
            llm_json_free(out[1]);
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
        same_meaning(plain_bodies[i], "text chat", i, 1);
    }

    for (i = 0; piece_bodies[i]; i++) {
        same_meaning(piece_bodies[i], "with pieces", i, 0);
    }

    /* more messages than the request holds inline: the same request */

    memset(&b, 0, sizeof(llm_buf_t));
    llm_buf_append_lit(&b, "{\"model\":\"m\",\"messages\":[{\"role\":"
                       "\"system\",\"content\":\"s\"}");

    for (i = 0; i < 5 * LLM_CHAT_INLINE_MESSAGES; i++) {
        llm_buf_append_cstr(&b, (i % 3 == 2)
                                ? ",{\"role\":\"assistant\",\"content\":\"a\"}"
                                : "," USER);
    }

    llm_buf_append_lit(&b, "],\"max_tokens\":50}");
    llm_buf_append(&b, "", 1);

    same_meaning(b.data, "text chat", 99, 1);

    llm_buf_free(&b);

    /* long texts, tool calls and parts: the oracle's request */

    same_without_texts();

    /*
     * A tool result after a user text of its turn, which the check
     * refuses: still the oracle's request, the result moved ahead
     */

    b.data = "{\"model\":\"m\",\"messages\":[" USER ",{\"role\":"
             "\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"type\":"
             "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
             "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\","
             "\"content\":\"r1\"}," USER ",{\"role\":\"tool\","
             "\"tool_call_id\":\"a\",\"content\":\"r2\"},{\"role\":"
             "\"tool\",\"tool_call_id\":\"a\",\"content\":\"\"}]}";

    for (i = 0; i < 2; i++) {
        llm_buf_t    o[2];
        llm_json_t  *j[2];

        j[0] = NULL;
        j[1] = NULL;

        if (llm_request_parse(&req, b.data, strlen(b.data), &e) != LLM_OK) {
            ok(0, "unchecked body parses: %s", e.message);
            break;
        }

        memset(o, 0, sizeof(o));

        if (dialects[i]->build_request(&req, "m", &o[0]) == LLM_OK
            && oracle_build(dialects[i], &req, "m", &o[1]) == LLM_OK)
        {
            j[0] = llm_json_parse(o[0].data, o[0].len, NULL);
            j[1] = llm_json_parse(o[1].data, o[1].len, NULL);
        }

        ok(j[0] && j[1] && cJSON_Compare(j[0], j[1], 1),
           "%s, unchecked: a late tool result, the oracle's request",
           dialects[i]->name);

        if (i == 0) {
            llm_buf_append(&o[0], "", 1);

            ok(o[0].len > 1 && strstr(o[0].data, "\"r2\"}") != NULL
               && strstr(o[0].data, "\"r2\"}") < strstr(o[0].data,
                                                         "\"text\":\"hi\"}]}]"),
               "anthropic: the late result ahead of the turn's text");
        }

        llm_json_free(j[0]);
        llm_json_free(j[1]);
        llm_buf_free(&o[0]);
        llm_buf_free(&o[1]);
        llm_request_free(&req);
    }

    /* n written as a decimal is still n */

    b.data = "{\"model\":\"m\",\"messages\":[" USER "],\"n\":3.0}";

    if (llm_request_parse(&req, b.data, strlen(b.data), &e) == LLM_OK) {
        ok(dialects[0]->check(&req, &e) == LLM_DECLINED
           && strcmp(e.param, "n") == 0, "anthropic refuses n 3.0");
        llm_request_free(&req);
    }

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
               "anthropic text chat bytes");
        llm_buf_free(&b);
        llm_request_free(&req);
    }

    return done_testing();
}
