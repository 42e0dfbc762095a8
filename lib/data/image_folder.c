/*
 * A folder of images: every *.png, *.jpg and *.jpeg (any case) under the
 * folder, recursively (entries whose name starts with '.' are skipped, at
 * most 32 levels deep), in byte-wise sorted order of the path relative to
 * the folder; or an explicit list of files, in the order given. Each image is
 * decoded (gray or RGB, alpha dropped), converted to the channel count
 * (default 3) and, when image_size is set, resized so that its shorter side
 * is image_size and centre-cropped (torchvision Resize + CenterCrop); with
 * image_size 0 every image must have the first image's size. Labels are -1.
 *
 * Unless `lazy`, every image is decoded at open (a bad file fails the open,
 * naming it); with `lazy`, files are only listed at open (the first one is
 * decoded to learn the shape) and decoded when served.
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FOLDER_MAX_DEPTH 32

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ddgan__free(l->v[i]);
    ddgan__free(l->v);
    memset(l, 0, sizeof *l);
}

static ddgan_status_t list_push(file_list *l, char *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        if (cap > (size_t)DDGAN_DATA_MAX_EXAMPLES) {
            ddgan__free(p);
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "image folder: more than %" PRId64 " images",
                             DDGAN_DATA_MAX_EXAMPLES);
        }
        char **v = ddgan__malloc(cap * sizeof *v, "image folder: file list");
        if (!v) {
            ddgan__free(p);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        ddgan__free(l->v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return DDGAN_OK;
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ddgan_status_t scan(const char *dir, int depth, file_list *out)
{
    if (depth > FOLDER_MAX_DEPTH)
        return DDGAN_ERR(DDGAN_ERR_IO, "image folder: %s: more than %d levels of sub-folders", dir,
                         FOLDER_MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d) {
        char eb[128];
        return DDGAN_ERR(DDGAN_ERR_IO, "image folder: %s: cannot open: %s", dir,
                         ddgan__data_strerror(errno, eb));
    }
    /* the whole list is sorted once at the end (byte order of the paths) */
    file_list here = {0};
    ddgan_status_t st = DDGAN_OK;
    struct dirent *e;
    while (st == DDGAN_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = ddgan__data_join(dir, e->d_name);
        if (!p) {
            st = DDGAN_ERR_OUT_OF_MEMORY;
            break;
        }
        st = list_push(&here, p);
    }
    closedir(d);
    for (size_t i = 0; st == DDGAN_OK && i < here.n; i++) {
        int kind = ddgan__data_path_kind(here.v[i]);
        if (kind == 1) {
            st = scan(here.v[i], depth + 1, out);
        } else if (kind == 0 && has_image_ext(here.v[i])) {
            char *p = here.v[i];
            here.v[i] = NULL; /* list_push takes it, even when it fails */
            st = list_push(out, p);
        }
    }
    list_free(&here);
    return st;
}

ddgan_status_t ddgan__data_open_image_folder(ddgan_data_source **out, const ddgan_data_config *cfg,
                                             const char *fn)
{
    *out = NULL;
    const int channels = cfg->channels ? cfg->channels : 3;
    file_list files = {0};
    ddgan_status_t st = DDGAN_OK;
    const char *where = cfg->path;
    if (cfg->paths && cfg->num_paths > 0) {
        for (size_t i = 0; st == DDGAN_OK && i < cfg->num_paths; i++) {
            if (!cfg->paths[i]) {
                st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: paths[%zu] is NULL", fn, i);
                break;
            }
            char *p = ddgan__strdup(cfg->paths[i], "image folder: path");
            st = p ? list_push(&files, p) : DDGAN_ERR_OUT_OF_MEMORY;
        }
        where = cfg->paths[0];
    } else if (cfg->path) {
        int kind = ddgan__data_path_kind(cfg->path);
        if (kind != 1) {
            list_free(&files);
            return DDGAN_ERR(DDGAN_ERR_IO, "image folder: %s: %s", cfg->path,
                             kind < 0 ? "does not exist" : "is not a folder");
        }
        st = scan(cfg->path, 0, &files);
        if (st == DDGAN_OK && files.n > 1)
            qsort(files.v, files.n, sizeof *files.v, cmp_str);
        if (st == DDGAN_OK && files.n == 0)
            st = DDGAN_ERR(DDGAN_ERR_IO, "image folder: %s: no .png, .jpg or .jpeg files found", cfg->path);
    } else {
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: an image folder needs a path or a list of "
                         "files", fn);
    }
    if (st == DDGAN_OK && cfg->num_examples > 0 && (size_t)cfg->num_examples < files.n) {
        for (size_t i = (size_t)cfg->num_examples; i < files.n; i++)
            ddgan__free(files.v[i]);
        files.n = (size_t)cfg->num_examples;
    }
    ddgan_data_source *s = NULL;
    if (st == DDGAN_OK)
        st = ddgan__data_source_new(&s, cfg->lazy ? DDGAN_SRC_FILES : DDGAN_SRC_U8);
    /* the first image gives the shape */
    uint8_t *first = NULL;
    int h = 0, w = 0;
    if (st == DDGAN_OK)
        st = ddgan__data_load_image(files.v[0], channels, cfg->image_size, cfg->resize, NULL, &first, &h,
                                    &w);
    size_t ex = 0;
    if (st == DDGAN_OK) {
        s->n = (int64_t)files.n;
        s->c = channels;
        s->h = h;
        s->w = w;
        ex = (size_t)channels * (size_t)h * (size_t)w;
        size_t total;
        if (!cfg->lazy && (!ddgan__mul_size(ex, files.n, &total) || total > DDGAN_DATA_MAX_BYTES))
            st = DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "image folder: %s: %zu images of %dx%dx%d exceed "
                           "the %" PRIu64 "-byte limit of a preloaded folder (use lazy decoding)",
                           where, files.n, channels, h, w, DDGAN_DATA_MAX_BYTES);
    }
    if (st == DDGAN_OK && cfg->lazy) {
        s->one = first;
        first = NULL;
        s->files = files.v;
        s->nfiles = files.n;
        files.v = NULL;
        files.n = files.cap = 0;
        s->size = cfg->image_size;
        s->resize = cfg->resize;
    } else if (st == DDGAN_OK) {
        s->pixels = ddgan__malloc(ex * files.n, "image folder: pixels");
        if (!s->pixels)
            st = DDGAN_ERR_OUT_OF_MEMORY;
        if (st == DDGAN_OK)
            memcpy(s->pixels, first, ex);
        for (size_t i = 1; st == DDGAN_OK && i < files.n; i++) {
            int ih = h, iw = w;
            st = ddgan__data_load_image(files.v[i], channels, cfg->image_size, cfg->resize,
                                        s->pixels + i * ex, NULL, &ih, &iw);
            if (st == DDGAN_OK && (ih != h || iw != w))
                st = DDGAN_ERR(DDGAN_ERR_FORMAT, "image folder: %s: image is %dx%d but %s is %dx%d (set "
                               "image_size to resize every image)", files.v[i], iw, ih, files.v[0], w, h);
        }
    }
    ddgan__free(first);
    list_free(&files);
    if (st != DDGAN_OK) {
        ddgan__data_source_free(s);
        return st;
    }
    *out = s;
    return DDGAN_OK;
}
