/* libFuzzer target: histogram_decode on arbitrary bytes. Properties beyond "no crash, no leak,
 * no undefined behaviour": a refusal says why ("histogram: ...") and leaves an empty
 * histogram; an accepted text encodes back to the same text (the form is canonical), its
 * percentiles lie within [min, max] and rise with p, and merging it into itself doubles it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "histogram.h"

static struct histogram h, twice;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];
    if (histogram_decode(text, &h, err, sizeof err) == 0) {
        char *back = histogram_encode(&h);
        if (!back || strcmp(back, text)) {
            fprintf(stderr, "accepted text does not encode back:\n%s\n%s\n", text, back);
            abort();
        }
        free(back);
        double prev = -1;
        for (double p = 0; p <= 100; p += 12.5) {
            double v = histogram_percentile(&h, p);
            if (h.count && (isnan(v) || v < (double)h.min || v > (double)h.max || v < prev))
                abort();
            prev = v;
        }
        memcpy(&twice, &h, sizeof h);
        histogram_merge(&twice, &h);
        if (twice.count != 2 * h.count || twice.sum != 2 * h.sum) abort();
    } else if (strncmp(err, "histogram: ", 11) || histogram_count(&h) != 0) {
        fprintf(stderr, "a refusal without its reason or not emptied: %s\n", err);
        abort();
    }
    free(text);
    return 0;
}
