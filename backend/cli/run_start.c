/* The engine's start for the commands that run it (run_start.h). */
#include "run_start.h"
#include <curl/curl.h>
#include <signal.h>
#include <string.h>
#include "bench.h"
#include "util.h"

static void on_interrupt(int sig)
{
    (void)sig;
    bench_cancel();
}

int run_start(char *err, size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return errf(err, errlen, "libcurl could not be initialised");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}
