/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The "gemini" dialect, request side: an OpenAI Chat Completions request
 * → a Gemini generateContent body (tools and schemas in
 * llm_gemini_tools.c; what Gemini cannot take is refused before by
 * llm_gemini_check.c).  The policy is in llm_gemini.c's header comment
 * and in the README.
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

const char *
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


const char *
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
    llm_request_t  *req;
    llm_buf_t      *body;
    const char     *role;       /* the open turn's role, or NULL */
} llm_gemini_turns_t;


static int
llm_gemini_part(llm_gemini_turns_t *t, const char *role)
{
    /* "user" or "model": the first letter tells */

    if (t->role && t->role[0] == role[0]) {
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
        || llm_buf_append_cstr(t->body,
                               file ? "{\"fileData\":{\"mimeType\":"
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
 * The parts of one OpenAI content's parts: adjacent text parts are
 * joined into one text part, images and audio become inlineData /
 * fileData parts in their place.
 */

static int
llm_gemini_content(llm_gemini_turns_t *t, const char *role,
    llm_json_t *content, int skip_empty, llm_buf_t *text)
{
    int                  have;
    llm_json_t          *part, *audio;
    const char          *type, *s, *url, *fmt;
    llm_gemini_image_t   im;

    llm_buf_reset(text);

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
        }
    }

    if (have && (text->len || !skip_empty)) {
        return llm_gemini_text_part(t, role, text);
    }

    return LLM_OK;
}


/*
 * Thought signatures ride in the tool-call ids the gateway mints
 * (llm_gemini.c): "call_<16 hex>_<signature in base64url, no
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


static int
llm_gemini_function_calls(llm_gemini_turns_t *t, llm_json_t *calls,
    llm_buf_t *tmp)
{
    int          rc;
    llm_json_t  *call, *fn;
    const char  *name, *id, *sig, *args;

    cJSON_ArrayForEach(call, calls) {
        fn = llm_json_get_obj(call, "function");
        name = llm_json_get_str(fn, "name");

        if (name == NULL) {
            continue;
        }

        /* the object as the client wrote it: valid, no tree needed */

        args = llm_request_call_args(t->req, call);

        if (args == NULL) {
            /* refused by the check hook; never sent */
            args = "{}";
        }

        rc = llm_gemini_part(t, "model");

        if (rc == LLM_OK
            && (llm_buf_append_lit(t->body, "{\"functionCall\":{\"name\":")
                != LLM_OK
                || llm_buf_append_json_string(t->body, name, strlen(name))
                   != LLM_OK
                || llm_buf_append_lit(t->body, ",\"args\":") != LLM_OK
                || llm_buf_append_cstr(t->body, args) != LLM_OK
                || llm_buf_append_lit(t->body, "}") != LLM_OK))
        {
            rc = LLM_ERROR;
        }

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


/*
 * A message's content: a string as the client escaped it (an empty one
 * still gives an empty text part unless skip_empty), or parts
 */

static int
llm_gemini_message_content(llm_gemini_turns_t *t, const char *role,
    llm_message_t *m, int skip_empty, llm_buf_t *text)
{
    const char  *lead;

    if (m->parts) {
        return llm_gemini_content(t, role, m->parts, skip_empty, text);
    }

    if (m->content.start == NULL
        || (skip_empty && llm_span_inner_len(&m->content) == 0))
    {
        return LLM_OK;
    }

    /* llm_gemini_part() and the text's start in one: most messages */

    if (t->role && t->role[0] == role[0]) {
        lead = ",{\"text\":";

    } else if (role[0] == 'u') {
        lead = t->role ? "]},{\"role\":\"user\",\"parts\":[{\"text\":"
                       : "{\"role\":\"user\",\"parts\":[{\"text\":";

    } else {
        lead = t->role ? "]},{\"role\":\"model\",\"parts\":[{\"text\":"
                       : "{\"role\":\"model\",\"parts\":[{\"text\":";
    }

    t->role = role;

    if (llm_buf_append_cstr(t->body, lead) != LLM_OK
        || llm_span_append(t->body, &m->content) != LLM_OK
        || llm_buf_append_lit(t->body, "}") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/*
 * The name of the function an earlier message (of messages[0, upto))
 * called with the id; NULL: none, or a call without a name
 */

const char *
llm_gemini_call_name(llm_chat_t *chat, int upto, const llm_span_t *id)
{
    int          k, found;
    llm_json_t  *call;
    const char  *name;

    /*
     * Backwards: the latest call is the nearest (a history of tool
     * rounds would be searched once a result from its start)
     */

    for (k = upto - 1; k >= 0; k--) {
        found = 0;
        name = NULL;

        cJSON_ArrayForEach(call, chat->messages[k].calls) {
            if (llm_span_equals(id, llm_json_get_str(call, "id"))) {
                /* the latest call with that id, named or not */
                found = 1;
                name = llm_json_get_str(llm_json_get_obj(call, "function"),
                                        "name");
            }
        }

        if (found) {
            return name;
        }
    }

    return NULL;
}


/* a result of the function called name (or name_span, as escaped) */

static int
llm_gemini_function_response(llm_gemini_turns_t *t, const char *name,
    const llm_span_t *name_span, llm_message_t *m, llm_buf_t *text)
{
    llm_json_t  *part;
    const char  *s;

    if (llm_gemini_part(t, "user") != LLM_OK
        || llm_buf_append_lit(t->body, "{\"functionResponse\":{\"name\":")
           != LLM_OK
        || (name ? llm_buf_append_json_string(t->body, name, strlen(name))
                 : llm_span_append(t->body, name_span)) != LLM_OK
        || llm_buf_append_lit(t->body, ",\"response\":{\"content\":")
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    /* the result's text, wrapped: functionResponse.response is a Struct */

    if (m->parts) {
        llm_buf_reset(text);

        cJSON_ArrayForEach(part, m->parts) {
            s = llm_json_get_str(part, "text");

            if (s && llm_buf_append_cstr(text, s) != LLM_OK) {
                return LLM_ERROR;
            }
        }

        if (llm_buf_append_json_string(t->body, text->data, text->len)
            != LLM_OK)
        {
            return LLM_ERROR;
        }

    } else if ((m->content.start
                ? llm_span_append(t->body, &m->content)
                : llm_buf_append_lit(t->body, "\"\"")) != LLM_OK)
    {
        return LLM_ERROR;
    }

    return llm_buf_append_lit(t->body, "}}}");
}


static int
llm_gemini_contents(llm_request_t *req, llm_buf_t *body)
{
    int                  i, rc;
    llm_buf_t            text;
    llm_chat_t          *chat;
    const char          *name;
    llm_message_t       *m;
    llm_gemini_turns_t   t;

    chat = req->chat;

    t.req = req;
    t.body = body;
    t.role = NULL;

    memset(&text, 0, sizeof(llm_buf_t));

    if (llm_buf_append_lit(body, "{\"contents\":[") != LLM_OK) {
        return LLM_ERROR;
    }

    rc = LLM_OK;

    for (i = 0; rc == LLM_OK && i < chat->nmessages; i++) {
        m = &chat->messages[i];

        switch (m->role) {

        case LLM_ROLE_USER:
            rc = llm_gemini_message_content(&t, "user", m, 0, &text);
            break;

        case LLM_ROLE_ASSISTANT:
            rc = llm_gemini_message_content(&t, "model", m,
                                            m->calls && m->calls->child,
                                            &text);

            if (rc == LLM_OK && m->calls) {
                rc = llm_gemini_function_calls(&t, m->calls, &text);
            }

            break;

        case LLM_ROLE_TOOL:
            name = m->tool_call_id.start
                   ? llm_gemini_call_name(chat, i, &m->tool_call_id) : NULL;

            if (name) {
                rc = llm_gemini_function_response(&t, name, NULL, m, &text);
            }

            break;

        case LLM_ROLE_FUNCTION:
            /* the deprecated form names the function itself */

            if (m->name.start) {
                rc = llm_gemini_function_response(&t, NULL, &m->name, m,
                                                  &text);
            }

            break;

        default:
            /* system and developer: systemInstruction */
            break;
        }
    }

    llm_buf_free(&text);

    if (rc != LLM_OK
        || (t.role && llm_buf_append_lit(body, "]}") != LLM_OK)
        || llm_buf_append_lit(body, "]") != LLM_OK)
    {
        return LLM_ERROR;
    }

    return LLM_OK;
}


/* system and developer texts joined with "\n\n", as systemInstruction */

static int
llm_gemini_system(llm_chat_t *chat, llm_buf_t *b)
{
    int             i, any;
    size_t          mark;
    llm_json_t     *part;
    const char     *s;
    llm_message_t  *m;

    mark = b->len;
    any = 0;

    if (llm_buf_append_lit(b, ",\"systemInstruction\":{\"parts\":"
                              "[{\"text\":\"") != LLM_OK)
    {
        return LLM_ERROR;
    }

    for (i = 0; i < chat->nmessages; i++) {
        m = &chat->messages[i];

        if (m->role != LLM_ROLE_SYSTEM) {
            continue;
        }

        /* the separator only after some text */

        if (any && llm_buf_append_lit(b, "\\n\\n") != LLM_OK) {
            return LLM_ERROR;
        }

        if (m->parts == NULL) {
            if (m->content.start
                && llm_buf_append(b, llm_span_inner(&m->content),
                                  llm_span_inner_len(&m->content))
                   != LLM_OK)
            {
                return LLM_ERROR;
            }

            any |= (m->content.start && llm_span_inner_len(&m->content));
            continue;
        }

        cJSON_ArrayForEach(part, m->parts) {
            s = cJSON_IsString(part) ? part->valuestring
                                     : llm_json_get_str(part, "text");

            if (s && s[0]) {
                if (llm_buf_append_json_inner(b, s, strlen(s)) != LLM_OK) {
                    return LLM_ERROR;
                }

                any = 1;
            }
        }
    }

    if (!any) {
        b->len = mark;
        return LLM_OK;
    }

    return llm_buf_append_lit(b, "\"}]}");
}


/*
 * reasoning_effort → thinkingConfig.thinkingBudget (tokens): the budget
 * works on every thinking model (Gemini 3 takes it for compatibility,
 * beside its thinkingLevel), with the values Gemini's own OpenAI
 * endpoint uses; "none" turns thinking off.
 */

long long
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


/* generationConfig's members in the order of the tree builder */

static int
llm_gemini_generation_config(llm_request_t *req, llm_buf_t *b)
{
    size_t       mark;
    long long    max, budget;
    llm_chat_t  *chat;
    llm_json_t  *rf, *schema;
    const char  *type, *effort;

    chat = req->chat;
    mark = b->len;

    if (llm_buf_append_lit(b, ",\"generationConfig\":{") != LLM_OK
        || llm_span_member(b, "temperature", &chat->temperature) != LLM_OK
        || llm_span_member(b, "topP", &chat->top_p) != LLM_OK
        || llm_span_member_int(b, "candidateCount", &chat->n) != LLM_OK
        || llm_span_member_int(b, "seed", &chat->seed) != LLM_OK
        || llm_span_member(b, "presencePenalty", &chat->presence_penalty)
           != LLM_OK
        || llm_span_member(b, "frequencyPenalty", &chat->frequency_penalty)
           != LLM_OK)
    {
        return LLM_ERROR;
    }

    max = llm_chat_max_tokens(req);

    if (max > 0
        && (llm_buf_append_lit(b, ",\"maxOutputTokens\":") != LLM_OK
            || llm_buf_append_int(b, max) != LLM_OK))
    {
        return LLM_ERROR;
    }

    if (llm_span_stop(b, "stopSequences", &chat->stop, 1) != LLM_OK) {
        return LLM_ERROR;
    }

    rf = llm_json_get_obj(chat->params, "response_format");
    type = llm_json_get_str(rf, "type");

    if (type && (strcmp(type, "json_object") == 0
                 || strcmp(type, "json_schema") == 0))
    {
        if (llm_buf_append_lit(b, ",\"responseMimeType\":"
                                  "\"application/json\"") != LLM_OK)
        {
            return LLM_ERROR;
        }

        schema = llm_json_get_obj(llm_json_get_obj(rf, "json_schema"),
                                  "schema");

        if (schema
            && (llm_buf_append_lit(b, ",\"responseSchema\":") != LLM_OK
                || llm_gemini_schema_print(req, schema, b) != LLM_OK))
        {
            return LLM_ERROR;
        }
    }

    effort = llm_json_get_str(chat->params, "reasoning_effort");
    budget = effort ? llm_gemini_budget(effort) : -1;

    if (budget >= 0) {
        if (llm_buf_append_lit(b, ",\"thinkingConfig\":{\"thinkingBudget\":")
            != LLM_OK
            || llm_buf_append_int(b, budget) != LLM_OK
            || (budget > 0
                && llm_buf_append_lit(b, ",\"includeThoughts\":true")
                   != LLM_OK)
            || llm_buf_append_lit(b, "}") != LLM_OK)
        {
            return LLM_ERROR;
        }
    }

    if (b->len == mark + sizeof(",\"generationConfig\":{") - 1) {
        b->len = mark;
        return LLM_OK;
    }

    /* the first member's comma opens the object instead */
    b->data[mark + sizeof(",\"generationConfig\":{") - 1] = ' ';

    return llm_buf_append_lit(b, "}");
}


/*
 * Gemini: roles user and model, consecutive turns merged as parts;
 * system and developer texts joined with "\n\n" as systemInstruction.
 */

int
llm_gemini_build_request(llm_request_t *req, const char *upstream_model,
    llm_buf_t *body)
{
    size_t  mark;

    (void) upstream_model;

    mark = body->len;

    /* at most the client's bytes and some names: one allocation */

    if (llm_request_pieces(req) != LLM_OK
        || llm_buf_reserve(body, req->raw_len + 256) != LLM_OK
        || llm_gemini_contents(req, body) != LLM_OK
        || llm_gemini_system(req->chat, body) != LLM_OK
        || llm_gemini_tools(req, req->chat->params, body) != LLM_OK
        || llm_gemini_generation_config(req, body) != LLM_OK
        || llm_buf_append_lit(body, "}") != LLM_OK)
    {
        body->len = mark;
        return LLM_ERROR;
    }

    return LLM_OK;
}
