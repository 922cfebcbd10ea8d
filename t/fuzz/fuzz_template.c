/*
 * libFuzzer target for prompt templates (src/core/llm_template.c).
 *
 * Input: a chat request body.  It is rewritten with a template store and
 * decorators; a rewrite must be a JSON object without "template", whose
 * messages hold the decorators around the rest; an error must have a
 * valid envelope.  The same bytes are also expanded as template text
 * with fixed variables: never more "{{" than were there plus what the
 * values bring.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_template.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static cJSON  *tpl, *pre, *app, *vars;


static cJSON *
find(void *data, const char *name)
{
    return (strcmp(name, "t") == 0) ? tpl : NULL;
}


static void
init(void)
{
    if (tpl) {
        return;
    }

    tpl = cJSON_Parse("[{\"role\":\"system\",\"content\":\"S {{a}} {{b}}\"},"
                      "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                      "\"text\":\"{{ a }}\"}]}]");
    pre = cJSON_Parse("[{\"role\":\"system\",\"content\":\"PRE\"}]");
    app = cJSON_Parse("[{\"role\":\"user\",\"content\":\"APP\"}]");
    vars = cJSON_Parse("{\"a\":\"\\\"}\\n{{\",\"b\":3}");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc;
    char           missing[64];
    cJSON         *j, *msgs;
    llm_buf_t      out;
    llm_error_t    e;
    llm_prompt_t   pr;

    init();

    memset(&pr, 0, sizeof(pr));
    pr.find_template = find;
    pr.prepend[0] = pre;
    pr.append[0] = app;

    memset(&out, 0, sizeof(llm_buf_t));

    rc = llm_prompt_apply((const char *) data, size, &pr, &out, &e);

    if (rc == LLM_OK) {
        j = cJSON_ParseWithLength(out.data, out.len);
        check(cJSON_IsObject(j));
        check(cJSON_GetObjectItemCaseSensitive(j, "template") == NULL);

        msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
        check(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) >= 2);
        check(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                  cJSON_GetArrayItem(msgs, 0), "content")), "PRE") == 0);

        cJSON_Delete(j);

    } else if (rc == LLM_ERROR) {
        check(e.status == 400 || e.status == 404);
        llm_buf_reset(&out);
        check(llm_error_json(&e, &out) == LLM_OK);
        j = cJSON_ParseWithLength(out.data, out.len);
        check(cJSON_IsObject(j));
        cJSON_Delete(j);

    } else {
        check(rc == LLM_DECLINED);
    }

    llm_buf_reset(&out);

    rc = llm_template_expand((const char *) data, size, vars, &out, missing,
                             sizeof(missing));
    check(rc == LLM_OK || rc == LLM_DECLINED);

    if (rc == LLM_DECLINED) {
        check(missing[0] != '\0');
    }

    llm_buf_free(&out);

    return 0;
}
