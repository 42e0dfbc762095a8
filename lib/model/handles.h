/* The public network handles (private layout) and what their API files share. */
#ifndef DDGAN_MODEL_HANDLES_H
#define DDGAN_MODEL_HANDLES_H

#include "core/context.h"
#include "io/safetensors.h"
#include "model/config_json.h"
#include "model/discriminator.h"
#include "model/generator.h"
#include "model/toy.h"
#include "nn/netmem.h"

#define DDGAN_MAGIC_GENERATOR 0x47474444u     /* "DDGG" */
#define DDGAN_MAGIC_DISCRIMINATOR 0x44474444u /* "DDGD" */

/* What a planned arena was planned for; a different key re-plans. */
typedef struct ddgan_plan_key {
    int mode, batch, h, w;
} ddgan_plan_key;

struct ddgan_discriminator {
    uint32_t magic;
    ddgan_context_t ctx;
    ddgan_net_cls cls;
    ddgan_disc_config cfg;  /* image discriminators */
    ddgan_disc_net net;
    ddgan_toy_config tcfg;  /* ToyMLP */
    ddgan_toy_net toy;
    const ddgan_param_table *pt; /* of the network in use */
    ddgan_netmem mem;
    ddgan_plan_key plan;
    char *config_json;
    size_t num_params;
};

struct ddgan_generator {
    uint32_t magic;
    ddgan_context_t ctx;
    ddgan_net_cls cls;
    ddgan_gen_config cfg;   /* NCSNpp (for ToyMLP: only the schedule fields are used) */
    ddgan_gen_net net;
    ddgan_toy_config tcfg;  /* ToyMLP */
    ddgan_toy_net toy;
    const ddgan_param_table *pt;
    ddgan_netmem mem;
    ddgan_plan_key plan;
    char *config_json;
    size_t num_params;
};

/* ---- shared helpers (lib/model/handle_common.c) ---- */

/* Host float32 parameters <-> the device parameter buffer (float32 nets). */
ddgan_status_t ddgan__handle_upload_params(ddgan_netmem *m, const ddgan_param_table *pt,
                                           const float *host);
ddgan_status_t ddgan__handle_download(ddgan_netmem *m, const ddgan_param_table *pt, const void *dev,
                                      float *host);

/* get/set one tensor by official name (which = 0 params, 1 grads) */
ddgan_status_t ddgan__handle_tensor_io(ddgan_netmem *m, const ddgan_param_table *pt, int which,
                                       const char *name, float *out, const float *in, size_t n,
                                       const char *fn);

/* Official init drawn from the context seed (Philox stream of the role). */
ddgan_status_t ddgan__handle_init_params(ddgan_netmem *m, const ddgan_param_table *pt, uint64_t seed,
                                         uint64_t stream, const char *fn);

ddgan_status_t ddgan__handle_summary(const ddgan_param_table *pt, double gflops,
                                     ddgan_model_summary *out, const char *fn);
ddgan_status_t ddgan__handle_tensor_info(const ddgan_param_table *pt, size_t index,
                                         ddgan_tensor_info *out, const char *fn);

/* Saves params (+ metadata config) in the interchange format. */
ddgan_status_t ddgan__handle_save(ddgan_netmem *m, const ddgan_param_table *pt, const char *config_json,
                                  const char *path, const char *fn);

/* Reads the parameters of `pt` (tensor names prefixed by `prefix`, may be
 * NULL) from f into the device parameter buffer, through a host copy. */
ddgan_status_t ddgan__handle_load_params(ddgan_netmem *m, const ddgan_param_table *pt,
                                         const ddgan_st_file *f, const char *prefix, const char *fn);

/* Opens `path`, returns the file and its config string (metadata key). */
ddgan_status_t ddgan__handle_open(const char *path, const char *config_key, ddgan_st_file **f,
                                  const char **config, const char *fn);

/* Random streams of the context used by the networks (docs/rng.md). */
enum { DDGAN_STREAM_INIT_G = 16, DDGAN_STREAM_INIT_D = 17 };

#endif
