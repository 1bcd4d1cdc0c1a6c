/* libFuzzer target: the demo target's HTTP/2 side on arbitrary frames. A real target runs in
 * this process (its own thread, h2c on loopback, no delay); each input follows the client
 * preface on a fresh connection, whose sending side is then shut. Properties: the target
 * crashes on nothing (ASan and UBSan watch its thread) and ends every such connection within
 * 3 s, whatever its streams were waiting for. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "target.h"
#include "util.h"

static struct target *srv;

/* A connection to the target. Thousands a second run out of loopback's ephemeral ports (a
 * failed connect with EADDRNOTAVAIL once aborted a 20 s run after 92,000 inputs): the fuzzer's
 * side ends each one with a reset (SO_LINGER 0, no TIME_WAIT kept), and a connect that fails is
 * tried again for up to 2 s before the run is stopped, naming why. */
static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0;; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) abort();
        struct timeval tv = {.tv_sec = 3};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
        int e = errno;
        close(fd);
        if (attempt >= 200) {
            fprintf(stderr, "fuzz_target_h2: connect to the target: %s\n", strerror(e));
            abort();
        }
        usleep(10000);
    }
}

/* Reads until the target closes; aborts when it does not within the 3 s timeout. */
static void until_closed(int fd)
{
    char b[65536];
    ssize_t n;
    while ((n = recv(fd, b, sizeof b, 0)) > 0) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* the target may close before all of an input is sent */
    struct target_opts o;
    target_opts_default(&o);
    o.port = 0;
    o.workers = 64;
    o.delay_ms = 0;
    char err[256];
    if (target_start(&o, &srv, err, sizeof err)) {
        fprintf(stderr, "target_start: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    int fd = dial();
    (void)!write_all(fd, preface, sizeof preface - 1);
    (void)!write_all(fd, data, size); /* the target may close first: fine */
    shutdown(fd, SHUT_WR);
    until_closed(fd);
    close(fd);
    return 0;
}
