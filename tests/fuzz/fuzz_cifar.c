/* Fuzz target: CIFAR-10 binary batches (lib/data/cifar.c) through
 * ddgan_dataset_open, natively and converted/resized/padded. */
#include "fuzz_dataset_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write_input(data, size, ".bin");
    ddgan_dataset_config cfg;
    ddgan_dataset_config_init(&cfg, sizeof cfg);
    cfg.kind = DDGAN_DATASET_CIFAR10;
    cfg.paths = &path;
    cfg.num_paths = 1;
    fz_dataset_exercise(&cfg, "dataset_open(CIFAR10)");
    cfg.channels = 1;
    cfg.image_size = 8;
    cfg.pad = 1;
    cfg.hflip = 1;
    fz_dataset_exercise(&cfg, "dataset_open(CIFAR10, gray 8x8)");
    return 0;
}
