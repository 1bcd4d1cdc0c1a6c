/* `conlab target`: the demo server as a command, until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "target.h"
#include "util.h"

static void usage(FILE *f)
{
    fputs(
        "usage: conlab target [--listen HOST:PORT] [--workers W] [--delay-ms D]\n"
        "                     [--max-conns N] [--idle-timeout-ms T]\n"
        "\n"
        "The talk's slow server, like `gunicorn -w 3` around `time.sleep(1)`: every response\n"
        "waits D ms and at most W responses are in progress at once; further requests wait\n"
        "for a free worker in arrival order. Idle keep-alive connections hold no worker.\n"
        "\n"
        "  --listen HOST:PORT     address to serve on (default 127.0.0.1:8000; port 0 picks one)\n"
        "  --workers W            responses in progress at once, 1..10000 (default 3)\n"
        "  --delay-ms D           wait per response, 0..3600000 ms (default 1000)\n"
        "  --max-conns N          open connections beyond N are closed at once (default 20000)\n"
        "  --idle-timeout-ms T    close connections without progress for T ms (default 120000)\n"
        "\n"
        "Every response is `This is a slow web api` (text/plain). Per-request query overrides:\n"
        "  ?delay_ms=N (0..3600000)  ?status=N (100..599)  ?bytes=N (body size, 0..100000000)\n"
        "A malformed override is answered 400 at once, naming it.\n"
        "\n"
        "Faults on purpose, for testing clients (after the delay, like a response):\n"
        "  ?fault=reset        the connection is reset (RST)             -> error kind reset\n"
        "  ?fault=hang         never answered; the worker is freed       -> timeout\n"
        "  ?fault=slow_body    the body at one byte per 100 ms           -> timeout (if shorter)\n"
        "  ?fault=bad_length   Content-Length 100 bytes over the body, then close -> reset\n"
        "  ?fault=close_early  closed without an answer                  -> reset\n"
        "  ?fault=garbage      a line that is not HTTP, then close       -> other\n",
        f);
}

/* Takes the value of option `name` from "--name=value" or "--name value". Returns 1 when argv[*i]
 * is that option (value set, or NULL when it is missing), 0 when it is another one. */
static int option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n]) return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

/* Parses the command line into o. Returns 0, 1 for --help, or -1 with err naming the option.
 * A missing value reaches the parsers as NULL, which they refuse naming the option. */
static int parse_args(int argc, char **argv, struct target_opts *o, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *a = argv[i];
        int rc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        else if (option(argc, argv, &i, "--listen", &v))
            rc = parse_hostport(v, "--listen", o->host, sizeof o->host, &o->port, err, errlen);
        else if (option(argc, argv, &i, "--workers", &v))
            rc = parse_int64(v, "--workers", 1, 10000, &o->workers, err, errlen);
        else if (option(argc, argv, &i, "--delay-ms", &v))
            rc = parse_int64(v, "--delay-ms", 0, TARGET_MAX_DELAY_MS, &o->delay_ms, err, errlen);
        else if (option(argc, argv, &i, "--max-conns", &v))
            rc = parse_int64(v, "--max-conns", 1, 1000000, &o->max_conns, err, errlen);
        else if (option(argc, argv, &i, "--idle-timeout-ms", &v))
            rc = parse_int64(v, "--idle-timeout-ms", 1, 86400000, &o->idle_timeout_ms, err, errlen);
        else
            return errf(err, errlen, "unknown option '%s' (try: conlab target --help)", a);
        if (rc) return -1;
    }
    return 0;
}

int cmd_target(int argc, char **argv)
{
    struct target_opts o;
    target_opts_default(&o);
    char err[512];
    int rc = parse_args(argc, argv, &o, err, sizeof err);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "conlab target: %s\n", err);
        return 2;
    }

    /* Blocked before the server thread exists, then taken synchronously with sigwait: no
     * handler, no global flag. SIGPIPE is blocked too (sends also use MSG_NOSIGNAL). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct target *t;
    if (target_start(&o, &t, err, sizeof err)) {
        fprintf(stderr, "conlab target: %s\n", err);
        return 1;
    }
    printf("conlab target: listening on http://%s:%d/ (%lld workers, %lld ms per response)\n",
           o.host[0] ? o.host : "0.0.0.0", target_port(t), (long long)o.workers,
           (long long)o.delay_ms);
    fflush(stdout);

    sigdelset(&sigs, SIGPIPE);
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    target_stop(t);
    fprintf(stderr, "conlab target: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}
