/*
 * sqlite_api.c - the SQLite functions of the database front, from the
 * library Python's sqlite3 module uses (see front_impl.h for why).
 */
#define _GNU_SOURCE

#include "front_impl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* dlsym's object pointer into a function pointer slot (ISO C has no cast). */
static int resolve(void *library, const char *name, void *slot, char *message, size_t message_size) {
    void *symbol = dlsym(library, name);
    if (!symbol) {
        snprintf(message, message_size, "SQLite library lacks %s", name);
        return SEAMLESS_ERR_ARGUMENT;
    }
    memcpy(slot, &symbol, sizeof symbol);
    return SEAMLESS_OK;
}

int seamless_sqlite_load(const char *path, seamless_sqlite *api, char *message, size_t message_size) {
    memset(api, 0, sizeof *api);
    if (!path) {
        snprintf(message, message_size, "no SQLite library given");
        return SEAMLESS_ERR_ARGUMENT;
    }
    api->library = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!api->library) {
        /* Only a library already in the process (Python's) is used. */
        snprintf(message, message_size, "SQLite library %s is not loaded in this process", path);
        return SEAMLESS_ERR_ARGUMENT;
    }
    struct {
        const char *name;
        void *slot;
    } table[] = {
        {"sqlite3_open_v2", &api->open_v2},       {"sqlite3_close_v2", &api->close_v2},
        {"sqlite3_exec", &api->exec},             {"sqlite3_prepare_v2", &api->prepare_v2},
        {"sqlite3_bind_text", &api->bind_text},   {"sqlite3_step", &api->step},
        {"sqlite3_reset", &api->reset},           {"sqlite3_finalize", &api->finalize},
        {"sqlite3_column_text", &api->column_text}, {"sqlite3_column_bytes", &api->column_bytes},
        {"sqlite3_changes", &api->changes},       {"sqlite3_busy_timeout", &api->busy_timeout},
        {"sqlite3_errmsg", &api->errmsg},         {"sqlite3_file_control", &api->file_control},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int rc = resolve(api->library, table[i].name, table[i].slot, message, message_size);
        if (rc != SEAMLESS_OK) {
            seamless_sqlite_unload(api);
            return rc;
        }
    }
    return SEAMLESS_OK;
}

void seamless_sqlite_unload(seamless_sqlite *api) {
    if (api->library)
        dlclose(api->library);
    memset(api, 0, sizeof *api);
}
