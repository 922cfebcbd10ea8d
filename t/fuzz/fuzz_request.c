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
 * A plain request (src/core/llm_plain.c) is also built for Anthropic and
 * Gemini from its spans and from the tree: both must mean the same.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_openai.h"
#include "llm_anthropic.h"
#include "llm_gemini.h"
#include "fuzz_check.h"


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

    /* the tree was edited: the raw bytes and spans no longer say the same */
    copy.raw = NULL;
    copy.spans = NULL;
    copy.plain = 0;
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


static cJSON *
build_native(const llm_dialect_t *d, llm_request_t *req, unsigned plain)
{
    cJSON      *j;
    llm_buf_t   b;

    memset(&b, 0, sizeof(llm_buf_t));

    req->plain = plain;
    check(d->build_request(req, UPSTREAM_MODEL, &b) == LLM_OK);

    j = cJSON_ParseWithLength(b.data, b.len);
    check(cJSON_IsObject(j));

    llm_buf_free(&b);

    return j;
}


static void
same_native(llm_request_t *req)
{
    int                   i;
    cJSON                *plain, *tree;
    const llm_dialect_t  *d[2];

    d[0] = &llm_dialect_anthropic;
    d[1] = &llm_dialect_gemini;

    for (i = 0; i < 2; i++) {
        plain = build_native(d[i], req, 1);
        tree = build_native(d[i], req, 0);

        check(cJSON_Compare(plain, tree, 1));

        cJSON_Delete(plain);
        cJSON_Delete(tree);
    }

    req->plain = 1;
}


/*
 * A request whose long texts are kept out of the tree: each dialect that
 * takes it writes the same request as from the whole tree
 */

static void
same_marked(const char *data, size_t size)
{
    int                   i, k, rc[2];
    char                 *p[2];
    cJSON                *out[2];
    llm_buf_t             b;
    llm_error_t           e;
    llm_request_t         req;
    const llm_dialect_t  *d[3];

    d[0] = &llm_dialect_anthropic;
    d[1] = &llm_dialect_gemini;
    d[2] = &llm_dialect_openai;

    for (k = 0; k < 3; k++) {
        for (i = 0; i < 2; i++) {
            out[i] = NULL;
            rc[i] = LLM_DECLINED;

            check(llm_request_parse(&req, data, size, &e) == LLM_OK);

            req.plain = 0;
            req.whole_tree = i;

            /* (the dialect's check, not this file's macro) */
            if (d[k]->check == NULL || (d[k]->check)(&req, &e) == LLM_OK) {
                memset(&b, 0, sizeof(llm_buf_t));
                rc[i] = d[k]->build_request(&req, UPSTREAM_MODEL, &b);

                if (rc[i] == LLM_OK) {
                    check(memchr(b.data, 0x7f, b.len) == NULL
                          || memchr(data, 0x7f, size) != NULL);
                    out[i] = cJSON_ParseWithLength(b.data, b.len);
                }

                llm_buf_free(&b);
            }

            llm_request_free(&req);
        }

        check(rc[0] == rc[1]);
        check((out[0] == NULL) == (out[1] == NULL));
        /* printed, not cJSON_Compare(): it pairs duplicate keys wrongly */
        if (out[0]) {
            p[0] = cJSON_PrintUnformatted(out[0]);
            p[1] = cJSON_PrintUnformatted(out[1]);
            check(p[0] && p[1] && strcmp(p[0], p[1]) == 0);
            free(p[0]);
            free(p[1]);
        }

        cJSON_Delete(out[0]);
        cJSON_Delete(out[1]);
    }
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

    if (req.plain) {
        same_native(&req);
    }

    if (size >= 2048) {
        same_marked((const char *) data, size);
    }

    build(&req, 1);
    build(&req, 0);

    llm_request_free(&req);

    return 0;
}
