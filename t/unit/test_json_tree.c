/*
 * llm_json_tree(): the arena tree of a valid body means exactly what
 * cJSON_Parse() makes of it (t/fuzz/json_same.h compares them node by
 * node), with marks in place of the texts it is given, and it is freed
 * whole (ASan reports a leak or a stray free).
 *
 * usage: test_json_tree [repo-root]   (JSON fixtures under t/fixtures)
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "llm_json.h"
#include "llm_json_scan.h"
#include "../fuzz/json_same.h"


/* 1 if the tree of p (valid JSON) is cJSON's */

static int
same_as_cjson(const char *p, size_t n)
{
    int                rc;
    cJSON             *ref;
    llm_json_t        *t;
    llm_json_arena_t  *arena;

    ref = cJSON_ParseWithLength(p, n);
    t = llm_json_tree(p, n, NULL, 0, NULL, 0, &arena);

    rc = (ref != NULL && t != NULL && json_same(t, ref));

    cJSON_Delete(ref);
    llm_json_arena_free(arena);

    return rc;
}


static const char  *cases[] = {
    "{}",
    "[]",
    "  {\"a\" : [ 1 , 2 ] ,\n\t\"b\":{\"c\":null}}  ",
    "{\"a\":1,\"a\":2,\"b\":[],\"a\":{}}",
    "{\"k\\u00e9y\\n\":\"v\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    "[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\", \"\\uD834\\uDD1E\"]",
    "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"\\\"\", \"\"]",
    "[\"0123456789abcdef0123456789abcdef\\\"tail after escape\"]",
    "[0, -0, 1, -1, 12345678901234, 123456789012345, 1234567890123456, "
    "12345678901234567890, -98765432109876543210, 2147483647, "
    "2147483648, -2147483648, -2147483649]",
    "[1.5, -12.5e-3, 1E+2, 1e-400, 1e400, -1e400, 0.1, 3.141592653589793,"
    " 9007199254740993, 4.9e-324]",
    "[true, false, null, [true], {\"t\":false}]",
    "\"a root string\"",
    "12345",
    "-0.5e3",
    "true",
    "null",
    NULL
};


/* a mark: "<i>" */

static void
mark3(char *out, int i)
{
    out[0] = '<';
    out[1] = (char) ('0' + i);
    out[2] = '>';
}


int
main(int argc, char **argv)
{
    int                i, j, n, nnames, ok_all;
    char              *big, path[1024], rel[512];
    llm_buf_t          b;
    llm_json_t        *t, *ref;
    const char        *root, *p, *marked;
    struct dirent    **names;
    llm_json_arena_t  *arena;
    llm_json_text_t    texts[2];

    static const char  *providers[] = {
        "openai", "anthropic", "google", "groq", "xai", "mistral",
        "deepseek", "voyage", NULL
    };

    root = (argc > 1) ? argv[1]
                      : (getenv("LLM_REPO") ? getenv("LLM_REPO") : ".");

    for (i = 0; cases[i]; i++) {
        ok(same_as_cjson(cases[i], strlen(cases[i])), "as cJSON: %s",
           cases[i]);
    }

    /* a root number ends the bytes: nothing is read past them */
    big = malloc(5);
    memcpy(big, "98765", 5);
    ok(same_as_cjson(big, 5), "a number at the very end");
    free(big);

    /* many small nodes: the arena grows past its first block */
    memset(&b, 0, sizeof(llm_buf_t));
    llm_buf_append_lit(&b, "[");
    for (i = 0; i < 100000; i++) {
        llm_buf_append_cstr(&b, i ? ",{\"k\":[1]}" : "{\"k\":[1]}");
    }
    llm_buf_append_lit(&b, "]");
    ok(llm_json_valid(b.data, b.len, NULL) == LLM_OK
       && same_as_cjson(b.data, b.len), "100,000 objects: blocks chained");

    /* nesting as deep as the scanner takes */
    llm_buf_reset(&b);
    for (i = 0; i < LLM_JSON_SCAN_MAX_DEPTH - 1; i++) {
        llm_buf_append_lit(&b, "[");
    }
    for (i = 0; i < LLM_JSON_SCAN_MAX_DEPTH - 1; i++) {
        llm_buf_append_lit(&b, "]");
    }
    ok(llm_json_valid(b.data, b.len, NULL) == LLM_OK
       && same_as_cjson(b.data, b.len), "%d levels deep",
       LLM_JSON_SCAN_MAX_DEPTH - 1);
    /* every JSON fixture */
    n = 0;
    ok_all = 1;

    for (i = 0; providers[i]; i++) {
        snprintf(path, sizeof(path), "%s/t/fixtures/%s", root, providers[i]);

        nnames = scandir(path, &names, NULL, alphasort);

        for (j = 0; j < nnames; j++) {
            snprintf(rel, sizeof(rel), "%s/%s", providers[i],
                     names[j]->d_name);
            free(names[j]);

            if (!ends_with(rel, ".json")) {
                continue;
            }

            llm_buf_reset(&b);

            if (fixture_read(root, rel, &b) == LLM_OK
                && llm_json_valid(b.data, b.len, NULL) == LLM_OK)
            {
                n++;

                if (!same_as_cjson(b.data, b.len)) {
                    diag("not as cJSON: %s", rel);
                    ok_all = 0;
                }
            }
        }

        if (nnames >= 0) {
            free(names);
        }
    }

    llm_buf_free(&b);
    ok(n >= 20 && ok_all, "%d JSON fixtures as cJSON has them", n);

    /*
     * Marks: the texts given are not copied; the tree holds the mark,
     * as cJSON's tree of the body with the mark written in the text's
     * place does
     */

    p = "{\"a\":\"first long text\",\"b\":[\"x\",\"second\\\"text\"],"
        "\"c\":\"kept\"}";
    texts[0].start = strstr(p, "first");
    texts[0].len = strlen("first long text");
    texts[1].start = strstr(p, "second");
    texts[1].len = strlen("second\\\"text");

    marked = "{\"a\":\"<0>\",\"b\":[\"x\",\"<1>\"],\"c\":\"kept\"}";

    t = llm_json_tree(p, strlen(p), texts, 2, mark3, 3, &arena);
    ref = cJSON_Parse(marked);
    ok(t && ref && json_same(t, ref), "texts written as their marks");
    cJSON_Delete(ref);
    llm_json_arena_free(arena);

    /* fewer texts than strings, none: the rest as they are */
    t = llm_json_tree(p, strlen(p), texts, 1, mark3, 3, &arena);
    ok(t && strcmp(cJSON_GetObjectItem(t, "a")->valuestring, "<0>") == 0
       && strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "b"), 1)
                 ->valuestring, "second\"text") == 0,
       "only the texts given are marked");
    llm_json_arena_free(arena);

    return done_testing();
}
