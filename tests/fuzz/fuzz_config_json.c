/* Fuzz target: the JSON parser (lib/io/json.c) and the network config
 * decoders (lib/model/config_json.c) that _create_json and every loader run
 * on a file's __metadata__["config"]: class detection, generator, toy and
 * discriminator decoding, and the write -> parse round trip of anything
 * accepted. Networks are not built here (fuzz_checkpoint builds them). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "fuzz_common.h"
#include "io/json.h"
#include "model/config_json.h"

static void walk(const ddgan_json_value *v, int depth)
{
    FZ_ASSERT(depth < 100000, "depth");
    switch (ddgan__json_type(v)) {
    case DDGAN_JSON_ARRAY:
        for (size_t i = 0; i < ddgan__json_length(v); i++)
            walk(ddgan__json_array_item(v, i), depth + 1);
        break;
    case DDGAN_JSON_OBJECT:
        for (size_t i = 0; i < ddgan__json_length(v); i++) {
            size_t len = 0;
            FZ_ASSERT(ddgan__json_object_key(v, i, &len) != NULL, "object key");
            walk(ddgan__json_object_value(v, i), depth + 1);
        }
        break;
    case DDGAN_JSON_STRING: {
        size_t len = 0;
        const char *s = ddgan__json_string(v, &len);
        FZ_ASSERT(s && ddgan__json_utf8_valid(s, len, NULL), "strings are valid UTF-8");
        break;
    }
    default: {
        double d;
        int64_t i;
        (void)ddgan__json_get_number(v, &d);
        (void)ddgan__json_get_int64(v, &i);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the public entry points take NUL-terminated strings */
    char *text = malloc(size + 1);
    FZ_ASSERT(text != NULL, "harness allocation");
    memcpy(text, data, size);
    text[size] = '\0';

    ddgan_json_doc *doc = NULL;
    ddgan_status_t st = ddgan__json_parse(&doc, text, size, "fuzz");
    fz_check_failure(st, "json_parse");
    if (st == DDGAN_OK) {
        walk(ddgan__json_root(doc), 0);
        ddgan__json_free(doc);
    }

    /* dispatch on "cls" exactly as the _create_json / _load paths do */
    ddgan_net_cls gcls = DDGAN_CLS_NCSNPP, dcls = DDGAN_CLS_DISC_SMALL;
    ddgan_status_t gst = ddgan__config_cls(text, 1, &gcls, "fuzz");
    fz_check_failure(gst, "config_cls(G)");
    ddgan_status_t dst = ddgan__config_cls(text, 0, &dcls, "fuzz");
    fz_check_failure(dst, "config_cls(D)");

    ddgan_gen_config g;
    st = gst == DDGAN_OK ? ddgan__gen_config_parse(text, &g, "fuzz") : gst;
    fz_check_failure(st, "gen_config_parse");
    if (st == DDGAN_OK && gcls == DDGAN_CLS_NCSNPP) {
        char *out = NULL;
        st = ddgan__gen_config_write(&g, &out);
        fz_check_failure(st, "gen_config_write");
        if (st == DDGAN_OK) {
            ddgan_gen_config g2;
            FZ_ASSERT(ddgan__gen_config_parse(out, &g2, "round trip") == DDGAN_OK,
                      "written generator config does not parse");
            ddgan__free(out);
        }
    } else if (st == DDGAN_OK && gcls == DDGAN_CLS_TOY) {
        ddgan_toy_config t;
        char *out = NULL;
        st = ddgan__toy_config_parse(text, 0, &t, "fuzz");
        fz_check_failure(st, "toy_config_parse(G)");
        if (st == DDGAN_OK) {
            st = ddgan__toy_config_write(&t, 0, &g, &out);
            fz_check_failure(st, "toy_config_write(G)");
            if (st == DDGAN_OK) {
                ddgan_toy_config t2;
                FZ_ASSERT(ddgan__toy_config_parse(out, 0, &t2, "round trip") == DDGAN_OK,
                          "written toy config does not parse");
                ddgan__free(out);
            }
        }
    }
    if (dst == DDGAN_OK && dcls == DDGAN_CLS_TOY) {
        ddgan_toy_config t;
        st = ddgan__toy_config_parse(text, 1, &t, "fuzz");
        fz_check_failure(st, "toy_config_parse(D)");
        if (st == DDGAN_OK) {
            char *out = NULL;
            st = ddgan__toy_config_write(&t, 1, NULL, &out);
            fz_check_failure(st, "toy_config_write(D)");
            if (st == DDGAN_OK)
                ddgan__free(out);
        }
    } else if (dst == DDGAN_OK) {
        ddgan_disc_config d;
        st = ddgan__disc_config_parse(text, &d, "fuzz");
        fz_check_failure(st, "disc_config_parse");
        if (st == DDGAN_OK) {
            char *out = NULL;
            st = ddgan__disc_config_write(&d, &out);
            fz_check_failure(st, "disc_config_write");
            if (st == DDGAN_OK) {
                ddgan_disc_config d2;
                FZ_ASSERT(ddgan__disc_config_parse(out, &d2, "round trip") == DDGAN_OK,
                          "written discriminator config does not parse");
                ddgan__free(out);
            }
        }
    }
    free(text);
    return 0;
}
