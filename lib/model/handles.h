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

/* A generator's example: [c, h, w] and its latent size nz (toy: [data_dim, 1, 1]). */
void ddgan__handle_gen_example_shape(ddgan_generator_t g, int *c, int *h, int *w, int *nz);
/* Raises the generator's batch bound to at least `batch`, never lowering it (a
 * trainer may rely on a larger bound, and sampling chunks of alternating sizes
 * then reallocate nothing). The network calls of generator_api.c keep their
 * own check, on the toy embedding's bound alone, and share the toy part:
 * ddgan__handle_gen_toy_batch makes a toy generator's bound `batch` (its time
 * embedding's host scratch is reallocated for it). */
ddgan_status_t ddgan__handle_gen_raise_batch(ddgan_generator_t g, int batch);
ddgan_status_t ddgan__handle_gen_toy_batch(ddgan_generator_t g, int batch);

/* Planning a handle's arena for `key` (nn/netmem.h), each network call:
 *   if (ddgan__handle_plan_begin(&h->mem, &h->plan, &key))
 *       DDGAN_TRY(ddgan__handle_plan_end(&h->mem, &h->plan, &key, body(...)));
 *   return body(...);
 * _begin starts the dry run and returns 1 when the arena was last planned for
 * another key (0: nothing to plan). _end takes the dry run's status: on
 * success it sizes the arena and records key; on failure it leaves planning
 * mode and forgets the old key, so that the next call plans again. */
int ddgan__handle_plan_begin(ddgan_netmem *m, const ddgan_plan_key *plan, const ddgan_plan_key *key);
ddgan_status_t ddgan__handle_plan_end(ddgan_netmem *m, ddgan_plan_key *plan, const ddgan_plan_key *key,
                                      ddgan_status_t planned);

/* Random streams of the context used by the networks (docs/rng.md). */
enum { DDGAN_STREAM_INIT_G = 16, DDGAN_STREAM_INIT_D = 17 };

#endif
