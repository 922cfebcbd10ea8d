/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect, request side: an OpenAI Chat Completions request
 * → a Gemini generateContent body, and the check hook that refuses what
 * Gemini cannot take.  The policy is in llm_dialect_gemini.c's header
 * comment and in the README.
 *
 * The body is written with the buffer appenders; only the parts that are
 * rewritten as trees (tool schemas, tool-call arguments) go through
 * cJSON.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_gemini.h"
#include "llm_json_scan.h"


#define LLM_GEMINI_MAX_CAND         8    /* Gemini's candidateCount max */
#define LLM_GEMINI_MAX_STOP         5    /* stopSequences max */
#define LLM_GEMINI_SCHEMA_DEPTH     32   /* $ref inlining, nesting */
#define LLM_GEMINI_SCHEMA_NODES     4096 /* schemas written, $refs inlined */


int llm_gemini_request_path(llm_request_t *req, const char *upstream_model,
    llm_buf_t *path);
int llm_gemini_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body);
int llm_gemini_check(llm_request_t *req, llm_error_t *e);


/* "/models/<model>", percent-encoded: Gemini's chat and embedding paths */

int
llm_gemini_model_path(const char *upstream_model, llm_buf_t *path)
{
    char                 esc[3];
    unsigned char        c;
    const char          *m;
    static const char    hex[] = "0123456789ABCDEF";

    m = upstream_model;

    if (strncmp(m, "models/", 7) == 0) {
        m += 7;
    }

    if (llm_buf_append_lit(path, "/models/") != LLM_OK) {
        return LLM_ERROR;
    }

    for ( /* void */ ; *m; m++) {
        c = (unsigned char) *m;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            if (llm_buf_append(path, m, 1) != LLM_OK) {
                return LLM_ERROR;
            }

            continue;
        }

        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0xf];

        if (llm_buf_append(path, esc, 3) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


int
llm_gemini_request_path(llm_request_t *req, const char *upstream_model,
    llm_buf_t *path)
{
    if (llm_gemini_model_path(upstream_model, path) != LLM_OK) {
        return LLM_ERROR;
    }

    if (req->stream) {
        return llm_buf_append_lit(path, ":streamGenerateContent?alt=sse");
    }

    return llm_buf_append_lit(path, ":generateContent");
}


/* images: data: URLs → inlineData, http(s) URLs → fileData */

typedef struct {
    const char  *mime;
    size_t       mime_len;
    const char  *data;          /* base64 (inline) or the URL (file) */
    size_t       data_len;
    unsigned     file:1;
} llm_gemini_image_t;


static const char *
llm_gemini_mime_by_ext(const char *url)
{
    size_t       n, k;
    const char  *end, *dot;
    static const struct {
        const char  *ext;
        const char  *mime;
    } map[] = {
        { ".png", "image/png" }, { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" }, { ".webp", "image/webp" },
        { ".gif", "image/gif" }, { ".heic", "image/heic" },
        { ".heif", "image/heif" }, { NULL, NULL }
    };
    int          i;

    end = url + strcspn(url, "?#");

    for (dot = end; dot > url && dot[-1] != '.' && dot[-1] != '/'; dot--) {
        /* void */
    }

    if (dot == url || dot[-1] != '.') {
        return NULL;
    }

    dot--;
    n = (size_t) (end - dot);

    for (i = 0; map[i].ext; i++) {
        if (strlen(map[i].ext) != n) {
            continue;
        }

        for (k = 0; k < n; k++) {
            if ((dot[k] | 0x20) != map[i].ext[k]) {
                break;
            }
        }

        if (k == n) {
            return map[i].mime;
        }
    }

    return NULL;
}


/* NULL, or why the URL cannot be sent */

static const char *
llm_gemini_image(const char *url, llm_gemini_image_t *im)
{
    const char  *p, *comma;

    memset(im, 0, sizeof(llm_gemini_image_t));

    if (strncmp(url, "data:", 5) == 0) {
        p = url + 5;
        comma = strchr(p, ',');

        if (comma == NULL || comma - p < 8
            || memcmp(comma - 7, ";base64", 7) != 0
            || memchr(p, ';', (size_t) (comma - 7 - p)) != NULL
            || memchr(p, '/', (size_t) (comma - 7 - p)) == NULL)
        {
            return "a data: URL must be data:<type>/<subtype>;base64,<data>";
        }

        im->mime = p;
        im->mime_len = (size_t) (comma - 7 - p);
        im->data = comma + 1;
        im->data_len = strlen(comma + 1);

        return NULL;
    }

    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
    {
        return "only data: and http(s) URLs are supported";
    }

    im->mime = llm_gemini_mime_by_ext(url);

    if (im->mime == NULL) {
        return "Gemini needs the image type of a URL (fileData.mimeType) "
               "and the gateway does not fetch images: use a URL ending in "
               ".png, .jpg, .jpeg, .webp, .gif, .heic or .heif, or a data: "
               "URL";
    }

    im->mime_len = strlen(im->mime);
    im->data = url;
    im->data_len = strlen(url);
    im->file = 1;

    return NULL;
}


static const char *
llm_gemini_image_url(llm_json_t *part)
{
    llm_json_t  *iu;

    iu = llm_json_get(part, "image_url");

    if (cJSON_IsString(iu)) {
        return iu->valuestring;
    }

    return llm_json_get_str(iu, "url");
}


/* the turns of "contents": consecutive parts of one role are merged */

typedef struct {
    llm_buf_t   *body;
    const char  *role;          /* the open turn's role, or NULL */
} llm_gemini_turns_t;


static int
llm_gemini_part(llm_gemini_turns_t *t, const char *role)
{
    if (t->role && strcmp(t->role, role) == 0) {
        /* Gemini wants the roles to alternate: merge */
        return llm_buf_append_lit(t->body, ",");
    }

    if ((t->role && llm_buf_append_lit(t->body, "]},") != LLM_OK)
        || llm_buf_append_lit(t->body, "{\"role\":\"") != LLM_OK
        || llm_buf_append_cstr(t->body, role) != LLM_OK
        || llm_buf_append_lit(t->body, "\",\"parts\":[") != LLM_OK)
    {
        return LLM_ERROR;
    }

    t->role = role;

    return LLM_OK;
}


static int
llm_gemini_text_part(llm_gemini_turns_t *t, const char *role, llm_buf_t *text)
{
    if (llm_gemini_part(t, role) != LLM_OK
        || llm_buf_append_lit(t->body, "{\"text\":") != LLM_OK
        || llm_buf_append_json_string(t->body, text->data, text->len)
           != LLM_OK
        || llm_buf_append_lit(t->body, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    llm_buf_reset(text);

    return LLM_OK;
}


static int
llm_gemini_inline_part(llm_gemini_turns_t *t, const char *role,
    const char *mime, size_t mime_len, const char *data, size_t data_len,
    int file)
{
    if (llm_gemini_part(t, role) != LLM_OK
        || llm_buf_append_cstr(t->body, file ? "{\"fileData\":{\"mimeType\":"
                                             : "{\"inlineData\":{\"mimeType\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, mime, mime_len) != LLM_OK
        || llm_buf_append_cstr(t->body, file ? ",\"fileUri\":" : ",\"data\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, data, data_len) != LLM_OK
        || llm_buf_append_lit(t->body, "}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The parts of one OpenAI content (a string or content parts): adjacent
 * text parts are joined into one text part, images and audio become
 * inlineData / fileData parts in their place.  *found: some part was
 * written; an empty string content still gives an empty text part
 * unless skip_empty.
 */

static int
llm_gemini_content(llm_gemini_turns_t *t, const char *role,
    llm_json_t *content, int skip_empty, llm_buf_t *text, int *found)
{
    int                  have;
    llm_json_t          *part, *audio;
    const char          *type, *s, *url, *fmt;
    llm_gemini_image_t   im;

    llm_buf_reset(text);

    if (cJSON_IsString(content)) {
        if (content->valuestring[0] == '\0' && skip_empty) {
            return LLM_OK;
        }

        *found = 1;

        return llm_buf_append_cstr(text, content->valuestring) != LLM_OK
               ? LLM_ERROR : llm_gemini_text_part(t, role, text);
    }

    if (!cJSON_IsArray(content)) {
        return LLM_OK;
    }

    have = 0;

    cJSON_ArrayForEach(part, content) {
        type = llm_json_get_str(part, "type");
        s = cJSON_IsString(part) ? part->valuestring
                                 : llm_json_get_str(part, "text");

        if (s && (type == NULL || strcmp(type, "text") == 0)) {
            if (llm_buf_append_cstr(text, s) != LLM_OK) {
                return LLM_ERROR;
            }

            have = 1;
            continue;
        }

        if (type == NULL) {
            continue;
        }

        if (have && (text->len || !skip_empty)) {
            if (llm_gemini_text_part(t, role, text) != LLM_OK) {
                return LLM_ERROR;
            }

            *found = 1;
        }

        have = 0;

        if (strcmp(type, "image_url") == 0) {
            url = llm_gemini_image_url(part);

            if (url == NULL || llm_gemini_image(url, &im) != NULL) {
                /* refused by the check hook */
                continue;
            }

            if (llm_gemini_inline_part(t, role, im.mime, im.mime_len,
                                       im.data, im.data_len, im.file)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            *found = 1;

        } else if (strcmp(type, "input_audio") == 0) {
            audio = llm_json_get_obj(part, "input_audio");
            s = llm_json_get_str(audio, "data");
            fmt = llm_json_get_str(audio, "format");

            if (s == NULL || fmt == NULL) {
                continue;
            }

            fmt = (strcmp(fmt, "mp3") == 0) ? "audio/mp3" : "audio/wav";

            if (llm_gemini_inline_part(t, role, fmt, strlen(fmt), s,
                                       strlen(s), 0)
                != LLM_OK)
            {
                return LLM_ERROR;
            }

            *found = 1;
        }
    }

    if (have && (text->len || !skip_empty)) {
        *found = 1;
        return llm_gemini_text_part(t, role, text);
    }

    return LLM_OK;
}


/*
 * Thought signatures ride in the tool-call ids the gateway mints
 * (llm_dialect_gemini.c): "call_<16 hex>_<signature in base64url, no
 * padding>".  Back to standard base64 with padding, as Gemini sent it.
 */

static int
llm_gemini_id_signature(const char *id, llm_buf_t *sig)
{
    size_t  i, n;
    char    c;

    if (strncmp(id, "call_", 5) != 0 || strlen(id) < 23 || id[21] != '_') {
        return LLM_DECLINED;
    }

    for (i = 5; i < 21; i++) {
        c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return LLM_DECLINED;
        }
    }

    id += 22;
    n = strlen(id);

    for (i = 0; i < n; i++) {
        c = id[i];

        if (c == '-') {
            c = '+';

        } else if (c == '_') {
            c = '/';

        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
                     || (c >= 'A' && c <= 'Z')))
        {
            llm_buf_reset(sig);
            return LLM_DECLINED;
        }

        if (llm_buf_append(sig, &c, 1) != LLM_OK) {
            return LLM_ERROR;
        }
    }

    for ( /* void */ ; n % 4; n++) {
        if (llm_buf_append_lit(sig, "=") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* the arguments string of a tool call as an object; NULL: not one */

static llm_json_t *
llm_gemini_args(llm_json_t *call)
{
    llm_json_t  *a;
    const char  *s;

    s = llm_json_get_str(llm_json_get_obj(call, "function"), "arguments");

    if (s == NULL || s[strspn(s, " \t\r\n")] == '\0') {
        return cJSON_CreateObject();
    }

    a = llm_json_parse(s, strlen(s), NULL);

    if (a && !cJSON_IsObject(a)) {
        llm_json_free(a);
        return NULL;
    }

    return a;
}


static int
llm_gemini_function_calls(llm_gemini_turns_t *t, llm_json_t *calls,
    llm_buf_t *tmp)
{
    int          rc;
    llm_json_t  *call, *args, *fn;
    const char  *name, *id, *sig;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        args = llm_gemini_args(call);

        if (args == NULL) {
            /* refused by the check hook; never sent */
            args = cJSON_CreateObject();
        }

        if (args == NULL) {
            return LLM_ERROR;
        }

        rc = llm_gemini_part(t, "model");

        if (rc == LLM_OK
            && (llm_buf_append_lit(t->body, "{\"functionCall\":{\"name\":")
                != LLM_OK
                || llm_buf_append_json_string(t->body, name, strlen(name))
                   != LLM_OK
                || llm_buf_append_lit(t->body, ",\"args\":") != LLM_OK
                || llm_json_print(args, t->body) != LLM_OK
                || llm_buf_append_lit(t->body, "}") != LLM_OK))
        {
            rc = LLM_ERROR;
        }

        llm_json_free(args);

        if (rc != LLM_OK) {
            return LLM_ERROR;
        }

        /* the signature: from the id, or Gemini's own OpenAI field */

        llm_buf_reset(tmp);
        id = llm_json_get_str(call, "id");
        sig = llm_json_get_str(llm_json_get_obj(llm_json_get_obj(call,
                                   "extra_content"), "google"),
                               "thought_signature");

        rc = id ? llm_gemini_id_signature(id, tmp) : LLM_DECLINED;

        if (rc == LLM_ERROR) {
            return LLM_ERROR;
        }

        if (rc == LLM_DECLINED && sig) {
            llm_buf_reset(tmp);

            if (llm_buf_append_cstr(tmp, sig) != LLM_OK) {
                return LLM_ERROR;
            }
        }

        if (tmp->len
            && (llm_buf_append_lit(t->body, ",\"thoughtSignature\":")
                != LLM_OK
                || llm_buf_append_json_string(t->body, tmp->data, tmp->len)
                   != LLM_OK))
        {
            return LLM_ERROR;
        }

        if (llm_buf_append_lit(t->body, "}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    return LLM_OK;
}


/* the name of the function an earlier assistant turn called with id */

static const char *
llm_gemini_call_name(llm_json_t *messages, llm_json_t *upto, const char *id)
{
    llm_json_t  *msg, *call;
    const char  *s, *name;

    name = NULL;

    cJSON_ArrayForEach(msg, messages) {
        if (msg == upto) {
            break;
        }

        cJSON_ArrayForEach(call, llm_json_get_arr(msg, "tool_calls")) {
            s = llm_json_get_str(call, "id");

            if (s && strcmp(s, id) == 0) {
                /* the latest call with that id */
                name = llm_json_get_str(llm_json_get_obj(call, "function"),
                                        "name");
            }
        }
    }

    return name;
}


static int
llm_gemini_function_response(llm_gemini_turns_t *t, const char *name,
    llm_json_t *content, llm_buf_t *text)
{
    llm_json_t  *part;
    const char  *s;

    /* the result's text, wrapped: functionResponse.response is a Struct */

    llm_buf_reset(text);

    if (cJSON_IsString(content)) {
        if (llm_buf_append_cstr(text, content->valuestring) != LLM_OK) {
            return LLM_ERROR;
        }

    } else {
        cJSON_ArrayForEach(part, content) {
            s = llm_json_get_str(part, "text");

            if (s && llm_buf_append_cstr(text, s) != LLM_OK) {
                return LLM_ERROR;
            }
        }
    }

    if (llm_gemini_part(t, "user") != LLM_OK
        || llm_buf_append_lit(t->body, "{\"functionResponse\":{\"name\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, name, strlen(name)) != LLM_OK
        || llm_buf_append_lit(t->body, ",\"response\":{\"content\":")
           != LLM_OK
        || llm_buf_append_json_string(t->body, text->data, text->len)
           != LLM_OK
        || llm_buf_append_lit(t->body, "}}}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


static int
llm_gemini_contents(llm_json_t *messages, llm_buf_t *body)
{
    int                  rc, found;
    llm_buf_t            text, sys;
    const char          *role, *name, *id, *s;
    llm_json_t          *msg, *calls, *content, *part;
    llm_gemini_turns_t   t;

    rc = LLM_ERROR;

    t.body = body;
    t.role = NULL;

    memset(&text, 0, sizeof(llm_buf_t));
    memset(&sys, 0, sizeof(llm_buf_t));

    if (llm_buf_append_lit(body, "{\"contents\":[") != LLM_OK) {
        return LLM_ERROR;
    }

    cJSON_ArrayForEach(msg, messages) {
        role = llm_json_get_str(msg, "role");
        if (role == NULL) {
            continue;
        }

        found = 0;
        content = llm_json_get(msg, "content");

        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            if (sys.len && llm_buf_append_lit(&sys, "\n\n") != LLM_OK) {
                goto done;
            }

            if (cJSON_IsString(content)) {
                if (llm_buf_append_cstr(&sys, content->valuestring)
                    != LLM_OK)
                {
                    goto done;
                }

                continue;
            }

            cJSON_ArrayForEach(part, content) {
                s = cJSON_IsString(part) ? part->valuestring
                                         : llm_json_get_str(part, "text");

                if (s && llm_buf_append_cstr(&sys, s) != LLM_OK) {
                    goto done;
                }
            }

            continue;
        }

        if (strcmp(role, "user") == 0) {
            if (llm_gemini_content(&t, "user", content, 0, &text, &found)
                != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "assistant") == 0) {
            calls = llm_json_get_arr(msg, "tool_calls");

            if (llm_gemini_content(&t, "model", content,
                                   cJSON_GetArraySize(calls) > 0, &text,
                                   &found)
                != LLM_OK
                || llm_gemini_function_calls(&t, calls, &text) != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "tool") == 0) {
            id = llm_json_get_str(msg, "tool_call_id");
            name = id ? llm_gemini_call_name(messages, msg, id) : NULL;

            if (name
                && llm_gemini_function_response(&t, name, content, &text)
                   != LLM_OK)
            {
                goto done;
            }

        } else if (strcmp(role, "function") == 0) {
            /* the deprecated form names the function itself */
            name = llm_json_get_str(msg, "name");

            if (name
                && llm_gemini_function_response(&t, name, content, &text)
                   != LLM_OK)
            {
                goto done;
            }
        }
    }

    if ((t.role && llm_buf_append_lit(body, "]}") != LLM_OK)
        || llm_buf_append_lit(body, "]") != LLM_OK)
    {
        goto done;
    }

    if (sys.len) {
        if (llm_buf_append_lit(body, ",\"systemInstruction\":{\"parts\":"
                                     "[{\"text\":") != LLM_OK
            || llm_buf_append_json_string(body, sys.data, sys.len) != LLM_OK
            || llm_buf_append_lit(body, "}]}") != LLM_OK)
        {
            goto done;
        }
    }

    rc = LLM_OK;

done:

    llm_buf_free(&text);
    llm_buf_free(&sys);

    return rc;
}


/*
 * JSON Schema → Gemini's Schema (an OpenAPI 3.0 subset), for tool
 * parameters and response_format json_schema:
 *
 *   - kept: type (upper-cased), format (date-time, enum, int32, int64,
 *     float, double only), title, description, enum (strings only),
 *     properties, required (names that are in properties), items,
 *     anyOf, minItems, maxItems, minLength, maxLength, minProperties,
 *     maxProperties, minimum, maximum, pattern, propertyOrdering;
 *   - converted: const "x" → enum ["x"]; a type array with "null" and
 *     an anyOf/oneOf branch {"type":"null"} → nullable: true; oneOf →
 *     anyOf; an anyOf left with one branch → that branch; a local $ref
 *     (#/$defs/X, #/definitions/X) → the definition inlined;
 *   - removed: everything else ($schema, $id, $defs, definitions,
 *     additionalProperties, strict, default, examples, allOf, not,
 *     if/then/else, patternProperties, exclusiveMinimum/Maximum,
 *     multipleOf, uniqueItems, a type array's second non-null type...).
 */

typedef struct {
    llm_json_t  *root;           /* for $ref */
    int          nodes;          /* left to write: $refs may recurse */
} llm_gemini_schema_t;


static llm_json_t *llm_gemini_schema(llm_gemini_schema_t *sc, llm_json_t *s,
    int depth);


static llm_json_t *
llm_gemini_ref(llm_json_t *root, const char *ref)
{
    llm_json_t  *defs;

    if (strncmp(ref, "#/$defs/", 8) == 0) {
        defs = llm_json_get_obj(root, "$defs");
        ref += 8;

    } else if (strncmp(ref, "#/definitions/", 14) == 0) {
        defs = llm_json_get_obj(root, "definitions");
        ref += 14;

    } else {
        return NULL;
    }

    return llm_json_get_obj(defs, ref);
}


static int
llm_gemini_type(llm_json_t *out, const char *type, int *nullable)
{
    char    up[16];
    size_t  i;

    if (strcmp(type, "null") == 0) {
        *nullable = 1;
        return LLM_OK;
    }

    if (llm_json_get(out, "type") != NULL) {
        return LLM_OK;
    }

    for (i = 0; type[i] && i < sizeof(up) - 1; i++) {
        up[i] = (type[i] >= 'a' && type[i] <= 'z') ? type[i] - 'a' + 'A'
                                                   : type[i];
    }

    up[i] = '\0';

    return cJSON_AddStringToObject(out, "type", up) ? LLM_OK : LLM_ERROR;
}


static int
llm_gemini_copy(llm_json_t *out, llm_json_t *s, const char *name)
{
    llm_json_t  *v, *d;

    v = llm_json_get(s, name);

    if (v == NULL) {
        return LLM_OK;
    }

    d = cJSON_Duplicate(v, 1);

    if (d == NULL) {
        return LLM_ERROR;
    }

    cJSON_AddItemToObject(out, name, d);

    return LLM_OK;
}


static int
llm_gemini_schema_members(llm_gemini_schema_t *sc, llm_json_t *s,
    llm_json_t *out,
    int depth, int *nullable)
{
    int           i, strings;
    llm_json_t   *v, *m, *o, *arr, *props, *branch;
    const char   *f;
    static const char  *formats[] = {
        "date-time", "enum", "int32", "int64", "float", "double", NULL
    };
    static const char  *copied[] = {
        "title", "description", "minItems", "maxItems", "minLength",
        "maxLength", "minProperties", "maxProperties", "minimum",
        "maximum", "pattern", "propertyOrdering", NULL
    };

    v = llm_json_get(s, "type");

    if (cJSON_IsString(v)) {
        if (llm_gemini_type(out, v->valuestring, nullable) != LLM_OK) {
            return LLM_ERROR;
        }

    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(m, v) {
            if (cJSON_IsString(m)
                && llm_gemini_type(out, m->valuestring, nullable) != LLM_OK)
            {
                return LLM_ERROR;
            }
        }
    }

    if (cJSON_IsTrue(llm_json_get(s, "nullable"))) {
        *nullable = 1;
    }

    f = llm_json_get_str(s, "format");

    for (i = 0; f && formats[i]; i++) {
        if (strcmp(f, formats[i]) == 0) {
            if (cJSON_AddStringToObject(out, "format", f) == NULL) {
                return LLM_ERROR;
            }

            break;
        }
    }

    for (i = 0; copied[i]; i++) {
        if (llm_json_get(out, copied[i]) == NULL
            && llm_gemini_copy(out, s, copied[i]) != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get_arr(s, "enum");

    if (v && llm_json_get(out, "enum") == NULL) {
        strings = 1;

        cJSON_ArrayForEach(m, v) {
            if (cJSON_IsNull(m)) {
                *nullable = 1;

            } else if (!cJSON_IsString(m)) {
                strings = 0;
            }
        }

        if (strings) {
            arr = cJSON_AddArrayToObject(out, "enum");
            if (arr == NULL) {
                return LLM_ERROR;
            }

            cJSON_ArrayForEach(m, v) {
                if (cJSON_IsString(m)) {
                    o = cJSON_CreateString(m->valuestring);
                    if (o == NULL) {
                        return LLM_ERROR;
                    }

                    cJSON_AddItemToArray(arr, o);
                }
            }
        }
    }

    v = llm_json_get(s, "const");

    if (cJSON_IsString(v) && llm_json_get(out, "enum") == NULL) {
        arr = cJSON_AddArrayToObject(out, "enum");
        o = cJSON_CreateString(v->valuestring);

        if (arr == NULL || o == NULL) {
            cJSON_Delete(o);
            return LLM_ERROR;
        }

        cJSON_AddItemToArray(arr, o);

        if (llm_json_get(out, "type") == NULL
            && cJSON_AddStringToObject(out, "type", "STRING") == NULL)
        {
            return LLM_ERROR;
        }
    }

    v = llm_json_get_obj(s, "properties");

    if (v && llm_json_get(out, "properties") == NULL) {
        props = cJSON_AddObjectToObject(out, "properties");
        if (props == NULL) {
            return LLM_ERROR;
        }

        cJSON_ArrayForEach(m, v) {
            o = llm_gemini_schema(sc, m, depth + 1);
            if (o == NULL) {
                return LLM_ERROR;
            }

            cJSON_AddItemToObject(props, m->string, o);
        }

        v = llm_json_get_arr(s, "required");

        if (v) {
            arr = cJSON_AddArrayToObject(out, "required");
            if (arr == NULL) {
                return LLM_ERROR;
            }

            cJSON_ArrayForEach(m, v) {
                if (!cJSON_IsString(m)
                    || llm_json_get(props, m->valuestring) == NULL)
                {
                    continue;
                }

                o = cJSON_CreateString(m->valuestring);
                if (o == NULL) {
                    return LLM_ERROR;
                }

                cJSON_AddItemToArray(arr, o);
            }
        }
    }

    v = llm_json_get(s, "items");

    if (cJSON_IsArray(v)) {
        v = cJSON_GetArrayItem(v, 0);
    }

    if (cJSON_IsObject(v) && llm_json_get(out, "items") == NULL) {
        o = llm_gemini_schema(sc, v, depth + 1);
        if (o == NULL) {
            return LLM_ERROR;
        }

        cJSON_AddItemToObject(out, "items", o);
    }

    /* anyOf / oneOf: {"type":"null"} branches make it nullable */

    v = llm_json_get_arr(s, "anyOf");
    if (v == NULL) {
        v = llm_json_get_arr(s, "oneOf");
    }

    if (v && llm_json_get(out, "anyOf") == NULL) {
        arr = cJSON_CreateArray();
        if (arr == NULL) {
            return LLM_ERROR;
        }

        cJSON_ArrayForEach(m, v) {
            f = llm_json_get_str(m, "type");

            if (f && strcmp(f, "null") == 0) {
                *nullable = 1;
                continue;
            }

            o = llm_gemini_schema(sc, m, depth + 1);
            if (o == NULL) {
                cJSON_Delete(arr);
                return LLM_ERROR;
            }

            cJSON_AddItemToArray(arr, o);
        }

        if (cJSON_GetArraySize(arr) == 1) {
            /* one branch left: it is the schema */
            branch = cJSON_GetArrayItem(arr, 0);

            cJSON_ArrayForEach(m, branch) {
                if (llm_json_get(out, m->string) == NULL
                    && llm_gemini_copy(out, branch, m->string) != LLM_OK)
                {
                    cJSON_Delete(arr);
                    return LLM_ERROR;
                }
            }

            cJSON_Delete(arr);

        } else if (cJSON_GetArraySize(arr) > 1) {
            cJSON_AddItemToObject(out, "anyOf", arr);

        } else {
            cJSON_Delete(arr);
        }
    }

    return LLM_OK;
}


static llm_json_t *
llm_gemini_schema(llm_gemini_schema_t *sc, llm_json_t *s, int depth)
{
    int          nullable;
    llm_json_t  *out, *def;
    const char  *ref;

    out = cJSON_CreateObject();

    if (depth > LLM_GEMINI_SCHEMA_DEPTH) {
        /* as deep as only a recursive $ref goes */
        sc->nodes = -1;
    }

    if (out == NULL || !cJSON_IsObject(s) || --sc->nodes < 0) {
        return out;
    }

    nullable = 0;

    /* the referring schema's own members win over the definition's */

    if (llm_gemini_schema_members(sc, s, out, depth, &nullable) != LLM_OK)
    {
        cJSON_Delete(out);
        return NULL;
    }

    ref = llm_json_get_str(s, "$ref");
    def = ref ? llm_gemini_ref(sc->root, ref) : NULL;

    if (def
        && llm_gemini_schema_members(sc, def, out, depth + 1, &nullable)
           != LLM_OK)
    {
        cJSON_Delete(out);
        return NULL;
    }

    if (nullable && cJSON_AddTrueToObject(out, "nullable") == NULL) {
        cJSON_Delete(out);
        return NULL;
    }

    return out;
}


/* a whole schema: converted and printed into b */

static int
llm_gemini_schema_print(llm_json_t *schema, llm_buf_t *b)
{
    int                  rc;
    llm_json_t          *g;
    llm_gemini_schema_t  sc;

    sc.root = schema;
    sc.nodes = LLM_GEMINI_SCHEMA_NODES;

    g = llm_gemini_schema(&sc, schema, 0);
    if (g == NULL) {
        return LLM_ERROR;
    }

    rc = llm_json_print(g, b);
    cJSON_Delete(g);

    return rc;
}


static int
llm_gemini_tools(llm_json_t *tree, llm_buf_t *b)
{
    int          any;
    llm_json_t  *tools, *tool, *fn, *params, *choice, *v;
    const char  *name, *desc, *mode;

    tools = llm_json_get_arr(tree, "tools");
    any = 0;

    cJSON_ArrayForEach(tool, tools) {
        fn = llm_json_get_obj(tool, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        if (llm_buf_append_cstr(b, any ? ",{\"name\":"
                                       : ",\"tools\":[{\"functionDeclarations"
                                         "\":[{\"name\":") != LLM_OK
            || llm_buf_append_json_string(b, name, strlen(name)) != LLM_OK)
        {
            return LLM_ERROR;
        }

        any = 1;
        desc = llm_json_get_str(fn, "description");

        if (desc
            && (llm_buf_append_lit(b, ",\"description\":") != LLM_OK
                || llm_buf_append_json_string(b, desc, strlen(desc))
                   != LLM_OK))
        {
            return LLM_ERROR;
        }

        params = llm_json_get_obj(fn, "parameters");

        if (params
            && (llm_buf_append_lit(b, ",\"parameters\":") != LLM_OK
                || llm_gemini_schema_print(params, b) != LLM_OK))
        {
            return LLM_ERROR;
        }

        if (llm_buf_append_lit(b, "}") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    if (!any) {
        /* tool_choice without tools means nothing */
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, "]}]") != LLM_OK) {
        return LLM_ERROR;
    }

    choice = llm_json_get(tree, "tool_choice");
    name = NULL;
    mode = NULL;

    if (cJSON_IsString(choice)) {
        mode = strcmp(choice->valuestring, "none") == 0 ? "NONE"
               : strcmp(choice->valuestring, "required") == 0 ? "ANY"
               : "AUTO";

    } else if (cJSON_IsObject(choice)) {
        v = llm_json_get_obj(choice, "function");
        name = llm_json_get_str(v, "name");
        mode = name ? "ANY" : NULL;
    }

    if (mode == NULL) {
        return LLM_OK;
    }

    if (llm_buf_append_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                              "{\"mode\":\"") != LLM_OK
        || llm_buf_append_cstr(b, mode) != LLM_OK
        || llm_buf_append_lit(b, "\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    if (name
        && (llm_buf_append_lit(b, ",\"allowedFunctionNames\":[") != LLM_OK
            || llm_buf_append_json_string(b, name, strlen(name)) != LLM_OK
            || llm_buf_append_lit(b, "]") != LLM_OK))
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(b, "}}");
}


/* generationConfig */

static int
llm_gemini_gc_key(llm_buf_t *b, int *first, const char *name)
{
    if (llm_buf_append_cstr(b, *first ? ",\"generationConfig\":{\"" : ",\"")
        != LLM_OK
        || llm_buf_append_cstr(b, name) != LLM_OK
        || llm_buf_append_lit(b, "\":") != LLM_OK)
    {
        return LLM_ERROR;
    }

    *first = 0;

    return LLM_OK;
}


static int
llm_gemini_copy_number(llm_json_t *from, const char *name, llm_buf_t *b,
    const char *to_name, int *first)
{
    llm_json_t  *v;

    v = llm_json_get(from, name);

    if (!cJSON_IsNumber(v)) {
        return LLM_OK;
    }

    if (llm_gemini_gc_key(b, first, to_name) != LLM_OK
        || llm_buf_append_number(b, v->valuedouble) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * reasoning_effort → thinkingConfig.thinkingBudget (tokens): the budget
 * works on every thinking model (Gemini 3 takes it for compatibility,
 * beside its thinkingLevel), with the values Gemini's own OpenAI
 * endpoint uses; "none" turns thinking off.
 */

static long long
llm_gemini_budget(const char *effort)
{
    static const struct {
        const char  *effort;
        long long    budget;
    } map[] = {
        { "none", 0 }, { "minimal", 512 }, { "low", 1024 },
        { "medium", 8192 }, { "high", 24576 }, { NULL, 0 }
    };
    int  i;

    for (i = 0; map[i].effort; i++) {
        if (strcmp(map[i].effort, effort) == 0) {
            return map[i].budget;
        }
    }

    return -1;
}


static int
llm_gemini_generation_config(llm_request_t *req, llm_json_t *tree,
    llm_buf_t *b)
{
    int          first, any;
    long long    max, budget;
    llm_json_t  *v, *s, *rf, *schema;
    const char  *type, *effort;

    first = 1;

    if (llm_gemini_copy_number(tree, "temperature", b, "temperature", &first)
        != LLM_OK
        || llm_gemini_copy_number(tree, "top_p", b, "topP", &first)
           != LLM_OK
        || llm_gemini_copy_number(tree, "n", b, "candidateCount", &first)
           != LLM_OK
        || llm_gemini_copy_number(tree, "seed", b, "seed", &first) != LLM_OK
        || llm_gemini_copy_number(tree, "presence_penalty", b,
                                  "presencePenalty", &first) != LLM_OK
        || llm_gemini_copy_number(tree, "frequency_penalty", b,
                                  "frequencyPenalty", &first) != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = llm_json_get_int(tree, "max_completion_tokens");

    if (max < 0) {
        max = llm_json_get_int(tree, "max_tokens");
    }

    if (max < 0 && req->max_tokens_default > 0) {
        max = req->max_tokens_default;
    }

    if (max > 0
        && (llm_gemini_gc_key(b, &first, "maxOutputTokens") != LLM_OK
            || llm_buf_append_int(b, max) != LLM_OK))
    {
        return LLM_ERROR;
    }

    v = llm_json_get(tree, "stop");

    if (cJSON_IsString(v) || cJSON_IsArray(v)) {
        if (llm_gemini_gc_key(b, &first, "stopSequences") != LLM_OK
            || llm_buf_append_lit(b, "[") != LLM_OK)
        {
            return LLM_ERROR;
        }

        if (cJSON_IsString(v)) {
            if (llm_buf_append_json_string(b, v->valuestring,
                                           strlen(v->valuestring))
                != LLM_OK)
            {
                return LLM_ERROR;
            }

        } else {
            any = 0;

            cJSON_ArrayForEach(s, v) {
                if (!cJSON_IsString(s)) {
                    continue;
                }

                if ((any && llm_buf_append_lit(b, ",") != LLM_OK)
                    || llm_buf_append_json_string(b, s->valuestring,
                                                  strlen(s->valuestring))
                       != LLM_OK)
                {
                    return LLM_ERROR;
                }

                any = 1;
            }
        }

        if (llm_buf_append_lit(b, "]") != LLM_OK) {
            return LLM_ERROR;
        }
    }

    rf = llm_json_get_obj(tree, "response_format");
    type = llm_json_get_str(rf, "type");

    if (type && (strcmp(type, "json_object") == 0
                 || strcmp(type, "json_schema") == 0))
    {
        if (llm_gemini_gc_key(b, &first, "responseMimeType") != LLM_OK
            || llm_buf_append_lit(b, "\"application/json\"") != LLM_OK)
        {
            return LLM_ERROR;
        }

        schema = llm_json_get_obj(llm_json_get_obj(rf, "json_schema"),
                                  "schema");

        if (schema
            && (llm_gemini_gc_key(b, &first, "responseSchema") != LLM_OK
                || llm_gemini_schema_print(schema, b) != LLM_OK))
        {
            return LLM_ERROR;
        }
    }

    effort = llm_json_get_str(tree, "reasoning_effort");
    budget = effort ? llm_gemini_budget(effort) : -1;

    if (budget >= 0) {
        if (llm_gemini_gc_key(b, &first, "thinkingConfig") != LLM_OK
            || llm_buf_append_lit(b, "{\"thinkingBudget\":") != LLM_OK
            || llm_buf_append_int(b, budget) != LLM_OK
            || (budget > 0
                && llm_buf_append_lit(b, ",\"includeThoughts\":true")
                   != LLM_OK)
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (!first && llm_buf_append_lit(b, "}") != LLM_OK) {
        return LLM_ERROR;
    }

    return LLM_OK;
}


int
llm_gemini_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    size_t       mark;
    llm_json_t  *tree;

    if (req->plain) {
        return llm_gemini_build_plain(req, upstream_model, body);
    }

    tree = llm_request_tree(req);
    if (tree == NULL) {
        return LLM_ERROR;
    }

    mark = body->len;

    if (llm_gemini_contents(llm_json_get_arr(tree, "messages"), body)
        != LLM_OK
        || llm_gemini_tools(tree, body) != LLM_OK
        || llm_gemini_generation_config(req, tree, body) != LLM_OK
        || llm_buf_append_lit(body, "}") != LLM_OK)
    {
        body->len = mark;
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* check: what Gemini cannot take is refused before any upstream request */

static int
llm_gemini_refs_ok(llm_json_t *root, llm_json_t *s, int depth)
{
    llm_json_t  *m;
    const char  *ref;

    if (depth > LLM_GEMINI_SCHEMA_DEPTH) {
        return 1;
    }

    ref = llm_json_get_str(s, "$ref");

    if (ref && llm_gemini_ref(root, ref) == NULL) {
        return 0;
    }

    cJSON_ArrayForEach(m, s) {
        if ((cJSON_IsObject(m) || cJSON_IsArray(m))
            && !llm_gemini_refs_ok(root, m, depth + 1))
        {
            return 0;
        }
    }

    return 1;
}


static int
llm_gemini_check_schema(llm_json_t *schema, const char *param,
    llm_error_t *e)
{
    llm_json_t          *g;
    llm_gemini_schema_t  sc;

    if (schema == NULL) {
        return LLM_OK;
    }

    if (!llm_gemini_refs_ok(schema, schema, 0)) {
        llm_error_set(e, 400, param, "unsupported_schema",
                      "Invalid schema for '%s': Gemini takes no $ref, and "
                      "only local references (#/$defs/..., "
                      "#/definitions/...) are inlined by the gateway.",
                      param);
        return LLM_DECLINED;
    }

    /* recursive $refs inline without end: refused past a size */

    sc.root = schema;
    sc.nodes = LLM_GEMINI_SCHEMA_NODES;

    g = llm_gemini_schema(&sc, schema, 0);
    if (g == NULL) {
        return LLM_ERROR;
    }

    cJSON_Delete(g);

    if (sc.nodes < 0) {
        llm_error_set(e, 400, param, "unsupported_schema",
                      "Invalid schema for '%s': with its $refs inlined "
                      "(Gemini takes none) it has more than %d schemas; "
                      "recursive schemas cannot be sent to Gemini.", param,
                      LLM_GEMINI_SCHEMA_NODES);
        return LLM_DECLINED;
    }

    return LLM_OK;
}


static int
llm_gemini_check_content(llm_json_t *content, int i, llm_error_t *e)
{
    int                  k;
    char                 param[96];
    llm_json_t          *part;
    const char          *type, *url, *why;
    llm_gemini_image_t   im;

    k = -1;

    cJSON_ArrayForEach(part, content) {
        k++;
        type = llm_json_get_str(part, "type");

        if (cJSON_IsString(part) || type == NULL || strcmp(type, "text") == 0
            || strcmp(type, "input_audio") == 0)
        {
            continue;
        }

        if (strcmp(type, "image_url") != 0) {
            snprintf(param, sizeof(param), "messages[%d].content[%d].type",
                     i, k);
            llm_error_set(e, 400, param, "unsupported_content",
                          "Content parts of type '%s' are not supported by "
                          "the gemini dialect.", type);
            return LLM_DECLINED;
        }

        url = llm_gemini_image_url(part);
        why = url ? llm_gemini_image(url, &im) : "the URL is missing";

        if (why) {
            snprintf(param, sizeof(param),
                     "messages[%d].content[%d].image_url.url", i, k);
            llm_error_set(e, 400, param, "invalid_image_url",
                          "Invalid image URL for '%s': %s.", param, why);
            return LLM_DECLINED;
        }
    }

    return LLM_OK;
}


static int
llm_gemini_check_messages(llm_json_t *messages, llm_error_t *e)
{
    int          i, k;
    char         param[96];
    llm_json_t  *msg, *call, *args;
    const char  *role, *id;

    i = -1;

    cJSON_ArrayForEach(msg, messages) {
        i++;
        role = llm_json_get_str(msg, "role");

        if (role == NULL) {
            continue;
        }

        if (llm_gemini_check_content(llm_json_get_arr(msg, "content"), i, e)
            != LLM_OK)
        {
            return LLM_DECLINED;
        }

        if (strcmp(role, "tool") == 0) {
            id = llm_json_get_str(msg, "tool_call_id");

            if (id == NULL || llm_gemini_call_name(messages, msg, id) == NULL)
            {
                snprintf(param, sizeof(param), "messages[%d].tool_call_id",
                         i);
                llm_error_set(e, 400, param, "invalid_tool_call_id",
                              "Invalid value for '%s': it must be the id of "
                              "a tool call in an earlier assistant message "
                              "(Gemini needs the function's name).", param);
                return LLM_DECLINED;
            }

            continue;
        }

        k = -1;

        cJSON_ArrayForEach(call, llm_json_get_arr(msg, "tool_calls")) {
            k++;

            if (llm_json_get_str(llm_json_get_obj(call, "function"), "name")
                == NULL)
            {
                snprintf(param, sizeof(param),
                         "messages[%d].tool_calls[%d].function.name", i, k);
                llm_error_set(e, 400, param, "missing_required_parameter",
                              "Missing required parameter: '%s'.", param);
                return LLM_DECLINED;
            }

            args = llm_gemini_args(call);

            if (args == NULL) {
                snprintf(param, sizeof(param),
                         "messages[%d].tool_calls[%d].function.arguments",
                         i, k);
                llm_error_set(e, 400, param, "invalid_tool_arguments",
                              "Invalid value for '%s': the arguments must "
                              "be a JSON object.", param);
                return LLM_DECLINED;
            }

            llm_json_free(args);
        }
    }

    return LLM_OK;
}


static int
llm_gemini_declared(llm_json_t *tools, const char *name)
{
    llm_json_t  *tool;
    const char  *s;

    cJSON_ArrayForEach(tool, tools) {
        s = llm_json_get_str(llm_json_get_obj(tool, "function"), "name");

        if (s && strcmp(s, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
llm_gemini_check_n(long long n, llm_error_t *e)
{
    if (n > LLM_GEMINI_MAX_CAND) {
        llm_error_set(e, 400, "n", "unsupported_value",
                      "Invalid value for 'n': Gemini returns at most %d "
                      "candidates.", LLM_GEMINI_MAX_CAND);
        return LLM_DECLINED;
    }

    return LLM_OK;
}


int
llm_gemini_check(llm_request_t *req, llm_error_t *e)
{
    int          i, rc;
    char         param[64];
    llm_json_t  *tree, *v, *tool, *rf;
    const char  *s;

    /* a plain request can only ask for too many candidates */

    if (req->plain && (req->spans->stop.start == NULL
                       || req->spans->stop.start[0] != '['))
    {
        return llm_gemini_check_n(req->spans->n.start
                                  ? llm_json_scan_int(req->spans->n.start,
                                                      req->spans->n.end)
                                  : -1, e);
    }

    tree = llm_request_tree(req);
    if (tree == NULL) {
        return LLM_ERROR;
    }

    if (llm_gemini_check_n(llm_json_get_int(tree, "n"), e) != LLM_OK) {
        return LLM_DECLINED;
    }

    if (cJSON_IsTrue(llm_json_get(tree, "logprobs"))
        || llm_json_get_int(tree, "top_logprobs") > 0)
    {
        llm_error_set(e, 400, "logprobs", "unsupported_parameter",
                      "Unsupported parameter: 'logprobs' is not supported "
                      "by the gemini dialect.");
        return LLM_DECLINED;
    }

    if (cJSON_GetArraySize(llm_json_get_obj(tree, "logit_bias")) > 0) {
        llm_error_set(e, 400, "logit_bias", "unsupported_parameter",
                      "Unsupported parameter: 'logit_bias' is not supported "
                      "by Gemini.");
        return LLM_DECLINED;
    }

    if (cJSON_GetArraySize(llm_json_get_arr(tree, "stop"))
        > LLM_GEMINI_MAX_STOP)
    {
        llm_error_set(e, 400, "stop", "unsupported_value",
                      "Invalid value for 'stop': Gemini takes at most %d "
                      "stop sequences.", LLM_GEMINI_MAX_STOP);
        return LLM_DECLINED;
    }

    s = llm_json_get_str(tree, "reasoning_effort");

    if (s && llm_gemini_budget(s) < 0) {
        llm_error_set(e, 400, "reasoning_effort", "invalid_value",
                      "Invalid value for 'reasoning_effort': supported "
                      "values are 'none', 'minimal', 'low', 'medium' and "
                      "'high'.");
        return LLM_DECLINED;
    }

    i = -1;

    cJSON_ArrayForEach(tool, llm_json_get_arr(tree, "tools")) {
        i++;
        s = llm_json_get_str(tool, "type");

        if ((s && strcmp(s, "function") != 0)
            || llm_json_get_str(llm_json_get_obj(tool, "function"), "name")
               == NULL)
        {
            snprintf(param, sizeof(param), "tools[%d]", i);
            llm_error_set(e, 400, param, "unsupported_tool",
                          "Invalid value for '%s': the gemini dialect takes "
                          "function tools with a name only.", param);
            return LLM_DECLINED;
        }

        snprintf(param, sizeof(param), "tools[%d].function.parameters", i);

        v = llm_json_get_obj(llm_json_get_obj(tool, "function"),
                             "parameters");
        rc = llm_gemini_check_schema(v, param, e);

        if (rc != LLM_OK) {
            return rc;
        }
    }

    /* a named tool_choice must name a declared function */

    s = llm_json_get_str(llm_json_get_obj(llm_json_get_obj(tree,
                             "tool_choice"), "function"), "name");

    if (s && !llm_gemini_declared(llm_json_get_arr(tree, "tools"), s)) {
        llm_error_set(e, 400, "tool_choice", "invalid_value",
                      "Invalid value for 'tool_choice': no function named "
                      "'%s' is in 'tools'.", s);
        return LLM_DECLINED;
    }

    rf = llm_json_get_obj(tree, "response_format");
    s = llm_json_get_str(rf, "type");

    if (rf
        && (s == NULL || (strcmp(s, "text") != 0
                          && strcmp(s, "json_object") != 0
                          && strcmp(s, "json_schema") != 0)))
    {
        llm_error_set(e, 400, "response_format.type", "invalid_value",
                      "Invalid value for 'response_format.type': supported "
                      "values are 'text', 'json_object' and 'json_schema'.");
        return LLM_DECLINED;
    }

    v = llm_json_get_obj(llm_json_get_obj(rf, "json_schema"), "schema");

    rc = llm_gemini_check_schema(v, "response_format.json_schema.schema", e);

    if (rc != LLM_OK) {
        return rc;
    }

    return llm_gemini_check_messages(llm_json_get_arr(tree, "messages"), e);
}
