/*
 * libFuzzer target for the "anthropic" dialect's stream translation
 * (src/core/llm_dialect_anthropic.c): translated from Anthropic events.  The
 * harness and its invariants are in fuzz_stream.h; here, in addition, the
 * tool calls: every tool_calls delta has one entry; a call's first delta
 * takes the next index and carries id, type "function", a name and
 * arguments ""; the later ones carry only a non-empty arguments fragment.
 */

#include "llm_anthropic.h"

#define FUZZ_DIALECT      llm_dialect_anthropic
#define FUZZ_CHECK_OBJECT
#define FUZZ_CHECK_CHUNK  check_tools

#include <string.h>
#include <cjson/cJSON.h>

#include "fuzz_check.h"


static int  fuzz_tools;         /* the calls opened in this stream */


static void
check_tools(cJSON *j)
{
    int          index;
    cJSON       *delta, *calls, *call, *fn, *args;
    const char  *type;

    delta = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j,
                                                                 "choices"),
                                   0),
                "delta");

    if (cJSON_GetObjectItemCaseSensitive(delta, "role")) {
        /* the first chunk of a stream */
        fuzz_tools = 0;
    }

    calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");

    if (calls == NULL) {
        return;
    }

    check(cJSON_IsArray(calls) && cJSON_GetArraySize(calls) == 1);

    call = cJSON_GetArrayItem(calls, 0);
    index = (int) cJSON_GetNumberValue(
                      cJSON_GetObjectItemCaseSensitive(call, "index"));
    fn = cJSON_GetObjectItemCaseSensitive(call, "function");
    args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");

    check(cJSON_IsString(args));

    if (index == fuzz_tools) {
        type = cJSON_GetStringValue(
                   cJSON_GetObjectItemCaseSensitive(call, "type"));

        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(call, "id")));
        check(type != NULL && strcmp(type, "function") == 0);
        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fn, "name")));
        check(args->valuestring[0] == '\0');

        fuzz_tools++;
        return;
    }

    check(index >= 0 && index == fuzz_tools - 1);
    check(cJSON_GetObjectItemCaseSensitive(call, "id") == NULL);
    check(args->valuestring[0] != '\0');
}


#include "fuzz_stream.h"
