/*
 * Unit tests for prompt templates and decorators (src/core/llm_template.c):
 * {{variable}} expansion, and the rewritten chat request body.
 *
 * usage: test_template [repo-root]   (the root is not needed here)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_template.h"
#include "tap.h"


typedef struct {
    const char  *name;
    const char  *in;
    const char  *expect;     /* NULL: a variable is missing */
    const char  *missing;
} expand_case_t;


static const expand_case_t  expand_cases[] = {
    { "plain", "no placeholders", "no placeholders", NULL },
    { "empty", "", "", NULL },
    { "one", "Hi {{name}}!", "Hi Ann!", NULL },
    { "spaces", "Hi {{  name }}!", "Hi Ann!", NULL },
    { "repeated", "{{name}}/{{name}}", "Ann/Ann", NULL },
    { "adjacent", "{{name}}{{n}}", "Ann42", NULL },
    { "number", "n={{n}}", "n=42", NULL },
    { "fraction", "{{f}}", "1.5", NULL },
    { "booleans", "{{yes}} {{no}}", "true false", NULL },
    { "quotes and newlines kept raw", "[{{q}}]", "[say \"x\"\n\\]", NULL },
    { "unicode", "{{u}}", "\xc3\xa9\xe2\x98\xba\xf0\x9f\x98\x80", NULL },
    { "no second expansion", "{{self}}", "{{name}}", NULL },
    { "triple braces", "{{{name}}}", "{Ann}", NULL },
    { "unclosed", "{{name", "{{name", NULL },
    { "one brace", "{name}", "{name}", NULL },
    { "empty name", "{{}}", "{{}}", NULL },
    { "not a name", "{{a b}}", "{{a b}}", NULL },
    { "closing alone", "}}{{", "}}{{", NULL },
    { "missing", "Hi {{who}}", NULL, "who" },
    { "missing after one", "{{name}} {{ who_2 }}", NULL, "who_2" },
    { "null is missing", "{{nul}}", NULL, "nul" },
    { "object is missing", "{{obj}}", NULL, "obj" },
    { "dots and dashes", "{{a.b-c}}", "ok", NULL },
    { NULL, NULL, NULL, NULL }
};


static const char  *vars_json =
    "{\"name\":\"Ann\",\"n\":42,\"f\":1.5,\"yes\":true,\"no\":false,"
    "\"q\":\"say \\\"x\\\"\\n\\\\\",\"u\":\"\\u00e9\\u263a\\ud83d\\ude00\","
    "\"self\":\"{{name}}\",\"nul\":null,\"obj\":{},\"a.b-c\":\"ok\"}";


static void
test_expand(void)
{
    int                   rc;
    char                  missing[64];
    cJSON                *vars;
    llm_buf_t             b;
    const expand_case_t  *c;

    vars = cJSON_Parse(vars_json);

    for (c = expand_cases; c->name; c++) {
        memset(&b, 0, sizeof(llm_buf_t));
        missing[0] = '\0';

        rc = llm_template_expand(c->in, strlen(c->in), vars, &b, missing,
                                 sizeof(missing));

        if (c->expect) {
            ok(rc == LLM_OK, "%s: ok", c->name);
            is_str(b.data, b.len, c->expect, "%s", c->name);

        } else {
            ok(rc == LLM_DECLINED, "%s: missing", c->name);
            is_str(missing, strlen(missing), c->missing, "%s: the name",
                   c->name);
        }

        llm_buf_free(&b);
    }

    memset(&b, 0, sizeof(llm_buf_t));
    ok(llm_template_expand("{{x}}", 5, NULL, &b, missing, 2) == LLM_DECLINED
       && strcmp(missing, "x") == 0, "no variables at all; short buffer");
    llm_buf_free(&b);

    cJSON_Delete(vars);
}


/* a template store for the rewrite tests */

static cJSON  *tpl_greet;
static cJSON  *model_pre;


static cJSON *
find(void *data, const char *name)
{
    return strcmp(name, "greet") == 0 ? tpl_greet : NULL;
}


static void
model_cb(void *data, const char *model, llm_prompt_t *pr)
{
    if (strcmp(model, "ruled") == 0) {
        pr->prepend[1] = model_pre;
    }
}


static int
apply(llm_prompt_t *pr, const char *body, cJSON **out, llm_error_t *e)
{
    int        rc;
    llm_buf_t  b;

    memset(&b, 0, sizeof(llm_buf_t));
    memset(e, 0, sizeof(llm_error_t));

    rc = llm_prompt_apply(body, strlen(body), pr, &b, e);
    *out = (rc == LLM_OK) ? cJSON_ParseWithLength(b.data, b.len) : NULL;

    llm_buf_free(&b);

    return rc;
}


static int
roles_contents(cJSON *j, const char *expect)
{
    int     rc;
    char   *s;
    cJSON  *m, *list, *msgs;

    msgs = cJSON_GetObjectItem(j, "messages");
    list = cJSON_CreateArray();

    cJSON_ArrayForEach(m, msgs) {
        cJSON_AddItemToArray(list, cJSON_CreateString(
            cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"))));
        cJSON_AddItemToArray(list,
                             cJSON_Duplicate(cJSON_GetObjectItem(m, "content"),
                                             1));
    }

    s = cJSON_PrintUnformatted(list);
    rc = (strcmp(s, expect) == 0);

    if (!rc) {
        diag("got      %s", s);
        diag("expected %s", expect);
    }

    free(s);
    cJSON_Delete(list);

    return rc;
}


static void
test_apply(void)
{
    cJSON         *j, *pre, *app;
    llm_error_t    e;
    llm_prompt_t   pr;

    tpl_greet = cJSON_Parse("[{\"role\":\"system\",\"content\":"
                            "\"Greet {{name}}.\"},{\"role\":\"user\","
                            "\"content\":[{\"type\":\"text\",\"text\":"
                            "\"I am {{name}}\"},{\"type\":\"image_url\","
                            "\"image_url\":{\"url\":\"{{name}}\"}}]}]");
    model_pre = cJSON_Parse("[{\"role\":\"developer\",\"content\":\"M\"}]");
    pre = cJSON_Parse("[{\"role\":\"system\",\"content\":\"P {{name}}\"}]");
    app = cJSON_Parse("[{\"role\":\"user\",\"content\":\"A\"}]");

    memset(&pr, 0, sizeof(pr));
    pr.find_template = find;
    pr.model = model_cb;

    ok(apply(&pr, "{\"model\":\"m\",\"messages\":[]}", &j, &e)
       == LLM_DECLINED, "nothing to do");
    ok(apply(&pr, "{\"model\":\"m\",", &j, &e) == LLM_DECLINED,
       "bad JSON: left to the validation");
    ok(apply(&pr, "[1]", &j, &e) == LLM_DECLINED, "not an object");
    ok(apply(&pr, "{\"model\":1,\"template\":\"greet\"}", &j, &e)
       == LLM_DECLINED, "no string model");

    ok(apply(&pr, "{\"model\":\"m\",\"template\":{\"name\":\"greet\","
             "\"variables\":{\"name\":\"Bo \\\"B\\\"\\n\"}},\"stream\":true}",
             &j, &e) == LLM_OK, "a template");
    ok(roles_contents(j, "[\"system\",\"Greet Bo \\\"B\\\"\\n.\",\"user\","
                      "[{\"type\":\"text\",\"text\":\"I am Bo \\\"B\\\"\\n\"},"
                      "{\"type\":\"image_url\",\"image_url\":{\"url\":"
                      "\"{{name}}\"}}]]"),
       "expanded in content and text parts only");
    ok(cJSON_GetObjectItem(j, "template") == NULL, "template removed");
    ok(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")), "the rest kept");
    cJSON_Delete(j);

    ok(apply(&pr, "{\"model\":\"m\",\"template\":\"greet\"}", &j, &e)
       == LLM_ERROR && e.status == 400
       && strcmp(e.code, "missing_template_variable") == 0
       && strstr(e.message, "'name'") != NULL, "missing variable: 400");

    ok(apply(&pr, "{\"model\":\"m\",\"template\":{\"name\":\"nope\"}}", &j,
             &e) == LLM_ERROR && e.status == 404
       && strcmp(e.code, "template_not_found") == 0
       && strcmp(e.param, "template.name") == 0, "unknown: 404");

    ok(apply(&pr, "{\"model\":\"m\",\"template\":[]}", &j, &e) == LLM_ERROR
       && e.status == 400 && strcmp(e.param, "template") == 0,
       "bad shape: 400");
    ok(apply(&pr, "{\"model\":\"m\",\"template\":{\"name\":\"greet\","
             "\"variables\":{\"name\":[1]}}}", &j, &e) == LLM_ERROR
       && e.status == 400 && strcmp(e.param, "template.variables") == 0,
       "bad variable type: 400");
    ok(apply(&pr, "{\"model\":\"m\",\"template\":{\"name\":\"greet\","
             "\"variables\":\"x\"}}", &j, &e) == LLM_ERROR
       && e.status == 400, "variables not an object: 400");

    ok(apply(&pr, "{\"model\":\"m\",\"template\":null,\"messages\":[]}",
             &j, &e) == LLM_OK, "template null: just removed");
    ok(cJSON_GetObjectItem(j, "template") == NULL
       && cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")) == 0,
       "nothing added");
    cJSON_Delete(j);

    ok(apply(&pr, "{\"model\":\"m\",\"template\":\"greet\",\"messages\":7}",
             &j, &e) == LLM_DECLINED, "bad messages: left to validation");

    /* decorators: layers in order, not expanded, around the rest */

    pr.prepend[0] = pre;
    pr.append[0] = app;

    ok(apply(&pr, "{\"model\":\"ruled\",\"template\":{\"name\":\"greet\","
             "\"variables\":{\"name\":\"X\"}},\"messages\":[{\"role\":"
             "\"user\",\"content\":\"Q\"}]}", &j, &e) == LLM_OK,
       "decorators and a template");
    ok(roles_contents(j, "[\"system\",\"P {{name}}\",\"developer\",\"M\","
                      "\"system\",\"Greet X.\",\"user\",[{\"type\":\"text\","
                      "\"text\":\"I am X\"},{\"type\":\"image_url\","
                      "\"image_url\":{\"url\":\"{{name}}\"}}],\"user\",\"Q\","
                      "\"user\",\"A\"]"),
       "location, model, template, request, appended");
    cJSON_Delete(j);

    pr.prepend[1] = NULL;   /* the model callback filled it */

    ok(apply(&pr, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"Q\"}]}", &j, &e) == LLM_OK,
       "decorators only");
    ok(roles_contents(j, "[\"system\",\"P {{name}}\",\"user\",\"Q\","
                      "\"user\",\"A\"]"), "around the messages");
    cJSON_Delete(j);

    ok(apply(&pr, "{\"model\":\"m\"}", &j, &e) == LLM_DECLINED,
       "no messages, no template: left to the validation");
    ok(apply(&pr, "{\"model\":\"m\",\"messages\":[]}", &j, &e)
       == LLM_DECLINED, "empty messages: left to the validation");

    ok(apply(&pr, "{\"model\":\"m\",\"template\":{\"name\":\"greet\","
             "\"variables\":{\"name\":1}}}", &j, &e) == LLM_OK,
       "decorators and a template, no messages");
    ok(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")) == 4,
       "four messages");
    cJSON_Delete(j);

    cJSON_Delete(tpl_greet);
    cJSON_Delete(model_pre);
    cJSON_Delete(pre);
    cJSON_Delete(app);
}


static void
test_file(void)
{
    char         msg[256];
    cJSON       *j;
    const char  *s;

    s = "[{\"role\":\"system\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b\"}]}]";
    j = llm_template_parse_messages(s, strlen(s), msg, sizeof(msg));
    ok(cJSON_GetArraySize(j) == 2, "a messages file");
    cJSON_Delete(j);

    ok(llm_template_parse_messages("[", 1, msg, sizeof(msg)) == NULL
       && strstr(msg, "line 1") != NULL, "bad JSON: where");
    ok(llm_template_parse_messages("[]", 2, msg, sizeof(msg)) == NULL,
       "empty array");
    ok(llm_template_parse_messages("{}", 2, msg, sizeof(msg)) == NULL,
       "not an array");
    s = "[{\"role\":\"tool\",\"content\":\"a\"}]";
    ok(llm_template_parse_messages(s, strlen(s), msg, sizeof(msg)) == NULL,
       "bad role");
    s = "[{\"role\":\"user\"}]";
    ok(llm_template_parse_messages(s, strlen(s), msg, sizeof(msg)) == NULL,
       "no content");
}


int
main(void)
{
    test_expand();
    test_apply();
    test_file();

    return done_testing();
}
