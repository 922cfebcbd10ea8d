/*
 * libFuzzer target for the "anthropic" dialect's request side
 * (src/core/llm_anthropic_request.c): the check and build_request on any
 * request the parser accepts.
 *
 * Invariants: the check answers LLM_OK or a 400 naming a parameter; an
 * accepted request builds into a JSON object whose messages alternate
 * roles, each turn with a non-empty content array, no empty text block,
 * tool_use blocks only in assistant turns with an object input,
 * tool_result blocks only in user turns and ahead of the other blocks;
 * max_tokens above any thinking budget of at least 1024; tool_choice only
 * with tools.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_anthropic.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static cJSON *
get(cJSON *j, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(j, name);
}


static int
is(cJSON *j, const char *name, const char *value)
{
    const char  *s;

    s = cJSON_GetStringValue(get(j, name));

    return s != NULL && strcmp(s, value) == 0;
}


static void
check_turn(cJSON *m)
{
    int     user, others;
    cJSON  *content, *b;

    user = is(m, "role", "user");
    check(user || is(m, "role", "assistant"));

    content = get(m, "content");
    check(cJSON_IsArray(content) && cJSON_GetArraySize(content) > 0);

    others = 0;

    cJSON_ArrayForEach(b, content) {
        if (is(b, "type", "text")) {
            check(cJSON_GetStringValue(get(b, "text"))[0] != '\0');
            others = 1;

        } else if (is(b, "type", "tool_use")) {
            check(!user && cJSON_IsObject(get(b, "input")));
            check(cJSON_IsString(get(b, "id")));

        } else if (is(b, "type", "tool_result")) {
            check(user && !others);
            check(cJSON_IsString(get(b, "tool_use_id")));

        } else {
            check(is(b, "type", "image") && user);
            others = 1;
        }
    }
}


static void
check_body(llm_buf_t *b)
{
    cJSON       *j, *m, *thinking;
    double       max, budget;
    const char  *last;

    j = cJSON_ParseWithLength(b->data, b->len);
    check(cJSON_IsObject(j));
    check(cJSON_IsArray(get(j, "messages")));

    last = NULL;

    cJSON_ArrayForEach(m, get(j, "messages")) {
        check_turn(m);
        check(last == NULL
              || strcmp(last, cJSON_GetStringValue(get(m, "role"))) != 0);
        last = cJSON_GetStringValue(get(m, "role"));
    }

    max = cJSON_GetNumberValue(get(j, "max_tokens"));
    check(max >= 1);

    thinking = get(j, "thinking");

    if (thinking) {
        budget = cJSON_GetNumberValue(get(thinking, "budget_tokens"));
        check(budget >= 1024 && max > budget);
        check(get(j, "temperature") == NULL && get(j, "top_p") == NULL);
    }

    check(get(j, "tool_choice") == NULL
          || cJSON_GetArraySize(get(j, "tools")) > 0);

    cJSON_Delete(j);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    memset(&e, 0, sizeof(llm_error_t));

    if (llm_request_parse(&req, (const char *) data, size, &e) != LLM_OK) {
        return 0;
    }

    /* parenthesized: "check" is also the invariant macro */
    rc = (llm_dialect_anthropic.check)(&req, &e);

    if (rc == LLM_DECLINED) {
        check(e.status == 400 && e.param[0] != '\0' && e.message[0] != '\0');
        llm_request_free(&req);
        return 0;
    }

    check(rc == LLM_OK);

    memset(&b, 0, sizeof(llm_buf_t));

    check(llm_dialect_anthropic.build_request(&req, "claude", &b) == LLM_OK);
    check_body(&b);

    llm_buf_free(&b);
    llm_request_free(&req);

    return 0;
}
