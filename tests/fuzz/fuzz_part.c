/* libFuzzer target: the part reader (part_read: json_guard, cJSON, the spec, every field's
 * checks, records, histograms) on arbitrary bytes, as `conlab merge` reads a file from another
 * machine. Properties beyond "no crash, no leak, no undefined behaviour": a refusal names the
 * file; an accepted part written back reads back, and writes the same text again; a part of a
 * run of one shard merges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "part.h"

/* Writes bytes to a memfd; returns its /proc path in `path` and the fd (-1 on failure). */
static int memfile(const void *data, size_t size, char path[64])
{
    int fd = memfd_create("part", 0);
    if (fd < 0) return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/* The part as written by part_write, malloc'd (size in *len). */
static char *written(const struct part *p, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    char err[256];
    if (!f || part_write(f, p, err, sizeof err)) abort();
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[768];
    int fd = memfile(data, size, path);
    if (fd < 0) return 0;
    struct part p;
    if (part_read(path, &p, err, sizeof err)) {
        if (strncmp(err, path, strlen(path))) {
            fprintf(stderr, "a refusal that does not name the file: %s\n", err);
            abort();
        }
        close(fd);
        return 0;
    }
    close(fd);
    size_t len;
    char *text = written(&p, &len);
    int fd2 = memfile(text, len, path);
    struct part back;
    if (fd2 < 0 || part_read(path, &back, err, sizeof err)) {
        fprintf(stderr, "an accepted part does not read back: %s\n", err);
        abort();
    }
    close(fd2);
    size_t len2;
    char *again = written(&back, &len2);
    if (len != len2 || memcmp(text, again, len)) abort();
    if (p.shards == 1) {
        struct merged m;
        if (part_merge(&p, 1, &m, err, sizeof err)) {
            fprintf(stderr, "a part of one shard does not merge: %s\n", err);
            abort();
        }
        merged_free(&m);
    }
    free(text);
    free(again);
    part_free(&back);
    part_free(&p);
    return 0;
}
