/*
 * Parse and validate an OpenAI Chat Completions request body.
 *
 * Validation is what OpenAI itself enforces on types and ranges, so a
 * mistake is reported by the gateway, naming the parameter, instead of
 * costing a provider round trip.  Fields not listed are passed through.
 */

#include <stdio.h>
#include <string.h>

#include "llm_request.h"
#include "llm_json_scan.h"


typedef enum {
    LLM_T_NUMBER,
    LLM_T_INTEGER,
    LLM_T_BOOL,
    LLM_T_STRING,
    LLM_T_OBJECT,
    LLM_T_ARRAY,
    LLM_T_STOP,          /* string or array of strings */
    LLM_T_TOOL_CHOICE    /* string or object */
} llm_param_type_e;


typedef struct {
    const char        *name;
    llm_param_type_e   type;
    double             min;
    double             max;
} llm_param_rule_t;


static const llm_param_rule_t  llm_request_rules[] = {
    { "temperature",           LLM_T_NUMBER,       0,  2 },
    { "top_p",                 LLM_T_NUMBER,       0,  1 },
    { "presence_penalty",      LLM_T_NUMBER,      -2,  2 },
    { "frequency_penalty",     LLM_T_NUMBER,      -2,  2 },
    { "n",                     LLM_T_INTEGER,      1,  128 },
    { "max_tokens",            LLM_T_INTEGER,      1,  1e12 },
    { "max_completion_tokens", LLM_T_INTEGER,      1,  1e12 },
    { "seed",                  LLM_T_INTEGER,  -1e18,  1e18 },
    { "top_logprobs",          LLM_T_INTEGER,      0,  20 },
    { "logprobs",              LLM_T_BOOL,         0,  0 },
    { "parallel_tool_calls",   LLM_T_BOOL,         0,  0 },
    { "store",                 LLM_T_BOOL,         0,  0 },
    { "user",                  LLM_T_STRING,       0,  0 },
    { "reasoning_effort",      LLM_T_STRING,       0,  0 },
    { "stop",                  LLM_T_STOP,         0,  0 },
    { "tools",                 LLM_T_ARRAY,        0,  0 },
    { "tool_choice",           LLM_T_TOOL_CHOICE,  0,  0 },
    { "response_format",       LLM_T_OBJECT,       0,  0 },
    { "metadata",              LLM_T_OBJECT,       0,  0 },
    { "logit_bias",            LLM_T_OBJECT,       0,  0 },
    { NULL,                    LLM_T_NUMBER,       0,  0 }
};


static const char  *llm_request_roles[] = {
    "system", "developer", "user", "assistant", "tool", "function", NULL
};


static int llm_request_check_messages(llm_json_t *messages, llm_error_t *e);
static int llm_request_check_param(llm_json_t *root,
    const llm_param_rule_t *rule, llm_error_t *e);
static int llm_request_scan(void *data, const llm_json_step_t *path,
    int depth, llm_json_type_e type, const char *start, const char *end);


static int
llm_request_scan(void *data, const llm_json_step_t *path, int depth,
    llm_json_type_e type, const char *start, const char *end)
{
    llm_request_t *req = data;

    if (depth != 1) {
        return LLM_OK;
    }

    if (llm_json_step_is(&path[0], "model") && type == LLM_JSON_STRING
        && req->model_end == 0)
    {
        req->model_start = (size_t) (start - req->raw);
        req->model_end = (size_t) (end - req->raw);

    } else if (llm_json_step_is(&path[0], "stream_options")) {
        req->has_stream_options = 1;
    }

    return LLM_OK;
}


int
llm_request_parse(llm_request_t *req, const char *p, size_t n,
    llm_error_t *e)
{
    size_t                   off, line, col;
    llm_json_t              *root, *v, *opts;
    const llm_param_rule_t  *rule;

    memset(req, 0, sizeof(llm_request_t));

    if (n == 0) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body is empty; expected a JSON object.");
        return LLM_ERROR;
    }

    /*
     * Strict first (cJSON lets raw control characters in strings pass),
     * noting where the model is, so a dialect can splice instead of
     * printing the tree again.
     */

    req->raw = p;
    req->raw_len = n;

    if (llm_json_scan(p, n, 1, llm_request_scan, req) == LLM_OK) {
        root = llm_json_parse(p, n, &off);

    } else {
        (void) llm_json_valid(p, n, &off);
        root = NULL;
    }

    if (root == NULL) {
        llm_json_position(p, off, &line, &col);
        llm_error_set(e, 400, NULL, "invalid_json",
                      "Invalid JSON in the request body at line %zu, "
                      "column %zu (byte %zu).", line, col, off);
        return LLM_ERROR;
    }

    if (!cJSON_IsObject(root)) {
        llm_error_set(e, 400, NULL, "invalid_json",
                      "The request body must be a JSON object, not %s.",
                      llm_json_type_name(root));
        goto failed;
    }

    /*
     * A duplicate key would route by one value while a provider that
     * keeps the last one reads another: refuse the ambiguity.
     */

    for (v = root->child; v; v = v->next) {
        for (opts = v->next; opts; opts = opts->next) {
            if (strcmp(v->string, opts->string) == 0) {
                llm_error_set(e, 400, v->string, "invalid_json",
                              "Duplicate key '%s' in the request body.",
                              v->string);
                goto failed;
            }
        }
    }

    v = llm_json_get(root, "model");

    if (v == NULL || cJSON_IsNull(v)) {
        llm_error_set(e, 400, "model", "missing_required_parameter",
                      "Missing required parameter: 'model'.");
        goto failed;
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        llm_error_set(e, 400, "model", "invalid_type",
                      "Invalid type for 'model': expected a non-empty "
                      "string, but got %s instead.",
                      cJSON_IsString(v) ? "an empty string"
                                        : llm_json_type_name(v));
        goto failed;
    }

    req->model = v->valuestring;

    v = llm_json_get(root, "messages");

    if (v == NULL || cJSON_IsNull(v)) {
        llm_error_set(e, 400, "messages", "missing_required_parameter",
                      "Missing required parameter: 'messages'.");
        goto failed;
    }

    if (llm_request_check_messages(v, e) != LLM_OK) {
        goto failed;
    }

    v = llm_json_get(root, "stream");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) {
            llm_error_set(e, 400, "stream", "invalid_type",
                          "Invalid type for 'stream': expected a boolean, "
                          "but got %s instead.", llm_json_type_name(v));
            goto failed;
        }

        req->stream = cJSON_IsTrue(v);
    }

    opts = llm_json_get(root, "stream_options");

    if (opts && !cJSON_IsNull(opts)) {
        if (!cJSON_IsObject(opts)) {
            llm_error_set(e, 400, "stream_options", "invalid_type",
                          "Invalid type for 'stream_options': expected an "
                          "object, but got %s instead.",
                          llm_json_type_name(opts));
            goto failed;
        }

        if (!req->stream) {
            llm_error_set(e, 400, "stream_options", "invalid_value",
                          "The 'stream_options' parameter is only allowed "
                          "when 'stream' is enabled.");
            goto failed;
        }

        v = llm_json_get(opts, "include_usage");

        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsBool(v)) {
                llm_error_set(e, 400, "stream_options.include_usage",
                              "invalid_type",
                              "Invalid type for "
                              "'stream_options.include_usage': expected a "
                              "boolean, but got %s instead.",
                              llm_json_type_name(v));
                goto failed;
            }

            req->include_usage = cJSON_IsTrue(v);
        }
    }

    for (rule = llm_request_rules; rule->name; rule++) {
        if (llm_request_check_param(root, rule, e) != LLM_OK) {
            goto failed;
        }
    }

    req->root = root;

    return LLM_OK;

failed:

    /* nothing may point into the freed tree */
    req->model = NULL;

    llm_json_free(root);

    return LLM_ERROR;
}


static int
llm_request_check_messages(llm_json_t *messages, llm_error_t *e)
{
    int          i;
    char         param[64];
    llm_json_t  *m, *role, *content;
    const char **r;

    if (!cJSON_IsArray(messages)) {
        llm_error_set(e, 400, "messages", "invalid_type",
                      "Invalid type for 'messages': expected an array, "
                      "but got %s instead.", llm_json_type_name(messages));
        return LLM_ERROR;
    }

    if (cJSON_GetArraySize(messages) == 0) {
        llm_error_set(e, 400, "messages", "empty_array",
                      "Invalid 'messages': empty array. Expected an array "
                      "with minimum length 1, but got an empty array "
                      "instead.");
        return LLM_ERROR;
    }

    i = 0;

    cJSON_ArrayForEach(m, messages) {

        if (!cJSON_IsObject(m)) {
            snprintf(param, sizeof(param), "messages[%d]", i);
            llm_error_set(e, 400, param, "invalid_type",
                          "Invalid type for '%s': expected an object, but "
                          "got %s instead.", param, llm_json_type_name(m));
            return LLM_ERROR;
        }

        role = llm_json_get(m, "role");

        if (role == NULL) {
            snprintf(param, sizeof(param), "messages[%d].role", i);
            llm_error_set(e, 400, param, "missing_required_parameter",
                          "Missing required parameter: '%s'.", param);
            return LLM_ERROR;
        }

        if (!cJSON_IsString(role)) {
            snprintf(param, sizeof(param), "messages[%d].role", i);
            llm_error_set(e, 400, param, "invalid_type",
                          "Invalid type for '%s': expected a string, but "
                          "got %s instead.", param,
                          llm_json_type_name(role));
            return LLM_ERROR;
        }

        for (r = llm_request_roles; *r; r++) {
            if (strcmp(*r, role->valuestring) == 0) {
                break;
            }
        }

        if (*r == NULL) {
            snprintf(param, sizeof(param), "messages[%d].role", i);
            llm_error_set(e, 400, param, "invalid_value",
                          "Invalid value for '%s': supported values are "
                          "'system', 'developer', 'user', 'assistant', "
                          "'tool' and 'function'.", param);
            return LLM_ERROR;
        }

        content = llm_json_get(m, "content");

        if (content && !cJSON_IsString(content) && !cJSON_IsArray(content)
            && !cJSON_IsNull(content))
        {
            snprintf(param, sizeof(param), "messages[%d].content", i);
            llm_error_set(e, 400, param, "invalid_type",
                          "Invalid type for '%s': expected a string or an "
                          "array of content parts, but got %s instead.",
                          param, llm_json_type_name(content));
            return LLM_ERROR;
        }

        if (content == NULL && strcmp(role->valuestring, "assistant") != 0) {
            snprintf(param, sizeof(param), "messages[%d].content", i);
            llm_error_set(e, 400, param, "missing_required_parameter",
                          "Missing required parameter: '%s'.", param);
            return LLM_ERROR;
        }

        i++;
    }

    return LLM_OK;
}


static int
llm_request_check_param(llm_json_t *root, const llm_param_rule_t *rule,
    llm_error_t *e)
{
    double       d;
    llm_json_t  *v, *s;
    const char  *want;

    v = llm_json_get(root, rule->name);

    if (v == NULL || cJSON_IsNull(v)) {
        return LLM_OK;
    }

    want = NULL;

    switch (rule->type) {

    case LLM_T_NUMBER:
    case LLM_T_INTEGER:
        if (!cJSON_IsNumber(v)) {
            want = (rule->type == LLM_T_NUMBER) ? "a number" : "an integer";
            break;
        }

        d = v->valuedouble;

        /* the cast is defined only in range: |d| <= 1e18 */

        if (rule->type == LLM_T_INTEGER && d >= -1e18 && d <= 1e18
            && d != (double) (long long) d)
        {
            want = "an integer";
            break;
        }

        if (!(d >= rule->min && d <= rule->max)) {
            llm_error_set(e, 400, rule->name, "invalid_value",
                          "Invalid value for '%s': expected a value "
                          "between %g and %g, but got %g instead.",
                          rule->name, rule->min, rule->max, d);
            return LLM_ERROR;
        }

        return LLM_OK;

    case LLM_T_BOOL:
        if (!cJSON_IsBool(v)) {
            want = "a boolean";
        }
        break;

    case LLM_T_STRING:
        if (!cJSON_IsString(v)) {
            want = "a string";
        }
        break;

    case LLM_T_OBJECT:
        if (!cJSON_IsObject(v)) {
            want = "an object";
        }
        break;

    case LLM_T_ARRAY:
        if (!cJSON_IsArray(v)) {
            want = "an array";
        }
        break;

    case LLM_T_STOP:
        if (cJSON_IsString(v)) {
            break;
        }

        if (!cJSON_IsArray(v)) {
            want = "a string or an array of strings";
            break;
        }

        cJSON_ArrayForEach(s, v) {
            if (!cJSON_IsString(s)) {
                want = "a string or an array of strings";
                break;
            }
        }

        break;

    case LLM_T_TOOL_CHOICE:
        if (!cJSON_IsString(v) && !cJSON_IsObject(v)) {
            want = "a string or an object";
        }
        break;
    }

    if (want) {
        llm_error_set(e, 400, rule->name, "invalid_type",
                      "Invalid type for '%s': expected %s, but got %s "
                      "instead.", rule->name, want, llm_json_type_name(v));
        return LLM_ERROR;
    }

    return LLM_OK;
}


void
llm_request_free(llm_request_t *req)
{
    if (req->root) {
        llm_json_free(req->root);
        req->root = NULL;
    }

    req->model = NULL;
}
