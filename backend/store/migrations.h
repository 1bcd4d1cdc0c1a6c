/* The schema steps compiled in from migrations/NNNN_name.sql (see cmake/embed_migrations.cmake). */
#ifndef CONLAB_MIGRATIONS_H
#define CONLAB_MIGRATIONS_H

struct migration {
    int version; /* NNNN: applied in increasing order, recorded as PRAGMA user_version */
    const char *name;
    const char *sql;
};

extern const struct migration conlab_migrations[];
extern const int conlab_migrations_count;

#endif
