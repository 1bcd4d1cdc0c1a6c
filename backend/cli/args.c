/* Option parsing for the commands (args.h). */
#include "args.h"
#include <stdio.h>
#include <string.h>
#include "util.h"

enum { ARGS_HELP = 0x10000, ARGS_MAX = 64 };

int args_parse(const char *cmd, int argc, char **argv, const struct option *opts, args_fn fn,
               void *ctx, char *err, size_t errlen)
{
    struct option all[ARGS_MAX + 2];
    size_t n = 0;
    while (opts[n].name && n < ARGS_MAX) {
        all[n] = opts[n];
        n++;
    }
    all[n++] = (struct option){"help", no_argument, NULL, ARGS_HELP};
    all[n] = (struct option){0};

    opterr = 0; /* our messages, not getopt's */
    optind = 0; /* a full re-initialisation (glibc), so that tests may parse twice */
    int c, idx;
    /* "-": non-option arguments come back as 1 (refused); ":": a missing value as ':'. */
    while ((c = getopt_long(argc, argv, "-:h", all, &idx)) != -1) {
        const char *arg = argv[optind - 1];
        if (c == 'h' || c == ARGS_HELP) return 1;
        if (c == 1) return errf(err, errlen, "'%s': unexpected argument (try: conlab %s --help)",
                                optarg, cmd);
        if (c == ':') {
            char flag[64];
            snprintf(flag, sizeof flag, "%.*s", (int)strcspn(arg, "="), arg);
            return errf(err, errlen, "%s: needs a value", flag);
        }
        if (c == '?')
            return errf(err, errlen, "%s: unknown option (try: conlab %s --help)", arg, cmd);
        char flag[64];
        for (size_t i = 0; i < n; i++)
            if (all[i].val == c) snprintf(flag, sizeof flag, "--%s", all[i].name);
        if (fn(ctx, c, flag, optarg, err, errlen)) return -1;
    }
    return 0;
}
