/*
 * The parameter table of one network: every parameter tensor, by its
 * official state_dict name, with its shape and its offset (in elements) into
 * the network's flat buffers. Parameters, gradients, Adam moments and EMA
 * weights are each one flat buffer laid out by this table, so an optimiser
 * step is one call over all parameters.
 */
#ifndef DDGAN_NN_PARAMS_H
#define DDGAN_NN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

#define DDGAN_PARAM_NAME_MAX 96
#define DDGAN_PARAM_MAX_DIMS 4

/* How the official initialisation treats a tensor (reference section 4). */
typedef enum ddgan_init_kind {
    DDGAN_INIT_ZERO = 0,         /* biases */
    DDGAN_INIT_ONES,             /* GroupNorm weight */
    DDGAN_INIT_FAN_AVG_UNIFORM,  /* layers.default_init(scale): U(+-sqrt(3 scale / fan_avg)) */
    DDGAN_INIT_FAN_OUT_UNIFORM,  /* dense_layer helpers: U(+-sqrt(3 gain / max(1, fan_out))) */
    DDGAN_INIT_STYLE_BIAS,       /* AdaGN style bias: first half 1, second half 0 */
    DDGAN_INIT_NORMAL,           /* N(0, scale^2), e.g. the Fourier embedding */
    DDGAN_INIT_FAN_IN_UNIFORM    /* PyTorch's default Linear init: U(+-scale / sqrt(fan_in)); for a
                                  * bias set fan_in to its weight's fan-in (the toy networks) */
} ddgan_init_kind;

typedef struct ddgan_param {
    char name[DDGAN_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[DDGAN_PARAM_MAX_DIMS];
    size_t count;  /* product of shape */
    size_t offset; /* elements from the start of the flat buffers */
    ddgan_init_kind init;
    double init_scale; /* scale / gain of the init (0 is replaced by 1e-10 as the official code does) */
    int trainable;     /* 0 for frozen tensors (the Fourier embedding's W) */
    int64_t fan_in;    /* DDGAN_INIT_FAN_IN_UNIFORM: fan-in to use (0 = from the shape) */
} ddgan_param;

typedef struct ddgan_param_table {
    ddgan_param *p;
    size_t n, cap;
    size_t total; /* elements over all parameters */
} ddgan_param_table;

void ddgan__params_init(ddgan_param_table *t);
void ddgan__params_free(ddgan_param_table *t);

/* Registers `name` (printf-style, formatted with the arguments) with the given
 * shape; *offset receives its element offset. Duplicate names are an internal
 * error. */
ddgan_status_t ddgan__params_add(ddgan_param_table *t, size_t *offset, int ndim,
                                 const int64_t *shape, ddgan_init_kind init, double init_scale,
                                 const char *name_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* Lookup by exact name; NULL when absent. */
const ddgan_param *ddgan__params_find(const ddgan_param_table *t, const char *name);

#endif
