/* The shards of a run the dashboard coordinates (store.h, migration 0007). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_db.h"
#include "util.h"

int store_shards_create(struct store *st, const char *id, int64_t n, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    if (store_exec(st, Q_BEGIN_WRITE, err, errlen, "adding shards")) {
        pthread_mutex_unlock(&st->lock);
        return -1;
    }
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_stmt *s = st->q[Q_SHARD_INSERT];
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, i);
        if (sqlite3_step(s) != SQLITE_DONE) rc = store_fail(st, err, errlen, "adding a shard");
        store_done(s);
    }
    rc = store_end_write(st, rc, err, errlen, "adding shards");
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_shard_set(struct store *st, const char *id, const struct store_shard *sh, char *err,
                    size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_SHARD_UPDATE];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, sh->shard);
    sqlite3_bind_text(s, 3, sh->status, -1, SQLITE_STATIC);
    if (sh->joined_us >= 0) sqlite3_bind_int64(s, 4, sh->joined_us);
    if (!isnan(sh->skew_ms)) sqlite3_bind_double(s, 5, sh->skew_ms);
    if (!isnan(sh->rps)) sqlite3_bind_double(s, 6, sh->rps);
    sqlite3_bind_int64(s, 7, sh->errors);
    sqlite3_bind_double(s, 8, sh->cpu_ms);
    if (sh->message[0]) sqlite3_bind_text(s, 9, sh->message, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, "updating a shard");
    if (rc == 0 && sqlite3_changes(st->db) == 0) rc = STORE_NOT_FOUND;
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_shards_get(struct store *st, const char *id, struct store_shard **out, int *n, char *err,
                     size_t errlen)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_SHARDS_OF_RUN];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_shard *grown = realloc(*out, (size_t)(*n + 1) * sizeof *grown);
        if (!grown) {
            rc = errf(err, errlen, "out of memory");
            break;
        }
        *out = grown;
        struct store_shard *x = &grown[(*n)++];
        memset(x, 0, sizeof *x);
        x->shard = sqlite3_column_int64(s, 0);
        snprintf(x->status, sizeof x->status, "%s", (const char *)sqlite3_column_text(s, 1));
        x->joined_us = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
        x->skew_ms = sqlite3_column_type(s, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 3);
        x->rps = sqlite3_column_type(s, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 4);
        x->errors = sqlite3_column_int64(s, 5);
        x->cpu_ms = sqlite3_column_double(s, 6);
        const unsigned char *m = sqlite3_column_text(s, 7);
        snprintf(x->message, sizeof x->message, "%s", m ? (const char *)m : "");
    }
    if (rc == 0 && step != SQLITE_DONE) rc = store_fail(st, err, errlen, "reading shards");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
