/* `conlab target`: the demo server as a command, until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "target.h"
#include "util.h"

static void usage(FILE *f)
{
    fputs(
        "usage: conlab target [--listen HOST:PORT] [--workers W] [--delay-ms D]\n"
        "                     [--max-conns N] [--idle-timeout-ms T]\n"
        "                     [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
        "                     [--fault NAME]\n"
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
        "  --tls-cert FILE        serve HTTPS with this PEM certificate (chain), offering h2 and\n"
        "  --tls-key FILE         http/1.1 by ALPN; with this PEM key. Without TLS the port\n"
        "                         speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c)\n"
        "  --tls-client-ca FILE   mTLS: require a client certificate signed by this PEM CA\n"
        "  --fault NAME           every request takes this fault unless it names its own (below);\n"
        "                         or a TLS fault (serves TLS even without a certificate):\n"
        "                           tls_bad_cert  a self-signed certificate for another name\n"
        "                                         -> the client cannot verify it\n"
        "                           tls_hang      the ClientHello is never answered -> timeout\n"
        "                           tls_close     the connection is reset after the ClientHello\n"
        "                                         -> the handshake fails\n"
        "\n"
        "W and D count requests: over HTTP/2 every stream is one, so 3 streams on one connection\n"
        "with 3 workers take D, not 3 D.\n"
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
        "  ?fault=garbage      a line that is not HTTP, then close       -> other\n"
        "Over HTTP/2, reset resets the stream; close_early and garbage end the connection.\n",
        f);
}

enum {
    OPT_LISTEN = 1000,
    OPT_WORKERS,
    OPT_DELAY,
    OPT_MAX_CONNS,
    OPT_IDLE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_CLIENT_CA,
    OPT_FAULT
};

static int path_option(const char *v, const char *flag, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    if (!v[0] || strlen(v) >= outlen) return errf(err, errlen, "%s: want a file name", flag);
    snprintf(out, outlen, "%s", v);
    return 0;
}

static int target_option(void *ctx, int id, const char *flag, const char *v, char *err,
                         size_t errlen)
{
    struct target_opts *o = ctx;
    switch (id) {
    case OPT_LISTEN: return parse_hostport(v, flag, o->host, sizeof o->host, &o->port, err, errlen);
    case OPT_WORKERS: return parse_int64(v, flag, 1, 10000, &o->workers, err, errlen);
    case OPT_DELAY: return parse_int64(v, flag, 0, TARGET_MAX_DELAY_MS, &o->delay_ms, err, errlen);
    case OPT_MAX_CONNS: return parse_int64(v, flag, 1, 1000000, &o->max_conns, err, errlen);
    case OPT_TLS_CERT: return path_option(v, flag, o->tls_cert, sizeof o->tls_cert, err, errlen);
    case OPT_TLS_KEY: return path_option(v, flag, o->tls_key, sizeof o->tls_key, err, errlen);
    case OPT_TLS_CLIENT_CA:
        return path_option(v, flag, o->tls_client_ca, sizeof o->tls_client_ca, err, errlen);
    case OPT_FAULT:
        if (target_opts_fault(o, v, err, errlen) == 0) return 0;
        char why[400];
        snprintf(why, sizeof why, "%s", err);
        return errf(err, errlen, "%s%s", flag, why + strlen("fault"));
    default: return parse_int64(v, flag, 1, 86400000, &o->idle_timeout_ms, err, errlen);
    }
}

static const struct option target_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"delay-ms", required_argument, NULL, OPT_DELAY},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"idle-timeout-ms", required_argument, NULL, OPT_IDLE},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA},
    {"fault", required_argument, NULL, OPT_FAULT},
    {0},
};

int cmd_target(int argc, char **argv)
{
    struct target_opts o;
    target_opts_default(&o);
    char err[512];
    int rc = args_parse("target", argc, argv, target_options, target_option, &o, err, sizeof err);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc == 0 && !o.tls_cert[0] != !o.tls_key[0]) {
        snprintf(err, sizeof err, "%s", o.tls_cert[0] ? "--tls-key: needed with --tls-cert"
                                                       : "--tls-cert: needed with --tls-key");
        rc = -1;
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
        /* A certificate or key that cannot be used is a bad flag: named as the flag. */
        int bad_file = !strncmp(err, "tls_cert:", 9) || !strncmp(err, "tls_key:", 8) ||
                       !strncmp(err, "tls_client_ca:", 14);
        if (bad_file) /* "tls_client_ca: ..." -> "--tls-client-ca: ..." */
            for (char *p = err; *p && *p != ':'; p++)
                if (*p == '_') *p = '-';
        fprintf(stderr, "conlab target: %s%s\n", bad_file ? "--" : "", err);
        return bad_file ? 2 : 1;
    }
    const char *tls_fault = target_tls_fault_name(o.tls_fault);
    int tls = target_tls(t) || tls_fault;
    printf("conlab target: listening on %s://%s:%d/ (%lld workers, %lld ms per response; %s%s%s)\n",
           tls ? "https" : "http", o.host[0] ? o.host : "0.0.0.0", target_port(t),
           (long long)o.workers, (long long)o.delay_ms,
           tls ? "h2 and http/1.1 by ALPN" : "HTTP/1.1 and h2c", tls_fault ? ", fault " : "",
           tls_fault ? tls_fault : "");
    fflush(stdout);

    sigdelset(&sigs, SIGPIPE);
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    target_stop(t);
    fprintf(stderr, "conlab target: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}
