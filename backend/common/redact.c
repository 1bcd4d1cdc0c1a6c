#include "redact.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void redact_url(const char *url, char *out, size_t outlen)
{
    if (!outlen) return;
    snprintf(out, outlen, "%s", url);
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
