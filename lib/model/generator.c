/*
 * NCSN++ generator (reference section 2): configuration, validation,
 * construction in the official module order, activation records, FLOPs.
 * The forward and backward passes are in generator_run.c.
 *
 * Construction follows reference 2.6 (and 2.7 for the other options): one
 * pass over the official algorithm registers the parameters of every module
 * in construction order (= all_modules index = state_dict order) and emits
 * the nodes of the forward pass; the skip stack becomes value ids. The same
 * pass runs first in counting mode (validation, sizes), then for real.
 */
#include "model/generator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define SQRT1_2 0.70710678118654752440

/* ------------------------------------------------------------------------ */
/* Configuration */

static void set_str(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s);
}

void ddgan__gen_config_defaults(ddgan_gen_config *c)
{
    memset(c, 0, sizeof *c);
    c->image_size = 32;
    c->num_channels = 3;
    c->num_channels_dae = 128;
    c->n_levels = 4;
    c->ch_mult[0] = 1;
    c->ch_mult[1] = 2;
    c->ch_mult[2] = 2;
    c->ch_mult[3] = 2;
    c->num_res_blocks = 2;
    c->n_attn = 1;
    c->attn_resolutions[0] = 16;
    c->nz = 100;
    c->z_emb_dim = 256;
    c->n_mlp = 3;
    c->num_timesteps = 4;
    c->beta_min = 0.1;
    c->beta_max = 20.0;
    c->use_geometric = 0;
    c->centered = 1;
    c->not_use_tanh = 0;
    c->conditional = 1;
    c->fir = 1;
    c->n_fir = 4;
    c->fir_kernel[0] = 1;
    c->fir_kernel[1] = 3;
    c->fir_kernel[2] = 3;
    c->fir_kernel[3] = 1;
    c->skip_rescale = 1;
    c->resamp_with_conv = 1;
    c->dropout = 0.0;
    set_str(c->resblock_type, sizeof c->resblock_type, "biggan");
    set_str(c->progressive, sizeof c->progressive, "none");
    set_str(c->progressive_input, sizeof c->progressive_input, "residual");
    set_str(c->progressive_combine, sizeof c->progressive_combine, "sum");
    set_str(c->embedding_type, sizeof c->embedding_type, "positional");
    c->fourier_scale = 16.0;
}

/* The official code lower-cases these options. */
static int eq_nocase(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
    }
}

/* Which of `choices` (NULL-terminated) the option is; -1 after setting an error. */
static int pick(const char *opt, const char *value, size_t cap, const char *const *choices,
                ddgan_status_t *st)
{
    if (!memchr(value, 0, cap)) {
        *st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: %s is not a NUL-terminated string",
                        opt);
        return -1;
    }
    for (int i = 0; choices[i]; i++)
        if (eq_nocase(value, choices[i]))
            return i;
    char list[128] = "";
    for (int i = 0; choices[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s\"%s\"", i ? ", " : "", choices[i]);
    }
    *st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: %s \"%s\" is not one of %s", opt, value,
                    list);
    return -1;
}

static void fmt_ints(char *buf, size_t n, const int *v, int count)
{
    buf[0] = 0;
    for (int i = 0; i < count; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%d", i ? " " : "", v[i]);
    }
}

enum { RB_BIGGAN, RB_ONEADAGN, RB_DDPM };
enum { PROG_NONE, PROG_OUTPUT_SKIP, PROG_RESIDUAL };
enum { PIN_NONE, PIN_INPUT_SKIP, PIN_RESIDUAL };
enum { COMB_SUM, COMB_CAT };
enum { EMB_POSITIONAL, EMB_FOURIER };

typedef struct parsed {
    int rb, prog, pin, comb, emb;
} parsed;

static ddgan_status_t validate(const ddgan_gen_config *c, int max_batch, parsed *p)
{
    static const char *const rb[] = {"biggan", "biggan_oneadagn", "ddpm", NULL};
    static const char *const prog[] = {"none", "output_skip", "residual", NULL};
    static const char *const pin[] = {"none", "input_skip", "residual", NULL};
    static const char *const comb[] = {"sum", "cat", NULL};
    static const char *const emb[] = {"positional", "fourier", NULL};
    ddgan_status_t st = DDGAN_OK;
    if ((p->rb = pick("resblock_type", c->resblock_type, sizeof c->resblock_type, rb, &st)) < 0 ||
        (p->prog = pick("progressive", c->progressive, sizeof c->progressive, prog, &st)) < 0 ||
        (p->pin = pick("progressive_input", c->progressive_input, sizeof c->progressive_input, pin,
                       &st)) < 0 ||
        (p->comb = pick("progressive_combine", c->progressive_combine,
                        sizeof c->progressive_combine, comb, &st)) < 0 ||
        (p->emb = pick("embedding_type", c->embedding_type, sizeof c->embedding_type, emb, &st)) < 0)
        return st;
    if (p->rb == RB_DDPM)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED,
                         "generator: resblock_type \"%s\" is not supported (the official "
                         "ResnetBlockDDPMpp_Adagn network crashes on its up path); use \"biggan\"",
                         c->resblock_type);
    if (p->prog == PROG_RESIDUAL)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED,
                         "generator: progressive \"%s\" is not supported (the official "
                         "upsample_conv_2d crashes); use \"none\" or \"output_skip\"",
                         c->progressive);
    if (c->fir != 1)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED,
                         "generator: fir %d is not supported (only FIR resampling, fir = 1, is "
                         "implemented)",
                         c->fir);
    if (c->n_fir < 2 || c->n_fir > DDGAN_GEN_MAX_FIR)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED,
                         "generator: fir_kernel with %d taps is not supported (2 to %d taps)",
                         c->n_fir, DDGAN_GEN_MAX_FIR);
    if (!(c->dropout == 0.0)) {
        if (!(c->dropout > 0.0 && c->dropout < 1.0))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: dropout %g is not in [0, 1)",
                             c->dropout);
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED,
                         "generator: dropout %g is not supported (only 0, where dropout is the "
                         "identity)",
                         c->dropout);
    }
    if (c->n_levels < 1 || c->n_levels > DDGAN_GEN_MAX_LEVELS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: ch_mult has %d levels (1 to %d supported)", c->n_levels,
                         DDGAN_GEN_MAX_LEVELS);
    char mult[64];
    fmt_ints(mult, sizeof mult, c->ch_mult, c->n_levels);
    for (int l = 0; l < c->n_levels; l++)
        if (c->ch_mult[l] < 1 || c->ch_mult[l] > 4096)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "generator: ch_mult [%s]: entry %d is %d, must be in 1..4096", mult, l,
                             c->ch_mult[l]);
    if (c->num_channels_dae < 4 || c->num_channels_dae > 65536)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: num_channels_dae %d must be in 4..65536 (GroupNorm uses "
                         "min(C/4, 32) groups)",
                         c->num_channels_dae);
    if ((long long)c->num_channels_dae * 4096 * 2 > 0x7fffffffLL / 4)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: num_channels_dae %d x ch_mult [%s] is too wide",
                         c->num_channels_dae, mult);
    for (int l = 0; l < c->n_levels; l++)
        if ((long long)c->num_channels_dae * c->ch_mult[l] > 65536)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "generator: num_channels_dae %d x ch_mult[%d] %d exceeds 65536 channels",
                             c->num_channels_dae, l, c->ch_mult[l]);
    if (c->num_channels < 1 || c->num_channels > 4096)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: num_channels %d must be in 1..4096", c->num_channels);
    if (c->image_size < 1 || c->image_size > 65536)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: image_size %d must be in 1..65536",
                         c->image_size);
    const int div = 1 << (c->n_levels - 1);
    if (c->image_size % div)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: image_size %d is not divisible by 2^(len(ch_mult) - 1) = %d "
                         "(ch_mult [%s])",
                         c->image_size, div, mult);
    if (c->num_res_blocks < 0 || c->num_res_blocks > DDGAN_GEN_MAX_MODULES)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: num_res_blocks %d must be in 0..%d", c->num_res_blocks,
                         DDGAN_GEN_MAX_MODULES);
    if (c->n_attn < 0 || c->n_attn > DDGAN_GEN_MAX_ATTN)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: %d attn_resolutions (at most %d)", c->n_attn,
                         DDGAN_GEN_MAX_ATTN);
    for (int i = 0; i < c->n_attn; i++) {
        int found = 0;
        for (int l = 0; l < c->n_levels; l++)
            found |= c->attn_resolutions[i] == c->image_size >> l;
        if (!found) {
            char res[64];
            int rs[DDGAN_GEN_MAX_LEVELS];
            for (int l = 0; l < c->n_levels; l++)
                rs[l] = c->image_size >> l;
            fmt_ints(res, sizeof res, rs, c->n_levels);
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "generator: attn_resolutions entry %d is never reached (the "
                             "resolutions of image_size %d with ch_mult [%s] are %s)",
                             c->attn_resolutions[i], c->image_size, mult, res);
        }
    }
    if (c->nz < 1 || c->nz > 1 << 20)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: nz %d must be in 1..%d", c->nz,
                         1 << 20);
    if (c->z_emb_dim < 1 || c->z_emb_dim > 1 << 16)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: z_emb_dim %d must be in 1..%d",
                         c->z_emb_dim, 1 << 16);
    if (c->n_mlp < 0 || c->n_mlp > DDGAN_GEN_MAX_MLP - 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: n_mlp %d must be in 0..%d",
                         c->n_mlp, DDGAN_GEN_MAX_MLP - 1);
    if (p->emb == EMB_FOURIER && !isfinite(c->fourier_scale))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: fourier_scale %g is not finite",
                         c->fourier_scale);
    if (max_batch < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: max_batch %d must be >= 1",
                         max_batch);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Construction */

typedef struct builder {
    ddgan_gen_net *net;
    const ddgan_gen_config *c;
    const parsed *p;
    int fill; /* 0: count and validate only */
    int n_nodes, n_blocks, n_attns, n_convs, n_cdowns, n_gns;
    int midx; /* next all_modules index */
    ddgan_status_t st;
} builder;

static int groups_of(int c) { return c / 4 < 32 ? c / 4 : 32; }

/* Every GroupNorm (adaptive, attention, output) uses min(C/4, 32) groups. */
static int check_gn(builder *b, int ch, int midx, const char *where)
{
    if (b->st != DDGAN_OK)
        return 0;
    const int g = groups_of(ch);
    if (g >= 1 && ch % g == 0)
        return 1;
    char mult[64];
    fmt_ints(mult, sizeof mult, b->c->ch_mult, b->c->n_levels);
    b->st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                      "generator: the GroupNorm of all_modules.%d%s normalises %d channels, which "
                      "min(C/4, 32) = %d groups do not divide (num_channels_dae %d, ch_mult [%s]%s)",
                      midx, where, ch, g, b->c->num_channels_dae, mult,
                      b->p->pin == PIN_INPUT_SKIP && b->p->comb == COMB_CAT
                          ? ", progressive_combine \"cat\""
                          : "");
    return 0;
}

static int has_params(ddgan_gop op)
{
    return op == DDGAN_GOP_CONV || op == DDGAN_GOP_RESBLOCK || op == DDGAN_GOP_ATTN ||
           op == DDGAN_GOP_CONV_DOWN || op == DDGAN_GOP_GROUPNORM;
}

/* Appends a node; returns its value id. */
static int node(builder *b, ddgan_gop op, int mod, int in0, int in1, double alpha, double beta,
                int module_index, int c, int h, int w)
{
    const int id = b->n_nodes + 1;
    if (b->fill && b->st == DDGAN_OK) {
        ddgan_gen_net *net = b->net;
        ddgan_gnode *n = &net->nodes[b->n_nodes];
        n->op = op;
        n->mod = mod;
        n->in0 = in0;
        n->in1 = in1;
        n->out = id;
        n->alpha = alpha;
        n->beta = beta;
        n->module_index = module_index;
        ddgan_gshape *s = &net->vshape[id];
        s->c = c;
        s->h = h;
        s->w = w;
        s->needs_grad = has_params(op) || (in0 >= 0 && net->vshape[in0].needs_grad) ||
                        (in1 >= 0 && net->vshape[in1].needs_grad);
    }
    b->n_nodes++;
    return id;
}

static void fail(builder *b, ddgan_status_t st)
{
    if (b->st == DDGAN_OK)
        b->st = st;
}

/* conv module (k x k, stride 1, "same" padding) named all_modules.<i><suffix> */
static int m_conv(builder *b, int in, int c_in, int c_out, int k, double scale, int res,
                  const char *suffix, int owns_index)
{
    const int midx = b->midx++;
    const int mod = b->n_convs++;
    if (b->fill && b->st == DDGAN_OK) {
        char name[64];
        snprintf(name, sizeof name, "all_modules.%d%s", midx, suffix);
        fail(b, ddgan__conv_init(&b->net->convs[mod], &b->net->pt, name, c_in, c_out, k, 1, k / 2,
                                 1, DDGAN_INIT_FAN_AVG_UNIFORM, scale));
    }
    return node(b, DDGAN_GOP_CONV, mod, in, -1, 0, 0, owns_index ? midx : -1, c_out, res, res);
}

static int m_block(builder *b, int in, int c_in, int c_out, int up, int down, int res)
{
    const int midx = b->midx++;
    const int mod = b->n_blocks++;
    check_gn(b, c_in, midx, ".GroupNorm_0");
    check_gn(b, c_out, midx, ".GroupNorm_1");
    if (b->fill && b->st == DDGAN_OK) {
        ddgan_gen_net *net = b->net;
        ddgan_gblock *blk = &net->blocks[mod];
        ddgan_param_table *pt = &net->pt;
        const int nf = b->c->num_channels_dae, zd = b->c->z_emb_dim;
        memset(blk, 0, sizeof *blk);
        blk->c_in = c_in;
        blk->c_out = c_out;
        blk->up = up;
        blk->down = down;
        blk->has_skip_conv = c_in != c_out || up || down;
        blk->one_adagn = b->p->rb == RB_ONEADAGN;
        char n[64];
        ddgan_status_t st;
#define TRY_B(expr)                      \
    do {                                 \
        if ((st = (expr)) != DDGAN_OK) { \
            fail(b, st);                 \
            goto out;                    \
        }                                \
    } while (0)
        snprintf(n, sizeof n, "all_modules.%d.GroupNorm_0", midx);
        TRY_B(ddgan__adagn_init(&blk->gn0, pt, n, c_in, zd));
        snprintf(n, sizeof n, "all_modules.%d.Conv_0", midx);
        TRY_B(ddgan__conv_init(&blk->conv0, pt, n, c_in, c_out, 3, 1, 1, 1,
                               DDGAN_INIT_FAN_AVG_UNIFORM, 1.0));
        snprintf(n, sizeof n, "all_modules.%d.Dense_0", midx);
        TRY_B(ddgan__dense_init(&blk->dense0, pt, n, 4 * nf, c_out, 1, DDGAN_INIT_FAN_AVG_UNIFORM,
                                1.0));
        snprintf(n, sizeof n, "all_modules.%d.GroupNorm_1", midx);
        if (blk->one_adagn)
            TRY_B(ddgan__group_norm_init(&blk->gn1_plain, pt, n, c_out, groups_of(c_out), 1e-6, 1));
        else
            TRY_B(ddgan__adagn_init(&blk->gn1, pt, n, c_out, zd));
        /* init_scale 0: the initialiser turns it into 1e-10 (reference 4) */
        snprintf(n, sizeof n, "all_modules.%d.Conv_1", midx);
        TRY_B(ddgan__conv_init(&blk->conv1, pt, n, c_out, c_out, 3, 1, 1, 1,
                               DDGAN_INIT_FAN_AVG_UNIFORM, 0.0));
        if (blk->has_skip_conv) {
            snprintf(n, sizeof n, "all_modules.%d.Conv_2", midx);
            TRY_B(ddgan__conv_init(&blk->conv2, pt, n, c_in, c_out, 1, 1, 0, 1,
                                   DDGAN_INIT_FAN_AVG_UNIFORM, 1.0));
        }
#undef TRY_B
    }
out:;
    const int ro = up ? res * 2 : down ? res / 2 : res;
    return node(b, DDGAN_GOP_RESBLOCK, mod, in, -1, 0, 0, midx, c_out, ro, ro);
}

static int m_attn(builder *b, int in, int c, int res)
{
    const int midx = b->midx++;
    const int mod = b->n_attns++;
    check_gn(b, c, midx, ".GroupNorm_0");
    if (b->fill && b->st == DDGAN_OK) {
        char n[64];
        snprintf(n, sizeof n, "all_modules.%d", midx);
        fail(b, ddgan__attn_init(&b->net->attns[mod], &b->net->pt, n, c));
    }
    return node(b, DDGAN_GOP_ATTN, mod, in, -1, 0, 0, midx, c, res, res);
}

static int m_gn(builder *b, int in, int c, int res)
{
    const int midx = b->midx++;
    const int mod = b->n_gns++;
    check_gn(b, c, midx, "");
    if (b->fill && b->st == DDGAN_OK) {
        char n[64];
        snprintf(n, sizeof n, "all_modules.%d", midx);
        fail(b, ddgan__group_norm_init(&b->net->gns[mod], &b->net->pt, n, c, groups_of(c), 1e-6, 1));
    }
    return node(b, DDGAN_GOP_GROUPNORM, mod, in, -1, 0, 0, midx, c, res, res);
}

/* PyramidDown (residual input pyramid): Downsample(with_conv, fir).Conv2d_0 */
static int m_cdown(builder *b, int in, int c_in, int c_out, int res)
{
    const int midx = b->midx++;
    const int mod = b->n_cdowns++;
    if (b->fill && b->st == DDGAN_OK) {
        char n[64];
        snprintf(n, sizeof n, "all_modules.%d.Conv2d_0", midx);
        fail(b, ddgan__fir_conv_down_init(&b->net->cdowns[mod], &b->net->pt, n, c_in, c_out, 3,
                                          &b->net->fir, 1.0));
    }
    return node(b, DDGAN_GOP_CONV_DOWN, mod, in, -1, 0, 0, midx, c_out, res / 2, res / 2);
}

static int attn_at(const ddgan_gen_config *c, int res)
{
    for (int i = 0; i < c->n_attn; i++)
        if (c->attn_resolutions[i] == res)
            return 1;
    return 0;
}

typedef struct skip {
    int v, c;
} skip;

#define SKIP_CAP (1 + DDGAN_GEN_MAX_LEVELS * (DDGAN_GEN_MAX_MODULES + 1))

static void build(builder *b)
{
    const ddgan_gen_config *c = b->c;
    const parsed *p = b->p;
    ddgan_gen_net *net = b->net;
    const int nf = c->num_channels_dae, L = c->n_levels, S = c->image_size, ci = c->num_channels;
    const double r = c->skip_rescale ? SQRT1_2 : 1.0;
    b->midx = 0;

    /* time embedding modules */
    if (p->emb == EMB_FOURIER) {
        if (b->fill && b->st == DDGAN_OK) {
            const int64_t shape[1] = {nf};
            fail(b, ddgan__params_add(&net->pt, &net->fourier_w_off, 1, shape, DDGAN_INIT_NORMAL,
                                      c->fourier_scale, "all_modules.%d.W", b->midx));
            if (b->st == DDGAN_OK)
                net->pt.p[net->pt.n - 1].trainable = 0; /* requires_grad = False */
        }
        b->midx++;
    }
    if (c->conditional) {
        const int embed = p->emb == EMB_FOURIER ? 2 * nf : nf;
        if (b->fill && b->st == DDGAN_OK) {
            char n[64];
            net->time_index = b->midx;
            snprintf(n, sizeof n, "all_modules.%d", b->midx);
            fail(b, ddgan__dense_init(&net->t_dense0, &net->pt, n, embed, 4 * nf, 1,
                                      DDGAN_INIT_FAN_AVG_UNIFORM, 1.0));
            snprintf(n, sizeof n, "all_modules.%d", b->midx + 1);
            if (b->st == DDGAN_OK)
                fail(b, ddgan__dense_init(&net->t_dense1, &net->pt, n, 4 * nf, 4 * nf, 1,
                                          DDGAN_INIT_FAN_AVG_UNIFORM, 1.0));
        }
        b->midx += 2;
    } else if (b->fill) {
        net->time_index = -1;
    }

    /* at most 1 + L (nrb + 1) pushes (validate() bounds nrb) */
    skip stack[SKIP_CAP];
    int sp = 0;
#define PUSH(val, ch)              \
    do {                           \
        if (sp < SKIP_CAP) {       \
            stack[sp].v = (val);   \
            stack[sp].c = (ch);    \
        }                          \
        sp++;                      \
    } while (0)
#define TOP() (sp > 0 && sp <= SKIP_CAP ? stack[sp - 1].v : 0)

    int h = m_conv(b, 0, ci, nf, 3, 1.0, S, "", 1);
    PUSH(h, nf);
    int pyr = p->pin != PIN_NONE ? 0 : -1, pyr_ch = ci;
    int ch = nf;
    for (int l = 0; l < L; l++) {
        const int res = S >> l;
        const int cl = nf * c->ch_mult[l];
        for (int i = 0; i < c->num_res_blocks; i++) {
            h = m_block(b, TOP(), ch, cl, 0, 0, res);
            ch = cl;
            if (attn_at(c, res))
                h = m_attn(b, h, ch, res);
            PUSH(h, ch);
        }
        if (l < L - 1) {
            const int top = TOP();
            h = m_block(b, top, ch, ch, 0, 1, res);
            const int rd = res / 2;
            if (p->pin == PIN_INPUT_SKIP) {
                pyr = node(b, DDGAN_GOP_FIR_DOWN, -1, pyr, -1, 0, 0, -1, ci, rd, rd);
                /* Combine: Conv_0 (1x1, C_img -> ch), then sum or cat([conv, h]) */
                const int cmb = b->midx;
                const int t = m_conv(b, pyr, pyr_ch, ch, 1, 1.0, rd, ".Conv_0", 0);
                if (p->comb == COMB_CAT) {
                    h = node(b, DDGAN_GOP_CONCAT, -1, t, h, 0, 0, cmb, 2 * ch, rd, rd);
                    ch *= 2;
                } else {
                    h = node(b, DDGAN_GOP_SUM, -1, t, h, 1.0, 1.0, cmb, ch, rd, rd);
                }
            } else if (p->pin == PIN_RESIDUAL) {
                const int pd = m_cdown(b, pyr, pyr_ch, ch, res);
                pyr = node(b, DDGAN_GOP_SUM, -1, pd, h, r, r, -1, ch, rd, rd);
                h = pyr;
                pyr_ch = ch;
            }
            PUSH(h, ch);
        }
    }
    h = TOP();
    const int rmin = S >> (L - 1);
    h = m_block(b, h, ch, ch, 0, 0, rmin);
    h = m_attn(b, h, ch, rmin);
    h = m_block(b, h, ch, ch, 0, 0, rmin);

    int pyramid = -1;
    for (int l = L - 1; l >= 0; l--) {
        const int res = S >> l;
        const int cl = nf * c->ch_mult[l];
        for (int i = 0; i < c->num_res_blocks + 1; i++) {
            sp--;
            const skip s = sp >= 0 && sp < SKIP_CAP ? stack[sp] : (skip){0, 0};
            const int x = node(b, DDGAN_GOP_CONCAT, -1, h, s.v, 0, 0, -1, ch + s.c, res, res);
            h = m_block(b, x, ch + s.c, cl, 0, 0, res);
            ch = cl;
        }
        if (attn_at(c, res))
            h = m_attn(b, h, ch, res);
        if (p->prog == PROG_OUTPUT_SKIP) {
            int up = -1;
            if (l < L - 1)
                up = node(b, DDGAN_GOP_FIR_UP, -1, pyramid, -1, 0, 0, -1, ci, res, res);
            const int g = m_gn(b, h, ch, res);
            const int a = node(b, DDGAN_GOP_SILU, -1, g, -1, 0, 0, -1, ch, res, res);
            const int t = m_conv(b, a, ch, ci, 3, 0.0, res, "", 1);
            pyramid = l < L - 1 ? node(b, DDGAN_GOP_SUM, -1, up, t, 1.0, 1.0, -1, ci, res, res) : t;
        }
        if (l > 0)
            h = m_block(b, h, ch, ch, 1, 0, res);
    }
    if (sp != 0 && b->st == DDGAN_OK)
        b->st = DDGAN_ERR(DDGAN_ERR_INTERNAL, "generator: skip stack left with %d entries", sp);
    if (p->prog != PROG_OUTPUT_SKIP) {
        const int g = m_gn(b, h, ch, S);
        const int a = node(b, DDGAN_GOP_SILU, -1, g, -1, 0, 0, -1, ch, S, S);
        (void)m_conv(b, a, ch, ci, 3, 0.0, S, "", 1);
    }
#undef PUSH
#undef TOP
    if (b->st == DDGAN_OK && p->prog == PROG_OUTPUT_SKIP && pyramid != b->n_nodes)
        b->st = DDGAN_ERR(DDGAN_ERR_INTERNAL, "generator: the output pyramid is not the last value");
}

static ddgan_gen_acts *acts_alloc(int n_values)
{
    ddgan_gen_acts *a = ddgan__calloc(1, sizeof *a, "generator activations");
    if (!a)
        return NULL;
    a->val = ddgan__calloc((size_t)n_values, sizeof *a->val, "generator activations");
    a->grad = ddgan__calloc((size_t)n_values, sizeof *a->grad, "generator activations");
    a->node = ddgan__calloc((size_t)n_values, sizeof *a->node, "generator activations");
    a->goff = ddgan__calloc((size_t)n_values, sizeof *a->goff, "generator activations");
    a->glive = ddgan__calloc((size_t)n_values, sizeof *a->glive, "generator activations");
    if (!a->val || !a->grad || !a->node || !a->goff || !a->glive) {
        ddgan__free(a->val);
        ddgan__free(a->grad);
        ddgan__free(a->node);
        ddgan__free(a->goff);
        ddgan__free(a->glive);
        ddgan__free(a);
        return NULL;
    }
    return a;
}

static void acts_free(ddgan_gen_acts *a)
{
    if (!a)
        return;
    ddgan__free(a->val);
    ddgan__free(a->grad);
    ddgan__free(a->node);
    ddgan__free(a->goff);
    ddgan__free(a->glive);
    ddgan__free(a);
}

static void *calloc_n(int n, size_t size)
{
    return ddgan__calloc(n > 0 ? (size_t)n : 1, size, "generator");
}

ddgan_status_t ddgan__gen_init(ddgan_gen_net *net, const ddgan_gen_config *cfg, int max_batch,
                               ddgan_dtype dt)
{
    memset(net, 0, sizeof *net);
    ddgan__params_init(&net->pt);
    if (!cfg)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: config is NULL");
    if (dt != DDGAN_DT_F32 && dt != DDGAN_DT_F64)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: unknown dtype %d", (int)dt);
    parsed p;
    DDGAN_TRY(validate(cfg, max_batch, &p));
    net->cfg = *cfg;
    net->max_batch = max_batch;
    net->dt = dt;
    net->fourier = p.emb == EMB_FOURIER;
    net->one_adagn = p.rb == RB_ONEADAGN;
    net->time_index = -1;

    /* pass 1: count and validate */
    builder b;
    memset(&b, 0, sizeof b);
    b.net = net;
    b.c = cfg;
    b.p = &p;
    b.st = DDGAN_OK;
    build(&b);
    if (b.st != DDGAN_OK)
        return b.st;
    if (b.midx > DDGAN_GEN_MAX_MODULES)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator: %d modules exceed the limit of %d (num_res_blocks %d, "
                         "len(ch_mult) %d)",
                         b.midx, DDGAN_GEN_MAX_MODULES, cfg->num_res_blocks, cfg->n_levels);

    ddgan_status_t st = DDGAN_OK;
    net->n_nodes = b.n_nodes;
    net->nodes = calloc_n(b.n_nodes, sizeof *net->nodes);
    net->vshape = calloc_n(b.n_nodes + 1, sizeof *net->vshape);
    net->blocks = calloc_n(b.n_blocks, sizeof *net->blocks);
    net->attns = calloc_n(b.n_attns, sizeof *net->attns);
    net->convs = calloc_n(b.n_convs, sizeof *net->convs);
    net->cdowns = calloc_n(b.n_cdowns, sizeof *net->cdowns);
    net->gns = calloc_n(b.n_gns, sizeof *net->gns);
    net->rec = acts_alloc(b.n_nodes + 1);
    net->scratch = acts_alloc(b.n_nodes + 1);
    if (!net->nodes || !net->vshape || !net->blocks || !net->attns || !net->convs ||
        !net->cdowns || !net->gns || !net->rec || !net->scratch) {
        st = DDGAN_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    if ((st = ddgan__fir_init(&net->fir, cfg->fir_kernel, cfg->n_fir)) != DDGAN_OK)
        goto fail;
    net->vshape[0].c = cfg->num_channels;
    net->vshape[0].h = net->vshape[0].w = cfg->image_size;
    net->vshape[0].needs_grad = 0;

    /* pass 2: register the parameters (all_modules.*) and emit the nodes */
    memset(&b, 0, sizeof b);
    b.net = net;
    b.c = cfg;
    b.p = &p;
    b.fill = 1;
    b.st = DDGAN_OK;
    build(&b);
    if ((st = b.st) != DDGAN_OK)
        goto fail;
    net->n_all_modules = b.midx;
    /* the up path's skip concatenations, each read only by the residual
     * block after it, are recomputed by that block instead of being kept */
    for (int i = 0; i + 1 < net->n_nodes; i++) {
        ddgan_gnode *n = &net->nodes[i];
        const ddgan_gnode *next = &net->nodes[i + 1];
        if (n->op != DDGAN_GOP_CONCAT || n->module_index >= 0 || next->op != DDGAN_GOP_RESBLOCK ||
            next->in0 != n->out || next->in1 == n->out)
            continue;
        int uses = 0;
        for (int j = 0; j < net->n_nodes; j++)
            uses += (net->nodes[j].in0 == n->out) + (net->nodes[j].in1 == n->out);
        n->fused = uses == 1;
    }
    net->n_blocks = b.n_blocks;
    net->n_attns = b.n_attns;
    net->n_convs = b.n_convs;
    net->n_cdowns = b.n_cdowns;
    net->n_gns = b.n_gns;

    /* z_transform: PixelNorm, then n_mlp + 1 dense layers (dense_layer init: fan_out) */
    net->n_z_dense = cfg->n_mlp + 1;
    for (int j = 0; j < net->n_z_dense; j++) {
        char n[32];
        snprintf(n, sizeof n, "z_transform.%d", 1 + 2 * j);
        if ((st = ddgan__dense_init(&net->z_dense[j], &net->pt, n, j ? cfg->z_emb_dim : cfg->nz,
                                    cfg->z_emb_dim, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0)) != DDGAN_OK)
            goto fail;
    }

    if (net->fourier) {
        const size_t n = (size_t)max_batch * 2 * (size_t)cfg->num_channels_dae +
                         (size_t)cfg->num_channels_dae;
        net->fourier_host = ddgan__calloc(n, ddgan_dtype_size(dt), "Fourier embedding");
        if (!net->fourier_host) {
            st = DDGAN_ERR_OUT_OF_MEMORY;
            goto fail;
        }
    } else if ((st = ddgan__temb_init(&net->temb, cfg->num_channels_dae, max_batch, dt)) !=
               DDGAN_OK) {
        goto fail;
    }
    return DDGAN_OK;
fail:
    ddgan__gen_free(net);
    return st;
}

void ddgan__gen_free(ddgan_gen_net *net)
{
    ddgan__params_free(&net->pt);
    ddgan__temb_free(&net->temb);
    ddgan__free(net->fourier_host);
    ddgan__free(net->nodes);
    ddgan__free(net->vshape);
    ddgan__free(net->blocks);
    ddgan__free(net->attns);
    ddgan__free(net->convs);
    ddgan__free(net->cdowns);
    ddgan__free(net->gns);
    acts_free(net->rec);
    acts_free(net->scratch);
    memset(net, 0, sizeof *net);
}

ddgan_status_t ddgan__gen_set_max_batch(ddgan_gen_net *net, int max_batch)
{
    if (!net || !net->nodes)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: set_max_batch on an unbuilt network");
    if (max_batch < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: max_batch %d must be >= 1",
                         max_batch);
    if (max_batch == net->max_batch)
        return DDGAN_OK;
    const int nf = net->cfg.num_channels_dae;
    if (net->fourier) {
        const size_t n = (size_t)max_batch * 2 * (size_t)nf + (size_t)nf;
        void *h = ddgan__calloc(n, ddgan_dtype_size(net->dt), "Fourier embedding");
        if (!h)
            return DDGAN_ERR_OUT_OF_MEMORY;
        ddgan__free(net->fourier_host);
        net->fourier_host = h;
    } else {
        ddgan_temb t;
        DDGAN_TRY(ddgan__temb_init(&t, nf, max_batch, net->dt));
        ddgan__temb_free(&net->temb);
        net->temb = t;
    }
    net->max_batch = max_batch;
    return DDGAN_OK;
}

ddgan_status_t ddgan__gen_acts_create(ddgan_exec *ex, const ddgan_gen_net *net, ddgan_gen_acts **out)
{
    (void)ex;
    if (!net || !out || !net->rec)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: acts_create on an unbuilt network");
    net->rec->recorded = 0;
    *out = net->rec;
    return DDGAN_OK;
}

ddgan_status_t ddgan__gen_acts_get(const ddgan_gen_net *net, const ddgan_gen_acts *a,
                                   const char *name, ddgan_tensor *out)
{
    if (!net || !a || !name || !out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: acts_get: NULL argument");
    if (!a->recorded)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: acts_get: nothing recorded");
    if (!strcmp(name, "input")) {
        *out = a->val[0];
        return DDGAN_OK;
    }
    if (!strcmp(name, "temb_sinusoidal")) {
        *out = a->temb_sin;
        return DDGAN_OK;
    }
    if (!strcmp(name, "z_transform")) {
        *out = a->zact[net->n_z_dense - 1];
        return DDGAN_OK;
    }
    if (!strcmp(name, "output")) {
        *out = a->out;
        return DDGAN_OK;
    }
    const char *pre = "all_modules.";
    if (!strncmp(name, pre, strlen(pre))) {
        char *end = NULL;
        long i = strtol(name + strlen(pre), &end, 10);
        if (end && !*end && end != name + strlen(pre) && i >= 0 && i < net->n_all_modules) {
            if (net->fourier && i == 0) {
                *out = a->temb_sin;
                return DDGAN_OK;
            }
            if (net->time_index >= 0 && i == net->time_index) {
                *out = a->t0;
                return DDGAN_OK;
            }
            if (net->time_index >= 0 && i == net->time_index + 1) {
                *out = a->temb;
                return DDGAN_OK;
            }
            for (int k = 0; k < net->n_nodes; k++)
                if (net->nodes[k].module_index == (int)i) {
                    *out = a->val[net->nodes[k].out];
                    return DDGAN_OK;
                }
        }
    }
    return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator: no activation named \"%s\"", name);
}

/* ------------------------------------------------------------------------ */
/* FLOPs (per image): 2 x MACs of convolutions, Linear layers, NIN and the
 * attention products, as counted in reference 7. */

double ddgan__gen_flops(const ddgan_gen_net *net)
{
    const ddgan_gen_config *c = &net->cfg;
    const double nf = c->num_channels_dae, zd = c->z_emb_dim;
    double f = 0.0;
    /* mapping network */
    f += 2.0 * c->nz * zd + 2.0 * c->n_mlp * zd * zd;
    /* time Linears */
    if (c->conditional) {
        const double embed = net->fourier ? 2 * nf : nf;
        f += 2.0 * embed * 4 * nf + 2.0 * 16 * nf * nf;
    }
    for (int i = 0; i < net->n_nodes; i++) {
        const ddgan_gnode *n = &net->nodes[i];
        const ddgan_gshape *o = &net->vshape[n->out];
        const ddgan_gshape *x = &net->vshape[n->in0];
        const double hw = (double)o->h * o->w;
        switch (n->op) {
        case DDGAN_GOP_CONV: {
            const ddgan_conv *L = &net->convs[n->mod];
            f += 2.0 * L->c_out * L->c_in * L->k * L->k * hw;
            break;
        }
        case DDGAN_GOP_CONV_DOWN: {
            const ddgan_conv *L = &net->cdowns[n->mod].conv;
            f += 2.0 * L->c_out * L->c_in * L->k * L->k * hw;
            break;
        }
        case DDGAN_GOP_RESBLOCK: {
            const ddgan_gblock *b = &net->blocks[n->mod];
            f += 2.0 * zd * 2 * b->c_in; /* GroupNorm_0.style */
            if (!b->one_adagn)
                f += 2.0 * zd * 2 * b->c_out; /* GroupNorm_1.style */
            if (c->conditional)
                f += 2.0 * 4 * nf * b->c_out; /* Dense_0 */
            f += 2.0 * b->c_out * b->c_in * 9 * hw + 2.0 * b->c_out * b->c_out * 9 * hw;
            if (b->has_skip_conv)
                f += 2.0 * b->c_out * b->c_in * hw;
            break;
        }
        case DDGAN_GOP_ATTN: {
            const double C = x->c, P = (double)x->h * x->w;
            f += 4 * 2.0 * C * C * P + 2 * 2.0 * P * P * C;
            break;
        }
        default:
            break;
        }
    }
    return f;
}
