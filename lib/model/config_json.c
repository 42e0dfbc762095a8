#include "model/config_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"

/* ---------------------------------------------------------------------------
 * Typed getters: each looks a key up in obj, leaves the target unchanged
 * when the key is absent, and refuses a wrong type naming key and value. */

typedef struct jctx {
    const ddgan_json_value *obj;
    const char *fn;
} jctx;

static const char *type_name(const ddgan_json_value *v) { return ddgan__json_type_name(ddgan__json_type(v)); }

static ddgan_status_t get_int(const jctx *j, const char *key, int lo, int hi, int *out)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    int64_t x;
    if (ddgan__json_type(v) == DDGAN_JSON_BOOL) {
        int b;
        ddgan__json_get_bool(v, &b);
        x = b;
    } else if (ddgan__json_get_int64(v, &x) != DDGAN_OK) {
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be an integer, not %s",
                         j->fn, key, type_name(v));
    }
    if (x < lo || x > hi)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" = %lld not in [%d, %d]",
                         j->fn, key, (long long)x, lo, hi);
    *out = (int)x;
    return DDGAN_OK;
}

static ddgan_status_t get_bool(const jctx *j, const char *key, int *out)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    if (ddgan__json_type(v) == DDGAN_JSON_BOOL)
        return ddgan__json_get_bool(v, out);
    int64_t x;
    if (ddgan__json_get_int64(v, &x) == DDGAN_OK && (x == 0 || x == 1)) {
        *out = (int)x;
        return DDGAN_OK;
    }
    return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be true or false, not %s",
                     j->fn, key, type_name(v));
}

static ddgan_status_t get_num(const jctx *j, const char *key, double *out)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    double x;
    if (ddgan__json_get_number(v, &x) != DDGAN_OK || !isfinite(x))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be a finite number, not %s",
                         j->fn, key, type_name(v));
    *out = x;
    return DDGAN_OK;
}

static ddgan_status_t get_str(const jctx *j, const char *key, char *out, size_t cap)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    size_t len = 0;
    const char *s = ddgan__json_string(v, &len);
    if (!s)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be a string, not %s",
                         j->fn, key, type_name(v));
    if (len >= cap || strlen(s) != len)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" value \"%.40s\" is too long",
                         j->fn, key, s);
    memcpy(out, s, len + 1);
    return DDGAN_OK;
}

/* An integer list ("ch_mult": [1, 2, 2]) into out[0..*n) */
static ddgan_status_t get_int_list(const jctx *j, const char *key, int lo, int hi, int *out, int cap,
                                   int *n)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    if (ddgan__json_type(v) != DDGAN_JSON_ARRAY)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be a list, not %s",
                         j->fn, key, type_name(v));
    size_t len = ddgan__json_length(v);
    if (len > (size_t)cap)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: config key \"%s\" has %zu entries (at most %d supported)",
                         j->fn, key, len, cap);
    for (size_t i = 0; i < len; i++) {
        int64_t x;
        if (ddgan__json_get_int64(ddgan__json_array_item(v, i), &x) != DDGAN_OK || x < lo || x > hi)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: config key \"%s\"[%zu] must be an integer in [%d, %d]", j->fn, key,
                             i, lo, hi);
        out[i] = (int)x;
    }
    *n = (int)len;
    return DDGAN_OK;
}

static ddgan_status_t get_num_list(const jctx *j, const char *key, double *out, int cap, int *n)
{
    const ddgan_json_value *v = ddgan__json_object_get(j->obj, key);
    if (!v)
        return DDGAN_OK;
    if (ddgan__json_type(v) != DDGAN_JSON_ARRAY)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\" must be a list, not %s",
                         j->fn, key, type_name(v));
    size_t len = ddgan__json_length(v);
    if (len == 0 || len > (size_t)cap)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: config key \"%s\" has %zu entries (1..%d supported)",
                         j->fn, key, len, cap);
    for (size_t i = 0; i < len; i++) {
        double x;
        if (ddgan__json_get_number(ddgan__json_array_item(v, i), &x) != DDGAN_OK || !isfinite(x))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"%s\"[%zu] must be a number",
                             j->fn, key, i);
        out[i] = x;
    }
    *n = (int)len;
    return DDGAN_OK;
}

static ddgan_status_t parse_object(const char *json, ddgan_json_doc **doc, jctx *j, const char *fn)
{
    if (!json)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config JSON is NULL", fn);
    char what[96];
    snprintf(what, sizeof what, "%s: config JSON", fn);
    DDGAN_TRY(ddgan__json_parse(doc, json, strlen(json), what));
    j->obj = ddgan__json_root(*doc);
    j->fn = fn;
    if (ddgan__json_type(j->obj) != DDGAN_JSON_OBJECT) {
        const char *tn = type_name(j->obj); /* a static string: valid after the free */
        ddgan__json_free(*doc);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: config JSON must be an object, not %s", fn, tn);
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__config_cls(const char *json, int is_generator, ddgan_net_cls *cls, const char *fn)
{
    ddgan_json_doc *doc;
    jctx j;
    DDGAN_TRY(parse_object(json, &doc, &j, fn));
    char name[48] = "";
    ddgan_status_t st = get_str(&j, "cls", name, sizeof name);
    ddgan__json_free(doc);
    DDGAN_TRY(st);
    if (!name[0])
        *cls = is_generator ? DDGAN_CLS_NCSNPP : DDGAN_CLS_DISC_SMALL;
    else if (!strcmp(name, "ToyMLP"))
        *cls = DDGAN_CLS_TOY;
    else if (is_generator && !strcmp(name, "NCSNpp"))
        *cls = DDGAN_CLS_NCSNPP;
    else if (!is_generator && !strcmp(name, "Discriminator_small"))
        *cls = DDGAN_CLS_DISC_SMALL;
    else if (!is_generator && !strcmp(name, "Discriminator_large"))
        *cls = DDGAN_CLS_DISC_LARGE;
    else
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: config key \"cls\" = \"%s\" is not a %s (use %s)", fn,
                         name, is_generator ? "generator" : "discriminator",
                         is_generator ? "NCSNpp or ToyMLP"
                                      : "Discriminator_small, Discriminator_large or ToyMLP");
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__gen_config_parse(const char *json, ddgan_gen_config *c, const char *fn)
{
    ddgan_json_doc *doc;
    jctx j;
    DDGAN_TRY(parse_object(json, &doc, &j, fn));
    ddgan__gen_config_defaults(c);
    ddgan_status_t st = DDGAN_OK;
#define G(expr)                       \
    if (st == DDGAN_OK)               \
        st = (expr);
    G(get_int(&j, "image_size", 1, 65536, &c->image_size));
    G(get_int(&j, "num_channels", 1, 4096, &c->num_channels));
    G(get_int(&j, "num_channels_dae", 1, 65536, &c->num_channels_dae));
    G(get_int_list(&j, "ch_mult", 1, 1024, c->ch_mult, DDGAN_GEN_MAX_LEVELS, &c->n_levels));
    G(get_int(&j, "num_res_blocks", 0, 64, &c->num_res_blocks));
    G(get_int_list(&j, "attn_resolutions", 1, 65536, c->attn_resolutions, DDGAN_GEN_MAX_ATTN, &c->n_attn));
    G(get_int(&j, "nz", 1, 65536, &c->nz));
    G(get_int(&j, "z_emb_dim", 1, 65536, &c->z_emb_dim));
    G(get_int(&j, "n_mlp", 0, 15, &c->n_mlp));
    G(get_int(&j, "num_timesteps", 1, 100000, &c->num_timesteps));
    G(get_num(&j, "beta_min", &c->beta_min));
    G(get_num(&j, "beta_max", &c->beta_max));
    G(get_bool(&j, "use_geometric", &c->use_geometric));
    G(get_bool(&j, "centered", &c->centered));
    G(get_num(&j, "dropout", &c->dropout));
    G(get_bool(&j, "resamp_with_conv", &c->resamp_with_conv));
    G(get_bool(&j, "conditional", &c->conditional));
    G(get_bool(&j, "fir", &c->fir));
    G(get_num_list(&j, "fir_kernel", c->fir_kernel, DDGAN_GEN_MAX_FIR, &c->n_fir));
    G(get_bool(&j, "skip_rescale", &c->skip_rescale));
    G(get_str(&j, "resblock_type", c->resblock_type, sizeof c->resblock_type));
    G(get_str(&j, "progressive", c->progressive, sizeof c->progressive));
    G(get_str(&j, "progressive_input", c->progressive_input, sizeof c->progressive_input));
    G(get_str(&j, "progressive_combine", c->progressive_combine, sizeof c->progressive_combine));
    G(get_str(&j, "embedding_type", c->embedding_type, sizeof c->embedding_type));
    G(get_bool(&j, "not_use_tanh", &c->not_use_tanh));
    G(get_num(&j, "fourier_scale", &c->fourier_scale));
#undef G
    ddgan__json_free(doc);
    return st;
}

static void write_int_list(ddgan_json_writer *w, const char *key, const int *v, int n)
{
    ddgan__json_write_key(w, key);
    ddgan__json_write_array_begin(w);
    for (int i = 0; i < n; i++)
        ddgan__json_write_int64(w, v[i]);
    ddgan__json_write_array_end(w);
}

ddgan_status_t ddgan__gen_config_write(const ddgan_gen_config *c, char **out)
{
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
#define KI(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_int64(&w, v))
#define KB(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_bool(&w, v))
#define KD(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_double(&w, v))
#define KS(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_string(&w, v))
    ddgan__json_write_object_begin(&w);
    KS("cls", "NCSNpp");
    KI("image_size", c->image_size);
    KI("num_channels", c->num_channels);
    KI("num_channels_dae", c->num_channels_dae);
    write_int_list(&w, "ch_mult", c->ch_mult, c->n_levels);
    KI("num_res_blocks", c->num_res_blocks);
    write_int_list(&w, "attn_resolutions", c->attn_resolutions, c->n_attn);
    KI("nz", c->nz);
    KI("z_emb_dim", c->z_emb_dim);
    KI("n_mlp", c->n_mlp);
    KI("num_timesteps", c->num_timesteps);
    KD("beta_min", c->beta_min);
    KD("beta_max", c->beta_max);
    KB("use_geometric", c->use_geometric);
    KB("centered", c->centered);
    KD("dropout", c->dropout);
    KB("resamp_with_conv", c->resamp_with_conv);
    KB("conditional", c->conditional);
    KB("fir", c->fir);
    ddgan__json_write_key(&w, "fir_kernel");
    ddgan__json_write_array_begin(&w);
    for (int i = 0; i < c->n_fir; i++) {
        /* integers stay integers ([1, 3, 3, 1]) as the official config writes them. The
         * range test comes first: converting a double beyond the int64 range is undefined
         * behaviour (found by fuzz_config_json, reproducer crash-fir-kernel-huge.json). */
        if (fabs(c->fir_kernel[i]) < 1e15 && c->fir_kernel[i] == (double)(int64_t)c->fir_kernel[i])
            ddgan__json_write_int64(&w, (int64_t)c->fir_kernel[i]);
        else
            ddgan__json_write_double(&w, c->fir_kernel[i]);
    }
    ddgan__json_write_array_end(&w);
    KB("skip_rescale", c->skip_rescale);
    KS("resblock_type", c->resblock_type);
    KS("progressive", c->progressive);
    KS("progressive_input", c->progressive_input);
    KS("progressive_combine", c->progressive_combine);
    KS("embedding_type", c->embedding_type);
    KD("fourier_scale", c->fourier_scale);
    KB("not_use_tanh", c->not_use_tanh);
    ddgan__json_write_object_end(&w);
    ddgan_status_t st = ddgan__json_writer_finish(&w, out, NULL);
    ddgan__json_writer_free(&w);
    return st;
}

/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__disc_config_parse(const char *json, ddgan_disc_config *c, const char *fn)
{
    ddgan_net_cls cls = DDGAN_CLS_NCSNPP;
    DDGAN_TRY(ddgan__config_cls(json, 0, &cls, fn));
    if (cls == DDGAN_CLS_TOY)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "%s: ToyMLP is not an image discriminator", fn);
    ddgan_json_doc *doc;
    jctx j;
    DDGAN_TRY(parse_object(json, &doc, &j, fn));
    memset(c, 0, sizeof *c);
    c->large = cls == DDGAN_CLS_DISC_LARGE;
    c->nc = 6;
    c->ngf = 64;
    c->t_emb_dim = 256; /* train_ddgan.py's default (the class default 128 is never used) */
    c->lrelu_slope = 0.2;
    c->image_size = c->large ? 256 : 32;
    ddgan_status_t st = get_int(&j, "nc", 2, 4096, &c->nc);
    if (st == DDGAN_OK)
        st = get_int(&j, "image_size", 1, 65536, &c->image_size);
    if (st == DDGAN_OK)
        st = get_int(&j, "ngf", 1, 4096, &c->ngf);
    if (st == DDGAN_OK)
        st = get_int(&j, "t_emb_dim", 4, 65536, &c->t_emb_dim);
    ddgan__json_free(doc);
    DDGAN_TRY(st);
    if (c->nc % 2)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: config key \"nc\" = %d must be even (2 x image channels)", fn, c->nc);
    return DDGAN_OK;
}

ddgan_status_t ddgan__disc_config_write(const ddgan_disc_config *c, char **out)
{
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    KS("cls", c->large ? "Discriminator_large" : "Discriminator_small");
    KI("nc", c->nc);
    KI("ngf", c->ngf);
    KI("t_emb_dim", c->t_emb_dim);
    KI("image_size", c->image_size);
    KS("act", "LeakyReLU(0.2)");
    ddgan__json_write_object_end(&w);
    ddgan_status_t st = ddgan__json_writer_finish(&w, out, NULL);
    ddgan__json_writer_free(&w);
    return st;
#undef KI
#undef KB
#undef KD
#undef KS
}

/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__toy_config_parse(const char *json, int is_disc, ddgan_toy_config *c, const char *fn)
{
    ddgan_json_doc *doc;
    jctx j;
    DDGAN_TRY(parse_object(json, &doc, &j, fn));
    ddgan__toy_config_defaults(c);
    ddgan_status_t st = DDGAN_OK;
#define G(expr)                       \
    if (st == DDGAN_OK)               \
        st = (expr);
    G(get_int(&j, "data_dim", 1, DDGAN_TOY_MAX_DIM, &c->data_dim));
    G(get_int(&j, "nz", 1, DDGAN_TOY_MAX_DIM, &c->nz));
    G(get_int(&j, "hidden_dim", 1, DDGAN_TOY_MAX_DIM, &c->hidden_dim));
    G(get_int(&j, "n_hidden", 1, DDGAN_TOY_MAX_HIDDEN, &c->n_hidden));
    G(get_int(&j, "t_emb_dim", 4, DDGAN_TOY_MAX_DIM, &c->t_emb_dim));
    G(get_num(&j, "lrelu_slope", &c->lrelu_slope));
    G(get_num(&j, "data_scale", &c->data_scale));
#undef G
    ddgan__json_free(doc);
    DDGAN_TRY(st);
    ddgan_status_t cst = ddgan__toy_config_check(c, is_disc);
    return cst == DDGAN_OK ? cst : ddgan__error_prefix(cst, "%s", fn);
}

ddgan_status_t ddgan__toy_config_write(const ddgan_toy_config *c, int is_disc, const ddgan_gen_config *sched,
                                       char **out)
{
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
#define KI(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_int64(&w, v))
#define KB(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_bool(&w, v))
#define KD(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_double(&w, v))
#define KS(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_string(&w, v))
    ddgan__json_write_object_begin(&w);
    KS("cls", "ToyMLP");
    KI("data_dim", c->data_dim);
    if (!is_disc)
        KI("nz", c->nz);
    KI("hidden_dim", c->hidden_dim);
    KI("n_hidden", c->n_hidden);
    KI("t_emb_dim", c->t_emb_dim);
    KD("lrelu_slope", c->lrelu_slope);
    KD("data_scale", c->data_scale);
    if (sched) {
        KI("num_timesteps", sched->num_timesteps);
        KD("beta_min", sched->beta_min);
        KD("beta_max", sched->beta_max);
        KB("use_geometric", sched->use_geometric);
    }
    ddgan__json_write_object_end(&w);
#undef KI
#undef KB
#undef KD
#undef KS
    ddgan_status_t st = ddgan__json_writer_finish(&w, out, NULL);
    ddgan__json_writer_free(&w);
    return st;
}
