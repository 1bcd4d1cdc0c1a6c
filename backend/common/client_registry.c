/* The registered clients: parsing `NAME=COMMAND` from flags and files (client_registry.h). */
#include "client_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"
#include "util.h"

int client_registry_add(struct client_registry *r, const char *arg, const char *description,
                        const char *what, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    if (!eq) return errf(err, errlen, "%s: '%.60s' is not NAME=COMMAND", what, arg);
    char name[CLIENT_NAME_MAX + 8];
    size_t nlen = (size_t)(eq - arg);
    while (nlen && (arg[nlen - 1] == ' ' || arg[nlen - 1] == '\t'))
        nlen--;
    if (nlen >= sizeof name) nlen = sizeof name - 1;
    memcpy(name, arg, nlen);
    name[nlen] = '\0';
    char why[160];
    if (client_name_check(name, why, sizeof why)) return errf(err, errlen, "%s: %s", what, why);
    if (client_registry_find(r, name))
        return errf(err, errlen, "%s: client '%s' is registered twice", what, name);
    const char *cmd = eq + 1;
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    size_t clen = strlen(cmd);
    if (clen == 0) return errf(err, errlen, "%s: client '%s' has an empty command", what, name);
    if (clen >= CLIENT_COMMAND_MAX)
        return errf(err, errlen, "%s: the command of '%s' is longer than %d bytes", what, name,
                    CLIENT_COMMAND_MAX - 1);
    for (const unsigned char *p = (const unsigned char *)cmd; *p; p++)
        if (*p < 0x20 && *p != '\t')
            return errf(err, errlen, "%s: the command of '%s' has control characters", what, name);
    if (r->n == CLIENT_REGISTRY_MAX)
        return errf(err, errlen, "%s: more than %d clients", what, CLIENT_REGISTRY_MAX);
    struct client_entry *e = &r->v[r->n];
    memcpy(e->name, name, strlen(name) + 1); /* checked: at most 32 characters */
    e->command = strdup(cmd);
    e->description = strndup(description ? description : "", CLIENT_DESCRIPTION_MAX);
    if (!e->command || !e->description) {
        free(e->command);
        free(e->description);
        return errf(err, errlen, "%s: out of memory", what);
    }
    utf8_clean(e->description);
    r->names[r->n] = e->name;
    r->n++;
    return 0;
}

int client_registry_load(struct client_registry *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return errf(err, errlen, "--clients %s: %s", path, strerror(errno));
    char line[CLIENT_COMMAND_MAX + 64], desc[CLIENT_DESCRIPTION_MAX + 1] = "", what[300];
    int no = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        no++;
        snprintf(what, sizeof what, "--clients %.200s:%d", path, no);
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = errf(err, errlen, "%s: line too long", what);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#') {
            p++;
            while (*p == ' ')
                p++;
            snprintf(desc, sizeof desc, "%s", p);
            continue;
        }
        if (*p) rc = client_registry_add(r, p, desc, what, err, errlen);
        desc[0] = '\0';
    }
    fclose(f);
    return rc;
}

const struct client_entry *client_registry_find(const struct client_registry *r, const char *name)
{
    for (int i = 0; r && name && i < r->n; i++)
        if (!strcmp(r->v[i].name, name)) return &r->v[i];
    return NULL;
}

void client_registry_limits(const struct client_registry *r, struct spec_limits *lim)
{
    lim->clients = r->names;
    lim->nclients = r->n;
}

char *client_registry_to_text(const struct client_registry *r, const struct spec *s)
{
    size_t cap = 1, len = 0;
    int n = s ? s->nclients : r->n;
    for (int k = 0; k < n; k++) {
        const struct client_entry *e = s ? client_registry_find(r, s->clients[k]) : &r->v[k];
        if (e) cap += strlen(e->name) + strlen(e->command) + 2;
    }
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    for (int k = 0; k < n; k++) {
        const struct client_entry *e = s ? client_registry_find(r, s->clients[k]) : &r->v[k];
        if (e) len += (size_t)snprintf(out + len, cap - len, "%s=%s\n", e->name, e->command);
    }
    return out;
}

int client_registry_from_text(struct client_registry *r, const char *text, char *err, size_t errlen)
{
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        char *line = strndup(text, n);
        if (!line) return errf(err, errlen, "clients: out of memory");
        int rc = client_registry_add(r, line, "", "clients", err, errlen);
        free(line);
        if (rc) return -1;
        text += n + (nl ? 1 : 0);
    }
    return 0;
}

void client_registry_free(struct client_registry *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->v[i].command);
        free(r->v[i].description);
    }
    r->n = 0;
}
