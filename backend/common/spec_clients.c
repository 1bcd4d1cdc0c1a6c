/* Modes by name: the built-in ones, and the clients a spec names with their mode ids (spec.h,
 * docs/CLIENTS.md). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include "spec_clients.h"
#include "util.h"

static const char *const mode_names[MODE_COUNT] = {"sync", "threads", "async", "processes",
                                                    "h2mux"};

const char *mode_name(enum bench_mode m)
{
    return ((int)m >= 0 && m < MODE_COUNT) ? mode_names[m] : NULL;
}

int mode_from_name(const char *name)
{
    for (int i = 0; i < MODE_COUNT; i++)
        if (name && !strcmp(name, mode_names[i])) return i;
    return -1;
}

/* Built-in modes of other builds or to come: never a client's name. */
static const char *const reserved[] = {"h2mux"};

bool mode_is_client(int mode)
{
    return mode >= MODE_CLIENT_BASE && mode < MODE_CLIENT_BASE + SPEC_MAX_CLIENTS;
}

const char *spec_mode_name(const struct spec *s, int mode)
{
    if (!mode_is_client(mode)) return mode_name((enum bench_mode)mode);
    int k = mode - MODE_CLIENT_BASE;
    return s && k < s->nclients ? s->clients[k] : NULL;
}

int spec_mode_from_name(const struct spec *s, const char *name)
{
    int m = mode_from_name(name);
    for (int k = 0; m < 0 && s && name && k < s->nclients; k++)
        if (!strcmp(s->clients[k], name)) m = MODE_CLIENT_BASE + k;
    return m;
}

void mode_names_from_json(const cJSON *spec, struct mode_names *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *m, *modes = cJSON_GetObjectItemCaseSensitive(spec, "modes");
    cJSON_ArrayForEach(m, modes)
    {
        if (!cJSON_IsString(m) || mode_from_name(m->valuestring) >= 0) continue;
        if (out->n == SPEC_MAX_CLIENTS || strlen(m->valuestring) >= CLIENT_NAME_MAX) continue;
        snprintf(out->client[out->n++], CLIENT_NAME_MAX, "%s", m->valuestring);
    }
}

void mode_names_from_spec(const struct spec *s, struct mode_names *out)
{
    memset(out, 0, sizeof *out);
    for (int k = 0; k < s->nclients; k++)
        memcpy(out->client[k], s->clients[k], CLIENT_NAME_MAX);
    out->n = s->nclients;
}

const char *mode_names_get(const struct mode_names *n, int mode)
{
    if (!mode_is_client(mode)) return mode_name((enum bench_mode)mode);
    int k = mode - MODE_CLIENT_BASE;
    return n && k < n->n ? n->client[k] : NULL;
}

int mode_names_find(const struct mode_names *n, const char *name)
{
    int m = mode_from_name(name);
    for (int k = 0; m < 0 && n && name && k < n->n; k++)
        if (!strcmp(n->client[k], name)) m = MODE_CLIENT_BASE + k;
    return m;
}

int client_name_check(const char *name, char *err, size_t errlen)
{
    size_t n = strlen(name);
    bool ok = n >= 1 && n < CLIENT_NAME_MAX && name[0] >= 'a' && name[0] <= 'z';
    for (size_t i = 1; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
             name[i] == '-';
    if (!ok) return errf(err, errlen, "client name '%.40s': must match [a-z][a-z0-9-]{0,31}", name);
    bool builtin = mode_from_name(name) >= 0;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        builtin = builtin || !strcmp(name, reserved[i]);
    if (builtin) return errf(err, errlen, "client name '%s': is a built-in mode", name);
    return 0;
}

int spec_client_add(struct spec *s, const char *name, int *id, char *err, size_t errlen)
{
    *id = -1;
    char why[128];
    if (client_name_check(name, why, sizeof why)) return 0;
    for (int k = 0; k < s->nclients; k++)
        if (!strcmp(s->clients[k], name)) {
            *id = MODE_CLIENT_BASE + k;
            return 0;
        }
    if (s->nclients == SPEC_MAX_CLIENTS)
        return errf(err, errlen, "modes: more than %d clients", SPEC_MAX_CLIENTS);
    snprintf(s->clients[s->nclients], CLIENT_NAME_MAX, "%s", name);
    *id = MODE_CLIENT_BASE + s->nclients++;
    return 0;
}

int spec_clients_check(const struct spec *s, const struct spec_limits *lim, char *err,
                       size_t errlen)
{
    if (lim->any_client) return 0;
    for (int k = 0; k < s->nclients; k++) {
        bool known = false;
        for (int r = 0; !known && r < lim->nclients; r++)
            known = !strcmp(lim->clients[r], s->clients[k]);
        if (!known)
            return errf(err, errlen,
                        "modes: unknown mode '%s' (known: sync, threads, async, processes%s)",
                        s->clients[k], lim->nclients ? " and the registered clients" : "");
    }
    return 0;
}
