/* Network configs <-> the JSON of the interchange format (official argument
 * names; api-contract "Network configs"). Unknown keys are ignored; known
 * keys with a wrong type or an unsupported value are refused with a message
 * naming the key and the value. */
#ifndef DDGAN_MODEL_CONFIG_JSON_H
#define DDGAN_MODEL_CONFIG_JSON_H

#include "ddgan/ddgan.h"
#include "model/discriminator.h"
#include "model/generator.h"
#include "model/toy.h"

typedef enum ddgan_net_cls {
    DDGAN_CLS_NCSNPP = 0,
    DDGAN_CLS_DISC_SMALL,
    DDGAN_CLS_DISC_LARGE,
    DDGAN_CLS_TOY
} ddgan_net_cls;

/* "cls" of a config document (default by role: NCSNpp for generators,
 * Discriminator_small for discriminators). */
ddgan_status_t ddgan__config_cls(const char *json, int is_generator, ddgan_net_cls *cls,
                                 const char *fn);

ddgan_status_t ddgan__gen_config_parse(const char *json, ddgan_gen_config *c, const char *fn);
/* *out: malloc'd (ddgan__free) compact JSON with every official key */
ddgan_status_t ddgan__gen_config_write(const ddgan_gen_config *c, char **out);

ddgan_status_t ddgan__disc_config_parse(const char *json, ddgan_disc_config *c, const char *fn);
ddgan_status_t ddgan__disc_config_write(const ddgan_disc_config *c, char **out);

/* ToyMLP (docs/toy.md); the generator's file also carries the schedule keys
 * (sched: the schedule fields of a gen config, or NULL for discriminators). */
ddgan_status_t ddgan__toy_config_parse(const char *json, int is_disc, ddgan_toy_config *c, const char *fn);
ddgan_status_t ddgan__toy_config_write(const ddgan_toy_config *c, int is_disc, const ddgan_gen_config *sched,
                                       char **out);

#endif
