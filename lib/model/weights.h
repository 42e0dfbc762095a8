/* Parameters <-> safetensors tensors named by the official state_dict keys. */
#ifndef DDGAN_MODEL_WEIGHTS_H
#define DDGAN_MODEL_WEIGHTS_H

#include "io/safetensors.h"
#include "nn/params.h"

/* Reads every parameter of `pt` from tensors named prefix + key (a leading
 * "module." after the prefix is accepted) into host float32 `out`
 * (pt->total elements). Among the file's tensors that start with the
 * prefix, a missing, unexpected or misshaped tensor is DDGAN_ERR_FORMAT
 * naming it. */
ddgan_status_t ddgan__weights_read(const ddgan_param_table *pt, const ddgan_st_file *f,
                                   const char *prefix, float *out, const char *fn);

/* Adds every parameter (host float32 `params`, borrowed until the write) to
 * a writer under prefix + key. */
ddgan_status_t ddgan__weights_add(const ddgan_param_table *pt, ddgan_st_writer *w, const char *prefix,
                                  const float *params);

#endif
