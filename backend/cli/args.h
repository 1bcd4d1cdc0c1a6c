/* The commands' option parsing: glibc's getopt_long behind one loop, so that every command
 * accepts `--flag VALUE` and `--flag=VALUE`, refuses unknown options, missing values and stray
 * arguments alike, and names the option in each message. */
#ifndef CONLAB_ARGS_H
#define CONLAB_ARGS_H

#include <getopt.h>
#include <stddef.h>

/* Called once per option, in command-line order: `id` is the option's `val` from the table,
 * `flag` its spelling ("--url"), `value` its argument (NULL for a flag without one). Returns 0,
 * or -1 with err filled (naming `flag`). */
typedef int (*args_fn)(void *ctx, int id, const char *flag, const char *value, char *err,
                       size_t errlen);

/* Parses argv[1..] of command `cmd` ("run") against `opts` (a getopt_long table ending with a
 * zero entry; `--help`/`-h` are handled here). Returns 0, 1 when help was asked for, or -1 with
 * err ("--foo: unknown option (try: conlab run --help)", "--url: needs a value", ...). */
int args_parse(const char *cmd, int argc, char **argv, const struct option *opts, args_fn fn,
               void *ctx, char *err, size_t errlen);

#endif
