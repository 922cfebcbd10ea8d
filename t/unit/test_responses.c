/*
 * Unit tests for the OpenAI Responses client format: the request reader
 * (src/core/llm_responses_request.c) against the internal form it must
 * produce, and its errors; the Responses writer (llm_writer_responses.c)
 * with the recorded OpenAI, Groq, Gemini and Anthropic streams replayed
 * through their dialects, checked by the rules the OpenAI SDK's stream
 * accumulator enforces and compared with the final response; whole
 * answers; the assistant's turn a response store keeps; the reader of
 * OpenAI's own Responses answers (llm_responses_relay.c).
 *
 * usage: test_responses [repo-root]
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_dialect.h"
#include "../../src/core/llm_responses.h"
#include "../../src/core/llm_sse.h"
#include "events.h"
#include "fixture.h"
#include "tap.h"


static const char  *root = ".";

#define read_file(rel, b)  fixture_read(root, rel, b)


static const char *
str(cJSON *obj, const char *name)
{
    const char  *s;

    s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, name));

    return s ? s : "";
}


static int
num(cJSON *obj, const char *name)
{
    return (int) cJSON_GetNumberValue(cJSON_GetObjectItem(obj, name));
}


#define LIT_EV(s)  s, sizeof(s) - 1


#define is_cstr(got, want, ...)                                              \
    is_str(got, strlen(got), want, __VA_ARGS__)


/* --- the reader */

typedef struct {
    const char  *name;
    const char  *in;
    const char  *chat;          /* the internal form, compared as JSON */
    const char  *input;         /* the input's messages, as a JSON array */
    const char  *native;        /* NULL: nothing only OpenAI serves */
} read_case_t;


static const read_case_t  read_cases[] = {

    { "a string input",
      "{\"model\":\"m\",\"input\":\"Hi\"}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
      "[{\"role\":\"user\",\"content\":\"Hi\"}]", NULL },

    { "instructions first; parameters renamed; stream with usage",
      "{\"model\":\"m\",\"instructions\":\"Be brief.\",\"input\":\"Hi\","
      "\"max_output_tokens\":10,\"temperature\":0.5,\"top_p\":1,"
      "\"reasoning\":{\"effort\":\"low\"},\"user\":\"u\",\"stream\":true,"
      "\"store\":false,\"metadata\":{\"a\":\"b\"},\"include\":[],"
      "\"truncation\":\"auto\"}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
      "\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_completion_tokens\":10,\"temperature\":0.5,\"top_p\":1,"
      "\"reasoning_effort\":\"low\",\"user\":\"u\",\"stream\":true,"
      "\"stream_options\":{\"include_usage\":true}}",
      "[{\"role\":\"user\",\"content\":\"Hi\"}]", NULL },

    { "parts, a replayed answer, calls joined, outputs as tool messages",
      "{\"model\":\"m\",\"input\":[{\"role\":\"developer\",\"content\":"
      "\"D\"},{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":"
      "\"input_text\",\"text\":\"A\"},{\"type\":\"input_image\",\"image_url\":"
      "\"data:image/png;base64,AA==\",\"detail\":\"original\"}]},{\"type\":"
      "\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},{\"type\":\"message\","
      "\"id\":\"msg_1\",\"role\":\"assistant\",\"status\":\"completed\","
      "\"content\":[{\"type\":\"output_text\",\"text\":\"B\",\"annotations\":"
      "[]},{\"type\":\"refusal\",\"refusal\":\"C\"}]},{\"type\":"
      "\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":"
      "\"{}\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\","
      "\"output\":\"ok\"},{\"type\":\"function_call\",\"call_id\":\"c2\","
      "\"name\":\"g\",\"arguments\":\"{\\\"x\\\":1}\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":"
      "\"D\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
      "\"A\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
      "\"data:image/png;base64,AA==\"}}]},{\"role\":\"assistant\","
      "\"content\":\"BC\",\"tool_calls\":[{\"id\":\"c1\",\"type\":"
      "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
      "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"},"
      "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
      "\"c2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
      "\"arguments\":\"{\\\"x\\\":1}\"}}]}]}", NULL, NULL },

    { "tools, tool_choice, text.format",
      "{\"model\":\"m\",\"input\":\"Hi\",\"tools\":[{\"type\":\"function\","
      "\"name\":\"f\",\"description\":\"F\",\"parameters\":{\"type\":"
      "\"object\"},\"strict\":true}],\"tool_choice\":{\"type\":"
      "\"allowed_tools\",\"mode\":\"required\",\"tools\":[]},"
      "\"parallel_tool_calls\":false,\"text\":{\"format\":{\"type\":"
      "\"json_object\"}}}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"parallel_tool_calls\":false,\"tools\":[{\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"description\":\"F\",\"parameters\":"
      "{\"type\":\"object\"},\"strict\":true}}],\"tool_choice\":\"required\","
      "\"response_format\":{\"type\":\"json_object\"}}", NULL, NULL },

    { "hosted tools and files noted, not sent",
      "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
      "\"input_file\",\"file_id\":\"f1\"},{\"type\":\"input_text\",\"text\":"
      "\"Sum\"}]}],\"tools\":[{\"type\":\"file_search\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
      "[{\"type\":\"text\",\"text\":\"Sum\"}]}]}", NULL,
      "an input_file part" },

    { NULL, NULL, NULL, NULL, NULL }
};


typedef struct {
    const char  *name;
    const char  *in;
    const char  *param;
    const char  *code;
} bad_case_t;


static const bad_case_t  bad_cases[] = {
    { "not JSON", "{\"model\":", "", "invalid_json" },
    { "an array", "[]", "", "invalid_type" },
    { "no model", "{\"input\":\"x\"}", "model",
      "missing_required_parameter" },
    { "no input", "{\"model\":\"m\"}", "input",
      "missing_required_parameter" },
    { "an item not an object", "{\"model\":\"m\",\"input\":[1]}", "input[0]",
      "invalid_type" },
    { "a bad role", "{\"model\":\"m\",\"input\":[{\"role\":\"tool\","
      "\"content\":\"x\"}]}", "input[0].role", "invalid_value" },
    { "content not a string or parts", "{\"model\":\"m\",\"input\":[{\"role\":"
      "\"user\",\"content\":3}]}", "input[0].content", "invalid_type" },
    { "a text part without text", "{\"model\":\"m\",\"input\":[{\"role\":"
      "\"user\",\"content\":[{\"type\":\"input_text\"}]}]}",
      "input[0].content[0]", "invalid_value" },
    { "an image part without a url", "{\"model\":\"m\",\"input\":[{\"role\":"
      "\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"a\"},"
      "{\"type\":\"input_image\"}]}]}", "input[0].content[1]",
      "invalid_value" },
    { "an assistant's input_image", "{\"model\":\"m\",\"input\":[{\"role\":"
      "\"assistant\",\"content\":[{\"type\":\"input_image\"}]}]}",
      "input[0].content[0]", "invalid_value" },
    { "a call without arguments", "{\"model\":\"m\",\"input\":[{\"type\":"
      "\"function_call\",\"call_id\":\"c\",\"name\":\"f\"}]}",
      "input[0].arguments", "missing_required_parameter" },
    { "an output without call_id", "{\"model\":\"m\",\"input\":[{\"type\":"
      "\"function_call_output\",\"output\":\"x\"}]}", "input[0].call_id",
      "missing_required_parameter" },
    { "an output of an image", "{\"model\":\"m\",\"input\":[{\"type\":"
      "\"function_call_output\",\"call_id\":\"c\",\"output\":[{\"type\":"
      "\"input_image\"}]}]}", "input[0].output[0]", "invalid_value" },
    { "an item_reference", "{\"model\":\"m\",\"input\":[{\"type\":"
      "\"item_reference\",\"id\":\"x\"}]}", "input[0]", "invalid_value" },
    { "a type not a string", "{\"model\":\"m\",\"input\":[{\"type\":1}]}",
      "input[0].type", "invalid_type" },
    { "a tool without type", "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
      "[{\"name\":\"f\"}]}", "tools[0].type", "missing_required_parameter" },
    { "a function tool without name", "{\"model\":\"m\",\"input\":\"x\","
      "\"tools\":[{\"type\":\"function\"}]}", "tools[0].name",
      "missing_required_parameter" },
    { "tools not an array", "{\"model\":\"m\",\"input\":\"x\",\"tools\":{}}",
      "tools", "invalid_type" },
    { "a function choice without name", "{\"model\":\"m\",\"input\":\"x\","
      "\"tool_choice\":{\"type\":\"function\"}}", "tool_choice.name",
      "missing_required_parameter" },
    { "a bad allowed_tools mode", "{\"model\":\"m\",\"input\":\"x\","
      "\"tool_choice\":{\"type\":\"allowed_tools\",\"mode\":\"none\"}}",
      "tool_choice.mode", "invalid_value" },
    { "a json_schema without schema", "{\"model\":\"m\",\"input\":\"x\","
      "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"n\"}}}",
      "text.format", "missing_required_parameter" },
    { "metadata not strings", "{\"model\":\"m\",\"input\":\"x\","
      "\"metadata\":{\"a\":1}}", "metadata", "invalid_value" },
    { "reasoning.effort not a string", "{\"model\":\"m\",\"input\":\"x\","
      "\"reasoning\":{\"effort\":1}}", "reasoning.effort", "invalid_type" },
    { "store not a boolean", "{\"model\":\"m\",\"input\":\"x\","
      "\"store\":\"no\"}", "store", "invalid_type" },
    { "instructions not a string", "{\"model\":\"m\",\"input\":\"x\","
      "\"instructions\":[]}", "instructions", "invalid_type" },
    { "background", "{\"model\":\"m\",\"input\":\"x\",\"background\":true}",
      "background", "unsupported_parameter" },
    { "max_output_tokens 0", "{\"model\":\"m\",\"input\":\"x\","
      "\"max_output_tokens\":0}", "max_output_tokens", "invalid_value" },
    { "max_output_tokens a fraction", "{\"model\":\"m\",\"input\":\"x\","
      "\"max_output_tokens\":2.5}", "max_output_tokens", "invalid_value" },
    { NULL, NULL, NULL, NULL }
};


static void
test_reader(void)
{
    int                 rc;
    char               *input;
    cJSON              *got, *want;
    llm_error_t         e;
    llm_request_t       req;
    llm_responses_t     rq;
    const read_case_t  *c;
    const bad_case_t   *b;

    for (c = read_cases; c->name; c++) {
        rc = llm_responses_parse(&rq, c->in, strlen(c->in), &e);

        if (!ok(rc == LLM_OK, "%s: read", c->name)) {
            diag("%s", e.message);
            continue;
        }

        got = cJSON_ParseWithLength(rq.chat.data, rq.chat.len);
        want = cJSON_Parse(c->chat);

        if (!ok(want && cJSON_Compare(got, want, 1), "%s: the internal form",
                c->name))
        {
            diag("got %.*s", (int) rq.chat.len, rq.chat.data);
        }

        cJSON_Delete(got);
        cJSON_Delete(want);

        if (c->input) {
            input = NULL;
            if (asprintf(&input, "[%.*s]",
                         (int) (rq.input_end - rq.input_start),
                         rq.chat.data + rq.input_start) < 0)
            {
                input = NULL;
            }

            got = input ? cJSON_Parse(input) : NULL;
            want = cJSON_Parse(c->input);
            ok(got && cJSON_Compare(got, want, 1),
               "%s: the input's messages marked", c->name);
            cJSON_Delete(got);
            cJSON_Delete(want);
            free(input);
        }

        is_cstr(rq.native, c->native ? c->native : "",
                "%s: what only OpenAI serves", c->name);
        is_str(c->in + rq.model_start, rq.model_end - rq.model_start,
               "\"m\"", "%s: the model's bytes", c->name);

        /* the echo is the inside of an object */
        if (asprintf(&input, "{%.*s}", (int) rq.echo.len, rq.echo.data) >= 0) {
            got = cJSON_Parse(input);
            ok(cJSON_IsObject(got) && cJSON_GetObjectItem(got, "tools")
               && cJSON_GetObjectItem(got, "store"),
               "%s: the echoed members", c->name);
            cJSON_Delete(got);
            free(input);
        }

        /* what the reader writes, the internal parser takes */
        memset(&req, 0, sizeof(llm_request_t));
        rc = llm_request_parse(&req, rq.chat.data, rq.chat.len, &e);
        if (!ok(rc == LLM_OK, "%s: a valid chat request", c->name)) {
            diag("%s", e.message);
        } else {
            llm_request_free(&req);
        }

        llm_responses_free(&rq);
    }

    for (b = bad_cases; b->name; b++) {
        rc = llm_responses_parse(&rq, b->in, strlen(b->in), &e);

        ok(rc == LLM_ERROR && e.status == 400, "%s: 400", b->name);
        is_cstr(e.param, b->param, "%s: param", b->name);
        is_cstr(e.code, b->code, "%s: code (%s)", b->name, e.message);
    }
}


/* a pretty-printed body: the members copied, the echo on one line */

static void
test_spans(void)
{
    cJSON            *got;
    char             *echo;
    llm_error_t       e;
    llm_responses_t   rq;
    const char       *in;

    in = "{\n  \"model\": \"m\",\n  \"input\": \"Hi\",\n  \"tools\": [\n"
         "    {\"type\": \"function\", \"name\": \"f\"}\r\n  ],\n"
         "  \"temperature\": 0.25,\n  \"temperature\": 9,\n"
         "  \"user\": \"u\",\n  \"safety_identifier\": \"s\",\n"
         "  \"metadata\": {\"k\": \"line\\nbreak\"}\n}";

    if (!ok(llm_responses_parse(&rq, in, strlen(in), &e) == LLM_OK,
            "a pretty-printed body"))
    {
        diag("%s", e.message);
        return;
    }

    ok(memchr(rq.echo.data, '\n', rq.echo.len) == NULL
       && memchr(rq.echo.data, '\r', rq.echo.len) == NULL,
       "its echo on one line");

    if (asprintf(&echo, "{%.*s}", (int) rq.echo.len, rq.echo.data) >= 0) {
        got = cJSON_Parse(echo);
        is_cstr(str(cJSON_GetObjectItem(got, "metadata"), "k"),
                "line\nbreak", "an escaped line break kept");
        ok(cJSON_GetNumberValue(cJSON_GetObjectItem(got, "temperature"))
           == 0.25, "the first of two duplicates, as cJSON reads them");
        cJSON_Delete(got);
        free(echo);
    }

    got = cJSON_ParseWithLength(rq.chat.data, rq.chat.len);
    is_cstr(str(got, "user"), "s", "safety_identifier before user");
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(got, "temperature")) == 0.25,
       "the first temperature sent");
    cJSON_Delete(got);

    llm_responses_free(&rq);
}


/* --- the writer: a stream read as the OpenAI SDK reads it */

/* appends s to the string member name of obj */
static void
append_to(cJSON *obj, const char *name, const char *s)
{
    char  *joined;

    if (asprintf(&joined, "%s%s", str(obj, name), s) < 0) {
        return;
    }

    cJSON_ReplaceItemInObject(obj, name, cJSON_CreateString(joined));
    free(joined);
}


/*
 * The SDK's accumulator (openai-node's ResponseStream, with 7.x's
 * checks): the first event response.created, sequence numbers in order,
 * new output indexes, item_id naming the item at output_index, parts
 * before their deltas; the snapshot's items built from the events.
 * Returns the items built, NULL when a rule is broken (why: in *why),
 * and the terminal event's response in *final.
 */

static cJSON *
accumulate(events_t *ev, cJSON **final, const char **why)
{
    int          i, idx;
    cJSON       *items, *d, *item, *part, *content;
    const char  *type;

    *final = NULL;
    *why = "no events";

    if (ev->n < 3 || strcmp(ev->name[0], "response.created") != 0) {
        return NULL;
    }

    items = cJSON_CreateArray();

    for (i = 0; i < ev->n; i++) {
        d = ev->data[i];
        type = str(d, "type");

        if (d == NULL || strcmp(ev->name[i], type) != 0) {
            *why = "the event's name is not its type";
            goto broken;
        }

        if (num(d, "sequence_number") != i) {
            *why = "a sequence number out of order";
            goto broken;
        }

        idx = num(d, "output_index");
        item = cJSON_GetArrayItem(items, idx);

        if (cJSON_GetObjectItem(d, "item_id")
            && (item == NULL || strcmp(str(d, "item_id"), str(item, "id"))))
        {
            *why = "an item_id not the item's at output_index";
            goto broken;
        }

        if (strcmp(type, "response.output_item.added") == 0) {
            if (idx != cJSON_GetArraySize(items)
                || str(cJSON_GetObjectItem(d, "item"), "id")[0] == '\0')
            {
                *why = "an item added at a used index, or without an id";
                goto broken;
            }

            cJSON_AddItemToArray(items, cJSON_Duplicate(
                cJSON_GetObjectItem(d, "item"), 1));

        } else if (strcmp(type, "response.content_part.added") == 0) {
            content = cJSON_GetObjectItem(item, "content");

            if (num(d, "content_index") != cJSON_GetArraySize(content)) {
                *why = "a part added at the wrong content_index";
                goto broken;
            }

            cJSON_AddItemToArray(content, cJSON_Duplicate(
                cJSON_GetObjectItem(d, "part"), 1));

        } else if (strcmp(type, "response.output_text.delta") == 0) {
            part = cJSON_GetArrayItem(cJSON_GetObjectItem(item, "content"),
                                      num(d, "content_index"));

            if (strcmp(str(part, "type"), "output_text") != 0) {
                *why = "a text delta without its output_text part";
                goto broken;
            }

            append_to(part, "text", str(d, "delta"));

        } else if (strcmp(type, "response.function_call_arguments.delta")
                   == 0)
        {
            if (strcmp(str(item, "type"), "function_call") != 0) {
                *why = "arguments for an item that is not a call";
                goto broken;
            }

            append_to(item, "arguments", str(d, "delta"));

        } else if (strcmp(type, "response.reasoning_summary_text.delta")
                   == 0)
        {
            if (strcmp(str(item, "type"), "reasoning") != 0) {
                *why = "a summary for an item that is not reasoning";
                goto broken;
            }

        } else if (strcmp(type, "response.output_item.done") == 0) {
            if (strcmp(str(cJSON_GetObjectItem(d, "item"), "id"),
                       str(item, "id")) != 0)
            {
                *why = "an item done that is not the one added";
                goto broken;
            }

            cJSON_ReplaceItemInArray(items, idx, cJSON_Duplicate(
                cJSON_GetObjectItem(d, "item"), 1));

        } else if (strcmp(type, "response.completed") == 0
                   || strcmp(type, "response.incomplete") == 0
                   || strcmp(type, "response.failed") == 0)
        {
            if (i != ev->n - 1) {
                *why = "events after the terminal one";
                goto broken;
            }

            *final = cJSON_GetObjectItem(d, "response");
        }
    }

    if (*final == NULL) {
        *why = "no terminal event";
        goto broken;
    }

    return items;

broken:

    cJSON_Delete(items);

    return NULL;
}


static const llm_responses_conf_t  conf = {
    "resp_0123456789abcdef", "\"tools\":[],\"store\":true",
    sizeof("\"tools\":[],\"store\":true") - 1, NULL, 1
};


static void
test_replays(void)
{
    static const struct {
        const char  *dialect;
        const char  *stream;
        const char  *kinds;         /* the items' types, first letters */
        const char  *status;
    } cases[] = {
        { "openai", "openai/chat-tool-call.stream.sse", "f", "completed" },
        { "openai", "groq/chat-text-reasoning.stream.sse", "rm",
          "completed" },
        { "openai", "openai/chat-text-after-tool.stream.sse", "m",
          "completed" },
        { "gemini", "google/tool-call.stream.sse", "f", "completed" },
        { "gemini", "google/text.stream.sse", "m", "completed" },
        { "anthropic", "anthropic/messages-thinking.stream.sse", "rm",
          "completed" },
        { "anthropic", "anthropic/messages-server-and-client-tool.stream.sse",
          "mf", "completed" },
        { NULL, NULL, NULL, NULL }
    };

    int                   i, j;
    char                  kinds[16];
    cJSON                *items, *final, *it;
    events_t              ev;
    llm_buf_t             body, out, turn;
    const char           *why;
    llm_response_t        resp;
    const llm_dialect_t  *d;

    for (i = 0; cases[i].dialect; i++) {
        d = llm_dialect_find(cases[i].dialect, strlen(cases[i].dialect));

        memset(&body, 0, sizeof(llm_buf_t));
        memset(&out, 0, sizeof(llm_buf_t));
        memset(&turn, 0, sizeof(llm_buf_t));
        memset(&resp, 0, sizeof(llm_response_t));

        if (read_file(cases[i].stream, &body) != LLM_OK) {
            ok(0, "%s: read", cases[i].stream);
            continue;
        }

        llm_response_init(&resp, "client-model", 0);
        resp.writer = &llm_writer_responses;
        resp.wconf = &conf;

        events_replay(d, &resp, &body, &out);

        events_read(&ev, &out);
        items = accumulate(&ev, &final, &why);

        if (!ok(items != NULL, "%s: a well-formed Responses stream",
                cases[i].stream))
        {
            diag("%s: %.*s", why, (int) (out.len > 3000 ? 3000 : out.len),
                 out.data);
            goto next;
        }

        j = 0;
        cJSON_ArrayForEach(it, items) {
            if (j < 15) {
                kinds[j++] = str(it, "type")[0];
            }
        }
        kinds[j] = '\0';

        is_cstr(kinds, cases[i].kinds, "%s: the items", cases[i].stream);
        is_cstr(str(final, "status"), cases[i].status, "%s: status",
                cases[i].stream);
        is_cstr(str(final, "id"), conf.id, "%s: the response's id",
                cases[i].stream);
        is_cstr(str(final, "model"), "client-model", "%s: the model",
                cases[i].stream);
        ok(cJSON_Compare(items, cJSON_GetObjectItem(final, "output"), 1),
           "%s: the final output is the items streamed", cases[i].stream);
        ok(num(cJSON_GetObjectItem(final, "usage"), "output_tokens") > 0,
           "%s: usage", cases[i].stream);
        ok(cJSON_IsArray(cJSON_GetObjectItem(final, "tools")),
           "%s: the request's members echoed", cases[i].stream);

        cJSON_ArrayForEach(it, items) {
            if (strcmp(str(it, "type"), "function_call") == 0) {
                cJSON  *args = cJSON_Parse(str(it, "arguments"));

                ok(args != NULL && str(it, "call_id")[0]
                   && str(it, "name")[0],
                   "%s: a call with its id, name and JSON arguments",
                   cases[i].stream);
                cJSON_Delete(args);
            }
        }

        /* what a response store keeps: valid internal-form messages */
        if (llm_buf_append_lit(&turn, "[{\"role\":\"user\",\"content\":\"x\"}")
            == LLM_OK
            && llm_responses_turn(&resp, &turn) == LLM_OK
            && llm_buf_append_lit(&turn, "]") == LLM_OK)
        {
            cJSON  *t = cJSON_ParseWithLength(turn.data, turn.len);
            cJSON  *a = cJSON_GetArrayItem(t, 1);

            ok(a && strcmp(str(a, "role"), "assistant") == 0
               && (cJSON_IsString(cJSON_GetObjectItem(a, "content"))
                   || cJSON_GetObjectItem(a, "tool_calls")),
               "%s: the turn a store keeps", cases[i].stream);
            cJSON_Delete(t);

        } else {
            ok(0, "%s: the turn a store keeps", cases[i].stream);
        }

        cJSON_Delete(items);

    next:

        events_free(&ev);
        llm_response_free(&resp);
        llm_buf_free(&out);
        llm_buf_free(&turn);
        llm_buf_free(&body);
    }
}


/* whole answers: the response object */

static void
test_whole(void)
{
    static const struct {
        const char  *dialect;
        const char  *file;
        const char  *kinds;
    } cases[] = {
        { "openai", "openai/chat-text.response.json", "m" },
        { "openai", "openai/chat-tool-call.response.json", "f" },
        { "openai", "groq/chat-text.response.json", "m" },
        { "gemini", "google/text.response.json", "m" },
        { "gemini", "google/tool-call.response.json", "f" },
        { "anthropic", "anthropic/messages-tool-use.response.json", "f" },
        { NULL, NULL, NULL }
    };

    int                   i, j;
    char                  kinds[16];
    cJSON                *o, *it;
    llm_buf_t             body, out;
    llm_response_t        resp;
    const llm_dialect_t  *d;

    for (i = 0; cases[i].dialect; i++) {
        d = llm_dialect_find(cases[i].dialect, strlen(cases[i].dialect));

        memset(&body, 0, sizeof(llm_buf_t));
        memset(&out, 0, sizeof(llm_buf_t));
        memset(&resp, 0, sizeof(llm_response_t));

        if (read_file(cases[i].file, &body) != LLM_OK) {
            ok(0, "%s: read", cases[i].file);
            continue;
        }

        llm_response_init(&resp, "client-model", 0);
        resp.writer = &llm_writer_responses;
        resp.wconf = &conf;
        llm_response_whole(&resp);

        ok(d->response(&resp, body.data, body.len, &out) == LLM_OK,
           "%s: translated", cases[i].file);

        o = cJSON_ParseWithLength(out.data, out.len);

        j = 0;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "output")) {
            if (j < 15) {
                kinds[j++] = str(it, "type")[0];
            }

            if (strcmp(str(it, "type"), "function_call") == 0) {
                cJSON  *args = cJSON_Parse(str(it, "arguments"));

                ok(args != NULL, "%s: JSON arguments", cases[i].file);
                cJSON_Delete(args);
            }

            is_cstr(str(it, "status"),
                    strcmp(str(it, "type"), "reasoning") ? "completed" : "",
                    "%s: a %s item's status", cases[i].file,
                    str(it, "type"));
        }
        kinds[j] = '\0';

        is_cstr(str(o, "object"), "response", "%s: a response",
                cases[i].file);
        is_cstr(kinds, cases[i].kinds, "%s: the items", cases[i].file);
        is_cstr(str(o, "status"), "completed", "%s: completed",
                cases[i].file);
        ok(num(cJSON_GetObjectItem(o, "usage"), "input_tokens") > 0,
           "%s: usage", cases[i].file);

        cJSON_Delete(o);
        llm_response_free(&resp);
        llm_buf_free(&out);
        llm_buf_free(&body);
    }
}


/* events by hand: a refusal, a finish by length, a failure */

static void
test_events(void)
{
    cJSON           *items, *final;
    events_t         ev;
    llm_buf_t        out;
    const char      *why;
    llm_response_t   resp;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses;
    resp.wconf = &conf;

    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"Hi \\\"x\\\"\"", 10, &out);
    llm_event_text(&resp, 0, LLM_PART_REFUSAL, "\"no\"", 4, &out);
    llm_event_finish(&resp, 0, "length", &out);
    resp.usage.prompt_tokens = 3;
    resp.usage.completion_tokens = 2;
    llm_event_end(&resp, &out);

    events_read(&ev, &out);
    items = accumulate(&ev, &final, &why);
    if (!ok(items != NULL, "text and a refusal: well formed")) {
        diag("%s", why);
    }

    is_cstr(str(final, "status"), "incomplete", "length: incomplete");
    is_cstr(str(cJSON_GetObjectItem(final, "incomplete_details"), "reason"),
            "max_output_tokens", "length: max_output_tokens");
    is_cstr(str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                cJSON_GetArrayItem(items, 0), "content"), 0), "text"),
            "Hi \"x\"", "the text, unescaped once");
    is_cstr(str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                cJSON_GetArrayItem(items, 1), "content"), 0), "refusal"),
            "no", "the refusal in its own part");
    is_int(num(cJSON_GetObjectItem(final, "usage"), "total_tokens"), 5,
           "total tokens");

    cJSON_Delete(items);
    events_free(&ev);
    llm_response_free(&resp);
    llm_buf_reset(&out);

    /* a failure after the start */

    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses;
    resp.wconf = &conf;

    llm_event_start(&resp, &out);
    llm_event_text(&resp, 0, LLM_PART_CONTENT, "\"Hi\"", 4, &out);
    llm_response_fail(&resp, &out, 502, "stream_truncated", "It broke.");

    events_read(&ev, &out);
    items = accumulate(&ev, &final, &why);
    if (!ok(items != NULL, "a failure: well formed")) {
        diag("%s", why);
    }

    is_cstr(ev.name[ev.n - 1], "response.failed", "response.failed last");
    is_cstr(str(final, "status"), "failed", "status failed");
    is_cstr(str(cJSON_GetObjectItem(final, "error"), "message"), "It broke.",
            "the error's message");
    is_cstr(str(cJSON_GetArrayItem(cJSON_GetObjectItem(final, "output"), 0),
                "status"), "incomplete", "the open item incomplete");

    cJSON_Delete(items);
    events_free(&ev);
    llm_response_free(&resp);
    llm_buf_free(&out);
}


/* --- OpenAI's own answers, read for the relay */

static void
test_relay(void)
{
    int              rc;
    llm_buf_t        out;
    llm_response_t   resp;
    const char      *s;

    static const char  completed[] =
        "{\"type\":\"response.completed\",\"response\":{\"id\":\"r\","
        "\"status\":\"completed\",\"output\":[{\"type\":\"function_call\"}],"
        "\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":"
        "10,\"input_tokens_details\":{\"cached_tokens\":2},"
        "\"output_tokens_details\":{\"reasoning_tokens\":1}}},"
        "\"sequence_number\":5}";
    static const char  failed[] =
        "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\","
        "\"error\":{\"code\":\"server_error\",\"message\":\"Down.\"}}}";

    const llm_dialect_t  *d = &llm_dialect_responses_relay;

    memset(&out, 0, sizeof(llm_buf_t));
    memset(&resp, 0, sizeof(llm_response_t));
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;

    s = "{\"type\":\"response.created\"}";
    d->stream_event(&resp, LIT_EV("response.created"), s, strlen(s), &out);
    ok(!resp.first_token, "created: not a token yet");
    s = "{\"type\":\"response.output_text.delta\",\"delta\":\"x\"}";
    d->stream_event(&resp, LIT_EV("response.output_text.delta"), s,
                    strlen(s), &out);
    ok(resp.first_token, "a delta: the first token");
    rc = d->stream_event(&resp, LIT_EV("response.completed"), completed,
                         sizeof(completed) - 1, &out);
    is_int(rc, LLM_DONE, "completed: the end");
    ok(resp.done && !resp.failed, "done, not failed");
    is_int((int) resp.usage.prompt_tokens, 7, "input tokens");
    is_int((int) resp.usage.completion_tokens, 3, "output tokens");
    is_int((int) resp.usage.cached_tokens, 2, "cached tokens");
    is_cstr(resp.finish_reason, "tool_calls", "a call: tool_calls");
    is_int((int) out.len, 0, "nothing written: the frames are relayed");
    llm_response_free(&resp);

    /* failed before any output: another candidate may take it */
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;
    rc = d->stream_event(&resp, LIT_EV("response.failed"), failed,
                         sizeof(failed) - 1, &out);
    ok(rc == LLM_DONE && resp.failed, "failed first: a failure");
    is_cstr(resp.error.message, "Down.", "with OpenAI's words");
    llm_response_free(&resp);
    llm_buf_reset(&out);

    /* failed after output: OpenAI's own end, relayed */
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;
    resp.first_token = 1;
    rc = d->stream_event(&resp, LIT_EV("response.failed"), failed,
                         sizeof(failed) - 1, &out);
    ok(rc == LLM_DONE && resp.done && !resp.failed,
       "failed after output: the end, relayed");
    llm_response_free(&resp);

    /* a truncated stream */
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;
    resp.first_token = 1;
    d->stream_end(&resp, &out);
    ok(resp.failed, "no terminal event: truncated");
    ok(out.len && memmem(out.data, out.len, "event: error", 12),
       "an error event ends the relayed stream");
    llm_response_free(&resp);
    llm_buf_reset(&out);

    /* whole */
    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;
    s = completed + sizeof("{\"type\":\"response.completed\",\"response\":")
        - 1;
    rc = d->response(&resp, s, strlen(s) - sizeof(",\"sequence_number\":5}")
                                + 1, &out);
    ok(rc == LLM_OK && resp.usage.prompt_tokens == 7, "a whole response");
    llm_response_free(&resp);

    llm_response_init(&resp, "m", 0);
    resp.writer = &llm_writer_responses_relay;
    rc = d->response(&resp, "{\"x\":1}", 7, &out);
    ok(rc == LLM_ERROR && resp.error.status == 502, "not a response: 502");
    llm_response_free(&resp);

    llm_buf_free(&out);
}


int
main(int argc, char **argv)
{
    if (argc > 1) {
        root = argv[1];
    }

    test_reader();
    test_spans();
    test_replays();
    test_whole();
    test_events();
    test_relay();

    return done_testing();
}
