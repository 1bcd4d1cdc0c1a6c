/* Inside common: how spec.c learns about the clients a spec names (spec_clients.c). */
#ifndef CONLAB_SPEC_CLIENTS_H
#define CONLAB_SPEC_CLIENTS_H

#include <stddef.h>
#include "spec.h"

/* A name in `modes` that is no built-in mode: when it is a well-formed client name, adds it to
 * s->clients (once) and sets *id to its mode id; leaves *id -1 for a name that cannot be a
 * client. Returns -1 with err only when the spec names too many clients. */
int spec_client_add(struct spec *s, const char *name, int *id, char *err, size_t errlen);

/* Every client the spec names is registered in lim (or lim->any_client). 0 or -1 with a
 * message naming the first unregistered one ("modes: ..."). */
int spec_clients_check(const struct spec *s, const struct spec_limits *lim, char *err,
                       size_t errlen);

#endif
