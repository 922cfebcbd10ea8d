/*
 * libFuzzer target for request parsing (src/core/llm_request.c) and the
 * "openai" dialect's build_request (src/core/llm_openai.c).
 *
 * Input: a request body.  A rejected body must give a 400 error whose
 * envelope is valid JSON.  An accepted one is built for the provider
 * twice, as a stream and as a non-stream request; each body must be a
 * JSON object with the upstream model as its only "model" member,
 * stream_options.include_usage true for the stream and no stream_options
 * otherwise, and must itself parse as a valid request again.
 *
 * Every request is also built for Anthropic and Gemini by the dialect
 * (from the request's spans and pieces) and by the tree builders it
 * replaced (t/unit/oracle.c): both must mean the same, with the long
 * texts kept out of the oracle's tree and with them in.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_openai.h"
#include "llm_anthropic.h"
#include "llm_gemini.h"
#include "fuzz_check.h"
#include "../unit/oracle.h"


#define UPSTREAM_MODEL  "upstream \"model\""


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_error(llm_error_t *e)
{
    cJSON      *j, *err;
    llm_buf_t   b;

    check(e->status == 400);
    check(e->type != NULL && strcmp(e->type, "invalid_request_error") == 0);
    check(e->code[0] != '\0' && e->message[0] != '\0');

    memset(&b, 0, sizeof(llm_buf_t));
    check(llm_error_json(e, &b) == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    err = cJSON_GetObjectItemCaseSensitive(j, "error");

    check(cJSON_IsObject(err) && cJSON_GetArraySize(err) == 4);
    check(strcmp(cJSON_GetStringValue(
                     cJSON_GetObjectItemCaseSensitive(err, "message")),
                 e->message) == 0);

    cJSON_Delete(j);
    llm_buf_free(&b);
}


static void
delete_all(cJSON *obj, const char *name)
{
    while (cJSON_GetObjectItemCaseSensitive(obj, name)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    }
}


static int
count_members(cJSON *obj, const char *name)
{
    int     n;
    cJSON  *v;

    n = 0;

    cJSON_ArrayForEach(v, obj) {
        if (v->string && strcmp(v->string, name) == 0) {
            n++;
        }
    }

    return n;
}


/* builds a copy of the request as a stream or not, checks the body */

static void
build(llm_request_t *req, int stream)
{
    cJSON          *j, *opts;
    llm_buf_t       b;
    const char     *model;
    llm_error_t     e;
    llm_request_t   copy, again;

    copy = *req;
    copy.root = cJSON_Duplicate(llm_request_tree(req), 1);
    copy.arena = NULL;
    copy.tree_arena = NULL;

    /* the tree was edited: the raw bytes and spans no longer say the same */
    copy.raw = NULL;
    copy.chat = NULL;
    check(copy.root != NULL);

    delete_all(copy.root, "stream");

    if (stream) {
        cJSON_AddTrueToObject(copy.root, "stream");

    } else {
        delete_all(copy.root, "stream_options");
    }

    copy.stream = stream;
    /* the copy owns its model name, as a parsed request does */
    model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(copy.root,
                                                                  "model"));
    copy.model = model ? strdup(model) : NULL;

    memset(&b, 0, sizeof(llm_buf_t));

    check(llm_dialect_openai.build_request(&copy, UPSTREAM_MODEL, &b)
          == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    check(cJSON_IsObject(j));

    /* one model: a provider may keep the last of duplicate members */

    model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j,
                                                                  "model"));
    check(model != NULL && strcmp(model, UPSTREAM_MODEL) == 0);
    check(count_members(j, "model") == 1);

    opts = cJSON_GetObjectItemCaseSensitive(j, "stream_options");

    if (stream) {
        check(cJSON_IsObject(opts));
        check(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts,
                                                        "include_usage")));

    } else {
        check(opts == NULL);
    }

    /* what goes upstream is a valid request too */

    check(llm_request_parse(&again, b.data, b.len, &e) == LLM_OK);
    check(strcmp(again.model, UPSTREAM_MODEL) == 0);
    check(again.stream == stream);
    check(again.include_usage == stream);

    llm_request_free(&again);
    cJSON_Delete(j);
    llm_buf_free(&b);

    /* the tree's marks are of req's texts: req frees them */
    copy.texts = NULL;
    copy.ntexts = 0;

    llm_request_free(&copy);
}


/* -0 is 0: the oracle printed numbers from doubles, the dialect copies */

static void
plus_zero(cJSON *j)
{
    cJSON  *c;

    if (cJSON_IsNumber(j) && j->valuedouble == 0) {
        j->valuedouble = 0;
    }

    cJSON_ArrayForEach(c, j) {
        plus_zero(c);
    }
}


/* the request as the dialect writes it, or as the oracle does */

static char *
build_native(const llm_dialect_t *d, const char *data, size_t size,
    int oracle, int whole_tree, int *rc)
{
    char           *p;
    cJSON          *j;
    llm_buf_t       b;
    llm_error_t     e;
    llm_request_t   req;

    check(llm_request_parse(&req, data, size, &e) == LLM_OK);

    req.whole_tree = whole_tree;
    p = NULL;
    *rc = LLM_DECLINED;

    /* (the dialect's check, not this file's macro) */
    if (d->check == NULL || (d->check)(&req, &e) == LLM_OK) {
        memset(&b, 0, sizeof(llm_buf_t));

        *rc = oracle ? oracle_build(d, &req, UPSTREAM_MODEL, &b)
                     : d->build_request(&req, UPSTREAM_MODEL, &b);

        if (*rc == LLM_OK) {
            check(memchr(b.data, 0x7f, b.len) == NULL
                  || memchr(data, 0x7f, size) != NULL);

            j = cJSON_ParseWithLength(b.data, b.len);
            check(cJSON_IsObject(j));
            plus_zero(j);

            /* printed, not cJSON_Compare(): it pairs duplicate keys
             * wrongly; numbers print as cJSON reads them */
            p = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
        }

        llm_buf_free(&b);
    }

    llm_request_free(&req);

    return p;
}


static void
same_native(const char *data, size_t size)
{
    int                   i, k, rc[3];
    char                 *p[3];
    const llm_dialect_t  *d[2];

    d[0] = &llm_dialect_anthropic;
    d[1] = &llm_dialect_gemini;

    for (k = 0; k < 2; k++) {
        p[0] = build_native(d[k], data, size, 0, 0, &rc[0]);
        p[1] = build_native(d[k], data, size, 1, 0, &rc[1]);
        p[2] = build_native(d[k], data, size, 1, 1, &rc[2]);

        check(rc[0] == rc[1] && rc[1] == rc[2]);

        if (p[0]) {
            check(p[1] && strcmp(p[0], p[1]) == 0);
            check(p[2] && strcmp(p[0], p[2]) == 0);
        }

        for (i = 0; i < 3; i++) {
            free(p[i]);
        }
    }

    /* openai's rewrite, when it takes the tree: the same with the texts
     * kept out of it */

    p[0] = build_native(&llm_dialect_openai, data, size, 0, 0, &rc[0]);
    p[1] = build_native(&llm_dialect_openai, data, size, 0, 1, &rc[1]);

    check(rc[0] == rc[1]);
    check((p[0] == NULL) == (p[1] == NULL));
    check(p[0] == NULL || strcmp(p[0], p[1]) == 0);

    free(p[0]);
    free(p[1]);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    llm_error_t     e;
    llm_request_t   req;

    memset(&e, 0, sizeof(llm_error_t));

    rc = llm_request_parse(&req, (const char *) data, size, &e);

    if (rc != LLM_OK) {
        check(rc == LLM_ERROR && req.root == NULL);
        check_error(&e);
        return 0;
    }

    check(cJSON_IsObject(llm_request_tree(&req)));
    check(req.model != NULL && req.model[0] != '\0');
    check(!req.include_usage || req.stream);

    same_native((const char *) data, size);

    build(&req, 1);
    build(&req, 0);

    llm_request_free(&req);

    return 0;
}
