/*
 * Copyright (C) 2026 The ngx_http_llm_module authors
 * Distributed under the 2-clause BSD licence: see LICENSE.
 */

/*
 * The request scanner alone: llm_request_parse() (validation and spans,
 * no tree) on each file, LOOPS times, in bytes per second.
 *
 *   scan_speed LOOPS FILE...
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_request.h"


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int             i, loops;
    long            n;
    char           *body, *name;
    FILE           *f;
    double          t0, t;
    llm_error_t     e;
    llm_request_t   req;

    if (argc < 3) {
        fprintf(stderr, "usage: scan_speed LOOPS FILE...\n");
        return 2;
    }

    loops = atoi(argv[1]);

    for (i = 2; i < argc; i++) {
        f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }

        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);

        body = malloc(n);
        if (body == NULL || fread(body, 1, n, f) != (size_t) n) {
            return 1;
        }

        fclose(f);

        t0 = now();

        for (int k = 0; k < loops; k++) {
            memset(&req, 0, sizeof(req));

            if (llm_request_parse(&req, body, n, &e) != LLM_OK) {
                fprintf(stderr, "%s: not valid: %s\n", argv[i], e.message);
                return 1;
            }

            llm_request_free(&req);
        }

        t = now() - t0;

        name = strrchr(argv[i], '/');
        name = name ? name + 1 : argv[i];

        printf("%s%s %ld B: %.0f MB/s (%.1f µs each)", i > 2 ? "; " : "",
               name, n, (double) n * loops / t / 1e6, t / loops * 1e6);

        free(body);
    }

    printf("\n");

    return 0;
}
