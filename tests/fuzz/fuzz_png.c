/* Fuzz target: the PNG decoder (lib/data/image.c through libpng) via an
 * image-folder dataset of one file, eager and lazy, native and resized with
 * both filters and channel conversions. */
#include "core/alloc.h"
#include "data/data_internal.h"
#include "fuzz_dataset_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write_input(data, size, ".png");
    uint8_t *px = NULL;
    int h = 0, w = 0, c = 0;
    ddgan_status_t st = ddgan__data_decode_image(path, &px, &h, &w, &c);
    fz_check_failure(st, "decode_image");
    if (st == DDGAN_OK) {
        FZ_ASSERT(h >= 1 && w >= 1 && (c == 1 || c == 3), "decoded shape");
        volatile uint8_t last = px[(size_t)h * (size_t)w * (size_t)c - 1];
        (void)last;
    }
    ddgan__free(px);

    ddgan_dataset_config cfg;
    ddgan_dataset_config_init(&cfg, sizeof cfg);
    cfg.kind = DDGAN_DATASET_IMAGE_FOLDER;
    cfg.paths = &path;
    cfg.num_paths = 1;
    /* native size only for small images: a 16384^2 one is legal but slow */
    if (st == DDGAN_OK && (size_t)h * (size_t)w <= 256 * 256)
        fz_dataset_exercise(&cfg, "dataset_open(PNG)");
    cfg.image_size = 7;
    cfg.channels = 1;
    fz_dataset_exercise(&cfg, "dataset_open(PNG, gray 7x7 bilinear)");
    cfg.image_size = 4;
    cfg.channels = 3;
    cfg.resize = DDGAN_RESIZE_AREA;
    cfg.lazy = 1;
    fz_dataset_exercise(&cfg, "dataset_open(PNG, rgb 4x4 area, lazy)");
    return 0;
}
