/* Shared libcurl setup and timing extraction for every mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "bench_curl.h"
#include "bench_cancel.h"
#include "util.h"

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct bench_xfer *x = userp;
    size_t len = size * n;
    x->rec.bytes += (int64_t)len;
    /* The body is kept only for the client's work on it (work_us), and only its first bytes. */
    if (x->work_us > 0 && x->body_len < BENCH_BODY_KEEP) {
        size_t take = len < BENCH_BODY_KEEP - x->body_len ? len : BENCH_BODY_KEEP - x->body_len;
        if (x->body_len + take > x->body_cap) {
            size_t cap = x->body_cap ? x->body_cap : 1024;
            while (cap < x->body_len + take)
                cap *= 2;
            if (cap > BENCH_BODY_KEEP) cap = BENCH_BODY_KEEP;
            unsigned char *p = realloc(x->body, cap);
            if (!p) return len; /* the work then runs over what was kept */
            x->body = p;
            x->body_cap = cap;
        }
        memcpy(x->body + x->body_len, data, take);
        x->body_len += take;
    }
    return len;
}

struct curl_slist *bench_curl_headers(const struct spec *s)
{
    struct curl_slist *list = NULL;
    for (int i = 0; i < s->nheaders; i++) {
        char line[8192 + 300];
        snprintf(line, sizeof line, "%s: %s", s->headers[i].name, s->headers[i].value);
        struct curl_slist *next = curl_slist_append(list, line);
        if (!next) break;
        list = next;
    }
    if (s->body) {
        struct curl_slist *next = curl_slist_append(list, "Expect:");
        if (next) list = next;
    }
    return list;
}

static long curl_http_version(enum spec_http h)
{
    switch (h) {
    case SPEC_HTTP_2: return CURL_HTTP_VERSION_2_0;
    case SPEC_HTTP_2_PRIOR: return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    case SPEC_HTTP_3: return CURL_HTTP_VERSION_3ONLY; /* never a silent fallback */
    default: return CURL_HTTP_VERSION_1_1;
    }
}

/* A PEM value of the spec as a blob libcurl reads in place (the spec outlives the handle). */
static struct curl_blob pem_blob(const char *pem)
{
    return (struct curl_blob){(void *)pem, strlen(pem), CURL_BLOB_NOCOPY};
}

/* target.tls and target.resolve. */
static CURLcode set_transport(struct bench_xfer *x, const struct spec *s)
{
    CURL *e = x->easy;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_HTTP_VERSION, curl_http_version(s->http));
    if (rc == CURLE_OK && s->tls.insecure) {
        rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    struct curl_blob b;
    if (rc == CURLE_OK && s->tls.ca) {
        b = pem_blob(s->tls.ca);
        rc = curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    }
    if (rc == CURLE_OK && s->tls.cert) {
        b = pem_blob(s->tls.cert);
        rc = curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (rc == CURLE_OK && s->tls.key) {
        b = pem_blob(s->tls.key);
        rc = curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    for (int i = 0; rc == CURLE_OK && i < s->nresolve; i++) {
        struct curl_slist *next = curl_slist_append(x->resolve, s->resolve[i]);
        if (!next) return CURLE_OUT_OF_MEMORY;
        x->resolve = next;
    }
    if (rc == CURLE_OK && x->resolve) rc = curl_easy_setopt(e, CURLOPT_RESOLVE, x->resolve);
    return rc;
}

int bench_xfer_init(struct bench_xfer *x, const struct spec *s, struct curl_slist *headers,
                    int64_t t0, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->t0 = t0;
    x->work_us = s->work_us;
    x->tls = !strncasecmp(s->url, "https://", 8);
    x->keepalive = s->keepalive;
    x->pk_reuse = s->http == SPEC_HTTP_2_PRIOR && bench_curl_pk_reuse_broken();
    x->easy = curl_easy_init();
    if (!x->easy) return errf(err, errlen, "curl_easy_init failed");
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, s->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)s->timeout_ms); /* the whole transfer, connecting included */
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_NOPROGRESS, 1L); /* a cancel wakes the waits instead (the cancel pipe) */
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_USERAGENT, "conlab/" CONLAB_VERSION);
    SET(CURLOPT_TCP_NODELAY, 1L);
    if (headers) SET(CURLOPT_HTTPHEADER, headers);
    if (!s->keepalive) {
        SET(CURLOPT_FORBID_REUSE, 1L);
        SET(CURLOPT_FRESH_CONNECT, 1L);
    }
    if (strcmp(s->method, "GET") != 0) {
        if (!strcmp(s->method, "HEAD")) {
            SET(CURLOPT_NOBODY, 1L);
        } else {
            SET(CURLOPT_CUSTOMREQUEST, s->method);
        }
    }
    if (s->body) {
        SET(CURLOPT_POSTFIELDS, s->body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
        if (!strcmp(s->method, "GET")) {
            SET(CURLOPT_CUSTOMREQUEST, "GET");
        }
    }
#undef SET
    if (rc == CURLE_OK) rc = set_transport(x, s);
    if (rc != CURLE_OK) {
        errf(err, errlen, "setting up libcurl: %s", curl_easy_strerror(rc));
        curl_easy_cleanup(e);
        curl_slist_free_all(x->resolve);
        x->easy = NULL;
        x->resolve = NULL;
        return -1;
    }
    return 0;
}

bool bench_curl_pk_reuse_broken(void)
{
    return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

void bench_xfer_begin(struct bench_xfer *x, int64_t seq, int64_t lane, int64_t sched_us)
{
    if (x->pk_reuse) /* see bench_curl_pk_reuse_broken */
        curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
                         x->live ? (long)CURL_HTTP_VERSION_2TLS
                                 : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    memset(&x->rec, 0, sizeof x->rec);
    x->errbuf[0] = '\0';
    x->error = "";
    x->rec.seq = seq;
    x->rec.lane = (int32_t)lane;
    x->rec.msg = -1;
    x->rec.sched_us = sched_us;
    x->rec.start_us = clock_us() - x->t0;
    x->rec.connect_us = x->rec.ttfb_us = x->rec.tls_us = -1;
    x->rec.conn = -1;
    x->rec.reused = -1;
    x->body_len = 0;
}

static int64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* FNV-1a, 64 bits. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void bench_xfer_work(struct bench_xfer *x)
{
    if (x->work_us <= 0 || x->rec.status == 0) return;
    static const unsigned char empty[64]; /* what an empty body is hashed as */
    const unsigned char *p = x->body_len ? x->body : empty;
    size_t n = x->body_len ? x->body_len : sizeof empty;
    uint64_t h = x->digest ^ 0xcbf29ce484222325ULL;
    int64_t until = thread_cpu_us() + x->work_us;
    /* The clock is read about every 4 KiB hashed (a few µs), so the work ends within that of
     * its due; a cancel ends it early. */
    do {
        for (size_t done = 0; done < 4096; done += n)
            h = fnv1a(h, p, n);
    } while (thread_cpu_us() < until && !bench_cancel_flag);
    x->digest = h;
}

static enum req_error classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return REQ_ERR_TLS;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return REQ_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return REQ_ERR_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    /* An HTTP/2 stream the server reset (RST_STREAM), or whose body ended short of its
     * content-length: HTTP/1.1's reset connection and cut body, one stream wide. */
    case CURLE_HTTP2_STREAM:
        return REQ_ERR_RESET;
    case CURLE_ABORTED_BY_CALLBACK:
        return REQ_ERR_CANCELLED;
    default:
        return REQ_ERR_OTHER;
    }
}

/* How a refused handshake shows after the client's last flight. */
static bool after_handshake_failure(CURLcode rc)
{
    return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

void bench_xfer_end(struct bench_xfer *x, CURLcode rc)
{
    struct bench_record *r = &x->rec;
    r->end_us = clock_us() - x->t0;
    long status = 0;
    curl_off_t connect = 0, ttfb = 0, tls = 0;
    long connects = 0, version = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
    r->status = (int32_t)status;
    /* curl reports 0 for phases not reached; a reused connection also connects (and finishes
     * its handshake) in 0 µs. */
    if (ttfb > 0) {
        r->ttfb_us = r->start_us + ttfb;
        r->connect_us = r->start_us + connect;
        if (x->tls) r->tls_us = r->start_us + tls;
    } else {
        if (connect > 0) r->connect_us = r->start_us + connect;
        if (x->tls && tls > 0) r->tls_us = r->start_us + tls;
    }
    if (r->ttfb_us > r->end_us) r->ttfb_us = r->end_us;
    if (r->connect_us > r->end_us) r->connect_us = r->end_us;
    if (r->tls_us > r->end_us) r->tls_us = r->end_us;
    /* A connection was used: opened by this transfer (counted from its start, so also when
     * its handshake then failed) or found open. */
    bool reached = connect > 0 || ttfb > 0 || rc == CURLE_OK;
    r->reused = !reached ? -1 : connects > 0 ? 0 : 1;
    if (status > 0)
        r->http_version = version == CURL_HTTP_VERSION_1_0   ? 10
                          : version == CURL_HTTP_VERSION_1_1 ? 11
                          : version == CURL_HTTP_VERSION_2_0 ? 20
                          : version == CURL_HTTP_VERSION_3   ? 30
                                                             : 0;
    x->live = rc == CURLE_OK && x->keepalive && r->http_version == 20;
    x->error = "";
    if (rc != CURLE_OK) {
        r->err_kind = classify(rc);
        x->error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        /* TLS 1.3: a server that refuses the client's certificate (or its absence) does so
         * after the client finished its handshake, so libcurl sees its alert, or the closed
         * connection, only when it sends or reads the request on a new connection. */
        if (x->tls && connects > 0 && ttfb == 0 && after_handshake_failure(rc)) {
            r->err_kind = REQ_ERR_TLS;
            if (!strstr(x->error, "SSL")) {
                char why[CURL_ERROR_SIZE];
                snprintf(why, sizeof why,
                         "the server closed the connection after the TLS handshake (a client "
                         "certificate refused?): %.120s",
                         x->error);
                memcpy(x->errbuf, why, sizeof x->errbuf);
                x->error = x->errbuf;
            }
        }
    } else if (status < 200 || status >= 400) {
        r->err_kind = REQ_ERR_STATUS;
        snprintf(x->errbuf, sizeof x->errbuf, "HTTP %ld", status);
        x->error = x->errbuf;
    } else {
        r->err_kind = REQ_OK;
    }
}

CURLcode bench_xfer_perform(struct bench_xfer *x)
{
    if (bench_cancel_flag) return CURLE_ABORTED_BY_CALLBACK;
    if (!x->solo && !(x->solo = curl_multi_init())) return curl_easy_perform(x->easy);
    if (curl_multi_add_handle(x->solo, x->easy) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    for (bool done = false; !done;) {
        int running = 0, left = 0;
        if (curl_multi_perform(x->solo, &running) != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
        CURLMsg *m;
        while ((m = curl_multi_info_read(x->solo, &left)))
            if (m->msg == CURLMSG_DONE) {
                result = m->data.result;
                done = true;
            }
        if (done) break;
        /* libcurl caps the wait by its own timers (timeouts included); the cancel pipe ends it
         * at once, and then the transfer is abandoned where it stands. */
        struct curl_waitfd cw = {.fd = bench_cancel_fd(), .events = CURL_WAIT_POLLIN};
        curl_multi_poll(x->solo, &cw, cw.fd >= 0 ? 1 : 0, 60000, NULL);
        if (cw.revents || bench_cancel_flag) {
            bench_cancel_flag = 1; /* a worker process learns of the cancel here */
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    curl_multi_remove_handle(x->solo, x->easy);
    return result;
}

void bench_xfer_cleanup(struct bench_xfer *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    if (x->solo) curl_multi_cleanup(x->solo);
    curl_slist_free_all(x->resolve);
    x->resolve = NULL;
    free(x->body);
    x->easy = NULL;
    x->solo = NULL;
    x->body = NULL;
    x->body_len = x->body_cap = 0;
}
