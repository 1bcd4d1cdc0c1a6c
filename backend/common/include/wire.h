/* Length-prefixed binary frames over pipes between conlab processes of one build:
 * the dashboard <-> its job child (`conlab __job`) and a coordinator <-> its `processes` workers.
 * Payloads are raw structs: both ends are the same binary. */
#ifndef CONLAB_WIRE_H
#define CONLAB_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum wire_type {
    WIRE_MODE_START = 1, /* child -> dashboard: struct wire_mode_start */
    WIRE_RECORDS = 2,    /* child -> dashboard: n x struct bench_record, ascending seq */
    WIRE_MODE_DONE = 3,  /* child -> dashboard: struct mode_result; the child then waits for WIRE_ACK */
    WIRE_FAIL = 4,       /* child -> dashboard: text: why conlab could not run (status failed) */
    WIRE_INIT = 5,       /* worker setup: struct wire_worker_init followed by the spec JSON text */
    WIRE_SPEC = 6,       /* dashboard -> child: the spec's JSON text */
    WIRE_TICK = 7,       /* child -> dashboard: struct bench_tick cut after its nsample latencies */
    WIRE_MSG = 8,        /* child -> dashboard: int32 index, then the text of a mode's message */
    WIRE_ACK = 9,        /* dashboard -> child: the mode is stored; the next one may start */
    WIRE_CLIENTS = 10,   /* dashboard -> child, before WIRE_SPEC: the registered clients'
                          * "NAME=COMMAND\n" lines (client_registry_to_text) */
};

/* The job protocol, per mode: MODE_START, TICKs while the mode runs (a few a second, dropped
 * when the pipe is full), then, the mode's clock stopped: its MSGs, its RECORDS (every request,
 * in seq order, the error's text by index into the MSGs), MODE_DONE; then the child waits for
 * the dashboard's ACK, so that storing never overlaps a measured mode. */

struct wire_mode_start {
    int32_t mode;
    int32_t pad;
    int64_t concurrency;
    int64_t total;
    int64_t lanes;
};

struct wire_worker_init {
    int64_t t0_us;        /* the mode's start on the monotonic clock */
    int64_t lanes;        /* workers to start */
    int64_t shared_bytes; /* size of the shared logs (fd 3) */
};

#define WIRE_MAX_PAYLOAD (1u << 20)

/* Writes one frame (header + payload) with write_all. Returns 0 or -1 (errno set). */
int wire_write(int fd, uint32_t type, const void *payload, uint32_t len);

/* Reads one frame; the payload goes to buf (cap bytes; a longer payload is an error).
 * Returns 1 with *type and *len set, 0 on clean EOF, -1 on error or a truncated frame. */
int wire_read(int fd, uint32_t *type, void *buf, uint32_t cap, uint32_t *len);

#endif
