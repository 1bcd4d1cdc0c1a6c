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

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) abort();
    return fd;
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
