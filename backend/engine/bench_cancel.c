/* The cancel flag and pipe (bench_cancel.h). */
#include "bench_cancel.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "util.h"

_Atomic int bench_cancel_flag;

/* [0] is polled by every waiting worker, [1] gets one byte from bench_cancel. */
static int cancel_pipe[2] = {-1, -1};

void bench_cancel(void)
{
    bench_cancel_flag = 1;
    if (cancel_pipe[1] >= 0) {
        int saved = errno;
        ssize_t n = write(cancel_pipe[1], "x", 1);
        (void)n;
        errno = saved;
    }
}

int bench_cancel_fd(void)
{
    return cancel_pipe[0];
}

void bench_cancel_adopt(int read_fd)
{
    cancel_pipe[0] = read_fd;
    cancel_pipe[1] = -1;
}

int bench_cancel_init(char *err, size_t errlen)
{
    if (cancel_pipe[0] >= 0) return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
        return errf(err, errlen, "creating the cancel pipe: %s", strerror(errno));
    cancel_pipe[1] = p[1];
    __atomic_store_n(&cancel_pipe[0], p[0], __ATOMIC_RELEASE);
    if (bench_cancel_flag) bench_cancel();
    return 0;
}
