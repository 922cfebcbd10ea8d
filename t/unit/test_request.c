/*
 * Unit tests for request parsing and validation (src/core/llm_request.c)
 * and the error envelope (src/core/llm_error.c).
 *
 * usage: test_request [repo-root]   (the root is not needed here)
 */

#define _GNU_SOURCE      /* memmem() */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/llm_request.h"
#include "tap.h"


/* a user message, to keep the table below short */
#define MSG  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define REQ(extra)  "{\"model\":\"gpt-4o\"," MSG extra "}"


typedef struct {
    const char    *name;
    const char    *body;
    const char    *param;       /* "" = null */
    const char    *code;
    const char    *message;     /* a substring of the message, or NULL */
} bad_case_t;


static const bad_case_t  bad_cases[] = {

    /* the body */

    { "whitespace only", "  \n ", "", "invalid_json", "Invalid JSON" },
    { "array body", "[1,2]", "", "invalid_json", "not an array" },
    { "string body", "\"hi\"", "", "invalid_json", "not a string" },
    { "number body", "42", "", "invalid_json", "not a number" },
    { "null body", "null", "", "invalid_json", "not null" },
    { "trailing garbage", REQ("") " x", "", "invalid_json", "line 1" },
    { "two objects", REQ("") REQ(""), "", "invalid_json", "Invalid JSON" },
    { "truncated", "{\"model\":\"m\",", "", "invalid_json", "Invalid JSON" },

    /* model */

    { "model missing", "{" MSG "}", "model", "missing_required_parameter",
      "'model'" },
    { "model null", "{\"model\":null," MSG "}", "model",
      "missing_required_parameter", NULL },
    { "model number", "{\"model\":4," MSG "}", "model", "invalid_type",
      "got a number" },
    { "model object", "{\"model\":{}," MSG "}", "model", "invalid_type",
      "got an object" },
    { "model NUL", "{\"model\":\"\\u0000m\"," MSG "}", "",
      "invalid_value", "NUL" },
    { "key NUL", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
      "\"content\":\"a\",\"content\\u0000x\":{}}]}", "", "invalid_value",
      "NUL" },
    { "text NUL", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
      "\"content\":\"a\\u0000\"}]}", "", "invalid_value", "NUL" },
    { "model empty", "{\"model\":\"\"," MSG "}", "model", "invalid_type",
      "an empty string" },
    { "escaped key", "{\"mod\\u0065l\":\"m\"," MSG "}", "", "invalid_json",
      "Escape sequences" },
    { "escaped message key", "{\"model\":\"m\",\"messages\":[{\"role\":"
      "\"user\",\"content\":\"a\",\"t\\u006fol_calls\":[]}]}", "",
      "invalid_json", "Escape sequences" },

    /* messages */

    { "messages missing", "{\"model\":\"m\"}", "messages",
      "missing_required_parameter", "'messages'" },
    { "messages null", "{\"model\":\"m\",\"messages\":null}", "messages",
      "missing_required_parameter", NULL },
    { "messages object", "{\"model\":\"m\",\"messages\":{}}", "messages",
      "invalid_type", "expected an array" },
    { "messages string", "{\"model\":\"m\",\"messages\":\"hi\"}",
      "messages", "invalid_type", "got a string" },
    { "messages empty", "{\"model\":\"m\",\"messages\":[]}", "messages",
      "empty_array", "empty array" },
    { "message not object",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
      "\"hi\"]}", "messages[1]", "invalid_type", "expected an object" },
    { "message an array",
      "{\"model\":\"m\",\"messages\":[[\"role\",\"user\",[\"x\"]]]}",
      "messages[0]", "invalid_type", "expected an object" },
    { "message missing role",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"a\"}]}",
      "messages[0].role", "missing_required_parameter", NULL },
    { "message role number",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
      "{\"role\":1,\"content\":\"b\"}]}",
      "messages[1].role", "invalid_type", "got a number" },
    { "message bad role",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
      "{\"role\":\"robot\",\"content\":\"b\"}]}",
      "messages[1].role", "invalid_value", "'messages[1].role'" },
    { "message role case",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"User\",\"content\":\"a\"}]}",
      "messages[0].role", "invalid_value", NULL },
    { "message content number",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
      "{\"role\":\"user\",\"content\":7}]}",
      "messages[1].content", "invalid_type", "got a number" },
    { "message content object",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{}}]}",
      "messages[0].content", "invalid_type", NULL },
    { "user message without content",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}",
      "messages[0].content", "missing_required_parameter", NULL },
    { "third message bad",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
      "{\"role\":\"user\",\"content\":\"u\"},[]]}",
      "messages[2]", "invalid_type", "got an array" },

    /* stream */

    { "stream string", REQ(",\"stream\":\"yes\""), "stream", "invalid_type",
      "expected a boolean" },
    { "stream number", REQ(",\"stream\":1"), "stream", "invalid_type",
      NULL },
    { "stream_options without stream",
      REQ(",\"stream_options\":{\"include_usage\":true}"),
      "stream_options", "invalid_value", "only allowed" },
    { "stream_options with stream false",
      REQ(",\"stream\":false,\"stream_options\":{\"include_usage\":true}"),
      "stream_options", "invalid_value", NULL },
    { "stream_options not object",
      REQ(",\"stream\":true,\"stream_options\":true"),
      "stream_options", "invalid_type", "got a boolean" },
    { "include_usage string",
      REQ(",\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}"),
      "stream_options.include_usage", "invalid_type", NULL },

    /* numeric rules */

    { "temperature 2.5", REQ(",\"temperature\":2.5"), "temperature",
      "invalid_value", "between 0 and 2" },
    { "temperature -0.1", REQ(",\"temperature\":-0.1"), "temperature",
      "invalid_value", NULL },
    { "temperature string", REQ(",\"temperature\":\"0.5\""), "temperature",
      "invalid_type", "expected a number, but got a string" },
    { "top_p 1.5", REQ(",\"top_p\":1.5"), "top_p", "invalid_value", NULL },
    { "presence_penalty -3", REQ(",\"presence_penalty\":-3"),
      "presence_penalty", "invalid_value", NULL },
    { "frequency_penalty true", REQ(",\"frequency_penalty\":true"),
      "frequency_penalty", "invalid_type", "got a boolean" },
    { "n 1.5", REQ(",\"n\":1.5"), "n", "invalid_type", "an integer" },
    { "n 0", REQ(",\"n\":0"), "n", "invalid_value", NULL },
    { "n 129", REQ(",\"n\":129"), "n", "invalid_value", NULL },
    { "max_tokens 0", REQ(",\"max_tokens\":0"), "max_tokens",
      "invalid_value", NULL },
    { "max_tokens -5", REQ(",\"max_tokens\":-5"), "max_tokens",
      "invalid_value", NULL },
    { "max_tokens string", REQ(",\"max_tokens\":\"10\""), "max_tokens",
      "invalid_type", "an integer" },
    { "max_completion_tokens 0.5", REQ(",\"max_completion_tokens\":0.5"),
      "max_completion_tokens", "invalid_type", NULL },
    { "seed 1.5", REQ(",\"seed\":1.5"), "seed", "invalid_type", NULL },
    { "top_logprobs 21", REQ(",\"top_logprobs\":21"), "top_logprobs",
      "invalid_value", NULL },

    /* other types */

    { "logprobs string", REQ(",\"logprobs\":\"true\""), "logprobs",
      "invalid_type", "a boolean" },
    { "parallel_tool_calls number", REQ(",\"parallel_tool_calls\":1"),
      "parallel_tool_calls", "invalid_type", NULL },
    { "user number", REQ(",\"user\":5"), "user", "invalid_type",
      "a string" },
    { "tools object", REQ(",\"tools\":{}"), "tools", "invalid_type",
      "an array" },
    { "response_format string", REQ(",\"response_format\":\"json\""),
      "response_format", "invalid_type", "an object" },
    { "stop number", REQ(",\"stop\":5"), "stop", "invalid_type",
      "a string or an array of strings" },
    { "stop array with number", REQ(",\"stop\":[\"a\",1]"), "stop",
      "invalid_type", NULL },
    { "stop object", REQ(",\"stop\":{}"), "stop", "invalid_type", NULL },
    { "tool_choice number", REQ(",\"tool_choice\":1"), "tool_choice",
      "invalid_type", "a string or an object" },
    { "tool_choice array", REQ(",\"tool_choice\":[]"), "tool_choice",
      "invalid_type", NULL },
    { "tool_choice sometimes", REQ(",\"tool_choice\":\"sometimes\""),
      "tool_choice", "invalid_value", "'none', 'auto', and 'required'" },
    { "tool_choice any", REQ(",\"tool_choice\":\"any\""), "tool_choice",
      "invalid_value", NULL },
    { "tool_choice object without type", REQ(",\"tool_choice\":{}"),
      "tool_choice.type", "missing_required_parameter", NULL },
    { "tool_choice type number", REQ(",\"tool_choice\":{\"type\":1}"),
      "tool_choice.type", "invalid_type", NULL },
    { "tool_choice function without name",
      REQ(",\"tool_choice\":{\"type\":\"function\",\"function\":{}}"),
      "tool_choice.function.name", "missing_required_parameter", NULL },
    { "tool_choice function empty name",
      REQ(",\"tool_choice\":{\"type\":\"function\",\"function\":"
          "{\"name\":\"\"}}"),
      "tool_choice.function.name", "invalid_type", NULL },

    /* UTF-8: JSON text must be well-formed (RFC 8259 section 8.1) */

    { "raw 0xff 0xfe in content", "{\"model\":\"m\",\"messages\":[{\"role\":"
      "\"user\",\"content\":\"a\xff\xfe\"}]}", "", "invalid_json",
      "Invalid UTF-8 in the request body at line 1, column 53 (byte 52)" },
    { "a lone continuation byte", REQ(",\"user\":\"\x80\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "an overlong slash", REQ(",\"user\":\"\xc0\xaf\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "an overlong 3-byte form", REQ(",\"user\":\"\xe0\x80\xaf\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "a UTF-8 surrogate", REQ(",\"user\":\"\xed\xa0\x80\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "above U+10FFFF", REQ(",\"user\":\"\xf4\x90\x80\x80\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "a sequence cut by the quote", REQ(",\"user\":\"\xe2\x82\""), "",
      "invalid_json", "Invalid UTF-8" },
    { "invalid UTF-8 in a key", "{\"model\":\"m\"," MSG ",\"x\xff\":1}", "",
      "invalid_json", "Invalid UTF-8" },
    { "a good sequence, then a bad one",
      REQ(",\"user\":\"\xc3\xa9" "ab\xc3\xa9\xff\""),
      "", "invalid_json", "(byte 76)" },
    { "a good sequence cut by the end",
      "{\"model\":\"m\"," MSG ",\"user\":\"\xc3\xa9\xe2\x82",
      "", "invalid_json", "Invalid UTF-8" },
    { "a long ASCII run, then a bad byte",
      REQ(",\"user\":\"0123456789abcdef0123456789\xfe\""), "",
      "invalid_json", "Invalid UTF-8" },

    { NULL, NULL, NULL, NULL, NULL }
};


/*
 * Integers too large for a long long: still out of range, and the check
 * must not convert them (undefined behaviour, UBSan aborts under clang).
 * Each runs in a child process.
 */

static const bad_case_t  huge_cases[] = {
    { "n 1e300", REQ(",\"n\":1e300"), "n", "invalid_value", NULL },
    { "max_tokens 1e400 (inf)", REQ(",\"max_tokens\":1e400"), "max_tokens",
      "invalid_value", NULL },
    { "seed 1e19", REQ(",\"seed\":1e19"), "seed", "invalid_value", NULL },
    { "seed -1e300", REQ(",\"seed\":-1e300"), "seed", "invalid_value",
      NULL },
    { NULL, NULL, NULL, NULL, NULL }
};


static const char  *good_cases[] = {
    REQ(""),
    /* a backslash, then "u0000": text, not a NUL */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"C:\\\\u0000\"}]}",
    REQ(",\"stream\":null"),
    REQ(",\"stream_options\":null"),
    REQ(",\"temperature\":0,\"top_p\":1"),
    REQ(",\"temperature\":2,\"top_p\":0"),
    REQ(",\"temperature\":null"),
    REQ(",\"presence_penalty\":-2,\"frequency_penalty\":2"),
    REQ(",\"n\":1,\"max_tokens\":1,\"max_completion_tokens\":100000"),
    REQ(",\"n\":128,\"seed\":-5,\"top_logprobs\":0"),
    REQ(",\"n\":2.0"),
    REQ(",\"logprobs\":true,\"parallel_tool_calls\":false,\"store\":false"),
    REQ(",\"user\":\"u\",\"reasoning_effort\":\"low\""),
    REQ(",\"stop\":\"\\n\""),
    REQ(",\"stop\":[\"a\",\"b\"]"),
    REQ(",\"stop\":[]"),
    REQ(",\"tool_choice\":\"auto\""),
    REQ(",\"tool_choice\":\"none\""),
    REQ(",\"tool_choice\":\"required\""),
    REQ(",\"tool_choice\":{\"type\":\"allowed_tools\"}"),
    /* UTF-8 of every length, at the edges of the ranges */
    REQ(",\"user\":\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf "
        "\xee\x80\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""),
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"h\xc3\xa9llo w\xc3\xb6rld, \xe4\xbd\xa0\xe5\xa5\xbd, "
    "\xf0\x9f\x98\x80 and a long run after it\"}]}",
    REQ(",\"tool_choice\":{\"type\":\"function\","
        "\"function\":{\"name\":\"f\"}}"),
    REQ(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
    REQ(",\"response_format\":{\"type\":\"json_object\"}"),
    REQ(",\"metadata\":{},\"logit_bias\":{\"50256\":-100}"),
    REQ(",\"unknown_field\":[1,{\"x\":null}],\"temperature_x\":99"),
    "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
    "\"tool_calls\":[]}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":null}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
    "[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
    "{\"model\":\"m\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"a\"},"
    "{\"role\":\"developer\",\"content\":\"a\"},"
    "{\"role\":\"user\",\"content\":\"a\"},"
    "{\"role\":\"assistant\",\"content\":\"a\"},"
    "{\"role\":\"tool\",\"content\":\"a\",\"tool_call_id\":\"x\"},"
    "{\"role\":\"function\",\"content\":\"a\",\"name\":\"f\"}]}",
    " \r\n\t" REQ("") " \r\n\t",
    NULL
};


static int
contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}


static void
test_valid(void)
{
    int             rc;
    const char     *body;
    llm_error_t     e;
    llm_request_t   req;

    body = REQ("");
    rc = llm_request_parse(&req, body, strlen(body), &e);

    is_int(rc, LLM_OK, "minimal request: LLM_OK");
    ok(llm_request_tree(&req) != NULL && cJSON_IsObject(req.root),
       "minimal request: root is the object");
    ok(req.model && strcmp(req.model, "gpt-4o") == 0,
       "minimal request: model");
    is_int(req.stream, 0, "minimal request: not a stream");
    is_int(req.include_usage, 0, "minimal request: no include_usage");

    llm_request_free(&req);
    ok(req.root == NULL && req.model == NULL,
       "llm_request_free clears root and model");
    llm_request_free(&req);

    body = REQ(",\"stream\":true");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.stream == 1 && req.include_usage == 0,
       "stream true");
    llm_request_free(&req);

    body = REQ(",\"stream\":false");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.stream == 0, "stream false");
    llm_request_free(&req);

    body = REQ(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.stream == 1 && req.include_usage == 1,
       "stream_options.include_usage true");
    llm_request_free(&req);

    body = REQ(",\"stream\":true,"
               "\"stream_options\":{\"include_usage\":false}");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.stream == 1 && req.include_usage == 0,
       "stream_options.include_usage false");
    llm_request_free(&req);

    body = REQ(",\"stream\":true,\"stream_options\":{}");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.stream == 1 && req.include_usage == 0,
       "stream_options without include_usage");
    llm_request_free(&req);

    body = REQ(",\"stream\":true,"
               "\"stream_options\":{\"include_usage\":null}");
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && req.include_usage == 0, "include_usage null");
    llm_request_free(&req);

    /* the model string stays valid as long as the request */

    body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
           "\"model\":\"llama-3.3-70b\\u00e9\"}";
    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_OK && strcmp(req.model, "llama-3.3-70b\xc3\xa9") == 0,
       "model after messages, unicode escape decoded");
    llm_request_free(&req);
}


static void
test_good_cases(void)
{
    int             i, rc;
    llm_error_t     e;
    llm_request_t   req;

    for (i = 0; good_cases[i]; i++) {
        memset(&e, 0, sizeof(llm_error_t));

        rc = llm_request_parse(&req, good_cases[i], strlen(good_cases[i]),
                               &e);

        if (!ok(rc == LLM_OK && llm_request_tree(&req) != NULL, "accepted: good case %d",
                i))
        {
            diag("body: %s", good_cases[i]);
            diag("error: %s (param %s)", e.message, e.param);
        }

        llm_request_free(&req);
    }
}


static void
test_bad_cases(void)
{
    int                 rc;
    llm_error_t         e;
    llm_request_t       req;
    const bad_case_t   *c;

    for (c = bad_cases; c->name; c++) {
        memset(&e, 0, sizeof(llm_error_t));

        rc = llm_request_parse(&req, c->body, strlen(c->body), &e);

        if (!ok(rc == LLM_ERROR && req.root == NULL && req.model == NULL
                && e.status == 400
                && e.type && strcmp(e.type, "invalid_request_error") == 0
                && strcmp(e.param, c->param) == 0
                && strcmp(e.code, c->code) == 0
                && (c->message == NULL || contains(e.message, c->message)),
                "rejected: %s (param '%s', code %s)", c->name, c->param,
                c->code))
        {
            diag("rc %d, status %d, param '%s', code '%s', message '%s'",
                 rc, e.status, e.param, e.code, e.message);
        }

        llm_request_free(&req);
    }
}


/* a child checks one case: a sanitizer abort fails one test, not all */

static void
test_huge_cases(void)
{
    int                 rc, status;
    pid_t               pid;
    llm_error_t         e;
    llm_request_t       req;
    const bad_case_t   *c;

    for (c = huge_cases; c->name; c++) {
        fflush(stdout);
        fflush(stderr);

        pid = fork();

        if (pid == 0) {
            rc = llm_request_parse(&req, c->body, strlen(c->body), &e);

            if (rc == LLM_ERROR && strcmp(e.param, c->param) == 0
                && strcmp(e.code, c->code) == 0)
            {
                _exit(0);
            }

            diag("rc %d, param '%s', code '%s', message '%s'", rc,
                 e.param, e.code, e.message);
            _exit(1);
        }

        status = -1;

        if (pid > 0) {
            waitpid(pid, &status, 0);
        }

        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "rejected: %s (param '%s', code %s)", c->name, c->param, c->code);
    }
}


static void
test_json_errors(void)
{
    int             rc;
    char            buf[256];
    size_t          n;
    const char     *body;
    llm_error_t     e;
    llm_request_t   req;

    rc = llm_request_parse(&req, "", 0, &e);
    ok(rc == LLM_ERROR && strcmp(e.code, "invalid_json") == 0
       && e.param[0] == '\0' && contains(e.message, "empty"),
       "empty body: invalid_json, says empty");

    /* the missing comma is on line 4, column 21 */

    body = "{\n"
           "  \"model\": \"x\",\n"
           "  \"messages\": [\n"
           "    {\"role\": \"user\" \"content\": \"hi\"}\n"
           "  ]\n"
           "}\n";

    rc = llm_request_parse(&req, body, strlen(body), &e);
    ok(rc == LLM_ERROR && strcmp(e.code, "invalid_json") == 0,
       "multi-line invalid JSON: invalid_json");

    if (!ok(contains(e.message, "line 4, column 21"),
            "multi-line invalid JSON: line 4, column 21"))
    {
        diag("message: %s", e.message);
    }

    /* garbage after the object is reported where it starts */

    body = "{\"model\":\"x\",\n"
           "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n"
           "  garbage";

    rc = llm_request_parse(&req, body, strlen(body), &e);

    if (!ok(rc == LLM_ERROR && strcmp(e.code, "invalid_json") == 0
            && contains(e.message, "line 3, column 3"),
            "trailing garbage: invalid_json at line 3, column 3"))
    {
        diag("message: %s", e.message);
    }

    /* a NUL inside the body is not the end of it */

    body = REQ("");
    n = strlen(body);
    memcpy(buf, body, n);
    buf[n] = '\0';
    buf[n + 1] = '}';

    rc = llm_request_parse(&req, buf, n + 2, &e);
    ok(rc == LLM_ERROR && strcmp(e.code, "invalid_json") == 0,
       "NUL and bytes after the object: invalid_json");

    /* only n bytes are read: what follows in memory is not looked at */

    buf[n] = '}';
    rc = llm_request_parse(&req, buf, n, &e);
    ok(rc == LLM_OK, "exactly n bytes are parsed");
    llm_request_free(&req);
}


/* the envelope must be {"error":{message,type,param,code}}, nothing else */

static int
check_envelope(const char *p, size_t n, const llm_error_t *e)
{
    int          keys;
    cJSON       *j, *err, *v;

    j = cJSON_ParseWithLength(p, n);
    if (j == NULL || !cJSON_IsObject(j) || cJSON_GetArraySize(j) != 1) {
        cJSON_Delete(j);
        return 0;
    }

    err = cJSON_GetObjectItemCaseSensitive(j, "error");
    keys = cJSON_IsObject(err) ? cJSON_GetArraySize(err) : -1;

    v = cJSON_GetObjectItemCaseSensitive(err, "message");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, e->message) != 0) {
        keys = -1;
    }

    v = cJSON_GetObjectItemCaseSensitive(err, "type");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, e->type) != 0) {
        keys = -1;
    }

    v = cJSON_GetObjectItemCaseSensitive(err, "param");
    if (e->param[0] ? !cJSON_IsString(v) || strcmp(v->valuestring, e->param)
                    : !cJSON_IsNull(v))
    {
        keys = -1;
    }

    v = cJSON_GetObjectItemCaseSensitive(err, "code");
    if (e->code[0] ? !cJSON_IsString(v) || strcmp(v->valuestring, e->code)
                   : !cJSON_IsNull(v))
    {
        keys = -1;
    }

    cJSON_Delete(j);

    return keys == 4;
}


static void
test_envelope(void)
{
    llm_buf_t       b;
    const char     *body;
    llm_error_t     e;
    llm_request_t   req;

    memset(&b, 0, sizeof(llm_buf_t));

    body = REQ(",\"temperature\":2.5");
    llm_request_parse(&req, body, strlen(body), &e);
    llm_error_json(&e, &b);

    if (!ok(check_envelope(b.data, b.len, &e),
            "envelope of a param error: exactly message/type/param/code"))
    {
        diag("%.*s", (int) b.len, b.data);
    }

    b.len = 0;
    llm_request_parse(&req, "[", 1, &e);
    llm_error_json(&e, &b);

    if (!ok(check_envelope(b.data, b.len, &e)
            && memmem(b.data, b.len, "\"param\":null", 12) != NULL,
            "envelope of a JSON error: param null"))
    {
        diag("%.*s", (int) b.len, b.data);
    }

    b.len = 0;
    llm_error_set(&e, 500, NULL, NULL, "quote \" backslash \\ nl \n tab \t");
    llm_error_json(&e, &b);

    if (!ok(check_envelope(b.data, b.len, &e)
            && memmem(b.data, b.len, "\"code\":null", 11) != NULL,
            "envelope with escapes and a null code"))
    {
        diag("%.*s", (int) b.len, b.data);
    }

    b.len = 0;
    llm_error_set(&e, 400, "messages[0].content", "x\"y", "m");
    llm_error_json(&e, &b);

    if (!ok(check_envelope(b.data, b.len, &e),
            "envelope with a param and a quoted code"))
    {
        diag("%.*s", (int) b.len, b.data);
    }

    llm_buf_free(&b);
}


static void
test_error_types(void)
{
    size_t        i;
    llm_error_t   e;

    static const struct {
        int          status;
        int          client_status;
        const char  *type;
    } types[] = {
        { 400, 400, "invalid_request_error" },
        { 401, 401, "authentication_error" },
        { 403, 403, "permission_error" },
        { 404, 404, "not_found_error" },
        { 409, 409, "invalid_request_error" },
        { 413, 413, "invalid_request_error" },
        { 422, 422, "invalid_request_error" },
        { 429, 429, "rate_limit_error" },
        { 500, 500, "api_error" },
        { 502, 502, "api_error" },
        { 503, 503, "api_error" },
        { 504, 504, "api_error" },
        { 529, 503, "api_error" },
    };

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!ok(strcmp(llm_error_type(types[i].status), types[i].type) == 0,
                "llm_error_type(%d) = %s", types[i].status, types[i].type))
        {
            diag("got %s", llm_error_type(types[i].status));
        }

        llm_error_set(&e, types[i].status, NULL, NULL, "x");

        if (!ok(e.status == types[i].client_status
                && strcmp(e.type, types[i].type) == 0,
                "llm_error_set(%d): status %d, type %s", types[i].status,
                types[i].client_status, types[i].type))
        {
            diag("got status %d, type %s", e.status, e.type);
        }
    }
}


/*
 * llm_span_number() reads short decimals without strtod(): the very same
 * double as strtod() gives, sign of zero included, for every form
 */

static void
test_span_number(void)
{
    int          i, k, n, bad;
    char         num[64];
    double       a, b;
    unsigned     seed;
    llm_span_t   span;

    static const char  *edges[] = {
        "0", "-0", "0.0", "-0.0", "0.7", "2", "2.0", "1e0", "0.1", "0.3",
        "123456789012345", "1234567890123456", "0.000000000000001",
        "999999999999999", "9007199254740993", "1.7976931348623157e308",
        "-2.5E-3", "4.9e-324", "0.30000000000000004", "100000000000000.5",
        NULL
    };

    bad = 0;

    for (i = 0; edges[i]; i++) {
        span.start = edges[i];
        span.end = edges[i] + strlen(edges[i]);
        a = llm_span_number(&span);
        b = strtod(edges[i], NULL);
        bad += (memcmp(&a, &b, sizeof(double)) != 0);
    }

    seed = 7;

    for (i = 0; i < 100000; i++) {
        seed = seed * 1103515245 + 12345;
        n = 0;

        if (seed & 0x10000) {
            num[n++] = '-';
        }

        k = 1 + (int) ((seed >> 8) % 18);

        while (k--) {
            seed = seed * 1103515245 + 12345;
            num[n++] = (char) ('0' + (seed >> 16) % 10);
        }

        k = 1 + (int) ((seed >> 20) % 4);

        if ((seed & 0x20000) && k < n - (num[0] == '-')) {
            /* a dot k digits before the end */
            memmove(num + n - k + 1, num + n - k, k);
            num[n - k] = '.';
            n++;
        }

        num[n] = '\0';

        /* JSON numbers: no leading zeros but for "0" or "0." */
        if (num[num[0] == '-'] == '0' && num[(num[0] == '-') + 1] != '.'
            && num[(num[0] == '-') + 1] != '\0')
        {
            continue;
        }

        if (num[n - 1] == '.' || num[(num[0] == '-')] == '.') {
            continue;
        }

        span.start = num;
        span.end = num + n;
        a = llm_span_number(&span);
        b = strtod(num, NULL);

        if (memcmp(&a, &b, sizeof(double)) != 0) {
            if (bad++ < 5) {
                diag("%s: %.17g, strtod %.17g", num, a, b);
            }
        }
    }

    ok(bad == 0, "llm_span_number() is strtod()'s value on 100,000 numbers "
       "(%d differ)", bad);
}


int
main(int argc, char **argv)
{
    test_span_number();
    test_valid();
    test_good_cases();
    test_bad_cases();
    test_huge_cases();
    test_json_errors();
    test_envelope();
    test_error_types();

    return done_testing();
}
