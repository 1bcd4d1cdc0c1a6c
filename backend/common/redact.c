#include "redact.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The user info of url as curl itself reads it (the forms it accepts besides "scheme://": one
 * slash, three slashes, any case): 1 when there was some and out got the URL in curl's canonical
 * form with it redacted, 0 when there was none, -1 when curl cannot parse url. A user is kept
 * in sight only beside a password and when it hides no escape (alice%3Apw is a password too). */
static int redact_by_curl(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    if (!u) return -1;
    int rc = -1;
    char *user = NULL, *pw = NULL, *full = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_USER, &user, 0);
        curl_url_get(u, CURLUPART_PASSWORD, &pw, 0);
        rc = 0;
        if (user || pw) {
            rc = 1;
            bool keep = user && *user && pw && !strchr(user, '%');
            if (curl_url_set(u, CURLUPART_USER, keep ? user : REDACTED, 0) == CURLUE_OK &&
                curl_url_set(u, CURLUPART_PASSWORD, pw ? REDACTED : NULL, 0) == CURLUE_OK &&
                curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
                snprintf(out, outlen, "%s", full);
            else
                snprintf(out, outlen, "%s", REDACTED);
        }
    }
    curl_free(user);
    curl_free(pw);
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

void redact_url(const char *url, char *out, size_t outlen)
{
    if (!outlen) return;
    snprintf(out, outlen, "%s", url);
    if (redact_by_curl(url, out, outlen) >= 0) return;
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end) return;
    const char *auth = scheme_end + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL; /* the last '@' of the authority ends the user info */
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@') at = auth + i;
    if (!at) return;
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon) return;
    snprintf(out, outlen, "%.*s" REDACTED "%s", (int)(colon + 1 - url), url, at);
}

bool redact_header_is_secret(const char *name, const char *const *extra, int n)
{
    static const char *const always[] = {"Authorization", "Cookie", "Proxy-Authorization"};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        if (!strcasecmp(name, always[i])) return true;
    for (int i = 0; i < n; i++)
        if (!strcasecmp(name, extra[i])) return true;
    return false;
}

void redact_spec_json(cJSON *spec, const char *const *extra, int n)
{
    cJSON *target = cJSON_GetObjectItemCaseSensitive(spec, "target");
    cJSON *url = cJSON_GetObjectItemCaseSensitive(target, "url");
    if (cJSON_IsString(url)) {
        char shown[8300];
        redact_url(url->valuestring, shown, sizeof shown);
        if (strcmp(shown, url->valuestring)) cJSON_SetValuestring(url, shown);
    }
    cJSON *headers = cJSON_GetObjectItemCaseSensitive(target, "headers");
    for (cJSON *h = cJSON_IsObject(headers) ? headers->child : NULL; h; h = h->next)
        if (cJSON_IsString(h) && h->string && redact_header_is_secret(h->string, extra, n))
            cJSON_SetValuestring(h, REDACTED);
    /* target.tls.key: its PEM text is a secret */
    cJSON *key = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(target, "tls"),
                                                  "key");
    if (cJSON_IsString(key)) cJSON_SetValuestring(key, REDACTED);
}

void redact_spec_body(cJSON *spec)
{
    cJSON *body = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "target"),
                                                   "body");
    if (cJSON_IsString(body) && body->valuestring[0]) cJSON_SetValuestring(body, REDACTED);
}
