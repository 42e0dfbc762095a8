#include "backend/registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ref/ref_backend.h"

/* Well-known plug-ins, listed even when not built so users see why not. */
static const char *const g_known_plugins[] = {"cuda", "cpu"};
#define N_KNOWN_PLUGINS (sizeof g_known_plugins / sizeof g_known_plugins[0])

#define MAX_DIRS 16
#define MAX_PATH_LEN 4096
#define MAX_NAME_LEN 64

/* Plug-ins that loaded successfully stay loaded until exit: unloading code
 * that may have registered thread-locals or atexit handlers (oneDNN, CUDA) is
 * unsafe. Guarded by g_lock. */
typedef struct loaded_plugin {
    char path[MAX_PATH_LEN];
    void *handle;
    const ddgan_backend_desc *desc;
} loaded_plugin;
#define MAX_PLUGINS 32
static loaded_plugin g_plugins[MAX_PLUGINS];
static size_t g_n_plugins;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------------------
 * Names and search directories */

/* A backend name is a short identifier: it becomes part of a file name, so
 * anything that could walk directories ("../x") is refused. */
static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= MAX_NAME_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Directory of the object this function is linked into (libddgan.so, or the
 * executable when linked statically) + "/" DDGAN_PLUGIN_SUBDIR. */
static int own_plugin_dir(char *out, size_t cap)
{
    Dl_info info;
    if (!dladdr((void *)own_plugin_dir, &info) || !info.dli_fname || info.dli_fname[0] != '/')
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    size_t dir_len = (size_t)(slash - info.dli_fname);
    int n = snprintf(out, cap, "%.*s/%s", (int)dir_len, info.dli_fname, DDGAN_PLUGIN_SUBDIR);
    return n > 0 && (size_t)n < cap;
}

typedef struct search_dirs {
    char dir[MAX_DIRS][MAX_PATH_LEN];
    size_t n;
    char described[2048]; /* for messages */
} search_dirs;

static void add_dir(search_dirs *d, const char *dir, size_t len)
{
    if (d->n >= MAX_DIRS || len == 0 || len >= MAX_PATH_LEN)
        return;
    /* Relative entries would resolve against the current directory: never. */
    if (dir[0] != '/')
        return;
    memcpy(d->dir[d->n], dir, len);
    d->dir[d->n][len] = '\0';
    size_t used = strlen(d->described);
    snprintf(d->described + used, sizeof d->described - used, "%s%s", used ? ", " : "",
             d->dir[d->n]);
    d->n++;
}

static void get_search_dirs(search_dirs *d)
{
    memset(d, 0, sizeof *d);
    const char *env = getenv("DDGAN_BACKEND_PATH");
    if (env) {
        const char *p = env;
        while (*p) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            add_dir(d, p, len);
            p += len;
            if (*p == ':')
                p++;
        }
    }
    char own[MAX_PATH_LEN];
    if (own_plugin_dir(own, sizeof own))
        add_dir(d, own, strlen(own));
}

/* ---------------------------------------------------------------------------
 * Loading */

typedef struct probe_result {
    const ddgan_backend_desc *desc; /* NULL when unavailable */
    int score;
    char path[MAX_PATH_LEN];
    char reason[512];
} probe_result;

/* Loads (or finds already loaded) the plug-in file `path` for backend `name`.
 * Caller holds g_lock. */
static const ddgan_backend_desc *load_plugin_locked(const char *path, const char *name,
                                                    char *why, size_t why_cap)
{
    for (size_t i = 0; i < g_n_plugins; i++)
        if (!strcmp(g_plugins[i].path, path))
            return g_plugins[i].desc;

    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, why_cap, "cannot load plug-in %s: %s", path, e ? e : "unknown dlopen error");
        return NULL;
    }
    ddgan_backend_plugin_entry_fn entry;
    void *sym = dlsym(h, DDGAN_BACKEND_PLUGIN_ENTRY);
    if (!sym) {
        snprintf(why, why_cap, "plug-in %s has no entry point %s", path, DDGAN_BACKEND_PLUGIN_ENTRY);
        dlclose(h);
        return NULL;
    }
    /* Object-to-function pointer conversion through memcpy: dlsym's documented idiom without UB warnings. */
    memcpy(&entry, &sym, sizeof entry);
    const ddgan_backend_desc *desc = entry();
    if (!desc) {
        snprintf(why, why_cap, "plug-in %s returned no descriptor", path);
        dlclose(h);
        return NULL;
    }
    if (desc->abi_version != DDGAN_BACKEND_ABI_VERSION) {
        snprintf(why, why_cap,
                 "plug-in %s was built for backend ABI %u, this libddgan needs ABI %u "
                 "(rebuild the plug-in with this release)",
                 path, (unsigned)desc->abi_version, (unsigned)DDGAN_BACKEND_ABI_VERSION);
        dlclose(h);
        return NULL;
    }
    if (desc->struct_size < sizeof(ddgan_backend_desc) || !desc->name || !desc->probe ||
        !desc->create) {
        snprintf(why, why_cap, "plug-in %s has an incomplete descriptor", path);
        dlclose(h);
        return NULL;
    }
    if (strcmp(desc->name, name) != 0) {
        snprintf(why, why_cap, "plug-in %s calls itself '%s', expected '%s'", path, desc->name, name);
        dlclose(h);
        return NULL;
    }
    if (g_n_plugins == MAX_PLUGINS) {
        snprintf(why, why_cap, "too many plug-ins loaded (%d)", MAX_PLUGINS);
        dlclose(h);
        return NULL;
    }
    loaded_plugin *lp = &g_plugins[g_n_plugins++];
    snprintf(lp->path, sizeof lp->path, "%s", path);
    lp->handle = h;
    lp->desc = desc;
    return desc;
}

/* Finds, loads and probes backend `name`. Never fails: unavailability is a result. */
static void probe_backend(const char *name, const search_dirs *dirs, probe_result *r)
{
    memset(r, 0, sizeof *r);
    if (!strcmp(name, "ref")) {
        r->desc = ddgan__ref_backend_desc();
        r->score = r->desc->probe(r->reason, sizeof r->reason);
        return;
    }
    char file[MAX_PATH_LEN];
    int found = 0;
    for (size_t i = 0; i < dirs->n && !found; i++) {
        int n = snprintf(file, sizeof file, "%s/%s%s%s", dirs->dir[i], DDGAN_PLUGIN_PREFIX, name,
                         DDGAN_PLUGIN_SUFFIX);
        if (n > 0 && (size_t)n < sizeof file && access(file, F_OK) == 0)
            found = 1;
    }
    if (!found) {
        snprintf(r->reason, sizeof r->reason,
                 "not built or not installed: no %s%s%s in %s", DDGAN_PLUGIN_PREFIX, name,
                 DDGAN_PLUGIN_SUFFIX, dirs->n ? dirs->described : "(no plug-in directory)");
        return;
    }
    snprintf(r->path, sizeof r->path, "%s", file);
    pthread_mutex_lock(&g_lock);
    const ddgan_backend_desc *desc = load_plugin_locked(file, name, r->reason, sizeof r->reason);
    pthread_mutex_unlock(&g_lock);
    if (!desc)
        return;
    char why[384] = "";
    int score = desc->probe(why, sizeof why);
    if (score <= 0) {
        snprintf(r->reason, sizeof r->reason, "%s", why[0] ? why : "its probe found no usable device");
        return;
    }
    r->desc = desc;
    r->score = score;
}

/* Names of the backends to consider: ref, the well-known plug-ins, and any
 * other libddgan-backend-*.so on the search path. Returns the count. */
#define MAX_CANDIDATES 40
static size_t candidate_names(const search_dirs *dirs, char names[][MAX_NAME_LEN])
{
    size_t n = 0;
    snprintf(names[n++], MAX_NAME_LEN, "ref");
    for (size_t i = 0; i < N_KNOWN_PLUGINS; i++)
        snprintf(names[n++], MAX_NAME_LEN, "%s", g_known_plugins[i]);
    const size_t plen = strlen(DDGAN_PLUGIN_PREFIX), slen = strlen(DDGAN_PLUGIN_SUFFIX);
    for (size_t d = 0; d < dirs->n; d++) {
        DIR *dir = opendir(dirs->dir[d]);
        if (!dir)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL && n < MAX_CANDIDATES) {
            size_t len = strlen(e->d_name);
            if (len <= plen + slen || strncmp(e->d_name, DDGAN_PLUGIN_PREFIX, plen) != 0 ||
                strcmp(e->d_name + len - slen, DDGAN_PLUGIN_SUFFIX) != 0)
                continue;
            char name[MAX_NAME_LEN];
            size_t nlen = len - plen - slen;
            if (nlen >= MAX_NAME_LEN)
                continue;
            memcpy(name, e->d_name + plen, nlen);
            name[nlen] = '\0';
            if (!valid_name(name))
                continue;
            int dup = 0;
            for (size_t k = 0; k < n; k++)
                dup |= !strcmp(names[k], name);
            if (!dup)
                snprintf(names[n++], MAX_NAME_LEN, "%s", name);
        }
        closedir(dir);
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * Selection */

ddgan_status_t ddgan__backend_resolve(const char *requested, const ddgan_backend_desc **out,
                                      char *how, size_t how_cap)
{
    search_dirs dirs;
    get_search_dirs(&dirs);
    const char *source = "the context config";
    if (!requested || !strcmp(requested, "auto")) {
        const char *env = getenv("DDGAN_BACKEND");
        if (env && env[0] && strcmp(env, "auto") != 0) {
            requested = env;
            source = "$DDGAN_BACKEND";
        } else {
            requested = NULL;
        }
    }
    if (requested) {
        if (!valid_name(requested))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "ddgan_context_create: backend name \"%.80s\" from %s is not a valid "
                             "name (use auto, ref, cpu, cuda, ...: lower-case letters, digits, _ and -)",
                             requested, source);
        probe_result r;
        probe_backend(requested, &dirs, &r);
        if (!r.desc)
            return DDGAN_ERR(DDGAN_ERR_BACKEND_UNAVAILABLE,
                             "ddgan_context_create: backend \"%s\" (from %s) is unavailable: %s",
                             requested, source, r.reason);
        *out = r.desc;
        snprintf(how, how_cap, "backend %s requested by %s", requested, source);
        return DDGAN_OK;
    }

    char names[MAX_CANDIDATES][MAX_NAME_LEN];
    size_t n = candidate_names(&dirs, names);
    const ddgan_backend_desc *best = NULL;
    int best_score = 0;
    size_t used = (size_t)snprintf(how, how_cap, "auto:");
    for (size_t i = 0; i < n; i++) {
        probe_result r;
        probe_backend(names[i], &dirs, &r);
        if (used < how_cap)
            used += (size_t)snprintf(how + used, how_cap - used, " %s=%s", names[i],
                                     r.desc ? "available" : "unavailable");
        if (r.desc && r.score > best_score) {
            best = r.desc;
            best_score = r.score;
        }
    }
    if (!best) /* cannot happen: ref always probes > 0 */
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "ddgan_context_create: no backend available");
    *out = best;
    return DDGAN_OK;
}

/* ---------------------------------------------------------------------------
 * Listing. Strings handed to users must live until exit, so they are
 * interned: each distinct string is stored once and never freed. */

typedef struct interned {
    struct interned *next;
    char s[];
} interned;
static interned *g_strings; /* guarded by g_lock */

static const char *intern_locked(const char *s)
{
    for (interned *it = g_strings; it; it = it->next)
        if (!strcmp(it->s, s))
            return it->s;
    size_t n = strlen(s) + 1;
    interned *it = malloc(sizeof *it + n);
    if (!it)
        return "";
    memcpy(it->s, s, n);
    it->next = g_strings;
    g_strings = it;
    return it->s;
}

typedef struct snap_entry {
    const char *name, *description, *reason, *path;
    int available, score;
} snap_entry;
static snap_entry g_snap[MAX_CANDIDATES];
static size_t g_snap_n;

size_t ddgan__backend_snapshot(void)
{
    search_dirs dirs;
    get_search_dirs(&dirs);
    char names[MAX_CANDIDATES][MAX_NAME_LEN];
    size_t n = candidate_names(&dirs, names);
    snap_entry entries[MAX_CANDIDATES];
    for (size_t i = 0; i < n; i++) {
        probe_result r;
        probe_backend(names[i], &dirs, &r);
        pthread_mutex_lock(&g_lock);
        entries[i].name = intern_locked(names[i]);
        entries[i].description = intern_locked(r.desc ? r.desc->description : "");
        entries[i].reason = intern_locked(r.reason);
        entries[i].path = intern_locked(r.path);
        pthread_mutex_unlock(&g_lock);
        entries[i].available = r.desc != NULL;
        entries[i].score = r.desc ? r.score : 0;
    }
    pthread_mutex_lock(&g_lock);
    memcpy(g_snap, entries, n * sizeof entries[0]);
    g_snap_n = n;
    pthread_mutex_unlock(&g_lock);
    return n;
}

ddgan_status_t ddgan__backend_snapshot_get(size_t index, ddgan_backend_info *info)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_snap_n;
    snap_entry e;
    if (index < n)
        e = g_snap[index];
    pthread_mutex_unlock(&g_lock);
    if (index >= n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "ddgan_backend_get_info: index %zu out of range (%zu backends; call "
                         "ddgan_backend_count first)",
                         index, n);
    info->name = e.name;
    info->description = e.description;
    info->available = e.available;
    info->score = e.score;
    info->reason = e.reason;
    info->path = e.path;
    return DDGAN_OK;
}
