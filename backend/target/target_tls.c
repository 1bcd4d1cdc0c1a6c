/* TLS for the demo server (OpenSSL): the context (a certificate chain and key from PEM files,
 * ALPN offering h2 then http/1.1), the non-blocking handshake, the faults that break it on
 * purpose, and the byte I/O that every connection goes through, plain or not. */
#include "target_int.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define BAD_CERT_NAME "bad-cert.conlab.invalid"
#define TLS_JOIN_MAX 16384 /* one TLS record's worth of plaintext */

static const unsigned char alpn_offer[] = "\x02h2\x08http/1.1";

/* The server's preference (h2, then http/1.1) among what the client offers; no ALPN at all
 * when they share none (the connection then speaks HTTP/1.1). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, alpn_offer, sizeof alpn_offer - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* err gets "what: OpenSSL's first queued error"; returns -1. */
static int ssl_errf(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "failed";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return errf(err, errlen, "%s: %s", what, buf);
}

static int readable(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return errf(err, errlen, "%s: %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* --fault tls_bad_cert: a fresh self-signed certificate (P-256) for BAD_CERT_NAME, which no
 * client can verify, whatever name or CA it was told to trust. */
static int use_bad_cert(SSL_CTX *ctx, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_EXTENSION *san = NULL;
    int ok = key && x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) && X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                        (const unsigned char *)BAD_CERT_NAME, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) &&
             (san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:" BAD_CERT_NAME)) &&
             X509_add_ext(x, san, -1) && X509_sign(x, key, EVP_sha256()) &&
             SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_EXTENSION_free(san);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok ? 0 : ssl_errf(err, errlen, "tls_bad_cert: making a certificate");
}

/* mTLS: every client must show a certificate that ca_file's CAs signed; the handshake fails
 * otherwise (the client sees a TLS alert). */
static int require_client_cert(SSL_CTX *ctx, const char *ca_file, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (!names || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return ssl_errf(err, errlen, "tls_client_ca: not a PEM CA certificate");
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
}

int target_tls_init(struct target *t, char *err, size_t errlen)
{
    const struct target_opts *o = &t->o;
    int has_cert = o->tls_cert[0] != '\0', has_key = o->tls_key[0] != '\0';
    if (has_cert && !has_key) return errf(err, errlen, "tls_key: needed with tls_cert");
    if (has_key && !has_cert) return errf(err, errlen, "tls_cert: needed with tls_key");
    if (o->tls_client_ca[0] && !has_cert)
        return errf(err, errlen, "tls_client_ca: needs tls_cert and tls_key");
    if (!has_cert && o->tls_fault != TARGET_TLS_BAD_CERT) return 0; /* hang, close: no context */
    if (has_cert && (readable("tls_cert", o->tls_cert, err, errlen) ||
                     readable("tls_key", o->tls_key, err, errlen) ||
                     (o->tls_client_ca[0] &&
                      readable("tls_client_ca", o->tls_client_ca, err, errlen))))
        return -1;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return ssl_errf(err, errlen, "tls");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    int rc = 0;
    if (o->tls_fault == TARGET_TLS_BAD_CERT)
        rc = use_bad_cert(ctx, err, errlen);
    else if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
        rc = ssl_errf(err, errlen, "tls_cert: not a PEM certificate chain");
    else if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1)
        rc =
            ssl_errf(err, errlen, "tls_key: not a PEM private key for the certificate of tls_cert");
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = ssl_errf(err, errlen, "tls_key: does not match the certificate of tls_cert");
    else if (o->tls_client_ca[0])
        rc = require_client_cert(ctx, o->tls_client_ca, err, errlen);
    if (rc) {
        SSL_CTX_free(ctx);
        return -1;
    }
    t->ssl_ctx = ctx;
    return 0;
}

void target_tls_cleanup(struct target *t)
{
    SSL_CTX_free(t->ssl_ctx);
    t->ssl_ctx = NULL;
}

void target_tls_accept(struct target *t, struct conn *c)
{
    if (t->o.tls_fault == TARGET_TLS_HANG) {
        c->st = C_HANG; /* read and dropped until the client leaves or the idle timeout */
        return;
    }
    c->st = C_TLS;
    if (t->o.tls_fault == TARGET_TLS_CLOSE) return; /* no SSL: target_tls_event resets */
    if (!(c->ssl = SSL_new(t->ssl_ctx)) || SSL_set_fd(c->ssl, c->fd) != 1) {
        ERR_clear_error();
        target_conn_close(t, c);
        return;
    }
    SSL_set_accept_state(c->ssl);
}

void target_tls_event(struct target *t, struct conn *c, uint32_t ev)
{
    (void)ev;
    if (!c->ssl) {
        /* --fault tls_close: the ClientHello is here (or the client left): reset. */
        ssize_t n = recv(c->fd, t->scratch, sizeof t->scratch, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
        target_conn_close(t, c);
        return;
    }
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        c->last_us = clock_us();
        const unsigned char *p = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(c->ssl, &p, &n);
        if (n == 2 && !memcmp(p, "h2", 2)) {
            target_h2_start(t, c, NULL, 0);
            return;
        }
        c->st = C_HEAD;
        target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
        target_h1_read(t, c);
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ)
        target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
    else if (e == SSL_ERROR_WANT_WRITE)
        target_conn_set_events(t, c, EPOLLOUT | EPOLLRDHUP);
    else /* a failed handshake or a client that left */
        target_conn_close(t, c);
}

void target_tls_free(struct conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

void target_tls_goodbye(struct conn *c)
{
    if (!c->ssl) return;
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

/* errno for an SSL_read or SSL_write that moved nothing. */
static ssize_t ssl_fail(struct conn *c, int rc)
{
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
    return -1;
}

ssize_t target_io_recv(struct conn *c, void *buf, size_t len)
{
    if (!c->ssl) return recv(c->fd, buf, len, 0);
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    return n > 0 ? n : ssl_fail(c, n);
}

ssize_t target_io_send(struct conn *c, const struct iovec *iov, int n)
{
    if (!c->ssl) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
        return sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    /* Small pieces (a response head and a short body) go out as one record; otherwise one
     * piece at a time. Either way a retry after WANT_WRITE passes the same bytes again, as
     * OpenSSL requires: the caller's state does not move until bytes are taken. */
    char joined[TLS_JOIN_MAX];
    const void *p = iov[0].iov_base;
    size_t len = iov[0].iov_len;
    if (n > 1 && len < sizeof joined) {
        size_t k = 0;
        for (int i = 0; i < n && k + iov[i].iov_len <= sizeof joined; i++) {
            memcpy(joined + k, iov[i].iov_base, iov[i].iov_len);
            k += iov[i].iov_len;
        }
        p = joined;
        len = k;
    }
    ERR_clear_error();
    if (len > INT_MAX) len = INT_MAX;
    int w = SSL_write(c->ssl, p, (int)len);
    if (w > 0) return w;
    ssize_t rc = ssl_fail(c, w);
    if (rc == 0) errno = EPIPE;
    return -1;
}

int target_io_pending(const struct conn *c)
{
    return c->ssl && SSL_pending(c->ssl) > 0;
}
