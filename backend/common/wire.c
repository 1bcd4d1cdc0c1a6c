#include "wire.h"

#include <errno.h>
#include <string.h>
#include "util.h"

struct wire_header {
    uint32_t type;
    uint32_t len;
};

int wire_write(int fd, uint32_t type, const void *payload, uint32_t len)
{
    /* One write() for small frames, so that frames from several writers to one pipe do not
     * interleave (atomic up to PIPE_BUF). */
    char buf[4096];
    struct wire_header h = {type, len};
    if (sizeof h + len <= sizeof buf) {
        memcpy(buf, &h, sizeof h);
        if (len) memcpy(buf + sizeof h, payload, len);
        return write_all(fd, buf, sizeof h + len);
    }
    if (write_all(fd, &h, sizeof h)) return -1;
    return len ? write_all(fd, payload, len) : 0;
}

int wire_read(int fd, uint32_t *type, void *buf, uint32_t cap, uint32_t *len)
{
    struct wire_header h;
    int rc = read_full(fd, &h, sizeof h);
    if (rc <= 0) return rc;
    if (h.len > cap || h.len > WIRE_MAX_PAYLOAD) {
        errno = EMSGSIZE;
        return -1;
    }
    if (h.len && read_full(fd, buf, h.len) != 1) return -1;
    *type = h.type;
    *len = h.len;
    return 1;
}
