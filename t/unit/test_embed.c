/*
 * Unit tests for embeddings (src/core/llm_embed.c): base64, the client's
 * request, the provider requests of the three dialects, and the provider
 * responses, on the recorded fixtures.
 *
 * usage: test_embed <repo-root>
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/llm_embed.h"
#include "fixture.h"


static const char  *root = ".";


static void
test_base64(void)
{
    size_t          n;
    llm_buf_t       b;
    unsigned char   out[64];
    int             i, ok_all;
    unsigned char   all[256];

    static const struct {
        const char  *in;
        const char  *b64;
    } v[] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }, { NULL, NULL }
    };

    for (i = 0; v[i].in; i++) {
        memset(&b, 0, sizeof(llm_buf_t));
        ok(llm_base64_encode(&b, (unsigned char *) v[i].in, strlen(v[i].in))
           == LLM_OK, "encode \"%s\"", v[i].in);
        is_str(b.data, b.len, v[i].b64, "encode \"%s\" → %s", v[i].in,
               v[i].b64);
        llm_buf_free(&b);

        ok(llm_base64_decode(v[i].b64, strlen(v[i].b64), out, &n) == LLM_OK
           && n == strlen(v[i].in) && memcmp(out, v[i].in, n) == 0,
           "decode %s", v[i].b64);
    }

    ok(llm_base64_decode("Zm9", 3, out, &n) == LLM_ERROR, "bad length");
    ok(llm_base64_decode("Zm9*", 4, out, &n) == LLM_ERROR, "bad character");
    ok(llm_base64_decode("Z=9v", 4, out, &n) == LLM_ERROR, "= inside");
    ok(llm_base64_decode("Zm9v\n", 5, out, &n) == LLM_ERROR, "newline");

    for (i = 0; i < 256; i++) {
        all[i] = (unsigned char) i;
    }

    memset(&b, 0, sizeof(llm_buf_t));
    llm_base64_encode(&b, all, 256);

    {
        unsigned char  back[256];

        ok_all = llm_base64_decode(b.data, b.len, back, &n) == LLM_OK
                 && n == 256 && memcmp(back, all, 256) == 0;
    }

    ok(ok_all, "every byte value round-trips");
    llm_buf_free(&b);
}


static int
parse_err(const char *body, const char *code, int status)
{
    llm_error_t          e;
    llm_embed_request_t  req;

    memset(&e, 0, sizeof(e));

    if (llm_embed_request_parse(&req, body, strlen(body), &e) != LLM_ERROR) {
        llm_embed_request_free(&req);
        return 0;
    }

    return e.status == status && strcmp(e.code, code) == 0
           && req.root == NULL;
}


static void
test_request(void)
{
    llm_error_t          e;
    llm_embed_request_t  req;
    const char          *s;

    s = "{\"model\":\"m\",\"input\":\"hello\"}";
    ok(llm_embed_request_parse(&req, s, strlen(s), &e) == LLM_OK
       && req.count == 1 && !req.tokens && !req.base64
       && strcmp(req.model, "m") == 0, "one string");
    llm_embed_request_free(&req);

    s = "{\"model\":\"m\",\"input\":[\"a\",\"b\",\"c\"],"
        "\"encoding_format\":\"base64\",\"dimensions\":64}";
    ok(llm_embed_request_parse(&req, s, strlen(s), &e) == LLM_OK
       && req.count == 3 && req.base64 && req.dimensions == 64,
       "strings, base64, dimensions");
    llm_embed_request_free(&req);

    s = "{\"model\":\"m\",\"input\":[1,2,3]}";
    ok(llm_embed_request_parse(&req, s, strlen(s), &e) == LLM_OK
       && req.count == 1 && req.tokens, "one token array");
    llm_embed_request_free(&req);

    s = "{\"model\":\"m\",\"input\":[[1,2],[3]],\"encoding_format\":null}";
    ok(llm_embed_request_parse(&req, s, strlen(s), &e) == LLM_OK
       && req.count == 2 && req.tokens && !req.base64, "token arrays");
    llm_embed_request_free(&req);

    ok(parse_err("", "invalid_json", 400), "empty body");
    ok(parse_err("{", "invalid_json", 400), "bad JSON");
    ok(parse_err("[]", "invalid_json", 400), "not an object");
    ok(parse_err("{\"input\":\"a\"}", "missing_required_parameter", 400),
       "no model");
    ok(parse_err("{\"model\":\"\",\"input\":\"a\"}", "invalid_type", 400),
       "empty model");
    ok(parse_err("{\"model\":\"m\"}", "missing_required_parameter", 400),
       "no input");
    ok(parse_err("{\"model\":\"m\",\"input\":[]}", "empty_array", 400),
       "empty input");
    ok(parse_err("{\"model\":\"m\",\"input\":\"\"}", "invalid_value", 400),
       "empty string");
    ok(parse_err("{\"model\":\"m\",\"input\":[\"a\",[1]]}", "invalid_type",
                 400), "mixed");
    ok(parse_err("{\"model\":\"m\",\"input\":[[1.5]]}", "invalid_type", 400),
       "fractional token");
    ok(parse_err("{\"model\":\"m\",\"input\":[[-1]]}", "invalid_type", 400),
       "negative token");
    ok(parse_err("{\"model\":\"m\",\"input\":[[]]}", "invalid_type", 400),
       "empty token array");
    ok(parse_err("{\"model\":\"m\",\"input\":7}", "invalid_type", 400),
       "a number");
    ok(parse_err("{\"model\":\"m\",\"input\":\"a\",\"encoding_format\":1}",
                 "invalid_value", 400), "bad encoding_format");
    ok(parse_err("{\"model\":\"m\",\"input\":\"a\",\"dimensions\":1.5}",
                 "invalid_value", 400), "fractional dimensions");
    ok(parse_err("{\"model\":\"m\",\"input\":\"a\",\"dimensions\":-3}",
                 "invalid_value", 400), "negative dimensions");
    ok(parse_err("{\"model\":\"m\",\"input\":\"a\",\"user\":1}",
                 "invalid_type", 400), "bad user");
}


static cJSON *
build(const llm_embed_dialect_t *d, const char *body, llm_embed_target_t *t,
    int from, int n)
{
    cJSON                *j;
    llm_buf_t             b;
    llm_error_t           e;
    llm_embed_request_t   req;

    if (llm_embed_request_parse(&req, body, strlen(body), &e) != LLM_OK) {
        return NULL;
    }

    memset(&b, 0, sizeof(llm_buf_t));

    j = (d->build(&req, t, from, n, &b) == LLM_OK)
        ? cJSON_ParseWithLength(b.data, b.len) : NULL;

    llm_buf_free(&b);
    llm_embed_request_free(&req);

    return j;
}


static void
test_build(void)
{
    char                *s;
    cJSON               *j;
    llm_buf_t            p;
    llm_embed_target_t   t;

    const char  *body = "{\"model\":\"client\",\"input\":[\"a\",\"b\\\"q\","
                        "\"c\"],\"encoding_format\":\"base64\","
                        "\"user\":\"u\",\"extra\":{\"k\":1}}";

    memset(&t, 0, sizeof(t));
    t.upstream_model = "up";

    j = build(&llm_embed_openai, body, &t, 1, 2);
    s = cJSON_PrintUnformatted(j);
    is_str(s, strlen(s ? s : ""),
           "{\"user\":\"u\",\"extra\":{\"k\":1},\"model\":\"up\","
           "\"input\":[\"b\\\"q\",\"c\"]}",
           "openai: the slice, floats asked, the rest passed through");
    free(s);
    cJSON_Delete(j);

    t.dimensions = 256;
    j = build(&llm_embed_openai, "{\"model\":\"m\",\"input\":\"x\"}", &t,
              0, 1);
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "dimensions")) == 256,
       "openai: the model's dimensions");
    cJSON_Delete(j);

    j = build(&llm_embed_openai, "{\"model\":\"m\",\"input\":\"x\","
              "\"dimensions\":8}", &t, 0, 1);
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "dimensions")) == 8,
       "openai: the client's dimensions win");
    cJSON_Delete(j);

    t.dimensions = 0;
    t.task_type = "document";
    j = build(&llm_embed_voyage, body, &t, 0, 3);
    s = cJSON_PrintUnformatted(j);
    is_str(s, strlen(s ? s : ""),
           "{\"input\":[\"a\",\"b\\\"q\",\"c\"],\"model\":\"up\","
           "\"input_type\":\"document\"}", "voyage: input_type, no extras");
    free(s);
    cJSON_Delete(j);

    t.task_type = "RETRIEVAL_QUERY";
    t.dimensions = 768;
    t.upstream_model = "gemini-embedding-001";
    j = build(&llm_embed_gemini, body, &t, 2, 1);
    s = cJSON_PrintUnformatted(j);
    is_str(s, strlen(s ? s : ""),
           "{\"requests\":[{\"content\":{\"parts\":[{\"text\":\"c\"}]},"
           "\"model\":\"models/gemini-embedding-001\","
           "\"taskType\":\"RETRIEVAL_QUERY\",\"outputDimensionality\":768}]}",
           "gemini: batchEmbedContents requests");
    free(s);
    cJSON_Delete(j);

    memset(&p, 0, sizeof(llm_buf_t));
    llm_embed_gemini.path("models/a b/c", &p);
    is_str(p.data, p.len, "/models/a%20b%2Fc:batchEmbedContents",
           "gemini: the model escaped in the path");
    llm_buf_free(&p);

    memset(&p, 0, sizeof(llm_buf_t));
    llm_embed_voyage.path("x", &p);
    is_str(p.data, p.len, "/embeddings", "voyage path");
    llm_buf_free(&p);

    ok(llm_embed_task_valid(&llm_embed_gemini, "CLUSTERING", 10),
       "gemini task type");
    ok(!llm_embed_task_valid(&llm_embed_gemini, "query", 5),
       "not a gemini task type");
    ok(llm_embed_task_valid(&llm_embed_voyage, "query", 5),
       "voyage input_type");
    ok(!llm_embed_task_valid(&llm_embed_openai, "query", 5),
       "openai has none");
    ok(llm_embed_dialect_find("voyage", 6) == &llm_embed_voyage, "find");
    ok(llm_embed_dialect_find("anthropic", 9) == NULL, "no anthropic");
}


/* the vectors of a finished result */

static cJSON *
finish(llm_embed_result_t *res)
{
    cJSON      *j;
    llm_buf_t   out;

    memset(&out, 0, sizeof(llm_buf_t));

    if (llm_embed_result_finish(res, "client-model", &out) != LLM_OK) {
        return NULL;
    }

    j = cJSON_ParseWithLength(out.data, out.len);
    llm_buf_free(&out);

    return j;
}


static int
respond(const llm_embed_dialect_t *d, const char *rel, int n, int base64,
    cJSON **out, llm_error_t *e)
{
    int                  rc;
    llm_buf_t            b;
    llm_embed_result_t   res;

    memset(&b, 0, sizeof(llm_buf_t));
    memset(&res, 0, sizeof(res));
    res.base64 = base64;

    if (fixture_read(root, rel, &b) != LLM_OK) {
        return LLM_ERROR;
    }

    rc = d->response(&res, n, b.data, b.len, e);

    *out = (rc == LLM_OK) ? finish(&res) : NULL;

    llm_buf_free(&b);
    llm_embed_result_free(&res);

    return rc;
}


static double
norm_of_b64(const char *s, int *count)
{
    size_t          n, i;
    float           f;
    double          sum;
    unsigned char  *raw;

    raw = malloc(strlen(s));
    if (raw == NULL
        || llm_base64_decode(s, strlen(s), raw, &n) != LLM_OK)
    {
        free(raw);
        return -1;
    }

    sum = 0;

    for (i = 0; i + 4 <= n; i += 4) {
        /* the fixtures are little-endian, like the test machines */
        memcpy(&f, raw + i, 4);
        sum += (double) f * f;
    }

    *count = (int) (n / 4);
    free(raw);

    /* the squared norm: no libm */
    return sum;
}


static void
test_response(void)
{
    int           n, i, bad;
    cJSON        *j, *fx, *data, *v, *x, *y;
    double        norm;
    llm_buf_t     b;
    llm_error_t   e;
    const char   *s;

    /* base64 kept as is; usage */

    ok(respond(&llm_embed_openai, "openai/embeddings-base64.response.json",
               1, 1, &j, &e) == LLM_OK, "openai base64 fixture");
    data = cJSON_GetObjectItem(j, "data");
    s = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0),
                                                 "embedding"));
    norm = s ? norm_of_b64(s, &n) : -1;
    ok(n == 128 && norm > 0.998 && norm < 1.002,
       "128 little-endian float32s of norm 1 (got %d, squared %g)", n, norm);
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
           "usage"), "prompt_tokens")) == 4, "prompt_tokens");
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), 12,
           "client-model", "the client's model");
    cJSON_Delete(j);

    /* base64 → floats: the same float32s */

    ok(respond(&llm_embed_openai, "openai/embeddings-base64.response.json",
               1, 0, &j, &e) == LLM_OK, "base64 → float");
    v = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"),
                                               0), "embedding");
    ok(cJSON_GetArraySize(v) == 128, "128 floats");

    memset(&b, 0, sizeof(llm_buf_t));
    fixture_read(root, "openai/embeddings-base64.response.json", &b);
    fx = cJSON_ParseWithLength(b.data, b.len);
    llm_buf_free(&b);

    {
        size_t          rn;
        float           f;
        unsigned char   raw[1024];
        const char     *src;

        src = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
                  cJSON_GetObjectItem(fx, "data"), 0), "embedding"));
        llm_base64_decode(src, strlen(src), raw, &rn);

        bad = 0;
        i = 0;

        cJSON_ArrayForEach(x, v) {
            memcpy(&f, raw + 4 * i++, 4);
            if ((float) x->valuedouble != f) {
                bad++;
            }
        }

        ok(bad == 0, "each printed float reads back as the float32");
    }

    cJSON_Delete(fx);
    cJSON_Delete(j);

    /* floats → floats: the same numbers; floats → base64 */

    ok(respond(&llm_embed_openai,
               "openai/embeddings-float-trimmed.response.json", 2, 0, &j, &e)
       == LLM_OK, "openai float fixture");
    x = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"),
                                               1), "embedding");
    ok(cJSON_GetNumberValue(cJSON_GetArrayItem(x, 0)) == -0.037104916,
       "the provider's number");
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
           cJSON_GetObjectItem(j, "data"), 1), "index")) == 1, "index");
    cJSON_Delete(j);

    ok(respond(&llm_embed_openai,
               "openai/embeddings-float-trimmed.response.json", 2, 1, &j, &e)
       == LLM_OK, "float → base64");
    s = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
            cJSON_GetObjectItem(j, "data"), 0), "embedding"));
    {
        size_t          rn;
        float           f[5];
        unsigned char   raw[64];

        ok(s && llm_base64_decode(s, strlen(s), raw, &rn) == LLM_OK
           && rn == 20, "5 float32s");
        memcpy(f, raw, 20);
        ok(f[0] == 0.0057293195f && f[4] == 0.022833068f, "the values");
    }
    cJSON_Delete(j);

    ok(respond(&llm_embed_openai,
               "openai/embeddings-float-trimmed.response.json", 3, 0, &j, &e)
       == LLM_ERROR && e.status == 502, "count mismatch: 502");

    /* voyage: total_tokens only; "text" dropped */

    ok(respond(&llm_embed_voyage,
               "voyage/embeddings-float-trimmed.response.json", 2, 0, &j, &e)
       == LLM_OK, "voyage float fixture");
    y = cJSON_GetObjectItem(j, "usage");
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(y, "prompt_tokens")) == 12
       && cJSON_GetNumberValue(cJSON_GetObjectItem(y, "total_tokens")) == 12,
       "prompt_tokens = total_tokens");
    ok(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"),
                                              0), "text") == NULL,
       "no provider extras");
    cJSON_Delete(j);

    ok(respond(&llm_embed_voyage, "voyage/embeddings-base64.response.json",
               1, 1, &j, &e) == LLM_OK, "voyage base64 fixture");
    s = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
            cJSON_GetObjectItem(j, "data"), 0), "embedding"));
    norm = s ? norm_of_b64(s, &n) : -1;
    ok(n == 1024 && norm > 0.98 && norm < 1.02,
       "1024 float32s of norm 1 (got %d, squared %g)", n, norm);
    cJSON_Delete(j);

    /* gemini */

    ok(respond(&llm_embed_gemini, "google/embeddings-batch.response.json",
               1, 0, &j, &e) == LLM_OK, "gemini fixture");
    v = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"),
                                               0), "embedding");
    ok(cJSON_GetArraySize(v) == 768
       && cJSON_GetNumberValue(cJSON_GetArrayItem(v, 0)) == -0.039718185,
       "768 values as recorded");
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
           "usage"), "total_tokens")) == 0, "no usage: 0");
    cJSON_Delete(j);

    /* order by index; batches append and renumber */

    {
        llm_embed_result_t  res;
        const char         *b1 = "{\"data\":[{\"index\":1,\"embedding\":[2]},"
                                 "{\"index\":0,\"embedding\":[1]}],"
                                 "\"usage\":{\"prompt_tokens\":3,"
                                 "\"total_tokens\":3}}";
        const char         *b2 = "{\"data\":[{\"embedding\":[3]}],"
                                 "\"usage\":{\"prompt_tokens\":2,"
                                 "\"total_tokens\":2}}";

        memset(&res, 0, sizeof(res));

        ok(llm_embed_openai.response(&res, 2, b1, strlen(b1), &e) == LLM_OK
           && llm_embed_openai.response(&res, 1, b2, strlen(b2), &e)
              == LLM_OK, "two batches");

        j = finish(&res);
        data = cJSON_GetObjectItem(j, "data");
        bad = 0;

        for (i = 0; i < 3; i++) {
            x = cJSON_GetArrayItem(data, i);
            if (cJSON_GetNumberValue(cJSON_GetObjectItem(x, "index")) != i
                || cJSON_GetNumberValue(cJSON_GetArrayItem(
                       cJSON_GetObjectItem(x, "embedding"), 0)) != i + 1)
            {
                bad++;
            }
        }

        ok(bad == 0 && cJSON_GetArraySize(data) == 3,
           "in input order, renumbered");
        ok(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
               "usage"), "total_tokens")) == 5, "usage summed");

        cJSON_Delete(j);
        llm_embed_result_free(&res);
    }

    {
        llm_embed_result_t  res;
        const char         *bad_cases[] = {
            "{\"data\":[{\"index\":0,\"embedding\":[1]},"
            "{\"index\":0,\"embedding\":[1]}]}",
            "{\"data\":[{\"index\":5,\"embedding\":[1]},"
            "{\"index\":0,\"embedding\":[1]}]}",
            "{\"data\":[{\"embedding\":[1,\"x\"]},{\"embedding\":[1]}]}",
            "{\"data\":[{\"embedding\":\"abc\"},{\"embedding\":[1]}]}",
            "{\"data\":[{\"embedding\":\"AAA=\"},{\"embedding\":[1]}]}",
            "{\"data\":[{\"embedding\":{}},{\"embedding\":[1]}]}",
            "{\"data\":[{},{\"embedding\":[1]}]}",
            "[]", "", "{\"data\":{}}", NULL
        };

        for (i = 0; bad_cases[i]; i++) {
            memset(&res, 0, sizeof(res));
            ok(llm_embed_openai.response(&res, 2, bad_cases[i],
                                         strlen(bad_cases[i]), &e)
               == LLM_ERROR && e.status == 502
               && strcmp(e.code, "invalid_upstream_response") == 0,
               "bad response %d: 502", i);
            llm_embed_result_free(&res);
        }
    }

    /* errors */

    memset(&b, 0, sizeof(llm_buf_t));
    fixture_read(root, "voyage/error-400.json", &b);
    llm_embed_voyage.error(400, b.data, b.len, &e);
    ok(e.status == 400 && strncmp(e.message, "Model nonexistent is not", 24)
       == 0 && strcmp(e.type, "invalid_request_error") == 0,
       "voyage detail");
    llm_buf_free(&b);

    s = "{\"detail\":[{\"loc\":[\"body\",\"input\"],\"msg\":\"field required\","
        "\"type\":\"value_error.missing\"}]}";
    llm_embed_voyage.error(422, s, strlen(s), &e);
    ok(e.status == 400 && strcmp(e.message, "field required") == 0,
       "voyage 422 validation list → 400");

    s = "{\"error\":{\"message\":\"m\",\"type\":\"t\"}}";
    llm_embed_voyage.error(401, s, strlen(s), &e);
    ok(e.status == 401 && strcmp(e.message, "m") == 0,
       "voyage: an OpenAI envelope still read");

    memset(&b, 0, sizeof(llm_buf_t));
    fixture_read(root, "openai/embeddings-error-404.json", &b);
    llm_embed_openai.error(404, b.data, b.len, &e);
    ok(e.status == 404 && strcmp(e.code, "model_not_found") == 0,
       "openai 404");
    llm_buf_free(&b);
}


int
main(int argc, char **argv)
{
    if (argc > 1) {
        root = argv[1];
    }

    test_base64();
    test_request();
    test_build();
    test_response();

    return done_testing();
}
