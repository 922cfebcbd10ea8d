/*
 * libFuzzer target for the "gemini" dialect's stream translation
 * (src/core/llm_dialect_gemini.c): translated from Gemini chunks.  The
 * harness and its invariants are in fuzz_stream.h; this target adds the
 * tool-call ones: every tool_calls delta is whole (an index, an id
 * "call_...", type "function", a name, and arguments that are a JSON
 * object), as a Gemini functionCall arrives whole.
 */

#include <string.h>
#include <cjson/cJSON.h>

#include "llm_gemini.h"
#include "fuzz_check.h"


static void
fuzz_gemini_tools(const char *p, size_t n)
{
    const char  *end, *eol;
    cJSON       *j, *choice, *call, *fn, *v, *args;

    end = p + n;

    for ( /* void */ ; p + 6 < end; p = eol + 2) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            return;
        }

        j = cJSON_ParseWithLength(p + 6, (size_t) (eol - p - 6));

        cJSON_ArrayForEach(choice, cJSON_GetObjectItem(j, "choices")) {
            v = cJSON_GetObjectItem(choice, "delta");

            cJSON_ArrayForEach(call, cJSON_GetObjectItem(v, "tool_calls")) {
                fn = cJSON_GetObjectItem(call, "function");
                v = cJSON_GetObjectItem(call, "id");

                check(cJSON_IsNumber(cJSON_GetObjectItem(call, "index")));
                check(cJSON_IsString(v)
                      && strncmp(v->valuestring, "call_", 5) == 0);
                check(cJSON_IsString(cJSON_GetObjectItem(call, "type")));
                check(cJSON_IsString(cJSON_GetObjectItem(fn, "name")));

                v = cJSON_GetObjectItem(fn, "arguments");
                check(cJSON_IsString(v));

                args = cJSON_Parse(v->valuestring);
                check(cJSON_IsObject(args));
                cJSON_Delete(args);
            }
        }

        cJSON_Delete(j);
    }
}


static int
fuzz_gemini_event(llm_response_t *resp, const char *event, size_t event_len,
    const char *data, size_t n, llm_buf_t *out)
{
    int     rc;
    size_t  mark;

    mark = out->len;

    rc = llm_dialect_gemini.stream_event(resp, event, event_len, data, n,
                                         out);

    fuzz_gemini_tools(out->data + mark, out->len - mark);

    return rc;
}


/* the wrapped event, the dialect's own end */
#define FUZZ_DIALECT  (*fuzz_dialect())

static const llm_dialect_t *
fuzz_dialect(void)
{
    static llm_dialect_t  d;

    if (d.name == NULL) {
        d = llm_dialect_gemini;
        d.stream_event = fuzz_gemini_event;
    }

    return &d;
}

#define FUZZ_CHECK_OBJECT

#include "fuzz_stream.h"
