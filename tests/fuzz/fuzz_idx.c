/* Fuzz target: IDX files (lib/data/idx.c), raw and gzip (the reader picks
 * by the gzip magic, so the same bytes are tried under both suffixes), as
 * an images file, as a labels file, and through ddgan_dataset_open. */
#include "core/alloc.h"
#include "data/data_internal.h"
#include "fuzz_dataset_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write_input(data, size, size > 0 && (data[size - 1] & 1) ? ".gz" : "");
    for (int nd = 1; nd <= 3; nd++) {
        uint32_t dims[3] = {0, 0, 0};
        uint8_t *payload = NULL;
        size_t len = 0;
        ddgan_status_t st = ddgan__data_idx_read(path, nd, dims, &payload, &len);
        fz_check_failure(st, "idx_read");
        if (st == DDGAN_OK) {
            uint64_t expect = dims[0];
            for (int d = 1; d < nd; d++)
                expect *= dims[d];
            FZ_ASSERT(expect == len, "payload length matches the dims");
            /* touch the last byte: ASan catches a short buffer */
            volatile uint8_t last = len ? payload[len - 1] : 0;
            (void)last;
        }
        ddgan__free(payload);
    }
    ddgan_dataset_config cfg;
    ddgan_dataset_config_init(&cfg, sizeof cfg);
    cfg.kind = DDGAN_DATASET_IDX;
    cfg.path = path;
    fz_dataset_exercise(&cfg, "dataset_open(IDX)");
    /* the same bytes as a labels file next to itself as images: lengths must be checked */
    cfg.labels_path = path;
    fz_dataset_exercise(&cfg, "dataset_open(IDX, labels)");
    return 0;
}
