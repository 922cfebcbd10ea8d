/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * Prompt templates and prompt decorators, the nginx side:
 *
 *   llm_template NAME {
 *       system "You answer questions about {{product}}.";
 *       user   "{{question}}";
 *       file   templates/extra.json;     # a JSON messages array
 *   }
 *
 *   llm_prepend_message ROLE TEXT [model=NAME];
 *   llm_append_message  ROLE TEXT [model=NAME];
 *
 * A chat request body that names a template, or that goes through a
 * location or a model with decorators, is rewritten by the core
 * (llm_template.c) before it is validated: every dialect, stream or not,
 * then sees plain messages.
 */

#include "ngx_http_llm_module.h"
#include "llm_template.h"


typedef struct {
    ngx_str_t                      name;
    llm_json_t                    *messages;
} ngx_http_llm_template_t;


typedef struct {
    ngx_str_t                      model;
    llm_json_t                    *prepend;
    llm_json_t                    *append;
} ngx_http_llm_model_prompt_t;


static char *ngx_http_llm_template_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf);
static char *ngx_http_llm_template_file(ngx_conf_t *cf,
    ngx_http_llm_template_t *t, ngx_str_t *name);
static ngx_int_t ngx_http_llm_add_message(ngx_conf_t *cf, llm_json_t **arr,
    ngx_str_t *role, ngx_str_t *text);
static llm_json_t *ngx_http_llm_json_array(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_role(ngx_str_t *role);
static llm_json_t *ngx_http_llm_find_template(void *data, const char *name);
static void ngx_http_llm_model_prompt(void *data, const char *model,
    llm_prompt_t *pr);
static void ngx_http_llm_json_cleanup(void *data);
static ngx_int_t ngx_http_llm_prompt(ngx_http_request_t *r, ngx_str_t *body,
    llm_error_t *e);


/*
 * A request in the internal form: templates and decorators applied, then
 * checked as a chat request into ctx->req.  Without decorators, the body
 * is parsed first, and only one with a "template" is rewritten and
 * parsed again: no pass over the body looks for one.  *rewritten: they
 * changed it.  NGX_DECLINED: e is the answer.
 */

ngx_int_t
ngx_http_llm_internal_form(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *chat, ngx_uint_t *rewritten, llm_error_t *e)
{
    int                        rc;
    u_char                    *keep;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    keep = chat->data;
    *rewritten = 0;

    if (llcf->prepend == NULL && llcf->append == NULL
        && lmcf->model_prompts == NULL)
    {
        rc = llm_request_parse(&ctx->req, (char *) chat->data, chat->len, e);

        if (!ctx->req.template) {
            return (rc == LLM_OK) ? NGX_OK : NGX_DECLINED;
        }

        llm_request_free(&ctx->req);
    }

    if (ngx_http_llm_prompt(r, chat, e) != NGX_OK) {
        return NGX_DECLINED;
    }

    *rewritten = (chat->data != keep);

    if (llm_request_parse(&ctx->req, (char *) chat->data, chat->len, e)
        != LLM_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_prompt(ngx_http_request_t *r, ngx_str_t *body, llm_error_t *e)
{
    int                        rc;
    llm_buf_t                  out;
    llm_prompt_t               pr;
    ngx_http_llm_loc_conf_t   *llcf;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    /*
     * A "template" is looked at even when none is configured, so that it
     * is refused rather than sent on.
     */

    ngx_memzero(&pr, sizeof(llm_prompt_t));
    ngx_memzero(&out, sizeof(llm_buf_t));

    pr.prepend[0] = llcf->prepend;
    pr.append[0] = llcf->append;
    pr.find_template = ngx_http_llm_find_template;
    pr.model = ngx_http_llm_model_prompt;
    pr.data = lmcf;

    rc = llm_prompt_apply((char *) body->data, body->len, &pr, &out, e);

    if (rc == LLM_DECLINED) {
        return NGX_OK;
    }

    if (rc != LLM_OK) {
        llm_buf_free(&out);
        return NGX_ERROR;
    }

    body->data = ngx_pnalloc(r->pool, out.len);
    if (body->data == NULL) {
        llm_buf_free(&out);
        llm_error_set(e, 500, NULL, NULL, "Out of memory.");
        return NGX_ERROR;
    }

    ngx_memcpy(body->data, out.data, out.len);
    body->len = out.len;

    llm_buf_free(&out);

    return NGX_OK;
}


static llm_json_t *
ngx_http_llm_find_template(void *data, const char *name)
{
    ngx_http_llm_main_conf_t *lmcf = data;

    ngx_uint_t                i;
    ngx_http_llm_template_t  *t;

    if (lmcf->templates == NULL) {
        return NULL;
    }

    t = lmcf->templates->elts;

    for (i = 0; i < lmcf->templates->nelts; i++) {
        if (ngx_strcmp(t[i].name.data, name) == 0) {
            return t[i].messages;
        }
    }

    return NULL;
}


static void
ngx_http_llm_model_prompt(void *data, const char *model, llm_prompt_t *pr)
{
    ngx_http_llm_main_conf_t *lmcf = data;

    ngx_uint_t                    i;
    ngx_http_llm_model_prompt_t  *mp;

    if (lmcf->model_prompts == NULL) {
        return;
    }

    mp = lmcf->model_prompts->elts;

    for (i = 0; i < lmcf->model_prompts->nelts; i++) {
        if (ngx_strcmp(mp[i].model.data, model) == 0) {
            pr->prepend[1] = mp[i].prepend;
            pr->append[1] = mp[i].append;
            return;
        }
    }
}


/* llm_template NAME { ROLE "text"; file PATH; } */

char *
ngx_http_llm_template_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    char                     *rv;
    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_conf_t                save;
    ngx_http_llm_template_t  *t;

    value = cf->args->elts;

    if (lmcf->templates == NULL) {
        lmcf->templates = ngx_array_create(cf->pool, 4,
                                           sizeof(ngx_http_llm_template_t));
        if (lmcf->templates == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    t = lmcf->templates->elts;

    for (i = 0; i < lmcf->templates->nelts; i++) {
        if (t[i].name.len == value[1].len
            && ngx_strncmp(t[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate llm_template \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    t = ngx_array_push(lmcf->templates);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    t->name = value[1];

    t->messages = ngx_http_llm_json_array(cf);
    if (t->messages == NULL) {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_llm_template_line;
    cf->handler_conf = (char *) t;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (cJSON_GetArraySize(t->messages) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_template \"%V\" has no messages", &t->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_template_line(ngx_conf_t *cf, ngx_command_t *dummy, void *conf)
{
    ngx_http_llm_template_t *t = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid line in llm_template \"%V\": ROLE "
                           "\"text\"; or file PATH; expected", &t->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[0].data, "file") == 0) {
        return ngx_http_llm_template_file(cf, t, &value[1]);
    }

    if (ngx_http_llm_role(&value[0]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid role \"%V\" in llm_template \"%V\": "
                           "system, developer, user, assistant or file "
                           "expected", &value[0], &t->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_add_message(cf, &t->messages, &value[0], &value[1])
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_template_file(ngx_conf_t *cf, ngx_http_llm_template_t *t,
    ngx_str_t *name)
{
    char             msg[256];
    u_char          *buf;
    size_t           len;
    ssize_t          n;
    ngx_file_t       file;
    llm_json_t      *msgs, *m;
    ngx_file_info_t  fi;

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *name;
    file.log = cf->log;

    if (ngx_conf_full_name(cf->cycle, &file.name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open the file \"%V\" of llm_template "
                           "\"%V\"", &file.name, &t->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the file \"%V\" of llm_template \"%V\" is "
                           "unreadable or larger than 1m", &file.name,
                           &t->name);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    len = (size_t) ngx_file_size(&fi);

    buf = ngx_pnalloc(cf->temp_pool, len + 1);
    if (buf == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, buf, len, 0);

    ngx_close_file(file.fd);

    if (n != (ssize_t) len) {
        return NGX_CONF_ERROR;
    }

    msgs = llm_template_parse_messages((char *) buf, len, msg, sizeof(msg));

    if (msgs == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid file \"%V\" of llm_template \"%V\": %s",
                           &file.name, &t->name, msg);
        return NGX_CONF_ERROR;
    }

    /* the file's messages join the template's, in place */

    while ((m = cJSON_DetachItemFromArray(msgs, 0)) != NULL) {
        cJSON_AddItemToArray(t->messages, m);
    }

    llm_json_free(msgs);

    return NGX_CONF_OK;
}


/* llm_prepend_message / llm_append_message ROLE TEXT [model=NAME] */

char *
ngx_http_llm_message_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t                    *value, model;
    ngx_uint_t                    i;
    llm_json_t                  **arr;
    ngx_http_llm_model_t         *m;
    ngx_http_llm_main_conf_t     *lmcf;
    ngx_http_llm_model_prompt_t  *mp;

    value = cf->args->elts;

    if (ngx_http_llm_role(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid role \"%V\" in \"%V\": system, "
                           "developer, user or assistant expected",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    arr = (llm_json_t **) (p + cmd->offset);

    if (cf->args->nelts == 3) {
        return (ngx_http_llm_add_message(cf, arr, &value[1], &value[2])
                == NGX_OK) ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    /* model=NAME: the model's own decorators, at http level */

    if (ngx_strncmp(value[3].data, "model=", 6) != 0 || value[3].len == 6) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\": model=NAME "
                           "expected", &value[3], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (cf->cmd_type != NGX_HTTP_MAIN_CONF) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" with model= is only allowed at http "
                           "level", &cmd->name);
        return NGX_CONF_ERROR;
    }

    model.data = value[3].data + 6;
    model.len = value[3].len - 6;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].name.len == model.len
            && ngx_strncmp(m[i].name.data, model.data, model.len) == 0)
        {
            break;
        }
    }

    if (i == lmcf->models.nelts || m[i].embedding) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" names unknown chat model \"%V\" (an "
                           "llm_model must be defined before its "
                           "messages)", &cmd->name, &model);
        return NGX_CONF_ERROR;
    }

    if (lmcf->model_prompts == NULL) {
        lmcf->model_prompts = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_llm_model_prompt_t));
        if (lmcf->model_prompts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    mp = lmcf->model_prompts->elts;

    for (i = 0; i < lmcf->model_prompts->nelts; i++) {
        if (mp[i].model.len == model.len
            && ngx_strncmp(mp[i].model.data, model.data, model.len) == 0)
        {
            break;
        }
    }

    if (i == lmcf->model_prompts->nelts) {
        mp = ngx_array_push(lmcf->model_prompts);
        if (mp == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(mp, sizeof(ngx_http_llm_model_prompt_t));
        mp->model = model;

        /* the name is compared as a C string */
        mp->model.data = ngx_pnalloc(cf->pool, model.len + 1);
        if (mp->model.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(mp->model.data, model.data, model.len + 1);

    } else {
        mp = &mp[i];
    }

    arr = (cmd->offset == offsetof(ngx_http_llm_loc_conf_t, prepend))
          ? &mp->prepend : &mp->append;

    return (ngx_http_llm_add_message(cf, arr, &value[1], &value[2])
            == NGX_OK) ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_llm_add_message(ngx_conf_t *cf, llm_json_t **arr, ngx_str_t *role,
    ngx_str_t *text)
{
    llm_json_t  *m;

    if (*arr == NULL) {
        *arr = ngx_http_llm_json_array(cf);
        if (*arr == NULL) {
            return NGX_ERROR;
        }
    }

    /* conf arguments are NUL-terminated */

    m = cJSON_CreateObject();

    if (m == NULL
        || cJSON_AddStringToObject(m, "role", (char *) role->data) == NULL
        || cJSON_AddStringToObject(m, "content", (char *) text->data)
           == NULL
        || !cJSON_AddItemToArray(*arr, m))
    {
        llm_json_free(m);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a cJSON array that lives as long as the configuration */

static llm_json_t *
ngx_http_llm_json_array(ngx_conf_t *cf)
{
    llm_json_t          *a;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    a = cJSON_CreateArray();
    if (a == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_llm_json_cleanup;
    cln->data = a;

    return a;
}


static ngx_int_t
ngx_http_llm_role(ngx_str_t *role)
{
    if (ngx_strcmp(role->data, "system") == 0
        || ngx_strcmp(role->data, "developer") == 0
        || ngx_strcmp(role->data, "user") == 0
        || ngx_strcmp(role->data, "assistant") == 0)
    {
        return NGX_OK;
    }

    return NGX_ERROR;
}


static void
ngx_http_llm_json_cleanup(void *data)
{
    llm_json_free(data);
}
