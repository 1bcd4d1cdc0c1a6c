/* The target's transport in a spec: target.http, target.tls, target.resolve, connections and
 * h2mux; names read from a --tls-dir only; the key redacted. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "redact.h"
#include "spec.h"

static struct spec_limits lim;

#define PEM_CERT "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"
#define PEM_KEY "-----BEGIN PRIVATE KEY-----\\nSECRETKEYBYTES\\n-----END PRIVATE KEY-----\\n"

/* Parses {"target": {"url": ..., TARGET}, TOP}; returns 0 or -1 with err. */
static int parse(const char *target, const char *top, struct spec *s, char *err, size_t errlen)
{
    char text[4096];
    snprintf(text, sizeof text, "{\"target\": {\"url\": \"https://h.test/\"%s%s}%s%s}",
             *target ? ", " : "", target, *top ? ", " : "", top);
    return spec_from_text(text, &lim, s, err, errlen);
}

/* 1 when refused with a message starting "field:" that contains `words` (NULL: anything). */
static int refused(const char *target, const char *top, const char *field, const char *words)
{
    struct spec s;
    char err[512] = "";
    if (parse(target, top, &s, err, sizeof err) == 0) {
        fprintf(stderr, "accepted: %s %s\n", target, top);
        spec_free(&s);
        return 0;
    }
    size_t n = strlen(field);
    if (strncmp(err, field, n) || err[n] != ':' || (words && !strstr(err, words))) {
        fprintf(stderr, "for %s %s expected %s (%s), got: %s\n", target, top, field,
                words ? words : "", err);
        return 0;
    }
    return 1;
}

int main(void)
{
    spec_limits_default(&lim);
    struct spec s;
    char err[512];

    /* Defaults: HTTP/1.1, no TLS options, one connection, the talk's four modes. */
    CHECK(parse("", "", &s, err, sizeof err) == 0);
    CHECK(s.http == SPEC_HTTP_1_1 && !s.tls.insecure && !s.tls.ca && !s.tls.key);
    CHECK(s.connections == 1 && s.nresolve == 0 && s.nmodes == 4);
    char *text = spec_to_text(&s);
    CHECK(strstr(text, "\"http\":\"1.1\"") && strstr(text, "\"resolve\":[]") &&
          strstr(text, "\"connections\":1") &&
          strstr(text, "\"tls\":{\"insecure\":false,\"ca\":null,\"cert\":null,\"key\":null}"));
    free(text);
    spec_free(&s);
    CHECK(!strcmp(mode_name(MODE_H2MUX), "h2mux") && mode_from_name("h2mux") == MODE_H2MUX);

    /* Everything set survives the round trip through text (the job child, the starter). */
    CHECK(parse("\"http\": \"2-prior-knowledge\", \"resolve\": [\"h.test:443:127.0.0.1\"], "
                "\"tls\": {\"insecure\": true, \"ca\": \"" PEM_CERT "\", \"cert\": \"" PEM_CERT
                "\", \"key\": \"" PEM_KEY "\"}",
                "\"modes\": [\"h2mux\"], \"concurrency\": 8, \"connections\": 2", &s, err,
                sizeof err) == 0);
    struct spec back;
    CHECK(spec_copy(&back, &s) == 0);
    CHECK(back.http == SPEC_HTTP_2_PRIOR && back.tls.insecure && back.connections == 2);
    CHECK(back.nresolve == 1 && !strcmp(back.resolve[0], "h.test:443:127.0.0.1"));
    CHECK(!strcmp(back.tls.key, s.tls.key) && strstr(back.tls.key, "SECRETKEYBYTES"));
    CHECK(back.nmodes == 1 && back.modes[0] == MODE_H2MUX);
    CHECK(spec_tls_resolved(&back.tls));

    /* The key is a secret in every shape the spec is shown in; the certificate is not. */
    cJSON *j = spec_to_json(&s);
    redact_spec_json(j, NULL, 0);
    char *shown = cJSON_PrintUnformatted(j);
    CHECK(!strstr(shown, "SECRETKEYBYTES") && strstr(shown, "\"key\":\"***\""));
    CHECK(strstr(shown, "BEGIN CERTIFICATE") != NULL);
    free(shown);
    cJSON_Delete(j);
    spec_free(&back);
    spec_free(&s);

    /* Refusals name the field. A path is never taken for a name. */
    CHECK(refused("\"http\": \"1.0\"", "", "target.http", NULL));
    CHECK(refused("\"http\": 2", "", "target.http", NULL));
    CHECK(refused("\"tls\": {\"cert\": \"/etc/ssl/certs/x.pem\"}", "", "target.tls.cert", "path"));
    CHECK(refused("\"tls\": {\"ca\": \"../ca.pem\"}", "", "target.tls.ca", "path"));
    CHECK(refused("\"tls\": {\"ca\": \"~/ca.pem\"}", "", "target.tls.ca", "path"));
    CHECK(refused("\"tls\": {\"ca\": \"two words\"}", "", "target.tls.ca", "PEM"));
    CHECK(refused("\"tls\": {\"verify\": false}", "", "target.tls.verify", "unknown"));
    CHECK(refused("\"tls\": {\"insecure\": 1}", "", "target.tls.insecure", NULL));
    CHECK(refused("\"tls\": \"yes\"", "", "target.tls", NULL));
    CHECK(refused("\"tls\": {\"key\": \"" PEM_KEY "\"}", "", "target.tls.key", "cert"));
    CHECK(refused("\"resolve\": [\"h.test:443\"]", "", "target.resolve", NULL));
    CHECK(refused("\"resolve\": [\"h.test:99999:127.0.0.1\"]", "", "target.resolve", NULL));
    CHECK(refused("\"resolve\": \"h.test:443:127.0.0.1\"", "", "target.resolve", NULL));
    CHECK(refused("", "\"connections\": 0", "connections", NULL));
    CHECK(refused("", "\"connections\": 1001", "connections", NULL));
    CHECK(refused("", "\"modes\": [\"h2mux\"], \"keepalive\": false", "keepalive", "h2mux"));
    CHECK(refused("", "\"modes\": [\"h2mux\"], \"concurrency\": 1001", "concurrency", "h2mux"));
    /* A key that is neither PEM nor a name is refused without quoting it. */
    {
        struct spec k;
        char e[512] = "";
        CHECK(parse("\"tls\": {\"cert\": \"c.pem\", \"key\": \"-----BEGIN PRIVATE KEY----- TOPSECRET\"}",
                    "", &k, e, sizeof e) == -1);
        CHECK(!strncmp(e, "target.tls.key:", 15) && !strstr(e, "TOPSECRET"));
    }
    /* HTTP/3: refused where this libcurl lacks it, found out at run time. */
    if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP3))
        CHECK(refused("\"http\": \"3\"", "", "target.http", "HTTP/3"));

    /* Names: read from the --tls-dir only, and only PEM. */
    char dir[] = "/tmp/conlab-tlsdir-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    CHECK(parse("\"tls\": {\"ca\": \"ca.pem\"}", "", &s, err, sizeof err) == 0);
    CHECK(!spec_tls_resolved(&s.tls));
    CHECK(spec_tls_resolve_names(&s.tls, NULL, err, sizeof err) == -1 &&
          !strncmp(err, "target.tls.ca:", 14) && strstr(err, "--tls-dir"));
    CHECK(spec_tls_resolve_names(&s.tls, dir, err, sizeof err) == 0);
    CHECK(spec_tls_resolved(&s.tls) && strstr(s.tls.ca, "BEGIN CERTIFICATE"));
    spec_free(&s);
    CHECK(parse("\"tls\": {\"ca\": \"missing.pem\"}", "", &s, err, sizeof err) == 0);
    CHECK(spec_tls_resolve_names(&s.tls, dir, err, sizeof err) == -1 &&
          !strncmp(err, "target.tls.ca:", 14));
    spec_free(&s);
    CHECK(parse("\"tls\": {\"ca\": \"notes.txt\"}", "", &s, err, sizeof err) == 0);
    CHECK(spec_tls_resolve_names(&s.tls, dir, err, sizeof err) == -1 && strstr(err, "PEM"));
    spec_free(&s);
    char *pem = NULL;
    CHECK(spec_tls_read_file(path, "--cacert", &pem, err, sizeof err) == -1 &&
          !strncmp(err, "--cacert:", 9));
    unlink(path);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    CHECK(spec_tls_read_file(path, "--cacert", &pem, err, sizeof err) == 0 && spec_tls_is_pem(pem));
    free(pem);
    unlink(path);
    rmdir(dir);
    return check_done("test_spec_tls");
}
