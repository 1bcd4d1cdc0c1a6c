/* The name of a stored mode: a built-in mode's from its number, a client's from the run's spec. */
#include <cjson/cJSON.h>
#include <string.h>
#include "spec.h"
#include "store.h"
#include "store_db.h"

const char *store_mode_name(struct store *st, const char *id, int mode, struct mode_names *buf)
{
    memset(buf, 0, sizeof *buf);
    if (mode_is_client(mode)) {
        sqlite3_stmt *s = st->q[Q_RUN_GET];
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            cJSON *spec = cJSON_Parse((const char *)sqlite3_column_text(s, 4)); /* spec_json */
            mode_names_from_json(spec, buf);
            cJSON_Delete(spec);
        }
        store_done(s);
    }
    const char *name = mode_names_get(buf, mode);
    return name ? name : "unknown";
}
