/* The libcurl ceiling: the least a libcurl-based client can do per request. One thread, one multi
 * handle, C easy handles set up once; each is re-added as soon as its transfer is done
 * (CURLMSG_DONE) until N transfers completed; the loop is curl_multi_perform + curl_multi_poll
 * and counts responses, nothing else. conlab's async mode is measured against this.
 *
 * usage: curl_loop URL N C   -> prints one line: requests, ok, seconds, req/s */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char *data, size_t size, size_t n, void *userp)
{
    (void)data, (void)userp;
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL REQUESTS CONCURRENCY\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]), c = atol(argv[3]);
    if (n < 1 || c < 1) return 2;
    if (c > n) c = n;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, c);
    CURL **easy = calloc((size_t)c, sizeof *easy);
    if (!multi || !easy) return 1;
    for (long i = 0; i < c; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, argv[1]);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_TCP_NODELAY, 1L);
    }
    long started = 0, done = 0, ok = 0;
    double t0 = now_s();
    for (; started < c; started++) curl_multi_add_handle(multi, easy[started]);
    while (done < n) {
        int running = 0, left = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL *e = m->easy_handle;
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            done++;
            ok += m->data.result == CURLE_OK && status >= 200 && status < 400;
            curl_multi_remove_handle(multi, e);
            if (started < n) {
                curl_multi_add_handle(multi, e);
                started++;
            }
        }
        if (done < n) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    double secs = now_s() - t0;
    printf("requests %ld ok %ld seconds %.3f rps %.1f\n", n, ok, secs, (double)n / secs);
    for (long i = 0; i < c; i++) curl_easy_cleanup(easy[i]);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return ok == n ? 0 : 1;
}
