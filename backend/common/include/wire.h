/* Length-prefixed binary frames over pipes between conlab processes of one build:
 * the dashboard <-> its job child (`conlab __job`) and a coordinator <-> its `processes` workers.
 * Payloads are raw structs: both ends are the same binary. */
#ifndef CONLAB_WIRE_H
#define CONLAB_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum wire_type {
    WIRE_MODE_START = 1, /* struct wire_mode_start */
    WIRE_RECORD = 2,     /* struct bench_record */
    WIRE_MODE_DONE = 3,  /* struct mode_result */
    WIRE_FAIL = 4,       /* text: why conlab could not run (the job ends, status failed) */
    WIRE_INIT = 5,       /* worker setup: struct wire_worker_init followed by the spec JSON text */
    WIRE_SEQ = 6,        /* struct wire_seq: the next request for a worker */
};

struct wire_mode_start {
    int32_t mode;
    int32_t pad;
    int64_t concurrency;
    int64_t total;
    int64_t lanes;
};

struct wire_worker_init {
    int64_t t0_us; /* the mode's start on the monotonic clock */
    int64_t lanes; /* workers to start */
};

struct wire_seq {
    int64_t seq;
    int64_t sched_us;
};

#define WIRE_MAX_PAYLOAD (1u << 20)

/* Writes one frame (header + payload) with write_all. Returns 0 or -1 (errno set). */
int wire_write(int fd, uint32_t type, const void *payload, uint32_t len);

/* Reads one frame; the payload goes to buf (cap bytes; a longer payload is an error).
 * Returns 1 with *type and *len set, 0 on clean EOF, -1 on error or a truncated frame. */
int wire_read(int fd, uint32_t *type, void *buf, uint32_t cap, uint32_t *len);

#endif
