/* `conlab serve`: the dashboard. Opens the store, starts the demo target, the job runner and
 * the web server, then waits for SIGINT/SIGTERM and takes everything down in order. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "args.h"
#include "client_registry.h"
#include "commands.h"
#include "dashboard.h"
#include "store.h"
#include "target.h"
#include "util.h"

struct serve_opts {
    char host[256];
    int port;
    const char *db;
    bool demo;
    struct target_opts target;
    const char *token;
    char web_root[4096];
    int threads;
    struct job_opts job;
    struct spec_limits limits;
    bool public_read;
    int keepalive_ms;
    int request_timeout_ms;
    const char *allow_hosts[64];
    int nallow_hosts;
    char allow_env[4096]; /* CONLAB_ALLOW_HOSTS, split in place */
    const char *secret_headers[64];
    int nsecret_headers;
    const char *tls_dir;
    bool demo_max_conns_set;
    int per_client;
    bool secret_body;
    const char *allow_targets[64];
    int nallow_targets;
    char allow_targets_env[4096]; /* CONLAB_ALLOW_TARGETS, split in place */
    bool allow_self_target;
    bool token_on_command_line;
    char token_buf[4096]; /* read from --token-file */
    struct client_registry clients;
    char default_modes_text[1024];
    const char *default_modes[SPEC_MAX_MODES]; /* the form's modes at first (--default-modes) */
    int ndefault_modes;
    int64_t shard_join_ms, shard_point_ms, shard_skew_ms, shard_upload_bytes; /* 0: defaults */
};

static void serve_usage(FILE *f)
{
    fputs("usage: conlab serve [--listen HOST:PORT] [--db FILE]\n"
          "                    [--demo-target HOST:PORT | --no-demo-target] [--token T]\n"
          "\n"
          "The dashboard: the web page, its HTTP API, a job runner and the SQLite history.\n"
          "\n"
          "  --listen HOST:PORT     where to serve (default 127.0.0.1:8080; port 0 picks one).\n"
          "                         A non-loopback address needs --token.\n"
          "  --db FILE              the history (default data/conlab.db; created and migrated)\n"
          "  --demo-target HOST:PORT  where the built-in demo target listens (default\n"
          "                         127.0.0.1:8000)\n"
          "  --no-demo-target       do not start the demo target\n"
          "  --demo-workers W       demo target workers (default 3)\n"
          "  --demo-delay-ms D      demo target delay per response (default 1000)\n"
          "  --token T              every API request but /api/health needs\n"
          "                         'Authorization: Bearer T' (or set CONLAB_TOKEN). On the\n"
          "                         command line it shows in ps: prefer --token-file\n"
          "  --token-file FILE      the token, read from FILE's first line (or set\n"
          "                         CONLAB_TOKEN_FILE)\n"
          "  --public-read          with a token: reading runs needs none (starting,\n"
          "                         cancelling and deleting still do)\n"
          "  --allow-host NAME      a name the dashboard answers to besides loopback\n"
          "                         addresses and localhost (repeatable; or\n"
          "                         CONLAB_ALLOW_HOSTS=a,b): other Host headers get 403\n"
          "  --secret-header NAME   a target header shown as *** like Authorization, Cookie\n"
          "                         and Proxy-Authorization (repeatable)\n"
          "  --tls-dir DIR          a spec's target.tls.ca, cert and key may name a PEM file\n"
          "                         of this folder (the dashboard reads no other path)\n"
          "  --secret-body          show every run's request body as *** too\n"
          "  --allow-target PATTERN  runs may aim only at these hosts (a name, *.domain, an\n"
          "                         address or a CIDR such as 10.0.0.0/8; repeatable; or\n"
          "                         CONLAB_ALLOW_TARGETS=a,b). Default: any host\n"
          "  --allow-self-target    let runs aim at the dashboard itself (refused by default)\n"
          "  --max-runs N           keep at most N ended runs: the oldest are deleted\n"
          "  --max-db-mb M          delete the oldest ended runs while the data takes more\n"
          "                         than M MiB; a run that would take the file past 2 x M\n"
          "                         ends failed\n"
          "  --max-run-s S          cancel a run still running after S s (default 3600;\n"
          "                         0: no limit)\n"
          "  --shard-join-s S       a sharded run whose shards have not all joined after S s\n"
          "                         ends partial (failed when none did; default 120)\n"
          "  --shard-point-s S      a shard that makes no progress for S s (no barrier, no\n"
          "                         results) ends its run partial (default 600)\n"
          "  --shard-skew-ms MS     a shard whose clock is further off ends its run partial\n"
          "                         (default 250)\n"
          "  --shard-upload-mb N    the largest part of one point a shard may upload (default\n"
          "                         64)\n"
          "  --web-root DIR         the page's files (default: web/ next to the binary)\n"
          "  --queue N              runs that may wait for the runner (default 16)\n"
          "  --queue-per-client N   ... of them from one client address, loopback aside\n"
          "                         (default 4)\n"
          "  --threads N            web server threads (default 256; each open\n"
          "                         connection holds one)\n"
          "  --keepalive-timeout-ms T  idle keep-alive connections close after T ms\n"
          "                         (default 5000; announced as Keep-Alive: timeout=)\n"
          "  --request-timeout-ms T  a request head must arrive within T ms, and each read\n"
          "                         of a body make progress within it (default 5000)\n"
          "  --max-conns-per-client N  connections one client address (not loopback) may\n"
          "                         hold before its idle ones are closed (default threads/2)\n"
          "  --max-requests N       limits above which a spec is refused (defaults 1000000,\n"
          "  --max-concurrency-threads N    1000, 10000, 256 and 3600000)\n"
          "  --max-concurrency-async N\n"
          "  --max-concurrency-processes N\n"
          "  --max-concurrency-h2mux N      (h2mux streams: 1000)\n"
          "  --max-timeout-ms N\n"
          "  --max-total-requests N  requests x levels x modes of one run (default 10000000)\n"
          "  --max-work-s S         work_us x all its requests, in CPU seconds, of one run\n"
          "                         (default 3600)\n"
          "  --demo-max-conns N     connections the demo target holds (default a quarter of\n"
          "                         the descriptor limit, at most 20000)\n"
          "  --client NAME=COMMAND  register a program as a mode NAME (docs/CLIENTS.md);\n"
          "                         repeatable\n"
          "  --clients FILE         register the clients of a file (NAME=COMMAND per line,\n"
          "                         a comment line above one is its description)\n"
          "  --default-modes LIST   the modes the page's form starts with (default the four\n"
          "                         built-in ones), e.g. sync,threads,async,processes,py-sync\n",
          f);
}

static bool serve_is_loopback(const char *host)
{
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1) return false;
    return (ntohl(a.s_addr) >> 24) == 127;
}

static int serve_parse_host(const char *v, const char *what, char *host, size_t hostlen,
                            int *port, char *err, size_t errlen)
{
    if (parse_hostport(v, what, host, hostlen, port, err, errlen)) return -1;
    if (!strcmp(host, "localhost")) snprintf(host, hostlen, "127.0.0.1");
    struct in_addr a;
    if (host[0] && inet_pton(AF_INET, host, &a) != 1)
        return errf(err, errlen, "%s: '%s' is not an IPv4 address (or localhost)", what, host);
    return 0;
}

enum {
    OPT_LISTEN = 1000, OPT_DB, OPT_DEMO, OPT_NO_DEMO, OPT_TOKEN, OPT_WEB_ROOT, OPT_QUEUE,
    OPT_THREADS, OPT_DEMO_WORKERS, OPT_DEMO_DELAY, OPT_MAX_REQUESTS, OPT_MAX_THREADS,
    OPT_MAX_ASYNC, OPT_MAX_PROCESSES, OPT_MAX_TIMEOUT, OPT_PUBLIC_READ, OPT_ALLOW_HOST,
    OPT_SECRET_HEADER, OPT_MAX_RUNS, OPT_MAX_DB_MB, OPT_MAX_RUN_S, OPT_KEEPALIVE,
    OPT_MAX_TOTAL, OPT_MAX_WORK, OPT_DEMO_MAX_CONNS, OPT_TOKEN_FILE, OPT_SECRET_BODY,
    OPT_ALLOW_TARGET, OPT_ALLOW_SELF, OPT_PER_CLIENT, OPT_QUEUE_PER_CLIENT, OPT_TLS_DIR,
    OPT_MAX_H2MUX, OPT_CLIENT, OPT_CLIENTS, OPT_DEFAULT_MODES, OPT_SHARD_JOIN, OPT_SHARD_POINT,
    OPT_SHARD_SKEW, OPT_SHARD_UPLOAD, OPT_REQUEST_TIMEOUT,
};

static const struct option serve_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"db", required_argument, NULL, OPT_DB},
    {"demo-target", required_argument, NULL, OPT_DEMO},
    {"no-demo-target", no_argument, NULL, OPT_NO_DEMO},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"web-root", required_argument, NULL, OPT_WEB_ROOT},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"demo-workers", required_argument, NULL, OPT_DEMO_WORKERS},
    {"demo-delay-ms", required_argument, NULL, OPT_DEMO_DELAY},
    {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
    {"max-concurrency-threads", required_argument, NULL, OPT_MAX_THREADS},
    {"max-concurrency-async", required_argument, NULL, OPT_MAX_ASYNC},
    {"max-concurrency-processes", required_argument, NULL, OPT_MAX_PROCESSES},
    {"max-concurrency-h2mux", required_argument, NULL, OPT_MAX_H2MUX},
    {"max-timeout-ms", required_argument, NULL, OPT_MAX_TIMEOUT},
    {"public-read", no_argument, NULL, OPT_PUBLIC_READ},
    {"allow-host", required_argument, NULL, OPT_ALLOW_HOST},
    {"secret-header", required_argument, NULL, OPT_SECRET_HEADER},
    {"max-runs", required_argument, NULL, OPT_MAX_RUNS},
    {"max-db-mb", required_argument, NULL, OPT_MAX_DB_MB},
    {"max-run-s", required_argument, NULL, OPT_MAX_RUN_S},
    {"shard-join-s", required_argument, NULL, OPT_SHARD_JOIN},
    {"shard-point-s", required_argument, NULL, OPT_SHARD_POINT},
    {"shard-skew-ms", required_argument, NULL, OPT_SHARD_SKEW},
    {"shard-upload-mb", required_argument, NULL, OPT_SHARD_UPLOAD},
    {"keepalive-timeout-ms", required_argument, NULL, OPT_KEEPALIVE},
    {"request-timeout-ms", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"tls-dir", required_argument, NULL, OPT_TLS_DIR},
    {"max-total-requests", required_argument, NULL, OPT_MAX_TOTAL},
    {"max-work-s", required_argument, NULL, OPT_MAX_WORK},
    {"demo-max-conns", required_argument, NULL, OPT_DEMO_MAX_CONNS},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"secret-body", no_argument, NULL, OPT_SECRET_BODY},
    {"allow-target", required_argument, NULL, OPT_ALLOW_TARGET},
    {"allow-self-target", no_argument, NULL, OPT_ALLOW_SELF},
    {"max-conns-per-client", required_argument, NULL, OPT_PER_CLIENT},
    {"queue-per-client", required_argument, NULL, OPT_QUEUE_PER_CLIENT},
    {"client", required_argument, NULL, OPT_CLIENT},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"default-modes", required_argument, NULL, OPT_DEFAULT_MODES},
    {0},
};

/* Reads the token from the first line of a file (the line end and trailing spaces dropped). */
static int serve_token_file(struct serve_opts *o, const char *flag, const char *path, char *err,
                            size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return errf(err, errlen, "%s: cannot read %s: %s", flag, path, strerror(errno));
    bool got = fgets(o->token_buf, sizeof o->token_buf, f) != NULL;
    fclose(f);
    size_t n = got ? strlen(o->token_buf) : 0;
    while (n && strchr(" \t\r\n", o->token_buf[n - 1]))
        o->token_buf[--n] = '\0';
    if (!n) return errf(err, errlen, "%s: %s holds no token on its first line", flag, path);
    o->token = o->token_buf;
    o->token_on_command_line = false;
    return 0;
}

static int serve_add_target(struct serve_opts *o, const char *flag, const char *v, char *err,
                            size_t errlen)
{
    if (dashboard_target_pattern_valid(v, err, errlen)) return -1;
    if (o->nallow_targets >= 64) return errf(err, errlen, "%s: at most 64 of them", flag);
    o->allow_targets[o->nallow_targets++] = v;
    return 0;
}

/* Adds a name to a list of at most 64 (a Host name or a header name: one token, no spaces). */
static int serve_add_name(const char **list, int *n, const char *flag, const char *v, char *err,
                          size_t errlen)
{
    if (!*v || strlen(v) > 255 || strpbrk(v, " \t\r\n,/"))
        return errf(err, errlen, "%s: '%.60s' is not a name", flag, v);
    if (*n >= 64) return errf(err, errlen, "%s: at most 64 of them", flag);
    list[(*n)++] = v;
    return 0;
}

static int serve_option(void *ctx, int id, const char *flag, const char *v, char *err,
                        size_t errlen)
{
    struct serve_opts *o = ctx;
    int64_t n;
    switch (id) {
    case OPT_LISTEN:
        return serve_parse_host(v, flag, o->host, sizeof o->host, &o->port, err, errlen);
    case OPT_DEMO: {
        int port;
        if (serve_parse_host(v, flag, o->target.host, sizeof o->target.host, &port, err, errlen))
            return -1;
        o->target.port = port;
        o->demo = true;
        return 0;
    }
    case OPT_NO_DEMO: o->demo = false; return 0;
    case OPT_CLIENT: return client_registry_add(&o->clients, v, "", flag, err, errlen);
    case OPT_CLIENTS: return client_registry_load(&o->clients, v, err, errlen);
    case OPT_DEFAULT_MODES:
        if (snprintf(o->default_modes_text, sizeof o->default_modes_text, "%s", v) >=
            (int)sizeof o->default_modes_text)
            return errf(err, errlen, "%s: too long", flag);
        return 0;
    case OPT_PUBLIC_READ: o->public_read = true; return 0;
    case OPT_ALLOW_HOST: return serve_add_name(o->allow_hosts, &o->nallow_hosts, flag, v, err, errlen);
    case OPT_SECRET_HEADER:
        return serve_add_name(o->secret_headers, &o->nsecret_headers, flag, v, err, errlen);
    case OPT_MAX_RUNS: return parse_int64(v, flag, 0, INT64_MAX / 4, &o->job.max_runs, err, errlen);
    case OPT_MAX_DB_MB:
        if (parse_int64(v, flag, 0, 1 << 30, &n, err, errlen)) return -1;
        o->job.max_db_bytes = n << 20;
        return 0;
    case OPT_KEEPALIVE:
        if (parse_int64(v, flag, 1000, 600000, &n, err, errlen)) return -1;
        o->keepalive_ms = (int)n;
        return 0;
    case OPT_REQUEST_TIMEOUT:
        if (parse_int64(v, flag, 100, 600000, &n, err, errlen)) return -1;
        o->request_timeout_ms = (int)n;
        return 0;
    case OPT_SHARD_JOIN:
        if (parse_int64(v, flag, 1, 86400, &n, err, errlen)) return -1;
        o->shard_join_ms = n * 1000;
        return 0;
    case OPT_SHARD_POINT:
        if (parse_int64(v, flag, 1, 7 * 86400, &n, err, errlen)) return -1;
        o->shard_point_ms = n * 1000;
        return 0;
    case OPT_SHARD_SKEW:
        return parse_int64(v, flag, 1, 3600000, &o->shard_skew_ms, err, errlen);
    case OPT_SHARD_UPLOAD:
        if (parse_int64(v, flag, 1, 4096, &n, err, errlen)) return -1;
        o->shard_upload_bytes = n << 20;
        return 0;
    case OPT_MAX_RUN_S:
        if (parse_int64(v, flag, 0, 100LL * 365 * 86400, &n, err, errlen)) return -1;
        o->job.max_run_ms = n * 1000;
        return 0;
    case OPT_DB:
        if (!*v) return errf(err, errlen, "%s: expected a file name", flag);
        o->db = v;
        return 0;
    case OPT_TOKEN:
        o->token = v;
        o->token_on_command_line = true;
        return 0;
    case OPT_TOKEN_FILE: return serve_token_file(o, flag, v, err, errlen);
    case OPT_SECRET_BODY: o->secret_body = true; return 0;
    case OPT_ALLOW_SELF: o->allow_self_target = true; return 0;
    case OPT_QUEUE_PER_CLIENT:
        if (parse_int64(v, flag, 1, 10000, &n, err, errlen)) return -1;
        o->job.queue_per_client = (int)n;
        return 0;
    case OPT_PER_CLIENT:
        if (parse_int64(v, flag, 1, 100000, &n, err, errlen)) return -1;
        o->per_client = (int)n;
        return 0;
    case OPT_ALLOW_TARGET: return serve_add_target(o, flag, v, err, errlen);
    case OPT_TLS_DIR: {
        struct stat st;
        if (stat(v, &st) || !S_ISDIR(st.st_mode))
            return errf(err, errlen, "%s: '%.200s' is not a folder", flag, v);
        o->tls_dir = v;
        return 0;
    }
    case OPT_WEB_ROOT: snprintf(o->web_root, sizeof o->web_root, "%s", v); return 0;
    case OPT_QUEUE:
        if (parse_int64(v, flag, 1, 10000, &n, err, errlen)) return -1;
        o->job.queue_max = (int)n;
        return 0;
    case OPT_THREADS:
        if (parse_int64(v, flag, 4, 1000, &n, err, errlen)) return -1;
        o->threads = (int)n;
        return 0;
    case OPT_DEMO_WORKERS: return parse_int64(v, flag, 1, 10000, &o->target.workers, err, errlen);
    case OPT_DEMO_DELAY:
        return parse_int64(v, flag, 0, TARGET_MAX_DELAY_MS, &o->target.delay_ms, err, errlen);
    case OPT_MAX_REQUESTS:
        return parse_int64(v, flag, 1, INT64_MAX / 4, &o->limits.max_requests, err, errlen);
    case OPT_MAX_THREADS:
        return parse_int64(v, flag, 1, 100000, &o->limits.max_concurrency[MODE_THREADS], err,
                           errlen);
    case OPT_MAX_ASYNC:
        return parse_int64(v, flag, 1, 1000000, &o->limits.max_concurrency[MODE_ASYNC], err,
                           errlen);
    case OPT_MAX_H2MUX:
        return parse_int64(v, flag, 1, 100000, &o->limits.max_concurrency[MODE_H2MUX], err,
                           errlen);
    case OPT_MAX_TOTAL:
        return parse_int64(v, flag, 1, INT64_MAX / 4, &o->limits.max_total_requests, err, errlen);
    case OPT_MAX_WORK:
        return parse_int64(v, flag, 1, INT64_MAX / 4 / 1000000, &o->limits.max_work_s, err,
                           errlen);
    case OPT_DEMO_MAX_CONNS:
        if (parse_int64(v, flag, 1, 1000000, &o->target.max_conns, err, errlen)) return -1;
        o->demo_max_conns_set = true;
        return 0;
    case OPT_MAX_PROCESSES:
        return parse_int64(v, flag, 1, 10000, &o->limits.max_concurrency[MODE_PROCESSES], err,
                           errlen);
    default: return parse_int64(v, flag, 1, INT64_MAX / 4, &o->limits.max_timeout_ms, err, errlen);
    }
}

/* --default-modes: built-in modes or registered clients, each once (checked after every
 * --client/--clients, wherever they stand). */
static int serve_default_modes(struct serve_opts *o, char *err, size_t errlen)
{
    for (char *save = NULL, *t = strtok_r(o->default_modes_text, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (mode_from_name(t) < 0 && !client_registry_find(&o->clients, t))
            return errf(err, errlen, "--default-modes: '%.40s' is neither a mode nor a registered client", t);
        for (int i = 0; i < o->ndefault_modes; i++)
            if (!strcmp(o->default_modes[i], t))
                return errf(err, errlen, "--default-modes: '%s' is listed twice", t);
        if (o->ndefault_modes == SPEC_MAX_MODES)
            return errf(err, errlen, "--default-modes: at most %d modes", SPEC_MAX_MODES);
        o->default_modes[o->ndefault_modes++] = t;
    }
    return 0;
}

/* Parses the command line into o. Returns 0, 1 for --help, or -1 with err naming the option. */
static int serve_parse(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen)
{
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 8080;
    o->db = "data/conlab.db";
    o->demo = true;
    target_opts_default(&o->target);
    o->token = getenv("CONLAB_TOKEN");
    o->threads = 256;
    job_opts_default(&o->job);
    o->job.max_run_ms = 3600 * 1000;
    /* CONLAB_ALLOW_HOSTS=a,b adds to --allow-host. */
    const char *env = getenv("CONLAB_ALLOW_HOSTS");
    snprintf(o->allow_env, sizeof o->allow_env, "%s", env ? env : "");
    for (char *save = NULL, *t = strtok_r(o->allow_env, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (*t && serve_add_name(o->allow_hosts, &o->nallow_hosts, "CONLAB_ALLOW_HOSTS", t, err,
                                 errlen))
            return -1;
    }
    const char *tf = getenv("CONLAB_TOKEN_FILE");
    if (tf && *tf && serve_token_file(o, "CONLAB_TOKEN_FILE", tf, err, errlen)) return -1;
    /* CONLAB_ALLOW_TARGETS=a,b adds to --allow-target. */
    env = getenv("CONLAB_ALLOW_TARGETS");
    snprintf(o->allow_targets_env, sizeof o->allow_targets_env, "%s", env ? env : "");
    for (char *save = NULL, *t = strtok_r(o->allow_targets_env, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (*t && serve_add_target(o, "CONLAB_ALLOW_TARGETS", t, err, errlen)) return -1;
    }
    spec_limits_default(&o->limits);
    o->limits.max_total_requests = SPEC_DASHBOARD_MAX_TOTAL;
    o->limits.max_work_s = SPEC_DASHBOARD_MAX_WORK_S;
    char exe[4096];
    snprintf(exe, sizeof exe, "%s", self_exe());
    snprintf(o->web_root, sizeof o->web_root, "%s/web", dirname(exe));
    int rc = args_parse("serve", argc, argv, serve_options, serve_option, o, err, errlen);
    if (rc) return rc;
    if (o->token && !*o->token) return errf(err, errlen, "--token: must not be empty");
    client_registry_limits(&o->clients, &o->limits);
    o->job.clients = &o->clients;
    if (serve_default_modes(o, err, errlen)) return -1;
    if (!o->token && !serve_is_loopback(o->host))
        return errf(err, errlen,
                    "--listen: refusing to serve %s:%d without a token, since anyone who can "
                    "reach it could start runs; set one with --token T (or CONLAB_TOKEN=T), or "
                    "listen on 127.0.0.1",
                    o->host[0] ? o->host : "0.0.0.0", o->port);
    return 0;
}

/* Makes sure descriptors 0-2 are open, so that no pipe or socket ever lands on them. */
static void serve_std_fds(void)
{
    int fd;
    while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2) {
        int keep = fcntl(fd, F_GETFD);
        fcntl(fd, F_SETFD, keep & ~FD_CLOEXEC);
    }
    if (fd > 2) close(fd);
}

int cmd_serve(int argc, char **argv)
{
    static struct serve_opts o;
    char err[512];
    int prc = serve_parse(argc, argv, &o, err, sizeof err);
    if (prc == 1) {
        serve_usage(stdout);
        return 0;
    }
    if (prc) {
        fprintf(stderr, "conlab serve: %s\n", err);
        return 2;
    }
    if (o.token_on_command_line)
        fprintf(stderr, "conlab serve: warning: --token on the command line shows in ps and in "
                        "the shell's history; use --token-file FILE or CONLAB_TOKEN\n");
    serve_std_fds();
    raise_fd_limit();
    /* Big answers (lists, exports) are built on any of 256 threads: with glibc's defaults each
     * thread's arena keeps what it freed, and large blocks stop being given back once one of
     * them was (its mmap threshold grows). A fixed threshold and a few arenas give memory back. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 4);
    /* The demo target lives in this process: held to a quarter of its descriptors, so that a
     * flood of connections to it leaves the dashboard, its database and its jobs theirs. */
    struct rlimit rl;
    if (!o.demo_max_conns_set && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY && o.target.max_conns > (int64_t)rl.rlim_cur / 4)
        o.target.max_conns = (int64_t)rl.rlim_cur / 4 > 64 ? (int64_t)rl.rlim_cur / 4 : 64;
    /* Every thread started from here on inherits this mask; main takes the signals with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    int rc = 1;
    struct store *wst = NULL, *rst = NULL;
    struct target *target = NULL;
    struct dashboard *dash = NULL;
    if (store_open(o.db, &wst, err, sizeof err) || store_open(o.db, &rst, err, sizeof err)) {
        fprintf(stderr, "conlab serve: --db %s: %s\n", o.db, err);
        goto out;
    }
    /* --max-db-mb holds during a run too: the runner's writes may take the file to twice the
     * limit (the retention after each run brings the data back under it), and a run that needs
     * more ends failed, naming the store, with what it stored before kept. */
    if (o.job.max_db_bytes > 0 &&
        store_limit_bytes(wst, 2 * o.job.max_db_bytes, err, sizeof err)) {
        fprintf(stderr, "conlab serve: --db %s: %s\n", o.db, err);
        goto out;
    }
    int n = store_mark_interrupted(wst, wallclock_us(), err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "conlab serve: --db %s: %s\n", o.db, err);
        goto out;
    }
    if (n > 0)
        fprintf(stderr, "conlab serve: %d run%s left running by an earlier stop marked "
                "interrupted\n", n, n == 1 ? "" : "s");

    char demo_url[300] = "";
    if (o.demo) {
        if (target_start(&o.target, &target, err, sizeof err)) {
            fprintf(stderr, "conlab serve: demo target: %s (pick another address with "
                    "--demo-target HOST:PORT, or --no-demo-target)\n", err);
            goto out;
        }
        const char *h = o.target.host[0] && strcmp(o.target.host, "0.0.0.0") ? o.target.host
                                                                             : "127.0.0.1";
        snprintf(demo_url, sizeof demo_url, "http://%s:%d/", h, target_port(target));
    }
    struct dashboard_opts dopts = {
        .host = o.host, .port = o.port, .web_root = o.web_root, .threads = o.threads,
        .db_path = o.db, .limits = o.limits, .token = o.token, .public_read = o.public_read,
        .allow_hosts = o.allow_hosts, .nallow_hosts = o.nallow_hosts, .keepalive_ms = o.keepalive_ms,
        .request_timeout_ms = o.request_timeout_ms,
        .secret_headers = o.secret_headers, .nsecret_headers = o.nsecret_headers,
        .secret_body = o.secret_body, .allow_targets = o.allow_targets,
        .nallow_targets = o.nallow_targets, .allow_self_target = o.allow_self_target,
        .per_client = o.per_client,
        .demo_url = o.demo ? demo_url : NULL, .demo_workers = o.target.workers,
        .tls_dir = o.tls_dir,
        .demo_delay_ms = o.target.delay_ms, .job = o.job,
        .shard_join_ms = o.shard_join_ms, .shard_point_ms = o.shard_point_ms,
        .shard_skew_ms = o.shard_skew_ms, .shard_upload_bytes = o.shard_upload_bytes,
        .default_modes = o.default_modes, .ndefault_modes = o.ndefault_modes,
    };
    char url[320];
    if (dashboard_start(&dopts, wst, rst, &dash, url, sizeof url, err, sizeof err)) {
        fprintf(stderr, "conlab serve: --listen %s:%d: %s (is another server using it? pick "
                "another with --listen HOST:PORT)\n", o.host[0] ? o.host : "0.0.0.0", o.port, err);
        goto out;
    }
    if (access(o.web_root, R_OK) != 0)
        fprintf(stderr, "conlab serve: warning: no page files in %s (build with cmake, or pass "
                "--web-root DIR); the API works\n", o.web_root);
    printf("conlab serve: dashboard on %s (db %s, demo target %s)\n", url, o.db,
           o.demo ? demo_url : "off");
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0 || sig == SIGHUP)
        ;
    fprintf(stderr, "conlab serve: %s: stopping\n", strsignal(sig));
    rc = 0;
out:
    /* The dashboard first (its running run becomes "interrupted"), then the target, the
     * store. */
    dashboard_stop(dash);
    if (target) target_stop(target);
    if (rst) store_close(rst);
    if (wst) store_close(wst);
    return rc;
}
