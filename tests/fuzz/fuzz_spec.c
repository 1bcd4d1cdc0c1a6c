/* libFuzzer target: the spec parser (json_guard, cJSON, spec_from_text) on arbitrary bytes.
 * Properties beyond "no crash, no leak, no undefined behaviour": an accepted spec prints to
 * canonical text that parses back to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[512];
    if (spec_from_text(text, &lim, &s, err, sizeof err) == 0) {
        char *canon = spec_to_text(&s);
        struct spec back;
        if (!canon || spec_from_text(canon, &lim, &back, err, sizeof err)) {
            fprintf(stderr, "accepted spec does not parse back: %s\n%s\n", err, canon);
            abort();
        }
        char *again = spec_to_text(&back);
        if (!again || strcmp(canon, again)) abort();
        free(again);
        spec_free(&back);
        free(canon);
        spec_free(&s);
    } else if (!strchr(err, ':')) {
        fprintf(stderr, "a refusal that names no field: %s\n", err);
        abort();
    }
    free(text);
    return 0;
}
