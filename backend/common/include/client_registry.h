/* The registered clients (docs/CLIENTS.md): programs a run may name as modes. Filled once at
 * start from `--client NAME=COMMAND` and `--clients FILE`, never from a request; read-only
 * afterwards (safe to share between threads). */
#ifndef CONLAB_CLIENT_REGISTRY_H
#define CONLAB_CLIENT_REGISTRY_H

#include <stddef.h>
#include "spec.h"

#define CLIENT_REGISTRY_MAX 64
#define CLIENT_COMMAND_MAX 4096
#define CLIENT_DESCRIPTION_MAX 200

struct client_entry {
    char name[CLIENT_NAME_MAX];
    char *command;     /* run through /bin/sh -c */
    char *description; /* "" when none */
};

struct client_registry {
    struct client_entry v[CLIENT_REGISTRY_MAX];
    const char *names[CLIENT_REGISTRY_MAX]; /* v[i].name, for spec_limits.clients */
    int n;
};

/* Adds `NAME=COMMAND` (`what` names the source in messages: "--client", "FILE:LINE"). Refuses a
 * bad or built-in name, a name given twice, an empty or over-long command, a command with
 * control characters. Returns 0 or -1 with err. */
int client_registry_add(struct client_registry *r, const char *arg, const char *description,
                        const char *what, char *err, size_t errlen);

/* Adds every `NAME=COMMAND` line of a file; blank lines and `#` comments are skipped, a comment
 * right above an entry is its description. Returns 0 or -1 with err naming the file and line. */
int client_registry_load(struct client_registry *r, const char *path, char *err, size_t errlen);

/* The entry of `name`, NULL when not registered. */
const struct client_entry *client_registry_find(const struct client_registry *r, const char *name);

/* Lets a spec name the registered clients. */
void client_registry_limits(const struct client_registry *r, struct spec_limits *lim);

/* The entries a spec names (every entry when s is NULL), as text for the job child:
 * "NAME=COMMAND\n" lines. Caller frees; NULL when out of memory. */
char *client_registry_to_text(const struct client_registry *r, const struct spec *s);

/* Reads client_registry_to_text's text. 0 or -1 with err. */
int client_registry_from_text(struct client_registry *r, const char *text, char *err,
                              size_t errlen);

void client_registry_free(struct client_registry *r);

#endif
